"""A `serving` grid cut into row ranges, for streaming (``isw.sweep_to_parquet``, ``isw.sweep_shard``).

A serving sweep is one call into Rust over its whole grid (``isw.sweep(..., semantics="serving")``).
To stream one, rows ``lo..hi`` of the grid (in ``isw.sweep`` order) are computed as a few smaller
serving sweeps whose rows, concatenated, are exactly those rows: in a cartesian product (the last
of the ten axes varying fastest) a contiguous range of rows is the union, in order, of at most
2·9 + 1 sub-products, each fixing the leading axes to one value, one axis to a range of values
and keeping the trailing axes whole (:func:`blocks`); in a zipped grid it is every axis longer
than one sliced to ``lo:hi``. Every row depends only on its inputs (rust/serving/sweep.rs), so a
row is the same number whichever call computes it; an uncertainty band too (per-row finite
differences, infersweep.uncertainty).

The grid is validated before any part is written (:meth:`ServingJob.preflight`), so a bad pin or
column fails before a dataset directory is created, as an `epoch` grid does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from . import _core
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .dataset import Manifest
from .errors import GridError
from .serving import Precision, Runtime, _degrees
from .sweep import _as_list, _numbers, _unique_names, gpu_dict, model_dict, sweep

__all__ = ["AXES", "ServingJob", "blocks", "serving_job"]

#: The axes of a serving grid, in row order (rust/serving/sweep.rs AXES).
AXES = ("model", "gpu", "n_gpus", "batch_size", "context_len", "seq_len", "tp", "pp", "ep", "attention_dp")
_NUMERIC = ("n_gpus", "batch_size", "context_len", "seq_len")
_PINS = ("tp", "pp", "ep", "attention_dp")
#: Largest grid the preflight evaluates whole (less the batch, context and sequence axes).
PREFLIGHT_ROWS = 1 << 14

Block = list[tuple[int, int]]


def blocks(lens: Sequence[int], lo: int, hi: int) -> list[Block]:
    """Rows lo..hi of the cartesian product of axes of these lengths (last fastest) as sub-products:
    one ``(start, stop)`` index range per axis each, in row order; at most 2·(axes − 1) + 1."""
    n = len(lens)
    strides = [math.prod(lens[k + 1:]) for k in range(n)]
    out: list[Block] = []

    def whole(level: int) -> Block:
        return [(0, lens[k]) for k in range(level, n)]

    def rec(level: int, prefix: Block, a: int, b: int) -> None:
        stride = strides[level]
        if a == 0 and b == lens[level] * stride:
            out.append(prefix + whole(level))
            return
        i0, r0 = divmod(a, stride)
        i1, r1 = divmod(b, stride)
        if i0 == i1:  # within one value of this axis
            rec(level + 1, [*prefix, (i0, i0 + 1)], r0, r1)
            return
        if r0:
            rec(level + 1, [*prefix, (i0, i0 + 1)], r0, stride)
            i0 += 1
        if i1 > i0:
            out.append([*prefix, (i0, i1), *whole(level + 1)])
        if r1:
            rec(level + 1, [*prefix, (i1, i1 + 1)], 0, r1)

    if lo < hi:
        rec(0, [], lo, hi)
    return out


def _runtime_doc(runtime: Any) -> Any:
    """Every value of the runtime (or calibrated profile) the rows depend on, as plain data."""
    if runtime is None:
        return {"default": Runtime.default().to_dict()}
    if isinstance(runtime, Runtime):
        return runtime.to_dict()
    if hasattr(runtime, "log_covariance"):
        return {"profile": runtime.name, "runtime": runtime.runtime.to_dict(), "params": list(runtime.params),
                "log_covariance": [list(r) for r in runtime.log_covariance],
                "residual_sd": runtime.residual_sd}
    return repr(runtime)  # not a runtime: the preflight's sweep says so


def _runtime_text(runtime: Any) -> str:
    if runtime is None:
        return "isw.Runtime.default()"
    if hasattr(runtime, "log_covariance"):
        return f"profile {runtime.name}"
    return "custom isw.Runtime" if isinstance(runtime, Runtime) else repr(runtime)


@dataclass(frozen=True)
class ServingJob:
    """A validated serving grid with its output columns, a fingerprint of both and a description
    (the interface of stream.py's ``_Job``)."""

    values: dict[str, list[Any]]
    zip: bool
    columns: list[str] | None
    options: dict[str, Any]
    fingerprint: str
    description: dict[str, Any]

    @property
    def lens(self) -> list[int]:
        return [len(self.values[a]) for a in AXES]

    @property
    def rows(self) -> int:
        return max(self.lens) if self.zip else math.prod(self.lens)

    def bounds(self, shard: int, num_shards: int) -> tuple[int, int]:
        return shard * self.rows // num_shards, (shard + 1) * self.rows // num_shards

    def _sweep(self, part: dict[str, list[Any]], num_threads: int | None,
               columns: list[str] | None) -> pl.DataFrame:
        return sweep(part["model"], part["gpu"], n_gpus=np.asarray(part["n_gpus"], dtype=np.float64),
                     batch_size=np.asarray(part["batch_size"], dtype=np.float64),
                     context_len=np.asarray(part["context_len"], dtype=np.float64),
                     seq_len=np.asarray(part["seq_len"], dtype=np.float64),
                     grid="zip" if self.zip else "product", columns=columns, num_threads=num_threads,
                     semantics="serving", tp=part["tp"], pp=part["pp"], ep=part["ep"],
                     attention_dp=part["attention_dp"], runtime=self.options["runtime"],
                     precision=self.options["precision"], uncertainty=self.options["uncertainty"])

    def frame(self, lo: int, hi: int, num_threads: int | None) -> pl.DataFrame:
        """Rows lo..hi, as ``isw.sweep(..., semantics="serving")`` gives them."""
        if self.zip:
            parts = [{a: v if len(v) == 1 else v[lo:hi] for a, v in self.values.items()}]
        else:
            parts = [{a: self.values[a][i:j] for a, (i, j) in zip(AXES, block, strict=True)}
                     for block in blocks(self.lens, lo, hi)]
        frames = [self._sweep(p, num_threads, self.columns) for p in parts]
        return frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)

    def schema(self) -> pl.Schema:
        return self.frame(0, min(1, self.rows), None).schema

    def manifest(self, num_shards: int, requested: int) -> Manifest:
        return Manifest(self.fingerprint, self.description, self.rows, num_shards, requested)

    def preflight(self) -> None:
        """Raise now what evaluating some row would raise later: every model with every GPU
        (names, precisions, FLOP rates, columns, runtime), and every (model, n_gpus, pins) with
        the extremes of the other axes when that grid is small (else its first row)."""
        v = self.values
        if self.zip:
            if self.rows <= PREFLIGHT_ROWS:
                self._sweep(v, 1, self.columns)
            else:
                self.frame(0, 1, 1)
            return
        extremes = {a: sorted({min(v[a]), max(v[a])}) for a in ("batch_size", "context_len", "seq_len")}
        grid = {**v, **extremes}
        if math.prod(len(grid[a]) for a in AXES) <= PREFLIGHT_ROWS:
            self._sweep(grid, 1, self.columns)
        else:
            self._sweep({**{a: x[:1] for a, x in v.items()}, "model": v["model"], "gpu": v["gpu"]}, 1,
                        self.columns)


def serving_job(axes: dict[str, Any], grid: str, columns: Sequence[str] | str | None) -> ServingJob:
    """The serving grid of ``axes`` (stream.py's ``_axes`` plus the serving arguments), validated."""
    if grid not in ("product", "zip"):
        raise GridError(f"grid: must be 'product' or 'zip', got {grid!r}")
    if any(s is not None for s in _as_list(axes["spec_dec"])):  # serving spec_dec does not stream yet
        raise GridError("grid: field 'spec_dec' does not stream under semantics='serving' yet; pass "
                        "semantics='epoch' to stream speculative decoding")
    if any(bool(p) for p in _as_list(axes["use_pp"])):
        raise GridError("grid: field 'use_pp' does not apply to semantics='serving' (the default), which "
                        "searches integer pipeline degrees (pin one with pp=); pass semantics='epoch' for "
                        "the paper's continuous PP search")
    cols: list[str] | None = None
    if columns is not None:
        cols = list(dict.fromkeys([columns] if isinstance(columns, str) else list(columns)))
        if not cols:
            raise GridError("grid: columns=[] asks for no column; pass None for every column")
    models = [lookup_model(m) for m in _as_list(axes["model"])]
    gpus = [lookup_gpu(g) for g in _as_list(axes["gpu"])]
    if not models or not gpus:
        raise GridError(f"grid: field {'model' if not models else 'gpu'!r} is empty")
    _unique_names("model", models)
    _unique_names("gpu", gpus)
    values: dict[str, list[Any]] = {"model": models, "gpu": gpus}
    for a in _NUMERIC:
        values[a] = [float(x) for x in _numbers(a, axes[a])]
    for a in _PINS:
        values[a] = [None if d == 0 else int(d) for d in _degrees(a, axes[a]).tolist()]
    zipped = grid == "zip"
    if zipped:
        n = max(len(x) for x in values.values())
        bad = [f"{a}={len(values[a])}" for a in AXES if len(values[a]) not in (1, n)]
        if bad:
            raise GridError(f"grid: zip needs every axis of length 1 or {n}; got {', '.join(bad)}")
    options = {k: axes[k] for k in ("runtime", "precision", "uncertainty")}
    precision = axes["precision"]
    resolved = ([(precision or Precision()).resolve(m) for m in models]
                if precision is None or isinstance(precision, Precision) else repr(precision))
    doc = {
        "version": _core.__version__, "semantics": "serving", "grid": grid,
        "models": [model_dict(m) for m in models], "gpus": [gpu_dict(g) for g in gpus],
        **{a: values[a] for a in (*_NUMERIC, *_PINS)},
        "runtime": _runtime_doc(axes["runtime"]),
        "precision": [repr(precision), resolved], "uncertainty": axes["uncertainty"], "columns": cols,
    }
    fingerprint = hashlib.sha256(json.dumps(doc, sort_keys=True, default=repr).encode()).hexdigest()

    def axis(xs: list[float]) -> dict[str, Any]:
        return {"count": len(xs), "min": min(xs), "max": max(xs)}

    description = {
        "infersweep": _core.__version__, "semantics": "serving", "grid": grid,
        "models": [m.name for m in models], "gpus": [g.name for g in gpus],
        **{a: axis(values[a]) for a in _NUMERIC},
        **{a: ["searched" if d is None else d for d in values[a]] for a in _PINS},
        "runtime": _runtime_text(axes["runtime"]),
        "precision": "the model's own" if precision is None else (
            repr({k: x for k, x in dataclasses.asdict(precision).items() if x is not None})
            if isinstance(precision, Precision) else repr(precision)),
        "uncertainty": axes["uncertainty"], "columns": cols,
    }
    job = ServingJob(values, zipped, cols, options, fingerprint, description)
    job.preflight()
    return job
