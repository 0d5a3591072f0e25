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

from pyg_sip.errors import PygSipError

# Explicit negatives covering this share of all N x N row pairs are computed
# from the full score matrix: above it, one matrix product beats gathering
# every pair (measured at B = 256 and 512 with 40 pairs per row, i.e.
# densities 0.16 and 0.08). Losses whose dense form sorts rows (triplet
# 'all'/'semihard') or mines them (multi-similarity) pass cost=2.
DENSE_DENSITY = 0.125


class InBatchNegatives:
    r"""Every other sample of the batch as negatives, without a pair list:
    the setting of sentence-transformers' ``MultipleNegativesRankingLoss``
    and of in-batch InfoNCE, with known pre-training graph edges masked as
    false negatives.

    Given embeddings :math:`z \in \mathbb{R}^{N \times d}` and positive pairs
    :math:`\mathcal{P}`, every row :math:`a` with at least one positive pair
    is an anchor, and its negatives are

    .. math::
        \mathcal{N}(a) = \{0, \dots, N - 1\} \setminus \big(\{a\} \cup
        \{p : (a, p) \in \mathcal{P}\} \cup
        \{j : (a, j) \in \mathcal{E}\}\big),

    with :math:`\mathcal{E}` the pairs of ``exclude`` (taken as given:
    pass both directions of an undirected graph, as ``edge_index`` holds
    them). Pass an instance as ``neg_index`` to any structure loss
    (``neg_index=None`` is the same as ``InBatchNegatives()``); the loss
    then computes all :math:`A \times N` scores with one matrix product and
    never builds the :math:`[2, A N]` pair list. The value equals that of
    the explicit pairs :meth:`neg_index` lists.

    Args:
        num_anchors (int, optional): Every anchor lies in rows
            :math:`[0, A)` (a :class:`~pyg_sip.StructureLoader` batch puts
            its anchors first): the score matrix has :math:`A` rows, and no
            host synchronisation finds them. :obj:`None` uses
            :math:`A = 1 + \max` of the positive pairs' anchors.
            (default: :obj:`None`)
        exclude (torch.Tensor, optional): Pairs :math:`[2, E]` (long, local
            row indices, row 0 the anchor) that are not negatives, e.g. the
            pre-training graph's edges among the batch's samples.
            (default: :obj:`None`)
    """
    def __init__(self, num_anchors: Optional[int] = None,
                 exclude: Optional[Tensor] = None):
        if num_anchors is not None and (
                isinstance(num_anchors, bool)
                or not isinstance(num_anchors, int) or num_anchors < 0):
            raise PygSipError(f"'num_anchors' must be an int >= 0 or None "
                              f"(got {num_anchors!r})")
        if exclude is not None:
            if not isinstance(exclude, Tensor):
                raise PygSipError(f"'exclude' must be a tensor or None "
                                  f"(got {type(exclude).__name__})")
            if exclude.dtype != torch.long:
                raise PygSipError(f"'exclude' must have dtype torch.long "
                                  f"(got {exclude.dtype})")
            if exclude.dim() != 2 or exclude.size(0) != 2:
                raise PygSipError(f"'exclude' must have shape [2, num_pairs] "
                                  f"(got {tuple(exclude.shape)})")
        self.num_anchors = num_anchors
        self.exclude = exclude

    def mask(self, pos_index: Tensor, num_samples: int) -> Tensor:
        r"""The negatives as a boolean matrix :math:`[A, N]`: entry
        :math:`(a, j)` holds iff :math:`j \in \mathcal{N}(a)`."""
        return self._matrix(pos_index, num_samples, True, False, torch.bool)

    def log_weight(self, pos_index: Tensor, num_samples: int,
                   dtype: torch.dtype, offset: float = 0.0) -> Tensor:
        r"""The matrix :math:`[A, N]` holding ``offset`` at negatives and
        :math:`-\infty` elsewhere."""
        return self._matrix(pos_index, num_samples, offset, float('-inf'),
                            dtype)

    def _matrix(self, pos_index: Tensor, num_samples: int, on, off,
                dtype: torch.dtype) -> Tensor:
        num_rows, device = self.rows(pos_index), pos_index.device
        anchor = pos_index[0]
        is_anchor = torch.zeros(num_rows, dtype=torch.bool, device=device)
        is_anchor.index_fill_(0, anchor, True)  # rows with a positive pair
        out = torch.full((num_rows, num_samples), on, dtype=dtype,
                         device=device)
        out.index_fill_(0, (~is_anchor).nonzero().view(-1), off)
        flat = out.view(-1)
        diag = torch.arange(min(num_rows, num_samples), device=device)
        off_pairs = [diag * (num_samples + 1), anchor * num_samples +
                     pos_index[1]]
        if (self.exclude is not None and self.exclude.numel() > 0
                and flat.numel() > 0):
            a, j = self.exclude[0], self.exclude[1]
            # pairs of rows that are no anchors point at (0, 0), always off
            off_pairs.append(torch.where(a < num_rows, a * num_samples + j, 0))
        flat.index_fill_(0, torch.cat(off_pairs), off)
        return out

    def neg_index(self, pos_index: Tensor, num_samples: int) -> Tensor:
        r"""The explicit negative pairs :math:`[2, Q]` (sorted by anchor)
        that this object stands for; :math:`O(A N)` memory, for references
        and libraries that need the pair list."""
        return self.mask(pos_index, num_samples).nonzero().t()

    def rows(self, pos_index: Tensor) -> int:
        r"""The number :math:`A` of rows of the score matrix."""
        if self.num_anchors is not None:
            return self.num_anchors
        if pos_index.numel() == 0:
            return 0
        return int(pos_index[0].max()) + 1  # a host synchronisation

    def check(self, z: Tensor, pos_index: Tensor, validate: bool) -> None:
        r"""Raises :class:`~pyg_sip.errors.PygSipError` unless this object
        fits ``z`` [N, d] and ``pos_index``."""
        num_samples = z.size(0)
        if self.num_anchors is not None and self.num_anchors > num_samples:
            raise PygSipError(f"'num_anchors' is {self.num_anchors} but 'z' "
                              f"has only {num_samples} samples")
        if self.exclude is not None:
            if self.exclude.device != z.device:
                raise PygSipError(f"'exclude' is on {self.exclude.device} "
                                  f"but 'z' is on {z.device}")
            if validate and self.exclude.numel() > 0:
                _check_range('exclude', self.exclude, num_samples)
        if (validate and self.num_anchors is not None
                and pos_index.numel() > 0):
            bad = pos_index[0] >= self.num_anchors
            if bool(bad.any()):
                col = int(bad.nonzero()[0])
                raise PygSipError(
                    f"'pos_index' column {col} has anchor "
                    f"{int(pos_index[0, col])}, outside the "
                    f"num_anchors={self.num_anchors} anchor rows of "
                    f"InBatchNegatives")

    def __repr__(self) -> str:
        exclude = None if self.exclude is None else self.exclude.size(1)
        return (f'{self.__class__.__name__}(num_anchors={self.num_anchors}, '
                f'exclude={exclude})')


def _check_range(name: str, index: Tensor, num_samples: int) -> None:
    low, high = torch.aminmax(index)
    if int(low) < 0 or int(high) >= num_samples:
        bad = (index < 0) | (index >= num_samples)
        col = int(bad.any(dim=0).nonzero()[0])
        raise PygSipError(f"'{name}' column {col} holds pair "
                          f"{tuple(index[:, col].tolist())}, out of range for "
                          f"'z' with {num_samples} samples")


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
    if z.device.type == 'cpu' and int(mask.sum()) == flat.numel():
        return DenseNegatives(mask, dtype)  # no duplicate pairs
    weight = torch.zeros(shape, dtype=dtype, device=z.device)
    weight.view(-1).index_add_(0, flat, torch.ones_like(flat, dtype=dtype))
    return DenseNegatives(mask, dtype, weight)
