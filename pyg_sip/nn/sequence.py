"""A Transformer encoder over token sequences, with a masked-token head."""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.nn.buckets import BucketTokens, check_bucket_tokens
from pyg_sip.nn.heads import MLMHead
from pyg_sip.nn.masking import check_rate
from pyg_sip.nn.token_encoder import DEFAULT_BUCKET_TOKENS, TokenEncoder, masked_mean

__all__ = ['SequenceEncoder', 'TokenEncoder', 'TransformerLayer',
           'masked_mean', 'sinusoidal_positions']


def sinusoidal_positions(num_positions: int, channels: int) -> Tensor:
    r"""The fixed sinusoidal position table of `Vaswani et al., 2017
    <https://arxiv.org/abs/1706.03762>`_,
    :math:`PE_{p, 2k} = \sin(p / 10000^{2k/H})`,
    :math:`PE_{p, 2k+1} = \cos(p / 10000^{2k/H})`.

    Shapes:
        - **output:** :math:`(P, H)`
    """
    position = torch.arange(num_positions, dtype=torch.float).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, channels, 2, dtype=torch.float) *
        (-math.log(10000.0) / channels))
    table = torch.zeros(num_positions, channels)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)[:, :channels // 2]
    return table


class TransformerLayer(torch.nn.Module):
    r"""A pre-norm Transformer encoder layer (`Xiong et al., 2020
    <https://arxiv.org/abs/2002.04745>`_) with multi-head self-attention
    through :func:`torch.nn.functional.scaled_dot_product_attention`.

    .. math::
        \mathbf{H}' &= \mathbf{H} + \mathrm{MHA}(\mathrm{LN}(\mathbf{H}))

        \mathbf{H}'' &= \mathbf{H}' + \mathrm{FF}(\mathrm{LN}(\mathbf{H}'))

    Args:
        hidden_channels (int): Size :math:`H` of the hidden states.
        num_heads (int): Number of attention heads (must divide :math:`H`).
        ff_channels (int): Hidden size of the feed-forward block.
        dropout (float, optional): Dropout on attention weights and residual
            branches. (default: :obj:`0.1`)

    Shapes:
        - **input:** hidden :math:`(B, L, H)`, key mask :math:`(B, L)` bool
          (:obj:`True` = attend)
        - **output:** :math:`(B, L, H)`
    """
    def __init__(self, hidden_channels: int, num_heads: int,
                 ff_channels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.attn_norm = torch.nn.LayerNorm(hidden_channels)
        self.qkv = torch.nn.Linear(hidden_channels, 3 * hidden_channels)
        self.attn_out = torch.nn.Linear(hidden_channels, hidden_channels)
        self.ff_norm = torch.nn.LayerNorm(hidden_channels)
        self.ff_in = torch.nn.Linear(hidden_channels, ff_channels)
        self.ff_out = torch.nn.Linear(ff_channels, hidden_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        for module in (self.attn_norm, self.qkv, self.attn_out, self.ff_norm,
                       self.ff_in, self.ff_out):
            module.reset_parameters()

    def forward(self, hidden: Tensor, key_mask: Tensor) -> Tensor:
        r"""Applies the layer; positions where :obj:`key_mask` is
        :obj:`False` are never attended to."""
        B, L, H = hidden.shape
        p = self.dropout if self.training else 0.0
        q, k, v = self.qkv(self.attn_norm(hidden)).view(
            B, L, 3, self.num_heads, H // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_mask.view(B, 1, 1, L), dropout_p=p)
        attn = attn.transpose(1, 2).reshape(B, L, H)
        hidden = hidden + F.dropout(self.attn_out(attn), p, self.training)
        ff = F.gelu(self.ff_in(self.ff_norm(hidden)))
        ff = self.ff_out(F.dropout(ff, p, self.training))
        return hidden + F.dropout(ff, p, self.training)


class SequenceEncoder(TokenEncoder):
    r"""A Transformer encoder (`Vaswani et al., 2017
    <https://arxiv.org/abs/1706.03762>`_, pre-norm) that embeds each token
    sequence into one vector, with an optional masked-token head (BERT,
    `Devlin et al., 2019 <https://arxiv.org/abs/1810.04805>`_) as the
    sample loss.

    .. math::
        \mathbf{z}_i = \mathbf{W}_o \, \mathrm{pool}\left(
        \mathrm{LN}(\mathrm{Transformer}(\mathbf{E}[t_i] + \mathbf{P}))
        \right)

    With :obj:`pooling='cls'` a learned CLS embedding is prepended to every
    sequence (stored sequences carry no CLS token) and its final state is the
    embedding; with :obj:`pooling='mean'` the final states of the non-padding
    tokens are averaged. Padding positions never take part in attention, so a
    sequence's embedding does not depend on how much it is padded. Sequences
    longer than :obj:`max_length` tokens keep their first :obj:`max_length`
    tokens (the rest is dropped silently, as in
    :meth:`pyg_sip.data.SampleGraph.gather`). Batches are encoded by length
    bucket (see :class:`~pyg_sip.nn.TokenEncoder`): a protein of 60 residues
    costs 60 positions, not the length of the longest one of its batch.

    Args:
        vocab_size (int): Size of the vocabulary.
        hidden_channels (int, optional): Hidden size :math:`H`.
            (default: :obj:`256`)
        num_layers (int, optional): Number of Transformer layers.
            (default: :obj:`4`)
        num_heads (int, optional): Number of attention heads.
            (default: :obj:`4`)
        ff_channels (int, optional): Feed-forward size; :obj:`4 * H` if
            :obj:`None`. (default: :obj:`None`)
        max_length (int, optional): Maximum number of tokens per sequence
            (CLS excluded). (default: :obj:`512`)
        dropout (float, optional): Dropout rate. (default: :obj:`0.1`)
        positions (str, optional): :obj:`'learned'` or :obj:`'sinusoidal'`
            position embeddings. (default: :obj:`'learned'`)
        pooling (str, optional): :obj:`'cls'` or :obj:`'mean'`.
            (default: :obj:`'cls'`)
        out_channels (int, optional): If set, a linear projection of the
            pooled state to this size. (default: :obj:`None`)
        pad_id (int, optional): Padding id. (default: :obj:`0`)
        mask_id (int, optional): Mask id. (default: :obj:`1`)
        special_ids (Sequence[int], optional): Ids never masked nor drawn as
            random replacements. (default: :obj:`(0, 1, 2, 3)`)
        mlm (bool, optional): Whether to carry a masked-token head.
            (default: :obj:`True`)
        mask_rate (float, optional): Share of tokens selected for the
            masked-token loss. (default: :obj:`0.15`)
        bucket_tokens (int or str, optional): Token budget of one length
            bucket (see :class:`~pyg_sip.nn.TokenEncoder`); :obj:`'auto'`
            picks one for the device, :obj:`None` encodes every batch padded
            to its longest sample. (default: :obj:`'auto'`)

    Shapes:
        - **input:** input_ids :math:`(B, L)`, attention_mask :math:`(B, L)`
        - **output:** :math:`(B, \text{out\_channels})`; with
          :obj:`return_hidden=True` also the token states
          :math:`(B, \min(L, \text{max\_length}), H)`
    """
    def __init__(
        self,
        vocab_size: int,
        hidden_channels: int = 256,
        num_layers: int = 4,
        num_heads: int = 4,
        ff_channels: Optional[int] = None,
        max_length: int = 512,
        dropout: float = 0.1,
        positions: str = 'learned',
        pooling: str = 'cls',
        out_channels: Optional[int] = None,
        pad_id: int = 0,
        mask_id: int = 1,
        special_ids: Sequence[int] = (0, 1, 2, 3),
        mlm: bool = True,
        mask_rate: float = 0.15,
        bucket_tokens: BucketTokens = DEFAULT_BUCKET_TOKENS,
    ) -> None:
        super().__init__()
        if positions not in ('learned', 'sinusoidal'):
            raise PygSipError(f"'positions' must be 'learned' or 'sinusoidal' "
                              f"(got '{positions}')")
        if pooling not in ('cls', 'mean'):
            raise PygSipError(f"'pooling' must be 'cls' or 'mean' "
                              f"(got '{pooling}')")
        if hidden_channels % num_heads != 0:
            raise PygSipError(f"'hidden_channels' ({hidden_channels}) must be "
                              f"divisible by 'num_heads' ({num_heads})")
        if max_length < 1:
            raise PygSipError(f"'max_length' must be positive "
                              f'(got {max_length})')
        self.vocab_size = vocab_size
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.ff_channels = ff_channels or 4 * hidden_channels
        self.max_length = max_length
        self.dropout = dropout
        self.positions = positions
        self.pooling = pooling
        self.out_channels = out_channels or hidden_channels
        self.pad_id = pad_id
        self.mask_id = mask_id
        self.special_ids = sorted(set(special_ids) | {pad_id, mask_id})
        self.mlm = mlm
        self.mask_rate = check_rate('mask_rate', mask_rate)
        self.bucket_tokens = check_bucket_tokens(bucket_tokens)

        num_positions = max_length + int(pooling == 'cls')
        self.token_embedding = torch.nn.Embedding(vocab_size, hidden_channels,
                                                  padding_idx=pad_id)
        if positions == 'learned':
            self.position_embedding = torch.nn.Parameter(
                torch.empty(num_positions, hidden_channels))
        else:
            self.register_buffer(
                'position_embedding',
                sinusoidal_positions(num_positions, hidden_channels),
                persistent=False)
        self.cls_embedding = (torch.nn.Parameter(torch.empty(hidden_channels))
                              if pooling == 'cls' else None)
        self.layers = torch.nn.ModuleList([
            TransformerLayer(hidden_channels, num_heads, self.ff_channels,
                             dropout) for _ in range(num_layers)
        ])
        self.norm = torch.nn.LayerNorm(hidden_channels)
        self.lin = (torch.nn.Linear(hidden_channels, out_channels)
                    if out_channels is not None else None)
        self.mlm_head = (MLMHead(hidden_channels, vocab_size)
                         if mlm and mask_rate > 0 else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        torch.nn.init.normal_(self.token_embedding.weight, std=0.02)
        with torch.no_grad():
            self.token_embedding.weight[self.pad_id].zero_()
        if self.positions == 'learned':
            torch.nn.init.normal_(self.position_embedding, std=0.02)
        if self.cls_embedding is not None:
            torch.nn.init.normal_(self.cls_embedding, std=0.02)
        for layer in self.layers:
            layer.reset_parameters()
        self.norm.reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()
        if self.mlm_head is not None:
            self.mlm_head.reset_parameters()

    def encode_block(self, input_ids: Tensor,
                     key_mask: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Encodes one padded block of truncated, checked sequences (see
        :meth:`pyg_sip.nn.TokenEncoder.encode_block`)."""
        B = input_ids.size(0)
        hidden = self.token_embedding(input_ids)
        if self.cls_embedding is not None:
            hidden = torch.cat([self.cls_embedding.expand(B, 1, -1), hidden],
                               dim=1)
            key_mask = torch.cat([key_mask.new_ones(B, 1), key_mask], dim=1)
        hidden = hidden + self.position_embedding[:hidden.size(1)]
        hidden = F.dropout(hidden, self.dropout, self.training)
        for layer in self.layers:
            hidden = layer(hidden, key_mask)
        hidden = self.norm(hidden)

        if self.cls_embedding is not None:
            pooled, hidden = hidden[:, 0], hidden[:, 1:]
        else:
            pooled = masked_mean(hidden, key_mask)
        z = self.lin(pooled) if self.lin is not None else pooled
        return z, hidden

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(vocab_size={self.vocab_size}, '
                f'hidden_channels={self.hidden_channels}, '
                f'num_layers={self.num_layers}, num_heads={self.num_heads}, '
                f'max_length={self.max_length}, '
                f"positions='{self.positions}', pooling='{self.pooling}', "
                f'out_channels={self.out_channels}, mlm={self.mlm})')
