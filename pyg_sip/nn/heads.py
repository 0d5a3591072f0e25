"""Sample-loss heads: masked-token prediction and masked-feature
reconstruction."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.nn.masking import IGNORE_INDEX, check_rate, mask_entries


def selected_cross_entropy(head: torch.nn.Module, hidden: Tensor,
                           labels: Tensor) -> Tensor:
    r"""Cross-entropy of :obj:`head(hidden)` against :obj:`labels` over the
    positions whose label is not :obj:`-100`, averaged over those positions.

    Only the selected positions go through :obj:`head`. With no selected
    position the result is a zero that is still connected to the graph.

    Shapes:
        - **input:** hidden :math:`(*, H)`, labels :math:`(*)`
        - **output:** scalar
    """
    hidden = hidden.reshape(-1, hidden.size(-1))
    labels = labels.reshape(-1)
    selected = labels != IGNORE_INDEX
    logits = head(hidden[selected])
    loss = F.cross_entropy(logits, labels[selected], reduction='sum')
    return loss / selected.sum().clamp(min=1)


class MLMHead(torch.nn.Module):
    r"""The masked-token prediction head of BERT (`Devlin et al., 2019
    <https://arxiv.org/abs/1810.04805>`_): a transform followed by a linear
    decoder to the vocabulary.

    .. math::
        \mathrm{logits}_i = \mathbf{W}_2 \,
        \mathrm{LayerNorm}(\mathrm{GELU}(\mathbf{W}_1 \mathbf{h}_i +
        \mathbf{b}_1)) + \mathbf{b}_2

    Args:
        hidden_channels (int): Size of the token hidden states.
        vocab_size (int): Size of the vocabulary.

    Shapes:
        - **input:** hidden states :math:`(*, H)`
        - **output:** logits :math:`(*, V)`
    """
    def __init__(self, hidden_channels: int, vocab_size: int) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.vocab_size = vocab_size
        self.transform = torch.nn.Linear(hidden_channels, hidden_channels)
        self.norm = torch.nn.LayerNorm(hidden_channels)
        self.decoder = torch.nn.Linear(hidden_channels, vocab_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        self.transform.reset_parameters()
        self.norm.reset_parameters()
        self.decoder.reset_parameters()

    def forward(self, hidden: Tensor) -> Tensor:
        r"""Returns the vocabulary logits of every position."""
        return self.decoder(self.norm(F.gelu(self.transform(hidden))))

    def loss(self, hidden: Tensor, labels: Tensor) -> Tensor:
        r"""Masked-token cross-entropy over the positions whose label is not
        :obj:`-100` (see :func:`pyg_sip.nn.masking.mask_tokens`).

        Shapes:
            - **input:** hidden :math:`(B, L, H)`, labels :math:`(B, L)`
            - **output:** scalar
        """
        return selected_cross_entropy(self, hidden, labels)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.hidden_channels}, '
                f'vocab_size={self.vocab_size})')


class FeatureMaskingHead(torch.nn.Module):
    r"""Masked-feature reconstruction, the sample loss
    :math:`\mathcal{L}_M` of encoders over dense features.

    A random subset :math:`M` of the entries of :math:`\mathbf{X}` (each
    with probability :obj:`mask_rate`) is replaced by a mask value, the
    corrupted features are encoded to :math:`\mathbf{z}_i`, and a linear
    decoder reconstructs the masked entries:

    .. math::
        \mathcal{L}_M = \frac{1}{|M|} \sum_{(i, j) \in M}
        \ell\left( (\mathbf{W} \mathbf{z}_i + \mathbf{b})_j, x_{ij} \right)

    with :math:`\ell` the squared error (:obj:`reconstruction='mse'`) or the
    binary cross-entropy with logits (:obj:`reconstruction='bce'`, for
    binary bag-of-words features).

    Args:
        in_channels (int): Number of features :math:`F`.
        embedding_channels (int): Size of the embeddings :math:`\mathbf{z}`.
        mask_rate (float, optional): Probability of masking an entry.
            (default: :obj:`0.15`)
        reconstruction (str, optional): :obj:`'mse'` or :obj:`'bce'`.
            (default: :obj:`'mse'`)
        mask_value (str, optional): :obj:`'learned'` (a learned value per
            feature) or :obj:`'zero'`. (default: :obj:`'learned'`)

    Shapes:
        - **input:** x :math:`(N, F)`, z :math:`(N, D)`
        - **output:** corrupted x :math:`(N, F)`, mask :math:`(N, F)`, loss
          scalar
    """
    def __init__(self, in_channels: int, embedding_channels: int,
                 mask_rate: float = 0.15, reconstruction: str = 'mse',
                 mask_value: str = 'learned') -> None:
        super().__init__()
        if reconstruction not in ('mse', 'bce'):
            raise PygSipError(f"'reconstruction' must be 'mse' or 'bce' "
                              f"(got '{reconstruction}')")
        if mask_value not in ('learned', 'zero'):
            raise PygSipError(f"'mask_value' must be 'learned' or 'zero' "
                              f"(got '{mask_value}')")
        self.in_channels = in_channels
        self.embedding_channels = embedding_channels
        self.mask_rate = check_rate('mask_rate', mask_rate)
        self.reconstruction = reconstruction
        self.mask_value = mask_value
        self.mask_embedding = (torch.nn.Parameter(torch.empty(in_channels))
                               if mask_value == 'learned' else None)
        self.decoder = torch.nn.Linear(embedding_channels, in_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        if self.mask_embedding is not None:
            torch.nn.init.normal_(self.mask_embedding, std=0.02)
        self.decoder.reset_parameters()

    def corrupt(
        self,
        x: Tensor,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Returns the corrupted features and the boolean mask of the
        replaced entries."""
        mask = mask_entries(tuple(x.shape), self.mask_rate, x.device,
                            generator)
        if self.mask_embedding is None:
            return x.masked_fill(mask, 0.0), mask
        fill = self.mask_embedding.to(x.dtype).expand_as(x)
        return torch.where(mask, fill, x), mask

    def loss(self, z: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        r"""Reconstruction loss of the masked entries of :obj:`x` from
        :obj:`z`, averaged over those entries (a zero connected to the graph
        if none is masked)."""
        pred = self.decoder(z)[mask]
        target = x[mask].to(pred.dtype)
        if self.reconstruction == 'mse':
            loss = F.mse_loss(pred, target, reduction='sum')
        else:
            loss = F.binary_cross_entropy_with_logits(pred, target,
                                                      reduction='sum')
        return loss / mask.sum().clamp(min=1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.embedding_channels} -> '
                f'{self.in_channels}, mask_rate={self.mask_rate}, '
                f"reconstruction='{self.reconstruction}', "
                f"mask_value='{self.mask_value}')")
