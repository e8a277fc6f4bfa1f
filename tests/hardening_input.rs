//! Issue 14, the input half: regression tests at the command line for the
//! findings of the adversarial probe that concern what hedgesim reads
//! (shard directories, flags, scenario values and labels, what is echoed),
//! and a fuzz target for the scenario reader. Each test failed on 0.2.0.
//! Cases about a scenario file's messages live in `tests/invalid_inputs.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

const TINY: &str = "tests/fixtures/tiny.toml";

/// Run hedgesim with `args`; returns (exit code, stderr).
fn hedgesim(args: &[&str]) -> (Option<i32>, String) {
    let out = cargo_bin_cmd!("hedgesim").args(args).output().expect("hedgesim starts");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Both shards of tiny.toml (seed 7) in `dir`: `s0`, `s1`.
fn two_shards(dir: &Path) -> (PathBuf, PathBuf) {
    let (s0, s1) = (dir.join("s0"), dir.join("s1"));
    for (k, out) in [("0/2", &s0), ("1/2", &s1)] {
        let (code, err) = hedgesim(&["run", TINY, "--shard", k, "--out", path(out), "-q"]);
        assert_eq!(code, Some(0), "{err}");
    }
    (s0, s1)
}

/// A copy of shard directory `from` at `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Merging `shards` must fail with exit 2, write nothing, and say `expected`.
fn merge_refused(dir: &Path, shards: &[&PathBuf], expected: &[&str]) {
    let out = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|s| path(s)));
    args.extend(["--out", path(&out)]);
    let (code, err) = hedgesim(&args);
    assert_eq!(code, Some(2), "merge should be refused:\n{err}");
    assert!(err.starts_with("error: cannot merge; nothing written:"), "{err}");
    for e in expected {
        assert!(err.contains(e), "stderr lacks {e:?}:\n{err}");
    }
    assert!(!out.exists(), "merge wrote {}", out.display());
    assert!(!dir.join(".merged.partial").exists(), "merge left a working directory");
}

#[test]
fn merge_accepts_intact_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let manifest = fs::read_to_string(s0.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"state_bin_sha256\"") && manifest.contains("\"runs_part_sha256\""), "{manifest}");
    let out = dir.path().join("merged");
    let (code, err) = hedgesim(&["merge", path(&s1), path(&s0), "--out", path(&out)]);
    assert_eq!(code, Some(0), "{err}");
    let merged = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!merged.contains("shard_files"), "a merged result is not a shard:\n{merged}");
}

#[test]
fn merge_refuses_a_state_bin_from_another_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let other = dir.path().join("other");
    let (code, err) = hedgesim(&["run", TINY, "--shard", "0/2", "--seed", "8", "--out", path(&other), "-q"]);
    assert_eq!(code, Some(0), "{err}");
    let bad = dir.path().join("bad");
    copy_dir(&s0, &bad);
    fs::copy(other.join("state.bin"), bad.join("state.bin")).unwrap();
    merge_refused(dir.path(), &[&bad, &s1], &["bad: state.bin ", "run the shard again"]);
}

#[test]
fn merge_refuses_a_truncated_or_flipped_runs_part() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let part = fs::read(s0.join("runs.part")).unwrap();
    let short = dir.path().join("short");
    copy_dir(&s0, &short);
    fs::write(short.join("runs.part"), &part[..part.len() / 3]).unwrap();
    merge_refused(dir.path(), &[&short, &s1], &["short: runs.part has ", "(truncated or replaced)"]);
    let flipped = dir.path().join("flipped");
    copy_dir(&s0, &flipped);
    let mut bytes = part.clone();
    bytes[part.len() / 2] ^= 1;
    fs::write(flipped.join("runs.part"), &bytes).unwrap();
    merge_refused(dir.path(), &[&flipped, &s1], &["flipped: runs.part does not match the SHA-256"]);
}

#[test]
fn merge_refuses_an_edited_scenario_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let text = fs::read_to_string(s0.join("scenario.toml")).unwrap();
    // Quantiles changed (this silently changed the columns) ...
    let quantiles = dir.path().join("quantiles");
    copy_dir(&s0, &quantiles);
    fs::write(quantiles.join("scenario.toml"), format!("{text}\n[outputs]\nquantiles = [0.1, 0.9]\n")).unwrap();
    // ... and a partner added (this panicked in src/output/tables.rs), in both shards alike.
    let added = format!("{text}\n[[partner]]\nid = \"IN\"\ntrade = 3\ngdp = 3500\n");
    let (a0, a1) = (dir.path().join("a0"), dir.path().join("a1"));
    copy_dir(&s0, &a0);
    copy_dir(&s1, &a1);
    fs::write(a0.join("scenario.toml"), &added).unwrap();
    fs::write(a1.join("scenario.toml"), &added).unwrap();
    merge_refused(dir.path(), &[&quantiles, &s1], &["quantiles: scenario.toml does not match the scenario_sha256"]);
    merge_refused(dir.path(), &[&a0, &a1], &["a0: scenario.toml does not match", "a1: scenario.toml does not match"]);
}

#[test]
fn merge_refuses_huge_counts_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let edit = |name: &str, from: &str, to: &str| {
        let d = dir.path().join(name);
        copy_dir(&s0, &d);
        let m = fs::read_to_string(d.join("manifest.json")).unwrap();
        assert!(m.contains(from), "manifest lacks {from}");
        fs::write(d.join("manifest.json"), m.replacen(from, to, 1)).unwrap();
        d
    };
    let count = edit("count", "\"count\": 2", "\"count\": 1000000000000000");
    merge_refused(
        dir.path(),
        &[&count, &s1],
        &["count: manifest.json says shard 0/1000000000000000, impossible for 600 runs"],
    );
    let runs = edit("runs", "\"runs\": 600", "\"runs\": 1000000000000000");
    merge_refused(
        dir.path(),
        &[&runs, &s1],
        &["runs: manifest.json says runs = 1000000000000000, outside [1, 4294967295]"],
    );
}

#[test]
fn merge_refuses_shards_of_older_versions_without_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let old = dir.path().join("old");
    copy_dir(&s0, &old);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(old.join("manifest.json")).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("shard_files");
    fs::write(old.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    merge_refused(
        dir.path(),
        &[&old, &s1],
        &["old: manifest.json records no file hashes (written by an older hedgesim)"],
    );
}

#[test]
fn merge_of_an_unfinished_run_or_a_missing_runs_part_suggests_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let working = dir.path().join(".s2.partial");
    fs::create_dir(&working).unwrap();
    fs::write(working.join("checkpoint.json"), "{}").unwrap();
    merge_refused(
        dir.path(),
        &[&working, &s1],
        &[".s2.partial: the working directory of an unfinished run", "--resume"],
    );
    let no_part = dir.path().join("nopart");
    copy_dir(&s0, &no_part);
    fs::remove_file(no_part.join("runs.part")).unwrap();
    merge_refused(dir.path(), &[&no_part, &s1], &["nopart: runs.part is missing", "--resume"]);
}

#[test]
fn compare_of_a_shard_suggests_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = two_shards(dir.path());
    let (code, err) = hedgesim(&["compare", path(&s0), path(&s1)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("belongs to one shard of a batch") && err.contains("hedgesim merge"), "{err}");
}

#[test]
fn bench_runs_are_capped_like_run_runs() {
    for runs in ["5000000000", "0", "-3"] {
        let (code, err) = hedgesim(&["bench", TINY, "--runs", runs, "--threads", "1", "--repeat", "1"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("'--runs <RUNS>': must be an integer in [1, 4294967295]"), "{err}");
    }
}

#[test]
fn flag_overflow_names_the_flag_and_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (flag, value, range) in [
        ("--runs", "99999999999999999999", "[1, 4294967295]"),
        ("--seed", "18446744073709551616", "[0, 18446744073709551615]"),
        ("--seed", "-5", "[0, 18446744073709551615]"),
    ] {
        let (code, err) = hedgesim(&["run", TINY, flag, value, "--out", path(&out)]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(&format!("invalid value '{value}' for '{flag} <")) && err.contains(range), "{err}");
        assert!(!out.exists());
    }
}

/// A scenario whose only event drives sanctions_risk below 0 (issue 12, section 5).
fn clamped_scenario(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(TINY).unwrap();
    let file = dir.join("clamped.toml");
    fs::write(
        &file,
        format!(
            "{text}\n[[event]]\nname = \"ceasefire\"\ntarget = \"RU\"\nat = 2024\nadd = {{ sanctions_risk = -0.6 }}\n"
        ),
    )
    .unwrap();
    file
}

#[test]
fn clamped_event_effects_are_warned_about_and_can_be_denied() {
    let dir = tempfile::tempdir().unwrap();
    let file = clamped_scenario(dir.path());
    let want = "warning: event `ceasefire` asks for sanctions_risk = -0.6 on partner `RU`, outside its valid range (in [0, 1000]); the model uses 0";
    let out = cargo_bin_cmd!("hedgesim").args(["validate", path(&file)]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "a warning does not change the exit code:\n{err}");
    assert!(err.contains(want), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    let (code, err) = hedgesim(&["validate", "--deny-warnings", path(&file)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("made errors by --deny-warnings"), "{err}");
    let result = dir.path().join("result");
    let (code, err) = hedgesim(&["run", path(&file), "--runs", "10", "--out", path(&result), "-q"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(want), "{err}");
    let denied = dir.path().join("denied");
    let (code, err) = hedgesim(&["run", path(&file), "--runs", "10", "--out", path(&denied), "-q", "--deny-warnings"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(!denied.exists() && !dir.path().join(".denied.partial").exists(), "a denied run wrote files");
}

#[test]
fn shipped_scenarios_validate_without_warnings() {
    for entry in fs::read_dir("scenarios").unwrap() {
        let file = entry.unwrap().path();
        let out = cargo_bin_cmd!("hedgesim").args(["validate", "--deny-warnings", path(&file)]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", file.display());
        assert!(err.is_empty(), "{}: {err}", file.display());
    }
}

#[test]
fn control_characters_never_reach_the_terminal_or_report() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(TINY).unwrap();
    assert!(text.contains("[scenario]\n"));
    let file = dir.path().join("esc.toml");
    let described = text.replacen("[scenario]\n", "[scenario]\ndescription = \"a\\u001b]52;c;aGk=\\u0007b\\rc\"\n", 1);
    fs::write(&file, described).unwrap();
    let result = dir.path().join("result");
    let (code, err) = hedgesim(&["run", path(&file), "--runs", "10", "--out", path(&result), "-q"]);
    assert_eq!(code, Some(0), "{err}");
    let report = fs::read_to_string(result.join("report.md")).unwrap();
    assert!(!report.contains('\u{1b}') && !report.contains('\r') && !report.contains('\u{7}'), "{report:?}");
    assert!(report.contains("a\\u{1b}]52;c;aGk=\\u{7}b\\rc"), "{report}");
    // A result directory named with ESC and CR, echoed in merge's message.
    let evil = dir.path().join("x\u{1b}]52;c;aGk=\u{7}\r");
    let (code, err) = hedgesim(&["merge", path(&evil), "--out", path(&dir.path().join("m"))]);
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\r') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("x\\u{1b}]52;c;aGk=\\u{7}\\r"), "{err}");
}

// ---------------------------------------------------------------------------
// Fuzz target: mutated shipped scenarios through the scenario reader.

mod fuzz {
    use super::*;
    use hedgesim::model::Model;
    use hedgesim::scenario::parse_scenario;
    use proptest::prelude::*;

    /// Values that break naive readers: extremes, specials, wrong types, labels.
    const NASTY_VALUES: [&str; 18] = [
        "0",
        "-1",
        "1e308",
        "-1e308",
        "5e-324",
        "9223372036854775808",
        "-9223372036854775809",
        "nan",
        "inf",
        "-inf",
        "\"NA\"",
        "\"\"",
        "\"\\u001b]52;c;aGk=\\u0007\"",
        "[]",
        "{}",
        "true",
        "2040",
        "0x7fffffffffffffff",
    ];

    /// Lines that break naive readers.
    const NASTY_LINES: [&str; 8] = [
        "[scenario]",
        "[[partner]]",
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z = 1",
        "\u{feff}",
        "id = \"NaN\"",
        "\"\\u001b[2J\" = 1",
        "[[event]]\nname = \"e\"\ntarget = \"hedger\"\nat = 2024\nadd = { trade_growth = 1e6 }",
        "horizon = 9999",
    ];

    #[derive(Debug, Clone)]
    enum Mutation {
        /// Flip one bit of the byte at this fraction of the file.
        FlipBit(f64, u8),
        DeleteLine(f64),
        DuplicateLine(f64),
        SwapLines(f64, f64),
        /// Replace the value of the line at this fraction by a nasty value.
        Value(f64, usize),
        InsertLine(f64, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let at = 0.0..1.0f64;
        prop_oneof![
            (at.clone(), 0..8u8).prop_map(|(a, b)| Mutation::FlipBit(a, b)),
            at.clone().prop_map(Mutation::DeleteLine),
            at.clone().prop_map(Mutation::DuplicateLine),
            (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
            (at.clone(), 0..NASTY_VALUES.len()).prop_map(|(a, v)| Mutation::Value(a, v)),
            (at, 0..NASTY_LINES.len()).prop_map(|(a, v)| Mutation::InsertLine(a, v)),
        ]
    }

    fn index(fraction: f64, len: usize) -> usize {
        ((fraction * len as f64) as usize).min(len.saturating_sub(1))
    }

    /// Apply mutations; the result may not be UTF-8 (then it is lossily decoded,
    /// as the CLI refuses non-UTF-8 files before parsing).
    fn apply(text: &str, mutations: &[Mutation]) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for m in mutations {
            if let Mutation::FlipBit(a, b) = m {
                let i = index(*a, bytes.len());
                bytes[i] ^= 1 << b;
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for m in mutations {
            let n = lines.len().max(1);
            match m {
                Mutation::FlipBit(..) => {}
                Mutation::DeleteLine(a) if !lines.is_empty() => {
                    lines.remove(index(*a, n));
                }
                Mutation::DuplicateLine(a) if !lines.is_empty() => {
                    let i = index(*a, n);
                    lines.insert(i, lines[i].clone());
                }
                Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(index(*a, n), index(*b, n)),
                Mutation::Value(a, v) if !lines.is_empty() => {
                    let i = index(*a, n);
                    if let Some((key, _)) = lines[i].split_once('=') {
                        lines[i] = format!("{key}= {}", NASTY_VALUES[*v]);
                    }
                }
                Mutation::InsertLine(a, v) => lines.insert(index(*a, n + 1).min(lines.len()), NASTY_LINES[*v].into()),
                _ => {}
            }
        }
        lines.join("\n") + "\n"
    }

    fn shipped() -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = fs::read_dir("scenarios")
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.display().to_string(), fs::read_to_string(&p).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    /// Cases per run: a few hundred in CI; set `HEDGESIM_FUZZ_CASES` for a long run.
    fn cases() -> u32 {
        std::env::var("HEDGESIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        /// No mutation makes the reader panic; every rejection is located
        /// (file:line:col) and says what to fix or which key; every
        /// accepted scenario builds a model and simulates one run to
        /// finite values (validate accepts only what run can run).
        #[test]
        fn mutated_scenarios_are_rejected_cleanly_or_run(
            which in 0..8usize,
            mutations in prop::collection::vec(mutation(), 1..4),
        ) {
            let files = shipped();
            let (name, text) = &files[which % files.len()];
            let mutated = apply(text, &mutations);
            match parse_scenario(Path::new(name), &mutated) {
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    let shown = e.to_string();
                    prop_assert!(!shown.contains('\u{1b}') && !shown.contains('\r'), "raw control character: {shown:?}");
                    for item in &e.items {
                        let (line, col) = (item.line, item.col);
                        prop_assert!(line >= 1 && col >= 1);
                        let at = format!("{name}:{line}:{col}: error");
                        prop_assert!(shown.contains(&at), "{at} not in {shown}");
                    }
                }
                Ok(scenario) => {
                    prop_assume!(scenario.steps() <= 2_000);
                    let model = Model::new(&scenario);
                    let mut ws = model.workspace();
                    let mut trajectory = vec![0.0; model.trajectory_len()];
                    model.run(0, &mut ws, &mut trajectory);
                    prop_assert!(trajectory.iter().all(|v| v.is_finite()), "non-finite values for\n{mutated}");
                }
            }
        }
    }
}
