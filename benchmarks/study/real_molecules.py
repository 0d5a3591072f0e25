r"""Molecules: a GIN (:class:`~pyg_sip.nn.MoleculeEncoder`) pre-trained on the
4,200 Lipophilicity molecules without their labels, with attribute masking
as L_M and InfoNCE over the Morgan-fingerprint Tanimoto 5-NN graph as L_SI,
then fine-tuned with a linear head on BBBP and BACE (scaffold splits
80/10/10 as in OGB's ``ogbg-mol*``; the epoch with the best validation
ROC-AUC is reported on test). λ = 0 is attribute masking alone."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from pyg_sip.pipeline import PretrainConfig, build_encoder, pretrain

from .real import num_seeds, sweep

CONFIG = PretrainConfig(
    encoder='molecule', hidden_channels=64, out_channels=64, num_layers=3, dropout=0.1,
    mask_rate=0.15, steps=200, batch_size=64, lr=1e-3, warmup_steps=20, num_positives=2,
    num_negatives=16, negative_sampling='in_batch', structure_loss='info_nce',
    loss_kwargs={'temperature': 0.5})
LAMBDAS = (0.1, 0.5)
SEEDS = 5
#: Fine-tuning of every method (encoder and head trained together).
FINETUNE = dict(epochs=10, lr=1e-3, batch_size=64, weight_decay=0.0)
TASKS = {'bbbp': 'bbbp.csv', 'bace': 'bace.csv'}


def run_dataset(name: str, root: Path, args: argparse.Namespace) -> list[dict]:
    from pyg_sip.datasets import MoleculeGraph
    from pyg_sip.eval import finetune
    folder = root / 'moleculenet_chemprop'
    pool = MoleculeGraph.from_csv(folder / 'lipo.csv', split=None,
                                  max_rows=300 if args.quick else None).to_sample_graph()
    tasks = {task: MoleculeGraph.from_csv(folder / file).to_sample_graph()
             for task, file in TASKS.items()}
    if args.quick:  # a seeded random subset (the files are sorted by label)
        gen = torch.Generator().manual_seed(0)
        tasks = {task: graph.subgraph(torch.randperm(graph.num_nodes, generator=gen)[:300])
                 for task, graph in tasks.items()}
    config, grid, ft = CONFIG, LAMBDAS, FINETUNE
    if args.quick:
        config = dataclasses.replace(config, steps=3, warmup_steps=1)
        grid, ft = grid[:1], {**ft, 'epochs': 1}

    def evaluate(lam, seed):
        if lam is None:
            torch.manual_seed(seed)
            encoder = build_encoder(pool, config)
        else:
            encoder = pretrain(pool, lam, config, seed=seed)
        out = {}
        for task, graph in tasks.items():
            m = finetune(encoder, graph, graph.train_mask, graph.val_mask, graph.test_mask,
                         task='multilabel', seed=seed, progress=False, **ft)
            out[task] = {'rocauc': m['auroc'], 'val_rocauc': m['val_auroc']}
        return out

    return sweep(evaluate, {task: 'val_rocauc' for task in tasks}, grid,
                 num_seeds(args, SEEDS), args, name)
