"""Argument types of the command line: numbers with suffixes, catalog names, drafters, paths."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..catalog import gpu as lookup_gpu
from ..catalog import model as lookup_model
from ..errors import InfersweepError
from ..plot import FORMATS as PLOT_FORMATS
from ..specs import SpecDec

PROG = "infersweep"
DATA_FORMATS = (".parquet", ".csv", ".json")
_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


class UsageError(Exception):
    """Bad input found after parsing: reported like an argparse error (exit 2)."""



def number(text: str) -> float:
    """A real number; accepts 1e4, 100k, 2M, 1_000 and inf."""
    t = text.strip().replace("_", "")
    mult = 1.0
    if t and t[-1] in _SUFFIXES:
        mult, t = _SUFFIXES[t[-1]], t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(v):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return v


def positive_int(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text[:40]!r}") from None
        if v < minimum or (maximum is not None and v > maximum):
            rule = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rule}, got {text[:40]}")
        return v

    parse.__name__ = "integer"
    return parse


def catalog_hint(message: str) -> str:
    return message.replace("infersweep.catalog_models()", f"`{PROG} models`").replace(
        "infersweep.catalog_gpus()", f"`{PROG} gpus`"
    )


def model_name(text: str) -> str:
    """A catalog model name, returned canonical; unknown names list close matches."""
    try:
        return lookup_model(text).name
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(catalog_hint(str(e))) from None


def gpu_name(text: str) -> str:
    try:
        return lookup_gpu(text).name
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(catalog_hint(str(e))) from None


def spec_dec(text: str) -> SpecDec | None:
    """``DRAFTER:ACCEPTANCE[:GAMMA_MAX]`` (e.g. ``Llama-3-8B-MQA:0.8:5``), or ``none``."""
    if text.strip().lower() in ("none", "off", "no", "-"):
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise argparse.ArgumentTypeError(
            f"expected DRAFTER:ACCEPTANCE[:GAMMA_MAX] (e.g. Llama-3-8B-MQA:0.8:5) or 'none', got {text!r}"
        )
    try:
        alpha = float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"acceptance must be a number in [0, 1), got {parts[1]!r}") from None
    gamma = 5
    if len(parts) == 3:
        try:
            gamma = int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(f"gamma_max must be an integer >= 2, got {parts[2]!r}") from None
    try:
        return SpecDec(parts[0], alpha, gamma)
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(catalog_hint(str(e))) from None


def boolean(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "on", "1"):
        return True
    if t in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _path_with(formats: Sequence[str], what: str) -> Callable[[str], Path]:
    def parse(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in formats:
            raise argparse.ArgumentTypeError(
                f"{what} file {text!r}: the extension must be one of {', '.join(formats)}"
            )
        return p

    parse.__name__ = f"{what} path"
    return parse


plot_path = _path_with(PLOT_FORMATS, "plot")
data_path = _path_with(DATA_FORMATS, "data")
