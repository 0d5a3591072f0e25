"""Ragged storage of one small graph (a molecule) per sample.

The molecules of a :class:`~pyg_sip.data.SampleGraph` are packed into flat
tensors rather than kept as a Python list of :class:`Data` objects: this
costs what the atoms and bonds hold, survives PyG batching and slicing like
any other tensor attribute, and lets a mini-batch of molecules be gathered
without a Python loop over samples:

* :obj:`atom_x` [A, F]: the atom features of all molecules, concatenated;
* :obj:`bond_index` [2, B]: the bonds, with atom ids *local* to their
  molecule (so they need no shift under batching or slicing);
* :obj:`bond_attr` [B, D] (optional): the bond features;
* :obj:`atom_end` [N] / :obj:`bond_end` [N]: the end offset of each
  molecule's atoms and bonds (see :mod:`pyg_sip.data.ragged`).
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import cumsum

from pyg_sip.data.ragged import end_to_ptr, gather_segments, lengths_to_end
from pyg_sip.data.validate import check_integer, first_true
from pyg_sip.errors import PygSipError

MOLECULE_KEYS = ('atom_x', 'bond_index', 'bond_attr', 'atom_end', 'bond_end')


def pack_molecules(molecules: Sequence[Data]) -> Dict[str, Tensor]:
    r"""Packs a list of molecular graphs (in the format of
    :func:`torch_geometric.utils.from_smiles`: :obj:`x`, :obj:`edge_index`
    and optionally :obj:`edge_attr`) into the flat tensors listed in this
    module's documentation. Other attributes (e.g. :obj:`smiles`) are not
    stored."""
    if isinstance(molecules, (Data, Tensor, str)) or not isinstance(
            molecules, Sequence):
        raise PygSipError(f"'molecules' must be a list of Data objects, got "
                          f'{type(molecules).__name__}')
    has_attr = None
    for i, mol in enumerate(molecules):
        if not isinstance(mol, Data):
            raise PygSipError(f'molecules[{i}] must be a Data object, got '
                              f'{type(mol).__name__}')
        x = getattr(mol, 'x', None)
        edge_index = getattr(mol, 'edge_index', None)
        if not isinstance(x, Tensor) or not isinstance(edge_index, Tensor):
            raise PygSipError(f"molecules[{i}] must hold 'x' and 'edge_index' "
                              f'tensors')
        if has_attr is None:
            has_attr = isinstance(getattr(mol, 'edge_attr', None), Tensor)
        elif has_attr != isinstance(getattr(mol, 'edge_attr', None), Tensor):
            verb = 'lacks' if has_attr else 'has'
            raise PygSipError(f"molecules[{i}] {verb} 'edge_attr', unlike "
                              f'molecules[0]')
        if x.dim() != 2 or x.shape[1:] != molecules[0].x.shape[1:]:
            raise PygSipError(f'molecules[{i}].x has shape {list(x.shape)}, '
                              f'expected [num_atoms, '
                              f'{molecules[0].x.size(-1)}]')
        check_integer(f'molecules[{i}].edge_index', edge_index)
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise PygSipError(f'molecules[{i}].edge_index must have shape '
                              f'[2, num_bonds], got {list(edge_index.shape)}')
    if len(molecules) == 0:
        return dict(atom_x=torch.empty(0, 0), bond_index=torch.empty(
            2, 0, dtype=torch.long), atom_end=torch.empty(0, dtype=torch.long),
                    bond_end=torch.empty(0, dtype=torch.long))

    out = dict(
        atom_x=torch.cat([mol.x for mol in molecules], dim=0),
        bond_index=torch.cat([mol.edge_index for mol in molecules], dim=1),
        atom_end=lengths_to_end(
            torch.tensor([mol.x.size(0) for mol in molecules])),
        bond_end=lengths_to_end(
            torch.tensor([mol.edge_index.size(1) for mol in molecules])),
    )
    if has_attr:
        out['bond_attr'] = torch.cat([mol.edge_attr for mol in molecules])
    return out


def check_molecules(atom_x: Tensor, bond_index: Tensor,
                    bond_attr: Optional[Tensor], atom_end: Tensor,
                    bond_end: Tensor, num_nodes: int) -> None:
    r"""Checks packed molecules: one per sample, none without atoms, every
    bond between atoms of its own molecule, one bond feature row per bond."""
    if atom_end.numel() != num_nodes:
        raise PygSipError(f'got {atom_end.numel()} molecules for {num_nodes} '
                          f'samples (exactly one molecule per sample)')
    check_integer('bond_index', bond_index)
    num_atoms = atom_end - torch.cat([atom_end.new_zeros(1), atom_end[:-1]])
    pos = first_true(num_atoms <= 0)
    if pos >= 0:
        raise PygSipError(f'the molecule of sample {pos} has no atoms')
    if bond_attr is not None and bond_attr.size(0) != bond_index.size(1):
        raise PygSipError(f'got {bond_attr.size(0)} bond feature rows for '
                          f'{bond_index.size(1)} bonds')
    num_bonds = bond_end - torch.cat([bond_end.new_zeros(1), bond_end[:-1]])
    limit = num_atoms.repeat_interleave(num_bonds)
    pos = first_true((bond_index < 0) | (bond_index >= limit))
    if pos >= 0:
        row, col = divmod(pos, bond_index.size(1))
        sample = int(torch.searchsorted(bond_end, col, right=True))
        bond = col - int(end_to_ptr(bond_end)[sample])
        raise PygSipError(
            f'molecules[{sample}].edge_index[{row}, {bond}] = '
            f'{int(bond_index[row, col])} is not a valid atom id for a '
            f'molecule with {int(num_atoms[sample])} atoms')


def unpack_molecules(atom_x: Tensor, bond_index: Tensor,
                     bond_attr: Optional[Tensor], atom_end: Tensor,
                     bond_end: Tensor) -> List[Data]:
    r"""Inverse of :func:`pack_molecules`: one :class:`Data` per sample."""
    atom_sizes = end_to_ptr(atom_end).diff().tolist()
    bond_sizes = end_to_ptr(bond_end).diff().tolist()
    xs = atom_x.split(atom_sizes, dim=0)
    edge_indices = bond_index.split(bond_sizes, dim=1)
    if bond_attr is None:
        return [Data(x=x, edge_index=e) for x, e in zip(xs, edge_indices)]
    edge_attrs = bond_attr.split(bond_sizes, dim=0)
    return [
        Data(x=x, edge_index=e, edge_attr=a)
        for x, e, a in zip(xs, edge_indices, edge_attrs)
    ]


def gather_molecules(atom_x: Tensor, bond_index: Tensor,
                     bond_attr: Optional[Tensor], atom_end: Tensor,
                     bond_end: Tensor, index: Tensor) -> Batch:
    r"""Returns the molecules of the samples :obj:`index` as one
    :class:`~torch_geometric.data.Batch` (equal to
    :meth:`Batch.from_data_list` over those molecules, including
    :meth:`~Batch.to_data_list`), built with tensor operations only."""
    atom_pos, num_atoms = gather_segments(atom_end, index)
    bond_pos, num_bonds = gather_segments(bond_end, index)
    atom_ptr, bond_ptr = cumsum(num_atoms), cumsum(num_bonds)
    shift = atom_ptr[:-1].repeat_interleave(num_bonds,
                                            output_size=bond_pos.numel())
    batch = torch.arange(index.numel(), device=index.device)
    batch = batch.repeat_interleave(num_atoms, output_size=atom_pos.numel())

    edge_attr = bond_attr[bond_pos] if bond_attr is not None else None
    out = Batch(x=atom_x[atom_pos], edge_index=bond_index[:, bond_pos] + shift,
                edge_attr=edge_attr, batch=batch, ptr=atom_ptr)
    # What `Batch.from_data_list` records, so that `to_data_list` works:
    zeros = torch.zeros_like(num_atoms)
    out._slice_dict = {'x': atom_ptr, 'edge_index': bond_ptr}
    out._inc_dict = {'x': zeros, 'edge_index': atom_ptr[:-1]}
    if edge_attr is not None:
        out._slice_dict['edge_attr'] = bond_ptr
        out._inc_dict['edge_attr'] = zeros
    out._num_graphs = index.numel()
    return out
