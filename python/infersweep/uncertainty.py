"""Uncertainty bands of a serving sweep under a calibrated profile (docs/calibration.md, "Bands").

``isw.sweep(..., semantics="serving", runtime=profile, uncertainty=0.8)`` adds ``tpot_s_lo`` /
``tpot_s_hi`` (bounds of ``token_latency_s``, the time per output token) and the matching bounds of
``tokens_per_s_per_request``, ``tokens_per_s_per_gpu`` and ``usd_per_million_tokens``: a central
interval holding ``uncertainty`` of the probability, from a linearised propagation:

    var(log T) = gᵀ Σ g + s²

with Σ the profile's covariance of its log parameters, s its residual spread (what the parameters
do not explain), and g = ∂ log T / ∂ log θ by a one-sided finite difference (step 1%, downward
for a parameter at its upper bound), each column of g one more run of the Rust sweep with one
parameter perturbed: k + 1 sweeps for k fitted parameters, whatever the row count. The band is
log-normal: T·exp(±z·sd), z the normal quantile of (1 + uncertainty)/2; speeds divide by the same
factors, costs multiply. Deterministic: the same inputs give the same columns on any thread count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np
import polars as pl

from .calibration import PARAMETERS, Profile
from .errors import GridError
from .serving import Runtime

__all__ = ["BAND_COLUMNS", "FD_STEP", "sweep_profile", "with_band"]

#: Relative step of the finite differences (log units).
FD_STEP = 0.01

#: Each banded column and the stem of its bounds. The step time, speeds (∝ 1/T) and costs (∝ T) all
#: move by the same factor: the bounds are value / factor and value · factor.
BANDED: dict[str, str] = {
    "token_latency_s": "tpot_s",
    "tokens_per_s_per_request": "tokens_per_s_per_request",
    "tokens_per_s_per_gpu": "tokens_per_s_per_gpu",
    "usd_per_million_tokens": "usd_per_million_tokens",
}
BAND_COLUMNS = [f"{stem}_{end}" for stem in BANDED.values() for end in ("lo", "hi")]


def log_time_sd(run: Callable[[Runtime, Sequence[str] | None], pl.DataFrame], profile: Profile,
                base: pl.DataFrame) -> np.ndarray:
    """sd of log(step time) of every row of ``base`` (= run(profile.runtime, None))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _log_time_sd(run, profile, base)


def _log_time_sd(run: Callable[[Runtime, Sequence[str] | None], pl.DataFrame], profile: Profile,
                 base: pl.DataFrame) -> np.ndarray:
    log_t = np.log(base["token_latency_s"].to_numpy())
    k = len(profile.params)
    grad = np.zeros((len(log_t), k))
    for j, p in enumerate(profile.params):
        value = float(getattr(profile.runtime, p))
        h = FD_STEP if value * math.exp(FD_STEP) <= PARAMETERS[p].hi else -FD_STEP
        bumped = run(profile.runtime.with_(**{p: value * math.exp(h)}), ["token_latency_s"])
        grad[:, j] = (np.log(bumped["token_latency_s"].to_numpy()) - log_t) / h
    cov = profile.covariance_matrix()
    var = np.einsum("ij,jk,ik->i", grad, cov, grad) if k else np.zeros(len(log_t))
    return np.sqrt(np.maximum(var, 0.0) + profile.residual_sd ** 2)


def with_band(run: Callable[[Runtime, Sequence[str] | None], pl.DataFrame], profile: Profile,
              level: float, columns: Sequence[str] | None) -> pl.DataFrame:
    """The sweep ``run`` under ``profile`` with the band columns (module docstring)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise GridError(f"grid: field 'uncertainty' must be a probability in (0, 1), got {level!r}")
    base = run(profile.runtime, None)
    sd = log_time_sd(run, profile, base)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    factor = np.exp(z * sd)
    bands = {}
    for col, stem in BANDED.items():
        v = base[col].to_numpy()
        finite = np.isfinite(v) & np.isfinite(factor) & (v > 0)
        bands[f"{stem}_lo"] = np.where(finite, v / np.where(finite, factor, 1.0), v)
        bands[f"{stem}_hi"] = np.where(finite, v * np.where(finite, factor, 1.0), v)
    keep = base.columns if columns is None else list(columns)
    return base.select(keep).with_columns(*[pl.Series(k, x) for k, x in bands.items()])


def sweep_profile(run_args: Callable[[dict[str, object], Sequence[str] | None], pl.DataFrame],
                  args: dict[str, object], uncertainty: float | None,
                  columns: Sequence[str] | None) -> pl.DataFrame:
    """``sweep(..., semantics="serving", runtime=profile, uncertainty=...)`` (sweep.py hands over)."""
    profile = args["runtime"]
    if not isinstance(profile, Profile):
        raise GridError(f"grid: field 'uncertainty' needs runtime=an isw.Profile (isw.calibrate), got "
                        f"{profile!r}")

    def run(rt: Runtime, cols: Sequence[str] | None) -> pl.DataFrame:
        return run_args({**args, "runtime": rt}, cols)

    if uncertainty is None:
        return run(profile.runtime, columns)
    return with_band(run, profile, uncertainty, columns)
