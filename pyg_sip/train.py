r"""The pre-training loop: AdamW, warm-up + decay, clipping, AMP, atomic
checkpoints with exact resume, early stopping and distributed data parallel."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import torch
from torch import Tensor, nn
from tqdm import tqdm

from pyg_sip.errors import PygSipError

CHECKPOINT = 'checkpoint.pt'
BEST = 'best.pt'
METRICS = 'metrics.jsonl'
_SCHEDULES = ('constant', 'linear', 'cosine')


def lr_factor(step: int, warmup_steps: int, total_steps: int, schedule: str) -> float:
    r"""Learning-rate multiplier at ``step``: linear warm-up over
    ``warmup_steps``, then ``constant``, ``linear`` decay to 0 or ``cosine``
    decay to 0 at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == 'constant':
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    if schedule == 'linear':
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """The seed of one training step. Every source of randomness in a step
    (masking, dropout) derives from it, so a resumed run replays exactly."""
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


class _SIPStep(nn.Module):
    """Encoder + objective as one module, so that DDP sees one ``forward``."""

    def __init__(self, encoder: nn.Module, objective: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.objective = objective

    def forward(self, batch: Any, generator: Optional[torch.Generator] = None) -> dict:
        z, lm_loss = self.encoder.pretrain_step(batch, generator=generator)
        return self.objective(z, batch.pos_index, batch.neg_index, lm_loss=lm_loss)


def _dist_info() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed() -> tuple[int, int]:
    r"""Initialise the default process group when launched by ``torchrun``
    (``WORLD_SIZE`` > 1): ``nccl`` on CUDA, ``gloo`` on CPU. Returns
    ``(rank, world_size)``; ``(0, 1)`` outside ``torchrun``."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world > 1 and not torch.distributed.is_initialized():
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        torch.distributed.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', '0')))
    return _dist_info()


def shard(input_nodes: Tensor, rank: int, world_size: int) -> Tensor:
    r"""The anchors of one rank: every ``world_size``-th entry of
    ``input_nodes`` starting at ``rank``."""
    return input_nodes[rank::world_size]


def atomic_save(obj: Any, path: Path) -> None:
    """Write ``obj`` with :func:`torch.save` to a temporary file, then rename
    it over ``path``: a crash leaves either the old or the new file, never a
    torn one."""
    path = Path(path)
    tmp = path.with_name(path.name + f'.tmp{os.getpid()}')
    torch.save(obj, tmp)
    os.replace(tmp, path)


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

    Args:
        encoder (torch.nn.Module): an encoder of :mod:`pyg_sip.nn`.
        objective (torch.nn.Module): the :class:`SIPObjective`; its parameters
            (e.g. a bilinear structure loss) are trained too.
        loader (Iterable): yields batches with ``pos_index``/``neg_index`` and
            a payload; if it has ``set_epoch(epoch)``, it is called each epoch.
        max_steps (int, optional): number of optimiser steps. (default:
            ``epochs * len(loader)``)
        epochs (int, optional): epochs when ``max_steps`` is not given.
            (default: :obj:`1`)
        lr (float, optional): peak learning rate. (default: :obj:`3e-4`)
        weight_decay (float, optional): AdamW weight decay. (default: :obj:`0.01`)
        warmup_steps (int, optional): linear warm-up steps. (default: :obj:`0`)
        schedule (str, optional): ``'constant'``, ``'linear'`` or
            ``'cosine'`` decay after warm-up. (default: :obj:`'linear'`)
        grad_clip (float, optional): max gradient norm, ``None`` for no
            clipping. (default: :obj:`1.0`)
        amp (bool, optional): bfloat16 autocast on CUDA. (default: :obj:`False`)
        device (str or torch.device, optional): (default: CUDA if available)
        seed (int, optional): (default: :obj:`0`)
        out_dir (str or Path, optional): where ``metrics.jsonl``,
            ``checkpoint.pt`` and ``best.pt`` go. (default: :obj:`None`,
            nothing written)
        checkpoint_every (int, optional): steps between checkpoints; one is
            always written at the end when ``out_dir`` is set. (default: :obj:`None`)
        resume (bool, optional): continue from ``out_dir/checkpoint.pt`` if it
            exists. (default: :obj:`True`)
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
        if schedule not in _SCHEDULES:
            raise PygSipError(f"schedule must be one of {_SCHEDULES}, got '{schedule}'")
        if lr <= 0 or not math.isfinite(lr):
            raise PygSipError(f'lr must be positive and finite, got {lr}')
        if max_steps is None:
            if epochs < 1:
                raise PygSipError(f'epochs must be >= 1, got {epochs}')
            max_steps = epochs * len(loader)
        if max_steps < 1:
            raise PygSipError(f'max_steps must be >= 1, got {max_steps}')
        for name, value in (('checkpoint_every', checkpoint_every), ('log_every', log_every),
                            ('val_every', val_every)):
            if value is not None and value < 1:
                raise PygSipError(f'{name} must be >= 1, got {value}')

        self.device = torch.device(device if device is not None else
                                   ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.encoder, self.objective, self.loader = encoder, objective, loader
        self.warmup_steps, self.schedule = warmup_steps, schedule
        self.max_steps = max_steps
        self.grad_clip, self.amp, self.seed = grad_clip, amp and self.device.type == 'cuda', seed
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.checkpoint_every, self.resume, self.log_every = checkpoint_every, resume, log_every
        self.val_fn, self.val_every, self.patience = val_fn, val_every, patience
        self.progress = progress
        self.rank, self.world_size = _dist_info()
        if self.world_size > 1:  # shards may differ by a batch: every rank takes the same steps
            steps = torch.tensor([max_steps], device=self.device)
            torch.distributed.all_reduce(steps, op=torch.distributed.ReduceOp.MIN)
            self.max_steps = max_steps = int(steps)

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
        }

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state['module'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scheduler.load_state_dict(state['scheduler'])
        self.step = int(state['step'])
        self.best = state['best']
        self.bad_validations = int(state['bad_validations'])

    def save_checkpoint(self) -> Optional[Path]:
        """Atomically write ``out_dir/checkpoint.pt`` (rank 0 only)."""
        if self.out_dir is None or self.rank != 0:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / CHECKPOINT
        atomic_save(self.state_dict(), path)
        return path

    def _maybe_resume(self) -> None:
        if self.out_dir is None or not self.resume:
            return
        path = self.out_dir / CHECKPOINT
        if path.exists():
            state = torch.load(path, map_location=self.device, weights_only=True)
            self.load_state_dict(state)

    # -- logging -----------------------------------------------------------
    def _log(self, record: dict) -> None:
        self.history.append(record)
        if self.out_dir is None or self.rank != 0:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / METRICS, 'a') as f:
            f.write(json.dumps(record) + '\n')

    def _validate(self) -> bool:
        """Run ``val_fn``; returns True when training should stop."""
        value = float(self.val_fn(self.encoder))
        self._log({'step': self.step, 'val': value})
        if self.best is None or value > self.best:
            self.best, self.bad_validations = value, 0
            if self.out_dir is not None and self.rank == 0:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                atomic_save(self.encoder.state_dict(), self.out_dir / BEST)
            else:
                self._best_state = {k: v.detach().clone()
                                    for k, v in self.encoder.state_dict().items()}
        else:
            self.bad_validations += 1
        return self.patience is not None and self.bad_validations >= self.patience

    def _restore_best(self) -> None:
        if self.val_fn is None or self.best is None:
            return
        if self.out_dir is not None and (self.out_dir / BEST).exists():
            state = torch.load(self.out_dir / BEST, map_location=self.device, weights_only=True)
        else:
            state = getattr(self, '_best_state', None)
        if state is not None:
            self.encoder.load_state_dict(state)

    # -- the loop ----------------------------------------------------------
    def _batches(self) -> Iterable[tuple[int, Any]]:
        """Yield ``(step, batch)`` from ``self.step`` on, skipping the batches
        already consumed in the current epoch when resuming."""
        per_epoch = len(self.loader)
        if per_epoch == 0:
            raise PygSipError('the loader yields no batches (no anchors?)')
        epoch, skip = divmod(self.step, per_epoch)
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
            out = self.model(batch, generator)
        loss = out['loss']
        if not torch.isfinite(loss):
            raise PygSipError(f'non-finite loss {loss.item()} at step {step}; '
                              'lower the learning rate or check the inputs')
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return {k: float(v.detach()) for k, v in out.items()}

    def fit(self) -> list[dict]:
        r"""Train until ``max_steps`` (or early stopping). Returns the logged
        records (one dict per ``log_every`` steps and per validation)."""
        self._maybe_resume()
        bar = tqdm(total=self.max_steps, initial=self.step, desc='pre-training',
                   disable=not self.progress or self.rank != 0, dynamic_ncols=True)
        start, stopped = time.perf_counter(), False
        for step, batch in self._batches():
            parts = self._train_step(step, batch)
            self.step = step + 1
            bar.update(1)
            bar.set_postfix({k: f'{v:.4f}' for k, v in parts.items()})
            if self.step % self.log_every == 0 or self.step == self.max_steps:
                self._log({'step': self.step, **parts,
                           'lr': self.scheduler.get_last_lr()[0],
                           'seconds': time.perf_counter() - start})
            if self.val_fn is not None and self.step % self.val_every == 0:
                stopped = self._validate()
            if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                self.save_checkpoint()
            if stopped:
                break
        bar.close()
        if self.val_fn is not None and not stopped and self.step % self.val_every != 0:
            self._validate()
        self.save_checkpoint()
        self._restore_best()
        return self.history
