"""`infersweep validate`: predicted against measured on the shipped deployments (isw.validate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import SpecError
from ..validation import validate, validation_summary
from .output import text_table

SUMMARY_HEADERS = [
    "group", "points", "expressible", "median error", "geomean pred/meas", "≤15%", "≤30%", "≤2×",
]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def summary_rows(s: pl.DataFrame) -> list[list[str]]:
    """The cells of a validation_summary frame, one list per row (the CLI and the README table)."""
    rows = []
    for r in s.iter_rows(named=True):
        label = "all" if r["group"] == "all" else f"{r['group']} = {r['value'] or '(none)'}"
        med = "–" if r["median_abs_error_pct"] is None else f"{r['median_abs_error_pct']:.0f}%"
        geo = "–" if r["geomean_ratio"] is None else f"{r['geomean_ratio']:.2f}"
        rows.append([label, str(r["n_points"]), str(r["n"]), med, geo, _pct(r["within_15pct"]),
                     _pct(r["within_30pct"]), _pct(r["within_2x"])])
    return rows


def _points(v: pl.DataFrame) -> str:
    rows: list[list[Any]] = []
    for r in v.iter_rows(named=True):
        if r["expressible"]:
            cells = [f"{r['measured_step_ms']:.2f}", f"{r['predicted_step_ms']:.2f}", f"{r['ratio']:.2f}", ""]
        else:
            meas = "" if r["measured_step_ms"] is None else f"{r['measured_step_ms']:.2f}"
            cells = [meas, "", "", r["reason"]]
        rows.append([r["id"], r["model"], r["gpu_catalog"], r["scenario"], *cells])
    return text_table(["id", "model", "gpu", "scenario", "measured ms", "predicted ms", "ratio", "reason"],
                      rows, align="llllrrrl")


def _runtime(args: argparse.Namespace, command: str = "validate") -> Any:
    """The runtime --profile names (a shipped profile or a TOML file), or None."""
    name = getattr(args, "profile", None)
    if name is None:
        return None
    if args.semantics != "serving":
        raise SpecError(f"{command}: --profile needs --semantics serving")
    from ..calibration import load_profile, shipped_profiles

    shipped = shipped_profiles()
    if name in shipped:
        return shipped[name].runtime
    if not Path(name).is_file():
        raise SpecError(f"{command}: --profile {name!r} is neither a shipped profile ({sorted(shipped)}) "
                        "nor a file")
    return load_profile(name).runtime


def cmd_validate(args: argparse.Namespace) -> int:
    v = validate(semantics=args.semantics, runtime=_runtime(args))
    if args.csv:
        sys.stdout.write(v.write_csv())
        return 0
    s = validation_summary(v, by=args.by)
    if args.points:
        print(_points(v))
        print()
    print(f"decode-step time (saturation rows, kind d: an instance's time per output token), "
          f"{args.semantics} semantics against {v.height} measured deployments "
          f"({v['expressible'].sum()} expressible; docs/measurements.md):")
    print(text_table(SUMMARY_HEADERS, summary_rows(s), align="l" + "r" * 7))
    return 0
