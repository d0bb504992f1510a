"""`serving` semantics in plain Python: the oracle of the Rust engine (rust/serving/).

Formula by formula as docs/serving.md states them, with the section beside each function. It
reuses `epoch`'s cost primitives from :mod:`infersweep.reference` (matmul traffic, attention
traffic, attention FLOPs, collectives): one implementation of each formula. Operations run in
the order the Rust engine runs them, so both round alike (tests hold them equal to 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import GridError
from .reference import ALL_TO_ALL, ALLREDUCE, P2P, attention_traffic, collective, kv_flop, matmul_traffic
from .serving import Precision, Runtime
from .specs import Gpu, Model

#: Capacity slack, as in `epoch` (docs/model.md, the portable rule).
SLACK = 1e-12


@dataclass(frozen=True)
class Layout:
    """A deployable layout (docs/serving.md §L): ``pp`` stages of n_gpus/pp GPUs; in a stage,
    attention as ``attention_dp`` groups of ``tp`` GPUs; experts over ``ep`` ranks, each an
    expert-TP group of the stage's other T/ep GPUs."""

    tp: int
    pp: int
    ep: int
    attention_dp: int

    def stage(self) -> int:
        return self.tp * self.attention_dp

    def expert_tp(self) -> int:
        return self.stage() // self.ep


def _is_int(x: float) -> bool:
    return float(x).is_integer()


def _divides(k: int, x: float) -> bool:
    """k splits x evenly; a degree of 1 splits anything (a scaled model's fractional widths too)."""
    return k == 1 or (_is_int(x) and int(x) % k == 0)


def kv_heads(m: Model) -> float:
    """HF's num_key_value_heads: H/g."""
    return m.n_heads / m.group_size


def moe_groups(m: Model) -> list[float]:
    return [g.n_experts for g in m.groups if g.n_experts > 1]


def layout_problem(m: Model, n_gpus: int, lay: Layout) -> str | None:
    """Why a layout is not deployable (the first reason, naming the field), or None (§L)."""
    if n_gpus % lay.pp:
        return f"pp={lay.pp} does not divide n_gpus={n_gpus}"
    if not _divides(lay.pp, m.n_layers):
        return f"pp={lay.pp} does not divide the {m.n_layers:g} layers of model {m.name!r}"
    stage = n_gpus // lay.pp
    if stage % lay.tp:
        return f"tp={lay.tp} does not divide the {stage} GPUs of a stage (n_gpus={n_gpus} / pp={lay.pp})"
    if lay.tp * lay.attention_dp != stage:
        return (f"tp={lay.tp} × attention_dp={lay.attention_dp} must equal the {stage} GPUs of a stage "
                f"(n_gpus={n_gpus} / pp={lay.pp})")
    if not _divides(lay.tp, m.n_heads):
        return f"tp={lay.tp} does not divide the {m.n_heads:g} query heads of model {m.name!r}"
    if not m.is_mla:
        kvh = kv_heads(m)
        if not (_divides(lay.tp, kvh) or (_is_int(kvh) and kvh >= 1 and lay.tp % int(kvh) == 0)):
            return (f"tp={lay.tp} neither divides nor is a multiple of the {kvh:g} KV heads of model "
                    f"{m.name!r}")
    if stage % lay.ep:
        return f"ep={lay.ep} does not divide the {stage} GPUs of a stage"
    experts = moe_groups(m)
    if lay.ep > 1 and not experts:
        return f"ep={lay.ep} needs a mixture-of-experts model; {m.name!r} is dense"
    for e in experts:
        if not _divides(lay.ep, e):
            return f"ep={lay.ep} does not divide the {e:g} experts of model {m.name!r}"
    return None


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def layouts(m: Model, n_gpus: int, tp: int = 0, pp: int = 0, ep: int = 0,
            attention_dp: int = 0) -> list[Layout]:
    """Every deployable layout of n_gpus matching the pinned degrees (0: any), in canonical order
    (pp, then tp, then ep ascending); a GridError naming the field when the pins allow none."""
    out = []
    for p in _divisors(n_gpus):
        if pp and p != pp:
            continue
        stage = n_gpus // p
        for t in _divisors(stage):
            if tp and t != tp:
                continue
            dp = stage // t
            if attention_dp and dp != attention_dp:
                continue
            for e in _divisors(stage):
                if ep and e != ep:
                    continue
                lay = Layout(t, p, e, dp)
                if layout_problem(m, n_gpus, lay) is None:
                    out.append(lay)
    if not out:
        raise GridError(f"grid: no deployable layout of n_gpus={n_gpus} for model {m.name!r} with "
                        f"{_pins_problem(m, n_gpus, tp, pp, ep, attention_dp)}")
    return out


def _pins_problem(m: Model, n_gpus: int, tp: int, pp: int, ep: int, dp: int) -> str:
    """The pinned fields and the first reason they fail, for the error message."""
    pins = ", ".join(f"{k}={v}" for k, v in (("tp", tp), ("pp", pp), ("ep", ep), ("attention_dp", dp)) if v)
    # Complete the pins with the most permissive values to name a reason.
    p = pp or 1
    stage = n_gpus // p if n_gpus % p == 0 else n_gpus
    t = tp or (stage // dp if dp and stage % dp == 0 else 1)
    reason = layout_problem(m, n_gpus, Layout(t, p, ep or 1, dp or max(1, stage // t)))
    return f"{pins or 'no pins'}: {reason or 'no combination of the free degrees is valid'}"


def pad(x: float, tile: float) -> float:
    """Tokens a GEMM computes over x tokens in tiles of `tile` (0: no tiles) (§R.3)."""
    if tile <= 0:
        return x
    return math.ceil(x / tile) * tile


def expert_imbalance(rt: Runtime, tokens: float, k: float, ep: int) -> float:
    """Tokens on the busiest EP rank over the mean (§R.4): fixed, or the expected maximum of ep
    binomial counts (n·k routes, 1/ep each) by the Gaussian extreme-value estimate, at most ep."""
    if ep <= 1:
        return 1.0
    if rt.expert_imbalance is not None:
        return rt.expert_imbalance
    routes = tokens * k
    if routes <= 0:
        return 1.0
    return min(float(ep), 1.0 + math.sqrt(2.0 * math.log(ep) * (1.0 - 1.0 / ep) * ep / routes))


@dataclass
class Memory:
    """Per-GPU memory of a layout (§M), bytes, and the largest batch that fits."""

    weights: float
    kv: float
    reserve: float
    kv_per_sequence: float
    max_batch_size: float

    @property
    def fits(self) -> bool:
        return math.isinf(self.max_batch_size) or self.max_batch_size >= 1


def kv_share(m: Model, tp: int) -> float:
    """Fraction of one sequence's KV cache a GPU of an attention-TP group holds (§M.2):
    max(1, n_kv/tp) of the n_kv KV heads (replicated when tp > n_kv); MLA's latent: all of it."""
    if m.is_mla:
        return 1.0
    kvh = kv_heads(m)
    return max(1.0, kvh / tp) / kvh


def memory(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, lay: Layout, rt: Runtime,
           prec: dict[str, float]) -> Memory:
    """Weights, KV cache and reserve per GPU of the busiest stage (§M)."""
    T = lay.stage()
    mats = m.ffn_up_matrices + m.ffn_down_matrices
    d = m.d_model
    per_stage = 1.0 / lay.pp
    weights = m.n_layers * per_stage * m.attention_params_per_layer * prec["attention"] / lay.tp
    for grp in m.groups:
        layers = grp.n_layers * per_stage
        w = prec["experts"] if grp.n_experts > 1 else prec["dense_ffn"]
        weights += layers * grp.n_experts * mats * d * grp.d_ff * w / T
        if grp.n_shared_experts:
            weights += layers * grp.n_shared_experts * mats * d * grp.shared_width * prec["dense_ffn"] / T
    emb = m.embedding_params if lay.pp == 1 else m.vocab_size * d
    weights += emb * prec["embeddings"] / lay.tp
    kv_seq = kv_on_gpu(m, prec, m.kv_bytes_for_context(ctx), lay.tp)
    return capacity(g, rt, lay, weights, kv_seq, batch)


def kv_on_gpu(m: Model, prec: dict[str, float], kv_bytes: float, tp: int) -> float:
    """Bytes per GPU of an attention-TP group for `kv_bytes` of the model's KV cache (§M.2)."""
    return kv_bytes / m.kv_element_bytes * prec["kv_cache"] * kv_share(m, tp)


def capacity(g: Gpu, rt: Runtime, lay: Layout, weights: float, kv_seq: float, batch: float,
             extra_weights: float = 0.0) -> Memory:
    """§M's capacity: `weights` (+ a draft's `extra_weights`, §D) bytes per GPU and `kv_seq` per
    sequence, with the reserve."""
    seqs = math.ceil(math.ceil(batch / lay.pp) / lay.attention_dp)
    reserve = rt.memory_reserve_fraction * g.hbm_bytes + rt.memory_reserve_bytes
    free = g.hbm_bytes - reserve - weights - extra_weights
    weights = weights + extra_weights
    if free < -SLACK * g.hbm_bytes:
        max_b = 0.0
    elif kv_seq <= 0:
        max_b = math.inf
    else:
        max_b = float(lay.pp * lay.attention_dp * math.floor(max(free, 0.0) / kv_seq * (1 + SLACK)))
    return Memory(weights, seqs * kv_seq, reserve, kv_seq, max_b)


@dataclass
class Step:
    """One decode step of one layout (§S): its components and what the step costs."""

    layout: Layout
    latency_s: float
    feasible: bool
    overhead_s: float
    kernel_s: float
    network_latency_s: float
    network_bandwidth_s: float
    all_to_all_s: float             # the MoE all-to-alls, a part of the two network terms
    weight_memory_s: float
    kv_memory_s: float
    compute_s: float
    work_s: float                   # the memory-or-compute part (roofline)
    overlap_s: float
    memory: Memory

    @property
    def memory_s(self) -> float:
        return self.weight_memory_s + self.kv_memory_s

    @property
    def step_s(self) -> float:
        """The step's time whether or not it fits."""
        return (self.overhead_s + self.kernel_s + (self.network_latency_s + self.network_bandwidth_s)
                + self.work_s - self.overlap_s)


def roofline(rt: Runtime, weight_bw: float, rates: tuple[float, float, float], weight_s: float, kv_s: float,
             streams: tuple[float, float, float], flops: tuple[float, float, float],
             cache_flops: float) -> tuple[float, float]:
    """(compute time, memory-or-compute term) of a step (§S, §R.8): `epoch`'s max(weights + KV, all
    FLOPs), or with ``operator_roofline`` max(KV, attention over the cache) + Σ max(weights, GEMMs)
    over the GEMM classes (attention projections, dense FFN, routed experts). One implementation
    for the decode step, the speculative passes and the mixed step."""
    f_attn, f_ffn, f_exp = flops
    r_attn, r_ffn, r_exp = rates
    compute_s = (f_attn + cache_flops) / r_attn + f_ffn / r_ffn + f_exp / r_exp
    if rt.operator_roofline:
        work = (max(kv_s, cache_flops / r_attn) + max(streams[0] / weight_bw, f_attn / r_attn)
                + max(streams[1] / weight_bw, f_ffn / r_ffn) + max(streams[2] / weight_bw, f_exp / r_exp))
    else:
        work = max(weight_s + kv_s, compute_s)
    return compute_s, work


def _rate(g: Gpu, bits: float, rt: Runtime) -> float:
    eff = g.flop_utilization if rt.gemm_efficiency is None else rt.gemm_efficiency
    return g.flops_by_bits[int(bits)] * eff


def kernel_launches(m: Model, rt: Runtime) -> float:
    """Kernels one decode step launches (§R.2): `epoch`'s 4·L, or counted per layer."""
    if rt.attention_kernels is None:
        return 4 * m.n_layers
    per_attention = rt.attention_kernels + (rt.mla_extra_kernels if m.is_mla else 0)
    total = m.n_layers * per_attention
    for grp in m.groups:
        ffn = rt.moe_kernels if grp.n_experts > 1 else rt.dense_ffn_kernels
        if grp.n_shared_experts:
            ffn += rt.dense_ffn_kernels
        total += grp.n_layers * ffn
    return total


@dataclass(frozen=True)
class TokenWork:
    """What a step's tokens cost apart from attention over the cache (§S.1, §T.1): one
    implementation for the decode step and the mixed step."""
    stream: float                  # weight bytes streamed per GPU
    streams: tuple[float, float, float]   # the same per GEMM class: attention, dense FFN (+ shared,
                                          # unembedding), routed experts
    flops_attn: float              # attention projection FLOPs per GPU
    flops_ffn: float               # dense FFN, shared-expert and unembedding FLOPs per GPU
    flops_exp: float               # routed-expert FLOPs per GPU
    latency: float                 # network latency, all collectives
    bandwidth: float               # network bandwidth time, all collectives
    all_to_all_latency: float      # the MoE dispatch and combine part of the two above
    all_to_all_bandwidth: float


def token_work(m: Model, g: Gpu, n_gpus: int, lay: Layout, n: float, ng: float, rt: Runtime,
               prec: dict[str, float]) -> TokenWork:
    """:class:`TokenWork` of `n` tokens per pipeline stage, `ng` per attention-DP group."""
    T, tp, ep, pp = lay.stage(), lay.tp, lay.ep, lay.pp
    et = lay.expert_tp()
    node = g.gpus_per_node
    a, d, L = prec["activations"], m.d_model, m.n_layers
    mats = m.ffn_up_matrices + m.ffn_down_matrices
    tile = float(rt.gemm_tile_tokens)

    stream = L * attention_traffic(m, ng, tp, prec["attention"], a) / tp
    s_attn, s_ffn, s_exp = stream, 0.0, 0.0
    flops_attn = L * 2 * m.attention_params_per_layer * pad(ng, tile) / tp
    flops_ffn = 0.0
    flops_exp = 0.0
    lat = bw = 0.0
    a2a_lat = a2a_bw = 0.0
    cs = rt.collective_latency_scale

    def add(times: float, cost: tuple[float, float]) -> None:
        nonlocal lat, bw
        lat += times * cost[0]
        bw += times * cost[1]

    def add_all_to_all(times: float, cost: tuple[float, float]) -> None:
        nonlocal a2a_lat, a2a_bw
        add(times, cost)
        a2a_lat += times * cost[0]
        a2a_bw += times * cost[1]

    add(L, collective(g, tp, math.ceil(tp / node), ng * d * a, ALLREDUCE, cs))
    for grp in m.groups:
        Lg = grp.n_layers
        if grp.n_experts > 1:
            k = grp.n_experts_active
            imb = expert_imbalance(rt, n, k, ep)
            touched = 1 - (1 - 1 / grp.sparsity) ** n
            active = grp.n_experts / ep * touched
            rank_tokens = n * k / ep * imb
            per_expert = rank_tokens / active if active > 0 else 0.0   # an empty step reads no expert
            experts = (Lg * active * mats
                       * matmul_traffic(d, grp.d_ff, per_expert, et, prec["experts"], a) / et)
            stream += experts
            s_exp += experts
            flops_exp += Lg * 2 * mats * d * grp.d_ff * active * pad(per_expert, tile) / et
            if ep > 1:
                ep_nodes = math.ceil(ep / node)
                dispatch = rank_tokens * d * prec["dispatch"]
                add_all_to_all(Lg, collective(g, ep, ep_nodes, dispatch, ALL_TO_ALL, cs))
                add_all_to_all(Lg, collective(g, ep, ep_nodes, rank_tokens * d * a, ALL_TO_ALL, cs))
                add(Lg, collective(g, et, math.ceil(et / node), rank_tokens * d * a, ALLREDUCE, cs))
            else:
                add(Lg, collective(g, T, math.ceil(T / node), n * d * a, ALLREDUCE, cs))
        else:
            dense = Lg * mats * matmul_traffic(d, grp.d_ff, n, T, prec["dense_ffn"], a) / T
            stream += dense
            s_ffn += dense
            flops_ffn += Lg * 2 * mats * d * grp.d_ff * pad(n, tile) / T
            add(Lg, collective(g, T, math.ceil(T / node), n * d * a, ALLREDUCE, cs))
        if grp.n_shared_experts:
            shared = (Lg * grp.n_shared_experts * mats
                      * matmul_traffic(d, grp.shared_width, n, T, prec["dense_ffn"], a) / T)
            stream += shared
            s_ffn += shared
            flops_ffn += Lg * grp.n_shared_experts * 2 * mats * d * grp.shared_width * pad(n, tile) / T
    unembedding = m.vocab_size * d * prec["embeddings"] / tp
    stream += unembedding
    s_ffn += unembedding
    flops_ffn += 2 * m.embedding_params * pad(ng, tile) / tp
    if pp > 1:
        add(pp - 1, collective(g, 2, 2 if n_gpus > node else 1, d * n * a / T, P2P, cs))

    return TokenWork(stream, (s_attn, s_ffn, s_exp), flops_attn, flops_ffn, flops_exp, lat, bw, a2a_lat,
                     a2a_bw)


def decode_step(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, lay: Layout,
                rt: Runtime | None = None, precision: Precision | None = None, positions: float = 1) -> Step:
    """One step of `positions` new tokens per sequence (1: decode) under one layout (§S)."""
    rt = Runtime.default() if rt is None else rt
    prec = (precision or Precision()).resolve(m)
    S = positions
    tp, dp, pp = lay.tp, lay.attention_dp, lay.pp
    bm = math.ceil(batch / pp)           # micro-batch of the busiest stage
    bg = math.ceil(bm / dp)              # sequences of the busiest attention-DP group
    n = bm * S                           # tokens through a stage's FFN
    ng = bg * S                          # tokens through one attention-DP group

    # §S.1 memory traffic per GPU: weights and activations streamed, and the KV cache read.
    tw = token_work(m, g, n_gpus, lay, n, ng, rt, prec)
    stream, flops_ffn, flops_exp, lat, bw = tw.stream, tw.flops_ffn, tw.flops_exp, tw.latency, tw.bandwidth
    cache_flops = kv_flop(m, ctx, bg, S) / tp    # b_g sequences × S positions each
    a2a_lat, a2a_bw = tw.all_to_all_latency, tw.all_to_all_bandwidth

    mem = memory(m, g, n_gpus, batch, ctx, lay, rt, prec)
    feasible = mem.fits and batch <= mem.max_batch_size
    return timed_step(m, g, lay, rt, prec, stream, tw.streams, bg * mem.kv_per_sequence,
                      (tw.flops_attn, flops_ffn, flops_exp), cache_flops, (lat, bw), (a2a_lat, a2a_bw), mem,
                      feasible, bg)


def timed_step(m: Model, g: Gpu, lay: Layout, rt: Runtime, prec: dict[str, float], stream: float,
               streams: tuple[float, float, float], kv_bytes: float, flops: tuple[float, float, float],
               cache_flops: float, net: tuple[float, float], all_to_all: tuple[float, float], mem: Memory,
               feasible: bool, seqs: float) -> Step:
    """A step's time from what it moves and computes per GPU (§S, "Step") for `seqs` sequences of
    the busiest attention-DP group: one implementation for the decode step and the speculative
    passes (§D). `flops` are the GEMMs' (attention projections, dense FFN, experts),
    `cache_flops` attention over the cache."""
    lat, bw = net
    beta = g.hbm_bandwidth
    w_eff = g.mem_utilization if rt.weight_bandwidth_efficiency is None else rt.weight_bandwidth_efficiency
    kv_eff = g.mem_utilization if rt.kv_bandwidth_efficiency is None else rt.kv_bandwidth_efficiency
    weight_s = stream / (beta * w_eff)
    kv_s = kv_bytes / (beta * kv_eff)
    rates = (_rate(g, prec["attention_bits"], rt), _rate(g, prec["ffn_bits"], rt),
             _rate(g, prec["expert_bits"], rt))
    compute_s, work = roofline(rt, beta * w_eff, rates, weight_s, kv_s, streams, flops, cache_flops)

    per_kernel = rt.graph_kernel_s if rt.cuda_graphs else (
        g.kernel_latency_s if rt.launch_kernel_s is None else rt.launch_kernel_s)
    kernel_s = kernel_launches(m, rt) * per_kernel
    hidden = rt.overlap * min(lat + bw, work)
    overhead = rt.step_overhead_s + rt.sequence_overhead_s * seqs   # host: fixed + per scheduled sequence
    total = overhead + kernel_s + (lat + bw) + work - hidden
    return Step(lay, total if feasible else math.inf, feasible, overhead, kernel_s, lat, bw,
                all_to_all[0] + all_to_all[1], weight_s, kv_s, compute_s, work, hidden, mem)


def best_step(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, rt: Runtime | None = None,
              precision: Precision | None = None, *, tp: int = 0, pp: int = 0, ep: int = 0,
              attention_dp: int = 0, positions: float = 1) -> Step:
    """The fastest feasible layout matching the pins (first in canonical order on ties); when
    none fits, the layout with the largest max_batch_size (then the fastest), infeasible (§L)."""
    def evaluate(lay: Layout) -> tuple[Step, Rank]:
        st = decode_step(m, g, n_gpus, batch, ctx, lay, rt, precision, positions)
        return st, Rank(st.feasible, st.latency_s, st.memory.max_batch_size, st.step_s)

    return best_by(layouts(m, n_gpus, tp, pp, ep, attention_dp), evaluate)


@dataclass(frozen=True)
class Rank:
    """What the layout search ranks a layout by."""
    feasible: bool
    latency_s: float
    max_batch_size: float
    step_s: float


T = TypeVar("T")


def best_by(candidates: list[Layout], evaluate: Callable[[Layout], tuple[T, Rank]]) -> T:
    """§L's rule over any evaluation: the fastest feasible (first on ties), else the largest
    max_batch_size, then the fastest."""
    best: tuple[T, Rank] | None = None
    closest: tuple[T, Rank] | None = None
    for lay in candidates:
        out, r = evaluate(lay)
        if r.feasible and (best is None or r.latency_s < best[1].latency_s):
            best = (out, r)
        if closest is None or (r.max_batch_size, -r.step_s) > (closest[1].max_batch_size, -closest[1].step_s):
            closest = (out, r)
    assert closest is not None
    return best[0] if best is not None else closest[0]


def economics(m: Model, g: Gpu, n_gpus: int, batch: float, ctx: float, st: Step, positions: float = 1,
              precision: Precision | None = None) -> dict[str, float]:
    """MODEL.md §7 for a serving step; MFU over the attention compute rate's peak."""
    from .reference import flop

    lat = st.latency_s
    gpu_s = n_gpus * lat / (batch * positions)
    bits = (precision or Precision()).resolve(m)["attention_bits"]
    return {
        "tokens_per_s_per_request": positions / lat,
        "gpu_seconds_per_token": gpu_s,
        "usd_per_million_tokens": 1e6 * gpu_s * g.usd_per_hour / 3600,
        "tokens_per_s_per_gpu": batch * positions / (n_gpus * lat),
        "mfu": flop(m, ctx, batch, positions) / (n_gpus * g.flops_by_bits[int(bits)] * lat),
    }
