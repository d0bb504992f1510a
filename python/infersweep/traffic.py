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
from .traffic_reference import Lengths, lengths_moments

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


_NUMBER = (int, float, np.integer, np.floating)


def _axis(name: str, value: Any, *, integer: bool = False) -> list[Any]:
    """A grid axis as a list of positive finite numbers (integers where `integer`), or a
    GridError naming the field and the first bad value."""
    if value is None:
        raise GridError(f"grid: field {name!r} is required")
    raw = value if isinstance(value, np.ndarray) else (
        list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value])
    if len(raw) == 0:
        raise GridError(f"grid: field {name!r} is empty")
    # Fast path: a numeric array, or a list of numbers (bools are not numbers here).
    arr = None
    if isinstance(raw, np.ndarray):
        arr = raw.ravel() if raw.dtype.kind in "iuf" else None
    elif all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in raw):
        arr = np.asarray(raw, dtype=np.float64)
    if arr is not None and arr.ndim == 1:
        with np.errstate(invalid="ignore"):
            f = arr.astype(np.float64)
            ok = np.isfinite(f) & (f > 0)
            if integer:
                ok &= f == np.floor(f)
        if ok.all():
            return f.astype(np.int64).tolist() if integer else f.tolist()
    for v in raw:
        good = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
            and math.isfinite(v) and v > 0 and (not integer or float(v).is_integer())
        if not good:
            kind = "positive integers" if integer else "positive finite numbers"
            raise GridError(f"grid: field {name!r} must be {kind}, got {v!r}")
    return [int(v) if integer else float(v) for v in raw]


def _length_axis(name: str, value: Any) -> list[Any]:
    """An ISL or OSL axis: numbers (:func:`_axis`) and :class:`Lengths` histograms."""
    if isinstance(value, Lengths):
        return [value]
    if isinstance(value, (list, tuple)) and any(isinstance(v, Lengths) for v in value):
        return [v if isinstance(v, Lengths) else _axis(name, v)[0] for v in value]
    return _axis(name, value)


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
    fractional), or :class:`Lengths` histograms (docs/serving.md §T.10: solved through their
    moments; the ``isl``/``osl`` columns then hold the means). ``model``, ``gpu``, ``n_gpus``,
    ``isl``, ``osl``, ``chunk_size`` and the load (``concurrency`` — a closed loop of that many
    requests — or ``request_rate`` in requests/s, not both) take a value or a list; rows are
    their cartesian product. Layout degrees (``tp``, ``pp``, ``ep``, ``attention_dp``) pin the
    layout; the free ones are searched and
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
    isls = _length_axis("isl", isl)     # means of measured lengths need not be integers
    osls = _length_axis("osl", osl)
    chunks = _axis("chunk_size", chunk_size, integer=True)
    loads = _axis("concurrency" if closed else "request_rate", concurrency if closed else request_rate)
    precisions = [prec.resolve(m) for m in models]

    # Groups (one instance and traffic each) in segments: the layouts of one combination of
    # model, GPU, n_gpus, ISL, OSL and chunk size; every group runs at every load.
    pins = (tp or 0, pp or 0, ep or 0, attention_dp or 0)
    layout_cache: dict[tuple[int, int], list[Any]] = {}
    groups: list[tuple[int, ...]] = []
    traffic: list[tuple[float, ...]] = []
    prompts: list[tuple[float, float]] = []
    offsets = [0]
    segments = [0]
    ii, oo = range(len(isls)), range(len(osls))
    moments = {(a, b): lengths_moments(isls[a], osls[b]) for a in ii for b in oo}
    combos = itertools.product(range(len(models)), range(len(gpus)), ns, ii, oo, chunks)
    for mi, gi, n, i, o, ch in combos:
        if (mi, n) not in layout_cache:
            layout_cache[(mi, n)] = layouts(models[mi], n, *pins)
        mo = moments[(i, o)]
        for lay in layout_cache[(mi, n)]:
            groups.append((mi, gi, n, lay.tp, lay.pp, lay.ep, lay.attention_dp))
            traffic.append((mo.isl, mo.osl, ch, mo.decode_ctx, mo.capacity_ctx, mo.token_isl))
            prompts.extend(mo.prompts)
            offsets.append(len(prompts))
        segments.append(len(groups))
    g = np.asarray(groups, dtype=np.uint32).reshape(-1, 7)
    t = np.asarray(traffic, dtype=np.float64).reshape(-1, 6)
    pr = np.asarray(prompts, dtype=np.float64).reshape(-1, 2)
    load = np.asarray(loads, dtype=np.float64)
    cols = _core.serving_serve(
        models=[model_dict(m) for m in models], gpus=[gpu_dict(x) for x in gpus], precisions=precisions,
        runtime=runtime_dict(rt), model=g[:, 0].copy(), gpu=g[:, 1].copy(), n_gpus=g[:, 2].copy(),
        tp=g[:, 3].copy(), pp=g[:, 4].copy(), ep=g[:, 5].copy(), attention_dp=g[:, 6].copy(),
        isl=t[:, 0].copy(), osl=t[:, 1].copy(), budget=t[:, 2].copy(), decode_ctx=t[:, 3].copy(),
        capacity_ctx=t[:, 4].copy(), token_isl=t[:, 5].copy(),
        prompt_offsets=np.asarray(offsets, dtype=np.uint32), prompt_lengths=pr[:, 0].copy(),
        prompt_weights=pr[:, 1].copy(),
        segments=np.asarray(segments, dtype=np.uint32), loads=load, closed=closed, best=not all_layouts,
        num_threads=num_threads)
    return _frame(models, gpus, cols, closed)


def _frame(models: list[Model], gpus: list[Gpu], cols: dict[str, np.ndarray], closed: bool) -> pl.DataFrame:
    """Label the engine's rows and add their economics (docs/serving.md §T.5), vectorised."""
    from .sweep import LABEL_DTYPE, _labels

    n = cols["n_gpus"].astype(np.float64)
    isl, osl = cols["isl"], cols["osl"]
    price = np.asarray([x.usd_per_hour for x in gpus], dtype=np.float64)
    price = np.full(len(n), price[0]) if len(gpus) == 1 else price[cols["gpu"]]
    x = cols["requests_per_s"]
    sat = cols["saturated"]
    tpot, td, tm, rho = cols["tpot_s"], cols["decode_step_s"], cols["mixed_step_s"], cols["prefill_share"]
    usd_s = n * price / 3600
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        served = ~sat & (x > 0)
        out_tok = np.where(served, x * osl / n, 0.0)
        in_tok = np.where(served, x * isl / n, 0.0)
        usd_out = np.where(served, 1e6 * usd_s * (td / tpot) / (x * osl), np.inf)
        usd_in = np.where(served, 1e6 * usd_s * (rho * (tm - td) / tpot) / (x * isl), np.inf)
        per_user = np.where(np.isfinite(tpot) & (tpot > 0), 1 / tpot, 0.0)
    row_load = cols["load"]
    return pl.DataFrame({
        "model": _labels("model", [m.name for m in models], cols["model"], LABEL_DTYPE()),
        "gpu": _labels("gpu", [x.name for x in gpus], cols["gpu"], LABEL_DTYPE()),
        "n_gpus": cols["n_gpus"], "isl": isl, "osl": osl, "chunk_size": cols["chunk_size"],
        "concurrency": row_load if closed else np.full(len(row_load), np.nan),
        "request_rate": x if closed else row_load,
        "ttft_s": cols["ttft_s"], "tpot_s": tpot, "tokens_per_s_per_user": per_user,
        "output_tokens_per_s_per_gpu": out_tok, "input_tokens_per_s_per_gpu": in_tok,
        "requests_per_s": x, "usd_per_million_output_tokens": usd_out,
        "usd_per_million_input_tokens": usd_in, "saturated": sat,
        "ttft_idle_s": cols["ttft_idle_s"], "decode_seqs": cols["decode_seqs"],
        "prefill_share": rho, "decode_step_s": td, "mixed_step_s": tm,
        "tp": cols["tp"], "pp": cols["pp"], "ep": cols["ep"], "attention_dp": cols["attention_dp"],
        "weights_gb_per_gpu": cols["weights_gb_per_gpu"], "kv_gb_per_gpu": cols["kv_gb_per_gpu"],
        "max_batch_size": cols["max_batch_size"],
    })


#: The sweep axes of a steady state (``isw.sweep(..., semantics="serving", isl=, osl=, ...)``).
TRAFFIC_AXES = ("isl", "osl", "concurrency", "request_rate", "chunk_size")


def sweep_traffic(model: Any, gpu: Any, n_gpus: Any, *, semantics: str, traffic: dict[str, Any],
                  steps: dict[str, Any], grid: str, columns: Any, max_rows: int | None,
                  num_threads: int | None, serving_args: dict[str, Any]) -> pl.DataFrame:
    """``isw.sweep`` with the traffic axes: :func:`serve`'s rows (the steady state), or a GridError
    naming the field that does not combine with them. ``steps`` holds the sweep's other
    arguments (batch_size, context_len, seq_len, use_pp, spec_dec, uncertainty, chunk_rows): each
    must keep its default."""
    from .sweep import check_fits

    defaults = {"batch_size": 1, "context_len": 0, "seq_len": 1, "use_pp": False}

    def moved(name: str, v: Any) -> bool:     # set away from its default (a list counts as set)
        if name not in defaults:
            return v is not None
        d = defaults[name]
        if isinstance(d, bool):
            return v is not False
        return not (isinstance(v, (int, float)) and not isinstance(v, bool) and v == d)

    given = {name: moved(name, v) for name, v in steps.items()}

    axis = next(k for k in TRAFFIC_AXES if traffic[k] is not None)
    if semantics != "serving":
        raise GridError(f"grid: field {axis!r} needs semantics='serving' (the in-flight steady state, "
                        f"docs/serving.md §T)")
    for name, set_ in given.items():
        if set_:
            hint = ("a steady state's batch and context follow from its load and lengths"
                    if name in ("batch_size", "context_len", "seq_len") else "it does not apply")
            raise GridError(f"grid: field {name!r} does not combine with {axis!r} ({hint}); sweep "
                            f"isl, osl and concurrency or request_rate instead")
    for name in ("isl", "osl"):
        if traffic[name] is None:
            raise GridError(f"grid: field {name!r} is required with {axis!r}")
    if grid != "product":
        raise GridError("grid: field 'grid' must be 'product' with the traffic axes (rows are every "
                        "combination)")
    pins: dict[str, Any] = {}
    for name in ("tp", "pp", "ep", "attention_dp"):
        v = serving_args.get(name)
        if v is not None and not (isinstance(v, (int, np.integer)) and not isinstance(v, bool)):
            raise GridError(f"grid: field {name!r} must be one integer (or None) with the traffic axes, "
                            f"got {v!r}")
        pins[name] = None if v is None else int(v)
    cols = [columns] if isinstance(columns, str) else (None if columns is None else list(columns))
    if cols is not None:
        unknown = [c for c in cols if c not in SERVE_COLUMNS]
        if unknown or not cols:
            raise GridError(f"grid: unknown columns {unknown} for the traffic axes; known: {SERVE_COLUMNS}")
        cols = list(dict.fromkeys(cols))
    if max_rows is not None:
        n = 1
        for v in (model, gpu, n_gpus, traffic["isl"], traffic["osl"], traffic["chunk_size"],
                  traffic["concurrency"] if traffic["concurrency"] is not None else traffic["request_rate"]):
            n *= len(v) if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) else 1
        check_fits(n, max_rows)
    chunk = DEFAULT_CHUNK_SIZE if traffic["chunk_size"] is None else traffic["chunk_size"]
    df = serve(model, gpu, n_gpus, isl=traffic["isl"], osl=traffic["osl"], concurrency=traffic["concurrency"],
               request_rate=traffic["request_rate"], chunk_size=chunk, runtime=serving_args.get("runtime"),
               precision=serving_args.get("precision"), num_threads=num_threads, **pins)
    return df if cols is None else df.select(cols)


__all__ = ["DEFAULT_CHUNK_SIZE", "SERVE_COLUMNS", "TRAFFIC_AXES", "Lengths", "serve", "sweep_traffic"]
