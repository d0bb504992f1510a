"""Files that appear whole or not at all: a temporary name in the same folder, then a rename.

Every file infersweep writes (a CLI table or plot, a dataset's part files and manifest) goes
through this module, so one set of rules holds everywhere:

* The bytes go to ``{final}.{random}.tmp`` in the final file's folder, are flushed to disk
  (``fsync``) and renamed onto ``final`` (``os.replace``, atomic on POSIX): a reader, a crash
  or ``kill -9`` sees the old file, the new file or no file, never part of one. A path that
  exists and is not a regular file (a device such as ``/dev/full``, a FIFO) is written in place,
  as no rename can replace it.
* The writer holds an exclusive ``flock`` on its temporary file while it writes. The kernel
  drops the lock when the process dies (even by ``kill -9``), so a temporary file nobody holds
  is stale and the next writer of the same file removes it; a live writer's file is never
  touched, so two writers of one path do not trip over each other.
* Every byte is written or an ``OSError`` is raised: polars silently drops some write errors
  (``write_json`` past a file-size limit), so it writes into a :class:`_Sink` that records the
  first error and the write fails with it. Failures remove the temporary file.
* The write runs on a helper thread when called from the main thread, so that Ctrl-C reaches
  the main thread at once, once (polars raises a second KeyboardInterrupt of its own when it
  sees the signal, pola-rs/polars#23988); the helper is stopped at its next write and joined
  before the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; stale temporary files are then kept, never removed
    fcntl = None  # type: ignore[assignment]

TMP_SUFFIX = ".tmp"
_TMP = re.compile(r"\.[0-9a-f]{12}\.tmp$")


def temp_name(final: str) -> str:
    """A fresh temporary name for ``final``, in its folder."""
    return f"{final}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}"


def is_temp_of(name: str, final_name: str) -> bool:
    """Whether the file name ``name`` is a temporary file of the file name ``final_name``."""
    return name.startswith(final_name + ".") and _TMP.fullmatch(name[len(final_name):]) is not None


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def lock(fd: int) -> None:
    """Take an exclusive flock on ``fd``, waiting for it; closing ``fd`` releases it."""
    _lock(fd, blocking=True)


def remove_if_stale(path: str) -> bool:
    """Remove the temporary file ``path`` if no live writer holds it; whether it was removed."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if not _lock(fd, blocking=False):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return True
    finally:
        os.close(fd)


def remove_stale(directory: str, names: Callable[[str], bool]) -> list[str]:
    """Remove every stale temporary file in ``directory`` whose name ``names`` accepts."""
    removed: list[str] = []
    try:
        listing = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in listing:
        if name.endswith(TMP_SUFFIX) and names(name) and remove_if_stale(os.path.join(directory, name)):
            removed.append(name)
    return removed


def remove(path: str) -> None:
    """Remove ``path`` if it exists, even while Ctrl-C is pressed again."""
    while True:
        try:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        except KeyboardInterrupt:
            continue
        return


class _Sink(io.RawIOBase):
    """A file object that writes every byte or raises, remembers the first error, and stops on request."""

    def __init__(self, fd: int, path: str) -> None:
        super().__init__()
        self.fd = fd
        self.path = path
        self.error: OSError | None = None
        self.cancelled = threading.Event()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.cancelled.is_set():
            raise KeyboardInterrupt
        if self.error is not None:
            raise self.error
        view = memoryview(data).cast("B")
        total = len(view)
        try:
            while view:  # a write past a size limit is short, then fails with EFBIG
                view = view[os.write(self.fd, view):]
        except OSError as e:
            self.error = OSError(e.errno, e.strerror or str(e), self.path)
            raise self.error from e
        return total

    def close(self) -> None:  # the fd belongs to the caller
        pass


def os_error(e: BaseException, path: str) -> OSError | None:
    """The OSError behind a polars error (it wraps I/O errors as ComputeError), or None."""
    if isinstance(e, OSError):
        return OSError(e.errno, e.strerror or str(e).split(" (os error")[0], path)
    m = re.search(r"(?:\(os error (\d+)\)|\[Errno (\d+)\])", str(e))
    if m is None:
        return None
    code = int(m.group(1) or m.group(2))
    return OSError(code, os.strerror(code), path)


def in_helper_thread(work: Callable[[], None], cancel: Callable[[], None]) -> None:
    """Run ``work()`` on a helper thread while this (main) thread waits, taking Ctrl-C at once.

    On any exception here (Ctrl-C) ``cancel()`` asks the helper to stop, the helper is joined
    (further Ctrl-C are ignored meanwhile) and the exception is re-raised; an exception of
    ``work`` is re-raised here. Off the main thread no signal arrives, and ``work`` runs inline.
    """
    if threading.current_thread() is not threading.main_thread():
        work()
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as e:
            failure.append(e)

    worker = threading.Thread(target=run, name="infersweep-write", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except BaseException:
        while True:
            try:
                cancel()
                worker.join()
            except KeyboardInterrupt:
                continue
            break
        raise
    if failure:
        raise failure[0]


def _create_locked(final: str) -> tuple[str, int]:
    """Create and lock a new temporary file for ``final``: ``(path, fd)``.

    Between creating the file and locking it, another writer's stale-file clean-up can lock
    and remove it (it looks exactly like a killed writer's file). So once locked, check that
    the name still refers to the file we hold, and start again with a new name if not.
    """
    while True:
        tmp = temp_name(final)
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        except OSError as e:  # name the file the caller asked for, not the temporary one
            raise OSError(e.errno, e.strerror or str(e), final) from e
        try:
            _lock(fd, blocking=True)
            held, named = os.fstat(fd), os.stat(tmp)
            if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
                return tmp, fd
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            remove(tmp)
            raise
        os.close(fd)


@contextlib.contextmanager
def temp_file(final: str, *, clean: bool = True) -> Iterator[tuple[str, int]]:
    """A locked temporary file for ``final``: yields ``(path, fd)``; removed unless renamed.

    The caller writes it (through ``fd`` or by its path) and calls :func:`commit`. Stale
    temporary files of ``final`` (killed writers) are removed first, unless ``clean`` is False
    (the caller cleaned the whole folder already).
    """
    directory, name = os.path.split(final)
    if clean:
        remove_stale(directory or ".", lambda n: is_temp_of(n, name))
    tmp, fd = _create_locked(final)
    try:
        with contextlib.suppress(OSError):  # a replaced file keeps its permissions
            os.fchmod(fd, stat.S_IMODE(os.stat(final).st_mode))
        yield tmp, fd
    except BaseException:
        remove(tmp)
        raise
    finally:
        os.close(fd)
    if os.path.exists(tmp):  # the caller returned without committing
        remove(tmp)


def commit(tmp: str, fd: int, final: str) -> None:
    """Flush the temporary file to disk and rename it onto ``final``."""
    os.fsync(fd)
    os.replace(tmp, final)


def _special(path: str) -> bool:
    """Whether ``path`` exists and is not a regular file (a device, a FIFO): written in place."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_atomically(path: str | os.PathLike[str], write: Callable[[Any], object], *,
                     helper_thread: bool = True, clean: bool = True) -> None:
    """Write a file through ``write(file)`` so that it appears whole or not at all.

    Raises OSError (naming ``path``) when the bytes cannot be written; nothing is left behind.
    ``helper_thread=False`` writes on this thread (a small file: no Ctrl-C delay to avoid);
    ``clean=False`` skips looking for stale temporary files (see :func:`temp_file`).
    """
    shown = os.fspath(path)
    # Through a symbolic link, the file it points to is replaced (the link stays a link).
    final = os.path.realpath(shown) if os.path.islink(shown) else shown
    if _special(final):
        fd = os.open(final, os.O_WRONLY)
        try:
            write_into(fd, shown, write, helper_thread)
        finally:
            os.close(fd)
        return
    with temp_file(final, clean=clean) as (tmp, fd):
        write_into(fd, shown, write, helper_thread)
        commit(tmp, fd, final)


def write_into(fd: int, final: str, write: Callable[[Any], object],
               helper_thread: bool = True) -> None:
    """Write into the open file ``fd`` through ``write(file)``: every byte, or an OSError naming ``final``."""
    sink = _Sink(fd, final)

    def work() -> None:
        try:
            write(sink)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            if sink.error is not None:
                raise sink.error from e
            err = os_error(e, final)
            if err is None:
                raise
            raise err from e
        if sink.error is not None:  # the writer swallowed it
            raise sink.error

    if helper_thread:
        in_helper_thread(work, sink.cancelled.set)
    else:
        work()


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    write_atomically(path, lambda f: f.write(data))
