"""A small generated graph and a tiny model, shared by the trainer tests and
the child processes of the crash tests."""
import torch

from pyg_sip.data import SampleGraph
from pyg_sip.nn import MLPEncoder
from pyg_sip.objective import SIPObjective
from pyg_sip.sampling import StructureLoader


def make_graph(num_nodes=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % 4
    row, col = torch.randint(0, num_nodes, (2, 6 * num_nodes), generator=gen)
    keep = (y[row] == y[col]) & (row != col)
    x = torch.randn(num_nodes, 16, generator=gen) + y.unsqueeze(1).float()
    return SampleGraph(x=x, edge_index=torch.stack([row[keep], col[keep]]), y=y)


def make_parts(graph, seed=0, input_nodes=None, hidden=32):
    torch.manual_seed(123)
    encoder = MLPEncoder(16, hidden, 8, dropout=0.1, mask_rate=0.2)
    objective = SIPObjective('margin_contrastive', lam=0.5)
    loader = StructureLoader(graph, batch_size=16, num_positives=2, num_negatives=4,
                             input_nodes=input_nodes, seed=seed)
    return encoder, objective, loader


def params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def weight_score(encoder):
    """A deterministic validation score: a function of the weights only."""
    return float(sum(p.detach().double().sum() for p in encoder.parameters()))
