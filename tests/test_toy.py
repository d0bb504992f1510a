"""The toy model of paper §2 and its closed forms (docs/model.md §8).

The expected toy latency is copied from the spec (docs/validation.md, "The toy model"); the closed
forms are checked against a brute-force minimisation of the latency they claim to minimise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import infersweep as isw
from infersweep.errors import GridError, SpecError
from infersweep.specs import Model
from infersweep.toy import toy_critical_batch, toy_latency, toy_min_latency, toy_optimal_gpus

H100 = isw.gpu("H100")
LLAMA_70B = isw.model("Llama-3-70B")


def _golden_min(f: Callable[[float], float], a: float, b: float, steps: int = 200) -> float:
    """The minimiser of a unimodal f on [a, b] (golden-section search)."""
    r = (math.sqrt(5) - 1) / 2
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)
    return 0.5 * (a + b)


Latency = Callable[[np.ndarray], np.ndarray]


def _brute_min(f: Latency, lo: float = 1.0, hi: float = 1e8) -> tuple[float, float]:
    """(argmin, min) of f over N in [lo, hi]: a dense log grid, then golden section in log N."""
    n = np.geomspace(lo, hi, 200_001)
    i = int(np.argmin(f(n)))
    u_lo, u_hi = math.log(n[max(i - 1, 0)]), math.log(n[min(i + 1, n.size - 1)])
    u = _golden_min(lambda v: float(f(np.array([math.exp(v)]))[0]), u_lo, u_hi)
    best = math.exp(u)
    # The minimum may sit on the boundary N = 1 (no all-reduce at all).
    if float(f(np.array([lo]))[0]) <= float(f(np.array([best]))[0]):
        best = lo
    return best, float(f(np.array([best]))[0])


# --- toy_latency ---------------------------------------------------------------------------------


def test_validation_case() -> None:
    """docs/validation.md: Llama 3 70B, H100, N = 8, b = 64, ℓ = 0 → 10,216.697 µs."""
    assert toy_latency(LLAMA_70B, H100, 8, 64) == pytest.approx(10_216.697e-6, rel=1e-6)
    assert toy_latency("Llama-3-70B", "H100", 8, 64, 0) == toy_latency(LLAMA_70B, H100, 8, 64)


def test_formula_by_hand() -> None:
    m, g = LLAMA_70B, H100
    n, b = 16.0, 1000.0
    t_reduce = 2e-6 * (math.sqrt(n) - 1) + 6e-6
    phi = 1e15 * 0.7
    beta = 3.3e12 * 0.75
    expected = 80 * 4 * t_reduce + max(2 * m.total_params / (n * beta), 2 * m.total_params * b / (n * phi))
    assert toy_latency(m, g, n, b) == pytest.approx(expected, rel=1e-14)


def test_parallel_attention_halves_the_reductions() -> None:
    palm = isw.model("PaLM-540B")
    assert palm.parallel_attention
    serial = palm.with_(parallel_attention=False)
    n, b = 64.0, 1.0
    t_reduce = 2e-6 * (math.sqrt(n) - 1) + 6e-6
    diff = toy_latency(serial, H100, n, b) - toy_latency(palm, H100, n, b)
    assert diff == pytest.approx(palm.n_layers * 2 * t_reduce, rel=1e-9)


def test_scalar_in_float_out_and_broadcasting() -> None:
    t = toy_latency(LLAMA_70B, H100, 8, 64)
    assert isinstance(t, float)
    n = np.array([2.0, 4.0, 8.0, 64.0])
    b = np.array([[1.0], [64.0], [4096.0]])
    grid = toy_latency(LLAMA_70B, H100, n, b)
    assert isinstance(grid, np.ndarray) and grid.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert grid[i, j] == toy_latency(LLAMA_70B, H100, float(n[j]), float(b[i, 0]))


def test_capacity() -> None:
    """inf when N·HBM < kappa·ℓ·b + w·P_total (full-batch KV cache)."""
    m = LLAMA_70B
    n_min = m.weight_bytes * m.total_params / H100.hbm_bytes  # 1.76 GPUs
    assert toy_latency(m, H100, 1, 1) == math.inf
    assert math.isfinite(toy_latency(m, H100, n_min, 1))
    assert toy_latency(m, H100, n_min * 0.999, 1) == math.inf
    # With context the KV cache must fit too: exactly at the edge, then just over it.
    n, ctx = 8.0, 10_000.0
    b_edge = (n * H100.hbm_bytes - m.weight_bytes * m.total_params) / (m.kv_bytes_per_token * ctx)
    assert math.isfinite(toy_latency(m, H100, n, b_edge * 0.999, ctx))
    assert toy_latency(m, H100, n, b_edge * 1.001, ctx) == math.inf
    out = toy_latency(m, H100, [1.0, 8.0], 1)
    assert np.isinf(out[0]) and np.isfinite(out[1])
    # 1e-12 relative slack (docs/model.md, rounding rule): Mistral Large 2's N_min·HBM is 3e-5
    # bytes short of w·P_total in floating point, and still holds the weights, as in isw.sweep.
    ml2 = isw.model("Mistral-Large-2")
    n_min = ml2.weight_bytes * ml2.total_params / H100.hbm_bytes
    assert n_min * H100.hbm_bytes < ml2.weight_bytes * ml2.total_params
    assert math.isfinite(toy_latency(ml2, H100, n_min, 1))
    assert toy_latency(ml2, H100, n_min * (1 - 1e-9), 1) == math.inf


def test_bad_inputs() -> None:
    with pytest.raises(GridError):
        toy_latency(LLAMA_70B, H100, 0, 1)
    with pytest.raises(GridError):
        toy_latency(LLAMA_70B, H100, 8, [1.0, -1.0])
    with pytest.raises(SpecError):
        toy_optimal_gpus(LLAMA_70B, H100, bandwidth="peak")  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        toy_min_latency(LLAMA_70B, H100, t_hop=0)


# --- the critical batch ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Llama-3-70B", "Llama-3-70B-8bit", "GPT-4", "PaLM-8B"])
def test_critical_batch_balances_memory_and_compute(name: str) -> None:
    m = isw.model(name)
    b_star = toy_critical_batch(m, H100)
    phi = H100.flops_for(m) * H100.flop_utilization
    beta = H100.hbm_bandwidth * H100.mem_utilization
    assert b_star == pytest.approx(m.weight_bytes * phi / (2 * beta), rel=1e-15)
    n = 64.0
    memory = m.weight_bytes * m.total_params / (n * beta)
    compute = 2 * m.total_params * b_star / (n * phi)
    assert memory == pytest.approx(compute, rel=1e-12)
    # Flat below b*, rising above it.
    below = toy_latency(m, H100, n, [1.0, 0.5 * b_star, b_star])
    assert np.all(below == below[0])
    above = toy_latency(m, H100, n, [b_star, 2 * b_star, 4 * b_star])
    assert np.all(np.diff(above) > 0)


# --- the closed forms ------------------------------------------------------------------------------


def _closed_form_latency(m: Model, t_hop: float, n_reduce: float, bandwidth: float) -> Latency:
    """The latency the closed forms minimise: 2·L·n·t_hop·max(sqrt(N) − 1, 0) + p·P/(N·B)."""
    hops = m.n_layers * n_reduce * t_hop
    weights = m.weight_bytes * m.total_params / bandwidth

    def f(n: np.ndarray) -> np.ndarray:
        return 2 * hops * np.maximum(np.sqrt(n) - 1, 0) + weights / n

    return f


CASES = [
    ("Llama-3-70B", 1e-6, 4), ("Llama-3-8B", 1e-6, 4), ("GPT-4", 1e-6, 4), ("PaLM-540B", 1e-6, 2),
    ("Llama-3-70B", 3e-7, 4), ("Llama-3-405B-8bit", 2e-6, 2), ("DeepSeek-V3-epoch", 1e-6, 4),
]


@pytest.mark.parametrize(("name", "t_hop", "n_reduce"), CASES)
@pytest.mark.parametrize("bandwidth", ["raw", "effective"])
def test_closed_forms_are_the_brute_force_minimum(name: str, t_hop: float, n_reduce: float,
                                                  bandwidth: str) -> None:
    m = isw.model(name)
    bw = H100.hbm_bandwidth if bandwidth == "raw" else H100.hbm_bandwidth * H100.mem_utilization
    n_brute, t_brute = _brute_min(_closed_form_latency(m, t_hop, n_reduce, bw))
    n_star = toy_optimal_gpus(m, H100, t_hop, n_reduce, bandwidth=bandwidth)  # type: ignore[arg-type]
    t_min = toy_min_latency(m, H100, t_hop, n_reduce, bandwidth=bandwidth)  # type: ignore[arg-type]
    assert n_star > 1
    assert n_star == pytest.approx(n_brute, rel=1e-6)
    assert t_min == pytest.approx(t_brute, rel=1e-12)


def test_defaults_are_raw_bandwidth_and_four_reductions() -> None:
    m = LLAMA_70B
    x = m.weight_bytes * m.total_params / (m.n_layers * 4 * 1e-6 * H100.hbm_bandwidth)
    assert toy_optimal_gpus(m, H100) == pytest.approx(x ** (2 / 3), rel=1e-15)
    hops = m.n_layers * 4 * 1e-6
    weights = m.weight_bytes * m.total_params / H100.hbm_bandwidth
    expected = 3 * hops ** (2 / 3) * weights ** (1 / 3) - 2 * hops
    assert toy_min_latency(m, H100) == pytest.approx(expected, rel=1e-15)
    palm = isw.model("PaLM-540B")
    assert toy_optimal_gpus(palm, H100, n_reduce=None) == toy_optimal_gpus(palm, H100, n_reduce=2)


def test_closed_forms_are_not_the_minimum_of_t_hop_sqrt_n() -> None:
    """With t_reduce = t_hop·sqrt(N) (factor 1), the minimiser is 2^(2/3) times N*."""
    m, t_hop, n_red = LLAMA_70B, 1e-6, 4
    hops = m.n_layers * n_red * t_hop
    weights = m.weight_bytes * m.total_params / H100.hbm_bandwidth
    n_alt, _ = _brute_min(lambda n: hops * np.sqrt(n) + weights / n)
    n_star = toy_optimal_gpus(m, H100, t_hop, n_red)
    assert n_alt == pytest.approx(2 ** (2 / 3) * n_star, rel=1e-6)


def test_closed_forms_at_one_gpu() -> None:
    """N* = 1 when p·P/B ≤ L·n·t_hop: then T_min = p·P/B, and the forms are continuous there."""
    tiny = Model(name="tiny", d_model=256, d_ff=1024, n_layers=4, n_heads=4, group_size=1, vocab_size=1000)
    assert toy_optimal_gpus(tiny, H100) == 1.0
    weights = tiny.weight_bytes * tiny.total_params / H100.hbm_bandwidth
    assert toy_min_latency(tiny, H100) == weights
    n_brute, t_brute = _brute_min(_closed_form_latency(tiny, 1e-6, 4, H100.hbm_bandwidth))
    assert n_brute == 1.0 and t_brute == pytest.approx(weights, rel=1e-12)
    # At the boundary p·P/B = L·n·t_hop both branches give p·P/B.
    t_hop = weights / (tiny.n_layers * 4)
    assert toy_optimal_gpus(tiny, H100, t_hop) == pytest.approx(1.0, rel=1e-12)
    assert toy_min_latency(tiny, H100, t_hop * (1 - 1e-9)) == pytest.approx(weights, rel=1e-8)


@pytest.mark.parametrize("name", ["Llama-3-70B", "GPT-4", "PaLM-540B", "Mixtral-8x22B"])
def test_closed_forms_minimise_toy_latency(name: str) -> None:
    """At b ≤ b*, min_N toy_latency = T_min(effective, t_hop = 1 µs, n_red) + L·n_red·6 µs at N*."""
    m = isw.model(name)
    n_red = 2 if m.parallel_attention else 4
    n_star = toy_optimal_gpus(m, H100, 1e-6, None, bandwidth="effective")
    t_min = toy_min_latency(m, H100, 1e-6, None, bandwidth="effective")
    n_min = m.weight_bytes * m.total_params / H100.hbm_bytes
    assert n_star > n_min  # capacity does not bind at the optimum
    b = 0.5 * toy_critical_batch(m, H100)
    n_brute, t_brute = _brute_min(lambda n: np.asarray(toy_latency(m, H100, n, b)), lo=n_min)
    assert n_brute == pytest.approx(n_star, rel=1e-6)
    assert t_brute == pytest.approx(t_min + m.n_layers * n_red * 6e-6, rel=1e-12)
    assert toy_latency(m, H100, n_star, b) == pytest.approx(t_brute, rel=1e-12)
