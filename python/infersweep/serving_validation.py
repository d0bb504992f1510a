"""The `serving` predictor of :func:`infersweep.validate` (docs/serving.md, docs/measurements.md).

A measured deployment maps onto `serving` as it ran: one instance of ``gpus_per_instance`` GPUs,
its pinned ``tp``, ``pp``, ``ep`` and ``attention_dp`` where the source gives them (searched
where it does not), the decode batch of one instance rounded up to whole sequences, context =
ISL + OSL/2 (as for `epoch`), each component at its own precision and the runtime's costs
(``cuda_graphs`` as the deployment ran, when the source says).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from .errors import InfersweepError
from .serving import Precision, Runtime
from .sweep import sweep
from .validation import PRECISION_BYTES, Prediction, Unexpressible, _catalog, register_semantics


def serving_precision(r: Mapping[str, Any]) -> Precision:
    """Each component at the deployment's precision; compute at the rate its format names."""
    def fmt(name: str | None) -> str | None:
        if not name:
            return None
        key = "nvfp4" if name == "fp4" else name
        if key not in PRECISION_BYTES:
            raise Unexpressible(f"serving: precision {name!r} is not known")
        return key

    weights = fmt(r["weight_precision"])
    return Precision(attention=fmt(r.get("attention_precision")) or weights, dense_ffn=weights,
                     experts=fmt(r["expert_precision"]) or weights, embeddings=weights,
                     kv_cache=fmt(r["kv_precision"]))


def serving_inputs(r: Mapping[str, Any]) -> dict[str, Any]:
    def degree(key: str) -> int | None:
        v = r.get(key)
        return None if v is None else int(v)

    return {"n_gpus": int(r["gpus_per_instance"]), "batch_size": math.ceil(r["decode_batch"] - 1e-9),
            "context_len": float(r["isl"] + r["osl"] / 2), "tp": degree("tp"), "pp": degree("pp"),
            "ep": degree("ep"), "attention_dp": degree("attention_dp")}


def predict_serving(r: Mapping[str, Any], runtime: Any) -> Prediction:
    rt = Runtime.default() if runtime is None else runtime
    if r.get("cuda_graphs") is not None:
        rt = rt.with_(cuda_graphs=bool(r["cuda_graphs"]))
    m, g = _catalog(r)
    x = serving_inputs(r)
    prec = serving_precision(r)
    try:
        out = sweep(m, g, n_gpus=x["n_gpus"], batch_size=x["batch_size"], context_len=x["context_len"],
                    semantics="serving", tp=x["tp"], pp=x["pp"], ep=x["ep"], attention_dp=x["attention_dp"],
                    runtime=rt, precision=prec).row(0, named=True)
    except InfersweepError as e:
        raise Unexpressible(f"serving: {e}") from None
    inputs = {**x, "tp": out["tp"], "pp": out["pp"], "ep": out["ep"], "attention_dp": out["attention_dp"],
              "weights_gb_per_gpu": out["weights_gb_per_gpu"], "max_batch_size": out["max_batch_size"]}
    step = out["token_latency_s"] if out["feasible"] else math.inf
    return Prediction(float(step), bool(out["feasible"]), inputs)


SERVING_INPUTS: dict[str, pl.DataType] = {
    "n_gpus": pl.Int64(), "batch_size": pl.Int64(), "context_len": pl.Float64(), "tp": pl.Int64(),
    "pp": pl.Int64(), "ep": pl.Int64(), "attention_dp": pl.Int64(), "weights_gb_per_gpu": pl.Float64(),
    "max_batch_size": pl.Float64(),
}
register_semantics("serving", predict_serving, SERVING_INPUTS)
