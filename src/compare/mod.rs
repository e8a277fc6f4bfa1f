//! `hedgesim compare`: is scenario B different from scenario A, by how much,
//! and how sure can we be?
//!
//! A Monte Carlo result is a sample, so two results differ by chance even
//! when their scenarios do not. This module reads result directories
//! written by `hedgesim run` (docs/outputs.md): a reference A and one or
//! more others ([`compare_many`]), and, for every metric x subject the two
//! share at one year (default: the horizon) or at every common year
//! (`--all-steps`), estimates the difference of means B - A with a 95%
//! confidence interval, a two-sided p-value, an effect size and a p-value
//! adjusted for the number of tests. Posture frequencies at the horizon are
//! compared as proportions. It is pure: it reads files and returns a
//! [`Comparison`]; [`render`] and [`output_files`] turn that into text, and
//! the caller prints or writes it.
//!
//! Rows are matched by year, metric and subject, so results with different
//! partner lists (a scenario that adds a partner) or `steps_per_year` are
//! compared on the rows they share; the rows left out, and why, are in the
//! notes.
//!
//! # Checked input, never a tampered finding
//!
//! Before a value of `summary.csv` or `outcomes.csv` is used it is checked,
//! bit for bit, wherever the result allows: at the horizon against
//! `runs.csv` folded exactly as the engine folds ([`fold`]), at other steps
//! against the re-simulation ([`resim`]). A disagreement means a file was
//! changed after `hedgesim run` wrote it, and the comparison is refused
//! (exit 2, [`CompareError::Suspect`], naming the file, line and cell)
//! rather than reporting the change as a difference. What could not be
//! checked is said in [`Comparison::checks`] and the headline. NaN and
//! infinite values are refused when read. The means reported are those of
//! `summary.csv`.
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
//! - **paired** (when both manifests agree on seed, runs, time grid,
//!   partners and shard and both directories have `runs.csv`; horizon rows
//!   from `runs.csv`, other rows from the re-simulation, which must
//!   reproduce `summary.csv` bit for bit):
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
//!   comparable across modes. Rows are sorted by what the user named with
//!   `--metric` (in that order; without it, trade shares, then group shares,
//!   then the hedger's metrics, then the rest), then by |g|, largest first.
//! - Holm's step-down adjustment (Holm 1979, *Scand. J. Stat.* 6:65-70),
//!   over every defined p-value of the command (metric rows and posture
//!   rows together; with `--all-steps`, all steps; with several results,
//!   all of them): the family-wise error
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
mod filter;
mod fold;
mod load;
mod pair;
mod render;
pub mod resim;
pub mod stats;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

pub use error::{CompareError, Side};

/// Adjusted p-values below this mark a row as significant (`*`).
pub const ALPHA: f64 = 0.05;

/// What to compare; built by the CLI from
/// `hedgesim compare RESULT_A RESULT_B [MORE...] [--year Y] [--metric NAME]... [--all-steps]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareOptions {
    /// RESULT_A, the baseline: differences are B - A.
    pub a: PathBuf,
    /// RESULT_B.
    pub b: PathBuf,
    /// Further results, each compared with A like B ([`compare_many`]).
    pub more: Vec<PathBuf>,
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
    /// Seed from `manifest.json` (a number, as written there).
    pub seed: serde_json::Value,
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
    /// What of summary.csv and outcomes.csv was checked against runs.csv or
    /// a re-simulation (bit for bit), and what could not be, in words. A
    /// failed check is an error ([`CompareError::Suspect`]), never a row.
    pub checks: String,
    /// Metric rows, sorted by |Hedges' g| (by step first with `all_steps`).
    pub rows: Vec<Row>,
    /// Posture rows in the order of outcomes.csv (empty unless the horizon
    /// is compared).
    pub postures: Vec<PostureRow>,
    /// Number of p-values in the Holm family (over every comparison of
    /// [`compare_many`]).
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
    /// `compare.csv`: metric rows, then posture rows (metric `posture`);
    /// `compare_postures.csv` adds the posture counts.
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
    render_many(std::slice::from_ref(c), f)
}

/// Render the comparisons of [`compare_many`] (all against the same A) as
/// one table with the scenario columns; one comparison renders as
/// [`render`].
pub fn render_many(cs: &[Comparison], f: Format) -> String {
    match f {
        Format::Markdown => render::markdown(cs),
        Format::Csv => render::csv(cs),
        Format::Json => render::json(cs),
    }
}

/// The files `--out DIR` writes, as (file name, contents): `compare.csv`,
/// `compare_postures.csv`, `compare.json` and `compare.md`.
pub fn output_files(c: &Comparison) -> Vec<(&'static str, String)> {
    output_files_many(std::slice::from_ref(c))
}

/// [`output_files`] for the comparisons of [`compare_many`].
pub fn output_files_many(cs: &[Comparison]) -> Vec<(&'static str, String)> {
    vec![
        ("compare.csv", render::csv(cs)),
        ("compare_postures.csv", render::postures_csv(cs)),
        ("compare.json", render::json(cs)),
        ("compare.md", render::markdown(cs)),
    ]
}

/// Compare A with B (`opts.more` is ignored; see [`compare_many`]). Errors
/// for which [`CompareError::is_input_error`] is true are the user's (exit
/// code 2).
pub fn compare(opts: &CompareOptions) -> Result<Comparison, CompareError> {
    let mut all = compare_many(&CompareOptions { more: Vec::new(), ..opts.clone() })?;
    Ok(all.remove(0))
}

/// Compare A with B and with every result of `opts.more`, each as
/// [`compare`] would, with Holm's adjustment over every p-value of all the
/// comparisons together. Returns one [`Comparison`] per result, in order.
pub fn compare_many(opts: &CompareOptions) -> Result<Vec<Comparison>, CompareError> {
    if opts.all_steps && opts.year.is_some() {
        return Err(CompareError::Options(
            "--year and --all-steps cannot be used together: --all-steps already compares every year".into(),
        ));
    }
    let mut out = Vec::with_capacity(1 + opts.more.len());
    for b in std::iter::once(&opts.b).chain(&opts.more) {
        out.push(pair::compare_pair(&opts.a, b, opts)?);
    }
    holm_across(&mut out);
    Ok(out)
}

/// Holm over every defined p-value of every comparison (metric rows and
/// posture rows together).
fn holm_across(cs: &mut [Comparison]) {
    let family: Vec<Option<f64>> =
        cs.iter().flat_map(|c| c.rows.iter().map(|r| r.p_value).chain(c.postures.iter().map(|p| p.p_value))).collect();
    let tests = family.iter().filter(|p| p.is_some()).count();
    let mut adjusted = stats::holm(&family).into_iter();
    for c in cs.iter_mut() {
        c.tests = tests;
        for r in &mut c.rows {
            r.p_holm = adjusted.next().flatten();
        }
        for p in &mut c.postures {
            p.p_holm = adjusted.next().flatten();
        }
    }
}
