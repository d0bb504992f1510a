"""Fit the shipped runtime profiles to the shipped measurements and write them (never typed by hand):

    python scripts/calibrate_profiles.py            # rewrite python/infersweep/profiles/
    python scripts/calibrate_profiles.py --check    # exit 1 if the shipped files differ

Writes one ``<framework>.toml`` per group with enough points (isw.calibrate's
``min_points``) and ``cross_validation.csv``: every expressible point's decode step predicted by a
profile fitted without its source (leave-one-source-out), which scripts/accuracy_table.py turns
into the README's "serving calibrated" table. Run with infersweep installed (``maturin develop``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

import infersweep as isw

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "python" / "infersweep" / "profiles"
CV_FILE = "cross_validation.csv"

#: What is fitted, and how the points are grouped (docs/calibration.md, "Shipped profiles").
PARAMS = ("step_overhead_s", "graph_kernel_s", "launch_kernel_s", "weight_bandwidth_efficiency",
          "kv_bandwidth_efficiency", "gemm_efficiency")
BY = ("framework",)
MIN_POINTS = 8


def render() -> dict[str, str]:
    """File name → content of everything the script writes."""
    cal = isw.calibrate(isw.measurements(), params=PARAMS, by=BY, min_points=MIN_POINTS)
    files = {f"{name}.toml": p.to_toml() for name, p in cal.profiles.items()}
    cv = cal.cross_validation
    assert cv is not None
    files[CV_FILE] = cv.filter(pl.col("expressible")).select(
        "id", "source_id", pl.col("predicted_step_ms").round(6), "cv_fallback").write_csv()
    return files


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the shipped profiles differ")
    args = p.parse_args()
    files = render()
    shipped = {f.name: f.read_text(encoding="utf-8") for f in OUT.iterdir()
               if f.suffix in (".toml", ".csv")}
    if args.check:
        if shipped != files:
            print("profiles are out of date: run scripts/calibrate_profiles.py", file=sys.stderr)
            return 1
        return 0
    for name in set(shipped) - set(files):
        (OUT / name).unlink()
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    for name, prof in isw.shipped_profiles().items():
        unc = ", ".join(f"{k}={v:.3g} (±{100 * s:.0f}%)" for k, (v, s) in prof.uncertainty().items())
        print(f"{name}: {len(prof.points)} points, fit {prof.fit_median_abs_error_pct:.1f}%, "
              f"cv {prof.cv_median_abs_error_pct}% | {unc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
