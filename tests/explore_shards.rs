//! `hedgesim explore --shard K/N`, `hedgesim merge` of explore shards and
//! `hedgesim explore --resume`: merged shards and a resumed explore give
//! the bytes of an uninterrupted single-machine explore (the manifest
//! differs only in its timing fields), and merge refuses shards that are
//! missing, repeated, tampered with or mixed with `run` shards.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};

mod common;
use common::{LHS, experiment};

/// Run hedgesim; exit code and standard error.
fn hedgesim(args: &[&str]) -> (Option<i32>, String) {
    let o = cargo_bin_cmd!("hedgesim").args(args).output().expect("hedgesim runs");
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const SOBOL: &str = r#"design = "sobol"
samples = 8
runs = 4
outcomes = ["strategic_space@2040", "trade_share.CN@2035"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = "partner.CN.gdp_growth"
range = [0.02, 0.06]
"#;

fn explore_ok(exp: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["explore", path(exp), "--out", path(out)];
    args.extend(extra);
    let (code, err) = hedgesim(&args);
    assert_eq!(code, Some(0), "explore {extra:?} failed:\n{err}");
    err
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.push(p.strip_prefix(dir).unwrap().to_path_buf()) }
        }
    }
    out.sort();
    out
}

/// A manifest without its timing fields (threads, wall time, start).
fn untimed(manifest: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(manifest).unwrap()).unwrap();
    for key in ["threads", "wall_time_s", "started_at"] {
        assert!(v.get(key).is_some(), "{} lacks {key}", manifest.display());
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

/// `a` and `b` hold the same files with the same bytes, but for the
/// manifest's timing fields.
fn assert_same_result(a: &Path, b: &Path) {
    let names = files(a);
    assert_eq!(names, files(b), "{} and {} hold different files", a.display(), b.display());
    for name in ["design.csv", "points.csv", "sensitivity.csv", "report.md", "report.html", "manifest.json"] {
        assert!(names.contains(&PathBuf::from(name)), "{name} missing from {names:?}");
    }
    for name in &names {
        if name == Path::new("manifest.json") {
            assert_eq!(untimed(&a.join(name)), untimed(&b.join(name)), "manifest.json differs beyond timing");
        } else {
            assert!(fs::read(a.join(name)).unwrap() == fs::read(b.join(name)).unwrap(), "{} differs", name.display());
        }
    }
}

/// Shards 0..n of `exp` in `dir/shard-K`.
fn shards(exp: &Path, dir: &Path, n: u64) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let out = dir.join(format!("shard-{k}"));
            explore_ok(exp, &out, &["--shard", &format!("{k}/{n}"), "--quiet", "--threads", "2"]);
            out
        })
        .collect()
}

fn merge(shards: &[&PathBuf], out: &Path) -> (Option<i32>, String) {
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|s| path(s)));
    args.extend(["--out", path(out)]);
    hedgesim(&args)
}

fn sharded_equals_unsharded(name: &str, body: &str, with_discovery: bool) {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(dir.path(), name, body);
    let full = dir.path().join("full");
    explore_ok(&exp, &full, &["--quiet", "--threads", "1"]);
    assert_eq!(full.join("discovery.csv").is_file(), with_discovery);
    let parts = shards(&exp, dir.path(), 3);
    let shard0 = files(&parts[0]);
    let expected: Vec<PathBuf> =
        ["experiment.toml", "manifest.json", "means.bin", "points.part", "scenario.toml"].map(PathBuf::from).into();
    assert_eq!(shard0, expected, "a shard holds its data, no analysis");
    let merged = dir.path().join("merged");
    let (code, err) = merge(&[&parts[2], &parts[0], &parts[1]], &merged);
    assert_eq!(code, Some(0), "{err}");
    assert_same_result(&full, &merged);
}

#[test]
fn three_lhs_shards_with_prim_merge_to_the_bytes_of_one_explore() {
    sharded_equals_unsharded("lhs", LHS, true);
}

#[test]
fn three_sobol_shards_merge_to_the_bytes_of_one_explore() {
    sharded_equals_unsharded("sobol", SOBOL, false);
}

#[test]
fn more_shards_than_points_and_bad_shard_specs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(dir.path(), "lhs", LHS);
    let out = dir.path().join("out");
    let (code, err) = hedgesim(&["explore", path(&exp), "--shard", "3/13", "--out", path(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the design has only 12 points; use at most 12 shards"), "{err}");
    let (code, err) = hedgesim(&["explore", path(&exp), "--shard", "2/2", "--out", path(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("0 <= K < N"), "{err}");
    let (code, err) = hedgesim(&["explore", path(&exp), "--threads", "100000", "-q", "--out", path(&out)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("--threads 100000 lowered to") && err.contains("results do not depend on it"), "{err}");
    assert!(!dir.path().join(".out.partial").exists());
}

fn merge_refused(dir: &Path, shards: &[&PathBuf], expected: &[&str]) {
    let out = dir.join("merged");
    let (code, err) = merge(shards, &out);
    assert_eq!(code, Some(2), "merge should be refused:\n{err}");
    assert!(err.starts_with("error: cannot merge; nothing written:"), "{err}");
    for e in expected {
        assert!(err.contains(e), "stderr lacks {e:?}:\n{err}");
    }
    assert!(!out.exists(), "merge wrote {}", out.display());
    assert!(!dir.join(".merged.partial").exists(), "merge left a working directory");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn merge_refuses_missing_repeated_tampered_and_mixed_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = experiment(d, "lhs", LHS);
    let s = shards(&exp, d, 3);
    merge_refused(d, &[&s[0], &s[2]], &["shard 1/3 is missing"]);
    merge_refused(d, &[&s[0], &s[1], &s[2], &s[1]], &["shard 1/3 is given 2 times"]);

    // Tampered: a points.part row edited (same length), a means.bin replaced.
    for (file, what) in [("points.part", "does not match the SHA-256"), ("means.bin", "does not match the SHA-256")] {
        let bad = d.join(format!("bad-{file}"));
        copy_dir(&s[1], &bad);
        let mut bytes = fs::read(bad.join(file)).unwrap();
        let at = bytes.len() / 2;
        bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
        fs::write(bad.join(file), bytes).unwrap();
        merge_refused(d, &[&s[0], &bad, &s[2]], &[&format!("bad-{file}: {file} {what}"), "run the shard again"]);
    }
    let truncated = d.join("truncated");
    copy_dir(&s[1], &truncated);
    let bytes = fs::read(truncated.join("points.part")).unwrap();
    fs::write(truncated.join("points.part"), &bytes[..bytes.len() - 10]).unwrap();
    merge_refused(d, &[&s[0], &truncated, &s[2]], &["truncated: points.part has", "truncated or replaced"]);
    let edited = d.join("edited");
    copy_dir(&s[1], &edited);
    fs::write(edited.join("experiment.toml"), fs::read_to_string(&exp).unwrap().replace("runs = 6", "runs = 7"))
        .unwrap();
    merge_refused(d, &[&s[0], &edited, &s[2]], &["edited: experiment.toml does not match the experiment_sha256"]);

    // Another seed's shard does not belong.
    let other = d.join("other-seed");
    explore_ok(&exp, &other, &["--shard", "1/3", "--seed", "4", "--quiet"]);
    merge_refused(d, &[&s[0], &other, &s[2]], &["other-seed: seed differs"]);

    // A run shard among explore shards.
    let run_shard = d.join("run-shard");
    let (code, err) = hedgesim(&[
        "run",
        "tests/fixtures/tiny.toml",
        "--runs",
        "600",
        "--shard",
        "0/2",
        "--quiet",
        "--out",
        path(&run_shard),
    ]);
    assert_eq!(code, Some(0), "{err}");
    merge_refused(
        d,
        &[&s[0], &s[1], &s[2], &run_shard],
        &["run-shard: not an explore shard", "cannot be mixed", "shard-0: an explore shard"],
    );

    // The intact shards still merge.
    let (code, err) = merge(&[&s[0], &s[1], &s[2]], &d.join("merged"));
    assert_eq!(code, Some(0), "{err}");
}

/// Runs per point that keep a 256-point explore busy for about a second
/// at one thread in this build profile.
fn slow_runs() -> &'static str {
    if cfg!(debug_assertions) { "6" } else { "30" }
}

const SLOW: &str = r#"design = "lhs"
samples = 256
seed = 11
outcomes = ["trade_share.RU@2030", "strategic_space@2040"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = "hedger.autonomy_weight"
range = [0.1, 1.5]

[discovery]
outcome = "trade_share.RU@2030"
condition = "< 0.17"
"#;

/// Start an explore at one thread and stop it with `signal` once its
/// first window of points is written; its exit code and standard error.
fn interrupt(exp: &Path, out: &Path, extra: &[&str], signal: &str) -> (Option<i32>, String) {
    let partial = out.with_file_name(format!(".{}.partial", out.file_name().unwrap().to_str().unwrap()));
    let mut child = Command::new(cargo_bin!("hedgesim"))
        .args(["explore", path(exp), "--threads", "1", "--quiet", "--runs", slow_runs(), "--out", path(out)])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while fs::metadata(partial.join("points.part")).map_or(0, |m| m.len()) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the explore finished before it could be stopped");
        assert!(start.elapsed() < Duration::from_secs(60), "no points.part");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Points a (non-quiet) explore reports having computed.
fn computed_points(stderr: &str) -> usize {
    let after = stderr.split(" (").nth(1).unwrap_or_else(|| panic!("no summary line in {stderr:?}"));
    after.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn an_interrupted_explore_resumes_to_the_bytes_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = experiment(d, "slow", SLOW);
    let out = d.join("out");
    let partial = d.join(".out.partial");
    let (code, err) = interrupt(&exp, &out, &[], "TERM");
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("terminated (SIGTERM)") && err.contains("--resume"), "{err}");
    assert!(!out.exists(), "an interrupted explore must not publish");
    for file in ["checkpoint.json", "checkpoint.bin", "points.part", "means.bin", "experiment.toml", "scenario.toml"] {
        assert!(partial.join(file).is_file(), "{file} missing from the working directory");
    }

    // Changed settings are refused, naming each old -> new; the checkpoint stays.
    let (code, err) =
        hedgesim(&["explore", path(&exp), "--runs", "7", "--seed", "12", "--resume", "-q", "--out", path(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--runs {} -> 7", slow_runs())) && err.contains("--seed 11 -> 12"), "{err}");
    let (code, err) = hedgesim(&[
        "explore",
        path(&exp),
        "--shard",
        "0/2",
        "--runs",
        slow_runs(),
        "--resume",
        "-q",
        "--out",
        path(&out),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--shard none -> 0/2"), "{err}");
    assert!(partial.join("checkpoint.bin").is_file(), "a refused resume keeps the checkpoint");

    let err = explore_ok(&exp, &out, &["--runs", slow_runs(), "--threads", "2", "--resume"]);
    let computed = computed_points(&err);
    assert!(computed < 256, "the resumed explore started over: {err}");
    assert!(!partial.exists(), "the working directory is gone after success");
    let fresh = d.join("fresh");
    explore_ok(&exp, &fresh, &["--runs", slow_runs(), "--quiet"]);
    assert_same_result(&fresh, &out);
}

#[test]
fn an_interrupted_shard_resumes_and_merges() {
    // One shard of one (every point; the range must outlast two windows).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = experiment(d, "slow", SLOW);
    let s0 = d.join("shard-0");
    let (code, err) = interrupt(&exp, &s0, &["--shard", "0/1"], "INT");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted: no result written") && err.contains("--resume"), "{err}");
    // Merging the unfinished shard says how to finish it.
    let partial = d.join(".shard-0.partial");
    merge_refused(d, &[&partial], &["the working directory of an unfinished explore", "--resume"]);
    let err = explore_ok(&exp, &s0, &["--shard", "0/1", "--runs", slow_runs(), "--resume"]);
    assert!(err.contains("shard 0/1 of 256 points"), "{err}");
    let merged = d.join("merged");
    let (code, err) = merge(&[&s0], &merged);
    assert_eq!(code, Some(0), "{err}");
    let fresh = d.join("fresh");
    explore_ok(&exp, &fresh, &["--runs", slow_runs(), "--quiet"]);
    assert_same_result(&fresh, &merged);
}

#[test]
fn resume_uses_only_its_own_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = experiment(d, "slow", SLOW);
    let out = d.join("out");
    let partial = d.join(".out.partial");
    let (code, err) = interrupt(&exp, &out, &[], "TERM");
    assert_eq!(code, Some(143), "{err}");
    // `run --resume` does not take an explore's working directory.
    let (code, err) = hedgesim(&["run", "tests/fixtures/tiny.toml", "--resume", "-q", "--out", path(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("holds an interrupted `hedgesim explore`, not a run"), "{err}");
    assert!(partial.join("checkpoint.bin").is_file());
    let victim = d.join("victim.bin");
    fs::write(&victim, "precious").unwrap();
    fs::remove_file(partial.join("means.bin")).unwrap();
    std::os::unix::fs::symlink(&victim, partial.join("means.bin")).unwrap();
    let (code, err) = hedgesim(&["explore", path(&exp), "--runs", slow_runs(), "--resume", "-q", "--out", path(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("means.bin") && err.contains("symbolic link"), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!out.exists());
    // Without --resume the working directory is emptied and the explore starts over.
    explore_ok(&exp, &out, &["--runs", slow_runs(), "-q"]);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    // Nothing to resume: said, with the fix.
    let (code, err) = hedgesim(&["explore", path(&exp), "--resume", "-q", "--out", path(&d.join("new"))]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no interrupted explore to resume") && err.contains("run without --resume"), "{err}");
}
