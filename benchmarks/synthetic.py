r"""The SIPT paper's synthetic experiments (noisy cliques, manifold graphs,
graphlet topology): LM only vs SIPT over several seeds.

    python benchmarks/synthetic.py [--quick] [--seeds N] [--jobs 2] [--output PATH] [--plot PATH]
    python benchmarks/synthetic.py --from-json benchmarks/results/synthetic.json --plot PATH

Same as ``pyg-sip bench synthetic``; by default writes
``benchmarks/results/synthetic.json`` and ``benchmarks/results/synthetic.png``
(``--quick`` writes nothing unless asked).
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the study package beside this script
    sys.path.insert(0, HERE)
from pyg_sip.errors import PygSipError  # noqa: E402
from pyg_sip.pipeline.results import format_table, write_rows  # noqa: E402

from study import synthetic  # noqa: E402
from study.synthetic import add_arguments, run  # noqa: E402,F401  (``pyg-sip bench synthetic``)

RESULTS = Path(__file__).resolve().parent / 'results'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=synthetic.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument('--output', type=Path, default=None,
                        help='result rows (default: benchmarks/results/synthetic.json, '
                        'none with --quick)')
    parser.add_argument('--from-json', type=Path, default=None,
                        help='print and plot saved result rows instead of running')
    args = parser.parse_args(argv)
    if args.from_json is not None:
        try:
            rows = json.loads(args.from_json.read_text())
        except (OSError, ValueError) as e:
            parser.error(f'--from-json {args.from_json}: {e}')
        print(synthetic.comparison_table(rows))
        if args.plot is not None:
            print(f'wrote the figure to {synthetic.plot(rows, args.plot)}')
        return 0
    if not args.quick:
        args.output = args.output or RESULTS / 'synthetic.json'
        args.plot = args.plot or RESULTS / 'synthetic.png'
    try:
        rows = run(args)
    except PygSipError as e:
        parser.error(str(e))
    print(format_table(rows))
    if args.output is not None:
        print(f'wrote {len(rows)} rows to {write_rows(rows, args.output)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
