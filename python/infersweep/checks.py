"""Argument checks shared by the entry points: numbers, counts, numeric arrays, a safe repr.

Every check raises the caller's error class (``GridError`` by default) with a message naming
the argument (``what``, e.g. ``"frontier: 'resolution'"``) and the value, shown by :func:`show`, which
never raises and never prints more than a line (a deeply nested list, an int of a million
digits or a huge array are shown shortened).
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

import numpy as np

from .errors import GridError, InfersweepError

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 40
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque", "maxarray"):
    setattr(_REPR, _attr, 6)


def show(value: Any) -> str:
    """A short repr of any value, for an error message; never raises."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits} digits"
    try:
        return _REPR.repr(value)
    except Exception:  # a broken __repr__, or one recursing too deep
        return f"<{type(value).__name__}>"


def real(what: str, value: Any, lo: float = -math.inf, hi: float = math.inf, *,
         lo_open: bool = False, exc: type[InfersweepError] = GridError) -> float:
    """``value`` as a float in [lo, hi] (``(lo, hi]`` with ``lo_open``), or ``exc`` naming it.

    Python and numpy real numbers are accepted; bools, strings, complex numbers and anything
    else are refused (in a numeric argument they are mistakes). NaN is never in range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise exc(f"{what} must be a number, got {show(value)}")
    try:
        v = float(value)
    except OverflowError:
        v = math.inf if value > 0 else -math.inf
    inside = (v > lo if lo_open else v >= lo) and v <= hi
    if not inside:
        left = "(" if lo_open else "["
        raise exc(f"{what} must be a number in {left}{lo:g}, {hi:g}], got {show(value)}")
    return v


def integer(what: str, value: Any, lo: int, hi: int, *,
            exc: type[InfersweepError] = GridError) -> int:
    """``value`` as an int in [lo, hi] (bools and floats refused), or ``exc`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise exc(f"{what} must be an integer in [{lo:,}, {hi:,}], got {show(value)}")
    if not lo <= value <= hi:
        raise exc(f"{what} must be an integer in [{lo:,}, {hi:,}], got {show(value)}")
    return int(value)


def real_array(what: str, value: Any, *, exc: type[InfersweepError] = GridError) -> np.ndarray:
    """``value`` (a number, a sequence or an array of real numbers) as a float64 array of its shape.

    Refused, with ``exc`` naming the argument: strings and bools (numpy would read "8" as 8 and
    True as 1), complex numbers (numpy would drop the imaginary part), dates and durations,
    ragged or nested containers, and integers too large for a float.
    """
    if isinstance(value, (str, bytes)):
        raise exc(f"{what} must be numbers, got {show(value)}")
    # numpy would hide a bool or a numeric string in a list ([8, True] → [8, 1]); the set of
    # element types is built in C, so even long lists are checked in a few milliseconds.
    if isinstance(value, (list, tuple)):
        kinds = set(map(type, value))
        real_types = (int, float, np.integer, np.floating)
        if not all(issubclass(k, real_types) and not issubclass(k, (bool, np.bool_)) for k in kinds):
            offender = next(v for v in value if isinstance(v, (bool, np.bool_))
                            or not isinstance(v, (int, float, np.integer, np.floating)))
            raise exc(f"{what} must be numbers, got {show(offender)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        raise exc(f"{what} must be numbers, got {show(value)}") from e
    if raw.dtype.kind == "O":
        items = raw.ravel().tolist()
        bad = [v for v in items if isinstance(v, (bool, np.bool_))
               or not isinstance(v, (int, float, np.integer, np.floating))]
        if bad:
            raise exc(f"{what} must be numbers, got {show(bad[0])}")
    elif raw.dtype.kind not in "iuf":
        kind = {"b": "bools", "c": "complex numbers", "M": "dates", "m": "durations", "U": "strings",
                "S": "bytes", "V": "records"}.get(raw.dtype.kind, f"dtype {raw.dtype}")
        shown = show(raw.ravel()[0]) if raw.size else show(value)
        raise exc(f"{what} must be numbers, got {kind} ({shown})")
    try:
        return np.asarray(raw, dtype=np.float64)
    except OverflowError as e:
        raise exc(f"{what} has an integer too large for a float64") from e
    except (TypeError, ValueError) as e:
        raise exc(f"{what} must be numbers, got {show(value)}") from e
