r"""OGB-style table on the real data shipped in ``datasets/``: no pre-training
vs LM-only (λ = 0) vs SIPT (λ chosen on validation), mean ± std over seeds.

    python benchmarks/real.py [--quick] [--datasets NAME ...] [--seeds N] [--output PATH]
                              [--update]

Same as ``pyg-sip bench real``; by default writes
``benchmarks/results/real.json`` (``--quick`` writes nothing unless asked).
With ``--update``, the rows of the datasets run replace theirs in an existing
output file and the other rows are kept (datasets run one command at a time).
See ``benchmarks/README.real.md`` for the protocol and the results.
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

from study import real  # noqa: E402
from study.real import add_arguments, run  # noqa: E402,F401  (``pyg-sip bench real``)

RESULTS = Path(__file__).resolve().parent / 'results'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=real.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument('--output', type=Path, default=None,
                        help='result rows (default: benchmarks/results/real.json, '
                        'none with --quick)')
    parser.add_argument('--update', action='store_true',
                        help='keep the rows of other datasets already in the output file')
    args = parser.parse_args(argv)
    if not args.quick:
        args.output = args.output or RESULTS / 'real.json'
    try:
        rows = run(args)
    except PygSipError as e:
        parser.error(str(e))
    print(format_table(rows))
    if args.update and args.output is not None and args.output.exists():
        ran = {r['dataset'] for r in rows}
        try:
            saved = json.loads(args.output.read_text())
        except (OSError, ValueError) as e:
            parser.error(f'--update: cannot read {args.output}: {e}')
        kept = [r for r in saved if r['dataset'] not in ran]
        order = {name: i for i, name in enumerate(real.ROW_DATASETS)}
        rows = sorted(kept + rows, key=lambda r: order.get(r['dataset'], len(order)))
    if args.output is not None:
        print(f'wrote {len(rows)} rows to {write_rows(rows, args.output)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
