"""Optional compiled backends, probed once at import time."""
import importlib.util

WITH_TORCH_SCATTER: bool = importlib.util.find_spec('torch_scatter') is not None
WITH_TORCH_SPARSE: bool = importlib.util.find_spec('torch_sparse') is not None
WITH_PYG_LIB: bool = importlib.util.find_spec('pyg_lib') is not None
