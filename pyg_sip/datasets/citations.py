"""Citation networks with dense features from local files: Planetoid (Cora,
CiteSeer, PubMed) and OGB node datasets (``ogbn-arxiv``, the paper citations
of ``ogbn-mag``); the ``load_*`` shortcuts also cover their text-attributed
forms (CANE, OGB with titles / abstracts)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from torch import Tensor
from torch_geometric.utils import to_undirected

from pyg_sip.datasets._io import LoadReport, PathLike
from pyg_sip.datasets.base import SampleReader
from pyg_sip.datasets.ogb import OGB_NODE_LAYOUTS, OGBNodeLayout, ogb_folder, read_ogb_node
from pyg_sip.datasets.planetoid import (
    PLANETOID_NAMES,
    PLANETOID_RAW,
    read_planetoid_raw,
    resplit,
)
from pyg_sip.datasets.text import TextLinkGraph
from pyg_sip.errors import PygSipError

__all__ = ['CitationGraph', 'OGB_NODE_LAYOUTS', 'OGBNodeLayout', 'PLANETOID_NAMES',
           'load_cane', 'load_ogb_node', 'load_planetoid']

_MASKS = ('train_mask', 'val_mask', 'test_mask')
_SPLIT_ARGS = ('num_train_per_class', 'num_val', 'num_test', 'seed')


class CitationGraph(SampleReader):
    r"""Papers with dense features (bag-of-words, word-vector averages) linked
    by citations, with labels and a train / validation / test split: the
    citation benchmarks of `"Structure-Inducing Pre-Training"
    <https://arxiv.org/abs/2103.10334>`_, where an MLP pre-trained with the
    citation graph needs no graph at inference.

    .. math::
        \{u, v\} \in \mathcal{E} \iff u \text{ cites } v \lor v \text{ cites } u

    Build it with :meth:`from_planetoid` or :meth:`from_ogb`, then call
    :meth:`to_sample_graph`.

    Args:
        x (torch.Tensor): Node features.
        edge_index (torch.Tensor): Undirected, coalesced citations.
        y (torch.Tensor): Class per node.
        masks (dict[str, torch.Tensor]): ``train_mask``, ``val_mask``,
            ``test_mask``.
        report (LoadReport, optional): What reading kept and dropped.
            (default: :obj:`None`)

    Shapes:
        - **x:** :math:`(|\mathcal{V}|, F)`
        - **edge_index:** :math:`(2, |\mathcal{E}|)`
    """
    payload = 'features'

    def __init__(self, x: Tensor, edge_index: Tensor, y: Tensor, masks: Dict[str, Tensor],
                 report: Optional[LoadReport] = None) -> None:
        if y.size(0) != x.size(0):
            raise PygSipError(f'{x.size(0)} feature rows but {y.size(0)} labels')
        self.x, self.edge_index, self.y, self.masks = x, edge_index, y, dict(masks)
        self.report = report or LoadReport('memory')

    @property
    def num_nodes(self) -> int:
        return self.x.size(0)

    def samples(self) -> Tensor:
        return self.x

    def attributes(self) -> Dict[str, Tensor]:
        return {'y': self.y, **self.masks}

    @classmethod
    def from_planetoid(cls, root: PathLike, name: str, split: str = 'public',
                       **kwargs: Any) -> 'CitationGraph':
        r"""A Planetoid citation graph (`"Revisiting Semi-Supervised Learning
        with Graph Embeddings" <https://arxiv.org/abs/1603.08861>`_) from the
        eight raw files ``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``
        in ``root/<name>/raw/`` (``datasets/planetoid`` ships Cora and
        CiteSeer), assembled as :class:`torch_geometric.datasets.Planetoid`
        does. A missing file raises :class:`~pyg_sip.errors.PygSipError`
        naming it; nothing is downloaded, nothing is written and no
        ``processed/`` file is read. The pickles are read by a restricted
        unpickler (numpy arrays, sparse matrices, built-in containers), so a
        planted file cannot run code: it raises, naming the file.

        Nodes without features (CiteSeer's 15 isolated test ids, zero rows
        with label 0) are counted as ``nodes_without_features``.

        Args:
            root (str or Path): The folder holding ``<name>/raw/``.
            name (str): :obj:`"Cora"`, :obj:`"CiteSeer"` or :obj:`"PubMed"`.
            split (str, optional): :obj:`"public"`, :obj:`"full"` (every
                node outside validation and test trains) or :obj:`"random"`.
                (default: :obj:`"public"`)
            **kwargs (optional): For ``split='random'``:
                ``num_train_per_class`` (20), ``num_val`` (500),
                ``num_test`` (1000), ``seed`` (0).
        """
        names = {n.lower(): n for n in PLANETOID_NAMES}
        if name.lower() not in names:
            raise PygSipError(f"unknown Planetoid dataset '{name}' (expected one of "
                              f'{PLANETOID_NAMES})')
        if split not in ('public', 'full', 'random'):
            raise PygSipError(f"split must be 'public', 'full' or 'random', got '{split}' "
                              f"('geom-gcn' needs files that are only downloaded)")
        unknown = sorted(set(kwargs) - set(_SPLIT_ARGS))
        if unknown or (kwargs and split != 'random'):
            raise PygSipError(f'unexpected arguments {unknown or sorted(kwargs)} (only '
                              f"split='random' takes {list(_SPLIT_ARGS)})")
        raw_dir = Path(root) / name / 'raw'
        if not raw_dir.is_dir() and (Path(root) / names[name.lower()] / 'raw').is_dir():
            raw_dir = Path(root) / names[name.lower()] / 'raw'
        for suffix in PLANETOID_RAW:
            path = raw_dir / f'ind.{name.lower()}.{suffix}'
            if not path.is_file():
                raise PygSipError(f"missing Planetoid file '{path}': put the raw files of "
                                  f'https://github.com/kimiyoung/planetoid/tree/master/data '
                                  f"in '{raw_dir}'")
        data = read_planetoid_raw(raw_dir, name)
        if split != 'public':
            resplit(data, split, **kwargs)
        report = LoadReport(str(raw_dir))
        num_nodes = data['x'].size(0)
        report.count('nodes', num_nodes)
        # the adjacency lists name each edge from both ends: no repeat to report
        edge_index = data['edge_index']
        loop = edge_index[0] == edge_index[1]
        report.drop('edges_self_loop', int(loop.sum()))
        edge_index = to_undirected(edge_index[:, ~loop], num_nodes=num_nodes)
        report.count('edges', edge_index.size(1) // 2)
        report.count('features', data['x'].size(1))
        report.count('classes', int(data['y'].max()) + 1)
        report.count('nodes_without_features', int((data['x'].abs().sum(1) == 0).sum()))
        return cls(data['x'], edge_index, data['y'], {k: data[k] for k in _MASKS},
                   report.log())

    @classmethod
    def from_ogb(cls, root: PathLike, name: str = 'ogbn-arxiv') -> 'CitationGraph':
        r"""An OGB node-property citation graph (`"Open Graph Benchmark"
        <https://arxiv.org/abs/2005.00687>`_) read directly from its local
        files, never downloaded: ``ogbn-arxiv`` or the ``paper -- cites --
        paper`` graph of ``ogbn-mag`` (see :data:`OGB_NODE_LAYOUTS`).
        Citations become undirected edges of :math:`G_{PT}`; the official
        time split becomes the masks. For titles / abstracts as samples see
        :meth:`~pyg_sip.datasets.TextLinkGraph.from_ogb`.

        Args:
            root (str or Path): The dataset folder (holding ``raw/`` and
                ``split/``), or its parent as given to OGB (holding
                ``ogbn_arxiv/``).
            name (str, optional): :obj:`"ogbn-arxiv"` or :obj:`"ogbn-mag"`.
                (default: :obj:`"ogbn-arxiv"`)
        """
        folder, _ = ogb_folder(root, name)
        report = LoadReport(str(folder))
        data = read_ogb_node(root, name, report)
        report.counts = {'nodes': data['x'].size(0), **report.counts}
        return cls(data['x'], data['edge_index'], data['y'], {k: data[k] for k in _MASKS},
                   report.log())

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(nodes={self.num_nodes}, '
                f'edges={self.edge_index.size(1) // 2}, features={self.x.size(1)})')


def load_planetoid(root: PathLike, name: str, split: str = 'public', **kwargs: Any):
    """:meth:`CitationGraph.from_planetoid` as a
    :class:`~pyg_sip.data.SampleGraph` (``x``, ``y``, the masks, ``report``)."""
    return CitationGraph.from_planetoid(root, name, split, **kwargs).to_sample_graph()


def load_ogb_node(root: PathLike, name: str = 'ogbn-arxiv', texts: Optional[PathLike] = None,
                  text_ids: str = 'paper', tokenizer: Any = None, min_freq: int = 1,
                  max_vocab: Optional[int] = None):
    """:meth:`CitationGraph.from_ogb` (or, with ``texts``,
    :meth:`TextLinkGraph.from_ogb` tokenised by ``tokenizer``, see
    :meth:`~pyg_sip.datasets.base.SampleReader.to_sample_graph`) as a
    :class:`~pyg_sip.data.SampleGraph`."""
    if texts is None:
        return CitationGraph.from_ogb(root, name).to_sample_graph()
    return TextLinkGraph.from_ogb(root, name, texts, text_ids).to_sample_graph(
        tokenizer, min_freq, max_vocab)


def load_cane(root: PathLike, tokenizer: Any = None, min_freq: int = 1,
              max_vocab: Optional[int] = None):
    """:meth:`TextLinkGraph.from_cane` as a :class:`~pyg_sip.data.SampleGraph`
    (tokens, ``y`` when ``group.txt`` exists, ``report``)."""
    return TextLinkGraph.from_cane(root).to_sample_graph(tokenizer, min_freq, max_vocab)
