"""Fuzzing every public entry point: a clear error, or a result that satisfies the invariants.

Each test draws arguments that are mostly valid, sometimes at the edges of the accepted
ranges (README, "Accepted ranges") and sometimes junk (NaN, infinities, 10**400, strings,
bools, nested lists, complex numbers, dates), and calls an entry point. The only acceptable
outcomes are an ``InfersweepError`` (``SpecError``, ``GridError``, ``CatalogError``,
``ConfigError``) with a message, or a result satisfying the documented invariants:

- a feasible row has a finite, positive latency, speed and cost, components ≥ 0, a
  pipeline degree ≥ 1 and 0 < mfu ≤ 1;
- an infeasible row has an infinite latency, cost and GPU-seconds per token, zero speeds and
  mfu, and NaN components and layout degrees.

Anything else (a ``TypeError``, an ``OverflowError``, a panic, a ``RecursionError``) fails the
test. Examples are few and grids tiny, so the whole file runs in well under a minute on a
loaded two-core machine.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep.errors import InfersweepError
from infersweep.specs import FIELD_RANGES

SETTINGS: dict[str, Any] = {
    "deadline": None, "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
T = TypeVar("T")

COMPONENTS = ["kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s"]
LAYOUT = ["pp_degree", "ep_degree", "tp_ffn", "tp_attention", "attention_scaledown"]
POSITIVE = ["token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
            "tokens_per_s_per_gpu"]


def outcome(fn: Callable[[], T]) -> T | None:
    """fn()'s result, or None when it raised one of the library's errors (with a message)."""
    try:
        result = fn()
    except InfersweepError as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        event(f"refused: {type(e).__name__}")
        return None
    event("accepted")
    return result


# ----------------------------------------------------------------------------- values


def _deep(depth: int) -> Any:
    value: Any = 1.0
    for _ in range(depth):
        value = [value]
    return value


#: Values no numeric field should accept.
JUNK = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-300, 1e300, 10**400, -(10**400),
                        "8", "", True, None, [8.0], [[8.0]], {"a": 1}, 8 + 1j, np.datetime64("2020-01-01"),
                        _deep(5_000), object()])


def or_junk(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values, at times junk."""
    return st.one_of(valid, valid, valid, JUNK)


def in_range(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Values of an accepted range: its ends, and log-uniform inside."""
    low = max(lo, 1e-6) if lo == 0 else lo
    inner = st.floats(math.log(low), math.log(hi)).map(lambda x: min(max(math.exp(x), lo), hi))
    return st.one_of(st.sampled_from([lo, hi]), inner)


def field(kind: str, name: str) -> st.SearchStrategy[float]:
    """Values in the field's accepted range."""
    return in_range(*FIELD_RANGES[kind][name])


def spoil(draw: st.DrawFn, values: dict[str, Any], chance: float = 0.4) -> dict[str, Any]:
    """Sometimes one value replaced by junk: most examples stay valid, so results get checked."""
    if values and draw(st.floats(0, 1)) < chance:
        key = draw(st.sampled_from(sorted(values)))
        values[key] = draw(JUNK)
    return values


# ----------------------------------------------------------------------------- invariants


def check_rows(df: pl.DataFrame) -> None:
    """The documented invariants of every row of a sweep (README, "Use")."""
    if df.height == 0:
        return
    feasible = df.filter(pl.col("feasible"))
    infeasible = df.filter(~pl.col("feasible"))
    for c in POSITIVE:
        ok = pl.col(c).is_finite() & (pl.col(c) > 0)
        assert feasible.select(ok.all()).item() is not False, (c, feasible.filter(~ok))
    mfu = (pl.col("mfu") > 0) & (pl.col("mfu") <= 1)
    assert feasible.select(mfu.all()).item() is not False, feasible.filter(~mfu)
    for c in COMPONENTS:
        ok = pl.col(c).is_finite() & (pl.col(c) >= 0)
        assert feasible.select(ok.all()).item() is not False, (c, feasible.filter(~ok))
    assert feasible.select((pl.col("pp_degree") >= 1).all()).item() is not False
    for c in ("token_latency_s", "usd_per_million_tokens", "gpu_seconds_per_token"):
        assert np.all(infeasible[c].to_numpy() == math.inf), c
    for c in ("tokens_per_s_per_request", "tokens_per_s_per_gpu", "mfu"):
        assert np.all(infeasible[c].to_numpy() == 0.0), c
    for c in COMPONENTS + LAYOUT:
        assert np.all(np.isnan(infeasible[c].to_numpy())), c


# ----------------------------------------------------------------------------- specs


@st.composite
def model_fields(draw: st.DrawFn) -> dict[str, Any]:
    f: dict[str, Any] = {name: draw(field("model", name)) for name in
                         ("d_model", "d_ff", "n_layers", "vocab_size", "activation_bytes")}
    f["weight_bytes"] = draw(st.one_of(st.sampled_from([0.5, 1.0, 2.0]), field("model", "weight_bytes")))
    heads = draw(st.one_of(st.integers(1, 256).map(float), field("model", "n_heads")))
    f["n_heads"] = heads
    f["group_size"] = draw(st.one_of(st.just(heads / draw(st.sampled_from([1, 2, 4, 8]))),
                                     field("model", "group_size")))
    if draw(st.booleans()):
        f["head_dim"] = draw(field("model", "head_dim"))
    if draw(st.booleans()):
        e = draw(field("model", "n_experts"))
        f["n_experts"] = e
        f["n_experts_active"] = draw(st.one_of(st.just(e), field("model", "n_experts_active")))
    f["compute_bits"] = draw(st.sampled_from([None, None, None, 4, 8, 16, 12]))
    if draw(st.integers(0, 5)) == 0:
        f["ffn_up_matrices"] = draw(st.sampled_from([1, 2, 3, 64, 0, 65, 2.0]))
    if draw(st.integers(0, 4)) == 0:
        f["group_size"] = 1.0
        f["mla_kv_rank"] = draw(field("model", "mla_kv_rank"))
        f["mla_q_rank"] = draw(field("model", "mla_q_rank"))
    if draw(st.integers(0, 4)) == 0:
        f["kv_bytes"] = draw(field("model", "kv_bytes"))
    if draw(st.integers(0, 3)) == 0:  # layer groups (the model's d_ff, E, k follow from them)
        groups = []
        for _ in range(draw(st.integers(1, 3))):
            g: dict[str, Any] = {name: draw(field("layer_group", name))
                                 for name in ("n_layers", "d_ff", "n_shared_experts")}
            if draw(st.booleans()):
                g["window"] = draw(field("layer_group", "window"))
            if draw(st.booleans()):
                g["n_experts"] = draw(field("layer_group", "n_experts"))
                g["n_experts_active"] = min(g["n_experts"], draw(field("layer_group", "n_experts_active")))
            groups.append(spoil(draw, g, 0.1))
        f["layer_groups"] = groups
    return spoil(draw, f)


@st.composite
def gpu_fields(draw: st.DrawFn, chance: float = 0.4) -> dict[str, Any]:
    f: dict[str, Any] = {name: draw(field("gpu", name)) for name in FIELD_RANGES["gpu"]
                         if name != "flops_by_bits"}
    keys = draw(st.sampled_from([(4, 8, 16), (4, 8, 16), (8, 16), (16,), (8, 12), ("x",), (8.0, 16.0)]))
    f["flops_by_bits"] = {k: draw(field("gpu", "flops_by_bits")) for k in keys}
    for name in ("intra_node_bandwidth", "inter_node_bandwidth"):
        if draw(st.integers(0, 5)) == 0:
            f[name] = math.inf
    f["collectives"] = draw(st.sampled_from(["nccl", "torus", "nccl", "torus", "ring"]))
    return spoil(draw, f, chance)


def build(kind: Callable[..., T], fields: dict[str, Any], name: str) -> T | None:
    groups = fields.pop("layer_groups", None)
    spec = outcome(lambda: kind(name=name, **fields))
    if spec is not None and groups is not None:  # a model's groups set its d_ff, E and k
        return outcome(lambda: spec.with_layer_groups(groups))  # type: ignore[attr-defined, no-any-return]
    return spec


@st.composite
def axes(draw: st.DrawFn, rows: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("n_gpus", "batch_size", "context_len", "seq_len"):
        lo, hi = FIELD_RANGES["grid"][name]
        values = st.one_of(in_range(lo, hi), st.integers(max(1, int(lo)), 4096).map(float))
        out[name] = draw(st.lists(values, min_size=1, max_size=rows))
    out["use_pp"] = draw(st.sampled_from([False, True, [False, True]]))
    if draw(st.floats(0, 1)) < 0.3:  # one junk value in one axis
        name = draw(st.sampled_from(sorted(out)))
        out[name] = draw(st.one_of(JUNK, st.lists(JUNK, min_size=1, max_size=2)))
    return out


@settings(max_examples=60, **SETTINGS)
@given(fields=model_fields(), gpu_spec=gpu_fields(chance=0.0), grid=axes())
def test_model_spec_then_sweep(fields: dict[str, Any], gpu_spec: dict[str, Any],
                               grid: dict[str, Any]) -> None:
    m = build(isw.Model, fields, "m")
    g = build(isw.Gpu, gpu_spec, "g")
    if m is None or g is None:
        return
    assert m.total_params > 0 and math.isfinite(m.total_params)
    df = outcome(lambda: isw.sweep(m, g, **grid, semantics="epoch"))
    if df is not None:
        check_rows(df)


@settings(max_examples=60, **SETTINGS)
@given(gpu_spec=gpu_fields(), grid=axes(),
       name=st.sampled_from(["Llama-3-8B", "DeepSeek-V3", "Mixtral-8x22B"]))
def test_gpu_spec_then_sweep(gpu_spec: dict[str, Any], grid: dict[str, Any], name: str) -> None:
    g = build(isw.Gpu, gpu_spec, "g")
    if g is None:
        return
    df = outcome(lambda: isw.sweep(name, g, **grid, semantics="epoch"))
    if df is not None:
        check_rows(df)


@settings(max_examples=40, **SETTINGS)
@given(grid=axes(rows=4),
       columns=st.sampled_from([None, None, None, "mfu", ["mfu", "feasible"], [], ["nope"], 5]),
       kw=st.fixed_dictionaries({}, optional={
           "grid": st.sampled_from(["product", "zip", "product", "zip", "cartesian"]),
           "num_threads": st.sampled_from([None, 1, 2, None, 1, 2, 0, 5000, 10**30, 2.0]),
           "chunk_rows": st.sampled_from([None, 1, 2, None, 1, 2, 0, -5, "3"]),
           "max_rows": st.sampled_from([None, 10**6, None, 10**6, 1, "10"]),
           "spec_dec": st.sampled_from([None, isw.SpecDec("Llama-3-8B", 0.5, 3), None, "x"]),
       }))
def test_sweep_arguments(grid: dict[str, Any], columns: Any, kw: dict[str, Any]) -> None:
    df = outcome(lambda: isw.sweep("Llama-3-70B", "H100", columns=columns, **grid, **kw, semantics="epoch"))
    if df is not None and columns is None:
        check_rows(df)


# ----------------------------------------------------------------------------- frontiers


@settings(max_examples=25, **SETTINGS)
@given(kw=st.fixed_dictionaries({}, optional={
    "resolution": st.one_of(st.integers(2, 8), st.integers(2, 8), st.sampled_from([1, -1, 2**40, 10.0, "4"])),
    "n_targets": st.one_of(st.integers(2, 60), st.integers(2, 60), st.sampled_from([1, -1, 2**62, 10**10])),
    "context_len": or_junk(st.sampled_from([0, 1000, 1e6, 1e12])),
    "max_throughput": or_junk(st.sampled_from([math.inf, 1e3, 10.0])),
    "use_pp": st.sampled_from([True, False, True, False, "yes"]),
    "exact": st.sampled_from([False, True, False, True, 1]),
    "num_threads": st.sampled_from([None, 1, 3, None, 1, 3, 0, 50_000]),
}), name=st.sampled_from(["Llama-3-8B", "Llama-3-70B", "Mixtral-8x7B"]))
def test_frontier(kw: dict[str, Any], name: str) -> None:
    kw.setdefault("resolution", 6)  # tiny grids: at most 8 × 8 points
    front = outcome(lambda: isw.frontier(name, "H100", **kw, semantics="epoch"))
    if front is None:
        return
    check_rows(front)
    assert front["feasible"].all()
    best = outcome(lambda: isw.preferred(front))
    assert (best is None) == (front.height == 0)
    if best is not None:
        assert best["usd_per_million_tokens"][0] < math.inf


COSTS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from([-math.inf, math.inf, math.nan]))


@settings(max_examples=60, **SETTINGS)
@given(rows=st.lists(st.tuples(COSTS, COSTS, st.integers(0, 2)), max_size=30),
       by=st.sampled_from([None, "g", ["g"], [], 5, "nope"]))
def test_pareto_front_and_preferred(rows: list[tuple[float, float, int]], by: Any) -> None:
    df = pl.DataFrame({"tokens_per_s_per_request": [r[0] for r in rows],
                       "usd_per_million_tokens": [r[1] for r in rows], "g": [r[2] for r in rows]},
                      schema={"tokens_per_s_per_request": pl.Float64, "usd_per_million_tokens": pl.Float64,
                              "g": pl.Int64})
    front = outcome(lambda: isw.pareto_front(df, by=by))
    if front is not None:
        cost = front["usd_per_million_tokens"].to_numpy()
        assert np.all(np.isfinite(cost))
        assert not np.any(np.isnan(front["tokens_per_s_per_request"].to_numpy()))
        pts = list(zip(front["tokens_per_s_per_request"], cost, front["g"], strict=True))
        for s, c, g in pts:  # nothing on the front is strictly dominated within its group
            grouped = by not in (None, [])
            assert not any((not grouped or g2 == g) and s2 >= s and c2 <= c and (s2 > s or c2 < c)
                           for s2, c2, g2 in pts)
    best = outcome(lambda: isw.preferred(df))
    if best is not None:
        s, c = best["tokens_per_s_per_request"][0], best["usd_per_million_tokens"][0]
        assert 0 < s < math.inf and 0 < c < math.inf


# ----------------------------------------------------------------------------- Hugging Face configs

HF = Path(__file__).parent / "data" / "hf"
HF_CONFIGS = sorted(p.stem for p in HF.glob("*.json"))
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                       lambda children: st.one_of(st.lists(children, max_size=4),
                                                  st.dictionaries(st.text(max_size=8), children, max_size=4)),
                       max_leaves=12)


@settings(max_examples=80, **SETTINGS)
@given(name=st.sampled_from(HF_CONFIGS), data=st.data(), approximate=st.booleans())
def test_from_hf_config_with_mutated_keys(name: str, data: st.DataObject, approximate: bool) -> None:
    import json

    cfg = json.loads((HF / f"{name}.json").read_text())
    target = cfg.get("text_config", cfg) if isinstance(cfg.get("text_config"), dict) else cfg
    keys = sorted(target)
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3), "keys"):
        target[key] = data.draw(st.one_of(JSONISH, JUNK, st.integers(-(2**70), 2**70)), key)
    m = outcome(lambda: isw.Model.from_hf_config(cfg, approximate=approximate))
    if m is not None:
        assert isinstance(m, isw.Model) and math.isfinite(m.total_params) and m.total_params > 0


@settings(max_examples=60, **SETTINGS)
@given(cfg=st.dictionaries(st.sampled_from(["model_type", "hidden_size", "num_hidden_layers",
                                            "num_attention_heads", "vocab_size", "intermediate_size",
                                            "num_key_value_heads", "layer_types", "text_config",
                                            "mlp_only_layers", "sliding_window"]),
                           st.one_of(JSONISH,
                                     st.sampled_from(["llama", "qwen3_moe", "gemma3", "deepseek_v3"])),
                           max_size=11))
def test_from_hf_config_on_random_dicts(cfg: dict[str, Any]) -> None:
    m = outcome(lambda: isw.Model.from_hf_config(cfg))
    if m is not None:
        assert math.isfinite(m.total_params) and m.total_params > 0


# ----------------------------------------------------------------------------- toy model and scaling

MODELS = st.sampled_from(["Llama-3-8B", "Llama-3-70B", "DeepSeek-V3", "GPT-3", "Llama-3-8B", "nope"])
GPUS = st.sampled_from(["H100", "V100", "H100", "nope"])
NUMBERS = or_junk(st.one_of(st.floats(1e-6, 1e12), st.integers(1, 10**6),
                            st.lists(st.floats(1e-6, 1e6), max_size=3)))


@settings(max_examples=60, **SETTINGS)
@given(model=MODELS, gpu=GPUS, n=NUMBERS, b=NUMBERS, ctx=st.one_of(st.just(0), NUMBERS))
def test_toy_latency(model: str, gpu: str, n: Any, b: Any, ctx: Any) -> None:
    t = outcome(lambda: isw.toy_latency(model, gpu, n, b, ctx))
    if t is not None:
        arr = np.asarray(t)
        assert np.all((arr == math.inf) | (np.isfinite(arr) & (arr > 0)))


@settings(max_examples=60, **SETTINGS)
@given(model=MODELS, gpu=GPUS, t_hop=or_junk(st.floats(1e-12, 1)),
       n_reduce=or_junk(st.one_of(st.none(), st.floats(1e-3, 1e3))),
       bandwidth=st.sampled_from(["raw", "effective", "peak", 5]))
def test_toy_closed_forms(model: str, gpu: str, t_hop: Any, n_reduce: Any, bandwidth: Any) -> None:
    b = outcome(lambda: isw.toy_critical_batch(model, gpu))
    if b is not None:
        assert 0 < b < math.inf
    for fn in (isw.toy_min_latency, isw.toy_optimal_gpus):
        x = outcome(lambda fn=fn: fn(model, gpu, t_hop, n_reduce, bandwidth=bandwidth))  # type: ignore[misc]
        if x is not None:
            assert 0 < x < math.inf


@settings(max_examples=60, **SETTINGS)
@given(model=MODELS, factor=or_junk(st.one_of(st.floats(1e-3, 1e3), st.floats(1e-6, 1e6), st.just(7e84))),
       depth=or_junk(st.floats(0, 1)))
def test_scale_model(model: str, factor: Any, depth: Any) -> None:
    m = outcome(lambda: isw.scale_model(model, factor, depth))
    if m is not None:
        assert isinstance(m, isw.Model) and 0 < m.total_params < math.inf


@settings(max_examples=6, **SETTINGS)
@given(scale=st.floats(0.5, 3), pick=st.floats(0, 1),
       kw=st.fixed_dictionaries({}, optional={"tol": or_junk(st.floats(1e-12, 0.5)),
                                              "lo": st.sampled_from([1 / 64, 0.1, 0.0, -1.0, "x"]),
                                              "hi": st.sampled_from([64.0, 10.0, 1e300, math.inf])}))
def test_infer_model_size(scale: float, pick: float, kw: dict[str, Any]) -> None:
    base = isw.model("Llama-3-8B")
    front = isw.frontier(isw.scale_model(base, scale), "H100", resolution=4, semantics="epoch")
    row = front.row(int(pick * (front.height - 1)), named=True)
    est = outcome(lambda: isw.infer_model_size(row["tokens_per_s_per_request"], row["usd_per_million_tokens"],
                                               base, resolution=4, **kw))
    if est is not None:
        assert 0 < est.factor < math.inf and est.iterations < 100


FLOATS = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=60, **SETTINGS)
@given(data=st.data(), n=st.integers(0, 12), grid_points=st.sampled_from([400, 3, 10, 400, 2, 10**9]))
def test_fit_frontier(data: st.DataObject, n: int, grid_points: int) -> None:
    values = st.one_of(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), FLOATS)
    x = data.draw(or_junk(st.lists(values, min_size=n, max_size=n)), "speeds")
    y = data.draw(or_junk(st.lists(values, min_size=n, max_size=n)), "costs")
    fit = outcome(lambda: isw.fit_frontier(x, y, grid_points=grid_points, golden_steps=10))
    if fit is not None:
        kept = [a for a, b in zip(x, y, strict=True)
                if math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0]
        assert fit.x_m > max(kept) and math.isfinite(fit.beta) and 0 < fit.A < math.inf


@pytest.fixture(scope="module")
def llama_front() -> pl.DataFrame:
    return isw.frontier("Llama-3-8B", "H100", resolution=8, semantics="epoch")


@settings(max_examples=30, **SETTINGS)
@given(target=or_junk(st.floats(0, 1.5)))
def test_mfu_target(llama_front: pl.DataFrame, target: Any) -> None:
    row = outcome(lambda: isw.mfu_target("Llama-3-8B", "H100", target, front=llama_front))
    if row is not None:
        assert row.height == 1 and row["mfu"][0] >= target


@settings(max_examples=12, **SETTINGS)
@given(grid=axes(rows=2), columns=st.sampled_from([None, ["mfu", "feasible"], "mfu", None, []]),
       chunk_rows=st.sampled_from([1, 3, 1000]))
def test_sweep_to_parquet_small(grid: dict[str, Any], columns: Any, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parts = outcome(lambda: isw.sweep_to_parquet("Llama-3-8B", "H100", path=Path(tmp) / "ds",
                                                     columns=columns, chunk_rows=chunk_rows, progress=False,
                                                     **grid, semantics="epoch"))
        if parts is None:
            return
        got = pl.read_parquet(parts) if parts else pl.DataFrame()
        want = isw.sweep("Llama-3-8B", "H100", columns=columns, **grid, semantics="epoch")
        assert got.select(pl.all().cast(pl.String)).equals(want.select(pl.all().cast(pl.String)))
        if columns is None:
            check_rows(got)
