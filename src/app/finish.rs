//! Turning a completed batch state into the files of a result directory;
//! shared by `run` and `merge` so both produce the same bytes.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::engine::timeline::{PathCounts, Plan, sample_path, stats_len};
use crate::engine::{chunk_count, tree};
use crate::model::Model;
use crate::output::atomic::{create_new, tmp_name, write_file};
use crate::output::manifest::Manifest;
use crate::output::report::report_md;
use crate::output::tables::{outcomes_csv, runs_header, summary_csv, survival_csv, trajectories_csv};
use crate::stats::sketch::SketchSet;

use super::AppError;

/// Completed statistics of a whole batch.
pub struct Totals {
    pub nodes: Vec<tree::Node>,
    pub sketches: SketchSet,
    pub postures: Vec<u64>,
    pub paths: PathCounts,
}

/// `trajectories.csv` of the first `[outputs] trajectories` runs, simulated
/// again here (a few runs; the same arithmetic as the batch); `None` if off.
fn trajectories(model: &Model) -> Option<String> {
    let s = &model.scenario;
    let k = s.outputs.trajectories.min(s.runs);
    if k == 0 {
        return None;
    }
    let plan = Plan::new(s);
    let mut ws = model.workspace();
    let paths: Vec<_> = (0..k).map(|run| (run, sample_path(model, &plan, run, &mut ws))).collect();
    Some(trajectories_csv(model, &paths))
}

/// Write summary, outcomes, survival, trajectories (if asked for),
/// manifest, report.md and the HTML report (`report.html`, `charts/`) into
/// `dir`. The runs table, if any, is already there as `runs.csv`.
pub fn write_result(dir: &Path, model: &Model, totals: Totals, manifest: &Manifest) -> Result<(), AppError> {
    let chunks = chunk_count(model.scenario.runs);
    let moments = tree::root(totals.nodes, chunks, stats_len(model))
        .map_err(|e| AppError::Failed(format!("internal error: incomplete batch state ({e})")))?;
    let summary = summary_csv(model, &moments, &totals.sketches, &totals.paths);
    let outcomes = outcomes_csv(model, &totals.postures);
    let survival = survival_csv(model, &totals.paths, moments.n);
    if let Some(text) = trajectories(model) {
        let path = dir.join("trajectories.csv");
        write_file(&path, text.as_bytes()).map_err(|e| super::io_err("cannot write", &path, e))?;
    }
    let report = report_md(model, &moments, &totals.sketches, &outcomes, manifest.wall_time_s);
    let json = serde_json::to_string_pretty(manifest).map_err(|e| AppError::Failed(e.to_string()))?;
    for (name, bytes) in [
        ("summary.csv", summary.as_bytes()),
        ("outcomes.csv", outcomes.as_bytes()),
        ("survival.csv", survival.as_bytes()),
        ("report.md", report.as_bytes()),
        ("manifest.json", json.as_bytes()),
    ] {
        write_file(&dir.join(name), bytes).map_err(|e| super::io_err("cannot write", &dir.join(name), e))?;
    }
    super::report::write_run_report(dir, &model.scenario, manifest, &summary, &outcomes)
}

/// Build `runs.csv` in `dir` from a header and row files, in order (through
/// `runs.csv.tmp`, created new and removed again on error).
pub fn assemble_runs_table(dir: &Path, model: &Model, parts: &[&Path]) -> io::Result<()> {
    let target = dir.join("runs.csv");
    let tmp = tmp_name(&target);
    let written = create_new(&tmp).and_then(|file| {
        let mut out = io::BufWriter::new(file);
        out.write_all(runs_header(model).as_bytes())?;
        for part in parts {
            io::copy(&mut File::open(part)?, &mut out)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
