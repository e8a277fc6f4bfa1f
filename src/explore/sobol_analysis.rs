//! Variance-based (Sobol') sensitivity indices from a Saltelli design, with
//! the estimators of SALib 1.6 `SALib.analyze.sobol.analyze`.
//!
//! With outputs `y` laid out as [`super::design::saltelli`] lays out the
//! points (per base row: A, AB_1..AB_k, [BA_1..BA_k], B), and
//! `y` first standardised over *all* rows, `y <- (y - mean(y)) / sd(y)`
//! (population sd, as SALib does "to reduce bias for non-centred outputs"):
//!
//! - V = var([f_A, f_B]), the population variance of the A and B outputs
//!   together (NumPy's `np.var`, ddof = 0);
//! - first order, Saltelli et al. (2010), Comput. Phys. Commun. 181,
//!   259-270, eq. (b) of table 2: S_j = mean(f_B (f_ABj - f_A)) / V;
//! - total order, Jansen (1999) as in Saltelli et al. (2010) eq. (f):
//!   ST_j = mean((f_A - f_ABj)^2) / (2 V);
//! - second order, Saltelli (2002), Comput. Phys. Commun. 145, 280-297:
//!   S_jk = mean(f_BAj f_ABk - f_A f_B) / V - S_j - S_k;
//! - confidence half-widths: `num_resamples` bootstrap resamples of the N
//!   base rows (with replacement, the same resample for every index), the
//!   estimator recomputed on each, and z_{(1+conf)/2} times the standard
//!   deviation (ddof = 1) of the resampled values. The resample indices come
//!   from our seeded Xoshiro256++, so intervals are reproducible but not
//!   bit-equal to SALib's (NumPy's generator); the point estimates are.
//!
//! One deliberate difference: where every output is identical SALib divides
//! by a zero standard deviation and returns NaN; here every index is 0 with
//! a zero interval and [`SobolIndices::constant`] is set, so a report can say
//! "this outcome does not vary over the design".

use rand::RngExt;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::model::rng::{stream, stream_key};

/// Settings of [`analyze`], with SALib's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SobolOptions {
    pub second_order: bool,
    /// Bootstrap resamples (SALib default 100; at least 2).
    pub num_resamples: usize,
    /// Confidence level of the intervals, in (0, 1) (SALib default 0.95).
    pub conf_level: f64,
    /// Seed of the bootstrap resamples.
    pub seed: u64,
}

impl Default for SobolOptions {
    fn default() -> Self {
        Self { second_order: false, num_resamples: 100, conf_level: 0.95, seed: 0 }
    }
}

/// Sobol' indices of one outcome, one entry per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    pub s1: Vec<f64>,
    /// Half-width of the interval of `s1` at the confidence level.
    pub s1_conf: Vec<f64>,
    pub st: Vec<f64>,
    pub st_conf: Vec<f64>,
    /// `s2[j][m]` for j < m (NaN elsewhere), when asked.
    pub s2: Option<Vec<Vec<f64>>>,
    pub s2_conf: Option<Vec<Vec<f64>>>,
    /// Every output was identical: the indices are set to 0.
    pub constant: bool,
}

/// Why indices cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("{len} outputs do not fill whole blocks of {block} rows (k = {k}, second order {second_order})")]
    Layout { len: usize, k: usize, block: usize, second_order: bool },
    #[error("the confidence level must lie strictly between 0 and 1, not {0}")]
    ConfLevel(f64),
    #[error("at least 2 bootstrap resamples are needed, not {0}")]
    Resamples(usize),
    #[error("an output is not a finite number (row {0})")]
    NotFinite(usize),
    #[error("{0}")]
    Other(String),
}

/// The outputs of one Saltelli design, split into its blocks.
struct Blocks {
    a: Vec<f64>,
    b: Vec<f64>,
    /// `ab[j][i]`: AB_j of base row i.
    ab: Vec<Vec<f64>>,
    ba: Vec<Vec<f64>>,
}

fn split(y: &[f64], k: usize, second_order: bool) -> Blocks {
    let step = if second_order { 2 * k + 2 } else { k + 2 };
    let rows: Vec<&[f64]> = y.chunks_exact(step).collect();
    Blocks {
        a: rows.iter().map(|r| r[0]).collect(),
        b: rows.iter().map(|r| r[step - 1]).collect(),
        ab: (0..k).map(|j| rows.iter().map(|r| r[1 + j]).collect()).collect(),
        ba: if second_order {
            (0..k).map(|j| rows.iter().map(|r| r[1 + k + j]).collect()).collect()
        } else {
            Vec::new()
        },
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Population variance (ddof = 0), as `np.var`.
fn var0(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (ddof = 1).
fn sd1(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

fn spread(a: &[f64], b: &[f64]) -> f64 {
    let (lo, hi) = a.iter().chain(b).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    hi - lo
}

fn var_ab(a: &[f64], b: &[f64]) -> f64 {
    let y: Vec<f64> = a.iter().chain(b).copied().collect();
    var0(&y)
}

/// Saltelli (2010) first-order estimator over the given rows.
pub fn first_order(a: &[f64], ab: &[f64], b: &[f64]) -> f64 {
    if spread(a, b) == 0.0 {
        return 0.0;
    }
    let s: Vec<f64> = b.iter().zip(ab).zip(a).map(|((b, ab), a)| b * (ab - a)).collect();
    mean(&s) / var_ab(a, b)
}

/// Jansen total-order estimator over the given rows.
pub fn total_order(a: &[f64], ab: &[f64], b: &[f64]) -> f64 {
    if spread(a, b) == 0.0 {
        return 0.0;
    }
    let s: Vec<f64> = a.iter().zip(ab).map(|(a, ab)| (a - ab) * (a - ab)).collect();
    0.5 * mean(&s) / var_ab(a, b)
}

/// Saltelli (2002) second-order estimator over the given rows.
pub fn second_order(a: &[f64], ab_j: &[f64], ab_k: &[f64], ba_j: &[f64], b: &[f64]) -> f64 {
    if spread(a, b) == 0.0 {
        return 0.0;
    }
    let s: Vec<f64> =
        ba_j.iter().zip(ab_k).zip(a.iter().zip(b)).map(|((baj, abk), (a, b))| baj * abk - a * b).collect();
    mean(&s) / var_ab(a, b) - first_order(a, ab_j, b) - first_order(a, ab_k, b)
}

fn pick(x: &[f64], idx: &[usize]) -> Vec<f64> {
    idx.iter().map(|&i| x[i]).collect()
}

/// The z value of a two-sided interval at `conf_level`.
pub fn z_value(conf_level: f64) -> f64 {
    Normal::standard().inverse_cdf(0.5 + conf_level / 2.0)
}

/// Bootstrap resample indices: `num_resamples` draws of `n` row indices.
pub fn resample_indices(n: usize, num_resamples: usize, seed: u64, key: &str) -> Vec<Vec<usize>> {
    let mut rng = stream(seed, 0, stream_key("explore-bootstrap", key));
    (0..num_resamples).map(|_| (0..n).map(|_| rng.random_range(0..n)).collect()).collect()
}

/// An estimator applied to one bootstrap resample: (A, B, row indices).
type Resampled<'a> = dyn Fn(&[f64], &[f64], &[usize]) -> f64 + 'a;

/// Sobol' indices of `k` parameters from the outputs `y` of a Saltelli
/// design (in design order). See the module doc for the estimators.
pub fn analyze(k: usize, y: &[f64], opts: &SobolOptions) -> Result<SobolIndices, AnalysisError> {
    let block = if opts.second_order { 2 * k + 2 } else { k + 2 };
    if k == 0 || y.is_empty() || y.len() % block != 0 {
        return Err(AnalysisError::Layout { len: y.len(), k, block, second_order: opts.second_order });
    }
    if !(opts.conf_level > 0.0 && opts.conf_level < 1.0) {
        return Err(AnalysisError::ConfLevel(opts.conf_level));
    }
    if opts.num_resamples < 2 {
        return Err(AnalysisError::Resamples(opts.num_resamples));
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::NotFinite(row));
    }
    let n = y.len() / block;
    let m = mean(y);
    let sd = var0(y).sqrt();
    let constant = sd == 0.0;
    let std_y: Vec<f64> = if constant { vec![0.0; y.len()] } else { y.iter().map(|v| (v - m) / sd).collect() };
    let bl = split(&std_y, k, opts.second_order);
    let z = z_value(opts.conf_level);
    let resamples = resample_indices(n, opts.num_resamples, opts.seed, "sobol");
    let boot: Vec<(Vec<f64>, Vec<f64>)> = resamples.iter().map(|r| (pick(&bl.a, r), pick(&bl.b, r))).collect();
    let conf = |f: &Resampled<'_>| -> f64 {
        let values: Vec<f64> = boot.iter().zip(&resamples).map(|((a, b), r)| f(a, b, r)).collect();
        if boot.iter().all(|(a, b)| spread(a, b) == 0.0) { 0.0 } else { z * sd1(&values) }
    };
    let mut out = SobolIndices {
        s1: Vec::with_capacity(k),
        s1_conf: Vec::with_capacity(k),
        st: Vec::with_capacity(k),
        st_conf: Vec::with_capacity(k),
        s2: None,
        s2_conf: None,
        constant,
    };
    for j in 0..k {
        let abj = &bl.ab[j];
        out.s1.push(first_order(&bl.a, abj, &bl.b));
        out.s1_conf.push(conf(&|a, b, r| first_order(a, &pick(abj, r), b)));
        out.st.push(total_order(&bl.a, abj, &bl.b));
        out.st_conf.push(conf(&|a, b, r| total_order(a, &pick(abj, r), b)));
    }
    if opts.second_order {
        let mut s2 = vec![vec![f64::NAN; k]; k];
        let mut s2c = vec![vec![f64::NAN; k]; k];
        for j in 0..k {
            for q in j + 1..k {
                let (abj, abq, baj) = (&bl.ab[j], &bl.ab[q], &bl.ba[j]);
                s2[j][q] = second_order(&bl.a, abj, abq, baj, &bl.b);
                s2c[j][q] = conf(&|a, b, r| second_order(a, &pick(abj, r), &pick(abq, r), &pick(baj, r), b));
            }
        }
        out.s2 = Some(s2);
        out.s2_conf = Some(s2c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::explore::design::{Range, Scale, saltelli, scale_points};
    use crate::explore::testfns::{g_function, g_function_indices, ishigami};

    fn ishigami_outputs(n: usize, second_order: bool, scramble: Option<u64>) -> Vec<f64> {
        let r = Range { low: -PI, high: PI, scale: Scale::Uniform };
        let d = saltelli(n, 3, second_order, scramble).unwrap();
        scale_points(&d.points, &[r; 3]).iter().map(|x| ishigami(x, 7.0, 0.1)).collect()
    }

    /// SALib 1.6: `sobol.analyze(problem, Ishigami.evaluate(sobol.sample(
    /// problem, 1024, calc_second_order=False, scramble=False)),
    /// calc_second_order=False)` (scripts/salib-reference.py).
    #[test]
    fn reproduces_salib_on_ishigami_unscrambled_n1024() {
        let y = ishigami_outputs(1024, false, None);
        let s = analyze(3, &y, &SobolOptions::default()).unwrap();
        let s1 = [0.33295507517942635, 0.441313938544067, 0.018578412958719353];
        let st = [0.5581790457114659, 0.4432845840303481, 0.24214937335496534];
        for j in 0..3 {
            assert!((s.s1[j] - s1[j]).abs() < 1e-12, "S1[{j}] = {} vs {}", s.s1[j], s1[j]);
            assert!((s.st[j] - st[j]).abs() < 1e-12, "ST[{j}] = {} vs {}", s.st[j], st[j]);
            assert!(s.s1_conf[j] > 0.0 && s.s1_conf[j] < 0.2);
        }
        assert!(!s.constant);
    }

    /// The same with second order: SALib 1.6 values from
    /// scripts/salib-reference.py (N = 1024, unscrambled).
    #[test]
    fn reproduces_salib_second_order_on_ishigami() {
        let y = ishigami_outputs(1024, true, None);
        let s = analyze(3, &y, &SobolOptions { second_order: true, ..SobolOptions::default() }).unwrap();
        let (s1, st, s2) = crate::explore::testfns::SALIB_ISHIGAMI_S2_N1024;
        let got = s.s2.unwrap();
        for j in 0..3 {
            assert!((s.s1[j] - s1[j]).abs() < 1e-12);
            assert!((s.st[j] - st[j]).abs() < 1e-12);
        }
        for (j, q, v) in s2 {
            assert!((got[j][q] - v).abs() < 1e-12, "S2[{j}][{q}] = {} vs {v}", got[j][q]);
        }
    }

    #[test]
    fn converges_to_analytic_ishigami_values() {
        let s1 = [0.3139, 0.4424, 0.0];
        let st = [0.5576, 0.4424, 0.2437];
        let error = |n: usize| {
            let y = ishigami_outputs(n, false, Some(17));
            let s = analyze(3, &y, &SobolOptions::default()).unwrap();
            (0..3).map(|j| (s.s1[j] - s1[j]).abs().max((s.st[j] - st[j]).abs())).fold(0.0, f64::max)
        };
        let (coarse, fine) = (error(256), error(16384));
        assert!(fine < 0.01, "error at N = 16384: {fine}");
        assert!(fine < coarse, "no convergence: {coarse} -> {fine}");
    }

    #[test]
    fn converges_to_analytic_g_function_values() {
        let a = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0];
        let (s1, st) = g_function_indices(&a);
        let r = Range { low: 0.0, high: 1.0, scale: Scale::Uniform };
        let error = |n: usize| {
            let d = saltelli(n, a.len(), false, Some(5)).unwrap();
            let y: Vec<f64> = scale_points(&d.points, &[r; 6]).iter().map(|x| g_function(x, &a)).collect();
            let s = analyze(a.len(), &y, &SobolOptions::default()).unwrap();
            (0..a.len()).map(|j| (s.s1[j] - s1[j]).abs().max((s.st[j] - st[j]).abs())).fold(0.0, f64::max)
        };
        let (coarse, fine) = (error(128), error(16384));
        assert!(fine < 0.01, "error at N = 16384: {fine}");
        assert!(fine < coarse, "no convergence: {coarse} -> {fine}");
    }

    #[test]
    fn intervals_shrink_and_are_seeded() {
        let small = analyze(3, &ishigami_outputs(256, false, Some(1)), &SobolOptions::default()).unwrap();
        let large = analyze(3, &ishigami_outputs(4096, false, Some(1)), &SobolOptions::default()).unwrap();
        for j in 0..3 {
            assert!(large.st_conf[j] < small.st_conf[j]);
        }
        let again = analyze(3, &ishigami_outputs(256, false, Some(1)), &SobolOptions::default()).unwrap();
        assert_eq!(small, again);
        let other =
            analyze(3, &ishigami_outputs(256, false, Some(1)), &SobolOptions { seed: 9, ..SobolOptions::default() })
                .unwrap();
        assert_eq!(small.s1, other.s1);
        assert_ne!(small.s1_conf, other.s1_conf);
    }

    #[test]
    fn constant_outputs_give_zero_indices() {
        let s = analyze(2, &[3.0; 40], &SobolOptions::default()).unwrap();
        assert!(s.constant);
        assert_eq!(s.s1, vec![0.0, 0.0]);
        assert_eq!(s.st_conf, vec![0.0, 0.0]);
    }

    #[test]
    fn rejects_bad_input() {
        let o = SobolOptions::default();
        assert!(matches!(analyze(3, &[0.0; 11], &o), Err(AnalysisError::Layout { .. })));
        assert!(matches!(analyze(0, &[], &o), Err(AnalysisError::Layout { .. })));
        let bad = SobolOptions { conf_level: 1.0, ..o };
        assert!(matches!(analyze(3, &[0.0; 10], &bad), Err(AnalysisError::ConfLevel(_))));
        let bad = SobolOptions { num_resamples: 1, ..o };
        assert!(matches!(analyze(3, &[0.0; 10], &bad), Err(AnalysisError::Resamples(1))));
        let mut y = vec![1.0; 10];
        y[4] = f64::NAN;
        assert!(matches!(analyze(3, &y, &o), Err(AnalysisError::NotFinite(4))));
    }
}
