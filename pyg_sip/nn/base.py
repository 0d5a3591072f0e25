"""The interface every sample encoder shares with the training loop."""
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError


def num_embedded(batch: Any, num_samples: int) -> int:
    r"""Returns how many leading samples of :obj:`batch` need an embedding:
    :obj:`batch.num_embedded` (or its former name :obj:`batch.num_seeds`)
    when the batch carries it, else all :obj:`num_samples` samples."""
    name = 'num_embedded'
    value = getattr(batch, name, None)
    if value is None:
        name = 'num_seeds'
        value = getattr(batch, name, None)
    if value is None:
        return num_samples
    value = int(value)
    if value < 0 or value > num_samples:
        raise PygSipError(f"'batch.{name}' is {value} but the batch carries "
                          f'the payload of {num_samples} samples')
    return value


num_seeds = num_embedded  # former name, kept for existing imports


def require_attr(batch: Any, name: str, encoder: str) -> Tensor:
    r"""Returns :obj:`batch.<name>` or raises a :class:`PygSipError` saying
    which payload :obj:`encoder` expects."""
    value = getattr(batch, name, None)
    if value is None:
        raise PygSipError(f"'{encoder}' expects a batch carrying '{name}'")
    return value


class Encoder(torch.nn.Module):
    r"""Base class of the sample encoders :math:`f_\theta` used in
    structure-inducing pre-training.

    An encoder maps every sample of a batch (a token sequence, a feature
    vector, a molecule) to one embedding :math:`\mathbf{z}_i`, and may carry a
    sample head whose loss, the sample loss (masked tokens, features or
    atoms), is :math:`\mathcal{L}_M` in

    .. math::
        \mathcal{L}_{PT} = (1 - \lambda) \mathcal{L}_M +
        \lambda \mathcal{L}_{SI}.

    Subclasses set :obj:`out_channels` and :obj:`needs_graph` and implement
    :meth:`encode` and :meth:`pretrain_step`.
    """
    out_channels: int
    needs_graph: bool = False

    def encode(self, batch: Any) -> Tensor:
        r"""Embeds the samples of :obj:`batch` without corruption.

        Returns:
            :obj:`z` of shape :obj:`[U, out_channels]`, where :obj:`U` is
            :obj:`batch.num_embedded` if present, else the number of
            samples.
        """
        raise NotImplementedError

    def pretrain_step(
        self,
        batch: Any,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Corrupts the batch for the sample loss (if the encoder has a
        sample head) and returns the embeddings of the embedded samples
        together with that loss, both from one forward pass.

        Returns:
            :obj:`(z, sample_loss)` with :obj:`z` of shape
            :obj:`[U, out_channels]` and :obj:`sample_loss` a scalar (masked
            tokens, features or atoms, depending on the encoder), or
            :obj:`None` if the encoder has no sample head.
        """
        raise NotImplementedError

