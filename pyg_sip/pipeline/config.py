r"""The configuration of one pre-training run: :class:`PretrainConfig`, and
reading configuration files (JSON, or YAML when PyYAML is installed) with
errors that name the file, the line and the offending value."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from pyg_sip.errors import PygSipError

#: Encoders :func:`~pyg_sip.pipeline.build_encoder` can build by name.
ENCODERS = ('auto', 'sequence', 'mlp', 'gnn', 'molecule', 'hf')
SCHEDULES = ('constant', 'linear', 'cosine')
POOLINGS = ('cls', 'mean')


def negative_policies() -> tuple[str, ...]:
    """The negative-sampling policies of :class:`~pyg_sip.sampling.StructureLoader`."""
    import pyg_sip.sampling as sampling
    if hasattr(sampling, 'available_policies'):
        return tuple(sampling.available_policies())
    from pyg_sip.sampling.negative import NEGATIVE_SAMPLING
    return tuple(NEGATIVE_SAMPLING)


def structure_losses() -> tuple[str, ...]:
    """The structure losses registered in :mod:`pyg_sip.losses`."""
    from pyg_sip.losses import available_losses
    return tuple(available_losses())


def check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an ``int >= low`` (bools, floats and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PygSipError(f"'{name}' must be an integer >= {low}, got {value!r}")
    if value < low:
        raise PygSipError(f"'{name}' must be >= {low}, got {value!r}")
    return value


def check_float(name: str, value: Any, low: float, high: float = math.inf,
                low_open: bool = False, high_open: bool = True) -> float:
    """``value`` as a finite float in the given interval (ints accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PygSipError(f"'{name}' must be a number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise PygSipError(f"'{name}' must be a finite number in {interval}, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` as one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise PygSipError(f"'{name}' must be one of {list(choices)}, got {value!r}")
    return value


@dataclass
class PretrainConfig:
    r"""Everything that defines one pre-training run besides the data, λ
    and the seed. Serialisable to/from JSON or YAML (``--config`` files).
    Every field is checked on construction: a wrong type or an out-of-range
    value raises :class:`~pyg_sip.errors.PygSipError` naming the field and
    the value.

    Args:
        encoder (str): ``'auto'`` (from the graph's payload: tokens →
            ``sequence``, ``x`` → ``mlp``, molecules → ``molecule``),
            ``'sequence'``, ``'mlp'``, ``'gnn'``, ``'molecule'`` or ``'hf'``
            (a local Hugging Face model at ``model_path``).
        hidden_channels, out_channels, num_layers, num_heads (int): encoder
            sizes (each ≥ 1).
        dropout (float): in :math:`[0, 1)`.
        pooling (str): ``'cls'`` or ``'mean'`` (sequence encoders).
        max_length (int): tokens kept per sequence (the first ones).
        mask_rate (float): corruption rate of the per-sample loss, in
            :math:`[0, 1)`; 0 trains without it.
        steps, batch_size (int): optimiser steps and anchors per step (≥ 1).
        lr (float): peak learning rate (> 0).
        weight_decay (float): AdamW weight decay (≥ 0).
        warmup_steps (int): linear warm-up steps (≥ 0).
        schedule (str): ``'constant'``, ``'linear'`` or ``'cosine'``.
        grad_clip (float, optional): max gradient norm (> 0), ``None`` for
            no clipping.
        num_positives (int), num_negatives (int), negative_sampling (str):
            structure sampling (see :class:`~pyg_sip.sampling.StructureLoader`);
            ``num_negatives=None`` with ``'in_batch'``: every other sample of
            the batch is a negative.
        num_neighbors (list[int], optional): k-hop fan-outs for ``'gnn'``.
        structure_loss (str), loss_kwargs (dict): the structure loss by its
            registered name and its keyword arguments.
        checkpoint_every (int, optional): steps between checkpoints of a run
            written to a folder, so a killed run loses at most that many
            steps (one is always written at the end). ``None``: only at the end.
        model_path (str, optional): local Hugging Face model directory
            (``encoder='hf'`` only).
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
    num_negatives: Optional[int] = 16
    negative_sampling: str = 'uniform'
    num_neighbors: Optional[list[int]] = None
    structure_loss: str = 'margin_contrastive'
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    checkpoint_every: Optional[int] = 50
    model_path: Optional[str] = None

    def __post_init__(self) -> None:
        self.encoder = check_choice('encoder', self.encoder, ENCODERS)
        for name in ('hidden_channels', 'out_channels', 'num_layers', 'num_heads',
                     'max_length', 'steps', 'batch_size', 'num_positives'):
            check_int(name, getattr(self, name), 1)
        check_int('warmup_steps', self.warmup_steps, 0)
        if self.num_negatives is not None or self.negative_sampling != 'in_batch':
            check_int('num_negatives', self.num_negatives, 0)  # None: all in-batch negatives
        self.dropout = check_float('dropout', self.dropout, 0.0, 1.0)
        self.mask_rate = check_float('mask_rate', self.mask_rate, 0.0, 1.0)
        self.lr = check_float('lr', self.lr, 0.0, low_open=True)
        self.weight_decay = check_float('weight_decay', self.weight_decay, 0.0)
        if self.grad_clip is not None:
            self.grad_clip = check_float('grad_clip', self.grad_clip, 0.0, low_open=True)
        self.pooling = check_choice('pooling', self.pooling, POOLINGS)
        self.schedule = check_choice('schedule', self.schedule, SCHEDULES)
        self.negative_sampling = check_choice('negative_sampling', self.negative_sampling,
                                              negative_policies())
        self.structure_loss = check_choice('structure_loss', self.structure_loss,
                                           structure_losses())
        if self.num_neighbors is not None:
            if not isinstance(self.num_neighbors, (list, tuple)) or not self.num_neighbors:
                raise PygSipError(f"'num_neighbors' must be a non-empty list of integers, "
                                  f'got {self.num_neighbors!r}')
            self.num_neighbors = [check_int('num_neighbors', k, -1)
                                  for k in self.num_neighbors]
        if not isinstance(self.loss_kwargs, dict) or not all(
                isinstance(k, str) for k in self.loss_kwargs):
            raise PygSipError(f"'loss_kwargs' must be a mapping of argument names to values, "
                              f'got {self.loss_kwargs!r}')
        if self.checkpoint_every is not None:
            check_int('checkpoint_every', self.checkpoint_every, 1)
        if self.model_path is not None and not isinstance(self.model_path, str):
            raise PygSipError(f"'model_path' must be a path string, got {self.model_path!r}")
        if self.encoder == 'hf' and self.model_path is None:
            raise PygSipError("encoder 'hf' needs 'model_path' (a local Hugging Face model "
                              'directory)')

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: dict) -> 'PretrainConfig':
        """Build from a mapping of field names (unknown keys are an error)."""
        if not isinstance(values, dict):
            raise PygSipError(f'a configuration must be a mapping of fields, got '
                              f'{type(values).__name__}')
        unknown = sorted(set(values) - set(cls.fields()))
        if unknown:
            raise PygSipError(f'unknown config keys {unknown}; known: {sorted(cls.fields())}')
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> 'PretrainConfig':
        """Read a JSON (``.json``) or YAML (``.yaml``/``.yml``) file."""
        values, text = read_config_file(path)
        return with_line(path, text, values, cls.from_dict)

    from_json = from_file  # the name earlier releases had

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_config_file(path: str | Path) -> tuple[dict, str]:
    r"""The mapping in a JSON or YAML file and the file's text. A missing
    file, a parse error (with its line) or a top level that is not a mapping
    raises :class:`~pyg_sip.errors.PygSipError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise PygSipError(f'{path}: no such config file')
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        raise PygSipError(f'{path}: cannot read the config file ({e})') from e
    if path.suffix.lower() in ('.yaml', '.yml'):
        try:
            import yaml
        except ImportError as e:
            raise PygSipError(f'{path}: reading YAML needs PyYAML (pip install pyyaml, or '
                              'the text extra: pip install pyg_sip[text]); or use JSON') from e
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, 'problem_mark', None)
            where = f'line {mark.line + 1}: ' if mark is not None else ''
            problem = getattr(e, 'problem', None) or str(e)
            raise PygSipError(f'{path}: {where}invalid YAML ({problem})') from e
    else:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as e:
            raise PygSipError(f'{path}: line {e.lineno}: invalid JSON ({e.msg})') from e
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise PygSipError(f'{path}: the top level must be a mapping of fields, got '
                          f'{type(values).__name__}')
    return values, text


def key_line(text: str, key: str) -> Optional[int]:
    """The 1-based line of ``key`` in a JSON (``"key":``) or YAML
    (``key:``) text, ``None`` when it is not found."""
    pattern = re.compile(rf'^\s*(?:"{re.escape(key)}"|\'{re.escape(key)}\'|{re.escape(key)})\s*:')
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line) or f'"{key}":' in line:
            return number
    return None


def with_line(path: str | Path, text: str, values: dict, build: Callable[[dict], Any]) -> Any:
    """``build(values)``, with a :class:`PygSipError` prefixed by the file
    and, when the message names a key of the file, that key's line."""
    try:
        return build(values)
    except PygSipError as e:
        message = str(e)
        named = re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", message)
        lines = [key_line(text, k) for k in named if k in values]
        where = f'line {lines[0]}: ' if lines and lines[0] is not None else ''
        raise PygSipError(f'{path}: {where}{message}') from e
