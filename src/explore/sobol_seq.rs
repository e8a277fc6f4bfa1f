//! The Sobol' low-discrepancy sequence, point for point as SciPy's
//! `scipy.stats.qmc.Sobol` draws it, and a seeded scramble of it.
//!
//! Direction numbers are Joe & Kuo's `new-joe-kuo-6.21201` (Joe and Kuo
//! 2008, "Constructing Sobol sequences with better two-dimensional
//! projections", SIAM J. Sci. Comput. 30, 2635-2654), the first 1024
//! dimensions exactly as SciPy stores them (`sobol_directions.txt`, written by
//! `scripts/sobol-directions.py`). Like SciPy the generator works with 30-bit
//! integers, walks the points in Gray-code order (Antonov and Saleev 1979)
//! and starts at the origin: unscrambled, point `i` equals
//! `qmc.Sobol(d, scramble=False).random(n)[i]` bit for bit (checked in the
//! tests against values printed by SciPy 1.17.1).
//!
//! The scrambled variant has SciPy's structure, a linear matrix scramble
//! (LMS, Matoušek 1998) followed by a random digital shift, with the random
//! bits drawn from our own seeded Xoshiro256++ instead of NumPy's generator,
//! so it cannot equal SciPy's scrambled points but it is the same kind of
//! randomisation (unbiased estimators, the (t, m, s)-net property kept) and is
//! reproducible from the experiment seed.

use std::sync::OnceLock;

use rand::RngExt;

use crate::model::rng::{stream, stream_key};

/// Bits of every coordinate (as SciPy's default `bits=30`).
pub const BITS: usize = 30;

/// The largest dimension supported (the number of rows of the embedded
/// direction-number table).
pub const MAX_DIMS: usize = 1024;

/// The largest number of points that can be drawn (2^BITS).
pub const MAX_POINTS: u64 = 1 << BITS;

const SCALE: f64 = 1.0 / (1u64 << BITS) as f64;

/// Direction numbers: per dimension, the primitive polynomial and the
/// initial numbers m_1..m_s.
fn directions() -> &'static [(u32, Vec<u32>)] {
    static TABLE: OnceLock<Vec<(u32, Vec<u32>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("sobol_directions.txt")
            .lines()
            .map(|line| {
                let mut numbers = line.split(' ').map(|s| s.parse::<u32>().expect("embedded table is numeric"));
                let poly = numbers.next().expect("embedded table has a polynomial per line");
                (poly, numbers.collect())
            })
            .collect()
    })
}

/// The 30 direction numbers v_1..v_30 of one dimension, left-aligned to 30
/// bits (SciPy's `_initialize_v`).
fn direction_vector(dim: usize) -> [u32; BITS] {
    let mut v = [0u32; BITS];
    if dim == 0 {
        v.fill(1);
    } else {
        let (poly, init) = &directions()[dim];
        let degree = init.len();
        v[..degree].copy_from_slice(init);
        for j in degree..BITS {
            let mut new = v[j - degree];
            let mut pow2 = 1u32;
            for k in 0..degree {
                pow2 <<= 1;
                if (poly >> (degree - 1 - k)) & 1 == 1 {
                    new ^= pow2 * v[j - k - 1];
                }
            }
            v[j] = new;
        }
    }
    for (j, value) in v.iter_mut().enumerate() {
        *value <<= BITS - 1 - j;
    }
    v
}

/// Why a Sobol' sequence cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SobolError {
    #[error("a Sobol' sequence needs 1 to {MAX_DIMS} dimensions, not {0}")]
    Dimensions(usize),
    #[error("a Sobol' sequence has at most 2^{BITS} points; {0} asked")]
    TooManyPoints(u64),
}

/// A Sobol' sequence generator in `dims` dimensions.
#[derive(Debug, Clone)]
pub struct SobolSeq {
    /// Per dimension, the (possibly scrambled) direction numbers.
    v: Vec<[u32; BITS]>,
    /// The current point as integers.
    quasi: Vec<u32>,
    /// Points drawn so far.
    drawn: u64,
}

impl SobolSeq {
    /// SciPy's unscrambled sequence (`scramble=False`).
    pub fn new(dims: usize) -> Result<Self, SobolError> {
        if dims == 0 || dims > MAX_DIMS {
            return Err(SobolError::Dimensions(dims));
        }
        let v = (0..dims).map(direction_vector).collect();
        Ok(Self { v, quasi: vec![0; dims], drawn: 0 })
    }

    /// A scrambled sequence: per dimension a random lower-triangular binary
    /// matrix with unit diagonal applied to the direction numbers (LMS) and
    /// a random 30-bit digital shift, all drawn from `seed`.
    pub fn scrambled(dims: usize, seed: u64) -> Result<Self, SobolError> {
        let mut seq = Self::new(dims)?;
        let mut rng = stream(seed, 0, stream_key("explore", "sobol-scramble"));
        for (v, quasi) in seq.v.iter_mut().zip(seq.quasi.iter_mut()) {
            // Row p of the matrix (p = 0 is the most significant output
            // bit) has random bits at more significant positions and a 1 on
            // the diagonal; positions are counted from the top bit.
            let rows: [u32; BITS] = std::array::from_fn(|p| {
                let top = 1u32 << (BITS - 1 - p);
                let above = !((top << 1).wrapping_sub(1)) & ((1u32 << BITS) - 1);
                (rng.random::<u32>() & above) | top
            });
            for value in v.iter_mut() {
                *value = rows
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (p, row)| acc | (((row & *value).count_ones() & 1) << (BITS - 1 - p)));
            }
            *quasi = rng.random::<u32>() & ((1u32 << BITS) - 1);
        }
        Ok(seq)
    }

    /// The number of dimensions.
    pub fn dims(&self) -> usize {
        self.v.len()
    }

    /// The next `n` points, each a row of `dims` coordinates in [0, 1).
    pub fn draw(&mut self, n: usize) -> Result<Vec<Vec<f64>>, SobolError> {
        let total = self.drawn + n as u64;
        if total > MAX_POINTS {
            return Err(SobolError::TooManyPoints(total));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if self.drawn > 0 {
                // Gray code: the point after index i - 1 flips direction
                // number c, the index of the lowest zero bit of i - 1.
                let c = (self.drawn - 1).trailing_ones() as usize;
                for (q, v) in self.quasi.iter_mut().zip(&self.v) {
                    *q ^= v[c];
                }
            }
            out.push(self.quasi.iter().map(|&q| f64::from(q) * SCALE).collect());
            self.drawn += 1;
        }
        Ok(out)
    }
}

/// SciPy's warning when the first draw is not a power of two in size.
pub fn balance_warning(n: usize) -> Option<String> {
    (!n.is_power_of_two()).then(|| {
        format!(
            "the balance properties of Sobol' points require n to be a power of 2; {n} is not \
             (use {} or {})",
            n.next_power_of_two() / 2,
            n.next_power_of_two()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `qmc.Sobol(d=4, scramble=False).random(8)` from SciPy 1.17.1.
    #[test]
    fn first_points_equal_scipy() {
        let expected = [
            [0.0, 0.0, 0.0, 0.0],
            [0.5, 0.5, 0.5, 0.5],
            [0.75, 0.25, 0.25, 0.25],
            [0.25, 0.75, 0.75, 0.75],
            [0.375, 0.375, 0.625, 0.875],
            [0.875, 0.875, 0.125, 0.375],
            [0.625, 0.125, 0.875, 0.625],
            [0.125, 0.625, 0.375, 0.125],
        ];
        let points = SobolSeq::new(4).unwrap().draw(8).unwrap();
        for (row, want) in points.iter().zip(expected) {
            assert_eq!(row.as_slice(), want.as_slice());
        }
    }

    /// Every coordinate of the first 256 points in all 1024 dimensions:
    /// FNV-1a over the 30-bit integers, as scripts/salib-reference.py
    /// computes it from SciPy 1.17.1's `qmc.Sobol(d=1024, scramble=False)`.
    #[test]
    fn all_dimensions_equal_scipy() {
        let points = SobolSeq::new(MAX_DIMS).unwrap().draw(256).unwrap();
        let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
        for x in points.iter().flatten() {
            let q = (x * (1u64 << BITS) as f64) as u32;
            for byte in q.to_le_bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
            }
        }
        assert_eq!(hash, 0x3b53_9210_a627_d0a5);
    }

    #[test]
    fn draws_continue_where_they_stopped() {
        let all = SobolSeq::new(6).unwrap().draw(64).unwrap();
        let mut seq = SobolSeq::new(6).unwrap();
        let mut parts = seq.draw(13).unwrap();
        parts.extend(seq.draw(51).unwrap());
        assert_eq!(all, parts);
    }

    #[test]
    fn every_dimension_is_stratified_at_powers_of_two() {
        // A (t, m, s)-net: each coordinate of the first 2^m points takes
        // each of the 2^m cells [i/2^m, (i+1)/2^m) exactly once.
        for seq in [SobolSeq::new(40).unwrap(), SobolSeq::scrambled(40, 9).unwrap()] {
            let mut seq = seq;
            let points = seq.draw(256).unwrap();
            for d in 0..40 {
                let mut cells: Vec<usize> = points.iter().map(|p| (p[d] * 256.0) as usize).collect();
                cells.sort_unstable();
                assert_eq!(cells, (0..256).collect::<Vec<_>>(), "dimension {d}");
            }
        }
    }

    #[test]
    fn scramble_is_seeded() {
        let a = SobolSeq::scrambled(3, 1).unwrap().draw(16).unwrap();
        let b = SobolSeq::scrambled(3, 1).unwrap().draw(16).unwrap();
        let c = SobolSeq::scrambled(3, 2).unwrap().draw(16).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, SobolSeq::new(3).unwrap().draw(16).unwrap());
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(SobolSeq::new(0).unwrap_err(), SobolError::Dimensions(0));
        assert!(SobolSeq::new(MAX_DIMS + 1).is_err());
        assert!(SobolSeq::new(MAX_DIMS).is_ok());
        assert!(balance_warning(1000).is_some());
        assert!(balance_warning(1024).is_none());
    }
}
