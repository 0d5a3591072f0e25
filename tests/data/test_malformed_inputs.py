r"""Malformed inputs to the constructors of the core objects: every case
raises :class:`PygSipError` before any work is done, with a message that
names the offending argument and value (or id)."""
import re

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.sampling import StructureLoader

EDGES = torch.tensor([[0, 1, 2], [1, 2, 3]])
X = torch.randn(4, 2)
TOKENS, PTR = torch.tensor([4, 5, 6, 7, 8]), torch.tensor([0, 2, 3, 4, 5])


def mol(n):
    return Data(x=torch.randn(n, 3), edge_index=torch.zeros(2, 0, dtype=torch.long))


SAMPLE_GRAPH_CASES = [
    # (constructor arguments, text the message must contain)
    (dict(x=X, edge_index=EDGES, num_nodes=-1), "'num_nodes' must be an integer >= 0, got -1"),
    (dict(x=X, edge_index=EDGES, num_nodes=2.5), "'num_nodes' must be an integer >= 0, got 2.5"),
    (dict(x=X, edge_index=EDGES, num_nodes='4'), "got '4'"),
    (dict(x=X, edge_index=EDGES, num_nodes=True), "'num_nodes' must be an integer >= 0, got True"),
    (dict(edge_index=EDGES, num_nodes=3), 'edge_index[1, 2] = 3 (edge 2)'),
    (dict(x=X, edge_index=EDGES, num_nodes=5), "'x' must have shape [5, num_features]"),
    (dict(x=X, edge_index=EDGES, directed='yes'), "'directed' must be True or False, got 'yes'"),
    (dict(x='features', edge_index=EDGES), "'x' must be a tensor or array-like, got str"),
    (dict(x=X.long(), edge_index=EDGES), "'x' must be a floating point tensor, got dtype torch.int64"),
    (dict(x=torch.tensor([[0.0], [float('nan')], [1.0], [2.0]]), edge_index=EDGES),
     'non-finite value (nan) in row 1 (sample 1)'),
    (dict(x=X, edge_index=EDGES.double()), "'edge_index' must be an integer tensor, got dtype torch.float64"),
    (dict(x=X, edge_index=torch.tensor([0, 1])), "'edge_index' must have shape [2, num_edges], got [2]"),
    (dict(x=X, edge_index=torch.tensor([[0, -4], [1, 2]])), 'edge_index[0, 1] = -4 (edge 1)'),
    (dict(x=X, edge_index=EDGES, edge_weight=torch.tensor([1.0, float('inf'), 1.0])),
     'edge_weight[1] = inf is not finite'),
    (dict(x=X, edge_index=EDGES, y=torch.zeros(3)), "'y' must have one entry per sample (4), got 3"),
    (dict(x=X, edge_index=EDGES, group=torch.tensor([0.5, 1, 1, 1])), "'group' must be an integer tensor"),
    (dict(x=X, edge_index=EDGES, train_mask=torch.ones(4)), "'train_mask' must be a boolean tensor"),
    (dict(x=X, tokens=TOKENS, token_ptr=PTR), 'got x and tokens'),
    (dict(tokens=TOKENS), "'tokens' and 'token_ptr' must be given together"),
    (dict(token_ptr=PTR), "'tokens' and 'token_ptr' must be given together"),
    (dict(tokens=TOKENS, token_ptr=torch.tensor([1, 2, 3, 4, 5])), 'token_ptr[0] must be 0, got 1'),
    (dict(tokens=TOKENS, token_ptr=torch.tensor([0, 2, 2, 4, 5])), 'sample 1 has an empty token sequence'),
    (dict(tokens=TOKENS, token_ptr=torch.tensor([0.0, 2, 3, 4, 5])), "'token_ptr' must be an integer tensor"),
    (dict(tokens=TOKENS, token_ptr=PTR, vocab_size=0), "'vocab_size' must be a positive integer, got 0"),
    (dict(tokens=TOKENS, token_ptr=PTR, vocab_size=6), 'has id 6, outside the vocabulary [0, 6)'),
    (dict(tokens=TOKENS, token_ptr=PTR, pad_id=-1), "'pad_id' must be an integer >= 0, got -1"),
    (dict(tokens=TOKENS, token_ptr=PTR, pad_id=5), 'has id 5, the padding id'),
    (dict(tokens=TOKENS, token_ptr=PTR, num_nodes=3), "'token_ptr' must have shape [4] (num_samples + 1)"),
    (dict(tokens=torch.tensor([4.0, 5.0]), token_ptr=torch.tensor([0, 1, 2])), "'tokens' must be an integer tensor"),
    (dict(molecules=mol(2)), "'molecules' must be a list of Data objects, got Data"),
    (dict(molecules=[mol(2), 'CCO']), 'molecules[1] must be a Data object, got str'),
    (dict(molecules=[mol(2), mol(0)]), 'the molecule of sample 1 has no atoms'),
    (dict(molecules=[mol(2), mol(1)], num_nodes=3), 'got 2 molecules for 3 samples'),
]


@pytest.mark.parametrize('kwargs, match', SAMPLE_GRAPH_CASES)
def test_sample_graph_constructor(kwargs, match):
    with pytest.raises(PygSipError, match=re.escape(match)):
        SampleGraph(**kwargs)


def test_numpy_integer_num_nodes_is_accepted():
    graph = SampleGraph(x=X, edge_index=EDGES, num_nodes=np.int64(4))
    assert graph.num_nodes == 4 and isinstance(graph.num_nodes, int)


def test_validate_names_a_corrupted_field():
    graph = SampleGraph(x=X, edge_index=EDGES)
    graph.num_nodes = -2
    with pytest.raises(PygSipError, match=re.escape("'num_nodes' must be an integer >= 0, got -2")):
        graph.validate()
    graph = SampleGraph(x=X, edge_index=EDGES)
    graph.edge_index = torch.tensor([[0], [7]])
    with pytest.raises(PygSipError, match=re.escape('edge_index[1, 0] = 7')):
        graph.validate()
    with pytest.warns(UserWarning, match='edge 0 = \\(0, 7\\)'):
        assert not graph.validate(raise_on_error=False)


GRAPH = SampleGraph(x=torch.randn(12, 2), edge_index=torch.stack(
    [torch.arange(12), (torch.arange(12) + 1) % 12]), group=torch.arange(12) % 3)
BASE = dict(batch_size=4, num_positives=1, num_negatives=2)

LOADER_CASES = [
    (dict(batch_size=0), "'batch_size' must be an integer >= 1, got 0"),
    (dict(batch_size=2.0), "'batch_size' must be an integer >= 1, got 2.0"),
    (dict(num_positives=-1), "'num_positives' must be an integer >= 0, got -1"),
    (dict(num_negatives='8'), "'num_negatives' must be an integer >= 0, got '8'"),
    (dict(negative_sampling='closest'), "'closest'"),
    (dict(negative_sampling='group', negative_weights=torch.ones(12)), "only used by the 'degree'"),
    (dict(negative_sampling='degree', negative_weights=torch.ones(5)),
     'one entry per node (12), got 5'),
    (dict(negative_sampling='degree', negative_weights=torch.tensor([1.0] * 11 + [-2.0])),
     'Negative weight of node 11 is -2.0'),
    (dict(num_neighbors=[2, -3]), "'num_neighbors[1]' must be an integer >= -1, got -3"),
    (dict(num_neighbors=3), "'num_neighbors' must be a list of integers, got 3"),
    (dict(input_nodes=torch.tensor([1, 12])), 'input_nodes[1] = 12 is not a valid sample id'),
    (dict(input_nodes=torch.tensor([0.5])), "'input_nodes' must be an integer tensor, got dtype"),
    (dict(input_nodes=torch.tensor([2, 5, 2])), "'input_nodes' repeats node 2"),
    (dict(shuffle='no'), "'shuffle' must be True or False, got 'no'"),
    (dict(drop_last=1), "'drop_last' must be True or False, got 1"),
    (dict(seed=1.5), "'seed' must be an integer or None, got 1.5"),
    (dict(num_workers=-1), "'num_workers' must be an integer >= 0, got -1"),
    (dict(num_rounds=-2), "'num_rounds' must be an integer >= 0, got -2"),
    (dict(max_length=0), "'max_length' must be an integer >= 1 or None, got 0"),
    (dict(mp_edge_index=torch.tensor([[0], [40]])), 'mp_edge_index[1, 0] = 40 (edge 0)'),
]


@pytest.mark.parametrize('kwargs, match', LOADER_CASES)
def test_structure_loader_constructor(kwargs, match):
    with pytest.raises(PygSipError, match=re.escape(match)):
        StructureLoader(GRAPH, **{**BASE, **kwargs})


def test_structure_loader_graph_errors():
    with pytest.raises(PygSipError, match="'graph' must be a SampleGraph or a torch_geometric "
                       'Data, got dict'):
        StructureLoader({'edge_index': EDGES}, **BASE)
    with pytest.raises(PygSipError, match="needs an 'edge_index'"):
        StructureLoader(Data(x=X), **BASE)
    with pytest.raises(PygSipError, match=re.escape("'graph.num_nodes' must be an integer >= 0, "
                                                    'got -3')):
        StructureLoader(Data(edge_index=EDGES, num_nodes=-3), **BASE)
    with pytest.raises(PygSipError, match=re.escape('edge_index[1, 0] = 9 (edge 0)')):
        StructureLoader(Data(edge_index=torch.tensor([[0], [9]]), num_nodes=5), **BASE)
    with pytest.raises(PygSipError, match="policy 'group' needs a graph with a 'group'"):
        StructureLoader(Data(edge_index=EDGES, num_nodes=4), **BASE, negative_sampling='group')
