"""What every synthetic generator shares: seeding, the topic-model text and
the assembly of the :class:`~pyg_sip.data.SampleGraph`."""
from typing import Dict

import torch
from torch import Tensor

from pyg_sip.data import SampleGraph, WordTokenizer
from pyg_sip.datasets.synthetic.topics import (
    NUM_SPECIAL_TOKENS,
    SeqLength,
    check_seq_length,
    check_topic_args,
    sample_token_sequences,
    word_distributions,
)

#: Softmax temperature of the topic word distributions (higher: peakier).
TOPIC_SCALE = 2.0
#: Softmax temperature of the shared background word distribution.
BACKGROUND_SCALE = 1.0


def dense_to_edge_index(adj: Tensor) -> Tensor:
    r"""The coalesced ``edge_index`` of a dense symmetric adjacency.

    Shapes:
        - **input:** :math:`(N, N)` bool
        - **output:** :math:`(2, E)` long, sorted by row then column
    """
    return adj.nonzero().t().contiguous()


def word_vocabulary(vocab_size: int) -> list:
    r"""The words ``w0, w1, ...`` of a synthetic vocabulary of
    ``vocab_size`` tokens (4 of them special), word :math:`j` being token
    :math:`j + 4`."""
    return [f'w{j}' for j in range(vocab_size - NUM_SPECIAL_TOKENS)]


class SyntheticGraph:
    r"""Base class of the synthetic pre-training graphs: subclasses build the
    graph and each sample's topic mixture, and this class draws the token
    sequences (see :func:`~pyg_sip.datasets.synthetic.topics.sample_token_sequences`)
    and assembles :attr:`graph`.

    Attributes:
        graph (SampleGraph): The samples (ragged ``tokens``), the pre-training
            graph ``edge_index`` and ``y``, the label set the text follows.
        label_sets (dict[str, torch.Tensor]): Every label set of the samples.
        topic_mixture (torch.Tensor): The topic mixture each sample's text
            was drawn from, :math:`(N, K)`.
        tokenizer (WordTokenizer): The tokenizer of the synthetic words,
            mapping ``w{j}`` to token :math:`j + 4`.
    """
    def __init__(self, seq_length: SeqLength, signal: float, vocab_size: int, seed: int):
        check_seq_length(seq_length)
        check_topic_args(signal, vocab_size)
        self.seq_length = seq_length
        self.signal = signal
        self.vocab_size = vocab_size
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    def _build(self, edge_index: Tensor, mixture: Tensor, label_sets: Dict[str, Tensor],
               target: str) -> None:
        num_words = self.vocab_size - NUM_SPECIAL_TOKENS
        topics = word_distributions(mixture.size(1), num_words, TOPIC_SCALE, self._generator)
        background = word_distributions(1, num_words, BACKGROUND_SCALE, self._generator)[0]
        tokens, token_ptr = sample_token_sequences(mixture, topics, background, self.signal,
                                                   self.seq_length, self._generator)
        self.topic_mixture = mixture
        self.label_sets = label_sets
        self.tokenizer = WordTokenizer(word_vocabulary(self.vocab_size))
        self.graph = SampleGraph(edge_index=edge_index, num_nodes=mixture.size(0),
                                 tokens=tokens, token_ptr=token_ptr,
                                 vocab_size=self.vocab_size,
                                 pad_id=self.tokenizer.pad_id, y=label_sets[target])

    @property
    def num_samples(self) -> int:
        return int(self.graph.num_nodes)

    def _repr_args(self) -> str:  # pragma: no cover - every subclass overrides
        return ''

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self._repr_args()}, num_samples='
                f'{self.num_samples}, num_edges={self.graph.edge_index.size(1) // 2}, '
                f'signal={self.signal}, vocab_size={self.vocab_size}, seed={self.seed})')
