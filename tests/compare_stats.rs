//! Integration tests of `hedgesim::compare` through its public API, on
//! small synthetic result directories written per docs/outputs.md.

use std::fs;
use std::path::{Path, PathBuf};

use hedgesim::compare::{
    CompareError, CompareOptions, Comparison, Format, Mode, PostureTest, compare, output_files, render,
};
use hedgesim::engine::{chunk_count, chunk_runs, tree};
use hedgesim::stats::moments::MomentBlock;
use tempfile::TempDir;

/// A synthetic result: 2 hedger metrics and one per-partner metric.
#[derive(Clone)]
struct Spec {
    scenario: &'static str,
    seed: u64,
    runs: usize,
    partners: Vec<&'static str>,
    base_year: i64,
    horizon: i64,
    steps_per_year: u64,
    runs_table: bool,
}

impl Spec {
    fn new(scenario: &'static str) -> Spec {
        Spec {
            scenario,
            seed: 42,
            runs: 50,
            partners: vec!["RU", "CN", "US"],
            base_year: 2024,
            horizon: 2026,
            steps_per_year: 2,
            runs_table: true,
        }
    }
    fn steps(&self) -> u64 {
        (self.horizon - self.base_year) as u64 * self.steps_per_year
    }
    fn keys(&self) -> Vec<(String, String)> {
        let mut k = vec![("trade_total_usd_bn".to_string(), String::new()), ("hhi".to_string(), String::new())];
        for p in &self.partners {
            k.push(("trade_share".to_string(), p.to_string()));
        }
        k
    }
}

fn key_name(metric: &str, subject: &str) -> String {
    if subject.is_empty() { metric.to_string() } else { format!("{metric}.{subject}") }
}

/// splitmix64: deterministic noise for the fixtures.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Roughly standard normal noise from (stream, run, step, key).
fn noise(stream: u64, run: usize, step: u64, key: &str) -> f64 {
    let mut h = stream ^ 0x1234_5678;
    for b in key.bytes() {
        h = mix(h ^ u64::from(b));
    }
    h = mix(h ^ run as u64);
    h = mix(h ^ (step << 32));
    // Sum of 12 uniforms - 6.
    (0..12).map(|i| (mix(h ^ i) >> 11) as f64 / (1u64 << 53) as f64).sum::<f64>() - 6.0
}

/// Mean and sd as the engine computes them: Welford in chunks of 256 runs,
/// merged in the fixed tree (so runs.csv and summary.csv agree bit for bit,
/// as in a real result).
fn mean_sd(xs: &[f64]) -> (f64, Option<f64>) {
    let runs = xs.len() as u64;
    let mut stack = Vec::new();
    for c in 0..chunk_count(runs) {
        let mut b = MomentBlock::new(1);
        for r in chunk_runs(c, runs) {
            b.add_row(&[xs[r as usize]]);
        }
        tree::push(&mut stack, c, b);
    }
    let m = tree::root(stack, chunk_count(runs), 1).unwrap();
    (m.cells[0].mean, m.variance(0).map(f64::sqrt))
}

/// Write a result directory. `value(run, step, key)` gives every metric;
/// `posture(run)` the posture at the horizon.
fn write_result(dir: &Path, s: &Spec, value: impl Fn(usize, u64, &str) -> f64, posture: impl Fn(usize) -> String) {
    fs::create_dir_all(dir).unwrap();
    let k = s.steps();
    let manifest = serde_json::json!({
        "format_version": 1,
        "engine": "hedgesim",
        "engine_version": "0.1.0",
        "scenario": s.scenario,
        "scenario_file": format!("scenarios/{}.toml", s.scenario),
        "scenario_sha256": "00",
        "seed": s.seed,
        "runs": s.runs,
        "steps": k,
        "steps_per_year": s.steps_per_year,
        "base_year": s.base_year,
        "horizon": s.horizon,
        "partners": s.partners,
        "groups": [],
        "quantiles": [0.5],
        "runs_table": s.runs_table,
        "chunk_size": 64,
        "threads": 1,
        "wall_time_s": 0.1,
        "runs_per_second": 500.0,
        "partner_steps_per_second": 1.0,
        "started_at": "2025-01-01T00:00:00Z",
        "shard": null,
        "resolved_scenario": {}
    });
    fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();

    let mut summary = String::from("step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max,p50\n");
    for step in 0..=k {
        let year = s.base_year as f64 + step as f64 / s.steps_per_year as f64;
        for (metric, subject) in s.keys() {
            let key = key_name(&metric, &subject);
            let xs: Vec<f64> = (0..s.runs).map(|r| value(r, step, &key)).collect();
            let (m, sd) = mean_sd(&xs);
            let sd_text = sd.map(|x| x.to_string()).unwrap_or_default();
            let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            summary
                .push_str(&format!("{step},{year},{metric},{subject},{},{m},{sd_text},,,,{min},{max},{m}\n", s.runs));
        }
    }
    fs::write(dir.join("summary.csv"), summary).unwrap();

    let postures: Vec<String> = (0..s.runs).map(&posture).collect();
    let mut labels: Vec<String> = Vec::new();
    for p in &postures {
        if !labels.contains(p) {
            labels.push(p.clone());
        }
    }
    labels.sort_by_key(|l| if l == "hedging" { 0 } else { 1 });
    let mut outcomes = String::from("posture,count,share,ci95_low,ci95_high\n");
    for l in &labels {
        let c = postures.iter().filter(|p| *p == l).count();
        let share = c as f64 / s.runs as f64;
        outcomes.push_str(&format!("{l},{c},{share},{share},{share}\n"));
    }
    fs::write(dir.join("outcomes.csv"), outcomes).unwrap();

    if s.runs_table {
        let keys: Vec<String> = s.keys().iter().map(|(m, s)| key_name(m, s)).collect();
        let mut runs = format!("run,posture,{}\n", keys.join(","));
        for (r, posture) in postures.iter().enumerate() {
            let vals: Vec<String> = keys.iter().map(|key| value(r, k, key).to_string()).collect();
            runs.push_str(&format!("{r},{posture},{}\n", vals.join(",")));
        }
        fs::write(dir.join("runs.csv"), runs).unwrap();
    }
}

/// Baseline values: a level per metric plus noise from stream `seed`.
fn base_value(seed: u64, run: usize, step: u64, key: &str) -> f64 {
    let level = match key {
        "trade_total_usd_bn" => 100.0,
        "hhi" => 0.35,
        _ => 0.3,
    };
    let scale = if key == "trade_total_usd_bn" { 5.0 } else { 0.05 };
    // Step 0 is the base year: every run starts from the same state.
    if step == 0 { level } else { level + scale * noise(seed, run, step, key) }
}

fn hedging(_: usize) -> String {
    "hedging".into()
}

fn baseline(dir: &Path, s: &Spec) {
    let seed = s.seed;
    write_result(dir, s, |r, t, k| base_value(seed, r, t, k), hedging);
}

fn opts(a: &Path, b: &Path) -> CompareOptions {
    CompareOptions { a: a.to_path_buf(), b: b.to_path_buf(), ..CompareOptions::default() }
}

fn input_error(r: Result<Comparison, CompareError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            assert!(e.is_input_error(), "not an input error: {e}");
            e.to_string()
        }
    }
}

fn tmp() -> (TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let b = t.path().join("b");
    (t, a, b)
}

#[test]
fn self_comparison_gives_zero_differences_and_p_one() {
    let (_t, a, _) = tmp();
    baseline(&a, &Spec::new("baseline"));
    for all_steps in [false, true] {
        let c = compare(&CompareOptions { all_steps, ..opts(&a, &a) }).unwrap();
        assert_eq!(c.mode, Mode::Paired);
        assert!(!c.rows.is_empty());
        for r in &c.rows {
            assert_eq!(r.diff, 0.0, "{}", r.name());
            assert_eq!(r.p_value, Some(1.0), "{}", r.name());
            assert_eq!(r.p_holm, Some(1.0), "{}", r.name());
            assert_eq!(r.hedges_g, Some(0.0), "{}", r.name());
            if r.mode == Mode::Paired {
                assert_eq!((r.ci95_low, r.ci95_high), (Some(0.0), Some(0.0)));
            }
        }
        assert_eq!(c.postures.len(), 1);
        assert_eq!(c.postures[0].diff, 0.0);
        assert_eq!(c.postures[0].p_value, Some(1.0));
    }
}

#[test]
fn self_comparison_without_runs_table_uses_welch_and_gives_p_one() {
    let (_t, a, _) = tmp();
    let s = Spec { runs_table: false, ..Spec::new("baseline") };
    baseline(&a, &s);
    let c = compare(&opts(&a, &a)).unwrap();
    assert_eq!(c.mode, Mode::Welch);
    assert!(c.reason.contains("--no-runs-table"), "{}", c.reason);
    for r in &c.rows {
        assert_eq!((r.diff, r.p_value, r.mode), (0.0, Some(1.0), Mode::Welch));
    }
    assert_eq!(c.postures[0].test, PostureTest::TwoProportionZ);
    assert_eq!(c.postures[0].p_value, Some(1.0));
}

/// B = A + 0.01 on trade_share.RU, plus a little noise of its own.
fn shifted(dir: &Path, s: &Spec, base_seed: u64) {
    write_result(
        dir,
        s,
        |r, t, k| {
            let v = base_value(base_seed, r, t, k);
            if k == "trade_share.RU" && t > 0 { v + 0.01 + 0.002 * noise(999, r, t, k) } else { v }
        },
        hedging,
    );
}

#[test]
fn known_shift_is_detected_in_paired_mode() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    shifted(&b, &Spec::new("shifted"), s.seed);
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!(c.mode, Mode::Paired);
    assert!(c.reason.contains("seed 42"), "{}", c.reason);
    // The shifted row has the largest effect, so it sorts first.
    let r = &c.rows[0];
    assert_eq!(r.name(), "trade_share.RU");
    assert_eq!(r.mode, Mode::Paired);
    assert!(r.p_value.unwrap() < 1e-10, "{:?}", r.p_value);
    assert!(r.significant());
    let (lo, hi) = (r.ci95_low.unwrap(), r.ci95_high.unwrap());
    assert!(lo < 0.01 && 0.01 < hi, "[{lo}, {hi}]");
    assert!((r.diff - 0.01).abs() < 0.002);
    // Everything else is unchanged.
    for r in &c.rows[1..] {
        assert_eq!((r.diff, r.p_value), (0.0, Some(1.0)), "{}", r.name());
    }
    // The same data without pairing cannot see the shift (sd 0.05, n 50).
    let mut c2 = (a.clone(), b.clone());
    for d in [&mut c2.0, &mut c2.1] {
        let copy = d.with_extension("norun");
        fs::create_dir_all(&copy).unwrap();
        for f in ["summary.csv", "outcomes.csv"] {
            fs::copy(d.join(f), copy.join(f)).unwrap();
        }
        let manifest = fs::read_to_string(d.join("manifest.json")).unwrap();
        let manifest = manifest.replace("\"runs_table\":true", "\"runs_table\":false");
        fs::write(copy.join("manifest.json"), manifest).unwrap();
        *d = copy;
    }
    let w = compare(&opts(&c2.0, &c2.1)).unwrap();
    assert_eq!(w.mode, Mode::Welch);
    assert!(w.reason.contains("A has no runs.csv (it was run with --no-runs-table)"), "{}", w.reason);
    let rw = w.rows.iter().find(|r| r.name() == "trade_share.RU").unwrap();
    assert!(rw.p_value.unwrap() > 1e-3, "{:?}", rw.p_value);
    assert!((rw.diff - r_diff(&c)).abs() < 1e-12);
}

fn r_diff(c: &Comparison) -> f64 {
    c.rows[0].diff
}

#[test]
fn different_seeds_use_welch_and_say_why() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    let s2 = Spec { seed: 7, ..Spec::new("shifted") };
    shifted(&b, &s2, 7);
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!(c.mode, Mode::Welch);
    assert!(c.reason.contains("the seeds differ (A: 42, B: 7)"), "{}", c.reason);
    assert!(c.rows.iter().all(|r| r.mode == Mode::Welch));
    assert_eq!(c.postures[0].test, PostureTest::TwoProportionZ);
    assert!(c.headline().contains("mode: welch"), "{}", c.headline());
}

#[test]
fn different_run_counts_use_welch() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    baseline(&b, &Spec { runs: 40, ..Spec::new("baseline") });
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!(c.mode, Mode::Welch);
    assert!(c.reason.contains("run counts differ (A: 50, B: 40)"), "{}", c.reason);
    assert!(c.rows.iter().all(|r| r.n_a == 50 && r.n_b == 40));
}

#[test]
fn welch_and_paired_p_values_match_scipy_end_to_end() {
    // scipy.stats.ttest_rel(b, a).pvalue = 0.0004862204375522619 and
    // scipy.stats.ttest_ind(b, a, equal_var=False): p = 0.17894447623094648,
    // CI (-0.010330801894375588, 0.05033080189437551) (SciPy 1.17.1).
    let a_vals = [0.31, 0.28, 0.35, 0.30, 0.27, 0.33, 0.29, 0.32];
    let b_vals = [0.33, 0.29, 0.38, 0.31, 0.30, 0.34, 0.31, 0.35];
    let (_t, a, b) = tmp();
    let s = Spec { runs: 8, ..Spec::new("baseline") };
    let k = s.steps();
    let value = |vals: [f64; 8]| {
        move |r: usize, t: u64, key: &str| {
            if key == "hhi" && t == k { vals[r] } else { base_value(42, r, t, key) }
        }
    };
    write_result(&a, &s, value(a_vals), hedging);
    write_result(&b, &s, value(b_vals), hedging);
    let filter = vec!["hhi".to_string()];
    let c = compare(&CompareOptions { metrics: filter.clone(), ..opts(&a, &b) }).unwrap();
    assert_eq!(c.rows.len(), 1);
    assert!(c.postures.is_empty(), "a metric filter without `posture` drops postures");
    let p = c.rows[0].p_value.unwrap();
    assert!((p - 0.0004862204375522619).abs() < 1e-9, "{p}");

    let s7 = Spec { seed: 7, ..s.clone() };
    write_result(&b, &s7, value(b_vals), hedging);
    let c = compare(&CompareOptions { metrics: filter, ..opts(&a, &b) }).unwrap();
    let r = &c.rows[0];
    assert_eq!(r.mode, Mode::Welch);
    assert!((r.p_value.unwrap() - 0.17894447623094648).abs() < 1e-9);
    assert!((r.ci95_low.unwrap() - -0.010330801894375588).abs() < 1e-9);
    assert!((r.ci95_high.unwrap() - 0.05033080189437551).abs() < 1e-9);
}

#[test]
fn posture_shift_is_detected_with_mcnemar() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    let seed = s.seed;
    write_result(
        &b,
        &Spec::new("pressure"),
        |r, t, k| base_value(seed, r, t, k),
        |r| {
            if r < 20 { "aligned:RU".into() } else { "hedging".into() }
        },
    );
    let c = compare(&opts(&a, &b)).unwrap();
    let labels: Vec<&str> = c.postures.iter().map(|p| p.posture.as_str()).collect();
    assert_eq!(labels, ["hedging", "aligned:RU"]);
    let p = &c.postures[1];
    assert_eq!((p.test, p.mode), (PostureTest::McnemarExact, Mode::Paired));
    assert_eq!((p.count_a, p.count_b, p.n_a), (0, 20, 50));
    assert!((p.diff - 0.4).abs() < 1e-15);
    // 20 discordant pairs all one way: p = 2 * 0.5^20.
    assert!((p.p_value.unwrap() - 2.0 * 0.5f64.powi(20)).abs() < 1e-15);
    assert!(p.significant());
    assert!(p.ci95_low.unwrap() > 0.0 && p.ci95_high.unwrap() < 1.0);
    // Postures share the Holm family with the metric rows.
    assert_eq!(c.tests, c.rows.len() + c.postures.len());
}

/// Issue 12 section 4: a scenario that drops (or adds) a partner is
/// compared on the rows both have, with Welch, and the rows left out are
/// named with the reason.
#[test]
fn different_partner_lists_compare_the_common_rows() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    baseline(&b, &Spec { partners: vec!["RU", "CN"], ..Spec::new("two") });
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!(c.mode, Mode::Welch);
    assert!(c.reason.contains("the partners differ"), "{}", c.reason);
    let names: Vec<String> = c.rows.iter().map(|r| r.name()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(!names.contains(&"trade_share.US".to_string()), "{names:?}");
    assert!(names.contains(&"trade_share.RU".to_string()) && names.contains(&"hhi".to_string()));
    assert!(c.notes.iter().any(|n| n.contains("1 row(s) of A left out, partner US is only in A")), "{:?}", c.notes);
    // Both sides were checked against their own runs.csv.
    assert!(c.checks.contains("against runs.csv (A and B)"), "{}", c.checks);
    // The same the other way round.
    let c = compare(&opts(&b, &a)).unwrap();
    assert!(c.notes.iter().any(|n| n.contains("partner US is only in B")), "{:?}", c.notes);
}

/// Different horizons (or base years): compared at A's horizon when B has
/// that year; a year only one result has is refused, naming the years.
#[test]
fn different_horizons_compare_common_years() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    baseline(&b, &Spec { horizon: 2027, ..Spec::new("longer") });
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!((c.year, c.mode), (2026.0, Mode::Welch));
    assert!(c.postures.is_empty());
    assert!(c.notes.iter().any(|n| n.contains("each result's horizon only (A: 2026, B: 2027)")), "{:?}", c.notes);
    let msg = input_error(compare(&opts(&b, &a)));
    assert!(msg.contains("A's horizon (2027) is not a year of B"), "{msg}");
    assert!(msg.contains("--year"), "{msg}");
}

/// Issue 12 section 4: different steps_per_year; --all-steps compares the
/// common years only and says which rows were left out.
#[test]
fn different_steps_per_year_compare_common_years() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    baseline(&b, &Spec { steps_per_year: 1, ..Spec::new("yearly") });
    let c = compare(&CompareOptions { all_steps: true, ..opts(&a, &b) }).unwrap();
    let years: std::collections::BTreeSet<String> = c.rows.iter().map(|r| r.year.to_string()).collect();
    assert_eq!(years.into_iter().collect::<Vec<_>>(), ["2024", "2025", "2026"]);
    assert!(c.reason.contains("the time grids differ"), "{}", c.reason);
    let k = Spec::new("x").keys().len();
    assert_eq!(c.rows.len(), 3 * k);
    assert!(
        c.notes.iter().any(|n| n.contains(&format!("{} row(s) of A left out, year not in the other result", 2 * k))),
        "{:?}",
        c.notes
    );
    // The horizon (2026) is step 4 of A and step 2 of B: both at their horizon.
    let c = compare(&opts(&a, &b)).unwrap();
    assert_eq!((c.step, c.year), (4, 2026.0));
    assert_eq!(c.postures.len(), 1);
    assert!(c.checks.contains("against runs.csv (A and B)"), "{}", c.checks);
}

#[test]
fn missing_and_incomplete_directories_are_input_errors() {
    let (t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    let msg = input_error(compare(&opts(&a, &t.path().join("nope"))));
    assert!(msg.contains("RESULT_B"), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains("hedgesim run"), "{msg}");

    baseline(&b, &Spec::new("baseline"));
    fs::remove_file(b.join("summary.csv")).unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("has no summary.csv"), "{msg}");
    assert!(msg.contains("hedgesim run"), "{msg}");

    // manifest says runs_table = true but runs.csv is gone.
    baseline(&b, &Spec::new("baseline"));
    fs::remove_file(b.join("runs.csv")).unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("has no runs.csv"), "{msg}");

    // A file instead of a directory.
    let msg = input_error(compare(&opts(&a, &a.join("manifest.json"))));
    assert!(msg.contains("is not a directory"), "{msg}");
}

#[test]
fn damaged_files_name_file_and_line() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    baseline(&b, &Spec::new("baseline"));
    let path = b.join("summary.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields[5] = "abc";
    lines[3] = fields.join(",");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("summary.csv line 4"), "{msg}");
    assert!(msg.contains("`mean`: `abc` is not a number"), "{msg}");

    fs::write(b.join("manifest.json"), "{\"scenario\": \"x\"}").unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("manifest.json"), "{msg}");
    assert!(msg.contains("missing field"), "{msg}");

    // A truncated runs.csv.
    baseline(&b, &Spec::new("baseline"));
    let runs = fs::read_to_string(b.join("runs.csv")).unwrap();
    let cut: Vec<&str> = runs.lines().take(10).collect();
    fs::write(b.join("runs.csv"), cut.join("\n") + "\n").unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("has 9 runs, but manifest.json says runs = 50"), "{msg}");
}

#[test]
fn year_selects_a_step_and_falls_back_to_welch() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    shifted(&b, &Spec::new("shifted"), s.seed);
    let c = compare(&CompareOptions { year: Some(2025.0), ..opts(&a, &b) }).unwrap();
    assert_eq!((c.step, c.year, c.mode), (2, 2025.0, Mode::Welch));
    assert!(c.reason.contains("horizon (2026) only"), "{}", c.reason);
    assert!(c.rows.iter().all(|r| r.step == 2 && r.mode == Mode::Welch));
    assert!(c.postures.is_empty());
    assert!(c.notes.iter().any(|n| n.contains("posture")), "{:?}", c.notes);

    let c = compare(&CompareOptions { year: Some(2025.5), ..opts(&a, &b) }).unwrap();
    assert_eq!(c.step, 3);

    let msg = input_error(compare(&CompareOptions { year: Some(2031.0), ..opts(&a, &b) }));
    assert!(msg.contains("from 2024 to 2026"), "{msg}");
    assert!(msg.contains("steps of 0.5"), "{msg}");

    let msg = input_error(compare(&CompareOptions { year: Some(2025.0), all_steps: true, ..opts(&a, &b) }));
    assert!(msg.contains("--all-steps"), "{msg}");
}

#[test]
fn metric_filter_and_unknown_metrics() {
    let (_t, a, _) = tmp();
    baseline(&a, &Spec::new("baseline"));
    let with = |names: &[&str]| {
        compare(&CompareOptions { metrics: names.iter().map(|s| s.to_string()).collect(), ..opts(&a, &a) })
    };
    let c = with(&["trade_share.RU"]).unwrap();
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].name(), "trade_share.RU");
    let c = with(&["trade_share", "posture"]).unwrap();
    assert_eq!(c.rows.len(), 3);
    assert_eq!(c.postures.len(), 1);
    let c = with(&["posture.hedging"]).unwrap();
    assert!(c.rows.is_empty());
    assert_eq!(c.postures.len(), 1);

    let msg = input_error(with(&["bogus"]));
    assert!(msg.contains("--metric `bogus` is unknown"), "{msg}");
    assert!(msg.contains("trade_total_usd_bn, hhi, trade_share, posture"), "{msg}");
    let msg = input_error(with(&["trade_share.XX"]));
    assert!(msg.contains("subjects RU, CN, US"), "{msg}");
    let msg = input_error(with(&["posture.aligned:XX"]));
    assert!(msg.contains("occurred are hedging"), "{msg}");
}

#[test]
fn all_steps_pairs_the_horizon_only() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    shifted(&b, &Spec::new("shifted"), s.seed);
    let c = compare(&CompareOptions { all_steps: true, ..opts(&a, &b) }).unwrap();
    let k = s.steps();
    assert_eq!(c.rows.len(), (k as usize + 1) * s.keys().len());
    assert!(c.rows.windows(2).all(|w| w[0].step <= w[1].step));
    for r in &c.rows {
        let want = if r.step == k { Mode::Paired } else { Mode::Welch };
        assert_eq!(r.mode, want, "step {}", r.step);
    }
    // Step 0: every run identical on both sides (the summary sd is zero up
    // to the rounding of the mean).
    for r in c.rows.iter().filter(|r| r.step == 0) {
        assert_eq!((r.diff, r.p_value), (0.0, Some(1.0)));
        assert!(r.ci95_low.unwrap().abs() < 1e-12 && r.ci95_high.unwrap().abs() < 1e-12);
    }
    assert_eq!(c.tests, c.rows.len() + c.postures.len());
    assert!(c.reason.contains("other steps use Welch"), "{}", c.reason);
}

#[test]
fn renderings() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    shifted(&b, &Spec::new("shifted"), s.seed);
    let c = compare(&opts(&a, &b)).unwrap();

    let md = render(&c, Format::Markdown);
    let first = md.lines().next().unwrap();
    for want in ["A = `baseline`", "B = `shifted`", "year 2026", "mode: paired", "seed 42"] {
        assert!(first.contains(want), "{want} not in {first}");
    }
    assert!(md.contains("| trade_share | RU |"), "{md}");
    assert!(md.contains("<0.0001"), "{md}");
    assert!(md.contains("| * |"), "{md}");

    let csv = render(&c, Format::Csv);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "scenario_a,scenario_b,step,year,metric,subject,n_a,n_b,mean_a,mean_b,diff,ci95_low,ci95_high,\
             p_value,p_holm,significant,hedges_g,mode,test"
        )
    );
    let first_row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&first_row[..8], ["baseline", "shifted", "4", "2026.0", "trade_share", "RU", "50", "50"]);
    assert_eq!(&first_row[15..], ["true", first_row[16], "paired", "paired_t"]);
    assert_eq!(first_row[10].parse::<f64>().unwrap(), c.rows[0].diff);
    // Metric rows, then the posture rows.
    assert_eq!(csv.lines().count(), c.rows.len() + c.postures.len() + 1);
    let last: Vec<&str> = csv.lines().last().unwrap().split(',').collect();
    assert_eq!(&last[4..6], ["posture", "hedging"]);
    assert_eq!(last[18], "mcnemar_exact");

    let json: serde_json::Value = serde_json::from_str(&render(&c, Format::Json)).unwrap();
    assert_eq!(json["mode"], "paired");
    assert_eq!(json["rows"][0]["subject"], "RU");
    assert_eq!(json["rows"][0]["significant"], true);
    assert_eq!(json["rows"][0]["diff"].as_f64(), Some(c.rows[0].diff));
    // The same fields, with the same types, as in compare.csv.
    assert_eq!(json["rows"][0]["scenario_b"], "shifted");
    assert_eq!(json["rows"][0]["n_a"], 50);
    assert!(json["a"]["seed"].is_u64(), "{}", json["a"]["seed"]);
    assert!(json["checks"].as_str().unwrap().contains("checked bit for bit"));
    assert_eq!(json["postures"][0]["test"], "mcnemar_exact");

    let files = output_files(&c);
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["compare.csv", "compare_postures.csv", "compare.json", "compare.md"]);
    assert!(files[1].1.starts_with("scenario_a,scenario_b,step,year,posture,"));
    assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
    assert!("xml".parse::<Format>().is_err());
}
