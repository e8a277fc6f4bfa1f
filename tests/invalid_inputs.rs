//! A catalogue of bad scenario files, one test each, through
//! `hedgesim validate FILE`: exit code 2, and on stderr the file name, the
//! `line:col` of the offending text, the dotted key path, the message and the
//! fix (`help:` line). Each case is the valid [`BASE`] with one mutation,
//! and (unless the case is about several errors) exactly one error must be
//! reported, so a spurious extra diagnostic fails the test too.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::PredicateBooleanExt;

/// A valid scenario; the cases below mutate it. Line numbers matter: the
/// second `[[partner]]` table runs from line 11 to the end (line 14), so a
/// key appended at line 15 belongs to `partner[1]`.
const BASE: &str = r#"[scenario]
name = "bad"
base_year = 2023
horizon = 2030

[[partner]]
id = "RU"
trade = 30.0
gdp = 2000.0

[[partner]]
id = "CN"
trade = 40.0
gdp = 17000.0
"#;

/// One expected diagnostic.
struct Expect<'a> {
    /// `line:col`, 1-based.
    at: &'a str,
    /// Dotted key path; empty for syntax errors.
    key: &'a str,
    message: &'a str,
    /// The `help:` text, if the message has one.
    help: Option<&'a str>,
}

/// Write `text` as `<name>.toml` in a fresh directory, validate it and
/// return (path as displayed, stderr). Asserts exit code 2 and that nothing
/// was written to stdout.
fn validate(name: &str, text: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let output = cargo_bin_cmd!("hedgesim").arg("validate").arg(&path).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "validate {name} should exit 2; stderr:\n{stderr}");
    assert!(output.stdout.is_empty(), "stdout should be empty, got {:?}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.starts_with("error: "), "stderr should start with `error: `:\n{stderr}");
    (dir, path.display().to_string(), stderr)
}

/// The text of one diagnostic as `hedgesim` prints it.
fn rendered(file: &str, e: &Expect<'_>) -> String {
    let mut s = format!("{file}:{}: error", e.at);
    if !e.key.is_empty() {
        s.push_str(&format!(" in `{}`", e.key));
    }
    s.push_str(&format!(": {}", e.message));
    match e.help {
        Some(help) => s.push_str(&format!("\n  help: {help}\n")),
        None => s.push('\n'),
    }
    s
}

/// Assert that validating `text` reports exactly the `expected` diagnostics.
/// The help of an unknown partner key close to `leverage`: the suggestion and every valid key.
const LEVERAGE_HELP: &str = "did you mean `leverage`? valid keys here: id, name, trade, gdp, group, bloc, rivals, corridor, diplomatic_share, gdp_growth, gdp_volatility, volatility, complementarity, trade_cost, access, leverage, assertiveness, reciprocity, sanctions_risk, priority";

fn check(name: &str, text: &str, expected: &[Expect<'_>]) {
    let (_dir, file, stderr) = validate(name, text);
    for e in expected {
        let want = rendered(&file, e);
        assert!(stderr.contains(&want), "stderr lacks\n{want}\n--- stderr was:\n{stderr}");
    }
    let n = expected.len();
    let count = format!("{file}: {n} error{}\n", if n == 1 { "" } else { "s" });
    assert!(stderr.ends_with(&count), "stderr should end with `{count}`:\n{stderr}");
    let headers = stderr.lines().filter(|l| l.contains(": error")).count();
    assert_eq!(headers, n, "number of diagnostics:\n{stderr}");
}

fn check_one(name: &str, text: &str, at: &str, key: &str, message: &str, help: Option<&str>) {
    check(name, text, &[Expect { at, key, message, help }]);
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

fn replaced(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

/// An `[[event]]` appended to BASE (its header is on line 16).
fn event(body: &str) -> String {
    with(&format!("\n[[event]]\nname = \"e\"\n{body}"))
}

#[test]
fn the_base_scenario_is_valid() {
    // Every case below is BASE plus one mutation; this proves the mutation is the culprit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.toml");
    std::fs::write(&path, BASE).unwrap();
    cargo_bin_cmd!("hedgesim")
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("ok: ").and(predicates::str::contains("scenario `bad`: 2 partners")));
}

#[test]
fn toml_syntax_error() {
    let (_dir, file, stderr) = validate("syntax", &with("leverage = = 1\n"));
    let want = format!("{file}:15:12: error: TOML syntax error: ");
    assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
    assert!(stderr.contains("\n  help: see https://toml.io for the syntax\n"), "{stderr}");
    assert!(stderr.ends_with(&format!("{file}: 1 error\n")), "{stderr}");
}

#[test]
fn unterminated_string_is_a_syntax_error_at_its_line() {
    let (_dir, file, stderr) = validate("unterminated", &replaced(r#"name = "bad""#, r#"name = "bad"#));
    assert!(stderr.contains(&format!("{file}:2:12: error: TOML syntax error: ")), "{stderr}");
}

#[test]
fn unknown_top_level_table() {
    check_one(
        "partners",
        &with("\n[partners]\nid = \"EU\"\n"),
        "16:2",
        "partners",
        "unknown key `partners`",
        Some(
            "did you mean `partner`? valid keys here: scenario, monte_carlo, model, partner, corridor, hedger, outputs, classification, event",
        ),
    );
}

#[test]
fn unknown_partner_key_with_suggestion() {
    check_one(
        "leverge",
        &with("leverge = 0.5\n"),
        "15:1",
        "partner[1].leverge",
        "unknown key `leverge`",
        Some(LEVERAGE_HELP),
    );
}

#[test]
fn unknown_key_without_close_match_lists_valid_keys() {
    let (_dir, file, stderr) = validate("zzz", &with("\n[hedger]\nzzzzzz = 1\n"));
    let want = format!("{file}:17:1: error in `hedger.zzzzzz`: unknown key `zzzzzz`\n  help: valid keys here: name, ");
    assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
    assert!(stderr.contains("risk_aversion"), "{stderr}");
}

#[test]
fn wrong_type() {
    let (_dir, file, stderr) = validate("wrongtype", &replaced("trade = 40.0", "trade = \"big\""));
    let want = format!("{file}:13:9: error in `partner[1].trade`: expected a number, found string\n");
    assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
}

/// Regression: a present key of the wrong type was also reported as `missing required key`.
#[test]
fn wrong_type_is_not_also_reported_as_missing() {
    check_one(
        "floatyear_only",
        &replaced("horizon = 2030", "horizon = 2030.5"),
        "4:11",
        "scenario.horizon",
        "expected an integer, found float",
        None,
    );
    check_one(
        "wrongtype_only",
        &replaced("trade = 40.0", "trade = \"big\""),
        "13:9",
        "partner[1].trade",
        "expected a number, found string",
        None,
    );
}

#[test]
fn wrong_type_of_integer_key() {
    let (_dir, file, stderr) = validate("floatyear", &replaced("horizon = 2030", "horizon = 2030.5"));
    let want = format!("{file}:4:11: error in `scenario.horizon`: expected an integer, found float\n");
    assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
}

#[test]
fn missing_horizon() {
    check_one(
        "nohorizon",
        &replaced("horizon = 2030\n", ""),
        "1:1",
        "scenario.horizon",
        "missing required key `horizon`",
        Some("add e.g. `horizon = 2040`"),
    );
}

#[test]
fn missing_scenario_table() {
    let text = BASE.replacen("[scenario]\nname = \"bad\"\nbase_year = 2023\nhorizon = 2030\n", "", 1);
    check_one(
        "noscenario",
        &text,
        "1:1",
        "scenario",
        "missing required key `scenario`",
        Some("add a [scenario] table with name, base_year and horizon"),
    );
}

/// Regression: with an invalid `[scenario]`, a valid `[[event]]` was reported as an unknown key.
#[test]
fn invalid_header_does_not_make_events_unknown() {
    let text = event("target = \"RU\"\nat = 2025\nadd = { priority = 1 }\n").replacen("horizon = 2030\n", "", 1);
    check_one(
        "nohorizon_event",
        &text,
        "1:1",
        "scenario.horizon",
        "missing required key `horizon`",
        Some("add e.g. `horizon = 2040`"),
    );
}

#[test]
fn invalid_header_still_reports_event_errors() {
    let text = event("target = \"RUS\"\nat = 2025\nadd = { priority = 1 }\n").replacen("horizon = 2030\n", "", 1);
    check(
        "nohorizon_badevent",
        &text,
        &[
            Expect {
                at: "1:1",
                key: "scenario.horizon",
                message: "missing required key `horizon`",
                help: Some("add e.g. `horizon = 2040`"),
            },
            Expect {
                at: "17:10",
                key: "event[0].target",
                message: "unknown event target `RUS`",
                help: Some("did you mean `RU`? a target is a partner id, `group:NAME`, `corridor:ID` or `hedger`"),
            },
        ],
    );
}

#[test]
fn partner_without_gdp() {
    check_one(
        "nogdp",
        &replaced("gdp = 17000.0\n", ""),
        "11:1",
        "partner[1].gdp",
        "missing required key `gdp`",
        Some("add the partner's base-year GDP in US$ bn, e.g. `gdp = 2021.4`"),
    );
}

#[test]
fn partner_without_id() {
    check_one(
        "noid",
        &replaced("id = \"CN\"\n", ""),
        "11:1",
        "partner[1].id",
        "missing required key `id`",
        Some("add e.g. `id = \"RU\"`"),
    );
}

#[test]
fn trade_must_be_positive() {
    check_one(
        "trade0",
        &replaced("trade = 40.0", "trade = 0"),
        "13:9",
        "partner[1].trade",
        "trade must be > 0, got 0",
        None,
    );
}

#[test]
fn leverage_out_of_range() {
    check_one(
        "leverage",
        &with("leverage = 1.5\n"),
        "15:12",
        "partner[1].leverage",
        "leverage must be in [0, 1], got 1.5",
        None,
    );
}

#[test]
fn negative_volatility() {
    check_one(
        "volatility",
        &with("volatility = -0.1\n"),
        "15:14",
        "partner[1].volatility",
        "volatility must be >= 0, got -0.1",
        None,
    );
}

#[test]
fn nan_is_rejected() {
    check_one(
        "nan",
        &with("access = nan\n"),
        "15:10",
        "partner[1].access",
        "expected a finite number",
        Some("nan and inf are not allowed"),
    );
}

#[test]
fn correlations_sum_above_one() {
    check_one(
        "correlation",
        &with("\n[model]\nglobal_correlation = 0.6\nbloc_correlation = 0.5\n"),
        "16:1",
        "model.bloc_correlation",
        "global_correlation + bloc_correlation must be <= 1, got 0.6 + 0.5 = 1.1",
        Some("the idiosyncratic share of a shock is 1 - global - bloc; lower one of them"),
    );
}

#[test]
fn horizon_not_after_base_year() {
    check_one(
        "horizon",
        &replaced("horizon = 2030", "horizon = 2023"),
        "4:11",
        "scenario.horizon",
        "horizon 2023 must be after base_year 2023",
        Some("set horizon to a later year, e.g. 2040"),
    );
}

#[test]
fn steps_per_year_zero() {
    check_one(
        "steps",
        &replaced("horizon = 2030\n", "horizon = 2030\nsteps_per_year = 0\n"),
        "5:18",
        "scenario.steps_per_year",
        "steps_per_year must be an integer in [1, 365], got 0",
        None,
    );
}

#[test]
fn zero_runs() {
    check_one(
        "runs0",
        &with("\n[monte_carlo]\nruns = 0\n"),
        "17:8",
        "monte_carlo.runs",
        "runs must be in [1, 4294967295], got 0",
        None,
    );
}

#[test]
fn negative_seed() {
    check_one(
        "seed",
        &with("\n[monte_carlo]\nseed = -1\n"),
        "17:8",
        "monte_carlo.seed",
        "seed must be a non-negative integer, got -1",
        None,
    );
}

#[test]
fn quantile_above_one() {
    check_one(
        "quantile",
        &with("\n[outputs]\nquantiles = [0.05, 0.5, 1.5]\n"),
        "17:25",
        "outputs.quantiles[2]",
        "a quantile must be in (0, 1), got 1.5",
        Some("e.g. 0.05 for the 5th percentile"),
    );
}

#[test]
fn quantiles_not_increasing() {
    check_one(
        "quantile_order",
        &with("\n[outputs]\nquantiles = [0.5, 0.25]\n"),
        "17:19",
        "outputs.quantiles[1]",
        "quantiles must be strictly increasing",
        Some("sort them and remove duplicates"),
    );
}

#[test]
fn threshold_zero() {
    check_one(
        "threshold",
        &with("\n[classification]\nalignment_threshold = 0\n"),
        "17:23",
        "classification.alignment_threshold",
        "alignment_threshold must be in (0, 1], got 0",
        None,
    );
}

#[test]
fn duplicate_partner_id() {
    check_one(
        "duplicate",
        &replaced("id = \"CN\"", "id = \"RU\""),
        "12:6",
        "partner[1].id",
        "duplicate partner id `RU`",
        Some("partner ids must be unique"),
    );
}

#[test]
fn invalid_partner_id() {
    check_one(
        "badid",
        &replaced("id = \"CN\"", "id = \"C N\""),
        "12:6",
        "partner[1].id",
        "`C N` is not a valid partner id",
        Some("use 1 to 64 letters, digits, '-' or '_' (e.g. \"RU\")"),
    );
}

#[test]
fn hedger_is_not_a_partner_id() {
    check_one(
        "hedgerid",
        &replaced("id = \"CN\"", "id = \"hedger\""),
        "12:6",
        "partner[1].id",
        "`hedger` cannot be a partner id",
        Some("`hedger` names the hedging actor in event targets; choose another id"),
    );
}

#[test]
fn unknown_rival_with_suggestion() {
    check_one(
        "rival",
        &with("rivals = [\"RUS\"]\n"),
        "15:11",
        "partner[1].rivals[0]",
        "unknown partner `RUS`",
        Some("did you mean `RU`?"),
    );
}

#[test]
fn rival_is_itself() {
    check_one(
        "selfrival",
        &with("rivals = [\"CN\"]\n"),
        "15:11",
        "partner[1].rivals[0]",
        "partner `CN` lists itself as a rival",
        None,
    );
}

#[test]
fn unknown_corridor_with_suggestion() {
    check_one(
        "corridor",
        &with("corridor = \"CPX\"\n\n[[corridor]]\nid = \"CPC\"\n"),
        "15:12",
        "partner[1].corridor",
        "unknown corridor `CPX`",
        Some("did you mean `CPC`?"),
    );
}

#[test]
fn unknown_controller_lists_partners() {
    check_one(
        "controller",
        &with("\n[[corridor]]\nid = \"CPC\"\ncontrolled_by = \"XX\"\n"),
        "18:17",
        "corridor[0].controlled_by",
        "unknown partner `XX`",
        Some("known partners: CN, RU"),
    );
}

#[test]
fn unknown_event_target_with_suggestion() {
    check_one(
        "target",
        &event("target = \"RUS\"\nat = 2025\nadd = { priority = 1 }\n"),
        "18:10",
        "event[0].target",
        "unknown event target `RUS`",
        Some("did you mean `RU`? a target is a partner id, `group:NAME`, `corridor:ID` or `hedger`"),
    );
}

#[test]
fn unknown_event_group() {
    check_one(
        "group",
        &event("target = \"group:wset\"\nat = 2025\nadd = { priority = 1 }\n"),
        "18:10",
        "event[0].target",
        "unknown group `wset`",
        Some("known groups: other"),
    );
}

#[test]
fn event_param_not_valid_for_target_kind() {
    check_one(
        "param",
        &event("target = \"RU\"\nat = 2025\nmultiply = { cost = 2 }\n"),
        "20:14",
        "event[0].multiply.cost",
        "`cost` is not a partner parameter that events can change",
        Some(
            "partner parameters: gdp_growth, gdp_volatility, volatility, complementarity, trade_cost, access, \
             leverage, assertiveness, reciprocity, sanctions_risk, priority",
        ),
    );
}

#[test]
fn event_param_typo_with_suggestion() {
    check_one(
        "paramtypo",
        &event("target = \"hedger\"\nat = 2025\nadd = { risk_aversoin = 1 }\n"),
        "20:9",
        "event[0].add.risk_aversoin",
        "`risk_aversoin` is not a hedger parameter that events can change",
        Some("did you mean `risk_aversion`?"),
    );
}

#[test]
fn event_before_base_year() {
    check_one(
        "early",
        &event("target = \"RU\"\nat = 2020\nadd = { priority = 1 }\n"),
        "19:6",
        "event[0].at",
        "event starts at 2020 before base_year 2023",
        Some("events start at or after 2023"),
    );
}

#[test]
fn event_at_horizon_never_acts() {
    check_one(
        "late",
        &event("target = \"RU\"\nat = 2030\nadd = { priority = 1 }\n"),
        "19:6",
        "event[0].at",
        "event starts at 2030, after the last step starts: it would never act",
        Some("the last step starts at 2029.75; use an earlier year"),
    );
}

#[test]
fn event_target_corridor_when_there_are_none() {
    check_one(
        "nocorridors",
        &event("target = \"corridor:CPC\"\nat = 2025\nmultiply = { cost = 2 }\n"),
        "18:10",
        "event[0].target",
        "unknown corridor `CPC`",
        Some("the scenario defines no corridor"),
    );
}

#[test]
fn scheduled_event_between_two_step_starts() {
    // Steps start every 0.25 years; [2025.125, 2025.1875) contains no step start.
    check_one(
        "between",
        &event("target = \"RU\"\nat = 2025.125\nduration = 0.0625\nadd = { priority = 1 }\n"),
        "20:12",
        "event[0].duration",
        "no step starts in the 0.0625 years from 2025.125: the event would never act",
        Some("steps start every 1/4 year; the next starts at 2025.25; lengthen duration or move `at`"),
    );
}

#[test]
fn hazard_window_without_a_step_start() {
    check_one(
        "window",
        &event("target = \"RU\"\nhazard = 1\nfrom = 2025.125\nuntil = 2025.1875\nadd = { priority = 1 }\n"),
        "21:9",
        "event[0]",
        "no step starts inside [from, until): the event could never start",
        Some("steps start every 1/4 year from 2023; widen the window"),
    );
}

#[test]
fn event_with_both_at_and_hazard() {
    check_one(
        "both",
        &event("target = \"RU\"\nat = 2025\nhazard = 0.5\nadd = { priority = 1 }\n"),
        "20:10",
        "event[0].hazard",
        "an event has either `at` (scheduled) or `hazard` (random), not both",
        Some("remove one of them"),
    );
}

#[test]
fn event_with_neither_at_nor_hazard() {
    check_one(
        "neither",
        &event("target = \"RU\"\nadd = { priority = 1 }\n"),
        "16:1",
        "event[0]",
        "event has no timing",
        Some("add `at = YEAR` (scheduled) or `hazard = RATE_PER_YEAR` (random onset)"),
    );
}

#[test]
fn event_with_no_effect() {
    check_one(
        "noeffect",
        &event("target = \"RU\"\nat = 2025\n"),
        "16:1",
        "event[0]",
        "event has no effect",
        Some("add `multiply = { ... }`, `add = { ... }` or `shock = { ... }`"),
    );
}

#[test]
fn negative_multiply_factor() {
    check_one(
        "negfactor",
        &event("target = \"RU\"\nat = 2025\nmultiply = { trade_cost = -2 }\n"),
        "20:27",
        "event[0].multiply.trade_cost",
        "a multiply factor must be >= 0, got -2",
        Some("use `add` with a negative delta to decrease a parameter"),
    );
}

#[test]
fn shock_factor_must_be_positive() {
    check_one(
        "shock0",
        &event("target = \"RU\"\nat = 2025\nshock = { trade = 0 }\n"),
        "20:19",
        "event[0].shock.trade",
        "a shock factor must be > 0, got 0",
        Some("0.8 means -20% at onset"),
    );
}

#[test]
fn shock_on_a_corridor() {
    check_one(
        "corridorshock",
        &with(
            "corridor = \"CPC\"\n\n[[corridor]]\nid = \"CPC\"\n\n[[event]]\nname = \"e\"\ntarget = \"corridor:CPC\"\nat = 2025\nshock = { trade = 0.5 }\n",
        ),
        "24:11",
        "event[0].shock.trade",
        "corridor events cannot have a shock",
        Some("use `multiply = { cost = ... }` instead"),
    );
}

#[test]
fn hazard_rate_must_be_positive() {
    check_one(
        "hazard0",
        &event("target = \"RU\"\nhazard = 0\nadd = { priority = 1 }\n"),
        "19:10",
        "event[0].hazard",
        "hazard rate must be > 0 per year, got 0",
        None,
    );
}

#[test]
fn duplicate_event_name() {
    let text = with(
        "\n[[event]]\nname = \"e\"\ntarget = \"RU\"\nat = 2025\nadd = { priority = 1 }\n\n[[event]]\nname = \"e\"\ntarget = \"CN\"\nat = 2026\nadd = { priority = 1 }\n",
    );
    check_one(
        "dupevent",
        &text,
        "23:8",
        "event[1].name",
        "duplicate event name `e`",
        Some("event names must be unique (they seed the event's random stream)"),
    );
}

#[test]
fn fewer_than_two_partners() {
    let text = BASE.split("\n[[partner]]\nid = \"CN\"").next().unwrap().to_string() + "\n";
    check_one(
        "onepartner",
        &text,
        "1:1",
        "partner",
        "at least 2 [[partner]] tables are needed, found 1",
        Some("add [[partner]] tables with id, trade and gdp"),
    );
}

#[test]
fn zero_diplomatic_share() {
    check_one(
        "dshare",
        &with("diplomatic_share = 0\n"),
        "15:20",
        "partner[1].diplomatic_share",
        "diplomatic_share must be > 0, got 0",
        Some("a zero base attention cannot be calibrated (its log is -infinity); use a small positive value"),
    );
}

#[test]
fn scenario_name_that_escapes_the_results_directory() {
    check_one(
        "dotdot",
        &replaced("name = \"bad\"", "name = \"../x\""),
        "2:8",
        "scenario.name",
        "scenario name `../x` cannot be used as a directory name",
        Some("use letters, digits, '-', '_' and '.', not starting with '.' (it names results/<name>/)"),
    );
}

#[test]
fn several_errors_are_all_reported_in_file_order() {
    let text = with("leverge = 0.5\nleverage = 1.5\n\n[monte_carlo]\nruns = 0\n");
    check(
        "several",
        &text,
        &[
            Expect {
                at: "15:1",
                key: "partner[1].leverge",
                message: "unknown key `leverge`",
                help: Some(LEVERAGE_HELP),
            },
            Expect {
                at: "16:12",
                key: "partner[1].leverage",
                message: "leverage must be in [0, 1], got 1.5",
                help: None,
            },
            Expect {
                at: "19:8",
                key: "monte_carlo.runs",
                message: "runs must be in [1, 4294967295], got 0",
                help: None,
            },
        ],
    );
    let (_dir, _file, stderr) = validate("several_order", &text);
    let (a, b, c) = (stderr.find("15:1:").unwrap(), stderr.find("16:12:").unwrap(), stderr.find("19:8:").unwrap());
    assert!(a < b && b < c, "diagnostics should be sorted by position:\n{stderr}");
}

#[test]
fn every_file_is_checked_and_each_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    let bad1 = dir.path().join("bad1.toml");
    let bad2 = dir.path().join("bad2.toml");
    std::fs::write(&good, BASE).unwrap();
    std::fs::write(&bad1, with("leverage = 1.5\n")).unwrap();
    std::fs::write(&bad2, replaced("horizon = 2030", "horizon = 2000")).unwrap();
    let output = cargo_bin_cmd!("hedgesim").arg("validate").args([&bad1, &good, &bad2]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("ok: {}", good.display())), "{stderr}");
    assert!(stderr.contains(&format!("{}:15:12: error in `partner[1].leverage`", bad1.display())), "{stderr}");
    assert!(stderr.contains(&format!("{}:4:11: error in `scenario.horizon`", bad2.display())), "{stderr}");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("nope.toml");
    cargo_bin_cmd!("hedgesim")
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!("cannot read scenario file {}", path.display())));
}

#[test]
fn file_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"name = \"S\xe3o Paulo\"\n");
    std::fs::write(&path, bytes).unwrap();
    cargo_bin_cmd!("hedgesim")
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!("{}: not UTF-8 text; save the scenario as UTF-8", path.display())));
}

#[test]
fn run_of_a_bad_file_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.toml");
    std::fs::write(&scenario, with("leverage = 1.5\n")).unwrap();
    let out = dir.path().join("out");
    cargo_bin_cmd!("hedgesim")
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!("{}:15:12: error in `partner[1].leverage`", scenario.display())));
    assert!(!out.exists(), "{} must not exist", out.display());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("bad.toml")],
        "nothing but the scenario in {}",
        dir.path().display()
    );
}

#[test]
fn run_with_invalid_flags_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tiny = Path::new("tests/fixtures/tiny.toml");
    for (flags, message) in [
        (&["--runs", "0"][..], "--runs 0: must be in [1, 4294967295]"),
        (&["--threads", "0"][..], "--threads 0: use at least 1"),
        (&["--shard", "2/2"][..], "--shard `2/2`: expected K/N with 0 <= K < N"),
        (&["--shard", "0/50"][..], "--shard 0/50: 600 runs make only 3 chunks of 256; use at most 3 shards"),
    ] {
        cargo_bin_cmd!("hedgesim")
            .arg("run")
            .arg(tiny)
            .arg("--out")
            .arg(&out)
            .arg("-q")
            .args(flags)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{flags:?} left files behind");
    }
}
