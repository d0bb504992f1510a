"""Bad input gets a clear exception, never a panic, a hang or a silent NaN.

Every error is an ``isw.SpecError``, ``isw.GridError`` or ``isw.CatalogError`` (subclasses of
ValueError or KeyError) whose message names the spec, the field and the offending value, so
that a sweep over thousands of configurations points straight at the bad input. One test per
case; a pyo3 PanicException derives from BaseException, so ``pytest.raises(SpecError)`` never
mistakes a panic for a clean error.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep.errors import CatalogError, ConfigError, GridError, InfersweepError, SpecError

NAN, INF = math.nan, math.inf

DENSE: dict[str, Any] = {"name": "toy", "d_model": 4096, "d_ff": 14336, "n_layers": 32, "n_heads": 32,
                         "group_size": 4, "vocab_size": 128256}
GPU: dict[str, Any] = {"name": "gpu8", "flops_by_bits": {8: 2e15, 16: 1e15}, "hbm_bandwidth": 3.3e12,
                       "hbm_bytes": 8e10, "intra_node_bandwidth": 2.25e11, "inter_node_bandwidth": 2.5e10,
                       "gpus_per_node": 8, "usd_per_hour": 2.1}


def raises(exc: type[BaseException], fn: Callable[[], object], *parts: str) -> str:
    """Run fn, expect `exc`, check that the message holds every part (case-insensitive)."""
    with pytest.raises(exc) as info:
        fn()
    assert isinstance(info.value, InfersweepError)
    msg = str(info.value)
    for p in parts:
        assert p.lower() in msg.lower(), f"{p!r} not in message: {msg!r}"
    return msg


def model(**changes: Any) -> isw.Model:
    return isw.Model(**{**DENSE, **changes})


def gpu(**changes: Any) -> isw.Gpu:
    return isw.Gpu(**{**GPU, **changes})


def sweep(**kw: Any) -> Any:
    return isw.sweep("Llama-3-8B", "H100", **kw, semantics="epoch")


def test_error_classes() -> None:
    assert issubclass(SpecError, ValueError) and issubclass(GridError, ValueError)
    assert issubclass(CatalogError, KeyError)
    for cls in (SpecError, GridError, CatalogError):
        assert issubclass(cls, InfersweepError) and cls is getattr(isw, cls.__name__)


# ----------------------------------------------------------------------------- model specs


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("d_model", 0, "0"),
    ("d_ff", -1, "-1"),
    ("n_layers", NAN, "nan"),
    ("n_heads", INF, "inf"),
    ("head_dim", 0, "0"),
    ("n_experts", -8, "-8"),
    ("weight_bytes", 0, "0"),
    ("activation_bytes", NAN, "nan"),
    ("vocab_size", -1, "-1"),
    ("mla_kv_rank", 0, "0"),
])
def test_model_non_positive_or_non_finite_dimension(field: str, value: float, shown: str) -> None:
    extra = {"group_size": 1, "mla_kv_rank": 512, "mla_q_rank": 1536} if field == "mla_kv_rank" else {}
    raises(SpecError, lambda: model(**{**extra, field: value}), "'toy'", field, shown)


def test_model_dimension_not_a_number() -> None:
    raises(SpecError, lambda: model(d_model="4096"), "'toy'", "d_model", "'4096'")
    raises(SpecError, lambda: model(n_layers=True), "'toy'", "n_layers", "True")


def test_model_ffn_matrices_not_positive_integer() -> None:
    raises(SpecError, lambda: model(ffn_up_matrices=0), "'toy'", "ffn_up_matrices", "0")
    raises(SpecError, lambda: model(ffn_down_matrices=1.5), "'toy'", "ffn_down_matrices", "1.5")


def test_model_more_active_experts_than_experts() -> None:
    raises(SpecError, lambda: model(n_experts=8, n_experts_active=9), "'toy'", "n_experts_active", "9", "8")


def test_group_size_not_dividing_heads() -> None:
    raises(SpecError, lambda: model(n_heads=32, group_size=3), "'toy'", "group_size", "3", "n_heads", "32")


def test_group_size_fractional_quotient() -> None:
    raises(SpecError, lambda: model(n_heads=8, group_size=16), "'toy'", "group_size", "16", "8")


def test_mla_needs_group_size_one() -> None:
    raises(SpecError, lambda: model(group_size=4, mla_kv_rank=512, mla_q_rank=1536),
           "'toy'", "MLA", "group_size", "4")


def test_mla_ranks_set_together() -> None:
    raises(SpecError, lambda: model(group_size=1, mla_kv_rank=512),
           "'toy'", "mla_kv_rank", "mla_q_rank", "512")


# ----------------------------------------------------------------------------- GPU specs


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("hbm_bytes", 0, "0"),
    ("hbm_bandwidth", -1, "-1"),
    ("gpus_per_node", NAN, "nan"),
    ("usd_per_hour", INF, "inf"),
    ("inter_node_bandwidth", 0, "0"),
    ("intra_node_bandwidth", NAN, "nan"),
    ("flop_utilization", 1.5, "1.5"),
    ("mem_utilization", 0, "0"),
    ("kernel_latency_s", -1e-6, "-1e-06"),
])
def test_gpu_bad_field(field: str, value: float, shown: str) -> None:
    raises(SpecError, lambda: gpu(**{field: value}), "'gpu8'", field, shown)


def test_gpu_bad_flops_by_bits() -> None:
    raises(SpecError, lambda: gpu(flops_by_bits={12: 1e15}), "'gpu8'", "flops_by_bits", "12")
    raises(SpecError, lambda: gpu(flops_by_bits={8: 0}), "'gpu8'", "flops_by_bits[8]", "0")
    raises(SpecError, lambda: gpu(flops_by_bits={}), "'gpu8'", "flops_by_bits", "{}")


def test_gpu_bad_collectives() -> None:
    raises(SpecError, lambda: gpu(collectives="ring"), "'gpu8'", "collectives", "'ring'")


# ----------------------------------------------------------------------------- precision with no FLOP rate


@pytest.mark.parametrize("grid", ["product", "zip"])
def test_weight_precision_with_no_flop_rate(grid: str) -> None:
    m4 = model(weight_bytes=0.5)
    raises(SpecError, lambda: isw.sweep(m4, gpu(), n_gpus=[8, 16], grid=grid, semantics="epoch"),
           "'gpu8'", "flops_by_bits", "4-bit", "'toy'", "weight_bytes=0.5")


@pytest.mark.parametrize("grid", ["product", "zip"])
def test_drafter_precision_with_no_flop_rate(grid: str) -> None:
    drafter = model(name="draft4", weight_bytes=0.5)
    raises(SpecError, lambda: isw.sweep(model(), gpu(), n_gpus=[8, 16], spec_dec=isw.SpecDec(drafter, 0.5),
                                        grid=grid, semantics="epoch"),
           "'gpu8'", "flops_by_bits", "4-bit", "'draft4'", "weight_bytes=0.5")


def test_zip_checks_only_pairs_it_uses() -> None:
    """In a zip grid a 4-bit model on a GPU without a 4-bit rate is an error only if that pair occurs."""
    m4, m16 = model(name="m4", weight_bytes=0.5), model(name="m16")
    h100, g8 = isw.gpu("H100"), gpu()
    df = isw.sweep([m4, m16], [h100, g8], n_gpus=8, grid="zip", semantics="epoch")
    assert df.height == 2
    raises(SpecError, lambda: isw.sweep([m4, m16], [g8, h100], n_gpus=8, grid="zip",
                                        semantics="epoch"), "'gpu8'", "'m4'")


# ----------------------------------------------------------------------------- speculative decoding


@pytest.mark.parametrize("acceptance", [1.0, -0.1, NAN, 1.5, INF])
def test_acceptance_outside_unit_interval(acceptance: float) -> None:
    raises(SpecError, lambda: isw.SpecDec("Llama-3-8B", acceptance), "spec_dec", "acceptance",
           repr(acceptance))


def test_acceptance_not_a_number() -> None:
    raises(SpecError, lambda: isw.SpecDec("Llama-3-8B", "0.5"), "spec_dec", "acceptance", "'0.5'")


@pytest.mark.parametrize("gamma_max", [1, 0, -3, 2.5, True])
def test_gamma_max_below_two_or_not_integer(gamma_max: Any) -> None:
    raises(SpecError, lambda: isw.SpecDec("Llama-3-8B", 0.5, gamma_max),
           "spec_dec", "gamma_max", repr(gamma_max))


def test_gamma_max_too_large_for_the_engine() -> None:
    """A γ_max the engine cannot hold (u32) is refused with the spec, field and value named."""
    def go() -> None:
        isw.sweep("Llama-3-70B", "H100", spec_dec=isw.SpecDec("Llama-3-8B", 0.5, 2**40), semantics="epoch")

    raises(SpecError, go, "spec_dec", "gamma_max", str(2**40))


def test_drafter_not_a_model() -> None:
    raises(SpecError, lambda: isw.SpecDec(5, 0.5), "spec_dec", "drafter", "5")  # type: ignore[arg-type]


def test_seq_len_above_one_with_spec_dec() -> None:
    raises(GridError, lambda: sweep(seq_len=3, spec_dec=isw.SpecDec("Llama-3-8B", 0.5)),
           "seq_len", "speculative", "3")


def test_spec_dec_axis_not_spec_dec() -> None:
    raises(GridError, lambda: sweep(spec_dec="Llama-3-8B"), "spec_dec", "'Llama-3-8B'")


# ----------------------------------------------------------------------------- grid axes


@pytest.mark.parametrize(("value", "shown"),
                         [(0, "0"), (-8, "-8"), (NAN, "nan"), (INF, "inf"), ([8, 0], "0")])
def test_n_gpus_not_positive_finite(value: Any, shown: str) -> None:
    raises(GridError, lambda: sweep(n_gpus=value), "n_gpus", shown)


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (-1, "-1"), (NAN, "nan"), ([1, 64, -0.5], "-0.5")])
def test_batch_size_not_positive(value: Any, shown: str) -> None:
    raises(GridError, lambda: sweep(batch_size=value), "batch_size", shown)


@pytest.mark.parametrize(("value", "shown"), [(-1, "-1"), (INF, "inf"), (NAN, "nan")])
def test_context_len_negative_or_non_finite(value: float, shown: str) -> None:
    raises(GridError, lambda: sweep(context_len=value), "context_len", shown)


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (0.5, "0.5"), (-2, "-2"), (NAN, "nan")])
def test_seq_len_below_one(value: float, shown: str) -> None:
    raises(GridError, lambda: sweep(seq_len=value), "seq_len", shown)


def test_empty_axis() -> None:
    raises(GridError, lambda: sweep(n_gpus=[]), "n_gpus", "empty")


def test_mismatched_zip_lengths() -> None:
    raises(GridError, lambda: sweep(n_gpus=[8, 16, 32], batch_size=[1, 2], grid="zip"),
           "zip", "n_gpus=3", "batch_size=2")


def test_unknown_grid_kind() -> None:
    raises(GridError, lambda: sweep(grid="cartesian"), "'cartesian'", "product", "zip")


@pytest.mark.parametrize("value", ["abc", ["8", "x"], {"a": 1}, 8 + 1j, [object()]])
def test_non_numeric_axis_values(value: Any) -> None:
    raises(GridError, lambda: sweep(n_gpus=value), "n_gpus", "must be numbers")


@pytest.mark.parametrize(("value", "shown"), [("8", "'8'"), (["8", "16"], "'8'"), (True, "True"),
                                             ([8, False], "False")])
def test_numeric_looking_strings_and_bools_are_not_numbers(value: Any, shown: str) -> None:
    """A string or a bool in a numeric axis is a mistake, not a number (as for spec fields)."""
    raises(GridError, lambda: sweep(n_gpus=value), "n_gpus", shown)


@pytest.mark.parametrize("value", ["yes", 1, None, [True, "no"], 0.0])
def test_use_pp_not_bool(value: Any) -> None:
    shown = repr(value[1] if isinstance(value, list) else value)
    raises(GridError, lambda: sweep(use_pp=value), "use_pp", shown)


def test_grid_too_large_for_memory_is_refused_fast() -> None:
    """10^12 rows: refused before any work or allocation, pointing at sweep_to_parquet."""
    axis = np.arange(1.0, 10_001.0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    raises(GridError, lambda: sweep(n_gpus=axis, batch_size=axis, context_len=axis),
           "1,000,000,000,000 rows", "sweep_to_parquet")
    assert time.perf_counter() - t0 < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 512 * 1024  # KiB: < 512 MiB grown


def test_grid_too_large_advice_exists() -> None:
    """The advice in that message must be actionable: isw.sweep_to_parquet exists."""
    assert callable(getattr(isw, "sweep_to_parquet", None))


def test_grid_rows_overflow() -> None:
    """More rows than a 64-bit count holds: still a GridError, not an overflow or a panic."""
    axis = np.arange(1.0, 100_001.0)
    t0 = time.perf_counter()
    raises(GridError, lambda: sweep(n_gpus=axis, batch_size=axis, context_len=axis, seq_len=axis),
           "rows", "100000")
    assert time.perf_counter() - t0 < 2.0


def test_max_rows() -> None:
    raises(GridError, lambda: sweep(n_gpus=[1, 2, 3], max_rows=2), "3 rows", "max_rows=2")


def test_unknown_column() -> None:
    raises(GridError, lambda: sweep(columns=["latency"]), "'latency'", "token_latency_s")


def test_chunk_rows_below_one() -> None:
    raises(GridError, lambda: sweep(chunk_rows=0), "chunk_rows", "0")


@pytest.mark.parametrize("value", [0, -1])
def test_num_threads_below_one(value: int) -> None:
    raises(GridError, lambda: sweep(num_threads=value), "num_threads", str(value))


def test_two_specs_sharing_a_name() -> None:
    raises(SpecError, lambda: isw.sweep([model(), model(d_model=1024)], "H100",
                                        semantics="epoch"), "'toy'", "share")


def test_absurd_but_finite_values_give_no_silent_nan() -> None:
    """A finite input far outside any real deployment is either refused or yields NaN-free output."""
    try:
        df = sweep(n_gpus=8, batch_size=1e300)
    except GridError as e:
        assert "batch_size" in str(e)
        return
    row = df.row(0, named=True)
    if row["feasible"]:
        nans = [c for c in ("kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s",
                            "mfu", "token_latency_s") if math.isnan(row[c])]
        assert not nans, f"silent NaN in {nans} on a feasible row: {row}"


# ----------------------------------------------------------------------------- catalog names


def test_unknown_model_lists_close_matches() -> None:
    msg = raises(CatalogError, lambda: isw.sweep("Llama-3-70", "H100",
                                                 semantics="epoch"), "'Llama-3-70'", "close matches",
                 "'Llama-3-70B'")
    assert isinstance(CatalogError(msg), KeyError)


def test_unknown_gpu_lists_close_matches() -> None:
    raises(CatalogError, lambda: isw.sweep("Llama-3-8B", "H10", semantics="epoch"), "gpu", "'H10'", "'H100'")


def test_unknown_drafter_lists_close_matches() -> None:
    raises(CatalogError, lambda: isw.SpecDec("Llama-3-8", 0.5), "'Llama-3-8'", "'Llama-3-8B'")


def test_unknown_name_with_no_close_match() -> None:
    raises(CatalogError, lambda: isw.model("zzzzzzzz"), "'zzzzzzzz'", "no close match", "catalog_models()")


def test_model_of_wrong_type() -> None:
    raises(CatalogError, lambda: isw.sweep(None, "H100", semantics="epoch"), "model", "None")  # type: ignore[arg-type]
    raises(CatalogError, lambda: isw.sweep("Llama-3-8B", 5, semantics="epoch"), "gpu", "5")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the Rust side on its own


def _force(obj: object, **fields: Any) -> object:
    """Set frozen-dataclass fields without validation, so that only the engine's checks remain."""
    for k, v in fields.items():
        object.__setattr__(obj, k, v)
    return obj


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("d_model", 0.0, "0"), ("n_layers", NAN, "nan"), ("n_heads", INF, "inf"), ("group_size", 3.0, "3"),
    ("weight_bytes", -1.0, "-1"),
])
def test_engine_rejects_invalid_model_without_panic(field: str, value: float, shown: str) -> None:
    m = _force(model(), **{field: value})
    raises(SpecError, lambda: isw.sweep(m, "H100", semantics="epoch"), "'toy'", field, shown)


def test_engine_rejects_invalid_gpu_without_panic() -> None:
    g = _force(gpu(), hbm_bytes=-1.0)
    raises(SpecError, lambda: isw.sweep("Llama-3-8B", g, semantics="epoch"), "'gpu8'", "hbm_bytes", "-1")


@pytest.mark.parametrize(("field", "value", "shown"), [("acceptance", 1.0, "1"), ("acceptance", NAN, "nan"),
                                                       ("gamma_max", 1, "1")])
def test_engine_rejects_invalid_spec_dec_without_panic(field: str, value: float, shown: str) -> None:
    sd = _force(isw.SpecDec("Llama-3-8B", 0.5), **{field: value})
    raises(GridError, lambda: isw.sweep("Llama-3-70B", "H100", spec_dec=sd, semantics="epoch"), field, shown)


# ----------------------------------------------------------------------------- issue 9 §2: sizes of work


@pytest.mark.parametrize("value", [2**62, 10**10, -1, 1, 10.0, True, "1000", None])
def test_frontier_n_targets_bounded(value: Any) -> None:
    """2**62 panicked (capacity overflow), 10**10 aborted, -1 and 10.0 raised raw errors."""
    raises(GridError, lambda: isw.frontier("Llama-3-8B", n_targets=value, resolution=4,
                                           semantics="epoch"), "n_targets",
           "1,000,000")


@pytest.mark.parametrize("value", [2**40, 10_001, -1, 1, 10.0, "400"])
def test_frontier_resolution_bounded(value: Any) -> None:
    """resolution=2**40 ate memory at 600 MB/s; now refused before any allocation."""
    raises(GridError, lambda: isw.frontier("Llama-3-8B", resolution=value,
                                           semantics="epoch"), "resolution", "10,000")


def test_frontier_engine_bounds_its_sizes_without_panic() -> None:
    """The compiled entry point refuses huge sizes itself (a PanicException is not a GridError)."""
    from infersweep import _core
    from infersweep.sweep import gpu_dict, model_dict

    m, g = model_dict(isw.model("Llama-3-8B")), gpu_dict(isw.gpu("H100"))
    raises(GridError, lambda: _core.frontier(m, g, None, context_len=0.0, use_pp=True, max_throughput=INF,
                                             n_batch=8, n_gpus=8, n_targets=2**62), "n_targets", "1000000")
    raises(GridError, lambda: _core.frontier(m, g, None, context_len=0.0, use_pp=True, max_throughput=INF,
                                             n_batch=8, n_gpus=8, n_targets=100, num_threads=50_000),
           "num_threads", "50000")


def test_frontier_refuses_a_search_larger_than_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    frontier_module = sys.modules["infersweep.frontier"]  # the name `infersweep.frontier` is the function
    monkeypatch.setattr(frontier_module, "available_memory", lambda: 64 << 20)  # 64 MiB
    raises(GridError, lambda: isw.frontier("Llama-3-8B", resolution=2000,
                                           semantics="epoch"), "resolution=2000",
           "4,000,000 grid points", "GiB")


@pytest.mark.parametrize(("arg", "value"), [("context_len", "0"), ("context_len", 1e13),
                                            ("max_throughput", 0), ("max_throughput", "inf"),
                                            ("use_pp", "yes"), ("exact", 1), ("spec_dec", "Llama-3-8B")])
def test_frontier_arguments_typed(arg: str, value: Any) -> None:
    raises(GridError, lambda: isw.frontier("Llama-3-8B", resolution=4, **{arg: value},
                                           semantics="epoch"), arg)


# ----------------------------------------------------------------------------- threads


@pytest.mark.parametrize("value", [50_000, 10**30, 1025, 2.0, "4"])
def test_num_threads_bounded(value: Any) -> None:
    """50000 spawned threads with the GIL held; 10**30 raised a raw OverflowError."""
    raises(GridError, lambda: sweep(num_threads=value), "num_threads", "1024")


def test_num_threads_bounded_in_frontier() -> None:
    raises(GridError, lambda: isw.frontier("Llama-3-8B", resolution=4, num_threads=50_000,
                                           semantics="epoch"), "num_threads")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts OS threads through /proc")
def test_thread_pools_are_not_kept_per_value_forever() -> None:
    """Each distinct num_threads used to leave its pool alive: 210 threads after k = 1..20."""
    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    isw.sweep("Llama-3-8B", n_gpus=8, semantics="epoch")  # the default pool exists
    before = threads()
    ks = range(1, 21)
    for k in ks:
        df = isw.sweep("Llama-3-8B", n_gpus=[8, 16], num_threads=k, semantics="epoch")
        assert df.height == 2
    # A dropped pool's threads exit on their own shortly after; wait for them (not a timing test:
    # the bound is what is asserted, the wait only gives the threads a chance to go).
    bound = before + 4 * max(ks)  # at most four pools kept, of at most max(ks) threads each
    for _ in range(100):
        if threads() <= bound:
            break
        time.sleep(0.05)
    assert threads() <= bound < before + sum(ks)


def test_same_results_whatever_the_pool() -> None:
    axes = {"n_gpus": [8, 16, 64], "batch_size": [1, 32, 512], "use_pp": [False, True]}
    want = isw.sweep("Llama-3-70B", "H100", **axes, semantics="epoch")
    for k in (1, 3, 1, 7, 2, 5, 3):  # hits and evictions of the pool cache
        assert isw.sweep("Llama-3-70B", "H100", num_threads=k, **axes, semantics="epoch").equals(want)


@pytest.mark.parametrize("value", ["100000000000000000000000", "1e23", "0", "1025"])
def test_cli_threads_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--threads 1e23` printed a traceback; now a usage error (exit 2) ending in one line."""
    from infersweep.cli import main

    assert main(["sweep", "--semantics", "epoch", "-m", "Llama-3-8B", "--threads", value]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--threads" in err.strip().splitlines()[-1]


# ----------------------------------------------------------------------------- infer_model_size


@pytest.mark.parametrize(("arg", "value"), [("tol", 1e-17), ("tol", 0), ("tol", "0.1"), ("lo", 0.0),
                                            ("hi", 1e300), ("resolution", 10**9)])
def test_infer_model_size_arguments_bounded(arg: str, value: Any) -> None:
    """tol=1e-17 never ended: the bisection stalled one ulp wide."""
    raises(GridError, lambda: isw.infer_model_size(100.0, 1.0, "Llama-3-8B", **{arg: value}), arg)


def test_infer_model_size_stops_when_the_bracket_cannot_shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no floor on tol the bisection must still end: at a bracket one ulp wide."""
    monkeypatch.setattr(sys.modules["infersweep.scaling"], "TOL_RANGE", (0.0, 1.0))
    base = isw.model("Llama-3-8B")
    front = isw.frontier(isw.scale_model(base, 2.0), "H100", resolution=6, semantics="epoch")
    row = front.row(front.height // 2, named=True)
    est = isw.infer_model_size(row["tokens_per_s_per_request"], row["usd_per_million_tokens"], base,
                               lo=1.0, hi=4.0, tol=1e-300, resolution=6)
    assert est.iterations < 70  # 2 ends + at most ~55 halvings of [0, ln 4] down to one ulp
    assert 1.0 <= est.factor <= 4.0


# ----------------------------------------------------------------------------- raw exceptions


@pytest.mark.parametrize("value", [10**400, [8, 10**400], np.array([10**400], dtype=object)],
                         ids=["int", "list", "object-array"])
def test_axis_integer_too_large_for_a_float(value: Any) -> None:
    raises(GridError, lambda: sweep(n_gpus=value), "n_gpus")


@pytest.mark.parametrize(("spec", "field"), [("model", "d_model"), ("model", "vocab_size"),
                                             ("gpu", "hbm_bytes"), ("gpu", "inter_node_bandwidth")])
def test_spec_integer_too_large_for_a_float(spec: str, field: str) -> None:
    make = model if spec == "model" else gpu
    raises(SpecError, lambda: make(**{field: 10**400}), field, "401 digits")


@pytest.mark.parametrize("key", ["x", None, math.inf, 8.5, (8,)])
def test_gpu_flops_key_of_the_wrong_type(key: Any) -> None:
    raises(SpecError, lambda: gpu(flops_by_bits={key: 1e15}), "'gpu8'", "flops_by_bits", "4, 8 or 16")


def test_deeply_nested_values_are_shown_short() -> None:
    """A repr of a deeply nested value raised RecursionError inside the error message."""
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    raises(SpecError, lambda: model(d_model=deep), "d_model", "[[[")
    raises(SpecError, lambda: isw.LayerGroup(deep, 128), "n_layers")
    raises(GridError, lambda: sweep(n_gpus=deep), "n_gpus")
    raises(GridError, lambda: isw.explain("Llama-3-8B", n_gpus=deep), "n_gpus", "[[[")
    raises(CatalogError, lambda: isw.sweep(deep, semantics="epoch"), "model", "[[[")  # type: ignore[arg-type]
    raises(CatalogError, lambda: isw.sweep("Llama-3-8B", deep, semantics="epoch"), "gpu", "[[[")  # type: ignore[arg-type]


def test_unknown_field_in_with_() -> None:
    raises(SpecError, lambda: isw.model("Llama-3-8B").with_(d_modle=4096), "d_modle", "d_model")
    raises(SpecError, lambda: isw.gpu("H100").with_(hbm=1), "'hbm'", "hbm_bytes")


def test_toy_critical_batch_finite_at_the_extremes_of_the_accepted_ranges() -> None:
    """It asserted finiteness (AssertionError); the bounds make it finite and positive."""
    fast = gpu(flops_by_bits={8: 1e21, 16: 1e21}, hbm_bandwidth=1e3, mem_utilization=1e-3)
    slow = gpu(flops_by_bits={8: 1e6, 16: 1e6}, flop_utilization=1e-3, hbm_bandwidth=1e18)
    for g, w in ((fast, 2.0), (slow, 1.0)):
        b = isw.toy_critical_batch(model(weight_bytes=w), g)
        assert math.isfinite(b) and b > 0


@pytest.mark.parametrize(("kw", "named"), [({"t_hop": 1e-320}, "t_hop"), ({"t_hop": "x"}, "t_hop"),
                                           ({"n_reduce": 1e-320, "t_hop": 1e-10}, "n_reduce"),
                                           ({"n_reduce": 0.0}, "n_reduce"),
                                           ({"bandwidth": ["raw"]}, "bandwidth")])
def test_toy_closed_forms_arguments(kw: dict[str, Any], named: str) -> None:
    """n_reduce=1e-320 raised ZeroDivisionError; a string t_hop a TypeError."""
    raises(SpecError, lambda: isw.toy_min_latency("Llama-3-8B", "H100", **kw), named)
    raises(SpecError, lambda: isw.toy_optimal_gpus("Llama-3-8B", "H100", **kw), named)


@pytest.mark.parametrize(("value", "shown"), [("8", "'8'"), ([8, "16"], "'16'"), (True, "True"),
                                             (np.array([8 + 1j]), "complex"), (1e13, "1e+12"), (0, "0")])
def test_toy_latency_refuses_what_a_sweep_refuses(value: Any, shown: str) -> None:
    """A string GPU count was silently converted to a number."""
    raises(GridError, lambda: isw.toy_latency("Llama-3-8B", "H100", value, 1), "n_gpus", shown)


def test_toy_latency_shapes_that_do_not_broadcast() -> None:
    raises(GridError, lambda: isw.toy_latency("Llama-3-8B", "H100", [8, 16], [1, 2, 3]), "broadcast")


@pytest.mark.parametrize("factor", [7e84, 1e300, 1e-300, "2", True, NAN])
def test_scale_model_factor_bounded(factor: Any) -> None:
    """7e84 looped forever (heads += 1 stopped changing the heads above 2**53)."""
    raises(SpecError, lambda: isw.scale_model("Llama-3-8B", factor), "factor")


def test_scale_model_out_of_the_accepted_ranges() -> None:
    raises(SpecError, lambda: isw.scale_model(model(d_model=1e6), 1e6), "scale_model", "d_model", "1e+07")


@pytest.mark.parametrize(("kw", "named"), [({"depth_exponent": "x"}, "depth_exponent"),
                                           ({"depth_exponent": 2}, "depth_exponent"), ({"name": 5}, "name")])
def test_scale_model_arguments_typed(kw: dict[str, Any], named: str) -> None:
    raises(SpecError, lambda: isw.scale_model("Llama-3-8B", 2.0, **kw), named)


@pytest.mark.parametrize(("kw", "named"), [({"grid_points": 10**9}, "grid_points"),
                                           ({"golden_steps": -1}, "golden_steps")])
def test_fit_frontier_sizes_bounded(kw: dict[str, Any], named: str) -> None:
    raises(GridError, lambda: isw.fit_frontier([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], **kw), named)


def test_fit_frontier_refuses_strings() -> None:
    raises(GridError, lambda: isw.fit_frontier(["1", "2", "3"], [1.0, 2.0, 4.0]), "speeds", "'1'")


@pytest.mark.parametrize("target", ["0.5", 0, 1.5, NAN])
def test_mfu_target_bounded(target: Any) -> None:
    raises(GridError, lambda: isw.mfu_target("Llama-3-8B", "H100", target, resolution=4), "target_mfu")


# ----------------------------------------------------------------------------- refused, not accepted silently


@pytest.mark.parametrize(("value", "kind"), [
    (np.array([8 + 0j, 16 + 0j]), "complex"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "dates"),
    (np.array([8], dtype="timedelta64[s]"), "durations"),
    (np.array([1, 2], dtype=np.float16).view(np.uint16).astype("V2"), "records"),
])
def test_axis_of_non_real_dtype(value: Any, kind: str) -> None:
    """Complex, datetime64 and timedelta64 axes were read as numbers."""
    raises(GridError, lambda: sweep(n_gpus=value), "n_gpus", kind)


def test_columns_empty_is_refused() -> None:
    """columns=[] returned a 0×0 frame."""
    raises(GridError, lambda: sweep(columns=[]), "columns=[]")


def test_columns_as_one_string_is_that_column() -> None:
    """columns="mfu" was read as ['m', 'f', 'u']."""
    df = sweep(columns="mfu")
    assert df.columns == ["mfu"]
    assert df.equals(sweep(columns=["mfu"]))


@pytest.mark.parametrize("value", [["mfu", 3], 5, [["mfu"]]])
def test_columns_of_the_wrong_type(value: Any) -> None:
    raises(GridError, lambda: sweep(columns=value), "columns")


# ----------------------------------------------------------------------------- physical ranges


@pytest.mark.parametrize(("field", "value"), [("d_model", 1e150), ("d_model", 0.5), ("n_layers", 1e7),
                                              ("n_layers", 0.5), ("vocab_size", 1e10),
                                              ("weight_bytes", 1e308), ("n_experts", 1e7),
                                              ("ffn_up_matrices", 65)])
def test_model_field_outside_its_range(field: str, value: float) -> None:
    """d_model=1e150 was accepted and gave NaN compute, mfu=inf and zero latency."""
    raises(SpecError, lambda: model(**{field: value}), "'toy'", field)


@pytest.mark.parametrize(("field", "value"), [("hbm_bandwidth", 1e30), ("hbm_bytes", 1.0),
                                              ("flop_utilization", 1e-9), ("kernel_latency_s", 10.0),
                                              ("usd_per_hour", 1e-300), ("gpus_per_node", 0.5),
                                              ("inter_node_bandwidth", 1e30)])
def test_gpu_field_outside_its_range(field: str, value: float) -> None:
    raises(SpecError, lambda: gpu(**{field: value}), "'gpu8'", field)


@pytest.mark.parametrize(("axis", "value", "shown"), [("n_gpus", 1e-300, "1e-300"),
                                                     ("batch_size", 1e-7, "1e-7"),
                                                     ("n_gpus", 1e13, "10000000000000")])
def test_axis_outside_its_range(axis: str, value: float, shown: str) -> None:
    """batch_size=1e-300 made the cost N·T/b overflow to inf on a feasible row."""
    raises(GridError, lambda: sweep(**{axis: value}), axis, "[1e-6, 1e12]", f"got {shown}")


@pytest.mark.parametrize(("field", "value"), [("d_model", 1e150), ("n_heads", 0.5), ("head_dim", 1e8)])
def test_engine_refuses_a_field_outside_its_range(field: str, value: float) -> None:
    """Past the Python checks, the engine's own (the same table) still refuses."""
    m = _force(model(), **{field: value})
    raises(SpecError, lambda: isw.sweep(m, "H100", semantics="epoch"), "'toy'", field)


def test_engine_refuses_a_gpu_field_outside_its_range() -> None:
    g = _force(gpu(), hbm_bandwidth=1e30)
    raises(SpecError, lambda: isw.sweep("Llama-3-8B", g, semantics="epoch"), "'gpu8'", "hbm_bandwidth")


def test_readme_lists_the_engine_ranges() -> None:
    """README's "Accepted ranges" table is the engine's table (FIELD_RANGES), row for row."""
    from infersweep.specs import FIELD_RANGES

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    kinds = {"model": "model", "layer group": "layer_group", "gpu": "gpu", "grid": "grid"}
    listed: dict[tuple[str, str], tuple[float, float]] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in kinds and cells[2].startswith("["):
            lo, hi = (float(x) for x in cells[2].strip("[]").split(","))
            for name in cells[1].split("`")[1::2]:
                listed[(kinds[cells[0]], name)] = (lo, hi)
    engine = {(k, f): tuple(r) for k, table in FIELD_RANGES.items() for f, r in table.items()}
    assert listed == engine


# ----------------------------------------------------------------------------- fronts


def test_pareto_front_drops_minus_infinite_and_nan_costs() -> None:
    """A row with cost −inf was kept (and dominated every other row)."""
    df = pl.DataFrame({"tokens_per_s_per_request": [10.0, 5.0, 20.0, 6.0],
                       "usd_per_million_tokens": [-INF, 1.0, NAN, 2.0]})
    front = isw.pareto_front(df)
    assert front["usd_per_million_tokens"].to_list() == [1.0, 2.0]


def test_pareto_front_refuses_a_text_column() -> None:
    df = pl.DataFrame({"tokens_per_s_per_request": [1.0], "usd_per_million_tokens": ["cheap"]})
    raises(GridError, lambda: isw.pareto_front(df), "usd_per_million_tokens", "numeric")


def test_preferred_refuses_a_front_with_no_feasible_row() -> None:
    """It returned an infeasible row (row 0) instead."""
    df = isw.sweep("Llama-3-70B", "H100", n_gpus=[1, 1.5], batch_size=1, semantics="epoch")
    assert not df["feasible"].any()
    raises(GridError, lambda: isw.preferred(df), "infeasible")


def test_preferred_skips_infeasible_rows() -> None:
    df = isw.sweep("Llama-3-70B", "H100", n_gpus=[1, 8], batch_size=1, semantics="epoch")
    assert isw.preferred(df)["n_gpus"][0] == 8.0


# ----------------------------------------------------------------------------- Hugging Face configs

HF = Path(__file__).parent / "data" / "hf"


def hf(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HF / f"{name}.json").read_text())
    data.update(changes)
    return data


class _NoContains(list):  # type: ignore[type-arg]
    """A list whose membership test fails: reading it must go through a set."""

    def __contains__(self, item: object) -> bool:
        raise AssertionError("membership tested on the list (quadratic in the layers)")


@pytest.mark.parametrize("approximate", [False, True])
def test_hf_mlp_only_layers_read_as_a_set(approximate: bool) -> None:
    """`i in mlp_only_layers` over every layer was quadratic: a 425 kB config took 41 s."""
    layers = 20_000
    cfg = hf("qwen3-235b-a22b", num_hidden_layers=layers, mlp_only_layers=_NoContains(range(0, layers, 2)))
    m = isw.Model.from_hf_config(cfg, approximate=approximate)
    assert m.n_layers == layers
    if not approximate:
        assert m.layer_groups is not None
        assert sorted(g.n_layers for g in m.layer_groups) == [layers / 2, layers / 2]


def test_hf_moe_layers_read_as_a_set() -> None:
    cfg = hf("llama-4-maverick-17b-128e")
    text = cfg["text_config"]
    n = text["num_hidden_layers"]
    text["moe_layers"] = _NoContains(range(1, n, 2))
    m = isw.Model.from_hf_config(cfg)
    assert m.layer_groups is not None and math.fsum(g.n_layers for g in m.layer_groups) == n


@pytest.mark.parametrize("layers", [10**8, 100_001, pytest.param(10**400, id="10**400")])
def test_hf_layer_count_bounded(layers: int) -> None:
    """num_hidden_layers=10**8 allocated 1.6 GB of per-layer lists."""
    raises(ConfigError, lambda: isw.Model.from_hf_config(hf("llama-3.1-8b", num_hidden_layers=layers)),
           "num_hidden_layers", "100,000")


@pytest.mark.parametrize(("name", "key", "value"), [
    ("qwen3-235b-a22b", "mlp_only_layers", 5),
    ("qwen3-235b-a22b", "mlp_only_layers", ["1"]),
    ("qwen3-235b-a22b", "mlp_only_layers", [True]),
    ("gpt-oss-120b", "layer_types", 5),
    ("gpt-oss-120b", "layer_types", [["sliding_attention"]]),
    ("qwen3-32b", "use_sliding_window", "yes"),
    ("llama-3.1-8b", "tie_word_embeddings", "no"),
    ("llama-3.1-8b", "hidden_size", "4096"),
    pytest.param("llama-3.1-8b", "hidden_size", 10**400, id="hidden_size-10**400"),
    ("llama-3.1-8b", "num_attention_heads", [32]),
    ("mixtral-8x7b-v0.1", "sliding_window", {"size": 4096}),
])
@pytest.mark.parametrize("approximate", [False, True])
def test_hf_key_of_the_wrong_type(name: str, key: str, value: Any, approximate: bool) -> None:
    """Wrong-typed keys raised TypeError (5 is not iterable, a list is unhashable) or were accepted."""
    cfg = hf(name, **{key: value})
    raises(ConfigError, lambda: isw.Model.from_hf_config(cfg, approximate=approximate), key)


@pytest.mark.parametrize(("key", "value"), [("moe_layers", "1,3"), ("no_rope_layers", "x")])
def test_hf_llama4_text_keys_of_the_wrong_type(key: str, value: Any) -> None:
    cfg = hf("llama-4-maverick-17b-128e")
    cfg["text_config"][key] = value
    raises(ConfigError, lambda: isw.Model.from_hf_config(cfg), key)


@pytest.mark.parametrize("model_type", [["llama"], {"a": 1}, 5])
def test_hf_model_type_of_the_wrong_type(model_type: Any) -> None:
    raises(ConfigError, lambda: isw.Model.from_hf_config(hf("llama-3.1-8b", model_type=model_type)),
           "model_type")


def test_hf_deeply_nested_json(tmp_path: Path) -> None:
    """json.loads raised RecursionError on deeply nested input."""
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    raises(ConfigError, lambda: isw.Model.from_hf_config(path), "config.json", "JSON")


def test_hf_huge_integer_in_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = json.dumps(hf("llama-3.1-8b")).replace('"hidden_size": 4096', '"hidden_size": ' + "9" * 5000)
    path.write_text(text)
    raises(ConfigError, lambda: isw.Model.from_hf_config(path), "config.json")


def test_hf_deeply_nested_value() -> None:
    deep: Any = 4096
    for _ in range(100_000):
        deep = [deep]
    raises(ConfigError, lambda: isw.Model.from_hf_config(hf("llama-3.1-8b", hidden_size=deep)), "hidden_size")


def test_hf_sizes_outside_the_accepted_ranges() -> None:
    raises(ConfigError, lambda: isw.Model.from_hf_config(hf("llama-3.1-8b", hidden_size=10**11)), "d_model")
