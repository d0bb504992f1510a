"""The ``infersweep`` command line.

    infersweep frontier --model Llama-3-70B --gpu H100 --out frontier.png
    infersweep sweep --model Llama-3-70B --n-gpus 8 16 32 --batch-size 1 4 16 --out results.parquet
    infersweep explain --model Llama-3-70B --gpu H100 --n-gpus 8 --batch-size 64
    infersweep sweep --model path/to/config.json --n-gpus 8 --batch-size 1 64   # a Hugging Face config
    infersweep models | gpus
    infersweep demo --quick

Exit status: 0 on success, 2 for a usage error or bad input (an unknown name, an invalid
value), 1 when the work itself fails (an output file that cannot be written, matplotlib
missing for a plot). Errors are one line on stderr, never a traceback.

One module per subcommand (frontier, sweep, catalog for models and gpus, explain, demo), with
the argument types in ``args``, tables and files in ``output`` and the parser in ``parser``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import InfersweepError
from ..plot import PlotDependencyError
from .args import PROG, UsageError, catalog_hint, number, spec_dec
from .parser import build_parser

__all__ = ["UsageError", "build_parser", "main", "number", "spec_dec"]


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _os_message(e: OSError) -> str:
    if e.filename:
        return f"cannot write {e.filename}: {e.strerror or e}"
    return str(e)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version or a usage error (already printed)
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except (InfersweepError, UsageError) as e:
        _error(catalog_hint(str(e)))
        return 2
    except PlotDependencyError as e:
        _error(str(e))
        return 1
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `infersweep models | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        _error(_os_message(e))
        return 1
    except ValueError as e:
        _error(str(e))
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
