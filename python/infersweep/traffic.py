"""Serving traffic: the in-flight steady state of a server (docs/serving.md, "Traffic").

:func:`serve` answers "what are TTFT, TPOT and the cost per token of this deployment at this
load?" under `serving` semantics: every step carries the decoding sequences and, in a share of
the steps, a chunked-prefill budget of new prompt tokens (Little's law), so TPOT includes the
prefill's interference and TTFT the wait for prefill capacity. The formulas are in
docs/serving.md §T; :mod:`infersweep.traffic_reference` is the plain-Python oracle of the Rust
engine (rust/serving/traffic.rs).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from .errors import GridError
from .serving import Precision, Runtime, runtime_dict
from .serving_reference import layouts
from .specs import Gpu, Model

#: Default chunked-prefill budget (prompt tokens one step may carry); see docs/serving.md §T.4.
DEFAULT_CHUNK_SIZE = 8192

#: Columns of :func:`serve`, in order.
SERVE_COLUMNS = [
    "model", "gpu", "n_gpus", "isl", "osl", "chunk_size", "concurrency", "request_rate",
    "ttft_s", "tpot_s", "tokens_per_s_per_user", "output_tokens_per_s_per_gpu",
    "input_tokens_per_s_per_gpu", "requests_per_s", "usd_per_million_output_tokens",
    "usd_per_million_input_tokens", "saturated", "ttft_idle_s", "decode_seqs", "prefill_share",
    "decode_step_s", "mixed_step_s", "tp", "pp", "ep", "attention_dp", "weights_gb_per_gpu",
    "kv_gb_per_gpu", "max_batch_size",
]


def _axis(name: str, value: Any, *, integer: bool = False, allow_none: bool = False) -> list[Any]:
    if value is None:
        if allow_none:
            return [None]
        raise GridError(f"grid: field {name!r} is required")
    raw = list(value) if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str) else [value]
    if not raw:
        raise GridError(f"grid: field {name!r} is empty")
    for v in raw:
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
            and math.isfinite(v) and v > 0 and (not integer or float(v).is_integer())
        if not ok:
            kind = "positive integers" if integer else "positive finite numbers"
            raise GridError(f"grid: field {name!r} must be {kind}, got {v!r}")
    return [int(v) if integer else float(v) for v in raw]


def _resolve(model: Any, gpu: Any) -> tuple[list[Model], list[Gpu]]:
    from .sweep import _as_list, lookup_gpu, lookup_model  # the sweep's own name/spec resolution
    return [lookup_model(m) for m in _as_list(model)], [lookup_gpu(g) for g in _as_list(gpu)]


def serve(model: Any, gpu: Any, n_gpus: Any, *, isl: Any, osl: Any, concurrency: Any = None,
          request_rate: Any = None, chunk_size: Any = DEFAULT_CHUNK_SIZE, runtime: Runtime | None = None,
          precision: Precision | None = None, tp: int | None = None, pp: int | None = None,
          ep: int | None = None, attention_dp: int | None = None, all_layouts: bool = False,
          num_threads: int | None = None) -> pl.DataFrame:
    """The in-flight steady state of a deployment, one row per combination of the axes.

    ``isl`` and ``osl`` are tokens per request (positive; means of measured lengths may be
    fractional). ``model``, ``gpu``, ``n_gpus``, ``isl``, ``osl``, ``chunk_size`` and the load
    (``concurrency`` — a closed loop of that many requests — or ``request_rate`` in requests/s,
    not both) take a value or a list; rows are their cartesian product. Layout degrees
    (``tp``, ``pp``, ``ep``, ``attention_dp``) pin the layout; the free ones are searched and
    the row keeps the layout with the lowest request latency TTFT + OSL·TPOT among unsaturated
    ones (``all_layouts=True``: one row per layout instead). A load the deployment cannot
    sustain is data: ``saturated`` is true and ``ttft_s`` is inf.
    """
    from . import _core
    from .sweep import gpu_dict, model_dict

    if (concurrency is None) == (request_rate is None):
        raise GridError("grid: give exactly one of fields 'concurrency' and 'request_rate'")
    closed = concurrency is not None
    rt = Runtime.default() if runtime is None else runtime
    if not isinstance(rt, Runtime):
        raise GridError(f"grid: field 'runtime' must be an isw.Runtime, got {rt!r}")
    prec = Precision() if precision is None else precision
    if not isinstance(prec, Precision):
        raise GridError(f"grid: field 'precision' must be an isw.Precision, got {prec!r}")
    models, gpus = _resolve(model, gpu)
    ns = _axis("n_gpus", n_gpus, integer=True)
    isls = _axis("isl", isl)     # means of measured lengths need not be integers
    osls = _axis("osl", osl)
    chunks = _axis("chunk_size", chunk_size, integer=True)
    loads = _axis("concurrency" if closed else "request_rate", concurrency if closed else request_rate)
    precisions = [prec.resolve(m) for m in models]

    rows: dict[str, list[Any]] = {k: [] for k in ("combo", "model", "gpu", "n_gpus", "tp", "pp", "ep",
                                                   "attention_dp", "isl", "osl", "budget", "load")}
    combos = list(itertools.product(range(len(models)), range(len(gpus)), ns, isls, osls, chunks, loads))
    layout_cache: dict[tuple[int, int], list[Any]] = {}
    for c, (mi, gi, n, i, o, ch, ld) in enumerate(combos):
        key = (mi, n)
        if key not in layout_cache:
            layout_cache[key] = layouts(models[mi], n, tp or 0, pp or 0, ep or 0, attention_dp or 0)
        for lay in layout_cache[key]:
            for k, v in (("combo", c), ("model", mi), ("gpu", gi), ("n_gpus", n), ("tp", lay.tp),
                         ("pp", lay.pp), ("ep", lay.ep), ("attention_dp", lay.attention_dp), ("isl", i),
                         ("osl", o), ("budget", ch), ("load", ld)):
                rows[k].append(v)
    def u32(k: str) -> np.ndarray:
        return np.asarray(rows[k], dtype=np.uint32)

    def f64(k: str) -> np.ndarray:
        return np.asarray(rows[k], dtype=np.float64)

    cols = _core.serving_traffic(
        models=[model_dict(m) for m in models], gpus=[gpu_dict(g) for g in gpus], precisions=precisions,
        runtime=runtime_dict(rt), model=u32("model"), gpu=u32("gpu"), n_gpus=u32("n_gpus"), tp=u32("tp"),
        pp=u32("pp"), ep=u32("ep"), attention_dp=u32("attention_dp"), isl=f64("isl"), osl=f64("osl"),
        budget=f64("budget"), load=f64("load"), closed=closed, num_threads=num_threads)
    return _frame(models, gpus, rows, cols, closed, all_layouts)


def _frame(models: list[Model], gpus: list[Gpu], rows: dict[str, list[Any]], cols: dict[str, np.ndarray],
           closed: bool, all_layouts: bool) -> pl.DataFrame:
    """Economics (docs/serving.md §T.5) and the best layout per combination."""
    n = np.asarray(rows["n_gpus"], dtype=np.float64)
    isl = np.asarray(rows["isl"], dtype=np.float64)
    osl = np.asarray(rows["osl"], dtype=np.float64)
    price = np.asarray([gpus[g].usd_per_hour for g in rows["gpu"]], dtype=np.float64)
    x = cols["requests_per_s"]
    sat = cols["saturated"]
    tpot, td, tm, rho = cols["tpot_s"], cols["decode_step_s"], cols["mixed_step_s"], cols["prefill_share"]
    usd_s = n * price / 3600
    with np.errstate(divide="ignore", invalid="ignore"):
        served = ~sat & (x > 0)
        out_tok = np.where(served, x * osl / n, 0.0)
        in_tok = np.where(served, x * isl / n, 0.0)
        usd_out = np.where(served, 1e6 * usd_s * (td / tpot) / (x * osl), np.inf)
        usd_in = np.where(served, 1e6 * usd_s * (rho * (tm - td) / tpot) / (x * isl), np.inf)
        per_user = np.where(np.isfinite(tpot) & (tpot > 0), 1 / tpot, 0.0)
    load = np.asarray(rows["load"], dtype=np.float64)
    df = pl.DataFrame({
        "combo": rows["combo"],
        "model": [models[i].name for i in rows["model"]],
        "gpu": [gpus[i].name for i in rows["gpu"]],
        "n_gpus": rows["n_gpus"], "isl": rows["isl"], "osl": rows["osl"],
        "chunk_size": rows["budget"],
        "concurrency": load if closed else np.full(len(load), np.nan),
        "request_rate": x if closed else load,
        "ttft_s": cols["ttft_s"], "tpot_s": tpot, "tokens_per_s_per_user": per_user,
        "output_tokens_per_s_per_gpu": out_tok, "input_tokens_per_s_per_gpu": in_tok,
        "requests_per_s": x, "usd_per_million_output_tokens": usd_out,
        "usd_per_million_input_tokens": usd_in, "saturated": sat,
        "ttft_idle_s": cols["ttft_idle_s"], "decode_seqs": cols["decode_seqs"],
        "prefill_share": rho, "decode_step_s": td, "mixed_step_s": tm,
        "tp": rows["tp"], "pp": rows["pp"], "ep": rows["ep"], "attention_dp": rows["attention_dp"],
        "weights_gb_per_gpu": cols["weights_gb_per_gpu"], "kv_gb_per_gpu": cols["kv_gb_per_gpu"],
        "max_batch_size": cols["max_batch_size"],
    })
    if not all_layouts:
        e2e = pl.col("ttft_s") + pl.col("osl") * pl.col("tpot_s")
        df = (df.with_row_index("_row")
              .sort(["combo", "saturated", e2e, "_row"], nulls_last=True)
              .unique("combo", keep="first", maintain_order=True)
              .drop("_row"))
    return df.drop("combo").select(SERVE_COLUMNS)


__all__ = ["DEFAULT_CHUNK_SIZE", "SERVE_COLUMNS", "serve"]
