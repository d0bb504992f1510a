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
    let t1 = (rows * t / cols).sqrt().max(1.0).min(t);
    let t2 = t / t1;
    rows * cols * w + t1 * cols * n * a + t2 * rows * n * a
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
    let d = model.d_model;
    let out = matmul_traffic(d, heads_x_head_dim, n, t, w, a);
    match model.mla {
        None => matmul_traffic(attention_width, d, n, t, w, a) + out,
        Some(mla) => {
            let cq = model.mla_compressed_width(mla);
            matmul_traffic(cq, d, n, t, w, a)
                + matmul_traffic(attention_width, cq, n, t, w, a)
                + out
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
