r"""The no-code workflow behind ``pyg-sip prepare`` and ``pyg-sip
pretrain``: raw files → :class:`~pyg_sip.data.SampleGraph` (by adapter
name) → a self-describing run folder (:mod:`pyg_sip.pipeline.run`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import torch

from pyg_sip.data import SampleGraph, load_graph, load_tokenizer, save_graph, save_tokenizer
from pyg_sip.data.tokenizers import Tokenizer
from pyg_sip.errors import PygSipError
from pyg_sip.pipeline.pretrain import encoder_spec, make_trainer
from pyg_sip.pipeline.run import (
    CONFIG,
    REPORT,
    SPEC,
    TOKENIZER,
    RunConfig,
    clear_run,
    read_json,
    run_state,
    save_weights,
    write_json,
)
from pyg_sip.utils.io import clean_stale_tmp


def tokenizer_path(graph_path: str | Path) -> Path:
    """Where ``pyg-sip prepare`` keeps the tokenizer of ``graph.pt``:
    ``graph.tokenizer.json`` beside it."""
    graph_path = Path(graph_path)
    return graph_path.with_name(graph_path.stem + '.tokenizer.json')


def graph_tokenizer(graph: SampleGraph, report: dict[str, Any]) -> Any:
    """The :mod:`pyg_sip` tokenizer an adapter encoded ``graph`` with
    (its report's ``tokenizer`` entry, or the graph's), or ``None``."""
    tokenizer = report.pop('tokenizer', None)
    if tokenizer is None:
        tokenizer = getattr(graph, 'tokenizer', None)
    return tokenizer if isinstance(tokenizer, Tokenizer) else None


def build_from_adapter(kind: str, options: dict[str, Any]) -> tuple[SampleGraph, dict, Any]:
    r"""Run the adapter ``kind`` (see :func:`pyg_sip.datasets.get_adapter`)
    with ``options``: unknown options, a missing required one or a value of
    the wrong type raise :class:`PygSipError` before any file is read.
    Returns the graph, its load report and its tokenizer."""
    from pyg_sip.datasets import get_adapter
    graph, report = get_adapter(kind).build(**options)
    report = dict(report or {})
    return graph, report, graph_tokenizer(graph, report)


def prepare_data(data: dict[str, Any]) -> tuple[SampleGraph, dict, Any]:
    r"""The graph a run configuration's ``data`` entry names: a graph file
    (with the tokenizer ``pyg-sip prepare`` wrote beside it, if any) or an
    adapter spec prepared on the fly. Returns ``(graph, report, tokenizer)``."""
    if 'graph' in data:
        path = Path(data['graph'])
        graph = load_graph(path)
        tok_path = tokenizer_path(path)
        tokenizer = load_tokenizer(tok_path) if tok_path.is_file() else None
        return graph, {'graph': str(path), 'num_samples': graph.num_nodes,
                       'num_edges': int(graph.edge_index.size(1))}, tokenizer
    options = {k: v for k, v in data.items() if k != 'kind'}
    return build_from_adapter(data['kind'], options)


def save_prepared(graph: SampleGraph, tokenizer: Any, out: str | Path) -> list[Path]:
    """Write ``graph`` (and its tokenizer beside it); returns the paths."""
    out = Path(out)
    if out.is_dir():
        raise PygSipError(f'--out {out} is a folder; give the graph file to write')
    clean_stale_tmp(out.parent)
    paths = [save_graph(graph, out)]
    if tokenizer is not None:
        paths.append(save_tokenizer(tokenizer, tokenizer_path(out)))
    return paths


def _json_safe(report: dict[str, Any]) -> Any:
    return json.loads(json.dumps(report, default=str))


def pretrain_run(config: RunConfig, out: str | Path, overwrite: bool = False,
                 progress: bool = True, device: Optional[str] = None) -> str:
    r"""Pre-train into the run folder ``out`` as ``pyg-sip pretrain`` does.

    Everything is checked before anything is written: the configuration,
    the data (loaded or prepared), the encoder, loader and objective, and
    the folder (:func:`~pyg_sip.pipeline.run.run_state`): a finished run
    with the same configuration is left untouched, an unfinished one
    resumes from its checkpoint (bitwise-equal on CPU to an uninterrupted
    run), one with another configuration is refused unless ``overwrite``.
    Stale temporary files of a killed write are removed first.

    Returns the state the folder was found in (``'new'``, ``'resume'``,
    ``'finished'`` or ``'overwrite'``)."""
    out = Path(out)
    if config.data is None:
        raise PygSipError("the run configuration names no data: give --graph or a 'data' "
                          'entry in the config file')
    state = run_state(out, config, overwrite)
    if state == 'finished':
        return state
    graph, report, tokenizer = prepare_data(config.data)
    spec = encoder_spec(graph, config.pretrain)
    trainer = make_trainer(graph, config.lam, config.pretrain, seed=config.seed, out_dir=out,
                           progress=progress, device=device)
    if state == 'resume' and (out / SPEC).is_file() and read_json(out / SPEC) != spec:
        raise PygSipError(f'{out / SPEC}: the data changed since the run began '
                          f'({read_json(out / SPEC)} -> {spec}); pass --overwrite to restart')
    if trainer.rank == 0:  # under torchrun, rank 0 writes the folder
        if state == 'overwrite':
            clear_run(out)
        out.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(out)
        if state != 'resume' or not (out / CONFIG).is_file():
            write_json(out / CONFIG, config.to_dict())
        write_json(out / SPEC, spec)
        write_json(out / REPORT, _json_safe(report))
        if tokenizer is not None:
            save_tokenizer(tokenizer, out / TOKENIZER)
    if trainer.world_size > 1:
        torch.distributed.barrier()  # the other ranks resume from what rank 0 left
    trainer.fit()
    if trainer.rank == 0:
        save_weights(trainer.encoder, out)
    return state
