//! A mergeable quantile sketch with a guaranteed relative error: a
//! log-linear histogram over the bits of an `f64`.
//!
//! A positive double's bit pattern is monotone in its value; keeping the
//! exponent and the top [`MANTISSA_BITS`] bits of the mantissa splits every
//! binade [2^e, 2^(e+1)) into 2^MANTISSA_BITS equal buckets, so a bucket
//! `[lo, hi)` has `(hi - lo) / lo <= 2^-MANTISSA_BITS`. Reporting the bucket
//! midpoint bounds the relative error of a quantile *value* by
//! 2^-(MANTISSA_BITS+1) (about 0.2% here), the same guarantee as DDSketch
//! (Masson, Rim & Lee, VLDB 2019) with an index computed by a shift instead
//! of a logarithm (as in HdrHistogram). Zero has its own count, negatives
//! mirror positives. The rank used is the lower empirical quantile:
//! the smallest value with at least `ceil(q n)` observations at or below it.
//!
//! Counts are integers, so merging is exact, associative and commutative:
//! any split of the runs over threads, chunks or machines gives the same
//! sketch. Memory grows with the *range* of a cell's values (4 bytes per
//! occupied bucket span), not with the number of runs.

use std::collections::HashMap;

/// Mantissa bits kept: 2^8 = 256 buckets per binade.
pub const MANTISSA_BITS: u32 = 8;
const SHIFT: u32 = 52 - MANTISSA_BITS;

/// Guaranteed bound on the relative error of a reported quantile value
/// (before clamping to the exact min and max, which can only reduce it).
pub const RELATIVE_ERROR: f64 = 1.0 / (1u64 << (MANTISSA_BITS + 1)) as f64;

/// A dense run of bucket counts starting at `offset` (may carry zero
/// padding at either end; equality ignores it).
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    pub offset: u32,
    pub counts: Vec<u32>,
}

impl Buckets {
    /// The non-zero span: (offset of the first non-zero bucket, counts up to the last non-zero one).
    fn trimmed(&self) -> (u32, &[u32]) {
        match (self.counts.iter().position(|&c| c > 0), self.counts.iter().rposition(|&c| c > 0)) {
            (Some(a), Some(b)) => (self.offset + a as u32, &self.counts[a..=b]),
            _ => (0, &[]),
        }
    }

    #[inline]
    fn add(&mut self, index: u32, count: u32) {
        let i = index.wrapping_sub(self.offset) as usize;
        if let Some(slot) = self.counts.get_mut(i) {
            *slot += count;
        } else {
            grow_span(&mut self.offset, &mut self.counts, index);
            self.counts[(index - self.offset) as usize] += count;
        }
    }

    /// Set every count to zero, keeping the allocated range.
    pub fn clear(&mut self) {
        self.counts.fill(0);
    }

    fn merge(&mut self, other: &Buckets) {
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                self.add(other.offset + i as u32, c);
            }
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }
}

/// Grow the span of `counts` starting at `offset` to include `index`, with
/// some slack on the growing side, so that a drifting distribution does
/// not regrow at every value. New buckets are zero. Only memory depends on
/// the slack, never a count.
#[cold]
fn grow_span<T: Clone + Default>(offset: &mut u32, counts: &mut Vec<T>, index: u32) {
    if counts.is_empty() {
        *offset = index;
        counts.push(T::default());
        return;
    }
    let slack = (counts.len() / 4).max(8) as u32;
    if index < *offset {
        let new_offset = index.saturating_sub(slack);
        counts.splice(0..0, std::iter::repeat_n(T::default(), (*offset - new_offset) as usize));
        *offset = new_offset;
    } else {
        let end = (u64::from(index) + u64::from(slack)).min(u64::from(u32::MAX)) as u32;
        counts.resize((end - *offset) as usize + 1, T::default());
    }
}

impl PartialEq for Buckets {
    fn eq(&self, other: &Self) -> bool {
        self.trimmed() == other.trimmed()
    }
}

impl Eq for Buckets {}

/// Sketch of one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    pub zeros: u64,
    pub positive: Buckets,
    pub negative: Buckets,
}

#[inline]
fn bucket_of(magnitude: f64) -> u32 {
    (magnitude.to_bits() >> SHIFT) as u32
}

/// Midpoint of a bucket.
fn bucket_value(index: u32) -> f64 {
    let lo = f64::from_bits(u64::from(index) << SHIFT);
    let hi = f64::from_bits(u64::from(index + 1) << SHIFT);
    if hi.is_finite() { lo + (hi - lo) / 2.0 } else { lo }
}

impl Sketch {
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x > 0.0 {
            self.positive.add(bucket_of(x), 1);
        } else if x < 0.0 {
            self.negative.add(bucket_of(-x), 1);
        } else {
            self.zeros += 1;
        }
    }

    /// Set every count to zero, keeping the allocated ranges.
    pub fn clear(&mut self) {
        self.zeros = 0;
        self.positive.clear();
        self.negative.clear();
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.zeros += other.zeros;
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    pub fn count(&self) -> u64 {
        self.zeros + self.positive.total() + self.negative.total()
    }

    /// The lower empirical `q`-quantile, to within [`RELATIVE_ERROR`];
    /// `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        // Negatives from the most negative (largest magnitude) upwards.
        for (i, &c) in self.negative.counts.iter().enumerate().rev() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(-bucket_value(self.negative.offset + i as u32));
            }
        }
        seen += self.zeros;
        if seen >= rank {
            return Some(0.0);
        }
        for (i, &c) in self.positive.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(bucket_value(self.positive.offset + i as u32));
            }
        }
        None
    }
}

/// A worker's counts of one side of one cell, between flushes into a
/// [`Sketch`]: the same buckets, but one byte per bucket.
///
/// The thousands of cells of a run each touch a few cache lines of their
/// histogram. Bytes make those lines four times denser than `u32` counts
/// and a worker's histograms a quarter of the memory (peak RSS at 200,000
/// baseline runs: 113 -> 86 MB). A byte that overflows hands its carry (in
/// units of 256) to the caller, which keeps the rare carries elsewhere (see
/// [`TallySet`]), so they take no room in the hot lines. Counts are exact
/// integers either way: results do not change.
#[derive(Debug, Clone, Default)]
struct ByteBuckets {
    offset: u32,
    low: Vec<u8>,
}

impl ByteBuckets {
    /// Add `count` to bucket `index`; returns the carry (units of 256), usually 0.
    #[inline]
    fn add(&mut self, index: u32, count: u32) -> u32 {
        let mut i = index.wrapping_sub(self.offset) as usize;
        if i >= self.low.len() {
            grow_span(&mut self.offset, &mut self.low, index);
            i = (index - self.offset) as usize;
        }
        let sum = u64::from(self.low[i]) + u64::from(count);
        self.low[i] = sum as u8;
        (sum >> 8) as u32
    }

    /// Add every byte count to `into`.
    fn drain_into(&self, into: &mut Buckets) {
        for (i, &low) in self.low.iter().enumerate() {
            if low > 0 {
                into.add(self.offset + i as u32, u32::from(low));
            }
        }
    }
}

/// A worker's counts of one cell; see [`ByteBuckets`].
#[derive(Debug, Clone, Default)]
struct Tally {
    zeros: u64,
    positive: ByteBuckets,
    negative: ByteBuckets,
}

/// Key of a carried bucket in [`TallySet::carries`].
fn carry_key(cell: usize, negative: bool, index: u32) -> u64 {
    ((cell as u64) << 33) | (u64::from(negative) << 32) | u64::from(index)
}

impl Tally {
    /// Count values of cell `cell`, one by one: a predictable branch on the
    /// sign, a byte increment, and a carry (rarely) or growth (more rarely).
    /// Grouping equal neighbours first (run-length) and a separate
    /// branch-free range pass were both measured slower.
    #[inline]
    fn add_each(&mut self, values: impl Iterator<Item = f64>, cell: usize, carries: &mut HashMap<u64, u64>) {
        for x in values {
            let (negative, side, magnitude) = if x > 0.0 {
                (false, &mut self.positive, x)
            } else if x < 0.0 {
                (true, &mut self.negative, -x)
            } else {
                self.zeros += 1;
                continue;
            };
            let index = bucket_of(magnitude);
            let units = side.add(index, 1);
            if units > 0 {
                *carries.entry(carry_key(cell, negative, index)).or_insert(0) += u64::from(units);
            }
        }
    }
}

/// One [`Tally`] per cell: a worker's quantile counts between flushes,
/// with the carries of all byte counters in one map (one entry per bucket
/// that passed 255, touched once per 256 values of that bucket).
#[derive(Debug, Clone)]
pub struct TallySet {
    tallies: Vec<Tally>,
    carries: HashMap<u64, u64>,
}

impl TallySet {
    pub fn new(cells: usize) -> Self {
        Self { tallies: vec![Tally::default(); cells], carries: HashMap::new() }
    }

    /// Add `count` rows of values (`count x cells`, row after row), cell by
    /// cell, so that each cell's histogram is touched once per block and
    /// stays in cache while its values are counted.
    pub fn add_rows(&mut self, rows: &[f64], count: usize) {
        assert_eq!(rows.len(), self.tallies.len() * count, "rows must hold count x cells values");
        self.add_columns(0, rows, count);
    }

    /// Add `count` rows of values of the cells `first..first + w` (`count x
    /// w` values, row after row), cell by cell.
    pub fn add_columns(&mut self, first: usize, rows: &[f64], count: usize) {
        if count == 0 {
            return;
        }
        let width = rows.len() / count;
        assert_eq!(rows.len(), width * count, "rows must hold count x width values");
        for (i, t) in self.tallies[first..first + width].iter_mut().enumerate() {
            t.add_each((0..count).map(|r| rows[r * width + i]), first + i, &mut self.carries);
        }
    }

    /// Set every count to zero, keeping the allocated ranges.
    pub fn clear(&mut self) {
        for t in &mut self.tallies {
            t.zeros = 0;
            t.positive.low.fill(0);
            t.negative.low.fill(0);
        }
        self.carries.clear();
    }
}

/// One sketch per cell, e.g. per step x metric x subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchSet {
    pub sketches: Vec<Sketch>,
}

impl SketchSet {
    pub fn new(cells: usize) -> Self {
        Self { sketches: vec![Sketch::default(); cells] }
    }

    /// Add one value per cell.
    pub fn add_row(&mut self, row: &[f64]) {
        for (s, &x) in self.sketches.iter_mut().zip(row) {
            s.add(x);
        }
    }

    /// Add the counts of a worker's tallies (one per cell).
    pub fn absorb(&mut self, tallies: &TallySet) {
        for (s, t) in self.sketches.iter_mut().zip(&tallies.tallies) {
            s.zeros += t.zeros;
            t.positive.drain_into(&mut s.positive);
            t.negative.drain_into(&mut s.negative);
        }
        for (&key, &units) in &tallies.carries {
            let s = &mut self.sketches[(key >> 33) as usize];
            let side = if key & (1 << 32) != 0 { &mut s.negative } else { &mut s.positive };
            // A batch has at most MAX_RUNS (< 2^32) values per cell.
            side.add(key as u32, u32::try_from(units * 256).unwrap_or(u32::MAX));
        }
    }

    pub fn merge(&mut self, other: &SketchSet) {
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
            a.merge(b);
        }
    }

    /// Set every count to zero, keeping the allocated ranges.
    pub fn clear(&mut self) {
        self.sketches.iter_mut().for_each(Sketch::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_lower_quantile(sorted: &[f64], q: f64) -> f64 {
        let n = sorted.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        sorted[rank - 1]
    }

    #[test]
    fn quantiles_are_within_the_documented_relative_error() {
        // A skewed, signed sample with zeros.
        let mut xs: Vec<f64> = (0..20_000)
            .map(|i| {
                let u = (i as f64 + 0.5) / 20_000.0;
                if i % 97 == 0 { 0.0 } else { (u * 12.0 - 3.0).exp() * if i % 5 == 0 { -1.0 } else { 1.0 } }
            })
            .collect();
        let mut sketch = Sketch::default();
        xs.iter().for_each(|&x| sketch.add(x));
        xs.sort_by(f64::total_cmp);
        for q in [0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999] {
            let exact = exact_lower_quantile(&xs, q);
            let approx = sketch.quantile(q).unwrap();
            let err = if exact == 0.0 { approx.abs() } else { ((approx - exact) / exact).abs() };
            assert!(err <= RELATIVE_ERROR, "q={q}: exact {exact}, sketch {approx}, rel err {err}");
        }
    }

    #[test]
    fn merge_is_exact_in_any_order() {
        let xs: Vec<f64> = (1..5000).map(|i| (i as f64).sqrt() * 0.37).collect();
        let mut whole = Sketch::default();
        xs.iter().for_each(|&x| whole.add(x));
        let mut tally = TallySet::new(1);
        let values: Vec<f64> = xs.iter().copied().chain([0.0, -1.0, 0.37, 0.37]).collect();
        tally.add_rows(&values, values.len());
        tally.add_rows(&[], 0);
        let mut batched = SketchSet::new(1);
        batched.absorb(&tally);
        let mut expected = whole.clone();
        [0.0, -1.0, 0.37, 0.37].iter().for_each(|&x| expected.add(x));
        assert_eq!(batched.sketches[0], expected);
        let mut parts: Vec<Sketch> = xs
            .chunks(333)
            .map(|c| {
                let mut s = Sketch::default();
                c.iter().for_each(|&x| s.add(x));
                s
            })
            .collect();
        parts.reverse();
        let mut merged = Sketch::default();
        parts.iter().for_each(|p| merged.merge(p));
        assert_eq!(merged, whole);
        assert_eq!(merged.count(), xs.len() as u64);
    }

    /// Byte counts carry without losing a count, for runs of equal values
    /// of any length and for single values alike, in every cell of a set.
    #[test]
    fn tally_counts_past_a_byte_exactly() {
        let cells = 3;
        let mut tally = TallySet::new(cells);
        // The same values through the engine's entry point, cells 1..3 only.
        let mut by_columns = TallySet::new(cells);
        let mut expected = SketchSet::new(cells);
        for block in 0..700u32 {
            // Runs of one bucket of varying lengths, a neighbour, negatives and zeros.
            let len = 2 + block % 19;
            let rows: Vec<f64> = (0..len * cells as u32)
                .map(|v| {
                    let (i, cell) = (v / cells as u32, v % cells as u32);
                    match (i % 7, i % 5) {
                        (6, _) => -2.0 - f64::from(cell),
                        (_, 4) => 0.0,
                        _ if i == len - 1 => 1.5 * (1.0 + f64::from(block % 3) / 64.0),
                        _ => 1.5 + f64::from(cell),
                    }
                })
                .collect();
            tally.add_rows(&rows, len as usize);
            let right: Vec<f64> = rows.chunks(cells).flat_map(|row| row[1..].to_vec()).collect();
            by_columns.add_columns(1, &right, len as usize);
            rows.chunks(cells).for_each(|row| expected.add_row(row));
        }
        let mut sketches = SketchSet::new(cells);
        sketches.absorb(&tally);
        assert_eq!(sketches, expected);
        let mut from_columns = SketchSet::new(cells);
        from_columns.absorb(&by_columns);
        assert_eq!(from_columns.sketches[0].count(), 0);
        assert_eq!(from_columns.sketches[1..], expected.sketches[1..]);
        assert!(expected.sketches.iter().all(|s| s.count() > 5000));
        tally.clear();
        let mut again = SketchSet::new(cells);
        again.absorb(&tally);
        assert!(again.sketches.iter().all(|s| s.count() == 0));
    }

    #[test]
    fn empty_sketch_has_no_quantile() {
        assert_eq!(Sketch::default().quantile(0.5), None);
    }
}
