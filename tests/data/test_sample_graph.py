import copy
import random
from itertools import accumulate

import networkx as nx
import pytest
import torch
from torch_geometric.data import Batch

from pyg_sip.data import AminoAcidTokenizer, SampleGraph
from pyg_sip.errors import PygSipError

VOCAB = 30


def random_seqs(n, seed, max_len=12):
    rng = random.Random(seed)
    return [[rng.randrange(4, VOCAB) for _ in range(rng.randint(1, max_len))]
            for _ in range(n)]


def to_csr(seqs):
    tokens = torch.tensor([t for s in seqs for t in s], dtype=torch.long)
    ptr = torch.tensor([0, *accumulate(len(s) for s in seqs)])
    return tokens, ptr


def random_edges(n, m, seed):
    rng = random.Random(seed)
    return [(rng.randrange(n), rng.randrange(n)) for _ in range(m)]


def ref_gather(seqs, ids, max_length, pad):
    rows = [seqs[i][:max_length] if max_length else seqs[i] for i in ids]
    width = max((len(r) for r in rows), default=0)
    input_ids = [r + [pad] * (width - len(r)) for r in rows]
    mask = [[True] * len(r) + [False] * (width - len(r)) for r in rows]
    return input_ids, mask


def token_graph(n=20, seed=0, **kwargs):
    seqs = random_seqs(n, seed)
    tokens, ptr = to_csr(seqs)
    edges = torch.tensor(random_edges(n, 3 * n, seed)).t()
    graph = SampleGraph(tokens=tokens, token_ptr=ptr, edge_index=edges,
                        vocab_size=VOCAB, **kwargs)
    return graph, seqs


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('max_length', [None, 1, 5, 100])
def test_gather_matches_reference(device, seed, max_length):
    graph, seqs = token_graph(30, seed)
    graph = graph.to(device)
    rng = random.Random(seed + 10)
    ids = [rng.randrange(30) for _ in range(17)]  # with duplicates
    input_ids, mask = graph.gather(torch.tensor(ids, device=device),
                                   max_length=max_length)
    ref_ids, ref_mask = ref_gather(seqs, ids, max_length, pad=0)
    assert input_ids.device.type == device.type
    assert input_ids.dtype == torch.long and mask.dtype == torch.bool
    assert input_ids.tolist() == ref_ids
    assert mask.tolist() == ref_mask


def test_gather_pads_to_longest_in_call_and_accepts_masks():
    seqs = [[5, 6, 7, 8, 9, 10], [5], [6, 7]]
    tokens, ptr = to_csr(seqs)
    graph = SampleGraph(tokens=tokens, token_ptr=ptr, vocab_size=11, pad_id=0)
    input_ids, mask = graph.gather(torch.tensor([2, 1]))
    assert input_ids.tolist() == [[6, 7], [5, 0]]
    assert mask.tolist() == [[True, True], [True, False]]
    input_ids, _ = graph.gather(torch.tensor([False, True, True]))
    assert input_ids.tolist() == [[5, 0], [6, 7]]
    input_ids, mask = graph.gather(torch.tensor([], dtype=torch.long))
    assert input_ids.shape == mask.shape == (0, 0)
    assert graph.seq_lengths().tolist() == [6, 1, 2]
    assert graph.num_nodes == 3 and graph.vocab_size == 11


def test_truncation_keeps_first_tokens():
    graph = SampleGraph(tokens=torch.arange(4, 14), token_ptr=torch.tensor(
        [0, 7, 10]), vocab_size=14)
    input_ids, mask = graph.gather([0, 1], max_length=4)
    assert input_ids.tolist() == [[4, 5, 6, 7], [11, 12, 13, 0]]
    assert mask.sum(1).tolist() == [4, 3]


def test_from_sequences_stores_tokenizer_config():
    seqs = ['MKV', 'acdef', 'W']
    graph = SampleGraph.from_sequences(seqs, torch.tensor([[0], [1]]),
                                       tokenizer=AminoAcidTokenizer())
    tok = AminoAcidTokenizer()
    assert graph.vocab_size == tok.vocab_size and graph.pad_id == 0
    assert graph.tokens.tolist() == [i for s in seqs for i in tok.encode(s)]
    assert graph.token_ptr.tolist() == [0, 3, 8, 9]
    assert graph.payload_kind == 'tokens'
    assert graph.edge_index.tolist() == [[0, 1], [1, 0]]


def test_from_sequences_warns_about_unknown_symbols():
    tok = AminoAcidTokenizer()
    with pytest.warns(UserWarning, match=r"2 unknown symbols .*'\*' x2"):
        graph = SampleGraph.from_sequences(['MK*', 'A*'], tokenizer=tok)
    assert graph.tokens.tolist().count(tok.unk_id) == 2
    assert tok.unknown_counts == {'*': 2}


def test_undirected_canonical_form_vs_networkx():
    n, edges = 25, random_edges(25, 120, seed=3)
    edges += [(4, 4), (7, 7)] + edges[:10]  # self-loops and duplicates
    graph = SampleGraph(edge_index=torch.tensor(edges).t(), num_nodes=n)
    ref = nx.Graph()
    ref.add_nodes_from(range(n))
    ref.add_edges_from((u, v) for u, v in edges if u != v)
    expected = sorted({(u, v) for a, b in ref.edges for u, v in [(a, b),
                                                                (b, a)]})
    assert [tuple(e) for e in graph.edge_index.t().tolist()] == expected
    assert graph.is_undirected() and not graph.has_self_loops()
    assert graph.num_nodes == n


def test_directed_only_coalesces():
    edges = [(2, 1), (0, 1), (2, 1), (3, 3), (1, 0)]
    graph = SampleGraph(edge_index=torch.tensor(edges).t(), num_nodes=4,
                        directed=True)
    assert [tuple(e) for e in graph.edge_index.t().tolist()] == sorted(
        set(edges))


@pytest.mark.parametrize('directed', [False, True])
def test_edge_weight_stays_aligned(directed):
    rng = random.Random(5)
    edges = random_edges(15, 80, seed=5)
    weights = [rng.random() for _ in edges]
    graph = SampleGraph(edge_index=torch.tensor(edges).t(), num_nodes=15,
                        edge_weight=torch.tensor(weights, dtype=torch.float64),
                        directed=directed)
    occurrences = {}
    for (u, v), w in zip(edges, weights):
        if not directed and u == v:
            continue
        keys = [(u, v)] if directed else [(u, v), (v, u)]
        for key in keys:
            occurrences.setdefault(key, []).append(w)
    got = {(u, v): w for (u, v), w in zip(graph.edge_index.t().tolist(),
                                         graph.edge_weight.tolist())}
    assert set(got) == set(occurrences)
    for key, ws in occurrences.items():
        assert got[key] == pytest.approx(sum(ws) / len(ws))


def test_num_nodes_inference():
    edge_index = torch.tensor([[0, 3], [3, 0]])
    assert SampleGraph(edge_index=edge_index).num_nodes == 4
    assert SampleGraph(edge_index=edge_index, num_nodes=9).num_nodes == 9
    assert SampleGraph(x=torch.randn(6, 2), edge_index=edge_index).num_nodes \
        == 6
    assert SampleGraph(y=torch.zeros(5), edge_index=edge_index).num_nodes == 5
    assert SampleGraph(x=torch.randn(3, 2)).edge_index.shape == (2, 0)


def brute_force_subgraph(edges, weights, subset):
    new = {old: i for i, old in enumerate(subset)}
    kept = sorted((new[u], new[v], w) for (u, v), w in zip(edges, weights)
                  if u in new and v in new)
    return [(u, v) for u, v, _ in kept], [w for _, _, w in kept]


@pytest.mark.parametrize('as_mask', [False, True])
def test_subgraph_keeps_everything_aligned(as_mask):
    n = 30
    graph, seqs = token_graph(
        n, seed=7, y=torch.arange(n) * 10, group=torch.arange(n) % 3,
        train_mask=torch.arange(n) % 2 == 0, edge_weight=torch.rand(90),
        node_score=torch.randn(n, 2))
    rng = random.Random(8)
    subset = rng.sample(range(n), 12)
    if as_mask:
        subset = sorted(subset)
        sub = graph.subgraph(torch.isin(torch.arange(n), torch.tensor(subset)))
    else:
        sub = graph.subgraph(torch.tensor(subset))
    sub.validate()
    edges = [tuple(e) for e in graph.edge_index.t().tolist()]
    ref_edges, ref_w = brute_force_subgraph(edges, graph.edge_weight.tolist(),
                                            subset)
    assert [tuple(e) for e in sub.edge_index.t().tolist()] == ref_edges
    assert sub.edge_weight.tolist() == ref_w
    assert sub.num_nodes == len(subset)
    input_ids, mask = sub.gather(torch.arange(len(subset)))
    assert input_ids.tolist() == ref_gather(seqs, subset, None, 0)[0]
    assert sub.token_ptr.tolist() == [0, *accumulate(len(seqs[i])
                                                     for i in subset)]
    for key in ('y', 'group', 'train_mask', 'node_score'):
        assert torch.equal(sub[key], graph[key][torch.tensor(subset)]), key
    assert sub.vocab_size == VOCAB and graph.num_nodes == n  # no side effect


def test_subgraph_of_features_and_errors():
    x = torch.randn(5, 3)
    graph = SampleGraph(x=x, edge_index=torch.tensor([[0, 1, 2], [1, 2, 4]]))
    sub = graph.subgraph(torch.tensor([4, 2]))
    assert torch.equal(sub.x, x[[4, 2]])
    assert sub.edge_index.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(PygSipError, match='sample 2 more than once'):
        graph.subgraph(torch.tensor([2, 0, 2]))
    with pytest.raises(PygSipError, match=r'subset\[1\] = 5'):
        graph.subgraph(torch.tensor([0, 5]))
    with pytest.raises(PygSipError, match=r'shape \[5\]'):
        graph.subgraph(torch.tensor([True, False]))


def test_batch_collation_and_round_trip():
    g1, s1 = token_graph(8, seed=11, y=torch.arange(8),
                         train_mask=torch.ones(8, dtype=torch.bool),
                         edge_weight=torch.rand(24))
    g2, s2 = token_graph(5, seed=12, y=torch.arange(5),
                         train_mask=torch.zeros(5, dtype=torch.bool),
                         edge_weight=torch.rand(15))
    batch = Batch.from_data_list([g1, g2])
    batch.validate()
    assert isinstance(batch, SampleGraph)
    assert batch.num_nodes == 13 and batch.num_graphs == 2
    assert batch.vocab_size == VOCAB and batch.pad_id == 0
    t1 = g1.tokens.numel()
    assert batch.token_ptr.tolist() == g1.token_ptr.tolist() + [
        t1 + p for p in g2.token_ptr[1:].tolist()
    ]
    assert torch.equal(batch.edge_index,
                       torch.cat([g1.edge_index, g2.edge_index + 8], dim=1))

    ids = torch.tensor([9, 0, 12, 3, 8])
    input_ids, mask = batch.gather(ids, max_length=6)
    ref_ids, ref_mask = ref_gather(s1 + s2, ids.tolist(), 6, 0)
    assert input_ids.tolist() == ref_ids and mask.tolist() == ref_mask
    # ... and equal to gathering from the parts:
    a, _ = g1.gather(torch.tensor([0, 3]), max_length=6)
    b, _ = g2.gather(torch.tensor([1, 4, 0]), max_length=6)
    assert torch.equal(input_ids[[1, 3]][:, :a.size(1)], a)
    assert torch.equal(input_ids[[0, 2, 4]][:, :b.size(1)], b)

    for i, g in enumerate([g1, g2]):
        out = batch.get_example(i)
        assert isinstance(out, SampleGraph)
        out.validate()
        for key in ('edge_index', 'edge_weight', 'tokens', 'token_ptr', 'y',
                    'train_mask'):
            assert torch.equal(getattr(out, key), getattr(g, key)), key
        assert out.num_nodes == g.num_nodes and out.vocab_size == VOCAB
    selected = batch.index_select([1, 0])
    assert torch.equal(selected[0].tokens, g2.tokens)
    assert torch.equal(selected[1].token_ptr, g1.token_ptr)
    again = Batch.from_data_list(selected)
    assert torch.equal(again.gather(torch.tensor([0, 5]))[0],
                       batch.gather(torch.tensor([8, 0]))[0])


def test_copy_clone_and_construction_from_batch_internals():
    graph, _ = token_graph(6, seed=13)
    clone = graph.clone()
    clone.tokens[0] = 5
    assert clone.tokens.data_ptr() != graph.tokens.data_ptr()
    shallow = copy.copy(graph)
    assert isinstance(shallow, SampleGraph)
    assert torch.equal(shallow.token_ptr, graph.token_ptr)
    assert copy.deepcopy(graph).vocab_size == VOCAB
    empty = SampleGraph()
    assert empty.payload_kind is None and len(empty.keys()) == 0


def test_payload_per_kind():
    ids = torch.tensor([2, 0])
    x = torch.randn(3, 4)
    assert torch.equal(SampleGraph(x=x).payload(ids)['x'], x[ids])
    graph, seqs = token_graph(4, seed=14)
    out = graph.payload(ids, max_length=3)
    assert set(out) == {'input_ids', 'attention_mask'}
    assert out['input_ids'].tolist() == ref_gather(seqs, [2, 0], 3, 0)[0]
    assert SampleGraph(edge_index=torch.tensor([[0], [1]])).payload(ids) == {}


def test_gather_is_vectorised_over_large_graphs():
    # 20,000 ragged samples, 1,000 gathered: no per-sample Python work, so
    # this stays far below a second.
    n = 20_000
    lengths = torch.randint(1, 50, (n, ))
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    tokens = torch.randint(4, VOCAB, (int(ptr[-1]), ))
    graph = SampleGraph(tokens=tokens, token_ptr=ptr, vocab_size=VOCAB)
    ids = torch.randint(0, n, (1000, ))
    input_ids, mask = graph.gather(ids)
    assert torch.equal(mask.sum(1), lengths[ids])
    k = int(ids[7])
    assert torch.equal(input_ids[7, :int(lengths[k])],
                       tokens[int(ptr[k]):int(ptr[k + 1])])
