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
