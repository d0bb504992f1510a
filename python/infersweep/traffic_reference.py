"""Serving traffic in plain Python: prefill chunks, mixed steps, the in-flight steady state and
disaggregated pools (docs/serving.md, "Traffic"). The oracle of rust/serving/traffic.rs.

It reuses the decode step's primitives (:mod:`infersweep.serving_reference`: `pad`,
`expert_imbalance`, `memory`, `kernel_launches`, `_rate`; :mod:`infersweep.reference`: matmul and
attention traffic, collectives). Operations run in the Rust engine's order so both round alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .serving import Precision, Runtime
from .serving_reference import Layout, Memory, _rate, kernel_launches, kv_share, memory, token_work
from .specs import Gpu, Model

#: Bisection steps of the steady-state solvers (each halves the bracket: 2^-64 of it remains).
BISECTION_STEPS = 64
#: Utilisation of the prefill budget counted as saturated (the queue's wait diverges at 1).
SATURATION = 1.0 - 1e-9


@dataclass(frozen=True)
class Work:
    """What one step computes (docs/serving.md §T.1): ``decode_seqs`` sequences of one new token
    each on ``decode_ctx`` cached ones, and ``prefill_tokens`` prompt tokens in chunks of
    ``chunk`` tokens on ``prefix`` cached ones; memory holds ``capacity_seqs`` sequences of
    ``capacity_ctx`` tokens."""

    decode_seqs: float
    decode_ctx: float
    prefill_tokens: float
    chunk: float
    prefix: float
    capacity_seqs: float
    capacity_ctx: float


@dataclass
class Step:
    """One step's components (the decode step's, plus the KV written)."""

    latency_s: float
    feasible: bool
    overhead_s: float
    kernel_s: float
    network_s: float
    weight_memory_s: float
    kv_memory_s: float
    kv_write_s: float
    compute_s: float
    overlap_s: float
    attention_flops: float
    memory: Memory

    @property
    def step_s(self) -> float:
        return (self.overhead_s + self.kernel_s + self.network_s
                + max(self.weight_memory_s + self.kv_memory_s, self.compute_s) - self.overlap_s)


def causal_positions(prefix: float, chunk: float, window: float | None) -> float:
    """Σ_{j=0}^{C−1} min(ℓ + j, W): context positions the C causal queries of a chunk attend to
    (position j sees the ℓ cached tokens and the j before it; `epoch`'s decode convention)."""
    if window is None or prefix + chunk - 1 <= window:
        return chunk * prefix + chunk * (chunk - 1) / 2
    below = min(max(window - prefix, 0.0), chunk)   # queries whose reach is under the window
    return below * prefix + below * (below - 1) / 2 + (chunk - below) * window


def prefill_pair_coefficient(m: Model) -> float:
    """FLOPs per layer, head-summed, per (query, key) pair of a prefill chunk: GQA/MHA as in
    decode (4·h·H); MLA in its prefill form, the latent decompressed into H keys of h + r and H
    values of h (DeepSeek-V2 §2.1.3; vLLM's MLA prefill path): 2·(2h + r)·H."""
    if not m.is_mla:
        return m.attention_flop_coefficient
    r = m.mla_rope_dim or 0.0
    return 2 * (2 * m.head_dim + r) * m.n_heads  # type: ignore[operator]


def decompression_flops_per_token(m: Model) -> float:
    """MLA prefill: FLOPs per layer to decompress one cached token's latent into keys and values
    (c × (K and V heads)·h GEMM); 0 without MLA. The new tokens' decompression is in 2·P_attn."""
    if not m.is_mla:
        return 0.0
    return 2 * m.mla_kv_rank * m.kv_heads_total * m.head_dim  # type: ignore[operator]


def attention_flops(m: Model, work: Work, decode_g: float, prefill_g: float) -> float:
    """F_kv of one attention-DP group (before /tp): decode at its context (absorbed MLA), prefill
    chunks by the causal sum (MLA in prefill form, plus the prefix decompressed)."""
    coef = m.attention_flop_coefficient
    pcoef = prefill_pair_coefficient(m)
    chunks = prefill_g / work.chunk if work.chunk > 0 else 0.0
    total = 0.0
    for grp in m.groups:
        seen = work.decode_ctx if grp.window is None else min(work.decode_ctx, grp.window)
        total += coef * grp.n_layers * seen * decode_g
        if prefill_g > 0:
            pos = causal_positions(work.prefix, work.chunk, grp.window)
            total += pcoef * grp.n_layers * pos * chunks
            cached = work.prefix if grp.window is None else min(work.prefix, grp.window)
            total += decompression_flops_per_token(m) * grp.n_layers * cached * chunks
    return total


def kv_per_sequence(m: Model, ctx: float, tp: int, prec: dict[str, float]) -> float:
    """One sequence's cache at ctx on one GPU (§M's kv_seq)."""
    return m.kv_bytes_for_context(ctx) / m.kv_element_bytes * prec["kv_cache"] * kv_share(m, tp)


def kv_written_per_token(m: Model, tp: int, prec: dict[str, float]) -> float:
    """Bytes one new token writes to one GPU's cache: every layer caches it (windows included)."""
    return m.kv_bytes_per_token / m.kv_element_bytes * prec["kv_cache"] * kv_share(m, tp)


def mixed_step(m: Model, g: Gpu, n_gpus: int, lay: Layout, work: Work, rt: Runtime | None = None,
               precision: Precision | None = None) -> Step:
    """One step of decode sequences and prefill tokens together (§T.1), per GPU of the busiest
    stage and attention-DP group: the decode step's formulas at M = decode + prefill tokens."""
    rt = Runtime.default() if rt is None else rt
    prec = (precision or Precision()).resolve(m)
    tp, dp, pp = lay.tp, lay.attention_dp, lay.pp
    bm = math.ceil(work.decode_seqs / pp)       # decode sequences of the busiest stage
    bg = math.ceil(bm / dp)                     # ... of its busiest attention-DP group
    # Prefill tokens spread evenly over micro-batches and DP groups, but a chunk (one
    # sequence's tokens) is never split: P/chunk sequences go to at most pp, then dp, places.
    seqs_p = work.prefill_tokens / work.chunk if work.chunk > 0 else 0.0
    pm = work.prefill_tokens / min(pp, max(seqs_p, 1.0))
    pg = pm / min(dp, max(pm / work.chunk if work.chunk > 0 else 0.0, 1.0))
    n = bm + pm
    ng = bg + pg

    tw = token_work(m, g, n_gpus, lay, n, ng, rt, prec)
    stream, flops_ffn, flops_exp, lat, bw = tw.stream, tw.flops_ffn, tw.flops_exp, tw.latency, tw.bandwidth
    f_kv = attention_flops(m, work, bg, pg)
    flops_attn = tw.flops_attn
    flops_attn += f_kv / tp

    mem = memory(m, g, n_gpus, work.capacity_seqs, work.capacity_ctx, lay, rt, prec)
    chunks_g = pg / work.chunk if work.chunk > 0 else 0.0
    kv_read = bg * kv_per_sequence(m, work.decode_ctx, tp, prec)
    if chunks_g > 0:
        kv_read += chunks_g * kv_per_sequence(m, work.prefix, tp, prec)
    kv_write = ng * kv_written_per_token(m, tp, prec)
    beta = g.hbm_bandwidth
    w_eff = g.mem_utilization if rt.weight_bandwidth_efficiency is None else rt.weight_bandwidth_efficiency
    kv_eff = g.mem_utilization if rt.kv_bandwidth_efficiency is None else rt.kv_bandwidth_efficiency
    weight_s = stream / (beta * w_eff)
    kv_write_s = kv_write / (beta * kv_eff)
    kv_s = kv_read / (beta * kv_eff) + kv_write_s
    compute_s = (flops_attn / _rate(g, prec["attention_bits"], rt)
                 + flops_ffn / _rate(g, prec["ffn_bits"], rt)
                 + flops_exp / _rate(g, prec["expert_bits"], rt))

    graphs = rt.cuda_graphs and work.prefill_tokens <= 0   # graphs capture decode-only batches
    per_kernel = rt.graph_kernel_s if graphs else (
        g.kernel_latency_s if rt.launch_kernel_s is None else rt.launch_kernel_s)
    kernel_s = kernel_launches(m, rt) * per_kernel
    work_s = max(weight_s + kv_s, compute_s)
    hidden = rt.overlap * min(lat + bw, work_s)
    overhead = rt.step_overhead_s + rt.sequence_overhead_s * (bg + chunks_g)   # host, per sequence too
    total = overhead + kernel_s + (lat + bw) + work_s - hidden
    feasible = mem.fits and work.capacity_seqs <= mem.max_batch_size
    return Step(total if feasible else math.inf, feasible, overhead, kernel_s, lat + bw,
                weight_s, kv_s, kv_write_s, compute_s, hidden, f_kv, mem)


# ---------------------------------------------------------------- §T.2 prefill and TTFT


def prefill_chunk(m: Model, g: Gpu, n_gpus: int, lay: Layout, batch: float, chunk: float, cached: float,
                  rt: Runtime | None = None, precision: Precision | None = None) -> Step:
    """A prefill pass: `batch` sequences each computing `chunk` new tokens on `cached` ones; the
    cache then holds cached + chunk tokens per sequence."""
    return mixed_step(m, g, n_gpus, lay, Work(0.0, 0.0, batch * chunk, chunk, cached, batch, cached + chunk),
                      rt, precision)


def ttft_idle(m: Model, g: Gpu, n_gpus: int, lay: Layout, isl: float, chunk_size: float,
              rt: Runtime | None = None, precision: Precision | None = None) -> float:
    """TTFT of an I-token prompt on an idle instance: its chunks of at most chunk_size tokens,
    one step each (each pays the step overhead); the last chunk's logits give the first token."""
    total = 0.0
    done = 0.0
    while done < isl:
        c = min(chunk_size, isl - done)
        total += prefill_chunk(m, g, n_gpus, lay, 1.0, c, done, rt, precision).latency_s
        done += c
    return total


# ---------------------------------------------------------------- §T.3 the in-flight steady state


@dataclass
class Steady:
    """The steady state of one layout at a request rate (§T.3)."""

    requests_per_s: float
    tpot_s: float
    ttft_s: float
    decode_seqs: float
    prefill_share: float      # ρ: fraction of steps that carry a prefill budget
    decode_step_s: float      # t_d: a step of the decoding sequences alone
    mixed_step_s: float       # t_m: the same step plus one prefill budget
    saturated: bool
    memory: Memory


def _steps(m: Model, g: Gpu, n_gpus: int, lay: Layout, x: float, tpot: float, isl: float, osl: float,
           budget: float, rt: Runtime, prec: Precision | None) -> tuple[Step, Step, float, float]:
    """(t_d, t_m, B, ρ) at request rate x if TPOT were `tpot`."""
    b = x * osl * tpot
    rho = x * isl * tpot / budget
    c = min(budget, isl)
    dctx = isl + (osl - 1) / 2
    cap = b + budget / c
    ctx = isl + osl
    td = mixed_step(m, g, n_gpus, lay, Work(b, dctx, 0.0, c, 0.0, cap, ctx), rt, prec)
    tm = mixed_step(m, g, n_gpus, lay, Work(b, dctx, budget, c, (isl - c) / 2, cap, ctx), rt, prec)
    return td, tm, b, rho


def _own_chunks(m: Model, g: Gpu, n_gpus: int, lay: Layout, b: float, isl: float, osl: float,
                budget: float, rt: Runtime, prec: Precision | None) -> float:
    """The prompt's own chunks (at most `budget` tokens each, on the prefix before them), each
    in a step with the B decoding sequences and no other prompt."""
    dctx = isl + (osl - 1) / 2
    cap = b + budget / min(budget, isl)
    total = 0.0
    done = 0.0
    while done < isl:
        c = min(budget, isl - done)
        total += mixed_step(m, g, n_gpus, lay, Work(b, dctx, c, c, done, cap, isl + osl), rt, prec).latency_s
        done += c
    return total


def steady_at_rate(m: Model, g: Gpu, n_gpus: int, lay: Layout, x: float, isl: float, osl: float,
                   budget: float, rt: Runtime | None = None, precision: Precision | None = None) -> Steady:
    """In-flight batching at x requests/s: TPOT is the smallest T with (1−ρ)·t_d + ρ·t_m ≤ T,
    B = x·OSL·T decoding (Little), ρ = x·ISL·T/budget; TTFT = M/D/1 wait + the prompt's chunks:
    alone in their steps (with the B decoding) with probability 1 − ρ, in full-budget steps t_m
    with probability ρ."""
    rt = Runtime.default() if rt is None else rt
    # T is bounded by ρ < 1 and by memory; the bracket's upper end is where either binds.
    cap_rho = budget / (x * isl) if x > 0 else math.inf
    td0, _, _, _ = _steps(m, g, n_gpus, lay, 0.0, 0.0, isl, osl, budget, rt, precision)
    mb = td0.memory.max_batch_size
    cap_mem = (mb - budget / min(budget, isl)) / (x * osl) if x > 0 else math.inf
    # Just inside the bound: at it exactly, rounding decides whether the capacity batch fits.
    hi = min(cap_rho, cap_mem) * SATURATION

    def excess(t: float) -> float:
        td, tm, _, rho = _steps(m, g, n_gpus, lay, x, t, isl, osl, budget, rt, precision)
        return (1 - rho) * td.latency_s + rho * tm.latency_s - t

    saturated = not (hi > 0) or (math.isfinite(hi) and not excess(hi) <= 0)
    if x <= 0:
        tpot = td0.latency_s
    elif saturated:
        tpot = math.inf
    else:
        lo = 0.0
        if math.isinf(hi):
            hi = td0.latency_s
            while excess(hi) > 0:
                hi *= 2
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if excess(mid) > 0:
                lo = mid
            else:
                hi = mid
        tpot = hi
    if math.isinf(tpot):
        td, tm, b, rho = _steps(m, g, n_gpus, lay, x, 0.0, isl, osl, budget, rt, precision)
        return Steady(x, math.inf, math.inf, math.inf, 1.0, math.inf, math.inf, True, td.memory)
    td, tm, b, rho = _steps(m, g, n_gpus, lay, x, tpot, isl, osl, budget, rt, precision)
    saturated = rho >= SATURATION or not (td.feasible and tm.feasible)
    if saturated:
        return Steady(x, tpot, math.inf, b, rho, td.latency_s, tm.latency_s, True, tm.memory)
    service = isl / budget * tpot
    wait = rho * service / (2 * (1 - rho))
    ttft = wait + (1 - rho) * _own_chunks(m, g, n_gpus, lay, b, isl, osl, budget, rt, precision) \
        + rho * math.ceil(isl / budget) * tm.latency_s
    return Steady(x, tpot, ttft, b, rho, td.latency_s, tm.latency_s, False, tm.memory)


def steady_at_concurrency(m: Model, g: Gpu, n_gpus: int, lay: Layout, concurrency: float, isl: float,
                          osl: float, budget: float, rt: Runtime | None = None,
                          precision: Precision | None = None) -> Steady:
    """A closed loop of `concurrency` requests: the rate x with x·(TTFT + OSL·TPOT) = concurrency
    (Little's law), by bisection; saturated when no unsaturated rate reaches it."""
    rt = Runtime.default() if rt is None else rt
    t_min = steady_at_rate(m, g, n_gpus, lay, 0.0, isl, osl, budget, rt, precision).tpot_s
    if not math.isfinite(t_min):
        st = steady_at_rate(m, g, n_gpus, lay, 0.0, isl, osl, budget, rt, precision)
        return Steady(0.0, math.inf, math.inf, 0.0, 0.0, math.inf, math.inf, True, st.memory)
    lo, hi = 0.0, concurrency / (osl * t_min)

    def in_flight(x: float) -> float:
        st = steady_at_rate(m, g, n_gpus, lay, x, isl, osl, budget, rt, precision)
        return math.inf if st.saturated else x * (st.ttft_s + osl * st.tpot_s)

    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if in_flight(mid) < concurrency:
            lo = mid
        else:
            hi = mid
    st = steady_at_rate(m, g, n_gpus, lay, lo, isl, osl, budget, rt, precision)
    if lo <= 0 or st.saturated:
        st.saturated = True
    return st


@dataclass
class Economics:
    output_tokens_per_s_per_gpu: float
    input_tokens_per_s_per_gpu: float
    usd_per_million_output_tokens: float
    usd_per_million_input_tokens: float


def economics(g: Gpu, n_gpus: int, st: Steady, isl: float, osl: float) -> Economics:
    """Per-GPU throughput and the step time split: output pays t_d per step, input the extra
    ρ·(t_m − t_d) the prefill budget adds (their sum is TPOT)."""
    x = st.requests_per_s
    usd_s = n_gpus * g.usd_per_hour / 3600
    if st.saturated or x <= 0:
        return Economics(0.0, 0.0, math.inf, math.inf)
    out_share = st.decode_step_s / st.tpot_s
    in_share = st.prefill_share * (st.mixed_step_s - st.decode_step_s) / st.tpot_s
    return Economics(x * osl / n_gpus, x * isl / n_gpus, 1e6 * usd_s * out_share / (x * osl),
                     1e6 * usd_s * in_share / (x * isl))
