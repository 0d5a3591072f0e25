"""Protein-protein interaction graphs (edge lists, STRING, SHS27k,
Tree-of-Life style multi-species unions); DeepLoc labels are re-exported
from :mod:`pyg_sip.datasets.deeploc`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    as_paths,
    first_line,
    keep_nodes,
    read_table,
    resolve_pairs,
    separator,
    undirected_edges,
)
from pyg_sip.datasets.base import SampleReader
from pyg_sip.datasets.deeploc import DEEPLOC_LOCATIONS, DEEPLOC_MEMBRANE, DeepLocSet, load_deeploc
from pyg_sip.datasets.sequences import (
    STANDARD_RESIDUES,
    Records,
    check_length_rule,
    count_nonstandard,
    limit_length,
    read_records,
    read_sequences,
)
from pyg_sip.errors import PygSipError

__all__ = ['DEEPLOC_LOCATIONS', 'DEEPLOC_MEMBRANE', 'DeepLocSet', 'ProteinInteractionGraph',
           'STANDARD_RESIDUES', 'load_deeploc', 'read_sequences']

# The first header field of STRING's protein.actions / protein.links files:
_ACTIONS_HEADER, _LINKS_HEADER = 'item_id_a', 'protein1'

InteractionFiles = Union[PathLike, Sequence[PathLike], Mapping[str, PathLike]]


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


def _resolve(records: Records, pairs: _Interactions, paths: List[Path], report: LoadReport,
             file_groups: bool) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """The undirected interaction graph between the proteins of
    ``records`` (pairs naming an unknown protein counted as
    ``interaction_no_sequence``), its weights, and with ``file_groups``
    each protein's group file."""
    ids = np.array(records.ids, dtype=str)
    src, dst, found = resolve_pairs(
        ids, pairs.a, pairs.b, report, 'interaction_no_sequence',
        lambda i: f"'{paths[pairs.file[i]]}', line {pairs.lineno[i]}")
    edge_index, edge_weight = undirected_edges(
        src, dst, len(ids), report, 'interactions',
        None if pairs.score is None else pairs.score[found])
    group = (_file_groups(src, dst, pairs.file[found], len(ids), records, paths)
             if file_groups else None)
    return edge_index, edge_weight, group


def _drop_isolated(edge_index: Tensor, num_nodes: int, report: LoadReport
                   ) -> Tuple[Tensor, Tensor]:
    """The graph without proteins of no interaction (``protein_isolated``)
    and the kept protein indices; none kept raises."""
    degree = torch.bincount(edge_index[0], minlength=num_nodes)
    report.drop('protein_isolated', int((degree == 0).sum()))
    if not (degree > 0).any():
        raise PygSipError(f'no proteins left after reading {report.source} '
                          f'(dropped: {report.dropped})')
    return keep_nodes(degree > 0, edge_index)


def _taxa(records: Records) -> np.ndarray:
    """The taxon of each STRING id ``taxon.protein``."""
    ids = np.array(records.ids, dtype=str)
    taxon, dot, _ = np.char.partition(ids, '.').T
    if not (dot == '.').all():
        i = int(np.flatnonzero(dot != '.')[0])
        raise PygSipError(f"group='string' needs STRING ids 'taxon.protein', got "
                          f"'{ids[i]}' at {records.where[i]}")
    return taxon


def _file_groups(src: np.ndarray, dst: np.ndarray, file: np.ndarray, num_nodes: int,
                 records: Records, paths: List[Path]) -> Tensor:
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
        pairs = _read_all_interactions(inter_paths, names if qualify_ids else None, min_score,
                                       modes, report)
        keep = None if keep_isolated else set(np.unique(np.concatenate([pairs.a, pairs.b])))
        records = limit_length(read_records(seq_paths, report, keep), max_length,
                               long_sequences, report)
        edge_index, edge_weight, file_group = _resolve(records, pairs, inter_paths, report,
                                                       group == 'file')
        if not keep_isolated:
            edge_index, kept = _drop_isolated(edge_index, len(records.ids), report)
            records = records.select(kept.tolist())
            file_group = None if file_group is None else file_group[kept]
        node_group, group_names = None, None
        if group == 'string':
            group_names, inverse = np.unique(_taxa(records), return_inverse=True)
            node_group, group_names = torch.from_numpy(inverse.astype(np.int64)), \
                group_names.tolist()
        elif group == 'file':
            node_group, group_names = file_group, names
        report.counts = {'proteins': len(records.ids), **report.counts}
        count_nonstandard(records.sequences, report)
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
