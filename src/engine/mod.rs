//! The Monte Carlo engine: fixed chunks of runs, computed in parallel,
//! folded in chunk order into mergeable state.
//!
//! Determinism is structural, not a matter of luck:
//! - run `i` draws only from streams seeded by (scenario seed, `i`, name),
//!   so it computes the same trajectory on any thread or machine;
//! - runs are grouped in chunks of [`CHUNK_SIZE`] (a constant, never derived
//!   from the thread count); each chunk folds its runs in run order;
//! - chunk moments are combined in the fixed tree of [`tree`], quantile
//!   sketches and posture counts are integer counts (order-free), and the
//!   runs table is emitted in chunk order.
//!
//! The engine does no I/O: progress goes through a callback, completed
//! windows of chunks are handed to a callback (which appends the runs table
//! and writes checkpoints), and cancellation is an `AtomicBool`.

pub mod state;
pub mod timeline;
pub mod tree;

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::model::Model;
use crate::stats::moments::MomentBlock;
use crate::stats::sketch::{Frame, SketchSet, TallySet};
pub use state::BatchState;
use timeline::{PathCounts, Plan, RunTrack};

/// Runs per chunk. Part of the reproducibility contract: changing it changes
/// the floating-point bits of the summary statistics.
pub const CHUNK_SIZE: u64 = 256;

/// Runs simulated side by side, in lock-step: the lanes of one
/// [`crate::model::Workspace`], each step taken for all of them at once
/// (the arithmetic vectorises across lanes), and the step's values folded
/// into the statistics straight away, cell by cell. Any value gives the
/// same bits (each lane computes exactly what a run on its own would, and
/// per cell runs are folded in run order either way). 64 lets each cell's
/// histogram lines serve 64 values per visit, while the workspace (about
/// 4 KB a run) and one step's values (64 x ~100 values) stay in a core's
/// L2 and L1 caches; no trajectory is ever stored.
pub const LANE_RUNS: usize = 64;

/// Number of chunks of a batch.
pub fn chunk_count(runs: u64) -> u64 {
    runs.div_ceil(CHUNK_SIZE)
}

/// Runs of chunk `chunk`.
pub fn chunk_runs(chunk: u64, runs: u64) -> Range<u64> {
    chunk * CHUNK_SIZE..((chunk + 1) * CHUNK_SIZE).min(runs)
}

/// The chunks of shard `k` of `n` (0-based): a contiguous range.
pub fn shard_chunks(runs: u64, k: u64, n: u64) -> Range<u64> {
    let chunks = chunk_count(runs);
    (chunks * k / n)..(chunks * (k + 1) / n)
}

/// Why a batch stopped early.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("interrupted")]
    Cancelled,
    #[error("{0}")]
    Sink(#[from] std::io::Error),
    /// The model produced NaN or an infinity: a scenario outside the range
    /// where the model is numerically sound, or a bug.
    #[error(
        "the model produced a non-finite value ({metric} at step {step}) in runs {first_run}..{end_run}; \
         the scenario drives the model outside its numerically sound range (e.g. explosive growth or volatility), \
         or this is a bug: please report it with the scenario file"
    )]
    NonFinite { metric: String, step: usize, first_run: u64, end_run: u64 },
}

/// What one chunk produced.
pub struct ChunkOutput {
    pub chunk: u64,
    pub moments: MomentBlock,
    pub postures: Vec<u64>,
    /// Posture, event and first-passage counts over time.
    pub paths: PathCounts,
    /// Rows of `runs.csv` (empty if the runs table is off).
    pub runs_rows: String,
}

/// Everything the engine needs from its caller.
pub struct Hooks<'a> {
    /// Called from worker threads with the number of runs just completed.
    pub progress: &'a (dyn Fn(u64) + Sync),
    /// Set to stop: the current window of chunks (about [`WINDOW_SECONDS`])
    /// finishes, a checkpoint is written and the batch returns `Cancelled`.
    pub cancel: &'a AtomicBool,
    /// Called on the calling thread after each window of chunks has been
    /// folded in, with the runs-table rows of that window in chunk order.
    /// Returns `true` to ask for a checkpoint now.
    pub on_window: &'a mut dyn FnMut(&str) -> std::io::Result<bool>,
    /// Called with the complete, consistent state when a checkpoint was
    /// asked for, and on cancellation.
    pub on_checkpoint: &'a mut dyn FnMut(&BatchState) -> std::io::Result<()>,
}

/// Where [`simulate_chunk`] puts the values of the written steps for the
/// quantiles.
pub enum QuantileSink<'a> {
    /// Count them in a worker's tallies.
    Tally(&'a mut TallySet),
    /// Keep them, cell after cell (`cells x runs of the chunk`): the pilot,
    /// from which the quantile frames are drawn before anything is counted.
    Keep(&'a mut [f64]),
}

/// Simulate one chunk: its runs [`LANE_RUNS`] at a time, step by step,
/// folded into moments and quantile counts (or kept: see [`QuantileSink`])
/// at the written steps of [`Plan`], and into posture and path counts.
pub fn simulate_chunk(
    model: &Model,
    chunk: u64,
    runs_total: u64,
    runs_table: bool,
    scratch: &mut Scratch,
    mut quantiles: QuantileSink<'_>,
) -> ChunkOutput {
    let cells = model.layout.len();
    let partners = model.scenario.partners.len();
    let plan = Plan::new(&model.scenario);
    let mut moments = MomentBlock::new(plan.len() * cells);
    let mut postures = vec![0u64; crate::model::Posture::count(partners)];
    let mut paths = PathCounts::for_model(model);
    let mut runs_rows = String::new();
    let runs = chunk_runs(chunk, runs_total);
    let mut first = runs.start;
    while first < runs.end {
        let count = (runs.end - first).min(LANE_RUNS as u64) as usize;
        let (ws, rows) = (&mut scratch.lanes, &mut scratch.rows[..count * cells]);
        let tracks = &mut scratch.tracks[..count];
        tracks.iter_mut().for_each(RunTrack::reset);
        let weights = moments.next_run_weights(count);
        for k in 0..=model.steps() {
            let written = plan.row(k);
            match k {
                0 => model.start_lanes(first, count, ws),
                _ => model.advance(k - 1, ws),
            }
            model.record(ws, rows);
            for (lane, track) in tracks.iter_mut().enumerate() {
                let posture = model.posture_of(ws, lane).index(partners);
                track.observe(model, ws, lane, k, posture, written, &mut paths);
            }
            if let Some(w) = written {
                moments.add_columns(w * cells, rows, &weights);
                match &mut quantiles {
                    QuantileSink::Tally(tallies) => tallies.add_columns(w * cells, rows, count),
                    QuantileSink::Keep(kept) => {
                        let (per_cell, at) = (runs.end - runs.start, first - runs.start);
                        for (c, column) in
                            kept.chunks_exact_mut(per_cell as usize).skip(w * cells).take(cells).enumerate()
                        {
                            for lane in 0..count {
                                column[at as usize + lane] = rows[lane * cells + c];
                            }
                        }
                    }
                }
            }
        }
        moments.add_runs(count);
        for (r, (row, track)) in rows.chunks_exact(cells).zip(&*tracks).enumerate() {
            let posture = model.posture_of(ws, r);
            postures[posture.index(partners)] += 1;
            if runs_table {
                crate::output::tables::push_runs_row(&mut runs_rows, model, first + r as u64, posture, row, track);
            }
        }
        first += count as u64;
    }
    ChunkOutput { chunk, moments, postures, paths, runs_rows }
}

/// Per-worker scratch space for [`simulate_chunk`].
pub struct Scratch {
    /// The runs simulated side by side: one workspace of [`LANE_RUNS`] lanes.
    pub lanes: crate::model::Workspace,
    /// The values of the current step, one row per lane.
    pub rows: Vec<f64>,
    /// What each lane's path did so far.
    pub tracks: Vec<RunTrack>,
}

impl Scratch {
    pub fn new(model: &Model) -> Self {
        Self {
            lanes: model.workspace_lanes(LANE_RUNS),
            rows: vec![0.0; LANE_RUNS * model.layout.len()],
            tracks: vec![RunTrack::new(model); LANE_RUNS],
        }
    }
}

/// Continue `state` until its chunk range is done. `pool` decides the
/// number of threads; the result does not depend on it.
pub fn run_batch(
    model: &Model,
    mut state: BatchState,
    runs_table: bool,
    pool: &rayon::ThreadPool,
    hooks: Hooks<'_>,
) -> Result<BatchState, EngineError> {
    let threads = pool.current_num_threads().max(1);
    let mut window = threads as u64 * 2;
    let runs_total = state.runs;
    // A new batch first draws its quantile frames from the pilot (chunk 0);
    // a resumed state carries them. The pilot's own output is the batch's
    // chunk 0 when the batch has it, so it is simulated once.
    let mut pilot_out = None;
    if !state.framed {
        let keep = state.next_chunk == 0 && state.chunks.contains(&0);
        let (frames, values, out) = pool.install(|| pilot(model, runs_total, runs_table && keep));
        state.sketches = SketchSet::with_frames(frames);
        state.framed = true;
        if keep {
            // Counted now, folded into the state with chunk 0's moments.
            let mut tallies = TallySet::for_sketches(&state.sketches);
            tallies.add_cell_major(&values, chunk_runs(0, runs_total).count());
            (hooks.progress)(out.moments.n);
            pilot_out = Some((out, tallies));
        }
    }
    // One slot per worker thread, kept for the whole batch: its quantile
    // tallies and its scratch space (workspaces and step rows), so nothing
    // is re-allocated per window.
    let slots: Vec<Mutex<(TallySet, Scratch)>> =
        (0..threads).map(|_| Mutex::new((TallySet::for_sketches(&state.sketches), Scratch::new(model)))).collect();
    // Worker tallies hold exactly the runs of the windows folded since the
    // last flush, so after a flush the state is consistent.
    let flush = |state: &mut BatchState| {
        for slot in &slots {
            let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
            state.sketches.absorb(&s.0);
            s.0.clear();
        }
    };
    while state.next_chunk < state.chunks.end {
        if hooks.cancel.load(Ordering::Relaxed) {
            // Between windows everything computed is folded: save it.
            flush(&mut state);
            (hooks.on_checkpoint)(&state)?;
            return Err(EngineError::Cancelled);
        }
        let started = std::time::Instant::now();
        let first = state.next_chunk + u64::from(pilot_out.is_some());
        let batch: Vec<u64> = (first..(state.next_chunk + window).min(state.chunks.end)).collect();
        let computed: Vec<ChunkOutput> = pool.install(|| {
            batch
                .par_iter()
                .map(|&chunk| {
                    let slot = rayon::current_thread_index().unwrap_or(0) % slots.len();
                    let mut guard = slots[slot].lock().unwrap_or_else(|e| e.into_inner());
                    let (tallies, scratch) = &mut *guard;
                    let sink = QuantileSink::Tally(tallies);
                    let out = simulate_chunk(model, chunk, runs_total, runs_table, scratch, sink);
                    (hooks.progress)(out.moments.n);
                    out
                })
                .collect()
        });
        let (pilot_chunk, pilot_counts) = pilot_out.take().unzip();
        let outputs: Vec<ChunkOutput> = pilot_chunk.into_iter().chain(computed).collect();
        let batch_len = outputs.len() as u64;
        for out in &outputs {
            if let Some(i) = out.moments.cells.iter().position(|c| !(c.mean.is_finite() && c.m2.is_finite())) {
                let cells = model.layout.len();
                let runs = chunk_runs(out.chunk, runs_total);
                return Err(EngineError::NonFinite {
                    metric: model.layout.cells[i % cells].column(),
                    step: Plan::new(&model.scenario).steps[i / cells],
                    first_run: runs.start,
                    end_run: runs.end,
                });
            }
        }
        if let Some(counts) = pilot_counts {
            state.sketches.absorb(&counts);
        }
        let mut rows = String::new();
        for out in outputs {
            tree::push(&mut state.stack, out.chunk, out.moments);
            for (total, add) in state.postures.iter_mut().zip(&out.postures) {
                *total += add;
            }
            state.paths.absorb(&out.paths);
            rows.push_str(&out.runs_rows);
            state.next_chunk = out.chunk + 1;
        }
        window = next_window(window, batch_len, started.elapsed().as_secs_f64(), threads as u64);
        let checkpoint = (hooks.on_window)(&rows)?;
        // Also flush when the workers' byte counters have carried into
        // many buckets (long batches): the carries would otherwise grow to
        // one map entry per bucket. Counts are integers, so when they are
        // flushed never changes a result.
        let carried = slots.iter().map(|s| s.lock().map_or(0, |s| s.0.carried_buckets())).sum::<usize>();
        if checkpoint || state.is_complete() || carried > MAX_CARRIED_BUCKETS {
            flush(&mut state);
        }
        if checkpoint && !state.is_complete() {
            (hooks.on_checkpoint)(&state)?;
        }
    }
    Ok(state)
}

/// The pilot: chunk 0 of the batch simulated with its written values kept,
/// and the quantile frame of every statistics cell drawn from them (see
/// [`crate::stats::sketch`]). Every shard, thread count and machine
/// computes the same pilot, so the frames, and with them the counts, do not
/// depend on how the batch is split. Returns the frames, the kept values
/// (cell after cell) and chunk 0's output.
pub fn pilot(model: &Model, runs_total: u64, runs_table: bool) -> (Vec<Frame>, Vec<f64>, ChunkOutput) {
    let per_cell = chunk_runs(0, runs_total).count();
    let mut values = vec![0.0; timeline::stats_len(model) * per_cell];
    let mut scratch = Scratch::new(model);
    let out = simulate_chunk(model, 0, runs_total, runs_table, &mut scratch, QuantileSink::Keep(&mut values));
    let whole_batch = runs_total <= CHUNK_SIZE;
    let frames = values.par_chunks(per_cell.max(1)).map(|column| Frame::from_pilot(column, whole_batch)).collect();
    (frames, values, out)
}

/// Buckets with a pending carry, over all workers, above which the
/// workers' tallies are flushed into the state after a window (about 4 MB
/// of carries).
const MAX_CARRIED_BUCKETS: usize = 1 << 17;

/// Target wall time of one window of chunks: the longest a Ctrl-C waits.
pub const WINDOW_SECONDS: f64 = 0.5;

/// Chunks in the next window: as many as fit in [`WINDOW_SECONDS`] at the
/// measured pace, a multiple of the thread count between 1 and 64 chunks per
/// thread. Only scheduling depends on it, never the results.
pub fn next_window(window: u64, done: u64, seconds: f64, threads: u64) -> u64 {
    if done < window || seconds <= 0.0 {
        return window;
    }
    let per_chunk_per_thread = seconds * threads as f64 / done as f64;
    let per_thread = (WINDOW_SECONDS / per_chunk_per_thread).floor().clamp(1.0, 64.0) as u64;
    per_thread * threads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// Runs side by side, folded step by step, give the same moments,
    /// quantile counts, postures and runs table as simulating each run's
    /// whole trajectory on its own and folding it row by row. The chunk is
    /// cut short (not a multiple of `LANE_RUNS`) and has a hazard event.
    #[test]
    fn side_by_side_runs_equal_one_run_at_a_time() {
        let mut scenario = Scenario::load(std::path::Path::new("tests/fixtures/tiny.toml")).expect("fixture loads");
        let runs_total = CHUNK_SIZE + LANE_RUNS as u64 + 7;
        scenario.runs = runs_total;
        let model = Model::new(&scenario);
        let chunk = 1;
        let mut scratch = Scratch::new(&model);
        let mut tallies = TallySet::new(&vec![Frame::default(); model.trajectory_len()]);
        let out = simulate_chunk(&model, chunk, runs_total, true, &mut scratch, QuantileSink::Tally(&mut tallies));

        let (mut ws, mut trajectory) = (model.workspace(), vec![0.0; model.trajectory_len()]);
        let mut moments = MomentBlock::new(model.trajectory_len());
        let mut sketches = SketchSet::new(model.trajectory_len());
        assert_eq!(timeline::stats_len(&model), model.trajectory_len(), "tiny writes every step");
        let mut postures = vec![0u64; out.postures.len()];
        let mut rows = String::new();
        let cells = model.layout.len();
        for run in chunk_runs(chunk, runs_total) {
            let posture = model.run(run, &mut ws, &mut trajectory);
            postures[posture.index(scenario.partners.len())] += 1;
            moments.add_row(&trajectory);
            sketches.add_row(&trajectory);
            let last: Vec<String> =
                trajectory[trajectory.len() - cells..].iter().map(|&v| crate::output::tables::float(v)).collect();
            rows.push_str(&format!("{run},{},{}\n", posture.label(&scenario), last.join(",")));
        }
        assert_eq!(out.moments.n, LANE_RUNS as u64 + 7);
        assert_eq!(out.moments, moments);
        assert_eq!(out.postures, postures);
        // The path columns that follow the horizon values are checked in tests/time_resolved.rs.
        let prefix = |text: &str| -> String {
            text.lines().map(|l| l.split(',').take(2 + cells).collect::<Vec<_>>().join(",") + "\n").collect()
        };
        assert_eq!(prefix(&out.runs_rows), rows);
        let mut counted = SketchSet::new(model.trajectory_len());
        counted.absorb(&tallies);
        assert_eq!(counted, sketches);
    }
}
