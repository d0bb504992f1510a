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
from .serving_reference import Layout, Memory, _rate, kernel_launches, kv_share, memory, roofline, token_work
from .specs import Gpu, Model

#: Relative width of the decode-batch bracket at which the closed-loop solver stops (§T.3).
BATCH_TOLERANCE = 1e-12
#: Bisections of the closed-loop solver's decode batch within its piece at most (§T.3).
BATCH_ITERATIONS = 200
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
    work_s: float                   # the memory-or-compute part (roofline)
    overlap_s: float
    attention_flops: float
    memory: Memory

    @property
    def step_s(self) -> float:
        return self.overhead_s + self.kernel_s + self.network_s + self.work_s - self.overlap_s


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
    cache_flops = f_kv / tp

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
    rates = (_rate(g, prec["attention_bits"], rt), _rate(g, prec["ffn_bits"], rt),
             _rate(g, prec["expert_bits"], rt))
    compute_s, work_s = roofline(rt, beta * w_eff, rates, weight_s, kv_s, tw.streams,
                                 (flops_attn, flops_ffn, flops_exp), cache_flops)

    graphs = rt.cuda_graphs and work.prefill_tokens <= 0   # graphs capture decode-only batches
    per_kernel = rt.graph_kernel_s if graphs else (
        g.kernel_latency_s if rt.launch_kernel_s is None else rt.launch_kernel_s)
    kernel_s = kernel_launches(m, rt) * per_kernel
    hidden = rt.overlap * min(lat + bw, work_s)
    overhead = rt.step_overhead_s + rt.sequence_overhead_s * (bg + chunks_g)   # host, per sequence too
    total = overhead + kernel_s + (lat + bw) + work_s - hidden
    feasible = mem.fits and work.capacity_seqs <= mem.max_batch_size
    return Step(total if feasible else math.inf, feasible, overhead, kernel_s, lat + bw,
                weight_s, kv_s, kv_write_s, compute_s, work_s, hidden, f_kv, mem)


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


@dataclass(frozen=True)
class Lengths:
    """A histogram of request lengths (ISL or OSL, tokens): ``values`` with relative ``weights``
    (requests; they need not sum to 1). ``isw.serve(isl=Lengths(...), osl=...)`` solves the steady
    state through the histogram's moments (docs/serving.md §T.10)."""

    values: tuple[float, ...]
    weights: tuple[float, ...]

    def __init__(self, values: object, weights: object = None) -> None:
        from .errors import GridError

        bad = "grid: field {!r} of isw.Lengths must be {}, got {!r}"
        vals = list(values) if isinstance(values, (list, tuple)) else None  # type: ignore[arg-type]
        if not vals:
            raise GridError(f"grid: field 'values' of isw.Lengths must be a non-empty list, got {values!r}")
        ws = [1.0] * len(vals) if weights is None else (list(weights) if isinstance(weights, (list, tuple))
                                                         else None)  # type: ignore[arg-type]
        if ws is None or len(ws) != len(vals):
            raise GridError(f"grid: field 'weights' of isw.Lengths must be a list as long as 'values' "
                            f"({len(vals)}), got {weights!r}")
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise GridError(bad.format("values", "positive finite numbers", v))
        for w in ws:
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                raise GridError(bad.format("weights", "non-negative numbers", w))
        if not sum(ws) > 0:
            raise GridError("grid: field 'weights' of isw.Lengths must not all be 0")
        object.__setattr__(self, "values", tuple(float(v) for v in vals))
        object.__setattr__(self, "weights", tuple(float(w) for w in ws))

    @classmethod
    def of(cls, pairs: object) -> Lengths:
        """From a list of (length, weight) pairs."""
        from .errors import GridError

        try:
            vals, ws = zip(*pairs, strict=True)  # type: ignore[call-overload, misc]
        except (TypeError, ValueError):
            raise GridError(f"grid: isw.Lengths.of needs a list of (length, weight) pairs, "
                            f"got {pairs!r}") from None
        return cls(list(vals), list(ws))

    @property
    def probabilities(self) -> list[float]:
        total = sum(self.weights)
        return [w / total for w in self.weights]

    @property
    def mean(self) -> float:
        """E[v] (the value itself when there is one)."""
        if len(self.values) == 1:
            return self.values[0]
        return sum(p * v for p, v in zip(self.probabilities, self.values, strict=True))

    @property
    def token_mean(self) -> float:
        """E[v²]/E[v]: the length a token belongs to, on average (the value itself when there is one)."""
        if len(self.values) == 1:
            return self.values[0]
        p = self.probabilities
        return sum(q * v * v for q, v in zip(p, self.values, strict=True)) / self.mean


def as_lengths(v: float | Lengths) -> Lengths:
    return v if isinstance(v, Lengths) else Lengths([float(v)])


@dataclass(frozen=True)
class Moments:
    """What a steady state takes from the length distributions (docs/serving.md §T.10)."""

    isl: float            # E[I]: Little's law for the prefill tokens
    osl: float            # E[O]: Little's law for the decoding sequences
    decode_ctx: float     # E[I] + (E[O²]/E[O] − 1)/2: the mean context of a decode step
    capacity_ctx: float   # E[I] + E[O²]/E[O]: the context memory is checked at
    token_isl: float      # E[I²]/E[I]: the chunk shape of a budget step, and the M/G/1 wait
    prompts: tuple[tuple[float, float], ...]   # (I_j, p_j): each prompt's own chunks and budget steps


def lengths_moments(isl: float | Lengths, osl: float | Lengths) -> Moments:
    i, o = as_lengths(isl), as_lengths(osl)
    e_i, e_o, o_tok = i.mean, o.mean, o.token_mean
    return Moments(e_i, e_o, e_i + (o_tok - 1) / 2, e_i + o_tok, i.token_mean,
                   tuple(zip(i.values, i.probabilities, strict=True)))


class _Solver:
    """The steady-state solver of one layout and traffic (§T.3). Step times depend on the load
    only through k = ceil(B/pp), the decode batch per stage: t_d(k), t_m(k) and own(k)."""

    def __init__(self, m: Model, g: Gpu, n_gpus: int, lay: Layout, isl: float | Lengths, osl: float | Lengths,
                 budget: float, rt: Runtime, prec: Precision | None) -> None:
        self.m, self.g, self.n, self.lay, self.rt, self.prec = m, g, n_gpus, lay, rt, prec
        mo = self.moments = lengths_moments(isl, osl)
        self.isl, self.osl, self.budget = mo.isl, mo.osl, budget
        self.chunk = min(budget, mo.token_isl)
        self.prefill_seqs = budget / self.chunk
        self.decode_ctx = mo.decode_ctx
        self.prefix = (mo.token_isl - self.chunk) / 2
        self.prompt_chunks = 0.0
        for i, p in mo.prompts:
            self.prompt_chunks += p * math.ceil(i / budget)
        resolved = (prec or Precision()).resolve(m)
        mem = memory(m, g, n_gpus, self.prefill_seqs, mo.capacity_ctx, lay, rt, resolved)
        self.max_batch, self.fits = mem.max_batch_size, mem.fits

    def _step(self, k: float, tokens: float, chunk: float, prefix: float) -> float:
        w = Work(k * self.lay.pp, self.decode_ctx, tokens, chunk, prefix, 0.0, 0.0)
        return mixed_step(self.m, self.g, self.n, self.lay, w, self.rt, self.prec).step_s

    def steps(self, k: float) -> tuple[float, float]:
        """(t_d, t_m) at k decode sequences per stage (step times whether or not they fit)."""
        return self._step(k, 0.0, self.chunk, 0.0), self._step(k, self.budget, self.chunk, self.prefix)

    def own_chunks(self, k: float) -> float:
        """The prompt's own chunks, each in a step with the k·pp decoding sequences and no other prompt:
        Σ_j p_j·(the chunks of a prompt of I_j tokens)."""
        mean = 0.0
        for isl, p in self.moments.prompts:
            total = 0.0
            done = 0.0
            while done < isl:
                c = min(self.budget, isl - done)
                total += self._step(k, c, c, done)
                done += c
            mean += p * total
        return mean

    def ttft_idle(self) -> float:
        """Σ_j p_j·TTFT_idle(I_j)."""
        total = 0.0
        for i, p in self.moments.prompts:
            total += p * ttft_idle(self.m, self.g, self.n, self.lay, i, self.budget, self.rt, self.prec)
        return total

    def excess(self, x: float, k: float, t: float) -> float:
        td, tm = self.steps(k)
        rho = x * self.isl * t / self.budget
        return (1 - rho) * td + rho * tm - t

    def solve(self, x: float) -> Steady:
        """TPOT, TTFT and the batch at x requests/s, the least crossing (§T.3); memory is reported
        by :meth:`steady`."""
        isl, osl, budget, pp = self.isl, self.osl, self.budget, self.lay.pp
        sat = Steady(x, math.inf, math.inf, math.inf, 1.0, math.inf, math.inf, True, None)  # type: ignore[arg-type]
        if not (self.fits and self.max_batch >= 1):
            return sat
        if x <= 0:
            k, tpot = 0.0, self.steps(0.0)[0]
        else:
            # T is bounded by ρ < 1 and by memory; the bracket's upper end is where either binds.
            # Just inside the bound: at it exactly, rounding decides whether the capacity batch fits.
            # Occupancy B + ρ·budget/c = x·T·(OSL + ISL/c) (Little) within max_batch_size.
            hi = min(budget / (x * isl), self.max_batch / (x * (osl + isl / self.chunk))) * SATURATION
            if not hi > 0:
                return sat

            def end(k: float) -> float:          # T lies in piece k: (k − 1)·pp < x·OSL·T ≤ k·pp
                return min(k * pp / (x * osl), hi)

            k_hi = max(float(math.ceil(x * osl * hi / pp)), 1.0)
            # From T = 0 the map T → (1 − ρ)·t_d + ρ·t_m never passes the least crossing while
            # step times grow with T: jump piece by piece (at least one piece a jump) to the first
            # piece whose end has excess ≤ 0; saturated when that is not below the bracket's
            # piece and the bracket's end has excess > 0 (or NaN). Step times jump at GEMM tiles,
            # so the excess at a piece's end changes sign more than once: no search over k that
            # assumes one crossing, and no saturation from the bracket's end alone.
            k = 1.0
            while k < k_hi:
                t = end(k)
                e = self.excess(x, k, t)
                if math.isnan(e):
                    return sat
                if e <= 0:
                    break
                k = max(float(math.ceil((e + t) * x * osl / pp)), k + 1.0)
            if not k < k_hi:
                if not self.excess(x, k_hi, hi) <= 0:
                    return sat
                k = k_hi
            # In piece k the step times are constant: T = t_d/(1 − (x·ISL/K)·(t_m − t_d)), or the
            # piece's start when the crossing is the jump into it.
            td, tm = self.steps(k)
            start = (k - 1) * pp / (x * osl)
            den = 1 - x * isl / budget * (tm - td)
            t = min(max(td / den, start), end(k)) if den > 0 else start
            tpot = t if t > 0 else end(k)
        td, tm = self.steps(k)
        own = self.own_chunks(k)
        b = x * osl * tpot
        rho = x * isl * tpot / budget
        saturated = rho >= SATURATION or self.occupancy(b, rho) > self.max_batch or not math.isfinite(tpot)
        if saturated:
            return Steady(x, tpot, math.inf, b, rho, td, tm, True, None)  # type: ignore[arg-type]
        return Steady(x, tpot, self.ttft(rho, tpot, own, tm), b, rho, td, tm, False, None)  # type: ignore[arg-type]

    def ttft(self, rho: float, tpot: float, own: float, tm: float) -> float:
        """TTFT at prefill share ρ: the M/G/1 wait for the budget, E[S²]/E[S] = (Ī/K)·TPOT for
        S = (I/K)·TPOT, then the prompt's own chunks (probability 1 − ρ) or its budget steps t_m."""
        service = self.moments.token_isl / self.budget * tpot
        wait = rho * service / (2 * (1 - rho))
        return wait + (1 - rho) * own + rho * self.prompt_chunks * tm

    def at_batch(self, b: float, k: float) -> Steady:
        """The steady state with b sequences decoding, in piece k ((k − 1)·pp < b ≤ k·pp): Little's
        law on both phases gives ρ = b·ISL/(OSL·K), so TPOT = (1 − ρ)·t_d + ρ·t_m, x = b/(OSL·TPOT)
        and TTFT follow from b alone (§T.3, closed loop)."""
        td, tm = self.steps(k)
        own = self.own_chunks(k)
        rho = b * self.isl / (self.osl * self.budget)
        tpot = (1 - rho) * td + rho * tm
        x = b / (self.osl * tpot)
        return Steady(x, tpot, self.ttft(rho, tpot, own, tm), b, rho, td, tm, False, None)  # type: ignore[arg-type]

    def in_flight(self, st: Steady) -> float:
        """Requests in flight, Little's law: x·(TTFT + OSL·TPOT)."""
        return st.requests_per_s * (st.ttft_s + self.osl * st.tpot_s)

    def closed(self, n: float) -> Steady:
        """A closed loop of n requests (§T.3): the decode batch b whose steady state holds n in
        flight. Found over b, not over the rate: at one rate the step times' jumps at GEMM tiles
        can give several crossings, and the least one may jump over every b of the loop, but each b
        has one steady state. The in-flight count grows with b within a piece; at a piece's start
        it can fall back a little (the steps slow down), so the piece is the first whose end holds
        ≥ n by bisection over pieces, then b by bisection within it (the end of the piece below
        when n falls in the jump). Memory and ρ < 1 bound b; a loop larger than that bound holds
        the bound and the rest wait."""
        pp = self.lay.pp
        a = self.isl / (self.osl * self.budget)
        b_cap = min(self.max_batch / (1 + a * self.prefill_seqs), 1 / a) * SATURATION
        k_cap = float(math.ceil(b_cap / pp))
        at_cap = self.at_batch(b_cap, k_cap)
        if not self.in_flight(at_cap) > n:
            return at_cap

        def end(k: float) -> float:
            return min(k * pp, b_cap)

        lo_k, hi_k = 0.0, k_cap
        while hi_k - lo_k > 1:
            mid = float(math.floor((lo_k + hi_k) / 2))
            if self.in_flight(self.at_batch(end(mid), mid)) >= n:
                hi_k = mid
            else:
                lo_k = mid
        k = hi_k
        lo = (k - 1) * pp
        if k > 1 and self.in_flight(self.at_batch(lo, k)) >= n:
            return self.at_batch(lo, k - 1)
        hi = end(k)
        for _ in range(BATCH_ITERATIONS):
            if hi - lo <= BATCH_TOLERANCE * hi:
                break
            mid = 0.5 * (lo + hi)
            if self.in_flight(self.at_batch(mid, k)) >= n:
                hi = mid
            else:
                lo = mid
        return self.at_batch(hi, k)

    def occupancy(self, b: float, rho: float) -> float:
        """The sequences memory holds: the b decoding ones and the mean step's prompts, a fraction
        rho of the steps carrying budget/c of them (§T.3)."""
        return b + rho * self.prefill_seqs

    def steady(self, st: Steady) -> Steady:
        cap = (self.occupancy(st.decode_seqs, st.prefill_share)
               if math.isfinite(st.decode_seqs) and math.isfinite(st.prefill_share) else self.prefill_seqs)
        st.memory = memory(self.m, self.g, self.n, cap, self.moments.capacity_ctx, self.lay, self.rt,
                           (self.prec or Precision()).resolve(self.m))
        return st


def steady_at_rate(m: Model, g: Gpu, n_gpus: int, lay: Layout, x: float, isl: float | Lengths,
                   osl: float | Lengths, budget: float, rt: Runtime | None = None,
                   precision: Precision | None = None) -> Steady:
    """In-flight batching at x requests/s: TPOT is the least T with (1−ρ)·t_d + ρ·t_m ≤ T,
    B = x·OSL·T decoding (Little), ρ = x·ISL·T/budget; TTFT = M/D/1 wait + the prompt's chunks:
    alone in their steps (with the B decoding) with probability 1 − ρ, in full-budget steps t_m
    with probability ρ."""
    s = _Solver(m, g, n_gpus, lay, isl, osl, budget, Runtime.default() if rt is None else rt, precision)
    return s.steady(s.solve(x))


def steady_at_concurrency(m: Model, g: Gpu, n_gpus: int, lay: Layout, concurrency: float,
                          isl: float | Lengths, osl: float | Lengths, budget: float,
                          rt: Runtime | None = None, precision: Precision | None = None) -> Steady:
    """A closed loop of N = `concurrency` requests: the decode batch B whose steady state holds
    x·(TTFT + OSL·TPOT) = N (Little's law), to a relative bracket of :data:`BATCH_TOLERANCE`
    (:meth:`_Solver.closed`); saturated when the deployment does not fit."""
    s = _Solver(m, g, n_gpus, lay, isl, osl, budget, Runtime.default() if rt is None else rt, precision)
    idle = s.solve(0.0)
    if idle.saturated or not math.isfinite(idle.tpot_s):
        return s.steady(Steady(0.0, math.inf, math.inf, 0.0, 0.0, math.inf, math.inf, True, None))  # type: ignore[arg-type]
    return s.steady(s.closed(concurrency))


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
