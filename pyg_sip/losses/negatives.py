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
from typing import Optional, Union

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

# Explicit negatives covering this share of all N x N row pairs are computed
# from the full score matrix (measured by benchmarks/losses.py: above it, one
# matrix product beats gathering every pair).
DENSE_DENSITY = 0.25


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
        num_rows = self.rows(pos_index)
        mask = torch.zeros(num_rows, num_samples, dtype=torch.bool,
                           device=pos_index.device)
        anchor = pos_index[0]
        mask[anchor] = True  # rows with a positive pair are anchors
        flat = mask.view(-1)
        diag = torch.arange(min(num_rows, num_samples),
                            device=pos_index.device)
        flat[diag * (num_samples + 1)] = False
        flat[anchor * num_samples + pos_index[1]] = False
        if self.exclude is not None and self.exclude.numel() > 0:
            a, j = self.exclude[0], self.exclude[1]
            keep = a < num_rows
            flat[torch.where(keep, a * num_samples + j, 0)[keep]] = False
        return mask

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
    bad = (index < 0) | (index >= num_samples)
    if bool(bad.any()):
        col = int(bad.any(dim=0).nonzero()[0])
        raise PygSipError(f"'{name}' column {col} holds pair "
                          f"{tuple(index[:, col].tolist())}, out of range for "
                          f"'z' with {num_samples} samples")


class DenseNegatives:
    r"""Negatives as a weight matrix :math:`W \in \mathbb{R}^{A \times N}`:
    :math:`W_{aj}` counts how often :math:`(a, j)` is a negative pair (0 or
    1 for :class:`InBatchNegatives`). Row :math:`a` of the score matrix is
    anchor :math:`a`.

    Attributes:
        weight (torch.Tensor): :math:`W` [A, N], in the scores' dtype.
        binary (bool): :math:`W` holds only 0 and 1.
    """
    def __init__(self, weight: Tensor, binary: bool):
        self.weight, self.binary = weight, binary

    @property
    def num_rows(self) -> int:
        return self.weight.size(0)

    @property
    def is_negative(self) -> Tensor:
        return self.weight > 0

    def log_weight(self) -> Tensor:
        r""":math:`\log W` (:math:`-\infty` where :math:`W = 0`)."""
        if self.binary:
            return torch.zeros_like(self.weight).masked_fill_(
                ~self.is_negative, float('-inf'))
        return self.weight.log()

    def count(self) -> Tensor:
        r"""Negatives per anchor :math:`[A]`."""
        return self.weight.sum(1)


Negatives = Union[Tensor, DenseNegatives]


def resolve(z: Tensor, pos_index: Tensor,
            neg_index: Union[Tensor, InBatchNegatives, None],
            dtype: torch.dtype) -> Negatives:
    r"""The negatives in the form the loss computes with: the pair list
    ``neg_index`` itself (sparse), or :class:`DenseNegatives` for implicit
    in-batch negatives and for pair lists covering at least
    :data:`DENSE_DENSITY` of all row pairs."""
    num_samples = z.size(0)
    if neg_index is None:
        neg_index = InBatchNegatives()
    if isinstance(neg_index, InBatchNegatives):
        mask = neg_index.mask(pos_index, num_samples)
        return DenseNegatives(mask.to(dtype), binary=True)
    if (neg_index.numel() == 0 or
            neg_index.size(1) < DENSE_DENSITY * num_samples * num_samples):
        return neg_index
    weight = torch.zeros(num_samples * num_samples, dtype=dtype,
                         device=z.device)
    flat = neg_index[0] * num_samples + neg_index[1]
    weight.index_add_(0, flat, torch.ones_like(flat, dtype=dtype))
    return DenseNegatives(weight.view(num_samples, num_samples), binary=False)
