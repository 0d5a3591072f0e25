r"""Shared low-level mechanics used by every layer of :mod:`pyg_sip`
(below :mod:`pyg_sip.data` in the dependency order): atomic file writes,
argument checks, segment/CSR helpers and edge-key membership."""
from pyg_sip.utils.checks import (
    as_tensor,
    check_choice,
    check_edge_index,
    check_index,
    check_int,
    check_integer_dtype,
    check_positive,
    check_rate,
    check_real,
    first_true,
)
from pyg_sip.utils.edges import (
    contains,
    edge_keys,
    has_edges,
    sorted_edge_keys,
    split_keys,
)
from pyg_sip.utils.io import (
    atomic_save,
    atomic_write_bytes,
    atomic_write_text,
    clean_stale_tmp,
    load_tensors,
)
from pyg_sip.utils.segment import (
    csr_from_edges,
    end_to_ptr,
    expand_ranges,
    expand_segments,
    gather_segments,
    lengths_to_end,
    lengths_to_ptr,
    ptr_to_end,
    segment_bounds,
    segment_ids,
)

__all__ = [
    'atomic_save', 'atomic_write_bytes', 'atomic_write_text', 'clean_stale_tmp', 'load_tensors',
    'first_true', 'as_tensor', 'check_integer_dtype', 'check_int', 'check_real',
    'check_positive', 'check_rate', 'check_choice', 'check_index',
    'check_edge_index',
    'lengths_to_ptr', 'lengths_to_end', 'ptr_to_end', 'end_to_ptr',
    'segment_bounds', 'segment_ids', 'expand_ranges', 'expand_segments',
    'gather_segments', 'csr_from_edges',
    'edge_keys', 'split_keys', 'sorted_edge_keys', 'contains', 'has_edges',
]
