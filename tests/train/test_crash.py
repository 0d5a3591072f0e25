"""Crash safety of a run folder: training processes are SIGKILLed mid-run and
in the middle of each kind of write; the folder never holds a torn file, the
next run cleans up after the killed one, and the resumed run ends bitwise
equal to an uninterrupted one."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from train_helpers import make_graph, make_parts

from pyg_sip.train import BEST, CHECKPOINT, METRICS, Trainer

pytestmark = pytest.mark.skipif(not sys.platform.startswith('linux'),
                                reason='uses SIGKILL and /proc')

CHILD = Path(__file__).with_name('crash_child.py')


@pytest.fixture(scope='module')
def reference():
    """Uninterrupted runs in this process, one per number of steps."""
    cache = {}

    def run(max_steps):
        if max_steps not in cache:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                encoder, objective, loader = make_parts(make_graph())
                trainer = Trainer(encoder, objective, loader, max_steps=max_steps, log_every=1,
                                  progress=False, device='cpu')
                history = trainer.fit()
            finally:
                torch.set_num_threads(threads)
            cache[max_steps] = (trainer.module.state_dict(), without_time(history))
        return cache[max_steps]

    return run


def without_time(records):
    return [{k: v for k, v in r.items() if k != 'seconds'} for r in records]


def start(tmp_path, run, *args):
    log = open(tmp_path / f'child{len(list(tmp_path.glob("child*.log")))}.log', 'w')
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(run), *map(str, args)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    proc.log = Path(log.name)
    log.close()
    return proc


def finish(tmp_path, run, *args):
    proc = start(tmp_path, run, *args)
    assert proc.wait(timeout=120) == 0, proc.log.read_text()


def wait_for(condition, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f'the child ended before it could be killed:\n{proc.log.read_text()}')
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail('timed out waiting for the child')
        time.sleep(0.01)


def kill_when(condition, proc):
    """SIGKILL the child at a moment ``condition`` holds: it is checked again
    while the child is stopped, so what the test sees is what it killed."""
    while True:
        wait_for(condition, proc)
        proc.send_signal(signal.SIGSTOP)
        if condition():
            return kill(proc)
        proc.send_signal(signal.SIGCONT)


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def checkpoint_step(run):
    try:
        return torch.load(run / CHECKPOINT, weights_only=True)['step']
    except FileNotFoundError:
        return -1


def metric_steps(run):
    path = run / METRICS
    if not path.exists():
        return []
    return [json.loads(line)['step'] for line in path.read_text().splitlines()]


def logged_past_checkpoint(run, at_least):
    """Polled while the child runs: a checkpoint at ``at_least`` or later
    exists and the log holds a step beyond it."""
    saved = checkpoint_step(run)
    try:
        return saved >= at_least and metric_steps(run)[-1] > saved
    except (ValueError, IndexError):  # read while the child appends a line
        return False


def check_folder(run, allowed_tmp=()):
    """Every file in ``run`` loads; the only temporary files are ``allowed_tmp``."""
    for path in run.iterdir():
        if path.name.endswith('.tmp'):
            assert path.name in allowed_tmp, path
        elif path.suffix == '.pt':
            torch.load(path, weights_only=True)
        elif path.name == METRICS:
            for line in path.read_text().splitlines():
                json.loads(line)
        else:
            pytest.fail(f'unexpected file {path}')


def assert_matches(run, reference, max_steps):
    module, history = reference(max_steps)
    final = torch.load(run / CHECKPOINT, weights_only=True)
    assert final['step'] == max_steps
    assert final['module'].keys() == module.keys()
    for key, value in module.items():
        assert torch.equal(final['module'][key], value), key
    lines = [json.loads(line) for line in (run / METRICS).read_text().splitlines()]
    assert without_time([r for r in lines if 'val' not in r]) == history
    check_folder(run)


def test_sigkill_mid_training_then_resume(tmp_path, reference):
    run = tmp_path / 'run'
    proc = start(tmp_path, run, 40, 4, '--sleep', 0.02)
    # Kill once a checkpoint exists and steps beyond it have been logged.
    kill_when(lambda: logged_past_checkpoint(run, 8), proc)
    saved = checkpoint_step(run)
    assert 8 <= saved < 40
    assert metric_steps(run)[-1] > saved
    check_folder(run, allowed_tmp=[p.name for p in run.glob('.*.tmp')])

    finish(tmp_path, run, 40, 4)
    assert metric_steps(run) == list(range(1, 41))
    assert_matches(run, reference, 40)


def torn_write(tmp_path, run, name, *args):
    """Run a child whose write of ``name`` chosen by ``--block`` hangs
    half-way, kill it there and return the stray temporary file."""
    marker = tmp_path / 'blocked'
    proc = start(tmp_path, run, *args, '--marker', marker)
    wait_for(marker.exists, proc)
    kill(proc)
    stray = Path(marker.read_text())
    assert stray.parent == run and stray.name.startswith(f'.{name}.'), stray
    assert stray.exists() and stray.stat().st_size > 0
    marker.unlink()
    return stray


def test_sigkill_during_checkpoint_write(tmp_path, reference):
    run = tmp_path / 'run'
    stray = torn_write(tmp_path, run, CHECKPOINT, 12, 3, '--block', f'{CHECKPOINT}:2')
    with pytest.raises((RuntimeError, EOFError, OSError)):
        torch.load(stray, weights_only=True)  # half a file: what a plain write would leave
    assert checkpoint_step(run) == 3  # the previous checkpoint is intact
    check_folder(run, allowed_tmp=[stray.name])

    finish(tmp_path, run, 12, 3)
    assert not stray.exists()
    assert metric_steps(run) == list(range(1, 13))
    assert_matches(run, reference, 12)


@pytest.mark.slow
def test_sigkill_during_best_weights_write(tmp_path, reference):
    run = tmp_path / 'run'
    stray = torn_write(tmp_path, run, BEST, 9, 1, '--val-every', 3, '--block', f'{BEST}:1')
    assert not (run / BEST).exists()
    assert checkpoint_step(run) == 2
    check_folder(run, allowed_tmp=[stray.name])

    finish(tmp_path, run, 9, 1, '--val-every', 3)
    assert not stray.exists()
    torch.load(run / BEST, weights_only=True)
    assert metric_steps(run) == [1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9]
    assert_matches(run, reference, 9)


@pytest.mark.slow
def test_sigkill_during_metrics_rewrite(tmp_path, reference):
    run = tmp_path / 'run'
    proc = start(tmp_path, run, 12, 4, '--sleep', 0.02)
    kill_when(lambda: logged_past_checkpoint(run, 4), proc)
    before = (run / METRICS).read_bytes()
    assert metric_steps(run)[-1] > checkpoint_step(run)

    # The resumed run cuts the log back to its checkpoint: kill it in that rewrite.
    stray = torn_write(tmp_path, run, METRICS, 12, 4, '--block', f'{METRICS}:1')
    assert (run / METRICS).read_bytes() == before
    check_folder(run, allowed_tmp=[stray.name])

    finish(tmp_path, run, 12, 4)
    assert not stray.exists()
    assert metric_steps(run) == list(range(1, 13))
    assert_matches(run, reference, 12)
