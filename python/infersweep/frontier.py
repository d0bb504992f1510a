"""The speed–cost Pareto frontier (docs/model.md §7), preferred points, exact fronts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from . import _core
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .errors import GridError
from .reference import frontier_grids
from .specs import Gpu, Model, SpecDec
from .sweep import check_threads, gpu_dict, model_dict, sweep

#: The paper's fitted preference: users maximise speed^3 / cost.
PREFERENCE_EXPONENT = 3.0


def frontier(
    model: Model | str,
    gpu: Gpu | str = "H100",
    context_len: float = 0,
    use_pp: bool = True,
    spec_dec: SpecDec | None = None,
    max_throughput: float = math.inf,
    *,
    resolution: int = 400,
    n_targets: int = 1000,
    exact: bool = False,
    num_threads: int | None = None,
) -> pl.DataFrame:
    """Epoch's speed–cost frontier of one model on one GPU, one row per frontier point.

    The grid is ``resolution`` GPU counts (from the minimum that holds the weights to 2^18)
    × ``resolution`` batch sizes (1 to 2^18·s), every layout of each point searched; for each
    of ``n_targets`` latency targets between the fastest latency and 100× it, the cheapest
    point no slower than the target is recorded (docs/model.md §7; the defaults are the
    paper's). ``max_throughput`` caps tokens/s per instance (b / latency). With ``spec_dec``
    every point uses speculative decoding when it helps. ``use_pp`` defaults to True, unlike
    :func:`infersweep.sweep` and :func:`infersweep.explain`: a frontier is the best layout at
    every speed, and the paper's frontiers search pipeline degrees too.

    ``exact=True`` is the finer mode: instead of sampling 1000 latency targets it returns every
    non-dominated point of the grid (:func:`pareto_front` of the whole sweep), typically a few
    times more points, with the paper's points among them.

    Columns: every column of :func:`infersweep.sweep` for the recorded points (speed, cost,
    MFU, latency, the components and the layout), fastest point first.
    """
    m, g = lookup_model(model), lookup_gpu(gpu)
    g.flops_for(m)
    check_threads(num_threads)
    if not isinstance(resolution, int) or resolution < 2:
        raise GridError(f"frontier: 'resolution' must be an integer >= 2, got {resolution!r}")
    sd = None
    if spec_dec is not None:
        sd = {"drafter": model_dict(spec_dec.drafter_model), "acceptance": spec_dec.acceptance,
              "gamma_max": spec_dec.gamma_max}
        g.flops_for(spec_dec.drafter_model)
    if exact:
        n_grid, b_grid = frontier_grids(m, g, resolution)
        ns, bs = np.asarray(n_grid), np.asarray(b_grid)
        grid = sweep(m, g, n_gpus=ns, batch_size=bs, context_len=context_len, use_pp=use_pp,
                     spec_dec=spec_dec, num_threads=num_threads, progress=False)
        grid = grid.filter(pl.col("batch_size") / pl.col("token_latency_s") <= max_throughput)
        front = pareto_front(grid)
        return front.sort("tokens_per_s_per_request", descending=True)
    pts = _core.frontier(model_dict(m), gpu_dict(g), sd, context_len=float(context_len), use_pp=bool(use_pp),
                         max_throughput=float(max_throughput), n_batch=resolution, n_gpus=resolution,
                         n_targets=n_targets, num_threads=num_threads)
    if len(pts["n_gpus"]) == 0:
        return sweep(m, g, n_gpus=[1.0], batch_size=[1.0], context_len=context_len, use_pp=use_pp,
                     spec_dec=spec_dec, grid="zip").clear()
    df = sweep(m, g, n_gpus=pts["n_gpus"], batch_size=pts["batch_size"], context_len=context_len,
               use_pp=use_pp, spec_dec=spec_dec, grid="zip", num_threads=num_threads, progress=False)
    # The engine is deterministic: re-evaluating the recorded points gives their latencies.
    np.testing.assert_array_equal(df["token_latency_s"].to_numpy(), pts["token_latency_s"])
    return df


def preferred(front: pl.DataFrame, exponent: float = PREFERENCE_EXPONENT) -> pl.DataFrame:
    """The point users prefer: argmax speed^exponent / cost (one row)."""
    if front.height == 0:
        raise GridError("preferred: the frontier is empty")
    x = front["tokens_per_s_per_request"].to_numpy()
    y = front["usd_per_million_tokens"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(np.isfinite(y) & (y > 0), exponent * np.log(x) - np.log(y), -np.inf)
    return front[int(np.argmax(score))]


def pareto_front(
    df: pl.DataFrame,
    speed: str = "tokens_per_s_per_request",
    cost: str = "usd_per_million_tokens",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """The exact non-dominated rows of any table (faster is better, cheaper is better).

    Computed in Rust in O(n log n); with ``by``, one front per group (for example per model
    and GPU). Rows keep their order; exact duplicates keep their first row; rows with NaN or
    infinite cost are never on the front.
    """
    for c in [speed, cost, *([by] if isinstance(by, str) else (by or []))]:
        if c not in df.columns:
            raise GridError(f"pareto_front: no column {c!r}; columns are {df.columns}")
    if by is None or (not isinstance(by, str) and len(by) == 0):
        groups = np.zeros(df.height, dtype=np.uint32)
    else:
        keys = [by] if isinstance(by, str) else list(by)
        groups = df.select(pl.struct(keys).rank("dense").cast(pl.UInt32)).to_series().to_numpy()
        groups = np.ascontiguousarray(groups, dtype=np.uint32)
    speeds = np.ascontiguousarray(df[speed].cast(pl.Float64).to_numpy(), dtype=np.float64)
    costs = np.ascontiguousarray(df[cost].cast(pl.Float64).to_numpy(), dtype=np.float64)
    keep = _core.pareto(groups, speeds, costs)
    return df.filter(pl.Series(keep))
