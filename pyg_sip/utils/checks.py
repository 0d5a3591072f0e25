r"""Argument checks shared by every layer of :mod:`pyg_sip`.

Every check takes ``(name, value, ...)`` in this order, returns the checked
value in its canonical type, and raises :class:`~pyg_sip.errors.PygSipError`
whose message names the argument and the offending value, id or position.
Offending entries of tensors are located with tensor operations (no Python
loop over samples, edges or tokens).
"""
import math
import numbers
from typing import Any, Optional, Sequence

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError


def first_true(mask: Tensor) -> int:
    r"""Returns the position of the first :obj:`True` entry of the flattened
    boolean tensor :obj:`mask`, or :obj:`-1` if there is none."""
    mask = mask.reshape(-1)
    if mask.numel() == 0 or not bool(mask.any()):
        return -1
    return int(mask.to(torch.uint8).argmax())


def as_tensor(name: str, value: Any) -> Tensor:
    r"""Converts an array-like :obj:`value` to a tensor, naming :obj:`name`
    on failure."""
    if isinstance(value, Tensor):
        return value
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise PygSipError(f"'{name}' must be a tensor or array-like, got "
                          f'{type(value).__name__}') from e


def check_integer_dtype(name: str, value: Tensor) -> Tensor:
    r"""Raises unless the tensor :obj:`value` has an integer dtype."""
    if value.dtype == torch.bool or value.is_floating_point() or \
            value.is_complex():
        raise PygSipError(f"'{name}' must be an integer tensor, got dtype "
                          f'{value.dtype}')
    return value


def check_int(name: str, value: Any, low: Optional[int] = 0,
              high: Optional[int] = None,
              optional: bool = False) -> Optional[int]:
    r"""Returns :obj:`value` as an :obj:`int` in :math:`[\text{low},
    \text{high}]` (either bound may be :obj:`None`). Booleans, floats and
    strings are refused; :obj:`None` passes if :obj:`optional`."""
    if value is None and optional:
        return None
    if isinstance(value, Tensor) and value.numel() == 1 and \
            not value.is_floating_point() and value.dtype != torch.bool:
        value = int(value)
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if ok:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        if low is not None and high is not None:
            allowed = f'an integer in [{low}, {high}]'
        elif low is not None:
            allowed = f'an integer >= {low}'
        elif high is not None:
            allowed = f'an integer <= {high}'
        else:
            allowed = 'an integer'
        allowed += ' or None' if optional else ''
        raise PygSipError(f"'{name}' must be {allowed}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float = -math.inf,
               high: float = math.inf, low_open: bool = False,
               high_open: bool = False,
               optional: bool = False) -> Optional[float]:
    r"""Returns :obj:`value` as a finite :obj:`float` in the interval from
    :obj:`low` to :obj:`high` (open at an end if :obj:`low_open` /
    :obj:`high_open`). Integers are accepted, booleans and strings refused;
    :obj:`None` passes if :obj:`optional`."""
    if value is None and optional:
        return None
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        v = float(value)
        ok = (math.isfinite(v) and (v > low if low_open else v >= low)
              and (v < high if high_open else v <= high))
    if not ok:
        interval = (f"{'(' if low_open else '['}{low:g}, {high:g}"
                    f"{')' if high_open else ']'}")
        extra = ' or None' if optional else ''
        raise PygSipError(f"'{name}' must be a finite number in {interval}"
                          f'{extra}, got {value!r}')
    return float(value)


def check_positive(name: str, value: Any, integer: bool = False,
                   optional: bool = False) -> Any:
    r"""Returns :obj:`value` if it is a finite number :math:`> 0` (a positive
    :obj:`int` if :obj:`integer`); :obj:`None` passes if :obj:`optional`."""
    if value is None and optional:
        return None
    if integer:
        if isinstance(value, bool) or not isinstance(
                value, numbers.Integral) or value < 1:
            raise PygSipError(f"'{name}' must be a positive integer, got "
                              f'{value!r}')
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not 0 < float(value) < math.inf:
        raise PygSipError(f"'{name}' must be a finite number > 0, got "
                          f'{value!r}')
    return value


def check_rate(name: str, value: Any) -> float:
    r"""Returns :obj:`value` as a :obj:`float` in :math:`[0, 1]`."""
    return check_real(name, value, 0.0, 1.0)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    r"""Returns :obj:`value` if it is one of :obj:`choices`."""
    if not isinstance(value, str) or value not in choices:
        raise PygSipError(f"unknown {name} {value!r}: '{name}' must be one "
                          f'of {list(choices)}')
    return value


def check_index(name: str, index: Any, num_nodes: int,
                allow_empty: bool = True) -> Tensor:
    r"""Converts :obj:`index` (a boolean mask over the :obj:`num_nodes`
    samples, or integer sample ids) into a one-dimensional :obj:`long`
    tensor of valid sample ids.

    Shapes:
        - **input:** :math:`(N)` bool or :math:`(*)` integer
        - **output:** :math:`(B)` long
    """
    index = as_tensor(name, index)
    if index.dtype == torch.bool:
        if index.dim() != 1 or index.numel() != num_nodes:
            raise PygSipError(f"boolean '{name}' must have shape "
                              f'[{num_nodes}] (one entry per sample), got '
                              f'{list(index.shape)}')
        index = index.nonzero().view(-1)
    else:
        check_integer_dtype(name, index)
        index = index.reshape(-1).long()
        pos = first_true((index < 0) | (index >= num_nodes))
        if pos >= 0:
            raise PygSipError(
                f'{name}[{pos}] = {int(index[pos])} is not a valid sample '
                f'id (valid ids: 0..{num_nodes - 1})')
    if index.numel() == 0 and not allow_empty:
        raise PygSipError(f"'{name}' is empty: it must hold at least one "
                          f'sample id')
    return index


def check_edge_index(name: str, edge_index: Any, num_nodes: Optional[int],
                     allow_empty: bool = True) -> Tensor:
    r"""Checks that :obj:`edge_index` is an integer tensor of shape
    :math:`[2, E]` whose ids lie in :math:`[0, \text{num\_nodes})` (not
    bounded above if :obj:`num_nodes` is :obj:`None`) and returns it as
    :obj:`long`. The message names the first offending entry and its edge.

    Shapes:
        - **input:** :math:`(2, E)`
        - **output:** :math:`(2, E)` long
    """
    edge_index = as_tensor(name, edge_index)
    check_integer_dtype(name, edge_index)
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise PygSipError(f"'{name}' must have shape [2, num_edges], got "
                          f'{list(edge_index.shape)}')
    if edge_index.size(1) == 0 and not allow_empty:
        raise PygSipError(f"'{name}' is empty: it must hold at least one "
                          f'edge')
    bad = edge_index < 0
    if num_nodes is not None:
        bad |= edge_index >= num_nodes
    pos = first_true(bad.t())  # the first offending edge, then its row
    if pos >= 0:
        col, row = divmod(pos, 2)
        u, v = (int(a) for a in edge_index[:, col])
        valid = 'ids are non-negative' if num_nodes is None else (
            f'graph of {num_nodes} samples has ids 0..{num_nodes - 1}')
        raise PygSipError(
            f'{name}[{row}, {col}] = {int(edge_index[row, col])} (edge {col}) '
            f'is not a valid sample id: edge {col} = ({u}, {v}) is out of '
            f'range (the {valid})')
    return edge_index.long()
