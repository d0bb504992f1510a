"""The forward-pass model in plain Python: readable, slow, and the oracle for the Rust engine.

This file follows docs/model.md (`epoch` semantics, Erdil 2025) formula by formula, with the
section numbers beside each function, and the named extensions of docs/extensions.md (layer
groups, shared experts, MLA's RoPE key, attention windows, tied embeddings, separate KV and
compute precisions). A model is always a list of layer groups here: one made of `epoch`'s fields
when ``layer_groups`` is unset, in which case every sum below has a single term, computed with
`epoch`'s own expression in `epoch`'s order, so that such a model gives exactly the numbers it
gave before the extensions existed. It uses no numpy on purpose: every number is a Python
float computed with the C library's ``pow`` and ``log2``, exactly as the Rust engine does, so
the two agree to the last few ulps. No result hinges on those last ulps either (the rounding
rule of docs/model.md): log-spaced lists end at exactly their end value, counts within 1e-12
of an integer are that integer before ``ceil``, and capacity has 1e-12 relative slack. Tests
hold the Rust engine equal to this file; benchmarks use it as the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .specs import Gpu, LayerGroup, Model

ALLREDUCE, ALL_TO_ALL, P2P = "allreduce", "all-to-all", "p2p"

# NCCL tuning model (§4.1): per-rank latency, per-log2(nodes) latency, bandwidth efficiency.
_NCCL_LL = (0.6e-6, 5e-6, 0.5)
_NCCL_LL128 = (1.25e-6, 8.5e-6, 0.95)
_NCCL_SIMPLE = (28e-6, 28e-6, 1.0)


#: A count within this relative distance of an integer is that integer before ``ceil``.
COUNT_TOLERANCE = 1e-12
#: A configuration is infeasible when N·HBM < need·CAPACITY_SLACK (1e-12 relative slack).
CAPACITY_SLACK = 1 - 1e-12


def whole(x: float) -> float:
    """``x``, or the integer nearest to it when within 1e-12 relative of it."""
    r = float(round(x))
    return r if abs(x - r) <= COUNT_TOLERANCE * abs(r) else x


def ceil_count(x: float) -> float:
    """``ceil`` of a count that may carry rounding error: 16 + 1 ulp GPUs fill 2 nodes of 8, not 3."""
    return float(math.ceil(whole(x)))


def logspace2_between(first: float, last: float, n: int) -> list[float]:
    """From exactly ``first`` to exactly ``last``: interior points 2^(lo + i·step), lo = log2(first),
    step = (log2(last) − lo)/(n − 1); one point is ``first``."""
    if n == 1:
        return [first]
    lo = math.log2(first)
    step = (math.log2(last) - lo) / (n - 1)
    return [first] + [2.0 ** (lo + i * step) for i in range(1, n - 1)] + [last]


def logspace_to(x: float, n: int) -> list[float]:
    """``logspace_to(x, n)``: 1 to exactly x (the PP list up to min(b, L), the f_at list up to T)."""
    return logspace2_between(1.0, x, n)


def logspace10(lo: float, hi: float, n: int) -> list[float]:
    """``numpy.logspace(lo, hi, n)``: the frontier's latency targets (§7), last exactly 10^hi."""
    step = (hi - lo) / (n - 1)
    return [10.0 ** (lo + i * step) for i in range(n - 1)] + [10.0**hi]


def frontier_grids(m: Model, g: Gpu, resolution: int = 400) -> tuple[list[float], list[float]]:
    """The frontier's grids (§7): N from exactly N_min = w·P_total/HBM to 2^18, b from 1 to
    exactly 2^18·s, ``resolution`` points each."""
    n_min = m.weight_bytes * m.total_params / g.hbm_bytes
    top = 2.0**18
    return logspace2_between(n_min, top, resolution), logspace2_between(1.0, top * m.sparsity, resolution)


def pp_degrees(batch: float, n_layers: float, use_pp: bool) -> list[float]:
    """The pipeline degrees tried (§5): [1], and with PP logspace_to(max(1, min(b, L)), 10)."""
    return [1.0] + (logspace_to(max(1.0, min(batch, n_layers)), 10) if use_pp else [])


def fits(m: Model, g: Gpu, n_gpus: float, batch: float, ctx: float, pp_degree: float) -> bool:
    """Capacity (§5): weights + the micro-batch's KV cache fit in N·HBM, with 1e-12 relative slack."""
    need = m.kv_bytes_for_context(ctx) * (batch / pp_degree) + m.weight_bytes * m.total_params
    return not n_gpus * g.hbm_bytes < need * CAPACITY_SLACK


# ---------------------------------------------------------------- §3 arithmetic and traffic


def flop(m: Model, ctx: float, n: float, s_pos: float) -> float:
    """FLOP(ℓ, n, S): arithmetic of a pass over n tokens, S positions per sequence."""
    l_bar = ctx + (s_pos - 1) / 2
    return 2 * m.active_params * n * s_pos + _attn_flop(m, l_bar, n, s_pos)


def _attn_flop(m: Model, l_bar: float, n: float, s_pos: float) -> float:
    """F_kv = Σ_g coef·L_g·min(l̄, W_g)·n·S, coef = 4·h_att·H (`epoch`: one group, no window);
    with MLA's RoPE key coef = 2·(2c + r)·H (extensions §2, §4)."""
    coef = m.attention_flop_coefficient
    total = 0.0
    for g in m.groups:
        seen = l_bar if g.window is None else min(l_bar, g.window)
        total += coef * g.n_layers * seen * n * s_pos
    return total


def ffn_flop(m: Model, n: float, s_pos: float) -> float:
    """F_ffn = Σ_g 2·(P_ff_g / s_g)·n·S + 2·P_shared·n·S (extensions §1, §3)."""
    total = 0.0
    for g in m.groups:
        total += 2 * (m.group_ffn_params(g) / g.sparsity) * n * s_pos
    shared = m.shared_ffn_params
    if shared:
        total += 2 * shared * n * s_pos
    return total


def kv_flop(m: Model, ctx: float, n: float, s_pos: float) -> float:
    return _attn_flop(m, ctx + (s_pos - 1) / 2, n, s_pos)


def matmul_traffic(rows: float, cols: float, n: float, t: float, w: float, a: float) -> float:
    """RW(m, k, n; t) with w bytes per weight and a per activation (shared with `serving`)."""
    t1 = min(max(math.sqrt(rows * t / cols), 1.0), t)
    t2 = t / t1
    return rows * cols * w + t1 * cols * n * a + t2 * rows * n * a


def rw(m: Model, rows: float, cols: float, n: float, t: float) -> float:
    """RW(m, k, n; t): bytes moved by one rows×cols matmul over n tokens on t GPUs."""
    return matmul_traffic(rows, cols, n, t, m.weight_bytes, m.activation_bytes)


def rw_ffn(m: Model, n: float, t: float, g: LayerGroup | None = None) -> float:
    """RW_ffn(n; t) of one layer of group g (default: the representative group)."""
    g = g if g is not None else m.groups[m.representative]
    s = g.sparsity
    touched = 1 - (1 - 1 / s) ** n
    mats = m.ffn_up_matrices + m.ffn_down_matrices
    return touched * g.n_experts * mats * rw(m, m.d_model, g.d_ff, n / s, t)


def rw_shared(m: Model, n: float, t: float, g: LayerGroup) -> float:
    """One layer's shared experts: n_shared·(a_up + a_dn)·RW(d, f_shared, n; t), read for every
    token, tensor-parallel over the t GPUs of the stage (extensions §3)."""
    mats = m.ffn_up_matrices + m.ffn_down_matrices
    return g.n_shared_experts * mats * rw(m, m.d_model, g.shared_width, n, t)


def rw_attn(m: Model, n: float, t: float) -> float:
    return attention_traffic(m, n, t, m.weight_bytes, m.activation_bytes)


def attention_traffic(m: Model, n: float, t: float, w: float, a: float) -> float:
    """RW_attn(n; t) with w bytes per attention weight (shared with `serving`)."""
    d, hh = m.d_model, m.n_heads * m.head_dim  # type: ignore[operator]
    if not m.is_mla:
        return matmul_traffic(m.attention_width, d, n, t, w, a) + matmul_traffic(d, hh, n, t, w, a)
    cq = m.mla_compressed_width  # c + q (+ r with the RoPE key)
    return (matmul_traffic(cq, d, n, t, w, a) + matmul_traffic(m.attention_width, cq, n, t, w, a)
            + matmul_traffic(d, hh, n, t, w, a))


def expert_parallel(m: Model, g: LayerGroup, T: float, bm: float) -> tuple[float, float]:
    """(N_EP_g, T_ff_g): a group's expert-parallel degree and FFN tensor-parallel degree (§5)."""
    n_ep = min(T, g.n_experts)
    if bm < 2 * g.sparsity:
        n_ep = 1.0
    return n_ep, max(1.0, T / max(1.0, n_ep))


# ---------------------------------------------------------------- §4 collectives


def collective(g: Gpu, ranks: float, nodes: float, nbytes: float, kind: str,
               latency_scale: float = 1.0) -> tuple[float, float]:
    """(latency part, bandwidth part) of one collective; zero on one rank. `latency_scale`
    multiplies each algorithm's latency before the fastest is chosen (serving's
    ``Runtime.collective_latency_scale``; `epoch` leaves it at 1, which changes no bit)."""
    if ranks <= 1:
        return 0.0, 0.0
    mult = 2 if kind == ALLREDUCE else 1
    if g.collectives == "torus":
        lat = mult * (ranks - 1) * 1e-6 * latency_scale
        bw = (ranks - 1) * nbytes / (ranks * g.inter_node_bandwidth)
        return lat, bw if kind == ALLREDUCE else bw / 2
    best: tuple[float, float] | None = None
    for (per_rank, per_level, phi), base in zip(  # noqa: B905 (two fixed triples)
        (_NCCL_LL, _NCCL_LL128, _NCCL_SIMPLE), (g.ll_latency_s, g.ll128_latency_s, 0.0)
    ):
        lat = (mult * ((ranks / nodes - 1) * per_rank + per_level * math.log2(nodes)) + base) * latency_scale
        bw = max(
            nodes * max(0.0, ranks / nodes - 1) * nbytes / (ranks * g.intra_node_bandwidth * phi),
            (nodes - 1) * nbytes / (ranks * g.inter_node_bandwidth * phi),
        )
        if kind != ALLREDUCE:
            bw = bw / 2
        if best is None or lat + bw < best[0] + best[1]:
            best = (lat, bw)
    assert best is not None
    return best


# ---------------------------------------------------------------- §5 token latency


@dataclass
class Pass:
    """One forward pass under its best layout."""

    latency_s: float
    kernel_s: float
    network_latency_s: float
    network_bandwidth_s: float
    memory_s: float
    compute_s: float
    two_d_tp: bool
    pp_degree: float
    ep_degree: float
    tp_ffn: float
    tp_attention: float
    attention_scaledown: float

    @property
    def feasible(self) -> bool:
        return self.latency_s < math.inf


_NAN = math.nan
INFEASIBLE = Pass(math.inf, _NAN, _NAN, _NAN, _NAN, _NAN, False, _NAN, _NAN, _NAN, _NAN, _NAN)


def _tp_layout(g: Gpu, t: float, two_d: bool) -> tuple[float, float, float]:
    """(ranks of each all-reduce, the other grid side, nodes spanned) for t-way TP."""
    if two_d:
        r = math.sqrt(t)
        return r, t / r, math.sqrt(ceil_count(t / g.gpus_per_node))
    return t, 1.0, ceil_count(t / g.gpus_per_node)


def token_latency(m: Model, g: Gpu, n_gpus: float, batch: float, ctx: float, s_pos: float = 1,
                  use_pp: bool = False) -> Pass:
    """The best layout's forward pass time for (N, b, ℓ, S) (§5; per layer group: extensions §1)."""
    N, b, S = n_gpus, batch, s_pos
    phi = g.flops_for(m) * g.flop_utilization
    beta = g.hbm_bandwidth * g.mem_utilization
    a, w = m.activation_bytes, m.weight_bytes
    L, d = m.n_layers, m.d_model
    groups, rep = m.groups, m.representative
    kv_ctx = m.kv_bytes_for_context(ctx)  # kappa·ℓ, or Σ_g ... min(ℓ, W_g) with windows
    pp_list = pp_degrees(b, L, use_pp)

    f_ffn = ffn_flop(m, b * S, 1)
    f_kv = kv_flop(m, ctx, b * S, 1)
    f_proj = flop(m, ctx, b * S, 1) - f_ffn - f_kv
    t_kern = 4 * L * g.kernel_latency_s
    best = INFEASIBLE
    for two_d in (True, False):
        for P in pp_list:
            bm = b / P
            T = N / P
            n = bm * S
            # Per group: its EP and FFN TP degrees, all-reduces and all-to-all (extensions §1);
            # shared experts add traffic, no collective (§3).
            lat_fixed = bw_fixed = 0.0
            mem_fixed = kv_ctx * bm
            for grp in groups:
                k = grp.n_experts_active
                n_ep_g, T_ff = expert_parallel(m, grp, T, bm)
                R_ff, _, nodes_ff = _tp_layout(g, T_ff, two_d)
                ffn_div = T / R_ff
                up, down = k * m.ffn_up_matrices * grp.d_ff / ffn_div, k * m.ffn_down_matrices * d / ffn_div
                words_ffn = [up, down] if two_d else [down]
                for word in words_ffn:
                    cl, cb = collective(g, R_ff, nodes_ff, word * bm * S * a, ALLREDUCE)
                    lat_fixed += grp.n_layers * cl
                    bw_fixed += grp.n_layers * cb
                if grp.n_experts > 1:
                    r = min(k, n_ep_g)
                    cl, cb = collective(g, r, ceil_count(r / g.gpus_per_node), d * bm * r * S * a / T,
                                        ALL_TO_ALL)
                    lat_fixed += 2 * grp.n_layers * cl
                    bw_fixed += 2 * grp.n_layers * cb
                mem_fixed += grp.n_layers * rw_ffn(m, n, T_ff, grp)
            for grp in groups:
                if grp.n_shared_experts:
                    mem_fixed += grp.n_layers * rw_shared(m, n, T, grp)
            n_ep, T_ff = expert_parallel(m, groups[rep], T, bm)  # reported: the representative group's
            cl, cb = collective(g, 2, 2, d * bm * S * a / T, P2P)
            lat_fixed += (P - 1) * cl
            bw_fixed += (P - 1) * cb
            infeasible = not fits(m, g, N, b, ctx, P) or P > min(N, b)  # noqa: SIM300
            for f_at in logspace_to(T, 6):
                T_at = T / f_at
                R_at, Pr_at, nodes_at = _tp_layout(g, T_at, two_d)
                words_attn = [d / Pr_at, m.attention_width / Pr_at] if two_d else [d]
                lat, bw = lat_fixed, bw_fixed
                for word in words_attn:
                    cl, cb = collective(g, R_at, nodes_at, word * bm * S * a, ALLREDUCE)
                    lat += L * cl
                    bw += L * cb
                t_mem = P * (mem_fixed + L * f_at * rw_attn(m, n, T_at) + w * m.vocab_size * d) / (N * beta)
                t_flop = (f_ffn + f_kv + f_at * f_proj) / (N * phi)
                total = t_kern + (lat + bw) + max(t_mem, t_flop)
                if infeasible:
                    total = math.inf
                if total < best.latency_s:
                    best = Pass(total, t_kern, lat, bw, t_mem, t_flop, two_d, P,
                                n_ep, T_ff, T_at, f_at)
    return best


# ---------------------------------------------------------------- §6 speculative decoding


@dataclass
class Decode:
    """Per-token result of decoding, possibly speculative."""

    latency_s: float
    target: Pass
    gamma: int
    drafter_latency_s: float


def decode_latency(m: Model, g: Gpu, n_gpus: float, batch: float, ctx: float, use_pp: bool = False,
                   drafter: Model | None = None, acceptance: float = 0.0, gamma_max: int = 5) -> Decode:
    """Token latency with optional speculative decoding (§6); γ = 0 means plain decoding won."""
    plain = token_latency(m, g, n_gpus, batch, ctx, 1, use_pp)
    best = Decode(plain.latency_s, plain, 0, math.nan)
    if drafter is None:
        return best
    t_q = token_latency(drafter, g, n_gpus, batch, ctx, 1, use_pp).latency_s
    best.drafter_latency_s = t_q
    for gamma in range(2, gamma_max + 1):
        verify = token_latency(m, g, n_gpus, batch, ctx, gamma, use_pp)
        lat = (verify.latency_s + gamma * t_q) / ((1 - acceptance**gamma) / (1 - acceptance))
        if lat < best.latency_s:
            best = Decode(lat, verify, gamma, t_q)
    return best


# ---------------------------------------------------------------- §7 economics of one point


def economics(m: Model, g: Gpu, n_gpus: float, batch: float, ctx: float, latency_s: float,
              positions: float = 1) -> dict[str, float]:
    """Economics of a pass that yields ``positions`` tokens per sequence every ``latency_s``.

    With one position (plain or speculative decoding) these are docs/model.md §7 exactly. MFU
    counts the FLOPs the latency counts, FLOP(ℓ, b·S, 1) (§5: b·S tokens attending over ℓ), so it
    is at most u_flop for any S. An infeasible point (infinite latency) gets zero speed, infinite
    cost and zero MFU.
    """
    gpu_s = n_gpus * latency_s / (batch * positions)
    return {
        "tokens_per_s_per_request": positions / latency_s,
        "gpu_seconds_per_token": gpu_s,
        "usd_per_million_tokens": 1e6 * gpu_s * g.usd_per_hour / 3600,
        "tokens_per_s_per_gpu": batch * positions / (n_gpus * latency_s),
        "mfu": flop(m, ctx, batch * positions, 1) / (n_gpus * g.flops_for(m) * latency_s),
    }
