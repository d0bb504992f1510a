"""Hugging Face config.json -> Model (infersweep.hf_config).

The configs under tests/data/hf/ were written by hand from the published config.json files (see
the README there); published parameter totals and the KV bytes per token are copied from the
project's reference table (CATALOG.md §2, "Models"). The tests never read the spec or the network.

By default a config loads faithfully, with the extensions of docs/extensions.md (layer groups,
shared experts, MLA's RoPE key, windows, tied embeddings, sinks); ``approximate=True`` gives the
closest model in `epoch`'s fields alone (Epoch's own approximation of DeepSeek-V3).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

import infersweep as isw
from infersweep import catalog
from infersweep.errors import ConfigError, InfersweepError, SpecError
from infersweep.hf_config import SUPPORTED_MODEL_TYPES, from_hf_config
from infersweep.specs import LayerGroup, Model

DATA = Path(__file__).parent / "data" / "hf"


def config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


# Configs epoch expresses exactly, and those that need the extensions (or approximate=True).
EXACT = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mistral-large-2407", "mixtral-8x7b-v0.1",
         "qwen3-32b", "qwen3-235b-a22b", "llama-2-7b", "llama-2-13b", "llama-2-70b"]
APPROX = ["deepseek-v3", "gpt-oss-120b", "gemma-3-27b-it", "llama-4-maverick-17b-128e"]


def load(name: str, **kw: Any) -> Model:
    """The faithful model (the default)."""
    return from_hf_config(DATA / f"{name}.json", **kw)


def approx(name: str, **kw: Any) -> Model:
    """`epoch`'s approximation (approximate=True)."""
    return from_hf_config(DATA / f"{name}.json", approximate=True, **kw)


# --- mapped fields (epoch's approximation for the last four) ---------------------------------------
# name: (d, f, L, H, g, h, V, E, k, (c, q) or None)
FIELDS: dict[str, tuple[Any, ...]] = {
    "llama-3.1-8b": (4096, 14336, 32, 32, 4, 128, 128256, 1, 1, None),
    "llama-3.1-70b": (8192, 28672, 80, 64, 8, 128, 128256, 1, 1, None),
    "llama-3.1-405b": (16384, 53248, 126, 128, 16, 128, 128256, 1, 1, None),  # 8 KV heads
    "mistral-large-2407": (12288, 28672, 88, 96, 12, 128, 32768, 1, 1, None),
    "mixtral-8x7b-v0.1": (4096, 14336, 32, 32, 4, 128, 32000, 8, 2, None),
    "qwen3-32b": (5120, 25600, 64, 64, 8, 128, 151936, 1, 1, None),  # head_dim 128 != 5120 / 64
    "qwen3-235b-a22b": (4096, 1536, 94, 64, 16, 128, 151936, 128, 8, None),
    "llama-2-7b": (4096, 11008, 32, 32, 1, 128, 32000, 1, 1, None),  # MHA: 32 KV heads
    "llama-2-13b": (5120, 13824, 40, 40, 1, 128, 32000, 1, 1, None),  # MHA: 40 KV heads
    "llama-2-70b": (8192, 28672, 80, 64, 8, 128, 32000, 1, 1, None),
    # approximations: Epoch's DeepSeek-V3 (58 MoE layers, shared expert as a 9th active one) ...
    "deepseek-v3": (7168, 2048, 58, 128, 1, 128, 129280, 256, 9, (512, 1536)),
    "gpt-oss-120b": (2880, 2880, 36, 64, 8, 64, 201088, 128, 4, None),
    "gemma-3-27b-it": (5376, 21504, 62, 32, 2, 128, 262208, 1, 1, None),
    # ... and Llama 4's FFN spread over all 48 layers: (24·128 + 24·2)/48 experts, (24·2 + 24·2)/48 active
    "llama-4-maverick-17b-128e": (5120, 8192, 48, 40, 5, 128, 202048, 65, 2, None),
}


@pytest.mark.parametrize("name", list(FIELDS))
def test_mapped_fields(name: str) -> None:
    d, f, L, H, g, h, V, E, k, mla = FIELDS[name]
    m = approx(name)
    assert isinstance(m, Model)
    assert (m.d_model, m.d_ff, m.n_layers, m.n_heads, m.group_size, m.head_dim) == (d, f, L, H, g, h)
    assert (m.vocab_size, m.n_experts, m.n_experts_active) == (V, E, k)
    assert (m.mla_kv_rank, m.mla_q_rank) == (mla or (None, None))
    assert (m.ffn_up_matrices, m.ffn_down_matrices) == (2, 1)  # every family has a gated FFN
    assert (m.weight_bytes, m.activation_bytes, m.parallel_attention) == (2, 2, False)
    assert m.name == name


def test_all_fixtures_covered() -> None:
    assert sorted(p.stem for p in DATA.glob("*.json")) == sorted(EXACT + APPROX) == sorted(FIELDS)
    assert sorted(GROUPS) == sorted(APPROX)


# --- the faithful models: layer groups and the other extensions ------------------------------------
# name: (layer groups, MLA RoPE key, tied embeddings, attention sinks)
GROUPS: dict[str, tuple[list[LayerGroup], float | None, bool, bool]] = {
    # 3 dense layers (intermediate_size 18432), then 58 MoE layers of 256 routed experts (8 active)
    # of moe_intermediate_size 2048 and 1 shared expert as wide; MLA with the 64-wide RoPE key
    "deepseek-v3": ([LayerGroup(3, 18432), LayerGroup(58, 2048, 256, 8, n_shared_experts=1)], 64, False,
                    False),
    # layer_types: 18 × [sliding_attention (window 128), full_attention], MoE on every layer; sinks
    "gpt-oss-120b": ([LayerGroup(18, 2880, 128, 4, window=128), LayerGroup(18, 2880, 128, 4)], None,
                     False, True),
    # 5 local (window 1024) : 1 global over 62 layers: layers 6, 12, ..., 60 are global; tied
    "gemma-3-27b-it": ([LayerGroup(52, 21504, window=1024), LayerGroup(10, 21504)], None, True, False),
    # MoE on odd layers (interleave_moe_layer_step 2) with one shared expert; chunked attention
    # (chunk 8192) on the RoPE layers, every layer but each 4th (no_rope_layer_interval 4), which
    # are all MoE layers
    "llama-4-maverick-17b-128e": ([LayerGroup(24, 16384, window=8192),
                                   LayerGroup(12, 8192, 128, 1, n_shared_experts=1, window=8192),
                                   LayerGroup(12, 8192, 128, 1, n_shared_experts=1)], None, False, False),
}


@pytest.mark.parametrize("name", list(GROUPS))
def test_faithful_extensions(name: str) -> None:
    groups, rope, tied, sinks = GROUPS[name]
    m = load(name)
    assert m.layer_groups == tuple(groups)
    assert (m.mla_rope_dim, m.tied_embeddings, m.attention_sinks) == (rope, tied, sinks)
    assert m.n_layers == sum(g.n_layers for g in groups)
    rep = groups[m.representative]
    assert (m.d_ff, m.n_experts, m.n_experts_active) == (rep.d_ff, rep.n_experts, rep.n_experts_active)
    assert "faithful, with extensions" in m.source and "APPROXIMATED" not in m.source
    a = approx(name)
    assert a.layer_groups is None and not a.uses_extensions and "APPROXIMATED" in a.source


@pytest.mark.parametrize("name", EXACT)
def test_exact_configs_need_no_extension(name: str) -> None:
    # none but lookup_embedding, which every faithful model has
    m = load(name)
    assert m.lookup_embedding and m.layer_groups is None and "exact epoch mapping" in m.source
    assert not m.with_(lookup_embedding=False).uses_extensions


# --- parameter counts vs published totals ------------------------------------------------------------
# epoch counts no norms, biases or routers. Llama 3.1 8B: 8,029,995,008 + 266,240 norm weights is the
# published 8,030,261,248; Mixtral: + norms 266,240 + routers 1,048,576 = 46,702,792,704.
# name: (published total, its relative tolerance, published active or None, its tolerance).
# Published active counts differ on the input embedding: OpenAI's (gpt-oss) and DeepSeek's leave it
# out, as the faithful count does (a lookup computes nothing); Mistral's, Qwen's and Meta's include
# it (their figures match P_active + V·d), as `epoch` does.
ACTIVE_WITH_INPUT_EMBEDDING = {"mixtral-8x7b-v0.1", "qwen3-235b-a22b", "llama-4-maverick-17b-128e"}
PUBLISHED: dict[str, tuple[float, float, float | None, float]] = {
    "llama-3.1-8b": (8.03e9, 0.01, None, 0),
    "llama-3.1-70b": (70.6e9, 0.01, None, 0),
    "llama-3.1-405b": (405.9e9, 0.01, None, 0),
    "mixtral-8x7b-v0.1": (46.7e9, 0.01, 12.9e9, 0.01),
    "mistral-large-2407": (123e9, 0.01, None, 0),
    "qwen3-32b": (32.8e9, 0.01, None, 0),
    "qwen3-235b-a22b": (235e9, 0.01, 22e9, 0.01),
    "gpt-oss-120b": (116.8e9, 0.01, None, 0),  # active: see test_gpt_oss_active_params
    "deepseek-v3": (671e9, 0.01, None, 0),  # active: see test_deepseek_v3_active_params
    "llama-4-maverick-17b-128e": (400e9, 0.01, 17e9, 0.01),
    # 27.4B includes the ~0.4B vision tower, which no config key describes
    "gemma-3-27b-it": (27.4e9 - 0.4e9, 0.01, None, 0),
    # the Llama 2 paper's 6.7B and 13B, and the 69B the Hub lists for Llama-2-70b-hf ("70B")
    "llama-2-7b": (6.74e9, 0.01, None, 0),
    "llama-2-13b": (13.0e9, 0.01, None, 0),
    "llama-2-70b": (69.0e9, 0.01, None, 0),
}
# epoch's approximation (approximate=True): the shared experts missing from the total, DeepSeek's
# 3 dense layers dropped, Gemma's tied embedding counted twice (+V·d = 1.41B)
PUBLISHED_APPROX: dict[str, tuple[float, float, float | None, float]] = {
    "deepseek-v3": (671e9, 0.01, 37e9, 0.05),
    "llama-4-maverick-17b-128e": (400e9, 0.01, 17e9, 0.03),
    "gemma-3-27b-it": (27.4e9, 0.04, None, 0),
    "gpt-oss-120b": (116.8e9, 0.01, None, 0),
}
EXACT_COUNTS = {  # the epoch formulas on the published shapes (8B and 70B: Epoch's own values)
    "llama-3.1-8b": 8_029_995_008,
    "llama-3.1-70b": 70_552_387_584,
    "llama-3.1-405b": 405_849_243_648,
    "mixtral-8x7b-v0.1": 46_701_477_888,
}


@pytest.mark.parametrize(("name", "approximate"), [(n, False) for n in PUBLISHED] +
                         [(n, True) for n in PUBLISHED_APPROX])
def test_params_vs_published(name: str, approximate: bool) -> None:
    total, tol, active, active_tol = (PUBLISHED_APPROX if approximate else PUBLISHED)[name]
    m = from_hf_config(DATA / f"{name}.json", approximate=approximate)
    assert m.total_params == pytest.approx(total, rel=tol)
    assert m.lookup_embedding is not approximate
    lookup = m.vocab_size * m.d_model if m.lookup_embedding else 0.0  # the input embedding
    if active is None and m.n_experts == 1:
        assert m.active_params == m.total_params - (0.0 if m.tied_embeddings else lookup)
    elif active is not None:
        counted = m.active_params + (lookup if name in ACTIVE_WITH_INPUT_EMBEDDING else 0.0)
        assert counted == pytest.approx(active, rel=active_tol)
    if name in EXACT_COUNTS:
        assert m.total_params == EXACT_COUNTS[name]


def test_gpt_oss_active_params() -> None:
    # OpenAI publishes 5.13B active parameters for gpt-oss-120b, without the input embedding, a
    # lookup: the faithful count is what a token computes with (5.118B without norms, routers and
    # sinks; epoch's count, with the embedding as a matmul, was 5.697B)
    m = load("gpt-oss-120b")
    assert m.active_params == pytest.approx(5.13e9, rel=0.005)
    assert m.active_params == m.with_(lookup_embedding=False).active_params - 201088 * 2880
    a = approx("gpt-oss-120b")  # epoch's count keeps the quirk
    assert not a.lookup_embedding and a.active_params - 201088 * 2880 == pytest.approx(5.13e9, rel=0.005)


def test_deepseek_v3_active_params() -> None:
    # Likewise DeepSeek's 37B: all of attention (with the RoPE key projections), the 3 dense FFNs,
    # 8 of 256 routed experts and the shared one in 58 layers, and the unembedding: 36.74B (epoch's
    # count with the input embedding as a matmul, 37.67B, is 1.8% off)
    m = load("deepseek-v3")
    assert m.active_params == pytest.approx(37e9, rel=0.01)
    assert m.with_(lookup_embedding=False).active_params == pytest.approx(37.67e9, rel=1e-3)
    assert m.total_params == pytest.approx(671e9, rel=0.001)


def test_lookup_embedding_flops_and_traffic() -> None:
    # the FLOPs drop 2·V·d per token; the weight traffic (the unembedding, read every pass) and
    # the capacity (every weight stored) do not change
    m = load("llama-3.1-8b")
    e = m.with_(lookup_embedding=False)
    rows = isw.sweep([m.with_(name="lookup"), e.with_(name="epoch")], "H100", n_gpus=1, batch_size=256,
                     context_len=0, semantics="epoch")
    lk, ep = rows.row(0, named=True), rows.row(1, named=True)
    flops = 2 * 128256 * 4096 * 256  # 2·V·d per token, 256 tokens
    assert ep["compute_s"] - lk["compute_s"] == pytest.approx(flops / (1e15 * 0.7), rel=1e-9)
    assert lk["memory_s"] == ep["memory_s"] and lk["feasible"] and ep["feasible"]
    assert lk["mfu"] < ep["mfu"]


def test_gemma_text_params() -> None:
    # the faithful count is the text model's ~27.0B; epoch counts the tied embedding twice
    m, a = load("gemma-3-27b-it"), approx("gemma-3-27b-it")
    assert m.total_params == pytest.approx(27.4e9 - 0.4e9, rel=0.01)
    assert a.total_params - m.total_params == 262208 * 5376


def test_llama_and_mixtral_within_one_percent() -> None:
    for name, published in (("llama-3.1-8b", 8.03e9), ("llama-3.1-70b", 70.6e9),
                            ("llama-3.1-405b", 405.9e9), ("mixtral-8x7b-v0.1", 46.7e9)):
        assert abs(load(name).total_params / published - 1) < 0.01, name


def test_epoch_llama_3_405b_differs_only_in_group_size() -> None:
    ours = load("llama-3.1-405b")
    epoch = catalog.model("Llama-3-405B")  # Epoch's notebook uses g = 8 (16 KV heads)
    assert ours.with_(name=epoch.name, group_size=8, lookup_embedding=False) == epoch
    assert ours.kv_bytes_per_token * 2 == epoch.kv_bytes_per_token


def test_deepseek_v3_reproduces_epochs_approximation() -> None:
    m = approx("deepseek-v3", weight_bytes=1)
    epoch = catalog.model("DeepSeek-V3-epoch")
    assert m.with_(name=epoch.name) == epoch
    assert (m.total_params, m.active_params) == (666_070_679_552, 35_515_793_408)


def test_maverick_spread_keeps_ffn_totals() -> None:
    m = approx("llama-4-maverick-17b-128e")
    p_expert = 3 * 5120 * 8192
    # 24 MoE layers of 128 routed experts, 24 dense layers of width 16384 = 2 experts; the shared
    # expert counts as active only (as Epoch does for DeepSeek-V3)
    assert m.ffn_params == (24 * 128 + 24 * 2) * p_expert
    assert m.sparsity == 32


# --- KV cache bytes per token (CATALOG.md's column, BF16) ------------------------------------------
KV = {
    "llama-3.1-8b": 131_072, "llama-3.1-70b": 327_680, "llama-3.1-405b": 516_096,
    "mistral-large-2407": 360_448, "mixtral-8x7b-v0.1": 131_072, "qwen3-32b": 262_144,
    "qwen3-235b-a22b": 192_512, "gpt-oss-120b": 73_728, "gemma-3-27b-it": 507_904,
    "llama-4-maverick-17b-128e": 196_608, "deepseek-v3": 70_272,
    # Llama 2 (2 · layers · KV heads · 128 · 2 bytes): MHA for 7B and 13B, GQA-8 for 70B
    "llama-2-7b": 524_288, "llama-2-13b": 819_200, "llama-2-70b": 327_680,
}


@pytest.mark.parametrize("name", list(KV))
def test_kv_bytes_per_token(name: str) -> None:
    # per token of context, every layer caching it (CATALOG's column); windows cap the total below
    assert load(name).kv_bytes_per_token == KV[name]


def test_kv_bytes_for_a_long_context_with_windows() -> None:
    ctx = 32768
    # gpt-oss: 18 layers keep 128 tokens, 18 keep all; 2·8·64·2 = 2,048 B per layer per token
    assert load("gpt-oss-120b").kv_bytes_for_context(ctx) == 18 * 2048 * 128 + 18 * 2048 * ctx
    # gemma-3: 52 local layers of 2·16·128·2 = 8,192 B keep 1024 tokens, 10 global keep all
    assert load("gemma-3-27b-it").kv_bytes_for_context(ctx) == 52 * 8192 * 1024 + 10 * 8192 * ctx
    # Llama 4: the 36 chunked layers keep at most 8192 (2·8·128·2 = 4,096 B each), 12 keep all
    assert load("llama-4-maverick-17b-128e").kv_bytes_for_context(ctx) == 36 * 4096 * 8192 + 12 * 4096 * ctx
    # DeepSeek: no window; (512 + 64)·61·2 per token
    assert load("deepseek-v3").kv_bytes_for_context(ctx) == 70_272 * ctx


def test_kv_bytes_scale_with_activation_bytes() -> None:
    assert load("llama-3.1-70b", activation_bytes=1).kv_bytes_per_token == 327_680 / 2
    # an FP8 KV cache under BF16 activations: CATALOG's 35,136 B for DeepSeek-V3
    m = load("deepseek-v3", kv_bytes=1)
    assert (m.kv_bytes_per_token, m.activation_bytes, m.kv_bytes) == (35_136, 2, 1)


def test_precision_arguments() -> None:
    m = load("gpt-oss-120b", weight_bytes=0.53125, compute_bits=16, kv_bytes=1)
    assert (m.weight_bytes, m.compute_bits, m.kv_bytes) == (0.53125, 16, 1)
    assert m.rate_bits == 16
    with pytest.raises(SpecError, match="'compute_bits' must be None or one of 4, 8, 16"):
        load("llama-3.1-8b", compute_bits=12)
    with pytest.raises(SpecError, match="'kv_bytes' must be None or a positive number"):
        load("llama-3.1-8b", kv_bytes=0)


def test_deepseek_kv_misses_rope_key_and_dense_layers() -> None:
    # CATALOG: 70,272 B = (512 latent + 64 RoPE key)·61 layers·2 B; Epoch's approximation caches
    # only the latent of the 58 MoE layers
    m = approx("deepseek-v3")
    assert m.kv_bytes_per_token == 512 * 58 * 2 == 59_392
    assert (512 + 64) * 61 * 2 == 70_272
    assert from_hf_config(DATA / "deepseek-v3.json", approximate=True,
                          activation_bytes=1).kv_bytes_per_token == 29_696


# --- epoch's approximation, recorded -------------------------------------------------------------------
NEEDS_APPROX = {
    "deepseek-v3": ["first_k_dense_replace=3", "n_shared_experts=1", "qk_rope_head_dim=64"],
    "gpt-oss-120b": ["layer_types: 18 of 36 layers sliding_attention", "sliding_window=128",
                     "model_type='gpt_oss'", "sinks"],
    "gemma-3-27b-it": ["sliding_window_pattern=6", "sliding_window=1024", "tie_word_embeddings=True"],
    "llama-4-maverick-17b-128e": ["interleave_moe_layer_step=2", "attention_chunk_size=8192",
                                  "model_type='llama4'", "shared expert"],
}


@pytest.mark.parametrize("name", list(NEEDS_APPROX))
def test_approximations_recorded_in_source(name: str) -> None:
    m = approx(name)
    assert "APPROXIMATED" in m.source
    for fragment in NEEDS_APPROX[name]:
        if "=" in fragment or ":" in fragment:
            assert fragment in m.source, (name, fragment)


@pytest.mark.parametrize("name", EXACT)
def test_exact_configs(name: str) -> None:
    m = from_hf_config(DATA / f"{name}.json")
    assert "exact epoch mapping" in m.source and "APPROXIMATED" not in m.source
    # the epoch model but for the input embedding, which the faithful model does not compute
    assert m.with_(lookup_embedding=False) == from_hf_config(DATA / f"{name}.json", approximate=True)


@pytest.mark.parametrize(("key", "value", "fragment"), [("v_head_dim", 96, "v_head_dim=96"),
                                                        ("q_lora_rank", None, "q_lora_rank=None")])
def test_what_even_the_extensions_cannot_express(key: str, value: Any, fragment: str) -> None:
    cfg = config("deepseek-v3")
    cfg[key] = value
    with pytest.raises(ConfigError) as info:
        from_hf_config(cfg)
    msg = str(info.value)
    assert fragment in msg and "even with its extensions" in msg and "approximate=True" in msg
    assert "APPROXIMATED" in from_hf_config(cfg, approximate=True).source


def test_gemma_defaults_named_in_source() -> None:
    src = load("gemma-3-27b-it").source
    assert "vocab_size=262208" in src and "transformers defaults" in src


def test_quantization_is_mentioned_not_applied() -> None:
    m = load("deepseek-v3")
    assert m.weight_bytes == 2 and "'fp8'" in m.source


# --- more features, on edited configs ------------------------------------------------------------------
def mistral_7b() -> dict[str, Any]:
    """Mistral 7B v0.1's shape: a 4096-token sliding window."""
    cfg = config("mistral-large-2407")
    cfg.update(hidden_size=4096, intermediate_size=14336, num_attention_heads=32, num_hidden_layers=32,
               num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768, sliding_window=4096)
    return cfg


def test_sliding_window() -> None:
    m = from_hf_config(mistral_7b())
    assert m.layer_groups == (LayerGroup(32, 14336, window=4096),)
    assert m.kv_bytes_for_context(10_000) == 2 * 8 * 128 * 32 * 2 * 4096
    a = from_hf_config(mistral_7b(), approximate=True)
    assert "sliding_window=4096 (sliding-window attention): treated as full attention" in a.source
    assert a.kv_bytes_per_token == 2 * 8 * 128 * 32 * 2 and a.layer_groups is None


def test_window_that_never_binds_is_not_a_feature() -> None:
    cfg = mistral_7b()
    cfg["sliding_window"] = 32768  # = max_position_embeddings
    assert "exact" in from_hf_config(cfg).source


def test_qwen_sliding_window_only_when_used() -> None:
    cfg = config("qwen3-32b")
    cfg.update(model_type="qwen2", sliding_window=4096)  # use_sliding_window false: not used
    assert from_hf_config(cfg).layer_groups is None
    cfg["use_sliding_window"] = True  # but max_window_layers = 64: no layer from 64 on
    assert from_hf_config(cfg).layer_groups is None
    cfg["max_window_layers"] = 40  # layers 40.. slide (transformers: i >= max_window_layers)
    assert from_hf_config(cfg).layer_groups == (LayerGroup(40, 25600), LayerGroup(24, 25600, window=4096))
    assert "use_sliding_window=True" in from_hf_config(cfg, approximate=True).source


def test_layer_types_all_full_is_exact() -> None:
    cfg = config("qwen3-32b")
    cfg["layer_types"] = ["full_attention"] * 64
    assert "exact" in from_hf_config(cfg).source


def test_tied_embeddings() -> None:
    cfg = config("llama-3.1-8b")
    cfg["tie_word_embeddings"] = True
    m = from_hf_config(cfg)
    assert m.tied_embeddings and m.embedding_params == 128256 * 4096 and "tied embeddings" in m.source
    a = from_hf_config(cfg, approximate=True)
    assert a.embedding_params == 2 * 128256 * 4096  # epoch counts both
    assert "tie_word_embeddings=True" in a.source


def test_qwen3_moe_dense_layers_are_spread() -> None:
    cfg = config("qwen3-235b-a22b")
    cfg["decoder_sparse_step"] = 2
    assert from_hf_config(cfg).layer_groups == (LayerGroup(47, 12288), LayerGroup(47, 1536, 128, 8))
    m = from_hf_config(cfg, approximate=True)
    eq = 12288 / 1536  # a dense layer = 8 experts of width 1536
    assert m.n_layers == 94
    assert m.n_experts == pytest.approx((47 * 128 + 47 * eq) / 94)
    assert m.n_experts_active == pytest.approx((47 * 8 + 47 * eq) / 94)
    cfg = config("qwen3-235b-a22b")
    cfg["mlp_only_layers"] = [0, 1]
    assert from_hf_config(cfg).layer_groups == (LayerGroup(2, 12288), LayerGroup(92, 1536, 128, 8))
    assert "mlp_only_layers=[0, 1]" in from_hf_config(cfg, approximate=True).source


def test_mla_without_query_compression() -> None:
    cfg = config("deepseek-v3")
    cfg["q_lora_rank"] = None
    with pytest.raises(ConfigError, match="q_lora_rank=None"):
        from_hf_config(cfg)  # not even with the extensions
    m = from_hf_config(cfg, approximate=True)
    d, hh = 7168, 128 * 128
    assert m.mla_q_rank == pytest.approx(hh * d / (d + hh))
    # the query parameters equal those of a direct d -> H·h projection
    assert m.mla_q_rank * d + hh * m.mla_q_rank == pytest.approx(hh * d)


def test_deepseek_without_dense_or_shared_or_rope_is_exact() -> None:
    cfg = config("deepseek-v3")
    cfg.update(first_k_dense_replace=0, n_shared_experts=0, qk_rope_head_dim=0)
    m = from_hf_config(cfg)
    assert (m.n_layers, m.n_experts_active) == (61, 8) and "exact" in m.source
    assert m.lookup_embedding and m.with_(lookup_embedding=False) == from_hf_config(cfg, approximate=True)


def test_nested_and_flat_gemma_text_config_agree() -> None:
    for approximate in (False, True):
        nested = from_hf_config(DATA / "gemma-3-27b-it.json", approximate=approximate)
        flat = from_hf_config(config("gemma-3-27b-it")["text_config"], approximate=approximate,
                              name=nested.name)
        assert flat == nested


def test_llama4_text_config() -> None:
    text = config("llama-4-maverick-17b-128e")["text_config"]
    m = from_hf_config(text, approximate=True, name="maverick-text")
    assert m.with_(name="x") == approx("llama-4-maverick-17b-128e").with_(name="x")
    assert from_hf_config(text, name="x") == load("llama-4-maverick-17b-128e").with_(name="x")
    scout = copy.deepcopy(text)
    scout.update(num_local_experts=16, interleave_moe_layer_step=1)  # Llama 4 Scout: MoE on every layer
    s = from_hf_config(scout, approximate=True)
    assert (s.n_experts, s.n_experts_active, s.n_layers) == (16, 2, 48)
    assert "interleave_moe_layer_step" not in s.source
    f = from_hf_config(scout)
    assert f.layer_groups == (LayerGroup(36, 8192, 16, 1, n_shared_experts=1, window=8192),
                              LayerGroup(12, 8192, 16, 1, n_shared_experts=1))
    assert "chunked attention (attention_chunk_size=8192) modelled as a window" in f.source
    # an explicit no_rope_layers list (1: RoPE, chunked) wins over the interval
    scout["no_rope_layers"] = [1] * 47 + [0]
    assert from_hf_config(scout).layer_groups[0].n_layers == 47  # type: ignore[index]


def test_layer_types_kinds() -> None:
    cfg = config("gpt-oss-120b")
    cfg["layer_types"] = ["chunked_attention"] * 36
    with pytest.raises(ConfigError, match="missing required key 'attention_chunk_size'"):
        from_hf_config(cfg)
    cfg["attention_chunk_size"] = 4096
    assert from_hf_config(cfg).layer_groups == (LayerGroup(36, 2880, 128, 4, window=4096),)
    cfg["layer_types"] = ["global"] * 36
    with pytest.raises(ConfigError, match="'layer_types' has 'global'"):
        from_hf_config(cfg)
    cfg["layer_types"] = ["full_attention"] * 35
    with pytest.raises(ConfigError, match="'layer_types' has 35 entries for num_hidden_layers"):
        from_hf_config(cfg)


# --- names -----------------------------------------------------------------------------------------------
def test_names(tmp_path: Path) -> None:
    cfg = config("llama-3.1-8b")
    assert from_hf_config(cfg).name == "llama"  # a dict without _name_or_path: the model_type
    assert from_hf_config(cfg, name="Llama 3.1 8B").name == "Llama 3.1 8B"
    assert from_hf_config({**cfg, "_name_or_path": "meta-llama/Llama-3.1-8B"}).name == "Llama-3.1-8B"
    folder = tmp_path / "Llama-3.1-8B-Instruct"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    assert from_hf_config(folder).name == "Llama-3.1-8B-Instruct"  # a folder holding config.json
    assert from_hf_config(str(folder / "config.json")).name == "Llama-3.1-8B-Instruct"


# --- errors ---------------------------------------------------------------------------------------------
def test_unknown_model_type_lists_supported() -> None:
    cfg = {**config("llama-3.1-8b"), "model_type": "falcon"}
    with pytest.raises(ConfigError) as info:
        from_hf_config(cfg)
    msg = str(info.value)
    assert "unsupported model_type 'falcon'" in msg
    for mt in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "deepseek_v3", "gpt_oss",
               "gemma3", "llama4"):
        assert mt in SUPPORTED_MODEL_TYPES and f"{mt}," in msg + ","
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, InfersweepError)


def test_missing_model_type() -> None:
    cfg = config("llama-3.1-8b")
    del cfg["model_type"]
    with pytest.raises(ConfigError, match="missing required key 'model_type'"):
        from_hf_config(cfg)


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize(("name", "key"), [("llama-3.1-8b", "hidden_size"),
                                           ("llama-3.1-8b", "vocab_size"),
                                           ("mixtral-8x7b-v0.1", "num_local_experts"),
                                           ("qwen3-235b-a22b", "moe_intermediate_size"),
                                           ("deepseek-v3", "kv_lora_rank")])
def test_missing_key_is_named(name: str, key: str, approximate: bool) -> None:
    cfg = config(name)
    del cfg[key]
    with pytest.raises(ConfigError, match=f"missing required key '{key}'"):
        from_hf_config(cfg, approximate=approximate)


@pytest.mark.parametrize("approximate", [False, True])
def test_missing_dense_width_of_interleaved_llama4(approximate: bool) -> None:
    cfg = config("llama-4-maverick-17b-128e")
    del cfg["text_config"]["intermediate_size_mlp"]
    with pytest.raises(ConfigError, match="missing required key 'intermediate_size_mlp'"):
        from_hf_config(cfg, approximate=approximate)


@pytest.mark.parametrize("value", [0, -4, 4096.5, "4096", True])
def test_bad_value_is_named(value: Any) -> None:
    cfg = {**config("llama-3.1-8b"), "hidden_size": value}
    with pytest.raises(ConfigError, match=r"key 'hidden_size' must be a positive integer"):
        from_hf_config(cfg)


def test_heads_not_divisible() -> None:
    cfg = {**config("llama-3.1-8b"), "num_key_value_heads": 5}
    with pytest.raises(ConfigError, match=r"num_attention_heads \(32\) is not a multiple of "
                                          r"num_key_value_heads \(5\)"):
        from_hf_config(cfg)


def test_malformed_json_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "llama", "hidden_size": 4096,')
    with pytest.raises(ConfigError, match="is not valid JSON"):
        from_hf_config(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        from_hf_config(bad)


def test_missing_file_and_hub_ids_are_not_fetched(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        from_hf_config(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="never the network"):
        from_hf_config("meta-llama/Llama-3.1-8B")


def test_wrong_argument_types() -> None:
    with pytest.raises(ConfigError, match=r"expected a path to a config\.json or a dict"):
        from_hf_config(42)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="'weight_bytes' must be a positive number"):
        from_hf_config(config("llama-3.1-8b"), weight_bytes=0)
    with pytest.raises(SpecError, match="'activation_bytes'"):
        from_hf_config(config("llama-3.1-8b"), activation_bytes=math.nan)


def test_weight_bytes_passed_through() -> None:
    m = load("llama-3.1-70b", weight_bytes=1)
    assert m.weight_bytes == 1 and m.weight_bits == 8
    assert m.with_(name="Llama-3-70B-8bit", lookup_embedding=False) == catalog.model("Llama-3-70B-8bit")


def test_input_dict_not_modified() -> None:
    cfg = config("gemma-3-27b-it")
    before = copy.deepcopy(cfg)
    from_hf_config(cfg, approximate=True)
    from_hf_config(cfg)
    assert cfg == before


def test_model_classmethod_reads_the_same_config() -> None:
    import infersweep as isw

    path = sorted(Path(__file__).parent.joinpath("data", "hf").glob("*.json"))[0]
    assert isw.Model.from_hf_config(path) == from_hf_config(path)
    assert isw.Model.from_hf_config(path, approximate=True) == from_hf_config(path, approximate=True)
