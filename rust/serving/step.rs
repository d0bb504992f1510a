//! One decode step of one layout (docs/serving.md §S) and the best layout (§L).
//!
//! Per GPU of the busiest stage and attention-DP group, summed over the pipeline's stages:
//! `epoch`'s primitives (matmul and attention traffic, attention FLOPs, collectives) with the
//! layout's integer degrees, each component's precision, and the runtime's costs. Operations
//! run in `serving_reference.py`'s order so both round alike. A step of S > 1 new tokens per
//! sequence (verification; later, a prefill chunk on top of ℓ cached tokens) uses `epoch`'s
//! mean context ℓ + (S − 1)/2 for attention.

use crate::arithmetic::{attention_flop, attention_traffic, flop, matmul_traffic};
use crate::collective::{collective, Cost, Kind};
use crate::forward::{GroupPrep, Prepared};
use crate::spec::{Hardware, Model, SpecError};

use super::layout::{layouts, memory, Layout, Memory, Pins};
use super::runtime::{Precision, Runtime};

/// Per (model, hardware, precision) constants.
pub struct ServingPrep<'a> {
    pub epoch: Prepared<'a>,
    pub precision: Precision,
    /// Peak FLOP/s of the attention, dense-FFN and expert GEMMs.
    rates_peak: [f64; 3],
    /// P_attn per layer and P_emb.
    attention_params: f64,
    embedding_params: f64,
}

fn rate_for(hw: &Hardware, bits: f64, model: &Model, what: &str) -> Result<f64, SpecError> {
    let slot = [4.0, 8.0, 16.0].iter().position(|&b| b == bits);
    slot.and_then(|i| hw.flops_by_bits[i])
        .ok_or_else(|| SpecError {
            spec: format!("gpu '{}'", hw.name),
            field: "flops_by_bits",
            message: format!(
                "has no {bits}-bit rate for precision field '{what}' of model '{}'",
                model.name
            ),
        })
}

impl<'a> ServingPrep<'a> {
    pub fn new(
        model: &'a Model,
        hw: &'a Hardware,
        precision: Precision,
    ) -> Result<Self, SpecError> {
        let epoch = Prepared::new(model, hw)?;
        let rates_peak = [
            rate_for(hw, precision.attention_bits, model, "attention_compute")?,
            rate_for(hw, precision.ffn_bits, model, "ffn_compute")?,
            rate_for(hw, precision.expert_bits, model, "expert_compute")?,
        ];
        Ok(Self {
            epoch,
            precision,
            rates_peak,
            attention_params: model.attention_params_per_layer(),
            embedding_params: model.embedding_params(),
        })
    }

    /// Peak FLOP/s at the attention compute precision (MFU's denominator).
    pub fn attention_peak(&self) -> f64 {
        self.rates_peak[0]
    }

    /// Peak FLOP/s of the attention, dense-FFN and expert GEMMs (before the GEMM efficiency).
    pub fn peak_rates(&self) -> [f64; 3] {
        self.rates_peak
    }

    /// (P_attn per layer, P_emb), precomputed.
    pub fn params(&self) -> (f64, f64) {
        (self.attention_params, self.embedding_params)
    }
}

/// One decode step: its components, memory and layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub layout: Layout,
    /// The step time; infinite when the layout does not fit.
    pub latency_s: f64,
    pub feasible: bool,
    pub overhead_s: f64,
    pub kernel_s: f64,
    pub network_latency_s: f64,
    pub network_bandwidth_s: f64,
    /// The MoE dispatch and combine all-to-alls: a part of the network latency and bandwidth.
    pub all_to_all_s: f64,
    pub weight_memory_s: f64,
    pub kv_memory_s: f64,
    pub compute_s: f64,
    pub overlap_s: f64,
    pub memory: Memory,
}

impl Step {
    pub fn memory_s(&self) -> f64 {
        self.weight_memory_s + self.kv_memory_s
    }

    /// The step's time whether or not it fits.
    pub fn step_s(&self) -> f64 {
        self.overhead_s
            + self.kernel_s
            + (self.network_latency_s + self.network_bandwidth_s)
            + self.memory_s().max(self.compute_s)
            - self.overlap_s
    }
}

/// Tokens a GEMM computes over x tokens in tiles of `tile` tokens (0: none) (§R.3).
#[inline]
pub fn pad(x: f64, tile: f64) -> f64 {
    if tile <= 0.0 {
        x
    } else {
        (x / tile).ceil() * tile
    }
}

/// Tokens on the busiest EP rank over the mean (§R.4).
pub fn expert_imbalance(rt: &Runtime, tokens: f64, k: f64, ep: f64) -> f64 {
    if ep <= 1.0 {
        return 1.0;
    }
    if let Some(f) = rt.expert_imbalance {
        return f;
    }
    let routes = tokens * k;
    if routes <= 0.0 {
        return 1.0;
    }
    ep.min(1.0 + (2.0 * ep.ln() * (1.0 - 1.0 / ep) * ep / routes).sqrt())
}

/// Kernels one step launches (§R.2): `epoch`'s 4·L, or counted per decoder layer.
pub fn kernel_launches(m: &Model, groups: &[GroupPrep], rt: &Runtime) -> f64 {
    let Some(attention) = rt.attention_kernels else {
        return 4.0 * m.n_layers;
    };
    let per_attention = attention
        + if m.mla.is_some() {
            rt.mla_extra_kernels
        } else {
            0.0
        };
    let mut total = m.n_layers * per_attention;
    for g in groups {
        let mut ffn = if g.n_experts > 1.0 {
            rt.moe_kernels
        } else {
            rt.dense_ffn_kernels
        };
        if g.n_shared_experts != 0.0 {
            ffn += rt.dense_ffn_kernels;
        }
        total += g.n_layers * ffn;
    }
    total
}

/// What a step's tokens cost apart from attention over the cache (one implementation for the
/// decode step and the mixed step of docs/serving.md §T): weight streaming, the GEMM FLOPs of
/// the projections, FFNs and experts, and the network (all-reduces, EP all-to-all, pipeline
/// sends), for `n` tokens per pipeline stage of which `ng` in one attention-DP group.
#[derive(Debug, Clone, Copy)]
pub struct TokenWork {
    /// Weight bytes streamed per GPU.
    pub stream: f64,
    /// Attention projection FLOPs per GPU (without attention over the cache).
    pub flops_attn: f64,
    /// Dense FFN, shared-expert and unembedding FLOPs per GPU.
    pub flops_ffn: f64,
    /// Routed-expert FLOPs per GPU.
    pub flops_exp: f64,
    /// All network time.
    pub net: Cost,
    /// The MoE dispatch and combine part of `net`.
    pub all_to_all: Cost,
}

/// [`TokenWork`] of `n` tokens per stage, `ng` per attention-DP group, under `lay`.
pub fn token_work(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    lay: Layout,
    n: f64,
    ng: f64,
) -> TokenWork {
    let prep = &sp.epoch;
    let (m, hw, prec) = (prep.model, prep.hw, &sp.precision);
    let (tp, ep, pp) = (f64::from(lay.tp), f64::from(lay.ep), f64::from(lay.pp));
    let t = f64::from(lay.stage());
    let et = f64::from(lay.expert_tp());
    let node = hw.gpus_per_node;
    let (a, d, layers) = (prec.activations, m.d_model, m.n_layers);
    let mats = m.ffn_up_matrices + m.ffn_down_matrices;
    let tile = rt.gemm_tile_tokens;

    let mut stream = layers
        * attention_traffic(
            m,
            prep.attention_width,
            prep.heads_x_head_dim,
            ng,
            tp,
            prec.attention,
            a,
        )
        / tp;
    let flops_attn = layers * 2.0 * sp.attention_params * pad(ng, tile) / tp;
    let mut flops_ffn = 0.0;
    let mut flops_exp = 0.0;
    let mut net = Cost::default();
    let mut all_to_all = Cost::default();
    let nodes = |r: f64| (r / node).ceil();

    net.add_scaled(
        layers,
        collective(hw, tp, nodes(tp), ng * d * a, Kind::AllReduce),
    );
    for g in &prep.groups {
        let lg = g.n_layers;
        if g.n_experts > 1.0 {
            let k = g.n_experts_active;
            let imb = expert_imbalance(rt, n, k, ep);
            let touched = 1.0 - (1.0 - 1.0 / g.sparsity).powf(n);
            let active = g.n_experts / ep * touched;
            let rank_tokens = n * k / ep * imb;
            let per_expert = if active > 0.0 {
                rank_tokens / active
            } else {
                0.0
            };
            stream +=
                lg * active * mats * matmul_traffic(d, g.d_ff, per_expert, et, prec.experts, a)
                    / et;
            flops_exp += lg * 2.0 * mats * d * g.d_ff * active * pad(per_expert, tile) / et;
            if lay.ep > 1 {
                let ep_nodes = nodes(ep);
                let dispatch = collective(
                    hw,
                    ep,
                    ep_nodes,
                    rank_tokens * d * prec.dispatch,
                    Kind::AllToAll,
                );
                let combine = collective(hw, ep, ep_nodes, rank_tokens * d * a, Kind::AllToAll);
                net.add_scaled(lg, dispatch);
                net.add_scaled(lg, combine);
                all_to_all.add_scaled(lg, dispatch);
                all_to_all.add_scaled(lg, combine);
                net.add_scaled(
                    lg,
                    collective(hw, et, nodes(et), rank_tokens * d * a, Kind::AllReduce),
                );
            } else {
                net.add_scaled(lg, collective(hw, t, nodes(t), n * d * a, Kind::AllReduce));
            }
        } else {
            stream += lg * mats * matmul_traffic(d, g.d_ff, n, t, prec.dense_ffn, a) / t;
            flops_ffn += lg * 2.0 * mats * d * g.d_ff * pad(n, tile) / t;
            net.add_scaled(lg, collective(hw, t, nodes(t), n * d * a, Kind::AllReduce));
        }
        if g.n_shared_experts != 0.0 {
            stream += lg
                * g.n_shared_experts
                * mats
                * matmul_traffic(d, g.shared_d_ff, n, t, prec.dense_ffn, a)
                / t;
            flops_ffn +=
                lg * g.n_shared_experts * 2.0 * mats * d * g.shared_d_ff * pad(n, tile) / t;
        }
    }
    stream += m.vocab_size * d * prec.embeddings / tp;
    flops_ffn += 2.0 * sp.embedding_params * pad(ng, tile) / tp;
    if lay.pp > 1 {
        let p2p_nodes = if f64::from(n_gpus) > node { 2.0 } else { 1.0 };
        net.add_scaled(
            pp - 1.0,
            collective(hw, 2.0, p2p_nodes, d * n * a / t, Kind::P2p),
        );
    }

    TokenWork {
        stream,
        flops_attn,
        flops_ffn,
        flops_exp,
        net,
        all_to_all,
    }
}

/// One step of `positions` new tokens per sequence under `lay` (§S).
pub fn decode_step(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    batch: f64,
    ctx: f64,
    positions: f64,
    lay: Layout,
) -> Step {
    let prep = &sp.epoch;
    let (m, hw, prec) = (prep.model, prep.hw, &sp.precision);
    let s_pos = positions;
    let (tp, dp, pp) = (
        f64::from(lay.tp),
        f64::from(lay.attention_dp),
        f64::from(lay.pp),
    );
    let bm = (batch / pp).ceil();
    let bg = (bm / dp).ceil();
    let n = bm * s_pos;
    let ng = bg * s_pos;

    let TokenWork {
        stream,
        mut flops_attn,
        flops_ffn,
        flops_exp,
        net,
        all_to_all,
    } = token_work(sp, rt, n_gpus, lay, n, ng);
    // b_g sequences of S positions each (F_kv counts n·S query positions).
    flops_attn += attention_flop(m, ctx + (s_pos - 1.0) / 2.0, bg, s_pos) / tp;

    let mem = memory(
        m,
        hw,
        &prep.groups,
        sp.attention_params,
        sp.embedding_params,
        prep.kv_bytes_at(ctx),
        batch,
        lay,
        rt,
        prec,
    );
    let load = StepLoad {
        stream,
        kv_bytes: bg * mem.kv_per_sequence,
        flops: [flops_attn, flops_ffn, flops_exp],
        net,
        all_to_all,
    };
    let feasible = mem.fits() && batch <= mem.max_batch_size;
    timed_step(sp, rt, lay, &load, mem, feasible)
}

/// What a step moves and computes per GPU, before the runtime turns it into time (§S).
#[derive(Debug, Clone, Copy)]
pub struct StepLoad {
    /// Weight (and activation) bytes streamed.
    pub stream: f64,
    /// KV-cache bytes read (and written).
    pub kv_bytes: f64,
    /// FLOPs at the attention, dense-FFN and expert compute rates.
    pub flops: [f64; 3],
    pub net: Cost,
    /// The MoE dispatch and combine part of `net`.
    pub all_to_all: Cost,
}

/// A step's time from its load (§S, "Step"): one implementation for the decode step and the
/// speculative draft and verification passes (docs/serving.md §D).
pub fn timed_step(
    sp: &ServingPrep,
    rt: &Runtime,
    lay: Layout,
    load: &StepLoad,
    mem: Memory,
    feasible: bool,
) -> Step {
    let prep = &sp.epoch;
    let (m, hw) = (prep.model, prep.hw);
    let net = load.net;
    let beta = hw.hbm_bandwidth;
    let w_eff = rt.weight_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
    let kv_eff = rt.kv_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
    let weight_s = load.stream / (beta * w_eff);
    let kv_s = load.kv_bytes / (beta * kv_eff);
    let eff = rt.gemm_efficiency.unwrap_or(hw.flop_utilization);
    let [flops_attn, flops_ffn, flops_exp] = load.flops;
    let compute_s = flops_attn / (sp.rates_peak[0] * eff)
        + flops_ffn / (sp.rates_peak[1] * eff)
        + flops_exp / (sp.rates_peak[2] * eff);

    let per_kernel = if rt.cuda_graphs {
        rt.graph_kernel_s
    } else {
        rt.launch_kernel_s.unwrap_or(hw.kernel_latency_s)
    };
    let kernel_s = kernel_launches(m, &prep.groups, rt) * per_kernel;
    let work = (weight_s + kv_s).max(compute_s);
    let hidden = rt.overlap * (net.latency + net.bandwidth).min(work);
    let total = rt.step_overhead_s + kernel_s + (net.latency + net.bandwidth) + work - hidden;
    Step {
        layout: lay,
        latency_s: if feasible { total } else { f64::INFINITY },
        feasible,
        overhead_s: rt.step_overhead_s,
        kernel_s,
        network_latency_s: net.latency,
        network_bandwidth_s: net.bandwidth,
        all_to_all_s: load.all_to_all.latency + load.all_to_all.bandwidth,
        weight_memory_s: weight_s,
        kv_memory_s: kv_s,
        compute_s,
        overlap_s: hidden,
        memory: mem,
    }
}

/// The fastest feasible layout of `candidates` (the first on ties); when none fits, the one
/// with the largest max_batch_size, then the fastest, reported infeasible.
pub fn best_of(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    batch: f64,
    ctx: f64,
    positions: f64,
    candidates: &[Layout],
) -> Step {
    best_by(candidates, |lay| {
        let st = decode_step(sp, rt, n_gpus, batch, ctx, positions, lay);
        (st, Rank::of(&st))
    })
}

/// What [`best_by`] ranks a layout by.
#[derive(Debug, Clone, Copy)]
pub struct Rank {
    pub feasible: bool,
    pub latency_s: f64,
    pub max_batch_size: f64,
    /// The time whether or not it fits.
    pub step_s: f64,
}

impl Rank {
    pub fn of(st: &Step) -> Self {
        Self {
            feasible: st.feasible,
            latency_s: st.latency_s,
            max_batch_size: st.memory.max_batch_size,
            step_s: st.step_s(),
        }
    }
}

/// [`best_of`]'s rule over any evaluation: `eval` gives each layout's result and its rank
/// (one implementation for the decode step and the speculative step).
pub fn best_by<T: Copy>(candidates: &[Layout], mut eval: impl FnMut(Layout) -> (T, Rank)) -> T {
    let mut best: Option<(T, Rank)> = None;
    let mut closest: Option<(T, Rank)> = None;
    for &lay in candidates {
        let (out, r) = eval(lay);
        if r.feasible && best.as_ref().map_or(true, |b| r.latency_s < b.1.latency_s) {
            best = Some((out, r));
        }
        let better = closest.as_ref().map_or(true, |(_, c)| {
            r.max_batch_size > c.max_batch_size
                || (r.max_batch_size == c.max_batch_size && r.step_s < c.step_s)
        });
        if better {
            closest = Some((out, r));
        }
    }
    best.or(closest).expect("at least one candidate layout").0
}

/// [`best_of`] over every layout matching `pins`.
pub fn best_step(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: u32,
    batch: f64,
    ctx: f64,
    positions: f64,
    pins: Pins,
) -> Result<Step, SpecError> {
    let candidates = layouts(sp.epoch.model, n_gpus, pins)?;
    Ok(best_of(sp, rt, n_gpus, batch, ctx, positions, &candidates))
}

/// MODEL.md §7 for a serving step; MFU over the attention compute precision's peak.
#[derive(Debug, Clone, Copy)]
pub struct Economics {
    pub tokens_per_s_per_request: f64,
    pub gpu_seconds_per_token: f64,
    pub usd_per_million_tokens: f64,
    pub tokens_per_s_per_gpu: f64,
    pub mfu: f64,
}

pub fn economics(
    sp: &ServingPrep,
    n_gpus: f64,
    batch: f64,
    ctx: f64,
    positions: f64,
    latency_s: f64,
) -> Economics {
    let prep = &sp.epoch;
    let gpu_s = n_gpus * latency_s / (batch * positions);
    Economics {
        tokens_per_s_per_request: positions / latency_s,
        gpu_seconds_per_token: gpu_s,
        usd_per_million_tokens: 1e6 * gpu_s * prep.hw.usd_per_hour / 3600.0,
        tokens_per_s_per_gpu: batch * positions / (n_gpus * latency_s),
        mfu: flop(prep.model, prep.active_params, ctx, batch, positions)
            / (n_gpus * sp.attention_peak() * latency_s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{best_pass, Point};
    use crate::spec::examples::{h100, llama_70b};

    /// `epoch`'s own costs: Runtime::ideal with the GPU's caps and τ (Python's `Runtime.epoch()`).
    fn epoch_runtime() -> Runtime {
        Runtime {
            weight_bandwidth_efficiency: None,
            kv_bandwidth_efficiency: None,
            gemm_efficiency: None,
            ..Runtime::ideal()
        }
    }

    #[test]
    fn tp8_bridges_to_epoch() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let prep = Prepared::new(&m, &hw).unwrap();
        for (batch, ctx) in [(1.0, 0.0), (32.0, 4096.0)] {
            let lay = Layout {
                tp: 8,
                pp: 1,
                ep: 1,
                attention_dp: 1,
            };
            let st = decode_step(&sp, &epoch_runtime(), 8, batch, ctx, 1.0, lay);
            let pass = best_pass(
                &prep,
                Point {
                    n_gpus: 8.0,
                    batch,
                    context: ctx,
                    positions: 1.0,
                    use_pp: false,
                },
            );
            assert!(((st.latency_s - pass.latency_s) / pass.latency_s).abs() < 1e-9);
        }
    }

    #[test]
    fn kv_heads_replicate_beyond_tp8() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let kv = |tp: u32| {
            let lay = Layout {
                tp,
                pp: 1,
                ep: 1,
                attention_dp: 1,
            };
            decode_step(&sp, &Runtime::ideal(), tp, 1.0, 1000.0, 1.0, lay)
                .memory
                .kv
        };
        // One of 8 KV heads: 2·128·2·80 = 40,960 B per token, at TP8 and (replicated) TP16.
        assert_eq!(kv(8), 40_960.0 * 1000.0);
        assert_eq!(kv(16), kv(8));
        assert_eq!(kv(4), 2.0 * kv(8));
    }

    #[test]
    fn pinned_layouts_are_checked() {
        let m = llama_70b();
        let pins = |tp, ep| Pins {
            tp,
            ep,
            ..Pins::default()
        };
        assert_eq!(layouts(&m, 8, Pins::default()).unwrap().len(), 10);
        assert_eq!(layouts(&m, 8, pins(3, 0)).unwrap_err().field, "tp");
        assert_eq!(layouts(&m, 8, pins(8, 2)).unwrap_err().field, "ep");
    }
}
