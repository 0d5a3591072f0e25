"""Citation networks from local files: Planetoid (Cora, CiteSeer, PubMed),
OGB node datasets (``ogbn-arxiv``, the paper citations of ``ogbn-mag``) with
optional titles / abstracts, and the text-attributed CANE format."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch_geometric.utils import subgraph

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    existing_file,
    file_error,
    first_duplicate,
    index_of,
    iter_lines,
    read_table,
    undirected_edges,
)
from pyg_sip.datasets.text import text_tokenizer
from pyg_sip.errors import PygSipError

PLANETOID_NAMES = ('Cora', 'CiteSeer', 'PubMed')
_PLANETOID_RAW = ('x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph', 'test.index')


def load_planetoid(root: PathLike, name: str, split: str = 'public', **kwargs: Any):
    r"""A Planetoid citation graph (`"Revisiting Semi-Supervised Learning
    with Graph Embeddings" <https://arxiv.org/abs/1603.08861>`_) through
    :class:`torch_geometric.datasets.Planetoid`, offline: the eight raw files
    ``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}`` must lie in
    ``root/<name>/raw/`` (``datasets/planetoid`` ships Cora and CiteSeer);
    a missing one raises :class:`~pyg_sip.errors.PygSipError` naming it,
    and nothing is downloaded. PyG writes its processed copy to
    ``root/<name>/processed/``.

    Nodes without features (CiteSeer's 15 isolated test ids, filled with
    zero rows and label 0 by PyG) are counted in ``graph.report`` as
    ``nodes_without_features``.

    Args:
        root (str or Path): The folder holding ``<name>/raw/``.
        name (str): :obj:`"Cora"`, :obj:`"CiteSeer"` or :obj:`"PubMed"`.
        split (str, optional): Planetoid's split (:obj:`"public"`,
            :obj:`"full"`, :obj:`"geom-gcn"`, :obj:`"random"`).
            (default: :obj:`"public"`)
        **kwargs (optional): Further :class:`Planetoid` arguments.

    Returns:
        :class:`~pyg_sip.data.SampleGraph` with ``x``, ``y``,
        ``train_mask``, ``val_mask``, ``test_mask`` and ``report``.
    """
    from torch_geometric.datasets import Planetoid

    from pyg_sip.data import SampleGraph
    if name.lower() not in [n.lower() for n in PLANETOID_NAMES]:
        raise PygSipError(f"unknown Planetoid dataset '{name}' (expected one of "
                          f'{PLANETOID_NAMES})')
    raw_dir = Path(root) / name / 'raw'
    for suffix in _PLANETOID_RAW:
        path = raw_dir / f'ind.{name.lower()}.{suffix}'
        if not path.is_file():
            raise PygSipError(f"missing Planetoid file '{path}': put the raw files of "
                              f'https://github.com/kimiyoung/planetoid/tree/master/data '
                              f"in '{raw_dir}'")
    data = Planetoid(str(root), name, split=split, **kwargs)[0]
    report = LoadReport(str(raw_dir))
    report.count('nodes', data.num_nodes)
    report.count('edges', data.edge_index.size(1) // 2)
    report.count('features', data.x.size(1))
    report.count('classes', int(data.y.max()) + 1)
    report.count('nodes_without_features', int((data.x.abs().sum(1) == 0).sum()))
    return SampleGraph(x=data.x, edge_index=data.edge_index, y=data.y,
                       train_mask=data.train_mask, val_mask=data.val_mask,
                       test_mask=data.test_mask, report=report.log())


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


def _read_csv(path: Path, dtype, skip_header: bool = False) -> np.ndarray:
    """A numeric comma-separated file (plain or ``.gz``) as a 2-D array."""
    path = existing_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # numpy warns on an empty file; we raise
        try:
            out = np.loadtxt(path, delimiter=',', dtype=dtype, ndmin=2,
                             skiprows=int(skip_header))
        except ValueError as e:
            raise PygSipError(f"'{path}': {e}") from None
    if out.size == 0:
        raise PygSipError(f"'{path}' is empty")
    return out


def _check_range(path: Path, values: np.ndarray, num_nodes: int, skip: int = 0) -> None:
    bad = np.flatnonzero(((values < 0) | (values >= num_nodes)).any(axis=-1))
    if len(bad):
        raise file_error(path, int(bad[0]) + 1 + skip, f'node index {values[bad[0]].tolist()} '
                         f'is outside [0, {num_nodes})')


def _read_texts(path: Path, mapping: Optional[np.ndarray], num_nodes: int,
                report: LoadReport):
    """``(node index, text)`` of a ``id<TAB>title[<TAB>abstract...]`` file;
    title and abstract are joined by a space. Ids are paper ids (positions
    in ``mapping``) when it is given, node indices otherwise. A first line
    whose id is not an integer is a header."""
    ids, texts, linenos, first = [], [], [], True
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        pid, _, text = line.partition('\t')
        is_header, first = first and not pid.strip().isdigit(), False
        if is_header:
            continue
        if not pid.strip().isdigit():
            raise file_error(path, lineno, f"paper id '{pid}' is not an integer")
        if not text.strip():
            raise file_error(path, lineno, f"no text for paper '{pid}'")
        ids.append(int(pid))
        texts.append(' '.join(text.split('\t')))
        linenos.append(lineno)
    linenos = np.array(linenos, dtype=np.int64)
    ids = np.array(ids, dtype=np.int64)
    if len(ids) == 0:
        raise PygSipError(f"'{path}' has no data rows")
    dup = first_duplicate(ids)
    if dup is not None:
        raise PygSipError(f"paper '{ids[dup[1]]}' appears twice: '{path}', lines "
                          f'{linenos[dup[0]]} and {linenos[dup[1]]}')
    if mapping is not None:
        node, found = index_of(mapping, ids)
    else:
        node, found = ids, (ids >= 0) & (ids < num_nodes)
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        report.drop('texts_unknown_paper', int((~found).sum()),
                    f"'{ids[i]}' at '{path}', line {linenos[i]}")
    return node[found], [t for t, f in zip(texts, found.tolist()) if f]


def load_ogb_node(root: PathLike, name: str = 'ogbn-arxiv', texts: Optional[PathLike] = None,
                  text_ids: str = 'paper', tokenizer: Any = None, min_freq: int = 1,
                  max_vocab: Optional[int] = None):
    r"""An OGB node-property citation graph (`"Open Graph Benchmark"
    <https://arxiv.org/abs/2005.00687>`_) read directly from its local
    files, never downloaded: ``ogbn-arxiv`` or the ``paper -- cites --
    paper`` graph of ``ogbn-mag`` (see :data:`OGB_NODE_LAYOUTS` for the
    files). Citations become undirected edges of :math:`G_{PT}`; the
    official time split becomes the masks.

    With ``texts``, a ``paper id<TAB>title<TAB>abstract`` file (e.g. OGB's
    ``titleabs.tsv.gz`` for arXiv, or MAG abstracts for ``ogbn-mag``), the
    payload is the tokenised text instead of the 128-d features: papers
    without text are dropped with their edges (``nodes_without_text``),
    unknown ids are dropped (``texts_unknown_paper``). A duplicate id, a
    non-integer id or an empty text raises, naming the line.

    Args:
        root (str or Path): The dataset folder (holding ``raw/`` and
            ``split/``), or its parent as given to OGB (holding
            ``ogbn_arxiv/``).
        name (str, optional): :obj:`"ogbn-arxiv"` or :obj:`"ogbn-mag"`.
            (default: :obj:`"ogbn-arxiv"`)
        texts (str or Path, optional): Titles / abstracts. (default: :obj:`None`)
        text_ids (str, optional): What the ids of ``texts`` are:
            :obj:`"paper"` ids, looked up in the dataset's ``mapping/`` file
            (``nodeidx2paperid`` / ``paper_entidx2name``), or :obj:`"node"`
            indices. (default: :obj:`"paper"`)
        tokenizer (optional): Tokenizer of the texts (see
            :func:`~pyg_sip.datasets.text.text_tokenizer`).
            (default: a :class:`~pyg_sip.data.WordTokenizer` fitted on them)
        min_freq (int, optional): Fitted vocabulary: minimum word count.
            (default: :obj:`1`)
        max_vocab (int, optional): Fitted vocabulary size. (default: :obj:`None`)

    Returns:
        :class:`~pyg_sip.data.SampleGraph` with ``x`` or tokens, ``y``,
        ``train_mask``, ``val_mask``, ``test_mask`` and ``report``.
    """
    from pyg_sip.data import SampleGraph
    if name not in OGB_NODE_LAYOUTS:
        raise PygSipError(f"unknown OGB node dataset '{name}' (expected one of "
                          f'{sorted(OGB_NODE_LAYOUTS)})')
    layout = OGB_NODE_LAYOUTS[name]
    folder = Path(root) / name.replace('-', '_')
    folder = folder if folder.is_dir() else Path(root)
    report = LoadReport(str(folder))

    x = torch.from_numpy(_read_csv(folder / layout.feat, np.float32))
    num_nodes = x.size(0)
    edges = _read_csv(folder / layout.edge, np.int64)
    if edges.shape[1] != 2:
        raise PygSipError(f"'{folder / layout.edge}': expected 2 columns, found {edges.shape[1]}")
    _check_range(folder / layout.edge, edges, num_nodes)
    labels = _read_csv(folder / layout.label, np.int64)
    if labels.shape != (num_nodes, 1):
        raise PygSipError(f"'{folder / layout.label}' has {labels.shape[0]} rows, "
                          f"'{folder / layout.feat}' {num_nodes}")
    masks = {}
    for part, key in (('train', 'train_mask'), ('valid', 'val_mask'), ('test', 'test_mask')):
        path = folder / layout.split / f'{part}.csv.gz'
        index = _read_csv(path, np.int64)
        _check_range(path, index, num_nodes)
        masks[key] = torch.zeros(num_nodes, dtype=torch.bool)
        masks[key][torch.from_numpy(index[:, 0])] = True
    edge_index, _ = undirected_edges(edges[:, 0], edges[:, 1], num_nodes, report, 'edges')
    y = torch.from_numpy(labels[:, 0])

    if texts is None:
        report.counts = {'nodes': num_nodes, **report.counts}
        return SampleGraph(x=x, edge_index=edge_index, y=y, report=report.log(), **masks)

    if text_ids not in ('paper', 'node'):
        raise PygSipError(f"text_ids must be 'paper' or 'node', got '{text_ids}'")
    mapping = (_read_csv(folder / layout.mapping, np.int64, skip_header=True)[:, 1]
               if text_ids == 'paper' else None)
    node, docs = _read_texts(existing_file(texts), mapping, num_nodes, report)
    has_text = torch.zeros(num_nodes, dtype=torch.bool)
    has_text[torch.from_numpy(node)] = True
    order = np.argsort(node)
    docs = [docs[i] for i in order.tolist()]  # node order
    report.drop('nodes_without_text', int((~has_text).sum()))
    num_edges = edge_index.size(1) // 2
    edge_index, _ = subgraph(has_text, edge_index, relabel_nodes=True, num_nodes=num_nodes)
    report.drop('edges_without_text', num_edges - edge_index.size(1) // 2)
    report.count('edges', edge_index.size(1) // 2)
    report.counts = {'nodes': len(docs), **report.counts}
    tokenizer = text_tokenizer(tokenizer, docs, min_freq, max_vocab)
    return SampleGraph.from_sequences(docs, edge_index, tokenizer=tokenizer, y=y[has_text],
                                      report=report.log(),
                                      **{k: m[has_text] for k, m in masks.items()})


def load_cane(root: PathLike, tokenizer: Any = None, min_freq: int = 1,
              max_vocab: Optional[int] = None):
    r"""A text-attributed citation graph in the format of CANE (`"CANE:
    Context-Aware Network Embedding for Relation Modeling"
    <https://aclanthology.org/P17-1158>`_), e.g. ``datasets/cane_cora_hepth/
    cora``: ``data.txt`` (line :math:`i`: the text of node :math:`i`),
    ``graph.txt`` (``src<TAB>dst`` node indices, 0-based) and, optionally,
    ``group.txt`` (line :math:`i`: the class of node :math:`i`; an **empty
    line means unlabelled, stored as** ``y = -1``).

    An empty text, an index outside ``data.txt`` or a ``group.txt`` of
    another length raises :class:`~pyg_sip.errors.PygSipError` naming file
    and line; self-citations and repeated pairs are counted and merged.

    Args:
        root (str or Path): The folder of the three files.
        tokenizer (optional): Tokenizer of the texts (see
            :func:`~pyg_sip.datasets.text.text_tokenizer`).
            (default: a :class:`~pyg_sip.data.WordTokenizer` fitted on them)
        min_freq (int, optional): Fitted vocabulary: minimum word count.
            (default: :obj:`1`)
        max_vocab (int, optional): Fitted vocabulary size. (default: :obj:`None`)

    Returns:
        :class:`~pyg_sip.data.SampleGraph` with tokens, ``y`` (if
        ``group.txt`` exists) and ``report``.
    """
    from pyg_sip.data import SampleGraph
    root = Path(root)
    report = LoadReport(str(root))
    docs = []
    for lineno, line in iter_lines(root / 'data.txt'):
        if not line.strip():
            raise file_error(root / 'data.txt', lineno, 'empty text')
        docs.append(line)
    num_nodes = len(docs)

    table = read_table(root / 'graph.txt', 2, sep=None)
    pairs = np.stack([table.numbers(0, 'node index'), table.numbers(1, 'node index')], 1)
    bad = np.flatnonzero(((pairs < 0) | (pairs >= num_nodes) | (pairs % 1 != 0)).any(1))
    if len(bad):
        raise table.error(int(bad[0]), f'node index {pairs[bad[0]].tolist()} is not in '
                          f"[0, {num_nodes}) (the lines of '{root / 'data.txt'}')")
    pairs = pairs.astype(np.int64)
    edge_index, _ = undirected_edges(pairs[:, 0], pairs[:, 1], num_nodes, report, 'edges')
    report.counts = {'nodes': num_nodes, **report.counts}

    attrs = {}
    if (root / 'group.txt').is_file():
        attrs['y'] = _read_groups(root / 'group.txt', num_nodes)
        report.count('unlabelled', int((attrs['y'] < 0).sum()))
    tokenizer = text_tokenizer(tokenizer, docs, min_freq, max_vocab)
    return SampleGraph.from_sequences(docs, edge_index, tokenizer=tokenizer,
                                      report=report.log(), **attrs)


def _read_groups(path: Path, num_nodes: int) -> torch.Tensor:
    y = []
    for lineno, line in iter_lines(path):
        value = line.strip()
        if value and not value.isdigit():
            raise file_error(path, lineno, f"class '{value}' is not a non-negative integer")
        y.append(int(value) if value else -1)
    if len(y) != num_nodes:
        raise PygSipError(f"'{path}' has {len(y)} lines, but there are {num_nodes} texts "
                          f'(one line per node, empty when unlabelled)')
    return torch.tensor(y)
