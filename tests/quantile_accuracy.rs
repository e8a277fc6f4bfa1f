//! Quantiles of `summary.csv` against exact quantiles (issue 12, section 2).
//!
//! For shipped scenarios, every run's whole trajectory is simulated in
//! this process (`Model::run`, one run at a time), the values of every
//! cell sorted, and each quantile that `hedgesim run` wrote for that cell
//! checked against the exact lower empirical quantiles of ranks `q - 0.005`
//! and `q + 0.005` of the same runs: it must lie between them (count
//! metrics: between them once rounded, as written). Every step, every
//! metric, every quantile column.

use std::path::Path;
use std::process::Command;

use hedgesim::model::Model;
use hedgesim::model::metrics::is_count;
use hedgesim::scenario::Scenario;

/// The exact lower empirical quantile of rank `ceil(q n)`.
fn exact(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// Quantiles written outside their rank band, as messages; and how many were checked.
fn misses(scenario_file: &str, runs: u64) -> (Vec<String>, usize) {
    let mut scenario = Scenario::load(Path::new(scenario_file)).expect("scenario loads");
    scenario.runs = runs;
    let model = Model::new(&scenario);
    let cells = model.layout.len();
    let steps = model.steps() + 1;
    assert_eq!(model.trajectory_len(), steps * cells);
    // values[step * cells + cell] holds that cell's value in every run.
    let mut values = vec![Vec::with_capacity(runs as usize); steps * cells];
    let (mut ws, mut trajectory) = (model.workspace(), vec![0.0; model.trajectory_len()]);
    for run in 0..runs {
        model.run(run, &mut ws, &mut trajectory);
        for (column, &v) in values.iter_mut().zip(&trajectory) {
            column.push(v);
        }
    }
    values.iter_mut().for_each(|v| v.sort_by(f64::total_cmp));

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_hedgesim"))
        .args(["run", scenario_file, "--runs", &runs.to_string(), "--no-runs-table", "-q", "--out"])
        .arg(&out)
        .status()
        .expect("hedgesim runs");
    assert!(status.success());
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let quantile_columns: Vec<(usize, f64)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()).map(|p| (i, p / 100.0)))
        .collect();
    assert!(!quantile_columns.is_empty());
    let (mut found, mut checked) = (Vec::new(), 0);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (step, metric, subject) = (f[0].parse::<usize>().expect("step"), f[2], f[3]);
        let Some(cell) = model.layout.cells.iter().position(|c| c.metric == metric && c.subject == subject) else {
            continue; // posture_share and event_active come from counts, not sketches
        };
        let sorted = &values[step * cells + cell];
        for &(i, q) in &quantile_columns {
            let got: f64 = f[i].parse().expect("quantile");
            let (lo, hi) = (exact(sorted, q - 0.005), exact(sorted, q + 0.005));
            let (lo, hi) = if is_count(metric) { (lo.round(), hi.round()) } else { (lo, hi) };
            checked += 1;
            if !(lo <= got && got <= hi) {
                found.push(format!(
                    "{scenario_file} step {step} {metric}.{subject} {}: {got} not in [{lo}, {hi}]",
                    header[i]
                ));
            }
        }
    }
    (found, checked)
}

/// At most one quantile in 2,000 outside its band (measured: 1 to 7 in
/// 31,050 for these scenarios; the quantiles that miss sit in cells where a
/// few hundred runs pile within 1e-8 of one value, as in `docs/quantiles.md`).
fn assert_accurate(scenario_file: &str, runs: u64) {
    let (found, checked) = misses(scenario_file, runs);
    assert!(checked > 10_000, "{checked}");
    eprintln!("{scenario_file}, {runs} runs: {} of {checked} quantiles outside their rank band", found.len());
    assert!(
        found.len() * 2000 <= checked,
        "{} of {checked} quantiles outside their rank band:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn baseline_quantiles_lie_in_their_rank_band() {
    assert_accurate("scenarios/baseline.toml", 3000);
}

#[test]
fn coercive_scenarios_quantiles_lie_in_their_rank_band() {
    assert_accurate("scenarios/great-power-rivalry.toml", 2000);
    assert_accurate("scenarios/china-transit-squeeze.toml", 1000);
}

#[test]
fn disrupted_corridor_quantiles_lie_in_their_rank_band() {
    assert_accurate("scenarios/cpc-outages.toml", 1500);
}

/// A batch no larger than the pilot is counted exactly: no quantile misses.
#[test]
fn small_batches_have_exact_quantiles() {
    let (found, checked) = misses("scenarios/russia-sanctions.toml", 200);
    assert!(checked > 10_000 && found.is_empty(), "{found:?}");
}
