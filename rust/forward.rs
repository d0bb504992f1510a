//! One forward pass under one layout → its four components (MODEL.md §5).
//!
//! [`Prepared`] hoists everything that depends only on the (model, hardware) pair; the
//! layout search in `layout.rs` hoists what depends on the pipeline degree. The operations
//! are written in the same order as `reference.py`, so that both implementations round alike
//! and land on the same side of every `ceil` and comparison.

use crate::arithmetic::{attention_flop, ffn_flop, flop, matmul_traffic};
use crate::spec::{Hardware, Model, SpecError};

/// Per (model, hardware) constants of the latency function.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub model: &'a Model,
    pub hw: &'a Hardware,
    pub sparsity: f64,
    pub kappa: f64,
    pub total_params: f64,
    pub active_params: f64,
    pub ffn_params: f64,
    pub attention_width: f64,
    pub heads_x_head_dim: f64,
    /// Effective and peak FLOP/s for this model's weight precision.
    pub flops_eff: f64,
    pub flops_peak: f64,
    pub hbm_bw_eff: f64,
    pub kernel_s: f64,
    /// w·P_total: bytes of weights that must fit.
    pub weight_bytes_total: f64,
    /// w·V·d: the unembedding read per pass (quirk §10.4).
    pub unembedding_bytes: f64,
    /// Attention's weight bytes per layer: the part of RW_attn that no layout avoids.
    pub attention_weight_bytes: f64,
}

impl<'a> Prepared<'a> {
    pub fn new(model: &'a Model, hw: &'a Hardware) -> Result<Self, SpecError> {
        model.validate()?;
        hw.validate()?;
        let peak = hw.peak_flops(model)?;
        let total_params = model.total_params();
        Ok(Self {
            model,
            hw,
            sparsity: model.sparsity(),
            kappa: model.kv_bytes_per_token(),
            total_params,
            active_params: model.active_params(),
            ffn_params: model.ffn_params(),
            attention_width: model.attention_width(),
            heads_x_head_dim: model.n_heads * model.head_dim,
            flops_eff: peak * hw.flop_utilization,
            flops_peak: peak,
            hbm_bw_eff: hw.hbm_bandwidth * hw.mem_utilization,
            kernel_s: 4.0 * model.n_layers * hw.kernel_latency_s,
            weight_bytes_total: model.weight_bytes * total_params,
            unembedding_bytes: model.weight_bytes * model.vocab_size * model.d_model,
            attention_weight_bytes: attention_weight_bytes(model),
        })
    }

    /// RW_ffn(n; t): expected expert traffic of one layer.
    pub fn ffn_traffic(&self, n: f64, t: f64) -> f64 {
        let m = self.model;
        let s = self.sparsity;
        // Dense (s = 1): 0^n = 0 for n > 0, so every expert is touched; skip the libm call.
        let touched = if s == 1.0 && n > 0.0 {
            1.0
        } else {
            1.0 - (1.0 - 1.0 / s).powf(n)
        };
        touched
            * m.n_experts
            * (m.ffn_up_matrices + m.ffn_down_matrices)
            * matmul_traffic(
                m.d_model,
                m.d_ff,
                n / s,
                t,
                m.weight_bytes,
                m.activation_bytes,
            )
    }

    /// RW_attn(n; t): attention projections of one layer.
    pub fn attention_traffic(&self, n: f64, t: f64) -> f64 {
        let m = self.model;
        let (w, a, d) = (m.weight_bytes, m.activation_bytes, m.d_model);
        let out = matmul_traffic(d, self.heads_x_head_dim, n, t, w, a);
        match m.mla {
            None => matmul_traffic(self.attention_width, d, n, t, w, a) + out,
            Some(mla) => {
                let cq = mla.kv_rank + mla.q_rank;
                matmul_traffic(cq, d, n, t, w, a)
                    + matmul_traffic(self.attention_width, cq, n, t, w, a)
                    + out
            }
        }
    }

    /// The FLOP split of a pass over `tokens` = b·S tokens at context ℓ (S = 1 in §5).
    pub fn flop_split(&self, ctx: f64, tokens: f64) -> FlopSplit {
        let ffn = ffn_flop(self.ffn_params, self.sparsity, tokens, 1.0);
        let kv = attention_flop(self.model, ctx + 0.0 / 2.0, tokens, 1.0);
        let projections = flop(self.model, self.active_params, ctx, tokens, 1.0) - ffn - kv;
        FlopSplit {
            ffn,
            kv,
            projections,
        }
    }
}

/// The weight term of each attention matmul of RW_attn, summed as RW_attn sums them.
fn attention_weight_bytes(m: &Model) -> f64 {
    let (w, d) = (m.weight_bytes, m.d_model);
    let out = d * (m.n_heads * m.head_dim) * w;
    match m.mla {
        None => m.attention_width() * d * w + out,
        Some(mla) => {
            let cq = mla.kv_rank + mla.q_rank;
            cq * d * w + m.attention_width() * cq * w + out
        }
    }
}

/// FLOPs of a pass: the FFN, attention over the context, and the rest (projections,
/// embeddings), which attention scale-down replicates.
#[derive(Debug, Clone, Copy)]
pub struct FlopSplit {
    pub ffn: f64,
    pub kv: f64,
    pub projections: f64,
}

/// One forward pass under its best layout: the time, its components and the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    pub latency_s: f64,
    pub kernel_s: f64,
    pub network_latency_s: f64,
    pub network_bandwidth_s: f64,
    pub memory_s: f64,
    pub compute_s: f64,
    pub two_d_tp: bool,
    pub pp_degree: f64,
    pub ep_degree: f64,
    pub tp_ffn: f64,
    pub tp_attention: f64,
    pub attention_scaledown: f64,
}

impl Pass {
    pub const INFEASIBLE: Pass = Pass {
        latency_s: f64::INFINITY,
        kernel_s: f64::NAN,
        network_latency_s: f64::NAN,
        network_bandwidth_s: f64::NAN,
        memory_s: f64::NAN,
        compute_s: f64::NAN,
        two_d_tp: false,
        pp_degree: f64::NAN,
        ep_degree: f64::NAN,
        tp_ffn: f64::NAN,
        tp_attention: f64::NAN,
        attention_scaledown: f64::NAN,
    };

    pub fn feasible(&self) -> bool {
        self.latency_s < f64::INFINITY
    }
}
