r"""Input checks and per-pair scores shared by all structure losses.

A pair score (dot product or Euclidean distance of two rows of ``z``) is
computed by one autograd function that keeps only ``z``, the indices and the
[M] scores for the backward pass, never the [M, d] rows of the pairs. On the
CPU, the pairs form a sparse [N, N] matrix in compressed sparse row (CSR)
form: the forward pass is one sampled dense-dense product
(:func:`torch.sparse.sampled_addmm`, every dot product computed straight from
the rows of ``z``) and the backward pass two sparse-dense products
(``index`` rows gathered, weighted and summed in one kernel). Pair lists
covering 1/16 of all row pairs (:data:`DENSE_PAIR_DENSITY`, on every
device) read their scores off one dense [N, N] matrix product and send
their gradients back through one more (the pairs scattered into an [N, N]
matrix at both ends); their distances come from float32 products, pairs
closer than a quarter of their squared norms recomputed exactly. Sparse
distances come from float64 dot products
(:math:`d_{ij}^2 = |z_i|^2 + |z_j|^2 - 2 \langle z_i, z_j \rangle`) where
rows have many pairs, else from exact blocked gathers; their gradient
:math:`w_{ij} (z_i - z_j)` is split into :math:`w_{ij} z_i` (a per-row
weight) and :math:`-w_{ij} z_j` (a matrix product). Pairs closer than
:math:`10^{-2}` of their norms, where that would cancel digits, keep the
exact blocked path. On other devices, and while compiling, sparser pairs
are gathered block by block and their gradients scattered back with
``index_add_``. Peak memory is therefore O(M + block · d) (sparse, blocked)
or O(N² + M) (dense, at most 17 M) instead of the O(M · d) that autograd
through ``z[index]`` would hold.

``PYG_SIP_PAIR_BACKEND=gather`` (environment, read at import) or
``pyg_sip.losses._pairs.BACKEND = 'gather'`` forces the blocked path on the
CPU too.
"""
import os
import warnings
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from pyg_sip.errors import PygSipError
from pyg_sip.sampling.in_batch import InBatchNegatives, check_pair_index, check_pair_range
from pyg_sip.utils.segment import lengths_to_ptr

# Pairs per block = _BLOCK_ELEMENTS[device] // d: small blocks stay in the
# CPU cache; on GPUs, blocks are big enough that launch overhead vanishes.
_BLOCK_ELEMENTS = {'cpu': 1 << 17}
_DEFAULT_BLOCK_ELEMENTS = 1 << 25

# 'auto' (sparse kernels on the CPU) or 'gather' (blocked gathers everywhere).
BACKEND = os.environ.get('PYG_SIP_PAIR_BACKEND', 'auto')
# Pair lists covering this share of all row pairs are scored from one dense
# matrix product ('dense'), sparser ones by CSR products ('sparse').
DENSE_PAIR_DENSITY = 1 / 16
# Pairs with d_ij^2 <= _NEAR * (|z_i|^2 + |z_j|^2) take the exact blocked
# gradient: splitting w (z_i - z_j) into w z_i - w z_j would cancel digits.
_NEAR = 1e-4
# The same in float32 products (dense mode)
_NEAR32 = 0.25


def _is_compiling() -> bool:
    return torch.compiler.is_compiling()


def check_inputs(z: Tensor, pos_index: Tensor,
                 neg_index: Union[Tensor, InBatchNegatives, None],
                 validate: Optional[bool] = None) -> None:
    r"""Checks ``z`` [N, d] and the pair lists [2, P] / [2, Q] (or
    :class:`~pyg_sip.losses.InBatchNegatives` / :obj:`None` for
    ``neg_index``) and raises :class:`~pyg_sip.errors.PygSipError` on
    misuse.

    Shape, dtype and device checks are free. The range check
    (:math:`0 \le \text{index} < N`) reads the indices and therefore
    synchronises with a GPU: it runs when ``validate=True``, or by default
    (``validate=None``) when the indices live on the CPU and the code is not
    being compiled.
    """
    if not isinstance(z, Tensor) or z.dim() != 2:
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise PygSipError(f"'z' must be a [num_samples, dim] tensor "
                          f"(got {shape})")
    if not z.is_floating_point():
        raise PygSipError(f"'z' must be a floating point tensor "
                          f"(got dtype {z.dtype})")
    pairs = [('pos_index', pos_index)]
    if neg_index is None or isinstance(neg_index, InBatchNegatives):
        if not isinstance(pos_index, Tensor):
            raise PygSipError(f"'pos_index' must be a tensor "
                              f"(got {type(pos_index).__name__})")
    else:
        pairs.append(('neg_index', neg_index))
    for name, index in pairs:
        check_pair_index(name, index, ', InBatchNegatives or None'
                         if name == 'neg_index' else '')
        if index.device != z.device:
            raise PygSipError(f"'{name}' is on {index.device} but 'z' is on "
                              f"{z.device}")
    check = validate
    if check is None:
        check = pos_index.device.type == 'cpu' and not _is_compiling()
    for name, index in pairs:
        if check and index.numel() > 0:
            check_pair_range(name, index, z.size(0))
    if isinstance(neg_index, InBatchNegatives):
        neg_index.check(z, pos_index, check)


def nan_unless_finite(loss: Tensor, *scores: Tensor) -> Tensor:
    r"""``loss``, or NaN where any of ``scores`` holds a non-finite value:
    a NaN or infinite embedding that a loss reads must never vanish into a
    finite loss (mining and masks would otherwise drop it), so that a
    training loop's non-finite guard fires. No host synchronisation."""
    if not scores:
        return loss
    # x * 0 is 0, or NaN for NaN and inf: one sum tells (two cheap passes)
    probe = sum((t.detach() * 0).sum() for t in scores)
    return torch.where(torch.isnan(probe), float('nan'), loss)


def upcast(z: Tensor) -> Tensor:
    r"""Returns ``z`` in at least float32 precision (float16/bfloat16 inputs
    accumulate and return in float32; float64 stays float64)."""
    if z.dtype in (torch.float16, torch.bfloat16):
        return z.float()
    return z


class _PairScore(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_src: Tensor, x_dst: Optional[Tensor], src: Tensor,
                dst: Tensor, metric: str) -> Tensor:
        same = x_dst is None
        x_dst = x_src if same else x_dst
        mode = _mode(x_src, x_dst, src)
        perm = near = None
        if mode == 'sparse':
            perm = _sort_perm(src, x_src.size(0))
        if mode != 'blocked' and metric == 'dot':
            out = _dot(mode, x_src, x_dst, src, dst, perm)
        elif mode != 'blocked' and x_src.dtype == torch.float32 and (
                mode == 'dense' or
                2 * (x_src.size(0) + x_dst.size(0)) <= src.numel()):
            # Many pairs per row: a float64 copy of z is cheap, and
            # d^2 = |z_i|^2 + |z_j|^2 - 2 <z_i, z_j> in float64 is exact to
            # float32 precision except for near pairs, which are gathered.
            out, near = _dist(mode, x_src, x_dst, src, dst, perm)
        else:
            out = _blocked_scores(x_src, x_dst, src, dst, metric)
        ctx.same, ctx.metric, ctx.mode = same, metric, mode
        ctx.save_for_backward(x_src, x_dst, src, dst, out, perm, near)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        x_src, x_dst, src, dst, out, perm, near = ctx.saved_tensors
        need_src = ctx.needs_input_grad[0]
        need_dst = not ctx.same and ctx.needs_input_grad[1]
        grad_src = torch.zeros_like(x_src) if need_src else None
        grad_dst = grad_src if ctx.same else (
            torch.zeros_like(x_dst) if need_dst else None)
        if ctx.metric == 'dist':
            # Subgradient 0 at distance 0 (e.g. a pair (i, i)): no NaN.
            grad = torch.where(out > 0, grad / out, 0.0)
        if ctx.mode == 'blocked':
            _blocked_backward(grad, x_src, x_dst, src, dst, grad_src,
                              grad_dst, ctx.metric)
        else:
            _product_backward(ctx.mode, grad, x_src, x_dst, src, dst, out,
                              perm, near, grad_src, grad_dst, ctx.metric)
        return grad_src, None if ctx.same else grad_dst, None, None, None


def _mode(x_src: Tensor, x_dst: Tensor, src: Tensor) -> str:
    r"""``'dense'`` (one matrix product over all rows, on any device) when
    the pairs cover :data:`DENSE_PAIR_DENSITY` of all row pairs, else on
    the CPU ``'sparse'`` (CSR products) and on other devices ``'blocked'``
    (gather/scatter blocks); ``'blocked'`` always while compiling and with
    ``BACKEND = 'gather'``."""
    if (BACKEND == 'gather' or src.numel() == 0 or _is_compiling()
            or x_src.dtype not in (torch.float32, torch.float64)):
        return 'blocked'
    if src.numel() >= DENSE_PAIR_DENSITY * x_src.size(0) * x_dst.size(0):
        return 'dense'
    return 'sparse' if x_src.device.type == 'cpu' else 'blocked'


def _sort_perm(index: Tensor, bound: Optional[int] = None
               ) -> Optional[Tensor]:
    r"""A stable permutation sorting ``index``, or :obj:`None` if it is
    sorted already (as pairs from :class:`~pyg_sip.StructureLoader` are).
    ``bound`` (optional) is an upper bound on the values of ``index``."""
    if bool((index[1:] >= index[:-1]).all()):
        return None
    if bound is not None and radix_sortable(index, bound):
        return argsort_u16(index)
    if index.numel() < 2**31:  # sorting 32-bit keys takes half the time
        index = index.int()
    return torch.argsort(index, stable=True)


def radix_sortable(index: Tensor, bound: int) -> bool:
    r"""Whether :func:`argsort_u16` sorts ``index``, whose values lie in
    :math:`[0, \text{bound})`: CPU tensors outside compilation."""
    return (index.device.type == 'cpu' and bound <= 1 << 16
            and not _is_compiling())


def argsort_u16(key: Tensor) -> Tensor:
    r"""The stable permutation sorting a CPU integer tensor ``key`` with
    values in :math:`[0, 2^{16})` (a radix sort: several times faster than
    :func:`torch.argsort` on small keys; the same permutation)."""
    values = key.detach().numpy().astype(np.uint16, copy=False)
    return torch.from_numpy(np.argsort(values, kind='stable')).long()


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_cols: int) -> Tensor:
    r"""The [R, num_cols] CSR matrix of entries (rows, cols, values), rows
    sorted, with R = rows[-1] + 1."""
    count = torch.bincount(rows)
    crow = lengths_to_ptr(count)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter('ignore', UserWarning)
        return torch.sparse_csr_tensor(crow, cols, values,
                                       (count.numel(), num_cols),
                                       check_invariants=False)


def _permuted(perm: Optional[Tensor], *tensors: Tensor) -> Tuple[Tensor, ...]:
    if perm is None:
        return tensors
    return tuple(t.index_select(0, perm) for t in tensors)


def _dot(mode: str, x_src: Tensor, x_dst: Tensor, src: Tensor, dst: Tensor,
         perm: Optional[Tensor]) -> Tensor:
    r"""Dot products of all pairs: entries of one [N, N] matrix product
    (``'dense'``) or a sampled product at the pairs (``'sparse'``)."""
    with torch.autocast(x_src.device.type, enabled=False):
        if mode == 'dense':
            gram = x_src @ x_dst.t()
            return gram.view(-1).index_select(0, src * x_dst.size(0) + dst)
    s, t = _permuted(perm, src, dst)
    pattern = _csr(s, t, x_src.new_zeros(s.numel()), x_dst.size(0))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        values = torch.sparse.sampled_addmm(
            pattern, x_src[:pattern.size(0)], x_dst.t(), beta=0.0).values()
    if perm is None:
        return values
    return torch.empty_like(values).scatter_(0, perm, values)


def _dist(mode: str, x_src: Tensor, x_dst: Tensor, src: Tensor, dst: Tensor,
          perm: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    r"""Distances of all pairs from dot products, and the ids of the near
    pairs (gathered exactly): float32 products of one dense matrix
    (``'dense'``; near: :math:`d^2 \le` 1/4 of the squared norms), else, or
    where more than 1/16 of the pairs are near, float64 products (near:
    :math:`10^{-4}`)."""
    if mode == 'dense' and x_src.dtype == torch.float32:
        out, near = _dist_from(mode, x_src, x_dst, src, dst, perm, _NEAR32)
        if near.numel() <= src.numel() // 16:
            return out, near
    same = x_dst is x_src
    x64 = x_src.double()
    return _dist_from(mode, x64, x64 if same else x_dst.double(), src, dst,
                      perm, _NEAR)


def _dist_from(mode: str, x_src: Tensor, x_dst: Tensor, src: Tensor,
               dst: Tensor, perm: Optional[Tensor], ratio: float
               ) -> Tuple[Tensor, Tensor]:
    sq_src = x_src.pow(2).sum(-1)
    sq_dst = sq_src if x_dst is x_src else x_dst.pow(2).sum(-1)
    norms = sq_src.index_select(0, src) + sq_dst.index_select(0, dst)
    sq = norms - 2.0 * _dot(mode, x_src, x_dst, src, dst, perm)
    near = (sq <= ratio * norms).nonzero().view(-1)
    out = sq.clamp_min_(0.0).sqrt_().float()
    if near.numel() > 0:
        out[near] = _blocked_scores(x_src, x_dst, src[near], dst[near],
                                    'dist').float()
    return out, near


def _product_backward(mode: str, grad: Tensor, x_src: Tensor, x_dst: Tensor,
                      src: Tensor, dst: Tensor, out: Tensor,
                      perm: Optional[Tensor], near_id: Optional[Tensor],
                      grad_src: Optional[Tensor], grad_dst: Optional[Tensor],
                      metric: str) -> None:
    r"""Accumulates the gradients of the pair scores into ``grad_src`` and
    ``grad_dst`` (the same tensor for ``x_src is x_dst``) with matrix
    products (dense, or sparse-dense); ``grad`` holds
    :math:`\partial L / \partial d_{ij} / d_{ij}` for distances."""
    sign = 1.0
    if metric == 'dist':
        # d/dz_i = w (z_i - z_j): a per-row weight minus a matrix product.
        # Near pairs, where that would cancel digits, go the exact way.
        if near_id is None:  # distances were gathered
            sq_src = x_src.pow(2).sum(-1)
            sq_dst = sq_src if x_dst is x_src else x_dst.pow(2).sum(-1)
            near = out.pow(2) <= _NEAR * (sq_src.index_select(0, src) +
                                          sq_dst.index_select(0, dst))
            near_id = near.nonzero().view(-1)
        if near_id.numel() > 0:
            _blocked_backward(grad[near_id], x_src, x_dst, src[near_id],
                              dst[near_id], grad_src, grad_dst, metric)
            grad = grad.index_fill(0, near_id, 0.0)
        sign = -1.0
        if grad_src is not None:
            weight = grad.new_zeros(x_src.size(0)).index_add_(0, src, grad)
            if grad_dst is grad_src:
                weight.index_add_(0, dst, grad)
            grad_src.addcmul_(weight.unsqueeze(-1), x_src)
        if grad_dst is not None and grad_dst is not grad_src:
            weight = grad.new_zeros(x_dst.size(0)).index_add_(0, dst, grad)
            grad_dst.addcmul_(weight.unsqueeze(-1), x_dst)
    if mode == 'dense':
        num_dst = x_dst.size(0)
        matrix = grad.new_zeros(x_src.size(0) * num_dst).index_add_(
            0, src * num_dst + dst, grad)
        with torch.autocast(x_src.device.type, enabled=False):
            if grad_dst is grad_src:
                # g x + g^T x = (g + g^T) x: the pairs added at both ends
                matrix.index_add_(0, dst * num_dst + src, grad)
                grad_src.addmm_(matrix.view(-1, num_dst), x_src, alpha=sign)
                return
            matrix = matrix.view(-1, num_dst)
            if grad_src is not None:
                grad_src.addmm_(matrix, x_dst, alpha=sign)
            if grad_dst is not None:
                grad_dst.addmm_(matrix.t(), x_src, alpha=sign)
        return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        if grad_src is not None:
            s, t, g = _permuted(perm, src, dst, grad)
            matrix = _csr(s, t, g, x_dst.size(0))
            grad_src[:matrix.size(0)].addmm_(matrix, x_dst, alpha=sign)
        if grad_dst is not None:
            t, s, g = _permuted(_sort_perm(dst, x_dst.size(0)), dst, src,
                                grad)
            matrix = _csr(t, s, g, x_src.size(0))
            grad_dst[:matrix.size(0)].addmm_(matrix, x_src, alpha=sign)


def _blocked_scores(x_src: Tensor, x_dst: Tensor, src: Tensor, dst: Tensor,
                    metric: str) -> Tensor:
    out = x_src.new_empty(src.numel())
    step = _block_size(x_src, src.numel())
    if 0 < src.numel() <= step:
        return _scores(x_src.index_select(0, src), x_dst.index_select(0, dst),
                       metric)
    for start in range(0, src.numel(), step):
        a = x_src.index_select(0, src[start:start + step])
        b = x_dst.index_select(0, dst[start:start + step])
        out[start:start + step] = _scores(a, b, metric)
    return out


def _scores(a: Tensor, b: Tensor, metric: str) -> Tensor:
    if metric == 'dot':
        return _rowdot(a, b)
    return torch.linalg.vector_norm(a - b, dim=-1)


def _blocked_backward(grad: Tensor, x_src: Tensor, x_dst: Tensor,
                      src: Tensor, dst: Tensor, grad_src: Optional[Tensor],
                      grad_dst: Optional[Tensor], metric: str) -> None:
    step = _block_size(x_src, src.numel())
    if 0 < src.numel() <= step:
        blocks = [(src, dst, grad)]
    else:
        blocks = [(src[i:i + step], dst[i:i + step], grad[i:i + step])
                  for i in range(0, src.numel(), step)]
    for s, d, g in blocks:
        g = g.unsqueeze(-1)
        a, b = x_src.index_select(0, s), x_dst.index_select(0, d)
        if metric == 'dot':
            if grad_src is not None:
                grad_src.index_add_(0, s, b.mul_(g))
            if grad_dst is not None:
                grad_dst.index_add_(0, d, a.mul_(g))
        else:
            diff = a.sub_(b).mul_(g)
            if grad_src is not None:
                grad_src.index_add_(0, s, diff)
            if grad_dst is not None:
                grad_dst.index_add_(0, d, diff, alpha=-1)


def _rowdot(a: Tensor, b: Tensor) -> Tensor:
    if a.device.type == 'cpu' and not _is_compiling():
        # A batched matrix product is the fastest row dot product on CPUs;
        # autocast must not lower it below the precision of a and b.
        with torch.autocast('cpu', enabled=False):
            return torch.einsum('ij,ij->i', a, b)
    return (a * b).sum(-1)


def _block_size(x: Tensor, num_pairs: int) -> int:
    if _is_compiling():
        # One block: the compiler fuses gather and reduction (no [M, d]
        # buffer), and a loop would be unrolled, specialised to M.
        return max(1, num_pairs)
    elements = _BLOCK_ELEMENTS.get(x.device.type, _DEFAULT_BLOCK_ELEMENTS)
    return max(1, elements // max(1, x.size(-1)))


def pair_scores(x: Tensor, pos_index: Tensor,
                neg_index: Optional[Tensor], metric: str = 'dot',
                x_dst: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    r"""Scores of all positive [P] and negative [Q] pairs, gathered in one
    pass over ``cat([pos_index, neg_index], dim=1)`` (only the positives
    for ``neg_index=None``: the negative scores are then empty).

    ``metric='dot'`` gives :math:`\langle x_i, y_j \rangle` with :math:`y = x`
    unless ``x_dst`` is given; ``metric='dist'`` gives the Euclidean (not
    squared) distance :math:`\lVert x_i - x_j \rVert_2`, whose gradient at
    distance 0 is 0 (a subgradient), never NaN.
    """
    index = pos_index if neg_index is None else torch.cat(
        [pos_index, neg_index], dim=1)
    out = _PairScore.apply(x, x_dst, index[0], index[1], metric)
    num_pos = pos_index.size(1)
    return out[:num_pos], out[num_pos:]


def cosine(z: Tensor) -> Tensor:
    r"""The L2-normalised rows of ``z`` (at least float32), whose dot
    products are cosine similarities."""
    return torch.nn.functional.normalize(upcast(z), dim=-1)


def cosine_scores(z: Tensor, pos_index: Tensor, neg_index: Tensor
                  ) -> Tuple[Tensor, Tensor]:
    r"""Cosine similarities of all positive [P] and negative [Q] pairs: dot
    products of the L2-normalised rows of ``z`` (normalised once, [N, d])."""
    return pair_scores(cosine(z), pos_index, neg_index, 'dot')


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    r"""Mean of ``values`` where ``mask`` holds, 0 if it holds nowhere. The
    count stays on the device (no synchronisation) and masked-out entries
    contribute neither value nor gradient."""
    total = torch.where(mask, values, 0.0).sum()
    return total / torch.count_nonzero(mask).clamp_min(1).to(total.dtype)
