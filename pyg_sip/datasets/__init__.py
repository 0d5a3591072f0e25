"""Adapters that build SampleGraphs from files on disk (proteins, citation
networks, linked text, molecules), synthetic generators with known label
smoothness over the pre-training graph, and a registry of them by name.

Every adapter follows one convention: a reader class
(:class:`~pyg_sip.datasets.base.SampleReader`) built by ``from_*``
constructors that read and check the files and count every drop in its
``report``, and one ``to_sample_graph(tokenizer=None, min_freq=None,
max_vocab=None)``. The registry (:func:`get_adapter`) names each of them
with its options, for the command line."""
import pyg_sip.datasets.kinds  # noqa: F401 (registers the built-in adapters)
from pyg_sip.datasets._io import LoadReport
from pyg_sip.datasets.base import SampleReader, text_tokenizer
from pyg_sip.datasets.citations import (
    OGB_NODE_LAYOUTS,
    CitationGraph,
    load_cane,
    load_ogb_node,
    load_planetoid,
)
from pyg_sip.datasets.molecules import (
    MoleculeGraph,
    morgan_fingerprints,
    scaffold_split,
    tanimoto_graph,
)
from pyg_sip.datasets.proteins import (
    DEEPLOC_LOCATIONS,
    DEEPLOC_MEMBRANE,
    DeepLocSet,
    ProteinInteractionGraph,
    load_deeploc,
)
from pyg_sip.datasets.registry import (
    Adapter,
    Option,
    available_adapters,
    get_adapter,
    register_adapter,
)
from pyg_sip.datasets.samples import Samples, read_samples
from pyg_sip.datasets.synthetic import (
    GraphletTopology,
    ManifoldGraph,
    NoisyCliques,
    SyntheticGraph,
)
from pyg_sip.datasets.text import TextLinkGraph

__all__ = [
    'Adapter', 'CitationGraph', 'DEEPLOC_LOCATIONS', 'DEEPLOC_MEMBRANE', 'DeepLocSet',
    'GraphletTopology', 'LoadReport', 'ManifoldGraph', 'MoleculeGraph', 'NoisyCliques',
    'OGB_NODE_LAYOUTS', 'Option', 'ProteinInteractionGraph', 'SampleReader', 'Samples',
    'SyntheticGraph', 'TextLinkGraph', 'available_adapters', 'get_adapter', 'load_cane',
    'load_deeploc', 'load_ogb_node', 'load_planetoid', 'morgan_fingerprints',
    'read_samples', 'register_adapter', 'scaffold_split', 'tanimoto_graph', 'text_tokenizer',
]
