r"""Implicit in-batch negatives: every other sample of a batch, with known
pre-training graph edges masked as false negatives, and no pair list built.
:class:`~pyg_sip.StructureLoader` emits it (``negative_sampling='in_batch'``,
``num_negatives=None``) and every structure loss accepts it as
``neg_index``."""
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError


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
            check_pair_index('exclude', exclude, ' or None')
        self.num_anchors = num_anchors
        self.exclude = exclude

    def mask(self, pos_index: Tensor, num_samples: int) -> Tensor:
        r"""The negatives as a boolean matrix :math:`[A, N]`: entry
        :math:`(a, j)` holds iff :math:`j \in \mathcal{N}(a)`."""
        return self._matrix(pos_index, num_samples, True, False, torch.bool)

    def weight(self, pos_index: Tensor, num_samples: int,
               dtype: torch.dtype) -> Tensor:
        r"""The negatives as a 0/1 matrix :math:`[A, N]` of ``dtype``."""
        return self._matrix(pos_index, num_samples, 1.0, 0.0, dtype)

    def off_pairs(self, pos_index: Tensor, num_samples: int) -> Tensor:
        r"""Flat ids :math:`a N + j` [M] of the entries of the anchor rows
        :math:`a < A` that are no negatives: the diagonal, the positive
        pairs and the excluded pairs (duplicates possible; rows without a
        positive pair are not listed)."""
        num_rows, device = self.rows(pos_index), pos_index.device
        diag = torch.arange(min(num_rows, num_samples), device=device)
        off_pairs = [diag * (num_samples + 1),
                     pos_index[0] * num_samples + pos_index[1]]
        if self.exclude is not None and self.exclude.numel() > 0:
            # a batch moved with .to(device) leaves this object behind
            a, j = self.exclude.to(device, non_blocking=True)
            # pairs of rows that are no anchors point at (0, 0), always off
            off_pairs.append(torch.where(a < num_rows, a * num_samples + j, 0))
        return torch.cat(off_pairs)

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
        if out.numel() > 0:
            out.view(-1).index_fill_(0, self.off_pairs(pos_index,
                                                       num_samples), off)
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
            if validate and self.exclude.numel() > 0:
                check_pair_range('exclude', self.exclude, num_samples)
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


def check_pair_index(name: str, index: object, alternatives: str = '') -> None:
    r"""Raises :class:`~pyg_sip.errors.PygSipError` unless ``index`` is a
    long tensor of shape :math:`[2, P]` (a pair list); ``alternatives``
    names what else the argument may be, for the message."""
    if not isinstance(index, Tensor):
        raise PygSipError(f"'{name}' must be a tensor{alternatives} "
                          f"(got {type(index).__name__})")
    if index.dtype != torch.long:
        raise PygSipError(f"'{name}' must have dtype torch.long "
                          f"(got {index.dtype})")
    if index.dim() != 2 or index.size(0) != 2:
        raise PygSipError(f"'{name}' must have shape [2, num_pairs] "
                          f"(got {tuple(index.shape)})")


def check_pair_range(name: str, index: Tensor, num_samples: int) -> None:
    low, high = torch.aminmax(index)
    if int(low) < 0 or int(high) >= num_samples:
        bad = (index < 0) | (index >= num_samples)
        col = int(bad.any(dim=0).nonzero()[0])
        raise PygSipError(f"'{name}' column {col} holds pair "
                          f"{tuple(index[:, col].tolist())}, out of range for "
                          f"'z' with {num_samples} samples")
