r"""Reading a run folder back: checkpoints and the metrics log are checked
in full before anything is loaded into the trainer or rewritten on disk, so
a bad file raises :class:`~pyg_sip.errors.PygSipError` naming the file and
what is wrong, and stays as it was."""
from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.utils.io import load_tensors

CHECKPOINT = 'checkpoint.pt'
BEST = 'best.pt'
METRICS = 'metrics.jsonl'
#: Keys every checkpoint written by :class:`~pyg_sip.train.Trainer` holds.
STATE_KEYS = ('module', 'optimizer', 'scheduler', 'step', 'best', 'bad_validations')
_MAX_LISTED = 5


def load_weights_only(path: Path, device: torch.device) -> Any:
    r"""A checkpoint file read with :func:`~pyg_sip.utils.io.load_tensors`."""
    return load_tensors(path, 'checkpoint', map_location=device)


def check_module_state(path: Path, saved: Any, expected: Mapping[str, Tensor],
                       what: str) -> None:
    r"""Raise :class:`PygSipError` unless ``saved`` is a state dict with
    exactly the keys and shapes of ``expected`` (``what`` names it in the
    message)."""
    if not isinstance(saved, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in saved.items()):
        raise PygSipError(f"'{path}': {what} is not a state dict of tensors")
    problems = [f'missing {k}' for k in expected if k not in saved]
    problems += [f'unexpected {k}' for k in saved if k not in expected]
    problems += [f'{k} is {list(saved[k].shape)} there, {list(v.shape)} here'
                 for k, v in expected.items() if k in saved and saved[k].shape != v.shape]
    if problems:
        more = len(problems) - _MAX_LISTED
        listed = '; '.join(problems[:_MAX_LISTED]) + (f'; and {more} more' if more > 0 else '')
        raise PygSipError(f"'{path}' was written for another architecture ({what}: {listed}); "
                          'give another out_dir or rebuild the model that wrote it')


def check_trainer_state(path: Path, state: Any, module_state: Mapping[str, Tensor],
                        optimizer: torch.optim.Optimizer, max_steps: int) -> None:
    r"""Raise :class:`PygSipError` unless ``state`` is a checkpoint of this
    trainer: every key of :data:`STATE_KEYS`, the module's keys and shapes,
    an optimizer state for the same parameters, a step in
    :math:`[0, \text{max\_steps}]` that the scheduler agrees with."""
    if not isinstance(state, Mapping):
        raise PygSipError(f"'{path}' is not a Trainer checkpoint (a {type(state).__name__}, "
                          'not a dict)')
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise PygSipError(f"'{path}' is not a Trainer checkpoint: missing {missing}")
    step = state['step']
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= max_steps:
        raise PygSipError(f"'{path}': step {step!r} is not an integer in [0, max_steps="
                          f"{max_steps}]")
    bad = state['bad_validations']
    if isinstance(bad, bool) or not isinstance(bad, int) or bad < 0:
        raise PygSipError(f"'{path}': bad_validations {bad!r} is not an integer >= 0")
    best = state['best']
    if best is not None and (isinstance(best, bool) or not isinstance(best, numbers.Real)):
        raise PygSipError(f"'{path}': best {best!r} is not a number or None")
    check_module_state(path, state['module'], module_state, 'module')
    _check_optimizer(path, state['optimizer'], optimizer)
    scheduler = state['scheduler']
    if not isinstance(scheduler, Mapping) or scheduler.get('last_epoch') != step:
        last = scheduler.get('last_epoch') if isinstance(scheduler, Mapping) else scheduler
        raise PygSipError(f"'{path}': the scheduler state (last_epoch {last!r}) does not "
                          f'match step {step}')


def _check_optimizer(path: Path, saved: Any, optimizer: torch.optim.Optimizer) -> None:
    groups = saved.get('param_groups') if isinstance(saved, Mapping) else None
    states = saved.get('state') if isinstance(saved, Mapping) else None
    if not isinstance(groups, list) or not isinstance(states, Mapping) or not all(
            isinstance(g, Mapping) and isinstance(g.get('params'), list) for g in groups):
        raise PygSipError(f"'{path}': optimizer is not an optimizer state dict")
    sizes = [len(g['params']) for g in groups]
    expected = [len(g['params']) for g in optimizer.param_groups]
    if sizes != expected:
        raise PygSipError(f"'{path}' was written for another architecture (optimizer: "
                          f'parameter groups of sizes {sizes} there, {expected} here)')
    params = {i: p for g, own in zip(groups, optimizer.param_groups)
              for i, p in zip(g['params'], own['params'])}
    for i, entry in states.items():
        if i not in params or not isinstance(entry, Mapping):
            raise PygSipError(f"'{path}': optimizer state of unknown parameter {i!r}")
        for name, value in entry.items():
            if isinstance(value, Tensor) and value.dim() > 0 and value.shape != params[i].shape:
                raise PygSipError(f"'{path}': optimizer {name} of parameter {i} is "
                                  f'{list(value.shape)}, the parameter {list(params[i].shape)}')


def read_metrics(path: Path, step: int) -> tuple[list[dict], Optional[str]]:
    r"""The records of the metrics log ``path`` up to and including ``step``,
    and the text the file must be rewritten to so that it holds exactly
    those (:obj:`None` when it already does). A last line without its
    newline that is not valid JSON (an append cut off by a kill) is dropped;
    any other line that is not a JSON object with an integer ``'step'``
    raises :class:`PygSipError` naming ``path`` and the line."""
    if not path.exists():
        return [], None
    data = path.read_bytes()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b'\n') + 1
        raise PygSipError(f'{path}:{line}: not UTF-8 text (byte {exc.start})') from None
    lines = text.split('\n')
    kept, records = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # the torn tail of a killed append
                continue
            raise PygSipError(f'{path}:{number}: not a JSON line ({exc.msg})') from None
        value = record.get('step') if isinstance(record, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise PygSipError(f"{path}:{number}: a metrics record needs an integer 'step' "
                              f'(got {line[:80]!r})')
        if value <= step:
            kept.append(line + '\n')
            records.append(record)
    new_text = ''.join(kept)
    return records, (None if new_text == text else new_text)
