import warnings

import pytest
import torch

warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=DeprecationWarning)

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='run slow tests')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'):
        return
    skip = pytest.mark.skip(reason='slow: pass --runslow to run')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture
def one_thread():
    # End-to-end runs on a shared machine: one thread avoids spinning idle threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
