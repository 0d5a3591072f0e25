"""Synthetic pre-training graphs whose samples carry weakly informative
token sequences: noisy cliques, manifold graphs and a cycle with graphlets
(the synthetic experiments of the SIPT paper)."""
from pyg_sip.datasets.synthetic.base import SyntheticGraph
from pyg_sip.datasets.synthetic.cliques import NoisyCliques
from pyg_sip.datasets.synthetic.graphlets import atlas_sizes, graphlet_edges
from pyg_sip.datasets.synthetic.kmeans import kmeans
from pyg_sip.datasets.synthetic.manifolds import ManifoldGraph
from pyg_sip.datasets.synthetic.surfaces import SURFACES, geodesic_distance, sample_surface
from pyg_sip.datasets.synthetic.topics import sample_token_sequences, word_distributions
from pyg_sip.datasets.synthetic.topology import (
    GraphletTopology,
    ego_membership,
    rooted_subgraph_counts,
)

__all__ = [
    'SyntheticGraph',
    'NoisyCliques',
    'ManifoldGraph',
    'GraphletTopology',
    'SURFACES',
    'sample_surface',
    'geodesic_distance',
    'word_distributions',
    'sample_token_sequences',
    'atlas_sizes',
    'graphlet_edges',
    'rooted_subgraph_counts',
    'ego_membership',
    'kmeans',
]
