//! Mergeable quantile sketches whose resolution follows the spread of each
//! cell, not the magnitude of its values (issue 12; docs/quantiles.md).
//!
//! A value `x` of a cell is first placed in the cell's [`Frame`]:
//! `y = (x - centre) / scale`, with `scale` a power of two. The bucket is
//! then taken from the bits of `z = 1 + |y|` as in HdrHistogram: the
//! exponent and the top [`MANTISSA_BITS`] bits of the mantissa. So values
//! within one scale of the centre (`z` in [1, 2)) are cut into
//! 2 x 2^MANTISSA_BITS equal buckets, and every further doubling of the
//! distance from the centre gets as many buckets again: linear near the
//! centre, logarithmic beyond. Values below the centre mirror those above.
//! The bucket index is a subtraction, a multiplication and a shift, with no
//! branch on the value ([`locate`] does a whole lane block at once).
//!
//! The frame comes from the cell's values in the pilot (the batch's first
//! 256 runs): several candidates (centred on the median with half the
//! interquartile range or a sixteenth of that; anchored at the lowest or
//! the highest value, for a pile against a bound; on the densest window)
//! are tried in that order, and the first under which few pairs of pilot
//! values share a bucket is kept (else the one with fewest). Buckets beyond
//! the pilot's extent (plus a margin) are merged into the end buckets.
//!
//! A value the pilot took more than once (an *atom*: a clamp at 0 or 1, a
//! constant, an integer count) is also counted on its own, with the number
//! of values below it, so a quantile that falls on it is reported exactly
//! and at its exact rank. When the pilot is the whole batch, every pilot
//! value is an atom and every quantile is exact.
//!
//! A quantile is the lower empirical quantile (the value of rank
//! `ceil(q n)`), read by walking the buckets in ascending order and
//! interpolating inside the bucket that holds the rank: its atoms are
//! point masses, its other values are taken as spread evenly between them.
//! Tested against exact quantiles in `tests/quantile_accuracy.rs`: the
//! reported quantile lies between the exact quantiles of ranks `q - 0.005`
//! and `q + 0.005` (29 misses in 124,200 over four shipped scenarios).
//!
//! Counts are integers, so merging sketches of the same frames is exact,
//! associative and commutative: any split of the runs over threads,
//! chunks, shards or machines gives the same sketch. The frames themselves
//! come from the pilot (chunk 0 of the batch, see [`crate::engine::pilot`]),
//! which every shard computes identically and every state file carries.

use std::collections::HashMap;

/// Mantissa bits kept: 2^7 = 128 buckets per doubling of the distance from
/// the centre, on each side.
pub const MANTISSA_BITS: u32 = 7;
const SHIFT: u32 = 52 - MANTISSA_BITS;
/// Bucket of `z = 1` (the centre), before the side is applied.
const ONE: u64 = 0x3FF0_0000_0000_0000 >> SHIFT;
/// The core of a frame is at least 2^-MAX_DEPTH of the pilot's range, so
/// that the pilot's values span at most MAX_DEPTH doublings a side (a
/// bound on memory; the frames of the shipped scenarios stay well inside).
const MAX_DEPTH: u32 = 40;
/// Distances from the centre (in units of the scale) beyond which buckets merge.
const FAR: f64 = 1.3407807929942597e154; // 2^512
/// Shared pairs of pilot values at which a candidate frame is kept without
/// trying the finer ones (which cost memory and cache): about what 256
/// values spread over buckets of 0.25% of the mass each would give.
const GOOD_ENOUGH: u64 = 96;
/// Buckets kept beyond the pilot's extent on each side (see [`Frame::kept`]).
const KEPT_MARGIN: u32 = 16;
/// Spans up to this many buckets are allocated whole when a sketch or
/// tally is made (a frame from a pilot); wider ones (the unit frame of
/// tests) grow as values arrive.
const PRESIZED_SPAN: u32 = 1 << 20;
/// Index of the first bucket above the centre; buckets below count down from it.
const MID: u32 = 1 << 31;

/// Where a cell's values are placed: `y = (x - centre) * inv_scale`, with
/// `inv_scale` a power of two, and the values counted on their own (atoms,
/// ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub centre: f64,
    pub inv_scale: f64,
    pub atoms: Vec<f64>,
    /// The buckets kept: a value beyond them is counted in the first or
    /// the last (the pilot's extent and a few buckets more on each side;
    /// the end buckets hold well under 1% of the runs, far from any
    /// quantile a summary reports, and wider spans would cost memory and
    /// cache).
    pub kept: (u32, u32),
}

impl Default for Frame {
    /// The unit frame: centre 0, scale 1, no atoms (for tests and empty cells).
    fn default() -> Self {
        Self { centre: 0.0, inv_scale: 1.0, atoms: Vec::new(), kept: (0, u32::MAX) }
    }
}

impl Frame {
    /// The frame of a cell from its pilot values (any order; NaN sorts
    /// last and is never an atom). With `exact`, the pilot is the whole
    /// batch and every distinct value becomes an atom; otherwise the atoms
    /// are the values that occur at least twice.
    pub fn from_pilot(values: &[f64], exact: bool) -> Frame {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Frame::default();
        }
        let mut atoms = Vec::new();
        for (i, &x) in v.iter().enumerate() {
            let repeated = i + 1 < v.len() && v[i + 1] == x;
            if (exact || repeated) && atoms.last() != Some(&x) {
                atoms.push(x);
            }
        }
        let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
        let (min, median, max) = (at(0.0), at(0.5), at(1.0));
        let spread = [(at(0.75) - at(0.25)) / 2.0, (at(0.95) - at(0.05)) / 4.0, (max - min) / 8.0]
            .into_iter()
            .find(|s| *s > 0.0)
            .unwrap_or(if median != 0.0 { median.abs() / 1024.0 } else { 1.0 });
        // Candidate frames: centred on the median with a core of half the
        // interquartile range, or a sixteenth of it; anchored at the lowest
        // or the highest value with a small core, so that a pile of values
        // against a bound (a pressure near 0, a share near 1) is resolved
        // relative to its distance from the bound; on the densest window.
        // They are tried in this order, and the first under which at most
        // GOOD_ENOUGH pairs of pilot values (atoms aside) share a bucket is
        // kept; if none is, the one with the fewest (ties: the earlier).
        let small = |d: f64| if d > 0.0 { d / 64.0 } else { spread / 1024.0 };
        let n = v.len();
        let (dense, dense_width) = densest(&v, n / 16);
        let candidates = [
            (median, spread),
            (median, spread / 16.0),
            (min, small(at(0.25) - min)),
            (max, small(max - at(0.75))),
            (dense, if dense_width > 0.0 { dense_width } else { spread / 1024.0 }),
            // A pile at a bound: the core reaches the third value from it
            // (about 1% of a 256-run pilot).
            (min, small(64.0 * (v[2.min(n - 1)] - min))),
            (max, small(64.0 * (max - v[n.saturating_sub(3)]))),
        ];
        let mut best: Option<(u64, Frame)> = None;
        let finest = (max - min) / (1u64 << MAX_DEPTH) as f64;
        for (centre, scale) in candidates {
            let frame = Frame { inv_scale: inverse_power_of_two(scale.max(finest)), centre, ..Frame::default() };
            let cost = shared_pairs(&v, &atoms, &frame);
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, frame));
            }
            if cost <= GOOD_ENOUGH {
                break;
            }
        }
        let frame = best.map(|b| b.1).unwrap_or_default();
        let margin = KEPT_MARGIN;
        let kept = (frame.index(min).saturating_sub(margin), frame.index(max).saturating_add(margin));
        Frame { atoms, kept, ..frame }
    }

    /// Bucket of `x`. Monotone: `a <= b` gives `index(a) <= index(b)`.
    #[inline]
    pub fn index(&self, x: f64) -> u32 {
        self.place().index(x)
    }

    fn place(&self) -> Place {
        Place { centre: self.centre, inv_scale: self.inv_scale, kept: self.kept }
    }

    /// The values `[lo, hi]` of bucket `index`, ascending.
    fn bounds(&self, index: u32) -> (f64, f64) {
        let scale = 1.0 / self.inv_scale;
        let offset = |k: u32| {
            let z = f64::from_bits((ONE + u64::from(k)) << SHIFT);
            if z.is_nan() { f64::INFINITY } else { (z - 1.0) * scale }
        };
        let (lo, hi) = if index >= MID {
            let k = index - MID;
            (self.centre + offset(k), self.centre + offset(k + 1))
        } else {
            let k = MID - 1 - index;
            (self.centre - offset(k + 1), self.centre - offset(k))
        };
        let finite = |v: f64| v.clamp(f64::MIN, f64::MAX);
        (finite(lo), finite(hi).max(finite(lo)))
    }
}

/// The middle and width of the narrowest window of `sorted` (ascending)
/// that holds `k + 1` values: where the values pile up most.
fn densest(sorted: &[f64], k: usize) -> (f64, f64) {
    let k = k.clamp(1, sorted.len().saturating_sub(1).max(1));
    (0..sorted.len().saturating_sub(k))
        .map(|i| (sorted[i + k / 2], sorted[i + k] - sorted[i]))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((sorted[0], 0.0))
}

/// Pairs of values of `sorted` (ascending) that are not atoms and share a
/// bucket of `frame`.
fn shared_pairs(sorted: &[f64], atoms: &[f64], frame: &Frame) -> u64 {
    let mut pairs = 0;
    let mut run: Option<(u32, u64)> = None;
    for &x in sorted.iter().filter(|x| atoms.binary_search_by(|a| a.total_cmp(x)).is_err()) {
        let index = frame.index(x);
        run = match run {
            Some((i, m)) if i == index => {
                pairs += m;
                Some((i, m + 1))
            }
            _ => Some((index, 1)),
        };
    }
    pairs
}

/// `2^-e` for the power of two `2^e <= spread < 2^(e + 1)`, so that the
/// scale is exact both ways (`e` kept within +-1000).
fn inverse_power_of_two(spread: f64) -> f64 {
    let e = ((spread.to_bits() >> 52) & 0x7FF) as i64 - 1023;
    let e = e.clamp(-1000, 1000);
    f64::from_bits(((1023 - e) as u64) << 52)
}

/// The bucket of `x` in the frame `(centre, inv_scale)`: see the module doc.
/// The side is chosen by a select, not a branch (half the values of a cell
/// lie on each side, in random order).
/// Every step is exact IEEE arithmetic or bit manipulation, so the scalar
/// and every vector form of [`locate`] give the same bucket.
#[inline(always)]
fn bucket_index(x: f64, centre: f64, inv_scale: f64) -> u32 {
    let y = (x - centre) * inv_scale;
    // Distances past 2^512 share the last bucket (NaN lands there too).
    let z = 1.0 + y.abs().min(FAR);
    let k = (z.to_bits() >> SHIFT) - ONE;
    (if y < 0.0 { u64::from(MID) - 1 - k } else { u64::from(MID) + k }) as u32
}

/// The bucket of every value of `values` into `out`, and the counts of
/// values equal to and below the atoms `pair`: `[equal a0, below a0, equal
/// a1, below a1]`. One pass without branches, which vectorises over the
/// lanes of a cell (runtime dispatch by `multiversion`; same results on
/// every instruction set).
#[multiversion::multiversion(targets = "simd")]
fn locate(values: &[f64], frame: Place, pair: [f64; 2], out: &mut [u32]) -> [u64; 4] {
    let [a0, a1] = pair;
    let mut n = [0u64; 4];
    for (&x, slot) in values.iter().zip(out.iter_mut()) {
        *slot = frame.index(x);
        n[0] += u64::from(x == a0);
        n[1] += u64::from(x < a0);
        n[2] += u64::from(x == a1);
        n[3] += u64::from(x < a1);
    }
    n
}

/// [`locate`] for a cell without atoms.
#[multiversion::multiversion(targets = "simd")]
fn locate_plain(values: &[f64], frame: Place, out: &mut [u32]) {
    for (&x, slot) in values.iter().zip(out.iter_mut()) {
        *slot = frame.index(x);
    }
}

/// What [`locate`] needs of a [`Frame`].
#[derive(Debug, Clone, Copy)]
struct Place {
    centre: f64,
    inv_scale: f64,
    kept: (u32, u32),
}

impl Place {
    /// The bucket of `x`, within the kept ones.
    #[inline(always)]
    fn index(&self, x: f64) -> u32 {
        bucket_index(x, self.centre, self.inv_scale).clamp(self.kept.0, self.kept.1)
    }
}

/// The span allocated up front for a frame: its kept buckets, or nothing
/// when they are too many (see [`PRESIZED_SPAN`]).
fn presized(frame: &Frame) -> (u32, usize) {
    let (lo, hi) = frame.kept;
    if hi - lo < PRESIZED_SPAN { (lo, (hi - lo) as usize + 1) } else { (0, 0) }
}

/// A dense run of bucket counts starting at `offset` (may carry zero
/// padding at either end; equality ignores it).
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    pub offset: u32,
    pub counts: Vec<u32>,
}

impl Buckets {
    /// The non-zero span: (offset of the first non-zero bucket, counts up to the last non-zero one).
    pub fn trimmed(&self) -> (u32, &[u32]) {
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

/// Sketch of one cell: its frame, bucket counts of all its values, and for
/// each atom the values equal to it and below it (the values are also
/// counted in their buckets). The count below places the atom at its exact
/// rank, however the values of its bucket lie around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    pub frame: FrameBits,
    pub atom_counts: Vec<AtomCount>,
    pub buckets: Buckets,
}

/// Values equal to an atom and values below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AtomCount {
    pub equal: u64,
    pub below: u64,
}

impl AtomCount {
    fn add(&mut self, other: AtomCount) {
        self.equal += other.equal;
        self.below += other.below;
    }
}

/// A [`Frame`] compared by bits (so that sketches can be `Eq`).
#[derive(Debug, Clone, Default)]
pub struct FrameBits(pub Frame);

impl PartialEq for FrameBits {
    fn eq(&self, other: &Self) -> bool {
        let bits = |f: &Frame| {
            let atoms: Vec<u64> = f.atoms.iter().map(|a| a.to_bits()).collect();
            (f.centre.to_bits(), f.inv_scale.to_bits(), atoms, f.kept)
        };
        bits(&self.0) == bits(&other.0)
    }
}

impl Eq for FrameBits {}

impl Sketch {
    pub fn new(frame: Frame) -> Self {
        let (offset, len) = presized(&frame);
        Self {
            atom_counts: vec![AtomCount::default(); frame.atoms.len()],
            buckets: Buckets { offset, counts: vec![0; len] },
            frame: FrameBits(frame),
        }
    }

    pub fn frame(&self) -> &Frame {
        &self.frame.0
    }

    #[inline]
    pub fn add(&mut self, x: f64) {
        let f = &self.frame.0;
        self.buckets.add(f.index(x), 1);
        for (a, c) in f.atoms.iter().zip(&mut self.atom_counts) {
            c.equal += u64::from(x == *a);
            c.below += u64::from(x < *a);
        }
    }

    /// Set every count to zero, keeping the frame and the allocated range.
    pub fn clear(&mut self) {
        self.atom_counts.fill(AtomCount::default());
        self.buckets.clear();
    }

    /// Add the counts of `other`, a sketch of the same frame (checked by
    /// the callers that read sketches from files: [`SketchSet::same_frames`]).
    pub fn merge(&mut self, other: &Sketch) {
        debug_assert!(self.frame == other.frame, "sketches of different frames");
        self.buckets.merge(&other.buckets);
        for (a, &b) in self.atom_counts.iter_mut().zip(&other.atom_counts) {
            a.add(b);
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.total()
    }

    /// The lower empirical `q`-quantile (rank `ceil(q n)`), interpolated
    /// inside its bucket; `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (i, &c) in self.buckets.counts.iter().enumerate() {
            let c = u64::from(c);
            if seen + c >= rank {
                let index = self.buckets.offset + i as u32;
                return Some(self.within_bucket(index, c, seen, (rank - seen) as f64 - 0.5));
            }
            seen += c;
        }
        None
    }

    /// The value at position `target` (0 < target < count) of bucket
    /// `index`, which holds `count` values of which `seen` lie in the buckets
    /// below. Its atoms are point masses at their exact ranks; the other
    /// values between two atoms (or an atom and the bucket's edge) are
    /// taken as spread evenly between them.
    fn within_bucket(&self, index: u32, count: u64, seen: u64, target: f64) -> f64 {
        let f = self.frame();
        let (lo, hi) = f.bounds(index);
        // (value, values of the bucket below it, values equal to it)
        let atoms = f
            .atoms
            .iter()
            .zip(&self.atom_counts)
            .filter(|&(&a, c)| c.equal > 0 && f.index(a) == index)
            .map(|(&a, c)| (a, c.below.saturating_sub(seen) as f64, c.equal as f64));
        let (mut from, mut passed) = (lo, 0.0);
        for (a, below, equal) in atoms {
            if target <= below {
                return spread(from, a, target - passed, below - passed);
            }
            if target <= below + equal {
                return a;
            }
            (from, passed) = (a, below + equal);
        }
        spread(from, hi, target - passed, count as f64 - passed)
    }
}

/// The value at position `at` of `n` values spread evenly over `[from, to]`.
fn spread(from: f64, to: f64, at: f64, n: f64) -> f64 {
    if n > 0.0 { (from + at / n * (to - from)).clamp(from.min(to), to.max(from)) } else { from }
}

/// A worker's counts of one cell between flushes into a [`Sketch`]: the
/// same buckets, but one byte per bucket.
///
/// The thousands of cells of a run each touch a few cache lines of their
/// histogram. Bytes make those lines four times denser than `u32` counts
/// and a worker's histograms a quarter of the memory. A byte that
/// overflows hands its carry (in units of 256) to the caller, which keeps
/// the rare carries elsewhere (see [`TallySet`]), so they take no room in
/// the hot lines. Counts are exact integers either way.
#[derive(Debug, Clone, Default)]
struct ByteBuckets {
    offset: u32,
    low: Vec<u8>,
}

impl ByteBuckets {
    /// Add `count` to bucket `index`, growing the span if needed; returns
    /// the carry (units of 256), usually 0.
    fn add_many(&mut self, index: u32, count: u32) -> u32 {
        let mut i = index.wrapping_sub(self.offset) as usize;
        if i >= self.low.len() {
            grow_span(&mut self.offset, &mut self.low, index);
            i = (index - self.offset) as usize;
        }
        let sum = u32::from(self.low[i]) + count;
        self.low[i] = sum as u8;
        sum >> 8
    }

    /// Add every byte count to `into`.
    fn drain_into(&self, into: &mut Buckets) {
        // The usual case: the batch's span covers the worker's (both are a
        // frame's kept buckets), so the counts add slice to slice.
        let start = self.offset.wrapping_sub(into.offset) as usize;
        if self.offset >= into.offset && start + self.low.len() <= into.counts.len() {
            let target = &mut into.counts[start..start + self.low.len()];
            for (t, &low) in target.iter_mut().zip(&self.low) {
                *t += u32::from(low);
            }
            return;
        }
        for (i, &low) in self.low.iter().enumerate() {
            if low > 0 {
                into.add(self.offset + i as u32, u32::from(low));
            }
        }
    }
}

/// A worker's counts of one cell; see [`ByteBuckets`].
#[derive(Debug, Clone)]
struct Tally {
    place: Place,
    /// The first two atoms (NaN where there are fewer: never equal, never above).
    pair: [f64; 2],
    /// All atoms, when there are more than two (then found by search).
    many: Vec<f64>,
    /// With two atoms or fewer: per atom, values equal and below. With
    /// more: `equal` per atom and, in `below`, the values between the
    /// atom and the one before it (turned into counts below on absorb).
    atom_counts: Vec<AtomCount>,
    buckets: ByteBuckets,
    /// The bucket of the only atom, when there is exactly one (a cell that
    /// is often constant: see [`Tally::add_if_all_atom`]).
    single_atom_bucket: Option<u32>,
}

impl Tally {
    fn new(frame: &Frame) -> Self {
        let atom = |i: usize| frame.atoms.get(i).copied().unwrap_or(f64::NAN);
        Self {
            place: frame.place(),
            pair: [atom(0), atom(1)],
            many: if frame.atoms.len() > 2 { frame.atoms.clone() } else { Vec::new() },
            atom_counts: vec![AtomCount::default(); frame.atoms.len()],
            buckets: {
                let (offset, len) = presized(frame);
                ByteBuckets { offset, low: vec![0; len] }
            },
            single_atom_bucket: match frame.atoms[..] {
                [a] => Some(frame.index(a)),
                _ => None,
            },
        }
    }

    /// When every value of the block equals the cell's only atom (the
    /// pressure of a partner that never coerces, a count still at 0), count
    /// them all at once and return true; otherwise count nothing. Reads the
    /// values in place, stopping at the first that differs.
    fn add_if_all_atom(
        &mut self,
        values: impl Iterator<Item = f64>,
        count: usize,
        cell: usize,
        carries: &mut HashMap<u64, u64>,
    ) -> bool {
        let Some(bucket) = self.single_atom_bucket else { return false };
        let atom = self.pair[0];
        let mut values = values;
        if !values.all(|x| x == atom) {
            return false;
        }
        self.atom_counts[0].equal += count as u64;
        carry(carries, cell, bucket, self.buckets.add_many(bucket, count as u32));
        true
    }

    /// Count values of cell `cell` (`indices` is scratch space of the same
    /// length): the buckets and the atoms of all values in one branch-free
    /// pass ([`locate`]), then one byte increment per value, a carry
    /// (rarely) or growth (more rarely). Cells with more than two atoms
    /// (discrete metrics, or a pilot that is the whole batch) find them by
    /// binary search.
    fn add_slice(&mut self, values: &[f64], indices: &mut [u32], cell: usize, carries: &mut HashMap<u64, u64>) {
        let indices = &mut indices[..values.len()];
        if self.atom_counts.is_empty() {
            locate_plain(values, self.place, indices);
        } else if self.many.is_empty() {
            let n = locate(values, self.place, self.pair, indices);
            for (c, pair) in self.atom_counts.iter_mut().zip(n.chunks_exact(2)) {
                c.add(AtomCount { equal: pair[0], below: pair[1] });
            }
        } else {
            locate_plain(values, self.place, indices);
            for x in values {
                match self.many.binary_search_by(|a| a.total_cmp(x)) {
                    Ok(i) => self.atom_counts[i].equal += 1,
                    // Above every atom: counted in no gap (the buckets have it).
                    Err(i) => {
                        if let Some(c) = self.atom_counts.get_mut(i) {
                            c.below += 1;
                        }
                    }
                }
            }
        }
        // A block whose values all share a bucket (a constant cell: the
        // pressure of a partner that never coerces) is one addition, not a
        // chain of increments of one byte, each waiting for the last.
        if let Some(&first) = indices.first() {
            if indices.iter().all(|&i| i == first) {
                carry(carries, cell, first, self.buckets.add_many(first, indices.len() as u32));
                return;
            }
        }
        let mut rest = &indices[..];
        while !rest.is_empty() {
            // The common case in a tight loop over the current span (held
            // in locals, so byte stores cannot force reloads); growth, when
            // a value falls outside it, in the slow path.
            let (offset, low) = (self.buckets.offset, &mut self.buckets.low[..]);
            let mut done = 0;
            for &index in rest {
                let Some(byte) = low.get_mut(index.wrapping_sub(offset) as usize) else { break };
                let (sum, overflow) = byte.overflowing_add(1);
                *byte = sum;
                carry(carries, cell, index, u32::from(overflow));
                done += 1;
            }
            rest = &rest[done..];
            if let Some((&index, tail)) = rest.split_first() {
                carry(carries, cell, index, self.buckets.add_many(index, 1));
                rest = tail;
            }
        }
    }

    /// The counts per atom, equal and below (see `atom_counts`).
    fn atom_totals(&self) -> impl Iterator<Item = AtomCount> + '_ {
        let gaps = !self.many.is_empty();
        let mut passed = 0;
        self.atom_counts.iter().map(move |c| {
            if !gaps {
                return *c;
            }
            let below = passed + c.below;
            passed = below + c.equal;
            AtomCount { equal: c.equal, below }
        })
    }
}

/// Key of a carried bucket in [`TallySet::carries`].
fn carry_key(cell: usize, index: u32) -> u64 {
    ((cell as u64) << 32) | u64::from(index)
}

/// Record `units` (of 256) carried out of bucket `index` of cell `cell`.
#[inline(always)]
fn carry(carries: &mut HashMap<u64, u64>, cell: usize, index: u32, units: u32) {
    if units > 0 {
        *carries.entry(carry_key(cell, index)).or_insert(0) += u64::from(units);
    }
}

/// One [`Tally`] per cell: a worker's quantile counts between flushes,
/// with the carries of all byte counters in one map (one entry per bucket
/// that passed 255, touched once per 256 values of that bucket).
#[derive(Debug, Clone)]
pub struct TallySet {
    tallies: Vec<Tally>,
    carries: HashMap<u64, u64>,
    /// Scratch: one cell's values, contiguous, and their buckets.
    column: Vec<f64>,
    indices: Vec<u32>,
}

impl TallySet {
    /// Tallies for cells of the given frames.
    pub fn new<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Self {
        let tallies = frames.into_iter().map(Tally::new).collect();
        Self { tallies, carries: HashMap::new(), column: Vec::new(), indices: Vec::new() }
    }

    /// Tallies for the frames of `sketches`.
    pub fn for_sketches(sketches: &SketchSet) -> Self {
        Self::new(sketches.frames())
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
        self.column.resize(count, 0.0);
        self.indices.resize(count, 0);
        for (i, t) in self.tallies[first..first + width].iter_mut().enumerate() {
            let column = (0..count).map(|r| rows[r * width + i]);
            if t.add_if_all_atom(column, count, first + i, &mut self.carries) {
                continue;
            }
            for (r, slot) in self.column.iter_mut().enumerate() {
                *slot = rows[r * width + i];
            }
            t.add_slice(&self.column, &mut self.indices, first + i, &mut self.carries);
        }
    }

    /// Add the values of every cell given cell after cell (`cells x count`).
    pub fn add_cell_major(&mut self, values: &[f64], count: usize) {
        assert_eq!(values.len(), self.tallies.len() * count, "values must hold cells x count values");
        self.indices.resize(count, 0);
        for (cell, (t, column)) in self.tallies.iter_mut().zip(values.chunks_exact(count.max(1))).enumerate() {
            t.add_slice(column, &mut self.indices, cell, &mut self.carries);
        }
    }

    /// Buckets whose byte counter has carried since the last clear.
    pub fn carried_buckets(&self) -> usize {
        self.carries.len()
    }

    /// Set every count to zero, keeping the allocated ranges.
    pub fn clear(&mut self) {
        for t in &mut self.tallies {
            t.atom_counts.fill(AtomCount::default());
            t.buckets.low.fill(0);
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
    /// Sketches of the unit frame (for tests; a batch takes its frames from its pilot).
    pub fn new(cells: usize) -> Self {
        Self::with_frames(vec![Frame::default(); cells])
    }

    pub fn with_frames(frames: Vec<Frame>) -> Self {
        Self { sketches: frames.into_iter().map(Sketch::new).collect() }
    }

    /// The frames, cell by cell.
    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.sketches.iter().map(Sketch::frame)
    }

    /// Whether both sets have the same cells with bit-identical frames (a
    /// condition of [`SketchSet::merge`]).
    pub fn same_frames(&self, other: &SketchSet) -> bool {
        self.sketches.len() == other.sketches.len()
            && self.sketches.iter().zip(&other.sketches).all(|(a, b)| a.frame == b.frame)
    }

    /// Add one value per cell.
    pub fn add_row(&mut self, row: &[f64]) {
        for (s, &x) in self.sketches.iter_mut().zip(row) {
            s.add(x);
        }
    }

    /// Add the counts of a worker's tallies (one per cell, of the same frames).
    pub fn absorb(&mut self, tallies: &TallySet) {
        for (s, t) in self.sketches.iter_mut().zip(&tallies.tallies) {
            t.buckets.drain_into(&mut s.buckets);
            for (a, b) in s.atom_counts.iter_mut().zip(t.atom_totals()) {
                a.add(b);
            }
        }
        for (&key, &units) in &tallies.carries {
            let s = &mut self.sketches[(key >> 32) as usize];
            // A batch has at most MAX_RUNS (< 2^32) values per cell.
            s.buckets.add(key as u32, u32::try_from(units * 256).unwrap_or(u32::MAX));
        }
    }

    /// Add the counts of `other` (same frames: see [`SketchSet::same_frames`]).
    pub fn merge(&mut self, other: &SketchSet) {
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
            a.merge(b);
        }
    }

    /// Set every count to zero, keeping the frames and the allocated ranges.
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

    /// The reported quantile lies between the exact quantiles of ranks
    /// q -+ 0.005.
    fn assert_in_rank_band(sketch: &Sketch, sorted: &[f64], what: &str) {
        for q in [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] {
            let got = sketch.quantile(q).unwrap();
            let (lo, hi) = (exact_lower_quantile(sorted, q - 0.005), exact_lower_quantile(sorted, q + 0.005));
            assert!(lo <= got && got <= hi, "{what}, q={q}: {got} outside [{lo}, {hi}]");
        }
    }

    /// A deterministic sample: uniforms from a fixed LCG.
    fn uniforms(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    fn sketch_of(values: &[f64], pilot: usize) -> (Sketch, Vec<f64>) {
        let frame = Frame::from_pilot(&values[..pilot.min(values.len())], pilot >= values.len());
        let mut sketch = Sketch::new(frame);
        values.iter().for_each(|&x| sketch.add(x));
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        (sketch, sorted)
    }

    #[test]
    fn quantiles_are_accurate_in_rank_for_narrow_skewed_and_clamped_cells() {
        let u = uniforms(20_000, 7);
        // A narrow spread far from zero (the staircase of the old sketch).
        let narrow: Vec<f64> = u.iter().map(|&u| 0.86 + 0.01 * (u - 0.5)).collect();
        // Heavy right tail.
        let skewed: Vec<f64> = u.iter().map(|&u| (-(1.0 - u).ln()).powi(3)).collect();
        // A third of the values clamped at 0, a tenth at 1.
        let clamped: Vec<f64> = u.iter().map(|&u| ((u - 0.33) / 0.57).clamp(0.0, 1.0)).collect();
        // Signed, crossing zero, with an atom at zero.
        let signed: Vec<f64> =
            u.iter().enumerate().map(|(i, &u)| if i % 13 == 0 { 0.0 } else { (u - 0.4) * 3.0 }).collect();
        // Small integers (a count metric).
        let counts: Vec<f64> = u.iter().map(|&u| (u * u * 6.0).floor()).collect();
        for (what, values) in
            [("narrow", narrow), ("skewed", skewed), ("clamped", clamped), ("signed", signed), ("counts", counts)]
        {
            let (sketch, sorted) = sketch_of(&values, 256);
            assert_in_rank_band(&sketch, &sorted, what);
        }
    }

    #[test]
    fn a_pilot_that_is_the_whole_batch_gives_exact_quantiles() {
        let values: Vec<f64> = uniforms(200, 3).iter().map(|&u| u.ln() * 0.37 + 5.0).collect();
        let (sketch, sorted) = sketch_of(&values, 256);
        for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
            assert_eq!(sketch.quantile(q), Some(exact_lower_quantile(&sorted, q)), "q={q}");
        }
    }

    #[test]
    fn bucket_index_is_monotone_and_bounds_hold_their_values() {
        let frame = Frame::from_pilot(&[0.5, 1.0, 1.0, 2.0, 3.5], false);
        assert_eq!(frame.atoms, vec![1.0]);
        assert_eq!(frame.centre, 1.0);
        let mut xs: Vec<f64> = uniforms(5000, 11).iter().map(|&u| (u - 0.5) * 40.0).collect();
        xs.extend([0.0, -0.0, 1.0, 1e-300, 1e150, -1e150]);
        let mut extremes = xs.clone();
        extremes.extend([f64::MAX, -f64::MAX, f64::INFINITY, f64::NEG_INFINITY]);
        extremes.sort_by(f64::total_cmp);
        for pair in extremes.windows(2) {
            assert!(frame.index(pair[0]) <= frame.index(pair[1]), "{pair:?}");
        }
        // Values beyond the pilot's extent (and its margin) share the end buckets.
        assert_eq!((frame.index(-1e6), frame.index(1e6)), frame.kept);
        // Without that limit, beyond 2^512 scales from the centre, values share the last bucket.
        let frame = Frame { kept: (0, u32::MAX), ..frame };
        for &x in &xs {
            let (lo, hi) = frame.bounds(frame.index(x));
            // Up to the rounding of `centre -+ offset`.
            let tol = 1e-12 * (1.0 + lo.abs() + hi.abs());
            assert!(lo - tol <= x && x <= hi + tol, "{x} outside its bucket [{lo}, {hi}]");
        }
    }

    #[test]
    fn frames_survive_constant_and_non_finite_pilots() {
        let constant = Frame::from_pilot(&[0.25; 10], false);
        assert_eq!((constant.centre, constant.atoms.clone()), (0.25, vec![0.25]));
        assert!(constant.inv_scale > 1.0 && constant.inv_scale.is_finite());
        let zero = Frame::from_pilot(&[0.0; 4], false);
        assert_eq!(zero.inv_scale, 1.0);
        let odd = Frame::from_pilot(&[f64::NAN, 1.0, f64::INFINITY, 1.0], false);
        assert_eq!(odd.atoms, vec![1.0]);
        assert!(odd.centre.is_finite());
        assert_eq!(Frame::from_pilot(&[], true), Frame::default());
    }

    #[test]
    fn merge_is_exact_in_any_order() {
        let xs: Vec<f64> = (1..5000).map(|i| (i as f64).sqrt() * 0.37).collect();
        let frame = Frame::from_pilot(&[0.37, 0.37, 5.0, 9.0, 20.0], false);
        let mut whole = Sketch::new(frame.clone());
        xs.iter().for_each(|&x| whole.add(x));
        let mut tally = TallySet::new([&frame]);
        let values: Vec<f64> = xs.iter().copied().chain([0.0, -1.0, 0.37, 0.37]).collect();
        tally.add_rows(&values, values.len());
        tally.add_rows(&[], 0);
        let mut batched = SketchSet::with_frames(vec![frame.clone()]);
        batched.absorb(&tally);
        let mut expected = whole.clone();
        [0.0, -1.0, 0.37, 0.37].iter().for_each(|&x| expected.add(x));
        assert_eq!(batched.sketches[0], expected);
        assert_eq!(expected.atom_counts, vec![AtomCount { equal: 3, below: 2 }]);
        let mut parts: Vec<Sketch> = xs
            .chunks(333)
            .map(|c| {
                let mut s = Sketch::new(frame.clone());
                c.iter().for_each(|&x| s.add(x));
                s
            })
            .collect();
        parts.reverse();
        let mut merged = Sketch::new(frame);
        parts.iter().for_each(|p| merged.merge(p));
        assert_eq!(merged, whole);
        assert_eq!(merged.count(), xs.len() as u64);
    }

    /// Byte counts carry without losing a count, for runs of equal values
    /// of any length and for single values alike, in every cell of a set,
    /// with two atoms, many atoms and none.
    #[test]
    fn tally_counts_past_a_byte_exactly() {
        let frames = vec![
            Frame::from_pilot(&[1.5, 1.5, 0.0, 0.0, -2.0], false),
            Frame::from_pilot(&[2.5, -3.0, 0.0, 7.0], true),
            Frame::default(),
        ];
        let cells = frames.len();
        let mut tally = TallySet::new(&frames);
        // The same values through the engine's entry point, cells 1..3 only.
        let mut by_columns = TallySet::new(&frames);
        let mut expected = SketchSet::with_frames(frames.clone());
        for block in 0..700u32 {
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
        let mut sketches = SketchSet::with_frames(frames.clone());
        sketches.absorb(&tally);
        assert_eq!(sketches, expected);
        let mut from_columns = SketchSet::with_frames(frames.clone());
        from_columns.absorb(&by_columns);
        assert_eq!(from_columns.sketches[0].count(), 0);
        assert_eq!(from_columns.sketches[1..], expected.sketches[1..]);
        assert!(expected.sketches.iter().all(|s| s.count() > 5000));
        assert!(
            expected.sketches[0].atom_counts.iter().all(|c| c.equal > 1000),
            "{:?}",
            expected.sketches[0].atom_counts
        );
        tally.clear();
        let mut again = SketchSet::with_frames(frames);
        again.absorb(&tally);
        assert!(again.sketches.iter().all(|s| s.count() == 0));
    }

    #[test]
    fn empty_sketch_has_no_quantile() {
        assert_eq!(Sketch::default().quantile(0.5), None);
    }
}
