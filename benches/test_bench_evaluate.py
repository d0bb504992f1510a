"""One configuration: a one-row ``isw.sweep`` against ``isw.evaluate``, in one benchmark group.

Run with `pytest benches/test_bench_evaluate.py --benchmark-enable --benchmark-group-by=group`;
under plain `pytest` (benchmarks disabled) each runs once as a test. Figures in the README.
"""

from __future__ import annotations

import pytest

import infersweep as isw

MODEL = isw.model("Llama-3-70B")
GPU = isw.gpu("H100")
POINT = {"n_gpus": 16, "batch_size": 64, "context_len": 8_000}


def one_row_sweep() -> float:
    return float(isw.sweep(MODEL, GPU, **POINT, semantics="epoch")["token_latency_s"][0])


def one_evaluate() -> float:
    return isw.evaluate(MODEL, GPU, **POINT).token_latency_s


@pytest.mark.benchmark(group="one point")
@pytest.mark.parametrize("impl", [one_row_sweep, one_evaluate], ids=["sweep_one_row", "evaluate"])
def test_one_point(benchmark, impl):
    latency = benchmark(impl)
    assert latency == one_row_sweep()
    assert 0 < latency < 1
