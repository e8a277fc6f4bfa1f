//! The experiment file (`hedgesim explore EXPERIMENT.toml`): its
//! `[experiment]`, `[[parameter]]` and `[discovery]` tables, read with spans
//! so every problem is reported as `file:line:col`, the key, and a fix
//! (the scenario reader's [`TableReader`] and [`ScenarioErrors`]), all
//! problems at once, before any work.
//!
//! What this parser checks on its own: types, unknown keys (with "did you
//! mean"), required keys, the design and its sizes, ranges (reversed, zero
//! width, log scale with a non-positive bound), grid levels, the grammar of
//! outcomes (`metric.subject@year`, `posture.<posture>@year`) and of the
//! discovery condition (`> 0.5`), and duplicates. What needs the base
//! scenario (that a parameter path exists and its range is valid for the
//! key, that an outcome's subject is a partner or group, that the year lies
//! within the horizon) is left to the caller, who has the spans to report
//! it: see [`Parameter::path`] and [`OutcomeSpec::span`]. Every key is
//! documented in `docs/explore.md`.

use std::fmt;
use std::ops::Range as Span;
use std::path::Path;

use toml::de::DeTable;

use super::design::{Scale, factorial_size, saltelli_size};
use super::sobol_seq::{MAX_DIMS, balance_warning};
use crate::model::metrics::{GROUP_METRICS, HEDGER_METRICS, PARTNER_METRICS};
use crate::scenario::diagnostics::{Diagnostic, ScenarioErrors, suggest};
use crate::scenario::reader::{At, TableReader};

/// The largest number of design points an experiment may have.
pub const MAX_POINTS: usize = 1_000_000;
/// The largest number of Monte Carlo runs per design point.
pub const MAX_RUNS: u64 = 1_000_000;
/// The largest number of uncertain parameters (a Sobol' design of k
/// parameters needs a sequence of dimension 2k).
pub const MAX_PARAMETERS: usize = MAX_DIMS / 2;
/// The largest number of bootstrap resamples.
pub const MAX_RESAMPLES: usize = 100_000;

/// The design of an experiment, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum DesignSpec {
    /// Full factorial on each parameter's levels.
    Grid,
    /// Latin hypercube of `samples` points.
    Lhs { samples: usize },
    /// Saltelli design on `samples` = N base rows.
    Sobol { samples: usize, second_order: bool, scramble: bool },
    /// `samples` = r Morris trajectories on a grid of `levels` levels.
    Morris { samples: usize, levels: usize },
}

impl DesignSpec {
    /// The design's name as written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            DesignSpec::Grid => "grid",
            DesignSpec::Lhs { .. } => "lhs",
            DesignSpec::Sobol { .. } => "sobol",
            DesignSpec::Morris { .. } => "morris",
        }
    }
}

/// Grid levels of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Levels {
    /// `levels = 5`: evenly spaced over the range (on its scale), ends included.
    Count(usize),
    /// `levels = [0.1, 0.2, 0.4]`: these values.
    Values(Vec<f64>),
}

/// One uncertain parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The parameter path (`partner.RU.leverage`), to be validated against
    /// the base scenario by the caller.
    pub path: At<String>,
    /// `[low, high]`; `None` only for a grid parameter given explicit levels.
    pub range: Option<At<(f64, f64)>>,
    pub scale: Scale,
    /// Grid levels (grid designs only).
    pub levels: Option<At<Levels>>,
}

impl Parameter {
    /// The grid values of this parameter (grid designs), in file order.
    pub fn grid_values(&self) -> Vec<f64> {
        match (&self.levels, &self.range) {
            (Some(At { value: Levels::Values(v), .. }), _) => v.clone(),
            (Some(At { value: Levels::Count(n), .. }), Some(r)) => super::design::even_levels(
                *n,
                super::design::Range { low: r.value.0, high: r.value.1, scale: self.scale },
            ),
            _ => Vec::new(),
        }
    }
}

/// What an outcome measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A hedger-level metric (`strategic_space@2040`).
    Hedger { metric: String, year: i64 },
    /// A per-partner metric (`trade_share.RU@2040`).
    Partner { metric: String, partner: String, year: i64 },
    /// A per-group metric (`group_share.southeast_asia@2040`).
    Group { metric: String, group: String, year: i64 },
    /// The share of runs in a posture (`posture.dependent:CN@2040`,
    /// `posture.hedging@2040`); `partner` is set for aligned/dependent.
    Posture { posture: String, partner: Option<String>, year: i64 },
}

impl Outcome {
    pub fn year(&self) -> i64 {
        match self {
            Outcome::Hedger { year, .. }
            | Outcome::Partner { year, .. }
            | Outcome::Group { year, .. }
            | Outcome::Posture { year, .. } => *year,
        }
    }

    /// The `metric` column of `points.csv` (`posture_share` for postures).
    pub fn metric(&self) -> &str {
        match self {
            Outcome::Hedger { metric, .. } | Outcome::Partner { metric, .. } | Outcome::Group { metric, .. } => metric,
            Outcome::Posture { .. } => "posture_share",
        }
    }

    /// The `subject` column of `points.csv` (empty for hedger metrics; the
    /// posture label for postures).
    pub fn subject(&self) -> String {
        match self {
            Outcome::Hedger { .. } => String::new(),
            Outcome::Partner { partner, .. } => partner.clone(),
            Outcome::Group { group, .. } => group.clone(),
            Outcome::Posture { posture, partner: Some(p), .. } => format!("{posture}:{p}"),
            Outcome::Posture { posture, partner: None, .. } => posture.clone(),
        }
    }
}

impl fmt::Display for Outcome {
    /// The outcome as written in the file (`trade_share.RU@2040`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Hedger { metric, year } => write!(f, "{metric}@{year}"),
            Outcome::Posture { year, .. } => write!(f, "posture.{}@{year}", self.subject()),
            _ => write!(f, "{}.{}@{}", self.metric(), self.subject(), self.year()),
        }
    }
}

/// An outcome with where it was written.
pub type OutcomeSpec = At<Outcome>;

/// A comparison operator of a discovery condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

/// A discovery condition such as `> 0.5`: a point is a case of interest
/// when its outcome (the mean over runs, or the posture share) satisfies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub value: f64,
}

impl Condition {
    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        };
        write!(f, "{op} {}", self.value)
    }
}

/// The `[discovery]` table: PRIM on one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub outcome: OutcomeSpec,
    pub condition: At<Condition>,
    pub peel_alpha: f64,
    pub paste_alpha: f64,
    pub mass_min: f64,
    pub paste: bool,
    /// Density threshold of the box choice (see [`super::prim::Selection`]).
    pub threshold: f64,
}

impl Discovery {
    /// The PRIM settings of this table.
    pub fn prim_options(&self) -> super::prim::PrimOptions {
        super::prim::PrimOptions {
            peel_alpha: self.peel_alpha,
            paste_alpha: self.paste_alpha,
            mass_min: self.mass_min,
            paste: self.paste,
            selection: super::prim::Selection::DensityThreshold(self.threshold),
        }
    }
}

/// A parsed, checked experiment file.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Names the result directory (default: the file's stem).
    pub name: String,
    /// The base scenario's path as written (relative to the experiment file).
    pub scenario: At<String>,
    pub design: DesignSpec,
    /// Monte Carlo runs per design point (`None`: the scenario's runs).
    pub runs: Option<u64>,
    /// Seed of the design, the runs and the bootstrap (`None`: the scenario's seed).
    pub seed: Option<u64>,
    pub outcomes: Vec<OutcomeSpec>,
    pub parameters: Vec<Parameter>,
    pub num_resamples: usize,
    pub conf_level: f64,
    pub discovery: Option<Discovery>,
    /// Non-fatal remarks (e.g. a Sobol' N that is not a power of two),
    /// to be printed before the run.
    pub warnings: Vec<Diagnostic>,
}

impl Experiment {
    /// The number of design points.
    pub fn points(&self) -> usize {
        let k = self.parameters.len();
        match self.design {
            DesignSpec::Grid => {
                factorial_size(self.parameters.iter().map(|p| p.grid_values().len())).unwrap_or(usize::MAX)
            }
            DesignSpec::Lhs { samples } => samples,
            DesignSpec::Sobol { samples, second_order, .. } => {
                saltelli_size(samples, k, second_order).unwrap_or(usize::MAX)
            }
            DesignSpec::Morris { samples, .. } => samples.saturating_mul(k + 1),
        }
    }

    /// Every outcome to compute: `outcomes`, then the discovery outcome if
    /// it is not among them.
    pub fn all_outcomes(&self) -> Vec<&OutcomeSpec> {
        let mut out: Vec<&OutcomeSpec> = self.outcomes.iter().collect();
        if let Some(d) = &self.discovery {
            if !self.outcomes.iter().any(|o| o.value == d.outcome.value) {
                out.push(&d.outcome);
            }
        }
        out
    }
}

/// Parses and checks an experiment file.
pub fn parse_experiment(path: &Path, source: &str) -> Result<Experiment, ScenarioErrors> {
    let mut diags = Vec::new();
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            diags.push(
                Diagnostic::new(span, "", format!("TOML syntax error: {}", e.message().trim()))
                    .with_help("see https://toml.io for the syntax"),
            );
            return Err(ScenarioErrors::new(path, source, diags));
        }
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut root = TableReader::new(doc.get_ref(), "", 0..0);
    let mut warnings = Vec::new();
    let experiment = read_document(&mut root, &stem, &mut diags, &mut warnings);
    root.finish(&mut diags);
    match experiment {
        Some(e) if diags.is_empty() => Ok(Experiment { warnings, ..e }),
        _ => {
            if diags.is_empty() {
                diags.push(Diagnostic::new(0..0, "", "invalid experiment"));
            }
            Err(ScenarioErrors::new(path, source, diags))
        }
    }
}

struct Header {
    name: String,
    scenario: At<String>,
    design: At<String>,
    samples: Option<At<i64>>,
    runs: Option<u64>,
    seed: Option<u64>,
    outcomes: Vec<OutcomeSpec>,
    second_order: bool,
    scramble: bool,
    morris_levels: usize,
    num_resamples: usize,
    conf_level: f64,
    span: Span<usize>,
}

fn read_document(
    root: &mut TableReader<'_, '_>,
    stem: &str,
    diags: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<Experiment> {
    let header = read_header(root, stem, diags);
    let mut parameters = Vec::new();
    let tables = root.tables("parameter", diags);
    let design_name = header.as_ref().map(|h| h.design.value.clone());
    for mut t in tables {
        if let Some(p) = read_parameter(&mut t, design_name.as_deref(), diags) {
            parameters.push(p);
        }
        t.finish(diags);
    }
    let discovery = read_discovery(root, diags);
    let header = header?;
    check_parameters(&parameters, &header, root.span(), diags);
    let design = design_spec(&header, diags, warnings)?;
    let experiment = Experiment {
        name: header.name,
        scenario: header.scenario,
        design,
        runs: header.runs,
        seed: header.seed,
        outcomes: header.outcomes,
        parameters,
        num_resamples: header.num_resamples,
        conf_level: header.conf_level,
        discovery,
        warnings: Vec::new(),
    };
    let points = experiment.points();
    if points > MAX_POINTS {
        diags.push(
            Diagnostic::new(
                header.span,
                "experiment",
                format!("the design has {points} points, more than {MAX_POINTS}"),
            )
            .with_help("lower `samples` (or the grid levels), or split the question into several experiments"),
        );
    }
    Some(experiment)
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An integer key within [min, max], or the default when absent.
fn int_in(
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    (min, max): (i64, i64),
    default: Option<i64>,
    help: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<i64> {
    let valid = format!("in [{min}, {max}]");
    match t.i64(key, &valid, diags) {
        None => default,
        Some(v) if (min..=max).contains(&v.value) => Some(v.value),
        Some(v) => {
            diags.push(v.diag(format!("{key} must be in [{min}, {max}], got {}", v.value)).with_help(help.to_string()));
            None
        }
    }
}

fn read_header(root: &mut TableReader<'_, '_>, stem: &str, diags: &mut Vec<Diagnostic>) -> Option<Header> {
    let Some(mut t) = root.table("experiment", diags) else {
        root.report_missing(
            diags,
            "experiment",
            "add an [experiment] table with scenario, design, samples and outcomes (see docs/explore.md)",
        );
        return None;
    };
    let span = t.span();
    let name = match t.string("name", diags) {
        Some(n) if is_safe_name(&n.value) => Some(n.value),
        Some(n) => {
            diags.push(
                n.diag(format!("experiment name `{}` cannot be used as a directory name", n.value)).with_help(
                    "use letters, digits, '-', '_' and '.', not starting with '.' (it names results/<name>/)",
                ),
            );
            None
        }
        None if is_safe_name(stem) => Some(stem.to_string()),
        None => {
            diags.push(t.missing("name", "add `name = \"my-experiment\"` (the file name cannot name a directory)"));
            None
        }
    };
    let scenario = match t.string("scenario", diags) {
        Some(s) if s.value.trim().is_empty() => {
            diags.push(
                s.diag("scenario is empty")
                    .with_help("write the base scenario's path, e.g. \"../scenarios/baseline.toml\""),
            );
            None
        }
        other => other,
    };
    if scenario.is_none() {
        t.report_missing(diags, "scenario", "add `scenario = \"../scenarios/baseline.toml\"` (relative to this file)");
    }
    let design = t.string("design", diags);
    let design = match design {
        Some(d) if ["grid", "lhs", "sobol", "morris"].contains(&d.value.as_str()) => Some(d),
        Some(d) => {
            let help = match suggest(&d.value, ["grid", "lhs", "sobol", "morris"]) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => "use \"grid\", \"lhs\", \"sobol\" or \"morris\"".to_string(),
            };
            diags.push(d.diag(format!("unknown design \"{}\"", d.value)).with_help(help));
            None
        }
        None => {
            t.report_missing(diags, "design", "add `design = \"sobol\"` (or \"grid\", \"lhs\", \"morris\")");
            None
        }
    };
    let samples = t.i64("samples", "a positive integer (see docs/explore.md for each design's limit)", diags);
    let runs = int_in(&mut t, "runs", (1, MAX_RUNS as i64), None, "runs per design point", diags).map(|v| v as u64);
    let seed = match t.i64("seed", "in [0, 9223372036854775807]", diags) {
        None => None,
        Some(s) if s.value >= 0 => Some(s.value as u64),
        Some(s) => {
            diags.push(s.diag(format!("seed must be a non-negative integer, got {}", s.value)));
            None
        }
    };
    let outcomes = read_outcomes(&mut t, diags);
    let second_order = t.bool("second_order", diags);
    let scramble = t.bool("scramble", diags);
    let morris_levels = t.i64("morris_levels", "an even number in [2, 1000]", diags);
    let is = |name: &str| design.as_ref().is_some_and(|d| d.value == name);
    for (key, value, needs) in [
        ("second_order", second_order.as_ref().map(|v| v.span.clone()), "sobol"),
        ("scramble", scramble.as_ref().map(|v| v.span.clone()), "sobol"),
        ("morris_levels", morris_levels.as_ref().map(|v| v.span.clone()), "morris"),
    ] {
        if let Some(span) = value.filter(|_| design.is_some() && !is(needs)) {
            diags.push(
                Diagnostic::new(
                    span,
                    format!("experiment.{key}"),
                    format!("`{key}` applies only to design = \"{needs}\""),
                )
                .with_help(format!("remove `{key}`, or set design = \"{needs}\"")),
            );
        }
    }
    let morris_levels = match morris_levels {
        None => Some(4),
        Some(p) if (2..=1000).contains(&p.value) && p.value % 2 == 0 => Some(p.value as usize),
        Some(p) => {
            diags.push(
                p.diag(format!("morris_levels must be an even number in [2, 1000], got {}", p.value))
                    .with_help("use 4 (SALib's default) or 6 or 8; odd levels bias the sample"),
            );
            None
        }
    };
    let num_resamples = int_in(
        &mut t,
        "num_resamples",
        (2, MAX_RESAMPLES as i64),
        Some(100),
        "bootstrap resamples of the confidence intervals; 100 (SALib's default) to 1000",
        diags,
    );
    let conf_level = match t.f64("conf_level", diags) {
        None => Some(0.95),
        Some(c) if c.value > 0.0 && c.value < 1.0 => Some(c.value),
        Some(c) => {
            diags.push(
                c.diag(format!("conf_level must lie strictly between 0 and 1, got {}", c.value)).with_help("use 0.95"),
            );
            None
        }
    };
    t.finish(diags);
    Some(Header {
        name: name?,
        scenario: scenario?,
        design: design?,
        samples,
        runs,
        seed,
        outcomes: outcomes?,
        second_order: second_order.is_some_and(|v| v.value),
        scramble: scramble.is_none_or(|v| v.value),
        morris_levels: morris_levels?,
        num_resamples: num_resamples? as usize,
        conf_level: conf_level?,
        span,
    })
}

fn read_outcomes(t: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<Vec<OutcomeSpec>> {
    let Some(list) = t.strings("outcomes", diags) else {
        t.report_missing(diags, "outcomes", "add `outcomes = [\"trade_share.RU@2040\", \"strategic_space@2040\"]`");
        return None;
    };
    if list.is_empty() {
        diags.push(
            Diagnostic::new(t.span(), "experiment.outcomes", "outcomes is empty")
                .with_help("name at least one outcome, e.g. \"trade_share.RU@2040\" or \"posture.dependent:CN@2040\""),
        );
        return None;
    }
    let mut out: Vec<OutcomeSpec> = Vec::new();
    let mut ok = true;
    for item in list {
        match parse_outcome(&item.value) {
            Ok(o) if out.iter().any(|p| p.value == o) => {
                diags.push(item.diag(format!("outcome `{}` is listed twice", item.value)).with_help("remove one"));
                ok = false;
            }
            Ok(o) => out.push(At { value: o, span: item.span, key: item.key }),
            Err((message, help)) => {
                diags.push(item.diag(message).with_help(help));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Parses an outcome string: `metric@year` (hedger metrics),
/// `metric.subject@year` (partner and group metrics), or
/// `posture.<hedging | aligned:ID | dependent:ID>@year`. The error is a
/// message and a fix.
pub fn parse_outcome(text: &str) -> Result<Outcome, (String, String)> {
    let all_metrics =
        || HEDGER_METRICS.iter().chain(&PARTNER_METRICS).chain(&GROUP_METRICS).copied().chain(["posture"]);
    let Some((head, year_text)) = text.rsplit_once('@') else {
        return Err((
            format!("outcome `{text}` has no year"),
            format!("write it as `{text}@2040` (metric.subject@year)"),
        ));
    };
    let year = match year_text.trim().parse::<i64>() {
        Ok(y) if (1000..=9999).contains(&y) => y,
        _ => {
            return Err((
                format!("`{year_text}` in outcome `{text}` is not a year"),
                "write a four-digit calendar year after '@', e.g. @2040".to_string(),
            ));
        }
    };
    let (metric, subject) = match head.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (head, None),
    };
    let unknown_metric = || {
        let help = match suggest(metric, all_metrics()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known metrics: {}", all_metrics().collect::<Vec<_>>().join(", ")),
        };
        Err((format!("unknown metric `{metric}` in outcome `{text}`"), help))
    };
    let needs_subject = |kind: &str, example: &str| {
        Err((
            format!("metric `{metric}` needs a {kind}: `{metric}.<{kind}>@{year}`"),
            format!("e.g. `{metric}.{example}@{year}`"),
        ))
    };
    match (metric, subject) {
        ("posture", Some(p)) => parse_posture(p, year, text),
        ("posture", None) => Err((
            format!("outcome `{text}` names no posture"),
            format!("write `posture.hedging@{year}`, `posture.aligned:RU@{year}` or `posture.dependent:CN@{year}`"),
        )),
        (m, None) if HEDGER_METRICS.contains(&m) => Ok(Outcome::Hedger { metric: m.to_string(), year }),
        (m, Some(_)) if HEDGER_METRICS.contains(&m) => {
            Err((format!("`{m}` is a hedger-level metric and takes no subject"), format!("write `{m}@{year}`")))
        }
        (m, Some(s)) if PARTNER_METRICS.contains(&m) && is_label(s) => {
            Ok(Outcome::Partner { metric: m.to_string(), partner: s.to_string(), year })
        }
        (m, Some(s)) if GROUP_METRICS.contains(&m) && is_label(s) => {
            Ok(Outcome::Group { metric: m.to_string(), group: s.to_string(), year })
        }
        (m, None) if PARTNER_METRICS.contains(&m) => needs_subject("partner", "RU"),
        (m, None) if GROUP_METRICS.contains(&m) => needs_subject("group", "southeast_asia"),
        (m, Some(s)) if PARTNER_METRICS.contains(&m) || GROUP_METRICS.contains(&m) => Err((
            format!("`{s}` in outcome `{text}` is not a partner id or group label"),
            "use the id or label as written in the scenario (letters, digits, '-', '_')".to_string(),
        )),
        _ => unknown_metric(),
    }
}

fn is_label(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn parse_posture(p: &str, year: i64, text: &str) -> Result<Outcome, (String, String)> {
    let fix = format!("write `posture.hedging@{year}`, `posture.aligned:RU@{year}` or `posture.dependent:CN@{year}`");
    match p.split_once(':') {
        None if p == "hedging" => Ok(Outcome::Posture { posture: p.to_string(), partner: None, year }),
        Some((kind @ ("aligned" | "dependent"), partner)) if is_label(partner) => {
            Ok(Outcome::Posture { posture: kind.to_string(), partner: Some(partner.to_string()), year })
        }
        Some(("aligned" | "dependent", _)) => Err((format!("outcome `{text}` names no valid partner after ':'"), fix)),
        None if p == "aligned" || p == "dependent" => {
            Err((format!("posture `{p}` needs a partner: `posture.{p}:CN@{year}`"), fix))
        }
        _ => {
            let head = p.split(':').next().unwrap_or(p);
            let help = match suggest(head, ["hedging", "aligned", "dependent"]) {
                Some(s) => format!("did you mean `{s}`? {fix}"),
                None => fix,
            };
            Err((format!("unknown posture `{p}` in outcome `{text}`"), help))
        }
    }
}

/// Parses a discovery condition: an operator (`>`, `>=`, `<`, `<=`) and a
/// number, e.g. `> 0.5`.
pub fn parse_condition(text: &str) -> Result<Condition, (String, String)> {
    let t = text.trim();
    let (op, rest) = if let Some(r) = t.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = t.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = t.strip_prefix('>') {
        (Op::Gt, r)
    } else if let Some(r) = t.strip_prefix('<') {
        (Op::Lt, r)
    } else {
        return Err((
            format!("condition `{text}` does not start with >, >=, < or <="),
            "write for example \"> 0.5\" (the outcome exceeds 0.5)".to_string(),
        ));
    };
    match rest.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Condition { op, value: v }),
        _ => Err((
            format!("`{}` in condition `{text}` is not a number", rest.trim()),
            "write for example \"> 0.5\" or \"<= 0.1\"".to_string(),
        )),
    }
}

fn read_parameter(t: &mut TableReader<'_, '_>, design: Option<&str>, diags: &mut Vec<Diagnostic>) -> Option<Parameter> {
    let path = t.string("path", diags);
    if path.is_none() {
        t.report_missing(diags, "path", "add `path = \"partner.RU.leverage\"` (see docs/explore.md for the paths)");
    }
    let scale = match t.string("scale", diags) {
        None => Some(Scale::Uniform),
        Some(s) if s.value == "uniform" => Some(Scale::Uniform),
        Some(s) if s.value == "log" => Some(Scale::Log),
        Some(s) => {
            diags.push(s.diag(format!("unknown scale \"{}\"", s.value)).with_help("use \"uniform\" or \"log\""));
            None
        }
    };
    let range = read_range(t, scale, diags);
    let levels = read_levels(t, diags);
    let is_grid = design == Some("grid");
    let mut ok = range.is_ok();
    let range = range.ok().flatten();
    match (&levels, is_grid) {
        (Some(l), false) if design.is_some() => {
            diags.push(
                Diagnostic::new(l.span.clone(), l.key.clone(), "`levels` applies only to design = \"grid\"")
                    .with_help("remove `levels`; this design draws values from `range`"),
            );
            ok = false;
        }
        (None, true) => {
            diags.push(
                t.missing("levels", "add `levels = 5` (evenly spaced over `range`) or `levels = [0.1, 0.2, 0.4]`"),
            );
            ok = false;
        }
        (Some(At { value: Levels::Count(_), .. }), true) if range.is_none() => {
            diags.push(t.missing("range", "a count of levels needs `range = [low, high]` to space them over"));
            ok = false;
        }
        _ => {}
    }
    if range.is_none() && !is_grid && ok {
        diags.push(t.missing("range", "add `range = [low, high]`"));
        ok = false;
    }
    let explicit = match &levels {
        Some(At { value: Levels::Values(v), span, key }) => Some((v, span, key)),
        _ => None,
    };
    if let Some((_, span, key)) = explicit.filter(|(v, _, _)| scale == Some(Scale::Log) && v.iter().any(|x| *x <= 0.0))
    {
        diags.push(
            Diagnostic::new(span.clone(), key.clone(), "log-scale levels must be > 0")
                .with_help("remove `scale = \"log\"` or use positive levels"),
        );
        ok = false;
    }
    let outside = |r: &At<(f64, f64)>, v: &[f64]| v.iter().any(|x| *x < r.value.0 || *x > r.value.1);
    let bad_level = match (ok, explicit, &range) {
        (true, Some((v, span, key)), Some(r)) if outside(r, v) => Some((span, key, r)),
        _ => None,
    };
    if let Some((span, key, r)) = bad_level {
        diags.push(
            Diagnostic::new(
                span.clone(),
                key.clone(),
                format!("a level lies outside range [{}, {}]", r.value.0, r.value.1),
            )
            .with_help("widen `range` or drop it (explicit levels need no range)"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Parameter { path: path?, range, scale: scale?, levels })
}

/// `range = [low, high]`: `Ok(None)` when absent, `Err` when invalid.
fn read_range(
    t: &mut TableReader<'_, '_>,
    scale: Option<Scale>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<At<(f64, f64)>>, ()> {
    let key = if t.path().is_empty() { "range".to_string() } else { format!("{}.range", t.path()) };
    let Some(values) = t.numbers("range", diags) else { return Ok(None) };
    let span = match (values.first(), values.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => t.span(),
    };
    let fail = |diags: &mut Vec<Diagnostic>, message: String, help: &str| {
        diags.push(Diagnostic::new(span.clone(), key.clone(), message).with_help(help.to_string()));
        Err(())
    };
    let [lo, hi] = values.as_slice() else {
        return fail(
            diags,
            format!("range needs exactly two numbers, found {}", values.len()),
            "write `range = [low, high]`",
        );
    };
    let (low, high) = (lo.value, hi.value);
    if low > high {
        return fail(diags, format!("range [{low}, {high}] is reversed"), &format!("write `range = [{high}, {low}]`"));
    }
    if low == high {
        return fail(
            diags,
            format!("range [{low}, {high}] has zero width"),
            "widen it, or drop this [[parameter]] and set the value in the scenario (or with --set)",
        );
    }
    if scale == Some(Scale::Log) && low <= 0.0 {
        return fail(
            diags,
            format!("a log-scale range needs low > 0, got [{low}, {high}]"),
            "use a positive lower bound, or `scale = \"uniform\"`",
        );
    }
    Ok(Some(At { value: (low, high), span, key }))
}

fn read_levels(t: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<At<Levels>> {
    let key = format!("{}.levels", t.path());
    let is_int = t.entries().any(|(k, v, _)| k == "levels" && v.get_ref().as_integer().is_some());
    if is_int {
        let n = t.i64("levels", "in [2, 1000]", diags)?;
        if !(2..=1000).contains(&n.value) {
            diags.push(n.diag(format!("levels must be in [2, 1000], got {}", n.value)).with_help("use 3 to 10 levels"));
            return None;
        }
        return Some(At { value: Levels::Count(n.value as usize), span: n.span, key });
    }
    let values = t.numbers("levels", diags)?;
    let span = match (values.first(), values.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => t.span(),
    };
    let v: Vec<f64> = values.iter().map(|x| x.value).collect();
    let mut sorted = v.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if v.is_empty() || sorted.len() != v.len() {
        diags.push(
            Diagnostic::new(span, key, "levels must list distinct values")
                .with_help("write `levels = [0.1, 0.2, 0.4]`, or a count such as `levels = 5`"),
        );
        return None;
    }
    Some(At { value: Levels::Values(v), span, key })
}

fn read_discovery(root: &mut TableReader<'_, '_>, diags: &mut Vec<Diagnostic>) -> Option<Discovery> {
    let mut t = root.table("discovery", diags)?;
    let outcome = match t.string("outcome", diags) {
        Some(o) => match parse_outcome(&o.value) {
            Ok(v) => Some(At { value: v, span: o.span, key: o.key }),
            Err((message, help)) => {
                diags.push(o.diag(message).with_help(help));
                None
            }
        },
        None => {
            t.report_missing(diags, "outcome", "add `outcome = \"posture.dependent:CN@2040\"`");
            None
        }
    };
    let condition = match t.string("condition", diags) {
        Some(c) => match parse_condition(&c.value) {
            Ok(v) => Some(At { value: v, span: c.span, key: c.key }),
            Err((message, help)) => {
                diags.push(c.diag(message).with_help(help));
                None
            }
        },
        None => {
            t.report_missing(diags, "condition", "add `condition = \"> 0.5\"` (the case of interest)");
            None
        }
    };
    let mut fraction = |key: &'static str, default: f64, (lo, hi): (f64, f64), help: &str| match t.f64(key, diags) {
        None => Some(default),
        Some(v) if v.value > lo && v.value < hi => Some(v.value),
        Some(v) => {
            diags.push(v.diag(format!("{key} must lie in ({lo}, {hi}), got {}", v.value)).with_help(help.to_string()));
            None
        }
    };
    let peel_alpha = fraction("peel_alpha", 0.05, (0.0, 0.5), "use 0.05 (EMA Workbench's default) to 0.1");
    let paste_alpha = fraction("paste_alpha", 0.05, (0.0, 0.5), "use 0.05 (EMA Workbench's default)");
    let mass_min = fraction(
        "mass_min",
        0.05,
        (0.0, 1.0),
        "use 0.05 (EMA Workbench's default): the smallest box holds 5% of the points",
    );
    let threshold =
        fraction("threshold", 0.8, (0.0, 1.0), "use 0.8: the box is chosen among those where 80% of points are cases");
    let paste = t.bool("paste", diags).is_none_or(|b| b.value);
    t.finish(diags);
    Some(Discovery {
        outcome: outcome?,
        condition: condition?,
        peel_alpha: peel_alpha?,
        paste_alpha: paste_alpha?,
        mass_min: mass_min?,
        paste,
        threshold: threshold?,
    })
}

fn check_parameters(parameters: &[Parameter], header: &Header, span: Span<usize>, diags: &mut Vec<Diagnostic>) {
    if parameters.is_empty() {
        diags.push(
            Diagnostic::new(span.start..span.start, "parameter", "the experiment has no [[parameter]]")
                .with_help("add [[parameter]] tables with `path` and `range` (see docs/explore.md)"),
        );
    }
    if parameters.len() > MAX_PARAMETERS {
        diags.push(
            Diagnostic::new(
                header.span.clone(),
                "parameter",
                format!("{} parameters, more than {MAX_PARAMETERS}", parameters.len()),
            )
            .with_help("screen them first with a Morris design on fewer parameters"),
        );
    }
    for (i, p) in parameters.iter().enumerate() {
        if parameters[..i].iter().any(|q| q.path.value == p.path.value) {
            diags.push(
                p.path
                    .diag(format!("parameter `{}` is listed twice", p.path.value))
                    .with_help("remove one [[parameter]]"),
            );
        }
    }
}

fn design_spec(header: &Header, diags: &mut Vec<Diagnostic>, warnings: &mut Vec<Diagnostic>) -> Option<DesignSpec> {
    let design = &header.design;
    if design.value == "grid" {
        if let Some(s) = &header.samples {
            diags.push(
                s.diag("`samples` does not apply to design = \"grid\"")
                    .with_help("remove it; the grid's size is the product of the parameters' levels"),
            );
            return None;
        }
        return Some(DesignSpec::Grid);
    }
    let (min, what, example) = match design.value.as_str() {
        "lhs" => (2, "points", 1000),
        "sobol" => (2, "base samples N", 256),
        _ => (2, "trajectories", 20),
    };
    let Some(samples) = &header.samples else {
        diags.push(
            Diagnostic::new(header.span.clone(), "experiment.samples", "missing required key `samples`")
                .with_help(format!("add `samples = {example}` (the number of {what})")),
        );
        return None;
    };
    if samples.value < min || samples.value > MAX_POINTS as i64 {
        diags.push(
            samples
                .diag(format!("samples ({what}) must be in [{min}, {MAX_POINTS}], got {}", samples.value))
                .with_help(format!("use for example `samples = {example}`")),
        );
        return None;
    }
    let n = samples.value as usize;
    Some(match design.value.as_str() {
        "lhs" => DesignSpec::Lhs { samples: n },
        "sobol" => {
            if let Some(w) = balance_warning(n) {
                warnings.push(samples.diag(w));
            }
            DesignSpec::Sobol { samples: n, second_order: header.second_order, scramble: header.scramble }
        }
        _ => DesignSpec::Morris { samples: n, levels: header.morris_levels },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[experiment]
name = "coercion-drivers"
scenario = "../scenarios/baseline.toml"
design = "sobol"
samples = 256
runs = 200
seed = 7
outcomes = ["trade_share.RU@2040", "strategic_space@2040", "posture.dependent:CN@2040"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = "model.coercion_severity"
range = [0.02, 0.3]
scale = "log"

[discovery]
outcome = "posture.dependent:CN@2040"
condition = "> 0.5"
"#;

    fn parse(src: &str) -> Result<Experiment, ScenarioErrors> {
        parse_experiment(Path::new("experiments/test.toml"), src)
    }

    fn errors(src: &str) -> String {
        parse(src).unwrap_err().to_string()
    }

    #[test]
    fn reads_the_issue_sketch() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.name, "coercion-drivers");
        assert_eq!(e.scenario.value, "../scenarios/baseline.toml");
        assert_eq!(e.design, DesignSpec::Sobol { samples: 256, second_order: false, scramble: true });
        assert_eq!((e.runs, e.seed, e.num_resamples, e.conf_level), (Some(200), Some(7), 100, 0.95));
        assert_eq!(e.points(), 256 * 4);
        assert_eq!(e.parameters[1].scale, Scale::Log);
        assert_eq!(e.parameters[0].range.as_ref().unwrap().value, (0.5, 2.0));
        assert_eq!(
            e.outcomes[0].value,
            Outcome::Partner { metric: "trade_share".into(), partner: "RU".into(), year: 2040 }
        );
        assert_eq!(e.outcomes[2].value.to_string(), "posture.dependent:CN@2040");
        let d = e.discovery.as_ref().unwrap();
        assert_eq!(d.condition.value, Condition { op: Op::Gt, value: 0.5 });
        assert_eq!(d.threshold, 0.8);
        assert_eq!(e.all_outcomes().len(), 3);
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn parses_outcomes() {
        assert_eq!(
            parse_outcome("strategic_space@2040").unwrap(),
            Outcome::Hedger { metric: "strategic_space".into(), year: 2040 }
        );
        assert_eq!(
            parse_outcome("group_share.southeast_asia@2035").unwrap(),
            Outcome::Group { metric: "group_share".into(), group: "southeast_asia".into(), year: 2035 }
        );
        assert_eq!(
            parse_outcome("posture.hedging@2040").unwrap(),
            Outcome::Posture { posture: "hedging".into(), partner: None, year: 2040 }
        );
        for (bad, fix) in [
            ("trade_share.RU", "@2040"),
            ("trade_shar.RU@2040", "did you mean `trade_share`"),
            ("trade_share@2040", "trade_share.RU@2040"),
            ("strategic_space.RU@2040", "strategic_space@2040"),
            ("posture.dependant:CN@2040", "did you mean `dependent`"),
            ("posture.dependent@2040", "posture.dependent:CN@2040"),
            ("trade_share.RU@20x0", "four-digit"),
            ("trade_share.R U@2040", "id or label"),
        ] {
            let (message, help) = parse_outcome(bad).unwrap_err();
            assert!(help.contains(fix) || message.contains(fix), "{bad}: {message} / {help}");
        }
    }

    #[test]
    fn parses_conditions() {
        assert_eq!(parse_condition("<= 0.1").unwrap(), Condition { op: Op::Le, value: 0.1 });
        assert_eq!(parse_condition(">=2").unwrap(), Condition { op: Op::Ge, value: 2.0 });
        assert!(parse_condition("< 0.3").unwrap().holds(0.2));
        assert!(!parse_condition("> 0.5").unwrap().holds(0.5));
        assert!(parse_condition("= 0.5").is_err());
        assert!(parse_condition("> abc").is_err());
        assert!(parse_condition("> inf").is_err());
    }

    #[test]
    fn reports_range_errors_with_line_key_and_fix() {
        let reversed = GOOD.replace("range = [0.5, 2.0]", "range = [2.0, 0.5]");
        let e = errors(&reversed);
        assert!(e.contains("experiments/test.toml:13:10:") && e.contains("parameter[0].range"), "{e}");
        assert!(e.contains("reversed") && e.contains("range = [0.5, 2]"), "{e}");
        let zero = GOOD.replace("range = [0.5, 2.0]", "range = [1.0, 1.0]");
        assert!(errors(&zero).contains("zero width"));
        let log = GOOD.replace("range = [0.02, 0.3]", "range = [0.0, 0.3]");
        assert!(errors(&log).contains("log-scale range needs low > 0"));
        let three = GOOD.replace("range = [0.5, 2.0]", "range = [0.5, 1.0, 2.0]");
        assert!(errors(&three).contains("exactly two numbers"));
        let missing = GOOD.replace("range = [0.5, 2.0]\n", "");
        assert!(errors(&missing).contains("missing required key `range`"));
    }

    #[test]
    fn reports_design_errors() {
        assert!(errors(&GOOD.replace("\"sobol\"", "\"sobel\"")).contains("did you mean \"sobol\""));
        assert!(
            errors(&GOOD.replace("samples = 256", "samples = 1")).contains("samples (base samples N) must be in [2,")
        );
        assert!(errors(&GOOD.replace("samples = 256\n", "")).contains("missing required key `samples`"));
        let huge = GOOD.replace("samples = 256", "samples = 400000");
        assert!(errors(&huge).contains("more than 1000000"), "{}", errors(&huge));
        assert!(errors(&GOOD.replace("runs = 200", "runs = 0")).contains("runs must be in [1,"));
        let seed = errors(&GOOD.replace("seed = 7", "seed = -1"));
        assert!(seed.contains("seed must be a non-negative integer"));
        let lhs_with_sobol_key = GOOD.replace("design = \"sobol\"", "design = \"lhs\"\nsecond_order = true");
        assert!(errors(&lhs_with_sobol_key).contains("applies only to design = \"sobol\""));
        let odd = GOOD.replace("design = \"sobol\"", "design = \"morris\"\nmorris_levels = 5");
        assert!(errors(&odd).contains("even number"));
        let typo = GOOD.replace("runs = 200", "rnus = 200");
        assert!(errors(&typo).contains("did you mean `runs`"));
        assert!(
            errors(&GOOD.replace("conf_level", "x").replace("seed = 7", "seed = 7\nconf_level = 1.5"))
                .contains("conf_level must lie")
        );
        let warn = parse(&GOOD.replace("samples = 256", "samples = 300")).unwrap();
        assert!(warn.warnings[0].message.contains("power of 2"));
    }

    #[test]
    fn reports_outcome_and_discovery_errors() {
        let e = errors(&GOOD.replace("\"strategic_space@2040\"", "\"strategic_spac@2040\""));
        assert!(e.contains("experiment.outcomes[1]") && e.contains("did you mean `strategic_space`"), "{e}");
        assert!(
            errors(&GOOD.replace("outcomes = [", "outcomes = [\"hhi@2040\", \"hhi@2040\", ")).contains("listed twice")
        );
        assert!(
            errors(&GOOD.replace("condition = \"> 0.5\"", "condition = \"about 0.5\"")).contains("does not start with")
        );
        assert!(errors(&GOOD.replace("condition = \"> 0.5\"\n", "")).contains("missing required key `condition`"));
        let extra =
            GOOD.replace("[discovery]\noutcome = \"posture.dependent:CN@2040\"", "[discovery]\noutcome = \"hhi@2040\"");
        assert_eq!(parse(&extra).unwrap().all_outcomes().len(), 4);
        assert!(
            errors(&GOOD.replace("condition = \"> 0.5\"", "condition = \"> 0.5\"\npeel_alpha = 0.7"))
                .contains("peel_alpha")
        );
    }

    #[test]
    fn grid_parameters_need_levels() {
        let grid = GOOD.replace("design = \"sobol\"\nsamples = 256\n", "design = \"grid\"\n");
        assert!(errors(&grid).contains("missing required key `levels`"));
        let with_levels = grid
            .replace("range = [0.5, 2.0]", "range = [0.5, 2.0]\nlevels = 4")
            .replace("range = [0.02, 0.3]\n", "levels = [0.02, 0.1, 0.3]\n");
        let e = parse(&with_levels).unwrap();
        assert_eq!(e.design, DesignSpec::Grid);
        assert_eq!(e.points(), 12);
        assert_eq!(e.parameters[0].grid_values(), vec![0.5, 1.0, 1.5, 2.0]);
        assert_eq!(e.parameters[1].grid_values(), vec![0.02, 0.1, 0.3]);
        let on_sobol = GOOD.replace("range = [0.5, 2.0]", "range = [0.5, 2.0]\nlevels = 4");
        assert!(errors(&on_sobol).contains("applies only to design = \"grid\""));
        let dup = with_levels.replace("levels = [0.02, 0.1, 0.3]", "levels = [0.1, 0.1]");
        assert!(errors(&dup).contains("distinct"));
    }

    #[test]
    fn reports_structure_errors() {
        assert!(errors("x = 1").contains("missing required key `experiment`"));
        assert!(errors("[experiment\n").contains("TOML syntax error"));
        let no_params = GOOD.split("[[parameter]]").next().unwrap().to_string();
        assert!(errors(&no_params).contains("no [[parameter]]"));
        let dup = GOOD.replace("model.coercion_severity", "partner.RU.assertiveness");
        assert!(errors(&dup).contains("listed twice"));
        let bad_name = GOOD.replace("coercion-drivers", "../escape");
        assert!(errors(&bad_name).contains("cannot be used as a directory name"));
        assert!(errors(&GOOD.replace("../scenarios/baseline.toml", " ")).contains("scenario is empty"));
        let unnamed = parse(&GOOD.replace("name = \"coercion-drivers\"\n", "")).unwrap();
        assert_eq!(unnamed.name, "test");
    }
}
