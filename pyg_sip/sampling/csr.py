"""Compressed sparse row (CSR) storage of a graph with a vectorised edge test.

:func:`expand_segments` lives in :mod:`pyg_sip.utils.segment` and is
re-exported here under its old path."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.utils.edges import edge_keys, has_edges, split_keys
from pyg_sip.utils.segment import expand_segments, lengths_to_ptr

__all__ = ['CSRGraph', 'expand_segments', 'sample_without_replacement']

_SIGNATURE_BITS = 64  # an int64; bit 63 is its sign bit


class CSRGraph:
    r"""A graph in compressed sparse row form, built once and shared by the
    samplers.

    The neighbours of node :math:`i` are
    :math:`\mathcal{N}(i) = \{j : (i, j) \in \mathcal{E}\}`, stored sorted in
    ``col[rowptr[i]:rowptr[i + 1]]``. Edges are also kept as sorted integer keys

    .. math::
        \kappa(i, j) = i \cdot N + j,

    so that membership of any batch of pairs is one binary search
    (:func:`torch.searchsorted`) per pair, :math:`O(\log |\mathcal{E}|)`.

    Args:
        edge_index (torch.Tensor): The edges :math:`(i, j)`, row 0 = source.
            Duplicate edges are merged.
        num_nodes (int): The number of nodes :math:`N`.
        remove_self_loops (bool, optional): If set to :obj:`True`, drops edges
            :math:`(i, i)`. (default: :obj:`False`)

    Shapes:
        - **input:** edge_index :math:`(2, |\mathcal{E}|)`
        - **attributes:** rowptr :math:`(N + 1)`, col :math:`(|\mathcal{E}'|)`,
          keys :math:`(|\mathcal{E}'|)`, degree :math:`(N)`
    """
    def __init__(self, edge_index: Tensor, num_nodes: int,
                 remove_self_loops: bool = False):
        row, col = edge_index[0].long(), edge_index[1].long()
        if remove_self_loops:
            keep = row != col
            row, col = row[keep], col[keep]
        self.num_nodes = int(num_nodes)
        self.keys = torch.unique(edge_keys(row, col, self.num_nodes))  # sorted
        row, self.col = split_keys(self.keys, self.num_nodes)
        self.degree = torch.bincount(row, minlength=self.num_nodes)
        self.rowptr = lengths_to_ptr(self.degree)
        self._signature: Optional[Tensor] = None

    @property
    def num_edges(self) -> int:
        return self.keys.numel()

    def has_edge(self, src: Tensor, dst: Tensor,
                 keys: Optional[Tensor] = None) -> Tensor:
        r"""Returns whether :math:`(\text{src}_k, \text{dst}_k) \in
        \mathcal{E}` for every :math:`k`, by binary search on the edge keys.

        Args:
            src (torch.Tensor): Source nodes.
            dst (torch.Tensor): Target nodes.
            keys (torch.Tensor, optional): Sorted keys of a subset of edges
                that holds all edges out of ``src``, e.g. from
                :meth:`edge_keys_of` (a small array searches faster).
                (default: :obj:`None`, all edges)

        Shapes:
            - **input:** src :math:`(*)`, dst :math:`(*)`
            - **output:** :math:`(*)` bool
        """
        keys = self.keys if keys is None else keys
        return has_edges(keys, src, dst, self.num_nodes)

    def has_edge_filtered(self, src: Tensor, dst: Tensor,
                          keys: Optional[Tensor] = None,
                          signature: Optional[Tensor] = None) -> Tensor:
        r"""Like :meth:`has_edge`, but first rules out most non-edges with
        the neighbour signatures (:meth:`signature`), so that only the few
        pairs left are binary-searched.

        Args:
            signature (torch.Tensor, optional): ``signature()[src]``, if
                already gathered. (default: :obj:`None`)
        """
        if signature is None:
            signature = self.signature()[src]
        # an arithmetic shift keeps bit 63 readable: -1 & 1 = 1
        maybe = ((signature >> (dst & (_SIGNATURE_BITS - 1))) & 1).bool()
        out = torch.zeros(src.shape, dtype=torch.bool)
        idx = maybe.view(-1).nonzero().view(-1)
        if idx.numel() > 0:
            out.view(-1)[idx] = self.has_edge(src.reshape(-1)[idx],
                                              dst.reshape(-1)[idx], keys)
        return out

    def signature(self) -> Tensor:
        r"""Per node, a 64-bit set of its neighbours' ids modulo 64
        (:math:`\sigma_i = \bigvee_{j \in \mathcal{N}(i)} 2^{j \bmod 64}`):
        :math:`j \in \mathcal{N}(i)` implies bit :math:`j \bmod 64` of
        :math:`\sigma_i`, so a clear bit proves a non-edge without a search.
        Built once, on first use.

        Shapes:
            - **output:** :math:`(N)` long
        """
        if self._signature is None:
            row = split_keys(self.keys, self.num_nodes)[0]
            key = torch.unique(row * _SIGNATURE_BITS +
                               (self.col & (_SIGNATURE_BITS - 1)))
            row = key >> 6
            bit = torch.ones_like(key) << (key & (_SIGNATURE_BITS - 1))
            # distinct powers of two: their (wrapping) sum is their union
            self._signature = torch.zeros(self.num_nodes, dtype=torch.long
                                          ).index_add_(0, row, bit)
        return self._signature

    def edge_keys_of(self, nodes: Tensor) -> Tensor:
        r"""Returns the sorted keys of all edges out of ``nodes``.

        Shapes:
            - **input:** nodes :math:`(B)`
            - **output:** :math:`(\sum_{i \in \text{unique(nodes)}} \deg(i))`
        """
        return self.keys[expand_segments(self.rowptr, torch.unique(nodes))[1]]

    def neighbors(self, nodes: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Lists the neighbours of every node in ``nodes`` as one flat ragged
        array.

        Returns:
            ``(seg, nbr)``: ``nbr[m]`` is a neighbour of ``nodes[seg[m]]``;
            ``seg`` is sorted.

        Shapes:
            - **input:** nodes :math:`(B)`
            - **output:** seg, nbr :math:`(\sum_b \deg(\text{nodes}_b))`
        """
        seg, pos = expand_segments(self.rowptr, nodes)
        return seg, self.col[pos]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_edges={self.num_edges})')


def sample_without_replacement(
    count: Tensor,
    k: int,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Draws :math:`\min(k, c_b)` distinct integers uniformly from
    :math:`\{0, \dots, c_b - 1\}` for every row :math:`b`, vectorised over
    rows with Floyd's algorithm (a loop over the :math:`k` draws only).

    For :math:`j = c_b - k, \dots, c_b - 1`, draw
    :math:`t \sim \mathcal{U}\{0, \dots, j\}` and keep :math:`t` unless it is
    already taken, in which case keep :math:`j`; every :math:`k`-subset is
    equally likely. Rows with :math:`c_b \le k` take all of
    :math:`0, \dots, c_b - 1`.

    Args:
        count (torch.Tensor): The population size :math:`c_b` of each row.
        k (int): The number of draws per row.
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)

    Returns:
        ``(index, mask)``: the draws, and which of them are real
        (``mask[b, j] = j < min(k, c_b)``).

    Shapes:
        - **input:** count :math:`(B)`
        - **output:** index, mask :math:`(B, k)`
    """
    arange = torch.arange(k)
    index = arange.expand(count.numel(), k).clone()
    mask = arange < count.view(-1, 1)
    big = (count > k).nonzero().view(-1)
    if big.numel() > 0 and k > 0:
        n = count[big]
        out = torch.empty(big.numel(), k, dtype=torch.long)
        for step in range(k):
            j = n - k + step
            u = torch.rand(n.numel(), generator=generator, dtype=torch.float64)
            t = (u * (j + 1)).long().clamp_(max=j)
            if step > 0:
                taken = (out[:, :step] == t.view(-1, 1)).any(1)
                t = torch.where(taken, j, t)
            out[:, step] = t
        index[big] = out
    return index, mask
