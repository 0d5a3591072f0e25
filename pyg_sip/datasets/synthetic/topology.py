"""A cycle with graphlets attached, and three label sets on it that are
smooth over the graph to different degrees (motif, structural role,
ego-graph similarity)."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.datasets.synthetic.base import SyntheticGraph, dense_to_edge_index
from pyg_sip.datasets.synthetic.graphlets import atlas_sizes, graphlet_edges
from pyg_sip.datasets.synthetic.kmeans import kmeans
from pyg_sip.datasets.synthetic.topics import SeqLength
from pyg_sip.errors import PygSipError

LABEL_SETS = ('motif', 'structural', 'ego')


def cycle_with_graphlets(num_cycle_nodes: int, graphlets: Tensor,
                         generator: Optional[torch.Generator] = None
                         ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""A cycle of ``num_cycle_nodes`` nodes with the atlas ``graphlets``
    attached: graphlet :math:`g` (of :math:`G`) is linked by one edge from
    cycle node :math:`\lfloor g C / G \rfloor` to one of its nodes drawn
    uniformly. Nodes :math:`0, \ldots, C-1` form the cycle; the graphlets
    follow in order.

    Returns:
        The dense symmetric adjacency :math:`(N, N)`, the motif of each node
        (0 for the cycle, :math:`g + 1` for graphlet :math:`g`) and the
        cycle node each graphlet is attached to :math:`(G,)`.
    """
    sizes = atlas_sizes()[graphlets]
    offset = num_cycle_nodes + torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
    n = num_cycle_nodes + int(sizes.sum())
    adj = torch.zeros(n, n, dtype=torch.bool)
    ring = torch.arange(num_cycle_nodes)
    adj[ring, (ring + 1) % num_cycle_nodes] = True
    pairs, owner = graphlet_edges(graphlets)
    pairs = pairs + offset[owner].unsqueeze(1)
    adj[pairs[:, 0], pairs[:, 1]] = True
    anchors = torch.arange(graphlets.numel()) * num_cycle_nodes // max(graphlets.numel(), 1)
    local = (torch.rand(graphlets.numel(), generator=generator) * sizes).long()
    adj[anchors, offset + local] = True
    adj = adj | adj.t()
    adj.fill_diagonal_(False)
    motif = torch.cat([torch.zeros(num_cycle_nodes, dtype=torch.long),
                       torch.arange(1, graphlets.numel() + 1).repeat_interleave(sizes)])
    return adj, motif, anchors


def rooted_subgraph_counts(adj: Tensor) -> Tensor:
    r"""For every node, the number of small subgraphs (not necessarily
    induced) it lies in, by position, from powers of the adjacency
    :math:`A` with degrees :math:`d` and triangles
    :math:`t = \mathrm{diag}(A^3) / 2`:

    .. math::
        \Big[\, d,\; \tbinom{d}{2},\; \tbinom{d}{3},\; t,\;
        P_2 = A d - d,\;
        P_3 = A (A d - d) - d (d - 1) - 2 t,\;
        C_4 = \big(\mathrm{diag}(A^4) - d^2 - P_2\big) / 2 \,\Big],

    i.e. edges, 2- and 3-stars centred at the node, triangles, simple paths
    of length 2 and 3 starting at the node, and 4-cycles through it: a cheap
    stand-in for the graphlet-degree vector.

    Shapes:
        - **input:** :math:`(N, N)` bool symmetric, no self-loops
        - **output:** :math:`(N, 7)` float64
    """
    a = adj.to(torch.float64)
    d = a.sum(1)
    a2 = a @ a
    t = (a2 * a).sum(1) / 2
    p2 = a @ d - d
    p3 = a @ p2 - d * (d - 1) - 2 * t
    c4 = ((a2 * a2).sum(1) - d * d - p2) / 2
    return torch.stack([d, d * (d - 1) / 2, d * (d - 1) * (d - 2) / 6, t, p2, p3, c4], dim=1)


def ego_membership(adj: Tensor, radius: int) -> Tensor:
    r"""Row :math:`i` marks the nodes within ``radius`` hops of node
    :math:`i` (itself included).

    Shapes:
        - **input:** :math:`(N, N)` bool
        - **output:** :math:`(N, N)` bool
    """
    step = adj | torch.eye(adj.size(0), dtype=torch.bool)
    reach = torch.eye(adj.size(0), dtype=torch.bool)
    for _ in range(radius):
        reach = (reach.to(torch.float32) @ step.to(torch.float32)) > 0
    return reach


class GraphletTopology(SyntheticGraph):
    r"""A cycle with graphlets attached and three label sets on the same
    graph, from the "Structure-Inducing Pre-Training" paper (McDermott et
    al., 2023) (synthetic experiment "FT-task topology dependence").

    ``num_graphlets`` graphlets are drawn uniformly from the atlas of the
    143 connected graphs of 1 to 6 nodes (the atlas of ``networkx``'s
    ``graph_atlas_g()``, stored in the package) and attached at regular
    positions along a cycle of ``num_cycle_nodes`` nodes. The label sets:

    * ``'motif'``: the cycle (0) or graphlet (:math:`g + 1`) a node lies in;
    * ``'structural'``: k-means (``num_roles`` clusters) of standardised
      :math:`\log(1 + \cdot)` rooted subgraph counts
      (:func:`rooted_subgraph_counts`, a stand-in for the paper's
      graphlet-degree vectors over the 5-node atlas);
    * ``'ego'``: k-means (``num_ego_clusters`` clusters) of the
      ``ego_radius``-hop ego-graph membership vectors.

    Sample :math:`i`'s text follows topic :math:`\ell_i` of the label set
    ``align_to``, which is also ``graph.y``. Motif and ego labels are smooth
    over the graph; structural roles are not.

    Args:
        num_cycle_nodes (int, optional): Cycle length :math:`C`.
            (default: :obj:`36`)
        num_graphlets (int, optional): Number of graphlets :math:`G \le C`.
            (default: :obj:`9`)
        align_to (str, optional): The label set the text follows:
            ``'motif'``, ``'structural'`` or ``'ego'``.
            (default: :obj:`'motif'`)
        num_roles (int, optional): Number of structural roles.
            (default: :obj:`3`)
        num_ego_clusters (int, optional): Number of ego-graph clusters.
            (default: :obj:`4`)
        ego_radius (int, optional): Ego-graph radius in hops.
            (default: :obj:`4`)
        seq_length (int or (int, int), optional): Tokens per sample, or an
            inclusive range to draw from. (default: :obj:`(20, 40)`)
        signal (float, optional): Probability that a token is drawn from the
            sample's topic rather than the background.
            (default: :obj:`0.13`)
        vocab_size (int, optional): Vocabulary size including the 4 special
            tokens. (default: :obj:`200`)
        seed (int, optional): Random seed. (default: :obj:`0`)

    Attributes:
        graphlets (torch.Tensor): Atlas index of each attached graphlet.
        anchors (torch.Tensor): Cycle node each graphlet hangs from.

    Shapes:
        - **output:** :attr:`graph` with :math:`N = C + \sum_g |g|`
          samples; :attr:`label_sets` ``{'motif', 'structural', 'ego'}``,
          each :math:`(N,)`
    """
    def __init__(self, num_cycle_nodes: int = 36, num_graphlets: int = 9,
                 align_to: str = 'motif', num_roles: int = 3, num_ego_clusters: int = 4,
                 ego_radius: int = 4, seq_length: SeqLength = (20, 40), signal: float = 0.13,
                 vocab_size: int = 200, seed: int = 0):
        if align_to not in LABEL_SETS:
            raise PygSipError(f"unknown align_to '{align_to}', expected one of {LABEL_SETS}")
        if num_cycle_nodes < 3 or not 0 <= num_graphlets <= num_cycle_nodes:
            raise PygSipError(f'need num_cycle_nodes >= 3 and 0 <= num_graphlets <= '
                              f'num_cycle_nodes, got num_cycle_nodes={num_cycle_nodes}, '
                              f'num_graphlets={num_graphlets}')
        if num_roles < 1 or num_ego_clusters < 1 or ego_radius < 0:
            raise PygSipError(f'num_roles and num_ego_clusters must be positive and ego_radius '
                              f'>= 0, got num_roles={num_roles}, num_ego_clusters='
                              f'{num_ego_clusters}, ego_radius={ego_radius}')
        super().__init__(seq_length=seq_length, signal=signal, vocab_size=vocab_size, seed=seed)
        self.num_cycle_nodes = num_cycle_nodes
        self.num_graphlets = num_graphlets
        self.align_to = align_to
        self.num_roles = num_roles
        self.num_ego_clusters = num_ego_clusters
        self.ego_radius = ego_radius

        self.graphlets = torch.randint(atlas_sizes().numel(), (num_graphlets, ),
                                       generator=self._generator)
        adj, motif, self.anchors = cycle_with_graphlets(num_cycle_nodes, self.graphlets,
                                                        self._generator)
        counts = rooted_subgraph_counts(adj).log1p()
        counts = (counts - counts.mean(0)) / counts.std(0).clamp(min=1e-12)
        structural = kmeans(counts, num_roles, generator=self._generator)
        ego = kmeans(ego_membership(adj, ego_radius).to(torch.float64), num_ego_clusters,
                     generator=self._generator)
        label_sets = {'motif': motif, 'structural': structural, 'ego': ego}
        target = label_sets[align_to]
        mixture = torch.nn.functional.one_hot(target, int(target.max()) + 1).to(torch.float64)
        self._build(dense_to_edge_index(adj), mixture, label_sets, align_to)

    def _repr_args(self) -> str:
        return (f'num_cycle_nodes={self.num_cycle_nodes}, num_graphlets={self.num_graphlets}, '
                f"align_to='{self.align_to}'")
