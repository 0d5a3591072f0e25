"""Shared batch logic of the encoders over dense sample features."""
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.nn.base import Encoder, num_embedded, require_attr
from pyg_sip.nn.heads import FeatureMaskingHead


class FeatureEncoder(Encoder):
    r"""Base class of encoders over dense features :obj:`batch.x`, whose
    sample loss is masked-feature reconstruction
    (:class:`~pyg_sip.nn.heads.FeatureMaskingHead`).

    Subclasses implement :meth:`embed`, which maps the rows they are given
    (the embedded samples only, or every sample of the batch if
    :obj:`needs_graph`) to embeddings, and set :obj:`feature_masking`
    (:obj:`None` for no sample loss).
    """
    feature_masking: Optional[FeatureMaskingHead]

    def embed(self, x: Tensor, batch: Any) -> Tensor:
        r"""Embeds the rows :obj:`x` of :obj:`batch`."""
        raise NotImplementedError

    def _inputs(self, batch: Any) -> Tuple[Tensor, int]:
        x = require_attr(batch, 'x', self.__class__.__name__)
        U = num_embedded(batch, x.size(0))
        # Without message passing only the embedded samples are encoded.
        return (x if self.needs_graph else x[:U]), U

    def encode(self, batch: Any) -> Tensor:
        r"""Embeds the samples of a batch carrying :obj:`x` (the first
        :obj:`batch.num_embedded`)."""
        x, U = self._inputs(batch)
        return self.embed(x, batch)[:U]

    def pretrain_step(
        self,
        batch: Any,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Masks feature entries of every encoded row, and returns the
        embeddings of the embedded samples and the sample loss (the
        reconstruction loss of their masked entries), from one forward pass;
        :obj:`(z, None)` if :obj:`mask_rate=0`."""
        x, U = self._inputs(batch)
        if self.feature_masking is None:
            return self.embed(x, batch)[:U], None
        corrupted, mask = self.feature_masking.corrupt(x, generator)
        z = self.embed(corrupted, batch)[:U]
        sample_loss = self.feature_masking.loss(z, x[:U], mask[:U])
        return z, sample_loss
