"""`serving` is the default semantics of isw.sweep, isw.frontier and the CLI (CHANGELOG.md); `epoch`
is one keyword away and unchanged; every argument only `epoch` has is a GridError saying so; the
serving frontier is the exact Pareto front of a serving sweep over deployable configurations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infersweep as isw
from infersweep import cli
from infersweep.errors import GridError
from infersweep.frontier import SERVING_MAX_BATCH, serving_batch_sizes, serving_gpu_counts
from infersweep.plot import layout_text

GOLDEN = Path(__file__).parent / "data" / "epoch_cli"


def dominated(speed: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Brute force, O(n²): rows some other row beats on one axis and matches or beats on the other."""
    better_or_equal = (speed[None, :] >= speed[:, None]) & (cost[None, :] <= cost[:, None])
    strictly = (speed[None, :] > speed[:, None]) | (cost[None, :] < cost[:, None])
    return (better_or_equal & strictly).any(axis=1)


# ------------------------------------------------------------------ the default is serving


def test_sweep_defaults_to_serving() -> None:
    kw = {"n_gpus": [8, 16], "batch_size": [1, 64], "context_len": 2048}
    default = isw.sweep("Llama-3-70B", "H100", **kw)
    assert default.equals(isw.sweep("Llama-3-70B", "H100", **kw, semantics="serving"))
    assert {"tp", "pp", "attention_dp", "max_batch_size", "overhead_s"} <= set(default.columns)
    assert "two_d_tp" not in default.columns and "use_pp" not in default.columns
    epoch = isw.sweep("Llama-3-70B", "H100", **kw, semantics="epoch")
    assert "two_d_tp" in epoch.columns and "max_batch_size" not in epoch.columns
    # Runtime.default()'s step overhead and efficiencies: the two semantics give different latencies.
    assert not np.allclose(default["token_latency_s"].to_numpy(), epoch["token_latency_s"].to_numpy())


def test_frontier_defaults_to_serving() -> None:
    kw = {"n_gpus": [4, 8], "batch_size": [1, 16, 128], "context_len": 1024}
    default = isw.frontier("Llama-3-70B", "H100", **kw)
    assert default.equals(isw.frontier("Llama-3-70B", "H100", **kw, semantics="serving"))
    assert "tp" in default.columns and "two_d_tp" not in default.columns


# ------------------------------------------------------------------ epoch-only arguments


@pytest.mark.parametrize(("kw", "field"), [
    ({"use_pp": True}, "use_pp"),
    ({"spec_dec": isw.SpecDec("Llama-3-8B-MQA", 0.8, 4)}, "spec_dec"),
    ({"chunk_rows": 1000}, "chunk_rows"),
    ({"progress": True}, "progress"),
    ({"columns": ["token_latency_s", "two_d_tp"]}, "two_d_tp"),
    ({"columns": "drafter"}, "drafter"),
    ({"n_gpus": 12.5}, "n_gpus"),
    ({"batch_size": 0.3}, "batch_size"),
])
def test_epoch_only_sweep_arguments_point_at_epoch(kw: dict, field: str) -> None:
    with pytest.raises(GridError, match=field) as e:
        isw.sweep("Llama-3-70B", "H100", **kw)
    assert "semantics='epoch'" in str(e.value)
    isw.sweep("Llama-3-70B", "H100", **kw, semantics="epoch")  # one keyword away, it runs


@pytest.mark.parametrize(("kw", "field"), [
    ({"use_pp": True}, "use_pp"), ({"use_pp": False}, "use_pp"),
    ({"spec_dec": isw.SpecDec("Llama-3-8B-MQA", 0.8, 4)}, "spec_dec"),
    ({"resolution": 20}, "resolution"), ({"n_targets": 50}, "n_targets"), ({"exact": False}, "exact"),
])
def test_epoch_only_frontier_arguments_point_at_epoch(kw: dict, field: str) -> None:
    with pytest.raises(GridError, match=field) as e:
        isw.frontier("Llama-3-70B", "H100", **kw)
    assert "semantics='epoch'" in str(e.value)
    isw.frontier("Llama-3-70B", "H100", **{"resolution": 12, **kw}, semantics="epoch")


@pytest.mark.parametrize("kw", [{"n_gpus": [8]}, {"batch_size": [1]}, {"max_gpus": 16},
                                {"runtime": isw.Runtime.default()}, {"uncertainty": 0.8}])
def test_serving_only_frontier_arguments_need_serving(kw: dict) -> None:
    with pytest.raises(GridError, match="needs semantics='serving'"):
        isw.frontier("Llama-3-70B", "H100", resolution=12, **kw, semantics="epoch")


def test_frontier_refuses_both_gpu_counts_and_their_top() -> None:
    with pytest.raises(GridError, match="not both"):
        isw.frontier("Llama-3-70B", "H100", n_gpus=[8], max_gpus=16)


def test_streaming_follows_the_default(tmp_path: Path) -> None:
    """The same arguments mean the same rows streamed and in memory: serving by default, epoch on
    request (tests/test_serving_stream.py checks serving grids in detail)."""
    isw.sweep_to_parquet("Llama-3-8B", "H100", n_gpus=[1, 2], path=tmp_path / "a")
    assert isw.read_sweep(tmp_path / "a").collect().equals(isw.sweep("Llama-3-8B", "H100", n_gpus=[1, 2]))
    isw.sweep_shard("Llama-3-8B", "H100", n_gpus=[1, 2], path=tmp_path / "b", shard=0, num_shards=1)
    assert isw.read_sweep(tmp_path / "b").collect().equals(isw.sweep("Llama-3-8B", "H100", n_gpus=[1, 2]))
    paths = isw.sweep_to_parquet("Llama-3-8B", "H100", n_gpus=[1, 2], path=tmp_path / "c", semantics="epoch")
    got = isw.read_sweep(tmp_path / "c").collect()
    assert len(paths) == 1 and got.equals(isw.sweep("Llama-3-8B", "H100", n_gpus=[1, 2], semantics="epoch"))


# ------------------------------------------------------------------ the serving frontier


def test_default_grids() -> None:
    assert serving_gpu_counts(64) == [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64]
    assert serving_gpu_counts(6) == [1, 2, 4]
    assert serving_gpu_counts(20) == [1, 2, 4, 8, 16]
    b = serving_batch_sizes()
    assert b[:8] == [1, 2, 3, 4, 5, 6, 7, 8] and b[-1] == SERVING_MAX_BATCH == 4096
    assert 1024 in b and 1448 in b and 1218 in b and len(b) == len(set(b)) and b == sorted(b)
    big = np.asarray([x for x in b if x >= 64], dtype=float)
    ratios = big[1:] / big[:-1]
    assert np.all((ratios > 1.18) & (ratios < 1.2))  # 2^(1/4) = 1.189: four per octave


def test_serving_frontier_is_the_pareto_front_of_its_sweep() -> None:
    """On a small case the front is exactly the brute-force non-dominated set of the same serving
    sweep, no front point is dominated, and it is sorted fastest first."""
    ns, bs = [1, 2, 4, 8], [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    front = isw.frontier("Llama-3-8B", "H100", n_gpus=ns, batch_size=bs, context_len=4096)
    grid = isw.sweep("Llama-3-8B", "H100", n_gpus=ns, batch_size=bs, context_len=4096, semantics="serving")
    speed, cost = grid["tokens_per_s_per_request"].to_numpy(), grid["usd_per_million_tokens"].to_numpy()
    keep = ~dominated(speed, cost) & np.isfinite(cost)
    brute = grid.filter(pl.Series(keep)).sort("tokens_per_s_per_request", descending=True)
    assert 3 <= front.height < grid.height
    assert front.select("n_gpus", "batch_size").equals(brute.select("n_gpus", "batch_size"))
    assert front.equals(brute.select(front.columns))
    assert not dominated(front["tokens_per_s_per_request"].to_numpy(),
                         front["usd_per_million_tokens"].to_numpy()).any()
    assert front["feasible"].all()
    s = front["tokens_per_s_per_request"].to_numpy()
    assert np.all(s[:-1] >= s[1:])
    assert (front["batch_size"] <= front["max_batch_size"]).all()


def test_serving_frontier_reaches_the_largest_batch_that_fits() -> None:
    """The default batches add, per GPU count, the largest batch any layout holds: the cheapest
    point equals the brute force over every integer batch (165 sequences on 8 H100s at 8k context,
    between the log grid's 152 and 181)."""
    front = isw.frontier("Llama-3-70B", "H100", max_gpus=8, context_len=8000)
    assert set(front["n_gpus"].to_list()) <= {1.0, 2.0, 4.0, 8.0}
    brute = isw.sweep("Llama-3-70B", "H100", n_gpus=[1, 2, 4, 8], batch_size=np.arange(1, 2001),
                      context_len=8000, semantics="serving").filter(pl.col("feasible"))
    cheapest = brute.sort("usd_per_million_tokens").row(0, named=True)
    assert front["usd_per_million_tokens"].min() == cheapest["usd_per_million_tokens"]
    assert cheapest["batch_size"] not in serving_batch_sizes()
    fastest = brute.sort("tokens_per_s_per_request", descending=True).row(0, named=True)
    assert front["tokens_per_s_per_request"][0] == fastest["tokens_per_s_per_request"]


def test_serving_frontier_preferred_and_throughput_cap() -> None:
    front = isw.frontier("Llama-3-70B", "H100", context_len=2048)
    best = isw.preferred(front)
    x, y = front["tokens_per_s_per_request"].to_numpy(), front["usd_per_million_tokens"].to_numpy()
    i = int(np.argmax(3 * np.log(x) - np.log(y)))
    assert best.equals(front[i])
    capped = isw.frontier("Llama-3-70B", "H100", context_len=2048, max_throughput=500.0)
    assert capped.height > 0 and (capped["batch_size"] / capped["token_latency_s"] <= 500.0).all()
    assert capped["usd_per_million_tokens"].min() > front["usd_per_million_tokens"].min()


def test_serving_frontier_with_nothing_that_fits_is_empty() -> None:
    front = isw.frontier("Llama-3-405B", "H100", n_gpus=[1, 2], batch_size=[1, 8])
    assert front.height == 0 and "tp" in front.columns
    with pytest.raises(GridError, match="empty"):
        isw.preferred(front)


def test_serving_frontier_carries_the_band_of_a_calibrated_profile() -> None:
    prof = isw.shipped_profiles()["tensorrt-llm"]
    kw = {"n_gpus": [4, 8], "batch_size": [1, 16, 128], "context_len": 2048}
    front = isw.frontier("Llama-3-70B", "H100", runtime=prof, uncertainty=0.8, **kw)
    assert front.height > 0
    for stem in ("tpot_s", "tokens_per_s_per_request", "usd_per_million_tokens"):
        assert (front[f"{stem}_lo"] < front[f"{stem}_hi"]).all()
    assert (front["tpot_s_lo"] < front["token_latency_s"]).all()
    assert (front["token_latency_s"] < front["tpot_s_hi"]).all()
    plain = isw.frontier("Llama-3-70B", "H100", runtime=prof.runtime, **kw)
    assert front.select(plain.columns).equals(plain)  # the band changes no point
    from infersweep.plot import band_vertices  # the plot draws the band from these columns

    outline = band_vertices(front.sort("tokens_per_s_per_request"), "tokens_per_s_per_request",
                            "usd_per_million_tokens", y_rises_with_x=False)
    assert outline is not None and len(outline[0]) == 2 * front.height


def test_serving_layout_text() -> None:
    row = {"feasible": True, "tp": 8, "pp": 2, "ep": 1, "attention_dp": 4, "expert_tp": 32}
    assert layout_text(row) == "TP 8, PP 2, attn DP 4, FFN TP 32"
    assert layout_text({**row, "pp": 1, "attention_dp": 1, "expert_tp": 8}) == "TP 8"


def test_plot_frontiers_draws_a_serving_frontier(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    front = isw.frontier("Llama-3-70B", "H100", context_len=2048)
    isw_plot = pytest.importorskip("infersweep.plot")
    isw_plot.plot_frontiers({"serving": front}, tmp_path / "f.png")
    isw_plot.plot_frontiers({"serving": front}, tmp_path / "f.html")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    html = (tmp_path / "f.html").read_text()
    assert "TP 8" in html


# ------------------------------------------------------------------ the command line


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_sweep_defaults_to_serving(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "-m", "Llama-3-70B", "-n", "8", "16", "-b", "1", "64",
                       "--context", "4k")
    assert code == 0
    assert "attn dp" in out and "max b" in out and "2D" not in out and "tp ffn" not in out
    assert "serving semantics (the default; --semantics epoch" in out and "isw.Runtime.default()" in out
    df = isw.sweep("Llama-3-70B", "H100", n_gpus=[8, 16], batch_size=[1, 64], context_len=4000)
    assert f"{df['tokens_per_s_per_request'][0]:.4g}" in out


def test_cli_frontier_and_explain_default_to_serving(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    code, out, _ = run(capsys, "frontier", "-m", "Llama-3-70B", "--context", "8k", "--rows", "4",
                       "--out", str(tmp_path / "f.svg"), "--data", str(tmp_path / "f.csv"))
    assert code == 0 and "serving semantics, isw.Runtime.default()" in out
    assert "grid: GPU counts 1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64; batch sizes 2^(k/4) rounded" in out
    assert "◀ preferred" in out and (tmp_path / "f.svg").exists()
    written = pl.read_csv(tmp_path / "f.csv")
    assert written.height == isw.frontier("Llama-3-70B", "H100", context_len=8000).height
    code, out, _ = run(capsys, "explain", "-m", "Llama-3-70B", "-n", "8", "-b", "64")
    assert code == 0 and "serving semantics (one decode step" in out


@pytest.mark.parametrize(("args", "flag"), [
    (["sweep", "-m", "Llama-3-70B", "--pp"], "--pp"),
    (["sweep", "-m", "Llama-3-70B", "--spec-dec", "Llama-3-8B-MQA:0.8"], "--spec-dec"),
    (["sweep", "-m", "Llama-3-70B", "--chunk-rows", "10"], "--chunk-rows"),
    (["frontier", "-m", "Llama-3-70B", "--resolution", "20"], "--resolution"),
    (["frontier", "-m", "Llama-3-70B", "--no-pp"], "--pp/--no-pp"),
    (["explain", "-m", "Llama-3-70B", "-n", "8", "-b", "1", "--pp"], "--pp"),
    (["sweep", "-m", "Llama-3-70B", "-n", "0.5"], "n_gpus"),
    (["sweep", "-m", "Llama-3-70B", "--columns", "two_d_tp"], "two_d_tp"),
])
def test_cli_epoch_only_flags_point_at_epoch(capsys: pytest.CaptureFixture[str], args: list[str],
                                             flag: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and flag in err and "--semantics epoch" in err


@pytest.mark.parametrize(("args", "flag"), [
    (["sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--tp", "8"], "--tp"),
    (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--max-gpus", "8"], "--max-gpus"),
    (["frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--profile", "vllm"], "--profile"),
])
def test_cli_serving_only_flags_need_serving(capsys: pytest.CaptureFixture[str], args: list[str],
                                             flag: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and flag in err and "needs --semantics serving" in err


def _masked(text: str) -> str:
    """Output without the wall-clock times it prints."""
    text = re.sub(r"evaluated in [0-9.]+ s", "evaluated in X s", text)
    return re.sub(r", [0-9.]+ s\)", ", X s)", text)


@pytest.mark.parametrize(("name", "args"), [
    ("sweep", ["-m", "Llama-3-70B", "Mixtral-8x22B", "-n", "8", "16", "-b", "1", "64", "--context", "0",
               "8k"]),
    ("frontier", ["-m", "Llama-3-70B", "--resolution", "24", "--rows", "6"]),
    ("explain", ["-m", "Llama-3-70B", "-n", "8", "-b", "64"]),
])
def test_cli_semantics_epoch_prints_what_the_old_default_printed(capsys: pytest.CaptureFixture[str],
                                                                 name: str, args: list[str]) -> None:
    """tests/data/epoch_cli/*.txt is the output of these commands before the default changed (the
    commit before it, times masked): `--semantics epoch` reproduces it character for character."""
    code, out, _ = run(capsys, name, "--semantics", "epoch", *args)
    assert code == 0
    assert _masked(out) == (GOLDEN / f"{name}.txt").read_text()
