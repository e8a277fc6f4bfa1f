//! The continuous ranked probability score (CRPS) and the other
//! distribution summaries `hedgesim score` needs, for two representations of
//! a forecast distribution:
//!
//! - an **ensemble** (the runs of `runs.csv`): the CRPS is computed exactly,
//!   `CRPS = E|X - y| - 0.5 E|X - X'|` with both expectations over the
//!   empirical distribution of the n members (all n^2 pairs, the
//!   `crps_ensemble` of the Python package `properscoring`, Gneiting and
//!   Raftery 2007, eq. 21). `E|X - X'|` is found in O(n log n) by sorting:
//!   `sum_{i,j} |x_i - x_j| = 2 sum_i (2i - n + 1) x_(i)` (0-based order
//!   statistics).
//! - **quantiles** (a row of `summary.csv`: `min`, the reported quantile
//!   levels, `max`): the quantile function is taken to be the piecewise
//!   linear interpolation of the knots `(0, min), (p_1, q_1), ..., (1, max)`
//!   (a mixture of uniforms between neighbouring knots), and the CRPS is the
//!   quantile-score integral `CRPS = 2 int_0^1 QS_p(q(p), y) dp` with the
//!   pinball loss `QS_p(q, y) = (1{y < q} - p)(q - y)` (Gneiting and Raftery
//!   2007, eq. 22; Laio and Tamea 2007). On each segment the integrand is a
//!   quadratic in `p` once the segment is split where `q(p) = y`, so the
//!   quadrature is exact for that interpolated distribution; the only
//!   approximation is the interpolation between the reported levels.
//!
//! All functions are pure and panic-free on finite input.

/// A forecast distribution given by the knots of a piecewise linear
/// quantile function: levels strictly increasing from 0 to 1, values
/// non-decreasing.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileKnots {
    knots: Vec<(f64, f64)>,
}

impl QuantileKnots {
    /// Knots `(0, min), (p_i, q_i)..., (1, max)`. Returns `None` unless the
    /// levels are strictly increasing in (0, 1), every value is finite and
    /// the values are non-decreasing and within [min, max].
    pub fn new(min: f64, levels: &[(f64, f64)], max: f64) -> Option<QuantileKnots> {
        let mut knots = Vec::with_capacity(levels.len() + 2);
        knots.push((0.0, min));
        knots.extend_from_slice(levels);
        knots.push((1.0, max));
        let ok = knots.iter().all(|(p, q)| p.is_finite() && q.is_finite())
            && knots.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        ok.then_some(QuantileKnots { knots })
    }

    /// The quantile at level `p` in [0, 1] (linear between knots).
    pub fn quantile(&self, p: f64) -> f64 {
        let p = p.clamp(0.0, 1.0);
        for w in self.knots.windows(2) {
            let ((p0, q0), (p1, q1)) = (w[0], w[1]);
            if p <= p1 {
                return q0 + (q1 - q0) * (p - p0) / (p1 - p0);
            }
        }
        self.knots[self.knots.len() - 1].1
    }

    /// The mid-percentile of `y`: the average of `P(X < y)` and `P(X <= y)`
    /// (equal unless the distribution has an atom at `y`).
    pub fn percentile(&self, y: f64) -> f64 {
        let (mut below, mut at_or_below) = (0.0, 0.0);
        for w in self.knots.windows(2) {
            let ((p0, q0), (p1, q1)) = (w[0], w[1]);
            let width = p1 - p0;
            let part = if q1 > q0 { ((y - q0) / (q1 - q0)).clamp(0.0, 1.0) * width } else { 0.0 };
            below += if q1 < y {
                width
            } else if q0 >= y {
                0.0
            } else {
                part
            };
            at_or_below += if q1 <= y {
                width
            } else if q0 > y {
                0.0
            } else {
                part
            };
        }
        0.5 * (below + at_or_below)
    }

    /// The CRPS of this distribution at `y` (exact integral of twice the
    /// pinball loss over the interpolated quantile function).
    pub fn crps(&self, y: f64) -> f64 {
        let mut total = 0.0;
        for w in self.knots.windows(2) {
            let ((p0, q0), (p1, q1)) = (w[0], w[1]);
            let slope = (q1 - q0) / (p1 - p0);
            // q(p) - y = u + slope * p on this segment.
            let u = q0 - slope * p0 - y;
            let mut cuts = vec![p0];
            if q0 < y && y < q1 {
                cuts.push(p0 + (y - q0) / slope);
            }
            cuts.push(p1);
            for c in cuts.windows(2) {
                let (a, b) = (c[0], c[1]);
                let mid = 0.5 * (a + b);
                let above = if u + slope * mid > 0.0 { 1.0 } else { 0.0 };
                total += pinball_integral(above, u, slope, a, b);
            }
        }
        2.0 * total
    }
}

/// `int_a^b (c - p)(u + s p) dp` for constant `c`.
fn pinball_integral(c: f64, u: f64, s: f64, a: f64, b: f64) -> f64 {
    c * u * (b - a) + (c * s - u) * (b * b - a * a) / 2.0 - s * (b * b * b - a * a * a) / 3.0
}

/// An ensemble forecast: the members, sorted ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    sorted: Vec<f64>,
}

impl Ensemble {
    /// Sort the members; `None` if there are none or one is not finite.
    pub fn new(mut members: Vec<f64>) -> Option<Ensemble> {
        if members.is_empty() || members.iter().any(|x| !x.is_finite()) {
            return None;
        }
        members.sort_by(f64::total_cmp);
        Some(Ensemble { sorted: members })
    }

    /// The members, ascending.
    pub fn members(&self) -> &[f64] {
        &self.sorted
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> f64 {
        self.sorted.iter().sum::<f64>() / self.sorted.len() as f64
    }

    /// The empirical quantile at level `p` with linear interpolation between
    /// order statistics at positions `p (n - 1)` (Hyndman and Fan type 7,
    /// NumPy's default).
    pub fn quantile(&self, p: f64) -> f64 {
        let n = self.sorted.len();
        let h = p.clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        self.sorted[lo] + (h - lo as f64) * (self.sorted[hi] - self.sorted[lo])
    }

    /// The mid-percentile of `y`: `(#{x < y} + #{x <= y}) / (2n)`.
    pub fn percentile(&self, y: f64) -> f64 {
        let below = self.sorted.partition_point(|&x| x < y);
        let at_or_below = self.sorted.partition_point(|&x| x <= y);
        (below + at_or_below) as f64 / (2 * self.sorted.len()) as f64
    }

    /// The CRPS of the empirical distribution at `y`:
    /// `E|X - y| - 0.5 E|X - X'|`, O(n) on the sorted members.
    pub fn crps(&self, y: f64) -> f64 {
        let n = self.sorted.len() as f64;
        let abs_err = self.sorted.iter().map(|x| (x - y).abs()).sum::<f64>() / n;
        let spread: f64 = self.sorted.iter().enumerate().map(|(i, x)| (2.0 * i as f64 - n + 1.0) * x).sum();
        abs_err - spread / (n * n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn ensemble_crps_by_hand() {
        // members 0, 1, 3 and y = 2: E|X-y| = (2 + 1 + 1)/3 = 4/3;
        // sum over ordered pairs |xi - xj| = 2 (1 + 3 + 2) = 12, E = 12/9;
        // CRPS = 4/3 - 6/9 = 2/3.
        let e = Ensemble::new(vec![3.0, 0.0, 1.0]).unwrap();
        assert!(close(e.crps(2.0), 2.0 / 3.0, 1e-15), "{}", e.crps(2.0));
        // one member: the absolute error
        let one = Ensemble::new(vec![5.0]).unwrap();
        assert_eq!(one.crps(3.5), 1.5);
    }

    #[test]
    fn ensemble_crps_matches_the_pairwise_definition() {
        let xs: Vec<f64> = (0..57).map(|i| ((i * 37 % 101) as f64).sin() * 3.0 + i as f64 * 0.01).collect();
        let y = 0.4;
        let n = xs.len() as f64;
        let e1: f64 = xs.iter().map(|x| (x - y).abs()).sum::<f64>() / n;
        let e2: f64 = xs.iter().flat_map(|a| xs.iter().map(move |b| (a - b).abs())).sum::<f64>() / (n * n);
        let e = Ensemble::new(xs).unwrap();
        assert!(close(e.crps(y), e1 - 0.5 * e2, 1e-12));
    }

    #[test]
    fn ensemble_quantiles_and_percentiles() {
        let e = Ensemble::new(vec![4.0, 1.0, 2.0, 3.0, 5.0]).unwrap();
        assert_eq!(e.quantile(0.5), 3.0);
        assert_eq!(e.quantile(0.25), 2.0);
        assert_eq!(e.quantile(0.1), 1.4);
        assert_eq!(e.percentile(3.0), 0.5); // (2 + 3) / 10
        assert_eq!(e.percentile(0.0), 0.0);
        assert_eq!(e.percentile(9.0), 1.0);
        assert_eq!(e.percentile(2.5), 0.4);
        assert!(Ensemble::new(vec![]).is_none());
        assert!(Ensemble::new(vec![1.0, f64::NAN]).is_none());
    }

    #[test]
    fn uniform_knots_give_the_uniform_crps() {
        // U(0, 1): CRPS(y) = (y^2 + (1 - y)^2)/2 - 1/6 inside [0, 1], and
        // |y - 0.5| - 1/6 ... outside: E|X - y| - 1/6.
        let u = QuantileKnots::new(0.0, &[(0.25, 0.25), (0.5, 0.5), (0.9, 0.9)], 1.0).unwrap();
        for y in [0.0, 0.1, 0.5, 0.77, 1.0] {
            let want = (y * y + (1.0 - y) * (1.0 - y)) / 2.0 - 1.0 / 6.0;
            assert!(close(u.crps(y), want, 1e-15), "y={y}: {} vs {want}", u.crps(y));
        }
        // outside: E|X - y| = |y - 0.5| for y outside [0, 1]
        assert!(close(u.crps(2.0), 1.5 - 1.0 / 6.0, 1e-15));
        assert!(close(u.crps(-1.0), 1.5 - 1.0 / 6.0, 1e-15));
        assert!(close(u.percentile(0.3), 0.3, 1e-15));
        assert_eq!(u.quantile(0.75), 0.75);
    }

    #[test]
    fn a_point_mass_scores_its_absolute_error() {
        let m = QuantileKnots::new(2.0, &[(0.05, 2.0), (0.5, 2.0), (0.95, 2.0)], 2.0).unwrap();
        assert!(close(m.crps(3.0), 1.0, 1e-15));
        assert!(close(m.crps(0.5), 1.5, 1e-15));
        assert_eq!(m.crps(2.0), 0.0);
        assert_eq!(m.percentile(2.0), 0.5);
        assert_eq!(m.percentile(1.0), 0.0);
        assert_eq!(m.percentile(2.5), 1.0);
    }

    #[test]
    fn knots_crps_equals_the_ensemble_crps_of_a_dense_sample_of_it() {
        // A skewed five-level distribution; its CRPS must equal that of a
        // very fine ensemble drawn on the quantile grid.
        let k =
            QuantileKnots::new(0.1, &[(0.05, 0.12), (0.25, 0.15), (0.5, 0.2), (0.75, 0.22), (0.95, 0.3)], 0.5).unwrap();
        let n = 200_000;
        let sample: Vec<f64> = (0..n).map(|i| k.quantile((i as f64 + 0.5) / n as f64)).collect();
        let e = Ensemble::new(sample).unwrap();
        for y in [0.05, 0.14, 0.2, 0.26, 0.6] {
            assert!(close(k.crps(y), e.crps(y), 1e-7), "y={y}: {} vs {}", k.crps(y), e.crps(y));
        }
    }

    #[test]
    fn invalid_knots_are_refused() {
        assert!(QuantileKnots::new(1.0, &[(0.5, 0.5)], 2.0).is_none()); // q below min
        assert!(QuantileKnots::new(0.0, &[(0.5, 1.0), (0.4, 1.5)], 2.0).is_none()); // levels not increasing
        assert!(QuantileKnots::new(0.0, &[(0.5, f64::NAN)], 2.0).is_none());
    }
}
