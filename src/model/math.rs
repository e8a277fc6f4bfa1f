//! The transcendental functions of the model, the same bits on every machine.
//!
//! `f64::exp` and `f64::ln` call the platform's C library, and that answer
//! is not fixed: glibc picks a different `exp` and `log` on CPUs with and
//! without FMA (measured here: forcing the non-FMA variant with
//! `GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2` changed `summary.csv` and
//! `runs.csv` of the baseline), and macOS or musl differ again. Shards run
//! on a mixed cluster would then not merge into the bytes of a single run.
//!
//! Every transcendental function on the simulation path therefore comes
//! from the `libm` crate (a pure-Rust port of musl/FreeBSD msun, plain IEEE
//! double arithmetic with no FMA or table look-ups that vary by target), so
//! a scenario and seed give the same bytes on any IEEE-754 machine. It is
//! about 1.5x slower per call than glibc here; see `docs/performance.md`.
//! `sqrt` needs no such care: IEEE 754 requires it to be correctly rounded.
//!
//! [`exp_in_place`] and [`ln_in_place`] are `exp` and `ln` over a slice (the lanes of the lock-step core,
//! see [`super::lanes`]) that the compiler can vectorise: libm's algorithms
//! (FreeBSD's `e_exp.c` and `e_log.c`) restated without branches, with the same IEEE
//! operations in the same order, so it returns libm's bits exactly (tested
//! on millions of inputs below). It is compiled for several instruction
//! sets and the best one the CPU has is chosen at run time (the
//! `multiversion` crate); since Rust never fuses a multiply and an add on
//! its own, every instruction set computes the same bits.

/// e^x.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// e^x - 1, accurate near 0.
#[inline]
pub fn exp_m1(x: f64) -> f64 {
    libm::expm1(x)
}

/// Natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// ln(1 + x), accurate near 0.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

/// Constants of libm's `exp` (FreeBSD `e_exp.c`), by their bits as
/// listed there.
mod exp_consts {
    pub const LN2HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    pub const LN2LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    pub const INVLN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
    pub const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
    pub const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
    pub const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
    pub const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
    pub const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);
    /// High words of |x| at which libm's `exp` changes path: 708.39 (the
    /// edge of the range handled here), 1.5 ln 2, 0.5 ln 2 and 2^-28.
    pub const HX_LARGE: u64 = 0x4086_232b;
    pub const HX_WIDE: u64 = 0x3ff0_a2b2;
    pub const HX_REDUCE: u64 = 0x3fd6_2e42;
    pub const HX_TINY: u64 = 0x3e30_0000;
}

/// libm's `exp` for |x| < 708.39 (high word below `HX_LARGE`), written with
/// selects instead of branches so that a loop of it vectorises. Each path
/// of libm is followed operation for operation:
///
/// - |x| > 0.5 ln 2: `k` is `trunc(x / ln 2 +- 0.5)` (|x| >= 1.5 ln 2) or
///   +-1, `hi = x - k ln2hi`, `lo = k ln2lo`, `r = hi - lo`;
/// - 2^-28 < |x| <= 0.5 ln 2: `k = 0`, and the same three lines give
///   `hi = x - 0 = x`, `lo = 0`, `r = x`, exactly libm's values;
/// - |x| <= 2^-28: libm returns `1 + x`, selected at the end.
///
/// Then `y = 1 + (r c / (2 - c) - lo + hi)` and `2^k y`: libm's `scalbn`
/// is a single multiplication by `2^k` for the `k` in [-1022, 1022] this
/// range gives, and `2^k` is built from its bits (`k + 1023` in the
/// exponent field, by the usual `+ 2^52` trick on a whole number).
#[inline(always)]
fn exp_in_range(x: f64) -> f64 {
    use exp_consts::*;
    let hx = (x.to_bits() >> 32) & 0x7fff_ffff;
    let negative = x.is_sign_negative();
    let wide_k = (INVLN2 * x + if negative { -0.5 } else { 0.5 }).trunc();
    let k = if hx >= HX_WIDE {
        wide_k
    } else if hx > HX_REDUCE {
        if negative { -1.0 } else { 1.0 }
    } else {
        0.0
    };
    let hi = x - k * LN2HI;
    let lo = k * LN2LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    let scale = f64::from_bits((k + (1023.0 + 4_503_599_627_370_496.0)).to_bits() << 52);
    if hx > HX_TINY { y * scale } else { 1.0 + x }
}

/// Replace every value of `values` by its [`exp`], bit for bit as `exp`
/// would. A slice holding a value outside the range of the branch-free
/// form (|x| >= 708.39, NaN, infinities: where `exp` overflows or
/// underflows, never in an ordinary scenario) is passed to `exp` value by
/// value instead.
pub fn exp_in_place(values: &mut [f64]) {
    if !exp_lanes(values) {
        values.iter_mut().for_each(|v| *v = exp(*v));
    }
}

/// Whether `x` is outside the range of [`exp_in_range`].
#[inline(always)]
fn exp_outside(x: f64) -> bool {
    (x.to_bits() >> 32) & 0x7fff_ffff >= exp_consts::HX_LARGE
}

/// The vectorised loop of [`exp_in_place`], compiled for AVX-512, AVX2 and
/// SSE4.1 as well as the baseline and chosen at run time. Returns `false`,
/// with `values` untouched, if a value is outside the range.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512dq+avx512vl+avx2+avx+sse4.1",
    "x86_64+avx2+avx+sse4.1",
    "x86_64+sse4.1",
    "aarch64+neon"
))]
fn exp_lanes(values: &mut [f64]) -> bool {
    if values.iter().fold(false, |any, &x| any | exp_outside(x)) {
        return false;
    }
    for v in values.iter_mut() {
        *v = exp_in_range(*v);
    }
    true
}

/// Constants of libm's `log` (FreeBSD `e_log.c`), by their bits as listed
/// there.
mod log_consts {
    pub const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    pub const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    pub const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
    pub const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
    pub const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
    pub const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
    pub const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
    pub const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
    pub const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
}

/// Whether `x` is outside the range of [`ln_in_range`]: not a positive
/// normal finite number.
#[inline(always)]
fn ln_outside(x: f64) -> bool {
    let hx = x.to_bits() >> 32;
    !(0x0010_0000..0x7ff0_0000).contains(&hx)
}

/// libm's `log` for positive normal finite `x`, with no branch: the
/// reduction of `x` into [sqrt(2)/2, sqrt(2)] on the high word, then the
/// same polynomial and sums in the same order. libm returns 0 for `x = 1`
/// by a shortcut, and this form gives +0 there too.
#[inline(always)]
fn ln_in_range(x: f64) -> f64 {
    use log_consts::*;
    let ui = x.to_bits();
    let hx = (ui >> 32) + (0x3ff0_0000 - 0x3fe6_a09e);
    let k = ((hx >> 20) as i64 - 0x3ff) as f64;
    let hx = (hx & 0x000f_ffff) + 0x3fe6_a09e;
    let x = f64::from_bits((hx << 32) | (ui & 0xffff_ffff));
    let f = x - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI
}

/// Replace every value of `values` by its [`ln`], bit for bit as `ln`
/// would; a slice holding zero, a negative, subnormal or non-finite value
/// goes to `ln` value by value instead.
pub fn ln_in_place(values: &mut [f64]) {
    if !ln_lanes(values) {
        values.iter_mut().for_each(|v| *v = ln(*v));
    }
}

/// The vectorised loop of [`ln_in_place`] (dispatched as [`exp_lanes`]).
#[multiversion::multiversion(targets = "simd")]
fn ln_lanes(values: &mut [f64]) -> bool {
    if values.iter().fold(false, |any, &x| any | ln_outside(x)) {
        return false;
    }
    for v in values.iter_mut() {
        *v = ln_in_range(*v);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Value stability: these bits are part of the reproducibility promise
    /// (computed by the libm crate, so the same on every machine). A change
    /// here changes every result; record it in CHANGELOG.md.
    #[test]
    fn values_are_pinned() {
        assert_eq!(exp(0.1).to_bits(), 0x3FF1_AEC7_B35A_00D4);
        assert_eq!(ln(7.5).to_bits(), 0x4000_1E85_798E_B9A3);
        assert_eq!(exp_m1(-0.003).to_bits(), 0xBF68_8A07_3B23_1839);
        assert_eq!(ln_1p(0.25).to_bits(), 0x3FCC_8FF7_C79A_9A22);
        assert_eq!((exp(0.0), ln(1.0), exp_m1(0.0), ln_1p(0.0)), (1.0, 0.0, 0.0, 0.0));
    }

    /// A xorshift64 generator of test inputs.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// `exp_in_place` against libm's `exp`, bit for bit: every path
    /// boundary and its neighbours, the halfway points of `x / ln 2`,
    /// random values over the whole line and over the model's ranges, and
    /// slices of every length (the vector loop's remainders).
    #[test]
    fn exp_in_place_is_libm_exp_bit_for_bit() {
        use super::exp_consts::*;
        let mut inputs: Vec<f64> = vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE];
        for hx in [HX_LARGE, HX_WIDE, HX_REDUCE, HX_TINY, 0x4086_2e42, 0x3ff0_0000] {
            let edge = f64::from_bits(hx << 32);
            for sign in [1.0, -1.0] {
                let mut x = sign * edge;
                for _ in 0..64 {
                    inputs.extend([x, f64::from_bits(x.to_bits().wrapping_sub(32))]);
                    x = f64::from_bits(x.to_bits() - 1);
                }
                let mut x = sign * edge;
                for _ in 0..64 {
                    inputs.push(x);
                    x = f64::from_bits(x.to_bits() + 1);
                }
            }
        }
        for k in -1100..1100 {
            let half = (f64::from(k) + 0.5) * std::f64::consts::LN_2;
            for d in -3..=3i64 {
                inputs.push(f64::from_bits((half.to_bits() as i64 + d) as u64));
            }
        }
        // xorshift: random bit patterns (all magnitudes), and uniform
        // values on [-40, 40], [-1, 1] and [-750, 750].
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
        for _ in 0..1_000_000 {
            let bits = next();
            let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
            inputs.extend([f64::from_bits(bits), 80.0 * unit - 40.0, 2.0 * unit - 1.0, 1500.0 * unit - 750.0]);
        }
        let mut values = inputs.clone();
        exp_in_place(&mut values);
        for (&x, &y) in inputs.iter().zip(&values) {
            let want = exp(x);
            assert!(want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()), "exp({x:e}): {y:e}, libm {want:e}");
        }
        for len in 0..40 {
            let mut values = inputs[..len].to_vec();
            exp_in_place(&mut values);
            assert!(values.iter().zip(&inputs).all(|(y, &x)| y.to_bits() == exp(x).to_bits() || y.is_nan()));
        }
    }

    /// `ln_in_place` against libm's `log`, bit for bit: random bit patterns
    /// (every magnitude, subnormals, infinities, NaN: the scalar fallback),
    /// the neighbours of 1, sqrt(2)/2 and powers of two, and the model's
    /// engagement range, in slices of 64 as the lanes call it.
    #[test]
    fn ln_in_place_is_libm_log_bit_for_bit() {
        let mut inputs: Vec<f64> = vec![1.0, 0.5, 2.0, f64::MIN_POSITIVE, f64::MAX, std::f64::consts::FRAC_1_SQRT_2];
        for edge in [1.0f64, std::f64::consts::FRAC_1_SQRT_2, std::f64::consts::SQRT_2, 0.05, 1e-300, 1e300] {
            for d in -200..=200i64 {
                inputs.push(f64::from_bits((edge.to_bits() as i64 + d) as u64));
            }
        }
        let mut next = xorshift(0x2545_F491_4F6C_DD1Du64);
        for _ in 0..1_000_000 {
            let bits = next() & 0x7fff_ffff_ffff_ffff;
            let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
            inputs.extend([f64::from_bits(bits), 0.05 + 2.0 * unit, 1e-3 + 1e3 * unit]);
        }
        let mut values = inputs.clone();
        values.chunks_mut(64).for_each(ln_in_place);
        for (&x, &y) in inputs.iter().zip(&values) {
            let want = ln(x);
            assert!(want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()), "ln({x:e}): {y:e}, libm {want:e}");
        }
    }

    /// Within an ulp or so of the platform's functions over the model's range.
    #[test]
    fn agrees_with_the_platform_to_an_ulp() {
        for i in -2000..2000 {
            let x = f64::from(i) / 97.0;
            let close = |a: f64, b: f64| (a - b).abs() <= 2.0 * f64::EPSILON * b.abs().max(f64::MIN_POSITIVE);
            assert!(close(exp(x), x.exp()), "exp({x})");
            assert!(close(exp_m1(x / 50.0), (x / 50.0).exp_m1()), "exp_m1({x})");
            let y = x.abs() + 1e-3;
            assert!(close(ln(y), y.ln()) || (ln(y) - y.ln()).abs() < 1e-300, "ln({y})");
            assert!(close(ln_1p(y), y.ln_1p()), "ln_1p({y})");
        }
    }
}
