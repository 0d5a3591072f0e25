"""DeepLoc subcellular-localisation labels of protein sequences (FASTA), for
probes and fine-tuning: samples without a pre-training graph."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import Tensor

from pyg_sip.datasets._io import LoadReport, PathLike, existing_file
from pyg_sip.datasets.base import SampleReader
from pyg_sip.datasets.sequences import (
    check_length_rule,
    count_nonstandard,
    limit_length,
    read_records,
)
from pyg_sip.errors import PygSipError

#: DeepLoc's 10 localisation classes; ``location`` labels index this tuple.
DEEPLOC_LOCATIONS = ('Nucleus', 'Cytoplasm', 'Extracellular', 'Mitochondrion',
                     'Cell.membrane', 'Endoplasmic.reticulum', 'Plastid',
                     'Golgi.apparatus', 'Lysosome/Vacuole', 'Peroxisome')
#: DeepLoc's membrane labels (membrane-bound, soluble, unknown); ``membrane``
#: labels index this tuple.
DEEPLOC_MEMBRANE = ('M', 'S', 'U')


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
        records = limit_length(read_records([path], report), max_length, long_sequences,
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
        count_nonstandard(records.sequences, report)
        return cls(records.ids, records.sequences, torch.tensor(location, dtype=torch.long),
                   torch.tensor(membrane, dtype=torch.long), report.log())


def load_deeploc(path: PathLike, max_length: Optional[int] = None,
                 long_sequences: str = 'truncate') -> DeepLocSet:
    """:meth:`DeepLocSet.from_fasta` (kept for existing callers)."""
    return DeepLocSet.from_fasta(path, max_length, long_sequences)
