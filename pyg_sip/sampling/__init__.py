r"""Structure sampling: anchors, positives and negatives over the pre-training
graph, k-hop neighbourhoods for message passing, the
:class:`StructureLoader` and the :class:`StructureBatch` it yields."""
from pyg_sip.sampling.batch import StructureBatch
from pyg_sip.sampling.csr import CSRGraph, sample_without_replacement
from pyg_sip.sampling.in_batch import InBatchNegatives
from pyg_sip.sampling.loader import StructureLoader
from pyg_sip.sampling.negative import NEGATIVE_SAMPLING, NegativeSampler, available_policies
from pyg_sip.sampling.neighbor import sample_neighbors, sample_positives
from pyg_sip.sampling.weighted import WeightedDraw

__all__ = [
    'CSRGraph',
    'InBatchNegatives',
    'NEGATIVE_SAMPLING',
    'NegativeSampler',
    'StructureBatch',
    'StructureLoader',
    'WeightedDraw',
    'available_policies',
    'sample_neighbors',
    'sample_positives',
    'sample_without_replacement',
]
