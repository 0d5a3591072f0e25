r"""OGB-style benchmark on shipped real data: no pre-training vs LM-only
(λ = 0) vs SIPT (λ chosen on validation), same encoder and budget, mean ±
std over seeds, model selection on validation only."""
from __future__ import annotations

import argparse
import time

import torch

from pyg_sip.experiments.pipeline import PretrainConfig, build_encoder, method_name, pretrain
from pyg_sip.experiments.results import aggregate

DATASETS = ('cora', 'citeseer')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS), choices=DATASETS)
    parser.add_argument('--seeds', type=int, default=None)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--root', default='datasets')


def run(args: argparse.Namespace) -> list[dict]:
    from pyg_sip.datasets import load_planetoid
    from pyg_sip.eval import embed, linear_probe
    seeds = args.seeds or (1 if args.quick else 10)
    runs = []
    for name in args.datasets:
        graph = load_planetoid(f'{args.root}/planetoid', {'cora': 'Cora', 'citeseer': 'CiteSeer'}[name])
        config = PretrainConfig(encoder='mlp', steps=20 if args.quick else 300)
        for lam in (None, 0.0, 0.5):
            for seed in range(seeds):
                start = time.perf_counter()
                if lam is None:
                    torch.manual_seed(seed)
                    enc = build_encoder(graph, config)
                else:
                    enc = pretrain(graph, lam, config, seed=seed)
                emb = embed(enc, graph, progress=False)
                m = linear_probe(emb, graph.y, graph.train_mask, graph.val_mask, graph.test_mask)
                runs.append({'dataset': name, 'method': method_name(lam), 'lambda': lam,
                             'seed': seed, 'seconds': time.perf_counter() - start,
                             'metrics': {'accuracy': m['accuracy']}})
    return aggregate(runs)
