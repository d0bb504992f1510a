"""The argument parser: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import math
import textwrap
from pathlib import Path

from .._core import __version__
from ..frontier import SERVING_MAX_BATCH, SERVING_MAX_GPUS
from ..plot import FORMATS as PLOT_FORMATS
from ..serving import FORMATS as PRECISION_FORMATS
from ..serving import SERVING_INPUT_COLUMNS, SERVING_OUTPUT_COLUMNS
from ..sweep import INPUT_COLUMNS, MAX_THREADS, OUTPUT_COLUMNS
from .args import (
    DATA_FORMATS,
    MODEL_HELP,
    PRECISION_FIELDS,
    PROG,
    boolean,
    data_path,
    gpu_name,
    model_spec,
    number,
    plot_path,
    positive_int,
    precision,
    spec_dec,
)
from .catalog import cmd_gpus, cmd_models
from .demo import cmd_demo
from .explain import cmd_explain
from .frontier import cmd_frontier
from .plan import add_parser as add_plan_parser
from .sweep import cmd_sweep
from .validate import cmd_validate

#: Why the defaults of --pp differ between commands, as the paper does (shown in --help).
PP_WHY = ("a frontier is the best layout at every speed, and the paper's frontiers search pipeline "
          "degrees too; `sweep` and `explain` default to --no-pp")
NO_PP_WHY = ("one configuration's latency as the paper's point checks give it (docs/model.md §5); a PP "
             "search visits up to 11 pipeline degrees, about 5× the time; `frontier` defaults to --pp, "
             "so pass --pp to compare with it")


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
            type=model_spec,
            required=True,
            metavar="MODEL",
            help=f"model(s), each {MODEL_HELP}; repeat or list several",
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
            type=model_spec,
            required=True,
            metavar="MODEL",
            help=f"the model: {MODEL_HELP}",
        )
        p.add_argument(
            "--gpu",
            "-g",
            type=gpu_name,
            default="H100",
            metavar="NAME",
            help="catalog GPU (see `infersweep gpus`)",
        )


def _add_contexts(p: argparse.ArgumentParser) -> None:
    """--context as a list (frontier and sweep; explain takes one value)."""
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


#: What --semantics means, for --help (the default is serving: CHANGELOG.md, Unreleased).
SEMANTICS_HELP = ("serving (the default): deployable integer layouts, per-GPU memory and a real server's "
                  "costs under isw.Runtime.default() (docs/serving.md; the README's Accuracy section: "
                  "closer to measured deployments); epoch: the paper's continuous model, exact to its "
                  "notebook (docs/model.md)")
#: How the default serving frontier's grid is built (shown in --help and docs).
SERVING_GRID_HELP = (f"GPU counts 1, 2, 4, 8, then multiples of 8 up to --max-gpus (default "
                     f"{SERVING_MAX_GPUS}); batch sizes 2^(k/4) rounded, 1 to {SERVING_MAX_BATCH}, plus the "
                     "largest batch that fits at each GPU count; every valid integer layout at each point")


def _add_semantics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--semantics", choices=("epoch", "serving"), default="serving",
                   help=f"{SEMANTICS_HELP} (default: %(default)s)")


def _add_serving(p: argparse.ArgumentParser, many: bool) -> None:
    """--tp, --pp-degree, --ep, --attention-dp (pinned degrees; searched by default), --profile and
    --precision."""
    for flag, what in (("--tp", "attention tensor-parallel degree"), ("--pp-degree", "pipeline stages"),
                       ("--ep", "expert-parallel degree"),
                       ("--attention-dp", "attention data-parallel groups")):
        if many:
            p.add_argument(flag, nargs="+", action="extend", type=int, default=None, metavar="K",
                           help=f"serving only: pin the {what}, one or several values (default: searched)")
        else:
            p.add_argument(flag, type=int, default=None, metavar="K",
                           help=f"serving only: pin the {what} (default: searched)")
    p.add_argument("--profile", metavar="NAME|PATH",
                   help="serving only: a shipped runtime profile (tensorrt-llm, vllm) or a profile TOML "
                   "(default: isw.Runtime.default())")
    p.add_argument("--precision", type=precision, metavar="FIELD=VALUE,...",
                   help="serving only: per-component precision (isw.Precision), e.g. "
                   "attention=fp8,dense_ffn=fp8,kv_cache=fp8; fields " + ", ".join(PRECISION_FIELDS)
                   + "; a value is a format (" + ", ".join(PRECISION_FORMATS) + ") or bytes per element "
                   "(a FLOP-rate key 4/8/16 for *_compute); default: the model's own precision")


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
        description="The speed–cost frontier: for a model on a GPU, the cheapest configuration at every "
        "speed. Prints the fastest, preferred and cheapest points and a sample of the frontier; writes a "
        "plot and the points on request. Several --model/--gpu/--context/--spec-dec values give one "
        "frontier each (their product), drawn on one plot. Under --semantics serving (the default) it is "
        f"the exact Pareto front of a serving sweep over deployable configurations: {SERVING_GRID_HELP}. "
        "Under --semantics epoch it is Epoch's frontier (docs/model.md §7): --resolution × --resolution "
        "continuous GPU counts and batch sizes, every layout searched, --targets latency targets.",
        epilog="examples:\n"
        "  infersweep frontier --model Llama-3-70B --gpu H100 --out frontier.png\n"
        "  infersweep frontier -m Llama-3-70B -g H200-SXM --context 4k --profile tensorrt-llm\n"
        "  infersweep frontier --semantics epoch -m Llama-3-70B --spec-dec none Llama-3-8B-MQA:0.8 "
        "--out sd.html\n"
        "  infersweep frontier -m Llama-3-70B -g A100 H100 H200 --context 100k "
        "--data fronts.parquet",
    )
    _add_model_gpu(p, many=True)
    _add_contexts(p)
    p.add_argument(
        "--spec-dec",
        nargs="+",
        action="extend",
        type=spec_dec,
        default=None,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="epoch only: speculative decoding with a catalog drafter, acceptance α in [0, 1) and longest "
        "draft (default 5); 'none' for plain decoding",
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
        action="store_const",
        const=True,
        help=f"epoch only: allow pipeline parallelism (the default under epoch: {PP_WHY}; serving "
        "searches integer pipeline degrees)",
    )
    pp.add_argument("--no-pp", dest="use_pp", action="store_const", const=False,
                    help="epoch only: no pipeline parallelism")
    p.add_argument(
        "--resolution",
        type=positive_int(2),
        default=None,
        help="epoch only: grid points per axis (GPU counts × batch sizes); the paper uses 400 (the default)",
    )
    p.add_argument(
        "--targets",
        type=positive_int(1),
        default=None,
        help="epoch only: latency targets (default: the paper's 1000)",
    )
    _add_semantics(p)
    p.add_argument("--n-gpus", "-n", nargs="+", action="extend", type=positive_int(1), default=None,
                   metavar="N", help="serving only: the GPU counts (default: 1, 2, 4, 8, then multiples of 8 "
                   "up to --max-gpus)")
    p.add_argument("--max-gpus", type=positive_int(1), default=None, metavar="N",
                   help=f"serving only: the top of the default GPU counts (default {SERVING_MAX_GPUS})")
    p.add_argument("--batch-size", "-b", nargs="+", action="extend", type=positive_int(1), default=None,
                   metavar="B", help=f"serving only: the batch sizes (default: 2^(k/4) rounded, 1 to "
                   f"{SERVING_MAX_BATCH}, plus the largest that fits at each GPU count)")
    p.add_argument("--profile", metavar="NAME|PATH",
                   help="serving only: a shipped runtime profile (tensorrt-llm, vllm) or a profile TOML "
                   "(default: isw.Runtime.default())")
    p.add_argument("--precision", type=precision, metavar="FIELD=VALUE,...",
                   help="serving only: per-component precision (isw.Precision), e.g. "
                   "attention=fp8,dense_ffn=fp8,kv_cache=fp8; fields " + ", ".join(PRECISION_FIELDS)
                   + "; a value is a format (" + ", ".join(PRECISION_FORMATS) + ") or bytes per element "
                   "(a FLOP-rate key 4/8/16 for *_compute); default: the model's own precision")
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
    p.add_argument("--threads", type=positive_int(1, MAX_THREADS),
                   help=f"threads for the engine, 1 to {MAX_THREADS} (default: all cores)")
    p.set_defaults(func=cmd_frontier, use_pp=None)

    # -- sweep
    p = sub.add_parser(
        "sweep",
        formatter_class=_Formatter,
        help="evaluate a grid of configurations (isw.sweep)",
        description="Evaluate every configuration of a grid: the cartesian product of the values "
        "(--grid product) or the lists row by row (--grid zip; length-1 lists "
        "broadcast). Each row has the token latency, speed, cost, MFU, the time "
        "components and the winning layout. Without --out a readable table is printed. "
        "Under --semantics serving (the default) GPU counts and batches are integers and the layout "
        "is the fastest valid integer one (or pinned with --tp/--pp-degree/--ep/--attention-dp); "
        "--semantics epoch is the paper's continuous model (with --pp, --spec-dec, --chunk-rows).",
        epilog="examples:\n"
        "  infersweep sweep -m Llama-3-70B --n-gpus 8 16 32 --batch-size 1 4 16\n"
        "  infersweep sweep -m Llama-3-70B Llama-3-405B -g H100 H200 --n-gpus 8 16 64 "
        "--batch-size 1 64 256 --context 0 8k --out results.parquet\n"
        "  infersweep sweep -m Llama-3-70B -g H200-SXM -n 8 --tp 8 -b 1 64 --context 4k --profile vllm\n"
        "  infersweep sweep --semantics epoch -m Llama-3-70B --n-gpus 8 16 --batch-size 16 64 --grid zip "
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
        help="GPU counts (default 8; real numbers allowed under --semantics epoch, as in the paper)",
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
    _add_contexts(p)
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
        "--pp", dest="use_pp", action="store_const", const=[True],
        help="epoch only: allow pipeline parallelism (serving searches integer degrees: --pp-degree pins one)"
    )
    pp.add_argument(
        "--no-pp",
        dest="use_pp",
        action="store_const",
        const=[False],
        help=f"epoch only: no pipeline parallelism (the default under epoch: {NO_PP_WHY})",
    )
    pp.add_argument(
        "--use-pp",
        dest="use_pp",
        nargs="+",
        type=boolean,
        metavar="BOOL",
        help="epoch only: a list of pipeline-parallelism settings, e.g. --use-pp false true",
    )
    p.add_argument(
        "--spec-dec",
        nargs="+",
        action="extend",
        type=spec_dec,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="epoch only: speculative-decoding settings; 'none' for plain decoding (default none)",
    )
    _add_semantics(p)
    _add_serving(p, many=True)
    p.add_argument(
        "--grid",
        choices=("product", "zip"),
        default="product",
        help="how the lists combine (default: %(default)s)",
    )
    p.add_argument(
        "--columns",
        nargs="+",
        choices=list(dict.fromkeys(INPUT_COLUMNS + OUTPUT_COLUMNS + SERVING_INPUT_COLUMNS
                                   + SERVING_OUTPUT_COLUMNS)),
        metavar="COL",
        help="keep only these columns (printed as they are; each semantics has its own: isw.sweep)",
    )
    p.add_argument("--max-rows", type=positive_int(1), help="refuse grids with more rows")
    p.add_argument(
        "--chunk-rows",
        type=positive_int(1),
        default=None,
        help="epoch only: rows per engine call (default: adaptive, about 0.25 s of work per call)",
    )
    p.add_argument("--threads", type=positive_int(1, MAX_THREADS),
                   help=f"threads for the engine, 1 to {MAX_THREADS} (default: all cores)")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        help="epoch only: always show a progress bar on stderr (default: for long sweeps on a terminal)",
    )
    prog.add_argument(
        "--no-progress", dest="progress", action="store_const", const=False, help="never show it"
    )
    dest = p.add_mutually_exclusive_group()
    dest.add_argument(
        "--out",
        "-o",
        type=data_path,
        metavar="FILE",
        help=f"write every column to a file: {', '.join(DATA_FORMATS)} (the grid is built in memory)",
    )
    dest.add_argument(
        "--dataset",
        type=Path,
        metavar="DIR",
        help="stream the rows to a Parquet dataset in the folder DIR, in bounded memory, for grids of "
        "any size (isw.sweep_to_parquet; rerun to resume; read it with isw.read_sweep)",
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
        "does not fit, by how much. The same breakdown as data: isw.explain(...).",
        epilog="examples:\n  infersweep explain --model Llama-3-70B --gpu H100 --n-gpus 8 --batch-size 64\n"
        "  infersweep explain --tp 8 -m Llama-3-70B -g H100 -n 8 -b 64 --context 2000 --profile vllm\n"
        "  infersweep explain --semantics epoch -m Llama-3-70B -g H100 -n 8 -b 64",
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
        "--pp", dest="use_pp", action="store_true", default=False,
        help="epoch only: allow pipeline parallelism (serving searches integer degrees: --pp-degree pins one)"
    )
    pp.add_argument(
        "--no-pp",
        dest="use_pp",
        action="store_false",
        help=f"epoch only: no pipeline parallelism (the default under epoch: {NO_PP_WHY})",
    )
    p.add_argument(
        "--spec-dec",
        type=spec_dec,
        default=None,
        metavar="DRAFTER:ALPHA[:GAMMA]",
        help="epoch only: speculative decoding",
    )
    _add_semantics(p)
    _add_serving(p, many=False)
    p.set_defaults(func=cmd_explain)

    # -- demo
    p = sub.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="the paper's headline comparisons, with plots",
        description="Reproduce the paper's headline comparisons in one summary: (a) models on "
        "H100, (b) speculative decoding, (c) GPU generations, (d) quantization, "
        "(e) long context. Writes one frontier plot per comparison and summary.txt "
        "into --out-dir (default: a new temporary folder, whose path is printed). The 18 frontiers "
        "take about 10 s on two idle cores at resolution 400 and the plots a few more; --quick "
        "(resolution 100) about a second. The summary ends with the time it took.",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="folder for the plots and summary.txt, created if needed (default: a new folder "
        "infersweep-demo-* in the system's temporary folder)",
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
    p.add_argument("--threads", type=positive_int(1, MAX_THREADS),
                   help=f"threads for the engine, 1 to {MAX_THREADS} (default: all cores)")
    p.set_defaults(func=cmd_demo)

    # -- validate
    p = sub.add_parser(
        "validate",
        formatter_class=_Formatter,
        help="predicted against measured decode steps on public deployments (isw.validate)",
        description="Map each shipped measured deployment (MLPerf, TensorRT-LLM and vLLM results; "
        "docs/measurements.md) onto a semantics and print the error table: median |error| on "
        "log scale, geomean ratio predicted/measured, share within 15% / 30% / 2x, overall and "
        "per scenario and framework. Points the semantics cannot express are counted, with "
        "their reasons under --points.",
        epilog="examples:\n  infersweep validate\n  infersweep validate --points\n"
        "  infersweep validate --csv > validation.csv\n"
        "  infersweep validate --semantics serving --profile tensorrt-llm",
    )
    p.add_argument("--semantics", choices=("epoch", "serving"), default="epoch",
                   help="the semantics to check (default: %(default)s)")
    p.add_argument("--by", nargs="+", default=["scenario", "framework"], metavar="COLUMN",
                   help="columns to break the summary down by (default: scenario framework)")
    p.add_argument("--profile", metavar="NAME|PATH",
                   help="with --semantics serving: a shipped runtime profile (tensorrt-llm, vllm; "
                   "isw.shipped_profiles()) or a profile TOML file, instead of Runtime.default(); the "
                   "points it was fitted on are predicted in-sample (the README's cross-validated table "
                   "is scripts/calibrate_profiles.py's)")
    p.add_argument("--points", action="store_true", help="also print every point, with its reason")
    p.add_argument("--csv", action="store_true", help="write the per-point frame as CSV to stdout")
    p.set_defaults(func=cmd_validate)

    # -- plan
    add_plan_parser(sub, _Formatter)
    return parser
