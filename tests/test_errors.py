"""Bad input gets a clear exception, never a panic, a hang or a silent NaN.

Every error is an ``isw.SpecError``, ``isw.GridError`` or ``isw.CatalogError`` (subclasses of
ValueError or KeyError) whose message names the spec, the field and the offending value, so
that a sweep over thousands of configurations points straight at the bad input. One test per
case; a pyo3 PanicException derives from BaseException, so ``pytest.raises(SpecError)`` never
mistakes a panic for a clean error.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import infersweep as isw
from infersweep.errors import CatalogError, GridError, InfersweepError, SpecError

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
    return isw.sweep("Llama-3-8B", "H100", **kw)


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
    raises(SpecError, lambda: isw.sweep(m4, gpu(), n_gpus=[8, 16], grid=grid),
           "'gpu8'", "flops_by_bits", "4-bit", "'toy'", "weight_bytes=0.5")


@pytest.mark.parametrize("grid", ["product", "zip"])
def test_drafter_precision_with_no_flop_rate(grid: str) -> None:
    drafter = model(name="draft4", weight_bytes=0.5)
    raises(SpecError, lambda: isw.sweep(model(), gpu(), n_gpus=[8, 16], spec_dec=isw.SpecDec(drafter, 0.5),
                                        grid=grid),
           "'gpu8'", "flops_by_bits", "4-bit", "'draft4'", "weight_bytes=0.5")


def test_zip_checks_only_pairs_it_uses() -> None:
    """In a zip grid a 4-bit model on a GPU without a 4-bit rate is an error only if that pair occurs."""
    m4, m16 = model(name="m4", weight_bytes=0.5), model(name="m16")
    h100, g8 = isw.gpu("H100"), gpu()
    df = isw.sweep([m4, m16], [h100, g8], n_gpus=8, grid="zip")
    assert df.height == 2
    raises(SpecError, lambda: isw.sweep([m4, m16], [g8, h100], n_gpus=8, grid="zip"), "'gpu8'", "'m4'")


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
        isw.sweep("Llama-3-70B", "H100", spec_dec=isw.SpecDec("Llama-3-8B", 0.5, 2**40))

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
    raises(SpecError, lambda: isw.sweep([model(), model(d_model=1024)], "H100"), "'toy'", "share")


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
    msg = raises(CatalogError, lambda: isw.sweep("Llama-3-70", "H100"), "'Llama-3-70'", "close matches",
                 "'Llama-3-70B'")
    assert isinstance(CatalogError(msg), KeyError)


def test_unknown_gpu_lists_close_matches() -> None:
    raises(CatalogError, lambda: isw.sweep("Llama-3-8B", "H10"), "gpu", "'H10'", "'H100'")


def test_unknown_drafter_lists_close_matches() -> None:
    raises(CatalogError, lambda: isw.SpecDec("Llama-3-8", 0.5), "'Llama-3-8'", "'Llama-3-8B'")


def test_unknown_name_with_no_close_match() -> None:
    raises(CatalogError, lambda: isw.model("zzzzzzzz"), "'zzzzzzzz'", "no close match", "catalog_models()")


def test_model_of_wrong_type() -> None:
    raises(CatalogError, lambda: isw.sweep(None, "H100"), "model", "None")  # type: ignore[arg-type]
    raises(CatalogError, lambda: isw.sweep("Llama-3-8B", 5), "gpu", "5")  # type: ignore[arg-type]


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
    raises(SpecError, lambda: isw.sweep(m, "H100"), "'toy'", field, shown)


def test_engine_rejects_invalid_gpu_without_panic() -> None:
    g = _force(gpu(), hbm_bytes=-1.0)
    raises(SpecError, lambda: isw.sweep("Llama-3-8B", g), "'gpu8'", "hbm_bytes", "-1")


@pytest.mark.parametrize(("field", "value", "shown"), [("acceptance", 1.0, "1"), ("acceptance", NAN, "nan"),
                                                       ("gamma_max", 1, "1")])
def test_engine_rejects_invalid_spec_dec_without_panic(field: str, value: float, shown: str) -> None:
    sd = _force(isw.SpecDec("Llama-3-8B", 0.5), **{field: value})
    raises(GridError, lambda: isw.sweep("Llama-3-70B", "H100", spec_dec=sd), field, shown)
