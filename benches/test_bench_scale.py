"""Throughput at scale (issue: performance). Figures and bars are in the README, "Performance".

`pytest benches --benchmark-enable --benchmark-group-by=group` prints them; rows/s is in each
benchmark's extra_info. The layout-search bars are measured by the Rust bench
(`cargo bench --bench layout_search`), which times the search alone.
"""

from __future__ import annotations

import numpy as np

import infersweep as isw
from infersweep import reference

MODEL = isw.model("Llama-3-70B")
N_GRID, B_GRID = (np.asarray(axis) for axis in reference.frontier_grids(MODEL, isw.gpu("H100"), 400))
CONTEXTS = [0, 8_000, 32_000]


def test_sweep_product_rows_per_second(benchmark) -> None:
    """Product grid, use_pp=False, every output column, into a polars DataFrame (bar ≥ 3 M rows/s)."""
    benchmark.group = "sweep-product"
    df = benchmark(isw.sweep, MODEL, "H100", n_gpus=N_GRID, batch_size=B_GRID, context_len=CONTEXTS,
                   progress=False, semantics="epoch")
    assert df.height == 400 * 400 * len(CONTEXTS)
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = df.height / benchmark.stats.stats.mean


def test_frontier_end_to_end(benchmark) -> None:
    """isw.frontier, Llama-3-70B on H100 with PP, the paper's 400 × 400 grid (bar ≤ 0.5 s)."""
    benchmark.group = "frontier-end-to-end"
    front = benchmark(isw.frontier, MODEL, "H100", use_pp=True, semantics="epoch")
    assert front.height > 100


def test_frontier_spec_dec(benchmark) -> None:
    """The same with speculative decoding (γ up to 5: six searches per grid point)."""
    benchmark.group = "frontier-end-to-end"
    sd = isw.SpecDec("Llama-3-8B-MQA", 0.8, 5)
    front = benchmark.pedantic(isw.frontier, args=(MODEL, "H100"),
                               kwargs={"spec_dec": sd, "semantics": "epoch"}, rounds=2)
    assert front.height > 100
