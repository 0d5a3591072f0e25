r"""Probes of frozen sample embeddings: the leave-one-out distance-weighted
k-NN probe of the SIPT paper, and a logistic-regression (linear) probe."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.eval._checks import check_categorical, check_embeddings, check_targets, infer_task
from pyg_sip.eval.metrics import class_auroc, is_better, selection_metric, task_metrics
from pyg_sip.utils.checks import check_index, check_positive

# Rows x samples per distance block: bounds the memory of the k-NN search.
_BLOCK_ELEMENTS = 1 << 24


def knn_probe(emb: Tensor, y: Tensor, k: int = 3,
              batch_size: Optional[int] = None) -> Dict[str, float]:
    r"""The leave-one-out, distance-weighted :math:`k`-NN probe of the SIPT
    paper (McDermott et al., `"Structure-inducing pre-training"
    <https://arxiv.org/abs/2103.10334>`_).

    Every sample :math:`i` is classified by its :math:`k` nearest *other*
    samples :math:`\mathcal{N}_k(i)` (Euclidean distance :math:`d_{ij}`; the
    sample itself is excluded by index, so exact duplicates still count),
    weighted as in ``sklearn``'s ``weights='distance'``:

    .. math::
        w_{ij} = \begin{cases} 1/d_{ij} & \text{if } d_{ij'} > 0 \;\;
        \forall j' \in \mathcal{N}_k(i) \\ [d_{ij} = 0] & \text{otherwise}
        \end{cases}, \qquad
        p_{ic} = \frac{\sum_{j \in \mathcal{N}_k(i)} w_{ij} [y_j = c]}
        {\sum_{j \in \mathcal{N}_k(i)} w_{ij}}.

    Accuracy is that of :math:`\arg\max_c p_{ic}` (ties to the smaller class
    id); AUROC is one-vs-rest on :math:`p_{ic}`, macro-averaged over the
    classes present (the plain AUROC of class 1 for two classes).

    The search runs over blocks of query rows (:obj:`torch.cdist` +
    :obj:`topk`), so memory is :math:`O(B \cdot N)`, not :math:`O(N^2)`;
    the distances of the selected neighbours are then recomputed exactly.

    Args:
        emb (torch.Tensor): Sample embeddings.
        y (torch.Tensor): Integer class labels.
        k (int, optional): Number of neighbours. (default: :obj:`3`)
        batch_size (int, optional): Query rows per block; by default
            :math:`\max(1, 2^{24} / N)`. (default: :obj:`None`)

    Returns:
        :obj:`{'accuracy': float, 'auroc': float}`

    Shapes:
        - **emb:** :math:`[N, d]`
        - **y:** :math:`[N]`
    """
    emb = check_embeddings(emb)
    num_classes = check_categorical(y, emb.size(0))
    n = emb.size(0)
    if not isinstance(k, int) or not 1 <= k <= n - 1:
        raise PygSipError(f"'k' must be an integer in [1, N - 1] = [1, {n - 1}] (got {k!r})")
    check_positive('batch_size', batch_size, integer=True, optional=True)
    y = y.view(-1).to(emb.device)
    block = batch_size or max(1, _BLOCK_ELEMENTS // n)

    probs = []
    for start in range(0, n, block):
        query = emb[start:start + block]
        rows = torch.arange(query.size(0), device=emb.device)
        dist = torch.cdist(query, emb)
        dist[rows, rows + start] = float('inf')
        nbr = dist.topk(k, dim=1, largest=False).indices
        dist = (query.unsqueeze(1) - emb[nbr]).double().norm(dim=-1)  # exact, [b, k]
        zero = dist == 0
        weight = torch.where(zero.any(dim=1, keepdim=True), zero.double(), 1.0 / dist)
        votes = torch.zeros(query.size(0), num_classes, dtype=torch.float64,
                            device=emb.device).scatter_add_(1, y[nbr], weight)
        probs.append(votes / votes.sum(dim=1, keepdim=True))
    prob = torch.cat(probs, dim=0)
    return {'accuracy': float((prob.argmax(dim=1) == y).double().mean()),
            'auroc': class_auroc(prob, y)}


def _fit_logistic(x: Tensor, y: Tensor, task: str, out_channels: int,
                  weight_decay: float, epochs: int) -> Tensor:
    """Fits ``[W; b]`` of a linear model by full-batch L-BFGS from zero."""
    weight = torch.zeros(x.size(1) + 1, out_channels, dtype=x.dtype, device=x.device,
                         requires_grad=True)
    if task == 'multilabel':
        mask = ~torch.isnan(y)
        target = torch.nan_to_num(y)
    elif task == 'regression':
        target = y.view(y.size(0), -1).to(x.dtype)
    opt = torch.optim.LBFGS([weight], lr=1.0, max_iter=epochs, history_size=20,
                            line_search_fn='strong_wolfe')

    def closure() -> Tensor:
        opt.zero_grad()
        out = x @ weight[:-1] + weight[-1]
        if task == 'multiclass':
            loss = F.cross_entropy(out, y)
        elif task == 'multilabel':
            loss = F.binary_cross_entropy_with_logits(out[mask], target[mask])
        else:
            loss = F.mse_loss(out, target)
        loss = loss + weight_decay * weight[:-1].pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return weight.detach()


def linear_probe(emb: Tensor, y: Tensor, train_idx: Tensor, val_idx: Tensor,
                 test_idx: Tensor,
                 weight_decays: Sequence[float] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1),
                 epochs: int = 100, task: Optional[str] = None) -> Dict[str, float]:
    r"""A linear probe: logistic regression on frozen embeddings, with the
    weight decay chosen on the validation set.

    Features are standardised with the training mean and standard deviation
    (constant features are left centred). For every :math:`\lambda` in
    :obj:`weight_decays`, a linear model :math:`f(x) = W^\top x + b` is
    fitted from zero by full-batch L-BFGS on

    .. math::
        \frac{1}{|\mathcal{T}|} \sum_{i \in \mathcal{T}} \ell(f(x_i), y_i)
        + \lambda \|W\|_F^2,

    with :math:`\ell` the softmax cross-entropy (``'multiclass'``), the
    binary cross-entropy averaged over the observed (non-NaN) entries
    (``'multilabel'``) or the squared error (``'regression'``). The model
    with the best validation metric (accuracy, AUROC, or lowest RMSE; the
    first on ties) is reported on the test set.

    Args:
        emb (torch.Tensor): Sample embeddings.
        y (torch.Tensor): Targets: integer labels (multi-class), 0/1/NaN
            floats (multi-label, NaN = missing) or floats (regression).
        train_idx (torch.Tensor): Training sample ids (or a boolean mask).
        val_idx (torch.Tensor): Validation sample ids (or a boolean mask).
        test_idx (torch.Tensor): Test sample ids (or a boolean mask).
        weight_decays (Sequence[float], optional): The grid of
            :math:`\lambda`. (default: :obj:`(0.0, 1e-4, 1e-3, 1e-2, 1e-1)`)
        epochs (int, optional): Maximum L-BFGS iterations. (default: :obj:`100`)
        task (str, optional): ``'multiclass'``, ``'multilabel'`` or
            ``'regression'``; inferred from :obj:`y` when :obj:`None` (integer
            :math:`\to` multi-class, float :math:`[N, C] \to` multi-label,
            float :math:`[N] \to` regression). (default: :obj:`None`)

    Returns:
        The test metrics of :func:`pyg_sip.eval.metrics.task_metrics`
        (``accuracy`` and ``auroc``, or ``rmse``, ``mae`` and ``spearman``),
        the same metrics on validation prefixed ``val_``, and the chosen
        ``weight_decay``.

    Shapes:
        - **emb:** :math:`[N, d]`
        - **y:** :math:`[N]` or :math:`[N, C]`
    """
    emb = check_embeddings(emb)
    n = emb.size(0)
    train_idx, val_idx, test_idx = (
        check_index(name, i, n, allow_empty=False).to(emb.device)
        for i, name in ((train_idx, 'train_idx'), (val_idx, 'val_idx'), (test_idx, 'test_idx')))
    if not isinstance(y, Tensor):
        raise PygSipError(f"'y' must be a torch.Tensor (got {type(y).__name__})")
    task = infer_task(y, task)
    used = torch.cat([train_idx, val_idx, test_idx])
    y, out_channels = check_targets(y, task, n, used.to(y.device))
    y = y.to(emb.device)
    if len(weight_decays) == 0 or any(float(wd) < 0 for wd in weight_decays):
        raise PygSipError(f"'weight_decays' must be a non-empty list of values >= 0 "
                          f'(got {list(weight_decays)})')
    check_positive('epochs', epochs, integer=True, optional=True)

    x = emb.double() if emb.dtype == torch.float64 else emb.float()
    mean = x[train_idx].mean(dim=0)
    std = x[train_idx].std(dim=0, unbiased=False)
    x = (x - mean) / torch.where(std > 1e-12, std, torch.ones_like(std))
    key = selection_metric(task)
    sign = -1.0 if key == 'rmse' else 1.0

    best = None
    for wd in weight_decays:
        with torch.enable_grad():
            weight = _fit_logistic(x[train_idx], y[train_idx], task, out_channels,
                                   float(wd), epochs)
        out = x @ weight[:-1] + weight[-1]
        val = task_metrics(task, out[val_idx], y[val_idx])
        if best is None or is_better(val[key], best[0][key], sign):
            best = (val, task_metrics(task, out[test_idx], y[test_idx]), float(wd))
    val, test, wd = best
    return {**test, **{f'val_{name}': value for name, value in val.items()},
            'weight_decay': wd}
