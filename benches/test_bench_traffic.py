"""Serving traffic: steady states at request rates and at concurrencies, and the planner.

Run with `pytest benches/test_bench_traffic.py --benchmark-enable --benchmark-group-by=group`;
under plain `pytest` each runs once as a test. No timed assertions: figures in the README.
"""

from __future__ import annotations

import numpy as np

import infersweep as isw

MODEL = isw.model("Llama-3.1-70B")
GPU = isw.gpu("H200")
FP8 = isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8")
RATES = list(np.linspace(0.1, 10, 500))


def at_rates() -> int:
    return isw.serve(MODEL, GPU, 8, isl=[1000, 4000], osl=[100, 500], request_rate=RATES, precision=FP8,
                     tp=8, pp=1).height


def at_concurrencies() -> int:
    return isw.serve(MODEL, GPU, 8, isl=4000, osl=500, concurrency=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
                     precision=FP8, tp=8, pp=1).height


def planned() -> int:
    return isw.plan(MODEL, GPU, isl=4000, osl=500, ttft_max=1.0, tpot_max=0.05, max_gpus=64,
                    precision=FP8).height


def test_steady_state_at_rates(benchmark) -> None:
    benchmark.group = "traffic-rate"
    rows = benchmark(at_rates)
    assert rows == 4 * len(RATES)
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean


def test_steady_state_at_concurrencies(benchmark) -> None:
    benchmark.group = "traffic-concurrency"
    rows = benchmark.pedantic(at_concurrencies, rounds=1, iterations=1)
    assert rows == 10
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean


def test_plan_64_gpus(benchmark) -> None:
    benchmark.group = "traffic-plan"
    assert benchmark.pedantic(planned, rounds=1, iterations=1) > 0
