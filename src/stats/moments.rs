//! Mergeable moments: count, mean, sum of squared deviations, min, max.
//!
//! Values are added with Welford's update (Welford 1962) and partial results
//! are combined with the pairwise formula of Chan, Golub & LeVeque (1979):
//! `delta = mean_b - mean_a`, `mean = mean_a + delta n_b / n`,
//! `M2 = M2_a + M2_b + delta^2 n_a n_b / n`. Floating-point merging is not
//! associative, so the engine always combines partials in one fixed tree
//! (see `engine::tree`); the empty block is an exact identity.
//!
//! Every run records every cell, so the count `n` is shared by all cells of
//! a block, which keeps a cell at 32 bytes and lets a whole row be added
//! with one reciprocal.

/// Moments of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellMoments {
    pub mean: f64,
    pub m2: f64,
    pub min: f64,
    pub max: f64,
}

impl CellMoments {
    pub const EMPTY: CellMoments = CellMoments { mean: 0.0, m2: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY };
}

/// Moments of many cells over the same runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentBlock {
    pub n: u64,
    pub cells: Vec<CellMoments>,
}

impl MomentBlock {
    pub fn new(cells: usize) -> Self {
        Self { n: 0, cells: vec![CellMoments::EMPTY; cells] }
    }

    /// Add one observation of every cell.
    pub fn add_row(&mut self, row: &[f64]) {
        debug_assert_eq!(row.len(), self.cells.len());
        self.n += 1;
        let inv_n = 1.0 / self.n as f64;
        for (c, &x) in self.cells.iter_mut().zip(row) {
            let delta = x - c.mean;
            c.mean += delta * inv_n;
            c.m2 += delta * (x - c.mean);
            c.min = c.min.min(x);
            c.max = c.max.max(x);
        }
    }

    /// Combine two blocks (`self` first). Exact identity for an empty side.
    pub fn merge(&self, other: &MomentBlock) -> MomentBlock {
        let mut out = self.clone();
        out.absorb(other);
        out
    }

    /// `self = merge(self, other)`, in place.
    pub fn absorb(&mut self, other: &MomentBlock) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            self.clone_from(other);
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let (wb, wab) = (nb / n, na * nb / n);
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            let delta = b.mean - a.mean;
            a.mean += delta * wb;
            a.m2 = a.m2 + b.m2 + delta * delta * wab;
            a.min = a.min.min(b.min);
            a.max = a.max.max(b.max);
        }
        self.n += other.n;
    }

    /// Sample variance of a cell (n - 1 denominator); `None` for n < 2.
    pub fn variance(&self, cell: usize) -> Option<f64> {
        (self.n >= 2).then(|| (self.cells[cell].m2 / (self.n - 1) as f64).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass_statistics_and_merges() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1013) as f64 / 17.0 + 1e6).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        let mut whole = MomentBlock::new(1);
        let (mut left, mut right) = (MomentBlock::new(1), MomentBlock::new(1));
        for (i, &x) in xs.iter().enumerate() {
            whole.add_row(&[x]);
            if i < 300 { left.add_row(&[x]) } else { right.add_row(&[x]) }
        }
        let merged = left.merge(&right);
        for block in [&whole, &merged] {
            assert!((block.cells[0].mean - mean).abs() < 1e-9);
            assert!((block.variance(0).unwrap() / var - 1.0).abs() < 1e-9);
        }
        assert_eq!(merged.cells[0].min, whole.cells[0].min);
        assert_eq!(merged.n, 1000);
    }

    #[test]
    fn empty_is_an_exact_identity() {
        let mut a = MomentBlock::new(2);
        a.add_row(&[-0.0, 3.5]);
        a.add_row(&[1.0, 2.5]);
        assert_eq!(a.merge(&MomentBlock::new(2)), a);
        assert_eq!(MomentBlock::new(2).merge(&a), a);
        assert_eq!(a.variance(0), Some(0.5));
        assert_eq!(MomentBlock::new(1).variance(0), None);
    }
}
