"""A serving sweep with an uncertainty band against the same sweep without (docs/calibration.md).

Run with `pytest benches/test_bench_uncertainty.py --benchmark-enable --benchmark-group-by=group`;
under plain `pytest` each runs once as a test. No timed assertions. The band costs k + 1 sweeps
for a profile of k fitted parameters (here the shipped TensorRT-LLM profile).
"""

from __future__ import annotations

import numpy as np

import infersweep as isw

MODEL = isw.model("Llama-3-70B")
GPU = isw.gpu("H100")
BATCH = np.arange(1, 200_001, dtype=np.float64)
PROFILE = isw.shipped_profiles()["tensorrt-llm"]


def plain() -> int:
    return isw.sweep(MODEL, GPU, n_gpus=8, batch_size=BATCH, context_len=2048, semantics="serving", tp=8,
                     runtime=PROFILE).height


def banded() -> int:
    return isw.sweep(MODEL, GPU, n_gpus=8, batch_size=BATCH, context_len=2048, semantics="serving", tp=8,
                     runtime=PROFILE, uncertainty=0.8).height


def test_band_plain(benchmark) -> None:
    benchmark.group = "serving-band"
    assert benchmark(plain) == BATCH.size


def test_band_80(benchmark) -> None:
    benchmark.group = "serving-band"
    assert benchmark(banded) == BATCH.size
