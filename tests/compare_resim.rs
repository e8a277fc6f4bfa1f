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
    assert_eq!(row[12], "paired");
    let paired_width: f64 = row[8].parse::<f64>().unwrap() - row[7].parse::<f64>().unwrap();

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
    let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    let welch_width: f64 = row[8].parse::<f64>().unwrap() - row[7].parse::<f64>().unwrap();
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
    assert_eq!(row[12], "welch", "{table}");
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
}
