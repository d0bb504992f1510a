"""Rust sweep vs the pure-Python reference on the same grid, in the same benchmark group.

Run with `pytest benches --benchmark-enable --benchmark-group-by=group` to get the figures;
under plain `pytest` (benchmarks disabled) each runs once as a test. Figures in the README.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import infersweep as isw
from infersweep import reference

MODEL = isw.model("Llama-3-70B")
GPU = isw.gpu("H100")
# One grid for both implementations: TP inside and across nodes, small and large batches,
# short and long context. 7 × 6 × 3 = 126 rows, repeated for the Rust engine so that its
# per-call overhead (building the DataFrame) does not dominate; rows/s is what is compared.
N_GPUS = [4, 8, 16, 32, 64, 128, 256]
BATCH = [1, 4, 16, 64, 256, 1024]
CONTEXT = [0, 8_000, 100_000]
ROWS = list(itertools.product(N_GPUS, BATCH, CONTEXT))
RUST_REPEAT = 1000


ZIPPED = [np.tile(np.asarray(c, dtype=np.float64), RUST_REPEAT) for c in zip(*ROWS, strict=True)]


def rust_sweep(use_pp: bool) -> int:
    n, b, ctx = ZIPPED
    df = isw.sweep(MODEL, GPU, n_gpus=n, batch_size=b, context_len=ctx, use_pp=use_pp, grid="zip",
                   semantics="epoch")
    return df.height


def reference_sweep(use_pp: bool) -> int:
    for n, b, ctx in ROWS:
        d = reference.decode_latency(MODEL, GPU, n, b, ctx, use_pp=use_pp)
        reference.economics(MODEL, GPU, n, b, ctx, d.latency_s)
    return len(ROWS)


@pytest.mark.parametrize("use_pp", [False, True], ids=["no_pp", "pp"])
def test_rust_sweep(benchmark, use_pp: bool) -> None:
    benchmark.group = f"sweep-{'pp' if use_pp else 'no_pp'}"
    rows = benchmark(rust_sweep, use_pp)
    benchmark.extra_info["rows"] = rows
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean
    assert rows == len(ROWS) * RUST_REPEAT


@pytest.mark.parametrize("use_pp", [False, True], ids=["no_pp", "pp"])
def test_reference_sweep(benchmark, use_pp: bool) -> None:
    benchmark.group = f"sweep-{'pp' if use_pp else 'no_pp'}"
    rows = benchmark.pedantic(reference_sweep, args=(use_pp,), rounds=2, iterations=1)
    benchmark.extra_info["rows"] = rows
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean
    assert rows == len(ROWS)


