"""Documents linked by citations or hyperlinks: TSV / JSONL documents with a
links file, the CANE format, and OGB node datasets with titles / abstracts."""
from __future__ import annotations

import json
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
    first_line,
    iter_lines,
    parse_int,
    read_table,
    resolve_pairs,
    separator,
    undirected_edges,
)
from pyg_sip.datasets.base import SampleReader, text_tokenizer
from pyg_sip.errors import PygSipError

__all__ = ['TextLinkGraph', 'read_documents', 'text_tokenizer']

Documents = Tuple[List[str], List[str], List[str], List[int]]


def _read_jsonl(path: Path) -> Documents:
    ids, texts, labels, linenos = [], [], [], []
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as e:
            raise file_error(path, lineno, f'invalid JSON ({e.msg})') from None
        if not isinstance(doc, dict) or 'id' not in doc or 'text' not in doc:
            raise file_error(path, lineno, "expected a JSON object with 'id' and 'text'")
        if not isinstance(doc['text'], str):
            raise file_error(path, lineno, f"'text' must be a string, got {doc['text']!r}")
        if not isinstance(doc['id'], (str, int)) or isinstance(doc['id'], bool):
            raise file_error(path, lineno, f"'id' must be a string or an integer, got "
                             f"{doc['id']!r}")
        label = doc.get('label')
        if label is not None and isinstance(label, (bool, dict, list)):
            raise file_error(path, lineno, f"'label' must be a string or an integer, got "
                             f'{label!r}')
        ids.append(str(doc['id']))
        texts.append(doc['text'])
        labels.append('' if label is None else str(label))
        linenos.append(lineno)
    return ids, texts, labels, linenos


def _read_tsv(path: Path) -> Documents:
    names = [f.strip().lower() for f in first_line(path).split('\t')]
    if 'id' in names and 'text' in names:
        table = read_table(path, sep='\t', header=True)
        cols = [names.index('id'), names.index('text'),
                names.index('label') if 'label' in names else None]
    else:  # no header: every row is id<TAB>text, the label optional row by row
        table = read_table(path, 2, max_fields=3, sep='\t')
        cols = [0, 1, 2]
    labels = table.columns[cols[2]] if cols[2] is not None else np.full(len(table), '')
    return (np.char.strip(table.columns[cols[0]]).tolist(), table.columns[cols[1]].tolist(),
            np.char.strip(labels).tolist(), table.lineno.tolist())


def read_documents(path: PathLike) -> Documents:
    """``(ids, texts, labels, line numbers)`` of a JSONL or TSV file of
    documents (see :meth:`TextLinkGraph.from_files`); an empty text, an
    empty id or a repeated id raises :class:`PygSipError` naming the line."""
    path = existing_file(path)
    is_jsonl = first_line(path).lstrip().startswith('{')
    ids, texts, labels, linenos = (_read_jsonl if is_jsonl else _read_tsv)(path)
    for pid, text, lineno in zip(ids, texts, linenos):
        if not pid.strip():
            raise file_error(path, lineno, 'empty document id')
        if not text.strip():
            raise file_error(path, lineno, f"empty text for document '{pid}'")
    check_unique(ids, linenos, path, 'document id')
    return ids, texts, labels, linenos


def _encode_labels(path: Path, labels: List[str], linenos: List[int]
                   ) -> Tuple[Optional[Tensor], Optional[List[str]]]:
    """Integer labels are used as they are; other labels become indices into
    their sorted names. A missing label is ``-1``."""
    given = np.array([s != '' for s in labels], dtype=bool)
    if not given.any():
        return None, None
    values = np.array(labels, dtype=str)[given]
    codes = [parse_int(v) for v in values.tolist()]
    names = None
    if all(c is not None for c in codes):
        codes = np.array(codes, dtype=np.int64)
        if (codes < 0).any():
            i = int(np.flatnonzero(given)[np.flatnonzero(codes < 0)[0]])
            raise file_error(path, linenos[i], f"negative label '{labels[i]}'")
    else:
        names, codes = np.unique(values, return_inverse=True)
        names = names.tolist()
    y = np.full(len(labels), -1, dtype=np.int64)
    y[given] = codes
    return torch.from_numpy(y), names


def _read_groups(path: Path, num_nodes: int) -> Tensor:
    """CANE's ``group.txt``: one class per line, an empty line unlabelled."""
    y = []
    for lineno, line in iter_lines(path):
        value = parse_int(line) if line.strip() else -1
        if value is None or (line.strip() and value < 0):
            raise file_error(path, lineno, f"class '{line.strip()}' is not a non-negative "
                             f'integer')
        y.append(value)
    if len(y) != num_nodes:
        raise PygSipError(f"'{path}' has {len(y)} lines, but there are {num_nodes} texts "
                          f'(one line per node, empty when unlabelled)')
    return torch.tensor(y)


class TextLinkGraph(SampleReader):
    r"""Documents (paper abstracts, web pages) linked by citations or
    hyperlinks: the pre-training graph of the text experiments of
    `"Structure-Inducing Pre-Training" <https://arxiv.org/abs/2103.10334>`_,
    where linked documents are pulled together.

    .. math::
        \{u, v\} \in \mathcal{E} \iff u \text{ links to } v \lor
        v \text{ links to } u

    Build it with :meth:`from_files`, :meth:`from_cane` or :meth:`from_ogb`,
    then call :meth:`to_sample_graph` (the texts tokenised by a word
    tokenizer fitted on them, or the tokenizer given). Rules applied while
    reading: an empty text, a duplicate id, a short or long row raises
    :class:`~pyg_sip.errors.PygSipError` naming file and line; links naming
    an unknown id are dropped (``links_unknown_id``), as are self-links;
    repeated links merge. Documents without links are kept. Labels that are
    all integers are used as they are, other labels become indices into
    :attr:`label_names` (sorted); a missing label is ``-1``.

    Args:
        ids (list[str]): Document ids.
        texts (list[str]): Document texts.
        edge_index (torch.Tensor): Undirected, coalesced links.
        y (torch.Tensor, optional): Label per document, ``-1`` if missing.
            (default: :obj:`None`)
        label_names (list[str], optional): Name of each label index.
            (default: :obj:`None`)
        report (LoadReport, optional): What reading kept and dropped.
            (default: :obj:`None`)
        masks (dict[str, torch.Tensor], optional): Split masks
            (``train_mask``, ``val_mask``, ``test_mask``). (default: :obj:`None`)

    Shapes:
        - **edge_index:** :math:`(2, |\mathcal{E}|)`
        - **y:** :math:`(|\mathcal{V}|)`
    """
    payload = 'texts'

    def __init__(self, ids: List[str], texts: List[str], edge_index: Tensor,
                 y: Optional[Tensor] = None, label_names: Optional[List[str]] = None,
                 report: Optional[LoadReport] = None,
                 masks: Optional[Dict[str, Tensor]] = None) -> None:
        if len(ids) != len(texts):
            raise PygSipError(f'{len(ids)} ids but {len(texts)} texts')
        self.ids = list(ids)
        self.texts = list(texts)
        self.edge_index = edge_index
        self.y = y
        self.label_names = label_names
        self.report = report or LoadReport('memory')
        self.masks = masks or {}

    @property
    def num_documents(self) -> int:
        return len(self.ids)

    @property
    def num_links(self) -> int:
        """Number of undirected links."""
        return self.edge_index.size(1) // 2

    def samples(self) -> List[str]:
        return self.texts

    def attributes(self) -> Dict[str, Optional[Tensor]]:
        return {'y': self.y, **self.masks}

    @classmethod
    def from_files(cls, documents: PathLike, links: PathLike) -> 'TextLinkGraph':
        r"""Reads documents and links.

        Args:
            documents (str or Path): JSONL (one object per line with ``id``,
                ``text`` and optionally ``label``) or TSV (``id<TAB>text
                [<TAB>label]``, with or without a header naming ``id``,
                ``text``, ``label`` in any order; without a header the label
                is optional on every row); plain or ``.gz``.
            links (str or Path): Id pairs, tab- or space-separated, one per
                line (``#`` comments).
        """
        documents, links = existing_file(documents), existing_file(links)
        report = LoadReport(f'{documents}, {links}')
        ids, texts, labels, linenos = read_documents(documents)
        y, label_names = _encode_labels(documents, labels, linenos)

        table = read_table(links, 2, sep=separator(links, '#'), comment='#')
        a, b = np.char.strip(table.columns[0]), np.char.strip(table.columns[1])
        src, dst, _ = resolve_pairs(np.array(ids, dtype=str), a, b, report, 'links_unknown_id',
                                    lambda i: f"'{links}', line {table.lineno[i]}")
        edge_index, _ = undirected_edges(src, dst, len(ids), report, 'links')
        report.counts = {'documents': len(ids), **report.counts}
        if y is not None:
            report.count('unlabelled', int((y < 0).sum()))
        return cls(ids, texts, edge_index, y, label_names, report.log())

    @classmethod
    def from_cane(cls, root: PathLike) -> 'TextLinkGraph':
        r"""A text-attributed citation graph in the format of CANE (`"CANE:
        Context-Aware Network Embedding for Relation Modeling"
        <https://aclanthology.org/P17-1158>`_), e.g.
        ``datasets/cane_cora_hepth/cora``: ``data.txt`` (line :math:`i`: the
        text of node :math:`i`), ``graph.txt`` (``src<TAB>dst`` node
        indices, 0-based) and, optionally, ``group.txt`` (line :math:`i`:
        the class of node :math:`i`; an **empty line means unlabelled,
        stored as** ``y = -1``).

        An empty text, an index outside ``data.txt`` or a ``group.txt`` of
        another length raises :class:`~pyg_sip.errors.PygSipError` naming
        file and line; self-citations and repeated pairs are counted and
        merged.

        Args:
            root (str or Path): The folder of the three files.
        """
        root = Path(root)
        report = LoadReport(str(root))
        docs = []
        for lineno, line in iter_lines(root / 'data.txt'):
            if not line.strip():
                raise file_error(root / 'data.txt', lineno, 'empty text')
            docs.append(line)
        num_nodes = len(docs)

        table = read_table(root / 'graph.txt', 2, sep=None)
        pairs = np.stack([table.integers(0, 'a node index'), table.integers(1, 'a node index')], 1)
        bad = np.flatnonzero(((pairs < 0) | (pairs >= num_nodes)).any(1))
        if len(bad):
            raise table.error(int(bad[0]), f'node index {pairs[bad[0]].tolist()} is not in '
                              f"[0, {num_nodes}) (the lines of '{root / 'data.txt'}')")
        edge_index, _ = undirected_edges(pairs[:, 0], pairs[:, 1], num_nodes, report, 'edges')
        report.counts = {'nodes': num_nodes, **report.counts}
        y = None
        if (root / 'group.txt').is_file():
            y = _read_groups(root / 'group.txt', num_nodes)
            report.count('unlabelled', int((y < 0).sum()))
        return cls([str(i) for i in range(num_nodes)], docs, edge_index, y, None, report.log())

    @classmethod
    def from_ogb(cls, root: PathLike, name: str, texts: PathLike,
                 text_ids: str = 'paper') -> 'TextLinkGraph':
        r"""An OGB node citation graph (see
        :meth:`~pyg_sip.datasets.CitationGraph.from_ogb`) whose samples are
        paper texts: a ``paper id<TAB>title<TAB>abstract`` file (e.g. OGB's
        ``titleabs.tsv.gz`` for arXiv). Papers without text are dropped
        with their edges (``nodes_without_text``), unknown ids are dropped
        (``texts_unknown_paper``). A duplicate id, a non-integer id or an
        empty text raises, naming the line.

        Args:
            root (str or Path): The dataset folder or its parent.
            name (str): :obj:`"ogbn-arxiv"` or :obj:`"ogbn-mag"`.
            texts (str or Path): Titles / abstracts.
            text_ids (str, optional): What the ids of ``texts`` are:
                :obj:`"paper"` ids, looked up in the dataset's ``mapping/``
                file, or :obj:`"node"` indices. (default: :obj:`"paper"`)
        """
        from torch_geometric.utils import subgraph

        from pyg_sip.datasets.ogb import ogb_folder, read_csv, read_ogb_node, read_paper_texts
        if text_ids not in ('paper', 'node'):
            raise PygSipError(f"text_ids must be 'paper' or 'node', got '{text_ids}'")
        folder, layout = ogb_folder(root, name)
        texts = existing_file(texts)
        report = LoadReport(f'{folder}, {texts}')
        data = read_ogb_node(root, name, report)
        num_nodes = data['x'].size(0)
        mapping = (read_csv(folder / layout.mapping, np.int64, skip_header=True)[:, 1]
                   if text_ids == 'paper' else None)
        node, docs = read_paper_texts(texts, mapping, num_nodes, report)
        has_text = torch.zeros(num_nodes, dtype=torch.bool)
        has_text[torch.from_numpy(node)] = True
        docs = [docs[i] for i in np.argsort(node).tolist()]  # node order
        report.drop('nodes_without_text', int((~has_text).sum()))
        num_edges = data['edge_index'].size(1) // 2
        edge_index, _ = subgraph(has_text, data['edge_index'], relabel_nodes=True,
                                 num_nodes=num_nodes)
        report.drop('edges_without_text', num_edges - edge_index.size(1) // 2)
        report.count('edges', edge_index.size(1) // 2)
        report.counts = {'nodes': len(docs), **report.counts}
        masks = {k: data[k][has_text] for k in ('train_mask', 'val_mask', 'test_mask')}
        ids = [str(i) for i in has_text.nonzero().view(-1).tolist()]
        return cls(ids, docs, edge_index, data['y'][has_text], None, report.log(), masks)

    def __repr__(self) -> str:
        labels = '' if self.y is None else f', labelled={int((self.y >= 0).sum())}'
        return (f'{self.__class__.__name__}(documents={self.num_documents}, '
                f'links={self.num_links}{labels})')
