"""The ``infersweep`` command line.

    infersweep frontier --model Llama-3-70B --gpu H100 --out frontier.png
    infersweep sweep --model Llama-3-70B --n-gpus 8 16 32 --batch-size 1 4 16 --out results.parquet
    infersweep explain --model Llama-3-70B --gpu H100 --n-gpus 8 --batch-size 64
    infersweep models | gpus
    infersweep demo --quick

Exit status: 0 on success, 2 for a usage error or bad input (an unknown name, an invalid
value), 1 when the work itself fails (an output file that cannot be written, matplotlib
missing for a plot). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ._core import __version__
from .catalog import catalog_gpus, catalog_models, gpu_names
from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .errors import InfersweepError
from .frontier import PREFERENCE_EXPONENT, preferred
from .frontier import frontier as compute_frontier
from .plot import FORMATS as PLOT_FORMATS
from .plot import PlotDependencyError, g3, layout_text, plot_frontiers, point_text, require_matplotlib
from .specs import SpecDec
from .sweep import INPUT_COLUMNS, OUTPUT_COLUMNS, sweep

PROG = "infersweep"
DATA_FORMATS = (".parquet", ".csv", ".json")
_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


class UsageError(Exception):
    """Bad input found after parsing: reported like an argparse error (exit 2)."""


# ============================================================== argument types


def number(text: str) -> float:
    """A real number; accepts 1e4, 100k, 2M, 1_000 and inf."""
    t = text.strip().replace("_", "")
    mult = 1.0
    if t and t[-1] in _SUFFIXES:
        mult, t = _SUFFIXES[t[-1]], t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(v):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return v


def positive_int(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {v}")
        return v

    parse.__name__ = "integer"
    return parse


def _catalog_hint(message: str) -> str:
    return message.replace("infersweep.catalog_models()", f"`{PROG} models`").replace(
        "infersweep.catalog_gpus()", f"`{PROG} gpus`"
    )


def model_name(text: str) -> str:
    """A catalog model name, returned canonical; unknown names list close matches."""
    try:
        return lookup_model(text).name
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(_catalog_hint(str(e))) from None


def gpu_name(text: str) -> str:
    try:
        return lookup_gpu(text).name
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(_catalog_hint(str(e))) from None


def spec_dec(text: str) -> SpecDec | None:
    """``DRAFTER:ACCEPTANCE[:GAMMA_MAX]`` (e.g. ``Llama-3-8B-MQA:0.8:5``), or ``none``."""
    if text.strip().lower() in ("none", "off", "no", "-"):
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise argparse.ArgumentTypeError(
            f"expected DRAFTER:ACCEPTANCE[:GAMMA_MAX] (e.g. Llama-3-8B-MQA:0.8:5) or 'none', got {text!r}"
        )
    try:
        alpha = float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"acceptance must be a number in [0, 1), got {parts[1]!r}") from None
    gamma = 5
    if len(parts) == 3:
        try:
            gamma = int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(f"gamma_max must be an integer >= 2, got {parts[2]!r}") from None
    try:
        return SpecDec(parts[0], alpha, gamma)
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(_catalog_hint(str(e))) from None


def boolean(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "on", "1"):
        return True
    if t in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _path_with(formats: Sequence[str], what: str) -> Callable[[str], Path]:
    def parse(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in formats:
            raise argparse.ArgumentTypeError(
                f"{what} file {text!r}: the extension must be one of {', '.join(formats)}"
            )
        return p

    parse.__name__ = f"{what} path"
    return parse


plot_path = _path_with(PLOT_FORMATS, "plot")
data_path = _path_with(DATA_FORMATS, "data")


# ============================================================== formatting


def context_text(x: float) -> str:
    if x >= 1e6 and x % 1e5 == 0:
        return f"{x / 1e6:g}M"
    if x >= 1e3 and x % 100 == 0:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def money(x: float) -> str:
    if not math.isfinite(x):
        return "inf"
    if x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:.2f}"
    return f"${x:#.3g}"


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None, indent: str = "  "
) -> str:
    """A plain fixed-width table; `align` has one 'l' or 'r' per column (default: 'r')."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    align = align or "r" * len(headers)

    def fmt(row: Sequence[str]) -> str:
        out = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return (indent + "  ".join(out)).rstrip()

    rule = indent + "  ".join("─" * w for w in widths)
    return "\n".join([fmt(list(headers)), rule, *(fmt(r) for r in cells)])


def _terminal_width() -> int:
    return max(80, shutil.get_terminal_size((160, 24)).columns)


# ============================================================== output files


def write_data(df: pl.DataFrame, path: Path) -> None:
    ext = path.suffix.lower()
    # Enum columns become plain strings so that every reader (and concatenation) accepts them.
    df = df.with_columns(pl.col(pl.Enum).cast(pl.String))
    writers: dict[str, Callable[[Path], object]] = {
        ".parquet": df.write_parquet,
        ".csv": df.write_csv,
        ".json": df.write_json,
    }
    if ext not in writers:  # guarded by data_path
        raise UsageError(
            f"cannot write {str(path)!r}: the extension must be one of {', '.join(DATA_FORMATS)}"
        )
    try:
        writers[ext](path)
    except OSError as e:  # polars' messages carry the path; say it once, plainly
        reason = e.strerror or str(e).split(" (os error")[0]
        raise OSError(e.errno, reason, str(path)) from e


def check_writable(path: Path) -> None:
    """Fail before the work, not after it, when the output folder cannot take the file."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise FileNotFoundError(2, "no such folder", str(parent))
    if not parent.is_dir():
        raise NotADirectoryError(20, "not a folder", str(parent))
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder", str(path))


# ============================================================== frontier


@dataclass(frozen=True)
class Setting:
    model: str
    gpu: str
    context_len: float = 0.0
    spec_dec: SpecDec | None = None
    use_pp: bool = True
    max_throughput: float = math.inf

    def describe(self, parts: Sequence[str] = ("model", "gpu", "context", "spec_dec")) -> str:
        out = []
        if "model" in parts and "gpu" in parts:
            out.append(f"{self.model} on {self.gpu}")
        elif "model" in parts:
            out.append(self.model)
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
        "model": lambda s: s.model,
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


def frontier_table(front: pl.DataFrame, n_rows: int) -> str:
    f = front.filter(pl.col("usd_per_million_tokens").is_finite())
    if f.height == 0:
        return "  (no points)"
    best = preferred(f).row(0, named=True)
    idx = set(np.unique(np.round(np.linspace(0, f.height - 1, max(2, n_rows))).astype(int)).tolist())
    rows = []
    for i in sorted(idx):
        r = f.row(i, named=True)
        mark = "◀ preferred" if r == best else ""
        rows.append(
            [
                f"{r['tokens_per_s_per_request']:.1f}",
                money(r["usd_per_million_tokens"]),
                g3(r["n_gpus"]),
                g3(r["batch_size"]),
                f"{100 * r['mfu']:.1f}%",
                f"{1e3 * r['token_latency_s']:.2f}",
                layout_text(r),
                mark,
            ]
        )
    if not any(r[-1] for r in rows):  # the preferred point between two sampled rows: show it too
        pos = int(
            np.searchsorted(-f["tokens_per_s_per_request"].to_numpy(), -best["tokens_per_s_per_request"])
        )
        before = sum(1 for i in sorted(idx) if i < pos)
        r = best
        rows.insert(
            before,
            [
                f"{r['tokens_per_s_per_request']:.1f}",
                money(r["usd_per_million_tokens"]),
                g3(r["n_gpus"]),
                g3(r["batch_size"]),
                f"{100 * r['mfu']:.1f}%",
                f"{1e3 * r['token_latency_s']:.2f}",
                layout_text(r),
                "◀ preferred",
            ],
        )
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
            f.with_columns(pl.col(pl.Enum).cast(pl.String)).select(pl.lit(label).alias("setting"), pl.all())
            for label, f in fronts.items()
        ]
        write_data(pl.concat(frames, how="vertical_relaxed"), args.data)
        print(f"wrote {sum(f.height for f in frames)} frontier points to {args.data}")
    if args.out is not None:
        plot_frontiers(fronts, args.out, title=args.title or f"Speed–cost frontier: {title}")
        print(f"wrote the plot to {args.out}")
    return 0


# ============================================================== sweep


def _integral(s: pl.Series) -> bool:
    a = s.to_numpy()
    return (
        bool(a.size)
        and bool(np.all(np.isfinite(a)))
        and bool(np.all(a == np.round(a)))
        and bool(np.all(np.abs(a) < 2**53))
    )


def display_frame(df: pl.DataFrame) -> pl.DataFrame:
    """The readable columns of a sweep result for printing (short names; layout degrees rounded)."""
    cols: list[pl.Expr] = [pl.col("model").cast(pl.String), pl.col("gpu").cast(pl.String)]
    for c, short in (("n_gpus", "N"), ("batch_size", "b"), ("context_len", "context"), ("seq_len", "S")):
        if c == "seq_len" and (df[c] == 1).all():
            continue
        cols.append(
            (pl.col(c).cast(pl.Int64) if _integral(df[c]) else pl.col(c).round_sig_figs(4)).alias(short)
        )
    if df["use_pp"].any():
        cols.append(pl.col("use_pp"))
    if df["drafter"].is_not_null().any():
        cols += [pl.col("drafter"), pl.col("acceptance").alias("α"), pl.col("gamma").alias("γ")]
    cols += [
        (pl.col("token_latency_s") * 1e3).round_sig_figs(4).alias("ms/token"),
        pl.col("tokens_per_s_per_request").round_sig_figs(4).alias("tok/s"),
        pl.col("usd_per_million_tokens").round_sig_figs(4).alias("$/M tok"),
        (pl.col("mfu") * 100).round(2).alias("MFU %"),
        pl.when(pl.col("feasible"))
        .then(pl.when(pl.col("two_d_tp")).then(pl.lit("2D")).otherwise(pl.lit("1D")))
        .otherwise(pl.lit("no fit"))
        .alias("TP"),
        pl.col("tp_ffn").round_sig_figs(3).alias("tp ffn"),
        pl.col("tp_attention").round_sig_figs(3).alias("tp attn"),
        pl.col("pp_degree").round_sig_figs(3).alias("pp"),
        pl.col("ep_degree").round_sig_figs(3).alias("ep"),
        pl.col("attention_scaledown").round_sig_figs(3).alias("attn÷"),
    ]
    return df.select(cols)


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_writable(args.out)
    t0 = time.perf_counter()
    df = sweep(
        args.model,
        args.gpu or ["H100"],
        n_gpus=args.n_gpus or [8],
        batch_size=args.batch_size or [1],
        context_len=args.context or [0],
        seq_len=args.seq_len or [1],
        use_pp=args.use_pp if args.use_pp is not None else [False],
        spec_dec=args.spec_dec or [None],
        grid=args.grid,
        columns=args.columns,
        num_threads=args.threads,
        progress=args.progress,
        chunk_rows=args.chunk_rows,
        max_rows=args.max_rows,
    )
    secs = time.perf_counter() - t0
    feasible = f", {int(df['feasible'].sum()):,} feasible" if "feasible" in df.columns else ""
    summary = f"{df.height:,} row{'' if df.height == 1 else 's'}{feasible}, evaluated in {secs:.2f} s"
    if args.out is not None:
        write_data(df, args.out)
        print(f"{summary}; wrote {df.width} columns to {args.out}")
        return 0
    shown = df if args.columns else display_frame(df)
    width = _terminal_width() if sys.stdout.isatty() else 250
    with pl.Config(
        tbl_rows=args.rows,
        tbl_cols=-1,
        tbl_width_chars=width,
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        fmt_str_lengths=40,
        tbl_formatting="UTF8_FULL_CONDENSED",
    ):
        print(shown)
    print(summary + ("" if args.columns else "; use --out FILE.parquet for every column"))
    return 0


# ============================================================== models, gpus


def _attention_kind(r: dict[str, Any]) -> str:
    if r["mla_kv_rank"] is not None:
        return "MLA"
    if r["group_size"] == 1:
        return "MHA"
    if r["group_size"] == r["n_heads"]:
        return "MQA"
    return f"GQA/{r['group_size']:g}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def cmd_models(args: argparse.Namespace) -> int:
    cat = catalog_models()
    if args.csv:
        sys.stdout.write(cat.write_csv())
        return 0
    rows = []
    for r in cat.iter_rows(named=True):
        experts = "dense" if r["n_experts"] == 1 else f"{r['n_experts']:g}/{r['n_experts_active']:g}"
        row = [
            r["name"],
            f"{r['total_params'] / 1e9:.1f}",
            f"{r['active_params'] / 1e9:.1f}",
            f"{r['n_layers']:g}",
            f"{r['d_model']:g}",
            f"{r['d_ff']:g}",
            f"{r['n_heads']:g}",
            _attention_kind(r),
            experts,
            f"{8 * r['weight_bytes']:g}",
            f"{r['kv_bytes_per_token'] / 1024:,.0f}",
        ]
        row.append(r["description"] if args.long else _clip(r["description"], 60))
        if args.long:
            row += [r["aliases"], r["source"]]
        rows.append(row)
    headers = [
        "name",
        "total B",
        "active B",
        "layers",
        "d_model",
        "d_ff",
        "heads",
        "attention",
        "experts",
        "w bits",
        "KV KiB/tok",
        "description",
    ]
    if args.long:
        headers += ["aliases", "source"]
    print(text_table(headers, rows, "lrrrrrrlrrrl" + ("ll" if args.long else ""), indent=""))
    print(
        f"\n{cat.height} models. Parameters in billions; experts = total/active; w bits = bits per "
        f"weight; KV KiB/tok = KV cache per context token per sequence."
    )
    return 0


def cmd_gpus(args: argparse.Namespace) -> int:
    cat = catalog_gpus()
    if args.csv:
        sys.stdout.write(cat.write_csv())
        return 0

    def tflops(v: float | None) -> str:
        return "–" if v is None else f"{v / 1e12:,.0f}"

    def gbs(v: float) -> str:
        return "∞" if math.isinf(v) else f"{v / 1e9:,.0f}"

    rows = []
    for r in cat.iter_rows(named=True):
        row = [
            r["name"],
            tflops(r["flops_16bit"]),
            tflops(r["flops_8bit"]),
            tflops(r["flops_4bit"]),
            f"{r['hbm_bytes'] / 1e9:g}",
            f"{r['hbm_bandwidth'] / 1e12:g}",
            gbs(r["intra_node_bandwidth"]),
            gbs(r["inter_node_bandwidth"]),
            f"{r['gpus_per_node']:g}",
            f"{r['usd_per_hour']:.2f}",
            f"{r['flop_utilization']:g}/{r['mem_utilization']:g}",
            r["collectives"],
        ]
        row.append(r["description"] if args.long else _clip(r["description"], 60))
        if args.long:
            row += [r["aliases"], r["source"]]
        rows.append(row)
    headers = [
        "name",
        "TF/s 16b",
        "TF/s 8b",
        "TF/s 4b",
        "HBM GB",
        "HBM TB/s",
        "intra GB/s",
        "inter GB/s",
        "per node",
        "$/h",
        "caps f/m",
        "network",
        "description",
    ]
    if args.long:
        headers += ["aliases", "source"]
    print(text_table(headers, rows, "lrrrrrrrrrlll" + ("ll" if args.long else ""), indent=""))
    print(
        f"\n{cat.height} GPUs. Peak dense TFLOP/s by weight bits; intra/inter = effective all-reduce "
        f"bandwidth inside / across nodes; caps = FLOP and memory utilisation caps."
    )
    return 0


# ============================================================== explain


def _us(x: float) -> str:
    return f"{1e6 * x:,.1f}"


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def cmd_explain(args: argparse.Namespace) -> int:
    m, g = lookup_model(args.model), lookup_gpu(args.gpu)
    sd: SpecDec | None = args.spec_dec
    df = sweep(
        m,
        g,
        n_gpus=args.n_gpus,
        batch_size=args.batch_size,
        context_len=args.context,
        seq_len=args.seq_len,
        use_pp=args.use_pp,
        spec_dec=sd,
    )
    r = df.row(0, named=True)
    N, b, ctx = args.n_gpus, args.batch_size, args.context
    head = (
        f"{m.name} on {g3(N)} × {g.name}, batch {g3(b)}, context {context_text(ctx)}"
        + (f", {g3(args.seq_len)} positions per pass" if args.seq_len != 1 else "")
        + (", pipeline parallelism allowed" if args.use_pp else ", no pipeline parallelism")
        + (
            ""
            if sd is None
            else f", speculative decoding with {sd.drafter_model.name} "
            f"(α={sd.acceptance:g}, γ≤{sd.gamma_max})"
        )
    )
    print(head)
    print("─" * min(len(head), 100))
    weights = m.weight_bytes * m.total_params
    kv_full = m.kv_bytes_for_context(ctx) * b  # windowed layers stop growing at their window
    hbm = N * g.hbm_bytes
    if not r["feasible"]:
        _explain_infeasible(m, g, args, weights, kv_full, hbm)
        return 0

    lat = r["token_latency_s"]
    print(f"  token latency     {_us(lat)} µs  ({1e3 * lat:.3f} ms between tokens of one request)")
    print(
        f"  speed             {r['tokens_per_s_per_request']:,.2f} tokens/s per request; "
        f"{r['tokens_per_s_per_gpu']:,.1f} tokens/s per GPU; {b * r['tokens_per_s_per_request']:,.0f} "
        f"tokens/s for the batch"
    )
    print(
        f"  cost              ${r['usd_per_million_tokens']:.4g} per million output tokens "
        f"({r['gpu_seconds_per_token']:.4g} GPU-seconds per token at ${g.usd_per_hour:.2f}/GPU-hour)"
    )
    print(
        f"  MFU               {100 * r['mfu']:.2f}% of peak {g.flops_for(m) / 1e12:,.0f} TFLOP/s at "
        f"{m.weight_bits}-bit weights"
    )
    pp = r["pp_degree"]
    kv_held = kv_full / pp
    print(
        f"  memory            weights {_gb(weights)} + KV cache {_gb(kv_held)}"
        + (f" (one of {g3(pp)} micro-batches)" if pp > 1 + 1e-9 else "")
        + f" = {_gb(weights + kv_held)} of {_gb(hbm)} HBM ({100 * (weights + kv_held) / hbm:.0f}%)"
    )

    comps = [
        ("kernel launches", r["kernel_s"]),
        ("network latency", r["network_latency_s"]),
        ("network bandwidth", r["network_bandwidth_s"]),
        ("memory (HBM traffic)", r["memory_s"]),
        ("compute (FLOPs)", r["compute_s"]),
    ]
    mem, flop = r["memory_s"], r["compute_s"]
    pass_s = r["kernel_s"] + r["network_latency_s"] + r["network_bandwidth_s"] + max(mem, flop)
    gamma = int(r["gamma"])
    print()
    if sd is not None and gamma == 0:
        print("  speculative decoding does not pay here: plain decoding is faster, and is used")
    if gamma > 0:
        t_q = r["drafter_latency_s"]
        tokens = (1 - sd.acceptance**gamma) / (1 - sd.acceptance) if sd is not None else float("nan")
        drafter = sd.drafter_model.name if sd is not None else "the drafter"
        print(
            f"  speculative decoding: each round drafts γ={gamma} tokens with {drafter} "
            f"({gamma} × {_us(t_q)} µs), verifies them in one target pass over {gamma} positions "
            f"({_us(pass_s)} µs)"
        )
        print(
            f"  and yields (1−α^γ)/(1−α) = {tokens:.3f} tokens on average: "
            f"{_us((pass_s + gamma * t_q) / tokens)} µs per token."
        )
        print("  The components below are those of the target's verification pass.")
    bound = "memory" if mem >= flop else "compute"
    rows = []
    for name, v in comps:
        note = ""
        if name.startswith(("memory", "compute")):
            note = "◀ bound" if name.startswith(bound) else f"(overlapped with {bound})"
        rows.append([name, _us(v), f"{100 * v / pass_s:.1f}%", note])
    rows.append(["pass time", _us(pass_s), "100.0%", "= kernel + network + max(memory, compute)"])
    print(text_table(["component", "µs", "share", ""], rows, "lrrl"))

    print("\n  winning layout")
    T = N / pp
    layout = [
        (
            "tensor parallelism",
            "2D (a grid of row and column all-reduces)" if r["two_d_tp"] else "1D (one all-reduce group)",
        ),
        ("pipeline degree", f"{g3(pp)} stage(s) of {g3(T)} GPUs"),
        ("expert parallelism", g3(r["ep_degree"])),
        ("TP degree, FFN", g3(r["tp_ffn"])),
        ("TP degree, attention", g3(r["tp_attention"])),
        (
            "attention scale-down",
            f"{g3(r['attention_scaledown'])} (attention on {g3(r['tp_attention'])} of "
            f"{g3(T)} GPUs per stage)",
        ),
    ]
    print(text_table(["", ""], layout, "ll").split("\n", 2)[2])
    print(f"  ({layout_text(r)}; degrees are real numbers in the paper's continuous model)")

    net = r["network_latency_s"] + r["network_bandwidth_s"]
    fixed = r["kernel_s"] + r["network_latency_s"]
    ratio = max(mem, flop) / max(min(mem, flop), 1e-300)
    what = "reading weights and KV cache" if bound == "memory" else "arithmetic"
    other = "arithmetic" if bound == "memory" else "HBM traffic"
    print(
        f"\n  verdict: {bound}-bound: {what} ({1e3 * max(mem, flop):.3f} ms) takes {ratio:.1f}× the {other}; "
        f"the network is {100 * net / pass_s:.0f}% of the pass "
        f"({100 * r['network_latency_s'] / net if net > 0 else 0:.0f}% of it fixed latency); "
        f"fixed latencies (kernels + network) are {100 * fixed / pass_s:.0f}%."
    )
    return 0


def _explain_infeasible(
    m: Any, g: Any, args: argparse.Namespace, weights: float, kv_full: float, hbm: float
) -> None:
    N, b, ctx = args.n_gpus, args.batch_size, args.context
    kv_text = (
        f" ({g3(b)} sequence{'s' if b != 1 else ''} × {context_text(ctx)} tokens × "
        f"{m.kv_bytes_for_context(ctx) / ctx:,.0f} B/token)"
        if kv_full > 0
        else ""
    )
    print(
        f"  does not fit: weights {_gb(weights)} + KV cache {_gb(kv_full)}{kv_text} "
        f"= {_gb(weights + kv_full)} > {g3(N)} × {g.hbm_bytes / 1e9:g} GB = {_gb(hbm)} of HBM"
    )
    hbm1 = g.hbm_bytes
    if weights >= hbm:
        print(
            f"  the weights alone need {weights / hbm1:.3g} GPUs: "
            f"--n-gpus {math.ceil(weights / hbm1)} or more"
        )
    if kv_full <= 0:
        return
    if args.use_pp:
        p_max = min(b, m.n_layers, N)
        print(
            f"  pipeline parallelism splits the KV cache into at most min(b, L, N) = {g3(p_max)} "
            f"micro-batches: {_gb(weights + kv_full / p_max)} is still more than {_gb(hbm)}"
        )
        # Smallest N with N·HBM >= weights + KV / P for a pipeline degree P <= N of the engine's
        # grid: 1 and logspace2(0, log2(min(b, L)), 10) (MODEL.md §5).
        top = math.log2(min(b, m.n_layers))
        degrees = [1.0] + [2.0 ** (i * (top / 9)) for i in range(9)] + [2.0**top]
        n_need = min(max(P, (weights + kv_full / P) / hbm1) for P in degrees)
        msg = f"  fits from {n_need:.3g} GPUs with pipeline parallelism"
    else:
        n_need = (weights + kv_full) / hbm1
        msg = f"  fits from {n_need:.3g} GPUs (--n-gpus {math.ceil(n_need)}; fewer with --pp)"
    if hbm > weights:
        b_max = (hbm - weights) / m.kv_bytes_for_context(ctx)
        msg += f", or with at most {b_max:.3g} sequences on {g3(N)} GPUs" + (
            " without PP" if args.use_pp else ""
        )
    print(msg)


# ============================================================== demo


@dataclass
class Comparison:
    key: str
    title: str
    settings: list[tuple[str, Setting]]
    note: str = ""


def demo_comparisons() -> list[Comparison]:
    sd = SpecDec("Llama-3-8B-MQA", 0.8, 5)
    base = Setting("Llama-3-70B", "H100")
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
            [(n, Setting(n, "H100")) for n in models],
            "context 0, pipeline parallelism allowed",
        ),
        Comparison(
            "b_speculative_decoding",
            "(b) Speculative decoding, Llama-3-70B on H100",
            [
                ("plain decoding", base),
                ("speculative decoding", Setting("Llama-3-70B", "H100", spec_dec=sd)),
            ],
            "drafter Llama-3-8B-MQA, acceptance 0.8, drafts of up to 5 tokens",
        ),
        Comparison(
            "c_gpus",
            "(c) GPU generations, Llama-3-70B",
            [(n, Setting("Llama-3-70B", n)) for n in gpus],
            "each at its catalog price",
        ),
        Comparison(
            "d_quantization",
            "(d) Quantization, Llama-3-70B on H100",
            [
                ("16-bit", base),
                ("8-bit", Setting("Llama-3-70B-8bit", "H100")),
                ("4-bit", Setting("Llama-3-70B-4bit", "H100")),
            ],
            "weight precision; activations 16-bit",
        ),
        Comparison(
            "e_long_context",
            "(e) Long context, Llama-3-70B on H100",
            [("context 0", base), ("context 100k", Setting("Llama-3-70B", "H100", 100_000.0))],
            "tokens already in context",
        ),
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    resolution = args.resolution or (100 if args.quick else 400)
    out_dir: Path = args.out_dir
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
        f"({resolution}×{resolution} GPU counts × batch sizes each)",
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
                    "N",
                    "b",
                    "MFU",
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
            plot_frontiers(fronts, path, title=f"{c.title} ({c.note})")
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
    (out_dir / "summary.txt").write_text(text + "\n", encoding="utf-8")
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


# ============================================================== parser


class _Formatter(argparse.HelpFormatter):
    """Wraps each line of a description to the terminal; keeps indented lines (examples) as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)


def _add_model_gpu(p: argparse.ArgumentParser, many: bool) -> None:
    if many:
        p.add_argument(
            "--model",
            "-m",
            nargs="+",
            action="extend",
            type=model_name,
            required=True,
            metavar="NAME",
            help="catalog model(s); repeat or list several (see `infersweep models`)",
        )
        p.add_argument(
            "--gpu",
            "-g",
            nargs="+",
            action="extend",
            type=gpu_name,
            default=None,
            metavar="NAME",
            help="catalog GPU(s) (see `infersweep gpus`); default H100",
        )
    else:
        p.add_argument(
            "--model",
            "-m",
            type=model_name,
            required=True,
            metavar="NAME",
            help="catalog model (see `infersweep models`)",
        )
        p.add_argument(
            "--gpu",
            "-g",
            type=gpu_name,
            default="H100",
            metavar="NAME",
            help="catalog GPU (see `infersweep gpus`)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_Formatter,
        description="How fast can this model run on this hardware, and what does each token cost?\n"
        "The inference-economics model of Erdil (2025), Epoch AI, evaluated by a Rust engine.",
        epilog="Numbers accept suffixes: 100k = 100,000, 2M = 2,000,000.\n"
        "Run `infersweep COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # -- frontier
    p = sub.add_parser(
        "frontier",
        formatter_class=_Formatter,
        help="the speed–cost Pareto frontier of a model on a GPU",
        description="Epoch's speed–cost frontier (MODEL.md §7): for a model on a GPU, the cheapest "
        "configuration at every speed. Prints the fastest, preferred and cheapest "
        "points and a sample of the frontier; writes a plot and the points on request. "
        "Several --model/--gpu/--context/--spec-dec values give one frontier each "
        "(their product), drawn on one plot.",
        epilog="examples:\n"
        "  infersweep frontier --model Llama-3-70B --gpu H100 --out frontier.png\n"
        "  infersweep frontier -m Llama-3-70B --spec-dec none Llama-3-8B-MQA:0.8 "
        "--out sd.html\n"
        "  infersweep frontier -m Llama-3-70B -g A100 H100 H200 --context 100k "
        "--data fronts.parquet",
    )
    _add_model_gpu(p, many=True)
    p.add_argument(
        "--context",
        "--context-len",
        nargs="+",
        action="extend",
        type=number,
        default=None,
        metavar="TOKENS",
        help="tokens already in context (default 0)",
    )
    p.add_argument(
        "--spec-dec",
        nargs="+",
        action="extend",
        type=spec_dec,
        default=None,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="speculative decoding with a catalog drafter, acceptance α in [0, 1) and longest draft "
        "(default 5); 'none' for plain decoding",
    )
    p.add_argument(
        "--max-throughput",
        type=number,
        default=math.inf,
        metavar="TOK/S",
        help="cap on tokens/s per instance (batch / latency); default: no cap",
    )
    pp = p.add_mutually_exclusive_group()
    pp.add_argument(
        "--pp",
        dest="use_pp",
        action="store_true",
        default=True,
        help="allow pipeline parallelism (the default)",
    )
    pp.add_argument("--no-pp", dest="use_pp", action="store_false", help="no pipeline parallelism")
    p.add_argument(
        "--resolution",
        type=positive_int(2),
        default=400,
        help="grid points per axis (GPU counts × batch sizes); the paper uses 400 (default: %(default)s)",
    )
    p.add_argument(
        "--targets",
        type=positive_int(1),
        default=1000,
        help="latency targets (default: the paper's %(default)s)",
    )
    p.add_argument(
        "--rows",
        type=positive_int(2),
        default=15,
        help="rows of the printed sample of the frontier (default: %(default)s)",
    )
    p.add_argument("--out", type=plot_path, metavar="PLOT", help=f"write a plot: {', '.join(PLOT_FORMATS)}")
    p.add_argument(
        "--data", type=data_path, metavar="FILE", help=f"write the frontier points: {', '.join(DATA_FORMATS)}"
    )
    p.add_argument("--title", help="plot title")
    p.add_argument("--threads", type=positive_int(1), help="threads for the engine (default: all cores)")
    p.set_defaults(func=cmd_frontier)

    # -- sweep
    p = sub.add_parser(
        "sweep",
        formatter_class=_Formatter,
        help="evaluate a grid of configurations (isw.sweep)",
        description="Evaluate every configuration of a grid: the cartesian product of the values "
        "(--grid product) or the lists row by row (--grid zip; length-1 lists "
        "broadcast). Each row has the token latency, speed, cost, MFU, the time "
        "components and the winning layout. Without --out a readable table is printed.",
        epilog="examples:\n"
        "  infersweep sweep -m Llama-3-70B --n-gpus 8 16 32 --batch-size 1 4 16\n"
        "  infersweep sweep -m Llama-3-70B Llama-3-405B -g H100 H200 --n-gpus 8 16 64 "
        "--batch-size 1 64 256 --context 0 8k --out results.parquet\n"
        "  infersweep sweep -m Llama-3-70B --n-gpus 8 16 --batch-size 16 64 --grid zip "
        "--spec-dec none Llama-3-8B-MQA:0.8",
    )
    _add_model_gpu(p, many=True)
    p.add_argument(
        "--n-gpus",
        "-n",
        nargs="+",
        action="extend",
        type=number,
        metavar="N",
        help="GPU counts (real numbers allowed, as in the paper; default 8)",
    )
    p.add_argument(
        "--batch-size",
        "-b",
        nargs="+",
        action="extend",
        type=number,
        metavar="B",
        help="concurrent sequences (default 1)",
    )
    p.add_argument(
        "--context",
        "--context-len",
        nargs="+",
        action="extend",
        type=number,
        metavar="TOKENS",
        help="tokens already in context (default 0)",
    )
    p.add_argument(
        "--seq-len",
        nargs="+",
        action="extend",
        type=number,
        metavar="S",
        help="new positions per sequence per pass (default 1: decoding)",
    )
    pp = p.add_mutually_exclusive_group()
    pp.add_argument(
        "--pp", dest="use_pp", action="store_const", const=[True], help="allow pipeline parallelism"
    )
    pp.add_argument(
        "--no-pp",
        dest="use_pp",
        action="store_const",
        const=[False],
        help="no pipeline parallelism (the default)",
    )
    pp.add_argument(
        "--use-pp",
        dest="use_pp",
        nargs="+",
        type=boolean,
        metavar="BOOL",
        help="a list of pipeline-parallelism settings, e.g. --use-pp false true",
    )
    p.add_argument(
        "--spec-dec",
        nargs="+",
        action="extend",
        type=spec_dec,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="speculative-decoding settings; 'none' for plain decoding (default none)",
    )
    p.add_argument(
        "--grid",
        choices=("product", "zip"),
        default="product",
        help="how the lists combine (default: %(default)s)",
    )
    p.add_argument(
        "--columns",
        nargs="+",
        choices=INPUT_COLUMNS + OUTPUT_COLUMNS,
        metavar="COL",
        help="keep only these columns (printed as they are)",
    )
    p.add_argument("--max-rows", type=positive_int(1), help="refuse grids with more rows")
    p.add_argument(
        "--chunk-rows",
        type=positive_int(1),
        default=1 << 16,
        help="rows per engine call (default: %(default)s)",
    )
    p.add_argument("--threads", type=positive_int(1), help="threads for the engine (default: all cores)")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        help="always show a progress bar on stderr (default: for long sweeps on a terminal)",
    )
    prog.add_argument(
        "--no-progress", dest="progress", action="store_const", const=False, help="never show it"
    )
    p.add_argument(
        "--out",
        "-o",
        type=data_path,
        metavar="FILE",
        help=f"write every column to a file: {', '.join(DATA_FORMATS)}",
    )
    p.add_argument(
        "--rows", type=positive_int(2), default=20, help="rows to print, head and tail (default: %(default)s)"
    )
    p.set_defaults(func=cmd_sweep, use_pp=None, progress=None)

    # -- models, gpus
    for name, fn, what in (("models", cmd_models, "model"), ("gpus", cmd_gpus, "GPU")):
        p = sub.add_parser(
            name,
            formatter_class=_Formatter,
            help=f"list the catalog's {what}s",
            description=f"The catalog's {what}s, one per line, with their key numbers.",
        )
        p.add_argument("--long", action="store_true", help="full descriptions, aliases and sources")
        p.add_argument("--csv", action="store_true", help="every field as CSV on stdout")
        p.set_defaults(func=fn)

    # -- explain
    p = sub.add_parser(
        "explain",
        formatter_class=_Formatter,
        help="where the time goes in one configuration",
        description="One configuration in detail: token latency, speed, cost and MFU; each time "
        "component (kernel launches, network latency and bandwidth, HBM traffic, "
        "compute) with its share; the winning layout; what bounds it; and, when it "
        "does not fit, by how much.",
        epilog="example:\n  infersweep explain --model Llama-3-70B --gpu H100 --n-gpus 8 --batch-size 64",
    )
    _add_model_gpu(p, many=False)
    p.add_argument("--n-gpus", "-n", type=number, required=True, metavar="N", help="GPUs")
    p.add_argument("--batch-size", "-b", type=number, required=True, metavar="B", help="concurrent sequences")
    p.add_argument(
        "--context",
        "--context-len",
        type=number,
        default=0.0,
        metavar="TOKENS",
        help="tokens already in context",
    )
    p.add_argument(
        "--seq-len", type=number, default=1.0, metavar="S", help="new positions per sequence per pass"
    )
    pp = p.add_mutually_exclusive_group()
    pp.add_argument(
        "--pp", dest="use_pp", action="store_true", default=False, help="allow pipeline parallelism"
    )
    pp.add_argument(
        "--no-pp", dest="use_pp", action="store_false", help="no pipeline parallelism (the default)"
    )
    p.add_argument(
        "--spec-dec",
        type=spec_dec,
        default=None,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="speculative decoding",
    )
    p.set_defaults(func=cmd_explain)

    # -- demo
    p = sub.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="the paper's headline comparisons, with plots",
        description="Reproduce the paper's headline comparisons in one summary: (a) models on "
        "H100, (b) speculative decoding, (c) GPU generations, (d) quantization, "
        "(e) long context. Writes one frontier plot per comparison and summary.txt "
        "into --out-dir. Takes about a minute on two cores; --quick takes seconds.",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=Path("infersweep-demo"),
        help="folder for the plots and summary.txt (default: %(default)s)",
    )
    p.add_argument("--quick", action="store_true", help="coarser frontiers (resolution 100) in a few seconds")
    p.add_argument(
        "--resolution",
        type=positive_int(2),
        default=None,
        help="grid points per axis (default 400, or 100 with --quick)",
    )
    p.add_argument(
        "--format",
        choices=("png", "svg", "pdf", "html"),
        default="png",
        help="plot format (default: %(default)s)",
    )
    p.add_argument("--no-plots", action="store_true", help="print the summary only")
    p.add_argument("--threads", type=positive_int(1), help="threads for the engine (default: all cores)")
    p.set_defaults(func=cmd_demo)
    return parser


# ============================================================== entry point


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _os_message(e: OSError) -> str:
    if e.filename:
        return f"cannot write {e.filename}: {e.strerror or e}"
    return str(e)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version or a usage error (already printed)
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except (InfersweepError, UsageError) as e:
        _error(_catalog_hint(str(e)))
        return 2
    except PlotDependencyError as e:
        _error(str(e))
        return 1
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `infersweep models | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        _error(_os_message(e))
        return 1
    except ValueError as e:
        _error(str(e))
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
