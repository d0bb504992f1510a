"""infersweep.plot: every format is written and readable; helpers; a clear error without matplotlib."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep import plot
from infersweep.plot import DPI, FIGSIZE, PlotDependencyError, layout_text, plot_frontiers, point_text

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def fronts() -> dict[str, pl.DataFrame]:
    return {
        "Llama-3-70B": isw.frontier("Llama-3-70B", "H100", resolution=40, semantics="epoch"),
        "Llama-3-405B": isw.frontier("Llama-3-405B", "H100", resolution=40, semantics="epoch"),
    }


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


# ------------------------------------------------------------------ text helpers (no matplotlib)


def test_layout_text_names_each_degree() -> None:
    row = isw.sweep(
        "DeepSeek-V3-epoch",
        "H100",
        n_gpus=128,
        batch_size=400,
        context_len=100_000,
        use_pp=True,
        spec_dec=isw.SpecDec("Llama-3-8B-MQA", 0.8, 4), semantics="epoch",
    ).row(0, named=True)
    text = layout_text(row)
    assert text.startswith("1D TP ffn 1 attn 5.81")
    for part in ("PP 1.57", "EP 81.5", "attn÷14", "γ=3"):
        assert part in text
    plain = isw.sweep("Llama-3-70B", "H100", n_gpus=8, batch_size=64, semantics="epoch").row(0, named=True)
    assert layout_text(plain) == "1D TP ffn 8 attn 8"
    assert "81.8 tok/s" in point_text(plain) and "$0.891/M" in point_text(plain)


def test_layout_text_of_an_infeasible_row() -> None:
    row = isw.sweep("Llama-3-405B", "H100", n_gpus=1, batch_size=1, semantics="epoch").row(0, named=True)
    assert layout_text(row) == "does not fit"


# ------------------------------------------------------------------ files


def test_png_has_the_figure_size_and_is_not_blank(mpl, fronts, tmp_path: Path) -> None:
    import matplotlib.image

    out = plot_frontiers(fronts, tmp_path / "f.png", title="Llama 3 on H100")
    assert out == tmp_path / "f.png"
    img = matplotlib.image.imread(out)
    assert img.shape[:2] == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))
    assert float(np.var(img[..., :3])) > 0


def test_png_follows_dpi_and_figsize(mpl, fronts, tmp_path: Path) -> None:
    import matplotlib.image

    out = plot_frontiers(fronts, tmp_path / "small.PNG", dpi=50, figsize=(8, 4))
    assert matplotlib.image.imread(out).shape[:2] == (200, 400)


def test_svg_parses_as_xml(mpl, fronts, tmp_path: Path) -> None:
    out = plot_frontiers(fronts, tmp_path / "f.svg")
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    assert len(list(root.iter(f"{SVG}path"))) > 10


def test_pdf_is_written(mpl, fronts, tmp_path: Path) -> None:
    out = plot_frontiers(fronts, tmp_path / "f.pdf")
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("ext", [".html", ".htm"])
def test_html_is_self_contained_with_titled_points(mpl, fronts, tmp_path: Path, ext: str) -> None:
    out = plot_frontiers(fronts, tmp_path / f"f{ext}", title="Llama <3> & co")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "Llama &lt;3&gt; &amp; co" in page  # the title is escaped
    assert "src=" not in page and "<link" not in page  # nothing to fetch
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    n_points = sum(f.filter(pl.col("usd_per_million_tokens").is_finite()).height for f in fronts.values())
    assert len(titles) == 2 * n_points  # every point, in both panels
    assert any(t.startswith("Llama-3-405B: ") and "tok/s" in t for t in titles)
    for label in fronts:
        assert f"{label} — preferred" in page
        assert f"{label}: all {fronts[label].height} frontier points" in page


def test_empty_and_single_frontiers_plot(mpl, fronts, tmp_path: Path) -> None:
    empty = fronts["Llama-3-70B"].clear()
    plot_frontiers({"nothing": empty, "one": fronts["Llama-3-70B"].head(1)}, tmp_path / "e.png")
    plot_frontiers({"nothing": empty}, tmp_path / "e.html")
    assert (tmp_path / "e.png").stat().st_size > 0 and (tmp_path / "e.html").stat().st_size > 0


@pytest.mark.parametrize("n_settings", [2, 9])
def test_the_legend_never_covers_the_title(mpl, fronts, n_settings: int) -> None:
    # the demo's speculative-decoding plot had its legend drawn over a long title
    title = ("(b) Speculative decoding, Llama-3-70B on H100\ndrafter Llama-3-8B-MQA, acceptance 0.8, "
             "drafts of up to 5 tokens, H100 at $2.10/h, caps 0.7/0.75, and then some more words to be long")
    many = {f"setting {i} with a long label": fronts["Llama-3-70B"] for i in range(n_settings)}
    fig = plot.figure_frontiers(many, title=title)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    legend = fig.legends[0].get_window_extent(renderer)
    suptitle = fig._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
    assert not legend.overlaps(suptitle)
    assert suptitle.x0 >= 0 and suptitle.x1 <= fig.bbox.width  # wrapped to fit the figure
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer))


def test_no_frontier_is_an_error(mpl, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frontiers"):
        plot_frontiers({}, tmp_path / "x.png")


def test_unknown_extension_is_refused_before_drawing(fronts, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png, \.svg"):
        plot_frontiers(fronts, tmp_path / "f.jpg")
    assert not (tmp_path / "f.jpg").exists()


def test_unwritable_path_raises_oserror(mpl, fronts, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        plot_frontiers(fronts, blocker / "f.png")


def test_the_global_backend_is_left_alone(mpl, fronts, tmp_path: Path) -> None:
    before = mpl.get_backend()
    plot_frontiers(fronts, tmp_path / "f.png")
    assert mpl.get_backend() == before


def test_missing_matplotlib_says_how_to_install(fronts, tmp_path: Path, monkeypatch) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(PlotDependencyError, match=r"pip install infersweep\[plot\]"):
        plot_frontiers(fronts, tmp_path / "f.png")
    with pytest.raises(ImportError):
        plot.require_matplotlib()
    assert not (tmp_path / "f.png").exists()
