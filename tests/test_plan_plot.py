"""The plan's plot (isw.plot_plan, infersweep plan --out), its HTML page in a real headless
browser, and uncertainty bands on plan and frontier plots."""

from __future__ import annotations

import html
import importlib.util
import io
import itertools
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep import plan_plot
from infersweep.plan_plot import deployment_text, figure_plan, plot_plan, usd_per_gpu_hour
from infersweep.plot import band_vertices

SMALL = {"isl": 1000, "osl": 200, "max_gpus": 4, "ttft_max": 0.3, "tpot_max": 0.02}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell")


@pytest.fixture(scope="module")
def small_plan() -> pl.DataFrame:
    return isw.plan("Llama-3.1-8B", "H100", **SMALL)  # type: ignore[arg-type]


def _with_band(df: pl.DataFrame, factor: float = 1.2) -> pl.DataFrame:
    """Synthetic bounds: speeds and throughputs divided and multiplied by one factor."""
    cols = ["tokens_per_s_per_user", "output_tokens_per_s_per_gpu"]
    return df.with_columns(*[(pl.col(c) / factor).alias(f"{c}_lo") for c in cols],
                           *[(pl.col(c) * factor).alias(f"{c}_hi") for c in cols])


# ------------------------------------------------------------------ the plan's new columns


def test_kind_front_is_each_kinds_pareto_front(small_plan: pl.DataFrame) -> None:
    for kind in ("aggregated", "disaggregated"):
        rows = small_plan.filter(pl.col("kind") == kind)
        front = rows.filter(pl.col("kind_front"))
        assert front.height >= 2
        x, y = rows["tokens_per_s_per_user"].to_numpy(), rows["output_tokens_per_s_per_gpu"].to_numpy()
        for r in front.iter_rows(named=True):  # no row of its kind beats it on both axes
            assert not np.any((x > r["tokens_per_s_per_user"]) & (y > r["output_tokens_per_s_per_gpu"]))
        s = front.sort("tokens_per_s_per_user")["output_tokens_per_s_per_gpu"].to_list()
        assert all(a >= b for a, b in itertools.pairwise(s))
    # The front of both kinds is within the kinds' own fronts.
    assert small_plan.filter(pl.col("on_front") & ~pl.col("kind_front")).is_empty()


def test_concurrency_is_littles_law_and_decode_batch_is_the_instances(small_plan: pl.DataFrame) -> None:
    r = small_plan.filter((pl.col("kind") == "aggregated") & pl.col("best")).row(0, named=True)
    served = isw.serve("Llama-3.1-8B", "H100", r["instance_gpus"], isl=1000, osl=200,
                       request_rate=r["request_rate"], tp=r["tp"], pp=r["pp"], ep=r["ep"],
                       attention_dp=r["attention_dp"]).row(0, named=True)
    assert r["tpot_s"] == pytest.approx(served["tpot_s"], rel=1e-12)
    assert r["decode_batch"] == pytest.approx(served["decode_seqs"], rel=1e-12)
    in_flight = r["replicas"] * r["request_rate"] * (r["ttft_s"] + 200 * r["tpot_s"])
    assert r["concurrency"] == pytest.approx(in_flight, rel=1e-9)
    d = small_plan.filter((pl.col("kind") == "disaggregated") & pl.col("best")).row(0, named=True)
    # y decode instances, each finishing decode_batch / (OSL · TPOT) requests/s.
    rate = d["decode_instances"] * d["decode_batch"] / (200 * d["tpot_s"])
    assert d["concurrency"] == pytest.approx(rate * (d["ttft_s"] + 200 * d["tpot_s"]), rel=1e-9)


def test_price_behind_the_cost_axis(small_plan: pl.DataFrame) -> None:
    assert usd_per_gpu_hour(small_plan) == pytest.approx(isw.gpu("H100").usd_per_hour, rel=1e-9)
    mixed = small_plan.with_columns(
        pl.when(pl.col("kind") == "aggregated").then(pl.col("usd_per_million_tokens") * 2)
        .otherwise(pl.col("usd_per_million_tokens")).alias("usd_per_million_tokens"))
    with pytest.raises(ValueError, match="different GPU prices"):
        usd_per_gpu_hour(mixed)
    with pytest.raises(ValueError, match="empty"):
        plot_plan(small_plan.clear(), "plan.html")
    with pytest.raises(ValueError, match="no column"):
        plot_plan(small_plan.drop("kind_front"), "plan.html")


def test_deployment_text(small_plan: pl.DataFrame) -> None:
    agg = small_plan.filter((pl.col("kind") == "aggregated") & pl.col("best")).row(0, named=True)
    assert deployment_text(agg) == (
        f"{agg['replicas']}× {agg['instance_gpus']} GPUs tp{agg['tp']} pp{agg['pp']} ep{agg['ep']} "
        f"dp{agg['attention_dp']} @ {agg['request_rate']:.3g} req/s")
    dis = small_plan.filter((pl.col("kind") == "disaggregated") & pl.col("best")).row(0, named=True)
    assert deployment_text(dis).startswith(f"P {dis['prefill_instances']}×{dis['prefill_gpus']} (tp")
    assert f"batch {dis['decode_batch']:g}" in deployment_text(dis)


# ------------------------------------------------------------------ bands


def test_band_vertices_pair_the_slow_ends() -> None:
    rows = pl.DataFrame({"x": [1.0, 2.0], "x_lo": [0.9, 1.8], "x_hi": [1.1, 2.2],
                         "y": [10.0, 5.0], "y_lo": [9.0, 4.0], "y_hi": [11.0, 6.0]})
    out = band_vertices(rows, "x", "y", y_rises_with_x=False)  # a cost: the slow end is the dear end
    assert out is not None
    assert out[0].tolist() == [0.9, 1.8, 2.2, 1.1]
    assert out[1].tolist() == [11.0, 6.0, 4.0, 9.0]
    out = band_vertices(rows.drop("x_lo", "x_hi"), "x", "y", y_rises_with_x=True)
    assert out is not None
    assert out[0].tolist() == [1.0, 2.0, 2.0, 1.0] and out[1].tolist() == [9.0, 4.0, 6.0, 11.0]
    inf = rows.with_columns(pl.Series("y_hi", [math.inf, 6.0]))
    out = band_vertices(inf, "x", "y", y_rises_with_x=False)
    assert out is not None and out[0].tolist() == [1.8, 2.2, 1.1]  # the saturated vertex is left out
    assert band_vertices(rows.drop("x_lo", "y_hi"), "x", "y", y_rises_with_x=True) is None


def test_frontier_plot_draws_a_band_only_with_bound_columns() -> None:
    pytest.importorskip("matplotlib")
    from infersweep.plot import figure_frontiers

    # A frontier's columns as the plot reads them (column-driven: any frontier with _lo/_hi).
    front = pl.DataFrame({"tokens_per_s_per_request": [10.0, 20.0, 40.0, 80.0],
                          "usd_per_million_tokens": [1.0, 1.5, 3.0, 9.0], "mfu": [0.5, 0.4, 0.25, 0.1]})
    banded = front.with_columns(
        (pl.col("tokens_per_s_per_request") / 1.3).alias("tokens_per_s_per_request_lo"),
        (pl.col("tokens_per_s_per_request") * 1.3).alias("tokens_per_s_per_request_hi"),
        (pl.col("usd_per_million_tokens") / 1.3).alias("usd_per_million_tokens_lo"),
        (pl.col("usd_per_million_tokens") * 1.3).alias("usd_per_million_tokens_hi"))
    plain = figure_frontiers({"a": front}).axes[0]
    shaded = figure_frontiers({"a": banded}).axes[0]
    assert len(plain.patches) == 0
    assert len(shaded.patches) == 1
    xy = shaded.patches[0].get_xy()
    assert xy[:, 0].max() == pytest.approx(banded["tokens_per_s_per_request_hi"].max(), rel=1e-12)


def test_plan_figure_band_and_cost_axis(small_plan: pl.DataFrame) -> None:
    pytest.importorskip("matplotlib")
    fig = figure_plan(_with_band(small_plan), tpot_max=SMALL["tpot_max"])
    ax, right = fig.axes[0], fig.axes[1]
    assert len(ax.patches) == 2  # one band per kind
    assert len(figure_plan(small_plan).axes[0].patches) == 0
    # The right axis reads the left one in dollars: every tick at throughput y says k / y.
    k = isw.gpu("H100").usd_per_hour * 1e6 / 3600
    ticks = [(t.get_loc(), t.label1.get_text()) for t in right.yaxis.get_major_ticks()]
    assert len(ticks) >= 3
    for y, text in ticks:
        assert float(text.lstrip("$")) == pytest.approx(k / y, rel=1e-9)
    assert ax.get_ylim() == right.get_ylim()
    # The TPOT limit at 1/tpot_max tokens/s per user.
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"] == [50.0]


@pytest.mark.parametrize("ext,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_static_formats(tmp_path: Path, small_plan: pl.DataFrame, ext: str, magic: bytes) -> None:
    pytest.importorskip("matplotlib")
    out = plot_plan(small_plan, tmp_path / f"plan{ext}", title="t")
    assert out.read_bytes().startswith(magic)
    if ext == ".png":  # PLAN_FIGSIZE × DPI pixels
        w, h = int.from_bytes(out.read_bytes()[16:20], "big"), int.from_bytes(out.read_bytes()[20:24], "big")
        assert (w, h) == (1100, 660)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind
    with pytest.raises(ValueError, match="extension"):
        plot_plan(small_plan, tmp_path / "plan.txt")


# ------------------------------------------------------------------ the HTML page


def test_html_page_is_self_contained(tmp_path: Path, small_plan: pl.DataFrame) -> None:
    page = plot_plan(small_plan, tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    # The only address in the page is the SVG namespace the script creates elements in.
    assert set(re.findall(r"https?://[^\s\"'<)]+", page)) == {"http://www.w3.org/2000/svg"}
    data = json.loads(re.search(r"const DATA = (\{.*?\});\n", page).group(1))  # type: ignore[union-attr]
    assert len(data["points"]) == small_plan.height
    assert data["price"] == pytest.approx(isw.gpu("H100").usd_per_hour, rel=1e-9)
    # The table of the best deployments: one row per kind, linking to its point.
    best = small_plan.with_row_index("i").filter(pl.col("best"))
    table = page.split("<h2>Best deployment of each kind</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + best.height
    for r in best.iter_rows(named=True):
        assert f'href="#point={r["i"]}"' in table and html.escape(deployment_text(r)) in table


def _browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def _rendered(page: Path, fragment: str, profile: Path) -> str:
    """The page's DOM after its script ran, from a real headless browser."""
    browser = _browser()
    if browser is None:
        pytest.skip(f"no headless browser ({', '.join(BROWSERS)}) on PATH: apt-get install chromium")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom",
           page.resolve().as_uri() + fragment]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{browser} did not finish within 120 s (a browser that cannot run here)")
    if done.returncode != 0 or "<html" not in done.stdout:
        # The page's own errors never stop the browser (they are written into the page): this is
        # a browser that cannot start here (missing libraries, no /dev/shm, ...).
        pytest.skip(f"{browser} could not render a page here (exit {done.returncode}): {done.stderr[-500:]}")
    return done.stdout


def _text(dom: str, element_id: str) -> str:
    m = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', dom, re.S)
    assert m, f"no #{element_id} in the rendered page"
    return html.unescape(m.group(2))


def test_html_page_in_a_headless_browser(tmp_path: Path, small_plan: pl.DataFrame) -> None:
    banded = _with_band(small_plan)
    page = plot_plan(banded, tmp_path / "plan.html", tpot_max=SMALL["tpot_max"])
    row_i = int(small_plan.with_row_index("i").filter(
        (pl.col("kind") == "disaggregated") & ~pl.col("best"))["i"][0])
    dom = _rendered(page, f"#hide=aggregated&point={row_i}", tmp_path / "profile")

    assert _text(dom, "errors") == ""
    assert _text(dom, "status") == f"{small_plan.height} points drawn"
    circles = re.findall(r'<circle class="pt[^"]*" data-row="(\d+)" data-kind="(\w+)"', dom)
    assert sorted(int(i) for i, _ in circles) == list(range(small_plan.height))
    kinds = small_plan["kind"].to_list()
    assert all(kinds[int(i)] == k for i, k in circles)
    assert len(re.findall(r'<polygon class="best"', dom)) == 2
    assert len(re.findall(r'<polygon class="band"', dom)) == 2

    # The point named in the address has its tooltip up, equal to its row of the plan.
    row = small_plan.row(row_i, named=True)
    tip = _text(dom, "tooltip")
    assert tip.startswith(f"disaggregated: {deployment_text(row)}; {row['total_gpus']} GPUs, ")
    m = re.search(r"concurrency ([\d.]+); TTFT ([\d.]+) ms, TPOT ([\d.]+) ms; "
                  r"([\d.]+) \[([\d.]+)–([\d.]+)\] tok/s/user, ([\d.]+) \[([\d.]+)–([\d.]+)\] out tok/s/GPU, "
                  r"\$([\d.]+)/M out$", tip)
    assert m, tip
    shown = [float(v) for v in m.groups()]
    b = banded.row(row_i, named=True)
    want = [(row["concurrency"], 1), (1e3 * row["ttft_s"], 1), (1e3 * row["tpot_s"], 2)]
    want += [(b[c + end], d) for c, d in (("tokens_per_s_per_user", 2), ("output_tokens_per_s_per_gpu", 1))
             for end in ("", "_lo", "_hi")]
    want += [(row["usd_per_million_tokens"], 3)]
    for v, (exact, decimals) in zip(shown, want, strict=True):
        assert abs(v - exact) <= 0.5 * 10**-decimals * (1 + 1e-9)
    assert re.search(rf'<div id="tooltip"[^>]*data-point="{row_i}"', dom)
    # #hide=aggregated unticked the aggregated toggle and hid its points.
    assert re.search(r'<g class="kind" data-kind="aggregated" style="display: none;"', dom)
    assert re.search(r'<g class="kind" data-kind="disaggregated">', dom)


def test_html_page_reports_script_errors(tmp_path: Path, small_plan: pl.DataFrame) -> None:
    # The error channel the browser test relies on: a bad address is reported in the page.
    page = plot_plan(small_plan, tmp_path / "plan.html")
    dom = _rendered(page, f"#point={small_plan.height + 5}", tmp_path / "profile")
    assert _text(dom, "errors").strip().endswith(f"#point={small_plan.height + 5}: no such point")


# ------------------------------------------------------------------ the command line


def test_plan_cli_writes_the_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infersweep.cli import main

    args = ["plan", "--model", "Llama-3.1-8B", "--gpu", "H100", "--isl", "1000", "--osl", "200",
            "--ttft", "300ms", "--tpot", "20ms", "--max-gpus", "4"]
    out = tmp_path / "plan.html"
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote the plot to {out}" in printed and "best   aggregated" in printed
    page = out.read_text(encoding="utf-8")
    title = "Llama-3.1-8B on up to 4 × H100, ISL 1000, OSL 200, TTFT ≤ 300 ms, TPOT ≤ 20 ms"
    assert f"<h1>{title}</h1>" in page
    assert '"tpot_max": 0.02' in page
    assert main([*args, "--out", str(tmp_path / "plan.txt")]) == 2
    assert "--out" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "missing" / "plan.png")]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.html"]


def test_plot_plan_is_exported() -> None:
    assert isw.plot_plan is plan_plot.plot_plan


# ------------------------------------------------------------------ the README's Serving section


def _script(name: str) -> Any:
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_script_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_serving_section_is_generated() -> None:
    # README's Serving block is scripts/serving_section.py's output (run it after a change of the model)
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text("utf-8")
    assert _script("serving_section").readme_with_section(readme) == readme
    png = (root / "docs" / "serving_plan.png").read_bytes()
    assert png.startswith(b"\x89PNG") and "(docs/serving_plan.png)" in readme


# ------------------------------------------------------------------ isw.plan(..., uncertainty=)


def _profile(params: tuple[str, ...], variances: tuple[float, ...], residual: float) -> isw.Profile:
    cov = tuple(tuple(v if i == j else 0.0 for j, v in enumerate(variances)) for i in range(len(params)))
    return isw.Profile(name="synthetic", runtime=isw.Runtime.default(), params=params, log_covariance=cov,
                       residual_sd=residual)


def test_plan_rows_reevaluated_at_the_plans_runtime_are_the_plan(small_plan: pl.DataFrame) -> None:
    from infersweep.plan_band import evaluate

    # The band holds each deployment fixed; at the plan's own runtime it must give the plan's values.
    again = evaluate("Llama-3.1-8B", "H100", small_plan, isl=1000, osl=200, chunk_size=8192,
                     runtime=isw.Runtime.default(), precision=isw.Precision())
    for c, v in again.items():
        np.testing.assert_allclose(v, small_plan[c].to_numpy(), rtol=1e-12)


def test_plan_band_from_the_residual_alone(small_plan: pl.DataFrame) -> None:
    from statistics import NormalDist

    s, level = 0.2, 0.8
    banded = isw.plan("Llama-3.1-8B", "H100", runtime=_profile((), (), s), uncertainty=level,
                      **SMALL)  # type: ignore[arg-type]
    assert banded.drop([c for c in banded.columns if c.endswith(("_lo", "_hi"))]).equals(small_plan)
    f = math.exp(NormalDist().inv_cdf(0.5 + level / 2) * s)
    for c in ("ttft_s", "tpot_s", "tokens_per_s_per_user"):
        np.testing.assert_allclose(banded[f"{c}_lo"] * f, banded[c], rtol=1e-12)
        np.testing.assert_allclose(banded[f"{c}_hi"] / f, banded[c], rtol=1e-12)
    tput = "output_tokens_per_s_per_gpu"
    agg, dis = banded.filter(pl.col("kind") == "aggregated"), banded.filter(pl.col("kind") == "disaggregated")
    assert agg[f"{tput}_lo"].equals(agg[tput]) and agg[f"{tput}_hi"].equals(agg[tput])  # a fixed request rate
    np.testing.assert_allclose(dis[f"{tput}_hi"] / f, dis[tput], rtol=1e-12)  # a fixed decode batch
    cost = "usd_per_million_tokens"
    np.testing.assert_allclose(dis[f"{cost}_hi"] / f, dis[cost], rtol=1e-12)


def test_plan_band_from_one_parameter_matches_a_direct_finite_difference(small_plan: pl.DataFrame) -> None:
    from statistics import NormalDist

    from infersweep.uncertainty import FD_STEP

    sd_param, level = 0.3, 0.9
    prof = _profile(("weight_bandwidth_efficiency",), (sd_param**2,), 0.0)
    banded = isw.plan("Llama-3.1-8B", "H100", runtime=prof, uncertainty=level, **SMALL)  # type: ignore[arg-type]
    again = isw.plan("Llama-3.1-8B", "H100", runtime=prof, uncertainty=level, **SMALL)  # type: ignore[arg-type]
    assert banded.equals(again)  # deterministic
    r = banded.filter((pl.col("kind") == "aggregated") & pl.col("best")).row(0, named=True)
    # An independent finite difference of the aggregated row's TPOT through isw.serve.
    rt = isw.Runtime.default()
    bumped = rt.with_(weight_bandwidth_efficiency=rt.weight_bandwidth_efficiency * math.exp(FD_STEP))
    tpots = [isw.serve("Llama-3.1-8B", "H100", r["instance_gpus"], isl=1000, osl=200,
                       request_rate=r["request_rate"], tp=r["tp"], pp=r["pp"], ep=r["ep"],
                       attention_dp=r["attention_dp"], runtime=x)["tpot_s"][0] for x in (rt, bumped)]
    g = math.log(tpots[1] / tpots[0]) / FD_STEP
    assert g < 0  # more bandwidth, shorter steps
    f = math.exp(NormalDist().inv_cdf(0.5 + level / 2) * abs(g) * sd_param)
    assert r["tpot_s_hi"] == pytest.approx(r["tpot_s"] * f, rel=1e-9)
    assert r["tpot_s_lo"] == pytest.approx(r["tpot_s"] / f, rel=1e-9)
    for c in ("ttft_s", "tpot_s", "tokens_per_s_per_user", "output_tokens_per_s_per_gpu"):
        assert (banded[f"{c}_lo"] <= banded[c]).all() and (banded[c] <= banded[f"{c}_hi"]).all()


def test_plan_uncertainty_needs_a_profile_and_a_probability() -> None:
    with pytest.raises(isw.GridError, match=r"needs runtime=an isw\.Profile"):
        isw.plan("Llama-3.1-8B", "H100", runtime=isw.Runtime.default(), uncertainty=0.8,
                 **SMALL)  # type: ignore[arg-type]
    with pytest.raises(isw.GridError, match="probability"):
        isw.plan("Llama-3.1-8B", "H100", runtime=_profile((), (), 0.1), uncertainty=1.5,
                 **SMALL)  # type: ignore[arg-type]


def test_plan_cli_profile_and_uncertainty(capsys: pytest.CaptureFixture[str]) -> None:
    from infersweep.cli import main

    args = ["plan", "--model", "Llama-3.1-8B", "--gpu", "H100", "--isl", "1000", "--osl", "200",
            "--ttft", "300ms", "--tpot", "20ms", "--max-gpus", "4"]
    assert main([*args, "--uncertainty", "0.8"]) == 2
    assert "--uncertainty needs --profile" in capsys.readouterr().err
    assert main([*args, "--profile", "no-such-profile"]) == 2
    assert "neither a shipped profile" in capsys.readouterr().err
    assert main([*args, "--profile", "tensorrt-llm", "--uncertainty", "0.8", "--csv"]) == 0
    df = pl.read_csv(io.StringIO(capsys.readouterr().out))
    want = isw.plan("Llama-3.1-8B", "H100", runtime=isw.shipped_profiles()["tensorrt-llm"], uncertainty=0.8,
                    **SMALL)  # type: ignore[arg-type]
    np.testing.assert_allclose(df["tpot_s_hi"].to_numpy(), want["tpot_s_hi"].to_numpy(), rtol=1e-12)
