"""Helpers of the malformed-input tests: writing malformed and hostile input
files, and checking that the error names the culprit."""
import gzip
import re
from pathlib import Path
from typing import Callable, Optional

import pytest

from pyg_sip.errors import PygSipError


class Files:
    """Writes files under a temporary folder."""
    def __init__(self, root: Path):
        self.root = root

    def text(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding='utf-8')
        return path

    def bytes(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def gz(self, name: str, text: str) -> Path:
        return self.bytes(name, gzip.compress(text.encode()))

    def truncated_gz(self, name: str, text: str) -> Path:
        """A gzip file cut short (a download that stopped)."""
        data = gzip.compress(text.encode() * 200)
        return self.bytes(name, data[:len(data) // 2])

    def fake_gz(self, name: str, text: str) -> Path:
        """Plain text named ``.gz``."""
        return self.text(name, text)


def raises_at(fn: Callable[[], object], path: Optional[Path], line: Optional[int] = None,
              match: str = '') -> PygSipError:
    """Runs ``fn``, which must raise :class:`PygSipError` whose message names
    ``path`` (and ``line``) and matches ``match``."""
    with pytest.raises(PygSipError) as info:
        fn()
    message = str(info.value)
    if path is not None:
        assert f"'{path}'" in message, message
    if line is not None:
        assert re.search(rf'\blines? {line}\b', message), message
    if match:
        assert re.search(match, message), message
    return info.value
