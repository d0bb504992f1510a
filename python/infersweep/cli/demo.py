"""`infersweep demo`: the paper's headline comparisons, as tables and plots."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .._atomic import write_bytes_atomically
from .._core import __version__
from ..catalog import gpu as lookup_gpu
from ..catalog import gpu_names
from ..catalog import model as lookup_model
from ..frontier import PREFERENCE_EXPONENT
from ..plot import PlotDependencyError, g3, plot_frontiers, require_matplotlib
from ..specs import SpecDec
from .args import PROG
from .frontier import Setting, key_points, run_frontier
from .output import money, text_table


@dataclass
class Comparison:
    key: str
    title: str
    settings: list[tuple[str, Setting]]
    note: str = ""


def _setting(model: str, gpu: str, context_len: float = 0.0, spec_dec: SpecDec | None = None) -> Setting:
    # The demo reproduces the paper: epoch semantics, whatever the default of isw.frontier.
    return Setting(lookup_model(model), gpu, context_len, spec_dec, semantics="epoch")


def _price_and_caps(gpu: str) -> str:
    g = lookup_gpu(gpu)
    return f"${g.usd_per_hour:.2f}/h, caps {g.flop_utilization:g}/{g.mem_utilization:g}"


def demo_comparisons() -> list[Comparison]:
    sd = SpecDec("Llama-3-8B-MQA", 0.8, 5)
    base = _setting("Llama-3-70B", "H100")
    h100 = f"H100 at {_price_and_caps('H100')}"
    models = ["Llama-3-70B", "Llama-3-405B", "Mistral-Large-2", "Mixtral-8x22B", "DeepSeek-V3-epoch", "GPT-4"]
    # Generations from the paper's catalog first, then newer parts when the catalog has them.
    known = set(gpu_names())
    gpus = [
        n
        for n in ("V100", "A100", "H100", "H200", "B200", "GB200-NVL72", "MI300X", "TPU-v4", "Groq-LPU")
        if n in known
    ]
    return [
        Comparison(
            "a_models",
            "(a) Models on H100",
            [(n, _setting(n, "H100")) for n in models],
            f"context 0, pipeline parallelism allowed, {h100}",
        ),
        Comparison(
            "b_speculative_decoding",
            "(b) Speculative decoding, Llama-3-70B on H100",
            [
                ("plain decoding", base),
                ("speculative decoding", _setting("Llama-3-70B", "H100", spec_dec=sd)),
            ],
            f"drafter Llama-3-8B-MQA, acceptance 0.8, drafts of up to 5 tokens, {h100}",
        ),
        Comparison(
            "c_gpus",
            "(c) GPU generations, Llama-3-70B",
            [(f"{n} ({_price_and_caps(n)})", _setting("Llama-3-70B", n)) for n in gpus],
            "each at its catalog price and utilisation caps (FLOP/memory): the ranking depends on both",
        ),
        Comparison(
            "d_quantization",
            "(d) Quantization, Llama-3-70B on H100",
            [
                ("16-bit", base),
                ("8-bit", _setting("Llama-3-70B-8bit", "H100")),
                ("4-bit", _setting("Llama-3-70B-4bit", "H100")),
            ],
            f"weight precision; activations 16-bit, {h100}",
        ),
        Comparison(
            "e_long_context",
            "(e) Long context, Llama-3-70B on H100",
            [("context 0", base), ("context 100k", _setting("Llama-3-70B", "H100", 100_000.0))],
            f"tokens already in context, {h100}",
        ),
    ]


def default_out_dir() -> Path:
    """A new folder for the demo's files when --out-dir is not given: under the system's temporary
    folder, so that a demo run in any folder leaves nothing there (the path is printed)."""
    return Path(tempfile.mkdtemp(prefix="infersweep-demo-"))


def cmd_demo(args: argparse.Namespace) -> int:
    resolution = args.resolution or (100 if args.quick else 400)
    out_dir: Path = args.out_dir if args.out_dir is not None else default_out_dir()
    plots = not args.no_plots
    if plots:
        try:
            require_matplotlib()
        except PlotDependencyError as e:
            print(f"{PROG}: warning: {e}; the plots are skipped", file=sys.stderr)
            plots = False
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(20, "not a folder", str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    comparisons = demo_comparisons()
    unique = list(dict.fromkeys(s for c in comparisons for _, s in c.settings))
    cache: dict[Setting, tuple[pl.DataFrame, float]] = {}
    t_start = time.perf_counter()
    print(
        f"{PROG} demo: {len(unique)} frontiers at resolution {resolution} "
        f"({resolution}×{resolution} GPU counts × batch sizes each); writing into {out_dir}",
        file=sys.stderr,
    )
    for i, s in enumerate(unique, 1):
        t0 = time.perf_counter()
        cache[s] = (run_frontier(s, resolution, num_threads=args.threads), time.perf_counter() - t0)
        print(f"[{i:2d}/{len(unique)}] {s.describe():<70} {cache[s][1]:5.1f} s", file=sys.stderr, flush=True)

    lines = [
        f"infersweep {__version__} — the headline comparisons of Erdil (2025), "
        "'Inference economics of language models' (Epoch AI)",
        f"Frontier resolution {resolution}; pipeline parallelism allowed; preferred point = argmax "
        f"speed^{PREFERENCE_EXPONENT:g}/cost; speeds in output tokens/s per request, costs in $ per "
        "million output tokens.",
        "Columns: the fastest point's speed and cost; the preferred point's speed, cost, GPUs (pref. N), "
        "batch (pref. b) and MFU; the fastest speed and the preferred cost relative to the first row.",
        "",
    ]
    for c in comparisons:
        fronts = {label: cache[s][0] for label, s in c.settings}
        lines.append(f"{c.title} — {c.note}")
        rows = []
        base_pts: dict[str, dict[str, Any]] = {}
        for label, front in fronts.items():
            pts = key_points(front)
            if not pts:
                rows.append([label, "no feasible point"] + [""] * 8)
                continue
            base_pts = base_pts or pts
            f, p = pts["fastest"], pts["preferred"]
            rows.append(
                [
                    label,
                    f"{f['tokens_per_s_per_request']:.1f}",
                    money(f["usd_per_million_tokens"]),
                    f"{p['tokens_per_s_per_request']:.1f}",
                    money(p["usd_per_million_tokens"]),
                    g3(p["n_gpus"]),
                    g3(p["batch_size"]),
                    f"{100 * p['mfu']:.1f}%",
                    f"×{f['tokens_per_s_per_request'] / base_pts['fastest']['tokens_per_s_per_request']:.2f}",
                    f"×{p['usd_per_million_tokens'] / base_pts['preferred']['usd_per_million_tokens']:.2f}",
                ]
            )
        lines.append(
            text_table(
                [
                    "setting",
                    "fastest",
                    "$/M",
                    "preferred",
                    "$/M",
                    "pref. N",
                    "pref. b",
                    "pref. MFU",
                    "speed vs 1st",
                    "pref. $ vs 1st",
                ],
                rows,
                "lrrrrrrrrr",
            )
        )
        lines.append("  " + _takeaway(c, fronts))
        if plots:
            path = out_dir / f"{c.key}.{args.format}"
            plot_frontiers(fronts, path, title=f"{c.title}\n{c.note}")
            lines.append(f"  plot: {path}")
        lines.append("")
    elapsed = time.perf_counter() - t_start
    lines.append(
        f"{len(unique)} frontiers in {elapsed:.1f} s (resolution {resolution}"
        + (", --quick" if args.quick else "")
        + ")."
    )
    text = "\n".join(lines)
    print(text)
    write_bytes_atomically(out_dir / "summary.txt", (text + "\n").encode("utf-8"))
    print(f"wrote {out_dir / 'summary.txt'}" + (f" and {len(comparisons)} plots" if plots else ""))
    return 0


def _takeaway(c: Comparison, fronts: dict[str, pl.DataFrame]) -> str:
    pts = {label: key_points(f) for label, f in fronts.items()}
    pts = {k: v for k, v in pts.items() if v}
    if not pts:
        return "→ no feasible point in any setting"
    fastest = max(pts, key=lambda k: pts[k]["fastest"]["tokens_per_s_per_request"])
    cheapest = min(pts, key=lambda k: pts[k]["preferred"]["usd_per_million_tokens"])
    fp = pts[fastest]["fastest"]
    cp = pts[cheapest]["preferred"]
    return (
        f"→ fastest: {fastest} at {fp['tokens_per_s_per_request']:.1f} tok/s; cheapest preferred point: "
        f"{cheapest} at {money(cp['usd_per_million_tokens'])}/M ({cp['tokens_per_s_per_request']:.1f} tok/s)"
    )
