//! FLOPs and matmul memory traffic (docs/model.md §3).

use crate::spec::Model;

/// FLOP(ℓ, n, S): arithmetic of a pass over n tokens with S positions per sequence.
pub fn flop(model: &Model, active_params: f64, ctx: f64, n: f64, positions: f64) -> f64 {
    let l_bar = ctx + (positions - 1.0) / 2.0;
    2.0 * active_params * n * positions + attention_flop(model, l_bar, n, positions)
}

/// F_kv: attention over the context, 4·h_att·H·L·l̄·n·S; per layer group with windows
/// Σ_g coef·L_g·min(l̄, W_g)·n·S, and coef = 2·(2c + r)·H with MLA's RoPE key
/// (docs/extensions.md §4, §6).
pub fn attention_flop(model: &Model, l_bar: f64, n: f64, positions: f64) -> f64 {
    let coef = model.attention_flop_coefficient();
    if model.layer_groups.is_empty() {
        return coef * model.n_layers * l_bar * n * positions;
    }
    let mut total = 0.0;
    for g in &model.layer_groups {
        let seen = g.window.map_or(l_bar, |w| l_bar.min(w));
        total += coef * g.n_layers * seen * n * positions;
    }
    total
}

/// F_ffn = 2·(P_ff / s)·n·S (true division: quirk §10.2).
pub fn ffn_flop(ffn_params: f64, sparsity: f64, n: f64, positions: f64) -> f64 {
    2.0 * (ffn_params / sparsity) * n * positions
}

/// RW(m, k, n; t): bytes moved by one m×k matmul over n tokens with t-way tensor parallelism.
#[inline]
pub fn matmul_traffic(rows: f64, cols: f64, n: f64, t: f64, w: f64, a: f64) -> f64 {
    MatmulShape::new(rows, cols, t, w).traffic(n, a)
}

/// [`matmul_traffic`] with what does not depend on the tokens done once: the weight bytes
/// m·k·w and each activation term's coefficient (t1·k, t2·m). `traffic` finishes the same
/// expression in the same order, so both give the same bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatmulShape {
    weights: f64,
    inputs: f64,
    outputs: f64,
}

impl MatmulShape {
    #[inline]
    pub fn new(rows: f64, cols: f64, t: f64, w: f64) -> Self {
        let t1 = (rows * t / cols).sqrt().max(1.0).min(t);
        let t2 = t / t1;
        Self {
            weights: rows * cols * w,
            inputs: t1 * cols,
            outputs: t2 * rows,
        }
    }

    /// RW over n tokens of `a` bytes per activation.
    #[inline]
    pub fn traffic(&self, n: f64, a: f64) -> f64 {
        self.weights + self.inputs * n * a + self.outputs * n * a
    }
}

/// RW_attn(n; t): the attention projections of one layer with `w` bytes per weight
/// (MODEL.md §3; MLA's down- and up-projections when the model has MLA). Shared by `epoch`
/// (through `Prepared`, which passes its cached widths) and `serving`.
#[inline]
pub fn attention_traffic(
    model: &Model,
    attention_width: f64,
    heads_x_head_dim: f64,
    n: f64,
    t: f64,
    w: f64,
    a: f64,
) -> f64 {
    AttentionShape::new(model, attention_width, heads_x_head_dim, t, w).traffic(n, a)
}

/// [`attention_traffic`]'s matmuls as [`MatmulShape`]s: the QKV (or MLA's down- and
/// up-projection) and output projections of one layer on t GPUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionShape {
    /// QKV, or MLA's down-projection then up-projection.
    first: MatmulShape,
    up: Option<MatmulShape>,
    out: MatmulShape,
}

impl AttentionShape {
    #[inline]
    pub fn new(model: &Model, attention_width: f64, heads_x_head_dim: f64, t: f64, w: f64) -> Self {
        let d = model.d_model;
        let out = MatmulShape::new(d, heads_x_head_dim, t, w);
        match model.mla {
            None => Self {
                first: MatmulShape::new(attention_width, d, t, w),
                up: None,
                out,
            },
            Some(mla) => {
                let cq = model.mla_compressed_width(mla);
                Self {
                    first: MatmulShape::new(cq, d, t, w),
                    up: Some(MatmulShape::new(attention_width, cq, t, w)),
                    out,
                }
            }
        }
    }

    #[inline]
    pub fn traffic(&self, n: f64, a: f64) -> f64 {
        match self.up {
            None => self.first.traffic(n, a) + self.out.traffic(n, a),
            Some(up) => self.first.traffic(n, a) + up.traffic(n, a) + self.out.traffic(n, a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_traffic_checks() {
        let rel = |x: f64, y: f64| ((x - y) / y).abs();
        assert!(
            rel(
                matmul_traffic(8192.0, 28672.0, 64.0, 8.0, 2.0, 2.0),
                480_859_133.307
            ) < 1e-11
        );
        assert!(
            rel(
                matmul_traffic(10240.0, 8192.0, 64.0, 16.0, 2.0, 2.0),
                177_150_908.862
            ) < 1e-11
        );
    }
}
