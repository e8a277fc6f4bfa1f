//! `compare` pairs runs at every step by re-simulating both scenarios, and
//! falls back to Welch's t, saying why, when the re-simulation cannot be
//! trusted.

use std::path::Path;
use std::process::Command;

fn hedgesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hedgesim")).args(args).output().expect("hedgesim starts")
}

fn run(scenario: &Path, out: &Path) {
    let o = hedgesim(&["run", &scenario.to_string_lossy(), "--runs", "300", "--out", &out.to_string_lossy(), "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn csv(dir: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["compare", "A", "B", "--format", "csv"];
    all.extend_from_slice(args);
    let a = dir.join("a").to_string_lossy().into_owned();
    let b = dir.join("b").to_string_lossy().into_owned();
    let all: Vec<&str> = all
        .iter()
        .map(|x| {
            if *x == "A" {
                &a[..]
            } else if *x == "B" {
                &b[..]
            } else {
                x
            }
        })
        .collect();
    let o = hedgesim(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
}

#[test]
fn earlier_years_are_paired_and_narrower_than_welch() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string("tests/fixtures/tiny.toml").unwrap();
    let changed = dir.path().join("changed.toml");
    std::fs::write(&changed, tiny.replace("reciprocity = 0.5", "reciprocity = 1.5")).unwrap();
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("a"));
    run(&changed, &dir.path().join("b"));

    let (table, headline) = csv(dir.path(), &["--year", "2025", "--metric", "engagement.RU"]);
    assert!(headline.contains("mode: paired") && headline.contains("re-simulating"), "{headline}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[17], "paired");
    let paired_width: f64 = row[12].parse::<f64>().unwrap() - row[11].parse::<f64>().unwrap();

    // The same comparison against independent runs (another seed) is Welch and wider.
    let o = hedgesim(&[
        "run",
        &changed.to_string_lossy(),
        "--runs",
        "300",
        "--seed",
        "99",
        "--out",
        &dir.path().join("b").to_string_lossy(),
        "--force",
        "-q",
    ]);
    assert!(o.status.success());
    let (table, headline) = csv(dir.path(), &["--year", "2025", "--metric", "engagement.RU"]);
    assert!(headline.contains("mode: welch"), "{headline}");
    // Unpaired, each result is re-simulated on its own to check its summary.csv.
    assert!(
        headline.contains("summary.csv checked bit for bit before the horizon against a re-simulation of A and B"),
        "{headline}"
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    let welch_width: f64 = row[12].parse::<f64>().unwrap() - row[11].parse::<f64>().unwrap();
    assert!(paired_width < welch_width, "paired {paired_width} vs welch {welch_width}");
}

#[test]
fn an_edited_scenario_copy_falls_back_to_welch_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("a"));
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("b"));
    let copy = dir.path().join("b").join("scenario.toml");
    let text = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, text.replace("assertiveness = 2.0", "assertiveness = 3.0")).unwrap();
    let (table, headline) = csv(dir.path(), &["--year", "2025", "--metric", "pressure.RU"]);
    assert!(headline.contains("mode: welch"), "{headline}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[17], "welch", "{table}");
    let md = hedgesim(&[
        "compare",
        &dir.path().join("a").to_string_lossy(),
        &dir.path().join("b").to_string_lossy(),
        "--year",
        "2025",
        "--metric",
        "pressure.RU",
    ]);
    let text = String::from_utf8(md.stdout).unwrap();
    assert!(text.contains("does not match the manifest's scenario_sha256"), "{text}");
    // Not checked, and the headline says so (never "checked" for it).
    assert!(headline.contains("1 of 1 compared rows unverified"), "{headline}");
    assert!(!headline.contains("checked bit for bit"), "{headline}");
}

fn compare_status(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let a = dir.join("a").to_string_lossy().into_owned();
    let b = dir.join("b").to_string_lossy().into_owned();
    let mut args = vec!["compare", &a[..], &b[..]];
    args.extend_from_slice(extra);
    let o = hedgesim(&args);
    (o.status.code().unwrap_or(-1), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
}

/// Issue 14 item 6: a step-0 mean of summary.csv changed (60 where every
/// run has the same base-year value) was reported as a significant
/// difference under a headline saying the means were "checked". Now the
/// re-simulation disagrees, so compare refuses with exit 2, naming the file,
/// line and cell; a NaN mean is refused too.
#[test]
fn a_tampered_step0_mean_is_refused_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("a"));
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("b"));
    // Untouched: every compared value is checked, and the headline says so.
    let (code, _, err) = compare_status(dir.path(), &["--all-steps", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "summary.csv checked bit for bit at the horizon against runs.csv (A and B) and at the other steps \
             against a re-simulation of both scenarios"
        ),
        "{err}"
    );
    assert!(!err.contains("unverified"), "{err}");

    let path = dir.path().join("b").join("summary.csv");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let i = lines.iter().position(|l| l.starts_with("0,2023.0,trade_share,RU,")).unwrap();
    let mut f: Vec<&str> = lines[i].split(',').collect();
    f[5] = "60";
    lines[i] = f.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    for extra in [&["--all-steps"][..], &["--year", "2023"], &["--year", "2023", "--metric", "trade_share.RU"]] {
        let (code, out, err) = compare_status(dir.path(), extra);
        assert_eq!(code, 2, "{extra:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains(&format!("summary.csv line {}", i + 1)), "{err}");
        assert!(err.contains("the mean of trade_share.RU at year 2023 (step 0) is 60"), "{err}");
        assert!(err.contains("re-simulating the scenario"), "{err}");
        assert!(!err.contains("checked"), "{err}");
    }

    // A NaN mean is refused when read, whatever is compared.
    f = lines[i].split(',').collect();
    f[5] = "NaN";
    lines[i] = f.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, _, err) = compare_status(dir.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("summary.csv line {}: column `mean`: `NaN` is not a finite number", i + 1)), "{err}");
}

/// Issue 12 section 3: the means of compare.csv are summary.csv's, bit for
/// bit (they were recomputed from runs.csv and differed in the last digits
/// in 71% of the cells), and several results compare in one table.
#[test]
fn horizon_means_are_summary_means_and_several_results_share_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string("tests/fixtures/tiny.toml").unwrap();
    let changed = dir.path().join("changed.toml");
    std::fs::write(&changed, tiny.replace("reciprocity = 0.5", "reciprocity = 1.5")).unwrap();
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("a"));
    run(&changed, &dir.path().join("b"));
    run(&changed, &dir.path().join("c"));
    let (table, _) = csv(dir.path(), &[]);
    let summary = |side: &str| -> std::collections::HashMap<(String, String), u64> {
        let text = std::fs::read_to_string(dir.path().join(side).join("summary.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            // posture_share at the horizon is compared as postures, not as a metric row.
            .filter(|f| f[0] == "12" && f[2] != "posture_share")
            .map(|f| ((f[2].to_string(), f[3].to_string()), f[5].parse::<f64>().unwrap().to_bits()))
            .collect()
    };
    let (sa, sb) = (summary("a"), summary("b"));
    let mut rows = 0;
    for line in table.lines().skip(1).filter(|l| !l.contains(",posture,")) {
        let f: Vec<&str> = line.split(',').collect();
        let key = (f[4].to_string(), f[5].to_string());
        assert_eq!(f[8].parse::<f64>().unwrap().to_bits(), sa[&key], "{line}");
        assert_eq!(f[9].parse::<f64>().unwrap().to_bits(), sb[&key], "{line}");
        rows += 1;
    }
    assert_eq!(rows, sa.len());

    let a = dir.path().join("a").to_string_lossy().into_owned();
    let b = dir.path().join("b").to_string_lossy().into_owned();
    let c = dir.path().join("c").to_string_lossy().into_owned();
    let o = hedgesim(&["compare", &a, &b, &c, "--format", "csv", "--metric", "trade_share.RU"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // B and C are the same scenario and seed: the same row, Holm over 2 tests.
    let (fb, fc): (Vec<&str>, Vec<&str>) = (lines[1].split(',').collect(), lines[2].split(',').collect());
    assert_eq!(fb[4..], fc[4..]);
    let p: f64 = fb[13].parse().unwrap();
    let holm: f64 = fb[14].parse().unwrap();
    assert_eq!(holm, (2.0 * p).min(1.0), "{text}");
}

/// Unpaired results (another seed) are re-simulated one by one, so a
/// changed mean before the horizon is refused in Welch mode too.
#[test]
fn a_tampered_mean_is_refused_in_welch_mode() {
    let dir = tempfile::tempdir().unwrap();
    run(Path::new("tests/fixtures/tiny.toml"), &dir.path().join("a"));
    let o = hedgesim(&[
        "run",
        "tests/fixtures/tiny.toml",
        "--runs",
        "300",
        "--seed",
        "99",
        "--out",
        &dir.path().join("b").to_string_lossy(),
        "-q",
    ]);
    assert!(o.status.success());
    let path = dir.path().join("b").join("summary.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines.iter().position(|l| l.starts_with("8,2025.0,hhi,,")).unwrap();
    let mut f: Vec<&str> = lines[i].split(',').collect();
    f[5] = "0.9";
    lines[i] = f.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, _, err) = compare_status(dir.path(), &["--year", "2025"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("summary.csv line {}: the mean of hhi at year 2025 (step 8) is 0.9", i + 1)),
        "{err}"
    );
}
