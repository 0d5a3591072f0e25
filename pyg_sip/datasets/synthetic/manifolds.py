"""Samples on a surface, linked within a geodesic radius, with topics that
vary smoothly over the surface."""
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.datasets.synthetic.base import SyntheticGraph, dense_to_edge_index
from pyg_sip.datasets.synthetic.surfaces import (
    check_surface,
    geodesic_distance,
    sample_surface,
)
from pyg_sip.datasets.synthetic.topics import SeqLength
from pyg_sip.errors import PygSipError


def spread_centres(kind: str, num_centres: int, num_candidates: int, num_iter: int = 10,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Spreads ``num_centres`` points evenly over the surface ``kind``:
    among ``num_candidates`` uniform random points, greedy farthest-point
    selection (by geodesic distance) followed by ``num_iter`` k-medoids
    steps (each centre moves to the candidate of its Voronoi cell with the
    least sum of squared distances to the cell), so that the cells have
    similar areas.

    Shapes:
        - **output:** :math:`(K, D)`
    """
    cand = sample_surface(kind, num_candidates, generator)
    dist2 = geodesic_distance(kind, cand, cand).pow(2)  # [M, M]
    chosen = torch.zeros(num_centres, dtype=torch.long)
    closest = dist2[:, 0].clone()
    for k in range(1, num_centres):
        chosen[k] = closest.argmax()
        closest = torch.minimum(closest, dist2[:, chosen[k]])
    for _ in range(num_iter):
        cell = dist2[:, chosen].argmin(dim=1)  # [M]
        member = torch.nn.functional.one_hot(cell, num_centres).to(dist2.dtype)
        cost = dist2 @ member  # cost[c, k]: candidate c as the medoid of cell k
        cost = cost.masked_fill(member == 0, float('inf'))
        new = cost.argmin(dim=0)
        if torch.equal(new, chosen):
            break
        chosen = new
    return cand[chosen]


class ManifoldGraph(SyntheticGraph):
    r"""Samples scattered over a surface and linked within a geodesic
    radius, with topics that vary smoothly over the surface, from the
    "Structure-Inducing Pre-Training" paper (McDermott et al., 2023)
    (synthetic experiment "manifold graphs").

    Positions :math:`x_i` are uniform on a unit-area surface (``plane``,
    ``sphere``, ``torus`` or ``mobius``; see
    :mod:`pyg_sip.datasets.synthetic.surfaces` for the exact geodesic
    metric :math:`d` of each, which treats the flat torus and Möbius strip as
    quotients of the plane). :math:`K` topic centres :math:`c_k` are spread
    over the surface (farthest-point sampling refined by k-medoids); sample
    :math:`i` draws its text from the topic mixture and carries the label of
    its nearest centre:

    .. math::
        \pi_{ik} \propto \exp\left(-d(x_i, c_k)^2 / \sigma^2\right),
        \qquad y_i = \arg\max_k \pi_{ik},
        \qquad (i, j) \in E \iff i \neq j \land d(x_i, x_j) \le r.

    The paper placed Wikipedia sentences on triangulated surfaces through
    their LDA topic mixtures and approximated geodesics on the triangulation;
    here the surfaces are parametric and the distances exact.

    Args:
        kind (str): ``'plane'``, ``'sphere'``, ``'torus'`` or ``'mobius'``.
        num_samples (int, optional): Number of samples :math:`N`.
            (default: :obj:`300`)
        radius (float, optional): Geodesic radius :math:`r` of the
            pre-training graph (mean degree about
            :math:`N \pi r^2` away from boundaries). (default: :obj:`0.1`)
        num_topics (int, optional): Number of topics :math:`K`.
            (default: :obj:`6`)
        topic_width (float, optional): Width :math:`\sigma` of each topic's
            region. (default: :obj:`0.15`)
        seq_length (int or (int, int), optional): Tokens per sample, or an
            inclusive range to draw from. (default: :obj:`(20, 40)`)
        signal (float, optional): Probability that a token is drawn from the
            sample's topics rather than the background.
            (default: :obj:`0.13`)
        vocab_size (int, optional): Vocabulary size including the 4 special
            tokens. (default: :obj:`200`)
        seed (int, optional): Random seed. (default: :obj:`0`)

    Attributes:
        pos (torch.Tensor): Sample positions, :math:`(N, 2)` (:math:`(N, 3)`
            on the sphere).
        centres (torch.Tensor): Topic centres, :math:`(K, 2)` or
            :math:`(K, 3)`.

    Shapes:
        - **output:** :attr:`graph` with :math:`N` samples, ``y``
          :math:`(N,)` the topic; :attr:`label_sets` ``{'topic': y}``
    """
    def __init__(self, kind: str, num_samples: int = 300, radius: float = 0.1,
                 num_topics: int = 6, topic_width: float = 0.15,
                 seq_length: SeqLength = (20, 40), signal: float = 0.13,
                 vocab_size: int = 200, seed: int = 0):
        check_surface(kind)
        if num_samples < 1 or num_topics < 1:
            raise PygSipError(f'num_samples and num_topics must be positive, got '
                              f'num_samples={num_samples}, num_topics={num_topics}')
        if radius < 0 or topic_width <= 0:
            raise PygSipError(f'radius must be >= 0 and topic_width > 0, got '
                              f'radius={radius}, topic_width={topic_width}')
        super().__init__(seq_length=seq_length, signal=signal, vocab_size=vocab_size, seed=seed)
        self.kind = kind
        self.radius = radius
        self.num_topics = num_topics
        self.topic_width = topic_width

        self.pos = sample_surface(kind, num_samples, self._generator)
        self.centres = spread_centres(kind, num_topics, 64 * num_topics,
                                      generator=self._generator)
        to_centre = geodesic_distance(kind, self.pos, self.centres)
        mixture = torch.softmax(-to_centre.pow(2) / topic_width**2, dim=1)
        y = to_centre.argmin(dim=1)

        adj = geodesic_distance(kind, self.pos, self.pos) <= radius
        adj.fill_diagonal_(False)
        self._build(dense_to_edge_index(adj), mixture, {'topic': y}, 'topic')

    def _repr_args(self) -> str:
        return (f"kind='{self.kind}', radius={self.radius}, num_topics={self.num_topics}, "
                f'topic_width={self.topic_width}')
