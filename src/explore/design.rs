//! Experimental designs: the points at which the model is run.
//!
//! Every design is a pure function of its sizes and a `u64` seed (random
//! draws come from Xoshiro256++ streams keyed by the design's name), so the
//! same experiment file always gives the same points. Random designs are
//! built on the unit cube [0, 1)^k and mapped to the parameters' ranges by
//! [`scale_point`]; the full factorial is built directly on given levels.
//!
//! - [`full_factorial`]: every combination of given levels, the first
//!   parameter varying slowest (as `itertools.product` and EMA Workbench).
//! - [`latin_hypercube`]: McKay, Beckman and Conover (1979): one point per
//!   stratum of width 1/n in every dimension, uniform within its stratum,
//!   strata matched by an independent random permutation per dimension.
//! - [`saltelli`]: the Sobol'/Saltelli design exactly as SALib 1.6
//!   `SALib.sample.sobol.sample` lays it out (see its doc).
//! - [`morris`]: Morris (1991) one-at-a-time trajectories as SALib 1.6
//!   `SALib.sample.morris.sample` builds them (without optimal-trajectory
//!   selection).

use rand::RngExt;
use rand::seq::SliceRandom;

use super::sobol_seq::{SobolError, SobolSeq, balance_warning};
use crate::model::rng::{stream, stream_key};

/// How a unit coordinate maps to a parameter's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// `low + u (high - low)`.
    #[default]
    Uniform,
    /// Uniform on the log scale: `exp(ln low + u (ln high - ln low))`;
    /// needs `0 < low`.
    Log,
}

/// A unit coordinate `u` in [0, 1] mapped to [low, high] on `scale`. The
/// uniform case computes `u (high - low) + low`, in SALib's order of
/// operations (`scale_samples`), so scaled designs agree bit for bit.
pub fn scale_value(u: f64, low: f64, high: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Uniform => u * (high - low) + low,
        Scale::Log => {
            let (a, b) = (low.ln(), high.ln());
            (u * (b - a) + a).exp().clamp(low, high)
        }
    }
}

/// The inverse of [`scale_value`]: where `x` lies in [low, high] on `scale`,
/// as a fraction in [0, 1].
pub fn unscale_value(x: f64, low: f64, high: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Uniform => (x - low) / (high - low),
        Scale::Log => (x.ln() - low.ln()) / (high.ln() - low.ln()),
    }
}

/// One parameter's range, as the designs need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    pub high: f64,
    pub scale: Scale,
}

/// A unit-cube point mapped to the parameters' ranges.
pub fn scale_point(unit: &[f64], ranges: &[Range]) -> Vec<f64> {
    unit.iter().zip(ranges).map(|(&u, r)| scale_value(u, r.low, r.high, r.scale)).collect()
}

/// Every point of a unit design mapped to the parameters' ranges.
pub fn scale_points(unit: &[Vec<f64>], ranges: &[Range]) -> Vec<Vec<f64>> {
    unit.iter().map(|p| scale_point(p, ranges)).collect()
}

/// `n` evenly spaced levels over [low, high] on `scale`, both ends
/// included (one level: the midpoint).
pub fn even_levels(n: usize, range: Range) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![scale_value(0.5, range.low, range.high, range.scale)],
        _ => (0..n).map(|i| scale_value(i as f64 / (n - 1) as f64, range.low, range.high, range.scale)).collect(),
    }
}

/// The number of points of a full factorial with these numbers of levels,
/// or `None` on overflow.
pub fn factorial_size(counts: impl IntoIterator<Item = usize>) -> Option<usize> {
    counts.into_iter().try_fold(1usize, |acc, n| acc.checked_mul(n))
}

/// Every combination of the given levels, the first parameter varying
/// slowest. Empty when any parameter has no level.
pub fn full_factorial(levels: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let total = factorial_size(levels.iter().map(Vec::len)).unwrap_or(0);
    (0..total)
        .map(|mut index| {
            let mut point = vec![0.0; levels.len()];
            for (slot, l) in point.iter_mut().zip(levels).rev() {
                *slot = l[index % l.len()];
                index /= l.len();
            }
            point
        })
        .collect()
}

/// A Latin hypercube of `n` points in [0, 1)^k from `seed`.
pub fn latin_hypercube(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = stream(seed, 0, stream_key("explore", "lhs"));
    let mut points = vec![vec![0.0; k]; n];
    let mut strata: Vec<usize> = (0..n).collect();
    for j in 0..k {
        strata.shuffle(&mut rng);
        for (point, &s) in points.iter_mut().zip(&strata) {
            let u: f64 = rng.random();
            point[j] = (s as f64 + u) / n as f64;
        }
    }
    points
}

/// A unit design with the warnings met while building it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitDesign {
    /// Rows of k coordinates in [0, 1].
    pub points: Vec<Vec<f64>>,
    pub warnings: Vec<String>,
}

/// The number of rows of a Saltelli design: N (k + 2), or N (2k + 2) with
/// second-order indices.
pub fn saltelli_size(n: usize, k: usize, second_order: bool) -> Option<usize> {
    let blocks = if second_order { k.checked_mul(2)?.checked_add(2)? } else { k.checked_add(2)? };
    n.checked_mul(blocks)
}

/// The Sobol'/Saltelli design of SALib 1.6 `sobol.sample(problem, n,
/// calc_second_order, scramble)`.
///
/// N base rows are drawn from a Sobol' sequence of dimension 2k; the first k
/// columns form matrix A, the last k matrix B. For each base row the design
/// holds, in order: A; AB_1..AB_k (A with column j taken from B); when
/// `second_order`, BA_1..BA_k (B with column j taken from A); then B. With
/// `scramble_seed = None` the base rows are SciPy's unscrambled sequence
/// (first row the origin), so the design equals SALib's with
/// `scramble=False`; with a seed they come from [`SobolSeq::scrambled`]. A
/// warning is returned when `n` is not a power of two, as SciPy warns.
pub fn saltelli(n: usize, k: usize, second_order: bool, scramble_seed: Option<u64>) -> Result<UnitDesign, SobolError> {
    let mut seq = match scramble_seed {
        None => SobolSeq::new(2 * k)?,
        Some(seed) => SobolSeq::scrambled(2 * k, seed)?,
    };
    let base = seq.draw(n)?;
    let mut points = Vec::with_capacity(saltelli_size(n, k, second_order).unwrap_or(0));
    for row in &base {
        let (a, b) = row.split_at(k);
        points.push(a.to_vec());
        for j in 0..k {
            let mut ab = a.to_vec();
            ab[j] = b[j];
            points.push(ab);
        }
        if second_order {
            for j in 0..k {
                let mut ba = b.to_vec();
                ba[j] = a[j];
                points.push(ba);
            }
        }
        points.push(b.to_vec());
    }
    Ok(UnitDesign { points, warnings: balance_warning(n).into_iter().collect() })
}

/// Morris's step for `p` levels: Δ = p / (2 (p - 1)).
pub fn morris_delta(p: usize) -> f64 {
    p as f64 / (2.0 * (p as f64 - 1.0))
}

/// `r` Morris trajectories of k + 1 points each on a grid of `p` levels,
/// from `seed`, as SALib 1.6 `morris.sample(problem, r, num_levels=p)`
/// builds them (`_generate_trajectory`, without groups or optimisation).
///
/// Each trajectory starts at a base point x* whose coordinates are drawn
/// from {0, 1/(p-1), ..., 1 - Δ} (the lower half of the grid); the factors
/// are moved one at a time in a random order, each by Δ, upwards from x*_j
/// or downwards from x*_j + Δ with equal probability. Points are rows in
/// trajectory order; `p` must be at least 2 (an odd `p` gives a warning, as
/// in SALib).
pub fn morris(r: usize, k: usize, p: usize, seed: u64) -> UnitDesign {
    let mut warnings = Vec::new();
    if p % 2 == 1 {
        warnings.push(format!("Morris levels should be an even number (p = {p}); the sample may be biased"));
    }
    let delta = morris_delta(p);
    let starts: Vec<f64> = {
        let m = p / 2;
        if m <= 1 { vec![0.0] } else { (0..m).map(|i| i as f64 * (1.0 - delta) / (m - 1) as f64).collect() }
    };
    let mut rng = stream(seed, 0, stream_key("explore", "morris"));
    let mut points = Vec::with_capacity(r * (k + 1));
    let mut order: Vec<usize> = (0..k).collect();
    for _ in 0..r {
        let base: Vec<f64> = (0..k).map(|_| starts[rng.random_range(0..starts.len())]).collect();
        let up: Vec<bool> = (0..k).map(|_| rng.random::<bool>()).collect();
        order.shuffle(&mut rng);
        let mut point: Vec<f64> = base.iter().zip(&up).map(|(&x, &up)| if up { x } else { x + delta }).collect();
        points.push(point.clone());
        for &j in &order {
            point[j] = if up[j] { base[j] + delta } else { base[j] };
            points.push(point.clone());
        }
    }
    UnitDesign { points, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factorial_enumerates_every_combination_first_slowest() {
        let points = full_factorial(&[vec![1.0, 2.0], vec![10.0, 20.0, 30.0]]);
        assert_eq!(
            points,
            vec![vec![1.0, 10.0], vec![1.0, 20.0], vec![1.0, 30.0], vec![2.0, 10.0], vec![2.0, 20.0], vec![2.0, 30.0]]
        );
        assert!(full_factorial(&[vec![1.0], vec![]]).is_empty());
        assert_eq!(factorial_size([1 << 40, 1 << 40]), None);
        assert_eq!(factorial_size([2, 3]), Some(6));
    }

    #[test]
    fn even_levels_include_both_ends() {
        let r = Range { low: 1.0, high: 100.0, scale: Scale::Log };
        let l = even_levels(3, r);
        assert!((l[0] - 1.0).abs() < 1e-12 && (l[1] - 10.0).abs() < 1e-9 && (l[2] - 100.0).abs() < 1e-9);
        let u = even_levels(5, Range { low: 0.0, high: 1.0, scale: Scale::Uniform });
        assert_eq!(u, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn latin_hypercube_has_one_point_per_stratum() {
        let n = 50;
        let points = latin_hypercube(n, 4, 11);
        assert_eq!(points.len(), n);
        for j in 0..4 {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[j] * n as f64) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(points, latin_hypercube(n, 4, 11));
        assert_ne!(points, latin_hypercube(n, 4, 12));
    }

    #[test]
    fn saltelli_blocks_follow_salib_layout() {
        let k = 3;
        let d = saltelli(8, k, true, None).unwrap();
        assert_eq!(d.points.len(), 8 * (2 * k + 2));
        assert!(d.warnings.is_empty());
        let base = SobolSeq::new(2 * k).unwrap().draw(8).unwrap();
        for (i, row) in base.iter().enumerate() {
            let block = &d.points[i * (2 * k + 2)..(i + 1) * (2 * k + 2)];
            let (a, b) = row.split_at(k);
            assert_eq!(block[0], a);
            assert_eq!(block[2 * k + 1], b);
            for j in 0..k {
                for m in 0..k {
                    assert_eq!(block[1 + j][m], if m == j { b[m] } else { a[m] });
                    assert_eq!(block[1 + k + j][m], if m == j { a[m] } else { b[m] });
                }
            }
        }
        let first = saltelli(6, k, false, Some(3)).unwrap();
        assert_eq!(first.points.len(), 6 * (k + 2));
        assert_eq!(first.warnings.len(), 1);
        assert_eq!(saltelli_size(6, k, false), Some(30));
    }

    #[test]
    fn morris_trajectories_move_one_factor_by_delta() {
        let (r, k, p) = (20, 5, 4);
        let d = morris(r, k, p, 5);
        assert_eq!(d.points.len(), r * (k + 1));
        let delta = morris_delta(p);
        let grid: Vec<f64> = (0..p).map(|i| i as f64 / (p - 1) as f64).collect();
        for t in d.points.chunks(k + 1) {
            let mut moved = vec![false; k];
            for w in t.windows(2) {
                let changed: Vec<usize> = (0..k).filter(|&j| w[0][j] != w[1][j]).collect();
                assert_eq!(changed.len(), 1);
                let j = changed[0];
                assert!(((w[1][j] - w[0][j]).abs() - delta).abs() < 1e-12);
                assert!(!moved[j]);
                moved[j] = true;
            }
            for x in t.iter().flatten() {
                assert!(grid.iter().any(|g| (g - x).abs() < 1e-12), "{x} is off the grid");
            }
        }
        assert!(morris(2, 2, 5, 1).warnings.len() == 1);
    }

    #[test]
    fn scaling_round_trips() {
        for scale in [Scale::Uniform, Scale::Log] {
            for u in [0.0, 0.3, 1.0] {
                let x = scale_value(u, 0.02, 0.3, scale);
                assert!((0.02..=0.3).contains(&x));
                assert!((unscale_value(x, 0.02, 0.3, scale) - u).abs() < 1e-12);
            }
        }
    }
}
