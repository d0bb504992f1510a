//! Speculative decoding as deployed (docs/serving.md §D): draft heads (MTP, Eagle) or a
//! drafter model propose γ tokens per sequence, one verification pass of the target scores
//! the γ + 1 positions, and τ tokens are kept per step on average.
//! `python/infersweep/speculative_reference.py` is the oracle; operations run in its order.
//!
//! Every pass is built from the decode step's own plan of a layout (`StepPlan`): its
//! `token_work` (weights, GEMMs with their tiles, experts, collectives), its `MemoryPlan`
//! (capacity, the KV bytes per GPU) and `timed` (the runtime's roofline, kernels, overhead and
//! overlap); the verification's causal attention is `traffic::causal_positions`. The draft heads' shapes are built in Python
//! (python/infersweep/speculative.py) as a `Model` of their decoder layers sharing the target's
//! embeddings; a drafter model is an ordinary `Model`.

use crate::arithmetic::matmul_traffic;
use crate::forward::GroupPrep;
use crate::spec::Model;

use super::layout::Layout;
use super::runtime::{Precision, Runtime};
use super::step::{
    batch_split, best_by, pad, Rank, ServingPrep, Step, StepLoad, StepPlan, TokenWork,
};
use super::traffic::causal_positions;

/// A speculative configuration for one target model.
#[derive(Debug, Clone)]
pub struct Speculation {
    /// The draft: the heads' decoder layers as a model (sharing the target's embeddings), or
    /// a drafter model.
    pub draft: Model,
    /// The draft's resolved precision.
    pub precision: Precision,
    /// γ: draft tokens per sequence per step.
    pub gamma: u32,
    /// τ: expected tokens kept per sequence per step (the bonus token included), 1 ≤ τ ≤ γ + 1.
    pub tokens_per_step: f64,
    /// k of the k·d → d projection each draft pass runs first (MTP's and EAGLE's `eh_proj`/`fc`,
    /// replicated on every GPU); 0: none.
    pub projection: f64,
    /// The draft's embedding and LM head are the target's (held once in memory).
    pub shares_embeddings: bool,
}

/// One speculative step of one layout: γ draft passes and one verification pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecStep {
    /// The verification pass: its layout, components and the memory with the draft's.
    pub verify: Step,
    /// One draft pass (None when γ = 0).
    pub draft: Option<Step>,
    /// γ draft passes.
    pub draft_s: f64,
    /// draft_s + the verification pass, whether or not it fits.
    pub step_s: f64,
    /// `step_s` when it fits, else inf.
    pub latency_s: f64,
    pub tokens_per_step: f64,
    /// latency_s / τ.
    pub tpot_s: f64,
    /// KV bytes per GPU the verification writes (γ + 1 positions per sequence).
    pub kv_written: f64,
    /// The draft's weights per GPU (without the shared embeddings).
    pub draft_weights: f64,
    /// The draft's KV cache per sequence per GPU, at the capacity context.
    pub draft_kv_per_sequence: f64,
}

/// F_kv of `seqs` sequences of `positions` causal positions each on `ctx` cached tokens
/// (decode form: MLA absorbed, as FlashMLA verifies several query tokens per sequence):
/// Σ_g coef·L_g·causal(ℓ, S, W_g)·seqs. At S = 1 it is the decode step's F_kv.
pub fn causal_attention_flops(
    m: &Model,
    groups: &[GroupPrep],
    ctx: f64,
    seqs: f64,
    positions: f64,
) -> f64 {
    let coef = m.attention_flop_coefficient();
    let mut total = 0.0;
    for g in groups {
        total += coef * g.n_layers * causal_positions(ctx, positions, g.window) * seqs;
    }
    total
}

/// The memory a draft adds per GPU of a verification: weights, and KV per sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DraftMemory {
    pub weights: f64,
    pub kv_per_sequence: f64,
}

/// A pass of `positions` causal positions for each of `batch` sequences on `ctx` cached tokens,
/// writing their KV (§D.2), under `plan`'s layout; capacity at `capacity_ctx` tokens with
/// `extra` memory per GPU. Returns the step and the KV bytes it writes per GPU.
pub fn positions_pass(
    plan: &StepPlan,
    batch: f64,
    ctx: f64,
    positions: f64,
    capacity_ctx: f64,
    extra: DraftMemory,
    projection: f64,
) -> (Step, f64) {
    let (sp, rt, lay) = (plan.sp, plan.rt, plan.tokens.lay);
    let prep = &sp.epoch;
    let (m, prec) = (prep.model, &sp.precision);
    let tp = f64::from(lay.tp);
    let (bg, n, ng) = batch_split(lay, batch, positions);

    let TokenWork {
        mut stream,
        mut streams,
        mut flops_attn,
        flops_ffn,
        flops_exp,
        net,
        all_to_all,
    } = plan.tokens.token_work(sp, rt, n, ng);
    if projection > 0.0 {
        // The k·d → d projection, replicated on every GPU of the DP group (nn.Linear).
        let d = m.d_model;
        let proj = matmul_traffic(projection * d, d, ng, 1.0, prec.attention, prec.activations);
        stream += proj;
        streams[0] += proj;
        flops_attn += 2.0 * projection * d * d * pad(ng, rt.gemm_tile_tokens);
    }
    let cache_flops = causal_attention_flops(m, &prep.groups, ctx, bg, positions) / tp;

    let mp = plan.memory.with_weights(extra.weights);
    let read = mp.kv_on_gpu(prep.kv_bytes_at(ctx));
    let cap = if capacity_ctx == ctx {
        read
    } else {
        mp.kv_on_gpu(prep.kv_bytes_at(capacity_ctx))
    };
    let mem = mp.with_seqs(
        mp.at_kv_per_sequence(cap + extra.kv_per_sequence),
        mp.seqs(batch),
    );
    let kv_written = ng * mp.kv_on_gpu(m.kv_bytes_per_token());
    let load = StepLoad {
        seqs: bg,
        stream,
        streams,
        kv_bytes: bg * read + kv_written,
        flops: [flops_attn, flops_ffn, flops_exp],
        cache_flops,
        net,
        all_to_all,
    };
    let feasible = mem.fits() && batch <= mem.max_batch_size;
    (plan.timed(&load, mem, feasible), kv_written)
}

/// The draft's layout: the target's stage (tp, ep, attention_dp), one pipeline stage (the
/// heads sit with the LM head on the last stage; a drafter on one stage's GPUs).
pub fn draft_layout(lay: Layout) -> Layout {
    Layout { pp: 1, ..lay }
}

/// The draft's weights per GPU (its projection in, its shared embeddings out) and KV per
/// sequence at `ctx`, under the draft's plan, counted per sequence of the target's busiest stage
/// (×pp: the draft holds every sequence on one stage).
pub fn draft_memory(draft: &StepPlan, spec: &Speculation, lay: Layout, ctx: f64) -> DraftMemory {
    let dprep = draft.sp;
    let prep = &dprep.epoch;
    let (_, p_emb) = dprep.params();
    let shared = if spec.shares_embeddings {
        p_emb * dprep.precision.embeddings / f64::from(draft.tokens.lay.tp)
    } else {
        0.0
    };
    // The projection is replicated on every GPU (nn.Linear in SGLang's and vLLM's heads).
    let d = prep.model.d_model;
    let projection = spec.projection * d * d * dprep.precision.attention;
    DraftMemory {
        weights: draft.memory.weights - shared + projection,
        kv_per_sequence: draft.memory.kv_on_gpu(prep.kv_bytes_at(ctx)) * f64::from(lay.pp),
    }
}

/// The speculative step of one layout (§D.3): γ draft passes at the mean context
/// ℓ + (γ − 1)/2 (no step overhead: they run inside the step's captured graphs), then the
/// verification of γ + 1 positions with capacity at ℓ + γ.
pub fn spec_step(
    target: &StepPlan,
    draft: &StepPlan,
    spec: &Speculation,
    batch: f64,
    ctx: f64,
) -> SpecStep {
    let g = f64::from(spec.gamma);
    let lay = target.tokens.lay;
    // Without drafts the draft is not loaded: γ = 0 is the plain decode step (with its KV write).
    let extra = if spec.gamma == 0 {
        DraftMemory::default()
    } else {
        draft_memory(draft, spec, lay, ctx + g)
    };
    let (verify, kv_written) = positions_pass(target, batch, ctx, g + 1.0, ctx + g, extra, 0.0);
    let pass = if spec.gamma == 0 {
        None
    } else {
        let ctx_d = ctx + (g - 1.0) / 2.0;
        let none = DraftMemory::default();
        Some(positions_pass(draft, batch, ctx_d, 1.0, ctx_d, none, spec.projection).0)
    };
    let draft_s = pass.map_or(0.0, |d| g * d.step_s());
    let step_s = draft_s + verify.step_s();
    let latency_s = if verify.feasible {
        step_s
    } else {
        f64::INFINITY
    };
    SpecStep {
        verify,
        draft: pass,
        draft_s,
        step_s,
        latency_s,
        tokens_per_step: spec.tokens_per_step,
        tpot_s: latency_s / spec.tokens_per_step,
        kv_written,
        draft_weights: extra.weights,
        draft_kv_per_sequence: extra.kv_per_sequence,
    }
}

/// The runtime of the draft passes: the step's, without its host overheads (they run inside it).
pub fn draft_runtime(rt: &Runtime) -> Runtime {
    Runtime {
        step_overhead_s: 0.0,
        sequence_overhead_s: 0.0,
        ..rt.clone()
    }
}

/// The layout of `targets` (the decode step's plans of the candidate layouts) with the fastest
/// speculative step (`best_of`'s rule).
#[allow(clippy::too_many_arguments)]
pub fn best_spec<'p, 's: 'p, 'a: 's>(
    targets: impl Iterator<Item = &'p StepPlan<'s, 'a>>,
    dprep: &ServingPrep,
    spec: &Speculation,
    rt: &Runtime,
    n_gpus: u32,
    batch: f64,
    ctx: f64,
) -> SpecStep {
    let inner = draft_runtime(rt);
    best_by(targets.map(|target| {
        let lay = target.tokens.lay;
        let draft = StepPlan::new(dprep, &inner, n_gpus / lay.pp, draft_layout(lay));
        let s = spec_step(target, &draft, spec, batch, ctx);
        let rank = Rank {
            feasible: s.verify.feasible,
            latency_s: s.latency_s,
            max_batch_size: s.verify.memory.max_batch_size,
            step_s: s.step_s,
        };
        (s, rank)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serving::layout::TP8;
    use crate::serving::step::decode_step;
    use crate::serving::traffic::{mixed_step, Work};
    use crate::spec::examples::{h100, llama_70b};

    #[test]
    fn one_position_is_the_decode_step_plus_its_kv_write() {
        let (m, hw) = (llama_70b(), h100());
        let sp = ServingPrep::new(&m, &hw, Precision::of_model(&m)).unwrap();
        let rt = Runtime {
            step_overhead_s: 200e-6,
            cuda_graphs: true,
            kv_bandwidth_efficiency: Some(0.6),
            gemm_tile_tokens: 64.0,
            ..Runtime::ideal()
        };
        let plan = StepPlan::new(&sp, &rt, 8, TP8);
        let (st, written) = positions_pass(
            &plan,
            32.0,
            4096.0,
            1.0,
            4096.0,
            DraftMemory::default(),
            0.0,
        );
        let dec = decode_step(&sp, &rt, 8, 32.0, 4096.0, 1.0, TP8);
        // 32 sequences × 40,960 B per token per GPU (one of 8 KV heads, 80 layers, BF16).
        assert_eq!(written, 32.0 * 40_960.0);
        let eff = rt.kv_bandwidth_efficiency.unwrap();
        let write_s = written / (hw.hbm_bandwidth * eff);
        assert!((st.kv_memory_s - (dec.kv_memory_s + write_s)).abs() < 1e-18);
        assert_eq!(st.compute_s, dec.compute_s);
        assert_eq!(st.memory, dec.memory);
        // The in-flight decode-only step is this pass exactly.
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
        assert!((st.latency_s - mixed.latency_s).abs() / mixed.latency_s < 1e-12);
    }
}
