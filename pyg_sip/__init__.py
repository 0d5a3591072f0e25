"""pyg_sip: Structure-Inducing Pre-Training (SIPT) for PyTorch Geometric."""
from pyg_sip.errors import PygSipError

__version__ = '0.1.0'

__all__ = ['PygSipError', '__version__']
