r"""Planetoid Cora and CiteSeer (public split): an MLP over bag-of-words
pre-trained on the citation graph, probed linearly on the 20 training labels
per class, against PyG's GCN and an MLP trained on the labels."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from pyg_sip.pipeline import PretrainConfig, build_encoder, pretrain

from .real import log, num_seeds, sweep

NAMES = {'cora': 'Cora', 'citeseer': 'CiteSeer'}

#: The encoder and budget of all three methods: a 2-layer MLP over the raw
#: bag-of-words with feature masking as L_M, InfoNCE over citation links
#: (positives: cited/citing papers; negatives: other papers of the batch).
CONFIG = PretrainConfig(
    encoder='mlp', hidden_channels=256, out_channels=128, num_layers=2, dropout=0.2,
    mask_rate=0.15, steps=200, batch_size=256, lr=1e-3, weight_decay=0.01,
    warmup_steps=20, num_positives=4, num_negatives=16, negative_sampling='in_batch',
    structure_loss='info_nce', loss_kwargs={'temperature': 0.5})
#: CiteSeer's 3,703 features make a step 2.5 times as costly as Cora's: it
#: uses batches of 128 anchors to stay within the CPU budget.
BATCH_SIZE = {'cora': 256, 'citeseer': 128}
LAMBDAS = (0.5, 0.9, 1.0)
SEEDS = 10
#: The weight decays of the linear probe, chosen on validation.
PROBE_WEIGHT_DECAYS = (0.0, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
#: Reference models (Kipf & Welling, 2017): 16 hidden units, dropout 0.5,
#: Adam with lr 0.01 and weight decay 5e-4, 200 epochs, the epoch with the
#: best validation accuracy reported; row-normalised features.
REFERENCE = dict(hidden=16, dropout=0.5, lr=0.01, weight_decay=5e-4, epochs=200)


def sparse_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout of the stored entries of a sparse COO ``x`` (Kipf & Welling's
    dropout on sparse features): the distribution of dense dropout at the cost
    of the non-zeros (bag-of-words rows are ~99 % zeros)."""
    values = F.dropout(x.values(), p, training)
    return torch.sparse_coo_tensor(x.indices(), values, x.shape, is_coalesced=True,
                                   check_invariants=False)


class _Reference(torch.nn.Module):
    """Kipf's two-layer GCN (``gcn``) or the same network without the graph
    (``mlp``)."""

    def __init__(self, kind: str, in_channels: int, hidden: int, out_channels: int,
                 dropout: float) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv
        self.kind, self.dropout = kind, dropout
        if kind == 'gcn':
            self.layer1 = GCNConv(in_channels, hidden, cached=True)
            self.layer2 = GCNConv(hidden, out_channels, cached=True)
        else:
            self.layer1 = torch.nn.Linear(in_channels, hidden)
            self.layer2 = torch.nn.Linear(hidden, out_channels)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        args = (edge_index, ) if self.kind == 'gcn' else ()
        x = sparse_dropout(x, self.dropout, self.training)
        x = F.relu(self.layer1(x, *args))
        x = F.dropout(x, self.dropout, self.training)
        return self.layer2(x, *args)


def train_reference(kind: str, graph, seed: int, epochs: int) -> dict:
    """Trains a reference model on ``graph.train_mask`` (row-normalised
    features, stored sparse); test and validation accuracy at the epoch of
    best validation accuracy."""
    torch.manual_seed(seed)
    c = REFERENCE
    x = (graph.x / graph.x.sum(1, keepdim=True).clamp_min(1)).to_sparse().coalesce()
    y = graph.y
    model = _Reference(kind, x.size(1), c['hidden'], int(y.max()) + 1, c['dropout'])
    opt = torch.optim.Adam(model.parameters(), lr=c['lr'], weight_decay=c['weight_decay'])
    best = {'val_accuracy': -1.0, 'accuracy': 0.0}
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        out = model(x, graph.edge_index)
        F.cross_entropy(out[graph.train_mask], y[graph.train_mask]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(x, graph.edge_index).argmax(-1)
        val = float((pred[graph.val_mask] == y[graph.val_mask]).float().mean())
        if val > best['val_accuracy']:
            test = float((pred[graph.test_mask] == y[graph.test_mask]).float().mean())
            best = {'val_accuracy': val, 'accuracy': test}
    return {'accuracy': best['accuracy'], 'val_accuracy': best['val_accuracy']}


def run_dataset(name: str, root: Path, args: argparse.Namespace) -> list[dict]:
    import time

    from pyg_sip.datasets import load_planetoid
    from pyg_sip.eval import embed, linear_probe
    graph = load_planetoid(root / 'planetoid', NAMES[name])
    config = dataclasses.replace(CONFIG, batch_size=BATCH_SIZE[name])
    grid, epochs = LAMBDAS, REFERENCE['epochs']
    if args.quick:
        config = dataclasses.replace(config, steps=3, warmup_steps=1)
        grid, epochs = (0.9, ), 3
    seeds = num_seeds(args, SEEDS)

    def evaluate(lam, seed):
        if lam is None:
            torch.manual_seed(seed)
            encoder = build_encoder(graph, config)
        else:
            encoder = pretrain(graph, lam, config, seed=seed)
        emb = embed(encoder, graph, batch_size=4096, progress=False)
        m = linear_probe(emb, graph.y, graph.train_mask, graph.val_mask, graph.test_mask,
                         weight_decays=PROBE_WEIGHT_DECAYS)
        return {name: {'accuracy': m['accuracy'], 'val_accuracy': m['val_accuracy']}}

    runs = sweep(evaluate, {name: 'val_accuracy'}, grid, seeds, args, name)
    for kind in ('gcn', 'mlp'):
        for seed in range(seeds):
            start = time.perf_counter()
            metrics = train_reference(kind, graph, seed, epochs)
            runs.append({'dataset': name, 'method': kind, 'lambda': None, 'seed': seed,
                         'seconds': time.perf_counter() - start, 'metrics': metrics})
            log(args, f'[{name}] {kind} seed={seed} {metrics}')
    return runs
