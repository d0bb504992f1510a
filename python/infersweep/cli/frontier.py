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
from .sweep import epoch_flags, serving_flags
from .validate import _runtime


@dataclass(frozen=True)
class Setting:
    """One frontier to compute: under ``semantics="epoch"`` the paper's search (``use_pp``,
    ``spec_dec``); under ``"serving"`` (the default) the serving grid (``n_gpus``, ``batch_size``,
    ``max_gpus``; None: the defaults of :func:`infersweep.frontier`) and ``runtime`` (None:
    ``Runtime.default()``; ``profile`` names it)."""

    model: Model
    gpu: str
    context_len: float = 0.0
    spec_dec: SpecDec | None = None
    use_pp: bool = True
    max_throughput: float = math.inf
    semantics: str = "serving"
    n_gpus: tuple[int, ...] | None = None
    batch_size: tuple[int, ...] | None = None
    max_gpus: int | None = None
    runtime: Any = None
    profile: str | None = None

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
        if "spec_dec" in parts and self.semantics != "serving":
            sd = self.spec_dec
            out.append(
                "no spec. dec."
                if sd is None
                else f"spec. dec. {sd.drafter_model.name} α={sd.acceptance:g}, γ≤{sd.gamma_max}"
            )
        if "pp" in parts and self.semantics == "serving":
            rt = "isw.Runtime.default()" if self.profile is None else f"profile {self.profile}"
            out.append(f"serving semantics, {rt}")
        elif "pp" in parts:
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
    s: Setting, resolution: int | None = None, n_targets: int | None = None, num_threads: int | None = None
) -> pl.DataFrame:
    """The frontier of one setting (``resolution`` and ``n_targets``: epoch's; None: the paper's)."""
    if s.semantics == "serving":
        return compute_frontier(
            s.model,
            s.gpu,
            context_len=s.context_len,
            max_throughput=s.max_throughput,
            num_threads=num_threads,
            semantics="serving",
            n_gpus=s.n_gpus,
            batch_size=s.batch_size,
            max_gpus=s.max_gpus,
            runtime=s.runtime,
        )
    return compute_frontier(
        s.model,
        s.gpu,
        context_len=s.context_len,
        use_pp=s.use_pp,
        spec_dec=s.spec_dec,
        max_throughput=s.max_throughput,
        resolution=400 if resolution is None else resolution,
        n_targets=1000 if n_targets is None else n_targets,
        num_threads=num_threads,
        semantics="epoch",
    )


def grid_text(s: Setting) -> str:
    """How the frontier was searched, in a line (the defaults a user cannot see, said)."""
    if s.semantics != "serving":
        return ""
    from ..frontier import SERVING_MAX_BATCH, SERVING_MAX_GPUS, serving_gpu_counts

    ns = list(s.n_gpus) if s.n_gpus is not None else serving_gpu_counts(s.max_gpus or SERVING_MAX_GPUS)
    counts = (", ".join(str(n) for n in ns) if len(ns) <= 12
              else f"{ns[0]}, {ns[1]}, ..., {ns[-1]} ({len(ns)} counts)")
    batches = (", ".join(str(b) for b in s.batch_size) if s.batch_size is not None else
               f"2^(k/4) rounded, 1 to {SERVING_MAX_BATCH}, plus the largest that fits at each GPU count")
    return f"  grid: GPU counts {counts}; batch sizes {batches}; every valid integer layout at each point"


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
    serving = args.semantics == "serving"
    epoch_flags(args, {"--pp/--no-pp": args.use_pp is not None, "--resolution": args.resolution is not None,
                       "--targets": args.targets is not None,
                       "--spec-dec": args.spec_dec is not None and any(s is not None for s in args.spec_dec)})
    serving_flags(args, {"--n-gpus": args.n_gpus, "--batch-size": args.batch_size,
                         "--max-gpus": args.max_gpus, "--profile": args.profile})
    runtime = _runtime(args, "frontier") if serving else None
    settings = [
        Setting(m, g, c, sd, True if args.use_pp is None else args.use_pp, args.max_throughput,
                args.semantics, None if args.n_gpus is None else tuple(args.n_gpus),
                None if args.batch_size is None else tuple(args.batch_size), args.max_gpus, runtime,
                args.profile)
        for m, g, c, sd in itertools.product(
            args.model, args.gpu or ["H100"], args.context or [0.0], args.spec_dec or [None]
        )
    ]
    resolution = 400 if args.resolution is None else args.resolution
    labels, title = labels_for(settings)
    fronts: dict[str, pl.DataFrame] = {}
    for s, label in zip(settings, labels, strict=True):
        t0 = time.perf_counter()
        front = run_frontier(s, resolution, args.targets, args.threads)
        secs = time.perf_counter() - t0
        fronts[label] = front
        print(f"== {s.describe(('model', 'gpu', 'context', 'spec_dec', 'pp', 'throughput'))} ==")
        print(f"  {gpu_terms(lookup_gpu(s.gpu))}")
        if serving:
            print(grid_text(s))
            print(f"{front.height} frontier points ({secs:.1f} s)")
        else:
            print(f"{front.height} frontier points (resolution {resolution}, {secs:.1f} s)")
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
