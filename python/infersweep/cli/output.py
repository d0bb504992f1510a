"""Plain-text tables and number formats, and the data files the commands write."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from .._atomic import remove, temp_name, write_atomically
from .args import DATA_FORMATS, UsageError


def context_text(x: float) -> str:
    if x >= 1e6 and x % 1e5 == 0:
        return f"{x / 1e6:g}M"
    if x >= 1e3 and x % 100 == 0:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def money(x: float) -> str:
    if not math.isfinite(x):
        return "inf"
    if x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:.2f}"
    return f"${x:#.3g}"


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None, indent: str = "  "
) -> str:
    """A plain fixed-width table; `align` has one 'l' or 'r' per column (default: 'r')."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    align = align or "r" * len(headers)

    def fmt(row: Sequence[str]) -> str:
        out = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return (indent + "  ".join(out)).rstrip()

    rule = indent + "  ".join("─" * w for w in widths)
    return "\n".join([fmt(list(headers)), rule, *(fmt(r) for r in cells)])


def terminal_width() -> int:
    return max(80, shutil.get_terminal_size((160, 24)).columns)


def write_data(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` (the format follows the extension), whole or not at all.

    The file is written under a temporary name in the same folder and renamed when complete
    (see ``infersweep._atomic``): Ctrl-C, ``kill -9``, a full disk or a file-size limit leave
    no file (or the previous one) at ``path``; a failed write raises OSError naming ``path``.
    """
    ext = path.suffix.lower()
    # Enum and Categorical columns become plain strings so that every reader accepts them.
    df = df.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    writers: dict[str, Callable[[Any], object]] = {
        ".parquet": df.write_parquet,
        ".csv": df.write_csv,
        ".json": df.write_json,
    }
    if ext not in writers:  # guarded by data_path
        raise UsageError(
            f"cannot write {str(path)!r}: the extension must be one of {', '.join(DATA_FORMATS)}"
        )
    write_atomically(path, writers[ext])


def check_writable(path: Path) -> None:
    """Fail before the work, not after it, when the output folder cannot take the file."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise FileNotFoundError(2, "no such folder", str(parent))
    if not parent.is_dir():
        raise NotADirectoryError(20, "not a folder", str(parent))
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder", str(path))
    # The file goes to a temporary name in the same folder: try creating one (a read-only or
    # full file system, a folder without write permission) before hours of work.
    probe = temp_name(str(path))
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e
    remove(probe)
