r"""Length buckets for ragged token batches: samples of similar length are
encoded together, each bucket padded only to its own longest sample, so a
batch mixing proteins of 60 and 1,000 residues does not spend the compute of
1,000 residues on every sample."""
from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

Bucket = Tuple[Tensor, int]
BucketTokens = Union[int, str, None]

# Token budget of one bucket under bucket_tokens='auto'. On the CPU the
# compute is proportional to the padded tokens and buckets of a few thousand
# tokens keep matrix products efficient (benchmarks/sequence.py); on a GPU a
# bucket must be large enough to hide kernel launches.
AUTO_BUCKET_TOKENS = {'cpu': 4096}
AUTO_BUCKET_TOKENS_ACCELERATOR = 65536
MIN_SAVING = 0.1


def sequence_extent(attention_mask: Tensor) -> Tensor:
    r"""The number of leading positions each sample needs: one past its last
    real token (at least :obj:`1`, so that an empty sample keeps one
    position). Positions after it are padding, which no attention reads, so
    cutting them off leaves every result of the sample unchanged.

    Shapes:
        - **input:** attention_mask :math:`(B, L)` bool
        - **output:** :math:`(B)` long
    """
    B, L = attention_mask.shape
    position = torch.arange(1, L + 1, device=attention_mask.device)
    extent = (attention_mask.long() * position).amax(dim=1) if L > 0 else (
        attention_mask.new_zeros(B, dtype=torch.long))
    return extent.clamp(min=1)


def check_bucket_tokens(bucket_tokens: BucketTokens) -> BucketTokens:
    r"""Returns :obj:`bucket_tokens` if it is :obj:`None`, :obj:`'auto'` or
    a positive integer, else raises a :class:`PygSipError`."""
    if bucket_tokens is None or bucket_tokens == 'auto':
        return bucket_tokens
    if isinstance(bucket_tokens, (bool, str)) or not isinstance(
            bucket_tokens, (int, float)) or int(bucket_tokens) != bucket_tokens \
            or bucket_tokens < 1:
        raise PygSipError(f"'bucket_tokens' must be a positive integer, "
                          f"'auto' or None (got {bucket_tokens!r})")
    return int(bucket_tokens)


def resolve_bucket_tokens(bucket_tokens: BucketTokens,
                          device: torch.device) -> Optional[int]:
    r"""The token budget of one bucket on :obj:`device`: :obj:`'auto'` is
    4,096 tokens on the CPU and 65,536 on an accelerator."""
    if bucket_tokens != 'auto':
        return bucket_tokens
    return AUTO_BUCKET_TOKENS.get(device.type, AUTO_BUCKET_TOKENS_ACCELERATOR)


def length_buckets(extent: Tensor, bucket_tokens: int,
                   min_saving: float = MIN_SAVING) -> Optional[List[Bucket]]:
    r"""Splits the samples of a batch into buckets of similar length.

    Samples are sorted by :obj:`extent`, longest first (ties keep batch
    order), and cut greedily into consecutive runs whose padded size
    (samples :math:`\times` longest extent of the run) stays within
    :obj:`bucket_tokens`; a run always holds at least one sample. The
    number of buckets, not of samples, bounds the Python loop.

    Args:
        extent (torch.Tensor): Positions each sample needs (see
            :func:`sequence_extent`).
        bucket_tokens (int): Token budget of one bucket.
        min_saving (float, optional): Keep the batch whole unless the buckets
            pad at least this share fewer tokens than one block padded to
            the longest sample (several smaller products cost more per
            token). (default: :obj:`0.1`)

    Returns:
        :obj:`None` if the whole batch fits in one bucket or buckets would
        save too little (encode it as one block, cut to its longest sample),
        else a list of :obj:`(index, width)`: the batch positions of a
        bucket's samples and the width it is padded to.
    """
    B = extent.numel()
    width = int(extent.max()) if B > 0 else 0
    if B * width <= bucket_tokens:
        return None
    lengths, order = torch.sort(extent, descending=True, stable=True)
    lengths = lengths.tolist()  # one host transfer; buckets need host sizes
    buckets: List[Bucket] = []
    start = padded = 0
    while start < B:
        width = lengths[start]
        end = min(B, start + max(1, bucket_tokens // width))
        buckets.append((order[start:end], width))
        padded += (end - start) * width
        start = end
    whole = B * lengths[0]
    return None if padded > (1.0 - min_saving) * whole else buckets


def inverse_order(buckets: List[Bucket]) -> Tensor:
    r"""The permutation that puts the concatenated results of
    :obj:`buckets` back into batch order."""
    order = torch.cat([index for index, _ in buckets])
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    return inverse
