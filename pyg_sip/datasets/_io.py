"""Reading the text files of the dataset adapters: line-numbered errors, id
lookup, undirected pre-training graphs, and accounting of what was dropped."""
from __future__ import annotations

import gzip
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from pyg_sip.errors import PygSipError

PathLike = Union[str, os.PathLike]

logger = logging.getLogger('pyg_sip.datasets')


def existing_file(path: PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path`, or a :class:`PygSipError` naming
    it when it is not a readable file."""
    path = Path(path)
    if not path.is_file():
        raise PygSipError(f"file not found: '{path}'")
    return path


def file_error(path: PathLike, lineno: int, message: str) -> PygSipError:
    return PygSipError(f"'{path}', line {lineno}: {message}")


_GZIP_MAGIC = b'\x1f\x8b'


def _is_gzip(path: Path) -> bool:
    """By the first two bytes, so a compressed file without ``.gz`` (or a
    ``.gz`` that is not compressed) is read for what it is."""
    with open(path, 'rb') as f:
        magic = f.read(2)
    if path.suffix == '.gz' and magic != _GZIP_MAGIC:
        raise PygSipError(f"'{path}' is named .gz but is not a gzip file")
    return magic == _GZIP_MAGIC


def iter_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """Yields ``(line number, line)`` (1-based, line break removed) of a plain
    or gzip-compressed UTF-8 text file. Raises :class:`PygSipError` naming
    the file (and line) for a missing file, a fake or truncated ``.gz``, an
    empty (or all-blank) file, bytes that are not UTF-8 and NUL bytes."""
    path = existing_file(path)
    opener = gzip.open if _is_gzip(path) else open
    blank, lineno = True, 0
    with opener(path, 'rb') as f:  # decoded line by line, so errors know their line
        lines = iter(f)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                break
            except (OSError, EOFError, zlib.error) as e:  # truncated or corrupt gzip data
                raise file_error(path, lineno + 1, f'corrupt or truncated gzip data ({e})'
                                 ) from None
            lineno += 1
            try:
                line = raw.decode('utf-8-sig' if lineno == 1 else 'utf-8')
            except UnicodeDecodeError as e:
                raise file_error(path, lineno, f'not UTF-8 text ({e.reason} at byte '
                                 f'{e.start})') from None
            if '\x00' in line:
                raise file_error(path, lineno, 'NUL byte in a text file (a binary file?)')
            line = line.rstrip('\r\n')
            blank = blank and not line.strip()
            yield lineno, line
    if blank:
        raise PygSipError(f"'{path}' is empty")


def parse_int(text: str) -> Optional[int]:
    """``text`` as an integer, or :obj:`None` when it is not one. Only ASCII
    digits count (``str.isdigit()`` accepts ``'²'``, which :func:`int`
    rejects, and :func:`int` accepts ``'١'``)."""
    text = text.strip()
    digits = text[1:] if text[:1] in '+-' else text
    return int(text) if digits.isascii() and digits.isdecimal() else None


def _non_ascii_row(col: np.ndarray) -> Optional[int]:
    """The first row of a string column holding a non-ASCII character
    (vectorised: encoding the column fails only when one does)."""
    try:
        col.astype(np.bytes_)
        return None
    except UnicodeEncodeError:
        return next(i for i, v in enumerate(col.tolist()) if not v.isascii())


@dataclass
class Table:
    r"""The rows of a delimited text file as one string array per column.

    Args:
        path (Path): The file.
        header (list[str], optional): The column names, if the file has them.
        columns (list[numpy.ndarray]): One string array per column.
        lineno (numpy.ndarray): The file line of each row.
    """
    path: Path
    header: Optional[list]
    columns: list
    lineno: np.ndarray

    def __len__(self) -> int:
        return len(self.lineno)

    def index(self, name: str) -> int:
        if self.header is None or name not in self.header:
            raise file_error(self.path, 1, f"no column '{name}' in header {self.header}")
        return self.header.index(name)

    def column(self, key: Union[int, str]) -> np.ndarray:
        return self.columns[self.index(key) if isinstance(key, str) else key]

    def numbers(self, key: Union[int, str], what: str = 'number') -> np.ndarray:
        """The column parsed as finite ``float64``; names the first row that
        is not an ASCII number."""
        col = np.char.strip(self.column(key))
        bad = _non_ascii_row(col)
        if bad is None:
            try:
                out = col.astype(np.float64)
                finite = np.isfinite(out)
                if finite.all():
                    return out
                bad = int(np.flatnonzero(~finite)[0])
            except ValueError:
                bad = next(i for i, v in enumerate(col.tolist()) if not is_float(v))
        raise file_error(self.path, int(self.lineno[bad]),
                         f"expected a {what}, found '{col[bad]}'")

    def integers(self, key: Union[int, str], what: str = 'an integer') -> np.ndarray:
        """The column parsed as ``int64`` (ASCII digits only); names the
        first row that is not an integer."""
        col = np.char.strip(self.column(key))
        bad = _non_ascii_row(col)
        if bad is None:
            try:
                return col.astype(np.int64)
            except (ValueError, OverflowError):
                pass
        bad = next(i for i, v in enumerate(col.tolist()) if parse_int(v) is None)
        raise file_error(self.path, int(self.lineno[bad]),
                         f"expected {what}, found '{col[bad]}'")

    def error(self, row: int, message: str) -> PygSipError:
        return file_error(self.path, int(self.lineno[row]), message)


def is_float(value: str) -> bool:
    """Whether :func:`float` parses ``value``."""
    try:
        float(value)
        return True
    except ValueError:
        return False


def read_table(path: PathLike, num_fields: Optional[int] = None, *,
               max_fields: Optional[int] = None, sep: Optional[str] = '\t',
               header: bool = False, comment: Optional[str] = None) -> Table:
    r"""Reads a delimited text file; blank lines (and lines starting with
    ``comment``) are skipped. Every row is checked on its own: the column
    count is never inferred from the first row.

    Args:
        path (str or Path): The file (plain or ``.gz``).
        num_fields (int, optional): Fields every row needs; a shorter row
            raises :class:`PygSipError` naming its line. (default: with a
            header, its length)
        max_fields (int, optional): Most fields a row may have; a longer row
            raises (e.g. a tab inside a text). Missing optional fields read
            as ``''``. (default: ``num_fields``)
        sep (str, optional): The delimiter, :obj:`None` for any whitespace.
            (default: :obj:`"\t"`)
        header (bool, optional): Whether the first row names the columns.
            (default: :obj:`False`)
        comment (str, optional): Prefix of lines to skip. (default: :obj:`None`)
    """
    path = existing_file(path)
    if num_fields is None and not header:
        raise PygSipError('read_table needs num_fields or a header')
    names, rows, linenos = None, [], []
    how = 'a tab' if sep == '\t' else repr(sep or 'spaces')
    for lineno, line in iter_lines(path):
        if not line.strip() or (comment is not None and line.startswith(comment)):
            continue
        fields = line.split(sep)
        if names is None and header:
            names = [f.strip() for f in fields]
            if len(set(names)) != len(names):
                raise file_error(path, lineno, f'repeated column name in header {names}')
            num_fields = max_fields = len(names)
            continue
        high = max_fields or num_fields
        if len(fields) < num_fields:
            raise file_error(path, lineno, f'expected {num_fields} fields separated by {how}, '
                             f'found {len(fields)} (truncated line?)')
        if len(fields) > high:
            raise file_error(path, lineno, f'expected {high} fields separated by {how}, found '
                             f'{len(fields)} ({how} inside a field?)')
        rows.append(fields + [''] * (high - len(fields)))
        linenos.append(lineno)
    if not rows:
        raise PygSipError(f"'{path}' has no data rows")
    columns = [np.array(col, dtype=str) for col in zip(*rows)]
    return Table(path, names, columns, np.array(linenos, dtype=np.int64))


def first_line(path: PathLike, comment: Optional[str] = None) -> str:
    """The first line of ``path`` that is neither blank nor a comment."""
    for _, line in iter_lines(path):
        if line.strip() and (comment is None or not line.startswith(comment)):
            return line
    raise PygSipError(f"'{path}' has no data rows")


def separator(path: PathLike, comment: Optional[str] = None) -> Optional[str]:
    """A tab if the first data line of ``path`` holds one, else :obj:`None`
    (any whitespace)."""
    return '\t' if '\t' in first_line(path, comment) else None


def index_of(ids: np.ndarray, query: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Position of every ``query`` id in the array of unique ``ids`` and a mask
    of those found (sort + binary search, no per-element Python)."""
    query = np.asarray(query)
    if len(ids) == 0:
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
    order = np.argsort(ids, kind='stable')
    ids_sorted = ids[order]
    pos = np.searchsorted(ids_sorted, query).clip(max=len(ids) - 1)
    return order[pos].astype(np.int64), ids_sorted[pos] == query


def resolve_pairs(ids: np.ndarray, a: np.ndarray, b: np.ndarray, report: 'LoadReport',
                  reason: str, where: Callable[[int], str]
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node indices ``(src, dst)`` of the id pairs ``(a, b)`` that name two
    known ``ids``, and the mask of those pairs. The others are counted in
    ``report`` under ``reason``, the first one named with ``where(row)``."""
    src, found_a = index_of(ids, a)
    dst, found_b = index_of(ids, b)
    found = found_a & found_b
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        report.drop(reason, int((~found).sum()),
                    f"'{a[i] if not found_a[i] else b[i]}' at {where(i)}")
    return src[found], dst[found], found


def check_unique(ids: Sequence, linenos: Sequence[int], path: PathLike, what: str) -> None:
    """Raises :class:`PygSipError` naming both lines of the first repeated id."""
    dup = first_duplicate(np.asarray(ids))
    if dup is not None:
        raise PygSipError(f"{what} '{ids[dup[1]]}' appears twice: '{path}', lines "
                          f'{linenos[dup[0]]} and {linenos[dup[1]]}')


def first_duplicate(values: np.ndarray) -> Optional[Tuple[int, int]]:
    """Rows ``(i, j)``, ``i < j``, of the first repeated value, or :obj:`None`."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    dup = np.flatnonzero(first[inverse] != np.arange(len(values)))
    if len(dup) == 0:
        return None
    j = int(dup[0])
    return int(first[inverse[j]]), j


@dataclass(repr=False)
class LoadReport:
    r"""What a dataset adapter read from disk, what it kept and what it
    dropped or changed, and why.

    Args:
        source (str): The files read.
        counts (dict[str, int]): What the result holds (e.g.
            :obj:`"proteins"`, :obj:`"interactions"`) and changes made to
            kept items (e.g. :obj:`"sequences_truncated"`).
        dropped (dict[str, int]): Number of items dropped, by reason.
        examples (dict[str, str]): The first dropped item of each reason,
            with its file and line where known.
    """
    source: str
    counts: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)

    def drop(self, reason: str, count: int, example: Optional[str] = None) -> None:
        if count > 0:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(count)
            if example is not None:
                self.examples.setdefault(reason, example)

    def count(self, name: str, value: int) -> None:
        self.counts[name] = int(value)

    def to_dict(self) -> dict:
        """The report as plain data: ``source``, ``counts``, ``dropped`` and
        ``examples`` (JSON-serialisable)."""
        return {'source': self.source, 'counts': dict(self.counts),
                'dropped': dict(self.dropped), 'examples': dict(self.examples)}

    def log(self) -> 'LoadReport':
        """Logs :meth:`describe` (a warning when something was dropped)."""
        (logger.warning if self.dropped else logger.info)('%s', self.describe())
        return self

    def describe(self) -> str:
        """Every count, every drop reason and its first example."""
        kept = ', '.join(f'{v} {k}' for k, v in self.counts.items())
        text = f'{self.source}: {kept}'
        for reason, n in self.dropped.items():
            example = self.examples.get(reason)
            text += f'; dropped {n} ({reason}' + (f', e.g. {example})' if example else ')')
        return text

    def __repr__(self) -> str:
        kept = ', '.join(f'{k}={v}' for k, v in self.counts.items())
        return f'LoadReport({kept}, dropped={sum(self.dropped.values())})'


def undirected_edges(src: np.ndarray, dst: np.ndarray, num_nodes: int,
                     report: LoadReport, what: str,
                     weight: Optional[np.ndarray] = None
                     ) -> Tuple[Tensor, Optional[Tensor]]:
    """The coalesced undirected graph without self-loops of the index pairs
    ``(src, dst)``; repeated pairs (either direction) merge into one, keeping
    the largest weight. Self-loops and merged repeats are counted in
    ``report`` as ``<what>_self_loop`` and ``<what>_duplicate``, the pairs
    kept as ``<what>``."""
    src = torch.as_tensor(np.asarray(src, dtype=np.int64))
    dst = torch.as_tensor(np.asarray(dst, dtype=np.int64))
    loop = src == dst
    report.drop(f'{what}_self_loop', int(loop.sum()))
    keep = ~loop
    edge_index = torch.stack([src[keep], dst[keep]])
    edge_weight = None
    if weight is not None:
        edge_weight = torch.as_tensor(np.asarray(weight, dtype=np.float32))[keep]
    edge_index, edge_weight = to_undirected(edge_index, edge_weight, num_nodes=num_nodes,
                                            reduce='max')
    num_pairs = edge_index.size(1) // 2
    report.drop(f'{what}_duplicate', int(keep.sum()) - num_pairs,
                'repeated pairs merge into one undirected pair')
    report.count(what, num_pairs)
    return edge_index, edge_weight


def keep_nodes(mask: Tensor, edge_index: Tensor) -> Tuple[Tensor, Tensor]:
    """Relabels ``edge_index`` to the nodes where ``mask`` is set (every edge
    must join kept nodes) and returns ``(edge_index, kept node ids)``."""
    new_id = torch.cumsum(mask.long(), 0) - 1
    return new_id[edge_index], mask.nonzero().view(-1)


def as_paths(paths: Union[PathLike, Sequence[PathLike]]) -> list:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]
