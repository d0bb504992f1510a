"""Uncertainty bands of a plan's rows under a calibrated profile:
``isw.plan(..., runtime=profile, uncertainty=0.8)`` (docs/serving.md §T.8, docs/calibration.md).

The plan is searched under the profile's runtime; then every returned row's deployment is held
fixed (instance layouts and counts, and the aggregated row's request rate or the disaggregated
row's decode batch) and re-evaluated with each fitted parameter bumped by a one-sided finite
difference (:data:`infersweep.uncertainty.FD_STEP`, downward at an upper bound): k + 1 evaluations
for k parameters, the linearised propagation of :mod:`infersweep.uncertainty`. For each metric m
(TTFT, TPOT, tokens/s per user, output tokens/s per GPU):

    var(log m) = g_mᵀ Σ g_m + (e_m · s)²

with g_m = ∂ log m / ∂ log θ, Σ the profile's covariance of its log parameters, s its residual
spread of the step time and e_m the metric's elasticity to a uniform change of step time: +1 for
TTFT and TPOT, −1 for tokens/s per user, −1 for a disaggregated row's throughput (its decode
pool runs a fixed batch) and 0 for an aggregated row's (it serves a fixed request rate, so its
throughput moves only if the server saturates). The bounds ``{m}_lo`` / ``{m}_hi`` are
m·exp(∓z·sd), z the normal quantile of (1 + uncertainty)/2; the cost bounds follow from the
throughput's (cost = GPU price / (3600 · throughput) · 10⁶ on every row). Deterministic.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from .disaggregated import decode_pool, kv_transfer, prefill_pool, ttft
from .errors import GridError
from .serving import Precision, Runtime
from .traffic import serve

#: The metrics that get bounds, and their elasticity to a uniform change of step time (aggregated,
#: disaggregated): how the profile's residual spread enters each.
ELASTICITY: dict[str, tuple[float, float]] = {
    "ttft_s": (1.0, 1.0),
    "tpot_s": (1.0, 1.0),
    "tokens_per_s_per_user": (-1.0, -1.0),
    "output_tokens_per_s_per_gpu": (0.0, -1.0),
}
COST = "usd_per_million_tokens"
BAND_COLUMNS = [f"{c}_{end}" for c in [*ELASTICITY, COST] for end in ("lo", "hi")]


def evaluate(model: Any, gpu: Any, rows: pl.DataFrame, *, isl: int, osl: int, chunk_size: int,
             runtime: Runtime, precision: Precision) -> dict[str, np.ndarray]:
    """TTFT, TPOT, tokens/s per user and output tokens/s per GPU of each plan row's deployment,
    held fixed, under ``runtime`` (at the plan's own runtime: the plan's values)."""
    from .sweep import lookup_gpu, lookup_model

    m, g = lookup_model(model), lookup_gpu(gpu)
    out = {c: np.full(rows.height, np.nan) for c in ELASTICITY}
    kinds = rows["kind"].to_list()
    agg = rows.with_row_index("_i").filter(pl.col("kind") == "aggregated")
    keys = ["instance_gpus", "tp", "pp", "ep", "attention_dp"]
    for key, grp in agg.group_by(keys, maintain_order=True):
        n, tp, pp, ep, dp = (int(v) for v in key)
        rates = grp["request_rate"].to_list()
        # One pinned layout: one row per rate, in the order given.
        df = serve(m, g, n, isl=isl, osl=osl, request_rate=rates, chunk_size=chunk_size, runtime=runtime,
                   precision=precision, tp=tp, pp=pp, ep=ep, attention_dp=dp)
        idx = grp["_i"].to_numpy()
        for c in ELASTICITY:
            out[c][idx] = df[c].to_numpy()
    p = precision.resolve(m)
    pools: dict[tuple[Any, ...], pl.DataFrame] = {}
    for i, r in enumerate(rows.iter_rows(named=True)):
        if kinds[i] != "disaggregated":
            continue
        pk = ("p", *(r[f"prefill_{k}"] for k in ("gpus", "tp", "pp", "ep", "attention_dp")))
        dk = ("d", *(r[f"decode_{k}"] for k in ("gpus", "tp", "pp", "ep", "attention_dp", "batch")))
        if pk not in pools:
            pools[pk] = prefill_pool(m, g, [pk[1]], isl, chunk_size, runtime, precision,
                                     dict(zip(("tp", "pp", "ep", "attention_dp"), pk[2:], strict=True)))
        if dk not in pools:
            pools[dk] = decode_pool(m, g, [dk[1]], isl, osl, [dk[6]], runtime, precision,
                                    dict(zip(("tp", "pp", "ep", "attention_dp"), dk[2:6], strict=True)))
        pre, dec = pools[pk].row(0, named=True), pools[dk].row(0, named=True)
        x, y = r["prefill_instances"], r["decode_instances"]
        # The planner's definitions (planner.disaggregated_candidates): ρ = y·μ_d/(x·μ_p), the
        # system's output tokens/s over its x·N_p + y·N_d GPUs.
        rho = y * dec["decode_requests_per_s"] / (x * pre["prefill_requests_per_s"])
        transfer = kv_transfer(m, g, p, isl, r["prefill_gpus"], r["decode_gpus"])[0]
        out["ttft_s"][i] = float(ttft(rho, pre["prefill_step_s"], pre["prefill_own_s"], isl, chunk_size,
                                      transfer))
        out["tpot_s"][i] = dec["tpot_s"]
        out["tokens_per_s_per_user"][i] = 1 / dec["tpot_s"]
        out["output_tokens_per_s_per_gpu"][i] = y * dec["decode_requests_per_s"] * osl / r["total_gpus"]
    return out


def check(profile: Any, level: Any) -> None:
    """GridError unless ``profile`` is a calibrated profile and ``level`` a probability in (0, 1)."""
    from .calibration import Profile

    if not isinstance(profile, Profile):
        raise GridError(f"grid: field 'uncertainty' needs runtime=an isw.Profile (isw.calibrate), got "
                        f"{profile!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise GridError(f"grid: field 'uncertainty' must be a probability in (0, 1), got {level!r}")


def with_band(model: Any, gpu: Any, rows: pl.DataFrame, profile: Any, level: float, *, isl: int, osl: int,
              chunk_size: int, precision: Precision | None) -> pl.DataFrame:
    """``rows`` (a plan under ``profile.runtime``) with the bounds of the module docstring."""
    from .calibration import PARAMETERS
    from .uncertainty import FD_STEP

    check(profile, level)
    prec = Precision() if precision is None else precision

    def run(rt: Runtime) -> dict[str, np.ndarray]:
        return evaluate(model, gpu, rows, isl=isl, osl=osl, chunk_size=chunk_size, runtime=rt, precision=prec)

    if rows.is_empty():
        return rows.with_columns(*[pl.lit(None, dtype=pl.Float64).alias(c) for c in BAND_COLUMNS])
    with np.errstate(divide="ignore", invalid="ignore"):
        base = run(profile.runtime)
        logs = {c: np.log(v) for c, v in base.items()}
        grads = {c: np.zeros((rows.height, len(profile.params))) for c in base}
        for j, name in enumerate(profile.params):
            value = float(getattr(profile.runtime, name))
            h = FD_STEP if value * math.exp(FD_STEP) <= PARAMETERS[name].hi else -FD_STEP
            bumped = run(profile.runtime.with_(**{name: value * math.exp(h)}))
            for c in base:
                grads[c][:, j] = (np.log(bumped[c]) - logs[c]) / h
    cov = profile.covariance_matrix()
    z = NormalDist().inv_cdf(0.5 + level / 2)
    aggregated = (rows["kind"] == "aggregated").to_numpy()
    bands: dict[str, np.ndarray] = {}
    for c, (e_agg, e_dis) in ELASTICITY.items():
        g_ = grads[c]
        var = np.einsum("ij,jk,ik->i", g_, cov, g_) if len(profile.params) else np.zeros(rows.height)
        e = np.where(aggregated, e_agg, e_dis)
        sd = np.sqrt(np.maximum(np.nan_to_num(var, nan=np.inf), 0.0) + (e * profile.residual_sd) ** 2)
        v = rows[c].to_numpy()
        f = np.exp(z * sd)
        bands[f"{c}_lo"], bands[f"{c}_hi"] = v / f, v * f
    cost = rows[COST].to_numpy()
    tput = rows["output_tokens_per_s_per_gpu"].to_numpy()
    # cost ∝ 1/throughput on every row: the dear end is the slow end.
    bands[f"{COST}_lo"] = cost * tput / bands["output_tokens_per_s_per_gpu_hi"]
    bands[f"{COST}_hi"] = cost * tput / bands["output_tokens_per_s_per_gpu_lo"]
    return rows.with_columns(*[pl.Series(k, bands[k]) for k in BAND_COLUMNS])


__all__ = ["BAND_COLUMNS", "ELASTICITY", "check", "evaluate", "with_band"]
