"""Paper-style plots of speed–cost frontiers (matplotlib is an optional extra: ``infersweep[plot]``).

>>> import infersweep as isw
>>> from infersweep.plot import plot_frontiers
>>> fronts = {name: isw.frontier(name, "H100") for name in ("Llama-3-70B", "Llama-3-405B")}
>>> plot_frontiers(fronts, "frontiers.png", title="Llama 3 on H100")

The figure has two panels sharing the x axis, tokens per second per request: on the left the
cost in dollars per million output tokens (log scale), one line per setting with its preferred
point (the paper's argmax speed³/cost) marked by a star; on the right the model FLOP
utilisation. The format follows the file's extension: ``.png``, ``.svg``, ``.pdf`` or ``.html``
(a self-contained page: the figure as inline SVG, every point titled for hovering, and tables of
the points). Matplotlib is imported only when a plot is drawn, and only through its Agg canvas:
the global pyplot backend of a notebook is left alone.
"""

from __future__ import annotations

import html
import io
import math
import os
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._atomic import write_bytes_atomically
from .frontier import PREFERENCE_EXPONENT, preferred

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "FIGSIZE",
    "FORMATS",
    "band_vertices",
    "figure_frontiers",
    "layout_text",
    "plot_frontiers",
    "point_text",
    "require_matplotlib",
]

#: Figure size in inches and resolution of raster output: PNGs are FIGSIZE × DPI pixels.
FIGSIZE = (14.0, 5.6)
DPI = 110
#: Longest line of a figure title, in characters (longer lines are wrapped): at 13 pt bold it fits
#: the width of a FIGSIZE figure. The legend sits at the right, centred on the axes' height, so
#: that it never covers the title above them.
TITLE_WRAP = 110
#: File extensions plot_frontiers writes.
FORMATS = (".png", ".svg", ".pdf", ".html", ".htm")

_INSTALL_HINT = "plotting needs matplotlib, an optional extra: pip install infersweep[plot]"
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"


class PlotDependencyError(ImportError):
    """matplotlib is missing; the message says how to install it."""


def require_matplotlib() -> None:
    """Import matplotlib or raise PlotDependencyError with the install hint."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as e:
        raise PlotDependencyError(_INSTALL_HINT) from e


# ------------------------------------------------------------------ text helpers (no matplotlib)


def g3(x: float | None, digits: int = 3) -> str:
    """A number in `digits` significant figures, without a trailing '.0' for whole values."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "inf"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def layout_text(row: Mapping[str, Any]) -> str:
    """The winning layout of a result row in a few words, e.g. ``1D TP ffn 8 attn 8, PP 1.6``.

    Degrees are real numbers in `epoch` semantics, so they print with three significant figures;
    a `serving` row (integer ``tp``, ``pp``, ``ep``, ``attention_dp``, ``expert_tp``) reads like
    ``TP 8, PP 2, attn DP 4, FFN TP 32`` (degrees of 1 left out; FFN TP when it differs from TP).
    """
    if not row.get("feasible", True):
        return "does not fit"
    if "two_d_tp" not in row and "tp" in row:
        names = (("pp", "PP"), ("ep", "EP"), ("attention_dp", "attn DP"))
        parts = [f"TP {row['tp']}"] + [f"{short} {row[k]}" for k, short in names
                                       if row.get(k) is not None and row[k] > 1]
        if row.get("expert_tp") is not None and row["expert_tp"] != row["tp"]:
            parts.append(f"FFN TP {row['expert_tp']}")  # the FFN's (or routed experts') own TP degree
        return ", ".join(parts)
    parts = [
        ("2D" if row["two_d_tp"] else "1D") + f" TP ffn {g3(row['tp_ffn'])} attn {g3(row['tp_attention'])}"
    ]
    if row.get("pp_degree", 1) and row["pp_degree"] > 1 + 1e-9:
        parts.append(f"PP {g3(row['pp_degree'])}")
    if row.get("ep_degree", 1) and row["ep_degree"] > 1 + 1e-9:
        parts.append(f"EP {g3(row['ep_degree'])}")
    if row.get("attention_scaledown", 1) and row["attention_scaledown"] > 1 + 1e-9:
        parts.append(f"attn÷{g3(row['attention_scaledown'])}")
    if row.get("gamma", 0):
        parts.append(f"γ={row['gamma']}")
    return ", ".join(parts)


def point_text(row: Mapping[str, Any]) -> str:
    """One frontier point in a line: speed, cost, GPUs, batch, MFU, latency and layout."""
    return (
        f"{row['tokens_per_s_per_request']:.1f} tok/s at ${row['usd_per_million_tokens']:.3g}/M tokens "
        f"(N={g3(row['n_gpus'])} GPUs, b={g3(row['batch_size'])}, MFU {100 * row['mfu']:.1f}%, "
        f"latency {1e3 * row['token_latency_s']:.2f} ms, {layout_text(row)})"
    )


# ------------------------------------------------------------------ bands (no matplotlib)


def band_vertices(
    rows: pl.DataFrame, x: str, y: str, *, y_rises_with_x: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The closed outline of a curve's uncertainty band, or None when ``rows`` has no bounds.

    Column-driven: a column ``c`` has a band when ``c_lo`` and ``c_hi`` are both there (the
    serving sweep's ``uncertainty=`` columns, :mod:`infersweep.uncertainty`, and the plan's). All
    bounds of a row come from one factor on its step time, so the slow ends go together and the
    fast ends go together: the outline runs along the slow side (``x_lo`` with ``y_lo`` when ``y``
    rises with ``x``, as throughput does with speed; with ``y_hi`` when it falls, as cost does)
    and back along the fast side. An axis without bounds keeps its value; non-finite vertices (a
    bound that saturates) are left out. ``rows`` must be sorted by ``x``.
    """
    has = {c: f"{c}_lo" in rows.columns and f"{c}_hi" in rows.columns for c in (x, y)}
    if not any(has.values()) or rows.height == 0:
        return None

    def bounds(c: str) -> tuple[np.ndarray, np.ndarray]:
        if not has[c]:
            v = rows[c].cast(pl.Float64).to_numpy()
            return v, v
        return rows[f"{c}_lo"].cast(pl.Float64).to_numpy(), rows[f"{c}_hi"].cast(pl.Float64).to_numpy()

    x_lo, x_hi = bounds(x)
    y_lo, y_hi = bounds(y)
    slow_y, fast_y = (y_lo, y_hi) if y_rises_with_x else (y_hi, y_lo)
    px = np.concatenate([x_lo, x_hi[::-1]])
    py = np.concatenate([slow_y, fast_y[::-1]])
    ok = np.isfinite(px) & np.isfinite(py)
    return px[ok], py[ok]


# ------------------------------------------------------------------ the figure


def _series(front: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.DataFrame]:
    """Finite frontier points sorted by speed: x, $/M, MFU (%) and the rows themselves."""
    f = front.filter(
        pl.col("usd_per_million_tokens").is_finite() & (pl.col("tokens_per_s_per_request") > 0)
    ).sort("tokens_per_s_per_request")
    return (
        f["tokens_per_s_per_request"].to_numpy(),
        f["usd_per_million_tokens"].to_numpy(),
        100 * f["mfu"].to_numpy(),
        f,
    )


def figure_frontiers(
    fronts: Mapping[str, pl.DataFrame],
    title: str | None = None,
    *,
    figsize: tuple[float, float] = FIGSIZE,
    hover: bool = False,
    exponent: float = PREFERENCE_EXPONENT,
) -> Figure:
    """The two-panel frontier figure as a matplotlib Figure on an Agg canvas (nothing is shown).

    ``hover`` adds an invisible marker per point with a group id (``pts-<i>-<panel>``) so that
    the HTML writer can title every point.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    if not fronts:
        raise ValueError("plot_frontiers: no frontiers to plot")
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax_cost, ax_mfu = fig.subplots(1, 2, sharex=True)
    colors = [f"C{i}" for i in range(10)]
    handles = []
    for i, (label, front) in enumerate(fronts.items()):
        color = colors[i % 10]
        style = "-" if i < 10 else "--"
        x, y, mfu, rows = _series(front)
        if x.size == 0:
            handles.append(Line2D([], [], color=color, ls=style, lw=2, label=f"{label} (no feasible point)"))
            continue
        outline = band_vertices(rows, "tokens_per_s_per_request", "usd_per_million_tokens",
                                y_rises_with_x=False)
        if outline is not None:
            ax_cost.fill(*outline, color=color, alpha=0.18, lw=0)
        (line,) = ax_cost.plot(x, y, color=color, ls=style, lw=2, label=label)
        ax_mfu.plot(x, mfu, color=color, ls=style, lw=2)
        handles.append(line)
        best = preferred(rows, exponent)
        bx, by = best["tokens_per_s_per_request"][0], best["usd_per_million_tokens"][0]
        ax_cost.plot([bx], [by], marker="*", ms=17, color=color, mec="black", mew=0.8, ls="none", zorder=5)
        ax_mfu.plot(
            [bx],
            [100 * best["mfu"][0]],
            marker="*",
            ms=17,
            color=color,
            mec="black",
            mew=0.8,
            ls="none",
            zorder=5,
        )
        if hover:
            for ax, yy, panel in ((ax_cost, y, "cost"), (ax_mfu, mfu, "mfu")):
                sc = ax.scatter(x, yy, s=45, color=color, alpha=0.0, zorder=6, linewidths=0)
                sc.set_gid(f"pts-{i}-{panel}")
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            ms=14,
            color="white",
            mec="black",
            mew=0.8,
            ls="none",
            label=f"preferred point (max speed$^{{{exponent:g}}}$/cost)",
        )
    )

    ax_cost.set_yscale("log")
    ax_cost.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:g}"))
    ax_cost.set_ylabel("Cost ($ per million output tokens, log scale)")
    ax_cost.set_title("Speed vs cost: the Pareto frontier", fontsize=11)
    ax_mfu.set_ylabel("Model FLOP utilisation (%)")
    ax_mfu.set_title("Utilisation along the frontier", fontsize=11)
    ax_mfu.set_ylim(bottom=0)
    for ax in (ax_cost, ax_mfu):
        ax.set_xlabel("Speed (output tokens per second per request)")
        ax.set_xlim(left=0)
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    if title:
        lines = [w for line in title.splitlines() for w in textwrap.wrap(line, TITLE_WRAP) or [""]]
        fig.suptitle("\n".join(lines), fontsize=13, fontweight="bold")
    fig.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    return fig


def _title_points(svg: str, fronts: Mapping[str, pl.DataFrame]) -> str:
    """Give every hover marker of the SVG a <title> (the browser's tooltip) and make it scale."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    root = ET.fromstring(svg)
    groups = {el.get("id"): el for el in root.iter() if el.get("id", "").startswith("pts-")}
    for i, (label, front) in enumerate(fronts.items()):
        *_, rows = _series(front)
        texts = [f"{label}: {point_text(r)}" for r in rows.iter_rows(named=True)]
        for panel in ("cost", "mfu"):
            g = groups.get(f"pts-{i}-{panel}")
            if g is None:
                continue
            marks = list(g.iter(f"{{{_SVG_NS}}}use")) or list(g.iter(f"{{{_SVG_NS}}}path"))
            if len(marks) != len(texts):  # the backend culled or merged markers: no titles
                continue
            for el, text in zip(marks, texts, strict=True):
                el.set("class", "pt")
                t = ET.SubElement(el, f"{{{_SVG_NS}}}title")
                t.text = text
    root.set("width", "100%")
    root.attrib.pop("height", None)
    return ET.tostring(root, encoding="unicode")


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.pt:hover { fill-opacity: 1 !important; stroke: black !important; stroke-opacity: 1 !important; }
details { margin: 0.4em 0; } summary { cursor: pointer; }
.note { color: #666; font-size: 0.9em; }
"""

_COLUMNS = [
    ("tok/s/request", "tokens_per_s_per_request", "{:.2f}"),
    ("$/M tokens", "usd_per_million_tokens", "{:.4g}"),
    ("N GPUs", "n_gpus", "{:.4g}"),
    ("batch", "batch_size", "{:.4g}"),
    ("MFU %", "mfu", "pct"),
    ("latency ms", "token_latency_s", "ms"),
]


def _cell(fmt: str, v: Any) -> str:
    if fmt == "pct":
        return f"{100 * v:.2f}"
    if fmt == "ms":
        return f"{1e3 * v:.3f}"
    return fmt.format(v)


def _html_table(rows: list[dict[str, Any]], label_col: str | None = None) -> str:
    head = [f'<th class="l">{html.escape(label_col)}</th>'] if label_col else []
    head += [f"<th>{h}</th>" for h, _, _ in _COLUMNS] + ['<th class="l">layout</th>']
    out = ["<table><tr>" + "".join(head) + "</tr>"]
    for r in rows:
        cells = [f'<td class="l">{html.escape(str(r["_label"]))}</td>'] if label_col else []
        cells += [f"<td>{_cell(fmt, r[c])}</td>" for _, c, fmt in _COLUMNS]
        cells.append(f'<td class="l">{html.escape(layout_text(r))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html_page(
    fronts: Mapping[str, pl.DataFrame], title: str | None, figsize: tuple[float, float], exponent: float
) -> str:
    import matplotlib

    fig = figure_frontiers(fronts, title=None, figsize=figsize, hover=True, exponent=exponent)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "infersweep"}):
        fig.savefig(buf, format="svg")
    svg = _title_points(buf.getvalue(), fronts)
    heading = html.escape(title or "Speed–cost frontiers")
    summary: list[dict[str, Any]] = []
    details = []
    for label, front in fronts.items():
        *_, rows = _series(front)
        if rows.height == 0:
            continue
        best = preferred(rows, exponent).row(0, named=True)
        fastest = rows.row(rows.height - 1, named=True)
        cheapest = rows.row(0, named=True)
        for kind, r in (("fastest", fastest), ("preferred", best), ("cheapest", cheapest)):
            summary.append({**r, "_label": f"{label} — {kind}"})
        all_rows = [dict(r, _label=label) for r in rows.reverse().iter_rows(named=True)]
        details.append(
            f"<details><summary>{html.escape(label)}: all {rows.height} frontier points"
            f"</summary>{_html_table(all_rows)}</details>"
        )
    from . import __version__

    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{heading}</title>\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{_CSS}</style>'
        f"</head>\n<body>\n<h1>{heading}</h1>\n"
        f'<p class="note">Hover over a line to read a point. Stars mark the preferred point '
        f"(maximum speed<sup>{exponent:g}</sup>/cost). Cost is on a log scale.</p>\n"
        f"<div>{svg}</div>\n<h2>Fastest, preferred and cheapest points</h2>\n"
        f"{_html_table(summary, label_col='setting')}\n<h2>Every point</h2>\n"
        + "\n".join(details)
        + f'\n<p class="note">Made by infersweep {html.escape(__version__)}: the inference-economics '
        f"model of Erdil (2025), Epoch AI.</p>\n</body></html>\n"
    )


def plot_frontiers(
    fronts: Mapping[str, pl.DataFrame],
    path: str | os.PathLike[str],
    title: str | None = None,
    *,
    dpi: float = DPI,
    figsize: tuple[float, float] = FIGSIZE,
    exponent: float = PREFERENCE_EXPONENT,
) -> Path:
    """Draw frontiers (label → frame from :func:`infersweep.frontier`) and write them to ``path``.

    The format follows the extension: ``.png`` (``figsize`` × ``dpi`` pixels), ``.svg``, ``.pdf``
    or ``.html``/``.htm`` (a self-contained page with the figure inline and tables of the points).
    Raises ValueError for another extension, PlotDependencyError (an ImportError) when
    matplotlib is missing and OSError when the file cannot be written. Returns the path.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"plot: cannot write {str(p)!r}: the extension must be one of {', '.join(FORMATS)}")
    require_matplotlib()
    if ext in (".html", ".htm"):
        page = _html_page(fronts, title, figsize, exponent)
        write_bytes_atomically(p, page.encode("utf-8"))
        return p
    fig = figure_frontiers(fronts, title=title, figsize=figsize, exponent=exponent)
    import matplotlib

    # Drawn in memory, then written under a temporary name and renamed: Ctrl-C or a failed
    # write leaves no half-written file behind (infersweep._atomic).
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "infersweep"}):
        fig.savefig(buf, format=ext[1:], dpi=dpi)
    write_bytes_atomically(p, buf.getvalue())
    return p
