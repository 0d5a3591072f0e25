import sys
from pathlib import Path

import pytest

#: The benchmark scripts of this checkout; their study code is the package
#: ``study`` beside them.
BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope='session')
def bench_dir():
    return ['--benchmarks-dir', str(BENCHMARKS)]
