"""Documents linked by citations or hyperlinks, read from TSV / JSONL files."""
from __future__ import annotations

import json
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    existing_file,
    file_error,
    first_duplicate,
    first_line,
    index_of,
    iter_lines,
    read_table,
    separator,
    undirected_edges,
)
from pyg_sip.errors import PygSipError


def text_tokenizer(tokenizer: Any, texts: Sequence[str], min_freq: int = 1,
                   max_vocab: Optional[int] = None) -> Any:
    """The tokenizer to encode ``texts`` with: a
    :class:`~pyg_sip.data.WordTokenizer` fitted on them when ``tokenizer``
    is :obj:`None`; a :mod:`pyg_sip` tokenizer (``encode_batch``,
    ``vocab_size``, ``pad_id``) as is; a Hugging Face tokenizer (callable,
    with ``pad_token_id``) wrapped in :class:`~pyg_sip.nn.hf.HFTokenizer`."""
    if tokenizer is None:
        from pyg_sip.data import WordTokenizer
        return WordTokenizer.fit(texts, min_freq=min_freq, max_vocab=max_vocab)
    if all(hasattr(tokenizer, a) for a in ('encode_batch', 'vocab_size', 'pad_id')):
        return tokenizer
    if callable(tokenizer) and hasattr(tokenizer, 'pad_token_id'):
        from pyg_sip.nn.hf import HFTokenizer
        return HFTokenizer(tokenizer)
    raise PygSipError(f'tokenizer must be a pyg_sip tokenizer or a Hugging Face tokenizer, '
                      f'got {type(tokenizer).__name__}')


def _read_jsonl(path) -> Tuple[List[str], List[str], List[str], List[int]]:
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
        label = doc.get('label')
        ids.append(str(doc['id']))
        texts.append(doc['text'])
        labels.append('' if label is None else str(label))
        linenos.append(lineno)
    return ids, texts, labels, linenos


def _read_tsv(path) -> Tuple[List[str], List[str], List[str], List[int]]:
    first = first_line(path).split('\t')
    names = [f.strip().lower() for f in first]
    header = 'id' in names and 'text' in names
    table = read_table(path, sep='\t', header=header)
    if header:
        cols = [names.index('id'), names.index('text')]
        cols.append(names.index('label') if 'label' in names else None)
    else:
        cols = [0, 1, 2 if len(first) > 2 else None]
        if len(first) < 2:
            raise file_error(path, 1, "expected 'id<TAB>text[<TAB>label]'")
    labels = table.columns[cols[2]] if cols[2] is not None else np.full(len(table), '')
    return (table.columns[cols[0]].tolist(), table.columns[cols[1]].tolist(),
            [s.strip() for s in labels.tolist()], table.lineno.tolist())


def _encode_labels(path, labels: List[str], linenos: List[int]
                   ) -> Tuple[Optional[Tensor], Optional[List[str]]]:
    """Integer labels are used as they are; other labels become indices into
    their sorted names. A missing label is ``-1``."""
    given = np.array([s != '' for s in labels], dtype=bool)
    if not given.any():
        return None, None
    values = np.array(labels, dtype=str)[given]
    if all(v.lstrip('-').isdigit() for v in values.tolist()):
        codes = values.astype(np.int64)
        names = None
        if (codes < 0).any():
            i = int(np.flatnonzero(given)[np.flatnonzero(codes < 0)[0]])
            raise file_error(path, linenos[i], f"negative label '{labels[i]}'")
    else:
        names, codes = np.unique(values, return_inverse=True)
        names = names.tolist()
    y = np.full(len(labels), -1, dtype=np.int64)
    y[given] = codes
    return torch.from_numpy(y), names


class TextLinkGraph:
    r"""Documents (paper abstracts, web pages) linked by citations or
    hyperlinks: the pre-training graph of the text experiments of
    `"Structure-Inducing Pre-Training" <https://arxiv.org/abs/2103.10334>`_,
    where linked documents are pulled together.

    .. math::
        \{u, v\} \in \mathcal{E} \iff u \text{ links to } v \lor
        v \text{ links to } u

    Build it with :meth:`from_files`, then call :meth:`to_sample_graph`.
    Rules applied while reading: an empty text, a duplicate id or a short
    row raises :class:`~pyg_sip.errors.PygSipError` naming file and line;
    links naming an unknown id are dropped (``links_unknown_id``), as are
    self-links; repeated links merge. Documents without links are kept.
    Labels that are all integers are used as they are, other labels become
    indices into :attr:`label_names` (sorted); a missing label is ``-1``.

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

    Shapes:
        - **edge_index:** :math:`(2, |\mathcal{E}|)`
        - **y:** :math:`(|\mathcal{V}|)`
    """
    def __init__(self, ids: List[str], texts: List[str], edge_index: Tensor,
                 y: Optional[Tensor] = None, label_names: Optional[List[str]] = None,
                 report: Optional[LoadReport] = None) -> None:
        if len(ids) != len(texts):
            raise PygSipError(f'{len(ids)} ids but {len(texts)} texts')
        self.ids = list(ids)
        self.texts = list(texts)
        self.edge_index = edge_index
        self.y = y
        self.label_names = label_names
        self.report = report or LoadReport('memory')

    @property
    def num_documents(self) -> int:
        return len(self.ids)

    @property
    def num_links(self) -> int:
        """Number of undirected links."""
        return self.edge_index.size(1) // 2

    @classmethod
    def from_files(cls, documents: PathLike, links: PathLike) -> 'TextLinkGraph':
        r"""Reads documents and links.

        Args:
            documents (str or Path): JSONL (one object per line with ``id``,
                ``text`` and optionally ``label``) or TSV (``id<TAB>text
                [<TAB>label]``, with or without a header naming ``id``,
                ``text``, ``label`` in any order); plain or ``.gz``.
            links (str or Path): Id pairs, tab- or space-separated, one per
                line (``#`` comments).
        """
        documents, links = existing_file(documents), existing_file(links)
        report = LoadReport(f'{documents}, {links}')
        is_jsonl = first_line(documents).lstrip().startswith('{')
        ids, texts, labels, linenos = (_read_jsonl if is_jsonl else _read_tsv)(documents)
        for text, lineno in zip(texts, linenos):
            if not text.strip():
                raise file_error(documents, lineno, 'empty text')
        dup = first_duplicate(np.array(ids, dtype=str))
        if dup is not None:
            raise PygSipError(f"document id '{ids[dup[1]]}' appears twice: '{documents}', "
                              f'lines {linenos[dup[0]]} and {linenos[dup[1]]}')
        y, label_names = _encode_labels(documents, labels, linenos)

        table = read_table(links, 2, sep=separator(links, '#'), comment='#')
        a, b = np.char.strip(table.columns[0]), np.char.strip(table.columns[1])
        id_array = np.array(ids, dtype=str)
        src, found_a = index_of(id_array, a)
        dst, found_b = index_of(id_array, b)
        found = found_a & found_b
        if not found.all():
            i = int(np.flatnonzero(~found)[0])
            report.drop('links_unknown_id', int((~found).sum()),
                        f"'{a[i] if not found_a[i] else b[i]}' at '{links}', "
                        f'line {table.lineno[i]}')
        edge_index, _ = undirected_edges(src[found], dst[found], len(ids), report, 'links')
        report.counts = {'documents': len(ids), **report.counts}
        if y is not None:
            report.count('unlabelled', int((y < 0).sum()))
        return cls(ids, texts, edge_index, y, label_names, report.log())

    def to_sample_graph(self, tokenizer: Any = None, min_freq: int = 1,
                        max_vocab: Optional[int] = None):
        r"""The :class:`~pyg_sip.data.SampleGraph` of the tokenised texts,
        with ``y`` when labelled and :attr:`report` as ``graph.report``.

        Args:
            tokenizer (optional): A :mod:`pyg_sip` tokenizer or a Hugging
                Face tokenizer (see :func:`text_tokenizer`).
                (default: a :class:`~pyg_sip.data.WordTokenizer` fitted on
                the texts)
            min_freq (int, optional): Fitted vocabulary: words seen at least
                this often. (default: :obj:`1`)
            max_vocab (int, optional): Fitted vocabulary: at most this many
                words. (default: :obj:`None`)
        """
        from pyg_sip.data import SampleGraph
        tokenizer = text_tokenizer(tokenizer, self.texts, min_freq, max_vocab)
        attrs = {} if self.y is None else {'y': self.y}
        return SampleGraph.from_sequences(self.texts, self.edge_index, tokenizer=tokenizer,
                                          report=self.report, **attrs)

    def __repr__(self) -> str:
        labels = '' if self.y is None else f', labelled={int((self.y >= 0).sum())}'
        return (f'{self.__class__.__name__}(documents={self.num_documents}, '
                f'links={self.num_links}{labels})')
