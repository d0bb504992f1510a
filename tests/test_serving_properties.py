"""Property tests: the Rust serving engine equals ``infersweep.serving_reference`` (to 1e-9).

Random models (dense or MoE, MHA/GQA/MQA/MLA, layer groups with shared experts and windows),
random GPUs, runtimes, precisions, GPU counts, batches and contexts, with layouts pinned or
searched: every column of ``isw.sweep(..., semantics="serving")`` must match the oracle,
including which layout wins and whether it fits.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import serving_reference as sr
from infersweep.specs import LayerGroup

REL = 1e-9
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "max_examples": 60}

FLOAT_COLUMNS = (
    "token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
    "tokens_per_s_per_gpu", "mfu", "overhead_s", "kernel_s", "network_latency_s", "network_bandwidth_s",
    "all_to_all_s", "memory_s", "weight_memory_s", "kv_memory_s", "compute_s", "overlap_s",
    "weights_gb_per_gpu", "kv_gb_per_gpu", "reserve_gb_per_gpu", "max_batch_size",
)
LAYOUT_COLUMNS = ("tp", "pp", "ep", "attention_dp", "expert_tp")


def close(got: float, want: float) -> bool:
    if math.isnan(want) or math.isinf(want):
        return got == want or (math.isnan(got) and math.isnan(want))
    return abs(got - want) <= REL * max(abs(want), 1e-300) or abs(got - want) < 1e-300


@st.composite
def serving_models(draw: st.DrawFn) -> isw.Model:
    kind = draw(st.sampled_from(["mha", "gqa", "mqa", "mla"]))
    kv = draw(st.sampled_from([1, 2, 4, 8, 16]))
    if kind == "gqa":
        heads, group = kv * draw(st.sampled_from([2, 4, 8])), None
    elif kind == "mqa":
        heads = draw(st.sampled_from([8, 16, 32, 64]))
        group = heads
    else:
        heads, group = draw(st.sampled_from([8, 16, 32, 64, 128])), 1
    if group is None:
        group = heads // kv
    d = float(draw(st.sampled_from([1024, 2048, 4096, 7168, 8192])))
    layers = float(draw(st.sampled_from([4, 8, 12, 16, 32, 61, 80])))
    moe = draw(st.booleans())
    experts = float(draw(st.sampled_from([8, 16, 64, 256]))) if moe else 1.0
    active = float(draw(st.sampled_from([1, 2, 8]))) if moe else 1.0
    active = min(active, experts)
    fields: dict = {
        "name": "m", "d_model": d, "d_ff": float(draw(st.sampled_from([1024, 2048, 14336, 28672]))),
        "n_layers": layers, "n_heads": float(heads), "group_size": float(group),
        "vocab_size": float(draw(st.sampled_from([32000, 128256]))), "n_experts": experts,
        "n_experts_active": active, "weight_bytes": draw(st.sampled_from([1.0, 2.0])),
        "activation_bytes": 2.0, "head_dim": 128.0,
    }
    if kind == "mla":
        fields.update(mla_kv_rank=512.0, mla_q_rank=1536.0,
                      mla_rope_dim=draw(st.sampled_from([None, 64.0])))
    if draw(st.booleans()):
        fields["kv_bytes"] = draw(st.sampled_from([1.0, 2.0]))
    m = isw.Model(**fields)
    if moe and draw(st.booleans()) and layers >= 4:
        dense = float(draw(st.sampled_from([1, 3])))
        window = draw(st.sampled_from([None, 1024.0]))
        m = m.with_layer_groups([
            LayerGroup(dense, m.d_ff * 4, window=window),
            LayerGroup(layers - dense, m.d_ff, experts, active,
                       n_shared_experts=draw(st.sampled_from([0, 1]))),
        ])
    return m


@st.composite
def runtimes(draw: st.DrawFn) -> isw.Runtime:
    preset = draw(st.sampled_from(["ideal", "epoch", "default", "random"]))
    if preset != "random":
        return getattr(isw.Runtime, preset)()
    opt = lambda lo, hi: st.one_of(st.none(), st.floats(lo, hi))  # noqa: E731
    return isw.Runtime(
        step_overhead_s=draw(st.floats(0, 2e-3)), sequence_overhead_s=draw(st.floats(0, 1e-4)),
        cuda_graphs=draw(st.booleans()),
        graph_kernel_s=draw(st.floats(0, 5e-6)), launch_kernel_s=draw(opt(0, 2e-5)),
        attention_kernels=draw(st.one_of(st.none(), st.integers(0, 12))),
        mla_extra_kernels=draw(st.integers(0, 8)), dense_ffn_kernels=draw(st.integers(0, 6)),
        moe_kernels=draw(st.integers(0, 12)), weight_bandwidth_efficiency=draw(opt(0.3, 1.0)),
        kv_bandwidth_efficiency=draw(opt(0.2, 1.0)), gemm_efficiency=draw(opt(0.2, 1.0)),
        gemm_tile_tokens=draw(st.sampled_from([0, 1, 16, 64, 128])),
        expert_imbalance=draw(opt(1.0, 4.0)), overlap=draw(st.floats(0, 1)),
        collective_latency_scale=draw(st.floats(0.1, 10)),
        memory_reserve_fraction=draw(st.floats(0, 0.3)), memory_reserve_bytes=draw(st.floats(0, 4e9)))


@st.composite
def precisions(draw: st.DrawFn) -> isw.Precision:
    fmt = st.sampled_from([None, "bf16", "fp8", "nvfp4", "mxfp4"])
    return isw.Precision(attention=draw(st.sampled_from([None, "bf16", "fp8"])), dense_ffn=draw(fmt),
                         experts=draw(fmt), embeddings=draw(st.sampled_from([None, "bf16", "fp8"])),
                         kv_cache=draw(st.sampled_from([None, "fp8", 2.0])),
                         dispatch=draw(st.sampled_from([None, "fp8"])))


@given(m=serving_models(), gpu=st.sampled_from(["H100", "B200", "H200"]), rt=runtimes(), prec=precisions(),
       n_gpus=st.sampled_from([1, 2, 4, 8, 16, 32]), batch=st.integers(1, 1024),
       ctx=st.sampled_from([0, 1, 1000, 4096, 32768]), seq_len=st.sampled_from([1, 1, 1, 4]),
       pin=st.sampled_from(["none", "tp", "ep", "dp"]), data=st.data())
@settings(**SETTINGS)
def test_rust_equals_reference(m: isw.Model, gpu: str, rt: isw.Runtime, prec: isw.Precision, n_gpus: int,
                               batch: int, ctx: int, seq_len: int, pin: str, data: st.DataObject) -> None:
    g = isw.gpu(gpu)
    resolved = prec.resolve(m)
    if any(int(resolved[k]) not in g.flops_by_bits for k in ("attention_bits", "ffn_bits", "expert_bits")) \
            or int(m.rate_bits) not in g.flops_by_bits:
        return
    every = sr.layouts(m, n_gpus)
    pins: dict[str, int] = {}
    if pin != "none":
        lay = data.draw(st.sampled_from(every))
        pins = {"tp": {"tp": lay.tp}, "ep": {"ep": lay.ep}, "dp": {"attention_dp": lay.attention_dp}}[pin]
    df = isw.sweep(m, g, n_gpus=n_gpus, batch_size=batch, context_len=ctx, seq_len=seq_len,
                   semantics="serving", runtime=rt, precision=prec, **pins)
    row = df.row(0, named=True)
    want = sr.best_step(m, g, n_gpus, batch, ctx, rt, prec, positions=seq_len, **pins)
    econ = sr.economics(m, g, n_gpus, batch, ctx, want, seq_len, prec)
    expected = {
        "token_latency_s": want.latency_s, "overhead_s": want.overhead_s, "kernel_s": want.kernel_s,
        "network_latency_s": want.network_latency_s, "network_bandwidth_s": want.network_bandwidth_s,
        "all_to_all_s": want.all_to_all_s, "reserve_gb_per_gpu": want.memory.reserve / 1e9,
        "memory_s": want.memory_s, "weight_memory_s": want.weight_memory_s, "kv_memory_s": want.kv_memory_s,
        "compute_s": want.compute_s, "overlap_s": want.overlap_s,
        "weights_gb_per_gpu": want.memory.weights / 1e9, "kv_gb_per_gpu": want.memory.kv / 1e9,
        "max_batch_size": want.memory.max_batch_size, **econ,
    }
    assert row["feasible"] == want.feasible
    for col in LAYOUT_COLUMNS:
        ref = {"tp": want.layout.tp, "pp": want.layout.pp, "ep": want.layout.ep,
               "attention_dp": want.layout.attention_dp, "expert_tp": want.layout.expert_tp()}[col]
        assert row[col] == ref, (col, row[col], ref)
    for col in FLOAT_COLUMNS:
        assert close(row[col], expected[col]), (col, row[col], expected[col])


@given(m=serving_models(), n_gpus=st.sampled_from([1, 4, 8, 16, 64]))
@settings(**SETTINGS)
def test_searched_rows_are_the_best_pinned_row(m: isw.Model, n_gpus: int) -> None:
    """A searched row is the fastest of the pinned rows of every valid layout."""
    every = sr.layouts(m, n_gpus)
    searched = isw.sweep(m, "H100", n_gpus=n_gpus, batch_size=64, context_len=2048, semantics="serving")
    pinned = [isw.sweep(m, "H100", n_gpus=n_gpus, batch_size=64, context_len=2048, semantics="serving",
                        tp=lay.tp, pp=lay.pp, ep=lay.ep, attention_dp=lay.attention_dp)["token_latency_s"][0]
              for lay in every]
    assert searched["token_latency_s"][0] == min(pinned) or (
        not searched["feasible"][0] and all(math.isinf(p) for p in pinned))


def test_zip_equals_product_rows() -> None:
    """A zipped grid gives the rows of a product grid that share its inputs, bit for bit."""
    kw = {"semantics": "serving", "context_len": 1024}
    prod = isw.sweep("Mixtral-8x7B", "H100", n_gpus=[4, 8], batch_size=[1, 64], **kw)
    zipped = isw.sweep("Mixtral-8x7B", "H100", n_gpus=[4, 4, 8, 8], batch_size=[1, 64, 1, 64], grid="zip",
                       **kw)
    for col in ("token_latency_s", "tp", "ep", "attention_dp", "max_batch_size"):
        assert np.array_equal(prod[col].to_numpy(), zipped[col].to_numpy())
