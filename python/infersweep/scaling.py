"""Model scaling and the paper's inverse problems (docs/model.md §9, §7).

* :func:`scale_model`: a model F times bigger (or smaller) in the paper's proportions.
* :func:`infer_model_size`: the size at which an observed (speed, price) point lies on the
  frontier, found by bisection over log F, as the paper estimates closed models' sizes.
* :func:`fit_frontier`: the fit ``y = A·(1 − x/x_m)^(−β)`` of a speed–cost frontier.
* :func:`mfu_target`: the fastest frontier point that reaches a target MFU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .checks import integer, real, real_array, show
from .errors import GridError, SpecError
from .frontier import MAX_RESOLUTION, frontier
from .specs import Gpu, Model, SpecDec

__all__ = [
    "FrontierFit",
    "SizeEstimate",
    "fit_frontier",
    "infer_model_size",
    "mfu_target",
    "scale_model",
]

SPEED = "tokens_per_s_per_request"
COST = "usd_per_million_tokens"
#: Accepted scale factors F (scale_model's ``factor``, infer_model_size's ``lo`` and ``hi``):
#: beyond them a scaled catalog model leaves the accepted ranges of its fields anyway.
FACTOR_RANGE = (1e-6, 1e6)
#: Speeds fit_frontier accepts (tokens/s): the scanned x_m, up to 1e4 times the fastest, and
#: the gaps down to 1e-9 of it, stay normal floats.
SPEED_RANGE = (1e-100, 1e100)
#: Accepted ``tol`` of infer_model_size: below 1e-12 the bracket is a few ulps of log F wide.
TOL_RANGE = (1e-12, 1.0)


# --- §9: scaling ---------------------------------------------------------------------------


def _group_size_keeping(heads: float, kv_groups: float) -> float:
    """The group size g with ``heads / g == kv_groups`` exactly in floating point, or nan.

    ``Model`` requires H/g to be integral *as computed* (``H/g == floor(H/g)``). For some pairs
    (about 7% of heads < 3000, groups < 600; none in the catalog for F in [1/64, 64]) no float
    g rounds H/g to exactly the integer; the nearest few floats are tried.
    """
    g = heads / kv_groups
    for direction in (math.inf, -math.inf):
        cand = g
        for _ in range(4):
            if heads / cand == kv_groups:
                return cand
            cand = math.nextafter(cand, direction)
    return math.nan


def scale_model(model: Model | str, factor: float, depth_exponent: float = 1 / 3,
                name: str | None = None) -> Model:
    """The model scaled to about ``factor`` times the parameters (docs/model.md §9).

    With F = ``factor`` and δ = ``depth_exponent``::

        d, f  → d·F^((1−δ)/2), f·F^((1−δ)/2)         (widths: fractional values are kept)
        L     → int(L·F^δ)                            (truncated, as the reference does)
        H     → ceil(H·F^((1−δ)/4));   h → h·F^((1−δ)/4)
        g     → H_new / (H/g)                         (the number of KV groups H/g is kept)

    so the non-embedding parameters scale as ``L·d² ∝ F`` (up to the rounding of L and H);
    embeddings scale with d only. Experts, vocabulary, precisions and the FFN shape are kept.

    Deviations from the reference notebook, all deliberate:

    * MLA fields (``mla_kv_rank``, ``mla_q_rank``) are kept, unscaled; the notebook drops them,
      silently turning an MLA model into plain attention (a bug not copied). MLA needs g = 1,
      so an MLA model keeps g = 1 (each query head keeps its own K/V up-projection) instead of
      keeping H/g.
    * ``Model`` checks that H/g is an integer in floating point. When no float g gives exactly
      H_new/g == H/g (rare, see ``_group_size_keeping``), H_new is raised by one head at a time
      until one does (at most H/g heads; a multiple of H/g always works).

    Keeping H/g when scaling down a multi-head (g = 1) model gives g < 1, i.e. more KV heads than
    query heads: continuous `epoch` semantics accept it, as the notebook does.

    A model with layer groups (docs/extensions.md) scales each group: its FFN widths (routed and
    shared) like f, its layers in proportion to L (L_g → L_g·L_new/L, fractional), its window kept;
    MLA's RoPE key width and the precisions are kept.

    ``name`` defaults to ``"<name> ×<factor>"``. Raises ``SpecError`` for a factor outside
    [1e-6, 1e6], one so small that no layer is left, or one that takes a field out of its
    accepted range (README, "Accepted ranges").
    """
    m = lookup_model(model)
    factor = real("scale_model: 'factor'", factor, *FACTOR_RANGE, exc=SpecError)
    depth_exponent = real("scale_model: 'depth_exponent'", depth_exponent, 0.0, 1.0, exc=SpecError)
    if name is not None and (not isinstance(name, str) or not name):
        raise SpecError(f"scale_model: 'name' must be None or a non-empty string, got {show(name)}")
    width = factor ** ((1 - depth_exponent) / 2)
    head = factor ** ((1 - depth_exponent) / 4)
    layers = float(int(m.n_layers * factor**depth_exponent))
    if layers < 1:
        raise SpecError(f"scale_model: factor {factor:g} leaves int({m.n_layers:g}·{factor:g}^"
                        f"{depth_exponent:g}) = 0 layers of model {m.name!r}")
    heads = float(math.ceil(m.n_heads * head))
    if m.is_mla:
        group = 1.0
    else:
        kv_groups = float(round(m.n_heads / m.group_size))  # integral: Model checks it
        group = _group_size_keeping(heads, kv_groups)
        for _ in range(int(kv_groups) + 1):  # a multiple of H/g always works
            if not math.isnan(group):
                break
            heads += 1.0
            group = _group_size_keeping(heads, kv_groups)
        else:
            raise SpecError(f"scale_model: no group size keeps {kv_groups:g} KV groups of model {m.name!r} "
                            f"scaled by {factor:g} ({heads:g} heads)")
    assert m.head_dim is not None
    changes: dict[str, Any] = {
        "name": name if name is not None else f"{m.name} ×{factor:.6g}",
        "d_model": m.d_model * width,
        "n_heads": heads,
        "group_size": group,
        "head_dim": m.head_dim * head,
        "source": f"scale_model({m.name!r}, factor={factor!r}, depth_exponent={depth_exponent!r}) "
                  f"(docs/model.md §9)",
    }
    try:
        if m.layer_groups is not None:
            groups = [replace(g, n_layers=g.n_layers * layers / m.n_layers, d_ff=g.d_ff * width,
                              shared_d_ff=None if g.shared_d_ff is None else g.shared_d_ff * width)
                      for g in m.layer_groups]
            return m.with_layer_groups(groups, **changes)
        return m.with_(d_ff=m.d_ff * width, n_layers=layers, **changes)
    except SpecError as e:
        raise SpecError(f"scale_model: model {m.name!r} scaled by {factor:g} is outside the accepted "
                        f"ranges: {e}") from e


# --- §9: the size that puts an observed point on the frontier --------------------------------


@dataclass(frozen=True)
class SizeEstimate:
    """The result of :func:`infer_model_size`.

    ``factor`` is F (the model is ``scale_model(base, F)``), ``model`` that model,
    ``total_params`` and ``active_params`` its P_total and P_active, ``frontier`` its frontier
    (the observed point lies on it, to the bisection's tolerance), ``iterations`` the number of
    frontiers computed.
    """

    factor: float
    model: Model
    total_params: float
    active_params: float
    frontier: pl.DataFrame
    iterations: int


def frontier_cost_at(front: pl.DataFrame, speed: float) -> float:
    """The frontier's cost ($/M tokens) at a speed (tokens/s per request).

    Log-cost is interpolated linearly in speed between frontier points. Faster than the fastest
    point: ``inf`` (unreachable). Slower than the slowest point: the slowest point's cost (the
    frontier stops at 100× the fastest latency, docs/model.md §10.8; its cost only falls with
    speed, and flattens where the GPUs are compute-bound).
    """
    if front.height == 0:
        return math.inf
    x = front[SPEED].to_numpy()
    y = front[COST].to_numpy()
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if speed > x[-1]:
        return math.inf
    if speed <= x[0]:
        return float(y[0])
    return float(np.exp(np.interp(speed, x, np.log(y))))


def infer_model_size(
    observed_tokens_per_s: float,
    observed_usd_per_mtok: float,
    base_model: Model | str,
    gpu: Gpu | str = "H100",
    *,
    context_len: float = 0,
    use_pp: bool = True,
    spec_dec: SpecDec | None = None,
    depth_exponent: float = 1 / 3,
    lo: float = 1 / 64,
    hi: float = 64,
    tol: float = 1e-3,
    resolution: int = 100,
) -> SizeEstimate:
    """The scale F at which an observed (speed, price) point lies on the model's frontier (§9).

    Solves ``log c_F(x_obs) = log y_obs`` for F by bisection over log F in [lo, hi], where
    ``c_F`` is the cost of the frontier of ``scale_model(base_model, F)`` at the observed speed
    (:func:`frontier_cost_at`: log-cost interpolated in speed; ``inf`` when the speed is beyond
    the frontier's fastest point, so the model must be smaller). A bigger model costs more at
    a given speed, so the sign of the mismatch says which way to go. Stops when
    ``hi/lo ≤ 1 + tol`` (``tol`` in [1e-12, 1]; ``lo`` and ``hi`` in [1e-6, 1e6]), or when the
    bracket is too narrow to halve in floating point, and returns whichever end of the bracket
    has its frontier closer to the point (in log-cost), with that frontier.

    This is how the paper estimates closed models' sizes. Each step computes one frontier on a
    ``resolution``² grid (100 by default: about 0.2 s for a 70B model; 400 is the paper's).
    Raises ``GridError`` when the point is not bracketed: below the frontier of the smallest
    model (``lo``) or above that of the largest (``hi``).
    """
    x_obs = real("infer_model_size: 'observed_tokens_per_s'", observed_tokens_per_s, 0.0, 1e300, lo_open=True)
    y_obs = real("infer_model_size: 'observed_usd_per_mtok'", observed_usd_per_mtok, 0.0, 1e300, lo_open=True)
    lo = real("infer_model_size: 'lo'", lo, *FACTOR_RANGE)
    hi = real("infer_model_size: 'hi'", hi, *FACTOR_RANGE)
    if not lo < hi:
        raise GridError(f"infer_model_size: need lo < hi, got lo={lo:g}, hi={hi:g}")
    tol = real("infer_model_size: 'tol'", tol, *TOL_RANGE)
    resolution = integer("infer_model_size: 'resolution'", resolution, 2, MAX_RESOLUTION)
    base, g = lookup_model(base_model), lookup_gpu(gpu)
    evaluations = 0

    def mismatch(log_f: float) -> tuple[float, Model, pl.DataFrame]:
        nonlocal evaluations
        evaluations += 1
        m = scale_model(base, math.exp(log_f), depth_exponent)
        front = frontier(m, g, context_len, use_pp, spec_dec, resolution=resolution, semantics="epoch")
        return math.log(frontier_cost_at(front, x_obs)) - math.log(y_obs), m, front

    u_lo, u_hi = math.log(lo), math.log(hi)
    at_lo, at_hi = mismatch(u_lo), mismatch(u_hi)
    if at_lo[0] > 0:
        raise GridError(f"infer_model_size: ({x_obs:g} tok/s, ${y_obs:g}/M) is below the frontier of "
                        f"{base.name!r} scaled by lo={lo:g}; lower 'lo'")
    if at_hi[0] < 0:
        raise GridError(f"infer_model_size: ({x_obs:g} tok/s, ${y_obs:g}/M) is above the frontier of "
                        f"{base.name!r} scaled by hi={hi:g}; raise 'hi'")
    while u_hi - u_lo > math.log1p(tol):
        mid = 0.5 * (u_lo + u_hi)
        if not u_lo < mid < u_hi:  # the bracket is one ulp wide: it cannot shrink further
            break
        at_mid = mismatch(mid)
        if at_mid[0] < 0:
            u_lo, at_lo = mid, at_mid
        else:
            u_hi, at_hi = mid, at_mid
    # Of the two ends, the one whose frontier passes closer to the point. Not the midpoint: L
    # and H are rounded, so the cost jumps (by 1/L at an integer L·F^δ) and the midpoint may sit
    # on the other side of a jump from the end that matches.
    u, (_, m, front) = min(((u_lo, at_lo), (u_hi, at_hi)), key=lambda e: abs(e[1][0]))
    return SizeEstimate(factor=math.exp(u), model=m, total_params=m.total_params,
                        active_params=m.active_params, frontier=front, iterations=evaluations)


# --- §9: the frontier fit --------------------------------------------------------------------


class FrontierFit(NamedTuple):
    """``y = A·(1 − x/x_m)^(−beta)``: cost y at speed x; x_m is where cost blows up."""

    A: float
    beta: float
    x_m: float

    def predict(self, speed: ArrayLike) -> np.ndarray:
        """The fitted cost at each speed (inf at or beyond x_m)."""
        x = np.asarray(speed, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x < self.x_m, self.A * (1.0 - x / self.x_m) ** (-self.beta), np.inf)


def _profile(x: np.ndarray, log_y: np.ndarray, s: float) -> tuple[float, float, float, float]:
    """Least squares of log y on z = −log(1 − x/x_m) at x_m = max(x)·(1 + e^s).

    Returns (sum of squared residuals, log A, beta, x_m). ``1 − x/x_m`` is computed as
    ``((max x − x) + max x·e^s) / x_m`` to keep its digits when x_m is close to max(x).
    """
    x_max = x.max()
    gap = x_max * math.exp(s)
    x_m = x_max + gap
    z = math.log(x_m) - np.log((x_max - x) + gap)
    zc = z - z.mean()
    denom = float(zc @ zc)
    beta = float(zc @ (log_y - log_y.mean())) / denom if denom > 0 else 0.0
    log_a = float(log_y.mean() - beta * z.mean())
    resid = log_y - log_a - beta * z
    return float(resid @ resid), log_a, beta, float(x_m)


def fit_frontier(front: pl.DataFrame | ArrayLike, cost: ArrayLike | None = None, *,
                 grid_points: int = 400, golden_steps: int = 80) -> FrontierFit:
    """Fit ``y = A·(1 − x/x_m)^(−β)`` to a frontier with log-normal errors (docs/model.md §9).

    Minimises ``Σ (log y − log A + β·log(1 − x/x_m))²`` over log A, β and x_m > max(x). For a
    fixed x_m the model is linear in (log A, β), solved in closed form; the profile over
    ``x_m = max(x)·(1 + e^s)`` is scanned on ``grid_points`` values of s (x_m from
    max(x)·(1 + 1e-9) to max(x)·(1 + 1e4)) and refined by ``golden_steps`` golden-section
    steps around the best one. numpy only.

    ``front`` is a frontier DataFrame (speed ``tokens_per_s_per_request``, cost
    ``usd_per_million_tokens``), or an array of speeds with ``cost`` the array of costs.
    Rows with a non-finite or non-positive speed or cost are ignored; at least 3 must remain,
    with speeds in [1e-100, 1e100]; a fit that is not finite is a GridError.
    When the best x_m is at the end of the scanned range the fit is degenerate (a pure
    exponential or a pole at the last point); the end value is returned.
    """
    grid_points = integer("fit_frontier: 'grid_points'", grid_points, 3, 100_000)
    golden_steps = integer("fit_frontier: 'golden_steps'", golden_steps, 0, 10_000)
    if isinstance(front, pl.DataFrame):
        if cost is not None:
            raise GridError("fit_frontier: pass a frontier DataFrame or (speeds, costs), not both")
        for c in (SPEED, COST):
            if c not in front.columns or not front.schema[c].is_numeric():
                raise GridError(f"fit_frontier: the frontier needs a numeric column {c!r}; columns are "
                                f"{front.columns}")
        x_all = front[SPEED].cast(pl.Float64).to_numpy()
        y_all = front[COST].cast(pl.Float64).to_numpy()
    else:
        if cost is None:
            raise GridError("fit_frontier: with an array of speeds, pass the costs too")
        x_all, y_all = real_array("fit_frontier: speeds", front), real_array("fit_frontier: costs", cost)
    x_all, y_all = np.asarray(x_all, dtype=np.float64).ravel(), np.asarray(y_all, dtype=np.float64).ravel()
    if x_all.shape != y_all.shape:
        raise GridError(f"fit_frontier: {x_all.size} speeds but {y_all.size} costs")
    keep = np.isfinite(x_all) & np.isfinite(y_all) & (x_all > 0) & (y_all > 0)
    x, log_y = x_all[keep], np.log(y_all[keep])
    if x.size < 3 or np.unique(x).size < 2:
        raise GridError(f"fit_frontier: need at least 3 points with distinct speeds, got {x.size}")
    lo, hi = SPEED_RANGE
    if not (lo <= x.min() and x.max() <= hi):
        raise GridError(f"fit_frontier: speeds must be in [{lo:g}, {hi:g}] (x_m up to 1e4 times the fastest "
                        f"must stay finite), got {x.min():g} to {x.max():g}")

    s_grid = np.linspace(math.log(1e-9), math.log(1e4), grid_points)
    sse = np.array([_profile(x, log_y, s)[0] for s in s_grid])
    i = int(np.argmin(sse))
    a, b = s_grid[max(i - 1, 0)], s_grid[min(i + 1, grid_points - 1)]
    inv_phi = (math.sqrt(5) - 1) / 2
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    fc, fd = _profile(x, log_y, c)[0], _profile(x, log_y, d)[0]
    for _ in range(golden_steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = _profile(x, log_y, c)[0]
        else:
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = _profile(x, log_y, d)[0]
    candidates = [_profile(x, log_y, s) for s in (s_grid[i], 0.5 * (a + b))]
    _, log_a, beta, x_m = min(candidates, key=lambda r: r[0])
    if not all(map(math.isfinite, (log_a, beta, x_m))) or log_a > 700:
        raise GridError(f"fit_frontier: the fit is degenerate (log A = {log_a:g}, beta = {beta:g}, "
                        f"x_m = {x_m:g})")
    return FrontierFit(A=math.exp(log_a), beta=beta, x_m=x_m)


# --- the MFU-target optimiser ----------------------------------------------------------------


def mfu_target(
    model: Model | str,
    gpu: Gpu | str,
    target_mfu: float,
    *,
    context_len: float = 0,
    use_pp: bool = True,
    spec_dec: SpecDec | None = None,
    resolution: int = 400,
    front: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The fastest frontier point whose MFU is at least ``target_mfu`` (one row).

    MFU = FLOP(ℓ, b, 1)/(N·Phi0·T) and cost ∝ N·T/b (docs/model.md §7), and FLOP(ℓ, b, 1) is
    proportional to b, so ``MFU × cost`` is the same for every configuration of a model, GPU
    and context: "MFU ≥ target" is "cost ≤ a threshold", and along the frontier MFU rises as
    speed falls. The answer is thus the frontier point where MFU first reaches the target, and
    its MFU is just above it; a higher target never gives a faster point.

    The notebook's optimiser instead takes the fastest point of a 100×100 grid (N ≤ 2^10) whose
    MFU is within 5% (in log) of the target; up to grid resolution the two agree, and ours
    cannot return a point whose MFU falls short of the target.

    ``front`` reuses a frontier already computed for the same model, GPU and settings (the
    other arguments then only serve to compute one when it is None). Raises ``GridError`` when
    no frontier point reaches the target (the message gives the highest MFU available).
    """
    target_mfu = real("mfu_target: 'target_mfu'", target_mfu, 0.0, 1.0, lo_open=True)
    if front is None:
        front = frontier(model, gpu, context_len, use_pp, spec_dec, resolution=resolution, semantics="epoch")
    elif not isinstance(front, pl.DataFrame) or not {"mfu", SPEED} <= set(front.columns):
        raise GridError(f"mfu_target: 'front' must be a frontier DataFrame (with columns 'mfu' and "
                        f"{SPEED!r}), got {show(front)}")
    if front.height == 0:
        raise GridError("mfu_target: the frontier is empty (the model does not fit)")
    reached = front.filter(pl.col("mfu") >= target_mfu)
    if reached.height == 0:
        raise GridError(f"mfu_target: no frontier point reaches MFU {target_mfu:g}; the highest is "
                        f"{float(front['mfu'].to_numpy().max()):.4g}")
    return reached[int(np.argmax(reached[SPEED].to_numpy()))]
