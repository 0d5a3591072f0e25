r"""Reading the raw Planetoid files (``ind.<name>.*``) without running code
planted in them: the pickles are read by an unpickler that builds only
numpy arrays, sparse-row matrices and built-in containers, and no
``processed/`` file is ever loaded."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_sip.datasets._io import file_error, iter_lines
from pyg_sip.errors import PygSipError

PLANETOID_NAMES = ('Cora', 'CiteSeer', 'PubMed')
PLANETOID_RAW = ('x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph', 'test.index')


class _SparseRows:
    """What a pickled ``scipy.sparse.csr_matrix`` becomes: its attributes
    (``indptr``, ``indices``, ``data``, ``_shape``), nothing callable."""
    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def dense(self, path: Path) -> np.ndarray:
        state = self.state
        try:
            ptr, col, val = (np.asarray(state[k]) for k in ('indptr', 'indices', 'data'))
            rows, cols = (int(v) for v in state.get('_shape', state.get('shape')))
        except (KeyError, TypeError, ValueError):
            raise PygSipError(f"'{path}': not a sparse matrix pickle (no indptr, indices, "
                              f'data and shape)') from None
        if len(ptr) != rows + 1 or len(col) != len(val) or ptr[-1] != len(col) or \
                (np.diff(ptr) < 0).any() or (len(col) and not 0 <= col.min() <= col.max() < cols):
            raise PygSipError(f"'{path}': inconsistent sparse matrix of shape {(rows, cols)}")
        out = np.zeros((rows, cols), dtype=np.float32)
        out[np.repeat(np.arange(rows), np.diff(ptr)), col] = val
        return out


def _reconstruct(*args: Any) -> Any:
    core = getattr(np, '_core', None) or np.core  # numpy >= 2 renamed numpy.core
    if not args or args[0] is not np.ndarray:
        raise pickle.UnpicklingError('only numpy.ndarray may be reconstructed')
    return core.multiarray._reconstruct(*args)


def _safe_defaultdict(factory: Any = None, *args: Any) -> Any:
    from collections import defaultdict
    if factory not in (None, list, set, dict, int):
        raise pickle.UnpicklingError('defaultdict with a forbidden factory')
    return defaultdict(factory, *args)


_BUILTINS = {'list': list, 'dict': dict, 'set': set, 'tuple': tuple, 'int': int,
             'float': float}
# (module, name) -> the object the pickle may use; nothing else resolves.
_ALLOWED: Dict[Tuple[str, str], Any] = {
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
    ('scipy.sparse.csr', 'csr_matrix'): _SparseRows,
    ('scipy.sparse._csr', 'csr_matrix'): _SparseRows,
    ('collections', 'defaultdict'): _safe_defaultdict,
    **{(mod, name): obj for mod in ('builtins', '__builtin__')
       for name, obj in _BUILTINS.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden object '{module}.{name}'") from None


def read_pickle(path: Path) -> Any:
    """Unpickles ``path`` allowing only numpy arrays, sparse-row matrices and
    built-in containers; anything else (a planted ``os.system``, a class of
    another module) raises :class:`PygSipError` naming the file, before it
    can run."""
    try:
        with open(path, 'rb') as f:
            return _RestrictedUnpickler(f, encoding='latin1').load()
    except PygSipError:
        raise
    except Exception as e:  # a pickle can fail in many ways; all mean a bad file
        raise PygSipError(f"'{path}' is not a Planetoid pickle of arrays: "
                          f'{type(e).__name__}: {e}') from None


def _matrix(path: Path) -> np.ndarray:
    out = read_pickle(path)
    if isinstance(out, _SparseRows):
        return out.dense(path)
    if isinstance(out, np.ndarray) and out.ndim == 2 and out.dtype.kind in 'biuf':
        return out.astype(np.float32)
    raise PygSipError(f"'{path}': expected a 2-D numeric matrix, got {type(out).__name__}")


def _test_index(path: Path) -> np.ndarray:
    values = []
    for lineno, line in iter_lines(path):
        text = line.strip()
        if not text:
            continue
        if not (text.isascii() and text.isdecimal()):
            raise file_error(path, lineno, f"node index '{text}' is not a non-negative integer")
        values.append(int(text))
    return np.array(values, dtype=np.int64)


def _adjacency(path: Path, num_nodes: int) -> Tensor:
    graph = read_pickle(path)
    if not isinstance(graph, dict):
        raise PygSipError(f"'{path}': expected a dict node -> neighbours, got "
                          f'{type(graph).__name__}')
    keys = np.fromiter(graph.keys(), dtype=np.int64, count=len(graph)) if graph else \
        np.zeros(0, dtype=np.int64)
    try:
        sizes = np.array([len(v) for v in graph.values()], dtype=np.int64)
        col = np.concatenate([np.asarray(list(v), dtype=np.int64) for v in graph.values()]
                             or [np.zeros(0, dtype=np.int64)])
    except (TypeError, ValueError):
        raise PygSipError(f"'{path}': neighbour lists must hold node indices") from None
    row = np.repeat(keys, sizes)
    bad = (row < 0) | (row >= num_nodes) | (col < 0) | (col >= num_nodes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PygSipError(f"'{path}': edge ({row[i]}, {col[i]}) names a node outside "
                          f'[0, {num_nodes})')
    return torch.from_numpy(np.stack([row, col]))


def read_planetoid_raw(raw_dir: Path, name: str) -> Dict[str, Tensor]:
    r"""The arrays of a Planetoid dataset from its eight raw files, assembled
    as :class:`torch_geometric.datasets.Planetoid` does (test rows put in
    node order; CiteSeer's missing test nodes as zero rows with label 0).

    Returns:
        dict with ``x`` [N, F], ``y`` [N], the directed ``edge_index``
        read from ``graph`` (self-loops and repeats left in), and the
        public split's ``train_mask``, ``val_mask``, ``test_mask``.
    """
    prefix = name.lower()
    paths = {s: raw_dir / f'ind.{prefix}.{s}' for s in PLANETOID_RAW}
    m = {s: _matrix(paths[s]) for s in ('x', 'tx', 'allx', 'y', 'ty', 'ally')}
    for a, b in (('x', 'y'), ('tx', 'ty'), ('allx', 'ally')):
        if len(m[a]) != len(m[b]):
            raise PygSipError(f"'{paths[a]}' has {len(m[a])} rows but '{paths[b]}' "
                              f'{len(m[b])}')
    tx, allx, y, ty, ally = m['tx'], m['allx'], m['y'], m['ty'], m['ally']
    test_index = _test_index(paths['test.index'])
    if len(test_index) != len(tx):
        raise PygSipError(f"'{paths['test.index']}' lists {len(test_index)} nodes but "
                          f"'{paths['tx']}' has {len(tx)} rows")
    if tx.shape[1] != allx.shape[1] or ty.shape[1] != ally.shape[1]:
        raise PygSipError(f"the feature or label widths of '{paths['tx']}' / '{paths['ty']}' "
                          f"differ from '{paths['allx']}' / '{paths['ally']}'")
    low = int(test_index.min()) if len(test_index) else len(allx)
    if len(test_index) and low < len(allx):
        raise PygSipError(f"'{paths['test.index']}': test node {low} lies among the "
                          f'{len(allx)} labelled nodes of allx')
    sorted_test = np.sort(test_index)
    if prefix == 'citeseer' and len(test_index):
        # CiteSeer's isolated test nodes have no rows: zero rows fill the gaps
        span = int(test_index.max()) - low + 1
        tx_ext = np.zeros((span, tx.shape[1]), dtype=np.float32)
        ty_ext = np.zeros((span, ty.shape[1]), dtype=np.float32)
        tx_ext[sorted_test - low], ty_ext[sorted_test - low] = tx, ty
        tx, ty = tx_ext, ty_ext
    features = np.concatenate([allx, tx])
    labels = np.concatenate([ally, ty]).argmax(1)
    num_nodes = len(features)
    if len(test_index) and int(test_index.max()) >= num_nodes:
        raise PygSipError(f"'{paths['test.index']}': node {int(test_index.max())} is outside "
                          f'the {num_nodes} nodes')
    features[test_index], labels[test_index] = features[sorted_test], labels[sorted_test]
    masks = {}
    for key, index in (('train_mask', np.arange(len(y))),
                       ('val_mask', np.arange(len(y), min(len(y) + 500, num_nodes))),
                       ('test_mask', test_index)):
        masks[key] = torch.zeros(num_nodes, dtype=torch.bool)
        masks[key][torch.from_numpy(index)] = True
    return dict(x=torch.from_numpy(features), y=torch.from_numpy(labels.astype(np.int64)),
                edge_index=_adjacency(paths['graph'], num_nodes), **masks)


def resplit(data: Dict[str, Tensor], split: str, num_train_per_class: int = 20,
            num_val: int = 500, num_test: int = 1000, seed: int = 0) -> None:
    """Replaces the public split in ``data`` by Planetoid's ``'full'`` split
    (every node outside validation and test trains) or its ``'random'``
    split (``num_train_per_class`` per class, then ``num_val`` and
    ``num_test`` of the rest, drawn with ``seed``)."""
    if split == 'full':
        data['train_mask'] = ~(data['val_mask'] | data['test_mask'])
    elif split == 'random':
        gen = torch.Generator().manual_seed(seed)
        y, num = data['y'], data['y'].numel()
        perm = torch.randperm(num, generator=gen)
        # first num_train_per_class of each class in a random order, vectorised:
        order = perm[torch.sort(y[perm], stable=True).indices]
        first = torch.searchsorted(y[order], y[order], right=False)
        rank = torch.arange(num) - first
        train = torch.zeros(num, dtype=torch.bool)
        train[order[rank < num_train_per_class]] = True
        rest = perm[~train[perm]]
        data['train_mask'] = train
        for key, part in (('val_mask', rest[:num_val]),
                          ('test_mask', rest[num_val:num_val + num_test])):
            data[key] = torch.zeros(num, dtype=torch.bool)
            data[key][part] = True
