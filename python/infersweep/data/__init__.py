"""Measured deployments: the yardstick of every semantics (docs/measurements.md).

``measurements()`` returns the shipped dataset ``measured_deployments.csv`` as a polars DataFrame
with the explicit types of :data:`SCHEMA`. Every row carries its source and a confidence tag; every
number that was not read in the source has a ``<column>_how`` companion holding the formula over
the row's raw columns that produced it (:func:`derive` evaluates it; the tests recompute every one).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import polars as pl

from ..errors import SpecError

__all__ = ["ALLOWED", "DERIVABLE", "MEASURED", "SCHEMA", "SCHEMA_VERSION", "derive", "measurements"]

#: Version of the CSV's schema (its ``schema_version`` column); bumped on any change of columns.
SCHEMA_VERSION = 1

#: The value of a ``<column>_how`` cell when the number was read in the source.
MEASURED = "measured"

_STR, _INT, _F64, _BOOL = pl.String(), pl.Int64(), pl.Float64(), pl.Boolean()

#: Every column, in file order, with its type (docs/measurements.md describes each).
SCHEMA: dict[str, pl.DataType] = {
    "schema_version": _INT,
    "id": _STR,
    "source_id": _STR,
    "source": _STR,
    "source_date": _STR,
    "confidence": _STR,
    "workload_confidence": _STR,
    "model": _STR,
    "model_catalog": _STR,
    "hardware": _STR,
    "gpu_catalog": _STR,
    "n_gpus": _INT,
    "gpus_per_instance": _INT,
    "instances": _INT,
    "framework": _STR,
    "framework_version": _STR,
    "weight_precision": _STR,
    "attention_precision": _STR,
    "expert_precision": _STR,
    "kv_precision": _STR,
    "activation_precision": _STR,
    "tp": _INT,
    "pp": _INT,
    "ep": _INT,
    "attention_dp": _INT,
    "cuda_graphs": _BOOL,
    "scenario": _STR,
    "batching": _STR,
    "isl": _F64,
    "osl": _F64,
    "osl_how": _STR,
    "concurrency": _F64,
    "batch_size": _F64,
    "spec_decoding": _STR,
    "per_user_kind": _STR,
    "tpot_ms": _F64,
    "tpot_ms_how": _STR,
    "tpot_p99_ms": _F64,
    "ttft_ms": _F64,
    "throughput_tok_s": _F64,
    "throughput_tok_s_how": _STR,
    "throughput_tok_s_per_gpu": _F64,
    "throughput_tok_s_per_gpu_how": _STR,
    "per_user_tok_s": _F64,
    "per_user_tok_s_how": _STR,
    "samples_per_s": _F64,
    "mean_latency_ms": _F64,
    "decode_batch": _F64,
    "decode_batch_how": _STR,
    "measured_step_ms": _F64,
    "measured_step_ms_how": _STR,
    "notes": _STR,
}

#: Columns that are either read in the source (``<col>_how`` = "measured") or derived by a formula.
DERIVABLE = ("osl", "tpot_ms", "throughput_tok_s", "throughput_tok_s_per_gpu", "per_user_tok_s",
             "decode_batch", "measured_step_ms")

_PRECISIONS = frozenset({"", "bf16", "fp16", "fp8", "int8", "fp4", "nvfp4", "mxfp4"})

#: Allowed values of the categorical columns ("" = not stated by the source).
ALLOWED: dict[str, frozenset[str]] = {
    "confidence": frozenset({"V", "S", "M", "D", "?"}),
    "workload_confidence": frozenset({"V", "S", "M", "D", "?"}),
    "scenario": frozenset({"offline", "server", "interactive", "static", "in_flight"}),
    "batching": frozenset({"static", "in_flight"}),
    "per_user_kind": frozenset({"", "a", "b", "c", "d"}),
    "weight_precision": _PRECISIONS,
    "attention_precision": _PRECISIONS,
    "expert_precision": _PRECISIONS,
    "kv_precision": _PRECISIONS,
    "activation_precision": _PRECISIONS,
}

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}


def derive(formula: str, row: Mapping[str, Any]) -> float:
    """Evaluate a ``<column>_how`` formula (numbers, column names, + - * / and parentheses) on a row.

    A column that is null in the row makes the formula an error: a derived number must come from
    raw numbers that are all present.
    """

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in SCHEMA or node.id.endswith("_how"):
                raise SpecError(f"measurements: formula {formula!r} names unknown column {node.id!r}")
            value = row.get(node.id)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise SpecError(f"measurements: formula {formula!r} reads {node.id!r}, which is empty "
                                f"in row {row.get('id')!r}")
            return float(value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        raise SpecError(f"measurements: formula {formula!r}: only numbers, columns and + - * / are allowed")

    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as e:
        raise SpecError(f"measurements: formula {formula!r} does not parse: {e.msg}") from None
    return ev(tree)


def measurements() -> pl.DataFrame:
    """The shipped dataset of measured deployments, one row per measurement (docs/measurements.md).

    Types are those of :data:`SCHEMA`; empty cells are null (an empty string in a text column
    means "not stated by the source").
    """
    path = resources.files(__package__).joinpath("measured_deployments.csv")
    with resources.as_file(path) as p:
        df = pl.read_csv(p, schema=SCHEMA, null_values=[""])
    text = [c for c, t in SCHEMA.items() if t == _STR]
    return df.with_columns(pl.col(text).fill_null(""))
