"""The ``infersweep`` command line.

    infersweep frontier --model Llama-3-70B --gpu H100 --out frontier.png
    infersweep sweep --model Llama-3-70B --n-gpus 8 16 32 --batch-size 1 4 16 --out results.parquet
    infersweep explain --model Llama-3-70B --gpu H100 --n-gpus 8 --batch-size 64
    infersweep sweep --model path/to/config.json --n-gpus 8 --batch-size 1 64   # a Hugging Face config
    infersweep models | gpus
    infersweep validate --points
    infersweep demo --quick

Exit status: 0 on success, 2 for a usage error or bad input (an unknown name, an invalid
value), 1 when the work itself fails (an output file that cannot be written: a missing or
read-only folder, a full disk, a file-size limit; matplotlib missing for a plot), 130 when
interrupted (Ctrl-C). Errors are one line on stderr, never a traceback. Output files are
written under a temporary name and renamed when complete, so a failed or interrupted command
leaves no file (or the previous one) at the path it was given.

One module per subcommand (frontier, sweep, catalog for models and gpus, explain, demo), with
the argument types in ``args``, tables and files in ``output`` and the parser in ``parser``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
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


def _interrupted() -> None:
    """Report Ctrl-C in one line; a second Ctrl-C meanwhile must not print a traceback."""
    if threading.current_thread() is not threading.main_thread():
        _error("interrupted")
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_now(code: int) -> None:
    """End the process at once, after Ctrl-C stopped the work and every partial file was removed.

    After Ctrl-C reaches a polars write that calls back into Python (our file sink), the
    interpreter's normal shutdown can abort (SIGABRT or SIGBUS, polars 2.1), turning exit
    status 130 into a crash; nothing is left to clean up by then, so skip the shutdown.
    """
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


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
        _interrupted()
        if argv is None:  # the process's own command line: end it now (see _exit_now)
            _exit_now(130)
        return 130
