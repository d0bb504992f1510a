//! Serving traffic (docs/serving.md, "Traffic"): a step that carries decode sequences and
//! prefill tokens together, a prompt's TTFT on an idle instance, and the in-flight steady
//! state at a request rate or a concurrency. `python/infersweep/traffic_reference.py` is the
//! oracle; operations run in its order so both round alike.
//!
//! The step reuses the decode step's primitives (`pad`, `expert_imbalance`, `memory`,
//! `kernel_launches`, `epoch`'s matmul/attention traffic and collectives) at M = decode +
//! prefill tokens. [`Instance::step`] is the one evaluation of a step; [`Solver`] solves the
//! steady state piece by piece in the decode batch per stage, keeping each piece's steps
//! (docs/serving.md §T.3), with length histograms through their moments ([`Lengths`], §T.10).

use crate::forward::GroupPrep;
use crate::spec::Model;

use super::layout::{kv_share, memory, Layout, Memory};
use super::runtime::Runtime;
use super::step::{kernel_launches, roofline, ServingPrep, TokenPlan, TokenWork};

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
    /// The memory-or-compute part ([`roofline`](super::step::roofline)).
    pub work_s: f64,
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

/// A layout of one model on its GPUs, and what every one of its steps shares (§T.1).
#[derive(Clone)]
pub struct Instance<'s, 'a> {
    pub sp: &'s ServingPrep<'a>,
    pub rt: &'s Runtime,
    pub n_gpus: u32,
    pub lay: Layout,
    /// The layout's matmul shapes and collective plans (built once, used by every step).
    plan: TokenPlan,
    /// Kernel time of a step with prefill tokens (eager) and of a decode-only step.
    kernel_eager_s: f64,
    kernel_decode_s: f64,
}

/// One step's time and its components, memory aside (§T.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTime {
    /// The step's time whether or not its capacity fits.
    pub step_s: f64,
    pub overhead_s: f64,
    pub kernel_s: f64,
    pub network_s: f64,
    pub weight_memory_s: f64,
    pub kv_memory_s: f64,
    pub kv_write_s: f64,
    pub compute_s: f64,
    /// The memory-or-compute part ([`roofline`](super::step::roofline)).
    pub work_s: f64,
    pub overlap_s: f64,
    pub attention_flops: f64,
}

impl<'s, 'a> Instance<'s, 'a> {
    pub fn new(sp: &'s ServingPrep<'a>, rt: &'s Runtime, n_gpus: u32, lay: Layout) -> Self {
        let prep = &sp.epoch;
        let launches = kernel_launches(prep.model, &prep.groups, rt);
        let eager = rt.launch_kernel_s.unwrap_or(prep.hw.kernel_latency_s);
        let decode = if rt.cuda_graphs {
            rt.graph_kernel_s
        } else {
            eager
        };
        Self {
            sp,
            rt,
            n_gpus,
            lay,
            plan: TokenPlan::new(sp, rt, n_gpus, lay),
            kernel_eager_s: launches * eager,
            kernel_decode_s: launches * decode,
        }
    }

    /// The time of one step of `work` (§T.1): the one evaluation of a step, which the
    /// steady state, TTFT and the disaggregated pools all call.
    pub fn step(&self, work: &Work) -> StepTime {
        let (sp, rt, lay) = (self.sp, self.rt, self.lay);
        let prep = &sp.epoch;
        let (m, hw) = (prep.model, prep.hw);
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
        let TokenWork {
            stream,
            streams,
            flops_attn,
            flops_ffn,
            flops_exp,
            net,
            ..
        } = self.plan.token_work(sp, rt, n, ng);
        let cache_flops = f_kv / tp;

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
        let rates = sp.peak_rates().map(|r| r * eff);
        let (compute_s, work_s) = roofline(
            rt,
            beta * w_eff,
            rates,
            weight_s,
            kv_s,
            streams,
            [flops_attn, flops_ffn, flops_exp],
            cache_flops,
        );

        // CUDA graphs capture decode-only batches; a step with prefill tokens launches eagerly.
        let kernel_s = if work.prefill_tokens <= 0.0 {
            self.kernel_decode_s
        } else {
            self.kernel_eager_s
        };
        let hidden = rt.overlap * (net.latency + net.bandwidth).min(work_s);
        // Host work per step: fixed, plus per sequence (decoding, or one prompt's chunk) of the group.
        let overhead = rt.step_overhead_s + rt.sequence_overhead_s * (bg + chunks_g);
        let total = overhead + kernel_s + (net.latency + net.bandwidth) + work_s - hidden;
        StepTime {
            step_s: total,
            overhead_s: overhead,
            kernel_s,
            network_s: net.latency + net.bandwidth,
            weight_memory_s: weight_s,
            kv_memory_s: kv_s,
            kv_write_s,
            compute_s,
            work_s,
            overlap_s: hidden,
            attention_flops: f_kv,
        }
    }

    /// Per-GPU memory (§M) holding `seqs` sequences of `ctx` tokens.
    pub fn memory(&self, seqs: f64, ctx: f64) -> Memory {
        let prep = &self.sp.epoch;
        let (p_attn, p_emb) = self.sp.params();
        memory(
            prep.model,
            prep.hw,
            &prep.groups,
            p_attn,
            p_emb,
            prep.kv_bytes_at(ctx),
            seqs,
            self.lay,
            self.rt,
            &self.sp.precision,
        )
    }

    /// One step of `work` with its memory and feasibility (§T.1).
    pub fn mixed_step(&self, work: &Work) -> MixedStep {
        let t = self.step(work);
        let mem = self.memory(work.capacity_seqs, work.capacity_ctx);
        let feasible = mem.fits() && work.capacity_seqs <= mem.max_batch_size;
        MixedStep {
            latency_s: if feasible { t.step_s } else { f64::INFINITY },
            feasible,
            overhead_s: t.overhead_s,
            kernel_s: t.kernel_s,
            network_s: t.network_s,
            weight_memory_s: t.weight_memory_s,
            kv_memory_s: t.kv_memory_s,
            kv_write_s: t.kv_write_s,
            compute_s: t.compute_s,
            work_s: t.work_s,
            overlap_s: t.overlap_s,
            attention_flops: t.attention_flops,
            memory: mem,
        }
    }
}

/// One step of decode sequences and prefill tokens together (§T.1).
pub fn mixed_step(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    work: &Work,
) -> MixedStep {
    Instance::new(sp, rt, n_gpus, lay).mixed_step(work)
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
    Instance::new(sp, rt, n_gpus, lay).ttft_idle(isl, chunk_size)
}

impl Instance<'_, '_> {
    /// [`ttft_idle`] of this instance.
    pub fn ttft_idle(&self, isl: f64, chunk_size: f64) -> f64 {
        let mut total = 0.0;
        let mut done = 0.0;
        while done < isl {
            let c = chunk_size.min(isl - done);
            let work = Work {
                decode_seqs: 0.0,
                decode_ctx: 0.0,
                prefill_tokens: c,
                chunk: c,
                prefix: done,
                capacity_seqs: 1.0,
                capacity_ctx: done + c,
            };
            total += self.mixed_step(&work).latency_s;
            done += c;
        }
        total
    }
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

/// The request lengths a steady state serves beyond their means (§T.10): uniform lengths, or
/// histograms entering through their moments. Every field is computed by
/// `traffic_reference.lengths_moments` in Python, so both engines see the same numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Lengths {
    /// ℓ_d: the mean context of a decoding sequence, E[I] + (E[O²]/E[O] − 1)/2.
    pub decode_ctx: f64,
    /// The context memory is checked at: E[I] + E[O²]/E[O].
    pub capacity_ctx: f64,
    /// Ī = E[I²]/E[I]: the prompt a prefill token belongs to, on average (chunk shape, wait).
    pub token_isl: f64,
    /// (prompt length, probability) of each histogram bin.
    pub prompts: Vec<(f64, f64)>,
}

impl Lengths {
    /// One ISL and one OSL.
    pub fn uniform(tr: Traffic) -> Self {
        Self {
            decode_ctx: tr.isl + (tr.osl - 1.0) / 2.0,
            capacity_ctx: tr.isl + tr.osl,
            token_isl: tr.isl,
            prompts: vec![(tr.isl, 1.0)],
        }
    }
}

/// Relative width of the decode-batch bracket at which the closed-loop solver stops (§T.3).
pub const BATCH_TOLERANCE: f64 = 1e-12;
/// Bisections of the closed-loop solver's decode batch within its piece at most (§T.3).
pub const BATCH_ITERATIONS: usize = 200;
/// Decode batches per stage whose steps a [`Solver`] keeps.
const CACHE_LIMIT: usize = 1 << 16;

/// The steady state at one rate before its memory is reported.
#[derive(Debug, Clone, Copy)]
struct Solved {
    x: f64,
    tpot: f64,
    ttft: f64,
    b: f64,
    rho: f64,
    td: f64,
    tm: f64,
    saturated: bool,
}

/// The steady-state solver of one instance and traffic (§T.3). Step times depend on the
/// load only through k = ceil(B/pp), the decode batch per stage, so t_d(k), t_m(k) and the
/// prompt's own chunks own(k) are kept per k: rows of one instance and traffic at many
/// loads share them (the results do not depend on what is kept).
pub struct Solver<'s, 'a> {
    inst: Instance<'s, 'a>,
    tr: Traffic,
    lengths: Lengths,
    chunk: f64,
    prefix: f64,
    prefill_seqs: f64,
    /// Σ_j p_j·ceil(I_j/K): budget steps a prompt's prefill spans, on average.
    prompt_chunks: f64,
    max_batch: f64,
    fits: bool,
    kept: Vec<[f64; 3]>,
}

impl<'s, 'a> Solver<'s, 'a> {
    pub fn new(inst: Instance<'s, 'a>, tr: Traffic) -> Self {
        Self::with_lengths(inst, tr, Lengths::uniform(tr))
    }

    /// The solver of `tr`'s mean lengths with the rest of their distribution in `lengths`.
    pub fn with_lengths(inst: Instance<'s, 'a>, tr: Traffic, lengths: Lengths) -> Self {
        let budget = tr.budget;
        let chunk = budget.min(lengths.token_isl);
        let prefill_seqs = budget / chunk;
        let mem = inst.memory(prefill_seqs, lengths.capacity_ctx);
        let mut prompt_chunks = 0.0;
        for &(i, p) in &lengths.prompts {
            prompt_chunks += p * (i / budget).ceil();
        }
        Self {
            inst,
            tr,
            chunk,
            prefix: (lengths.token_isl - chunk) / 2.0,
            prefill_seqs,
            prompt_chunks,
            max_batch: mem.max_batch_size,
            fits: mem.fits(),
            lengths,
            kept: Vec::new(),
        }
    }

    /// Σ_j p_j·TTFT_idle(I_j): the idle TTFT of a prompt, on average over the lengths.
    pub fn ttft_idle(&self) -> f64 {
        let mut total = 0.0;
        for &(i, p) in &self.lengths.prompts {
            total += p * self.inst.ttft_idle(i, self.tr.budget);
        }
        total
    }

    fn work(&self, k: f64, tokens: f64, chunk: f64, prefix: f64) -> Work {
        Work {
            decode_seqs: k * f64::from(self.inst.lay.pp),
            decode_ctx: self.lengths.decode_ctx,
            prefill_tokens: tokens,
            chunk,
            prefix,
            capacity_seqs: 0.0,
            capacity_ctx: 0.0,
        }
    }

    /// [t_d, t_m, own] at k decode sequences per stage; own is NaN until asked for.
    fn steps(&mut self, k: f64, own: bool) -> [f64; 3] {
        let i = k as usize;
        if let Some(v) = self.kept.get(i) {
            if !v[0].is_nan() && (!own || !v[2].is_nan()) {
                return *v;
            }
        }
        let mut v = match self.kept.get(i) {
            Some(v) if !v[0].is_nan() => *v,
            _ => {
                let td = self.inst.step(&self.work(k, 0.0, self.chunk, 0.0)).step_s;
                let tm = self
                    .inst
                    .step(&self.work(k, self.tr.budget, self.chunk, self.prefix))
                    .step_s;
                [td, tm, f64::NAN]
            }
        };
        if own && v[2].is_nan() {
            v[2] = self.own_chunks(k);
        }
        if i < CACHE_LIMIT {
            if self.kept.len() <= i {
                self.kept.resize(i + 1, [f64::NAN; 3]);
            }
            self.kept[i] = v;
        }
        v
    }

    /// The prompt's own chunks, each in a step with the k·pp decoding sequences and no other
    /// prompt: Σ_j p_j·(the chunks of a prompt of I_j tokens).
    fn own_chunks(&self, k: f64) -> f64 {
        let budget = self.tr.budget;
        let mut mean = 0.0;
        for &(isl, p) in &self.lengths.prompts {
            let mut total = 0.0;
            let mut done = 0.0;
            while done < isl {
                let c = budget.min(isl - done);
                total += self.inst.step(&self.work(k, c, c, done)).step_s;
                done += c;
            }
            mean += p * total;
        }
        mean
    }

    /// (1 − ρ)·t_d + ρ·t_m − T at rate x and TPOT T in piece k.
    fn excess(&mut self, x: f64, k: f64, t: f64) -> f64 {
        let [td, tm, _] = self.steps(k, false);
        let rho = x * self.tr.isl * t / self.tr.budget;
        (1.0 - rho) * td + rho * tm - t
    }

    fn saturated(x: f64) -> Solved {
        Solved {
            x,
            tpot: f64::INFINITY,
            ttft: f64::INFINITY,
            b: f64::INFINITY,
            rho: 1.0,
            td: f64::INFINITY,
            tm: f64::INFINITY,
            saturated: true,
        }
    }

    /// TPOT, TTFT and the batch at x requests/s, the least crossing (§T.3).
    fn solve(&mut self, x: f64) -> Solved {
        let Traffic { isl, osl, budget } = self.tr;
        let pp = f64::from(self.inst.lay.pp);
        if !(self.fits && self.max_batch >= 1.0) {
            return Self::saturated(x);
        }
        let (k, tpot) = if x <= 0.0 {
            (0.0, self.steps(0.0, false)[0])
        } else {
            let cap_rho = budget / (x * isl);
            // Occupancy B + ρ·budget/c = x·T·(OSL + ISL/c) (Little: decoding sequences and the
            // prompts of the mean step's chunks) within max_batch_size.
            let cap_mem = self.max_batch / (x * (osl + isl / self.chunk));
            // Just inside the bound: at it exactly, rounding decides whether the occupancy fits
            // and so whether a load is saturated.
            let hi = cap_rho.min(cap_mem) * SATURATION;
            if hi.is_nan() || hi <= 0.0 {
                return Self::saturated(x);
            }
            // T lies in piece k: (k − 1)·pp < x·OSL·T ≤ k·pp.
            let end = |k: f64| (k * pp / (x * osl)).min(hi);
            let k_hi = (x * osl * hi / pp).ceil().max(1.0);
            // From T = 0, T' = (1 − ρ)·t_d + ρ·t_m(T) never passes the least crossing while
            // the step times grow with T: jump piece by piece (at least one piece a jump) to the
            // first piece whose end has excess ≤ 0; saturated when that is not below the
            // bracket's piece and the bracket's end has excess > 0 (or NaN). Step times jump at
            // GEMM tiles, so the excess at a piece's end changes sign more than once: no search
            // over k that assumes one crossing, and no saturation from the bracket's end alone.
            let mut k = 1.0;
            while k < k_hi {
                let t = end(k);
                let e = self.excess(x, k, t);
                if e.is_nan() {
                    return Self::saturated(x);
                }
                if e <= 0.0 {
                    break;
                }
                k = ((e + t) * x * osl / pp).ceil().max(k + 1.0);
            }
            if k >= k_hi {
                let at_hi = self.excess(x, k_hi, hi);
                if at_hi.is_nan() || at_hi > 0.0 {
                    return Self::saturated(x);
                }
                k = k_hi;
            }
            // In piece k the step times are constant: T = t_d/(1 − (x·ISL/K)·(t_m − t_d)),
            // or the piece's start when the crossing is the jump into it.
            let [td, tm, _] = self.steps(k, false);
            let start = (k - 1.0) * pp / (x * osl);
            let den = 1.0 - x * isl / budget * (tm - td);
            let t = if den > 0.0 {
                (td / den).max(start).min(end(k))
            } else {
                start
            };
            (k, if t > 0.0 { t } else { end(k) })
        };
        let [td, tm, own] = self.steps(k, true);
        let b = x * osl * tpot;
        let rho = x * isl * tpot / budget;
        let saturated =
            rho >= SATURATION || self.occupancy(b, rho) > self.max_batch || !tpot.is_finite();
        let ttft = if saturated {
            f64::INFINITY
        } else {
            self.ttft(rho, tpot, own, tm)
        };
        Solved {
            x,
            tpot,
            ttft,
            b,
            rho,
            td,
            tm,
            saturated,
        }
    }

    /// TTFT at prefill share ρ: the M/G/1 (Pollaczek–Khinchine) wait for the budget,
    /// E[S²]/E[S] = (Ī/K)·TPOT for S = (I/K)·TPOT, then the prompt's own chunks with
    /// probability 1 − ρ or its budget steps t_m with probability ρ.
    fn ttft(&self, rho: f64, tpot: f64, own: f64, tm: f64) -> f64 {
        let service = self.lengths.token_isl / self.tr.budget * tpot;
        let wait = rho * service / (2.0 * (1.0 - rho));
        wait + (1.0 - rho) * own + rho * self.prompt_chunks * tm
    }

    /// The sequences memory holds: the `b` decoding ones and the mean step's prompts, a fraction
    /// `rho` of the steps carrying budget/c of them (docs/serving.md §T.3).
    fn occupancy(&self, b: f64, rho: f64) -> f64 {
        b + rho * self.prefill_seqs
    }

    fn steady(&self, s: Solved) -> Steady {
        let capacity = if s.b.is_finite() && s.rho.is_finite() {
            self.occupancy(s.b, s.rho)
        } else {
            self.prefill_seqs
        };
        Steady {
            requests_per_s: s.x,
            tpot_s: s.tpot,
            ttft_s: s.ttft,
            decode_seqs: s.b,
            prefill_share: s.rho,
            decode_step_s: s.td,
            mixed_step_s: s.tm,
            saturated: s.saturated,
            memory: self.inst.memory(capacity, self.lengths.capacity_ctx),
        }
    }

    /// In-flight batching at `rate` requests/s (§T.3).
    pub fn at_rate(&mut self, rate: f64) -> Steady {
        let s = self.solve(rate);
        self.steady(s)
    }

    /// The steady state with `b` sequences decoding, in piece k ((k − 1)·pp < b ≤ k·pp):
    /// Little's law on both phases gives ρ = b·ISL/(OSL·K), so TPOT = (1 − ρ)·t_d + ρ·t_m,
    /// x = b/(OSL·TPOT) and TTFT follow from b alone (§T.3, closed loop).
    fn at_batch(&mut self, b: f64, k: f64) -> Solved {
        let [td, tm, own] = self.steps(k, true);
        let Traffic { isl, osl, budget } = self.tr;
        let rho = b * isl / (osl * budget);
        let tpot = (1.0 - rho) * td + rho * tm;
        let x = b / (osl * tpot);
        Solved {
            x,
            tpot,
            ttft: self.ttft(rho, tpot, own, tm),
            b,
            rho,
            td,
            tm,
            saturated: false,
        }
    }

    /// Requests in flight, Little's law: x·(TTFT + OSL·TPOT).
    fn in_flight(&self, s: &Solved) -> f64 {
        s.x * (s.ttft + self.tr.osl * s.tpot)
    }

    /// A closed loop of `concurrency` requests (§T.3): the decode batch b whose steady state
    /// holds N in flight. Found over b, not over the rate: at one rate the step times' jumps at
    /// GEMM tiles can give several crossings, and the least one may jump over every b of the
    /// loop, but each b has one steady state. The in-flight count grows with b within a piece;
    /// at a piece's start it can fall back a little (the steps slow down), so the piece is the
    /// first whose end holds ≥ N by bisection over pieces, then b by bisection within it (the
    /// end of the piece below when N falls in the jump). Memory and ρ < 1 bound b; a loop
    /// larger than that bound holds the bound and the rest wait.
    pub fn at_concurrency(&mut self, concurrency: f64) -> Steady {
        let idle = self.solve(0.0);
        if idle.saturated || !idle.tpot.is_finite() {
            let mut s = Self::saturated(0.0);
            s.b = 0.0;
            s.rho = 0.0;
            return self.steady(s);
        }
        let n = concurrency;
        let pp = f64::from(self.inst.lay.pp);
        let Traffic { isl, osl, budget } = self.tr;
        let a = isl / (osl * budget);
        let b_cap = (self.max_batch / (1.0 + a * self.prefill_seqs)).min(1.0 / a) * SATURATION;
        let k_cap = (b_cap / pp).ceil();
        let at_cap = self.at_batch(b_cap, k_cap);
        let held = self.in_flight(&at_cap);
        if held <= n || held.is_nan() {
            return self.steady(at_cap);
        }
        let end = |k: f64| (k * pp).min(b_cap);
        let (mut lo_k, mut hi_k) = (0.0, k_cap);
        while hi_k - lo_k > 1.0 {
            let mid = ((lo_k + hi_k) / 2.0).floor();
            let s = self.at_batch(end(mid), mid);
            if self.in_flight(&s) >= n {
                hi_k = mid;
            } else {
                lo_k = mid;
            }
        }
        let k = hi_k;
        let mut lo = (k - 1.0) * pp;
        if k > 1.0 {
            let s = self.at_batch(lo, k);
            if self.in_flight(&s) >= n {
                let s = self.at_batch(lo, k - 1.0);
                return self.steady(s);
            }
        }
        let mut hi = end(k);
        for _ in 0..BATCH_ITERATIONS {
            if hi - lo <= BATCH_TOLERANCE * hi {
                break;
            }
            let mid = 0.5 * (lo + hi);
            let s = self.at_batch(mid, k);
            if self.in_flight(&s) >= n {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let s = self.at_batch(hi, k);
        self.steady(s)
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
    Solver::new(Instance::new(sp, rt, n_gpus, lay), tr).at_rate(rate)
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
    Solver::new(Instance::new(sp, rt, n_gpus, lay), tr).at_concurrency(concurrency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serving::layout::TP8;
    use crate::serving::runtime::Precision;
    use crate::serving::step::decode_step;
    use crate::spec::examples::{h100, llama_70b};

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
