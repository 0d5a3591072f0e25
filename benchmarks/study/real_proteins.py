r"""Proteins: a small Transformer pre-trained from scratch on the SHS27k
sequences (masked-token LM as L_M) and interactions (InfoNCE as L_SI), every
run evaluated on two tasks:

* ``shs27k-links``: link retrieval for proteins held out of pre-training. A
  seeded 10 % of the proteins (test) and another 5 % (validation) are
  removed from the pre-training graph entirely (not anchors, positives nor
  negatives); each of their interactions :math:`(u, v)` is a query ranking
  the partner :math:`v` among all other proteins by cosine similarity,
  filtered setting (other known partners of :math:`u` removed); MRR and
  Hits@10 as in OGB's ``linkproppred`` evaluator.
* ``deeploc``: localisation (10 classes) by linear probe on the frozen
  embeddings. DeepLoc's training split is not shipped, so the probe trains
  on a seeded 80 % of ``deeploc_our_val_set`` (1,342 proteins), selects on
  the other 20 % (336), and tests on ``deeploc_test_set`` (2,768).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from pyg_sip.pipeline import PretrainConfig, build_encoder, pretrain

from .real import num_seeds, sweep
from .real_citations import PROBE_WEIGHT_DECAYS

#: A 2-layer, 64-wide Transformer over the first 128 residues, mean pooling.
#: The structure loss is the margin contrastive loss on Euclidean distances:
#: mean-pooled embeddings of freshly initialised models are nearly identical
#: for all proteins (similar amino-acid composition), where cosine-based
#: InfoNCE has no gradient to separate them (its loss stays at log(1 + k-)).
CONFIG = PretrainConfig(
    encoder='sequence', hidden_channels=64, out_channels=64, num_layers=2, num_heads=4,
    dropout=0.1, pooling='mean', max_length=128, mask_rate=0.15, steps=100, batch_size=32,
    lr=2e-3, warmup_steps=10, num_positives=2, num_negatives=16,
    negative_sampling='in_batch', structure_loss='margin_contrastive')
LAMBDAS = (0.1, 0.5)
SEEDS = 3
#: Shares of the proteins held out of pre-training (test, validation), seed 0.
HOLD_OUT = dict(test=0.10, val=0.05, seed=0)
#: Share of deeploc_our_val_set used for training the probe (seed 0).
DEEPLOC_TRAIN = 0.8


def hold_out_proteins(num_nodes: int, test: float, val: float, seed: int):
    """Seeded disjoint ``(train, val, test)`` protein ids."""
    perm = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))
    n_test, n_val = round(test * num_nodes), round(val * num_nodes)
    return (perm[n_test + n_val:].sort().values, perm[n_test:n_test + n_val].sort().values,
            perm[:n_test].sort().values)


def queries(edge_index: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """The edges (both directions stored) whose source is in ``sources``."""
    keep = torch.isin(edge_index[0], sources)
    return edge_index[:, keep]


def run_dataset(name: str, root: Path, args: argparse.Namespace) -> list[dict]:
    from pyg_sip.datasets import ProteinInteractionGraph, load_deeploc
    from pyg_sip.eval import embed, linear_probe, link_retrieval
    graph = ProteinInteractionGraph.from_shs27k(root / 'ppi_shs27k').to_sample_graph()
    folder = root / 'deeploc_subsets'
    probe_set = load_deeploc(folder / 'deeploc_our_val_set.fasta').to_sample_graph()
    test_set = load_deeploc(folder / 'deeploc_test_set.fasta').to_sample_graph()
    config, grid = CONFIG, LAMBDAS
    if args.quick:
        config = dataclasses.replace(config, steps=3, warmup_steps=1, max_length=32)
        grid = grid[:1]
        gen = torch.Generator().manual_seed(0)
        probe_set = probe_set.subgraph(torch.randperm(probe_set.num_nodes, generator=gen)[:200])
        test_set = test_set.subgraph(torch.randperm(test_set.num_nodes, generator=gen)[:200])

    train, val, test = hold_out_proteins(graph.num_nodes, **HOLD_OUT)
    pretrain_graph = graph.subgraph(train)
    val_edges, test_edges = queries(graph.edge_index, val), queries(graph.edge_index, test)

    n = probe_set.num_nodes
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    cut = round(DEEPLOC_TRAIN * n)
    probe_split = (perm[:cut], perm[cut:], torch.arange(n, n + test_set.num_nodes))
    y = torch.cat([probe_set.y, test_set.y])

    def evaluate(lam, seed):
        if lam is None:
            torch.manual_seed(seed)
            encoder = build_encoder(pretrain_graph, config)
        else:
            encoder = pretrain(pretrain_graph, lam, config, seed=seed)
        kw = dict(batch_size=128, progress=False, max_length=config.max_length)
        emb = embed(encoder, graph, **kw)
        links_val = link_retrieval(emb, val_edges, known_edges=graph.edge_index)
        links = link_retrieval(emb, test_edges, known_edges=graph.edge_index)
        loc = torch.cat([embed(encoder, probe_set, **kw), embed(encoder, test_set, **kw)])
        m = linear_probe(loc, y, *probe_split, weight_decays=PROBE_WEIGHT_DECAYS)
        return {'shs27k-links': {'mrr': links['mrr'], 'hits@10': links['hits@10'],
                                 'val_mrr': links_val['mrr']},
                'deeploc': {'accuracy': m['accuracy'], 'val_accuracy': m['val_accuracy']}}

    return sweep(evaluate, {'shs27k-links': 'val_mrr', 'deeploc': 'val_accuracy'}, grid,
                 num_seeds(args, SEEDS), args, name)
