"""`infersweep explain`: where the time goes in one configuration, and why it does not fit."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..catalog import gpu as lookup_gpu
from ..catalog import model as lookup_model
from ..plot import g3, layout_text
from ..reference import pp_degrees
from ..specs import SpecDec
from ..sweep import sweep
from .output import context_text, text_table


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
    """Why no layout exists: no pipeline degree P of the engine's list has P <= min(N, b), or
    none of those that do fits in memory (docs/model.md §5: the two infeasibility tests)."""
    N, b, ctx = args.n_gpus, args.batch_size, args.context
    degrees = pp_degrees(b, m.n_layers, args.use_pp)
    if not any(P <= min(N, b) for P in degrees):  # noqa: SIM300 (P is the variable)
        _explain_too_small(m, g, args, weights, kv_full, hbm)
        return
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
        # list (docs/model.md §5).
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


def _explain_too_small(
    m: Any, g: Any, args: argparse.Namespace, weights: float, kv_full: float, hbm: float
) -> None:
    """min(N, b) < 1: every pipeline degree is >= 1, and a layout needs P <= min(N, b)."""
    N, b = args.n_gpus, args.batch_size
    short = [f"{g3(N)} GPUs" if N < 1 else "", f"{g3(b)} sequences" if b < 1 else ""]
    print(
        f"  no layout: every pipeline degree P is at least 1 and a layout needs P <= min(N, b), "
        f"but min(N, b) = {g3(min(N, b))} ({' and '.join(x for x in short if x)}): a pipeline "
        f"stage needs at least one GPU and one sequence (docs/model.md §5)"
    )
    need = weights + kv_full
    verdict = "would fit" if not hbm < need else "would not fit either"
    print(
        f"  memory {verdict}: weights {_gb(weights)} + KV cache {_gb(kv_full)} = {_gb(need)} "
        f"{'<=' if not hbm < need else '>'} {_gb(hbm)} of HBM"
    )
    n_fix = max(1, math.ceil(weights / g.hbm_bytes))
    fixes = ([f"--n-gpus {n_fix} or more"] if N < 1 else []) + (["--batch-size 1 or more"] if b < 1 else [])
    print(f"  use {' and '.join(fixes)}")
