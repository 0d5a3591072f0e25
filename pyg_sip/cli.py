r"""The ``pyg-sip`` command: ``demo``, ``prepare``, ``diagnose``, ``pretrain``,
``evaluate``, ``embed``, ``export``, ``bench``."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from pyg_sip.errors import PygSipError


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--output', type=Path, default=None,
                        help='write the result rows as a JSON list to this path')


def _check_output(output: Optional[Path]) -> None:
    """Refuse an ``--output`` path that cannot be written, before any work."""
    if output is None:
        return
    if output.is_dir():
        raise PygSipError(f'--output {output} is a folder; give a file path')
    parent = output.parent.resolve()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise PygSipError(f'--output {output}: {parent} is a file, not a folder')
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PygSipError(f'--output {output}: no permission to write in {parent}')


def _emit(rows: list[dict], output: Optional[Path]) -> None:
    from pyg_sip.pipeline.results import format_table, write_rows
    print(format_table(rows))
    if output is not None:
        print(f'wrote {len(rows)} rows to {write_rows(rows, output)}')


def _run_config(args: argparse.Namespace):
    """The run configuration: the ``--config`` file (JSON or YAML), then the
    explicit flags on top (``--graph`` names the data)."""
    from pyg_sip.pipeline import PretrainConfig, RunConfig
    config = RunConfig.from_file(args.config) if args.config is not None else RunConfig()
    values = config.to_dict()
    values.update({name: getattr(args, name) for name in ('lam', 'seed', *PretrainConfig.fields())
                   if getattr(args, name, None) is not None})
    if args.graph is not None:
        values['data'] = {'graph': str(args.graph.resolve())}
    return RunConfig.from_dict(values)


def _add_graph_flags(parser: argparse.ArgumentParser, run_flag: str, run_help: str) -> None:
    parser.add_argument('--graph', type=Path, required=True,
                        help='SampleGraph file written by pyg_sip.save_graph')
    parser.add_argument(run_flag, type=Path, required=True, help=run_help)
    parser.add_argument('--no-progress', action='store_true')


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', type=Path, help='run config file (JSON, or YAML with '
                        'PyYAML): data, lam, seed and PretrainConfig fields')
    from pyg_sip.pipeline.config import ENCODERS, negative_policies, structure_losses
    parser.add_argument('--encoder', choices=ENCODERS)
    parser.add_argument('--steps', type=int, help='optimiser steps')
    parser.add_argument('--batch-size', dest='batch_size', type=int, help='anchors per batch')
    parser.add_argument('--lr', type=float, help='peak learning rate')
    parser.add_argument('--hidden-channels', dest='hidden_channels', type=int)
    parser.add_argument('--out-channels', dest='out_channels', type=int)
    parser.add_argument('--num-layers', dest='num_layers', type=int)
    parser.add_argument('--num-positives', dest='num_positives', type=int)
    parser.add_argument('--num-negatives', dest='num_negatives', type=int)
    parser.add_argument('--negative-sampling', dest='negative_sampling',
                        choices=negative_policies())
    parser.add_argument('--structure-loss', dest='structure_loss',
                        choices=structure_losses(),
                        help='a loss of pyg_sip.losses.available_losses(), including any '
                        'registered with register_loss before main() runs')


def cmd_demo(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.demo import DEMO_CONFIG, run_demo
    if args.seeds < 1:
        raise PygSipError(f'--seeds must be at least 1, got {args.seeds}')
    config = DEMO_CONFIG
    if args.steps is not None:
        config = dataclasses.replace(config, steps=args.steps)
    _check_output(args.output)
    rows = run_demo(seeds=range(args.seeds), noise=args.noise, config=config,
                    progress=not args.no_progress)
    _emit(rows, args.output)


def cmd_pretrain(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.run import WEIGHTS
    from pyg_sip.pipeline.workflow import pretrain_run
    config = _run_config(args)
    state = pretrain_run(config, args.out, overwrite=args.overwrite,
                         progress=not args.no_progress, device=args.device)
    if state == 'finished':
        print(f'{args.out} already holds this finished run ({WEIGHTS}): nothing to do')
        return
    from pyg_sip.train import dist_info
    if dist_info()[0] != 0:  # under torchrun, rank 0 speaks for the run
        return
    done = {'new': 'saved', 'resume': 'resumed from its checkpoint and saved',
            'overwrite': 'replaced the earlier run and saved'}[state]
    print(f'{done} the pre-trained encoder to {args.out / WEIGHTS}')


def cmd_evaluate(args: argparse.Namespace) -> None:
    from pyg_sip.data import load_graph
    from pyg_sip.eval import embed, graph_alignment, knn_probe, label_smoothness
    from pyg_sip.pipeline import encoder_spec, load_run
    _check_output(args.output)
    run = load_run(args.checkpoint)
    graph = load_graph(args.graph)
    spec = encoder_spec(graph, run.config.pretrain)
    if spec != run.spec:
        raise PygSipError(f'{args.graph}: does not fit the encoder of {args.checkpoint} '
                          f'({spec} vs {run.spec})')
    emb = embed(run.encoder, graph, progress=not args.no_progress)
    metrics = dict(graph_alignment(emb, graph.edge_index))
    metrics = {f'alignment_{k}': v for k, v in metrics.items()}
    if getattr(graph, 'y', None) is not None:
        metrics.update(knn_probe(emb, graph.y, k=args.k))
        metrics.update({f'smoothness_{k}': v
                        for k, v in label_smoothness(graph.edge_index, graph.y).items()})
    rows = [{'dataset': args.graph.stem, 'method': args.method, 'lambda': run.config.lam,
             'metric': name, 'mean': float(value), 'std': 0.0, 'n_seeds': 1, 'seconds': None}
            for name, value in metrics.items()]
    _emit(rows, args.output)


def _format_report(report: dict) -> str:
    """A load report (``source``, ``counts``, ``dropped``, ``examples``) as lines."""
    lines = [f"source: {report['source']}"] if 'source' in report else []
    kept = ', '.join(f'{k} {v}' for k, v in (report.get('counts') or {}).items())
    lines.append(f'kept: {kept or "-"}')
    examples = report.get('examples') or {}
    for reason, count in (report.get('dropped') or {}).items():
        example = f' (e.g. {examples[reason]})' if examples.get(reason) else ''
        lines.append(f'dropped: {reason} {count}{example}')
    if not report.get('dropped'):
        lines.append('dropped: nothing')
    return '\n'.join(lines)


def cmd_prepare(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.workflow import build_from_adapter, save_prepared
    if args.out.is_dir():
        raise PygSipError(f'--out {args.out} is a folder; give the graph file to write')
    options = {key[len(_OPTION):]: value for key, value in vars(args).items()
               if key.startswith(_OPTION) and value is not None}
    graph, report, tokenizer = build_from_adapter(args.kind, options)
    print(_format_report(report))
    for path in save_prepared(graph, tokenizer, args.out):
        print(f'wrote {path}')


def cmd_diagnose(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.diagnose import diagnose_file, format_readings
    _check_output(args.output)
    rows, readings = diagnose_file(args.graph, args.labels)
    _emit(rows, args.output)
    print(format_readings(readings))


def cmd_embed(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline import load_run
    from pyg_sip.pipeline.inference import check_output, embed_new, write_embeddings
    check_output(args.output)
    run = load_run(args.run)
    ids, emb = embed_new(run, args.input, kind=args.kind, batch_size=args.batch_size,
                         progress=not args.no_progress)
    for path in write_embeddings(ids, emb, args.output):
        print(f'wrote {path}')
    print(f'{emb.size(0)} samples, {emb.size(1)}-d embeddings')


def cmd_export(args: argparse.Namespace) -> None:
    from pyg_sip.pipeline.export import export_run
    path = export_run(args.run, args.format, args.out)
    print(f'wrote a {args.format} model folder to {path}')


#: Prefix of the argparse destinations of adapter options (``prepare KIND``).
_OPTION = 'option_'


def _add_adapter_options(parser: argparse.ArgumentParser, adapter) -> None:
    for option in adapter.options:
        text = option.help + (f' (default: {option.default})'
                              if option.default is not None else '')
        kwargs = dict(dest=_OPTION + option.name, default=None, help=text,
                      required=option.required)
        if option.type is bool:
            kwargs['action'] = argparse.BooleanOptionalAction
        else:
            kwargs['metavar'] = option.type.__name__.upper()
            if option.multiple:
                kwargs['nargs'] = '+'
            if option.choices is not None:
                kwargs['choices'] = [str(c) for c in option.choices]
                kwargs.pop('metavar')
        parser.add_argument(option.flag, **kwargs)


def _add_workflow_commands(sub) -> None:
    """``prepare``, ``diagnose``, ``pretrain``, ``evaluate``, ``embed``, ``export``."""
    from pyg_sip.datasets import available_adapters, get_adapter
    prep = sub.add_parser(
        'prepare', help='build a pre-training graph from raw files',
        description='Read raw files with a dataset adapter, print the load report (kept and '
        'dropped counts) and save the SampleGraph (and, for token sequences, its tokenizer '
        'beside it as <name>.tokenizer.json). `pyg-sip prepare KIND --help` lists the '
        "options of a kind.")
    kinds = prep.add_subparsers(dest='kind', required=True, metavar='KIND')
    for name in available_adapters():
        adapter = get_adapter(name)
        parser = kinds.add_parser(name, help=adapter.help, description=adapter.help)
        _add_adapter_options(parser, adapter)
        parser.add_argument('--out', type=Path, required=True, help='graph file to write')
        parser.set_defaults(func=cmd_prepare)

    diag = sub.add_parser(
        'diagnose', help='label smoothness over G_PT: will SIPT help?',
        description='Before any training: the smoothness of each label set (the graph\'s y '
        'and --labels files) over the pre-training graph, and what it predicts for '
        'structure-inducing pre-training, calibrated on the committed synthetic and real '
        'benchmark results (see pyg_sip.pipeline.diagnose).')
    diag.add_argument('--graph', type=Path, required=True, help='SampleGraph file')
    diag.add_argument('--labels', type=Path, action='append',
                      help='labels file (.pt, .npy, or a TSV/CSV with a header row and one '
                      'row per sample in graph order); may be repeated')
    _add_output(diag)
    diag.set_defaults(func=cmd_diagnose)

    pre = sub.add_parser(
        'pretrain', help='pre-train an encoder into a run folder',
        description='Pre-train from a config file (JSON or YAML: data, encoder, loss, lam, '
        'seed and run settings) and/or flags, into a self-describing run folder --out '
        '(config.json, encoder.json, tokenizer.json, data.json, metrics.jsonl, checkpoint.pt, '
        'encoder.pt). A rerun with the same configuration resumes an unfinished run and '
        'leaves a finished one untouched; another configuration is refused unless '
        '--overwrite.')
    pre.add_argument('--graph', type=Path, help='SampleGraph file (instead of the data entry '
                     'of --config)')
    pre.add_argument('--out', type=Path, required=True, help='run folder to write')
    pre.add_argument('--lam', type=float, help='lambda (default: 0.1)')
    pre.add_argument('--seed', type=int, help='RNG seed (default: 0)')
    pre.add_argument('--checkpoint-every', dest='checkpoint_every', type=int,
                     help='steps between checkpoints (default: 50)')
    pre.add_argument('--overwrite', action='store_true',
                     help='replace a run of another configuration in --out')
    pre.add_argument('--device', help='torch device (default: cuda if available)')
    pre.add_argument('--no-progress', action='store_true')
    _add_config_flags(pre)
    pre.set_defaults(func=cmd_pretrain)

    ev = sub.add_parser('evaluate', help='probe a pre-trained encoder',
                        description='Embed every sample with a run folder written by '
                        '`pyg-sip pretrain`, report the 3-NN probe on y, label smoothness '
                        'and graph alignment.')
    _add_graph_flags(ev, '--checkpoint', 'run folder written by `pyg-sip pretrain`')
    ev.add_argument('--k', type=int, default=3, help='neighbours of the k-NN probe')
    ev.add_argument('--method', default='sipt', help='method name in the result rows')
    _add_output(ev)
    ev.set_defaults(func=cmd_evaluate)

    emb = sub.add_parser(
        'embed', help='embed new samples with a pre-trained encoder (no graph needed)',
        description='Embed samples that were never in G_PT: protein sequences (FASTA), texts '
        '(TSV/JSONL), molecules (CSV of SMILES) or feature matrices (.npy/.pt), with the '
        'encoder and tokenizer of a run folder. Output: .npy (ids in <name>.ids.txt beside '
        "it, same order), .pt ({'ids', 'embeddings'}) or .parquet (id, embedding; needs "
        'pyarrow).')
    emb.add_argument('--run', type=Path, required=True, help='run folder')
    emb.add_argument('--input', type=Path, required=True, help='samples file')
    emb.add_argument('--output', type=Path, required=True,
                     help='embeddings file (.npy, .pt or .parquet)')
    emb.add_argument('--kind', choices=['sequences', 'texts', 'smiles'],
                     help='what --input holds (default: from its suffix)')
    emb.add_argument('--batch-size', dest='batch_size', type=int, default=256)
    emb.add_argument('--no-progress', action='store_true')
    emb.set_defaults(func=cmd_embed)

    exp = sub.add_parser(
        'export', help='export a Hugging Face encoder run to the ecosystem',
        description='Write the pre-trained encoder of an `encoder: hf` run folder as a '
        'standard Hugging Face model folder (transformers.AutoModel.from_pretrained) or a '
        'sentence-transformers folder (SentenceTransformer(path)).')
    exp.add_argument('--run', type=Path, required=True, help='run folder')
    exp.add_argument('--format', required=True, choices=['hf', 'sentence-transformers'])
    exp.add_argument('--out', type=Path, required=True, help='model folder to write')
    exp.set_defaults(func=cmd_export)


#: ``pyg-sip bench <name>``: the scripts ``benchmarks/<name>.py`` of a checkout
#: (the benchmarks ship with the source, not with the installed package), each
#: with ``add_arguments(parser)`` and ``run(args) -> list[dict]`` (result rows).
BENCHMARKS = {
    'synthetic': ('synthetic.py',
                  "the paper's synthetic experiments: cliques, manifolds, topology"),
    'real': ('real.py',
             'OGB-style table on shipped real data: citations, text, proteins, molecules'),
}


def find_benchmark(name: str, folder: Optional[Path] = None) -> Path:
    r"""The script of benchmark ``name``: in ``folder`` if given, else in
    ``benchmarks/`` of the current folder or the first folder above it that
    has one."""
    script = BENCHMARKS[name][0]
    if folder is not None:
        if not (folder / script).is_file():
            raise PygSipError(f'--benchmarks-dir {folder}: no {script} there')
        return folder / script
    cwd = Path.cwd().resolve()
    for parent in (cwd, *cwd.parents):
        if (parent / 'benchmarks' / script).is_file():
            return parent / 'benchmarks' / script
    raise PygSipError(f'no benchmarks/{script} in or above {cwd}: the benchmarks ship with a '
                      'checkout of pyg_sip, not with the installed package; run from a '
                      'checkout or pass --benchmarks-dir DIR')


def load_benchmark(path: Path):
    """Import a benchmark script as a module (without running its ``main``)."""
    import importlib.util
    name = f'pyg_sip_bench_{path.stem}'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    if not (callable(getattr(module, 'add_arguments', None)) and
            callable(getattr(module, 'run', None))):
        raise PygSipError(f'{path}: not a benchmark script (it needs add_arguments(parser) '
                          'and run(args))')
    return module


def cmd_bench(args: argparse.Namespace) -> None:
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument('--benchmarks-dir', type=Path, default=args.benchmarks_dir)
    found, _ = pre.parse_known_args(args.bench_args)
    module = load_benchmark(find_benchmark(args.benchmark, found.benchmarks_dir))
    parser = argparse.ArgumentParser(
        prog=f'pyg-sip bench {args.benchmark}',
        description=sys.modules[module.run.__module__].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    _add_output(parser)
    parser.add_argument('--benchmarks-dir', type=Path, default=None,
                        help='folder of the benchmark scripts (default: benchmarks/ of the '
                        'checkout around the current folder)')
    bench_args = parser.parse_args(args.bench_args)
    _check_output(bench_args.output)
    _emit(module.run(bench_args), bench_args.output)


def _add_benchmarks(sub) -> None:
    bench = sub.add_parser(
        'bench', help='reproducible multi-seed benchmarks (from a checkout)',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Run a benchmark suite of a pyg_sip checkout (benchmarks/<name>.py),\n'
        'print its table and write its result rows with --output.\n'
        '`pyg-sip bench NAME --help` lists the options of NAME.',
        epilog='benchmarks:\n' + '\n'.join(f'  {name:<10} {text}'
                                             for name, (_, text) in BENCHMARKS.items()))
    bench.add_argument('--benchmarks-dir', type=Path, default=None,
                       help='folder of the benchmark scripts (default: benchmarks/ of the '
                       'checkout around the current folder)')
    bench.add_argument('benchmark', choices=list(BENCHMARKS), help='the benchmark to run')
    bench.add_argument('bench_args', nargs=argparse.REMAINDER, metavar='...',
                       help='options of the benchmark')
    bench.set_defaults(func=cmd_bench)


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

    _add_workflow_commands(sub)
    _add_benchmarks(sub)
    return parser


def _os_error(e: OSError) -> str:
    """One line for a file error: the path, then what is wrong with it."""
    if e.filename is None:
        return str(e)
    return f'{e.filename}: {e.strerror or e}'


def main(argv: Optional[Sequence[str]] = None) -> int:
    r"""Run ``pyg-sip``. A user error (:class:`PygSipError`, or a file that
    cannot be read or written) prints one line ``pyg-sip: error: ...`` to
    stderr and returns 2, without a traceback."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except PygSipError as e:
        print(f'pyg-sip: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        print(f'pyg-sip: error: {_os_error(e)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('pyg-sip: interrupted', file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
