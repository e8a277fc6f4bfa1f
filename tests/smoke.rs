//! End-to-end checks of the promises the engine makes: identical bytes for
//! any thread count and shard split, and the base-year fixed point.

use std::path::Path;
use std::process::Command;

use hedgesim::model::Model;
use hedgesim::scenario::parse_scenario;

fn hedgesim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hedgesim"))
}

fn run(args: &[&str]) {
    let status = hedgesim().args(args).status().expect("hedgesim starts");
    assert!(status.success(), "hedgesim {args:?} failed");
}

#[test]
fn same_bytes_for_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for threads in ["1", "2", "4"] {
        run(&["run", "tests/fixtures/tiny.toml", "--runs", "1500", "--threads", threads, "--out", &out(threads), "-q"]);
    }
    for k in 0..3 {
        run(&[
            "run",
            "tests/fixtures/tiny.toml",
            "--runs",
            "1500",
            "--shard",
            &format!("{k}/3"),
            "--out",
            &out(&format!("s{k}")),
            "-q",
        ]);
    }
    run(&["merge", &out("s1"), &out("s0"), &out("s2"), "--out", &out("merged")]);
    for file in ["summary.csv", "outcomes.csv", "runs.csv"] {
        let reference = std::fs::read(dir.path().join("1").join(file)).unwrap();
        for other in ["2", "4", "merged"] {
            assert!(
                reference == std::fs::read(dir.path().join(other).join(file)).unwrap(),
                "{file} differs for {other}"
            );
        }
    }
}

#[test]
fn base_year_is_a_fixed_point_without_change() {
    let text = r#"
[scenario]
name = "still"
base_year = 2023
horizon = 2033
[monte_carlo]
runs = 3
[hedger]
trade_volatility = 0
trade_total = 120
[[partner]]
id = "A"
trade = 10
gdp = 100
volatility = 0
gdp_growth = 0.03
leverage = 0.9
[[partner]]
id = "B"
trade = 30
gdp = 5000
volatility = 0
gdp_growth = 0.03
diplomatic_share = 0.6
[[partner]]
id = "C"
trade = 60
gdp = 900
volatility = 0
gdp_growth = 0.03
reciprocity = 2
"#;
    let scenario = parse_scenario(Path::new("still.toml"), text).unwrap();
    let model = Model::new(&scenario);
    let mut ws = model.workspace();
    let mut trajectory = vec![0.0; model.trajectory_len()];
    model.run(0, &mut ws, &mut trajectory);
    let cells = model.layout.len();
    let share_col = model.layout.cells.iter().position(|c| c.column() == "trade_share.A").unwrap();
    let attention_col = model.layout.cells.iter().position(|c| c.column() == "diplomatic_attention.B").unwrap();
    for k in 0..=model.steps() {
        assert!((trajectory[k * cells + share_col] - 0.1).abs() < 1e-12, "step {k}");
        assert!((trajectory[k * cells + attention_col] - 0.6 / (0.1 + 0.6 + 0.6)).abs() < 1e-12, "step {k}");
    }
}

#[test]
fn a_second_run_into_the_same_output_is_refused_while_the_first_is_alive() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    let out_text = out.to_string_lossy().into_owned();
    let mut first = hedgesim()
        .args(["run", "tests/fixtures/long.toml", "--runs", "400000", "--threads", "1", "--out", &out_text, "-q"])
        .spawn()
        .expect("hedgesim starts");
    let owner = dir.path().join(".busy.partial").join("owner.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !owner.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(owner.exists(), "the first run never claimed its working directory");
    let second = hedgesim()
        .args(["run", "tests/fixtures/tiny.toml", "--out", &out_text, "-q", "--force"])
        .output()
        .expect("hedgesim starts");
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another hedgesim process"), "{stderr}");
    assert!(!out.exists());
}
