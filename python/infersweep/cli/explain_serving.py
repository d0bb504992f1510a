"""`infersweep explain --semantics serving`: the text of :func:`infersweep.explain` with
``semantics="serving"`` (which computes every figure printed here)."""

from __future__ import annotations

import argparse
import re

from ..errors import GridError
from ..explain import explain
from ..plot import g3
from ..serving import Precision
from .catalog import gpu_terms
from .output import context_text, text_table
from .validate import _runtime

_NAMES = {
    "overhead_s": "step overhead (host, per step)",
    "kernel_s": "kernel launches",
    "network_latency_s": "network latency",
    "network_bandwidth_s": "network bandwidth",
    "all_to_all_s": "  of which MoE all-to-all",
    "weight_memory_s": "weight streaming (HBM)",
    "kv_memory_s": "KV-cache reads (HBM)",
    "memory_s": "memory = weights + KV",
    "compute_s": "compute (FLOPs)",
    "work_s": "memory-or-compute term (added)",
    "overlap_s": "overlap (subtracted)",
}


def _us(x: float) -> str:
    return f"{1e6 * x:,.1f}"


def _gb(x: float) -> str:
    return f"{x / 1e9:,.2f} GB"


def _flag(source: str) -> str:
    """A precision source as the command line says it: "Precision field 'kv_cache' = 'fp8'" is
    "--precision kv_cache=fp8"."""
    return re.sub(r"Precision field '(\w+)' = '?([^']*)'?", r"--precision \1=\2", source)


def cmd_explain_serving(args: argparse.Namespace) -> int:
    if args.use_pp or args.spec_dec is not None:
        raise GridError(f"explain: {'--pp' if args.use_pp else '--spec-dec'} is epoch's only; pass "
                        "--semantics epoch (the default, serving, searches the pipeline degree: pin it "
                        "with --pp-degree)")
    e = explain(args.model, args.gpu, n_gpus=args.n_gpus, batch_size=args.batch_size,
                context_len=args.context, seq_len=args.seq_len, semantics="serving", tp=args.tp,
                pp=args.pp_degree, ep=args.ep, attention_dp=args.attention_dp,
                runtime=_runtime(args, "explain"), precision=args.precision)
    m, g, lay = e.model, e.gpu, e.layout
    head = (f"{m.name} on {g3(e.n_gpus)} × {g.name}, batch {g3(e.batch_size)}, context "
            f"{context_text(e.context_len)}"
            + (f", {g3(e.seq_len)} positions per step" if e.seq_len != 1 else "")
            + ", serving semantics (one decode step, docs/serving.md)")
    print(head)
    print("─" * min(len(head), 100))
    print(f"  {gpu_terms(g)}")
    chosen = "pinned: " + ", ".join(f"{k}={v}" for k, v in e.pinned.items()) if e.pinned else "searched"
    closest = "" if e.feasible else "; the closest to fitting"
    print(f"  layout            tp={lay['tp']} pp={lay['pp']} ep={lay['ep']} "
          f"attention_dp={lay['attention_dp']} expert_tp={lay['expert_tp']} ({chosen}{closest})")
    mem = e.memory
    print(f"  memory per GPU    weights {_gb(mem.weights_bytes)} + KV cache {_gb(mem.kv_cache_bytes)} "
          f"+ reserve {_gb(mem.reserve_bytes)} = {_gb(mem.used_bytes)} of {_gb(mem.hbm_bytes)} "
          f"({100 * mem.used_fraction:.0f}%); max_batch_size {g3(mem.max_batch_size)}")
    if e.infeasible is not None:
        print(f"  {e.infeasible}")
    else:
        lat = e.token_latency_s
        print(f"  token latency     {_us(lat)} µs; {e.tokens_per_s_per_gpu:,.1f} tokens/s per GPU; "
              f"${e.usd_per_million_tokens:.4g} per million output tokens; MFU {100 * e.mfu:.2f}%")
    print()
    c = e.components
    rows = []
    for key, name in _NAMES.items():
        note = ""
        if key in ("memory_s", "compute_s"):
            note = "◀ bound" if key.startswith(e.bound) else f"(overlapped with {e.bound})"
        if key == "work_s":
            note = ("= max(KV, attention over the cache) + max(weights, GEMMs): one roofline per operator"
                    if e.runtime["operator_roofline"][0] else "= max(memory, compute)")
        if key in ("weight_memory_s", "kv_memory_s", "all_to_all_s"):
            note = "(part of the row below)" if key != "all_to_all_s" else "(part of the two rows above)"
        if key == "kernel_s":
            graphs = bool(e.runtime["cuda_graphs"][0])
            per = e.runtime["graph_kernel_s" if graphs else "launch_kernel_s"][0]
            note = f"(CUDA graphs {'on' if graphs else 'off'}: {_us(float(per))} µs per kernel)"
        rows.append([name, _us(c[key]), f"{100 * e.shares[key]:.1f}%", note])
    rows.append(["step time", _us(e.step_s), "100.0%",
                 "= overhead + kernels + network + memory-or-compute − overlap"])
    print(text_table(["component", "µs", "share", ""], rows, "lrrl"))
    part = "streaming weights" if e.memory_part == "weights" else "reading the KV cache"
    what = f"memory-bound ({part})" if e.bound == "memory" else "compute-bound"
    print(f"\n  verdict: {what}; the largest cost is {e.largest} ({100 * e.largest_share:.0f}% of the step)")

    print("\n  runtime (value used, where it came from)")
    given = "runtime argument" if args.profile is None else f"profile {args.profile}"

    def value(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    rt_rows = [[k, value(v), src.replace("runtime argument", given)] for k, (v, src) in e.runtime.items()]
    print(text_table(["field", "value", "source"], rt_rows, "lll"))
    given_precision = {k: v for k, v in vars(args.precision or Precision()).items() if v is not None}
    source = ("--precision " + ",".join(f"{k}={v}" for k, v in given_precision.items())
              + ", the rest the model's own" if given_precision else "isw.Precision(): the model's own")
    print(f"\n  precision ({source}; bytes per element, bits per GEMM; value used, where it came from)")
    rows = [[k, f"{v:g}", _flag(e.precision_sources.get(k, ""))] for k, v in e.precision.items()]
    print(text_table(["component", "value", "source"], rows, "lll"))
    return 0
