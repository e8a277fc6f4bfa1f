//! `hedgesim score RESULT OBSERVED.csv`: the file edge of
//! [`crate::score`] (reading the result and the observations, printing,
//! writing `--out`); the scoring itself is pure and lives there.
//!
//! Everything is read and checked before anything is written: a bad
//! observations file or result is invalid input (exit 2, nothing written).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::{AppError, io_err};
use crate::cli::{OutputFormat, ScoreArgs};
use crate::output::atomic::write_file;
use crate::score::{self, Score, render, result};

/// Execute `hedgesim score`; returns the table for stdout.
pub fn score(args: &ScoreArgs) -> Result<String, AppError> {
    let s = compute(&args.result, &args.observed)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        for (name, text) in render::output_files(&s) {
            let path = dir.join(name);
            write_file(&path, text.as_bytes()).map_err(|e| io_err("cannot write", &path, e))?;
        }
    }
    Ok(match args.format {
        OutputFormat::Markdown => render::markdown(&s),
        OutputFormat::Csv => render::rows_csv(&s),
        OutputFormat::Json => render::json(&s) + "\n",
    })
}

/// Read a result directory and an observations file and score them.
pub fn compute(result_dir: &Path, observed: &Path) -> Result<Score, AppError> {
    let invalid = AppError::Invalid;
    let obs_name = observed.display().to_string();
    let obs_text = std::fs::read_to_string(observed)
        .map_err(|e| invalid(format!("cannot read observations file {obs_name}: {e}")))?;
    let observations = score::parse_observations(&obs_name, &obs_text).map_err(invalid)?;

    let manifest_path = result_dir.join("manifest.json");
    let manifest_name = manifest_path.display().to_string();
    let manifest_text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        invalid(format!(
            "cannot read {manifest_name}: {e}\n  help: pass a result directory written by `hedgesim run` or `hedgesim merge`"
        ))
    })?;
    let meta = result::parse_manifest(&manifest_name, &manifest_text).map_err(invalid)?;
    let plan = score::plan(&meta, &observations, &obs_name).map_err(invalid)?;

    let summary_path = result_dir.join("summary.csv");
    let summary = open(&summary_path)?;
    let cells = result::read_summary(&summary_path.display().to_string(), summary, &plan.cells).map_err(invalid)?;

    // Only the columns of cells summary.csv has: an unknown metric or
    // subject is then reported by `score` with the observation's line.
    let last = meta.last_step();
    let runs_columns: Vec<String> = plan
        .runs_columns
        .iter()
        .filter(|c| cells.keys().any(|(step, m, sub)| *step == last && score::display_key(m, sub) == **c))
        .cloned()
        .collect();
    let runs_path = result_dir.join("runs.csv");
    let runs = if runs_columns.is_empty() || !runs_path.exists() {
        Default::default()
    } else {
        let reader = open(&runs_path)?;
        result::read_runs(&runs_path.display().to_string(), reader, &runs_columns, meta.runs).map_err(invalid)?
    };
    score::score(&meta, &observations, &cells, &runs, &obs_name).map_err(invalid)
}

fn open(path: &Path) -> Result<BufReader<File>, AppError> {
    File::open(path).map(BufReader::new).map_err(|e| {
        AppError::Invalid(format!(
            "cannot read {}: {e}\n  help: the result directory is incomplete; re-run `hedgesim run`",
            path.display()
        ))
    })
}
