"""InfoNCE / NT-Xent loss over pair lists."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from pyg_sip.losses._dense import _symmetric
from pyg_sip.losses._pairs import (
    check_inputs,
    cosine,
    masked_mean,
    nan_unless_finite,
    pair_scores,
    upcast,
)
from pyg_sip.losses._segment import segment_logsumexp
from pyg_sip.losses.negatives import DenseNegatives, NegIndex, dense_path, resolve
from pyg_sip.losses.registry import register_loss
from pyg_sip.utils.checks import check_positive


def info_nce(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
             temperature: float = 0.1,
             validate: Optional[bool] = None) -> Tensor:
    r"""InfoNCE loss on cosine similarities over the positive pairs whose
    anchor has a negative, see :class:`InfoNCELoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor or InBatchNegatives): Negative pairs
            [2, Q], likewise, or every other sample of the batch
            (:class:`~pyg_sip.losses.InBatchNegatives`, or :obj:`None`).
        temperature (float, optional): :math:`\tau > 0`.
            (default: :obj:`0.1`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_positive('temperature', temperature)
    check_inputs(z, pos_index, neg_index, validate)
    if not isinstance(neg_index, Tensor) or dense_path(z, neg_index):
        x = upcast(z)
        neg = resolve(z, pos_index, neg_index, x.dtype)
        scale = 1.0 / temperature
        info = torch.finfo(x.dtype)
        # exp(S / tau - 1 / tau) >= exp(-2 / tau) must stay a normal number
        normal = -math.log(info.tiny) - 16.0
        if (scale + math.log(max(2, z.size(0))) + 1.0 < math.log(info.max)
                and scale + 1.0 < -math.log(info.tiny)):
            # e^S, S in [-1/tau, 1/tau]: neither a row sum can overflow nor
            # a term underflow, so no shift is needed.
            shift = 0.0
        else:
            shift = scale if 2 * scale < normal else None
        with torch.autocast(x.device.type, enabled=False):
            return _DenseInfoNCE.apply(x, pos_index, neg, scale, shift)
    x = cosine(z)
    neg = neg_index
    s_pos, s_neg = pair_scores(x, pos_index, neg)
    s_pos, s_neg = s_pos / temperature, s_neg / temperature
    # -inf for anchors without negatives; such positives are left out.
    neg_lse = segment_logsumexp(s_neg, neg[0], z.size(0))[pos_index[0]]
    loss = torch.logaddexp(s_pos, neg_lse) - s_pos
    return nan_unless_finite(masked_mean(loss, torch.isfinite(neg_lse)),
                             s_pos, s_neg)


class _DenseInfoNCE(torch.autograd.Function):
    r""":func:`info_nce` on the logits of all (anchor, sample) pairs, with a
    hand-written backward pass (normalisation included), so that it costs
    what a plain dense implementation costs and no more: one ``mm`` of the
    normalised rows (scaled by :math:`1 / \tau`) gives :math:`S`, whose
    positive entries are read off before one in-place ``exp``, and a row
    sum gives every anchor's log-sum-exp of its negatives.

    With ``shift = 0`` (:math:`e^{\pm 1 / \tau}` and the row sums are safe
    numbers) the entries that are no negatives are zeroed after the
    ``exp`` (:meth:`DenseNegatives.keep_negatives_`: no [A, N] mask or
    log-weight matrix). Otherwise :math:`\log W - c` is added before it,
    with :math:`c` = ``shift`` (:math:`1 / \tau`: cosine logits never
    exceed it) or, for ``shift=None`` (:math:`e^{-2 / \tau}` would
    underflow), each row's maximum. The backward pass folds the positives
    into the same [A, N] gradient matrix: one product of :math:`g + g^T`
    (or two), no row gathered per pair."""
    @staticmethod
    def forward(ctx, z: Tensor, pos_index: Tensor, neg: DenseNegatives,
                scale: float, shift: Optional[float]) -> Tensor:
        num_rows, num_cols = neg.shape
        inv_norm = torch.linalg.vector_norm(z, dim=-1).clamp_min_(
            1e-12).reciprocal_()
        x = z * inv_norm.unsqueeze(1)  # F.normalize
        exp = torch.mm(x[:num_rows] * scale, x.t())
        flat_pos = pos_index[0] * num_cols + pos_index[1]
        s_pos = exp.view(-1).index_select(0, flat_pos)
        if shift == 0.0:
            exp = neg.keep_negatives_(exp.exp_())
        else:
            exp = exp.add_(neg.log_weight(-(shift or 0.0)))
            if shift is None:  # shift by the row maximum of the negatives
                shift = exp.amax(1).clamp_min_(torch.finfo(exp.dtype).min)
                exp = exp.sub_(shift.unsqueeze(1))
            exp = exp.exp_()
        total = exp.sum(1)  # 0 without negatives; NaN for any NaN/inf row
        lse = total.log().add_(shift)  # -inf without negatives
        anchor = pos_index[0]
        count = torch.count_nonzero(total.index_select(0, anchor) > 0)
        count = count.clamp_min_(1).to(x.dtype)
        # -s + log(e^s + e^lse) = softplus(lse - s); 0 for lse = -inf
        gap = lse.index_select(0, anchor).sub_(s_pos)
        loss = F.softplus(gap).sum() / count
        # A NaN/inf embedding reaches every row's sum: never finite.
        loss = torch.where(torch.isnan(total).any(), float('nan'), loss)
        ctx.scale = scale
        ctx.save_for_backward(x, inv_norm, anchor, flat_pos, exp, total, gap,
                              count)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        x, inv_norm, anchor, flat_pos, exp, total, gap, count = \
            ctx.saved_tensors
        num_rows = exp.size(0)
        # d loss / d lse = sigmoid(lse - s) / count = -d loss / d s
        w = torch.sigmoid(gap).mul_(grad / count)
        per_row = w.new_zeros(num_rows).index_add_(0, anchor, w)
        # rows without negatives have w = 0: 0 / tiny stays 0
        per_row.div_(total.clamp_min(torch.finfo(total.dtype).tiny))
        g = exp * per_row.unsqueeze(1)  # the negatives' softmax, weighted
        g.view(-1).index_add_(0, flat_pos, w, alpha=-1.0)  # the positives
        grad_x = _gram_backward(g, x)
        # through x = z / |z| (and S = x x^T / tau): (g - x <x, g>) / |z|
        radial = (grad_x * x).sum(-1, keepdim=True)
        return (grad_x.sub_(x * radial).mul_(inv_norm.unsqueeze(1) *
                                             ctx.scale),
                None, None, None, None)


def _gram_backward(g: Tensor, x: Tensor) -> Tensor:
    r""":math:`g x + g^T x_{:A}` for the gradient :math:`g` [A, N] of
    :math:`x_{:A} x^T`."""
    num_rows = g.size(0)
    if _symmetric(g):  # every row an anchor: one product of g^T + g
        return torch.mm(g.t().contiguous().add_(g), x)
    grad_x = torch.zeros_like(x)
    grad_x[:num_rows].addmm_(g, x)
    grad_x.addmm_(g.t(), x[:num_rows])
    return grad_x


@register_loss('info_nce')
class InfoNCELoss(nn.Module):
    r"""The InfoNCE loss from the `"Representation Learning with
    Contrastive Predictive Coding" <https://arxiv.org/abs/1807.03748>`_ paper
    (van den Oord et al., 2018), in the NT-Xent form of `"A Simple Framework
    for Contrastive Learning of Visual Representations"
    <https://arxiv.org/abs/2002.05709>`_ (Chen et al., 2020): with
    :math:`s_{ij} = \cos(z_i, z_j) / \tau`, every positive pair
    :math:`(a, p)` is classified against the negatives
    :math:`\mathcal{N}_a` of its anchor,

    .. math::
        \ell(a, p) = -s_{ap} + \log \Big( e^{s_{ap}} +
        \sum_{n \in \mathcal{N}_a} e^{s_{an}} \Big),

    and the loss is the mean of :math:`\ell` over the positive pairs whose
    anchor has at least one negative (duplicates count as often as they
    occur).

    Matches :class:`pytorch_metric_learning.losses.NTXentLoss` given the same
    pairs as ``indices_tuple = (a1, p, a2, n)`` when every anchor of a
    positive pair has a negative; PML instead counts positives without
    negatives as 0 in its mean, and mines pairs from labels by default.

    Args:
        temperature (float, optional): Temperature :math:`\tau > 0`.
            (default: :obj:`0.1`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)` (row 0 the anchor)
          or :class:`~pyg_sip.losses.InBatchNegatives`
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, temperature: float = 0.1):
        super().__init__()
        check_positive('temperature', temperature)
        self.temperature = float(temperature)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                validate: Optional[bool] = None) -> Tensor:
        return info_nce(z, pos_index, neg_index, self.temperature, validate)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}'
