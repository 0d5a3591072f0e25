r"""``pyg-sip embed``: embeddings of new samples (never in :math:`G_{PT}`)
with a pre-trained run's encoder. No graph is needed: the structure is in
the encoder's weights, the point of structure-inducing pre-training."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from pyg_sip.data import AminoAcidTokenizer, SampleGraph, WordTokenizer
from pyg_sip.errors import PygSipError
from pyg_sip.pipeline.run import Run
from pyg_sip.utils.io import atomic_save, atomic_write_bytes, atomic_write_text, load_tensors

#: What each kind of new samples becomes, by the payload the run was trained on.
_PAYLOAD_OF_KIND = {'sequences': 'tokens', 'texts': 'tokens', 'smiles': 'molecules',
                    'features': 'x'}
OUTPUT_SUFFIXES = ('.npy', '.pt', '.parquet')


def read_inputs(path: str | Path, kind: str | None = None) -> tuple[list[str], str, Any]:
    r"""``(ids, kind, values)`` of new samples: FASTA, TSV/JSONL, CSV of
    SMILES (:func:`pyg_sip.datasets.read_samples`) or a feature matrix
    (``.npy``, or ``.pt`` of a tensor; ids are the row numbers)."""
    path = Path(path)
    if path.suffix.lower() in ('.npy', '.pt'):
        if not path.is_file():
            raise PygSipError(f'{path}: no such file')
        if path.suffix.lower() == '.npy':
            import numpy as np
            try:
                x = torch.from_numpy(np.load(path, allow_pickle=False))
            except (OSError, ValueError) as e:
                raise PygSipError(f'{path}: not a readable feature matrix ({e})') from e
        else:
            x = load_tensors(path, 'feature matrix')
        if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
            raise PygSipError(f'{path}: expected a float matrix [N, F] of features')
        return [str(i) for i in range(x.size(0))], 'features', x.float()
    from pyg_sip.datasets import read_samples
    samples = read_samples(path, kind)
    return samples.ids, samples.kind, samples.values


def samples_graph(run: Run, kind: str, values: Any, source: str) -> SampleGraph:
    r"""A :class:`~pyg_sip.data.SampleGraph` without edges holding new
    samples in the form the run's encoder reads; a kind of samples the
    encoder cannot read raises :class:`PygSipError`."""
    spec = run.spec
    if spec['encoder'] == 'gnn':
        raise PygSipError(f'{run.folder}: a gnn encoder passes messages over G_PT and cannot '
                          'embed samples without a graph; use `pyg-sip evaluate --graph`')
    if _PAYLOAD_OF_KIND[kind] != spec['payload']:
        raise PygSipError(f"{source}: holds {kind}, but the run's encoder reads "
                          f"{spec['payload']}")
    if kind == 'features':
        if values.size(1) != spec['in_channels']:
            raise PygSipError(f"{source}: {values.size(1)} features per sample, the encoder "
                              f"reads {spec['in_channels']}")
        return SampleGraph(x=values)
    if kind == 'smiles':
        return SampleGraph.from_molecules(_molecules(values, source))
    tokenizer = run.tokenizer
    if tokenizer is None:
        raise PygSipError(f'{run.folder}: the run has no tokenizer.json, so new sequences '
                          'cannot be tokenised as in pre-training (prepare the data with '
                          '`pyg-sip prepare` or an adapter spec in the config)')
    if (kind == 'sequences' and isinstance(tokenizer, WordTokenizer)) or \
            (kind == 'texts' and isinstance(tokenizer, AminoAcidTokenizer)):
        raise PygSipError(f"{source}: holds {kind}, but the run was pre-trained with a "
                          f'{type(tokenizer).__name__}')
    return SampleGraph.from_sequences(list(values), tokenizer=tokenizer)


def _molecules(smiles: Sequence[str], source: str) -> list:
    from torch_geometric.utils import from_rdmol

    from pyg_sip._optional import require
    chem = require('rdkit.Chem')
    out = []
    for i, smi in enumerate(smiles):
        try:
            out.append(from_rdmol(chem.MolFromSmiles(smi)))
        except ValueError as e:  # an atom or bond feature outside from_smiles' vocabulary
            raise PygSipError(f"{source}: sample {i} ('{smi}') has an atom or bond the "
                              f'molecule encoder cannot featurise ({e})') from e
    return out


def embed_new(run: Run, path: str | Path, kind: str | None = None, batch_size: int = 256,
              progress: bool = False) -> tuple[list[str], Tensor]:
    r"""Ids and embeddings ``[N, d]`` (float32, CPU, in file order) of the
    samples in ``path``, with the run's encoder."""
    from pyg_sip.eval import embed
    ids, kind, values = read_inputs(path, kind)
    graph = samples_graph(run, kind, values, str(path))
    max_length = run.config.pretrain.max_length if graph.payload_kind == 'tokens' else None
    emb = embed(run.encoder, graph, batch_size=batch_size, progress=progress,
                max_length=max_length)
    return ids, emb.float().cpu()


def ids_path(path: str | Path) -> Path:
    """Where the ids of an ``.npy`` embedding file go: ``emb.ids.txt``."""
    path = Path(path)
    return path.with_name(path.stem + '.ids.txt')


def check_output(path: str | Path) -> Path:
    """``path`` if embeddings can be written there (suffix, folder, and
    for ``.parquet`` an installed pyarrow), before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise PygSipError(f"--output {path}: use a .npy, .pt or .parquet file name")
    if path.is_dir():
        raise PygSipError(f'--output {path} is a folder; give the file to write')
    if path.suffix.lower() == '.parquet':
        try:
            import pyarrow  # noqa: F401
        except ImportError as e:
            raise PygSipError(f'--output {path}: writing Parquet needs pyarrow (pip install '
                              'pyarrow); or write .npy or .pt') from e
    return path


def write_embeddings(ids: list[str], emb: Tensor, path: str | Path) -> list[Path]:
    r"""Write embeddings with their ids, atomically:

    * ``.npy``: the ``[N, d]`` float32 array, and the ids one per line in
      the same order in ``<name>.ids.txt`` beside it;
    * ``.pt``: ``{'ids': [...], 'embeddings': Tensor[N, d]}``;
    * ``.parquet``: columns ``id`` (string) and ``embedding`` (list of
      float32), one row per sample (needs pyarrow).

    Returns the paths written."""
    path = check_output(path)
    suffix = path.suffix.lower()
    if suffix == '.pt':
        return [atomic_save({'ids': list(ids), 'embeddings': emb}, path)]
    if suffix == '.npy':
        import numpy as np
        buffer = io.BytesIO()
        np.save(buffer, emb.numpy())
        return [atomic_write_bytes(path, buffer.getvalue()),
                atomic_write_text(ids_path(path), ''.join(f'{i}\n' for i in ids))]
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({'id': pa.array(ids, pa.string()),
                      'embedding': pa.array(emb.numpy().tolist(), pa.list_(pa.float32()))})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    return [atomic_write_bytes(path, buffer.getvalue().to_pybytes())]
