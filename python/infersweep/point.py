"""``isw.evaluate``: one configuration, without a grid or a DataFrame (a few microseconds).

The numbers are those of the same row of :func:`infersweep.sweep`, bit for bit: the same Rust
functions compute them. The converted (model, GPU) pair is cached per spec object, so a loop
of calls pays the conversion once.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np

from . import _core
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .errors import GridError
from .specs import Gpu, Model
from .sweep import _numbers, gpu_dict, model_dict

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


def _number(name: str, value: Any) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    arr = _numbers(name, value)  # the sweep's type checks: GridError naming the field
    if arr.size != 1:
        raise GridError(f"grid: field {name!r} must be one number in isw.evaluate (isw.sweep takes "
                        f"sequences), got {arr.size} values")
    return float(arr[0])


def evaluate(
    model: Model | str,
    gpu: Gpu | str = "H100",
    n_gpus: float = 8,
    batch_size: float = 1,
    context_len: float = 0,
    seq_len: float = 1,
    use_pp: bool = False,
    semantics: Literal["epoch", "serving"] = "epoch",
) -> Evaluation:
    """One configuration, as ``isw.sweep(model, gpu, n_gpus, batch_size, context_len, seq_len,
    use_pp)`` computes its single row, in microseconds instead of a DataFrame's hundreds.

    Arguments are scalars with ``sweep``'s defaults (``use_pp`` False: no PP search); bad input
    raises the GridError or SpecError ``sweep`` raises. Only ``semantics="epoch"`` is supported
    (no speculative decoding); for ``"serving"`` use ``isw.sweep(..., semantics="serving")``.
    """
    if semantics != "epoch":
        if semantics == "serving":
            raise GridError("grid: field 'semantics': isw.evaluate supports only 'epoch' yet; use "
                            "isw.sweep(..., semantics='serving') for one serving point")
        raise GridError(f"grid: field 'semantics' must be 'epoch' or 'serving', got {semantics!r}")
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
