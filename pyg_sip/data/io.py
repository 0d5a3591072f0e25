r"""Saving and loading :class:`SampleGraph` files (``torch.save`` of plain
tensors, loaded with ``weights_only=True``: no pickled code is executed)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from pyg_sip.data.payload import PAYLOAD_KEYS
from pyg_sip.data.sample_graph import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.utils.io import atomic_save, load_tensors

_FORMAT = 'pyg_sip.SampleGraph/1'
_DERIVED = {'num_nodes', *PAYLOAD_KEYS}


def _is_directed(graph: SampleGraph) -> bool:
    row, col = graph.edge_index
    if bool((row == col).any()):
        return True
    n = graph.num_nodes
    fwd = torch.sort(row * n + col).values
    bwd = torch.sort(col * n + row).values
    return not torch.equal(fwd, bwd)


def graph_to_dict(graph: SampleGraph) -> dict[str, Any]:
    """The constructor arguments that rebuild ``graph``, as tensors, ints and
    lists of tensor dicts."""
    out: dict[str, Any] = {'format': _FORMAT, 'num_nodes': graph.num_nodes,
                           'directed': _is_directed(graph)}
    for key, value in graph._store.items():
        if key not in _DERIVED and isinstance(value, (Tensor, int, float, str)):
            out[key] = value
    payload = graph.payload_type
    if payload is not None:
        out.update(payload.to_args(graph._store))
    if 'molecules' in out:  # plain tensor dicts load with weights_only=True
        out['molecules'] = [{k: v for k, v in m.to_dict().items() if isinstance(v, Tensor)}
                            for m in out['molecules']]
    return out


def graph_from_dict(values: dict[str, Any]) -> SampleGraph:
    """Inverse of :func:`graph_to_dict`."""
    values = dict(values)
    if values.pop('format', None) != _FORMAT:
        raise PygSipError(f'not a pyg_sip SampleGraph file (expected format {_FORMAT})')
    if 'molecules' in values:
        from torch_geometric.data import Data
        values['molecules'] = [Data(**m) for m in values['molecules']]
    return SampleGraph(**values)


def save_graph(graph: SampleGraph, path: str | os.PathLike) -> Path:
    r"""Save ``graph`` to ``path`` atomically (a temporary file unique to
    this process, fsynced, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(graph_to_dict(graph), path)
    return path


def load_graph(path: str | os.PathLike) -> SampleGraph:
    r"""Load a graph written by :func:`save_graph`; validation runs as in
    every constructor."""
    path = Path(path)
    if not path.is_file():
        raise PygSipError(f'{path}: no such file')
    values = load_tensors(path, 'SampleGraph file')
    if not isinstance(values, dict):
        raise PygSipError(f'{path}: not a pyg_sip SampleGraph file')
    try:
        return graph_from_dict(values)
    except PygSipError as e:
        raise PygSipError(f'{path}: {e}') from e
