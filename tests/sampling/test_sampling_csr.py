import itertools
import math

import pytest
import torch

from pyg_sip.sampling import CSRGraph, sample_without_replacement
from pyg_sip.sampling.csr import expand_segments


def random_edges(seed, n, e):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (2, e), generator=gen)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('remove_self_loops', [False, True])
def test_csr_matches_edge_set(seed, remove_self_loops):
    n = 30
    edge_index = random_edges(seed, n, 120)  # duplicates and self-loops
    edges = set(map(tuple, edge_index.t().tolist()))
    if remove_self_loops:
        edges = {(i, j) for i, j in edges if i != j}
    g = CSRGraph(edge_index, n, remove_self_loops=remove_self_loops)
    assert g.num_edges == len(edges)
    for i in range(n):
        row = g.col[g.rowptr[i]:g.rowptr[i + 1]].tolist()
        assert row == sorted(j for (s, j) in edges if s == i)
        assert g.degree[i] == len(row)
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
    expected = torch.tensor([[(i, j) in edges for j in range(n)] for i in range(n)])
    assert torch.equal(g.has_edge(src, dst), expected)
    nodes = torch.tensor([3, 7, 3, 12])
    keys = g.edge_keys_of(nodes)
    assert torch.equal(g.has_edge(src[[3, 7, 12]], dst[[3, 7, 12]], keys),
                       expected[[3, 7, 12]])
    seg, nbr = g.neighbors(nodes)
    for b, i in enumerate(nodes.tolist()):
        assert nbr[seg == b].tolist() == sorted(j for (s, j) in edges if s == i)
    assert 'num_nodes=30' in repr(g)


def test_empty_graph_and_segments():
    g = CSRGraph(torch.empty(2, 0, dtype=torch.long), 4)
    assert g.num_edges == 0 and g.rowptr.tolist() == [0] * 5
    assert not g.has_edge(torch.tensor([0, 1]), torch.tensor([1, 2])).any()
    ptr = torch.tensor([0, 2, 2, 5])
    seg, pos = expand_segments(ptr, torch.tensor([2, 0, 1, 2]))
    assert seg.tolist() == [0, 0, 0, 1, 1, 3, 3, 3]
    assert pos.tolist() == [2, 3, 4, 0, 1, 2, 3, 4]


def test_sample_without_replacement_support():
    count = torch.tensor([0, 1, 3, 4, 10, 1000])
    gen = torch.Generator().manual_seed(0)
    for k in [0, 1, 3, 7]:
        index, mask = sample_without_replacement(count, k, gen)
        assert index.shape == mask.shape == (6, k)
        for b, c in enumerate(count.tolist()):
            got = index[b][mask[b]].tolist()
            assert len(got) == min(k, c) == len(set(got))
            assert all(0 <= t < c for t in got)


def test_sample_without_replacement_is_uniform_over_subsets():
    c, k, trials = 6, 3, 12000
    index, mask = sample_without_replacement(
        torch.full((trials,), c), k, torch.Generator().manual_seed(0))
    assert mask.all()
    subsets = list(itertools.combinations(range(c), k))
    key = {s: i for i, s in enumerate(subsets)}
    counts = torch.zeros(len(subsets))
    for row in index.sort(dim=1)[0].tolist():
        counts[key[tuple(row)]] += 1
    expected = trials / len(subsets)
    stat = float(((counts - expected) ** 2 / expected).sum())
    df = len(subsets) - 1  # Wilson-Hilferty quantile, p ~ 1e-4
    assert stat < df * (1 - 2 / (9 * df) + 3.72 * math.sqrt(2 / (9 * df))) ** 3
