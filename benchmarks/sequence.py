"""Sequence-encoder throughput on real protein lengths: length-bucketed
encoding against padding every batch to its longest sequence, side by side,
one thread.

Data: the real sequences of SHS27k (``datasets/ppi_shs27k``, 1,690 human
proteins, 51-5,171 residues) and DeepLoc (``datasets/deeploc_subsets``, the
three FASTA files, 4,936 proteins, 40-13,100 residues), residue-tokenised
(``AminoAcidTokenizer``) into a ``SampleGraph`` and gathered the way the
loader does it (``graph.gather(ids, max_length)``: the first ``max_length``
residues, padded to the longest of the batch). Batches are U random samples
(the same batches for every implementation).

Model: ``SequenceEncoder`` as ``pyg_sip.pipeline`` builds it (H = 64, 2
layers, 4 heads, mean pooling, masked-token head, mask rate 0.15), dropout 0
so both paths compute the same numbers (checked on the first batch).

- ``padded``: ``bucket_tokens=None``, the whole batch padded to its longest;
- ``bucketed:<budget>``: length buckets (see ``pyg_sip.nn.TokenEncoder``):
  samples sorted by length, cut into buckets of at most ``budget`` padded
  tokens, each padded to its own longest; ``auto`` (the default) is 4,096
  tokens on the CPU and 65,536 on CUDA. ``--bucket-tokens auto,1024,16384``
  compares budgets (the first one gives the summary and the speedup rows).

Metrics, per dataset and ``max_length``: ``step_time`` (``pretrain_step``
+ backward of the sample loss and the embeddings), ``tokens_per_s`` (real
tokens of the batch / step time), ``embed_time`` and ``embed_tokens_per_s``
(``encode`` under ``no_grad``, eval mode), ``speedup`` and
``embed_speedup`` = bucketed tokens/s / padded tokens/s, and
``padding_efficiency`` = real / padded tokens of the padded batches;
``max_abs_diff``: the largest difference of embeddings and sample loss
between the two paths on the first batch.
Median process CPU time over interleaved rounds (CUDA: wall time).

    python benchmarks/sequence.py --output benchmarks/results/perf_sequence.json
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List

import torch
from torch_geometric.data import Data

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyg_sip.data import SampleGraph  # noqa: E402
from pyg_sip.data.tokenizers import AminoAcidTokenizer, encode_ragged  # noqa: E402
from pyg_sip.nn import SequenceEncoder  # noqa: E402
from pyg_sip.nn.token_encoder import DEFAULT_BUCKET_TOKENS  # noqa: E402

import _common as C  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / 'datasets'
DEEPLOC = ('deeploc_our_val_set.fasta', 'deeploc_test_set.fasta', 'setHARD.fasta')


def shs27k_sequences() -> List[str]:
    path = ROOT / 'ppi_shs27k' / 'protein.SHS27k.sequences.dictionary.tsv'
    return [line.split('\t')[1].strip() for line in path.read_text().splitlines()
            if line.strip()]


def deeploc_sequences() -> List[str]:
    seqs: List[str] = []
    for name in DEEPLOC:
        for line in (ROOT / 'deeploc_subsets' / name).read_text().splitlines():
            if line.startswith('>'):
                seqs.append('')
            elif line.strip():
                seqs[-1] += line.strip()
    return seqs


DATASETS: Dict[str, Callable[[], List[str]]] = {
    'shs27k': shs27k_sequences, 'deeploc': deeploc_sequences}


def encoder(bucket_tokens, device: torch.device) -> SequenceEncoder:
    torch.manual_seed(0)
    return SequenceEncoder(25, hidden_channels=64, num_layers=2, num_heads=4,
                           max_length=4096, dropout=0.0, pooling='mean',
                           out_channels=64, mask_rate=0.15,
                           bucket_tokens=bucket_tokens).to(device)


def batches(graph: SampleGraph, size: int, count: int, max_length: int,
            device: torch.device, seed: int) -> List:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        ids = torch.randperm(graph.num_nodes, generator=gen)[:size]
        input_ids, attention_mask = graph.gather(ids, max_length=max_length)
        out.append(Data(input_ids=input_ids.to(device),
                        attention_mask=attention_mask.to(device)))
    return out


def cycle(fn: Callable, items: List) -> Callable:
    state = {'i': 0}

    def call():
        item = items[state['i'] % len(items)]
        state['i'] += 1
        return fn(item)
    return call


def train_step(model: SequenceEncoder) -> Callable:
    def step(batch):
        z, loss = model.pretrain_step(batch, torch.Generator().manual_seed(0))
        (loss + 1e-3 * z.square().mean()).backward()
    return step


def embed_step(model: SequenceEncoder) -> Callable:
    def step(batch):
        with torch.no_grad():
            return model.encode(batch)
    return step


def check_same(models: Dict[str, SequenceEncoder], batch) -> float:
    r"""Largest difference of embeddings and sample loss between the paths."""
    with torch.no_grad():
        outs = [m.pretrain_step(batch, torch.Generator().manual_seed(1))
                for m in models.values()]
    (z1, l1), *rest = outs
    return max(max(float((z1 - z).abs().max()), float((l1 - loss).abs()))
               for z, loss in rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    C.add_common_args(parser, repeats=5)
    parser.add_argument('--datasets', default='shs27k,deeploc')
    parser.add_argument('--max-lengths', default='128,512,1024',
                        help='residues kept per sequence (the pipeline uses 128)')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='samples U per batch')
    parser.add_argument('--bucket-tokens', default=str(DEFAULT_BUCKET_TOKENS),
                        help='token budgets of the bucketed runs (the first '
                             'one gives the speedup rows)')
    args = parser.parse_args()
    device = C.setup(args)
    tokenizer = AminoAcidTokenizer()
    rows: List[dict] = []
    summary: List[dict] = []
    U = args.batch_size
    budgets = [b if b == 'auto' else int(b)
               for b in args.bucket_tokens.split(',') if b]
    best = f'bucketed:{budgets[0]}'
    for name in [d for d in args.datasets.split(',') if d]:
        seqs = DATASETS[name]()
        tokens, ptr = encode_ragged(tokenizer, seqs)
        graph = SampleGraph(tokens=tokens, token_ptr=ptr,
                            vocab_size=tokenizer.vocab_size)
        lengths = ptr.diff()
        print(f'\n## {name}: {len(seqs):,} sequences, {int(lengths.min())}-'
              f'{int(lengths.max()):,} residues (median {int(lengths.median())})',
              flush=True)
        for max_length in [int(s) for s in args.max_lengths.split(',') if s]:
            data = batches(graph, U, args.repeats + 1, max_length, device,
                           seed=max_length)
            real = sum(int(b.attention_mask.sum()) for b in data) / len(data)
            padded_tokens = sum(b.attention_mask.numel() for b in data) / len(data)
            models = {'padded': encoder(None, device)}
            for budget in budgets:
                models[f'bucketed:{budget}'] = encoder(budget, device)
            diff = check_same(models, data[0])
            size = f'{name}/L={max_length}/U={U}'
            rows.append(C.row('sequence', 'padded', size, 'padding_efficiency',
                              real / padded_tokens, 'ratio'))
            rows.append(C.row('sequence', best, size, 'max_abs_diff', diff, ''))
            results = {}
            for mode, make in (('step', train_step), ('embed', embed_step)):
                for m in models.values():
                    m.train(mode == 'step')
                impls = {k: cycle(make(m), data) for k, m in models.items()}
                results[mode] = C.measure(impls, device, args.repeats)
                prefix = '' if mode == 'step' else 'embed_'
                for impl, seconds in results[mode].items():
                    rows.append(C.row('sequence', impl, size,
                                      f'{mode}_time', seconds, 's'))
                    rows.append(C.row('sequence', impl, size,
                                      f'{prefix}tokens_per_s', real / seconds,
                                      'tokens/s'))
                for impl in list(models)[1:]:
                    speedup = results[mode]['padded'] / results[mode][impl]
                    rows.append(C.row('sequence', impl, size,
                                      f'{prefix}speedup', speedup, 'x'))
            step, emb = results['step'], results['embed']
            summary.append({
                'dataset': name, 'max_length': max_length, 'U': U,
                'pad eff.': C.fmt(real / padded_tokens, digits=2),
                'step ms pad': C.fmt(step['padded'], 1e3),
                'step ms bucket': C.fmt(step[best], 1e3),
                'ktok/s pad': C.fmt(real / step['padded'], 1e-3),
                'ktok/s bucket': C.fmt(real / step[best], 1e-3),
                'step x': C.fmt(step['padded'] / step[best]),
                'embed x': C.fmt(emb['padded'] / emb[best]),
                **{f'x @{b}': C.fmt(step['padded'] / step[f'bucketed:{b}'])
                   for b in budgets[1:]},
                'max diff': f'{diff:.1e}'})
            print(C.table(summary[-1:]), flush=True)
    C.finish(rows, args.output, summary)

if __name__ == '__main__':
    main()
