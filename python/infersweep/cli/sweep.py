"""`infersweep sweep`: a grid of configurations, printed readably or written to a file."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import polars as pl

from ..catalog import gpu as lookup_gpu
from ..sweep import sweep
from .catalog import gpu_terms
from .output import check_writable, terminal_width, write_data
from .validate import _runtime


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


def serving_display_frame(df: pl.DataFrame) -> pl.DataFrame:
    """The readable columns of a serving sweep for printing (short names; integer layouts)."""
    cols: list[pl.Expr] = [pl.col("model").cast(pl.String), pl.col("gpu").cast(pl.String)]
    for c, short in (("n_gpus", "N"), ("batch_size", "b"), ("context_len", "context"), ("seq_len", "S")):
        if c == "seq_len" and (df[c] == 1).all():
            continue
        cols.append(pl.col(c).cast(pl.Int64).alias(short))
    cols += [
        (pl.col("token_latency_s") * 1e3).round_sig_figs(4).alias("ms/token"),
        pl.col("tokens_per_s_per_request").round_sig_figs(4).alias("tok/s"),
        pl.col("usd_per_million_tokens").round_sig_figs(4).alias("$/M tok"),
        (pl.col("mfu") * 100).round(2).alias("MFU %"),
        pl.when(pl.col("feasible")).then(pl.lit("fits")).otherwise(pl.lit("no fit")).alias("fit"),
        pl.col("tp"), pl.col("pp"), pl.col("ep"), pl.col("attention_dp").alias("attn dp"),
        pl.col("max_batch_size").alias("max b"),
    ]
    return df.select(cols)


def epoch_flags(args: argparse.Namespace, flags: dict[str, object]) -> None:
    """Under --semantics serving, a GridError for the first epoch-only flag given."""
    from ..errors import GridError

    given = [f for f, v in flags.items() if v]
    if args.semantics == "serving" and given:
        raise GridError(f"{args.command}: {given[0]} is the paper's model only; pass --semantics epoch "
                        f"(the default is serving)")


def serving_flags(args: argparse.Namespace, flags: dict[str, object]) -> None:
    """Under --semantics epoch, a GridError for the first serving-only flag given."""
    from ..errors import GridError

    given = [f for f, v in flags.items() if v is not None]
    if args.semantics == "epoch" and given:
        raise GridError(f"{args.command}: {given[0]} needs --semantics serving (the default)")


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_writable(args.out)
    serving = args.semantics == "serving"
    streamed = getattr(args, "dataset", None) is not None
    epoch_flags(args, {"--pp/--use-pp": args.use_pp is not None and any(args.use_pp),
                       "--spec-dec": args.spec_dec is not None and any(s is not None for s in args.spec_dec),
                       "--chunk-rows": args.chunk_rows is not None,
                       "--progress": args.progress and not streamed})
    serving_flags(args, {"--tp": args.tp, "--pp-degree": args.pp_degree, "--ep": args.ep,
                         "--attention-dp": args.attention_dp, "--profile": args.profile,
                         "--precision": args.precision})
    extra = ({"tp": args.tp, "pp": args.pp_degree, "ep": args.ep, "attention_dp": args.attention_dp,
              "runtime": _runtime(args, "sweep"), "precision": args.precision} if serving else
             {"progress": args.progress, "chunk_rows": args.chunk_rows,
              "use_pp": args.use_pp if args.use_pp is not None else [False],
              "spec_dec": args.spec_dec or [None]})
    if streamed:
        return _stream(args, extra)
    t0 = time.perf_counter()
    df = sweep(**_grid(args), max_rows=args.max_rows, **extra)  # type: ignore[arg-type]
    secs = time.perf_counter() - t0
    feasible = f", {int(df['feasible'].sum()):,} feasible" if "feasible" in df.columns else ""
    summary = f"{df.height:,} row{'' if df.height == 1 else 's'}{feasible}, evaluated in {secs:.2f} s"
    if args.out is not None:
        write_data(df, args.out)
        print(f"{summary}; wrote {df.width} columns to {args.out}")
        return 0
    shown = df if args.columns else (serving_display_frame(df) if serving else display_frame(df))
    width = terminal_width() if sys.stdout.isatty() else 250
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
    print(context_lines(args.gpu or ["H100"], args.use_pp, args.semantics, args.profile))
    return 0


def _grid(args: argparse.Namespace) -> dict[str, Any]:
    """The grid's arguments, shared by the in-memory sweep and ``--dataset`` (with the CLI's defaults)."""
    return {"model": args.model, "gpu": args.gpu or ["H100"], "n_gpus": args.n_gpus or [8],
            "batch_size": args.batch_size or [1], "context_len": args.context or [0],
            "seq_len": args.seq_len or [1], "grid": args.grid, "columns": args.columns,
            "num_threads": args.threads, "semantics": args.semantics}


def _stream(args: argparse.Namespace, extra: dict[str, object]) -> int:
    """``--dataset DIR``: the grid streamed to a Parquet dataset (isw.sweep_to_parquet)."""
    from ..dataset import read_manifest
    from ..stream import DEFAULT_PART_ROWS, sweep_to_parquet
    from .args import UsageError

    given = [f for f, v in (("--max-rows", args.max_rows), ("--chunk-rows", args.chunk_rows))
             if v is not None]
    if given:
        raise UsageError(f"sweep: {given[0]} does not apply to --dataset, which streams a grid of any size "
                         f"in parts of at most {DEFAULT_PART_ROWS:,} rows")
    extra = {k: v for k, v in extra.items() if k not in ("progress", "chunk_rows")}
    t0 = time.perf_counter()
    paths = sweep_to_parquet(**_grid(args), path=args.dataset, progress=args.progress,
                             **extra)  # type: ignore[arg-type]
    secs = time.perf_counter() - t0
    m = read_manifest(str(args.dataset))
    rows = m.rows if m is not None else 0
    parts = f"{len(paths):,} part file{'' if len(paths) == 1 else 's'}"
    print(f"{rows:,} row{'' if rows == 1 else 's'} in {parts}, evaluated in {secs:.2f} s; wrote the dataset "
          f"{str(args.dataset)!r} (read it with isw.read_sweep; rerun the command to resume it)")
    print(context_lines(args.gpu or ["H100"], args.use_pp, args.semantics, args.profile))
    return 0


def semantics_line(profile: str | None) -> str:
    """The serving runtime the figures above are under (the defaults said as such; an epoch
    table prints as it did before serving became the default)."""
    rt = "isw.Runtime.default() (docs/serving.md §R; --profile for a calibrated one)" if profile is None \
        else f"profile {profile}"
    return (f"  serving semantics (the default; --semantics epoch for the paper's model): integer layouts, "
            f"runtime {rt}")


def context_lines(gpus: list[str], use_pp: list[bool] | None, semantics: str = "epoch",
                  profile: str | None = None) -> str:
    """What the costs and latencies above depend on that the table does not show: each GPU's
    price and utilisation caps, the semantics and runtime, and the pipeline-parallelism default."""
    lines = [f"  {gpu_terms(lookup_gpu(g))}" for g in dict.fromkeys(gpus)]
    if semantics == "serving":
        lines.append(semantics_line(profile))
    if use_pp is None and semantics == "epoch":
        lines.append("  no pipeline parallelism (the default for sweep; --pp allows it, as frontier does)")
    return "\n".join(lines)
