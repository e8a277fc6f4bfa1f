//! `hedgesim compare`: is scenario B different from scenario A, by how much,
//! and how sure can we be?
//!
//! A Monte Carlo result is a sample, so two results differ by chance even
//! when their scenarios do not. This module reads two result directories
//! written by `hedgesim run` (docs/outputs.md) and, for every metric x
//! subject at one step (default: the horizon) or at every step
//! (`--all-steps`), estimates the difference of means B - A with a 95%
//! confidence interval, a two-sided p-value, an effect size and a p-value
//! adjusted for the number of tests. Posture frequencies at the horizon are
//! compared as proportions. It is pure: it reads files and returns a
//! [`Comparison`]; [`render`] and [`output_files`] turn that into text, and
//! the caller prints or writes it.
//!
//! # Common random numbers: paired or Welch
//!
//! The engine aligns random streams across scenarios: run i of any scenario
//! with the same seed, run count, steps and partners draws the same shocks.
//! The two results are then paired samples, and the run-by-run differences
//! d_i = b_i - a_i have far less variance than either sample, so the paired
//! test detects much smaller effects (the method of common random numbers;
//! Law, *Simulation Modeling and Analysis*, 5th ed., 2015, section 11.2).
//! Per-run values are stored only at the horizon (`runs.csv`); earlier steps
//! are paired by re-simulating both scenarios ([`resim`]), so:
//!
//! - **paired** (when both manifests agree on seed, runs, steps, partners
//!   and shard and both directories have `runs.csv`; horizon rows from
//!   `runs.csv`, other rows from the re-simulation when it reproduces
//!   `summary.csv` bit for bit):
//!   Student's paired t on d_i ("Student" 1908, *Biometrika* 6:1-25): mean
//!   d, s_d, se = s_d / sqrt(n), CI = mean -/+ t(0.975, n-1) se, two-sided
//!   p from Student's t with n - 1 df. As `scipy.stats.ttest_rel`.
//! - **welch** (every other row, or when re-simulation is not possible): Welch's t from the summary statistics
//!   (n, mean, sd) of `summary.csv` (Welch 1947, *Biometrika* 34:28-35),
//!   se = sqrt(sA^2/nA + sB^2/nB), Welch-Satterthwaite df
//!   (Satterthwaite 1946, *Biometrics Bulletin* 2:110-114). As
//!   `scipy.stats.ttest_ind(equal_var=False)`.
//!
//! With zero standard error (every run identical on both sides, as at step
//! 0 or when a result is compared with itself), a zero difference gets
//! p = 1 and CI [0, 0] and a nonzero one p = 0 and CI [diff, diff]. With
//! one run on a side (or one complete pair), p and CI are undefined.
//!
//! # Effect size, multiplicity, postures
//!
//! - Hedges' g (Hedges 1981, *J. Educ. Stat.* 6:107-128): (mB - mA) /
//!   s_pooled x J, s_pooled the pooled sd of the two samples, J = 1 - 3 /
//!   (4 (nA + nB) - 9) (Borenstein et al. 2009, *Introduction to
//!   Meta-Analysis*, eq. 4.22-4.23). It is computed from the two samples in
//!   both modes, so it measures the populations, not the pairing, and is
//!   comparable across modes. Rows are sorted by |g|, largest first.
//! - Holm's step-down adjustment (Holm 1979, *Scand. J. Stat.* 6:65-70),
//!   over every defined p-value of the comparison (metric rows and posture
//!   rows together; with `--all-steps`, all steps): the family-wise error
//!   rate of the `*` marks (adjusted p < 0.05) is at most 5%.
//! - Postures (`outcomes.csv`): unpaired, the difference of shares with
//!   Newcombe's hybrid score interval (Newcombe 1998, *Stat. Med.*
//!   17:873-890, method 10) and the pooled two-proportion z test; paired
//!   (same conditions as above, from the `posture` column of `runs.csv`),
//!   McNemar's exact test (McNemar 1947, *Psychometrika* 12:153-157; the
//!   binomial test of the discordant pairs, via `statrs`) with Newcombe's
//!   square-and-add interval for paired proportions (Newcombe 1998, *Stat.
//!   Med.* 17:2635-2650, method 10, in the form of Fagerland, Lydersen &
//!   Laake 2017, *Statistical Analysis of Contingency Tables*, 8.6).
//!
//! Distribution functions are those of `statrs`; [`stats`] holds the
//! formulas and their tests against SciPy and statsmodels.

mod error;
mod load;
mod render;
pub mod resim;
pub mod stats;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

pub use error::{CompareError, Side};
use load::{ResultDir, Runs, SummaryRow};
use stats::{Effect, Moments, PairedTable, TTest};

/// Adjusted p-values below this mark a row as significant (`*`).
pub const ALPHA: f64 = 0.05;

/// What to compare; built by the CLI from
/// `hedgesim compare RESULT_A RESULT_B [--year Y] [--metric NAME]... [--all-steps]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareOptions {
    /// RESULT_A, the baseline: differences are B - A.
    pub a: PathBuf,
    /// RESULT_B.
    pub b: PathBuf,
    /// Compare at this year instead of the horizon (exclusive with
    /// `all_steps`).
    pub year: Option<f64>,
    /// Only these metrics: `metric` (all subjects), `metric.subject`,
    /// `posture` or `posture.<label>`. Empty: everything.
    pub metrics: Vec<String>,
    /// Compare at every step (for plotting the difference over time).
    pub all_steps: bool,
}

/// How a row was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Run by run (common random numbers): paired t, McNemar.
    Paired,
    /// Independent samples: Welch's t, two-proportion z.
    Welch,
}

impl Mode {
    /// `paired` or `welch`, as in `compare.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paired => "paired",
            Mode::Welch => "welch",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The test behind a posture row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostureTest {
    /// McNemar's exact test on runs paired by index, Newcombe's paired CI.
    McnemarExact,
    /// Pooled two-proportion z test, Newcombe's hybrid score CI.
    TwoProportionZ,
}

impl PostureTest {
    /// `mcnemar_exact` or `two_proportion_z`.
    pub fn as_str(self) -> &'static str {
        match self {
            PostureTest::McnemarExact => "mcnemar_exact",
            PostureTest::TwoProportionZ => "two_proportion_z",
        }
    }
}

/// One result directory, as named in the output.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultInfo {
    /// The directory as given.
    pub path: PathBuf,
    /// Scenario name from `manifest.json`.
    pub scenario: String,
    /// Seed from `manifest.json`, as text.
    pub seed: String,
    /// Number of runs.
    pub runs: u64,
}

/// The comparison of one metric x subject at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Step (0 = base year).
    pub step: u64,
    /// Year of the step.
    pub year: f64,
    /// Metric name, e.g. `trade_share`.
    pub metric: String,
    /// Partner id or group name; empty for hedger metrics.
    pub subject: String,
    /// Observations in A (runs, or complete pairs when paired).
    pub n_a: u64,
    /// Observations in B.
    pub n_b: u64,
    /// Mean in A.
    pub mean_a: f64,
    /// Mean in B.
    pub mean_b: f64,
    /// B - A (the mean of the run-by-run differences when paired).
    pub diff: f64,
    /// 95% CI of `diff`, low end; `None` when undefined.
    pub ci95_low: Option<f64>,
    /// 95% CI of `diff`, high end.
    pub ci95_high: Option<f64>,
    /// Two-sided p-value of diff = 0.
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value over all tests of the comparison.
    pub p_holm: Option<f64>,
    /// Hedges' g of B - A; `None` when undefined (including zero spread
    /// with a nonzero difference, which sorts first).
    pub hedges_g: Option<f64>,
    /// Paired or Welch.
    pub mode: Mode,
}

impl Row {
    /// `metric` or `metric.subject`, the name `--metric` accepts.
    pub fn name(&self) -> String {
        load::column_name(&self.metric, &self.subject)
    }

    /// Holm-adjusted p < [`ALPHA`].
    pub fn significant(&self) -> bool {
        self.p_holm.is_some_and(|p| p < ALPHA)
    }
}

/// The comparison of one posture's frequency at the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostureRow {
    /// `hedging`, `aligned:<id>` or `dependent:<id>`.
    pub posture: String,
    /// Runs of A ending in this posture.
    pub count_a: u64,
    /// Runs of A.
    pub n_a: u64,
    /// count_a / n_a.
    pub share_a: f64,
    /// Runs of B ending in this posture.
    pub count_b: u64,
    /// Runs of B.
    pub n_b: u64,
    /// count_b / n_b.
    pub share_b: f64,
    /// share_b - share_a.
    pub diff: f64,
    /// 95% CI of `diff`, low end.
    pub ci95_low: Option<f64>,
    /// 95% CI of `diff`, high end.
    pub ci95_high: Option<f64>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value over all tests of the comparison.
    pub p_holm: Option<f64>,
    /// Paired (McNemar) or not (z test).
    pub mode: Mode,
    /// The test used.
    pub test: PostureTest,
}

impl PostureRow {
    /// Holm-adjusted p < [`ALPHA`].
    pub fn significant(&self) -> bool {
        self.p_holm.is_some_and(|p| p < ALPHA)
    }
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// RESULT_A (the baseline).
    pub a: ResultInfo,
    /// RESULT_B.
    pub b: ResultInfo,
    /// The step compared (the horizon with `all_steps`).
    pub step: u64,
    /// Its year.
    pub year: f64,
    /// Every step compared (rows carry their own step and year).
    pub all_steps: bool,
    /// The horizon step K.
    pub horizon_step: u64,
    /// The horizon year.
    pub horizon_year: f64,
    /// The mode at the compared step (the horizon with `all_steps`).
    pub mode: Mode,
    /// Why that mode, in words.
    pub reason: String,
    /// Metric rows, sorted by |Hedges' g| (by step first with `all_steps`).
    pub rows: Vec<Row>,
    /// Posture rows in the order of outcomes.csv (empty unless the horizon
    /// is compared).
    pub postures: Vec<PostureRow>,
    /// Number of p-values in the Holm family.
    pub tests: usize,
    /// Things the reader should know (rows only in one result, fallbacks).
    pub notes: Vec<String>,
}

impl Comparison {
    /// One line naming A and B, the year, the mode and the reason; the
    /// first line of the Markdown rendering, and what the CLI should print
    /// to stderr for the other formats.
    pub fn headline(&self) -> String {
        render::headline(self)
    }
}

/// Output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Markdown report (the default on stdout).
    Markdown,
    /// `compare.csv` (metric rows only; postures are in the JSON,
    /// the Markdown and `compare_postures.csv`).
    Csv,
    /// `compare.json`: everything.
    Json,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "markdown" | "md" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format `{s}`: use markdown, csv or json")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Markdown => "markdown",
            Format::Csv => "csv",
            Format::Json => "json",
        })
    }
}

/// Render a comparison as text (no I/O).
pub fn render(c: &Comparison, f: Format) -> String {
    match f {
        Format::Markdown => render::markdown(c),
        Format::Csv => render::csv(c),
        Format::Json => render::json(c),
    }
}

/// The files `--out DIR` writes, as (file name, contents): `compare.csv`,
/// `compare_postures.csv`, `compare.json` and `compare.md`.
pub fn output_files(c: &Comparison) -> Vec<(&'static str, String)> {
    vec![
        ("compare.csv", render::csv(c)),
        ("compare_postures.csv", render::postures_csv(c)),
        ("compare.json", render::json(c)),
        ("compare.md", render::markdown(c)),
    ]
}

/// Compare two result directories. Errors for which
/// [`CompareError::is_input_error`] is true are the user's (exit code 2).
pub fn compare(opts: &CompareOptions) -> Result<Comparison, CompareError> {
    if opts.all_steps && opts.year.is_some() {
        return Err(CompareError::Options(
            "--year and --all-steps cannot be used together: --all-steps already \
             compares every year"
                .into(),
        ));
    }
    let a = load::load_dir(Side::A, &opts.a)?;
    let b = load::load_dir(Side::B, &opts.b)?;
    check_compatible(&a, &b)?;

    let horizon_step = a.manifest.steps;
    let horizon_year = year_of(&a, horizon_step).unwrap_or(a.manifest.horizon);
    let step = match opts.year {
        None => horizon_step,
        Some(y) => find_step(&a, y)?,
    };
    let year = year_of(&a, step).unwrap_or(f64::NAN);
    let filter = Filter::new(&opts.metrics, &a, &b)?;
    let in_steps = |s: u64| opts.all_steps || s == step;
    let horizon_compared = in_steps(horizon_step);
    let mut notes = Vec::new();

    // Rows of A at the compared steps, in file order, and their partners in B.
    let index_b = index(&b)?;
    let index_a = index(&a)?;
    let mut selected: Vec<(&SummaryRow, &SummaryRow)> = Vec::new();
    let mut only_a: Vec<String> = Vec::new();
    for ra in a.summary.iter().filter(|r| in_steps(r.step) && filter.keeps(r)) {
        match index_b.get(&(ra.step, ra.metric.as_str(), ra.subject.as_str())) {
            Some(rb) => selected.push((ra, rb)),
            None => only_a.push(format!("{} (step {})", ra.key(), ra.step)),
        }
    }
    let only_b: Vec<String> = b
        .summary
        .iter()
        .filter(|r| in_steps(r.step) && filter.keeps(r))
        .filter(|r| !index_a.contains_key(&(r.step, r.metric.as_str(), r.subject.as_str())))
        .map(|r| format!("{} (step {})", r.key(), r.step))
        .collect();
    for (list, which) in [(&only_a, "A"), (&only_b, "B")] {
        if !list.is_empty() {
            notes.push(format!(
                "{} row(s) of summary.csv only in {which}, not compared: {}",
                list.len(),
                abbreviate(list, 5)
            ));
        }
    }

    // Pairing (common random numbers) at the horizon.
    let why_not = unpairable(&a, &b);
    let paired_here = why_not.is_empty() && horizon_compared;
    let runs = if paired_here {
        let wanted: Vec<String> =
            selected.iter().filter(|(r, _)| r.step == horizon_step).map(|(r, _)| r.key()).collect();
        Some((load::load_runs(&a, &wanted)?, load::load_runs(&b, &wanted)?))
    } else {
        None
    };

    // Other steps: pair run by run by re-simulating both scenarios.
    let needs_resim = why_not.is_empty() && selected.iter().any(|(r, _)| r.step != horizon_step);
    let resimulated = if needs_resim {
        match resim::resimulate(&a.path, &b.path) {
            Ok(p) => Some(p),
            Err(why) => {
                notes.push(format!("steps before the horizon use Welch's t: {why}"));
                None
            }
        }
    } else {
        None
    };

    // Metric rows.
    let mut rows: Vec<(Row, Effect)> = Vec::with_capacity(selected.len());
    let mut fell_back = Vec::new();
    let mut not_reproduced = Vec::new();
    for (ra, rb) in &selected {
        if ra.step != horizon_step {
            if let Some(p) = &resimulated {
                match resimulated_row(p, ra, rb) {
                    Some(r) => rows.push(r),
                    None => {
                        not_reproduced.push(ra.key());
                        rows.push(welch_row(ra, rb));
                    }
                }
                continue;
            }
        }
        let pairs = match &runs {
            Some((runs_a, runs_b)) if ra.step == horizon_step => complete_pairs(runs_a, runs_b, &ra.key()),
            _ => None,
        };
        if runs.is_some() && ra.step == horizon_step && pairs.is_none() {
            fell_back.push(ra.key());
        }
        rows.push(match pairs {
            Some((xa, xb)) => paired_row(ra, &xa, &xb),
            None => welch_row(ra, rb),
        });
    }
    if !not_reproduced.is_empty() {
        notes.push(format!(
            "re-simulation did not reproduce summary.csv for {}: compared with Welch's t instead",
            abbreviate(&not_reproduced, 5)
        ));
    }
    if !fell_back.is_empty() {
        notes.push(format!(
            "no complete pair of runs in runs.csv for {}: compared with Welch's t instead",
            abbreviate(&fell_back, 5)
        ));
    }

    // Posture rows.
    let mut postures = Vec::new();
    if horizon_compared {
        postures = posture_rows(&a, &b, runs.as_ref(), &filter, &mut notes);
    } else if filter.wants_postures() {
        notes.push(format!(
            "posture frequencies are recorded at the horizon ({}) only, so they are not \
             compared at year {}",
            render::year_text(horizon_year),
            render::year_text(year)
        ));
    }
    if rows.is_empty() && postures.is_empty() {
        return Err(CompareError::Mismatch("the two results have no metric in common at the compared step".into()));
    }

    // Holm over every p-value of the comparison.
    let family: Vec<Option<f64>> =
        rows.iter().map(|(r, _)| r.p_value).chain(postures.iter().map(|p| p.p_value)).collect();
    let tests = family.iter().filter(|p| p.is_some()).count();
    let adjusted = stats::holm(&family);
    for ((r, _), p) in rows.iter_mut().zip(&adjusted) {
        r.p_holm = *p;
    }
    for (r, p) in postures.iter_mut().zip(adjusted.iter().skip(rows.len())) {
        r.p_holm = *p;
    }

    // Largest effect first (an infinite one before all); by step first
    // with --all-steps. The sort is stable: ties keep file order.
    let rank = |e: &Effect| match e {
        Effect::Infinite => (0, 0.0),
        Effect::G(g) => (1, -g.abs()),
        Effect::Undefined => (2, 0.0),
    };
    rows.sort_by(|(x, ex), (y, ey)| {
        let (rx, gx) = rank(ex);
        let (ry, gy) = rank(ey);
        x.step.cmp(&y.step).then(rx.cmp(&ry)).then(gx.total_cmp(&gy))
    });

    let (mode, reason) = mode_and_reason(&a, &why_not, opts.all_steps, step, year, horizon_year, resimulated.is_some());
    let info = |d: &ResultDir| ResultInfo {
        path: d.path.clone(),
        scenario: d.manifest.scenario.clone(),
        seed: d.manifest.seed_text(),
        runs: d.manifest.runs,
    };
    Ok(Comparison {
        a: info(&a),
        b: info(&b),
        step,
        year,
        all_steps: opts.all_steps,
        horizon_step,
        horizon_year,
        mode,
        reason,
        rows: rows.into_iter().map(|(r, _)| r).collect(),
        postures,
        tests,
        notes,
    })
}

type Key<'a> = (u64, &'a str, &'a str);

fn index(d: &ResultDir) -> Result<HashMap<Key<'_>, &SummaryRow>, CompareError> {
    let mut map = HashMap::with_capacity(d.summary.len());
    for r in &d.summary {
        if map.insert((r.step, r.metric.as_str(), r.subject.as_str()), r).is_some() {
            return Err(CompareError::malformed(
                d.path.join(load::SUMMARY),
                None,
                format!("{} appears twice at step {}; re-run `hedgesim run` to write it again", r.key(), r.step),
            ));
        }
    }
    Ok(map)
}

fn abbreviate(list: &[String], max: usize) -> String {
    if list.len() <= max {
        list.join(", ")
    } else {
        format!("{}, ... ({} more)", list[..max].join(", "), list.len() - max)
    }
}

fn year_of(d: &ResultDir, step: u64) -> Option<f64> {
    d.summary.iter().find(|r| r.step == step).map(|r| r.year)
}

/// The rules of issue 3: same partners (and order), base_year, horizon,
/// steps_per_year (and so steps).
fn check_compatible(a: &ResultDir, b: &ResultDir) -> Result<(), CompareError> {
    let (ma, mb) = (&a.manifest, &b.manifest);
    let mut diffs = Vec::new();
    if ma.partners != mb.partners {
        diffs.push(format!("partners differ (A: [{}], B: [{}])", ma.partners.join(", "), mb.partners.join(", ")));
    }
    for (name, x, y) in [
        ("base_year", ma.base_year, mb.base_year),
        ("horizon", ma.horizon, mb.horizon),
        ("steps_per_year", ma.steps_per_year, mb.steps_per_year),
    ] {
        if x != y {
            diffs.push(format!("{name} differs (A: {x}, B: {y})"));
        }
    }
    if diffs.is_empty() && ma.steps != mb.steps {
        diffs.push(format!("steps differ (A: {}, B: {})", ma.steps, mb.steps));
    }
    if diffs.is_empty() { Ok(()) } else { Err(CompareError::Mismatch(diffs.join("; "))) }
}

fn find_step(a: &ResultDir, y: f64) -> Result<u64, CompareError> {
    let tol = 1e-6;
    if let Some(r) = a.summary.iter().find(|r| (r.year - y).abs() <= tol) {
        return Ok(r.step);
    }
    let first = year_of(a, 0).unwrap_or(a.manifest.base_year);
    let last = year_of(a, a.manifest.steps).unwrap_or(a.manifest.horizon);
    let per = 1.0 / a.manifest.steps_per_year;
    Err(CompareError::BadYear {
        year: y,
        valid: format!(
            "the years run from {} to {} (the horizon) in steps of {}; for example --year {}",
            render::year_text(first),
            render::year_text(last),
            render::year_text(per),
            render::year_text(last)
        ),
    })
}

/// Why the runs of A and B cannot be paired; empty when they can.
fn unpairable(a: &ResultDir, b: &ResultDir) -> Vec<String> {
    let (ma, mb) = (&a.manifest, &b.manifest);
    let mut why = Vec::new();
    if ma.seed != mb.seed {
        why.push(format!("the seeds differ (A: {}, B: {})", ma.seed_text(), mb.seed_text()));
    }
    if ma.runs != mb.runs {
        why.push(format!("the run counts differ (A: {}, B: {})", ma.runs, mb.runs));
    }
    if ma.steps != mb.steps {
        why.push(format!("the step counts differ (A: {}, B: {})", ma.steps, mb.steps));
    }
    if ma.partners != mb.partners {
        why.push("the partners differ".into());
    }
    if ma.shard != mb.shard {
        why.push(format!("the shards differ (A: {}, B: {})", ma.shard, mb.shard));
    }
    for d in [a, b] {
        if d.runs_csv.is_none() {
            let side = if d.side == Side::A { "A" } else { "B" };
            why.push(if d.manifest.runs_table == Some(false) {
                format!("{side} has no runs.csv (it was run with --no-runs-table)")
            } else {
                format!("{side} has no runs.csv")
            });
        }
    }
    why
}

fn mode_and_reason(
    a: &ResultDir,
    why_not: &[String],
    all_steps: bool,
    step: u64,
    year: f64,
    horizon_year: f64,
    resimulated: bool,
) -> (Mode, String) {
    let m = &a.manifest;
    if !why_not.is_empty() {
        return (
            Mode::Welch,
            format!(
                "{}, so the runs are independent samples: Welch's t on the summary statistics \
                 of summary.csv",
                why_not.join("; ")
            ),
        );
    }
    let same = format!(
        "both results have seed {}, {} runs, {} steps and the same partners, and both have \
         runs.csv, so run i of A and run i of B share their random streams",
        m.seed_text(),
        m.runs,
        m.steps
    );
    if resimulated {
        let other = if all_steps { "the other steps" } else { "this step" };
        (
            Mode::Paired,
            format!(
                "{same}: the horizon ({}) is compared run by run from runs.csv, and {other} run by run by \
                 re-simulating both scenarios from their scenario.toml (checked: the re-simulated means \
                 equal summary.csv bit for bit)",
                render::year_text(horizon_year)
            ),
        )
    } else if all_steps {
        (
            Mode::Paired,
            format!(
                "{same}: the horizon ({}) is compared run by run (paired t on runs.csv); \
                 runs.csv holds horizon values only, so the other steps use Welch's t on \
                 summary.csv",
                render::year_text(horizon_year)
            ),
        )
    } else if step == m.steps {
        (Mode::Paired, format!("{same}: differences are taken run by run (paired t on runs.csv)"))
    } else {
        (
            Mode::Welch,
            format!(
                "{same}, but runs.csv holds per-run values at the horizon ({}) only, so year \
                 {} is compared with Welch's t on summary.csv (omit --year for the paired test)",
                render::year_text(horizon_year),
                render::year_text(year)
            ),
        )
    }
}

/// The values of column `key` in A and B for the runs where both are
/// defined; `None` when there is no such run.
fn complete_pairs(a: &Runs, b: &Runs, key: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let (xa, xb) = (a.values.get(key)?, b.values.get(key)?);
    let (va, vb): (Vec<f64>, Vec<f64>) = xa.iter().zip(xb).filter_map(|(x, y)| Some(((*x)?, (*y)?))).unzip();
    (!va.is_empty()).then_some((va, vb))
}

fn row(r: &SummaryRow, n_a: u64, n_b: u64, t: &TTest, means: (f64, f64), e: Effect, mode: Mode) -> (Row, Effect) {
    (
        Row {
            step: r.step,
            year: r.year,
            metric: r.metric.clone(),
            subject: r.subject.clone(),
            n_a,
            n_b,
            mean_a: means.0,
            mean_b: means.1,
            diff: t.diff,
            ci95_low: t.ci95.map(|c| c.0),
            ci95_high: t.ci95.map(|c| c.1),
            p_value: t.p_value,
            p_holm: None,
            hedges_g: e.value(),
            mode,
        },
        e,
    )
}

fn welch_row(ra: &SummaryRow, rb: &SummaryRow) -> (Row, Effect) {
    let ma = Moments { n: ra.n, mean: ra.mean, sd: ra.sd };
    let mb = Moments { n: rb.n, mean: rb.mean, sd: rb.sd };
    let t = stats::welch(&ma, &mb);
    let e = stats::hedges_g(&ma, &mb);
    row(ra, ra.n, rb.n, &t, (ra.mean, rb.mean), e, Mode::Welch)
}

/// A paired row from re-simulated moments, if they reproduce both summary
/// means exactly.
fn resimulated_row(p: &resim::PairedSteps, ra: &SummaryRow, rb: &SummaryRow) -> Option<(Row, Effect)> {
    let i = p.index(ra.step, &ra.key())?;
    let (ca, cb, cd) = (&p.a.cells[i], &p.b.cells[i], &p.diff.cells[i]);
    if ca.mean.to_bits() != ra.mean.to_bits() || cb.mean.to_bits() != rb.mean.to_bits() {
        return None;
    }
    let n = p.diff.n;
    let d = Moments { n, mean: cd.mean, sd: p.diff.variance(i).map(f64::sqrt) };
    let constant = (cd.min == cd.max).then_some(cd.min);
    let t = stats::one_sample_moments(&d, constant);
    let ma = Moments { n: ra.n, mean: ra.mean, sd: ra.sd };
    let mb = Moments { n: rb.n, mean: rb.mean, sd: rb.sd };
    let e = stats::hedges_g(&ma, &mb);
    Some(row(ra, n, n, &t, (ra.mean, rb.mean), e, Mode::Paired))
}

fn paired_row(ra: &SummaryRow, xa: &[f64], xb: &[f64]) -> (Row, Effect) {
    let n = xa.len() as u64;
    let (Some(ma), Some(mb), Some(t)) = (Moments::of(xa), Moments::of(xb), stats::paired(xa, xb)) else {
        // Unreachable: complete_pairs returns equal, non-empty slices.
        let t = TTest { diff: f64::NAN, se: None, df: None, t: None, p_value: None, ci95: None };
        return row(ra, n, n, &t, (f64::NAN, f64::NAN), Effect::Undefined, Mode::Paired);
    };
    let e = stats::hedges_g(&ma, &mb);
    row(ra, n, n, &t, (ma.mean, mb.mean), e, Mode::Paired)
}

/// Posture labels in the order of outcomes.csv: `hedging`, `aligned:*` by
/// partner order, `dependent:*` by partner order, anything else last.
fn posture_order(label: &str, partners: &[String]) -> (u8, usize) {
    let pos = |id: &str| partners.iter().position(|p| p == id).unwrap_or(usize::MAX);
    if label == "hedging" {
        (0, 0)
    } else if let Some(id) = label.strip_prefix("aligned:") {
        (1, pos(id))
    } else if let Some(id) = label.strip_prefix("dependent:") {
        (2, pos(id))
    } else {
        (3, 0)
    }
}

fn posture_rows(
    a: &ResultDir,
    b: &ResultDir,
    runs: Option<&(Runs, Runs)>,
    filter: &Filter,
    notes: &mut Vec<String>,
) -> Vec<PostureRow> {
    let mut labels: Vec<String> = Vec::new();
    let mut add = |l: &str| {
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_string());
        }
    };
    a.outcomes.iter().chain(&b.outcomes).for_each(|o| add(&o.posture));
    let per_run = match runs {
        Some((ra, rb)) => match (&ra.postures, &rb.postures) {
            (Some(pa), Some(pb)) => Some((pa, pb)),
            _ => {
                notes.push(
                    "runs.csv has no posture column, so postures are compared as independent \
                     samples"
                        .into(),
                );
                None
            }
        },
        None => None,
    };
    if let Some((pa, pb)) = per_run {
        pa.iter().chain(pb.iter()).for_each(|l| add(l));
    }
    labels.sort_by_key(|l| posture_order(l, &a.manifest.partners));
    labels.retain(|l| filter.keeps_posture(l));

    let count = |d: &ResultDir, l: &str| d.outcomes.iter().find(|o| o.posture == l).map_or(0, |o| o.count);
    let mut out = Vec::new();
    for label in labels {
        let (test, mode, result, ca, na, cb, nb) = match per_run {
            Some((pa, pb)) => {
                let mut t = PairedTable::default();
                for (x, y) in pa.iter().zip(pb.iter()) {
                    match (*x == label, *y == label) {
                        (true, true) => t.both += 1,
                        (false, true) => t.b_only += 1,
                        (true, false) => t.a_only += 1,
                        (false, false) => t.neither += 1,
                    }
                }
                let n = t.n();
                (
                    PostureTest::McnemarExact,
                    Mode::Paired,
                    stats::mcnemar_paired(&t),
                    t.both + t.a_only,
                    n,
                    t.both + t.b_only,
                    n,
                )
            }
            None => {
                let (ca, na) = (count(a, &label), a.manifest.runs);
                let (cb, nb) = (count(b, &label), b.manifest.runs);
                (PostureTest::TwoProportionZ, Mode::Welch, stats::two_proportions(ca, na, cb, nb), ca, na, cb, nb)
            }
        };
        let Some(r) = result else { continue };
        out.push(PostureRow {
            posture: label,
            count_a: ca,
            n_a: na,
            share_a: r.p_a,
            count_b: cb,
            n_b: nb,
            share_b: r.p_b,
            diff: r.diff,
            ci95_low: r.ci95.map(|c| c.0),
            ci95_high: r.ci95.map(|c| c.1),
            p_value: r.p_value,
            p_holm: None,
            mode,
            test,
        });
    }
    out
}

/// The `--metric` selection, validated against both results.
struct Filter {
    all: bool,
    metrics: HashSet<String>,
    keys: HashSet<String>,
    all_postures: bool,
    postures: HashSet<String>,
}

impl Filter {
    fn new(names: &[String], a: &ResultDir, b: &ResultDir) -> Result<Filter, CompareError> {
        let mut f = Filter {
            all: names.is_empty(),
            metrics: HashSet::new(),
            keys: HashSet::new(),
            all_postures: false,
            postures: HashSet::new(),
        };
        let rows = || a.summary.iter().chain(&b.summary);
        let metric_names: Vec<&str> = {
            let mut seen = Vec::new();
            for r in rows() {
                if !seen.contains(&r.metric.as_str()) {
                    seen.push(r.metric.as_str());
                }
            }
            seen
        };
        let keys: HashSet<String> = rows().map(SummaryRow::key).collect();
        let labels: Vec<&str> = a.outcomes.iter().chain(&b.outcomes).map(|o| o.posture.as_str()).collect();
        for name in names {
            let name = name.trim();
            if name == "posture" {
                f.all_postures = true;
            } else if let Some(label) = name.strip_prefix("posture.") {
                if !labels.contains(&label) {
                    let mut occurred: Vec<&str> = Vec::new();
                    for l in &labels {
                        if !occurred.contains(l) {
                            occurred.push(l);
                        }
                    }
                    return Err(CompareError::UnknownMetric {
                        name: name.to_string(),
                        hint: format!(
                            "posture `{label}` occurred in neither result; the postures that \
                             occurred are {}",
                            occurred.join(", ")
                        ),
                    });
                }
                f.postures.insert(label.to_string());
            } else if metric_names.contains(&name) {
                f.metrics.insert(name.to_string());
            } else if keys.contains(name) {
                f.keys.insert(name.to_string());
            } else {
                let metric = name.split('.').next().unwrap_or(name);
                let hint = if metric_names.contains(&metric) {
                    let subjects: Vec<String> = a
                        .summary
                        .iter()
                        .filter(|r| r.metric == metric && r.step == a.manifest.steps)
                        .map(|r| r.subject.clone())
                        .collect();
                    format!(
                        "`{metric}` has the subjects {}; write `{metric}.<subject>` or just \
                         `{metric}`",
                        subjects.join(", ")
                    )
                } else {
                    format!(
                        "the metrics are {}, posture; give a metric name, `metric.subject` \
                         (e.g. `trade_share.RU`) or `posture.<label>`",
                        metric_names.join(", ")
                    )
                };
                return Err(CompareError::UnknownMetric { name: name.to_string(), hint });
            }
        }
        Ok(f)
    }

    fn keeps(&self, r: &SummaryRow) -> bool {
        self.all || self.metrics.contains(&r.metric) || self.keys.contains(&r.key())
    }

    fn wants_postures(&self) -> bool {
        self.all || self.all_postures || !self.postures.is_empty()
    }

    fn keeps_posture(&self, label: &str) -> bool {
        self.all || self.all_postures || self.postures.contains(label)
    }
}
