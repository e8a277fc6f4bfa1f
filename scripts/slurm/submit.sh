#!/usr/bin/env bash
# Submit a sharded hedgesim batch to Slurm: a job array of N shard tasks
# (hedgesim-array.sbatch) and a merge job (hedgesim-merge.sbatch) that starts
# only after every array task succeeded (--dependency=afterok). Prints both
# job ids. See docs/distributed.md.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PROG=${0##*/}

usage() {
    cat <<EOF
Usage: $PROG SCENARIO.toml|EXPERIMENT.toml N --out DIR [options] [-- SBATCH_OPTION...]

Runs SCENARIO.toml as N shards (a Slurm job array 0..N-1, one
'hedgesim run --shard K/N' per task) and merges them into DIR with a
dependent job ('hedgesim merge'). DIR then holds the same summary.csv,
outcomes.csv and runs.csv as 'hedgesim run SCENARIO.toml --out DIR'.

A file with an [experiment] table is an experiment: each task runs
'hedgesim explore EXPERIMENT.toml --shard K/N' (a contiguous range of the
design points) and DIR holds the same design.csv, points.csv,
sensitivity.csv, discovery.csv and reports as
'hedgesim explore EXPERIMENT.toml --out DIR'.

Paths must be visible from every compute node (shared file system).

Options (each also settable by the environment variable in brackets):
  -o, --out DIR         merged result directory, required            [OUT]
  --shard-root DIR      where shard-0..shard-(N-1) go (default: DIR.shards)
                                                                     [SHARD_ROOT]
  --runs R              number of runs (default: the scenario's; for
                        an experiment, runs per design point)        [RUNS]
  --seed S              master seed (default: the scenario's)        [SEED]
  --threads T           threads per shard (default: the job's
                        --cpus-per-task, 4 unless overridden)        [THREADS]
  --hedgesim PATH       hedgesim binary (default: hedgesim on PATH, else
                        $REPO_ROOT/target/release/hedgesim)          [HEDGESIM]
  --log-dir DIR         job output files (default: SHARD_ROOT/logs)  [LOG_DIR]
  --max-parallel M      run at most M shards at once (--array=0-(N-1)%M)
  --force               recompute shards that are already complete and
                        replace DIR if it exists                     [FORCE=1]
                        (without it, complete shard-K directories are
                        kept, so resubmitting redoes only missing shards)
  --resume              require every shard to resume from a checkpoint
                        (hedgesim run/explore --resume)              [RESUME=1]
  --no-resume           discard checkpoints of interrupted shards    [RESUME=0]
                        (default RESUME=auto: a shard resumes when an
                        interrupted earlier attempt left a checkpoint)
  -h, --help            show this help

Everything after '--' is passed to both sbatch calls, e.g.
  -- --partition=compute --account=myproj --time=02:00:00 --cpus-per-task=8

Prints:
  ARRAY_JOB_ID=<id>
  MERGE_JOB_ID=<id>
EOF
}

bad_usage() {
    echo "$PROG: error: $*" >&2
    echo >&2
    usage >&2
    exit 2
}

OUT=${OUT:-}
SHARD_ROOT=${SHARD_ROOT:-}
RUNS=${RUNS:-}
SEED=${SEED:-}
THREADS=${THREADS:-}
HEDGESIM=${HEDGESIM:-}
LOG_DIR=${LOG_DIR:-}
FORCE=${FORCE:-0}
RESUME=${RESUME:-auto}
MAX_PARALLEL=
positional=()
sbatch_extra=()

# need_value OPTION "$@": the option's value must exist.
need_value() {
    (($# >= 2)) || bad_usage "option $1 needs a value"
}

while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    -o | --out) need_value "$@"; OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --shard-root) need_value "$@"; SHARD_ROOT=$2; shift 2 ;;
    --shard-root=*) SHARD_ROOT=${1#*=}; shift ;;
    --runs) need_value "$@"; RUNS=$2; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --seed) need_value "$@"; SEED=$2; shift 2 ;;
    --seed=*) SEED=${1#*=}; shift ;;
    --threads) need_value "$@"; THREADS=$2; shift 2 ;;
    --threads=*) THREADS=${1#*=}; shift ;;
    --hedgesim) need_value "$@"; HEDGESIM=$2; shift 2 ;;
    --hedgesim=*) HEDGESIM=${1#*=}; shift ;;
    --log-dir) need_value "$@"; LOG_DIR=$2; shift 2 ;;
    --log-dir=*) LOG_DIR=${1#*=}; shift ;;
    --max-parallel) need_value "$@"; MAX_PARALLEL=$2; shift 2 ;;
    --max-parallel=*) MAX_PARALLEL=${1#*=}; shift ;;
    --force) FORCE=1; shift ;;
    --resume) RESUME=1; shift ;;
    --no-resume) RESUME=0; shift ;;
    --)
        shift
        sbatch_extra=("$@")
        break
        ;;
    -*) bad_usage "unknown option '$1'" ;;
    *)
        positional+=("$1")
        shift
        ;;
    esac
done

((${#positional[@]} == 2)) || bad_usage "expected SCENARIO.toml (or EXPERIMENT.toml) and N, got ${#positional[@]} argument(s)"
SCENARIO=${positional[0]}
N=${positional[1]}

[[ $N =~ ^[1-9][0-9]*$ ]] || bad_usage "N='$N' is not a positive integer"
[[ -f $SCENARIO && -r $SCENARIO ]] || bad_usage "scenario or experiment file '$SCENARIO' not found or not readable"
# An experiment (an [experiment] table) goes to the array as EXPERIMENT.
EXPERIMENT=
KIND=scenario
if grep -Eq '^[[:space:]]*\[experiment\][[:space:]]*(#.*)?$' "$SCENARIO"; then
    KIND=experiment
fi
[[ -n $OUT ]] || bad_usage "--out DIR is required"
[[ -z $RUNS || $RUNS =~ ^[0-9]+$ ]] || bad_usage "--runs '$RUNS' is not a non-negative integer"
[[ -z $SEED || $SEED =~ ^[0-9]+$ ]] || bad_usage "--seed '$SEED' is not a non-negative integer"
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]*$ ]] || bad_usage "--threads '$THREADS' is not a positive integer"
[[ $RESUME == auto || $RESUME == 0 || $RESUME == 1 ]] || bad_usage "RESUME='$RESUME': use auto, 1 or 0"
[[ $FORCE == 0 || $FORCE == 1 ]] || bad_usage "FORCE='$FORCE': use 0 or 1"
if [[ -n $MAX_PARALLEL ]]; then
    [[ $MAX_PARALLEL =~ ^[1-9][0-9]*$ ]] ||
        bad_usage "--max-parallel '$MAX_PARALLEL' is not a positive integer"
fi

command -v sbatch >/dev/null || {
    echo "$PROG: sbatch not found: run this on a Slurm submit host" >&2
    exit 1
}

# The hedgesim binary, as an absolute path (the jobs may start elsewhere).
if [[ -z $HEDGESIM ]]; then
    if command -v hedgesim >/dev/null; then
        HEDGESIM=$(command -v hedgesim)
    elif [[ -x $REPO_ROOT/target/release/hedgesim ]]; then
        HEDGESIM=$REPO_ROOT/target/release/hedgesim
    else
        bad_usage "no hedgesim binary: put it on PATH, build it (cargo build --release) or pass --hedgesim PATH"
    fi
elif [[ $HEDGESIM != */* ]]; then
    HEDGESIM=$(command -v "$HEDGESIM") || bad_usage "hedgesim binary '$HEDGESIM' not found on PATH"
fi
[[ -x $HEDGESIM && ! -d $HEDGESIM ]] || bad_usage "hedgesim binary '$HEDGESIM' is not an executable file"

# Absolute paths: the jobs' working directory may differ from ours.
abspath() { realpath -m -- "$1"; }
HEDGESIM=$(abspath "$HEDGESIM")
SCENARIO=$(abspath "$SCENARIO")
if [[ $KIND == experiment ]]; then
    EXPERIMENT=$SCENARIO
    SCENARIO=
fi
OUT=$(abspath "$OUT")
SHARD_ROOT=$(abspath "${SHARD_ROOT:-$OUT.shards}")
LOG_DIR=$(abspath "${LOG_DIR:-$SHARD_ROOT/logs}")
mkdir -p "$SHARD_ROOT" "$LOG_DIR"

SHARD_COUNT=$N
export HEDGESIM SCENARIO EXPERIMENT SHARD_ROOT OUT SHARD_COUNT RUNS SEED THREADS FORCE RESUME

array_spec="0-$((N - 1))${MAX_PARALLEL:+%$MAX_PARALLEL}"

# --parsable prints "jobid" or "jobid;cluster".
array_job=$(sbatch --parsable --export=ALL --array="$array_spec" \
    --output="$LOG_DIR/hedgesim-shard-%A_%a.out" \
    ${sbatch_extra[@]+"${sbatch_extra[@]}"} \
    "$SCRIPT_DIR/hedgesim-array.sbatch")
ARRAY_JOB_ID=${array_job%%;*}
[[ $ARRAY_JOB_ID =~ ^[0-9]+$ ]] || {
    echo "$PROG: unexpected sbatch output for the array: '$array_job'" >&2
    exit 1
}

# --kill-on-invalid-dep=yes: if a shard fails, the merge is cancelled instead
# of waiting forever with reason DependencyNeverSatisfied.
if ! merge_job=$(sbatch --parsable --export=ALL \
    --dependency="afterok:$ARRAY_JOB_ID" --kill-on-invalid-dep=yes \
    --output="$LOG_DIR/hedgesim-merge-%j.out" \
    ${sbatch_extra[@]+"${sbatch_extra[@]}"} \
    "$SCRIPT_DIR/hedgesim-merge.sbatch"); then
    echo "$PROG: submitting the merge job failed; cancelling array job $ARRAY_JOB_ID" >&2
    scancel "$ARRAY_JOB_ID" || true
    exit 1
fi
MERGE_JOB_ID=${merge_job%%;*}

echo "ARRAY_JOB_ID=$ARRAY_JOB_ID"
echo "MERGE_JOB_ID=$MERGE_JOB_ID"
echo "$PROG: $N shards of the $KIND ${EXPERIMENT:-$SCENARIO} -> $SHARD_ROOT/shard-K; merge -> $OUT; job output in $LOG_DIR" >&2
