//! Speculative decoding (docs/model.md §6) and the per-token economics of a decode (§7).

use crate::arithmetic::flop;
use crate::forward::{Pass, Prepared};
use crate::layout::{best_pass_in, Point, Scratch};

/// A drafter prepared for the target's hardware, with its acceptance rate and longest draft.
#[derive(Debug, Clone)]
pub struct Drafting<'a> {
    pub drafter: Prepared<'a>,
    pub acceptance: f64,
    pub gamma_max: u32,
}

/// Per-token decode time, possibly speculative: `gamma` is 0 when plain decoding wins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decode {
    pub latency_s: f64,
    /// The target's pass at the chosen γ (S = γ), or its plain pass.
    pub target: Pass,
    pub gamma: u32,
    pub drafter_latency_s: f64,
}

/// Token latency of the target, with the best draft length when a drafter is given.
pub fn decode(
    target: &Prepared,
    drafting: Option<&Drafting>,
    pt: Point,
    scratch: &mut Scratch,
) -> Decode {
    let plain = best_pass_in(target, pt, scratch);
    let mut best = Decode {
        latency_s: plain.latency_s,
        target: plain,
        gamma: 0,
        drafter_latency_s: f64::NAN,
    };
    let Some(dr) = drafting else { return best };
    let t_q = best_pass_in(
        &dr.drafter,
        Point {
            positions: 1.0,
            ..pt
        },
        scratch,
    )
    .latency_s;
    best.drafter_latency_s = t_q;
    let alpha = dr.acceptance;
    for gamma in 2..=dr.gamma_max {
        let g = f64::from(gamma);
        let verify = best_pass_in(target, Point { positions: g, ..pt }, scratch);
        let lat = (verify.latency_s + g * t_q) / ((1.0 - alpha.powf(g)) / (1.0 - alpha));
        if lat < best.latency_s {
            best = Decode {
                latency_s: lat,
                target: verify,
                gamma,
                drafter_latency_s: t_q,
            };
        }
    }
    best
}

/// The economics of a pass that yields `positions` tokens per sequence every `latency_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Economics {
    pub tokens_per_s_per_request: f64,
    pub gpu_seconds_per_token: f64,
    pub usd_per_million_tokens: f64,
    pub tokens_per_s_per_gpu: f64,
    pub mfu: f64,
}

/// MFU counts the FLOPs the latency counts: FLOP(ℓ, b·S, 1), the pass's b·S tokens each
/// attending over the context ℓ (docs/model.md §5, §7). With S = 1 this is FLOP(ℓ, b, 1); the
/// arithmetic time is at least these FLOPs at the capped rate, so MFU ≤ u_flop ≤ 1.
pub fn economics(prep: &Prepared, pt: Point, latency_s: f64) -> Economics {
    let (n, b, s) = (pt.n_gpus, pt.batch, pt.positions);
    let gpu_s = n * latency_s / (b * s);
    Economics {
        tokens_per_s_per_request: s / latency_s,
        gpu_seconds_per_token: gpu_s,
        usd_per_million_tokens: 1e6 * gpu_s * prep.hw.usd_per_hour / 3600.0,
        tokens_per_s_per_gpu: b * s / (n * latency_s),
        mfu: flop(prep.model, prep.active_params, pt.context, b * s, 1.0)
            / (n * prep.flops_peak * latency_s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::{h100, llama_70b, llama_8b};

    #[test]
    fn llama_70b_with_8b_drafter() {
        let (target, drafter, hw) = (llama_70b(), llama_8b(), h100());
        let prep = Prepared::new(&target, &hw).unwrap();
        let dr = Drafting {
            drafter: Prepared::new(&drafter, &hw).unwrap(),
            acceptance: 0.8,
            gamma_max: 5,
        };
        let pt = |n, b| Point {
            n_gpus: n,
            batch: b,
            context: 0.0,
            positions: 1.0,
            use_pp: false,
        };
        let d = decode(&prep, Some(&dr), pt(8.0, 16.0), &mut Scratch::default());
        assert!((d.latency_s * 1e3 - 7.1396).abs() < 5e-5);
        assert_eq!(d.gamma, 5);
        let d = decode(&prep, Some(&dr), pt(16.0, 64.0), &mut Scratch::default());
        assert!((d.latency_s * 1e3 - 8.3116).abs() < 5e-5);
        assert_eq!(d.gamma, 4);
    }
}
