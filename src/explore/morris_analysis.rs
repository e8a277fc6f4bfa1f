//! Morris elementary effects, with the statistics of SALib 1.6
//! `SALib.analyze.morris.analyze` (unscaled, no groups).
//!
//! A design of r trajectories of k + 1 points (as [`super::design::morris`]
//! builds them) gives, per trajectory and parameter j, one elementary effect
//! EE_j = (y(x with j at its upper level) - y(x with j at its lower level))
//! / Δ, Δ = p / (2 (p - 1)) in unit-cube units (Morris 1991). From the r
//! effects of each parameter:
//!
//! - mu = mean(EE), mu_star = mean(|EE|) (Campolongo, Cariboni and Saltelli
//!   2007), sigma = sd(EE) with ddof = 1;
//! - mu_star_conf: `num_resamples` bootstrap resamples of the r effects,
//!   z_{(1+conf)/2} times the sd (ddof = 1) of the resampled mu_star values
//!   (seeded Xoshiro256++, so reproducible but not bit-equal to SALib's).
//!
//! The step direction is read from the unit-cube points, so the effects do
//! not depend on how the parameters are scaled to their ranges.

use super::design::morris_delta;
use super::sobol_analysis::{AnalysisError, resample_indices, z_value};

/// Morris statistics of one outcome, one entry per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisIndices {
    pub mu: Vec<f64>,
    pub mu_star: Vec<f64>,
    pub sigma: Vec<f64>,
    /// Half-width of the bootstrap interval of `mu_star`.
    pub mu_star_conf: Vec<f64>,
}

/// Settings of [`analyze`], with SALib's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MorrisOptions {
    /// Grid levels p of the design (SALib default 4).
    pub levels: usize,
    pub num_resamples: usize,
    pub conf_level: f64,
    pub seed: u64,
}

impl Default for MorrisOptions {
    fn default() -> Self {
        Self { levels: 4, num_resamples: 100, conf_level: 0.95, seed: 0 }
    }
}

/// The elementary effects `ee[j][t]` of parameter j in trajectory t, from
/// unit-cube points `x` (rows, in trajectory order) and outputs `y`.
pub fn elementary_effects(x: &[Vec<f64>], y: &[f64], k: usize, levels: usize) -> Result<Vec<Vec<f64>>, AnalysisError> {
    let size = k + 1;
    if k == 0 || x.is_empty() || x.len() != y.len() || x.len() % size != 0 || x.iter().any(|p| p.len() != k) {
        return Err(AnalysisError::Layout { len: y.len(), k, block: size, second_order: false });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::NotFinite(row));
    }
    let delta = morris_delta(levels);
    let mut ee = vec![Vec::with_capacity(x.len() / size); k];
    for (t, (xs, ys)) in x.chunks(size).zip(y.chunks(size)).enumerate() {
        let mut seen = vec![false; k];
        for (step, (w, v)) in xs.windows(2).zip(ys.windows(2)).enumerate() {
            let moved: Vec<usize> = (0..k).filter(|&j| w[1][j] != w[0][j]).collect();
            let [j] = moved[..] else {
                return Err(AnalysisError::Other(format!(
                    "trajectory {t}, step {step}: {} parameters change; a Morris step changes exactly one",
                    moved.len()
                )));
            };
            if seen[j] {
                return Err(AnalysisError::Other(format!("trajectory {t}: parameter {j} moves twice")));
            }
            seen[j] = true;
            let up = w[1][j] > w[0][j];
            ee[j].push(if up { v[1] - v[0] } else { v[0] - v[1] } / delta);
        }
    }
    Ok(ee)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sd1(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

/// Morris statistics from unit-cube points `x` and outputs `y` of `k`
/// parameters. `sigma` is NaN with a single trajectory, as in SALib.
pub fn analyze(x: &[Vec<f64>], y: &[f64], k: usize, opts: &MorrisOptions) -> Result<MorrisIndices, AnalysisError> {
    if !(opts.conf_level > 0.0 && opts.conf_level < 1.0) {
        return Err(AnalysisError::ConfLevel(opts.conf_level));
    }
    if opts.num_resamples < 2 {
        return Err(AnalysisError::Resamples(opts.num_resamples));
    }
    if opts.levels < 2 {
        return Err(AnalysisError::Other(format!("Morris needs at least 2 levels, not {}", opts.levels)));
    }
    let ee = elementary_effects(x, y, k, opts.levels)?;
    let z = z_value(opts.conf_level);
    let r = ee[0].len();
    let resamples = resample_indices(r, opts.num_resamples, opts.seed, "morris");
    let abs: Vec<Vec<f64>> = ee.iter().map(|e| e.iter().map(|v| v.abs()).collect()).collect();
    Ok(MorrisIndices {
        mu: ee.iter().map(|e| mean(e)).collect(),
        mu_star: abs.iter().map(|a| mean(a)).collect(),
        sigma: ee.iter().map(|e| sd1(e)).collect(),
        mu_star_conf: abs
            .iter()
            .map(|a| {
                let boot: Vec<f64> =
                    resamples.iter().map(|idx| idx.iter().map(|&i| a[i]).sum::<f64>() / r as f64).collect();
                z * sd1(&boot)
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::design::{Range, Scale, morris, scale_points, unscale_value};

    fn poly(x: &[f64]) -> f64 {
        2.0 * x[0] + x[1] * x[1] + 3.0 * x[0] * x[2]
    }

    const RANGES: [Range; 4] = [
        Range { low: 0.0, high: 1.0, scale: Scale::Uniform },
        Range { low: 0.0, high: 2.0, scale: Scale::Uniform },
        Range { low: -1.0, high: 1.0, scale: Scale::Uniform },
        Range { low: 0.0, high: 1.0, scale: Scale::Uniform },
    ];

    /// SALib 1.6 `morris.sample(problem, 6, num_levels=4, seed=3)` and
    /// `morris.analyze` on y = 2a + b^2 + 3ac, printed by
    /// scripts/salib-reference.py.
    #[test]
    fn reproduces_salib_on_its_own_trajectories() {
        #[rustfmt::skip]
        let x_scaled: [[f64; 4]; 30] = [
            [0.6666666666666666, 0.0, -1.0, 0.0], [0.6666666666666666, 0.0, -1.0, 0.6666666666666666],
            [0.6666666666666666, 0.0, 0.33333333333333326, 0.6666666666666666],
            [0.6666666666666666, 1.3333333333333333, 0.33333333333333326, 0.6666666666666666],
            [0.0, 1.3333333333333333, 0.33333333333333326, 0.6666666666666666],
            [0.6666666666666666, 0.0, -1.0, 1.0], [0.0, 0.0, -1.0, 1.0], [0.0, 1.3333333333333333, -1.0, 1.0],
            [0.0, 1.3333333333333333, -1.0, 0.33333333333333337],
            [0.0, 1.3333333333333333, 0.33333333333333326, 0.33333333333333337],
            [0.33333333333333337, 0.6666666666666667, 1.0, 0.0],
            [0.33333333333333337, 0.6666666666666667, 1.0, 0.6666666666666666],
            [1.0, 0.6666666666666667, 1.0, 0.6666666666666666], [1.0, 2.0, 1.0, 0.6666666666666666],
            [1.0, 2.0, -0.33333333333333326, 0.6666666666666666],
            [0.0, 0.0, 1.0, 0.33333333333333337], [0.0, 0.0, 1.0, 1.0], [0.0, 1.3333333333333333, 1.0, 1.0],
            [0.6666666666666666, 1.3333333333333333, 1.0, 1.0],
            [0.6666666666666666, 1.3333333333333333, -0.33333333333333326, 1.0],
            [0.6666666666666666, 0.0, -1.0, 0.33333333333333337],
            [0.6666666666666666, 1.3333333333333333, -1.0, 0.33333333333333337],
            [0.6666666666666666, 1.3333333333333333, -1.0, 1.0],
            [0.6666666666666666, 1.3333333333333333, 0.33333333333333326, 1.0],
            [0.0, 1.3333333333333333, 0.33333333333333326, 1.0],
            [0.0, 0.6666666666666667, 1.0, 1.0], [0.0, 0.6666666666666667, 1.0, 0.33333333333333337],
            [0.0, 2.0, 1.0, 0.33333333333333337], [0.0, 2.0, -0.33333333333333326, 0.33333333333333337],
            [0.6666666666666666, 2.0, -0.33333333333333326, 0.33333333333333337],
        ];
        let y: Vec<f64> = x_scaled.iter().map(|x| poly(x)).collect();
        let unit: Vec<Vec<f64>> = x_scaled
            .iter()
            .map(|x| x.iter().zip(&RANGES).map(|(&v, r)| unscale_value(v, r.low, r.high, r.scale)).collect())
            .collect();
        let s = analyze(&unit, &y, 4, &MorrisOptions::default()).unwrap();
        let mu = [2.6666666666666665, 3.5555555555555554, 3.0, 0.0];
        let mu_star = [3.0, 3.5555555555555554, 3.0, 0.0];
        let sigma = [2.338090388900025, 1.3770607453181927, 2.449489742783178, 0.0];
        for j in 0..4 {
            assert!((s.mu[j] - mu[j]).abs() < 1e-12, "mu[{j}] {} vs {}", s.mu[j], mu[j]);
            assert!((s.mu_star[j] - mu_star[j]).abs() < 1e-12);
            assert!((s.sigma[j] - sigma[j]).abs() < 1e-12);
        }
        // SALib's bootstrap (NumPy's generator) gave 1.41, 0.97, 1.82, 0.
        assert_eq!(s.mu_star_conf[3], 0.0);
        assert!(s.mu_star_conf[..3].iter().all(|c| *c > 0.3 && *c < 4.0));
    }

    #[test]
    fn ranks_parameters_on_our_own_design() {
        let d = morris(50, 4, 4, 8);
        let y: Vec<f64> = scale_points(&d.points, &RANGES).iter().map(|x| poly(x)).collect();
        let s = analyze(&d.points, &y, 4, &MorrisOptions { seed: 8, ..MorrisOptions::default() }).unwrap();
        assert_eq!(s.mu_star[3], 0.0);
        assert!(s.mu_star[0] > 1.0 && s.mu_star[1] > 1.0 && s.mu_star[2] > 1.0);
        // b enters as b^2 on [0, 2]: every effect is positive, sigma from curvature only.
        assert!((s.mu[1] - s.mu_star[1]).abs() < 1e-12);
    }

    #[test]
    fn rejects_points_that_are_not_trajectories() {
        let x = vec![vec![0.0, 0.0], vec![1.0, 1.0], vec![1.0, 0.0]];
        assert!(analyze(&x, &[1.0, 2.0, 3.0], 2, &MorrisOptions::default()).is_err());
        assert!(analyze(&x, &[1.0, 2.0], 2, &MorrisOptions::default()).is_err());
    }
}
