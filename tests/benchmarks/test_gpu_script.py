import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyg_sip.pipeline.results import PERF_KEYS

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'
SCRIPT = BENCHMARKS / 'gpu.sh'


def _names():
    return re.search(r'NAMES=\$\{ONLY:-([^}]*)\}', SCRIPT.read_text()).group(1).split()


def test_gpu_script_runs_every_performance_benchmark():
    assert subprocess.run(['bash', '-n', str(SCRIPT)]).returncode == 0
    perf = {path.stem for path in BENCHMARKS.glob('[!_]*.py')
            if 'add_common_args' in path.read_text()}
    assert perf and perf <= set(_names())


def test_gpu_script_without_cuda_says_so(tmp_path):
    out = subprocess.run(['bash', str(SCRIPT)], capture_output=True, text=True,
                         env={**os.environ, 'PYTHON': sys.executable, 'OUT': str(tmp_path),
                              'CUDA_VISIBLE_DEVICES': ''})
    assert out.returncode == 2 and 'CUDA is not available' in out.stderr


@pytest.mark.slow
def test_gpu_script_dry_run_on_the_cpu(tmp_path):
    env = {**os.environ, 'DEVICE': 'cpu', 'PYTHON': sys.executable, 'OUT': str(tmp_path),
           'TOTAL': '900', 'LIMIT': '400'}
    out = subprocess.run(['bash', str(SCRIPT)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for name in _names():
        if (BENCHMARKS / f'{name}.py').exists():
            rows = json.loads((tmp_path / f'{name}.json').read_text())
            assert rows and all(set(r) == set(PERF_KEYS) for r in rows), name
