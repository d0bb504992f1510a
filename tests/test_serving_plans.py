"""The serving sweep plans each layout once and reuses it across rows (rust/serving/sweep.rs): rows
must not depend on the rows evaluated before them, on the thread count, or on the chunk of rows."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

import infersweep as isw
from infersweep.serving import SERVING_OUTPUT_COLUMNS


def test_rows_do_not_depend_on_the_thread_count():
    kw = dict(model=["Llama-3-70B", "DeepSeek-V3"], gpu=["H100", "B200"], n_gpus=[8, 16, 32],
              batch_size=np.arange(1, 300, 7), context_len=[0, 3000], semantics="serving")
    one = isw.sweep(**kw, num_threads=1)
    assert one.height == 2 * 2 * 3 * 43 * 2
    for threads in (2, 3, 8):
        assert_frame_equal(isw.sweep(**kw, num_threads=threads), one, check_exact=True)


def test_each_row_of_a_grid_is_its_own_point():
    """Keys (n_gpus, pins) and contexts change from row to row in a zipped grid and in a product
    whose fast axes are the context and the pins: every row must equal the point evaluated alone
    (no plan or KV cache of a neighbouring row carried over)."""
    rng = np.random.default_rng(3)
    n = 60
    points = [(int(rng.choice([4, 8, 16])), int(rng.integers(1, 400)),
               int(rng.choice([0, 512, 8192, 120_000])), None if rng.random() < 0.5 else 4) for _ in range(n)]
    zipped = isw.sweep("Llama-3.1-70B", "H200", n_gpus=[p[0] for p in points],
                       batch_size=[p[1] for p in points], context_len=[p[2] for p in points],
                       tp=[p[3] for p in points], grid="zip", semantics="serving")
    product = isw.sweep("Llama-3.1-70B", "H200", n_gpus=[8, 16], batch_size=[1, 37, 300],
                        context_len=[100, 20_000], tp=[None, 4, 8], semantics="serving")
    points += list(itertools.product([8, 16], [1, 37, 300], [100, 20_000], [None, 4, 8]))
    rows = list(zipped.iter_rows(named=True)) + list(product.iter_rows(named=True))
    assert len(rows) == len(points)
    for (n_gpus, batch, ctx, tp), row in zip(points, rows, strict=True):
        alone = isw.sweep("Llama-3.1-70B", "H200", n_gpus=n_gpus, batch_size=batch, context_len=ctx, tp=tp,
                          semantics="serving")
        assert alone.row(0, named=True) == row
        ev = isw.evaluate("Llama-3.1-70B", "H200", n_gpus, batch, ctx, semantics="serving", tp=tp)
        assert ev == tuple(row[c] for c in SERVING_OUTPUT_COLUMNS)


def test_a_grid_split_in_two_equals_the_whole():
    whole = isw.sweep("Llama-3-70B", "H100", n_gpus=np.arange(1, 17, dtype=float),
                      batch_size=np.arange(1, 101, dtype=float), context_len=2048, semantics="serving")
    first = isw.sweep("Llama-3-70B", "H100", n_gpus=np.arange(1, 9, dtype=float),
                      batch_size=np.arange(1, 101, dtype=float), context_len=2048, semantics="serving")
    second = isw.sweep("Llama-3-70B", "H100", n_gpus=np.arange(9, 17, dtype=float),
                       batch_size=np.arange(1, 101, dtype=float), context_len=2048, semantics="serving")
    assert_frame_equal(pl.concat([first, second]), whole, check_exact=True)
