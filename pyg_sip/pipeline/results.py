r"""Result rows: one schema for every command that reports results.

Quality rows: ``{"dataset", "method", "lambda", "metric", "mean", "std",
"n_seeds", "seconds"}``; performance rows: ``{"benchmark", "impl", "size",
"metric", "value", "unit"}``. Tables are printed from the same rows that
``--output`` writes, so what is read and what is checked never differ.
"""
from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional, Sequence

from pyg_sip.utils.io import atomic_write_text

RESULT_KEYS = ('dataset', 'method', 'lambda', 'metric', 'mean', 'std', 'n_seeds', 'seconds')
PERF_KEYS = ('benchmark', 'impl', 'size', 'metric', 'value', 'unit')


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def aggregate(runs: Iterable[dict]) -> list[dict]:
    r"""Aggregate per-seed runs into result rows.

    Each run is ``{"dataset", "method", "lambda", "seed", "seconds",
    "metrics": {name: value}}``; runs sharing dataset, method and λ become
    one row per metric with mean ± std over seeds."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        groups[(run['dataset'], run['method'], run['lambda'])].append(run)
    rows = []
    for (dataset, method, lam), group in groups.items():
        for metric in group[0]['metrics']:
            mean, std = mean_std([r['metrics'][metric] for r in group])
            rows.append({
                'dataset': dataset, 'method': method, 'lambda': lam, 'metric': metric,
                'mean': mean, 'std': std, 'n_seeds': len(group),
                'seconds': sum(r['seconds'] for r in group) / len(group),
            })
    return rows


def format_table(rows: Sequence[dict], keys: Optional[Sequence[str]] = None) -> str:
    """A plain-text table of result or performance rows."""
    if not rows:
        return '(no rows)'
    if keys is None:
        keys = RESULT_KEYS if 'mean' in rows[0] else PERF_KEYS

    def cell(row: dict, key: str) -> str:
        value = row.get(key)
        if key == 'mean' and 'std' in row:
            return f"{value:.4f} ± {row['std']:.4f}"
        if isinstance(value, float):
            return f'{value:.4g}'
        return '-' if value is None else str(value)

    keys = [k for k in keys if k != 'std' or 'mean' not in keys]
    table = [list(keys)] + [[cell(r, k) for k in keys] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(line, widths)) for line in table]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def write_rows(rows: Sequence[dict], path: str | os.PathLike) -> Path:
    """Write rows as a JSON list, atomically (:func:`~pyg_sip.utils.io.atomic_write_text`)."""
    return atomic_write_text(path, json.dumps(list(rows), indent=1) + '\n')
