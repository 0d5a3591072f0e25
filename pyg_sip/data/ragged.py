"""Vectorised segment operations on ragged (CSR) per-sample storage.

Ragged payloads are stored as a flat tensor plus the *end offset* of each
sample's segment, :obj:`end = ptr[1:]` of shape :obj:`[N]`. Unlike the
:obj:`[N + 1]` pointer, the end offsets concatenate under PyG batching (each
graph's ends are shifted by the number of elements of the graphs before it),
and the segment of any sample is found in :math:`O(1)`.
"""
from typing import Tuple

import torch
from torch import Tensor


def ptr_to_end(ptr: Tensor) -> Tensor:
    r"""Converts a CSR pointer :obj:`[N + 1]` into end offsets :obj:`[N]`."""
    return ptr[1:].clone()


def end_to_ptr(end: Tensor) -> Tensor:
    r"""Converts end offsets :obj:`[N]` into a CSR pointer :obj:`[N + 1]`."""
    return torch.cat([end.new_zeros(1), end])


def lengths_to_end(lengths: Tensor) -> Tensor:
    r"""Converts segment lengths :obj:`[N]` into end offsets :obj:`[N]`."""
    return lengths.cumsum(0)


def segment_bounds(end: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Returns the start offsets and the lengths of the segments
    :obj:`index` in :math:`O(|index|)`."""
    start = torch.where(index > 0, end[index - 1], torch.zeros_like(index))
    return start, end[index] - start


def gather_segments(end: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Returns the flat positions of the concatenated segments :obj:`index`
    (in the order of :obj:`index`) and their lengths, without a Python loop.

    .. math::
        \mathrm{pos} = \mathrm{repeat}(s_i - o_i, \ell_i) + \mathrm{arange}
        \Big(\sum_i \ell_i\Big),

    where :math:`s_i` is the start and :math:`\ell_i` the length of segment
    :math:`i`, and :math:`o_i = \sum_{j < i} \ell_j` its output offset.
    """
    start, length = segment_bounds(end, index)
    offset = length.cumsum(0) - length
    total = int(length.sum()) if length.numel() > 0 else 0
    pos = torch.repeat_interleave(start - offset, length, output_size=total)
    return pos + torch.arange(total, device=end.device), length
