"""validate(semantics="serving"): each measured row as the deployment it was (serving_validation.py)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

import infersweep as isw
from infersweep.serving_validation import predict_rows, row_precision, serving_point


def row(id_: str) -> dict[str, Any]:
    return isw.measurements().filter(pl.col("id") == id_).row(0, named=True)


@pytest.fixture(scope="module")
def v() -> pl.DataFrame:
    return isw.validate("serving")


def test_pinned_layout_precision_and_graphs_come_from_the_row(v: pl.DataFrame) -> None:
    r = v.filter(pl.col("id") == "MLP51-M1").row(0, named=True)   # DeepSeek-R1, DP8 attention + EP8
    assert (r["tp"], r["pp"], r["ep"], r["attention_dp"]) == (1, 1, 8, 8) and not r["layout_searched"]
    assert r["precision"] == "attn=nvfp4 ffn=nvfp4 experts=nvfp4 kv=8b act=16b"  # "fp4" is NVFP4
    b1 = v.filter(pl.col("id") == "TRT-B1-1").row(0, named=True)   # TP8, EP2: expert-TP 4
    assert (b1["tp"], b1["ep"], b1["attention_dp"]) == (8, 2, 1)
    assert b1["precision"].startswith("attn=16b ffn=nvfp4 experts=nvfp4")
    n1 = v.filter(pl.col("id") == "MLP51-N2").row(0, named=True)
    assert n1["cuda_graphs"] is False
    m = row("MLP51-M1")
    assert r["context_len"] == m["isl"] + m["osl"] / 2 and r["batch_size"] == math.ceil(m["decode_batch"])


def test_cuda_graphs_off_costs_the_eager_launches() -> None:
    r = row("MLP51-N2")
    slow = predict_rows([r], isw.Runtime.default().with_(launch_kernel_s=30e-6))[0]
    fast = predict_rows([r], isw.Runtime.default().with_(launch_kernel_s=3e-6))[0]
    assert not isinstance(slow, str) and not isinstance(fast, str)
    on = predict_rows([{**r, "cuda_graphs": True}], isw.Runtime.default().with_(launch_kernel_s=30e-6))[0]
    assert not isinstance(on, str)
    assert slow.step_s > fast.step_s and on.step_s < slow.step_s


def test_static_run_carries_its_prefill_over_the_output_steps(v: pl.DataFrame) -> None:
    r = v.filter(pl.col("id") == "TRT-P06-H3").row(0, named=True)   # 2048 in, 128 out
    decode = isw.sweep("GPT-J-6B", "H100-SXM", n_gpus=1, batch_size=r["batch_size"],
                       context_len=r["context_len"], tp=1, semantics="serving",
                       precision=row_precision(row("TRT-P06-H3")))
    prefill = isw.sweep("GPT-J-6B", "H100-SXM", n_gpus=1, batch_size=r["batch_size"] * 2048, context_len=0,
                        tp=1, semantics="serving", precision=row_precision(row("TRT-P06-H3")))
    want = decode["token_latency_s"][0] + prefill["token_latency_s"][0] / 128
    assert r["predicted_step_ms"] == pytest.approx(1e3 * want, rel=1e-12)
    assert r["prefill_ms"] == pytest.approx(1e3 * prefill["token_latency_s"][0], rel=1e-12)


def test_rows_it_cannot_express_keep_their_reason(v: pl.DataFrame) -> None:
    reasons = dict(zip(v["id"], v["reason"], strict=True))
    assert reasons["TRT-B1-2"].startswith("speculative decoding")
    assert "does not fit in memory" in reasons["MLP51-M14"]   # ≈ 1,430 sequences on one GB200
    assert v.filter(pl.col("expressible"))["predicted_step_ms"].is_finite().all()
    bad = {**row("OCI-405B-1"), "tp": 3}
    with pytest.raises(isw.validation.Unexpressible, match="tp=3"):
        serving_point(bad)
    mx = {**row("OCI-405B-1"), "weight_precision": "mxfp4"}   # MI300X has no 4-bit rate
    with pytest.raises(isw.validation.Unexpressible, match="4-bit FLOP rate"):
        serving_point(mx)


def _serve(r: dict[str, Any], **load: float) -> dict[str, Any]:
    graphs = r["cuda_graphs"]
    rt = isw.Runtime.default() if graphs is None else isw.Runtime.default().with_(cuda_graphs=graphs)
    return isw.serve(r["model_catalog"], r["gpu_catalog"], r["gpus_per_instance"], tp=r["tp"],
                     pp=r["pp"] or 1, ep=r["ep"] or 1,
                     attention_dp=r["attention_dp"] or r["gpus_per_instance"] // r["tp"],
                     isl=r["isl"], osl=r["osl"], chunk_size=8192, runtime=rt, precision=row_precision(r),
                     **load).row(0, named=True)


def test_poisson_row_at_its_request_rate_is_the_open_loop_steady_state() -> None:
    r = row("MLP51-N2")   # MLPerf Server, Llama-3.1-405B on 2 × (4 B200, TP4), CUDA graphs off
    rate = r["samples_per_s"] / r["instances"]           # 1.95 completed requests/s over 2 instances
    assert rate == pytest.approx(0.975)
    want = _serve(r, request_rate=rate)
    (p,) = predict_rows([r], open_loop="rate")
    assert not isinstance(p, str) and not want["saturated"]
    assert p.step_s == pytest.approx(want["tpot_s"], rel=1e-12)
    assert p.inputs["ttft_ms"] == pytest.approx(1e3 * want["ttft_s"], rel=1e-12)
    assert p.inputs["prefill_share"] == pytest.approx(want["prefill_share"], rel=1e-12)
    assert 0 < p.inputs["prefill_share"] < 1 and p.inputs["chunk_size"] == 8192
    # the prefill it carries makes the step slower than the pure decode step at the same batch
    assert want["tpot_s"] > want["decode_step_s"]


def test_poisson_row_by_default_holds_its_requests_in_flight() -> None:
    r = row("MLP51-N2")   # the log gives samples/s and the mean request latency
    in_flight = r["samples_per_s"] * r["mean_latency_ms"] / 1e3 / r["instances"]   # Little's law
    assert in_flight == pytest.approx(1.95 * 71.0985 / 2, rel=1e-5)
    assert serving_point(r).load == pytest.approx(in_flight, rel=1e-12) and serving_point(r).closed
    want = _serve(r, concurrency=in_flight)
    (p,) = predict_rows([r])
    assert not isinstance(p, str) and not want["saturated"]
    assert p.step_s == pytest.approx(want["tpot_s"], rel=1e-12)
    # the step it evaluates carries the measured decode batch (throughput × TPOT), within 3%
    assert p.inputs["decode_seqs"] == pytest.approx(r["decode_batch"], rel=0.03)
    # a row with no mean latency takes TTFT + OSL · TPOT
    m9 = row("MLP51-M9")
    assert m9["mean_latency_ms"] is None
    rate = m9["throughput_tok_s"] / m9["osl"]
    assert serving_point(m9).load == pytest.approx(
        rate * (m9["ttft_ms"] + m9["osl"] * m9["tpot_ms"]) / 1e3 / m9["instances"], rel=1e-12)
    with pytest.raises(isw.SpecError, match="open_loop"):
        serving_point(m9, "queue")


def test_closed_loop_row_adds_ttft_over_osl_where_the_measurement_includes_it() -> None:
    r = row("TRT-BP-3")   # trtllm-bench, concurrency 3072, per-user throughput w/ ctx (kind b)
    want = _serve(r, concurrency=3072.0)
    (p,) = predict_rows([r])
    assert not isinstance(p, str)
    assert p.step_s == pytest.approx(want["tpot_s"] + want["ttft_s"] / r["osl"], rel=1e-12)


def test_a_saturated_load_is_a_reason_not_a_number() -> None:
    # Llama-2-70B on one B200 at ten times MLPerf's 27 requests/s: not sustainable here
    r = {**row("MLP51-M4"), "throughput_tok_s": 10 * row("MLP51-M4")["throughput_tok_s"]}
    assert _serve(r, request_rate=r["throughput_tok_s"] / r["osl"] / r["instances"])["saturated"]
    (p,) = predict_rows([r], open_loop="rate")
    assert isinstance(p, str) and "saturates" in p


def test_chunk_size_is_the_framework_default() -> None:
    assert serving_point(row("MLP51-M26")).chunk_size == 2048      # vLLM on L40S (48 GB < 70 GiB)
    assert serving_point(row("MLP51-M25")).chunk_size == 8192      # vLLM on H100 (80 GB)
    assert serving_point(row("MLP51-M1")).chunk_size == 8192       # TensorRT-LLM max_num_tokens


def test_saturation_is_monotone_in_the_request_rate() -> None:
    # The steady state's bracket ends where memory binds (B + budget/chunk = max batch); evaluated
    # exactly there, rounding once made rates of 20, 40, 52 and 57 requests/s "saturated" between
    # sustainable 50, 55 and 60 on this row (Llama-3.1-8B, one H200).
    r = row("MLP51-M24")
    sat = [_serve(r, request_rate=x)["saturated"] for x in (20.0, 40.0, 50.0, 52.0, 55.0, 57.0, 60.0)]
    assert sat == [False] * 7
    assert _serve(r, request_rate=1e4)["saturated"]


def test_a_saturation_row_is_the_instances_output_rate_at_the_batch_memory_holds() -> None:
    # TRT-PO-1: Llama-3.1-8B FP8 (FP8 KV) on one H100, trtllm-bench at max load, 1000/1000:
    # 15,220 output tok/s, so an instance's time per output token is 1000 / 15220 ms (kind d)
    r = isw.measurements().filter(pl.col("id") == "TRT-PO-1").row(0, named=True)
    assert r["per_user_kind"] == "d" and r["measured_step_ms"] == pytest.approx(1000 / 15220, rel=1e-12)
    (p,) = predict_rows([r], isw.Runtime.default())
    assert not isinstance(p, str)
    direct = isw.serve("Llama-3.1-8B", "H100-SXM", 1, isl=1000, osl=1000, concurrency=1e6, tp=1,
                       precision=row_precision(r), runtime=isw.Runtime.default().with_(cuda_graphs=True))
    d = direct.row(0, named=True)
    assert p.step_s == pytest.approx(1 / d["output_tokens_per_s_per_gpu"], rel=1e-12)
    # the decode batch is the memory's: with the prompts in prefill, within two sequences of
    # max_batch_size (TPOT is solved on whole sequences per step, docs/serving.md §T.3)
    occupancy = d["decode_seqs"] + d["prefill_share"] * 8192 / 1000
    assert d["max_batch_size"] - 2 <= occupancy <= d["max_batch_size"]
    assert p.inputs["decode_seqs"] == pytest.approx(d["decode_seqs"], rel=1e-12)


def test_a_row_faster_than_light_is_set_aside_with_both_figures(v: pl.DataFrame) -> None:
    # TRT-P09-A100-12: Mixtral-8x7B "FP16" on 2 A100 at batch 32 is measured at 20.0 ms a step, prefill
    # included. The FP16 weights alone take longer to stream: at batch 32 with top-2 of 8 experts each
    # expert is missed with probability 0.75**32, so all 46.7B parameters are read every step.
    m = isw.model("Mixtral-8x7B-v0.1")
    a100 = isw.gpu("A100-SXM-80GB")
    r = row("TRT-P09-A100-12")
    assert 0.75 ** 32 < 1e-3
    weights_floor_ms = 1e3 * m.total_params * 2.0 / r["n_gpus"] / a100.hbm_bandwidth
    assert r["measured_step_ms"] < weights_floor_ms
    got = v.filter(pl.col("id") == "TRT-P09-A100-12").row(0, named=True)
    assert not got["expressible"] and "faster than the speed of light" in got["reason"]
    floor = float(got["reason"].split("as stated (")[1].split(" ms")[0])
    assert floor >= weights_floor_ms * (1 - 1e-3)
    # The same row made physical again (its time × 2) is predicted.
    (p,) = predict_rows([{**r, "measured_step_ms": 2 * r["measured_step_ms"]}])
    assert not isinstance(p, str) and p.step_s * 1e3 > floor


def test_speed_of_light_is_below_every_runtime_on_every_row() -> None:
    from infersweep.serving_validation import SPEED_OF_LIGHT, predict_steps

    rows = isw.measurements().to_dicts()
    pts = []
    for r in rows:
        try:
            pts.append(serving_point(r))
        except isw.validation.Unexpressible:
            continue
    floor = predict_steps(pts, SPEED_OF_LIGHT)
    prof = isw.shipped_profiles()["tensorrt-llm-hopper"].runtime
    for rt in (isw.Runtime.default(), prof, isw.Runtime.ideal()):
        for f, s in zip(floor, predict_steps(pts, rt), strict=True):
            if s["feasible"] and not s.get("saturated") and math.isfinite(s["step_s"]):
                assert f["step_s"] <= s["step_s"] * (1 + 1e-12)


def test_calibrate_leaves_a_row_faster_than_light_out_of_the_fit() -> None:
    m = isw.measurements().filter(pl.col("source_id") == "TRT-P09")
    cal = isw.calibrate(m, params=["gemm_efficiency"], by=["framework"], min_points=4, cross_validate=False)
    prof = cal.profiles["tensorrt-llm"]
    assert "TRT-P09-A100-12" not in prof.points and "TRT-P09-A100-11" in prof.points
    assert "faster than the speed of light" in cal.reasons["TRT-P09-A100-12"]
