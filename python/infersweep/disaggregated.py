"""Disaggregated serving (docs/serving.md §T.7): a pool of prefill instances hands each prompt's
KV cache to a pool of decode instances.

A prefill instance runs prefill-only steps of a `prefill_chunk`-token budget; a decode instance
runs pure decode steps at a fixed batch. TTFT = the M/D/1 wait for the prefill budget + the
prompt's prefill + the KV transfer; TPOT = the decode step. The pools balance when
x·ρ·μ_p = y·μ_d (x prefill and y decode instances, μ the requests/s each sustains, ρ the prefill
utilisation). Steps are the engine's mixed steps (rust/serving/traffic.rs), batched in one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from .errors import GridError
from .reference import P2P, collective
from .serving import Precision, Runtime, runtime_dict
from .serving_reference import Layout, layouts
from .specs import Gpu, Model


def kv_transfer(m: Model, g: Gpu, prec: dict[str, float], isl: float, n_prefill: int,
                n_decode: int) -> tuple[float, float]:
    """(seconds, bytes) to move one prompt's KV cache from a prefill to a decode instance: the
    whole cache (all layers, KV heads once) in min(n_p, n_d) parallel point-to-point sends, over
    NVLink when both instances fit one NVLink domain (n_p + n_d ≤ gpus_per_node), else over the
    scale-out network (MODEL.md §4's p2p on 2 nodes)."""
    nbytes = m.kv_bytes_for_context(isl) / m.kv_element_bytes * prec["kv_cache"]
    links = min(n_prefill, n_decode)
    nodes = 1 if n_prefill + n_decode <= g.gpus_per_node else 2
    lat, bw = collective(g, 2, nodes, nbytes / links, P2P)
    return lat + bw, nbytes


@dataclass(frozen=True)
class StepRow:
    n: int
    lay: Layout
    decode_seqs: float
    decode_ctx: float
    prefill_tokens: float
    chunk: float
    prefix: float
    capacity_seqs: float
    capacity_ctx: float


def _run_steps(m: Model, g: Gpu, prec: Precision, rt: Runtime, rows: list[StepRow],
               num_threads: int | None = None) -> dict[str, np.ndarray]:
    from . import _core
    from .sweep import gpu_dict, model_dict

    def u32(f: Any) -> np.ndarray:
        return np.asarray([f(r) for r in rows], dtype=np.uint32)

    def f64(name: str) -> np.ndarray:
        return np.asarray([getattr(r, name) for r in rows], dtype=np.float64)

    return _core.serving_steps(
        model=model_dict(m), gpu=gpu_dict(g), precision=prec.resolve(m), runtime=runtime_dict(rt),
        n_gpus=u32(lambda r: r.n), tp=u32(lambda r: r.lay.tp), pp=u32(lambda r: r.lay.pp),
        ep=u32(lambda r: r.lay.ep), attention_dp=u32(lambda r: r.lay.attention_dp),
        decode_seqs=f64("decode_seqs"), decode_ctx=f64("decode_ctx"), prefill_tokens=f64("prefill_tokens"),
        chunk=f64("chunk"), prefix=f64("prefix"), capacity_seqs=f64("capacity_seqs"),
        capacity_ctx=f64("capacity_ctx"), num_threads=num_threads)


def prefill_pool(m: Model, g: Gpu, n_gpus: list[int], isl: float, budget: float, rt: Runtime, prec: Precision,
                 pins: dict[str, int] | None = None) -> pl.DataFrame:
    """Every prefill-instance candidate: its full-budget step t_p, the prompt's own chunks alone,
    and μ_p = budget/(ISL·t_p) requests/s."""
    pins = pins or {}
    cands = [(n, lay) for n in n_gpus for lay in layouts(m, n, **pins)]
    c = min(budget, isl)
    chunks = []
    done = 0.0
    while done < isl:
        cj = min(budget, isl - done)
        chunks.append((cj, done))
        done += cj
    rows = []
    for n, lay in cands:
        rows.append(StepRow(n, lay, 0.0, 0.0, budget, c, (isl - c) / 2, budget / c, isl))
        rows += [StepRow(n, lay, 0.0, 0.0, cj, cj, ell, budget / c, isl) for cj, ell in chunks]
    out = _run_steps(m, g, prec, rt, rows)
    k = 1 + len(chunks)
    lat = out["latency_s"].reshape(len(cands), k)
    feas = out["feasible"].reshape(len(cands), k).all(axis=1)
    t_p = lat[:, 0]
    own = lat[:, 1:].sum(axis=1)
    return pl.DataFrame({
        "prefill_gpus": [n for n, _ in cands], "prefill_tp": [lay.tp for _, lay in cands],
        "prefill_pp": [lay.pp for _, lay in cands], "prefill_ep": [lay.ep for _, lay in cands],
        "prefill_attention_dp": [lay.attention_dp for _, lay in cands],
        "prefill_step_s": t_p, "prefill_own_s": own, "prefill_feasible": feas,
        "prefill_requests_per_s": np.where(feas, budget / (isl * t_p), 0.0),
    })


def decode_pool(m: Model, g: Gpu, n_gpus: list[int], isl: float, osl: float, batches: list[float],
                rt: Runtime, prec: Precision, pins: dict[str, int] | None = None) -> pl.DataFrame:
    """Every decode-instance candidate at each batch: TPOT = the pure decode step at the mean
    context ISL + (OSL − 1)/2 (memory at ISL + OSL), μ_d = B/(OSL·TPOT)."""
    pins = pins or {}
    cands = [(n, lay, b) for n in n_gpus for lay in layouts(m, n, **pins) for b in batches]
    ctx = isl + (osl - 1) / 2
    rows = [StepRow(n, lay, b, ctx, 0.0, 1.0, 0.0, b, isl + osl) for n, lay, b in cands]
    out = _run_steps(m, g, prec, rt, rows)
    t = out["latency_s"]
    feas = out["feasible"]
    return pl.DataFrame({
        "decode_gpus": [n for n, _, _ in cands], "decode_tp": [lay.tp for _, lay, _ in cands],
        "decode_pp": [lay.pp for _, lay, _ in cands], "decode_ep": [lay.ep for _, lay, _ in cands],
        "decode_attention_dp": [lay.attention_dp for _, lay, _ in cands],
        "decode_batch": [b for _, _, b in cands], "tpot_s": t, "decode_feasible": feas,
        "decode_requests_per_s": np.where(feas, np.asarray([b for _, _, b in cands]) / (osl * t), 0.0),
        "decode_weights_gb_per_gpu": out["weights_gb_per_gpu"], "decode_kv_gb_per_gpu": out["kv_gb_per_gpu"],
    })


def ttft(rho: np.ndarray | float, t_p: Any, own: Any, isl: float, budget: float, transfer: Any) -> Any:
    """TTFT at prefill utilisation ρ: M/D/1 wait (service (ISL/budget)·t_p) + the prompt's chunks
    (alone with probability 1 − ρ, in full-budget steps with probability ρ) + the KV transfer."""
    rho = np.asarray(rho, dtype=np.float64)
    s = isl / budget * t_p
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(rho < 1, rho * s / (2 * (1 - rho)), np.inf)
    return wait + (1 - rho) * own + rho * math.ceil(isl / budget) * t_p + transfer


def disaggregate(model: Any, gpu: Any, *, isl: int, osl: int, prefill_gpus: int, decode_gpus: int,
                 decode_batch: Any, prefill_chunk: int = 8192, prefill_utilization: float = 0.7,
                 runtime: Runtime | None = None, precision: Precision | None = None,
                 prefill_pins: dict[str, int] | None = None,
                 decode_pins: dict[str, int] | None = None) -> pl.DataFrame:
    """One row per (prefill layout, decode layout, decode batch): TTFT, TPOT, the balanced ratio
    of prefill to decode instances at `prefill_utilization`, and the whole system's per-GPU
    throughput and cost (prefill GPUs charged to input tokens, decode GPUs to output tokens)."""
    from .sweep import _as_list, lookup_gpu, lookup_model

    m, g = lookup_model(model), lookup_gpu(gpu)
    if not 0 < prefill_utilization < 1:
        raise GridError(f"grid: field 'prefill_utilization' must be in (0, 1), got {prefill_utilization!r}")
    for name, v in (("isl", isl), ("osl", osl), ("prefill_gpus", prefill_gpus), ("decode_gpus", decode_gpus),
                    ("prefill_chunk", prefill_chunk)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise GridError(f"grid: field {name!r} must be a positive integer, got {v!r}")
    batches = [float(b) for b in _as_list(decode_batch)]
    rt = Runtime.default() if runtime is None else runtime
    prec = Precision() if precision is None else precision
    pre = prefill_pool(m, g, [prefill_gpus], isl, prefill_chunk, rt, prec, prefill_pins)
    dec = decode_pool(m, g, [decode_gpus], isl, osl, batches, rt, prec, decode_pins)
    return combine(m, g, pre, dec, isl, osl, prefill_chunk, prefill_utilization, prec)


def combine(m: Model, g: Gpu, pre: pl.DataFrame, dec: pl.DataFrame, isl: float, osl: float, budget: float,
            rho: float, prec: Precision) -> pl.DataFrame:
    """Cross the pools at prefill utilisation ρ: x/y = μ_d/(ρ·μ_p) prefill instances per decode
    instance; per decode instance the system serves μ_d requests/s on x/y·N_p + N_d GPUs."""
    df = pre.join(dec, how="cross").filter(pl.col("prefill_feasible") & pl.col("decode_feasible"))
    p = prec.resolve(m)
    pairs = list(zip(df["prefill_gpus"].to_list(), df["decode_gpus"].to_list(), strict=True))
    by_pair = {pair: kv_transfer(m, g, p, isl, *pair)[0] for pair in set(pairs)}
    transfer = [by_pair[pair] for pair in pairs]
    nbytes = m.kv_bytes_for_context(isl) / m.kv_element_bytes * p["kv_cache"]
    t_p, own = df["prefill_step_s"].to_numpy(), df["prefill_own_s"].to_numpy()
    tt = ttft(rho, t_p, own, isl, budget, np.asarray(transfer))
    mu_p, mu_d = df["prefill_requests_per_s"].to_numpy(), df["decode_requests_per_s"].to_numpy()
    ratio = mu_d / (rho * mu_p)
    gpus = ratio * df["prefill_gpus"].to_numpy() + df["decode_gpus"].to_numpy()
    usd = g.usd_per_hour / 3600
    return df.with_columns(
        pl.Series("kv_transfer_s", transfer), pl.lit(nbytes / 1e9).alias("kv_transfer_gb"),
        pl.Series("ttft_s", tt), pl.lit(rho).alias("prefill_utilization"),
        pl.Series("prefill_instances_per_decode_instance", ratio),
        pl.Series("requests_per_s_per_gpu", mu_d / gpus),
        pl.Series("output_tokens_per_s_per_gpu", mu_d * osl / gpus),
        pl.Series("input_tokens_per_s_per_gpu", mu_d * isl / gpus),
        pl.Series("tokens_per_s_per_user", 1 / df["tpot_s"].to_numpy()),
        pl.Series("usd_per_million_output_tokens", 1e6 * usd * df["decode_gpus"].to_numpy() / (mu_d * osl)),
        pl.Series("usd_per_million_input_tokens",
                  1e6 * usd * ratio * df["prefill_gpus"].to_numpy() / (mu_d * isl)),
    ).drop("prefill_feasible", "decode_feasible")


__all__ = ["combine", "decode_pool", "disaggregate", "kv_transfer", "prefill_pool", "ttft"]
