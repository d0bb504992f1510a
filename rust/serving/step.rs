//! One decode step of one layout (docs/serving.md §S) and the best layout (§L).
//!
//! Per GPU of the busiest stage and attention-DP group, summed over the pipeline's stages:
//! `epoch`'s primitives (matmul and attention traffic, attention FLOPs, collectives) with the
//! layout's integer degrees, each component's precision, and the runtime's costs. Operations
//! run in `serving_reference.py`'s order so both round alike. A step of S > 1 new tokens per
//! sequence (verification; later, a prefill chunk on top of ℓ cached tokens) uses `epoch`'s
//! mean context ℓ + (S − 1)/2 for attention.

use crate::arithmetic::{attention_flop, flop, AttentionShape, MatmulShape};
use crate::collective::{CollectivePlan, Cost, Kind};
use crate::forward::{GroupPrep, Prepared};
use crate::spec::{Hardware, Model, SpecError};

use super::layout::{layouts, Layout, Memory, MemoryPlan, Pins};
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
    /// The memory-or-compute part of the step ([`roofline`]).
    pub work_s: f64,
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
            + self.work_s
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

/// A step's compute time and its memory-or-compute term (§S, §R.8): one implementation for the
/// decode step, the speculative passes and the mixed step. `weight_s` and `kv_s` are the step's
/// weight-stream and KV times, `weight_bw` the achieved weight bandwidth, `rates` the achieved
/// FLOP rates of the three GEMM classes (attention projections, dense FFN with shared experts and
/// the unembedding, routed experts), `streams` and `flops` each class's bytes and FLOPs, and
/// `cache_flops` the attention over the cache (at the attention rate). `epoch`'s one roofline over
/// the step is max(weight_s + kv_s, compute_s); with `operator_roofline` each operator class is
/// bound on its own and they run one after another: max(kv_s, cache) + Σ max(weights_c, gemms_c).
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn roofline(
    rt: &Runtime,
    weight_bw: f64,
    rates: [f64; 3],
    weight_s: f64,
    kv_s: f64,
    streams: [f64; 3],
    flops: [f64; 3],
    cache_flops: f64,
) -> (f64, f64) {
    let [f_attn, f_ffn, f_exp] = flops;
    let [r_attn, r_ffn, r_exp] = rates;
    let compute_s = (f_attn + cache_flops) / r_attn + f_ffn / r_ffn + f_exp / r_exp;
    let work = if rt.operator_roofline {
        kv_s.max(cache_flops / r_attn)
            + (streams[0] / weight_bw).max(f_attn / r_attn)
            + (streams[1] / weight_bw).max(f_ffn / r_ffn)
            + (streams[2] / weight_bw).max(f_exp / r_exp)
    } else {
        (weight_s + kv_s).max(compute_s)
    };
    (compute_s, work)
}

/// Tokens on the busiest EP rank over the mean (§R.4).
pub fn expert_imbalance(rt: &Runtime, tokens: f64, k: f64, ep: f64) -> f64 {
    imbalance(rt, tokens, k, ep, imbalance_coefficient(ep))
}

/// 2·ln(ep)·(1 − 1/ep)·ep: the part of [`expert_imbalance`] that depends on ep only.
fn imbalance_coefficient(ep: f64) -> f64 {
    if ep <= 1.0 {
        return 0.0;
    }
    2.0 * ep.ln() * (1.0 - 1.0 / ep) * ep
}

/// [`expert_imbalance`] given [`imbalance_coefficient`]`(ep)`.
#[inline]
fn imbalance(rt: &Runtime, tokens: f64, k: f64, ep: f64, coefficient: f64) -> f64 {
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
    ep.min(1.0 + (coefficient / routes).sqrt())
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
    /// The same bytes per GEMM class: attention projections, dense FFN (with shared experts and
    /// the unembedding), routed experts.
    pub streams: [f64; 3],
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

/// The matmuls of one layer group under a layout: its routed-expert or dense FFN matrices and
/// its shared experts'.
#[derive(Debug, Clone, Copy)]
struct GroupShapes {
    ffn: MatmulShape,
    shared: Option<MatmulShape>,
}

/// What [`TokenWork`] needs of a layout that does not depend on the tokens: its degrees, its
/// matmul shapes and the plans of its collectives. A shape or a plan gives the bits of the
/// direct expression (`collective(hw, R, nodes, X, kind)` is
/// `CollectivePlan::new(hw, R, nodes, kind).cost(X)`, `matmul_traffic` is
/// `MatmulShape::new(..).traffic(n, a)`).
#[derive(Debug, Clone)]
pub struct TokenPlan {
    pub lay: Layout,
    tp: f64,
    ep: f64,
    pp: f64,
    /// GPUs of a stage, and of an expert-TP group.
    t: f64,
    et: f64,
    imbalance_coefficient: f64,
    /// V·d·w_emb / tp: the unembedding's bytes per GPU.
    unembedding_stream: f64,
    attention: AttentionShape,
    groups: Vec<GroupShapes>,
    /// The attention all-reduce over tp ranks, the dense-FFN all-reduce over the stage, the
    /// expert-TP all-reduce, the EP all-to-all and the pipeline send.
    attention_all_reduce: CollectivePlan,
    stage_all_reduce: CollectivePlan,
    expert_all_reduce: CollectivePlan,
    all_to_all: CollectivePlan,
    p2p: CollectivePlan,
}

impl TokenPlan {
    pub fn new(sp: &ServingPrep, rt: &Runtime, n_gpus: u32, lay: Layout) -> Self {
        let prep = &sp.epoch;
        let (m, hw, prec) = (prep.model, prep.hw, &sp.precision);
        let scale = rt.collective_latency_scale;
        let plan = |r: f64, nodes: f64, kind: Kind| {
            CollectivePlan::new(hw, r, nodes, kind).with_latency_scale(scale)
        };
        let (tp, ep, pp) = (f64::from(lay.tp), f64::from(lay.ep), f64::from(lay.pp));
        let t = f64::from(lay.stage());
        let et = f64::from(lay.expert_tp());
        let d = m.d_model;
        let node = hw.gpus_per_node;
        let nodes = |r: f64| (r / node).ceil();
        let p2p_nodes = if f64::from(n_gpus) > node { 2.0 } else { 1.0 };
        let groups = prep
            .groups
            .iter()
            .map(|g| GroupShapes {
                ffn: if g.n_experts > 1.0 {
                    MatmulShape::new(d, g.d_ff, et, prec.experts)
                } else {
                    MatmulShape::new(d, g.d_ff, t, prec.dense_ffn)
                },
                shared: (g.n_shared_experts != 0.0)
                    .then(|| MatmulShape::new(d, g.shared_d_ff, t, prec.dense_ffn)),
            })
            .collect();
        Self {
            lay,
            tp,
            ep,
            pp,
            t,
            et,
            imbalance_coefficient: imbalance_coefficient(ep),
            unembedding_stream: m.vocab_size * d * prec.embeddings / tp,
            attention: AttentionShape::new(
                m,
                prep.attention_width,
                prep.heads_x_head_dim,
                tp,
                prec.attention,
            ),
            groups,
            attention_all_reduce: plan(tp, nodes(tp), Kind::AllReduce),
            stage_all_reduce: plan(t, nodes(t), Kind::AllReduce),
            // Used only with expert parallelism (a one-rank plan costs nothing either way).
            expert_all_reduce: if lay.ep > 1 {
                plan(et, nodes(et), Kind::AllReduce)
            } else {
                CollectivePlan::new_trivial()
            },
            all_to_all: if lay.ep > 1 {
                plan(ep, nodes(ep), Kind::AllToAll)
            } else {
                CollectivePlan::new_trivial()
            },
            p2p: plan(2.0, p2p_nodes, Kind::P2p),
        }
    }

    /// [`TokenWork`] of `n` tokens per stage, `ng` per attention-DP group.
    pub fn token_work(&self, sp: &ServingPrep, rt: &Runtime, n: f64, ng: f64) -> TokenWork {
        let prep = &sp.epoch;
        let (m, prec) = (prep.model, &sp.precision);
        let (tp, ep, pp, t, et) = (self.tp, self.ep, self.pp, self.t, self.et);
        let (a, d, layers) = (prec.activations, m.d_model, m.n_layers);
        let mats = m.ffn_up_matrices + m.ffn_down_matrices;
        let tile = rt.gemm_tile_tokens;

        let mut stream = layers * self.attention.traffic(ng, a) / tp;
        let mut streams = [stream, 0.0, 0.0];
        let padded_ng = pad(ng, tile);
        let flops_attn = layers * 2.0 * sp.attention_params * padded_ng / tp;
        let mut flops_ffn = 0.0;
        let mut flops_exp = 0.0;
        let mut net = Cost::default();
        let mut all_to_all = Cost::default();

        net.add_scaled(layers, self.attention_all_reduce.cost(ng * d * a));
        for (g, shapes) in prep.groups.iter().zip(&self.groups) {
            let lg = g.n_layers;
            if g.n_experts > 1.0 {
                let k = g.n_experts_active;
                let imb = imbalance(rt, n, k, ep, self.imbalance_coefficient);
                let touched = 1.0 - (1.0 - 1.0 / g.sparsity).powf(n);
                let active = g.n_experts / ep * touched;
                let rank_tokens = n * k / ep * imb;
                let per_expert = if active > 0.0 {
                    rank_tokens / active
                } else {
                    0.0
                };
                let experts = lg * active * mats * shapes.ffn.traffic(per_expert, a) / et;
                stream += experts;
                streams[2] += experts;
                flops_exp += lg * 2.0 * mats * d * g.d_ff * active * pad(per_expert, tile) / et;
                if self.lay.ep > 1 {
                    let dispatch = self.all_to_all.cost(rank_tokens * d * prec.dispatch);
                    let combine = self.all_to_all.cost(rank_tokens * d * a);
                    net.add_scaled(lg, dispatch);
                    net.add_scaled(lg, combine);
                    all_to_all.add_scaled(lg, dispatch);
                    all_to_all.add_scaled(lg, combine);
                    net.add_scaled(lg, self.expert_all_reduce.cost(rank_tokens * d * a));
                } else {
                    net.add_scaled(lg, self.stage_all_reduce.cost(n * d * a));
                }
            } else {
                let dense = lg * mats * shapes.ffn.traffic(n, a) / t;
                stream += dense;
                streams[1] += dense;
                flops_ffn += lg * 2.0 * mats * d * g.d_ff * pad(n, tile) / t;
                net.add_scaled(lg, self.stage_all_reduce.cost(n * d * a));
            }
            if let Some(shared) = shapes.shared {
                let shared = lg * g.n_shared_experts * mats * shared.traffic(n, a) / t;
                stream += shared;
                streams[1] += shared;
                flops_ffn +=
                    lg * g.n_shared_experts * 2.0 * mats * d * g.shared_d_ff * pad(n, tile) / t;
            }
        }
        stream += self.unembedding_stream;
        streams[1] += self.unembedding_stream;
        flops_ffn += 2.0 * sp.embedding_params * padded_ng / tp;
        if self.lay.pp > 1 {
            net.add_scaled(pp - 1.0, self.p2p.cost(d * n * a / t));
        }

        TokenWork {
            stream,
            streams,
            flops_attn,
            flops_ffn,
            flops_exp,
            net,
            all_to_all,
        }
    }
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
    TokenPlan::new(sp, rt, n_gpus, lay).token_work(sp, rt, n, ng)
}

/// How a step's `batch` sequences of `positions` tokens each split under `lay` (§S): sequences
/// per pipeline stage (micro-batch) and per attention-DP group, and the tokens of each.
/// Returns (sequences per DP group, tokens per stage, tokens per DP group).
pub(crate) fn batch_split(lay: Layout, batch: f64, positions: f64) -> (f64, f64, f64) {
    let bm = (batch / f64::from(lay.pp)).ceil();
    let bg = (bm / f64::from(lay.attention_dp)).ceil();
    (bg, bm * positions, bg * positions)
}

/// Everything about a decode step under one layout that does not depend on the batch or the
/// context (§S): the [`TokenPlan`], the [`MemoryPlan`], the kernel time and the achieved
/// bandwidths and FLOP rates. A sweep builds one per candidate layout and evaluates it per row.
#[derive(Clone)]
pub struct StepPlan<'s, 'a> {
    pub sp: &'s ServingPrep<'a>,
    pub rt: &'s Runtime,
    pub tokens: TokenPlan,
    pub memory: MemoryPlan,
    kernel_s: f64,
    /// β·efficiency for weights and for the KV cache; peak·GEMM efficiency per GEMM kind.
    weight_bandwidth: f64,
    kv_bandwidth: f64,
    rates: [f64; 3],
}

impl<'s, 'a> StepPlan<'s, 'a> {
    pub fn new(sp: &'s ServingPrep<'a>, rt: &'s Runtime, n_gpus: u32, lay: Layout) -> Self {
        let prep = &sp.epoch;
        let (m, hw) = (prep.model, prep.hw);
        let beta = hw.hbm_bandwidth;
        let w_eff = rt.weight_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
        let kv_eff = rt.kv_bandwidth_efficiency.unwrap_or(hw.mem_utilization);
        let eff = rt.gemm_efficiency.unwrap_or(hw.flop_utilization);
        let per_kernel = if rt.cuda_graphs {
            rt.graph_kernel_s
        } else {
            rt.launch_kernel_s.unwrap_or(hw.kernel_latency_s)
        };
        Self {
            sp,
            rt,
            tokens: TokenPlan::new(sp, rt, n_gpus, lay),
            memory: MemoryPlan::new(
                m,
                hw,
                &prep.groups,
                sp.attention_params,
                sp.embedding_params,
                lay,
                rt,
                &sp.precision,
            ),
            kernel_s: kernel_launches(m, &prep.groups, rt) * per_kernel,
            weight_bandwidth: beta * w_eff,
            kv_bandwidth: beta * kv_eff,
            rates: [
                sp.rates_peak[0] * eff,
                sp.rates_peak[1] * eff,
                sp.rates_peak[2] * eff,
            ],
        }
    }

    pub fn layout(&self) -> Layout {
        self.tokens.lay
    }

    /// [`MemoryPlan::at_context`] at context `ctx`: what [`StepPlan::step`] needs of the
    /// context's KV cache, shared by every batch at that context.
    #[inline]
    pub fn kv_at(&self, ctx: f64) -> (f64, f64) {
        self.memory.at_context(self.sp.epoch.kv_bytes_at(ctx))
    }

    /// One step of `positions` new tokens per sequence of `batch` sequences at context `ctx`,
    /// with `kv` = [`StepPlan::kv_at`]`(ctx)` (§S).
    pub fn step(&self, batch: f64, ctx: f64, positions: f64, kv: (f64, f64)) -> Step {
        let (sp, rt) = (self.sp, self.rt);
        let lay = self.tokens.lay;
        let m = sp.epoch.model;
        let s_pos = positions;
        let tp = f64::from(lay.tp);
        let (bg, n, ng) = batch_split(lay, batch, s_pos);

        let TokenWork {
            stream,
            streams,
            flops_attn,
            flops_ffn,
            flops_exp,
            net,
            all_to_all,
        } = self.tokens.token_work(sp, rt, n, ng);
        // b_g sequences of S positions each (F_kv counts n·S query positions).
        let cache_flops = attention_flop(m, ctx + (s_pos - 1.0) / 2.0, bg, s_pos) / tp;

        // bg is the memory's sequences per GPU of the busiest attention-DP group.
        let mem = self.memory.with_seqs(kv, bg);
        let load = StepLoad {
            seqs: bg,
            stream,
            streams,
            kv_bytes: bg * mem.kv_per_sequence,
            flops: [flops_attn, flops_ffn, flops_exp],
            cache_flops,
            net,
            all_to_all,
        };
        let feasible = mem.fits() && batch <= mem.max_batch_size;
        self.timed(&load, mem, feasible)
    }

    /// A step's time from its load (§S, "Step"): one implementation for the decode step and
    /// the speculative draft and verification passes (docs/serving.md §D).
    pub fn timed(&self, load: &StepLoad, mem: Memory, feasible: bool) -> Step {
        let rt = self.rt;
        let lay = self.tokens.lay;
        let (net, all_to_all) = (load.net, load.all_to_all);
        let weight_s = load.stream / self.weight_bandwidth;
        let kv_s = load.kv_bytes / self.kv_bandwidth;
        let (compute_s, work) = roofline(
            rt,
            self.weight_bandwidth,
            self.rates,
            weight_s,
            kv_s,
            load.streams,
            load.flops,
            load.cache_flops,
        );

        let kernel_s = self.kernel_s;
        let hidden = rt.overlap * (net.latency + net.bandwidth).min(work);
        // Host work per step: fixed, plus per sequence of one scheduler's (attention-DP group's) batch.
        let overhead = rt.step_overhead_s + rt.sequence_overhead_s * load.seqs;
        let total = overhead + kernel_s + (net.latency + net.bandwidth) + work - hidden;
        Step {
            layout: lay,
            latency_s: if feasible { total } else { f64::INFINITY },
            feasible,
            overhead_s: overhead,
            kernel_s,
            network_latency_s: net.latency,
            network_bandwidth_s: net.bandwidth,
            all_to_all_s: all_to_all.latency + all_to_all.bandwidth,
            weight_memory_s: weight_s,
            kv_memory_s: kv_s,
            compute_s,
            work_s: work,
            overlap_s: hidden,
            memory: mem,
        }
    }
}

/// What a step moves and computes per GPU, before the runtime turns it into time (§S).
#[derive(Debug, Clone, Copy)]
pub struct StepLoad {
    /// Sequences of the busiest attention-DP group (its scheduler's host cost per sequence).
    pub seqs: f64,
    /// Weight (and activation) bytes streamed, and per GEMM class ([`TokenWork::streams`]).
    pub stream: f64,
    pub streams: [f64; 3],
    /// KV-cache bytes read (and written).
    pub kv_bytes: f64,
    /// GEMM FLOPs at the attention, dense-FFN and expert compute rates.
    pub flops: [f64; 3],
    /// Attention over the cache (at the attention rate).
    pub cache_flops: f64,
    pub net: Cost,
    /// The MoE dispatch and combine part of `net`.
    pub all_to_all: Cost,
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
    let plan = StepPlan::new(sp, rt, n_gpus, lay);
    plan.step(batch, ctx, positions, plan.kv_at(ctx))
}

/// The fastest feasible step of `steps` (the first on ties); when none fits, the one with the
/// largest max_batch_size, then the fastest, reported infeasible.
fn pick(steps: impl Iterator<Item = Step>) -> Step {
    best_by(steps.map(|st| (st, Rank::of(&st))))
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

/// [`pick`]'s rule over any evaluation, each with its rank (one implementation for the decode
/// step and the speculative step).
pub fn best_by<T>(items: impl Iterator<Item = (T, Rank)>) -> T {
    let mut best: Option<(T, Rank)> = None;
    let mut closest: Option<Rank> = None;
    let mut closest_item: Option<T> = None;
    for (out, r) in items {
        let better = closest.as_ref().map_or(true, |c| {
            r.max_batch_size > c.max_batch_size
                || (r.max_batch_size == c.max_batch_size && r.step_s < c.step_s)
        });
        let fastest = r.feasible && best.as_ref().map_or(true, |b| r.latency_s < b.1.latency_s);
        if fastest {
            best = Some((out, r));
        } else if better && best.is_none() {
            closest_item = Some(out);
        }
        if better {
            closest = Some(r);
        }
    }
    match best {
        Some((out, _)) => out,
        None => closest_item.expect("at least one candidate layout"),
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
    pick(
        candidates
            .iter()
            .map(|&lay| decode_step(sp, rt, n_gpus, batch, ctx, positions, lay)),
    )
}

/// [`best_of`] over planned layouts, each with its [`StepPlan::kv_at`] at `ctx`.
pub fn best_of_plans(
    plans: &[(StepPlan, (f64, f64))],
    batch: f64,
    ctx: f64,
    positions: f64,
) -> Step {
    if let [(plan, kv)] = plans {
        // One candidate (a pinned layout) is the answer whether or not it fits.
        return plan.step(batch, ctx, positions, *kv);
    }
    pick(
        plans
            .iter()
            .map(|(plan, kv)| plan.step(batch, ctx, positions, *kv)),
    )
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
    use crate::serving::layout::TP8;
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
            let lay = TP8;
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

    #[test]
    fn collective_latency_scale_multiplies_only_the_latency_part() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let lay = TP8;
        let base = Runtime::ideal();
        let one = decode_step(&sp, &base, 8, 1.0, 0.0, 1.0, lay);
        let same = Runtime {
            collective_latency_scale: 1.0,
            ..base.clone()
        };
        assert_eq!(decode_step(&sp, &same, 8, 1.0, 0.0, 1.0, lay), one);
        // Batch 1: every all-reduce is a few KB, LL's latency wins at both scales, so the
        // latency part doubles exactly and nothing else moves.
        let twice = Runtime {
            collective_latency_scale: 2.0,
            ..base
        };
        let two = decode_step(&sp, &twice, 8, 1.0, 0.0, 1.0, lay);
        assert!(one.network_latency_s > 0.0);
        assert_eq!(two.network_latency_s, 2.0 * one.network_latency_s);
        assert_eq!(two.network_bandwidth_s, one.network_bandwidth_s);
        assert_eq!(two.memory_s(), one.memory_s());
        let gap = two.latency_s - one.latency_s;
        assert!((gap - one.network_latency_s).abs() < 1e-12 * one.latency_s);
    }
}
