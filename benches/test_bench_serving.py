"""`serving` sweeps: a pinned layout, the full layout search, one row, one `isw.evaluate` point, and
the reference.

Run with `pytest benches/test_bench_serving.py --benchmark-enable --benchmark-group-by=group`;
under plain `pytest` each runs once as a test. No timed assertions: figures in the README.
"""

from __future__ import annotations

import numpy as np

import infersweep as isw
from infersweep import serving_reference as sr

MODEL = isw.model("Llama-3-70B")
GPU = isw.gpu("H100")
BATCH = np.arange(1, 200_001, dtype=np.float64)


def pinned() -> int:
    return isw.sweep(MODEL, GPU, n_gpus=8, batch_size=BATCH, context_len=2048, semantics="serving",
                     tp=8).height


def searched() -> int:
    return isw.sweep(MODEL, GPU, n_gpus=np.arange(1, 65, dtype=np.float64), batch_size=BATCH[:1000],
                     context_len=2048, semantics="serving").height


def one_row() -> int:
    return isw.sweep(MODEL, GPU, n_gpus=8, batch_size=32, context_len=4096, semantics="serving", tp=8).height


def reference_rows() -> int:
    for b in range(1, 201):
        sr.best_step(MODEL, GPU, 8, b, 2048, tp=8)
    return 200


def test_serving_pinned(benchmark) -> None:
    benchmark.group = "serving-pinned"
    rows = benchmark(pinned)
    assert rows == BATCH.size
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean


def test_serving_reference_pinned(benchmark) -> None:
    benchmark.group = "serving-pinned"
    rows = benchmark.pedantic(reference_rows, rounds=1, iterations=1)
    assert rows == 200
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean


def test_serving_search(benchmark) -> None:
    benchmark.group = "serving-search"
    rows = benchmark(searched)
    assert rows == 64 * 1000
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean


def test_serving_one_row(benchmark) -> None:
    benchmark.group = "serving-one-row"
    assert benchmark(one_row) == 1


def test_serving_evaluate_pinned(benchmark) -> None:
    """`isw.evaluate`'s serving fast path: the one-row sweep above without a DataFrame."""
    benchmark.group = "serving-evaluate"
    ev = benchmark(isw.evaluate, MODEL, GPU, 8, 32, 4096, semantics="serving", tp=8)
    assert ev.tp == 8 and ev.feasible


def test_serving_evaluate_searched(benchmark) -> None:
    benchmark.group = "serving-evaluate"
    ev = benchmark(isw.evaluate, MODEL, GPU, 8, 32, 4096, semantics="serving")
    assert ev.tp * ev.attention_dp * ev.pp == 8


def serving_frontier() -> int:
    return isw.frontier(MODEL, GPU, context_len=8000, semantics="serving").height


def test_serving_frontier(benchmark) -> None:
    """The default frontier (11 GPU counts × 44 batches + the largest batch each holds)."""
    benchmark.group = "serving-frontier"
    assert benchmark(serving_frontier) > 10
