//! `hedgesim score`: CRPS against reference numbers from the `properscoring`
//! Python package (computed by `scripts/crps-reference.py --print`), and the
//! command end to end on a real run of the tiny scenario: its files, the
//! choice between runs and quantiles, consistency with runs.csv, and invalid
//! input (exit 2, nothing written).

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use hedgesim::score::crps::{Ensemble, QuantileKnots};
use predicates::str::contains;

const TINY: &str = "tests/fixtures/tiny.toml";

fn hedgesim() -> assert_cmd::Command {
    cargo_bin_cmd!("hedgesim")
}

/// Reference values printed by `scripts/crps-reference.py --print`
/// (properscoring 0.1, numpy 2.4, scipy 1.17): `crps_ensemble` of the
/// ensemble x_i = 0.1 + 0.3 ((7919 i) mod 1000) / 1000, i < 250, and
/// `crps_quadrature` of the piecewise-linear CDF through the knots below.
#[test]
fn crps_matches_properscoring() {
    let ensemble: Vec<f64> = (0..250).map(|i| 0.1 + 0.3 * ((i * 7919) % 1000) as f64 / 1000.0).collect();
    let e = Ensemble::new(ensemble).unwrap();
    let reference = [
        (0.05, 0.14951452640000001),
        (0.1, 0.09951452639999998),
        (0.2137, 0.029648126400000002),
        (0.25, 0.025268126400000007),
        (0.4, 0.09981452640000003),
        (0.55, 0.24981452640000001),
    ];
    for (y, want) in reference {
        assert!((e.crps(y) - want).abs() < 1e-14, "ensemble y={y}: {} vs properscoring {want}", e.crps(y));
    }
    let k = QuantileKnots::new(0.1, &[(0.05, 0.12), (0.25, 0.15), (0.5, 0.2), (0.75, 0.22), (0.95, 0.3)], 0.5).unwrap();
    // crps_quadrature integrates (F - H)^2 numerically over a kinked CDF:
    // its values are within ~2e-8 of the exact integral (y = 0.05: exact
    // 0.1157333..., quadrature 0.11573331906).
    let reference = [
        (0.05, 0.11573331905699716),
        (0.14, 0.031400000011066465),
        (0.2, 0.013233333377894363),
        (0.26, 0.04223333333333334),
        (0.6, 0.36423333312626494),
    ];
    for (y, want) in reference {
        assert!((k.crps(y) - want).abs() < 1e-7, "knots y={y}: {} vs properscoring {want}", k.crps(y));
    }
}

/// Run tiny.toml (2023 -> 2026, RU CN EU) into `dir/result`.
fn tiny_result(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("result");
    hedgesim().arg("run").arg(TINY).arg("--out").arg(&out).arg("--quiet").assert().success();
    out
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

/// The per-run values of one `runs.csv` column.
fn runs_column(result: &Path, column: &str) -> Vec<f64> {
    let text = fs::read_to_string(result.join("runs.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == column).unwrap();
    lines.map(|l| l.split(',').nth(i).unwrap().parse().unwrap()).collect()
}

#[test]
fn score_end_to_end_on_a_real_run() {
    let tmp = tempfile::tempdir().unwrap();
    let result = tiny_result(tmp.path());
    let obs = tmp.path().join("observed.csv");
    write(
        &obs,
        "year,metric,subject,value,source\n\
         2022,trade_share,CN,0.2,made up\n\
         2023,trade_share,CN,0.25,made up\n\
         2023,group_share,west,0.4,made up\n\
         2023,trade_total_usd_bn,,60,made up\n\
         2024.5,trade_share,CN,0.3,made up\n\
         2026,trade_share,CN,0.31,made up\n\
         2026,group_share,west,0.35,made up\n\
         2026,trade_total_usd_bn,,70,made up\n",
    );
    let dir = tmp.path().join("score");
    let assert = hedgesim().arg("score").arg(&result).arg(&obs).arg("--out").arg(&dir).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("## Overall") && stdout.contains("| all shares |"), "{stdout}");
    for f in ["score.csv", "score_overall.csv", "score.md", "score.json"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let csv = fs::read_to_string(dir.join("score.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "the 2022 and 2023 rows are references, not scored:\n{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // 2024.5 is not the horizon: scored from the summary quantiles.
    assert_eq!(rows[0][col("year")], "2024.5");
    assert_eq!(rows[0][col("method")], "quantiles");
    for r in &rows[1..] {
        assert_eq!(r[col("method")], "runs", "{r:?}");
    }
    for r in &rows {
        let p: f64 = r[col("percentile")].parse().unwrap();
        let crps: f64 = r[col("crps")].parse().unwrap();
        assert!((0.0..=1.0).contains(&p) && crps >= 0.0, "{r:?}");
    }
    // The horizon CRPS is the ensemble CRPS of the runs.csv column.
    let cn = Ensemble::new(runs_column(&result, "trade_share.CN")).unwrap();
    let crps: f64 = rows[1][col("crps")].parse().unwrap();
    assert_eq!(crps, cn.crps(0.31));
    assert_eq!(rows[1][col("percentile")].parse::<f64>().unwrap(), cn.percentile(0.31));
    // Persistence is the 2023 (base-year) value; the trend needs two years
    // up to 2023 and uses 2022 and 2023 for trade_share.CN only.
    assert_eq!(rows[1][col("persistence")], "0.25");
    let trend: f64 = rows[1][col("trend")].parse().unwrap();
    assert!((trend - 0.4).abs() < 1e-12, "{trend}");
    assert_eq!(rows[2][col("trend")], "", "no trend for group_share.west");
    // The overall table has one row per metric and one over all shares.
    let overall = fs::read_to_string(dir.join("score_overall.csv")).unwrap();
    let scopes: Vec<&str> = overall.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(scopes, ["trade_share", "group_share", "trade_total_usd_bn", "all shares"]);
    // Deterministic: the same inputs give the same bytes.
    let again = hedgesim().arg("score").arg(&result).arg(&obs).arg("--format").arg("csv").assert().success();
    assert_eq!(String::from_utf8(again.get_output().stdout.clone()).unwrap(), csv);
    let json = hedgesim().arg("score").arg(&result).arg(&obs).arg("--format").arg("json").assert().success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 4);
}

#[test]
fn without_runs_csv_the_horizon_is_scored_from_quantiles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("result");
    hedgesim().arg("run").arg(TINY).arg("--out").arg(&out).args(["--quiet", "--no-runs-table"]).assert().success();
    let obs = tmp.path().join("o.csv");
    write(&obs, "year,metric,subject,value\n2026,trade_share,RU,0.3\n");
    hedgesim()
        .arg("score")
        .arg(&out)
        .arg(&obs)
        .args(["--format", "csv"])
        .assert()
        .success()
        .stdout(contains(",quantiles,"));
}

/// Invalid input: exit 2, a message naming the file and line, nothing written.
fn refused(result: &Path, obs: &Path, out: &Path, message: &str) {
    hedgesim().arg("score").arg(result).arg(obs).arg("--out").arg(out).assert().code(2).stderr(contains(message));
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn invalid_input_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let result = tiny_result(tmp.path());
    let out = tmp.path().join("score");
    let obs = tmp.path().join("o.csv");
    let cases = [
        ("year,metric,subject,value\n2026,trade_share,CN,abc\n", "o.csv:2: column `value`"),
        (
            "year,metric,subject,value\n2026,trade_share,XX,0.2\n",
            "o.csv:2: the result has no metric `trade_share` with subject `XX`",
        ),
        (
            "year,metric,subject,value\n2030,trade_share,CN,0.2\n",
            "o.csv:2: column `year`: 2030 is after the result's horizon 2026",
        ),
        ("year,metric,subject,value\n2024.1,trade_share,CN,0.2\n", "is not a step of the result"),
        ("year,metric,value\n2026,trade_share,0.2\n", "missing column `subject`"),
        (
            "year,metric,subject,value\n2023,trade_share,CN,0.2\n",
            "no observation is dated after the result's base year 2023",
        ),
        (
            "year,metric,subject,value\n2026,trade_share,CN,0.2\n2026,trade_share,CN,0.3\n",
            "o.csv:3: duplicate observation",
        ),
    ];
    for (text, message) in cases {
        write(&obs, text);
        refused(&result, &obs, &out, message);
    }
    write(&obs, "year,metric,subject,value\n2026,trade_share,CN,0.2\n");
    refused(&tmp.path().join("nope"), &obs, &out, "manifest.json");
    refused(&result, &tmp.path().join("missing.csv"), &out, "cannot read observations file");
    // A result whose runs.csv lost rows is refused.
    let runs = fs::read_to_string(result.join("runs.csv")).unwrap();
    let cut: String = runs.lines().take(10).map(|l| format!("{l}\n")).collect();
    write(&result.join("runs.csv"), &cut);
    refused(&result, &obs, &out, "9 rows but manifest.json says 600 runs");
}

#[test]
fn a_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shard = tmp.path().join("shard");
    hedgesim().arg("run").arg(TINY).arg("--out").arg(&shard).args(["--quiet", "--shard", "0/2"]).assert().success();
    let obs = tmp.path().join("o.csv");
    write(&obs, "year,metric,subject,value\n2026,trade_share,CN,0.2\n");
    refused(&shard, &obs, &tmp.path().join("score"), "one shard of a sharded run");
}

/// The shipped observations: shares of each year sum to 1, and each group
/// share is the sum of its partners' shares (the groups of the hindcast).
#[test]
fn the_shipped_observations_are_consistent() {
    let text = fs::read_to_string("data/hindcast/observed-2018-2023.csv").unwrap();
    let obs = hedgesim::score::parse_observations("observed-2018-2023.csv", &text).unwrap();
    let groups = [
        ("great_power", &["RU", "CN"][..]),
        ("west", &["EU", "US"][..]),
        ("other", &["TR", "ROW"][..]),
        ("southeast_asia", &["SG", "MY", "VN", "ID", "TH"][..]),
    ];
    for year in [2018.0, 2023.0] {
        let share = |metric: &str, subject: &str| {
            obs.iter()
                .find(|o| o.year == year && o.metric == metric && o.subject == subject)
                .map(|o| o.value)
                .unwrap_or_else(|| panic!("{year} {metric} {subject} missing"))
        };
        let partners: f64 = obs.iter().filter(|o| o.year == year && o.metric == "trade_share").map(|o| o.value).sum();
        // The source file gives US$ bn to 6 decimals and ROW = World minus
        // the ten rounded partner figures: the shares sum to 1 within 1e-7.
        assert!((partners - 1.0).abs() < 1e-7, "{year}: partner shares sum to {partners}");
        for (group, members) in groups {
            let sum: f64 = members.iter().map(|p| share("trade_share", p)).sum();
            assert!((share("group_share", group) - sum).abs() < 1e-12, "{year} {group}");
        }
    }
}

/// The shipped hindcast scores against the shipped observations (a few
/// runs; skill is reported, not asserted, as in CI).
#[test]
fn the_shipped_hindcast_scores_against_the_shipped_observations() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hindcast");
    hedgesim()
        .args(["run", "scenarios/hindcast-2018.toml", "--runs", "40", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let assert = hedgesim()
        .arg("score")
        .arg(&out)
        .arg("data/hindcast/observed-2018-2023.csv")
        .args(["--format", "csv"])
        .assert()
        .success();
    let csv = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 16, "total, 11 partner shares, 4 group shares:\n{csv}");
    assert!(rows.iter().all(|r| r.starts_with("2023,") && r.contains(",runs,40,")), "{csv}");
}
