"""The shipped dataset of measured deployments: schema, provenance, and every derived number."""

from __future__ import annotations

import importlib.util
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import infersweep as isw
from infersweep.data import ALLOWED, DERIVABLE, MEASURED, SCHEMA, SCHEMA_VERSION, derive
from infersweep.errors import SpecError


@pytest.fixture(scope="module")
def df() -> pl.DataFrame:
    return isw.measurements()


def test_columns_and_types(df: pl.DataFrame) -> None:
    assert df.columns == list(SCHEMA)
    assert dict(df.schema) == SCHEMA
    assert df.height >= 40
    assert (df["schema_version"] == SCHEMA_VERSION).all()
    assert df["id"].is_unique().all()


@pytest.mark.parametrize("col", sorted(ALLOWED))
def test_allowed_values(df: pl.DataFrame, col: str) -> None:
    bad = set(df[col].unique().to_list()) - ALLOWED[col]
    assert not bad, f"{col}: {bad}"


def test_every_row_has_a_source(df: pl.DataFrame) -> None:
    for r in df.iter_rows(named=True):
        src = r["source"]
        # a repository at a commit and a file, or a URL and a date
        pinned = re.search(r"[\w.-]+/[\w.-]+ @ [0-9a-f]{40}: \S+", src) is not None
        url = src.startswith("http") and r["source_date"] != ""
        assert pinned or url, r["id"]
        assert r["source_id"] and r["source_date"], r["id"]


def test_layout_and_counts_are_consistent(df: pl.DataFrame) -> None:
    known = df.filter(pl.col("gpus_per_instance").is_not_null())
    assert (known["gpus_per_instance"] * known["instances"] == known["n_gpus"]).all()
    # a pinned attention layout covers the instance: tp x attention_dp (or tp x pp) GPUs
    for r in known.filter(pl.col("tp").is_not_null()).iter_rows(named=True):
        adp = r["attention_dp"] or 1
        assert r["tp"] * adp * r["pp"] == r["gpus_per_instance"], r["id"]


def test_every_derived_number_recomputes_from_raw_fields(df: pl.DataFrame) -> None:
    checked = 0
    for r in df.iter_rows(named=True):
        for col in DERIVABLE:
            how, value = r[f"{col}_how"], r[col]
            if how == "":
                assert value is None, (r["id"], col)
            elif how == MEASURED:
                assert value is not None, (r["id"], col)
            else:
                # a formula reads only raw (measured) numbers or numbers derived before it
                assert value == pytest.approx(derive(how, r), rel=1e-12), (r["id"], col)
                checked += 1
    assert checked > 200


def test_per_user_kind_matches_the_step_formula(df: pl.DataFrame) -> None:
    # A.0: (a) 1/TPOT, (b) trtllm-bench per-user with TTFT, (c) static throughput / batch,
    # (d) saturation: an instance's time per output token at maximum load
    step = {"a": "tpot_ms", "b": "1000 / per_user_tok_s",
            "c": "1000 * batch_size * instances / throughput_tok_s",
            "d": "1000 * instances / throughput_tok_s"}
    for r in df.filter(pl.col("measured_step_ms").is_not_null()).iter_rows(named=True):
        assert r["measured_step_ms_how"] == step[r["per_user_kind"]], r["id"]


def test_a_known_row_by_hand(df: pl.DataFrame) -> None:
    # MLPerf v4.1, 8 x H100 (TP2 x 4 instances): 21,605.79 tok/s at a mean TPOT of 154.960329 ms
    r = df.filter(pl.col("id") == "MLP41-1").row(0, named=True)
    assert (r["tp"], r["instances"]) == (2, 4) and r["tpot_ms"] == pytest.approx(154.960329)
    assert r["decode_batch"] == pytest.approx(21605.79 * 0.154960329 / 4)  # ~837 sequences per instance
    assert r["osl"] == pytest.approx(21605.79 / 74.42)
    assert r["throughput_tok_s_per_gpu"] == pytest.approx(21605.79 / 8)


def test_a_per_gpu_static_row_by_hand(df: pl.DataFrame) -> None:
    # TensorRT-LLM v0.9.0, H200 FP8: LLaMA 70B, batch 512, TP2, 128 in / 2048 out, 3,963 out tok/s/GPU
    r = df.filter(pl.col("id") == "TRT-P09-H200-18").row(0, named=True)
    assert (r["model_catalog"], r["tp"], r["batch_size"]) == ("Llama-2-70B", 2, 512)
    assert (r["isl"], r["osl"]) == (128, 2048)
    assert r["weight_precision"] == "fp8" and r["kv_precision"] == "fp8" and r["framework_version"] == "0.9.0"
    assert r["throughput_tok_s"] == pytest.approx(3963 * 2)
    assert r["measured_step_ms"] == pytest.approx(1000 * 512 / (3963 * 2))   # ≈ 64.6 ms per output step
    assert df.filter(pl.col("source_id") == "TRT-P09").height == 96


def test_derive_rejects_what_is_not_arithmetic_on_columns() -> None:
    row = {"id": "x", "tpot_ms": 20.0, "batch_size": None}
    assert derive("1000 / tpot_ms", row) == 50.0
    with pytest.raises(SpecError, match="unknown column"):
        derive("1000 / nope", row)
    with pytest.raises(SpecError, match="empty"):
        derive("batch_size * 2", row)
    with pytest.raises(SpecError, match="only numbers"):
        derive("__import__('os')", row)
    assert math.isfinite(derive("(1 + 2) * tpot_ms - 3", row))


def test_catalog_names_resolve(df: pl.DataFrame) -> None:
    for name in df["model_catalog"].unique().to_list():
        if name:
            isw.model(name)
    for name in df["gpu_catalog"].unique().to_list():
        if name:
            isw.gpu(name)


def _script(name: str) -> Any:
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_script_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_csv_is_what_the_build_script_writes() -> None:
    # the CSV is generated (no number typed twice or computed by hand): a hand edit shows here
    shipped = resources.files("infersweep.data").joinpath("measured_deployments.csv").read_text("utf-8")
    assert _script("build_measurements").render() == shipped


def test_the_readme_accuracy_section_is_generated() -> None:
    # README's table is scripts/accuracy_table.py's output for the shipped data (run it after a change)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert _script("accuracy_table").readme_with_section(readme) == readme
