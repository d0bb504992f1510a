"""The SLA plan's figure: output tokens/s per GPU against tokens/s per user, aggregated against
disaggregated, with the cost on a second axis (``isw.plot_plan``, ``infersweep plan --out``).

>>> import infersweep as isw
>>> p = isw.plan("Llama-3.1-70B", "H200", isl=4000, osl=500, ttft_max=1.0, tpot_max=0.05)
>>> isw.plot_plan(p, "plan.png", tpot_max=0.05)

Each kind's Pareto front (the plan's ``kind_front`` rows) is a line of points, its best deployment
(``best``) a star; rows on neither are drawn as open circles, so every row of the plan is one
point. The cost axis on the right is the throughput axis read in dollars: every row's
``usd_per_million_tokens`` is the GPU's price per hour / (3600 · output tokens/s per GPU) · 10⁶,
so one price (taken from the rows, and checked on all of them) maps one axis onto the other.
When the plan carries bounds (``tokens_per_s_per_user_lo`` / ``_hi``,
``output_tokens_per_s_per_gpu_lo`` / ``_hi``: ``isw.plan(..., uncertainty=)``), each front has its
band shaded. The format follows the file's extension, as for :func:`infersweep.plot.plot_frontiers`:
``.png``, ``.svg``, ``.pdf``, or ``.html``/``.htm``: one self-contained page (no network) whose
script draws the figure as SVG, with a tooltip per point (its deployment, concurrency, TTFT,
TPOT and cost), a toggle per kind, and the table of the best deployments. Its address can name
a point (``plan.html#point=3``, the tooltip of row 3 shown) or hide kinds
(``#hide=aggregated``); the table's rows link to their points.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._atomic import write_bytes_atomically
from .plot import DPI, FORMATS, band_vertices, require_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLAN_FIGSIZE", "deployment_text", "figure_plan", "plot_plan", "point_text", "usd_per_gpu_hour"]

#: Figure size of the plan's plot in inches (PNGs are PLAN_FIGSIZE × DPI pixels).
PLAN_FIGSIZE = (10.0, 6.0)
KINDS = ("aggregated", "disaggregated")
#: One colour per kind, the same in the static figure and the HTML page (matplotlib's C0, C1).
COLORS = {"aggregated": "#1f77b4", "disaggregated": "#ff7f0e"}
X, Y, COST = "tokens_per_s_per_user", "output_tokens_per_s_per_gpu", "usd_per_million_tokens"
X_LABEL = "Speed (output tokens per second per user)"
Y_LABEL = "Throughput (output tokens per second per GPU, log scale)"
COST_LABEL = "Cost ($ per million output tokens)"
#: Relative spread of the price implied by the rows beyond which the cost axis is refused.
PRICE_RTOL = 1e-6


def _int(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{int(v)}"


def deployment_text(r: Mapping[str, Any]) -> str:
    """A plan row's deployment in a line: replicas × instance layout at its load (aggregated), or
    the prefill and decode pools with the decode batch (disaggregated)."""
    if r["kind"] == "aggregated":
        return (f"{_int(r['replicas'])}× {_int(r['instance_gpus'])} GPUs tp{_int(r['tp'])} pp{_int(r['pp'])} "
                f"ep{_int(r['ep'])} dp{_int(r['attention_dp'])} @ {r['request_rate']:.3g} req/s")
    return (f"P {_int(r['prefill_instances'])}×{_int(r['prefill_gpus'])} (tp{_int(r['prefill_tp'])} "
            f"pp{_int(r['prefill_pp'])}) + D {_int(r['decode_instances'])}×{_int(r['decode_gpus'])} "
            f"(tp{_int(r['decode_tp'])} pp{_int(r['decode_pp'])} ep{_int(r['decode_ep'])} "
            f"dp{_int(r['decode_attention_dp'])}) batch {r['decode_batch']:g}")


def _bounds(r: Mapping[str, Any], c: str, digits: int) -> str:
    lo, hi = r.get(f"{c}_lo"), r.get(f"{c}_hi")
    ok = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    return f" [{lo:.{digits}f}–{hi:.{digits}f}]" if ok else ""


def point_text(r: Mapping[str, Any]) -> str:
    """One plan row in a line, as the HTML page's tooltip writes it (with the [lo–hi] bounds of
    speed and throughput when the row has them)."""
    return (f"{r['kind']}: {deployment_text(r)}; {_int(r['total_gpus'])} GPUs, "
            f"concurrency {r['concurrency']:.1f}; TTFT {1e3 * r['ttft_s']:.1f} ms, "
            f"TPOT {1e3 * r['tpot_s']:.2f} ms; {r[X]:.2f}{_bounds(r, X, 2)} tok/s/user, "
            f"{r[Y]:.1f}{_bounds(r, Y, 1)} out tok/s/GPU, ${r[COST]:.3f}/M out")


def usd_per_gpu_hour(plan: pl.DataFrame) -> float:
    """The GPU price per hour that every row's cost implies (cost · throughput · 3600 / 10⁶).

    Raises ValueError when the rows disagree (a frame that is not one plan) or there are none.
    """
    f = plan.filter(pl.col(COST).is_finite() & (pl.col(Y) > 0))
    if f.height == 0:
        raise ValueError("plot_plan: the plan has no deployment with a finite cost")
    k = (f[COST] * f[Y] * 3600 / 1e6).to_numpy()
    price = float(np.median(k))
    if not np.all(np.abs(k - price) <= PRICE_RTOL * price):
        raise ValueError(f"plot_plan: the rows imply different GPU prices ({k.min():.6g} to {k.max():.6g} "
                         "$/GPU-hour): a cost axis needs one plan of one GPU")
    return price


def _check(plan: pl.DataFrame) -> None:
    missing = [c for c in ("kind", "best", "kind_front", X, Y, COST) if c not in plan.columns]
    if missing:
        raise ValueError(f"plot_plan: not a plan from isw.plan: no column(s) {', '.join(missing)}")
    if plan.height == 0:
        raise ValueError("plot_plan: the plan is empty (no deployment meets the limits): nothing to plot")


def _kind_rows(plan: pl.DataFrame, kind: str) -> pl.DataFrame:
    return plan.filter(pl.col("kind") == kind).sort(X)


def figure_plan(plan: pl.DataFrame, title: str | None = None, *, tpot_max: float | None = None,
                figsize: tuple[float, float] = PLAN_FIGSIZE) -> Figure:
    """The plan's figure as a matplotlib Figure on an Agg canvas (nothing is shown)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    _check(plan)
    price = usd_per_gpu_hour(plan)
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    handles: list[Any] = []
    for kind in KINDS:
        rows = _kind_rows(plan, kind)
        color = COLORS[kind]
        if rows.height == 0:
            handles.append(Line2D([], [], color=color, lw=2, label=f"{kind}: no deployment meets the limits"))
            continue
        front = rows.filter(pl.col("kind_front"))
        outline = band_vertices(front, X, Y, y_rises_with_x=True)
        if outline is not None:
            ax.fill(*outline, color=color, alpha=0.18, lw=0)
        (line,) = ax.plot(front[X].to_numpy(), front[Y].to_numpy(), color=color, lw=2, marker="o", ms=5,
                          label=f"{kind} ({front.height} deployments on its front)")
        handles.append(line)
        off = rows.filter(~pl.col("kind_front"))
        if off.height:
            ax.plot(off[X].to_numpy(), off[Y].to_numpy(), ls="none", marker="o", ms=6, mfc="white", mec=color)
        best = rows.filter(pl.col("best"))
        if best.height:
            b = best.row(0, named=True)
            ax.plot([b[X]], [b[Y]], marker="*", ms=18, color=color, mec="black", mew=0.8, ls="none", zorder=5)
            below = kind == "aggregated"  # the two best points are often close: one label each side
            ax.annotate(f"best {kind}: {b[Y]:.0f} tok/s/GPU, \\${b[COST]:.2f}/M", (b[X], b[Y]),
                        xytext=(12, -14 if below else 10), textcoords="offset points", fontsize=8,
                        color=color, va="top" if below else "bottom",
                        bbox={"fc": "white", "ec": "none", "alpha": 0.75, "pad": 1})
    handles.append(Line2D([], [], marker="*", ms=14, color="white", mec="black", mew=0.8, ls="none",
                          label="best deployment of each kind"))
    if tpot_max is not None:
        ax.axvline(1 / tpot_max, color="grey", ls="--", lw=1)
        handles.append(Line2D([], [], color="grey", ls="--", lw=1,
                              label=f"TPOT limit {1e3 * tpot_max:g} ms = {1 / tpot_max:.3g} tok/s/user"))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)

    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 1.6)  # room for the best points' labels
    _cost_axis(ax, price)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    ax.legend(handles=handles, loc="best", fontsize=8)
    return fig


def _nice_log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 × 10^k between lo and hi."""
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        out += [s * 10.0**e for s in (1, 2, 5) if lo <= s * 10.0**e <= hi]
    return out


def _cost_axis(ax: Any, price: float) -> None:
    """The right axis: the throughput axis labelled in $/M output tokens (cost = k / throughput)."""
    from matplotlib.ticker import NullLocator

    k = price * 1e6 / 3600
    lo, hi = ax.get_ylim()
    right = ax.twinx()
    right.set_yscale("log")
    right.set_ylim(lo, hi)
    costs = _nice_log_ticks(k / hi, k / lo)
    right.set_yticks([k / c for c in costs], [f"${c:g}" for c in costs])
    right.yaxis.set_minor_locator(NullLocator())
    right.set_ylabel(f"{COST_LABEL}, at ${price:.3g}/GPU-hour".replace("$", r"\$"))


# ------------------------------------------------------------------ the HTML page

#: Columns of the page's tables: header, column, format.
_TABLE = [
    ("TTFT ms", "ttft_s", "ms1"), ("TPOT ms", "tpot_s", "ms2"), ("tok/s/user", X, "{:.2f}"),
    ("out tok/s/GPU", Y, "{:.1f}"), ("$/M out", COST, "{:.3f}"), ("GPUs", "total_gpus", "int"),
    ("concurrency", "concurrency", "{:.1f}"),
]


def _cell(fmt: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if fmt == "ms1":
        return f"{1e3 * v:.1f}"
    if fmt == "ms2":
        return f"{1e3 * v:.2f}"
    if fmt == "int":
        return f"{int(v)}"
    return fmt.format(v)


def _table(rows: list[tuple[int, dict[str, Any]]]) -> str:
    head = ['<th class="l">point</th>', '<th class="l">kind</th>'] + [f"<th>{h}</th>" for h, _, _ in _TABLE]
    out = ["<table><tr>" + "".join(head) + '<th class="l">deployment</th></tr>']
    for i, r in rows:
        cells = [f'<td class="l"><a href="#point={i}">{i}</a></td>',
                 f'<td class="l">{html.escape(r["kind"])}</td>']
        cells += [f"<td>{_cell(fmt, r[c])}</td>" for _, c, fmt in _TABLE]
        cells.append(f'<td class="l">{html.escape(deployment_text(r))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join([*out, "</table>"])


def _json_number(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


_BAND_COLUMNS = [f"{c}_{end}" for c in (X, Y) for end in ("lo", "hi")]


def _page_data(plan: pl.DataFrame, price: float, tpot_max: float | None) -> dict[str, Any]:
    points = []
    for i, r in enumerate(plan.iter_rows(named=True)):
        p: dict[str, Any] = {"i": i, "kind": r["kind"], "best": bool(r["best"]),
                             "front": bool(r["kind_front"]), "deployment": deployment_text(r)}
        for c in ("ttft_s", "tpot_s", X, Y, COST, "total_gpus", "concurrency"):
            p[c] = _json_number(r[c])
        for c in _BAND_COLUMNS:
            if c in r:
                p[c] = _json_number(r[c])
        points.append(p)
    return {"points": points, "kinds": list(KINDS), "colors": COLORS, "price": price,
            "tpot_max": tpot_max, "labels": {"x": X_LABEL, "y": Y_LABEL, "cost": COST_LABEL}}


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
#plot { position: relative; } #plot svg { width: 100%; height: auto; font-size: 12px; }
.pt { cursor: pointer; } .pt:hover, .pt:focus, .pt.active { stroke: black; stroke-width: 2; }
#tooltip { position: absolute; pointer-events: none; background: #fffff0; border: 1px solid #999;
           padding: 0.35em 0.6em; font-size: 0.85em; max-width: 32em; box-shadow: 1px 1px 4px #0003; }
#toggles label { margin-right: 1.5em; } #errors { color: #b00; white-space: pre-wrap; }
details { margin: 0.4em 0; } summary { cursor: pointer; } .note { color: #666; font-size: 0.9em; }
"""

# The page's renderer: reads DATA, draws the SVG, wires the tooltips, toggles and address.
# Errors are written into #errors (a test reads the rendered page and expects it empty).
_SCRIPT = r"""
(function () {
"use strict";
const NS = "http://www.w3.org/2000/svg";
const W = 900, H = 540, M = {l: 78, r: 92, t: 20, b: 52};
const pts = DATA.points;
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function fin(v) { return v !== null && v !== undefined && isFinite(v); }
function fmt(v, d) { return fin(v) ? v.toFixed(d) : "–"; }
function tip(p) {
  return p.kind + ": " + p.deployment + "; " + fmt(p.total_gpus, 0) + " GPUs, concurrency " +
    fmt(p.concurrency, 1) + "; TTFT " + fmt(1e3 * p.ttft_s, 1) + " ms, TPOT " + fmt(1e3 * p.tpot_s, 2) +
    " ms; " + fmt(p.tokens_per_s_per_user, 2) + bounds(p, "tokens_per_s_per_user", 2) + " tok/s/user, " +
    fmt(p.output_tokens_per_s_per_gpu, 1) + bounds(p, "output_tokens_per_s_per_gpu", 1) +
    " out tok/s/GPU, $" + fmt(p.usd_per_million_tokens, 3) + "/M out";
}
function bounds(p, c, d) {
  if (!fin(p[c + "_lo"]) || !fin(p[c + "_hi"])) return "";
  return " [" + fmt(p[c + "_lo"], d) + "–" + fmt(p[c + "_hi"], d) + "]";
}
function niceLin(hi) {
  const raw = hi / 6, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(s => s * mag).find(s => s >= raw);
  const t = []; for (let v = 0; v <= hi + 1e-9; v += step) t.push(v); return t;
}
function logTicks(lo, hi) {
  const t = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const s of [1, 2, 5]) { const v = s * Math.pow(10, e); if (v >= lo && v <= hi) t.push(v); }
  return t;
}
function label(v) { return v >= 1000 ? Math.round(v).toLocaleString("en") : String(+v.toPrecision(3)); }
const xs = [], ys = [];
for (const p of pts) {
  for (const c of ["tokens_per_s_per_user", "tokens_per_s_per_user_lo", "tokens_per_s_per_user_hi"])
    if (fin(p[c])) xs.push(p[c]);
  for (const c of ["output_tokens_per_s_per_gpu", "output_tokens_per_s_per_gpu_lo",
                   "output_tokens_per_s_per_gpu_hi"])
    if (fin(p[c]) && p[c] > 0) ys.push(p[c]);
}
if (DATA.tpot_max) xs.push(1 / DATA.tpot_max);
const xmax = Math.max(...xs) * 1.08;
const ylo = Math.min(...ys) / 1.25, yhi = Math.max(...ys) * 1.8;  // room for the best points' labels
const sx = v => M.l + (W - M.l - M.r) * v / xmax;
const sy = v => M.t + (H - M.t - M.b) * (Math.log(yhi) - Math.log(v)) / (Math.log(yhi) - Math.log(ylo));
const svg = el("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "plan"});
const axes = el("g", {class: "axes", stroke: "#888", fill: "#333"}, svg);
for (const v of niceLin(xmax)) {
  el("line", {x1: sx(v), x2: sx(v), y1: M.t, y2: H - M.b, stroke: "#ddd"}, axes);
  el("text", {x: sx(v), y: H - M.b + 16, "text-anchor": "middle", stroke: "none"}, axes).textContent =
    label(v);
}
for (const v of logTicks(ylo, yhi)) {
  el("line", {x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v), stroke: "#ddd"}, axes);
  el("text", {x: M.l - 6, y: sy(v) + 4, "text-anchor": "end", stroke: "none"}, axes).textContent = label(v);
}
// The cost axis: cost = price·10⁶/(3600·throughput), the same rows read in dollars.
const k = DATA.price * 1e6 / 3600;
const costAxis = el("g", {class: "cost-axis", fill: "#333"}, svg);
for (const c of logTicks(k / yhi, k / ylo)) {
  el("line", {x1: W - M.r, x2: W - M.r + 5, y1: sy(k / c), y2: sy(k / c), stroke: "#888"}, costAxis);
  el("text", {x: W - M.r + 8, y: sy(k / c) + 4}, costAxis).textContent = "$" + label(c);
}
el("rect", {x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: "none", stroke: "#888"}, svg);
el("text", {x: (M.l + W - M.r) / 2, y: H - 12, "text-anchor": "middle"}, svg).textContent = DATA.labels.x;
el("text", {transform: "translate(18," + (H - M.b + M.t) / 2 + ") rotate(-90)", "text-anchor": "middle"},
   svg).textContent = DATA.labels.y;
el("text", {transform: "translate(" + (W - 14) + "," + (H - M.b + M.t) / 2 + ") rotate(90)",
            "text-anchor": "middle"}, svg).textContent =
  DATA.labels.cost + ", at $" + (+DATA.price.toPrecision(3)) + "/GPU-hour";
if (DATA.tpot_max) {
  const x = sx(1 / DATA.tpot_max);
  el("line", {x1: x, x2: x, y1: M.t, y2: H - M.b, stroke: "grey", "stroke-dasharray": "5,4", class: "limit"},
     svg);
  el("text", {x: x + 4, y: H - M.b - 6, fill: "grey"}, svg).textContent =
    "TPOT limit " + (+(1e3 * DATA.tpot_max).toPrecision(4)) + " ms";
}
const tooltip = document.getElementById("tooltip");
const plot = document.getElementById("plot");
let active = null;
function show(node, p) {
  if (active) active.classList.remove("active");
  active = node; node.classList.add("active");
  tooltip.textContent = tip(p);
  tooltip.dataset.point = p.i;
  const box = plot.getBoundingClientRect(), r = node.getBoundingClientRect();
  tooltip.style.left = Math.min(r.left - box.left + 14, box.width - 320) + "px";
  tooltip.style.top = (r.top - box.top + 14) + "px";
  tooltip.hidden = false;
}
function hide() { if (active) active.classList.remove("active"); active = null; tooltip.hidden = true; }
const groups = {}, nodes = [];
function star(cx, cy, r) {
  const a = [];
  for (let j = 0; j < 10; j++) {
    const rr = j % 2 ? r * 0.45 : r, t = Math.PI / 5 * j - Math.PI / 2;
    a.push((cx + rr * Math.cos(t)).toFixed(2) + "," + (cy + rr * Math.sin(t)).toFixed(2));
  }
  return a.join(" ");
}
for (const kind of DATA.kinds) {
  const color = DATA.colors[kind];
  const g = el("g", {class: "kind", "data-kind": kind}, svg);
  groups[kind] = g;
  const mine = pts.filter(p => p.kind === kind && fin(p.tokens_per_s_per_user) &&
                               fin(p.output_tokens_per_s_per_gpu))
                  .sort((a, b) => a.tokens_per_s_per_user - b.tokens_per_s_per_user);
  const front = mine.filter(p => p.front);
  const lo = c => p => fin(p[c + "_lo"]) ? p[c + "_lo"] : p[c];
  const hi = c => p => fin(p[c + "_hi"]) ? p[c + "_hi"] : p[c];
  const X = "tokens_per_s_per_user", Y = "output_tokens_per_s_per_gpu";
  if (front.some(p => fin(p[X + "_lo"]) || fin(p[Y + "_lo"]))) {
    // The slow ends of every bound go together, and the fast ends (plot.band_vertices).
    const slow = front.map(p => [lo(X)(p), lo(Y)(p)]);
    const fast = front.map(p => [hi(X)(p), hi(Y)(p)]).reverse();
    const outline = slow.concat(fast).filter(q => fin(q[0]) && fin(q[1]) && q[1] > 0);
    el("polygon", {class: "band", fill: color, "fill-opacity": 0.18, stroke: "none",
                   points: outline.map(q => sx(q[0]).toFixed(2) + "," + sy(q[1]).toFixed(2)).join(" ")}, g);
  }
  if (front.length > 1)
    el("polyline", {fill: "none", stroke: color, "stroke-width": 2, class: "front",
                    points: front.map(p => sx(p[X]).toFixed(2) + "," + sy(p[Y]).toFixed(2)).join(" ")}, g);
  for (const p of mine) {
    const attrs = {class: "pt", "data-row": p.i, "data-kind": kind, tabindex: 0,
                   cx: sx(p[X]).toFixed(2), cy: sy(p[Y]).toFixed(2), r: p.best ? 4 : 5,
                   fill: p.front ? color : "white", stroke: color};
    const c = el("circle", attrs, g);
    if (p.best) {
      el("polygon", {class: "best", "data-row": p.i, fill: color, stroke: "black", "stroke-width": 0.8,
                     points: star(sx(p[X]), sy(p[Y]), 11), "pointer-events": "none"}, g);
      const below = kind === "aggregated";  // the two best points are often close: one label each side
      el("text", {x: sx(p[X]) + 12, y: sy(p[Y]) + (below ? 18 : -10), fill: color, "font-size": 11,
                  class: "best-label"}, g).textContent =
        "best " + kind + ": " + fmt(p[Y], 0) + " tok/s/GPU, $" + fmt(p.usd_per_million_tokens, 2) + "/M";
    }
    c.addEventListener("mouseenter", () => show(c, p));
    c.addEventListener("focus", () => show(c, p));
    c.addEventListener("mouseleave", hide);
    c.addEventListener("blur", hide);
    nodes[p.i] = c;
  }
}
plot.insertBefore(svg, tooltip);
const boxes = {};
for (const kind of DATA.kinds) {
  const box = document.getElementById("toggle-" + kind);
  boxes[kind] = box;
  const n = pts.filter(p => p.kind === kind).length;
  box.parentNode.appendChild(document.createTextNode(" (" + n + " points)"));
  if (!n) box.disabled = true;
  box.addEventListener("change", () => {
    groups[kind].style.display = box.checked ? "" : "none";
    if (!box.checked && active && active.dataset.kind === kind) hide();
  });
}
function fromAddress() {
  const q = new URLSearchParams(location.hash.slice(1));
  for (const kind of (q.get("hide") || "").split(",").filter(Boolean)) {
    if (!(kind in boxes)) throw new Error("#hide=" + kind + ": no such kind");
    if (boxes[kind].checked) boxes[kind].click();
  }
  if (q.has("point")) {
    const node = nodes[+q.get("point")];
    if (!node) throw new Error("#point=" + q.get("point") + ": no such point");
    node.dispatchEvent(new MouseEvent("mouseenter"));
  }
}
window.addEventListener("hashchange", () => { try { fromAddress(); } catch (e) { report(e); } });
fromAddress();
document.getElementById("status").textContent = nodes.filter(Boolean).length + " points drawn";
document.body.dataset.rendered = "yes";
})();
"""

_GUARD = r"""
function report(e) {
  document.getElementById("errors").textContent += "error: " + (e && e.message ? e.message : e) + "\n";
}
window.addEventListener("error", e => report(e.error || e.message));
"""


def _html_page(plan: pl.DataFrame, title: str | None, tpot_max: float | None) -> str:
    _check(plan)
    price = usd_per_gpu_hour(plan)
    heading = html.escape(title or "Deployment plan")
    data = json.dumps(_page_data(plan, price, tpot_max), ensure_ascii=True, allow_nan=False)
    data = data.replace("</", "<\\/")  # never close the script element from inside the data
    indexed = list(enumerate(plan.iter_rows(named=True)))
    best = [(i, r) for i, r in indexed if r["best"]]
    toggles = "".join(
        f'<label><input type="checkbox" id="toggle-{k}" checked> '
        f'<span style="color:{COLORS[k]}">●</span> {k}</label>' for k in KINDS)
    band = any(c in plan.columns for c in _BAND_COLUMNS)
    from . import __version__

    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{heading}</title>\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{_CSS}</style>'
        f"</head>\n<body>\n<h1>{heading}</h1>\n<script>{_GUARD}</script>\n"
        '<p class="note">Each kind\'s Pareto front of output tokens/s per GPU against tokens/s per user; '
        "stars mark the best deployment of each kind, open circles the rows off their kind's front. "
        "Hover over (or tab to) a point to read its deployment. The right axis is the same throughput "
        "in dollars per million output tokens."
        + (" Shaded: the uncertainty band of each front." if band else "") + "</p>\n"
        f'<div id="toggles">{toggles}</div>\n'
        '<div id="plot"><div id="tooltip" role="tooltip" hidden></div></div>\n'
        '<noscript><p>The figure needs JavaScript; the tables below have every deployment.</p></noscript>\n'
        '<p class="note" id="status"></p><pre id="errors"></pre>\n'
        f"<h2>Best deployment of each kind</h2>\n{_table(best)}\n"
        f"<details><summary>All {plan.height} deployments of the plan</summary>\n{_table(indexed)}"
        "</details>\n"
        f'<p class="note">Made by infersweep {html.escape(__version__)} (isw.plan, docs/serving.md '
        "§T.8).</p>\n"
        f"<script>\nconst DATA = {data};\n{_SCRIPT}</script>\n</body></html>\n"
    )


def plot_plan(plan: pl.DataFrame, path: str | os.PathLike[str], title: str | None = None, *,
              tpot_max: float | None = None, dpi: float = DPI,
              figsize: tuple[float, float] = PLAN_FIGSIZE) -> Path:
    """Draw a plan (the frame of :func:`infersweep.plan`) and write it to ``path``.

    The format follows the extension: ``.png``, ``.svg``, ``.pdf`` or ``.html``/``.htm`` (module
    docstring). ``tpot_max`` (seconds) draws the TPOT limit as a vertical line at 1/tpot_max
    tokens/s per user. Raises ValueError for another extension, an empty plan or a frame that is
    not a plan, PlotDependencyError (an ImportError) when matplotlib is missing for a static
    figure, OSError when the file cannot be written. The file appears whole or not at all.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"plot: cannot write {str(p)!r}: the extension must be one of {', '.join(FORMATS)}")
    if ext in (".html", ".htm"):
        write_bytes_atomically(p, _html_page(plan, title, tpot_max).encode("utf-8"))
        return p
    fig = figure_plan(plan, title, tpot_max=tpot_max, figsize=figsize)
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "infersweep"}):
        fig.savefig(buf, format=ext[1:], dpi=dpi)
    write_bytes_atomically(p, buf.getvalue())
    return p
