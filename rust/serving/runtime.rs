//! What a real server pays beyond kernels, collectives and the roofline (docs/serving.md §R),
//! and the bytes and FLOP rate of each component (§P). Defaults and their sources live in
//! `python/infersweep/serving.py` and docs/serving.md; `Runtime::ideal` is `epoch`'s costs.

use crate::spec::{Model, SpecError};

#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    pub step_overhead_s: f64,
    /// Host time per sequence of a scheduler's batch per step (0: none).
    pub sequence_overhead_s: f64,
    pub cuda_graphs: bool,
    pub graph_kernel_s: f64,
    /// None: the GPU's `kernel_latency_s`.
    pub launch_kernel_s: Option<f64>,
    /// None: `epoch`'s 4 launches per layer.
    pub attention_kernels: Option<f64>,
    pub mla_extra_kernels: f64,
    pub dense_ffn_kernels: f64,
    pub moe_kernels: f64,
    /// Fractions of peak; None: the GPU's utilisation cap.
    pub weight_bandwidth_efficiency: Option<f64>,
    pub kv_bandwidth_efficiency: Option<f64>,
    pub gemm_efficiency: Option<f64>,
    /// 0: no tile quantisation.
    pub gemm_tile_tokens: f64,
    /// None: the expected busiest rank under uniform random routing.
    pub expert_imbalance: Option<f64>,
    /// Multiplies every collective's latency term (each algorithm's, before the fastest is
    /// chosen); 1: the GPU's NCCL model as it stands (§R.7).
    pub collective_latency_scale: f64,
    /// One roofline per operator class (attention over the cache, then the GEMMs) summed, where
    /// false is `epoch`'s one max(memory, compute) over the whole step (§R.8).
    pub operator_roofline: bool,
    pub overlap: f64,
    pub memory_reserve_fraction: f64,
    pub memory_reserve_bytes: f64,
}

impl Runtime {
    /// `epoch`'s costs only: no overhead, 4 launches per layer at τ, the GPU's caps.
    pub fn ideal() -> Self {
        Self {
            step_overhead_s: 0.0,
            sequence_overhead_s: 0.0,
            cuda_graphs: false,
            graph_kernel_s: 1e-6,
            launch_kernel_s: None,
            attention_kernels: None,
            mla_extra_kernels: 4.0,
            dense_ffn_kernels: 3.0,
            moe_kernels: 7.0,
            weight_bandwidth_efficiency: None,
            kv_bandwidth_efficiency: None,
            gemm_efficiency: None,
            gemm_tile_tokens: 0.0,
            expert_imbalance: Some(1.0),
            collective_latency_scale: 1.0,
            operator_roofline: false,
            overlap: 0.0,
            memory_reserve_fraction: 0.0,
            memory_reserve_bytes: 0.0,
        }
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        let err = |field: &'static str, v: f64, rule: &str| SpecError {
            spec: "runtime".into(),
            field,
            message: format!("must be {rule}, got {v}"),
        };
        let in_range = |field, v: f64, lo: f64, hi: f64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(err(field, v, &format!("in [{lo}, {hi}]")))
            }
        };
        in_range("step_overhead_s", self.step_overhead_s, 0.0, 1.0)?;
        in_range("sequence_overhead_s", self.sequence_overhead_s, 0.0, 1e-2)?;
        in_range("graph_kernel_s", self.graph_kernel_s, 0.0, 1e-2)?;
        if let Some(v) = self.launch_kernel_s {
            in_range("launch_kernel_s", v, 0.0, 1e-2)?;
        }
        for (field, v) in [
            (
                "weight_bandwidth_efficiency",
                self.weight_bandwidth_efficiency,
            ),
            ("kv_bandwidth_efficiency", self.kv_bandwidth_efficiency),
            ("gemm_efficiency", self.gemm_efficiency),
        ] {
            if let Some(v) = v {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(err(field, v, "in (0, 1]"));
                }
            }
        }
        if let Some(v) = self.expert_imbalance {
            in_range("expert_imbalance", v, 1.0, 1e6)?;
        }
        if !(self.collective_latency_scale > 0.0 && self.collective_latency_scale <= 100.0) {
            return Err(err(
                "collective_latency_scale",
                self.collective_latency_scale,
                "in (0, 100]",
            ));
        }
        in_range("gemm_tile_tokens", self.gemm_tile_tokens, 0.0, 4096.0)?;
        in_range("overlap", self.overlap, 0.0, 1.0)?;
        in_range(
            "memory_reserve_fraction",
            self.memory_reserve_fraction,
            0.0,
            0.99,
        )?;
        in_range("memory_reserve_bytes", self.memory_reserve_bytes, 0.0, 1e15)?;
        Ok(())
    }
}

/// Bytes per element of each component and the FLOP-rate key each GEMM runs at (§P),
/// resolved for one model by `Precision.resolve` in Python.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precision {
    pub attention: f64,
    pub dense_ffn: f64,
    pub experts: f64,
    pub embeddings: f64,
    pub kv_cache: f64,
    pub activations: f64,
    pub dispatch: f64,
    pub attention_bits: f64,
    pub ffn_bits: f64,
    pub expert_bits: f64,
}

impl Precision {
    /// One precision: the model's own fields everywhere (what `epoch` uses).
    pub fn of_model(m: &Model) -> Self {
        let bits = m.rate_bits();
        Self {
            attention: m.weight_bytes,
            dense_ffn: m.weight_bytes,
            experts: m.weight_bytes,
            embeddings: m.weight_bytes,
            kv_cache: m.kv_element_bytes(),
            activations: m.activation_bytes,
            dispatch: m.activation_bytes,
            attention_bits: bits,
            ffn_bits: bits,
            expert_bits: bits,
        }
    }
}
