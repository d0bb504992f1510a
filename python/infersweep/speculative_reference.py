"""Speculative decoding under `serving` semantics in plain Python: the oracle of
rust/serving/speculative.rs (docs/serving.md §D), operation by operation in the engine's order.

Built on :mod:`infersweep.serving_reference` (token_work, memory, capacity, kv_on_gpu,
timed_step) and the causal sum of :mod:`infersweep.traffic_reference`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .reference import matmul_traffic
from .serving import Precision, Runtime
from .serving_reference import (
    Layout,
    Rank,
    Step,
    best_by,
    capacity,
    kv_on_gpu,
    layouts,
    memory,
    pad,
    timed_step,
    token_work,
)
from .specs import Gpu, Model
from .speculative import HEAD_PROJECTION, DraftHeads, Speculative, draft_of, draft_precision
from .traffic_reference import causal_positions


def causal_attention_flops(m: Model, ctx: float, seqs: float, positions: float) -> float:
    """Σ_g coef·L_g·causal(ℓ, S, W_g)·seqs: S causal positions per sequence on ℓ cached tokens
    (decode form; MLA absorbed)."""
    coef = m.attention_flop_coefficient
    total = 0.0
    for grp in m.groups:
        total += coef * grp.n_layers * causal_positions(ctx, positions, grp.window) * seqs
    return total


@dataclass(frozen=True)
class DraftMemory:
    weights: float = 0.0
    kv_per_sequence: float = 0.0


def positions_pass(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, positions: float,
                   capacity_ctx: float, lay: Layout, rt: Runtime, prec: dict[str, float],
                   extra: DraftMemory = DraftMemory(), projection: float = 0.0) -> tuple[Step, float]:
    """`positions` causal positions for each of `batch` sequences on `ctx` cached tokens, their KV
    written (§D.2); capacity at `capacity_ctx` with `extra` per GPU. (step, KV bytes written/GPU)."""
    tp, dp, pp = lay.tp, lay.attention_dp, lay.pp
    bm = math.ceil(batch / pp)
    bg = math.ceil(bm / dp)
    n = bm * positions
    ng = bg * positions
    tw = token_work(m, g, n_gpus, lay, n, ng, rt, prec)
    stream, flops_attn = tw.stream, tw.flops_attn
    s_attn, s_ffn, s_exp = tw.streams
    if projection > 0:
        d = m.d_model
        proj = matmul_traffic(projection * d, d, ng, 1.0, prec["attention"], prec["activations"])
        stream += proj
        s_attn += proj
        flops_attn += 2 * projection * d * d * pad(ng, float(rt.gemm_tile_tokens))
    cache_flops = causal_attention_flops(m, ctx, bg, positions) / tp
    read = memory(m, g, n_gpus, batch, ctx, lay, rt, prec)
    cap = read if capacity_ctx == ctx else memory(m, g, n_gpus, batch, capacity_ctx, lay, rt, prec)
    mem = capacity(g, rt, lay, cap.weights, cap.kv_per_sequence + extra.kv_per_sequence, batch, extra.weights)
    kv_written = ng * kv_on_gpu(m, prec, m.kv_bytes_per_token, tp)
    feasible = mem.fits and batch <= mem.max_batch_size
    st = timed_step(m, g, lay, rt, prec, stream, (s_attn, s_ffn, s_exp),
                    bg * read.kv_per_sequence + kv_written,
                    (flops_attn, tw.flops_ffn, tw.flops_exp), cache_flops, (tw.latency, tw.bandwidth),
                    (tw.all_to_all_latency, tw.all_to_all_bandwidth), mem, feasible, bg)
    return st, kv_written


def draft_layout(lay: Layout) -> Layout:
    return Layout(lay.tp, 1, lay.ep, lay.attention_dp)


def draft_memory(draft: Model, g: Gpu, dprec: dict[str, float], shares_embeddings: bool, rt: Runtime,
                 lay: Layout, ctx: float) -> DraftMemory:
    dl = draft_layout(lay)
    mem = memory(draft, g, dl.stage(), 1.0, ctx, dl, rt, dprec)
    shared = draft.embedding_params * dprec["embeddings"] / dl.tp if shares_embeddings else 0.0
    k = HEAD_PROJECTION if shares_embeddings else 0.0
    projection = k * draft.d_model * draft.d_model * dprec["attention"]
    return DraftMemory(mem.weights - shared + projection, mem.kv_per_sequence * lay.pp)


@dataclass(frozen=True)
class SpecStep:
    verify: Step
    draft: Step | None
    draft_s: float
    step_s: float
    latency_s: float
    tokens_per_step: float
    tpot_s: float
    kv_written: float
    draft_weights: float
    draft_kv_per_sequence: float


def spec_step(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, lay: Layout, spec: Speculative,
              rt: Runtime | None = None, precision: Precision | None = None) -> SpecStep:
    """γ draft passes at ℓ + (γ − 1)/2 without the step overhead, then the verification of γ + 1
    positions with capacity at ℓ + γ (§D.3)."""
    rt = Runtime.default() if rt is None else rt
    prec = (precision or Precision()).resolve(m)
    draft = draft_of(m, spec)
    dprec = draft_precision(spec, draft, precision)
    heads = isinstance(spec, DraftHeads)
    gamma = float(spec.n)
    extra = DraftMemory() if spec.n == 0 else draft_memory(draft, g, dprec, heads, rt, lay, ctx + gamma)
    verify, kv_written = positions_pass(m, g, n_gpus, batch, ctx, gamma + 1, ctx + gamma, lay, rt, prec,
                                        extra)
    dstep = None
    if spec.n > 0:
        ctx_d = ctx + (gamma - 1) / 2
        dstep, _ = positions_pass(draft, g, n_gpus // lay.pp, batch, ctx_d, 1.0, ctx_d, draft_layout(lay),
                                  replace(rt, step_overhead_s=0.0, sequence_overhead_s=0.0), dprec,
                                  projection=HEAD_PROJECTION if heads else 0.0)
    draft_s = 0.0 if dstep is None else gamma * dstep.step_s
    step_s = draft_s + verify.step_s
    latency = step_s if verify.feasible else math.inf
    tau = spec.tokens_per_step
    return SpecStep(verify, dstep, draft_s, step_s, latency, tau, latency / tau, kv_written, extra.weights,
                    extra.kv_per_sequence)


def best_spec_step(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, spec: Speculative,
                   rt: Runtime | None = None, precision: Precision | None = None, *, tp: int = 0, pp: int = 0,
                   ep: int = 0, attention_dp: int = 0) -> SpecStep:
    """The layout with the fastest speculative step (the decode step's selection rule, §L)."""
    def evaluate(lay: Layout) -> tuple[SpecStep, Rank]:
        s = spec_step(m, g, n_gpus, batch, ctx, lay, spec, rt, precision)
        return s, Rank(s.verify.feasible, s.latency_s, s.verify.memory.max_batch_size, s.step_s)

    return best_by(layouts(m, n_gpus, tp, pp, ep, attention_dp), evaluate)
