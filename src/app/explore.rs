//! `hedgesim explore EXPERIMENT.toml`: an experiment over uncertain
//! assumptions, from file to result (or shard) directory.
//!
//! Steps: read the experiment file ([`crate::explore::spec`]); load its base
//! scenario with the `extends` chain; check every parameter path at the ends
//! of its range (or at every grid level) and every outcome against the
//! scenario, all before any work, with errors located in the experiment
//! file; build the design; simulate the points (all of them, or shard K of
//! N's contiguous range) in parallel windows, each point's runs with common
//! random numbers, appending the `points.csv` rows and the outcome means to
//! the working directory with a checkpoint at most every
//! [`CHECKPOINT_EVERY`] (see [`super::explore_resume`]: Ctrl-C and SIGTERM
//! keep the finished points and `--resume` continues from them); then
//! either analyse each outcome and the discovery question and publish
//! `design.csv`, `points.csv`, `sensitivity.csv`, `discovery.csv`,
//! `report.md`, `report.html` and `manifest.json` atomically, like `run`,
//! or publish a shard for `hedgesim merge` ([`super::explore_merge`]).

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;

use super::explore_merge;
use super::explore_resume::{self, MEANS_BIN, POINTS_PART, Resumed};
use super::run::{CHECKPOINT_EVERY, capped_threads, default_out, open_rows, parse_shard, resume_hint};
use super::{AppError, Claimed, check_out, claim_out, io_err, progress_bar, sha256_hex};
use crate::cli::ExploreArgs;
use crate::explore::evaluate::{OutcomeStats, Probe, probe_for, simulate_point, summarize_values};
use crate::explore::plan::{self, BuiltDesign, Sensitivity};
use crate::explore::prim::{describe_box, trajectory_rows};
use crate::explore::spec::{Experiment, Outcome, parse_experiment};
use crate::model::Model;
use crate::output::atomic::{create_new, open_nofollow, sync_parent, tmp_name, write_file};
use crate::output::manifest::{ShardInfo, utc_now_rfc3339};
use crate::report::{self, data as rdata};
use crate::scenario::diagnostics::{Diagnostic, ScenarioErrors};
use crate::scenario::{Layers, Override, ParamPath, Scenario};

/// Largest number of Monte Carlo runs a design point may have.
pub const MAX_RUNS_PER_POINT: u64 = 1_000_000;
/// Largest number of design points an experiment may have.
pub const MAX_POINTS: usize = 10_000_000;
/// Points simulated per thread between two appends to the working files and
/// two checks of Ctrl-C.
const WINDOW_POINTS: usize = 64;

/// Everything checked and ready to simulate.
pub(super) struct Prepared {
    /// Recorded in the manifest as `experiment_file`.
    pub(super) experiment_file: String,
    /// Recorded in the manifest as `scenario_file`.
    pub(super) scenario_file: String,
    pub(super) experiment: Experiment,
    pub(super) experiment_bytes: Vec<u8>,
    layers: Layers,
    pub(super) base: Scenario,
    pub(super) base_bytes: Vec<u8>,
    paths: Vec<ParamPath>,
    probes: Vec<Probe>,
    pub(super) outcomes: Vec<Outcome>,
    pub(super) built: BuiltDesign,
    pub(super) runs: u64,
    pub(super) seed: u64,
}

/// How a result was computed: the manifest's timing fields.
pub(super) struct Timing {
    pub(super) threads: usize,
    pub(super) wall_time_s: f64,
    pub(super) started_at: String,
}

/// Why a simulation stopped before its last point.
enum Stop {
    /// Ctrl-C or SIGTERM: the finished points are checkpointed.
    Signal(AppError),
    /// A working file could not be written: `--resume` continues once fixed.
    Write(AppError),
    /// A design point cannot be simulated: starting over would fail again.
    Model(AppError),
}

/// The design points of shard `k` of `n` (0-based): a contiguous range in
/// design order, split like [`crate::engine::shard_chunks`] splits chunks.
pub fn point_range(points: usize, shard: Option<ShardInfo>) -> Range<usize> {
    let Some(s) = shard else { return 0..points };
    let at = |k: u64| usize::try_from(points as u128 * u128::from(k) / u128::from(s.count)).unwrap_or(points);
    at(s.index)..at(s.index + 1)
}

/// Execute `hedgesim explore`. Returns the line to print on success.
pub fn explore(args: &ExploreArgs) -> Result<String, AppError> {
    let prepared = prepare(args)?;
    for w in &prepared.built.warnings {
        if !args.quiet {
            eprintln!("warning: {w}");
        }
    }
    let points = prepared.built.values.len();
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if let Some(s) = shard.filter(|s| s.count > points as u64) {
        return Err(AppError::Invalid(format!(
            "--shard {}/{}: the design has only {points} points; use at most {points} shards",
            s.index, s.count
        )));
    }
    let range = point_range(points, shard);
    if args.threads == Some(0) {
        return Err(AppError::Invalid("--threads 0: use at least 1".into()));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (threads, warning) = capped_threads(args.threads, range.len() as u64, "design points", cores);
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&prepared.experiment.name, shard));
    check_out(&out, args.force, None)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| io_err("cannot create", parent, e))?;
    }
    let meta = explore_resume::checkpoint_meta(&prepared, shard);
    let Claimed { claim, published } = claim_out(&out)?;
    if args.resume && published {
        claim.release();
        return Ok(format!(
            "the interrupted explore had already finished; its result is now in {}/ (nothing left to resume)",
            out.display()
        ));
    }
    // Under the lock, after recovery: nothing can change `out` meanwhile.
    let copies = [("experiment.toml", prepared.experiment_bytes.as_slice()), ("scenario.toml", &prepared.base_bytes)];
    let ready = check_out(&out, args.force, None)
        .and_then(|()| explore_resume::prepare_dir(&claim, args.resume, &meta, &copies, prepared.outcomes.len()));
    let resumed = match ready {
        Ok(r) => r,
        Err(e) => {
            claim.release();
            return Err(e);
        }
    };
    let partial = claim.dir().to_path_buf();
    let resumed_points = resumed.done;
    let started_at = utc_now_rfc3339();
    let start = Instant::now();
    let means = match simulate(&prepared, range.clone(), &partial, threads, args.quiet, resumed) {
        Ok(means) => means,
        Err(Stop::Signal(e)) => return Err(e),
        Err(Stop::Write(e)) => return Err(resume_hint(e, &partial)),
        Err(Stop::Model(e)) => {
            // Deterministic: a resume would fail the same way.
            let _ = claim.clear();
            claim.release();
            return Err(e);
        }
    };
    let timing = Timing { threads, wall_time_s: start.elapsed().as_secs_f64(), started_at };
    let finished = match shard {
        Some(s) => explore_merge::finish_shard(&prepared, &partial, s, range.clone(), &timing),
        None => finish_result(&prepared, &partial, &means, &[partial.join(POINTS_PART)], &timing),
    };
    if let Err(e) = finished {
        // The report's charts/ would stop --resume (it uses regular files only).
        let _ = fs::remove_dir_all(partial.join("charts"));
        return Err(resume_hint(e, &partial));
    }
    claim.publish(&out, args.force).map_err(|e| io_err("cannot move the result into", &out, e))?;
    Ok(summary_line(&prepared, &out, shard, range.clone(), range.len() - resumed_points, &timing))
}

/// What `explore` says on success: where, how much this invocation
/// computed (a resumed explore counts only its part), how fast.
fn summary_line(
    p: &Prepared,
    out: &Path,
    shard: Option<ShardInfo>,
    range: Range<usize>,
    computed: usize,
    timing: &Timing,
) -> String {
    let wall = timing.wall_time_s;
    let partner_steps = computed as f64 * p.runs as f64 * p.base.steps() as f64 * p.base.partners.len() as f64;
    let part = shard.map_or_else(String::new, |s| {
        let points = p.built.values.len();
        format!("shard {}/{} of {points} points, points {}..{}: ", s.index, s.count, range.start, range.end)
    });
    format!(
        "wrote {}/ ({part}{computed} points x {} runs in {wall:.2} s: {:.1} M partner-steps/s, {} threads)",
        out.display(),
        p.runs,
        partner_steps / wall / 1e6,
        timing.threads
    )
}

/// Read and check everything; nothing is written.
fn prepare(args: &ExploreArgs) -> Result<Prepared, AppError> {
    let path = &args.experiment;
    let experiment_bytes = fs::read(path)
        .map_err(|e| AppError::Invalid(format!("cannot read experiment file {}: {e}", path.display())))?;
    prepare_bytes(path, experiment_bytes, None, args.runs, args.seed)
}

/// Check an experiment given as bytes (read from `path`) with its base
/// scenario (the experiment's `scenario`, relative to `path`, unless
/// `scenario` names the file), `runs` and `seed` overriding the
/// experiment's; nothing is written.
pub(super) fn prepare_bytes(
    path: &Path,
    experiment_bytes: Vec<u8>,
    scenario: Option<&Path>,
    runs: Option<u64>,
    seed: Option<u64>,
) -> Result<Prepared, AppError> {
    let source = String::from_utf8(experiment_bytes.clone())
        .map_err(|_| AppError::Invalid(format!("{}: not UTF-8 text; save the experiment as UTF-8", path.display())))?;
    let experiment = parse_experiment(path, &source).map_err(|e| AppError::Invalid(e.to_string()))?;
    let locate = |span: std::ops::Range<usize>, key: &str, message: String, help: &str| {
        let d = Diagnostic::new(span, key.to_string(), message).with_help(help.to_string());
        AppError::Invalid(ScenarioErrors::new(path, &source, vec![d]).to_string())
    };
    let scenario_path = scenario
        .map_or_else(|| path.parent().unwrap_or(Path::new("")).join(&experiment.scenario.value), Path::to_path_buf);
    let layers = Layers::load(&scenario_path, &[]).map_err(|e| {
        locate(
            experiment.scenario.span.clone(),
            &experiment.scenario.key,
            format!("the base scenario does not load: {e}"),
            "the path is relative to the experiment file",
        )
    })?;
    let mut base = layers.scenario().map_err(|e| {
        locate(
            experiment.scenario.span.clone(),
            &experiment.scenario.key,
            format!("the base scenario is invalid:\n{e}"),
            "fix the scenario first (`hedgesim validate`)",
        )
    })?;
    let base_bytes = match layers.flattened() {
        Some(text) if !layers.is_single_file() => text.into_bytes(),
        _ => fs::read(&scenario_path).map_err(|e| io_err("cannot read", &scenario_path, e))?,
    };
    let runs = runs.or(experiment.runs).unwrap_or(base.runs);
    if runs == 0 || runs > MAX_RUNS_PER_POINT {
        return Err(AppError::Invalid(format!(
            "{}: runs per point must be in [1, {MAX_RUNS_PER_POINT}], got {runs}",
            path.display()
        )));
    }
    let seed = seed.or(experiment.seed).unwrap_or(base.seed);
    base.seed = seed;
    base.runs = runs;

    // Parameter paths: every path must resolve, and the ends of its range
    // (every level of a grid) must be valid values.
    let mut paths = Vec::new();
    for (i, p) in experiment.parameters.iter().enumerate() {
        let parsed = ParamPath::parse(&p.path.value)
            .map_err(|e| locate(p.path.span.clone(), &p.path.key, e, "e.g. `partner.RU.leverage`"))?;
        let probe_values: Vec<f64> = match &p.range {
            Some(r) if p.levels.is_none() => vec![r.value.0, r.value.1],
            _ => p.grid_values(),
        };
        for value in probe_values {
            let o = Override::number(&parsed, value);
            if let Err(e) = layers.with_overrides(&[o]).scenario() {
                let first = e.items.first().map(|l| {
                    let d = &l.diagnostic;
                    match &d.help {
                        Some(h) => format!("{} ({h})", d.message),
                        None => d.message.clone(),
                    }
                });
                let span = p.range.as_ref().map_or(p.path.span.clone(), |r| r.span.clone());
                return Err(locate(
                    if first.as_deref().is_some_and(|m| m.contains("unknown") || m.contains("no ")) {
                        p.path.span.clone()
                    } else {
                        span
                    },
                    &format!("parameter[{i}]"),
                    format!("`{}` = {value}: {}", p.path.value, first.unwrap_or_default()),
                    "use a path of `hedgesim run --set` and a range inside the key's valid range",
                ));
            }
        }
        paths.push(parsed);
    }
    let outcomes: Vec<Outcome> = experiment.all_outcomes().into_iter().map(|o| o.value.clone()).collect();
    let mut probes = Vec::new();
    for o in experiment.all_outcomes() {
        probes.push(probe_for(&o.value, &base).map_err(|e| {
            locate(o.span.clone(), &o.key, format!("outcome `{}`: {e}", o.value), "see docs/explore.md, Outcomes")
        })?);
    }
    let points = experiment.points();
    if points == 0 || points > MAX_POINTS {
        return Err(AppError::Invalid(format!(
            "{}: the design has {points} points; it must have between 1 and {MAX_POINTS}",
            path.display()
        )));
    }
    let built = plan::build_design(&experiment, seed)
        .map_err(|e| AppError::Invalid(format!("{}: cannot build the design: {e}", path.display())))?;
    // A design too small for its estimator is refused now, not after the
    // simulation (the values here only exercise the estimator's checks).
    let ramp: Vec<f64> = (0..built.values.len()).map(|i| i as f64).collect();
    if let Err(e) = plan::sensitivity(&experiment, &built, &ramp, seed, 0) {
        return Err(AppError::Invalid(format!(
            "{}: the {} design has {} points, too few for its sensitivity measures: {e}; add samples, levels or parameters",
            path.display(),
            experiment.design.name(),
            built.values.len()
        )));
    }
    Ok(Prepared {
        experiment_file: path.display().to_string(),
        scenario_file: scenario_path.display().to_string(),
        experiment,
        experiment_bytes,
        layers,
        base,
        base_bytes,
        paths,
        probes,
        outcomes,
        built,
        runs,
        seed,
    })
}

/// The scenario of one design point.
fn point_scenario(p: &Prepared, values: &[f64]) -> Result<Scenario, String> {
    let overrides: Vec<Override> = p.paths.iter().zip(values).map(|(path, &v)| Override::number(path, v)).collect();
    let mut s = p.layers.with_overrides(&overrides).scenario().map_err(|e| e.to_string())?;
    s.seed = p.seed;
    s.runs = p.runs;
    Ok(s)
}

/// Simulate the points of `range` not yet done in windows, appending
/// their `points.csv` rows to `points.part` and their outcome means to
/// `means.bin` in design order, with a checkpoint at most every
/// [`CHECKPOINT_EVERY`], on Ctrl-C or SIGTERM, and at the end. Returns
/// each point's outcome means (`means[outcome][point - range.start]`).
fn simulate(
    p: &Prepared,
    range: Range<usize>,
    partial: &Path,
    threads: usize,
    quiet: bool,
    resumed: Resumed,
) -> Result<Vec<Vec<f64>>, Stop> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Stop::Write(AppError::Failed(format!("cannot start {threads} threads: {e}"))))?;
    let cancel = super::signals::cancel_flag();
    let (points_path, means_path) = (partial.join(POINTS_PART), partial.join(MEANS_BIN));
    let mut points_len = resumed.points_len;
    let mut rows = open_rows(&points_path, points_len).map_err(Stop::Write)?;
    let mut means_file =
        open_rows(&means_path, explore_resume::means_len(resumed.done, p.outcomes.len())).map_err(Stop::Write)?;
    let bar = progress_bar(
        range.len() as u64,
        quiet,
        "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} points ({rate} points/s, ETA {eta})",
    );
    bar.set_position(resumed.done as u64);
    let mut means = resumed.means;
    let mut first = range.start + resumed.done;
    let mut last_checkpoint = Instant::now();
    loop {
        let stop = cancel.load(Ordering::SeqCst);
        if stop || first == range.end || last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            // The rows and means must be durable before the checkpoint that counts them.
            rows.sync_all()
                .and_then(|()| means_file.sync_all())
                .and_then(|()| explore_resume::write_checkpoint(partial, first - range.start, points_len))
                .map_err(|e| Stop::Write(io_err("cannot write a checkpoint into", partial, e)))?;
            last_checkpoint = Instant::now();
        }
        if first == range.end {
            break;
        }
        if stop {
            bar.finish_and_clear();
            let (how, error): (_, fn(String) -> AppError) = if super::signals::terminated() {
                ("terminated (SIGTERM)", AppError::Terminated)
            } else {
                ("interrupted", AppError::Interrupted)
            };
            return Err(Stop::Signal(error(format!(
                "{how}: no result written; {} finished design points are checkpointed in {}. \
                 Rerun the same command with --resume to continue.",
                first - range.start,
                partial.display()
            ))));
        }
        let end = (first + WINDOW_POINTS * threads).min(range.end);
        let window = simulate_window(p, first..end, &pool, &bar);
        let mut text = String::new();
        let mut bytes = Vec::new();
        for (offset, stats) in window.into_iter().enumerate() {
            let point = first + offset;
            let stats = stats.map_err(|e| {
                Stop::Model(AppError::Failed(format!("design point {point} gives an invalid scenario (a combination of parameter values the ends of the ranges did not reveal):\n{e}")))
            })?;
            for (o, (outcome, s)) in p.outcomes.iter().zip(&stats).enumerate() {
                points_row(&mut text, point, outcome, s);
                if !s.mean.is_finite() {
                    return Err(Stop::Model(AppError::Failed(format!(
                        "design point {point}: outcome {outcome} is not finite"
                    ))));
                }
                means[o].push(s.mean);
                bytes.extend_from_slice(&s.mean.to_le_bytes());
            }
        }
        rows.write_all(text.as_bytes()).map_err(|e| Stop::Write(io_err("cannot write", &points_path, e)))?;
        means_file.write_all(&bytes).map_err(|e| Stop::Write(io_err("cannot write", &means_path, e)))?;
        points_len += text.len() as u64;
        first = end;
    }
    bar.finish_and_clear();
    Ok(means)
}

/// Simulate the design points `window` in parallel: each point's outcome
/// statistics, or why its scenario is invalid.
fn simulate_window(
    p: &Prepared,
    window: Range<usize>,
    pool: &rayon::ThreadPool,
    bar: &indicatif::ProgressBar,
) -> Vec<Result<Vec<OutcomeStats>, String>> {
    pool.install(|| {
        window
            .into_par_iter()
            .map(|i| {
                let scenario = point_scenario(p, &p.built.values[i])?;
                let model = Model::new(&scenario);
                let values = simulate_point(&model, p.runs, &p.probes);
                let stats: Vec<OutcomeStats> = values
                    .iter()
                    .zip(&p.outcomes)
                    .map(|(v, o)| summarize_values(v, matches!(o, Outcome::Posture { .. })))
                    .collect();
                bar.inc(1);
                Ok(stats)
            })
            .collect()
    })
}

/// Write `points.csv` into `dir`: the header, then the rows of `parts` in
/// order (streamed; written to a temporary file, synced and renamed).
pub(super) fn assemble_points(dir: &Path, parts: &[PathBuf]) -> Result<(), AppError> {
    let path = dir.join("points.csv");
    let tmp = tmp_name(&path);
    let written = create_new(&tmp).and_then(|mut file| {
        file.write_all(POINTS_HEADER.as_bytes())?;
        for part in parts {
            std::io::copy(&mut open_nofollow(part, fs::OpenOptions::new().read(true))?, &mut file)?;
        }
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)).and_then(|()| sync_parent(&path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("cannot write", &path, e));
    }
    Ok(())
}

/// Write a complete result into `partial`: `points.csv` from `parts`, the
/// analysis of `means`, the copies of the inputs and, last, the manifest;
/// the working files go.
pub(super) fn finish_result(
    p: &Prepared,
    partial: &Path,
    means: &[Vec<f64>],
    parts: &[PathBuf],
    timing: &Timing,
) -> Result<(), AppError> {
    assemble_points(partial, parts)?;
    write_analysis(p, partial, means, timing)
}

/// Said of a parameter whose measure is exactly zero.
const NO_EFFECT: &str = " (no effect at all: if this is a 2023 level such as access, trade_cost, \
    sanctions_risk, priority or a corridor's cost, calibration absorbs it; vary a change from a later \
    year instead, e.g. an event of scenarios/policy-levers.toml; see docs/explore.md)";

const POINTS_HEADER: &str = "point,outcome,metric,subject,year,n,mean,sd,se,ci95_low,ci95_high,p05,p50,p95\n";

/// A float that every CSV reader infers as a float (`1.0`, never `1`);
/// empty for undefined values.
fn float(value: Option<f64>) -> String {
    value.map_or_else(String::new, crate::output::tables::float)
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

fn points_row(out: &mut String, point: usize, outcome: &Outcome, s: &OutcomeStats) {
    let q = |i: usize| float(s.quantiles.map(|q| q[i]));
    let _ = writeln!(
        out,
        "{point},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        field(&outcome.to_string()),
        outcome.metric(),
        field(&outcome.subject()),
        outcome.year(),
        s.n,
        float(Some(s.mean)),
        float(s.sd),
        float(s.se),
        float(s.ci95.map(|c| c.0)),
        float(s.ci95.map(|c| c.1)),
        q(0),
        q(1),
        q(2)
    );
}

/// `design.csv`: `point` and one column per parameter path.
fn design_csv(p: &Prepared) -> String {
    let mut out = String::from("point");
    for path in &p.paths {
        out.push(',');
        out.push_str(&field(&path.to_string()));
    }
    out.push('\n');
    for (i, row) in p.built.values.iter().enumerate() {
        let _ = write!(out, "{i}");
        for v in row {
            let _ = write!(out, ",{}", float(Some(*v)));
        }
        out.push('\n');
    }
    out
}

/// The sensitivity measures of every outcome, as `sensitivity.csv` (with
/// rows for pairs `a:b` when second-order Sobol' indices are asked for),
/// plus a ranked Markdown summary for the report.
struct Analysis {
    csv: String,
    markdown: String,
    /// The indices for the HTML report's charts (Sobol' and Morris designs).
    charted: Option<rdata::Sensitivity>,
}

fn analyse(p: &Prepared, means: &[Vec<f64>]) -> Analysis {
    let names: Vec<String> = p.paths.iter().map(ToString::to_string).collect();
    let mut csv = String::new();
    let mut md = String::new();
    let mut sobol_rows: Vec<rdata::SobolIndex> = Vec::new();
    let mut morris_rows: Vec<rdata::MorrisIndex> = Vec::new();
    for (o, (outcome, y)) in p.outcomes.iter().zip(means).enumerate() {
        let label = field(&outcome.to_string());
        let measures = match plan::sensitivity(&p.experiment, &p.built, y, p.seed, o) {
            Ok(m) => m,
            Err(e) => {
                // The simulated values are kept (points.csv); only this
                // outcome's measures are missing, and the report says why.
                let _ = writeln!(md, "### `{outcome}`\n\nNo sensitivity measures: {e}.\n");
                continue;
            }
        };
        let mut ranked: Vec<(f64, String)> = Vec::new();
        match &measures {
            Sensitivity::Sobol(s) => {
                let pairs = s.s2.as_ref().zip(s.s2_conf.as_ref());
                let extra = if pairs.is_some() { ",," } else { "" };
                if csv.is_empty() {
                    csv.push_str("outcome,parameter,S1,S1_ci95,ST,ST_ci95");
                    csv.push_str(if pairs.is_some() { ",S2,S2_ci95\n" } else { "\n" });
                }
                for (j, name) in names.iter().enumerate() {
                    let _ = writeln!(
                        csv,
                        "{label},{},{},{},{},{}{extra}",
                        field(name),
                        float(Some(s.s1[j])),
                        float(Some(s.s1_conf[j])),
                        float(Some(s.st[j])),
                        float(Some(s.st_conf[j]))
                    );
                    sobol_rows.push(rdata::SobolIndex {
                        outcome: outcome.to_string(),
                        parameter: name.clone(),
                        s1: s.s1[j],
                        s1_ci95: Some(s.s1_conf[j]),
                        st: s.st[j],
                        st_ci95: Some(s.st_conf[j]),
                    });
                    ranked.push((
                        s.st[j],
                        format!("ST {:.3} ± {:.3}, S1 {:.3} ± {:.3}", s.st[j], s.st_conf[j], s.s1[j], s.s1_conf[j]),
                    ));
                }
                if let Some((s2, conf)) = pairs {
                    for j in 0..names.len() {
                        for m in j + 1..names.len() {
                            let pair = format!("{}:{}", names[j], names[m]);
                            let _ = writeln!(
                                csv,
                                "{label},{},,,,,{},{}",
                                field(&pair),
                                float(Some(s2[j][m])),
                                float(Some(conf[j][m]))
                            );
                        }
                    }
                }
            }
            Sensitivity::Morris(m) => {
                if csv.is_empty() {
                    csv.push_str("outcome,parameter,mu,mu_star,sigma,mu_star_ci95\n");
                }
                for (j, name) in names.iter().enumerate() {
                    let _ = writeln!(
                        csv,
                        "{label},{},{},{},{},{}",
                        field(name),
                        float(Some(m.mu[j])),
                        float(Some(m.mu_star[j])),
                        float(Some(m.sigma[j])),
                        float(Some(m.mu_star_conf[j]))
                    );
                    morris_rows.push(rdata::MorrisIndex {
                        outcome: outcome.to_string(),
                        parameter: name.clone(),
                        mu_star: m.mu_star[j],
                        sigma: m.sigma[j],
                        mu_star_ci95: Some(m.mu_star_conf[j]),
                    });
                    ranked.push((
                        m.mu_star[j],
                        format!(
                            "mu* {:.4} ± {:.4}, mu {:.4}, sigma {:.4}",
                            m.mu_star[j], m.mu_star_conf[j], m.mu[j], m.sigma[j]
                        ),
                    ));
                }
            }
            Sensitivity::Regression { src, spearman } => {
                if csv.is_empty() {
                    csv.push_str("outcome,parameter,src,src_ci95,r2,spearman,spearman_ci95_low,spearman_ci95_high\n");
                }
                for (j, name) in names.iter().enumerate() {
                    let _ = writeln!(
                        csv,
                        "{label},{},{},{},{},{},{},{}",
                        field(name),
                        float(Some(src.beta[j])),
                        float(Some(src.beta_conf[j])),
                        float(Some(src.r2)),
                        float(Some(spearman.rho[j])),
                        float(Some(spearman.low[j])),
                        float(Some(spearman.high[j]))
                    );
                    ranked.push((
                        src.beta[j].abs(),
                        format!(
                            "SRC {:+.3} ± {:.3} (R² {:.2}), Spearman {:+.3} [{:.3}, {:.3}]",
                            src.beta[j], src.beta_conf[j], src.r2, spearman.rho[j], spearman.low[j], spearman.high[j]
                        ),
                    ));
                }
            }
        }
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| ranked[b].0.total_cmp(&ranked[a].0));
        let (lo, hi) = y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let _ = writeln!(
            md,
            "### `{outcome}`\n\nAcross the design, the mean over runs ranges from {lo:.4} to {hi:.4}. Drivers, ranked:\n"
        );
        for (rank, &j) in order.iter().enumerate() {
            let none = if ranked[j].0 == 0.0 { NO_EFFECT } else { "" };
            let _ = writeln!(md, "{}. `{}`: {}{none}", rank + 1, names[j], ranked[j].1);
        }
        md.push('\n');
    }
    let charted = if !sobol_rows.is_empty() {
        Some(rdata::Sensitivity::Sobol(sobol_rows))
    } else if !morris_rows.is_empty() {
        Some(rdata::Sensitivity::Morris(morris_rows))
    } else {
        None
    };
    Analysis { csv, markdown: md, charted }
}

/// Analyse, and write every file but `points.csv` into `partial`; the
/// working files of the simulation go before `manifest.json`, written last.
fn write_analysis(p: &Prepared, partial: &Path, means: &[Vec<f64>], timing: &Timing) -> Result<(), AppError> {
    let write = |name: &str, bytes: &[u8]| {
        write_file(&partial.join(name), bytes).map_err(|e| io_err("cannot write", &partial.join(name), e))
    };
    write("design.csv", design_csv(p).as_bytes())?;
    let analysis = analyse(p, means);
    write("sensitivity.csv", analysis.csv.as_bytes())?;
    let names: Vec<String> = p.paths.iter().map(ToString::to_string).collect();
    let (discovery_md, charted_discovery) = discovery(p, partial, &names, means)?;
    let html = explore_html(p, &names, means, analysis.charted.clone(), charted_discovery)?;
    super::report::write_report(partial, &html, false)?;
    let manifest = json!({
        "format_version": 1,
        "engine": "hedgesim",
        "engine_version": env!("CARGO_PKG_VERSION"),
        "kind": "explore",
        "experiment": p.experiment.name,
        "experiment_file": p.experiment_file,
        "experiment_sha256": sha256_hex(&p.experiment_bytes),
        "scenario": p.base.name,
        "scenario_file": p.scenario_file,
        "scenario_sha256": sha256_hex(&p.base_bytes),
        "design": p.experiment.design.name(),
        "points": p.built.values.len(),
        "runs_per_point": p.runs,
        "seed": p.seed,
        "parameters": names,
        "outcomes": p.outcomes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "threads": timing.threads,
        "wall_time_s": timing.wall_time_s,
        "started_at": timing.started_at,
        "resolved_scenario": crate::scenario::named::resolved_scenario(&p.base),
    });
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Failed(e.to_string()))?;
    write("experiment.toml", &p.experiment_bytes)?;
    write("scenario.toml", &p.base_bytes)?;
    let mut report = format!(
        "# Experiment `{}`\n\nBase scenario `{}`, design `{}` with {} points x {} runs (seed {}), {} parameters:\n\n",
        p.experiment.name,
        p.base.name,
        p.experiment.design.name(),
        p.built.values.len(),
        p.runs,
        p.seed,
        names.len()
    );
    for (path, param) in names.iter().zip(&p.experiment.parameters) {
        let range = param.range.as_ref().map_or("levels".to_string(), |r| format!("[{}, {}]", r.value.0, r.value.1));
        let _ = writeln!(report, "- `{path}` in {range}");
    }
    let _ = writeln!(report, "\n## Drivers of each outcome\n\n{}{discovery_md}", analysis.markdown);
    write("report.md", report.as_bytes())?;
    explore_resume::remove_work_files(partial).map_err(|e| io_err("cannot clean up", partial, e))?;
    write("manifest.json", &json)
}

/// PRIM on the discovery outcome, if the experiment asks: writes
/// `discovery.csv` and returns the report's section (which says why when
/// PRIM cannot run, e.g. no point meets the condition).
fn discovery(
    p: &Prepared,
    partial: &Path,
    names: &[String],
    means: &[Vec<f64>],
) -> Result<(String, Option<rdata::Discovery>), AppError> {
    let Some(d) = &p.experiment.discovery else { return Ok((String::new(), None)) };
    let o = p.outcomes.iter().position(|o| *o == d.outcome.value).unwrap_or(0);
    let Some(result) = plan::discover(&p.experiment, &p.built, &means[o]) else { return Ok((String::new(), None)) };
    let case = format!("`{}` {}", d.outcome.value, d.condition.value);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let md = format!(
                "## Scenario discovery (PRIM)\n\nCases of interest: design points where {case}. Not possible: {e}.\n"
            );
            return Ok((md, None));
        }
    };
    let charted = rdata::Discovery {
        outcome: format!("{} {}", d.outcome.value, d.condition.value),
        steps: result
            .trajectory
            .iter()
            .map(|s| rdata::PeelStep {
                coverage: s.coverage,
                density: s.density,
                mass: s.mass,
                restricted: s.restricted,
            })
            .collect(),
        chosen: result.chosen,
        limits: names
            .iter()
            .zip(&result.chosen_box().limits)
            .map(|(n, &(low, high))| rdata::BoxLimit { parameter: n.clone(), low, high })
            .collect(),
    };
    let mut csv =
        String::from("step,phase,coverage,density,mass,n,cases,restricted,chosen,parameter,low,high,is_restricted\n");
    for r in trajectory_rows(&result, names) {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.step,
            r.phase,
            float(Some(r.coverage)),
            float(Some(r.density)),
            float(Some(r.mass)),
            r.n,
            r.cases,
            r.restricted,
            r.chosen,
            field(r.parameter),
            float(Some(r.low)),
            float(Some(r.high)),
            r.is_restricted
        );
    }
    let path = partial.join("discovery.csv");
    write_file(&path, csv.as_bytes()).map_err(|e| io_err("cannot write", &path, e))?;
    let md = format!(
        "## Scenario discovery (PRIM)\n\nCases of interest: design points where {case} ({} of {} points). {}.\n\n\
         The peeling trajectory (coverage against density, every box) is in `discovery.csv`.\n",
        result.trajectory[0].k,
        result.trajectory[0].n,
        describe_box(&result, names, &case)
    );
    Ok((md, Some(charted)))
}

/// Points drawn in the report's scatter charts at most (the first ones, in
/// design order); every point is in `points.csv`.
const CHART_POINTS: usize = 2_000;

/// The HTML report: sensitivity charts, each outcome against each
/// parameter, and PRIM's trade-off.
fn explore_html(
    p: &Prepared,
    names: &[String],
    means: &[Vec<f64>],
    sensitivity: Option<rdata::Sensitivity>,
    discovery: Option<rdata::Discovery>,
) -> Result<report::Report, AppError> {
    let shown = p.built.values.len().min(CHART_POINTS);
    let points = p
        .outcomes
        .iter()
        .zip(means)
        .flat_map(|(o, y)| {
            y.iter().take(shown).enumerate().map(move |(point, &mean)| rdata::PointOutcome {
                point,
                outcome: o.to_string(),
                mean,
            })
        })
        .collect();
    let input = report::ExploreInputs {
        name: p.experiment.name.clone(),
        sensitivity,
        design: Some(rdata::Design { parameters: names.to_vec(), points: p.built.values[..shown].to_vec() }),
        points,
        discovery,
    };
    report::explore_report(&input).map_err(|e| AppError::Failed(format!("cannot draw the report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_points_into_contiguous_ranges_like_run_splits_chunks() {
        assert_eq!(point_range(12, None), 0..12);
        for (points, n) in [(12, 3), (14, 3), (5, 5), (1000, 7), (256, 1)] {
            let ranges: Vec<Range<usize>> =
                (0..n).map(|k| point_range(points, Some(ShardInfo { index: k, count: n }))).collect();
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges[ranges.len() - 1].end, points);
            for (k, pair) in ranges.windows(2).enumerate() {
                assert_eq!(pair[0].end, pair[1].start, "{points} points, {n} shards: a gap after shard {k}");
            }
            let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1 && *lo > 0, "{points} points, {n} shards: sizes {sizes:?}");
            // The rule of `engine::shard_chunks`, with points for chunks.
            for (k, r) in ranges.iter().enumerate() {
                let chunks = crate::engine::shard_chunks(points as u64 * crate::engine::CHUNK_SIZE, k as u64, n);
                assert_eq!((r.start as u64, r.end as u64), (chunks.start, chunks.end));
            }
        }
    }
}
