//! Pure statistics for comparing two result sets: two-sample tests on
//! summary statistics, paired tests on run-by-run values, an effect size,
//! a multiple-comparison adjustment and tests for proportions.
//!
//! Every function here is pure (no I/O, no state) and total: a quantity
//! that is undefined for its inputs (too few runs, non-finite numbers) is
//! returned as `None` instead of NaN, so callers must decide how to show it.
//! Distribution functions (Student t, normal, binomial) come from `statrs`;
//! nothing here hand-writes a special function.
//!
//! Definitions (the module docs of [`crate::compare`] give the full list of
//! citations):
//!
//! - [`welch`]: Welch (1947), *Biometrika* 34:28-35; degrees of freedom by
//!   Satterthwaite (1946), *Biometrics Bulletin* 2:110-114. Agrees with
//!   `scipy.stats.ttest_ind(..., equal_var=False)`.
//! - [`paired`] / [`one_sample`]: Student's t on the differences ("Student"
//!   1908, *Biometrika* 6:1-25). Agrees with `scipy.stats.ttest_rel`.
//! - [`hedges_g`]: Hedges (1981), *J. Educ. Stat.* 6:107-128, with the
//!   small-sample correction J = 1 - 3/(4 df - 1), df = nA + nB - 2
//!   (Borenstein et al. 2009, *Introduction to Meta-Analysis*, eq. 4.22).
//! - [`holm`]: Holm (1979), *Scand. J. Stat.* 6:65-70, as adjusted p-values
//!   (Wright 1992, *Biometrics* 48:1005-1013); agrees with
//!   `statsmodels.stats.multitest.multipletests(method="holm")`.
//! - [`wilson`]: Wilson (1927), *JASA* 22:209-212.
//! - [`two_proportions`]: pooled two-proportion z test (equivalently
//!   Pearson's chi-square on the 2x2 table without continuity correction),
//!   with Newcombe's hybrid score interval, method 10 of Newcombe (1998a),
//!   *Stat. Med.* 17:873-890.
//! - [`mcnemar_paired`]: McNemar (1947), *Psychometrika* 12:153-157, in its
//!   exact (conditional binomial) form, with Newcombe's square-and-add
//!   interval for paired proportions, method 10 of Newcombe (1998b),
//!   *Stat. Med.* 17:2635-2650, in the form given by Newcombe & Altman in
//!   *Statistics with Confidence* (2nd ed., 2000, ch. 6) and Fagerland,
//!   Lydersen & Laake (2017), *Statistical Analysis of Contingency Tables*,
//!   section 8.6.

use statrs::distribution::{Binomial, Continuous, ContinuousCDF, DiscreteCDF, Normal, StudentsT};

/// The two-sided confidence level of every interval in this module.
pub const CONFIDENCE: f64 = 0.95;

/// Summary statistics of one sample, as in `summary.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of observations.
    pub n: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); `None` when n < 2.
    pub sd: Option<f64>,
}

impl Moments {
    /// Mean and sample standard deviation of `xs` (two-pass algorithm).
    /// `None` for an empty slice.
    pub fn of(xs: &[f64]) -> Option<Moments> {
        if xs.is_empty() {
            return None;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = if xs.len() < 2 {
            None
        } else {
            let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
            Some((ss / (n - 1.0)).sqrt())
        };
        Some(Moments { n: xs.len() as u64, mean, sd })
    }
}

/// Result of a t test of a difference (B - A).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// The estimated difference B - A.
    pub diff: f64,
    /// Standard error of the difference; `None` when undefined.
    pub se: Option<f64>,
    /// Degrees of freedom; `None` when undefined (including se = 0).
    pub df: Option<f64>,
    /// The t statistic diff / se; `None` when undefined or se = 0.
    pub t: Option<f64>,
    /// Two-sided p-value; `None` when undefined.
    pub p_value: Option<f64>,
    /// 95% confidence interval of the difference; `None` when undefined.
    pub ci95: Option<(f64, f64)>,
}

impl TTest {
    fn undefined(diff: f64) -> TTest {
        TTest { diff, se: None, df: None, t: None, p_value: None, ci95: None }
    }

    /// The rule for a difference with zero standard error: all the
    /// variability is zero, so a zero difference is certainly zero (p = 1,
    /// CI [0, 0]) and a nonzero one is certainly nonzero (p = 0, CI
    /// [diff, diff]).
    fn zero_variance(diff: f64) -> TTest {
        TTest {
            diff,
            se: Some(0.0),
            df: None,
            t: None,
            p_value: Some(if diff == 0.0 { 1.0 } else { 0.0 }),
            ci95: Some((diff, diff)),
        }
    }

    fn from_t(diff: f64, se: f64, df: f64) -> TTest {
        let t = diff / se;
        match (t_two_sided_p(t, df), t_quantile(0.5 + CONFIDENCE / 2.0, df)) {
            (Some(p), Some(q)) => TTest {
                diff,
                se: Some(se),
                df: Some(df),
                t: Some(t),
                p_value: Some(p),
                ci95: Some((diff - q * se, diff + q * se)),
            },
            _ => TTest::undefined(diff),
        }
    }
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom,
/// 2 P(T > |t|), from the Student t survival function of `statrs`.
/// `None` when `t` is NaN or `df` is not positive and finite.
pub fn t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || !df.is_finite() || df <= 0.0 {
        return None;
    }
    if df > NORMAL_DF {
        return z_two_sided_p(t);
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * dist.sf(t.abs())).min(1.0))
}

/// Above this many degrees of freedom Student's t is replaced by the
/// standard normal: the two differ by less than 1e-8 in probability there,
/// while the `statrs` t functions lose accuracy (its incomplete beta
/// function with a huge first parameter errs by 4e-10 at df = 1e7 and by
/// 3e-8 at df = 1e9).
const NORMAL_DF: f64 = 1e7;

/// Quantile `prob` (strictly between 0 and 1) of Student's t with `df`
/// degrees of freedom.
///
/// `statrs`' `StudentsT::inverse_cdf` is accurate for small df but drifts
/// for large df (t(0.975) is off by 7e-6 at df = 1e5 and by 0.13 at
/// df = 1e7), while its `cdf` and `pdf` stay accurate. So the quantile is
/// refined by Newton's method on the `statrs` cdf, starting from its own
/// inverse (df <= 1000) or from the normal quantile (larger df); the
/// root-finding is ours, every distribution function is `statrs`'.
pub fn t_quantile(prob: f64, df: f64) -> Option<f64> {
    let usable = prob > 0.0 && prob < 1.0 && df.is_finite() && df > 0.0;
    if !usable {
        return None;
    }
    let normal = Normal::new(0.0, 1.0).ok()?;
    if df > NORMAL_DF {
        return Some(normal.inverse_cdf(prob));
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let mut q = if df <= 1000.0 { dist.inverse_cdf(prob) } else { normal.inverse_cdf(prob) };
    for _ in 0..50 {
        let density = dist.pdf(q);
        if density.is_nan() || density <= 0.0 || !q.is_finite() {
            break;
        }
        let step = (dist.cdf(q) - prob) / density;
        q -= step;
        if step.abs() <= 1e-15 * q.abs().max(1.0) {
            break;
        }
    }
    q.is_finite().then_some(q)
}

/// The standard normal quantile for a two-sided 95% interval, z(0.975).
pub fn z_975() -> f64 {
    // Normal::new(0, 1) cannot fail; the fallback is the same constant.
    Normal::new(0.0, 1.0).map(|d| d.inverse_cdf(0.5 + CONFIDENCE / 2.0)).unwrap_or(1.959_963_984_540_054)
}

/// Two-sided p-value of a standard normal statistic, 2 P(Z > |z|).
pub fn z_two_sided_p(z: f64) -> Option<f64> {
    if z.is_nan() {
        return None;
    }
    let dist = Normal::new(0.0, 1.0).ok()?;
    Some((2.0 * dist.sf(z.abs())).min(1.0))
}

fn finite(m: &Moments) -> bool {
    m.mean.is_finite() && m.sd.is_none_or(f64::is_finite)
}

/// Welch's unequal-variance t test of mean(B) - mean(A) from summary
/// statistics: se = sqrt(sA^2/nA + sB^2/nB), Welch-Satterthwaite degrees of
/// freedom df = se^4 / ((sA^2/nA)^2/(nA-1) + (sB^2/nB)^2/(nB-1)), the 95%
/// CI diff -/+ t(0.975, df) se and the two-sided p from Student's t.
///
/// Undefined (p and CI `None`) when either side has n < 2 (no sd) or a
/// non-finite input. When se = 0 (both samples constant) see
/// the zero-variance rule: p = 1 and CI [0, 0] for a zero difference,
/// p = 0 and CI [diff, diff] otherwise.
pub fn welch(a: &Moments, b: &Moments) -> TTest {
    let diff = b.mean - a.mean;
    if !finite(a) || !finite(b) {
        return TTest::undefined(diff);
    }
    let (Some(sa), Some(sb)) = (a.sd, b.sd) else {
        return TTest::undefined(diff);
    };
    if a.n < 2 || b.n < 2 {
        return TTest::undefined(diff);
    }
    let (na, nb) = (a.n as f64, b.n as f64);
    let va = sa * sa / na;
    let vb = sb * sb / nb;
    let se2 = va + vb;
    if se2 == 0.0 {
        return TTest::zero_variance(diff);
    }
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    TTest::from_t(diff, se2.sqrt(), df)
}

/// One-sample t test of mean(d) = 0: mean, sd, se = sd/sqrt(n), the 95% CI
/// mean -/+ t(0.975, n-1) se and the two-sided p from Student's t with
/// n - 1 degrees of freedom. `None` for an empty slice; p and CI are `None`
/// for n = 1 or non-finite values; the zero-variance rule applies when all
/// values are equal.
pub fn one_sample(d: &[f64]) -> Option<TTest> {
    let m = Moments::of(d)?;
    // Equal values give sd = 0 only up to rounding of the mean; test the
    // values themselves so that a constant shift is exactly zero-variance.
    let constant = d.iter().all(|&x| x == d[0]).then_some(d[0]);
    Some(one_sample_moments(&m, constant))
}

/// [`one_sample`] from summary statistics of the differences; `constant` is
/// the common value when all differences are known to be equal (then the
/// zero-variance rule applies exactly).
pub fn one_sample_moments(m: &Moments, constant: Option<f64>) -> TTest {
    if !finite(m) {
        return TTest::undefined(m.mean);
    }
    let Some(sd) = m.sd else {
        return TTest::undefined(m.mean);
    };
    if let Some(c) = constant {
        return TTest::zero_variance(c);
    }
    if sd == 0.0 {
        return TTest::zero_variance(m.mean);
    }
    let n = m.n as f64;
    TTest::from_t(m.mean, sd / n.sqrt(), n - 1.0)
}

/// Paired t test of B - A on run-by-run values: the one-sample t test of
/// d_i = b_i - a_i. `None` when the slices differ in length or are empty.
pub fn paired(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() != b.len() {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    one_sample(&d)
}

/// Hedges' g of B - A, or why it is not a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// A finite effect size.
    G(f64),
    /// Pooled sd = 0 with a nonzero difference: the standardised effect is
    /// infinite. Shown as undefined, sorted before every finite effect.
    Infinite,
    /// Too few observations (nA + nB < 3 or a side without sd) or a
    /// non-finite input.
    Undefined,
}

impl Effect {
    /// The finite value, if any.
    pub fn value(self) -> Option<f64> {
        match self {
            Effect::G(g) => Some(g),
            _ => None,
        }
    }
}

/// Hedges' g of B - A: (mB - mA) / s_pooled x J, with
/// s_pooled = sqrt(((nA-1) sA^2 + (nB-1) sB^2) / (nA + nB - 2)) and the
/// small-sample correction J = 1 - 3 / (4 (nA + nB) - 9).
/// s_pooled = 0 gives g = 0 for a zero difference and [`Effect::Infinite`]
/// otherwise.
pub fn hedges_g(a: &Moments, b: &Moments) -> Effect {
    let diff = b.mean - a.mean;
    if !finite(a) || !finite(b) || a.n + b.n < 3 {
        return Effect::Undefined;
    }
    // A side with n = 1 has no sd but contributes (n - 1) sd^2 = 0.
    let ss = |m: &Moments| match (m.n, m.sd) {
        (1, _) => Some(0.0),
        (_, Some(s)) => Some((m.n as f64 - 1.0) * s * s),
        (_, None) => None,
    };
    let (Some(ssa), Some(ssb)) = (ss(a), ss(b)) else {
        return Effect::Undefined;
    };
    let n = (a.n + b.n) as f64;
    let pooled = ((ssa + ssb) / (n - 2.0)).sqrt();
    if pooled == 0.0 {
        return if diff == 0.0 { Effect::G(0.0) } else { Effect::Infinite };
    }
    let j = 1.0 - 3.0 / (4.0 * n - 9.0);
    Effect::G(diff / pooled * j)
}

/// Holm's step-down adjusted p-values. With the m defined p-values sorted
/// ascending, p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
/// max over j <= i of min(1, (m - j + 1) p_(j)): monotone in p and capped
/// at 1. `None` entries are ignored (not counted in m) and stay `None`.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some_and(|x| !x.is_nan())).collect();
    idx.sort_by(|&i, &j| {
        let (x, y) = (p[i].unwrap_or(1.0), p[j].unwrap_or(1.0));
        x.total_cmp(&y)
    });
    let m = idx.len();
    let mut out = vec![None; p.len()];
    let mut running = 0.0_f64;
    for (rank, &i) in idx.iter().enumerate() {
        let raw = p[i].unwrap_or(1.0);
        let adj = ((m - rank) as f64 * raw).min(1.0);
        running = running.max(adj);
        out[i] = Some(running);
    }
    out
}

/// Wilson score interval (95%, no continuity correction) for x successes
/// in n trials. `None` for n = 0 or x > n. The one implementation is
/// [`crate::stats::summary::wilson_95`], shared with `outcomes.csv`.
pub fn wilson(x: u64, n: u64) -> Option<(f64, f64)> {
    crate::stats::summary::wilson_95(x, n)
}

/// Result of a comparison of two proportions (B - A).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionTest {
    /// Proportion in A.
    pub p_a: f64,
    /// Proportion in B.
    pub p_b: f64,
    /// pB - pA.
    pub diff: f64,
    /// 95% confidence interval of the difference.
    pub ci95: Option<(f64, f64)>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
}

/// Independent samples: difference of proportions pB - pA with
/// Newcombe's hybrid score interval (method 10 of Newcombe 1998a, from the
/// Wilson intervals (lA, uA), (lB, uB)):
/// L = d - sqrt((pB - lB)^2 + (uA - pA)^2), U = d + sqrt((uB - pB)^2 + (pA - lA)^2),
/// and the pooled two-proportion z test, z = d / sqrt(p (1 - p) (1/nA + 1/nB))
/// with p = (xA + xB)/(nA + nB) (p = 1 when both proportions are 0 or both 1).
/// `None` when a count exceeds its n or an n is 0.
pub fn two_proportions(x_a: u64, n_a: u64, x_b: u64, n_b: u64) -> Option<ProportionTest> {
    let (la, ua) = wilson(x_a, n_a)?;
    let (lb, ub) = wilson(x_b, n_b)?;
    let (na, nb) = (n_a as f64, n_b as f64);
    let p_a = x_a as f64 / na;
    let p_b = x_b as f64 / nb;
    let diff = p_b - p_a;
    let low = diff - ((p_b - lb).powi(2) + (ua - p_a).powi(2)).sqrt();
    let high = diff + ((ub - p_b).powi(2) + (p_a - la).powi(2)).sqrt();
    let pooled = (x_a + x_b) as f64 / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let p_value = if se == 0.0 {
        // Both proportions are 0 or both are 1: no evidence of a difference.
        Some(1.0)
    } else {
        z_two_sided_p(diff / se)
    };
    Some(ProportionTest { p_a, p_b, diff, ci95: Some((low.max(-1.0), high.min(1.0))), p_value })
}

/// A paired 2x2 table of one binary outcome observed in B and in A for the
/// same runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairedTable {
    /// Runs where both A and B have the outcome.
    pub both: u64,
    /// Runs where B has it and A does not.
    pub b_only: u64,
    /// Runs where A has it and B does not.
    pub a_only: u64,
    /// Runs where neither has it.
    pub neither: u64,
}

impl PairedTable {
    /// Total number of pairs.
    pub fn n(&self) -> u64 {
        self.both + self.b_only + self.a_only + self.neither
    }
}

/// Paired samples: difference of proportions pB - pA = (b_only - a_only)/n,
/// McNemar's exact test (two-sided conditional binomial test of
/// b_only ~ Binomial(b_only + a_only, 1/2), p = min(1, 2 P(X <= min)), via
/// `statrs::distribution::Binomial`; p = 1 without discordant pairs), and
/// Newcombe's square-and-add interval for paired proportions (method 10 of
/// Newcombe 1998b), which combines the Wilson intervals of pB and pA with
/// the correlation estimate phi = C / sqrt(r1 r2 c1 c2), where
/// C = ad - bc - n/2 if ad - bc > n/2, 0 if 0 <= ad - bc <= n/2 and
/// ad - bc if ad - bc < 0 (phi = 0 when a margin is 0):
/// L = d - sqrt(dlB^2 + duA^2 - 2 phi dlB duA),
/// U = d + sqrt(dlA^2 + duB^2 - 2 phi dlA duB),
/// with dlB = pB - lB, duA = uA - pA, dlA = pA - lA, duB = uB - pB.
/// `None` for an empty table.
pub fn mcnemar_paired(t: &PairedTable) -> Option<ProportionTest> {
    let n = t.n();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    // Rows: B has it (both + b_only) or not; columns: A has it or not.
    let r1 = t.both + t.b_only;
    let r2 = t.a_only + t.neither;
    let c1 = t.both + t.a_only;
    let c2 = t.b_only + t.neither;
    let p_b = r1 as f64 / nf;
    let p_a = c1 as f64 / nf;
    let diff = (t.b_only as f64 - t.a_only as f64) / nf;
    let (lb, ub) = wilson(r1, n)?;
    let (la, ua) = wilson(c1, n)?;
    let phi = if r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0 {
        0.0
    } else {
        let ad_bc = t.both as f64 * t.neither as f64 - t.b_only as f64 * t.a_only as f64;
        let c = if ad_bc > nf / 2.0 {
            ad_bc - nf / 2.0
        } else if ad_bc >= 0.0 {
            0.0
        } else {
            ad_bc
        };
        c / (r1 as f64 * r2 as f64 * c1 as f64 * c2 as f64).sqrt()
    };
    let (dlb, dua) = (p_b - lb, ua - p_a);
    let (dla, dub) = (p_a - la, ub - p_b);
    let low = diff - (dlb * dlb + dua * dua - 2.0 * phi * dlb * dua).max(0.0).sqrt();
    let high = diff + (dla * dla + dub * dub - 2.0 * phi * dla * dub).max(0.0).sqrt();
    let discordant = t.b_only + t.a_only;
    let p_value = if discordant == 0 {
        Some(1.0)
    } else {
        let k = t.b_only.min(t.a_only);
        let dist = Binomial::new(0.5, discordant).ok()?;
        Some((2.0 * dist.cdf(k)).min(1.0))
    };
    Some(ProportionTest { p_a, p_b, diff, ci95: Some((low.max(-1.0), high.min(1.0))), p_value })
}

#[cfg(test)]
mod tests {
    //! Reference values computed with SciPy 1.17.1 and statsmodels 0.15.0
    //! (script in the report of issue 3); inputs are given exactly.
    use super::*;

    fn close(x: f64, y: f64, tol: f64) {
        assert!((x - y).abs() <= tol * y.abs().max(1.0), "{x} vs reference {y} (tolerance {tol})");
    }

    fn mom(n: u64, mean: f64, sd: f64) -> Moments {
        Moments { n, mean, sd: Some(sd) }
    }

    #[test]
    fn welch_matches_scipy_ttest_ind_from_stats() {
        // scipy.stats.ttest_ind_from_stats(mB, sB, nB, mA, sA, nA, equal_var=False);
        // df by Welch-Satterthwaite, CI from scipy.stats.t.ppf(0.975, df).
        // (nA, mA, sA, nB, mB, sB, t, p, df, ci_low, ci_high)
        let cases = [
            (
                10,
                1.5,
                0.8,
                12,
                2.1,
                1.3,
                1.3257173319616928,
                0.20100338865186448,
                18.579669644584452,
                -0.34872419045968805,
                1.5487241904596882,
            ),
            (
                10000,
                0.3012,
                0.05,
                10000,
                0.3001,
                0.052,
                -1.524839175753989,
                0.12731505362505263,
                19967.31646022126,
                -0.002513979332083681,
                0.00031397933208359005,
            ),
            (
                30,
                5.0,
                0.1,
                25,
                5.4,
                0.12,
                13.264730648561468,
                1.7869606389096057e-17,
                46.834752295107016,
                0.339330003656713,
                0.4606699963432877,
            ),
            (
                2,
                1.0,
                0.5,
                3,
                1.2,
                0.3,
                0.5080005080007619,
                0.6762800174517307,
                1.4945567651632972,
                -2.1808827712312446,
                2.580882771231245,
            ),
        ];
        for (na, ma, sa, nb, mb, sb, t, p, df, lo, hi) in cases {
            let r = welch(&mom(na, ma, sa), &mom(nb, mb, sb));
            close(r.t.unwrap(), t, 1e-12);
            close(r.df.unwrap(), df, 1e-12);
            close(r.p_value.unwrap(), p, 1e-9);
            let (l, h) = r.ci95.unwrap();
            close(l, lo, 1e-8);
            close(h, hi, 1e-8);
        }
    }

    #[test]
    fn tiny_p_values_keep_relative_precision() {
        // 2 * scipy.stats.t.sf(t, df)
        close(t_two_sided_p(12.0, 50.0).unwrap(), 2.462380625332543e-16, 1e-9);
        close(t_two_sided_p(3.0, 7.0).unwrap(), 0.019942126131992536, 1e-12);
        close(t_two_sided_p(0.5, 1000.0).unwrap(), 0.6171850808338747, 1e-12);
        let p = t_two_sided_p(40.0, 5000.0).unwrap();
        assert!((p - 8.41485047193577e-304).abs() <= 1e-6 * 8.41485047193577e-304);
        assert_eq!(t_two_sided_p(0.0, 7.0), Some(1.0));
        // Large df (statrs for 1e6 and 2e6, the normal above 1e7).
        close(t_two_sided_p(5.0, 1e6).unwrap(), 5.733997870890745e-07, 1e-6);
        close(t_two_sided_p(1.5, 2e6).unwrap(), 0.13361456038727018, 1e-9);
        close(t_two_sided_p(2.0, 3e7).unwrap(), 0.045500272894853, 1e-8);
    }

    #[test]
    fn t_quantiles_match_scipy() {
        // scipy.stats.t.ppf(0.975, df)
        let cases = [
            (1.0, 12.706204736174694),
            (2.0, 4.302652729749462),
            (5.0, 2.5705818356363146),
            (9.5, 2.2441374614922958),
            (30.0, 2.0422724563012378),
            (999.0, 1.9623414611334493),
            (1e5, 1.9599877075346095),
            (3e5, 1.9599718921421825),
            (1e6, 1.959966356814107),
            (1e7, 1.959964221767205),
        ];
        for (df, q) in cases {
            // statrs' cdf errs by 4e-10 at df = 1e7, hence a looser bound there.
            let tol = if df >= 1e7 { 1e-8 } else { 1e-9 };
            close(t_quantile(0.975, df).unwrap(), q, tol);
        }
        // scipy.stats.norm.ppf(0.975)
        close(z_975(), 1.959963984540054, 1e-14);
    }

    #[test]
    fn paired_matches_scipy_ttest_rel() {
        let a = [0.31, 0.28, 0.35, 0.30, 0.27, 0.33, 0.29, 0.32];
        let b = [0.33, 0.29, 0.38, 0.31, 0.30, 0.34, 0.31, 0.35];
        // scipy.stats.ttest_rel(b, a) and .confidence_interval(0.95)
        let r = paired(&a, &b).unwrap();
        close(r.t.unwrap(), 6.110100926607786, 1e-10);
        close(r.p_value.unwrap(), 0.0004862204375522619, 1e-9);
        assert_eq!(r.df, Some(7.0));
        let (l, h) = r.ci95.unwrap();
        close(l, 0.0122599502692484, 1e-9);
        close(h, 0.027740049730751594, 1e-9);
        close(r.diff, 0.019999999999999997, 1e-12);
        // scipy.stats.ttest_1samp(b - a, 0) gives the same test.
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
        let s = one_sample(&d).unwrap();
        close(s.p_value.unwrap(), 0.0004862204375522619, 1e-9);

        let a2 = [1.2, 0.7, 1.9, 1.4, 0.2, 1.1];
        let b2 = [1.1, 0.9, 1.7, 1.6, 0.1, 1.3];
        let r = paired(&a2, &b2).unwrap();
        close(r.t.unwrap(), 0.4385290096535154, 1e-10);
        close(r.p_value.unwrap(), 0.6793030666796033, 1e-9);
        let (l, h) = r.ci95.unwrap();
        close(l, -0.16206094914658375, 1e-9);
        close(h, 0.22872761581325057, 1e-9);
    }

    #[test]
    fn zero_variance_and_small_samples() {
        let same = [0.5, 0.25, 0.125];
        let r = paired(&same, &same).unwrap();
        assert_eq!((r.diff, r.p_value, r.ci95), (0.0, Some(1.0), Some((0.0, 0.0))));
        let shifted = [1.5, 1.25, 1.125];
        let r = paired(&same, &shifted).unwrap();
        assert_eq!((r.diff, r.p_value, r.ci95), (1.0, Some(0.0), Some((1.0, 1.0))));
        let r = welch(&mom(5, 2.0, 0.0), &mom(7, 2.0, 0.0));
        assert_eq!((r.p_value, r.ci95), (Some(1.0), Some((0.0, 0.0))));
        let r = welch(&mom(5, 2.0, 0.0), &mom(7, 3.0, 0.0));
        assert_eq!((r.p_value, r.ci95), (Some(0.0), Some((1.0, 1.0))));
        // n = 1 on one side: undefined.
        let one = Moments { n: 1, mean: 2.0, sd: None };
        let r = welch(&one, &mom(7, 3.0, 1.0));
        assert_eq!((r.p_value, r.ci95), (None, None));
        assert_eq!(paired(&[1.0], &[2.0]).unwrap().p_value, None);
        assert!(paired(&[1.0, 2.0], &[2.0]).is_none());
        assert!(paired(&[], &[]).is_none());
        // Non-finite input: undefined rather than NaN.
        assert_eq!(welch(&mom(5, f64::NAN, 1.0), &mom(5, 1.0, 1.0)).p_value, None);
    }

    #[test]
    fn hedges_g_matches_formula() {
        // numpy: sp = sqrt(((nA-1) sA^2 + (nB-1) sB^2)/(nA+nB-2));
        // g = (mB - mA)/sp * (1 - 3/(4(nA+nB) - 9))
        close(hedges_g(&mom(10, 1.5, 0.8), &mom(12, 2.1, 1.3)).value().unwrap(), 0.5231223392906997, 1e-12);
        close(hedges_g(&mom(30, 5.0, 0.1), &mom(25, 5.4, 0.12)).value().unwrap(), 3.600699360091964, 1e-12);
        assert_eq!(hedges_g(&mom(5, 1.0, 0.0), &mom(5, 1.0, 0.0)), Effect::G(0.0));
        assert_eq!(hedges_g(&mom(5, 1.0, 0.0), &mom(5, 2.0, 0.0)), Effect::Infinite);
        let one = Moments { n: 1, mean: 1.0, sd: None };
        assert_eq!(hedges_g(&one, &one), Effect::Undefined);
    }

    #[test]
    fn holm_matches_statsmodels() {
        // statsmodels.stats.multitest.multipletests(p, method="holm")[1]
        let p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04].map(Some);
        let want = [0.05, 0.12, 0.12, 0.03, 0.5, 0.12];
        for (got, want) in holm(&p).iter().zip(want) {
            close(got.unwrap(), want, 1e-12);
        }
        let p = [Some(0.001), None, Some(0.2), Some(0.0125), Some(0.9), Some(0.02)];
        let want = [Some(0.005), None, Some(0.4), Some(0.05), Some(0.9), Some(0.06)];
        for (got, want) in holm(&p).iter().zip(want) {
            match (got, want) {
                (Some(g), Some(w)) => close(*g, w, 1e-12),
                (g, w) => assert_eq!(*g, w),
            }
        }
        assert_eq!(holm(&[Some(1.0); 3]), vec![Some(1.0); 3]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(x, n, method="wilson")
        let cases = [
            (81, 263, 0.2552885198782742, 0.36620957698280004),
            (0, 10, 0.0, 0.27753279986288926),
            (10, 10, 0.7224672001371106, 1.0),
            (5, 37, 0.059132944257320144, 0.2797741178400979),
        ];
        for (x, n, lo, hi) in cases {
            let (l, h) = wilson(x, n).unwrap();
            close(l, lo, 1e-12);
            close(h, hi, 1e-12);
        }
        assert!(wilson(1, 0).is_none());
    }

    #[test]
    fn two_proportions_match_statsmodels() {
        // statsmodels proportions_ztest([xB, xA], [nB, nA]) (pooled) and
        // confint_proportions_2indep(xB, nB, xA, nA, method="newcomb").
        // (xB, nB, xA, nA, p, ci_low, ci_high)
        let cases = [
            (56, 70, 48, 80, 0.00804508136819656, 0.05243147240236498, 0.33387265403690614),
            (9, 10, 3, 10, 0.006169899320544151, 0.1705227239345029, 0.809017973535488),
            (0, 50, 5, 50, 0.021781462791119477, -0.21360231437479657, -0.008975448080590018),
            (450, 1000, 400, 1000, 0.023718642632191457, 0.00667183539471615, 0.09306381171446641),
        ];
        for (xb, nb, xa, na, p, lo, hi) in cases {
            let r = two_proportions(xa, na, xb, nb).unwrap();
            close(r.p_value.unwrap(), p, 1e-9);
            let (l, h) = r.ci95.unwrap();
            close(l, lo, 1e-10);
            close(h, hi, 1e-10);
        }
        let r = two_proportions(0, 20, 0, 30).unwrap();
        assert_eq!((r.diff, r.p_value), (0.0, Some(1.0)));
        let r = two_proportions(7, 20, 7, 20).unwrap();
        assert_eq!((r.diff, r.p_value), (0.0, Some(1.0)));
    }

    #[test]
    fn mcnemar_matches_statsmodels_and_published_interval() {
        // statsmodels.stats.contingency_tables.mcnemar(table, exact=True).pvalue
        // (= scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue), with the
        // table [[both, b_only], [a_only, neither]].
        // Newcombe interval: Fagerland, Lydersen & Laake (2017) Table 8.x,
        // Cavo et al. (2012) data [[59, 6], [16, 80]]: -0.0621 (95% CI
        // -0.1186 to -0.0046); full-precision values from a transcription of
        // the formula (same script).
        let cases = [
            ((59, 6, 16, 80), 0.052478790283203125, -0.06211180124223603, -0.11862119563870992, -0.004625113933050047),
            ((1, 1, 7, 12), 0.0703125, -0.2857142857142857, -0.506920226686141, -0.02555912416485978),
            ((30, 12, 3, 55), 0.03515625, 0.08999999999999997, 0.01356618199466901, 0.1646508220333077),
            ((40, 0, 0, 60), 1.0, 0.0, -0.020607662129738732, 0.020607662129738732),
        ];
        for ((both, b_only, a_only, neither), p, d, lo, hi) in cases {
            let t = PairedTable { both, b_only, a_only, neither };
            let r = mcnemar_paired(&t).unwrap();
            close(r.p_value.unwrap(), p, 1e-10);
            close(r.diff, d, 1e-12);
            let (l, h) = r.ci95.unwrap();
            close(l, lo, 1e-10);
            close(h, hi, 1e-10);
        }
        // Published to 4 decimals.
        let cavo = PairedTable { both: 59, b_only: 6, a_only: 16, neither: 80 };
        let (l, h) = mcnemar_paired(&cavo).unwrap().ci95.unwrap();
        assert_eq!(format!("{l:.4} {h:.4}"), "-0.1186 -0.0046");
        // statsmodels mcnemar([[100, 30], [12, 58]], exact=True).pvalue
        let t = PairedTable { both: 100, b_only: 30, a_only: 12, neither: 58 };
        close(mcnemar_paired(&t).unwrap().p_value.unwrap(), 0.007915897334896727, 1e-10);
        assert!(mcnemar_paired(&PairedTable::default()).is_none());
    }

    proptest::proptest! {
        #[test]
        fn holm_is_monotone_capped_and_conservative(
            p in proptest::collection::vec(0.0f64..=1.0, 0..40)
        ) {
            let p: Vec<Option<f64>> = p.into_iter().map(Some).collect();
            let adj = holm(&p);
            for (i, (x, a)) in p.iter().zip(&adj).enumerate() {
                let (x, a) = (x.unwrap(), a.unwrap());
                proptest::prop_assert!(a >= x && a <= 1.0);
                for (y, b) in p.iter().zip(&adj).skip(i + 1) {
                    if x <= y.unwrap() {
                        proptest::prop_assert!(a <= b.unwrap());
                    }
                }
            }
        }

        #[test]
        fn welch_is_antisymmetric(
            na in 2u64..500, nb in 2u64..500,
            ma in -10.0f64..10.0, mb in -10.0f64..10.0,
            sa in 0.01f64..5.0, sb in 0.01f64..5.0,
        ) {
            let (a, b) = (mom(na, ma, sa), mom(nb, mb, sb));
            let (ab, ba) = (welch(&a, &b), welch(&b, &a));
            proptest::prop_assert_eq!(ab.diff, -ba.diff);
            proptest::prop_assert_eq!(ab.p_value, ba.p_value);
            let p = ab.p_value.unwrap();
            proptest::prop_assert!((0.0..=1.0).contains(&p));
            let (l, h) = ab.ci95.unwrap();
            proptest::prop_assert!(l <= ab.diff && ab.diff <= h);
            // The CI excludes 0 exactly when p < 0.05 (up to rounding).
            if (p - 0.05).abs() > 1e-9 {
                proptest::prop_assert_eq!(p < 0.05, l > 0.0 || h < 0.0);
            }
        }
    }
}
