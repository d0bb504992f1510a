"""A sweep dataset on disk: its part files, its manifest, and reading it back (``read_sweep``).

A dataset is a directory written by ``sweep_to_parquet`` or ``sweep_shard``:

* part files ``part-00000-of-00006.parquet`` ... in row order. The index and the count are
  zero-padded to the same width, at least 5 digits and as many as the count has, so names sort
  in row order at any shard count (``part-000000-of-100000.parquet``). Part ``i`` of ``n``
  holds the grid's rows ``[i * rows // n, (i + 1) * rows // n)``.
* the manifest ``_infersweep.json`` (the leading ``_`` hides it from ``*.parquet`` globs and
  from pyarrow/Spark dataset readers), written atomically whenever a part completes::

      {"format": "infersweep-dataset", "format_version": 1,
       "fingerprint": "<sha256 of the grid, the columns and the infersweep version>",
       "grid": {"infersweep": "0.4.0", "grid": "product", "models": ["Llama-3-70B"], ...,
                "n_gpus": {"count": 256, "min": 1.0, "max": 256.0}, ..., "columns": null},
       "rows": 1048576, "num_shards": 2, "requested_num_shards": 2,
       "parts": "part-{index:05d}-of-00002.parquet",
       "complete": [[0, 2]]}

  A `serving` grid's ``grid`` also has ``"semantics": "serving"``, its ``tp``/``pp``/``ep``/
  ``attention_dp`` values (``"searched"`` for None), ``runtime``, ``precision`` and
  ``uncertainty``; an `epoch` grid's has no ``semantics`` key (as before serving streamed).
  ``complete`` lists the complete parts as half-open ranges of part indices (``[[0, 2]]`` is
  parts 0 and 1), so it stays short at any shard count. ``requested_num_shards`` differs from
  ``num_shards`` when more shards were asked for than the grid has rows.
* ``_infersweep.lock``, an empty file that writers ``flock`` while they update the manifest.

:func:`read_sweep` returns the dataset as a polars LazyFrame only when every part is complete;
a glob (``pl.scan_parquet("dir/*.parquet")``) would also read an unfinished dataset, silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from . import _atomic
from .errors import GridError

MANIFEST = "_infersweep.json"
LOCK = "_infersweep.lock"
FORMAT = "infersweep-dataset"
FORMAT_VERSION = 1
MIN_WIDTH = 5

#: A part file's final name, and the temporary name it is written under.
_PART = re.compile(r"^part-(\d+)-of-(\d+)\.parquet$")
_PART_TMP = re.compile(r"^part-(\d+)-of-(\d+)\.parquet\.[0-9a-f]{12}\.tmp$")


def part_width(num_shards: int) -> int:
    """Digits of a part file's index and count: at least 5, and as many as ``num_shards`` has."""
    return max(MIN_WIDTH, len(str(num_shards)))


def part_name(shard: int, num_shards: int) -> str:
    """The file name of part ``shard`` of ``num_shards``."""
    w = part_width(num_shards)
    return f"part-{shard:0{w}d}-of-{num_shards:0{w}d}.parquet"


def ranges_text(indices: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` as ``"0-2, 5, 7-8"``: missing parts, readably, however many."""
    out: list[str] = []
    start = prev = None
    for i in [*indices, None]:
        if start is not None and (i is None or i != prev + 1):  # type: ignore[operator]
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    if len(out) > 20:
        out = [*out[:20], f"... ({len(out) - 20} more ranges)"]
    return ", ".join(out)


@dataclass
class Manifest:
    """What a dataset directory holds: which grid, cut into how many parts, which are complete."""

    fingerprint: str
    grid: dict[str, Any]
    rows: int
    num_shards: int
    requested_num_shards: int
    complete: list[list[int]] = field(default_factory=list)

    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "grid": self.grid,
            "rows": self.rows,
            "num_shards": self.num_shards,
            "requested_num_shards": self.requested_num_shards,
            "parts": f"part-{{index:0{part_width(self.num_shards)}d}}-of-"
                     f"{self.num_shards:0{part_width(self.num_shards)}d}.parquet",
            "complete": self.complete,
        }
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT:
                raise ValueError(f"format is {doc.get('format')!r}, not {FORMAT!r}")
            if doc.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {doc.get('format_version')!r} is not {FORMAT_VERSION} "
                                 "(written by another infersweep version)")
            m = cls(str(doc["fingerprint"]), dict(doc["grid"]), int(doc["rows"]), int(doc["num_shards"]),
                    int(doc["requested_num_shards"]), [[int(a), int(b)] for a, b in doc["complete"]])
        except (ValueError, KeyError, TypeError) as e:
            raise GridError(f"dataset: the manifest {where} is not readable: {e}") from e
        if m.num_shards < 1:
            raise GridError(f"dataset: the manifest {where} has num_shards {m.num_shards}")
        return m

    def is_complete(self, shard: int) -> bool:
        return any(a <= shard < b for a, b in self.complete)

    def add(self, shard: int) -> None:
        """Mark part ``shard`` complete, keeping ``complete`` sorted and merged."""
        spans = sorted([*self.complete, [shard, shard + 1]])
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.complete = merged

    def missing(self, present: set[str]) -> list[int]:
        """Parts not complete, or whose file is not in ``present`` (the directory's names)."""
        n = self.num_shards
        done = bytearray(n)
        for a, b in self.complete:
            a, b = max(a, 0), min(b, n)
            done[a:b] = b"\x01" * max(0, b - a)
        return [i for i in range(n) if not done[i] or part_name(i, n) not in present]

    def differences(self, new: Manifest) -> str:
        """What differs between this (existing) dataset and ``new``, in words."""

        def short(v: Any) -> str:
            text = json.dumps(v)
            return text if len(text) <= 60 else text[:57] + "..."

        keys = sorted(set(self.grid) | set(new.grid))
        diffs = [f"{k} ({short(self.grid.get(k))} there, {short(new.grid.get(k))} here)"
                 for k in keys if self.grid.get(k) != new.grid.get(k)]
        if not diffs and self.fingerprint != new.fingerprint:
            diffs = ["the specs' fields"]
        if self.num_shards != new.num_shards:
            diffs.append(f"num_shards ({self.num_shards:,} there, {new.num_shards:,} here)")
        return "; ".join(diffs)


def manifest_path(directory: str) -> str:
    return os.path.join(directory, MANIFEST)


def read_manifest(directory: str) -> Manifest | None:
    """The directory's manifest, or None when it has none."""
    where = manifest_path(directory)
    try:
        with open(where, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return Manifest.from_json(text, repr(where))


def write_manifest(directory: str, m: Manifest) -> None:
    _atomic.write_atomically(manifest_path(directory), lambda f: f.write(m.to_json().encode()),
                             helper_thread=False, clean=False)


@contextlib.contextmanager
def locked(directory: str) -> Iterator[None]:
    """Hold the dataset's lock (``_infersweep.lock``, an exclusive flock) while updating the manifest."""
    fd = os.open(os.path.join(directory, LOCK), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _atomic.lock(fd)
        yield
    finally:
        os.close(fd)


def _part_files(directory: str, *, of: int | None = None) -> tuple[list[str], list[str]]:
    """The names of part files in ``directory`` (of ``of`` parts, or any): (final, temporary)."""
    finals: list[str] = []
    temps: list[str] = []
    for name in os.listdir(directory):
        for pattern, out in ((_PART, finals), (_PART_TMP, temps)):
            m = pattern.match(name)
            if m and (of is None or int(m.group(2)) == of):
                out.append(name)
    return finals, temps


def remove_stale_parts(directory: str, num_shards: int) -> None:
    """Remove temporary part files of this shard count that no live writer holds."""
    for name in _part_files(directory, of=num_shards)[1]:
        _atomic.remove_if_stale(os.path.join(directory, name))


def _remove_dataset(directory: str) -> None:
    """Remove every part file (live writers' temporaries excepted) and the manifest."""
    finals, temps = _part_files(directory)
    for name in finals:
        _atomic.remove(os.path.join(directory, name))
    for name in temps:
        _atomic.remove_if_stale(os.path.join(directory, name))
    _atomic.remove(manifest_path(directory))


def open_dataset(directory: str, new: Manifest, *, overwrite: bool) -> bool:
    """Make ``directory`` hold the dataset ``new`` describes; whether its manifest was created.

    The same dataset (grid, columns, version and shard count) is kept as it is: its complete
    parts count. Another dataset, or part files without a manifest, are refused with a
    GridError, or removed when ``overwrite``.
    """
    with locked(directory):
        _atomic.remove_stale(directory, lambda n: _atomic.is_temp_of(n, MANIFEST))
        old = read_manifest(directory)
        if old is not None and old.fingerprint == new.fingerprint and old.num_shards == new.num_shards:
            remove_stale_parts(directory, new.num_shards)
            return False
        if not overwrite:
            if old is not None:
                raise GridError(
                    f"dataset: {directory!r} holds another dataset (it differs in {old.differences(new)}); "
                    "pass overwrite=True to replace it, or write to another directory")
            strays = _part_files(directory)[0]
            if strays:
                raise GridError(
                    f"dataset: {directory!r} holds {len(strays):,} part files but no {MANIFEST} (an "
                    "older infersweep's dataset, or another tool's): pass overwrite=True to replace "
                    "them, or write to another directory")
        _remove_dataset(directory)
        write_manifest(directory, new)
        return True


def mark_complete(directory: str, fingerprint: str, num_shards: int, shard: int) -> None:
    """Record in the manifest that part ``shard`` is complete."""
    with locked(directory):
        m = read_manifest(directory)
        if m is None or m.fingerprint != fingerprint or m.num_shards != num_shards:
            raise GridError(f"dataset: {directory!r} was replaced by another writer while part {shard} "
                            "was being written")
        if not m.is_complete(shard):
            m.add(shard)
            write_manifest(directory, m)


def remove_created(directory: str) -> None:
    """Undo a dataset this call created: its part files, manifest and lock file."""
    _remove_dataset(directory)
    _atomic.remove(os.path.join(directory, LOCK))


def read_sweep(path: str | os.PathLike[str]) -> pl.LazyFrame:
    """A complete sweep dataset (written by ``sweep_to_parquet`` or ``sweep_shard``) as a LazyFrame.

    The rows are those of ``isw.sweep`` with the same arguments, in order. Raises GridError,
    listing the parts that are missing, when the dataset is not complete (a run was killed, or
    some shards have not run yet), and when ``path`` holds no dataset manifest; unlike a glob
    such as ``pl.scan_parquet(f"{path}/*.parquet")``, it never reads part of a dataset.
    """
    directory = os.fspath(path)
    if not os.path.isdir(directory):
        raise GridError(f"read_sweep: {directory!r} is not a directory")
    m = read_manifest(directory)
    if m is None:
        raise GridError(f"read_sweep: {directory!r} holds no sweep dataset: it has no {MANIFEST} "
                        "(write one with isw.sweep_to_parquet or isw.sweep_shard)")
    missing = m.missing(set(os.listdir(directory)))
    if missing:
        raise GridError(
            f"read_sweep: the dataset in {directory!r} is incomplete: {len(missing):,} of "
            f"{m.num_shards:,} parts are missing (parts {ranges_text(missing)}); rerun sweep_shard "
            "for them, or sweep_to_parquet with the same arguments")
    return pl.scan_parquet([os.path.join(directory, part_name(i, m.num_shards)) for i in range(m.num_shards)])
