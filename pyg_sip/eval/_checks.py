"""Input validation shared by the evaluation functions.

Every check raises :class:`pyg_sip.errors.PygSipError` naming the offending
row, value or size, before any work is done.
"""
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.utils.checks import check_choice, check_edge_index

__all__ = ['check_embeddings', 'check_same_length', 'check_categorical', 'check_edges',
           'infer_task', 'check_targets']


def check_embeddings(emb: Tensor, name: str = 'emb') -> Tensor:
    r"""Checks that :obj:`emb` is a finite floating-point matrix
    :math:`[N, d]` with :math:`N \geq 1` and returns it."""
    if not isinstance(emb, Tensor):
        raise PygSipError(f"'{name}' must be a torch.Tensor (got {type(emb).__name__})")
    if emb.dim() != 2:
        raise PygSipError(f"'{name}' must have shape [N, d] (got shape {list(emb.shape)})")
    if emb.size(0) == 0:
        raise PygSipError(f"'{name}' is empty (0 rows)")
    if not emb.is_floating_point():
        raise PygSipError(f"'{name}' must be floating point (got {emb.dtype})")
    bad = ~torch.isfinite(emb).all(dim=1)
    if bool(bad.any()):
        row = int(bad.nonzero()[0])
        kind = 'NaN' if bool(torch.isnan(emb[row]).any()) else 'inf'
        raise PygSipError(f"'{name}' row {row} contains {kind} "
                          f'({int(bad.sum())} non-finite rows in total)')
    return emb


def check_same_length(n: int, n_name: str, m: int, m_name: str) -> None:
    """Raises if two first dimensions differ, naming both sizes."""
    if n != m:
        raise PygSipError(f"length mismatch: '{n_name}' has {n} rows but "
                          f"'{m_name}' has {m}")


def check_categorical(y: Tensor, num_samples: int, name: str = 'y',
                      emb_name: str = 'emb') -> int:
    r"""Checks integer class labels :math:`y \in \{0, \ldots, C-1\}^N` and
    returns :math:`C`."""
    if not isinstance(y, Tensor):
        raise PygSipError(f"'{name}' must be a torch.Tensor (got {type(y).__name__})")
    if y.dim() == 2 and y.size(1) == 1:
        y = y.view(-1)
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise PygSipError(f"'{name}' must hold integer class labels of shape [N] "
                          f'(got dtype {y.dtype}, shape {list(y.shape)})')
    check_same_length(num_samples, emb_name, y.numel(), name)
    if bool((y < 0).any()):
        i = int((y < 0).nonzero()[0])
        raise PygSipError(f"'{name}' label out of range: {name}[{i}] = {int(y[i])} "
                          f'(labels must be in [0, num_classes))')
    return int(y.max()) + 1


def check_edges(edge_index: Tensor, num_samples: int, name: str = 'edge_index',
                allow_empty: bool = False) -> Tensor:
    """Checks an edge list of shape :math:`[2, E]` with ids in
    :math:`[0, N)` and returns it as a long tensor
    (:func:`pyg_sip.utils.check_edge_index`, non-empty unless
    :obj:`allow_empty`)."""
    return check_edge_index(name, edge_index, num_samples, allow_empty)


def infer_task(y: Tensor, task: Optional[str]) -> str:
    """The task of targets :obj:`y`: integer labels are ``'multiclass'``,
    float :math:`[N, C]` targets ``'multilabel'``, float :math:`[N]` targets
    ``'regression'``; an explicit :obj:`task` wins."""
    if task is not None:
        return check_choice('task', task, ('multiclass', 'multilabel', 'regression'))
    if not y.is_floating_point():
        return 'multiclass'
    return 'multilabel' if y.dim() == 2 and y.size(1) > 1 else 'regression'


def check_targets(y: Tensor, task: str, num_samples: int, used: Tensor,
                  name: str = 'y', ref_name: str = 'emb') -> tuple:
    """Checks the targets of the samples :obj:`used` for :obj:`task` and
    returns ``(y, out_channels)``: the targets (class labels flattened to
    :math:`[N]`) and the number of model outputs the task needs."""
    if not isinstance(y, Tensor):
        raise PygSipError(f"'{name}' must be a torch.Tensor (got {type(y).__name__})")
    check_same_length(num_samples, ref_name, y.size(0) if y.dim() else 0, name)
    sub = y[used]
    if task == 'multiclass':
        if y.dim() == 2 and y.size(1) == 1:
            y, sub = y.view(-1), sub.view(-1)
        if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
            raise PygSipError(f"task 'multiclass' needs integer labels of shape [N] in "
                              f"'{name}' (got dtype {y.dtype}, shape {list(y.shape)})")
        if bool((sub < 0).any()):
            i = int(used[(sub < 0).nonzero()[0]])
            raise PygSipError(f"'{name}' label out of range: {name}[{i}] = {int(y[i])} "
                              f'(labels must be in [0, num_classes))')
        return y, max(int(sub.max()) + 1, 2)
    if not y.is_floating_point():
        raise PygSipError(f"task '{task}' needs float targets in '{name}' (got {y.dtype})")
    if task == 'multilabel':
        if y.dim() != 2:
            raise PygSipError(f"task 'multilabel' needs targets of shape [N, C] in "
                              f"'{name}' (got shape {list(y.shape)})")
        bad = ~(torch.isnan(sub) | (sub == 0) | (sub == 1))
        if bool(bad.any()):
            r, c = (int(a) for a in bad.nonzero()[0])
            raise PygSipError(f"'{name}' label out of range: {name}[{int(used[r])}, {c}] = "
                              f'{float(sub[r, c])} (multi-label targets are 0, 1 or NaN)')
        return y, y.size(1)
    if y.dim() not in (1, 2):
        raise PygSipError(f"task 'regression' needs targets of shape [N] or [N, T] in "
                          f"'{name}' (got shape {list(y.shape)})")
    bad = ~torch.isfinite(sub.view(sub.size(0), -1)).all(dim=1)
    if bool(bad.any()):
        i = int(used[bad.nonzero()[0]])
        raise PygSipError(f"'{name}' row {i} holds a non-finite regression target")
    return y, 1 if y.dim() == 1 else y.size(1)
