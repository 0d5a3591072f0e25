"""Scaling of one pre-training step: sampling (StructureLoader) + encoder
(with its per-sample loss) + structure loss + backward, as the pre-training
graph grows from 10^4 to 10^6 nodes and the batch from 256 to 16,384 anchors.

Each step draws a StructureLoader batch (8 positives, 32 uniform negatives per
anchor), encodes its U distinct samples with ``pretrain_step``, computes
``SIPObjective('multi_similarity', lam=0.5)`` and calls ``backward()`` (no
optimiser step). Encoders:

- ``mlp``: ``MLPEncoder(64, 128, 128)`` on random features x [N, 64] (with
  feature masking as the per-sample loss);
- ``sequence``: a small ``SequenceEncoder`` (hidden 32, 1 layer, 2 heads,
  out 128, masked-token loss) on random token sequences of 8-16 tokens
  (smaller grid: ``--sequence-sizes``).

Reported per (encoder, N, B): median process CPU time of the step and of
its phases (sample, forward, backward), peak memory of a step above the
resident graph and model (see benchmarks/_common.py), the pairs P + Q, and
time per pair: flat across B means linear growth, nothing quadratic in the
batch size.

    python benchmarks/scaling.py --output benchmarks/results/perf_scaling.json
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyg_sip.data import SampleGraph  # noqa: E402
from pyg_sip.nn import MLPEncoder, SequenceEncoder  # noqa: E402
from pyg_sip.objective import SIPObjective  # noqa: E402
from pyg_sip.sampling import StructureLoader  # noqa: E402

import _common as C  # noqa: E402

NUM_POS, NUM_NEG, DIM, FEATURES = 8, 32, 128, 64


def make_graph(N: int, encoder: str) -> SampleGraph:
    gen = torch.Generator().manual_seed(7)
    edge_index = C.powerlaw_graph(N)
    if encoder == 'mlp':
        return SampleGraph(x=torch.randn(N, FEATURES, generator=gen),
                           edge_index=edge_index, num_nodes=N)
    lengths = torch.randint(8, 17, (N,), generator=gen)
    ptr = torch.zeros(N + 1, dtype=torch.long)
    torch.cumsum(lengths, 0, out=ptr[1:])
    tokens = torch.randint(4, 29, (int(ptr[-1]),), generator=gen)
    return SampleGraph(tokens=tokens, token_ptr=ptr, edge_index=edge_index,
                       num_nodes=N, vocab_size=29)


def make_model(encoder: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if encoder == 'mlp':
        return MLPEncoder(FEATURES, 128, DIM)
    return SequenceEncoder(29, hidden_channels=32, num_layers=1, num_heads=2,
                           max_length=16, dropout=0.0, out_channels=DIM)


class Step:
    r"""One pre-training step on fresh anchors; keeps the phase times."""
    def __init__(self, graph: SampleGraph, model: torch.nn.Module, B: int,
                 device: torch.device):
        self.loader = StructureLoader(graph, B, NUM_POS, NUM_NEG, 'uniform',
                                      seed=0)
        self.model, self.device, self.B = model.to(device), device, B
        self.objective = SIPObjective('multi_similarity', lam=0.5).to(device)
        self.gen = torch.Generator().manual_seed(1)
        self.order = torch.randperm(graph.num_nodes, generator=self.gen)
        self.i = 0
        self.phases: Dict[str, List[float]] = {'sample': [], 'forward': [],
                                               'backward': []}
        self.pairs: List[int] = []
        self.samples: List[int] = []

    def __call__(self) -> None:
        clock = C.clock(self.device)
        n = self.order.numel() // self.B
        anchors = self.order[(self.i % n) * self.B:(self.i % n + 1) * self.B]
        self.i += 1
        t0 = clock()
        batch = self.loader.sample(anchors, self.gen).to(self.device)
        C.synchronize(self.device)
        t1 = clock()
        self.model.zero_grad(set_to_none=True)
        z, lm_loss = self.model.pretrain_step(batch)
        out = self.objective(z, batch.pos_index, batch.neg_index, lm_loss)
        C.synchronize(self.device)
        t2 = clock()
        out['loss'].backward()
        C.synchronize(self.device)
        t3 = clock()
        self.phases['sample'].append(t1 - t0)
        self.phases['forward'].append(t2 - t1)
        self.phases['backward'].append(t3 - t2)
        self.pairs.append(batch.pos_index.size(1) + batch.neg_index.size(1))
        self.samples.append(int(batch.num_seeds))


def median(values: List[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    C.add_common_args(parser, repeats=3)
    parser.add_argument('--graph-sizes', default='10000,100000,1000000',
                        help='N for the graph sweep (at --graph-batch anchors)')
    parser.add_argument('--graph-batch', type=int, default=4096)
    parser.add_argument('--batch-sizes', default='256,1024,4096,16384',
                        help='B for the batch sweep (on --batch-graph nodes)')
    parser.add_argument('--batch-graph', type=int, default=1000000)
    parser.add_argument('--sequence-sizes', default='1000000:256,1000000:1024,'
                        '1000000:4096,10000:1024,100000:1024',
                        help="N:B pairs for the sequence encoder ('' to skip)")
    parser.add_argument('--encoders', default='mlp,sequence')
    args = parser.parse_args()
    device = C.setup(args)
    if device.type == 'cpu' and not C.cpu_peak_supported():
        sys.exit('peak memory needs a writable /proc/self/clear_refs')

    grid: Dict[str, List[Tuple[int, int]]] = {}
    if 'mlp' in args.encoders:
        grid['mlp'] = sorted(
            {(int(n), args.graph_batch) for n in args.graph_sizes.split(',') if n}
            | {(args.batch_graph, int(b)) for b in args.batch_sizes.split(',')
               if b})
    if 'sequence' in args.encoders and args.sequence_sizes:
        grid['sequence'] = sorted(tuple(int(v) for v in s.split(':'))
                                  for s in args.sequence_sizes.split(','))
    rows: List[dict] = []
    summary: List[dict] = []
    for encoder, configs in grid.items():
        for N in sorted({n for n, _ in configs}):
            start = time.perf_counter()
            graph = make_graph(N, encoder)
            print(f'\n## {encoder}, N={N:,}: {graph.edge_index.size(1):,} '
                  f'directed edges (built in {time.perf_counter() - start:.1f} s)',
                  flush=True)
            for B in sorted(b for n, b in configs if n == N):
                step = Step(graph, make_model(encoder), B, device)
                step()  # warm-up
                for phases in step.phases.values():
                    phases.clear()
                step.pairs.clear()
                step.samples.clear()
                for _ in range(args.repeats):
                    step()
                peak = C.peak_memory(step, device)
                total = [sum(p) for p in zip(*step.phases.values())]
                seconds = median(total)
                pairs = sum(step.pairs) / len(step.pairs)
                samples = sum(step.samples) / len(step.samples)
                size = f'N={N},B={B}'
                bench = f'scaling/{encoder}'
                rows += [
                    C.row(bench, 'pyg_sip', size, 'step_time', seconds, 's'),
                    C.row(bench, 'pyg_sip', size, 'sample_time',
                          median(step.phases['sample']), 's'),
                    C.row(bench, 'pyg_sip', size, 'forward_time',
                          median(step.phases['forward']), 's'),
                    C.row(bench, 'pyg_sip', size, 'backward_time',
                          median(step.phases['backward']), 's'),
                    C.row(bench, 'pyg_sip', size, 'peak_memory', peak / C.MIB,
                          'MiB'),
                    C.row(bench, 'pyg_sip', size, 'pairs', pairs, 'pairs'),
                    C.row(bench, 'pyg_sip', size, 'samples', samples, 'samples'),
                    C.row(bench, 'pyg_sip', size, 'time_per_pair',
                          seconds / pairs * 1e6, 'us'),
                ]
                summary.append({
                    'encoder': encoder, 'N': N, 'B': B, 'pairs': int(pairs),
                    'samples': int(samples),
                    'step_ms': C.fmt(seconds, 1e3),
                    'sample_ms': C.fmt(median(step.phases['sample']), 1e3),
                    'forward_ms': C.fmt(median(step.phases['forward']), 1e3),
                    'backward_ms': C.fmt(median(step.phases['backward']), 1e3),
                    'peak_MiB': C.fmt(peak, 1 / C.MIB),
                    'us/pair': C.fmt(seconds / pairs, 1e6),
                    'KiB/pair': C.fmt(peak / pairs, 1 / 1024),
                })
                print(C.table(summary[-1:]), flush=True)
                del step
            del graph
    print('\n# Summary (median process CPU time of one step; us/pair and '
          'KiB/pair flat across B = linear in pairs)')
    C.finish(rows, args.output, summary)


if __name__ == '__main__':
    main()
