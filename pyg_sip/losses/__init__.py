r"""Structure-inducing losses over pair lists.

Every loss is a function of ``(z, pos_index, neg_index, ...)``: embeddings
:math:`z \in \mathbb{R}^{N \times d}` and positive / negative pairs
``[2, P]`` / ``[2, Q]`` of local row indices (row 0 the anchor). Pair scores
are gathered once per pair and reduced per anchor with segment operations
(explicit ``dim_size = N``), so cost and memory are O(P + Q), never
O(N²). Each function has an :class:`torch.nn.Module` twin, available by name
through :func:`get_loss`. Passing
:class:`InBatchNegatives` (or :obj:`None`) as ``neg_index`` takes every other
sample of the batch as negatives without a pair list; such dense negatives,
and explicit pair lists covering an eighth of all row pairs, are computed
from one [A, N] score matrix (a matrix product) instead.
"""
from pyg_sip.losses._segment import segment_logsumexp
from pyg_sip.losses.bilinear import BilinearLinkLoss, bilinear_link
from pyg_sip.losses.contrastive import MarginContrastiveLoss, margin_contrastive
from pyg_sip.losses.info_nce import InfoNCELoss, info_nce
from pyg_sip.losses.multi_similarity import MultiSimilarityLoss, multi_similarity
from pyg_sip.losses.negatives import InBatchNegatives
from pyg_sip.losses.registry import available_losses, get_loss, register_loss
from pyg_sip.losses.triplet import TripletMarginLoss, triplet_margin

__all__ = [
    'margin_contrastive',
    'MarginContrastiveLoss',
    'triplet_margin',
    'TripletMarginLoss',
    'multi_similarity',
    'MultiSimilarityLoss',
    'info_nce',
    'InfoNCELoss',
    'bilinear_link',
    'BilinearLinkLoss',
    'segment_logsumexp',
    'InBatchNegatives',
    'get_loss',
    'register_loss',
    'available_losses',
]
