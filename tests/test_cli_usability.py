"""The command line as a new user meets it: config files as models, visible defaults, prices and
caps beside every cost, and a demo that leaves the current folder alone."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import infersweep as isw
from infersweep import cli

DATA = Path(__file__).parent / "data" / "hf"
LLAMA_8B = DATA / "llama-3.1-8b.json"


def main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ config files as models


def test_sweep_takes_a_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(capsys, "sweep",
                          "--semantics", "epoch", "-m", str(LLAMA_8B), "Llama-3-8B", "-n", "1", "-b", "1")
    assert code == 0, err  # was: "unknown model"
    name = isw.from_hf_config(LLAMA_8B).name
    assert name in out and "Llama-3-8B" in out and "2 rows, 2 feasible" in out


def test_frontier_explain_and_drafter_take_config_files(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "my-llama"
    folder.mkdir()
    shutil.copy(LLAMA_8B, folder / "config.json")  # a folder holding a config.json
    code, out, err = main(capsys, "frontier",
                          "--semantics", "epoch", "-m", str(folder), "--resolution", "16", "--rows", "2")
    assert code == 0, err
    assert "frontier points" in out
    code, out, err = main(capsys, "explain",
                          "--semantics", "epoch", "-m", str(LLAMA_8B), "-n", "1", "-b", "8")
    assert code == 0, err
    m = isw.from_hf_config(LLAMA_8B)
    e = isw.explain(m, "H100", n_gpus=1, batch_size=8, semantics="epoch")
    assert out.startswith(f"{m.name} on 1 × H100") and f"{1e6 * e.token_latency_s:,.1f} µs" in out
    code, out, err = main(capsys, "sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "-b", "1",
                          "--spec-dec", f"{LLAMA_8B}:0.8:4")
    assert code == 0, err
    assert m.name in out  # the drafter column


def test_a_missing_or_bad_config_file_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    code, _, err = main(capsys, "sweep", "--semantics", "epoch", "-m", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err and "Traceback" not in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model_type": "llama"}))
    code, _, err = main(capsys, "explain", "--semantics", "epoch", "-m", str(bad), "-n", "8", "-b", "1")
    assert code == 2 and "bad.json" in err
    code, _, err = main(capsys, "sweep",
                        "--semantics", "epoch", "-m", "Llama-9")  # catalog names still list close matches
    assert code == 2 and "unknown model 'Llama-9'" in err


# ------------------------------------------------------------------ defaults a user can see


@pytest.mark.parametrize("command, default, other", [("frontier", "allow pipeline parallelism", "--no-pp"),
                                                     ("sweep", "no pipeline parallelism", "--pp"),
                                                     ("explain", "no pipeline parallelism", "--pp")])
def test_help_says_each_pp_default_and_why(capsys: pytest.CaptureFixture[str], command: str, default: str,
                                           other: str) -> None:
    code, out, _ = main(capsys, command, "--help")
    flat = " ".join(out.split())
    assert code == 0 and f"{default} (the default under epoch:" in flat
    assert re.search(f"defaults? to {other}[ ,;)]", flat)  # and says what the other commands do


def test_sweep_and_explain_print_the_pp_default(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = main(capsys, "sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "-b", "1")
    assert "no pipeline parallelism (the default for sweep" in out
    _, out, _ = main(capsys, "sweep", "--semantics", "epoch", "-m", "Llama-3-70B", "-b", "1", "--pp")
    assert "no pipeline parallelism" not in out
    _, out, _ = main(capsys, "explain", "--semantics", "epoch", "-m", "Llama-3-70B", "-n", "8", "-b", "1")
    assert "no pipeline parallelism (the default; --pp)" in out


# ------------------------------------------------------------------ prices and caps beside costs


def test_costs_come_with_the_gpus_price_and_caps(capsys: pytest.CaptureFixture[str]) -> None:
    h200 = "H200: $2.94/GPU-hour, utilisation caps FLOP 0.6 / memory 0.75 (Epoch's paper entry"
    sxm = "H200-SXM: $2.25/GPU-hour, utilisation caps FLOP 0.7 / memory 0.75 (modern entry"
    _, out, _ = main(capsys, "sweep",
                     "--semantics", "epoch", "-m", "Llama-3-70B", "-g", "H200", "H200-SXM", "-b", "64")
    assert h200 in out and sxm in out
    _, out, _ = main(capsys, "frontier",
                     "--semantics", "epoch", "-m", "Llama-3-70B", "-g", "H200-SXM", "--resolution", "16")
    assert sxm in out
    _, out, _ = main(capsys, "explain",
                     "--semantics", "epoch", "-m", "Llama-3-70B", "-g", "H200", "-n", "8", "-b", "64")
    assert h200 in out


def test_gpus_and_models_tables_say_which_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = main(capsys, "gpus")
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:] if line and line[0] != " "
            and len(line.split()) > 2}
    assert rows["H200"] == "epoch" and rows["H200-SXM"] == "modern"
    assert re.search(r"^H200 +epoch .* 2\.94 +0\.6/0\.75 ", out, re.M)
    assert re.search(r"^H200-SXM +modern .* 2\.25 +0\.7/0\.75 ", out, re.M)
    _, out, _ = main(capsys, "models")
    assert re.search(r"^DeepSeek-V3-epoch +epoch ", out, re.M)
    assert re.search(r"^DeepSeek-V3 +modern ", out, re.M)


# ------------------------------------------------------------------ demo


def test_demo_help_gives_the_real_time_and_default_folder(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = main(capsys, "demo", "--help")
    flat = " ".join(out.split())
    assert "about a minute" not in flat and "about 10 s" in flat
    assert "a new temporary folder" in flat


def test_demo_leaves_the_current_folder_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    code, out, err = main(capsys, "demo", "--resolution", "8", "--no-plots")
    assert code == 0, err
    assert os.listdir(here) == []  # was: ./infersweep-demo
    (made,) = (tmp_path / "tmp").iterdir()
    assert made.name.startswith("infersweep-demo-") and (made / "summary.txt").is_file()
    assert f"writing into {made}" in err and f"wrote {made / 'summary.txt'}" in out


def test_demo_summary_names_the_preferred_points_columns(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    code, out, _ = main(capsys, "demo", "--resolution", "8", "--no-plots", "--out-dir", str(tmp_path))
    assert code == 0
    header = next(line for line in out.splitlines() if line.strip().startswith("setting"))
    assert header.split()[:10] == ["setting", "fastest", "$/M", "preferred", "$/M", "pref.", "N", "pref.",
                                   "b", "pref."]
    assert "(c) GPU generations" in out and "H200 ($2.94/h, caps 0.6/0.75)" in out
