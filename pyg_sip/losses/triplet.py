"""Triplet margin loss over pair lists, with all / hard / semi-hard
negatives."""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from pyg_sip.errors import PygSipError
from pyg_sip.losses._pairs import (check_inputs, check_positive, masked_mean,
                                   pair_scores, upcast)
from pyg_sip.losses._segment import segment_count, segment_min, segment_sum
from pyg_sip.losses.registry import register_loss

MINING = ('all', 'hard', 'semihard')


def triplets(pos_anchor: Tensor, neg_anchor: Tensor, num_samples: int
             ) -> Tuple[Tensor, Tensor]:
    r"""Expands every positive pair against the negative pairs of its anchor.

    The negative pairs are sorted by anchor (CSR over anchors); positive
    :math:`k` with anchor :math:`a` is repeated once per negative of
    :math:`a`, so exactly :math:`T = \sum_k |\mathcal{N}(a_k)|` triplets are
    built and nothing of size P × Q.

    Returns:
        ``(pos_id, neg_id)``, each [T]: columns of ``pos_index`` and
        ``neg_index`` forming the triplets, grouped by positive.
    """
    perm = torch.argsort(neg_anchor, stable=True)
    count = segment_count(neg_anchor, num_samples)
    start = count.cumsum(0) - count
    per_pos = count[pos_anchor]
    # Data-dependent output size: the one host synchronisation of the
    # 'all' and 'semihard' variants.
    pos_id = torch.repeat_interleave(per_pos)
    first = per_pos.cumsum(0) - per_pos
    offset = torch.arange(pos_id.numel(), device=pos_id.device) - first[pos_id]
    neg_id = perm[start[pos_anchor][pos_id] + offset]
    return pos_id, neg_id


def triplet_margin(z: Tensor, pos_index: Tensor, neg_index: Tensor,
                   margin: float = 0.1, mining: str = 'all',
                   validate: Optional[bool] = None) -> Tensor:
    r"""Triplet margin loss :math:`[d_{ap} - d_{an} + m]_+` on Euclidean
    distances over the triplets chosen by ``mining``, see
    :class:`TripletMarginLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor): Negative pairs [2, Q], likewise.
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
    num_samples = z.size(0)
    d_pos, d_neg = pair_scores(upcast(z), pos_index, neg_index, 'dist')

    if mining == 'hard':
        hardest = segment_min(d_neg, neg_index[0], num_samples)
        has_neg = segment_count(neg_index[0], num_samples) > 0
        loss = (d_pos - hardest[pos_index[0]] + margin).relu()
        return masked_mean(loss, has_neg[pos_index[0]])

    pos_id, neg_id = triplets(pos_index[0], neg_index[0], num_samples)
    d_ap, d_an = d_pos[pos_id], d_neg[neg_id]
    if mining == 'all':
        loss = (d_ap - d_an + margin).relu().sum()
        return loss / max(1, pos_id.numel())

    with torch.no_grad():
        semihard = (d_an > d_ap) & (d_an < d_ap + margin)
        found = segment_sum(semihard.to(d_an.dtype), pos_id, d_pos.numel()) > 0
    candidate = torch.where(semihard, d_an, float('inf'))
    hardest = segment_min(candidate, pos_id, d_pos.numel())
    return masked_mean(d_pos - hardest + margin, found)


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
        - **output:** scalar (float32 for float16/bfloat16 input)

    Note:
        ``'all'`` and ``'semihard'`` build :math:`T` triplets, a size only
        known from the data (one host synchronisation); ``'hard'`` costs
        O(P + Q) without one.
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
