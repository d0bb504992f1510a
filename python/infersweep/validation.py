"""Predicted against measured: ``validate`` maps each measured deployment onto a semantics and reports
the error; ``validation_summary`` condenses it (docs/measurements.md, "Validation").

A semantics is a *predictor*: a function from one measurement row (a dict of the dataset's columns)
and a runtime to a :class:`Prediction` (the predicted decode-step time and the inputs it used) or
a reason it cannot express the point. ``epoch`` is built in; ``serving`` registers itself with
:func:`register_semantics` once it exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .catalog import gpu as catalog_gpu
from .catalog import model as catalog_model
from .data import measurements as shipped_measurements
from .errors import InfersweepError, SpecError
from .specs import Gpu, Model
from .sweep import sweep

__all__ = ["PRECISION_BITS", "PRECISION_BYTES", "Prediction", "Unexpressible", "is_saturation",
           "register_semantics", "validate", "validation_summary"]

#: Bytes per weight (or KV element) of each precision name of the dataset. Block-scaled 4-bit formats
#: carry their scales: NVFP4 = 4 bits + an FP8 scale per 16 values; MXFP4 = 4 bits + an 8-bit scale
#: per 32. "fp4" is NVIDIA's FP4 of MLPerf and TensorRT-LLM, which is NVFP4.
PRECISION_BYTES: dict[str, float] = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5625,
                                     "nvfp4": 0.5625, "mxfp4": 0.53125}
#: The GPU FLOP-rate key (``Gpu.flops_by_bits``) a GEMM in that precision runs at.
PRECISION_BITS: dict[str, int] = {"bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "fp4": 4, "nvfp4": 4,
                                  "mxfp4": 4}

#: Error bands of the summary, as factors (|ln(predicted / measured)| <= ln(factor)).
BANDS: dict[str, float] = {"within_15pct": 1.15, "within_30pct": 1.30, "within_2x": 2.0}


class Unexpressible(Exception):
    """Raised by a predictor for a point its semantics cannot express; the message is the reason."""


@dataclass(frozen=True)
class Prediction:
    """A predictor's answer: the decode-step time and the inputs it evaluated (for the table)."""

    step_s: float
    feasible: bool
    inputs: Mapping[str, Any] = field(default_factory=dict)


Predictor = Callable[[Mapping[str, Any], Any], Prediction]
_SEMANTICS: dict[str, tuple[Predictor, dict[str, pl.DataType]]] = {}


def register_semantics(name: str, predictor: Predictor, input_columns: Mapping[str, pl.DataType]) -> None:
    """Make ``validate(semantics=name, runtime=...)`` use ``predictor(row, runtime)``; the keys of
    ``input_columns`` (with their types) are the ``Prediction.inputs`` shown as output columns."""
    _SEMANTICS[name] = (predictor, dict(input_columns))


# --- checks shared by every semantics ----------------------------------------------------------------
def is_saturation(r: Mapping[str, Any]) -> bool:
    """A row measured at maximum load (``per_user_kind`` d: an offline run with every request queued at
    once): its ``measured_step_ms`` is an instance's time per output token, 1000 · instances /
    throughput, not a decode step; a semantics predicts it as the output rate of an instance whose
    decode batch is as large as its memory holds (docs/measurements.md, A.0)."""
    return r.get("per_user_kind") == "d"


def common_reason(r: Mapping[str, Any]) -> str | None:
    """Why no semantics of a single decode step can predict this row, or None."""
    if r["spec_decoding"] not in ("", "none"):
        return f"speculative decoding ({r['spec_decoding']}): tokens per step need an acceptance model"
    if not r["model_catalog"]:
        return f"model {r['model']!r} is not in the catalog"
    if not r["gpu_catalog"]:
        return f"hardware {r['hardware']!r} is not in the catalog"
    if r["measured_step_ms"] is None:
        if r["decode_batch"] is None:
            if r["scenario"] == "offline":
                return ("saturation throughput of an unknown instance size (GPUs per replica): no time "
                        "per output token of an instance")
            return "no decode batch: the source gives neither concurrency nor batch size"
        return "no per-step measurement (no TPOT, per-user speed or static batch)"
    if r["decode_batch"] is None and not is_saturation(r):
        return "no decode batch: the instance size (GPUs per replica) is not known"
    if r["isl"] is None or r["osl"] is None:
        return "no input or output length: the context cannot be set"
    return None


def _catalog(r: Mapping[str, Any]) -> tuple[Model, Gpu]:
    try:
        return catalog_model(r["model_catalog"]), catalog_gpu(r["gpu_catalog"])
    except InfersweepError as e:
        raise Unexpressible(f"catalog: {e}") from None


# --- epoch -------------------------------------------------------------------------------------------
def epoch_model(r: Mapping[str, Any], m: Model, g: Gpu) -> Model:
    """The catalog model at the deployment's precision, as `epoch` can express it (one weight
    precision: the experts' in a MoE, where almost all the bytes are; the KV cache's own)."""
    changes: dict[str, Any] = {}
    wp = r["expert_precision"] if (m.n_experts > 1 and r["expert_precision"]) else r["weight_precision"]
    if wp:
        changes["weight_bytes"] = PRECISION_BYTES[wp]
        changes["compute_bits"] = PRECISION_BITS[wp]
        if PRECISION_BITS[wp] not in g.flops_by_bits:
            raise Unexpressible(f"precision {wp} has no FLOP rate on {g.name} (flops_by_bits "
                                f"{sorted(g.flops_by_bits)})")
    if r["kv_precision"]:
        changes["kv_bytes"] = PRECISION_BYTES[r["kv_precision"]]
    return m.with_(**changes) if changes else m


def epoch_inputs(r: Mapping[str, Any]) -> dict[str, Any]:
    """The `epoch` grid point of a deployment: one instance (``gpus_per_instance`` GPUs) at the
    decode batch of one instance, context = ISL + OSL/2 (the mean context over a request's decode),
    pipeline stages allowed when the deployment used them."""
    return {"n_gpus": float(r["gpus_per_instance"]), "batch_size": float(r["decode_batch"]),
            "context_len": float(r["isl"] + r["osl"] / 2),
            "use_pp": r["pp"] is not None and r["pp"] > 1}


def predict_epoch(r: Mapping[str, Any], runtime: Any) -> Prediction:
    if runtime is not None:
        raise SpecError(f"validate: semantics 'epoch' takes no runtime (got {runtime!r})")
    if is_saturation(r):
        raise Unexpressible("epoch: a saturation row's decode batch is the one that fills the memory, which "
                            "epoch does not model (serving: max_batch_size)")
    m, g = _catalog(r)
    m = epoch_model(r, m, g)
    x = epoch_inputs(r)
    try:
        out = sweep(m, g, n_gpus=x["n_gpus"], batch_size=x["batch_size"], context_len=x["context_len"],
                    use_pp=x["use_pp"], columns=["token_latency_s", "feasible"], semantics="epoch")
    except InfersweepError as e:
        raise Unexpressible(f"epoch: {e}") from None
    inputs = {**x, "weight_bytes": m.weight_bytes, "kv_bytes": m.kv_element_bytes,
              "compute_bits": m.compute_bits}
    return Prediction(float(out["token_latency_s"][0]), bool(out["feasible"][0]), inputs)


EPOCH_INPUTS: dict[str, pl.DataType] = {
    "n_gpus": pl.Float64(), "batch_size": pl.Float64(), "context_len": pl.Float64(), "use_pp": pl.Boolean(),
    "weight_bytes": pl.Float64(), "kv_bytes": pl.Float64(), "compute_bits": pl.Int64(),
}
register_semantics("epoch", predict_epoch, EPOCH_INPUTS)
_KEPT = ["id", "source_id", "model", "gpu_catalog", "framework", "scenario", "batching", "per_user_kind",
         "spec_decoding", "measured_step_ms", "measured_step_ms_how"]


def validate(semantics: str = "epoch", runtime: Any = None,
             measurements: pl.DataFrame | None = None) -> pl.DataFrame:
    """Predicted against measured decode-step time for every measured deployment.

    One row per measurement (default: :func:`infersweep.measurements`; a user's frame needs the same
    columns). ``expressible`` rows carry ``predicted_step_ms``, ``ratio`` (predicted / measured) and
    ``log_ratio``; every other row carries the ``reason`` it was not predicted (speculative decoding,
    no decode batch, a model or GPU outside the catalog, a deployment the semantics rejects as not
    fitting in memory, ...). The inputs the semantics evaluated are columns too (for ``epoch``:
    ``n_gpus`` of one instance, ``batch_size`` = the instance's decode batch, ``context_len`` =
    ISL + OSL/2, ``use_pp`` when the deployment used pipeline stages, and the precision it ran).
    ``runtime`` is for semantics that take one (``serving``); ``epoch`` takes none.
    """
    if semantics not in _SEMANTICS:
        if semantics == "serving":
            raise SpecError("validate: semantics 'serving' is not available in this version "
                            "(issue 11); use semantics='epoch'")
        raise SpecError(f"validate: unknown semantics {semantics!r}; known: {sorted(_SEMANTICS)}")
    predictor, input_columns = _SEMANTICS[semantics]
    if semantics == "epoch" and runtime is not None:
        raise SpecError(f"validate: semantics 'epoch' takes no runtime (got {runtime!r})")
    df = shipped_measurements() if measurements is None else measurements
    missing = [c for c in [*_KEPT, "decode_batch", "model_catalog", "gpu_catalog", "isl", "osl"]
               if c not in df.columns]
    if missing:
        raise SpecError(f"validate: measurements lack columns {missing}")

    keys = ["expressible", "reason", "predicted_step_ms", *input_columns]
    out: dict[str, list[Any]] = {k: [] for k in keys}
    for r in df.iter_rows(named=True):
        reason = common_reason(r)
        p: Prediction | None = None
        if reason is None:
            try:
                p = predictor(r, runtime)
            except Unexpressible as e:
                reason = str(e)
        if p is not None and not p.feasible:
            reason = f"{semantics}: the deployment does not fit in memory under this semantics"
        if p is not None and reason is None and not math.isfinite(p.step_s):
            reason = f"{semantics}: no finite step time"
        ok = reason is None
        out["expressible"].append(ok)
        out["reason"].append(reason)
        out["predicted_step_ms"].append(p.step_s * 1e3 if (p is not None and ok) else None)
        for k in input_columns:
            out[k].append(None if p is None else p.inputs.get(k))
    pred = pl.DataFrame(out, schema={"expressible": pl.Boolean(), "reason": pl.String(),
                                     "predicted_step_ms": pl.Float64(), **input_columns})
    res = pl.concat([df.select(_KEPT), pred], how="horizontal").with_columns(
        pl.lit(semantics).alias("semantics"),
        (pl.col("predicted_step_ms") / pl.col("measured_step_ms")).alias("ratio"),
    )
    return res.with_columns(pl.col("ratio").log().alias("log_ratio"))


def _stats(log_ratio: pl.Series) -> dict[str, Any]:
    n = log_ratio.len()
    a = log_ratio.abs()
    s: dict[str, Any] = {"n": n}
    s["median_abs_error_pct"] = None if n == 0 else 100 * (math.exp(float(a.median())) - 1)  # type: ignore[arg-type]
    s["geomean_ratio"] = None if n == 0 else math.exp(float(log_ratio.mean()))  # type: ignore[arg-type]
    for name, factor in BANDS.items():
        s[name] = None if n == 0 else float((a <= math.log(factor) + 1e-12).mean())  # type: ignore[arg-type]
    return s


def validation_summary(frame: pl.DataFrame, by: Sequence[str] = ("scenario", "framework")) -> pl.DataFrame:
    """Error statistics of a :func:`validate` frame: one row for all expressible points, then one per
    value of each column of ``by``.

    ``median_abs_error_pct`` = 100 · (exp(median |ln r|) − 1) with r = predicted / measured (so 15
    means the median point is off by a factor 1.15 either way); ``geomean_ratio`` = exp(mean ln r)
    (below 1: predicted too fast); ``within_15pct`` / ``within_30pct`` / ``within_2x``: share of the
    points with |ln r| ≤ ln 1.15, ln 1.3, ln 2. ``n`` counts expressible points, ``n_points`` all.
    """
    unknown = [c for c in by if c not in frame.columns]
    if unknown:
        raise SpecError(f"validation_summary: field 'by' names unknown columns {unknown}; "
                        f"known: {frame.columns}")
    rows: list[dict[str, Any]] = []

    def add(group: str, value: str, part: pl.DataFrame) -> None:
        ok = part.filter(pl.col("expressible"))
        rows.append({"group": group, "value": value, "n_points": part.height, **_stats(ok["log_ratio"])})

    add("all", "all", frame)
    for col in by:
        for v in sorted(frame[col].unique().to_list(), key=str):
            add(col, str(v), frame.filter(pl.col(col) == v))
    schema = {"group": pl.String(), "value": pl.String(), "n_points": pl.Int64(), "n": pl.Int64(),
              "median_abs_error_pct": pl.Float64(), "geomean_ratio": pl.Float64(),
              **{b: pl.Float64() for b in BANDS}}
    return pl.DataFrame(rows, schema=schema)
