"""Reading OGB node-property datasets (``ogbn-arxiv``, the paper citations
of ``ogbn-mag``) from their local files, never downloading, and joining
paper titles / abstracts to their nodes."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    check_unique,
    existing_file,
    file_error,
    index_of,
    is_float,
    iter_lines,
    parse_int,
    undirected_edges,
)
from pyg_sip.errors import PygSipError


@dataclass(frozen=True)
class OGBNodeLayout:
    r"""Where an OGB node dataset keeps its files, relative to its folder.

    Args:
        edge (str): Citation edges (``src,dst`` rows).
        feat (str): Node features (one comma-separated row per node).
        label (str): Node labels (one per row).
        split (str): Folder of ``train/valid/test.csv.gz`` (node indices).
        mapping (str): Node index to paper id (header row), used to join
            titles and abstracts.
    """
    edge: str
    feat: str
    label: str
    split: str
    mapping: str


#: The layouts of the supported OGB node datasets (for ``ogbn-mag``, the
#: ``paper -- cites -- paper`` part).
OGB_NODE_LAYOUTS = {
    'ogbn-arxiv': OGBNodeLayout('raw/edge.csv.gz', 'raw/node-feat.csv.gz',
                                'raw/node-label.csv.gz', 'split/time',
                                'mapping/nodeidx2paperid.csv.gz'),
    'ogbn-mag': OGBNodeLayout('raw/relations/paper___cites___paper/edge.csv.gz',
                              'raw/node-feat/paper/node-feat.csv.gz',
                              'raw/node-label/paper/node-label.csv.gz', 'split/time/paper',
                              'mapping/paper_entidx2name.csv.gz'),
}


def _first_bad_row(path: Path, dtype, skip_header: bool) -> PygSipError:
    """The error naming the first line of ``path`` that ``np.loadtxt``
    rejected (a non-number or a different field count)."""
    width = None
    for lineno, line in iter_lines(path):
        if (skip_header and lineno == 1) or not line.strip():
            continue
        fields = line.split(',')
        width = width or len(fields)
        if len(fields) != width:
            return file_error(path, lineno, f'expected {width} comma-separated fields, found '
                              f'{len(fields)}')
        for value in fields:
            ok = parse_int(value) is not None if np.issubdtype(dtype, np.integer) else \
                is_float(value)
            if not ok:
                kind = 'an integer' if np.issubdtype(dtype, np.integer) else 'a number'
                return file_error(path, lineno, f"expected {kind}, found '{value.strip()}'")
    return PygSipError(f"'{path}' is not a numeric comma-separated file")


def read_csv(path: PathLike, dtype, skip_header: bool = False) -> np.ndarray:
    """A numeric comma-separated file (plain or ``.gz``) as a 2-D array;
    a bad row raises :class:`PygSipError` naming its line."""
    path = existing_file(path)
    for _ in iter_lines(path):  # checks gzip integrity, UTF-8 and emptiness first
        pass
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # numpy warns on an empty file; we raise
        try:
            out = np.loadtxt(path, delimiter=',', dtype=dtype, ndmin=2,
                             skiprows=int(skip_header))
        except ValueError:
            raise _first_bad_row(path, dtype, skip_header) from None
    if out.size == 0:
        raise PygSipError(f"'{path}' has no data rows")
    return out


def _check_range(path: Path, values: np.ndarray, num_nodes: int, skip: int = 0) -> None:
    bad = np.flatnonzero(((values < 0) | (values >= num_nodes)).any(axis=-1))
    if len(bad):
        raise file_error(path, int(bad[0]) + 1 + skip, f'node index {values[bad[0]].tolist()} '
                         f'is outside [0, {num_nodes})')


def ogb_folder(root: PathLike, name: str) -> Tuple[Path, OGBNodeLayout]:
    """The dataset folder under ``root`` (``root/ogbn_arxiv`` or ``root``
    itself) and its layout."""
    if name not in OGB_NODE_LAYOUTS:
        raise PygSipError(f"unknown OGB node dataset '{name}' (expected one of "
                          f'{sorted(OGB_NODE_LAYOUTS)})')
    folder = Path(root) / name.replace('-', '_')
    return (folder if folder.is_dir() else Path(root)), OGB_NODE_LAYOUTS[name]


def read_ogb_node(root: PathLike, name: str, report: LoadReport) -> Dict[str, Tensor]:
    """Features ``x``, undirected ``edge_index``, labels ``y`` and the time
    split's masks of an OGB node dataset."""
    folder, layout = ogb_folder(root, name)
    x = torch.from_numpy(read_csv(folder / layout.feat, np.float32))
    num_nodes = x.size(0)
    edges = read_csv(folder / layout.edge, np.int64)
    if edges.shape[1] != 2:
        raise file_error(folder / layout.edge, 1, f'expected 2 columns, found {edges.shape[1]}')
    _check_range(folder / layout.edge, edges, num_nodes)
    labels = read_csv(folder / layout.label, np.int64)
    if labels.shape != (num_nodes, 1):
        raise PygSipError(f"'{folder / layout.label}' has {labels.shape[0]} rows of "
                          f"{labels.shape[1]} fields, '{folder / layout.feat}' {num_nodes} rows")
    out = {'x': x, 'y': torch.from_numpy(labels[:, 0])}
    for part, key in (('train', 'train_mask'), ('valid', 'val_mask'), ('test', 'test_mask')):
        path = folder / layout.split / f'{part}.csv.gz'
        index = read_csv(path, np.int64)
        _check_range(path, index, num_nodes)
        out[key] = torch.zeros(num_nodes, dtype=torch.bool)
        out[key][torch.from_numpy(index[:, 0])] = True
    out['edge_index'], _ = undirected_edges(edges[:, 0], edges[:, 1], num_nodes, report, 'edges')
    return out


def read_paper_texts(path: PathLike, mapping: Optional[np.ndarray], num_nodes: int,
                     report: LoadReport) -> Tuple[np.ndarray, List[str]]:
    """``(node index, text)`` of a ``id<TAB>title[<TAB>abstract...]`` file;
    title and abstract are joined by a space. Ids are paper ids (positions
    in ``mapping``) when it is given, node indices otherwise. A first line
    whose id is not an integer is a header."""
    path = existing_file(path)
    ids, texts, linenos, first = [], [], [], True
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        pid, _, text = line.partition('\t')
        value = parse_int(pid)
        is_header, first = first and value is None, False
        if is_header:
            continue
        if value is None or value < 0:
            raise file_error(path, lineno, f"paper id '{pid.strip()}' is not a non-negative "
                             f'integer')
        if not text.strip():
            raise file_error(path, lineno, f"no text for paper '{value}'")
        ids.append(value)
        texts.append(' '.join(text.split('\t')))
        linenos.append(lineno)
    linenos = np.array(linenos, dtype=np.int64)
    ids = np.array(ids, dtype=np.int64)
    if len(ids) == 0:
        raise PygSipError(f"'{path}' has no data rows")
    check_unique(ids, linenos, path, 'paper')
    if mapping is not None:
        node, found = index_of(mapping, ids)
    else:
        node, found = ids, ids < num_nodes
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        report.drop('texts_unknown_paper', int((~found).sum()),
                    f"'{ids[i]}' at '{path}', line {linenos[i]}")
    return node[found], [t for t, f in zip(texts, found.tolist()) if f]

