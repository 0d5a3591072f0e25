r"""Pre-train → embed → probe, the unit every command and benchmark repeats
over datasets, λ values and seeds."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.eval import embed, knn_probe
from pyg_sip.nn import GNNEncoder, MLPEncoder, MoleculeEncoder, SequenceEncoder
from pyg_sip.objective import SIPObjective
from pyg_sip.pipeline.config import PretrainConfig
from pyg_sip.sampling import StructureLoader
from pyg_sip.train import Trainer


def build_encoder(graph: SampleGraph, config: PretrainConfig) -> nn.Module:
    """The encoder that ``config`` names, sized for ``graph``'s payload."""
    kind = config.encoder
    if kind == 'auto':
        kind = {'tokens': 'sequence', 'x': 'mlp', 'molecules': 'molecule'}.get(
            graph.payload_kind)
        if kind is None:
            raise PygSipError('the graph has no per-sample payload (x, tokens or molecules) '
                              'to encode')
    c = config
    if kind == 'sequence':
        return SequenceEncoder(graph.vocab_size, hidden_channels=c.hidden_channels,
                               num_layers=c.num_layers, num_heads=c.num_heads,
                               max_length=c.max_length, dropout=c.dropout, pooling=c.pooling,
                               out_channels=c.out_channels, pad_id=graph.pad_id,
                               mask_rate=c.mask_rate, mlm=c.mask_rate > 0)
    if kind == 'mlp':
        return MLPEncoder(graph.x.size(1), c.hidden_channels, c.out_channels,
                          num_layers=c.num_layers, dropout=c.dropout, mask_rate=c.mask_rate)
    if kind == 'gnn':
        return GNNEncoder(graph.x.size(1), c.hidden_channels, c.out_channels,
                          num_layers=c.num_layers, dropout=c.dropout, mask_rate=c.mask_rate)
    if kind == 'molecule':
        return MoleculeEncoder(hidden_channels=c.hidden_channels, num_layers=c.num_layers,
                               out_channels=c.out_channels, dropout=c.dropout,
                               mask_rate=c.mask_rate)
    raise PygSipError(f"unknown encoder '{kind}'; use auto, sequence, mlp, gnn or molecule")


def pretrain(graph: SampleGraph, lam: float, config: PretrainConfig, seed: int = 0,
             out_dir: Optional[str | Path] = None, progress: bool = False,
             input_nodes: Optional[torch.Tensor] = None,
             device: Optional[str] = None) -> nn.Module:
    r"""Pre-train a fresh encoder on ``graph`` with
    :math:`(1-\lambda)\mathcal{L}_M + \lambda\mathcal{L}_{SI}` and return it.
    ``lam = 0`` is the LM-only baseline. The run is a function of
    ``(graph, lam, config, seed)``."""
    torch.manual_seed(seed)
    encoder = build_encoder(graph, config)
    num_neighbors = config.num_neighbors
    if getattr(encoder, 'needs_graph', False) and num_neighbors is None:
        num_neighbors = [10] * config.num_layers
    loader = StructureLoader(graph, batch_size=config.batch_size,
                             num_positives=config.num_positives,
                             num_negatives=config.num_negatives,
                             negative_sampling=config.negative_sampling,
                             num_neighbors=num_neighbors, input_nodes=input_nodes,
                             shuffle=True, seed=seed, max_length=config.max_length)
    objective = SIPObjective(config.structure_loss, lam=lam, **config.loss_kwargs)
    trainer = Trainer(encoder, objective, loader, max_steps=config.steps, lr=config.lr,
                      weight_decay=config.weight_decay, warmup_steps=config.warmup_steps,
                      schedule=config.schedule, grad_clip=config.grad_clip, seed=seed,
                      out_dir=out_dir, progress=progress, device=device)
    trainer.fit()
    return encoder


def method_name(lam: Optional[float]) -> str:
    """``no_pretrain`` (``None``), ``lm_only`` (λ = 0) or ``sipt`` (λ > 0)."""
    if lam is None:
        return 'no_pretrain'
    return 'lm_only' if lam == 0 else 'sipt'


def pretrain_and_probe(graph: SampleGraph, dataset: str, lam: Optional[float],
                       config: PretrainConfig, seed: int, k: int = 3,
                       progress: bool = False) -> dict:
    r"""One run: pre-train (or not, ``lam=None``), embed every sample and
    score the paper's leave-one-out distance-weighted :math:`k`-NN probe
    on ``graph.y``. Returns a run record for
    :func:`~pyg_sip.pipeline.results.aggregate`."""
    start = time.perf_counter()
    if lam is None:
        torch.manual_seed(seed)
        encoder = build_encoder(graph, config)
    else:
        encoder = pretrain(graph, lam, config, seed=seed, progress=progress)
    emb = embed(encoder, graph, batch_size=256, progress=False)
    metrics = knn_probe(emb, graph.y, k=k)
    return {'dataset': dataset, 'method': method_name(lam), 'lambda': lam, 'seed': seed,
            'seconds': time.perf_counter() - start,
            'metrics': {name: float(value) for name, value in metrics.items()}}
