"""`infersweep plan`: the best aggregated and disaggregated deployments under TTFT/TPOT limits
and the Pareto front (isw.plan, docs/serving.md §T.8)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import GridError, SpecError
from ..plan_plot import deployment_text, plot_plan
from ..planner import plan
from ..plot import require_matplotlib
from ..serving import Precision
from .output import check_writable, text_table

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


def duration(text: str) -> float:
    """Seconds from '1s', '50ms', '200us' or a bare number of seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|ms|us|µs)?\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration such as 1s or 50ms, got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def _precision(fmt: str | None) -> Precision | None:
    """One weight format for attention, dense FFNs and experts, and the KV cache (None: the model's)."""
    if fmt is None:
        return None
    return Precision(attention=fmt, dense_ffn=fmt, experts=fmt, kv_cache=fmt)


def _profile(args: argparse.Namespace) -> Any:
    """The calibrated profile --profile names (shipped, or a TOML file), or None."""
    if args.profile is None:
        if args.uncertainty is not None:
            raise SpecError("plan: --uncertainty needs --profile (a calibrated runtime profile)")
        return None
    from ..calibration import load_profile, shipped_profiles

    shipped = shipped_profiles()
    if args.profile in shipped:
        return shipped[args.profile]
    if not Path(args.profile).is_file():
        raise SpecError(f"plan: --profile {args.profile!r} is neither a shipped profile ({sorted(shipped)}) "
                        "nor a file")
    return load_profile(args.profile)


def cmd_plan(args: argparse.Namespace) -> int:
    profile = _profile(args)
    if args.out is not None:
        if args.out.suffix.lower() not in (".html", ".htm"):
            require_matplotlib()      # the page draws itself; the static formats need matplotlib
        check_writable(args.out)
    try:
        df = plan(args.model, args.gpu, isl=args.isl, osl=args.osl, ttft_max=args.ttft, tpot_max=args.tpot,
                  max_gpus=args.max_gpus, objective=args.objective, chunk_size=args.chunk_size,
                  precision=_precision(args.precision), runtime=profile, uncertainty=args.uncertainty)
    except GridError as e:
        print(f"infersweep plan: {e}", file=sys.stderr)
        return 2
    if args.csv:
        sys.stdout.write(df.write_csv())
        if df.is_empty():
            return 0
    elif df.is_empty():
        print(f"no deployment of {args.model.name} on up to {args.max_gpus} × {args.gpu} meets TTFT ≤ "
              f"{args.ttft:g} s and TPOT ≤ {args.tpot:g} s")
        return 1
    else:
        _print_plan(args, df)
    if args.out is not None:
        plot_plan(df, args.out, tpot_max=args.tpot, title=_title(args))
        print(f"wrote the plot to {args.out}", file=sys.stderr if args.csv else sys.stdout)
    elif not args.csv:
        print("(--out plan.png, .svg, .pdf or .html draws this plan)")
    return 0


def _title(args: argparse.Namespace) -> str:
    return (f"{args.model.name} on up to {args.max_gpus} × {args.gpu}, ISL {args.isl}, OSL {args.osl}, "
            f"TTFT ≤ {args.ttft * 1e3:g} ms, TPOT ≤ {args.tpot * 1e3:g} ms")


def _band(r: dict[str, Any], col: str, fmt: str, scale: float = 1.0) -> str:
    """A value, with its [lo–hi] bounds when the plan has them (--uncertainty)."""
    text = fmt.format(r[col] * scale)
    if f"{col}_lo" in r:
        text += f" [{fmt.format(r[col + '_lo'] * scale)}–{fmt.format(r[col + '_hi'] * scale)}]"
    return text


def _print_plan(args: argparse.Namespace, df: pl.DataFrame) -> None:
    rows = []
    for r in df.iter_rows(named=True):
        tag = "best" if r["best"] else "front" if r["on_front"] else "own"
        rows.append([tag, r["kind"], _band(r, "ttft_s", "{:.0f}", 1e3), _band(r, "tpot_s", "{:.1f}", 1e3),
                     f"{r['tokens_per_s_per_user']:.1f}", _band(r, "output_tokens_per_s_per_gpu", "{:.1f}"),
                     _band(r, "usd_per_million_tokens", "{:.3f}"), str(r["total_gpus"]), deployment_text(r)])
    print(f"{_title(args)} (objective: {args.objective}):")
    print(text_table(["", "kind", "TTFT ms", "TPOT ms", "tok/s/user", "out tok/s/GPU", "$/M out tok",
                      "GPUs", "deployment"], rows, align="llrrrrrrl"))
    print("(best: the best of each kind under the objective; front: on the Pareto front of both kinds; "
          "own: on its own kind's front only"
          + (f"; [lo–hi]: the {args.uncertainty:g} band under --profile {args.profile})"
             if args.uncertainty is not None else ")"))


def add_parser(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    from .args import MODEL_HELP, gpu_name, model_spec, plot_path, positive_int

    p = sub.add_parser(
        "plan", formatter_class=formatter,
        help="best aggregated and disaggregated deployments under TTFT/TPOT limits (isw.plan)",
        description="Search aggregated (in-flight batching with chunked prefill) and disaggregated "
        "(prefill pool + decode pool) deployments of one model on up to --max-gpus GPUs under "
        "serving semantics; print the best of each kind and the Pareto front of output tokens/s "
        "per GPU against tokens/s per user, with dollars per million output tokens "
        "(docs/serving.md §T.8).",
        epilog="examples:\n  infersweep plan --model Llama-3.1-70B --gpu H200 --isl 4000 --osl 500 "
        "--ttft 1s --tpot 50ms --precision fp8\n  infersweep plan --model Llama-3.1-70B --gpu H200 "
        "--isl 4000 --osl 500 --ttft 1s --tpot 50ms --out plan.html",
    )
    p.add_argument("--model", type=model_spec, required=True, help=MODEL_HELP)
    p.add_argument("--gpu", type=gpu_name, required=True)
    p.add_argument("--isl", type=positive_int(1), required=True, help="input (prompt) tokens per request")
    p.add_argument("--osl", type=positive_int(1), required=True, help="output tokens per request")
    p.add_argument("--ttft", type=duration, required=True, help="TTFT limit, e.g. 1s or 800ms")
    p.add_argument("--tpot", type=duration, required=True, help="TPOT limit, e.g. 50ms")
    p.add_argument("--max-gpus", type=positive_int(1), default=64, help="GPUs at most (default: %(default)s)")
    p.add_argument("--objective", choices=("tokens_per_s_per_gpu", "usd_per_million_tokens"),
                   default="tokens_per_s_per_gpu", help="what 'best' maximises (default: %(default)s)")
    p.add_argument("--chunk-size", type=positive_int(1), default=8192,
                   help="chunked-prefill budget, prompt tokens per step (default: %(default)s)")
    p.add_argument("--precision", choices=("bf16", "fp8", "nvfp4", "mxfp4"), default=None,
                   help="weights and KV cache format (default: the model's)")
    p.add_argument("--profile", metavar="NAME|PATH",
                   help="a shipped runtime profile (tensorrt-llm, vllm) or a profile TOML "
                   "(default: isw.Runtime.default())")
    p.add_argument("--uncertainty", type=float, metavar="P", default=None,
                   help="with --profile: add _lo/_hi bounds holding probability P (e.g. 0.8) to every row, "
                   "and shade them in the plot (default: no bounds)")
    p.add_argument("--csv", action="store_true", help="write the plan as CSV to stdout")
    p.add_argument("--out", type=plot_path, metavar="PLOT",
                   help="write the plot (throughput per GPU against tokens/s per user, aggregated against "
                   "disaggregated, cost on the right axis): .png, .svg, .pdf, or .html for one "
                   "self-contained interactive page (default: no plot)")
    p.set_defaults(func=cmd_plan)
