"""Grids of configurations → polars DataFrames, evaluated by the Rust engine in chunks.

``sweep`` takes every argument as a scalar, a sequence or a numpy array and evaluates either
their cartesian product (``grid="product"``, the last axis varying fastest, in the order of
the signature) or the sequences row by row (``grid="zip"``; length-1 arguments broadcast).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from . import _core
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .checks import real_array, show
from .errors import GridError, SpecError
from .specs import Gpu, Model, SpecDec
from .speculative import DraftHeads, DraftModel

ModelLike = Model | str
GpuLike = Gpu | str
Numbers = float | int | Sequence[float] | np.ndarray
SpecLike = SpecDec | DraftHeads | DraftModel

#: Output bytes per row (21 float64, 4 uint32 and 4 bool columns, plus the polars frame).
BYTES_PER_ROW = 8 * 21 + 4 * 4 + 4
#: Rows per call into Rust with ``chunk_rows`` fixed by a caller that does not say (streamed
#: sweeps): enough to keep both cores busy, few enough for a lively progress bar and a prompt
#: Ctrl-C (about 0.1 s of work on two cores).
DEFAULT_CHUNK_ROWS = 1 << 16
#: With adaptive chunks (``chunk_rows=None``) the first call gets about this many plain rows
#: (no PP, no drafter) per thread, about 0.1 s of work, scaled down by the layout searches a
#: row of the grid needs; later calls aim at CHUNK_TARGET_S of measured work each, between
#: DEFAULT_CHUNK_ROWS/16 and MAX_CHUNK_ROWS rows. Fewer, larger calls are faster (each warms
#: its memo tables and builds a frame), and 0.25 s keeps Ctrl-C prompt.
FIRST_CHUNK_ROWS_PER_THREAD = 1 << 18
CHUNK_TARGET_S = 0.25
MAX_CHUNK_ROWS = 1 << 20

INPUT_COLUMNS = ["model", "gpu", "n_gpus", "batch_size", "context_len", "seq_len", "use_pp",
                 "drafter", "acceptance", "gamma_max"]
OUTPUT_COLUMNS = [
    "token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
    "tokens_per_s_per_gpu", "mfu", "feasible", "kernel_s", "network_latency_s", "network_bandwidth_s",
    "memory_s", "compute_s", "two_d_tp", "pp_degree", "ep_degree", "tp_ffn", "tp_attention",
    "attention_scaledown", "gamma", "drafter_latency_s",
]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (str, Model, Gpu, SpecDec, DraftHeads, DraftModel)) or value is None:
        return [value]
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _numbers(name: str, value: Numbers) -> np.ndarray:
    """An axis of numbers as a 1-D float64 array, or a GridError naming the axis.

    Strings and bools are refused even where numpy would convert them ("8" → 8, True → 1):
    in a grid they are mistakes, as they are in a spec field; so are complex numbers, dates
    and durations. The range of each axis is checked by the engine (README, "Accepted ranges").
    """
    arr = np.ascontiguousarray(real_array(f"grid: field {name!r}", value).ravel())
    if arr.size == 0:
        raise GridError(f"grid: field {name!r} is empty")
    return arr


def check_columns(columns: Sequence[str] | str | None) -> list[str] | None:
    """The requested columns as a list without repeats (None: all; a string: that one column),
    or a GridError for a bad request (an unknown name, an empty list)."""
    if columns is None:
        return None
    if isinstance(columns, str):  # one column's name, not its letters
        columns = [columns]
    try:
        cols = list(columns)
    except TypeError:
        raise GridError(f"grid: columns must be None, a column name or a list of them, "
                        f"got {show(columns)}") from None
    if not cols:
        raise GridError("grid: columns=[] asks for no column; pass None for every column")
    known = INPUT_COLUMNS + OUTPUT_COLUMNS
    unknown = [c for c in cols if not isinstance(c, str) or c not in known]
    if unknown:
        raise GridError(f"grid: unknown columns {show(unknown)}; known: {known}")
    return list(dict.fromkeys(cols))


#: Model fields the engine never reads: provenance, the toy model's flag, and attention sinks
#: (no cost in the model: docs/extensions.md §5).
_NOT_FOR_ENGINE = ("source", "parallel_attention", "attention_sinks")
#: Extension fields (docs/extensions.md), passed only when set, so that an `epoch` model's dict
#: (and a stored sweep's fingerprint) is what it was before the extensions existed.
_EXTENSION_DEFAULTS: dict[str, Any] = {"kv_bytes": None, "compute_bits": None, "tied_embeddings": False,
                                       "lookup_embedding": False,
                                       "mla_rope_dim": None, "layer_groups": None}


def model_dict(m: Model) -> dict[str, Any]:
    """A model as the plain dict the engine reads (layer groups as a list of dicts)."""
    return {k: v for k, v in m.to_dict().items()
            if k not in _NOT_FOR_ENGINE and (k not in _EXTENSION_DEFAULTS or v != _EXTENSION_DEFAULTS[k])}


def gpu_dict(g: Gpu) -> dict[str, Any]:
    d = {k: v for k, v in g.to_dict().items() if k != "source"}
    d["flops_by_bits"] = dict(g.flops_by_bits)
    return d


def _unique_names(kind: str, items: Sequence[Model | Gpu]) -> list[str]:
    names: dict[str, Model | Gpu] = {}
    for it in items:
        if it.name in names and names[it.name] != it:
            raise SpecError(f"{kind} {it.name!r}: two different specs share this name; rename one "
                            f"(e.g. spec.with_(name=...)) so the result's {kind} column can tell them apart")
        names[it.name] = it
    return [it.name for it in items]


#: The dtype of the ``model`` and ``gpu`` columns: Categorical, whose categories polars keeps
#: process-wide, so results of different calls concatenate (``pl.concat``; an Enum of each call's
#: names would refuse: "Enum mismatch"), at the cost of an Enum (4-byte codes, no string per row).
LABEL_DTYPE = pl.Categorical


def _labels(name: str, names: Sequence[str | None], codes: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """Codes → labels, by gathering from the few distinct labels (no Python loop).

    One label (the usual case: one model, one GPU, one drafter) is repeated instead, which
    skips reading the codes: a tenth of the time of a gather.
    """
    labels = pl.Series(name, names, dtype=dtype)
    if len(set(names)) == 1:
        return labels.new_from_index(0, len(codes))
    return labels.gather(codes)


def _spread(values: list[float] | list[int], codes: np.ndarray, dtype: type) -> np.ndarray:
    """values[codes] as a numpy column (np.full when every value is the same)."""
    if len(set(values)) == 1:
        return np.full(len(codes), values[0], dtype=dtype)
    return np.asarray(values, dtype=dtype)[codes]


@dataclass(frozen=True)
class Plan:
    """A validated grid: the Rust grid plus what it takes to label its rows."""

    core: _core.SweepGrid
    models: list[Model]
    gpus: list[Gpu]
    spec_decs: list[SpecDec | None]
    #: Layout searches per row, at most, relative to a plain search without PP.
    searches_per_row: float = 1.0

    @property
    def rows(self) -> int:
        return len(self.core)

    def frame(self, cols: dict[str, np.ndarray], columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Label one chunk of engine output as a DataFrame."""
        out: dict[str, Any] = {}
        model_names = _unique_names("model", self.models)
        gpu_names = _unique_names("gpu", self.gpus)
        out["model"] = _labels("model", model_names, cols["model"], LABEL_DTYPE())
        out["gpu"] = _labels("gpu", gpu_names, cols["gpu"], LABEL_DTYPE())
        for name in ("n_gpus", "batch_size", "context_len", "seq_len", "use_pp"):
            out[name] = cols[name]
        sd = cols["spec_dec"]
        out["drafter"] = _labels("drafter", [s.drafter_model.name if s else None for s in self.spec_decs], sd,
                                 pl.String())
        out["acceptance"] = _spread([s.acceptance if s else np.nan for s in self.spec_decs], sd, np.float64)
        out["gamma_max"] = _spread([s.gamma_max if s else 0 for s in self.spec_decs], sd, np.uint32)
        for name in OUTPUT_COLUMNS:
            out[name] = cols[name]
        if columns is not None:
            out = {k: out[k] for k in columns}
        return pl.DataFrame(out)


def plan(model: ModelLike | Sequence[ModelLike], gpu: GpuLike | Sequence[GpuLike], n_gpus: Numbers,
         batch_size: Numbers, context_len: Numbers, seq_len: Numbers, use_pp: bool | Sequence[bool],
         spec_dec: Any, grid: Literal["product", "zip"]) -> Plan:
    """Resolve names, normalise every axis and validate the grid (in Rust) without evaluating it."""
    if grid not in ("product", "zip"):
        raise GridError(f"grid: must be 'product' or 'zip', got {show(grid)}")
    models = [lookup_model(m) for m in _as_list(model)]
    gpus = [lookup_gpu(g) for g in _as_list(gpu)]
    pps = _as_list(use_pp)
    for p in pps:
        if not isinstance(p, (bool, np.bool_)):
            raise GridError(f"grid: field 'use_pp' must be True or False, got {show(p)}")
    sds = _as_list(spec_dec)
    for s in sds:
        if isinstance(s, (DraftHeads, DraftModel)):
            raise GridError("grid: field 'spec_dec': isw.DraftHeads and isw.DraftModel need "
                            "semantics='serving' (epoch's speculative decoding is isw.SpecDec)")
        if s is not None and not isinstance(s, SpecDec):
            raise GridError(f"grid: field 'spec_dec' must be None or an isw.SpecDec, got {show(s)}")
    for m in models:
        for g in gpus:
            if grid == "product":
                g.flops_for(m)
    core = _core.SweepGrid(
        models=[model_dict(m) for m in models],
        gpus=[gpu_dict(g) for g in gpus],
        n_gpus=_numbers("n_gpus", n_gpus),
        batch_size=_numbers("batch_size", batch_size),
        context_len=_numbers("context_len", context_len),
        seq_len=_numbers("seq_len", seq_len),
        use_pp=[bool(p) for p in pps],
        spec_dec=[None if s is None else {"drafter": model_dict(s.drafter_model), "acceptance": s.acceptance,
                                          "gamma_max": s.gamma_max} for s in sds],
        zip=grid == "zip",
    )
    # A PP search visits up to 11 pipeline degrees (about 5x the time of one without PP); a
    # drafter adds its own pass and one verification pass per draft length.
    pp_cost = 5.0 if any(pps) else 1.0
    drafts = max((s.gamma_max for s in sds if s is not None), default=0)
    return Plan(core, models, gpus, sds, pp_cost * (1 + drafts))


def _available_memory() -> int:
    """Bytes of memory available now (MemAvailable; else free pages; else 8 GiB)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_fits(rows: int, max_rows: int | None) -> None:
    """Refuse, before allocating, a result that would not fit in memory."""
    need = rows * BYTES_PER_ROW
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)):
        raise GridError(f"grid: max_rows must be None or an integer, got {show(max_rows)}")
    if max_rows is not None and rows > max_rows:
        raise GridError(f"grid: {rows:,} rows exceed max_rows={max_rows:,}")
    if need <= 1 << 20:
        return  # a MiB fits on any machine that runs Python: no /proc read for a few rows
    avail = _available_memory()
    if need > avail // 2:
        raise GridError(
            f"grid: {rows:,} rows would need about {need / 2**30:.1f} GiB, more than half of the "
            f"{avail / 2**30:.1f} GiB available; use isw.sweep_to_parquet(...) to stream it to disk, "
            f"or sweep fewer values")


class Progress:
    """A one-line progress bar on stderr: rows done, rows/s, time left."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done = 0

    def update(self, rows: int) -> None:
        self.done += rows
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r[{bar:<30}] {self.done:,}/{self.total:,} rows  {rate:,.0f} rows/s  "
                         f"{left:,.1f} s left ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


#: Most threads ``num_threads`` may ask for (far more than any machine's cores).
MAX_THREADS: int = _core.MAX_THREADS


def check_threads(num_threads: int | None) -> None:
    """None, or an integer in [1, MAX_THREADS] (a GridError naming the value otherwise)."""
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                    or not 1 <= num_threads <= MAX_THREADS):
        raise GridError(f"grid: num_threads must be None or an integer in [1, {MAX_THREADS}], "
                        f"got {show(num_threads)}")


def first_chunk_rows(p: Plan, num_threads: int | None) -> int:
    """Rows of the first adaptive chunk: about 0.1 s of work, estimated from the grid."""
    threads = num_threads or _core.default_threads()
    rows = int(FIRST_CHUNK_ROWS_PER_THREAD * threads / p.searches_per_row)
    return max(DEFAULT_CHUNK_ROWS // 16, min(MAX_CHUNK_ROWS, rows))


def chunks(p: Plan, chunk_rows: int | None, num_threads: int | None, progress: bool | None,
           start: int = 0, end: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Evaluate rows start..end in chunks; Ctrl-C is honoured between chunks.

    ``chunk_rows=None`` adapts the chunk size so that each call takes about CHUNK_TARGET_S;
    results do not depend on the chunking (rows are independent).
    """
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int)
                                   or chunk_rows < 1):
        raise GridError(f"grid: chunk_rows must be None or an integer >= 1, got {show(chunk_rows)}")
    check_threads(num_threads)
    stop = p.rows if end is None else end
    size = first_chunk_rows(p, num_threads) if chunk_rows is None else chunk_rows
    bar = Progress(stop - start, progress if stop - start > size else False)
    lo = start
    try:
        while lo < stop:
            hi = min(lo + size, stop)
            began = time.perf_counter()
            yield p.core.evaluate(lo, hi, num_threads=num_threads)
            bar.update(hi - lo)
            if chunk_rows is None:
                took = max(time.perf_counter() - began, 1e-6)
                grown = int(size * min(4.0, CHUNK_TARGET_S / took))
                size = max(DEFAULT_CHUNK_ROWS // 16, min(MAX_CHUNK_ROWS, grown))
            lo = hi
    finally:
        bar.close()


def sweep(
    model: ModelLike | Sequence[ModelLike],
    gpu: GpuLike | Sequence[GpuLike] = "H100",
    n_gpus: Numbers = 8,
    batch_size: Numbers = 1,
    context_len: Numbers = 0,
    seq_len: Numbers = 1,
    use_pp: bool | Sequence[bool] = False,
    spec_dec: SpecLike | Sequence[SpecLike | None] | None = None,
    *,
    grid: Literal["product", "zip"] = "product",
    columns: Sequence[str] | str | None = None,
    num_threads: int | None = None,
    progress: bool | None = None,
    chunk_rows: int | None = None,
    max_rows: int | None = None,
    semantics: Literal["epoch", "serving"] = "serving",
    tp: Any = None,
    pp: Any = None,
    ep: Any = None,
    attention_dp: Any = None,
    runtime: Any = None,
    precision: Any = None,
    uncertainty: float | None = None,
    isl: Any = None,
    osl: Any = None,
    concurrency: Any = None,
    request_rate: Any = None,
    chunk_size: Any = None,
) -> pl.DataFrame:
    """Evaluate every configuration of the grid: one row per configuration.

    The default semantics is ``"serving"`` (deployable layouts and a real server's costs; last
    paragraphs); ``semantics="epoch"`` is the paper's model, exact to the notebook, which the
    next paragraphs describe (its columns are OUTPUT_COLUMNS, serving's SERVING_OUTPUT_COLUMNS).

    Under ``epoch`` each row carries its inputs and the token latency, speed, cost, utilisation
    and the winning layout with its four time components (docs/model.md §5-7). Rows that do not fit in memory
    are data: ``feasible`` is false, latency and cost are ``inf`` and the components NaN.
    With ``seq_len`` S > 1 each pass yields S positions per sequence: ``token_latency_s`` is
    the pass time and speeds and costs count S tokens per sequence per pass. In ``epoch``
    semantics the S positions attend over ``context_len`` only, not to one another (the
    notebook leaves within-pass attention out, docs/model.md §3): for a prompt's prefill and
    TTFT use :func:`infersweep.serve` (``ttft_s``, ``ttft_idle_s``) or the serving prefill
    (docs/serving.md §T.2).

    ``use_pp`` defaults to False: one configuration's latency as the paper's point checks give
    it (a PP search visits up to 11 pipeline degrees, about 5× the time); :func:`infersweep.frontier`
    defaults to True, so pass ``use_pp=True`` to compare a row with a frontier point.

    ``model`` and ``gpu`` are Categorical columns: results of different calls concatenate.

    ``progress`` shows a bar on stderr (default: when stderr is a terminal and the grid spans
    more than one chunk); ``num_threads`` (1 to MAX_THREADS = 1024) caps the Rust thread
    pool (built without the GIL; the four pools used last are kept, older ones end their
    threads); ``columns`` keeps only those columns (a list of names, or one name); ``max_rows``
    refuses larger grids; ``chunk_rows`` fixes the rows per call into Rust (default: adaptive,
    about 0.25 s of work per call, so Ctrl-C stays prompt). Every numeric axis has an accepted
    range, as every spec field has (README, "Accepted ranges"): n_gpus and batch_size in
    [1e-6, 1e12], context_len in [0, 1e12], seq_len in [1, 1e12].

    ``semantics="serving"`` (the default: CHANGELOG.md; docs/serving.md) evaluates deployable
    integer layouts: ``tp``, ``pp``, ``ep`` and ``attention_dp`` are integer axes (None: searched
    over every valid layout of ``n_gpus``), with an ``isw.Runtime`` (default ``Runtime.default()``)
    and an ``isw.Precision``; ``n_gpus`` and ``batch_size`` are positive integers; ``spec_dec`` is
    an ``isw.DraftHeads`` (MTP, Eagle) or an ``isw.DraftModel`` (or a list of them and None, one
    sweep each, concatenated; docs/serving.md §D), which adds ``draft``, ``draft_tokens``,
    ``tokens_per_step``, ``draft_s``, ``verify_s`` and ``tpot_s``; ``use_pp`` does not apply, and
    the sweep is one call into Rust (no ``chunk_rows``, no progress bar yet): each of those, an
    ``isw.SpecDec`` and a column only `epoch` has, is a GridError saying to pass
    ``semantics="epoch"``, the paper's continuous model, which the paragraphs above describe.
    ``runtime`` may be a calibrated ``isw.Profile`` (``isw.calibrate``, ``isw.shipped_profiles()``);
    with one, ``uncertainty=0.8`` adds ``tpot_s_lo``/``tpot_s_hi`` and the bounds of the speeds and
    the cost: the central 80% interval from the profile's parameter covariance and residual spread
    (docs/calibration.md).

    The traffic axes ``isl``, ``osl`` and ``concurrency`` or ``request_rate`` (with ``chunk_size``,
    default 8192) sweep the in-flight steady state instead (``semantics="serving"``): the rows
    and columns of :func:`infersweep.serve` (TTFT, TPOT, throughput and cost per token at that
    load; docs/serving.md §T). They replace ``batch_size``, ``context_len`` and ``seq_len``.
    """
    traffic = {"isl": isl, "osl": osl, "concurrency": concurrency, "request_rate": request_rate,
               "chunk_size": chunk_size}
    if any(v is not None for v in traffic.values()):
        from .traffic import sweep_traffic

        steps = {"batch_size": batch_size, "context_len": context_len, "seq_len": seq_len, "use_pp": use_pp,
                 "spec_dec": spec_dec, "uncertainty": uncertainty, "chunk_rows": chunk_rows}
        return sweep_traffic(model, gpu, n_gpus, semantics=semantics, traffic=traffic, steps=steps, grid=grid,
                             columns=columns, max_rows=max_rows, num_threads=num_threads,
                             serving_args={"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp,
                                           "runtime": runtime, "precision": precision})
    serving_args = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp, "runtime": runtime,
                    "precision": precision}
    if semantics == "serving" and isinstance(columns, str):  # one column's name, not its letters
        columns = [columns]
    if uncertainty is not None and semantics != "serving":
        raise GridError("grid: field 'uncertainty' needs semantics='serving' and a calibrated runtime "
                        "profile")
    if semantics == "serving" and progress:
        raise GridError("grid: field 'progress' does not apply to semantics='serving' (the default) yet: "
                        "a serving sweep is one call into Rust, without a bar; pass semantics='epoch' "
                        "for the paper's model in chunks with one")
    if semantics == "serving" and chunk_rows is not None:
        raise GridError("grid: field 'chunk_rows' does not apply to semantics='serving' (the default) "
                        "yet: a serving sweep is one call into Rust; pass semantics='epoch' for the "
                        "paper's model in chunks")
    if semantics == "serving" and (uncertainty is not None or hasattr(runtime, "log_covariance")):
        from .uncertainty import sweep_profile

        return sweep_profile(lambda args, cols: _sweep_serving(
            model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec, grid, cols, num_threads,
            max_rows, args), serving_args, uncertainty, columns)
    if semantics == "serving":
        return _sweep_serving(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec,
                              grid, columns, num_threads, max_rows, serving_args)
    if semantics != "epoch":
        raise GridError(f"grid: field 'semantics' must be 'epoch' or 'serving', got {semantics!r}")
    given = [k for k, v in serving_args.items() if v is not None]
    if given:
        raise GridError(f"grid: field {given[0]!r} needs semantics='serving' (epoch layouts are continuous "
                        f"and searched)")
    p = plan(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec, grid)
    columns = check_columns(columns)
    check_fits(p.rows, max_rows)
    frames = [p.frame(c, columns) for c in chunks(p, chunk_rows, num_threads, progress)]
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, rechunk=False)


def _sweep_serving(model: Any, gpu: Any, n_gpus: Numbers, batch_size: Numbers, context_len: Numbers,
                   seq_len: Numbers, use_pp: Any, spec_dec: Any, grid: str, columns: Sequence[str] | None,
                   num_threads: int | None, max_rows: int | None, args: dict[str, Any]) -> pl.DataFrame:
    """``sweep(..., semantics="serving")``: normalise the axes and hand them to serving.py."""
    from .serving import sweep_serving

    if grid not in ("product", "zip"):
        raise GridError(f"grid: must be 'product' or 'zip', got {grid!r}")
    if any(bool(p) for p in _as_list(use_pp)):
        raise GridError("grid: field 'use_pp' does not apply to semantics='serving' (the default), which "
                        "searches integer pipeline degrees (pin one with pp=); pass semantics='epoch' for "
                        "the paper's continuous PP search")
    specs = _as_list(spec_dec)
    if len(specs) > 1:
        from .speculative import sweep_each

        return sweep_each(lambda s: _sweep_serving(model, gpu, n_gpus, batch_size, context_len, seq_len,
                                                   use_pp, s, grid, columns, num_threads, max_rows, args),
                          specs)
    check_threads(num_threads)
    _check_serving_columns(columns)
    models = [lookup_model(m) for m in _as_list(model)]
    gpus = [lookup_gpu(g) for g in _as_list(gpu)]
    axes = {k: _numbers(k, v) for k, v in (("n_gpus", n_gpus), ("batch_size", batch_size),
                                           ("context_len", context_len), ("seq_len", seq_len))}
    lens = [len(models), len(gpus), *(len(x) for x in axes.values())]
    lens += [len(_as_list(args[k])) for k in ("tp", "pp", "ep", "attention_dp")]
    check_fits(max(lens) if grid == "zip" else math.prod(lens), max_rows)
    return sweep_serving(models, gpus, axes["n_gpus"], axes["batch_size"], axes["context_len"],
                         axes["seq_len"], spec_dec=specs[0],
                         grid=grid, num_threads=num_threads, columns=columns, **args)


def _check_serving_columns(columns: Sequence[str] | str | None) -> None:
    """A GridError for a requested column only `epoch` has (the layout's real degrees, the drafter),
    saying so; any other name is serving.py's to check."""
    from .serving import SERVING_INPUT_COLUMNS, SERVING_OUTPUT_COLUMNS

    cols = [columns] if isinstance(columns, str) else list(columns or [])
    serving = set(SERVING_INPUT_COLUMNS + SERVING_OUTPUT_COLUMNS)
    epoch_only = [c for c in cols if c in INPUT_COLUMNS + OUTPUT_COLUMNS and c not in serving]
    if epoch_only:
        raise GridError(f"grid: column {epoch_only[0]!r} is epoch's only; semantics='serving' (the default) "
                        f"has {SERVING_INPUT_COLUMNS + SERVING_OUTPUT_COLUMNS}; pass semantics='epoch' "
                        f"for the paper's columns")
