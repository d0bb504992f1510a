"""DeepSeek-V3 on 8 H200s: Epoch's approximation vs the faithful architecture (docs/extensions.md §10).

Run ``python docs/deepseek_v3_comparison.py``: it prints the Markdown tables of docs/extensions.md
and README.md. GPU: Epoch's H200 entry (the paper's hardware); one node, no pipeline parallelism.
"""

from __future__ import annotations

import infersweep as isw

GPU = "H200"
BATCHES = [1, 16, 64, 256]
CONTEXTS = [0, 32768]
APPROX = isw.model("DeepSeek-V3-epoch")  # the notebook's DeepSeek_V3 (that key now reads as DeepSeek-V3)
FAITHFUL = isw.model("DeepSeek-V3")
FP8_KV = FAITHFUL.with_(name="DeepSeek-V3 (FP8 KV)", kv_bytes=1)


def _cell(row: dict[str, float], key: str, fmt: str) -> str:
    """A value of a sweep row (latency in ms), or a dash where the point does not fit."""
    scale = 1e3 if key == "token_latency_s" else 1.0
    return format(scale * row[key], fmt) if row["feasible"] else "does not fit"


def main() -> None:
    print("| | Epoch approximation | faithful | faithful, FP8 KV cache |")
    print("|---|---:|---:|---:|")
    models = (APPROX, FAITHFUL, FP8_KV)
    for label, fn in (("total params", lambda m: f"{m.total_params / 1e9:.1f}B"),
                      ("active params", lambda m: f"{m.active_params / 1e9:.2f}B"),
                      ("KV bytes per token", lambda m: f"{m.kv_bytes_per_token:,.0f}")):
        print(f"| {label} | " + " | ".join(fn(m) for m in models) + " |")
    df = isw.sweep(list(models), GPU, n_gpus=8, batch_size=BATCHES, context_len=CONTEXTS, semantics="epoch")
    rows = {(r["model"], r["context_len"], r["batch_size"]): r for r in df.iter_rows(named=True)}
    print()
    print("| context | b | latency (ms): approx → faithful | change | tok/s per request | $/M tokens "
          "| faithful + FP8 KV: ms, tok/s, $/M |")
    print("|---:|---:|---|---:|---|---|---|")
    for ctx in CONTEXTS:
        for b in BATCHES:
            a, f, q = (rows[(m.name, ctx, b)] for m in models)
            change = (f"{100 * (f['token_latency_s'] / a['token_latency_s'] - 1):+.1f}%"
                      if a["feasible"] and f["feasible"] else "—")
            lat, tps, usd = ("token_latency_s", ".2f"), ("tokens_per_s_per_request", ".1f"), \
                ("usd_per_million_tokens", ".2f")
            cells = [f"{ctx:,}", f"{b}", f"{_cell(a, *lat)} → {_cell(f, *lat)}", change,
                     f"{_cell(a, *tps)} → {_cell(f, *tps)}", f"{_cell(a, *usd)} → {_cell(f, *usd)}",
                     ", ".join(_cell(q, *c) for c in (lat, tps, usd))]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
