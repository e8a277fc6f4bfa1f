//! Regression tests for the file-system findings of issue 14 (and the
//! default-directory item of issue 10): `--force` over something that is
//! not a hedgesim result, interrupted publications, the run lock under many
//! simultaneous starts, stale pid files, SIGTERM, planted links in working
//! directories, changed settings on `--resume`, and the thread cap. Each
//! test names the finding it pins; each failed on the binary before the fix.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use hedgesim::app::run::CheckpointMeta;
use hedgesim::app::sha256_hex;
use hedgesim::output::manifest::FORMAT_VERSION;
use predicates::prelude::*;
use predicates::str::contains;

const TINY: &str = "tests/fixtures/tiny.toml";
const LONG: &str = "tests/fixtures/long.toml";

fn hedgesim() -> assert_cmd::Command {
    cargo_bin_cmd!("hedgesim")
}

/// Names in a directory (hidden ones included), sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn run_ok(scenario: &str, out: &Path, extra: &[&str]) {
    hedgesim().arg("run").arg(scenario).arg("--out").arg(out).arg("-q").args(extra).assert().success();
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The checkpoint.json that `run TINY --runs RUNS` (seed 7) writes.
fn tiny_checkpoint(runs: u64) -> Vec<u8> {
    let meta = CheckpointMeta {
        engine_version: env!("CARGO_PKG_VERSION").into(),
        format_version: FORMAT_VERSION,
        scenario_sha256: sha256_hex(&fs::read(TINY).unwrap()),
        seed: 7,
        runs,
        shard: None,
        runs_table: true,
        chunk_size: 256,
    };
    serde_json::to_vec_pretty(&meta).unwrap()
}

// ---------------------------------------------------------------------------
// 1, 2: --force replaces only a hedgesim result
// ---------------------------------------------------------------------------

#[test]
fn issue14_1_force_never_deletes_a_directory_that_is_not_a_result() {
    let tmp = tempfile::tempdir().unwrap();
    let thesis = tmp.path().join("thesis");
    fs::create_dir(&thesis).unwrap();
    fs::write(thesis.join("chapter1.tex"), "years of work").unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    for dir in [&thesis, &empty] {
        let start = Instant::now();
        hedgesim()
            .args(["run", LONG, "--runs", "20000", "-q", "--force", "--out"])
            .arg(dir)
            .assert()
            .code(2)
            .stderr(contains("is not a hedgesim result").and(contains("nothing was changed")));
        assert!(start.elapsed() < Duration::from_secs(5), "refused only after computing");
    }
    assert_eq!(fs::read_to_string(thesis.join("chapter1.tex")).unwrap(), "years of work");
    assert_eq!(entries(&empty), Vec::<String>::new());
    assert_eq!(entries(tmp.path()), ["empty", "thesis"], "no hidden directories left");
    // The same for merge.
    hedgesim().arg("merge").arg(&empty).arg("--out").arg(&thesis).arg("--force").assert().code(2);
    assert_eq!(entries(&thesis), ["chapter1.tex"]);
}

#[test]
fn issue14_2_force_never_hides_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    fs::write(&file, "mine").unwrap();
    hedgesim()
        .args(["run", TINY, "-q", "--force", "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("is not a directory"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(entries(tmp.path()), ["notes.txt"], "no `.notes.txt.old` or `.partial`");
    // A link is not replaced either (nor followed).
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    hedgesim().args(["run", TINY, "-q", "--force", "--out"]).arg(&link).assert().code(2).stderr(contains("link"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
}

// ---------------------------------------------------------------------------
// 3: interrupted publications are finished or rolled back
// ---------------------------------------------------------------------------

/// A result of tiny with `seed` at `dir`.
fn tiny_result(dir: &Path, seed: &str) {
    run_ok(TINY, dir, &["--runs", "50", "--seed", seed]);
}

#[test]
fn issue14_3_a_kill_between_the_renames_is_finished_by_resume() {
    // The state the old binary left: new result hidden in `.res.partial`,
    // the old one in `.res.old`, nothing at `res` (no journal).
    let tmp = tempfile::tempdir().unwrap();
    let (res, old, partial) = (tmp.path().join("res"), tmp.path().join(".res.old"), tmp.path().join(".res.partial"));
    tiny_result(&old, "1");
    tiny_result(&partial, "2");
    hedgesim()
        .args(["run", TINY, "--runs", "50", "--seed", "2", "--resume", "--out"])
        .arg(&res)
        .assert()
        .success()
        .stderr(contains("finished an interrupted publication").and(contains("removed")));
    assert_eq!(manifest(&res)["seed"], 2);
    assert_eq!(entries(tmp.path()), ["res"]);
}

#[test]
fn issue14_3_a_journaled_publication_is_finished_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (res, old, partial) = (tmp.path().join("res"), tmp.path().join(".res.old"), tmp.path().join(".res.partial"));
    // Killed after step 2: the journal in `.res.partial`, the old result aside.
    tiny_result(&old, "1");
    tiny_result(&partial, "2");
    fs::write(partial.join("publishing"), "").unwrap();
    hedgesim()
        .args(["run", TINY, "--runs", "50", "-q", "--out"])
        .arg(&res)
        .assert()
        .code(2)
        .stderr(contains("finished an interrupted publication").and(contains("already exists")));
    assert_eq!(manifest(&res)["seed"], 2);
    assert_eq!(entries(tmp.path()), ["res"]);
    assert!(!entries(&res).contains(&"publishing".to_string()));

    // Killed after step 3: the journal in `res`, the old result still aside.
    fs::rename(&res, &partial).unwrap();
    tiny_result(&old, "1");
    fs::rename(&partial, &res).unwrap();
    fs::write(res.join("publishing"), "").unwrap();
    hedgesim()
        .args(["run", TINY, "--runs", "50", "--seed", "3", "-q", "--force", "--out"])
        .arg(&res)
        .assert()
        .success()
        .stderr(contains("finished an interrupted publication"));
    assert_eq!(manifest(&res)["seed"], 3);
    assert_eq!(entries(tmp.path()), ["res"]);
}

#[test]
fn issue14_3_an_unfinished_publication_is_rolled_back() {
    // `.res.old` holds the previous result, `.res.partial` an unfinished run.
    let tmp = tempfile::tempdir().unwrap();
    let (res, old, partial) = (tmp.path().join("res"), tmp.path().join(".res.old"), tmp.path().join(".res.partial"));
    tiny_result(&old, "1");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("checkpoint.json"), tiny_checkpoint(50)).unwrap();
    hedgesim()
        .args(["run", TINY, "--runs", "50", "-q", "--out"])
        .arg(&res)
        .assert()
        .code(2)
        .stderr(contains("rolled back").and(contains("already exists")));
    assert_eq!(manifest(&res)["seed"], 1);
    assert_eq!(entries(tmp.path()), [".res.partial", "res"]);
}

// ---------------------------------------------------------------------------
// 4: one writer at a time, atomically
// ---------------------------------------------------------------------------

fn spawn(scenario: &str, out: &Path, extra: &[String]) -> Child {
    Command::new(cargo_bin!("hedgesim"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The published result is one run's, whole: its runs.csv has the
/// manifest's runs, its scenario.toml is the file the manifest hashes.
fn assert_consistent(out: &Path) -> serde_json::Value {
    let m = manifest(out);
    let rows = fs::read_to_string(out.join("runs.csv")).unwrap().lines().count() as u64 - 1;
    assert_eq!(m["runs"].as_u64(), Some(rows), "runs.csv does not match manifest.json");
    let scenario = fs::read(out.join("scenario.toml")).unwrap();
    assert_eq!(m["scenario_sha256"].as_str(), Some(sha256_hex(&scenario).as_str()), "scenario.toml of another run");
    m
}

#[test]
fn issue14_4_many_simultaneous_starts_one_winner_and_a_whole_result() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for round in 0..3 {
        let children: Vec<(u64, Child)> = (0..8u64)
            .map(|i| {
                let runs = 1000 + 256 * i;
                let scenario = if i % 2 == 0 { TINY } else { LONG };
                let extra = ["--runs".to_string(), runs.to_string(), "--seed".into(), (round * 8 + i).to_string()];
                (runs, spawn(scenario, &out, &extra))
            })
            .collect();
        let mut winners = Vec::new();
        for (runs, child) in children {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            match output.status.code() {
                Some(0) => winners.push(runs),
                Some(2) => assert!(
                    stderr.contains("in use by another hedgesim process") || stderr.contains("already exists"),
                    "round {round}: {stderr}"
                ),
                other => panic!("round {round}: exit {other:?}: {stderr}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let m = assert_consistent(&out);
        assert_eq!(m["runs"].as_u64(), Some(winners[0]), "round {round}");
        assert_eq!(entries(tmp.path()), ["out"], "round {round}");
        fs::remove_dir_all(&out).unwrap();
    }
    // With --force over an existing result: no failure, a whole result.
    run_ok(TINY, &out, &["--runs", "50"]);
    let children: Vec<Child> = (0..8u64)
        .map(|i| spawn(LONG, &out, &["--runs".into(), (1000 + 256 * i).to_string(), "--force".into()]))
        .collect();
    let codes: Vec<Option<i32>> = children.into_iter().map(|c| c.wait_with_output().unwrap().status.code()).collect();
    assert!(codes.iter().all(|c| matches!(c, Some(0 | 2))), "{codes:?}");
    assert!(codes.contains(&Some(0)), "{codes:?}");
    assert_consistent(&out);
    assert_eq!(entries(tmp.path()), ["out"]);
}

// ---------------------------------------------------------------------------
// 9, 10: thread cap, stale pid files
// ---------------------------------------------------------------------------

#[test]
fn issue14_9_absurd_thread_counts_are_capped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    hedgesim()
        .args(["run", TINY, "--runs", "300", "--threads", "10000", "-q", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("warning: --threads 10000 lowered to 2 (the batch has only 2 chunks"));
    assert_eq!(manifest(&out)["threads"], 2);
}

#[test]
fn issue14_10_a_stale_pid_of_a_live_unrelated_process_does_not_block() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("owner.pid"), "1").unwrap();
    run_ok(TINY, &out, &["--runs", "50"]);
    assert_eq!(entries(tmp.path()), ["out"]);
}

// ---------------------------------------------------------------------------
// 11: SIGTERM
// ---------------------------------------------------------------------------

#[test]
fn issue14_11_sigterm_checkpoints_and_exits_143() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    let mut child = spawn(LONG, &out, &["--runs".into(), "20000".into(), "--threads".into(), "1".into()]);
    let start = Instant::now();
    while !partial.join("runs.part").exists() {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be stopped");
        assert!(start.elapsed() < Duration::from_secs(20), "no runs.part");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("terminated (SIGTERM)") && stderr.contains("--resume"), "{stderr}");
    assert!(partial.join("checkpoint.bin").is_file(), "no final checkpoint");
    assert!(!out.exists());
    run_ok(LONG, &out, &["--runs", "20000", "--resume"]);
    assert_consistent(&out);
}

// ---------------------------------------------------------------------------
// 12: --resume uses only its own files
// ---------------------------------------------------------------------------

#[test]
fn issue14_12_resume_refuses_a_planted_runs_part_link() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    let victim = tmp.path().join("victim.txt");
    fs::write(&victim, "precious").unwrap();
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("checkpoint.json"), tiny_checkpoint(600)).unwrap();
    fs::copy(TINY, partial.join("scenario.toml")).unwrap();
    std::os::unix::fs::symlink(&victim, partial.join("runs.part")).unwrap();
    hedgesim()
        .args(["run", TINY, "-q", "--resume", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("runs.part").and(contains("symbolic link")));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!out.exists());

    // A working directory that is itself a link is refused too.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::remove_dir_all(&partial).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &partial).unwrap();
    hedgesim().args(["run", TINY, "-q", "--out"]).arg(&out).assert().code(2).stderr(contains("symbolic link"));
    assert_eq!(entries(&elsewhere), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// 15: messages
// ---------------------------------------------------------------------------

#[test]
fn issue14_15_resume_names_the_setting_that_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let partial = tmp.path().join(".out.partial");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("checkpoint.json"), tiny_checkpoint(600)).unwrap();
    hedgesim()
        .args(["run", TINY, "--runs", "1000", "--seed", "9", "-q", "--resume", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--seed 7 -> 9").and(contains("--runs 600 -> 1000")));
    assert!(partial.join("checkpoint.json").is_file(), "the checkpoint is kept");
}

// ---------------------------------------------------------------------------
// Issue 10: the default result directory does not silently collide
// ---------------------------------------------------------------------------

#[test]
fn issue10_the_default_directory_is_the_file_stem_and_force_keeps_other_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy of tiny with another file name (its [scenario] name stays `tiny`).
    let variant: PathBuf = tmp.path().join("tiny-variant.toml");
    fs::copy(TINY, &variant).unwrap();
    let tiny = fs::canonicalize(TINY).unwrap();
    hedgesim().current_dir(tmp.path()).arg("run").arg(&tiny).args(["--runs", "50", "-q"]).assert().success();
    hedgesim().current_dir(tmp.path()).arg("run").arg(&variant).args(["--runs", "50", "-q"]).assert().success();
    assert_eq!(entries(&tmp.path().join("results")), ["tiny", "tiny-variant"]);
    // The default directory holding another file's result is not replaced.
    let before = fs::read(tmp.path().join("results/tiny/summary.csv")).unwrap();
    fs::rename(tmp.path().join("results/tiny-variant"), tmp.path().join("results/keep")).unwrap();
    fs::rename(tmp.path().join("results/tiny"), tmp.path().join("results/tiny-variant")).unwrap();
    hedgesim()
        .current_dir(tmp.path())
        .arg("run")
        .arg(&variant)
        .args(["--runs", "50", "--seed", "1", "-q", "--force"])
        .assert()
        .code(2)
        .stderr(contains("holds another scenario's result").and(contains("tiny.toml")));
    assert_eq!(fs::read(tmp.path().join("results/tiny-variant/summary.csv")).unwrap(), before);
}
