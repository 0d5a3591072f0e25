"""Positive and k-hop neighbour sampling on CSR graphs in pure PyTorch."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pyg_sip.sampling.csr import sample_without_replacement
from pyg_sip.utils.segment import expand_segments


def sample_positives(
    rowptr: Tensor,
    col: Tensor,
    anchor: Tensor,
    k: int,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Draws :math:`\min(k, \deg(a))` distinct neighbours of every anchor
    :math:`a`, uniformly without replacement: an anchor with fewer than
    :math:`k` neighbours takes all of them, one without neighbours none.

    Args:
        rowptr (torch.Tensor): CSR pointer of the pre-training graph.
        col (torch.Tensor): CSR neighbour list (no self-loops).
        anchor (torch.Tensor): The anchors.
        k (int): The number of positives per anchor.
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)

    Returns:
        ``(positives, mask)``: ``positives[b, j]`` is a neighbour of
        ``anchor[b]`` where ``mask[b, j]``.

    Shapes:
        - **input:** rowptr :math:`(N + 1)`, col :math:`(E)`, anchor
          :math:`(B)`
        - **output:** positives, mask :math:`(B, k)`
    """
    start = rowptr[anchor]
    index, mask = sample_without_replacement(rowptr[anchor + 1] - start, k,
                                             generator)
    pos = torch.where(mask, start.view(-1, 1) + index, 0)
    if col.numel() == 0:
        return torch.zeros_like(pos), mask
    return col[pos], mask


def sample_neighbors(
    rowptr: Tensor,
    col: Tensor,
    nodes: Tensor,
    num_neighbors: Sequence[int],
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Samples the multi-hop neighbourhood of the start ``nodes`` (e.g. the
    samples of a batch) for message passing, in pure PyTorch.

    Hop :math:`h` visits the nodes first reached at hop :math:`h - 1` (the
    start nodes at hop 1); each such node :math:`i` draws
    :math:`\min(k_h, \deg(i))` distinct neighbours uniformly
    (:math:`k_h = -1`: all of them) and adds the message edges
    :math:`j \to i`. Nodes are numbered in order of discovery: start nodes first,
    then the new nodes of hop 1 (ascending id), hop 2, and so on.

    Args:
        rowptr (torch.Tensor): CSR pointer over message *targets*.
        col (torch.Tensor): CSR list of message *sources*:
            ``col[rowptr[i]:rowptr[i + 1]]`` are the nodes sending to
            :math:`i` (for a directed ``edge_index``, the CSR of
            ``edge_index.flip(0)``).
        nodes (torch.Tensor): Distinct global ids of the start nodes.
        num_neighbors (List[int]): Neighbours per node at each hop.
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)

    Returns:
        ``(n_id, edge_index)``: global ids of the sampled nodes (start
        nodes first) and the sampled edges as local indices into ``n_id``
        (``edge_index[0]`` = source neighbour, ``edge_index[1]`` = target).

    Shapes:
        - **input:** rowptr :math:`(N + 1)`, col :math:`(E)`, nodes
          :math:`(S)`
        - **output:** n_id :math:`(S')`, edge_index :math:`(2, E')`
    """
    n_id = nodes.view(-1)
    frontier = torch.arange(n_id.numel())
    edges: List[Tensor] = []
    for k in num_neighbors:
        targets = n_id[frontier]
        if k < 0:
            seg, pos = expand_segments(rowptr, targets)
            dst = frontier[seg]
        else:
            start = rowptr[targets]
            index, mask = sample_without_replacement(
                rowptr[targets + 1] - start, k, generator)
            pos = (start.view(-1, 1) + index).masked_select(mask)
            dst = frontier.view(-1, 1).expand_as(mask).masked_select(mask)
        src, n_id, frontier = _append_nodes(n_id, col[pos])
        edges.append(torch.stack([src, dst]))
    if not edges:
        return n_id, torch.empty(2, 0, dtype=torch.long)
    return n_id, torch.cat(edges, dim=1)


def _append_nodes(n_id: Tensor, nodes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Maps ``nodes`` to local ids, appending unseen ones to ``n_id`` in
    ascending id order. Returns ``(local, n_id, new_local)``."""
    # Sorting beats an O(1) global-to-local array here: its random accesses
    # miss the cache.
    U = n_id.numel()
    values, inverse = torch.unique(torch.cat([n_id, nodes]), return_inverse=True)
    first = torch.full_like(values, inverse.numel())
    first.scatter_reduce_(0, inverse, torch.arange(inverse.numel()), reduce='amin')
    new = (first >= U).nonzero().view(-1)  # ascending node id
    new_local = torch.arange(U, U + new.numel())
    first[new] = new_local
    return first[inverse[U:]], torch.cat([n_id, values[new]]), new_local


def remove_pairs(edge_index: Tensor, pairs: Tensor, num_nodes: int) -> Tensor:
    r"""Removes from ``edge_index`` every edge :math:`(i, j)` such that
    :math:`(i, j)` or :math:`(j, i)` is a column of ``pairs`` (used to drop
    anchor–positive supervision edges from the message-passing graph).

    Shapes:
        - **input:** edge_index :math:`(2, E)`, pairs :math:`(2, P)`
        - **output:** :math:`(2, E'')`
    """
    if pairs.numel() == 0:
        return edge_index
    bound = int(pairs.max()) + 1  # only edges among paired nodes can match
    maybe = ((edge_index[0] < bound) & (edge_index[1] < bound)).nonzero().view(-1)
    key = edge_index[0, maybe] * num_nodes + edge_index[1, maybe]
    banned = torch.cat([pairs[0] * num_nodes + pairs[1],
                        pairs[1] * num_nodes + pairs[0]])
    keep = torch.ones(edge_index.size(1), dtype=torch.bool)
    keep[maybe[torch.isin(key, banned)]] = False
    return edge_index[:, keep]
