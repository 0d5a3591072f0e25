"""A bag-of-words topic model that gives every synthetic sample a token
sequence which is only weakly informative of the sample's topic."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

#: Token ids below this value are the special tokens PAD, MASK, CLS, UNK.
NUM_SPECIAL_TOKENS = 4

SeqLength = Union[int, Tuple[int, int]]


def check_seq_length(seq_length: SeqLength) -> Tuple[int, int]:
    r"""Normalise ``seq_length`` (an int or an inclusive ``(min, max)``
    pair) to a ``(min, max)`` pair, raising :class:`PygSipError` when it is
    not a valid range of positive lengths."""
    if isinstance(seq_length, int):
        seq_length = (seq_length, seq_length)
    lo, hi = (int(v) for v in seq_length)
    if lo < 1 or hi < lo:
        raise PygSipError(f'seq_length must be a positive int or a pair (min, max) '
                          f'with 1 <= min <= max, got {tuple(seq_length)}')
    return lo, hi


def check_topic_args(signal: float, vocab_size: int) -> None:
    r"""Raise :class:`PygSipError` for a ``signal`` outside ``[0, 1]`` or a
    ``vocab_size`` that leaves fewer than two regular words."""
    if not 0.0 <= signal <= 1.0:
        raise PygSipError(f'signal must lie in [0, 1], got {signal}')
    if vocab_size < NUM_SPECIAL_TOKENS + 2:
        raise PygSipError(f'vocab_size must be at least {NUM_SPECIAL_TOKENS + 2} '
                          f'({NUM_SPECIAL_TOKENS} special tokens + 2 words), got {vocab_size}')


def word_distributions(num_topics: int, num_words: int, scale: float,
                       generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws ``num_topics`` word distributions over ``num_words`` words,
    each a softmax of Gaussian logits,

    .. math::
        \boldsymbol{\beta}_k = \mathrm{softmax}(s \cdot \mathbf{g}_k),
        \qquad \mathbf{g}_k \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

    so that a larger ``scale`` :math:`s` concentrates a topic on fewer words.

    Returns:
        A ``[num_topics, num_words]`` row-stochastic tensor.
    """
    logits = torch.randn(num_topics, num_words, generator=generator, dtype=torch.float64)
    return torch.softmax(scale * logits, dim=-1)


def sample_token_sequences(
    mixture: Tensor,
    topics: Tensor,
    background: Tensor,
    signal: float,
    seq_length: SeqLength,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Samples one ragged token sequence per sample. Each token is, with
    probability ``signal``, a word of a topic drawn from the sample's topic
    ``mixture`` and otherwise a word of the shared ``background``:

    .. math::
        w \sim \alpha \sum_k \pi_{ik} \boldsymbol{\beta}_k
        + (1 - \alpha) \boldsymbol{\beta}_0,

    with lengths drawn uniformly from the inclusive range ``seq_length``.
    Word :math:`j` gets token id :math:`j + 4` (ids 0-3 are PAD, MASK, CLS,
    UNK).

    Args:
        mixture (torch.Tensor): Topic mixture per sample, rows sum to one.
        topics (torch.Tensor): Word distribution per topic.
        background (torch.Tensor): Shared word distribution.
        signal (float): The probability :math:`\alpha` that a token comes
            from the sample's topics.
        seq_length (int or (int, int)): Sequence length or inclusive range.
        generator (torch.Generator, optional): Random number generator.

    Shapes:
        - **input:** mixture :math:`(N, K)`, topics :math:`(K, V)`,
          background :math:`(V,)`
        - **output:** tokens :math:`(T,)`, token_ptr :math:`(N + 1,)`
    """
    lo, hi = check_seq_length(seq_length)
    num_samples = mixture.size(0)
    probs = signal * (mixture.to(topics.dtype) @ topics) + (1.0 - signal) * background
    lengths = torch.randint(lo, hi + 1, (num_samples, ), generator=generator)
    draws = torch.multinomial(probs, hi, replacement=True, generator=generator)
    keep = torch.arange(hi).unsqueeze(0) < lengths.unsqueeze(1)
    tokens = draws[keep] + NUM_SPECIAL_TOKENS
    token_ptr = torch.zeros(num_samples + 1, dtype=torch.long)
    token_ptr[1:] = lengths.cumsum(0)
    return tokens, token_ptr
