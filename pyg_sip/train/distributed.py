r"""Distributed data parallel under ``torchrun``: process group and anchor
shards."""
from __future__ import annotations

import os

import torch
from torch import Tensor


def dist_info() -> tuple[int, int]:
    r"""``(rank, world_size)`` of the default process group; ``(0, 1)``
    when none is initialised."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed() -> tuple[int, int]:
    r"""Initialise the default process group when launched by ``torchrun``
    (``WORLD_SIZE`` > 1): ``nccl`` on CUDA, ``gloo`` on CPU. Returns
    ``(rank, world_size)``; ``(0, 1)`` outside ``torchrun``."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world > 1 and not torch.distributed.is_initialized():
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        torch.distributed.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', '0')))
    return dist_info()


def shard(input_nodes: Tensor, rank: int, world_size: int) -> Tensor:
    r"""The anchors of one rank: every ``world_size``-th entry of
    ``input_nodes`` starting at ``rank``."""
    return input_nodes[rank::world_size]
