//! Reduce moments and sketches of one cell to the statistics reported in
//! `summary.csv`.
//!
//! - `sd`: sample standard deviation (n - 1 denominator); `se = sd / sqrt(n)`.
//! - 95% CI of the mean: `mean -/+ t(0.975, n - 1) se`, Student's t quantile
//!   from `statrs`.
//! - quantiles: from the sketch ([`super::sketch`]), clamped to the exact
//!   [min, max], rounded to whole numbers for count metrics.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::moments::MomentBlock;
use super::sketch::Sketch;

/// Statistics of one cell. `None` means undefined (e.g. `sd` with n = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct CellSummary {
    pub n: u64,
    pub mean: f64,
    pub sd: Option<f64>,
    pub se: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    pub min: f64,
    pub max: f64,
    pub quantiles: Vec<f64>,
}

/// The two-sided 95% Student t critical value for `n` observations.
pub fn t_critical_95(n: u64) -> Option<f64> {
    if n < 2 {
        return None;
    }
    StudentsT::new(0.0, 1.0, (n - 1) as f64).ok().map(|t| t.inverse_cdf(0.975))
}

/// Wilson score interval (Wilson 1927), 95%, no continuity correction, for
/// `k` successes in `n` trials; `None` for n = 0 or k > n. The bounds at
/// k = 0 and k = n are exactly 0 and 1 (the formula gives them only up to
/// rounding). Used for posture frequencies in `outcomes.csv` and by
/// `compare`.
pub fn wilson_95(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let z = Normal::standard().inverse_cdf(0.975);
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let low = if k == 0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if k == n { 1.0 } else { (centre + half).min(1.0) };
    Some((low, high))
}

/// Summarise cell `cell` of `moments` with its sketch.
pub fn summarize(
    moments: &MomentBlock,
    cell: usize,
    sketch: &Sketch,
    quantiles: &[f64],
    t95: Option<f64>,
    is_count: bool,
) -> CellSummary {
    let c = &moments.cells[cell];
    let n = moments.n;
    let sd = moments.variance(cell).map(f64::sqrt);
    let se = sd.map(|sd| sd / (n as f64).sqrt());
    let ci95 = match (se, t95) {
        (Some(se), Some(t)) => Some((c.mean - t * se, c.mean + t * se)),
        _ => None,
    };
    let quantiles = quantiles
        .iter()
        .map(|&q| {
            let v = sketch.quantile(q).unwrap_or(c.mean);
            // Clamping needs min <= max (false only for an empty cell).
            let v = if c.min <= c.max { v.clamp(c.min, c.max) } else { v };
            if is_count { v.round() } else { v }
        })
        .collect();
    CellSummary { n, mean: c.mean, sd, se, ci95, min: c.min, max: c.max, quantiles }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_critical_matches_tables() {
        // Standard tables: t(0.975, 9) = 2.262157, t(0.975, 999) = 1.962341.
        assert!((t_critical_95(10).unwrap() - 2.262_157_16).abs() < 1e-6);
        assert!((t_critical_95(1000).unwrap() - 1.962_341_29).abs() < 1e-6);
        assert_eq!(t_critical_95(1), None);
    }

    #[test]
    fn wilson_matches_reference() {
        // statsmodels proportion_confint(15, 100, method="wilson")
        // = (0.0930598528365663, 0.2328355959083237).
        let (lo, hi) = wilson_95(15, 100).unwrap();
        assert!((lo - 0.093_059_852_836_566_3).abs() < 1e-12, "{lo}");
        assert!((hi - 0.232_835_595_908_323_7).abs() < 1e-12, "{hi}");
        let (lo, hi) = wilson_95(0, 10).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.35);
        assert_eq!(wilson_95(10, 10).unwrap().1, 1.0);
        assert_eq!(wilson_95(1, 0), None);
    }

    #[test]
    fn single_run_has_no_spread() {
        let mut m = MomentBlock::new(1);
        m.add_row(&[2.0]);
        let mut s = Sketch::default();
        s.add(2.0);
        let c = summarize(&m, 0, &s, &[0.5], t_critical_95(1), false);
        assert_eq!((c.sd, c.ci95, c.quantiles[0]), (None, None, 2.0));
    }
}
