"""The SLA planner (docs/serving.md §T.8): the best aggregated and disaggregated deployments of a
model on up to `max_gpus` GPUs of one kind under TTFT and TPOT limits, and the Pareto front of
throughput per GPU against tokens/s per user, with dollars on every row.

Candidates (each grid is a module constant, shown in the docs):
- aggregated: instances of n GPUs (powers of two ≤ max_gpus), every layout, request rates
  :data:`RATES` per instance (in-flight steady state, :func:`infersweep.serve`); the deployment
  is floor(max_gpus/n) replicas, so throughput per GPU is the instance's;
- disaggregated: prefill instances of n_p and decode instances of n_d GPUs (powers of two), every
  layout of each, decode batches :data:`BATCHES`, and integer counts x, y with
  x·n_p + y·n_d ≤ max_gpus; the decode pool runs at its batch, the prefill pool at utilisation
  ρ = y·μ_d/(x·μ_p) < 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from .disaggregated import decode_pool, kv_transfer, prefill_pool, ttft
from .errors import GridError
from .serving import Precision, Runtime
from .traffic import DEFAULT_CHUNK_SIZE, serve

#: Request rates (requests/s per instance) the aggregated search tries: 0.01 · 2^(k/2).
RATES = [0.01 * 2 ** (k / 2) for k in range(0, 34)]
#: Decode batches the disaggregated search tries.
BATCHES = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]
OBJECTIVES = ("tokens_per_s_per_gpu", "usd_per_million_tokens")

PLAN_COLUMNS = [
    "kind", "best", "on_front", "ttft_s", "tpot_s", "tokens_per_s_per_user", "output_tokens_per_s_per_gpu",
    "usd_per_million_tokens", "total_gpus", "instance_gpus", "replicas", "tp", "pp", "ep", "attention_dp",
    "request_rate", "prefill_gpus", "prefill_instances", "prefill_tp", "prefill_pp", "prefill_ep",
    "prefill_attention_dp", "decode_gpus", "decode_instances", "decode_tp", "decode_pp", "decode_ep",
    "decode_attention_dp", "decode_batch", "prefill_utilization", "concurrency", "kind_front",
]


def _powers(limit: int) -> list[int]:
    return [1 << k for k in range(0, 31) if 1 << k <= limit]


def aggregated_candidates(model: Any, gpu: Any, *, isl: int, osl: int, max_gpus: int, chunk_size: int,
                          runtime: Runtime | None, precision: Precision | None) -> pl.DataFrame:
    """Every aggregated candidate (instance size, layout, rate) with its steady state."""
    df = serve(model, gpu, _powers(max_gpus), isl=isl, osl=osl, request_rate=RATES, chunk_size=chunk_size,
               runtime=runtime, precision=precision, all_layouts=True)
    return df.with_columns(
        (pl.lit(max_gpus) // pl.col("n_gpus")).alias("replicas"),
        (pl.lit(max_gpus) // pl.col("n_gpus") * pl.col("n_gpus")).alias("total_gpus"),
        (pl.col("n_gpus") * pl.lit(_price(gpu)) / 3600 * 1e6
         / (pl.col("requests_per_s") * osl)).alias("usd_per_million_tokens"),
    )


def _price(gpu: Any) -> float:
    from .sweep import lookup_gpu
    return lookup_gpu(gpu).usd_per_hour


def disaggregated_candidates(model: Any, gpu: Any, *, isl: int, osl: int, max_gpus: int, ttft_max: float,
                             tpot_max: float, chunk_size: int, runtime: Runtime | None,
                             precision: Precision | None) -> pl.DataFrame:
    """Every disaggregated deployment meeting the limits: per (prefill layout, decode layout and
    batch) the integer (x, y) that maximises output tokens/s per GPU."""
    from .sweep import lookup_gpu, lookup_model

    m, g = lookup_model(model), lookup_gpu(gpu)
    rt = Runtime.default() if runtime is None else runtime
    prec = Precision() if precision is None else precision
    sizes = _powers(max(1, max_gpus - 1))
    pre = prefill_pool(m, g, sizes, isl, chunk_size, rt, prec).filter(pl.col("prefill_feasible"))
    dec = decode_pool(m, g, sizes, isl, osl, BATCHES, rt, prec).filter(
        pl.col("decode_feasible") & (pl.col("tpot_s") <= tpot_max))
    if pre.is_empty() or dec.is_empty():
        return pl.DataFrame()
    df = pre.join(dec, how="cross").filter(pl.col("prefill_gpus") + pl.col("decode_gpus") <= max_gpus)
    if df.is_empty():
        return pl.DataFrame()
    p = prec.resolve(m)
    n_p, n_d = df["prefill_gpus"].to_numpy(), df["decode_gpus"].to_numpy()
    by_pair = {(a, b): kv_transfer(m, g, p, isl, a, b)[0]
               for a in set(n_p.tolist()) for b in set(n_d.tolist())}
    transfer = np.asarray([by_pair[(a, b)] for a, b in zip(n_p.tolist(), n_d.tolist(), strict=True)])
    t_p, own = df["prefill_step_s"].to_numpy(), df["prefill_own_s"].to_numpy()
    mu_p, mu_d = df["prefill_requests_per_s"].to_numpy(), df["decode_requests_per_s"].to_numpy()
    best = np.full(len(df), -np.inf)
    best_xy = np.zeros((len(df), 2))
    best_rho = np.zeros(len(df))
    for y in range(1, max_gpus + 1):
        x = np.ceil(y * mu_d / mu_p * (1 + 1e-12))       # the fewest prefill instances with ρ < 1
        x = np.maximum(x, 1)
        # More prefill instances lower ρ (and TTFT): try up to the GPUs left.
        for extra in range(0, 4):
            xe = x + extra
            rho_e = y * mu_d / (xe * mu_p)
            gpus_e = xe * n_p + y * n_d
            ok_e = (gpus_e <= max_gpus) & (ttft(rho_e, t_p, own, isl, chunk_size, transfer) <= ttft_max)
            val = np.where(ok_e, y * mu_d * osl / gpus_e, -np.inf)
            better = val > best
            best = np.where(better, val, best)
            best_xy[better] = np.stack([xe, np.full_like(xe, y)], axis=1)[better]
            best_rho = np.where(better, rho_e, best_rho)
    keep = np.isfinite(best)
    xs, ys = best_xy[:, 0], best_xy[:, 1]
    tt = ttft(best_rho, t_p, own, isl, chunk_size, transfer)
    total = xs * n_p + ys * n_d
    with np.errstate(divide="ignore", invalid="ignore"):
        usd = 1e6 * total * g.usd_per_hour / 3600 / (ys * mu_d * osl)
    out = df.with_columns(
        pl.Series("prefill_instances", xs.astype(np.int64)),
        pl.Series("decode_instances", ys.astype(np.int64)),
        pl.Series("prefill_utilization", best_rho), pl.Series("ttft_s", tt),
        pl.Series("total_gpus", total.astype(np.int64)), pl.Series("output_tokens_per_s_per_gpu", best),
        pl.Series("tokens_per_s_per_user", 1 / df["tpot_s"].to_numpy()),
        pl.Series("usd_per_million_tokens", usd),
    ).filter(pl.Series(keep))
    return out


def _front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows no other row beats on both x and y (higher is better on both)."""
    order = np.lexsort((-y, -x))
    on = np.zeros(len(x), dtype=bool)
    best_y = -np.inf
    for i in order:
        if y[i] > best_y:
            on[i] = True
            best_y = y[i]
    return on


def plan(model: Any, gpu: Any, *, isl: int, osl: int, ttft_max: float, tpot_max: float, max_gpus: int = 64,
         objective: str = "tokens_per_s_per_gpu", chunk_size: int = DEFAULT_CHUNK_SIZE,
         runtime: Any = None, precision: Precision | None = None,
         uncertainty: float | None = None) -> pl.DataFrame:
    """The best aggregated and the best disaggregated deployment under the limits (``best``), and
    the Pareto front of output tokens/s per GPU against tokens/s per user over both kinds
    (``on_front``) and within each kind (``kind_front``, what the plan's plot draws), each row
    with its dollars per million output tokens (all GPUs, prefill included) and its requests in
    flight (``concurrency``, Little's law over the whole deployment; ``decode_batch`` is the
    sequences per decode step of one instance, for both kinds). ``objective``:
    ``"tokens_per_s_per_gpu"`` (highest) or ``"usd_per_million_tokens"`` (lowest).

    ``runtime``: an :class:`~infersweep.Runtime` or a calibrated :class:`~infersweep.Profile`
    (its runtime); with a profile, ``uncertainty=0.8`` adds ``_lo`` / ``_hi`` bounds of TTFT,
    TPOT, the speeds and the cost to every row (:mod:`infersweep.plan_band`)."""
    from .calibration import Profile

    profile = runtime if isinstance(runtime, Profile) else None
    if profile is not None:
        runtime = profile.runtime
    if uncertainty is not None:
        from .plan_band import check
        check(profile if profile is not None else runtime, uncertainty)
    if objective not in OBJECTIVES:
        raise GridError(f"grid: field 'objective' must be one of {list(OBJECTIVES)}, got {objective!r}")
    for name, v in (("ttft_max", ttft_max), ("tpot_max", tpot_max)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or math.isnan(v):
            raise GridError(f"grid: field {name!r} must be a positive number of seconds, got {v!r}")
    if isinstance(max_gpus, bool) or not isinstance(max_gpus, int) or max_gpus < 1:
        raise GridError(f"grid: field 'max_gpus' must be a positive integer, got {max_gpus!r}")
    agg = aggregated_candidates(model, gpu, isl=isl, osl=osl, max_gpus=max_gpus, chunk_size=chunk_size,
                                runtime=runtime, precision=precision)
    agg = agg.filter(~pl.col("saturated") & (pl.col("ttft_s") <= ttft_max) & (pl.col("tpot_s") <= tpot_max))
    agg = agg.select(
        pl.lit("aggregated").alias("kind"), "ttft_s", "tpot_s", "tokens_per_s_per_user",
        "output_tokens_per_s_per_gpu", "usd_per_million_tokens", "total_gpus",
        pl.col("n_gpus").alias("instance_gpus"), "replicas", "tp", "pp", "ep", "attention_dp", "request_rate",
        pl.col("decode_seqs").alias("decode_batch"))
    dis = disaggregated_candidates(model, gpu, isl=isl, osl=osl, max_gpus=max_gpus, ttft_max=ttft_max,
                                   tpot_max=tpot_max, chunk_size=chunk_size, runtime=runtime,
                                   precision=precision)
    if not dis.is_empty():
        dis = dis.select(
            pl.lit("disaggregated").alias("kind"), "ttft_s", "tpot_s", "tokens_per_s_per_user",
            "output_tokens_per_s_per_gpu", "usd_per_million_tokens", "total_gpus", "prefill_gpus",
            "prefill_instances", "prefill_tp", "prefill_pp", "prefill_ep", "prefill_attention_dp",
            "decode_gpus", "decode_instances", "decode_tp", "decode_pp", "decode_ep", "decode_attention_dp",
            "decode_batch", "prefill_utilization")
    df = pl.concat([agg, dis], how="diagonal_relaxed") if not dis.is_empty() else agg
    if df.is_empty():
        empty = pl.DataFrame(schema={c: pl.Float64 for c in PLAN_COLUMNS})
        if uncertainty is not None:
            from .plan_band import BAND_COLUMNS
            empty = empty.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in BAND_COLUMNS)
        return empty
    for c in PLAN_COLUMNS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None).alias(c))
    key = (pl.col("output_tokens_per_s_per_gpu") if objective == "tokens_per_s_per_gpu"
           else -pl.col("usd_per_million_tokens"))
    df = df.with_row_index("_row").with_columns(key.alias("_score"))
    best_rows = (df.sort(["_score", "_row"], descending=[True, False]).group_by("kind", maintain_order=True)
                 .first()["_row"].to_list())
    on = _front(df["output_tokens_per_s_per_gpu"].to_numpy(), df["tokens_per_s_per_user"].to_numpy())
    own = np.zeros(df.height, dtype=bool)
    for kind in ("aggregated", "disaggregated"):
        mine = (df["kind"] == kind).to_numpy()
        own[mine] = _front(df["output_tokens_per_s_per_gpu"].to_numpy()[mine],
                           df["tokens_per_s_per_user"].to_numpy()[mine])
    # Requests in flight in the whole deployment (Little's law): requests/s × (TTFT + OSL·TPOT).
    in_flight = (pl.col("output_tokens_per_s_per_gpu") * pl.col("total_gpus") / osl
                 * (pl.col("ttft_s") + osl * pl.col("tpot_s")))
    df = df.with_columns(pl.col("_row").is_in(best_rows).alias("best"), pl.Series("on_front", on),
                         pl.Series("kind_front", own), in_flight.alias("concurrency"))
    df = df.filter(pl.col("best") | pl.col("on_front") | pl.col("kind_front"))
    out = (df.sort(["best", "kind", "tokens_per_s_per_user"], descending=[True, False, False])
           .select(PLAN_COLUMNS))
    if uncertainty is not None:
        from .plan_band import with_band

        out = with_band(model, gpu, out, profile, uncertainty, isl=isl, osl=osl, chunk_size=chunk_size,
                        precision=precision)
    return out


__all__ = ["BATCHES", "OBJECTIVES", "PLAN_COLUMNS", "RATES", "aggregated_candidates",
           "disaggregated_candidates", "plan"]
