"""Calibration of serving runtimes (docs/calibration.md): recovery of generated parameters from
simulated measurements, leave-one-source-out hygiene, TOML round trips, and the uncertainty bands'
coverage and determinism."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep.calibration import PARAMETERS, _loso_splits
from infersweep.data import SCHEMA
from infersweep.serving_validation import predict_rows

TRUTH = isw.Runtime.default().with_(step_overhead_s=4e-4, weight_bandwidth_efficiency=0.7,
                                    kv_bandwidth_efficiency=0.45, gemm_efficiency=0.55)
FITTED = ("step_overhead_s", "weight_bandwidth_efficiency", "kv_bandwidth_efficiency", "gemm_efficiency")
FP8 = isw.Precision(attention="fp8", dense_ffn="fp8", experts="fp8", embeddings="fp8")  # row_precision("fp8")


#: The measured step (ms) of a row built only to be predicted: slower than anything, so that the
#: faster-than-light check (serving_validation.faster_than_light) never sets it aside.
UNTIMED_MS = 1e12


def design(seed: int, n: int, decode_only: bool = False) -> list[dict[str, Any]]:
    """Random FP8 static runs of two Llama models on H100s (batch 1-512, ISL 256-8192, OSL 64-512;
    their prefill is what makes the GEMM rate show); ``decode_only``: OSL 0, the pure decode step."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        big = bool(rng.integers(2))
        tp = int(rng.choice([2, 4, 8])) if big else int(rng.choice([1, 2]))
        out.append({"model": "Llama-3.1-70B" if big else "Llama-3.1-8B", "tp": tp,
                    "batch": float(2 ** int(rng.integers(0, 10))), "isl": float(rng.integers(256, 8192)),
                    "osl": 0.0 if decode_only else float(rng.choice([64, 128, 512])),
                    "source": f"src{i % 5}", "id": f"S{seed}-{i}"})
    # keep the points whose cache fits (feasibility does not depend on the fitted parameters)
    preds = predict_rows(list(frame(out, [UNTIMED_MS] * len(out)).iter_rows(named=True)), TRUTH)
    return [p for p, q in zip(out, preds, strict=True) if not isinstance(q, str) and q.feasible]


def frame(points: list[dict[str, Any]], step_ms: list[float]) -> pl.DataFrame:
    """A measurements frame (the shipped dataset's columns) holding the points and their steps."""
    rows = []
    for p, ms in zip(points, step_ms, strict=True):
        r: dict[str, Any] = dict.fromkeys(SCHEMA)
        r.update(schema_version=1, id=p["id"], source_id=p["source"], model=p["model"],
                 model_catalog=p["model"], hardware="H100", gpu_catalog="H100-SXM", framework="synthetic",
                 gpus_per_instance=p["tp"], n_gpus=p["tp"], instances=1, weight_precision="fp8",
                 tp=p["tp"], pp=1, cuda_graphs=True, scenario="static", batching="static", isl=p["isl"],
                 osl=p["osl"], spec_decoding="none", per_user_kind="", decode_batch=p["batch"],
                 measured_step_ms=ms, measured_step_ms_how="measured")
        rows.append(r)
    return pl.DataFrame(rows, schema=SCHEMA)


def simulate(points: list[dict[str, Any]], runtime: isw.Runtime, sigma: float, seed: int) -> pl.DataFrame:
    """Measurements = the serving model under ``runtime`` × log-normal noise of sd ``sigma``."""
    template = frame(points, [UNTIMED_MS] * len(points))
    preds = predict_rows(list(template.iter_rows(named=True)), runtime)
    noise = np.random.default_rng(seed).normal(0.0, sigma, len(points))
    steps = [p.step_s * 1e3 * math.exp(e) for p, e in zip(preds, noise, strict=True)]  # type: ignore[union-attr]
    return frame(points, steps)


@pytest.fixture(scope="module")
def fitted() -> isw.Profile:
    meas = simulate(design(1, 160), TRUTH, 0.05, seed=11)
    cal = isw.calibrate(meas, params=FITTED, by=["framework"], cross_validate=False)
    return cal.profiles["synthetic"]


def test_fit_recovers_generated_parameters_within_its_uncertainty(fitted: isw.Profile) -> None:
    assert fitted.params == FITTED and not fitted.undetermined
    unc = fitted.uncertainty()
    for p in FITTED:
        value, sd = unc[p]
        truth = getattr(TRUTH, p)
        assert 0 < sd < 0.3, (p, sd)
        assert abs(math.log(value / truth)) <= 3 * sd + 1e-3, (p, value, truth, sd)
    assert 0.03 < fitted.residual_sd < 0.08  # the simulated noise was 0.05
    assert len(fitted.points) == len(design(1, 160)) > 90


def test_parameters_stay_within_their_physical_bounds() -> None:
    # measurements 1.6x faster than TRUTH: the weights' bandwidth would need an efficiency above 1
    # (TRUTH's is 0.7, and its overheads, kernels and GEMMs stay), so the fit stops at the bound. The
    # rows faster still than the speed of light are not fitted at all, each with its reason.
    pts = design(2, 40)
    fast = simulate(pts, TRUTH, 0.0, seed=0).with_columns(pl.col("measured_step_ms") / 1.6)
    cal = isw.calibrate(fast, params=("weight_bandwidth_efficiency", "kv_bandwidth_efficiency"),
                        by=[], cross_validate=False)
    prof = cal.profiles["all"]
    light = [i for i, why in cal.reasons.items() if "faster than the speed of light" in why]
    assert len(prof.points) >= 20 and len(prof.points) + len(light) == fast.height
    # three times faster: every row is faster than light, and nothing is left to fit
    faster = isw.calibrate(fast.with_columns(pl.col("measured_step_ms") / 3 * 1.6),
                           params=("weight_bandwidth_efficiency",), by=[], cross_validate=False)
    assert not faster.profiles and len(faster.reasons) == fast.height
    for p in ("weight_bandwidth_efficiency", "kv_bandwidth_efficiency"):
        assert PARAMETERS[p].lo <= getattr(prof.runtime, p) <= PARAMETERS[p].hi
    # the weights' efficiency ends on its bound, fixed there (no variance)
    assert prof.runtime.weight_bandwidth_efficiency == pytest.approx(1.0)
    assert "weight_bandwidth_efficiency" in prof.at_bound and "weight_bandwidth_efficiency" not in prof.params


def test_undetermined_parameter_is_kept_and_reported() -> None:
    # every point runs CUDA graphs: the eager launch cost moves nothing
    meas = simulate(design(3, 30), TRUTH, 0.02, seed=3)
    cal = isw.calibrate(meas, params=("step_overhead_s", "launch_kernel_s"), by=[], cross_validate=False)
    prof = cal.profiles["all"]
    assert prof.undetermined == ("launch_kernel_s",)
    assert prof.params == ("step_overhead_s",)
    assert prof.runtime.launch_kernel_s == isw.Runtime.default().launch_kernel_s


def test_loso_splits_never_train_on_the_held_out_source() -> None:
    src = np.asarray(["a", "a", "b", "c", "c", "c", "d"])
    group = np.asarray([True, True, True, True, True, False, False])
    splits = list(_loso_splits(src, group, need=2))
    assert [s for s, *_ in splits] == ["a", "b", "c"]
    for s, train, test, _ in splits:
        assert not (train & (src == s)).any()
        assert (src[test] == s).all() and test[group & (src == s)].all()
    # too few points left in the group: fall back to every other source, still never s
    s, train, test, fallback = next(x for x in _loso_splits(src, group, need=4) if x[0] == "c")
    assert fallback and not (train & (src == "c")).any() and train.sum() == 4


def test_cross_validated_prediction_ignores_its_own_source() -> None:
    pts = design(4, 40)
    meas = simulate(pts, TRUTH, 0.03, seed=4)
    worse = meas.with_columns(pl.when(pl.col("source_id") == "src0").then(pl.col("measured_step_ms") * 5)
                              .otherwise(pl.col("measured_step_ms")).alias("measured_step_ms"))
    params = ("step_overhead_s", "weight_bandwidth_efficiency")
    a = isw.calibrate(meas, params=params, by=[]).cross_validation
    b = isw.calibrate(worse, params=params, by=[]).cross_validation
    assert a is not None and b is not None
    held = pl.col("source_id") == "src0"
    np.testing.assert_array_equal(a.filter(held)["predicted_step_ms"].to_numpy(),
                                  b.filter(held)["predicted_step_ms"].to_numpy())
    # ... while the other sources' predictions see the corrupted points
    assert not np.allclose(a.filter(~held)["predicted_step_ms"].to_numpy(),
                           b.filter(~held)["predicted_step_ms"].to_numpy())
    assert b.filter(held)["ratio"].median() < 0.3  # type: ignore[operator]


def test_toml_round_trip(fitted: isw.Profile, tmp_path: Any) -> None:
    assert isw.Profile.from_toml(fitted.to_toml()) == fitted
    path = tmp_path / "p.toml"
    fitted.save(path)
    assert isw.load_profile(path) == fitted
    epoch_like = fitted.__class__(**{**fitted.__dict__, "runtime": isw.Runtime.epoch()})
    assert isw.Profile.from_toml(epoch_like.to_toml()).runtime == isw.Runtime.epoch()


def test_validate_takes_a_profile(fitted: isw.Profile) -> None:
    meas = simulate(design(5, 20), TRUTH, 0.0, seed=5)
    a = isw.validate("serving", runtime=fitted, measurements=meas)
    b = isw.validate("serving", runtime=fitted.runtime, measurements=meas)
    assert a.equals(b) and a["expressible"].all()


def test_toml_errors_name_the_field() -> None:
    with pytest.raises(isw.SpecError, match=r"runtime.*unknown keys.*bogus"):
        isw.Profile.from_toml('name="x"\nparams=[]\nlog_covariance=[]\nresidual_sd=0.1\n'
                              '[runtime]\nbogus=1\n')
    with pytest.raises(isw.SpecError, match="missing fields"):
        isw.Profile.from_toml('name="x"\n')


def test_shipped_profiles_load_and_name_their_points() -> None:
    profiles = isw.shipped_profiles()
    assert profiles, "no profile shipped"
    ids = set(isw.measurements()["id"].to_list())
    for p in profiles.values():
        assert p.points and set(p.points) <= ids
        assert p.cv_median_abs_error_pct is not None
        assert p.covariance_matrix().shape == (len(p.params), len(p.params))


def test_shipped_profiles_per_framework_and_gpu_generation() -> None:
    profiles = isw.shipped_profiles()
    m = isw.measurements()
    gen = {r["id"]: (r["framework"], isw.calibration.gpu_generation(r["gpu_catalog"]))
           for r in m.iter_rows(named=True)}
    want = {"tensorrt-llm", "vllm", "tensorrt-llm-hopper", "tensorrt-llm-blackwell", "vllm-cdna3"}
    assert want <= set(profiles)
    for p in profiles.values():
        key = (p.group["framework"], p.group.get("gpu_generation"))
        # a profile is fitted on exactly its group's points: a framework's, or a framework's on one generation
        assert all(gen[i][0] == key[0] and key[1] in (None, gen[i][1]) for i in p.points), p.name
    # the calibrated table's predictions: a generation profile where the point is in one, else its framework's
    cv = isw.calibration.shipped_cross_validation().filter(pl.col("expressible"))
    for r in cv.iter_rows(named=True):
        prof = profiles[r["cv_profile"]]
        assert prof.group["framework"] == r["framework"]
        if "gpu_generation" in prof.group:
            assert r["id"] in prof.points and not r["cv_fallback"]


# --- uncertainty bands -------------------------------------------------------------------------
def band(profile: isw.Profile, pts: list[dict[str, Any]], num_threads: int | None = None) -> pl.DataFrame:
    parts = []
    for model in ("Llama-3.1-8B", "Llama-3.1-70B"):
        sub = [p for p in pts if p["model"] == model]
        parts.append(isw.sweep(model, "H100-SXM", n_gpus=[p["tp"] for p in sub],
                               batch_size=[p["batch"] for p in sub], context_len=[p["isl"] for p in sub],
                               tp=[p["tp"] for p in sub], grid="zip", semantics="serving", precision=FP8,
                               runtime=profile, uncertainty=0.8, num_threads=num_threads)
                     .with_columns(pl.Series("id", [p["id"] for p in sub]),
                                   pl.col("model").cast(pl.String())))
    return pl.concat(parts)


def test_band_covers_about_80_percent_of_simulated_truths(fitted: isw.Profile) -> None:
    pts = design(7, 300, decode_only=True)
    truth = simulate(pts, TRUTH, 0.05, seed=77).select("id", (pl.col("measured_step_ms") / 1e3).alias("t"))
    b = band(fitted, pts).join(truth, on="id")
    inside = ((b["tpot_s_lo"] <= b["t"]) & (b["t"] <= b["tpot_s_hi"])).mean()
    assert 0.72 <= inside <= 0.88, inside  # type: ignore[operator]
    assert (b["tpot_s_lo"] < b["token_latency_s"]).all() and (b["token_latency_s"] < b["tpot_s_hi"]).all()
    # speeds and cost move with the same factor
    np.testing.assert_allclose((b["tokens_per_s_per_gpu_hi"] * b["tpot_s_lo"]).to_numpy(),
                               (b["tokens_per_s_per_gpu"] * b["token_latency_s"]).to_numpy(), rtol=1e-9)
    np.testing.assert_allclose((b["usd_per_million_tokens_hi"] / b["tpot_s_hi"]).to_numpy(),
                               (b["usd_per_million_tokens"] / b["token_latency_s"]).to_numpy(), rtol=1e-9)


def test_band_is_deterministic_across_runs_and_threads(fitted: isw.Profile) -> None:
    pts = design(8, 60, decode_only=True)
    a, b, c = band(fitted, pts), band(fitted, pts), band(fitted, pts, num_threads=1)
    assert a.equals(b) and a.equals(c)


def test_band_widens_with_the_level_and_needs_a_profile(fitted: isw.Profile) -> None:
    kw: dict[str, Any] = {"n_gpus": 8, "batch_size": [1, 64], "context_len": 4096, "tp": 8,
                          "semantics": "serving", "precision": FP8, "runtime": fitted}
    lo80 = isw.sweep("Llama-3.1-70B", "H100-SXM", uncertainty=0.8, **kw)
    lo95 = isw.sweep("Llama-3.1-70B", "H100-SXM", uncertainty=0.95, **kw)
    assert (lo95["tpot_s_hi"] > lo80["tpot_s_hi"]).all() and (lo95["tpot_s_lo"] < lo80["tpot_s_lo"]).all()
    plain = isw.sweep("Llama-3.1-70B", "H100-SXM", **kw)  # a profile alone runs its runtime, no band
    assert "tpot_s_lo" not in plain.columns
    np.testing.assert_array_equal(plain["token_latency_s"].to_numpy(), lo80["token_latency_s"].to_numpy())
    with pytest.raises(isw.GridError, match="uncertainty"):
        isw.sweep("Llama-3.1-70B", "H100-SXM", uncertainty=0.8, **{**kw, "runtime": isw.Runtime.default()})
    with pytest.raises(isw.GridError, match="uncertainty"):
        isw.sweep("Llama-3.1-70B", "H100-SXM", uncertainty=1.5, **kw)
    with pytest.raises(isw.GridError, match="uncertainty"):
        isw.sweep("Llama-3.1-70B", "H100-SXM", uncertainty=0.8, semantics="epoch")


def test_shipped_profiles_are_what_the_script_fits() -> None:
    # python/infersweep/profiles/ is scripts/calibrate_profiles.py's output for the shipped data
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "calibrate_profiles.py"
    spec = importlib.util.spec_from_file_location("calibrate_profiles", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = {name: isw.Profile.from_toml(text) for name, text in script.render().items()
             if name.endswith(".toml")}
    shipped = isw.shipped_profiles()
    assert set(fresh) == {f"{n}.toml" for n in shipped}
    for name, p in shipped.items():
        f = fresh[f"{name}.toml"]
        assert f.points == p.points and f.params == p.params and f.at_bound == p.at_bound
        for k in (*p.params, *p.at_bound):
            assert getattr(f.runtime, k) == pytest.approx(getattr(p.runtime, k), rel=1e-4), k


def test_the_prior_keeps_a_barely_determined_parameter_near_its_sourced_value() -> None:
    # short contexts (ISL 128) at batch 1..8: the KV cache is a sliver of each step's bytes, so the
    # points barely see kv_bandwidth_efficiency (truth 0.45). With the prior (ln 2 around
    # Runtime.default()'s 0.6) it stays near 0.6 with about the prior's spread; fitted on the points
    # alone it wanders (to 0.17 here). The weights' efficiency, which the points determine, is
    # recovered within a few % either way (it absorbs what the KV estimate misses).
    pts = [{**p, "isl": 128.0, "batch": float(2 ** (i % 4))}
           for i, p in enumerate(design(5, 40, decode_only=True))]
    meas = simulate(pts, TRUTH, 0.02, seed=5)
    params = ("weight_bandwidth_efficiency", "kv_bandwidth_efficiency")
    sd0 = isw.calibration.PRIOR_SD
    prof = isw.calibrate(meas, params=params, by=[], cross_validate=False).profiles["all"]
    kv, kv_sd = prof.uncertainty()["kv_bandwidth_efficiency"]
    assert abs(math.log(kv / isw.Runtime.default().kv_bandwidth_efficiency)) < 0.2 * sd0
    assert 0.7 * sd0 < kv_sd <= 1.01 * sd0
    w, w_sd = prof.uncertainty()["weight_bandwidth_efficiency"]
    assert abs(math.log(w / TRUTH.weight_bandwidth_efficiency)) < 0.1 and w_sd < 0.05
    alone = isw.calibrate(meas, params=params, by=[], cross_validate=False, prior_sd=None).profiles["all"]
    assert abs(math.log(alone.runtime.kv_bandwidth_efficiency / 0.6)) > 3 * abs(math.log(kv / 0.6))
    with pytest.raises(isw.SpecError, match="prior_sd"):
        isw.calibrate(meas, params=params, by=[], cross_validate=False, prior_sd=0.0)


def test_fit_recovers_a_collective_latency_scale() -> None:
    # Small decode batches at TP 1-8: the all-reduces' latency (2 per layer, growing with the
    # ranks) is a visible share of each step, and zero at TP 1, so it separates from the fixed
    # step overhead. Truth: NCCL's latencies × 2.5, which the fit recovers within its spread.
    truth = TRUTH.with_(collective_latency_scale=2.5)
    pts = [{**p, "batch": float(2 ** (i % 5))} for i, p in enumerate(design(7, 80, decode_only=True))]
    meas = simulate(pts, truth, 0.03, seed=7)
    params = ("step_overhead_s", "collective_latency_scale", "weight_bandwidth_efficiency")
    prof = isw.calibrate(meas, params=params, by=[], cross_validate=False).profiles["all"]
    value, sd = prof.uncertainty()["collective_latency_scale"]
    assert 0 < sd < 0.2, sd
    assert abs(math.log(value / 2.5)) <= 3 * sd + 1e-3, (value, sd)
    # the base scale (1) would be 3 spreads or more away: the points, not the prior, moved it
    assert abs(math.log(value)) > 3 * sd
