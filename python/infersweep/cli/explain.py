"""`infersweep explain`: where the time goes in one configuration, and why it does not fit: the
text of :func:`infersweep.explain` (which computes every figure printed here)."""

from __future__ import annotations

import argparse

from ..explain import explain
from ..plot import g3, layout_text
from .catalog import gpu_terms
from .output import context_text, text_table

_COMPONENT_NAMES = {
    "kernel_s": "kernel launches",
    "network_latency_s": "network latency",
    "network_bandwidth_s": "network bandwidth",
    "memory_s": "memory (HBM traffic)",
    "compute_s": "compute (FLOPs)",
}


def _us(x: float) -> str:
    return f"{1e6 * x:,.1f}"


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def cmd_explain(args: argparse.Namespace) -> int:
    if args.semantics == "serving":
        from .explain_serving import cmd_explain_serving

        return cmd_explain_serving(args)
    serving_flags = [f for f, v in (("--tp", args.tp), ("--pp-degree", args.pp_degree), ("--ep", args.ep),
                                    ("--attention-dp", args.attention_dp), ("--profile", args.profile),
                                    ("--precision", args.precision))
                     if v is not None]
    if serving_flags:
        from ..errors import GridError

        raise GridError(f"explain: {serving_flags[0]} needs --semantics serving")
    e = explain(
        args.model,
        args.gpu,
        n_gpus=args.n_gpus,
        batch_size=args.batch_size,
        context_len=args.context,
        seq_len=args.seq_len,
        use_pp=args.use_pp,
        spec_dec=args.spec_dec,
        semantics="epoch",
    )
    m, g, sd = e.model, e.gpu, e.spec_dec
    N, b, ctx = e.n_gpus, e.batch_size, e.context_len
    head = (
        f"{m.name} on {g3(N)} × {g.name}, batch {g3(b)}, context {context_text(ctx)}"
        + (f", {g3(e.seq_len)} positions per pass" if e.seq_len != 1 else "")
        + (", pipeline parallelism allowed" if e.use_pp else ", no pipeline parallelism (the default; --pp)")
        + (
            ""
            if sd is None
            else f", speculative decoding with {sd.drafter_model.name} "
            f"(α={sd.acceptance:g}, γ≤{sd.gamma_max})"
        )
    )
    print(head)
    print("─" * min(len(head), 100))
    print(f"  {gpu_terms(g)}")
    if e.infeasible is not None:
        print(f"  {e.infeasible.reason}")
        for hint in e.infeasible.hints:
            print(f"  {hint}")
        return 0

    lat = e.token_latency_s
    print(f"  token latency     {_us(lat)} µs  ({1e3 * lat:.3f} ms between tokens of one request)")
    print(
        f"  speed             {e.tokens_per_s_per_request:,.2f} tokens/s per request; "
        f"{e.tokens_per_s_per_gpu:,.1f} tokens/s per GPU; {e.tokens_per_s:,.0f} "
        f"tokens/s for the batch"
    )
    print(
        f"  cost              ${e.usd_per_million_tokens:.4g} per million output tokens "
        f"({e.gpu_seconds_per_token:.4g} GPU-seconds per token at ${g.usd_per_hour:.2f}/GPU-hour)"
    )
    print(
        f"  MFU               {100 * e.mfu:.2f}% of peak {e.peak_flops / 1e12:,.0f} TFLOP/s at "
        f"{m.weight_bits}-bit weights"
    )
    mem, pp = e.memory, float(e.layout["pp_degree"])
    print(
        f"  memory            weights {_gb(mem.weights_bytes)} + KV cache {_gb(mem.kv_cache_held_bytes)}"
        + (f" (one of {g3(pp)} micro-batches)" if pp > 1 + 1e-9 else "")
        + f" = {_gb(mem.used_bytes)} of {_gb(mem.hbm_bytes)} HBM ({100 * mem.used_fraction:.0f}%)"
    )

    comps = e.components
    pass_s, bound = e.pass_s, e.bound
    print()
    if sd is not None and e.gamma == 0:
        print("  speculative decoding does not pay here: plain decoding is faster, and is used")
    if e.gamma > 0 and sd is not None:
        t_q, gamma = e.drafter_latency_s, e.gamma
        print(
            f"  speculative decoding: each round drafts γ={gamma} tokens with {sd.drafter_model.name} "
            f"({gamma} × {_us(t_q)} µs), verifies them in one target pass over {gamma} positions "
            f"({_us(pass_s)} µs)"
        )
        print(
            f"  and yields (1−α^γ)/(1−α) = {e.tokens_per_round:.3f} tokens on average: "
            f"{_us((pass_s + gamma * t_q) / e.tokens_per_round)} µs per token."
        )
        print("  The components below are those of the target's verification pass.")
    rows = []
    for key, name in _COMPONENT_NAMES.items():
        note = ""
        if key in ("memory_s", "compute_s"):
            note = "◀ bound" if key.startswith(str(bound)) else f"(overlapped with {bound})"
        rows.append([name, _us(comps[key]), f"{100 * e.shares[key]:.1f}%", note])
    rows.append(["pass time", _us(pass_s), "100.0%", "= kernel + network + max(memory, compute)"])
    print(text_table(["component", "µs", "share", ""], rows, "lrrl"))

    print("\n  winning layout")
    lay, T = e.layout, float(e.layout["gpus_per_stage"])
    layout = [
        (
            "tensor parallelism",
            "2D (a grid of row and column all-reduces)" if lay["two_d_tp"] else "1D (one all-reduce group)",
        ),
        ("pipeline degree", f"{g3(pp)} stage(s) of {g3(T)} GPUs"),
        ("expert parallelism", g3(float(lay["ep_degree"]))),
        ("TP degree, FFN", g3(float(lay["tp_ffn"]))),
        ("TP degree, attention", g3(float(lay["tp_attention"]))),
        (
            "attention scale-down",
            f"{g3(float(lay['attention_scaledown']))} (attention on {g3(float(lay['tp_attention']))} of "
            f"{g3(T)} GPUs per stage)",
        ),
    ]
    print(text_table(["", ""], layout, "ll").split("\n", 2)[2])
    print(f"  ({layout_text(e.row)}; degrees are real numbers in the paper's continuous model)")

    mem_s, flop_s = comps["memory_s"], comps["compute_s"]
    net = comps["network_latency_s"] + comps["network_bandwidth_s"]
    fixed = comps["kernel_s"] + comps["network_latency_s"]
    ratio = max(mem_s, flop_s) / max(min(mem_s, flop_s), 1e-300)
    what = "reading weights and KV cache" if bound == "memory" else "arithmetic"
    other = "arithmetic" if bound == "memory" else "HBM traffic"
    print(
        f"\n  verdict: {bound}-bound: {what} ({1e3 * max(mem_s, flop_s):.3f} ms) takes {ratio:.1f}× the "
        f"{other}; the network is {100 * net / pass_s:.0f}% of the pass "
        f"({100 * comps['network_latency_s'] / net if net > 0 else 0:.0f}% of it fixed latency); "
        f"fixed latencies (kernels + network) are {100 * fixed / pass_s:.0f}%."
    )
    return 0
