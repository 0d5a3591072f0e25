r"""Scores of all (anchor, sample) pairs as one matrix, for losses whose
negatives cover most row pairs (:class:`~pyg_sip.losses.InBatchNegatives`,
dense pair lists).

:func:`dense_scores` computes the :math:`[A, N]` matrix of dot products
:math:`\alpha \langle x_a, y_j \rangle + c_{aj}` (one ``addmm``) or
Euclidean distances, and its backward pass is two matrix products; nothing
of size :math:`A N d` exists. Distances come from
:math:`d^2 = |x_a|^2 + |y_j|^2 - 2 \langle x_a, y_j \rangle` in the input's
precision; pairs closer than a quarter of their squared norms (float32;
:math:`10^{-4}` in float64), where that would cancel digits, are recomputed
exactly from their rows, and their gradient too. :func:`row_logsumexp` is a
row-wise log-sum-exp whose gradient stays finite (zero) for rows without
any finite entry.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from pyg_sip.losses._pairs import _blocked_backward, _blocked_scores

# d^2 <= _NEAR[dtype] * (|x|^2 + |y|^2): recomputed exactly.
_NEAR = {torch.float32: 0.25, torch.float64: 1e-4}
# More near pairs than this share of the matrix: a float64 product instead.
_MAX_NEAR_SHARE = 1 / 16


class _DenseScore(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_src: Tensor, x_dst: Optional[Tensor], num_rows: int,
                metric: str, scale: float, bias: Optional[Tensor]) -> Tensor:
        same = x_dst is None
        x_dst = x_src if same else x_dst
        a = x_src[:num_rows]
        near = None
        with torch.autocast(x_src.device.type, enabled=False):
            if metric == 'dot':
                if bias is None:
                    out = torch.mm(a, x_dst.t())
                    if scale != 1.0:
                        out.mul_(scale)
                else:
                    out = torch.addmm(bias, a, x_dst.t(), alpha=scale)
            else:
                out, near = _distances(a, x_dst, prefix=same)
        ctx.same, ctx.metric, ctx.scale, ctx.num_rows = (same, metric, scale,
                                                         num_rows)
        ctx.save_for_backward(x_src, None if same else x_dst,
                              out if metric == 'dist' else None, near)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        x_src, x_dst, out, near = ctx.saved_tensors
        x_dst = x_src if ctx.same else x_dst
        a = x_src[:ctx.num_rows]
        need_src = ctx.needs_input_grad[0]
        need_dst = not ctx.same and ctx.needs_input_grad[1]
        grad_src = torch.zeros_like(x_src) if need_src else None
        grad_dst = grad_src if ctx.same else (
            torch.zeros_like(x_dst) if need_dst else None)
        g_src = grad_src
        if grad_src is not None and ctx.num_rows < x_src.size(0):
            g_src = grad_src[:ctx.num_rows]
        with torch.autocast(x_src.device.type, enabled=False):
            if ctx.metric == 'dot':
                if ctx.same and grad_src is not None and _symmetric(grad):
                    # g x + g^T x = (g^T + g) x: one product
                    grad_src.addmm_(grad.t().contiguous().add_(grad), a,
                                    alpha=ctx.scale)
                else:
                    if g_src is not None:
                        g_src.addmm_(grad, x_dst, alpha=ctx.scale)
                    if grad_dst is not None:
                        grad_dst.addmm_(grad.t(), a, alpha=ctx.scale)
            else:
                _distance_backward(grad, a, x_dst, out, near, g_src, grad_dst,
                                   prefix=ctx.same)
        return grad_src, None if ctx.same else grad_dst, None, None, None, None


def _distances(a: Tensor, b: Tensor, prefix: bool = False
               ) -> Tuple[Tensor, Tensor]:
    r"""Distances :math:`[A, N]` and the flat ids of the near pairs.

    With ``prefix`` (``a`` holds the first :math:`A` rows of ``b``) the
    diagonal pairs :math:`(i, i)` are exactly 0 and not listed as near (see
    :func:`_distance_backward`). One [A, N] buffer: the squared distances
    are built in place, and a row minimum tells whether any pair can be
    near before a matrix of the exact test is made."""
    dtype = a.dtype
    sq_b = b.pow(2).sum(-1)
    sq_a = sq_b[:a.size(0)] if prefix else a.pow(2).sum(-1)
    sq = _squared(a, b, sq_a, sq_b, prefix)
    near = _near(sq, sq_a, sq_b, _NEAR.get(dtype, 1e-4))
    if dtype == torch.float32 and near.numel() > _MAX_NEAR_SHARE * sq.numel():
        # Many close pairs (e.g. collapsed embeddings): exact enough in
        # float64, and only the few left near pairs are gathered.
        sq_a64, sq_b64 = sq_a.double(), sq_b.double()
        sq64 = _squared(a.double(), b.double(), sq_a64, sq_b64, prefix)
        near = _near(sq64, sq_a64, sq_b64, _NEAR[torch.float64])
        sq = sq64.to(dtype)
    out = sq.clamp_min_(0.0).sqrt_()
    if prefix:
        out.diagonal().zero_()
    if near.numel() > 0:
        src, dst = near // b.size(0), near % b.size(0)
        out.view(-1)[near] = _blocked_scores(a, b, src, dst, 'dist')
    return out, near


def _squared(a: Tensor, b: Tensor, sq_a: Tensor, sq_b: Tensor,
             prefix: bool) -> Tensor:
    r""":math:`|x_a|^2 + |y_j|^2 - 2 \langle x_a, y_j \rangle` [A, N] in
    one buffer (the diagonal :math:`+\infty` with ``prefix``)."""
    sq = torch.addmm(sq_b, a, b.t(), alpha=-2.0).add_(sq_a.unsqueeze(1))
    if prefix:
        sq.diagonal().fill_(float('inf'))
    return sq


def _near(sq: Tensor, sq_a: Tensor, sq_b: Tensor, ratio: float) -> Tensor:
    r"""Flat ids of the entries with :math:`d^2 \le` ``ratio``
    :math:`(|x_a|^2 + |y_j|^2)`. A row whose smallest :math:`d^2` exceeds
    ``ratio`` :math:`(|x_a|^2 + \max_j |y_j|^2)` has none: only when some
    row fails that bound is the exact test made (a NaN row fails it, and
    has no near pair)."""
    if sq.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=sq.device)
    bound = sq_a + sq_b.max()
    if bool((sq.amin(1) > bound.mul_(ratio)).all()):
        return torch.empty(0, dtype=torch.long, device=sq.device)
    gap = torch.add(sq, sq_a.unsqueeze(1), alpha=-ratio).sub_(sq_b,
                                                               alpha=ratio)
    return (gap <= 0).view(-1).nonzero().view(-1)


def _distance_backward(grad: Tensor, a: Tensor, b: Tensor, out: Tensor,
                       near: Tensor, grad_a: Optional[Tensor],
                       grad_b: Optional[Tensor], prefix: bool = False) -> None:
    r""":math:`\partial d_{aj} / \partial x_a = (x_a - y_j) / d_{aj}`: a
    per-row weight minus a matrix product; near pairs (every pair at
    distance 0 among them) go the exact way, and with ``prefix`` the
    diagonal pairs :math:`(i, i)` get the subgradient 0."""
    tiny = torch.finfo(out.dtype).tiny
    weight = out.clamp_min(tiny)  # d > 0 off the near pairs
    weight = (torch.div(grad, weight, out=weight)
              if grad.dtype == weight.dtype else grad / weight)
    if prefix:
        weight.diagonal().zero_()
    if near.numel() > 0:
        src, dst = near // b.size(0), near % b.size(0)
        d_near = out.view(-1)[near]
        w_near = torch.where(d_near > 0, grad.reshape(-1)[near] /
                             d_near.clamp_min(tiny), 0.0)  # subgradient 0
        _blocked_backward(w_near, a, b, src, dst, grad_a, grad_b, 'dist')
        weight.view(-1)[near] = 0.0
    if grad_b is grad_a and _symmetric(weight):
        # a is b: w x + w^T x = (w^T + w) x, and its row sums
        weight = weight.t().contiguous().add_(weight)
        grad_a.addcmul_(weight.sum(1).unsqueeze(-1), a)
        grad_a.addmm_(weight, a, alpha=-1.0)
        return
    if grad_a is not None:
        grad_a.addcmul_(weight.sum(1).unsqueeze(-1), a)
        grad_a.addmm_(weight, b, alpha=-1.0)
    if grad_b is not None:
        grad_b.addcmul_(weight.sum(0).unsqueeze(-1), b)
        grad_b.addmm_(weight.t(), a, alpha=-1.0)


# Square score matrices up to this size (bytes) fold g x + g^T x into one
# product: the transposed copy pays off while it fits in the cache.
_CACHED = 4 << 20


def _symmetric(grad: Tensor) -> bool:
    r"""Whether the backward pass of a square [N, N] matrix of a tensor with
    itself takes one product of :math:`g + g^T`."""
    return (grad.size(0) == grad.size(1)
            and grad.numel() * grad.element_size() <= _CACHED)


def dense_scores(x: Tensor, num_rows: int, metric: str = 'dot',
                 x_dst: Optional[Tensor] = None, scale: float = 1.0,
                 bias: Optional[Tensor] = None) -> Tensor:
    r"""Scores :math:`[A, N]` of rows :math:`0 \le a < A` of ``x`` against
    all rows of ``x_dst`` (default: ``x``): ``'dot'`` gives
    :math:`\text{scale} \cdot \langle x_a, y_j \rangle + \text{bias}_{aj}`
    (``bias`` a constant [A, N]), ``'dist'`` the Euclidean distance."""
    return _DenseScore.apply(x, x_dst, num_rows, metric, scale, bias)


class _RowLogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, src: Tensor, add_one: bool) -> Tensor:
        shift = src.amax(1)
        if add_one:
            shift = shift.clamp_min(0.0)
        else:
            shift = torch.where(torch.isfinite(shift), shift, 0.0)
        exp = (src - shift.unsqueeze(1)).exp_()
        total = exp.sum(1)
        if add_one:
            total = total + (-shift).exp()
        out = shift + total.log()
        ctx.save_for_backward(exp, total)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        exp, total = ctx.saved_tensors
        # d out_a / d src_aj = exp_aj / total_a; rows without any term have
        # exp = 0 and total = 0 (or 1 with add_one).
        scale = torch.where(total > 0, grad / torch.where(total > 0, total,
                                                          1.0), 0.0)
        return exp * scale.unsqueeze(1), None


def row_logsumexp(src: Tensor, add_one: bool = False) -> Tensor:
    r"""Per-row :math:`\log([\text{add\_one}] + \sum_j e^{\mathrm{src}_{aj}})`
    of a matrix [A, N]; :math:`-\infty` entries are left out, a row without
    terms gives :math:`-\infty` (0 with ``add_one``) and a zero gradient."""
    return _RowLogSumExp.apply(src, add_one)


def gather_pairs(matrix: Tensor, index: Tensor) -> Tensor:
    r"""Entries :math:`[M]` of ``matrix`` [A, N] at the pairs ``index``
    [2, M]."""
    flat = index[0] * matrix.size(1) + index[1]
    return matrix.reshape(-1).index_select(0, flat)
