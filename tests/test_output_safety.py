"""No lost or partial output: files appear whole or not at all, whatever happens while they are written.

Every file infersweep writes goes to a locked temporary name in the same folder and is renamed
when complete (infersweep._atomic). These tests kill writers (kill -9, Ctrl-C), make writes fail
(a file-size limit, /dev/full, an unwritable folder) and check that no partial file is ever
readable as a result: there is no file at the final name (or the previous one is intact), or
``read_sweep`` refuses the incomplete dataset.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import infersweep as isw
from infersweep import _atomic
from infersweep.cli.output import write_data
from infersweep.dataset import part_name
from infersweep.errors import GridError
from infersweep.plot import plot_frontiers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals, rlimits, /dev/full")

READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "parquet": pl.read_parquet, "csv": pl.read_csv, "json": pl.read_json,
}
#: 262,144 rows: a sweep of 0.6 s whose file takes a second or more to write (the window to hit).
BIG = ["-m", "Llama-3-70B", "-n", *map(str, range(1, 129)), "-b", *map(str, range(1, 257)),
       "--context", "0", "1000", "2000", "4000", "8000", "16000", "32000", "64000", "--no-progress"]
#: 4,096 rows: a JSON file of about 3 MB, a CSV of 1.3 MB, a Parquet file of 250 kB.
SMALL = ["-m", "Llama-3-70B", "-n", *map(str, range(1, 65)), "-b", *map(str, range(1, 65))]


def cli(*args: str, limit_bytes: int | None = None, **kw: object) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.Popen([sys.executable, "-m", "infersweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit, **kw)  # type: ignore[call-overload]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def wait_for_temp(folder: Path, child: subprocess.Popen[str], min_bytes: int = 1) -> str:
    """Wait until the child's temporary file exists and holds data: it is mid-write."""
    deadline = time.monotonic() + 60
    while True:
        for name in os.listdir(folder):
            if name.endswith(".tmp"):
                try:
                    if os.path.getsize(folder / name) >= min_bytes:
                        return name
                except FileNotFoundError:
                    pass
        assert child.poll() is None, f"the command ended before its write was caught: {child.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.002)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------- the CLI, killed mid-write


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_cli_killed_mid_write_leaves_the_previous_file_or_none(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"x.{ext}"
    old = pl.DataFrame({"previous": [1, 2, 3]})
    write_data(old, out)
    before = out.read_bytes()
    child = cli("sweep", "--semantics", "epoch", *BIG, "--out", str(out))
    try:
        tmp = wait_for_temp(tmp_path, child, min_bytes=4096)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert out.read_bytes() == before, "the file at the final name is the previous one, untouched"
    assert_frame_equal(READERS[ext](out), old)
    assert tmp in names(tmp_path), "the killed writer's temporary file is all it left"
    # The next write of that path removes the stale temporary file (no live writer holds it).
    p = subprocess.run([sys.executable, "-m", "infersweep", "sweep",
                        "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "16",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert names(tmp_path) == [out.name]
    assert READERS[ext](out).height == 2


def test_cli_killed_mid_write_of_a_new_file_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "new.csv"
    child = cli("sweep", "--semantics", "epoch", *BIG, "--out", str(out))
    try:
        wait_for_temp(tmp_path, child, min_bytes=4096)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    assert not out.exists()
    assert all(name.endswith(".tmp") for name in names(tmp_path))


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_ctrl_c_mid_write_prints_one_line_exits_130_and_leaves_nothing(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"x.{ext}"
    child = cli("sweep", "--semantics", "epoch", *BIG, "--out", str(out))
    try:
        wait_for_temp(tmp_path, child)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert one_line(err) == "infersweep: interrupted"
    assert names(tmp_path) == []


# ---------------------------------------------------------------- write failures: exit 1, one line


@pytest.mark.parametrize("ext", ["parquet", "csv", "json"])
def test_a_file_size_limit_exits_1_and_keeps_the_previous_file(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"r.{ext}"
    old = pl.DataFrame({"previous": [1.5]})
    write_data(old, out)
    child = cli("sweep", "--semantics", "epoch", *SMALL, "--out", str(out), limit_bytes=64 * 1024)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 1, err
    assert one_line(err) == f"infersweep: error: cannot write {out}: File too large"
    assert names(tmp_path) == [out.name]
    assert_frame_equal(READERS[ext](out), old)


@pytest.mark.parametrize("ext", ["parquet", "csv", "json"])
def test_a_full_disk_exits_1(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"full.{ext}"
    out.symlink_to("/dev/full")  # a device is written in place: every write fails with ENOSPC
    child = cli("sweep", "--semantics", "epoch", *SMALL, "--out", str(out))
    _, err = child.communicate(timeout=120)
    assert child.returncode == 1, err
    assert one_line(err) == f"infersweep: error: cannot write {out}: No space left on device"
    assert names(tmp_path) == [out.name] and out.is_symlink()


def test_frontier_data_under_a_size_limit_exits_1_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    child = cli("frontier", "--semantics", "epoch", "-m", "Llama-3-70B", "--resolution", "24", "--data",
                str(out), limit_bytes=2048)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 1, err
    assert one_line(err) == f"infersweep: error: cannot write {out}: File too large"
    assert names(tmp_path) == []


def test_an_unwritable_folder_fails_before_the_work(tmp_path: Path) -> None:
    # /proc refuses new files even to root (a folder without write permission does not).
    child = cli("sweep", "--semantics", "epoch", *SMALL, "--out", "/proc/r.csv")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 1
    assert one_line(err).startswith("infersweep: error: cannot write /proc/r.csv: ")
    assert "rows" not in out, "refused before computing"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        child = cli("sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "--out", str(folder / "r.parquet"))
        _, err = child.communicate(timeout=120)
        assert child.returncode == 1
        assert "Permission denied" in one_line(err)
        assert names(folder) == []
    finally:
        folder.chmod(0o700)


def test_write_data_failure_mid_write_removes_the_temporary_file(tmp_path: Path) -> None:
    """In process: polars swallows some write errors (write_json past a size limit); ours does not."""
    code = textwrap.dedent("""
        import resource, sys
        from pathlib import Path
        import polars as pl, numpy as np
        from infersweep.cli.output import write_data
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))
        df = pl.DataFrame({"x": np.arange(100_000)})
        for ext in ("parquet", "csv", "json"):
            try:
                write_data(df, Path(sys.argv[1]) / f"w.{ext}")
            except OSError as e:
                print(type(e).__name__, e.errno, e.filename)
    """)
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                       timeout=60)
    assert p.stdout.splitlines() == [f"OSError 27 {tmp_path / f'w.{ext}'}" for ext in READERS], p.stderr
    assert names(tmp_path) == []


def test_plots_are_written_atomically(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    front = isw.frontier("Llama-3-70B", "H100", resolution=16, semantics="epoch")
    out = tmp_path / "f.svg"
    out.symlink_to("/dev/full")
    with pytest.raises(OSError, match="No space left"):
        plot_frontiers({"a": front}, out)
    out.unlink()
    plot_frontiers({"a": front}, out)
    assert names(tmp_path) == ["f.svg"] and out.read_text().startswith("<?xml")


# ---------------------------------------------------------------- stale temporaries go, live ones stay


def test_stale_temporaries_go_and_live_ones_stay(tmp_path: Path) -> None:
    final = tmp_path / "t.csv"
    stale = tmp_path / "t.csv.0123456789ab.tmp"
    live = tmp_path / "t.csv.ba9876543210.tmp"
    other = tmp_path / "u.csv.0123456789ab.tmp"  # another file's temporary: not ours to judge
    for p in (stale, live, other):
        p.write_text("partial")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer still at work
    try:
        write_data(pl.DataFrame({"a": [1]}), final)
        assert names(tmp_path) == ["t.csv", live.name, other.name]
    finally:
        os.close(fd)
    write_data(pl.DataFrame({"a": [2]}), final)  # its writer is gone now
    assert names(tmp_path) == ["t.csv", other.name]
    assert pl.read_csv(final)["a"].to_list() == [2]


def test_a_replaced_file_keeps_its_permissions_and_links_stay_links(tmp_path: Path) -> None:
    final = tmp_path / "p.parquet"
    write_data(pl.DataFrame({"a": [1]}), final)
    final.chmod(0o640)
    link = tmp_path / "link.parquet"
    link.symlink_to(final)
    write_data(pl.DataFrame({"a": [2]}), link)
    assert link.is_symlink() and os.stat(final).st_mode & 0o777 == 0o640
    assert pl.read_parquet(final)["a"].to_list() == [2]
    assert names(tmp_path) == ["link.parquet", "p.parquet"]


def test_write_failure_in_process_raises_oserror_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(OSError) as e:
        _atomic.write_atomically("/proc/nope.json", lambda f: f.write(b"{}"))
    assert e.value.filename == "/proc/nope.json"

    def broken(f: object) -> None:
        raise RuntimeError("serialiser bug")

    with pytest.raises(RuntimeError, match="serialiser bug"):
        _atomic.write_atomically(tmp_path / "x.bin", broken)
    assert names(tmp_path) == []


# ---------------------------------------------------------------- sweep_to_parquet, killed mid-dataset

DATASET_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import infersweep as isw
    isw.sweep_to_parquet("Llama-3-70B", "H100", n_gpus=np.arange(1, 257), batch_size=np.arange(1, 1025),
                         path=sys.argv[1], columns=["n_gpus", "batch_size", "token_latency_s"],
                         chunk_rows=4096, num_threads=1, progress=False, semantics="epoch")
""")
DATASET_ARGS = dict(model="Llama-3-70B", gpu="H100", n_gpus=np.arange(1, 257), batch_size=np.arange(1, 1025),
                    columns=["n_gpus", "batch_size", "token_latency_s"], chunk_rows=4096)


def test_sweep_to_parquet_killed_mid_dataset_is_refused_then_resumed(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    child = subprocess.Popen([sys.executable, "-c", DATASET_CHILD, str(ds)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (ds / "part-00002-of-00064.parquet").exists():  # three parts done, others to do
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    done = [n for n in names(ds) if n.startswith("part-") and n.endswith(".parquet")]
    assert 3 <= len(done) < 64
    with pytest.raises(GridError, match=r"incomplete: \d+ of 64 parts are missing \(parts \d+-63\)"):
        isw.read_sweep(ds)
    # Rerun: the parts the manifest lists as complete are kept (not recomputed), the rest computed
    # (a part renamed but not yet recorded when the kill came is recomputed).
    manifest = json.loads((ds / "_infersweep.json").read_text())
    assert manifest["num_shards"] == 64 and manifest["complete"][0][0] == 0
    complete = [part_name(i, 64) for a, b in manifest["complete"] for i in range(a, b)]
    assert len(complete) >= 2 and set(complete) <= set(done)
    stamps = {n: os.stat(ds / n).st_mtime_ns for n in complete}
    paths = isw.sweep_to_parquet(**DATASET_ARGS, path=ds, semantics="epoch")  # type: ignore[arg-type]
    assert len(paths) == 64
    assert all(os.stat(ds / n).st_mtime_ns == t for n, t in stamps.items())
    assert not [n for n in names(ds) if n.endswith(".tmp")], "the killed run's temporary file is removed"
    expect = isw.sweep(**{k: v for k, v in DATASET_ARGS.items() if k != "chunk_rows"}, semantics="epoch")  # type: ignore[arg-type]
    assert_frame_equal(isw.read_sweep(ds).collect(), expect)


def test_two_writers_of_one_dataset_do_not_collide(tmp_path: Path) -> None:
    args = dict(model="Llama-3-70B", n_gpus=np.arange(1, 65), batch_size=np.arange(1, 65),
                columns=["n_gpus", "token_latency_s"], chunk_rows=256, path=tmp_path)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            isw.sweep_to_parquet(**args, semantics="epoch")  # type: ignore[arg-type]
        except BaseException as e:
            errors.append(e)

    writers = [threading.Thread(target=write) for _ in range(3)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert errors == []
    assert not [n for n in names(tmp_path) if n.endswith(".tmp")]
    assert_frame_equal(isw.read_sweep(tmp_path).collect(),
                       isw.sweep("Llama-3-70B", n_gpus=np.arange(1, 65), batch_size=np.arange(1, 65),
                                 columns=["n_gpus", "token_latency_s"], semantics="epoch"))


def test_a_dataset_write_failure_is_an_oserror_and_leaves_nothing(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import resource, sys
        import numpy as np
        import infersweep as isw
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        for chunk_rows in (1 << 19, 1000):  # one part in memory, then one streamed
            try:
                isw.sweep_to_parquet("Llama-3-70B", n_gpus=np.arange(1, 65), batch_size=np.arange(1, 65),
                                     path=sys.argv[1], num_shards=1, chunk_rows=chunk_rows,
                                     semantics="epoch")
            except OSError as e:
                print(type(e).__name__, e.errno)
    """)
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ds")], capture_output=True, text=True,
                       timeout=120)
    assert p.stdout.split() == ["OSError", "27", "OSError", "27"], p.stderr
    assert names(tmp_path / "ds") == []
