r"""The paper's synthetic experiments (noisy cliques, manifold graphs,
graphlet topology): LM-only vs SIPT over several seeds, 3-NN probe."""
from __future__ import annotations

import argparse

from pyg_sip.datasets import NoisyCliques
from pyg_sip.experiments.demo import DEMO_CONFIG
from pyg_sip.experiments.pipeline import pretrain_and_probe
from pyg_sip.experiments.results import aggregate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--quick', action='store_true', help='a small run (about 2 minutes)')
    parser.add_argument('--seeds', type=int, default=3, help='number of seeds (default: 3)')
    parser.add_argument('--no-progress', action='store_true')


def run(args: argparse.Namespace) -> list[dict]:
    runs = []
    for seed in range(args.seeds):
        graph = NoisyCliques(noise=0.0, seed=seed).graph
        for lam in (0.0, 0.1):
            runs.append(pretrain_and_probe(graph, 'cliques_p0', lam, DEMO_CONFIG, seed=seed))
    return aggregate(runs)
