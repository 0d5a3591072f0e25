import warnings

import pytest
import torch
from torch_geometric.data import Batch, Data

import pyg_sip
from pyg_sip.data import SampleGraph
from pyg_sip.sampling import NEGATIVE_SAMPLING, StructureBatch, StructureLoader, available_policies


def ring(n=30, **payload):
    src = torch.arange(n)
    edge_index = torch.stack([src, (src + 1) % n])
    return SampleGraph(edge_index=edge_index, **payload)


def test_exported_and_policies():
    assert pyg_sip.StructureBatch is StructureBatch
    assert available_policies() == NEGATIVE_SAMPLING == (
        'uniform', 'degree', 'group', 'hard', 'in_batch')
    doc = StructureBatch.__doc__
    for field in ('n_id', 'num_anchors', 'num_embedded', 'pos_index',
                  'neg_index', 'input_ids', 'attention_mask', 'mol_batch',
                  'edge_index'):
        assert field in doc


def test_loader_yields_structure_batches():
    graph = ring(x=torch.randn(30, 4))
    loader = StructureLoader(graph, 8, 1, 3, seed=0)
    for batch in loader:
        assert isinstance(batch, StructureBatch)
        U = batch.num_embedded
        assert batch.num_seeds == U == batch.n_id.numel() == batch.num_nodes
        assert batch.n_id[:batch.num_anchors].numel() == batch.num_anchors
        assert int(batch.pos_index.max()) < U and int(batch.neg_index.max()) < U
    mp = StructureLoader(graph, 8, 1, 3, num_neighbors=[2], seed=0)
    batch = next(iter(mp))
    assert batch.num_nodes == batch.n_id.numel() >= batch.num_embedded
    assert batch.edge_index.max() < batch.num_nodes


def test_num_seeds_alias_sets_num_embedded():
    batch = StructureBatch(n_id=torch.arange(4), pos_index=torch.zeros(2, 0).long(),
                           neg_index=torch.zeros(2, 0).long(), num_anchors=2)
    assert batch.num_embedded == 4  # all samples of n_id by default
    batch.num_seeds = 3
    assert batch.num_embedded == 3 and batch.num_seeds == 3


def test_collation_shifts_pairs_and_keeps_counts():
    graph = ring(x=torch.randn(30, 4))
    loader = StructureLoader(graph, 6, 1, 2, seed=1, shuffle=False)
    first, second = list(loader)[:2]
    both = Batch.from_data_list([first, second])
    U1 = first.num_nodes
    assert torch.equal(both.pos_index, torch.cat(
        [first.pos_index, second.pos_index + U1], dim=1))
    assert torch.equal(both.neg_index, torch.cat(
        [first.neg_index, second.neg_index + U1], dim=1))
    assert both.num_embedded.tolist() == [first.num_embedded, second.num_embedded]
    assert torch.equal(both.x, torch.cat([first.x, second.x]))
    again = both.get_example(1)
    assert torch.equal(again.pos_index, second.pos_index)


def test_to_moves_the_molecule_batch():
    mols = [Data(x=torch.randn(i + 1, 3), edge_index=torch.zeros(2, 0).long())
            for i in range(10)]
    graph = ring(10, molecules=mols)
    batch = next(iter(StructureLoader(graph, 4, 1, 1, seed=0)))
    assert batch.mol_batch.num_graphs == batch.num_nodes
    double = batch.apply(lambda t: t.double() if t.is_floating_point() else t)
    assert double.mol_batch.x.dtype == torch.float64
    moved = batch.to('cpu')
    assert moved.mol_batch.x.device.type == 'cpu'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert batch.clone().mol_batch.num_graphs == batch.num_nodes


def test_token_payload_batch():
    graph = SampleGraph.from_sequences(['ACDE', 'KL', 'MNPQRS', 'AC'] * 5,
                                       edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]))
    batch = StructureLoader(graph, 4, 1, 1, seed=0, max_length=3).sample(
        torch.tensor([0, 1]))
    ids, mask = graph.gather(batch.n_id, max_length=3)
    assert torch.equal(batch.input_ids, ids) and torch.equal(batch.attention_mask, mask)


@pytest.mark.parametrize('bad', [1.5, 'a', True])
def test_bad_counts(bad):
    from pyg_sip.errors import PygSipError
    with pytest.raises(PygSipError, match='batch_size'):
        StructureLoader(ring(x=torch.randn(30, 2)), bad, 1, 1)
