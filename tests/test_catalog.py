"""The catalog: Epoch entries reproduced exactly, lookup, errors and tables.

The expected numbers are copied from the project's spec (CATALOG.md §1 and docs/validation.md,
"Derived model quantities"); the tests never read the spec itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from infersweep import catalog
from infersweep.errors import CatalogError, InfersweepError, SpecError
from infersweep.hf_config import from_hf_config
from infersweep.specs import Gpu, Model, SpecDec

# --- CATALOG.md §1, Hardware -----------------------------------------------------------------
# notebook key: (canonical name, flops_by_bits, u_flop, beta, u_mem, HBM, B_intra, B_inter, node,
#                $/h, tau, collectives, lat_LL, lat_LL128)
_NCCL = (6.8e-6, 14e-6)
GPUS: dict[str, tuple[Any, ...]] = {
    "H100": ("H100", {4: 2e15, 8: 2e15, 16: 1e15}, 0.7, 3.3e12, 0.75, 8e10, 2.25e11, 2.5e10, 8,
             2.1, 4e-6, "nccl", *_NCCL),
    "H800": ("H800", {4: 2e15, 8: 2e15, 16: 1e15}, 0.7, 3.3e12, 0.75, 8e10, 1e11, 2.5e10, 8,
             2.1, 4e-6, "nccl", *_NCCL),
    "H20": ("H20", {4: 2.96e14, 8: 2.96e14, 16: 1.48e14}, 1, 4e12, 0.75, 9.6e10, 2.25e11, 2.5e10, 8,
            13.5 / 24 * 2.10, 4e-6, "nccl", *_NCCL),
    "H100_ZL": ("H100-ZL", {4: 2e15, 8: 2e15, 16: 1e15}, 1, 3.3e12, 1, 8e10, 2.25e11, 2.5e10, 8,
                2.1, 0, "nccl", 0, 0),
    "H200": ("H200", {4: 2e15, 8: 2e15, 16: 1e15}, 0.6, 4.8e12, 0.75, 1.41e11, 2.25e11, 2.5e10, 8,
             3.5 / 2.5 * 2.10, 4e-6, "nccl", *_NCCL),
    "A100": ("A100", {8: 6.24e14, 16: 3.12e14}, 0.8, 2e12, 0.75, 8e10, 1.5e11, 1.25e10, 8,
             2.26 * 2 / 3, 4e-6, "nccl", *_NCCL),
    "V100": ("V100", {8: 1e14, 16: 1e14}, 0.8, 9e11, 0.75, 1.6e10, 7.5e10, 6.25e9, 8,
             0.63 * 2 / 3, 4e-6, "nccl", *_NCCL),
    "TPU_v4": ("TPU-v4", {8: 2.6e14, 16: 2.6e14}, 1, 1.6e12, 1, 3.2e10, math.inf, 2.5e11, 1,
               1, 4e-6, "torus", *_NCCL),
    "Groq_LPU": ("Groq-LPU", {8: 7.5e14, 16: 1.88e14}, 1, 8e13, 1, 2.3e8, math.inf, 1.65e11, 1,
                 1, 4e-6, "torus", *_NCCL),
}
GPU_FIELDS = ("name", "flops_by_bits", "flop_utilization", "hbm_bandwidth", "mem_utilization", "hbm_bytes",
              "intra_node_bandwidth", "inter_node_bandwidth", "gpus_per_node", "usd_per_hour",
              "kernel_latency_s", "collectives", "ll_latency_s", "ll128_latency_s")

# --- CATALOG.md §1, Models --------------------------------------------------------------------
# notebook key: (canonical name, d, f, a_up, a_dn, L, E, k, H, g, h, (c, q) or None, V, w, a, parallel)
MODELS: dict[str, tuple[Any, ...]] = {
    "GPT_4": ("GPT-4", 12288, 36864, 1, 1, 120, 16, 2, 96, 96, 192, None, 100256, 2, 2, False),
    "GPT_3_5": ("GPT-3.5", 4608, 18432, 1, 1, 32, 4, 2, 32, 32, 144, None, 0, 2, 2, False),
    "GPT_3": ("GPT-3", 12288, 49152, 1, 1, 96, 1, 1, 96, 1, 128, None, 50257, 2, 2, False),
    "PaLM_540B": ("PaLM-540B", 18432, 73728, 2, 1, 118, 1, 1, 48, 48, 256, None, 256000, 2, 2, True),
    "PaLM_8B": ("PaLM-8B", 4096, 16384, 2, 1, 32, 1, 1, 16, 16, 256, None, 256000, 1, 2, True),
    "Falcon_180B": ("Falcon-180B", 14848, 59392, 1, 1, 80, 1, 1, 232, 232, 64, None, 65024, 2, 2, False),
    "GPT_J_6B": ("GPT-J-6B", 4096, 16384, 1, 1, 28, 1, 1, 16, 1, 256, None, 50257, 2, 2, False),
    "Mixtral_8x22B": ("Mixtral-8x22B", 6144, 16384, 2, 1, 56, 8, 2, 48, 6, 128, None, 32000, 2, 2, False),
    "Mixtral_8x22B_MQA": ("Mixtral-8x22B-MQA", 6144, 16384, 2, 1, 56, 8, 2, 48, 48, 128, None, 32000,
                          2, 2, False),
    "Mixtral_8x7B": ("Mixtral-8x7B", 4096, 14336, 2, 1, 32, 8, 2, 32, 4, 128, None, 32000, 2, 2, False),
    "Mistral_Large_2": ("Mistral-Large-2", 12288, 28672, 2, 1, 88, 1, 1, 96, 12, 128, None, 32768,
                        2, 2, False),
    "Llama_3_8B": ("Llama-3-8B", 4096, 14336, 2, 1, 32, 1, 1, 32, 4, 128, None, 128256, 2, 2, False),
    "Llama_3_8B_MQA": ("Llama-3-8B-MQA", 4096, 14336, 2, 1, 32, 1, 1, 32, 32, 128, None, 128256,
                       2, 2, False),
    "Llama_3_8B_8_bit": ("Llama-3-8B-8bit", 4096, 14336, 2, 1, 32, 1, 1, 32, 4, 128, None, 128256,
                         2, 1, False),
    "Llama_3_70B": ("Llama-3-70B", 8192, 28672, 2, 1, 80, 1, 1, 64, 8, 128, None, 128256, 2, 2, False),
    "Llama_3_70B_MQA": ("Llama-3-70B-MQA", 8192, 28672, 2, 1, 80, 1, 1, 64, 64, 128, None, 128256,
                        2, 2, False),
    "Llama_3_70B_8_bit": ("Llama-3-70B-8bit", 8192, 28672, 2, 1, 80, 1, 1, 64, 8, 128, None, 128256,
                          1, 2, False),
    "Llama_3_70B_4_bit": ("Llama-3-70B-4bit", 8192, 28672, 2, 1, 80, 1, 1, 64, 8, 128, None, 128256,
                          0.5, 2, False),
    "Llama_3_405B": ("Llama-3-405B", 16384, 53248, 2, 1, 126, 1, 1, 128, 8, 128, None, 128256,
                     2, 2, False),
    "Llama_3_405B_8_bit": ("Llama-3-405B-8bit", 16384, 53248, 2, 1, 126, 1, 1, 128, 8, 128, None, 128256,
                           1, 2, False),
    # the notebook's key DeepSeek_V3 is not an alias: it reads as the faithful DeepSeek-V3's name
    "DeepSeek-V3-epoch": ("DeepSeek-V3-epoch", 7168, 2048, 2, 1, 58, 256, 9, 128, 1, 128, (512, 1536), 129280,
                    1, 2, False),
}

# --- docs/validation.md, derived model quantities: P_total, P_active, kappa, s ----------------------
DERIVED = [
    ("GPT-4", 1_796_850_057_216, 274_821_021_696, 92_160, 8),
    ("Mixtral-8x22B", 140_617_187_328, 39_148_584_960, 229_376, 4),
    ("Llama-3-405B", 410_077_102_080, 410_077_102_080, 1_032_192, 1),
    ("Llama-3-70B", 70_552_387_584, 70_552_387_584, 327_680, 1),
    ("Llama-3-8B", 8_029_995_008, 8_029_995_008, 131_072, 1),
    ("Mistral-Large-2", 122_607_894_528, 122_607_894_528, 360_448, 1),
    ("DeepSeek-V3-epoch", 666_070_679_552, 35_515_793_408, 59_392, 28),
]


# --- the Epoch entries, exactly ---------------------------------------------------------------
def test_names_in_catalog_order() -> None:
    assert catalog.model_names()[:len(MODELS)] == [row[0] for row in MODELS.values()]
    assert catalog.gpu_names()[:len(GPUS)] == [row[0] for row in GPUS.values()]


@pytest.mark.parametrize("key", list(GPUS))
def test_gpu_fields_exact(key: str) -> None:
    g = catalog.gpu(GPUS[key][0])
    assert isinstance(g, Gpu)
    for fname, expected in zip(GPU_FIELDS, GPUS[key], strict=True):
        assert getattr(g, fname) == expected, (key, fname)
    assert g.flops_by_bits == GPUS[key][1]
    assert all(type(b) is int for b in g.flops_by_bits)


def test_gpu_spot_checks() -> None:
    h100 = catalog.gpu("H100")
    assert h100.usd_per_hour == 2.1
    assert (h100.flop_utilization, h100.mem_utilization) == (0.7, 0.75)
    assert (h100.ll_latency_s, h100.ll128_latency_s, h100.kernel_latency_s) == (6.8e-6, 14e-6, 4e-6)
    assert catalog.gpu("H800").intra_node_bandwidth == 1e11
    tpu = catalog.gpu("TPU-v4")
    assert math.isinf(tpu.intra_node_bandwidth) and tpu.collectives == "torus"
    assert 4 not in tpu.flops_by_bits
    zl = catalog.gpu("H100-ZL")
    assert (zl.kernel_latency_s, zl.ll_latency_s, zl.ll128_latency_s) == (0, 0, 0)
    assert (zl.flop_utilization, zl.mem_utilization) == (1, 1)
    assert zl.flops_by_bits == h100.flops_by_bits
    # prices derived from Nebius list prices; stored as the Python float of the expression
    assert catalog.gpu("A100").usd_per_hour == 2.26 * 2 / 3 == pytest.approx(1.50667, abs=1e-5)
    assert catalog.gpu("V100").usd_per_hour == 0.63 * 2 / 3 == pytest.approx(0.42)
    assert catalog.gpu("H200").usd_per_hour == 3.5 / 2.5 * 2.10 == pytest.approx(2.94)
    assert catalog.gpu("H20").usd_per_hour == 13.5 / 24 * 2.10 == pytest.approx(1.18125)
    assert catalog.gpu("Groq-LPU").hbm_bytes == 2.3e8


@pytest.mark.parametrize("key", list(MODELS))
def test_model_fields_exact(key: str) -> None:
    name, d, f, up, dn, L, E, k, H, g, h, mla, V, w, a, par = MODELS[key]
    m = catalog.model(name)
    assert isinstance(m, Model)
    assert m.name == name
    assert (m.d_model, m.d_ff, m.ffn_up_matrices, m.ffn_down_matrices) == (d, f, up, dn)
    assert (m.n_layers, m.n_experts, m.n_experts_active) == (L, E, k)
    assert (m.n_heads, m.group_size, m.head_dim) == (H, g, h)
    assert (m.mla_kv_rank, m.mla_q_rank) == (mla or (None, None))
    assert (m.vocab_size, m.weight_bytes, m.activation_bytes, m.parallel_attention) == (V, w, a, par)


def test_gpt_3_5_has_no_vocabulary() -> None:
    m = catalog.model("GPT-3.5")
    assert m.vocab_size == 0 and m.embedding_params == 0


@pytest.mark.parametrize(("name", "p_total", "p_active", "kappa", "s"), DERIVED)
def test_derived_quantities(name: str, p_total: int, p_active: int, kappa: int, s: int) -> None:
    m = catalog.model(name)
    assert m.total_params == p_total
    assert m.active_params == p_active
    assert m.kv_bytes_per_token == kappa
    assert m.sparsity == s


def test_derived_gpt4_scalings_are_not_catalog_entries() -> None:
    names = {n.casefold() for n in catalog.model_names()}
    assert not any("/" in n or "gpt-4-" in n for n in names)
    assert sum(n.startswith("gpt-4") for n in names) == 1


def test_every_entry_has_source_and_description() -> None:
    for kind in ("models", "gpus"):
        for e in catalog._load()[kind].entries:
            assert e.source.strip(), e.name
            assert e.description.strip(), e.name
            assert e.spec.source == e.source
            assert e.file.endswith(".toml")
    epoch_gpus = [e for e in catalog._load()["gpus"].entries if e.file == "epoch_gpus.toml"]
    assert [e.name for e in epoch_gpus] == [row[0] for row in GPUS.values()]
    assert all(e.as_of == "" and e.notes == "" for e in epoch_gpus)
    assert "2/3" in catalog._load()["gpus"].index["h100"].source.replace(" ", "")


# --- lookup --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["Llama-3-70B", "llama_3_70b", "LLAMA-3-70B", "Llama 3 70B",
                                      "Llama_3_70B", "llama3-70b", "  llama 3.70b ", "Meta-Llama-3-70B"])
def test_model_lookup_spellings(spelling: str) -> None:
    assert catalog.model(spelling) is catalog.model("Llama-3-70B")


@pytest.mark.parametrize("key", list(MODELS))
def test_notebook_model_keys_are_aliases(key: str) -> None:
    assert catalog.model(key).name == MODELS[key][0]
    entry = catalog._load()["models"].index[catalog._normalise(key)]
    if key != entry.name:  # the Epoch approximation of DeepSeek-V3 has no notebook alias
        assert entry.aliases[0] == key
    if not entry.name.endswith("-epoch"):  # the alias that says which catalog it is from
        assert entry.aliases[-1] == f"{entry.name}-epoch"


@pytest.mark.parametrize("key", list(GPUS))
def test_notebook_gpu_keys_are_aliases(key: str) -> None:
    assert catalog.gpu(key).name == GPUS[key][0]
    assert catalog.gpu(key.lower()).name == GPUS[key][0]
    entry = catalog._load()["gpus"].index[catalog._normalise(key)]
    assert entry.aliases[0] == key and entry.aliases[-1] == f"{entry.name}-epoch"


def test_other_aliases() -> None:
    assert catalog.model("deepseek_v3_epoch").name == "DeepSeek-V3-epoch"
    assert catalog.model("gpt-3.5").name == "GPT-3.5"
    assert catalog.model("GPT_3_5").name == "GPT-3.5"
    assert catalog.model("GPT3").name == "GPT-3"
    assert catalog.model("Llama_3_8B_8_bit").activation_bytes == 1
    assert catalog.model("Llama_3_70B_8_bit").weight_bytes == 1
    assert catalog.gpu("tpu v4").name == "TPU-v4"
    assert catalog.gpu("groq").name == "Groq-LPU"
    assert catalog.gpu("h100_zl").name == "H100-ZL"


def test_specs_pass_through() -> None:
    m = catalog.model("Llama-3-8B").with_(n_layers=2)
    assert catalog.model(m) is m
    g = catalog.gpu("H100").with_(usd_per_hour=3.0)
    assert catalog.gpu(g) is g


def test_spec_dec_drafter_by_name() -> None:
    sd = SpecDec("Llama_3_8B_MQA", 0.8)
    assert sd.drafter_model is catalog.model("Llama-3-8B-MQA")


def test_unknown_model_lists_close_matches() -> None:
    with pytest.raises(CatalogError) as info:
        catalog.model("Llama-3-7B")
    err = info.value
    assert isinstance(err, KeyError) and isinstance(err, InfersweepError)
    msg = str(err)
    assert "model" in msg and "'Llama-3-7B'" in msg
    assert "'Llama-3-70B'" in msg and "'Llama-3-8B'" in msg
    assert "infersweep.catalog_models()" in msg
    suggestions = msg.split("close matches:")[1].split(".")[0]
    assert 1 <= suggestions.count("'") // 2 <= 5


def test_unknown_gpu() -> None:
    with pytest.raises(CatalogError, match=r"unknown gpu 'H1000'.*'H100'.*infersweep\.catalog_gpus\(\)"):
        catalog.gpu("H1000")
    with pytest.raises(CatalogError, match="no close match"):
        catalog.gpu("zzzzzz")
    with pytest.raises(CatalogError, match="unknown model 'H100'"):
        catalog.model("H100")


def test_wrong_type() -> None:
    with pytest.raises(CatalogError, match="expected a catalog name or a Model"):
        catalog.model(42)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="expected a catalog name or a Gpu"):
        catalog.gpu(catalog.model("GPT-3"))  # type: ignore[arg-type]


# --- tables --------------------------------------------------------------------------------------
def test_catalog_models_frame() -> None:
    df = catalog.catalog_models()
    assert isinstance(df, pl.DataFrame)
    assert df.height == len(catalog.model_names()) == len(MODELS) + len(MODERN_MODELS)
    assert df["name"].to_list() == catalog.model_names()
    expected = ["name", "aliases", "catalog", "d_model", "d_ff", "n_layers", "n_heads", "group_size",
                "vocab_size", "head_dim", "n_experts", "n_experts_active", "ffn_up_matrices",
                "ffn_down_matrices", "mla_kv_rank", "mla_q_rank", "weight_bytes", "activation_bytes",
                "parallel_attention",
                "kv_bytes", "compute_bits", "tied_embeddings", "lookup_embedding", "mla_rope_dim",
                "attention_sinks",
                "layer_groups", "total_params", "active_params", "kv_bytes_per_token", "source",
                "description"]
    assert df.columns == expected
    assert df.schema["mla_kv_rank"] == pl.Float64
    assert df.schema["ffn_up_matrices"] == pl.Int64
    assert df.schema["parallel_attention"] == pl.Boolean
    assert df.schema["compute_bits"] == pl.Int64 and df.schema["layer_groups"] == pl.String
    assert df.schema["tied_embeddings"] == df.schema["attention_sinks"] == pl.Boolean
    row = df.filter(pl.col("name") == "DeepSeek-V3-epoch").row(0, named=True)
    assert row["total_params"] == 666_070_679_552
    assert row["active_params"] == 35_515_793_408
    assert row["kv_bytes_per_token"] == 59_392
    assert row["mla_kv_rank"] == 512 and row["aliases"] == "DeepSeek-V3-Epoch-approximation"
    assert row["catalog"] == "epoch"
    assert row["layer_groups"] is None and row["mla_rope_dim"] is None
    epoch = df.head(len(MODELS))
    assert epoch.filter(pl.col("mla_kv_rank").is_not_null()).height == 1
    assert epoch["layer_groups"].null_count() == len(MODELS)  # no Epoch entry uses an extension
    assert not epoch["tied_embeddings"].any() and not epoch["attention_sinks"].any()
    assert not epoch["lookup_embedding"].any() and df.tail(len(MODERN_MODELS))["lookup_embedding"].all()
    assert epoch["kv_bytes"].null_count() == epoch["compute_bits"].null_count() == len(MODELS)
    ds = df.filter(pl.col("name") == "DeepSeek-V3").row(0, named=True)
    assert ds["layer_groups"] == "3×dense(f=18432); 58×MoE(f=2048, E=256, k=8, shared 1×2048)"
    assert ds["kv_bytes_per_token"] == 70_272  # FP8 weights, a BF16 cache (kv_bytes unset)
    assert df["source"].str.len_chars().min() > 0  # type: ignore[operator]


def test_catalog_gpus_frame() -> None:
    df = catalog.catalog_gpus()
    assert df.height == len(catalog.gpu_names())
    assert df.columns == ["name", "aliases", "catalog", "flops_4bit", "flops_8bit", "flops_16bit",
                          "hbm_bandwidth", "hbm_bytes", "intra_node_bandwidth", "inter_node_bandwidth",
                          "gpus_per_node", "usd_per_hour", "flop_utilization", "mem_utilization",
                          "kernel_latency_s",
                          "collectives", "ll_latency_s", "ll128_latency_s", "source", "as_of", "notes",
                          "description"]
    assert df.schema["as_of"] == df.schema["notes"] == pl.String
    df = df.head(len(GPUS))  # the Epoch entries come first
    assert df["name"].to_list() == [row[0] for row in GPUS.values()]
    assert df["as_of"].null_count() == df["notes"].null_count() == len(GPUS)
    for c in ("flops_4bit", "flops_8bit", "flops_16bit"):
        assert df.schema[c] == pl.Float64
    a100 = df.filter(pl.col("name") == "A100").row(0, named=True)
    assert a100["flops_4bit"] is None and a100["flops_8bit"] == 6.24e14 and a100["flops_16bit"] == 3.12e14
    tpu = df.filter(pl.col("name") == "TPU-v4").row(0, named=True)
    assert math.isinf(tpu["intra_node_bandwidth"]) and tpu["collectives"] == "torus"
    assert df["flops_4bit"].null_count() == 4  # A100, V100, TPU-v4, Groq-LPU


# --- modern_gpus.toml (docs/catalog.md §2) --------------------------------------------------------
# name: (BF16, 8-bit, FP4 or None, HBM B/s, HBM bytes, B_intra, B_inter, node, collectives)
MODERN_GPUS: dict[str, tuple[Any, ...]] = {
    "H100-SXM": (9.894e14, 1.9789e15, None, 3.35e12, 8e10, 2.25e11, 2.5e10, 8, "nccl"),
    "H200-SXM": (9.894e14, 1.9789e15, None, 4.8e12, 1.41e11, 2.25e11, 2.5e10, 8, "nccl"),
    "A100-SXM-80GB": (3.12e14, 6.24e14, None, 2.039e12, 8e10, 1.5e11, 1.25e10, 8, "nccl"),
    "L40S": (3.62e14, 7.33e14, None, 8.64e11, 4.8e10, 1.6e10, 1.6e10, 1, "nccl"),
    "B200": (2.25e15, 4.5e15, 9e15, 8e12, 1.8e11, 4.5e11, 2.5e10, 8, "nccl"),
    "GB200-NVL72": (2.5e15, 5e15, 1e16, 8e12, 1.86e11, 4.5e11, 2.5e10, 72, "nccl"),
    "B300": (2.25e15, 4.5e15, 1.35e16, 8e12, 2.7e11, 4.5e11, 5e10, 8, "nccl"),
    "GB300-NVL72": (2.5e15, 5e15, 1.5e16, 8e12, 2.79e11, 4.5e11, 5e10, 72, "nccl"),
    "MI300X": (1.3074e15, 2.6149e15, None, 5.3e12, 1.92e11, 2.24e11, 2.5e10, 8, "nccl"),
    "MI325X": (1.3074e15, 2.6149e15, None, 6e12, 2.56e11, 2.24e11, 2.5e10, 8, "nccl"),
    "MI355X": (2.5166e15, 5.0332e15, 1.00663e16, 8e12, 2.88e11, 2.688e11, 2.5e10, 8, "nccl"),
    "TPU-v5e": (1.97e14, 3.93e14, None, 8.19e11, 1.6e10, math.inf, 1e11, 256, "torus"),
    "TPU-v5p": (4.59e14, 4.59e14, None, 2.765e12, 9.5e10, math.inf, 3e11, 8960, "torus"),
    "TPU-v6e": (9.18e14, 1.836e15, None, 1.638e12, 3.2e10, math.inf, 2e11, 256, "torus"),
    "Gaudi-3": (1.835e15, 1.835e15, None, 3.7e12, 1.28e11, 2.625e11, 3.75e10, 8, "nccl"),
}
# Prices CATALOG.md §2 gives no quote for: the entry must say it is an estimate.
PRICE_ESTIMATES = {"GB200-NVL72", "B300", "GB300-NVL72", "MI325X", "MI355X", "Gaudi-3"}


def _modern_entries() -> list[catalog.CatalogEntry]:
    return [e for e in catalog._load()["gpus"].entries if e.file == "modern_gpus.toml"]


def test_modern_gpus_present_in_order() -> None:
    assert [e.name for e in _modern_entries()] == list(MODERN_GPUS)
    names = catalog.gpu_names()
    assert names[len(GPUS):len(GPUS) + len(MODERN_GPUS)] == list(MODERN_GPUS)


@pytest.mark.parametrize("name", list(MODERN_GPUS))
def test_modern_gpu_fields(name: str) -> None:
    bf16, fp8, fp4, beta, hbm, intra, inter, node, coll = MODERN_GPUS[name]
    g = catalog.gpu(name)
    expected_rates = {16: bf16, 8: fp8} | ({4: fp4} if fp4 is not None else {})
    assert g.flops_by_bits == expected_rates
    assert (g.hbm_bandwidth, g.hbm_bytes, g.gpus_per_node, g.collectives) == (beta, hbm, node, coll)
    assert (g.intra_node_bandwidth, g.inter_node_bandwidth) == (intra, inter)
    # Epoch's H100 caps and the NCCL latencies, carried over (and said so in the source)
    assert (g.flop_utilization, g.mem_utilization) == (0.7, 0.75)
    assert (g.kernel_latency_s, g.ll_latency_s, g.ll128_latency_s) == (4e-6, 6.8e-6, 14e-6)
    assert "carried over" in g.source
    assert 0.5 <= g.usd_per_hour <= 10


@pytest.mark.parametrize("entry", list(MODERN_GPUS))
def test_modern_gpu_provenance(entry: str) -> None:
    e = catalog._load()["gpus"].index[catalog._normalise(entry)]
    assert e.file == "modern_gpus.toml"
    assert e.as_of.startswith("2026-")
    assert e.notes.strip() and e.description.strip()
    assert any(tag in e.source for tag in ("[V]", "[S]", "[M]", "[D]"))
    estimated = "ESTIMATE" in e.source
    assert estimated == (entry in PRICE_ESTIMATES), entry
    if estimated:
        assert "ESTIMATE" in e.notes


def test_modern_gpus_do_not_shadow_epoch_entries() -> None:
    assert catalog.gpu("H100").usd_per_hour == 2.1 and catalog.gpu("H100").flops_by_bits[16] == 1e15
    assert catalog.gpu("h100 sxm").name == "H100-SXM"
    assert catalog.gpu("A100").name == "A100" and catalog.gpu("a100_80gb").name == "A100-SXM-80GB"
    assert catalog.gpu("trillium").name == "TPU-v6e"
    assert catalog.gpu("GB200").gpus_per_node == 72


def test_modern_gpu_without_fp4_is_an_explicit_error() -> None:
    m4 = catalog.model("Llama-3-70B-4bit")
    assert catalog.gpu("B200").flops_for(m4) == 9e15
    with pytest.raises(SpecError, match=r"'H100-SXM'.*no rate for 4-bit"):
        catalog.gpu("H100-SXM").flops_for(m4)


def test_modern_gpus_frame_columns() -> None:
    df = catalog.catalog_gpus().filter(pl.col("name").is_in(list(MODERN_GPUS)))
    assert df.height == len(MODERN_GPUS)
    assert df["as_of"].null_count() == 0 and df["notes"].null_count() == 0
    assert df.filter(pl.col("flops_4bit").is_not_null())["name"].to_list() == [
        "B200", "GB200-NVL72", "B300", "GB300-NVL72", "MI355X"]
    mi300x = df.filter(pl.col("name") == "MI300X").row(0, named=True)
    assert "64 GB/s" in mi300x["notes"]


# --- modern_models.toml (docs/catalog.md §2, with the extensions of docs/extensions.md) ---------------
DATA = Path(__file__).parent / "data" / "hf"
# name: (fixture of tests/data/hf, from_hf_config's precision arguments, published total, active)
MODERN_MODELS: dict[str, tuple[str, dict[str, Any], float, float | None]] = {
    "Llama-3.1-8B": ("llama-3.1-8b", {}, 8.03e9, None),
    "Llama-3.1-70B": ("llama-3.1-70b", {}, 70.6e9, None),
    "Llama-3.1-405B": ("llama-3.1-405b", {}, 405.9e9, None),
    "Mixtral-8x7B-v0.1": ("mixtral-8x7b-v0.1", {}, 46.7e9, 12.9e9),
    "Qwen3-235B-A22B": ("qwen3-235b-a22b", {}, 235e9, 22e9),
    "DeepSeek-V3": ("deepseek-v3", {"weight_bytes": 1}, 671e9, None),
    "gpt-oss-120b": ("gpt-oss-120b", {"weight_bytes": 0.53125, "compute_bits": 16}, 116.8e9, None),
    "Gemma-3-27B": ("gemma-3-27b-it", {}, 27.4e9 - 0.4e9, None),  # without the vision tower
    "Llama-4-Maverick": ("llama-4-maverick-17b-128e", {}, 400e9, 17e9),
    # the models of the measured deployments (python/infersweep/data/)
    "Llama-2-70B": ("llama-2-70b", {}, 69.0e9, None),
    "Llama-2-13B": ("llama-2-13b", {}, 13.0e9, None),
    "Llama-2-7B": ("llama-2-7b", {}, 6.74e9, None),
    "Falcon-180B-GQA": ("", {}, 180e9, None),  # model_type falcon: no from_hf_config (see below)
    "DeepSeek-R1": ("deepseek-v3", {"weight_bytes": 1}, 671e9, None),  # V3's config keys
}


def test_modern_models_present_in_order() -> None:
    entries = [e for e in catalog._load()["models"].entries if e.file == "modern_models.toml"]
    assert [e.name for e in entries] == list(MODERN_MODELS)
    assert catalog.model_names()[len(MODELS):] == list(MODERN_MODELS)
    for e in entries:
        assert e.source.startswith("Hugging Face ") and "config.json" in e.source and e.as_of
        assert e.aliases and "/" in e.aliases[0]  # the Hub repository


@pytest.mark.parametrize("name", list(MODERN_MODELS))
def test_modern_model_is_its_hf_config(name: str) -> None:
    fixture, precision, total, active = MODERN_MODELS[name]
    m = catalog.model(name)
    if fixture:
        assert m == from_hf_config(DATA / f"{fixture}.json", **precision).with_(name=name)
    assert m.total_params == pytest.approx(total, rel=0.01)
    assert m.lookup_embedding  # the input embedding is a lookup: only the unembedding is computed
    if active is not None:  # Mistral's, Qwen's and Meta's published active counts include it
        assert m.active_params + m.vocab_size * m.d_model == pytest.approx(active, rel=0.01)


def test_falcon_180b_has_its_8_kv_heads() -> None:
    # the released Falcon-180B (new_decoder_architecture): 232 query heads over 8 KV heads, a GELU
    # MLP of 4 x 14848, parallel attention; Epoch's entry of the same model is multi-query
    m, epoch = catalog.model("tiiuae/falcon-180B"), catalog.model("Falcon-180B")
    assert m.name == "Falcon-180B-GQA" and epoch.name == "Falcon-180B"
    assert (m.n_heads / m.group_size, epoch.n_heads / epoch.group_size) == (8, 1)
    assert (m.d_ff, m.ffn_up_matrices, m.head_dim, m.parallel_attention) == (59392, 1, 64, True)
    # K and V of 8 heads of 64 per layer, 80 layers, BF16
    assert m.kv_bytes_per_token == 2 * 80 * 8 * 64 * 2


def test_deepseek_names() -> None:
    # Every spelling of DeepSeek-V3, the notebook's key DeepSeek_V3 included, is the faithful
    # model (before: "DeepSeek_V3" as spelled was Epoch's approximation, "deepseek_v3" the faithful
    # one); Epoch's approximation is DeepSeek-V3-epoch in every spelling.
    for spelling in ("DeepSeek-V3", "DeepSeek_V3", "deepseek v3", "deepseek_v3", "DEEPSEEK_V3",
                     "deepseek-ai/DeepSeek-V3"):
        assert catalog.model(spelling).name == "DeepSeek-V3", spelling
    for spelling in ("DeepSeek-V3-epoch", "deepseek_v3_epoch", "DEEPSEEK V3 EPOCH",
                     "DeepSeek-V3-Epoch-approximation"):
        assert catalog.model(spelling).name == "DeepSeek-V3-epoch", spelling
    faithful, epoch = catalog.model("DeepSeek-V3"), catalog.model("DeepSeek-V3-epoch")
    assert faithful.layer_groups is not None and faithful.mla_rope_dim == 64
    assert (faithful.kv_bytes_per_token, epoch.kv_bytes_per_token) == (70_272, 59_392)
    assert catalog.model("Llama-3.3-70B") is catalog.model("Llama-3.1-70B")
    assert catalog.model("Llama-3-70B").name == "Llama-3-70B"  # Epoch's entry keeps its name


def test_modern_models_run() -> None:
    import infersweep as isw

    df = isw.sweep(list(MODERN_MODELS), "H200-SXM", n_gpus=[8, 16], batch_size=[1, 64],
                   context_len=[0, 32768], semantics="epoch")
    assert df.height == len(MODERN_MODELS) * 8 and df["feasible"].any()


# --- further catalog files -------------------------------------------------------------------------
class _FakeFile:
    """Stands in for an importlib.resources Traversable."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self._text = text

    def read_bytes(self) -> bytes:
        return self._text.encode("utf-8")


@pytest.fixture
def extra_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_FakeFile]]:
    """Add in-memory catalog files after the real ones; the cache is cleared around the test."""
    extra: list[_FakeFile] = []
    real = catalog._catalog_files

    def files() -> Iterator[tuple[str, Any]]:
        yield from real()
        for f in extra:
            yield f.name, f

    catalog._load.cache_clear()
    monkeypatch.setattr(catalog, "_catalog_files", files)
    yield extra
    catalog._load.cache_clear()


_TINY = """
kind = "models"

[models.Tiny-1B]
aliases = ["tiny"]
description = "a test model"
source = "test"
d_model = 2048
d_ff = 8192
n_layers = 16
n_heads = 16
group_size = 4
vocab_size = 32000
"""


def test_extra_catalog_file_is_loaded(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("extra_models.toml", _TINY))
    extra_files.append(_FakeFile("notes.toml", 'title = "not a catalog"\n'))
    m = catalog.model("TINY")
    assert m.name == "Tiny-1B" and m.head_dim == 128 and m.source == "test"
    assert catalog.model_names()[-1] == "Tiny-1B"
    assert catalog.model_names()[:len(MODELS)] == [row[0] for row in MODELS.values()]
    assert catalog.catalog_models().height == len(MODELS) + len(MODERN_MODELS) + 1


def test_extra_catalog_name_clash(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("clash.toml", _TINY.replace('["tiny"]', '["llama 3 70b"]')))
    with pytest.raises(CatalogError, match="clashes with 'Llama-3-70B'"):
        catalog.model("Tiny-1B")


def test_extra_catalog_bad_kind(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("bad.toml", _TINY.replace('kind = "models"', 'kind = "model"')))
    with pytest.raises(CatalogError, match="'kind' must be 'models' or 'gpus'"):
        catalog.model_names()


def test_extra_catalog_unknown_field(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("bad.toml", _TINY + "n_kv_heads = 4\n"))
    with pytest.raises(SpecError, match=r"'bad.toml'.*'Tiny-1B'.*unknown field.*n_kv_heads"):
        catalog.model_names()


def test_extra_catalog_missing_source(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("bad.toml", _TINY.replace('source = "test"', "")))
    with pytest.raises(SpecError, match="'source' must be a non-empty string"):
        catalog.model_names()


_GROUPED = """
kind = "models"

[models.Tiny-MoE]
description = "a test model with layer groups"
source = "test"
d_model = 2048
n_heads = 16
group_size = 4
vocab_size = 32000

[[models.Tiny-MoE.layer_groups]]
n_layers = 2
d_ff = 8192

[[models.Tiny-MoE.layer_groups]]
n_layers = 14
d_ff = 1024
n_experts = 64
n_experts_active = 4
n_shared_experts = 2
window = 4096
"""


def test_extra_catalog_layer_groups(extra_files: list[_FakeFile]) -> None:
    extra_files.append(_FakeFile("extra_models.toml", _GROUPED))
    m = catalog.model("tiny moe")
    assert m.layer_groups is not None and len(m.layer_groups) == 2
    # filled from the groups: the total of layers and the fields of the group with the most experts
    assert (m.n_layers, m.d_ff, m.n_experts, m.n_experts_active) == (16, 1024, 64, 4)
    assert m.layer_groups[1].window == 4096 and m.layer_groups[1].n_shared_experts == 2
    row = catalog.catalog_models().filter(pl.col("name") == "Tiny-MoE").row(0, named=True)
    assert row["layer_groups"] == "2×dense(f=8192); 14×MoE(f=1024, E=64, k=4, shared 2×1024, window 4096)"


@pytest.mark.parametrize(("edit", "message"), [
    (("n_experts_active = 4", "n_experts_active = 4\nn_routed = 3"), r"unknown field\(s\) \['n_routed'\]"),
    (("d_ff = 1024", "d_ff = -1"), "'d_ff' must be positive"),
    (("group_size = 4", "group_size = 4\nn_layers = 15"), r"'n_layers' \(15\) must equal the layers"),
    (("group_size = 4", "group_size = 4\nd_ff = 8192"),
     r"'d_ff' \(8192\) must equal that of layer_groups\[1\]"),
])
def test_extra_catalog_bad_layer_groups(extra_files: list[_FakeFile], edit: tuple[str, str],
                                        message: str) -> None:
    extra_files.append(_FakeFile("bad.toml", _GROUPED.replace(*edit)))
    with pytest.raises(SpecError, match=r"'bad.toml'.*'Tiny-MoE'.*" + message):
        catalog.model_names()


def test_extra_catalog_alias_that_reads_as_another_name(extra_files: list[_FakeFile]) -> None:
    # a notebook-style key that normalises to another entry's name is a clash: there are no
    # names "matched only as spelled" any more
    text = _TINY.replace('aliases = ["tiny"]', 'aliases = ["DeepSeek_V3"]')
    extra_files.append(_FakeFile("clash.toml", text))
    with pytest.raises(CatalogError, match=r"'DeepSeek_V3' of 'Tiny-1B'.*clashes with 'DeepSeek-V3' of "
                                           r"'DeepSeek-V3'"):
        catalog.model_names()


def test_extra_catalog_exact_aliases_are_gone(extra_files: list[_FakeFile]) -> None:
    text = _TINY.replace('aliases = ["tiny"]', 'exact_aliases = ["Tiny_1B"]')
    extra_files.append(_FakeFile("old.toml", text))
    with pytest.raises(SpecError, match=r"unknown field.*exact_aliases"):
        catalog.model_names()


@pytest.mark.parametrize("kind", ["models", "gpus"])
def test_no_two_names_read_alike(kind: str) -> None:
    # The lookup ignores case and separators: every name of every entry must normalise to a key
    # of its own entry only, and every spelling of it find that entry.
    entries = catalog._load()[kind].entries  # type: ignore[index]
    owner: dict[str, str] = {}
    for e in entries:
        for n in e.names:
            key = catalog._normalise(n)
            assert owner.setdefault(key, e.name) == e.name, (n, owner[key], e.name)
            find = catalog.model if kind == "models" else catalog.gpu
            for spelling in (n, n.upper(), n.lower(), n.replace("-", "_"), n.replace("-", " ")):
                assert find(spelling).name == e.name, spelling


@pytest.mark.parametrize("epoch, modern", [("H200", "H200-SXM"), ("H100", "H100-SXM"),
                                           ("A100", "A100-SXM-80GB")])
def test_epoch_and_modern_gpus_say_which_they_are(epoch: str, modern: str) -> None:
    # H200 and H200-SXM differ in price and caps: each name says which catalog it is from
    e, m = catalog.gpu(epoch), catalog.gpu(modern)
    assert catalog.gpu(f"{epoch}-epoch") is e and catalog.catalog_of(e) == "epoch"
    assert catalog.catalog_of(m) == "modern"
    assert catalog.catalog_of(e.with_(usd_per_hour=1.0)) is None
    df = catalog.catalog_gpus().filter(pl.col("name").is_in([epoch, modern]))
    assert dict(zip(df["name"], df["catalog"], strict=True)) == {epoch: "epoch", modern: "modern"}
