"""Serving traffic (docs/serving.md §T): prefill chunks by hand, a mixed step by hand, TTFT of a
chunked prompt, the steady state's Little's law and monotonicity, saturation as data, and the
Rust engine against traffic_reference.py."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import _core
from infersweep import reference as ref
from infersweep import serving_reference as sr
from infersweep import traffic_reference as tr
from infersweep.serving import runtime_dict
from infersweep.sweep import gpu_dict, model_dict

LLAMA = isw.model("Llama-3.1-70B")     # 64 heads of 128, 8 KV heads, 80 layers
DSV3 = isw.model("DeepSeek-V3")        # MLA: c = 512, r = 64, h = 128, 128 heads
H200 = isw.gpu("H200")
FP8 = isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8")
TP8 = sr.Layout(8, 1, 1, 1)


def rust_step(m: isw.Model, g: isw.Gpu, n: int, lay: sr.Layout, w: tr.Work, rt: isw.Runtime,
              prec: isw.Precision) -> dict:
    return _core.serving_mixed_step(model=model_dict(m), gpu=gpu_dict(g), precision=prec.resolve(m),
                                    runtime=runtime_dict(rt), n_gpus=n, tp=lay.tp, pp=lay.pp, ep=lay.ep,
                                    attention_dp=lay.attention_dp, work=asdict(w))


def prefill(m: isw.Model, chunk: float, cached: float, batch: float = 1.0) -> tr.Work:
    return tr.Work(0.0, 0.0, batch * chunk, chunk, cached, batch, cached + chunk)


# ------------------------------------------------------------------ §T.1–2 prefill chunks by hand


def test_chunk_attention_flops_are_the_causal_sum() -> None:
    # Position j of a 1024-token chunk on 3000 cached tokens sees 3000 + j: Σ = 1024·3000 + 1024·1023/2,
    # at 4·h·H = 32,768 FLOPs per pair and layer, over 80 layers (then / tp = 8 per GPU).
    expected = 32_768 * 80 * (1024 * 3000 + 1024 * 1023 / 2)
    st_ = rust_step(LLAMA, H200, 8, TP8, prefill(LLAMA, 1024, 3000), isw.Runtime.ideal(), FP8)
    assert st_["attention_flops"] == pytest.approx(expected, rel=1e-12)
    py = tr.mixed_step(LLAMA, H200, 8, TP8, prefill(LLAMA, 1024, 3000), isw.Runtime.ideal(), FP8)
    assert py.attention_flops == pytest.approx(expected, rel=1e-12)


def test_one_long_prompt_is_not_four_short_ones() -> None:
    # The example: b = 1 × S = 32,768 and b = 4 × S = 8,192 carry the same tokens but
    # 32,768²/2 against 4·8,192²/2 causal pairs: 4× the attention.
    one = tr.mixed_step(LLAMA, H200, 8, TP8, prefill(LLAMA, 32_768, 0), isw.Runtime.ideal(), FP8)
    four = tr.mixed_step(LLAMA, H200, 8, TP8, prefill(LLAMA, 8_192, 0, batch=4), isw.Runtime.ideal(), FP8)
    assert one.attention_flops / four.attention_flops == pytest.approx(32_767 / 8_191, rel=1e-12)
    assert one.compute_s > four.compute_s


def test_windowed_causal_sum() -> None:
    # 5 queries on 10 cached tokens under a 12-token window see 10, 11, 12, 12, 12.
    assert tr.causal_positions(10, 5, 12) == 57
    assert tr.causal_positions(10, 5, None) == 10 + 11 + 12 + 13 + 14
    assert tr.causal_positions(0, 4, 100) == 0 + 1 + 2 + 3


def test_mla_prefill_form() -> None:
    # Decompressed heads: QK over h + r = 192, AV over h = 128: 2·(2·128 + 64)·128 per pair and layer;
    # each cached latent is decompressed to 2·128 heads of 128: 2·512·256·128 FLOPs per layer.
    assert tr.prefill_pair_coefficient(DSV3) == 2 * 320 * 128
    assert tr.decompression_flops_per_token(DSV3) == 2 * 512 * 256 * 128
    lay = sr.Layout(8, 1, 8, 1)
    w = prefill(DSV3, 512, 1000)
    expected = 61 * (2 * 320 * 128 * (512 * 1000 + 512 * 511 / 2) + 2 * 512 * 256 * 128 * 1000)
    got = rust_step(DSV3, isw.gpu("B200"), 8, lay, w, isw.Runtime.ideal(), isw.Precision())
    assert got["attention_flops"] == pytest.approx(expected, rel=1e-12)


def test_chunk_writes_its_kv_and_needs_room_for_it() -> None:
    # FP8 KV at TP8: one KV head × (K, V) × 128 × 80 layers × 1 B = 20,480 B per token per GPU.
    rt = isw.Runtime.ideal()
    st_ = tr.mixed_step(LLAMA, H200, 8, TP8, prefill(LLAMA, 2048, 0), rt, FP8)
    assert st_.kv_write_s == pytest.approx(2048 * 20_480 / H200.hbm_bandwidth, rel=1e-12)
    # No cache to read: the KV traffic is the write alone.
    assert st_.kv_memory_s == pytest.approx(st_.kv_write_s, rel=1e-12)
    # Capacity is checked at ℓ + C: the cache of the chunk's sequences after it.
    assert st_.memory.kv == pytest.approx(2048 * 20_480, rel=1e-12)


def test_ttft_of_a_chunked_prompt() -> None:
    # 5,000 tokens in chunks of 2,048: (2048 on 0) + (2048 on 2048) + (904 on 4096), one step each.
    rt = isw.Runtime.default()
    parts = [tr.prefill_chunk(LLAMA, H200, 8, TP8, 1, c, ell, rt, FP8).latency_s
             for c, ell in ((2048, 0), (2048, 2048), (904, 4096))]
    assert tr.ttft_idle(LLAMA, H200, 8, TP8, 5000, 2048, rt, FP8) == pytest.approx(sum(parts), rel=1e-12)
    row = isw.serve(LLAMA, H200, 8, isl=5000, osl=100, request_rate=0.01, chunk_size=2048, precision=FP8,
                    tp=8, pp=1).row(0, named=True)
    assert row["ttft_idle_s"] == pytest.approx(sum(parts), rel=1e-9)
    # A prefill step is eager (no CUDA graph): its kernels cost launch_kernel_s each.
    one = tr.prefill_chunk(LLAMA, H200, 8, TP8, 1, 2048, 0, rt, FP8)
    assert one.kernel_s == pytest.approx(80 * (6 + 3) * 9e-6, rel=1e-12)


# ------------------------------------------------------------------ §T.1 the mixed step by hand


def test_mixed_step_compute_by_hand() -> None:
    # Ideal runtime, no tiles: 32 decode tokens (context 0) + a 2,048-token chunk on nothing:
    # GEMMs over 2,080 tokens (2·P_active each) and 2048·2047/2 causal pairs, over 8 GPUs at the
    # 8-bit peak.
    rt = isw.Runtime.ideal()
    w = tr.Work(32, 0, 2048, 2048, 0, 33, 2048)
    st_ = tr.mixed_step(LLAMA, H200, 8, TP8, w, rt, FP8)
    # Serving counts 2·P_emb per token (input embedding included, §S), whatever lookup_embedding says.
    params = LLAMA.n_layers * LLAMA.attention_params_per_layer + LLAMA.ffn_params + LLAMA.embedding_params
    flops = 2 * params * 2080 + 32_768 * 80 * 2048 * 2047 / 2
    assert st_.compute_s == pytest.approx(flops / 8 / H200.flops_by_bits[8], rel=1e-12)


def test_decode_only_mixed_step_is_the_decode_step_plus_its_kv_write() -> None:
    rt = isw.Runtime.default()
    for b, ctx in ((1, 100), (64, 4000)):
        dec = sr.decode_step(LLAMA, H200, 8, b, ctx, TP8, rt, FP8)
        mix = tr.mixed_step(LLAMA, H200, 8, TP8, tr.Work(b, ctx, 0, 1, 0, b, ctx), rt, FP8)
        assert mix.weight_memory_s == pytest.approx(dec.weight_memory_s, rel=1e-12)
        assert mix.compute_s == pytest.approx(dec.compute_s, rel=1e-12)
        assert mix.network_s == pytest.approx(dec.network_latency_s + dec.network_bandwidth_s, rel=1e-12)
        assert mix.kv_memory_s == pytest.approx(dec.kv_memory_s + b * 20_480 / (H200.hbm_bandwidth * 0.6),
                                                rel=1e-12)
        assert mix.latency_s == pytest.approx(dec.latency_s + mix.kv_write_s, rel=1e-12)


# ------------------------------------------------------------------ §T.3 the steady state


def test_littles_law_holds_in_the_closed_loop() -> None:
    df = isw.serve(LLAMA, H200, 8, isl=4000, osl=500, concurrency=[4, 32, 128], precision=FP8, tp=8, pp=1)
    for r in df.iter_rows(named=True):
        assert not r["saturated"]
        e2e = r["ttft_s"] + r["osl"] * r["tpot_s"]
        # Step times jump at integer batches and GEMM tiles, so the in-flight count lands at most
        # one jump under the concurrency (docs/serving.md §T.3): here within 0.5%.
        in_flight = r["requests_per_s"] * e2e
        assert in_flight <= r["concurrency"] * (1 + 1e-12)
        assert in_flight == pytest.approx(r["concurrency"], rel=5e-3)
        out = r["concurrency"] / e2e * r["osl"]
        assert r["output_tokens_per_s_per_gpu"] * 8 == pytest.approx(out, rel=5e-3)
        # B = X·OSL·TPOT decode while the rest wait for or are in prefill.
        assert r["decode_seqs"] == pytest.approx(r["requests_per_s"] * 500 * r["tpot_s"], rel=1e-9)
        assert r["decode_seqs"] < r["concurrency"]


def test_cost_split_adds_up_to_the_step() -> None:
    df = isw.serve(LLAMA, H200, 8, isl=4000, osl=500, concurrency=64, precision=FP8, tp=8, pp=1)
    r = df.row(0, named=True)
    usd_s = 8 * H200.usd_per_hour / 3600
    spent = (r["usd_per_million_output_tokens"] * r["requests_per_s"] * 500
             + r["usd_per_million_input_tokens"] * r["requests_per_s"] * 4000) / 1e6
    assert spent == pytest.approx(usd_s, rel=1e-9)
    assert r["tpot_s"] == pytest.approx((1 - r["prefill_share"]) * r["decode_step_s"]
                                        + r["prefill_share"] * r["mixed_step_s"], rel=1e-9)


def pinned(**kw: object) -> list[dict]:
    kw.setdefault("precision", FP8)
    return list(isw.serve(LLAMA, H200, 8, tp=8, pp=1, **kw).iter_rows(named=True))  # type: ignore[arg-type]


def pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    return list(itertools.pairwise(rows))


def test_monotone_in_isl_load_and_concurrency() -> None:
    by_isl = pinned(isl=[500, 2000, 8000, 16000], osl=300, request_rate=2.0)
    assert all(a["ttft_s"] < b["ttft_s"] for a, b in pairs(by_isl))
    by_rate = pinned(isl=4000, osl=300, request_rate=[0.5, 2, 5, 8])
    assert all(a["ttft_s"] < b["ttft_s"] for a, b in pairs(by_rate))
    assert all(a["tpot_s"] < b["tpot_s"] for a, b in pairs(by_rate))
    by_conc = pinned(isl=4000, osl=300, concurrency=[1, 8, 32, 128])
    assert all(a["tpot_s"] < b["tpot_s"] for a, b in pairs(by_conc))


def test_tiny_load_tpot_is_the_pure_decode_step() -> None:
    (r,) = pinned(isl=4000, osl=500, request_rate=1e-4)
    alone = tr.mixed_step(LLAMA, H200, 8, TP8, tr.Work(1, 4000 + 499 / 2, 0, 2048, 0, 2, 4500),
                          isw.Runtime.default(), FP8)
    assert r["tpot_s"] == pytest.approx(alone.latency_s, rel=1e-3)
    assert r["ttft_s"] == pytest.approx(r["ttft_idle_s"], rel=2e-2)


def test_saturation_is_data() -> None:
    rows = pinned(isl=4000, osl=500, request_rate=[5.0, 1e4])
    assert not rows[0]["saturated"] and math.isfinite(rows[0]["ttft_s"])
    assert rows[1]["saturated"] and math.isinf(rows[1]["ttft_s"])
    assert rows[1]["output_tokens_per_s_per_gpu"] == 0.0


def test_errors_name_the_field() -> None:
    with pytest.raises(isw.GridError, match="concurrency"):
        isw.serve(LLAMA, H200, 8, isl=100, osl=10, concurrency=1, request_rate=1)
    with pytest.raises(isw.GridError, match="'isl'"):
        isw.serve(LLAMA, H200, 8, isl=0, osl=10, concurrency=1)
    with pytest.raises(isw.GridError, match="tp=3"):
        isw.serve(LLAMA, H200, 8, isl=100, osl=10, concurrency=1, tp=3)


# ------------------------------------------------------------------ Rust == oracle


MODELS = [LLAMA, DSV3, isw.model("gpt-oss-120b"), isw.model("Llama-3-8B")]
GPUS = [H200, isw.gpu("B200")]


@settings(max_examples=60, deadline=None)
@given(mi=st.integers(0, len(MODELS) - 1), gi=st.integers(0, 1), n=st.sampled_from([1, 2, 4, 8, 16]),
       li=st.integers(0, 100), dec=st.integers(0, 300), dctx=st.floats(0, 20_000),
       ptok=st.sampled_from([0, 1, 100, 2048, 8192]), chunk=st.sampled_from([1, 64, 512, 2048]),
       prefix=st.floats(0, 20_000), overlap=st.floats(0, 1), graphs=st.booleans(),
       tile=st.sampled_from([0, 8, 64]), per_seq=st.sampled_from([0.0, 3e-5]))
def test_rust_mixed_step_equals_oracle(mi: int, gi: int, n: int, li: int, dec: int, dctx: float,
                                       ptok: int, chunk: int, prefix: float, overlap: float,
                                       graphs: bool, tile: int, per_seq: float) -> None:
    m, g = MODELS[mi], GPUS[gi]
    lays = sr.layouts(m, n)
    lay = lays[li % len(lays)]
    rt = isw.Runtime(overlap=overlap, cuda_graphs=graphs, gemm_tile_tokens=tile, sequence_overhead_s=per_seq)
    prec = isw.Precision() if m.is_mla or m.name.startswith("gpt") else FP8
    w = tr.Work(dec, dctx, ptok, chunk, prefix, dec + ptok / chunk, dctx + chunk)
    py = tr.mixed_step(m, g, n, lay, w, rt, prec)
    rs = rust_step(m, g, n, lay, w, rt, prec)
    assert rs["feasible"] == py.feasible
    for k in ("overhead_s", "kernel_s", "network_s", "weight_memory_s", "kv_memory_s", "kv_write_s",
              "compute_s", "overlap_s", "attention_flops"):
        assert rs[k] == pytest.approx(getattr(py, k), rel=1e-9, abs=1e-300), k
    if py.feasible:
        assert rs["latency_s"] == pytest.approx(py.latency_s, rel=1e-9)


@pytest.mark.parametrize(("m", "lay", "n", "load", "closed"), [
    (LLAMA, TP8, 8, 3.0, False),
    (LLAMA, sr.Layout(2, 2, 1, 2), 8, 9.0, False),
    (DSV3, sr.Layout(1, 1, 8, 8), 8, 2.0, False),
    (LLAMA, TP8, 8, 24.0, True),
])
def test_rust_steady_state_equals_oracle(m: isw.Model, lay: sr.Layout, n: int, load: float,
                                         closed: bool) -> None:
    g = H200 if m is LLAMA else isw.gpu("B200")
    prec = FP8 if m is LLAMA else isw.Precision()
    rt = isw.Runtime.default()
    fn = tr.steady_at_concurrency if closed else tr.steady_at_rate
    py = fn(m, g, n, lay, load, 3000, 400, 2048, rt, prec)
    kw = {"concurrency": load} if closed else {"request_rate": load}
    df = isw.serve(m, g, n, isl=3000, osl=400, chunk_size=2048, precision=prec, tp=lay.tp, pp=lay.pp,
                   ep=lay.ep, attention_dp=lay.attention_dp, **kw)  # type: ignore[arg-type]
    rs = df.row(0, named=True)
    assert rs["saturated"] == py.saturated
    for k in ("tpot_s", "ttft_s", "requests_per_s", "decode_seqs", "prefill_share", "decode_step_s",
              "mixed_step_s"):
        assert rs[k] == pytest.approx(getattr(py, k), rel=1e-9), k


# ------------------------------------------------------------------ §T.7 disaggregated serving


def test_disaggregated_pools_balance_by_hand() -> None:
    from infersweep.disaggregated import disaggregate, kv_transfer

    rt = isw.Runtime.default()
    df = disaggregate(LLAMA, H200, isl=4000, osl=500, prefill_gpus=8, decode_gpus=8, decode_batch=64,
                      prefill_chunk=8192, prefill_utilization=0.5, precision=FP8,
                      prefill_pins={"tp": 8, "pp": 1}, decode_pins={"tp": 8, "pp": 1})
    (r,) = df.iter_rows(named=True)
    # Prefill instance: one 8192-token budget step (2.048 prompts of 4000 on a mean prefix of 0).
    step = tr.mixed_step
    t_p = step(LLAMA, H200, 8, TP8, tr.Work(0, 0, 8192, 4000, 0, 8192 / 4000, 4000), rt, FP8).latency_s
    mu_p = 8192 / (4000 * t_p)
    # Decode instance: 64 sequences at the mean context 4000 + 499/2.
    t_d = step(LLAMA, H200, 8, TP8, tr.Work(64, 4000 + 499 / 2, 0, 1, 0, 64, 4500), rt, FP8).latency_s
    mu_d = 64 / (500 * t_d)
    assert r["tpot_s"] == pytest.approx(t_d, rel=1e-9)
    # Balance: x·0.5·μ_p = y·μ_d.
    ratio = mu_d / (0.5 * mu_p)
    assert r["prefill_instances_per_decode_instance"] == pytest.approx(ratio, rel=1e-9)
    assert r["output_tokens_per_s_per_gpu"] == pytest.approx(mu_d * 500 / (8 * ratio + 8), rel=1e-9)
    # TTFT = M/D/1 wait + (half alone, half in full steps) + the KV transfer.
    own = step(LLAMA, H200, 8, TP8, tr.Work(0, 0, 4000, 4000, 0, 8192 / 4000, 4000), rt, FP8).latency_s
    s = 4000 / 8192 * t_p
    transfer, nbytes = kv_transfer(LLAMA, H200, FP8.resolve(LLAMA), 4000, 8, 8)
    assert nbytes == 4000 * 163_840      # FP8: 8 KV heads × 2 × 128 × 80 layers × 1 B per token
    assert r["ttft_s"] == pytest.approx(0.5 * s / (2 * 0.5) + 0.5 * own + 0.5 * t_p + transfer, rel=1e-9)
    # Prefill GPUs are charged to input tokens, decode GPUs to output tokens.
    usd = H200.usd_per_hour / 3600
    assert r["usd_per_million_output_tokens"] == pytest.approx(1e6 * usd * 8 / (mu_d * 500), rel=1e-9)


def test_kv_transfer_uses_nvlink_inside_one_domain() -> None:
    from infersweep.disaggregated import kv_transfer

    p = FP8.resolve(LLAMA)
    inside, _ = kv_transfer(LLAMA, H200, p, 4000, 4, 4)      # 4 + 4 GPUs: one 8-GPU node
    across, _ = kv_transfer(LLAMA, H200, p, 4000, 8, 8)      # 16 GPUs: two nodes
    nbytes = 4000 * 163_840
    assert inside == pytest.approx(sum(ref.collective(H200, 2, 1, nbytes / 4, ref.P2P)), rel=1e-12)
    assert across == pytest.approx(sum(ref.collective(H200, 2, 2, nbytes / 8, ref.P2P)), rel=1e-12)
    assert inside != across


# ------------------------------------------------------------------ §T.8 the planner


SMALL = {"isl": 1000, "osl": 200, "max_gpus": 4}
SMALL_MODEL, SMALL_GPU = isw.model("Llama-3.1-8B"), isw.gpu("H100")


def test_plan_equals_brute_force_on_a_small_case() -> None:
    from infersweep import planner
    from infersweep.disaggregated import decode_pool, kv_transfer, prefill_pool, ttft

    ttft_max, tpot_max = 0.3, 0.02
    df = isw.plan(SMALL_MODEL, SMALL_GPU, ttft_max=ttft_max, tpot_max=tpot_max,
                  **SMALL)  # type: ignore[arg-type]
    best = {r["kind"]: r for r in df.filter(pl.col("best")).iter_rows(named=True)}

    # Aggregated: every instance size, layout and rate, one pinned serve call each.
    agg = 0.0
    for n in (1, 2, 4):
        for lay in sr.layouts(SMALL_MODEL, n):
            rows = isw.serve(SMALL_MODEL, SMALL_GPU, n, isl=1000, osl=200, request_rate=planner.RATES,
                             tp=lay.tp, pp=lay.pp, ep=lay.ep, attention_dp=lay.attention_dp)
            for r in rows.iter_rows(named=True):
                if not r["saturated"] and r["ttft_s"] <= ttft_max and r["tpot_s"] <= tpot_max:
                    agg = max(agg, r["output_tokens_per_s_per_gpu"])
    assert best["aggregated"]["output_tokens_per_s_per_gpu"] == pytest.approx(agg, rel=1e-12)

    # Disaggregated: every pool pair, decode batch and integer instance counts.
    rt, prec = isw.Runtime.default(), isw.Precision()
    pre = prefill_pool(SMALL_MODEL, SMALL_GPU, [1, 2], 1000, 8192, rt, prec)
    pre = pre.filter(pl.col("prefill_feasible"))
    dec = decode_pool(SMALL_MODEL, SMALL_GPU, [1, 2], 1000, 200, planner.BATCHES, rt, prec)
    dis = 0.0
    for p in pre.iter_rows(named=True):
        for d in dec.iter_rows(named=True):
            if not d["decode_feasible"] or d["tpot_s"] > tpot_max:
                continue
            tr_s, _ = kv_transfer(SMALL_MODEL, SMALL_GPU, prec.resolve(SMALL_MODEL), 1000,
                                  p["prefill_gpus"], d["decode_gpus"])
            for x in range(1, 5):
                for y in range(1, 5):
                    gpus = x * p["prefill_gpus"] + y * d["decode_gpus"]
                    rho = y * d["decode_requests_per_s"] / (x * p["prefill_requests_per_s"])
                    if gpus > 4 or rho >= 1:
                        continue
                    t = float(ttft(rho, p["prefill_step_s"], p["prefill_own_s"], 1000, 8192, tr_s))
                    if t <= ttft_max:
                        dis = max(dis, y * d["decode_requests_per_s"] * 200 / gpus)
    assert dis > 0
    assert best["disaggregated"]["output_tokens_per_s_per_gpu"] == pytest.approx(dis, rel=1e-12)

    # The front: no row beats another on both axes; every best row meets the limits.
    front = df.filter(pl.col("on_front")).sort("tokens_per_s_per_user")
    tput = front["output_tokens_per_s_per_gpu"].to_list()
    assert all(a >= b for a, b in itertools.pairwise(tput))
    assert all(r["ttft_s"] <= ttft_max and r["tpot_s"] <= tpot_max for r in df.iter_rows(named=True))
    assert all(math.isfinite(r["usd_per_million_tokens"]) for r in df.iter_rows(named=True))


def test_tighter_limits_never_give_more_throughput() -> None:
    def best(ttft_max: float, tpot_max: float) -> float:
        df = isw.plan(SMALL_MODEL, SMALL_GPU, ttft_max=ttft_max, tpot_max=tpot_max,
                      **SMALL)  # type: ignore[arg-type]
        return float(df["output_tokens_per_s_per_gpu"].max() or 0.0)

    loose, tight_tpot, tight_ttft = best(1.0, 0.05), best(1.0, 0.01), best(0.1, 0.05)
    assert loose >= tight_tpot and loose >= tight_ttft
    assert loose > tight_tpot


def test_plan_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from infersweep.cli import main

    rc = main(["plan", "--model", "Llama-3.1-8B", "--gpu", "H100", "--isl", "1000", "--osl", "200",
               "--ttft", "300ms", "--tpot", "20ms", "--max-gpus", "4"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "best   aggregated" in out and "best   disaggregated" in out
    rc = main(["plan", "--model", "Llama-3.1-8B", "--gpu", "H100", "--isl", "1000", "--osl", "200",
               "--ttft", "soon", "--tpot", "20ms"])
    assert rc == 2
    assert "--ttft: expected a positive duration" in capsys.readouterr().err


# ------------------------------------------------------------------ §T.3 the solver, by hand


def test_tpot_is_the_exact_root_in_its_piece() -> None:
    # At x = 3 requests/s the decode batch per stage is k = ceil(B/pp); in that piece the steps are
    # constant, so T = t_d/(1 − (x·ISL/K)·(t_m − t_d)) exactly, and the piece before ends above T.
    rt, x, isl, osl, k_budget = isw.Runtime.default(), 3.0, 3000, 400, 2048
    (r,) = pinned(isl=isl, osl=osl, request_rate=x, chunk_size=k_budget)
    k = math.ceil(r["decode_seqs"])
    c = min(k_budget, isl)

    ctx = isl + (osl - 1) / 2

    def steps(k: int) -> tuple[float, float]:
        d = tr.mixed_step(LLAMA, H200, 8, TP8, tr.Work(k, ctx, 0, c, 0, 0, 0), rt, FP8).step_s
        mixed = tr.Work(k, ctx, k_budget, c, (isl - c) / 2, 0, 0)
        m = tr.mixed_step(LLAMA, H200, 8, TP8, mixed, rt, FP8).step_s
        return d, m

    td, tm = steps(k)
    t = td / (1 - x * isl / k_budget * (tm - td))
    assert r["tpot_s"] == pytest.approx(t, rel=1e-12)
    assert (r["decode_step_s"], r["mixed_step_s"]) == pytest.approx((td, tm), rel=1e-12)
    # The least crossing: at the end of piece k − 1 (B = k − 1) the step is still slower than T.
    t_end = (k - 1) / (x * osl)
    d1, m1 = steps(k - 1)
    rho = x * isl * t_end / k_budget
    assert (1 - rho) * d1 + rho * m1 > t_end


#: A deployment whose step times jump at GEMM tiles enough to give several crossings per rate:
#: Llama-3.1-70B in FP8 on one H200 with decode GEMMs at 45% of peak (an SGLang-like profile),
#: 205/300-token requests (MLPerf's Llama-2-70B Server task), the default 8192-token budget.
STAIRS = {"isl": 205, "osl": 300, "chunk_size": 8192, "tp": 1,
          "precision": isw.Precision(attention="fp8", dense_ffn="fp8"),
          "runtime": isw.Runtime.default().with_(gemm_efficiency=0.45, weight_bandwidth_efficiency=0.77)}


def stairs_solver() -> tr._Solver:
    return tr._Solver(LLAMA, H200, 1, sr.Layout(1, 1, 1, 1), 205.0, 300.0, 8192.0, STAIRS["runtime"],
                      STAIRS["precision"])


def test_rate_solve_is_the_least_crossing_where_tiles_give_several() -> None:
    # The least T with (1 − ρ)·t_d + ρ·t_m ≤ T is in the first piece whose end has excess ≤ 0,
    # found here by scanning every piece. Until 2026-12 the solver searched k by regula falsi
    # after four fixed-point jumps, and called a rate saturated when the bracket's end had excess
    # > 0: here it gave B = 153 at 9.5 requests/s where the least crossing is 104, and reported
    # saturation from 10.0 to 10.8 where a crossing exists inside memory.
    s = stairs_solver()
    rates = [5.0 + 0.1 * i for i in range(61)]
    df = isw.serve(LLAMA, H200, 1, request_rate=rates, **STAIRS)  # type: ignore[arg-type]
    crossings = 0
    for x, r in zip(rates, df.iter_rows(named=True), strict=True):
        first = next((k for k in range(1, 4000) if s.excess(x, k, k / (x * s.osl)) <= 0), math.inf)
        several = first < s.max_batch and any(s.excess(x, k, k / (x * s.osl)) > 0
                                              for k in range(first + 1, int(s.max_batch)))
        crossings += several
        if first > s.max_batch:
            assert r["saturated"]
            continue
        assert not r["saturated"], x
        assert math.ceil(r["decode_seqs"]) == first, x
    assert crossings > 20          # the case is the one it is meant to be
    tpot = df.filter(~pl.col("saturated"))["tpot_s"]
    assert tpot.is_sorted() and df["saturated"].sum() < 10


def test_closed_loop_holds_its_requests_across_a_jump_of_the_least_crossing() -> None:
    # At one rate the least crossing can jump from B ≈ 127 to 190 and 256 (previous test), so no
    # rate's least crossing holds 150–250 requests in flight. The closed loop is solved over the
    # decode batch instead: each N holds N in flight to 1e-9 up to memory (or a few hundredths
    # under it where N falls in the small drop at a piece's start) (b bounded by
    # max_batch_size less the prefilling prompts), and the batch grows with N. Until 2026-12 it
    # returned the rate below the jump: B = 112 for both N = 200 and N = 400 (MLPerf-like rows
    # predicted 2–3× too fast).
    s = stairs_solver()
    ns = [float(n) for n in range(20, 420, 20)]
    df = isw.serve(LLAMA, H200, 1, concurrency=ns, **STAIRS)  # type: ignore[arg-type]
    a = 205 / (300 * 8192)
    b_cap = s.max_batch / (1 + a * s.prefill_seqs) * tr.SATURATION
    jumps = 0
    for n, r in zip(ns, df.iter_rows(named=True), strict=True):
        assert not r["saturated"]
        in_flight = r["requests_per_s"] * (r["ttft_s"] + 300 * r["tpot_s"])
        if r["decode_seqs"] >= b_cap * (1 - 1e-12):      # memory-bound: the rest wait
            assert in_flight < n and n > 300
        elif r["decode_seqs"] == round(r["decode_seqs"]):  # N falls where a piece starts slower
            assert n - 0.1 < in_flight < n
            jumps += 1
        else:
            assert in_flight == pytest.approx(n, rel=1e-9), n
        assert r["decode_seqs"] == pytest.approx(r["requests_per_s"] * 300 * r["tpot_s"], rel=1e-12)
    assert df["decode_seqs"].is_sorted() and jumps < 5
    assert df.filter(pl.col("concurrency") == 200)["decode_seqs"][0] > 190


def test_ttft_with_a_wait_by_hand() -> None:
    # TTFT = ρ·s/(2(1 − ρ)) + (1 − ρ)·own + ρ·ceil(ISL/K)·t_m, s = (ISL/K)·TPOT, own = the prompt's
    # two chunks (2048 on 0, 952 on 2048) each in a step with the B decoding sequences.
    rt, isl, osl, kb = isw.Runtime.default(), 3000, 400, 2048
    (r,) = pinned(isl=isl, osl=osl, request_rate=4.0, chunk_size=kb)
    k, rho, t = math.ceil(r["decode_seqs"]), r["prefill_share"], r["tpot_s"]
    ctx = isl + (osl - 1) / 2
    own = sum(tr.mixed_step(LLAMA, H200, 8, TP8, tr.Work(k, ctx, cj, cj, ell, 0, 0), rt, FP8).step_s
              for cj, ell in ((2048, 0), (952, 2048)))
    s = isl / kb * t
    expected = rho * s / (2 * (1 - rho)) + (1 - rho) * own + rho * 2 * r["mixed_step_s"]
    assert r["ttft_s"] == pytest.approx(expected, rel=1e-12)
    assert rho == pytest.approx(4.0 * isl * t / kb, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(mi=st.integers(0, len(MODELS) - 1), n=st.sampled_from([1, 4, 8]), li=st.integers(0, 50),
       isl=st.integers(1, 20_000), osl=st.integers(1, 3000), chunk=st.sampled_from([512, 2048, 8192]),
       closed=st.booleans(), load=st.floats(0.01, 1.0))
def test_rust_steady_state_equals_oracle_everywhere(mi: int, n: int, li: int, isl: int, osl: int, chunk: int,
                                                   closed: bool, load: float) -> None:
    m = MODELS[mi]
    g = H200 if m is not DSV3 else isw.gpu("B200")
    if m is DSV3 and n < 8:
        n = 8
    lays = sr.layouts(m, n)
    lay = lays[li % len(lays)]
    prec = isw.Precision() if m.is_mla or m.name.startswith("gpt") else FP8
    rt = isw.Runtime.default()
    # A load that spans idle to saturated: concurrency 1..1000, or up to ~30 requests/s.
    value = 1 + 999 * load if closed else 30 * load
    fn = tr.steady_at_concurrency if closed else tr.steady_at_rate
    py = fn(m, g, n, lay, value, isl, osl, chunk, rt, prec)
    kw = {"concurrency": value} if closed else {"request_rate": value}
    rs = isw.serve(m, g, n, isl=isl, osl=osl, chunk_size=chunk, precision=prec, tp=lay.tp, pp=lay.pp,
                   ep=lay.ep, attention_dp=lay.attention_dp, **kw).row(0, named=True)  # type: ignore[arg-type]
    assert rs["saturated"] == py.saturated
    for k in ("tpot_s", "ttft_s", "requests_per_s", "decode_seqs", "prefill_share", "decode_step_s",
              "mixed_step_s", "kv_gb_per_gpu"):
        want = getattr(py, k) if k != "kv_gb_per_gpu" else py.memory.kv / 1e9
        if math.isinf(want):
            assert math.isinf(rs[k]), k
        else:
            assert rs[k] == pytest.approx(want, rel=1e-9, abs=1e-300), k


def test_serve_keeps_the_fastest_unsaturated_layout() -> None:
    kw = {"isl": [1000, 4000], "osl": 300, "request_rate": [0.5, 4.0, 400.0], "precision": FP8}
    every = isw.serve(LLAMA, H200, 8, all_layouts=True, **kw)  # type: ignore[arg-type]
    best = isw.serve(LLAMA, H200, 8, **kw)  # type: ignore[arg-type]
    # Rows of one combination are consecutive, its layouts in canonical order.
    assert every.height == 2 * 3 * len(sr.layouts(LLAMA, 8))
    assert every["tp"][:len(sr.layouts(LLAMA, 8))].to_list() == [lay.tp for lay in sr.layouts(LLAMA, 8)]
    assert best.height == 6
    for r, (_, grp) in zip(best.iter_rows(named=True),
                           every.group_by(["isl", "request_rate"], maintain_order=True), strict=True):
        rows = grp.to_dicts()
        ok = [x for x in rows if not x["saturated"]]
        want = min(ok, key=lambda x: x["ttft_s"] + x["osl"] * x["tpot_s"]) if ok else rows[0]
        assert (r["tp"], r["pp"], r["ep"], r["attention_dp"]) == (want["tp"], want["pp"], want["ep"],
                                                                  want["attention_dp"])
        assert r["ttft_s"] == want["ttft_s"]
    # 400 requests/s saturates every layout: the first layout, saturated.
    assert best.filter(pl.col("request_rate") == 400.0)["saturated"].all()
    assert best["model"].dtype == pl.Categorical


def test_axes_accept_arrays_and_name_bad_values() -> None:
    import numpy as np

    a = isw.serve(LLAMA, H200, 8, isl=np.array([1000, 2000]), osl=100, request_rate=np.linspace(1, 2, 3),
                  precision=FP8, tp=8, pp=1)
    assert a.height == 6 and a["isl"].to_list() == [1000.0] * 3 + [2000.0] * 3
    for bad in ([1, True], ["2"], [1.0, math.nan]):
        with pytest.raises(isw.GridError, match="'request_rate' must be positive finite numbers"):
            isw.serve(LLAMA, H200, 8, isl=100, osl=10, request_rate=bad)
    with pytest.raises(isw.GridError, match="'chunk_size' must be positive integers"):
        isw.serve(LLAMA, H200, 8, isl=100, osl=10, request_rate=1, chunk_size=np.array([2048.5]))


# ------------------------------------------------------------------ the sweep's traffic axes


def test_sweep_traffic_axes_are_serve() -> None:
    kw = {"isl": [1000, 4000], "osl": 300, "concurrency": [4, 64], "tp": 8, "pp": 1, "precision": FP8}
    df = isw.sweep(LLAMA, H200, 8, semantics="serving", **kw)  # type: ignore[arg-type]
    ref_ = isw.serve(LLAMA, H200, 8, **kw)  # type: ignore[arg-type]
    assert df.equals(ref_)
    cols = isw.sweep(LLAMA, H200, 8, semantics="serving", columns=["ttft_s", "tpot_s"], **kw)  # type: ignore[arg-type]
    assert cols.columns == ["ttft_s", "tpot_s"] and cols["ttft_s"].to_list() == ref_["ttft_s"].to_list()


@pytest.mark.parametrize(("kw", "match"), [
    ({"batch_size": 8}, "field 'batch_size' does not combine with 'isl'"),
    ({"context_len": [0, 100]}, "field 'context_len' does not combine"),
    ({"semantics": "epoch"}, "field 'isl' needs semantics='serving'"),
    ({"osl": None}, "field 'osl' is required"),
    ({"request_rate": 1.0}, "exactly one of fields 'concurrency' and 'request_rate'"),
    ({"tp": [4, 8]}, "field 'tp' must be one integer"),
    ({"grid": "zip"}, "field 'grid' must be 'product'"),
    ({"columns": ["token_latency_s"]}, "unknown columns"),
])
def test_sweep_traffic_axes_errors_name_the_field(kw: dict, match: str) -> None:
    args: dict = {"semantics": "serving", "isl": 1000, "osl": 100, "concurrency": 8}
    args.update(kw)
    with pytest.raises(isw.GridError, match=match):
        isw.sweep(LLAMA, H200, 8, **args)


# ------------------------------------------------------------------ the plan's progress bar


def test_plan_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    from infersweep.planner import plan_size

    isw.plan(SMALL_MODEL, SMALL_GPU, ttft_max=0.3, tpot_max=0.02, progress=True, **SMALL)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    total = sum(plan_size(SMALL_MODEL, 4))
    assert f"{total:,}/{total:,} rows" in err and err.endswith("\n")
    # Auto (None): only on a terminal and for a long plan; pytest's stderr is not a terminal.
    isw.plan(SMALL_MODEL, SMALL_GPU, ttft_max=0.3, tpot_max=0.02, **SMALL)  # type: ignore[arg-type]
    isw.plan(SMALL_MODEL, SMALL_GPU, ttft_max=0.3, tpot_max=0.02, progress=False, **SMALL)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""
    # Every layout of 1, 2 and 4 GPUs at the 34 rates; 4 prefill and 4 × 11 decode candidates.
    assert plan_size(SMALL_MODEL, 4) == (len(sr.layouts(SMALL_MODEL, 1) + sr.layouts(SMALL_MODEL, 2)
                                             + sr.layouts(SMALL_MODEL, 4)) * 34, 4 + 44, 4 * 44)


# ------------------------------------------------------------------ §T.10 length distributions


def test_length_moments_by_hand() -> None:
    isl = isw.Lengths([1000, 4000], [3, 1])             # p = 0.75, 0.25
    osl = isw.Lengths.of([(100, 1), (500, 1)])
    mo = tr.lengths_moments(isl, osl)
    assert mo.isl == pytest.approx(1750, rel=1e-15) and mo.osl == pytest.approx(300, rel=1e-15)
    # E[I²]/E[I] = (0.75·1000² + 0.25·4000²)/1750; E[O²]/E[O] = (100² + 500²)/2/300 = 433.3…
    assert mo.token_isl == pytest.approx(4_750_000 / 1750, rel=1e-15)
    assert mo.decode_ctx == pytest.approx(1750 + (130_000 / 300 - 1) / 2, rel=1e-15)
    assert mo.capacity_ctx == pytest.approx(1750 + 130_000 / 300, rel=1e-15)
    assert mo.prompts == ((1000.0, 0.75), (4000.0, 0.25))
    for bad, field in ((([],), "values"), (([1, 2], [1]), "weights"), (([1, -2],), "values"),
                       (([1, 2], [0, 0]), "weights"), (([1, 2], [1, -1]), "weights")):
        with pytest.raises(isw.GridError, match=f"'{field}'"):
            isw.Lengths(*bad)  # type: ignore[arg-type]


def test_one_bin_histogram_is_the_uniform_row() -> None:
    uni = pinned(isl=3000, osl=400, concurrency=[8, 128])
    one = pinned(isl=isw.Lengths([3000]), osl=isw.Lengths([400], [5]), concurrency=[8, 128])
    for a, b in zip(uni, one, strict=True):
        assert a == b


def test_histogram_ttft_by_hand() -> None:
    # Prompts of 1,000 and 6,000 tokens (3 : 1), budget 2,048: the M/G/1 wait uses Ī = E[I²]/E[I];
    # each length's own chunks run in steps with the B decoding sequences; ρ of the prompts' budget
    # steps, ceil(I/K) = 1 and 3 of them, at t_m.
    rt, kb, x = isw.Runtime.default(), 2048, 3.0
    isl, osl = isw.Lengths([1000, 6000], [3, 1]), isw.Lengths([200, 600], [1, 1])
    (r,) = pinned(isl=isl, osl=osl, request_rate=x, chunk_size=kb)
    mo = tr.lengths_moments(isl, osl)
    assert (r["isl"], r["osl"]) == (2250.0, 400.0)
    k, rho, t = math.ceil(r["decode_seqs"]), r["prefill_share"], r["tpot_s"]
    assert r["decode_seqs"] == pytest.approx(x * 400 * t, rel=1e-12)
    assert rho == pytest.approx(x * 2250 * t / kb, rel=1e-12)

    def own(n_tokens: int) -> float:
        total, done = 0.0, 0
        while done < n_tokens:
            c = min(kb, n_tokens - done)
            w = tr.Work(k, mo.decode_ctx, c, c, done, 0, 0)
            total += tr.mixed_step(LLAMA, H200, 8, TP8, w, rt, FP8).step_s
            done += c
        return total

    wait = rho * (mo.token_isl / kb * t) / (2 * (1 - rho))
    expected = wait + (1 - rho) * (0.75 * own(1000) + 0.25 * own(6000)) \
        + rho * (0.75 * 1 + 0.25 * 3) * r["mixed_step_s"]
    assert r["ttft_s"] == pytest.approx(expected, rel=1e-12)
    idle = 0.75 * tr.ttft_idle(LLAMA, H200, 8, TP8, 1000, kb, rt, FP8) \
        + 0.25 * tr.ttft_idle(LLAMA, H200, 8, TP8, 6000, kb, rt, FP8)
    assert r["ttft_idle_s"] == pytest.approx(idle, rel=1e-12)


@pytest.mark.parametrize("closed", [False, True])
def test_rust_histogram_steady_state_equals_oracle(closed: bool) -> None:
    rt = isw.Runtime.default()
    isl, osl = isw.Lengths([500, 3000, 9000], [2, 5, 1]), isw.Lengths([50, 300, 1200], [1, 2, 1])
    load = 48.0 if closed else 4.0
    fn = tr.steady_at_concurrency if closed else tr.steady_at_rate
    py = fn(LLAMA, H200, 8, TP8, load, isl, osl, 4096, rt, FP8)
    kw = {"concurrency": load} if closed else {"request_rate": load}
    (rs,) = pinned(isl=isl, osl=osl, chunk_size=4096, **kw)
    assert not py.saturated and rs["saturated"] == py.saturated
    for k in ("tpot_s", "ttft_s", "requests_per_s", "decode_seqs", "prefill_share", "decode_step_s",
              "mixed_step_s"):
        assert rs[k] == pytest.approx(getattr(py, k), rel=1e-9), k
    assert rs["kv_gb_per_gpu"] == pytest.approx(py.memory.kv / 1e9, rel=1e-12)


def test_memory_holds_the_mean_occupancy_not_a_full_budget_of_prompts() -> None:
    # Llama-3.1-70B FP8 (FP8 KV) on one H200, 128-token prompts, 4096 output tokens, every request
    # queued at once. Memory holds max_batch_size sequences at ISL + OSL; a budget of 8192 tokens is
    # 64 prompts of 128, carried by a fraction ρ of the steps only, so at saturation the occupancy
    # B + ρ·64 fills the memory (it used to reserve all 64 at every step: B was 14 of 78).
    p = isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8")
    row = isw.serve(LLAMA, H200, 1, isl=128, osl=4096, concurrency=1e6, tp=1, precision=p).row(0, named=True)
    assert not row["saturated"]
    occupancy = row["decode_seqs"] + row["prefill_share"] * 8192 / 128
    assert occupancy == pytest.approx(row["max_batch_size"], rel=1e-6)
    assert row["decode_seqs"] > row["max_batch_size"] - 1
    # the same from the Python reference
    ref_row = isw.serve(LLAMA, H200, 1, isl=128, osl=4096, concurrency=[40.0, 1e6], tp=1, precision=p)
    assert ref_row["decode_seqs"][0] == pytest.approx(40.0, rel=2e-3)  # below capacity: all decode
