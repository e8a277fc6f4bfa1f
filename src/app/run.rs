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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::finish::{Totals, assemble_runs_table, write_result};
use super::{AppError, claim_dir, io_err, load_scenario, progress_bar, sha256_hex};
use crate::cli::RunArgs;
use crate::engine::{self, BatchState, CHUNK_SIZE, EngineError, Hooks, chunk_count, shard_chunks};
use crate::model::{Model, Posture};
use crate::output::atomic::{partial_dir, publish, write_file};
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

static CANCEL: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide Ctrl-C flag (installed once).
pub fn cancel_flag() -> Arc<AtomicBool> {
    CANCEL
        .get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            // If a handler cannot be installed, Ctrl-C simply kills the process;
            // the checkpoint protocol keeps the partial directory consistent.
            let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
            flag
        })
        .clone()
}

/// Execute `hedgesim run`. Returns the line to print on success.
pub fn run(args: &RunArgs) -> Result<String, AppError> {
    let (mut scenario, bytes) = load_scenario(&args.scenario)?;
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
    let threads = match args.threads {
        Some(0) => return Err(AppError::Invalid("--threads 0: use at least 1".into())),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let name = match shard {
            Some(s) => format!("{}.shard-{}-of-{}", scenario.name, s.index, s.count),
            None => scenario.name.clone(),
        };
        PathBuf::from("results").join(name)
    });
    if out.exists() && !args.force {
        return Err(AppError::Invalid(format!(
            "{} already exists; pass --force to replace it, or --out to write elsewhere",
            out.display()
        )));
    }
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
    let model = Model::new(&scenario);
    let chunks = match shard {
        Some(s) => shard_chunks(scenario.runs, s.index, s.count),
        None => 0..chunk_count(scenario.runs),
    };
    crate::engine::state::check_memory(
        model.steps(),
        model.layout.len(),
        threads,
        chunks.end - chunks.start,
        crate::engine::state::memory_limit(),
    )
    .map_err(|e| AppError::Invalid(format!("{}: {e}", args.scenario.display())))?;
    let partial = partial_dir(&out);
    let fresh = || {
        BatchState::new(scenario.runs, chunks.clone(), model.trajectory_len(), Posture::count(scenario.partners.len()))
    };
    let resumed = if args.resume { Some(resume_state(&partial, &meta)?) } else { None };
    claim_dir(&partial, !args.resume)?;
    let (state, runs_len) = if let Some(found) = resumed {
        found.unwrap_or_else(|| (fresh(), 0))
    } else {
        let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| AppError::Failed(e.to_string()))?;
        write_file(&partial.join("checkpoint.json"), &meta_json).map_err(|e| io_err("cannot write", &partial, e))?;
        write_file(&partial.join("scenario.toml"), &bytes).map_err(|e| io_err("cannot write", &partial, e))?;
        (fresh(), 0)
    };

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
            return Err(AppError::Interrupted(format!(
                "interrupted: no result written; {saved} finished runs are checkpointed in {}. \
                 Rerun the same command with --resume to continue.",
                partial.display()
            )));
        }
        Err(EngineError::Sink(e)) => return Err(io_err("cannot write into", &partial, e)),
        Err(e @ EngineError::NonFinite { .. }) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(AppError::Failed(e.to_string()));
        }
    };
    rows_file.sync_all().map_err(|e| io_err("cannot write", &rows_path, e))?;
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
        resolved_scenario: serde_json::to_value(&scenario).map_err(|e| AppError::Failed(e.to_string()))?,
    };
    match shard {
        Some(_) => {
            let encoded = state.encode();
            write_file(&partial.join("state.bin"), &encoded).map_err(|e| io_err("cannot write", &partial, e))?;
            let mut manifest = manifest.clone();
            manifest.shard_files = Some(
                super::merge::shard_files(&encoded, &rows_path).map_err(|e| io_err("cannot read", &rows_path, e))?,
            );
            let json = serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Failed(e.to_string()))?;
            write_file(&partial.join("manifest.json"), &json).map_err(|e| io_err("cannot write", &partial, e))?;
        }
        None => {
            if scenario.outputs.runs_table {
                assemble_runs_table(&partial, &model, &[&rows_path])
                    .map_err(|e| io_err("cannot write runs.csv in", &partial, e))?;
            }
            let totals = Totals { nodes: state.stack, sketches: state.sketches, postures: state.postures };
            write_result(&partial, &model, totals, &manifest)?;
            for name in ["runs.part", "checkpoint.bin", "checkpoint.json"] {
                let _ = fs::remove_file(partial.join(name));
            }
        }
    }
    let _ = fs::remove_file(partial.join("checkpoint.bin"));
    publish(&partial, &out, args.force).map_err(|e| io_err("cannot move the result into", &out, e))?;
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

fn open_rows(path: &Path, keep: u64) -> Result<File, AppError> {
    let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| io_err("cannot open", path, e))?;
    file.set_len(keep).map_err(|e| io_err("cannot truncate", path, e))?;
    Ok(file)
}

fn write_checkpoint(dir: &Path, state: &BatchState, rows_len: u64) -> std::io::Result<()> {
    let mut bytes = rows_len.to_le_bytes().to_vec();
    bytes.extend_from_slice(&state.encode());
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    write_file(&dir.join("checkpoint.bin"), &bytes)
}

fn read_checkpoint(dir: &Path) -> Result<(BatchState, u64), String> {
    let bytes = fs::read(dir.join("checkpoint.bin")).map_err(|e| e.to_string())?;
    if bytes.len() < 40 {
        return Err("checkpoint too short".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checkpoint checksum mismatch".into());
    }
    let rows_len = u64::from_le_bytes(body[..8].try_into().map_err(|_| "checkpoint too short".to_string())?);
    let state = BatchState::decode(&body[8..]).map_err(|e| e.to_string())?;
    Ok((state, rows_len))
}

/// The checkpointed state of an interrupted run; `None` if it stopped
/// before its first checkpoint (then it starts over in place).
fn resume_state(partial: &Path, meta: &CheckpointMeta) -> Result<Option<(BatchState, u64)>, AppError> {
    let meta_path = partial.join("checkpoint.json");
    let text = fs::read(&meta_path).map_err(|_| {
        AppError::Invalid(format!(
            "--resume: no interrupted run to resume ({} not found); run without --resume",
            meta_path.display()
        ))
    })?;
    let saved: CheckpointMeta = serde_json::from_slice(&text).map_err(|e| {
        AppError::Invalid(format!(
            "--resume: {} is unreadable ({e}); run without --resume to start over",
            meta_path.display()
        ))
    })?;
    if &saved != meta {
        return Err(AppError::Invalid(format!(
            "--resume: the interrupted run in {} was made with different settings (scenario file, seed, runs, shard, runs table or engine version); \
             run without --resume to start over",
            partial.display()
        )));
    }
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
