"""Negative sampling policies over a pre-training graph."""
from functools import partial
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.sampling.csr import CSRGraph
from pyg_sip.sampling.weighted import WeightedDraw
from pyg_sip.utils.edges import contains, split_keys
from pyg_sip.utils.segment import expand_ranges, expand_segments

NEGATIVE_SAMPLING = ('uniform', 'degree', 'group', 'hard', 'in_batch')

# 'hard': anchors with at most this many 2-step walks per negative slot are
# enumerated exactly instead of filled by rejection.
_WALKS_PER_SLOT = 2
# ... and anchors with more than this many get extra rounds before that.
_MANY_WALKS_PER_SLOT = 4


def available_policies() -> Tuple[str, ...]:
    r"""The names of the negative-sampling policies of
    :class:`NegativeSampler` (and :class:`~pyg_sip.sampling.StructureLoader`'s
    ``negative_sampling``)."""
    return NEGATIVE_SAMPLING


class NegativeSampler:
    r"""Draws negatives for anchors: distinct samples that are neither the
    anchor nor one of its neighbours in the pre-training graph
    :math:`G_{PT}`, following a named policy.

    For an anchor :math:`a` with :math:`\deg(a) \ge 1` the candidate set is

    .. math::
        \mathcal{C}(a) = \mathcal{U}(a) \setminus (\mathcal{N}(a) \cup \{a\}),

    with the universe :math:`\mathcal{U}(a)` and proposal law :math:`q` set by
    the policy:

    - ``'uniform'``: all nodes, :math:`q(j) = 1/N`;
    - ``'degree'``: nodes with :math:`w_j > 0`, :math:`q(j) \propto w_j`,
      by default :math:`w_j = \deg(j)^{0.75}` (so isolated nodes are never
      degree negatives);
    - ``'group'``: the nodes with the anchor's group, uniform (the paper's
      same-species negatives);
    - ``'hard'``: nodes at distance exactly 2, proposed by a two-step random
      walk :math:`a \to u \to j` (nodes with many common neighbours are drawn
      more often);
    - ``'in_batch'``: the distinct samples of ``batch_nodes`` (the batch's
      anchors and positives), uniform.

    Each anchor gets :math:`\min(k, |\mathcal{C}(a)|)` distinct negatives:
    when fewer than :math:`k` candidates exist, all of them are taken. The
    ``'hard'`` policy is the one exception: when :math:`a` has fewer than
    :math:`k` nodes at distance 2, it takes all of them and fills the rest
    with distinct ``'uniform'`` negatives. Anchors without neighbours get no
    negatives.

    Sampling is vectorised rejection: ``num_rounds`` rounds of i.i.d.
    proposals from :math:`q`, rejecting the anchor, neighbours (a 64-bit
    neighbour signature per node rules out most non-edges, a binary search
    on sorted edge keys settles the rest) and repeats (one radix sort of the
    first round's proposals, then a comparison of each new proposal with its
    row). ``'degree'`` proposals invert the cumulative weights with a guide
    table (:class:`~pyg_sip.sampling.WeightedDraw`, :math:`O(1)` expected
    per draw); ``'hard'`` proposals are two random gathers per step, and
    anchors with at most :math:`2k` two-step walks skip the rounds. Anchors
    still short afterwards (tiny candidate sets) enumerate
    :math:`\mathcal{C}(a)` exactly and complete it with the smallest
    weighted random keys :math:`-\log(u_j) / w_j` (:math:`w_j = q(j)`, the
    walk probability for ``'hard'``), which continues the same
    successive-sampling law.

    Args:
        graph (CSRGraph): The pre-training graph without self-loops.
        policy (str, optional): One of :obj:`'uniform'`, :obj:`'degree'`,
            :obj:`'group'`, :obj:`'hard'`, :obj:`'in_batch'`.
            (default: :obj:`'uniform'`)
        weights (torch.Tensor, optional): Node weights :math:`w` for
            :obj:`'degree'`. (default: :obj:`None`, i.e.
            :math:`\deg^{0.75}`)
        group (torch.Tensor, optional): Group of every node, required by
            :obj:`'group'`. (default: :obj:`None`)
        num_rounds (int, optional): Rejection rounds before the exact
            enumeration. (default: :obj:`8`)

    Shapes:
        - **input:** anchor :math:`(B)`, weights :math:`(N)`, group :math:`(N)`
        - **output:** negatives, mask :math:`(B, k)`
    """
    def __init__(self, graph: CSRGraph, policy: str = 'uniform',
                 weights: Optional[Tensor] = None,
                 group: Optional[Tensor] = None, num_rounds: int = 8):
        check_policy(policy, graph.num_nodes, weights, group)
        self.graph, self.policy, self.num_rounds = graph, policy, num_rounds
        self.weight: Optional[Tensor] = None
        if policy == 'degree':
            w = graph.degree.double().pow(0.75) if weights is None else weights
            self.weight = torch.as_tensor(w, dtype=torch.float64).view(-1).cpu()
            self.draw = WeightedDraw(self.weight)
        if policy == 'hard':
            # Random walks gather at random from the CSR arrays: 32-bit
            # copies halve the memory they touch (where the ids fit).
            small = max(graph.num_edges, graph.num_nodes) < 2**31
            self._walk_csr = ((graph.rowptr.int(), graph.col.int()) if small
                              else (graph.rowptr, graph.col))
        if policy == 'group':
            _, self.group_id = torch.unique(torch.as_tensor(group).view(-1).cpu(),
                                            return_inverse=True)
            self.group_members = torch.sort(self.group_id, stable=True)[1]
            size = torch.bincount(self.group_id)
            self.group_ptr = torch.cat([size.new_zeros(1), size.cumsum(0)])

    def __call__(self, anchor: Tensor, k: int,
                 generator: Optional[torch.Generator] = None,
                 batch_nodes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        r"""Returns ``(negatives, mask)``: ``negatives[b, j]`` is a negative
        of ``anchor[b]`` where ``mask[b, j]``."""
        B, g = anchor.numel(), self.graph
        cand = anchor.view(-1, 1).expand(B, k).clone()
        ok = torch.zeros(B, k, dtype=torch.bool)
        degree = g.degree[anchor]
        need = (degree > 0).view(-1, 1).expand(B, k)
        # The anchors' own edges are a small, cache-friendly array to search
        # unless they outnumber the membership tests by far (dense graphs).
        keys = g.keys
        if int(degree.sum()) <= 16 * B * max(k, 1):
            keys = g.edge_keys_of(anchor)
        propose = getattr(self, f'_propose_{self.policy}')
        enumerate_ = getattr(self, f'_enumerate_{self.policy}')
        if self.policy == 'in_batch':
            if batch_nodes is None:
                raise PygSipError("Policy 'in_batch' needs 'batch_nodes'")
            universe = torch.unique(batch_nodes)
            propose = partial(propose, universe=universe)
            enumerate_ = partial(enumerate_, universe=universe)
        state = (anchor, cand, ok, need, keys)
        if self.policy == 'hard':
            # Anchors with few 2-step walks have small distance-2 sets, which
            # rejection fills slowly: enumerate those at once.
            seg, u = g.neighbors(anchor)
            walks = torch.zeros(B, dtype=torch.long).index_add_(
                0, seg, g.degree[u])
            few = (walks <= _WALKS_PER_SLOT * k).view(-1, 1)
            self._rounds((anchor, cand, ok, need & ~few, keys), propose,
                         generator)
            # A slot still free in a row with many walks is bad luck (walks
            # back to the anchor or its neighbours), not a small distance-2
            # set: more rounds fill it for less than enumerating the walks.
            many = (walks > _MANY_WALKS_PER_SLOT * k).view(-1, 1)
            self._rounds((anchor, cand, ok, need & many, keys), propose,
                         generator, 2 * self.num_rounds)
        else:
            self._rounds(state, propose, generator)
        self._exact(state, enumerate_, generator)
        if self.policy == 'hard':  # too few nodes at distance 2: fill uniformly
            self._rounds(state, self._propose_uniform, generator)
            self._exact(state, self._enumerate_uniform, generator)
        return cand, ok

    # Proposals: one candidate per anchor entry, drawn i.i.d. from q. #########

    def _propose_uniform(self, a: Tensor, gen: Optional[torch.Generator]) -> Tensor:
        return torch.randint(self.graph.num_nodes, a.shape, generator=gen)

    def _propose_degree(self, a: Tensor, gen: Optional[torch.Generator]) -> Tensor:
        return self.draw(a.shape, gen)

    def _propose_group(self, a: Tensor, gen: Optional[torch.Generator]) -> Tensor:
        gid = self.group_id[a]
        start, size = self.group_ptr[gid], self.group_ptr[gid + 1] - self.group_ptr[gid]
        return self.group_members[start + _randbelow(size, gen)]

    def _propose_hard(self, a: Tensor, gen: Optional[torch.Generator]) -> Tensor:
        g = self.graph  # an anchor without a 2-step walk proposes itself
        if g.num_edges == 0:
            return a.clone()
        rowptr, col = self._walk_csr
        last = g.num_edges - 1
        u = torch.rand((2, ) + a.shape, generator=gen, dtype=torch.float64)
        start = rowptr[a]
        deg_a = rowptr[a + 1] - start
        pos = start + torch.minimum((u[0] * deg_a).long(), deg_a - 1)
        mid = col[pos.clamp_(0, last)].long()
        # rowptr[mid + 1] shares a cache line with rowptr[mid]
        start = rowptr[mid]
        deg_mid = rowptr[mid + 1] - start
        pos = start + torch.minimum((u[1] * deg_mid).long(), deg_mid - 1)
        out = col[pos.clamp_(0, last)].long()
        return torch.where((deg_a > 0) & (deg_mid > 0), out, a)

    def _propose_in_batch(self, a: Tensor, gen: Optional[torch.Generator],
                          universe: Tensor) -> Tensor:
        return universe[torch.randint(universe.numel(), a.shape, generator=gen)]

    # Exact candidate lists, for the few anchors still short after the rounds
    # (cost: the size of their universe, N for 'uniform'). ###################

    # Each returns ``(seg, c, w)``: candidate ``c[m]`` of ``a[seg[m]]``
    # (``seg`` sorted, no repeats within a segment) with proposal weight
    # ``w[m]`` (``None``: the policy's node weights, or uniform).

    def _enumerate_in_batch(self, a: Tensor,
                            universe: Tensor) -> Tuple[Tensor, Tensor, None]:
        seg = torch.arange(a.numel()).repeat_interleave(universe.numel())
        return seg, universe.repeat(a.numel()), None

    def _enumerate_uniform(self, a: Tensor) -> Tuple[Tensor, Tensor, None]:
        return self._enumerate_in_batch(a, torch.arange(self.graph.num_nodes))

    _enumerate_degree = _enumerate_uniform

    def _enumerate_group(self, a: Tensor) -> Tuple[Tensor, Tensor, None]:
        seg, pos = expand_segments(self.group_ptr, self.group_id[a])
        return seg, self.group_members[pos], None

    def _enumerate_hard(self, a: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        r"""The ends :math:`j` of all 2-step walks :math:`a \to u \to j`,
        weighted by their walk probability :math:`q_a(j) \propto \sum_{u}
        1 / \deg(u)` (the law of :meth:`_propose_hard`)."""
        g = self.graph
        seg1, u = g.neighbors(a)
        seg2, j = g.neighbors(u)
        walk = g.degree[u].double().reciprocal()[seg2]
        key, inverse = torch.unique(seg1[seg2] * g.num_nodes + j,
                                    return_inverse=True)
        weight = torch.zeros(key.numel(), dtype=torch.float64).index_add_(
            0, inverse, walk)
        seg, c = split_keys(key, g.num_nodes)
        return seg, c, weight

    # The two sampling stages. ###############################################

    def _valid(self, a: Tensor, c: Tensor, keys: Tensor,
               signature: Optional[Tensor] = None,
               drawn: bool = False) -> Tensor:
        valid = (c != a) & ~self.graph.has_edge_filtered(a, c, keys, signature)
        # proposals drawn from q never have weight 0; enumerated ones may
        if self.weight is not None and not drawn:
            valid &= self.weight[c] > 0
        return valid

    def _rounds(self, state: Tuple[Tensor, ...], propose: Callable,
                gen: Optional[torch.Generator],
                num_rounds: Optional[int] = None) -> None:
        r"""Fills free slots by rejection; a slot keeps a proposal that is a
        valid candidate not already held by its row. ``state`` is
        ``(anchor, cand, ok, need, keys)``; ``cand`` and ``ok`` are updated.
        After a first round over all slots, only the (few) slots still free
        are touched."""
        anchor, cand, ok, need, keys = state
        B, k = cand.shape
        signature = self.graph.signature()[anchor]
        slot = (need & ~ok).view(-1).nonzero().view(-1)
        # Nothing held yet: the first round draws for every slot, needed or
        # not (no gathers), and keeps the needed ones.
        fresh = slot.numel() > 0 and not bool(ok.any())
        for _ in range(self.num_rounds if num_rounds is None else num_rounds):
            if slot.numel() == 0:
                return
            if fresh:
                fresh = False
                a = anchor.view(-1, 1).expand(B, k).reshape(-1)
                c = propose(a, gen)
                cand.view(-1).copy_(c)
                sig = signature.view(-1, 1).expand(B, k).reshape(-1)
                new = self._valid(a, c, keys, sig, True).view(B, k) & need
                ok |= _drop_repeats(cand, ok, new) if k > 1 else new
            else:
                row = torch.div(slot, k, rounding_mode='floor')
                a = anchor[row]
                c = propose(a, gen)
                cand.view(-1)[slot] = c
                valid = self._valid(a, c, keys, signature[row], True)
                if k > 1:  # a repeat of a held value or of an earlier slot
                    new = torch.zeros(B * k, dtype=torch.bool)
                    new[slot] = valid
                    earlier = torch.arange(k) < (slot - row * k).view(-1, 1)
                    held = ok[row] | (new.view(B, k)[row] & earlier)
                    valid &= ~((cand[row] == c.view(-1, 1)) & held).any(1)
                ok.view(-1)[slot] = valid
            slot = slot[~ok.view(-1)[slot]]

    def _exact(self, state: Tuple[Tensor, ...], enumerate_: Callable,
               gen: Optional[torch.Generator]) -> None:
        r"""Completes the rows still short by enumerating their candidates:
        a row with no more valid candidates than free slots takes them all;
        the others take those with the smallest Efraimidis-Spirakis keys
        :math:`-\log(u_j) / w_j`, which continues successive sampling with
        the proposal weights :math:`w` (uniform keys if unweighted)."""
        anchor, cand, ok, need, keys = state
        free = need & ~ok
        rows = free.any(1).nonzero().view(-1)
        if rows.numel() == 0:
            return
        N, R = self.graph.num_nodes, rows.numel()
        seg, c, weight = enumerate_(anchor[rows])
        if weight is None and self.weight is not None:
            weight = self.weight[c]
        keep = self._valid(anchor[rows][seg], c, keys)
        held_mask = ok[rows]
        if bool(held_mask.any()):  # only rows holding values can repeat them
            held = torch.sort((torch.arange(R).view(-1, 1) * N +
                               cand[rows]).masked_select(held_mask))[0]
            query = held_mask.any(1)[seg].nonzero().view(-1)
            keep[query] &= ~contains(held, seg[query] * N + c[query])
        seg, c = seg[keep], c[keep]
        num_free = free[rows].sum(1)
        key = None
        if bool((torch.bincount(seg, minlength=R) > num_free).any()):
            key = torch.rand(seg.numel(), generator=gen, dtype=torch.float64)
            if weight is not None:
                key = -torch.log(key) / weight[keep]
        elem, rank = _smallest_per_row(seg, key, num_free)
        seg, c = seg[elem], c[elem]
        slot = torch.sort((~free[rows]).to(torch.uint8), dim=1, stable=True)[1]
        row, slot = rows[seg], slot[seg, rank]
        cand[row, slot] = c
        ok[row, slot] = True

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(policy='{self.policy}')"


def check_policy(policy: str, num_nodes: int, weights: Optional[Tensor] = None,
                 group: Optional[Tensor] = None) -> None:
    r"""Raises :class:`PygSipError` for an unknown policy or for weights or
    groups that do not fit it."""
    if policy not in NEGATIVE_SAMPLING:
        raise PygSipError(f"Unknown negative sampling policy '{policy}' "
                          f"(choose from {', '.join(NEGATIVE_SAMPLING)})")
    if weights is not None:
        if policy != 'degree':
            raise PygSipError(f"Negative weights are only used by the 'degree' "
                              f"policy, not by '{policy}'")
        w = torch.as_tensor(weights, dtype=torch.float64).view(-1)
        if w.numel() != num_nodes:
            raise PygSipError(f'Negative weights must have one entry per node '
                              f'({num_nodes}), got {w.numel()}')
        bad = (~torch.isfinite(w) | (w < 0)).nonzero().view(-1)
        if bad.numel() > 0:
            raise PygSipError(f'Negative weight of node {int(bad[0])} is '
                              f'{float(w[bad[0]])}: weights must be finite and '
                              f'non-negative')
        if float(w.sum()) <= 0:
            raise PygSipError('Negative weights are all zero')
    if policy == 'group':
        if group is None:
            raise PygSipError("Negative sampling policy 'group' needs a graph "
                              "with a 'group' attribute [N]")
        if torch.as_tensor(group).numel() != num_nodes:
            raise PygSipError(f"'group' must have one entry per node "
                              f"({num_nodes}), got {torch.as_tensor(group).numel()}")


def _smallest_per_row(seg: Tensor, key: Optional[Tensor],
                      take: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Picks, in every row :math:`r`, the :math:`\min(t_r, c_r)` elements
    with the smallest ``key`` among its :math:`c_r` elements (all of them if
    :math:`c_r \le t_r`, or if ``key`` is :obj:`None`).

    Rows that must choose are grouped by :math:`\lceil \log_2 c_r \rceil`
    and each group is one :func:`torch.topk` over a padded key matrix at most
    twice as wide as its rows are long (a loop over the few size classes, no
    sort of all elements).

    Returns:
        ``(elem, rank)``: the picked elements and their rank in their row.

    Shapes:
        - **input:** seg (sorted), key :math:`(M)`; take :math:`(R)`
        - **output:** elem, rank :math:`(\sum_r \min(t_r, c_r))`
    """
    R = take.numel()
    count = torch.bincount(seg, minlength=R)
    start = count.cumsum(0) - count
    pos = torch.arange(seg.numel()) - start[seg]  # position in its row
    choose = count > take
    if key is None or not bool(choose.any()):
        keep = (pos < take[seg]).nonzero().view(-1)
        return keep, pos[keep]
    all_rows = (~choose[seg]).nonzero().view(-1)
    elems, ranks = [all_rows], [pos[all_rows]]
    size_class = torch.where(choose, torch.ceil(torch.log2(count.double())),
                             -1).long()
    for cls in torch.unique(size_class[choose]).tolist():
        rows = (size_class == cls).nonzero().view(-1)
        local, mine = expand_ranges(start[rows], count[rows])
        padded = torch.full((rows.numel(), int(count[rows].max())),
                            float('inf'), dtype=torch.float64)
        padded[local, pos[mine]] = key[mine]
        t = int(take[rows].max())
        idx = torch.topk(padded, t, dim=1, largest=False, sorted=True)[1]
        ok = torch.arange(t) < take[rows].view(-1, 1)
        elems.append((start[rows].view(-1, 1) + idx)[ok])
        ranks.append(ok.nonzero()[:, 1])
    return torch.cat(elems), torch.cat(ranks)


def _drop_repeats(cand: Tensor, ok: Tensor, new: Tensor) -> Tensor:
    r"""Un-marks every new entry of ``cand`` [R, k] whose value its row already
    holds (kept, or new in an earlier slot)."""
    R, k = cand.shape
    # One flat (radix) sort of 64-bit keys (row, value, is-new) instead of R
    # small row sorts: held values map to k + 1 + value, free slots to
    # distinct 1..k, so only held values can repeat, and within a row a kept
    # value precedes a new repeat (and the first new copy the others).
    slot = torch.arange(k, 0, -1).expand(R, k)
    value = torch.where(ok | new, cand + (k + 1), slot)
    stride = int(cand.max()) + k + 2 if cand.numel() > 0 else 1
    row = torch.arange(R).view(-1, 1) * stride
    key = 2 * (row + value) + new.long()
    if 2 * R * stride < 2**31:  # 32-bit keys sort faster
        key = key.int()
    key, perm = torch.sort(key.view(-1), stable=True)
    dup = (key[1:] >> 1) == (key[:-1] >> 1)
    repeat = torch.zeros(R * k, dtype=torch.bool)
    repeat[perm[1:]] = dup
    return new & ~repeat.view(R, k)


def _randbelow(n: Tensor, gen: Optional[torch.Generator]) -> Tensor:
    r"""Draws :math:`t_b \sim \mathcal{U}\{0, \dots, n_b - 1\}` (0 where
    :math:`n_b = 0`)."""
    u = torch.rand(n.shape, generator=gen, dtype=torch.float64)
    return (u * n).long().clamp_(max=(n - 1).clamp(min=0))
