"""Structure losses: forward + backward time and peak memory of pyg_sip's
losses against pytorch-metric-learning (PML) given the same pairs, a
per-anchor Python loop (as in the original SIPT code) and the gather/scatter
floor.

Inputs: embeddings z [B, d] (d = 128) of B anchors and, per anchor,

- ``sampled``: 8 positives and 32 negatives drawn among the other rows
  (distinct, pairs sorted by anchor, as a StructureLoader batch yields them);
- ``all_pairs``: every pair inside the batch: labels in classes of 9, every
  same-class pair positive (8 per anchor), every other pair negative, given
  as explicit pair lists;
- ``in_batch``: the setting of sentence-transformers'
  MultipleNegativesRankingLoss: B rows in B / 2 (anchor, positive) couples,
  each row an anchor whose positive is its partner and whose negatives are
  every other row of the batch, except 2 known pre-training graph edges per
  row (masked as false negatives).

Implementations (``--impls``):

- ``pyg_sip``: ``pyg_sip.losses.<loss>(z, pos_index, neg_index)``;
- ``pyg_sip_native``: the same with PyTorch's own scatter kernels where
  torch-scatter is installed and otherwise used (``PYG_SIP_TORCH_SCATTER=0``;
  only differentiable segment extrema differ: ``triplet_hard``);
- ``pyg_sip_gather``: the same with the portable blocked gather/scatter path
  (``PYG_SIP_PAIR_BACKEND=gather``, what CUDA and ``torch.compile`` run);
- ``pyg_sip_compiled``: ``torch.compile(loss, dynamic=True)`` (``--compile``);
- ``pml``: the matching PML loss (Euclidean ``LpDistance(normalize_embeddings=
  False)`` for the distance losses, ``MeanReducer``) given the same pairs as
  ``indices_tuple`` (triplets for the triplet loss; the labels themselves for
  ``all_pairs``). PML has no bilinear loss; ``triplet_hard`` (the triplet
  loss with the hardest given negative per positive) has no PML counterpart
  that takes the same pairs (its miners choose among all batch rows).
- ``loop``: a per-anchor Python loop over the same pairs (small B only);
- ``in_batch`` only: ``pyg_sip`` passes ``InBatchNegatives(num_anchors=B,
  exclude=known edges)`` (no pair list); ``pyg_sip_pairs`` the same negatives
  as an explicit [2, ~B²] ``neg_index``; ``dense_reference`` (InfoNCE only)
  the plain dense implementation: ``normalize``, ``z @ z.T / τ``, the known
  edges and the diagonal masked with -inf, ``cross_entropy`` (its value is
  checked against pyg_sip's); ``pml`` the PML loss on the couple labels
  (which cannot mask the known edges, so its pairs differ by 2 per row);
- ``floor`` / ``floor_blocked``: gather the rows of every pair and scatter
  gradients back (``index_select`` + ``index_add_``), no loss math; the
  blocked variant does it in cache-sized blocks of 1,024 pairs.

Times are medians over interleaved rounds (process CPU time on the CPU);
peak memory is the extra memory of one forward + backward above the inputs
(see benchmarks/_common.py). A measurement whose estimated peak exceeds
``--memory-budget-gb`` is skipped with the reason printed; nothing is
extrapolated into the results.

    python benchmarks/losses.py --output benchmarks/results/perf_losses.json

``--merge`` replaces only the rows this run measures in an existing
``--output`` file (e.g. a rerun of the in-batch variant alone).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

if '--native-scatter' in sys.argv:  # must precede importing pyg_sip
    os.environ['PYG_SIP_TORCH_SCATTER'] = '0'

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyg_sip.losses as L  # noqa: E402
from pyg_sip.losses import _pairs, _segment  # noqa: E402
from pyg_sip.losses.triplet import triplets  # noqa: E402
from pyg_sip.sampling.csr import sample_without_replacement  # noqa: E402

import _common as C  # noqa: E402

LOSSES = ('margin_contrastive', 'triplet_margin', 'multi_similarity',
          'info_nce', 'bilinear', 'triplet_hard')
IMPLS = ('pyg_sip', 'pyg_sip_native', 'pyg_sip_gather', 'pml', 'loop',
         'floor', 'floor_blocked')
IN_BATCH_IMPLS = ('pyg_sip', 'pyg_sip_pairs', 'dense_reference', 'pml')
KNOWN_EDGES = 2  # per row, in the in_batch variant


def loss_fn(loss: str) -> Callable:
    if loss == 'triplet_hard':
        return lambda z, pos, neg: L.triplet_margin(z, pos, neg, mining='hard')
    return {'margin_contrastive': L.margin_contrastive,
            'triplet_margin': L.triplet_margin,
            'multi_similarity': L.multi_similarity,
            'info_nce': L.info_nce, 'bilinear': L.bilinear_link}[loss]
NUM_POS, NUM_NEG, CLASS_SIZE = 8, 32, 9


# Inputs ######################################################################

class Case:
    r"""Embeddings and pairs of one (variant, B)."""
    def __init__(self, variant: str, B: int, dim: int, device: torch.device,
                 seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.variant, self.B, self.dim = variant, B, dim
        self.z = torch.randn(B, dim, generator=gen).to(device)
        self.weight = (torch.randn(dim, dim, generator=gen) / dim**0.5).to(device)
        self.bias = torch.zeros(1, device=device)
        anchor = torch.arange(B)
        if variant == 'in_batch':
            half = B // 2
            i = torch.arange(half)
            pos = torch.stack([torch.cat([i, i + half]),
                               torch.cat([i + half, i])])
            self.labels = anchor % half
            known = torch.randint(0, B, (B, KNOWN_EDGES), generator=gen)
            known = torch.stack([anchor.repeat_interleave(KNOWN_EDGES),
                                 known.view(-1)])
            self.exclude = torch.cat([known, known.flip(0)], dim=1).to(device)
            self.in_batch = L.InBatchNegatives(num_anchors=B,
                                               exclude=self.exclude)
            neg = self.in_batch.neg_index(pos.to(device), B).cpu()
        elif variant == 'sampled':
            k = NUM_POS + NUM_NEG
            other, _ = sample_without_replacement(torch.full((B,), B - 1), k, gen)
            other = other + (other >= anchor.view(-1, 1)).long()  # skip self
            rows = anchor.view(-1, 1)
            pos = torch.stack([rows.expand(B, NUM_POS).reshape(-1),
                               other[:, :NUM_POS].reshape(-1)])
            neg = torch.stack([rows.expand(B, NUM_NEG).reshape(-1),
                               other[:, NUM_POS:].reshape(-1)])
            self.labels = None
        else:
            self.labels = anchor // CLASS_SIZE
            i = anchor.repeat_interleave(B)
            j = anchor.repeat(B)
            same = self.labels[i] == self.labels[j]
            pos = torch.stack([i[same & (i != j)], j[same & (i != j)]])
            neg = torch.stack([i[~same], j[~same]])
            del i, j, same
        self.pos, self.neg = pos.to(device), neg.to(device)
        self.num_pairs = pos.size(1) + neg.size(1)
        self.num_triplets = int(torch.bincount(
            self.neg[0].cpu(), minlength=B)[self.pos[0].cpu()].sum())
        self.index = torch.cat([self.pos, self.neg], dim=1)
        self._pml_triplets = None
        self.neg_arg = self.in_batch if variant == 'in_batch' else self.neg
        self.labels_dev = None if self.labels is None else self.labels.to(device)

    @property
    def size(self) -> str:
        return str(self.B)

    def pml_triplets(self) -> Tuple[torch.Tensor, ...]:
        if self._pml_triplets is None:
            pos_id, neg_id = triplets(self.pos[0], self.neg[0], self.B)
            self._pml_triplets = (self.pos[0, pos_id], self.pos[1, pos_id],
                                  self.neg[1, neg_id])
        return self._pml_triplets

    def per_anchor(self) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        r"""(positives, negatives) of every anchor, split before timing."""
        pos_count = torch.bincount(self.pos[0].cpu(), minlength=self.B).tolist()
        neg_count = torch.bincount(self.neg[0].cpu(), minlength=self.B).tolist()
        pos = torch.split(self.pos[1], pos_count)
        neg = torch.split(self.neg[1], neg_count)
        return list(zip(pos, neg))


# pyg_sip ####################################################################

def ours(loss: str, case: Case, fn_override=None,
         explicit: bool = False) -> Callable:
    r"""pyg_sip on the case's pairs (in-batch negatives as
    :class:`~pyg_sip.losses.InBatchNegatives` unless ``explicit``)."""
    fn = fn_override or loss_fn(loss)
    z0, pos = case.z, case.pos
    neg = case.neg if explicit else case.neg_arg
    if loss == 'bilinear':
        w0, b0 = case.weight, case.bias

        def run():
            z, w, b = (t.detach().requires_grad_() for t in (z0, w0, b0))
            fn(z, pos, neg, w, b).backward()
    else:
        def run():
            z = z0.detach().requires_grad_()
            fn(z, pos, neg).backward()
    return run


def with_backend(run: Callable, pairs: Optional[str] = None,
                 torch_scatter: Optional[bool] = None) -> Callable:
    r"""Runs ``run`` with the pair backend and/or the torch-scatter switch
    of pyg_sip.losses set (restored afterwards)."""
    def wrapped():
        old = _pairs.BACKEND, _segment.USE_TORCH_SCATTER
        if pairs is not None:
            _pairs.BACKEND = pairs
        if torch_scatter is not None:
            _segment.USE_TORCH_SCATTER = torch_scatter
        try:
            run()
        finally:
            _pairs.BACKEND, _segment.USE_TORCH_SCATTER = old
    return wrapped


def compiled_fn(loss: str) -> Callable:
    return torch.compile(loss_fn(loss), dynamic=True)


def dense_reference(case: Case, temperature: float = 0.1) -> Callable:
    r"""InfoNCE as a user would write it for in-batch negatives: normalise,
    one similarity matrix, the diagonal and the known edges masked with
    -inf, ``cross_entropy`` against each row's partner."""
    z0, B, device = case.z, case.B, case.z.device
    exclude, pos = case.exclude, case.pos
    target = torch.empty(B, dtype=torch.long, device=device)
    target[pos[0]] = pos[1]

    def run(value: bool = False):
        z = z0.detach().requires_grad_()
        zn = torch.nn.functional.normalize(z, dim=-1)
        logits = zn @ zn.t() / temperature
        mask = torch.zeros(B, B, dtype=torch.bool, device=device)
        mask.view(-1)[torch.arange(B, device=device) * (B + 1)] = True
        mask[exclude[0], exclude[1]] = True
        mask[pos[0], pos[1]] = False  # a known edge that is the positive
        loss = torch.nn.functional.cross_entropy(
            logits.masked_fill(mask, float('-inf')), target)
        loss.backward()
        if value:
            return loss.detach()
    return run


# pytorch-metric-learning ####################################################

def pml(loss: str, case: Case) -> Callable:
    from pytorch_metric_learning import distances, losses, reducers
    euclid = distances.LpDistance(normalize_embeddings=False)
    mean = reducers.MeanReducer()
    module = {
        'margin_contrastive': lambda: losses.ContrastiveLoss(
            pos_margin=0.0, neg_margin=1.0, distance=euclid, reducer=mean),
        'triplet_margin': lambda: losses.TripletMarginLoss(
            margin=0.1, distance=euclid, reducer=mean),
        'multi_similarity': lambda: losses.MultiSimilarityLoss(
            alpha=2.0, beta=50.0, base=0.5, reducer=mean),
        'info_nce': lambda: losses.NTXentLoss(temperature=0.1, reducer=mean),
    }[loss]()
    z0 = case.z
    if case.labels is not None:  # every pair: PML's own label path
        labels = case.labels_dev

        def run():
            z = z0.detach().requires_grad_()
            module(z, labels).backward()
        return run
    if loss == 'triplet_margin':
        indices = case.pml_triplets()
    else:
        indices = (case.pos[0], case.pos[1], case.neg[0], case.neg[1])

    def run():
        z = z0.detach().requires_grad_()
        module(z, None, indices).backward()
    return run


# Per-anchor loop (as the original SIPT code) ################################

def loop(loss: str, case: Case) -> Callable:
    groups = case.per_anchor()
    z0, w0, b0 = case.z, case.weight, case.bias
    ids = torch.arange(case.B, device=z0.device).view(-1, 1)

    def run():
        z = z0.detach().requires_grad_()
        w = w0.detach().requires_grad_()
        b = b0.detach().requires_grad_()
        terms, count = [], 0
        for a, (p, n) in enumerate(groups):
            za = z[a]
            if loss == 'margin_contrastive':
                d_p = (za - z[p]).norm(dim=-1)
                d_n = (za - z[n]).norm(dim=-1)
                terms.append(d_p.relu().sum() + (1.0 - d_n).relu().sum())
                count += len(p) + len(n)
            elif loss == 'triplet_margin':
                d_p = (za - z[p]).norm(dim=-1)
                d_n = (za - z[n]).norm(dim=-1)
                terms.append((d_p[:, None] - d_n[None, :] + 0.1).relu().sum())
                count += len(p) * len(n)
            elif loss == 'triplet_hard':
                d_p = (za - z[p]).norm(dim=-1)
                d_n = (za - z[n]).norm(dim=-1)
                terms.append((d_p - d_n.min() + 0.1).relu().sum())
                count += len(p)
            elif loss == 'bilinear':
                zw = za @ w
                terms.append(torch.nn.functional.softplus(-(z[p] @ zw + b)).sum()
                             + torch.nn.functional.softplus(z[n] @ zw + b).sum())
                count += len(p) + len(n)
            else:
                u = torch.nn.functional.normalize(
                    z[torch.cat([ids[a], p, n])], dim=-1)
                s_p, s_n = u[1:1 + len(p)] @ u[0], u[1 + len(p):] @ u[0]
                if loss == 'info_nce':
                    lse = torch.logsumexp(s_n / 0.1, 0)
                    terms.append((torch.logaddexp(s_p / 0.1, lse) - s_p / 0.1).sum())
                    count += len(p)
                else:  # multi-similarity with its mining
                    keep_p = s_p - 0.1 < s_n.max()
                    keep_n = s_n + 0.1 > s_p.min()
                    lp = torch.log1p(torch.exp(-2.0 * (s_p[keep_p] - 0.5)).sum()) / 2.0
                    ln = torch.log1p(torch.exp(50.0 * (s_n[keep_n] - 0.5)).sum()) / 50.0
                    terms.append(lp + ln)
                    count += 1
        (torch.stack(terms).sum() / max(1, count)).backward()
    return run


# Floor ######################################################################

def floor(case: Case, block: Optional[int] = None) -> Callable:
    src, dst = case.index[0], case.index[1]
    z = case.z
    M = src.numel()
    step = block or M

    def run():
        grad = torch.zeros_like(z)
        for i in range(0, M, step):
            s, d = src[i:i + step], dst[i:i + step]
            a = z.index_select(0, s)
            b = z.index_select(0, d)
            grad.index_add_(0, s, b)
            grad.index_add_(0, d, a)
    return run


# Memory estimates (bytes), to skip what would not fit ######################

def estimate(impl: str, loss: str, case: Case) -> float:
    B, d, M = case.B, case.dim, case.num_pairs
    P, Q = case.pos.size(1), case.neg.size(1)
    f = 4
    if case.variant == 'in_batch' and impl in ('pyg_sip', 'dense_reference'):
        return 8 * B * B * f
    if impl in ('pyg_sip', 'pyg_sip_gather', 'pyg_sip_compiled',
                'pyg_sip_pairs'):
        extra = 8 * 4 * case.num_triplets if impl == 'pyg_sip_compiled' and \
            loss == 'triplet_margin' else 0
        return 64 * M + 8 * B * d * f + extra
    if impl == 'floor':
        return 2 * M * d * f + B * d * f
    if impl == 'floor_blocked':
        return B * d * f + 4 * 1024 * d * f
    if impl == 'loop':
        return 2000 * B + 16 * M + (8 * case.num_triplets
                                    if loss == 'triplet_margin' else 0)
    # pml
    if case.labels is not None:
        if loss == 'triplet_margin':
            return 3 * B**3 + 40 * case.num_triplets
        if loss == 'info_nce':  # [P, Q] matrices
            return 6 * P * Q * f
        return 12 * B * B * f + 16 * M
    if loss == 'info_nce':
        return 6 * P * Q * f
    if loss == 'triplet_margin':
        return 6 * B * B * f + 48 * case.num_triplets
    if loss == 'multi_similarity':
        return 12 * B * B * f
    return 6 * B * B * f


def growth(impl: str, loss: str, case: Case) -> float:
    r"""How the peak memory of ``impl`` grows: B^2 for PML's dense matrices
    (P·Q for NT-Xent's, B^3 for its all-triplet labels path), the number of
    pairs (or triplets) otherwise."""
    if impl == 'pml':
        if loss == 'info_nce':
            return float(case.pos.size(1)) * case.neg.size(1)
        if loss == 'triplet_margin' and case.labels is not None:
            return float(case.B) ** 3
        return float(case.B) ** 2
    if impl == 'loop' and loss == 'triplet_margin':
        return float(case.num_triplets)
    return float(case.num_pairs)


class Estimator:
    r"""Peak memory estimates: the last measured peak of the same
    (variant, impl, loss), scaled by :func:`growth`; the analytic
    :func:`estimate` before any measurement."""
    def __init__(self):
        self.seen: Dict[tuple, Tuple[float, float]] = {}

    def __call__(self, impl: str, loss: str, case: Case) -> float:
        key = (case.variant, impl, loss)
        if key in self.seen:
            peak, scale = self.seen[key]
            return 1.2 * peak * growth(impl, loss, case) / scale
        return estimate(impl, loss, case)

    def update(self, impl: str, loss: str, case: Case, peak: float) -> None:
        self.seen[case.variant, impl, loss] = (peak, growth(impl, loss, case))


# Main #######################################################################

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    C.add_common_args(parser, repeats=5)
    parser.add_argument('--sizes', default='256,1024,4096,16384',
                        help='anchors B per batch (sampled variant)')
    parser.add_argument('--all-pairs-sizes', default='256,1024,4096',
                        help="B for the 'all_pairs' variant ('' to skip)")
    parser.add_argument('--in-batch-sizes', default='256,1024,4096',
                        help="B for the 'in_batch' variant ('' to skip)")
    parser.add_argument('--in-batch-impls', default=','.join(IN_BATCH_IMPLS),
                        help="implementations of the 'in_batch' variant")
    parser.add_argument('--merge', action='store_true',
                        help='keep the rows of --output that this run does '
                             'not measure')
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--losses', default=','.join(LOSSES))
    parser.add_argument('--impls', default=','.join(IMPLS))
    parser.add_argument('--all-pairs-impls',
                        default='pyg_sip,pyg_sip_native,pml,loop,floor_blocked',
                        help="implementations of the 'all_pairs' variant")
    parser.add_argument('--loop-max-size', type=int, default=1024,
                        help='largest B of the per-anchor loop (sampled)')
    parser.add_argument('--loop-max-pairs', type=int, default=100_000,
                        help='largest number of pairs of the per-anchor loop')
    parser.add_argument('--compile', action='store_true',
                        help='also time torch.compile(loss, dynamic=True)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak memory measurements')
    parser.add_argument('--native-scatter', action='store_true',
                        help='do not use torch-scatter even if installed '
                             '(PYG_SIP_TORCH_SCATTER=0)')
    parser.add_argument('--label', default='',
                        help='suffix for impl names, e.g. a backend')
    args = parser.parse_args()
    device = C.setup(args)
    sparse = device.type == 'cpu' and _pairs.BACKEND != 'gather'
    print(f'# torch-scatter used by the losses: {_segment.USE_TORCH_SCATTER}; '
          f'pair backend on {device.type}: '
          f"{'sparse CSR kernels' if sparse else 'blocked gather'}")
    if device.type == 'cpu' and not args.no_memory and not C.cpu_peak_supported():
        print('# peak memory: /proc/self/clear_refs not writable, skipped')
        args.no_memory = True
    losses = [x for x in args.losses.split(',') if x]
    sampled_impls = [x for x in args.impls.split(',') if x]
    if args.compile:
        sampled_impls.append('pyg_sip_compiled')
    all_pairs_impls = [x for x in args.all_pairs_impls.split(',') if x]
    in_batch_impls = [x for x in args.in_batch_impls.split(',') if x]
    budget = args.memory_budget_gb * (1 << 30)
    sfx = args.label and f'[{args.label}]'

    rows: List[dict] = []
    summary: List[dict] = []
    estimator = Estimator()
    compiled: Dict[str, Callable] = {}
    variants = [('sampled', [int(s) for s in args.sizes.split(',') if s]),
                ('all_pairs', [int(s) for s in args.all_pairs_sizes.split(',')
                               if s]),
                ('in_batch', [int(s) for s in args.in_batch_sizes.split(',')
                              if s])]
    for variant, sizes in variants:
        impls = {'sampled': sampled_impls, 'all_pairs': all_pairs_impls,
                 'in_batch': in_batch_impls}[variant]
        for B in sizes:
            if variant != 'sampled' and 16 * B * B * 3 > budget:
                print(f'skip all_pairs B={B}: its {B * B:,} pair indices '
                      f'alone need {48 * B * B / 2**30:.1f} GiB > budget')
                continue
            case = Case(variant, B, args.dim, device)
            print(f'\n## {variant} B={B}: {case.pos.size(1):,} positive + '
                  f'{case.neg.size(1):,} negative pairs, '
                  f'{case.num_triplets:,} triplets', flush=True)
            runs: Dict[Tuple[str, str], Callable] = {}
            for impl in ('floor', 'floor_blocked'):
                if impl not in impls:
                    continue
                need = estimator(impl, '', case)
                if need > budget:
                    print(f'skip {impl}: estimated {need / 2**30:.1f} GiB > '
                          f'budget {args.memory_budget_gb} GiB')
                    continue
                runs[impl, '-'] = floor(case, 1024 if impl == 'floor_blocked'
                                        else None)
            for loss in losses:
                for impl in impls:
                    if impl.startswith('floor'):
                        continue
                    if impl == 'dense_reference' and loss != 'info_nce':
                        continue  # the reference is InfoNCE's
                    if impl == 'pml' and loss in ('bilinear', 'triplet_hard'):
                        print(f'skip pml {loss}: no PML loss given the same '
                              'pairs computes it')
                        continue
                    need = estimator(impl, loss, case)
                    if need > budget:
                        print(f'skip {impl} {loss}: estimated '
                              f'{need / 2**30:.1f} GiB > budget '
                              f'{args.memory_budget_gb} GiB')
                        continue
                    if impl == 'loop' and (
                            (variant == 'sampled' and B > args.loop_max_size)
                            or case.num_pairs > args.loop_max_pairs):
                        print(f'skip loop {loss}: B={B} above the loop sizes '
                              f'(--loop-max-size/--loop-max-pairs)')
                        continue
                    if impl == 'pyg_sip':
                        run = ours(loss, case)
                    elif impl == 'pyg_sip_pairs':
                        run = ours(loss, case, explicit=True)
                    elif impl == 'dense_reference':
                        run = dense_reference(case)
                    elif impl == 'pyg_sip_native':
                        if not _segment.USE_TORCH_SCATTER:
                            continue  # the same as pyg_sip
                        run = with_backend(ours(loss, case), torch_scatter=False)
                    elif impl == 'pyg_sip_gather':
                        run = with_backend(ours(loss, case), pairs='gather')
                    elif impl == 'pyg_sip_compiled':
                        if loss not in compiled:
                            compiled[loss] = compiled_fn(loss)
                            run = ours(loss, case, compiled[loss])
                            seconds = C.time_once(run, device)
                            print(f'compiled {loss}: first call {seconds:.1f} s')
                            rows.append(C.row(f'losses/{variant}/{loss}',
                                              impl + sfx, case.size,
                                              'first_call_time', seconds, 's'))
                        run = ours(loss, case, compiled[loss])
                    elif impl == 'pml':
                        run = pml(loss, case)
                    elif impl == 'loop':
                        run = loop(loss, case)
                    else:
                        raise SystemExit(f'unknown impl {impl}')
                    runs[impl, loss] = run
            times = C.measure({f'{i}|{name}': f for (i, name), f in runs.items()},
                              device, args.repeats)
            memory: Dict[str, int] = {}
            if not args.no_memory:
                for (impl, loss), run in runs.items():
                    memory[f'{impl}|{loss}'] = C.peak_memory(run, device)
                    estimator.update(impl, loss, case, memory[f'{impl}|{loss}'])
            for (impl, loss), _ in runs.items():
                key = f'{impl}|{loss}'
                bench = f'losses/{variant}/{loss}' if loss != '-' else \
                    f'losses/{variant}/floor'
                rows.append(C.row(bench, impl + sfx, case.size, 'fwd_bwd_time',
                                  times[key], 's'))
                if key in memory:
                    rows.append(C.row(bench, impl + sfx, case.size,
                                      'peak_memory', memory[key] / C.MIB, 'MiB'))
            floors = [times[k] for k in ('floor|-', 'floor_blocked|-')
                      if k in times]
            floor_t = min(floors) if floors else None
            if ('dense_reference', 'info_nce') in runs:
                # the same value: pyg_sip's InfoNCE against the reference
                with torch.no_grad():
                    value = L.info_nce(case.z, case.pos, case.neg_arg)
                diff = abs(float(value) - float(runs[
                    'dense_reference', 'info_nce'](value=True)))
                print(f'info_nce: pyg_sip {float(value):.6f}, dense '
                      f'reference differs by {diff:.2e}')
                rows.append(C.row(f'losses/{variant}/info_nce', 'pyg_sip' + sfx,
                                  case.size, 'abs_diff_vs_dense_reference',
                                  diff, '-'))
            for loss in losses:
                t = {i: times.get(f'{i}|{loss}') for i in impls}
                m = {i: memory.get(f'{i}|{loss}') for i in impls}
                bench = f'losses/{variant}/{loss}'
                speed_pml = C.ratio(t.get('pml'), t.get('pyg_sip'))
                mem_pml = C.ratio(m.get('pml'), m.get('pyg_sip'))
                vs_floor = C.ratio(t.get('pyg_sip'), floor_t)
                for metric, value in (('speedup_vs_pml', speed_pml),
                                      ('memory_ratio_vs_pml', mem_pml),
                                      ('time_vs_floor', vs_floor),
                                      ('speedup_vs_dense_reference', C.ratio(
                                          t.get('dense_reference'),
                                          t.get('pyg_sip'))),
                                      ('speedup_vs_pairs', C.ratio(
                                          t.get('pyg_sip_pairs'),
                                          t.get('pyg_sip'))),
                                      ('speedup_vs_loop', C.ratio(
                                          t.get('loop'), t.get('pyg_sip'))),
                                      ('compile_speedup', C.ratio(
                                          t.get('pyg_sip'),
                                          t.get('pyg_sip_compiled')))):
                    if value is not None:
                        rows.append(C.row(bench, 'pyg_sip' + sfx, case.size,
                                          metric, value, 'x'))
                summary.append({
                    'variant': variant, 'loss': loss, 'B': B,
                    'pairs': case.num_pairs,
                    'ours_ms': C.fmt(t.get('pyg_sip'), 1e3),
                    'pairs_ms': C.fmt(t.get('pyg_sip_pairs'), 1e3),
                    'dense_ref_ms': C.fmt(t.get('dense_reference'), 1e3),
                    'native_ms': C.fmt(t.get('pyg_sip_native'), 1e3),
                    'gather_ms': C.fmt(t.get('pyg_sip_gather'), 1e3),
                    'compiled_ms': C.fmt(t.get('pyg_sip_compiled'), 1e3),
                    'pml_ms': C.fmt(t.get('pml'), 1e3),
                    'loop_ms': C.fmt(t.get('loop'), 1e3),
                    'floor_ms': C.fmt(floor_t, 1e3),
                    'ours_MiB': C.fmt(m.get('pyg_sip'), 1 / C.MIB),
                    'pml_MiB': C.fmt(m.get('pml'), 1 / C.MIB),
                    'x_faster_pml': C.fmt(speed_pml),
                    'x_faster_dense_ref': C.fmt(C.ratio(
                        t.get('dense_reference'), t.get('pyg_sip'))),
                    'x_less_mem_pml': C.fmt(mem_pml),
                    'x_floor': C.fmt(vs_floor),
                })
            print(C.table(summary[-len(losses):]), flush=True)
            del case, runs
    print('\n# Summary (times: median ms of forward + backward; memory: peak '
          'MiB above the inputs; x_*: ratios)')
    if args.merge and args.output and os.path.exists(args.output):
        import json
        with open(args.output) as f:
            old = json.load(f)
        def key(r: dict) -> tuple:
            return r['benchmark'], r['impl'], r['size'], r['metric']
        new = {key(r) for r in rows}
        rows = [r for r in old if key(r) not in new] + rows
    C.finish(rows, args.output, summary)


if __name__ == '__main__':
    main()
