"""StructureLoader: batches of anchors with positives, negatives and payload."""
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch.utils.data import DataLoader
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError
from pyg_sip.sampling.batch import StructureBatch
from pyg_sip.sampling.csr import CSRGraph
from pyg_sip.sampling.in_batch import InBatchNegatives
from pyg_sip.sampling.negative import NegativeSampler, check_policy
from pyg_sip.sampling.neighbor import remove_pairs, sample_neighbors, sample_positives
from pyg_sip.utils.checks import as_tensor, check_edge_index, check_index, check_int, first_true

_MASK64 = (1 << 64) - 1


class StructureLoader:
    r"""Iterates over anchor samples of a pre-training graph :math:`G_{PT}`
    and yields structure batches for Structure-Inducing Pre-Training
    (`McDermott et al., 2023 <https://arxiv.org/abs/2103.10334>`_).

    Each anchor :math:`a` with :math:`\deg(a) \ge 1` gets
    :math:`\min(k^+, \deg(a))` distinct positives drawn uniformly from its
    neighbours and :math:`\min(k^-, |\mathcal{C}(a)|)` distinct negatives from

    .. math::
        \mathcal{C}(a) = \mathcal{U}(a) \setminus (\mathcal{N}(a) \cup \{a\})

    by the policy ``negative_sampling``, where
    :math:`\mathcal{N}(a) = \{j : (a, j) \in \mathcal{E}\}` ignoring
    self-loops (see :class:`NegativeSampler`, also for the ``'hard'``
    fallback). Anchors without neighbours get no pairs but stay in the batch,
    so their per-sample loss is kept. Sampling runs on the CPU in pure
    PyTorch (no pyg-lib or torch-sparse needed). Every batch is a
    :class:`~pyg_sip.sampling.StructureBatch` (its fields are documented
    there): the :math:`U` distinct samples of the batch (anchors first) in
    ``n_id``, ``num_anchors``, ``num_embedded``, the pairs ``pos_index`` /
    ``neg_index`` as local indices, the payload from ``graph.payload(n_id,
    max_length)`` (or ``x[n_id]`` for a plain :class:`Data`), and, in
    message-passing mode (``num_neighbors`` given), the sampled k-hop
    ``edge_index`` without anchor–positive edges.

    Batch :math:`i` of epoch :math:`e` draws from a generator seeded by
    :math:`(\text{seed}, e, i)`, so batches are reproducible, also with
    ``num_workers > 0``, and differ between epochs.

    Args:
        graph (SampleGraph or Data): The pre-training graph (``edge_index``,
            ``num_nodes``; optional ``group`` and payload).
        batch_size (int): Anchors per batch.
        num_positives (int): Positives :math:`k^+` per anchor.
        num_negatives (int or None): Negatives :math:`k^-` per anchor.
            :obj:`None` (only with :obj:`'in_batch'`): every other sample of
            the batch is a negative of each anchor except its pre-training
            graph neighbours, given as an
            :class:`~pyg_sip.sampling.InBatchNegatives` ``neg_index`` that
            no :math:`[2, B^2]` pair list is built for (the setting of
            in-batch InfoNCE / ``MultipleNegativesRankingLoss``).
        negative_sampling (str, optional): :obj:`'uniform'`, :obj:`'degree'`,
            :obj:`'group'`, :obj:`'hard'` or :obj:`'in_batch'`.
            (default: :obj:`'uniform'`)
        num_neighbors (List[int], optional): Neighbours per hop for
            message-passing encoders (:obj:`-1`: all). (default: :obj:`None`)
        input_nodes (torch.Tensor, optional): Anchor ids or a boolean mask.
            (default: :obj:`None`, all nodes)
        shuffle (bool, optional): Shuffle anchors every epoch.
            (default: :obj:`True`)
        seed (int, optional): The random seed. (default: :obj:`None`, drawn
            from torch's global generator)
        num_workers (int, optional): Worker processes. (default: :obj:`0`)
        mp_edge_index (torch.Tensor, optional): Message-passing graph, if not
            :math:`G_{PT}`. (default: :obj:`None`)
        negative_weights (torch.Tensor, optional): Node weights for
            :obj:`'degree'`. (default: :obj:`None`, :math:`\deg^{0.75}`)
        max_length (int, optional): Truncation of token payloads.
            (default: :obj:`None`)
        drop_last (bool, optional): Drop the last incomplete batch.
            (default: :obj:`False`)
        num_rounds (int, optional): Rejection rounds for negatives.
            (default: :obj:`8`)

    Shapes:
        - **output:** n_id :math:`(U')`, pos_index :math:`(2, P)`,
          neg_index :math:`(2, Q)`, edge_index :math:`(2, E')`
    """
    def __init__(
        self,
        graph: Data,
        batch_size: int,
        num_positives: int,
        num_negatives: int,
        negative_sampling: str = 'uniform',
        num_neighbors: Optional[Sequence[int]] = None,
        input_nodes: Optional[Union[Tensor, Sequence[int]]] = None,
        shuffle: bool = True,
        seed: Optional[int] = None,
        num_workers: int = 0,
        *,
        mp_edge_index: Optional[Tensor] = None,
        negative_weights: Optional[Tensor] = None,
        max_length: Optional[int] = None,
        drop_last: bool = False,
        num_rounds: int = 8,
    ):
        if not isinstance(graph, Data):
            raise PygSipError(f"'graph' must be a SampleGraph or a "
                              f'torch_geometric Data, got {type(graph).__name__}')
        if getattr(graph, 'edge_index', None) is None:
            raise PygSipError("The graph needs an 'edge_index' (the "
                              'pre-training graph)')
        N = check_int('graph.num_nodes', graph.num_nodes, low=0)
        check_int('batch_size', batch_size, low=1)
        check_int('num_positives', num_positives, low=0)
        if num_negatives is None and negative_sampling != 'in_batch':
            raise PygSipError("'num_negatives' may be None (all in-batch "
                              "negatives) only with negative_sampling="
                              f"'in_batch', got {negative_sampling!r}")
        if num_negatives is not None:
            check_int('num_negatives', num_negatives, low=0)
        check_int('num_workers', num_workers, low=0)
        check_int('num_rounds', num_rounds, low=0)
        check_int('max_length', max_length, low=1, optional=True)
        check_int('seed', seed, low=None, optional=True)
        for name, flag in (('shuffle', shuffle), ('drop_last', drop_last)):
            if not isinstance(flag, bool):
                raise PygSipError(f"'{name}' must be True or False, got "
                                  f'{flag!r}')
        check_policy(negative_sampling, N, negative_weights,
                     getattr(graph, 'group', None))
        if num_neighbors is not None:
            if isinstance(num_neighbors, (str, bytes)) or not isinstance(
                    num_neighbors, Sequence):
                raise PygSipError(f"'num_neighbors' must be a list of "
                                  f'integers, got {num_neighbors!r}')
            num_neighbors = list(num_neighbors)
            for hop, k in enumerate(num_neighbors):
                check_int(f'num_neighbors[{hop}]', k, low=-1)
        edge_index = _check_edges('edge_index', graph.edge_index, N)
        if mp_edge_index is not None:
            mp_edge_index = _check_edges('mp_edge_index', mp_edge_index, N)
        self.input_nodes = _check_input_nodes(input_nodes, N)

        self.graph, self.batch_size = graph, batch_size
        self.num_positives, self.num_negatives = num_positives, num_negatives
        self.negative_sampling, self.num_neighbors = negative_sampling, num_neighbors
        self.shuffle, self.num_workers = shuffle, num_workers
        self.max_length, self.drop_last = max_length, drop_last
        if seed is None:
            seed = int(torch.randint(2**62, ()))
        self.seed, self.epoch = int(seed), 0

        self.structure = CSRGraph(edge_index, N, remove_self_loops=True)
        self.negative_sampler = NegativeSampler(
            self.structure, negative_sampling, negative_weights,
            getattr(graph, 'group', None), num_rounds)
        self.message_passing: Optional[CSRGraph] = None
        if num_neighbors is not None:  # CSR over message targets
            mp = edge_index if mp_edge_index is None else mp_edge_index
            self.message_passing = CSRGraph(mp.flip(0), N)
            if torch.equal(self.message_passing.keys, self.structure.keys):
                self.message_passing = self.structure

    def __len__(self) -> int:
        n = self.input_nodes.numel()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        r"""Sets the epoch that the next iteration samples."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[StructureBatch]:
        epoch = self.epoch
        self.epoch += 1
        anchors = self.input_nodes
        if self.shuffle:
            gen = torch.Generator().manual_seed(_mix(self.seed, epoch))
            anchors = anchors[torch.randperm(anchors.numel(), generator=gen)]
        batches = _EpochBatches(self, anchors, epoch)
        if self.num_workers == 0:
            return map(batches, range(len(self)))
        return iter(DataLoader(range(len(self)), batch_size=None,
                               collate_fn=batches, num_workers=self.num_workers))

    def sample(self, anchor: Tensor,
               generator: Optional[torch.Generator] = None) -> StructureBatch:
        r"""Builds the batch of the anchors ``anchor`` (what iteration yields
        for each chunk of anchors).

        Args:
            anchor (torch.Tensor): Distinct anchor ids, shape :obj:`[B]`.
            generator (torch.Generator, optional): The random generator.
                (default: :obj:`None`)
        """
        B, g = anchor.numel(), self.structure
        pos, pos_mask = sample_positives(g.rowptr, g.col, anchor,
                                         self.num_positives, generator)
        pos = pos.masked_select(pos_mask)
        row = torch.arange(B).view(-1, 1)
        if self.num_negatives is None:  # every other sample of the batch
            n_id, local = relabel(anchor, pos, g.num_nodes)
            neg_index = InBatchNegatives(num_anchors=B,
                                         exclude=self._neighbours_within(anchor, n_id))
        else:
            batch_nodes = (torch.cat([anchor, pos]) if self.negative_sampling == 'in_batch'
                           else None)
            neg, neg_mask = self.negative_sampler(anchor, self.num_negatives,
                                                  generator, batch_nodes)
            neg = neg.masked_select(neg_mask)
            n_id, local = relabel(anchor, torch.cat([pos, neg]), g.num_nodes)
            neg_index = torch.stack([row.expand_as(neg_mask).masked_select(neg_mask),
                                     local[pos.numel():]])
        pos_index = torch.stack([row.expand_as(pos_mask).masked_select(pos_mask),
                                 local[:pos.numel()]])
        num_embedded = n_id.numel()

        edge_index = None
        if self.message_passing is not None:
            mp = self.message_passing
            n_id, edge_index = sample_neighbors(mp.rowptr, mp.col, n_id,
                                                self.num_neighbors, generator)
            edge_index = remove_pairs(edge_index, pos_index, n_id.numel())
        batch = StructureBatch(n_id=n_id, pos_index=pos_index,
                               neg_index=neg_index, num_anchors=B,
                               num_embedded=num_embedded,
                               **self._payload(n_id))
        if edge_index is not None:
            batch.edge_index = edge_index
        return batch

    def _neighbours_within(self, anchor: Tensor, n_id: Tensor) -> Tensor:
        r"""The local pairs :math:`[2, E]` (anchor row, sample row) of the
        pre-training graph's edges from ``anchor`` (rows :math:`[0, B)` of
        ``n_id``) to the samples of ``n_id``: the false negatives of
        in-batch negatives."""
        seg, nbr = self.structure.neighbors(anchor)
        if n_id.numel() == 0 or nbr.numel() == 0:
            return torch.empty(2, 0, dtype=torch.long)
        sorted_id, perm = n_id.sort()
        at = torch.searchsorted(sorted_id, nbr).clamp_(max=n_id.numel() - 1)
        hit = sorted_id[at] == nbr
        return torch.stack([seg[hit], perm[at[hit]]])

    def _payload(self, n_id: Tensor) -> Dict[str, Any]:
        if callable(getattr(type(self.graph), 'payload', None)):
            return dict(self.graph.payload(n_id, self.max_length))
        x = getattr(self.graph, 'x', None)
        return {} if x is None else {'x': x[n_id]}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_anchors='
                f'{self.input_nodes.numel()}, batch_size={self.batch_size}, '
                f'num_positives={self.num_positives}, '
                f'num_negatives={self.num_negatives}, '
                f"negative_sampling='{self.negative_sampling}', "
                f'num_neighbors={self.num_neighbors})')


class _EpochBatches:
    r"""Maps a batch index of one epoch to its batch (picklable for
    workers)."""
    def __init__(self, loader: StructureLoader, anchors: Tensor, epoch: int):
        self.loader, self.anchors, self.epoch = loader, anchors, epoch

    def __call__(self, index: int) -> StructureBatch:
        size = self.loader.batch_size
        gen = torch.Generator().manual_seed(
            _mix(self.loader.seed, self.epoch, index + 1))
        return self.loader.sample(self.anchors[index * size:(index + 1) * size],
                                  gen)


def relabel(anchor: Tensor, other: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""Deduplicates the nodes of a batch, anchors first: returns ``(n_id,
    local)`` with ``n_id = [anchor, sorted distinct other nodes]`` and
    ``n_id[local] = other``.

    A node bitmap over the graph (:math:`O(N + M)`) replaces sorting the
    :math:`M` ids when the graph has at most as many nodes as the batch
    has ids.

    Raises:
        PygSipError: If the anchors are not distinct.

    Shapes:
        - **input:** anchor :math:`(B)`, other :math:`(M)`
        - **output:** n_id :math:`(U)`, local :math:`(M)`
    """
    B = anchor.numel()
    if num_nodes <= B + other.numel():
        mark = torch.zeros(num_nodes, dtype=torch.bool)
        mark[other] = True
        mark[anchor] = False
        n_id = torch.cat([anchor, mark.nonzero().view(-1)])
        lut = torch.empty(num_nodes, dtype=torch.long)
        lut[n_id] = torch.arange(n_id.numel())
        if not torch.equal(lut[anchor], torch.arange(B)):
            raise PygSipError('The anchors of a batch must be distinct')
        return n_id, lut[other]
    ids = torch.cat([anchor, other])
    if num_nodes < 2**31:  # 32-bit keys sort faster
        ids = ids.int()
    values, inverse = torch.unique(ids, return_inverse=True)
    values = values.long()
    is_anchor = torch.zeros(values.numel(), dtype=torch.bool)
    is_anchor[inverse[:B]] = True
    if int(is_anchor.sum()) != B:
        raise PygSipError('The anchors of a batch must be distinct')
    # local id = rank in [anchors, others]
    order = torch.cat([inverse[:B], (~is_anchor).nonzero().view(-1)])
    local = torch.empty_like(order)
    local[order] = torch.arange(order.numel())
    return values[order], local[inverse[B:]]


def _mix(*values: int) -> int:
    r"""Hashes integers into one 63-bit seed (SplitMix64 finaliser)."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = ((h ^ (v & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 29
    return h >> 1


def _check_edges(name: str, edge_index: Any, num_nodes: int) -> Tensor:
    # sampling runs on the CPU
    return check_edge_index(name, as_tensor(name, edge_index).cpu(), num_nodes)


def _check_input_nodes(input_nodes: Any, num_nodes: int) -> Tensor:
    if input_nodes is None:
        return torch.arange(num_nodes)
    nodes = check_index('input_nodes', as_tensor('input_nodes', input_nodes).cpu(),
                        num_nodes)
    ordered = nodes.sort()[0]
    pos = first_true(ordered[1:] == ordered[:-1])
    if pos >= 0:
        raise PygSipError(f"'input_nodes' repeats node {int(ordered[pos])}")
    return nodes
