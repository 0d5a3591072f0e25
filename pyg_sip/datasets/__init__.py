"""Adapters that build SampleGraphs from files on disk (proteins, citation
networks, linked text, molecules), and synthetic generators with known
label smoothness over the pre-training graph."""
from pyg_sip.datasets._io import LoadReport
from pyg_sip.datasets.proteins import (DEEPLOC_LOCATIONS, DEEPLOC_MEMBRANE, DeepLocSet,
                                       ProteinInteractionGraph, load_deeploc)
from pyg_sip.datasets.citations import OGB_NODE_LAYOUTS, load_cane, load_ogb_node, load_planetoid
from pyg_sip.datasets.text import TextLinkGraph, text_tokenizer
from pyg_sip.datasets.molecules import (MoleculeGraph, morgan_fingerprints, scaffold_split,
                                        tanimoto_graph)
from pyg_sip.datasets.synthetic import (GraphletTopology, ManifoldGraph, NoisyCliques,
                                        SyntheticGraph)

__all__ = [
    'DEEPLOC_LOCATIONS', 'DEEPLOC_MEMBRANE', 'DeepLocSet', 'GraphletTopology', 'LoadReport',
    'ManifoldGraph', 'MoleculeGraph', 'NoisyCliques', 'OGB_NODE_LAYOUTS',
    'ProteinInteractionGraph', 'SyntheticGraph', 'TextLinkGraph', 'load_cane', 'load_deeploc',
    'load_ogb_node', 'load_planetoid', 'morgan_fingerprints', 'scaffold_split',
    'tanimoto_graph', 'text_tokenizer',
]
