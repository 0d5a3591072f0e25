r"""Edge-key membership: a vectorised test of whether pairs are edges.

An edge :math:`(i, j)` of a graph with :math:`N` nodes is the integer key
:math:`\kappa(i, j) = i N + j`; the keys of all edges, sorted once, answer
the membership of any batch of pairs with one binary search per pair
(:func:`torch.searchsorted`), :math:`O(\log |\mathcal{E}|)`.
"""
from typing import Tuple

import torch
from torch import Tensor


def edge_keys(src: Tensor, dst: Tensor, num_nodes: int) -> Tensor:
    r"""The keys :math:`\kappa = \text{src} \cdot N + \text{dst}`."""
    return src.long() * num_nodes + dst.long()


def split_keys(keys: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""Inverse of :func:`edge_keys`: the sources and targets of
    :obj:`keys`."""
    src = torch.div(keys, num_nodes, rounding_mode='floor')
    return src, keys - src * num_nodes


def sorted_edge_keys(edge_index: Tensor, num_nodes: int,
                     undirected: bool = False) -> Tensor:
    r"""The sorted, distinct keys of the edges :obj:`edge_index` (and of
    their reverses if :obj:`undirected`).

    Shapes:
        - **input:** edge_index :math:`(2, E)`
        - **output:** :math:`(E')`, :math:`E' \le E` (:math:`2E` if
          undirected)
    """
    src, dst = edge_index[0], edge_index[1]
    keys = edge_keys(src, dst, num_nodes)
    if undirected:
        keys = torch.cat([keys, edge_keys(dst, src, num_nodes)])
    return torch.unique(keys)  # sorted


def contains(sorted_keys: Tensor, query: Tensor) -> Tensor:
    r"""Whether every entry of :obj:`query` occurs in :obj:`sorted_keys`
    (one binary search per entry).

    Shapes:
        - **input:** sorted_keys :math:`(K)`, query :math:`(*)`
        - **output:** :math:`(*)` bool
    """
    if sorted_keys.numel() == 0:
        return torch.zeros(query.shape, dtype=torch.bool, device=query.device)
    pos = torch.searchsorted(sorted_keys, query)
    pos.clamp_(max=sorted_keys.numel() - 1)
    return sorted_keys[pos] == query


def has_edges(sorted_keys: Tensor, src: Tensor, dst: Tensor,
              num_nodes: int) -> Tensor:
    r"""Whether :math:`(\text{src}_k, \text{dst}_k)` is an edge, for the
    sorted keys of a graph (:func:`sorted_edge_keys`).

    Shapes:
        - **input:** src, dst :math:`(*)`
        - **output:** :math:`(*)` bool
    """
    return contains(sorted_keys, edge_keys(src, dst, num_nodes))
