import math

import numpy as np
import pytest
import torch
from torch_geometric.utils import homophily

from pyg_sip.errors import PygSipError
from pyg_sip.eval import graph_alignment, label_smoothness
from pyg_sip.eval.diagnostics import sample_non_edges


def _graph(seed, n=25, e=50):
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n, (2, e), generator=gen)  # directed, duplicates, loops
    y = torch.randint(0, 3, (n, ), generator=gen)
    return edge_index, y


def _undirected_pairs(edge_index):
    pairs = {(u, v) for u, v in edge_index.t().tolist() if u != v}
    return sorted(pairs | {(v, u) for u, v in pairs})


def test_label_smoothness_categorical_brute_force(device):
    edge_index, y = _graph(0)
    n = y.numel()
    out = label_smoothness(edge_index.to(device), y.to(device))
    pairs = _undirected_pairs(edge_index)
    yl = y.tolist()
    h = np.mean([yl[u] == yl[v] for u, v in pairs])
    nbrs = {v: [u for u, w in pairs if w == v] for v in range(n)}
    node_h = np.mean([np.mean([yl[u] == yl[v] for u in nb]) for v, nb in nbrs.items() if nb])
    deg = [len(nbrs[v]) for v in range(n)]
    pbar = [sum(deg[v] for v in range(n) if yl[v] == k) / len(pairs) for k in range(3)]
    adjusted = (h - sum(p * p for p in pbar)) / (1 - sum(p * p for p in pbar))
    assert out['edge_homophily'] == pytest.approx(h)
    assert out['node_homophily'] == pytest.approx(node_h)
    assert out['adjusted_homophily'] == pytest.approx(adjusted)
    # dense Laplacian reference for the degree-centred one-hot energy
    A = np.zeros((n, n))
    for u, v in pairs:
        A[u, v] = 1
    D = np.diag(A.sum(1))
    Y = np.eye(3)[yl]
    Yc = Y - (D @ Y).sum(0) / D.sum()
    energy = np.trace(Yc.T @ (D - A) @ Yc) / np.trace(Yc.T @ D @ Yc)
    assert out['dirichlet_energy'] == pytest.approx(energy)
    assert out['dirichlet_energy'] == pytest.approx(1 - adjusted)
    # PyG's edge homophily agrees on the symmetrised graph without self-loops
    assert out['edge_homophily'] == pytest.approx(homophily(torch.tensor(pairs).t(), y))


def test_label_smoothness_continuous_dense_reference():
    edge_index, _ = _graph(1)
    n = 25
    y = torch.randn(n, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    pairs = _undirected_pairs(edge_index)
    A = np.zeros((n, n))
    for u, v in pairs:
        A[u, v] = 1
    deg = A.sum(1)
    keep = deg > 0
    Dh = np.diag(np.sqrt(deg[keep]))
    L_sym = np.eye(keep.sum()) - np.diag(1 / np.sqrt(deg[keep])) @ A[keep][:, keep] @ \
        np.diag(1 / np.sqrt(deg[keep]))
    Y = y.numpy()
    Yc = Y - (deg[:, None] * Y).sum(0) / deg.sum()
    X = Dh @ Yc[keep]  # the L_sym form of the same quotient
    energy = np.trace(X.T @ L_sym @ X) / np.trace(X.T @ X)
    out = label_smoothness(edge_index, y)
    assert set(out) == {'dirichlet_energy'}
    assert out['dirichlet_energy'] == pytest.approx(energy)


def test_label_smoothness_extremes_and_errors():
    # two disjoint triangles, labels constant per triangle: perfectly smooth
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3]])
    out = label_smoothness(edge_index, torch.tensor([0, 0, 0, 1, 1, 1]))
    assert out['edge_homophily'] == 1 and out['adjusted_homophily'] == pytest.approx(1)
    assert out['dirichlet_energy'] == pytest.approx(0)
    assert label_smoothness(edge_index, torch.tensor([1., 1, 1, 5, 5, 5]))[
        'dirichlet_energy'] == pytest.approx(0)
    assert math.isnan(label_smoothness(edge_index, torch.ones(6))['dirichlet_energy'])
    with pytest.raises(PygSipError, match="'num_nodes' has 7 rows but 'y' has 6"):
        label_smoothness(edge_index, torch.zeros(6, dtype=torch.long), num_nodes=7)
    with pytest.raises(PygSipError, match=r'y\[2\] = -3'):
        label_smoothness(edge_index, torch.tensor([0, 0, -3, 1, 1, 1]))
    with pytest.raises(PygSipError, match=r'edge 0 = \(0, 9\)'):
        label_smoothness(torch.tensor([[0], [9]]), torch.zeros(6, dtype=torch.long))
    with pytest.raises(PygSipError, match='no edge'):
        label_smoothness(torch.tensor([[2], [2]]), torch.zeros(6, dtype=torch.long))
    with pytest.raises(PygSipError, match='row 4 contains inf'):
        label_smoothness(edge_index, torch.tensor([0., 1, 2, 3, float('inf'), 5]))
    with pytest.raises(PygSipError, match='no edge between two different labelled'):
        label_smoothness(edge_index, torch.tensor([0, -1, -1, -1, 1, -1]))


def test_sample_non_edges_are_non_edges():
    edge_index, _ = _graph(3, n=12, e=40)
    gen = torch.Generator().manual_seed(0)
    neg = sample_non_edges(edge_index, 12, 500, gen)
    linked = set(map(tuple, edge_index.t().tolist()))
    assert neg.shape == (2, 500)
    for i, j in neg.t().tolist():
        assert i != j and (i, j) not in linked and (j, i) not in linked
    # a complete graph but one pair: only that pair can be drawn
    full = torch.tensor([(i, j) for i in range(5) for j in range(5)
                         if i != j and {i, j} != {1, 3}]).t()
    assert set(map(tuple, sample_non_edges(full, 5, 20, gen).t().tolist())) <= {(1, 3), (3, 1)}
    with pytest.raises(PygSipError, match='complete'):
        sample_non_edges(torch.tensor([[0, 1], [1, 0]]), 2, 3, gen)


def test_graph_alignment_perfect_and_random():
    # three cliques, embeddings = one-hot clique id
    cliques = [list(range(0, 5)), list(range(5, 9)), list(range(9, 15))]
    edge_index = torch.tensor([(u, v) for c in cliques for u in c for v in c if u != v]).t()
    emb = torch.zeros(15, 3)
    for k, c in enumerate(cliques):
        emb[c, k] = 1.0
    out = graph_alignment(emb, edge_index)
    assert out['auroc'] == 1.0 and out['mrr'] == 1.0 and out['hits@1'] == 1.0
    rand = graph_alignment(torch.randn(15, 8, generator=torch.Generator().manual_seed(0)),
                           edge_index, num_negatives=2000, seed=1)
    assert 0.3 < rand['auroc'] < 0.7
    sub = graph_alignment(emb, edge_index, max_queries=7)  # queries drawn among the edges
    assert sub['mrr'] == 1.0


def test_graph_alignment_brute_force(device):
    edge_index, _ = _graph(4, n=15, e=30)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    emb = torch.randn(15, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    out = graph_alignment(emb.to(device), edge_index.to(device), num_negatives=40, seed=3,
                          max_queries=None)
    neg = sample_non_edges(edge_index, 15, 40, torch.Generator().manual_seed(3))
    x = emb.numpy()
    cos = (x @ x.T) / np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(x, axis=1))
    pos_s = [cos[u, v] for u, v in edge_index.t().tolist()]
    neg_s = [cos[u, v] for u, v in neg.t().tolist()]
    auc = np.mean([(p > q) + 0.5 * (p == q) for p in pos_s for q in neg_s])
    assert out['auroc'] == pytest.approx(auc)
    linked = set(map(tuple, edge_index.t().tolist()))
    ranks = [1 + sum(cos[u, w] > cos[u, v] for w in range(15)
                     if w not in (u, v) and (u, w) not in linked)
             for u, v in edge_index.t().tolist()]
    assert out['mrr'] == pytest.approx(np.mean(1 / np.array(ranks)))
    assert out['hits@10'] == pytest.approx(np.mean(np.array(ranks) <= 10))
    with pytest.raises(PygSipError, match="'max_queries' must be a positive integer"):
        graph_alignment(emb, edge_index, max_queries=0)


def _brute_force_categorical(pairs, yl, n):
    h = np.mean([yl[u] == yl[v] for u, v in pairs])
    nbrs = {v: [u for u, w in pairs if w == v] for v in range(n)}
    node_h = np.mean([np.mean([yl[u] == yl[v] for u in nb]) for v, nb in nbrs.items() if nb])
    deg = [len(nbrs[v]) for v in range(n)]
    classes = sorted({yl[v] for v in range(n)})
    pbar = [sum(deg[v] for v in range(n) if yl[v] == k) / len(pairs) for k in classes]
    p2 = sum(p * p for p in pbar)
    return h, node_h, (h - p2) / (1 - p2)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_missing_labels_are_left_out_brute_force(seed):
    edge_index, y = _graph(seed, n=30, e=90)
    gen = torch.Generator().manual_seed(seed + 10)
    missing = torch.rand(30, generator=gen) < 0.3
    y_missing = torch.where(missing, -1, y)
    out = label_smoothness(edge_index, y_missing)
    # reference: only edges between two labelled samples, in the original ids
    known = [i for i in range(30) if not missing[i]]
    pairs = [(u, v) for u, v in _undirected_pairs(edge_index) if u in known and v in known]
    yl = y.tolist()
    local = {v: i for i, v in enumerate(known)}
    h, node_h, adjusted = _brute_force_categorical(
        [(local[u], local[v]) for u, v in pairs], [yl[v] for v in known], len(known))
    assert out['edge_homophily'] == pytest.approx(h)
    assert out['node_homophily'] == pytest.approx(node_h)
    assert out['adjusted_homophily'] == pytest.approx(adjusted)
    # float targets: NaN rows are missing; dense Laplacian on the labelled part
    t = torch.randn(30, 2, generator=gen, dtype=torch.float64)
    t_missing = t.clone()
    t_missing[missing, 1] = float('nan')
    energy = label_smoothness(edge_index, t_missing)['dirichlet_energy']
    A = np.zeros((len(known), len(known)))
    for u, v in pairs:
        A[local[u], local[v]] = 1
    D = np.diag(A.sum(1))
    Y = t[known].numpy()
    Yc = Y - (D @ Y).sum(0) / D.sum()
    ref = np.trace(Yc.T @ (D - A) @ Yc) / np.trace(Yc.T @ D @ Yc)
    assert energy == pytest.approx(ref)


def test_graph_alignment_leaves_unlabelled_samples_out():
    edge_index, y = _graph(4, n=30, e=90)
    emb = torch.randn(30, 8, generator=torch.Generator().manual_seed(0))
    missing = torch.zeros(30, dtype=torch.bool)
    missing[::4] = True
    known = (~missing).nonzero().view(-1).tolist()
    local = {v: i for i, v in enumerate(known)}
    kept = [(local[u], local[v]) for u, v in edge_index.t().tolist()
            if u in local and v in local]
    ref = graph_alignment(emb[known], torch.tensor(kept).t(), seed=3)
    for labels in (torch.where(missing, -1, y),
                   torch.where(missing, float('nan'), y.double())):
        assert graph_alignment(emb, edge_index, seed=3, y=labels) == pytest.approx(ref)
    assert graph_alignment(emb, edge_index, seed=3, y=y) == pytest.approx(
        graph_alignment(emb, edge_index, seed=3))
