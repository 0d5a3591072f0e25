"""Margin contrastive loss (Hadsell et al., 2006) over pair lists."""
from typing import Optional

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from pyg_sip.losses._dense import _distance_backward, _distances
from pyg_sip.losses._pairs import check_inputs, nan_unless_finite, pair_scores, upcast
from pyg_sip.losses.negatives import DenseNegatives, NegIndex, resolve
from pyg_sip.losses.registry import register_loss

# Explicit negatives covering less than PAIR_LIST_COST times DENSE_DENSITY
# (half) of all N x N row pairs: the loss is taken on the pair scores (read
# off one dense product where they are dense enough, see pair_scores);
# denser ones weight the whole distance matrix.
PAIR_LIST_COST = 4.0


def margin_contrastive(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                       pos_margin: float = 0.0, neg_margin: float = 1.0,
                       validate: Optional[bool] = None) -> Tensor:
    r"""Margin contrastive loss on Euclidean distances: the mean over all
    pairs of :math:`[d_{ij} - m^+]_+` (positive) and :math:`[m^- - d_{ij}]_+`
    (negative), see :class:`MarginContrastiveLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor or InBatchNegatives): Negative pairs
            [2, Q], likewise, or every other sample of the batch
            (:class:`~pyg_sip.losses.InBatchNegatives`, or :obj:`None`).
        pos_margin (float, optional): :math:`m^+`. (default: :obj:`0.0`)
        neg_margin (float, optional): :math:`m^-`. (default: :obj:`1.0`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_inputs(z, pos_index, neg_index, validate)
    x = upcast(z)
    neg = resolve(z, pos_index, neg_index, x.dtype, cost=PAIR_LIST_COST)
    if isinstance(neg, DenseNegatives):
        with torch.autocast(x.device.type, enabled=False):
            loss = _DenseContrastive.apply(x, pos_index, neg.weight,
                                           neg.total(), pos_margin,
                                           neg_margin)
        return nan_unless_finite(loss, x)
    # explicit pairs (scored from one dense matrix where they are dense
    # enough, see pair_scores), the loss on the pairs
    d_pos, d_neg = pair_scores(x, pos_index, neg, 'dist')
    total = ((d_pos - pos_margin).relu().sum() +
             (neg_margin - d_neg).relu().sum())
    loss = total / max(1, d_pos.numel() + d_neg.numel())
    return nan_unless_finite(loss, d_pos, d_neg)


class _DenseContrastive(torch.autograd.Function):
    r""":func:`margin_contrastive` on the distance matrix of all (anchor,
    sample) pairs (:func:`~pyg_sip.losses._dense.dense_scores`' distances),
    with a hand-written backward pass: the gradient with respect to every
    distance is :math:`-W_{aj}` (active negatives) or :math:`+1` (active
    positives) over the number of pairs, and flows back through two matrix
    products. Every pass over the [A, N] matrices is a float operation
    (multiplied by :math:`W`, no boolean mask)."""
    @staticmethod
    def forward(ctx, x: Tensor, pos_index: Tensor, weight: Tensor,
                num_neg: Tensor, pos_margin: float,
                neg_margin: float) -> Tensor:
        num_rows = weight.size(0)
        dist, near = _distances(x[:num_rows], x, prefix=True)
        flat_pos = pos_index[0] * dist.size(1) + pos_index[1]
        gap_pos = dist.view(-1).index_select(0, flat_pos).sub_(pos_margin)
        # the active negative terms [m - d]_+ W
        hinge = torch.sub(neg_margin, dist).clamp_min_(0.0).mul_(weight)
        count = (num_neg + flat_pos.numel()).clamp_min(1).to(x.dtype)
        loss = (gap_pos.clamp_min(0.0).sum() + hinge.sum()) / count
        ctx.save_for_backward(x, dist, near, flat_pos, gap_pos > 0, hinge,
                              weight, count)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        (x, dist, near, flat_pos, active_pos, hinge, weight,
         count) = ctx.saved_tensors
        step = grad / count
        # -W where the hinge is active
        g = torch.sign(hinge).mul_(weight).mul_(-step)
        g.view(-1).index_add_(0, flat_pos, active_pos.to(g.dtype) * step)
        num_rows = dist.size(0)
        grad_x = torch.zeros_like(x)
        grad_a = grad_x if num_rows == x.size(0) else grad_x[:num_rows]
        _distance_backward(g, x[:num_rows], x, dist, near, grad_a, grad_x,
                           prefix=True)
        return grad_x, None, None, None, None, None


@register_loss('margin_contrastive')
class MarginContrastiveLoss(nn.Module):
    r"""The margin contrastive loss from the `"Dimensionality Reduction by
    Learning an Invariant Mapping" <https://doi.org/10.1109/CVPR.2006.100>`_
    paper (Hadsell et al., 2006), with the Euclidean (not squared) distance
    :math:`d_{ij} = \lVert z_i - z_j \rVert_2`: positive pairs are pulled
    within ``pos_margin``, negative pairs pushed beyond ``neg_margin``,

    .. math::
        \mathcal{L} = \frac{1}{|\mathcal{P}| + |\mathcal{Q}|} \Big(
        \sum_{(i, j) \in \mathcal{P}} [d_{ij} - m^+]_+ +
        \sum_{(i, j) \in \mathcal{Q}} [m^- - d_{ij}]_+ \Big),

    the mean over all given pairs (duplicates count as often as they occur).
    The gradient at :math:`d_{ij} = 0` (identical embeddings, a pair
    :math:`(i, i)`) is the subgradient 0.

    Compared with :class:`pytorch_metric_learning.losses.ContrastiveLoss`,
    which by default L2-normalises embeddings (``LpDistance``) and averages
    the non-zero terms of each pair type separately, this equals
    :math:`(P \bar\ell^+ + Q \bar\ell^-) / (P + Q)` of its
    ``MeanReducer`` parts :math:`\bar\ell^\pm` on unnormalised embeddings.

    Args:
        pos_margin (float, optional): Margin :math:`m^+` below which positive
            pairs cost nothing. (default: :obj:`0.0`)
        neg_margin (float, optional): Margin :math:`m^-` beyond which negative
            pairs cost nothing. (default: :obj:`1.0`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)` (row 0 the anchor,
          local row indices into the embeddings)
          or :class:`~pyg_sip.losses.InBatchNegatives`
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, pos_margin: float = 0.0, neg_margin: float = 1.0):
        super().__init__()
        self.pos_margin = float(pos_margin)
        self.neg_margin = float(neg_margin)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                validate: Optional[bool] = None) -> Tensor:
        return margin_contrastive(z, pos_index, neg_index, self.pos_margin,
                                  self.neg_margin, validate)

    def extra_repr(self) -> str:
        return f'pos_margin={self.pos_margin}, neg_margin={self.neg_margin}'
