//! One design point: simulate its Monte Carlo runs and reduce them to the
//! experiment's outcomes, and nothing more.
//!
//! An experiment needs a handful of values per run (say Russia's trade
//! share in 2040), not the per-step moments and quantile tallies of every
//! cell that `hedgesim run` keeps, so a point records the model's metrics
//! only at the steps its outcomes name and keeps one value per run and
//! outcome. Run `i` of every point uses the random streams of run `i` of
//! the same seed (common random numbers): differences between points come
//! from their parameters, not from noise.

use crate::engine::LANE_RUNS;
use crate::model::metrics::{GROUP_METRICS, HEDGER_METRICS, PARTNER_METRICS};
use crate::model::{Model, Posture};
use crate::scenario::Scenario;
use crate::stats::summary::{t_critical_95, wilson_95};

use super::spec::Outcome;

/// Where an outcome's value comes from in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Cell `cell` of the metric row recorded at `step`.
    Cell { step: usize, cell: usize },
    /// 1 if the hedger's posture at `step` has dense index `posture`, else 0.
    Posture { step: usize, posture: usize },
}

impl Probe {
    fn step(&self) -> usize {
        match *self {
            Probe::Cell { step, .. } | Probe::Posture { step, .. } => step,
        }
    }
}

/// Resolve an outcome against a scenario: the step of its year and the cell
/// or posture it reads. The error says what is wrong and how to fix it.
pub fn probe_for(outcome: &Outcome, scenario: &Scenario) -> Result<Probe, String> {
    let year = outcome.year();
    if year < i64::from(scenario.base_year) || year > i64::from(scenario.horizon) {
        return Err(format!(
            "year {year} is outside the scenario's years {}..={}",
            scenario.base_year, scenario.horizon
        ));
    }
    let step = (year - i64::from(scenario.base_year)) as usize * scenario.steps_per_year as usize;
    let ids = || scenario.partners.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
    let partner_index = |id: &str| {
        scenario
            .partners
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| format!("no partner has id `{id}`; partners: {}", ids()))
    };
    let partners = scenario.partners.len();
    let groups = scenario.groups.len();
    let metric_index = |list: &[&str], metric: &str| {
        list.iter().position(|m| *m == metric).ok_or_else(|| {
            let all: Vec<&str> =
                HEDGER_METRICS.iter().chain(&PARTNER_METRICS).chain(&GROUP_METRICS).copied().collect();
            match crate::scenario::diagnostics::suggest(metric, all.iter().copied()) {
                Some(s) => format!("`{metric}` is not a metric of this kind; did you mean `{s}`?"),
                None => format!(
                    "unknown metric `{metric}`; hedger metrics: {}; partner metrics (metric.ID): {}; group metrics (metric.GROUP): {}",
                    HEDGER_METRICS.join(", "),
                    PARTNER_METRICS.join(", "),
                    GROUP_METRICS.join(", ")
                ),
            }
        })
    };
    Ok(match outcome {
        Outcome::Hedger { metric, .. } => Probe::Cell { step, cell: metric_index(&HEDGER_METRICS, metric)? },
        Outcome::Partner { metric, partner, .. } => {
            let m = metric_index(&PARTNER_METRICS, metric)?;
            Probe::Cell { step, cell: HEDGER_METRICS.len() + m * partners + partner_index(partner)? }
        }
        Outcome::Group { metric, group, .. } => {
            let m = metric_index(&GROUP_METRICS, metric)?;
            let g = scenario
                .groups
                .iter()
                .position(|x| x == group)
                .ok_or_else(|| format!("no group `{group}`; groups: {}", scenario.groups.join(", ")))?;
            Probe::Cell { step, cell: HEDGER_METRICS.len() + PARTNER_METRICS.len() * partners + m * groups + g }
        }
        Outcome::Posture { posture, partner, .. } => {
            let p = match (posture.as_str(), partner) {
                ("hedging", None) => Posture::Hedging,
                ("aligned", Some(id)) => Posture::Aligned(partner_index(id)?),
                ("dependent", Some(id)) => Posture::Dependent(partner_index(id)?),
                _ => {
                    return Err(format!(
                        "unknown posture `{}`; use `hedging`, `aligned:ID` or `dependent:ID`",
                        outcome.subject()
                    ));
                }
            };
            Probe::Posture { step, posture: p.index(partners) }
        }
    })
}

/// The values of every outcome in every run of one point:
/// `values[outcome][run]`. Runs are simulated [`LANE_RUNS`] at a time in
/// lock-step, as `hedgesim run` does (each lane's bits are those of a run
/// on its own; see [`crate::model::lanes`]).
pub fn simulate_point(model: &Model, runs: u64, probes: &[Probe]) -> Vec<Vec<f64>> {
    let mut values = vec![Vec::with_capacity(runs as usize); probes.len()];
    let width = runs.clamp(1, LANE_RUNS as u64) as usize;
    let mut ws = model.workspace_lanes(width);
    let cells = model.layout.len();
    let mut rows = vec![0.0; width * cells];
    let last = probes.iter().map(Probe::step).max().unwrap_or(0);
    let partners = model.scenario.partners.len();
    let mut first = 0;
    while first < runs {
        let count = (runs - first).min(width as u64) as usize;
        let rows = &mut rows[..count * cells];
        for k in 0..=last {
            match k {
                0 => model.start_lanes(first, count, &mut ws),
                _ => model.advance(k - 1, &mut ws),
            }
            if !probes.iter().any(|p| p.step() == k) {
                continue;
            }
            model.record(&mut ws, rows);
            for (lane, row) in rows.chunks_exact(cells).enumerate() {
                let posture = model.posture_of(&ws, lane).index(partners);
                for (probe, out) in probes.iter().zip(values.iter_mut()) {
                    match *probe {
                        Probe::Cell { step, cell } if step == k => out.push(row[cell]),
                        Probe::Posture { step, posture: want } if step == k => {
                            out.push(if posture == want { 1.0 } else { 0.0 })
                        }
                        _ => {}
                    }
                }
            }
        }
        first += count as u64;
    }
    values
}

/// Statistics of one outcome at one point (a row of `points.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeStats {
    pub n: u64,
    /// The mean over runs (for postures: the share of runs).
    pub mean: f64,
    pub sd: Option<f64>,
    pub se: Option<f64>,
    /// 95% CI of the mean (Student t; for postures the Wilson interval).
    pub ci95: Option<(f64, f64)>,
    /// Exact empirical p05, p50, p95 (linear interpolation between order
    /// statistics, as NumPy's default); `None` for postures.
    pub quantiles: Option<[f64; 3]>,
}

/// Summarise one outcome's run values; `share` marks posture outcomes (0/1).
pub fn summarize_values(values: &[f64], share: bool) -> OutcomeStats {
    let n = values.len() as u64;
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    if share {
        let k = values.iter().filter(|&&v| v > 0.5).count() as u64;
        let sd = (n > 1).then(|| (mean * (1.0 - mean) * n as f64 / (n - 1) as f64).sqrt());
        return OutcomeStats {
            n,
            mean,
            sd,
            se: sd.map(|s| s / (n as f64).sqrt()),
            ci95: wilson_95(k, n),
            quantiles: None,
        };
    }
    let sd = (n > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let se = sd.map(|s| s / (n as f64).sqrt());
    let ci95 = match (se, t_critical_95(n)) {
        (Some(se), Some(t)) => Some((mean - t * se, mean + t * se)),
        _ => None,
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantiles = (!sorted.is_empty()).then(|| [0.05, 0.5, 0.95].map(|p| quantile_sorted(&sorted, p)));
    OutcomeStats { n, mean, sd, se, ci95, quantiles }
}

/// Quantile `p` of sorted data by linear interpolation (Hyndman and Fan's
/// type 7, NumPy's default).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.05, 0.5, 0.95]) = [1.2, 3.0, 8.8]
        let s = summarize_values(&[4.0, 1.0, 10.0, 3.0, 2.0], false);
        let q = s.quantiles.unwrap();
        assert!((q[0] - 1.2).abs() < 1e-12 && q[1] == 3.0 && (q[2] - 8.8).abs() < 1e-12, "{q:?}");
        assert_eq!(s.mean, 4.0);
        // numpy.std([1, 2, 3, 4, 10], ddof=1) = 3.5355339059327378
        assert!((s.sd.unwrap() - 3.5355339059327378).abs() < 1e-12);
    }

    #[test]
    fn posture_shares_use_wilson() {
        let s = summarize_values(&[1.0, 0.0, 0.0, 1.0], true);
        assert_eq!(s.mean, 0.5);
        assert_eq!(s.ci95, wilson_95(2, 4));
        assert!(s.quantiles.is_none());
    }

    #[test]
    fn probes_agree_with_the_full_trajectory() {
        let scenario = crate::scenario::Scenario::load(std::path::Path::new("scenarios/baseline.toml")).unwrap();
        let model = Model::new(&scenario);
        let outcome = |text: &str| crate::explore::spec::parse_outcome(text).unwrap();
        let probes: Vec<Probe> = ["trade_share.RU@2030", "strategic_space@2040", "posture.hedging@2040"]
            .iter()
            .map(|t| probe_for(&outcome(t), &scenario).unwrap())
            .collect();
        let values = simulate_point(&model, 3, &probes);
        let cells = model.layout.len();
        let mut ws = model.workspace();
        let mut trajectory = vec![0.0; model.trajectory_len()];
        for run in 0..3u64 {
            let posture = model.run(run, &mut ws, &mut trajectory);
            let Probe::Cell { step, cell } = probes[0] else { panic!() };
            assert_eq!(values[0][run as usize].to_bits(), trajectory[step * cells + cell].to_bits());
            let Probe::Cell { step, cell } = probes[1] else { panic!() };
            assert_eq!(values[1][run as usize].to_bits(), trajectory[step * cells + cell].to_bits());
            assert_eq!(values[2][run as usize], if posture == Posture::Hedging { 1.0 } else { 0.0 });
        }
        let bad = probe_for(&outcome("trade_share.XX@2040"), &scenario).unwrap_err();
        assert!(bad.contains("no partner has id `XX`"), "{bad}");
        let bad = probe_for(&outcome("hhi@2050"), &scenario).unwrap_err();
        assert!(bad.contains("outside"), "{bad}");
    }
}
