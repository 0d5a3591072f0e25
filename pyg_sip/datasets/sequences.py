"""Protein sequences from FASTA or ``id<TAB>sequence`` files (plain or
gzip): line-numbered checks, repeated ids, and the length rule."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    existing_file,
    file_error,
    first_line,
    iter_lines,
    read_table,
)
from pyg_sip.errors import PygSipError

STANDARD_RESIDUES = 'ACDEFGHIKLMNPQRSTVWY'


@dataclass
class Records:
    """Sequences read from disk, one per unique id, with where they came from."""
    ids: List[str] = field(default_factory=list)
    sequences: List[str] = field(default_factory=list)
    titles: List[str] = field(default_factory=list)
    where: List[str] = field(default_factory=list)

    def select(self, keep: List[int]) -> 'Records':
        return Records(*([getattr(self, f)[i] for i in keep]
                          for f in ('ids', 'sequences', 'titles', 'where')))


def _fasta(path: Path) -> Iterator[Tuple[int, str, str]]:
    """``(header line number, title, sequence)`` of each FASTA record, parsed
    by Biopython."""
    from pyg_sip._optional import require
    fasta_io = require('Bio.SeqIO.FastaIO')
    headers: List[int] = []

    def lines() -> Iterator[str]:
        for lineno, line in iter_lines(path):
            if line.startswith('>'):
                headers.append(lineno)
            elif not headers and line.strip():
                raise file_error(path, lineno, "expected a FASTA header starting with '>'")
            yield line + '\n'

    for k, (title, seq) in enumerate(fasta_io.SimpleFastaParser(lines())):
        yield headers[k], title, seq


_FASTA_SUFFIXES = ('.fa', '.fasta', '.faa', '.fas')


def _is_fasta(path: Path) -> bool:
    """By the file name (``.fa``, ``.fasta``, ... optionally ``.gz``), else by
    a first line starting with ``>``."""
    name = path.name[:-3] if path.name.endswith('.gz') else path.name
    return name.endswith(_FASTA_SUFFIXES) or first_line(path).startswith('>')


def _clean_sequence(path: Path, lineno: int, pid: str, seq: str) -> str:
    """Upper-case letters without a trailing stop ``*``. Letters outside the
    20 standard residues are kept: the tokenizer maps them by its own rule."""
    seq = seq.strip().rstrip('*').upper()
    if not seq:
        raise file_error(path, lineno, f"empty sequence for '{pid}'")
    if not (seq.isascii() and seq.isalpha()):
        bad = next(c for c in seq if not (c.isascii() and c.isalpha()))
        raise file_error(path, lineno, f"invalid residue {bad!r} in the sequence of '{pid}'")
    return seq


def _iter_records(path: Path, keep: Optional[set] = None
                  ) -> Iterator[Tuple[int, str, str, Optional[str]]]:
    """``(line number, id, title, sequence)`` of each record of a FASTA or
    ``id<TAB>sequence`` file; the sequence is :obj:`None` (not checked) for
    an id outside ``keep``."""
    if _is_fasta(path):
        records = ((ln, title.split()[0] if title.split() else '', title, seq)
                   for ln, title, seq in _fasta(path))
    else:
        table = read_table(path, 2, sep='\t')
        records = zip(table.lineno.tolist(), table.columns[0].tolist(),
                      table.columns[0].tolist(), table.columns[1].tolist())
    for lineno, pid, title, seq in records:
        pid = pid.strip()
        if not pid:
            raise file_error(path, lineno, 'empty protein id')
        if keep is not None and pid not in keep:
            yield lineno, pid, title, None
        else:
            yield lineno, pid, title, _clean_sequence(path, lineno, pid, seq)


def read_sequences(path: PathLike) -> Tuple[List[str], List[str], List[int]]:
    """``(ids, sequences, line numbers)`` of every record of a FASTA or
    ``id<TAB>sequence`` file, in file order (repeats kept)."""
    path = existing_file(path)
    ids, seqs, linenos = [], [], []
    for lineno, pid, _, seq in _iter_records(path):
        ids.append(pid)
        seqs.append(seq)
        linenos.append(lineno)
    return ids, seqs, linenos


def read_records(paths: Sequence[Path], report: LoadReport,
                  keep: Optional[set] = None) -> Records:
    """Reads FASTA or ``id<TAB>sequence`` files. An id seen twice with the same
    sequence is kept once (counted as ``sequence_duplicate``); with a
    different sequence it raises :class:`PygSipError` naming both lines."""
    out, seen = Records(), {}
    skipped = 0
    for path in paths:
        path = existing_file(path)
        for lineno, pid, title, seq in _iter_records(path, keep):
            if seq is None:
                skipped += 1
                continue
            where = f"'{path}', line {lineno}"
            if pid in seen:
                k = seen[pid]
                if out.sequences[k] != seq:
                    raise PygSipError(f"protein '{pid}' has two different sequences: "
                                      f'{out.where[k]} and {where}')
                report.drop('sequence_duplicate', 1, f"'{pid}' at {where}")
                continue
            seen[pid] = len(out.ids)
            out.ids.append(pid)
            out.sequences.append(seq)
            out.titles.append(title)
            out.where.append(where)
    report.drop('sequence_without_interaction', skipped)
    return out


def check_length_rule(max_length: Optional[int], long_sequences: str) -> None:
    """Checks the ``max_length`` / ``long_sequences`` arguments."""
    if long_sequences not in ('truncate', 'drop'):
        raise PygSipError(f"long_sequences must be 'truncate' or 'drop', got '{long_sequences}'")
    if max_length is not None and (isinstance(max_length, bool) or
                                   not isinstance(max_length, int) or max_length < 1):
        raise PygSipError(f'max_length must be a positive integer, got {max_length!r}')


def limit_length(records: Records, max_length: Optional[int], long_sequences: str,
                  report: LoadReport) -> Records:
    """Applies the ``max_length`` rule: ``'truncate'`` keeps the first
    ``max_length`` residues, ``'drop'`` removes the protein."""
    check_length_rule(max_length, long_sequences)
    if max_length is None:
        return records
    lengths = np.fromiter(map(len, records.sequences), dtype=np.int64,
                          count=len(records.sequences))
    long = np.flatnonzero(lengths > max_length)
    if long_sequences == 'truncate':
        for i in long.tolist():
            records.sequences[i] = records.sequences[i][:max_length]
        report.count('sequences_truncated', len(long))
        return records
    if len(long):
        report.drop('sequence_too_long', len(long),
                    f"'{records.ids[long[0]]}' ({lengths[long[0]]} residues) at "
                    f'{records.where[long[0]]}')
    return records.select(np.flatnonzero(lengths <= max_length).tolist())


def count_nonstandard(sequences: Sequence[str], report: LoadReport) -> None:
    table = str.maketrans('', '', STANDARD_RESIDUES)
    report.count('sequences_nonstandard', sum(1 for s in sequences if s.translate(table)))
