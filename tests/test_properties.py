"""Property tests: the Rust engine equals ``infersweep.reference`` on random specs and grids.

Every row of ``isw.sweep`` must match the plain-Python oracle to a relative 1e-9: the latency,
which rows are infeasible, the four time components (with the network time split into its
latency and bandwidth parts), the winning layout, the economics and, for speculative
decoding, the draft length and the drafter's latency. Infeasible rows have an infinite
latency and NaN components; NaN is compared equal to NaN.

Results must also be identical, bit for bit, whatever the thread count, the chunk size, and
whether the same rows come from a product or a zip grid.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import reference
from infersweep.specs import LayerGroup

REL = 1e-9
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

# Engine columns compared with the reference, by kind.
FLOAT_COLUMNS = (
    "token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
    "tokens_per_s_per_gpu", "mfu", "kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s",
    "compute_s", "pp_degree", "ep_degree", "tp_ffn", "tp_attention", "attention_scaledown",
    "drafter_latency_s",
)
EXACT_COLUMNS = ("feasible", "two_d_tp", "gamma")


# ----------------------------------------------------------------------------- strategies


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats spread evenly in log space between lo and hi (inclusive)."""
    return st.floats(math.log(lo), math.log(hi)).map(lambda x: min(max(math.exp(x), lo), hi))


def width(lo: float, hi: float) -> st.SearchStrategy[float]:
    """A width: usually an integer (often a power of two), sometimes fractional (scaled models)."""
    return st.one_of(
        st.sampled_from([2.0**i for i in range(int(math.log2(lo)) + 1, int(math.log2(hi)) + 1)]),
        st.integers(int(lo), int(hi)).map(float),
        log_uniform(lo, hi),
    )


ATTENTION = ("mha", "gqa", "mqa", "mla")


@st.composite
def models(draw: st.DrawFn, name: str = "target", attention: str | None = None, moe: bool | None = None,
           weight_bytes: float | None = None) -> isw.Model:
    """A random valid Model: dense or MoE; MHA, GQA, MQA or MLA; 4-, 8- or 16-bit weights."""
    kind = attention or draw(st.sampled_from(ATTENTION))
    if kind == "gqa":
        group = draw(st.integers(2, 16))
        heads = draw(st.integers(1, 16)) * group  # kv-group count × group size
    elif kind == "mqa":
        heads = draw(st.integers(1, 128))
        group = heads
    else:  # mha, mla
        heads = draw(st.integers(1, 128))
        group = 1
    d_model = draw(width(64, 16384))
    d_ff = draw(st.one_of(st.just(4 * d_model), st.floats(0.25, 6).map(lambda r: r * d_model),
                          width(64, 65536)))
    head_dim = draw(st.one_of(st.none(), st.sampled_from([64.0, 128.0, 256.0]), width(8, 512)))
    if head_dim is None and math.floor(d_model / heads) < 1:
        head_dim = 64.0
    mla: dict[str, float] = {}
    if kind == "mla":
        mla = {"mla_kv_rank": draw(width(16, 2048)), "mla_q_rank": draw(width(16, 4096))}
    is_moe = draw(st.booleans()) if moe is None else moe
    if is_moe:
        n_experts = float(draw(st.one_of(st.integers(2, 16), st.integers(2, 256))))
        k = float(draw(st.integers(1, int(min(n_experts, 16)))))
        if draw(st.booleans()):  # fractional expert counts: floor(E/k) must still be >= 1
            n_experts = n_experts + draw(st.floats(0, 0.99))
    else:
        n_experts = k = 1.0
    up, down = draw(st.sampled_from([(2, 1), (1, 1)]))
    return isw.Model(
        name=name,
        d_model=d_model,
        d_ff=d_ff,
        n_layers=draw(st.one_of(st.integers(1, 128).map(float), log_uniform(1, 128))),
        n_heads=float(heads),
        group_size=float(group),
        vocab_size=draw(st.one_of(st.just(0.0), width(256, 262144))),
        head_dim=head_dim,
        n_experts=n_experts,
        n_experts_active=k,
        ffn_up_matrices=up,
        ffn_down_matrices=down,
        weight_bytes=weight_bytes if weight_bytes is not None else draw(st.sampled_from([0.5, 1.0, 2.0])),
        activation_bytes=draw(st.sampled_from([1.0, 2.0])),
        **mla,
    )


WINDOWS = st.one_of(st.none(), st.sampled_from([128.0, 1024.0, 4096.0, 8192.0]), log_uniform(1, 200_000))


@st.composite
def layer_groups(draw: st.DrawFn, d_model: float) -> list[LayerGroup]:
    """1 to 4 layer groups: dense or MoE, with or without shared experts and a window."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        layers = draw(st.one_of(st.integers(1, 64).map(float), log_uniform(1, 64)))
        d_ff = draw(st.one_of(st.floats(0.25, 6).map(lambda r: r * d_model), width(64, 65536)))
        if draw(st.booleans()):
            n_experts = float(draw(st.integers(2, 256)))
            k = float(draw(st.integers(1, int(min(n_experts, 16)))))
            if draw(st.booleans()):
                n_experts += draw(st.floats(0, 0.99))
        else:
            n_experts = k = 1.0
        shared = draw(st.one_of(st.just(0.0), st.sampled_from([1.0, 2.0]), st.floats(0.5, 3)))
        shared_d_ff = draw(st.one_of(st.none(), width(64, 32768)))
        out.append(LayerGroup(layers, d_ff, n_experts, k, shared, shared_d_ff, draw(WINDOWS)))
    return out


@st.composite
def extended_models(draw: st.DrawFn, name: str = "target", moe: bool | None = None) -> isw.Model:
    """A random model using the extensions of docs/extensions.md: layer groups (windows, shared
    experts, dense and MoE groups), MLA's RoPE key, tied embeddings, a KV-cache precision, a
    compute precision and attention sinks; each one on or off, so that the `epoch` special
    cases are drawn too."""
    base = draw(models(name=name, moe=moe))
    changes: dict[str, Any] = {
        "kv_bytes": draw(st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0]), st.floats(0.25, 4))),
        "compute_bits": draw(st.one_of(st.none(), st.sampled_from([4, 8, 16]))),
        "tied_embeddings": draw(st.booleans()),
        "lookup_embedding": draw(st.booleans()),
        "attention_sinks": draw(st.booleans()),
        "weight_bytes": draw(st.sampled_from([base.weight_bytes, 0.53125, 0.5625])),
    }
    if changes["compute_bits"] is None and changes["weight_bytes"] != base.weight_bytes:
        changes["compute_bits"] = draw(st.sampled_from([4, 8, 16]))
    if base.is_mla:
        changes["mla_rope_dim"] = draw(st.one_of(st.none(), st.sampled_from([32.0, 64.0]), width(8, 256)))
    if draw(st.integers(0, 4)):  # mostly with layer groups
        return base.with_layer_groups(draw(layer_groups(base.d_model)), **changes)
    return base.with_(**changes)


@st.composite
def gpus(draw: st.DrawFn, needs_bits: tuple[float, ...] = (), collectives: str | None = None,
         name: str = "gpu") -> isw.Gpu:
    """A random valid Gpu, rated for at least the weight precisions in `needs_bits`."""
    peak = draw(log_uniform(1e13, 5e15))
    rates = {4: peak, 8: peak, 16: peak / draw(st.sampled_from([1.0, 2.0, 4.0]))}
    keep = {int(b) for b in needs_bits} | set(draw(st.sets(st.sampled_from([4, 8, 16]), min_size=1)))
    return isw.Gpu(
        name=name,
        flops_by_bits={b: rates[b] for b in sorted(keep)},
        hbm_bandwidth=draw(log_uniform(3e11, 2e13)),
        hbm_bytes=draw(st.one_of(log_uniform(2e8, 3e11), st.sampled_from([8e10, 1.41e11, 1.6e10]))),
        intra_node_bandwidth=draw(st.one_of(st.just(math.inf), log_uniform(1e10, 2e12))),
        inter_node_bandwidth=draw(log_uniform(1e9, 5e11)),
        gpus_per_node=float(draw(st.sampled_from([1, 2, 4, 8, 72]))),
        usd_per_hour=draw(log_uniform(0.05, 20)),
        flop_utilization=draw(st.one_of(st.just(1.0), st.floats(0.05, 1))),
        mem_utilization=draw(st.one_of(st.just(1.0), st.floats(0.05, 1))),
        kernel_latency_s=draw(st.one_of(st.just(0.0), st.just(4e-6), log_uniform(1e-7, 2e-5))),
        collectives=collectives or draw(st.sampled_from(["nccl", "torus"])),
        ll_latency_s=draw(st.one_of(st.just(6.8e-6), st.just(0.0), log_uniform(1e-7, 5e-5))),
        ll128_latency_s=draw(st.one_of(st.just(14e-6), st.just(0.0), log_uniform(1e-7, 5e-5))),
    )


def min_gpus(m: isw.Model, g: isw.Gpu) -> float:
    """GPUs needed for the weights alone (below this every row is infeasible)."""
    return m.weight_bytes * m.total_params / g.hbm_bytes


def n_gpus_values(n_min: float) -> st.SearchStrategy[float]:
    """GPU counts: integers and non-integers in 0.5..5000, and multiples of the minimum that fits
    (from 0.3× to 30×, so a good share of rows is infeasible)."""
    return st.one_of(
        st.integers(1, 5000).map(float),
        st.sampled_from([2.0**i for i in range(13)]),
        log_uniform(0.5, 5000),
        log_uniform(0.3, 30).map(lambda f: max(f * n_min, 1e-3)),
    )


BATCHES = st.one_of(st.integers(1, 5000).map(float), st.sampled_from([2.0**i for i in range(13)]),
                    log_uniform(0.5, 5000))
CONTEXTS = st.one_of(st.just(0.0), st.integers(0, 200_000).map(float), st.floats(0, 200_000),
                     st.sampled_from([1024.0, 8192.0, 131072.0]))
SEQ_LENS = st.one_of(st.integers(2, 64).map(float), st.floats(1, 100), st.sampled_from([1.0, 4.0, 128.0]))


@st.composite
def drafters(draw: st.DrawFn, target: isw.Model) -> isw.Model:
    """A drafter: any random model, or a shrunk copy of the target (so that drafting often wins)."""
    if draw(st.booleans()):
        return draw(models(name="drafter"))
    shrink = draw(st.sampled_from([4.0, 8.0, 16.0, 64.0]))
    if target.layer_groups is not None:
        target = target.with_layer_groups(None)
    return target.with_(name="drafter", n_layers=max(1.0, math.floor(target.n_layers / shrink)),
                        d_ff=max(1.0, target.d_ff / shrink), n_experts=1.0, n_experts_active=1.0,
                        weight_bytes=draw(st.sampled_from([target.weight_bytes, 0.5])))


@st.composite
def spec_decs(draw: st.DrawFn, drafter: isw.Model) -> isw.SpecDec:
    return isw.SpecDec(
        drafter=drafter,
        acceptance=draw(st.one_of(st.just(0.0), st.floats(0, 0.95), st.sampled_from([0.5, 0.8, 0.95]))),
        gamma_max=draw(st.integers(2, 6)),
    )


def axis(values: st.SearchStrategy[float], max_size: int) -> st.SearchStrategy[list[float]]:
    return st.lists(values, min_size=1, max_size=max_size)


# ----------------------------------------------------------------------------- the oracle


@dataclass(frozen=True)
class Row:
    model: isw.Model
    gpu: isw.Gpu
    n_gpus: float
    batch_size: float
    context_len: float
    seq_len: float
    use_pp: bool
    spec_dec: isw.SpecDec | None


def expected(r: Row) -> dict[str, Any]:
    """The reference's answer for one row, in the engine's column names."""
    m, g, N, b, ctx, S = r.model, r.gpu, r.n_gpus, r.batch_size, r.context_len, r.seq_len
    if S != 1:
        assert r.spec_dec is None
        p = reference.token_latency(m, g, N, b, ctx, S, r.use_pp)
        latency, gamma, t_q = p.latency_s, 0, math.nan
    else:
        sd = r.spec_dec
        dec = reference.decode_latency(m, g, N, b, ctx, r.use_pp,
                                       sd.drafter_model if sd else None,
                                       sd.acceptance if sd else 0.0,
                                       sd.gamma_max if sd else 5)
        p, latency, gamma, t_q = dec.target, dec.latency_s, dec.gamma, dec.drafter_latency_s
    out: dict[str, Any] = {
        "token_latency_s": latency,
        "feasible": p.feasible,
        "kernel_s": p.kernel_s,
        "network_latency_s": p.network_latency_s,
        "network_bandwidth_s": p.network_bandwidth_s,
        "memory_s": p.memory_s,
        "compute_s": p.compute_s,
        "two_d_tp": p.two_d_tp,
        "pp_degree": p.pp_degree,
        "ep_degree": p.ep_degree,
        "tp_ffn": p.tp_ffn,
        "tp_attention": p.tp_attention,
        "attention_scaledown": p.attention_scaledown,
        "gamma": gamma,
        "drafter_latency_s": t_q,
    }
    out.update(reference.economics(m, g, N, b, ctx, latency, S))
    return out


def same(a: float, b: float) -> bool:
    """Equal to a relative 1e-9; NaN equals NaN, inf equals inf of the same sign."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


def describe(r: Row) -> str:
    sd = r.spec_dec
    spec = (f"SpecDec(acceptance={sd.acceptance!r}, gamma_max={sd.gamma_max}, drafter={sd.drafter!r})"
            if sd else "None")
    return (f"model={r.model!r}\ngpu={r.gpu!r}\nn_gpus={r.n_gpus!r} batch_size={r.batch_size!r} "
            f"context_len={r.context_len!r} seq_len={r.seq_len!r} use_pp={r.use_pp} spec_dec={spec}")


def record(want: dict[str, Any], r: Row) -> None:
    """Coverage of the winning layouts, shown by `pytest --hypothesis-show-statistics`."""
    event("feasible" if want["feasible"] else "infeasible")
    if want["feasible"]:
        gt = {c: ">" if want[c] > 1 else "=" for c in ("pp_degree", "ep_degree", "attention_scaledown")}
        event(f"layout: {'2D' if want['two_d_tp'] else '1D'} TP, PP {gt['pp_degree']} 1, "
              f"EP {gt['ep_degree']} 1, scale-down {gt['attention_scaledown']} 1")
        if r.spec_dec is not None:
            event(f"spec dec: gamma {'> 0' if want['gamma'] else '= 0'}")


def check_rows(df: pl.DataFrame, rows: list[Row]) -> None:
    """Every engine row equals the reference; the failure message names the row and the columns."""
    assert df.height == len(rows)
    failures: list[str] = []
    for i, (got, r) in enumerate(zip(df.iter_rows(named=True), rows, strict=True)):
        # The row is the one we think it is.
        assert got["model"] == r.model.name and got["gpu"] == r.gpu.name
        for name in ("n_gpus", "batch_size", "context_len", "seq_len"):
            assert got[name] == getattr(r, name), (i, name)
        assert got["use_pp"] == r.use_pp
        assert got["drafter"] == (r.spec_dec.drafter_model.name if r.spec_dec else None)
        want = expected(r)
        bad = [f"  {c}: engine {got[c]!r}, reference {want[c]!r}" for c in FLOAT_COLUMNS
               if not same(got[c], want[c])]
        bad += [f"  {c}: engine {got[c]!r}, reference {want[c]!r}" for c in EXACT_COLUMNS
                if got[c] != want[c]]
        # Infeasible rows: infinite latency and cost, NaN components, the flag down.
        if not want["feasible"]:
            assert math.isinf(got["token_latency_s"]) and math.isinf(got["usd_per_million_tokens"])
            for c in ("kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s"):
                if not math.isnan(got[c]):
                    bad.append(f"  {c}: engine {got[c]!r} on an infeasible row, expected NaN")
        else:
            assert math.isfinite(got["token_latency_s"])
        if currently_in_test_context():
            record(want, r)
        if bad:
            failures.append(f"row {i}:\n{describe(r)}\n" + "\n".join(bad))
    assert not failures, f"{len(failures)} of {len(rows)} rows disagree with reference.py:\n" + \
        "\n\n".join(failures[:3])


def run_product(models_: list[isw.Model], gpus_: list[isw.Gpu], n_gpus: list[float], batch: list[float],
                ctx: list[float], seq: list[float], pps: list[bool],
                sds: list[isw.SpecDec | None]) -> tuple[pl.DataFrame, list[Row]]:
    df = isw.sweep(models_, gpus_, n_gpus=n_gpus, batch_size=batch, context_len=ctx, seq_len=seq,
                   use_pp=pps, spec_dec=sds, grid="product", num_threads=2, semantics="epoch")
    rows = [Row(*t) for t in itertools.product(models_, gpus_, n_gpus, batch, ctx, seq, pps, sds)]
    return df, rows


def use_pp_axis() -> st.SearchStrategy[list[bool]]:
    return st.sampled_from([[False], [True], [False, True]])


# ----------------------------------------------------------------------------- engine == reference


@settings(max_examples=300, **SETTINGS)
@given(data=st.data(), attention=st.sampled_from(ATTENTION), moe=st.booleans())
def test_decode_matches_reference(data: st.DataObject, attention: str, moe: bool) -> None:
    """Plain decoding (S = 1): dense and MoE, every attention kind, every precision, PP on/off."""
    m = data.draw(models(attention=attention, moe=moe), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    n_min = min_gpus(m, g)
    pps = data.draw(use_pp_axis(), "use_pp")
    n_gpus = data.draw(axis(n_gpus_values(n_min), 4), "n_gpus")
    batch = data.draw(axis(BATCHES, 10 // (len(pps) * len(n_gpus)) or 1), "batch")
    ctx = data.draw(axis(CONTEXTS, max(1, 20 // (len(pps) * len(n_gpus) * len(batch)))), "ctx")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], pps, [None]))


@settings(max_examples=120, **SETTINGS)
@given(data=st.data())
def test_moe_layouts_match_reference(data: st.DataObject) -> None:
    """MoE with expert parallelism in play: batches around 2·s, GPU counts around E."""
    m = data.draw(models(moe=True), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    s = m.sparsity
    n_gpus = data.draw(axis(st.one_of(n_gpus_values(min_gpus(m, g)),
                                      st.floats(0.5, 4).map(lambda f: f * m.n_experts)), 3), "n_gpus")
    batch = data.draw(axis(st.one_of(st.floats(0.5, 4).map(lambda f: f * 2 * s),
                                     st.just(2 * s), st.just(2 * s - 0.5)), 3), "batch")
    ctx = data.draw(axis(CONTEXTS, 2), "ctx")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], [False, True], [None]))


@settings(max_examples=120, **SETTINGS)
@given(data=st.data(), collectives=st.sampled_from(["nccl", "torus"]))
def test_seq_len_matches_reference(data: st.DataObject, collectives: str) -> None:
    """S > 1 positions per sequence: the row is token_latency(S) with economics over S tokens."""
    m = data.draw(models(), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,), collectives=collectives), "gpu")
    pps = data.draw(use_pp_axis(), "use_pp")
    n_gpus = data.draw(axis(n_gpus_values(min_gpus(m, g)), 3), "n_gpus")
    batch = data.draw(axis(BATCHES, 2), "batch")
    ctx = data.draw(axis(CONTEXTS, 2), "ctx")
    seq = data.draw(axis(SEQ_LENS, max(1, 20 // (len(pps) * len(n_gpus) * len(batch) * len(ctx)))), "seq")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, seq, pps, [None]))


@settings(max_examples=120, **SETTINGS)
@given(data=st.data())
def test_spec_dec_matches_reference(data: st.DataObject) -> None:
    """Speculative decoding: latency, γ (0 when plain decoding wins) and the drafter's latency."""
    m = data.draw(models(), "model")
    drafter = data.draw(drafters(m), "drafter")
    g = data.draw(gpus(needs_bits=(m.rate_bits, drafter.rate_bits)), "gpu")
    sd = data.draw(spec_decs(drafter), "spec_dec")
    pps = data.draw(st.sampled_from([[False], [True]]), "use_pp")
    n_gpus = data.draw(axis(n_gpus_values(min_gpus(m, g)), 3), "n_gpus")
    batch = data.draw(axis(BATCHES, 2), "batch")
    ctx = data.draw(axis(CONTEXTS, 2), "ctx")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], pps, [sd]))


def test_spec_dec_axis_mixes_plain_and_speculative() -> None:
    """spec_dec=[None, SpecDec(...)]: plain and speculative rows side by side in one sweep.

    A fixed example rather than a property: this once crashed while labelling the frame (the
    drafter column mixed None and names), which shrinking would only have made slower to report.
    """
    sd = isw.SpecDec("Llama-3-8B", 0.8, gamma_max=5)
    check_rows(*run_product([isw.model("Llama-3-70B")], [isw.gpu("H100")], [8.0, 16.0], [1.0, 16.0, 64.0],
                            [0.0, 4096.0], [1.0], [False, True], [None, sd]))


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_mixed_grid_matches_reference(data: st.DataObject) -> None:
    """Two models on two GPUs (NCCL and torus) in one product: rows map to the right pair."""
    m0 = data.draw(models(name="m0"), "m0")
    m1 = data.draw(models(name="m1"), "m1")
    bits = (m0.rate_bits, m1.rate_bits)
    g0 = data.draw(gpus(needs_bits=bits, collectives="nccl", name="g0"), "g0")
    g1 = data.draw(gpus(needs_bits=bits, collectives="torus", name="g1"), "g1")
    n_gpus = data.draw(axis(n_gpus_values(min_gpus(m0, g0)), 2), "n_gpus")
    batch = data.draw(axis(BATCHES, 2), "batch")
    ctx = data.draw(axis(CONTEXTS, 1), "ctx")
    check_rows(*run_product([m0, m1], [g0, g1], n_gpus, batch, ctx, [1.0], [False], [None]))


@settings(max_examples=80, **SETTINGS)
@given(data=st.data())
def test_zip_matches_reference(data: st.DataObject) -> None:
    """A zip grid: each row its own (N, b, ℓ, use_pp), with length-1 axes broadcast."""
    m = data.draw(models(), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    n = data.draw(st.integers(1, 12), "rows")
    n_gpus = data.draw(st.lists(n_gpus_values(min_gpus(m, g)), min_size=n, max_size=n), "n_gpus")
    batch = data.draw(st.lists(BATCHES, min_size=n, max_size=n), "batch")
    ctx = data.draw(st.one_of(st.lists(CONTEXTS, min_size=1, max_size=1),
                              st.lists(CONTEXTS, min_size=n, max_size=n)), "ctx")
    pps = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), "use_pp")
    df = isw.sweep(m, g, n_gpus=n_gpus, batch_size=batch, context_len=ctx, use_pp=pps, grid="zip",
                   semantics="epoch")
    rows = [Row(m, g, n_gpus[i], batch[i], ctx[i if len(ctx) > 1 else 0], 1.0, pps[i], None)
            for i in range(n)]
    check_rows(df, rows)


def test_catalog_grid_matches_reference() -> None:
    """Every catalog model on every catalog GPU rated for its precision, on a fixed grid."""
    n_gpus, batch, ctx = [1.0, 8.0, 24.0, 1000.0], [1.0, 256.0], [8192.0]
    for m in isw.catalog.catalog_models()["name"]:
        model = isw.model(m)
        for gname in isw.gpu_names():
            g = isw.gpu(gname)
            if model.rate_bits not in g.flops_by_bits:
                continue
            check_rows(*run_product([model], [g], n_gpus, batch, ctx, [1.0], [False, True], [None]))
    sd = isw.SpecDec("Llama-3-8B", 0.8, gamma_max=6)
    check_rows(*run_product([isw.model("Llama-3-70B")], [isw.gpu("H100")], n_gpus, batch, ctx, [1.0],
                            [False, True], [sd]))


# ----------------------------------------------------------------------------- determinism


@settings(max_examples=20, **SETTINGS)
@given(data=st.data(), speculative=st.booleans())
def test_identical_whatever_threads_chunks_and_grid_kind(data: st.DataObject, speculative: bool) -> None:
    """Bit-for-bit the same frame with 1 or 2 threads, chunks of 7 or 1000 rows, product or zip."""
    m = data.draw(models(), "model")
    drafter = data.draw(drafters(m), "drafter")
    g = data.draw(gpus(needs_bits=(m.rate_bits, drafter.rate_bits)), "gpu")
    sd = data.draw(spec_decs(drafter), "spec_dec")
    n_gpus = data.draw(st.lists(n_gpus_values(min_gpus(m, g)), min_size=4, max_size=8), "n_gpus")
    batch = data.draw(st.lists(BATCHES, min_size=4, max_size=8), "batch")
    ctx = data.draw(st.lists(CONTEXTS, min_size=2, max_size=4), "ctx")
    sds = [None, sd] if speculative else [None]
    args = {"n_gpus": n_gpus, "batch_size": batch, "context_len": ctx, "use_pp": [False, True],
            "spec_dec": sds}
    base = isw.sweep(m, g, **args, num_threads=1, chunk_rows=1000, semantics="epoch")
    assert base.height == len(n_gpus) * len(batch) * len(ctx) * 2 * len(sds)
    for threads, chunk in ((2, 1000), (1, 7), (2, 7), (None, 1), (2, 257)):
        other = isw.sweep(m, g, **args, num_threads=threads, chunk_rows=chunk, semantics="epoch")
        assert base.equals(other), (threads, chunk)
    # The same rows as a zip grid.
    row_sds = [None if d is None else sd for d in base["drafter"]]
    zipped = isw.sweep(m, g, n_gpus=base["n_gpus"].to_numpy(), batch_size=base["batch_size"].to_numpy(),
                       context_len=base["context_len"].to_numpy(), use_pp=base["use_pp"].to_list(),
                       spec_dec=row_sds, grid="zip", num_threads=2, chunk_rows=7, semantics="epoch")
    assert base.equals(zipped)
    # Bitwise, not merely equal: compare the float columns' bit patterns (NaN payloads included).
    for c in FLOAT_COLUMNS:
        a = base[c].to_numpy().view(np.uint64)
        b = zipped[c].to_numpy().view(np.uint64)
        assert np.array_equal(a, b), c


# ----------------------------------------------------------------------------- extensions == reference


@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_extended_decode_matches_reference(data: st.DataObject) -> None:
    """Models using the extensions (docs/extensions.md), plain decoding, PP on and off: the
    windows bind or not (contexts on both sides of them), infeasible rows included."""
    m = data.draw(extended_models(), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    pps = data.draw(use_pp_axis(), "use_pp")
    n_gpus = data.draw(axis(n_gpus_values(min_gpus(m, g)), 3), "n_gpus")
    batch = data.draw(axis(BATCHES, 8 // (len(pps) * len(n_gpus)) or 1), "batch")
    windows = [grp.window for grp in m.groups if grp.window is not None]
    near = st.one_of(CONTEXTS, *(st.floats(0.5, 2).map(lambda f, w=w: f * w) for w in windows[:2]))
    ctx = data.draw(axis(near, max(1, 16 // (len(pps) * len(n_gpus) * len(batch)))), "ctx")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], pps, [None]))


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_extended_moe_layouts_match_reference(data: st.DataObject) -> None:
    """Dense and MoE groups with expert parallelism in play: batches around each group's 2·s_g."""
    m = data.draw(extended_models(moe=True), "model")
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    edges = [2 * grp.sparsity for grp in m.groups]
    n_gpus = data.draw(axis(st.one_of(n_gpus_values(min_gpus(m, g)),
                                      st.floats(0.5, 4).map(lambda f: f * m.n_experts)), 3), "n_gpus")
    batch = data.draw(axis(st.one_of(st.sampled_from(edges), st.sampled_from(edges).map(lambda e: e - 0.5),
                                     st.floats(0.5, 4).map(lambda f: f * max(edges))), 3), "batch")
    ctx = data.draw(axis(CONTEXTS, 2), "ctx")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], [False, True], [None]))


@settings(max_examples=80, **SETTINGS)
@given(data=st.data())
def test_extended_seq_len_and_spec_dec_match_reference(data: st.DataObject) -> None:
    """S > 1 positions (windows cap the mean context l̄) and speculative decoding with an
    extended target and an extended or plain drafter."""
    m = data.draw(extended_models(), "model")
    drafter = data.draw(st.one_of(extended_models(name="drafter"), drafters(m)), "drafter")
    g = data.draw(gpus(needs_bits=(m.rate_bits, drafter.rate_bits)), "gpu")
    n_gpus = data.draw(axis(n_gpus_values(min_gpus(m, g)), 2), "n_gpus")
    batch = data.draw(axis(BATCHES, 2), "batch")
    ctx = data.draw(axis(CONTEXTS, 2), "ctx")
    seq = data.draw(axis(SEQ_LENS, 3), "seq")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, seq, [False, True], [None]))
    sd = data.draw(spec_decs(drafter), "spec_dec")
    check_rows(*run_product([m], [g], n_gpus, batch, ctx, [1.0], [False, True], [sd]))


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_explicit_single_group_is_the_epoch_model(data: st.DataObject) -> None:
    """An `epoch` model rebuilt with one explicit layer group equal to its fields computes the
    same rows, bit for bit, in the engine."""
    m = data.draw(models(), "model")
    grouped = m.with_layer_groups([LayerGroup(m.n_layers, m.d_ff, m.n_experts, m.n_experts_active)])
    g = data.draw(gpus(needs_bits=(m.rate_bits,)), "gpu")
    args = {"n_gpus": data.draw(axis(n_gpus_values(min_gpus(m, g)), 4), "n_gpus"),
            "batch_size": data.draw(axis(BATCHES, 4), "batch"),
            "context_len": data.draw(axis(CONTEXTS, 2), "ctx"), "use_pp": [False, True]}
    a = isw.sweep(m, g, **args, semantics="epoch").drop("model")
    b = isw.sweep(grouped, g, **args, semantics="epoch").drop("model")
    assert a.equals(b)
