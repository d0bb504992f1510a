"""Model scaling, the inverse problem, the frontier fit and the MFU target (docs/model.md §9, §7)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep.errors import GridError, SpecError
from infersweep.scaling import (
    FrontierFit,
    fit_frontier,
    frontier_cost_at,
    infer_model_size,
    mfu_target,
    scale_model,
)
from infersweep.specs import Model

SPEED, COST = "tokens_per_s_per_request", "usd_per_million_tokens"


@pytest.fixture(scope="module")
def llama_front() -> pl.DataFrame:
    """Llama 3 70B on the H100, ℓ = 0, PP on, at the resolution infer_model_size uses."""
    return isw.frontier("Llama-3-70B", "H100", 0, True, resolution=100, semantics="epoch")


# --- scale_model -----------------------------------------------------------------------------------


def test_factor_one_is_the_identity() -> None:
    for name in isw.model_names():
        m = isw.model(name)
        assert scale_model(m, 1.0, name=m.name) == m


@pytest.mark.parametrize("factor", [1 / 2, 1 / 4, 1 / 8, 1 / 16])
def test_paper_gpt4_variants(factor: float) -> None:
    """The paper scales GPT-4 by 1/2 ... 1/16: valid models with about F times the parameters."""
    base = isw.model("GPT-4")
    m = scale_model(base, factor)
    assert isinstance(m, Model)
    w, h = factor ** (1 / 3), factor ** (1 / 6)
    assert m.d_model == pytest.approx(base.d_model * w, rel=1e-15)
    assert m.d_ff == pytest.approx(base.d_ff * w, rel=1e-15)
    assert m.n_layers == int(base.n_layers * factor ** (1 / 3))
    assert m.n_heads == math.ceil(base.n_heads * h)
    assert m.head_dim == pytest.approx(base.head_dim * h, rel=1e-15)
    assert m.group_size == m.n_heads  # MQA stays MQA: one KV group
    assert (m.n_experts, m.n_experts_active, m.vocab_size) == (16, 2, base.vocab_size)
    assert m.total_params / base.total_params == pytest.approx(factor, rel=0.02)
    assert m.name == f"GPT-4 ×{factor:.6g}"
    # The engine takes the fractional widths.
    assert math.isfinite(isw.sweep(m, "H100", n_gpus=64, batch_size=16,
                                   semantics="epoch")["token_latency_s"][0])


@pytest.mark.parametrize("factor", [1 / 64, 0.3, 0.77, 1.5, 3.0, 10.0, 64.0])
def test_kv_groups_are_kept_exactly(factor: float) -> None:
    for name in ("Llama-3-70B", "Mixtral-8x22B", "GPT-3", "Llama-3-405B"):
        base = isw.model(name)
        m = scale_model(base, factor)
        groups = base.n_heads / base.group_size
        assert m.n_heads / m.group_size == groups
        assert m.kv_heads_total == 2 * groups
        # Embeddings scale with d only; the rest as L·d² ∝ F, up to the rounding of L and H and
        # the kept KV heads (GPT-3 is multi-head: at F = 1/64 it keeps 96 KV heads for 48 query
        # heads, 17% more parameters than F times its own).
        body = (m.total_params - m.embedding_params) / (base.total_params - base.embedding_params)
        assert body == pytest.approx(factor, rel=0.2)


def test_depth_exponent() -> None:
    base = isw.model("Llama-3-405B")
    wide = scale_model(base, 4.444, depth_exponent=0)  # the notebook's "GPT-4-sized Llama"
    assert wide.n_layers == base.n_layers
    assert wide.d_model == pytest.approx(base.d_model * 4.444**0.5, rel=1e-15)
    deep = scale_model(base, 8.0, depth_exponent=1)
    assert deep.n_layers == 8 * base.n_layers and deep.d_model == base.d_model
    assert deep.n_heads == base.n_heads


def test_mla_fields_are_kept() -> None:
    """The notebook drops the MLA fields when scaling (a bug not copied)."""
    base = isw.model("DeepSeek-V3-epoch")
    assert base.is_mla
    m = scale_model(base, 0.5)
    assert m.is_mla and m.group_size == 1
    assert (m.mla_kv_rank, m.mla_q_rank) == (base.mla_kv_rank, base.mla_q_rank)
    assert m.kv_bytes_per_token == m.mla_kv_rank * m.n_layers * m.activation_bytes
    assert m.total_params / base.total_params == pytest.approx(0.5, rel=0.05)


def test_group_size_without_an_exact_float() -> None:
    """9 heads in 7 KV groups: no float g gives 9/g == 7 exactly, so a head is added."""
    base = Model(name="h7", d_model=448, d_ff=1792, n_layers=8, n_heads=7, group_size=1, vocab_size=1000)
    factor = 1.25**6  # ceil(7·F^(1/6)) = ceil(8.75) = 9
    m = scale_model(base, factor)
    assert m.n_heads == 10 and m.n_heads / m.group_size == 7


def test_bad_factors() -> None:
    with pytest.raises(SpecError):
        scale_model("Llama-3-70B", 0)
    with pytest.raises(SpecError):
        scale_model("Llama-3-70B", math.inf)
    with pytest.raises(SpecError):
        scale_model("Llama-3-70B", 1e-7)  # int(80·F^(1/3)) = 0 layers
    with pytest.raises(SpecError):
        scale_model("Llama-3-70B", 2.0, depth_exponent=1.5)


# --- frontier_cost_at and infer_model_size ---------------------------------------------------------


def test_frontier_cost_at(llama_front: pl.DataFrame) -> None:
    x, y = llama_front[SPEED].to_numpy(), llama_front[COST].to_numpy()
    for i in (0, 10, llama_front.height // 2, llama_front.height - 1):
        assert frontier_cost_at(llama_front, float(x[i])) == pytest.approx(float(y[i]), rel=1e-12)
    assert frontier_cost_at(llama_front, float(x.max()) * 1.001) == math.inf
    assert frontier_cost_at(llama_front, float(x.min()) / 2) == float(y[np.argmin(x)])
    # Between two points the log-cost is linear in speed.
    order = np.argsort(x)
    a, b = order[50], order[51]
    mid = frontier_cost_at(llama_front, 0.5 * (x[a] + x[b]))
    assert mid == pytest.approx(math.sqrt(y[a] * y[b]), rel=1e-12)


def test_infer_recovers_the_base_model(llama_front: pl.DataFrame) -> None:
    """A frontier point of Llama 3 70B itself gives F ≈ 1 (asymmetric bracket: F = 1 is no midpoint)."""
    i = llama_front.height // 3
    x, y = llama_front[SPEED][i], llama_front[COST][i]
    est = infer_model_size(x, y, "Llama-3-70B", "H100", lo=1 / 50, hi=70, tol=1e-2)
    assert est.factor == pytest.approx(1.0, rel=0.02)
    assert est.total_params == pytest.approx(isw.model("Llama-3-70B").total_params, rel=0.02)
    assert est.active_params == est.model.active_params
    assert frontier_cost_at(est.frontier, x) == pytest.approx(y, rel=0.03)
    assert 5 < est.iterations < 20


def test_infer_moves_the_right_way(llama_front: pl.DataFrame) -> None:
    i = llama_front.height // 3
    x, y = llama_front[SPEED][i], llama_front[COST][i]
    cheaper = infer_model_size(x, y / 2, "Llama-3-70B", tol=1e-2)
    dearer = infer_model_size(x, y * 2, "Llama-3-70B", tol=1e-2)
    assert cheaper.factor < 0.95 and dearer.factor > 1.05
    assert cheaper.total_params < 70e9 < dearer.total_params
    # Faster than the fastest point of the base model: only a smaller model gets there.
    faster = infer_model_size(1.2 * llama_front[SPEED].max(), y, "Llama-3-70B", tol=1e-2)
    assert faster.factor < 1
    assert faster.frontier[SPEED].max() >= 1.2 * llama_front[SPEED].max()


def test_infer_recovers_a_scaled_model() -> None:
    truth = scale_model("Llama-3-70B", 3.0)
    front = isw.frontier(truth, "H100", 0, True, resolution=100, semantics="epoch")
    j = front.height // 2
    est = infer_model_size(front[SPEED][j], front[COST][j], "Llama-3-70B", tol=1e-2)
    assert est.factor == pytest.approx(3.0, rel=0.03)


def test_infer_needs_a_bracket() -> None:
    with pytest.raises(GridError, match="below the frontier"):
        infer_model_size(50.0, 1e-6, "Llama-3-70B", lo=0.5, hi=2)
    with pytest.raises(GridError):
        infer_model_size(-1.0, 1.0, "Llama-3-70B")
    with pytest.raises(GridError):
        infer_model_size(50.0, 1.0, "Llama-3-70B", lo=2, hi=1)


# --- fit_frontier ----------------------------------------------------------------------------------


def test_fit_exact_synthetic() -> None:
    x = np.linspace(1.0, 120.0, 200)
    truth = FrontierFit(A=0.3, beta=1.4, x_m=130.0)
    fit = fit_frontier(x, truth.predict(x))
    a, beta, x_m = fit  # unpacks as (A, beta, x_m)
    assert (a, beta, x_m) == (fit.A, fit.beta, fit.x_m)
    assert a == pytest.approx(0.3, rel=1e-6)
    assert beta == pytest.approx(1.4, rel=1e-6)
    assert x_m == pytest.approx(130.0, rel=1e-6)


@pytest.mark.parametrize(("a", "beta", "x_m", "seed"), [(0.3, 1.4, 130.0, 0), (2.5, 0.6, 80.0, 1),
                                                       (0.05, 3.0, 500.0, 2)])
def test_fit_noisy_synthetic(a: float, beta: float, x_m: float, seed: int) -> None:
    """Log-normal noise (σ = 0.5%) on 300 points: parameters within 1%."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.01, 0.97, 300)) * x_m
    y = FrontierFit(a, beta, x_m).predict(x) * np.exp(rng.normal(0.0, 0.005, x.size))
    a_fit, beta_fit, x_m_fit = fit_frontier(x, y)
    assert a_fit == pytest.approx(a, rel=0.01)
    assert beta_fit == pytest.approx(beta, rel=0.01)
    assert x_m_fit == pytest.approx(x_m, rel=0.01)


def test_fit_real_frontier(llama_front: pl.DataFrame) -> None:
    fit = fit_frontier(llama_front)
    x, y = llama_front[SPEED].to_numpy(), llama_front[COST].to_numpy()
    assert fit.x_m > x.max()
    assert fit == fit_frontier(x, y)
    resid = np.log(y) - np.log(fit.predict(x))
    assert abs(resid.mean()) < 1e-9  # the intercept is free: residuals sum to zero
    assert np.sqrt(np.mean(resid**2)) < 0.3
    # No other x_m nearby does better (the profile is minimised).
    def sse(f: FrontierFit) -> float:
        return float(np.sum((np.log(y) - np.log(f.predict(x))) ** 2))
    assert sse(fit) <= sse(FrontierFit(fit.A, fit.beta, fit.x_m * 1.001))
    assert sse(fit) <= sse(FrontierFit(fit.A, fit.beta, fit.x_m * 0.999))
    assert np.all(np.isinf(fit.predict([fit.x_m, 2 * fit.x_m])))


def test_fit_bad_input() -> None:
    with pytest.raises(GridError):
        fit_frontier([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(GridError):
        fit_frontier([1.0, 2.0, 3.0])
    with pytest.raises(GridError):
        fit_frontier([1.0, 2.0, 3.0], [1.0, 2.0])


# --- mfu_target ------------------------------------------------------------------------------------


def test_mfu_times_cost_is_constant(llama_front: pl.DataFrame) -> None:
    """The property mfu_target relies on: MFU ∝ 1/cost for one model, GPU and context."""
    k = llama_front["mfu"].to_numpy() * llama_front[COST].to_numpy()
    assert np.allclose(k, k[0], rtol=1e-9)


def test_mfu_target(llama_front: pl.DataFrame) -> None:
    targets = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.69]
    rows = [mfu_target("Llama-3-70B", "H100", t, front=llama_front) for t in targets]
    speeds = [r[SPEED][0] for r in rows]
    assert all(s1 >= s2 for s1, s2 in itertools.pairwise(speeds))
    assert speeds[0] > speeds[-1]
    for t, r in zip(targets, rows, strict=True):
        assert r.height == 1 and r["mfu"][0] >= t
        # The fastest such point: every faster frontier point falls short of the target.
        faster = llama_front.filter(pl.col(SPEED) > r[SPEED][0])
        assert faster.height == 0 or faster["mfu"].max() < t
    with pytest.raises(GridError, match="highest"):
        mfu_target("Llama-3-70B", "H100", 0.9, front=llama_front)  # the H100 caps FLOP use at 0.7
    with pytest.raises(GridError):
        mfu_target("Llama-3-70B", "H100", 0.0, front=llama_front)


def test_mfu_target_computes_its_frontier(llama_front: pl.DataFrame) -> None:
    row = mfu_target("Llama-3-70B", "H100", 0.3, resolution=100)
    assert row.equals(mfu_target("Llama-3-70B", "H100", 0.3, front=llama_front))
