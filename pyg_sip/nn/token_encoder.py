r"""The shared machinery of encoders over padded token sequences: truncation,
checks, masked-token pre-training and length-bucketed encoding."""
from typing import Any, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.nn.base import Encoder, num_embedded, require_attr
from pyg_sip.nn.buckets import (
    BucketTokens,
    inverse_order,
    length_buckets,
    resolve_bucket_tokens,
    sequence_extent,
)
from pyg_sip.nn.heads import MLMHead
from pyg_sip.nn.masking import IGNORE_INDEX, mask_tokens

DEFAULT_BUCKET_TOKENS = 'auto'


def masked_mean(hidden: Tensor, mask: Tensor) -> Tensor:
    r"""Averages :obj:`hidden` over the positions where :obj:`mask` is
    :obj:`True`.

    Shapes:
        - **input:** hidden :math:`(B, L, H)`, mask :math:`(B, L)`
        - **output:** :math:`(B, H)`
    """
    weight = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weight).sum(1) / weight.sum(1)


class TokenEncoder(Encoder):
    r"""Base class of encoders over padded token sequences
    (:obj:`batch.input_ids` and :obj:`batch.attention_mask`), whose
    sample loss is masked-token prediction.

    Subclasses set :obj:`vocab_size`, :obj:`pad_id`, :obj:`mask_id`,
    :obj:`special_ids`, :obj:`max_length`, :obj:`mask_rate`,
    :obj:`pooling`, :obj:`mlm_head` (:obj:`None` for no sample loss) and
    :obj:`bucket_tokens`, and implement :meth:`encode_block`.

    **Length buckets.** With :obj:`bucket_tokens` set, :meth:`forward` and
    :meth:`pretrain_step` sort the samples of a batch by length, cut them
    into buckets of at most :obj:`bucket_tokens` padded tokens (see
    :func:`~pyg_sip.nn.buckets.length_buckets`), encode each bucket padded
    only to its own longest sample, and put the results back in batch
    order. Padding takes no part in attention, so every sample's embedding,
    token states and masked-token loss are those of the padded batch (up to
    float rounding); tokens are masked on the whole batch before it is
    bucketed, so the masking does not depend on the buckets. Only dropout
    draws differ (they are drawn per bucket). :obj:`'auto'` is a budget of
    4,096 tokens on the CPU and 65,536 on an accelerator; :obj:`None`
    encodes the padded batch as it is.
    """
    vocab_size: int
    pad_id: int
    mask_id: int
    special_ids: List[int]
    max_length: int
    mask_rate: float
    pooling: str
    mlm_head: Optional[MLMHead]
    bucket_tokens: BucketTokens = None

    def encode_block(self, input_ids: Tensor,
                     key_mask: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Encodes one padded block of truncated, checked sequences.

        Returns:
            :obj:`(z, hidden)`: the embeddings :math:`(B, d)` and the final
            token states :math:`(B, L, H)`.
        """
        raise NotImplementedError

    def check_tokens(self, input_ids: Tensor, attention_mask: Tensor) -> None:
        r"""Raises a :class:`PygSipError` naming the sample and position of
        a token id outside the vocabulary, or the first sample without any
        token when pooling by mean."""
        bad = (input_ids < 0) | (input_ids >= self.vocab_size)
        if bad.any():
            row, col = bad.nonzero()[0].tolist()
            raise PygSipError(
                f'Token id {int(input_ids[row, col])} at (sample {row}, '
                f'position {col}) is outside [0, {self.vocab_size})')
        if self.pooling == 'mean':
            empty = ~attention_mask.any(dim=1)
            if empty.any():
                row = int(empty.nonzero()[0])
                raise PygSipError(f"Sample {row} has no token: mean pooling "
                                  f'needs at least one')

    def truncate(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Keeps the first :obj:`max_length` positions and returns the ids
        with a boolean attention mask (:obj:`input_ids != pad_id` if
        :obj:`None`)."""
        if attention_mask is None:
            attention_mask = input_ids != self.pad_id
        return (input_ids[:, :self.max_length],
                attention_mask[:, :self.max_length].bool())

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
        return_hidden: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Embeds a batch of padded sequences.

        Args:
            input_ids (torch.Tensor): Token ids.
            attention_mask (torch.Tensor, optional): :obj:`True` at real
                tokens; :obj:`input_ids != pad_id` if :obj:`None`.
                (default: :obj:`None`)
            return_hidden (bool, optional): Also return the final states of
                the (truncated) token positions, CLS excluded (states at
                padding positions carry no meaning; with length buckets they
                differ from those of the padded batch).
                (default: :obj:`False`)
        """
        input_ids, key_mask = self.truncate(input_ids, attention_mask)
        self.check_tokens(input_ids, key_mask)
        z, hidden, _ = self._encode(input_ids, key_mask,
                                    return_hidden=return_hidden)
        return (z, hidden) if return_hidden else z

    def _embedded_inputs(self, batch: Any) -> Tuple[Tensor, Tensor]:
        input_ids = require_attr(batch, 'input_ids', self.__class__.__name__)
        attention_mask = getattr(batch, 'attention_mask', None)
        U = num_embedded(batch, input_ids.size(0))
        return self.truncate(input_ids[:U], None if attention_mask is None
                             else attention_mask[:U])

    def encode(self, batch: Any) -> Tensor:
        r"""Embeds the samples of a batch carrying :obj:`input_ids` and
        :obj:`attention_mask` (the first :obj:`batch.num_embedded`)."""
        return self(*self._embedded_inputs(batch))

    def pretrain_step(
        self,
        batch: Any,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Masks tokens of the embedded samples (BERT 80/10/10 rule, see
        :func:`~pyg_sip.nn.masking.mask_tokens`) and returns their embeddings
        and the sample loss (masked-token cross-entropy), from one forward
        pass of the corrupted sequences; :obj:`(z, None)` without a
        masked-token head."""
        input_ids, attention_mask = self._embedded_inputs(batch)
        if self.mlm_head is None:
            return self(input_ids, attention_mask), None
        self.check_tokens(input_ids, attention_mask)
        corrupted, labels = mask_tokens(input_ids, self.vocab_size,
                                        self.mask_id, self.special_ids,
                                        attention_mask, self.mask_rate,
                                        generator=generator)
        z, _, sample_loss = self._encode(corrupted, attention_mask, labels)
        return z, sample_loss

    def _encode(
        self,
        input_ids: Tensor,
        key_mask: Tensor,
        labels: Optional[Tensor] = None,
        return_hidden: bool = False,
    ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        r"""Embeddings, token states (if asked) and masked-token loss (if
        :obj:`labels` are given), by length bucket when
        :obj:`bucket_tokens` is set."""
        B, L = input_ids.shape
        budget = resolve_bucket_tokens(self.bucket_tokens, input_ids.device)
        if budget is None or B == 0:
            z, hidden = self.encode_block(input_ids, key_mask)
            loss = None if labels is None else self.mlm_head.loss(
                hidden, labels)
            return z, hidden if return_hidden else None, loss

        extent = sequence_extent(key_mask)
        buckets = length_buckets(extent, budget)
        if buckets is None:  # one bucket: the batch, cut to its longest
            width = int(extent.max())
            buckets = [(None, width)]
        zs, states, picked, picked_labels = [], [], [], []
        for index, width in buckets:
            ids = input_ids[:, :width] if index is None else input_ids[
                index, :width]
            mask = key_mask[:, :width] if index is None else key_mask[
                index, :width]
            z, hidden = self.encode_block(ids, mask)
            zs.append(z)
            if return_hidden:
                states.append(F.pad(hidden, (0, 0, 0, L - width)))
            if labels is not None:
                lab = labels[:, :width] if index is None else labels[
                    index, :width]
                keep = lab != IGNORE_INDEX
                picked.append(hidden[keep])
                picked_labels.append(lab[keep])
        if buckets[0][0] is None:
            z = zs[0]
            hidden = states[0] if return_hidden else None
        else:
            inverse = inverse_order(buckets)
            z = torch.cat(zs)[inverse]
            hidden = torch.cat(states)[inverse] if return_hidden else None
        loss = None if labels is None else self.mlm_head.loss(
            torch.cat(picked), torch.cat(picked_labels))
        return z, hidden, loss
