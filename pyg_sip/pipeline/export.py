r"""``pyg-sip export``: the pre-trained encoder of an ``encoder: hf`` run as
a standard Hugging Face model folder or a sentence-transformers folder
(:func:`pyg_sip.nn.export_hf`, :func:`pyg_sip.nn.export_sentence_transformers`)."""
from __future__ import annotations

from pathlib import Path

from pyg_sip.errors import PygSipError
from pyg_sip.pipeline.run import load_run

FORMATS = ('hf', 'sentence-transformers')


def export_run(folder: str | Path, format: str, out: str | Path) -> Path:
    r"""Export the encoder of the run ``folder`` to the model folder
    ``out`` in ``format`` (``'hf'`` or ``'sentence-transformers'``).
    Only runs of ``encoder: hf`` have a standard Hugging Face form; the
    others raise :class:`PygSipError`, as does an ``out`` that is a file or
    a non-empty folder."""
    if format not in FORMATS:
        raise PygSipError(f"--format must be one of {list(FORMATS)}, got '{format}'")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PygSipError(f'--out {out} exists and is not an empty folder')
    run = load_run(folder)
    if run.spec['encoder'] != 'hf':
        raise PygSipError(f"{folder}: a '{run.spec['encoder']}' encoder has no Hugging Face "
                          "form; export needs a run with encoder: hf (a local model at "
                          'model_path)')
    from pyg_sip.nn import export_hf, export_sentence_transformers
    exporter = export_hf if format == 'hf' else export_sentence_transformers
    return exporter(run.encoder, out)
