"""Protein-protein interaction graphs (edge lists, STRING, SHS27k,
Tree-of-Life style multi-species unions) and DeepLoc localisation labels."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    as_paths,
    existing_file,
    file_error,
    first_line,
    iter_lines,
    keep_nodes,
    read_table,
    resolve_pairs,
    separator,
    undirected_edges,
)
from pyg_sip.datasets.base import SampleReader
from pyg_sip.errors import PygSipError

STANDARD_RESIDUES = 'ACDEFGHIKLMNPQRSTVWY'

#: DeepLoc's 10 localisation classes; ``location`` labels index this tuple.
DEEPLOC_LOCATIONS = ('Nucleus', 'Cytoplasm', 'Extracellular', 'Mitochondrion',
                     'Cell.membrane', 'Endoplasmic.reticulum', 'Plastid',
                     'Golgi.apparatus', 'Lysosome/Vacuole', 'Peroxisome')
#: DeepLoc's membrane labels (membrane-bound, soluble, unknown); ``membrane``
#: labels index this tuple.
DEEPLOC_MEMBRANE = ('M', 'S', 'U')

# The first header field of STRING's protein.actions / protein.links files:
_ACTIONS_HEADER, _LINKS_HEADER = 'item_id_a', 'protein1'

InteractionFiles = Union[PathLike, Sequence[PathLike], Mapping[str, PathLike]]


# ------------------------------------------------------------------ sequences
@dataclass
class _Records:
    """Sequences read from disk, one per unique id, with where they came from."""
    ids: List[str] = field(default_factory=list)
    sequences: List[str] = field(default_factory=list)
    titles: List[str] = field(default_factory=list)
    where: List[str] = field(default_factory=list)

    def select(self, keep: List[int]) -> '_Records':
        return _Records(*([getattr(self, f)[i] for i in keep]
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


def _read_records(paths: Sequence[Path], report: LoadReport,
                  keep: Optional[set] = None) -> _Records:
    """Reads FASTA or ``id<TAB>sequence`` files. An id seen twice with the same
    sequence is kept once (counted as ``sequence_duplicate``); with a
    different sequence it raises :class:`PygSipError` naming both lines."""
    out, seen = _Records(), {}
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


def _limit_length(records: _Records, max_length: Optional[int], long_sequences: str,
                  report: LoadReport) -> _Records:
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


def _count_nonstandard(sequences: Sequence[str], report: LoadReport) -> None:
    table = str.maketrans('', '', STANDARD_RESIDUES)
    report.count('sequences_nonstandard', sum(1 for s in sequences if s.translate(table)))


# --------------------------------------------------------------- interactions
@dataclass
class _Interactions:
    a: np.ndarray
    b: np.ndarray
    score: Optional[np.ndarray]
    lineno: np.ndarray
    file: np.ndarray


def _read_interactions(path: Path, index: int, min_score: Optional[float],
                       modes: Optional[set], seen_modes: set, report: LoadReport
                       ) -> _Interactions:
    """One interaction file: STRING ``protein.actions`` (header ``item_id_a
    item_id_b mode ... score``), STRING ``protein.links`` (header ``protein1
    protein2 ... combined_score``) or a whitespace edge list ``a b [score]``
    (``#`` comments)."""
    sep = separator(path, '#')
    first = first_line(path, '#').split(sep)[0].strip()
    scale = 1000.0  # STRING scores are integers in [0, 1000]
    if first in (_ACTIONS_HEADER, _LINKS_HEADER):
        table = read_table(path, sep=sep, header=True)
        a_key, b_key, score_key = (('item_id_a', 'item_id_b', 'score') if first == _ACTIONS_HEADER
                                   else ('protein1', 'protein2', 'combined_score'))
        a, b = table.column(a_key), table.column(b_key)
        table.index(score_key)
    else:  # an edge list: the score is optional, but then on every row or none
        table = read_table(path, 2, max_fields=3, sep=sep, comment='#')
        a, b = table.columns[0], table.columns[1]
        has_score = np.char.strip(table.columns[2]) != ''
        if has_score.any() and not has_score.all():
            i, j = int(np.flatnonzero(has_score)[0]), int(np.flatnonzero(~has_score)[0])
            raise table.error(j, f'no score, but line {table.lineno[i]} has one (give a '
                              f'score on every line or on none)')
        score_key, scale = (2 if has_score.all() else None), 1.0
    a, b = np.char.strip(a), np.char.strip(b)
    empty = (a == '') | (b == '')
    if empty.any():
        raise table.error(int(np.flatnonzero(empty)[0]), 'empty protein id')
    score = None if score_key is None else table.numbers(score_key, 'score')
    keep = np.ones(len(table), dtype=bool)
    if min_score is not None:
        if score is None:
            raise PygSipError(f"min_score needs a score column, '{path}' has none")
        keep &= score >= min_score
        report.drop('interaction_low_score', int((score < min_score).sum()))
    if modes is not None:
        if table.header is None or 'mode' not in table.header:
            raise PygSipError(f"modes needs a STRING protein.actions file, '{path}' has no "
                              f"'mode' column")
        mode = table.column('mode')
        seen_modes.update(np.unique(mode).tolist())
        in_modes = np.isin(mode, list(modes))
        report.drop('interaction_other_mode', int((keep & ~in_modes).sum()))
        keep &= in_modes
    return _Interactions(a[keep], b[keep], None if score is None else score[keep] / scale,
                         table.lineno[keep], np.full(int(keep.sum()), index))


def _qualify(ids: np.ndarray, prefix: str) -> np.ndarray:
    """Prefixes ``'<prefix>.'`` to the ids that lack it (Tree-of-Life files
    name proteins without their taxon, STRING sequences with it)."""
    has = np.char.startswith(ids, prefix + '.')
    return np.where(has, ids, np.char.add(prefix + '.', ids))


def _interaction_files(interactions: InteractionFiles, qualify_ids: bool
                       ) -> Tuple[List[str], List[Path]]:
    """The group name and the path of each interaction file."""
    if isinstance(interactions, Mapping):
        return [str(k) for k in interactions], as_paths(list(interactions.values()))
    if qualify_ids:
        raise PygSipError('qualify_ids needs interactions as a dict {group: file}')
    paths = as_paths(interactions)
    return [p.stem for p in paths], paths


def _read_all_interactions(paths: List[Path], prefixes: Optional[List[str]],
                           min_score: Optional[float], modes: Optional[Sequence[str]],
                           report: LoadReport) -> _Interactions:
    """Every interaction file read and concatenated; with ``prefixes``, the
    ids of file ``k`` lacking it get ``prefixes[k]`` (see :func:`_qualify`)."""
    wanted = None if modes is None else set(modes)
    seen: set = set()
    parts = []
    for k, path in enumerate(paths):
        part = _read_interactions(path, k, min_score, wanted, seen, report)
        if prefixes is not None:
            part.a, part.b = _qualify(part.a, prefixes[k]), _qualify(part.b, prefixes[k])
        parts.append(part)
    if wanted is not None and wanted - seen:
        raise PygSipError(f'modes {sorted(wanted - seen)} occur in no interaction file '
                          f'(found {sorted(seen)})')
    scores = [p.score for p in parts]
    return _Interactions(np.concatenate([p.a for p in parts]),
                         np.concatenate([p.b for p in parts]),
                         None if any(x is None for x in scores) else np.concatenate(scores),
                         np.concatenate([p.lineno for p in parts]),
                         np.concatenate([p.file for p in parts]))


def _taxa(records: _Records) -> np.ndarray:
    """The taxon of each STRING id ``taxon.protein``."""
    ids = np.array(records.ids, dtype=str)
    taxon, dot, _ = np.char.partition(ids, '.').T
    if not (dot == '.').all():
        i = int(np.flatnonzero(dot != '.')[0])
        raise PygSipError(f"group='string' needs STRING ids 'taxon.protein', got "
                          f"'{ids[i]}' at {records.where[i]}")
    return taxon


def _file_groups(src: np.ndarray, dst: np.ndarray, file: np.ndarray, num_nodes: int,
                 records: _Records, paths: List[Path]) -> Tensor:
    """Each protein's group is the file of its interactions; a protein in
    two files raises."""
    node = torch.as_tensor(np.concatenate([src, dst]))
    g = torch.as_tensor(np.concatenate([file, file]))
    low = torch.full((num_nodes, ), len(paths)).scatter_reduce(0, node, g, 'amin')
    high = torch.full((num_nodes, ), -1).scatter_reduce(0, node, g, 'amax')
    clash = ((high >= 0) & (low != high)).nonzero().view(-1)
    if clash.numel():
        i = int(clash[0])
        raise PygSipError(f"protein '{records.ids[i]}' interacts in two group files: "
                          f"'{paths[int(low[i])]}' and '{paths[int(high[i])]}'")
    return high


class ProteinInteractionGraph(SampleReader):
    r"""Protein sequences and the protein-protein interactions between them:
    the pre-training graph of the protein experiments of `"Structure-Inducing
    Pre-Training" <https://arxiv.org/abs/2103.10334>`_ (Tree-of-Life
    interactomes with STRING sequences, one group per species so that
    negatives can be drawn within a species).

    .. math::
        \mathcal{G}_{PT} = (\mathcal{V}, \mathcal{E}), \quad
        \{u, v\} \in \mathcal{E} \iff u \text{ and } v \text{ interact}

    Build it from files with :meth:`from_files` or :meth:`from_shs27k`, then
    call :meth:`to_sample_graph`. The rules applied while reading:

    * residues are upper-cased and a trailing stop ``*`` removed; letters
      outside the 20 standard amino acids (``X``, ``U``, ``B``, ...) are kept
      and mapped by the tokenizer's rule (counted as
      ``sequences_nonstandard``); any other character raises
      :class:`~pyg_sip.errors.PygSipError` naming file and line;
    * an id listed twice with the same sequence is kept once
      (``sequence_duplicate``); with different sequences it raises, naming
      both lines;
    * interactions naming a protein without a sequence are dropped
      (``interaction_no_sequence``), as are self-interactions; repeated
      pairs (both directions, several STRING modes) merge into one
      undirected edge whose weight is the largest score;
    * with ``max_length``, longer sequences are truncated to their first
      ``max_length`` residues (``sequences_truncated``) or, with
      ``long_sequences='drop'``, dropped together with their interactions;
    * proteins left without interactions are dropped
      (``protein_isolated``) unless ``keep_isolated=True``.

    Every count lands in :attr:`report` and is logged.

    Args:
        ids (list[str]): Protein ids.
        sequences (list[str]): Amino-acid sequences, one per id.
        edge_index (torch.Tensor): Undirected, coalesced interactions.
        group (torch.Tensor, optional): Group (species) index per protein.
            (default: :obj:`None`)
        group_names (list[str], optional): Name of each group.
            (default: :obj:`None`)
        edge_weight (torch.Tensor, optional): Interaction score per edge
            (STRING scores scaled to :math:`[0, 1]`). (default: :obj:`None`)
        report (LoadReport, optional): What reading kept and dropped.
            (default: :obj:`None`)

    Shapes:
        - **edge_index:** :math:`(2, |\mathcal{E}|)`
        - **group:** :math:`(|\mathcal{V}|)`
        - **edge_weight:** :math:`(|\mathcal{E}|)`
    """
    payload = 'proteins'

    def __init__(self, ids: List[str], sequences: List[str], edge_index: Tensor,
                 group: Optional[Tensor] = None, group_names: Optional[List[str]] = None,
                 edge_weight: Optional[Tensor] = None,
                 report: Optional[LoadReport] = None) -> None:
        if len(ids) != len(sequences):
            raise PygSipError(f'{len(ids)} ids but {len(sequences)} sequences')
        if edge_index.numel() and int(edge_index.max()) >= len(ids):
            raise PygSipError(f'edge_index names protein {int(edge_index.max())}, '
                              f'but there are {len(ids)} proteins')
        self.ids = list(ids)
        self.sequences = list(sequences)
        self.edge_index = edge_index
        self.group = group
        self.group_names = group_names
        self.edge_weight = edge_weight
        self.report = report or LoadReport('memory')

    @property
    def num_proteins(self) -> int:
        return len(self.ids)

    @property
    def num_interactions(self) -> int:
        """Number of undirected interactions."""
        return self.edge_index.size(1) // 2

    def samples(self) -> List[str]:
        return self.sequences

    def attributes(self) -> Dict[str, Optional[Tensor]]:
        return {'group': self.group, 'edge_weight': self.edge_weight}

    @classmethod
    def from_files(cls, sequences: Union[PathLike, Sequence[PathLike]],
                   interactions: InteractionFiles, *, min_score: Optional[float] = None,
                   modes: Optional[Sequence[str]] = None, group: Optional[str] = None,
                   qualify_ids: bool = False, max_length: Optional[int] = None,
                   long_sequences: str = 'truncate',
                   keep_isolated: bool = False) -> 'ProteinInteractionGraph':
        r"""Reads sequences and interactions from disk.

        Args:
            sequences (str or Path or list): FASTA file(s) (named
                ``*.fa``/``*.fasta``/``*.faa``/``*.fas`` or starting with
                ``>``; id = first word of the header; needs the ``bio``
                extra) or ``id<TAB>sequence`` file(s); plain or ``.gz``.
                Only proteins named by an interaction are kept unless
                ``keep_isolated``.
            interactions (str or Path or list or dict): Interaction file(s):
                STRING ``protein.links`` / ``protein.actions`` files
                (recognised by their header; plain or ``.gz``) or
                whitespace edge lists ``a b [score]``. A dict maps a group
                name (e.g. a species' taxon id) to its file, as for the
                Tree-of-Life interactomes, one file per species.
            min_score (float, optional): Keep interactions whose score
                column (STRING: ``combined_score`` / ``score``, on STRING's
                0-1000 scale; edge lists: the third column) is at least
                this. (default: :obj:`None`)
            modes (list[str], optional): Keep ``protein.actions`` rows of
                these interaction types (e.g. :obj:`['binding']`); a mode
                found in no file raises. (default: :obj:`None`)
            group (str, optional): Per-protein group for same-group
                negatives: :obj:`"string"` takes the taxon prefix of STRING
                ids (before the first ``.``); :obj:`"file"` takes the
                interaction file (its dict key, else its file name stem).
                (default: :obj:`None`)
            qualify_ids (bool, optional): With a dict of files, prefix each
                file's ids lacking it with ``"<key>."``, so that they match
                STRING sequence ids (``taxon.protein``). (default: :obj:`False`)
            max_length (int, optional): Longest sequence kept as is.
                (default: :obj:`None`)
            long_sequences (str, optional): :obj:`"truncate"` or
                :obj:`"drop"` sequences longer than ``max_length``.
                (default: :obj:`"truncate"`)
            keep_isolated (bool, optional): Keep proteins without any
                interaction. (default: :obj:`False`)
        """
        if group not in (None, 'string', 'file'):
            raise PygSipError(f"group must be None, 'string' or 'file', got '{group}'")
        if group == 'file' and keep_isolated:
            raise PygSipError("group='file' gives no group to isolated proteins: "
                              'use keep_isolated=False')
        check_length_rule(max_length, long_sequences)
        names, inter_paths = _interaction_files(interactions, qualify_ids)
        seq_paths = as_paths(sequences)
        report = LoadReport(', '.join(map(str, seq_paths + inter_paths)))
        # read
        pairs = _read_all_interactions(inter_paths, names if qualify_ids else None, min_score,
                                       modes, report)
        keep = None if keep_isolated else set(np.unique(np.concatenate([pairs.a, pairs.b])))
        records = _limit_length(_read_records(seq_paths, report, keep), max_length,
                                long_sequences, report)
        # resolve
        ids = np.array(records.ids, dtype=str)
        src, dst, found = resolve_pairs(
            ids, pairs.a, pairs.b, report, 'interaction_no_sequence',
            lambda i: f"'{inter_paths[pairs.file[i]]}', line {pairs.lineno[i]}")
        edge_index, edge_weight = undirected_edges(
            src, dst, len(ids), report, 'interactions',
            None if pairs.score is None else pairs.score[found])
        file_group = (_file_groups(src, dst, pairs.file[found], len(ids), records, inter_paths)
                      if group == 'file' else None)
        # filter
        kept = torch.arange(len(ids))
        if not keep_isolated:
            degree = torch.bincount(edge_index[0], minlength=len(ids))
            report.drop('protein_isolated', int((degree == 0).sum()))
            edge_index, kept = keep_nodes(degree > 0, edge_index)
        if kept.numel() == 0:
            raise PygSipError(f'no proteins left after reading {report.source} '
                              f'(dropped: {report.dropped})')
        records = records.select(kept.tolist())
        node_group, group_names = None, None
        if group == 'string':
            group_names, inverse = np.unique(_taxa(records), return_inverse=True)
            node_group, group_names = torch.from_numpy(inverse.astype(np.int64)), \
                group_names.tolist()
        elif group == 'file':
            node_group, group_names = file_group[kept], names
        report.counts = {'proteins': len(records.ids), **report.counts}
        _count_nonstandard(records.sequences, report)
        return cls(records.ids, records.sequences, edge_index, node_group, group_names,
                   edge_weight, report.log())

    @classmethod
    def from_shs27k(cls, root: PathLike, **kwargs) -> 'ProteinInteractionGraph':
        r"""The SHS27k human interaction set (PIPR / GNN-PPI, from STRING),
        shipped in ``datasets/ppi_shs27k``: 1,690 proteins, 7,624 undirected
        interactions, one group (taxon ``9606``).

        Args:
            root (str or Path): Folder holding
                ``protein.SHS27k.sequences.dictionary.tsv`` and
                ``protein.actions.SHS27k.STRING.txt``.
            **kwargs (optional): Passed to :meth:`from_files` (e.g. ``modes``).
        """
        root = Path(root)
        kwargs.setdefault('group', 'string')
        return cls.from_files(root / 'protein.SHS27k.sequences.dictionary.tsv',
                              root / 'protein.actions.SHS27k.STRING.txt', **kwargs)

    def __repr__(self) -> str:
        groups = '' if self.group_names is None else f', groups={len(self.group_names)}'
        return (f'{self.__class__.__name__}(proteins={self.num_proteins}, '
                f'interactions={self.num_interactions}{groups})')


# --------------------------------------------------------------------- DeepLoc
@dataclass
class DeepLocSet(SampleReader):
    r"""Proteins with DeepLoc subcellular-localisation labels (`"DeepLoc:
    prediction of protein subcellular localization using deep learning"
    <https://doi.org/10.1093/bioinformatics/btx431>`_), for probes and
    fine-tuning: no pre-training graph. Build it with :meth:`from_fasta`.

    Args:
        ids (list[str]): UniProt accessions.
        sequences (list[str]): Amino-acid sequences.
        location (torch.Tensor): Class index into :data:`DEEPLOC_LOCATIONS`.
        membrane (torch.Tensor): Index into :data:`DEEPLOC_MEMBRANE`
            (``M``, ``S``, ``U``).
        report (LoadReport): What reading kept and dropped.
    """
    ids: List[str]
    sequences: List[str]
    location: Tensor
    membrane: Tensor
    report: LoadReport
    payload = 'proteins'

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def edge_index(self) -> Tensor:
        return torch.empty(2, 0, dtype=torch.long)

    def samples(self) -> List[str]:
        return self.sequences

    def attributes(self) -> Dict[str, Tensor]:
        """``y``: the localisation class; ``membrane``: the membrane label."""
        return {'y': self.location, 'membrane': self.membrane}

    @classmethod
    def from_fasta(cls, path: PathLike, max_length: Optional[int] = None,
                   long_sequences: str = 'truncate') -> 'DeepLocSet':
        r"""Reads a DeepLoc FASTA file (headers ``>Accession
        Location-M|S|U [tag]``; needs the ``bio`` extra), e.g.
        ``datasets/deeploc_subsets/deeploc_test_set.fasta``. An unknown
        location or membrane label raises :class:`~pyg_sip.errors.PygSipError`
        naming the line. A protein with two locations
        (``Cytoplasm-Nucleus-U``) takes the first one, counted as
        ``locations_multiple``. ``max_length`` and duplicate ids follow
        :class:`ProteinInteractionGraph`'s rules.

        Args:
            path (str or Path): The FASTA file.
            max_length (int, optional): Longest sequence kept as is.
                (default: :obj:`None`)
            long_sequences (str, optional): :obj:`"truncate"` or
                :obj:`"drop"`. (default: :obj:`"truncate"`)
        """
        check_length_rule(max_length, long_sequences)
        path = existing_file(path)
        report = LoadReport(str(path))
        records = _limit_length(_read_records([path], report), max_length, long_sequences,
                                report)
        location, membrane, multiple = [], [], 0
        for title, where in zip(records.titles, records.where):
            words = title.split()
            *locs, mem = (words[1] if len(words) > 1 else '').split('-')
            if not locs or any(loc not in DEEPLOC_LOCATIONS for loc in locs) \
                    or mem not in DEEPLOC_MEMBRANE:
                raise PygSipError(f"{where}: expected '<accession> <location>-<M|S|U>' with "
                                  f'a location in {DEEPLOC_LOCATIONS}, got {title!r}')
            location.append(DEEPLOC_LOCATIONS.index(locs[0]))
            membrane.append(DEEPLOC_MEMBRANE.index(mem))
            multiple += len(locs) > 1
        report.count('locations_multiple', multiple)
        report.counts = {'proteins': len(records.ids), **report.counts}
        _count_nonstandard(records.sequences, report)
        return cls(records.ids, records.sequences, torch.tensor(location, dtype=torch.long),
                   torch.tensor(membrane, dtype=torch.long), report.log())


def load_deeploc(path: PathLike, max_length: Optional[int] = None,
                 long_sequences: str = 'truncate') -> DeepLocSet:
    """:meth:`DeepLocSet.from_fasta` (kept for existing callers)."""
    return DeepLocSet.from_fasta(path, max_length, long_sequences)
