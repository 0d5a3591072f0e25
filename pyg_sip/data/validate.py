"""Vectorised input checks for :class:`~pyg_sip.data.SampleGraph`.

Every check raises :class:`~pyg_sip.errors.PygSipError` whose message names
the first offending index and value. The first offence is located with tensor
operations (no Python loop over samples, edges or tokens).
"""
import operator
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.utils.checks import as_tensor, check_index, check_integer_dtype, first_true

# the names this module has always exported
check_integer = check_integer_dtype
__all__ = ['as_tensor', 'check_index', 'check_integer', 'first_true',
           'check_edge_weight', 'check_features', 'check_ptr', 'check_tokens',
           'check_node_attr']


def check_edge_weight(edge_weight: Tensor, num_edges: int) -> None:
    if not edge_weight.is_floating_point():
        raise PygSipError(f"'edge_weight' must be a floating point tensor, "
                          f'got dtype {edge_weight.dtype}')
    if edge_weight.dim() != 1 or edge_weight.numel() != num_edges:
        raise PygSipError(f"'edge_weight' must have shape [{num_edges}] (one "
                          f'weight per edge), got {list(edge_weight.shape)}')
    pos = first_true(~torch.isfinite(edge_weight))
    if pos >= 0:
        raise PygSipError(f'edge_weight[{pos}] = {float(edge_weight[pos])} '
                          f'is not finite')


def check_features(x: Tensor, num_nodes: int) -> None:
    r"""Checks that :obj:`x` is a finite floating point :obj:`[N, F]`
    matrix."""
    if not x.is_floating_point():
        raise PygSipError(f"'x' must be a floating point tensor, got dtype "
                          f'{x.dtype}')
    if x.dim() != 2 or x.size(0) != num_nodes:
        raise PygSipError(f"'x' must have shape [{num_nodes}, num_features] "
                          f'(one row per sample), got {list(x.shape)}')
    pos = first_true(~torch.isfinite(x))
    if pos >= 0:
        row, col = divmod(pos, x.size(1))
        raise PygSipError(f'x has a non-finite value ({float(x[row, col])}) '
                          f'in row {row} (sample {row}), column {col}')


def check_ptr(name: str, ptr: Tensor, total: int, what: str) -> None:
    r"""Checks a CSR pointer :obj:`ptr` of shape :obj:`[N + 1]` into
    :obj:`total` :obj:`what`: integer, :obj:`ptr[0] == 0`,
    :obj:`ptr[-1] == total`, non-decreasing."""
    check_integer(name, ptr)
    if ptr.dim() != 1 or ptr.numel() == 0:
        raise PygSipError(f"'{name}' must have shape [num_samples + 1], got "
                          f'{list(ptr.shape)}')
    if int(ptr[0]) != 0:
        raise PygSipError(f'{name}[0] must be 0, got {int(ptr[0])}')
    if int(ptr[-1]) != total:
        raise PygSipError(f'{name}[-1] = {int(ptr[-1])} does not match the '
                          f'number of {what} ({total})')
    pos = first_true(ptr[1:] < ptr[:-1])
    if pos >= 0:
        raise PygSipError(
            f'{name} must be non-decreasing, but {name}[{pos}] = '
            f'{int(ptr[pos])} > {name}[{pos + 1}] = {int(ptr[pos + 1])}')


def check_tokens(tokens: Tensor, token_ptr: Tensor, num_nodes: int,
                 vocab_size: int, pad_id: Optional[int]) -> None:
    r"""Checks ragged token sequences stored as :obj:`tokens` [T] and
    :obj:`token_ptr` [N + 1]: valid CSR pointer, no empty sequence, every
    token id in :obj:`[0, vocab_size)` and none equal to :obj:`pad_id`."""
    try:
        valid = operator.index(vocab_size) >= 1  # Any integer type.
    except TypeError:
        valid = False
    if not valid:
        raise PygSipError(f"'vocab_size' must be a positive integer, got "
                          f'{vocab_size!r}')
    vocab_size = operator.index(vocab_size)
    if token_ptr.dim() != 1 or token_ptr.numel() != num_nodes + 1:
        raise PygSipError(f"'token_ptr' must have shape [{num_nodes + 1}] "
                          f'(num_samples + 1), got {list(token_ptr.shape)}')
    check_integer('tokens', tokens)
    if tokens.dim() != 1:
        raise PygSipError(f"'tokens' must be one-dimensional (all sequences "
                          f'concatenated), got shape {list(tokens.shape)}')
    check_ptr('token_ptr', token_ptr, tokens.numel(), 'tokens')
    pos = first_true(token_ptr[1:] == token_ptr[:-1])
    if pos >= 0:
        raise PygSipError(f'sample {pos} has an empty token sequence')
    outside = (tokens < 0) | (tokens >= vocab_size)
    is_pad = tokens == pad_id if pad_id is not None else torch.zeros_like(
        outside)
    pos = first_true(outside | is_pad)
    if pos >= 0:
        reason = (f'outside the vocabulary [0, {vocab_size})' if bool(
            outside[pos]) else 'the padding id (padding is added by gather)')
        sample = int(torch.searchsorted(token_ptr, pos, right=True)) - 1
        offset = pos - int(token_ptr[sample])
        raise PygSipError(
            f'token at position {offset} of sample {sample} (tokens[{pos}]) '
            f'has id {int(tokens[pos])}, {reason}')


def check_node_attr(name: str, value: Tensor, num_nodes: int) -> None:
    r"""Checks a per-sample attribute (:obj:`y`, :obj:`group`, split masks):
    one entry per sample along the first dimension."""
    if value.dim() == 0 or value.size(0) != num_nodes:
        got = 'a scalar' if value.dim() == 0 else f'{value.size(0)} entries'
        raise PygSipError(f"'{name}' must have one entry per sample "
                          f'({num_nodes}), got {got}')
    if name == 'group':
        check_integer(name, value)
        if value.dim() != 1:
            raise PygSipError(f"'group' must have shape [{num_nodes}], got "
                              f'{list(value.shape)}')
    if name.endswith('_mask'):
        if value.dtype != torch.bool or value.dim() != 1:
            raise PygSipError(
                f"'{name}' must be a boolean tensor of shape [{num_nodes}], "
                f'got dtype {value.dtype} and shape {list(value.shape)}')
