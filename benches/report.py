"""Every figure of the performance table next to its bar, from one run on this machine.

    python benches/report.py            # about a minute; add --rounds 11 for steadier medians

The workloads are the pytest benchmarks' own (test_bench_sweep.py, test_bench_scale.py); the
layout-search rows come from `cargo bench --bench layout_search` (skipped when cargo is not
on PATH). Each figure is the median of several rounds; a ratio compares medians taken in the
same run, so that load from other processes affects both sides alike.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import infersweep as isw  # noqa: E402
import test_bench_scale as scale  # noqa: E402
import test_bench_sweep as zipped  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_s(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm-up: imports, first-call allocations
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def layout_search() -> dict[str, float] | None:
    """Best-of-7 seconds per setting from the Rust bench, or None without cargo."""
    if shutil.which("cargo") is None:
        return None
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "layout_search"], cwd=HERE.parent,
                         capture_output=True, text=True, check=True).stdout
    found = re.findall(r"use_pp=(true|false): best of 7 ([0-9.]+) s", out)
    return {pp: float(s) for pp, s in found}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7, help="rounds per Rust figure (default 7)")
    ap.add_argument("--no-cargo", action="store_true", help="skip the Rust layout-search bench")
    args = ap.parse_args()
    rows: list[tuple[str, str, str, bool | None]] = []

    search = None if args.no_cargo else layout_search()
    if search is None:
        rows.append(("layout search 400 x 400, PP / no PP", "0.25 s / 0.03 s", "skipped (no cargo)", None))
    else:
        rows.append(("layout search 400 x 400, use_pp=True", "<= 0.25 s", f"{search['true']:.3f} s",
                     search["true"] <= 0.25))
        rows.append(("layout search 400 x 400, use_pp=False", "<= 0.03 s", f"{search['false']:.4f} s",
                     search["false"] <= 0.03))

    product_rows = 400 * 400 * len(scale.CONTEXTS)
    t = median_s(lambda: isw.sweep(scale.MODEL, "H100", n_gpus=scale.N_GRID, batch_size=scale.B_GRID,
                                   context_len=scale.CONTEXTS, progress=False,
                                   semantics="epoch"), args.rounds)
    rows.append((f"isw.sweep product grid, {product_rows:,} rows, no PP", ">= 3 M rows/s",
                 f"{product_rows / t / 1e6:.2f} M rows/s", product_rows / t >= 3e6))

    t = median_s(lambda: isw.frontier(scale.MODEL, "H100", use_pp=True, semantics="epoch"), args.rounds)
    rows.append(("isw.frontier end to end, use_pp=True", "<= 0.5 s", f"{t:.3f} s", t <= 0.5))

    for use_pp in (False, True):
        rust_rows, ref_rows = len(zipped.ROWS) * zipped.RUST_REPEAT, len(zipped.ROWS)
        rust_s = median_s(functools.partial(zipped.rust_sweep, use_pp), args.rounds) / rust_rows
        ref_s = median_s(functools.partial(zipped.reference_sweep, use_pp), 3) / ref_rows
        rows.append((f"Rust sweep vs reference.py per row, {'PP' if use_pp else 'no PP'}", ">= 1,000x",
                     f"{1 / rust_s / 1e6:.2f} M vs {1 / ref_s / 1e3:.2f} k rows/s = {ref_s / rust_s:,.0f}x",
                     ref_s / rust_s >= 1000))

    print(f"{cpu_name()}, {os.cpu_count()} cores, {platform.system()}, Python "
          f"{platform.python_version()}, infersweep {isw.__version__}\n")
    print("| workload | bar | measured | met |\n|---|---|---|---|")
    for name, bar, got, met in rows:
        print(f"| {name} | {bar} | {got} | {'-' if met is None else 'yes' if met else 'NO'} |")


if __name__ == "__main__":
    main()
