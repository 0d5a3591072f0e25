"""Bilinear logistic link loss over pair lists."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyg_sip.errors import PygSipError
from pyg_sip.losses._dense import dense_scores, gather_pairs
from pyg_sip.losses._pairs import check_inputs, nan_unless_finite, pair_scores, upcast
from pyg_sip.losses.negatives import DenseNegatives, NegIndex, resolve
from pyg_sip.losses.registry import register_loss


def bilinear_link(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                  weight: Tensor, bias: Optional[Tensor] = None,
                  validate: Optional[bool] = None) -> Tensor:
    r"""Bilinear logistic link loss: binary cross-entropy of
    :math:`z_i^{\top} \mathbf{W} z_j + b` (positives 1, negatives 0)
    averaged over all pairs, see :class:`BilinearLinkLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor or InBatchNegatives): Negative pairs
            [2, Q], likewise, or every other sample of the batch
            (:class:`~pyg_sip.losses.InBatchNegatives`, or :obj:`None`).
        weight (torch.Tensor): :math:`\mathbf{W}` [d, d].
        bias (torch.Tensor, optional): :math:`b`, one element.
            (default: :obj:`None`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_inputs(z, pos_index, neg_index, validate)
    dim = z.size(1)
    if weight.shape != (dim, dim):
        raise PygSipError(f"'weight' must have shape [{dim}, {dim}] for "
                          f"embeddings of size {dim} "
                          f"(got {tuple(weight.shape)})")
    x = upcast(z)
    # z_i^T W z_j = <(z W)_i, z_j>: one [N, d] x [d, d] product, then a dot
    # product per pair.
    with torch.autocast(x.device.type, enabled=False):  # stay >= float32
        xw = x @ weight.to(x.dtype)
    neg = resolve(z, pos_index, neg_index, x.dtype)
    if bias is not None:
        bias = bias.to(x.dtype).reshape(())
    if isinstance(neg, DenseNegatives):
        logits = dense_scores(xw, neg.num_rows, 'dot', x_dst=x)
        if bias is not None:
            logits = logits + bias
        logit_pos = gather_pairs(logits, pos_index)
        # BCE with logits: label 1 costs softplus(-l), label 0 softplus(l).
        total = (F.softplus(-logit_pos).sum() +
                 neg.weighted_sum(F.softplus(logits)))
        count = neg.total() + logit_pos.numel()
        return nan_unless_finite(total / count.clamp_min(1.0), xw, x)
    logit_pos, logit_neg = pair_scores(xw, pos_index, neg, 'dot', x_dst=x)
    if bias is not None:
        logit_pos, logit_neg = logit_pos + bias, logit_neg + bias
    total = F.softplus(-logit_pos).sum() + F.softplus(logit_neg).sum()
    loss = total / max(1, logit_pos.numel() + logit_neg.numel())
    return nan_unless_finite(loss, logit_pos, logit_neg)


@register_loss('bilinear')
class BilinearLinkLoss(nn.Module):
    r"""A bilinear logistic link classifier as structure loss, the
    ``nn.Bilinear`` link head of SIPT (McDermott et al., `"Structure-inducing
    pre-training" <https://arxiv.org/abs/2103.10334>`_, 2023): pairs are
    scored by

    .. math::
        \ell_{ij} = z_i^{\top} \mathbf{W} z_j + b,

    positive pairs labelled 1 and negative pairs 0, and the loss is the
    binary cross-entropy averaged over all given pairs,

    .. math::
        \mathcal{L} = \frac{1}{|\mathcal{P}| + |\mathcal{Q}|} \Big(
        \sum_{(i, j) \in \mathcal{P}} \log(1 + e^{-\ell_{ij}}) +
        \sum_{(i, j) \in \mathcal{Q}} \log(1 + e^{\ell_{ij}}) \Big).

    :math:`\mathbf{W}` and :math:`b` are initialised like
    :class:`torch.nn.Bilinear`, uniformly in :math:`\pm 1/\sqrt{d}`.

    Args:
        dim (int): Embedding size :math:`d`.
        bias (bool, optional): Learn the offset :math:`b`.
            (default: :obj:`True`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)`
          or :class:`~pyg_sip.losses.InBatchNegatives`
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, dim: int, bias: bool = True):
        super().__init__()
        if not isinstance(dim, int) or dim < 1:
            raise PygSipError(f"'dim' must be a positive int (got {dim!r})")
        self.dim = dim
        self.weight = nn.Parameter(torch.empty(dim, dim))
        if bias:
            self.bias = nn.Parameter(torch.empty(1))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.dim)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                validate: Optional[bool] = None) -> Tensor:
        return bilinear_link(z, pos_index, neg_index, self.weight, self.bias,
                             validate)

    def extra_repr(self) -> str:
        return f'{self.dim}, bias={self.bias is not None}'
