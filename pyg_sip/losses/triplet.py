"""Triplet margin loss over pair lists, with all / hard / semi-hard
negatives."""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from pyg_sip.errors import PygSipError
from pyg_sip.losses._dense import dense_scores, gather_pairs
from pyg_sip.losses._pairs import (
    check_inputs,
    masked_mean,
    nan_unless_finite,
    pair_scores,
    radix_sortable,
    upcast,
)
from pyg_sip.losses._segment import segment_count, segment_min
from pyg_sip.losses.negatives import DenseNegatives, NegIndex, resolve
from pyg_sip.losses.registry import register_loss
from pyg_sip.utils.checks import check_positive

MINING = ('all', 'hard', 'semihard')


def triplets(pos_anchor: Tensor, neg_anchor: Tensor, num_samples: int
             ) -> Tuple[Tensor, Tensor]:
    r"""Expands every positive pair against the negative pairs of its anchor.

    The negative pairs are sorted by anchor (CSR over anchors); positive
    :math:`k` with anchor :math:`a` is repeated once per negative of
    :math:`a`, so exactly :math:`T = \sum_k |\mathcal{N}(a_k)|` triplets are
    built and nothing of size P × Q. :func:`triplet_margin` itself never
    builds them; this lists them, e.g. as ``indices_tuple`` of another
    library.

    Returns:
        ``(pos_id, neg_id)``, each [T]: columns of ``pos_index`` and
        ``neg_index`` forming the triplets, grouped by positive.
    """
    perm = torch.argsort(neg_anchor, stable=True)
    count = segment_count(neg_anchor, num_samples)
    start = count.cumsum(0) - count
    per_pos = count[pos_anchor]
    # Data-dependent output size: a host synchronisation.
    pos_id = torch.repeat_interleave(per_pos)
    first = per_pos.cumsum(0) - per_pos
    offset = torch.arange(pos_id.numel(), device=pos_id.device) - first[pos_id]
    neg_id = perm[start[pos_anchor][pos_id] + offset]
    return pos_id, neg_id


def triplet_margin(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                   margin: float = 0.1, mining: str = 'all',
                   validate: Optional[bool] = None) -> Tensor:
    r"""Triplet margin loss :math:`[d_{ap} - d_{an} + m]_+` on Euclidean
    distances over the triplets chosen by ``mining``, see
    :class:`TripletMarginLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor or InBatchNegatives): Negative pairs
            [2, Q], likewise, or every other sample of the batch
            (:class:`~pyg_sip.losses.InBatchNegatives`, or :obj:`None`).
        margin (float, optional): :math:`m > 0`. (default: :obj:`0.1`)
        mining (str, optional): ``'all'``, ``'hard'`` or ``'semihard'``.
            (default: :obj:`'all'`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    if mining not in MINING:
        raise PygSipError(f"'mining' must be one of {', '.join(MINING)} "
                          f"(got {mining!r})")
    check_positive('margin', margin)
    check_inputs(z, pos_index, neg_index, validate)
    x = upcast(z)
    neg = resolve(z, pos_index, neg_index, x.dtype, cost=PAIR_LIST_COST)
    if isinstance(neg, DenseNegatives):
        dist = dense_scores(x, neg.num_rows, 'dist')
        d_pos = gather_pairs(dist, pos_index)
        if d_pos.numel() == 0:  # no triplet: a zero tied to z
            return masked_mean(dist.sum(1), dist.new_zeros(dist.size(0), dtype=torch.bool))
        loss = _DENSE[mining](dist, d_pos, pos_index[0], neg, margin)
        return nan_unless_finite(loss, x)
    d_pos, d_neg = pair_scores(x, pos_index, neg, 'dist')
    loss = _sparse(d_pos, d_neg, pos_index[0], neg[0], x.size(0), margin,
                   mining)
    return nan_unless_finite(loss, d_pos, d_neg)


# Explicit negatives covering less than PAIR_LIST_COST times DENSE_DENSITY
# (half) of all N x N row pairs are mined on the pair list (a sort of P + Q
# scores, read off one dense product where they are dense enough, see
# pair_scores), denser ones on the distance matrix (a binary search per
# entry).
PAIR_LIST_COST = 4.0


def _sparse(d_pos: Tensor, d_neg: Tensor, pos_anchor: Tensor,
            neg_anchor: Tensor, num_samples: int, margin: float,
            mining: str) -> Tensor:
    r""":func:`triplet_margin` on the scores of the pair lists."""
    if mining == 'hard':
        hardest = segment_min(d_neg, neg_anchor, num_samples)
        has_neg = segment_count(neg_anchor, num_samples) > 0
        loss = (d_pos - hardest[pos_anchor] + margin).relu()
        return masked_mean(loss, has_neg[pos_anchor])

    if mining == 'all':
        # sum_{(p, n)} [d_ap + m - d_an]_+ = sum_p c_p (d_ap + m) -
        # sum_n c_n d_an, where c_p counts the negatives of p's anchor below
        # d_ap + m and c_n the positives of n's anchor above d_an - m: both
        # read off one sort of the P + Q pair scores, no triplet is built.
        with torch.no_grad():
            num_pos, num_neg = d_pos.numel(), d_neg.numel()
            is_neg, rank, _, first = _merge_by_anchor(
                pos_anchor, d_pos + margin, neg_anchor, d_neg, num_samples)
            count_pos = segment_count(pos_anchor, num_samples)
            count_neg = segment_count(neg_anchor, num_samples)
            # negatives before a positive, within its anchor's run
            negs_before = torch.cumsum(is_neg, 0) - is_neg
            c_pos = (negs_before.index_select(0, rank[:num_pos]) -
                     negs_before.index_select(
                         0, first.index_select(0, pos_anchor)))
            # positives after a negative, within its anchor's run
            pos_through = torch.cumsum(1 - is_neg, 0)
            c_neg = (torch.cumsum(count_pos, 0).index_select(0, neg_anchor) -
                     pos_through.index_select(0, rank[num_pos:]))
            num_triplets = count_neg.index_select(0, pos_anchor).sum()
            num_triplets = num_triplets.clamp_min(1)
        acc = torch.float64
        total = ((d_pos.to(acc) + margin) * c_pos).sum() - (
            d_neg.to(acc) * c_neg).sum()
        return (total / num_triplets).to(d_pos.dtype)

    # 'semihard': per positive, the smallest d_an with d_ap < d_an < d_ap +
    # m is the first negative after it in a sort of its anchor's run (ties
    # placing negatives first, so that d_an > d_ap holds strictly).
    num_neg = d_neg.numel()
    if num_neg == 0:
        return masked_mean(d_pos, torch.zeros_like(d_pos, dtype=torch.bool))
    with torch.no_grad():
        is_pos, rank, order, first = _merge_by_anchor(
            neg_anchor, d_neg, pos_anchor, d_pos, num_samples)
        size = rank.numel()
        position = torch.arange(size, device=rank.device)
        # sorted position of the next negative at or after each position
        next_neg = torch.where(is_pos.bool(), size, position).flip(0)
        next_neg = torch.cummin(next_neg, 0).values.flip(0)
        after = next_neg[rank[num_neg:]]
        count = (segment_count(pos_anchor, num_samples) +
                 segment_count(neg_anchor, num_samples))
        found = after < (first + count)[pos_anchor]
        cand = torch.where(found, order[after.clamp_(max=size - 1)], 0)
        found &= d_neg[cand] < d_pos + margin
    hardest = d_neg.index_select(0, cand)
    return masked_mean(d_pos - hardest + margin, found)


def _dense_all(dist: Tensor, d_pos: Tensor, pos_anchor: Tensor,
               neg: DenseNegatives, margin: float) -> Tensor:
    r"""``'all'`` on the distance matrix: with the thresholds
    :math:`t_k = d_{ap_k} + m` of each anchor sorted, one binary search per
    entry gives :math:`q_{an} = |\{k : t_k \le d_{an}\}|`; negative
    :math:`n` violates the positives of sorted rank :math:`\ge q_{an}`, so
    :math:`c_n = |\mathcal{P}_a| - q_{an}` and :math:`c_p` is a cumulative
    histogram of :math:`q`."""
    num_rows = dist.size(0)
    weight = neg.weight
    with torch.no_grad():
        thresholds, slot = _by_anchor(pos_anchor, d_pos + margin, num_rows)
        width = thresholds.size(1)
        q = torch.searchsorted(thresholds, dist, right=True)
        c_neg = (segment_count(pos_anchor, num_rows).unsqueeze(1) - q) * weight
        rows = torch.arange(num_rows, device=dist.device).unsqueeze(1)
        hist = weight.new_zeros(num_rows * (width + 1)).index_add_(
            0, (rows * (width + 1) + q).view(-1), weight.view(-1))
        c_pos = hist.view(num_rows, width + 1).cumsum(1)[pos_anchor, slot]
        num_triplets = neg.count()[pos_anchor].sum().clamp_min(1)
    acc = torch.float64
    total = ((d_pos.to(acc) + margin) * c_pos).sum() - (
        dist * c_neg).sum(dtype=acc)
    return (total / num_triplets).to(d_pos.dtype)


def _dense_hard(dist: Tensor, d_pos: Tensor, pos_anchor: Tensor,
                neg: DenseNegatives, margin: float) -> Tensor:
    hardest = torch.where(neg.mask, dist, float('inf')).amin(1)
    has_neg = neg.mask.any(1)
    loss = (d_pos - hardest[pos_anchor] + margin).relu()
    return masked_mean(loss, has_neg[pos_anchor])


def _dense_semihard(dist: Tensor, d_pos: Tensor, pos_anchor: Tensor,
                    neg: DenseNegatives, margin: float) -> Tensor:
    r"""``'semihard'`` on the distance matrix: each row's negative
    distances sorted once, the first one strictly above :math:`d_{ap}` by
    binary search."""
    num_rows, num_cols = dist.shape
    with torch.no_grad():
        ordered, cols = torch.where(neg.mask, dist, float('inf')).sort(1)
        d_ap, slot = _by_anchor(pos_anchor, d_pos, num_rows)
        after = torch.searchsorted(ordered, d_ap, right=True)
        after = after[pos_anchor, slot].clamp_(max=num_cols - 1)
        found = ordered[pos_anchor, after] < d_pos + margin
        col = cols[pos_anchor, after]
    hardest = dist.reshape(-1).index_select(0, pos_anchor * num_cols + col)
    return masked_mean(d_pos - hardest + margin, found)


_DENSE = {'all': _dense_all, 'hard': _dense_hard,
          'semihard': _dense_semihard}


def _by_anchor(anchor: Tensor, value: Tensor, num_rows: int
               ) -> Tuple[Tensor, Tensor]:
    r"""``value`` [P] as a matrix [num_rows, K] (K the most entries of an
    anchor), each row sorted ascending and padded with :math:`+\infty`, and
    the column ``slot`` [P] of every entry."""
    order = _sort_by_anchor_and_value(anchor, value, num_rows)
    rank = torch.empty_like(order).scatter_(
        0, order, torch.arange(order.numel(), device=order.device))
    count = segment_count(anchor, num_rows)
    slot = rank - (torch.cumsum(count, 0) - count)[anchor]
    width = int(count.max()) if num_rows > 0 else 0  # a host synchronisation
    out = value.new_full((num_rows, width), float('inf'))
    out[anchor, slot] = value
    return out, slot


def _ordered_bits(value: Tensor) -> Tensor:
    r"""Integers in the order of the floats ``value`` (float32 → int32,
    float64 → int64): integer sorts are radix sorts, several times faster
    than float sorts."""
    bits = (value + 0.0).view(torch.int32 if value.element_size() == 4
                              else torch.int64)  # + 0.0: -0.0 → 0.0
    width = 8 * value.element_size()
    return bits ^ ((bits >> (width - 1)) & ((1 << (width - 1)) - 1))


def _sort_by_anchor_and_value(anchor: Tensor, value: Tensor,
                              num_samples: int) -> Tensor:
    r"""The stable permutation sorting entries by (anchor, value)."""
    key = _ordered_bits(value)
    if value.element_size() == 4 and radix_sortable(anchor, num_samples):
        # least significant digit first: two 16-bit passes over the value,
        # one over the anchor, each a stable radix sort
        bits = key.numpy().view(np.uint32) ^ np.uint32(1 << 31)
        order = np.argsort((bits & 0xFFFF).astype(np.uint16), kind='stable')
        high = (bits >> 16).astype(np.uint16)[order]
        order = order[np.argsort(high, kind='stable')]
        rows = anchor.numpy().astype(np.uint16)[order]
        order = order[np.argsort(rows, kind='stable')]
        return torch.from_numpy(order).long()
    if value.element_size() == 4 and num_samples < 2**31:
        # one 64-bit key: anchor in the high, the value in the low half
        key = anchor * (1 << 32) + (key.long() + (1 << 31))
        return torch.sort(key, stable=True)[1]
    order = torch.sort(key, stable=True)[1]
    key = anchor[order]
    if num_samples < 2**31:
        key = key.int()
    return order[torch.sort(key, stable=True)[1]]


def _merge_by_anchor(anchor_a: Tensor, value_a: Tensor, anchor_b: Tensor,
                     value_b: Tensor, num_samples: int
                     ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Sorts the entries of two pair lists together by (anchor, value), ties
    placing list ``a`` first.

    Returns:
        ``(is_b, rank, order, first)``: ``is_b`` [A + B] (long) marks entries
        of ``b`` in sorted order; ``rank`` [A + B] the sorted position of
        entry ``k`` of ``cat([a, b])`` and ``order`` its inverse; ``first``
        [num_samples] the sorted position where each anchor's run starts.
    """
    value = torch.cat([value_a, value_b])
    anchor = torch.cat([anchor_a, anchor_b])
    order = _sort_by_anchor_and_value(anchor, value, num_samples)
    rank = torch.empty_like(order).scatter_(
        0, order, torch.arange(order.numel(), device=order.device))
    is_b = (order >= anchor_a.numel()).long()
    count = segment_count(anchor, num_samples)
    first = torch.cumsum(count, 0) - count
    return is_b, rank, order, first


@register_loss('triplet_margin')
class TripletMarginLoss(nn.Module):
    r"""The triplet margin loss from the `"FaceNet: A Unified Embedding for
    Face Recognition and Clustering" <https://arxiv.org/abs/1503.03832>`_
    paper (Schroff et al., 2015), with the Euclidean (not squared) distance
    :math:`d_{ij} = \lVert z_i - z_j \rVert_2`. A triplet :math:`(a, p, n)`
    joins a positive pair :math:`(a, p) \in \mathcal{P}` and a negative pair
    :math:`(a, n) \in \mathcal{Q}` of the same anchor :math:`a`:

    .. math::
        \ell(a, p, n) = [d_{ap} - d_{an} + m]_+ .

    ``mining`` chooses the triplets (:math:`\mathcal{N}(a)`: the negatives of
    :math:`a`, duplicates counted as often as they occur):

    - ``'all'``: the mean of :math:`\ell` over all
      :math:`\sum_{(a, p)} |\mathcal{N}(a)|` triplets.
    - ``'hard'``: per positive pair, the hardest negative
      :math:`n^* = \arg\min_{n \in \mathcal{N}(a)} d_{an}`; the mean of
      :math:`\ell(a, p, n^*)` over positive pairs whose anchor has at least
      one negative.
    - ``'semihard'`` (FaceNet's definition, strict on both sides): per
      positive pair, the hardest semi-hard negative, i.e. the smallest
      :math:`d_{an}` with :math:`d_{ap} < d_{an} < d_{ap} + m`; the mean of
      :math:`\ell = d_{ap} - d_{an} + m \in (0, m)` over positive pairs that
      have such a negative. Positive pairs without one are skipped.

    A loss without any term is 0 (still connected to the embeddings).
    Matches :class:`pytorch_metric_learning.losses.TripletMarginLoss` (with
    ``LpDistance(normalize_embeddings=False)`` and ``MeanReducer``) given the
    same triplets as ``indices_tuple``; PML mines triplets from labels and by
    default normalises embeddings and averages only non-zero terms.

    Args:
        margin (float, optional): Margin :math:`m > 0`. (default: :obj:`0.1`)
        mining (str, optional): ``'all'``, ``'hard'`` or ``'semihard'``.
            (default: :obj:`'all'`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)` (row 0 the anchor)
          or :class:`~pyg_sip.losses.InBatchNegatives`
        - **output:** scalar (float32 for float16/bfloat16 input)

    Note:
        No triplet is built: every variant costs one sort of the
        :math:`P + Q` pair scores by (anchor, score) (``'hard'`` a segment
        minimum), i.e. :math:`O((P + Q) \log(P + Q))` time and
        :math:`O(P + Q)` memory, with no data-dependent shape (no host
        synchronisation), however many triplets :math:`T` the pairs form.
    """
    def __init__(self, margin: float = 0.1, mining: str = 'all'):
        super().__init__()
        if mining not in MINING:
            raise PygSipError(f"'mining' must be one of {', '.join(MINING)} "
                              f"(got {mining!r})")
        check_positive('margin', margin)
        self.margin = float(margin)
        self.mining = mining

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: Tensor,
                validate: Optional[bool] = None) -> Tensor:
        return triplet_margin(z, pos_index, neg_index, self.margin,
                              self.mining, validate)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, mining='{self.mining}'"
