import math
import random

import networkx as nx
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.sampling import CSRGraph, NegativeSampler


@pytest.fixture(autouse=True)
def single_thread():  # small kernels: thread start-up would dominate
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def random_graph(seed, n=60, p=0.06, hub=True, isolated=4):
    """A G(n, p) graph with a hub linked to 80% of the nodes and a few
    isolated nodes; returns the networkx graph and the CSR graph."""
    G = nx.gnp_random_graph(n, p, seed=seed)
    rng = random.Random(seed)
    if hub:
        G.add_edges_from((0, j) for j in rng.sample(range(1, n), int(0.8 * n)))
    G.remove_edges_from(list(G.edges(range(n - isolated, n))))
    return G, csr_of(G, n)


def csr_of(G, n):
    edges = [(i, j) for i, j in G.edges()] + [(j, i) for i, j in G.edges()]
    edge_index = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    return CSRGraph(edge_index, n, remove_self_loops=True)


def chi2_bound(df, z=3.72):  # Wilson-Hilferty quantile, p ~ 1e-4
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def check(G, anchor, neg, mask, k, universe):
    """Brute force: distinct, valid, min(k, |C(a)|) negatives per anchor."""
    neg, mask = neg.tolist(), mask.tolist()
    for b, a in enumerate(anchor.tolist()):
        got = [c for c, m in zip(neg[b], mask[b]) if m]
        nbrs = set(G[a])
        if not nbrs:
            assert got == []
            continue
        cand = universe(a) - nbrs - {a}
        assert len(got) == len(set(got))
        assert set(got) <= cand
        assert len(got) == min(k, len(cand))


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('num_rounds', [0, 1, 8])
@pytest.mark.parametrize('policy', ['uniform', 'degree', 'group', 'in_batch'])
def test_negatives_are_distinct_non_neighbours(seed, num_rounds, policy):
    G, csr = random_graph(seed)
    n = csr.num_nodes
    group = torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(seed))
    sampler = NegativeSampler(csr, policy, group=group, num_rounds=num_rounds)
    anchor = torch.arange(n)
    batch_nodes = torch.randint(0, n, (25,)) if policy == 'in_batch' else None
    gen = torch.Generator().manual_seed(seed)
    groups = group.tolist()
    universe = {
        'uniform': lambda a: set(range(n)),
        'degree': lambda a: {j for j in range(n) if G.degree(j) > 0},
        'group': lambda a: {j for j in range(n) if groups[j] == groups[a]},
        'in_batch': lambda a: set(batch_nodes.tolist()),
    }[policy]
    for k in [1, 5, 70]:  # 70 > N: every anchor takes all candidates
        neg, mask = sampler(anchor, k, gen, batch_nodes=batch_nodes)
        assert neg.shape == mask.shape == (n, k)
        check(G, anchor, neg, mask, k, universe)


@pytest.mark.parametrize('n,p', [(3, 1.0), (4, 0.7), (6, 0.8), (8, 0.9)])
def test_tiny_dense_graphs_take_all_available(n, p):
    for seed in range(5):
        G = nx.gnp_random_graph(n, p, seed=seed)
        csr = csr_of(G, n)
        for policy in ['uniform', 'degree', 'hard']:
            sampler = NegativeSampler(csr, policy)
            neg, mask = sampler(torch.arange(n), 3, torch.Generator().manual_seed(seed))
            touched = {j for j in range(n) if G.degree(j) > 0}
            universe = ((lambda a, touched=touched: touched)
                        if policy == 'degree' else (lambda a: set(range(n))))
            check(G, torch.arange(n), neg, mask, 3, universe)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('num_rounds', [0, 8])
def test_hard_negatives_at_distance_two_then_uniform(seed, num_rounds):
    G, csr = random_graph(seed, n=50, p=0.05)
    n = csr.num_nodes
    sampler = NegativeSampler(csr, 'hard', num_rounds=num_rounds)
    gen = torch.Generator().manual_seed(seed)
    for k in [2, 6, 40]:
        neg, mask = sampler(torch.arange(n), k, gen)
        for a in range(n):
            got = neg[a][mask[a]].tolist()
            nbrs = set(G[a])
            if not nbrs:
                assert got == []
                continue
            dist = nx.single_source_shortest_path_length(G, a, cutoff=2)
            two_hop = {j for j, d in dist.items() if d == 2}
            assert len(got) == len(set(got))
            assert not set(got) & (nbrs | {a})
            if len(two_hop) >= k:
                assert len(got) == k and set(got) <= two_hop
            else:  # all of distance 2, then uniform non-neighbours
                assert two_hop <= set(got)
                assert len(got) == min(k, n - 1 - len(nbrs))


def test_isolated_anchors_get_no_negatives():
    G, csr = random_graph(0, isolated=10)
    anchor = torch.arange(50, 60)
    for policy in ['uniform', 'degree', 'hard']:
        _, mask = NegativeSampler(csr, policy)(anchor, 4)
        assert not mask.any()


def test_group_negatives_share_the_anchor_group():
    G, csr = random_graph(3, n=80)
    group = torch.arange(80) % 4 * 10 - 7  # arbitrary group values
    neg, mask = NegativeSampler(csr, 'group', group=group)(torch.arange(80), 6)
    same = group[neg] == group.view(-1, 1)
    assert same[mask].all()


def test_uniform_and_exact_fallback_are_uniform():
    # One anchor, few candidates: each is kept with probability k / |C|, both
    # by rejection rounds and by the exact enumeration.
    G = nx.complete_graph(12)
    G.remove_edges_from([(0, j) for j in range(1, 6)])  # C(0) = {1..5}
    csr = csr_of(G, 12)
    trials, k = 4000, 2
    for num_rounds in [0, 8]:
        neg, mask = NegativeSampler(csr, num_rounds=num_rounds)(
            torch.zeros(trials, dtype=torch.long), k,
            torch.Generator().manual_seed(0))
        assert mask.all()
        counts = torch.bincount(neg.view(-1), minlength=12)[1:6].double()
        expected = trials * k / 5
        stat = float(((counts - expected) ** 2 / expected).sum())
        assert stat < chi2_bound(4)
        pairs = neg.sort(dim=1)[0]
        assert (pairs[:, 0] != pairs[:, 1]).all()


def test_group_policy_is_uniform_within_group():
    G, csr = random_graph(4, n=60, p=0.1)
    group = torch.arange(60) % 2
    anchor, trials = 2, 6000
    neg, mask = NegativeSampler(csr, 'group', group=group)(
        torch.full((trials,), anchor), 1, torch.Generator().manual_seed(0))
    cand = [j for j in range(0, 60, 2) if j != anchor and j not in G[anchor]]
    counts = torch.bincount(neg[mask], minlength=60).double()
    assert counts[cand].sum() == trials
    expected = trials / len(cand)
    stat = float(((counts[cand] - expected) ** 2 / expected).sum())
    assert stat < chi2_bound(len(cand) - 1)


@pytest.mark.parametrize('num_rounds', [0, 8])
@pytest.mark.parametrize('weights', [None, 'custom'])
def test_degree_policy_frequencies(weights, num_rounds):
    G, csr = random_graph(5, n=40, p=0.1)
    n, anchor = 40, 1
    w = csr.degree.double().pow(0.75)
    if weights == 'custom':
        w = torch.rand(n, generator=torch.Generator().manual_seed(1)) + 0.1
        w[7] = 0.0
    sampler = NegativeSampler(csr, 'degree', num_rounds=num_rounds,
                              weights=None if weights is None else w)
    trials = 20000
    neg, mask = sampler(torch.full((trials,), anchor), 1,
                        torch.Generator().manual_seed(0))
    assert mask.all()
    cand = [j for j in range(n) if j != anchor and j not in G[anchor] and w[j] > 0]
    counts = torch.bincount(neg.view(-1), minlength=n).double()
    assert counts.sum() == counts[cand].sum() == trials
    expected = trials * w[cand] / w[cand].sum()
    stat = float(((counts[cand] - expected) ** 2 / expected).sum())
    assert stat < chi2_bound(len(cand) - 1)


def test_errors_and_repr():
    _, csr = random_graph(0)
    with pytest.raises(PygSipError, match='nearest'):
        NegativeSampler(csr, 'nearest')
    with pytest.raises(PygSipError, match="'group'"):
        NegativeSampler(csr, 'group')
    with pytest.raises(PygSipError, match='one entry per node'):
        NegativeSampler(csr, 'degree', weights=torch.ones(3))
    with pytest.raises(PygSipError, match='node 2'):
        NegativeSampler(csr, 'degree',
                        weights=torch.tensor([1.0, 1.0, -1.0] + [1.0] * 57))
    with pytest.raises(PygSipError, match="only used by the 'degree'"):
        NegativeSampler(csr, 'uniform', weights=torch.ones(60))
    with pytest.raises(PygSipError, match='batch_nodes'):
        NegativeSampler(csr, 'in_batch')(torch.arange(3), 2)
    assert repr(NegativeSampler(csr, 'hard')) == "NegativeSampler(policy='hard')"


def walk_law(G, a):
    """Brute force: the law of the 2-step walk a -> u -> j restricted to the
    nodes at distance exactly 2, q(j) ~ sum_u 1 / deg(u)."""
    q = {}
    for u in G[a]:
        for j in G[u]:
            if j != a and j not in G[a]:
                q[j] = q.get(j, 0.0) + 1.0 / G.degree(u) / G.degree(a)
    total = sum(q.values())
    return {j: w / total for j, w in q.items()}


@pytest.mark.parametrize('num_rounds', [0, 8])  # exact enumeration / rejection
@pytest.mark.parametrize('k', [1, 2])
def test_hard_policy_follows_the_walk_law(num_rounds, k):
    G = nx.Graph([(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (2, 5), (2, 6),
                  (3, 6), (3, 7), (3, 8), (4, 9), (6, 9), (7, 8)])
    n = G.number_of_nodes()
    p = walk_law(G, 0)  # nodes 4..8, 5 and 6 reached twice
    sampler = NegativeSampler(csr_of(G, n), 'hard', num_rounds=num_rounds)
    trials = 6000
    neg, mask = sampler(torch.zeros(trials, dtype=torch.long), k,
                        torch.Generator().manual_seed(k))
    assert mask.all()
    if k == 1:
        cells = sorted(p)
        expected = {(j, ): p[j] for j in cells}
        got = [(j, ) for j in neg.view(-1).tolist()]
    else:  # successive sampling without replacement, as unordered pairs
        expected = {}
        for i in p:
            for j in p:
                if i < j:
                    expected[(i, j)] = (p[i] * p[j] / (1 - p[i]) +
                                        p[j] * p[i] / (1 - p[j]))
        got = [tuple(sorted(row)) for row in neg.tolist()]
    counts = {cell: 0 for cell in expected}
    for cell in got:
        counts[cell] += 1  # a KeyError would be a negative outside the law
    stat = sum((counts[c] - trials * e) ** 2 / (trials * e) for c, e in expected.items())
    assert stat < chi2_bound(len(expected) - 1)
