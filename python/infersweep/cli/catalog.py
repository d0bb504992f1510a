"""`infersweep models` and `infersweep gpus`: the catalog as tables or CSV."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..catalog import catalog_gpus, catalog_models, catalog_of
from ..specs import Gpu
from .output import text_table

#: What each catalog's prices and caps are, for the tables whose rankings depend on them.
CATALOG_TERMS = {
    "epoch": "Epoch's paper entry: the paper's price and caps",
    "modern": "modern entry: a dated market price, caps carried over from Epoch's H100",
    None: "not a catalog entry",
}


def gpu_terms(g: Gpu) -> str:
    """A GPU's price and utilisation caps, and which catalog they come from, in one line: what a
    cost (or a ranking by cost or speed) depends on beyond the chip's rates."""
    return (f"{g.name}: ${g.usd_per_hour:.2f}/GPU-hour, utilisation caps FLOP {g.flop_utilization:g} / "
            f"memory {g.mem_utilization:g} ({CATALOG_TERMS[catalog_of(g)]})")


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
            r["catalog"],
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
        "catalog",
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
    print(text_table(headers, rows, "llrrrrrrlrrrl" + ("ll" if args.long else ""), indent=""))
    print(
        f"\n{cat.height} models. catalog: epoch = Epoch's paper, reproduced exactly (each also named "
        f"<name>-epoch); modern = as published configs describe them. Parameters in billions; experts = "
        f"total/active; w bits = bits per weight; KV KiB/tok = KV cache per context token per sequence."
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
            r["catalog"],
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
        "catalog",
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
    print(text_table(headers, rows, "llrrrrrrrrrlll" + ("ll" if args.long else ""), indent=""))
    print(
        f"\n{cat.height} GPUs. catalog: epoch = Epoch's paper, reproduced exactly (each also named "
        f"<name>-epoch; prices: the paper's), modern = dated vendor figures and market prices (caps "
        f"carried over from Epoch's H100). Costs and rankings depend on $/h and the caps: H200 and "
        f"H200-SXM are the same chip with different ones. Peak dense TFLOP/s by weight bits; "
        f"intra/inter = effective all-reduce bandwidth inside / across nodes; caps = FLOP and memory "
        f"utilisation caps."
    )
    return 0
