"""Hand-computed checks of each `serving` mechanism (docs/serving.md), the bridge to `epoch`,
and the errors a pinned layout raises."""

from __future__ import annotations

import math

import pytest

import infersweep as isw
from infersweep import reference as ref
from infersweep import serving_reference as sr

LLAMA = isw.model("Llama-3-70B")       # 64 query heads, 8 KV heads, 80 layers, BF16
DSV3 = isw.model("DeepSeek-V3")        # MLA (c = 512, r = 64), 3 dense + 58 MoE layers, FP8
H100 = isw.gpu("H100")


def serve(model: isw.Model | str, gpu: isw.Gpu | str = H100, **kw: object) -> dict:
    kw.setdefault("semantics", "serving")
    return isw.sweep(model, gpu, **kw).row(0, named=True)  # type: ignore[arg-type]


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------ §M per-GPU memory


def test_kv_heads_replicate_when_tp_exceeds_them() -> None:
    # One KV head (K and V, 128 wide, BF16) over 80 layers is 2·128·2·80 = 40,960 B per token.
    per_head = 2 * 128 * 2 * 80
    for tp, heads_per_gpu in ((4, 2), (8, 1), (16, 1)):
        row = serve(LLAMA, n_gpus=tp, tp=tp, batch_size=3, context_len=1000, runtime=isw.Runtime.ideal())
        assert row["kv_gb_per_gpu"] * 1e9 == pytest.approx(3 * 1000 * heads_per_gpu * per_head, rel=1e-12)


def test_mla_latent_is_replicated_across_attention_tp() -> None:
    # (c + r)·L·bytes = (512 + 64)·61·2 = 70,272 B per token on every GPU, whatever tp is.
    prec = isw.Precision(kv_cache="bf16")
    for tp in (1, 8):
        row = serve(DSV3, "B200", n_gpus=8, tp=tp, ep=8, batch_size=16, context_len=2000, precision=prec)
        seqs = 16 // (8 // tp)
        assert row["kv_gb_per_gpu"] * 1e9 == pytest.approx(seqs * 2000 * 70_272, rel=1e-12)


def test_attention_dp_replicates_attention_weights_and_splits_the_batch() -> None:
    rt = isw.Runtime.ideal()
    tp8 = serve(DSV3, "B200", n_gpus=8, tp=8, ep=8, batch_size=64, context_len=1000, runtime=rt)
    dp8 = serve(DSV3, "B200", n_gpus=8, attention_dp=8, ep=8, batch_size=64, context_len=1000, runtime=rt)
    assert (tp8["tp"], dp8["tp"], dp8["attention_dp"]) == (8, 1, 8)
    # Attention and embeddings (FP8: 1 byte) are whole on each DP rank, an eighth under TP8.
    replicated = DSV3.n_layers * DSV3.attention_params_per_layer + DSV3.embedding_params
    assert (dp8["weights_gb_per_gpu"] - tp8["weights_gb_per_gpu"]) * 1e9 == pytest.approx(
        replicated * (1 - 1 / 8), rel=1e-9)
    # KV: the latent is whole either way; DP8 holds 8 sequences per GPU, TP8 all 64.
    assert tp8["kv_gb_per_gpu"] == pytest.approx(8 * dp8["kv_gb_per_gpu"], rel=1e-12)


def test_dp_attention_traffic() -> None:
    # Dense model, 8 GPUs as 2 DP groups of TP4: per layer an all-reduce of the group's 16 tokens
    # over 4 ranks after attention, and of all 32 tokens over 8 ranks after the FFN (gather +
    # scatter back to the groups), d·a bytes per token.
    rt = isw.Runtime.ideal()
    row = serve(LLAMA, n_gpus=8, tp=4, attention_dp=2, batch_size=32, context_len=0, runtime=rt)
    d, a = LLAMA.d_model, 2.0
    att = ref.collective(H100, 4, 1, 16 * d * a, ref.ALLREDUCE)
    ffn = ref.collective(H100, 8, 1, 32 * d * a, ref.ALLREDUCE)
    assert row["network_latency_s"] == pytest.approx(80 * (att[0] + ffn[0]), rel=1e-12)
    assert row["network_bandwidth_s"] == pytest.approx(80 * (att[1] + ffn[1]), rel=1e-12)


def test_weights_and_kv_decide_feasibility_per_gpu() -> None:
    # Llama-3-70B BF16 on 2 H100 (80 GB): 70.55 GB of weights per GPU fit, KV of 1000 tokens
    # is 163.84 MB per sequence per GPU (4 of 8 KV heads); a 10% reserve leaves room for 6.
    rt = isw.Runtime.default()
    row = serve(LLAMA, n_gpus=2, tp=2, batch_size=1, context_len=1000, runtime=rt)
    weights = LLAMA.total_params * 2 / 2
    assert row["weights_gb_per_gpu"] * 1e9 == pytest.approx(weights, rel=1e-12)
    free = 80e9 * 0.9 - weights
    assert row["max_batch_size"] == math.floor(free / (1000 * 327_680 / 2))
    too_many = serve(LLAMA, n_gpus=2, tp=2, batch_size=int(row["max_batch_size"]) + 1, context_len=1000,
                     runtime=rt)
    assert not too_many["feasible"] and math.isinf(too_many["token_latency_s"])
    # One GPU cannot hold the weights: no batch fits.
    one = serve(LLAMA, n_gpus=1, batch_size=1, context_len=0)
    assert not one["feasible"] and one["max_batch_size"] == 0


# ------------------------------------------------------------------ §P precision


def test_nvfp4_expert_bytes() -> None:
    # NVFP4 = 4.5 bits per weight: the expert weights of a GPU shrink by (1 − 4.5/8)/... of FP8.
    fp8 = serve(DSV3, "B200", n_gpus=8, attention_dp=8, ep=8, batch_size=8, context_len=0)
    fp4 = serve(DSV3, "B200", n_gpus=8, attention_dp=8, ep=8, batch_size=8, context_len=0,
                precision=isw.Precision(experts="nvfp4"))
    routed = 58 * 256 * 3 * 7168 * 2048
    assert (fp8["weights_gb_per_gpu"] - fp4["weights_gb_per_gpu"]) * 1e9 == pytest.approx(
        routed * (1 - 4.5 / 8) / 8, rel=1e-9)
    assert isw.Precision(experts="mxfp4").resolve(DSV3)["experts"] == 4.25 / 8
    assert isw.Precision(experts="nvfp4").resolve(DSV3)["expert_bits"] == 4


def test_fp4_gemms_need_a_rated_gpu() -> None:
    with pytest.raises(isw.SpecError, match="expert_compute"):
        serve(DSV3, "H200-SXM", n_gpus=8, batch_size=1, precision=isw.Precision(experts="nvfp4"))
    # Dequantised to BF16 on Hopper it runs.
    dequantised = isw.Precision(experts="nvfp4", expert_compute=16)
    row = serve(DSV3, "H200-SXM", n_gpus=8, batch_size=1, precision=dequantised)
    assert row["feasible"]


# ------------------------------------------------------------------ §R runtime costs


def test_small_m_gemms_cost_a_whole_tile() -> None:
    # At context 0 every FLOP is a GEMM over the batch: 3 tokens cost what 64 cost in tiles of 64.
    rt = isw.Runtime.ideal().with_(gemm_tile_tokens=64)
    three = serve(LLAMA, n_gpus=8, tp=8, batch_size=3, context_len=0, runtime=rt)
    full = serve(LLAMA, n_gpus=8, tp=8, batch_size=64, context_len=0, runtime=rt)
    assert three["compute_s"] == full["compute_s"]
    untiled = serve(LLAMA, n_gpus=8, tp=8, batch_size=3, context_len=0, runtime=isw.Runtime.ideal())
    assert untiled["compute_s"] == pytest.approx(full["compute_s"] * 3 / 64, rel=1e-12)
    # 2·P_active·64 tokens over 8 GPUs at 1e15 FLOP/s (BF16, efficiency 1).
    assert full["compute_s"] == pytest.approx(2 * LLAMA.active_params * 64 / 8 / 1e15, rel=1e-12)


def test_verification_attention_flops_hand_computed() -> None:
    # S = 4 new positions on top of 1000 cached tokens, 4 sequences, TP8, no tiles: 16 tokens
    # through the GEMMs and 4·4 query positions attending to 1000 + (4 − 1)/2 = 1001.5 keys on
    # average; 4·h·H = 4·128·64 = 32,768 FLOPs per (query, key) pair and layer over 80 layers.
    # (Passing the 16 tokens *and* the 4 positions to the attention counted it 4× over.)
    assert LLAMA.attention_flop_coefficient == 32_768
    row = serve(LLAMA, n_gpus=8, tp=8, batch_size=4, context_len=1000, seq_len=4, runtime=isw.Runtime.ideal())
    gemm = 2 * LLAMA.active_params * 16
    attention = 32_768 * 80 * 1001.5 * 4 * 4
    assert row["compute_s"] == pytest.approx((gemm + attention) / 8 / 1e15, rel=1e-12)
    # S = 1 is the plain decode step: 4 tokens, each attending to the 1000 cached ones.
    one = serve(LLAMA, n_gpus=8, tp=8, batch_size=4, context_len=1000, seq_len=1, runtime=isw.Runtime.ideal())
    want = (2 * LLAMA.active_params * 4 + 32_768 * 80 * 1000 * 4) / 8 / 1e15
    assert one["compute_s"] == pytest.approx(want, rel=1e-12)


def test_cuda_graphs_on_and_off() -> None:
    # A Llama decoder layer: 6 attention kernels + 3 FFN kernels; 80 layers = 720 launches.
    kw = {"n_gpus": 8, "tp": 8, "batch_size": 1}
    on = serve(LLAMA, **kw, runtime=isw.Runtime(cuda_graphs=True, graph_kernel_s=1e-6))
    off = serve(LLAMA, **kw, runtime=isw.Runtime(cuda_graphs=False, launch_kernel_s=9e-6))
    gpu_tau = serve(LLAMA, **kw, runtime=isw.Runtime(cuda_graphs=False, launch_kernel_s=None))
    assert on["kernel_s"] == pytest.approx(720e-6, rel=1e-12)
    assert off["kernel_s"] == pytest.approx(720 * 9e-6, rel=1e-12)
    assert gpu_tau["kernel_s"] == pytest.approx(720 * 4e-6, rel=1e-12)
    assert off["token_latency_s"] - on["token_latency_s"] == pytest.approx(720 * 8e-6, rel=1e-9)
    # MLA adds 4 kernels per layer, MoE layers 7 (+3 for the shared expert) instead of 3.
    ds = serve(DSV3, "B200", n_gpus=8, batch_size=1, runtime=isw.Runtime(graph_kernel_s=1e-6))
    assert ds["kernel_s"] == pytest.approx((61 * 10 + 3 * 3 + 58 * 10) * 1e-6, rel=1e-12)


def test_overlap_hides_the_smaller_of_network_and_work() -> None:
    base = isw.Runtime.ideal()
    plain = serve(LLAMA, n_gpus=8, tp=8, batch_size=32, context_len=4096, runtime=base)
    half = serve(LLAMA, n_gpus=8, tp=8, batch_size=32, context_len=4096, runtime=base.with_(overlap=0.5))
    network = plain["network_latency_s"] + plain["network_bandwidth_s"]
    work = max(plain["memory_s"], plain["compute_s"])
    assert half["overlap_s"] == pytest.approx(0.5 * min(network, work), rel=1e-12)
    assert plain["token_latency_s"] - half["token_latency_s"] == pytest.approx(half["overlap_s"], rel=1e-9)


def test_all_to_all_across_nodes_uses_scale_out() -> None:
    # DP attention on 16 GPUs (2 nodes of 8), EP16: dispatch and combine span 2 nodes.
    rt = isw.Runtime.ideal()
    row = serve(DSV3, "H100", n_gpus=16, attention_dp=16, ep=16, batch_size=256, context_len=0, runtime=rt)
    tokens_per_rank = 256 * 8 / 16
    dispatch = ref.collective(H100, 16, 2, tokens_per_rank * 7168 * 2, ref.ALL_TO_ALL)
    combine = ref.collective(H100, 16, 2, tokens_per_rank * 7168 * 2, ref.ALL_TO_ALL)
    dense = ref.collective(H100, 16, 2, 256 * 7168 * 2, ref.ALLREDUCE)  # 3 dense layers over the stage
    want = 58 * (dispatch[1] + combine[1]) + 3 * dense[1]
    assert row["network_bandwidth_s"] == pytest.approx(want, rel=1e-12)
    # The inter-node term binds: (nodes − 1)·X/(R·B_inter) over 25 GB/s, not NVLink's 225.
    x = tokens_per_rank * 7168 * 2
    assert dispatch[1] >= (2 - 1) * x / (16 * H100.inter_node_bandwidth * 1.0) / 2
    one_node = serve(DSV3, "H100", n_gpus=16, pp=1, attention_dp=16, ep=8, batch_size=256, context_len=0,
                     runtime=rt)
    assert one_node["ep"] == 8


def test_expert_imbalance_is_the_expected_busiest_rank() -> None:
    rt = isw.Runtime()
    # 64 tokens × 8 experts over 8 ranks: mean 64 routes a rank, σ = √(512·⅛·⅞) = 7.48,
    # busiest ≈ μ + σ·√(2 ln 8) = 64 + 7.48·2.039.
    assert sr.expert_imbalance(rt, 64, 8, 8) == pytest.approx(1 + 7.483315 * 2.039334 / 64, rel=1e-6)
    assert sr.expert_imbalance(rt, 1, 1, 1) == 1.0
    assert sr.expert_imbalance(rt.with_(expert_imbalance=1.5), 64, 8, 8) == 1.5


# ------------------------------------------------------------------ the bridge to epoch


def same(a: float, b: float, tol: float = 1e-9) -> bool:
    return a == b or abs(a - b) <= tol * max(abs(a), abs(b))


@pytest.mark.parametrize(("model", "gpu", "n_gpus", "batch", "ctx", "pp"), [
    ("Llama-3-70B", "H100", 8, 1, 0, 1),
    ("Llama-3-70B", "H100", 8, 32, 4096, 1),
    ("GPT-3", "H100", 16, 128, 0, 1),
    ("GPT-3", "H100", 32, 64, 4096, 1),
    ("GPT-J-6B", "H100", 16, 2, 0, 2),
    ("GPT-J-6B", "H100", 16, 8, 2048, 2),
    ("GPT-J-6B", "H100", 32, 8, 2048, 4),
    ("Llama-3-70B", "H100-ZL", 4, 64, 8192, 1),
    ("Llama-3-8B", "H100-ZL", 2, 64, 8192, 1),
    ("GPT-3", "H100-ZL", 32, 64, 0, 1),
])
def test_bridge_to_epoch(model: str, gpu: str, n_gpus: int, batch: int, ctx: int, pp: int) -> None:
    """With `epoch`'s costs, one precision, tp ≤ KV heads and capacity set aside, the serving
    layout epoch also considers (1D TP over a stage, integer P, no attention scale-down) costs
    exactly epoch's candidate for it: here the one epoch's own search picks. On H100-ZL (caps
    1, τ = 0) `Runtime.ideal()` is `Runtime.epoch()`, so both must bridge."""
    m, g = isw.model(model), isw.gpu(gpu)
    best = ref.token_latency(m, g, n_gpus, batch, ctx, 1, use_pp=pp > 1)
    assert (best.two_d_tp, best.pp_degree, best.attention_scaledown) == (False, pp, 1.0)
    tp = n_gpus // pp
    assert tp <= m.n_heads / m.group_size
    runtimes = [isw.Runtime.epoch()] + ([isw.Runtime.ideal()] if gpu == "H100-ZL" else [])
    for rt in runtimes:
        st = sr.decode_step(m, g, n_gpus, batch, ctx, sr.Layout(tp, pp, 1, 1), rt)
        assert same(st.step_s, best.latency_s)
        assert same(st.kernel_s, best.kernel_s)
        assert same(st.network_latency_s, best.network_latency_s)
        assert same(st.network_bandwidth_s, best.network_bandwidth_s)
        assert same(st.memory_s, best.memory_s)
        assert same(st.compute_s, best.compute_s)
        row = serve(m, g, n_gpus=n_gpus, batch_size=batch, context_len=ctx, tp=tp, pp=pp, runtime=rt)
        if row["feasible"]:
            assert same(row["token_latency_s"], best.latency_s)


def test_the_standard_point_bridges() -> None:
    epoch = isw.sweep("Llama-3-70B", "H100", n_gpus=8, batch_size=32, context_len=4096,
                      semantics="epoch")["token_latency_s"][0]
    served = serve(LLAMA, n_gpus=8, tp=8, batch_size=32, context_len=4096, runtime=isw.Runtime.epoch())
    assert rel(served["token_latency_s"], epoch) < 1e-9
    assert epoch == pytest.approx(13.6466e-3, rel=1e-4)


# ------------------------------------------------------------------ layouts and errors


def test_layout_search_covers_every_deployable_layout() -> None:
    # 8 GPUs, Llama-3-70B (80 layers, 64 heads, 8 KV heads, dense): pp ∈ {1, 2, 4, 8}, and in a
    # stage of T GPUs tp ∈ divisors(T) with dp = T/tp; ep = 1.
    lays = sr.layouts(LLAMA, 8)
    assert len(lays) == 4 + 3 + 2 + 1
    assert all(lay.ep == 1 for lay in lays)
    # DeepSeek-V3: 61 layers, so pp = 1 only on 8 GPUs; ep ∈ divisors(8) all divide 256.
    assert {lay.pp for lay in sr.layouts(DSV3, 8)} == {1}
    assert len(sr.layouts(DSV3, 8)) == 4 * 4


def test_output_layout_columns_are_integers() -> None:
    df = isw.sweep("Llama-3-70B", "H100", n_gpus=[8, 16], batch_size=[1, 64], context_len=2048,
                   semantics="serving")
    for col in ("tp", "pp", "ep", "attention_dp", "expert_tp"):
        assert df[col].dtype.is_integer()
    assert (df["tp"] * df["attention_dp"] * df["pp"] == df["n_gpus"].cast(int)).all()


@pytest.mark.parametrize(("kw", "field"), [
    ({"tp": 3}, "tp"),
    ({"pp": 3}, "pp"),
    ({"ep": 2}, "ep"),
    ({"tp": 16}, "tp"),
    ({"attention_dp": 3}, "attention_dp"),
    ({"tp": 4, "attention_dp": 4}, "attention_dp"),
])
def test_invalid_pinned_layout_names_the_field(kw: dict, field: str) -> None:
    with pytest.raises(isw.GridError, match=f"field '{field}'"):
        serve(LLAMA, n_gpus=8, batch_size=1, **kw)


def test_serving_inputs_are_checked() -> None:
    with pytest.raises(isw.GridError, match="n_gpus"):
        serve(LLAMA, n_gpus=7.5, batch_size=1)
    with pytest.raises(isw.GridError, match="batch_size"):
        serve(LLAMA, n_gpus=8, batch_size=0.5)
    with pytest.raises(isw.GridError, match="'tp'"):
        serve(LLAMA, n_gpus=8, batch_size=1, tp=2.5)
    with pytest.raises(isw.GridError, match="semantics='serving'"):
        isw.sweep(LLAMA, "H100", tp=8, semantics="epoch")
    with pytest.raises(isw.GridError, match="semantics"):
        isw.sweep(LLAMA, "H100", semantics="vllm")  # type: ignore[arg-type]
    with pytest.raises(isw.SpecError, match="overlap"):
        isw.Runtime(overlap=1.5)
    with pytest.raises(isw.SpecError, match="experts"):
        isw.Precision(experts="fp3")


# ------------------------------------------------------------------ validate(semantics="serving")


def test_validate_maps_deployments_onto_their_layouts() -> None:
    import polars as pl

    v = isw.validate(semantics="serving", measurements=isw.measurements().filter(
        pl.col("id").is_in(["MLP51-M1", "TRT-B1-1", "MLP51-M16"])))
    rows = {r["id"]: r for r in v.iter_rows(named=True)}
    # MLPerf DeepSeek-R1 on 8 B200: DP8 attention + EP8, as submitted; TRT-B1: TP8 attention, EP2.
    assert (rows["MLP51-M1"]["tp"], rows["MLP51-M1"]["attention_dp"], rows["MLP51-M1"]["ep"]) == (1, 8, 8)
    assert (rows["TRT-B1-1"]["tp"], rows["TRT-B1-1"]["ep"]) == (8, 2)
    assert rows["MLP51-M16"]["tp"] == 8 and rows["MLP51-M16"]["expressible"]
    # MLPerf v5.1 Nebius 8×H200 Llama-3.1-405B: FP8 weights and KV cache, TP8, no CUDA graphs.
    m16 = isw.measurements().filter(pl.col("id") == "MLP51-M16").row(0, named=True)
    assert (m16["weight_precision"], m16["kv_precision"], m16["cuda_graphs"]) == ("fp8", "fp8", False)
    fp8 = isw.Precision(attention="fp8", dense_ffn="fp8", experts="fp8", embeddings="fp8", kv_cache="fp8")
    direct = serve("Llama-3.1-405B", "H200-SXM", n_gpus=8, tp=8, batch_size=math.ceil(m16["decode_batch"]),
                   context_len=m16["isl"] + m16["osl"] / 2, precision=fp8,
                   runtime=isw.Runtime.default().with_(cuda_graphs=False))
    from infersweep.serving_validation import decode_steps, serving_point
    (dec,) = decode_steps([serving_point(m16)], isw.Runtime.default())
    assert dec["step_s"] == pytest.approx(direct["token_latency_s"], rel=1e-12)
    # In-flight (MLPerf Interactive, Poisson): the steady state at its requests in flight per instance
    # (Little's law: samples/s × mean latency; docs/calibration.md, "In-flight mapping").
    in_flight = m16["samples_per_s"] * m16["mean_latency_ms"] / 1e3 / m16["instances"]
    steady = isw.serve("Llama-3.1-405B", "H200-SXM", 8, tp=8, pp=1, ep=1, attention_dp=1, isl=m16["isl"],
                       osl=m16["osl"], concurrency=in_flight, precision=fp8,
                       runtime=isw.Runtime.default().with_(cuda_graphs=False)).row(0, named=True)
    assert rows["MLP51-M16"]["predicted_step_ms"] == pytest.approx(steady["tpot_s"] * 1e3, rel=1e-12)


def test_precision_from_hf_quantization_config() -> None:
    from pathlib import Path

    hf = Path(__file__).parent / "data" / "hf"
    oss = isw.Precision.from_hf_config(hf / "gpt-oss-120b.json")
    # modules_to_not_convert keeps attention, the router and the embeddings in BF16.
    assert (oss.attention, oss.experts, oss.embeddings) == ("bf16", "mxfp4", "bf16")
    assert (oss.attention_compute, oss.expert_compute) == (16, 4)
    ds = isw.Precision.from_hf_config(hf / "deepseek-v3.json")
    # FP8 e4m3 with one FP32 scale per 128×128 block.
    assert ds.experts == ds.attention == pytest.approx(1 + 4 / 16384)
    assert ds.embeddings == "bf16" and ds.expert_compute == 8
    assert isw.Precision.from_hf_config(hf / "llama-3.1-70b.json") == isw.Precision()
    with pytest.raises(isw.SpecError, match="'awq' is not supported"):
        isw.Precision.from_hf_config({"quantization_config": {"quant_method": "awq"}})


def test_degrees_of_one_split_fractional_models_and_huge_pins_are_errors() -> None:
    # 7.5 heads cannot be split: tp = 1 only (attention DP or pipeline stages use the GPUs).
    odd = isw.Model("odd", d_model=960, d_ff=3840, n_layers=4, n_heads=7.5, group_size=7.5, vocab_size=1000)
    assert sr.layouts(odd, 2) == [sr.Layout(1, 1, 1, 2), sr.Layout(1, 2, 1, 1)]
    row = serve(odd, n_gpus=2, batch_size=4, context_len=100)
    assert row["tp"] == 1 and row["feasible"]
    with pytest.raises(isw.GridError, match="field 'tp'"):
        serve(odd, n_gpus=2, batch_size=4, tp=2)
    # Products of pinned degrees far beyond n_gpus are a GridError, not an overflow.
    with pytest.raises(isw.GridError, match="field 'tp'"):
        serve(LLAMA, n_gpus=8, batch_size=1, tp=1 << 20, attention_dp=1 << 20)


def test_serving_grid_limits() -> None:
    with pytest.raises(isw.GridError, match="max_rows"):
        isw.sweep(LLAMA, "H100", n_gpus=[8, 16], batch_size=[1, 2, 3], semantics="serving", tp=[4, 8],
                  max_rows=11)
    with pytest.raises(isw.GridError, match="chunk_rows"):
        isw.sweep(LLAMA, "H100", semantics="serving", chunk_rows=10)
    df = isw.sweep(LLAMA, "H100", n_gpus=[8, 16], batch_size=[1, 2, 3], semantics="serving", tp=[4, 8],
                   max_rows=12)
    assert df.height == 12 and set(df["tp"].to_list()) == {4, 8}


def test_sequence_overhead_adds_per_sequence_of_a_scheduler() -> None:
    # Host work per sequence of one attention-DP group's batch (docs/serving.md §R.1)
    m, g = isw.model("Llama-3.1-70B"), isw.gpu("H100-SXM")
    lay = sr.Layout(4, 1, 1, 2)          # TP4 x attention-DP2: each group schedules half the batch
    base = isw.Runtime.default()
    per = base.with_(sequence_overhead_s=25e-6)
    a = sr.decode_step(m, g, 8, 64, 2048, lay, base)
    b = sr.decode_step(m, g, 8, 64, 2048, lay, per)
    assert b.overhead_s - a.overhead_s == pytest.approx(25e-6 * 32, rel=1e-12)   # 32 sequences per group
    assert b.latency_s - a.latency_s == pytest.approx(25e-6 * 32, rel=1e-9)
    kw = dict(n_gpus=8, tp=4, attention_dp=2, batch_size=64, context_len=2048, semantics="serving")
    rs = isw.sweep(m, g, runtime=per, **kw).row(0, named=True)  # type: ignore[arg-type]
    assert rs["overhead_s"] == pytest.approx(b.overhead_s, rel=1e-12)
    with pytest.raises(isw.SpecError, match="sequence_overhead_s"):
        isw.Runtime(sequence_overhead_s=-1e-6)


def test_operator_roofline_adds_a_memory_bound_attention_to_compute_bound_gemms() -> None:
    # Llama-3-70B on 8 x H100 at speed of light, batch 768 at context 512: the attention reads
    # 16 GB of KV per GPU (4.9 ms, memory-bound: a few FLOPs per byte) while the GEMMs of 768
    # tokens are compute-bound (13.6 ms of FLOPs against 6.9 ms of weights and activations).
    # epoch's one roofline hides the KV read under the GEMMs; one per operator adds it
    # (docs/serving.md §R.8).
    kw = dict(n_gpus=8, tp=8, batch_size=768, context_len=512)
    whole = serve(LLAMA, **kw, runtime=isw.Runtime.ideal())
    per_op = serve(LLAMA, **kw, runtime=isw.Runtime.ideal().with_(operator_roofline=True))
    for c in ("weight_memory_s", "kv_memory_s", "compute_s", "network_latency_s", "kernel_s"):
        assert per_op[c] == whole[c]
    assert whole["work_s"] == max(whole["memory_s"], whole["compute_s"]) == whole["compute_s"]
    cache_s = 32_768 * 80 * 512 * 768 / 8 / 1e15            # 4·d·L·ctx FLOPs per token, per GPU
    gemm_s = whole["compute_s"] - cache_s
    assert gemm_s > whole["weight_memory_s"] and whole["kv_memory_s"] > cache_s
    want = whole["kv_memory_s"] + gemm_s
    assert per_op["work_s"] == pytest.approx(want, rel=1e-12)
    gap = per_op["token_latency_s"] - whole["token_latency_s"]
    assert gap == pytest.approx(want - whole["compute_s"], rel=1e-9)
    # batch 1: every operator is memory-bound, and the two forms agree to the bit
    one = {f: serve(LLAMA, n_gpus=8, tp=8, batch_size=1, context_len=512,
                    runtime=isw.Runtime.ideal().with_(operator_roofline=f)) for f in (False, True)}
    assert one[True]["work_s"] == one[True]["memory_s"] and one[False]["work_s"] == one[False]["memory_s"]
    # the reference agrees
    step = sr.decode_step(LLAMA, H100, 8, 768, 512, sr.Layout(8, 1, 1, 1),
                          isw.Runtime.ideal().with_(operator_roofline=True))
    assert step.work_s == per_op["work_s"] and step.latency_s == per_op["token_latency_s"]


def test_operator_roofline_bounds_each_gemm_class_on_its_own() -> None:
    # DeepSeek-V3 on 8 x B200, attention DP8 + EP8, 512 sequences per rank at context 1024: the
    # attention projections see a rank's 512 tokens (3.8 ms of FLOPs, 3.2 ms of weights: compute-
    # bound), the routed experts 4,096 tokens · 8 routes over 256 experts, 128 tokens each (14.2 ms
    # of weights, 10.0 ms of FLOPs: memory-bound). Each class is its own roofline (§R.8).
    g = isw.gpu("B200")
    lay = sr.Layout(1, 1, 8, 8)
    rt = isw.Runtime.default()
    step = sr.decode_step(DSV3, g, 8, 4096, 1024, lay, rt)
    prec = isw.Precision().resolve(DSV3)
    tw = sr.token_work(DSV3, g, 8, lay, 4096.0, 512.0, rt, prec)
    bw = g.hbm_bandwidth * rt.weight_bandwidth_efficiency
    weights = [s / bw for s in tw.streams]
    rates = [sr._rate(g, prec[b], rt) for b in ("attention_bits", "ffn_bits", "expert_bits")]
    gemms = [f / r for f, r in zip((tw.flops_attn, tw.flops_ffn, tw.flops_exp), rates, strict=True)]
    assert sum(tw.streams) == pytest.approx(tw.stream, rel=1e-12)
    # the projections are compute-bound, the routed experts memory-bound
    assert gemms[0] > weights[0] and weights[2] > gemms[2]
    cache_s = step.compute_s - sum(gemms)
    want = max(step.kv_memory_s, cache_s) + sum(max(w, c) for w, c in zip(weights, gemms, strict=True))
    assert step.work_s == pytest.approx(want, rel=1e-9)
    assert step.work_s > max(step.memory_s, step.compute_s)
    row = serve(DSV3, g, n_gpus=8, tp=1, ep=8, attention_dp=8, batch_size=4096, context_len=1024, runtime=rt)
    assert row["work_s"] == step.work_s and row["token_latency_s"] == step.latency_s


@pytest.mark.parametrize(("field", "value"), [
    ("collective_latency_scale", 0.0), ("collective_latency_scale", 101.0),
    ("collective_latency_scale", math.nan), ("operator_roofline", 1), ("operator_roofline", "yes")])
def test_new_runtime_fields_are_checked_and_named(field: str, value: object) -> None:
    with pytest.raises(isw.SpecError, match=field):
        isw.Runtime(**{field: value})  # type: ignore[arg-type]
