"""Multi-similarity loss (Wang et al., 2019) over pair lists."""
from typing import Optional

import torch
from torch import Tensor, nn

from pyg_sip.losses._dense import dense_scores, gather_pairs, row_logsumexp
from pyg_sip.losses._pairs import check_inputs, cosine, masked_mean, nan_unless_finite, pair_scores
from pyg_sip.losses._segment import segment_count, segment_logsumexp, segment_max, segment_min
from pyg_sip.losses.negatives import DenseNegatives, NegIndex, resolve
from pyg_sip.losses.registry import register_loss
from pyg_sip.utils.checks import check_positive


def multi_similarity(z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                     alpha: float = 2.0, beta: float = 50.0,
                     base: float = 0.5, epsilon: float = 0.1,
                     validate: Optional[bool] = None) -> Tensor:
    r"""Multi-similarity loss with its pair mining on cosine similarities,
    averaged over anchors with a positive and a negative, see
    :class:`MultiSimilarityLoss`.

    Args:
        z (torch.Tensor): Embeddings [N, d].
        pos_index (torch.Tensor): Positive pairs [2, P] (long; row 0 the
            anchor, local row indices into ``z``).
        neg_index (torch.Tensor or InBatchNegatives): Negative pairs
            [2, Q], likewise, or every other sample of the batch
            (:class:`~pyg_sip.losses.InBatchNegatives`, or :obj:`None`).
        alpha (float, optional): :math:`\alpha`. (default: :obj:`2.0`)
        beta (float, optional): :math:`\beta`. (default: :obj:`50.0`)
        base (float, optional): :math:`b`. (default: :obj:`0.5`)
        epsilon (float, optional): :math:`\epsilon`. (default: :obj:`0.1`)
        validate (bool, optional): Check that every index lies in
            :math:`[0, N)` (reads the indices: a host synchronisation on
            GPUs). :obj:`None` checks indices on the CPU only.
            (default: :obj:`None`)
    """
    check_positive('alpha', alpha)
    check_positive('beta', beta)
    check_inputs(z, pos_index, neg_index, validate)
    x = cosine(z)
    neg = resolve(z, pos_index, neg_index, x.dtype, cost=2.0)
    if isinstance(neg, DenseNegatives):
        return _dense(x, pos_index, neg, alpha, beta, base, epsilon)
    num_samples = z.size(0)
    pos_anchor, neg_anchor = pos_index[0], neg[0]
    s_pos, s_neg = pair_scores(x, pos_index, neg)

    # Pair mining is a selection, not differentiated.
    sim_pos, sim_neg = s_pos.detach(), s_neg.detach()
    hardest_neg = segment_max(sim_neg, neg_anchor, num_samples)
    hardest_pos = segment_min(sim_pos, pos_anchor, num_samples)
    keep_pos = sim_pos - epsilon < hardest_neg[pos_anchor]
    keep_neg = sim_neg + epsilon > hardest_pos[neg_anchor]
    valid = ((segment_count(pos_anchor, num_samples) > 0) &
             (segment_count(neg_anchor, num_samples) > 0))

    masked = float('-inf')
    x_pos = torch.where(keep_pos, -alpha * (s_pos - base), masked)
    x_neg = torch.where(keep_neg, beta * (s_neg - base), masked)
    loss = (segment_logsumexp(x_pos, pos_anchor, num_samples, True) / alpha +
            segment_logsumexp(x_neg, neg_anchor, num_samples, True) / beta)
    return nan_unless_finite(masked_mean(loss, valid), s_pos, s_neg)


def _dense(x: Tensor, pos_index: Tensor, neg: DenseNegatives, alpha: float,
           beta: float, base: float, epsilon: float) -> Tensor:
    r""":func:`multi_similarity` on the score matrix of all (anchor,
    sample) pairs, negatives weighted by :math:`W`."""
    num_rows, pos_anchor = neg.num_rows, pos_index[0]
    sim = dense_scores(x, num_rows, 'dot')
    s_pos = gather_pairs(sim, pos_index)
    is_neg = neg.mask
    with torch.no_grad():
        hardest_neg = torch.where(is_neg, sim, float('-inf')).amax(1)
        hardest_pos = segment_min(s_pos, pos_anchor, num_rows)
        keep_pos = s_pos - epsilon < hardest_neg[pos_anchor]
        keep_neg = (sim + epsilon > hardest_pos.unsqueeze(1)) & is_neg
        valid = (segment_count(pos_anchor, num_rows) > 0) & is_neg.any(1)
    x_pos = torch.where(keep_pos, -alpha * (s_pos - base), float('-inf'))
    x_neg = torch.where(keep_neg, beta * (sim - base) + neg.log_weight(),
                        float('-inf'))
    loss = (segment_logsumexp(x_pos, pos_anchor, num_rows, True) / alpha +
            row_logsumexp(x_neg, add_one=True) / beta)
    return nan_unless_finite(masked_mean(loss, valid), x)


@register_loss('multi_similarity')
class MultiSimilarityLoss(nn.Module):
    r"""The multi-similarity loss from the `"Multi-Similarity Loss with
    General Pair Weighting for Deep Metric Learning"
    <https://arxiv.org/abs/1904.06627>`_ paper (Wang et al., 2019), on
    cosine similarities :math:`S_{ij}`, with its pair mining.

    For an anchor :math:`a` with positives :math:`\mathcal{P}_a` and
    negatives :math:`\mathcal{N}_a` (both non-empty), the kept pairs are

    .. math::
        \tilde{\mathcal{P}}_a = \{p \in \mathcal{P}_a : S_{ap} - \epsilon
        < \max_{n \in \mathcal{N}_a} S_{an}\}, \qquad
        \tilde{\mathcal{N}}_a = \{n \in \mathcal{N}_a : S_{an} + \epsilon
        > \min_{p \in \mathcal{P}_a} S_{ap}\},

    and

    .. math::
        \mathcal{L}_a = \frac{1}{\alpha} \log \Big(1 +
        \sum_{p \in \tilde{\mathcal{P}}_a} e^{-\alpha (S_{ap} - b)}
        \Big) + \frac{1}{\beta} \log \Big(1 +
        \sum_{n \in \tilde{\mathcal{N}}_a} e^{\beta (S_{an} - b)}
        \Big),

    with :math:`b` = ``base``. The loss is the mean of
    :math:`\mathcal{L}_a` over anchors with at least one positive and one
    negative (an empty kept set adds :math:`\log 1 = 0`); duplicate pairs
    count as often as they occur. Each :math:`\log(1 + \sum e^x)` is a
    stable segment log-sum-exp over :math:`\{0\} \cup \{x\}`.

    Matches :class:`pytorch_metric_learning.losses.MultiSimilarityLoss` with
    ``MeanReducer`` fed the pairs of
    :class:`~pytorch_metric_learning.miners.MultiSimilarityMiner` (``epsilon``)
    when the pairs are all same-label (positive) and all different-label
    (negative) pairs of a labelled batch in which every sample has both; PML
    averages over all batch rows and uses each pair once.

    Args:
        alpha (float, optional): Positive scale :math:`\alpha`.
            (default: :obj:`2.0`)
        beta (float, optional): Negative scale :math:`\beta`.
            (default: :obj:`50.0`)
        base (float, optional): Similarity offset :math:`b`.
            (default: :obj:`0.5`)
        epsilon (float, optional): Mining margin :math:`\epsilon`; a large
            value keeps every pair. (default: :obj:`0.1`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)` (row 0 the anchor)
          or :class:`~pyg_sip.losses.InBatchNegatives`
        - **output:** scalar (float32 for float16/bfloat16 input)
    """
    def __init__(self, alpha: float = 2.0, beta: float = 50.0,
                 base: float = 0.5, epsilon: float = 0.1):
        super().__init__()
        check_positive('alpha', alpha)
        check_positive('beta', beta)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.base = float(base)
        self.epsilon = float(epsilon)

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: NegIndex,
                validate: Optional[bool] = None) -> Tensor:
        return multi_similarity(z, pos_index, neg_index, self.alpha,
                                self.beta, self.base, self.epsilon, validate)

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, beta={self.beta}, base={self.base}, '
                f'epsilon={self.epsilon}')
