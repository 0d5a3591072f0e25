"""The interface every sample encoder shares with the training loop."""
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError


def num_seeds(batch: Any, num_samples: int) -> int:
    r"""Returns how many leading samples of :obj:`batch` need an embedding:
    :obj:`batch.num_seeds` when the batch carries it, else all
    :obj:`num_samples` samples."""
    seeds = getattr(batch, 'num_seeds', None)
    if seeds is None:
        return num_samples
    seeds = int(seeds)
    if seeds < 0 or seeds > num_samples:
        raise PygSipError(f"'batch.num_seeds' is {seeds} but the batch carries "
                          f'the payload of {num_samples} samples')
    return seeds


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
    per-sample pre-training head whose loss is :math:`\mathcal{L}_M` in

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
            :obj:`z` of shape :obj:`[S, out_channels]`, where :obj:`S` is
            :obj:`batch.num_seeds` if present, else the number of samples.
        """
        raise NotImplementedError

    def pretrain_step(
        self,
        batch: Any,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Corrupts the batch for the per-sample loss (if the encoder has a
        per-sample head) and returns the seeds' embeddings together with that
        loss, both from one forward pass.

        Returns:
            :obj:`(z, lm_loss)` with :obj:`z` of shape
            :obj:`[S, out_channels]` and :obj:`lm_loss` a scalar, or
            :obj:`None` if the encoder has no per-sample head.
        """
        raise NotImplementedError

