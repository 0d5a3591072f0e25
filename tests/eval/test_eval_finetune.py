import copy

import pytest
import torch

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.eval import finetune
from pyg_sip.nn import GNNEncoder


class TinyMLP(torch.nn.Module):
    """A two-layer encoder of batch.x with dropout, for tests."""
    needs_graph = False

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.out_channels = out_channels
        self.net = torch.nn.Sequential(torch.nn.Linear(in_channels, 16), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.2), torch.nn.Linear(16, out_channels))

    def encode(self, batch):
        return self.net(batch.x)


def _data(task, n=90, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    if task == 'multiclass':
        y = (x[:, 0] > 0).long()
    elif task == 'multilabel':
        y = (x[:, :2] > 0).float()
        y[torch.rand(n, 2, generator=gen) < 0.2] = float('nan')
    else:
        y = 2 * x[:, 0] - x[:, 1]
    edge_index = torch.randint(0, n, (2, 3 * n), generator=gen)
    perm = torch.randperm(n, generator=gen)
    return SampleGraph(x=x, edge_index=edge_index, y=y), perm[:50], perm[50:70], perm[70:]


def test_finetune_copies_encoder_and_is_deterministic():
    graph, tr, va, te = _data('multiclass')
    torch.manual_seed(0)
    enc = TinyMLP(4, 8)
    enc.train()
    before = copy.deepcopy(enc.state_dict())
    rng = torch.get_rng_state()
    kwargs = dict(epochs=5, lr=5e-2, batch_size=16, seed=3, progress=False)
    out = finetune(enc, graph, tr, va, te, **kwargs)
    assert out['accuracy'] > 0.7 and out['val_accuracy'] > 0.7
    assert 0 <= out['auroc'] <= 1 and 1 <= out['best_epoch'] <= 5
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    assert enc.training and torch.equal(torch.get_rng_state(), rng)
    assert finetune(enc, graph, tr, va, te, **kwargs) == out
    # the selected epoch is the first best on validation: training only up to it
    # must give the very same test numbers
    short = finetune(enc, graph, tr, va, te, **{**kwargs, 'epochs': out['best_epoch']})
    assert short == out


def test_finetune_regression_and_multilabel():
    graph, tr, va, te = _data('regression')
    torch.manual_seed(0)
    out = finetune(TinyMLP(4, 8), graph, tr, va, te, task='regression', epochs=10, lr=1e-2,
                   batch_size=16, progress=False)
    assert out['rmse'] < 0.5 * float(graph.y.std()) and out['spearman'] > 0.8
    assert {'rmse', 'mae', 'spearman', 'val_rmse', 'best_epoch'} <= set(out)
    graph, tr, va, te = _data('multilabel')
    out = finetune(TinyMLP(4, 8), graph, tr, va, te, task='multilabel', epochs=10, lr=1e-2,
                   batch_size=16, progress=False)
    assert out['auroc'] > 0.85 and out['val_auroc'] > 0.85


def test_finetune_graph_encoder():
    graph, tr, va, te = _data('multiclass')
    torch.manual_seed(0)
    enc = GNNEncoder(4, 8, 8, num_layers=2)
    out = finetune(enc, graph, tr[:24], va, te, epochs=2, lr=1e-2, batch_size=12,
                   progress=False)
    assert 0 <= out['accuracy'] <= 1 and out['best_epoch'] in (1, 2)


def test_finetune_errors():
    graph, tr, va, te = _data('multiclass')
    enc = TinyMLP(4, 8)
    with pytest.raises(PygSipError, match="unknown task 'ranking'"):
        finetune(enc, graph, tr, va, te, task='ranking')
    with pytest.raises(PygSipError, match="'test_idx' is empty"):
        finetune(enc, graph, tr, va, te[:0])
    with pytest.raises(PygSipError, match="'graph' has 90 rows but 'y' has 3"):
        finetune(enc, graph, tr, va, te, y=torch.zeros(3, dtype=torch.long))
    with pytest.raises(PygSipError, match='float targets'):
        finetune(enc, graph, tr, va, te, task='regression', y=torch.zeros(90, dtype=torch.long))
    no_y = SampleGraph(x=graph.x, edge_index=graph.edge_index)
    with pytest.raises(PygSipError, match="no 'y'"):
        finetune(enc, no_y, tr, va, te)
