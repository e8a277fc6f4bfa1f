//! Test functions of global sensitivity analysis with known indices, used
//! to check the estimators (and available to benches and examples).
//!
//! - Ishigami and Homma (1990): f(x) = sin x1 + a sin^2 x2 + b x3^4 sin x1
//!   on [-pi, pi]^3.
//! - Sobol's G function (Saltelli and Sobol' 1995): f(x) = prod_i
//!   (|4 x_i - 2| + a_i) / (1 + a_i) on [0, 1]^k, with analytic indices.

/// The Ishigami function at `x` (three coordinates).
pub fn ishigami(x: &[f64], a: f64, b: f64) -> f64 {
    x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
}

/// Analytic first- and total-order indices of the Ishigami function.
pub fn ishigami_indices(a: f64, b: f64) -> ([f64; 3], [f64; 3]) {
    let pi4 = std::f64::consts::PI.powi(4);
    let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * pi4 * pi4 * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
}

/// Sobol's G function at `x` with coefficients `a` (one per coordinate).
pub fn g_function(x: &[f64], a: &[f64]) -> f64 {
    x.iter().zip(a).map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a)).product()
}

/// Analytic first- and total-order indices of the G function.
pub fn g_function_indices(a: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = a.iter().map(|a| 1.0 / (3.0 * (1.0 + a).powi(2))).collect();
    let total: f64 = vi.iter().map(|v| 1.0 + v).product::<f64>() - 1.0;
    let s1 = vi.iter().map(|v| v / total).collect();
    let st = vi.iter().map(|v| v * vi.iter().map(|w| 1.0 + w).product::<f64>() / (1.0 + v) / total).collect();
    (s1, st)
}

/// SALib 1.6 on Ishigami (a = 7, b = 0.1), N = 1024 unscrambled, second
/// order: (S1, ST, [(j, k, S2_jk)]), printed by scripts/salib-reference.py.
#[cfg(test)]
#[allow(clippy::type_complexity)]
pub(crate) const SALIB_ISHIGAMI_S2_N1024: ([f64; 3], [f64; 3], [(usize, usize, f64); 3]) = (
    [0.33295510535317324, 0.4413139385440669, 0.018578437929572516],
    [0.5581790457114659, 0.4432845840303481, 0.2421493733549653],
    [(0, 1, -4.955281413510093e-05), (0, 2, 0.22760710553788024), (1, 2, 0.0048765516488903544)],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ishigami_indices_match_the_published_values() {
        let (s1, st) = ishigami_indices(7.0, 0.1);
        for (got, want) in s1.iter().zip([0.3139, 0.4424, 0.0]).chain(st.iter().zip([0.5576, 0.4424, 0.2437])) {
            assert!((got - want).abs() < 5e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn g_function_indices_sum_sensibly() {
        let (s1, st) = g_function_indices(&[0.0, 1.0, 9.0, 99.0]);
        assert!(s1.iter().sum::<f64>() < 1.0);
        assert!(s1.iter().zip(&st).all(|(s, t)| s <= t));
        assert!((g_function(&[0.5; 4], &[0.0, 1.0, 9.0, 99.0]) - 0.0).abs() < 1e-12);
    }
}
