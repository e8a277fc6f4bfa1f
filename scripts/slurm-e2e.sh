#!/usr/bin/env bash
# End-to-end test of the Slurm scale-out path (docs/distributed.md).
#
# Brings up a throwaway single-node Slurm cluster on this machine (its own
# munged, slurmctld and slurmd, all state under $E2E_DIR), submits a
# scenario as SHARDS array tasks plus a dependent merge job with
# scripts/slurm/submit.sh, waits for the merge, runs the same scenario on
# this machine with plain `hedgesim run`, and checks with cmp that
# summary.csv, outcomes.csv, runs.csv and survival.csv are byte-identical;
# then does the same with a small experiment (EXP_SHARDS shards of
# `hedgesim explore --shard K/N`, merged, against `hedgesim explore`: every
# file byte-identical, the manifest but for its timing fields).
#
# Needs root (the test cluster runs as SlurmUser=root) and Debian's slurm-wlm
# and munge packages, which it installs with apt-get when missing. Safe to
# run repeatedly: daemons and jobs left over from an earlier run with the
# same E2E_DIR are killed first; everything it starts is stopped on exit and
# E2E_DIR is removed (unless E2E_KEEP=1).
#
# Environment:
#   HEDGESIM      hedgesim binary (default: build with `cargo build --release`
#                 and use target/release/hedgesim)
#   SCENARIO      scenario file (default: tests/fixtures/tiny.toml, else the
#                 first scenarios/*.toml)
#   RUNS          --runs for the batch (default 2000; empty = scenario's own)
#   SEED          --seed (default: the scenario's own)
#   SHARDS        number of shards / array tasks (default 4)
#   EXP_SHARDS    number of shards of the experiment (default 3)
#   E2E_TIMEOUT   seconds to wait for the jobs (default 300)
#   E2E_DIR       scratch directory (default ${TMPDIR:-/tmp}/hedgesim-slurm-e2e)
#   E2E_KEEP=1    keep E2E_DIR (and its logs) after the run
#   E2E_SLURMCTLD_PORT, E2E_SLURMD_PORT   ports (default 16817, 16818)
#
# Prints "slurm-e2e: PASS ..." or "slurm-e2e: FAIL: ..." and exits 0 / 1.

set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_DIR=${E2E_DIR:-${TMPDIR:-/tmp}/hedgesim-slurm-e2e}
SHARDS=${SHARDS:-4}
EXP_SHARDS=${EXP_SHARDS:-3}
RUNS=${RUNS-2000}
SEED=${SEED:-}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
E2E_KEEP=${E2E_KEEP:-0}
SLURMCTLD_PORT=${E2E_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${E2E_SLURMD_PORT:-16818}
MARKER=.hedgesim-slurm-e2e

T0=$SECONDS
cluster_started=0
finished=0
WORK=$E2E_DIR/work

log() { echo "slurm-e2e: $*"; }

fail_msg=
fail() {
    finished=1
    fail_msg=$*
    echo "slurm-e2e: FAIL: $*"
    exit 1
}

# ---------------------------------------------------------------------------
# Processes of *this* test cluster: the Slurm and munge daemons whose command
# line names E2E_DIR or whose environment points SLURM_CONF at our
# slurm.conf, and job processes (SLURM_JOB_ID set, SLURM_CONF ours).
# Nothing else on the machine matches.
our_pids() {
    local p pid comm env
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ $pid == "$$" ]] && continue
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        env=$(tr '\0' '\n' 2>/dev/null <"$p/environ") || continue
        case $comm in
        munged | slurmctld | slurmscriptd | slurmd | slurmstepd)
            if tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -qF -- "$E2E_DIR/" ||
                grep -qxF -- "SLURM_CONF=$E2E_DIR/slurm.conf" <<<"$env"; then
                echo "$pid"
            fi
            ;;
        *)
            if grep -qxF -- "SLURM_CONF=$E2E_DIR/slurm.conf" <<<"$env" &&
                grep -q '^SLURM_JOB_ID=' <<<"$env"; then
                echo "$pid"
            fi
            ;;
        esac
    done
}

# our_pids_matching [munged | !munged]: all of ours, only munged, or all but munged.
our_pids_matching() {
    local pid comm
    for pid in $(our_pids); do
        comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        case ${1:-} in
        munged) [[ $comm == munged ]] || continue ;;
        '!munged') [[ $comm != munged ]] || continue ;;
        esac
        echo "$pid"
    done
}

kill_ours() { # kill_ours SIGNAL [munged | !munged]
    local pid
    for pid in $(our_pids_matching "${2:-}"); do
        kill "-$1" "$pid" 2>/dev/null || true
    done
}

wait_gone() { # wait_gone SECONDS [munged | !munged]
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        [[ -z $(our_pids_matching "${2:-}") ]] && return 0
        sleep 0.5
    done
    return 1
}

stop_cluster() {
    # Jobs and Slurm daemons first, munged last (they need it to shut down).
    kill_ours TERM '!munged'
    wait_gone 5 '!munged' || kill_ours KILL '!munged'
    wait_gone 5 '!munged' || true
    kill_ours TERM munged
    wait_gone 5 munged || kill_ours KILL munged
    wait_gone 5 || log "warning: processes still running: $(our_pids | tr '\n' ' ')"
}

dump_diagnostics() {
    echo "----- slurm-e2e diagnostics -----"
    if [[ -f $E2E_DIR/slurm.conf ]]; then
        echo "== squeue"
        timeout 15 squeue 2>&1 || true
        echo "== scontrol show job"
        timeout 15 scontrol show job 2>&1 | head -n 200 || true
        echo "== sinfo -R"
        timeout 15 sinfo -R 2>&1 || true
    fi
    local f
    for f in "$WORK"/logs/*.out; do
        [[ -f $f ]] || continue
        echo "== job output $f"
        tail -n 60 "$f"
    done
    for f in "$E2E_DIR"/log/slurmctld.log "$E2E_DIR"/log/slurmd.log "$E2E_DIR"/log/munged.log; do
        [[ -f $f ]] || continue
        echo "== $f (last 80 lines)"
        tail -n 80 "$f"
    done
    echo "----- end of diagnostics -----"
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if ((rc != 0)); then
        ((finished)) || echo "slurm-e2e: FAIL: aborted (exit status $rc)"
        ((cluster_started)) && dump_diagnostics
    fi
    if ((cluster_started)); then
        stop_cluster
    fi
    if [[ $E2E_KEEP == 1 ]]; then
        log "kept $E2E_DIR"
    elif [[ -f $E2E_DIR/$MARKER ]]; then
        rm -rf "$E2E_DIR"
    fi
    if ((rc != 0)); then
        # Repeat the verdict after the (long) diagnostics.
        echo "slurm-e2e: FAIL: ${fail_msg:-aborted (exit status $rc)}"
        echo "slurm-e2e: 0 passed, 1 failed"
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Arguments and sanity checks.
[[ $SHARDS =~ ^[1-9][0-9]*$ ]] || fail "SHARDS='$SHARDS' is not a positive integer"
[[ $EXP_SHARDS =~ ^[1-9][0-9]*$ ]] || fail "EXP_SHARDS='$EXP_SHARDS' is not a positive integer"
[[ -z $RUNS || $RUNS =~ ^[0-9]+$ ]] || fail "RUNS='$RUNS' is not a non-negative integer"
[[ $E2E_TIMEOUT =~ ^[0-9]+$ ]] || fail "E2E_TIMEOUT='$E2E_TIMEOUT' is not a number of seconds"
[[ $E2E_DIR == /* && $E2E_DIR != / ]] || fail "E2E_DIR='$E2E_DIR' must be an absolute path other than /"
(($(id -u) == 0)) || fail "must run as root (the test cluster runs Slurm as SlurmUser=root)"
if [[ -e $E2E_DIR && ! -f $E2E_DIR/$MARKER ]] && [[ -n $(ls -A "$E2E_DIR" 2>/dev/null) ]]; then
    fail "$E2E_DIR exists, is not empty and was not made by this script; set E2E_DIR"
fi

if [[ -z ${SCENARIO:-} ]]; then
    if [[ -f $REPO_ROOT/tests/fixtures/tiny.toml ]]; then
        SCENARIO=$REPO_ROOT/tests/fixtures/tiny.toml
    else
        SCENARIO=$(find "$REPO_ROOT/scenarios" -maxdepth 1 -name '*.toml' 2>/dev/null | sort | head -n 1)
    fi
    [[ -n $SCENARIO ]] || fail "no scenario: tests/fixtures/tiny.toml and scenarios/*.toml are missing; set SCENARIO"
fi
[[ -f $SCENARIO ]] || fail "scenario '$SCENARIO' not found"
SCENARIO=$(realpath -- "$SCENARIO")

# ---------------------------------------------------------------------------
# The hedgesim binary.
if [[ -z ${HEDGESIM:-} ]]; then
    HEDGESIM=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/hedgesim
    if command -v cargo >/dev/null; then
        log "cargo build --release (a no-op when up to date)"
        (cd "$REPO_ROOT" && cargo build --release --quiet) || fail "cargo build --release failed"
    fi
fi
[[ -x $HEDGESIM && ! -d $HEDGESIM ]] || fail "hedgesim binary '$HEDGESIM' not found or not executable"
HEDGESIM=$(realpath -- "$HEDGESIM")
"$HEDGESIM" merge --help >/dev/null 2>&1 || fail "$HEDGESIM has no working 'merge' subcommand"

# ---------------------------------------------------------------------------
# Slurm and munge from Debian's packages.
missing=()
for c in munged munge unmunge slurmctld slurmd slurmstepd sbatch squeue sinfo scontrol scancel; do
    command -v "$c" >/dev/null || missing+=("$c")
done
if ((${#missing[@]} > 0)); then
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    command -v apt-get >/dev/null || fail "apt-get not found; install Slurm and munge by hand"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! { apt-get update -q && apt-get install -y -q slurm-wlm munge; } >"$apt_log" 2>&1 </dev/null; then
        tail -n 40 "$apt_log"
        rm -f "$apt_log"
        fail "apt-get install slurm-wlm munge failed"
    fi
    rm -f "$apt_log"
fi

# ---------------------------------------------------------------------------
# A fresh scratch directory; kill anything an earlier run left behind.
if [[ -n $(our_pids) ]]; then
    log "stopping leftover test-cluster processes from an earlier run"
    stop_cluster
fi
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"/{key,run,state,spool,log} "$WORK/logs"
touch "$E2E_DIR/$MARKER"
# munged insists on: key directory private, socket directory world-executable.
chmod 755 "$E2E_DIR" "$E2E_DIR/run"
chmod 700 "$E2E_DIR/key"

# ---------------------------------------------------------------------------
# munged with a key of its own (the machine's /etc/munge is left alone).
head -c 1024 /dev/urandom >"$E2E_DIR/key/munge.key"
chmod 600 "$E2E_DIR/key/munge.key"
MUNGE_SOCKET=$E2E_DIR/run/munge.sock
cluster_started=1
munged --key-file="$E2E_DIR/key/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$E2E_DIR/run/munged.pid" --log-file="$E2E_DIR/log/munged.log" \
    --seed-file="$E2E_DIR/key/munged.seed" ||
    fail "munged did not start"
for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.2; done
munge -S "$MUNGE_SOCKET" -n </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null ||
    fail "munge round trip failed"

# ---------------------------------------------------------------------------
# slurm.conf: one node, this machine, with its real CPU and memory layout.
NODE=$(hostname -s 2>/dev/null || true)
NODE=${NODE:-localhost}
node_hw=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' | head -n 1)
if [[ -z $node_hw ]]; then
    node_hw="CPUs=$(nproc) RealMemory=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
fi

cat >"$E2E_DIR/slurm.conf" <<EOF
# Throwaway single-node cluster of scripts/slurm-e2e.sh
ClusterName=hedgesim-e2e
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$E2E_DIR/state
SlurmdSpoolDir=$E2E_DIR/spool/slurmd-%n
SlurmctldPidFile=$E2E_DIR/run/slurmctld.pid
SlurmdPidFile=$E2E_DIR/run/slurmd-%n.pid
SlurmctldLogFile=$E2E_DIR/log/slurmctld.log
SlurmdLogFile=$E2E_DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: plain /proc process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Keep finished jobs visible to scontrol (there is no accounting database).
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 $node_hw State=UNKNOWN
PartitionName=e2e Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$E2E_DIR/slurm.conf

slurmctld -f "$SLURM_CONF" -c </dev/null || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N "$NODE" </dev/null || fail "slurmd did not start"

deadline=$((SECONDS + 60))
state=
until state=$(timeout 15 sinfo -h -N -n "$NODE" -o %t 2>/dev/null) && [[ $state == idle ]]; do
    ((SECONDS < deadline)) || fail "node $NODE not idle after 60 s (state: '${state:-no answer}')"
    sleep 1
done
T_CLUSTER=$SECONDS
log "cluster up: node $NODE ($node_hw) idle after $((T_CLUSTER - T0)) s"

# ---------------------------------------------------------------------------
# submit_and_wait INPUT N OUT SHARD_ROOT [submit.sh options...]: submit a
# sharded batch through the real submit script, wait for its merge job, and
# check that every array task completed with exit code 0.
submit_and_wait() {
    local input=$1 n=$2 out=$3 root=$4
    shift 4
    local submit_out info mstate reason tasks ok_tasks deadline next_report k
    submit_out=$(FORCE=0 RESUME=auto THREADS='' OUT='' SHARD_ROOT='' LOG_DIR='' SCENARIO='' EXPERIMENT='' \
        "$REPO_ROOT/scripts/slurm/submit.sh" "$input" "$n" \
        --out "$out" --shard-root "$root" --log-dir "$WORK/logs" \
        --hedgesim "$HEDGESIM" "$@" \
        -- --cpus-per-task=1 --partition=e2e) ||
        fail "submit.sh failed for $(basename "$input")"
    echo "$submit_out"
    ARRAY_JOB_ID=$(sed -n 's/^ARRAY_JOB_ID=//p' <<<"$submit_out")
    MERGE_JOB_ID=$(sed -n 's/^MERGE_JOB_ID=//p' <<<"$submit_out")
    [[ $ARRAY_JOB_ID =~ ^[0-9]+$ && $MERGE_JOB_ID =~ ^[0-9]+$ ]] ||
        fail "could not read the job ids from submit.sh's output"

    # Wait for the merge job to finish (it depends on every array task).
    deadline=$((SECONDS + E2E_TIMEOUT))
    next_report=$((SECONDS + 15))
    while :; do
        info=$(timeout 15 scontrol show job -o "$MERGE_JOB_ID" 2>/dev/null || true)
        mstate=$(grep -o 'JobState=[A-Z_]*' <<<"$info" | head -n 1 | cut -d= -f2 || true)
        case $mstate in
        COMPLETED) break ;;
        PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | REQUEUE_HOLD | RESIZING | SUSPENDED | '') ;;
        *)
            reason=$(grep -o 'Reason=[^ ]*' <<<"$info" | head -n 1 || true)
            fail "merge job $MERGE_JOB_ID ended $mstate ($reason; a shard failed if it was cancelled for DependencyNeverSatisfied)"
            ;;
        esac
        if ((SECONDS >= deadline)); then
            timeout 15 scancel "$ARRAY_JOB_ID" "$MERGE_JOB_ID" 2>/dev/null || true
            fail "jobs not finished after ${E2E_TIMEOUT} s (merge job state: ${mstate:-unknown})"
        fi
        if ((SECONDS >= next_report)); then
            log "waiting ($((SECONDS - T_CLUSTER)) s): $(timeout 15 squeue -h -o '%i:%T' 2>/dev/null | tr '\n' ' ')"
            next_report=$((SECONDS + 15))
        fi
        sleep 1
    done

    # Every array task must have completed with exit code 0.
    tasks=$(timeout 15 scontrol show job -o "$ARRAY_JOB_ID" 2>/dev/null || true)
    ok_tasks=$(grep -c 'JobState=COMPLETED .*ExitCode=0:0' <<<"$tasks" || true)
    ((ok_tasks == n)) || fail "$ok_tasks of $n array tasks completed with exit code 0"
    for ((k = 0; k < n; k++)); do
        [[ -d $root/shard-$k ]] || fail "shard directory $root/shard-$k is missing"
    done
}

# show_first_difference LOCAL MERGED: the first differing line, side by side.
show_first_difference() {
    echo "== $1 differs from $2: $(cmp "$1" "$2" 2>&1 || true)"
    awk 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { if (!(FNR in a) || a[FNR] != $0) { print "   line " FNR " local : " (FNR in a ? a[FNR] : "<end of file>");
                                            print "   line " FNR " merged: " $0; found = 1; exit } }
        END { if (!found && FNR < n) print "   merged ends at line " FNR ", local has " n " lines" }' "$1" "$2"
}

# ---------------------------------------------------------------------------
# The sharded batch of a scenario.
log "submitting $(basename "$SCENARIO") as $SHARDS shards${RUNS:+, --runs $RUNS}${SEED:+, --seed $SEED}"
submit_and_wait "$SCENARIO" "$SHARDS" "$WORK/merged" "$WORK/shards" ${RUNS:+--runs "$RUNS"} ${SEED:+--seed "$SEED"}
for f in summary.csv outcomes.csv runs.csv survival.csv manifest.json report.md; do
    [[ -f $WORK/merged/$f ]] || fail "merged result lacks $f"
done
T_JOBS=$SECONDS
log "array job $ARRAY_JOB_ID ($SHARDS tasks) and merge job $MERGE_JOB_ID completed in $((T_JOBS - T_CLUSTER)) s"

# The same batch on one machine, and the byte comparison.
log "single-machine run for comparison"
"$HEDGESIM" run "$SCENARIO" --out "$WORK/local" --quiet \
    ${RUNS:+--runs "$RUNS"} ${SEED:+--seed "$SEED"} </dev/null ||
    fail "single-machine 'hedgesim run' failed"

differ=()
for f in summary.csv outcomes.csv runs.csv survival.csv; do
    if ! cmp -s "$WORK/local/$f" "$WORK/merged/$f"; then
        differ+=("$f")
        show_first_difference "$WORK/local/$f" "$WORK/merged/$f"
    fi
done
((${#differ[@]} == 0)) || fail "merged shards differ from the single-machine run in: ${differ[*]}"
log "scenario: $SHARDS shards + merge == single-machine run ($(wc -l <"$WORK/local/runs.csv") lines in runs.csv)"

# ---------------------------------------------------------------------------
# The sharded explore of a small experiment (a file with an [experiment]
# table: submit.sh runs `hedgesim explore --shard K/N`): every file of the
# merged result must be byte-identical to a single-machine explore, but for
# the manifest's timing fields.
EXPERIMENT_FILE=$WORK/e2e-experiment.toml
cat >"$EXPERIMENT_FILE" <<EXPERIMENT_TOML
[experiment]
name = "e2e-experiment"
scenario = "$REPO_ROOT/scenarios/policy-levers.toml"
design = "lhs"
samples = 24
runs = 5
seed = 3
outcomes = ["trade_share.RU@2030", "strategic_space@2040"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = "hedger.autonomy_weight"
range = [0.1, 1.5]
scale = "log"

[discovery]
outcome = "trade_share.RU@2030"
condition = "< 0.17"
EXPERIMENT_TOML
log "submitting an experiment (24 points x 5 runs) as $EXP_SHARDS shards"
submit_and_wait "$EXPERIMENT_FILE" "$EXP_SHARDS" "$WORK/explore-merged" "$WORK/explore-shards"
T_EXP=$SECONDS
log "single-machine explore for comparison"
"$HEDGESIM" explore "$EXPERIMENT_FILE" --out "$WORK/explore-local" --quiet </dev/null ||
    fail "single-machine 'hedgesim explore' failed"
untimed() { grep -vE '^  "(threads|wall_time_s|started_at)":' "$1"; }
exp_files=$(cd "$WORK/explore-local" && find . -type f | sort)
[[ $exp_files == "$(cd "$WORK/explore-merged" && find . -type f | sort)" ]] ||
    fail "the merged explore holds other files than the single-machine one"
for f in design.csv points.csv sensitivity.csv discovery.csv report.md report.html manifest.json; do
    grep -qxF "./$f" <<<"$exp_files" || fail "the explore result lacks $f"
done
differ=()
while IFS= read -r f; do
    if [[ $f == ./manifest.json ]]; then
        cmp -s <(untimed "$WORK/explore-local/$f") <(untimed "$WORK/explore-merged/$f") || differ+=("$f (beyond timing)")
    elif ! cmp -s "$WORK/explore-local/$f" "$WORK/explore-merged/$f"; then
        differ+=("$f")
        show_first_difference "$WORK/explore-local/$f" "$WORK/explore-merged/$f"
    fi
done <<<"$exp_files"
((${#differ[@]} == 0)) || fail "merged explore shards differ from the single-machine explore in: ${differ[*]}"

finished=1
log "PASS: $SHARDS Slurm array shards + merge == single-machine run (summary.csv, outcomes.csv, runs.csv, survival.csv byte-identical; $(wc -l <"$WORK/local/runs.csv") lines in runs.csv); $EXP_SHARDS explore shards + merge == single-machine explore ($(wc -l <<<"$exp_files") files byte-identical, the manifest but for its timing fields); cluster $((T_CLUSTER - T0)) s, jobs $((T_JOBS - T_CLUSTER)) s + $((T_EXP - T_JOBS)) s, total $((SECONDS - T0)) s"
echo "slurm-e2e: 1 passed, 0 failed"
