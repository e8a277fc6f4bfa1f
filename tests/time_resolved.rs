//! Time-resolved outputs (issue 12, sections 1 and 3): posture and event
//! shares over time, first passage and event timing per run, survival.csv,
//! trajectories.csv, `[outputs] every / metrics`, and float columns that
//! every type-inferring reader reads as floats.
//!
//! The thinned outputs must be exactly the matching rows and columns of a
//! full run; the per-run path columns must be what a step-by-step
//! simulation through the library gives; and shards, merge and threads
//! must not change a byte.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use hedgesim::engine::timeline::{Plan, RunTrack};
use hedgesim::model::{Model, Posture};
use hedgesim::scenario::Scenario;
use predicates::prelude::*;
use predicates::str::contains;

const TINY: &str = "tests/fixtures/tiny.toml";
const BASELINE: &str = "scenarios/baseline.toml";
const NEW_FILES: [&str; 2] = ["survival.csv", "trajectories.csv"];

fn run(scenario: &Path, out: &Path, extra: &[&str]) {
    cargo_bin_cmd!("hedgesim")
        .arg("run")
        .arg(scenario)
        .args(["--quiet", "--out"])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

fn text(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// tiny.toml with an `[outputs]` table appended.
fn tiny_with(dir: &Path, outputs: &str) -> PathBuf {
    let path = dir.join("tiny-outputs.toml");
    fs::write(&path, format!("{}\n[outputs]\n{outputs}\n", text(TINY))).unwrap();
    path
}

/// Rows of a CSV as fields (header included).
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// The columns `names` of a CSV, in that order, as lines.
fn columns(csv: &str, names: &[String]) -> Vec<String> {
    let table = rows(csv);
    let index: Vec<usize> =
        names.iter().map(|n| table[0].iter().position(|h| h == n).unwrap_or_else(|| panic!("no column {n}"))).collect();
    table.iter().map(|r| index.iter().map(|&i| r[i].as_str()).collect::<Vec<_>>().join(",")).collect()
}

#[test]
fn thinned_outputs_are_the_matching_rows_of_a_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (full, thin) = (tmp.path().join("full"), tmp.path().join("thin"));
    run(Path::new(TINY), &full, &["--runs", "600", "--threads", "2", "--trajectories", "3"]);
    let metrics = ["strategic_space", "trade_share", "coercion_events", "posture_share", "event_active"];
    let scenario = tiny_with(
        tmp.path(),
        &format!("every = 1\ntrajectories = 3\nmetrics = [{}]", metrics.map(|m| format!("\"{m}\"")).join(", ")),
    );
    run(&scenario, &thin, &["--runs", "600", "--threads", "1"]);
    let steps: BTreeSet<String> = ["0", "4", "8", "12"].map(String::from).into();
    let keep = |file: &str, metric_column: Option<usize>| -> Vec<String> {
        let csv = text(full.join(file));
        let mut lines = csv.lines();
        let mut out = vec![lines.next().unwrap().to_string()];
        let step_column = if file == "trajectories.csv" { 1 } else { 0 };
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let metric_ok = metric_column.is_none_or(|c| metrics.contains(&f[c]) || f[c] == "posture");
            if steps.contains(f[step_column]) && metric_ok {
                out.push(line.to_string());
            }
        }
        out
    };
    let lines = |dir: &Path, file: &str| text(dir.join(file)).lines().map(String::from).collect::<Vec<_>>();
    let summary = lines(&thin, "summary.csv");
    assert!(summary.len() > 4 * 10, "the thinned summary has rows");
    assert_eq!(summary, keep("summary.csv", Some(2)), "summary.csv");
    assert_eq!(lines(&thin, "survival.csv"), keep("survival.csv", None), "survival.csv");
    assert_eq!(lines(&thin, "trajectories.csv"), keep("trajectories.csv", Some(3)), "trajectories.csv");
    assert_eq!(lines(&thin, "outcomes.csv"), lines(&full, "outcomes.csv"));
    // runs.csv: the selected columns of the full table, in the same order.
    let thin_runs = text(thin.join("runs.csv"));
    let header: Vec<String> = rows(&thin_runs)[0].clone();
    assert!(!header.contains(&"hhi".to_string()) && header.contains(&"trade_share.CN".to_string()));
    assert_eq!(thin_runs.lines().map(String::from).collect::<Vec<_>>(), columns(&text(full.join("runs.csv")), &header));
}

#[test]
fn new_outputs_do_not_depend_on_threads_or_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    run(Path::new(BASELINE), &plain, &["--runs", "700", "--threads", "4", "--trajectories", "2"]);
    let shards: Vec<PathBuf> = (0..3).map(|k| tmp.path().join(format!("s{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        let shard = format!("{k}/3");
        run(Path::new(BASELINE), dir, &["--runs", "700", "--threads", "1", "--trajectories", "2", "--shard", &shard]);
    }
    let merged = tmp.path().join("merged");
    cargo_bin_cmd!("hedgesim").arg("merge").args(&shards).arg("--out").arg(&merged).assert().success();
    for file in NEW_FILES.iter().chain(&["summary.csv", "runs.csv", "outcomes.csv"]) {
        assert!(
            text(plain.join(file)) == text(merged.join(file)),
            "{file} differs between a plain run and merged shards"
        );
    }
    // Some runs of the baseline leave hedging and come back: the survival
    // table falls, and the horizon posture shares are outcomes.csv's.
    let survival = rows(&text(plain.join("survival.csv")));
    let still: Vec<u64> = survival[1..].iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(still.windows(2).all(|w| w[1] <= w[0]), "survival never rises");
    assert!(still.last() < still.first(), "some baseline runs leave hedging");
    let runs = rows(&text(plain.join("runs.csv")));
    let col = |name: &str| runs[0].iter().position(|h| h == name).unwrap();
    let (exit, returned) = (col("first_exit_year"), col("returned_to_hedging"));
    let left = runs[1..].iter().filter(|r| r[exit] != "NaN").count() as u64;
    assert_eq!(still[0] as usize, 700 - runs[1..].iter().filter(|r| r[exit] == "2023.0").count());
    assert_eq!(*still.last().unwrap(), 700 - left);
    assert!(runs[1..].iter().any(|r| r[returned] == "true"), "a baseline run returns to hedging");
    let outcomes = rows(&text(plain.join("outcomes.csv")));
    let summary = text(plain.join("summary.csv"));
    for o in &outcomes[1..] {
        let row = summary
            .lines()
            .find(|l| l.starts_with("68,2040.0,posture_share,") && l.split(',').nth(3) == Some(o[0].as_str()))
            .unwrap_or_else(|| panic!("no horizon posture_share row for {}", o[0]));
        assert_eq!(row.split(',').nth(5), Some(o[2].as_str()), "{}: share at the horizon", o[0]);
    }
}

/// Follow run `run` step by step through the library, as the engine does.
fn track(model: &Model, run: u64) -> (RunTrack, Posture, Vec<f64>) {
    let plan = Plan::new(&model.scenario);
    let mut counts = hedgesim::engine::timeline::PathCounts::for_model(model);
    let (mut ws, mut row) = (model.workspace(), vec![0.0; model.layout.len()]);
    let mut t = RunTrack::new(model);
    let partners = model.scenario.partners.len();
    for k in 0..=model.steps() {
        match k {
            0 => model.start(run, &mut ws),
            _ => model.advance(k - 1, &mut ws),
        }
        model.record(&mut ws, &mut row);
        let posture = model.posture(&ws).index(partners);
        t.observe(model, &ws, 0, k, posture, plan.row(k), &mut counts);
    }
    (t, model.posture(&ws), row)
}

#[test]
fn path_columns_are_the_simulated_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("paths");
    run(Path::new(TINY), &out, &["--runs", "300", "--threads", "2", "--trajectories", "4"]);
    let model = Model::new(&Scenario::load(Path::new(TINY)).unwrap());
    let s = &model.scenario;
    let runs = rows(&text(out.join("runs.csv")));
    let col = |name: &str| runs[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let year = |k: Option<usize>| k.map_or("NaN".to_string(), |k| format!("{:?}", s.time_at(k)));
    let (mut onsets, mut coerced) = (0, 0);
    for (run, fields) in runs[1..].iter().enumerate() {
        let (t, posture, _) = track(&model, run as u64);
        assert_eq!(fields[col("posture")], posture.label(s));
        assert_eq!(fields[col("first_exit_year")], year(t.first_exit.map(|e| e.0)), "run {run}");
        let exit_label = t.first_exit.map_or(String::new(), |(_, p)| Posture::from_index(p, 3).label(s));
        assert_eq!(fields[col("first_exit_posture")], exit_label, "run {run}");
        assert_eq!(fields[col("returned_to_hedging")], t.returned.to_string(), "run {run}");
        assert_eq!(fields[col("first_onset_year.outage")], year(t.first_onset[1]), "run {run}");
        assert_eq!(fields[col("onsets.outage")], t.onsets[1].to_string(), "run {run}");
        for (p, partner) in s.partners.iter().enumerate() {
            let name = format!("first_coercion_year.{}", partner.id);
            assert_eq!(fields[col(&name)], year(t.first_coercion[p]), "run {run} {name}");
            coerced += usize::from(t.first_coercion[p].is_some());
        }
        onsets += t.onsets[1] as usize;
        // A hazard event's onsets come with its first onset, and a first
        // coercion with a coercion count at the horizon.
        assert_eq!(t.onsets[1] > 0, t.first_onset[1].is_some());
    }
    assert!(onsets > 0 && coerced > 0, "the sample has onsets ({onsets}) and coercions ({coerced})");
    // The scheduled event has no timing columns; the hazard event has.
    assert!(!runs[0].iter().any(|h| h == "onsets.sanctions" || h == "first_onset_year.sanctions"));
    assert!(runs[0].iter().any(|h| h == "event_active.sanctions"));

    // trajectories.csv: the first 4 runs, every step, the values of runs.csv at the horizon.
    let traj = rows(&text(out.join("trajectories.csv")));
    assert_eq!(traj[0], ["run", "step", "year", "metric", "subject", "value"]);
    let per_step = model.layout.len() + 1 + s.events.len();
    assert_eq!(traj.len() - 1, 4 * (model.steps() + 1) * per_step);
    for run in 0..4 {
        let (_, posture, last) = track(&model, run);
        let horizon: Vec<&Vec<String>> =
            traj[1..].iter().filter(|r| r[0] == run.to_string() && r[1] == model.steps().to_string()).collect();
        for (c, cell) in model.layout.cells.iter().enumerate() {
            let r = horizon.iter().find(|r| r[3] == cell.metric && r[4] == cell.subject).unwrap();
            assert_eq!(r[5].parse::<f64>().unwrap().to_bits(), last[c].to_bits(), "run {run} {}", cell.column());
            assert_eq!(r[5], runs[1 + run as usize][col(&cell.column())]);
        }
        assert!(horizon.iter().any(|r| r[3] == "posture" && r[4] == posture.label(s) && r[5] == "1.0"));
    }
}

/// The rule of docs/outputs.md: every float field carries a decimal point
/// (or is `NaN`, or empty when undefined), every count is a whole number.
#[test]
fn float_columns_always_read_as_floats() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("floats");
    run(Path::new(TINY), &out, &["--runs", "300", "--trajectories", "2"]);
    let whole = ["step", "n", "run", "count", "still_hedging"];
    let text_columns = ["metric", "subject", "posture", "first_exit_posture", "returned_to_hedging"];
    for file in ["summary.csv", "outcomes.csv", "runs.csv", "survival.csv", "trajectories.csv"] {
        let table = rows(&text(out.join(file)));
        for (i, name) in table[0].iter().enumerate() {
            for r in &table[1..] {
                let v = &r[i];
                if whole.contains(&name.as_str()) || name.starts_with("onsets.") {
                    assert!(v.parse::<u64>().is_ok(), "{file} {name}: `{v}` is not a count");
                } else if !text_columns.contains(&name.as_str()) {
                    let float = v.is_empty() || v == "NaN" || (v.contains('.') && v.parse::<f64>().is_ok());
                    assert!(float, "{file} {name}: `{v}` would not be read as a float");
                }
            }
        }
    }
}

#[test]
fn invalid_output_settings_are_rejected_with_their_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (outputs, key, message) in [
        ("every = 0.3", "outputs.every", "not a whole number"),
        ("metrics = [\"trade_share\", \"gdp\"]", "outputs.metrics", "unknown metric `gdp`"),
        ("trajectories = -1", "outputs.trajectories", "must be >= 0"),
    ] {
        let scenario = tiny_with(tmp.path(), outputs);
        cargo_bin_cmd!("hedgesim")
            .arg("validate")
            .arg(&scenario)
            .assert()
            .code(2)
            .stderr(contains(key).and(contains(message)).and(contains("tiny-outputs.toml")));
    }
}
