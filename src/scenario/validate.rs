//! From TOML text to a validated [`Scenario`]: defaults, ranges, references.
//!
//! Each `read_*` function reads one table through a [`TableReader`], fills in
//! the defaults of MODEL.md, checks ranges and pushes a [`Diagnostic`] for
//! every problem, then goes on. References between tables (rivals,
//! corridors, controllers, event targets) are resolved once all partners and
//! corridors are known. The result is either a complete scenario or the full
//! list of what is wrong.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::de::DeTable;

use super::diagnostics::{Diagnostic, ScenarioErrors, line_col, shown, suggest};
use super::params::{self, CORRIDOR_PARAMS, HEDGER_PARAMS, MODEL_PARAMS, PARTNER_PARAMS, ParamSpec};
use super::reader::{At, TableReader};
use super::*;

/// Largest number of runs one batch may have (histogram counts are `u32`).
pub const MAX_RUNS: u64 = u32::MAX as u64;

/// Largest `trade`, `gdp` or `trade_total` (US$ bn; world GDP is about 1e5):
/// keeps every sum of amounts finite.
pub const MAX_AMOUNT: f64 = 1e9;

/// Smallest base trade share and base diplomatic share of a partner: the
/// model divides by both (rivalry and shortfall terms).
pub const MIN_SHARE: f64 = 1e-9;

/// Largest `multiply` factor and largest absolute `add` delta of an event.
pub const MAX_EFFECT: f64 = 1e6;

/// Largest `shock` factor of an event.
pub const MAX_SHOCK: f64 = 100.0;

/// Largest trade flow (US$ bn) the model may reach, as a natural logarithm
/// (1e150: squares and sums over 2^32 runs stay finite).
pub const LN_MAX_FLOW: f64 = 345.38;

/// Standard deviations of the trade random walk allowed for in the
/// growth check (see [`check_growth`]).
pub const GROWTH_SIGMAS: f64 = 8.0;

/// Labels that CSV readers turn into missing values: pandas' default
/// `na_values` that a label could spell, R's and polars' null markers.
/// Compared case-insensitively.
pub const MISSING_VALUE_LABELS: [&str; 10] =
    ["na", "n_a", "nan", "-nan", "null", "none", "nil", "-na", "nat", "missing"];

/// Whether `label` would be read back as a missing value by pandas, R,
/// polars or DuckDB.
pub fn is_missing_value_label(label: &str) -> bool {
    MISSING_VALUE_LABELS.iter().any(|m| m.eq_ignore_ascii_case(label))
}

/// Parse and validate scenario text; `path` is used in messages only.
pub fn parse_scenario(path: &Path, source: &str) -> Result<Scenario, ScenarioErrors> {
    super::compose::Layers::single(path, source).scenario()
}

/// Validate a (merged) document: the scenario, or `None` with diagnostics.
pub(crate) fn validate_document(doc: &DeTable<'_>, diags: &mut Vec<Diagnostic>) -> Option<Scenario> {
    let mut root = TableReader::new(doc, "", 0..0);
    let scenario = read_document(&mut root, diags);
    root.finish(diags);
    scenario
}

/// A number as messages show it: plain when short, in scientific notation
/// when huge or tiny (`1e308`, not 309 digits).
pub fn num(v: f64) -> String {
    if v == 0.0 || (1e-6..1e15).contains(&v.abs()) { format!("{v}") } else { format!("{v:e}") }
}

/// A TOML syntax error, located and explained. The parser reports a
/// duplicate key without naming it or the first definition, and a too-deep
/// nesting at 1:1; both are completed here from the text.
pub(crate) fn syntax_error(source: &str, span: Option<Range<usize>>, message: &str) -> Diagnostic {
    let help = "see https://toml.io for the syntax";
    if message.contains("recursion limit") {
        let (line, start) = deepest_line(source);
        return Diagnostic::new(
            start..start,
            "",
            format!("TOML syntax error: line {line} nests keys or tables too deeply"),
        )
        .with_help("keys, tables and arrays may nest at most about 80 levels; a scenario needs at most 3");
    }
    let span = span.unwrap_or(0..0);
    if message.contains("duplicate key") {
        if let Some(d) = duplicate_key(source, span.clone()) {
            return d;
        }
    }
    Diagnostic::new(span, "", format!("TOML syntax error: {message}")).with_help(help)
}

/// (1-based line, byte offset of its start) of the line with the most
/// nesting characters (`.`, `[`, `{`).
fn deepest_line(source: &str) -> (usize, usize) {
    let mut best = (0, 1, 0);
    let mut offset = 0;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        let depth = line.chars().filter(|c| matches!(c, '.' | '[' | '{')).count();
        if depth > best.0 {
            best = (depth, i + 1, offset);
        }
        offset += line.len();
    }
    (best.1, best.2)
}

/// The duplicate key at `span`, with the line of its first definition when
/// it can be found: a table header `[K]` earlier in the file, or `K = ` in
/// the same table.
fn duplicate_key(source: &str, span: Range<usize>) -> Option<Diagnostic> {
    let start = span.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line = source.get(line_start..line_end)?.trim();
    let header = line.starts_with('[') && !line.starts_with("[[");
    let key = if header {
        line.trim_start_matches('[').split(']').next()?.trim().to_string()
    } else {
        line.split('=').next()?.trim().to_string()
    };
    if key.is_empty() {
        return None;
    }
    let mut first = None;
    let mut offset = 0;
    for text in source[..line_start].split_inclusive('\n') {
        let t = text.trim();
        if header {
            if t.starts_with('[') && t.trim_start_matches('[').split(']').next().map(str::trim) == Some(&key) {
                first = Some(offset);
            }
        } else if t.starts_with('[') {
            first = None;
        } else if t.split('=').next().map(str::trim) == Some(&key) && t.contains('=') {
            first = Some(offset);
        }
        offset += text.len();
    }
    let what = if header { "table" } else { "key" };
    let shown_key = shown(&key);
    let d = Diagnostic::new(
        span,
        if header { String::new() } else { shown_key.clone() },
        match first {
            Some(o) => format!("duplicate {what} `{shown_key}`: already defined at line {}", line_col(source, o).0),
            None => format!("duplicate {what} `{shown_key}`"),
        },
    );
    Some(d.with_help(format!("a {what} may be defined only once; remove or merge one of the two")))
}

fn read_document(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<Scenario> {
    let header = read_header(root, diags);
    let (runs, seed) = read_monte_carlo(root, diags);
    let model = read_model(root, diags);
    let (partners_raw, groups, blocs) = read_partners(root, diags);
    let corridors_raw = read_corridors(root, diags);
    let hedger = read_hedger(root, &partners_raw, diags);
    let outputs = read_outputs(root, header.as_ref().map(|h| h.steps_per_year), diags);
    let classification = read_classification(root, diags);

    let partner_ids: Vec<String> = partners_raw.iter().map(|p| p.partner.id.clone()).collect();
    let corridor_ids: Vec<String> = corridors_raw.iter().map(|c| c.corridor.id.clone()).collect();
    let partner_index: HashMap<&str, usize> = partner_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let corridor_index: HashMap<&str, usize> =
        corridor_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let partner_groups: Vec<usize> = partners_raw.iter().map(|p| p.partner.group).collect();
    let names = Names {
        partner_index: &partner_index,
        corridor_index: &corridor_index,
        groups: &groups,
        partner_groups: &partner_groups,
    };

    let partners = resolve_partners(partners_raw, &names, diags);
    let corridors = resolve_corridors(corridors_raw, &names, diags);
    let events = read_events(root, &names, header.as_ref(), diags);
    if let (Some(h), Some(hd), Some(ps)) = (&header, &hedger, &partners) {
        check_growth(h, hd, ps, &events, diags);
    }
    let header = header?;

    Some(Scenario {
        name: header.name,
        description: header.description,
        base_year: header.base_year,
        horizon: header.horizon,
        steps_per_year: header.steps_per_year,
        runs: runs?,
        seed: seed?,
        model: model?,
        hedger: hedger?,
        partners: partners?,
        corridors: corridors?,
        events,
        outputs: outputs?,
        classification: classification?,
        groups,
        blocs,
    })
}

struct Header {
    name: String,
    description: String,
    base_year: i32,
    horizon: i32,
    steps_per_year: u32,
    horizon_span: Range<usize>,
}

fn read_header(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<Header> {
    let Some(mut t) = root.table("scenario", diags) else {
        root.report_missing(diags, "scenario", "add a [scenario] table with name, base_year and horizon");
        return None;
    };
    let name = t.string("name", diags);
    let description = t.string("description", diags).map(|d| d.value).unwrap_or_default();
    let base_year = t.i64("base_year", "an integer in [1000, 9999]", diags);
    let horizon = t.i64("horizon", "an integer with base_year < horizon <= 9999", diags);
    let horizon_span = horizon.as_ref().map_or_else(|| t.span(), |h| h.span.clone());
    let steps = t.i64("steps_per_year", "an integer in [1, 365]", diags);
    let mut ok = true;
    let name = match name {
        Some(n) if is_safe_name(&n.value) => Some(n.value),
        Some(n) => {
            diags.push(
                n.diag(format!("scenario name `{}` cannot be used as a directory name", shown(&n.value))).with_help(
                    "use letters, digits, '-', '_' and '.', not starting with '.' (it names results/<name>/)",
                ),
            );
            None
        }
        None => {
            t.report_missing(diags, "name", "add `name = \"my-scenario\"` (it names the result directory)");
            None
        }
    };
    let base_year = match base_year {
        Some(y) if (1000..=9999).contains(&y.value) => Some(y.value as i32),
        Some(y) => {
            diags.push(y.diag(format!("base_year {} is not a 4-digit year", y.value)));
            None
        }
        None => {
            t.report_missing(diags, "base_year", "add e.g. `base_year = 2023`");
            None
        }
    };
    let horizon = match (horizon, base_year) {
        (Some(h), Some(b)) if h.value > i64::from(b) && h.value <= 9999 => Some(h.value as i32),
        (Some(h), Some(b)) => {
            diags.push(
                h.diag(format!("horizon {} must be after base_year {b}", h.value))
                    .with_help(format!("set horizon to a later year, e.g. {}", b + 17)),
            );
            None
        }
        (Some(_), None) => None,
        (None, _) => {
            t.report_missing(diags, "horizon", "add e.g. `horizon = 2040`");
            None
        }
    };
    let steps_per_year = match steps {
        None => 4,
        Some(s) if (1..=365).contains(&s.value) => s.value as u32,
        Some(s) => {
            diags.push(s.diag(format!("steps_per_year must be an integer in [1, 365], got {}", s.value)));
            ok = false;
            4
        }
    };
    t.finish(diags);
    if !ok {
        return None;
    }
    Some(Header { name: name?, description, base_year: base_year?, horizon: horizon?, steps_per_year, horizon_span })
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Id or label usable as a CSV subject and in `metric.subject` column names.
fn is_safe_label(label: &str) -> bool {
    !label.is_empty() && label.len() <= 64 && label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn read_monte_carlo(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> (Option<u64>, Option<u64>) {
    let Some(mut t) = root.table("monte_carlo", diags) else { return (Some(1000), Some(0)) };
    let runs = match t.i64("runs", "an integer in [1, 4294967295]", diags) {
        None => Some(1000),
        Some(r) if r.value >= 1 && (r.value as u64) <= MAX_RUNS => Some(r.value as u64),
        Some(r) => {
            diags.push(r.diag(format!("runs must be in [1, {MAX_RUNS}], got {}", r.value)));
            None
        }
    };
    let seed = match t.i64("seed", "an integer in [0, 9223372036854775807]", diags) {
        None => Some(0),
        Some(s) if s.value >= 0 => Some(s.value as u64),
        Some(s) => {
            diags.push(s.diag(format!("seed must be a non-negative integer, got {}", s.value)));
            None
        }
    };
    t.finish(diags);
    (runs, seed)
}

/// Read a number with a default and check it against its spec.
fn checked(t: &mut TableReader<'_, '_>, spec: &ParamSpec, diags: &mut Vec<Diagnostic>) -> Option<f64> {
    match t.f64(spec.name, diags) {
        None => Some(spec.default),
        Some(v) => check_range(&v, spec, diags),
    }
}

fn check_range(v: &At<f64>, spec: &ParamSpec, diags: &mut Vec<Diagnostic>) -> Option<f64> {
    if spec.accepts(v.value) {
        Some(v.value)
    } else {
        let near = spec.min_exclusive && v.value > spec.min && v.value <= spec.max;
        diags.push(if near {
            v.diag(format!(
                "{} must be at least {} above {}, got {}",
                spec.name,
                num(params::EXCLUSIVE_FLOOR),
                spec.min,
                num(v.value)
            ))
            .with_help("a value this close to the bound makes the model divide by almost zero")
        } else {
            v.diag(format!("{} must be {}, got {}", spec.name, spec.range_text(), num(v.value)))
        });
        None
    }
}

/// Read every parameter of a table; `None` if any is invalid.
fn read_params<const N: usize>(
    t: &mut TableReader<'_, '_>,
    table: &[ParamSpec; N],
    diags: &mut Vec<Diagnostic>,
) -> Option<[f64; N]> {
    let mut out = params::defaults(table);
    let mut ok = true;
    for (slot, spec) in out.iter_mut().zip(table) {
        match checked(t, spec, diags) {
            Some(v) => *slot = v,
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_model(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<ModelParams> {
    let values = match root.table("model", diags) {
        None => params::defaults(&MODEL_PARAMS),
        Some(mut t) => {
            let span = t.span();
            let values = read_params(&mut t, &MODEL_PARAMS, diags);
            t.finish(diags);
            let values = values?;
            if values[2] + values[3] > 1.0 {
                diags.push(
                    Diagnostic::new(
                        span,
                        "model.bloc_correlation",
                        format!(
                            "global_correlation + bloc_correlation must be <= 1, got {} + {} = {}",
                            values[2],
                            values[3],
                            values[2] + values[3]
                        ),
                    )
                    .with_help("the idiosyncratic share of a shock is 1 - global - bloc; lower one of them"),
                );
                return None;
            }
            values
        }
    };
    let [
        gdp_elasticity,
        engagement_elasticity,
        global_correlation,
        bloc_correlation,
        pressure_decay,
        coercion_severity,
        coercion_risk_jump,
        disruption_duration,
        trade_friction,
        learning_rate,
        engagement_adjustment,
    ] = values;
    Some(ModelParams {
        gdp_elasticity,
        engagement_elasticity,
        global_correlation,
        bloc_correlation,
        pressure_decay,
        coercion_severity,
        coercion_risk_jump,
        disruption_duration,
        trade_friction,
        learning_rate,
        engagement_adjustment,
    })
}

/// A partner as read, before references are resolved.
struct RawPartner {
    partner: Partner,
    /// The `[[partner]]` table, for messages about derived quantities.
    span: Range<usize>,
    rivals: Vec<At<String>>,
    corridor: Option<At<String>>,
    diplomatic_share: Option<f64>,
    ok: bool,
}

fn label_index(labels: &mut Vec<String>, label: &str) -> usize {
    labels.iter().position(|l| l == label).unwrap_or_else(|| {
        labels.push(label.to_string());
        labels.len() - 1
    })
}

fn read_label(
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    default: &str,
    diags: &mut Vec<Diagnostic>,
) -> (String, bool) {
    match t.string(key, diags) {
        None => (default.to_string(), true),
        Some(s) if is_missing_value_label(&s.value) => {
            diags.push(missing_value_label(&s, key));
            (default.to_string(), false)
        }
        Some(s) if is_safe_label(&s.value) => (s.value, true),
        Some(s) => {
            diags.push(
                s.diag(format!("`{}` is not a valid {key}", shown(&s.value)))
                    .with_help("use 1 to 64 letters, digits, '-' or '_' (it becomes a CSV column name)"),
            );
            (default.to_string(), false)
        }
    }
}

/// A label that pandas, R, polars or DuckDB would read back as missing.
fn missing_value_label(label: &At<String>, what: &str) -> Diagnostic {
    label
        .diag(format!(
            "`{}` cannot be a {what}: CSV readers (pandas, R, polars, DuckDB) read it as a missing value",
            label.value
        ))
        .with_help("choose another label, e.g. ISO alpha-3 `NAM` for Namibia; see docs/scenario-format.md (labels)")
}

fn read_partners(
    root: &mut TableReader<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<RawPartner>, Vec<String>, Vec<String>) {
    let tables = root.tables("partner", diags);
    if tables.len() < 2 {
        diags.push(
            Diagnostic::new(
                root.span(),
                "partner",
                format!("at least 2 [[partner]] tables are needed, found {}", tables.len()),
            )
            .with_help("add [[partner]] tables with id, trade and gdp"),
        );
    }
    let mut groups = Vec::new();
    let mut blocs = Vec::new();
    let mut seen = Vec::<String>::new();
    let mut out = Vec::new();
    for mut t in tables {
        let mut ok = true;
        let span = t.span();
        let id = read_id(&mut t, "partner", "RU", &mut seen, diags);
        ok &= id.is_some();
        let id = id.unwrap_or_default();
        let name = t.string("name", diags).map_or_else(|| id.clone(), |n| n.value);
        let mut positive = |t: &mut TableReader<'_, '_>, key: &'static str, help: &str| match t.f64(key, diags) {
            Some(v) if v.value > 0.0 && v.value <= MAX_AMOUNT => v.value,
            Some(v) if v.value > 0.0 => {
                diags.push(
                    v.diag(format!("{key} must be at most {MAX_AMOUNT:e} (US$ bn), got {}", num(v.value)))
                        .with_help("amounts are in US$ bn; world GDP is about 1e5"),
                );
                ok = false;
                1.0
            }
            Some(v) => {
                diags.push(v.diag(format!("{key} must be > 0, got {}", v.value)));
                ok = false;
                1.0
            }
            None => {
                t.report_missing(diags, key, help);
                ok = false;
                1.0
            }
        };
        let trade =
            positive(&mut t, "trade", "add the base-year bilateral trade turnover in US$ bn, e.g. `trade = 26.0`");
        let gdp = positive(&mut t, "gdp", "add the partner's base-year GDP in US$ bn, e.g. `gdp = 2021.4`");
        let (group, g_ok) = read_label(&mut t, "group", "other", diags);
        let (bloc, b_ok) = read_label(&mut t, "bloc", &id, diags);
        ok &= g_ok && b_ok;
        let rivals = t.strings("rivals", diags).unwrap_or_default();
        let corridor = t.string("corridor", diags);
        let diplomatic_share = match t.f64("diplomatic_share", diags) {
            None => None,
            Some(v) if v.value > 0.0 && v.value <= MAX_AMOUNT => Some(v.value),
            Some(v) if v.value > 0.0 => {
                diags.push(
                    v.diag(format!("diplomatic_share must be at most {MAX_AMOUNT:e}, got {}", num(v.value)))
                        .with_help("only ratios matter: the values are normalised to sum to 1"),
                );
                ok = false;
                None
            }
            Some(v) => {
                diags.push(v.diag(format!("diplomatic_share must be > 0, got {}", v.value)).with_help(
                    "a zero base attention cannot be calibrated (its log is -infinity); use a small positive value",
                ));
                ok = false;
                None
            }
        };
        let params = read_params(&mut t, &PARTNER_PARAMS, diags);
        ok &= params.is_some();
        t.finish(diags);
        out.push(RawPartner {
            partner: Partner {
                id,
                name,
                group: label_index(&mut groups, &group),
                bloc: label_index(&mut blocs, &bloc),
                corridor: None,
                rivals: Vec::new(),
                trade,
                gdp,
                diplomatic_share: 0.0,
                params: params.unwrap_or(params::defaults(&PARTNER_PARAMS)),
            },
            span,
            rivals,
            corridor,
            diplomatic_share,
            ok,
        });
    }
    (out, groups, blocs)
}

struct RawCorridor {
    corridor: Corridor,
    controlled_by: Option<At<String>>,
    ok: bool,
}

/// The `id` of a partner or corridor: present, a safe label, unique among
/// `seen` and not the reserved word `hedger`. `None` after reporting why.
fn read_id(
    t: &mut TableReader<'_, '_>,
    kind: &str,
    example: &str,
    seen: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let Some(id) = t.string("id", diags) else {
        t.report_missing(diags, "id", &format!("add e.g. `id = \"{example}\"`"));
        return None;
    };
    if id.value == "hedger" {
        diags.push(
            id.diag(format!("`hedger` cannot be a {kind} id"))
                .with_help("`hedger` names the hedging actor in event targets; choose another id"),
        );
        return None;
    }
    if is_missing_value_label(&id.value) {
        diags.push(missing_value_label(&id, &format!("{kind} id")));
        return None;
    }
    if !is_safe_label(&id.value) {
        diags.push(
            id.diag(format!("`{}` is not a valid {kind} id", shown(&id.value)))
                .with_help(format!("use 1 to 64 letters, digits, '-' or '_' (e.g. \"{example}\")")),
        );
        return None;
    }
    if seen.contains(&id.value) {
        diags.push(
            id.diag(format!("duplicate {kind} id `{}`", id.value)).with_help(format!("{kind} ids must be unique")),
        );
        return None;
    }
    seen.push(id.value.clone());
    Some(id.value)
}

fn read_corridors(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Vec<RawCorridor> {
    let mut seen = Vec::<String>::new();
    let mut out = Vec::new();
    for mut t in root.tables("corridor", diags) {
        let mut ok = true;
        let id = read_id(&mut t, "corridor", "CPC", &mut seen, diags);
        ok &= id.is_some();
        let id = id.unwrap_or_default();
        let name = t.string("name", diags).map_or_else(|| id.clone(), |n| n.value);
        let controlled_by = t.string("controlled_by", diags);
        let params = read_params(&mut t, &CORRIDOR_PARAMS, diags);
        ok &= params.is_some();
        t.finish(diags);
        out.push(RawCorridor {
            corridor: Corridor {
                id,
                name,
                controlled_by: None,
                params: params.unwrap_or(params::defaults(&CORRIDOR_PARAMS)),
            },
            controlled_by,
            ok,
        });
    }
    out
}

fn read_hedger(root: &mut TableReader<'_, '_>, partners: &[RawPartner], diags: &mut Vec<Diagnostic>) -> Option<Hedger> {
    let trade_sum: f64 = partners.iter().map(|p| p.partner.trade).sum();
    let Some(mut t) = root.table("hedger", diags) else {
        return Some(Hedger {
            name: "Kazakhstan".into(),
            trade_total: trade_sum,
            params: params::defaults(&HEDGER_PARAMS),
        });
    };
    let name = t.string("name", diags).map_or_else(|| "Kazakhstan".to_string(), |n| n.value);
    let trade_total = match t.f64("trade_total", diags) {
        None => Some(trade_sum),
        Some(v) if v.value > 0.0 && v.value <= MAX_AMOUNT => Some(v.value),
        Some(v) if v.value > 0.0 => {
            diags.push(
                v.diag(format!("trade_total must be at most {MAX_AMOUNT:e} (US$ bn), got {}", num(v.value)))
                    .with_help("amounts are in US$ bn; omit it to use the sum of partner trade"),
            );
            None
        }
        Some(v) => {
            diags.push(
                v.diag(format!("trade_total must be > 0, got {}", v.value))
                    .with_help("omit it to use the sum of partner trade"),
            );
            None
        }
    };
    let params = read_params(&mut t, &HEDGER_PARAMS, diags);
    t.finish(diags);
    Some(Hedger { name, trade_total: trade_total?, params: params? })
}

fn read_outputs(
    root: &mut TableReader<'_, '_>,
    steps_per_year: Option<u32>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Outputs> {
    let default_q = vec![0.05, 0.25, 0.5, 0.75, 0.95];
    let Some(mut t) = root.table("outputs", diags) else {
        return Some(Outputs { quantiles: default_q, runs_table: true, every: None, metrics: None, trajectories: 0 });
    };
    let mut ok = true;
    let quantiles = match t.numbers("quantiles", diags) {
        None => default_q,
        Some(qs) => {
            let mut prev = 0.0;
            for q in &qs {
                if !(q.value > 0.0 && q.value < 1.0) {
                    diags.push(
                        q.diag(format!("a quantile must be in (0, 1), got {}", q.value))
                            .with_help("e.g. 0.05 for the 5th percentile"),
                    );
                    ok = false;
                } else if q.value <= prev {
                    diags.push(
                        q.diag("quantiles must be strictly increasing").with_help("sort them and remove duplicates"),
                    );
                    ok = false;
                }
                prev = q.value;
            }
            if qs.is_empty() {
                diags.push(
                    Diagnostic::new(t.span(), "outputs.quantiles", "quantiles must not be empty")
                        .with_help("omit the key for the defaults"),
                );
                ok = false;
            }
            let names: Vec<String> = qs.iter().map(|q| quantile_column(q.value)).collect();
            for (i, q) in qs.iter().enumerate() {
                if names[..i].contains(&names[i]) {
                    diags.push(
                        q.diag(format!("quantile {} gives the same column name `{}` as another", q.value, names[i])),
                    );
                    ok = false;
                }
            }
            qs.into_iter().map(|q| q.value).collect()
        }
    };
    let runs_table = t.bool("runs_table", diags).is_none_or(|b| b.value);
    let every = t.f64("every", diags);
    if let (Some(e), Some(spy)) = (&every, steps_per_year) {
        let steps = e.value * f64::from(spy);
        if !(e.value > 0.0 && steps.is_finite() && (steps - steps.round()).abs() < 1e-9 && steps.round() >= 1.0) {
            diags.push(
                e.diag(format!("every = {} years is not a whole number (>= 1) of steps of 1/{spy} year", e.value))
                    .with_help("e.g. `every = 1` for yearly rows; the model still steps at steps_per_year"),
            );
            ok = false;
        }
    }
    let metrics = t.strings("metrics", diags);
    if let Some(ms) = &metrics {
        let known = crate::model::metrics::output_metrics();
        for m in ms {
            if !known.contains(&m.value.as_str()) {
                diags.push(
                    m.diag(format!("unknown metric `{}` in outputs.metrics", m.value))
                        .with_help(format!("use some of: {}", known.join(", "))),
                );
                ok = false;
            }
        }
        if ms.is_empty() {
            diags.push(
                Diagnostic::new(t.span(), "outputs.metrics", "metrics must not be empty")
                    .with_help("omit the key to write every metric"),
            );
            ok = false;
        }
    }
    let trajectories = match t.i64("trajectories", "a non-negative integer", diags) {
        None => 0,
        Some(k) if k.value >= 0 => k.value as u64,
        Some(k) => {
            diags.push(
                k.diag(format!("trajectories must be >= 0, got {}", k.value))
                    .with_help("the number of runs whose full paths go to trajectories.csv"),
            );
            ok = false;
            0
        }
    };
    t.finish(diags);
    ok.then_some(Outputs {
        quantiles,
        runs_table,
        every: every.map(|e| e.value),
        metrics: metrics.map(|ms| ms.into_iter().map(|m| m.value).collect()),
        trajectories,
    })
}

/// Column name of a quantile: 0.05 -> `p05`, 0.5 -> `p50`, 0.975 -> `p97.5`.
pub fn quantile_column(q: f64) -> String {
    let pct = (q * 100.0 * 1e6).round() / 1e6;
    if pct.fract() == 0.0 { format!("p{:02}", pct as u32) } else { format!("p{pct}") }
}

fn read_classification(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<Classification> {
    let Some(mut t) = root.table("classification", diags) else {
        return Some(Classification { alignment_threshold: 0.5, dependence_threshold: 0.35 });
    };
    let mut threshold = |t: &mut TableReader<'_, '_>, key: &'static str, default: f64| match t.f64(key, diags) {
        None => Some(default),
        Some(v) if v.value > 0.0 && v.value <= 1.0 => Some(v.value),
        Some(v) => {
            diags.push(v.diag(format!("{key} must be in (0, 1], got {}", v.value)));
            None
        }
    };
    let alignment_threshold = threshold(&mut t, "alignment_threshold", 0.5);
    let dependence_threshold = threshold(&mut t, "dependence_threshold", 0.35);
    t.finish(diags);
    Some(Classification { alignment_threshold: alignment_threshold?, dependence_threshold: dependence_threshold? })
}

/// Lookup tables for resolving references.
struct Names<'a> {
    partner_index: &'a HashMap<&'a str, usize>,
    corridor_index: &'a HashMap<&'a str, usize>,
    groups: &'a [String],
    /// Group index of each partner, in partner order.
    partner_groups: &'a [usize],
}

impl Names<'_> {
    fn unknown(&self, what: &str, name: &At<String>, candidates: Vec<&str>) -> Diagnostic {
        let d = name.diag(format!("unknown {what} `{}`", shown(&name.value)));
        match suggest(&name.value, candidates.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if candidates.is_empty() => d.with_help(format!("the scenario defines no {what}")),
            None => d.with_help(format!("known {what}s: {}", sorted(candidates).join(", "))),
        }
    }
    fn partner(&self, name: &At<String>, diags: &mut Vec<Diagnostic>) -> Option<usize> {
        let found = self.partner_index.get(name.value.as_str()).copied();
        if found.is_none() {
            diags.push(self.unknown("partner", name, self.partner_index.keys().copied().collect()));
        }
        found
    }
    fn corridor(&self, name: &At<String>, diags: &mut Vec<Diagnostic>) -> Option<usize> {
        let found = self.corridor_index.get(name.value.as_str()).copied();
        if found.is_none() {
            diags.push(self.unknown("corridor", name, self.corridor_index.keys().copied().collect()));
        }
        found
    }
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

fn resolve_partners(raw: Vec<RawPartner>, names: &Names<'_>, diags: &mut Vec<Diagnostic>) -> Option<Vec<Partner>> {
    let mut ok = raw.len() >= 2;
    let trade_sum: f64 = raw.iter().map(|p| p.partner.trade).sum();
    let d_raw: Vec<f64> = raw.iter().map(|p| p.diplomatic_share.unwrap_or(p.partner.trade / trade_sum)).collect();
    let d_sum: f64 = d_raw.iter().sum();
    let mut out = Vec::with_capacity(raw.len());
    for (i, mut p) in raw.into_iter().enumerate() {
        ok &= p.ok;
        let shares =
            [("trade", "trade", p.partner.trade / trade_sum), ("diplomatic_share", "diplomatic", d_raw[i] / d_sum)];
        for (key, what, share) in shares {
            if p.ok && share < MIN_SHARE {
                diags.push(
                    Diagnostic::new(
                        p.span.clone(),
                        format!("partner[{i}].{key}"),
                        format!(
                            "partner `{}` has a base {what} share of {share:.3e}, below {MIN_SHARE:e}",
                            p.partner.id
                        ),
                    )
                    .with_help("the model divides by base shares; raise the value or leave the partner out"),
                );
                ok = false;
            }
        }
        for rival in &p.rivals {
            match names.partner(rival, diags) {
                Some(j) if j == i => {
                    diags.push(rival.diag(format!("partner `{}` lists itself as a rival", rival.value)));
                    ok = false;
                }
                Some(j) if p.partner.rivals.contains(&j) => {
                    diags.push(rival.diag(format!("rival `{}` is listed twice", rival.value)));
                    ok = false;
                }
                Some(j) => p.partner.rivals.push(j),
                None => ok = false,
            }
        }
        if let Some(c) = &p.corridor {
            match names.corridor(c, diags) {
                Some(j) => p.partner.corridor = Some(j),
                None => ok = false,
            }
        }
        p.partner.diplomatic_share = d_raw[i] / d_sum;
        out.push(p.partner);
    }
    ok.then_some(out)
}

fn resolve_corridors(raw: Vec<RawCorridor>, names: &Names<'_>, diags: &mut Vec<Diagnostic>) -> Option<Vec<Corridor>> {
    let mut ok = true;
    let mut out = Vec::with_capacity(raw.len());
    for mut c in raw {
        ok &= c.ok;
        if let Some(by) = &c.controlled_by {
            match names.partner(by, diags) {
                Some(j) => c.corridor.controlled_by = Some(j),
                None => ok = false,
            }
        }
        out.push(c.corridor);
    }
    ok.then_some(out)
}

fn read_events(
    root: &mut TableReader<'_, '_>,
    names: &Names<'_>,
    header: Option<&Header>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Event> {
    let mut out = Vec::new();
    let mut seen = Vec::<String>::new();
    for mut t in root.tables("event", diags) {
        if let Some(event) = read_event(&mut t, names, header, &mut seen, diags) {
            out.push(event);
        }
        t.finish(diags);
    }
    out
}

/// Which parameter table a target's effects refer to.
fn target_params(target: &Target) -> (&'static [ParamSpec], &'static str) {
    match target {
        Target::Partners(_) => (&PARTNER_PARAMS, "partner"),
        Target::Corridor(_) => (&CORRIDOR_PARAMS, "corridor"),
        Target::Hedger => (&HEDGER_PARAMS, "hedger"),
    }
}

fn parse_target(t: &At<String>, names: &Names<'_>, diags: &mut Vec<Diagnostic>) -> Option<Target> {
    let v = t.value.as_str();
    if v == "hedger" {
        return Some(Target::Hedger);
    }
    if let Some(group) = v.strip_prefix("group:") {
        return match names.groups.iter().position(|g| g == group) {
            Some(g) => Some(Target::Partners(
                (0..names.partner_groups.len()).filter(|&p| names.partner_groups[p] == g).collect(),
            )),
            None => {
                let at = At { value: group.to_string(), span: t.span.clone(), key: t.key.clone() };
                diags.push(names.unknown("group", &at, names.groups.iter().map(String::as_str).collect()));
                None
            }
        };
    }
    if let Some(corridor) = v.strip_prefix("corridor:") {
        let at = At { value: corridor.to_string(), span: t.span.clone(), key: t.key.clone() };
        return names.corridor(&at, diags).map(Target::Corridor);
    }
    match names.partner_index.get(v) {
        Some(&i) => Some(Target::Partners(vec![i])),
        None => {
            let d = t.diag(format!("unknown event target `{}`", shown(v)));
            let hint = match suggest(v, names.partner_index.keys().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            diags.push(d.with_help(format!("{hint}a target is a partner id, `group:NAME`, `corridor:ID` or `hedger`")));
            None
        }
    }
}

fn read_event(
    t: &mut TableReader<'_, '_>,
    names: &Names<'_>,
    header: Option<&Header>,
    seen: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Event> {
    let errors_before = diags.len();
    let name = match t.string("name", diags) {
        Some(n) if n.value.is_empty() => {
            diags.push(n.diag("event name must not be empty"));
            None
        }
        Some(n) => {
            if seen.contains(&n.value) {
                diags.push(
                    n.diag(format!("duplicate event name `{}`", shown(&n.value)))
                        .with_help("event names must be unique (they seed the event's random stream)"),
                );
            }
            seen.push(n.value.clone());
            Some(n.value)
        }
        None => {
            t.report_missing(diags, "name", "add e.g. `name = \"sanctions\"`");
            None
        }
    };
    let target_raw = t.string("target", diags);
    let target = match &target_raw {
        Some(raw) => parse_target(raw, names, diags),
        None => {
            t.report_missing(
                diags,
                "target",
                "add e.g. `target = \"RU\"`, `\"group:southeast_asia\"`, `\"corridor:CPC\"` or `\"hedger\"`",
            );
            None
        }
    };
    let timing = read_timing(t, header, diags);
    let (multiply, add, shock) = match &target {
        Some(target) => read_effects(t, target, diags),
        None => {
            // Still consume the keys so that they are not reported as unknown.
            let _ = (t.table("multiply", diags), t.table("add", diags), t.table("shock", diags));
            (Vec::new(), Vec::new(), Shock::NONE)
        }
    };
    if target.is_some() && multiply.is_empty() && add.is_empty() && shock.is_none() && diags.len() == errors_before {
        diags.push(
            Diagnostic::new(t.span(), t.path(), "event has no effect")
                .with_help("add `multiply = { ... }`, `add = { ... }` or `shock = { ... }`"),
        );
    }
    if diags.len() > errors_before {
        return None;
    }
    Some(Event { name: name?, target: target?, timing: timing?, multiply, add, shock })
}

/// Step index of the first step starting at or after `year` (see
/// [`crate::model::events::first_step_at_or_after`]).
fn step_of(header: &Header, year: f64) -> usize {
    crate::model::events::first_step_at_or_after(header.base_year, header.steps_per_year, year)
}

/// Steps K of the scenario.
fn steps_of(header: &Header) -> usize {
    (header.horizon - header.base_year) as usize * header.steps_per_year as usize
}

fn read_timing(t: &mut TableReader<'_, '_>, header: Option<&Header>, diags: &mut Vec<Diagnostic>) -> Option<Timing> {
    let at = t.f64("at", diags);
    let hazard = t.f64("hazard", diags);
    let duration = t.f64("duration", diags);
    let ramp = t.f64("ramp", diags);
    let from = t.f64("from", diags);
    let until = t.f64("until", diags);
    let before = diags.len();
    if let Some(d) = &duration {
        if d.value <= 0.0 {
            diags.push(d.diag(format!("duration must be > 0 years, got {}", d.value)));
        }
    }
    if let Some(r) = &ramp {
        if r.value < 0.0 {
            diags.push(r.diag(format!("ramp must be >= 0 years, got {}", r.value)));
        }
    }
    let ramp_value = ramp.as_ref().map_or(0.0, |r| r.value);
    let timing = match (at, hazard) {
        (Some(_), Some(h)) => {
            diags.push(
                h.diag("an event has either `at` (scheduled) or `hazard` (random), not both")
                    .with_help("remove one of them"),
            );
            None
        }
        (None, None) => {
            diags.push(
                Diagnostic::new(t.span(), t.path(), "event has no timing")
                    .with_help("add `at = YEAR` (scheduled) or `hazard = RATE_PER_YEAR` (random onset)"),
            );
            None
        }
        (Some(at), None) => {
            if let Some(header) = header {
                check_scheduled(header, &at, duration.as_ref(), diags);
            }
            for x in [&from, &until].into_iter().flatten() {
                diags.push(
                    x.diag("`from`/`until` apply to hazard events only")
                        .with_help("a scheduled event uses `at` and `duration`"),
                );
            }
            Some(Timing::Scheduled { at: at.value, duration: duration.as_ref().map(|d| d.value), ramp: ramp_value })
        }
        (None, Some(h)) => {
            if h.value <= 0.0 {
                diags.push(h.diag(format!("hazard rate must be > 0 per year, got {}", h.value)));
            }
            if let Some(header) = header {
                check_hazard_window(header, from.as_ref(), until.as_ref(), t, diags);
            }
            Some(Timing::Hazard {
                rate: h.value,
                from: from.as_ref().map(|f| f.value),
                until: until.as_ref().map(|u| u.value),
                duration: duration.as_ref().map(|d| d.value),
                ramp: ramp_value,
            })
        }
    };
    if diags.len() > before { None } else { timing }
}

/// A scheduled event must start within the horizon and cover at least one
/// step start (a step k runs from t_(k-1); an event acts in the steps whose
/// start lies in [at, at + duration)).
fn check_scheduled(header: &Header, at: &At<f64>, duration: Option<&At<f64>>, diags: &mut Vec<Diagnostic>) {
    let base = header.base_year;
    if at.value < f64::from(base) {
        diags.push(
            at.diag(format!("event starts at {} before base_year {base}", at.value))
                .with_help(format!("events start at or after {base}")),
        );
        return;
    }
    let k = steps_of(header);
    let start = step_of(header, at.value);
    if start >= k {
        diags.push(
            at.diag(format!("event starts at {}, after the last step starts: it would never act", at.value))
                .with_help(format!("the last step starts at {}; use an earlier year", header_time(header, k - 1))),
        );
        return;
    }
    if let Some(d) = duration.filter(|d| d.value > 0.0) {
        let end = step_of(header, at.value + d.value).min(k);
        if end <= start {
            diags.push(
                d.diag(format!("no step starts in the {} years from {}: the event would never act", d.value, at.value))
                    .with_help(format!(
                        "steps start every 1/{} year; the next starts at {}; lengthen duration or move `at`",
                        header.steps_per_year,
                        header_time(header, start)
                    )),
            );
        }
    }
}

/// A hazard event's window [from, until) must contain a step start.
fn check_hazard_window(
    header: &Header,
    from: Option<&At<f64>>,
    until: Option<&At<f64>>,
    t: &TableReader<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) {
    let (base, horizon) = (f64::from(header.base_year), f64::from(header.horizon));
    if let Some(f) = from {
        if f.value < base || f.value >= horizon {
            diags.push(f.diag(format!("from = {} is outside [{base}, {horizon})", f.value)));
            return;
        }
    }
    if let (Some(f), Some(u)) = (from, until) {
        if u.value <= f.value {
            diags.push(u.diag(format!("until ({}) must be after from ({})", u.value, f.value)));
            return;
        }
    }
    let k = steps_of(header);
    let first = from.map_or(0, |f| step_of(header, f.value)).min(k);
    let last = until.map_or(k, |u| step_of(header, u.value)).min(k);
    if last <= first {
        let at = until.or(from).map_or_else(|| t.span(), |x| x.span.clone());
        diags.push(
            Diagnostic::new(at, t.path(), "no step starts inside [from, until): the event could never start")
                .with_help(format!("steps start every 1/{} year from {base}; widen the window", header.steps_per_year)),
        );
    }
}

fn header_time(header: &Header, step: usize) -> f64 {
    f64::from(header.base_year) + step as f64 / f64::from(header.steps_per_year)
}

fn read_effects(
    t: &mut TableReader<'_, '_>,
    target: &Target,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Effect>, Vec<Effect>, Shock) {
    let (table, kind) = target_params(target);
    let mut read_map = |t: &mut TableReader<'_, '_>, key: &'static str| -> Vec<Effect> {
        let Some(map) = t.table(key, diags) else { return Vec::new() };
        let mut effects = Vec::new();
        for (name, value, key_span) in map.entries() {
            let key_path = format!("{}.{}", map.path(), shown(name));
            let Some(param) = params::find(table, name) else {
                let names: Vec<&str> = table.iter().map(|s| s.name).collect();
                let d = Diagnostic::new(
                    key_span,
                    key_path,
                    format!("`{}` is not a {kind} parameter that events can change", shown(name)),
                );
                diags.push(match suggest(name, names.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("{kind} parameters: {}", names.join(", "))),
                });
                continue;
            };
            match super::reader::number(value.get_ref()) {
                Some(v) if v.is_finite() && v.abs() > MAX_EFFECT => diags.push(
                    Diagnostic::new(
                        value.span(),
                        key_path,
                        format!("{key} values must be within ±{MAX_EFFECT:e}, got {}", num(v)),
                    )
                    .with_help(format!(
                        "{name} is {}; the model clamps effective values to that range",
                        table[param].range_text()
                    )),
                ),
                Some(v) if v.is_finite() && (key == "add" || v >= 0.0) => {
                    effects.push(Effect { param, name: name.to_string(), value: v })
                }
                Some(v) if v.is_finite() => diags.push(
                    Diagnostic::new(value.span(), key_path, format!("a multiply factor must be >= 0, got {v}"))
                        .with_help("use `add` with a negative delta to decrease a parameter"),
                ),
                _ => diags.push(Diagnostic::new(value.span(), key_path, "expected a finite number")),
            }
        }
        effects
    };
    let multiply = read_map(t, "multiply");
    let add = read_map(t, "add");
    let mut shock = Shock::NONE;
    if let Some(mut s) = t.table("shock", diags) {
        let allowed: &[&'static str] = match target {
            Target::Partners(_) => &["trade", "gdp"],
            Target::Hedger => &["trade_total"],
            Target::Corridor(_) => &[],
        };
        for &key in allowed {
            if let Some(v) = s.f64(key, diags) {
                if v.value <= 0.0 {
                    diags.push(
                        v.diag(format!("a shock factor must be > 0, got {}", v.value))
                            .with_help("0.8 means -20% at onset"),
                    );
                } else if v.value > MAX_SHOCK {
                    diags.push(
                        v.diag(format!("a shock factor must be at most {MAX_SHOCK}, got {}", num(v.value)))
                            .with_help("2 means +100% at onset"),
                    );
                }
                match key {
                    "trade" => shock.trade = v.value,
                    "gdp" => shock.gdp = v.value,
                    _ => shock.trade_total = v.value,
                }
            }
        }
        if allowed.is_empty() {
            for (name, _, span) in s.entries() {
                diags.push(
                    Diagnostic::new(
                        span,
                        format!("{}.{}", s.path(), shown(name)),
                        "corridor events cannot have a shock",
                    )
                    .with_help("use `multiply = { cost = ... }` instead"),
                );
            }
        } else {
            s.finish(diags);
        }
    }
    (multiply, add, shock)
}

/// Worst case of an event-modifiable parameter for the growth check: the
/// base value times every factor above 1, plus every positive delta, of
/// the events acting on it, clamped to its range.
fn worst_case(spec: &ParamSpec, base: f64, effects: &[(bool, f64)]) -> f64 {
    let (mut factor, mut delta) = (1.0f64, 0.0f64);
    for &(multiply, v) in effects {
        if multiply {
            factor *= v.max(1.0);
        } else {
            delta += v.max(0.0);
        }
    }
    spec.clamp(base * factor + delta)
}

/// The (is multiply, value) effects on parameter `slot` of the events whose
/// target satisfies `on`.
fn slot_effects(events: &[Event], on: impl Fn(&Target) -> bool, slot: usize) -> Vec<(bool, f64)> {
    let mut out = Vec::new();
    for e in events.iter().filter(|e| on(&e.target)) {
        out.extend(e.multiply.iter().filter(|x| x.param == slot).map(|x| (true, x.value)));
        out.extend(e.add.iter().filter(|x| x.param == slot).map(|x| (false, x.value)));
    }
    out
}

/// Trade flows must stay far from overflow (their squares are summed over
/// runs): the logarithm of the largest base amount, plus the worst-case
/// growth of total turnover over the horizon, plus [`GROWTH_SIGMAS`]
/// standard deviations of the random walks of total turnover and of the
/// most volatile partner, plus the scheduled trade shocks, must stay below
/// [`LN_MAX_FLOW`]. `run` would otherwise stop with a non-finite value.
fn check_growth(h: &Header, hd: &Hedger, partners: &[Partner], events: &[Event], diags: &mut Vec<Diagnostic>) {
    use params::{hedger as hp, partner as pp};
    let on_hedger = |t: &Target| matches!(t, Target::Hedger);
    let hedger_worst =
        |slot: usize| worst_case(&HEDGER_PARAMS[slot], hd.params[slot], &slot_effects(events, on_hedger, slot));
    let growth = hedger_worst(hp::TRADE_GROWTH);
    let sigma_t = hedger_worst(hp::TRADE_VOLATILITY);
    let sigma_p = partners
        .iter()
        .enumerate()
        .map(|(p, q)| {
            let on = |t: &Target| matches!(t, Target::Partners(v) if v.contains(&p));
            let slot = pp::VOLATILITY;
            worst_case(&PARTNER_PARAMS[slot], q.params[slot], &slot_effects(events, on, slot))
        })
        .fold(0.0, f64::max);
    let shocks: f64 = events
        .iter()
        .filter(|e| matches!(e.timing, Timing::Scheduled { .. }))
        .map(|e| e.shock.trade.max(1.0).ln() + e.shock.trade_total.max(1.0).ln())
        .fold(0.0, |a, b| a + b);
    let years = f64::from(h.horizon - h.base_year);
    let start = partners.iter().map(|p| p.trade).fold(hd.trade_total, f64::max);
    let bound = start.ln() + years * growth.max(0.0) + GROWTH_SIGMAS * (sigma_t + sigma_p) * years.sqrt() + shocks;
    if bound > LN_MAX_FLOW {
        diags.push(
            Diagnostic::new(
                h.horizon_span.clone(),
                "scenario.horizon",
                format!(
                    "trade flows could overflow by {}: ln({start}) + {years} years x trade_growth {growth} \
                     + {GROWTH_SIGMAS} x (trade_volatility {sigma_t} + partner volatility {sigma_p}) x sqrt({years} years) \
                     + scheduled shocks {shocks:.2} = {bound:.0}, above the limit {LN_MAX_FLOW} (flows of 1e150)",
                    h.horizon
                ),
            )
            .with_help(
                "use an earlier horizon, or lower trade_growth, trade_volatility or partner volatility \
                 (worst case over events; see docs/scenario-format.md, derived checks)",
            ),
        );
    }
}

/// An event effect that the clamp to the parameter's valid range changes:
/// the event asks for `asked`, the model uses `used`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClampWarning {
    pub event: String,
    /// What the effect acts on, e.g. ``partner `RU` ``.
    pub target: String,
    pub param: &'static str,
    pub range: String,
    pub asked: f64,
    pub used: f64,
}

impl std::fmt::Display for ClampWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event `{}` asks for {} = {} on {}, outside its valid range ({}); the model uses {}",
            shown(&self.event),
            self.param,
            num(self.asked),
            self.target,
            self.range,
            num(self.used)
        )
    }
}

/// The effects of each event (alone, fully ramped in) that drive a
/// parameter outside its valid range, where the model silently clamps
/// them: `add = { sanctions_risk = -0.6 }` on a base of 0.1 acts as -0.1.
pub fn clamp_warnings(s: &Scenario) -> Vec<ClampWarning> {
    let mut out = Vec::new();
    for e in &s.events {
        let targets: Vec<(String, &[f64], &[ParamSpec])> = match &e.target {
            Target::Partners(list) => list
                .iter()
                .map(|&p| (format!("partner `{}`", s.partners[p].id), &s.partners[p].params[..], &PARTNER_PARAMS[..]))
                .collect(),
            Target::Hedger => vec![("the hedger".to_string(), &s.hedger.params[..], &HEDGER_PARAMS[..])],
            Target::Corridor(c) => {
                vec![(format!("corridor `{}`", s.corridors[*c].id), &s.corridors[*c].params[..], &CORRIDOR_PARAMS[..])]
            }
        };
        let mut slots: Vec<usize> = e.multiply.iter().chain(&e.add).map(|x| x.param).collect();
        slots.sort_unstable();
        slots.dedup();
        for (target, base, specs) in &targets {
            for &slot in &slots {
                let factor: f64 = e.multiply.iter().filter(|x| x.param == slot).map(|x| x.value).product();
                let delta: f64 = e.add.iter().filter(|x| x.param == slot).map(|x| x.value).sum();
                let asked = base[slot] * factor + delta;
                let used = specs[slot].clamp(asked);
                if used != asked {
                    out.push(ClampWarning {
                        event: e.name.clone(),
                        target: target.clone(),
                        param: specs[slot].name,
                        range: specs[slot].range_text(),
                        asked,
                        used,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNERS: &str = r#"
[[partner]]
id = "A"
trade = 1
gdp = 10
[[partner]]
id = "B"
trade = 2
gdp = 20
"#;

    fn errors(text: &str) -> String {
        match parse_scenario(Path::new("t.toml"), text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    fn with_header(rest: &str) -> String {
        format!("[scenario]\nname = \"t\"\nbase_year = 2023\nhorizon = 2030\n{PARTNERS}{rest}")
    }

    /// Regression: an invalid [scenario] used to hide every [[event]] as an unknown key.
    #[test]
    fn events_are_checked_even_when_the_header_is_invalid() {
        let text = format!(
            "[scenario]\nname = \"t\"\nbase_year = 2023\n{PARTNERS}[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2025\nmultiply = {{ leverge = 2 }}\n"
        );
        let e = errors(&text);
        assert!(e.contains("missing required key `horizon`"), "{e}");
        assert!(e.contains("did you mean `leverage`?"), "{e}");
        assert!(!e.contains("unknown key `event`"), "{e}");
    }

    /// Regression: a key of the wrong type used to be reported as missing too.
    #[test]
    fn wrong_type_is_not_also_reported_missing() {
        let e = errors(
            "[scenario]\nname = \"t\"\nbase_year = \"2023\"\nhorizon = 2030\n[[partner]]\nid = \"A\"\ntrade = \"x\"\ngdp = 1\n[[partner]]\nid = \"B\"\ntrade = 1\ngdp = 1\n",
        );
        assert!(e.contains("expected an integer, found string"), "{e}");
        assert!(e.contains("expected a number, found string"), "{e}");
        assert!(!e.contains("missing required key"), "{e}");
    }

    /// Regression: hex integers in `multiply`/`add` were read as decimal.
    #[test]
    fn event_numbers_honour_the_radix() {
        let s = parse_scenario(
            Path::new("t.toml"),
            &with_header("[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2025\nmultiply = { reciprocity = 0x10 }\n"),
        )
        .unwrap();
        assert_eq!(s.events[0].multiply[0].value, 16.0);
    }

    /// Regression: events covering no step start were accepted and silently did nothing.
    #[test]
    fn events_that_can_never_act_are_rejected() {
        let late =
            errors(&with_header("[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2029.9\nshock = { trade = 0.5 }\n"));
        assert!(late.contains("would never act"), "{late}");
        let short = errors(&with_header(
            "[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2025.1\nduration = 0.1\nshock = { trade = 0.5 }\n",
        ));
        assert!(short.contains("no step starts in the 0.1 years from 2025.1"), "{short}");
        let window = errors(&with_header(
            "[[event]]\nname = \"e\"\ntarget = \"A\"\nhazard = 1\nfrom = 2025.1\nuntil = 2025.2\nshock = { trade = 0.5 }\n",
        ));
        assert!(window.contains("no step starts inside [from, until)"), "{window}");
        assert_eq!(
            errors(&with_header("[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2029.75\nshock = { trade = 0.5 }\n")),
            ""
        );
    }

    #[test]
    fn clamped_effects_are_reported_with_asked_and_used_values() {
        let s = parse_scenario(
            Path::new("t.toml"),
            &with_header(
                "[[event]]\nname = \"e\"\ntarget = \"A\"\nat = 2025\nadd = { sanctions_risk = -0.6, priority = 1 }\n\
                 multiply = { leverage = 0 }\n[[event]]\nname = \"f\"\ntarget = \"hedger\"\nat = 2025\nmultiply = { trade_adjustment = 10 }\n",
            ),
        )
        .unwrap();
        let w = clamp_warnings(&s);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!((w[0].event.as_str(), w[0].param, w[0].asked, w[0].used), ("e", "sanctions_risk", -0.6, 0.0));
        assert_eq!((w[1].event.as_str(), w[1].param, w[1].asked, w[1].used), ("f", "trade_adjustment", 3.0, 1.0));
        assert_eq!(
            w[1].to_string(),
            "event `f` asks for trade_adjustment = 3 on the hedger, outside its valid range (in (0, 1]); the model uses 1"
        );
    }

    #[test]
    fn numbers_are_shown_short() {
        assert_eq!(
            (num(0.5), num(2040.0), num(1e308), num(-1e-12), num(0.0)),
            ("0.5".into(), "2040".into(), "1e308".into(), "-1e-12".into(), "0".into())
        );
    }

    #[test]
    fn hedger_is_not_a_partner_id_and_empty_lists_are_explained() {
        let e = errors(&format!(
            "[scenario]\nname = \"t\"\nbase_year = 2023\nhorizon = 2030\n{PARTNERS}[[partner]]\nid = \"hedger\"\ntrade = 1\ngdp = 1\ncorridor = \"X\"\n"
        ));
        assert!(e.contains("`hedger` cannot be a partner id"), "{e}");
        assert!(e.contains("the scenario defines no corridor"), "{e}");
    }
}
