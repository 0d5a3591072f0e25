r"""Full fine-tuning of a (pre-)trained encoder with a linear head, with the
epoch selected on validation."""
import copy
from typing import Any, Dict, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from pyg_sip.errors import PygSipError
from pyg_sip.eval._checks import check_targets
from pyg_sip.eval.embed import encode_ids, iter_batches, module_device
from pyg_sip.eval.metrics import TASKS, is_better, selection_metric, task_metrics
from pyg_sip.utils.checks import check_choice, check_index, check_positive


def _loss(task: str, out: Tensor, y: Tensor) -> Optional[Tensor]:
    """The training loss of a batch (:obj:`None` if it holds no label)."""
    if task == 'multiclass':
        return F.cross_entropy(out, y)
    if task == 'multilabel':
        mask = ~torch.isnan(y)
        if not bool(mask.any()):
            return None
        return F.binary_cross_entropy_with_logits(out[mask], y[mask])
    return F.mse_loss(out, y.view_as(out))


def finetune(encoder: torch.nn.Module, graph: Any, train_idx: Tensor, val_idx: Tensor,
             test_idx: Tensor, task: str = 'multiclass', y: Optional[Tensor] = None,
             epochs: int = 10, lr: float = 1e-4, weight_decay: float = 0.0,
             batch_size: int = 32, eval_batch_size: int = 256, seed: int = 0,
             device: Optional[Union[str, torch.device]] = None,
             max_grad_norm: Optional[float] = None, num_hops: Optional[int] = None,
             max_length: Optional[int] = None, progress: bool = True) -> Dict[str, float]:
    r"""Fine-tunes a copy of :obj:`encoder` (the caller's encoder is left
    untouched) together with a linear head :math:`g(z) = W^\top z + b` on
    the training samples, and reports the test metrics of the epoch with the
    best validation metric (never selected on test).

    Each epoch visits the training samples once in a seeded random order, in
    batches built by :obj:`graph.payload(ids)` and embedded by
    :obj:`encoder.encode(batch)` (graph encoders get each batch's
    :obj:`num_hops`-hop neighbourhood, see :func:`~pyg_sip.eval.embed`),
    minimising with AdamW

    .. math::
        \frac{1}{|B|} \sum_{i \in B} \ell\big(g(f_\theta(x_i)), y_i\big),

    with :math:`\ell` the cross-entropy (``'multiclass'``), the binary
    cross-entropy over the observed, non-NaN labels (``'multilabel'``) or
    the squared error on targets standardised with the training mean and
    standard deviation (``'regression'``; predictions are mapped back before
    scoring). After each epoch the validation and test samples are embedded
    in eval mode and scored with :func:`pyg_sip.eval.metrics.task_metrics`;
    the epoch with the best validation accuracy (``'multiclass'``), AUROC
    (``'multilabel'``) or lowest RMSE (``'regression'``) is kept, the first
    on ties.

    Args:
        encoder (torch.nn.Module): The encoder to fine-tune (copied).
        graph (SampleGraph): The samples.
        train_idx (torch.Tensor): Training sample ids (or a boolean mask).
        val_idx (torch.Tensor): Validation sample ids (or a boolean mask).
        test_idx (torch.Tensor): Test sample ids (or a boolean mask).
        task (str, optional): ``'multiclass'`` (integer labels :math:`[N]`),
            ``'multilabel'`` (0/1 floats :math:`[N, C]`, NaN = missing) or
            ``'regression'`` (floats :math:`[N]` or :math:`[N, T]`).
            (default: :obj:`'multiclass'`)
        y (torch.Tensor, optional): Targets; :obj:`graph.y` by default.
            (default: :obj:`None`)
        epochs (int, optional): Training epochs. (default: :obj:`10`)
        lr (float, optional): Learning rate. (default: :obj:`1e-4`)
        weight_decay (float, optional): AdamW weight decay. (default: :obj:`0.0`)
        batch_size (int, optional): Training batch size. (default: :obj:`32`)
        eval_batch_size (int, optional): Evaluation batch size.
            (default: :obj:`256`)
        seed (int, optional): Seeds the head, the batch order and dropout
            (the global RNG state is restored afterwards). (default: :obj:`0`)
        device (str or torch.device, optional): Where to train; the
            encoder's device by default. (default: :obj:`None`)
        max_grad_norm (float, optional): Gradient-norm clipping.
            (default: :obj:`None`)
        num_hops (int, optional): Neighbourhood radius for graph encoders;
            their :obj:`num_layers` by default. (default: :obj:`None`)
        max_length (int, optional): Truncation of token sequences.
            (default: :obj:`None`)
        progress (bool, optional): Show a progress bar over epochs.
            (default: :obj:`True`)

    Returns:
        The test metrics (``accuracy`` and ``auroc``, or ``rmse``, ``mae``
        and ``spearman``) at the selected epoch, the same metrics on
        validation prefixed ``val_``, and ``best_epoch`` (1-based).
    """
    check_choice('task', task, TASKS)
    for value, name in ((epochs, 'epochs'), (batch_size, 'batch_size'),
                        (eval_batch_size, 'eval_batch_size'), (num_hops, 'num_hops')):
        check_positive(name, value, integer=True, optional=True)
    if not hasattr(encoder, 'encode') or not hasattr(encoder, 'out_channels'):
        raise PygSipError("'encoder' must provide encode(batch) and 'out_channels'")
    n = graph.num_nodes
    train_idx, val_idx, test_idx = (
        check_index(name, i, n, allow_empty=False).cpu().unique()
        for i, name in ((train_idx, 'train_idx'), (val_idx, 'val_idx'), (test_idx, 'test_idx')))
    if y is None:
        y = getattr(graph, 'y', None)
        if y is None:
            raise PygSipError("the graph has no 'y': pass the targets as 'y'")
    y = y.cpu()
    used = torch.cat([train_idx, val_idx, test_idx])
    y, out_channels = check_targets(y, task, n, used, ref_name='graph')
    device = torch.device(device) if device is not None else module_device(encoder)
    y = target_y = y.to(device)
    if task == 'regression':  # standardise with training statistics only
        yt = y[train_idx.to(device)]
        shift, scale = yt.mean(0), yt.std(0, unbiased=False).clamp_min(1e-12)
        y = (y - shift) / scale
    else:
        shift, scale = 0.0, 1.0

    eval_ids, inverse = torch.cat([val_idx, test_idx]).unique(return_inverse=True)
    eval_rows = {'val': inverse[:val_idx.numel()], 'test': inverse[val_idx.numel():]}
    key = selection_metric(task)
    sign = -1.0 if key == 'rmse' else 1.0
    devices = [device.index or 0] if device.type == 'cuda' else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        model = copy.deepcopy(encoder).to(device)
        head = torch.nn.Linear(model.out_channels, out_channels).to(device)
        params = list(model.parameters()) + list(head.parameters())
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        order = torch.Generator().manual_seed(seed)
        best = None
        for epoch in tqdm(range(1, epochs + 1), disable=not progress, desc='finetune',
                          unit='epoch'):
            model.train()
            head.train()
            perm = train_idx[torch.randperm(train_idx.numel(), generator=order)]
            for ids, batch, _ in iter_batches(model, graph, perm, batch_size, device,
                                              False, num_hops, max_length):
                loss = _loss(task, head(model.encode(batch)), y[ids.to(device)])
                if loss is None:
                    continue
                opt.zero_grad()
                loss.backward()
                if max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
                opt.step()

            with torch.no_grad():
                head.eval()
                out = head(encode_ids(model, graph, eval_ids, eval_batch_size, device,
                                      num_hops=num_hops, max_length=max_length))
            scores = {}
            for split, ids in (('val', val_idx), ('test', test_idx)):
                pred = out[eval_rows[split].to(device)]
                target = target_y[ids.to(device)]
                if task == 'regression':
                    pred = pred.view_as(target) * scale + shift
                scores[split] = task_metrics(task, pred, target)
            if best is None or is_better(scores['val'][key], best[1]['val'][key], sign):
                best = (epoch, scores)
    epoch, scores = best
    return {**scores['test'], **{f'val_{k}': v for k, v in scores['val'].items()},
            'best_epoch': epoch}
