"""Sweeps larger than memory: Parquet datasets, shards, Ctrl-C, progress, threads, the GIL, Ray."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import infersweep as isw
from infersweep.dataset import part_name
from infersweep.errors import GridError
from infersweep.sweep import plan

#: A grid with every kind of column: two models, two GPUs, speculative decoding, pipeline
#: parallelism, contexts that do not fit (infeasible rows): 1,440 rows.
GRID = dict(
    model=["Llama-3-8B", "Llama-3-70B"],
    gpu=["H100", "A100"],
    n_gpus=[1, 2, 8, 32, 64],
    batch_size=[1, 4, 16, 64, 256, 1024],
    context_len=[0, 8192, 131072],
    use_pp=[False, True],
    spec_dec=[None, isw.SpecDec("Llama-3-8B", 0.7)],
)
ROWS = 2 * 2 * 5 * 6 * 3 * 2 * 2
SOME = ["model", "n_gpus", "batch_size", "token_latency_s"]


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    df = isw.sweep(**GRID, semantics="epoch")
    assert len(df) == ROWS
    return df


def read(path: Path | str) -> pl.DataFrame:
    """A dataset as pl.scan_parquet reads it, part files in name (= row) order."""
    return pl.scan_parquet(f"{path}/*.parquet").collect()


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


#: What a dataset directory holds besides its parts: the manifest and its lock file.
DATASET = ["_infersweep.json", "_infersweep.lock"]


def parts(path: Path) -> list[str]:
    return [name for name in leftovers(path) if name.startswith("part-")]


# ---------------------------------------------------------------- datasets


def test_round_trip_equals_sweep_row_for_row(tmp_path: Path, reference: pl.DataFrame) -> None:
    paths = isw.sweep_to_parquet(**GRID, path=tmp_path / "ds", chunk_rows=250, semantics="epoch")
    assert [Path(p).name for p in paths] == [f"part-{i:05d}-of-00006.parquet" for i in range(6)]
    assert paths == sorted(paths) and all(os.path.isabs(p) for p in paths)
    assert leftovers(tmp_path / "ds") == DATASET + [Path(p).name for p in paths]
    assert max(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths) <= 250
    assert_frame_equal(read(tmp_path / "ds"), reference)
    assert_frame_equal(isw.read_sweep(tmp_path / "ds").collect(), reference)
    assert_frame_equal(pl.concat([pl.read_parquet(p) for p in paths]), reference)


def test_columns_keeps_only_those(tmp_path: Path, reference: pl.DataFrame) -> None:
    isw.sweep_to_parquet(**GRID, path=tmp_path, columns=SOME, chunk_rows=1000, semantics="epoch")
    got = read(tmp_path)
    assert got.columns == SOME
    assert_frame_equal(got, reference.select(SOME))


def test_parts_larger_than_chunk_rows_stream(tmp_path: Path, reference: pl.DataFrame) -> None:
    # One part of 1,440 rows with 100 rows held at a time: written by the streaming sink.
    paths = isw.sweep_to_parquet(**GRID, path=tmp_path, num_shards=1, chunk_rows=100, semantics="epoch")
    assert len(paths) == 1
    assert_frame_equal(read(tmp_path), reference)


def test_zip_grid(tmp_path: Path) -> None:
    args = dict(model="Llama-3-70B", gpu="H100", n_gpus=[8, 16, 32], batch_size=[1, 64, 256], grid="zip")
    isw.sweep_to_parquet(**args, path=tmp_path, chunk_rows=2, semantics="epoch")
    assert_frame_equal(read(tmp_path), isw.sweep(**args, semantics="epoch"))


def test_overwrite_replaces_an_earlier_dataset(tmp_path: Path, reference: pl.DataFrame) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    isw.sweep_to_parquet(**GRID, path=tmp_path, chunk_rows=150, semantics="epoch")  # 10 parts
    with pytest.raises(GridError, match=r"holds another dataset .*num_shards \(10 there, 3 here\)"):
        isw.sweep_to_parquet(**GRID, path=tmp_path, chunk_rows=500, semantics="epoch")  # 3 parts
    assert len(parts(tmp_path)) == 10, "a refused call touches nothing"
    isw.sweep_to_parquet(**GRID, path=tmp_path, chunk_rows=500, overwrite=True,
                         semantics="epoch")  # the other 7 must go
    three = [f"part-{i:05d}-of-00003.parquet" for i in range(3)]
    assert leftovers(tmp_path) == [*DATASET, "notes.txt", *three]
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), reference)


def test_bad_arguments_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="unknown columns"):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "a", columns=["model", "latency"], semantics="epoch")
    with pytest.raises(GridError, match="backend"):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "b", backend="dask", semantics="epoch")
    with pytest.raises(GridError, match="chunk_rows"):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "c", chunk_rows=0, semantics="epoch")
    with pytest.raises(GridError, match="shard"):
        isw.sweep_shard(**GRID, path=tmp_path / "d", shard=3, num_shards=3, semantics="epoch")
    with pytest.raises(GridError, match="compression"):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "e", compression="zip", semantics="epoch")  # type: ignore[arg-type]
    assert leftovers(tmp_path) == []
    # ... nor do they touch an existing dataset.
    paths = isw.sweep_to_parquet(**GRID, path=tmp_path / "f", columns=SOME, semantics="epoch")
    with pytest.raises(GridError):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "f", columns=["nope"], semantics="epoch")
    assert [str(tmp_path / "f" / p) for p in parts(tmp_path / "f")] == paths


# ---------------------------------------------------------------- shards


@pytest.mark.parametrize("num_shards", [1, 3, 7])
def test_shards_union_is_the_whole_sweep(tmp_path: Path, reference: pl.DataFrame, num_shards: int) -> None:
    # Written in a scrambled order, as independent array jobs would.
    order = list(reversed(range(num_shards)))
    paths = {i: isw.sweep_shard(**GRID, shard=i, num_shards=num_shards, path=tmp_path,
                                semantics="epoch") for i in order}
    rows = [pl.scan_parquet(paths[i]).select(pl.len()).collect().item() for i in range(num_shards)]
    assert rows == [(i + 1) * ROWS // num_shards - i * ROWS // num_shards for i in range(num_shards)]
    assert_frame_equal(read(tmp_path), reference)


def test_more_shards_than_rows_are_clamped_with_a_warning(tmp_path: Path) -> None:
    args = dict(model="Llama-3-70B", n_gpus=[8, 16, 32], columns=SOME)  # 3 rows
    got = []
    for i in range(300):
        with pytest.warns(UserWarning, match=r"num_shards=300 is more than the grid's 3 rows"):
            got.append(isw.sweep_shard(**args, shard=i, num_shards=300, path=tmp_path / "shards",
                                       semantics="epoch"))
    assert got[3:] == [None] * 297, "shards past the rows have nothing to do"
    assert [Path(p).name for p in got[:3]] == [f"part-{i:05d}-of-00003.parquet" for i in range(3)]
    assert leftovers(tmp_path / "shards") == DATASET + [f"part-{i:05d}-of-00003.parquet" for i in range(3)]
    assert_frame_equal(isw.read_sweep(tmp_path / "shards").collect(), isw.sweep(**args, semantics="epoch"))
    with pytest.warns(UserWarning, match=r"num_shards=3,000 .* has 3 parts"):
        paths = isw.sweep_to_parquet(**args, num_shards=3000, path=tmp_path / "whole", semantics="epoch")
    assert len(paths) == 3 and parts(tmp_path / "whole") == [Path(p).name for p in paths]
    assert_frame_equal(isw.read_sweep(tmp_path / "whole").collect(), isw.sweep(**args, semantics="epoch"))


def test_shard_rerun_is_idempotent(tmp_path: Path, reference: pl.DataFrame) -> None:
    path = isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, semantics="epoch")
    first = Path(path).read_bytes()
    stamp = os.stat(path).st_mtime_ns
    time.sleep(0.01)
    assert isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, semantics="epoch") == path
    assert os.stat(path).st_mtime_ns == stamp, "a complete shard is kept, not recomputed"
    isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, overwrite=True, semantics="epoch")
    assert Path(path).read_bytes() == first, "recomputing gives the same bytes"
    # A file that is not this shard of this grid is recomputed: truncated, or another grid's.
    Path(path).write_bytes(first[: len(first) // 2])
    isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, semantics="epoch")
    assert Path(path).read_bytes() == first
    other = {**GRID, "batch_size": [1, 4, 16, 64, 256, 512]}
    differs = r"another dataset .*batch_size .*\"max\": 1024.0.* there, .*512.0.* here"
    with pytest.raises(GridError, match=differs):
        isw.sweep_shard(**other, shard=1, num_shards=3, path=tmp_path, semantics="epoch")
    assert Path(path).read_bytes() == first
    isw.sweep_shard(**other, shard=1, num_shards=3, path=tmp_path, overwrite=True, semantics="epoch")
    assert Path(path).read_bytes() != first
    isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, overwrite=True, semantics="epoch")
    assert Path(path).read_bytes() == first
    assert leftovers(tmp_path) == [*DATASET, Path(path).name]
    lo, hi = ROWS // 3, 2 * ROWS // 3
    assert_frame_equal(pl.read_parquet(path), reference.slice(lo, hi - lo))


# ---------------------------------------------------------------- manifest, names, refusals, read_sweep


def test_the_manifest_describes_the_dataset(tmp_path: Path) -> None:
    paths = isw.sweep_to_parquet(**GRID, path=tmp_path, columns=SOME, chunk_rows=500, semantics="epoch")
    m = json.loads((tmp_path / "_infersweep.json").read_text())
    assert (m["format"], m["format_version"]) == ("infersweep-dataset", 1)
    assert (m["rows"], m["num_shards"], m["requested_num_shards"]) == (ROWS, 3, 3)
    assert m["complete"] == [[0, 3]]
    assert m["parts"].format(index=2) == Path(paths[2]).name == "part-00002-of-00003.parquet"
    assert len(m["fingerprint"]) == 64 and int(m["fingerprint"], 16) >= 0
    g = m["grid"]
    assert g["models"] == ["Llama-3-8B", "Llama-3-70B"] and g["gpus"] == ["H100", "A100"]
    assert g["n_gpus"] == {"count": 5, "min": 1.0, "max": 64.0}
    assert g["columns"] == SOME and g["grid"] == "product" and g["infersweep"] == isw.__version__
    assert g["spec_dec"] == [None, "Llama-3-8B acceptance=0.7 gamma_max=5"]


def test_part_names_are_padded_to_the_shard_count(tmp_path: Path) -> None:
    assert part_name(7, 99_999) == "part-00007-of-99999.parquet"
    assert part_name(7, 100_000) == "part-000007-of-100000.parquet"
    assert part_name(123_456, 1_000_000) == "part-0123456-of-1000000.parquet"
    for n in (10, 99_999, 100_000, 1_234_567):
        sample = sorted({0, 1, 9, 10, 99, 9_999, 99_998, 99_999, n - 1} & set(range(n)))
        assert sorted(part_name(i, n) for i in sample) == [part_name(i, n) for i in sample]
    # A real shard of a 100,000-shard dataset (one row each).
    args = dict(model="Llama-3-70B", n_gpus=np.arange(1, 101), batch_size=np.arange(1, 1001), columns=SOME)
    path = isw.sweep_shard(**args, shard=99_999, num_shards=100_000, path=tmp_path, semantics="epoch")
    assert path is not None and Path(path).name == "part-099999-of-100000.parquet"
    assert_frame_equal(pl.read_parquet(path), isw.sweep(**args, semantics="epoch").tail(1))
    with pytest.raises(GridError, match=r"99,999 of 100,000 parts are missing \(parts 0-99998\)"):
        isw.read_sweep(tmp_path)


def test_read_sweep_refuses_an_incomplete_dataset_and_lists_the_missing_parts(tmp_path: Path,
                                                                             reference: pl.DataFrame) -> None:
    for i in (0, 3, 4, 6):
        isw.sweep_shard(**GRID, shard=i, num_shards=7, path=tmp_path, semantics="epoch")
    with pytest.raises(GridError, match=r"incomplete: 3 of 7 parts are missing \(parts 1-2, 5\)"):
        isw.read_sweep(tmp_path)
    for i in (1, 2, 5):
        isw.sweep_shard(**GRID, shard=i, num_shards=7, path=tmp_path, semantics="epoch")
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), reference)
    os.remove(tmp_path / "part-00004-of-00007.parquet")  # listed complete, but gone
    with pytest.raises(GridError, match=r"1 of 7 parts are missing \(parts 4\)"):
        isw.read_sweep(tmp_path)
    with pytest.raises(GridError, match="holds no sweep dataset"):
        isw.read_sweep(tmp_path / "..")
    with pytest.raises(GridError, match="is not a directory"):
        isw.read_sweep(tmp_path / "nowhere")
    (tmp_path / "_infersweep.json").write_text("{not json")
    with pytest.raises(GridError, match=r"manifest .* is not readable"):
        isw.read_sweep(tmp_path)


def test_a_glob_of_a_killed_run_would_read_part_of_it_read_sweep_does_not(tmp_path: Path) -> None:
    isw.sweep_to_parquet(**GRID, path=tmp_path, chunk_rows=250, semantics="epoch")
    m = json.loads((tmp_path / "_infersweep.json").read_text())
    m["complete"] = [[0, 2]]  # as a run killed after its first two parts leaves it
    (tmp_path / "_infersweep.json").write_text(json.dumps(m))
    for i in range(2, 6):
        os.remove(tmp_path / f"part-{i:05d}-of-00006.parquet")
    assert 0 < len(read(tmp_path)) < ROWS
    with pytest.raises(GridError, match=r"4 of 6 parts are missing \(parts 2-5\)"):
        isw.read_sweep(tmp_path)


def test_part_files_without_a_manifest_are_refused(tmp_path: Path, reference: pl.DataFrame) -> None:
    (tmp_path / "part-00000-of-00002.parquet").write_bytes(b"an older dataset's part")
    (tmp_path / "keep.parquet").write_bytes(b"not a part file")
    with pytest.raises(GridError, match=r"holds 1 part files but no _infersweep.json"):
        isw.sweep_to_parquet(**GRID, path=tmp_path, semantics="epoch")
    with pytest.raises(GridError, match=r"holds 1 part files but no _infersweep.json"):
        isw.sweep_shard(**GRID, shard=0, num_shards=2, path=tmp_path, semantics="epoch")
    isw.sweep_to_parquet(**GRID, path=tmp_path, overwrite=True, semantics="epoch")
    assert leftovers(tmp_path) == [*DATASET, "keep.parquet", "part-00000-of-00001.parquet"]
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), reference)


def _hold(path: Path) -> int:
    """Open and flock ``path`` as a live writer does; close the fd to let go."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_stale_temporaries_of_the_dataset_are_removed_live_ones_kept(tmp_path: Path) -> None:
    isw.sweep_shard(**GRID, shard=0, num_shards=3, path=tmp_path, columns=SOME, semantics="epoch")
    stale = tmp_path / "part-00001-of-00003.parquet.0123456789ab.tmp"  # a killed shard's 151 MB
    live = tmp_path / "part-00001-of-00003.parquet.ba9876543210.tmp"  # a writer at work
    foreign = tmp_path / "part-00001-of-00004.parquet.0123456789ab.tmp"  # another dataset's
    for p in (stale, live, foreign):
        p.write_bytes(b"partial")
    fd = _hold(live)
    try:
        isw.sweep_shard(**GRID, shard=1, num_shards=3, path=tmp_path, columns=SOME, semantics="epoch")
        assert not stale.exists() and live.exists() and foreign.exists()
        stale.write_bytes(b"partial")  # and sweep_to_parquet, resuming, cleans the whole dataset
        isw.sweep_to_parquet(**GRID, path=tmp_path, columns=SOME, num_shards=3, semantics="epoch")
        assert not stale.exists() and live.exists()
    finally:
        os.close(fd)
    isw.sweep_to_parquet(**GRID, path=tmp_path, columns=SOME, num_shards=3, semantics="epoch")
    assert not live.exists() and foreign.exists()


def test_two_writers_of_one_shard_do_not_collide(tmp_path: Path, reference: pl.DataFrame) -> None:
    errors: list[BaseException] = []

    def write(shard: int) -> None:
        try:
            isw.sweep_shard(**GRID, shard=shard, num_shards=2, path=tmp_path, overwrite=True,
                            semantics="epoch")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i % 2,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert leftovers(tmp_path) == [*DATASET, "part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
    assert_frame_equal(isw.read_sweep(tmp_path).collect(), reference)


# ---------------------------------------------------------------- Ctrl-C

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import infersweep as isw
    print("ready", flush=True)
    isw.sweep_to_parquet("Llama-3-70B", "H100", n_gpus=np.arange(1, 257), batch_size=np.arange(1, 1025),
                         context_len=np.arange(0, 64 * 1024, 1024), path=sys.argv[1], progress=False,
                         num_shards=None if sys.argv[2] == "auto" else int(sys.argv[2]), semantics="epoch")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("num_shards", ["auto", "1"], ids=["part-files", "one-streamed-part"])
def test_ctrl_c_stops_within_a_second_and_leaves_no_files(tmp_path: Path, num_shards: str) -> None:
    """16.8 M rows: 20 s of work, interrupted once this run has files on disk."""
    ds = tmp_path / "ds"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ds), num_shards],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        # Wait until a part is complete (or, for one streamed part, its temporary file exists).
        want = ".parquet" if num_shards == "auto" else ".tmp"
        deadline = time.monotonic() + 60
        while not any(name.endswith(want) for name in leftovers(ds)):
            assert child.poll() is None and time.monotonic() < deadline, leftovers(ds)
            time.sleep(0.01)
        time.sleep(0.3)
        assert child.poll() is None, "the sweep ended before Ctrl-C"
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        child.wait(10)
        took = time.monotonic() - sent
    finally:
        child.kill()
        _, err = child.communicate()
    assert "KeyboardInterrupt" in err
    assert child.returncode != 0
    assert took < 1.0, f"exited {took:.2f} s after Ctrl-C"
    assert leftovers(ds) == []


# ---------------------------------------------------------------- progress, threads, the GIL


def test_progress_bar_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    isw.sweep_to_parquet(**GRID, path=tmp_path / "a", progress=True, chunk_rows=1000, semantics="epoch")
    err = capsys.readouterr().err
    assert "rows/s" in err and "s left" in err and f"{ROWS:,}/{ROWS:,} rows" in err
    isw.sweep_shard(**GRID, path=tmp_path / "b", shard=0, num_shards=2, progress=True, semantics="epoch")
    assert "rows/s" in capsys.readouterr().err


def test_progress_off_by_flag_and_when_not_a_terminal(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert not sys.stderr.isatty()
    isw.sweep_to_parquet(**GRID, path=tmp_path / "a", chunk_rows=1000, semantics="epoch")  # progress=None
    isw.sweep_to_parquet(**GRID, path=tmp_path / "b", progress=False, chunk_rows=1000, semantics="epoch")
    isw.sweep_shard(**GRID, path=tmp_path / "c", shard=0, num_shards=2, semantics="epoch")
    assert capsys.readouterr().err == ""


def test_num_threads_gives_the_same_rows(tmp_path: Path, reference: pl.DataFrame) -> None:
    for n in (1, 2):
        isw.sweep_to_parquet(**GRID, path=tmp_path / str(n), num_threads=n, chunk_rows=700, semantics="epoch")
        assert_frame_equal(read(tmp_path / str(n)), reference)


#: About 0.8 M rows: one call into Rust of about a second on one core.
LONG = dict(model="Llama-3-70B", gpu="H100", n_gpus=np.arange(1, 257), batch_size=np.arange(1, 1025),
            context_len=[0, 4096, 32768])


def long_rows() -> int:
    return plan(LONG["model"], LONG["gpu"], LONG["n_gpus"], LONG["batch_size"], LONG["context_len"],
                1, False, None, "product").rows


def test_num_threads_caps_the_pool() -> None:
    """With num_threads=1 the process uses one core's worth of CPU time, whatever the machine has."""
    rows = long_rows()
    wall, cpu = time.perf_counter(), time.process_time()
    isw.sweep(**LONG, columns=["token_latency_s"], num_threads=1, chunk_rows=rows, semantics="epoch")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert cpu / wall < 1.3, f"{cpu:.2f} s of CPU in {wall:.2f} s"


def test_gil_is_released_during_a_sweep() -> None:
    """While one long call into Rust runs in a thread, this thread is never kept waiting."""
    rows = long_rows()
    took: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        isw.sweep(**LONG, columns=["token_latency_s"], num_threads=1, chunk_rows=rows, semantics="epoch")
        took.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    count, gap = 0, 0.0
    last = time.perf_counter()
    worker.start()
    while worker.is_alive():
        count += 1
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    worker.join()
    assert took and took[0] > 0.2, "the sweep was too short to tell"
    assert count > 10_000
    # The sweep is one call into Rust: holding the GIL would stall this loop for (nearly) all of
    # it. A scheduler on a loaded 2-core machine can pause this thread for a tenth of a second or
    # more on its own, so compare with the call's length rather than a fixed 0.1 s.
    assert gap < took[0] / 2, f"the counter stalled {gap:.3f} s in a {took[0]:.2f} s sweep"


def test_sweep_refuses_a_grid_too_large_for_memory() -> None:
    start = time.perf_counter()
    with pytest.raises(GridError, match=r"sweep_to_parquet") as e:
        isw.sweep("Llama-3-70B", "H100", n_gpus=np.arange(1, 100_001), batch_size=np.arange(1, 100_001),
                  semantics="epoch")
    assert time.perf_counter() - start < 1.0
    assert "10,000,000,000 rows" in str(e.value)


# ---------------------------------------------------------------- Ray


def test_ray_backend_without_ray_says_how_to_install(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"infersweep\[ray\]"):
        isw.sweep_to_parquet(**GRID, path=tmp_path / "ds", backend="ray", semantics="epoch")
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_equals_local(tmp_path: Path, ray_local, reference: pl.DataFrame) -> None:
    local = isw.sweep_to_parquet(**GRID, path=tmp_path / "local", chunk_rows=500, semantics="epoch")
    remote = isw.sweep_to_parquet(**GRID, path=tmp_path / "ray", chunk_rows=500, backend="ray",
                                  semantics="epoch")
    assert [Path(p).name for p in remote] == [Path(p).name for p in local]
    for a, b in zip(local, remote, strict=True):
        assert_frame_equal(pl.read_parquet(a), pl.read_parquet(b))
    assert_frame_equal(read(tmp_path / "ray"), reference)
    cols = isw.sweep_to_parquet(**GRID, path=tmp_path / "cols", columns=SOME, backend="ray", num_shards=3,
                                num_threads=2, semantics="epoch")
    assert len(cols) == 3
    assert_frame_equal(read(tmp_path / "cols"), reference.select(SOME))


def _shard_workers() -> list[int]:
    """Ray workers busy with a shard (Ray titles a worker process after its task)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().startswith(b"ray::_shard_task"):
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray workers through /proc")
def test_ray_retries_a_shard_whose_worker_dies(tmp_path: Path, ray_local) -> None:
    args = dict(LONG, columns=SOME)
    done: dict[str, object] = {}

    def run() -> None:
        try:
            done["paths"] = isw.sweep_to_parquet(**args, path=tmp_path, backend="ray", num_shards=4,
                                                 semantics="epoch")
        except BaseException as e:
            done["error"] = e

    driver = threading.Thread(target=run)
    driver.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and driver.is_alive() and time.monotonic() < deadline:
        busy = _shard_workers()
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.01)
    driver.join()
    assert killed is not None, "no shard was seen running"
    assert "error" not in done, done.get("error")
    assert len(done["paths"]) == 4  # type: ignore[arg-type]
    assert leftovers(tmp_path) == DATASET + [f"part-{i:05d}-of-00004.parquet" for i in range(4)]
    assert_frame_equal(read(tmp_path), isw.sweep(**args, semantics="epoch"))
