"""Disjoint cliques with random extra edges."""
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.datasets.synthetic.base import SyntheticGraph, dense_to_edge_index
from pyg_sip.datasets.synthetic.topics import SeqLength
from pyg_sip.errors import PygSipError


def noisy_clique_adjacency(y: Tensor, noise: float,
                           generator: Optional[torch.Generator] = None) -> Tensor:
    r"""The dense adjacency of the graph that links every pair of samples
    with equal ``y`` and adds every other pair independently with
    probability ``noise``; no self-loops. Uses :math:`O(N^2)` memory.

    Shapes:
        - **input:** :math:`(N,)`
        - **output:** :math:`(N, N)` bool, symmetric
    """
    n = y.numel()
    upper = torch.rand(n, n, generator=generator) < noise
    upper = torch.triu(upper, diagonal=1)
    adj = (y.unsqueeze(0) == y.unsqueeze(1)) | upper | upper.t()
    adj.fill_diagonal_(False)
    return adj


class NoisyCliques(SyntheticGraph):
    r"""Disjoint cliques, one per topic, with random extra edges, from the
    "Structure-Inducing Pre-Training" paper (McDermott et al., 2023)
    (synthetic experiment "disconnected cliques with noise").

    Sample :math:`i` belongs to clique :math:`y_i = \lfloor i / s \rfloor`
    (``clique_size`` :math:`s`); the pre-training graph links

    .. math::
        (i, j) \in E \iff y_i = y_j \;\lor\; u_{ij} < p,
        \qquad u_{ij} \sim \mathcal{U}(0, 1),\ i \neq j,

    and every sample's tokens come from its clique's topic with probability
    ``signal`` and from a shared background otherwise. At ``noise = 0`` the
    graph determines the topic exactly; the text alone only weakly.

    The result is :attr:`graph`, a :class:`~pyg_sip.data.SampleGraph` with
    ragged ``tokens`` and ``y`` the topic (clique) of each sample, and
    :attr:`label_sets` ``{'topic': y}``.

    Args:
        num_cliques (int, optional): Number of cliques (= topics).
            (default: :obj:`10`)
        clique_size (int, optional): Samples per clique. (default: :obj:`20`)
        noise (float, optional): Probability :math:`p` of each extra edge;
            the paper used :math:`p \in \{0, 0.05, 0.1, 0.15, 0.5\}`.
            (default: :obj:`0.0`)
        seq_length (int or (int, int), optional): Tokens per sample, or an
            inclusive range to draw from. (default: :obj:`(20, 40)`)
        signal (float, optional): Probability that a token is drawn from the
            sample's topic rather than the background.
            (default: :obj:`0.13`)
        vocab_size (int, optional): Vocabulary size including the 4 special
            tokens. (default: :obj:`200`)
        seed (int, optional): Random seed; equal seeds give equal graphs.
            (default: :obj:`0`)

    Shapes:
        - **output:** :attr:`graph` with :math:`N = \text{num\_cliques} \cdot
          \text{clique\_size}` samples
    """
    def __init__(self, num_cliques: int = 10, clique_size: int = 20, noise: float = 0.0,
                 seq_length: SeqLength = (20, 40), signal: float = 0.13,
                 vocab_size: int = 200, seed: int = 0):
        if num_cliques < 1 or clique_size < 1:
            raise PygSipError(f'num_cliques and clique_size must be positive, got '
                              f'num_cliques={num_cliques}, clique_size={clique_size}')
        if not 0.0 <= noise <= 1.0:
            raise PygSipError(f'noise must lie in [0, 1], got {noise}')
        super().__init__(seq_length=seq_length, signal=signal, vocab_size=vocab_size, seed=seed)
        self.num_cliques = num_cliques
        self.clique_size = clique_size
        self.noise = noise

        y = torch.arange(num_cliques).repeat_interleave(clique_size)
        adj = noisy_clique_adjacency(y, noise, self._generator)
        mixture = torch.nn.functional.one_hot(y, num_cliques).to(torch.float64)
        self._build(dense_to_edge_index(adj), mixture, {'topic': y}, 'topic')

    def _repr_args(self) -> str:
        return (f'num_cliques={self.num_cliques}, clique_size={self.clique_size}, '
                f'noise={self.noise}')
