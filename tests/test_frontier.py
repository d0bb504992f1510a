"""The frontier against brute force, and pareto_front against a quadratic-time reference."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import reference


def brute_force_frontier(model: str, gpu: str, resolution: int, **kw: object) -> pl.DataFrame:
    """docs/model.md §7 written out with numpy over an isw.sweep of the same grid."""
    m, g = isw.model(model), isw.gpu(gpu)
    ns, bs = reference.frontier_grids(m, g, resolution)
    grid = isw.sweep(m, g, n_gpus=ns, batch_size=bs, **kw,
                     semantics="epoch")  # N-major, like the engine's grid
    t = grid["token_latency_s"].to_numpy()
    n = grid["n_gpus"].to_numpy()
    b = grid["batch_size"].to_numpy()
    cost = n * t / b
    recorded: list[int] = []
    for y in reference.logspace10(0, 2, 1000):
        tau = t.min() * y
        mask = t <= tau
        if not mask.any():
            continue
        c_star = cost[mask].min()
        same = np.flatnonzero(cost == c_star)
        pick = same[np.argmin(t[same])]  # argmin: first on ties
        if not any(t[i] == t[pick] for i in recorded):
            recorded.append(int(pick))
    return grid[recorded]


@pytest.mark.parametrize(("model", "kw"), [
    ("Llama-3-70B", {"use_pp": True}),
    ("Mixtral-8x22B", {"use_pp": False, "context_len": 8000}),
    ("Llama-3-70B", {"use_pp": True, "spec_dec": isw.SpecDec("Llama-3-8B-MQA", 0.8, 5)}),
])
def test_frontier_equals_brute_force(model: str, kw: dict) -> None:
    front = isw.frontier(model, "H100", resolution=40, **kw, semantics="epoch")
    brute = brute_force_frontier(model, "H100", 40, **kw)
    assert front.height == brute.height > 5
    for col in ("n_gpus", "batch_size", "token_latency_s", "usd_per_million_tokens", "mfu", "gamma"):
        assert front[col].to_list() == brute[col].to_list(), col


def test_frontier_points_are_pareto_optimal_in_their_grid() -> None:
    m = isw.model("Llama-3-8B")
    front = isw.frontier(m, "H100", resolution=30, use_pp=False, semantics="epoch")
    ns, bs = reference.frontier_grids(m, isw.gpu("H100"), 30)
    grid = isw.sweep(m, "H100", n_gpus=ns, batch_size=bs, semantics="epoch")
    optimal = isw.pareto_front(grid).select("n_gpus", "batch_size").rows()
    assert set(front.select("n_gpus", "batch_size").rows()) <= set(optimal)


def test_max_throughput_caps_every_point() -> None:
    cap = 2_000.0
    front = isw.frontier("Llama-3-70B", "H100", resolution=40, max_throughput=cap, semantics="epoch")
    per_instance = front["batch_size"] / front["token_latency_s"]
    assert (per_instance <= cap).all()
    assert front.height > 0


def test_preferred_maximises_speed_cubed_over_cost() -> None:
    front = isw.frontier("Llama-3-8B", "H100", resolution=40, semantics="epoch")
    best = isw.preferred(front)
    score = front["tokens_per_s_per_request"] ** 3 / front["usd_per_million_tokens"]
    assert best["tokens_per_s_per_request"][0] == front["tokens_per_s_per_request"][int(score.arg_max())]
    linear = isw.preferred(front, exponent=1)
    assert linear["tokens_per_s_per_request"][0] <= best["tokens_per_s_per_request"][0]


def quadratic_front(speed: list[float], cost: list[float], groups: list[int]) -> list[bool]:
    """Non-dominated rows by definition; exact duplicates keep their first row."""
    keep = []
    for i in range(len(speed)):
        dominated = any(
            groups[j] == groups[i] and speed[j] >= speed[i] and cost[j] <= cost[i]
            and (speed[j] > speed[i] or cost[j] < cost[i] or j < i)
            for j in range(len(speed)) if j != i
        )
        keep.append(not dominated and math.isfinite(cost[i]) and not math.isnan(speed[i]))
    return keep


values = st.one_of(st.integers(0, 6).map(float), st.floats(0, 100, allow_nan=False),
                   st.just(math.inf), st.just(math.nan))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(values, values, st.integers(0, 2)), min_size=0, max_size=40))
def test_pareto_front_equals_quadratic_reference(rows: list[tuple[float, float, int]]) -> None:
    speed, cost, group = ([r[k] for r in rows] for k in range(3))
    df = pl.DataFrame({"speed": speed, "cost": cost, "group": group, "row": list(range(len(rows)))},
                      schema={"speed": pl.Float64, "cost": pl.Float64, "group": pl.Int64, "row": pl.Int64})
    got = isw.pareto_front(df, speed="speed", cost="cost", by="group")["row"].to_list()
    want = [i for i, k in enumerate(quadratic_front(speed, cost, group)) if k]
    assert got == want


def test_pareto_front_groups_by_several_columns() -> None:
    df = isw.sweep(["Llama-3-8B", "Llama-3-70B"], ["H100", "A100"], n_gpus=[1, 2, 4, 8, 16],
                   batch_size=[1, 8, 64, 512], semantics="epoch")
    front = isw.pareto_front(df, by=["model", "gpu"])
    assert set(front.select("model", "gpu").unique().rows()) == set(df.select("model", "gpu").unique().rows())
    for (model, gpu), part in front.group_by(["model", "gpu"]):
        whole = df.filter((pl.col("model") == model) & (pl.col("gpu") == gpu))
        keep = quadratic_front(whole["tokens_per_s_per_request"].to_list(),
                               whole["usd_per_million_tokens"].to_list(), [0] * whole.height)
        assert part.height == sum(keep)


def test_pareto_front_unknown_column() -> None:
    with pytest.raises(isw.GridError, match="no column 'nope'"):
        isw.pareto_front(pl.DataFrame({"a": [1.0]}), speed="nope")


def test_exact_mode_contains_the_paper_points() -> None:
    paper = isw.frontier("Llama-3-70B", "H100", resolution=40, semantics="epoch")
    exact = isw.frontier("Llama-3-70B", "H100", resolution=40, exact=True, semantics="epoch")
    assert exact.height >= paper.height
    points = set(exact.select("n_gpus", "batch_size").rows())
    assert set(paper.select("n_gpus", "batch_size").rows()) <= points
    speed = exact["tokens_per_s_per_request"].to_numpy()
    cost = exact["usd_per_million_tokens"].to_numpy()
    assert np.all(np.diff(speed) < 0) and np.all(np.diff(cost) < 0)
