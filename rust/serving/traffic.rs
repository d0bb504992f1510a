//! Serving traffic (docs/serving.md, "Traffic"): a step that carries decode sequences and
//! prefill tokens together, a prompt's TTFT on an idle instance, and the in-flight steady
//! state at a request rate or a concurrency. `python/infersweep/traffic_reference.py` is the
//! oracle; operations run in its order so both round alike.
//!
//! The step reuses the decode step's primitives (`pad`, `expert_imbalance`, `memory`,
//! `kernel_launches`, `epoch`'s matmul/attention traffic and collectives) at M = decode +
//! prefill tokens.

use crate::forward::GroupPrep;
use crate::spec::Model;

use super::layout::{kv_share, memory, Layout, Memory};
use super::runtime::Runtime;
use super::step::{kernel_launches, token_work, ServingPrep, TokenWork};

/// Bisection steps of the steady-state solvers.
pub const BISECTION_STEPS: usize = 64;
/// Prefill-budget utilisation counted as saturated.
pub const SATURATION: f64 = 1.0 - 1e-9;

/// What one step computes (§T.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub decode_seqs: f64,
    pub decode_ctx: f64,
    pub prefill_tokens: f64,
    pub chunk: f64,
    pub prefix: f64,
    pub capacity_seqs: f64,
    pub capacity_ctx: f64,
}

/// One step's components.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixedStep {
    pub latency_s: f64,
    pub feasible: bool,
    pub overhead_s: f64,
    pub kernel_s: f64,
    pub network_s: f64,
    pub weight_memory_s: f64,
    pub kv_memory_s: f64,
    pub kv_write_s: f64,
    pub compute_s: f64,
    pub overlap_s: f64,
    pub attention_flops: f64,
    pub memory: Memory,
}

/// Σ_{j<C} min(ℓ + j, W): context positions a chunk's causal queries attend to.
pub fn causal_positions(prefix: f64, chunk: f64, window: Option<f64>) -> f64 {
    match window {
        Some(w) if prefix + chunk - 1.0 > w => {
            let below = (w - prefix).max(0.0).min(chunk);
            below * prefix + below * (below - 1.0) / 2.0 + (chunk - below) * w
        }
        _ => chunk * prefix + chunk * (chunk - 1.0) / 2.0,
    }
}

/// FLOPs per layer per (query, key) pair of a prefill chunk: MLA in its prefill form.
pub fn prefill_pair_coefficient(m: &Model) -> f64 {
    if m.mla.is_none() {
        return m.attention_flop_coefficient();
    }
    let r = m.mla_rope_dim.unwrap_or(0.0);
    2.0 * (2.0 * m.head_dim + r) * m.n_heads
}

/// MLA prefill: FLOPs per layer to decompress one cached token's latent (0 without MLA).
pub fn decompression_flops_per_token(m: &Model) -> f64 {
    match m.mla {
        Some(mla) => 2.0 * mla.kv_rank * m.kv_heads_total() * m.head_dim,
        None => 0.0,
    }
}

/// F_kv of one attention-DP group (before /tp).
pub fn attention_flops(
    m: &Model,
    groups: &[GroupPrep],
    work: &Work,
    decode_g: f64,
    prefill_g: f64,
) -> f64 {
    let coef = m.attention_flop_coefficient();
    let pcoef = prefill_pair_coefficient(m);
    let chunks = if work.chunk > 0.0 {
        prefill_g / work.chunk
    } else {
        0.0
    };
    let mut total = 0.0;
    for g in groups {
        let seen = g.window.map_or(work.decode_ctx, |w| work.decode_ctx.min(w));
        total += coef * g.n_layers * seen * decode_g;
        if prefill_g > 0.0 {
            let pos = causal_positions(work.prefix, work.chunk, g.window);
            total += pcoef * g.n_layers * pos * chunks;
            let cached = g.window.map_or(work.prefix, |w| work.prefix.min(w));
            total += decompression_flops_per_token(m) * g.n_layers * cached * chunks;
        }
    }
    total
}

fn kv_per_sequence(sp: &ServingPrep, ctx: f64, tp: f64) -> f64 {
    let m = sp.epoch.model;
    sp.epoch.kv_bytes_at(ctx) / m.kv_element_bytes() * sp.precision.kv_cache * kv_share(m, tp)
}

fn kv_written_per_token(sp: &ServingPrep, tp: f64) -> f64 {
    let m = sp.epoch.model;
    m.kv_bytes_per_token() / m.kv_element_bytes() * sp.precision.kv_cache * kv_share(m, tp)
}

/// One step of decode sequences and prefill tokens together (§T.1).
pub fn mixed_step(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    work: &Work,
) -> MixedStep {
    let prep = &sp.epoch;
    let (m, hw, prec) = (prep.model, prep.hw, &sp.precision);
    let (tp, dp, pp) = (
        f64::from(lay.tp),
        f64::from(lay.attention_dp),
        f64::from(lay.pp),
    );
    let bm = (work.decode_seqs / pp).ceil();
    let bg = (bm / dp).ceil();
    // A chunk (one sequence's tokens) is never split: P/chunk sequences go to at most pp,
    // then dp, places.
    let per_chunk = |tokens: f64| {
        if work.chunk > 0.0 {
            tokens / work.chunk
        } else {
            0.0
        }
    };
    let pm = work.prefill_tokens / pp.min(per_chunk(work.prefill_tokens).max(1.0));
    let pg = pm / dp.min(per_chunk(pm).max(1.0));
    let n = bm + pm;
    let ng = bg + pg;

    let f_kv = attention_flops(m, &prep.groups, work, bg, pg);
    let (p_attn, p_emb) = sp.params();
    let TokenWork {
        stream,
        mut flops_attn,
        flops_ffn,
        flops_exp,
        net,
        ..
    } = token_work(sp, rt, n_gpus, lay, n, ng);
    flops_attn += f_kv / tp;

    let mem = memory(
        m,
        hw,
        &prep.groups,
        p_attn,
        p_emb,
        prep.kv_bytes_at(work.capacity_ctx),
        work.capacity_seqs,
        lay,
        rt,
        prec,
    );
    let chunks_g = if work.chunk > 0.0 {
        pg / work.chunk
    } else {
        0.0
    };
    let mut kv_read = bg * kv_per_sequence(sp, work.decode_ctx, tp);
    if chunks_g > 0.0 {
        kv_read += chunks_g * kv_per_sequence(sp, work.prefix, tp);
    }
    let kv_write = ng * kv_written_per_token(sp, tp);
    let beta = hw.hbm_bandwidth;
    let w_eff = rt.weight_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
    let kv_eff = rt.kv_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
    let weight_s = stream / (beta * w_eff);
    let kv_write_s = kv_write / (beta * kv_eff);
    let kv_s = kv_read / (beta * kv_eff) + kv_write_s;
    let eff = rt.gemm_efficiency.unwrap_or(hw.flop_utilization);
    let rates = sp.peak_rates();
    let compute_s =
        flops_attn / (rates[0] * eff) + flops_ffn / (rates[1] * eff) + flops_exp / (rates[2] * eff);

    let graphs = rt.cuda_graphs && work.prefill_tokens <= 0.0;
    let per_kernel = if graphs {
        rt.graph_kernel_s
    } else {
        rt.launch_kernel_s.unwrap_or(hw.kernel_latency_s)
    };
    let kernel_s = kernel_launches(m, &prep.groups, rt) * per_kernel;
    let work_s = (weight_s + kv_s).max(compute_s);
    let hidden = rt.overlap * (net.latency + net.bandwidth).min(work_s);
    // Host work per step: fixed, plus per sequence (decoding, or one prompt's chunk) of the group.
    let overhead = rt.step_overhead_s + rt.sequence_overhead_s * (bg + chunks_g);
    let total = overhead + kernel_s + (net.latency + net.bandwidth) + work_s - hidden;
    let feasible = mem.fits() && work.capacity_seqs <= mem.max_batch_size;
    MixedStep {
        latency_s: if feasible { total } else { f64::INFINITY },
        feasible,
        overhead_s: overhead,
        kernel_s,
        network_s: net.latency + net.bandwidth,
        weight_memory_s: weight_s,
        kv_memory_s: kv_s,
        kv_write_s,
        compute_s,
        overlap_s: hidden,
        attention_flops: f_kv,
        memory: mem,
    }
}

/// A prefill pass: `batch` sequences of `chunk` new tokens on `cached` ones (§T.2).
pub fn prefill_chunk(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    batch: f64,
    chunk: f64,
    cached: f64,
) -> MixedStep {
    let work = Work {
        decode_seqs: 0.0,
        decode_ctx: 0.0,
        prefill_tokens: batch * chunk,
        chunk,
        prefix: cached,
        capacity_seqs: batch,
        capacity_ctx: cached + chunk,
    };
    mixed_step(sp, rt, n_gpus, lay, &work)
}

/// TTFT of an `isl`-token prompt on an idle instance, in chunks of at most `chunk_size` (§T.2).
pub fn ttft_idle(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    isl: f64,
    chunk_size: f64,
) -> f64 {
    let mut total = 0.0;
    let mut done = 0.0;
    while done < isl {
        let c = chunk_size.min(isl - done);
        total += prefill_chunk(sp, rt, n_gpus, lay, 1.0, c, done).latency_s;
        done += c;
    }
    total
}

/// The steady state of one layout (§T.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steady {
    pub requests_per_s: f64,
    pub tpot_s: f64,
    pub ttft_s: f64,
    pub decode_seqs: f64,
    pub prefill_share: f64,
    pub decode_step_s: f64,
    pub mixed_step_s: f64,
    pub saturated: bool,
    pub memory: Memory,
}

/// The traffic one steady state serves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    pub isl: f64,
    pub osl: f64,
    /// Prefill tokens a step may carry (the chunked-prefill budget).
    pub budget: f64,
}

struct Ctx<'s, 'a> {
    sp: &'s ServingPrep<'a>,
    rt: &'s Runtime,
    n_gpus: u32,
    lay: Layout,
    tr: Traffic,
}

impl Ctx<'_, '_> {
    /// (t_d, t_m, B, ρ) at rate x if TPOT were `tpot`.
    fn steps(&self, x: f64, tpot: f64) -> (MixedStep, MixedStep, f64, f64) {
        let Traffic { isl, osl, budget } = self.tr;
        let b = x * osl * tpot;
        let rho = x * isl * tpot / budget;
        let c = budget.min(isl);
        let dctx = isl + (osl - 1.0) / 2.0;
        let cap = b + budget / c;
        let ctx = isl + osl;
        let mut work = Work {
            decode_seqs: b,
            decode_ctx: dctx,
            prefill_tokens: 0.0,
            chunk: c,
            prefix: 0.0,
            capacity_seqs: cap,
            capacity_ctx: ctx,
        };
        let td = mixed_step(self.sp, self.rt, self.n_gpus, self.lay, &work);
        work.prefill_tokens = budget;
        work.prefix = (isl - c) / 2.0;
        let tm = mixed_step(self.sp, self.rt, self.n_gpus, self.lay, &work);
        (td, tm, b, rho)
    }

    /// The prompt's own chunks, each in a step with the B decoding sequences and no other prompt.
    fn own_chunks(&self, b: f64) -> f64 {
        let Traffic { isl, osl, budget } = self.tr;
        let dctx = isl + (osl - 1.0) / 2.0;
        let cap = b + budget / budget.min(isl);
        let mut total = 0.0;
        let mut done = 0.0;
        while done < isl {
            let c = budget.min(isl - done);
            let work = Work {
                decode_seqs: b,
                decode_ctx: dctx,
                prefill_tokens: c,
                chunk: c,
                prefix: done,
                capacity_seqs: cap,
                capacity_ctx: isl + osl,
            };
            total += mixed_step(self.sp, self.rt, self.n_gpus, self.lay, &work).latency_s;
            done += c;
        }
        total
    }

    fn excess(&self, x: f64, t: f64) -> f64 {
        let (td, tm, _, rho) = self.steps(x, t);
        (1.0 - rho) * td.latency_s + rho * tm.latency_s - t
    }

    fn at_rate(&self, x: f64) -> Steady {
        let Traffic { isl, osl, budget } = self.tr;
        let cap_rho = if x > 0.0 {
            budget / (x * isl)
        } else {
            f64::INFINITY
        };
        let (td0, _, _, _) = self.steps(0.0, 0.0);
        let mb = td0.memory.max_batch_size;
        let cap_mem = if x > 0.0 {
            (mb - budget / budget.min(isl)) / (x * osl)
        } else {
            f64::INFINITY
        };
        // Just inside the bound: at it exactly, rounding decides whether the capacity batch fits
        // (B + budget/c against max_batch_size) and so whether a load is called saturated.
        let mut hi = cap_rho.min(cap_mem) * SATURATION;
        // Saturated when the bracket is empty, or the step is not under T at its end (NaN too).
        let at_hi = if hi.is_finite() {
            self.excess(x, hi)
        } else {
            f64::NEG_INFINITY
        };
        let saturated = hi.is_nan() || hi <= 0.0 || at_hi.is_nan() || at_hi > 0.0;
        let tpot = if x <= 0.0 {
            td0.latency_s
        } else if saturated {
            f64::INFINITY
        } else {
            let mut lo = 0.0;
            if hi.is_infinite() {
                hi = td0.latency_s;
                while self.excess(x, hi) > 0.0 {
                    hi *= 2.0;
                }
            }
            for _ in 0..BISECTION_STEPS {
                let mid = 0.5 * (lo + hi);
                if self.excess(x, mid) > 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        };
        if tpot.is_infinite() {
            let (td, _, _, _) = self.steps(x, 0.0);
            return Steady {
                requests_per_s: x,
                tpot_s: f64::INFINITY,
                ttft_s: f64::INFINITY,
                decode_seqs: f64::INFINITY,
                prefill_share: 1.0,
                decode_step_s: f64::INFINITY,
                mixed_step_s: f64::INFINITY,
                saturated: true,
                memory: td.memory,
            };
        }
        let (td, tm, b, rho) = self.steps(x, tpot);
        let saturated = rho >= SATURATION || !(td.feasible && tm.feasible);
        let ttft = if saturated {
            f64::INFINITY
        } else {
            let service = isl / budget * tpot;
            let wait = rho * service / (2.0 * (1.0 - rho));
            wait + (1.0 - rho) * self.own_chunks(b) + rho * (isl / budget).ceil() * tm.latency_s
        };
        Steady {
            requests_per_s: x,
            tpot_s: tpot,
            ttft_s: ttft,
            decode_seqs: b,
            prefill_share: rho,
            decode_step_s: td.latency_s,
            mixed_step_s: tm.latency_s,
            saturated,
            memory: tm.memory,
        }
    }

    fn at_concurrency(&self, concurrency: f64) -> Steady {
        let osl = self.tr.osl;
        let idle = self.at_rate(0.0);
        let t_min = idle.tpot_s;
        if !t_min.is_finite() {
            return Steady {
                requests_per_s: 0.0,
                tpot_s: f64::INFINITY,
                ttft_s: f64::INFINITY,
                decode_seqs: 0.0,
                prefill_share: 0.0,
                decode_step_s: f64::INFINITY,
                mixed_step_s: f64::INFINITY,
                saturated: true,
                memory: idle.memory,
            };
        }
        let (mut lo, mut hi) = (0.0, concurrency / (osl * t_min));
        for _ in 0..BISECTION_STEPS {
            let mid = 0.5 * (lo + hi);
            let st = self.at_rate(mid);
            let in_flight = if st.saturated {
                f64::INFINITY
            } else {
                mid * (st.ttft_s + osl * st.tpot_s)
            };
            if in_flight < concurrency {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut st = self.at_rate(lo);
        if lo <= 0.0 || st.saturated {
            st.saturated = true;
        }
        st
    }
}

/// In-flight batching at `rate` requests/s (§T.3).
pub fn steady_at_rate(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    tr: Traffic,
    rate: f64,
) -> Steady {
    Ctx {
        sp,
        rt,
        n_gpus,
        lay,
        tr,
    }
    .at_rate(rate)
}

/// A closed loop of `concurrency` requests (Little's law, §T.3).
pub fn steady_at_concurrency(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    tr: Traffic,
    concurrency: f64,
) -> Steady {
    Ctx {
        sp,
        rt,
        n_gpus,
        lay,
        tr,
    }
    .at_concurrency(concurrency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serving::runtime::Precision;
    use crate::serving::step::decode_step;
    use crate::spec::examples::{h100, llama_70b};

    const TP8: Layout = Layout {
        tp: 8,
        pp: 1,
        ep: 1,
        attention_dp: 1,
    };

    #[test]
    fn causal_sum_with_and_without_a_window() {
        assert_eq!(causal_positions(10.0, 5.0, Some(12.0)), 57.0);
        assert_eq!(causal_positions(10.0, 5.0, None), 60.0);
        assert_eq!(causal_positions(0.0, 4.0, Some(100.0)), 6.0);
    }

    #[test]
    fn decode_only_step_is_the_decode_step_plus_its_kv_write() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let rt = Runtime::ideal();
        let work = Work {
            decode_seqs: 32.0,
            decode_ctx: 4096.0,
            prefill_tokens: 0.0,
            chunk: 1.0,
            prefix: 0.0,
            capacity_seqs: 32.0,
            capacity_ctx: 4096.0,
        };
        let mixed = mixed_step(&sp, &rt, 8, TP8, &work);
        let dec = decode_step(&sp, &rt, 8, 32.0, 4096.0, 1.0, TP8);
        assert!(mixed.kv_write_s > 0.0);
        let rel = (mixed.latency_s - (dec.latency_s + mixed.kv_write_s)).abs() / dec.latency_s;
        assert!(rel < 1e-12, "{rel}");
    }

    #[test]
    fn ttft_of_a_chunked_prompt_is_its_chunks() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let rt = Runtime::ideal();
        let parts: f64 = [(2048.0, 0.0), (2048.0, 2048.0), (904.0, 4096.0)]
            .iter()
            .map(|&(c, l)| prefill_chunk(&sp, &rt, 8, TP8, 1.0, c, l).latency_s)
            .sum();
        let t = ttft_idle(&sp, &rt, 8, TP8, 5000.0, 2048.0);
        assert!((t - parts).abs() / parts < 1e-12);
    }

    #[test]
    fn a_load_beyond_capacity_is_saturated() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let tr = Traffic {
            isl: 4000.0,
            osl: 500.0,
            budget: 8192.0,
        };
        let ok = steady_at_rate(&sp, &Runtime::ideal(), 8, TP8, tr, 1.0);
        assert!(!ok.saturated && ok.ttft_s.is_finite());
        let over = steady_at_rate(&sp, &Runtime::ideal(), 8, TP8, tr, 1e5);
        assert!(over.saturated && over.ttft_s.is_infinite());
    }
}
