r"""The configuration of one pre-training run: :class:`PretrainConfig`."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pyg_sip.errors import PygSipError


@dataclass
class PretrainConfig:
    r"""Everything that defines one pre-training run besides the graph, λ
    and the seed. Serialisable to/from JSON (``--config`` files).

    Args:
        encoder (str): ``'auto'`` (from the graph's payload: tokens →
            ``sequence``, ``x`` → ``mlp``, molecules → ``molecule``),
            ``'sequence'``, ``'mlp'``, ``'gnn'`` or ``'molecule'``.
        hidden_channels, out_channels, num_layers, num_heads, dropout: encoder sizes.
        pooling (str): ``'cls'`` or ``'mean'`` (sequence encoder).
        max_length (int): tokens kept per sequence (the first ones).
        mask_rate (float): corruption rate of the per-sample loss.
        steps, batch_size, lr, weight_decay, warmup_steps, schedule, grad_clip:
            optimisation (see :class:`~pyg_sip.train.Trainer`).
        num_positives, num_negatives, negative_sampling: structure sampling
            (see :class:`~pyg_sip.sampling.StructureLoader`).
        num_neighbors (list[int], optional): k-hop fan-outs for ``'gnn'``.
        structure_loss (str), loss_kwargs (dict): the structure loss by name.
    """
    encoder: str = 'auto'
    hidden_channels: int = 64
    out_channels: int = 64
    num_layers: int = 2
    num_heads: int = 4
    dropout: float = 0.1
    pooling: str = 'mean'
    max_length: int = 128
    mask_rate: float = 0.15
    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    schedule: str = 'linear'
    grad_clip: Optional[float] = 1.0
    num_positives: int = 4
    num_negatives: int = 16
    negative_sampling: str = 'uniform'
    num_neighbors: Optional[list[int]] = None
    structure_loss: str = 'margin_contrastive'
    loss_kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict) -> 'PretrainConfig':
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise PygSipError(f'unknown config keys {unknown}; known: {sorted(known)}')
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> 'PretrainConfig':
        try:
            values = json.loads(Path(path).read_text())
        except json.JSONDecodeError as e:
            raise PygSipError(f'{path}: line {e.lineno}: invalid JSON ({e.msg})') from e
        return cls.from_dict(values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
