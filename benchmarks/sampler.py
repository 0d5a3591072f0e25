"""Pair sampling throughput: (anchor, positive) and (anchor, negative) pairs
per second drawn by ``StructureLoader`` on random power-law graphs, per
negative-sampling policy, on one thread, against PyG's samplers.

Graphs: Chung–Lu power-law graphs (exponent 2.5, mean degree ~10) of 10^4,
10^5 and 10^6 nodes, with random groups of ~1,000 nodes for ``'group'``.

- ``pyg_sip:<policy>``: ``StructureLoader(graph, B, 8, 32, policy).sample(
  anchors)`` for B = 4,096 fresh anchors per batch (no payload): 8 distinct
  positives among the anchor's neighbours and 32 distinct negatives that are
  guaranteed non-edges.
- ``link_neighbor_loader``: PyG's ``LinkNeighborLoader`` over all edges with
  ``neg_sampling=NegativeSampling('triplet', amount=4)``, ``num_neighbors=
  [0]``, ``batch_size=8 * B`` (so 8 positive and 32 negative pairs per 8
  seed edges, as above; its negatives are random nodes, not checked against
  edges). Needs pyg-lib or torch-sparse: skipped with a message otherwise.
- ``structured_negative_sampling``: ``torch_geometric.utils.
  structured_negative_sampling`` on the whole graph (one negative per edge,
  checked against edges): 2 pairs per edge per call.

k-hop mode (``--khop``, for message-passing encoders): the 2-hop
neighbourhood ([10, 5] neighbours) of the U samples of a batch, by
``pyg_sip.sampling.sample_neighbors`` and by PyG's ``NeighborLoader`` (one
batch holding the same U seeds); sampled edges per second. Also the whole
``StructureLoader`` batch in message-passing mode.

Throughput = pairs (or edges) of a batch / median process CPU time per batch
over interleaved rounds, one thread.

    python benchmarks/sampler.py --khop --output benchmarks/results/perf_sampler.json

``--merge`` keeps the rows of the existing output that a run does not
measure (e.g. the PyG loaders, on a machine without pyg-lib/torch-sparse).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Dict, List

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_geometric.data import Data  # noqa: E402
from torch_geometric.utils import structured_negative_sampling  # noqa: E402

from pyg_sip.sampling import StructureLoader, sample_neighbors  # noqa: E402
from pyg_sip.typing import WITH_PYG_LIB, WITH_TORCH_SPARSE  # noqa: E402

import _common as C  # noqa: E402

POLICIES = ('uniform', 'degree', 'group', 'hard', 'in_batch')
NUM_POS, NUM_NEG = 8, 32
HOPS = [10, 5]


def batches(loader: StructureLoader, B: int, seed: int) -> Callable:
    r"""A callable drawing the next batch of B fresh anchors each call;
    ``.pairs`` collects the pairs of each batch."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(loader.input_nodes.numel(), generator=gen)
    state = {'i': 0}
    counts: List[int] = []

    def run():
        n = order.numel() // B
        i = state['i'] % n
        state['i'] += 1
        batch = loader.sample(order[i * B:(i + 1) * B], gen)
        counts.append(batch.pos_index.size(1) + batch.neg_index.size(1))
        return batch
    run.pairs = counts
    return run


def link_neighbor_loader(graph: Data, B: int, seed: int) -> Callable:
    from torch_geometric.loader import LinkNeighborLoader
    from torch_geometric.sampler import NegativeSampling
    torch.manual_seed(seed)
    loader = LinkNeighborLoader(
        graph, num_neighbors=[0], edge_label_index=graph.edge_index,
        neg_sampling=NegativeSampling('triplet', amount=NUM_NEG // NUM_POS),
        batch_size=NUM_POS * B, shuffle=True)
    state = {'it': iter(loader)}
    counts: List[int] = []

    def run():
        try:
            batch = next(state['it'])
        except StopIteration:
            state['it'] = iter(loader)
            batch = next(state['it'])
        counts.append(batch.src_index.numel() +
                      batch.dst_neg_index.numel())
        return batch
    run.pairs = counts
    return run


def structured(graph: Data) -> Callable:
    counts: List[int] = []

    def run():
        out = structured_negative_sampling(graph.edge_index, graph.num_nodes,
                                           contains_neg_self_loops=False)
        counts.append(2 * out[0].numel())
    run.pairs = counts
    return run


def khop_ours(loader: StructureLoader, seeds: List[torch.Tensor]) -> Callable:
    g = loader.structure
    state = {'i': 0}
    counts: List[int] = []

    def run():
        s = seeds[state['i'] % len(seeds)]
        state['i'] += 1
        _, edge_index = sample_neighbors(g.rowptr, g.col, s, HOPS)
        counts.append(edge_index.size(1))
    run.pairs = counts
    return run


def khop_pyg(graph: Data, seeds: List[torch.Tensor]) -> Callable:
    from torch_geometric.loader import NeighborLoader
    loaders = [NeighborLoader(graph, num_neighbors=HOPS, input_nodes=s,
                              batch_size=s.numel()) for s in seeds]
    state = {'i': 0}
    counts: List[int] = []

    def run():
        loader = loaders[state['i'] % len(loaders)]
        state['i'] += 1
        batch = next(iter(loader))
        counts.append(batch.edge_index.size(1))
    run.pairs = counts
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    C.add_common_args(parser, repeats=7)
    parser.add_argument('--sizes', default='10000,100000,1000000',
                        help='graph sizes (nodes)')
    parser.add_argument('--batch-size', type=int, default=4096)
    parser.add_argument('--policies', default=','.join(POLICIES))
    parser.add_argument('--khop', action='store_true',
                        help='also time k-hop neighbourhood sampling')
    parser.add_argument('--no-structured', action='store_true',
                        help='skip structured_negative_sampling')
    parser.add_argument('--merge', action='store_true',
                        help='with --output: keep the rows of the existing file that '
                             'this run does not measure (same benchmark, impl, size, '
                             'metric), replace the others')
    args = parser.parse_args()
    device = C.setup(args)
    if device.type != 'cpu':
        print('# sampling runs on the CPU (batches are moved afterwards)')
        device = torch.device('cpu')
    has_pyg_sampler = WITH_PYG_LIB or WITH_TORCH_SPARSE
    if not has_pyg_sampler:
        print('# LinkNeighborLoader / NeighborLoader: skipped, they need '
              'pyg-lib or torch-sparse (neither is installed)')
    B = args.batch_size
    rows: List[dict] = []
    summary: List[dict] = []
    for N in [int(s) for s in args.sizes.split(',') if s]:
        start = time.perf_counter()
        edge_index = C.powerlaw_graph(N)
        graph = Data(edge_index=edge_index, num_nodes=N)
        graph.group = torch.randint(max(1, N // 1000), (N,),
                                    generator=torch.Generator().manual_seed(1))
        print(f'\n## N={N:,}: {edge_index.size(1):,} directed edges '
              f'(built in {time.perf_counter() - start:.1f} s)', flush=True)
        impls: Dict[str, Callable] = {}
        loaders = {}
        for policy in [p for p in args.policies.split(',') if p]:
            start = time.perf_counter()
            loaders[policy] = StructureLoader(graph, B, NUM_POS, NUM_NEG,
                                              policy, seed=0)
            setup_s = time.perf_counter() - start
            rows.append(C.row('sampler', f'pyg_sip:{policy}', str(N),
                              'setup_time', setup_s, 's'))
            impls[f'pyg_sip:{policy}'] = batches(loaders[policy], B, seed=2)
        if has_pyg_sampler:
            impls['link_neighbor_loader'] = link_neighbor_loader(graph, B, 3)
        if not args.no_structured:
            impls['structured_negative_sampling'] = structured(graph)
        times = C.measure(impls, device, args.repeats)
        for name, seconds in times.items():
            pairs = sum(impls[name].pairs) / len(impls[name].pairs)
            rows.append(C.row('sampler', name, str(N), 'batch_time', seconds, 's'))
            rows.append(C.row('sampler', name, str(N), 'pairs_per_s',
                              pairs / seconds, 'pairs/s'))
            summary.append({'benchmark': 'pairs', 'N': N, 'impl': name,
                            'pairs/batch': int(pairs),
                            'ms/batch': C.fmt(seconds, 1e3),
                            'Mpairs/s': C.fmt(pairs / seconds, 1e-6)})
        if 'link_neighbor_loader' in times and 'pyg_sip:uniform' in times:
            def rate(name, impls=impls, times=times):
                return sum(impls[name].pairs) / len(impls[name].pairs) / times[name]
            value = rate('pyg_sip:uniform') / rate('link_neighbor_loader')
            rows.append(C.row('sampler', 'pyg_sip:uniform', str(N),
                              'speedup_vs_link_neighbor_loader', value, 'x'))
        if args.khop:
            loader = loaders.get('uniform') or next(iter(loaders.values()))
            probe = batches(loader, B, seed=4)
            seeds = [probe().n_id for _ in range(args.repeats + 1)]
            khop = {'pyg_sip:sample_neighbors': khop_ours(loader, seeds)}
            if has_pyg_sampler:
                khop['neighbor_loader'] = khop_pyg(graph, seeds)
            mp_loader = StructureLoader(graph, B, NUM_POS, NUM_NEG, 'uniform',
                                        num_neighbors=HOPS, seed=0)
            khop['pyg_sip:structure_loader_khop'] = batches(mp_loader, B, 5)
            times = C.measure(khop, device, args.repeats)
            for name, seconds in times.items():
                count = sum(khop[name].pairs) / len(khop[name].pairs)
                unit = 'pairs' if name.endswith('_khop') else 'edges'
                rows.append(C.row('sampler_khop', name, str(N), 'batch_time',
                                  seconds, 's'))
                rows.append(C.row('sampler_khop', name, str(N), f'{unit}_per_s',
                                  count / seconds, f'{unit}/s'))
                summary.append({'benchmark': f'k-hop {HOPS} ({unit})', 'N': N,
                                'impl': name, 'pairs/batch': int(count),
                                'ms/batch': C.fmt(seconds, 1e3),
                                'Mpairs/s': C.fmt(count / seconds, 1e-6)})
        print(C.table([s for s in summary if s['N'] == N]), flush=True)
    print('\n# Summary (one thread; k-hop rows count sampled edges, or pairs '
          'for the whole message-passing batch)')
    if args.merge and args.output and os.path.isfile(args.output):
        rows = merged(args.output, rows)
    C.finish(rows, args.output, summary)


def merged(path: str, rows: List[dict]) -> List[dict]:
    r"""The rows of ``path`` that ``rows`` does not measure, then ``rows``."""
    with open(path) as f:
        old = json.load(f)

    def key(r: dict) -> tuple:
        return r['benchmark'], r['impl'], r['size'], r['metric']

    fresh = {key(r) for r in rows}
    return [r for r in old if key(r) not in fresh] + list(rows)


if __name__ == '__main__':
    main()
