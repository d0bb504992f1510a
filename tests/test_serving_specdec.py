"""Speculative decoding under `serving` semantics (docs/serving.md §D): hand-computed passes, the
expected accepted length, γ = 0 as plain decoding, validation, and the engine held equal to
``infersweep.speculative_reference`` (to 1e-9) on random models, runtimes, precisions and layouts."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import serving_reference as sr
from infersweep import speculative_reference as spr
from infersweep import traffic_reference as tr
from infersweep.speculative import eagle_d_ff, head_model, tokens_per_step
from test_serving_properties import SETTINGS, close, precisions, runtimes, serving_models

# d = 1024, f = 4096 (SwiGLU: 3 matrices), L = 4, H = 8 heads of 128, 4 KV heads, V = 32,000, BF16.
TINY = isw.Model(name="tiny", d_model=1024, d_ff=4096, n_layers=4, n_heads=8, group_size=2,
                 vocab_size=32000, head_dim=128)
H100 = isw.gpu("H100")
ONE = {"tp": 1, "pp": 1, "ep": 1, "attention_dp": 1}
LAY1 = sr.Layout(1, 1, 1, 1)
IDEAL = isw.Runtime.ideal()   # no overhead, no launches, efficiencies 1, no tiles


def one_row(m: isw.Model, spec: object, **kw: object) -> dict:
    args = {"n_gpus": 1, "batch_size": 2, "context_len": 100, "runtime": IDEAL, **ONE, **kw}
    return isw.sweep(m, H100, semantics="serving", spec_dec=spec, **args).row(0, named=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------ §D.1 acceptance → τ


def test_expected_accepted_length_from_per_position_acceptance() -> None:
    # τ = 1 + a1 + a1·a2 + a1·a2·a3 = 1 + 0.8 + 0.48 + 0.24.
    assert tokens_per_step([0.8, 0.6, 0.5]) == pytest.approx(2.52, rel=1e-15)
    # One probability for every position: the geometric sum (1 − α^(γ+1))/(1 − α) = 1.875.
    assert isw.DraftHeads(kind="mtp", n=3, acceptance=0.5).tokens_per_step == pytest.approx(1.875, rel=1e-15)
    # A rejected first draft keeps only the verification's own token; all accepted keep γ + 1.
    assert tokens_per_step([0.0, 1.0, 1.0]) == 1.0
    assert tokens_per_step([1.0] * 4) == 5.0
    assert isw.DraftModel("Llama-3.1-8B", n=4, mean_accepted=3.2).tokens_per_step == 3.2


def test_tpot_is_the_step_over_the_accepted_tokens() -> None:
    r = one_row(TINY, isw.DraftHeads(kind="eagle", n=3, acceptance=[0.8, 0.6, 0.5]))
    assert r["tokens_per_step"] == pytest.approx(2.52, rel=1e-15)
    assert r["tpot_s"] == pytest.approx((r["draft_s"] + r["verify_s"]) / 2.52, rel=1e-12)
    assert r["token_latency_s"] == r["tpot_s"]
    assert r["tokens_per_s_per_request"] == pytest.approx(2.52 / (r["draft_s"] + r["verify_s"]), rel=1e-12)
    assert r["tokens_per_s_per_gpu"] == pytest.approx(2 * 2.52 / (r["draft_s"] + r["verify_s"]), rel=1e-12)


# ------------------------------------------------------------------ §D.2 the verification pass by hand


def test_verification_pass_by_hand() -> None:
    # b = 2 sequences on ℓ = 100 cached tokens, γ = 3: 4 positions each, n = 8 tokens, one H100.
    r = one_row(TINY, isw.DraftHeads(kind="mtp", n=3, acceptance=0.7))
    # FLOPs. Per token 2·(L·P_attn + P_ffn + P_emb): P_attn = (8 + 8)·128·1024 + 128·8·1024
    # = 3,145,728; P_ffn = 4·3·1024·4096 = 50,331,648; P_emb = 2·32,000·1024 = 65,536,000
    # → 2·128,450,560·8 = 2,055,208,960. Attention: 4·h·H = 4,096 per layer and (query, key) pair,
    # causal over the 4 new positions: Σ_{j<4} (100 + j) = 406 → 4,096·4·406·2 = 13,303,808.
    flops = 2_055_208_960 + 13_303_808
    assert r["compute_s"] * H100.flops_by_bits[16] == pytest.approx(flops, rel=1e-12)
    # Bytes streamed (t = 1: RW(m, k, n) = m·k·w + (m + k)·n·a): attention 2·3,145,728 +
    # 2·8·(3,072 + 2,048) = 6,373,376 per layer; FFN 3·(2·4,194,304 + 2·8·5,120) = 25,411,584 per
    # layer; the unembedding 2·32,000·1024 → 4·31,784,960 + 65,536,000 = 192,675,840.
    assert r["weight_memory_s"] * H100.hbm_bandwidth == pytest.approx(192_675_840, rel=1e-12)
    # KV: κ = 8 K/V heads·128·4 layers·2 B = 8,192 B per token; read 2·100·κ, written 8·κ.
    assert r["kv_written_gb_per_gpu"] * 1e9 == pytest.approx(65_536, rel=1e-12)
    assert r["kv_memory_s"] * H100.hbm_bandwidth == pytest.approx(1_638_400 + 65_536, rel=1e-12)
    # Capacity: the target's cache at ℓ + γ = 103 tokens, plus the head's layer at 103 (2,048 B per
    # token) per sequence, beside the target's weights and the head's (below).
    target_weights = 2 * (4 * 3_145_728 + 50_331_648 + 65_536_000)
    head_weights = 2 * (3_145_728 + 3 * 1024 * 4096) + 2 * 2 * 1024 * 1024   # layer + eh_proj, no V×d
    assert r["draft_weights_gb_per_gpu"] * 1e9 == pytest.approx(head_weights, rel=1e-12)
    assert r["weights_gb_per_gpu"] * 1e9 == pytest.approx(target_weights + head_weights, rel=1e-12)
    per_seq = 103 * 8_192 + 103 * 2_048
    assert r["max_batch_size"] == math.floor((H100.hbm_bytes - target_weights - head_weights) / per_seq)
    # Ideal runtime on one GPU: the pass is max(memory, compute) (memory here).
    mem_s = r["weight_memory_s"] + r["kv_memory_s"]
    assert r["verify_s"] == pytest.approx(max(mem_s, r["compute_s"]), rel=1e-12)


def test_mtp_draft_pass_by_hand() -> None:
    # The head of TINY: one layer shaped like its last (dense) layer, the 2d → d projection and
    # the shared LM head, over b = 2 tokens at the mean draft context 100 + (3 − 1)/2 = 101.
    spec = isw.DraftHeads(kind="mtp", n=3, acceptance=0.7)
    s = spr.spec_step(TINY, H100, 1, 2, 100, LAY1, spec, IDEAL)
    d = s.draft
    assert d is not None
    # FLOPs: 2·(P_attn + 3·d·f + V·d)·2 + 2·2d·d·2 + 4,096·101·2 (one layer's attention).
    flops = 2 * (3_145_728 + 12_582_912 + 32_768_000) * 2 + 2 * 2048 * 1024 * 2 + 4096 * 101 * 2
    assert flops == 203_202_560
    assert d.compute_s * H100.flops_by_bits[16] == pytest.approx(flops, rel=1e-12)
    # Bytes: attention 6,291,456 + 2·2·5,120; FFN 3·(8,388,608 + 2·2·5,120); LM head 65,536,000;
    # projection RW(2048, 1024, 2) = 4,194,304 + 2·2·3,072.
    stream = (6_291_456 + 20_480) + 3 * (8_388_608 + 20_480) + 65_536_000 + (4_194_304 + 12_288)
    assert d.weight_memory_s * H100.hbm_bandwidth == pytest.approx(stream, rel=1e-12)
    # KV of the head's one layer (2,048 B per token): read 2·101 tokens, write 2.
    assert d.kv_memory_s * H100.hbm_bandwidth == pytest.approx(2 * 101 * 2048 + 2 * 2048, rel=1e-12)
    assert s.draft_s == pytest.approx(3 * max(d.weight_memory_s + d.kv_memory_s, d.compute_s), rel=1e-12)
    # And the engine's draft_s is the oracle's.
    assert one_row(TINY, spec)["draft_s"] == pytest.approx(s.draft_s, rel=1e-12)


def test_head_shapes() -> None:
    ds = isw.model("DeepSeek-V3")
    mtp = head_model(ds, isw.DraftHeads(kind="mtp", n=1, acceptance=0.8))
    last = ds.groups[-1]
    assert (mtp.n_layers, mtp.groups[0].n_experts, mtp.groups[0].n_shared_experts) == (1, last.n_experts,
                                                                                       last.n_shared_experts)
    assert mtp.mla_kv_rank == ds.mla_kv_rank and mtp.tied_embeddings
    # The module: 11.6 B parameters (MLA 0.19 B, 257 experts of 3·7168·2048, the 2d → d projection),
    # plus the embedding and head it shares (2 × 0.93 B): the "14B MTP module" of DeepSeek-V3's card.
    own = mtp.attention_params_per_layer + mtp.ffn_params + mtp.shared_ffn_params + 2 * 7168**2
    assert own == pytest.approx(11.61e9, rel=1e-3)
    assert own + 2 * ds.vocab_size * ds.d_model == pytest.approx(14e9, rel=0.05)
    llama = isw.model("Llama-3.1-70B")
    assert eagle_d_ff(llama) == llama.d_ff
    # An all-MoE target's Eagle layer is as wide as its active FFN.
    qwen = isw.model("Qwen3-235B-A22B")
    g = qwen.groups[qwen.representative]
    assert eagle_d_ff(qwen) == g.n_experts_active * g.d_ff + g.n_shared_experts * g.shared_width


# ------------------------------------------------------------------ γ = 0 is plain decoding


@pytest.mark.parametrize("spec", [isw.DraftHeads(kind="mtp", n=0), isw.DraftModel("Llama-3.1-8B", n=0)])
def test_no_drafts_is_plain_decoding(spec: object) -> None:
    m, g = isw.model("Llama-3.1-70B"), isw.gpu("H200")
    rt = isw.Runtime.default()
    kw = {"n_gpus": 8, "batch_size": 48, "context_len": 3000, "semantics": "serving", "runtime": rt, "tp": 8}
    plain = isw.sweep(m, g, **kw).row(0, named=True)  # type: ignore[arg-type]
    spec_row = isw.sweep(m, g, spec_dec=spec, **kw).row(0, named=True)  # type: ignore[arg-type]
    drafting = (spec_row["tokens_per_step"], spec_row["draft_s"], spec_row["draft_weights_gb_per_gpu"])
    assert drafting == (1, 0, 0)
    # The same step plus the KV its one position writes (the decode step leaves that write out to
    # stay `epoch`'s; the in-flight decode-only step counts it): 48 × 40,960 B at TP8, BF16.
    assert spec_row["kv_written_gb_per_gpu"] * 1e9 == pytest.approx(48 * 40_960, rel=1e-12)
    write_s = 48 * 40_960 / (g.hbm_bandwidth * 0.6)
    assert spec_row["tpot_s"] == pytest.approx(plain["token_latency_s"] + write_s, rel=1e-12)
    for col in ("compute_s", "weight_memory_s", "kernel_s", "network_latency_s", "max_batch_size", "tp"):
        assert spec_row[col] == plain[col], col
    mixed = tr.mixed_step(m, g, 8, sr.Layout(8, 1, 1, 1), tr.Work(48, 3000, 0, 1, 0, 48, 3000), rt)
    assert spec_row["tpot_s"] == pytest.approx(mixed.latency_s, rel=1e-12)


# ------------------------------------------------------------------ what speculation buys


def test_mtp_helps_at_small_batch_and_costs_memory() -> None:
    ds, g = isw.model("DeepSeek-V3"), isw.gpu("H200")
    kw = {"n_gpus": 8, "batch_size": 1, "context_len": 4096, "semantics": "serving", "tp": 8, "ep": 8}
    plain = isw.sweep(ds, g, **kw).row(0, named=True)  # type: ignore[arg-type]
    mtp = isw.sweep(ds, g, spec_dec=isw.DraftHeads(kind="mtp", n=1, acceptance=0.85), **kw).row(0, named=True)  # type: ignore[arg-type]
    assert mtp["tokens_per_step"] == 1.85            # DeepSeek-V3 §5.4.3: 85–90% second-token acceptance
    assert 1.3 < plain["token_latency_s"] / mtp["tpot_s"] < 1.85
    assert mtp["max_batch_size"] < plain["max_batch_size"]
    assert mtp["draft_weights_gb_per_gpu"] > 0


# ------------------------------------------------------------------ validation names the field


@pytest.mark.parametrize(("make", "field"), [
    (lambda: isw.DraftHeads(kind="medusa", n=2, acceptance=0.5), "kind"),
    (lambda: isw.DraftHeads(kind="mtp", n=-1, acceptance=0.5), "'n'"),
    (lambda: isw.DraftHeads(kind="mtp", n=2, acceptance=[0.5]), "acceptance"),
    (lambda: isw.DraftHeads(kind="mtp", n=2, acceptance=[0.5, 1.5]), "acceptance"),
    (lambda: isw.DraftHeads(kind="mtp", n=2), "acceptance"),
    (lambda: isw.DraftHeads(kind="mtp", n=2, acceptance=0.5, mean_accepted=2.0), "mean_accepted"),
    (lambda: isw.DraftHeads(kind="mtp", n=2, mean_accepted=3.5), "mean_accepted"),
    (lambda: isw.DraftHeads(kind="mtp", n=2, acceptance=0.5, d_ff=1024), "d_ff"),
    (lambda: isw.DraftHeads(kind="eagle", n=2, acceptance=0.5, layers=0), "layers"),
    (lambda: isw.DraftModel(3, n=2, acceptance=0.5), "drafter"),
])
def test_invalid_spec_names_the_field(make: object, field: str) -> None:
    with pytest.raises(isw.SpecError, match=field):
        make()  # type: ignore[operator]


def test_serving_refuses_epochs_specdec_and_long_passes() -> None:
    with pytest.raises(isw.GridError, match="DraftModel"):
        isw.sweep("Llama-3.1-70B", semantics="serving", spec_dec=isw.SpecDec("Llama-3.1-8B", 0.7))
    with pytest.raises(isw.GridError, match="seq_len"):
        isw.sweep("Llama-3.1-70B", semantics="serving", seq_len=4,
                  spec_dec=isw.DraftHeads(kind="eagle", n=2, acceptance=0.7))


def test_draft_heads_need_serving() -> None:
    heads = isw.DraftHeads(kind="eagle", n=2, acceptance=np.array([0.7, 0.5]))
    assert heads.acceptance == (0.7, 0.5)
    with pytest.raises(isw.GridError, match=r"spec_dec.*semantics='serving'"):
        isw.sweep("Llama-3.1-70B", semantics="epoch", spec_dec=heads)
    with pytest.raises(isw.GridError, match="spec_dec"):
        isw.explain("Llama-3.1-70B", spec_dec=heads, semantics="epoch")  # type: ignore[arg-type]


def test_a_list_of_spec_decs_is_one_sweep_each() -> None:
    specs = [None, isw.DraftHeads(kind="eagle", n=2, acceptance=0.7)]
    df = isw.sweep("Llama-3.1-8B", "H100", n_gpus=1, batch_size=[1, 8], semantics="serving", spec_dec=specs)
    assert df.height == 4
    assert df["draft"].to_list() == [None, None, "eagle", "eagle"]


def test_explain_shows_draft_and_verify() -> None:
    spec = isw.DraftHeads(kind="mtp", n=2, acceptance=[0.8, 0.6])
    ex = isw.explain("DeepSeek-V3", "H200", n_gpus=8, batch_size=16, context_len=2000, spec_dec=spec,
                     semantics="serving")
    sp = ex.speculative
    assert sp is not None
    assert sp.tokens_per_step == pytest.approx(1 + 0.8 + 0.48)
    assert sp.step_s == pytest.approx(sp.draft_s + sp.verify_s, rel=1e-12)
    assert ex.token_latency_s == pytest.approx(sp.step_s / sp.tokens_per_step, rel=1e-12)
    assert ex.step_s == pytest.approx(sp.verify_s, rel=1e-12)
    assert "draft" in ex.to_dict()["speculative"]


# ------------------------------------------------------------------ the engine equals the oracle


@st.composite
def speculations(draw: st.DrawFn, target: isw.Model) -> object:
    n = draw(st.integers(0, 4))
    acc = draw(st.one_of(st.floats(0, 1), st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["mtp", "eagle", "model"]))
    if kind == "model":
        drafter = draw(serving_models())
        return isw.DraftModel(drafter.with_(name="drafter"), n=n, acceptance=acc)
    return isw.DraftHeads(kind=kind, n=n, acceptance=acc, layers=draw(st.sampled_from([1, 1, 2])))


SPEC_COLUMNS = ("tpot_s", "draft_s", "verify_s", "tokens_per_step", "compute_s", "weight_memory_s",
                "kv_memory_s", "network_latency_s", "network_bandwidth_s", "kernel_s", "overlap_s",
                "weights_gb_per_gpu", "kv_gb_per_gpu", "max_batch_size", "draft_weights_gb_per_gpu",
                "kv_written_gb_per_gpu", "mfu", "usd_per_million_tokens")


@given(m=serving_models(), gpu=st.sampled_from(["H100", "B200", "H200"]), rt=runtimes(), prec=precisions(),
       n_gpus=st.sampled_from([1, 2, 4, 8, 16]), batch=st.integers(1, 512),
       ctx=st.sampled_from([0, 1, 1000, 4096, 32768]), pin=st.sampled_from(["none", "all"]), data=st.data())
@settings(**{**SETTINGS, "max_examples": 50})
def test_rust_equals_reference(m: isw.Model, gpu: str, rt: isw.Runtime, prec: isw.Precision, n_gpus: int,
                               batch: int, ctx: int, pin: str, data: st.DataObject) -> None:
    g = isw.gpu(gpu)
    spec = data.draw(speculations(m))
    from infersweep.speculative import draft_of, draft_precision

    draft = draft_of(m, spec)  # type: ignore[arg-type]
    for res, model in ((prec.resolve(m), m), (draft_precision(spec, draft, prec), draft)):  # type: ignore[arg-type]
        if any(int(res[k]) not in g.flops_by_bits for k in ("attention_bits", "ffn_bits", "expert_bits")) \
                or int(model.rate_bits) not in g.flops_by_bits:
            event("skipped: a precision the GPU has no rate for")
            return
    pins: dict[str, int] = {}
    if pin == "all":
        lay = data.draw(st.sampled_from(sr.layouts(m, n_gpus)))
        pins = {"tp": lay.tp, "pp": lay.pp, "ep": lay.ep, "attention_dp": lay.attention_dp}
    row = isw.sweep(m, g, n_gpus=n_gpus, batch_size=batch, context_len=ctx, semantics="serving", runtime=rt,
                    precision=prec, spec_dec=spec, **pins).row(0, named=True)
    want = spr.best_spec_step(m, g, n_gpus, batch, ctx, spec, rt, prec, **pins)  # type: ignore[arg-type]
    v = want.verify
    econ = sr.economics(m, g, n_gpus, batch, ctx, replace(v, latency_s=want.latency_s), want.tokens_per_step,
                        prec)
    expected = {
        "tpot_s": want.tpot_s, "draft_s": want.draft_s, "verify_s": v.step_s,
        "tokens_per_step": want.tokens_per_step, "compute_s": v.compute_s,
        "weight_memory_s": v.weight_memory_s,
        "kv_memory_s": v.kv_memory_s, "network_latency_s": v.network_latency_s,
        "network_bandwidth_s": v.network_bandwidth_s, "kernel_s": v.kernel_s, "overlap_s": v.overlap_s,
        "weights_gb_per_gpu": v.memory.weights / 1e9, "kv_gb_per_gpu": v.memory.kv / 1e9,
        "max_batch_size": v.memory.max_batch_size, "draft_weights_gb_per_gpu": want.draft_weights / 1e9,
        "kv_written_gb_per_gpu": want.kv_written / 1e9, "mfu": econ["mfu"],
        "usd_per_million_tokens": econ["usd_per_million_tokens"],
    }
    assert row["feasible"] == v.feasible
    assert (row["tp"], row["pp"], row["ep"], row["attention_dp"]) == (v.layout.tp, v.layout.pp, v.layout.ep,
                                                                      v.layout.attention_dp)
    for col in SPEC_COLUMNS:
        assert close(row[col], expected[col]), (col, row[col], expected[col])
    event(f"checked: {type(spec).__name__}, feasible={v.feasible}")
