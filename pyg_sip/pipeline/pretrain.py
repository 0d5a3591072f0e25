r"""Pre-train → embed → probe, the unit every command and benchmark repeats
over datasets, λ values and seeds."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from pyg_sip.data import SampleGraph
from pyg_sip.errors import PygSipError
from pyg_sip.eval import embed, knn_probe
from pyg_sip.nn import GNNEncoder, MLPEncoder, MoleculeEncoder, SequenceEncoder
from pyg_sip.objective import SIPObjective
from pyg_sip.pipeline.config import PretrainConfig
from pyg_sip.sampling import StructureLoader
from pyg_sip.train import Trainer, init_distributed, shard

#: The payload each encoder reads.
_PAYLOAD = {'sequence': 'tokens', 'hf': 'tokens', 'mlp': 'x', 'gnn': 'x',
            'molecule': 'molecules'}
_AUTO = {'tokens': 'sequence', 'x': 'mlp', 'molecules': 'molecule'}


def encoder_spec(graph: SampleGraph, config: PretrainConfig) -> dict[str, Any]:
    r"""What the encoder that ``config`` names needs to know about the data
    (the encoder kind, and the vocabulary or the feature width), as a
    JSON-serialisable dict: with it, :func:`build_encoder` rebuilds the same
    encoder without the graph (a run folder's ``encoder.json``)."""
    payload = graph.payload_kind
    kind = _AUTO.get(payload) if config.encoder == 'auto' else config.encoder
    if kind is None:
        raise PygSipError('the graph has no per-sample payload (x, tokens or molecules) '
                          'to encode')
    if payload != _PAYLOAD[kind]:
        raise PygSipError(f"encoder '{kind}' reads per-sample {_PAYLOAD[kind]}, but the graph "
                          f'holds {payload}')
    spec: dict[str, Any] = {'encoder': kind, 'payload': payload}
    if payload == 'tokens':
        spec.update(vocab_size=int(graph.vocab_size), pad_id=int(graph.pad_id))
    elif payload == 'x':
        spec['in_channels'] = int(graph.x.size(1))
    return spec


def build_encoder(graph: SampleGraph | dict[str, Any], config: PretrainConfig) -> nn.Module:
    """The encoder that ``config`` names, sized for ``graph``'s payload (or
    for an :func:`encoder_spec` dict)."""
    spec = graph if isinstance(graph, dict) else encoder_spec(graph, config)
    kind, c = spec.get('encoder'), config
    if kind == 'sequence':
        return SequenceEncoder(spec['vocab_size'], hidden_channels=c.hidden_channels,
                               num_layers=c.num_layers, num_heads=c.num_heads,
                               max_length=c.max_length, dropout=c.dropout, pooling=c.pooling,
                               out_channels=c.out_channels, pad_id=spec['pad_id'],
                               mask_rate=c.mask_rate, mlm=c.mask_rate > 0)
    if kind == 'mlp':
        return MLPEncoder(spec['in_channels'], c.hidden_channels, c.out_channels,
                          num_layers=c.num_layers, dropout=c.dropout, mask_rate=c.mask_rate)
    if kind == 'gnn':
        return GNNEncoder(spec['in_channels'], c.hidden_channels, c.out_channels,
                          num_layers=c.num_layers, dropout=c.dropout, mask_rate=c.mask_rate)
    if kind == 'molecule':
        return MoleculeEncoder(hidden_channels=c.hidden_channels, num_layers=c.num_layers,
                               out_channels=c.out_channels, dropout=c.dropout,
                               mask_rate=c.mask_rate)
    if kind == 'hf':
        from pyg_sip.nn import HFEncoder
        encoder = HFEncoder(c.model_path, pooling=c.pooling, mlm=c.mask_rate > 0,
                            mask_rate=c.mask_rate, max_length=c.max_length)
        if 'vocab_size' in spec and (spec['vocab_size'] > encoder.vocab_size or
                                     spec['pad_id'] != encoder.pad_id):
            raise PygSipError(f"the samples were tokenised with a vocabulary of "
                              f"{spec['vocab_size']} (padding id {spec['pad_id']}), but the "
                              f"model at '{c.model_path}' has {encoder.vocab_size} (padding "
                              f'id {encoder.pad_id}): tokenise them with its tokenizer')
        return encoder
    raise PygSipError(f"unknown encoder '{kind}'; use one of {list(_PAYLOAD)} or 'auto'")


def make_trainer(graph: SampleGraph, lam: float, config: PretrainConfig, seed: int = 0,
                 out_dir: Optional[str | Path] = None, progress: bool = False,
                 input_nodes: Optional[torch.Tensor] = None,
                 device: Optional[str] = None) -> Trainer:
    r"""A fresh encoder, its :class:`~pyg_sip.sampling.StructureLoader`
    and :class:`~pyg_sip.objective.SIPObjective`, in a
    :class:`~pyg_sip.train.Trainer` ready to :meth:`~pyg_sip.train.Trainer.fit`.
    Every argument is checked here; nothing is written before ``fit``."""
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
    rank, world_size = init_distributed()  # under torchrun: a shard of the anchors a rank
    if world_size > 1:
        loader.input_nodes = shard(loader.input_nodes, rank, world_size)
    objective = SIPObjective(config.structure_loss, lam=lam, **config.loss_kwargs)
    return Trainer(encoder, objective, loader, max_steps=config.steps, lr=config.lr,
                   weight_decay=config.weight_decay, warmup_steps=config.warmup_steps,
                   schedule=config.schedule, grad_clip=config.grad_clip, seed=seed,
                   out_dir=out_dir, checkpoint_every=config.checkpoint_every,
                   progress=progress, device=device)


def pretrain(graph: SampleGraph, lam: float, config: PretrainConfig, seed: int = 0,
             out_dir: Optional[str | Path] = None, progress: bool = False,
             input_nodes: Optional[torch.Tensor] = None,
             device: Optional[str] = None) -> nn.Module:
    r"""Pre-train a fresh encoder on ``graph`` with
    :math:`(1-\lambda)\mathcal{L}_M + \lambda\mathcal{L}_{SI}` and return it.
    ``lam = 0`` is the LM-only baseline. The run is a function of
    ``(graph, lam, config, seed)``. With ``out_dir``, metrics and a
    checkpoint every ``config.checkpoint_every`` steps are written there and
    a run killed part-way resumes from its last checkpoint to the same
    result (bitwise on CPU)."""
    trainer = make_trainer(graph, lam, config, seed=seed, out_dir=out_dir, progress=progress,
                           input_nodes=input_nodes, device=device)
    trainer.fit()
    return trainer.encoder


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
