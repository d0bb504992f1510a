"""isw.evaluate(..., semantics="serving"): one point, equal bit for bit to its one-row serving sweep,
with the sweep's errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import infersweep as isw
from infersweep.errors import InfersweepError
from infersweep.point import ServingEvaluation
from infersweep.serving import SERVING_OUTPUT_COLUMNS


def same(a: object, b: object) -> bool:
    """Exact equality of value and type, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def sweep_row(**kw: Any) -> dict[str, Any]:
    df = isw.sweep(semantics="serving", **kw)
    assert df.height == 1
    return df.row(0, named=True)


def assert_agrees(**kw: Any) -> ServingEvaluation:
    ev = isw.evaluate(semantics="serving", **kw)
    row = sweep_row(**kw)
    bad = [(c, getattr(ev, c), row[c]) for c in SERVING_OUTPUT_COLUMNS if not same(getattr(ev, c), row[c])]
    assert not bad, bad
    return ev


def test_the_record_is_the_serving_output_columns():
    assert list(ServingEvaluation._fields) == SERVING_OUTPUT_COLUMNS


@pytest.mark.parametrize("model,gpu,pins", [
    ("Llama-3-70B", "H100", {"tp": 8}),
    ("Llama-3-70B", "H100", {}),
    ("Llama-3.1-405B", "B200", {"pp": 2}),
    ("DeepSeek-V3", "B200", {"attention_dp": 8, "ep": 8}),
    ("DeepSeek-V3", "H200", {}),
    ("gpt-oss-120b", "B200", {"tp": 2}),
    ("Gemma-3-27B", "H100", {}),
])
def test_equals_the_one_row_sweep_on_random_points(model, gpu, pins):
    rng = np.random.default_rng(7)
    for _ in range(12):
        n_gpus = int(2 ** rng.integers(3, 7))
        batch = int(2 ** rng.uniform(0, 12))
        ctx = 0 if rng.random() < 0.2 else int(2 ** rng.uniform(8, 17))
        seq = 1 if rng.random() < 0.7 else int(rng.integers(2, 6))
        assert_agrees(model=model, gpu=gpu, n_gpus=n_gpus, batch_size=batch, context_len=ctx, seq_len=seq,
                      **pins)


def test_an_infeasible_point_is_data_as_in_the_sweep():
    ev = assert_agrees(model="Llama-3.1-405B", gpu="H100", n_gpus=2, batch_size=64, context_len=4096)
    assert ev.feasible is False
    assert ev.token_latency_s == math.inf


def test_runtimes_and_precisions_are_the_ones_given_each_call():
    """The converted point is cached per (model, gpu, precision, runtime): alternating runtimes and
    precisions must not return another one's numbers."""
    rts = [isw.Runtime.ideal(), isw.Runtime.default(), isw.Runtime(overlap=0.5, cuda_graphs=False,
                                                                   expert_imbalance=1.3)]
    precs = [None, isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8")]
    seen = set()
    for _ in range(2):
        for rt in rts:
            for prec in precs:
                ev = assert_agrees(model="Llama-3.1-70B", gpu="H200", n_gpus=8, batch_size=64,
                                   context_len=2048, tp=8, runtime=rt, precision=prec)
                seen.add(ev.token_latency_s)
    assert len(seen) == len(rts) * len(precs)


def test_a_profile_runs_with_its_runtime():
    profile = next(iter(isw.shipped_profiles().values()))
    ev = assert_agrees(model="Llama-3.1-70B", gpu="H200", n_gpus=8, batch_size=32, context_len=2048, tp=8,
                       runtime=profile)
    plain = isw.evaluate("Llama-3.1-70B", "H200", 8, 32, 2048, semantics="serving", tp=8,
                         runtime=profile.runtime)
    assert ev == plain


def test_arguments_the_fast_path_leaves_to_the_sweep_give_the_sweep_row():
    # numpy scalars, float degrees and one-element lists go through the sweep itself.
    ev = assert_agrees(model="Llama-3-70B", gpu="H100", n_gpus=np.float64(8), batch_size=np.int64(16),
                       context_len=[1024], tp=8.0)
    assert ev.tp == 8


BAD: list[dict[str, Any]] = [
    {"tp": 3},                                   # does not divide the heads or GPUs
    {"tp": 8, "ep": 2},                          # EP on a dense model
    {"pp": 3},
    {"tp": 0},                                   # a degree must be >= 1
    {"tp": -8},
    {"tp": 1 << 21},
    {"tp": True},
    {"tp": "8"},
    {"n_gpus": 8.5},
    {"n_gpus": 0},
    {"n_gpus": 2e6},
    {"n_gpus": math.inf},
    {"n_gpus": math.nan},
    {"n_gpus": 10**400},
    {"batch_size": 10**400},
    {"batch_size": 0.5},
    {"batch_size": 0},
    {"batch_size": 1e13},
    {"context_len": -1},
    {"context_len": math.nan},
    {"seq_len": 0},
    {"seq_len": 1e13},
    {"use_pp": True},
    {"model": "No-Such-Model"},
    {"gpu": "No-Such-GPU"},
    {"runtime": {"step_overhead_s": 0.0}},
    {"precision": "fp8"},
    {"gpu": "H200-SXM", "precision": isw.Precision(experts="mxfp4"), "model": "gpt-oss-120b", "tp": None},
]


@pytest.mark.parametrize("bad", BAD, ids=[str(b) for b in BAD])
def test_raises_the_sweeps_error(bad):
    kw: dict[str, Any] = {"model": "Llama-3-70B", "gpu": "H100", "n_gpus": 8, "batch_size": 32,
                          "context_len": 1024, "tp": 8, **bad}
    with pytest.raises(InfersweepError) as from_sweep:
        isw.sweep(semantics="serving", **kw)
    with pytest.raises(InfersweepError) as from_evaluate:
        isw.evaluate(semantics="serving", **kw)
    assert type(from_evaluate.value) is type(from_sweep.value)
    assert str(from_evaluate.value) == str(from_sweep.value)


def test_a_sequence_of_several_values_is_an_error():
    with pytest.raises(isw.GridError, match="one value per field"):
        isw.evaluate("Llama-3-70B", "H100", n_gpus=[8, 16], semantics="serving")


def test_serving_arguments_need_serving_semantics():
    with pytest.raises(isw.GridError, match="'tp' needs semantics='serving'"):
        isw.evaluate("Llama-3-70B", "H100", 8, semantics="epoch", tp=8)


def test_an_integer_beyond_float64_is_the_sweeps_grid_error_under_epoch_too():
    with pytest.raises(isw.GridError, match="n_gpus") as from_sweep:
        isw.sweep("Llama-3-70B", "H100", n_gpus=10**400, semantics="epoch")
    with pytest.raises(isw.GridError) as from_evaluate:
        isw.evaluate("Llama-3-70B", "H100", n_gpus=10**400, semantics="epoch")
    assert str(from_evaluate.value) == str(from_sweep.value)
