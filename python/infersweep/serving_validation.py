"""The measured deployments as the `serving` semantics sees them (docs/measurements.md, "serving").

Each expressible row becomes the deployment *as deployed*, evaluated at its workload:

- **layout**: one instance (``gpus_per_instance`` GPUs) with the row's ``tp``, ``pp``, ``ep`` and
  ``attention_dp``. A missing ``pp`` is 1, a missing ``ep`` is 1 (TensorRT-LLM and vLLM run MoE
  layers tensor-parallel unless expert parallelism is asked for), a missing ``attention_dp`` is
  what the stage leaves: ``gpus_per_instance / (tp·pp)``. A row with no ``tp`` is searched over
  every deployable layout (``layout_searched``); a pinned layout the model cannot take is a reason.
- **precision** (:func:`row_precision`): weights in ``weight_precision`` ("fp4" is NVIDIA's NVFP4),
  attention in ``attention_precision`` and routed experts in ``expert_precision`` where given, the
  KV cache in ``kv_precision`` and activations in ``activation_precision`` where given, else the
  catalog model's; the embeddings in ``weight_precision`` (the dataset does not say otherwise).
  Each GEMM runs at the FLOP rate its format names; a format the GPU has no rate for is a reason.
- **runtime**: the given :class:`~infersweep.Runtime` (default ``Runtime.default()``) with
  ``cuda_graphs`` set from the row where the source says.
- **workload** (of the decode step; in-flight rows take their load instead, below): the
  instance's decode batch (``decode_batch``, rounded up to whole sequences) at context
  ISL + OSL/2, the mean context over a request's decode.

A static run's measured step is batch / output throughput of the whole run, prefill included: it is
predicted as the decode step plus the batch's prefill pass spread over the OSL steps
(:func:`static_steps`). An in-flight row is predicted by the in-flight steady state of
:func:`infersweep.serve` (docs/serving.md §T.3: decode steps carrying chunked prefill) at the row's
load per instance (:func:`inflight_load`: a request rate for Poisson scenarios, a concurrency for
closed loops) and chunked-prefill budget (:func:`chunk_size`), by :func:`inflight_steps`; a load
the model cannot sustain is a reason (docs/calibration.md). ``STEP_PREDICTORS`` maps a batching
kind to its predictor. :func:`predict_rows`
evaluates many rows in a few engine calls (calibration runs it hundreds of times);
:func:`predict_serving` is the one-row predictor registered with
:func:`infersweep.validation.register_semantics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from .errors import GridError, InfersweepError, SpecError
from .serving import Precision, Runtime, runtime_dict
from .serving_reference import layouts
from .specs import Gpu, Model
from .traffic import DEFAULT_CHUNK_SIZE
from .validation import Prediction, Unexpressible, _catalog, common_reason, is_saturation, register_semantics

__all__ = ["OPEN_LOOP_LOADS", "OPEN_LOOP_SCENARIOS", "SERVING_INPUTS", "SPEED_OF_LIGHT", "STEP_PREDICTORS",
           "ServingPoint", "chunk_size", "decode_steps", "faster_than_light", "inflight_load",
           "inflight_steps", "predict_rows", "predict_serving", "predict_steps", "row_precision",
           "saturation_steps", "serving_point", "static_steps"]

#: Dataset precision names → serving format names (``fp4`` in MLPerf and TensorRT-LLM is NVFP4).
FORMAT_OF: dict[str, str] = {"fp4": "nvfp4", "nvfp4": "nvfp4", "mxfp4": "mxfp4", "fp8": "fp8",
                             "int8": "int8", "bf16": "bf16", "fp16": "fp16", "fp32": "fp32"}


def _format(r: Mapping[str, Any], column: str) -> str | None:
    v = r.get(column)
    if not v:
        return None
    if v not in FORMAT_OF:
        raise Unexpressible(f"precision: {column} {v!r} is not a known format ({sorted(FORMAT_OF)})")
    return FORMAT_OF[v]


def row_precision(r: Mapping[str, Any]) -> Precision:
    """The per-component precision a row was deployed in (module docstring)."""
    w = _format(r, "weight_precision")
    attn = _format(r, "attention_precision") or w
    exp = _format(r, "expert_precision") or w
    return Precision(attention=attn, dense_ffn=w, experts=exp, embeddings=w,
                     kv_cache=_format(r, "kv_precision"), activations=_format(r, "activation_precision"))


def _precision_label(p: Mapping[str, float]) -> str:
    def name(b: float) -> str:
        return {2.0: "16b", 1.0: "8b", 0.5625: "nvfp4", 0.53125: "mxfp4", 4.0: "32b"}.get(b, f"{b:g}B")
    return (f"attn={name(p['attention'])} ffn={name(p['dense_ffn'])} experts={name(p['experts'])} "
            f"kv={name(p['kv_cache'])} act={name(p['activations'])}")


@dataclass(frozen=True)
class ServingPoint:
    """One measured row as a serving grid point."""

    model: Model
    gpu: Gpu
    precision: dict[str, float]
    n_gpus: int
    batch_size: float
    context_len: float
    tp: int      # 0: searched
    pp: int
    ep: int
    attention_dp: int
    cuda_graphs: bool | None  # None: the runtime's own
    input_len: float = 0.0
    output_len: float = 0.0
    batching: str = "in_flight"  # or "static", or "saturation" (:func:`saturation_steps`)
    load: float = 0.0            # in-flight: requests/s per instance (open) or requests in flight (closed)
    closed: bool = False         # in-flight: a closed loop of ``load`` requests (fixed concurrency)
    chunk_size: float = 8192.0   # in-flight: the chunked-prefill budget (prompt tokens per step)
    with_ttft: bool = False      # the measured step is request latency / OSL (per_user_kind b)

    @property
    def layout_searched(self) -> bool:
        return self.tp == 0


def serving_point(r: Mapping[str, Any], open_loop: str = "in_flight") -> ServingPoint:
    """The grid point of a row (module docstring), or :class:`Unexpressible` with the reason;
    ``open_loop`` is how a Poisson row's load is held (:data:`OPEN_LOOP_LOADS`)."""
    reason = common_reason(r)
    if reason is not None:
        raise Unexpressible(reason)
    m, g = _catalog(r)
    n = r["gpus_per_instance"]
    if n is None:
        raise Unexpressible("no instance size (gpus_per_instance)")
    try:
        prec = row_precision(r).resolve(m)
    except SpecError as e:
        raise Unexpressible(str(e)) from None
    for comp in ("attention_bits", "ffn_bits", "expert_bits"):
        if int(prec[comp]) not in g.flops_by_bits:
            raise Unexpressible(f"serving: no {int(prec[comp])}-bit FLOP rate on {g.name} for the "
                                f"{comp.removesuffix('_bits')} GEMMs (rated: {sorted(g.flops_by_bits)})")
    tp, pp, ep, dp = 0, 0, 0, 0
    if r["tp"] is not None:
        tp = int(r["tp"])
        pp = int(r["pp"]) if r["pp"] is not None else 1
        ep = int(r["ep"]) if r["ep"] is not None else 1
        if r["attention_dp"] is not None:
            dp = int(r["attention_dp"])
        elif n % (tp * pp) == 0:
            dp = n // (tp * pp)
        else:
            raise Unexpressible(f"serving: tp={tp} × pp={pp} does not divide the {n} GPUs of an instance")
    try:
        layouts(m, int(n), tp, pp, ep, dp)
    except (GridError, SpecError) as e:
        raise Unexpressible(f"serving: {e}") from None
    graphs = r.get("cuda_graphs")
    static = r["batching"] == "static"
    if is_saturation(r):  # every request queued at once: a closed loop larger than any KV cache holds
        kind, batch, (load, closed) = "saturation", 1.0, (SATURATION_LOAD, True)
    else:
        kind = "static" if static else "in_flight"
        batch = float(max(1, math.ceil(r["decode_batch"] - 1e-9)))
        load, closed = (0.0, False) if static else inflight_load(r, open_loop)
    return ServingPoint(m, g, prec, int(n), batch, float(r["isl"] + r["osl"] / 2), tp, pp, ep, dp,
                        None if graphs is None else bool(graphs), float(r["isl"]), float(r["osl"]),
                        kind, load, closed, chunk_size(r, g), r.get("per_user_kind") == "b")


#: Scenarios whose requests arrive as a Poisson process (MLPerf LoadGen Server; Interactive is the
#: Server scenario with tighter latency bounds). Every other in-flight scenario (trtllm-bench at a
#: fixed concurrency) is a closed loop.
OPEN_LOOP_SCENARIOS = frozenset({"server", "interactive"})

#: How a Poisson row's load is held when it is predicted (docs/calibration.md, "In-flight mapping"):
#: ``"in_flight"`` (default) — the requests in flight the log measures, by Little's law
#: (completed requests/s × mean request latency), served as a closed loop of that many requests, so
#: the predicted step carries the measured decode batch and its share of prefill; ``"rate"`` — the
#: measured request rate, as an open loop. At the SLA-tuned MLPerf operating points the TPOT at a
#: fixed rate is t_d / (1 − u) with u the prefill-and-decode utilisation near 1, so a capacity error
#: of a few tens of % shows as a factor 2–4 in TPOT; holding the in-flight count evaluates the step
#: the server actually ran.
OPEN_LOOP_LOADS = ("in_flight", "rate")


def _request_rate(r: Mapping[str, Any]) -> float:
    if r.get("samples_per_s"):
        return float(r["samples_per_s"])
    if r.get("throughput_tok_s") and r.get("osl"):
        return float(r["throughput_tok_s"]) / float(r["osl"])
    raise Unexpressible("serving: a Poisson in-flight row needs samples_per_s or throughput_tok_s")


def inflight_load(r: Mapping[str, Any], open_loop: str = "in_flight") -> tuple[float, bool]:
    """(load, closed) of an in-flight row, per instance. A closed loop's: ``concurrency / instances``.
    A Poisson scenario's, with ``open_loop="rate"``: the request rate ``samples_per_s / instances``
    (completed requests/s; where the log gives none, ``throughput_tok_s / osl / instances``, the same
    count from the output tokens), open; with ``open_loop="in_flight"``: Little's law, that rate ×
    the mean request latency (``mean_latency_ms`` where the log gives it, else ``ttft_ms + osl ·
    tpot_ms``) / instances, as a closed loop. A row with none of these is :class:`Unexpressible`."""
    if open_loop not in OPEN_LOOP_LOADS:
        raise SpecError(f"serving validation: field 'open_loop' must be one of {OPEN_LOOP_LOADS}, "
                        f"got {open_loop!r}")
    inst = r.get("instances") or 1
    if r.get("scenario") in OPEN_LOOP_SCENARIOS:
        rate = _request_rate(r)
        if open_loop == "rate":
            return rate / inst, False
        if r.get("mean_latency_ms"):
            latency_ms = float(r["mean_latency_ms"])
        elif r.get("tpot_ms") and r.get("ttft_ms") is not None and r.get("osl"):
            latency_ms = float(r["ttft_ms"]) + float(r["osl"]) * float(r["tpot_ms"])
        else:
            raise Unexpressible("serving: a Poisson in-flight row held at its requests in flight needs "
                                "mean_latency_ms or ttft_ms and tpot_ms")
        return rate * latency_ms / 1e3 / inst, True
    if r.get("concurrency"):
        return float(r["concurrency"]) / inst, True
    raise Unexpressible("serving: a closed-loop in-flight row needs its concurrency")


def chunk_size(r: Mapping[str, Any], g: Gpu) -> float:
    """The chunked-prefill budget of a row (docs/serving.md §T.4): the row's
    ``max_num_batched_tokens`` where the dataset has it, else the framework's default: vLLM's
    ``get_batch_defaults`` gives 8192 on GPUs with ≥ 70 GiB that are not A100 and 2048 otherwise;
    TensorRT-LLM's ``max_num_tokens`` defaults to 8192."""
    if r.get("max_num_batched_tokens"):
        return float(r["max_num_batched_tokens"])
    if r.get("framework") == "vLLM" and (g.hbm_bytes < 70 * 2**30 or g.name.startswith("A100")):
        return 2048.0
    return float(DEFAULT_CHUNK_SIZE)


#: The step a row's batching kind is predicted with: a static run's step carries its prefill
#: (:func:`static_steps`); an in-flight row's is the in-flight steady state (:func:`inflight_steps`).
StepPredictor = Callable[[Sequence[ServingPoint], Runtime], list[dict[str, Any]]]


def decode_steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    """The pure decode step of each point: a few engine calls (one per model, GPU, precision and
    CUDA-graph setting), each zipped over the points' batch, context and layout."""
    return _steps(points, runtime)


def static_steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    """A static batch's time per output step: its measured step is batch / output throughput of
    the whole run, so it carries the batch's prefill spread over the OSL decode steps: decode step +
    prefill / OSL. The prefill of b prompts of ISL tokens is one engine step of b·ISL new tokens on
    an empty cache (``batch_size = b·ISL``, ``context_len = 0``: the GEMMs of every prompt token,
    the weight stream, collectives, kernels and overhead once). It leaves out the prompt's causal
    attention FLOPs (≈ ISL·d_model·L·2 per token against the weights' 2·P: 2–5% at ISL ≤ 2048 for
    the models measured) and the KV write. The layout and the feasibility are the decode step's.
    To be replaced by the prefill of the in-flight step (issue 12) once it exists."""
    dec = _steps(points, runtime)
    pre = _steps([replace(p, tp=d["tp"], pp=d["pp"], ep=d["ep"], attention_dp=d["attention_dp"],
                          batch_size=p.batch_size * max(p.input_len, 1.0), context_len=0.0)
                  for p, d in zip(points, dec, strict=True)], runtime)
    for p, d, f in zip(points, dec, pre, strict=True):
        d["prefill_s"] = f["step_s"] if p.output_len > 0 else 0.0
        d["step_s"] = d["step_s"] + (d["prefill_s"] / p.output_len if p.output_len > 0 else 0.0)
    return dec


def _steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    from . import _core
    from .sweep import gpu_dict, model_dict

    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, p in enumerate(points):
        graphs = runtime.cuda_graphs if p.cuda_graphs is None else p.cuda_graphs
        key = (p.model.name, p.gpu.name, tuple(sorted(p.precision.items())), graphs)
        groups.setdefault(key, []).append(i)
    out: list[dict[str, Any]] = [{} for _ in points]
    rt_dicts = {g: runtime_dict(runtime.with_(cuda_graphs=g)) for g in (False, True)}
    for key, idx in groups.items():
        first = points[idx[0]]

        def axis(name: str, dtype: type, idx: list[int] = idx) -> np.ndarray:
            return np.asarray([getattr(points[i], name) for i in idx], dtype=dtype)

        cols = _core.serving_sweep(
            models=[model_dict(first.model)], gpus=[gpu_dict(first.gpu)], precisions=[first.precision],
            n_gpus=axis("n_gpus", np.float64), batch_size=axis("batch_size", np.float64),
            context_len=axis("context_len", np.float64),
            seq_len=np.ones(1),
            tp=axis("tp", np.uint32), pp=axis("pp", np.uint32), ep=axis("ep", np.uint32),
            attention_dp=axis("attention_dp", np.uint32), runtime=rt_dicts[key[3]], zip=True,
            num_threads=1)
        time = cols["token_latency_s"]
        for j, i in enumerate(idx):
            out[i] = {"step_s": float(time[j]), "feasible": bool(cols["feasible"][j]),
                      "tp": int(cols["tp"][j]), "pp": int(cols["pp"][j]), "ep": int(cols["ep"][j]),
                      "attention_dp": int(cols["attention_dp"][j]), "cuda_graphs": key[3],
                      "weights_gb_per_gpu": float(cols["weights_gb_per_gpu"][j]),
                      "max_batch_size": float(cols["max_batch_size"][j])}
    return out


def inflight_steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    """An in-flight row's TPOT: the steady state of :func:`infersweep.serve` (docs/serving.md §T.3)
    at the row's load (:func:`inflight_load`) and chunked-prefill budget (:func:`chunk_size`), so each
    step carries its share of the arriving requests' prefill. ``step_s`` is TPOT, or
    TPOT + TTFT/OSL where the measured step is the request latency over OSL (trtllm-bench's
    per-user throughput, ``per_user_kind`` b). The layout is the decode step's (the row's, or the
    best decode layout where the row gives none); a load the deployment cannot sustain under the
    semantics (``saturated``) has ``step_s`` = inf. One engine call per model, GPU, precision,
    CUDA-graph setting and loop kind, zipped over the points."""
    from . import _core
    from .sweep import gpu_dict, model_dict

    dec = _steps(points, runtime)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, p in enumerate(points):
        key = (p.model.name, p.gpu.name, tuple(sorted(p.precision.items())), dec[i]["cuda_graphs"], p.closed)
        groups.setdefault(key, []).append(i)
    for key, idx in groups.items():
        first = points[idx[0]]

        def axis(name: str, dtype: type, idx: list[int] = idx) -> np.ndarray:
            return np.asarray([getattr(points[i], name) for i in idx], dtype=dtype)

        def lay(name: str, idx: list[int] = idx) -> np.ndarray:
            return np.asarray([dec[i][name] for i in idx], dtype=np.uint32)

        zero = np.zeros(len(idx), dtype=np.uint32)
        cols = _core.serving_traffic(
            models=[model_dict(first.model)], gpus=[gpu_dict(first.gpu)], precisions=[first.precision],
            runtime=runtime_dict(runtime.with_(cuda_graphs=key[3])), model=zero, gpu=zero,
            n_gpus=axis("n_gpus", np.uint32), tp=lay("tp"), pp=lay("pp"), ep=lay("ep"),
            attention_dp=lay("attention_dp"), isl=axis("input_len", np.float64),
            osl=axis("output_len", np.float64), budget=axis("chunk_size", np.float64),
            load=axis("load", np.float64), closed=key[4], num_threads=1)
        for j, i in enumerate(idx):
            p, d = points[i], dec[i]
            sat = bool(cols["saturated"][j])
            tpot, ttft = float(cols["tpot_s"][j]), float(cols["ttft_s"][j])
            step = tpot + (ttft / p.output_len if p.with_ttft else 0.0)
            d.update(step_s=math.inf if sat else step, saturated=sat, ttft_s=ttft,
                     decode_seqs=float(cols["decode_seqs"][j]), prefill_share=float(cols["prefill_share"][j]),
                     requests_per_s=float(cols["requests_per_s"][j]))
    return dec


#: The closed loop a saturation row is held at (requests in flight per instance): more than any
#: deployment's KV cache holds, so the in-flight steady state decodes ``max_batch_size`` sequences
#: (the memory's limit; a framework's own cap on the batch, e.g. ``max_batch_size`` /
#: ``max_num_seqs``, is not modelled) and the rest wait: the output rate is the instance's capacity.
SATURATION_LOAD = 1e6


def saturation_steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    """A saturation row's measured value is an instance's time per output token at maximum load: the
    in-flight steady state (:func:`inflight_steps`) at :data:`SATURATION_LOAD` requests in flight,
    ``step_s`` = 1 / (requests/s · OSL), the inverse of the instance's output tokens/s."""
    dec = inflight_steps(points, runtime)
    for p, d in zip(points, dec, strict=True):
        rate = d["requests_per_s"] * p.output_len
        d["step_s"] = math.inf if d["saturated"] or not rate > 0 else 1.0 / rate
    return dec


STEP_PREDICTORS: dict[str, StepPredictor] = {"static": static_steps, "in_flight": inflight_steps,
                                             "saturation": saturation_steps}


def predict_steps(points: Sequence[ServingPoint], runtime: Runtime) -> list[dict[str, Any]]:
    """Each point's step by the predictor of its batching kind (:data:`STEP_PREDICTORS`)."""
    out: list[dict[str, Any]] = [{} for _ in points]
    by_kind: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        by_kind.setdefault(p.batching, []).append(i)
    for kind, idx in by_kind.items():
        for i, step in zip(idx, STEP_PREDICTORS[kind]([points[i] for i in idx], runtime), strict=True):
            out[i] = step
    return out


#: The fastest any runtime can run a deployment (docs/measurements.md, "Faster than light"):
#: :meth:`Runtime.ideal` (peak HBM bandwidth and FLOP rate, no overhead or launch cost, no reserve,
#: one roofline) with its collectives wholly hidden under the work (``overlap = 1``), so the step is
#: max(network, work). A row measured faster than this cannot be the deployment it says it is.
SPEED_OF_LIGHT = Runtime.ideal().with_(overlap=1.0)


def faster_than_light(points: Sequence[ServingPoint], measured_step_ms: Sequence[float]) -> list[str | None]:
    """For each point, the reason it is measured faster than :data:`SPEED_OF_LIGHT` allows, or
    None. Such a row states a precision, layout, GPU or workload that is not what ran (a KV cache
    quantised but not said so, a wrong GPU count): no runtime can predict it, and a fit on it would
    push efficiencies past 1, so ``validate`` and ``calibrate`` set it aside with this reason."""
    out: list[str | None] = [None for _ in points]
    if not points:
        return out
    for i, (s, m) in enumerate(zip(predict_steps(points, SPEED_OF_LIGHT), measured_step_ms, strict=True)):
        floor_ms = 1e3 * s["step_s"]
        if s["feasible"] and not s.get("saturated") and math.isfinite(floor_ms) and m < floor_ms:
            out[i] = (f"serving: measured {m:.4g} ms is faster than the speed of light of the deployment "
                      f"as stated ({floor_ms:.4g} ms at peak HBM bandwidth and FLOP rate, no overhead, "
                      "collectives hidden): its precision, layout, GPU count or workload is not what ran")
    return out


def predict_rows(rows: Sequence[Mapping[str, Any]], runtime: Runtime | None = None,
                 open_loop: str = "in_flight") -> list[Prediction | str]:
    """A :class:`Prediction` or the reason it cannot be made, for each row (module docstring);
    ``open_loop``: how Poisson rows' load is held (:data:`OPEN_LOOP_LOADS`)."""
    rt: Any = Runtime.default() if runtime is None else runtime
    if isinstance(getattr(rt, "runtime", None), Runtime):  # an isw.Profile: its runtime
        rt = rt.runtime
    if not isinstance(rt, Runtime):
        raise SpecError(f"validate: semantics 'serving' takes an isw.Runtime or isw.Profile, got {rt!r}")
    out: list[Prediction | str] = ["" for _ in rows]
    items: list[tuple[int, ServingPoint]] = []
    for i, r in enumerate(rows):
        try:
            items.append((i, serving_point(r, open_loop)))
        except Unexpressible as e:
            out[i] = str(e)
    timed = [(i, p) for i, p in items if isinstance(rows[i].get("measured_step_ms"), int | float)]
    measured = [float(rows[i]["measured_step_ms"]) for i, _ in timed]
    try:
        light = faster_than_light([p for _, p in timed], measured)
        for (i, _), why in zip(timed, light, strict=True):
            if why is not None:
                out[i] = why
        items = [(i, p) for i, p in items if not out[i]]
        steps = predict_steps([p for _, p in items], rt)
    except InfersweepError as e:  # the engine rejected a group: say so on each row
        for i, _ in items:
            out[i] = f"serving: {e}"
        return out
    for (i, p), s in zip(items, steps, strict=True):
        if s.get("saturated") and s["feasible"]:
            unit = "requests in flight" if p.closed else "requests/s"
            out[i] = (f"serving: the measured load ({p.load:g} {unit} per instance) saturates the "
                      "deployment under this semantics")
            continue
        inflight = "saturated" in s
        inputs = {"n_gpus": float(p.n_gpus), "batch_size": p.batch_size, "context_len": p.context_len,
                  "tp": s["tp"], "pp": s["pp"], "ep": s["ep"], "attention_dp": s["attention_dp"],
                  "layout_searched": p.layout_searched, "cuda_graphs": s["cuda_graphs"],
                  "precision": _precision_label(p.precision), "prefill_ms": 1e3 * s.get("prefill_s", 0.0),
                  "weights_gb_per_gpu": s["weights_gb_per_gpu"], "max_batch_size": s["max_batch_size"],
                  "chunk_size": p.chunk_size if inflight else None,
                  "requests_per_s": s.get("requests_per_s"), "decode_seqs": s.get("decode_seqs"),
                  "prefill_share": s.get("prefill_share"),
                  "ttft_ms": 1e3 * s["ttft_s"] if inflight else None}
        out[i] = Prediction(s["step_s"], s["feasible"], inputs)
    return out


def predict_serving(r: Mapping[str, Any], runtime: Any) -> Prediction:
    """The one-row predictor :func:`infersweep.validate` calls for ``semantics="serving"``."""
    (p,) = predict_rows([r], runtime)
    if isinstance(p, str):
        raise Unexpressible(p)
    return p


SERVING_INPUTS: dict[str, pl.DataType] = {
    "n_gpus": pl.Float64(), "batch_size": pl.Float64(), "context_len": pl.Float64(), "tp": pl.Int64(),
    "pp": pl.Int64(), "ep": pl.Int64(), "attention_dp": pl.Int64(), "layout_searched": pl.Boolean(),
    "cuda_graphs": pl.Boolean(), "precision": pl.String(), "prefill_ms": pl.Float64(),
    "weights_gb_per_gpu": pl.Float64(), "max_batch_size": pl.Float64(), "chunk_size": pl.Float64(),
    "requests_per_s": pl.Float64(), "decode_seqs": pl.Float64(), "prefill_share": pl.Float64(),
    "ttft_ms": pl.Float64(),
}
register_semantics("serving", predict_serving, SERVING_INPUTS)
