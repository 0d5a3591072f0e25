r"""Atomic file writes (every file the library writes goes through here)
and the one safe reader of ``torch.save`` files, :func:`load_tensors`.

A write goes to a temporary file in the same folder whose name is unique per
process and call (``.<name>.<pid>.<random>.tmp``), is flushed and
``fsync``-ed, then renamed over the target with :func:`os.replace` (atomic
on POSIX and Windows), and the folder entry is ``fsync``-ed. A crash at any
point leaves either the old file or the new one, never a torn one; the
temporary files of a killed write are removed by :func:`clean_stale_tmp`.
"""
from __future__ import annotations

import os
import pickle
import re
import secrets
from pathlib import Path
from typing import IO, Any, Callable

from pyg_sip.errors import PygSipError

_TMP_SUFFIX = '.tmp'


def _tmp_path(path: Path) -> Path:
    return path.with_name(f'.{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}')


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def _atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    return _atomic(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = 'utf-8') -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """:func:`torch.save` ``obj`` to ``path`` atomically; returns ``path``."""
    import torch
    return _atomic(path, lambda f: torch.save(obj, f))


def clean_stale_tmp(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    r"""Remove temporary files that a killed :func:`atomic_save` /
    :func:`atomic_write_bytes` left in ``folder`` (of ``name`` only, if
    given) by processes that no longer run. Returns the removed paths."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f'.{name}.*{_TMP_SUFFIX}' if name else f'.*{_TMP_SUFFIX}'
    removed = []
    for tmp in folder.glob(pattern):
        parts = tmp.name[:-len(_TMP_SUFFIX)].rsplit('.', 2)
        if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdecimal():
            continue
        pid = int(parts[1])
        if pid != os.getpid() and _alive(pid):
            continue  # another live process is writing it
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by another user
        return True
    return True


def load_tensors(path: str | os.PathLike, what: str = 'torch.save file',
                 map_location: Any = 'cpu') -> Any:
    r"""``torch.load(path, weights_only=True)``: tensors and plain containers
    only, no code of the file ever runs. Any failure is a
    :class:`~pyg_sip.errors.PygSipError` naming ``path``, ``what`` it should
    have been and the cause (empty or truncated, foreign objects, ...)."""
    import torch
    try:
        with open(path, 'rb'):
            pass
    except OSError as exc:
        raise PygSipError(f"cannot read '{path}': {exc.strerror or exc}") from None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise PygSipError(f"'{path}' is not a readable {what}: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, (EOFError, OSError)) or 'central directory' in text:
        return 'the file is empty or truncated'
    if isinstance(exc, pickle.UnpicklingError):
        found = re.search(r'GLOBAL (\S+)', text)
        if found:
            return ('it holds objects other than tensors and plain containers '
                    f'({found.group(1)}), refused without running any of it')
        detail = next((line.strip() for line in text.splitlines() if 'Unsupported' in line), '')
        return f'not a torch.save file (unreadable pickle data: {detail or "unknown"})'
    return f'not a torch.save file ({text.splitlines()[0][:200] if text else type(exc).__name__})'
