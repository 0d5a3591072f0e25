r"""Vectorised segment (CSR) helpers shared by the ragged payloads, the
samplers, the losses and the evaluation.

A *segmented* array is a flat tensor cut into consecutive segments, described
either by a CSR pointer :obj:`ptr` of shape :obj:`[S + 1]` (segment :math:`s`
is :obj:`ptr[s]:ptr[s + 1]`) or by the *end offsets* :obj:`end = ptr[1:]` of
shape :obj:`[S]`. End offsets concatenate under PyG batching (each graph's
ends are shifted by the elements of the graphs before it), and still find the
bounds of any segment in :math:`O(1)`.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def lengths_to_ptr(lengths: Tensor) -> Tensor:
    r"""Converts segment lengths :obj:`[S]` into a CSR pointer
    :obj:`[S + 1]`."""
    ptr = lengths.new_zeros(lengths.numel() + 1)
    torch.cumsum(lengths, 0, out=ptr[1:])
    return ptr


def lengths_to_end(lengths: Tensor) -> Tensor:
    r"""Converts segment lengths :obj:`[S]` into end offsets :obj:`[S]`."""
    return lengths.cumsum(0)


def ptr_to_end(ptr: Tensor) -> Tensor:
    r"""Converts a CSR pointer :obj:`[S + 1]` into end offsets :obj:`[S]`."""
    return ptr[1:].clone()


def end_to_ptr(end: Tensor) -> Tensor:
    r"""Converts end offsets :obj:`[S]` into a CSR pointer :obj:`[S + 1]`."""
    return torch.cat([end.new_zeros(1), end])


def segment_bounds(end: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Returns the start offsets and the lengths of the segments
    :obj:`index`, given end offsets, in :math:`O(|\text{index}|)`."""
    start = torch.where(index > 0, end[index - 1], torch.zeros_like(index))
    return start, end[index] - start


def segment_ids(lengths: Tensor, total: Optional[int] = None) -> Tensor:
    r"""Returns the segment of every element, :math:`[0^{\ell_0}, 1^{\ell_1},
    \ldots]`, for segment lengths :math:`\ell` (:obj:`total` =
    :math:`\sum_s \ell_s` if known, which spares a synchronisation)."""
    arange = torch.arange(lengths.numel(), device=lengths.device)
    return torch.repeat_interleave(arange, lengths, output_size=total)


def expand_ranges(start: Tensor, length: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Expands the ranges :obj:`start[b] : start[b] + length[b]` into flat
    positions, concatenated in the order of :obj:`b`:

    .. math::
        \mathrm{pos}_m = s_{b_m} + m - o_{b_m}, \qquad
        o_b = \sum_{b' < b} \ell_{b'}.

    Returns:
        ``(seg, pos)``: ``pos[m]`` lies in range ``seg[m]``; ``seg`` is
        sorted.

    Shapes:
        - **input:** start, length :math:`(B)`
        - **output:** seg, pos :math:`(\sum_b \ell_b)`
    """
    total = int(length.sum()) if length.numel() > 0 else 0
    seg = segment_ids(length, total)
    offset = start - (torch.cumsum(length, 0) - length)
    pos = torch.arange(total, device=start.device) + offset[seg]
    return seg, pos


def expand_segments(ptr: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Expands the segments :obj:`ptr[index[b]] : ptr[index[b] + 1]` of a
    CSR pointer into flat positions (see :func:`expand_ranges`).

    Returns:
        ``(seg, pos)``: ``pos[m]`` lies in the segment of ``index[seg[m]]``.

    Shapes:
        - **input:** ptr :math:`(S + 1)`, index :math:`(B)`
        - **output:** seg, pos :math:`(\sum_b |\text{segment}_b|)`
    """
    start = ptr[index]
    return expand_ranges(start, ptr[index + 1] - start)


def gather_segments(end: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Returns the flat positions of the concatenated segments :obj:`index`
    (in the order of :obj:`index`), given end offsets, and their lengths.

    Shapes:
        - **input:** end :math:`(S)`, index :math:`(B)`
        - **output:** positions :math:`(\sum_b \ell_b)`, lengths :math:`(B)`
    """
    start, length = segment_bounds(end, index)
    return expand_ranges(start, length)[1], length


def csr_from_edges(edge_index: Tensor,
                   num_nodes: int) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Sorts the edges :math:`(i, j)` by source (stably) into compressed
    sparse row form.

    Returns:
        ``(rowptr, col, perm)``: the neighbours of :math:`i` are
        ``col[rowptr[i]:rowptr[i + 1]]`` in their input order, and
        ``col = edge_index[1, perm]``.

    Shapes:
        - **input:** edge_index :math:`(2, E)`
        - **output:** rowptr :math:`(N + 1)`, col, perm :math:`(E)`
    """
    row, perm = edge_index[0].sort(stable=True)
    rowptr = lengths_to_ptr(torch.bincount(row, minlength=num_nodes))
    return rowptr, edge_index[1][perm], perm
