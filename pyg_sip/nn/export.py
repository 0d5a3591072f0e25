r"""Export of a :class:`~pyg_sip.nn.HFEncoder` to the Hugging Face ecosystem:
a standard :obj:`save_pretrained` model directory, and a sentence-transformers
directory that computes the same embeddings.

Both writers build the directory in a fresh temporary folder next to
:obj:`out_dir` and then move every file into place with an atomic rename
(after an :obj:`fsync`), so a killed export never leaves a torn file in
:obj:`out_dir`.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import torch

from pyg_sip._optional import require
from pyg_sip.errors import PygSipError
from pyg_sip.nn.hf import HFEncoder, HFTokenizer
from pyg_sip.utils.io import _fsync_dir, atomic_write_text

PathLike = Union[str, os.PathLike]

ENCODER_CONFIG = 'pyg_sip_encoder.json'


def export_hf(encoder: HFEncoder, out_dir: PathLike,
              tokenizer: Optional[Any] = None) -> Path:
    r"""Writes the Transformer of :obj:`encoder` and its tokenizer as a
    standard Hugging Face model directory.

    :obj:`transformers.AutoModel.from_pretrained(out_dir)` and
    :obj:`transformers.AutoTokenizer.from_pretrained(out_dir)` load it
    offline and give the same token states as :obj:`encoder.model`. An
    :obj:`AutoModel` directory holds the Transformer only: the pooling
    (:obj:`encoder.pooling`), the projection :obj:`encoder.lin` (when
    :obj:`out_channels` was set) and the masked-token head are not part of
    it (:func:`export_sentence_transformers` carries pooling and
    projection). The directory also holds :obj:`pyg_sip_encoder.json`, the
    encoder's :meth:`~pyg_sip.nn.HFEncoder.config_dict` with
    :obj:`model_path` pointing to :obj:`out_dir`, so that
    :meth:`~pyg_sip.nn.HFEncoder.from_config` rebuilds the encoder from it.

    Args:
        encoder (HFEncoder): The encoder to export.
        out_dir (str or os.PathLike): The directory to write (created if
            needed; files of the same name are replaced).
        tokenizer (optional): A :class:`transformers` tokenizer or a
            :class:`~pyg_sip.nn.HFTokenizer`; the encoder's own if
            :obj:`None`. (default: :obj:`None`)

    Returns:
        The path of :obj:`out_dir`.
    """
    hf_tokenizer = _check(encoder, out_dir, tokenizer)
    out_dir = Path(out_dir)
    with _staging(out_dir) as tmp:
        _write_hf(encoder, hf_tokenizer, tmp, out_dir)
        _publish(tmp, out_dir)
    return out_dir


def export_sentence_transformers(encoder: HFEncoder, out_dir: PathLike,
                                 tokenizer: Optional[Any] = None,
                                 normalize: bool = False) -> Path:
    r"""Writes :obj:`encoder` as a sentence-transformers model directory:
    a :obj:`Transformer` module (the Hugging Face model and tokenizer, with
    :obj:`max_seq_length = encoder.max_length`), a :obj:`Pooling` module of
    the encoder's pooling (:obj:`'cls'` or :obj:`'mean'`) and, when the
    encoder has a projection, a :obj:`Dense` module with its weights and no
    activation; with :obj:`normalize=True`, a final :obj:`Normalize` module
    (unit-length embeddings, as many published sentence-transformers models
    have, e.g. all-MiniLM-L6-v2).

    :obj:`sentence_transformers.SentenceTransformer(out_dir)` loads it
    offline, and its :obj:`encode(texts)` equals the encoder's embeddings of
    the same texts (longer ones than :obj:`max_length` tokens are truncated
    alike by both, keeping the closing special token). Requires the
    :obj:`text` extra
    (:obj:`sentence-transformers`).

    Args:
        encoder (HFEncoder): The encoder to export.
        out_dir (str or os.PathLike): The directory to write.
        tokenizer (optional): A :class:`transformers` tokenizer or a
            :class:`~pyg_sip.nn.HFTokenizer`; the encoder's own if
            :obj:`None`. (default: :obj:`None`)
        normalize (bool, optional): Whether to end with a :obj:`Normalize`
            module. (default: :obj:`False`)

    Returns:
        The path of :obj:`out_dir`.
    """
    hf_tokenizer = _check(encoder, out_dir, tokenizer)
    st = require('sentence_transformers')
    modules = _st_modules()
    out_dir = Path(out_dir)
    with _staging(out_dir) as tmp:
        hf_dir = tmp / 'hf'
        _write_hf(encoder, hf_tokenizer, hf_dir, out_dir)
        parts = [
            modules.Transformer(str(hf_dir), max_seq_length=encoder.max_length),
            modules.Pooling(encoder.hidden_channels,
                            pooling_mode=encoder.pooling),
        ]
        if encoder.lin is not None:
            lin = encoder.lin
            parts.append(modules.Dense(
                lin.in_features, lin.out_features, bias=lin.bias is not None,
                activation_function=torch.nn.Identity(),
                init_weight=lin.weight.detach().clone(),
                init_bias=(lin.bias.detach().clone()
                           if lin.bias is not None else None)))
        if normalize:
            parts.append(modules.Normalize())
        model = st.SentenceTransformer(modules=parts, device='cpu')
        st_dir = tmp / 'st'
        model.save(str(st_dir), create_model_card=False)
        shutil.copy2(hf_dir / ENCODER_CONFIG, st_dir / ENCODER_CONFIG)
        _publish(st_dir, out_dir)
    return out_dir


def _check(encoder: HFEncoder, out_dir: PathLike, tokenizer: Any) -> Any:
    if not isinstance(encoder, HFEncoder):
        raise PygSipError(f'Only an HFEncoder can be exported to the Hugging '
                          f'Face formats (got {type(encoder).__name__})')
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise PygSipError(f"'{out_dir}' exists and is not a directory")
    if tokenizer is None:
        tokenizer = encoder.tokenizer
    if isinstance(tokenizer, HFTokenizer):
        tokenizer = tokenizer.hf_tokenizer
    if not hasattr(tokenizer, 'save_pretrained'):
        raise PygSipError(f'The tokenizer must be a transformers tokenizer '
                          f'or an HFTokenizer (got {type(tokenizer).__name__})')
    return tokenizer


def _write_hf(encoder: HFEncoder, tokenizer: Any, folder: Path,
              out_dir: Path) -> None:
    encoder.model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    config = dict(encoder.config_dict(), model_path=str(out_dir.resolve()))
    atomic_write_text(folder / ENCODER_CONFIG,
                      json.dumps(config, indent=2) + '\n')


class _staging:
    r"""A fresh temporary folder next to :obj:`out_dir` (same file system,
    so files move by rename), removed on exit."""
    def __init__(self, out_dir: Path) -> None:
        self.parent = out_dir.resolve().parent

    def __enter__(self) -> Path:
        self.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix='.pyg_sip-export-',
                                          dir=self.parent))
        return self.path

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _publish(src: Path, out_dir: Path) -> None:
    r"""Moves every file of :obj:`src` to the same relative path under
    :obj:`out_dir`, each synced and renamed atomically."""
    for path in sorted(p for p in src.rglob('*') if p.is_file()):
        target = out_dir / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(path, target)
    for folder in {out_dir, *(p.parent for p in out_dir.rglob('*'))}:
        _fsync_dir(folder)


def _st_modules() -> Any:
    r"""The module classes of sentence-transformers (their home moved in
    version 6; the old path still works there, with a warning)."""
    require('sentence_transformers')
    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models as modules
    return modules
