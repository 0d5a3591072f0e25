import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_sip.errors import PygSipError
from pyg_sip.nn import MoleculeEncoder

pytest.importorskip('rdkit')
from torch_geometric.utils import from_smiles  # noqa: E402

SMILES = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C', 'O=C=O',
          'CN1CCC[C@H]1c1cccnc1']


def molecules(smiles=SMILES):
    return Batch.from_data_list([from_smiles(s) for s in smiles])


def test_shapes_and_seed_prefix(device):
    torch.manual_seed(0)
    model = MoleculeEncoder(32, num_layers=3, out_channels=16).to(device)
    model.eval()
    mol_batch = molecules().to(device)
    assert mol_batch.x.shape[1] == 9 and mol_batch.edge_attr.shape[1] == 3
    assert model.out_channels == 16 and not model.needs_graph
    z = model.encode(Data(mol_batch=mol_batch))
    assert z.shape == (len(SMILES), 16)
    # Seeds are the first molecules; encoding them alone gives the same rows.
    seeds = model.encode(Data(mol_batch=mol_batch, num_seeds=3))
    alone = model.encode(Data(mol_batch=molecules(SMILES[:3]).to(device)))
    assert seeds.shape == (3, 16)
    assert torch.allclose(seeds, z[:3], atol=1e-5)
    assert torch.allclose(alone, z[:3], atol=1e-5)
    # Each molecule is embedded independently of its batch mates:
    single = model.encode(Data(mol_batch=molecules(SMILES[4:5]).to(device)))
    assert torch.allclose(single, z[4:5], atol=1e-5)


def test_pooling_add_vs_mean():
    torch.manual_seed(0)
    mean = MoleculeEncoder(16, num_layers=2, pooling='mean').eval()
    add = MoleculeEncoder(16, num_layers=2, pooling='add').eval()
    add.load_state_dict(mean.state_dict())
    mol_batch = molecules()
    sizes = torch.bincount(mol_batch.batch).unsqueeze(1).float()
    zm = mean.encode(Data(mol_batch=mol_batch))
    za = add.encode(Data(mol_batch=mol_batch))
    assert torch.allclose(za, zm * sizes, atol=1e-4)


def test_attribute_masking_hides_atom_types_only():
    torch.manual_seed(0)
    model = MoleculeEncoder(16, num_layers=2, mask_rate=1.0).eval()
    mol_batch = molecules()
    z, loss = model.pretrain_step(Data(mol_batch=mol_batch))
    assert z.shape == (len(SMILES), 16) and loss.item() > 0
    # Every atom type masked: other atom types give the same embeddings...
    other = mol_batch.clone()
    other.x = other.x.clone()
    other.x[:, 0] = 6
    z_other, loss_other = model.pretrain_step(Data(mol_batch=other))
    assert torch.allclose(z, z_other)
    # ... but a different target, hence loss.
    assert abs(loss.item() - loss_other.item()) > 1e-4
    # Other atom columns are not masked:
    other.x[:, 2] = 0
    assert not torch.allclose(model.pretrain_step(Data(mol_batch=other))[0], z)


def test_attribute_masking_loss_decreases(device):
    torch.manual_seed(0)
    model = MoleculeEncoder(32, num_layers=3, mask_rate=0.3).to(device)
    batch = Data(mol_batch=molecules().to(device))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        _, loss = model.pretrain_step(batch, torch.Generator().manual_seed(0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_no_masking_and_errors():
    model = MoleculeEncoder(8, num_layers=1, mask_rate=0.0)
    z, loss = model.pretrain_step(Data(mol_batch=molecules()))
    assert loss is None and z.shape == (len(SMILES), 8)
    bad = molecules()
    bad.x = bad.x.clone()
    bad.x[4, 3] = 50
    with pytest.raises(PygSipError, match='Atom 4 has category 50 in column '
                       '3'):
        model.encode(Data(mol_batch=bad))
    bad = molecules()
    bad.edge_attr = bad.edge_attr[:, :2]
    with pytest.raises(PygSipError, match='Bond features'):
        model.encode(Data(mol_batch=bad))
    with pytest.raises(PygSipError, match='mol_batch'):
        model.encode(Data(x=torch.zeros(3, 9)))
    with pytest.raises(PygSipError, match='pooling'):
        MoleculeEncoder(8, pooling='max')


def test_float_atom_features_rejected():
    model = MoleculeEncoder(8, num_layers=1)
    bad = molecules()
    bad.x = bad.x.float()
    with pytest.raises(PygSipError, match='integer categories'):
        model.encode(Data(mol_batch=bad))
