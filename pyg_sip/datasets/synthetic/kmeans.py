"""A small seeded k-means (k-means++ seeding, Lloyd iterations, restarts)."""
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError


def _lloyd(x: Tensor, centers: Tensor, max_iter: int) -> tuple:
    k = centers.size(0)
    for _ in range(max_iter):
        assign = torch.cdist(x, centers).argmin(dim=1)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        sums = torch.zeros_like(centers).index_add_(0, assign, x)
        # an emptied cluster keeps its previous centre
        new = torch.where(counts.unsqueeze(1) > 0, sums / counts.clamp(min=1).unsqueeze(1),
                          centers)
        if torch.equal(new, centers):
            break
        centers = new
    dist = torch.cdist(x, centers)
    assign = dist.argmin(dim=1)
    inertia = dist.gather(1, assign.unsqueeze(1)).pow(2).sum()
    return assign, inertia


def _kmeans_pp(x: Tensor, k: int, generator: Optional[torch.Generator]) -> Tensor:
    first = torch.randint(x.size(0), (1, ), generator=generator)
    centers = x[first]
    closest = torch.cdist(x, centers).pow(2).squeeze(1)
    for _ in range(1, k):
        if float(closest.sum()) > 0:
            idx = torch.multinomial(closest, 1, generator=generator)
        else:  # fewer distinct points than clusters
            idx = torch.randint(x.size(0), (1, ), generator=generator)
        centers = torch.cat([centers, x[idx]], dim=0)
        closest = torch.minimum(closest, torch.cdist(x, x[idx]).pow(2).squeeze(1))
    return centers


def kmeans(x: Tensor, num_clusters: int, num_init: int = 10, max_iter: int = 100,
           generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Clusters the rows of ``x`` with k-means (Lloyd's algorithm from
    k-means++ seeds, the best of ``num_init`` restarts by inertia) and
    returns cluster ids relabelled by first occurrence, so equal partitions
    give equal labels.

    Args:
        x (torch.Tensor): Points to cluster.
        num_clusters (int): Number of clusters :math:`k`.
        num_init (int, optional): Number of restarts. (default: :obj:`10`)
        max_iter (int, optional): Lloyd iterations per restart.
            (default: :obj:`100`)
        generator (torch.Generator, optional): Random number generator.

    Shapes:
        - **input:** :math:`(N, F)`
        - **output:** :math:`(N,)` long, values in :math:`\{0, \ldots, k-1\}`
    """
    if not 1 <= num_clusters <= x.size(0):
        raise PygSipError(f'num_clusters must lie in [1, {x.size(0)}] (the number of points), '
                          f'got {num_clusters}')
    x = x.to(torch.float64)
    best, best_inertia = None, float('inf')
    for _ in range(num_init):
        assign, inertia = _lloyd(x, _kmeans_pp(x, num_clusters, generator), max_iter)
        if float(inertia) < best_inertia - 1e-12:
            best, best_inertia = assign, float(inertia)
    # relabel clusters in order of first appearance
    first = torch.full((num_clusters, ), x.size(0), dtype=torch.long)
    first.scatter_reduce_(0, best, torch.arange(x.size(0)), reduce='amin')
    order = torch.argsort(first)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(num_clusters)
    return rank[best]
