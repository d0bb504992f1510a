"""The command line end to end: every subcommand in a subprocess, exit codes, error messages.

Exit codes: 0 ok, 2 bad usage or input, 1 a failure of the work (an unwritable output). Errors
are one line on stderr, never a traceback.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import infersweep as isw
from infersweep import cli

RES = "40"  # frontier resolution: coarse, fast


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infersweep.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def ok(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    p = run(*args, cwd=cwd)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return p


def fails(code: int, *args: str, match: str | None = None) -> subprocess.CompletedProcess[str]:
    p = run(*args)
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    if match is not None:
        assert match in p.stderr, p.stderr
    return p


# ------------------------------------------------------------------ help, version, entry points


@pytest.mark.parametrize("command", ["frontier", "sweep", "models", "gpus", "explain", "demo"])
def test_every_subcommand_has_help(command: str, capsys) -> None:
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: infersweep {command}")
    assert "--help" in out


def test_top_level_help_lists_the_commands(capsys) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("frontier", "sweep", "models", "gpus", "explain", "demo"):
        assert command in out


def test_python_dash_m_infersweep_and_version() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "infersweep", "--version"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0 and p.stdout.strip() == f"infersweep {isw.__version__}"


# ------------------------------------------------------------------ frontier


def test_frontier_prints_key_points_and_writes_plot_and_data(tmp_path: Path) -> None:
    p = ok(
        "frontier", "--semantics", "epoch",
        "--model",
        "llama 3 70b",
        "--gpu",
        "H100",
        "--resolution",
        RES,
        "--out",
        str(tmp_path / "f.png"),
        "--data",
        str(tmp_path / "f.csv"),
    )
    front = isw.frontier("Llama-3-70B", "H100", resolution=int(RES), semantics="epoch")
    for kind in ("fastest", "preferred", "cheapest"):
        assert f"  {kind}" in p.stdout
    fastest = front.row(0, named=True)
    assert f"{fastest['tokens_per_s_per_request']:.1f} tok/s" in p.stdout
    best = isw.preferred(front).row(0, named=True)
    assert f"preferred  {best['tokens_per_s_per_request']:.1f} tok/s" in p.stdout
    assert "◀ preferred" in p.stdout
    data = pl.read_csv(tmp_path / "f.csv")
    assert data.height == front.height
    assert data["setting"].unique().to_list() == ["Llama-3-70B on H100, context 0, no spec. dec."]
    assert data["tokens_per_s_per_request"].to_list() == pytest.approx(
        front["tokens_per_s_per_request"].to_list(), rel=1e-12
    )
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_frontier_of_several_settings_html_and_parquet(tmp_path: Path) -> None:
    ok(
        "frontier", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "-g",
        "H100",
        "H200",
        "--context",
        "0",
        "10k",
        "--no-pp",
        "--max-throughput",
        "1e4",
        "--resolution",
        "30",
        "--out",
        str(tmp_path / "f.html"),
        "--data",
        str(tmp_path / "f.parquet"),
    )
    data = pl.read_parquet(tmp_path / "f.parquet")
    assert sorted(data["setting"].unique().to_list()) == [
        "H100, context 0",
        "H100, context 10k",
        "H200, context 0",
        "H200, context 10k",
    ]
    assert not data["use_pp"].any()
    assert (data["batch_size"] / data["token_latency_s"]).max() <= 1e4 * (1 + 1e-9)
    page = (tmp_path / "f.html").read_text(encoding="utf-8")
    assert "<svg" in page and "H200, context 10k" in page


def test_frontier_with_speculative_decoding() -> None:
    p = ok(
        "frontier", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "--spec-dec",
        "none",
        "Llama-3-8B-MQA:0.8:4",
        "--resolution",
        "24",
        "--rows",
        "4",
    )
    assert "spec. dec. Llama-3-8B-MQA α=0.8, γ≤4" in p.stdout
    assert "γ=" in p.stdout  # some frontier points draft tokens


def test_frontier_with_no_feasible_point() -> None:
    p = ok("frontier",
           "--semantics", "epoch", "-m", "Llama-3-70B", "--max-throughput", "1e-9", "--resolution", "20")
    assert "0 frontier points" in p.stdout and "no feasible point" in p.stdout


# ------------------------------------------------------------------ sweep


def test_sweep_prints_a_table_and_the_row_count() -> None:
    p = ok(
        "sweep", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "Llama-3-405B",
        "--n-gpus",
        "8",
        "16",
        "32",
        "--batch-size",
        "1",
        "4",
        "16",
        "--context",
        "0",
        "8000",
        "--pp",
    )
    assert "36 rows" in p.stdout and "feasible" in p.stdout
    assert "Llama-3-405B" in p.stdout and "ms/token" in p.stdout


@pytest.mark.parametrize("ext", ["parquet", "csv", "json"])
def test_sweep_writes_every_column(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"r.{ext}"
    p = ok(
        "sweep", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "-g",
        "H100",
        "A100",
        "-n",
        "8",
        "16",
        "-b",
        "1",
        "64",
        "--context",
        "0",
        "100k",
        "--use-pp",
        "false",
        "true",
        "--out",
        str(out),
    )
    assert "32 rows" in p.stdout
    got = {"parquet": pl.read_parquet, "csv": pl.read_csv, "json": pl.read_json}[ext](out)
    want = isw.sweep("Llama-3-70B", ["H100", "A100"], [8, 16], [1, 64], [0, 100_000], use_pp=[False, True],
                     semantics="epoch")
    assert got.columns == want.columns
    assert got["gpu"].to_list() == want["gpu"].cast(pl.String).to_list()
    assert got["feasible"].to_list() == want["feasible"].to_list()
    assert not want["feasible"].all()  # the infeasible rows (inf latency) round-trip too
    lat = [x if math.isfinite(x) else math.nan for x in want["token_latency_s"].to_list()]
    got_lat = [
        x if x is not None and math.isfinite(x) else math.nan for x in got["token_latency_s"].to_list()
    ]
    assert got_lat == pytest.approx(lat, rel=1e-12, nan_ok=True)


def test_sweep_zip_with_speculative_decoding_and_columns() -> None:
    p = ok(
        "sweep", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "-n",
        "8",
        "16",
        "-b",
        "16",
        "64",
        "--grid",
        "zip",
        "--spec-dec",
        "Llama-3-8B-MQA:0.8",
        "none",
        "--columns",
        "n_gpus",
        "gamma",
        "token_latency_s",
    )
    assert "2 rows" in p.stdout and "gamma" in p.stdout and "token_latency_s" in p.stdout


def test_sweep_grid_errors_are_bad_input() -> None:
    fails(
        2,
        "sweep", "--semantics", "epoch",
        "-m",
        "Llama-3-70B",
        "-n",
        "8",
        "16",
        "32",
        "-b",
        "1",
        "2",
        "--grid",
        "zip",
        match="infersweep: error: grid",
    )
    fails(2, "sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "-8", match="n_gpus")
    fails(2, "sweep",
          "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "16", "--max-rows", "1", match="max_rows")


# ------------------------------------------------------------------ models, gpus


def test_models_lists_the_catalog() -> None:
    p = ok("models")
    for name in isw.model_names():
        assert name in p.stdout
    assert "70.6" in p.stdout  # Llama 3 70B: 70.6 billion parameters
    long = ok("models", "--long")
    assert "arXiv:2506.04645" in long.stdout


def test_gpus_lists_the_catalog_and_csv_round_trips() -> None:
    p = ok("gpus")
    for name in isw.gpu_names():
        assert name in p.stdout
    csv = ok("gpus", "--csv")
    from io import StringIO

    table = pl.read_csv(StringIO(csv.stdout))
    assert table["name"].to_list() == isw.gpu_names()


# ------------------------------------------------------------------ explain


def test_explain_reproduces_the_validation_case() -> None:
    # docs/validation.md case 2: Llama 3 70B, 8 × H100, b = 64: 12,222.5 µs, $0.8912/M; components
    # kernel 1,280, network 3,736.9 (2,432 latency), memory 7,205.7, compute 1,612.6.
    p = ok("explain", "--semantics", "epoch", "--model", "Llama-3-70B", "--gpu", "H100", "--n-gpus", "8",
           "--batch-size", "64")
    out = p.stdout
    assert "12,222.5 µs" in out and "$0.8912 per million" in out and "MFU" in out
    for text in (
        "kernel launches        1,280.0",
        "network latency        2,432.0",
        "compute (FLOPs)        1,612.6",
    ):
        assert text in out
    assert "memory (HBM traffic)   7,205.6" in out or "memory (HBM traffic)   7,205.7" in out
    assert "◀ bound" in out and "verdict: memory-bound" in out
    for text in (
        "tensor parallelism",
        "pipeline degree",
        "expert parallelism",
        "TP degree, FFN",
        "TP degree, attention",
        "attention scale-down",
    ):
        assert text in out


def test_explain_speculative_decoding() -> None:
    p = ok("explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "16", "-b", "64", "--spec-dec",
           "Llama-3-8B-MQA:0.8")
    assert "speculative decoding: each round drafts γ=" in p.stdout


def test_explain_infeasible_says_by_how_much() -> None:
    p = ok("explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "-b", "64", "--context", "100k")
    assert "does not fit" in p.stdout
    assert "2,238.3 GB > 8 × 80 GB = 640.0 GB" in p.stdout
    assert "fits from 28 GPUs" in p.stdout
    p = ok("explain",
           "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "2", "-b", "64", "--context", "100k", "--pp")
    assert "fits from 6.35 GPUs with pipeline parallelism" in p.stdout
    # ... which the engine confirms.
    df = isw.sweep("Llama-3-70B", "H100", [6.34, 6.36], 64, 100_000, use_pp=True, semantics="epoch")
    assert df["feasible"].to_list() == [False, True]


def test_explain_names_the_reason_a_point_has_no_layout() -> None:
    # Half a GPU holds Llama 3 8B's 16 GB, but a layout needs P <= min(N, b) with P >= 1: the
    # reason is the GPU count, not memory (the output used to say "does not fit").
    p = ok("explain", "--semantics", "epoch", "-m", "Llama-3-8B", "-n", "0.5", "-b", "1")
    assert "no layout" in p.stdout and "P <= min(N, b)" in p.stdout
    assert "min(N, b) = 0.5 (0.5 GPUs)" in p.stdout
    assert "memory would fit: weights 16.1 GB + KV cache 0.0 GB = 16.1 GB <= 40.0 GB" in p.stdout
    assert "does not fit" not in p.stdout and "--n-gpus 1 or more" in p.stdout
    # Both reasons at once: too few sequences and too little memory.
    p = ok("explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "0.5", "-b", "0.3", "--pp")
    assert "min(N, b) = 0.3 (0.5 GPUs and 0.3 sequences)" in p.stdout
    assert "memory would not fit either" in p.stdout
    assert "--n-gpus 2 or more and --batch-size 1 or more" in p.stdout
    # A point with a feasible degree that only memory rules out still blames memory.
    p = ok("explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "1", "-b", "1")
    assert "does not fit" in p.stdout and "no layout" not in p.stdout


# ------------------------------------------------------------------ demo


def test_demo_quick_writes_a_summary_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    p = ok("demo", "--quick", "--resolution", "24", "--out-dir", str(out))
    for section in (
        "(a) Models on H100",
        "(b) Speculative decoding",
        "(c) GPU generations",
        "(d) Quantization",
        "(e) Long context",
    ):
        assert section in p.stdout
    for model in (
        "Llama-3-405B",
        "Mistral-Large-2",
        "Mixtral-8x22B",
        "DeepSeek-V3-epoch",
        "GPT-4",
        "A100",
        "H200",
        "8-bit",
        "4-bit",
        "context 100k",
    ):
        assert model in p.stdout
    assert "] Llama-3-70B on H100" in p.stderr  # progress lines
    pngs = sorted(f.name for f in out.glob("*.png"))
    assert pngs == [
        "a_models.png",
        "b_speculative_decoding.png",
        "c_gpus.png",
        "d_quantization.png",
        "e_long_context.png",
    ]
    assert (out / "summary.txt").read_text(encoding="utf-8").strip() in p.stdout


def test_demo_without_plots(tmp_path: Path) -> None:
    p = ok("demo", "--resolution", "16", "--no-plots", "--out-dir", str(tmp_path / "d"))
    assert "(e) Long context" in p.stdout and not list((tmp_path / "d").glob("*.png"))


# ------------------------------------------------------------------ bad input: exit 2


@pytest.mark.parametrize(
    "args, match",
    [
        (["bogus"], "invalid choice"),
        ([], "required"),
        (["frontier"], "--model"),
        (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--frobnicate"], "unrecognized arguments"),
        (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--resolution", "1"], ">= 2"),
        (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--out", "x.jpg"], ".png"),
        (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--data", "x.xlsx"], ".parquet"),
        (["frontier",
          "--semantics", "epoch", "-m", "Llama-3-70B", "--spec-dec", "Llama-3-8B"], "DRAFTER:ACCEPTANCE"),
        (["frontier",
          "--semantics", "epoch", "-m", "Llama-3-70B", "--spec-dec", "Llama-3-8B:1"], "acceptance"),
        (["frontier",
          "--semantics", "epoch", "-m", "Llama-3-70B", "--spec-dec", "Llama-3-8B:0.8:1"], "gamma_max"),
        (["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--n-gpus", "eight"], "not a number"),
        (["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--use-pp", "maybe"], "true or false"),
        (["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--grid", "diagonal"], "invalid choice"),
        (["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--pp", "--no-pp"], "not allowed with"),
        (["explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8"], "--batch-size"),
        (["explain",
          "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "-b", "1", "2"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2(args: list[str], match: str, capsys) -> None:
    # In-process (argparse rejects these before any work); the subprocess path is checked below.
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "usage: infersweep" in err and match in err
    assert "Traceback" not in err


def test_bad_flags_exit_2_in_a_subprocess() -> None:
    p = fails(2, "frontier",
              "--semantics", "epoch", "-m", "Llama-3-70B", "--frobnicate", match="unrecognized arguments")
    assert "usage: infersweep" in p.stderr


@pytest.mark.parametrize(
    "args, close",
    [
        (["frontier", "--semantics", "epoch", "--model", "Llama-3-7B"], "'Llama-3-70B'"),
        (["sweep", "--semantics", "epoch", "--model", "Llama-3-70B", "--gpu", "H1000"], "'H100'"),
        (["explain",
          "--semantics", "epoch", "--model", "mixtral 8x22", "-n", "8", "-b", "1"], "'Mixtral-8x22B'"),
        (["frontier", "--semantics", "epoch", "--model", "Llama-3-70B", "--spec-dec", "Llama-3-8B-MQB:0.8"],
         "'Llama-3-8B-MQA'"),
    ],
)
def test_unknown_names_list_close_matches(args: list[str], close: str) -> None:
    p = fails(2, *args, match="close matches")
    assert close in p.stderr
    assert "`infersweep models`" in p.stderr or "`infersweep gpus`" in p.stderr


def test_a_gpu_without_the_weight_precision_is_bad_input() -> None:
    fails(
        2,
        "frontier", "--semantics", "epoch",
        "-m",
        "Llama-3-70B-4bit",
        "-g",
        "A100",
        "--resolution",
        "16",
        match="infersweep: error: gpu 'A100'",
    )


# ------------------------------------------------------------------ failures of the work: exit 1


def _blocker(tmp_path: Path) -> Path:
    f = tmp_path / "file.txt"
    f.write_text("a file, not a folder")
    return f


@pytest.mark.parametrize(
    "make_args",
    [
        lambda d: ["frontier",
                   "--semantics", "epoch", "-m", "Llama-3-70B", "--resolution", "16", "--out", "/proc/x.png"],
        lambda d: [
            "frontier", "--semantics", "epoch",
            "-m",
            "Llama-3-70B",
            "--resolution",
            "16",
            "--out",
            str(_blocker(d) / "x.png"),
        ],
        lambda d: [
            "frontier", "--semantics", "epoch",
            "-m",
            "Llama-3-70B",
            "--resolution",
            "16",
            "--data",
            str(_blocker(d) / "x.csv"),
        ],
        lambda d: [
            "frontier", "--semantics", "epoch",
            "-m",
            "Llama-3-70B",
            "--resolution",
            "16",
            "--out",
            str(d / "missing" / "x.svg"),
        ],
        lambda d: ["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--out", "/proc/r.parquet"],
        lambda d: ["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--out", str(_blocker(d) / "r.csv")],
        lambda d: ["demo", "--resolution", "8", "--out-dir", str(_blocker(d))],
        lambda d: ["demo", "--resolution", "8", "--out-dir", str(_blocker(d) / "sub")],
    ],
    ids=[
        "proc",
        "under-a-file",
        "data-under-a-file",
        "missing-folder",
        "sweep-proc",
        "sweep-under-a-file",
        "demo-dir-is-a-file",
        "demo-dir-under-a-file",
    ],
)
def test_unwritable_outputs_exit_1_with_a_clear_message(tmp_path: Path, make_args) -> None:
    p = fails(1, *make_args(tmp_path), match="infersweep: error: cannot write")
    assert len(p.stderr.strip().splitlines()) == 1


def test_missing_matplotlib_exits_1_before_the_work(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = cli.main(["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--resolution", "16", "--out",
                     str(tmp_path / "f.png")])
    err = capsys.readouterr()
    assert code == 1
    assert "pip install infersweep[plot]" in err.err
    assert "frontier points" not in err.out  # refused before computing
    # The demo still prints its summary, without plots.
    code = cli.main(["demo", "--resolution", "8", "--out-dir", str(tmp_path / "d")])
    err = capsys.readouterr()
    assert code == 0 and "plots are skipped" in err.err and "(a) Models" in err.out


# ------------------------------------------------------------------ argument parsing helpers


@pytest.mark.parametrize(
    "text, value",
    [("8", 8.0), ("1e4", 1e4), ("100k", 1e5), ("2M", 2e6), ("1_000", 1e3), ("inf", math.inf), ("0.5", 0.5)],
)
def test_number(text: str, value: float) -> None:
    assert cli.number(text) == value


def test_spec_dec_parsing() -> None:
    sd = cli.spec_dec("llama_3_8b_mqa:0.75:3")
    assert sd is not None and sd.drafter_model.name == "Llama-3-8B-MQA"
    assert (sd.acceptance, sd.gamma_max) == (0.75, 3)
    assert cli.spec_dec("Llama-3-8B-MQA:0.8").gamma_max == 5
    assert cli.spec_dec("none") is None


def test_sweep_with_plain_decoding_listed_first() -> None:
    p = ok("sweep",
           "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "--spec-dec", "none", "Llama-3-8B-MQA:0.8")
    assert "2 rows" in p.stdout and "Llama-3-8B-MQA" in p.stdout
