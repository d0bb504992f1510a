"""isw.evaluate: one configuration, equal bit for bit to its isw.sweep row."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infersweep as isw
from infersweep.point import COMPONENTS, LAYOUT
from infersweep.sweep import OUTPUT_COLUMNS

SCALARS = ["token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
           "tokens_per_s_per_gpu", "mfu", "feasible"]


def same(a: object, b: object) -> bool:
    """Exact equality, NaN equal to NaN (an infeasible point's components)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_the_record_has_every_output_column_of_a_sweep_row():
    fields = set(SCALARS) | set(COMPONENTS) | set(LAYOUT)
    assert fields == set(OUTPUT_COLUMNS) - {"gamma", "drafter_latency_s"}


@pytest.mark.parametrize("model,gpu", [("Llama-3-70B", "H100"), ("DeepSeek-V3", "H200"),
                                       ("Llama-3.1-405B", "B200")])
@pytest.mark.parametrize("use_pp", [False, True])
def test_equals_sweep_rows_exactly_on_random_points(model, gpu, use_pp):
    rng = np.random.default_rng(11)
    n = 60
    n_gpus = np.round(2.0 ** rng.uniform(0, 9, n))
    batch = np.round(2.0 ** rng.uniform(0, 12, n))
    context = np.where(rng.random(n) < 0.2, 0.0, np.round(2.0 ** rng.uniform(8, 18, n)))
    seq = np.where(rng.random(n) < 0.8, 1.0, np.round(rng.uniform(1, 8, n)))
    df = isw.sweep(model, gpu, n_gpus=n_gpus, batch_size=batch, context_len=context, seq_len=seq,
                   use_pp=use_pp, grid="zip", semantics="epoch")
    feasible = 0
    for i, row in enumerate(df.iter_rows(named=True)):
        e = isw.evaluate(model, gpu, float(n_gpus[i]), float(batch[i]), float(context[i]), float(seq[i]),
                         use_pp=use_pp)
        for f in SCALARS:
            assert same(getattr(e, f), row[f]), (i, f, getattr(e, f), row[f])
        for f in COMPONENTS:
            assert same(e.components[f], row[f]), (i, f)
        for f in LAYOUT:
            assert same(e.layout[f], row[f]), (i, f)
        feasible += e.feasible
    assert 0 < feasible < n or model == "Llama-3-70B"  # both kinds of row where the model allows


def test_infeasible_point_is_data():
    e = isw.evaluate("Llama-3.1-405B", "H100", n_gpus=1, batch_size=1)
    assert e.feasible is False
    assert e.token_latency_s == math.inf
    assert math.isnan(e.components["memory_s"])


def test_numpy_scalars_and_specs_are_accepted():
    m, g = isw.model("Llama-3-70B"), isw.gpu("H100")
    a = isw.evaluate(m, g, np.float64(8), np.int64(32), 4096, use_pp=np.bool_(True))
    b = isw.evaluate("Llama-3-70B", "H100", 8, 32, 4096, use_pp=True)
    assert a == b
    assert a.token_latency_s == isw.sweep(m, g, 8, 32, 4096, use_pp=True,
                                          semantics="epoch")["token_latency_s"][0]


def test_a_changed_spec_is_not_served_from_the_cache():
    m = isw.model("Llama-3-70B")
    fast = isw.evaluate(m, "H100", 8, 1)
    fp8 = isw.evaluate(m.with_(weight_bytes=1.0), "H100", 8, 1)
    assert fp8.components["memory_s"] == pytest.approx(fast.components["memory_s"] / 2, rel=0.1)


@pytest.mark.parametrize("field,kwargs", [
    ("n_gpus", {"n_gpus": 0}),
    ("batch_size", {"batch_size": -1}),
    ("context_len", {"context_len": math.nan}),
    ("seq_len", {"seq_len": 0.5}),
    ("n_gpus", {"n_gpus": "8"}),
    ("batch_size", {"batch_size": True}),
    ("batch_size", {"batch_size": [1, 2]}),
    ("use_pp", {"use_pp": 1}),
    ("semantics", {"semantics": "paper"}),
])
def test_bad_input_is_a_grid_error_naming_the_field(field, kwargs):
    with pytest.raises(isw.GridError, match=field):
        isw.evaluate("Llama-3-70B", "H100", **kwargs)


def test_bad_spec_is_a_spec_error_naming_the_field():
    with pytest.raises(isw.SpecError, match="d_model"):
        isw.evaluate(isw.model("Llama-3-70B").with_(d_model=-1.0), "H100")
