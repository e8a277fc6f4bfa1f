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
        "volatility must be in [0, 5], got -0.1",
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
        (&["--runs", "0"][..], "invalid value '0' for '--runs <RUNS>': must be an integer in [1, 4294967295]"),
        (&["--runs", "-5"][..], "invalid value '-5' for '--runs <RUNS>': must be an integer in [1, 4294967295]"),
        (
            &["--seed", "-1"][..],
            "invalid value '-1' for '--seed <SEED>': must be an integer in [0, 18446744073709551615]",
        ),
        (&["--shard", "-1/4"][..], "--shard `-1/4`: expected K/N with 0 <= K < N"),
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

// ---------------------------------------------------------------------------
// The catalogue of issue 14 (items 8, 14, 15): values that used to validate
// but could not run, labels that CSV readers read as missing, and messages
// that did not locate the problem. Lines refer to BASE (see its comment).

/// Every parameter with an upper bound, just above it: (table, key, value,
/// message). The key is appended to `partner[1]` (line 15) or added as a
/// table at line 16.
const ABOVE_BOUNDS: [(&str, &str, &str, &str); 26] = [
    ("partner", "gdp_growth", "1e308", "gdp_growth must be in (-1, 5], got 1e308"),
    ("partner", "gdp_volatility", "5.5", "gdp_volatility must be in [0, 5], got 5.5"),
    ("partner", "volatility", "1e308", "volatility must be in [0, 5], got 1e308"),
    ("partner", "complementarity", "2e6", "complementarity must be in (0, 1000000], got 2000000"),
    ("partner", "trade_cost", "2e6", "trade_cost must be in (0, 1000000], got 2000000"),
    ("partner", "access", "101", "access must be in [0, 100], got 101"),
    ("partner", "leverage", "1.5", "leverage must be in [0, 1], got 1.5"),
    ("partner", "assertiveness", "1e308", "assertiveness must be in [0, 1000000], got 1e308"),
    ("partner", "reciprocity", "1e308", "reciprocity must be in [0, 1000], got 1e308"),
    ("partner", "sanctions_risk", "1001", "sanctions_risk must be in [0, 1000], got 1001"),
    ("partner", "priority", "-1e308", "priority must be in [-1000, 1000], got -1e308"),
    ("partner", "trade", "1e308", "trade must be at most 1e9 (US$ bn), got 1e308"),
    ("partner", "gdp", "1e10", "gdp must be at most 1e9 (US$ bn), got 10000000000"),
    ("hedger", "trade_growth", "2040", "trade_growth must be in (-1, 5], got 2040"),
    ("hedger", "trade_volatility", "6", "trade_volatility must be in [0, 5], got 6"),
    ("hedger", "rationality", "1e4", "rationality must be in (0, 1000], got 10000"),
    ("hedger", "risk_aversion", "1e4", "risk_aversion must be in [0, 1000], got 10000"),
    ("hedger", "autonomy_weight", "1e4", "autonomy_weight must be in [0, 1000], got 10000"),
    ("hedger", "reassurance", "1e4", "reassurance must be in [0, 1000], got 10000"),
    ("hedger", "economic_diplomacy", "1e4", "economic_diplomacy must be in [0, 1000], got 10000"),
    ("hedger", "trade_total", "1e308", "trade_total must be at most 1e9 (US$ bn), got 1e308"),
    ("model", "gdp_elasticity", "101", "gdp_elasticity must be in [0, 100], got 101"),
    ("model", "engagement_elasticity", "101", "engagement_elasticity must be in [0, 100], got 101"),
    ("model", "pressure_decay", "1e308", "pressure_decay must be in [0, 1000], got 1e308"),
    ("model", "coercion_risk_jump", "1e308", "coercion_risk_jump must be in [0, 1000], got 1e308"),
    ("model", "disruption_duration", "1e308", "disruption_duration must be in [0, 1000], got 1e308"),
];

#[test]
fn every_upper_bound_is_enforced_at_its_line() {
    for (table, key, value, message) in ABOVE_BOUNDS {
        let (text, at, path) = if key == "trade" || key == "gdp" {
            // Required keys: replace partner[1]'s value (lines 13 and 14).
            let (line, old) = if key == "trade" { (13, "trade = 40.0") } else { (14, "gdp = 17000.0") };
            (
                replaced(old, &format!("{key} = {value}")),
                format!("{line}:{}", key.len() + 4),
                format!("partner[1].{key}"),
            )
        } else if table == "partner" {
            (with(&format!("{key} = {value}\n")), format!("15:{}", key.len() + 4), format!("partner[1].{key}"))
        } else {
            (
                with(&format!("\n[{table}]\n{key} = {value}\n")),
                format!("17:{}", key.len() + 4),
                format!("{table}.{key}"),
            )
        };
        let (_dir, file, stderr) = validate(key, &text);
        let want = format!("{file}:{at}: error in `{path}`: {message}");
        assert!(stderr.contains(&want), "{key}: stderr lacks\n{want}\n--- stderr was:\n{stderr}");
    }
}

#[test]
fn corridor_bounds_are_enforced() {
    let text = with("corridor = \"C\"\n\n[[corridor]]\nid = \"C\"\ncost = 2e6\ndisruption = 1e308\n");
    check(
        "corridor-bounds",
        &text,
        &[
            Expect {
                at: "19:8",
                key: "corridor[0].cost",
                message: "cost must be in (0, 1000000], got 2000000",
                help: None,
            },
            Expect {
                at: "20:14",
                key: "corridor[0].disruption",
                message: "disruption must be in [0, 1000], got 1e308",
                help: None,
            },
        ],
    );
}

/// Issue 14 item 8: two partners of 1e308 each overflowed their sum.
#[test]
fn trade_sum_cannot_overflow() {
    let text = BASE.replace("trade = 30.0", "trade = 1e308").replace("trade = 40.0", "trade = 1e308");
    check(
        "trade-sum",
        &text,
        &[
            Expect {
                at: "8:9",
                key: "partner[0].trade",
                message: "trade must be at most 1e9 (US$ bn), got 1e308",
                help: Some("amounts are in US$ bn; world GDP is about 1e5"),
            },
            Expect {
                at: "13:9",
                key: "partner[1].trade",
                message: "trade must be at most 1e9 (US$ bn), got 1e308",
                help: Some("amounts are in US$ bn; world GDP is about 1e5"),
            },
        ],
    );
}

#[test]
fn event_add_of_1e308_is_refused() {
    check_one(
        "event-add-huge",
        &event("target = \"RU\"\nat = 2025\nadd = { gdp_growth = 1e308 }\n"),
        "20:22",
        "event[0].add.gdp_growth",
        "add values must be within ±1e6, got 1e308",
        Some("gdp_growth is in (-1, 5]; the model clamps effective values to that range"),
    );
}

#[test]
fn event_multiply_of_1e308_is_refused() {
    check_one(
        "event-multiply-huge",
        &event("target = \"RU\"\nat = 2025\nmultiply = { assertiveness = 1e308 }\n"),
        "20:30",
        "event[0].multiply.assertiveness",
        "multiply values must be within ±1e6, got 1e308",
        Some("assertiveness is in [0, 1000000]; the model clamps effective values to that range"),
    );
}

#[test]
fn shock_factor_has_an_upper_bound() {
    check_one(
        "shock-huge",
        &event("target = \"RU\"\nat = 2025\nshock = { trade = 1e6 }\n"),
        "20:19",
        "event[0].shock.trade",
        "a shock factor must be at most 100, got 1000000",
        Some("2 means +100% at onset"),
    );
}

#[test]
fn a_base_share_too_small_to_divide_by_is_refused() {
    check(
        "tiny-share",
        &replaced("trade = 30.0", "trade = 1e-12"),
        &[
            Expect {
                at: "6:1",
                key: "partner[0].diplomatic_share",
                message: "partner `RU` has a base diplomatic share of 2.500e-14, below 1e-9",
                help: Some("the model divides by base shares; raise the value or leave the partner out"),
            },
            Expect {
                at: "6:1",
                key: "partner[0].trade",
                message: "partner `RU` has a base trade share of 2.500e-14, below 1e-9",
                help: Some("the model divides by base shares; raise the value or leave the partner out"),
            },
        ],
    );
}

/// Growth over a far horizon overflows trade flows: a derived check.
#[test]
fn growth_that_would_overflow_is_refused_at_the_horizon() {
    let text = replaced("base_year = 2023\nhorizon = 2030", "base_year = 1000\nhorizon = 9999");
    let (_dir, file, stderr) = validate("far-growth", &with_text(&text, "\n[hedger]\ntrade_growth = 0.05\n"));
    let want = format!("{file}:4:11: error in `scenario.horizon`: trade flows could overflow by 9999: ");
    assert!(stderr.contains(&want), "stderr lacks {want}\n{stderr}");
    assert!(stderr.contains("above the limit 345.38 (flows of 1e150)"), "{stderr}");
}

fn with_text(text: &str, extra: &str) -> String {
    format!("{text}{extra}")
}

/// Issue 14 item 7: a horizon of 8,999 years at 365 steps a year needs
/// terabytes; it is refused by validate (and run) with the figure.
#[test]
fn far_horizon_is_refused_with_the_memory_it_needs() {
    let text = replaced("base_year = 2023\nhorizon = 2030", "base_year = 1000\nhorizon = 9999\nsteps_per_year = 365");
    let text = text
        .replace("gdp = 2000.0", "gdp = 2000.0\nvolatility = 0")
        .replace("gdp = 17000.0", "gdp = 17000.0\nvolatility = 0");
    let text = format!("{text}\n[hedger]\ntrade_growth = 0\n");
    let (_dir, file, stderr) = validate("far-memory", &text);
    assert!(stderr.contains(&format!("error: {file}: the run would need about ")), "{stderr}");
    assert!(stderr.contains("GB of memory (3284635 steps x "), "{stderr}");
    assert!(stderr.contains("use an earlier horizon or fewer steps_per_year"), "{stderr}");
}

#[test]
fn labels_that_csv_readers_read_as_missing_are_refused() {
    let help = Some("choose another label, e.g. ISO alpha-3 `NAM` for Namibia; see docs/scenario-format.md (labels)");
    let why = "CSV readers (pandas, R, polars, DuckDB) read it as a missing value";
    for (label, key) in [("NA", "id"), ("NaN", "id"), ("null", "group"), ("None", "bloc"), ("nan", "group")] {
        let text = replaced("id = \"CN\"", &format!("id = \"CN\"\n{key} = \"{label}\""));
        let what = if key == "id" { "partner id" } else { key };
        let text = if key == "id" { replaced("id = \"CN\"", &format!("id = \"{label}\"")) } else { text };
        let at = if key == "id" { "12:6".to_string() } else { format!("13:{}", key.len() + 4) };
        let path = format!("partner[1].{key}");
        let message = format!("`{label}` cannot be a {what}: {why}");
        check_one(&format!("na-{key}-{label}"), &text, &at, &path, &message, help);
    }
}

#[test]
fn corridor_id_na_is_refused() {
    let text = with("\n[[corridor]]\nid = \"NULL\"\n");
    check_one(
        "na-corridor",
        &text,
        "17:6",
        "corridor[0].id",
        "`NULL` cannot be a corridor id: CSV readers (pandas, R, polars, DuckDB) read it as a missing value",
        Some("choose another label, e.g. ISO alpha-3 `NAM` for Namibia; see docs/scenario-format.md (labels)"),
    );
}

#[test]
fn duplicate_key_names_the_key_and_both_lines() {
    check_one(
        "dup-key",
        &with("gdp = 5\n"),
        "15:1",
        "gdp",
        "duplicate key `gdp`: already defined at line 14",
        Some("a key may be defined only once; remove or merge one of the two"),
    );
}

#[test]
fn duplicate_table_names_the_table_and_both_lines() {
    check_one(
        "dup-table",
        &with("\n[scenario]\nname = \"x\"\n"),
        "16:2",
        "",
        "duplicate table `scenario`: already defined at line 1",
        Some("a table may be defined only once; remove or merge one of the two"),
    );
}

#[test]
fn a_byte_order_mark_does_not_shift_columns() {
    check_one(
        "bom",
        &format!("\u{feff}{}", replaced("name = \"bad\"", "name = 5")),
        "2:8",
        "scenario.name",
        "expected a string, found integer",
        None,
    );
    let (_dir, file, stderr) = validate("bom-first-line", "\u{feff}[scenario]\nname = 5\n");
    assert!(stderr.contains(&format!("{file}:1:1: error in `scenario.base_year`")), "{stderr}");
}

#[test]
fn a_5000_level_dotted_key_is_reported_at_its_line() {
    let deep = vec!["a"; 5000].join(".");
    check_one(
        "deep",
        &with(&format!("\n{deep} = 1\n")),
        "16:1",
        "",
        "TOML syntax error: line 16 nests keys or tables too deeply",
        Some("keys, tables and arrays may nest at most about 80 levels; a scenario needs at most 3"),
    );
}

#[test]
fn integer_overflow_gives_the_valid_range() {
    check_one(
        "overflow-horizon",
        &replaced("horizon = 2030", "horizon = 99999999999999999999"),
        "4:11",
        "scenario.horizon",
        "integer out of range: horizon must be an integer with base_year < horizon <= 9999",
        Some("TOML integers are 64-bit (at most 9223372036854775807)"),
    );
    check_one(
        "overflow-runs",
        &with("\n[monte_carlo]\nruns = 99999999999999999999\n"),
        "17:8",
        "monte_carlo.runs",
        "integer out of range: runs must be an integer in [1, 4294967295]",
        Some("TOML integers are 64-bit (at most 9223372036854775807)"),
    );
    check_one(
        "overflow-trade",
        &replaced("trade = 30.0", "trade = 99999999999999999999"),
        "8:9",
        "partner[0].trade",
        "expected a finite number",
        Some(
            "integers must be within -9223372036854775808 to 9223372036854775807 (write large values as floats, e.g. 1e20)",
        ),
    );
}

#[test]
fn control_characters_are_escaped_and_long_keys_cut() {
    // ESC ] 52 (OSC 52: write the clipboard), BEL and CR in an unknown key and an event target.
    let text = with("\"x\\u001b]52;c;aGk=\\u0007\\r\" = 1\n");
    let (_dir, _file, stderr) = validate("controls", &text);
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stderr.contains('\r'), "{stderr:?}");
    assert!(stderr.contains("unknown key `x\\u{1b}]52;c;aGk=\\u{7}\\r`"), "{stderr}");
    let text = event("target = \"R\\u001b[2JU\"\nat = 2025\nadd = { priority = 1 }\n");
    let (_dir, _file, stderr) = validate("controls-target", &text);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("unknown event target `R\\u{1b}[2JU`"), "{stderr}");
    let long = "k".repeat(5_000_000);
    let (_dir, _file, stderr) = validate("long-key", &with(&format!("{long} = 1\n")));
    assert!(stderr.len() < 2000, "{} bytes of stderr", stderr.len());
    assert!(stderr.contains(&format!("unknown key `{}... (5000000 characters)`", "k".repeat(80))), "{stderr}");
}
