r"""Negatives of a structure loss: an explicit pair list, or every other
sample of the batch (:class:`InBatchNegatives`), and the choice between the
pair-list (sparse) and the all-pairs matrix (dense) computation.

A loss given many pairs per row computes the scores of all
:math:`A \times N` (anchor, sample) pairs with one matrix product instead of
gathering them pair by pair; it then weights every entry by how often it is
a negative (:class:`DenseNegatives`). Implicit in-batch negatives always
take this path, explicit pair lists when they cover at least
:data:`DENSE_DENSITY` of all :math:`N^2` row pairs. Both paths give the same
value.
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from pyg_sip.sampling.in_batch import InBatchNegatives

# Explicit negatives covering this share of all N x N row pairs are computed
# from the full score matrix: above it, one matrix product beats gathering
# every pair (measured at B = 256 and 512 with 40 pairs per row, i.e.
# densities 0.16 and 0.08). Losses whose dense form sorts rows (triplet
# 'all'/'semihard') or mines them (multi-similarity) pass cost=2.
DENSE_DENSITY = 0.125


class DenseNegatives:
    r"""Negatives as a weight matrix :math:`W \in \mathbb{R}^{A \times N}`:
    :math:`W_{aj}` counts how often :math:`(a, j)` is a negative pair (0 or
    1 for :class:`InBatchNegatives`). Row :math:`a` of the score matrix is
    anchor :math:`a`.

    Args:
        mask (torch.Tensor): :math:`W > 0`, bool [A, N] (:obj:`None`
            with ``in_batch``).
        dtype (torch.dtype): The scores' dtype.
        counts (torch.Tensor, optional): :math:`W` [A, N] where entries
            exceed 1 (duplicate pairs); :obj:`None` for :math:`W` = ``mask``.
            (default: :obj:`None`)
        in_batch (tuple, optional): ``(InBatchNegatives, pos_index, N)``
            whose matrices are built on first use. (default: :obj:`None`)
    """
    def __init__(self, mask: Optional[Tensor], dtype: torch.dtype,
                 counts: Optional[Tensor] = None,
                 in_batch: Optional[Tuple[InBatchNegatives, Tensor, int]]
                 = None):
        self._mask, self.dtype, self.counts = mask, dtype, counts
        self._in_batch = in_batch

    @classmethod
    def from_in_batch(cls, negatives: InBatchNegatives, pos_index: Tensor,
                      num_samples: int, dtype: torch.dtype
                      ) -> 'DenseNegatives':
        r"""The weights of :class:`InBatchNegatives`, built on first use
        (a loss that needs only :math:`\log W` never builds the mask)."""
        return cls(None, dtype, in_batch=(negatives, pos_index, num_samples))

    @property
    def mask(self) -> Tensor:
        r""":math:`W > 0`, bool [A, N]."""
        if self._mask is None:
            negatives, pos_index, num_samples = self._in_batch
            self._mask = negatives.mask(pos_index, num_samples)
        return self._mask

    @property
    def num_rows(self) -> int:
        if self._mask is None:
            negatives, pos_index, _ = self._in_batch
            return negatives.rows(pos_index)
        return self._mask.size(0)

    @property
    def weight(self) -> Tensor:
        r""":math:`W` [A, N] in the scores' dtype."""
        if self.counts is None:
            return self.mask.to(self.dtype)
        return self.counts

    def log_weight(self, offset: float = 0.0) -> Tensor:
        r""":math:`\log W + \text{offset}` (:math:`-\infty` where
        :math:`W = 0`)."""
        if self.counts is not None:
            out = self.counts.log()
            return out.add_(offset) if offset != 0.0 else out
        if self._mask is None:
            negatives, pos_index, num_samples = self._in_batch
            return negatives.log_weight(pos_index, num_samples, self.dtype,
                                        offset)
        out = torch.full(self._mask.shape, float('-inf'), dtype=self.dtype,
                         device=self._mask.device)
        return out.masked_fill_(self._mask, offset)

    def count(self) -> Tensor:
        r"""Negatives per anchor :math:`[A]`, in the scores' dtype."""
        if self.counts is None:
            return self.mask.sum(1).to(self.dtype)
        return self.counts.sum(1)

    def weighted_sum(self, values: Tensor) -> Tensor:
        r""":math:`\sum_{aj} W_{aj} v_{aj}` of a matrix ``values`` [A, N]
        (entries that are not negatives are left out, even NaN ones)."""
        if self.counts is None:
            return torch.where(self.mask, values, 0.0).sum()
        return torch.where(self.mask, values * self.counts, 0.0).sum()

    def total(self) -> Tensor:
        r"""All negative pairs :math:`\sum W`, in the scores' dtype."""
        return self.count().sum()


#: What a loss accepts as ``neg_index``.
NegIndex = Union[Tensor, InBatchNegatives, None]
Negatives = Union[Tensor, DenseNegatives]


def dense_path(z: Tensor, neg_index: Tensor, cost: float = 1.0) -> bool:
    r"""Whether the explicit pairs ``neg_index`` cover at least ``cost``
    times :data:`DENSE_DENSITY` of all row pairs of ``z`` (shapes only: no
    host synchronisation). Never while compiling: a branch on the shapes
    would specialise the compiled code to one side of the threshold."""
    if torch.compiler.is_compiling():
        return False
    num_samples = z.size(0)
    return (neg_index.numel() > 0 and neg_index.size(1) >=
            cost * DENSE_DENSITY * num_samples * num_samples)


def resolve(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
            dtype: torch.dtype, cost: float = 1.0) -> Negatives:
    r"""The negatives in the form the loss computes with: the pair list
    ``neg_index`` itself (sparse), or :class:`DenseNegatives` for implicit
    in-batch negatives and for pair lists covering at least
    ``cost`` times :data:`DENSE_DENSITY` of all row pairs."""
    num_samples = z.size(0)
    if neg_index is None:
        neg_index = InBatchNegatives()
    if isinstance(neg_index, InBatchNegatives):
        return DenseNegatives.from_in_batch(neg_index, pos_index,
                                            num_samples, dtype)
    if not dense_path(z, neg_index, cost):
        return neg_index
    shape = (num_samples, num_samples)
    flat = neg_index[0] * num_samples + neg_index[1]
    mask = torch.zeros(shape, dtype=torch.bool, device=z.device)
    mask.view(-1).index_fill_(0, flat, True)
    if (z.device.type == 'cpu'
            and int(torch.count_nonzero(mask)) == flat.numel()):
        return DenseNegatives(mask, dtype)  # no duplicate pairs
    weight = torch.zeros(shape, dtype=dtype, device=z.device)
    weight.view(-1).index_add_(0, flat, torch.ones_like(flat, dtype=dtype))
    return DenseNegatives(mask, dtype, weight)
