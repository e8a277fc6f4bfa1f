//! `hedgesim run`: a batch from scenario file to result (or shard) directory,
//! with progress, Ctrl-C, durable checkpoints and `--resume`.
//!
//! Working files live in the hidden `.NAME.partial/` next to the output:
//! `scenario.toml` (a copy of the input), `checkpoint.json` (what the batch
//! is: scenario hash, seed, runs, shard), `runs.part` (runs-table rows so
//! far) and `checkpoint.bin` (the batch state after the last checkpointed
//! window plus the length of `runs.part` it matches). A checkpoint is
//! written with write, fsync, rename, after fsyncing `runs.part`, at most
//! every [`CHECKPOINT_EVERY`]; resuming truncates `runs.part` to the
//! recorded length and continues with the next chunk, which gives the same
//! bytes as an uninterrupted run because chunks are independent and folded
//! in order.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::finish::{Totals, assemble_runs_table, write_result};
use super::signals::{cancel_flag, terminated};
use super::{
    AppError, Claimed, Expected, Loaded, check_out, claim_out, io_err, load_scenario, parse_overrides, progress_bar,
    sha256_hex,
};
use crate::cli::RunArgs;
use crate::engine::{self, BatchState, CHUNK_SIZE, EngineError, Hooks, chunk_count, shard_chunks};
use crate::model::Model;
use crate::output::atomic::{Claim, open_nofollow, write_file};
use crate::output::manifest::{FORMAT_VERSION, Manifest, ShardInfo, utc_now_rfc3339};
use crate::scenario::validate::MAX_RUNS;

/// Minimum time between two checkpoints.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// What a checkpoint belongs to; a resume must match it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub engine_version: String,
    pub format_version: u32,
    pub scenario_sha256: String,
    pub seed: u64,
    pub runs: u64,
    pub shard: Option<ShardInfo>,
    pub runs_table: bool,
    pub chunk_size: u64,
}

/// Parse `K/N` (0 <= K < N).
pub fn parse_shard(text: &str) -> Result<ShardInfo, AppError> {
    let bad = || {
        AppError::Invalid(format!(
            "--shard `{text}`: expected K/N with 0 <= K < N, e.g. `--shard 0/4` (shards are numbered from 0)"
        ))
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count) = (k.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(ShardInfo { index, count })
}

/// A thread count for `chunks` chunks of work on `cores` cores: what was
/// asked for (default: the cores), but at most one thread per chunk and at
/// most [`THREADS_PER_CORE`] per core. Returns the count and, when an
/// explicit request was lowered, a warning saying why.
pub fn effective_threads(requested: Option<usize>, chunks: u64, cores: usize) -> (usize, Option<String>) {
    capped_threads(requested, chunks, &format!("chunks of {CHUNK_SIZE} runs"), cores)
}

/// [`effective_threads`] for `units` units of parallel work, named
/// `unit` in the warning (e.g. `design points`).
pub fn capped_threads(requested: Option<usize>, units: u64, unit: &str, cores: usize) -> (usize, Option<String>) {
    let by_units = usize::try_from(units).unwrap_or(usize::MAX).max(1);
    let by_cores = cores.max(1).saturating_mul(THREADS_PER_CORE);
    let Some(asked) = requested else {
        return (cores.max(1).min(by_units), None);
    };
    let cap = by_units.min(by_cores);
    if asked <= cap {
        return (asked, None);
    }
    let why = if by_units <= by_cores {
        format!("the batch has only {units} {unit}")
    } else {
        format!("{THREADS_PER_CORE} threads per core on {cores} cores")
    };
    (cap, Some(format!("warning: --threads {asked} lowered to {cap} ({why}); results do not depend on it")))
}

/// At most this many worker threads per core.
pub const THREADS_PER_CORE: usize = 4;

/// The default result directory: `results/<scenario file stem>` (or
/// `results/<stem>.shard-K-of-N`), so two scenario files never share one
/// by default even when their `[scenario] name`s are the same.
pub fn default_out(file_stem: &str, shard: Option<ShardInfo>) -> PathBuf {
    let name = match shard {
        Some(s) => format!("{file_stem}.shard-{}-of-{}", s.index, s.count),
        None => file_stem.to_string(),
    };
    PathBuf::from("results").join(name)
}

/// Execute `hedgesim run`. Returns the line to print on success.
pub fn run(args: &RunArgs) -> Result<String, AppError> {
    let Loaded { mut scenario, bytes, .. } = load_scenario(&args.scenario, &parse_overrides(&args.overrides.set)?)?;
    super::report_warnings(&scenario, args.deny_warnings)?;
    if let Some(runs) = args.runs {
        if runs == 0 || runs > MAX_RUNS {
            return Err(AppError::Invalid(format!("--runs {runs}: must be in [1, {MAX_RUNS}]")));
        }
        scenario.runs = runs;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if args.no_runs_table {
        scenario.outputs.runs_table = false;
    }
    if let Some(k) = args.trajectories {
        scenario.outputs.trajectories = k;
    }
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if let Some(s) = shard {
        if s.count > chunk_count(scenario.runs) {
            return Err(AppError::Invalid(format!(
                "--shard {}/{}: {} runs make only {} chunks of {CHUNK_SIZE}; use at most {} shards",
                s.index,
                s.count,
                scenario.runs,
                chunk_count(scenario.runs),
                chunk_count(scenario.runs)
            )));
        }
    }
    if args.threads == Some(0) {
        return Err(AppError::Invalid("--threads 0: use at least 1".into()));
    }
    let chunks = match shard {
        Some(s) => shard_chunks(scenario.runs, s.index, s.count),
        None => 0..chunk_count(scenario.runs),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (threads, warning) = effective_threads(args.threads, chunks.end - chunks.start, cores);
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    // A batch that cannot fit in memory is refused before any work.
    let probe = Model::new(&scenario);
    crate::engine::state::check_memory(
        probe.steps(),
        probe.layout.len(),
        threads,
        chunks.end - chunks.start,
        crate::engine::state::memory_limit(),
    )
    .map_err(|e| {
        AppError::Invalid(format!(
            "{}: {e}",
            crate::scenario::diagnostics::escape(&args.scenario.display().to_string())
        ))
    })?;
    drop(probe);
    let file_stem =
        args.scenario.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| scenario.name.clone());
    let out = args.out.clone().unwrap_or_else(|| default_out(&file_stem, shard));
    let expected = args.out.is_none().then_some(Expected { scenario: &scenario.name, file_stem: &file_stem });
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| io_err("cannot create", parent, e))?;
    }
    let meta = CheckpointMeta {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        format_version: FORMAT_VERSION,
        scenario_sha256: sha256_hex(&bytes),
        seed: scenario.seed,
        runs: scenario.runs,
        shard,
        runs_table: scenario.outputs.runs_table,
        chunk_size: CHUNK_SIZE,
    };
    let Claimed { claim, published } = claim_out(&out)?;
    if args.resume && published {
        claim.release();
        return Ok(format!(
            "the interrupted run had already finished; its result is now in {}/ (nothing left to resume)",
            out.display()
        ));
    }
    // Under the lock, after recovery: nothing can change `out` meanwhile.
    let prepared = check_out(&out, args.force, expected).and_then(|()| prepare_dir(&claim, args.resume, &meta, &bytes));
    let (resumed, runs_len) = match prepared {
        Ok(found) => found,
        Err(e) => {
            claim.release();
            return Err(e);
        }
    };
    let partial = claim.dir().to_path_buf();
    let model = Model::new(&scenario);
    let state = resumed.unwrap_or_else(|| BatchState::for_model(&model, scenario.runs, chunks.clone()));

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| AppError::Failed(format!("cannot start {threads} threads: {e}")))?;
    let shard_runs: u64 = chunks.clone().map(|c| engine::chunk_runs(c, scenario.runs).count() as u64).sum();
    let resumed_runs = state.runs_done();
    let bar = progress_bar(
        shard_runs,
        args.quiet,
        "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} runs ({rate} runs/s, ETA {eta})",
    );
    bar.set_position(state.runs_done());
    let done = AtomicU64::new(state.runs_done());
    let progress = |n: u64| {
        let total = done.fetch_add(n, Ordering::Relaxed) + n;
        bar.set_position(total);
    };
    let cancel = cancel_flag();
    let rows_path = partial.join("runs.part");
    let mut rows_file = open_rows(&rows_path, runs_len)?;
    let mut last_checkpoint = Instant::now();
    let started_at = utc_now_rfc3339();
    let start = Instant::now();
    let rows_len = std::cell::Cell::new(runs_len);
    let rows_writer = std::cell::RefCell::new(&mut rows_file);
    let mut on_window = |rows: &str| -> std::io::Result<bool> {
        rows_writer.borrow_mut().write_all(rows.as_bytes())?;
        rows_len.set(rows_len.get() + rows.len() as u64);
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            last_checkpoint = Instant::now();
            return Ok(true);
        }
        Ok(false)
    };
    // The rows must be durable before the checkpoint that counts them.
    let mut on_checkpoint = |state: &BatchState| {
        rows_writer.borrow_mut().sync_all()?;
        write_checkpoint(&partial, state, rows_len.get())
    };
    let hooks =
        Hooks { progress: &progress, cancel: &cancel, on_window: &mut on_window, on_checkpoint: &mut on_checkpoint };
    let result = engine::run_batch(&model, state, scenario.outputs.runs_table, &pool, hooks);
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let state = match result {
        Ok(state) => state,
        Err(EngineError::Cancelled) => {
            let saved = read_checkpoint(&partial).map_or(0, |(s, _)| s.runs_done());
            let (how, error): (_, fn(String) -> AppError) = if terminated() {
                ("terminated (SIGTERM)", AppError::Terminated)
            } else {
                ("interrupted", AppError::Interrupted)
            };
            return Err(error(format!(
                "{how}: no result written; {saved} finished runs are checkpointed in {}. \
                 Rerun the same command with --resume to continue.",
                partial.display()
            )));
        }
        Err(EngineError::Sink(e)) => return Err(resume_hint(io_err("cannot write into", &partial, e), &partial)),
        Err(e @ EngineError::NonFinite { .. }) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(AppError::Failed(e.to_string()));
        }
    };
    rows_file.sync_all().map_err(|e| resume_hint(io_err("cannot write", &rows_path, e), &partial))?;
    drop(rows_file);

    // Runs computed by this invocation (a resumed run counts only its part).
    let computed_runs = shard_runs - resumed_runs;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        engine: "hedgesim".into(),
        engine_version: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.name.clone(),
        scenario_file: args.scenario.display().to_string(),
        scenario_sha256: meta.scenario_sha256.clone(),
        seed: scenario.seed,
        runs: scenario.runs,
        steps: scenario.steps(),
        steps_per_year: scenario.steps_per_year,
        base_year: scenario.base_year,
        horizon: scenario.horizon,
        partners: scenario.partner_ids(),
        groups: scenario.groups.clone(),
        quantiles: scenario.outputs.quantiles.clone(),
        runs_table: scenario.outputs.runs_table,
        chunk_size: CHUNK_SIZE,
        threads,
        wall_time_s: wall,
        runs_per_second: computed_runs as f64 / wall,
        partner_steps_per_second: (computed_runs * scenario.steps() as u64 * scenario.partners.len() as u64) as f64
            / wall,
        started_at,
        shard,
        shard_files: None,
        resolved_scenario: crate::scenario::named::resolved_scenario(&scenario),
    };
    write_outputs(&partial, &model, state, &manifest, &rows_path).map_err(|e| resume_hint(e, &partial))?;
    claim.publish(&out, args.force).map_err(|e| io_err("cannot move the result into", &out, e))?;
    Ok(format!(
        "wrote {}/ ({} runs in {:.2} s: {:.0} runs/s, {:.1} M partner-steps/s, {} threads)",
        out.display(),
        computed_runs,
        wall,
        manifest.runs_per_second,
        manifest.partner_steps_per_second / 1e6,
        threads
    ))
}

/// A write error during a run: add how to continue once it is fixed.
pub(super) fn resume_hint(e: AppError, partial: &Path) -> AppError {
    match e {
        AppError::Failed(m) => AppError::Failed(format!(
            "{m}\nThe finished runs are checkpointed in {}: free some space if the disk is full, then rerun the \
             same command with --resume to continue.",
            partial.display()
        )),
        other => other,
    }
}

/// Write the files of a finished batch into its working directory: a
/// shard's state and manifest, or a result's tables, report and manifest.
fn write_outputs(
    partial: &Path,
    model: &Model,
    state: BatchState,
    manifest: &Manifest,
    rows_path: &Path,
) -> Result<(), AppError> {
    let write = |name: &str, bytes: &[u8]| {
        write_file(&partial.join(name), bytes).map_err(|e| io_err("cannot write", &partial.join(name), e))
    };
    match manifest.shard {
        Some(_) => {
            let encoded = state.encode();
            write("state.bin", &encoded)?;
            // The shard's files are bound to its manifest, so `merge` can
            // refuse a file that does not belong to it.
            let mut manifest = manifest.clone();
            manifest.shard_files =
                Some(super::merge::shard_files(&encoded, rows_path).map_err(|e| io_err("cannot read", rows_path, e))?);
            write(
                "manifest.json",
                &serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Failed(e.to_string()))?,
            )?;
        }
        None => {
            if manifest.runs_table {
                assemble_runs_table(partial, model, &[rows_path])
                    .map_err(|e| io_err("cannot write runs.csv in", partial, e))?;
            }
            let totals =
                Totals { nodes: state.stack, sketches: state.sketches, postures: state.postures, paths: state.paths };
            write_result(partial, model, totals, manifest)?;
            for name in ["runs.part", "checkpoint.json"] {
                let _ = fs::remove_file(partial.join(name));
            }
        }
    }
    let _ = fs::remove_file(partial.join("checkpoint.bin"));
    Ok(())
}

/// Make the claimed working directory ready: for a fresh run, empty it and
/// record what the batch is; for `--resume`, check that it holds only this
/// user's regular files and read its checkpoint. Returns the checkpointed
/// state (if any) and the length of `runs.part` it matches.
fn prepare_dir(
    claim: &Claim,
    resume: bool,
    meta: &CheckpointMeta,
    scenario_bytes: &[u8],
) -> Result<(Option<BatchState>, u64), AppError> {
    let partial = claim.dir();
    if resume {
        claim.check_own_files().map_err(|e| super::claim_error(partial, e))?;
        return Ok(resume_state(partial, meta)?.map_or((None, 0), |(s, len)| (Some(s), len)));
    }
    claim.clear().map_err(|e| io_err("cannot empty", partial, e))?;
    let meta_json = serde_json::to_vec_pretty(meta).map_err(|e| AppError::Failed(e.to_string()))?;
    for (name, bytes) in [("checkpoint.json", meta_json.as_slice()), ("scenario.toml", scenario_bytes)] {
        write_file(&partial.join(name), bytes).map_err(|e| io_err("cannot write", &partial.join(name), e))?;
    }
    Ok((None, 0))
}

/// Open a working file for appending (never through a link), truncated
/// to the `keep` bytes a checkpoint counts.
pub(super) fn open_rows(path: &Path, keep: u64) -> Result<File, AppError> {
    let file = open_nofollow(path, OpenOptions::new().create(true).append(true))
        .map_err(|e| io_err("cannot open", path, e))?;
    file.set_len(keep).map_err(|e| io_err("cannot truncate", path, e))?;
    Ok(file)
}

/// Read a working file without following a link.
pub(super) fn read_own(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_nofollow(path, OpenOptions::new().read(true))?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `body` followed by its SHA-256, as a checkpoint file holds it.
pub(super) fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&body);
    body.extend_from_slice(&digest);
    body
}

/// The body of a [`seal`]ed file of at least `min_body` bytes, if its
/// checksum holds.
pub(super) fn unseal(bytes: &[u8], min_body: usize) -> Result<&[u8], String> {
    if bytes.len() < min_body + 32 {
        return Err("checkpoint too short".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checkpoint checksum mismatch".into());
    }
    Ok(body)
}

fn write_checkpoint(dir: &Path, state: &BatchState, rows_len: u64) -> std::io::Result<()> {
    let mut bytes = rows_len.to_le_bytes().to_vec();
    state.encode_into(&mut bytes);
    write_file(&dir.join("checkpoint.bin"), &seal(bytes))
}

fn read_checkpoint(dir: &Path) -> Result<(BatchState, u64), String> {
    let bytes = read_own(&dir.join("checkpoint.bin")).map_err(|e| e.to_string())?;
    let body = unseal(&bytes, 8)?;
    let rows_len = u64::from_le_bytes(body[..8].try_into().map_err(|_| "checkpoint too short".to_string())?);
    let state = BatchState::decode(&body[8..]).map_err(|e| e.to_string())?;
    Ok((state, rows_len))
}

/// The checkpointed state of an interrupted run; `None` if it stopped
/// before its first checkpoint (then it starts over in place).
fn resume_state(partial: &Path, meta: &CheckpointMeta) -> Result<Option<(BatchState, u64)>, AppError> {
    let saved: CheckpointMeta = saved_settings(partial, "run")?;
    refuse_changes(partial, "run", &setting_changes(&saved, meta))?;
    if !partial.join("checkpoint.bin").exists() {
        return Ok(None);
    }
    match read_checkpoint(partial) {
        Ok(found) => Ok(Some(found)),
        Err(e) => Err(AppError::Invalid(format!(
            "--resume: cannot read the checkpoint in {}: {e}; run without --resume",
            partial.display()
        ))),
    }
}

/// What the interrupted `command` (`run` or `explore`) in `partial` recorded
/// in its `checkpoint.json`. Refused, saying what to do, if the file is
/// missing or unreadable, or if the other command wrote it (an explore's
/// has `kind = "explore"`, a run's no kind).
pub(super) fn saved_settings<T: serde::de::DeserializeOwned>(partial: &Path, command: &str) -> Result<T, AppError> {
    let meta_path = partial.join("checkpoint.json");
    let text = read_own(&meta_path).map_err(|_| {
        AppError::Invalid(format!(
            "--resume: no interrupted {command} to resume ({} not found); run without --resume",
            meta_path.display()
        ))
    })?;
    let unreadable = |e: serde_json::Error| {
        AppError::Invalid(format!("--resume: {} is unreadable ({e}); {START_OVER}", meta_path.display()))
    };
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(unreadable)?;
    let written_by = if value["kind"] == "explore" { "explore" } else { "run" };
    if written_by != command {
        return Err(AppError::Invalid(format!(
            "--resume: {} holds an interrupted `hedgesim {written_by}`, not {}; resume it with `hedgesim \
             {written_by} --resume`, or {START_OVER} (its checkpoint is discarded)",
            partial.display(),
            if command == "run" { "a run" } else { "an explore" }
        )));
    }
    serde_json::from_value(value).map_err(unreadable)
}

/// What a refused `--resume` tells the user to do instead.
pub(super) const START_OVER: &str = "run without --resume to start over";

/// Refuse to resume the interrupted `command` in `partial` if any setting
/// `differs` (each as `name old -> new`).
pub(super) fn refuse_changes(partial: &Path, command: &str, differs: &[String]) -> Result<(), AppError> {
    if differs.is_empty() {
        return Ok(());
    }
    Err(AppError::Invalid(format!(
        "--resume: the interrupted {command} in {} was made with different settings: {}. \
         Resume with the old settings, or {START_OVER}",
        partial.display(),
        differs.join("; ")
    )))
}

/// Each setting that differs between a checkpoint and this command, as
/// `name old -> new`.
pub fn setting_changes(old: &CheckpointMeta, new: &CheckpointMeta) -> Vec<String> {
    let shard = |s: &Option<ShardInfo>| s.map_or_else(|| "none".to_string(), |s| format!("{}/{}", s.index, s.count));
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let mut changes = Vec::new();
    let mut check = |name: &str, a: String, b: String| {
        if a != b {
            changes.push(format!("{name} {a} -> {b}"));
        }
    };
    check("scenario file (SHA-256)", short(&old.scenario_sha256), short(&new.scenario_sha256));
    check("--seed", old.seed.to_string(), new.seed.to_string());
    check("--runs", old.runs.to_string(), new.runs.to_string());
    check("--shard", shard(&old.shard), shard(&new.shard));
    check("runs table", old.runs_table.to_string(), new.runs_table.to_string());
    check("engine version", old.engine_version.clone(), new.engine_version.clone());
    check("format version", old.format_version.to_string(), new.format_version.to_string());
    check("chunk size", old.chunk_size.to_string(), new.chunk_size.to_string());
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_capped_by_chunks_and_cores_with_a_warning() {
        assert_eq!(effective_threads(None, 100, 2), (2, None));
        assert_eq!(effective_threads(None, 1, 8), (1, None));
        assert_eq!(effective_threads(Some(3), 100, 2), (3, None));
        let (t, w) = effective_threads(Some(10_000), 2, 2);
        assert_eq!(t, 2);
        assert!(w.unwrap().contains("only 2 chunks"));
        let (t, w) = effective_threads(Some(10_000), 100_000, 2);
        assert_eq!(t, 8);
        assert!(w.unwrap().contains("4 threads per core on 2 cores"));
    }

    #[test]
    fn changed_settings_are_named_with_old_and_new_values() {
        let old = CheckpointMeta {
            engine_version: "0.2.0".into(),
            format_version: 1,
            scenario_sha256: "aaaaaaaaaaaaaaaa".into(),
            seed: 7,
            runs: 600,
            shard: None,
            runs_table: true,
            chunk_size: 256,
        };
        assert!(setting_changes(&old, &old).is_empty());
        let new = CheckpointMeta { seed: 8, runs: 1000, shard: Some(ShardInfo { index: 1, count: 2 }), ..old.clone() };
        assert_eq!(setting_changes(&old, &new), ["--seed 7 -> 8", "--runs 600 -> 1000", "--shard none -> 1/2"]);
    }
}
