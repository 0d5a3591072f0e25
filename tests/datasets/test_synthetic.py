import itertools
import math

import numpy as np
import pytest
import torch

from pyg_sip.datasets.synthetic import (
    GraphletTopology,
    ManifoldGraph,
    NoisyCliques,
    ego_membership,
    geodesic_distance,
    graphlet_edges,
    kmeans,
    rooted_subgraph_counts,
    sample_token_sequences,
)
from pyg_sip.errors import PygSipError

SMALL = dict(seq_length=(5, 9), vocab_size=40)


# ---------------------------------------------------------------- references
def edge_set(graph):
    return set(map(tuple, graph.edge_index.t().tolist()))


def edge_homophily(graph, y):
    y = y.tolist()
    pairs = graph.edge_index.t().tolist()
    return sum(y[i] == y[j] for i, j in pairs) / len(pairs)


def bag_of_words(graph):
    lengths = graph.seq_lengths().tolist()
    ptr = np.concatenate([[0], np.cumsum(lengths)])
    tokens = graph.tokens.numpy()
    x = np.zeros((graph.num_nodes, graph.vocab_size))
    for i in range(graph.num_nodes):
        np.add.at(x[i], tokens[ptr[i]:ptr[i + 1]], 1.0)
    return x


def binary_auroc(score, positive):
    # probability that a random positive outranks a random negative (ties 1/2)
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return greater + 0.5 * ties


def knn_auroc(x, y, k=3):
    """Leave-one-out distance-weighted k-NN (cosine) one-vs-rest macro AUROC."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    y = np.asarray(y)
    classes = np.unique(y)
    prob = np.zeros((len(y), len(classes)))
    for i in range(len(y)):
        nbr = np.argsort(-sim[i], kind='stable')[:k]
        w = 1.0 / np.maximum(1.0 - sim[i, nbr], 1e-9)
        for j, wj in zip(nbr, w):
            prob[i, np.searchsorted(classes, y[j])] += wj
    prob /= prob.sum(1, keepdims=True)
    return float(np.mean([binary_auroc(prob[:, c], y == cls) for c, cls in enumerate(classes)]))


def check_sample_graph(graph, vocab_size, seq_length):
    graph.validate()
    assert graph.payload_kind == 'tokens'
    assert graph.vocab_size == vocab_size and graph.pad_id == 0
    assert int(graph.tokens.min()) >= 4 and int(graph.tokens.max()) < vocab_size
    lengths = graph.seq_lengths()
    assert lengths.numel() == graph.num_nodes
    assert int(lengths.min()) >= seq_length[0] and int(lengths.max()) <= seq_length[1]
    assert lengths.unique().numel() > 1  # ragged
    r, c = graph.edge_index
    assert bool((r != c).all())
    assert edge_set(graph) == {(j, i) for i, j in edge_set(graph)}
    ids, mask = graph.gather(torch.tensor([0, 1]))
    assert ids.size(0) == 2 and mask.dtype == torch.bool


def assert_same(a, b):
    for key in ('edge_index', 'tokens', 'y'):
        assert torch.equal(a.graph[key], b.graph[key])
    assert torch.equal(a.graph.seq_lengths(), b.graph.seq_lengths())
    assert a.label_sets.keys() == b.label_sets.keys()
    for key in a.label_sets:
        assert torch.equal(a.label_sets[key], b.label_sets[key])


# ---------------------------------------------------------------- topic model
def test_token_sequences_follow_mixture():
    g = torch.Generator().manual_seed(0)
    topics = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.5, 0.5]], dtype=torch.float64)
    background = torch.full((4, ), 0.25, dtype=torch.float64)
    mixture = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64).repeat(2000, 1)
    tokens, ptr = sample_token_sequences(mixture, topics, background, 0.6, (3, 7), g)
    lengths = (ptr[1:] - ptr[:-1]).numpy()
    assert ptr[-1] == tokens.numel() and lengths.min() == 3 and lengths.max() == 7
    owner = np.repeat(np.arange(4000), lengths)
    toks = tokens.numpy() - 4
    for row in (0, 1):
        freq = np.bincount(toks[owner % 2 == row], minlength=4) / (owner % 2 == row).sum()
        expect = 0.6 * (mixture[row] @ topics).numpy() + 0.4 * 0.25
        assert np.abs(freq - expect).max() < 0.02


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize('make', [
    lambda: NoisyCliques(noise=1.5),
    lambda: NoisyCliques(num_cliques=0),
    lambda: NoisyCliques(seq_length=(9, 3)),
    lambda: NoisyCliques(signal=-0.1),
    lambda: NoisyCliques(vocab_size=5),
    lambda: ManifoldGraph('cube'),
    lambda: ManifoldGraph('plane', radius=-1.0),
    lambda: GraphletTopology(align_to='role'),
    lambda: GraphletTopology(num_cycle_nodes=4, num_graphlets=5),
])
def test_invalid_arguments(make):
    with pytest.raises(PygSipError):
        make()


# ---------------------------------------------------------------- cliques
def test_cliques_noise_free_are_exact_cliques():
    data = NoisyCliques(num_cliques=4, clique_size=6, seed=3, **SMALL)
    check_sample_graph(data.graph, 40, (5, 9))
    y = data.graph.y.tolist()
    expected = {(i, j) for i in range(24) for j in range(24) if i != j and y[i] == y[j]}
    assert edge_set(data.graph) == expected
    assert sorted(y) == [c for c in range(4) for _ in range(6)]
    assert torch.equal(data.label_sets['topic'], data.graph.y)
    # the tokenizer reads the sample text back into the stored tokens
    first = data.graph.tokens[:int(data.graph.seq_lengths()[0])].tolist()
    text = data.tokenizer.decode(first)
    assert text.startswith('w') and data.tokenizer.encode(text) == first
    assert data.tokenizer.vocab_size == data.graph.vocab_size


def test_cliques_noise_rate():
    data = NoisyCliques(num_cliques=10, clique_size=20, noise=0.1, seed=1, **SMALL)
    y = data.graph.y.tolist()
    edges = edge_set(data.graph)
    same = sum(1 for i, j in edges if y[i] == y[j])
    cross = sum(1 for i, j in edges if y[i] != y[j] and i < j)
    assert same == 10 * 20 * 19  # cliques stay complete
    num_cross_pairs = math.comb(200, 2) - 10 * math.comb(20, 2)
    sd = math.sqrt(0.1 * 0.9 / num_cross_pairs)
    assert abs(cross / num_cross_pairs - 0.1) < 5 * sd


def test_cliques_deterministic_and_repr():
    a, b = NoisyCliques(noise=0.05, seed=7), NoisyCliques(noise=0.05, seed=7)
    assert_same(a, b)
    c = NoisyCliques(noise=0.05, seed=8)
    assert not torch.equal(a.graph.tokens[:50], c.graph.tokens[:50])
    assert repr(a) == ('NoisyCliques(num_cliques=10, clique_size=20, noise=0.05, '
                       f'num_samples=200, num_edges={a.graph.edge_index.size(1) // 2}, '
                       'signal=0.13, vocab_size=200, seed=7)')


def test_cliques_text_weak_graph_strong():
    aurocs = []
    for seed in range(3):
        data = NoisyCliques(seed=seed)
        check_sample_graph(data.graph, 200, (20, 40))
        assert edge_homophily(data.graph, data.graph.y) == 1.0
        aurocs.append(knn_auroc(bag_of_words(data.graph), data.graph.y.numpy()))
    assert 0.55 < np.mean(aurocs) < 0.72, aurocs


# ---------------------------------------------------------------- manifolds
R = 1.0 / (2.0 * math.sqrt(math.pi))


def reference_distance(kind, p, q):
    if kind == 'plane':
        return math.dist(p, q)
    if kind == 'sphere':
        chord = math.dist(p, q)
        return 2 * R * math.asin(min(1.0, chord / (2 * R)))
    if kind == 'torus':
        return min(math.dist(p, (q[0] + a, q[1] + b)) for a in (-1, 0, 1) for b in (-1, 0, 1))
    return min(math.dist(p, (q[0] + k, (-1)**k * q[1])) for k in range(-2, 3))


@pytest.mark.parametrize('kind', ['plane', 'sphere', 'torus', 'mobius'])
def test_manifold_radius_graph_brute_force(kind):
    data = ManifoldGraph(kind, num_samples=70, radius=0.2, seed=2, **SMALL)
    check_sample_graph(data.graph, 40, (5, 9))
    pos = data.pos.tolist()
    if kind == 'sphere':
        assert torch.allclose(data.pos.norm(dim=1), torch.full((70, ), R, dtype=data.pos.dtype))
    else:
        assert 0 <= min(p[0] for p in pos) and max(p[0] for p in pos) < 1
        lo = -0.5 if kind == 'mobius' else 0.0
        assert lo <= min(p[1] for p in pos) and max(p[1] for p in pos) <= lo + 1
    dist = {(i, j): reference_distance(kind, pos[i], pos[j])
            for i in range(70) for j in range(70) if i != j}
    expected = {e for e, d in dist.items() if d <= 0.2}
    got = edge_set(data.graph)
    assert all(abs(dist[e] - 0.2) < 1e-9 for e in got ^ expected)
    assert len(expected) > 70
    d = geodesic_distance(kind, data.pos, data.pos)
    ref = np.array([[0.0 if i == j else dist[i, j] for j in range(70)] for i in range(70)])
    assert np.allclose(d.numpy(), ref, atol=1e-7)
    # label = nearest topic centre
    centres = data.centres.tolist()
    nearest = [min(range(len(centres)), key=lambda k: reference_distance(kind, p, centres[k]))
               for p in pos]
    assert data.graph.y.tolist() == nearest


@pytest.mark.parametrize('kind', ['plane', 'sphere', 'torus', 'mobius'])
def test_manifold_labels_smooth_text_weak(kind):
    data = ManifoldGraph(kind, seed=0)
    y = data.graph.y
    assert y.unique().numel() == 6 and int(torch.bincount(y).min()) >= 20
    assert edge_homophily(data.graph, y) > 0.75
    assert 0.55 < knn_auroc(bag_of_words(data.graph), y.numpy()) < 0.75
    assert torch.allclose(data.topic_mixture.sum(1), torch.ones(300, dtype=torch.float64))


def test_manifold_deterministic_and_repr():
    a, b = ManifoldGraph('torus', seed=4, **SMALL), ManifoldGraph('torus', seed=4, **SMALL)
    assert_same(a, b)
    assert torch.equal(a.pos, b.pos)
    assert repr(a).startswith("ManifoldGraph(kind='torus', radius=0.1, num_topics=6, "
                              'topic_width=0.15, num_samples=300, num_edges=')


# ---------------------------------------------------------------- topology
def test_graphlet_atlas_matches_networkx():
    nx = pytest.importorskip('networkx')
    atlas = [g for g in nx.graph_atlas_g()
             if 0 < g.number_of_nodes() <= 6 and nx.is_connected(g)]
    assert len(atlas) == 143
    pairs, owner = graphlet_edges(torch.arange(143))
    for k, g in enumerate(atlas):
        mine = {tuple(p) for p in pairs[owner == k].tolist()}
        assert mine == {tuple(sorted(e)) for e in g.edges()}


def test_topology_structure():
    nx = pytest.importorskip('networkx')
    atlas = [g for g in nx.graph_atlas_g()
             if 0 < g.number_of_nodes() <= 6 and nx.is_connected(g)]
    data = GraphletTopology(num_cycle_nodes=20, num_graphlets=5, seed=5, **SMALL)
    check_sample_graph(data.graph, 40, (5, 9))
    graph = nx.Graph(list(edge_set(data.graph)))
    motif = data.label_sets['motif'].tolist()
    assert data.graph.num_nodes == 20 + sum(atlas[k].number_of_nodes()
                                            for k in data.graphlets.tolist())
    cycle = graph.subgraph(range(20))
    assert nx.is_isomorphic(cycle, nx.cycle_graph(20)) and all(
        cycle.has_edge(i, (i + 1) % 20) for i in range(20))
    start = 20
    for g, k in enumerate(data.graphlets.tolist()):
        n = atlas[k].number_of_nodes()
        nodes = list(range(start, start + n))
        assert motif[start:start + n] == [g + 1] * n
        sub = nx.relabel_nodes(graph.subgraph(nodes).copy(), {v: v - start for v in nodes})
        sub.add_nodes_from(range(n))
        assert set(map(frozenset, sub.edges())) == set(map(frozenset, atlas[k].edges()))
        outside = [(u, v) for u in nodes for v in graph[u] if v not in nodes]
        assert len(outside) == 1 and outside[0][1] == g * 20 // 5
        start += n
    assert motif[:20] == [0] * 20
    assert graph.number_of_edges() == 20 + 5 + sum(atlas[k].number_of_edges()
                                                   for k in data.graphlets.tolist())


def test_rooted_subgraph_counts_brute_force():
    nx = pytest.importorskip('networkx')
    g = nx.gnp_random_graph(11, 0.45, seed=3)
    adj = torch.from_numpy(nx.to_numpy_array(g, nodelist=range(11)) > 0)
    got = rooted_subgraph_counts(adj).numpy()
    for v in range(11):
        nbr = list(g[v])
        d = len(nbr)
        tri = sum(1 for a, b in itertools.combinations(nbr, 2) if g.has_edge(a, b))
        paths = {2: 0, 3: 0}
        for a in nbr:
            for b in g[a]:
                if b == v:
                    continue
                paths[2] += 1
                paths[3] += sum(1 for c in g[b] if c not in (v, a))
        cycles = {frozenset([(v, a), (a, b), (b, c), (c, v)])
                  for a in nbr for b in g[a] for c in g[b]
                  if len({v, a, b, c}) == 4 and g.has_edge(c, v)}
        ref = [d, math.comb(d, 2), math.comb(d, 3), tri, paths[2], paths[3], len(cycles) / 2]
        assert np.allclose(got[v], ref), (v, got[v], ref)


def test_ego_membership_and_kmeans():
    nx = pytest.importorskip('networkx')
    g = nx.gnp_random_graph(15, 0.15, seed=1)
    adj = torch.from_numpy(nx.to_numpy_array(g, nodelist=range(15)) > 0)
    reach = ego_membership(adj, 2)
    for v in range(15):
        ref = set(nx.single_source_shortest_path_length(g, v, cutoff=2))
        assert set(reach[v].nonzero().view(-1).tolist()) == ref
    gen = torch.Generator().manual_seed(0)
    blobs = torch.cat([torch.randn(20, 2, generator=gen) * 0.1 + torch.tensor(c)
                       for c in ([0, 0], [5, 0], [0, 5])])
    labels = kmeans(blobs, 3, generator=torch.Generator().manual_seed(1))
    assert labels.tolist() == [0] * 20 + [1] * 20 + [2] * 20


def test_topology_label_smoothness_and_alignment():
    homophily = {key: [] for key in ('motif', 'structural', 'ego')}
    for seed in range(3):
        data = GraphletTopology(align_to='structural', seed=seed)
        check_sample_graph(data.graph, 200, (20, 40))
        assert torch.equal(data.graph.y, data.label_sets['structural'])
        assert data.label_sets['structural'].unique().numel() == 3
        assert data.label_sets['ego'].unique().numel() == 4
        for key, y in data.label_sets.items():
            homophily[key].append(edge_homophily(data.graph, y))
    mean = {key: np.mean(v) for key, v in homophily.items()}
    assert mean['motif'] > 0.85 and mean['ego'] > 0.85
    assert mean['structural'] < 0.7


def test_topology_text_follows_align_to_and_deterministic():
    a = GraphletTopology(align_to='ego', seed=1)
    assert_same(a, GraphletTopology(align_to='ego', seed=1))
    assert torch.equal(a.graph.y, a.label_sets['ego'])
    bow = bag_of_words(a.graph)
    assert knn_auroc(bow, a.label_sets['ego'].numpy()) > 0.6
    assert repr(a).startswith("GraphletTopology(num_cycle_nodes=36, num_graphlets=9, "
                              "align_to='ego', num_samples=")
