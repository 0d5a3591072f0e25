r"""``pyg-sip diagnose``: before any training, how smooth each label set is
over the pre-training graph :math:`G_{PT}`, and what that predicts for
structure-inducing pre-training.

The SIPT paper's theory and experiments say SIPT helps a downstream task as
much as the task's labels are smooth over :math:`G_{PT}`. The reading below
is calibrated on this project's committed benchmark results, with the
*adjusted homophily* of :func:`~pyg_sip.eval.label_smoothness` (0 when the
labels are independent of the graph, 1 when every edge joins equal labels):

* ``benchmarks/results/synthetic.json`` (``benchmarks/README.synthetic.md``,
  gain = SIPT − LM-only leave-one-out 3-NN AUROC, 3 seeds): adjusted
  homophily ≥ 0.64 gained +0.31 to +0.44 (cliques without noise, the four
  manifolds, motif and ego labels); cliques at 0.46 gained +0.26; cliques at
  0.35 +0.20, and structural roles at 0.31 between −0.01 (when the text
  alone already gives the labels) and +0.25; cliques at 0.08 only +0.05.
* ``benchmarks/results/real.json`` (``benchmarks/README.real.md``): Cora
  (adjusted homophily 0.77 over its citation graph, shipped in
  ``datasets/planetoid``) gained 22.5 accuracy points over LM-only
  pre-training (0.586 → 0.811) and CiteSeer (0.67) 32.2 points
  (0.380 → 0.702).

Hence the bands of :data:`READINGS`. Negative values (labels that differ
across edges more than chance) are below every benchmarked case: the paper's
theory predicts that SIPT can hurt them. Float targets are read with
:math:`1 - \mathcal{D}` (one minus the normalised Dirichlet energy), which
equals the adjusted homophily for one-hot labels; that use for regression
targets is an extrapolation, not benchmarked.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.utils.io import load_tensors

#: ``(lower bound, verdict, reading)``, highest first; the calibration is in
#: the module docstring.
READINGS = (
    (0.6, 'strong', 'large gain expected (benchmarks at >= 0.64: +0.31 to +0.44 3-NN AUROC; '
     'Cora 0.77 / CiteSeer 0.67: +22 / +32 accuracy points over LM-only)'),
    (0.4, 'moderate', 'clear gain expected (cliques at 0.46: +0.26 AUROC)'),
    (0.15, 'weak', 'small or no gain: what the per-sample encoder cannot already read '
     '(0.31-0.35: -0.01 to +0.25 AUROC)'),
    (0.0, 'none', 'no material gain expected (cliques at 0.08: +0.05 AUROC)'),
    (-math.inf, 'adverse', 'labels differ across edges more than chance: SIPT may hurt '
     'this task (below every benchmarked case)'),
)
CALIBRATION = ('calibrated on benchmarks/results/synthetic.json (README.synthetic.md) and '
               'benchmarks/results/real.json (README.real.md); see pyg_sip.pipeline.diagnose')
_MISSING = ('', 'nan', 'na', 'n/a', 'none', '-1', '?')


def reading(score: float) -> tuple[str, str]:
    """The verdict and reading of an adjusted-homophily-like ``score``."""
    if not math.isfinite(score):
        return 'undefined', 'constant labels or no labelled edge: nothing to read'
    for low, verdict, text in READINGS:
        if score >= low:
            return verdict, text
    raise AssertionError('unreachable')  # pragma: no cover


def diagnose(edge_index: Tensor, label_sets: dict[str, Tensor], num_nodes: int,
             dataset: str = 'graph') -> tuple[list[dict], list[dict]]:
    r"""Label smoothness of every label set over :math:`G_{PT}`.

    Returns the result rows (``method='graph'``, one per smoothness metric
    and label set, ``dataset`` = ``'<dataset>/<label set>'``) and one
    reading per label set (``{'labels', 'score', 'verdict', 'reading', 'measure'}``:
    the score is the adjusted homophily for class labels and
    :math:`1 - \mathcal{D}` for float targets)."""
    from pyg_sip.eval import label_smoothness
    rows, readings = [], []
    for name, y in label_sets.items():
        if y.size(0) != num_nodes:
            raise PygSipError(f"label set '{name}' has {y.size(0)} entries for {num_nodes} "
                              'samples')
        start = time.perf_counter()
        values = label_smoothness(edge_index, y, num_nodes=num_nodes)
        seconds = time.perf_counter() - start
        for metric, value in values.items():
            rows.append({'dataset': f'{dataset}/{name}', 'method': 'graph', 'lambda': None,
                         'metric': metric, 'mean': float(value), 'std': 0.0, 'n_seeds': 1,
                         'seconds': seconds})
        classes = 'adjusted_homophily' in values
        score = values['adjusted_homophily'] if classes else 1.0 - values['dirichlet_energy']
        verdict, text = reading(float(score))
        readings.append({'labels': name, 'score': float(score), 'verdict': verdict,
                         'reading': text,
                         'measure': 'adjusted homophily' if classes else
                         '1 - dirichlet energy (float targets: extrapolated)'})
    return rows, readings


def graph_label_sets(graph: Any) -> dict[str, Tensor]:
    """The label sets a graph carries: ``y`` and any ``y_*`` tensor with
    one entry per sample (a 2-D ``y`` of class columns is split by column
    only when it is float: it is read as a multi-target matrix)."""
    sets = {}
    for key in sorted(graph.keys()):
        value = graph[key]
        if (key == 'y' or key.startswith('y_')) and isinstance(value, Tensor) and \
                value.dim() >= 1 and value.size(0) == graph.num_nodes:
            sets[key] = value
    return sets


def read_labels(path: str | Path, num_nodes: int) -> dict[str, Tensor]:
    r"""Label sets from a file, one entry per sample in the graph's order.

    * ``.pt``: a tensor, or a dict of name → tensor (``weights_only=True``);
    * ``.npy``: an array;
    * text (``.tsv``, ``.csv``, ``.txt``): a header row naming the label
      sets (a column named ``id`` is ignored), then one row per sample.
      A column of integers is class labels; of other numbers float targets;
      of words categories (numbered in sorted order). Empty, ``nan``,
      ``NA``, ``-1`` and ``?`` cells are missing (left out of the measure).

    Errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise PygSipError(f'{path}: no such labels file')
    suffix = path.suffix.lower()
    if suffix == '.pt':
        value = load_tensors(path, 'labels file')
        sets = value if isinstance(value, dict) else {path.stem: value}
    elif suffix == '.npy':
        import numpy as np
        try:
            sets = {path.stem: torch.from_numpy(np.load(path, allow_pickle=False))}
        except (OSError, ValueError) as e:
            raise PygSipError(f'{path}: not a readable .npy array ({e})') from e
    else:
        sets = _read_label_table(path)
    for name, y in sets.items():
        if not isinstance(y, Tensor) or y.dim() == 0:
            raise PygSipError(f"{path}: label set '{name}' is not a tensor of one entry per "
                              'sample')
        if y.size(0) != num_nodes:
            raise PygSipError(f"{path}: label set '{name}' has {y.size(0)} entries, the graph "
                              f'{num_nodes} samples')
    return {str(k): v for k, v in sets.items()}


def _read_label_table(path: Path) -> dict[str, Tensor]:
    try:
        text = path.read_bytes().decode('utf-8')
    except UnicodeDecodeError as e:
        raise PygSipError(f'{path}: byte {e.start} is not UTF-8') from e
    lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) < 2:
        raise PygSipError(f'{path}: needs a header row and one row per sample')
    sep = '\t' if '\t' in lines[0][1] else ','
    header = [h.strip() for h in lines[0][1].split(sep)]
    columns: list[list[str]] = [[] for _ in header]
    for lineno, line in lines[1:]:
        cells = line.split(sep)
        if len(cells) != len(header):
            raise PygSipError(f'{path}: line {lineno}: {len(cells)} fields, the header has '
                              f'{len(header)}')
        for column, cell in zip(columns, cells):
            column.append(cell.strip())
    return {name: _parse_column(path, name, column) for name, column in zip(header, columns)
            if name.lower() != 'id'}


def _parse_column(path: Path, name: str, cells: list[str]) -> Tensor:
    missing = [c.lower() in _MISSING for c in cells]
    present = [c for c, m in zip(cells, missing) if not m]
    if not present:
        raise PygSipError(f"{path}: label column '{name}' has no value")
    if all(c.lstrip('+-').isascii() and c.lstrip('+-').isdecimal() for c in present):
        return torch.tensor([-1 if m else int(c) for c, m in zip(cells, missing)])
    try:
        numbers = [math.nan if m else float(c) for c, m in zip(cells, missing)]
    except ValueError:
        classes = {c: i for i, c in enumerate(sorted(set(present)))}
        return torch.tensor([-1 if m else classes[c] for c, m in zip(cells, missing)])
    return torch.tensor(numbers, dtype=torch.float64)


def format_readings(readings: list[dict]) -> str:
    """The readings as lines of text, with the calibration's source."""
    lines = [f"{r['labels']}: {r['score']:.3f} -> {r['verdict']}: {r['reading']} "
             f"[{r['measure']}]" for r in readings]
    bands = ', '.join(f'>= {low:g} {verdict}' for low, verdict, _ in READINGS[:-1])
    return '\n'.join(lines + [f'(bands: {bands}, below 0 adverse; {CALIBRATION})'])


def diagnose_file(graph_path: str | Path, labels: Optional[list[str | Path]] = None
                  ) -> tuple[list[dict], list[dict]]:
    """:func:`diagnose` of a saved graph's own label sets and those of
    ``labels`` files (``<file stem>/<name>`` when several files)."""
    from pyg_sip.data import load_graph
    graph = load_graph(graph_path)
    sets = graph_label_sets(graph)
    for path in labels or []:
        for name, y in read_labels(path, graph.num_nodes).items():
            sets[name if name not in sets else f'{Path(path).stem}/{name}'] = y
    if not sets:
        raise PygSipError(f'{graph_path}: the graph has no labels (y); give --labels FILE')
    return diagnose(graph.edge_index, sets, graph.num_nodes, dataset=Path(graph_path).stem)
