//! Log-spaced lists and counts that do not depend on the last ulp (docs/model.md, "The rounding rule").
//!
//! `logspace2(lo, hi, n)` is `2^(lo + i·step)` with `step = (hi − lo)/(n − 1)` for the
//! interior points; its ends are the end values themselves, never `2^log2(x)`, which the C
//! library may round one ulp above x (and then `P > min(N, b)` drops P = b, or the last
//! attention scale-down leaves `1 + ulp` GPUs that pay a whole all-reduce). Counts within
//! 1e-12 relative of an integer are that integer before `ceil` ([`whole`]), and capacity
//! compares with [`CAPACITY_SLACK`]. The order of operations here is the contract:
//! `reference.py` writes the same expressions.

use std::hint::black_box;

/// Relative tolerance of a count to the integer it stands for: `ceil(t / node)` at t one ulp
/// above a multiple of the node size is that multiple, not one node more.
pub const COUNT_TOLERANCE: f64 = 1e-12;

/// A configuration fits when `N·HBM ≥ need·CAPACITY_SLACK`: 1e-12 relative slack, so that
/// a point exactly at the capacity boundary (N = N_min) fits whatever the rounding of N_min.
pub const CAPACITY_SLACK: f64 = 1.0 - 1e-12;

/// `base ** y` through the C library's `pow`. `black_box` keeps LLVM from rewriting
/// `pow(2, y)` as `exp2(y)` (or `pow(10, y)` as `exp10(y)`), which may round differently.
#[inline]
pub fn pow_of(base: f64, y: f64) -> f64 {
    black_box(base).powf(y)
}

/// `x`, or the integer nearest to it when within [`COUNT_TOLERANCE`] relative of it.
#[inline]
pub fn whole(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() <= COUNT_TOLERANCE * r.abs() {
        r
    } else {
        x
    }
}

/// `ceil` of a count that may carry rounding error: `ceil(whole(x))`.
#[inline]
pub fn ceil_count(x: f64) -> f64 {
    whole(x).ceil()
}

/// Fills `out` with `base^(lo + i·step)`, `step = (hi − lo)/(n − 1)`, and exactly `base^hi`
/// last: numpy's `logspace` (the frontier's latency targets, `10^0` to `10^2`).
pub fn logspace(base: f64, lo: f64, hi: f64, out: &mut [f64]) {
    let n = out.len();
    match n {
        0 => {}
        1 => out[0] = pow_of(base, lo),
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            for (i, slot) in out[..n - 1].iter_mut().enumerate() {
                *slot = pow_of(base, lo + i as f64 * step);
            }
            out[n - 1] = pow_of(base, hi);
        }
    }
}

/// A base-2 log-spaced list from exactly `first` to exactly `last` (both > 0): interior
/// points `2^(lo + i·step)` with `lo = log2(first)`, `step = (log2(last) − lo)/(n − 1)`.
/// One point is `first`.
pub fn logspace2_between(first: f64, last: f64, out: &mut [f64]) {
    let n = out.len();
    match n {
        0 => {}
        1 => out[0] = first,
        _ => {
            let lo = first.log2();
            let step = (last.log2() - lo) / (n - 1) as f64;
            out[0] = first;
            for (i, slot) in out[..n - 1].iter_mut().enumerate().skip(1) {
                *slot = pow_of(2.0, lo + i as f64 * step);
            }
            out[n - 1] = last;
        }
    }
}

/// `logspace_to(x, n)`: from 1 to exactly x (the PP list up to min(b, L), the f_at list up
/// to T).
#[inline]
pub fn logspace_to(x: f64, out: &mut [f64]) {
    logspace2_between(1.0, x, out);
}

/// [`logspace2_between`] as a vector.
pub fn logspace2_between_vec(first: f64, last: f64, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    logspace2_between(first, last, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_the_end_values() {
        let v = logspace2_between_vec(1.0, 262_144.0, 400);
        assert_eq!((v[0], v[399]), (1.0, 262_144.0));
        assert_eq!(v[57], pow_of(2.0, 57.0 * (18.0 / 399.0)));
        // 2^log2(b) is one ulp above b for this b (glibc); the list still ends at b.
        let b = 12.201_75_f64;
        assert!(pow_of(2.0, b.log2()) > b);
        let mut pp = [0.0; 10];
        logspace_to(b, &mut pp);
        assert_eq!((pp[0], pp[9]), (1.0, b));
        let n_min = 70_552_387_584.0 * 2.0 / 80e9;
        let ns = logspace2_between_vec(n_min, 262_144.0, 400);
        assert_eq!(ns[0], n_min);
        let mut one = [0.0];
        logspace2_between(3.0, 9.0, &mut one);
        assert_eq!(one[0], 3.0);
        let mut targets = [0.0; 1000];
        logspace(10.0, 0.0, 2.0, &mut targets);
        assert_eq!((targets[0], targets[999]), (1.0, 100.0));
    }

    #[test]
    fn counts_snap_to_integers_within_tolerance() {
        let up = f64::from_bits(16f64.to_bits() + 1);
        assert_eq!(ceil_count(up / 8.0), 2.0);
        assert_eq!(ceil_count(16.0 * (1.0 + 2e-12) / 8.0), 3.0);
        assert_eq!(ceil_count(f64::from_bits(2f64.to_bits() - 1)), 2.0);
        assert_eq!(ceil_count(0.3), 1.0);
        assert_eq!(whole(1e-13), 1e-13);
    }
}
