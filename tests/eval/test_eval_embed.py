import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn.models import GraphSAGE

from pyg_sip.data import CharTokenizer, SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.eval import embed
from pyg_sip.nn import GNNEncoder, SequenceEncoder


class TinyEncoder(torch.nn.Module):
    """A linear encoder of batch.x with dropout, for tests."""
    needs_graph = False

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.out_channels = out_channels
        self.drop = torch.nn.Dropout(0.5)
        self.lin = torch.nn.Linear(in_channels, out_channels)
        self.calls = 0

    def encode(self, batch):
        self.calls += 1
        return self.lin(self.drop(batch.x))[:getattr(batch, 'num_seeds', batch.x.size(0))]


def _graph(n=23, f=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, f, generator=gen)
    edge_index = torch.randint(0, n, (2, 3 * n), generator=gen)
    return SampleGraph(x=x, edge_index=edge_index)


def test_embed_chunks_eval_mode_and_mode_restore(capsys):
    graph = _graph()
    enc = TinyEncoder(5, 3)
    enc.train()
    enc.drop.eval()  # mixed modes must come back as they were
    z = embed(enc, graph, batch_size=7, progress=False)
    assert enc.calls == 4  # ceil(23 / 7) chunks
    assert z.shape == (23, 3) and z.device.type == 'cpu' and not z.requires_grad
    with torch.no_grad():
        ref = graph.x @ enc.lin.weight.t() + enc.lin.bias  # dropout off
    assert torch.allclose(z, ref, atol=1e-6)
    assert enc.training and enc.lin.training and not enc.drop.training
    assert capsys.readouterr().err == ''
    enc.drop.train()
    assert torch.allclose(embed(enc, graph, batch_size=100, progress=True), ref, atol=1e-6)
    assert enc.drop.training
    assert 'embed' in capsys.readouterr().err


def test_embed_plain_data_and_errors():
    x = torch.randn(6, 2)
    enc = TinyEncoder(2, 4)
    assert embed(enc, Data(x=x, num_nodes=6), progress=False).shape == (6, 4)
    with pytest.raises(PygSipError, match='batch_size'):
        embed(enc, Data(x=x), batch_size=0)
    with pytest.raises(PygSipError, match='no sample payload'):
        embed(enc, Data(num_nodes=3), progress=False)


def test_embed_gnn_full_graph_and_chunked_neighbourhoods_agree(device):
    graph = _graph(n=40)
    torch.manual_seed(0)
    enc = GNNEncoder(5, 8, 4, num_layers=2, conv='sage')
    with torch.no_grad():  # dense reference: the same layers over the whole graph
        ref = enc.gnn(graph.x, graph.edge_index)
    full = embed(enc, graph, progress=False, device=device)
    chunked = embed(enc, graph, batch_size=6, full_graph=False, progress=False, device=device)
    assert next(enc.parameters()).device.type == 'cpu'  # moved back
    assert torch.allclose(full, ref, atol=1e-5)
    assert torch.allclose(chunked, ref, atol=1e-5)
    # one hop is not enough for a two-layer GNN
    one_hop = embed(enc, graph, batch_size=6, num_hops=1, progress=False)
    assert not torch.allclose(one_hop, ref, atol=1e-3)
    assert isinstance(enc.gnn, GraphSAGE)


def test_embed_token_payload_is_padding_invariant():
    seqs = ['abc', 'a', 'bbbbbbbb', 'cab', 'ca', 'abcabcab', 'b']
    tok = CharTokenizer.fit(seqs)
    graph = SampleGraph.from_sequences(seqs, torch.tensor([[0, 1], [1, 2]]), tokenizer=tok)
    torch.manual_seed(0)
    enc = SequenceEncoder(graph.vocab_size, hidden_channels=8, num_layers=1, num_heads=2,
                          max_length=16, dropout=0.0)
    one = embed(enc, graph, batch_size=1, progress=False)
    many = embed(enc, graph, batch_size=4, progress=False)
    assert one.shape == (7, enc.out_channels)
    assert torch.allclose(one, many, atol=1e-5)
