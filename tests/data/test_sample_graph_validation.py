import re

import pytest
import torch
from torch_geometric.data import Batch

from pyg_sip.data import SampleGraph, WordTokenizer
from pyg_sip.errors import PygSipError

TOKENS = torch.tensor([4, 5, 6, 7, 8, 9])
PTR = torch.tensor([0, 2, 3, 6])


def raises(match):
    return pytest.raises(PygSipError, match=re.escape(match))


def test_error_type_is_a_value_error():
    assert issubclass(PygSipError, ValueError)


@pytest.mark.parametrize('edges, match', [
    ([[0, 1, -1], [1, 2, 0]], 'edge_index[0, 2] = -1 (edge 2)'),
    ([[0, 1, 2], [1, 5, 0]], 'edge_index[1, 1] = 5 (edge 1)'),
    ([[0, 3], [3, 0]], 'edge_index[1, 0] = 3'),
])
def test_edge_ids_out_of_range(edges, match):
    with raises(match):
        SampleGraph(x=torch.randn(3, 2), edge_index=torch.tensor(edges))


def test_negative_edge_id_without_num_nodes():
    with raises('edge_index[1, 0] = -2'):
        SampleGraph(edge_index=torch.tensor([[0], [-2]]))


def test_edge_index_dtype_and_shape():
    with raises("'edge_index' must be an integer tensor, got dtype "
                'torch.float32'):
        SampleGraph(edge_index=torch.tensor([[0.], [1.]]))
    with raises("'edge_index' must have shape [2, num_edges], got [3, 2]"):
        SampleGraph(edge_index=torch.zeros(3, 2, dtype=torch.long))
    with raises('got [4]'):
        SampleGraph(edge_index=torch.tensor([0, 1, 1, 0]))


def test_edge_weight():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    with raises("'edge_weight' must have shape [2] (one weight per edge), "
                'got [3]'):
        SampleGraph(edge_index=edge_index, edge_weight=torch.ones(3))
    with raises('edge_weight[1] = nan is not finite'):
        SampleGraph(edge_index=edge_index,
                    edge_weight=torch.tensor([1., float('nan')]))
    with raises("'edge_weight' must be a floating point tensor"):
        SampleGraph(edge_index=edge_index, edge_weight=torch.ones(2).long())


def test_token_ptr_not_monotone():
    with raises('token_ptr[2] = 5 > token_ptr[3] = 3'):
        SampleGraph(tokens=torch.arange(4, 10), token_ptr=torch.tensor(
            [0, 2, 5, 3, 6]))


def test_token_ptr_bounds():
    with raises('token_ptr[0] must be 0, got 1'):
        SampleGraph(tokens=TOKENS, token_ptr=torch.tensor([1, 2, 3, 6]))
    with raises('token_ptr[-1] = 5 does not match the number of tokens (6)'):
        SampleGraph(tokens=TOKENS, token_ptr=torch.tensor([0, 2, 3, 5]))
    with raises("'token_ptr' must have shape [4] (num_samples + 1), got [3]"):
        SampleGraph(tokens=TOKENS, token_ptr=torch.tensor([0, 2, 6]),
                    num_nodes=3)


def test_tokens_and_ptr_go_together():
    with raises("'tokens' and 'token_ptr' must be given together"):
        SampleGraph(tokens=TOKENS)
    with raises("'vocab_size' must be a positive integer, got 2.5"):
        SampleGraph(tokens=TOKENS, token_ptr=PTR, vocab_size=2.5)


def test_empty_sequence_names_sample():
    with raises('sample 1 has an empty token sequence'):
        SampleGraph(tokens=TOKENS, token_ptr=torch.tensor([0, 2, 2, 6]))
    with raises('sample 2 has an empty sequence'):
        SampleGraph.from_sequences(['MK', 'A', ''])
    with raises('sample 1 has an empty token sequence'):  # no words at all
        SampleGraph.from_sequences(['a b', '  '],
                                   tokenizer=WordTokenizer(['a', 'b']))


def test_token_outside_vocabulary_names_position_and_value():
    tokens = torch.tensor([4, 5, 6, 7, 40, 9])
    with raises('token at position 1 of sample 2 (tokens[4]) has id 40, '
                'outside the vocabulary [0, 30)'):
        SampleGraph(tokens=tokens, token_ptr=PTR, vocab_size=30)
    with raises('position 0 of sample 1 (tokens[2]) has id -3'):
        SampleGraph(tokens=torch.tensor([4, 5, -3, 7, 8, 9]), token_ptr=PTR)
    with raises('position 1 of sample 0 (tokens[1]) has id 0, the padding '
                'id'):
        SampleGraph(tokens=torch.tensor([4, 0, 6, 7, 8, 9]), token_ptr=PTR)
    with raises("'tokens' must be an integer tensor"):
        SampleGraph(tokens=TOKENS.float(), token_ptr=PTR)


def test_non_finite_features_name_row():
    x = torch.randn(5, 3)
    x[3, 1] = float('nan')
    with raises('x has a non-finite value (nan) in row 3 (sample 3), '
                'column 1'):
        SampleGraph(x=x)
    x[3, 1], x[1, 2] = 0., float('inf')
    with raises('in row 1 (sample 1), column 2'):
        SampleGraph(x=x)
    with raises("'x' must be a floating point tensor"):
        SampleGraph(x=torch.ones(2, 2, dtype=torch.long))
    with raises("'x' must have shape [4, num_features]"):
        SampleGraph(x=torch.randn(3, 2), num_nodes=4)


@pytest.mark.parametrize('key, value, match', [
    ('y', torch.zeros(4), "'y' must have one entry per sample (3), got 4"),
    ('group', torch.zeros(2).long(), "'group' must have one entry per sample "
     '(3), got 2 entries'),
    ('group', torch.zeros(3), "'group' must be an integer tensor"),
    ('train_mask', torch.ones(5, dtype=torch.bool),
     "'train_mask' must have one entry per sample (3), got 5"),
    ('val_mask', torch.ones(3), "'val_mask' must be a boolean tensor"),
    ('test_mask', torch.tensor(True), "'test_mask' must have one entry per "
     'sample (3), got a scalar'),
])
def test_per_sample_attributes_have_one_entry_per_sample(key, value, match):
    with raises(match):
        SampleGraph(x=torch.randn(3, 2), **{key: value})


def test_more_than_one_payload():
    with raises('at most one payload per sample, got x and tokens'):
        SampleGraph(x=torch.randn(3, 2), tokens=TOKENS, token_ptr=PTR)


def test_gather_errors():
    graph = SampleGraph(tokens=TOKENS, token_ptr=PTR)
    with raises('node_ids[1] = 7 is not a valid sample id (valid ids: 0..2)'):
        graph.gather(torch.tensor([0, 7]))
    with raises("'max_length' must be a positive integer, got 0"):
        graph.gather([0], max_length=0)
    with raises("needs the 'tokens' payload, but the graph holds 'x'"):
        SampleGraph(x=torch.randn(2, 2)).gather([0])
    with raises("needs the 'molecules' payload"):
        graph.gather_molecules([0])


def test_validate_detects_later_corruption():
    graph = SampleGraph(tokens=TOKENS, token_ptr=PTR, vocab_size=10,
                        edge_index=torch.tensor([[0], [1]]))
    assert graph.validate()
    graph.tokens[5] = 12
    with raises('position 2 of sample 2 (tokens[5]) has id 12'):
        graph.validate()
    with pytest.warns(UserWarning, match='has id 12'):
        assert graph.validate(raise_on_error=False) is False
    graph.tokens[5] = 9
    graph.edge_index[0, 1] = 3
    with raises('edge_index[0, 1] = 3'):
        graph.validate()


def test_batch_of_different_vocabularies_is_invalid():
    a = SampleGraph(tokens=TOKENS, token_ptr=PTR, vocab_size=10)
    b = SampleGraph(tokens=TOKENS, token_ptr=PTR, vocab_size=12)
    with raises("disagree on 'vocab_size': [10, 12]"):
        Batch.from_data_list([a, b]).validate()


def test_validation_is_vectorised():
    # One bad token among two million: found with tensor operations.
    n = 200_000
    ptr = torch.arange(0, 10 * n + 1, 10)
    tokens = torch.full((10 * n, ), 5)
    tokens[-3] = 99
    with raises(f'position 7 of sample {n - 1} (tokens[{10 * n - 3}]) '
                'has id 99'):
        SampleGraph(tokens=tokens, token_ptr=ptr, vocab_size=10)
