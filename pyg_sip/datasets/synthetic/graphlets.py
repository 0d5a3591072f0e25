"""The atlas of connected graphlets (connected graphs of 1 to 6 nodes, up to
isomorphism), in the order and node labelling of the *Atlas of Graphs*
(Read & Wilson, 1998), as in ``networkx.graph_atlas_g()``, stored here so that
no graph library is needed at run time."""
from typing import Tuple

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

#: Number of connected graphs on 1, 2, ..., 6 nodes.
ATLAS_COUNTS = (1, 1, 2, 6, 21, 112)

# Edge bitmasks: bit b is set iff the b-th pair of
# itertools.combinations(range(6), 2) = (0, 1), (0, 2), ..., (4, 5) is an edge.
_MASKS = (
    0, 1, 3, 35, 580, 37, 612, 549, 551, 615, 5256, 4680, 553, 5768, 555, 4712, 1729, 4649,
    1761, 5825, 5769, 4653, 238, 5864, 5836, 4841, 1262, 5837, 5805, 5869, 5871, 26896, 929,
    12295, 9313, 4696, 21009, 30992, 13452, 29448, 5304, 126, 9442, 8302, 15426, 28679,
    4728, 1752, 4905, 21041, 22216, 4001, 8814, 18152, 20353, 16927, 5033, 8847, 5848,
    23202, 4909, 1784, 4907, 26850, 13010, 21106, 21045, 12857, 28711, 639, 8815, 3811,
    5097, 21225, 2923, 4857, 2895, 31394, 17015, 11083, 22232, 6715, 15768, 24113, 20723,
    6717, 18168, 29481, 22321, 6969, 23217, 3943, 2927, 22189, 31458, 19303, 32152, 6719,
    20731, 20979, 17023, 13117, 21118, 22134, 6971, 15770, 31289, 6973, 24117, 23431, 23221,
    22253, 5885, 32153, 29673, 22142, 24182, 21497, 15165, 7099, 28611, 31545, 22387, 22390,
    30963, 6127, 12263, 22269, 26351, 31219, 24538, 22007, 16283, 24501, 30447, 4095, 32667,
    22519, 30587, 22527, 30591, 32763, 32767
)

_PAIRS = torch.combinations(torch.arange(6), r=2)  # [15, 2], lexicographic


def atlas_sizes() -> Tensor:
    r"""The number of nodes of each atlas graphlet.

    Shapes:
        - **output:** :math:`(143,)` long
    """
    return torch.repeat_interleave(torch.arange(1, 7), torch.tensor(ATLAS_COUNTS))


def graphlet_edges(index: Tensor) -> Tuple[Tensor, Tensor]:
    r"""The edges of the atlas graphlets ``index``, as one directed-pair list
    (each undirected edge once, :math:`i < j`, in local node ids) and the
    graphlet each edge belongs to.

    Shapes:
        - **input:** :math:`(G,)` long, values in :math:`[0, 143)`
        - **output:** pairs :math:`(E, 2)`, graphlet :math:`(E,)`
    """
    if index.numel() > 0 and (int(index.min()) < 0 or int(index.max()) >= len(_MASKS)):
        bad = index[(index < 0) | (index >= len(_MASKS))][0]
        raise PygSipError(f'graphlet index {int(bad)} out of range [0, {len(_MASKS)})')
    masks = torch.tensor(_MASKS, dtype=torch.long)[index]
    bits = (masks.unsqueeze(1) >> torch.arange(_PAIRS.size(0))) & 1  # [G, 15]
    graphlet, pair = bits.nonzero(as_tuple=True)
    return _PAIRS[pair], graphlet
