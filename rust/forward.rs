//! One forward pass under one layout → its four components (docs/model.md §5).
//!
//! [`Prepared`] hoists everything that depends only on the (model, hardware) pair; the
//! layout search in `layout.rs` hoists what depends on the pipeline degree. The operations
//! are written in the same order as `reference.py`, so that both implementations round alike
//! and land on the same side of every `ceil` and comparison.
//!
//! A model is a list of layer groups (docs/extensions.md §1): `layer_groups`, or one group
//! made of the `epoch` fields. Every per-group sum then has one term, computed with `epoch`'s
//! expression in `epoch`'s order, so an `epoch` model's numbers are unchanged to the bit.

use crate::arithmetic::{attention_flop, attention_traffic, ffn_flop, flop, matmul_traffic};
use crate::collective::{CollectivePlan, Kind};
use crate::spec::{representative_group, Hardware, Model, SpecError};

/// Per-group constants of the latency function.
#[derive(Debug, Clone, Copy)]
pub struct GroupPrep {
    pub n_layers: f64,
    pub d_ff: f64,
    pub n_experts: f64,
    pub n_experts_active: f64,
    /// s_g = floor(E_g / k_g).
    pub sparsity: f64,
    /// P_ff_g = L_g·E_g·(a_up + a_dn)·d·f_g.
    pub ffn_params: f64,
    pub n_shared_experts: f64,
    pub shared_d_ff: f64,
    pub window: Option<f64>,
    /// KV bytes per cached token of the whole group.
    pub kv_bytes: f64,
}

impl GroupPrep {
    /// (N_EP_g, T_ff_g): expert-parallel and FFN tensor-parallel degrees on a stage of `t`
    /// GPUs with a micro-batch of `bm` sequences (docs/model.md §5, per group).
    #[inline]
    pub fn expert_parallel(&self, t: f64, bm: f64) -> (f64, f64) {
        let mut n_ep = t.min(self.n_experts);
        if bm < 2.0 * self.sparsity {
            n_ep = 1.0;
        }
        (n_ep, (t / n_ep.max(1.0)).max(1.0))
    }
}

/// Per (model, hardware) constants of the latency function.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub model: &'a Model,
    pub hw: &'a Hardware,
    /// The layer groups, and the index of the one whose EP and FFN TP degrees a pass reports.
    pub groups: Vec<GroupPrep>,
    pub representative: usize,
    pub has_windows: bool,
    pub has_shared: bool,
    /// P_shared: every shared expert's parameters.
    pub shared_params: f64,
    /// s of the representative group (the frontier's batch grid).
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
    /// The pipeline's stage-to-stage send (2 ranks on 2 nodes): the same plan for every stage.
    pub p2p: CollectivePlan,
}

impl<'a> Prepared<'a> {
    pub fn new(model: &'a Model, hw: &'a Hardware) -> Result<Self, SpecError> {
        model.validate()?;
        hw.validate()?;
        let peak = hw.peak_flops(model)?;
        let total_params = model.total_params();
        let groups: Vec<GroupPrep> = model
            .groups()
            .iter()
            .map(|g| GroupPrep {
                n_layers: g.n_layers,
                d_ff: g.d_ff,
                n_experts: g.n_experts,
                n_experts_active: g.n_experts_active,
                sparsity: g.sparsity(),
                ffn_params: model.group_ffn_params(g),
                n_shared_experts: g.n_shared_experts,
                shared_d_ff: g.shared_d_ff,
                window: g.window,
                kv_bytes: model.group_kv_bytes(g),
            })
            .collect();
        Ok(Self {
            model,
            hw,
            representative: representative_group(&model.groups()),
            has_windows: groups.iter().any(|g| g.window.is_some()),
            has_shared: groups.iter().any(|g| g.n_shared_experts != 0.0),
            shared_params: model.shared_ffn_params(),
            groups,
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
            p2p: CollectivePlan::new(hw, 2.0, 2.0, Kind::P2p),
        })
    }

    /// KV-cache bytes of one sequence at context ℓ: kappa·ℓ, or Σ_g kappa_g·min(ℓ, W_g).
    #[inline]
    pub fn kv_bytes_at(&self, ctx: f64) -> f64 {
        if !self.has_windows {
            return self.kappa * ctx;
        }
        let mut total = 0.0;
        for g in &self.groups {
            total += g.kv_bytes * g.window.map_or(ctx, |w| ctx.min(w));
        }
        total
    }

    /// RW_ffn(n; t): expected expert traffic of one layer of group `g`.
    pub fn ffn_traffic(&self, g: &GroupPrep, n: f64, t: f64) -> f64 {
        let m = self.model;
        let s = g.sparsity;
        // Dense (s = 1): 0^n = 0 for n > 0, so every expert is touched; skip the libm call.
        let touched = if s == 1.0 && n > 0.0 {
            1.0
        } else {
            1.0 - (1.0 - 1.0 / s).powf(n)
        };
        touched
            * g.n_experts
            * (m.ffn_up_matrices + m.ffn_down_matrices)
            * matmul_traffic(
                m.d_model,
                g.d_ff,
                n / s,
                t,
                m.weight_bytes,
                m.activation_bytes,
            )
    }

    /// Shared experts of group `g`, one layer: n_shared·(a_up + a_dn)·RW(d, f_shared, n; t),
    /// read for every token, tensor-parallel over the stage (docs/extensions.md §3).
    pub fn shared_traffic(&self, g: &GroupPrep, n: f64, t: f64) -> f64 {
        let m = self.model;
        g.n_shared_experts
            * (m.ffn_up_matrices + m.ffn_down_matrices)
            * matmul_traffic(
                m.d_model,
                g.shared_d_ff,
                n,
                t,
                m.weight_bytes,
                m.activation_bytes,
            )
    }

    /// Σ_g L_g·RW_ffn_g(n; T_ff_g) + shared experts: the FFN bytes of a stage of `t` GPUs
    /// with micro-batch `bm` and n tokens, added to `bytes` in `reference.py`'s order.
    /// `rep_t_ff` is the representative group's T_ff, which the caller has at hand.
    #[inline]
    pub fn add_ffn_traffic(&self, mut bytes: f64, bm: f64, n: f64, t: f64, rep_t_ff: f64) -> f64 {
        for (gi, g) in self.groups.iter().enumerate() {
            let t_ff = if gi == self.representative {
                rep_t_ff
            } else {
                g.expert_parallel(t, bm).1
            };
            bytes += g.n_layers * self.ffn_traffic(g, n, t_ff);
        }
        if self.has_shared {
            for g in &self.groups {
                if g.n_shared_experts != 0.0 {
                    bytes += g.n_layers * self.shared_traffic(g, n, t);
                }
            }
        }
        bytes
    }

    /// RW_attn(n; t): attention projections of one layer.
    pub fn attention_traffic(&self, n: f64, t: f64) -> f64 {
        let m = self.model;
        attention_traffic(
            m,
            self.attention_width,
            self.heads_x_head_dim,
            n,
            t,
            m.weight_bytes,
            m.activation_bytes,
        )
    }

    /// The FLOP split of a pass over `tokens` = b·S tokens at context ℓ (S = 1 in §5).
    pub fn flop_split(&self, ctx: f64, tokens: f64) -> FlopSplit {
        // F_ffn = Σ_g 2·(P_ff_g / s_g)·n + 2·P_shared·n.
        let mut ffn = 0.0;
        for g in &self.groups {
            ffn += ffn_flop(g.ffn_params, g.sparsity, tokens, 1.0);
        }
        if self.has_shared {
            ffn += 2.0 * self.shared_params * tokens * 1.0;
        }
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
            let cq = m.mla_compressed_width(mla);
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
