"""Recompute the README's "Serving" figures — Llama-3.1-70B FP8 on 8 × H200 at three loads,
aggregated against disaggregated, and the plan's plot — and write them between the markers of the
"Serving traffic" section, with the plot as docs/serving_plan.png; and the standard point's table
between its own markers (never typed by hand):

    python scripts/serving_section.py          # rewrite README.md and docs/serving_plan.png
    python scripts/serving_section.py --check  # exit 1 if README.md is not up to date

Run with infersweep installed (e.g. `maturin develop`); the PNG needs matplotlib.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import polars as pl

import infersweep as isw
from infersweep.plan_plot import deployment_text, plot_plan
from infersweep.planner import disaggregated_candidates

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PNG = ROOT / "docs" / "serving_plan.png"
START, END = "<!-- serving:start -->", "<!-- serving:end -->"

MODEL, GPU, N_GPUS = "Llama-3.1-70B", "H200", 8
ISL, OSL, CHUNK = 4000, 500, 8192
LOADS = (8, 64, 256)
TTFT_MAX, TPOT_MAX = 1.0, 0.05
FP8 = isw.Precision(attention="fp8", dense_ffn="fp8", experts="fp8", kv_cache="fp8")
PLAN_ARGS: dict[str, Any] = {"isl": ISL, "osl": OSL, "ttft_max": TTFT_MAX, "tpot_max": TPOT_MAX,
                             "chunk_size": CHUNK, "precision": FP8}


def _usd_all_in(tokens_per_s_per_gpu: float) -> float:
    """$ per million output tokens with every GPU's hour charged to the output (as isw.plan does)."""
    return 1e6 * isw.gpu(GPU).usd_per_hour / 3600 / tokens_per_s_per_gpu


def _para(text: str) -> str:
    """A paragraph wrapped at 100 columns, never between a number and its unit."""
    text = re.sub(r"(\d) (s|ms)\b", "\\1\u00a0\\2", text)
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    rule = "|" + "|".join(["---"] * 2 + ["---:"] * (len(headers) - 2)) + "|"
    out = ["| " + " | ".join(headers) + " |", rule]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def aggregated_rows() -> pl.DataFrame:
    """One 8-GPU instance (the layout searched) at each concurrency."""
    return isw.serve(MODEL, GPU, N_GPUS, isl=ISL, osl=OSL, concurrency=list(LOADS), chunk_size=CHUNK,
                     precision=FP8)


def disaggregated_rows() -> dict[int, dict[str, Any] | None]:
    """Per load, the best split of at most 8 GPUs into prefill and decode instances with
    decode instances × decode batch = the load, TTFT ≤ TTFT_MAX (no TPOT limit), from the
    planner's candidates; None when no split meets the TTFT limit."""
    cands = disaggregated_candidates(MODEL, GPU, isl=ISL, osl=OSL, max_gpus=N_GPUS, ttft_max=TTFT_MAX,
                                     tpot_max=float("inf"), chunk_size=CHUNK, runtime=None, precision=FP8)
    out: dict[int, dict[str, Any] | None] = {}
    for load in LOADS:
        d = (cands.filter(pl.col("decode_instances") * pl.col("decode_batch") == load)
             .sort("output_tokens_per_s_per_gpu", descending=True, maintain_order=True))
        out[load] = None if d.is_empty() else {**d.row(0, named=True), "kind": "disaggregated"}
    return out


def _row(deployment: str, load: str, r: dict[str, Any]) -> list[str]:
    return [deployment, load, f"{1e3 * r['ttft_s']:.0f}", f"{1e3 * r['tpot_s']:.1f}",
            f"{r['tokens_per_s_per_user']:.1f}", f"{r['output_tokens_per_s_per_gpu']:.0f}",
            f"{r['usd_per_million_tokens']:.2f}", str(r["gpus"])]


def _plan_row(r: dict[str, Any]) -> list[str]:
    return [r["kind"], deployment_text(r), f"{1e3 * r['ttft_s']:.0f}", f"{1e3 * r['tpot_s']:.1f}",
            f"{r['tokens_per_s_per_user']:.1f}", f"{r['output_tokens_per_s_per_gpu']:.0f}",
            f"{r['usd_per_million_tokens']:.2f}", str(r["total_gpus"])]


def section(plan8: pl.DataFrame | None = None) -> str:
    """The generated block (markers included). ``plan8``: the 8-GPU plan, if already computed."""
    agg = aggregated_rows()
    dis = disaggregated_rows()
    rows = []
    for r in agg.iter_rows(named=True):
        lay = f"tp{r['tp']} pp{r['pp']} ep{r['ep']} dp{r['attention_dp']}"
        r = {**r, "usd_per_million_tokens": _usd_all_in(r["output_tokens_per_s_per_gpu"]), "gpus": N_GPUS}
        rows.append(_row(f"aggregated, 1 × 8 GPUs {lay}", f"{r['concurrency']:.0f} concurrent", r))
    for load, d in dis.items():
        if d is None:
            rows.append([f"disaggregated, ≤ {N_GPUS} GPUs", f"{load} decoding",
                         f"none with TTFT ≤ {TTFT_MAX:g} s", "", "", "", "", ""])
        else:
            rows.append(_row(f"disaggregated, {deployment_text(d)}", f"{load} decoding",
                             {**d, "gpus": d["total_gpus"]}))
    plan8 = isw.plan(MODEL, GPU, max_gpus=N_GPUS, **PLAN_ARGS) if plan8 is None else plan8
    best8 = plan8.filter(pl.col("best"))
    plan64 = isw.plan(MODEL, GPU, max_gpus=64, **PLAN_ARGS)
    best64 = {r["kind"]: r for r in plan64.filter(pl.col("best")).iter_rows(named=True)}
    hi = agg.row(len(LOADS) - 1, named=True)
    d_hi = next((d for d in reversed(list(dis.values())) if d is not None), None)
    headers = ["deployment", "load", "TTFT ms", "TPOT ms", "tok/s/user", "out tok/s/GPU", "$/M out", "GPUs"]
    parts = [
        START, "",
        "### Serving: Llama-3.1-70B FP8 on 8 × H200", "",
        _para(f"ISL {ISL}, OSL {OSL}, FP8 weights and KV cache, `Runtime.default()`, chunk budget {CHUNK} "
        "(model figures, not measurements; generated by `scripts/serving_section.py`). Three loads: "
        "aggregated is one 8-GPU instance (in-flight batching with chunked prefill, the layout "
        f"searched by `isw.serve`) at {', '.join(map(str, LOADS))} concurrent requests; disaggregated "
        f"puts prefill and decode instances on at most {N_GPUS} GPUs with that many sequences decoding "
        "(decode instances × batch): of the planner's candidates (`isw.planner.disaggregated_candidates`), "
        f"the one with the most output tokens/s per GPU and TTFT ≤ {TTFT_MAX:g} s; the GPUs column says "
        "how many it uses. $/M out charges every GPU (prefill included) to the output tokens, as "
        "`isw.plan` does."), "",
        _markdown(headers, rows), "",
    ]
    note = (f"At {LOADS[-1]} concurrent requests the aggregated server spends ρ = "
            f"{100 * hi['prefill_share']:.0f}% of its steps on prefill, so its TPOT "
            f"({1e3 * hi['tpot_s']:.1f} ms) includes the prompts' chunks")
    if d_hi is not None:
        note += (f"; the disaggregated decode pool at {d_hi['decode_instances'] * d_hi['decode_batch']:.0f} "
                 f"sequences decodes in {1e3 * d_hi['tpot_s']:.1f} ms per token and pays with TTFT "
                 f"({1e3 * d_hi['ttft_s']:.0f} ms: the prefill pool at "
                 f"{100 * d_hi['prefill_utilization']:.0f}% utilisation, plus the KV transfer)")
    missing = [load for load, d in dis.items() if d is None]
    if missing:
        note += (f". At {', '.join(map(str, missing))} sequences decoding no split of {N_GPUS} GPUs keeps "
                 f"TTFT ≤ {TTFT_MAX:g} s: the prompts' prefill needs more GPUs than are left")
    parts += [_para(note + "."), ""]
    parts += [
        _para(f"The plan (`isw.plan`) on up to {N_GPUS} H200s under TTFT ≤ {TTFT_MAX:g} s and TPOT ≤ "
              f"{TPOT_MAX * 1e3:g} ms, best of each kind:"), "",
        _markdown(["kind", "deployment", "TTFT ms", "TPOT ms", "tok/s/user", "out tok/s/GPU", "$/M out",
                   "GPUs"], [_plan_row(r) for r in best8.iter_rows(named=True)]), "",
        f"![The plan on up to {N_GPUS} H200s](docs/serving_plan.png)", "",
        _para("Each kind's front of output tokens/s per GPU against tokens/s per user; the right axis is the "
        "same throughput in $ per million output tokens. Made by "
        f"`infersweep plan --model {MODEL} --gpu {GPU} --isl {ISL} --osl {OSL} --ttft 1s --tpot 50ms "
        f"--max-gpus {N_GPUS} --precision fp8 --out plan.png` (`--out plan.html`: the same plot as one "
        "self-contained interactive page, a tooltip per deployment)."), "",
    ]
    if {"aggregated", "disaggregated"} <= best64.keys():
        a, d = best64["aggregated"], best64["disaggregated"]
        parts += [
            _para(f"On up to 64 H200s under the same limits: best aggregated "
            f"{a['output_tokens_per_s_per_gpu']:.0f} output tok/s/GPU (${a['usd_per_million_tokens']:.2f}/M, "
            f"{deployment_text(a)}), best disaggregated {d['output_tokens_per_s_per_gpu']:.0f} tok/s/GPU "
            f"(${d['usd_per_million_tokens']:.2f}/M, {deployment_text(d)})."), "",
        ]
    parts.append(END)
    return "\n".join(parts)


#: The standard point (docs/serving.md, "The standard point") and the peers' figures for it, as
#: quoted in issue 11 (not re-run here).
STD_START, STD_END = "<!-- standard:start -->", "<!-- standard:end -->"
STD = {"model": "Llama-3-70B", "gpu": "H100", "n_gpus": 8, "batch_size": 32, "context_len": 4096}
PEERS = [["aiconfigurator", "7.31 (speed-of-light); 12.3–14.5 (its measured kernels)"], ["GenZ", "9.63"],
         ["llm-analysis", "10.26"]]


def standard_point() -> str:
    """The standard point's step under `epoch` and three serving runtimes (ms), between markers."""
    ms = lambda v: f"{1e3 * v:.2f}"  # noqa: E731
    kw: dict[str, Any] = dict(STD)
    e = isw.sweep(semantics="epoch", **kw).row(0, named=True)
    rows = [["`epoch` (best continuous layout)", f"**{ms(e['token_latency_s'])}**", "—", ms(e["kernel_s"]),
             f"{ms(e['network_latency_s'])} + {ms(e['network_bandwidth_s'])}",
             ms(e["memory_s"]) + " (weights + KV)", "", ms(e["compute_s"]), "", "(pooled)"]]
    for label, rt in (("`serving`, `Runtime.epoch()` (the bridge)", isw.Runtime.epoch()),
                      ("`serving`, `Runtime.ideal()` (speed-of-light)", isw.Runtime.ideal()),
                      ("`serving`, `Runtime.default()`", isw.Runtime.default())):
        r = isw.sweep(semantics="serving", tp=8, runtime=rt, **kw).row(0, named=True)
        rows.append([label, f"**{ms(r['token_latency_s'])}**", ms(r["overhead_s"]), ms(r["kernel_s"]),
                     f"{ms(r['network_latency_s'])} + {ms(r['network_bandwidth_s'])}",
                     ms(r["weight_memory_s"]), ms(r["kv_memory_s"]), ms(r["compute_s"]), ms(r["work_s"]),
                     f"{r['max_batch_size']:.0f}"])
    rows += [[name, fig, "", "", "", "", "", "", "", ""] for name, fig in PEERS]
    headers = ["", "step", "overhead", "kernels", "network (lat. + bw)", "weights", "KV", "compute",
               "memory-or-compute", "fits up to"]
    rule = "|" + "|".join(["---"] * len(headers)) + "|"
    table = "\n".join(["| " + " | ".join(headers) + " |", rule] + ["| " + " | ".join(r) + " |" for r in rows])
    ideal = rows[2]
    light = float(ideal[5]) + float(ideal[6])
    for cells in rows[1:4]:   # the prose says every operator is memory-bound at this point
        assert abs(float(cells[8]) - float(cells[5]) - float(cells[6])) < 0.015, cells
    prose = _para(
        "The step is overhead + kernels + network + memory-or-compute − overlap, where memory-or-compute "
        "(`work_s`) is max(KV, attention over the cache) + Σ max(weights, GEMMs) over the GEMM classes "
        "(docs/serving.md §R.8; `epoch`'s max(weights + KV, compute) under `Runtime.epoch()`); at batch 32 "
        "every operator is memory-bound, so it is weights + KV. Our ideal is slower than aiconfigurator's "
        f"speed-of-light by the network: 160 all-reduces at NCCL's tuned 15.2 µs (MODEL.md §4) are "
        f"{ideal[4].split(' + ')[0]} ms that a memory-only bound leaves out; its weights + KV "
        f"({light:.2f} ms) are aiconfigurator's 7.31 ms within {100 * abs(light / 7.31 - 1):.0f}%. The "
        "peers' figures are as quoted in issue 11, not re-run here.")
    return (f"{STD_START}\n\n**The standard point**: Llama-3-70B BF16, 8×H100-SXM, TP8, batch 32, context "
            "4096 (ms per step; generated by `scripts/serving_section.py`):\n\n" + table + "\n\n" + prose
            + "\n\n" + STD_END)


def _replace(text: str, start: str, end: str, block: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def readme_with_section(text: str, plan8: pl.DataFrame | None = None) -> str:
    """``text`` (the README) with its Serving block and its standard point regenerated."""
    text = _replace(text, STD_START, STD_END, standard_point())
    return _replace(text, START, END, section(plan8))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if README.md is not up to date")
    args = p.parse_args()
    text = README.read_text(encoding="utf-8")
    plan8 = isw.plan(MODEL, GPU, max_gpus=N_GPUS, **PLAN_ARGS)
    new = readme_with_section(text, plan8)
    if args.check:
        if new != text:
            print("README.md's Serving section is out of date: run scripts/serving_section.py",
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    title = (f"{MODEL} FP8 on up to {N_GPUS} × {GPU}, ISL {ISL}, OSL {OSL}, "
             f"TTFT ≤ {TTFT_MAX:g} s, TPOT ≤ {TPOT_MAX * 1e3:g} ms")
    plot_plan(plan8, PNG, title=title, tpot_max=TPOT_MAX)
    print(f"README.md: Serving section rewritten; {PNG.relative_to(ROOT)} drawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
