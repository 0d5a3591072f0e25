"""A message-passing encoder over the pre-training graph."""
from typing import Any, Optional

from torch import Tensor
from torch_geometric.nn.models import GCN, GIN, GraphSAGE

from pyg_sip.errors import PygSipError
from pyg_sip.nn.base import require_attr
from pyg_sip.nn.features import FeatureEncoder
from pyg_sip.nn.heads import FeatureMaskingHead

_MODELS = {'sage': GraphSAGE, 'gin': GIN, 'gcn': GCN}


class GNNEncoder(FeatureEncoder):
    r"""A graph neural network over the pre-training graph: GraphSAGE
    (`Hamilton et al., 2017 <https://arxiv.org/abs/1706.02216>`_), GIN
    (`Xu et al., 2019 <https://arxiv.org/abs/1810.00826>`_) or GCN
    (`Kipf and Welling, 2017 <https://arxiv.org/abs/1609.02907>`_) layers
    of PyG, with masked-feature reconstruction as the sample loss.

    .. math::
        \mathbf{z}_i = \mathrm{GNN}(\mathbf{X}, \mathcal{E}_B)_i

    It runs over the batch's message-passing subgraph only:
    :obj:`batch.edge_index` holds local indices into the rows of
    :obj:`batch.x` (the embedded samples first, then their sampled
    neighbours), and the embeddings of the first :obj:`batch.num_embedded`
    rows are returned. For :meth:`pretrain_step` the features of all rows
    are masked and the masked entries of the embedded rows are
    reconstructed.

    Args:
        in_channels (int): Number of input features :math:`F`.
        hidden_channels (int): Hidden size.
        out_channels (int): Embedding size.
        num_layers (int, optional): Number of message-passing layers.
            (default: :obj:`2`)
        conv (str, optional): :obj:`'sage'`, :obj:`'gin'` or :obj:`'gcn'`.
            (default: :obj:`'sage'`)
        dropout (float, optional): Dropout between layers.
            (default: :obj:`0.0`)
        mask_rate (float, optional): Share of feature entries masked for the
            sample loss; :obj:`0` disables it. (default: :obj:`0.15`)
        reconstruction (str, optional): :obj:`'mse'` or :obj:`'bce'`.
            (default: :obj:`'mse'`)
        mask_value (str, optional): :obj:`'learned'` or :obj:`'zero'`.
            (default: :obj:`'learned'`)
        **kwargs (optional): Further arguments of the PyG model
            (e.g. :obj:`norm`, :obj:`jk`).

    Shapes:
        - **input:** x :math:`(N, F)`, edge_index :math:`(2, E)`
        - **output:** :math:`(N, \text{out\_channels})`
    """
    needs_graph = True

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        conv: str = 'sage',
        dropout: float = 0.0,
        mask_rate: float = 0.15,
        reconstruction: str = 'mse',
        mask_value: str = 'learned',
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if conv not in _MODELS:
            raise PygSipError(f"'conv' must be one of {sorted(_MODELS)} "
                              f"(got '{conv}')")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.conv = conv
        self.gnn = _MODELS[conv](in_channels, hidden_channels, num_layers,
                                 out_channels, dropout=dropout, **kwargs)
        self.feature_masking: Optional[FeatureMaskingHead] = (
            FeatureMaskingHead(in_channels, out_channels, mask_rate,
                               reconstruction, mask_value)
            if mask_rate > 0 else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        self.gnn.reset_parameters()
        if self.feature_masking is not None:
            self.feature_masking.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        r"""Embeds every row of :obj:`x` by message passing along
        :obj:`edge_index` (local row indices)."""
        if edge_index.numel() > 0:
            low, high = int(edge_index.min()), int(edge_index.max())
            if low < 0 or high >= x.size(0):
                bad = low if low < 0 else high
                raise PygSipError(f"'edge_index' holds node index {bad} but "
                                  f'the batch has {x.size(0)} rows')
        return self.gnn(x, edge_index)

    def embed(self, x: Tensor, batch: Any) -> Tensor:
        r"""Embeds all rows over the batch's :obj:`edge_index`."""
        edge_index = require_attr(batch, 'edge_index', 'GNNEncoder')
        return self(x, edge_index)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f"{self.out_channels}, conv='{self.conv}', "
                f'hidden_channels={self.hidden_channels}, '
                f'num_layers={self.num_layers}, '
                f'feature_masking={self.feature_masking})')
