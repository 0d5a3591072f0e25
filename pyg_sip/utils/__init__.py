r"""Shared low-level mechanics used by every layer of :mod:`pyg_sip`
(below :mod:`pyg_sip.data` in the dependency order): atomic file writes,
argument checks, segment/CSR helpers and edge-key membership."""
from pyg_sip.utils.io import atomic_save, atomic_write_bytes, atomic_write_text, clean_stale_tmp

__all__ = ['atomic_save', 'atomic_write_bytes', 'atomic_write_text', 'clean_stale_tmp']
