"""Margin contrastive loss (Hadsell et al., 2006) over pair lists."""
from typing import Optional

from torch import Tensor, nn

from pyg_sip.losses._pairs import check_inputs, pair_scores, upcast
from pyg_sip.losses.registry import register_loss


def margin_contrastive(z: Tensor, pos_index: Tensor, neg_index: Tensor,
                       pos_margin: float = 0.0, neg_margin: float = 1.0,
                       validate: Optional[bool] = None) -> Tensor:
    r"""Margin contrastive loss on Euclidean distances: the mean over all
    pairs of :math:`[d_{ij} - m^+]_+` (positive) and :math:`[m^- - d_{ij}]_+`
    (negative), see :class:`MarginContrastiveLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor): Negative pairs [2, Q], likewise.
        pos_margin (float, optional): :math:`m^+`. (default: :obj:`0.0`)
        neg_margin (float, optional): :math:`m^-`. (default: :obj:`1.0`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_inputs(z, pos_index, neg_index, validate)
    d_pos, d_neg = pair_scores(upcast(z), pos_index, neg_index, 'dist')
    total = ((d_pos - pos_margin).relu().sum() +
             (neg_margin - d_neg).relu().sum())
    return total / max(1, d_pos.numel() + d_neg.numel())


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
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, pos_margin: float = 0.0, neg_margin: float = 1.0):
        super().__init__()
        self.pos_margin = float(pos_margin)
        self.neg_margin = float(neg_margin)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: Tensor,
                validate: Optional[bool] = None) -> Tensor:
        return margin_contrastive(z, pos_index, neg_index, self.pos_margin,
                                  self.neg_margin, validate)

    def extra_repr(self) -> str:
        return f'pos_margin={self.pos_margin}, neg_margin={self.neg_margin}'
