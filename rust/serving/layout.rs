//! Deployable layouts of N GPUs and their per-GPU memory (docs/serving.md §L, §M).
//!
//! A layout has `pp` pipeline stages of T = N/pp GPUs; in a stage, attention runs as
//! `attention_dp` data-parallel groups of `tp` GPUs (tp·attention_dp = T) and the experts of
//! a MoE layer are split over `ep` ranks, each an expert-TP group of T/ep GPUs. Degrees divide
//! what they split: GPUs, layers, query heads, KV heads (or tp is a multiple of them: the KV
//! heads are then replicated) and experts.

use crate::forward::GroupPrep;
use crate::spec::{Hardware, Model, SpecError};

use super::runtime::{Precision, Runtime};

/// Capacity slack, as in `epoch` (docs/model.md, the portable rule).
pub const SLACK: f64 = 1e-12;

/// Plain TP8 (one pipeline stage, no EP, no attention DP): the layout the unit tests use most.
#[cfg(test)]
pub(crate) const TP8: Layout = Layout {
    tp: 8,
    pp: 1,
    ep: 1,
    attention_dp: 1,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    pub tp: u32,
    pub pp: u32,
    pub ep: u32,
    pub attention_dp: u32,
}

impl Layout {
    pub fn stage(&self) -> u32 {
        self.tp * self.attention_dp
    }

    pub fn expert_tp(&self) -> u32 {
        self.stage() / self.ep
    }
}

/// Pinned degrees of a grid row; 0 leaves a degree to the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pins {
    pub tp: u32,
    pub pp: u32,
    pub ep: u32,
    pub attention_dp: u32,
}

/// k splits x evenly; a degree of 1 splits anything (a scaled model's fractional widths too).
fn divides(k: u32, x: f64) -> bool {
    k == 1 || (x.fract() == 0.0 && x % f64::from(k) == 0.0)
}

/// H/g: Hugging Face's `num_key_value_heads`.
pub fn kv_heads(m: &Model) -> f64 {
    m.n_heads / m.group_size
}

/// Why a layout cannot be deployed: the field to blame and the reason; None when it can.
pub fn problem(m: &Model, n_gpus: u32, lay: Layout) -> Option<(&'static str, String)> {
    if n_gpus % lay.pp != 0 {
        return Some((
            "pp",
            format!("pp={} does not divide n_gpus={n_gpus}", lay.pp),
        ));
    }
    if !divides(lay.pp, m.n_layers) {
        return Some((
            "pp",
            format!(
                "pp={} does not divide the {} layers of model '{}'",
                lay.pp, m.n_layers, m.name
            ),
        ));
    }
    let stage = n_gpus / lay.pp;
    if stage % lay.tp != 0 {
        return Some((
            "tp",
            format!(
                "tp={} does not divide the {stage} GPUs of a stage (n_gpus={n_gpus} / pp={})",
                lay.tp, lay.pp
            ),
        ));
    }
    if u64::from(lay.tp) * u64::from(lay.attention_dp) != u64::from(stage) {
        return Some((
            "attention_dp",
            format!(
                "tp={} × attention_dp={} must equal the {stage} GPUs of a stage (n_gpus={n_gpus} / pp={})",
                lay.tp, lay.attention_dp, lay.pp
            ),
        ));
    }
    if !divides(lay.tp, m.n_heads) {
        return Some((
            "tp",
            format!(
                "tp={} does not divide the {} query heads of model '{}'",
                lay.tp, m.n_heads, m.name
            ),
        ));
    }
    if m.mla.is_none() {
        let kvh = kv_heads(m);
        let multiple = kvh.fract() == 0.0 && kvh >= 1.0 && f64::from(lay.tp) % kvh == 0.0;
        if !(divides(lay.tp, kvh) || multiple) {
            return Some((
                "tp",
                format!(
                    "tp={} neither divides nor is a multiple of the {kvh} KV heads of model '{}'",
                    lay.tp, m.name
                ),
            ));
        }
    }
    if stage % lay.ep != 0 {
        return Some((
            "ep",
            format!("ep={} does not divide the {stage} GPUs of a stage", lay.ep),
        ));
    }
    let experts: Vec<f64> = m
        .groups()
        .iter()
        .map(|g| g.n_experts)
        .filter(|&e| e > 1.0)
        .collect();
    if lay.ep > 1 && experts.is_empty() {
        return Some((
            "ep",
            format!(
                "ep={} needs a mixture-of-experts model; '{}' is dense",
                lay.ep, m.name
            ),
        ));
    }
    for e in experts {
        if !divides(lay.ep, e) {
            return Some((
                "ep",
                format!(
                    "ep={} does not divide the {e} experts of model '{}'",
                    lay.ep, m.name
                ),
            ));
        }
    }
    None
}

fn divisors(n: u32) -> Vec<u32> {
    let mut small = Vec::new();
    let mut large = Vec::new();
    let mut k = 1u32;
    while u64::from(k) * u64::from(k) <= u64::from(n) {
        if n % k == 0 {
            small.push(k);
            if k != n / k {
                large.push(n / k);
            }
        }
        k += 1;
    }
    small.extend(large.into_iter().rev());
    small
}

/// Every deployable layout of `n_gpus` matching `pins`, in canonical order (pp, then tp, then
/// ep ascending); an error naming a pinned field when they allow none.
pub fn layouts(m: &Model, n_gpus: u32, pins: Pins) -> Result<Vec<Layout>, SpecError> {
    let mut out = Vec::new();
    for pp in divisors(n_gpus)
        .into_iter()
        .filter(|&p| pins.pp == 0 || p == pins.pp)
    {
        let stage = n_gpus / pp;
        let in_stage = divisors(stage);
        for &tp in in_stage.iter().filter(|&&t| pins.tp == 0 || t == pins.tp) {
            let attention_dp = stage / tp;
            if pins.attention_dp != 0 && attention_dp != pins.attention_dp {
                continue;
            }
            for &ep in in_stage.iter().filter(|&&e| pins.ep == 0 || e == pins.ep) {
                let lay = Layout {
                    tp,
                    pp,
                    ep,
                    attention_dp,
                };
                if problem(m, n_gpus, lay).is_none() {
                    out.push(lay);
                }
            }
        }
    }
    if out.is_empty() {
        // Complete the pins with the most permissive values to name a reason.
        let pp = if pins.pp == 0 { 1 } else { pins.pp };
        let stage = if n_gpus % pp == 0 {
            n_gpus / pp
        } else {
            n_gpus
        };
        let tp = match (pins.tp, pins.attention_dp) {
            (0, dp) if dp != 0 && stage % dp == 0 => stage / dp,
            (0, _) => 1,
            (t, _) => t,
        };
        let dp = if pins.attention_dp == 0 {
            (stage / tp).max(1)
        } else {
            pins.attention_dp
        };
        let ep = if pins.ep == 0 { 1 } else { pins.ep };
        let guess = Layout {
            tp,
            pp,
            ep,
            attention_dp: dp,
        };
        let (field, reason) = problem(m, n_gpus, guess).unwrap_or((
            "tp",
            "no combination of the free degrees is valid".to_string(),
        ));
        return Err(SpecError {
            spec: "grid".into(),
            field,
            message: format!("has no deployable layout of n_gpus={n_gpus}: {reason}"),
        });
    }
    Ok(out)
}

/// Per-GPU memory of the busiest stage (§M), in bytes, and the largest batch that fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub weights: f64,
    pub kv: f64,
    pub reserve: f64,
    pub kv_per_sequence: f64,
    pub max_batch_size: f64,
}

impl Memory {
    pub fn fits(&self) -> bool {
        self.max_batch_size.is_infinite() || self.max_batch_size >= 1.0
    }
}

/// Fraction of one sequence's KV cache that a GPU of an attention-TP group holds (§M.2):
/// max(1, n_kv/tp) of the n_kv KV heads; MLA's latent is replicated, so all of it.
pub fn kv_share(m: &Model, tp: f64) -> f64 {
    if m.mla.is_some() {
        return 1.0;
    }
    let kvh = kv_heads(m);
    (kvh / tp).max(1.0) / kvh
}

/// The layout-only part of §M: weights per GPU (sharded, replicated across attention-DP
/// groups, expert shards), the runtime reserve and the free memory left for the KV cache.
/// [`MemoryPlan::at`] adds what depends on the context and the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryPlan {
    pub weights: f64,
    pub reserve: f64,
    free: f64,
    /// hbm_bytes·SLACK: how far `free` may fall below zero and still fit.
    slack: f64,
    /// Bytes per KV element of the model, of the cache's precision, and the GPU's share.
    kv_element: f64,
    kv_cache: f64,
    kv_share: f64,
    pp: f64,
    dp: f64,
}

impl MemoryPlan {
    pub fn new(
        m: &Model,
        hw: &Hardware,
        groups: &[GroupPrep],
        attention_params: f64,
        embedding_params: f64,
        lay: Layout,
        rt: &Runtime,
        prec: &Precision,
    ) -> Self {
        let (tp, dp, pp) = (
            f64::from(lay.tp),
            f64::from(lay.attention_dp),
            f64::from(lay.pp),
        );
        let stage = f64::from(lay.stage());
        let mats = m.ffn_up_matrices + m.ffn_down_matrices;
        let d = m.d_model;
        let per_stage = 1.0 / pp;
        let mut weights = m.n_layers * per_stage * attention_params * prec.attention / tp;
        for g in groups {
            let layers = g.n_layers * per_stage;
            let w = if g.n_experts > 1.0 {
                prec.experts
            } else {
                prec.dense_ffn
            };
            weights += layers * g.n_experts * mats * d * g.d_ff * w / stage;
            if g.n_shared_experts != 0.0 {
                weights +=
                    layers * g.n_shared_experts * mats * d * g.shared_d_ff * prec.dense_ffn / stage;
            }
        }
        let emb = if lay.pp == 1 {
            embedding_params
        } else {
            m.vocab_size * d
        };
        weights += emb * prec.embeddings / tp;
        let reserve = rt.memory_reserve_fraction * hw.hbm_bytes + rt.memory_reserve_bytes;
        Self {
            weights,
            reserve,
            free: hw.hbm_bytes - reserve - weights,
            slack: SLACK * hw.hbm_bytes,
            kv_element: m.kv_element_bytes(),
            kv_cache: prec.kv_cache,
            kv_share: kv_share(m, tp),
            pp,
            dp,
        }
    }

    /// (KV bytes of one sequence on a GPU, the largest batch that fits) at a context whose
    /// whole KV cache is `kv_bytes_at_ctx` bytes at the model's precision.
    #[inline]
    pub fn at_context(&self, kv_bytes_at_ctx: f64) -> (f64, f64) {
        self.at_kv_per_sequence(self.kv_on_gpu(kv_bytes_at_ctx))
    }

    /// Bytes on one GPU of `kv_bytes` of the model's KV cache (at its element size): the
    /// cache's precision and the GPU's share of the KV heads (§M.2).
    #[inline]
    pub fn kv_on_gpu(&self, kv_bytes: f64) -> f64 {
        kv_bytes / self.kv_element * self.kv_cache * self.kv_share
    }

    /// This plan with `bytes` more weights per GPU (a speculative draft's, docs/serving.md §D).
    #[must_use]
    pub fn with_weights(&self, bytes: f64) -> Self {
        Self {
            weights: self.weights + bytes,
            free: self.free - bytes,
            ..*self
        }
    }

    /// [`MemoryPlan::at_context`] given the KV bytes of one sequence on a GPU.
    #[inline]
    pub fn at_kv_per_sequence(&self, kv_seq: f64) -> (f64, f64) {
        let max_batch_size = if self.free < -self.slack {
            0.0
        } else if kv_seq <= 0.0 {
            f64::INFINITY
        } else {
            self.pp * self.dp * (self.free.max(0.0) / kv_seq * (1.0 + SLACK)).floor()
        };
        (kv_seq, max_batch_size)
    }

    /// Sequences of `batch` on a GPU of the busiest attention-DP group: ⌈⌈B/pp⌉/dp⌉.
    #[inline]
    pub fn seqs(&self, batch: f64) -> f64 {
        ((batch / self.pp).ceil() / self.dp).ceil()
    }

    /// [`Memory`] of [`MemoryPlan::seqs`] sequences per GPU, given
    /// [`MemoryPlan::at_context`]'s pair.
    #[inline]
    pub fn with_seqs(&self, (kv_seq, max_batch_size): (f64, f64), seqs: f64) -> Memory {
        Memory {
            weights: self.weights,
            kv: seqs * kv_seq,
            reserve: self.reserve,
            kv_per_sequence: kv_seq,
            max_batch_size,
        }
    }

    /// [`Memory`] of `batch` sequences at a context of `kv_bytes_at_ctx` bytes.
    #[inline]
    pub fn at(&self, kv_bytes_at_ctx: f64, batch: f64) -> Memory {
        self.with_seqs(self.at_context(kv_bytes_at_ctx), self.seqs(batch))
    }
}

/// §M: weights (sharded, replicated across attention-DP groups, expert shards), the KV cache
/// of the busiest attention-DP group and the runtime reserve, per GPU.
pub fn memory(
    m: &Model,
    hw: &Hardware,
    groups: &[GroupPrep],
    attention_params: f64,
    embedding_params: f64,
    kv_bytes_at_ctx: f64,
    batch: f64,
    lay: Layout,
    rt: &Runtime,
    prec: &Precision,
) -> Memory {
    MemoryPlan::new(
        m,
        hw,
        groups,
        attention_params,
        embedding_params,
        lay,
        rt,
        prec,
    )
    .at(kv_bytes_at_ctx, batch)
}
