//! Model and hardware specs (spec/MODEL.md §1–2): plain structs, validation, derived values.
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

/// A Transformer in the fields of MODEL.md §1.
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
}

impl Model {
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
        Ok(())
    }

    /// s = floor(E / k).
    pub fn sparsity(&self) -> f64 {
        (self.n_experts / self.n_experts_active).floor()
    }

    /// n_kv = 2·H/g: K and V heads together.
    pub fn kv_heads_total(&self) -> f64 {
        2.0 * self.n_heads / self.group_size
    }

    /// D_attn = (H + n_kv)·h.
    pub fn attention_width(&self) -> f64 {
        (self.n_heads + self.kv_heads_total()) * self.head_dim
    }

    pub fn ffn_params(&self) -> f64 {
        let per_expert = (self.ffn_up_matrices + self.ffn_down_matrices) * self.d_model * self.d_ff;
        self.n_layers * self.n_experts * per_expert
    }

    pub fn attention_params_per_layer(&self) -> f64 {
        let (d, heads, h) = (self.d_model, self.n_heads, self.head_dim);
        match self.mla {
            None => self.attention_width() * d + h * heads * d,
            Some(Mla {
                kv_rank: c,
                q_rank: q,
            }) => {
                2.0 * c * d + q * d + self.kv_heads_total() * h * c + heads * h * q + h * heads * d
            }
        }
    }

    pub fn embedding_params(&self) -> f64 {
        2.0 * self.vocab_size * self.d_model
    }

    pub fn total_params(&self) -> f64 {
        self.n_layers * self.attention_params_per_layer()
            + self.ffn_params()
            + self.embedding_params()
    }

    /// Quirk §10.2: floor(P_ff / s) here, true division in the FLOP count.
    pub fn active_params(&self) -> f64 {
        self.n_layers * self.attention_params_per_layer()
            + (self.ffn_params() / self.sparsity()).floor()
            + self.embedding_params()
    }

    /// kappa: KV-cache bytes per context token per sequence.
    pub fn kv_bytes_per_token(&self) -> f64 {
        match self.mla {
            None => self.kv_heads_total() * self.head_dim * self.n_layers * self.activation_bytes,
            Some(mla) => mla.kv_rank * self.n_layers * self.activation_bytes,
        }
    }

    /// The head width that attention's FLOPs scale with: c for MLA, h otherwise.
    pub fn attention_head_flop_width(&self) -> f64 {
        self.mla.map_or(self.head_dim, |m| m.kv_rank)
    }
}

/// How collectives are timed (MODEL.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collectives {
    Nccl,
    Torus,
}

/// An accelerator in the fields of MODEL.md §2.
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

    /// Peak FLOP/s for a model's weight precision (Phi_bits[8·w]).
    pub fn peak_flops(&self, model: &Model) -> Result<f64, SpecError> {
        let bits = 8.0 * model.weight_bytes;
        let slot = [4.0, 8.0, 16.0].iter().position(|&b| b == bits);
        slot.and_then(|i| self.flops_by_bits[i])
            .ok_or_else(|| SpecError {
                spec: format!("gpu '{}'", self.name),
                field: "flops_by_bits",
                message: format!(
                    "has no rate for {bits}-bit weights (model '{}', weight_bytes={})",
                    model.name, model.weight_bytes
                ),
            })
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
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
        Model {
            name: name.into(),
            d_model: d,
            d_ff: f,
            n_layers: layers,
            n_heads: heads,
            group_size: g,
            head_dim: 128.0,
            vocab_size: 128_256.0,
            n_experts: 1.0,
            n_experts_active: 1.0,
            ffn_up_matrices: 2.0,
            ffn_down_matrices: 1.0,
            mla: None,
            weight_bytes: 2.0,
            activation_bytes: 2.0,
        }
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
    use super::fixtures::*;
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
