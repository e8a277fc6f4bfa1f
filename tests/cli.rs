//! The command line on the tiny scenario: help, the files of a result
//! directory and their formats (docs/outputs.md), overwrite protection,
//! flag overrides, sharded runs and `merge`, and interrupted runs with
//! `--resume`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use predicates::str::contains;
use sha2::{Digest, Sha256};

const TINY: &str = "tests/fixtures/tiny.toml";
/// tiny.toml: 600 runs, seed 7, 2023..2026 at 4 steps a year, partners RU, CN, EU.
const TINY_RUNS: usize = 600;
const TINY_STEPS: usize = 12;
const HEADER: &str = "step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max,p05,p25,p50,p75,p95";
const TABLES: [&str; 4] = ["summary.csv", "outcomes.csv", "runs.csv", "survival.csv"];

fn hedgesim() -> assert_cmd::Command {
    cargo_bin_cmd!("hedgesim")
}

/// `hedgesim run SCENARIO --out OUT --quiet EXTRA...`, which must succeed.
fn run_ok(scenario: &str, out: &Path, extra: &[&str]) {
    hedgesim().arg("run").arg(scenario).arg("--out").arg(out).arg("--quiet").args(extra).assert().success();
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(path: impl AsRef<Path>) -> String {
    String::from_utf8(read(path)).unwrap()
}

/// Names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Every file of a directory (and its subdirectories, as `sub/name`) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in entries(dir) {
        let path = dir.join(&name);
        if path.is_dir() {
            files.extend(snapshot(&path).into_iter().map(|(inner, bytes)| (format!("{name}/{inner}"), bytes)));
        } else {
            files.insert(name, read(path));
        }
    }
    files
}

fn assert_same_tables(a: &Path, b: &Path, files: &[&str]) {
    for file in files {
        assert!(read(a.join(file)) == read(b.join(file)), "{file} differs between {} and {}", a.display(), b.display());
    }
}

/// The (metric, subject) cells of tiny in output order (docs/outputs.md).
fn tiny_cells() -> Vec<(String, String)> {
    let mut cells: Vec<(String, String)> =
        ["trade_total_usd_bn", "hhi", "effective_partners", "strategic_space", "coercion_events_total"]
            .iter()
            .map(|m| (m.to_string(), String::new()))
            .collect();
    for metric in [
        "trade_share",
        "trade_usd_bn",
        "trade_attention",
        "diplomatic_attention",
        "engagement",
        "pressure",
        "coercion_events",
    ] {
        for p in ["RU", "CN", "EU"] {
            cells.push((metric.to_string(), p.to_string()));
        }
    }
    for metric in ["group_share", "group_attention"] {
        for g in ["great_power", "west"] {
            cells.push((metric.to_string(), g.to_string()));
        }
    }
    cells
}

// ---------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------

#[test]
fn help_lists_the_commands() {
    let assert = hedgesim().arg("--help").assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for word in ["run", "validate", "compare", "merge", "bench", "Usage: hedgesim <COMMAND>"] {
        assert!(out.contains(word), "--help lacks {word:?}:\n{out}");
    }
}

#[test]
fn run_help_lists_every_flag() {
    let assert = hedgesim().args(["run", "--help"]).assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for flag in [
        "--runs",
        "--seed",
        "--threads",
        "--out",
        "--force",
        "--quiet",
        "--no-runs-table",
        "--shard",
        "--resume",
        "SCENARIO.toml",
    ] {
        assert!(out.contains(flag), "run --help lacks {flag}:\n{out}");
    }
}

#[test]
fn no_command_is_a_usage_error() {
    hedgesim().assert().failure().stderr(contains("Usage: hedgesim <COMMAND>"));
    hedgesim().args(["run", TINY, "--bogus"]).assert().code(2).stderr(contains("--bogus"));
}

// ---------------------------------------------------------------------------
// A run and its result directory
// ---------------------------------------------------------------------------

#[test]
fn run_writes_a_complete_result_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    hedgesim().args(["run", TINY, "--quiet", "--out"]).arg(&out).assert().success().stdout("").stderr("");
    // Nothing else next to it: no hidden `.out.partial` left behind.
    assert_eq!(entries(tmp.path()), ["out"]);
    let files = entries(&out);
    for file in ["summary.csv", "outcomes.csv", "runs.csv", "survival.csv", "manifest.json", "report.md"] {
        assert!(files.contains(&file.to_string()), "{file} missing from {files:?}");
    }
    assert!(!files.iter().any(|f| f.ends_with(".tmp") || f.ends_with(".part")), "leftovers: {files:?}");

    // summary.csv: the header, then per step the cells, then the 7 posture
    // shares and the 2 event shares (docs/outputs.md); the cells here.
    let summary = text(out.join("summary.csv"));
    let mut lines = summary.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let all_rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let shares = |m: &str| m == "posture_share" || m == "event_active";
    let rows: Vec<Vec<&str>> = all_rows.iter().filter(|r| !shares(r[2])).cloned().collect();
    let cells = tiny_cells();
    assert_eq!(cells.len(), 30);
    assert_eq!(rows.len(), (TINY_STEPS + 1) * cells.len());
    assert_eq!(all_rows.len(), (TINY_STEPS + 1) * (cells.len() + 7 + 2));
    for (i, row) in rows.iter().enumerate() {
        let (step, (metric, subject)) = (i / cells.len(), &cells[i % cells.len()]);
        assert_eq!(row.len(), 17, "row {i}: {row:?}");
        assert_eq!(row[0], step.to_string(), "row {i}");
        assert_eq!(row[1].parse::<f64>().unwrap(), 2023.0 + step as f64 / 4.0, "row {i} year");
        assert_eq!((row[2], row[3]), (metric.as_str(), subject.as_str()), "row {i}");
        assert_eq!(row[4], TINY_RUNS.to_string(), "row {i} n");
        let v: Vec<f64> = row[5..].iter().map(|x| x.parse::<f64>().unwrap()).collect();
        let (mean, sd, low, high, min, max) = (v[0], v[1], v[3], v[4], v[5], v[6]);
        assert!(min <= mean && mean <= max, "row {i}: mean outside [min, max]");
        assert!(sd >= 0.0 && low <= mean && mean <= high, "row {i}: CI");
        assert!(v[7..].windows(2).all(|w| w[0] <= w[1]), "row {i}: quantiles not sorted");
        assert!(v[7..].iter().all(|&q| min <= q && q <= max), "row {i}: quantile outside [min, max]");
    }
    assert_eq!(rows[0][1], "2023.0", "year of the base row");
    assert_eq!(rows[cells.len()][1], "2023.25");
    assert_eq!(rows.last().unwrap()[1], "2026.0");

    // runs.csv: one row per run, in run order, with every cell at the horizon.
    let runs = text(out.join("runs.csv"));
    let runs_lines: Vec<&str> = runs.lines().collect();
    assert_eq!(runs_lines.len(), TINY_RUNS + 1);
    let mut header = vec!["run".to_string(), "posture".to_string()];
    header.extend(cells.iter().map(|(m, s)| if s.is_empty() { m.clone() } else { format!("{m}.{s}") }));
    let shares: Vec<&str> = runs_lines[0].split(',').skip(header.len()).take(9).collect();
    assert_eq!(shares[0], "posture_share.hedging");
    assert_eq!(shares[7..], ["event_active.sanctions", "event_active.outage"]);
    header.extend(shares.iter().map(|s| s.to_string()));
    header.extend(
        ["first_exit_year", "first_exit_posture", "returned_to_hedging", "first_onset_year.outage", "onsets.outage"]
            .map(String::from),
    );
    header.extend(["RU", "CN", "EU"].map(|p| format!("first_coercion_year.{p}")));
    assert_eq!(runs_lines[0], header.join(","));
    let mut posture_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut hhi = Vec::new();
    for (i, line) in runs_lines[1..].iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "runs.csv row {i}");
        assert_eq!(fields[0], i.to_string());
        *posture_counts.entry(fields[1].to_string()).or_default() += 1;
        hhi.push(fields[3].parse::<f64>().unwrap());
    }
    // ... consistent with summary.csv at the horizon (min and max are exact).
    let horizon_hhi = &rows[TINY_STEPS * cells.len() + 1];
    assert_eq!(horizon_hhi[2], "hhi");
    let (min, max) = hhi.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!(horizon_hhi[10].parse::<f64>().unwrap(), min);
    assert_eq!(horizon_hhi[11].parse::<f64>().unwrap(), max);
    let mean = hhi.iter().sum::<f64>() / hhi.len() as f64;
    assert!((horizon_hhi[5].parse::<f64>().unwrap() - mean).abs() < 1e-12, "mean hhi");

    // outcomes.csv: counts of the postures in runs.csv, in the documented order.
    let outcomes = text(out.join("outcomes.csv"));
    let mut lines = outcomes.lines();
    assert_eq!(lines.next(), Some("posture,count,share,ci95_low,ci95_high"));
    let mut total = 0;
    let mut order = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 5, "{line}");
        let count: u64 = f[1].parse().unwrap();
        // Every posture is listed, those that did not occur with 0.
        assert_eq!(posture_counts.get(f[0]).copied().unwrap_or(0), count, "count of {} in runs.csv", f[0]);
        let (share, lo, hi): (f64, f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap());
        assert_eq!(share, count as f64 / TINY_RUNS as f64);
        assert!(0.0 <= lo && lo <= share && share <= hi && hi <= 1.0, "{line}");
        total += count;
        order.push(f[0].to_string());
    }
    assert_eq!(total, TINY_RUNS as u64);
    assert_eq!(order.len(), 7, "every posture of 3 partners");
    let rank = |p: &str| {
        let partner = |id: &str| ["RU", "CN", "EU"].iter().position(|x| *x == id).unwrap();
        match p.split_once(':') {
            None => (0, 0),
            Some(("aligned", id)) => (1, partner(id)),
            Some(("dependent", id)) => (2, partner(id)),
            _ => panic!("unknown posture {p}"),
        }
    };
    assert!(order.windows(2).all(|w| rank(&w[0]) < rank(&w[1])), "outcomes order: {order:?}");

    // manifest.json: provenance.
    let manifest: serde_json::Value = serde_json::from_slice(&read(out.join("manifest.json"))).unwrap();
    let sha: String = Sha256::digest(read(TINY)).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(manifest["scenario_sha256"], sha.as_str());
    assert_eq!(manifest["runs"], 600);
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["steps"], 12);
    assert_eq!(manifest["engine"], "hedgesim");
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["scenario"], "tiny");
    assert_eq!(manifest["partners"], serde_json::json!(["RU", "CN", "EU"]));
    assert_eq!(manifest["groups"], serde_json::json!(["great_power", "west"]));
    assert_eq!(manifest["runs_table"], true);
    assert_eq!(manifest["chunk_size"], 256);
    assert!(manifest["shard"].is_null());
    assert!(manifest["resolved_scenario"].is_object());

    let report = text(out.join("report.md"));
    assert!(report.contains("tiny"), "report.md should name the scenario:\n{report}");
}

#[test]
fn the_default_result_directory_is_results_slash_name() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fs::canonicalize(TINY).unwrap();
    hedgesim().current_dir(tmp.path()).arg("run").arg(&scenario).args(["--runs", "10", "-q"]).assert().success();
    assert!(tmp.path().join("results/tiny/summary.csv").is_file());
    hedgesim()
        .current_dir(tmp.path())
        .arg("run")
        .arg(&scenario)
        .args(["--runs", "300", "--shard", "1/2", "-q"])
        .assert()
        .success();
    assert!(tmp.path().join("results/tiny.shard-1-of-2/manifest.json").is_file());
    assert_eq!(entries(&tmp.path().join("results")), ["tiny", "tiny.shard-1-of-2"]);
}

#[test]
fn an_existing_result_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_ok(TINY, &out, &["--runs", "50"]);
    let before = snapshot(&out);
    hedgesim()
        .args(["run", TINY, "--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--force").and(contains(format!("{} already exists", out.display()))));
    assert!(snapshot(&out) == before, "the existing result was modified");
    assert_eq!(entries(tmp.path()), ["out"]);

    // --force replaces it (here with another seed, so the change is visible).
    run_ok(TINY, &out, &["--runs", "50", "--seed", "3", "--force"]);
    let manifest: serde_json::Value = serde_json::from_slice(&read(out.join("manifest.json"))).unwrap();
    assert_eq!(manifest["seed"], 3);
    assert!(read(out.join("summary.csv")) != before["summary.csv"]);
    assert_eq!(entries(tmp.path()), ["out"], "no `.out.old` or `.out.partial` left");
}

#[test]
fn runs_and_seed_flags_override_the_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_ok(TINY, &out, &["--runs", "10", "--seed", "3"]);
    let manifest: serde_json::Value = serde_json::from_slice(&read(out.join("manifest.json"))).unwrap();
    assert_eq!(manifest["runs"], 10);
    assert_eq!(manifest["seed"], 3);
    assert_eq!(text(out.join("runs.csv")).lines().count(), 11);
    let summary = text(out.join("summary.csv"));
    assert!(summary.lines().skip(1).all(|l| l.split(',').nth(4) == Some("10")), "n must be 10 everywhere");
    let outcomes = text(out.join("outcomes.csv"));
    let total: u64 = outcomes.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(total, 10);
}

#[test]
fn no_runs_table_writes_no_runs_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (with, without) = (tmp.path().join("with"), tmp.path().join("without"));
    run_ok(TINY, &with, &["--runs", "300"]);
    run_ok(TINY, &without, &["--runs", "300", "--no-runs-table"]);
    assert!(!without.join("runs.csv").exists());
    assert!(without.join("summary.csv").exists());
    let manifest: serde_json::Value = serde_json::from_slice(&read(without.join("manifest.json"))).unwrap();
    assert_eq!(manifest["runs_table"], false);
    // The other tables do not depend on it.
    assert_same_tables(&with, &without, &["summary.csv", "outcomes.csv"]);
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<PathBuf> = fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "expected the scenario library, found {files:?}");
    let assert = hedgesim().arg("validate").args(&files).arg(TINY).arg("tests/fixtures/long.toml").assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for file in &files {
        assert!(out.contains(&format!("ok: {}", file.display())), "{} not reported ok:\n{out}", file.display());
    }
    assert_eq!(out.lines().count(), files.len() + 2);
}

// ---------------------------------------------------------------------------
// Shards and merge
// ---------------------------------------------------------------------------

/// Shards 0/2 and 1/2 of tiny (600 runs = 3 chunks) with `extra` flags.
fn shards(tmp: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (s0, s1) = (tmp.join("s0"), tmp.join("s1"));
    for (k, dir) in [(0, &s0), (1, &s1)] {
        let shard = format!("{k}/2");
        let mut args = vec!["--shard", shard.as_str()];
        args.extend_from_slice(extra);
        run_ok(TINY, dir, &args);
    }
    (s0, s1)
}

fn merge(shard_dirs: &[&Path], out: &Path) -> assert_cmd::assert::Assert {
    hedgesim().arg("merge").args(shard_dirs).arg("--out").arg(out).assert()
}

#[test]
fn merged_shards_equal_a_plain_run() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    run_ok(TINY, &plain, &["--threads", "2"]);
    let (s0, s1) = shards(tmp.path(), &["--threads", "1"]);
    let m0: serde_json::Value = serde_json::from_slice(&read(s0.join("manifest.json"))).unwrap();
    assert_eq!(m0["shard"], serde_json::json!({ "index": 0, "count": 2 }));
    assert!(!s0.join("summary.csv").exists(), "a shard is not a result");
    let merged = tmp.path().join("merged");
    merge(&[&s1, &s0], &merged).success(); // any order
    assert_same_tables(&plain, &merged, &TABLES);
    let manifest: serde_json::Value = serde_json::from_slice(&read(merged.join("manifest.json"))).unwrap();
    assert!(manifest["shard"].is_null());
    assert_eq!(manifest["runs"], 600);
    assert_eq!(entries(tmp.path()), ["merged", "plain", "s0", "s1"], "no hidden leftovers");
}

#[test]
fn merge_without_runs_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    run_ok(TINY, &plain, &["--no-runs-table"]);
    let (s0, s1) = shards(tmp.path(), &["--no-runs-table"]);
    let merged = tmp.path().join("merged");
    merge(&[&s0, &s1], &merged).success();
    assert!(!merged.join("runs.csv").exists());
    assert_same_tables(&plain, &merged, &["summary.csv", "outcomes.csv"]);
}

/// `merge` fails with exit code 2, names the problem, and writes nothing.
fn assert_merge_refused(tmp: &Path, shard_dirs: &[&Path], problem: &str) {
    let out = tmp.join("merged");
    let before = entries(tmp);
    merge(shard_dirs, &out).code(2).stderr(contains("cannot merge; nothing written").and(contains(problem)));
    assert!(!out.exists());
    assert_eq!(entries(tmp), before, "merge left files behind");
}

#[test]
fn merge_with_a_missing_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let (s0, _s1) = shards(tmp.path(), &[]);
    assert_merge_refused(tmp.path(), &[&s0], "shard 1/2 is missing");
}

#[test]
fn merge_with_a_duplicate_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let (s0, s1) = shards(tmp.path(), &[]);
    assert_merge_refused(tmp.path(), &[&s0, &s1, &s0], "shard 0/2 is given 2 times");
}

#[test]
fn merge_of_shards_with_different_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let (s0, _) = shards(tmp.path(), &[]);
    let other = tmp.path().join("s1-seed8");
    run_ok(TINY, &other, &["--shard", "1/2", "--seed", "8"]);
    assert_merge_refused(
        tmp.path(),
        &[&s0, &other],
        &format!("{}: seed differs from {}", other.display(), s0.display()),
    );
}

#[test]
fn merge_of_a_complete_result() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    run_ok(TINY, &plain, &["--runs", "20"]);
    assert_merge_refused(tmp.path(), &[&plain], "not a shard directory");
}

#[test]
fn merge_keeps_an_existing_output_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let (s0, s1) = shards(tmp.path(), &[]);
    let out = tmp.path().join("merged");
    merge(&[&s0, &s1], &out).success();
    let before = snapshot(&out);
    merge(&[&s0, &s1], &out).code(2).stderr(contains("--force"));
    assert!(snapshot(&out) == before);
    hedgesim().arg("merge").args([&s0, &s1]).arg("--out").arg(&out).arg("--force").assert().success();
}

// ---------------------------------------------------------------------------
// Interrupted runs
// ---------------------------------------------------------------------------

#[test]
fn resume_without_an_interrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    hedgesim()
        .args(["run", TINY, "--quiet", "--resume", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--resume: no interrupted run to resume").and(contains("run without --resume")));
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "nothing written");
}

/// Start `hedgesim run` in the background.
fn spawn_run(scenario: &str, out: &Path, extra: &[&str]) -> Child {
    std::process::Command::new(cargo_bin!("hedgesim"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until `path` exists; panics if `child` exits first or after `limit`.
fn wait_for(path: &Path, child: &mut Child, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("hedgesim exited ({status}) before {} appeared; raise --runs", path.display());
        }
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number of runs a (non-quiet) run reports having computed.
fn computed_runs(stderr: &str) -> u64 {
    let after = stderr.split(" (").nth(1).unwrap_or_else(|| panic!("no summary line in {stderr:?}"));
    after.split(' ').next().unwrap().parse().unwrap()
}

/// Files of an interrupted run: the working directory only, with its checkpoint.
fn assert_interrupted(tmp: &Path, partial: &Path) {
    assert_eq!(entries(tmp), [".out.partial"], "only the hidden working directory may exist");
    let files = entries(partial);
    for file in ["checkpoint.json", "scenario.toml", "runs.part"] {
        assert!(files.contains(&file.to_string()), "{file} missing from {files:?}");
    }
    assert!(!files.contains(&"summary.csv".to_string()), "no result may be written: {files:?}");
}

const LONG: &str = "tests/fixtures/long.toml";
/// About 5 s at one thread; the run is killed at its first checkpoint (~2 s).
const LONG_RUNS: &str = "35000";

#[test]
fn killed_run_resumes_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    let mut child = spawn_run(LONG, &out, &["--runs", LONG_RUNS, "--threads", "1", "--quiet"]);
    // Kill (SIGKILL: no handler runs) as soon as a checkpoint is on disk.
    wait_for(&partial.join("checkpoint.bin"), &mut child, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "the run finished before it was killed; raise --runs");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed run must not leave a result directory");
    assert_interrupted(tmp.path(), &partial);

    // Resume (without --quiet, to read how many runs it computed).
    let assert = hedgesim()
        .args(["run", LONG, "--runs", LONG_RUNS, "--threads", "2", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let computed = computed_runs(&stderr);
    assert!(computed < 35_000, "the resumed run started over: {stderr}");
    assert_eq!(entries(tmp.path()), ["out"], "the working directory is gone after success");

    let fresh = tmp.path().join("fresh");
    run_ok(LONG, &fresh, &["--runs", LONG_RUNS, "--threads", "2"]);
    assert_same_tables(&fresh, &out, &TABLES);
    assert_eq!(text(out.join("runs.csv")).lines().count(), 35_001);
}

#[test]
fn killed_before_the_first_checkpoint_resume_starts_over() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    let mut child = spawn_run(LONG, &out, &["--runs", "8000", "--threads", "1", "--quiet"]);
    wait_for(&partial.join("runs.part"), &mut child, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the run finished before it was killed; raise --runs");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!partial.join("checkpoint.bin").exists(), "too slow: a checkpoint was written");
    assert_interrupted(tmp.path(), &partial);
    let assert = hedgesim()
        .args(["run", LONG, "--runs", "8000", "--threads", "2", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(computed_runs(&stderr), 8000, "without a checkpoint everything is recomputed");
    let fresh = tmp.path().join("fresh");
    run_ok(LONG, &fresh, &["--runs", "8000"]);
    assert_same_tables(&fresh, &out, &TABLES);
}

#[test]
fn ctrl_c_stops_with_exit_130_and_resume_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    let mut child = spawn_run(LONG, &out, &["--runs", "20000", "--threads", "1", "--quiet"]);
    wait_for(&partial.join("runs.part"), &mut child, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "cannot send SIGINT");
    let start = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(3), "Ctrl-C took {:?}", start.elapsed());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: no result written") && stderr.contains("--resume"), "{stderr}");
    assert_interrupted(tmp.path(), &partial);

    // A resume with other settings is refused and keeps the checkpoint.
    hedgesim()
        .args(["run", LONG, "--runs", "1000", "--resume", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("different settings"));
    assert_interrupted(tmp.path(), &partial);

    let assert = hedgesim()
        .args(["run", LONG, "--runs", "20000", "--threads", "2", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(computed_runs(&stderr) < 20_000, "Ctrl-C should keep the finished runs: {stderr}");
    let fresh = tmp.path().join("fresh");
    run_ok(LONG, &fresh, &["--runs", "20000", "--threads", "2"]);
    assert_same_tables(&fresh, &out, &TABLES);
}

#[test]
fn a_run_that_produces_nan_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("unanchored.toml");
    fs::write(
        &scenario,
        "[scenario]\nname = \"unanchored\"\nbase_year = 2023\nhorizon = 2053\nsteps_per_year = 52\n\
         [monte_carlo]\nruns = 4\n[model]\ntrade_friction = 0\n\
         [[partner]]\nid = \"A\"\ntrade = 50\ngdp = 1000\n[[partner]]\nid = \"B\"\ntrade = 50\ngdp = 1000\n\
         [[event]]\nname = \"crash\"\ntarget = \"group:other\"\nhazard = 50\nshock = { trade = 0.2 }\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let output = hedgesim().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "hedgesim panicked:\n{stderr}");
    match output.status.code() {
        // Either a result without NaN ...
        Some(0) => assert!(!text(out.join("summary.csv")).contains("NaN")),
        // ... or a clean error that writes nothing.
        Some(1 | 2) => assert!(!out.exists() && stderr.starts_with("error: "), "{stderr}"),
        other => panic!("exit code {other:?}:\n{stderr}"),
    }
}

/// `bench`: a row per thread count in the table and the CSV, and the
/// change against the file of an earlier bench on the second call.
#[test]
fn bench_writes_its_table_and_compares_with_the_previous_file() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("bench").join("tiny.csv");
    let bench = || {
        let output = hedgesim()
            .args(["bench", TINY, "--runs", "40", "--threads", "1,2", "--repeat", "3", "--out"])
            .arg(&csv)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = bench();
    assert!(first.contains("median and best of 3 interleaved repetitions"), "{first}");
    let rows: Vec<&str> = first.lines().filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |")).collect();
    assert_eq!(rows.len(), 2, "{first}");
    assert!(rows.iter().all(|r| r.ends_with("| n/a |")), "{first}");
    let written = text(&csv);
    let mut lines = written.lines();
    assert_eq!(
        lines.next(),
        Some("threads,runs,median_s,best_s,runs_per_s,partner_steps_per_s,speedup,efficiency,peak_rss_mb")
    );
    for (line, threads) in lines.zip(["1", "2"]) {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields[0].to_string(), threads);
        assert_eq!(fields[1], 40.0);
        assert!(fields[3] <= fields[2] && fields[3] > 0.0, "best <= median: {line}");
        assert!((fields[5] - 40.0 * TINY_STEPS as f64 * 3.0 / fields[2]).abs() < 1e-6 * fields[5], "{line}");
    }
    let second = bench();
    let rows: Vec<&str> = second.lines().filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |")).collect();
    assert!(rows.iter().all(|r| r.ends_with("% |")), "{second}");
}

#[test]
fn bench_refuses_zero_threads_and_zero_repetitions() {
    for flags in [["--threads", "0"], ["--repeat", "0"]] {
        hedgesim().args(["bench", TINY, "--runs", "10"]).args(flags).assert().failure().stderr(contains("at least 1"));
    }
}
