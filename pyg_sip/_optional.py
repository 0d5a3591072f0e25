"""Lazy imports of optional extras with an error naming the extra."""
import importlib
from types import ModuleType

_EXTRA = {
    'Bio': 'bio',
    'rdkit': 'chem',
    'ogb': 'ogb',
    'transformers': 'text',
    'sentence_transformers': 'text',
    'pytorch_metric_learning': 'metric',
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise an :class:`ImportError` naming the extra
    that provides it (``pip install 'pyg-sip[<extra>]'``)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on environment
        top = module.split('.')[0]
        extra = _EXTRA.get(top)
        hint = (f"pip install 'pyg-sip[{extra}]'" if extra else f'pip install {top}')
        raise ImportError(f"'{module}' is required for this feature: {hint}") from e
