r"""I.i.d. weighted draws by inverse-CDF with a guide table."""
from typing import Optional

import torch
from torch import Tensor


class WeightedDraw:
    r"""Draws i.i.d. indices :math:`j \sim w_j / \sum_i w_i` by inversion of
    the cumulative weights :math:`c_j = \sum_{i \le j} w_i` with a guide table
    (Chen and Asau, 1974): for :math:`u \sim \mathcal{U}[0, 1)` the draw is

    .. math::
        j = \min \{ j : c_j > u \, c_{N-1} \},

    found by starting at the guide entry of bucket :math:`\lfloor u M
    \rfloor` (the first :math:`j` whose :math:`c_j` exceeds the bucket's left
    end) and stepping forward over the few boundaries inside the bucket.
    With :math:`M = 2N` buckets a draw costs :math:`O(1)` expected gathers
    instead of the :math:`\log_2 N` cache misses of a binary search, and
    returns exactly what :func:`torch.searchsorted` on :math:`c` returns for
    the same :math:`u` (rounding cases fall back to it).

    Args:
        weight (torch.Tensor): Non-negative weights :math:`w` with a positive
            sum.
        buckets_per_item (int, optional): :math:`M / N`. (default: :obj:`2`)

    Shapes:
        - **input:** weight :math:`(N)`
        - **output:** :math:`(*)` long
    """
    def __init__(self, weight: Tensor, buckets_per_item: int = 2):
        self.cdf = torch.cumsum(weight.double().view(-1), 0)
        self.num_items = self.cdf.numel()
        self.total = float(self.cdf[-1])
        self.num_buckets = max(1, buckets_per_item * self.num_items)
        left = torch.arange(self.num_buckets, dtype=torch.float64) * (
            self.total / self.num_buckets)
        guide = torch.searchsorted(self.cdf, left, right=True)
        guide.clamp_(max=self.num_items - 1)
        self.guide = guide.int() if self.num_items < 2**31 else guide

    def __call__(self, shape: torch.Size,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        return self.invert(u.view(-1)).view(shape)

    def invert(self, u: Tensor) -> Tensor:
        r"""The index of every :math:`u \in [0, 1)`, as
        ``searchsorted(cdf, u * total, right=True)`` (clamped to
        :math:`N - 1`)."""
        cdf, last = self.cdf, self.num_items - 1
        t = u * self.total
        bucket = (u * self.num_buckets).long().clamp_(max=self.num_buckets - 1)
        out = self.guide[bucket].long()
        # rounding may put t below its bucket's left end: search those
        below = (out > 0) & (cdf[(out - 1).clamp_(min=0)] > t)
        # step forward while the boundary c_j <= t, on the entries still
        # moving only
        active = (~below & (cdf[out] <= t)).nonzero().view(-1)
        for _ in range(8):
            if active.numel() == 0:
                break
            pos = (out[active] + 1).clamp_(max=last)
            out[active] = pos
            active = active[(cdf[pos] <= t[active]) & (pos < last)]
        slow = below.nonzero().view(-1)
        if active.numel() > 0:
            slow = torch.cat([slow, active])
        if slow.numel() > 0:
            out[slow] = torch.searchsorted(cdf, t[slow], right=True).clamp_(
                max=last)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_items={self.num_items}, '
                f'num_buckets={self.num_buckets})')
