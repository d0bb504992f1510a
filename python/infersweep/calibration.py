"""Runtime profiles fitted to measured deployments (docs/calibration.md).

:func:`calibrate` fits physical :class:`~infersweep.Runtime` parameters — the fixed per-step
overhead, the per-kernel cost with and without CUDA graphs, the achieved fractions of peak HBM
bandwidth (weights, KV cache) and of peak GEMM rate — to the decode steps of measured deployments,
by robust least squares on log(predicted / measured) (``scipy.optimize.least_squares``, loss
``soft_l1``), within bounds that keep each physical (:data:`PARAMETERS`). No per-point factor: a
profile is one runtime for every point of its group (by default one per framework).

Each :class:`Profile` carries its fitted runtime, the covariance of its log parameters
(Gauss–Newton: (JᵀJ)⁻¹·s², J the Jacobian of the residuals at the solution, s² the residual
variance), the residual spread, the ids of the points it was fitted on, and its cross-validated
error: leave-one-source-out, each source's points predicted by a profile fitted without that
source. Profiles save to and load from TOML (:meth:`Profile.to_toml`, :meth:`Profile.from_toml`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .errors import SpecError
from .serving import Runtime
from .serving_validation import SERVING_INPUTS, ServingPoint, faster_than_light, predict_steps, serving_point
from .validation import Unexpressible, validate

__all__ = ["PARAMETERS", "PRIOR_SD", "Calibration", "Profile", "calibrate", "gpu_generation", "load_profile",
           "shipped_cross_validation", "shipped_profiles"]


@dataclass(frozen=True)
class Parameter:
    """A fitted runtime field: its physical bounds (it is fitted as log(value) within them)."""

    lo: float
    hi: float
    meaning: str


#: The runtime fields :func:`calibrate` can fit, with their bounds.
PARAMETERS: dict[str, Parameter] = {
    # Python schedulers with host syncs cost up to a few ms per step; an overlapped one ~0.1 ms.
    "step_overhead_s": Parameter(1e-6, 0.01, "fixed host-side time per decode step (s)"),
    # Host work per scheduled sequence per step: ~0.1 µs (a C++ loop) to 1 ms (Python per request).
    "sequence_overhead_s": Parameter(1e-7, 1e-3, "host time per scheduled sequence per step (s)"),
    # A kernel replayed in a CUDA graph costs its launch gap, ~1 µs (docs/serving.md §R.2).
    "graph_kernel_s": Parameter(2e-7, 5e-6, "time per kernel replayed in a CUDA graph (s)"),
    # Eager dispatch: the bare launch (4-6 µs) up to a Python-side dispatch of a few tens of µs.
    "launch_kernel_s": Parameter(2e-6, 5e-5, "time per kernel launched eagerly, without CUDA graphs (s)"),
    "weight_bandwidth_efficiency": Parameter(0.3, 1.0, "achieved fraction of peak HBM bandwidth on weights"),
    "kv_bandwidth_efficiency": Parameter(0.1, 1.0, "achieved fraction of peak HBM bandwidth on the KV cache"),
    "gemm_efficiency": Parameter(0.1, 1.0, "achieved fraction of peak FLOP rate in GEMMs"),
    # Over the GPU's NCCL model: a framework's one-shot all-reduce kernel can be several times
    # faster on small messages, a collective outside a CUDA graph several times slower.
    "collective_latency_scale": Parameter(0.1, 10.0, "multiplier on every collective's latency term"),
}
DEFAULT_PARAMS: tuple[str, ...] = tuple(PARAMETERS)

#: GPU generations of the catalog (first matching prefix of the catalog name).
_GENERATIONS: tuple[tuple[str, str], ...] = (
    ("GB300", "blackwell"), ("GB200", "blackwell"), ("B300", "blackwell"), ("B200", "blackwell"),
    ("B100", "blackwell"), ("GH200", "hopper"), ("H200", "hopper"), ("H100", "hopper"), ("H20", "hopper"),
    ("H800", "hopper"), ("MI355", "cdna4"), ("MI350", "cdna4"), ("MI325", "cdna3"), ("MI300", "cdna3"),
    ("L40", "ada"), ("L4", "ada"), ("A100", "ampere"), ("A10", "ampere"),
)


def gpu_generation(gpu_name: str | None) -> str:
    """The GPU generation of a catalog GPU name (``"other"`` if unknown): a grouping column."""
    for prefix, gen in _GENERATIONS:
        if gpu_name and gpu_name.upper().startswith(prefix):
            return gen
    return "other"


@dataclass(frozen=True)
class Profile:
    """A fitted runtime and how sure the fit is (module docstring)."""

    name: str
    runtime: Runtime
    params: tuple[str, ...]
    #: Covariance of the fitted log parameters (order of ``params``).
    log_covariance: tuple[tuple[float, ...], ...]
    #: Spread of log(predicted / measured) the parameters do not explain (s above).
    residual_sd: float
    group: Mapping[str, str] = field(default_factory=dict)
    points: tuple[str, ...] = ()
    #: Parameters of the group the points did not determine (kept at the starting runtime's value).
    undetermined: tuple[str, ...] = ()
    #: Parameters fitted onto one of their bounds (fixed there: they carry no variance).
    at_bound: tuple[str, ...] = ()
    fit_median_abs_error_pct: float | None = None
    cv_median_abs_error_pct: float | None = None
    cv_within_2x: float | None = None
    cv_n: int = 0

    def covariance_matrix(self) -> np.ndarray:
        return np.asarray(self.log_covariance, dtype=np.float64).reshape(len(self.params), len(self.params))

    def uncertainty(self) -> dict[str, tuple[float, float]]:
        """``{param: (value, relative sd)}``: the relative sd is the sd of log(value)."""
        cov = self.covariance_matrix()
        return {p: (float(getattr(self.runtime, p)), math.sqrt(max(cov[i, i], 0.0)))
                for i, p in enumerate(self.params)}

    # --- TOML -----------------------------------------------------------------------------------
    def to_toml(self) -> str:
        """The profile as TOML (:meth:`from_toml` reads it back exactly)."""
        lines = ["# infersweep runtime profile (isw.calibrate); docs/calibration.md", "",
                 f"name = {_toml(self.name)}", f"residual_sd = {_toml(self.residual_sd)}",
                 f"params = {_toml(list(self.params))}", f"undetermined = {_toml(list(self.undetermined))}",
                 f"at_bound = {_toml(list(self.at_bound))}",
                 f"log_covariance = {_toml([list(r) for r in self.log_covariance])}",
                 f"points = {_toml(list(self.points))}"]
        for k in ("fit_median_abs_error_pct", "cv_median_abs_error_pct", "cv_within_2x"):
            v = getattr(self, k)
            if v is not None:
                lines.append(f"{k} = {_toml(v)}")
        lines += [f"cv_n = {self.cv_n}", "", "[group]"]
        lines += [f"{k} = {_toml(v)}" for k, v in self.group.items()]
        lines += ["", "[runtime]"]
        for k, v in self.runtime.to_dict().items():
            if v is not None:  # absent = None (the GPU's own cap or latency)
                lines.append(f"{k} = {_toml(v)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> Profile:
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"profile: not TOML: {e}") from None
        missing = [k for k in ("name", "params", "log_covariance", "residual_sd", "runtime") if k not in d]
        if missing:
            raise SpecError(f"profile: missing fields {missing}")
        known = set(Runtime.default().to_dict())
        unknown = sorted(set(d["runtime"]) - known)
        if unknown:
            raise SpecError(f"profile {d['name']!r}: field 'runtime' has unknown keys {unknown}")
        rt_fields: dict[str, Any] = {k: None for k in ("launch_kernel_s", "weight_bandwidth_efficiency",
                                       "kv_bandwidth_efficiency", "gemm_efficiency", "expert_imbalance",
                                       "attention_kernels")}
        rt_fields.update(d["runtime"])
        bad = [p for p in d["params"] if p not in PARAMETERS]
        if bad:
            raise SpecError(f"profile {d['name']!r}: field 'params' names unknown parameters {bad}")
        return cls(name=d["name"], runtime=Runtime(**rt_fields), params=tuple(d["params"]),
                   log_covariance=tuple(tuple(float(x) for x in r) for r in d["log_covariance"]),
                   residual_sd=float(d["residual_sd"]), group=dict(d.get("group", {})),
                   points=tuple(d.get("points", ())), undetermined=tuple(d.get("undetermined", ())),
                   at_bound=tuple(d.get("at_bound", ())),
                   fit_median_abs_error_pct=d.get("fit_median_abs_error_pct"),
                   cv_median_abs_error_pct=d.get("cv_median_abs_error_pct"),
                   cv_within_2x=d.get("cv_within_2x"), cv_n=int(d.get("cv_n", 0)))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_toml(), encoding="utf-8")


def load_profile(path: str | Path) -> Profile:
    """A profile saved with :meth:`Profile.save` (or a shipped ``profiles/*.toml``)."""
    return Profile.from_toml(Path(path).read_text(encoding="utf-8"))


def shipped_profiles() -> dict[str, Profile]:
    """The profiles shipped in ``infersweep/profiles/`` (scripts/calibrate_profiles.py), by name."""
    from importlib import resources

    out = {}
    for f in sorted(resources.files("infersweep.profiles").iterdir(), key=lambda p: p.name):
        if f.name.endswith(".toml"):
            p = Profile.from_toml(f.read_text(encoding="utf-8"))
            out[p.name] = p
    return out


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SpecError(f"profile: cannot write {v!r} to TOML")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise SpecError(f"profile: cannot write {v!r} to TOML")


# --- fitting -------------------------------------------------------------------------------------
@dataclass
class _Points:
    ids: list[str]
    sources: list[str]
    groups: list[tuple[str, ...]]
    points: list[ServingPoint]
    log_measured: np.ndarray


def _points(measurements: pl.DataFrame, by: Sequence[str], base: Runtime) -> tuple[_Points, dict[str, str]]:
    """The expressible rows as serving points, and the reason for every other row."""
    need = ["id", "source_id", "measured_step_ms", *by]
    missing = [c for c in need if c not in measurements.columns and c != "gpu_generation"]
    if missing:
        raise SpecError(f"calibrate: measurements lack columns {missing}")
    pts = _Points([], [], [], [], np.zeros(0))
    logs: list[float] = []
    measured_ms: list[float] = []
    reasons: dict[str, str] = {}
    for r in measurements.iter_rows(named=True):
        r = {**r, "gpu_generation": gpu_generation(r.get("gpu_catalog"))}
        try:
            p = serving_point(r)
        except Unexpressible as e:
            reasons[r["id"]] = str(e)
            continue
        pts.ids.append(r["id"])
        pts.sources.append(r["source_id"])
        pts.groups.append(tuple(str(r[c]) for c in by))
        pts.points.append(p)
        logs.append(math.log(r["measured_step_ms"] / 1e3))
        measured_ms.append(float(r["measured_step_ms"]))
    pts.log_measured = np.asarray(logs)
    # Feasibility (memory) does not depend on the fitted parameters: drop what does not fit.
    # So does a load the base runtime saturates (an in-flight row; see SATURATED_RESIDUAL).
    steps = predict_steps(pts.points, base) if pts.points else []
    fits = np.asarray([s["feasible"] and math.isfinite(s["step_s"]) for s in steps], dtype=bool)
    for i in np.flatnonzero(~fits):
        reasons[pts.ids[i]] = ("serving: the measured load saturates the deployment under this semantics"
                               if steps[i]["feasible"] else
                               "serving: the deployment does not fit in memory under this semantics")
    # And a row faster than any runtime can run it (serving_validation.faster_than_light), whose
    # reason comes first as in validate: fitted, it would pull every efficiency towards its bound.
    light = faster_than_light(pts.points, measured_ms)
    for pid, why in zip(pts.ids, light, strict=True):
        if why is not None:
            reasons[pid] = why
    keep = np.flatnonzero(fits & np.asarray([why is None for why in light], dtype=bool))
    pts = _Points([pts.ids[i] for i in keep], [pts.sources[i] for i in keep], [pts.groups[i] for i in keep],
                  [pts.points[i] for i in keep], pts.log_measured[keep])
    return pts, reasons


def _runtime(base: Runtime, params: Sequence[str], u: np.ndarray) -> Runtime:
    return base.with_(**{p: float(math.exp(x)) for p, x in zip(params, u, strict=True)})


#: The residual (log units) of a point whose measured load a trial runtime saturates (an in-flight
#: row with no finite TPOT): a factor-e³ ≈ 20 miss, so the fit moves away from such runtimes while
#: soft-L1 keeps the point's pull bounded. Only trial runtimes meet it: a point the starting runtime
#: saturates is left out of the fit with its reason.
SATURATED_RESIDUAL = 3.0


def log_step(points: Sequence[ServingPoint], runtime: Runtime) -> np.ndarray:
    """log of the predicted decode step (s) of each point (inf where it does not fit)."""
    steps = predict_steps(points, runtime)
    return np.log(np.asarray([s["step_s"] if s["feasible"] else math.inf for s in steps]))


@dataclass(frozen=True)
class _Fit:
    runtime: Runtime
    params: tuple[str, ...]
    cov: np.ndarray
    residual_sd: float
    residuals: np.ndarray
    undetermined: tuple[str, ...]
    at_bound: tuple[str, ...] = ()


#: The prior on each fitted parameter (:func:`calibrate`'s ``prior_sd``): its log is centred on the
#: base runtime's value (``Runtime.default()``: each value sourced, docs/serving.md §R) with this
#: scale, one factor of 2. A group of a few points cannot then drive a parameter the points barely
#: determine to a physical extreme (the 19 Blackwell decode steps of MLPerf and the DeepSeek blogs
#: alone gave a KV-cache bandwidth efficiency of 0.15 and a GEMM efficiency of 1.0); a parameter the
#: points do determine moves as far as they say.
PRIOR_SD = math.log(2.0)

#: The finite-difference step of the Jacobian (log parameter units).
DIFF_STEP = 1e-3

#: Where the fit starts, each in log parameter units: the base runtime's values and the middle of
#: the bounds. The predicted step is only piecewise smooth in the parameters (whole sequences per
#: pipeline stage in the in-flight solver, GEMM tiles, the memory's whole batch), and from one start
#: the trust region can stop where it began (the Hopper group stayed at Runtime.default(), twice the
#: cost of the fit from the middle); the fit with the lower cost is kept.
STARTS = ("base", "middle")

#: The secant step (log parameter units, 5%) of the Jacobian the covariance is computed from.
COV_STEP = 0.05


def _fit(points: Sequence[ServingPoint], log_measured: np.ndarray, params: Sequence[str], base: Runtime,
         f_scale: float, prior_sd: float | None = PRIOR_SD) -> _Fit:
    from scipy.optimize import least_squares

    lo = np.log([PARAMETERS[p].lo for p in params])
    hi = np.log([PARAMETERS[p].hi for p in params])
    def start(p: str) -> float:  # the base runtime's value; its geometric middle where None or 0
        v = getattr(base, p)
        return float(v) if v else math.sqrt(PARAMETERS[p].lo * PARAMETERS[p].hi)

    u0 = np.asarray([math.log(start(p)) for p in params])
    span = hi - lo
    u0 = np.clip(u0, lo + 1e-3 * span, hi - 1e-3 * span)

    def resid(u: np.ndarray, active: Sequence[str]) -> np.ndarray:
        r = log_step(points, _runtime(base, active, u)) - log_measured
        return np.where(np.isfinite(r), r, SATURATED_RESIDUAL)

    # The prior's pseudo-residuals (log(value / base value) / prior_sd) for the parameters the base
    # runtime sets (a None or 0 there has no sourced value to centre on: no prior).
    centre = {p: math.log(float(getattr(base, p))) for p in params if getattr(base, p)}

    def prior(u: np.ndarray, active: Sequence[str]) -> np.ndarray:
        if prior_sd is None:
            return np.zeros(0)
        return np.asarray([(x - centre[p]) / prior_sd for p, x in zip(active, u, strict=True) if p in centre])

    # Parameters the points do not move (e.g. the eager launch cost when every point ran CUDA graphs)
    # stay at the base runtime's value and are reported as undetermined.
    r0 = resid(u0, params)
    keep = []
    for j in range(len(params)):
        du = np.zeros_like(u0)
        du[j] = 0.1
        if np.sqrt(np.mean((resid(u0 + du, params) - r0) ** 2)) > 1e-4:
            keep.append(j)
    active = tuple(params[j] for j in keep)
    undetermined = tuple(p for p in params if p not in active)
    if not active:
        return _Fit(base, (), np.zeros((0, 0)), float(np.std(r0)), r0, undetermined)
    ka = np.asarray(keep)
    n_data = len(r0)
    res = None
    for origin in STARTS:
        x0 = u0[ka] if origin == "base" else (lo[ka] + hi[ka]) / 2
        trial = least_squares(lambda u: np.concatenate([resid(u, active), prior(u, active)]), x0,
                              bounds=(lo[ka], hi[ka]), loss="soft_l1", f_scale=f_scale, diff_step=DIFF_STEP,
                              x_scale=1.0, max_nfev=200 * len(active))
        if res is None or trial.cost < res.cost:
            res = trial
    assert res is not None
    rt = _runtime(base, active, res.x)
    r = res.fun[:n_data]
    # A parameter that ends on a bound is fixed there (an active constraint): no variance.
    on_bound = (res.active_mask != 0) | (res.x - lo[ka] < 1e-3) | (hi[ka] - res.x < 1e-3)
    free = [j for j in range(len(active)) if not on_bound[j]]
    at_bound = tuple(active[j] for j in range(len(active)) if on_bound[j])
    n, k = len(r), len(free)
    z = (r / f_scale) ** 2
    w = 1.0 / np.sqrt(1.0 + z)           # soft_l1's IRLS weight rho'(z)
    s2 = float(np.sum(w * r ** 2) / max(n - k, 1))
    # The points' Jacobian for the covariance: central secants of COV_STEP in each free log
    # parameter (one-sided at a bound), rows weighted by sqrt(w). The optimiser's own Jacobian
    # (a 0.1% step) can catch a jump of the piecewise predicted step and report a spread of 0.01%.
    jac = np.zeros((n, k))
    for c, j in enumerate(free):
        up, down = res.x.copy(), res.x.copy()
        up[j] = min(res.x[j] + COV_STEP, hi[ka][j])
        down[j] = max(res.x[j] - COV_STEP, lo[ka][j])
        jac[:, c] = (resid(up, active) - resid(down, active)) / (up[j] - down[j])
    jac *= np.sqrt(w)[:, None]
    # Information of the points (Gauss-Newton, scaled by the residual variance) plus the prior's
    # nominal 1/prior_sd² per parameter it covers.
    prior_info = [1.0 / prior_sd ** 2 if (prior_sd is not None and active[j] in centre) else 0.0
                  for j in free]
    info = jac.T @ jac / s2 + np.diag(prior_info)
    cov = np.linalg.pinv(info) if free else np.zeros((0, 0))
    return _Fit(rt, tuple(active[j] for j in free), cov, math.sqrt(s2), r, undetermined, at_bound)


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` returns: the profiles, every point's cross-validated prediction, and
    the reason for each row that could not be used."""

    profiles: dict[str, Profile]
    #: A :func:`infersweep.validate`-shaped frame: ``predicted_step_ms`` of each point from the profile
    #: fitted without its source.
    cross_validation: pl.DataFrame | None
    reasons: dict[str, str]


def _stats(log_ratio: np.ndarray) -> tuple[float | None, float | None]:
    if log_ratio.size == 0:
        return None, None
    a = np.abs(log_ratio)
    return 100 * (math.exp(float(np.median(a))) - 1), float(np.mean(a <= math.log(2) + 1e-12))


def _loso_splits(sources: np.ndarray, in_group: np.ndarray, need: int
                 ) -> Iterator[tuple[str, np.ndarray, np.ndarray, bool]]:
    """Leave-one-source-out: for each source s of the group, (s, train, test, fallback) with test =
    the group's points from s and train = the group's other points, or, when fewer than ``need``
    remain, every point of any group not from s (fallback). A source with no such ``need`` points
    is skipped (its points get no cross-validated prediction). Train never holds a point of s."""
    for s in sorted(set(sources[in_group].tolist())):
        train = in_group & (sources != s)
        fallback = bool(train.sum() < need)
        if fallback:
            train = sources != s
        if train.sum() < need:
            continue
        yield s, train, in_group & (sources == s), fallback


def _profile_name(by: Sequence[str], key: tuple[str, ...]) -> str:
    return "-".join(k.lower().replace(" ", "_") for k in key) if by else "all"


def calibrate(measurements: pl.DataFrame | None = None, params: Sequence[str] = DEFAULT_PARAMS,
              by: Sequence[str] = ("framework",), *, runtime: Runtime | None = None, f_scale: float = 0.1,
              min_points: int | None = None, cross_validate: bool = True,
              prior_sd: float | None = PRIOR_SD) -> Calibration:
    """Fit ``params`` of ``runtime`` (default ``Runtime.default()``) to the measured decode steps, one
    profile per value of the ``by`` columns (module docstring).

    ``measurements``: :func:`infersweep.measurements` (default) or a frame with its columns
    (``gpu_generation`` is derived from ``gpu_catalog`` and may be used in ``by``). ``f_scale`` is
    the soft-L1 loss's scale in log units (0.1: residuals beyond ~10% count linearly, not
    quadratically, so one odd point cannot drag a profile). ``prior_sd`` (default
    :data:`PRIOR_SD`, ln 2) is the scale of the prior on each log parameter, centred on
    ``runtime``'s value; None fits the points alone. A group with fewer than ``min_points``
    points (default: number of parameters + 2) gets no profile (its points are still
    cross-validated, by the fallback below). Cross-validation
    (leave-one-source-out) refits each profile without each of its sources and predicts that
    source's points; when too few points remain in the group it fits the same parameters on every
    other source's points of all groups (reported in the frame's ``cv_fallback`` column).
    """
    from .data import measurements as shipped

    df = shipped() if measurements is None else measurements
    base = Runtime.default() if runtime is None else runtime
    if not isinstance(base, Runtime):
        raise SpecError(f"calibrate: field 'runtime' must be an isw.Runtime, got {base!r}")
    params = tuple(params)
    bad = [p for p in params if p not in PARAMETERS]
    if bad or not params:
        raise SpecError(f"calibrate: field 'params' must name some of {list(PARAMETERS)}, got {list(params)}")
    if f_scale <= 0 or not math.isfinite(f_scale):
        raise SpecError(f"calibrate: field 'f_scale' must be a positive number, got {f_scale!r}")
    if prior_sd is not None and not (isinstance(prior_sd, (int, float)) and prior_sd > 0
                                     and math.isfinite(prior_sd)):
        raise SpecError(f"calibrate: field 'prior_sd' must be a positive number or None, got {prior_sd!r}")
    need = len(params) + 2 if min_points is None else int(min_points)
    pts, reasons = _points(df, tuple(by), base)
    ids = np.asarray(pts.ids)
    groups = sorted(set(pts.groups))
    profiles: dict[str, Profile] = {}
    cv_pred = np.full(len(ids), np.nan)
    cv_fallback = np.zeros(len(ids), dtype=bool)
    src = np.asarray(pts.sources)

    def subset(mask: np.ndarray) -> tuple[list[ServingPoint], np.ndarray]:
        return [pts.points[i] for i in np.flatnonzero(mask)], pts.log_measured[mask]

    for key in groups:
        in_group = np.asarray([g == key for g in pts.groups])
        if cross_validate:  # leave one source out (a small group's points: the fallback fit)
            for _, train, test, fallback in _loso_splits(src, in_group, need):
                f = _fit(*subset(train), params, base, f_scale, prior_sd)
                cv_pred[test] = log_step(subset(test)[0], f.runtime)
                cv_fallback[test] = fallback
        if in_group.sum() < need:
            continue
        fit = _fit(*subset(in_group), params, base, f_scale, prior_sd)
        cv_lr = cv_pred[in_group] - pts.log_measured[in_group]
        cv_lr = cv_lr[np.isfinite(cv_lr)]
        fit_med, _ = _stats(fit.residuals)
        cv_med, cv_2x = _stats(cv_lr)
        name = _profile_name(by, key)
        profiles[name] = Profile(
            name=name, runtime=fit.runtime, params=fit.params,
            log_covariance=tuple(tuple(float(x) for x in row) for row in fit.cov),
            residual_sd=fit.residual_sd, group=dict(zip(by, key, strict=True)),
            points=tuple(ids[in_group].tolist()), undetermined=fit.undetermined, at_bound=fit.at_bound,
            fit_median_abs_error_pct=fit_med, cv_median_abs_error_pct=cv_med, cv_within_2x=cv_2x,
            cv_n=int(cv_lr.size))
    frame = None
    if cross_validate:
        frame = _cv_frame(df, dict(zip(pts.ids, (np.exp(cv_pred) * 1e3).tolist(), strict=True)),
                          dict(zip(pts.ids, cv_fallback.tolist(), strict=True)), reasons, base)
    return Calibration(profiles, frame, reasons)


CV_SEMANTICS = "serving calibrated (leave-one-source-out)"


def shipped_cross_validation() -> pl.DataFrame:
    """The shipped profiles' leave-one-source-out predictions of the shipped measurements
    (``profiles/cross_validation.csv``, written with them by scripts/calibrate_profiles.py) as a
    :func:`infersweep.validate` frame: what the README's calibrated error table summarises. Its
    ``cv_profile`` column names the profile level that predicted each point (a framework-and-GPU-
    generation profile where the point's group has one, else the framework's; docs/calibration.md)."""
    from importlib import resources

    from .data import measurements as shipped

    text = resources.files("infersweep.profiles").joinpath("cross_validation.csv").read_text(encoding="utf-8")
    cv = pl.read_csv(text.encode(), schema={"id": pl.String(), "source_id": pl.String(),
                                            "predicted_step_ms": pl.Float64(), "cv_fallback": pl.Boolean(),
                                            "profile": pl.String()})
    out = _cv_frame(shipped(), dict(zip(cv["id"], cv["predicted_step_ms"], strict=True)),
                    dict(zip(cv["id"], cv["cv_fallback"], strict=True)), {}, Runtime.default())
    level = dict(zip(cv["id"], cv["profile"], strict=True))
    return out.with_columns(pl.Series("cv_profile", [level.get(i) for i in out["id"]], dtype=pl.String()))


def _cv_frame(df: pl.DataFrame, pred: dict[str, float], fb: dict[str, bool], reasons: dict[str, str],
              base: Runtime) -> pl.DataFrame:
    """validate(semantics='serving')'s frame with the cross-validated predictions in place."""
    v = validate("serving", runtime=base, measurements=df)
    rows_pred, rows_ok, rows_reason, rows_fb = [], [], [], []
    for i, _ok, reason in zip(v["id"], v["expressible"], v["reason"], strict=True):
        p = pred.get(i)
        good = p is not None and math.isfinite(p)
        rows_pred.append(float(p) if good else None)  # type: ignore[arg-type]
        rows_ok.append(bool(good))
        rows_reason.append(None if good else (reasons.get(i) or reason or "calibrate: no profile fitted "
                                              "without this point's source"))
        rows_fb.append(fb.get(i))
    out = v.with_columns(
        pl.Series("predicted_step_ms", rows_pred, dtype=pl.Float64()),
        pl.Series("expressible", rows_ok, dtype=pl.Boolean()),
        pl.Series("reason", rows_reason, dtype=pl.String()),
        pl.lit(CV_SEMANTICS).alias("semantics"),
    ).with_columns((pl.col("predicted_step_ms") / pl.col("measured_step_ms")).alias("ratio"))
    out = out.with_columns(pl.col("ratio").log().alias("log_ratio"),
                           pl.Series("cv_fallback", rows_fb, dtype=pl.Boolean()))
    assert set(SERVING_INPUTS) <= set(out.columns)
    return out
