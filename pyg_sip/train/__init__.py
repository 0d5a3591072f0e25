r"""Pre-training: the :class:`Trainer` loop (AdamW, warm-up + decay,
clipping, AMP, early stopping), its run folder (atomic checkpoints, exact
resume, the metrics log) and distributed data parallel under ``torchrun``."""
from pyg_sip.train.checkpoint import BEST, CHECKPOINT, METRICS
from pyg_sip.train.distributed import dist_info, init_distributed, shard
from pyg_sip.train.schedule import lr_factor, step_seed
from pyg_sip.train.trainer import Trainer
from pyg_sip.utils.io import atomic_save  # the former home of atomic writes

__all__ = ['Trainer', 'lr_factor', 'step_seed', 'dist_info', 'init_distributed', 'shard',
           'atomic_save', 'CHECKPOINT', 'BEST', 'METRICS']
