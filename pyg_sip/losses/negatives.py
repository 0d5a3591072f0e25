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
    anchor :math:`a`. Every matrix is built on first use from the flat pair
    ids (explicit pairs) or the :class:`InBatchNegatives` object, so a loss
    builds only the form it computes with: :attr:`weight` (float,
    multiplied in: vectorised), :attr:`mask` (bool) or :meth:`log_weight`.

    Args:
        shape (tuple): :math:`(A, N)`.
        dtype (torch.dtype): The scores' dtype.
        device (torch.device): The scores' device.
        flat (torch.Tensor, optional): The negative pairs' flat ids
            :math:`a N + j` [Q]. (default: :obj:`None`)
        in_batch (tuple, optional): ``(InBatchNegatives, pos_index)``.
            (default: :obj:`None`)
    """
    def __init__(self, shape: Tuple[int, int], dtype: torch.dtype,
                 device: torch.device, flat: Optional[Tensor] = None,
                 in_batch: Optional[Tuple[InBatchNegatives, Tensor]] = None):
        self.shape, self.dtype, self.device = shape, dtype, device
        self.flat, self._in_batch = flat, in_batch
        self._mask: Optional[Tensor] = None
        self._weight: Optional[Tensor] = None

    @classmethod
    def from_in_batch(cls, negatives: InBatchNegatives, pos_index: Tensor,
                      num_samples: int, dtype: torch.dtype
                      ) -> 'DenseNegatives':
        r"""The weights of :class:`InBatchNegatives`."""
        shape = (negatives.rows(pos_index), num_samples)
        return cls(shape, dtype, pos_index.device,
                   in_batch=(negatives, pos_index))

    @property
    def num_rows(self) -> int:
        return self.shape[0]

    @property
    def mask(self) -> Tensor:
        r""":math:`W > 0`, bool [A, N]."""
        if self._mask is None:
            if self._in_batch is not None:
                negatives, pos_index = self._in_batch
                self._mask = negatives.mask(pos_index, self.shape[1])
            else:
                mask = torch.zeros(self.shape, dtype=torch.bool,
                                   device=self.device)
                mask.view(-1).index_fill_(0, self.flat, True)
                self._mask = mask
        return self._mask

    @property
    def weight(self) -> Tensor:
        r""":math:`W` [A, N] in the scores' dtype."""
        if self._weight is None:
            if self._in_batch is not None:
                negatives, pos_index = self._in_batch
                self._weight = negatives.weight(pos_index, self.shape[1],
                                                self.dtype)
            else:
                weight = torch.zeros(self.shape, dtype=self.dtype,
                                     device=self.device)
                weight.view(-1).index_add_(
                    0, self.flat, torch.ones_like(self.flat,
                                                  dtype=self.dtype))
                self._weight = weight
        return self._weight

    def log_weight(self, offset: float = 0.0) -> Tensor:
        r""":math:`\log W + \text{offset}` (:math:`-\infty` where
        :math:`W = 0`)."""
        if self._in_batch is not None:
            negatives, pos_index = self._in_batch
            return negatives.log_weight(pos_index, self.shape[1], self.dtype,
                                        offset)
        out = self.weight.log()
        return out.add_(offset) if offset != 0.0 else out

    def keep_negatives_(self, matrix: Tensor) -> Tensor:
        r"""Multiplies a matrix [A, N] by :math:`W` in place: in-batch
        negatives zero the few entries that are no negatives of the anchor
        rows (one ``index_fill_``, rows without a positive pair left as they
        are), explicit pairs multiply by their counts."""
        if self._in_batch is None:
            return matrix.mul_(self.weight)
        negatives, pos_index = self._in_batch
        if matrix.numel() > 0:
            matrix.view(-1).index_fill_(
                0, negatives.off_pairs(pos_index, self.shape[1]), 0.0)
        return matrix

    def count(self) -> Tensor:
        r"""Negatives per anchor :math:`[A]`, in the scores' dtype."""
        return self.weight.sum(1)

    def weighted_sum(self, values: Tensor) -> Tensor:
        r""":math:`\sum_{aj} W_{aj} v_{aj}` of a matrix ``values`` [A, N]
        (entries that are not negatives are left out, even NaN ones)."""
        return torch.where(self.mask, values * self.weight, 0.0).sum()

    def total(self) -> Tensor:
        r"""All negative pairs :math:`\sum W`, in the scores' dtype."""
        if self.flat is not None:  # the number of pairs: no pass needed
            return torch.tensor(float(self.flat.numel()), dtype=self.dtype,
                                device=self.device)
        return self.weight.sum()


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
    flat = neg_index[0] * num_samples + neg_index[1]
    return DenseNegatives((num_samples, num_samples), dtype, z.device,
                          flat=flat)
