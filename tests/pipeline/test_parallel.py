import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.pipeline.parallel import run_parallel, single_thread


def _square_and_threads(x):
    return x * x, torch.get_num_threads()


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), single_thread():
        raise RuntimeError('boom')
    assert torch.get_num_threads() == before


def test_run_parallel_keeps_the_order_and_reports_each_run():
    done = []
    out = run_parallel(_square_and_threads, [3, 1, 2], on_done=lambda i, r: done.append((i, r)))
    assert [r[0] for r in out] == [9, 1, 4]
    assert sorted(done) == [(0, out[0]), (1, out[1]), (2, out[2])]
    assert run_parallel(_square_and_threads, []) == []


@pytest.mark.parametrize('workers', [0, -1, 1.5, True])
def test_run_parallel_refuses_a_bad_worker_count(workers):
    with pytest.raises(PygSipError, match='worker processes'):
        run_parallel(_square_and_threads, [1], num_workers=workers)


@pytest.mark.slow
def test_worker_processes_give_the_same_results():
    items = list(range(5))
    serial = run_parallel(_square_and_threads, items)
    parallel = run_parallel(_square_and_threads, items, num_workers=2)
    assert [r[0] for r in parallel] == [r[0] for r in serial]
