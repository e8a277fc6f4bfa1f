#!/usr/bin/env bash
# Interleaved A/B timing of hedgesim binaries on a noisy machine.
#
#   scripts/ab-bench.sh [-r RUNS] [-t THREADS] [-n REPS] [-s SCENARIO] BIN_A BIN_B [BIN_C ...]
#
# Runs `BIN run SCENARIO --runs RUNS --threads THREADS --no-runs-table -q`
# for each binary in turn (A B A B ...), REPS rounds, and prints the median
# and the minimum wall time of each with partner-steps/s. Interleaving
# cancels most of the drift of a shared VM; compare ratios, not absolutes.
# Build an older version with e.g.
#   git worktree add /tmp/old <commit> && cargo build --release --manifest-path /tmp/old/Cargo.toml
set -euo pipefail
runs=20000 threads=1 reps=7 scenario=scenarios/baseline.toml
while getopts "r:t:n:s:" opt; do
  case $opt in
    r) runs=$OPTARG ;; t) threads=$OPTARG ;; n) reps=$OPTARG ;; s) scenario=$OPTARG ;;
    *) echo "usage: $0 [-r RUNS] [-t THREADS] [-n REPS] [-s SCENARIO] BIN_A BIN_B [...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r RUNS] [-t THREADS] [-n REPS] [-s SCENARIO] BIN_A BIN_B [...]" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Partner-steps per run: steps x partners, read from a one-run manifest.
"$1" run "$scenario" --runs 1 --threads 1 --no-runs-table -q --out "$work/probe"
per_run=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['steps'] * len(m['partners']))" "$work/probe/manifest.json")
for ((i = 0; i < reps; i++)); do
  for ((b = 1; b <= $#; b++)); do
    bin=${!b}
    start=$(date +%s.%N)
    "$bin" run "$scenario" --runs "$runs" --threads "$threads" --no-runs-table -q --out "$work/out$b" --force
    end=$(date +%s.%N)
    echo "$end - $start" | bc >> "$work/times$b"
  done
done
for ((b = 1; b <= $#; b++)); do
  sort -n "$work/times$b" | python3 -c "
import sys
t = [float(x) for x in sys.stdin]
med, low = t[(len(t) - 1) // 2], t[0]
steps = $runs * $per_run
print(f'{sys.argv[1]}: median {med:.3f} s ({steps / med / 1e6:.1f} M partner-steps/s), min {low:.3f} s ({steps / low / 1e6:.1f} M/s), {len(t)} runs')
" "${!b}"
done
