"""Structure sampling: anchors, positives and negatives over the pre-training
graph, k-hop neighbourhoods for message passing, and the StructureLoader."""
from pyg_sip.sampling.csr import CSRGraph, sample_without_replacement
from pyg_sip.sampling.negative import NEGATIVE_SAMPLING, NegativeSampler
from pyg_sip.sampling.neighbor import sample_neighbors, sample_positives
from pyg_sip.sampling.loader import StructureLoader

__all__ = [
    'CSRGraph',
    'NEGATIVE_SAMPLING',
    'NegativeSampler',
    'StructureLoader',
    'sample_neighbors',
    'sample_positives',
    'sample_without_replacement',
]
