//! `summary.csv`, `outcomes.csv` and the header of `runs.csv` (formats in
//! `docs/outputs.md`). Pure: results in, bytes out.

use std::fmt::Write;

use statrs::distribution::{ContinuousCDF, Normal};

use crate::model::metrics::is_count;
use crate::model::{Model, Posture};
use crate::scenario::validate::quantile_column;
use crate::stats::moments::MomentBlock;
use crate::stats::sketch::SketchSet;
use crate::stats::summary::{summarize, t_critical_95};

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// `summary.csv`: one row per step x metric x subject.
pub fn summary_csv(model: &Model, moments: &MomentBlock, sketches: &SketchSet) -> String {
    let scenario = &model.scenario;
    let quantiles = &scenario.outputs.quantiles;
    let mut out = String::from("step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max");
    for &q in quantiles {
        out.push(',');
        out.push_str(&quantile_column(q));
    }
    out.push('\n');
    let t95 = t_critical_95(moments.n);
    let cells = model.layout.len();
    for step in 0..=model.steps() {
        let year = scenario.time_at(step);
        for (c, cell) in model.layout.cells.iter().enumerate() {
            let i = step * cells + c;
            let s = summarize(moments, i, &sketches.sketches[i], quantiles, t95, is_count(cell.metric));
            let _ = write!(
                out,
                "{step},{year},{},{},{},{},{},{},{},{},{},{}",
                cell.metric,
                cell.subject,
                s.n,
                s.mean,
                opt(s.sd),
                opt(s.se),
                opt(s.ci95.map(|c| c.0)),
                opt(s.ci95.map(|c| c.1)),
                s.min,
                s.max
            );
            for q in &s.quantiles {
                let _ = write!(out, ",{q}");
            }
            out.push('\n');
        }
    }
    out
}

/// Header line of `runs.csv`.
pub fn runs_header(model: &Model) -> String {
    let mut out = String::from("run,posture");
    for cell in &model.layout.cells {
        out.push(',');
        out.push_str(&cell.column());
    }
    out.push('\n');
    out
}

/// Wilson score interval for `k` successes in `n` trials (Wilson 1927).
pub fn wilson_interval(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = Normal::standard().inverse_cdf(0.5 + confidence / 2.0);
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    // The exact bounds at k = 0 and k = n are 0 and 1; avoid rounding residue.
    let lo = if k == 0.0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if k == n { 1.0 } else { (centre + half).min(1.0) };
    (lo, hi)
}

/// `outcomes.csv`: posture frequencies, postures that occurred only.
pub fn outcomes_csv(model: &Model, postures: &[u64]) -> String {
    let n: u64 = postures.iter().sum();
    let partners = model.scenario.partners.len();
    let mut out = String::from("posture,count,share,ci95_low,ci95_high\n");
    for (i, &count) in postures.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (lo, hi) = wilson_interval(count, n, 0.95);
        let label = Posture::from_index(i, partners).label(&model.scenario);
        let _ = writeln!(out, "{label},{count},{},{lo},{hi}", count as f64 / n as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_reference() {
        // Reference: statsmodels proportion_confint(15, 100, method="wilson")
        // = (0.0930598528365663, 0.2328355959083237).
        let (lo, hi) = wilson_interval(15, 100, 0.95);
        assert!((lo - 0.093_059_852_836_566_3).abs() < 1e-12, "{lo}");
        assert!((hi - 0.232_835_595_908_323_7).abs() < 1e-12, "{hi}");
        let (lo, hi) = wilson_interval(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.35);
    }
}
