"""InfoNCE / NT-Xent loss over pair lists."""
from typing import Optional

import torch
from torch import Tensor, nn

from pyg_sip.losses._pairs import (check_inputs, check_positive,
                                   cosine_scores, masked_mean)
from pyg_sip.losses._segment import segment_logsumexp
from pyg_sip.losses.registry import register_loss


def info_nce(z: Tensor, pos_index: Tensor, neg_index: Tensor,
             temperature: float = 0.1,
             validate: Optional[bool] = None) -> Tensor:
    r"""InfoNCE loss on cosine similarities over the positive pairs whose
    anchor has a negative, see :class:`InfoNCELoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor): Negative pairs [2, Q], likewise.
        temperature (float, optional): :math:`\tau > 0`.
            (default: :obj:`0.1`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_positive('temperature', temperature)
    check_inputs(z, pos_index, neg_index, validate)
    s_pos, s_neg = cosine_scores(z, pos_index, neg_index)
    s_pos, s_neg = s_pos / temperature, s_neg / temperature
    # -inf for anchors without negatives; such positives are left out.
    neg_lse = segment_logsumexp(s_neg, neg_index[0], z.size(0))[pos_index[0]]
    loss = torch.logaddexp(s_pos, neg_lse) - s_pos
    return masked_mean(loss, torch.isfinite(neg_lse))


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
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, temperature: float = 0.1):
        super().__init__()
        check_positive('temperature', temperature)
        self.temperature = float(temperature)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: Tensor,
                validate: Optional[bool] = None) -> Tensor:
        return info_nce(z, pos_index, neg_index, self.temperature, validate)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}'
