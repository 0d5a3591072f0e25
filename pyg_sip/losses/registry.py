"""Structure losses by name, so that a configuration or the command line can
swap them."""
from typing import Callable, Dict, List, Type

from torch import nn

from pyg_sip.errors import PygSipError

_LOSSES: Dict[str, Type[nn.Module]] = {}


def register_loss(name: str) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    r"""Class decorator that makes a structure loss available to
    :func:`get_loss` under ``name``.

    .. code-block:: python

        @register_loss('my_loss')
        class MyLoss(torch.nn.Module):
            def forward(self, z, pos_index, neg_index): ...
    """
    def wrap(cls: Type[nn.Module]) -> Type[nn.Module]:
        if name in _LOSSES and _LOSSES[name] is not cls:
            raise PygSipError(f"A structure loss named '{name}' is already "
                              f"registered ({_LOSSES[name].__name__})")
        _LOSSES[name] = cls
        return cls

    return wrap


def available_losses() -> List[str]:
    r"""Names accepted by :func:`get_loss`, sorted."""
    return sorted(_LOSSES)


def get_loss(name: str, **kwargs) -> nn.Module:
    r"""Builds the structure loss module registered as ``name``, e.g.
    ``get_loss('multi_similarity', alpha=2.0)`` or
    ``get_loss('bilinear', dim=128)``.

    Raises:
        PygSipError: If ``name`` is unknown (the message lists the known
            names) or ``kwargs`` do not fit the loss.
    """
    if name not in _LOSSES:
        raise PygSipError(f"Unknown structure loss '{name}'; known: "
                          f"{', '.join(available_losses())}")
    cls = _LOSSES[name]
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise PygSipError(f"Invalid arguments for structure loss '{name}' "
                          f"({cls.__name__}): {e}") from e
