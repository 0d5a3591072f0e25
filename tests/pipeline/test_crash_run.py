"""SIGKILL of ``pyg-sip pretrain`` mid-run, then the same command again: the
run resumes from its last checkpoint and ends with the weights of an
uninterrupted run, bit for bit; no file of the folder is ever torn."""
import json
import os
import signal
import subprocess
import sys
import time

import torch

from pyg_sip.cli import main
from pyg_sip.data import SampleGraph, save_graph

STEPS, EVERY = 40, 4
#: The real ``pyg-sip`` entry point, each step slowed down so that the parent
#: can kill it part-way (sleeping changes no result).
CHILD = '''
import sys, time
import torch
torch.set_num_threads(1)
from pyg_sip.train import Trainer
step = Trainer._train_step
def slow(self, *args, **kwargs):
    time.sleep(0.05)
    return step(self, *args, **kwargs)
Trainer._train_step = slow
from pyg_sip.cli import main
sys.exit(main(sys.argv[1:]))
'''


def make_graph(n=60):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 4
    row, col = torch.randint(0, n, (2, 8 * n), generator=gen)
    keep = (y[row] == y[col]) & (row != col)
    x = torch.randn(n, 8, generator=gen) + y.unsqueeze(1).float()
    return SampleGraph(x=x, edge_index=torch.stack([row[keep], col[keep]]), y=y)


def argv(graph, out):
    return ['pretrain', '--graph', str(graph), '--out', str(out), '--steps', str(STEPS),
            '--checkpoint-every', str(EVERY), '--hidden-channels', '16', '--out-channels',
            '8', '--batch-size', '8', '--lam', '0.5', '--seed', '2', '--no-progress']


def checkpoint_step(path):
    try:
        return int(torch.load(path, weights_only=True)['step'])
    except Exception:
        return -1


def assert_nothing_torn(folder):
    for path in folder.iterdir():
        assert not path.name.endswith('.tmp') or path.name.startswith('.'), path
        if path.name.startswith('.'):
            continue  # a temp file of the killed write: cleaned on the next run
        if path.suffix == '.json':
            json.loads(path.read_text())
        elif path.suffix == '.jsonl':
            for line in path.read_text().splitlines():
                json.loads(line)
        elif path.suffix == '.pt':
            torch.load(path, weights_only=True)


def test_sigkill_then_resume_is_bitwise_equal(tmp_path):
    graph = save_graph(make_graph(), tmp_path / 'g.pt')
    reference = tmp_path / 'reference'
    assert main(argv(graph, reference)) == 0

    run = tmp_path / 'run'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    child = subprocess.Popen([sys.executable, '-c', CHILD, *argv(graph, run)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while checkpoint_step(run / 'checkpoint.pt') < 2 * EVERY:
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline, 'no checkpoint within 120 s'
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stderr.close()
    killed_at = checkpoint_step(run / 'checkpoint.pt')
    assert 2 * EVERY <= killed_at < STEPS and not (run / 'encoder.pt').exists()
    assert_nothing_torn(run)

    assert main(argv(graph, run)) == 0  # the same command resumes
    assert_nothing_torn(run)
    assert not list(run.glob('.*.tmp'))
    ours = torch.load(run / 'encoder.pt', weights_only=True)
    theirs = torch.load(reference / 'encoder.pt', weights_only=True)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    steps = [json.loads(line)['step'] for line in
             (run / 'metrics.jsonl').read_text().splitlines() if 'loss' in line]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS
    assert (run / 'config.json').read_text() == (reference / 'config.json').read_text()
