"""Streaming a `serving` grid: isw.sweep_to_parquet / isw.sweep_shard give isw.sweep's rows, in order."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import infersweep as isw
from infersweep import stream, stream_serving
from infersweep.dataset import part_name
from infersweep.errors import GridError
from infersweep.stream_serving import blocks

#: Searched layouts: two models (one MoE), two GPUs, contexts that do not fit, two sequence lengths.
SEARCHED = dict(model=["Llama-3-8B", "Mixtral-8x22B"], gpu=["H100", "A100"], n_gpus=[1, 2, 8, 16],
                batch_size=[1, 16, 256, 1024], context_len=[0, 8192, 131072], seq_len=[1, 4])
SEARCHED_ROWS = 2 * 2 * 4 * 4 * 3 * 2
#: Pinned layouts, some degrees searched (None) among pinned ones.
PINNED = dict(model="Mixtral-8x22B", gpu="H100", n_gpus=[8], batch_size=[1, 64, 512], context_len=[0, 4096],
              tp=[2, 4, 8], pp=[None, 1], ep=[None, 2], attention_dp=[None])
PINNED_ROWS = 3 * 2 * 3 * 2 * 2


def serving(**args: Any) -> pl.DataFrame:
    return isw.sweep(**args, semantics="serving")


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


# ---------------------------------------------------------------- a row range as sub-grids


@pytest.mark.parametrize("lens", [[1], [5], [3, 4], [2, 1, 3], [2, 3, 1, 4, 2], [1] * 10,
                                  [2, 2, 3, 1, 2, 1, 3, 1, 1, 2]])
def test_blocks_are_the_rows_of_the_range_in_order(lens: list[int]) -> None:
    every = list(itertools.product(*[range(n) for n in lens]))
    for lo in range(len(every) + 1):
        for hi in range(lo, len(every) + 1):
            bs = blocks(lens, lo, hi)
            rows = [r for b in bs for r in itertools.product(*[range(i, j) for i, j in b])]
            assert rows == every[lo:hi], (lens, lo, hi, bs)
            assert len(bs) <= max(1, 2 * len(lens) - 1)


def test_a_whole_grid_is_one_block() -> None:
    assert blocks([3, 4, 5], 0, 60) == [[(0, 3), (0, 4), (0, 5)]]
    assert blocks([3, 4, 5], 7, 7) == []


# ---------------------------------------------------------------- rows equal isw.sweep's


@pytest.mark.parametrize(("grid", "rows"), [(SEARCHED, SEARCHED_ROWS), (PINNED, PINNED_ROWS)],
                         ids=["searched", "pinned"])
@pytest.mark.parametrize("chunk_rows", [7, 100, 1 << 19])
def test_streamed_rows_equal_the_in_memory_sweep(tmp_path: Path, grid: dict[str, Any], rows: int,
                                                 chunk_rows: int) -> None:
    expect = serving(**grid)
    assert expect.height == rows
    paths = isw.sweep_to_parquet(**grid, path=tmp_path, chunk_rows=chunk_rows)  # the default: serving
    assert len(paths) == -(-rows // chunk_rows)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), expect)
    sizes = [pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths]
    assert sizes == [(i + 1) * rows // len(paths) - i * rows // len(paths) for i in range(len(paths))]


def test_a_zip_grid_streams(tmp_path: Path) -> None:
    grid = dict(model="Llama-3-70B", gpu=["H100", "A100", "H200", "B200", "H100"], n_gpus=[8, 8, 4, 2, 8],
                batch_size=[1, 64, 8, 32, 256], context_len=[0, 4096, 0, 100_000, 1000],
                tp=[8, None, 4, None, 2], grid="zip")
    isw.sweep_to_parquet(**grid, path=tmp_path, chunk_rows=2)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), serving(**grid))


def test_columns_runtime_and_precision_are_those_of_the_sweep(tmp_path: Path) -> None:
    args = dict(model="Llama-3-70B", gpu="H100", n_gpus=[4, 8], batch_size=[1, 32, 128],
                context_len=[0, 2000], runtime=isw.Runtime.ideal(),
                precision=isw.Precision(attention="fp8", dense_ffn="fp8"),
                columns=["n_gpus", "batch_size", "token_latency_s", "tp", "weights_gb_per_gpu"])
    isw.sweep_to_parquet(**args, path=tmp_path, chunk_rows=5)
    got = isw.read_sweep(tmp_path).collect()
    assert got.columns == args["columns"]
    assert_frame_equal(got, serving(**args))
    assert not got.equals(serving(**{k: v for k, v in args.items() if k != "precision"}))


def test_a_calibrated_profile_streams_its_band(tmp_path: Path) -> None:
    args = dict(model=["Llama-3-8B", "Llama-3-70B"], gpu="H100", n_gpus=[1, 8], batch_size=[1, 64, 512],
                context_len=[0, 8192], runtime=isw.shipped_profiles()["vllm"], uncertainty=0.8)
    expect = serving(**args)
    assert {"tpot_s_lo", "tpot_s_hi", "usd_per_million_tokens_hi"} <= set(expect.columns)
    isw.sweep_to_parquet(**args, path=tmp_path, chunk_rows=5)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), expect)
    isw.sweep_to_parquet(**args, path=tmp_path / "some", columns=["batch_size", "token_latency_s"])
    assert isw.read_sweep(tmp_path / "some").collect().columns == [
        "batch_size", "token_latency_s", *isw.uncertainty.BAND_COLUMNS]


def test_a_part_larger_than_chunk_rows_is_sunk_in_batches(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One part of 768 rows, more than chunk_rows: polars sinks it batch by batch (EVAL_ROWS each)."""
    monkeypatch.setattr(stream, "EVAL_ROWS", 50)
    paths = isw.sweep_to_parquet(**SEARCHED, path=tmp_path, num_shards=1, chunk_rows=100)
    assert len(paths) == 1
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), serving(**SEARCHED))


def test_a_grid_too_large_for_memory_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """isw.sweep refuses a grid over half the memory available; streaming holds only a batch at once."""
    grid = dict(model="Llama-3-8B", gpu="H100", n_gpus=[1, 2, 4, 8], batch_size=list(range(1, 1025)),
                context_len=[0, 4096, 32768], columns=["n_gpus", "batch_size", "token_latency_s"])
    expect = serving(**grid)  # 12,288 rows: about 2.2 MiB by the sweep's estimate
    sweep_module = sys.modules["infersweep.sweep"]  # isw.sweep is the function
    monkeypatch.setattr(sweep_module, "_available_memory", lambda: 3 << 20)
    with pytest.raises(GridError, match=r"would need about .* use isw\.sweep_to_parquet"):
        serving(**grid)
    monkeypatch.setattr(stream, "EVAL_ROWS", 4096)  # batches of 0.75 MiB
    isw.sweep_to_parquet(**grid, path=tmp_path, chunk_rows=4096)
    monkeypatch.undo()
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), expect)


# ---------------------------------------------------------------- shards


@pytest.mark.parametrize("num_shards", [1, 5, 13])
def test_shards_concatenated_equal_the_whole(tmp_path: Path, num_shards: int) -> None:
    paths = [isw.sweep_shard(**SEARCHED, shard=i, num_shards=num_shards, path=tmp_path)
             for i in reversed(range(num_shards))]  # any order
    assert paths[::-1] == [str(tmp_path / part_name(i, num_shards)) for i in range(num_shards)]
    expect = serving(**SEARCHED)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), expect)
    whole = isw.sweep_to_parquet(**SEARCHED, path=tmp_path / "whole", num_shards=num_shards)
    for a, b in zip(paths[::-1], whole, strict=True):
        assert_frame_equal(pl.read_parquet(a), pl.read_parquet(b))


def test_a_shard_rerun_is_kept_and_another_runtime_is_another_dataset(tmp_path: Path) -> None:
    first = isw.sweep_shard(**PINNED, shard=1, num_shards=3, path=tmp_path)
    assert first is not None
    stamp = os.stat(first).st_mtime_ns
    assert isw.sweep_shard(**PINNED, shard=1, num_shards=3, path=tmp_path) == first
    assert os.stat(first).st_mtime_ns == stamp, "a complete part is not recomputed"
    with pytest.raises(GridError, match=r"holds another dataset \(it differs in runtime"):
        isw.sweep_shard(**PINNED, shard=0, num_shards=3, path=tmp_path, runtime=isw.Runtime.ideal())
    with pytest.raises(GridError, match="incomplete: 2 of 3 parts are missing"):
        isw.read_sweep(tmp_path)
    manifest = json.loads((tmp_path / "_infersweep.json").read_text())
    assert manifest["grid"]["semantics"] == "serving" and manifest["grid"]["tp"] == [2, 4, 8]
    assert manifest["grid"]["pp"] == ["searched", 1]
    assert manifest["grid"]["runtime"] == "isw.Runtime.default()"


def test_epoch_and_serving_datasets_of_the_same_arguments_differ(tmp_path: Path) -> None:
    args = dict(model="Llama-3-8B", gpu="H100", n_gpus=[1, 2], batch_size=[1, 8])
    isw.sweep_to_parquet(**args, path=tmp_path)
    with pytest.raises(GridError, match="holds another dataset"):
        isw.sweep_to_parquet(**args, path=tmp_path, semantics="epoch")
    isw.sweep_to_parquet(**args, path=tmp_path, semantics="epoch", overwrite=True)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), isw.sweep(**args, semantics="epoch"))


# ---------------------------------------------------------------- errors before any file


@pytest.mark.parametrize(("extra", "match"), [
    ({"tp": 3}, "tp"),                                   # no layout of 8 GPUs has tp=3
    ({"columns": ["two_d_tp"]}, "epoch's only"),
    ({"columns": ["nope"]}, "unknown columns"),
    ({"columns": []}, "asks for no column"),
    ({"use_pp": True}, "use_pp.*semantics='epoch'"),
    ({"spec_dec": isw.SpecDec("Llama-3-8B", 0.7)}, "spec_dec.*semantics='epoch'"),
    ({"uncertainty": 0.8}, "uncertainty"),               # no calibrated profile
    ({"n_gpus": [8, 2.5]}, "n_gpus"),
    ({"batch_size": [1, 0]}, "batch_size"),
    ({"grid": "zip", "batch_size": [1, 2], "context_len": [0, 1, 2]}, "zip"),
    ({"semantics": "servng"}, "semantics"),
])
def test_a_bad_grid_is_refused_before_a_file_is_written(tmp_path: Path, extra: dict[str, Any],
                                                        match: str) -> None:
    args = {"model": "Llama-3-70B", "gpu": "H100", "n_gpus": 8, "batch_size": [1, 2], **extra}
    with pytest.raises(GridError, match=match):
        isw.sweep_to_parquet(**args, path=tmp_path / "a")
    with pytest.raises(GridError, match=match):
        isw.sweep_shard(**args, path=tmp_path / "b", shard=0, num_shards=2)
    assert leftovers(tmp_path) == []


def test_a_bad_pin_late_in_a_large_grid_is_refused_before_a_file(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Over PREFLIGHT_ROWS the preflight checks the first row of each (model, gpu) only: a layout
    error later is raised while writing, and the dataset this call created is removed."""
    monkeypatch.setattr(stream_serving, "PREFLIGHT_ROWS", 1)
    with pytest.raises(GridError, match="tp"):
        isw.sweep_to_parquet("Llama-3-70B", "H100", n_gpus=[8, 6], batch_size=[1, 2], tp=8, path=tmp_path,
                             chunk_rows=1)
    assert leftovers(tmp_path) == []


def test_serving_arguments_need_serving(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="'tp' needs semantics='serving'"):
        isw.sweep_to_parquet("Llama-3-70B", path=tmp_path, tp=8, semantics="epoch")
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- interrupted writes


@pytest.mark.parametrize("num_shards", [None, 1], ids=["part-files", "one-streamed-part"])
def test_an_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             num_shards: int | None) -> None:
    """Ctrl-C after some sub-sweeps (parts complete, or a part half sunk) removes the dataset."""
    real = stream_serving.sweep
    calls = [0]
    there: list[str] = []

    def interrupted(*args: Any, **kwargs: Any) -> pl.DataFrame:
        calls[0] += 1
        if calls[0] == 12:
            there.extend(leftovers(tmp_path))
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(stream_serving, "sweep", interrupted)
    monkeypatch.setattr(stream, "EVAL_ROWS", 40)
    with pytest.raises(KeyboardInterrupt):
        isw.sweep_to_parquet(**SEARCHED, path=tmp_path, chunk_rows=100, num_shards=num_shards)
    assert calls[0] == 12
    # When Ctrl-C came, the dataset had its manifest and complete parts, or a part half written.
    assert "_infersweep.json" in there
    assert any(n.endswith(".parquet") for n in there) if num_shards is None else any(
        n.endswith(".tmp") for n in there), there
    assert leftovers(tmp_path) == []


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import infersweep as isw
    print("ready", flush=True)
    isw.sweep_to_parquet("Llama-3-70B", "H100", n_gpus=np.arange(1, 257), batch_size=np.arange(1, 1025),
                         context_len=np.arange(0, 16 * 1024, 1024), path=sys.argv[1], progress=False,
                         columns=["n_gpus", "batch_size", "token_latency_s"], num_threads=1,
                         chunk_rows=1 << 16, semantics="serving")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_killed_mid_dataset_is_refused_and_ctrl_c_removes_a_new_one(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ds)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 120
        while not (ds / part_name(1, 64)).exists():  # two parts done, others to do
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    with pytest.raises(GridError, match=r"incomplete: \d+ of 64 parts are missing"):
        isw.read_sweep(ds)
    manifest = json.loads((ds / "_infersweep.json").read_text())
    assert manifest["rows"] == 256 * 1024 * 16 and manifest["complete"][0][0] == 0
    # A new dataset interrupted by Ctrl-C once it has a part on disk leaves nothing.
    fresh = tmp_path / "fresh"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(fresh)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 120
        while not (fresh / part_name(0, 64)).exists():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        child.send_signal(signal.SIGINT)
        child.wait(20)
    finally:
        child.kill()
        _, err = child.communicate()
    assert "KeyboardInterrupt" in err and child.returncode != 0
    assert leftovers(fresh) == []


# ---------------------------------------------------------------- progress


def test_progress_bar_counts_the_serving_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    isw.sweep_to_parquet(**SEARCHED, path=tmp_path / "a", progress=True, chunk_rows=100)
    err = capsys.readouterr().err
    assert "rows/s" in err and f"{SEARCHED_ROWS:,}/{SEARCHED_ROWS:,} rows" in err
    isw.sweep_to_parquet(**SEARCHED, path=tmp_path / "b", chunk_rows=100)  # not a terminal: no bar
    assert capsys.readouterr().err == ""


def test_num_threads_gives_the_same_rows(tmp_path: Path) -> None:
    isw.sweep_to_parquet(**PINNED, path=tmp_path, num_threads=1, chunk_rows=10)
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), serving(**PINNED, num_threads=2))


# ---------------------------------------------------------------- any small grid


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(models=st.lists(st.sampled_from(["Llama-3-8B", "Mixtral-8x7B", "Llama-3-70B"]), min_size=1, max_size=2,
                       unique=True),
       gpus=st.lists(st.sampled_from(["H100", "A100", "B200"]), min_size=1, max_size=2, unique=True),
       n_gpus=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=3, unique=True),
       batch_size=st.lists(st.integers(1, 512), min_size=1, max_size=3),
       context_len=st.lists(st.sampled_from([0, 1000, 70_000]), min_size=1, max_size=2),
       seq_len=st.lists(st.sampled_from([1, 3]), min_size=1, max_size=2, unique=True),
       pp=st.sampled_from([None, [None, 1], [1]]),
       shards=st.integers(1, 9), chunk_rows=st.sampled_from([1, 5, 1000]))
def test_any_small_grid_streams_the_sweep_s_rows(tmp_path_factory: pytest.TempPathFactory, models: list[str],
                                                 gpus: list[str], n_gpus: list[int], batch_size: list[int],
                                                 context_len: list[int], seq_len: list[int], pp: Any,
                                                 shards: int, chunk_rows: int) -> None:
    args = dict(model=models, gpu=gpus, n_gpus=n_gpus, batch_size=batch_size, context_len=context_len,
                seq_len=seq_len, pp=pp)
    expect = serving(**args)
    path = tmp_path_factory.mktemp("ds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # more shards than rows: clamped
        for i in range(shards):
            isw.sweep_shard(**args, shard=i, num_shards=shards, path=path, chunk_rows=chunk_rows)
    assert_frame_equal(isw.read_sweep(path).collect(), expect)


# ---------------------------------------------------------------- infersweep sweep --dataset


def test_the_cli_streams_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infersweep import cli

    argv = ["sweep", "-m", "Llama-3-8B", "Mixtral-8x7B", "-g", "H100", "A100", "-n", "1", "2", "8",
            "-b", "1", "64", "--context", "0", "8000"]
    assert cli.main([*argv, "--dataset", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "48 rows in 1 part file" in out and "serving semantics (the default" in out
    grid = dict(model=["Llama-3-8B", "Mixtral-8x7B"], gpu=["H100", "A100"], n_gpus=[1, 2, 8],
                batch_size=[1, 64], context_len=[0, 8000])
    assert_frame_equal(isw.read_sweep(tmp_path / "s").collect(), serving(**grid))
    assert cli.main([*argv, "--semantics", "epoch", "--pp", "--dataset", str(tmp_path / "e"),
                     "--progress"]) == 0
    assert "48/48 rows" in capsys.readouterr().err
    assert_frame_equal(isw.read_sweep(tmp_path / "e").collect(),
                       isw.sweep(**grid, use_pp=[True], semantics="epoch"))
    assert cli.main([*argv, "--dataset", str(tmp_path / "m"), "--max-rows", "10"]) == 2
    assert "--max-rows does not apply to --dataset" in capsys.readouterr().err
    assert cli.main([*argv, "--dataset", str(tmp_path / "x"), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and not (tmp_path / "x").exists()
