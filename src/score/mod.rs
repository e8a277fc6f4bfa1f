//! Scoring a result against what happened: the pure core of
//! `hedgesim score RESULT OBSERVED.csv`.
//!
//! Each observation dated after the result's base year (and at most its
//! horizon) is scored against the model's distribution of that metric at
//! that year: from the per-run values of `runs.csv` at the horizon (an
//! exact ensemble), otherwise from the quantiles of `summary.csv` (see
//! [`crps`] for both CRPS computations). Observations dated at or before
//! the base year are not scored: they build the two reference forecasts,
//!
//! - **persistence**: the observed value in the base year;
//! - **trend**: the least-squares line through the observations at or
//!   before the base year, extrapolated, where there are at least two years;
//!
//! each a point forecast, whose CRPS is its absolute error. A skill score is
//! `1 - score / reference score` (1 perfect, 0 as good as the reference,
//! negative worse); it is undefined when the reference is exact (error
//! below 1e-12).
//!
//! Overall scores are given per metric and over all share metrics (every
//! metric whose name ends in `_share`): mean absolute error of the model's
//! mean, mean CRPS, coverage of the central 50% and 90% intervals, and the
//! same errors of the references over the rows where they exist.

pub mod crps;
pub mod observed;
pub mod render;
pub mod result;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crps::{Ensemble, QuantileKnots};
pub use observed::{Observation, display_key, parse_observations};
use result::{CellKey, ResultMeta, SummaryCell};

/// Where a row's model distribution came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The per-run values of `runs.csv` (exact ensemble CRPS).
    Runs,
    /// The min, quantiles and max of `summary.csv` (interpolated).
    Quantiles,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Runs => "runs",
            Method::Quantiles => "quantiles",
        }
    }
}

/// The score of one observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowScore {
    pub year: f64,
    pub metric: String,
    pub subject: String,
    pub observed: f64,
    pub method: Method,
    pub n: u64,
    pub mean: f64,
    pub median: f64,
    /// mean - observed.
    pub error: f64,
    /// The observation's mid-percentile in the model distribution, in [0, 1].
    pub percentile: f64,
    pub lo50: f64,
    pub hi50: f64,
    pub in50: bool,
    pub lo90: f64,
    pub hi90: f64,
    pub in90: bool,
    pub crps: f64,
    pub persistence: Option<f64>,
    pub trend: Option<f64>,
    /// 1 - CRPS / |persistence - observed|.
    pub skill_persistence: Option<f64>,
    /// 1 - CRPS / |trend - observed|.
    pub skill_trend: Option<f64>,
}

/// Errors of one reference forecast over the rows where it exists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceScore {
    /// Rows with this reference.
    pub n: usize,
    /// The model's mean absolute error over those rows.
    pub model_mae: f64,
    /// The model's mean CRPS over those rows.
    pub model_crps: f64,
    /// The reference's mean absolute error (= its mean CRPS).
    pub mae: f64,
    /// 1 - model MAE / reference MAE.
    pub skill_mae: Option<f64>,
    /// 1 - model mean CRPS / reference MAE.
    pub skill_crps: Option<f64>,
}

/// Overall scores of a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// A metric name, or `all shares`.
    pub scope: String,
    pub n: usize,
    /// Mean absolute error of the model's mean.
    pub mae: f64,
    pub mean_crps: f64,
    /// Share of observations inside the central 50% interval.
    pub coverage50: f64,
    /// Share of observations inside the central 90% interval.
    pub coverage90: f64,
    pub persistence: Option<ReferenceScore>,
    pub trend: Option<ReferenceScore>,
}

/// The whole score of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub scenario: String,
    pub base_year: i32,
    pub horizon: i32,
    pub rows: Vec<RowScore>,
    pub overall: Vec<Overall>,
}

/// What to read from a result to score `observations`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The cells of `summary.csv` to read.
    pub cells: HashSet<CellKey>,
    /// The columns of `runs.csv` to read (horizon observations).
    pub runs_columns: Vec<String>,
}

/// Check the observations against the result's time axis and say what to
/// read. `obs_name` names the observations file in messages.
pub fn plan(meta: &ResultMeta, observations: &[Observation], obs_name: &str) -> Result<Plan, String> {
    let mut cells = HashSet::new();
    let mut runs_columns = Vec::new();
    let mut errors = Vec::new();
    for o in scored(meta, observations) {
        if o.year > f64::from(meta.horizon) {
            errors.push(format!(
                "{obs_name}:{}: column `year`: {} is after the result's horizon {}\n  help: score a result that runs to {} or drop the row",
                o.line, o.year, meta.horizon, o.year
            ));
            continue;
        }
        let Some(step) = meta.step_of(o.year) else {
            errors.push(format!(
                "{obs_name}:{}: column `year`: {} is not a step of the result (base year {}, {} steps a year)\n  help: use a year that summary.csv has",
                o.line, o.year, meta.base_year, meta.steps_per_year
            ));
            continue;
        };
        cells.insert((step, o.metric.clone(), o.subject.clone()));
        let column = display_key(&o.metric, &o.subject);
        if step == meta.last_step() && meta.runs_table && !runs_columns.contains(&column) {
            runs_columns.push(column);
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    if cells.is_empty() {
        return Err(format!(
            "{obs_name}: no observation is dated after the result's base year {} (up to its horizon {})\n  help: add the observed values of the years to score",
            meta.base_year, meta.horizon
        ));
    }
    Ok(Plan { cells, runs_columns })
}

/// The observations that are scored (dated after the base year).
fn scored<'a>(meta: &'a ResultMeta, observations: &'a [Observation]) -> impl Iterator<Item = &'a Observation> + 'a {
    observations.iter().filter(move |o| o.year > f64::from(meta.base_year) + 1e-9)
}

/// A model distribution: an ensemble or interpolated quantiles.
enum Dist {
    Runs(Ensemble),
    Quantiles(QuantileKnots),
}

impl Dist {
    fn quantile(&self, p: f64) -> f64 {
        match self {
            Dist::Runs(e) => e.quantile(p),
            Dist::Quantiles(k) => k.quantile(p),
        }
    }
    fn percentile(&self, y: f64) -> f64 {
        match self {
            Dist::Runs(e) => e.percentile(y),
            Dist::Quantiles(k) => k.percentile(y),
        }
    }
    fn crps(&self, y: f64) -> f64 {
        match self {
            Dist::Runs(e) => e.crps(y),
            Dist::Quantiles(k) => k.crps(y),
        }
    }
}

/// Score `observations` against a result's `cells` (from `summary.csv`)
/// and `runs` (columns of `runs.csv`), both read as [`plan`] said.
pub fn score(
    meta: &ResultMeta,
    observations: &[Observation],
    cells: &HashMap<CellKey, SummaryCell>,
    runs: &HashMap<String, Vec<f64>>,
    obs_name: &str,
) -> Result<Score, String> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for o in scored(meta, observations) {
        let step =
            meta.step_of(o.year).ok_or_else(|| format!("{obs_name}:{}: year {} is not a step", o.line, o.year))?;
        let key = display_key(&o.metric, &o.subject);
        let Some(cell) = cells.get(&(step, o.metric.clone(), o.subject.clone())) else {
            errors.push(format!(
                "{obs_name}:{}: the result has no metric `{}` with subject `{}`\n  help: metrics and subjects are those of summary.csv (docs/outputs.md); partners: {}; groups: {}",
                o.line,
                o.metric,
                o.subject,
                meta.partners.join(", "),
                meta.groups.join(", ")
            ));
            continue;
        };
        let (dist, method) = match runs.get(&key).filter(|_| step == meta.last_step()).cloned().and_then(Ensemble::new)
        {
            Some(e) => (Dist::Runs(e), Method::Runs),
            None => match QuantileKnots::new(cell.min, &cell.quantiles, cell.max) {
                Some(k) => (Dist::Quantiles(k), Method::Quantiles),
                None => {
                    errors.push(format!(
                        "summary.csv: the quantiles of `{key}` in {} are not ordered between min and max\n  help: the result was edited or is corrupt; re-run `hedgesim run`",
                        o.year
                    ));
                    continue;
                }
            },
        };
        let persistence = reference_value(observations, o, f64::from(meta.base_year), Reference::Persistence);
        let trend = reference_value(observations, o, f64::from(meta.base_year), Reference::Trend);
        let crps = dist.crps(o.value);
        let (lo50, hi50, lo90, hi90) =
            (dist.quantile(0.25), dist.quantile(0.75), dist.quantile(0.05), dist.quantile(0.95));
        rows.push(RowScore {
            year: o.year,
            metric: o.metric.clone(),
            subject: o.subject.clone(),
            observed: o.value,
            method,
            n: cell.n,
            mean: cell.mean,
            median: dist.quantile(0.5),
            error: cell.mean - o.value,
            percentile: dist.percentile(o.value),
            lo50,
            hi50,
            in50: lo50 <= o.value && o.value <= hi50,
            lo90,
            hi90,
            in90: lo90 <= o.value && o.value <= hi90,
            crps,
            persistence,
            trend,
            skill_persistence: persistence.and_then(|r| skill(crps, (r - o.value).abs())),
            skill_trend: trend.and_then(|r| skill(crps, (r - o.value).abs())),
        });
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let overall = overall(&rows);
    Ok(Score { scenario: meta.scenario.clone(), base_year: meta.base_year, horizon: meta.horizon, rows, overall })
}

/// `1 - score / reference`, undefined for an exact reference: one whose
/// error is within rounding (1e-12) of zero.
pub fn skill(score: f64, reference: f64) -> Option<f64> {
    (reference > 1e-12).then(|| 1.0 - score / reference)
}

#[derive(Clone, Copy)]
enum Reference {
    Persistence,
    Trend,
}

/// The reference forecast of `target` from the observations of the same
/// metric and subject dated at or before `start`.
fn reference_value(observations: &[Observation], target: &Observation, start: f64, kind: Reference) -> Option<f64> {
    let past: Vec<(f64, f64)> = observations
        .iter()
        .filter(|o| o.metric == target.metric && o.subject == target.subject && o.year <= start + 1e-9)
        .map(|o| (o.year, o.value))
        .collect();
    match kind {
        Reference::Persistence => past.iter().find(|(y, _)| (y - start).abs() < 1e-9).map(|&(_, v)| v),
        Reference::Trend => linear_trend(&past).map(|(a, b)| a + b * target.year),
    }
}

/// Least-squares line `(intercept, slope)` through points; `None` with
/// fewer than two distinct x values.
pub fn linear_trend(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| {
        let b = sxy / sxx;
        (my - b * mx, b)
    })
}

/// Overall scores per metric (in first-appearance order) and over all
/// share metrics when there are any.
fn overall(rows: &[RowScore]) -> Vec<Overall> {
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    let mut out: Vec<Overall> = metrics
        .iter()
        .filter_map(|m| summarise(m, &rows.iter().filter(|r| r.metric == *m).collect::<Vec<_>>()))
        .collect();
    let shares: Vec<&RowScore> = rows.iter().filter(|r| r.metric.ends_with("_share")).collect();
    let share_metrics = metrics.iter().filter(|m| m.ends_with("_share")).count();
    if share_metrics > 1 {
        out.extend(summarise("all shares", &shares));
    }
    out
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

fn summarise(scope: &str, rows: &[&RowScore]) -> Option<Overall> {
    if rows.is_empty() {
        return None;
    }
    let frac = |f: fn(&RowScore) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / rows.len() as f64;
    Some(Overall {
        scope: scope.to_string(),
        n: rows.len(),
        mae: mean(rows.iter().map(|r| r.error.abs())),
        mean_crps: mean(rows.iter().map(|r| r.crps)),
        coverage50: frac(|r| r.in50),
        coverage90: frac(|r| r.in90),
        persistence: reference_score(rows, |r| r.persistence),
        trend: reference_score(rows, |r| r.trend),
    })
}

fn reference_score(rows: &[&RowScore], value: fn(&RowScore) -> Option<f64>) -> Option<ReferenceScore> {
    let with: Vec<(&RowScore, f64)> = rows.iter().filter_map(|r| value(r).map(|v| (*r, v))).collect();
    if with.is_empty() {
        return None;
    }
    let mae = mean(with.iter().map(|(r, v)| (v - r.observed).abs()));
    let model_mae = mean(with.iter().map(|(r, _)| r.error.abs()));
    let model_crps = mean(with.iter().map(|(r, _)| r.crps));
    Some(ReferenceScore {
        n: with.len(),
        model_mae,
        model_crps,
        mae,
        skill_mae: skill(model_mae, mae),
        skill_crps: skill(model_crps, mae),
    })
}

#[cfg(test)]
mod tests;
