r"""The pre-training loop: AdamW, warm-up + decay, clipping, AMP, atomic
checkpoints with exact resume, early stopping and distributed data parallel."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import torch
from torch import Tensor, nn
from tqdm import tqdm

from pyg_sip.errors import PygSipError
from pyg_sip.train.checkpoint import (
    BEST,
    CHECKPOINT,
    METRICS,
    check_module_state,
    check_trainer_state,
    load_weights_only,
    read_metrics,
)
from pyg_sip.train.distributed import dist_info
from pyg_sip.train.schedule import SCHEDULES, lr_factor, step_seed
from pyg_sip.utils.checks import check_choice, check_int, check_real
from pyg_sip.utils.io import atomic_save, atomic_write_text, clean_stale_tmp


class _SIPStep(nn.Module):
    """Encoder + objective as one module, so that DDP sees one ``forward``."""

    def __init__(self, encoder: nn.Module, objective: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.objective = objective

    def forward(self, batch: Any,
                generator: Optional[torch.Generator] = None) -> tuple[dict, Tensor]:
        z, sample_loss = self.encoder.pretrain_step(batch, generator=generator)
        out = self.objective(z, batch.pos_index, batch.neg_index, sample_loss)
        # A loss may be finite on NaN embeddings (a row dropped, a clamp): check z too.
        return out, torch.isfinite(z.detach()).all()


class Trainer:
    r"""Pre-trains an encoder with a :class:`~pyg_sip.objective.SIPObjective`.

    Each step draws a :class:`~pyg_sip.sampling.StructureBatch` from
    ``loader``, runs ``encoder.pretrain_step`` (one forward pass giving the
    embeddings and the per-sample loss :math:`\mathcal{L}_M`), and minimises

    .. math::
        \mathcal{L}_{PT} = (1-\lambda)\,\mathcal{L}_M + \lambda\,\mathcal{L}_{SI}

    with AdamW, linear warm-up then ``linear``/``cosine``/``constant``
    learning rate, and gradient-norm clipping. All randomness of step
    :math:`t` is seeded from ``(seed, t, rank)`` and the loader's batches are
    a function of ``(seed, epoch, batch index)``, so a run resumed from a
    checkpoint ends with the same parameters as an uninterrupted one (bitwise
    on CPU).

    Every argument is checked before any work. Files in ``out_dir`` are
    written atomically (:mod:`pyg_sip.utils.io`); on resume the checkpoint
    is read with ``weights_only=True`` and checked against this trainer in
    full before anything is loaded or written, so a truncated, foreign or
    other-architecture checkpoint raises :class:`~pyg_sip.errors.PygSipError`
    and stays untouched. ``metrics.jsonl`` is then cut back to the resumed
    step, so every step appears once even when a killed run had logged past
    its last checkpoint. A step with non-finite embeddings, loss or (with
    clipping) gradient norm stops the run with a :class:`PygSipError` before
    the parameters are updated; the last checkpoint is kept.

    Args:
        encoder (torch.nn.Module): an encoder of :mod:`pyg_sip.nn` (it has
            ``pretrain_step(batch, generator) -> (z, sample_loss)``).
        objective (torch.nn.Module): the :class:`SIPObjective`; its parameters
            (e.g. a bilinear structure loss) are trained too.
        loader (Iterable): yields batches with ``pos_index``/``neg_index`` and
            a payload, and has a length; if it has ``set_epoch(epoch)``, it
            is called each epoch.
        max_steps (int, optional): number of optimiser steps, :math:`\geq 1`.
            (default: ``epochs * len(loader)``)
        epochs (int, optional): epochs when ``max_steps`` is not given,
            :math:`\geq 1`. (default: :obj:`1`)
        lr (float, optional): peak learning rate, positive and finite.
            (default: :obj:`3e-4`)
        weight_decay (float, optional): AdamW weight decay, :math:`\geq 0`.
            (default: :obj:`0.01`)
        warmup_steps (int, optional): linear warm-up steps, :math:`\geq 0`.
            (default: :obj:`0`)
        schedule (str, optional): ``'constant'``, ``'linear'`` or
            ``'cosine'`` decay after warm-up. (default: :obj:`'linear'`)
        grad_clip (float, optional): max gradient norm (positive), ``None``
            for no clipping. (default: :obj:`1.0`)
        amp (bool, optional): bfloat16 autocast on CUDA. (default: :obj:`False`)
        device (str or torch.device, optional): (default: CUDA if available)
        seed (int, optional): (default: :obj:`0`)
        out_dir (str or Path, optional): where ``metrics.jsonl``,
            ``checkpoint.pt`` and ``best.pt`` go. (default: :obj:`None`,
            nothing written)
        checkpoint_every (int, optional): steps between checkpoints; one is
            always written at the end when ``out_dir`` is set. (default: :obj:`None`)
        resume (bool, optional): continue from ``out_dir/checkpoint.pt`` if it
            exists; :obj:`False` starts over. (default: :obj:`True`)
        log_every (int, optional): steps between metric lines. (default: :obj:`10`)
        val_fn (callable, optional): ``val_fn(encoder) -> float``, higher is
            better; enables early stopping. (default: :obj:`None`)
        val_every (int, optional): steps between validations. (default: :obj:`100`)
        patience (int, optional): validations without improvement before
            stopping; ``None`` never stops early. The best weights are
            restored at the end. (default: :obj:`None`)
        progress (bool, optional): show a tqdm bar with the loss parts.
            (default: :obj:`True`)
    """

    def __init__(
        self,
        encoder: nn.Module,
        objective: nn.Module,
        loader: Iterable,
        *,
        max_steps: Optional[int] = None,
        epochs: int = 1,
        lr: float = 3e-4,
        weight_decay: float = 0.01,
        warmup_steps: int = 0,
        schedule: str = 'linear',
        grad_clip: Optional[float] = 1.0,
        amp: bool = False,
        device: Optional[str | torch.device] = None,
        seed: int = 0,
        out_dir: Optional[str | Path] = None,
        checkpoint_every: Optional[int] = None,
        resume: bool = True,
        log_every: int = 10,
        val_fn: Optional[Callable[[nn.Module], float]] = None,
        val_every: int = 100,
        patience: Optional[int] = None,
        progress: bool = True,
    ):
        if not isinstance(encoder, nn.Module) or not callable(
                getattr(encoder, 'pretrain_step', None)):
            raise PygSipError(f"'encoder' must be an nn.Module with pretrain_step(batch, "
                              f'generator) (got {type(encoder).__name__})')
        if not isinstance(objective, nn.Module):
            raise PygSipError(f"'objective' must be an nn.Module such as SIPObjective "
                              f'(got {type(objective).__name__})')
        try:
            per_epoch = len(loader)
        except TypeError:
            raise PygSipError(f"'loader' must have a length (got {type(loader).__name__})"
                              ) from None
        if per_epoch < 1:
            raise PygSipError('the loader yields no batches (no anchors?)')
        schedule = check_choice('schedule', schedule, SCHEDULES)
        epochs = check_int('epochs', epochs, 1)
        max_steps = check_int('max_steps', max_steps, 1, optional=True)
        warmup_steps = check_int('warmup_steps', warmup_steps, 0)
        checkpoint_every = check_int('checkpoint_every', checkpoint_every, 1, optional=True)
        log_every = check_int('log_every', log_every, 1)
        val_every = check_int('val_every', val_every, 1)
        patience = check_int('patience', patience, 1, optional=True)
        seed = check_int('seed', seed, 0)
        lr = check_real('lr', lr, 0.0, low_open=True)
        weight_decay = check_real('weight_decay', weight_decay, 0.0)
        grad_clip = check_real('grad_clip', grad_clip, 0.0, low_open=True, optional=True)
        for name, value in (('amp', amp), ('resume', resume), ('progress', progress)):
            if not isinstance(value, bool):
                raise PygSipError(f"'{name}' must be True or False (got {value!r})")
        if val_fn is not None and not callable(val_fn):
            raise PygSipError(f"'val_fn' must be callable or None (got {val_fn!r})")
        self.device = _check_device(device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None and self.out_dir.exists() and not self.out_dir.is_dir():
            raise PygSipError(f"'out_dir' {str(self.out_dir)!r} exists and is not a folder")

        self.encoder, self.objective, self.loader = encoder, objective, loader
        self.warmup_steps, self.schedule = warmup_steps, schedule
        self.max_steps = max_steps if max_steps is not None else epochs * per_epoch
        self.grad_clip, self.amp, self.seed = grad_clip, amp and self.device.type == 'cuda', seed
        self.checkpoint_every, self.resume, self.log_every = checkpoint_every, resume, log_every
        self.val_fn, self.val_every, self.patience = val_fn, val_every, patience
        self.progress = progress
        self.rank, self.world_size = dist_info()
        if self.world_size > 1:  # shards may differ by a batch: every rank takes the same steps
            steps = torch.tensor([self.max_steps], device=self.device)
            torch.distributed.all_reduce(steps, op=torch.distributed.ReduceOp.MIN)
            self.max_steps = int(steps)

        self.module = _SIPStep(encoder, objective).to(self.device)
        self.model: nn.Module = self.module
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == 'cuda' else None
            self.model = nn.parallel.DistributedDataParallel(
                self.module, device_ids=ids, find_unused_parameters=True)
        torch.manual_seed(seed)
        self.optimizer = torch.optim.AdamW(self.module.parameters(), lr=lr,
                                           weight_decay=weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: lr_factor(s, self.warmup_steps, self.max_steps, self.schedule))
        self.step = 0
        self.best: Optional[float] = None
        self.bad_validations = 0
        self.stopped = False  # early stopping fired; a resumed run stays stopped
        self.val_step: Optional[int] = None  # step of the last validation
        self.history: list[dict] = []

    # -- checkpoints -------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            'module': self.module.state_dict(),
            'optimizer': self.optimizer.state_dict(),
            'scheduler': self.scheduler.state_dict(),
            'step': self.step,
            'best': self.best,
            'bad_validations': self.bad_validations,
            'stopped': self.stopped,
            'val_step': self.val_step,
        }

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state['module'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scheduler.load_state_dict(state['scheduler'])
        self.step = int(state['step'])
        self.best = state['best']
        self.bad_validations = int(state['bad_validations'])
        self.stopped = bool(state.get('stopped', False))
        self.val_step = state.get('val_step')

    def save_checkpoint(self) -> Optional[Path]:
        """Atomically write ``out_dir/checkpoint.pt`` (rank 0 only)."""
        if self.out_dir is None or self.rank != 0:
            return None
        return atomic_save(self.state_dict(), self.out_dir / CHECKPOINT)

    def _read_resume_state(self) -> Optional[dict]:
        """The checkpoint to resume from, checked in full; reads only."""
        path = self.out_dir / CHECKPOINT
        if not self.resume or not path.exists():
            return None
        state = load_weights_only(path, self.device)
        check_trainer_state(path, state, self.module.state_dict(), self.optimizer,
                            self.max_steps)
        if state['best'] is not None and self.val_fn is not None:
            best = self.out_dir / BEST
            if not best.exists():
                raise PygSipError(f"'{path}' records a best validation score but '{best}' "
                                  'is missing')
            check_module_state(best, load_weights_only(best, self.device),
                               self.encoder.state_dict(), 'encoder')
        return state

    def _open_run(self) -> None:
        r"""Resume from ``out_dir`` and make its files agree with the resumed
        step. Everything is read and checked before the first write."""
        if self.out_dir is None:
            return
        state = self._read_resume_state()
        step = int(state['step']) if state is not None else 0
        records, rewrite = read_metrics(self.out_dir / METRICS, step)
        if state is not None:
            try:
                self.load_state_dict(state)
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                raise PygSipError(f"cannot resume from '{self.out_dir / CHECKPOINT}': "
                                  f'{exc}') from None
        self.history = records
        if self.rank != 0:
            return
        clean_stale_tmp(self.out_dir)
        if rewrite is not None:
            atomic_write_text(self.out_dir / METRICS, rewrite)

    # -- logging -----------------------------------------------------------
    def _log(self, record: dict) -> None:
        self.history.append(record)
        if self.out_dir is None or self.rank != 0:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # One append per line; a line cut off by a kill is dropped on resume.
        with open(self.out_dir / METRICS, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record) + '\n')

    def _validate(self) -> None:
        """Run ``val_fn``, keep the best weights, decide on early stopping."""
        value = float(self.val_fn(self.encoder))
        self.val_step = self.step
        self._log({'step': self.step, 'val': value})
        if self.best is None or value > self.best:
            self.best, self.bad_validations = value, 0
            if self.out_dir is not None and self.rank == 0:
                atomic_save(self.encoder.state_dict(), self.out_dir / BEST)
            else:
                self._best_state = {k: v.detach().clone()
                                    for k, v in self.encoder.state_dict().items()}
        else:
            self.bad_validations += 1
        self.stopped = self.patience is not None and self.bad_validations >= self.patience

    def _restore_best(self) -> None:
        if self.val_fn is None or self.best is None:
            return
        if self.out_dir is not None and (self.out_dir / BEST).exists():
            state = load_weights_only(self.out_dir / BEST, self.device)
        else:
            state = getattr(self, '_best_state', None)
        if state is not None:
            self.encoder.load_state_dict(state)

    # -- the loop ----------------------------------------------------------
    def _batches(self) -> Iterable[tuple[int, Any]]:
        """Yield ``(step, batch)`` from ``self.step`` on, skipping the batches
        already consumed in the current epoch when resuming."""
        epoch, skip = divmod(self.step, len(self.loader))
        step = self.step
        while step < self.max_steps:
            if hasattr(self.loader, 'set_epoch'):
                self.loader.set_epoch(epoch)
            for i, batch in enumerate(self.loader):
                if i < skip:
                    continue
                yield step, batch
                step += 1
                if step >= self.max_steps:
                    return
            epoch, skip = epoch + 1, 0

    def _train_step(self, step: int, batch: Any) -> dict:
        seed = step_seed(self.seed, step, self.rank)
        torch.manual_seed(seed)  # dropout
        generator = torch.Generator(device=self.device).manual_seed(seed)  # masking
        batch = batch.to(self.device)
        self.model.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out, z_finite = self.model(batch, generator)
        loss = out['loss']
        if not bool(z_finite & torch.isfinite(loss.detach())):
            what = 'loss' if bool(z_finite) else 'embeddings'
            raise PygSipError(f'non-finite {what} at step {step} (loss {loss.item()}); '
                              + _STOPPED)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            norm = nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip)
            if not torch.isfinite(norm):
                raise PygSipError(f'non-finite gradient norm {norm.item()} at step {step}; '
                                  + _STOPPED)
        self.optimizer.step()
        self.scheduler.step()
        return {k: float(v.detach()) for k, v in out.items()}

    def fit(self) -> list[dict]:
        r"""Train until ``max_steps`` (or early stopping), resuming from
        ``out_dir`` when it holds a checkpoint. Returns the logged records
        of the whole run (one dict per ``log_every`` steps and per
        validation), as in ``metrics.jsonl``."""
        self._open_run()
        bar = tqdm(total=self.max_steps, initial=self.step, desc='pre-training',
                   disable=not self.progress or self.rank != 0, dynamic_ncols=True)
        start = time.perf_counter()
        for step, batch in ([] if self.stopped else self._batches()):
            parts = self._train_step(step, batch)
            self.step = step + 1
            bar.update(1)
            bar.set_postfix({k: f'{v:.4f}' for k, v in parts.items()
                             if not (k == 'lm_loss' and 'sample_loss' in parts)})
            if self.step % self.log_every == 0 or self.step == self.max_steps:
                self._log({'step': self.step, **parts,
                           'lr': self.scheduler.get_last_lr()[0],
                           'seconds': time.perf_counter() - start})
            if self.val_fn is not None and self.step % self.val_every == 0:
                self._validate()
            if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                self.save_checkpoint()
            if self.stopped:
                break
        bar.close()
        if self.val_fn is not None and not self.stopped and self.val_step != self.step:
            self._validate()
        self.save_checkpoint()
        self._restore_best()
        return self.history


_STOPPED = ('the parameters were not updated and the last checkpoint is kept; check the '
            'inputs for NaN/inf or lower the learning rate')


def _check_device(device: Optional[str | torch.device]) -> torch.device:
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise PygSipError(f"'device' must name a torch device such as 'cpu' or 'cuda' "
                          f'(got {device!r})') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise PygSipError(f"'device' is {str(device)!r} but CUDA is not available")
    return device
