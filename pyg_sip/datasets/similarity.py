r"""Exact Tanimoto similarity graphs of bit fingerprints: the fingerprints
stay bit-packed; tiles of them are unpacked into the fastest exact number
format of the device, whose matrix product gives the intersection counts,
and a running top-:math:`k` (or a threshold) reduces every tile, so memory
stays :math:`O(N B / 8 + N k)` plus one tile, whatever :math:`N`."""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from pyg_sip.errors import PygSipError

#: Rows x columns of one similarity tile: on CPUs small enough for the
#: elementwise passes to stay in cache, on CUDA large enough to fill the GPU.
CPU_TILE, CUDA_TILE = (2048, 2048), (8192, 32768)
#: Most memory of the unpacked columns held at once.
KEY_BYTES = 1 << 30
#: Float32 quotients keep distinct similarities distinct (and in order) while
#: unions stay below sqrt(2^23): beyond that many bits, float64 is used.
FLOAT32_MAX_BITS = 2896
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


def pack_bits(bits: Tensor) -> Tensor:
    r"""Packs a bit matrix into bytes, 8 bits per ``uint8`` (bit :math:`j`
    of a row is bit :math:`j \bmod 8` of byte :math:`\lfloor j / 8
    \rfloor`): an eighth of the memory of ``bool``.

    Shapes:
        - **bits:** :math:`(N, B)` bool or 0/1
        - **output:** :math:`(N, \lceil B / 8 \rceil)` uint8
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


def _unpack_columns(packed: Tensor, num_bits: int, dtype: torch.dtype,
                    step: int = 8192) -> Tensor:
    """``unpack_bits(packed, num_bits, dtype).t()``, contiguous, filled
    ``step`` samples at a time (no full-size intermediate)."""
    shifts = torch.arange(8, dtype=torch.uint8, device=packed.device)[None, :, None]
    out = torch.empty(num_bits, packed.size(0), dtype=dtype, device=packed.device)
    for i in range(0, packed.size(0), step):
        part = packed[i:i + step].t().contiguous()
        bits = (part[:, None, :] >> shifts) & 1
        out[:, i:i + step] = bits.view(-1, part.size(1))[:num_bits]
    return out


def fingerprint_counts(packed: Tensor) -> Tensor:
    """The number of set bits of every packed fingerprint (a 256-entry
    lookup table over bytes, in row blocks)."""
    table = _POPCOUNT.to(packed.device)
    step = 8192
    return torch.cat([table[packed[i:i + step].long()].sum(1)  # O(step * W) memory
                      for i in range(0, packed.size(0), step)]
                     or [torch.zeros(0, dtype=torch.long, device=packed.device)])


def _tile_similarity(query: Tensor, keys_t: Tensor, count_q: Tensor, count_k: Tensor,
                     offset: int, dtype: torch.dtype) -> Tensor:
    """The Tanimoto similarities of a block of rows with a block of columns
    (row ``i`` is sample ``offset + i`` of the columns, whose entry is set to
    ``-1``: never a neighbour), as ``dtype`` quotients of exact counts."""
    if query.dtype == torch.int8:
        sim = torch._int_mm(query, keys_t).to(dtype)
    else:
        sim = (query @ keys_t).to(dtype)
    denom = torch.sub(count_k[None, :], sim)
    denom.add_(count_q[:, None])
    sim.div_(denom)
    local = torch.arange(sim.size(0), device=sim.device)
    col = local + offset
    inside = (col >= 0) & (col < sim.size(1))
    sim[local[inside], col[inside]] = -1.0
    return sim


def _order(val: Tensor, col: Tensor) -> Tuple[Tensor, Tensor]:
    """Every row sorted by value (descending), then column (ascending)."""
    order = torch.argsort(col, dim=1, stable=True)
    val, col = val.gather(1, order), col.gather(1, order)
    order = torch.argsort(val, dim=1, descending=True, stable=True)
    return val.gather(1, order), col.gather(1, order)


def _top_k(sim: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` first entries of every row by (value descending, column
    ascending), so the result does not depend on the order ``topk`` returns
    equal values in. ``topk`` keeps ``2k + 8`` candidates; a row whose tie
    at the ``k``-th value may reach beyond them is resolved on the full row."""
    width = sim.size(1)
    cand = min(width, 2 * k + 8)
    val, col = sim.topk(cand, dim=1)
    if cand < width:
        spill = (val[:, -1] == val[:, k - 1]).nonzero().view(-1)
        if spill.numel():
            part, kth = sim[spill], val[spill, k - 1:k]
            above, at = part > kth, part == kth
            room = k - above.sum(1, keepdim=True)
            take = above | (at & (torch.cumsum(at, 1) <= room))
            row, c = take.nonzero(as_tuple=True)  # exactly k per row, by column
            val[spill, :k] = part[row, c].view(-1, k)
            col[spill, :k] = c.view(-1, k)
            val[spill, k:] = -3.0  # below every similarity: never chosen
    val, col = _order(val, col)
    return val[:, :k], col[:, :k]


def tanimoto_tiles(packed: Tensor, num_bits: int, start: int = 0, stop: Optional[int] = None,
                   tile: Optional[Tuple[int, int]] = None, upper: bool = False
                   ) -> Iterator[Tuple[int, int, Tensor]]:
    r"""Yields ``(first row, first column, similarities)`` tiles covering the
    Tanimoto similarities of rows ``start:stop`` with all samples (each
    sample's own entry ``-1``): for each block of columns (unpacked once,
    at most :data:`KEY_BYTES`), for each block of rows, its column tiles in
    order. See :func:`tanimoto_graph` for the method.

    Args:
        packed (torch.Tensor): Packed fingerprints (:func:`pack_bits`).
        num_bits (int): The fingerprint length.
        start (int, optional): First row. (default: :obj:`0`)
        stop (int, optional): End of the rows. (default: all)
        tile (tuple[int, int], optional): Rows and columns of a tile.
            (default: :data:`CPU_TILE` or :data:`CUDA_TILE`)
        upper (bool, optional): Only the square tiles on and above the
            diagonal (the similarity is symmetric): tiles of ``tile[1]``
            rows and columns, ``start`` a multiple of it. (default: :obj:`False`)
    """
    num, device = packed.size(0), packed.device
    stop = num if stop is None else stop
    if stop <= start:
        return
    count = fingerprint_counts(packed)
    dtype = count_dtype(device, int(count.max()))
    sim_dtype = torch.float32 if num_bits <= FLOAT32_MAX_BITS else torch.float64
    # an empty fingerprint counts 0.5: T = 0 with any other, never 0 / 0
    count = count.to(sim_dtype).clamp_min(0.5)
    rows, cols = tile or (CUDA_TILE if device.type == 'cuda' else CPU_TILE)
    if upper:
        rows = cols
        if start % cols:
            raise PygSipError(f'upper tiles need start to be a multiple of {cols}, got {start}')
    col_bytes = num_bits * dtype.itemsize
    key_cols = max(cols, KEY_BYTES // col_bytes // cols * cols)
    for b0 in range(0, num, key_cols):  # a block of columns, unpacked once
        b1 = min(b0 + key_cols, num)
        keys_t = _unpack_columns(packed[b0:b1], num_bits, dtype)
        for r0 in range(start, min(stop, b1) if upper else stop, rows):
            r1 = min(r0 + rows, stop)
            query = unpack_bits(packed[r0:r1], num_bits, dtype)
            for c0 in range(max(b0, r0) if upper else b0, b1, cols):
                c1 = min(c0 + cols, b1)
                yield r0, c0, _tile_similarity(query, keys_t[:, c0 - b0:c1 - b0],
                                               count[r0:r1], count[c0:c1], r0 - c0, sim_dtype)


def tanimoto_top_k(packed: Tensor, num_bits: int, k: int, start: int = 0,
                   stop: Optional[int] = None, tile: Optional[Tuple[int, int]] = None
                   ) -> Tuple[Tensor, Tensor]:
    r"""The ``k`` most similar other samples of rows ``start:stop``: their
    similarities and indices, by similarity (descending) then index
    (ascending). A running top-:math:`k` over the tiles of
    :func:`tanimoto_tiles`: a tile only updates the rows where it holds a
    value at least the current :math:`k`-th, and only those rows are
    reduced. For all rows, only the tiles on and above the diagonal are
    computed, each serving its rows and (transposed) its columns.

    Shapes:
        - **output:** values and indices, :math:`(\text{stop} - \text{start}, k)`
    """
    num, device = packed.size(0), packed.device
    stop = num if stop is None else stop
    k = min(k, num - 1)
    dtype = torch.float32 if num_bits <= FLOAT32_MAX_BITS else torch.float64
    best_val = torch.full((stop - start, k), -2.0, dtype=dtype, device=device)
    best_col = torch.zeros((stop - start, k), dtype=torch.long, device=device)
    symmetric = start == 0 and stop == num
    for r0, c0, sim in tanimoto_tiles(packed, num_bits, start, stop, tile, upper=symmetric):
        _offer(best_val, best_col, r0 - start, c0, sim, k)
        if symmetric and c0 > r0:  # an off-diagonal tile: its columns' rows too
            _offer(best_val, best_col, c0, r0, sim, k, transpose=True)
    return best_val.float(), best_col


def _offer(best_val: Tensor, best_col: Tensor, base: int, c0: int, sim: Tensor, k: int,
           transpose: bool = False) -> None:
    """Merges the tile ``sim`` (rows ``base:``, columns ``c0:``; with
    ``transpose``, of ``sim.t()``) into the running top-``k`` of its rows."""
    dim = 0 if transpose else 1
    kth = best_val[base:base + sim.size(1 - dim), k - 1]
    rows = (sim.amax(dim) >= kth).nonzero().view(-1)
    if rows.numel() == 0:
        return
    if transpose:
        sim = sim.index_select(1, rows).t().contiguous()
    elif rows.numel() < sim.size(0):
        sim = sim[rows]
    if sim.size(1) > k:
        val, col = _top_k(sim, k)
    else:
        val, col = sim, torch.arange(sim.size(1), device=sim.device).expand_as(sim)
    rows = rows + base
    val, col = _order(torch.cat([best_val[rows], val], 1),
                      torch.cat([best_col[rows], col + c0], 1))
    best_val[rows], best_col[rows] = val[:, :k], col[:, :k]


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

    The fingerprints are kept bit-packed (:func:`pack_bits`). Tiles of them
    are unpacked into the fastest exact number format of the device
    (:func:`count_dtype`: bfloat16 or int8 on CPUs, float16 on CUDA), whose
    matrix product gives the intersection counts of a block of rows with a
    block of columns; a running top-:math:`k` (or the threshold) reduces
    each cache-sized tile (:func:`tanimoto_tiles`), and only the tiles on
    and above the diagonal are computed (:math:`T` is symmetric: each
    serves its rows and its columns). Time :math:`O(N^2 B / 2)`
    in hardware matrix units; memory :math:`O(N B / 8)` for the packed
    bits, :math:`O(N k)` for the running top-:math:`k`, plus at most
    :data:`KEY_BYTES` of unpacked columns. Similarities are exact float32
    quotients of the integer counts (float64 beyond
    :data:`FLOAT32_MAX_BITS` bits), so ranks and ties are exact.

    Args:
        fingerprints (torch.Tensor): Bit matrix (bool or 0/1), or with
            ``num_bits`` the packed bytes of :func:`pack_bits`; any device.
        k (int, optional): Neighbours per sample. (default: :obj:`None`)
        threshold (float, optional): Similarity threshold in :math:`(0, 1]`.
            (default: :obj:`None`)
        chunk_size (int, optional): Rows and columns of a tile.
            (default: 2,048 on CPUs, 32,768 on CUDA)
        num_bits (int, optional): The fingerprint length when
            ``fingerprints`` is packed. (default: :obj:`None`)

    Shapes:
        - **fingerprints:** :math:`(N, B)`, or :math:`(N, \lceil B / 8
          \rceil)` packed
        - **output:** edge_index :math:`(2, E)`, edge_weight (the
          similarity) :math:`(E)`
    """
    packed = _check_tanimoto_args(fingerprints, k, threshold, chunk_size, num_bits)
    num_bits = fingerprints.size(1) if num_bits is None else num_bits
    num, device = packed.size(0), packed.device
    if num < 2:
        return (torch.empty(2, 0, dtype=torch.long, device=device),
                torch.empty(0, device=device))
    tile = None
    if chunk_size is not None:  # square tiles: the upper triangle is computed
        tile = (chunk_size, chunk_size)
    if k is not None:
        val, col = tanimoto_top_k(packed, num_bits, k, tile=tile)
        keep = val > 0
        row = torch.arange(num, device=device).view(-1, 1).expand_as(col)[keep]
        edge_index, weight = torch.stack([row, col[keep]]), val[keep]
    else:
        rows, cols, sims = [], [], []
        for r0, c0, sim in tanimoto_tiles(packed, num_bits, tile=tile, upper=True):
            row, col = (sim >= threshold).nonzero(as_tuple=True)  # to_undirected mirrors
            rows.append(row + r0)
            cols.append(col + c0)
            sims.append(sim[row, col].float())
        edge_index, weight = torch.stack([torch.cat(rows), torch.cat(cols)]), torch.cat(sims)
    return to_undirected(edge_index, weight, num_nodes=num, reduce='max')


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
