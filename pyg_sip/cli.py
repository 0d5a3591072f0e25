r"""The ``pyg-sip`` command: ``demo``, ``pretrain``, ``evaluate``, ``bench``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from pyg_sip.errors import PygSipError


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--output', type=Path, default=None,
                        help='write the result rows as a JSON list to this path')


def _emit(rows: list[dict], output: Optional[Path]) -> None:
    from pyg_sip.pipeline.results import format_table, write_rows
    print(format_table(rows))
    if output is not None:
        print(f'wrote {len(rows)} rows to {write_rows(rows, output)}')


def _config(args: argparse.Namespace):
    """The run configuration: ``--config`` file, then explicit flags on top."""
    from pyg_sip.pipeline import PretrainConfig
    config = (PretrainConfig.from_json(args.config) if getattr(args, 'config', None)
              else PretrainConfig())
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(PretrainConfig)
                 if getattr(args, f.name, None) is not None}
    return dataclasses.replace(config, **overrides)


def _add_graph_flags(parser: argparse.ArgumentParser, run_flag: str, run_help: str) -> None:
    parser.add_argument('--graph', type=Path, required=True,
                        help='SampleGraph file written by pyg_sip.save_graph')
    parser.add_argument(run_flag, type=Path, required=True, help=run_help)
    parser.add_argument('--no-progress', action='store_true')


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', type=Path, help='JSON file of PretrainConfig fields')
    parser.add_argument('--encoder', choices=['auto', 'sequence', 'mlp', 'gnn', 'molecule'])
    parser.add_argument('--steps', type=int, help='optimiser steps')
    parser.add_argument('--batch-size', dest='batch_size', type=int, help='anchors per batch')
    parser.add_argument('--lr', type=float, help='peak learning rate')
    parser.add_argument('--hidden-channels', dest='hidden_channels', type=int)
    parser.add_argument('--out-channels', dest='out_channels', type=int)
    parser.add_argument('--num-layers', dest='num_layers', type=int)
    parser.add_argument('--num-positives', dest='num_positives', type=int)
    parser.add_argument('--num-negatives', dest='num_negatives', type=int)
    parser.add_argument('--negative-sampling', dest='negative_sampling',
                        choices=['uniform', 'degree', 'group', 'hard', 'in_batch'])
    parser.add_argument('--structure-loss', dest='structure_loss',
                        choices=['margin_contrastive', 'triplet_margin', 'multi_similarity',
                                 'info_nce', 'bilinear'])


def cmd_demo(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.demo import DEMO_CONFIG, run_demo
    config = DEMO_CONFIG
    if args.steps is not None:
        config = dataclasses.replace(config, steps=args.steps)
    rows = run_demo(seeds=range(args.seeds), noise=args.noise, config=config,
                    progress=not args.no_progress)
    _emit(rows, args.output)


def cmd_pretrain(args: argparse.Namespace) -> None:
    import torch

    from pyg_sip.data import load_graph
    from pyg_sip.pipeline import pretrain
    graph = load_graph(args.graph)
    config = _config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'config.json').write_text(json.dumps(config.to_dict(), indent=1))
    encoder = pretrain(graph, args.lam, config, seed=args.seed, out_dir=args.out,
                       progress=not args.no_progress)
    torch.save(encoder.state_dict(), args.out / 'encoder.pt')
    print(f'saved the pre-trained encoder to {args.out / "encoder.pt"}')


def cmd_evaluate(args: argparse.Namespace) -> None:
    import torch

    from pyg_sip.data import load_graph
    from pyg_sip.eval import embed, graph_alignment, knn_probe, label_smoothness
    from pyg_sip.pipeline import PretrainConfig, build_encoder
    graph = load_graph(args.graph)
    run = args.checkpoint
    config = PretrainConfig.from_json(run / 'config.json')
    encoder = build_encoder(graph, config)
    state = torch.load(run / 'encoder.pt', map_location='cpu', weights_only=True)
    encoder.load_state_dict(state)
    emb = embed(encoder, graph, progress=not args.no_progress)
    metrics = dict(graph_alignment(emb, graph.edge_index))
    metrics = {f'alignment_{k}': v for k, v in metrics.items()}
    if getattr(graph, 'y', None) is not None:
        metrics.update(knn_probe(emb, graph.y, k=args.k))
        metrics.update({f'smoothness_{k}': v
                        for k, v in label_smoothness(graph.edge_index, graph.y).items()})
    rows = [{'dataset': args.graph.stem, 'method': args.method, 'lambda': None,
             'metric': name, 'mean': float(value), 'std': 0.0, 'n_seeds': 1, 'seconds': None}
            for name, value in metrics.items()]
    _emit(rows, args.output)


#: ``pyg-sip bench <name>``: modules with ``add_arguments(parser)`` and
#: ``run(args) -> list[dict]`` (result rows); ``benchmarks/<name>.py`` call the same.
BENCHMARKS = {
    'synthetic': ('pyg_sip.experiments.synthetic',
                  "the paper's synthetic experiments: cliques, manifolds, topology"),
    'real': ('pyg_sip.experiments.real',
             'OGB-style table on shipped real data: citations, text, proteins, molecules'),
}


def cmd_bench(args: argparse.Namespace) -> None:
    rows = args.bench_module.run(args)
    _emit(rows, args.output)


def _add_benchmarks(sub) -> None:
    import importlib
    bench = sub.add_parser('bench', help='reproducible multi-seed benchmarks',
                           description='Run a benchmark suite, print its table and write '
                           'its result rows with --output.')
    names = bench.add_subparsers(dest='benchmark', required=True)
    for name, (module_name, help_text) in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        parser = names.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(parser)
        _add_output(parser)
        parser.set_defaults(func=cmd_bench, bench_module=module)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pyg-sip', description='Structure-Inducing Pre-Training for PyTorch Geometric.')
    sub = parser.add_subparsers(dest='command', required=True)

    demo = sub.add_parser('demo', help='LM-only vs SIPT on noisy cliques (a few minutes)',
                          description='Pre-train a small transformer on NoisyCliques with '
                          'lambda = 0 (LM only) and 0.1 (SIPT) over several seeds and '
                          'report the leave-one-out 3-NN probe.')
    demo.add_argument('--seeds', type=int, default=3, help='number of seeds (default: 3)')
    demo.add_argument('--noise', type=float, default=0.0,
                      help='probability of each extra edge (default: 0)')
    demo.add_argument('--steps', type=int, default=None, help='optimiser steps per run')
    demo.add_argument('--no-progress', action='store_true')
    _add_output(demo)
    demo.set_defaults(func=cmd_demo)

    pre = sub.add_parser('pretrain', help='pre-train an encoder on a saved SampleGraph',
                         description='Pre-train on a SampleGraph saved with '
                         'pyg_sip.data.save_graph; writes config.json, metrics.jsonl, '
                         'checkpoint.pt (resumable) and encoder.pt to --out.')
    _add_graph_flags(pre, '--out', 'run directory to write')
    pre.add_argument('--lam', type=float, default=0.1, help='lambda (default: 0.1)')
    pre.add_argument('--seed', type=int, default=0)
    _add_config_flags(pre)
    pre.set_defaults(func=cmd_pretrain)

    ev = sub.add_parser('evaluate', help='probe a pre-trained encoder',
                        description='Embed every sample with a run directory written by '
                        '`pyg-sip pretrain`, report the 3-NN probe on y, label smoothness '
                        'and graph alignment.')
    _add_graph_flags(ev, '--checkpoint', 'run directory written by `pyg-sip pretrain`')
    ev.add_argument('--k', type=int, default=3, help='neighbours of the k-NN probe')
    ev.add_argument('--method', default='sipt', help='method name in the result rows')
    _add_output(ev)
    ev.set_defaults(func=cmd_evaluate)

    _add_benchmarks(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except PygSipError as e:
        print(f'pyg-sip: error: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
