r"""Link retrieval: rank the held-out neighbour of every query sample among
all samples by embedding similarity (MRR, Hits@K with OGB's rank
convention)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.eval._checks import check_edges, check_embeddings
from pyg_sip.utils.checks import check_choice, check_positive
from pyg_sip.utils.segment import csr_from_edges, expand_segments

SIMILARITIES = ('cosine', 'dot', 'euclidean')

# Queries x samples per score block: bounds the memory of the ranking.
_BLOCK_ELEMENTS = 1 << 24


def similarity_scores(emb: Tensor, query: Tensor, similarity: str) -> Tensor:
    r"""Scores :math:`s(q, j)` of query samples against all samples: cosine
    :math:`\frac{z_q^\top z_j}{\|z_q\| \|z_j\|}`, dot :math:`z_q^\top z_j`
    or euclidean :math:`-\|z_q - z_j\|_2` (higher = more similar).

    Shapes:
        - **emb:** :math:`[N, d]`, **query:** :math:`[B]`
        - **output:** :math:`[B, N]`
    """
    if similarity == 'cosine':
        z = F.normalize(emb, dim=1)
        return z[query] @ z.t()
    if similarity == 'dot':
        return emb[query] @ emb.t()
    return -torch.cdist(emb[query], emb)


def retrieval_ranks(emb: Tensor, src: Tensor, dst: Tensor,
                    known_edges: Optional[Tensor] = None, similarity: str = 'cosine',
                    batch_size: Optional[int] = None) -> Tensor:
    r"""The rank of every target :math:`v` among the candidates of its query
    :math:`u`, with OGB's convention (``ogb.linkproppred.Evaluator``, metric
    ``'mrr'``): with :math:`\mathcal{C}_u` the candidates (all samples but
    :math:`u`, :math:`v` and the known neighbours of :math:`u`),

    .. math::
        r = 1 + \tfrac{1}{2}\left(|\{c \in \mathcal{C}_u : s(u,c) > s(u,v)\}|
        + |\{c \in \mathcal{C}_u : s(u,c) \geq s(u,v)\}|\right).

    No validation: see :func:`link_retrieval`.

    Shapes:
        - **src, dst:** :math:`[M]`
        - **output:** :math:`[M]`, :obj:`torch.float64`
    """
    n = emb.size(0)
    csr = None if known_edges is None else csr_from_edges(known_edges, n)[:2]
    block = batch_size or max(1, _BLOCK_ELEMENTS // n)
    ranks = []
    for start in range(0, src.numel(), block):
        u, v = src[start:start + block], dst[start:start + block]
        rows = torch.arange(u.numel(), device=emb.device)
        score = similarity_scores(emb, u, similarity)
        pos = score[rows, v].unsqueeze(1)
        score[rows, u] = float('-inf')
        if csr is not None:  # one entry per known neighbour c of u
            seg, entry = expand_segments(csr[0], u)
            score[seg, csr[1][entry]] = float('-inf')
        score[rows, v] = float('-inf')  # the target is never its own negative
        optimistic = (score > pos).sum(dim=1)
        pessimistic = (score >= pos).sum(dim=1)
        ranks.append(0.5 * (optimistic + pessimistic).double() + 1.0)
    return torch.cat(ranks)


def rank_metrics(ranks: Tensor, ks: Sequence[int] = (1, 3, 10)) -> Dict[str, float]:
    r"""``mrr`` :math:`= \mathrm{mean}(1/r)` and ``hits@k``
    :math:`= \mathrm{mean}([r \leq k])` of ranks :math:`r`."""
    out = {'mrr': float((1.0 / ranks).mean())}
    for k in ks:
        out[f'hits@{k}'] = float((ranks <= k).double().mean())
    return out


def link_retrieval(emb: Tensor, held_out_edges: Tensor,
                   known_edges: Optional[Tensor] = None, similarity: str = 'cosine',
                   ks: Sequence[int] = (1, 3, 10),
                   batch_size: Optional[int] = None) -> Dict[str, float]:
    r"""Link retrieval on held-out edges of the pre-training graph.

    For every held-out edge :math:`(u, v)`, the target :math:`v` is ranked
    among all samples except :math:`u` itself by the similarity :math:`s(u,
    \cdot)` (see :func:`similarity_scores`). Edges in :obj:`known_edges` are
    removed from the candidates of their source (the *filtered* setting:
    an edge :math:`(u, w)` there removes :math:`w` from the candidates of
    query :math:`u`; pass both directions for an undirected graph, and add the
    held-out edges themselves to filter the other held-out neighbours). The
    target of a query is never filtered. Ties count half, exactly as in
    ``ogb.linkproppred.Evaluator``:

    .. math::
        r_{uv} = 1 + \tfrac{1}{2}\left(|\{c : s(u,c) > s(u,v)\}|
        + |\{c : s(u,c) \geq s(u,v)\}|\right), \quad
        \mathrm{MRR} = \frac{1}{M} \sum_{(u,v)} \frac{1}{r_{uv}}, \quad
        \mathrm{Hits@}k = \frac{1}{M} \sum_{(u,v)} [r_{uv} \leq k].

    Queries are scored in blocks of :obj:`batch_size` (memory
    :math:`O(B \cdot N)`).

    Args:
        emb (torch.Tensor): Sample embeddings.
        held_out_edges (torch.Tensor): Query edges :math:`(u, v)`.
        known_edges (torch.Tensor, optional): Edges filtered out of the
            candidates. (default: :obj:`None`)
        similarity (str, optional): ``'cosine'``, ``'dot'`` or
            ``'euclidean'``. (default: :obj:`'cosine'`)
        ks (Sequence[int], optional): The :math:`k` of Hits@k.
            (default: :obj:`(1, 3, 10)`)
        batch_size (int, optional): Queries per block; by default
            :math:`\max(1, 2^{24} / N)`. (default: :obj:`None`)

    Returns:
        :obj:`{'mrr': float, 'hits@1': float, ...}` (one ``hits@k`` per
        :obj:`ks`).

    Shapes:
        - **emb:** :math:`[N, d]`
        - **held_out_edges:** :math:`[2, M]`
        - **known_edges:** :math:`[2, K]`
    """
    emb = check_embeddings(emb)
    n = emb.size(0)
    held_out_edges = check_edges(held_out_edges, n, 'held_out_edges').to(emb.device)
    if known_edges is not None:
        known_edges = check_edges(known_edges, n, 'known_edges', allow_empty=True)
        known_edges = known_edges.to(emb.device)
    check_choice('similarity', similarity, SIMILARITIES)
    check_positive('batch_size', batch_size, integer=True, optional=True)
    if n < 2:
        raise PygSipError('link retrieval needs at least 2 samples (got 1)')
    for k in ks:
        check_positive('ks', k, integer=True)
    ranks = retrieval_ranks(emb, held_out_edges[0], held_out_edges[1], known_edges,
                            similarity, batch_size)
    return rank_metrics(ranks, ks)
