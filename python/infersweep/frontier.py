"""The speed–cost Pareto frontier (docs/model.md §7), preferred points, exact fronts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from . import _core
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .checks import integer, real, show
from .errors import GridError
from .reference import frontier_grids
from .specs import FIELD_RANGES, Gpu, Model, SpecDec
from .sweep import BYTES_PER_ROW, check_threads, gpu_dict, model_dict, sweep
from .sweep import _available_memory as available_memory

#: The paper's fitted preference: users maximise speed^3 / cost.
PREFERENCE_EXPONENT = 3.0
#: Largest ``resolution`` (grid side) and ``n_targets`` of :func:`frontier` (the engine's).
MAX_RESOLUTION: int = _core.MAX_FRONTIER_RESOLUTION
MAX_TARGETS: int = _core.MAX_FRONTIER_TARGETS
#: Memory the search holds per grid point: latency, cost, sort order, running minimum and a
#: hash-map entry (rust/frontier.rs), rounded up.
FRONTIER_BYTES_PER_POINT = 64


#: Default GPU counts of a serving frontier: powers of two up to a node of 8 (a TP degree must
#: divide the attention heads, which vLLM enforces; head counts are typically powers of two or
#: multiples of 8), then whole 8-GPU nodes
#: (HGX/DGX H100, H200, B200 and MI300X platforms: multi-node deployments take whole nodes), up to
#: SERVING_MAX_GPUS = 64 (8 nodes; pass ``max_gpus`` or ``n_gpus`` for larger ones, e.g. DeepSeek's
#: 144-GPU decode deployment).
SERVING_MAX_GPUS = 64
#: Default batch sizes: 2^(k/4) rounded, k = 0..48 (four per octave, deduplicated), 1 to 4096 —
#: TensorRT-LLM's tuned reference configurations (examples/configs/database) run concurrency 1 to
#: 2048 and more — plus, per GPU count, the largest batch any layout holds in memory (below 4096).
#: docs/serving.md §F.
SERVING_MAX_BATCH = 4096
SERVING_BATCH_STEPS_PER_OCTAVE = 4


def serving_gpu_counts(max_gpus: int = SERVING_MAX_GPUS) -> list[int]:
    """Powers of two up to 8, then multiples of 8, up to ``max_gpus`` (and powers of two beyond
    it are multiples of 8 too)."""
    counts = {n for n in (1, 2, 4, 8) if n <= max_gpus} | set(range(8, max_gpus + 1, 8))
    return sorted(counts)


def serving_batch_sizes(max_batch: int = SERVING_MAX_BATCH) -> list[int]:
    """2^(k/4) rounded to integers, 1 to ``max_batch`` (which is always included), deduplicated."""
    top = math.log2(max_batch)
    ks = np.arange(0, math.floor(top * SERVING_BATCH_STEPS_PER_OCTAVE) + 1) / SERVING_BATCH_STEPS_PER_OCTAVE
    return sorted({round(2.0**k) for k in ks} | {int(max_batch)})


class _Default:
    """The value of an argument left out, whose default depends on the semantics (an explicit
    None is still checked, and refused, as a value)."""

    def __repr__(self) -> str:
        return "<the semantics' default>"


DEFAULT: Any = _Default()


def frontier(
    model: Model | str,
    gpu: Gpu | str = "H100",
    context_len: float = 0,
    use_pp: bool = DEFAULT,
    spec_dec: SpecDec | None = None,
    max_throughput: float = math.inf,
    *,
    resolution: int = DEFAULT,
    n_targets: int = DEFAULT,
    exact: bool = DEFAULT,
    num_threads: int | None = None,
    semantics: Literal["epoch", "serving"] = "serving",
    n_gpus: Sequence[int] | np.ndarray | None = None,
    batch_size: Sequence[int] | np.ndarray | None = None,
    max_gpus: int | None = None,
    runtime: Any = None,
    precision: Any = None,
    uncertainty: float | None = None,
) -> pl.DataFrame:
    """The speed–cost frontier of one model on one GPU, one row per frontier point, fastest first.

    ``semantics="serving"`` (the default: CHANGELOG.md) is the exact Pareto front
    (:func:`pareto_front`) of a serving sweep (``isw.sweep(..., semantics="serving")``) over
    deployable configurations at ``context_len``: every GPU count of ``n_gpus`` (default
    :func:`serving_gpu_counts` up to ``max_gpus``, default 64: 1, 2, 4, 8, 16, 24, ..., 64),
    every batch size of ``batch_size`` (default :func:`serving_batch_sizes`: 2^(k/4) rounded, 1
    to 4096, plus the largest batch that fits at each GPU count), and at each point the fastest
    of every valid integer layout (tp, pp, ep, attention_dp) that fits, which at a given GPU
    count and batch is also the cheapest, so no other layout can be on the front. ``runtime``
    (default ``isw.Runtime.default()``, or a calibrated ``isw.Profile``), ``precision`` and
    ``uncertainty`` (with a profile: the ``*_lo``/``*_hi`` band columns) are those of the sweep.
    Columns: the serving sweep's (speed, cost, MFU, step time and its components, the layout
    ``tp``/``pp``/``ep``/``attention_dp``/``expert_tp``, per-GPU memory, ``max_batch_size``).
    ``use_pp``, ``spec_dec``, ``resolution`` and ``n_targets`` are the paper's search: a GridError
    says to pass ``semantics="epoch"``.

    ``semantics="epoch"`` is Epoch's frontier: the grid is ``resolution`` GPU counts (from the
    minimum that holds the weights to 2^18) × ``resolution`` batch sizes (1 to 2^18·s), every
    layout of each point searched; for each of ``n_targets`` latency targets between the fastest
    latency and 100× it, the cheapest point no slower than the target is recorded (docs/model.md
    §7; the defaults, 400 and 1000, are the paper's; ``resolution`` is at most 10,000 and
    ``n_targets`` at most 1,000,000, and a grid that would not fit in half the available memory is
    refused before any work). With ``spec_dec`` every point uses speculative decoding when it
    helps. ``use_pp`` defaults to True, unlike ``isw.sweep(..., semantics="epoch")`` and
    :func:`infersweep.explain`: a frontier is the best layout at every speed, and the paper's
    frontiers search pipeline degrees too. ``exact=True`` is the finer mode: instead of sampling
    1000 latency targets it returns every non-dominated point of the grid (:func:`pareto_front`
    of the whole sweep), typically a few times more points, with the paper's points among them.
    Columns: every column of the epoch sweep for the recorded points.

    Under both, ``max_throughput`` caps tokens/s per instance (b / latency). ``use_pp``,
    ``resolution``, ``n_targets`` and ``exact`` left out take their semantics' defaults (above).
    """
    if semantics == "serving":
        epoch_only = {"use_pp": use_pp, "resolution": resolution, "n_targets": n_targets}
        given = [k for k, v in epoch_only.items() if v is not DEFAULT]
        given += ["spec_dec"] if spec_dec is not None else []
        if given:
            raise GridError(f"frontier: {given[0]!r} is the paper's search, not semantics='serving' (the "
                            f"default; it takes n_gpus=, batch_size=, max_gpus=, runtime=, precision=); "
                            f"pass semantics='epoch'")
        if exact is not DEFAULT and exact is not True:
            raise GridError(f"frontier: a serving frontier is always exact (the Pareto front of its sweep); "
                            f"'exact' may only be True, got {show(exact)}; pass semantics='epoch' for the "
                            f"paper's sampled search")
        return _frontier_serving(model, gpu, context_len, max_throughput, n_gpus, batch_size, max_gpus,
                                 runtime, precision, uncertainty, num_threads)
    if semantics != "epoch":
        raise GridError(f"frontier: 'semantics' must be 'epoch' or 'serving', got {show(semantics)}")
    serving_only = {"n_gpus": n_gpus, "batch_size": batch_size, "max_gpus": max_gpus, "runtime": runtime,
                    "precision": precision, "uncertainty": uncertainty}
    given = [k for k, v in serving_only.items() if v is not None]
    if given:
        raise GridError(f"frontier: {given[0]!r} needs semantics='serving' (epoch searches its own "
                        f"continuous grid: set 'resolution')")
    return _frontier_epoch(model, gpu, context_len, True if use_pp is DEFAULT else use_pp, spec_dec,
                           max_throughput, 400 if resolution is DEFAULT else resolution,
                           1000 if n_targets is DEFAULT else n_targets, False if exact is DEFAULT else exact,
                           num_threads)


def _frontier_serving(model: Model | str, gpu: Gpu | str, context_len: float, max_throughput: float,
                      n_gpus: Sequence[int] | np.ndarray | None,
                      batch_size: Sequence[int] | np.ndarray | None,
                      max_gpus: int | None, runtime: Any, precision: Any, uncertainty: float | None,
                      num_threads: int | None) -> pl.DataFrame:
    """``frontier(..., semantics="serving")``: the Pareto front of the serving sweep (docstring)."""
    m, g = lookup_model(model), lookup_gpu(gpu)
    check_threads(num_threads)
    lo, hi = FIELD_RANGES["grid"]["context_len"]
    context_len = real("frontier: 'context_len'", context_len, lo, hi)
    max_throughput = real("frontier: 'max_throughput'", max_throughput, 0.0, math.inf, lo_open=True)
    if n_gpus is not None and max_gpus is not None:
        raise GridError("frontier: give 'n_gpus' (the GPU counts) or 'max_gpus' (the top of the default "
                        "counts), not both")
    if n_gpus is None:
        top = SERVING_MAX_GPUS if max_gpus is None else integer("frontier: 'max_gpus'", max_gpus, 1, 1 << 20)
        n_gpus = serving_gpu_counts(top)
    default_batches = batch_size is None
    batches = serving_batch_sizes() if batch_size is None else batch_size
    args: dict[str, Any] = {"context_len": context_len, "semantics": "serving", "runtime": runtime,
                            "precision": precision, "num_threads": num_threads}
    grid = sweep(m, g, n_gpus=n_gpus, batch_size=batches, uncertainty=uncertainty, **args)
    if default_batches:
        # The largest batch each GPU count holds: at a batch no layout fits, the search reports the
        # layout with the largest max_batch_size (rust/serving/step.rs, best_of).
        ns = np.unique(grid["n_gpus"].to_numpy())
        biggest = sweep(m, g, n_gpus=ns, batch_size=1e12, columns=["n_gpus", "max_batch_size"],
                        grid="zip", **args)
        fits = biggest.filter(pl.col("max_batch_size").is_finite() & (pl.col("max_batch_size") >= 1)
                          & (pl.col("max_batch_size") < SERVING_MAX_BATCH))
        if fits.height:
            edge = sweep(m, g, n_gpus=fits["n_gpus"].to_numpy(),
                         batch_size=np.floor(fits["max_batch_size"].to_numpy()), grid="zip",
                         uncertainty=uncertainty, **args)
            grid = pl.concat([grid, edge], how="vertical_relaxed")
    grid = grid.filter(pl.col("batch_size") / pl.col("token_latency_s") <= max_throughput)
    front = pareto_front(grid)
    return front.sort(["tokens_per_s_per_request", "usd_per_million_tokens"], descending=[True, False])


def _frontier_epoch(model: Model | str, gpu: Gpu | str, context_len: float, use_pp: bool,
                    spec_dec: SpecDec | None, max_throughput: float, resolution: int, n_targets: int,
                    exact: bool, num_threads: int | None) -> pl.DataFrame:
    """``frontier(..., semantics="epoch")``: Epoch's sampled search (docstring)."""
    m, g = lookup_model(model), lookup_gpu(gpu)
    g.flops_for(m)
    check_threads(num_threads)
    resolution = integer("frontier: 'resolution'", resolution, 2, MAX_RESOLUTION)
    n_targets = integer("frontier: 'n_targets'", n_targets, 2, MAX_TARGETS)
    lo, hi = FIELD_RANGES["grid"]["context_len"]
    context_len = real("frontier: 'context_len'", context_len, lo, hi)
    max_throughput = real("frontier: 'max_throughput'", max_throughput, 0.0, math.inf, lo_open=True)
    for name, flag in (("use_pp", use_pp), ("exact", exact)):
        if not isinstance(flag, (bool, np.bool_)):
            raise GridError(f"frontier: {name!r} must be True or False, got {show(flag)}")
    if spec_dec is not None and not isinstance(spec_dec, SpecDec):
        raise GridError(f"frontier: 'spec_dec' must be None or an isw.SpecDec, got {show(spec_dec)}")
    # Refuse, before allocating, a search that would not fit: about FRONTIER_BYTES_PER_POINT
    # per grid point (exact mode: a sweep row per point).
    points = resolution * resolution
    need, avail = points * (BYTES_PER_ROW if exact else FRONTIER_BYTES_PER_POINT), available_memory()
    if need > avail // 2:
        raise GridError(f"frontier: resolution={resolution} means {points:,} grid points, about "
                        f"{need / 2**30:.1f} GiB, more than half of the {avail / 2**30:.1f} GiB available; "
                        f"lower 'resolution'")
    sd = None
    if spec_dec is not None:
        sd = {"drafter": model_dict(spec_dec.drafter_model), "acceptance": spec_dec.acceptance,
              "gamma_max": spec_dec.gamma_max}
        g.flops_for(spec_dec.drafter_model)
    if exact:
        n_grid, b_grid = frontier_grids(m, g, resolution)
        ns, bs = np.asarray(n_grid), np.asarray(b_grid)
        grid = sweep(m, g, n_gpus=ns, batch_size=bs, context_len=context_len, use_pp=use_pp,
                     spec_dec=spec_dec, num_threads=num_threads, progress=False, semantics="epoch")
        grid = grid.filter(pl.col("batch_size") / pl.col("token_latency_s") <= max_throughput)
        front = pareto_front(grid)
        return front.sort("tokens_per_s_per_request", descending=True)
    pts = _core.frontier(model_dict(m), gpu_dict(g), sd, context_len=float(context_len), use_pp=bool(use_pp),
                         max_throughput=float(max_throughput), n_batch=resolution, n_gpus=resolution,
                         n_targets=n_targets, num_threads=num_threads)
    if len(pts["n_gpus"]) == 0:
        return sweep(m, g, n_gpus=[1.0], batch_size=[1.0], context_len=context_len, use_pp=use_pp,
                     spec_dec=spec_dec, grid="zip", semantics="epoch").clear()
    df = sweep(m, g, n_gpus=pts["n_gpus"], batch_size=pts["batch_size"], context_len=context_len,
               use_pp=use_pp, spec_dec=spec_dec, grid="zip", num_threads=num_threads, progress=False,
               semantics="epoch")
    # The engine is deterministic: re-evaluating the recorded points gives their latencies.
    np.testing.assert_array_equal(df["token_latency_s"].to_numpy(), pts["token_latency_s"])
    return df


def preferred(front: pl.DataFrame, exponent: float = PREFERENCE_EXPONENT) -> pl.DataFrame:
    """The point users prefer: argmax speed^exponent / cost (one row).

    Only rows with a finite, positive speed and cost compete (an infeasible row has an infinite
    cost); a GridError says so when there is none, rather than returning an infeasible row.
    """
    if not isinstance(front, pl.DataFrame):
        raise GridError(f"preferred: expected a DataFrame (a frontier), got {show(front)}")
    exponent = real("preferred: 'exponent'", exponent, 0.0, 1e6, lo_open=True)
    speed, cost = "tokens_per_s_per_request", "usd_per_million_tokens"
    for c in (speed, cost):
        if c not in front.columns:
            raise GridError(f"preferred: no column {c!r}; columns are {front.columns}")
    if front.height == 0:
        raise GridError("preferred: the frontier is empty")
    x = front[speed].cast(pl.Float64).to_numpy()
    y = front[cost].cast(pl.Float64).to_numpy()
    ok = np.isfinite(x) & (x > 0) & np.isfinite(y) & (y > 0)
    if not ok.any():
        raise GridError(f"preferred: none of the {front.height:,} rows has a finite, positive speed and "
                        f"cost (every configuration is infeasible: it does not fit in memory)")
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(ok, exponent * np.log(np.where(ok, x, 1.0)) - np.log(np.where(ok, y, 1.0)), -np.inf)
    return front[int(np.argmax(score))]


def pareto_front(
    df: pl.DataFrame,
    speed: str = "tokens_per_s_per_request",
    cost: str = "usd_per_million_tokens",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """The exact non-dominated rows of any table (faster is better, cheaper is better).

    Computed in Rust in O(n log n); with ``by``, one front per group (for example per model
    and GPU). Rows keep their order; exact duplicates keep their first row; rows with a NaN
    speed, or a cost that is NaN or infinite (either sign), are never on the front.
    """
    if not isinstance(df, pl.DataFrame):
        raise GridError(f"pareto_front: expected a DataFrame, got {show(df)}")
    if by is not None and not isinstance(by, (str, list, tuple)):
        raise GridError(f"pareto_front: 'by' must be None, a column name or a list of them, got {show(by)}")
    for c in [speed, cost, *([by] if isinstance(by, str) else (by or []))]:
        if not isinstance(c, str) or c not in df.columns:
            raise GridError(f"pareto_front: no column {show(c)}; columns are {df.columns}")
    for c in (speed, cost):
        if not df.schema[c].is_numeric():
            raise GridError(f"pareto_front: column {c!r} must be numeric, got {df.schema[c]}")
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
