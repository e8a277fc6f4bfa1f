//! `hedgesim report`, and the report written with every result: reading a
//! result directory's files, calling the pure [`crate::report`], and
//! writing `report.html` and `charts/*.svg`.
//!
//! `run` and `merge` write the report into the working directory before it
//! is published (see [`write_run_report`]), `compare --out` next to its
//! tables; `hedgesim report DIR` rebuilds one result's report (for results
//! of older versions) and `hedgesim report DIR DIR... --out OUT` writes one
//! page across several results.

use std::fs;
use std::path::{Path, PathBuf};

use super::{AppError, io_err};
use crate::cli::ReportArgs;
use crate::output::atomic::sync_parent;
use crate::output::manifest::Manifest;
use crate::report::{
    CompareInputs, MetricKey, Report, ReportError, ResultEntry, RunInputs, ScenarioInfo, Summary, data, key_metrics,
    multi_report, run_report,
};
use crate::scenario::{Scenario, parse_scenario};

fn failed(e: ReportError) -> AppError {
    AppError::Failed(format!("cannot build the report: {e}"))
}

/// Write a report's files into `dir` (`report.html`, `charts/*.svg`), each
/// written whole under a temporary name and renamed into place.
///
/// With `sync`, every file is made durable first, concurrently: one
/// `fsync` after another would cost each its own journal commit (10-20 ms
/// each on the development machine, a quarter of a 1,000-run baseline),
/// concurrent ones share commits. `run` and `merge` pass `sync = false`:
/// they write into the working directory that is published whole
/// afterwards, and the report is derived data: after a power loss the
/// tables (which are synced) are intact and `hedgesim report DIR` rebuilds
/// the report; an `fsync` per chart would cost more than the 5% of a
/// 1,000-run baseline the report may add (docs/performance.md).
pub fn write_report(dir: &Path, report: &Report, sync: bool) -> Result<(), AppError> {
    let charts = dir.join("charts");
    fs::create_dir_all(&charts).map_err(|e| io_err("cannot create", &charts, e))?;
    let files: Vec<(PathBuf, PathBuf, &[u8])> = report
        .files()
        .into_iter()
        .map(|(name, bytes)| (dir.join(&name), dir.join(format!("{name}.tmp")), bytes))
        .collect();
    for (path, tmp, bytes) in &files {
        fs::write(tmp, bytes).map_err(|e| io_err("cannot write", path, e))?;
    }
    if !sync {
        for (path, tmp, _) in &files {
            fs::rename(tmp, path).map_err(|e| io_err("cannot write", path, e))?;
        }
        return Ok(());
    }
    let synced: Vec<std::io::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            files.iter().map(|(_, tmp, _)| scope.spawn(move || fs::File::open(tmp)?.sync_all())).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(std::io::Error::other("sync thread panicked"))))
            .collect()
    });
    for ((path, tmp, _), result) in files.iter().zip(synced) {
        result.map_err(|e| io_err("cannot write", path, e))?;
        fs::rename(tmp, path).map_err(|e| io_err("cannot write", path, e))?;
    }
    for d in [&charts, &dir.to_path_buf()] {
        sync_parent(&d.join("x")).map_err(|e| io_err("cannot sync", d, e))?;
    }
    Ok(())
}

/// Build and write the report of a finished result whose tables are in
/// memory (`run` and `merge`, into the working directory).
pub fn write_run_report(
    dir: &Path,
    scenario: &Scenario,
    manifest: &Manifest,
    summary_csv: &str,
    outcomes_csv: &str,
) -> Result<(), AppError> {
    let info = ScenarioInfo::from_scenario(scenario);
    let summary =
        Summary::parse_metrics(summary_csv, &crate::report::run_report_metric).map_err(|e| failed(e.into()))?;
    let outcomes = data::parse_outcomes(outcomes_csv).map_err(|e| failed(e.into()))?;
    let report =
        run_report(&RunInputs { info: &info, manifest, summary: &summary, outcomes: &outcomes }).map_err(failed)?;
    write_report(dir, &report, false)
}

/// A result directory read for a report.
struct Loaded {
    dir: PathBuf,
    manifest: Manifest,
    info: ScenarioInfo,
    summary: Summary,
    outcomes_csv: Option<String>,
}

fn read_text(dir: &Path, name: &str, what: &str) -> Result<String, AppError> {
    let path = dir.join(name);
    fs::read_to_string(&path)
        .map_err(|e| AppError::Invalid(format!("{}: cannot read {name} ({e}); {what}", dir.display())))
}

/// Read a result directory: manifest, scenario copy, summary (outcomes if
/// present). With `lenient`, an unreadable scenario copy is replaced by
/// what the manifest says (compare accepts edited copies; its report must
/// not fail on them).
fn load(dir: &Path) -> Result<Loaded, AppError> {
    load_with(dir, false)
}

fn load_with(dir: &Path, lenient: bool) -> Result<Loaded, AppError> {
    let hint = "give a result directory written by `hedgesim run` or `hedgesim merge`";
    if !dir.is_dir() {
        return Err(AppError::Invalid(format!("{}: not a directory; {hint}", dir.display())));
    }
    let manifest: Manifest = serde_json::from_str(&read_text(dir, "manifest.json", hint)?).map_err(|e| {
        AppError::Invalid(format!("{}: manifest.json is unreadable ({e}); {hint}", dir.join("manifest.json").display()))
    })?;
    if manifest.shard.is_some() {
        return Err(AppError::Invalid(format!(
            "{}: a shard directory; merge the shards with `hedgesim merge` and report on the merged result",
            dir.display()
        )));
    }
    let scenario_path = dir.join("scenario.toml");
    let info = match read_text(dir, "scenario.toml", hint)
        .and_then(|text| parse_scenario(&scenario_path, &text).map_err(|e| AppError::Invalid(e.to_string())))
    {
        Ok(scenario) => ScenarioInfo::from_scenario(&scenario),
        Err(_) if lenient => ScenarioInfo::from_manifest(&manifest),
        Err(e) => return Err(e),
    };
    let summary = Summary::parse(&read_text(dir, "summary.csv", hint)?)
        .map_err(|e| AppError::Invalid(format!("{}: {e}", dir.display())))?;
    let outcomes_csv = fs::read_to_string(dir.join("outcomes.csv")).ok();
    Ok(Loaded { dir: dir.to_path_buf(), manifest, info, summary, outcomes_csv })
}

/// Refuse to write over a `report.html` that hedgesim did not write.
fn check_target(out: &Path) -> Result<(), AppError> {
    let page = out.join("report.html");
    match fs::read_to_string(&page) {
        Ok(text) if !text.contains("<meta name=\"generator\" content=\"hedgesim") => Err(AppError::Invalid(format!(
            "{} exists and was not written by hedgesim; choose another --out directory",
            page.display()
        ))),
        _ => Ok(()),
    }
}

/// The metrics to chart: `--metric` names (each must exist in some result),
/// or the key metrics of the first result.
fn metrics(args: &ReportArgs, loaded: &[Loaded]) -> Result<Vec<MetricKey>, AppError> {
    if args.metrics.is_empty() {
        let first = &loaded[0];
        return Ok(key_metrics(&first.info, &first.summary));
    }
    let mut keys = Vec::new();
    for name in &args.metrics {
        let key = MetricKey::parse(name);
        let matching: Vec<MetricKey> = loaded
            .iter()
            .flat_map(|l| l.summary.series.iter())
            .filter(|s| s.metric == key.metric && (key.subject.is_empty() || s.subject == key.subject))
            .map(|s| MetricKey { metric: s.metric.clone(), subject: s.subject.clone() })
            .collect();
        if matching.is_empty() {
            let mut known: Vec<String> = loaded[0].summary.series.iter().map(|s| s.metric.clone()).collect();
            known.dedup();
            return Err(AppError::Invalid(format!(
                "--metric {name}: no such metric in the results; use a metric (`trade_share`) or a cell (`trade_share.RU`); metrics: {}",
                known.join(", ")
            )));
        }
        for m in matching {
            if !keys.contains(&m) {
                keys.push(m);
            }
        }
    }
    Ok(keys)
}

/// Execute `hedgesim report`.
pub fn report(args: &ReportArgs) -> Result<String, AppError> {
    let loaded = args.results.iter().map(|d| load(d)).collect::<Result<Vec<_>, _>>()?;
    let out = match (&args.out, loaded.len()) {
        (Some(out), _) => out.clone(),
        (None, 1) => loaded[0].dir.clone(),
        (None, _) => PathBuf::from("results").join("report"),
    };
    let keys = metrics(args, &loaded)?;
    check_target(&out)?;
    let report = if loaded.len() == 1 && args.metrics.is_empty() {
        let l = &loaded[0];
        let text = l.outcomes_csv.as_deref().unwrap_or("posture,count,share,ci95_low,ci95_high\n");
        let outcomes =
            data::parse_outcomes(text).map_err(|e| AppError::Invalid(format!("{}: {e}", l.dir.display())))?;
        run_report(&RunInputs { info: &l.info, manifest: &l.manifest, summary: &l.summary, outcomes: &outcomes })
    } else {
        let names: Vec<String> = loaded.iter().map(|l| l.info.name.clone()).collect();
        let entries: Vec<ResultEntry> = loaded
            .into_iter()
            .map(|l| {
                let unique = names.iter().filter(|n| **n == l.info.name).count() == 1;
                let label = if unique { l.info.name.clone() } else { l.dir.display().to_string() };
                ResultEntry { label, info: l.info, summary: l.summary }
            })
            .collect();
        multi_report(&entries, &keys)
    }
    .map_err(|e| match e {
        ReportError::Input(m) => AppError::Invalid(m),
        other => failed(other),
    })?;
    fs::create_dir_all(&out).map_err(|e| io_err("cannot create", &out, e))?;
    write_report(&out, &report, true)?;
    Ok(format!("wrote {}/report.html and {} charts in {}/charts/", out.display(), report.charts.len(), out.display()))
}

/// Build and write the report of a comparison into `dir`, from the
/// `compare.csv` text and the two result directories.
pub fn write_compare_report(dir: &Path, a: &Path, b: &Path, compare_csv: &str) -> Result<(), AppError> {
    let (la, lb) = (load_with(a, true)?, load_with(b, true)?);
    let diffs = data::parse_compare(compare_csv).map_err(|e| failed(e.into()))?;
    let (mut name_a, mut name_b) = (la.info.name.clone(), lb.info.name.clone());
    if name_a == name_b {
        name_a = format!("A ({})", a.display());
        name_b = format!("B ({})", b.display());
    }
    let input = CompareInputs {
        name_a: &name_a,
        name_b: &name_b,
        diffs: &diffs,
        summary_a: &la.summary,
        summary_b: &lb.summary,
        info: &la.info,
    };
    let report = crate::report::compare_report(&input).map_err(failed)?;
    check_target(dir)?;
    write_report(dir, &report, true)
}
