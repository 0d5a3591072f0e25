"""Adapters that build SampleGraphs from files, and synthetic generators."""
from pyg_sip.datasets.synthetic import (GraphletTopology, ManifoldGraph, NoisyCliques,
                                        SyntheticGraph)

__all__ = ['GraphletTopology', 'ManifoldGraph', 'NoisyCliques', 'SyntheticGraph']
