//! Sensitivity measures for grid and Latin-hypercube designs, where
//! variance-based indices do not apply: standardised regression
//! coefficients (SRC) with R², and Spearman rank correlations, each with a
//! confidence interval.
//!
//! **SRC** (Saltelli et al. 2008, *Global Sensitivity Analysis: The
//! Primer*, ch. 1.2.5). Every parameter and the outcome are standardised
//! (mean 0, sample sd 1) and the outcome is regressed on the parameters by
//! ordinary least squares; the coefficient β_j is the change of the outcome,
//! in standard deviations, per standard deviation of parameter j, and
//! β_j² is its share of variance when the parameters are independent (as in
//! a grid or LHS) and the model is near-linear. R² says how linear: with R²
//! below about 0.7 the SRCs do not explain the outcome and the rank
//! correlations (or a Sobol design) should be read instead. The interval is
//! the OLS one: β_j ± t_{n-k-1} · s · sqrt([(ZᵀZ)⁻¹]_jj), s² = RSS / (n - k
//! - 1).
//!
//! **Spearman's ρ** between each parameter and the outcome (ties get their
//! average rank), robust to monotone non-linearity. The interval uses
//! Fisher's z = atanh ρ with the variance 1.06 / (n - 3) of Fieller,
//! Hartley and Pearson (1957) for rank correlations: tanh(z ± z_{(1+c)/2}
//! sqrt(1.06 / (n - 3))).

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::sobol_analysis::z_value;

/// Standardised regression coefficients of one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Src {
    pub beta: Vec<f64>,
    /// Half-width of the interval of each coefficient.
    pub beta_conf: Vec<f64>,
    pub r2: f64,
}

/// Spearman rank correlations of one outcome with each parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Spearman {
    pub rho: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

/// Why a measure cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegressionError {
    #[error("{points} points with {k} parameters: at least {need} points are needed")]
    TooFewPoints { points: usize, k: usize, need: usize },
    #[error("x has {x} rows and y {y} values")]
    Shape { x: usize, y: usize },
    #[error("parameter {0} takes a single value over the design")]
    ConstantParameter(usize),
    #[error("the parameters are collinear over the design")]
    Collinear,
    #[error("a value is not finite (row {0})")]
    NotFinite(usize),
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn standardise(x: &[f64]) -> Option<Vec<f64>> {
    let m = mean(x);
    let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt();
    (sd > 0.0).then(|| x.iter().map(|v| (v - m) / sd).collect())
}

fn columns(x: &[Vec<f64>], y: &[f64], need: usize) -> Result<Vec<Vec<f64>>, RegressionError> {
    if x.len() != y.len() {
        return Err(RegressionError::Shape { x: x.len(), y: y.len() });
    }
    let k = x.first().map_or(0, Vec::len);
    if x.len() < need || k == 0 {
        return Err(RegressionError::TooFewPoints { points: x.len(), k, need });
    }
    if let Some(row) =
        x.iter().zip(y).position(|(r, v)| r.len() != k || !v.is_finite() || r.iter().any(|v| !v.is_finite()))
    {
        return Err(RegressionError::NotFinite(row));
    }
    Ok((0..k).map(|j| x.iter().map(|r| r[j]).collect()).collect())
}

/// SRCs of outcome `y` on points `x` (rows), with intervals at
/// `conf_level`. A constant outcome gives zero coefficients and R² = 0.
pub fn src(x: &[Vec<f64>], y: &[f64], conf_level: f64) -> Result<Src, RegressionError> {
    let k = x.first().map_or(0, Vec::len);
    let cols = columns(x, y, k + 2)?;
    let n = y.len();
    let z: Vec<Vec<f64>> = cols
        .iter()
        .enumerate()
        .map(|(j, c)| standardise(c).ok_or(RegressionError::ConstantParameter(j)))
        .collect::<Result<_, _>>()?;
    let Some(ys) = standardise(y) else {
        return Ok(Src { beta: vec![0.0; k], beta_conf: vec![0.0; k], r2: 0.0 });
    };
    let zm = DMatrix::from_fn(n, k, |i, j| z[j][i]);
    let yv = DVector::from_vec(ys);
    let ztz = zm.transpose() * &zm;
    let inv = ztz.cholesky().ok_or(RegressionError::Collinear)?.inverse();
    // A near-singular ZᵀZ (a parameter almost a combination of others)
    // shows as a huge variance inflation factor [(ZᵀZ/(n-1))⁻¹]_jj.
    if (0..k).any(|j| !(inv[(j, j)] * (n as f64 - 1.0)).is_finite() || inv[(j, j)] * (n as f64 - 1.0) > 1e10) {
        return Err(RegressionError::Collinear);
    }
    let beta = &inv * (zm.transpose() * &yv);
    let resid = &yv - &zm * &beta;
    let rss = resid.norm_squared();
    let tss = yv.norm_squared();
    let dof = (n - k - 1) as f64;
    let s2 = rss / dof;
    let t = StudentsT::new(0.0, 1.0, dof).map_or(f64::NAN, |d| d.inverse_cdf(0.5 + conf_level / 2.0));
    Ok(Src {
        beta: beta.iter().copied().collect(),
        beta_conf: (0..k).map(|j| t * (s2 * inv[(j, j)]).sqrt()).collect(),
        r2: 1.0 - rss / tss,
    })
}

/// Average ranks (1-based) of `x`, ties sharing their mean rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            out[o] = rank;
        }
        i = j + 1;
    }
    out
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    if va == 0.0 || vb == 0.0 { 0.0 } else { cov / (va * vb).sqrt() }
}

/// Spearman's ρ of outcome `y` with each parameter of `x` (rows), with
/// Fisher-z intervals at `conf_level`. A constant column gives ρ = 0.
pub fn spearman(x: &[Vec<f64>], y: &[f64], conf_level: f64) -> Result<Spearman, RegressionError> {
    let cols = columns(x, y, 4)?;
    let ry = ranks(y);
    let rho: Vec<f64> = cols.iter().map(|c| pearson(&ranks(c), &ry)).collect();
    let half = z_value(conf_level) * (1.06 / (y.len() as f64 - 3.0)).sqrt();
    let clamp = |r: f64| r.clamp(-1.0 + 1e-15, 1.0 - 1e-15);
    Ok(Spearman {
        low: rho.iter().map(|&r| (clamp(r).atanh() - half).tanh()).collect(),
        high: rho.iter().map(|&r| (clamp(r).atanh() + half).tanh()).collect(),
        rho,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::design::latin_hypercube;

    #[test]
    fn src_recovers_linear_coefficients() {
        // y = 3 a - b + 0 c: SRC_j = b_j sd(x_j) / sd(y) exactly, R² = 1.
        let x = latin_hypercube(500, 3, 2);
        let y: Vec<f64> = x.iter().map(|p| 3.0 * p[0] - p[1]).collect();
        let s = src(&x, &y, 0.95).unwrap();
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
        };
        let col = |j: usize| x.iter().map(|p| p[j]).collect::<Vec<f64>>();
        let want = [3.0 * sd(&col(0)) / sd(&y), -sd(&col(1)) / sd(&y), 0.0];
        for j in 0..3 {
            assert!((s.beta[j] - want[j]).abs() < 1e-9, "beta {:?} vs {want:?}", s.beta);
            assert!(s.beta_conf[j] < 1e-6);
        }
        assert!((s.r2 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn src_interval_covers_with_noise() {
        let x = latin_hypercube(400, 2, 3);
        // Deterministic "noise" uncorrelated with the design.
        let y: Vec<f64> =
            x.iter().enumerate().map(|(i, p)| p[0] + 0.3 * ((i * 7919 % 101) as f64 / 101.0 - 0.5)).collect();
        let s = src(&x, &y, 0.95).unwrap();
        assert!(s.r2 > 0.8 && s.r2 < 1.0);
        assert!(s.beta_conf.iter().all(|c| *c > 0.0 && *c < 0.1));
        assert!((s.beta[1]).abs() < 2.0 * s.beta_conf[1] + 0.02);
    }

    #[test]
    fn spearman_sees_monotone_effects() {
        let x = latin_hypercube(200, 2, 5);
        let y: Vec<f64> = x.iter().map(|p| (8.0 * p[0]).exp()).collect();
        let s = spearman(&x, &y, 0.95).unwrap();
        assert!((s.rho[0] - 1.0).abs() < 1e-12);
        assert!(s.rho[1].abs() < 0.2);
        assert!(s.low[1] < s.rho[1] && s.rho[1] < s.high[1]);
        assert!(s.low[1] < 0.0 && s.high[1] > 0.0);
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn rejects_degenerate_designs() {
        let x = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0], vec![1.0, 3.0], vec![1.0, 5.0]];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(src(&x, &y, 0.95), Err(RegressionError::ConstantParameter(0)));
        assert!(matches!(src(&x[..3], &y[..3], 0.95), Err(RegressionError::TooFewPoints { .. })));
        let collinear: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert_eq!(src(&collinear, &[1.0, 3.0, 2.0, 5.0, 4.0, 6.0], 0.95), Err(RegressionError::Collinear));
        assert!(matches!(spearman(&x, &y[..4], 0.95), Err(RegressionError::Shape { .. })));
    }
}
