"""How isw.sweep splits a grid into calls into Rust, and how it labels each call's rows.

Neither may change a result: the adaptive chunks give the rows of one big call, and labels
repeated for a single model, GPU or drafter equal the labels gathered for several.
"""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl

import infersweep as isw

sweep_module = importlib.import_module("infersweep.sweep")
plan, first_chunk_rows = sweep_module.plan, sweep_module.first_chunk_rows
PER_THREAD = sweep_module.FIRST_CHUNK_ROWS_PER_THREAD
SD = isw.SpecDec("Llama-3-8B-MQA", 0.8, 5)


def grid_plan(use_pp: list[bool], spec_dec: list[isw.SpecDec | None]) -> object:
    return plan("Llama-3-70B", "H100", [8, 16], [1, 64], [0], 1, use_pp, spec_dec, "product")


def test_first_chunk_is_sized_by_threads_and_searches_per_row() -> None:
    plain = grid_plan([False], [None])
    assert first_chunk_rows(plain, 1) == PER_THREAD
    assert first_chunk_rows(plain, 2) == 2 * PER_THREAD
    # PP: about 5 searches' worth per row; a drafter with γ ≤ 5: 1 + 5 passes; both: 30.
    assert first_chunk_rows(grid_plan([False, True], [None]), 2) == int(2 * PER_THREAD / 5)
    assert first_chunk_rows(grid_plan([False], [None, SD]), 2) == int(2 * PER_THREAD / 6)
    assert first_chunk_rows(grid_plan([True], [SD]), 2) == int(2 * PER_THREAD / 30)
    # Clamped: never below DEFAULT_CHUNK_ROWS / 16, never above MAX_CHUNK_ROWS.
    slow = grid_plan([True], [isw.SpecDec("Llama-3-8B-MQA", 0.8, 64)])
    assert first_chunk_rows(slow, 1) == sweep_module.DEFAULT_CHUNK_ROWS // 16
    assert first_chunk_rows(plain, 64) == sweep_module.MAX_CHUNK_ROWS


def test_adaptive_chunks_give_the_rows_of_one_call() -> None:
    """600k rows on one thread: the first chunk is 2^18 rows, so the sweep takes several."""
    args = {"n_gpus": np.geomspace(4, 1024, 100), "batch_size": np.geomspace(1, 4096, 1000),
            "context_len": [0, 1000, 8000, 32000, 100000, 128000], "num_threads": 1}
    adaptive = isw.sweep("Llama-3-70B", "H100", **args, semantics="epoch")
    assert adaptive.height == 600_000 > first_chunk_rows(grid_plan([False], [None]), 1)
    assert adaptive.n_chunks() > 1
    one_call = isw.sweep("Llama-3-70B", "H100", **args, chunk_rows=adaptive.height, semantics="epoch")
    assert one_call.n_chunks() == 1
    assert adaptive.equals(one_call)


def test_single_labels_repeated_equal_labels_gathered() -> None:
    """One model, GPU and drafter per sweep (labels repeated) against all of them at once
    (labels gathered by code): the same rows, label for label."""
    models, gpus, sds = ["Llama-3-8B", "Llama-3-70B"], ["H100", "A100"], [None, SD]
    axes = {"n_gpus": [8, 32], "batch_size": [1, 16], "context_len": [0, 4096]}
    names = pl.col("model", "gpu").cast(pl.String)
    together = isw.sweep(models, gpus, **axes, spec_dec=sds, semantics="epoch").with_columns(names)
    apart = pl.concat([isw.sweep(m, g, **axes, spec_dec=s, semantics="epoch").with_columns(names)
                       for m in models for g in gpus for s in sds])
    # Product order has the drafter varying fastest; sort both the same way.
    order = ["model", "gpu", "n_gpus", "batch_size", "context_len", "drafter"]
    assert together.height == apart.height == 64
    assert together.sort(order, nulls_last=True).equals(apart.sort(order, nulls_last=True))
    assert set(together["drafter"].drop_nulls()) == {"Llama-3-8B-MQA"}
    assert together["drafter"].null_count() == together.height // 2
    assert together.filter(pl.col("drafter").is_null())["acceptance"].is_nan().all()
    assert (together.filter(pl.col("drafter").is_not_null())["gamma_max"] == 5).all()
