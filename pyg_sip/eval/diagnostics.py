r"""Diagnostics of the pre-training graph :math:`G_{PT}`: how smooth a task's
labels are over it (which predicts whether structure-inducing pre-training
helps the task) and how well embeddings recover it."""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import remove_self_loops, scatter, subgraph, to_undirected

from pyg_sip.errors import PygSipError
from pyg_sip.eval._checks import check_edges, check_embeddings, check_same_length
from pyg_sip.eval.metrics import auroc
from pyg_sip.eval.retrieval import SIMILARITIES, rank_metrics, retrieval_ranks
from pyg_sip.utils.checks import check_choice, check_positive
from pyg_sip.utils.edges import has_edges, sorted_edge_keys, split_keys


def label_smoothness(edge_index: Tensor, y: Tensor,
                     num_nodes: Optional[int] = None) -> Dict[str, float]:
    r"""How smooth labels are over the pre-training graph: the SIPT paper's
    predictor of whether structure-inducing pre-training helps a task.

    The graph is read as undirected (:obj:`edge_index` is symmetrised and
    coalesced) and self-loops are dropped; :math:`\mathcal{E}` below is the
    resulting list of ordered pairs (each undirected edge twice),
    :math:`M = |\mathcal{E}|`, :math:`d_u` the degree.

    For integer class labels :math:`y \in \{0, \ldots, C-1\}^N`:

    * ``edge_homophily`` :math:`h = \frac{1}{M} \sum_{(u,v) \in \mathcal{E}}
      [y_u = y_v]` (``torch_geometric.utils.homophily(method='edge')``);
    * ``node_homophily`` :math:`\frac{1}{|\mathcal{V}'|} \sum_{v \in
      \mathcal{V}'} \frac{|\{u \in \mathcal{N}(v) : y_u = y_v\}|}{d_v}`
      over the non-isolated nodes :math:`\mathcal{V}'` (PyG's ``'node'``
      method instead counts isolated nodes as 0);
    * ``adjusted_homophily`` (Platonov et al., `"Characterizing graph
      datasets for node classification" <https://arxiv.org/abs/2209.06177>`_)
      :math:`\frac{h - \sum_k \bar p_k^2}{1 - \sum_k \bar p_k^2}` with the
      degree-weighted class shares :math:`\bar p_k = \frac{1}{M}
      \sum_{v : y_v = k} d_v`: 0 when labels are independent of the graph,
      1 when every edge joins equal labels.

    For float targets :math:`[N]` or :math:`[N, T]` (and, for comparison,
    one-hot class labels), ``dirichlet_energy`` is the normalised Dirichlet
    energy of the degree-centred label matrix
    :math:`\tilde Y = Y - \mathbf{1} \bar y^\top`, :math:`\bar y =
    \frac{1}{M} \sum_v d_v Y_v`:

    .. math::
        \mathcal{D}(Y) = \frac{\operatorname{tr}(\tilde Y^\top L \tilde Y)}
        {\operatorname{tr}(\tilde Y^\top D \tilde Y)}
        = \frac{\frac{1}{2} \sum_{(u,v) \in \mathcal{E}} \|Y_u - Y_v\|^2}
        {\sum_v d_v \|Y_v - \bar y\|^2},

    with :math:`L = D - A`. Equivalently, the Rayleigh quotient
    :math:`\operatorname{tr}(X^\top L_{\mathrm{sym}} X) /
    \operatorname{tr}(X^\top X)` of :math:`L_{\mathrm{sym}} = I -
    D^{-1/2} A D^{-1/2}` at :math:`X = D^{1/2} \tilde Y`, which is orthogonal
    to its trivial eigenvector: the Dirichlet energy per unit of
    (degree-weighted) label variance. It lies in :math:`[0, 2]`: 0 when labels
    are constant on every connected component, about 1 when they are
    independent of the graph, towards 2 when they alternate across edges. For
    one-hot labels it equals ``1 - adjusted_homophily``. NaN when the
    denominator is 0 (constant labels).

    Samples without a label, in the adapters' convention (class label
    :obj:`-1`, or a float target row holding NaN), are left out: the
    measures are those of the graph induced by the labelled samples (edges
    touching an unlabelled sample are dropped).

    Args:
        edge_index (torch.Tensor): The pre-training graph.
        y (torch.Tensor): Integer class labels or float targets.
        num_nodes (int, optional): Number of samples; :math:`N` of :obj:`y`
            by default. (default: :obj:`None`)

    Returns:
        :obj:`{'edge_homophily', 'node_homophily', 'adjusted_homophily',
        'dirichlet_energy'}` for class labels, :obj:`{'dirichlet_energy'}`
        for float targets.

    Shapes:
        - **edge_index:** :math:`[2, E]`
        - **y:** :math:`[N]` or :math:`[N, T]`
    """
    n = y.size(0) if isinstance(y, Tensor) and y.dim() > 0 and num_nodes is None \
        else num_nodes
    y, keep = labelled_samples(y, n)
    edge_index = check_edges(edge_index, n).to(y.device)
    categorical = not y.is_floating_point()
    if not bool(keep.all()):  # leave the samples without a label out
        edge_index = subgraph(keep, edge_index, relabel_nodes=True, num_nodes=n)[0]
        y, n = y[keep], int(keep.sum())
    edge_index = remove_self_loops(to_undirected(edge_index, num_nodes=n))[0]
    if edge_index.size(1) == 0:
        raise PygSipError("'edge_index' holds no edge between two different labelled "
                          'samples')
    row, col = edge_index
    m = row.numel()
    deg = torch.bincount(row, minlength=n).double()

    if not categorical:
        ys = y.view(n, -1).double()
        ybar = (deg.unsqueeze(1) * ys).sum(0) / m
        num = 0.5 * (ys[row] - ys[col]).pow(2).sum()
        den = (deg * (ys - ybar).pow(2).sum(1)).sum()
        return {'dirichlet_energy': _ratio(num, den)}

    num_classes = int(y.max()) + 1
    same = (y[row] == y[col]).double()
    h = float(same.mean())
    per_node = scatter(same, col, 0, dim_size=n, reduce='mean')
    node_h = float(per_node[deg > 0].mean())
    pbar = torch.bincount(y, weights=deg, minlength=num_classes) / m  # = p-bar_k
    p2 = float(pbar.pow(2).sum())
    adjusted = (h - p2) / (1 - p2) if p2 < 1 else math.nan
    # One-hot Y: ||Y_u - Y_v||^2 = 2 [y_u != y_v], ||Y_v - p||^2 = 1 - 2 p_{y_v} + ||p||^2.
    num = (1 - same).sum()
    den = (deg * (1 - 2 * pbar[y] + p2)).sum()
    return {'edge_homophily': h, 'node_homophily': node_h,
            'adjusted_homophily': adjusted, 'dirichlet_energy': _ratio(num, den)}


def labelled_samples(y: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""Checks labels in the adapters' convention and returns them (class
    labels flattened to :math:`[N]`) with the mask of the samples that have
    one: a class label :math:`\geq 0` (:obj:`-1` = missing), or a float
    target row without NaN (NaN = missing; :math:`\pm\infty` is an
    error)."""
    if not isinstance(y, Tensor) or y.dim() not in (1, 2) or y.dtype == torch.bool:
        raise PygSipError("'y' must be a tensor of class labels [N] or float targets "
                          '[N] / [N, T]')
    check_same_length(num_nodes, 'num_nodes', y.size(0), 'y')
    if not y.is_floating_point():
        if y.dim() == 2 and y.size(1) != 1:
            raise PygSipError(f"integer 'y' must have shape [N] (got {list(y.shape)})")
        y = y.view(-1)
        bad = y < -1
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            raise PygSipError(f"'y' label out of range: y[{i}] = {int(y[i])} (labels "
                              'are in [0, num_classes), or -1 for a missing label)')
        return y, y >= 0
    rows = y.view(num_nodes, -1)
    bad = torch.isinf(rows).any(dim=1)
    if bool(bad.any()):
        raise PygSipError(f"'y' row {int(bad.nonzero()[0])} contains inf (NaN marks a "
                          'missing target)')
    return y, ~torch.isnan(rows).any(dim=1)


def _ratio(num: Tensor, den: Tensor) -> float:
    return float(num / den) if float(den) > 1e-12 * max(1.0, float(num)) else math.nan


def pair_scores(emb: Tensor, src: Tensor, dst: Tensor, similarity: str) -> Tensor:
    """Similarity of the sample pairs ``(src[i], dst[i])``, as in
    :func:`pyg_sip.eval.retrieval.similarity_scores`."""
    if similarity == 'cosine':
        z = F.normalize(emb, dim=1)
        return (z[src] * z[dst]).sum(dim=1)
    if similarity == 'dot':
        return (emb[src] * emb[dst]).sum(dim=1)
    return -(emb[src] - emb[dst]).norm(dim=1)


def sample_non_edges(edge_index: Tensor, num_nodes: int, num_samples: int,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws :obj:`num_samples` ordered pairs :math:`(i, j)`, :math:`i \neq j`,
    uniformly (with replacement) among the pairs joined by no edge in either
    direction: rejection sampling in vectorised rounds with a membership test
    on the sorted edge keys :math:`i N + j`.

    Shapes:
        - **output:** :math:`[2, \text{num\_samples}]`
    """
    device = edge_index.device
    keys = sorted_edge_keys(edge_index, num_nodes, undirected=True)
    src, dst = split_keys(keys, num_nodes)
    num_linked = int((src != dst).sum())
    num_free = num_nodes * (num_nodes - 1) - num_linked
    if num_free <= 0:
        raise PygSipError('the graph is complete: there is no non-edge to sample')
    rate = num_free / float(num_nodes * num_nodes)
    out, have = [], 0
    while have < num_samples:
        draw = int((num_samples - have) / rate * 1.2) + 16
        i, j = torch.randint(num_nodes, (2, draw), generator=generator).to(device)
        keep = (i != j) & ~has_edges(keys, i, j, num_nodes)
        out.append(torch.stack([i[keep], j[keep]]))
        have += int(keep.sum())
    return torch.cat(out, dim=1)[:, :num_samples]


def graph_alignment(emb: Tensor, edge_index: Tensor, num_negatives: Optional[int] = None,
                    similarity: str = 'cosine', max_queries: Optional[int] = 10_000,
                    seed: int = 0, y: Optional[Tensor] = None) -> Dict[str, float]:
    r"""How well embedding similarity recovers the pre-training graph.

    * ``auroc``: AUROC of the similarity :math:`s(u, v)` of the edges
      against :obj:`num_negatives` uniformly sampled non-edges (pairs
      :math:`i \neq j` joined by no edge in either direction).
    * ``mrr``, ``hits@1``, ``hits@3``, ``hits@10``: every edge
      :math:`(u, v)` ranks :math:`v` among all samples other than :math:`u`
      and :math:`u`'s other neighbours (:func:`link_retrieval` in the filtered
      setting with :obj:`known_edges = edge_index`), over at most
      :obj:`max_queries` edges drawn without replacement.

    Self-loops are ignored.

    Args:
        emb (torch.Tensor): Sample embeddings.
        edge_index (torch.Tensor): The pre-training graph.
        num_negatives (int, optional): Sampled non-edges; the number of
            edges by default. (default: :obj:`None`)
        similarity (str, optional): ``'cosine'``, ``'dot'`` or
            ``'euclidean'``. (default: :obj:`'cosine'`)
        max_queries (int, optional): Cap on the ranked edges (:obj:`None`
            ranks all: cost :math:`O(E \cdot N)`). (default: :obj:`10000`)
        seed (int, optional): Seed of the sampling. (default: :obj:`0`)
        y (torch.Tensor, optional): Labels in the adapters' convention: if
            given, the samples without one (:obj:`-1`, or NaN) are left out,
            as in :func:`label_smoothness` (their edges are dropped and they
            are neither queries, candidates nor negatives).
            (default: :obj:`None`)

    Shapes:
        - **emb:** :math:`[N, d]`
        - **edge_index:** :math:`[2, E]`
        - **y:** :math:`[N]` or :math:`[N, T]`
    """
    emb = check_embeddings(emb)
    n = emb.size(0)
    edge_index = check_edges(edge_index, n).to(emb.device)
    check_choice('similarity', similarity, SIMILARITIES)
    check_positive('num_negatives', num_negatives, integer=True, optional=True)
    check_positive('max_queries', max_queries, integer=True, optional=True)
    if y is not None:
        keep = labelled_samples(y, n)[1].to(emb.device)
        if not bool(keep.all()):
            edge_index = subgraph(keep, edge_index, relabel_nodes=True, num_nodes=n)[0]
            emb, n = emb[keep], int(keep.sum())
    edge_index = remove_self_loops(edge_index)[0]
    if edge_index.size(1) == 0:
        raise PygSipError("'edge_index' holds no edge between two different samples")
    gen = torch.Generator().manual_seed(seed)
    num_edges = edge_index.size(1)
    neg = sample_non_edges(edge_index, n, num_negatives or num_edges, gen)
    scores = torch.cat([pair_scores(emb, *edge_index, similarity),
                        pair_scores(emb, *neg, similarity)])
    target = torch.cat([torch.ones(num_edges), torch.zeros(neg.size(1))]).to(emb.device)
    queries = edge_index
    if max_queries is not None and num_edges > max_queries:
        queries = edge_index[:, torch.randperm(num_edges, generator=gen)[:max_queries]
                             .to(emb.device)]
    ranks = retrieval_ranks(emb, queries[0], queries[1], edge_index, similarity)
    return {'auroc': auroc(scores, target), **rank_metrics(ranks)}
