r"""The learning-rate schedule and the per-step seeds of a run."""
from __future__ import annotations

import math

SCHEDULES = ('constant', 'linear', 'cosine')


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
