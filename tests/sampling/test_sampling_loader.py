import random

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.sampling import StructureLoader


@pytest.fixture(autouse=True)
def single_thread():  # small kernels: thread start-up would dominate
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def make_graph(seed, n=70, p=0.06, isolated=5, **kwargs):
    """G(n, p) with a hub (node 0) and isolated nodes n-5..n-1."""
    G = nx.gnp_random_graph(n, p, seed=seed)
    rng = random.Random(seed)
    G.add_edges_from((0, j) for j in rng.sample(range(1, n), n // 2))
    G.remove_edges_from(list(G.edges(range(n - isolated, n))))
    G.add_nodes_from(range(n))
    edge_index = torch.tensor(list(G.edges())).t()
    gen = torch.Generator().manual_seed(seed)
    graph = SampleGraph(x=torch.randn(n, 3, generator=gen), edge_index=edge_index,
                        group=torch.randint(0, 3, (n,), generator=gen), **kwargs)
    return G, graph


def pairs(batch, index):
    n_id = batch.n_id.tolist()
    return [(n_id[a], n_id[b]) for a, b in batch[index].t().tolist()]


def test_batch_layout_and_pairs_brute_force():
    for seed in range(3):
        G, graph = make_graph(seed)
        for policy in ['uniform', 'degree', 'group', 'hard', 'in_batch']:
            loader = StructureLoader(graph, 16, 2, 4, policy, seed=seed)
            anchors = []
            for batch in loader:
                B, U = batch.num_anchors, batch.num_embedded
                n_id = batch.n_id.tolist()
                anchors += n_id[:B]
                assert U == len(n_id) == len(set(n_id))
                assert torch.equal(batch.x, graph.x[batch.n_id])
                pos, neg = pairs(batch, 'pos_index'), pairs(batch, 'neg_index')
                assert (batch.pos_index[0] < B).all() and (batch.neg_index[0] < B).all()
                # Deduplicated: the embedded samples are exactly anchors + pair partners.
                assert set(n_id) == set(n_id[:B]) | {b for _, b in pos + neg}
                for a in n_id[:B]:
                    nbrs = set(G[a])
                    p = [b for x, b in pos if x == a]
                    q = [b for x, b in neg if x == a]
                    assert len(p) == len(set(p)) == min(2, len(nbrs))
                    assert set(p) <= nbrs
                    assert len(q) == len(set(q)) and not set(q) & (nbrs | {a})
                    if not nbrs:
                        assert q == []  # isolated anchors: no pairs at all
                    elif policy == 'uniform':
                        assert len(q) == min(4, len(G) - 1 - len(nbrs))
                    elif policy == 'group':
                        assert all(graph.group[b] == graph.group[a] for b in q)
                    elif policy == 'in_batch':
                        assert set(q) <= set(n_id[:B]) | {b for _, b in pos}
            assert sorted(anchors) == list(range(70))


@pytest.mark.parametrize('mp', ['gpt', 'other'])
def test_message_passing_removes_supervision_edges(mp):
    G, graph = make_graph(1)
    H = nx.gnp_random_graph(70, 0.08, seed=9)
    H.add_edges_from(G.edges())
    mp_edge_index = None
    if mp == 'other':
        mp_edge_index = torch.tensor(list(H.edges())).t()
        mp_edge_index = torch.cat([mp_edge_index, mp_edge_index.flip(0)], 1)
    M = G if mp == 'gpt' else H
    loader = StructureLoader(graph, 8, 3, 2, num_neighbors=[-1, -1], seed=0,
                             mp_edge_index=mp_edge_index)
    for batch in loader:
        U, n_id = batch.num_embedded, batch.n_id.tolist()
        assert batch.x.size(0) == len(n_id) == len(set(n_id))
        sup = {frozenset(e) for e in pairs(batch, 'pos_index')}
        assert sup  # there is something to remove
        got = {}
        for s, t in batch.edge_index.t().tolist():
            assert frozenset((n_id[s], n_id[t])) not in sup
            got.setdefault(t, set()).add(n_id[s])
        # With all neighbours taken: embedded samples receive from every neighbour but
        # their supervision partners, nodes new at hop 1 from every neighbour,
        # nodes new at hop 2 from none.
        embedded = n_id[:U]
        hop1 = {s for t in embedded for s in M[t]} - set(embedded)
        assert set(n_id[U:U + len(hop1)]) == hop1
        for t, node in enumerate(n_id):
            expected = set(M[node]) if t < U + len(hop1) else set()
            if t < U:
                expected = {s for s in expected if frozenset((s, node)) not in sup}
            assert got.get(t, set()) == expected


def test_k_hop_sizes():
    G, graph = make_graph(2)
    loader = StructureLoader(graph, 8, 1, 1, num_neighbors=[2, 1], seed=0)
    batch = next(iter(loader))
    indeg = torch.bincount(batch.edge_index[1], minlength=batch.num_nodes)
    assert (indeg[:batch.num_embedded] <= 2).all()
    assert (batch.edge_index.max() < batch.n_id.numel())


def test_token_and_molecule_payloads():
    G, _ = make_graph(0, n=30)
    edge_index = torch.tensor(list(G.edges())).t()
    seqs = ['ACDEFGHIK'[:1 + i % 9] * (1 + i % 3) for i in range(30)]
    graph = SampleGraph.from_sequences(seqs, edge_index)
    batch = next(iter(StructureLoader(graph, 8, 1, 2, seed=0, max_length=5)))
    ids, mask = graph.gather(batch.n_id, 5)
    assert torch.equal(batch.input_ids, ids)
    assert torch.equal(batch.attention_mask, mask)

    mols = [Data(x=torch.full((2 + i % 3, 9), i),
                 edge_index=torch.tensor([[0, 1], [1, 0]]),
                 edge_attr=torch.zeros(2, 3, dtype=torch.long)) for i in range(30)]
    graph = SampleGraph.from_molecules(mols, edge_index)
    batch = next(iter(StructureLoader(graph, 8, 1, 2, num_neighbors=[2], seed=0)))
    assert batch.mol_batch.num_graphs == batch.n_id.numel()
    first_atoms = batch.mol_batch.x[batch.mol_batch.ptr[:-1], 0]
    assert first_atoms.tolist() == batch.n_id.tolist()


def assert_same(batches_a, batches_b):
    assert len(batches_a) == len(batches_b)
    for a, b in zip(batches_a, batches_b):
        assert a.keys() == b.keys()
        for key in a.keys():
            same = (torch.equal(a[key], b[key]) if torch.is_tensor(a[key])
                    else a[key] == b[key])
            assert same, key


@pytest.mark.parametrize('policy', ['uniform', 'hard'])
def test_reproducible_across_loaders_workers_and_epochs(policy):
    _, graph = make_graph(3)
    kwargs = dict(num_neighbors=[2], seed=5, negative_sampling=policy)
    one = StructureLoader(graph, 16, 2, 3, **kwargs)
    two = StructureLoader(graph, 16, 2, 3, num_workers=2, **kwargs)
    epoch0 = list(one)
    assert_same(epoch0, list(two))
    assert_same(epoch0, list(StructureLoader(graph, 16, 2, 3, **kwargs)))
    epoch1 = list(one)  # another anchor order, other pairs
    B = epoch0[0].num_anchors
    assert not torch.equal(epoch0[0].n_id[:B], epoch1[0].n_id[:B])
    fixed = StructureLoader(graph, 16, 2, 3, shuffle=False, **kwargs)
    fixed0, fixed1 = next(iter(fixed)), next(iter(fixed))
    assert torch.equal(fixed0.n_id[:B], fixed1.n_id[:B])
    assert not torch.equal(fixed0.n_id, fixed1.n_id)
    one.set_epoch(0)
    assert_same(epoch0, list(one))
    other = list(StructureLoader(graph, 16, 2, 3, num_neighbors=[2], seed=6))
    assert not torch.equal(epoch0[0].n_id, other[0].n_id)


def test_input_nodes_len_and_plain_data():
    G, graph = make_graph(0)
    mask = torch.zeros(70, dtype=torch.bool)
    mask[10:33] = True
    for input_nodes in [mask, torch.arange(10, 33), list(range(32, 9, -1))]:
        loader = StructureLoader(graph, 5, 1, 1, input_nodes=input_nodes, shuffle=False)
        assert len(loader) == 5
        anchors = torch.cat([b.n_id[:b.num_anchors] for b in loader])
        assert sorted(anchors.tolist()) == list(range(10, 33))
    assert len(StructureLoader(graph, 5, 1, 1, input_nodes=mask, drop_last=True)) == 4
    plain = Data(x=graph.x, edge_index=graph.edge_index, num_nodes=70)
    batch = next(iter(StructureLoader(plain, 8, 1, 1)))
    assert torch.equal(batch.x, plain.x[batch.n_id])
    no_payload = Data(edge_index=graph.edge_index, num_nodes=70)
    batch = next(iter(StructureLoader(no_payload, 8, 1, 1)))
    assert 'x' not in batch and batch.num_nodes == batch.n_id.numel()


def test_argument_errors_and_repr():
    _, graph = make_graph(0)
    plain = Data(edge_index=graph.edge_index, num_nodes=70)
    cases = [
        (dict(batch_size=0), "'batch_size'.*0"),
        (dict(num_positives=-1), "'num_positives'.*-1"),
        (dict(num_negatives=1.5), "'num_negatives'.*1.5"),
        (dict(negative_sampling='nearest'), "'nearest'"),
        (dict(input_nodes=torch.tensor([3, 70])), r'input_nodes\[1\] = 70'),
        (dict(input_nodes=torch.tensor([3, -1])), r'input_nodes\[1\] = -1'),
        (dict(input_nodes=torch.tensor([3, 4, 3])), 'repeats node 3'),
        (dict(input_nodes=torch.ones(5, dtype=torch.bool)), r'must have shape \[70\]'),
        (dict(num_neighbors=[2, -2]), r"'num_neighbors\[1\]'.*-2"),
        (dict(mp_edge_index=torch.tensor([[0, 1], [2, 99]])), r'edge 1 = \(1, 99\)'),
        (dict(max_length=0), "'max_length'"),
    ]
    base = dict(batch_size=4, num_positives=1, num_negatives=1)
    for change, match in cases:
        with pytest.raises(PygSipError, match=match):
            StructureLoader(graph, **{**base, **change})
    with pytest.raises(PygSipError, match="'group'"):
        StructureLoader(plain, 4, 1, 1, 'group')
    loader = StructureLoader(graph, 4, 1, 2, 'degree', num_neighbors=[3])
    with pytest.raises(PygSipError, match='distinct'):
        loader.sample(torch.tensor([1, 2, 1]))
    assert repr(loader) == (
        "StructureLoader(num_anchors=70, batch_size=4, num_positives=1, "
        "num_negatives=2, negative_sampling='degree', num_neighbors=[3])")


@pytest.mark.parametrize('num_nodes', [30, 10_000])  # node bitmap / sort path
def test_relabel_brute_force(num_nodes):
    from pyg_sip.sampling.loader import relabel
    gen = torch.Generator().manual_seed(num_nodes)
    for _ in range(5):
        anchor = torch.randperm(num_nodes, generator=gen)[:7]
        other = torch.cat([torch.randint(num_nodes, (50,), generator=gen), anchor[:3]])
        n_id, local = relabel(anchor, other, num_nodes)
        expected = anchor.tolist() + sorted(set(other.tolist()) - set(anchor.tolist()))
        assert n_id.tolist() == expected
        assert local.tolist() == [expected.index(o) for o in other.tolist()]
        with pytest.raises(PygSipError, match='distinct'):
            relabel(torch.cat([anchor, anchor[:1]]), other, num_nodes)


@pytest.mark.parametrize('policy', ['uniform', 'hard', 'degree'])
def test_anchors_without_neighbours_get_no_pairs(policy):
    # nodes 6..9 isolated, the last node among them (edge of the CSR arrays)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    loader = StructureLoader(Data(edge_index=edge_index, num_nodes=10), batch_size=10,
                             num_positives=1, num_negatives=3, negative_sampling=policy,
                             seed=0)
    edges = set(map(tuple, edge_index.t().tolist()))
    for batch in loader:
        anchors = batch.n_id[batch.neg_index[0]].tolist()
        negs = batch.n_id[batch.neg_index[1]].tolist()
        assert not {6, 7, 8, 9} & set(anchors)
        assert all(a != b and (a, b) not in edges for a, b in zip(anchors, negs))
        assert len(set(zip(anchors, negs))) == len(negs)


@pytest.mark.parametrize('num_neighbors', [None, [3, 2]])
def test_all_in_batch_negatives_equal_brute_force(num_neighbors):
    from pyg_sip.losses import InBatchNegatives, info_nce
    gen = torch.Generator().manual_seed(3)
    n = 60
    ei = torch.randint(0, n, (2, 200), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    graph = SampleGraph(x=torch.randn(n, 5, generator=gen), edge_index=ei)
    loader = StructureLoader(graph, batch_size=16, num_positives=2, num_negatives=None,
                             negative_sampling='in_batch', num_neighbors=num_neighbors, seed=0)
    edges = set(map(tuple, graph.edge_index.t().tolist()))
    for batch in loader:
        assert isinstance(batch.neg_index, InBatchNegatives)
        u, n_id = batch.num_embedded, batch.n_id.tolist()
        neg = batch.neg_index.neg_index(batch.pos_index, u)
        want = {(a, j) for a in range(batch.num_anchors) for j in range(u)
                if j != a and (n_id[a], n_id[j]) not in edges}
        assert set(map(tuple, neg.t().tolist())) == want
        z = torch.randn(u, 8, dtype=torch.float64, generator=gen)
        torch.testing.assert_close(info_nce(z, batch.pos_index, batch.neg_index),
                                   info_nce(z, batch.pos_index, neg))


def test_num_negatives_none_needs_in_batch():
    graph = SampleGraph(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(PygSipError, match="only with negative_sampling='in_batch', got 'uniform'"):
        StructureLoader(graph, batch_size=2, num_positives=1, num_negatives=None)
