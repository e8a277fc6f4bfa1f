//! Integration tests of `hedgesim::compare` through its public API, on
//! small synthetic result directories written per docs/outputs.md.

use std::fs;
use std::path::{Path, PathBuf};

use hedgesim::compare::{
    CompareError, CompareOptions, Comparison, Format, Mode, PostureTest, compare, compare_many, output_files, render,
    render_many,
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
    assert!(c.checks.contains("outcomes.csv checked against runs.csv (A and B)"), "{}", c.checks);
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
    assert_eq!(json["rows"][0]["test"], "paired_t");
    // Every column of compare.csv is a field of the JSON rows.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for h in header {
        assert!(json["rows"][0].get(h).is_some(), "`{h}` missing from the JSON rows");
    }
    assert!(json["checks"].as_str().unwrap().contains("checked bit for bit"));
    assert_eq!(json["postures"][0]["test"], "mcnemar_exact");

    let files = output_files(&c);
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["compare.csv", "compare_postures.csv", "compare.json", "compare.md"]);
    assert!(files[1].1.starts_with("scenario_a,scenario_b,step,year,posture,"));
    assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
    assert!("xml".parse::<Format>().is_err());
}

/// Replace field `col` of the row of `file` where `pick` matches.
fn edit_field(path: &Path, col: usize, new: &str, pick: impl Fn(&[&str]) -> bool) -> usize {
    let text = fs::read_to_string(path).unwrap();
    let mut line_no = 0;
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split(',').collect();
            if i > 0 && line_no == 0 && pick(&f) {
                line_no = i + 1;
                f[col] = new;
            }
            f.join(",")
        })
        .collect();
    fs::write(path, lines.join("\n") + "\n").unwrap();
    assert!(line_no > 0, "no row picked in {}", path.display());
    line_no
}

/// Issue 14 item 6: a changed mean at the horizon is refused (exit 2),
/// naming the file, line and cell, not reported as a difference; paired or
/// not, each side is checked against its own runs.csv.
#[test]
fn a_changed_horizon_mean_is_refused_not_reported() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    for seed in [42, 7] {
        baseline(&b, &Spec { seed, ..Spec::new("baseline") });
        let line = edit_field(&b.join("summary.csv"), 5, "0.35", |f| f[0] == "4" && f[3] == "RU");
        let msg = input_error(compare(&opts(&a, &b)));
        assert!(msg.contains(&format!("summary.csv line {line}")), "{msg}");
        assert!(msg.contains("the mean of trade_share.RU at year 2026 (step 4) is 0.35"), "{msg}");
        assert!(msg.contains("runs.csv"), "{msg}");
        assert!(msg.contains("re-run `hedgesim run`"), "{msg}");
        assert!(!msg.contains("checked"), "{msg}");
    }
    // A changed sd likewise.
    baseline(&b, &Spec::new("baseline"));
    edit_field(&b.join("summary.csv"), 6, "0.5", |f| f[0] == "4" && f[2] == "hhi");
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("the sd of hhi at year 2026 (step 4) is 0.5"), "{msg}");
    // A changed runs.csv is caught the same way.
    baseline(&b, &Spec::new("baseline"));
    edit_field(&b.join("runs.csv"), 3, "0.9", |f| f[0] == "7");
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("the mean of hhi at year 2026"), "{msg}");
}

/// Issue 14 item 6: NaN and infinite values are refused where they are read.
#[test]
fn nan_and_infinite_values_are_refused() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    for bad in ["NaN", "nan", "inf", "-infinity"] {
        baseline(&b, &Spec::new("baseline"));
        let line = edit_field(&b.join("summary.csv"), 5, bad, |f| f[0] == "0" && f[2] == "hhi");
        let msg = input_error(compare(&opts(&a, &b)));
        assert!(msg.contains(&format!("summary.csv line {line}: column `mean`")), "{msg}");
        assert!(msg.contains("not a finite number"), "{msg}");
    }
    baseline(&b, &Spec::new("baseline"));
    edit_field(&b.join("runs.csv"), 3, "NaN", |f| f[0] == "3");
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("runs.csv line 5: column `hhi`"), "{msg}");
    assert!(msg.contains("not a finite number"), "{msg}");
}

/// outcomes.csv must agree with the posture column of runs.csv.
#[test]
fn a_changed_posture_count_is_refused() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    write_result(
        &b,
        &Spec::new("pressure"),
        |r, t, k| base_value(42, r, t, k),
        |r| if r < 20 { "aligned:RU".into() } else { "hedging".into() },
    );
    let path = b.join("outcomes.csv");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("hedging,30,", "hedging,20,").replace("aligned:RU,20,", "aligned:RU,30,")).unwrap();
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains("outcomes.csv: the count of posture `aligned:RU` is 30"), "{msg}");
    assert!(msg.contains("the posture column of runs.csv gives 20"), "{msg}");
}

/// Issue 12 section 4: several results against one reference, in one
/// table, with Holm's adjustment over all of them.
#[test]
fn several_results_against_one_reference() {
    let t = tempfile::tempdir().unwrap();
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    let s = Spec::new("baseline");
    baseline(&a, &s);
    shifted(&b, &Spec::new("shifted"), s.seed);
    baseline(&c, &Spec { seed: 7, ..Spec::new("other-seed") });
    let o = CompareOptions { more: vec![c.clone()], ..opts(&a, &b) };
    let cs = compare_many(&o).unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!((cs[0].b.scenario.as_str(), cs[1].b.scenario.as_str()), ("shifted", "other-seed"));
    assert_eq!((cs[0].mode, cs[1].mode), (Mode::Paired, Mode::Welch));
    // One Holm family over both comparisons.
    let family: Vec<Option<f64>> =
        cs.iter().flat_map(|c| c.rows.iter().map(|r| r.p_value).chain(c.postures.iter().map(|p| p.p_value))).collect();
    let want = hedgesim::compare::stats::holm(&family);
    let got: Vec<Option<f64>> =
        cs.iter().flat_map(|c| c.rows.iter().map(|r| r.p_holm).chain(c.postures.iter().map(|p| p.p_holm))).collect();
    assert_eq!(got, want);
    assert!(cs.iter().all(|c| c.tests == family.iter().flatten().count()));
    // The pair alone has a smaller family, so its adjusted p-values are no larger.
    let alone = compare(&opts(&a, &b)).unwrap();
    assert!(alone.tests < cs[0].tests);
    for (x, y) in alone.rows.iter().zip(&cs[0].rows) {
        assert!(x.p_holm <= y.p_holm, "{}", x.name());
    }

    let csv = render_many(&cs, Format::Csv);
    assert_eq!(csv.lines().filter(|l| l.starts_with("scenario_a,")).count(), 1);
    assert!(csv.lines().any(|l| l.starts_with("baseline,shifted,")));
    assert!(csv.lines().any(|l| l.starts_with("baseline,other-seed,")));
    let rows: usize = cs.iter().map(|c| c.rows.len() + c.postures.len()).sum();
    assert_eq!(csv.lines().count(), rows + 1);
    let md = render_many(&cs, Format::Markdown);
    assert!(md.contains("| B | metric | subject |"), "{md}");
    assert!(md.contains("| shifted | trade_share | RU |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&render_many(&cs, Format::Json)).unwrap();
    assert_eq!(json["comparisons"].as_array().unwrap().len(), 2);
    assert_eq!(json["comparisons"][1]["b"]["seed"], 7);
    // One result renders exactly as `compare` does.
    assert_eq!(render_many(&cs[..1], Format::Csv).lines().next(), csv.lines().next());
}

/// Issue 12 section 4: `--metric posture` keeps the posture rows, and the
/// CSV prints them.
#[test]
fn metric_posture_is_printed_as_csv() {
    let (_t, a, b) = tmp();
    baseline(&a, &Spec::new("baseline"));
    write_result(
        &b,
        &Spec::new("pressure"),
        |r, t, k| base_value(42, r, t, k),
        |r| if r < 20 { "aligned:RU".into() } else { "hedging".into() },
    );
    let c = compare(&CompareOptions { metrics: vec!["posture".into()], ..opts(&a, &b) }).unwrap();
    assert!(c.rows.is_empty());
    let csv = render(&c, Format::Csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[2].starts_with("baseline,pressure,4,2026.0,posture,aligned:RU,50,50,0.0,0.4,0.4,"), "{csv}");
    assert!(lines[2].ends_with(",true,,paired,mcnemar_exact"), "{csv}");
}

/// Issue 12 section 4: rows in the order of `--metric`, else trade shares
/// first, not the largest effect of any metric.
#[test]
fn rows_rank_what_was_asked_for_first() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    // A huge shift of hhi, a small one of trade_share.RU.
    write_result(
        &b,
        &Spec::new("shifted"),
        |r, t, k| {
            let v = base_value(42, r, t, k);
            match k {
                "hhi" if t > 0 => v + 1.0,
                "trade_share.RU" if t > 0 => v + 0.01 + 0.002 * noise(999, r, t, k),
                _ => v,
            }
        },
        hedging,
    );
    let c = compare(&opts(&a, &b)).unwrap();
    let names: Vec<String> = c.rows.iter().map(|r| r.name()).collect();
    assert_eq!(&names[..3], ["trade_share.RU", "trade_share.CN", "trade_share.US"]);
    assert!(c.rows[3].name() == "hhi", "{names:?}");
    let c = compare(&CompareOptions { metrics: vec!["hhi".into(), "trade_share.RU".into()], ..opts(&a, &b) }).unwrap();
    let names: Vec<String> = c.rows.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["hhi", "trade_share.RU"]);
    let c = compare(&CompareOptions { metrics: vec!["trade_share.US".into(), "hhi".into()], ..opts(&a, &b) }).unwrap();
    let names: Vec<String> = c.rows.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["trade_share.US", "hhi"]);
}

/// Issue 12 section 3: every float column of compare.csv and
/// compare_postures.csv holds floats with a decimal point (or is empty),
/// so type-inferring readers never see a whole-number column; and the
/// means are summary.csv's, bit for bit.
#[test]
fn float_columns_are_floats_and_means_are_summary_means() {
    let (_t, a, _) = tmp();
    baseline(&a, &Spec::new("baseline"));
    let c = compare(&opts(&a, &a)).unwrap();
    let files = output_files(&c);
    let float_cols = [
        "year",
        "mean_a",
        "mean_b",
        "diff",
        "ci95_low",
        "ci95_high",
        "p_value",
        "p_holm",
        "hedges_g",
        "share_a",
        "share_b",
    ];
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".csv")) {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut rows = 0;
        for line in lines {
            rows += 1;
            for (h, f) in header.iter().zip(line.split(',')) {
                if float_cols.contains(h) {
                    assert!(f.is_empty() || f.contains('.'), "{name}: `{h}` = `{f}` has no decimal point");
                    assert!(f.is_empty() || f.parse::<f64>().is_ok_and(f64::is_finite), "{name}: {h} = {f}");
                }
            }
        }
        assert!(rows > 0, "{name}");
    }
    // A self-comparison: diff 0 is written `0.0`.
    let csv = &files[0].1;
    assert!(csv.lines().nth(1).unwrap().contains(",0.0,"), "{csv}");
    // Means at the horizon are the summary's, bit for bit.
    let summary = fs::read_to_string(a.join("summary.csv")).unwrap();
    for r in &c.rows {
        let want = summary
            .lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f[0] == "4" && f[2] == r.metric && f[3] == r.subject)
            .map(|f| f[5].parse::<f64>().unwrap())
            .unwrap();
        assert_eq!(r.mean_a.to_bits(), want.to_bits(), "{}", r.name());
    }
}

/// Add a 0/1 metric (`event_active.shock`, as the time-resolved outputs
/// write it) to a result: per run `on(run)` at every step after 0; the
/// summary.csv moments from the count of ones (mean k/n, Bernoulli sd).
fn add_share_metric(dir: &Path, s: &Spec, on: impl Fn(usize) -> bool) {
    add_share(dir, s, "event_active", "shock", on);
}

fn add_share(dir: &Path, s: &Spec, metric: &str, subject: &str, on: impl Fn(usize) -> bool) {
    let n = s.runs as u64;
    let k = (0..s.runs).filter(|&r| on(r)).count() as u64;
    let (kf, nf) = (k as f64, n as f64);
    let (mean, sd) = (kf / nf, (kf * (nf - kf) / (nf * (nf - 1.0))).sqrt());
    let mut summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    for step in 1..=s.steps() {
        let year = s.base_year as f64 + step as f64 / s.steps_per_year as f64;
        summary.push_str(&format!("{step},{year},{metric},{subject},{n},{mean},{sd},,,,0,1,0\n"));
    }
    fs::write(dir.join("summary.csv"), summary).unwrap();
    let runs = fs::read_to_string(dir.join("runs.csv")).unwrap();
    let lines: Vec<String> = runs
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},{metric}.{subject}")
            } else {
                format!("{l},{}", if on(i - 1) { "1" } else { "0" })
            }
        })
        .collect();
    fs::write(dir.join("runs.csv"), lines.join("\n") + "\n").unwrap();
}

/// Share metrics (posture_share, event_active) are checked against the
/// count of ones in runs.csv, not against a Welford fold (which differs in
/// the last bits), so a faithful result is not taken for a tampered one.
#[test]
fn share_metrics_are_checked_by_their_count() {
    let (_t, a, b) = tmp();
    let s = Spec { runs: 300, ..Spec::new("baseline") };
    baseline(&a, &s);
    add_share_metric(&a, &s, |r| r % 3 == 0);
    baseline(&b, &Spec { runs: 300, ..Spec::new("shifted") });
    add_share_metric(&b, &s, |r| r % 3 == 0 || r % 7 == 0);
    let c = compare(&opts(&a, &b)).unwrap();
    assert!(!c.checks.contains("unverified"), "{}", c.checks);
    let r = c.rows.iter().find(|r| r.name() == "event_active.shock").unwrap();
    assert_eq!(r.mode, Mode::Paired);
    assert_eq!((r.mean_a, r.mean_b), (100.0 / 300.0, 128.0 / 300.0));
    // A mean one ulp off k/n is caught.
    let off = f64::from_bits((100.0f64 / 300.0).to_bits() + 1).to_string();
    edit_field(&a.join("summary.csv"), 5, &off, |f| f[0] == "4" && f[2] == "event_active");
    let msg = input_error(compare(&opts(&a, &b)));
    assert!(msg.contains(&format!("the mean of event_active.shock at year 2026 (step 4) is {off}")), "{msg}");
}

/// posture_share at the horizon is what the posture rows test: not tested
/// twice unless named.
#[test]
fn posture_share_at_the_horizon_is_not_tested_twice() {
    let (_t, a, b) = tmp();
    let s = Spec::new("baseline");
    baseline(&a, &s);
    add_share(&a, &s, "posture_share", "hedging", |_| true);
    baseline(&b, &Spec::new("other"));
    add_share(&b, &s, "posture_share", "hedging", |_| true);
    let c = compare(&opts(&a, &b)).unwrap();
    assert!(c.rows.iter().all(|r| r.metric != "posture_share"));
    assert_eq!(c.postures.len(), 1);
    assert!(c.notes.iter().any(|n| n.contains("not twice")), "{:?}", c.notes);
    // Before the horizon, share rows cannot be checked against a
    // re-simulation (it does not record postures), so they are left out
    // with a note rather than compared unchecked.
    let c = compare(&CompareOptions { all_steps: true, ..opts(&a, &b) }).unwrap();
    let steps: Vec<u64> = c.rows.iter().filter(|r| r.metric == "posture_share").map(|r| r.step).collect();
    assert!(steps.is_empty(), "{steps:?}");
    assert!(c.notes.iter().any(|n| n.contains("posture_share and event_active rows before the horizon are left out")));
    let c = compare(&CompareOptions { metrics: vec!["posture_share".into()], ..opts(&a, &b) }).unwrap();
    assert_eq!(c.rows.len(), 1);
    assert!(c.postures.is_empty());
}

/// Issue 12 section 3: polars' and DuckDB's default CSV readers read every
/// float column of compare.csv and compare_postures.csv as floats, even
/// for a self-comparison where every `diff` is zero (polars failed on
/// `diff` starting with whole numbers). Runs where Python has polars and
/// duckdb (CI installs them); elsewhere the Rust-side rule check of
/// `float_columns_are_floats_and_means_are_summary_means` still applies.
#[test]
fn polars_and_duckdb_read_float_columns_as_floats() {
    let probe = std::process::Command::new("python3").args(["-c", "import polars, duckdb"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 with polars and duckdb is not available");
        return;
    }
    let (t, a, _) = tmp();
    baseline(&a, &Spec::new("baseline"));
    let c = compare(&opts(&a, &a)).unwrap();
    for (name, text) in output_files(&c) {
        fs::write(t.path().join(name), text).unwrap();
    }
    let script = r#"
import sys, polars as pl, duckdb
floats = {"year", "mean_a", "mean_b", "diff", "ci95_low", "ci95_high", "p_value", "p_holm", "hedges_g", "share_a", "share_b"}
ints = {"step", "n_a", "n_b", "count_a", "count_b"}
bad = []
for f in sys.argv[1:]:
    df = pl.read_csv(f)
    for c, t in df.schema.items():
        if c in floats and t != pl.Float64 and df[c].null_count() < len(df):
            bad.append(f"{f} polars {c} {t}")
        if c in ints and t != pl.Int64:
            bad.append(f"{f} polars {c} {t}")
        if c == "significant" and t != pl.Boolean:
            bad.append(f"{f} polars {c} {t}")
    rel = duckdb.sql(f"select * from read_csv_auto('{f}')")
    for c, t in zip(rel.columns, rel.types):
        if c in floats and str(t) != "DOUBLE" and df[c].null_count() < len(df):
            bad.append(f"{f} duckdb {c} {t}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;
    let files: Vec<String> = ["compare.csv", "compare_postures.csv"]
        .iter()
        .map(|f| t.path().join(f).to_string_lossy().into_owned())
        .collect();
    let o = std::process::Command::new("python3").arg("-c").arg(script).args(&files).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}
