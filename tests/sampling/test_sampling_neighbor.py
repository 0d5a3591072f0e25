import random
from collections import Counter

import pytest
import torch

from pyg_sip.sampling import CSRGraph, sample_neighbors, sample_positives
from pyg_sip.sampling.neighbor import remove_pairs


@pytest.fixture(autouse=True)
def single_thread():  # small kernels: thread start-up would dominate
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def random_graph(seed, n=80, e=200, directed=False):
    """Random edges plus a hub (node 0) and isolated nodes n-5..n-1."""
    rng = random.Random(seed)
    edges = {(rng.randrange(n - 5), rng.randrange(n - 5)) for _ in range(e)}
    edges |= {(0, j) for j in rng.sample(range(1, n - 5), n // 2)}
    edges = {(i, j) for i, j in edges if i != j}
    if not directed:
        edges |= {(j, i) for i, j in edges}
    edge_index = torch.tensor(sorted(edges)).t()
    return edges, edge_index


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_positives_are_distinct_neighbours(seed):
    edges, edge_index = random_graph(seed)
    g = CSRGraph(edge_index, 80, remove_self_loops=True)
    nbrs = {i: {j for s, j in edges if s == i} for i in range(80)}
    anchor = torch.arange(80)
    for k in [0, 1, 3, 50]:
        pos, mask = sample_positives(g.rowptr, g.col, anchor, k,
                                     torch.Generator().manual_seed(seed))
        for a in range(80):
            got = pos[a][mask[a]].tolist()
            assert len(got) == len(set(got)) == min(k, len(nbrs[a]))
            assert set(got) <= nbrs[a]


def test_positives_are_uniform():
    _, edge_index = random_graph(0)
    g = CSRGraph(edge_index, 80)
    pos, _ = sample_positives(g.rowptr, g.col, torch.zeros(9000, dtype=torch.long),
                              1, torch.Generator().manual_seed(0))
    counts = Counter(pos.view(-1).tolist())
    assert len(counts) == int(g.degree[0])
    expected = 9000 / len(counts)
    assert all(abs(c - expected) < 5 * expected ** 0.5 for c in counts.values())


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('directed', [False, True])
@pytest.mark.parametrize('num_neighbors', [[3], [2, 4], [-1, 2], [5, -1, 1], []])
def test_sample_neighbors_brute_force(seed, directed, num_neighbors):
    edges, edge_index = random_graph(seed, directed=directed)
    g = CSRGraph(edge_index.flip(0), 80)  # rows: message targets
    senders = {i: {s for s, t in edges if t == i} for i in range(80)}
    start = torch.tensor([0, 5, 77, 12, 40, 78])  # hub and isolated nodes
    n_id, ei = sample_neighbors(g.rowptr, g.col, start, num_neighbors,
                                torch.Generator().manual_seed(seed))
    assert n_id[:6].tolist() == start.tolist()
    assert len(set(n_id.tolist())) == n_id.numel()
    src, dst = n_id[ei[0]].tolist(), n_id[ei[1]].tolist()
    assert all(s in senders[t] for s, t in zip(src, dst))  # messages s -> t
    assert len(set(zip(src, dst))) == len(src)
    # Hop h samples the nodes first reached at hop h - 1, in order.
    frontier, seen, hop_of = list(range(6)), 6, {}
    for h in range(len(num_neighbors)):
        for t in frontier:
            hop_of[t] = h
        new = sorted({s for s, t in zip(ei[0].tolist(), ei[1].tolist())
                      if t in frontier and s >= seen})
        assert new == list(range(seen, seen + len(new)))
        frontier, seen = new, seen + len(new)
    assert seen == n_id.numel()
    indeg = Counter(ei[1].tolist())
    for t in range(n_id.numel()):
        if t not in hop_of:
            assert indeg[t] == 0
            continue
        k, deg = num_neighbors[hop_of[t]], len(senders[int(n_id[t])])
        assert indeg[t] == (deg if k < 0 else min(k, deg))


def test_remove_pairs_both_directions():
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 2, 0], [1, 0, 2, 1, 2, 3, 3]])
    pairs = torch.tensor([[0, 3], [1, 2]])
    out = remove_pairs(edge_index, pairs, 4)
    banned = {(0, 1), (1, 0), (3, 2), (2, 3)}
    expected = [e for e in edge_index.t().tolist() if tuple(e) not in banned]
    assert out.t().tolist() == expected
