"""The toy model of paper §2 (docs/model.md §8) and its closed forms.

The toy model keeps only what sets the shape of the speed–cost trade-off: a fixed number of
serial all-reduces per layer whose latency grows with the number of GPUs, and the larger of
the time to read the weights and the time to do the arithmetic::

    t_reduce = 2 µs·max(sqrt(N) − 1, 0) + 6 µs
    n_red    = 2 if parallel_attention else 4
    T_toy    = L·n_red·t_reduce + max( w·P_total/(N·beta_eff), 2·P_total·b/(N·Phi) )
    T_toy    = inf  if N·HBM < (kappa·ℓ·b + w·P_total)·(1 − 1e-12)

with ``Phi = Phi_bits[8w]·u_flop`` and ``beta_eff = beta·u_mem`` (docs/model.md §2). Note that
the toy model counts ``2·P_total`` FLOP per token (not ``P_active``) and the full-batch KV cache
in its capacity test, as the reference does; the test has the 1e-12 relative slack of the
rounding rule (docs/model.md), so N = N_min fits whatever the rounding of w·P_total/HBM.

Closed forms (docs/model.md §8). Below the critical batch ``b*`` (memory time ≥ arithmetic
time) the latency does not depend on b, and with a per-hop latency ``t_hop`` it is::

    T(N) = 2·L·n·t_hop·max(sqrt(N) − 1, 0) + p·P/(N·B)           (+ L·n·6 µs in T_toy)

Setting dT/dN = 0 gives ``N*^(3/2) = p·P/(L·n·t_hop·B)``, hence::

    N*    = max(p·P/(L·n·t_hop·B), 1)^(2/3)
    T_min = 3·(L·n·t_hop)^(2/3)·(p·P/B)^(1/3) − 2·L·n·t_hop      if N* > 1,  else p·P/B

So the closed forms are the exact minimum of the toy latency *without* its 6 µs constant (a
constant shifts the minimum by ``L·n·6 µs`` and leaves N* unchanged), with ``t_reduce =
2·t_hop·(sqrt(N) − 1)`` (the hop count of an all-reduce over a sqrt(N)×sqrt(N) torus; the toy
model's 2 µs is 2·t_hop with t_hop = 1 µs). They are *not* the minimum of
``L·n·t_hop·sqrt(N) + p·P/(N·B)`` (that minimum sits at ``(2·p·P/(L·n·t_hop·B))^(2/3)``).
They ignore memory capacity: N* may be below the ``w·P_total/HBM`` GPUs that hold the weights.

``B``: §8 writes "B the HBM bandwidth", i.e. the raw peak ``gpu.hbm_bandwidth`` (the default,
``bandwidth="raw"``); the toy latency itself uses ``beta_eff``, so pass ``bandwidth="effective"``
to get the minimum of :func:`toy_latency` (minus its constant).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .errors import GridError, SpecError
from .reference import CAPACITY_SLACK
from .specs import Gpu, Model

__all__ = [
    "TOY_REDUCE_BASE_S",
    "TOY_REDUCE_HOP_S",
    "toy_critical_batch",
    "toy_latency",
    "toy_min_latency",
    "toy_optimal_gpus",
]

#: Per-sqrt(N) term of the toy all-reduce latency: 2 µs, i.e. 2 hops of 1 µs (§8).
TOY_REDUCE_HOP_S = 2e-6
#: Constant term of the toy all-reduce latency: 6 µs (§8).
TOY_REDUCE_BASE_S = 6e-6

Bandwidth = Literal["raw", "effective"]


def _allreduces_per_layer(model: Model) -> int:
    """n_red: 2 serial all-reduces per layer with parallel attention (PaLM), else 4."""
    return 2 if model.parallel_attention else 4


def _effective_flops(model: Model, gpu: Gpu) -> float:
    """Phi = Phi_bits[8w]·u_flop (docs/model.md §2)."""
    return gpu.flops_for(model) * gpu.flop_utilization


def _effective_bandwidth(gpu: Gpu) -> float:
    """beta_eff = beta·u_mem (docs/model.md §2)."""
    return gpu.hbm_bandwidth * gpu.mem_utilization


def toy_latency(
    model: Model | str,
    gpu: Gpu | str,
    n_gpus: ArrayLike,
    batch_size: ArrayLike,
    context_len: ArrayLike = 0,
) -> float | np.ndarray:
    """Token latency of the toy model, in seconds (docs/model.md §8, paper §2)::

        t_reduce = 2 µs·max(sqrt(N) − 1, 0) + 6 µs;   n_red = 2 if parallel_attention else 4
        T = L·n_red·t_reduce + max(w·P_total/(N·beta_eff), 2·P_total·b/(N·Phi))
        T = inf  if N·HBM < (kappa·ℓ·b + w·P_total)·(1 − 1e-12)

    ``n_gpus``, ``batch_size`` and ``context_len`` broadcast against each other like numpy
    arrays; the result is a float when all three are scalars, else an array of their
    broadcast shape. Points that do not fit in memory are ``inf``.
    """
    m, g = lookup_model(model), lookup_gpu(gpu)
    n = np.asarray(n_gpus, dtype=np.float64)
    b = np.asarray(batch_size, dtype=np.float64)
    ctx = np.asarray(context_len, dtype=np.float64)
    if np.any(~(n > 0)) or np.any(~(b > 0)) or np.any(~(ctx >= 0)):
        raise GridError("toy_latency: n_gpus and batch_size must be positive and context_len "
                        "non-negative")
    w, p_total = m.weight_bytes, m.total_params
    t_reduce = TOY_REDUCE_HOP_S * np.maximum(np.sqrt(n) - 1.0, 0.0) + TOY_REDUCE_BASE_S
    memory_s = w * p_total / (n * _effective_bandwidth(g))
    compute_s = 2.0 * p_total * b / (n * _effective_flops(m, g))
    latency = m.n_layers * _allreduces_per_layer(m) * t_reduce + np.maximum(memory_s, compute_s)
    need = (_kv_bytes(m, ctx) * b + w * p_total) * CAPACITY_SLACK
    latency = np.where(n * g.hbm_bytes < need, np.inf, latency)
    if latency.ndim == 0:
        return float(latency)
    return latency


def _kv_bytes(m: Model, ctx: np.ndarray) -> np.ndarray:
    """KV-cache bytes of one sequence at each context: kappa·ℓ, or with attention windows
    Σ_g kappa_g·min(ℓ, W_g) (docs/extensions.md §6)."""
    if not m.has_windows:
        return m.kv_bytes_per_token * ctx
    total = np.zeros_like(ctx)
    for grp in m.groups:
        total = total + m.group_kv_bytes(grp) * (ctx if grp.window is None else np.minimum(ctx, grp.window))
    return total


def _bandwidth(gpu: Gpu, bandwidth: Bandwidth) -> float:
    if bandwidth == "raw":
        return gpu.hbm_bandwidth
    if bandwidth == "effective":
        return _effective_bandwidth(gpu)
    raise SpecError(f"toy closed forms: 'bandwidth' must be 'raw' or 'effective', got {bandwidth!r}")


def _hop_budget(model: Model, t_hop: float, n_reduce: float | None) -> float:
    """L·n_reduce·t_hop, the latency scale of the closed forms (n_reduce None → n_red)."""
    n = _allreduces_per_layer(model) if n_reduce is None else n_reduce
    if not (t_hop > 0 and n > 0):
        raise SpecError(f"toy closed forms: t_hop and n_reduce must be positive, got {t_hop!r}, {n!r}")
    return model.n_layers * n * t_hop


def toy_optimal_gpus(
    model: Model | str,
    gpu: Gpu | str,
    t_hop: float = 1e-6,
    n_reduce: float | None = 4,
    *,
    bandwidth: Bandwidth = "raw",
) -> float:
    """The latency-minimising GPU count of the toy model at or below the critical batch (§8)::

        N* = max(p·P / (L·n_reduce·t_hop·B), 1)^(2/3)

    with p = w bytes per weight, P = P_total and B = the raw HBM bandwidth
    (``bandwidth="raw"``, as §8 writes it) or ``beta_eff`` (``bandwidth="effective"``, the
    bandwidth :func:`toy_latency` uses). ``n_reduce=None`` takes the model's n_red (2 with
    parallel attention, else 4). N* is the exact minimiser of
    ``2·L·n_reduce·t_hop·max(sqrt(N) − 1, 0) + p·P/(N·B)`` over N ≥ 1; memory capacity is
    ignored (see the module docstring).
    """
    m, g = lookup_model(model), lookup_gpu(gpu)
    x = m.weight_bytes * m.total_params / (_hop_budget(m, t_hop, n_reduce) * _bandwidth(g, bandwidth))
    return max(x, 1.0) ** (2.0 / 3.0)


def toy_min_latency(
    model: Model | str,
    gpu: Gpu | str,
    t_hop: float = 1e-6,
    n_reduce: float | None = 4,
    *,
    bandwidth: Bandwidth = "raw",
) -> float:
    """The minimum over N of the toy latency without its constant, in seconds (§8)::

        T_min = 3·(L·n_reduce·t_hop)^(2/3)·(p·P/B)^(1/3) − 2·L·n_reduce·t_hop   if N* > 1
              = p·P/B                                                          otherwise

    i.e. ``min over N ≥ 1 of 2·L·n_reduce·t_hop·max(sqrt(N) − 1, 0) + p·P/(N·B)``, reached at
    :func:`toy_optimal_gpus`. With ``bandwidth="effective"``, t_hop = 1 µs and n_reduce = n_red,
    ``T_min + L·n_red·6 µs`` is the minimum over N of :func:`toy_latency` at any batch up to
    :func:`toy_critical_batch` (when capacity does not bind).
    """
    m, g = lookup_model(model), lookup_gpu(gpu)
    hops = _hop_budget(m, t_hop, n_reduce)
    weights_s = m.weight_bytes * m.total_params / _bandwidth(g, bandwidth)
    if weights_s / hops <= 1.0:  # N* = 1: no all-reduce at all
        return weights_s
    return 3.0 * hops ** (2.0 / 3.0) * weights_s ** (1.0 / 3.0) - 2.0 * hops


def toy_critical_batch(model: Model | str, gpu: Gpu | str) -> float:
    """The batch at which the toy model's memory and arithmetic times are equal (§8)::

        w·P_total/(N·beta_eff) = 2·P_total·b/(N·Phi)   ⇒   b* = w·Phi / (2·beta_eff)

    Independent of N and of the model's size; below b* the toy latency does not depend on b,
    above it the latency grows linearly in b.
    """
    m, g = lookup_model(model), lookup_gpu(gpu)
    b = m.weight_bytes * _effective_flops(m, g) / (2.0 * _effective_bandwidth(g))
    assert math.isfinite(b)
    return b
