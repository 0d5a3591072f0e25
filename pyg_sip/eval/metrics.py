r"""Rank-based metrics in plain PyTorch: AUROC (Mann-Whitney) and Spearman's
:math:`\rho`, plus the per-task metric sets shared by the probes and
fine-tuning."""
import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import scatter

from pyg_sip.errors import PygSipError

TASKS = ('multiclass', 'multilabel', 'regression')


def average_ranks(x: Tensor) -> Tensor:
    r"""Ranks the entries of every column of :obj:`x` (1-based, ascending),
    giving tied entries the mean of the ranks they span (``scipy.stats.rankdata``
    with ``method='average'``).

    Args:
        x (torch.Tensor): Values of shape :math:`[N]` or :math:`[N, C]`.

    Shapes:
        - **input:** :math:`[N]` or :math:`[N, C]`
        - **output:** same shape, :obj:`torch.float64`
    """
    squeeze = x.dim() == 1
    x = x.view(-1, 1) if squeeze else x
    n, c = x.shape
    vals, order = x.sort(dim=0)
    flat = vals.t().reshape(-1)  # column-major: column j is flat[j*n:(j+1)*n]
    starts = torch.ones_like(flat, dtype=torch.bool)
    starts[1:] = flat[1:] != flat[:-1]
    starts[::n] = True  # a tie never spans two columns
    group = starts.cumsum(0) - 1
    pos = torch.arange(1, n + 1, dtype=torch.float64, device=x.device).repeat(c)
    avg = scatter(pos, group, 0, dim_size=int(group[-1]) + 1, reduce='mean')[group]
    ranks = torch.empty(c, n, dtype=torch.float64, device=x.device)
    ranks.scatter_(1, order.t(), avg.view(c, n))
    ranks = ranks.t()
    return ranks.reshape(-1) if squeeze else ranks


def auroc_per_column(scores: Tensor, target: Tensor,
                     mask: Optional[Tensor] = None) -> Tensor:
    r"""Area under the ROC curve of every column, computed as the normalised
    Mann-Whitney :math:`U` statistic with average ranks for ties:

    .. math::
        \mathrm{AUROC} = \frac{\sum_{i \in \mathcal{P}} r_i - |\mathcal{P}|
        (|\mathcal{P}| + 1) / 2}{|\mathcal{P}| \, |\mathcal{N}|},

    where :math:`r_i` is the rank of score :math:`i` among the observed
    entries of its column, :math:`\mathcal{P}` the positives and
    :math:`\mathcal{N}` the negatives. A tied positive/negative pair counts
    :math:`1/2`, as in ``sklearn.metrics.roc_auc_score``. Columns without a
    positive or without a negative give NaN.

    Args:
        scores (torch.Tensor): Finite scores, :math:`[N, C]`.
        target (torch.Tensor): Binary targets (nonzero = positive), :math:`[N, C]`.
        mask (torch.Tensor, optional): Boolean :math:`[N, C]`, :obj:`False`
            marks a missing entry that is ignored. (default: :obj:`None`)

    Shapes:
        - **output:** :math:`[C]`, :obj:`torch.float64`
    """
    scores = scores.double()
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    # Missing entries are ranked above every finite score, so the ranks of the
    # observed entries are their ranks among the observed entries only.
    ranks = average_ranks(scores.masked_fill(~mask, math.inf))
    pos = (target != 0) & mask
    n_pos = pos.sum(0).double()
    n_neg = mask.sum(0).double() - n_pos
    rank_sum = (ranks * pos).sum(0)
    auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return auc.masked_fill((n_pos == 0) | (n_neg == 0), math.nan)


def auroc(scores: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> float:
    r"""AUROC of binary scores :math:`[N]`, or the macro average over the
    columns of :math:`[N, C]` scores that hold both classes (one-vs-rest for
    class probabilities, per task for multi-label targets). NaN when no
    column holds both classes. See :func:`auroc_per_column` for the formula.

    Args:
        scores (torch.Tensor): Finite scores, :math:`[N]` or :math:`[N, C]`.
        target (torch.Tensor): Binary targets, same shape.
        mask (torch.Tensor, optional): Boolean, :obj:`False` = missing.
            (default: :obj:`None`)
    """
    if scores.shape != target.shape:
        raise PygSipError(f'scores shape {list(scores.shape)} does not match target '
                          f'shape {list(target.shape)}')
    if scores.dim() == 1:
        scores, target = scores.view(-1, 1), target.view(-1, 1)
        mask = None if mask is None else mask.view(-1, 1)
    per_col = auroc_per_column(scores, target, mask)
    defined = ~torch.isnan(per_col)
    return float(per_col[defined].mean()) if bool(defined.any()) else math.nan


def class_auroc(prob: Tensor, y: Tensor) -> float:
    r"""One-vs-rest AUROC of class scores :math:`[N, C]` against labels
    :math:`[N]`: the plain AUROC of class 1 when :math:`C = 2`, else the
    macro average over the classes present in :obj:`y` (and not covering all
    of it)."""
    if prob.size(1) == 2:
        return auroc(prob[:, 1], (y == 1).long())
    return auroc(prob, F.one_hot(y, prob.size(1)))


def spearman(pred: Tensor, target: Tensor) -> float:
    r"""Spearman's :math:`\rho`: the Pearson correlation of the average ranks,
    averaged over the columns of :math:`[N, T]` inputs. NaN for a constant
    column."""
    pred = pred.view(pred.size(0), -1)
    target = target.view(target.size(0), -1)
    rp = average_ranks(pred)
    rt = average_ranks(target)
    rp = rp - rp.mean(0)
    rt = rt - rt.mean(0)
    rho = (rp * rt).sum(0) / (rp.norm(dim=0) * rt.norm(dim=0))
    return float(rho.mean())


def task_metrics(task: str, out: Tensor, y: Tensor) -> Dict[str, float]:
    r"""The metric set of a task, from model outputs :obj:`out`.

    * ``'multiclass'`` (:obj:`out` = logits :math:`[n, C]`, :obj:`y` long
      :math:`[n]`): ``accuracy`` of the arg-max and ``auroc``
      (:func:`class_auroc` of the softmax).
    * ``'multilabel'`` (:obj:`out` = logits :math:`[n, C]`, :obj:`y` float
      :math:`[n, C]` with NaN = missing): ``auroc`` (macro over the tasks that
      hold both classes, missing entries ignored) and ``accuracy`` of
      :math:`\mathrm{logit} > 0` over the observed entries.
    * ``'regression'`` (:obj:`out` and :obj:`y` :math:`[n]` or :math:`[n, T]`):
      ``rmse`` and ``mae`` over all entries, ``spearman`` averaged over targets.
    """
    if task == 'multiclass':
        acc = float((out.argmax(dim=1) == y).double().mean())
        return {'accuracy': acc, 'auroc': class_auroc(out.double().softmax(dim=1), y)}
    if task == 'multilabel':
        mask = ~torch.isnan(y)
        target = torch.nan_to_num(y) > 0.5
        acc = float(((out > 0) == target)[mask].double().mean())
        return {'accuracy': acc, 'auroc': auroc(out, target.long(), mask)}
    out = out.view_as(y).double()
    err = out - y.double()
    return {'rmse': float(err.pow(2).mean().sqrt()), 'mae': float(err.abs().mean()),
            'spearman': spearman(out, y.double())}


def selection_metric(task: str) -> str:
    """The validation metric that selects models for a task (higher is
    better except for ``'rmse'``)."""
    return {'multiclass': 'accuracy', 'multilabel': 'auroc', 'regression': 'rmse'}[task]


def is_better(new: float, old: float, sign: float) -> bool:
    """Whether validation value :obj:`new` beats :obj:`old` (:obj:`sign`
    :math:`= -1` when lower is better); NaN never wins."""
    if math.isnan(new):
        return False
    return math.isnan(old) or sign * new > sign * old
