"""Helpers shared by the performance benchmarks (losses, sampler, scaling).

Timing: :func:`measure` runs each implementation once per round, in an
order shuffled anew every round (interleaved, so that a noisy neighbour slows
every implementation alike and none always follows the same one), and reports
the median over rounds. On the CPU it
measures the process CPU time (``time.process_time``: with one thread, the
time this process computed, whatever else runs on the machine); on CUDA the
wall time between two synchronisations.

Peak memory: :class:`PeakMemory` measures the extra memory one call needs on
top of what exists before it. On CUDA that is ``torch.cuda.max_memory_allocated``
minus the allocation before the call. On the CPU, PyTorch's allocator keeps no
statistics (and ``tracemalloc`` does not see its allocations), so we measure
what the operating system sees: the peak resident set size of the process
(``VmHWM`` in ``/proc/self/status``), reset right before the call by writing
``5`` to ``/proc/self/clear_refs``, minus the resident size at that moment.
During a memory measurement, allocations above 64 KiB are served by ``mmap``
(``mallopt``), and freed memory is returned with ``malloc_trim`` before it, so
memory freed earlier cannot hide the call's allocations. During timing, glibc
reuses freed blocks up to 32 MiB (its steady state in a training loop).

Rows: every benchmark writes ``{"benchmark", "impl", "size", "metric",
"value", "unit"}`` rows, printed and written with
:func:`pyg_sip.pipeline.results.format_table` / ``write_rows``.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import random
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

from pyg_sip.pipeline.results import format_table, write_rows

MIB = float(1 << 20)

_LIBC = None
if sys.platform.startswith('linux'):
    try:
        _LIBC = ctypes.CDLL('libc.so.6')
    except OSError:  # not glibc
        _LIBC = None
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _malloc_mode(measure_memory: bool) -> None:
    r"""glibc settings. Timing: blocks up to 32 MiB reuse freed heap memory
    (the steady state glibc's dynamic threshold reaches in a training loop,
    fixed so that all implementations see the same). Memory: blocks above
    64 KiB are mapped and unmapped (freed memory leaves the resident set)."""
    if _LIBC is None:
        return
    if measure_memory:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, 1 << 16)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, 1 << 17)
    else:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, 64 << 20)


_malloc_mode(False)


def add_common_args(parser: argparse.ArgumentParser, repeats: int = 5) -> None:
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda' (default: cpu)")
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (default: 1)')
    parser.add_argument('--repeats', type=int, default=repeats,
                        help=f'timed rounds, median reported (default: {repeats})')
    parser.add_argument('--memory-budget-gb', type=float, default=4.0,
                        help='skip a measurement whose estimated peak memory '
                             'exceeds this (default: 4)')
    parser.add_argument('--output', default=None,
                        help='write the result rows as JSON to this path')


def setup(args: argparse.Namespace) -> torch.device:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda given, but CUDA is not available')
    print(machine_line(device, args.threads))
    return device


def machine_line(device: torch.device, threads: int) -> str:
    import torch_geometric

    from pyg_sip.typing import WITH_PYG_LIB, WITH_TORCH_SCATTER, WITH_TORCH_SPARSE
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda'
            else f'{cpu}, {os.cpu_count()} logical cores, {threads} thread(s)')
    extras = [n for n, ok in (('torch-scatter', WITH_TORCH_SCATTER),
                              ('torch-sparse', WITH_TORCH_SPARSE),
                              ('pyg-lib', WITH_PYG_LIB)) if ok]
    return (f'# {name}; Python {platform.python_version()}, torch '
            f'{torch.__version__}, torch_geometric {torch_geometric.__version__}'
            f"; extras: {', '.join(extras) or 'none'}")


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def clock(device: torch.device) -> Callable[[], float]:
    r"""CPU: process time; CUDA: wall time (synchronise around it)."""
    return time.perf_counter if device.type == 'cuda' else time.process_time


def time_once(fn: Callable[[], object], device: torch.device) -> float:
    now = clock(device)
    synchronize(device)
    start = now()
    fn()
    synchronize(device)
    return now() - start


def measure(impls: Dict[str, Callable[[], object]], device: torch.device,
            repeats: int, warmup: int = 1) -> Dict[str, float]:
    r"""Median seconds per call of every implementation, interleaved: every
    round runs each once, in an order shuffled anew (seeded) every round, so
    that no implementation always follows the same one (a slow predecessor
    leaves cold caches and a used-up allocator behind)."""
    names = list(impls)
    for _ in range(warmup):
        for name in names:
            impls[name]()
    times: Dict[str, List[float]] = {name: [] for name in names}
    order = random.Random(0)
    for _ in range(repeats):
        names = names[:]
        order.shuffle(names)
        for name in names:
            times[name].append(time_once(impls[name], device))
    return {name: statistics.median(t) for name, t in times.items()}


def _status_bytes(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _release_memory() -> None:
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def cpu_peak_supported() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        _status_bytes('VmHWM')
        return True
    except (OSError, KeyError):
        return False


class PeakMemory:
    r"""``with PeakMemory(device) as m: f()`` sets ``m.bytes`` to the peak
    memory ``f`` needed on top of what was allocated before (see the module
    docstring for the method)."""
    def __init__(self, device: torch.device):
        self.device = device
        self.bytes: Optional[int] = None

    def __enter__(self) -> 'PeakMemory':
        _malloc_mode(True)
        _release_memory()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # VmHWM := VmRSS
            self.base = _status_bytes('VmRSS')
        return self

    def __exit__(self, *exc) -> None:
        _malloc_mode(False)
        if exc[0] is not None:
            return
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.base
        else:
            self.bytes = max(0, _status_bytes('VmHWM') - self.base)


def peak_memory(fn: Callable[[], object], device: torch.device) -> int:
    with PeakMemory(device) as m:
        fn()
    return int(m.bytes)


def row(benchmark: str, impl: str, size: str, metric: str, value: float,
        unit: str) -> dict:
    return {'benchmark': benchmark, 'impl': impl, 'size': size,
            'metric': metric, 'value': value, 'unit': unit}


def finish(rows: Sequence[dict], output: Optional[str],
           summary: Optional[Sequence[dict]] = None,
           keys: Optional[Sequence[str]] = None) -> None:
    r"""Prints the summary table (or the rows) and writes the rows."""
    print()
    print(table(summary) if summary is not None else format_table(rows, keys))
    if output:
        path = write_rows(list(rows), output)
        print(f'\n{len(rows)} rows written to {path}')


def table(rows: Sequence[dict]) -> str:
    r"""A table of summary dicts, columns in the order of the first row."""
    return format_table(rows, list(rows[0]) if rows else None)


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(value: Optional[float], scale: float = 1.0, digits: int = 3) -> str:
    if value is None:
        return '-'
    return f'{value * scale:.{digits}g}'


def powerlaw_graph(num_nodes: int, avg_degree: float = 10.0,
                   exponent: float = 2.5, seed: int = 0) -> torch.Tensor:
    r"""A random undirected power-law graph (Chung–Lu): ``avg_degree · N / 2``
    endpoint pairs drawn with probability proportional to the expected degree
    :math:`w_i \propto (i + i_0)^{-1/(\gamma - 1)}`, self-loops and repeats
    dropped (so the mean degree is a little below ``avg_degree``), both
    directions stored. Vectorised; 10^6 nodes take seconds."""
    gen = torch.Generator().manual_seed(seed)
    i = torch.arange(num_nodes, dtype=torch.float64)
    weight = (i + 10.0).pow(-1.0 / (exponent - 1.0))
    cdf = torch.cumsum(weight, 0)
    cdf /= cdf[-1].clone()
    num = int(avg_degree * num_nodes / 2)
    ends = torch.searchsorted(cdf, torch.rand(2, num, generator=gen,
                                              dtype=torch.float64))
    ends.clamp_(max=num_nodes - 1)
    # shuffle ids so that degree is not sorted by id
    perm = torch.randperm(num_nodes, generator=gen)
    row, col = perm[ends[0]], perm[ends[1]]
    keep = row != col
    row, col = row[keep], col[keep]
    key = torch.unique(torch.cat([row * num_nodes + col, col * num_nodes + row]))
    return torch.stack([key // num_nodes, key % num_nodes])
