"""A multi-layer perceptron over dense sample features."""
from typing import Any, Optional

from torch import Tensor
from torch_geometric.nn import MLP

from pyg_sip.nn.features import FeatureEncoder
from pyg_sip.nn.heads import FeatureMaskingHead


class MLPEncoder(FeatureEncoder):
    r"""A multi-layer perceptron that embeds each sample's feature vector,
    with masked-feature reconstruction as the sample loss
    :math:`\mathcal{L}_M` (see :class:`~pyg_sip.nn.heads.FeatureMaskingHead`).

    .. math::
        \mathbf{z}_i = \mathbf{W}_L \, \sigma(\cdots \sigma(\mathbf{W}_1
        \mathbf{x}_i + \mathbf{b}_1) \cdots) + \mathbf{b}_L

    Args:
        in_channels (int): Number of input features :math:`F`.
        hidden_channels (int): Hidden size.
        out_channels (int): Embedding size.
        num_layers (int, optional): Number of linear layers.
            (default: :obj:`2`)
        dropout (float, optional): Dropout between layers.
            (default: :obj:`0.0`)
        act (str, optional): Activation between layers.
            (default: :obj:`'relu'`)
        norm (str, optional): Normalisation between layers, any of
            :class:`torch_geometric.nn.MLP` (e.g. :obj:`'layer_norm'`).
            (default: :obj:`None`)
        mask_rate (float, optional): Share of feature entries masked for the
            sample loss; :obj:`0` disables it. (default: :obj:`0.15`)
        reconstruction (str, optional): :obj:`'mse'` for continuous or
            :obj:`'bce'` for binary features. (default: :obj:`'mse'`)
        mask_value (str, optional): :obj:`'learned'` or :obj:`'zero'`.
            (default: :obj:`'learned'`)

    Shapes:
        - **input:** x :math:`(N, F)`
        - **output:** :math:`(N, \text{out\_channels})`
    """
    needs_graph = False

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        dropout: float = 0.0,
        act: str = 'relu',
        norm: Optional[str] = None,
        mask_rate: float = 0.15,
        reconstruction: str = 'mse',
        mask_value: str = 'learned',
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.mlp = MLP(in_channels=in_channels,
                       hidden_channels=hidden_channels,
                       out_channels=out_channels, num_layers=num_layers,
                       dropout=dropout, act=act, norm=norm)
        self.feature_masking = (FeatureMaskingHead(
            in_channels, out_channels, mask_rate, reconstruction, mask_value)
                                if mask_rate > 0 else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        self.mlp.reset_parameters()
        if self.feature_masking is not None:
            self.feature_masking.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        r"""Embeds every row of :obj:`x`."""
        return self.mlp(x)

    def embed(self, x: Tensor, batch: Any) -> Tensor:
        r"""Embeds the rows :obj:`x` (the batch's graph is not used)."""
        return self(x)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, hidden_channels={self.hidden_channels}'
                f', num_layers={self.num_layers}, '
                f'feature_masking={self.feature_masking})')
