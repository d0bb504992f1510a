//! Model and hardware specs (docs/model.md §1–2): plain structs, validation, derived values.
//!
//! Every quantity is an `f64`: `epoch` semantics treat GPU counts, widths and degrees as
//! real numbers. Derived values are computed in the same order as `reference.py` so that the
//! two implementations round identically.

use std::fmt;

/// A bad field in a spec or a grid: names the spec, the field and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub spec: String,
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: field '{}' {}", self.spec, self.field, self.message)
    }
}

impl std::error::Error for SpecError {}

fn check(spec: &str, field: &'static str, value: f64, allow_zero: bool) -> Result<(), SpecError> {
    let ok = value.is_finite() && (value > 0.0 || (allow_zero && value == 0.0));
    if ok {
        Ok(())
    } else {
        let bound = if allow_zero {
            "non-negative"
        } else {
            "positive"
        };
        Err(SpecError {
            spec: spec.to_string(),
            field,
            message: format!("must be finite and {bound}, got {value}"),
        })
    }
}

/// Multi-head latent attention ranks (c, q).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mla {
    pub kv_rank: f64,
    pub q_rank: f64,
}

/// A group of layers sharing an FFN and an attention window (docs/extensions.md §1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerGroup {
    pub n_layers: f64,
    pub d_ff: f64,
    pub n_experts: f64,
    pub n_experts_active: f64,
    /// Shared experts every token uses (§3), each `shared_d_ff` wide.
    pub n_shared_experts: f64,
    pub shared_d_ff: f64,
    /// Attention window in tokens (§6); `None` is full attention.
    pub window: Option<f64>,
}

impl LayerGroup {
    /// A group of `layers` layers with `epoch`'s FFN fields: no shared expert, no window.
    pub fn plain(layers: f64, d_ff: f64, experts: f64, active: f64) -> Self {
        Self {
            n_layers: layers,
            d_ff,
            n_experts: experts,
            n_experts_active: active,
            n_shared_experts: 0.0,
            shared_d_ff: d_ff,
            window: None,
        }
    }

    /// s_g = floor(E_g / k_g).
    pub fn sparsity(&self) -> f64 {
        (self.n_experts / self.n_experts_active).floor()
    }
}

/// Index of the group with the most experts (the first on ties): the one `Model::d_ff`,
/// `n_experts` and `n_experts_active` describe and whose EP and FFN TP degrees a pass reports.
pub fn representative_group(groups: &[LayerGroup]) -> usize {
    let mut best = 0;
    for (i, g) in groups.iter().enumerate() {
        if g.n_experts > groups[best].n_experts {
            best = i;
        }
    }
    best
}

/// A Transformer in the fields of docs/model.md §1, with the extensions of docs/extensions.md
/// (each default reproduces `epoch`).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub d_model: f64,
    pub d_ff: f64,
    pub n_layers: f64,
    pub n_heads: f64,
    pub group_size: f64,
    pub head_dim: f64,
    pub vocab_size: f64,
    pub n_experts: f64,
    pub n_experts_active: f64,
    pub ffn_up_matrices: f64,
    pub ffn_down_matrices: f64,
    pub mla: Option<Mla>,
    pub weight_bytes: f64,
    pub activation_bytes: f64,
    /// Bytes per KV-cache element (default `activation_bytes`).
    pub kv_bytes: Option<f64>,
    /// The FLOP-rate key (4, 8 or 16; default 8·`weight_bytes`).
    pub compute_bits: Option<f64>,
    /// One V×d matrix for the embedding and the unembedding: P_emb = V·d.
    pub tied_embeddings: bool,
    /// The input embedding is a table lookup: only the unembedding's V·d is active (computed).
    pub lookup_embedding: bool,
    /// MLA's decoupled RoPE key width r, cached with the latent.
    pub mla_rope_dim: Option<f64>,
    /// Groups of layers; empty: one group made of the `epoch` fields.
    pub layer_groups: Vec<LayerGroup>,
}

impl Model {
    /// A model with `epoch`'s fields only (every extension at its default).
    pub fn epoch(
        name: &str,
        d_model: f64,
        d_ff: f64,
        n_layers: f64,
        n_heads: f64,
        group_size: f64,
        head_dim: f64,
        vocab_size: f64,
    ) -> Self {
        Self {
            name: name.into(),
            d_model,
            d_ff,
            n_layers,
            n_heads,
            group_size,
            head_dim,
            vocab_size,
            n_experts: 1.0,
            n_experts_active: 1.0,
            ffn_up_matrices: 2.0,
            ffn_down_matrices: 1.0,
            mla: None,
            weight_bytes: 2.0,
            activation_bytes: 2.0,
            kv_bytes: None,
            compute_bits: None,
            tied_embeddings: false,
            lookup_embedding: false,
            mla_rope_dim: None,
            layer_groups: Vec::new(),
        }
    }

    /// Checks every field; the engine never sees an invalid model.
    pub fn validate(&self) -> Result<(), SpecError> {
        let spec = format!("model '{}'", self.name);
        let positive = [
            ("d_model", self.d_model),
            ("d_ff", self.d_ff),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("group_size", self.group_size),
            ("head_dim", self.head_dim),
            ("n_experts", self.n_experts),
            ("n_experts_active", self.n_experts_active),
            ("ffn_up_matrices", self.ffn_up_matrices),
            ("ffn_down_matrices", self.ffn_down_matrices),
            ("weight_bytes", self.weight_bytes),
            ("activation_bytes", self.activation_bytes),
        ];
        for (field, value) in positive {
            check(&spec, field, value, false)?;
        }
        check(&spec, "vocab_size", self.vocab_size, true)?;
        let err = |field, message: String| SpecError {
            spec: spec.clone(),
            field,
            message,
        };
        if self.n_experts_active > self.n_experts {
            return Err(err(
                "n_experts_active",
                format!(
                    "({}) exceeds n_experts ({})",
                    self.n_experts_active, self.n_experts
                ),
            ));
        }
        let groups = self.n_heads / self.group_size;
        if groups.floor() != groups {
            return Err(err(
                "group_size",
                format!(
                    "({}) does not divide n_heads ({})",
                    self.group_size, self.n_heads
                ),
            ));
        }
        if let Some(mla) = self.mla {
            check(&spec, "mla_kv_rank", mla.kv_rank, false)?;
            check(&spec, "mla_q_rank", mla.q_rank, false)?;
            if self.group_size != 1.0 {
                return Err(err(
                    "group_size",
                    format!("must be 1 with MLA, got {}", self.group_size),
                ));
            }
        }
        self.validate_extensions()
    }

    fn validate_extensions(&self) -> Result<(), SpecError> {
        let spec = format!("model '{}'", self.name);
        let err = |field, message: String| SpecError {
            spec: spec.clone(),
            field,
            message,
        };
        if let Some(kv) = self.kv_bytes {
            check(&spec, "kv_bytes", kv, false)?;
        }
        if let Some(bits) = self.compute_bits {
            if ![4.0, 8.0, 16.0].contains(&bits) {
                return Err(err(
                    "compute_bits",
                    format!("must be 4, 8 or 16 (a GPU's FLOP-rate keys), got {bits}"),
                ));
            }
        }
        if let Some(rope) = self.mla_rope_dim {
            check(&spec, "mla_rope_dim", rope, false)?;
            if self.mla.is_none() {
                return Err(err("mla_rope_dim", format!("({rope}) needs MLA")));
            }
        }
        if self.layer_groups.is_empty() {
            return Ok(());
        }
        let mut total = 0.0;
        for (i, g) in self.layer_groups.iter().enumerate() {
            let bad = |what: &str, value: f64| {
                err(
                    "layer_groups",
                    format!("[{i}]: {what} must be finite and positive, got {value}"),
                )
            };
            for (what, value) in [
                ("n_layers", g.n_layers),
                ("d_ff", g.d_ff),
                ("n_experts", g.n_experts),
                ("n_experts_active", g.n_experts_active),
                ("shared_d_ff", g.shared_d_ff),
            ] {
                if !(value.is_finite() && value > 0.0) {
                    return Err(bad(what, value));
                }
            }
            if let Some(w) = g.window {
                if !(w.is_finite() && w > 0.0) {
                    return Err(bad("window", w));
                }
            }
            if !(g.n_shared_experts.is_finite() && g.n_shared_experts >= 0.0) {
                return Err(err(
                    "layer_groups",
                    format!(
                        "[{i}]: n_shared_experts must be finite and non-negative, got {}",
                        g.n_shared_experts
                    ),
                ));
            }
            if g.n_experts_active > g.n_experts {
                return Err(err(
                    "layer_groups",
                    format!(
                        "[{i}]: n_experts_active ({}) exceeds n_experts ({})",
                        g.n_experts_active, g.n_experts
                    ),
                ));
            }
            total += g.n_layers;
        }
        if (total - self.n_layers).abs() > 1e-9 * self.n_layers {
            return Err(err(
                "n_layers",
                format!(
                    "({}) must equal the layers of layer_groups ({total})",
                    self.n_layers
                ),
            ));
        }
        let rep = self.layer_groups[representative_group(&self.layer_groups)];
        for (field, mine, theirs) in [
            ("d_ff", self.d_ff, rep.d_ff),
            ("n_experts", self.n_experts, rep.n_experts),
            (
                "n_experts_active",
                self.n_experts_active,
                rep.n_experts_active,
            ),
        ] {
            if mine != theirs {
                return Err(err(
                    field,
                    format!("({mine}) must equal that of the layer group with the most experts ({theirs})"),
                ));
            }
        }
        Ok(())
    }

    /// The layer groups: `layer_groups`, or one group made of the `epoch` fields.
    pub fn groups(&self) -> Vec<LayerGroup> {
        if self.layer_groups.is_empty() {
            vec![LayerGroup::plain(
                self.n_layers,
                self.d_ff,
                self.n_experts,
                self.n_experts_active,
            )]
        } else {
            self.layer_groups.clone()
        }
    }

    /// Bytes per KV-cache element: `kv_bytes`, else `activation_bytes` (`epoch`).
    pub fn kv_element_bytes(&self) -> f64 {
        self.kv_bytes.unwrap_or(self.activation_bytes)
    }

    /// s = floor(E / k).
    pub fn sparsity(&self) -> f64 {
        (self.n_experts / self.n_experts_active).floor()
    }

    /// n_kv = 2·H/g: K and V heads together.
    pub fn kv_heads_total(&self) -> f64 {
        2.0 * self.n_heads / self.group_size
    }

    /// D_attn = (H + n_kv)·h, plus H·r with MLA's RoPE key.
    pub fn attention_width(&self) -> f64 {
        let width = (self.n_heads + self.kv_heads_total()) * self.head_dim;
        match self.mla_rope_dim {
            None => width,
            Some(r) => width + self.n_heads * r,
        }
    }

    /// c + q (+ r): rows of MLA's down-projection.
    pub fn mla_compressed_width(&self, mla: Mla) -> f64 {
        let cq = mla.kv_rank + mla.q_rank;
        match self.mla_rope_dim {
            None => cq,
            Some(r) => cq + r,
        }
    }

    /// P_ff_g = L_g·E_g·(a_up + a_dn)·d·f_g.
    pub fn group_ffn_params(&self, g: &LayerGroup) -> f64 {
        let per_expert = (self.ffn_up_matrices + self.ffn_down_matrices) * self.d_model * g.d_ff;
        g.n_layers * g.n_experts * per_expert
    }

    /// L_g·n_shared·(a_up + a_dn)·d·f_shared.
    pub fn group_shared_params(&self, g: &LayerGroup) -> f64 {
        if g.n_shared_experts == 0.0 {
            return 0.0;
        }
        let per_expert =
            (self.ffn_up_matrices + self.ffn_down_matrices) * self.d_model * g.shared_d_ff;
        g.n_layers * g.n_shared_experts * per_expert
    }

    /// Σ_g P_ff_g: routed and dense FFN parameters.
    pub fn ffn_params(&self) -> f64 {
        let mut total = 0.0;
        for g in &self.groups() {
            total += self.group_ffn_params(g);
        }
        total
    }

    pub fn shared_ffn_params(&self) -> f64 {
        let mut total = 0.0;
        for g in &self.groups() {
            total += self.group_shared_params(g);
        }
        total
    }

    /// Σ_g floor(P_ff_g / s_g).
    pub fn active_ffn_params(&self) -> f64 {
        let mut total = 0.0;
        for g in &self.groups() {
            total += (self.group_ffn_params(g) / g.sparsity()).floor();
        }
        total
    }

    pub fn attention_params_per_layer(&self) -> f64 {
        let (d, heads, h) = (self.d_model, self.n_heads, self.head_dim);
        match self.mla {
            None => self.attention_width() * d + h * heads * d,
            Some(Mla {
                kv_rank: c,
                q_rank: q,
            }) => {
                let p = 2.0 * c * d
                    + q * d
                    + self.kv_heads_total() * h * c
                    + heads * h * q
                    + h * heads * d;
                match self.mla_rope_dim {
                    None => p,
                    Some(r) => p + d * r + heads * r * q,
                }
            }
        }
    }

    /// P_emb = 2·V·d, or V·d with tied embeddings.
    pub fn embedding_params(&self) -> f64 {
        if self.tied_embeddings {
            self.vocab_size * self.d_model
        } else {
            2.0 * self.vocab_size * self.d_model
        }
    }

    /// The embedding parameters a token computes with: P_emb (`epoch`, quirk §10.4: the input
    /// embedding counts as a matmul), or the unembedding's V·d alone with `lookup_embedding`.
    pub fn active_embedding_params(&self) -> f64 {
        if self.lookup_embedding {
            self.vocab_size * self.d_model
        } else {
            self.embedding_params()
        }
    }

    pub fn total_params(&self) -> f64 {
        self.n_layers * self.attention_params_per_layer()
            + self.ffn_params()
            + self.shared_ffn_params()
            + self.embedding_params()
    }

    /// Quirk §10.2: floor(P_ff_g / s_g) here, true division in the FLOP count.
    pub fn active_params(&self) -> f64 {
        self.n_layers * self.attention_params_per_layer()
            + self.active_ffn_params()
            + self.shared_ffn_params()
            + self.active_embedding_params()
    }

    /// A group's KV bytes per cached token: n_kv·h·L_g·kv, or (c + r)·L_g·kv for MLA.
    pub fn group_kv_bytes(&self, g: &LayerGroup) -> f64 {
        match self.mla {
            None => self.kv_heads_total() * self.head_dim * g.n_layers * self.kv_element_bytes(),
            Some(mla) => {
                let width = match self.mla_rope_dim {
                    None => mla.kv_rank,
                    Some(r) => mla.kv_rank + r,
                };
                width * g.n_layers * self.kv_element_bytes()
            }
        }
    }

    /// kappa: KV-cache bytes per context token per sequence, windows ignored.
    pub fn kv_bytes_per_token(&self) -> f64 {
        let mut total = 0.0;
        for g in &self.groups() {
            total += self.group_kv_bytes(g);
        }
        total
    }

    /// Attention FLOPs per layer per token per context position: 4·h_att·H, or
    /// 2·(2c + r)·H with MLA's RoPE key (QK over c + r, AV over c).
    pub fn attention_flop_coefficient(&self) -> f64 {
        match (self.mla, self.mla_rope_dim) {
            (Some(mla), Some(r)) => 2.0 * (2.0 * mla.kv_rank + r) * self.n_heads,
            (mla, _) => 4.0 * mla.map_or(self.head_dim, |m| m.kv_rank) * self.n_heads,
        }
    }

    /// The FLOP-rate key: `compute_bits`, else 8·w.
    pub fn rate_bits(&self) -> f64 {
        self.compute_bits.unwrap_or(8.0 * self.weight_bytes)
    }
}

/// How collectives are timed (docs/model.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collectives {
    Nccl,
    Torus,
}

/// An accelerator in the fields of docs/model.md §2.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    pub name: String,
    /// Peak dense FLOP/s for 4-, 8- and 16-bit weights (None: not rated).
    pub flops_by_bits: [Option<f64>; 3],
    pub flop_utilization: f64,
    pub hbm_bandwidth: f64,
    pub mem_utilization: f64,
    pub hbm_bytes: f64,
    pub intra_node_bandwidth: f64,
    pub inter_node_bandwidth: f64,
    pub gpus_per_node: f64,
    pub usd_per_hour: f64,
    pub kernel_latency_s: f64,
    pub collectives: Collectives,
    pub ll_latency_s: f64,
    pub ll128_latency_s: f64,
}

impl Hardware {
    pub fn validate(&self) -> Result<(), SpecError> {
        let spec = format!("gpu '{}'", self.name);
        for (field, value) in [
            ("hbm_bandwidth", self.hbm_bandwidth),
            ("hbm_bytes", self.hbm_bytes),
            ("gpus_per_node", self.gpus_per_node),
            ("usd_per_hour", self.usd_per_hour),
            ("flop_utilization", self.flop_utilization),
            ("mem_utilization", self.mem_utilization),
        ] {
            check(&spec, field, value, false)?;
        }
        for (field, value) in [
            ("kernel_latency_s", self.kernel_latency_s),
            ("ll_latency_s", self.ll_latency_s),
            ("ll128_latency_s", self.ll128_latency_s),
        ] {
            check(&spec, field, value, true)?;
        }
        for (field, value) in [
            ("intra_node_bandwidth", self.intra_node_bandwidth),
            ("inter_node_bandwidth", self.inter_node_bandwidth),
        ] {
            if value.is_nan() || value <= 0.0 {
                return Err(SpecError {
                    spec,
                    field,
                    message: format!("must be positive (inf allowed), got {value}"),
                });
            }
        }
        for rate in self.flops_by_bits.iter().flatten() {
            check(&spec, "flops_by_bits", *rate, false)?;
        }
        Ok(())
    }

    /// Peak FLOP/s for a model's compute precision (Phi_bits[compute_bits], else Phi_bits[8·w]).
    pub fn peak_flops(&self, model: &Model) -> Result<f64, SpecError> {
        let bits = model.rate_bits();
        let slot = [4.0, 8.0, 16.0].iter().position(|&b| b == bits);
        slot.and_then(|i| self.flops_by_bits[i])
            .ok_or_else(|| SpecError {
                spec: format!("gpu '{}'", self.name),
                field: "flops_by_bits",
                message: match model.compute_bits {
                    None => format!(
                        "has no rate for {bits}-bit weights (model '{}', weight_bytes={})",
                        model.name, model.weight_bytes
                    ),
                    Some(_) => format!(
                        "has no rate for {bits}-bit compute (model '{}', compute_bits={bits})",
                        model.name
                    ),
                },
            })
    }
}

/// Epoch's H100 and Llama 3 entries (CATALOG.md §1), for the Rust tests and benches; Python
/// users get them, and every other entry, from the TOML catalog.
pub mod examples {
    use super::{Collectives, Hardware, Model};

    pub fn h100() -> Hardware {
        Hardware {
            name: "H100".into(),
            flops_by_bits: [Some(2e15), Some(2e15), Some(1e15)],
            flop_utilization: 0.7,
            hbm_bandwidth: 3.3e12,
            mem_utilization: 0.75,
            hbm_bytes: 8e10,
            intra_node_bandwidth: 2.25e11,
            inter_node_bandwidth: 2.5e10,
            gpus_per_node: 8.0,
            usd_per_hour: 2.1,
            kernel_latency_s: 4e-6,
            collectives: Collectives::Nccl,
            ll_latency_s: 6.8e-6,
            ll128_latency_s: 14e-6,
        }
    }

    pub fn dense(name: &str, d: f64, f: f64, layers: f64, heads: f64, g: f64) -> Model {
        Model::epoch(name, d, f, layers, heads, g, 128.0, 128_256.0)
    }

    pub fn llama_70b() -> Model {
        dense("Llama-3-70B", 8192.0, 28672.0, 80.0, 64.0, 8.0)
    }

    pub fn llama_8b() -> Model {
        dense("Llama-3-8B", 4096.0, 14336.0, 32.0, 32.0, 4.0)
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;

    #[test]
    fn llama_70b_derived() {
        let m = llama_70b();
        assert_eq!(m.total_params(), 70_552_387_584.0);
        assert_eq!(m.kv_bytes_per_token(), 327_680.0);
    }

    #[test]
    fn deepseek_epoch_derived() {
        let mut m = dense("DeepSeek-V3", 7168.0, 2048.0, 58.0, 128.0, 1.0);
        m.n_experts = 256.0;
        m.n_experts_active = 9.0;
        m.vocab_size = 129_280.0;
        m.weight_bytes = 1.0;
        m.mla = Some(Mla {
            kv_rank: 512.0,
            q_rank: 1536.0,
        });
        assert_eq!(m.sparsity(), 28.0);
        assert_eq!(m.total_params(), 666_070_679_552.0);
        assert_eq!(m.active_params(), 35_515_793_408.0);
        assert_eq!(m.kv_bytes_per_token(), 59_392.0);
    }

    /// DeepSeek-V3 as built: 3 dense layers, 58 MoE layers with a shared expert, MLA's RoPE key.
    pub(crate) fn deepseek_v3() -> Model {
        let mut m = dense("DeepSeek-V3", 7168.0, 2048.0, 61.0, 128.0, 1.0);
        m.vocab_size = 129_280.0;
        m.weight_bytes = 1.0;
        m.mla = Some(Mla {
            kv_rank: 512.0,
            q_rank: 1536.0,
        });
        m.mla_rope_dim = Some(64.0);
        m.n_experts = 256.0;
        m.n_experts_active = 8.0;
        let mut moe = LayerGroup::plain(58.0, 2048.0, 256.0, 8.0);
        moe.n_shared_experts = 1.0;
        m.layer_groups = vec![LayerGroup::plain(3.0, 18432.0, 1.0, 1.0), moe];
        m
    }

    #[test]
    fn deepseek_v3_faithful_derived() {
        let m = deepseek_v3();
        m.validate().unwrap();
        // (512 + 64)·61·2: CATALOG.md's 70,272 B per token
        assert_eq!(m.kv_bytes_per_token(), 70_272.0);
        let attn = 7168.0 * (2.0 * 512.0 + 1536.0 + 64.0)
            + 256.0 * 128.0 * 512.0
            + 128.0 * 128.0 * 1536.0
            + 128.0 * 128.0 * 7168.0
            + 128.0 * 64.0 * 1536.0;
        assert_eq!(m.attention_params_per_layer(), attn);
        let dense = 3.0 * 3.0 * 7168.0 * 18432.0;
        let routed = 58.0 * 256.0 * 3.0 * 7168.0 * 2048.0;
        let shared = 58.0 * 3.0 * 7168.0 * 2048.0;
        let emb = 2.0 * 129_280.0 * 7168.0;
        assert_eq!(
            m.total_params(),
            61.0 * attn + dense + routed + shared + emb
        );
        assert_eq!(
            m.active_params(),
            61.0 * attn + dense + routed / 32.0 + shared + emb
        );
        assert_eq!(
            m.attention_flop_coefficient(),
            2.0 * (1024.0 + 64.0) * 128.0
        );
        // The input embedding as a lookup: one V·d fewer active, the same total.
        let mut lookup = deepseek_v3();
        lookup.lookup_embedding = true;
        assert_eq!(lookup.total_params(), m.total_params());
        assert_eq!(
            lookup.active_params(),
            61.0 * attn + dense + routed / 32.0 + shared + emb / 2.0
        );
        lookup.tied_embeddings = true; // tied: V·d stored, V·d computed
        assert_eq!(lookup.active_embedding_params(), 129_280.0 * 7168.0);
    }

    #[test]
    fn extension_validation() {
        let mut m = deepseek_v3();
        m.n_layers = 60.0;
        assert_eq!(m.validate().unwrap_err().field, "n_layers");
        let mut m = deepseek_v3();
        m.d_ff = 18432.0;
        assert_eq!(m.validate().unwrap_err().field, "d_ff");
        let mut m = deepseek_v3();
        m.layer_groups[0].window = Some(-1.0);
        assert_eq!(m.validate().unwrap_err().field, "layer_groups");
        let mut m = llama_70b();
        m.mla_rope_dim = Some(64.0);
        assert_eq!(m.validate().unwrap_err().field, "mla_rope_dim");
        let mut m = llama_70b();
        m.compute_bits = Some(12.0);
        assert_eq!(m.validate().unwrap_err().field, "compute_bits");
        m.compute_bits = Some(8.0);
        assert_eq!(h100().peak_flops(&m).unwrap(), 2e15);
    }

    #[test]
    fn validation_names_field() {
        let mut m = llama_70b();
        m.group_size = 3.0;
        let e = m.validate().unwrap_err();
        assert_eq!(e.field, "group_size");
        m.group_size = 8.0;
        m.d_model = f64::NAN;
        assert_eq!(m.validate().unwrap_err().field, "d_model");
    }

    #[test]
    fn missing_rate_is_error() {
        let mut g = h100();
        g.flops_by_bits[0] = None;
        let mut m = llama_70b();
        m.weight_bytes = 0.5;
        assert!(g.peak_flops(&m).is_err());
        m.weight_bytes = 1.0;
        assert_eq!(g.peak_flops(&m).unwrap(), 2e15);
    }
}
