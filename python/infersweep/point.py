"""``isw.evaluate``: one configuration, without a grid or a DataFrame (a few microseconds).

The numbers are those of the same row of :func:`infersweep.sweep`, bit for bit: the same Rust
functions compute them. The converted (model, GPU) pair — under ``semantics="serving"`` the
(model, GPU, precision, runtime) — is cached per spec object, so a loop of calls pays the
conversion once.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, overload

import numpy as np

from . import _core
from .calibration import Profile
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .errors import GridError, InfersweepError
from .serving import SERVING_OUTPUT_COLUMNS, Precision, Runtime, runtime_dict
from .specs import Gpu, Model
from .sweep import _numbers, gpu_dict, model_dict, sweep

COMPONENTS = ("kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s")
LAYOUT = ("two_d_tp", "pp_degree", "ep_degree", "tp_ffn", "tp_attention", "attention_scaledown")


class Evaluation(NamedTuple):
    """One configuration's results: the output columns of its ``isw.sweep`` row.

    An immutable named tuple (a frozen dataclass costs more to build than the evaluation).

    ``components`` holds the four time components and the kernel time (``kernel_s``,
    ``network_latency_s``, ``network_bandwidth_s``, ``memory_s``, ``compute_s``); ``layout`` the
    winning layout (``two_d_tp``, ``pp_degree``, ``ep_degree``, ``tp_ffn``, ``tp_attention``,
    ``attention_scaledown``). An infeasible point is data: ``feasible`` false, latency and cost
    ``inf``, components and layout NaN.
    """

    token_latency_s: float
    tokens_per_s_per_request: float
    usd_per_million_tokens: float
    gpu_seconds_per_token: float
    tokens_per_s_per_gpu: float
    mfu: float
    feasible: bool
    components: dict[str, float]
    layout: dict[str, Any]


#: (id(model), id(gpu)) → (model, gpu, converted pair); the specs are kept so that the ids stay
#: theirs. Cleared when it reaches _MAX_PAIRS (a loop over freshly built specs).
_PAIRS: dict[tuple[int, int], tuple[Model, Gpu, _core.Pair]] = {}
_MAX_PAIRS = 256


#: Catalog name → spec (a catalog lookup normalises the name and scans aliases: microseconds).
_NAMES: dict[tuple[Any, str], Any] = {}


def _resolve(name: Any, lookup: Any) -> Any:
    if type(name) is not str:
        return lookup(name)  # a Model/Gpu subclass passes through; anything else: its error
    key = (lookup, name)
    spec = _NAMES.get(key)
    if spec is None:
        spec = _NAMES[key] = lookup(name)
    return spec


def _pair(model: Model | str, gpu: Gpu | str) -> _core.Pair:
    m = model if type(model) is Model else _resolve(model, lookup_model)
    g = gpu if type(gpu) is Gpu else _resolve(gpu, lookup_gpu)
    key = (id(m), id(g))
    hit = _PAIRS.get(key)
    if hit is not None and hit[0] is m and hit[1] is g:
        return hit[2]
    pair = _core.Pair(model_dict(m), gpu_dict(g))
    if len(_PAIRS) >= _MAX_PAIRS:
        _PAIRS.clear()
    _PAIRS[key] = (m, g, pair)
    return pair


#: Integers below this convert to float64 without overflow (larger ones take the sweep's check).
_FLOAT_INT = 1 << 1000


def _number(name: str, value: Any) -> float:
    if type(value) is float or (type(value) is int and -_FLOAT_INT < value < _FLOAT_INT):
        return float(value)
    arr = _numbers(name, value)  # the sweep's type checks: GridError naming the field
    if arr.size != 1:
        raise GridError(f"grid: field {name!r} must be one number in isw.evaluate (isw.sweep takes "
                        f"sequences), got {arr.size} values")
    return float(arr[0])


class ServingEvaluation(NamedTuple):
    """One ``semantics="serving"`` configuration's results: the output columns of its
    ``isw.sweep(..., semantics="serving")`` row, under the same names, in the same order.

    ``token_latency_s`` is the decode step (the TPOT at ``seq_len`` 1); the speeds and the cost
    follow it; ``tp``, ``pp``, ``ep``, ``attention_dp`` and ``expert_tp`` are the layout (pinned
    or the best one searched); ``weights_gb_per_gpu``, ``kv_gb_per_gpu``,
    ``reserve_gb_per_gpu`` and ``max_batch_size`` the per-GPU memory (docs/serving.md). An
    infeasible point is data: ``feasible`` false, latency and cost ``inf``.
    """

    token_latency_s: float
    tokens_per_s_per_request: float
    usd_per_million_tokens: float
    gpu_seconds_per_token: float
    tokens_per_s_per_gpu: float
    mfu: float
    feasible: bool
    overhead_s: float
    kernel_s: float
    network_latency_s: float
    network_bandwidth_s: float
    all_to_all_s: float
    memory_s: float
    weight_memory_s: float
    kv_memory_s: float
    compute_s: float
    work_s: float
    overlap_s: float
    tp: int
    pp: int
    ep: int
    attention_dp: int
    expert_tp: int
    weights_gb_per_gpu: float
    kv_gb_per_gpu: float
    reserve_gb_per_gpu: float
    max_batch_size: float


#: The runtime and precision ``sweep`` uses when none is given (built once: a Runtime checks
#: its fields when built).
_DEFAULT_RUNTIME = Runtime.default()
_DEFAULT_PRECISION = Precision()

#: (model name or id, gpu name or id, id(precision), id(runtime)) → (the four, converted point);
#: the specs are kept so that the ids stay theirs. Cleared when it reaches _MAX_PAIRS.
_POINTS: dict[tuple[Any, Any, int, int], tuple[Any, Any, Precision, Runtime, _core.ServingPoint]] = {}

#: The most a degree axis accepts (``serving._degrees``).
_MAX_DEGREE = 1 << 20


#: Number types the fast path passes to the engine as they are (anything else goes to the sweep).
_PLAIN = (int, float)


def _evaluate_serving(model: Any, gpu: Any, n_gpus: Any, batch_size: Any, context_len: Any, seq_len: Any,
                      use_pp: Any, tp: Any, pp: Any, ep: Any, attention_dp: Any, runtime: Any,
                      precision: Any) -> ServingEvaluation:
    """The serving point: the compiled fast path for plain arguments, else the one-row sweep.

    The fast path runs the checks the sweep's engine runs; any argument it does not take as is
    (a numpy scalar, a float degree, a degree out of range) or any error it meets goes to the
    sweep itself, so that the errors and the numbers are the sweep's. The conditions are
    written inline: this function's own cost is most of a point's.
    """
    rt = _DEFAULT_RUNTIME if runtime is None else runtime
    if type(rt) is Profile:
        rt = rt.runtime  # what sweep runs a profile's point with (no uncertainty here)
    prec = _DEFAULT_PRECISION if precision is None else precision
    if (use_pp is False and type(rt) is Runtime and type(prec) is Precision
            and type(n_gpus) in _PLAIN and type(batch_size) in _PLAIN and type(context_len) in _PLAIN
            and type(seq_len) in _PLAIN
            and (tp is None or (type(tp) is int and 0 < tp <= _MAX_DEGREE))
            and (pp is None or (type(pp) is int and 0 < pp <= _MAX_DEGREE))
            and (ep is None or (type(ep) is int and 0 < ep <= _MAX_DEGREE))
            and (attention_dp is None or (type(attention_dp) is int and 0 < attention_dp <= _MAX_DEGREE))):
        # A name is its own key (catalog lookups are cached forever, as _resolve's); a spec
        # object is keyed by id and kept in the entry, so that the id stays its own.
        key = (model if type(model) is str else id(model), gpu if type(gpu) is str else id(gpu), id(prec),
               id(rt))
        hit = _POINTS.get(key)
        try:
            if (hit is None or hit[2] is not prec or hit[3] is not rt
                    or (hit[0] is not model and type(model) is not str)
                    or (hit[1] is not gpu and type(gpu) is not str)):
                m = model if type(model) is Model else _resolve(model, lookup_model)
                g = gpu if type(gpu) is Gpu else _resolve(gpu, lookup_gpu)
                hit = (model, gpu, prec, rt,
                       _core.ServingPoint(model_dict(m), gpu_dict(g), prec.resolve(m), runtime_dict(rt)))
                if len(_POINTS) >= _MAX_PAIRS:
                    _POINTS.clear()
                _POINTS[key] = hit
            out = _core.serving_point(hit[4], n_gpus, batch_size, context_len, seq_len, tp or 0, pp or 0,
                                      ep or 0, attention_dp or 0)
            return tuple.__new__(ServingEvaluation, out)
        except (InfersweepError, OverflowError):
            pass  # the sweep below raises its own error for it (an int beyond float64: OverflowError)
    df = sweep(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, semantics="serving", tp=tp,
               pp=pp, ep=ep, attention_dp=attention_dp, runtime=runtime, precision=precision)
    if df.height != 1:
        raise GridError(f"grid: isw.evaluate takes one value per field (isw.sweep takes sequences), got "
                        f"{df.height} rows")
    row = df.row(0, named=True)
    return ServingEvaluation(*(row[c] for c in SERVING_OUTPUT_COLUMNS))


@overload
def evaluate(model: Model | str, gpu: Gpu | str = ..., n_gpus: float = ..., batch_size: float = ...,
             context_len: float = ..., seq_len: float = ..., use_pp: bool = ...,
             semantics: Literal["epoch"] = ..., *, tp: None = ..., pp: None = ..., ep: None = ...,
             attention_dp: None = ..., runtime: None = ..., precision: None = ...) -> Evaluation: ...


@overload
def evaluate(model: Model | str, gpu: Gpu | str = ..., n_gpus: float = ..., batch_size: float = ...,
             context_len: float = ..., seq_len: float = ..., use_pp: bool = ...,
             semantics: Literal["serving"] = ..., *, tp: int | None = ..., pp: int | None = ...,
             ep: int | None = ..., attention_dp: int | None = ..., runtime: Runtime | Profile | None = ...,
             precision: Precision | None = ...) -> ServingEvaluation: ...


def evaluate(
    model: Model | str,
    gpu: Gpu | str = "H100",
    n_gpus: float = 8,
    batch_size: float = 1,
    context_len: float = 0,
    seq_len: float = 1,
    use_pp: bool = False,
    semantics: Literal["epoch", "serving"] = "epoch",
    *,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    attention_dp: int | None = None,
    runtime: Runtime | Profile | None = None,
    precision: Precision | None = None,
) -> Evaluation | ServingEvaluation:
    """One configuration, as ``isw.sweep(model, gpu, n_gpus, batch_size, context_len, seq_len,
    use_pp, semantics=...)`` computes its single row, in microseconds instead of a DataFrame's
    hundreds.

    Arguments are scalars with ``sweep``'s defaults (``use_pp`` False: no PP search); bad input
    raises the GridError or SpecError ``sweep`` raises. ``semantics="epoch"`` (no speculative
    decoding) returns an :class:`Evaluation`. ``semantics="serving"`` returns a
    :class:`ServingEvaluation`, the row's output columns: ``tp``, ``pp``, ``ep`` and
    ``attention_dp`` pin the layout (None: the best deployable layout of ``n_gpus`` is searched),
    ``runtime`` (default ``Runtime.default()``, or a calibrated ``isw.Profile``: its runtime) and
    ``precision`` (default ``Precision()``) as in ``sweep``.
    """
    if semantics == "serving":
        return _evaluate_serving(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, tp, pp, ep,
                                 attention_dp, runtime, precision)
    serving_args = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp, "runtime": runtime,
                    "precision": precision}
    if semantics != "epoch":
        raise GridError(f"grid: field 'semantics' must be 'epoch' or 'serving', got {semantics!r}")
    given = [k for k, v in serving_args.items() if v is not None]
    if given:
        raise GridError(f"grid: field {given[0]!r} needs semantics='serving' (epoch layouts are continuous "
                        f"and searched)")
    if type(use_pp) is not bool:
        if not isinstance(use_pp, np.bool_):
            raise GridError(f"grid: field 'use_pp' must be True or False, got {use_pp!r}")
        use_pp = bool(use_pp)
    out = _core.evaluate_point(_pair(model, gpu), _number("n_gpus", n_gpus),
                               _number("batch_size", batch_size), _number("context_len", context_len),
                               _number("seq_len", seq_len), use_pp)
    comps, layout = out[7], out[8]
    return Evaluation(out[0], out[1], out[2], out[3], out[4], out[5], out[6],
                      dict(zip(COMPONENTS, comps, strict=True)), dict(zip(LAYOUT, layout, strict=True)))
