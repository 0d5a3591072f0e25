"""Input checks and per-pair scores shared by all structure losses.

A pair score (dot product or Euclidean distance of two rows of ``z``) is
computed by one autograd function that gathers the two rows of a block of
pairs, reduces them to one scalar per pair and frees them again. Only ``z``,
the indices and (for distances) the [M] scores are kept for the backward
pass, which scatters the gradient back with ``index_add_``. Peak memory is
therefore O(M + block · d) instead of the O(M · d) that autograd through
``z[index]`` would hold.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from pyg_sip.errors import PygSipError

# Pairs per block = _BLOCK_ELEMENTS[device] // d: small blocks stay in the
# CPU cache; on GPUs, blocks are big enough that launch overhead vanishes.
_BLOCK_ELEMENTS = {'cpu': 1 << 20}
_DEFAULT_BLOCK_ELEMENTS = 1 << 25


def _is_compiling() -> bool:
    return torch.compiler.is_compiling()


def check_inputs(z: Tensor, pos_index: Tensor, neg_index: Tensor,
                 validate: Optional[bool] = None) -> None:
    r"""Checks ``z`` [N, d] and the pair lists [2, P] / [2, Q] and raises
    :class:`~pyg_sip.errors.PygSipError` on misuse.

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
    for name, index in (('pos_index', pos_index), ('neg_index', neg_index)):
        if not isinstance(index, Tensor):
            raise PygSipError(f"'{name}' must be a tensor "
                              f"(got {type(index).__name__})")
        if index.dtype != torch.long:
            raise PygSipError(f"'{name}' must have dtype torch.long "
                              f"(got {index.dtype})")
        if index.dim() != 2 or index.size(0) != 2:
            raise PygSipError(f"'{name}' must have shape [2, num_pairs] "
                              f"(got {tuple(index.shape)})")
        if index.device != z.device:
            raise PygSipError(f"'{name}' is on {index.device} but 'z' is on "
                              f"{z.device}")
        check = validate
        if check is None:
            check = index.device.type == 'cpu' and not _is_compiling()
        if check and index.numel() > 0:
            bad = (index < 0) | (index >= z.size(0))
            if bool(bad.any()):
                col = int(bad.any(dim=0).nonzero()[0])
                raise PygSipError(
                    f"'{name}' column {col} holds pair "
                    f"{tuple(index[:, col].tolist())}, out of range for "
                    f"'z' with {z.size(0)} samples")


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
        out = x_src.new_empty(src.numel())
        step = _block_size(x_src)
        for start in range(0, src.numel(), step):
            a = x_src.index_select(0, src[start:start + step])
            b = x_dst.index_select(0, dst[start:start + step])
            if metric == 'dot':
                out[start:start + step] = _rowdot(a, b)
            else:
                out[start:start + step] = torch.linalg.vector_norm(
                    a - b, dim=-1)
        ctx.same = same
        ctx.metric = metric
        ctx.save_for_backward(x_src, x_dst, src, dst, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        x_src, x_dst, src, dst, out = ctx.saved_tensors
        need_src = ctx.needs_input_grad[0]
        need_dst = not ctx.same and ctx.needs_input_grad[1]
        grad_src = torch.zeros_like(x_src) if need_src else None
        grad_dst = grad_src if ctx.same else (
            torch.zeros_like(x_dst) if need_dst else None)
        if ctx.metric == 'dist':
            # Subgradient 0 at distance 0 (e.g. a pair (i, i)): no NaN.
            pos = out > 0
            grad = torch.where(pos, grad / torch.where(pos, out, 1.0), 0.0)
        step = _block_size(x_src)
        for start in range(0, src.numel(), step):
            s, d = src[start:start + step], dst[start:start + step]
            g = grad[start:start + step].unsqueeze(-1)
            a, b = x_src.index_select(0, s), x_dst.index_select(0, d)
            if ctx.metric == 'dot':
                if grad_src is not None:
                    grad_src.index_add_(0, s, b * g)
                if grad_dst is not None:
                    grad_dst.index_add_(0, d, a * g)
            else:
                diff = (a - b).mul_(g)
                if grad_src is not None:
                    grad_src.index_add_(0, s, diff)
                if grad_dst is not None:
                    grad_dst.index_add_(0, d, diff, alpha=-1)
        return grad_src, None if ctx.same else grad_dst, None, None, None


def _rowdot(a: Tensor, b: Tensor) -> Tensor:
    if a.device.type == 'cpu':
        # A batched matrix product is the fastest row dot product on CPUs;
        # autocast must not lower it below the precision of a and b.
        with torch.autocast('cpu', enabled=False):
            return torch.einsum('ij,ij->i', a, b)
    return (a * b).sum(-1)


def _block_size(x: Tensor) -> int:
    elements = _BLOCK_ELEMENTS.get(x.device.type, _DEFAULT_BLOCK_ELEMENTS)
    return max(1, elements // max(1, x.size(-1)))


def pair_scores(x: Tensor, pos_index: Tensor, neg_index: Tensor,
                metric: str = 'dot', x_dst: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor]:
    r"""Scores of all positive [P] and negative [Q] pairs, gathered in one
    pass over ``cat([pos_index, neg_index], dim=1)``.

    ``metric='dot'`` gives :math:`\langle x_i, y_j \rangle` with :math:`y = x`
    unless ``x_dst`` is given; ``metric='dist'`` gives the Euclidean (not
    squared) distance :math:`\lVert x_i - x_j \rVert_2`, whose gradient at
    distance 0 is 0 (a subgradient), never NaN.
    """
    index = torch.cat([pos_index, neg_index], dim=1)
    out = _PairScore.apply(x, x_dst, index[0], index[1], metric)
    num_pos = pos_index.size(1)
    return out[:num_pos], out[num_pos:]


def cosine_scores(z: Tensor, pos_index: Tensor, neg_index: Tensor
                  ) -> Tuple[Tensor, Tensor]:
    r"""Cosine similarities of all positive [P] and negative [Q] pairs: dot
    products of the L2-normalised rows of ``z`` (normalised once, [N, d])."""
    x = torch.nn.functional.normalize(upcast(z), dim=-1)
    return pair_scores(x, pos_index, neg_index, 'dot')


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    r"""Mean of ``values`` where ``mask`` holds, 0 if it holds nowhere. The
    count stays on the device (no synchronisation) and masked-out entries
    contribute neither value nor gradient."""
    total = torch.where(mask, values, 0.0).sum()
    return total / mask.sum().clamp_min(1).to(total.dtype)


def check_positive(name: str, value: float) -> None:
    r"""Raises :class:`~pyg_sip.errors.PygSipError` unless ``value`` is a
    finite number > 0."""
    if not isinstance(value, (int, float)) or not 0 < value < float('inf'):
        raise PygSipError(f"'{name}' must be a finite number > 0 "
                          f"(got {value!r})")
