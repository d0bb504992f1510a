"""Argument types of the command line: numbers with suffixes, catalog names, drafters, paths."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..catalog import gpu as lookup_gpu
from ..catalog import model as lookup_model
from ..errors import InfersweepError
from ..hf_config import from_hf_config
from ..plot import FORMATS as PLOT_FORMATS
from ..serving import Precision
from ..specs import Model, SpecDec

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


#: The fields of --precision (isw.Precision's), in its order.
PRECISION_FIELDS = tuple(Precision.__dataclass_fields__)


def precision(text: str) -> Precision:
    """An isw.Precision from ``FIELD=VALUE[,FIELD=VALUE...]``, e.g. ``attention=fp8,kv_cache=fp8``.

    A value is a format name (``bf16``, ``fp8``, ``nvfp4``, ...) or a number: bytes per element,
    or the FLOP-rate key (4, 8, 16) of a ``*_compute`` field. Fields not given keep their defaults
    (the model's own precision). Errors name the field.
    """
    fields: dict[str, str | float | int] = {}
    for part in text.split(","):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not key or not value:
            raise argparse.ArgumentTypeError(
                f"expected FIELD=VALUE[,FIELD=VALUE...] such as attention=fp8,kv_cache=fp8, got "
                f"{part.strip()!r} (fields: {', '.join(PRECISION_FIELDS)})")
        if key not in PRECISION_FIELDS:
            raise argparse.ArgumentTypeError(f"unknown field {key!r}; fields: {', '.join(PRECISION_FIELDS)}")
        if key in fields:
            raise argparse.ArgumentTypeError(f"field {key!r} is given twice")
        try:
            num = float(value)
        except ValueError:
            fields[key] = value
        else:
            fields[key] = int(num) if key.endswith("_compute") and num.is_integer() else num
    try:
        return Precision(**fields)  # type: ignore[arg-type]
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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
    """A library message in the command line's terms (its catalog commands, its --semantics)."""
    return (message.replace("infersweep.catalog_models()", f"`{PROG} models`")
            .replace("infersweep.catalog_gpus()", f"`{PROG} gpus`")
            .replace("pass semantics='epoch'", "pass --semantics epoch"))


#: What a model argument may be, for --help.
MODEL_HELP = ("a catalog name (see `infersweep models`) or a Hugging Face config.json (the file, or a "
              "folder holding one), loaded faithfully with BF16 weights and activations")


def is_config_path(text: str) -> bool:
    """Whether a model argument names a Hugging Face config rather than a catalog entry: it ends
    in ``.json``, or is an existing file or a folder holding a ``config.json``. Catalog names
    never end in ``.json``; a folder named like an alias (``meta-llama/Llama-3.1-8B``) is read
    only when it holds a config."""
    p = Path(text).expanduser()
    return text.lower().endswith(".json") or p.is_file() or (p.is_dir() and (p / "config.json").is_file())


def model_spec(text: str) -> Model:
    """A model argument: a catalog name (unknown names list close matches) or a Hugging Face
    config file, read by ``from_hf_config`` (faithful, BF16)."""
    try:
        if is_config_path(text):
            return from_hf_config(Path(text).expanduser())
        return lookup_model(text)
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(catalog_hint(str(e))) from None


def gpu_name(text: str) -> str:
    try:
        return lookup_gpu(text).name
    except InfersweepError as e:
        raise argparse.ArgumentTypeError(catalog_hint(str(e))) from None


def _spec_dec_parts(text: str) -> list[str]:
    """DRAFTER, ACCEPTANCE[, GAMMA_MAX], split from the right, so that a drafter given as a path
    may hold a colon."""
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        try:
            float(parts[1])
        except ValueError:  # DRAFTER:ACCEPTANCE with a colon in DRAFTER
            parts = [parts[0] + ":" + parts[1], parts[2]]
    return parts


def spec_dec(text: str) -> SpecDec | None:
    """``DRAFTER:ACCEPTANCE[:GAMMA_MAX]`` (e.g. ``Llama-3-8B-MQA:0.8:5``), or ``none``; DRAFTER is a
    catalog name or a Hugging Face config file, as a model argument."""
    if text.strip().lower() in ("none", "off", "no", "-"):
        return None
    parts = _spec_dec_parts(text)
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
    drafter = model_spec(parts[0])
    try:
        return SpecDec(drafter, alpha, gamma)
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
