"""Molecules from MoleculeNet-format SMILES files, with a pre-training graph
from fingerprint similarity and a deterministic scaffold split."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import from_rdmol

from pyg_sip._optional import require
from pyg_sip.datasets._io import (
    LoadReport,
    PathLike,
    existing_file,
    file_error,
    is_float,
    iter_lines,
)
from pyg_sip.datasets.base import SampleReader
from pyg_sip.datasets.similarity import tanimoto_graph
from pyg_sip.errors import PygSipError

__all__ = ['MoleculeGraph', 'morgan_fingerprints', 'read_csv_rows', 'scaffold_split',
           'smiles_column_index', 'tanimoto_graph']


def _parse_smiles(smiles: str):
    """The RDKit molecule of ``smiles``, or :obj:`None` when RDKit cannot
    parse it or it has no atom (RDKit's own error log is silenced)."""
    rdBase = require('rdkit.rdBase')
    Chem = require('rdkit.Chem')
    block = rdBase.BlockLogs()  # noqa: F841 (silences RDKit while alive)
    mol = Chem.MolFromSmiles(smiles) if smiles.strip() else None
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def morgan_fingerprints(mols: Sequence, radius: int = 2, n_bits: int = 2048) -> Tensor:
    r"""Morgan (ECFP-like) bit fingerprints of RDKit molecules.

    Args:
        mols (list[rdkit.Chem.Mol]): The molecules.
        radius (int, optional): Morgan radius (2 is ECFP4). (default: :obj:`2`)
        n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)

    Shapes:
        - **output:** :math:`(N, \text{n\_bits})` bool
    """
    generator = require('rdkit.Chem.rdFingerprintGenerator').GetMorganGenerator(
        radius=radius, fpSize=n_bits)
    if len(mols) == 0:
        return torch.zeros(0, n_bits, dtype=torch.bool)
    bits = np.stack([generator.GetFingerprintAsNumPy(mol) for mol in mols])
    return torch.from_numpy(bits.astype(bool))


def _check_graph_args(k: Optional[int], threshold: Optional[float]) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise PygSipError(f'k must be a positive integer, got {k!r}')
    if threshold is not None and not 0 < threshold <= 1:
        raise PygSipError(f'threshold must be in (0, 1], got {threshold}')
    if k is not None and threshold is not None:
        raise PygSipError('give k or threshold, not both')


def _check_frac(frac: Sequence[float]) -> None:
    if len(frac) != 3 or min(frac) < 0 or abs(sum(frac) - 1) > 1e-6:
        raise PygSipError(f'split fractions must be three non-negative numbers summing to 1, '
                          f'got {tuple(frac)}')


def scaffold_split(smiles: Sequence[str], frac: Sequence[float] = (0.8, 0.1, 0.1)
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Deterministic Bemis-Murcko scaffold split, as in OGB's
    ``ogbg-mol*`` splits (DeepChem's ``ScaffoldSplitter``): molecules are
    grouped by scaffold (with chirality); the groups, largest first (ties:
    the group whose first molecule comes later first), fill the training
    set while it stays within ``frac[0] * N``, then validation within
    ``(frac[0] + frac[1]) * N``, then test. Small scaffolds thus land in
    validation and test: a harder, more realistic split than a random one.

    Args:
        smiles (list[str]): SMILES strings.
        frac (tuple[float, float, float], optional): Train, validation and
            test fractions. (default: :obj:`(0.8, 0.1, 0.1)`)

    Returns:
        The sorted train, validation and test indices.
    """
    _check_frac(frac)
    scaffold_of = require('rdkit.Chem.Scaffolds.MurckoScaffold').MurckoScaffoldSmiles
    scaffolds = []
    for i, smi in enumerate(smiles):
        mol = _parse_smiles(smi)
        if mol is None:
            raise PygSipError(f"smiles[{i}] = '{smi}' is not a valid SMILES")
        scaffolds.append(scaffold_of(mol=mol, includeChirality=True))
    num = len(scaffolds)
    _, first, inverse, size = np.unique(np.array(scaffolds, dtype=object).astype(str),
                                        return_index=True, return_inverse=True,
                                        return_counts=True)
    order = np.lexsort((first, size))[::-1]  # size desc, then first index desc
    train_cut, val_cut = frac[0] * num, (frac[0] + frac[1]) * num
    part = np.empty(len(size), dtype=np.int64)
    n_train = n_val = 0
    for s in order.tolist():  # greedy over scaffold groups, sequential by nature
        if n_train + size[s] <= train_cut:
            part[s], n_train = 0, n_train + size[s]
        elif n_train + n_val + size[s] <= val_cut:
            part[s], n_val = 1, n_val + size[s]
        else:
            part[s] = 2
    member = torch.as_tensor(part[inverse])
    return tuple((member == p).nonzero().view(-1) for p in range(3))


def read_csv_rows(path: Path, max_rows: Optional[int] = None
                  ) -> Tuple[List[str], List[Tuple[int, List[str]]]]:
    """The header and the ``(line number, fields)`` of the first
    ``max_rows`` non-blank data rows of a CSV file; a row with another
    field count than the header raises :class:`PygSipError` naming its
    line."""
    numbered = ((n, line) for n, line in iter_lines(path) if line.strip())
    current = [0]

    def lines() -> Iterator[str]:
        for n, line in numbered:
            current[0] = n
            yield line

    reader = csv.reader(lines())
    try:
        header = [h.strip() for h in next(reader)]
        if len(set(header)) != len(header):
            raise file_error(path, current[0], f'repeated column name in header {header}')
        rows = []
        for row in reader:
            if max_rows is not None and len(rows) >= max_rows:
                break
            if len(row) != len(header):
                more = len(row) > len(header)
                raise file_error(path, current[0], f'expected {len(header)} comma-separated '
                                 f'fields as in the header, found {len(row)} '
                                 f"({'an unquoted comma?' if more else 'truncated line?'})")
            rows.append((current[0], row))
    except csv.Error as e:
        raise file_error(path, current[0], f'malformed CSV ({e})') from None
    if not rows:
        raise PygSipError(f"'{path}' has no data rows")
    return header, rows


def smiles_column_index(path: Path, header: List[str], name: Optional[str]) -> int:
    """The column ``name``, else the one called ``smiles`` (any case), else
    the first."""
    if name is not None:
        return _column(path, header, name)
    lower = [h.lower() for h in header]
    return lower.index('smiles') if 'smiles' in lower else 0


class MoleculeGraph(SampleReader):
    r"""Molecules as samples, linked by fingerprint similarity: a
    pre-training graph for molecule encoders in the sense of
    `"Structure-Inducing Pre-Training" <https://arxiv.org/abs/2103.10334>`_,
    where structurally similar molecules are pulled together.

    .. math::
        \{u, v\} \in \mathcal{E} \iff v \in \mathrm{kNN}_T(u) \lor
        u \in \mathrm{kNN}_T(v) \quad\text{or}\quad T(u, v) \geq \tau

    with :math:`T` the Tanimoto similarity of Morgan fingerprints
    (:func:`tanimoto_graph`). Each molecule is a graph in the format of
    :func:`torch_geometric.utils.from_smiles` (atom features ``x``
    :math:`[n, 9]`, bond features ``edge_attr`` :math:`[e, 3]`, both long).
    Build it with :meth:`from_csv`, then call :meth:`to_sample_graph`.

    Args:
        smiles (list[str]): SMILES of the kept molecules.
        molecules (list[torch_geometric.data.Data]): Their molecular graphs.
        y (torch.Tensor): Labels, :obj:`NaN` where missing.
        label_names (list[str]): The label columns.
        edge_index (torch.Tensor): The similarity graph.
        edge_weight (torch.Tensor, optional): Tanimoto similarity per edge.
            (default: :obj:`None`)
        masks (dict[str, torch.Tensor], optional): ``train_mask``,
            ``val_mask``, ``test_mask``. (default: :obj:`None`)
        report (LoadReport, optional): What reading kept and dropped.
            (default: :obj:`None`)

    Shapes:
        - **y:** :math:`(N, T)` float
        - **edge_index:** :math:`(2, E)`
    """
    payload = 'molecules'

    def __init__(self, smiles: List[str], molecules: list, y: Tensor, label_names: List[str],
                 edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                 masks: Optional[dict] = None, report: Optional[LoadReport] = None) -> None:
        if not len(smiles) == len(molecules) == y.size(0):
            raise PygSipError(f'{len(smiles)} SMILES, {len(molecules)} molecules and '
                              f'{y.size(0)} label rows')
        self.smiles = smiles
        self.molecules = molecules
        self.y = y
        self.label_names = label_names
        self.edge_index = edge_index
        self.edge_weight = edge_weight
        self.masks = masks or {}
        self.report = report or LoadReport('memory')

    @property
    def num_molecules(self) -> int:
        return len(self.smiles)

    @classmethod
    def from_csv(cls, path: PathLike, smiles_column: Optional[str] = None,
                 label_columns: Optional[Sequence[str]] = None, *, k: Optional[int] = None,
                 threshold: Optional[float] = None, radius: int = 2, n_bits: int = 2048,
                 split: Optional[Sequence[float]] = (0.8, 0.1, 0.1),
                 max_rows: Optional[int] = None) -> 'MoleculeGraph':
        r"""Reads a MoleculeNet-format CSV file (header row; a SMILES column
        and label columns; an empty label is missing and becomes
        :obj:`NaN`), e.g. ``datasets/moleculenet_chemprop/bbbp.csv``. Needs
        the ``chem`` extra. SMILES that RDKit cannot parse are skipped and
        counted (``invalid_smiles``, the first one named with its line);
        a short row or a label that is not a number raises
        :class:`~pyg_sip.errors.PygSipError` naming file and line.

        Args:
            path (str or Path): The CSV file.
            smiles_column (str, optional): The SMILES column.
                (default: the column named ``smiles`` in any case, else the
                first column)
            label_columns (list[str], optional): Label columns.
                (default: all other columns)
            k (int, optional): Link each molecule to its ``k`` most similar
                ones. (default: :obj:`5` unless ``threshold`` is given)
            threshold (float, optional): Link every pair at least this
                similar instead. (default: :obj:`None`)
            radius (int, optional): Morgan fingerprint radius.
                (default: :obj:`2`)
            n_bits (int, optional): Fingerprint length. (default: :obj:`2048`)
            split (tuple[float, float, float], optional): Fractions of the
                scaffold split (:func:`scaffold_split`); :obj:`None` for no
                split. (default: :obj:`(0.8, 0.1, 0.1)`)
            max_rows (int, optional): Read only the first ``max_rows`` data
                rows. (default: :obj:`None`)
        """
        if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)
                                     or max_rows < 1):
            raise PygSipError(f'max_rows must be a positive integer, got {max_rows!r}')
        _check_graph_args(k, threshold)
        if split is not None:
            _check_frac(split)
        path = existing_file(path)
        report = LoadReport(str(path))
        header, rows = read_csv_rows(path, max_rows)
        s_col = smiles_column_index(path, header, smiles_column)
        if label_columns is None:
            l_cols = [i for i in range(len(header)) if i != s_col]
        else:
            l_cols = [_column(path, header, name) for name in label_columns]
        smiles = [row[s_col].strip() for _, row in rows]
        linenos = [lineno for lineno, _ in rows]
        labels = [[row[i].strip() or 'nan' for i in l_cols] for _, row in rows]
        y = _labels(path, labels, linenos, [header[i] for i in l_cols])

        kept, mols, graphs = _parse_molecules(path, smiles, linenos, report)
        kept_smiles = [smiles[i] for i in kept]
        y = y[torch.tensor(kept)]

        edge_index, edge_weight = tanimoto_graph(
            morgan_fingerprints(mols, radius, n_bits),
            k=k if k is not None or threshold is not None else 5, threshold=threshold)
        masks = None
        if split is not None:
            parts = scaffold_split(kept_smiles, split)
            masks = {name: torch.zeros(len(kept), dtype=torch.bool).index_fill_(0, idx, True)
                     for name, idx in zip(('train_mask', 'val_mask', 'test_mask'), parts)}
        report.count('molecules', len(kept))
        report.count('similarity_edges', edge_index.size(1) // 2)
        report.count('missing_labels', int(torch.isnan(y).sum()))
        return cls(kept_smiles, graphs, y, [header[i] for i in l_cols], edge_index,
                   edge_weight, masks, report.log())

    def samples(self) -> list:
        return self.molecules

    def attributes(self) -> dict:
        return {'y': self.y, 'edge_weight': self.edge_weight, **self.masks}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(molecules={self.num_molecules}, '
                f'edges={self.edge_index.size(1) // 2}, tasks={len(self.label_names)})')


def _parse_molecules(path: Path, smiles: List[str], linenos: List[int], report: LoadReport
                     ) -> Tuple[List[int], list, list]:
    """The rows whose SMILES RDKit parses into a molecule that
    :func:`~torch_geometric.utils.from_rdmol` can encode, their RDKit
    molecules and graphs; the others are counted in ``report``
    (``invalid_smiles``, ``unsupported_molecule``) with their line."""
    kept, mols, graphs = [], [], []
    invalid, unsupported = [], []
    for i, (smi, lineno) in enumerate(zip(smiles, linenos)):
        mol = _parse_smiles(smi)
        if mol is None:
            invalid.append(f"line {lineno}: '{smi}'")
            continue
        try:
            graphs.append(from_rdmol(mol))
        except ValueError:  # an atom or bond feature outside from_smiles' vocabulary
            unsupported.append(f"line {lineno}: '{smi}'")
            continue
        mols.append(mol)
        kept.append(i)
    report.drop('invalid_smiles', len(invalid), invalid[0] if invalid else None)
    report.drop('unsupported_molecule', len(unsupported), unsupported[0] if unsupported else None)
    if not kept:
        raise PygSipError(f"'{path}' has no valid SMILES")
    return kept, mols, graphs


def _column(path, header: List[str], name: str) -> int:
    if name not in header:
        raise file_error(path, 1, f"no column '{name}' in header {header}")
    return header.index(name)


def _labels(path, labels: List[List[str]], linenos: List[int], names: List[str]) -> Tensor:
    """Label strings as a float tensor (an empty cell is missing: NaN); names
    the first cell that is not a finite ASCII number."""
    cells = np.char.strip(np.array(labels, dtype=str).reshape(len(labels), len(names)))
    try:
        values = cells.astype(np.bytes_).astype(np.float32)  # bytes: ASCII only
        bad = np.isinf(values) | (np.isnan(values) & (np.char.lower(cells) != 'nan'))
    except (UnicodeEncodeError, ValueError):
        values, bad = None, np.array([[not (v.isascii() and is_float(v)) for v in row]
                                      for row in cells.tolist()], dtype=bool)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise file_error(path, linenos[r], f"label '{names[c]}' is '{cells[r, c]}', not a "
                         f'finite number')
    return torch.from_numpy(values)
