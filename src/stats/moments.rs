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

/// Cells updated together by [`MomentBlock::add_columns`], then groups of
/// 8, 4 and single cells for the rest of a row (92 = 5 x 16 + 8 + 4 in the
/// baseline). Sixteen independent update chains keep the floating-point
/// units busy where eight left them waiting on the latency of each chain;
/// single cells for the rest are slow, hence the smaller groups (perf: the
/// moments' share 11.8% -> 8.8%; see docs/performance.md).
const LANES: usize = 16;

/// Welford updates of `L` neighbouring cells (starting at column `first`)
/// over the rows of a block, in row order.
#[inline(always)]
fn update_lanes<const L: usize>(cells: &mut [CellMoments], rows: &[f64], stride: usize, first: usize, inv_n: &[f64]) {
    let mut mean = [0.0; L];
    let mut m2 = [0.0; L];
    let mut min = [0.0; L];
    let mut max = [0.0; L];
    for j in 0..L {
        (mean[j], m2[j], min[j], max[j]) = (cells[j].mean, cells[j].m2, cells[j].min, cells[j].max);
    }
    for (r, &inv) in inv_n.iter().enumerate() {
        let row = &rows[r * stride + first..r * stride + first + L];
        for j in 0..L {
            let x = row[j];
            let delta = x - mean[j];
            mean[j] += delta * inv;
            m2[j] += delta * (x - mean[j]);
            min[j] = min[j].min(x);
            max[j] = max[j].max(x);
        }
    }
    for j in 0..L {
        cells[j] = CellMoments { mean: mean[j], m2: m2[j], min: min[j], max: max[j] };
    }
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
        self.add_rows(row, 1);
    }

    /// Add `count` observations of every cell, given row after row in
    /// `rows` (`count x cells` values). Each cell is updated in row order,
    /// exactly as `count` calls of [`MomentBlock::add_row`] would (same
    /// bits), but cell by cell, so each cell's state is loaded once per
    /// block instead of once per row.
    pub fn add_rows(&mut self, rows: &[f64], count: usize) {
        let weights = self.next_run_weights(count);
        self.add_columns(0, rows, &weights);
        self.add_runs(count);
    }

    /// The Welford weights `1 / (n + i)` of the next `count` runs,
    /// i = 1..=count: the same for every cell, so a caller that folds the
    /// same runs in several calls of [`MomentBlock::add_columns`] computes
    /// them once.
    pub fn next_run_weights(&self, count: usize) -> Vec<f64> {
        (1..=count as u64).map(|i| 1.0 / (self.n + i) as f64).collect()
    }

    /// Add the next `weights.len()` observations of the cells `first..first
    /// + w`, given row after row in `rows` (`weights.len() x w` values), as
    /// runs `n + 1 ..= n + weights.len()` with `weights` from
    /// [`MomentBlock::next_run_weights`]. Leaves `n` alone: once every cell
    /// has its new observations, call [`MomentBlock::add_runs`]. The bits
    /// are those of [`MomentBlock::add_rows`] on whole rows.
    pub fn add_columns(&mut self, first: usize, rows: &[f64], weights: &[f64]) {
        let count = weights.len();
        if count == 0 {
            return;
        }
        let width = rows.len() / count;
        assert_eq!(rows.len(), width * count, "rows must hold count x width values");
        let cells = &mut self.cells[first..first + width];
        // Groups of neighbouring cells are updated together: their update
        // chains are independent, so they pipeline (and vectorise), and
        // each row contributes one contiguous load per group. A cell's own
        // sequence of operations, and so its bits, is the same in any group.
        let mut start = 0;
        while start + LANES <= width {
            update_lanes::<LANES>(&mut cells[start..start + LANES], rows, width, start, weights);
            start += LANES;
        }
        if start + 8 <= width {
            update_lanes::<8>(&mut cells[start..start + 8], rows, width, start, weights);
            start += 8;
        }
        if start + 4 <= width {
            update_lanes::<4>(&mut cells[start..start + 4], rows, width, start, weights);
            start += 4;
        }
        for i in start..width {
            update_lanes::<1>(&mut cells[i..=i], rows, width, i, weights);
        }
    }

    /// Count `count` more runs, after [`MomentBlock::add_columns`] gave
    /// every cell its observations of them.
    pub fn add_runs(&mut self, count: usize) {
        self.n += count as u64;
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
    fn block_updates_equal_row_updates_bit_for_bit() {
        let rows: Vec<f64> = (0..3 * 7).map(|i| ((i * 37) % 11) as f64 * 0.3 - 1.0).collect();
        let mut one_by_one = MomentBlock::new(3);
        rows.chunks(3).for_each(|r| one_by_one.add_row(r));
        let mut blocked = MomentBlock::new(3);
        blocked.add_rows(&rows[..9], 3);
        blocked.add_rows(&rows[9..], 4);
        assert_eq!(blocked, one_by_one);
        // Column slices of the same rows, as the engine folds them step by step.
        let mut by_columns = MomentBlock::new(3);
        for (first, count) in [(0, 3), (3, 4)] {
            let block = &rows[first * 3..(first + count) * 3];
            let left: Vec<f64> = block.chunks(3).flat_map(|r| r[..2].to_vec()).collect();
            let right: Vec<f64> = block.chunks(3).map(|r| r[2]).collect();
            let weights = by_columns.next_run_weights(count);
            by_columns.add_columns(2, &right, &weights);
            by_columns.add_columns(0, &left, &weights);
            by_columns.add_runs(count);
        }
        assert_eq!(by_columns, one_by_one);
    }

    /// Every group size (16, 8, 4 and single cells: 31 = 16 + 8 + 4 + 3)
    /// gives each cell the bits of a plain Welford loop over its values.
    #[test]
    fn grouped_cells_have_the_bits_of_a_plain_welford_loop() {
        let (cells, count) = (31, 70);
        let rows: Vec<f64> = (0..cells * count).map(|i| ((i * 7919) % 1009) as f64 * 0.013 - 3.0).collect();
        let mut block = MomentBlock::new(cells);
        block.add_rows(&rows[..cells * 64], 64);
        block.add_rows(&rows[cells * 64..], count - 64);
        for c in 0..cells {
            let (mut mean, mut m2, mut min, mut max) = (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            for r in 0..count {
                let x = rows[r * cells + c];
                let delta = x - mean;
                mean += delta * (1.0 / (r + 1) as f64);
                m2 += delta * (x - mean);
                (min, max) = (min.min(x), max.max(x));
            }
            let got = block.cells[c];
            assert_eq!((got.mean.to_bits(), got.m2.to_bits()), (mean.to_bits(), m2.to_bits()), "cell {c}");
            assert_eq!((got.min, got.max), (min, max), "cell {c}");
        }
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
