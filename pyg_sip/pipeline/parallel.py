r"""Many independent runs, each single-threaded so that it is a deterministic
function of its arguments, in this process or spread over worker processes."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

import torch

from pyg_sip.errors import PygSipError

T = TypeVar('T')


@contextmanager
def single_thread() -> Iterator[None]:
    r"""Run the body with one torch CPU thread (the previous count is
    restored after it): single-threaded kernels reduce in a fixed order, so a
    run gives the same numbers whatever the machine's core count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_parallel(fn: Callable[[Any], T], items: Sequence[Any], num_workers: int = 1,
                 on_done: Optional[Callable[[int, T], None]] = None) -> list[T]:
    r"""``[fn(item) for item in items]``, in worker processes when
    ``num_workers > 1`` (``spawn``: ``fn`` and the items must be picklable,
    ``fn`` a module-level function).

    Args:
        fn (callable): one run.
        items (sequence): the arguments of the runs.
        num_workers (int, optional): worker processes (default: :obj:`1`,
            every run in this process).
        on_done (callable, optional): called as ``on_done(i, result)`` in
            this process as each run finishes (in completion order).

    Returns:
        The results in the order of ``items``.
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise PygSipError(f'the number of worker processes must be an integer >= 1, got '
                          f'{num_workers!r}')
    results: list = [None] * len(items)
    if num_workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            results[i] = fn(item)
            if on_done is not None:
                on_done(i, results[i])
        return results
    with ProcessPoolExecutor(min(num_workers, len(items)),
                             mp_context=get_context('spawn')) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done is not None:
                on_done(i, results[i])
    return results
