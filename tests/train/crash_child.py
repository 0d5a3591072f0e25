"""One training run of the crash tests, as its own process:

    python crash_child.py OUT_DIR MAX_STEPS CHECKPOINT_EVERY [--sleep S]
                          [--block NAME:N --marker PATH] [--val-every K]

``--sleep`` waits S seconds after each step (so the parent can kill it mid-run);
``--block NAME:N`` makes the N-th atomic write of ``NAME`` stop half-way (the
temporary file holds half its bytes, is fsync-ed, and the file ``--marker``
is created) and hang there until the process is killed."""
import argparse
import os
import time
from pathlib import Path

import torch
from train_helpers import make_graph, make_parts, weight_score

from pyg_sip.train import Trainer


def block_nth_write(name, nth, marker):
    """Patch os.fsync, which every atomic write calls on its temporary file
    once the content is written, so that the nth write of ``name`` is torn."""
    real_fsync, count = os.fsync, [0]

    def fsync(fd):
        target = os.readlink(f'/proc/self/fd/{fd}')
        if Path(target).name.startswith(f'.{name}.') and target.endswith('.tmp'):
            count[0] += 1
            if count[0] == nth:
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                real_fsync(fd)
                marker.write_text(target)
                time.sleep(600)
        real_fsync(fd)

    os.fsync = fsync


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out_dir', type=Path)
    parser.add_argument('max_steps', type=int)
    parser.add_argument('checkpoint_every', type=int)
    parser.add_argument('--sleep', type=float, default=0.0)
    parser.add_argument('--block', default=None)
    parser.add_argument('--marker', type=Path, default=None)
    parser.add_argument('--val-every', type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.block:
        name, nth = args.block.split(':')
        block_nth_write(name, int(nth), args.marker)
    encoder, objective, loader = make_parts(make_graph())
    trainer = Trainer(encoder, objective, loader, max_steps=args.max_steps, log_every=1,
                      checkpoint_every=args.checkpoint_every, out_dir=args.out_dir,
                      progress=False, device='cpu',
                      val_fn=weight_score if args.val_every else None,
                      val_every=args.val_every or 100)
    if args.sleep:
        step = trainer._train_step

        def slow_step(*a):
            out = step(*a)
            time.sleep(args.sleep)
            return out

        trainer._train_step = slow_step
    trainer.fit()


if __name__ == '__main__':
    main()
