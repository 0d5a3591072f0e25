import random

import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError

pytest.importorskip('rdkit')
from torch_geometric.utils import from_smiles  # noqa: E402

SMILES = [
    'CCO', 'c1ccccc1', 'O', 'CC(=O)O', 'C1CCCCC1N', 'O=C=O', '[Na+].[Cl-]',
    'CC(C)Cc1ccc(cc1)C(C)C(=O)O', 'N#N', 'C'
]


@pytest.fixture(scope='module')
def mols():
    return [from_smiles(s) for s in SMILES]


def assert_same_molecule_batch(out, ref):
    for key in ('x', 'edge_index', 'edge_attr', 'batch', 'ptr'):
        assert torch.equal(out[key], ref[key]), key
    assert out.num_graphs == ref.num_graphs


def molecule_graph(mols, **kwargs):
    n = len(mols)
    edge_index = torch.tensor([list(range(n - 1)), list(range(1, n))])
    return SampleGraph.from_molecules(mols, edge_index, **kwargs)


def test_molecules_round_trip(mols):
    graph = molecule_graph(mols, y=torch.arange(len(mols)))
    graph.validate()
    assert graph.payload_kind == 'molecules'
    assert graph.num_nodes == len(mols)
    for got, ref in zip(graph.molecules, mols):
        for key in ('x', 'edge_index', 'edge_attr'):
            assert torch.equal(got[key], ref[key]), key


@pytest.mark.parametrize('seed', [0, 1])
def test_gather_molecules_matches_pyg_batching(mols, seed):
    graph = molecule_graph(mols)
    rng = random.Random(seed)
    ids = [rng.randrange(len(mols)) for _ in range(7)]  # with duplicates
    out = graph.gather_molecules(torch.tensor(ids))
    ref = Batch.from_data_list([mols[i] for i in ids])
    assert_same_molecule_batch(out, ref)
    for got, i in zip(out.to_data_list(), ids):
        assert torch.equal(got.edge_index, mols[i].edge_index)
        assert torch.equal(got.edge_attr, mols[i].edge_attr)
    payload = graph.payload(torch.tensor(ids))
    assert set(payload) == {'mol_batch'}
    assert_same_molecule_batch(payload['mol_batch'], ref)


def test_molecule_subgraph_alignment(mols):
    graph = molecule_graph(mols, group=torch.arange(len(mols)) % 2)
    subset = [7, 2, 4]
    sub = graph.subgraph(torch.tensor(subset))
    sub.validate()
    assert [m.x.size(0) for m in sub.molecules] == [
        mols[i].x.size(0) for i in subset
    ]
    assert_same_molecule_batch(sub.gather_molecules(torch.arange(3)),
                               Batch.from_data_list([mols[i]
                                                     for i in subset]))
    assert sub.group.tolist() == [1, 0, 0]


def test_batch_of_graphs_concatenates_molecule_lists(mols):
    g1, g2 = molecule_graph(mols[:6]), molecule_graph(mols[6:])
    batch = Batch.from_data_list([g1, g2])
    batch.validate()
    assert len(batch.molecules) == len(mols)
    for got, ref in zip(batch.molecules, mols):
        assert torch.equal(got.x, ref.x)
        assert torch.equal(got.edge_index, ref.edge_index)
    assert_same_molecule_batch(batch.gather_molecules(torch.tensor([8, 1])),
                               Batch.from_data_list([mols[8], mols[1]]))
    for i, g in enumerate([g1, g2]):
        out = batch.get_example(i)
        assert len(out.molecules) == g.num_nodes
        assert torch.equal(out.bond_index, g.bond_index)
        assert torch.equal(out.atom_end, g.atom_end)
        assert torch.equal(out.edge_index, g.edge_index)


def test_molecules_without_bond_features():
    mols = [
        Data(x=torch.randn(3, 4), edge_index=torch.tensor([[0, 1], [1, 2]])),
        Data(x=torch.randn(1, 4), edge_index=torch.empty(2, 0).long()),
    ]
    graph = SampleGraph.from_molecules(mols)
    out = graph.gather_molecules([1, 0])
    assert 'edge_attr' not in out
    assert out.edge_index.tolist() == [[1, 2], [2, 3]]
    assert torch.equal(graph.molecules[0].x, mols[0].x)


def test_molecule_errors(mols):
    with pytest.raises(PygSipError, match='got 3 molecules for 4 samples'):
        SampleGraph.from_molecules(mols[:3], num_nodes=4)
    with pytest.raises(PygSipError, match=r'at most one payload per sample, '
                       'got x and molecules'):
        SampleGraph(x=torch.randn(2, 2), molecules=mols[:2])
    empty = Data(x=torch.zeros(0, 9).long(), edge_index=torch.empty(
        2, 0).long(), edge_attr=torch.zeros(0, 3).long())
    with pytest.raises(PygSipError, match='the molecule of sample 1 has no '
                       'atoms'):
        SampleGraph.from_molecules([mols[0], empty])
    empty.edge_index = empty.edge_index.float()
    with pytest.raises(PygSipError, match=r"'molecules\[1\].edge_index' must "
                       'be an integer tensor'):
        SampleGraph.from_molecules([mols[0], empty])
    bad = mols[1].clone()
    bad.edge_index[1, 3] = 6
    with pytest.raises(PygSipError, match=r'molecules\[1\].edge_index\[1, 3\] '
                       r'= 6 is not a valid atom id for a molecule with 6'):
        SampleGraph.from_molecules([mols[0], bad, mols[2]])
    no_attr = Data(x=mols[2].x, edge_index=mols[2].edge_index)
    with pytest.raises(PygSipError, match=r"molecules\[1\] lacks 'edge_attr'"):
        SampleGraph.from_molecules([mols[0], no_attr])
    with pytest.raises(PygSipError, match=r'molecules\[1\] must be a Data'):
        SampleGraph.from_molecules([mols[0], 'CCO'])
