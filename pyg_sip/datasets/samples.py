"""New samples without a pre-training graph, read for embedding: protein
sequences (FASTA), texts (TSV / JSONL) or molecules (SMILES in a CSV)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from pyg_sip.datasets._io import LoadReport, PathLike, check_unique, existing_file, file_error

#: The kinds of samples :func:`read_samples` returns.
SAMPLE_KINDS = ('sequences', 'texts', 'smiles')
_SUFFIX_KIND = {'.fasta': 'sequences', '.fa': 'sequences', '.faa': 'sequences',
                '.fas': 'sequences', '.tsv': 'texts', '.txt': 'texts', '.jsonl': 'texts',
                '.json': 'texts', '.csv': 'smiles'}


@dataclass
class Samples:
    r"""Samples read from a file, in file order.

    Args:
        ids (list[str]): One id per sample.
        kind (str): :obj:`"sequences"` (protein sequences), :obj:`"texts"`
            or :obj:`"smiles"`.
        values (list[str]): The sequence, text or SMILES of each sample.
        report (LoadReport): What reading kept and dropped.
    """
    ids: List[str]
    kind: str
    values: List[str]
    report: LoadReport = field(repr=False, default_factory=lambda: LoadReport('memory'))

    def __len__(self) -> int:
        return len(self.ids)


def sample_kind(path: Path) -> str:
    """The kind of samples a file holds, by its name (``.gz`` ignored)."""
    name = path.name[:-3] if path.name.endswith('.gz') else path.name
    suffix = Path(name).suffix.lower()
    if suffix not in _SUFFIX_KIND:
        raise file_error(path, 1, f"cannot tell the kind of samples from the suffix "
                         f"'{suffix}': name the file .fasta/.fa/.faa (sequences), "
                         f'.tsv/.jsonl (texts) or .csv (SMILES), or give kind')
    return _SUFFIX_KIND[suffix]


def read_samples(path: PathLike, kind: Optional[str] = None) -> Samples:
    r"""Reads new samples for embedding, without a graph.

    * ``sequences``: a FASTA file (``.fasta``/``.fa``/``.faa``, plain or
      ``.gz``; id = first word of the header) or ``id<TAB>sequence`` rows,
      checked as :class:`~pyg_sip.datasets.ProteinInteractionGraph` does;
    * ``texts``: TSV (``id<TAB>text[<TAB>label]``, optional header) or
      JSONL (``{"id": ..., "text": ...}``), as
      :meth:`~pyg_sip.datasets.TextLinkGraph.from_files` reads documents;
    * ``smiles``: a CSV with a header; the SMILES column is the one named
      ``smiles`` (any case), else the first; ids from a column named ``id``
      or ``name``, else the row number (0-based). An invalid SMILES raises
      (every sample must be embedded).

    Every problem raises :class:`~pyg_sip.errors.PygSipError` naming file
    and line; a repeated id raises, naming both lines.

    Args:
        path (str or Path): The file.
        kind (str, optional): :obj:`"sequences"`, :obj:`"texts"` or
            :obj:`"smiles"`. (default: from the file suffix)
    """
    path = existing_file(path)
    if kind is not None and kind not in SAMPLE_KINDS:
        raise file_error(path, 1, f"kind must be one of {SAMPLE_KINDS}, got '{kind}'")
    kind = kind or sample_kind(path)
    report = LoadReport(str(path))
    if kind == 'sequences':
        from pyg_sip.datasets.proteins import read_sequences
        ids, values, linenos = read_sequences(path)
    elif kind == 'texts':
        from pyg_sip.datasets.text import read_documents
        ids, values, _, linenos = read_documents(path)
    else:
        ids, values, linenos = _read_smiles(path)
    check_unique(ids, linenos, path, 'sample id')
    report.count(kind, len(ids))
    return Samples(list(ids), kind, list(values), report)


def _read_smiles(path: Path):
    from pyg_sip.datasets.molecules import _parse_smiles, read_csv_rows, smiles_column_index
    header, rows = read_csv_rows(path)
    s_col = smiles_column_index(path, header, None)
    lower = [h.lower() for h in header]
    id_col = next((lower.index(n) for n in ('id', 'name') if n in lower), None)
    ids, values, linenos = [], [], []
    for k, (lineno, row) in enumerate(rows):
        smi = row[s_col].strip()
        if _parse_smiles(smi) is None:
            raise file_error(path, lineno, f"'{smi}' is not a valid SMILES")
        ids.append(row[id_col].strip() if id_col is not None else str(k))
        values.append(smi)
        linenos.append(lineno)
    return ids, values, linenos
