import torch
from torch_geometric.data import Batch, Data

from pyg_sip.data import PAYLOADS, FeaturePayload, MoleculePayload, SampleGraph, TokenPayload

SEQS = [[4, 5, 6], [7], [8, 9], [10, 11, 12, 13]]


def token_graph():
    tokens = torch.tensor([t for s in SEQS for t in s])
    ptr = torch.tensor([0, 3, 4, 6, 10])
    return SampleGraph(tokens=tokens, token_ptr=ptr, edge_index=torch.tensor([[0], [1]]))


def mol_graph():
    mols = [Data(x=torch.full((i + 1, 2), float(i)),
                 edge_index=torch.tensor([[0], [i]]), edge_attr=torch.full((1, 1), float(i)))
            for i in range(4)]
    return SampleGraph(molecules=mols), mols


def test_registry_and_kinds():
    assert set(PAYLOADS) == {'x', 'tokens', 'molecules'}
    assert isinstance(PAYLOADS['x'], FeaturePayload)
    assert isinstance(token_graph().payload_type, TokenPayload)
    assert isinstance(mol_graph()[0].payload_type, MoleculePayload)
    assert SampleGraph(edge_index=torch.tensor([[0], [1]])).payload_type is None


def test_token_gather_and_select_against_lists():
    graph = token_graph()
    index = torch.tensor([3, 1, 0])
    out = graph.payload(index, max_length=3)
    width = max(min(len(SEQS[i]), 3) for i in index.tolist())
    expected = [SEQS[i][:3] + [graph.pad_id] * (width - min(len(SEQS[i]), 3))
                for i in index.tolist()]
    assert out['input_ids'].tolist() == expected
    assert out['attention_mask'].sum(1).tolist() == [3, 1, 3]
    sub = graph.subgraph(index)
    assert [s.tolist() for s in sub.tokens.split(sub.seq_lengths().tolist())] == [
        SEQS[i] for i in index.tolist()]


def test_molecule_gather_select_and_batching():
    graph, mols = mol_graph()
    batch = graph.payload(torch.tensor([2, 0]))['mol_batch']
    ref = Batch.from_data_list([mols[2], mols[0]])
    for key in ('x', 'edge_index', 'edge_attr', 'batch', 'ptr'):
        assert torch.equal(batch[key], ref[key])
    both = Batch.from_data_list([graph, graph.subgraph(torch.tensor([3, 1]))])
    back = both.get_example(1)
    assert [m.x.size(0) for m in back.molecules] == [4, 2]
    assert torch.equal(back.molecules[0].edge_index, mols[3].edge_index)


def test_to_args_rebuilds_the_payload():
    for graph in (token_graph(), mol_graph()[0],
                  SampleGraph(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [2]]))):
        payload = graph.payload_type
        again = SampleGraph(edge_index=graph.edge_index, **payload.to_args(graph._store))
        ids = torch.arange(graph.num_nodes)
        for key, value in graph.payload(ids).items():
            other = again.payload(ids)[key]
            if isinstance(value, Batch):
                assert torch.equal(value.x, other.x)
            else:
                assert torch.equal(value, other)
