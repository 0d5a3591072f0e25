#!/usr/bin/env bash
# Every performance benchmark of benchmarks/ with --device cuda, at sizes that
# finish in under 5 minutes on one GPU, writing the result rows to
# benchmarks/results/gpu/<name>.json (and the printed tables to <name>.log).
#
#   bash benchmarks/gpu.sh                # on a machine with a CUDA GPU
#   DEVICE=cpu bash benchmarks/gpu.sh     # dry run: the same commands, tiny, on the CPU,
#                                         # rows to a temporary folder (committed rows kept)
#
# Environment: PYTHON (default: .venv/bin/python of the checkout, else python3),
# OUT (the folder of the rows), LIMIT (seconds per benchmark, default 120),
# TOTAL (seconds for all of them, default 290: a benchmark gets at most what is
# left), ONLY (space-separated benchmark names, default all, in the order run).
# A benchmark missing from the checkout or without a --device flag is skipped
# with a message; one that fails or runs out of time does not stop the others,
# and the script exits 1 if any did.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
DEVICE=${DEVICE:-cuda}
LIMIT=${LIMIT:-120}
TOTAL=${TOTAL:-290}
if [[ -z ${PYTHON:-} ]]; then
    if [[ -x $repo/.venv/bin/python ]]; then PYTHON=$repo/.venv/bin/python; else PYTHON=python3; fi
fi
if [[ $DEVICE == cuda ]]; then
    OUT=${OUT:-$here/results/gpu}
else
    OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/pyg_sip_gpu_dry.XXXXXX")}
fi
# The checkout need not be installed (e.g. on a GPU machine with its own torch).
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"

# The size flags of each benchmark: on CUDA, and tiny for the CPU dry run.
declare -A CUDA_ARGS=(
    [losses]='--sizes 256,1024,4096,16384 --all-pairs-sizes 256,1024,4096 --in-batch-sizes 256,1024,4096,16384 --loop-max-size 256 --repeats 5'
    [sampler]='--sizes 10000,100000,1000000 --repeats 3'
    [scaling]='--graph-sizes 10000,100000,1000000 --batch-sizes 256,1024,4096,16384 --repeats 3'
    [sequence]='--max-lengths 128,512,1024 --repeats 3'
    [tanimoto]='--sizes 2000 10000 41120 100000 --partial-sizes 1000000 --old-max 10000 --repeats 1'
)
declare -A CPU_ARGS=(
    [losses]='--sizes 256 --all-pairs-sizes 256 --in-batch-sizes 256 --loop-max-size 256 --repeats 1 --no-memory'
    [sampler]='--sizes 2000 --batch-size 256 --repeats 1'
    [scaling]='--graph-sizes 2000 --graph-batch 256 --batch-sizes 64 --batch-graph 2000 --sequence-sizes 2000:64 --repeats 1'
    [sequence]='--datasets shs27k --max-lengths 64 --batch-size 16 --repeats 1'
    [tanimoto]='--sizes 500 --partial-sizes --old-max 500 --alt-max 500 --format-max 500 --repeats 1'
)
# GPU-bound ones first; the sampler samples on the CPU (it moves batches after).
NAMES=${ONLY:-losses sequence tanimoto scaling sampler}

if [[ $DEVICE == cuda ]] && ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "gpu.sh: CUDA is not available to $PYTHON (use DEVICE=cpu for a dry run)" >&2
    exit 2
fi

echo "# device $DEVICE, python $PYTHON, rows to $OUT, at most ${LIMIT} s per benchmark, ${TOTAL} s in all"
failed=()
start_all=$SECONDS
for name in $NAMES; do
    script=$here/$name.py
    if [[ ! -f $script ]]; then
        echo "== $name: skipped (no benchmarks/$name.py in this checkout)"
        continue
    fi
    if ! "$PYTHON" "$script" --help 2>/dev/null | grep -q -- '--device'; then
        echo "== $name: skipped (benchmarks/$name.py has no --device flag)"
        continue
    fi
    left=$((TOTAL - (SECONDS - start_all)))
    if [[ $left -lt 10 ]]; then
        echo "== $name: FAILED (no time left of TOTAL=${TOTAL} s)"
        failed+=("$name")
        continue
    fi
    limit=$((left < LIMIT ? left : LIMIT))
    if [[ $DEVICE == cuda ]]; then args=${CUDA_ARGS[$name]:-}; else args=${CPU_ARGS[$name]:-}; fi
    echo "== $name: $PYTHON benchmarks/$name.py --device $DEVICE $args --output $OUT/$name.json"
    start=$SECONDS
    # shellcheck disable=SC2086  # $args holds several flags
    timeout "$limit" "$PYTHON" "$script" --device "$DEVICE" $args --output "$OUT/$name.json" \
        > "$OUT/$name.log" 2>&1
    rc=$?
    tail -n 25 "$OUT/$name.log"
    if [[ $rc -ne 0 ]]; then
        [[ $rc -eq 124 ]] && why="over ${limit} s" || why="exit code $rc"
        echo "== $name: FAILED ($why; log: $OUT/$name.log)"
        failed+=("$name")
    else
        echo "== $name: done in $((SECONDS - start)) s"
    fi
done
echo "# all benchmarks: $((SECONDS - start_all)) s; rows in $OUT"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "# failed: ${failed[*]}" >&2
    exit 1
fi
