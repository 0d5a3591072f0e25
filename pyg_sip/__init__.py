r"""pyg_sip: Structure-Inducing Pre-Training (SIPT) for PyTorch Geometric.

SIPT (McDermott et al., Nature Machine Intelligence 2023) pre-trains an
encoder :math:`f` of single samples with

.. math::
    \mathcal{L}_{PT} = (1 - \lambda)\,\mathcal{L}_M + \lambda\,\mathcal{L}_{SI},

so that samples linked in a pre-training graph embed close together; the
trained encoder needs no graph at inference.

Glossary (one name per concept, in code, docs and command-line flags):

sample
    One node of the pre-training graph and one input of the encoder: a
    protein sequence, a paper's text, a molecule, a feature vector. A
    :class:`SampleGraph` holds them (dense ``x``, ragged ``tokens``, or
    molecules) with the graph.
pre-training graph :math:`G_{PT}`
    The known relations between samples (interactions, citations,
    hyperlinks, fingerprint similarity): ``SampleGraph.edge_index``.
anchor
    A sample a batch is built around; :class:`StructureLoader` iterates
    over anchors.
positive
    A :math:`G_{PT}` neighbour of an anchor, pulled towards it.
negative
    A sample that is neither the anchor nor linked to it in
    :math:`G_{PT}`, pushed away, drawn by a named policy (``uniform``,
    ``degree``, ``group``, ``hard``, ``in_batch``).
structure loss :math:`\mathcal{L}_{SI}`
    A metric-learning loss over the anchor–positive and anchor–negative
    pairs of a batch (:mod:`pyg_sip.losses`, by name via
    :func:`~pyg_sip.losses.get_loss`).
per-sample loss :math:`\mathcal{L}_M`
    A loss of each sample alone: masked tokens, masked features or masked
    atoms; ``sample_loss`` in code (``lm_loss`` is kept as an alias). It may
    be absent.
:math:`\lambda`
    The weight of the structure loss (``lam``, in :math:`[0, 1]`):
    :math:`\lambda = 0` is the per-sample-only baseline (method
    ``lm_only``), :math:`\lambda > 0` is SIPT (method ``sipt``).
``num_embedded``
    The number of distinct samples of a batch that are encoded (anchors,
    positives, negatives, each once); ``num_seeds`` is kept as an alias.
seed
    Only ever the seed of the random number generators.
:class:`~pyg_sip.sampling.StructureBatch`
    What :class:`StructureLoader` yields and every encoder consumes: the
    global ids ``n_id`` (anchors first), ``num_anchors``, ``num_embedded``,
    ``pos_index`` / ``neg_index`` (local ids), and the samples' payload.
"""
import pyg_sip.datasets  # noqa: F401
import pyg_sip.eval  # noqa: F401
import pyg_sip.nn  # noqa: F401
from pyg_sip import losses, pipeline
from pyg_sip.data import (
    AminoAcidTokenizer,
    CharTokenizer,
    SampleGraph,
    WordTokenizer,
    load_graph,
    save_graph,
)
from pyg_sip.errors import PygSipError
from pyg_sip.objective import SIPObjective
from pyg_sip.pipeline import PretrainConfig, RunConfig, build_encoder, load_encoder, pretrain
from pyg_sip.sampling import StructureBatch, StructureLoader
from pyg_sip.train import Trainer

__version__ = '0.1.0'

__all__ = [
    'PygSipError',
    'SampleGraph',
    'AminoAcidTokenizer',
    'CharTokenizer',
    'WordTokenizer',
    'load_graph',
    'save_graph',
    'StructureLoader',
    'StructureBatch',
    'losses',
    'SIPObjective',
    'Trainer',
    'pipeline',
    'PretrainConfig',
    'build_encoder',
    'pretrain',
    'RunConfig',
    'load_encoder',
    '__version__',
]
