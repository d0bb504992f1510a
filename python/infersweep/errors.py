"""Exceptions raised by infersweep.

Every error names what was wrong (the spec, the field and the value) so that a sweep over
thousands of configurations points straight at the bad input. Facts about a configuration (it
does not fit in memory) are never errors: they are data (the ``feasible`` column).
"""

from __future__ import annotations


class InfersweepError(Exception):
    """Base class of every error this library raises on purpose."""


class SpecError(InfersweepError, ValueError):
    """A model, GPU or speculative-decoding spec has an invalid field."""


class GridError(InfersweepError, ValueError):
    """A sweep grid is malformed: a bad value, mismatched lengths, or too many rows."""


class CatalogError(InfersweepError, KeyError):
    """A catalog name is unknown. The message lists the closest known names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(InfersweepError, ValueError):
    """A Hugging Face config.json cannot be turned into a model."""
