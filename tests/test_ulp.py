"""Results that do not depend on the last ulp (docs/model.md, "The rounding rule").

A ±1-ulp change of any input changes no output by more than 1e-9 relative, except at the
model's own thresholds (capacity, P ≤ min(N, b), one rank versus more, the switch to expert
parallelism), which the property below stays away from. Each regression test below failed
before the rule: the PP list then ended at 2^log2(min(b, L)), one ulp above b for about a
third of batch sizes; the f_at list at 2^log2(T); node counts were ceil(t/node) of t one ulp
above a multiple; and with b < 1 the PP list went below 1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import infersweep as isw
from infersweep import _core, reference
from infersweep.sweep import gpu_dict

REL = 1e-9
H100 = isw.gpu("H100")

# Outputs that are functions of the latency: continuous wherever the latency is.
VALUE_COLUMNS = ("token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens",
                 "gpu_seconds_per_token", "tokens_per_s_per_gpu", "mfu")
# Components of the winning layout: continuous while the same layout wins (at an exact tie of
# two layouts the winner, hence its components, may change; the latency does not). Times are
# compared to 1e-9 of the pass time: a part such as NCCL's (R − 1)·28 µs at R = 1 + 1e-7 is a
# difference of nearly equal numbers, whose own relative error is far above 1e-9.
TIME_COLUMNS = ("kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s")
DEGREE_COLUMNS = ("ep_degree", "tp_ffn", "tp_attention")


def close(x: float, y: float, rel: float = REL) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= rel * max(abs(x), abs(y)) + 1e-300


def up(x: float) -> float:
    return math.nextafter(x, math.inf)


def down(x: float) -> float:
    return math.nextafter(x, -math.inf)


# ----------------------------------------------------------------------------- the property


def near_threshold(m: isw.Model, n: float, b: float, ctx: float, s_pos: float, use_pp: bool) -> bool:
    """Whether (N, b, ℓ, S) lies within 1e-9 relative of a threshold of the model itself
    (docs/model.md, "What remains discontinuous"), where one ulp may legitimately flip a result."""
    def near(x: float, y: float) -> bool:
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y))

    if near(b, 1.0):  # b < 1 has no layout (P >= 1 > b)
        return True
    need_weights = m.weight_bytes * m.total_params
    kv = m.kv_bytes_for_context(ctx)
    for p in reference.pp_degrees(b, m.n_layers, use_pp):
        if near(n * H100.hbm_bytes, kv * (b / p) + need_weights):  # capacity
            return True
        if near(p, n):  # P <= N, and T = N/P = 1: one rank versus more
            return True
        if m.n_experts > 1:
            t = n / p
            if near(b / p, 2 * m.sparsity) or near(t, m.n_experts):  # EP switch; T_ff = T/E = 1
                return True
    return False


MODELS = ("Llama-3-70B", "Llama-3-8B", "Mixtral-8x22B")


@st.composite
def points(draw: st.DrawFn) -> tuple[str, float, float, float, float, bool]:
    def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
        return st.floats(math.log(lo), math.log(hi)).map(math.exp)

    model = draw(st.sampled_from(MODELS))
    # Whole multiples of the node size and powers of two are where ceil(t/node) used to flip.
    n = draw(st.one_of(log_uniform(0.5, 4096.0),
                       st.sampled_from([2.0, 8.0, 16.0, 24.0, 64.0, 1000.0, 1024.0]),
                       st.integers(1, 512).map(lambda k: 8.0 * k)))
    b = draw(st.one_of(log_uniform(0.5, 4096.0), st.sampled_from([2.0, 12.2018, 64.0, 80.0, 100.0])))
    ctx = draw(st.one_of(st.just(0.0), log_uniform(1.0, 200_000.0), st.sampled_from([1000.0, 8192.0])))
    s_pos = draw(st.one_of(st.just(1.0), log_uniform(1.0, 64.0), st.sampled_from([2.0, 5.0])))
    return model, n, b, ctx, s_pos, draw(st.booleans())


@given(points())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_one_ulp_changes_no_output(pt: tuple[str, float, float, float, float, bool]) -> None:
    name, n, b, ctx, s_pos, use_pp = pt
    m = isw.model(name)
    if near_threshold(m, n, b, ctx, s_pos, use_pp):
        return
    base = (n, b, ctx, s_pos)
    rows = [base]
    for i, x in enumerate(base):
        for y in (up(x), down(x)):
            if (i == 2 and y < 0) or (i == 3 and y < 1):  # ℓ >= 0, S >= 1
                continue
            rows.append(tuple(y if j == i else v for j, v in enumerate(base)))  # type: ignore[arg-type]
    ns, bs, ctxs, ss = (list(c) for c in zip(*rows, strict=True))
    df = isw.sweep(m, "H100", n_gpus=ns, batch_size=bs, context_len=ctxs, seq_len=ss, use_pp=use_pp,
                   grid="zip", semantics="epoch")
    ref = df.row(0, named=True)
    for k in range(1, df.height):
        row = df.row(k, named=True)
        assert row["feasible"] == ref["feasible"], (rows[k], ref, row)
        for col in VALUE_COLUMNS:
            assert close(row[col], ref[col]), (col, rows[k], ref[col], row[col])
        same_layout = (row["two_d_tp"] == ref["two_d_tp"] and close(row["pp_degree"], ref["pp_degree"])
                       and close(row["attention_scaledown"], ref["attention_scaledown"]))
        if same_layout:
            for col in DEGREE_COLUMNS:
                assert close(row[col], ref[col]), (col, rows[k], ref[col], row[col])
            for col in TIME_COLUMNS if ref["feasible"] else ():
                assert abs(row[col] - ref[col]) <= REL * ref["token_latency_s"], (col, rows[k], ref, row)


# ----------------------------------------------------------------------------- regressions


def latencies(model: str, **axes: object) -> np.ndarray:
    return isw.sweep(model, "H100", grid="zip", **axes, semantics="epoch")["token_latency_s"].to_numpy()  # type: ignore[arg-type]


def test_pp_list_ends_at_b_for_log_spaced_batches() -> None:
    """Llama 3 70B, N = 1024, PP: 184 of these 1,000 batch sizes moved by > 1e-6 (up to 6.3%)
    under ±1 ulp of b, because 2^log2(b) landed one ulp above b and P = b was rejected."""
    bs = np.logspace(0, 3, 1002)[1:-1]
    base = latencies("Llama-3-70B", n_gpus=1024.0, batch_size=bs, use_pp=True)
    assert np.isfinite(base).all()
    for moved in (np.nextafter(bs, np.inf), np.nextafter(bs, -np.inf)):
        other = latencies("Llama-3-70B", n_gpus=1024.0, batch_size=moved, use_pp=True)
        assert np.max(np.abs(other - base) / base) <= REL


def test_p_equals_b_is_kept() -> None:
    """N = 1848.18, b = 12.20175 (2^log2(b) is one ulp above b): the best layout is P = b; without
    it the answer was P = 9.24 and 6.6% slower."""
    b = 12.20175
    row = isw.sweep("Llama-3-70B", "H100", 1848.18, b, use_pp=True, semantics="epoch").row(0, named=True)
    assert row["pp_degree"] == b
    ref = reference.token_latency(isw.model("Llama-3-70B"), H100, 1848.18, b, 0, 1, use_pp=True)
    assert ref.pp_degree == b and math.isclose(row["token_latency_s"], ref.latency_s, rel_tol=1e-12)
    # P = b is the top of the list, exactly, whatever the libm does with 2^log2(b).
    assert reference.pp_degrees(b, 80, True)[-1] == b
    neighbours = latencies("Llama-3-70B", n_gpus=1848.18, batch_size=[down(b), up(b)], use_pp=True)
    assert np.allclose(neighbours, row["token_latency_s"], rtol=REL, atol=0)


def test_one_ulp_above_a_multiple_of_the_node_adds_no_node() -> None:
    """Without PP, N = nextafter(8k): ceil(N/8) was k + 1 nodes, and every one of the 1,023
    feasible points was slower (up to 9.2%) than at N = 8k."""
    exact = 8.0 * np.arange(1, 1024)
    above = np.nextafter(exact, np.inf)
    t_exact = latencies("Llama-3-70B", n_gpus=exact, batch_size=64.0)
    t_above = latencies("Llama-3-70B", n_gpus=above, batch_size=64.0)
    feasible = np.isfinite(t_exact)
    assert feasible.sum() == 1023 and np.isfinite(t_above).sum() == 1023
    assert np.max(np.abs(t_above - t_exact) / t_exact) <= REL
    # The node count itself, as both implementations compute it.
    assert reference.ceil_count(up(16.0) / 8) == 2.0 and reference.ceil_count(16.0 * (1 + 1e-11) / 8) == 3.0
    nodes = reference.ceil_count(up(16.0) / 8)
    assert _core.collective_time(gpu_dict(H100), 16, nodes, 1e3, "allreduce") == \
        _core.collective_time(gpu_dict(H100), 16, 2, 1e3, "allreduce")


def test_full_attention_scale_down_pays_no_all_reduce() -> None:
    """The f_at list ends at exactly T: attention on T/T = 1 GPU, not 1 + ulp GPUs that pay a
    whole all-reduce latency on each layer. Collectives made expensive so that attention on one
    GPU wins; N = 3.4 is a stage where 2^log2(T) is one ulp below T."""
    slow = dataclasses.replace(H100, name="H100-slow-collectives", ll_latency_s=1e-3, ll128_latency_s=1e-3)
    m = isw.model("Llama-3-8B")
    n = 3.4
    assert 2.0 ** math.log2(n) < n  # the case that used to leave 1 + ulp GPUs
    assert reference.logspace_to(n, 6)[-1] == n
    row = isw.sweep(m, slow, n, 1.0, semantics="epoch").row(0, named=True)
    assert row["tp_attention"] == 1.0 and row["attention_scaledown"] == n
    # The network is the FFN's all-reduces (2D TP over the 3.4 GPUs of one node: a row and a
    # column all-reduce of sqrt(3.4) ranks per layer), nothing for attention.
    assert row["two_d_tp"]
    r = math.sqrt(n)
    words = (m.ffn_up_matrices * m.d_ff / (n / r), m.ffn_down_matrices * m.d_model / (n / r))
    lat = sum(_core.collective_time(gpu_dict(slow), r, 1, w * m.activation_bytes, "allreduce")[0]
              for w in words)
    assert math.isclose(row["network_latency_s"], m.n_layers * lat, rel_tol=1e-12)
    ref = reference.token_latency(m, slow, n, 1.0, 0)
    assert ref.tp_attention == 1.0 and math.isclose(row["token_latency_s"], ref.latency_s, rel_tol=1e-12)
    neighbours = isw.sweep(m, slow, [down(n), up(n)], 1.0, grid="zip",
                           semantics="epoch")["token_latency_s"].to_numpy()
    assert np.allclose(neighbours, row["token_latency_s"], rtol=REL, atol=0)


def test_pipeline_degrees_are_at_least_one() -> None:
    """b = N = 0.8 with PP: the list was logspace2(0, log2(0.8), 10), so P = 0.8 ran with N/P = 1
    GPU per stage and (P − 1) < 0 stage-to-stage sends, a negative network time. Degrees are >= 1
    now, and P = 1 > min(N, b): no layout, exactly as without PP."""
    assert reference.pp_degrees(0.8, 32, True) == [1.0] * 11
    df = isw.sweep("Llama-3-8B", "H100", 0.8, 0.8, use_pp=[True, False], semantics="epoch")
    for row in df.iter_rows(named=True):
        assert row["feasible"] is False
        assert math.isnan(row["pp_degree"]) and math.isnan(row["network_latency_s"])
    # Where b < 1 <= N, still no degree below 1, and no negative time anywhere.
    grid = isw.sweep("Llama-3-8B", "H100", n_gpus=[0.5, 0.8, 1.0, 2.0, 8.0], batch_size=[0.3, 0.8, 1.0, 2.0],
                     use_pp=True, semantics="epoch")
    feasible = grid.filter(pl.col("feasible"))
    expected = [(n, b) for n in (1.0, 2.0, 8.0) for b in (1.0, 2.0)]  # N >= 1 and b >= 1
    assert feasible.select("n_gpus", "batch_size").rows() == expected
    assert (feasible["pp_degree"] >= 1).all()
    assert (feasible["network_latency_s"] >= 0).all() and (feasible["network_bandwidth_s"] >= 0).all()


def test_capacity_boundary_fits() -> None:
    """N = N_min exactly (the frontier's first GPU count) holds the weights, whatever the rounding
    of w·P_total/HBM: Mistral Large 2's N_min·HBM is 3e-5 bytes short of w·P_total."""
    m = isw.model("Mistral-Large-2")
    n_min = m.weight_bytes * m.total_params / H100.hbm_bytes
    assert n_min * H100.hbm_bytes < m.weight_bytes * m.total_params
    assert reference.frontier_grids(m, H100, 400)[0][0] == n_min
    assert isw.sweep(m, "H100", n_min, 1.0, semantics="epoch")["feasible"][0]
    assert reference.fits(m, H100, n_min, 1.0, 0, 1.0)
    assert not isw.sweep(m, "H100", n_min * (1 - 1e-9), 1.0, semantics="epoch")["feasible"][0]


def test_frontier_grids_end_exactly() -> None:
    m = isw.model("DeepSeek-V3-epoch")  # s = 28: 2^(18 + log2 28) is not 2^18·28
    ns, bs = reference.frontier_grids(m, H100, 400)
    assert ns[0] == m.weight_bytes * m.total_params / H100.hbm_bytes and ns[-1] == 2.0**18
    assert bs[0] == 1.0 and bs[-1] == 2.0**18 * 28
    front = isw.frontier("Llama-3-8B", "H100", resolution=12, n_targets=50, exact=True, semantics="epoch")
    assert front.height > 0


# ----------------------------------------------------------------------------- MFU


def test_mfu_counts_the_flops_the_latency_counts() -> None:
    """A pass over S positions counts FLOP(ℓ, b·S, 1) in its latency; MFU used FLOP(ℓ, b, S), whose
    l̄ = ℓ + (S − 1)/2 charged attention the latency never computed: MFU 1.09 and more."""
    df = isw.sweep(["Llama-3-8B", "Llama-3-70B", "Mixtral-8x22B", "DeepSeek-V3-epoch"], "H100",
                   n_gpus=[8.0, 64.0], batch_size=[1.0, 16.0, 256.0], context_len=[0.0, 10_000.0],
                   seq_len=[1.0, 4096.0, 32_768.0, 1e6], semantics="epoch")
    feasible = df.filter(pl.col("feasible"))
    assert feasible.height > 50
    assert (feasible["mfu"] <= H100.flop_utilization * (1 + 1e-12)).all()
    assert (feasible["mfu"] > 0).all()
    # The definition, against the reference, for a long pass.
    m = isw.model("Llama-3-70B")
    row = isw.sweep(m, "H100", 8, 1, seq_len=1e6, semantics="epoch").row(0, named=True)
    want = reference.flop(m, 0, 1e6, 1) / (8 * H100.flops_for(m) * row["token_latency_s"])
    assert math.isclose(row["mfu"], want, rel_tol=1e-12) and row["mfu"] <= 0.7
    econ = reference.economics(m, H100, 8, 1, 0, row["token_latency_s"], positions=1e6)
    assert math.isclose(econ["mfu"], row["mfu"], rel_tol=1e-12)
