import pytest
import torch
from torch_geometric.utils import from_smiles

from pyg_sip import PygSipError
from pyg_sip.data import SampleGraph, WordTokenizer, load_graph, save_graph


def assert_same(a, b):
    assert a.num_nodes == b.num_nodes and a.payload_kind == b.payload_kind
    assert torch.equal(a.edge_index, b.edge_index)
    for key in ('x', 'y', 'group', 'train_mask', 'edge_weight', 'tokens', 'token_ptr'):
        va, vb = getattr(a, key, None), getattr(b, key, None)
        assert (va is None) == (vb is None), key
        if va is not None:
            assert torch.equal(va, vb), key


def test_roundtrip_tokens(tmp_path):
    tok = WordTokenizer.fit(['a b c', 'b c d e'])
    g = SampleGraph.from_sequences(['a b', 'c d e', 'e'], torch.tensor([[0, 1], [1, 2]]),
                                   tokenizer=tok, y=torch.tensor([0, 1, 1]),
                                   group=torch.tensor([0, 0, 1]),
                                   train_mask=torch.tensor([True, False, True]))
    h = load_graph(save_graph(g, tmp_path / 'g.pt'))
    assert_same(g, h)
    assert h.vocab_size == g.vocab_size and h.pad_id == g.pad_id
    ids, mask = h.gather([2, 0])
    assert torch.equal(ids, g.gather([2, 0])[0])


def test_roundtrip_directed_features_and_weights(tmp_path):
    g = SampleGraph(x=torch.randn(4, 3), edge_index=torch.tensor([[0, 1, 2, 2], [1, 2, 2, 3]]),
                    edge_weight=torch.tensor([1.0, 2.0, 3.0, 4.0]), directed=True)
    h = load_graph(save_graph(g, tmp_path / 'g.pt'))
    assert_same(g, h)
    assert h.edge_index.size(1) == 4  # self-loop and direction kept


def test_roundtrip_molecules(tmp_path):
    mols = [from_smiles(s) for s in ('CCO', 'c1ccccc1', 'CC(=O)O')]
    g = SampleGraph.from_molecules(mols, torch.tensor([[0], [2]]))
    h = load_graph(save_graph(g, tmp_path / 'm.pt'))
    assert_same(g, h)
    for m1, m2 in zip(g.molecules, h.molecules):
        assert torch.equal(m1.x, m2.x) and torch.equal(m1.edge_attr, m2.edge_attr)


def test_bad_files(tmp_path):
    with pytest.raises(PygSipError, match='no such file'):
        load_graph(tmp_path / 'missing.pt')
    (tmp_path / 'junk.pt').write_text('not a torch file')
    with pytest.raises(PygSipError, match='junk.pt'):
        load_graph(tmp_path / 'junk.pt')
    torch.save({'x': torch.zeros(2)}, tmp_path / 'other.pt')
    with pytest.raises(PygSipError, match='not a pyg_sip'):
        load_graph(tmp_path / 'other.pt')
