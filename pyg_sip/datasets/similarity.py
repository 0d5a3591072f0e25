r"""Exact Tanimoto similarity graphs of bit fingerprints in blocks:
intersection counts are one low-precision matrix product per block of rows
(exact: the operands are 0/1 and every count fits the format's integers),
followed by a running top-:math:`k` or a threshold, so memory stays
:math:`O(\text{block} \cdot N)` whatever :math:`N`."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from pyg_sip.errors import PygSipError

#: Elements of one tile's similarity matrix (rows x columns); 2^25 float32 = 128 MiB.
BLOCK_ELEMENTS = 1 << 25
#: Most memory of the unpacked columns of one tile.
KEY_BYTES = 1 << 30
#: Set bits of every byte value.
_POPCOUNT = torch.tensor([bin(v).count('1') for v in range(256)], dtype=torch.int64)


def _probe_cpu_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX or
    AVX-512 BF16); elsewhere bfloat16 products are emulated and slow."""
    cpu = torch.cpu
    probes = ('_is_amx_tile_supported', '_is_avx512_bf16_supported')
    try:
        return any(bool(getattr(cpu, name)()) for name in probes if hasattr(cpu, name))
    except RuntimeError:  # pragma: no cover - depends on the build
        return False


def _probe_int_mm() -> bool:
    try:
        torch._int_mm(torch.ones(32, 32, dtype=torch.int8), torch.ones(32, 32, dtype=torch.int8))
        return True
    except (RuntimeError, AttributeError):  # pragma: no cover - depends on the build
        return False


_CPU_BF16 = _probe_cpu_bf16()
_CPU_INT_MM = _probe_int_mm()


def count_dtype(device: torch.device, max_count: int) -> torch.dtype:
    r"""The operand type of the intersection products: the fastest one whose
    products are exact for counts up to ``max_count`` (the largest number of
    set bits of a fingerprint). ``float16`` on CUDA (integers exact up to
    2048), ``bfloat16`` on CPUs with bfloat16 hardware for counts up to 256,
    else ``int8`` with int32 products (``torch._int_mm``), else ``float32``
    (exact up to :math:`2^{24}`)."""
    if device.type == 'cuda':
        return torch.float16 if max_count <= 2048 else torch.float32
    if _CPU_BF16 and max_count <= 256:
        return torch.bfloat16
    return torch.int8 if _CPU_INT_MM else torch.float32


def _intersections(query: Tensor, keys_t: Tensor) -> Tensor:
    """``query @ keys_t`` as float32 counts."""
    if query.dtype == torch.int8:
        return torch._int_mm(query, keys_t).float()
    return (query @ keys_t).float()


def _tile_similarity(query: Tensor, keys_t: Tensor, count_q: Tensor, count_k: Tensor,
                     offset: int) -> Tensor:
    """The Tanimoto similarities of a block of rows with a block of columns;
    row ``i`` is sample ``offset + j`` of column ``j`` (``i = j + offset``
    on the diagonal), whose entry is set to ``-1`` (never a neighbour)."""
    sim = _intersections(query, keys_t)
    denom = count_q[:, None] + count_k[None, :]
    denom.sub_(sim)
    sim.div_(denom)
    local = torch.arange(sim.size(0), device=sim.device)
    col = local + offset
    inside = (col >= 0) & (col < sim.size(1))
    sim[local[inside], col[inside]] = -1.0
    return sim


def _top_k(sim: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` largest entries of every row (``k < sim.size(1)``), ties at
    the boundary broken towards the smaller column index, so the chosen set
    does not depend on the order ``topk`` returns equal values in."""
    values, cols = sim.topk(k + 1, dim=1)
    kth = values[:, k - 1:k]
    # where the (k+1)-th value equals the k-th, the set is not unique: take
    # every entry above the k-th value, then the tied ones by column index
    tied = (values[:, k] == kth[:, 0]).nonzero().view(-1)
    values, cols = values[:, :k].clone(), cols[:, :k].clone()
    if tied.numel():
        part = sim[tied]
        above = part > kth[tied]
        at = part == kth[tied]
        room = k - above.sum(1, keepdim=True)
        take = above | (at & (torch.cumsum(at, 1) <= room))
        row, col = take.nonzero(as_tuple=True)  # exactly k per row
        values[tied] = part[row, col].view(-1, k)
        cols[tied] = col.view(-1, k)
    return values, cols


def pack_bits(bits: Tensor) -> Tensor:
    r"""Packs a bit matrix into bytes, 8 bits per ``uint8`` (bit :math:`j`
    of a row is bit :math:`j mod 8` of byte :math:`\lfloor j / 8
    floor`): an eighth of the memory of ``bool``.

    Shapes:
        - **bits:** :math:`(N, B)` bool or 0/1
        - **output:** :math:`(N, \lceil B / 8 ceil)` uint8
    """
    num, width = bits.shape
    pad = (-width) % 8
    bits = torch.nn.functional.pad(bits.to(torch.uint8), (0, pad)).view(num, -1, 8)
    weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=bits.device)
    return (bits * weights).sum(-1, dtype=torch.uint8)


def unpack_bits(packed: Tensor, num_bits: int, dtype: torch.dtype = torch.bool) -> Tensor:
    """The inverse of :func:`pack_bits`, as ``dtype``."""
    shifts = torch.arange(8, dtype=torch.uint8, device=packed.device)
    bits = (packed[:, :, None] >> shifts) & 1
    return bits.view(packed.size(0), -1)[:, :num_bits].to(dtype)


def _merge_top_k(val: Tensor, col: Tensor, new_val: Tensor, new_col: Tensor, k: int
                 ) -> Tuple[Tensor, Tensor]:
    """The ``k`` best of two candidate lists by (value descending, column
    ascending)."""
    val, col = torch.cat([val, new_val], 1), torch.cat([col, new_col], 1)
    order = torch.argsort(col, dim=1, stable=True)
    val, col = val.gather(1, order), col.gather(1, order)
    order = torch.argsort(val, dim=1, descending=True, stable=True)[:, :k]
    return val.gather(1, order), col.gather(1, order)


def tanimoto_graph(fingerprints: Tensor, k: Optional[int] = None,
                   threshold: Optional[float] = None, chunk_size: Optional[int] = None,
                   num_bits: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    r"""The undirected similarity graph of bit fingerprints under the
    Tanimoto (Jaccard) similarity

    .. math::
        T(a, b) = \frac{|a \cap b|}{|a| + |b| - |a \cap b|},

    linking each sample to its ``k`` most similar others (union of both
    directions; ties broken towards the smaller index) or every pair with
    :math:`T \geq` ``threshold``. Pairs with :math:`T = 0` are never linked.

    The fingerprints are kept bit-packed (:func:`pack_bits`); tiles of
    them are unpacked into the fastest exact number format of the device
    (:func:`count_dtype`: bfloat16 or int8 on CPUs, float16 on CUDA), whose
    matrix product gives the intersection counts of a block of rows with a
    block of columns; a running top-:math:`k` (or the threshold) reduces
    each tile. Time :math:`O(N^2 B)` in hardware matrix units; memory
    :math:`O(N B / 8)` for the packed bits, :math:`O(N k)` for the running
    top-:math:`k`, plus one tile (:data:`BLOCK_ELEMENTS` similarities and at
    most :data:`KEY_BYTES` of unpacked columns). Similarities are exact
    float32 quotients of the integer counts.

    Args:
        fingerprints (torch.Tensor): Bit matrix (bool or 0/1), or with
            ``num_bits`` the packed bytes of :func:`pack_bits`; any device.
        k (int, optional): Neighbours per sample. (default: :obj:`None`)
        threshold (float, optional): Similarity threshold in :math:`(0, 1]`.
            (default: :obj:`None`)
        chunk_size (int, optional): Rows per tile. (default: as many as
            keep a tile within :data:`BLOCK_ELEMENTS`)
        num_bits (int, optional): The fingerprint length when
            ``fingerprints`` is packed. (default: :obj:`None`)

    Shapes:
        - **fingerprints:** :math:`(N, B)`, or :math:`(N, \lceil B / 8
          \rceil)` packed
        - **output:** edge_index :math:`(2, E)`, edge_weight (the
          similarity) :math:`(E)`
    """
    packed = _check_tanimoto_args(fingerprints, k, threshold, chunk_size, num_bits)
    if num_bits is None:
        num_bits = fingerprints.size(1)
    num, device = packed.size(0), packed.device
    if num < 2:
        return (torch.empty(2, 0, dtype=torch.long, device=device),
                torch.empty(0, device=device))
    count = _POPCOUNT.to(device)[packed.long()].sum(1)
    dtype = count_dtype(device, int(count.max()))
    # an empty fingerprint counts 0.5: T = 0 with any other, never 0 / 0
    count = count.float().clamp_min(0.5)
    key_cols = max(1, min(num, KEY_BYTES // (num_bits * torch.finfo(dtype).bits // 8
                                             if dtype.is_floating_point else num_bits)))
    chunk = chunk_size or max(1, min(num, BLOCK_ELEMENTS // key_cols))
    k = None if k is None else min(k, num - 1)
    if k is not None:
        best_val = torch.full((num, k), -2.0, device=device)
        best_col = torch.zeros((num, k), dtype=torch.long, device=device)
    rows, cols, sims = [], [], []
    for c0 in range(0, num, key_cols):  # columns unpacked once per block
        c1 = min(c0 + key_cols, num)
        keys_t = unpack_bits(packed[c0:c1], num_bits, dtype).t()
        for r0 in range(0, num, chunk):
            r1 = min(r0 + chunk, num)
            sim = _tile_similarity(unpack_bits(packed[r0:r1], num_bits, dtype), keys_t,
                                   count[r0:r1], count[c0:c1], r0 - c0)
            if k is not None:
                val, col = _top_k(sim, min(k, c1 - c0 - 1)) if c1 - c0 > k else \
                    (sim, torch.arange(c1 - c0, device=device).expand_as(sim))
                best_val[r0:r1], best_col[r0:r1] = _merge_top_k(
                    best_val[r0:r1], best_col[r0:r1], val, col + c0, k)
            else:
                row, col = (sim >= threshold).nonzero(as_tuple=True)
                rows.append(row + r0)
                cols.append(col + c0)
                sims.append(sim[row, col])
            del sim
    if k is not None:
        keep = best_val > 0
        rows = [torch.arange(num, device=device).view(-1, 1).expand_as(best_col)[keep]]
        cols, sims = [best_col[keep]], [best_val[keep]]
    edge_index = torch.stack([torch.cat(rows), torch.cat(cols)])
    return to_undirected(edge_index, torch.cat(sims), num_nodes=num, reduce='max')


def _check_tanimoto_args(fingerprints: Tensor, k: Optional[int], threshold: Optional[float],
                         chunk_size: Optional[int], num_bits: Optional[int]) -> Tensor:
    """Checks the arguments and returns the packed fingerprints."""
    if (k is None) == (threshold is None):
        raise PygSipError('give exactly one of k and threshold')
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise PygSipError(f'k must be a positive integer, got {k!r}')
    if threshold is not None and not 0 < threshold <= 1:
        raise PygSipError(f'threshold must be in (0, 1], got {threshold}')
    if chunk_size is not None and chunk_size < 1:
        raise PygSipError(f'chunk_size must be positive, got {chunk_size}')
    if fingerprints.dim() != 2:
        raise PygSipError(f'fingerprints must have shape [N, bits], got '
                          f'{list(fingerprints.shape)}')
    if num_bits is not None:
        if fingerprints.dtype != torch.uint8 or fingerprints.size(1) != -(-num_bits // 8):
            raise PygSipError(f'packed fingerprints of {num_bits} bits must be uint8 of shape '
                              f'[N, {-(-num_bits // 8)}], got {fingerprints.dtype} '
                              f'{list(fingerprints.shape)}')
        return fingerprints
    if fingerprints.dtype != torch.bool:
        bad = ((fingerprints != 0) & (fingerprints != 1)).nonzero()
        if bad.numel():
            i, j = bad[0].tolist()
            raise PygSipError(f'fingerprints must be 0/1 bits, got {fingerprints[i, j].item()} '
                              f'at [{i}, {j}]')
    return pack_bits(fingerprints)
