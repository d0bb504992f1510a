//! Log-spaced lists exactly as numpy builds them (MODEL.md, preamble).
//!
//! `numpy.logspace(lo, hi, n, base)` is `base ** (i·step + lo)` with `step = (hi − lo)/(n − 1)`
//! for i < n − 1 and exactly `base ** hi` last. One ulp of difference flips `ceil(t/node)` and
//! `P > min(N, b)` on grid boundaries, so the order of operations here is the contract.

use std::hint::black_box;

/// `base ** y` through the C library's `pow`. `black_box` keeps LLVM from rewriting
/// `pow(2, y)` as `exp2(y)` (or `pow(10, y)` as `exp10(y)`), which may round differently.
#[inline]
pub fn pow_of(base: f64, y: f64) -> f64 {
    black_box(base).powf(y)
}

/// Fills `out` with numpy's `logspace(lo, hi, out.len(), base)`.
pub fn logspace(base: f64, lo: f64, hi: f64, out: &mut [f64]) {
    let n = out.len();
    match n {
        0 => {}
        1 => out[0] = pow_of(base, lo),
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            for (i, slot) in out[..n - 1].iter_mut().enumerate() {
                *slot = pow_of(base, i as f64 * step + lo);
            }
            out[n - 1] = pow_of(base, hi);
        }
    }
}

/// `numpy.logspace(lo, hi, n, base=2)` into `out`.
pub fn logspace2(lo: f64, hi: f64, out: &mut [f64]) {
    logspace(2.0, lo, hi, out);
}

/// `numpy.logspace(lo, hi, n, base=2)` as a vector.
pub fn logspace2_vec(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    logspace2(lo, hi, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_exact() {
        let v = logspace2_vec(0.0, 18.0, 400);
        assert_eq!(v[0], 1.0);
        assert_eq!(v[399], 262_144.0);
        let mut one = [0.0];
        logspace2(3.0, 9.0, &mut one);
        assert_eq!(one[0], 8.0);
    }
}
