//! The command line: `hedgesim run | validate | compare | merge | bench | explore | report | score`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::scenario::validate::MAX_RUNS;

/// An integer flag value in `[lo, hi]`; the message gives the range
/// (clap names the flag). Negative and too-large values are read too, so
/// that they get this message rather than "unexpected argument".
fn integer_in(text: &str, lo: u64, hi: u64) -> Result<u64, String> {
    let range = format!("an integer in [{lo}, {hi}]");
    match text.trim().replace('_', "").parse::<i128>() {
        Ok(v) if (i128::from(lo)..=i128::from(hi)).contains(&v) => Ok(v as u64),
        Ok(_) => Err(format!("must be {range}")),
        Err(_) => Err(format!("expected {range}")),
    }
}

/// `--runs`: 1 to [`MAX_RUNS`].
pub fn runs_value(text: &str) -> Result<u64, String> {
    integer_in(text, 1, MAX_RUNS)
}

/// `explore --runs`: 1 to [`crate::app::explore::MAX_RUNS_PER_POINT`].
pub fn point_runs_value(text: &str) -> Result<u64, String> {
    integer_in(text, 1, crate::app::explore::MAX_RUNS_PER_POINT)
}

/// `--seed`: any u64.
pub fn seed_value(text: &str) -> Result<u64, String> {
    integer_in(text, 0, u64::MAX)
}

/// Agent-based Monte Carlo model of omnidirectional hedging.
///
/// hedgesim reads a TOML scenario (Kazakhstan as the hedging actor, its
/// partners, great powers that push back, transport corridors, events), runs
/// it as a Monte Carlo batch in parallel and writes result tables that are
/// bit-identical for any thread count or machine split.
///
/// Start with:  hedgesim run scenarios/baseline.toml
#[derive(Debug, Parser)]
#[command(name = "hedgesim", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario as a Monte Carlo batch and write a result directory.
    ///
    /// Writes summary.csv, outcomes.csv, runs.csv, manifest.json and
    /// report.md into results/<scenario file stem>/ (or --out). The directory
    /// appears only when complete. Ctrl-C stops within about a second; the
    /// finished chunks are kept and `--resume` continues from them.
    Run(RunArgs),
    /// Check scenario files without running them (exit 0 if all are valid).
    Validate {
        /// Scenario files to check.
        #[arg(required = true, value_name = "SCENARIO.toml")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
        /// Treat warnings (event effects clamped to a parameter's range) as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Compare results with a reference: differences, CIs, p-values, effect sizes.
    ///
    /// `compare A B` compares B with A; `compare A B C ...` compares each of
    /// B, C, ... with A in one table (Holm's adjustment over all of them).
    /// Results with different partners or steps_per_year are compared on the
    /// rows they share. Input is checked against runs.csv and the
    /// re-simulation; a changed file is refused (exit 2), not reported.
    ///
    /// Uses paired (common random numbers) statistics when both results come
    /// from the same seed, runs, steps and partners, and Welch's t otherwise.
    /// Years before the horizon are paired by re-simulating both scenarios
    /// from their scenario.toml copies (verified against summary.csv).
    Compare(CompareArgs),
    /// Merge shard directories written by `run --shard K/N` (or `explore --shard K/N`) into one result.
    ///
    /// The merged summary.csv, outcomes.csv and runs.csv are byte-identical
    /// to a single-machine run of the same scenario and seed; merged explore
    /// shards give the files of a single-machine explore.
    Merge(MergeArgs),
    /// Measure throughput at several thread counts.
    Bench(BenchArgs),
    /// Run an experiment over uncertain assumptions: a design (grid, Latin
    /// hypercube, Sobol'/Saltelli, Morris) of parameter values, Monte Carlo
    /// runs at each point, sensitivity indices and scenario discovery (PRIM).
    ///
    /// Writes design.csv, points.csv, sensitivity.csv, discovery.csv,
    /// manifest.json and report.md into results/<experiment name>/ (or
    /// --out); with --shard K/N, a shard of the design points for `hedgesim
    /// merge`; see docs/explore.md.
    Explore(ExploreArgs),
    /// Score a result against observations (tidy CSV: year,metric,subject,value).
    ///
    /// Per observation: the model's mean and median, the error, the
    /// observation's percentile, whether it lies in the 50% and 90%
    /// intervals, and the CRPS (exact from runs.csv at the horizon, from the
    /// summary.csv quantiles otherwise); overall MAE, coverage and mean CRPS
    /// against persistence and trend forecasts from the same file.
    Score(ScoreArgs),
    /// Write an HTML report with charts: of one result, or one page across several.
    ///
    /// With one RESULT_DIR: rebuilds its report.html and charts/ (for
    /// results written by older versions), or writes them into --out. With
    /// several: one page with, per metric, a table of the values at the
    /// horizon ranked by mean beside small multiples of the fans, written to
    /// --out (default results/report/).
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Result directory (written by `hedgesim run` or `merge`).
    #[arg(value_name = "RESULT_DIR")]
    pub result: PathBuf,
    /// Observations: CSV with columns year,metric,subject,value.
    #[arg(value_name = "OBSERVED.csv")]
    pub observed: PathBuf,
    /// Also write score.csv, score_overall.csv, score.md and score.json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Format of the table on stdout (csv: the rows of score.csv).
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Number of runs (overrides [monte_carlo] runs), 1 to 4294967295.
    #[arg(long, allow_negative_numbers = true, value_parser = runs_value)]
    pub runs: Option<u64>,
    /// Base seed (overrides [monte_carlo] seed), 0 to 18446744073709551615.
    #[arg(long, allow_negative_numbers = true, value_parser = seed_value)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Result directory (default: results/<scenario file stem>). An existing
    /// one is replaced only with --force, and only if it is a hedgesim result.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing result directory.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write runs.csv (for very large batches).
    #[arg(long)]
    pub no_runs_table: bool,
    /// Write the full paths of the first K runs to trajectories.csv
    /// (overrides [outputs] trajectories).
    #[arg(long, value_name = "K")]
    pub trajectories: Option<u64>,
    /// Compute only shard K of N (0-based), e.g. `--shard 2/8`; merge with `hedgesim merge`.
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Continue an interrupted run from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Treat warnings (event effects clamped to a parameter's range) as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard directories (any order).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Result directory to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace an existing result directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Markdown,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Result directory A (the reference, e.g. the baseline).
    pub a: PathBuf,
    /// Result directory B (the alternative); differences are B - A.
    pub b: PathBuf,
    /// More result directories, each compared with A like B.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
    /// Year to compare (default: the horizon).
    #[arg(long, conflicts_with = "all_steps")]
    pub year: Option<f64>,
    /// Only these metrics (`trade_share`) or cells (`trade_share.RU`); repeatable.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Differences and CIs at every step (for plotting).
    #[arg(long)]
    pub all_steps: bool,
    /// Format of the table on stdout.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: OutputFormat,
    /// Also write compare.csv, compare.json and compare.md into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result directories written by `run`, `merge` (or older versions).
    #[arg(required = true, value_name = "RESULT_DIR")]
    pub results: Vec<PathBuf>,
    /// Where to write report.html and charts/ (default: the result itself,
    /// or results/report/ for several results).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only these metrics (`trade_share`) or cells (`trade_share.RU`); repeatable.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenario to benchmark.
    #[arg(default_value = "scenarios/baseline.toml", value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Runs per repetition, 1 to 4294967295.
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = runs_value)]
    pub runs: u64,
    /// Thread counts, comma-separated (default: 1 up to the available cores).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub threads: Vec<usize>,
    /// Repetitions per thread count (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Where to write the CSV (default: results/bench/<scenario>.csv).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The experiment file.
    #[arg(value_name = "EXPERIMENT.toml")]
    pub experiment: PathBuf,
    /// Monte Carlo runs per design point (overrides [experiment] runs), 1 to 1000000.
    #[arg(long, allow_negative_numbers = true, value_parser = point_runs_value)]
    pub runs: Option<u64>,
    /// Seed of the design, the runs and the bootstrap (overrides [experiment] seed),
    /// 0 to 18446744073709551615.
    #[arg(long, allow_negative_numbers = true, value_parser = seed_value)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Result directory (default: results/<experiment name>, or results/<experiment name>.shard-K-of-N).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing result directory.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Compute only shard K of N (0-based) of the design points, e.g. `--shard 2/8`;
    /// merge with `hedgesim merge`.
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Continue an interrupted explore from its last checkpointed window of points.
    #[arg(long)]
    pub resume: bool,
}

/// `--set PATH=VALUE` overrides of scenario values (shared by `run`,
/// `validate` and `bench`).
#[derive(Debug, Args)]
pub struct Overrides {
    /// Override a scenario value, e.g. `--set partner.RU.leverage=0.9` or
    /// `--set 'event."oil price crash".hazard=0.2'` (repeatable; see docs/scenario-format.md).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}
