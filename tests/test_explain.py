"""isw.explain: one configuration's breakdown as data, the one implementation behind `infersweep explain`."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

import infersweep as isw
from infersweep import cli
from infersweep.explain import COMPONENTS, infeasibility


def test_explain_is_the_sweep_row_with_its_breakdown() -> None:
    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64, semantics="epoch")
    row = isw.sweep("Llama-3-70B", "H100", n_gpus=8, batch_size=64, semantics="epoch").row(0, named=True)
    assert e.feasible and e.infeasible is None
    assert e.token_latency_s == row["token_latency_s"] and e.mfu == row["mfu"]
    assert e.usd_per_million_tokens == row["usd_per_million_tokens"]
    assert e.components == {c: row[c] for c in COMPONENTS}
    # MODEL.md §5's check: 80 layers x 2 all-reduces of 15.2 us, 4 x 80 kernels of 4 us
    assert e.components["kernel_s"] == pytest.approx(1280e-6, rel=1e-12)
    c = e.components
    assert e.pass_s == pytest.approx(c["kernel_s"] + c["network_latency_s"] + c["network_bandwidth_s"]
                                     + max(c["memory_s"], c["compute_s"]), rel=1e-15)
    assert e.pass_s == pytest.approx(e.token_latency_s, rel=1e-12)  # plain decoding: one pass per token
    s = e.shares
    assert s["kernel_s"] + s["network_latency_s"] + s["network_bandwidth_s"] + max(
        s["memory_s"], s["compute_s"]) == pytest.approx(1.0, rel=1e-12)
    assert e.bound == "memory" and s["memory_s"] > s["compute_s"]
    assert e.layout["tp_ffn"] == 8 and e.layout["pp_degree"] == 1 and e.layout["gpus_per_stage"] == 8
    assert e.memory.weights_bytes == isw.model("Llama-3-70B").total_params * 2
    assert e.memory.kv_cache_bytes == 0 and e.memory.hbm_bytes == 8 * 80e9
    assert e.memory.used_fraction == pytest.approx(141.1e9 / 640e9, rel=1e-3)
    assert e.tokens_per_s == pytest.approx(64 * e.tokens_per_s_per_request, rel=1e-15)
    assert e.peak_flops == 1e15 and not e.use_pp


def test_explain_compute_bound_long_pass() -> None:
    e = isw.explain("Llama-3-8B", "H100", n_gpus=1, batch_size=64, seq_len=512, semantics="epoch")
    assert e.bound == "compute" and e.seq_len == 512
    assert e.shares["compute_s"] > e.shares["memory_s"]


def test_explain_with_pipeline_parallelism_holds_one_micro_batch_of_kv() -> None:
    e = isw.explain("Llama-3-70B", "H100", n_gpus=64, batch_size=256, context_len=100_000, use_pp=True,
                    semantics="epoch")
    pp = e.layout["pp_degree"]
    assert e.feasible and pp > 1 and e.use_pp
    assert e.memory.kv_cache_held_bytes == pytest.approx(e.memory.kv_cache_bytes / pp, rel=1e-15)
    assert e.layout["gpus_per_stage"] == pytest.approx(64 / pp, rel=1e-15)


def test_explain_speculative_decoding() -> None:
    sd = isw.SpecDec("Llama-3-8B-MQA", 0.8, 5)
    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=1, spec_dec=sd, semantics="epoch")
    assert e.gamma >= 2 and e.drafter_latency_s > 0
    assert e.tokens_per_round == pytest.approx((1 - 0.8**e.gamma) / 0.2, rel=1e-12)
    assert e.token_latency_s == pytest.approx((e.pass_s + e.gamma * e.drafter_latency_s) / e.tokens_per_round,
                                              rel=1e-9)


def test_explain_infeasible_says_why_as_data() -> None:
    e = isw.explain("Llama-3-405B", "H100", n_gpus=8, batch_size=64, context_len=100_000, semantics="epoch")
    assert not e.feasible and e.bound is None
    assert e.infeasible is not None
    assert "> 8 × 80 GB = 640.0 GB of HBM" in e.infeasible.reason
    assert e.infeasible.hints[0] == "the weights alone need 10.3 GPUs: --n-gpus 11 or more"
    assert math.isinf(e.token_latency_s) and all(math.isnan(v) for v in e.shares.values())
    assert e.infeasible == infeasibility(isw.model("Llama-3-405B"), isw.gpu("H100"), 8, 64, 100_000, False)


def test_explain_too_small_blames_p_not_memory() -> None:
    # half a GPU: no pipeline degree P >= 1 has P <= min(N, b), although the weights would fit
    e = isw.explain("Llama-3-8B", "A100", n_gpus=0.5, batch_size=1, semantics="epoch")
    assert not e.feasible and e.infeasible is not None
    assert e.infeasible.reason.startswith("no layout: every pipeline degree P is at least 1")
    assert e.infeasible.hints == ("memory would fit: weights 16.1 GB + KV cache 0.0 GB = 16.1 GB <= 40.0 GB "
                                  "of HBM", "use --n-gpus 1 or more")


def test_explain_to_dict_is_plain_data() -> None:
    sd = isw.SpecDec("Llama-3-8B-MQA", 0.8, 5)
    d = isw.explain("Llama-3-70B", "H200", n_gpus=16, batch_size=32, spec_dec=sd, semantics="epoch").to_dict()
    text = json.dumps(d)  # nothing but plain values
    assert d["model"] == "Llama-3-70B" and d["gpu"] == "H200"
    assert d["spec_dec"] == {"drafter": "Llama-3-8B-MQA", "acceptance": 0.8, "gamma_max": 5}
    assert set(d["components"]) == set(COMPONENTS) and "used_fraction" in d["memory"]
    assert d["infeasible"] is None and '"bound": "memory"' in text


def test_explain_bad_input_is_a_clear_error() -> None:
    with pytest.raises(isw.CatalogError, match="unknown model"):
        isw.explain("Llama-9", "H100")
    with pytest.raises(isw.GridError, match="n_gpus"):
        isw.explain("Llama-3-70B", "H100", n_gpus=-1)
    with pytest.raises(isw.GridError, match=r"'batch_size' must be one number.*isw\.sweep"):
        isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=[1, 64])
    with pytest.raises(isw.GridError, match="'use_pp' must be True or False"):
        isw.explain("Llama-3-70B", "H100", use_pp=[True])  # type: ignore[arg-type]
    with pytest.raises(isw.GridError, match="'spec_dec' must be None or one"):
        isw.explain("Llama-3-70B", "H100", spec_dec=[None])  # type: ignore[arg-type]


def test_the_cli_prints_what_explain_computes(capsys: pytest.CaptureFixture[str]) -> None:
    e = isw.explain("Mixtral-8x22B", "H200", n_gpus=16, batch_size=128, context_len=8000, semantics="epoch")
    assert cli.main(["explain",
                     "--semantics", "epoch", "-m", "Mixtral-8x22B", "-g", "H200", "-n", "16", "-b", "128",
                     "--context", "8k"]) == 0
    out = capsys.readouterr().out
    assert f"token latency     {1e6 * e.token_latency_s:,.1f} µs" in out
    assert f"{100 * e.shares['network_latency_s']:.1f}%" in out
    assert f"{100 * e.memory.used_fraction:.0f}%)" in out
    assert f"verdict: {e.bound}-bound" in out


# ------------------------------------------------------------------ semantics="serving"

LLAMA = isw.model("Llama-3-70B")


def test_serving_explain_hand_checked_row() -> None:
    # Llama-3-70B, 8 H100 pinned to TP8, 64 sequences at 2,000 tokens, the default runtime.
    e = isw.explain(LLAMA, "H100", n_gpus=8, batch_size=64, context_len=2000, semantics="serving", tp=8)
    row = isw.sweep(LLAMA, "H100", n_gpus=8, batch_size=64, context_len=2000, semantics="serving",
                    tp=8).row(0, named=True)
    assert e.feasible and e.infeasible is None and e.row == row
    c = e.components
    # 200 µs of host overhead; 80 layers × (6 + 3) kernels replayed from a graph at 1 µs each;
    # 80 layers × 2 all-reduces over 8 NVLink ranks at 15.2 µs of latency each (MODEL.md §5).
    assert c["overhead_s"] == 200e-6
    assert c["kernel_s"] == pytest.approx(720e-6, rel=1e-12)
    assert c["network_latency_s"] == pytest.approx(2432e-6, rel=1e-12)
    assert c["all_to_all_s"] == 0.0  # a dense model has no all-to-all
    assert c["memory_s"] == pytest.approx(c["weight_memory_s"] + c["kv_memory_s"], rel=1e-15)
    # The components add up to the step, which is the sweep's token latency.
    assert e.step_s == pytest.approx(c["overhead_s"] + c["kernel_s"] + c["network_latency_s"]
                                     + c["network_bandwidth_s"] + max(c["memory_s"], c["compute_s"])
                                     - c["overlap_s"], rel=1e-15)
    assert e.step_s == pytest.approx(row["token_latency_s"], rel=1e-12)
    assert e.bound == "memory" and e.memory_part == "weights" and e.largest == "memory"
    assert e.layout == {"tp": 8, "pp": 1, "ep": 1, "attention_dp": 1, "expert_tp": 8}
    assert e.pinned == {"tp": 8}
    # Per GPU: an eighth of the BF16 weights; one of the 8 KV heads (2·128·2 B × 80 layers =
    # 40,960 B per token) for 64 × 2,000 tokens; 10% of 80 GB reserved; the rest holds
    # floor(free / 81.92 MB) sequences. Each equals the sweep's column.
    weights = LLAMA.total_params * 2 / 8
    assert e.memory.weights_bytes == pytest.approx(weights, rel=1e-12)
    assert e.memory.weights_bytes == row["weights_gb_per_gpu"] * 1e9
    assert e.memory.kv_cache_bytes == pytest.approx(64 * 2000 * 40_960, rel=1e-12)
    assert e.memory.kv_cache_bytes == row["kv_gb_per_gpu"] * 1e9
    assert e.memory.reserve_bytes == pytest.approx(8e9, rel=1e-12)
    assert e.memory.reserve_bytes == row["reserve_gb_per_gpu"] * 1e9
    assert e.memory.max_batch_size == math.floor((80e9 - 8e9 - weights) / (2000 * 40_960))
    assert e.memory.max_batch_size == row["max_batch_size"]
    json.dumps(e.to_dict(), default=str)


def test_serving_explain_all_to_all_is_part_of_the_network() -> None:
    e = isw.explain("DeepSeek-V3", "B200", n_gpus=8, batch_size=256, context_len=4000, semantics="serving",
                    ep=8)
    c = e.components
    assert e.layout["ep"] == 8
    assert 0 < c["all_to_all_s"] < c["network_latency_s"] + c["network_bandwidth_s"]
    one = isw.explain("DeepSeek-V3", "B200", n_gpus=8, batch_size=256, context_len=4000, semantics="serving",
                      ep=1, tp=8)
    assert one.components["all_to_all_s"] == 0.0


def test_serving_explain_shows_every_runtime_value_with_its_source() -> None:
    d = isw.explain(LLAMA, "H100", n_gpus=8, batch_size=1, semantics="serving")
    assert set(d.runtime) == {f.name for f in dataclasses.fields(isw.Runtime)}
    assert d.runtime["step_overhead_s"] == (200e-6, "default (docs/serving.md §R.1)")
    assert "unused" in d.runtime["launch_kernel_s"][1]  # CUDA graphs are on by default
    # Eager launches at the GPU's τ: the None resolves to H100's 4 µs, and the kernel time follows.
    rt = isw.Runtime(cuda_graphs=False, launch_kernel_s=None, gemm_efficiency=None)
    e = isw.explain(LLAMA, "H100", n_gpus=8, batch_size=1, semantics="serving", runtime=rt)
    assert e.runtime["cuda_graphs"] == (False, "runtime argument")
    value, source = e.runtime["launch_kernel_s"]
    assert value == 4e-6 and "kernel_latency_s" in source
    assert e.runtime["gemm_efficiency"][0] == 0.7 and "flop_utilization" in e.runtime["gemm_efficiency"][1]
    assert e.components["kernel_s"] == pytest.approx(720 * 4e-6, rel=1e-12)


def test_serving_explain_infeasible_and_wrong_arguments() -> None:
    e = isw.explain(LLAMA, "H100", n_gpus=2, batch_size=256, context_len=4000, semantics="serving")
    assert not e.feasible and math.isinf(e.token_latency_s)
    assert e.infeasible is not None and "max_batch_size 2" in e.infeasible
    with pytest.raises(isw.GridError, match="'tp' needs semantics='serving'"):
        isw.explain(LLAMA, "H100", n_gpus=8, semantics="epoch", tp=8)  # type: ignore[call-overload]
    with pytest.raises(isw.GridError, match="use_pp"):
        isw.explain(LLAMA, "H100", n_gpus=8, semantics="serving", use_pp=True)
    with pytest.raises(isw.GridError, match="semantics"):
        isw.explain(LLAMA, "H100", semantics="servng")  # type: ignore[call-overload]


def test_the_cli_explains_a_serving_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "-m", "Llama-3-70B", "-g", "H100", "-n", "8", "-b", "64", "--context", "2000",
                     "--semantics", "serving", "--tp", "8"]) == 0
    out = capsys.readouterr().out
    assert "tp=8 pp=1 ep=1 attention_dp=1 expert_tp=8 (pinned: tp=8)" in out
    assert "memory-bound (streaming weights)" in out and "◀ bound" in out
    assert "CUDA graphs on" in out and "max_batch_size" in out
    assert "step_overhead_s" in out and "default (docs/serving.md §R.1)" in out
    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64, context_len=2000, semantics="serving",
                    tp=8)
    assert f"{1e6 * e.step_s:,.1f}" in out
    assert cli.main(["explain", "-m", "Llama-3-70B", "-n", "8", "-b", "1", "--semantics", "serving",
                     "--profile", "vllm"]) == 0
    out = capsys.readouterr().out
    assert "profile vllm" in out and "(searched)" in out
    assert cli.main(["explain",
                     "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "-b", "1", "--tp", "8"]) == 2
    assert "--tp needs --semantics serving" in capsys.readouterr().err


# ------------------------------------------------------------------ the default semantics


def test_explain_defaults_to_serving_as_sweep_does() -> None:
    """isw.explain's default is isw.sweep's (serving); epoch is one keyword away, unchanged."""
    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64)
    row = isw.sweep("Llama-3-70B", "H100", n_gpus=8, batch_size=64).row(0, named=True)
    assert isinstance(e, isw.ServingExplanation)
    assert e.token_latency_s == row["token_latency_s"] and e.layout["tp"] == row["tp"]
    assert e.runtime["step_overhead_s"][0] == isw.Runtime.default().step_overhead_s
    epoch = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64, semantics="epoch")
    assert epoch.token_latency_s == isw.sweep("Llama-3-70B", "H100", n_gpus=8, batch_size=64,
                                              semantics="epoch")["token_latency_s"][0]
    assert epoch.token_latency_s != e.token_latency_s


def test_epoch_only_arguments_under_the_default_point_at_epoch() -> None:
    with pytest.raises(isw.GridError, match=r"'use_pp' is epoch's only; pass semantics='epoch'"):
        isw.explain("Llama-3-70B", "H100", n_gpus=8, use_pp=True)
    with pytest.raises(isw.GridError, match=r"isw\.SpecDec is epoch's only; pass semantics='epoch'"):
        isw.explain("Llama-3-70B", "H100", n_gpus=8, spec_dec=isw.SpecDec("Llama-3-8B", 0.7))
    # use_pp=False is every semantics' default, and seq_len > 1 is a serving step over S positions
    assert isw.explain("Llama-3-8B", "H100", n_gpus=1, batch_size=4, seq_len=8, use_pp=False).seq_len == 8


def test_serving_explain_says_where_each_precision_came_from() -> None:
    from pathlib import Path

    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=8)
    assert set(e.precision_sources) == set(e.precision)
    assert e.precision_sources["attention"] == "the model's weight_bytes (2)"
    assert e.precision_sources["kv_cache"] == "the model's activation_bytes (2; its kv_bytes is unset)"
    assert e.precision_sources["ffn_bits"].startswith("the model's rate_bits")
    e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=8,
                    precision=isw.Precision(attention="fp8", kv_cache=1, ffn_compute=8))
    assert e.precision["attention"] == 1 and e.precision["attention_bits"] == 8
    s = e.precision_sources
    assert s["attention"] == "Precision field 'attention' = 'fp8'"
    assert s["attention_bits"] == "the rate of the weight format 'fp8' (Precision field 'attention')"
    assert s["ffn_bits"] == "Precision field 'ffn_compute' = 8" and s["dense_ffn"].startswith("the model's")
    assert s["kv_cache"] == "Precision field 'kv_cache' = 1"
    # A model read from a config that declares a quantization it does not apply says so.
    oss = Path(__file__).parent / "data" / "hf" / "gpt-oss-120b.json"
    m = isw.from_hf_config(oss)
    e = isw.explain(m, "H100", n_gpus=8, batch_size=8)
    assert "declares a quantization_config, not applied here" in e.precision_sources["experts"]
    e = isw.explain(m, "H100", n_gpus=8, batch_size=8, precision=isw.Precision.from_hf_config(oss))
    assert e.precision_sources["experts"] == "Precision field 'experts' = 'mxfp4'"
    assert e.precision_sources["expert_bits"] == "Precision field 'expert_compute' = 4"
    assert e.to_dict()["precision_sources"] == e.precision_sources


def test_the_cli_prints_each_precision_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "-m", "Llama-3-70B", "-g", "H100", "-n", "8", "-b", "8"]) == 0
    out = capsys.readouterr().out
    assert "attention       2      the model's weight_bytes (2)" in out
    assert "dispatch        2      = activations (Precision field 'dispatch' unset)" in out
