import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError
from pyg_sip.nn import GNNEncoder, MLPEncoder


def overfit(model, batch, steps=60, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        _, loss = model.pretrain_step(batch, torch.Generator().manual_seed(0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize('reconstruction', ['mse', 'bce'])
def test_mlp_feature_masking_loss_decreases(reconstruction, device):
    torch.manual_seed(0)
    x = torch.randn(16, 10)
    if reconstruction == 'bce':
        x = (x > 0).float()
    model = MLPEncoder(10, 32, 8, mask_rate=0.3,
                       reconstruction=reconstruction).to(device)
    losses = overfit(model, Data(x=x.to(device)))
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize('conv', ['sage', 'gin', 'gcn'])
def test_gnn_feature_masking_loss_decreases(conv, device):
    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 4, 5],
                               [1, 0, 2, 1, 3, 2, 5, 4]])
    batch = Data(x=torch.randn(6, 10), edge_index=edge_index,
                 num_seeds=4).to(device)
    model = GNNEncoder(10, 32, 8, conv=conv, mask_rate=0.3).to(device)
    losses = overfit(model, batch)
    assert losses[-1] < 0.5 * losses[0]


def test_mlp_shapes_and_seeds(device):
    torch.manual_seed(0)
    model = MLPEncoder(5, 16, 3, num_layers=3).to(device)
    x = torch.randn(7, 5, device=device)
    assert model.out_channels == 3 and not model.needs_graph
    assert model.encode(Data(x=x)).shape == (7, 3)
    z, loss = model.pretrain_step(Data(x=x, num_seeds=4))
    assert z.shape == (4, 3) and loss.dim() == 0
    assert torch.allclose(model.encode(Data(x=x, num_seeds=4)), model(x[:4]))
    z, loss = MLPEncoder(5, 16, 3, mask_rate=0.0).pretrain_step(
        Data(x=x.cpu()))
    assert loss is None and z.shape == (7, 3)


def test_gnn_uses_only_batch_local_edges(device):
    torch.manual_seed(0)
    # Seeds 0 and 1; 0 - 2 - 4 is a path, 1 - 3, and 5 is isolated.
    edge_index = torch.tensor([[0, 2, 2, 4, 1, 3], [2, 0, 4, 2, 3, 1]])
    x = torch.randn(6, 4)
    model = GNNEncoder(4, 8, 8, num_layers=2).to(device).eval()
    assert model.needs_graph

    def run(x):
        return model.encode(Data(x=x, edge_index=edge_index,
                                 num_seeds=2).to(device))

    z = run(x)
    assert z.shape == (2, 8)
    x5 = x.clone()
    x5[5] += 10
    assert torch.allclose(run(x5), z)  # not connected
    x4 = x.clone()
    x4[4] += 10
    z4 = run(x4)  # 2 hops from seed 0 only
    assert not torch.allclose(z4[0], z[0]) and torch.allclose(z4[1], z[1])
    # No edges at all: every seed only sees itself.
    alone = model.encode(Data(x=x, edge_index=torch.empty(2, 0, dtype=torch.long),
                              num_seeds=2).to(device))
    assert not torch.allclose(alone, z)


def test_gnn_matches_dense_references():
    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 0, 3]])
    x = torch.randn(4, 3, dtype=torch.double)
    A = torch.zeros(4, 4, dtype=torch.double)  # A[dst, src]
    A[edge_index[1], edge_index[0]] = 1.0

    sage = GNNEncoder(3, 5, 2, num_layers=1, conv='sage').double()
    conv = sage.gnn.convs[0]
    mean = (A @ x) / A.sum(1, keepdim=True)
    ref = (mean @ conv.lin_l.weight.T + conv.lin_l.bias +
           x @ conv.lin_r.weight.T)
    assert torch.allclose(sage(x, edge_index), ref, atol=1e-12)

    gcn = GNNEncoder(3, 5, 2, num_layers=1, conv='gcn').double()
    conv = gcn.gnn.convs[0]
    A_hat = A + torch.eye(4, dtype=torch.double)
    d = A_hat.sum(1).rsqrt()
    ref = (d[:, None] * A_hat * d[None, :]) @ (x @ conv.lin.weight.T)
    ref = ref + conv.bias
    assert torch.allclose(gcn(x, edge_index), ref, atol=1e-12)


def test_gnn_errors():
    model = GNNEncoder(3, 4, 2)
    with pytest.raises(PygSipError, match='node index 5'):
        model.encode(Data(x=torch.randn(4, 3),
                          edge_index=torch.tensor([[0], [5]])))
    with pytest.raises(PygSipError, match='edge_index'):
        model.encode(Data(x=torch.randn(4, 3)))
    with pytest.raises(PygSipError, match="'x'"):
        model.encode(Data(input_ids=torch.zeros(2, 3, dtype=torch.long)))
    with pytest.raises(PygSipError, match='conv'):
        GNNEncoder(3, 4, 2, conv='gat')
