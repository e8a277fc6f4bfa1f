//! Results do not depend on the number of threads: the same scenario and
//! seed give byte-identical `summary.csv`, `runs.csv` and `outcomes.csv` at
//! 1, 2 and 4 threads, and a different seed gives different bytes.
//!
//! 3000 runs make 12 chunks of 256 (the last one partial), so the threads
//! really do split the work, finish chunks out of order, and fold several
//! windows.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;

const TINY: &str = "tests/fixtures/tiny.toml";
const RUNS: &str = "3000";
const FILES: [&str; 3] = ["summary.csv", "runs.csv", "outcomes.csv"];

fn run(out: &Path, extra: &[&str]) {
    cargo_bin_cmd!("hedgesim")
        .args(["run", TINY, "--runs", RUNS, "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

#[test]
fn same_bytes_at_1_2_and_4_threads_and_other_bytes_for_another_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = ["1", "2", "4"].iter().map(|t| (t, tmp.path().join(format!("threads-{t}")))).collect();
    for (threads, dir) in &dirs {
        run(dir, &["--threads", threads]);
    }
    let reference = &dirs[0].1;
    // The tables are what they claim to be: 3000 runs.
    let runs_csv = String::from_utf8(read(reference, "runs.csv")).unwrap();
    assert_eq!(runs_csv.lines().count(), 3001);
    assert!(runs_csv.lines().last().unwrap().starts_with("2999,"));
    for file in FILES {
        let expected = read(reference, file);
        assert!(!expected.is_empty(), "{file} is empty");
        for (threads, dir) in &dirs[1..] {
            assert!(read(dir, file) == expected, "{file} differs between 1 and {threads} threads");
        }
    }
    // The manifest records the thread count it was run with.
    let manifest: serde_json::Value = serde_json::from_slice(&read(&dirs[2].1, "manifest.json")).unwrap();
    assert_eq!(manifest["threads"], 4);
    assert_eq!(manifest["runs"], 3000);

    let other = tmp.path().join("seed-8");
    run(&other, &["--threads", "2", "--seed", "8"]);
    for file in FILES {
        assert!(read(&other, file) != read(reference, file), "{file} did not change with the seed");
    }
    // ... but the base year does not depend on the seed.
    let first_rows = |dir: &Path| {
        String::from_utf8(read(dir, "summary.csv"))
            .unwrap()
            .lines()
            .take_while(|l| !l.starts_with("1,"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(first_rows(reference), first_rows(&other));
}

#[test]
fn the_scenario_seed_is_the_default_and_the_flag_overrides_it() {
    // tiny.toml says seed = 7: --seed 7 must give the same bytes as no flag.
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("default"), tmp.path().join("seven"));
    run(&a, &["--threads", "2"]);
    run(&b, &["--threads", "1", "--seed", "7"]);
    for file in FILES {
        assert!(read(&a, file) == read(&b, file), "{file} differs between the file's seed and --seed 7");
    }
}

#[test]
fn runs_are_a_prefix_of_a_larger_batch() {
    // Run i depends only on (seed, i): the first 1000 rows of a 3000-run
    // table are the 1000-run table.
    let tmp = tempfile::tempdir().unwrap();
    let (small, large) = (tmp.path().join("small"), tmp.path().join("large"));
    cargo_bin_cmd!("hedgesim")
        .args(["run", TINY, "--runs", "1000", "--threads", "2", "--quiet", "--out"])
        .arg(&small)
        .assert()
        .success();
    run(&large, &["--threads", "4"]);
    let small = String::from_utf8(read(&small, "runs.csv")).unwrap();
    let large = String::from_utf8(read(&large, "runs.csv")).unwrap();
    let prefix: Vec<&str> = large.lines().take(1001).collect();
    assert_eq!(small.lines().collect::<Vec<_>>(), prefix);
}

/// The C library's `exp` and `log` differ between CPUs with and without FMA
/// (glibc picks a variant at start-up), so the model takes its
/// transcendental functions from the pure-Rust `libm` crate. Here glibc is
/// told to pretend the CPU has no FMA or AVX2: the bytes must not change.
/// (On a CPU without FMA both runs use the same variant and this checks
/// nothing more than the determinism test above.)
#[test]
fn same_bytes_whichever_libm_variant_the_cpu_selects() {
    let tmp = tempfile::tempdir().unwrap();
    let (native, generic) = (tmp.path().join("native"), tmp.path().join("generic"));
    for (dir, tunables) in [(&native, ""), (&generic, "glibc.cpu.hwcaps=-FMA,-AVX2,-AVX512F")] {
        cargo_bin_cmd!("hedgesim")
            .args(["run", "scenarios/great-power-rivalry.toml", "--runs", "600", "--threads", "2", "--quiet", "--out"])
            .arg(dir)
            .env("GLIBC_TUNABLES", tunables)
            .assert()
            .success();
    }
    for file in FILES {
        assert!(read(&native, file) == read(&generic, file), "{file} depends on the CPU's libm variant");
    }
}
