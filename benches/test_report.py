"""benches/report.py runs and prints one row per bar (structure only: speed is not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPORT = Path(__file__).with_name("report.py")


def test_report_prints_every_figure_next_to_its_bar() -> None:
    out = subprocess.run([sys.executable, str(REPORT), "--no-cargo", "--rounds", "1"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    table = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| workload")]
    assert [row.split(" | ")[0] for row in table] == [
        "| layout search 400 x 400, PP / no PP",
        "| isw.sweep product grid, 480,000 rows, no PP",
        "| isw.frontier end to end, use_pp=True",
        "| Rust sweep vs reference.py per row, no PP",
        "| Rust sweep vs reference.py per row, PP",
    ]
    assert "skipped (no cargo)" in table[0]
    figure = re.compile(r"(\| [0-9.]+ (M rows/s|s)|= [0-9,]+x) \| (yes|NO) \|$")
    for row in table[1:]:
        assert figure.search(row), row
