"""`infersweep frontier`: speed-cost frontiers, their key points, a sample table and plots."""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..catalog import gpu as lookup_gpu
from ..frontier import PREFERENCE_EXPONENT, preferred
from ..frontier import frontier as compute_frontier
from ..plot import g3, layout_text, plot_frontiers, point_text, require_matplotlib
from ..specs import Model, SpecDec
from .catalog import gpu_terms
from .output import check_writable, context_text, money, text_table, write_data


@dataclass(frozen=True)
class Setting:
    model: Model
    gpu: str
    context_len: float = 0.0
    spec_dec: SpecDec | None = None
    use_pp: bool = True
    max_throughput: float = math.inf

    def describe(self, parts: Sequence[str] = ("model", "gpu", "context", "spec_dec")) -> str:
        out = []
        if "model" in parts and "gpu" in parts:
            out.append(f"{self.model.name} on {self.gpu}")
        elif "model" in parts:
            out.append(self.model.name)
        elif "gpu" in parts:
            out.append(self.gpu)
        if "context" in parts:
            out.append(f"context {context_text(self.context_len)}")
        if "spec_dec" in parts:
            sd = self.spec_dec
            out.append(
                "no spec. dec."
                if sd is None
                else f"spec. dec. {sd.drafter_model.name} α={sd.acceptance:g}, γ≤{sd.gamma_max}"
            )
        if "pp" in parts:
            out.append("pipeline parallelism allowed" if self.use_pp else "no pipeline parallelism")
        if "throughput" in parts and math.isfinite(self.max_throughput):
            out.append(f"≤ {g3(self.max_throughput)} tok/s per instance")
        return ", ".join(out)


def labels_for(settings: Sequence[Setting]) -> tuple[list[str], str]:
    """Short labels naming what varies between settings, and a title naming what does not."""
    fields = {
        "model": lambda s: s.model.name,
        "gpu": lambda s: s.gpu,
        "context": lambda s: s.context_len,
        "spec_dec": lambda s: s.spec_dec,
    }
    varying = [k for k, f in fields.items() if len({f(s) for s in settings}) > 1]
    fixed = [k for k in fields if k not in varying] + ["pp", "throughput"]
    if not varying:
        return [settings[0].describe()], settings[0].describe(fixed)
    return [s.describe(varying) for s in settings], settings[0].describe(fixed)


def run_frontier(
    s: Setting, resolution: int, n_targets: int = 1000, num_threads: int | None = None
) -> pl.DataFrame:
    return compute_frontier(
        s.model,
        s.gpu,
        context_len=s.context_len,
        use_pp=s.use_pp,
        spec_dec=s.spec_dec,
        max_throughput=s.max_throughput,
        resolution=resolution,
        n_targets=n_targets,
        num_threads=num_threads,
    )


def key_points(front: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The fastest, preferred (max speed³/cost) and cheapest points of a frontier."""
    f = front.filter(pl.col("usd_per_million_tokens").is_finite())
    if f.height == 0:
        return {}
    x = f["tokens_per_s_per_request"].to_numpy()
    y = f["usd_per_million_tokens"].to_numpy()
    return {
        "fastest": f.row(int(np.argmax(x)), named=True),
        "preferred": preferred(f).row(0, named=True),
        "cheapest": f.row(int(np.argmin(y)), named=True),
    }


def _frontier_row(r: dict[str, Any], mark: str) -> list[str]:
    return [
        f"{r['tokens_per_s_per_request']:.1f}",
        money(r["usd_per_million_tokens"]),
        g3(r["n_gpus"]),
        g3(r["batch_size"]),
        f"{100 * r['mfu']:.1f}%",
        f"{1e3 * r['token_latency_s']:.2f}",
        layout_text(r),
        mark,
    ]


def frontier_table(front: pl.DataFrame, n_rows: int) -> str:
    f = front.filter(pl.col("usd_per_million_tokens").is_finite())
    if f.height == 0:
        return "  (no points)"
    best = preferred(f).row(0, named=True)
    idx = set(np.unique(np.round(np.linspace(0, f.height - 1, max(2, n_rows))).astype(int)).tolist())
    rows = []
    for i in sorted(idx):
        r = f.row(i, named=True)
        rows.append(_frontier_row(r, "◀ preferred" if r == best else ""))
    if not any(r[-1] for r in rows):  # the preferred point between two sampled rows: show it too
        pos = int(
            np.searchsorted(-f["tokens_per_s_per_request"].to_numpy(), -best["tokens_per_s_per_request"])
        )
        before = sum(1 for i in sorted(idx) if i < pos)
        rows.insert(before, _frontier_row(best, "◀ preferred"))
    return text_table(
        ["tok/s", "$/M tok", "N GPUs", "batch", "MFU", "latency ms", "layout", ""], rows, "rrrrrrll"
    )


def cmd_frontier(args: argparse.Namespace) -> int:
    if args.out is not None:
        require_matplotlib()
        check_writable(args.out)
    if args.data is not None:
        check_writable(args.data)
    settings = [
        Setting(m, g, c, sd, args.use_pp, args.max_throughput)
        for m, g, c, sd in itertools.product(
            args.model, args.gpu or ["H100"], args.context or [0.0], args.spec_dec or [None]
        )
    ]
    labels, title = labels_for(settings)
    fronts: dict[str, pl.DataFrame] = {}
    for s, label in zip(settings, labels, strict=True):
        t0 = time.perf_counter()
        front = run_frontier(s, args.resolution, args.targets, args.threads)
        secs = time.perf_counter() - t0
        fronts[label] = front
        print(f"== {s.describe(('model', 'gpu', 'context', 'spec_dec', 'pp', 'throughput'))} ==")
        print(f"  {gpu_terms(lookup_gpu(s.gpu))}")
        print(f"{front.height} frontier points (resolution {args.resolution}, {secs:.1f} s)")
        pts = key_points(front)
        if not pts:
            print("  no feasible point: nothing fits under these limits\n")
            continue
        for kind in ("fastest", "preferred", "cheapest"):
            print(f"  {kind:<10} {point_text(pts[kind])}")
        print(f"  (preferred = max speed^{PREFERENCE_EXPONENT:g}/cost, the paper's fitted user preference)\n")
        print(frontier_table(front, args.rows))
        print()
    if args.data is not None:
        frames = [
            f.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String)).select(
                pl.lit(label).alias("setting"), pl.all()
            )
            for label, f in fronts.items()
        ]
        write_data(pl.concat(frames, how="vertical_relaxed"), args.data)
        print(f"wrote {sum(f.height for f in frames)} frontier points to {args.data}")
    if args.out is not None:
        plot_frontiers(fronts, args.out, title=args.title or f"Speed–cost frontier: {title}")
        print(f"wrote the plot to {args.out}")
    return 0
