"""Serving traffic: steady states at request rates and at concurrencies, and the planner.

Run with `pytest benches/test_bench_traffic.py --benchmark-enable --benchmark-group-by=group`;
under plain `pytest` each runs once as a test. No timed assertions: figures in the README
(`extra_info["rows_per_s"]` and `["configurations_per_s"]`: rows, and layouts evaluated, per second).
"""

from __future__ import annotations

import numpy as np

import infersweep as isw
from infersweep.serving_reference import layouts

MODEL = isw.model("Llama-3.1-70B")
GPU = isw.gpu("H200")
FP8 = isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8")
LENGTHS = {"isl": [1000, 4000], "osl": [100, 500]}
#: 4 (ISL, OSL) × 25,000 loads = 100,000 rows of one layout.
RATES = np.linspace(0.05, 12.0, 25_000)
CONCURRENCIES = np.linspace(1.0, 2000.0, 25_000)
#: Every layout of 8 GPUs (10): 4 × 2,500 rates × 10 = 100,000 configurations, 10,000 rows.
SEARCH_RATES = np.linspace(0.05, 12.0, 2_500)


def at_rates() -> int:
    return isw.serve(MODEL, GPU, 8, request_rate=RATES, precision=FP8, tp=8, pp=1, **LENGTHS).height  # type: ignore[arg-type]


def at_rates_every_layout() -> int:
    return isw.serve(MODEL, GPU, 8, request_rate=SEARCH_RATES, precision=FP8, **LENGTHS).height  # type: ignore[arg-type]


def at_concurrencies() -> int:
    return isw.serve(MODEL, GPU, 8, concurrency=CONCURRENCIES, precision=FP8, tp=8, pp=1,
                     **LENGTHS).height  # type: ignore[arg-type]


def planned() -> int:
    return isw.plan(MODEL, GPU, isl=4000, osl=500, ttft_max=1.0, tpot_max=0.05, max_gpus=64,
                    precision=FP8).height


def _rates(benchmark, rows: int, configurations: int) -> None:
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_s"] = rows / benchmark.stats.stats.mean
        benchmark.extra_info["configurations_per_s"] = configurations / benchmark.stats.stats.mean


def test_steady_state_at_rates(benchmark) -> None:
    benchmark.group = "traffic-rate"
    rows = benchmark.pedantic(at_rates, rounds=3, iterations=1)
    assert rows == 4 * len(RATES)
    _rates(benchmark, rows, rows)


def test_steady_state_at_rates_every_layout(benchmark) -> None:
    benchmark.group = "traffic-rate-layouts"
    rows = benchmark.pedantic(at_rates_every_layout, rounds=3, iterations=1)
    assert rows == 4 * len(SEARCH_RATES)
    _rates(benchmark, rows, rows * len(layouts(MODEL, 8)))


def test_steady_state_at_concurrencies(benchmark) -> None:
    benchmark.group = "traffic-concurrency"
    rows = benchmark.pedantic(at_concurrencies, rounds=1, iterations=1)
    assert rows == 4 * len(CONCURRENCIES)
    _rates(benchmark, rows, rows)


def test_plan_64_gpus(benchmark) -> None:
    benchmark.group = "traffic-plan"
    assert benchmark.pedantic(planned, rounds=1, iterations=1) > 0
