//! `hedgesim explore` and scenario composition from the command line:
//! outputs, determinism across thread counts, common random numbers, and
//! invalid experiments rejected before any work.

use std::path::Path;

use assert_cmd::Command;

mod common;
use common::{LHS, experiment};

fn hedgesim() -> Command {
    Command::cargo_bin("hedgesim").expect("binary built")
}

fn run(exp: &Path, out: &Path, threads: &str) -> std::process::Output {
    hedgesim()
        .args(["explore", exp.to_str().unwrap(), "--quiet", "--threads", threads, "--out", out.to_str().unwrap()])
        .output()
        .expect("runs")
}

#[test]
fn explore_writes_every_file_and_the_same_bytes_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(dir.path(), "lhs", LHS);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (out, threads) in [(&one, "1"), (&two, "2")] {
        let o = run(&exp, out, threads);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for file in
        ["design.csv", "points.csv", "sensitivity.csv", "discovery.csv", "report.md", "report.html", "scenario.toml"]
    {
        let a = std::fs::read(one.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(a, std::fs::read(two.join(file)).unwrap(), "{file} differs between 1 and 2 threads");
    }
    // --force replaces an explore result (and only with --force).
    let again = run(&exp, &one, "2");
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    let forced = hedgesim()
        .args(["explore", exp.to_str().unwrap(), "--quiet", "--force", "--out", one.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(std::fs::read(one.join("points.csv")).unwrap(), std::fs::read(two.join("points.csv")).unwrap());
    let points = std::fs::read_to_string(one.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 1 + 12 * 3);
    assert!(points.starts_with("point,outcome,metric,subject,year,n,mean,sd,se,ci95_low,ci95_high,p05,p50,p95\n"));
    let design = std::fs::read_to_string(one.join("design.csv")).unwrap();
    assert_eq!(design.lines().count(), 13);
    assert!(design.starts_with("point,partner.RU.assertiveness,"), "{design}");
    let sensitivity = std::fs::read_to_string(one.join("sensitivity.csv")).unwrap();
    assert!(sensitivity.starts_with("outcome,parameter,src,src_ci95,r2,spearman,"), "{sensitivity}");
    assert_eq!(sensitivity.lines().count(), 1 + 3 * 3);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["points"], 12);
    assert_eq!(manifest["runs_per_point"], 6);
    assert_eq!(manifest["design"], "lhs");
    // No working directory is left behind.
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn points_share_their_random_numbers() {
    // The lever acts from 2026: before it, every point must give the same
    // values run for run (common random numbers), after it they differ.
    let dir = tempfile::tempdir().unwrap();
    let body = r#"design = "grid"
runs = 8
outcomes = ["trade_share.RU@2025", "trade_share.RU@2040"]

[[parameter]]
path = 'event."sanctions risk on Russia-linked trade".add.sanctions_risk'
levels = [0.0, 0.2, 0.4, 0.6]
"#;
    let exp = experiment(dir.path(), "grid", body);
    let out = dir.path().join("out");
    let o = run(&exp, &out, "2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    let rows: Vec<&str> = points.lines().skip(1).collect();
    let tail = |row: &str| row.split_once(',').unwrap().1.to_string();
    // Rows: point 0 (2025, 2040), point 1 (2025, 2040), ...
    assert_eq!(tail(rows[0]), tail(rows[2]));
    assert_eq!(tail(rows[0]), tail(rows[4]));
    assert_ne!(tail(rows[1]), tail(rows[3]));
    assert_ne!(tail(rows[3]), tail(rows[5]));
}

#[test]
fn a_sobol_experiment_writes_first_and_total_order_indices() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"design = "sobol"
samples = 8
runs = 4
outcomes = ["strategic_space@2040"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = "partner.CN.gdp_growth"
range = [0.02, 0.06]
"#;
    let exp = experiment(dir.path(), "sobol", body);
    let out = dir.path().join("out");
    let o = run(&exp, &out, "2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let design = std::fs::read_to_string(out.join("design.csv")).unwrap();
    assert_eq!(design.lines().count(), 1 + 8 * (2 + 2));
    let s = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    assert!(s.starts_with("outcome,parameter,S1,S1_ci95,ST,ST_ci95\n"), "{s}");
    assert_eq!(s.lines().count(), 3);
}

/// An invalid experiment: exit 2, a located message, nothing written.
fn rejected(body: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(dir.path(), "bad", body);
    let out = dir.path().join("out");
    let o = run(&exp, &out, "1");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "stderr lacks `{e}`:\n{stderr}");
    }
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the experiment file remains");
}

#[test]
fn wrong_parameter_paths_are_located_in_the_experiment_file() {
    rejected(
        "design = \"lhs\"\nsamples = 4\nruns = 2\noutcomes = [\"hhi@2040\"]\n\n[[parameter]]\npath = \"partner.RUS.leverage\"\nrange = [0.1, 0.5]\n",
        &["bad.toml:10:8", "no partner has id `RUS`", "did you mean `RU`"],
    );
}

#[test]
fn ranges_outside_the_valid_range_are_rejected_with_the_range() {
    rejected(
        "design = \"lhs\"\nsamples = 4\nruns = 2\noutcomes = [\"hhi@2040\"]\n\n[[parameter]]\npath = \"partner.RU.leverage\"\nrange = [0.5, 1.5]\n",
        &["bad.toml:11:", "leverage must be in [0, 1], got 1.5"],
    );
}

#[test]
fn outcomes_outside_the_scenario_are_rejected() {
    rejected(
        "design = \"lhs\"\nsamples = 4\nruns = 2\noutcomes = [\"trade_share.XX@2040\"]\n\n[[parameter]]\npath = \"partner.RU.leverage\"\nrange = [0.1, 0.5]\n",
        &["bad.toml:7:", "no partner has id `XX`"],
    );
    rejected(
        "design = \"lhs\"\nsamples = 4\nruns = 2\noutcomes = [\"hhi@2050\"]\n\n[[parameter]]\npath = \"partner.RU.leverage\"\nrange = [0.1, 0.5]\n",
        &["bad.toml:7:", "year 2050 is outside"],
    );
}

#[test]
fn run_with_set_overrides_and_rejects_wrong_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = hedgesim()
        .args(["run", "scenarios/baseline.toml", "--runs", "20", "--quiet", "--out", out.to_str().unwrap()])
        .args(["--set", "partner.RU.leverage=0.95", "--set", "model.coercion_severity=0.2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let resolved = &manifest["resolved_scenario"];
    assert_eq!(resolved["partner"][0]["id"], "RU");
    assert_eq!(resolved["partner"][0]["leverage"], 0.95);
    assert_eq!(resolved["model"]["coercion_severity"], 0.2);
    // The copy is self-contained and names the overrides.
    let copy = std::fs::read_to_string(out.join("scenario.toml")).unwrap();
    assert!(copy.contains("--set partner.RU.leverage=0.95"), "{copy}");
    assert!(!copy.contains("extends"));

    let bad = dir.path().join("bad");
    let o = hedgesim()
        .args(["run", "scenarios/baseline.toml", "--quiet", "--out", bad.to_str().unwrap()])
        .args(["--set", "hedger.autonomy_wieght=0.2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--set hedger.autonomy_wieght=0.2: error in `hedger.autonomy_wieght`"), "{stderr}");
    assert!(stderr.contains("did you mean `autonomy_weight`? valid keys here:"), "{stderr}");
    assert!(!bad.exists());
}

#[test]
fn shipped_experiments_validate() {
    for name in ["russia-drivers", "hedging-breaks", "sea-levers"] {
        let text = std::fs::read_to_string(format!("experiments/{name}.toml")).unwrap();
        let e = hedgesim::explore::spec::parse_experiment(Path::new(name), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.name, name);
    }
}

#[test]
fn negative_runs_and_seeds_name_the_flag_and_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(dir.path(), "lhs", LHS);
    for (flag, value) in [("--runs", "-5"), ("--seed", "-1")] {
        let o = hedgesim().args(["explore", exp.to_str().unwrap(), flag, value]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(flag) && stderr.contains("must be an integer in"), "{stderr}");
    }
}
