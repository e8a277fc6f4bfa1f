//! `hedgesim bench`: throughput of a scenario at several thread counts.
//!
//! Each repetition runs the full batch in memory (simulation, moments,
//! sketches, the final tree reduction and the formatting of `summary.csv`,
//! but no runs table and no files), so it measures what a user waits for.
//! The repetitions are taken in rounds, one batch per thread count in each
//! round (1, 2, 1, 2, ...), so that the drift of a shared machine falls on
//! every thread count alike rather than on whichever came last; a speed-up
//! is a ratio of two such medians. The median and the fastest repetition
//! are reported, with speed-up and parallel efficiency against the first
//! thread count, and the process's peak resident memory after the first
//! round of each. Results go to `results/bench/<scenario>.csv`; an earlier
//! file there is read first and the change against it shown.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::{AppError, io_err, load_scenario, progress_bar};
use crate::cli::BenchArgs;
use crate::engine::{BatchState, Hooks, chunk_count, run_batch, tree};
use crate::model::Model;
use crate::output::atomic::write_file;
use crate::output::tables::summary_csv;
use crate::scenario::validate::MAX_RUNS;

/// One measured configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    pub threads: usize,
    pub runs: u64,
    pub median_s: f64,
    /// The fastest repetition: the least disturbed by other load.
    pub best_s: f64,
    pub runs_per_s: f64,
    pub partner_steps_per_s: f64,
    pub speedup: f64,
    pub efficiency: f64,
    pub peak_rss_mb: f64,
}

/// Median of a non-empty sample.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// Peak resident set size of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One in-memory batch; returns wall seconds.
pub fn time_batch(model: &Model, threads: usize) -> Result<f64, AppError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| AppError::Failed(format!("cannot start {threads} threads: {e}")))?;
    let s = &model.scenario;
    let cancel = AtomicBool::new(false);
    let start = Instant::now();
    let state = BatchState::for_model(model, s.runs, 0..chunk_count(s.runs));
    let hooks =
        Hooks { progress: &|_| {}, cancel: &cancel, on_window: &mut |_| Ok(false), on_checkpoint: &mut |_| Ok(()) };
    let state = run_batch(model, state, false, &pool, hooks).map_err(|e| AppError::Failed(e.to_string()))?;
    let moments = tree::root(state.stack, chunk_count(s.runs), crate::engine::timeline::stats_len(model))
        .map_err(|e| AppError::Failed(e.to_string()))?;
    let table = summary_csv(model, &moments, &state.sketches, &state.paths);
    std::hint::black_box(table.len());
    Ok(start.elapsed().as_secs_f64())
}

/// One row per thread count from its repetition times (seconds), with
/// speed-up and efficiency against the first thread count.
fn bench_rows(threads: &[usize], times: &mut [Vec<f64>], rss: &[f64], runs: u64, partner_steps: f64) -> Vec<BenchRow> {
    let mut rows: Vec<BenchRow> = Vec::new();
    for ((&t, times), &peak_rss_mb) in threads.iter().zip(times.iter_mut()).zip(rss) {
        let median_s = median(times);
        let best_s = times.iter().copied().fold(f64::INFINITY, f64::min);
        let base = rows.first().map_or(median_s, |r| r.median_s);
        let base_threads = rows.first().map_or(t, |r| r.threads) as f64;
        let speedup = base / median_s;
        rows.push(BenchRow {
            threads: t,
            runs,
            median_s,
            best_s,
            runs_per_s: runs as f64 / median_s,
            partner_steps_per_s: partner_steps / median_s,
            speedup,
            efficiency: speedup / (t as f64 / base_threads),
            peak_rss_mb,
        });
    }
    rows
}

fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().map_or_else(|| "scenario".to_string(), |s| s.to_string_lossy().into_owned());
    PathBuf::from("results").join("bench").join(format!("{stem}.csv"))
}

const CSV_HEADER: &str = "threads,runs,median_s,best_s,runs_per_s,partner_steps_per_s,speedup,efficiency,peak_rss_mb";

fn to_csv(rows: &[BenchRow]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            r.threads,
            r.runs,
            r.median_s,
            r.best_s,
            r.runs_per_s,
            r.partner_steps_per_s,
            r.speedup,
            r.efficiency,
            r.peak_rss_mb
        );
    }
    out
}

/// Earlier results: threads -> partner-steps/s, found by column name (so
/// files written by earlier versions, with other columns, still compare).
fn read_previous(path: &Path) -> Vec<(usize, f64)> {
    std::fs::read_to_string(path).map_or_else(|_| Vec::new(), |text| parse_previous(&text))
}

fn parse_previous(text: &str) -> Vec<(usize, f64)> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let column = |name: &str| header.split(',').position(|h| h == name);
    let (Some(threads), Some(rate)) = (column("threads"), column("partner_steps_per_s")) else { return Vec::new() };
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(threads)?.parse().ok()?, f.get(rate)?.parse().ok()?))
        })
        .collect()
}

/// Markdown table of the results, with the change against earlier ones.
pub fn to_markdown(rows: &[BenchRow], previous: &[(usize, f64)]) -> String {
    let mut out = String::from(
        "| threads | runs | median s | best s | runs/s | M partner-steps/s | speed-up | efficiency | peak RSS MB | vs previous |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let change = previous
            .iter()
            .find(|(t, _)| *t == r.threads)
            .map_or_else(|| "n/a".to_string(), |(_, p)| format!("{:+.1}%", (r.partner_steps_per_s / p - 1.0) * 100.0));
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3} | {:.0} | {:.2} | {:.2} | {:.0}% | {:.0} | {} |",
            r.threads,
            r.runs,
            r.median_s,
            r.best_s,
            r.runs_per_s,
            r.partner_steps_per_s / 1e6,
            r.speedup,
            r.efficiency * 100.0,
            r.peak_rss_mb,
            change
        );
    }
    out
}

/// Execute `hedgesim bench`.
pub fn bench(args: &BenchArgs) -> Result<String, AppError> {
    let mut scenario = load_scenario(&args.scenario, &super::parse_overrides(&args.overrides.set)?)?.scenario;
    if args.runs == 0 || args.runs > MAX_RUNS {
        return Err(AppError::Invalid(format!("--runs {}: must be in [1, {MAX_RUNS}]", args.runs)));
    }
    if args.repeat == 0 {
        return Err(AppError::Invalid("--repeat must be at least 1".into()));
    }
    scenario.runs = args.runs;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = if args.threads.is_empty() { (1..=cores).collect() } else { args.threads.clone() };
    if threads.contains(&0) {
        return Err(AppError::Invalid("--threads: thread counts must be at least 1".into()));
    }
    let model = Model::new(&scenario);
    let most = threads.iter().copied().max().unwrap_or(1);
    crate::engine::state::check_memory(
        model.steps(),
        model.layout.len(),
        most,
        chunk_count(scenario.runs),
        crate::engine::state::memory_limit(),
    )
    .map_err(|e| AppError::Invalid(format!("{}: {e}", args.scenario.display())))?;
    let partner_steps = (scenario.runs * scenario.steps() as u64 * scenario.partners.len() as u64) as f64;
    let template = "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} batches: {msg}";
    let bar = progress_bar((args.repeat * threads.len()) as u64, false, template);
    bar.set_message("warm-up");
    time_batch(&model, threads[0])?;
    let mut times = vec![Vec::with_capacity(args.repeat); threads.len()];
    let mut rss = vec![f64::NAN; threads.len()];
    for round in 0..args.repeat {
        for (i, &t) in threads.iter().enumerate() {
            bar.set_message(format!("round {}/{}, {t} thread(s)", round + 1, args.repeat));
            times[i].push(time_batch(&model, t)?);
            if round == 0 {
                rss[i] = peak_rss_mb().unwrap_or(f64::NAN);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let rows = bench_rows(&threads, &mut times, &rss, scenario.runs, partner_steps);
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.scenario));
    let previous = read_previous(&out);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_err("cannot create", parent, e))?;
    }
    write_file(&out, to_csv(&rows).as_bytes()).map_err(|e| io_err("cannot write", &out, e))?;
    Ok(format!(
        "{} ({} runs x {} steps x {} partners, median and best of {} interleaved repetitions; peak RSS is the process maximum after the first round)\n\n{}\nwrote {}",
        scenario.name,
        scenario.runs,
        scenario.steps(),
        scenario.partners.len(),
        args.repeat,
        to_markdown(&rows, &previous),
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn rows_report_median_best_speedup_and_efficiency() {
        let mut times = vec![vec![4.0, 5.0, 4.5], vec![2.5, 2.0, 3.0]];
        let rows = bench_rows(&[1, 2], &mut times, &[30.0, 40.0], 100, 1000.0);
        assert_eq!((rows[0].median_s, rows[0].best_s, rows[0].speedup), (4.5, 4.0, 1.0));
        assert_eq!((rows[1].median_s, rows[1].best_s, rows[1].speedup), (2.5, 2.0, 1.8));
        assert!((rows[1].efficiency - 0.9).abs() < 1e-12);
        assert_eq!((rows[1].partner_steps_per_s, rows[1].runs_per_s, rows[1].peak_rss_mb), (400.0, 40.0, 40.0));
    }

    #[test]
    fn earlier_files_compare_by_column_name() {
        let rows = bench_rows(&[1, 2], &mut [vec![2.0], vec![1.0]], &[1.0, 1.0], 10, 100.0);
        let written = to_csv(&rows);
        assert_eq!(parse_previous(&written), vec![(1, 50.0), (2, 100.0)]);
        // The layout of 0.2.0, without `best_s`.
        let old =
            "threads,runs,median_s,runs_per_s,partner_steps_per_s,speedup,efficiency,peak_rss_mb\n1,10,2,5,50,1,1,30\n";
        assert_eq!(parse_previous(old), vec![(1, 50.0)]);
        assert_eq!(parse_previous("not,a,bench,file\n1,2,3,4\n"), vec![]);
        assert_eq!(parse_previous(""), vec![]);
        let table = to_markdown(&rows, &[(2, 80.0)]);
        assert!(table.contains("| 2 | 10 | 1.000 | 1.000 | 10 | 0.00 | 2.00 | 100% | 1 | +25.0% |"), "{table}");
    }
}
