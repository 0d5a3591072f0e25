"""pyg_sip: Structure-Inducing Pre-Training (SIPT) for PyTorch Geometric."""
from pyg_sip.errors import PygSipError
from pyg_sip.data import (AminoAcidTokenizer, CharTokenizer, SampleGraph, WordTokenizer,
                          load_graph, save_graph)
from pyg_sip.sampling import StructureLoader
from pyg_sip import losses
from pyg_sip.objective import SIPObjective
from pyg_sip.train import Trainer
import pyg_sip.nn  # noqa: F401
import pyg_sip.eval  # noqa: F401
import pyg_sip.datasets  # noqa: F401
from pyg_sip import pipeline
from pyg_sip.pipeline import PretrainConfig, build_encoder, pretrain

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
    'losses',
    'SIPObjective',
    'Trainer',
    'pipeline',
    'PretrainConfig',
    'build_encoder',
    'pretrain',
    '__version__',
]
