//! Paired differences at every step, by re-simulating both results.
//!
//! `runs.csv` stores each run's values at the horizon only, so a run-by-run
//! (common random numbers) comparison of an earlier year needs the runs'
//! trajectories. They are not stored (they would be `runs x steps x cells`
//! numbers); instead both scenarios are simulated again from the
//! `scenario.toml` copies in their result directories, with the seed and
//! run count of their manifests, run `i` of A beside run `i` of B, and the
//! moments of the differences `b - a` are accumulated for every cell.
//!
//! This is exact, not an approximation: the engine is deterministic, and the
//! caller verifies it by checking that the re-simulated means and sds of A
//! and B equal, bit for bit, those in their `summary.csv` files (the moments
//! are folded in the engine's own chunks and merge tree). A mismatch means
//! a changed file and is refused by the caller; when the re-simulation
//! cannot be done (an edited scenario copy, another engine version, too
//! much work), the caller falls back to Welch's t and says the values are
//! unverified.
//!
//! Results that cannot be paired are re-simulated one by one
//! ([`resimulate_one`]) so that their summary.csv can still be checked
//! before it is used.

use std::path::Path;

use rayon::prelude::*;

use crate::engine::{chunk_count, chunk_runs, tree};
use crate::model::Model;
use crate::output::manifest::Manifest;
use crate::scenario::{Scenario, parse_scenario};
use crate::stats::moments::MomentBlock;

/// Largest batch re-simulated automatically, in partner-steps per side
/// (about 10 s of work on two cores for the baseline at 100,000 runs).
pub const MAX_PARTNER_STEPS: u64 = 1_000_000_000;

/// Moments over runs of A, of B and of B - A, for every step x cell.
pub struct PairedSteps {
    pub a: MomentBlock,
    pub b: MomentBlock,
    pub diff: MomentBlock,
    /// Column names (`metric` or `metric.subject`) in layout order.
    pub columns: Vec<String>,
}

impl PairedSteps {
    /// Index of the cell `column` at `step`, if it exists.
    pub fn index(&self, step: u64, column: &str) -> Option<usize> {
        let c = self.columns.iter().position(|x| x == column)?;
        let i = step as usize * self.columns.len() + c;
        (i < self.diff.cells.len()).then_some(i)
    }
}

fn load(dir: &Path) -> Result<Scenario, String> {
    let manifest: Manifest = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{}: manifest.json is not readable by this engine", dir.display()))?;
    if manifest.engine_version != env!("CARGO_PKG_VERSION") {
        return Err(format!(
            "{} was made by engine {}, this is {}",
            dir.display(),
            manifest.engine_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let path = dir.join("scenario.toml");
    let bytes = std::fs::read(&path).map_err(|_| format!("{} has no scenario.toml", dir.display()))?;
    if crate::app::sha256_hex(&bytes) != manifest.scenario_sha256 {
        return Err(format!("{} does not match the manifest's scenario_sha256", path.display()));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
    let mut scenario = parse_scenario(&path, &text).map_err(|e| format!("{} is not valid: {e}", path.display()))?;
    scenario.runs = manifest.runs;
    scenario.seed = manifest.seed;
    Ok(scenario)
}

/// One result re-simulated: moments over runs of every step x cell.
pub struct Steps {
    pub moments: MomentBlock,
    /// Column names (`metric` or `metric.subject`) in layout order.
    pub columns: Vec<String>,
}

impl Steps {
    /// Index of the cell `column` at `step`, if it exists.
    pub fn index(&self, step: u64, column: &str) -> Option<usize> {
        let c = self.columns.iter().position(|x| x == column)?;
        let i = step as usize * self.columns.len() + c;
        (i < self.moments.cells.len()).then_some(i)
    }
}

/// Re-simulate one result (to check its summary.csv when it cannot be
/// paired with the other). `Err` says why it was not done.
pub fn resimulate_one(dir: &Path) -> Result<Steps, String> {
    let s = load(dir)?;
    let work = s.runs * s.steps() as u64 * s.partners.len() as u64;
    if work > MAX_PARTNER_STEPS {
        return Err(format!(
            "re-simulating {} runs would take long ({work} partner-steps, limit {MAX_PARTNER_STEPS})",
            s.runs
        ));
    }
    let m = Model::new(&s);
    let len = m.trajectory_len();
    let runs = s.runs;
    let chunks: Vec<u64> = (0..chunk_count(runs)).collect();
    let mut stack = Vec::new();
    for window in chunks.chunks(64) {
        let blocks: Vec<MomentBlock> = window
            .par_iter()
            .map_init(
                || (m.workspace(), vec![0.0; len]),
                |(w, t), &chunk| {
                    let mut x = MomentBlock::new(len);
                    for run in chunk_runs(chunk, runs) {
                        m.run(run, w, t);
                        x.add_row(t);
                    }
                    x
                },
            )
            .collect();
        for (&chunk, x) in window.iter().zip(blocks) {
            tree::push(&mut stack, chunk, x);
        }
    }
    let moments = tree::root(stack, chunk_count(runs), len).map_err(|e| e.to_string())?;
    Ok(Steps { moments, columns: m.layout.cells.iter().map(|c| c.column()).collect() })
}

/// Re-simulate A and B run by run. `Err` says why it was not done.
pub fn resimulate(a: &Path, b: &Path) -> Result<PairedSteps, String> {
    let (sa, sb) = (load(a)?, load(b)?);
    let work = sa.runs * sa.steps() as u64 * sa.partners.len() as u64;
    if work > MAX_PARTNER_STEPS {
        return Err(format!(
            "re-simulating {} runs for the other steps would take long ({work} partner-steps per side, \
             limit {MAX_PARTNER_STEPS})",
            sa.runs
        ));
    }
    let (ma, mb) = (Model::new(&sa), Model::new(&sb));
    if ma.layout.cells != mb.layout.cells || ma.trajectory_len() != mb.trajectory_len() || sa.runs != sb.runs {
        return Err("the two scenarios record different metrics".into());
    }
    let len = ma.trajectory_len();
    let runs = sa.runs;
    let chunks: Vec<u64> = (0..chunk_count(runs)).collect();
    let mut stacks = (Vec::new(), Vec::new(), Vec::new());
    for window in chunks.chunks(64) {
        let blocks: Vec<(MomentBlock, MomentBlock, MomentBlock)> = window
            .par_iter()
            .map_init(
                || (ma.workspace(), mb.workspace(), vec![0.0; len], vec![0.0; len], vec![0.0; len]),
                |(wa, wb, ta, tb, d), &chunk| {
                    let (mut xa, mut xb, mut xd) =
                        (MomentBlock::new(len), MomentBlock::new(len), MomentBlock::new(len));
                    for run in chunk_runs(chunk, runs) {
                        ma.run(run, wa, ta);
                        mb.run(run, wb, tb);
                        for ((d, x), y) in d.iter_mut().zip(ta.iter()).zip(tb.iter()) {
                            *d = y - x;
                        }
                        xa.add_row(ta);
                        xb.add_row(tb);
                        xd.add_row(d);
                    }
                    (xa, xb, xd)
                },
            )
            .collect();
        for (&chunk, (xa, xb, xd)) in window.iter().zip(blocks) {
            tree::push(&mut stacks.0, chunk, xa);
            tree::push(&mut stacks.1, chunk, xb);
            tree::push(&mut stacks.2, chunk, xd);
        }
    }
    let n = chunk_count(runs);
    let root = |s| tree::root(s, n, len).map_err(|e| e.to_string());
    Ok(PairedSteps {
        a: root(stacks.0)?,
        b: root(stacks.1)?,
        diff: root(stacks.2)?,
        columns: ma.layout.cells.iter().map(|c| c.column()).collect(),
    })
}
