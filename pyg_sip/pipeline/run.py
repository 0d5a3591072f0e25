r"""A self-describing run folder: everything needed to rebuild a pre-trained
encoder without the code or the data that trained it.

A run folder written by :func:`~pyg_sip.pipeline.workflow.pretrain_run`
(``pyg-sip pretrain``) holds:

================== ==========================================================
``config.json``    the full run configuration (:class:`RunConfig`: the data,
                   λ, the seed and every :class:`PretrainConfig` field); it is
                   also a valid ``--config`` file that repeats the run
``encoder.json``   what the encoder needs to know about the data (kind,
                   vocabulary size, feature width: :func:`encoder_spec`)
``tokenizer.json`` the tokenizer of token-sequence runs
``data.json``      the load report of the data (kept/dropped counts)
``checkpoint.pt``  the Trainer's checkpoint (written every
                   ``checkpoint_every`` steps: a killed run resumes from it)
``metrics.jsonl``  one line of losses per logged step
``encoder.pt``     the pre-trained encoder's weights: the run is finished
================== ==========================================================

Every file is written atomically (:mod:`pyg_sip.utils.io`) and every
``.pt`` file is read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from torch import nn

from pyg_sip.data import load_tokenizer
from pyg_sip.errors import PygSipError
from pyg_sip.pipeline.config import PretrainConfig, check_int, read_config_file, with_line
from pyg_sip.pipeline.pretrain import build_encoder
from pyg_sip.utils.io import atomic_save, atomic_write_text, load_tensors

CONFIG = 'config.json'
SPEC = 'encoder.json'
TOKENIZER = 'tokenizer.json'
REPORT = 'data.json'
WEIGHTS = 'encoder.pt'
CHECKPOINT = 'checkpoint.pt'
METRICS = 'metrics.jsonl'
BEST = 'best.pt'
#: Every file a run writes (removed by ``--overwrite``, nothing else is).
RUN_FILES = (CONFIG, SPEC, TOKENIZER, REPORT, CHECKPOINT, METRICS, BEST, WEIGHTS)
#: Settings that change how a run is written, not what it computes: a run
#: resumes whatever their value.
NOT_COMPARED = ('checkpoint_every', )
_RUN_KEYS = ('data', 'lam', 'seed')


@dataclass
class RunConfig:
    r"""The full configuration of one pre-training run, as written to a run
    folder's ``config.json`` and read from ``pyg-sip pretrain --config``
    files: one flat mapping of ``data``, ``lam``, ``seed`` and the
    :class:`PretrainConfig` fields.

    Args:
        data (dict, optional): where the samples and :math:`G_{PT}` come
            from: ``{"graph": "graph.pt"}`` (a file written by
            :func:`~pyg_sip.data.save_graph` or ``pyg-sip prepare``) or an
            adapter spec ``{"kind": "proteins", <option>: <value>, ...}``
            prepared on the fly (``pyg-sip prepare --help`` lists the kinds,
            ``pyg-sip prepare KIND --help`` their options). Relative paths
            are read relative to the config file's folder.
        lam (float): :math:`\lambda \in [0, 1]`. (default: :obj:`0.1`)
        seed (int): the RNG seed (≥ 0). (default: :obj:`0`)
        pretrain (PretrainConfig): everything else.
    """
    data: Optional[dict[str, Any]] = None
    lam: float = 0.1
    seed: int = 0
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)

    def __post_init__(self) -> None:
        if isinstance(self.lam, bool) or not isinstance(self.lam, (int, float)) or \
                not math.isfinite(self.lam) or not 0 <= self.lam <= 1:
            raise PygSipError(f"'lam' must be a number in [0, 1], got {self.lam!r}")
        self.lam = float(self.lam)
        check_int('seed', self.seed, 0)
        if self.data is not None:
            check_data(self.data)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> 'RunConfig':
        """Build from one flat mapping (unknown keys are an error)."""
        if not isinstance(values, dict):
            raise PygSipError(f'a run configuration must be a mapping, got '
                              f'{type(values).__name__}')
        known = set(_RUN_KEYS) | set(PretrainConfig.fields())
        unknown = sorted(set(values) - known)
        if unknown:
            raise PygSipError(f'unknown config keys {unknown}; known: {sorted(known)}')
        run = {k: values[k] for k in _RUN_KEYS if k in values}
        rest = {k: v for k, v in values.items() if k not in _RUN_KEYS}
        return cls(pretrain=PretrainConfig.from_dict(rest), **run)

    @classmethod
    def from_file(cls, path: str | Path) -> 'RunConfig':
        """Read a JSON or YAML file; relative data paths are resolved
        against the file's folder."""
        path = Path(path)
        values, text = read_config_file(path)
        config = with_line(path, text, values, cls.from_dict)
        if config.data is not None:
            config.data = resolve_paths(config.data, path.parent)
        return config

    def to_dict(self) -> dict[str, Any]:
        return {'data': self.data, 'lam': self.lam, 'seed': self.seed,
                **self.pretrain.to_dict()}


def check_data(data: Any) -> None:
    r"""Check the shape of a ``data`` entry: ``{"graph": path}`` or
    ``{"kind": name, ...options}`` (the options are checked against the
    adapter when the data are prepared)."""
    if not isinstance(data, dict):
        raise PygSipError(f"'data' must be a mapping such as {{'graph': 'graph.pt'}} or "
                          f"{{'kind': 'proteins', ...}}, got {data!r}")
    if 'graph' in data:
        if set(data) != {'graph'} or not isinstance(data['graph'], str):
            raise PygSipError(f"'data' with a 'graph' file takes only that path, got {data!r}")
    elif not isinstance(data.get('kind'), str):
        raise PygSipError(f"'data' needs a 'graph' file or an adapter 'kind', got {data!r}")


def resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` with its file paths made absolute against ``base``: the
    ``graph`` file, or the adapter options of type path."""
    if 'graph' in data:
        return {'graph': str((base / data['graph']).resolve())}
    from pyg_sip.datasets import get_adapter
    path_options = {o.name for o in get_adapter(data['kind']).options if o.type is Path}
    out = dict(data)
    for name in path_options & set(out):
        value = out[name]
        if isinstance(value, str):
            out[name] = str((base / value).resolve())
        elif isinstance(value, list):
            out[name] = [str((base / v).resolve()) if isinstance(v, str) else v
                         for v in value]
    return out


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every compared key whose value differs."""
    keys = sorted((set(old) | set(new)) - set(NOT_COMPARED))
    missing = object()
    return [f'{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}'.replace(
        repr(missing), '(absent)') for k in keys if old.get(k, missing) != new.get(k, missing)]


def read_json(path: Path) -> Any:
    """A JSON file of a run folder; errors name the file."""
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PygSipError(f'{path}: not a readable JSON file ({e})') from e


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(value, indent=1) + '\n')


def run_state(out: Path, config: RunConfig, overwrite: bool = False) -> str:
    r"""What ``pyg-sip pretrain`` may do with the folder ``out``, decided
    before anything is written: ``'new'`` (nothing of a run there),
    ``'resume'`` (the same configuration, unfinished), ``'finished'`` (the
    same configuration and ``encoder.pt``), or ``'overwrite'`` (another
    run's files, ``overwrite=True``). Another configuration without
    ``overwrite`` raises :class:`PygSipError` listing the differing keys."""
    if out.exists() and not out.is_dir():
        raise PygSipError(f'{out} is a file, not a run folder')
    present = [name for name in RUN_FILES if (out / name).exists()]
    if not present:
        return 'new'
    if CONFIG not in present:
        if overwrite:
            return 'overwrite'
        raise PygSipError(f'{out} holds run files ({", ".join(present)}) but no {CONFIG}: '
                          'not a run folder this version wrote; pass --overwrite to replace '
                          'them or choose another --out')
    old = read_json(out / CONFIG)
    diff = config_diff(old if isinstance(old, dict) else {}, config.to_dict())
    if diff:
        if overwrite:
            return 'overwrite'
        raise PygSipError(f'{out} holds a run with another configuration ({"; ".join(diff)}); '
                          'pass --overwrite to replace it or choose another --out')
    return 'finished' if WEIGHTS in present else 'resume'


def clear_run(out: Path) -> None:
    """Remove the files of a run from ``out`` (nothing else)."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)


@dataclass
class Run:
    r"""A run folder read back: its configuration, the encoder spec, the
    rebuilt encoder with the trained weights, and the tokenizer (``None``
    for runs whose samples are not token sequences)."""
    folder: Path
    config: RunConfig
    spec: dict[str, Any]
    encoder: nn.Module
    tokenizer: Any = None


def load_run(folder: str | Path) -> Run:
    r"""Rebuild the pre-trained encoder (and its tokenizer) of a run
    folder: the encoder that ``config.json`` and ``encoder.json`` describe,
    with the weights of ``encoder.pt`` (``torch.load(weights_only=True)``).
    Every error names the file at fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PygSipError(f'{folder}: no such run folder')
    for name in (CONFIG, SPEC, WEIGHTS):
        if not (folder / name).is_file():
            hint = (' (the run has not finished: rerun the same `pyg-sip pretrain` to resume)'
                    if name == WEIGHTS and (folder / CHECKPOINT).exists() else '')
            raise PygSipError(f'{folder / name}: missing; not a finished run folder{hint}')
    values, text = read_config_file(folder / CONFIG)  # paths are absolute already
    config = with_line(folder / CONFIG, text, values, RunConfig.from_dict)
    spec = read_json(folder / SPEC)
    if not isinstance(spec, dict) or 'encoder' not in spec:
        raise PygSipError(f'{folder / SPEC}: not an encoder description')
    try:
        encoder = build_encoder(spec, config.pretrain)
    except KeyError as e:
        raise PygSipError(f'{folder / SPEC}: missing entry {e}') from e
    load_weights(encoder, folder / WEIGHTS)
    tokenizer = None
    if (folder / TOKENIZER).is_file():
        tokenizer = load_tokenizer(folder / TOKENIZER)
    elif spec['encoder'] == 'hf':
        tokenizer = encoder.tokenizer
    return Run(folder, config, spec, encoder, tokenizer)


def load_encoder(folder: str | Path) -> tuple[nn.Module, Any]:
    r"""The pre-trained encoder of a run folder and its tokenizer (``None``
    where the samples are not token sequences): see :func:`load_run`.

    .. code-block:: python

        encoder, tokenizer = pyg_sip.load_encoder('runs/proteins')
    """
    run = load_run(folder)
    return run.encoder, run.tokenizer


def load_weights(encoder: nn.Module, path: Path) -> None:
    """Load a ``state_dict`` file into ``encoder``; errors name the file."""
    state = load_tensors(path, 'weights file')
    if not isinstance(state, dict):
        raise PygSipError(f'{path}: not a state_dict (got {type(state).__name__})')
    try:
        encoder.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise PygSipError(f'{path}: the weights do not fit the encoder that the run '
                          f'describes ({first[1].strip() if len(first) > 1 else first[0]})') \
            from e


def save_weights(encoder: nn.Module, folder: Path) -> Path:
    """Write the encoder's weights: the run is finished."""
    return atomic_save(encoder.state_dict(), folder / WEIGHTS)
