"""A GIN encoder over one molecular graph per sample, with attribute masking."""
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GINEConv, global_add_pool, global_mean_pool
from torch_geometric.utils.smiles import e_map, x_map

from pyg_sip.errors import PygSipError
from pyg_sip.nn.base import Encoder, num_embedded, require_attr
from pyg_sip.nn.heads import selected_cross_entropy
from pyg_sip.nn.masking import IGNORE_INDEX, check_rate, mask_entries

ATOM_SIZES: List[int] = [len(values) for values in x_map.values()]
BOND_SIZES: List[int] = [len(values) for values in e_map.values()]
NUM_ATOM_TYPES: int = ATOM_SIZES[0]
#: The atom-type index standing for a masked atom (one past the last type).
ATOM_MASK_ID: int = NUM_ATOM_TYPES


class CategoricalEmbedding(torch.nn.Module):
    r"""Sum of one embedding per categorical column, as in `Hu et al., 2020
    <https://arxiv.org/abs/1905.12265>`_:
    :math:`\mathbf{h}_i = \sum_c \mathbf{E}_c[x_{ic}]`.

    Args:
        sizes (Sequence[int]): Number of categories of each column.
        channels (int): Embedding size.

    Shapes:
        - **input:** :math:`(N, C)` long
        - **output:** :math:`(N, \text{channels})`
    """
    def __init__(self, sizes: Sequence[int], channels: int) -> None:
        super().__init__()
        self.sizes = list(sizes)
        self.channels = channels
        self.register_buffer('size', torch.tensor(self.sizes),
                             persistent=False)
        offset = torch.tensor([0] + self.sizes[:-1]).cumsum(0)
        self.register_buffer('offset', offset, persistent=False)
        self.embedding = torch.nn.Embedding(sum(self.sizes), channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        torch.nn.init.xavier_uniform_(self.embedding.weight)

    def check(self, x: Tensor, what: str) -> None:
        r"""Raises a :class:`PygSipError` naming the first row and column of
        :obj:`x` that is not a valid category."""
        if x.is_floating_point() or x.is_complex():
            raise PygSipError(f'{what} features must be integer categories '
                              f'(got dtype {x.dtype})')
        if x.dim() != 2 or x.size(1) != len(self.sizes):
            raise PygSipError(f'{what} features must have shape '
                              f'[num, {len(self.sizes)}] (got '
                              f'{list(x.shape)})')
        bad = (x < 0) | (x >= self.size)
        if bad.any():
            row, col = bad.nonzero()[0].tolist()
            raise PygSipError(f'{what} {row} has category {int(x[row, col])} '
                              f'in column {col}, outside [0, '
                              f'{self.sizes[col]})')

    def forward(self, x: Tensor) -> Tensor:
        r"""Returns the summed column embeddings of every row."""
        return self.embedding(x + self.offset).sum(dim=1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.sizes}, '
                f'{self.channels})')


class MoleculeEncoder(Encoder):
    r"""A graph isomorphism network with bond features (GINE; `Hu et al.,
    2020 <https://arxiv.org/abs/1905.12265>`_) over each sample's molecular
    graph, pooled to one embedding per molecule, with attribute masking as
    the sample loss.

    .. math::
        \mathbf{h}_i^{(l+1)} = \mathrm{MLP}^{(l)}\left(\mathbf{h}_i^{(l)} +
        \sum_{j \in \mathcal{N}(i)} \mathrm{ReLU}(\mathbf{h}_j^{(l)} +
        \mathbf{e}_{ji}^{(l)})\right), \qquad
        \mathbf{z}_g = \mathbf{W}_o \, \mathrm{pool}_{i \in g}
        \mathbf{h}_i^{(L)}

    Atoms and bonds are in the format of
    :func:`torch_geometric.utils.from_smiles` (9 categorical atom columns,
    3 categorical bond columns), each column embedded and summed; every
    layer has its own bond embeddings. Attribute masking replaces the atom
    type (column 0) of a random share :obj:`mask_rate` of atoms by a mask
    category, and a linear head predicts the original type from the final
    atom states (cross-entropy).

    Args:
        hidden_channels (int, optional): Hidden size. (default: :obj:`300`)
        num_layers (int, optional): Number of GINE layers.
            (default: :obj:`5`)
        out_channels (int, optional): If set, a linear projection of the
            pooled state to this size. (default: :obj:`None`)
        dropout (float, optional): Dropout after each layer.
            (default: :obj:`0.1`)
        pooling (str, optional): :obj:`'mean'` or :obj:`'add'`.
            (default: :obj:`'mean'`)
        mask_rate (float, optional): Share of atoms whose type is masked for
            the sample loss; :obj:`0` disables it. (default: :obj:`0.15`)

    Shapes:
        - **input:** x :math:`(N, 9)`, edge_index :math:`(2, E)`, edge_attr
          :math:`(E, 3)`, batch :math:`(N)`
        - **output:** :math:`(G, \text{out\_channels})`
    """
    needs_graph = False

    def __init__(
        self,
        hidden_channels: int = 300,
        num_layers: int = 5,
        out_channels: Optional[int] = None,
        dropout: float = 0.1,
        pooling: str = 'mean',
        mask_rate: float = 0.15,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise PygSipError(f"'num_layers' must be positive "
                              f'(got {num_layers})')
        if pooling not in ('mean', 'add'):
            raise PygSipError(f"'pooling' must be 'mean' or 'add' "
                              f"(got '{pooling}')")
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.out_channels = out_channels or hidden_channels
        self.dropout = dropout
        self.pooling = pooling
        self.mask_rate = check_rate('mask_rate', mask_rate)

        # One extra atom type: the mask category.
        self.atom_embedding = CategoricalEmbedding(
            [NUM_ATOM_TYPES + 1] + ATOM_SIZES[1:], hidden_channels)
        self.bond_embeddings = torch.nn.ModuleList([
            CategoricalEmbedding(BOND_SIZES, hidden_channels)
            for _ in range(num_layers)
        ])
        self.convs = torch.nn.ModuleList([
            GINEConv(
                torch.nn.Sequential(
                    torch.nn.Linear(hidden_channels, 2 * hidden_channels),
                    torch.nn.ReLU(),
                    torch.nn.Linear(2 * hidden_channels, hidden_channels),
                )) for _ in range(num_layers)
        ])
        self.norms = torch.nn.ModuleList([
            torch.nn.LayerNorm(hidden_channels) for _ in range(num_layers)
        ])
        self.lin = (torch.nn.Linear(hidden_channels, out_channels)
                    if out_channels is not None else None)
        self.atom_head = (torch.nn.Linear(hidden_channels, NUM_ATOM_TYPES)
                          if mask_rate > 0 else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        self.atom_embedding.reset_parameters()
        for bond, conv, norm in zip(self.bond_embeddings, self.convs,
                                    self.norms):
            bond.reset_parameters()
            conv.reset_parameters()
            norm.reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()
        if self.atom_head is not None:
            self.atom_head.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        batch: Tensor,
        num_molecules: int,
        return_atoms: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Embeds :obj:`num_molecules` molecules.

        Args:
            x (torch.Tensor): Categorical atom features.
            edge_index (torch.Tensor): Bonds (both directions).
            edge_attr (torch.Tensor): Categorical bond features.
            batch (torch.Tensor): Molecule of each atom.
            num_molecules (int): Number of molecules :math:`G`.
            return_atoms (bool, optional): Also return the final atom
                states :math:`(N, H)`. (default: :obj:`False`)
        """
        self.atom_embedding.check(x, 'Atom')
        self.bond_embeddings[0].check(edge_attr, 'Bond')
        h = self.atom_embedding(x)
        for i, (bond, conv, norm) in enumerate(
                zip(self.bond_embeddings, self.convs, self.norms)):
            h = norm(conv(h, edge_index, bond(edge_attr)))
            if i < self.num_layers - 1:
                h = F.relu(h)
            h = F.dropout(h, self.dropout, self.training)
        pool = global_mean_pool if self.pooling == 'mean' else global_add_pool
        z = pool(h, batch, size=num_molecules)
        if self.lin is not None:
            z = self.lin(z)
        return (z, h) if return_atoms else z

    def _embedded_molecules(
            self, batch: Any) -> Tuple[Tensor, Tensor, Tensor, Tensor, int]:
        mol_batch = require_attr(batch, 'mol_batch', 'MoleculeEncoder')
        U = num_embedded(batch, mol_batch.num_graphs)
        x, edge_index = mol_batch.x, mol_batch.edge_index
        edge_attr = require_attr(mol_batch, 'edge_attr', 'MoleculeEncoder')
        atom_batch = mol_batch.batch
        if U < mol_batch.num_graphs:
            # A Batch stores molecules contiguously: the embedded molecules'
            # atoms are a prefix, and their bonds those leaving that prefix.
            num_atoms = int(mol_batch.ptr[U])
            keep = edge_index[0] < num_atoms
            x, atom_batch = x[:num_atoms], atom_batch[:num_atoms]
            edge_index, edge_attr = edge_index[:, keep], edge_attr[keep]
        return x, edge_index, edge_attr, atom_batch, U

    def encode(self, batch: Any) -> Tensor:
        r"""Embeds the molecules of a batch carrying :obj:`mol_batch` (a
        :class:`torch_geometric.data.Batch`; the first
        :obj:`batch.num_embedded`)."""
        return self(*self._embedded_molecules(batch))

    def pretrain_step(
        self,
        batch: Any,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Masks the atom type of a random share of the embedded molecules'
        atoms and returns the molecule embeddings and the sample loss (the
        cross-entropy of predicting the masked types), from one forward pass;
        :obj:`(z, None)` if :obj:`mask_rate=0`."""
        x, edge_index, edge_attr, atom_batch, U = self._embedded_molecules(
            batch)
        if self.atom_head is None:
            return self(x, edge_index, edge_attr, atom_batch, U), None
        masked = mask_entries((x.size(0), ), self.mask_rate, x.device,
                              generator)
        labels = torch.where(masked, x[:, 0],
                             torch.full_like(x[:, 0], IGNORE_INDEX))
        corrupted = x.clone()
        corrupted[:, 0] = x[:, 0].masked_fill(masked, ATOM_MASK_ID)
        z, h = self(corrupted, edge_index, edge_attr, atom_batch, U,
                    return_atoms=True)
        sample_loss = selected_cross_entropy(self.atom_head, h, labels)
        return z, sample_loss

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hidden_channels='
                f'{self.hidden_channels}, num_layers={self.num_layers}, '
                f'out_channels={self.out_channels}, '
                f"pooling='{self.pooling}', mask_rate={self.mask_rate})")
