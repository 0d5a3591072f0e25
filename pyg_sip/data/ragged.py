"""Ragged (CSR) per-sample storage: the segment helpers of
:mod:`pyg_sip.utils.segment`, under the names this module has always had.

Ragged payloads are stored as a flat tensor plus the *end offset* of each
sample's segment, :obj:`end = ptr[1:]` of shape :obj:`[N]`, which
concatenates under PyG batching.
"""
from pyg_sip.utils.segment import (
    end_to_ptr,
    gather_segments,
    lengths_to_end,
    ptr_to_end,
    segment_bounds,
)

__all__ = ['end_to_ptr', 'gather_segments', 'lengths_to_end', 'ptr_to_end',
           'segment_bounds']
