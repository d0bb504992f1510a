"""Sweeps larger than memory: stream a grid to a Parquet dataset, whole or one shard at a time.

A dataset is a directory of part files ``part-00000-of-00191.parquet`` ... in row order, with
a manifest ``_infersweep.json`` (see ``infersweep.dataset`` for the layout and the format):
part ``i`` of ``n`` holds the grid's rows ``[i * rows // n, (i + 1) * rows // n)``, so any
scheduler can compute the parts independently (``sweep_shard``) and ``sweep_to_parquet``
computes them all, here or as Ray tasks. Each file is written under a temporary ``*.tmp``
name and renamed when complete, so a reader never sees half a file; its footer records which
grid and rows it holds, so rerunning a shard that is already done does nothing; the manifest
records which parts are complete, so ``read_sweep`` reads a dataset only once it is whole.

Both semantics stream: an `epoch` grid is evaluated by row ranges in Rust (``Plan``), a `serving`
grid as the few sub-grids that make up each row range (``infersweep.stream_serving``).

>>> import infersweep as isw
>>> paths = isw.sweep_to_parquet("Llama-3-70B", "H100", n_gpus=range(1, 257), batch_size=range(1, 4097),
...                              path="sweep.parquet", columns=["n_gpus", "batch_size", "token_latency_s"],
...                              semantics="serving")   # or semantics="epoch", the paper's model
>>> import polars as pl
>>> isw.read_sweep("sweep.parquet").filter(pl.col("token_latency_s") < 0.02).collect()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import polars as pl

from . import _atomic, _core
from .dataset import (
    Manifest,
    mark_complete,
    open_dataset,
    part_name,
    read_manifest,
    remove_created,
    remove_stale_parts,
)
from .errors import GridError
from .specs import SpecDec
from .sweep import (
    DEFAULT_CHUNK_ROWS,
    INPUT_COLUMNS,
    OUTPUT_COLUMNS,
    GpuLike,
    ModelLike,
    Numbers,
    Plan,
    Progress,
    _as_list,
    _numbers,
    gpu_dict,
    model_dict,
    plan,
)

__all__ = ["part_name", "sweep_shard", "sweep_to_parquet"]

#: Rows held in memory at once (and the size of a part file when ``num_shards`` is not given):
#: about 100 MB with every column, and a write short enough for a prompt Ctrl-C.
DEFAULT_PART_ROWS = 1 << 19
#: Rows per call into Rust: about 0.1 s of work, the longest Ctrl-C waits on.
EVAL_ROWS = DEFAULT_CHUNK_ROWS

Compression = Literal["zstd", "lz4", "snappy", "gzip", "brotli", "uncompressed"]
COMPRESSIONS = ("zstd", "lz4", "snappy", "gzip", "brotli", "uncompressed")

_META_GRID = "infersweep:grid"
_META_ROWS = "infersweep:rows"


@dataclass(frozen=True)
class _Job:
    """A validated grid with its output columns, a fingerprint of both and a description."""

    plan: Plan
    columns: list[str] | None
    fingerprint: str
    description: dict[str, Any]

    @property
    def rows(self) -> int:
        return self.plan.rows

    def bounds(self, shard: int, num_shards: int) -> tuple[int, int]:
        return shard * self.rows // num_shards, (shard + 1) * self.rows // num_shards

    def frame(self, lo: int, hi: int, num_threads: int | None) -> pl.DataFrame:
        return self.plan.frame(self.plan.core.evaluate(lo, hi, num_threads=num_threads), self.columns)

    def schema(self) -> pl.Schema:
        return self.frame(0, min(1, self.rows), None).schema

    def manifest(self, num_shards: int, requested: int) -> Manifest:
        return Manifest(self.fingerprint, self.description, self.rows, num_shards, requested)


class Job(Protocol):
    """What streaming needs of a grid: ``_Job`` (epoch) or ``stream_serving.ServingJob``."""

    @property
    def columns(self) -> list[str] | None: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def rows(self) -> int: ...
    def bounds(self, shard: int, num_shards: int) -> tuple[int, int]: ...
    def frame(self, lo: int, hi: int, num_threads: int | None) -> pl.DataFrame: ...
    def schema(self) -> pl.Schema: ...
    def manifest(self, num_shards: int, requested: int) -> Manifest: ...


def _columns(columns: Sequence[str] | str | None) -> list[str] | None:
    if columns is None:
        return None
    cols = [columns] if isinstance(columns, str) else list(dict.fromkeys(columns))
    known = INPUT_COLUMNS + OUTPUT_COLUMNS
    unknown = [c for c in cols if c not in known]
    if unknown:
        raise GridError(f"grid: unknown columns {unknown}; known: {known}")
    if not cols:
        raise GridError("grid: columns is empty; pass None for every column")
    return cols


_AXES = ("n_gpus", "batch_size", "context_len", "seq_len")


def _fingerprint(p: Plan, numbers: dict[str, np.ndarray], axes: dict[str, Any], grid: str,
                 columns: list[str] | None) -> str:
    """A digest of everything a part file's contents depend on."""
    doc = {
        "version": _core.__version__,
        "grid": grid,
        "models": [model_dict(m) for m in p.models],
        "gpus": [gpu_dict(g) for g in p.gpus],
        **{k: numbers[k].tolist() for k in _AXES},
        "use_pp": [bool(x) for x in _as_list(axes["use_pp"])],
        "spec_dec": [None if s is None else [model_dict(s.drafter_model), s.acceptance, s.gamma_max]
                     for s in p.spec_decs],
        "columns": columns,
    }
    text = json.dumps(doc, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _description(p: Plan, numbers: dict[str, np.ndarray], axes: dict[str, Any], grid: str,
                 columns: list[str] | None) -> dict[str, Any]:
    """The grid in a few readable fields, for the manifest (the fingerprint covers every value)."""

    def axis(a: np.ndarray) -> dict[str, Any]:
        if not a.size:
            return {"count": 0}
        return {"count": int(a.size), "min": float(a.min()), "max": float(a.max())}

    return {
        "infersweep": _core.__version__,
        "grid": grid,
        "models": [m.name for m in p.models],
        "gpus": [g.name for g in p.gpus],
        **{k: axis(numbers[k]) for k in _AXES},
        "use_pp": [bool(x) for x in _as_list(axes["use_pp"])],
        "spec_dec": [None if s is None else f"{s.drafter_model.name} acceptance={s.acceptance:g} "
                     f"gamma_max={s.gamma_max}" for s in p.spec_decs],
        "columns": columns,
    }


def _job(axes: dict[str, Any], grid: Literal["product", "zip"], columns: Sequence[str] | str | None) -> _Job:
    p = plan(axes["model"], axes["gpu"], axes["n_gpus"], axes["batch_size"], axes["context_len"],
             axes["seq_len"], axes["use_pp"], axes["spec_dec"], grid)
    cols = _columns(columns)
    numbers = {k: _numbers(k, axes[k]) for k in _AXES}
    return _Job(p, cols, _fingerprint(p, numbers, axes, grid, cols),
                _description(p, numbers, axes, grid, cols))


def _positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise GridError(f"grid: {name} must be an integer >= 1, got {value!r}")


def _compression(value: str) -> None:
    if value not in COMPRESSIONS:
        raise GridError(f"grid: compression must be one of {list(COMPRESSIONS)}, got {value!r}")


def _clamp(job: Job, num_shards: int) -> int:
    """At most one part per row: more parts would be empty files (a grid always gets one part)."""
    n = min(int(num_shards), max(job.rows, 1))
    if n < num_shards:
        warnings.warn(f"num_shards={int(num_shards):,} is more than the grid's {job.rows:,} rows: the "
                      f"dataset has {n:,} parts of one row each instead (part files part-*-of-{n:05d})",
                      UserWarning, stacklevel=3)
    return n


def _is_done(final: str, job: Job, lo: int, hi: int) -> bool:
    """Whether ``final`` is a complete part holding rows lo..hi of this job."""
    try:
        meta = pl.read_parquet_metadata(final)
        if meta.get(_META_GRID) != job.fingerprint or meta.get(_META_ROWS) != f"{lo}:{hi}":
            return False
        return pl.scan_parquet(final).select(pl.len()).collect().item() == hi - lo
    except Exception:
        return False


def _until_done(cleanup: Any) -> None:
    """Run ``cleanup()`` to the end even if Ctrl-C is pressed again meanwhile.

    Cleaning up after Ctrl-C must survive a second KeyboardInterrupt: polars raises one when it
    sees the signal and Python raises its own at the next bytecode (pola-rs/polars#23988). So
    callers call this inside their ``except``: a ``try`` inside the cleanup would come too late,
    as the pending interrupt fires on entering it.
    """
    while True:
        try:
            cleanup()
        except KeyboardInterrupt:
            continue
        break


def _batches(job: Job, lo: int, hi: int, num_threads: int | None, bar: Progress | None,
             cancel: threading.Event | None = None) -> Iterator[pl.DataFrame]:
    for a in range(lo, hi, EVAL_ROWS):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt
        b = min(a + EVAL_ROWS, hi)
        yield job.frame(a, b, num_threads)
        if bar is not None:
            bar.update(b - a)


def _write_part(job: Job, lo: int, hi: int, final: str, *, chunk_rows: int, num_threads: int | None,
                compression: Compression, bar: Progress | None, clean: bool) -> None:
    """Rows lo..hi into ``final``, by way of a locked temporary file (removed on failure)."""
    meta = {_META_GRID: job.fingerprint, _META_ROWS: f"{lo}:{hi}"}
    with _atomic.temp_file(final, clean=clean) as (tmp, fd):
        if hi - lo <= chunk_rows:
            frames = list(_batches(job, lo, hi, num_threads, bar))
            df = pl.concat(frames, rechunk=False) if frames else pl.DataFrame(schema=job.schema())
            _atomic.write_into(fd, final,
                               lambda f: df.write_parquet(f, compression=compression, metadata=meta))
        else:
            _stream(job, lo, hi, tmp, final, num_threads=num_threads, compression=compression, meta=meta,
                    bar=bar)
        _atomic.commit(tmp, fd, final)


def _stream(job: Job, lo: int, hi: int, tmp: str, final: str, *, num_threads: int | None,
            compression: Compression, meta: dict[str, str], bar: Progress | None) -> None:
    """A part too large for memory: polars sinks the batches as they come, in bounded memory.

    The sink runs on a helper thread so that Ctrl-C reaches this (main) thread at once; it then
    stops the batch source, waits for the sink to give up and re-raises.
    """
    from polars.io.plugins import register_io_source

    cancel = threading.Event()

    def source(with_columns: list[str] | None, predicate: Any, n_rows: int | None,
               batch_size: int | None) -> Iterator[pl.DataFrame]:
        yield from _batches(job, lo, hi, num_threads, bar, cancel)

    lf = register_io_source(source, schema=job.schema())

    def sink() -> None:
        try:
            lf.sink_parquet(tmp, compression=compression, metadata=meta, maintain_order=True)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            err = _atomic.os_error(e, final)
            if err is None:
                raise
            raise err from e

    _atomic.in_helper_thread(sink, cancel.set)


def _axes(model: Any, gpu: Any, n_gpus: Any, batch_size: Any, context_len: Any, seq_len: Any,
          use_pp: Any, spec_dec: Any, semantics: str, serving: dict[str, Any]) -> dict[str, Any]:
    """Every argument that decides the rows (what a Ray task is sent), after a check of ``semantics``
    and of the serving-only arguments (None under ``epoch``)."""
    if semantics not in ("epoch", "serving"):
        raise GridError(f"grid: field 'semantics' must be 'epoch' or 'serving', got {semantics!r}")
    axes = {"model": model, "gpu": gpu, "n_gpus": n_gpus, "batch_size": batch_size,
            "context_len": context_len, "seq_len": seq_len, "use_pp": use_pp, "spec_dec": spec_dec,
            "semantics": semantics}
    if semantics == "epoch":
        given = [k for k, v in serving.items() if v is not None]
        if given:
            raise GridError(f"grid: field {given[0]!r} needs semantics='serving' (the default; epoch layouts "
                            f"are continuous and searched)")
        return axes
    return {**axes, **serving}


def _make_job(axes: dict[str, Any], grid: Literal["product", "zip"],
              columns: Sequence[str] | str | None) -> Job:
    if axes["semantics"] == "serving":
        from .stream_serving import serving_job

        return serving_job(axes, grid, columns)
    return _job(axes, grid, columns)


def sweep_shard(
    model: ModelLike | Sequence[ModelLike],
    gpu: GpuLike | Sequence[GpuLike] = "H100",
    n_gpus: Numbers = 8,
    batch_size: Numbers = 1,
    context_len: Numbers = 0,
    seq_len: Numbers = 1,
    use_pp: bool | Sequence[bool] = False,
    spec_dec: SpecDec | Sequence[SpecDec | None] | None = None,
    *,
    shard: int,
    num_shards: int,
    path: str | os.PathLike[str],
    grid: Literal["product", "zip"] = "product",
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_PART_ROWS,
    num_threads: int | None = None,
    progress: bool | None = None,
    compression: Compression = "zstd",
    overwrite: bool = False,
    semantics: Literal["epoch", "serving"] = "serving",
    tp: Any = None,
    pp: Any = None,
    ep: Any = None,
    attention_dp: Any = None,
    runtime: Any = None,
    precision: Any = None,
    uncertainty: float | None = None,
) -> str | None:
    """Compute part ``shard`` of ``num_shards`` of the grid into its own file in the directory ``path``.

    The grid's rows (in ``isw.sweep`` order) are cut into ``num_shards`` contiguous ranges; part
    ``shard`` holds rows ``[shard * rows // num_shards, (shard + 1) * rows // num_shards)`` and is
    written to ``path/part-{shard:05d}-of-{num_shards:05d}.parquet`` (wider with more than 99,999
    shards), whose path is returned, and recorded as complete in the dataset's manifest
    ``path/_infersweep.json`` (``infersweep.dataset``). The call is deterministic and idempotent:
    a file already there that holds this grid's rows (its footer records a digest of the grid,
    the columns and the version, and the row range) is kept as it is unless ``overwrite``;
    anything else is recomputed and replaced, atomically, and temporary files left by killed
    runs of this part are removed. So one array job per shard (a SLURM array, a Kubernetes
    indexed job) can be rerun freely, and ``isw.read_sweep(path)`` reads the dataset back once
    every shard is complete.

    A directory holding another dataset (another grid, columns, version or ``num_shards``) is
    refused with a GridError, or replaced when ``overwrite``. With more shards than the grid has
    rows, ``num_shards`` is clamped to the number of rows (with a warning): shards past it have
    nothing to do and return None.

    Memory stays bounded by ``chunk_rows``: larger parts are streamed to disk. The other
    arguments are those of ``isw.sweep``, for both semantics (see :func:`sweep_to_parquet`).
    """
    _positive("num_shards", num_shards)
    _positive("chunk_rows", chunk_rows)
    _positive("num_threads", num_threads)
    _compression(compression)
    if isinstance(shard, bool) or not isinstance(shard, (int, np.integer)) or not 0 <= shard < num_shards:
        raise GridError(f"grid: shard must be an integer in 0..{num_shards - 1}, got {shard!r}")
    serving = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp, "runtime": runtime,
               "precision": precision, "uncertainty": uncertainty}
    job = _make_job(_axes(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec, semantics,
                          serving), grid, columns)
    n = _clamp(job, num_shards)
    if shard >= n:
        return None
    directory = os.fspath(path)
    os.makedirs(directory, exist_ok=True)
    open_dataset(directory, job.manifest(n, int(num_shards)), overwrite=overwrite)
    final = os.path.join(directory, part_name(int(shard), n))
    lo, hi = job.bounds(int(shard), n)
    if not overwrite and _is_done(final, job, lo, hi):
        mark_complete(directory, job.fingerprint, n, int(shard))  # a run killed before recording it
        return final
    bar = Progress(hi - lo, progress)
    try:
        _write_part(job, lo, hi, final, chunk_rows=chunk_rows, num_threads=num_threads,
                    compression=compression, bar=bar, clean=True)
        mark_complete(directory, job.fingerprint, n, int(shard))
    finally:
        bar.close()
    return final


def sweep_to_parquet(
    model: ModelLike | Sequence[ModelLike],
    gpu: GpuLike | Sequence[GpuLike] = "H100",
    n_gpus: Numbers = 8,
    batch_size: Numbers = 1,
    context_len: Numbers = 0,
    seq_len: Numbers = 1,
    use_pp: bool | Sequence[bool] = False,
    spec_dec: SpecDec | Sequence[SpecDec | None] | None = None,
    *,
    path: str | os.PathLike[str],
    grid: Literal["product", "zip"] = "product",
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_PART_ROWS,
    num_threads: int | None = None,
    progress: bool | None = None,
    backend: Literal["local", "ray"] = "local",
    num_shards: int | None = None,
    compression: Compression = "zstd",
    overwrite: bool = False,
    semantics: Literal["epoch", "serving"] = "serving",
    tp: Any = None,
    pp: Any = None,
    ep: Any = None,
    attention_dp: Any = None,
    runtime: Any = None,
    precision: Any = None,
    uncertainty: float | None = None,
) -> list[str]:
    """Evaluate a grid of any size into a Parquet dataset (the directory ``path``), in bounded memory.

    The rows are those of ``isw.sweep`` with the same arguments, in the same order, cut into
    ``num_shards`` part files (default: enough that none exceeds ``chunk_rows`` rows; at most
    one per row, with a warning when more were asked for); the part files' paths are returned in
    row order. Read the dataset back with ``isw.read_sweep(path)``, a polars LazyFrame, which
    refuses a dataset that is not complete (``infersweep.dataset`` describes the files and the
    manifest ``_infersweep.json``). ``columns`` keeps only those columns, which also makes the
    files much smaller.

    Rerun with the same arguments (after a crash, ``kill -9``, a full disk), it keeps the parts
    already complete and computes the others, removing temporary files of killed runs. A
    directory holding another dataset (another grid, columns, version or shard count) is refused
    with a GridError; ``overwrite=True`` replaces it (and recomputes every part). Files that are
    not part of a dataset are left alone.

    ``backend="local"`` computes the parts one after another on a rayon pool of
    ``num_threads`` threads (default: every core), with a progress bar on stderr when it is a
    terminal (``progress=`` forces it on or off). Ctrl-C stops it within a fraction of a second
    and removes every file of the dataset this call started (when it resumed one, only the
    temporary file: the parts completed are kept for the next run).

    ``backend="ray"`` runs each part as a Ray task (``pip install 'infersweep[ray]'``) that
    reserves ``num_threads`` CPUs (default 1) and caps its pool to them, is retried if its worker
    dies, and writes its own file, so only paths travel back. It joins the Ray cluster that
    ``ray.init`` connected to (or starts a local one); ``path`` must then be a directory that
    every worker node sees at the same path (a shared filesystem).

    ``semantics`` is that of ``isw.sweep``, and so is its default, ``"serving"``: the rows are
    those of ``isw.sweep(..., semantics="serving")`` with the same ``tp``, ``pp``, ``ep``,
    ``attention_dp``, ``runtime``, ``precision`` and ``uncertainty`` (band columns with a
    calibrated profile), each part computed as the few serving sub-grids that make up its rows
    (``infersweep.stream_serving``); the grid is validated (pins, columns, precisions) before any
    file is written. Under serving ``use_pp=True`` and ``spec_dec`` are GridErrors, as in
    ``isw.sweep``; ``semantics="epoch"`` streams the paper's model as before.
    """
    if backend not in ("local", "ray"):
        raise GridError(f"grid: backend must be 'local' or 'ray', got {backend!r}")
    _positive("chunk_rows", chunk_rows)
    _positive("num_threads", num_threads)
    _positive("num_shards", num_shards)
    _compression(compression)
    ray = _import_ray() if backend == "ray" else None
    serving = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp, "runtime": runtime,
               "precision": precision, "uncertainty": uncertainty}
    axes = _axes(model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec, semantics, serving)
    job = _make_job(axes, grid, columns)
    requested = int(num_shards) if num_shards is not None else max(1, -(-job.rows // chunk_rows))
    n = _clamp(job, requested)
    directory = os.path.abspath(os.fspath(path))
    os.makedirs(directory, exist_ok=True)
    created = open_dataset(directory, job.manifest(n, requested), overwrite=overwrite)
    if ray is not None:
        return _run_ray(ray, job, axes, directory, n, created, grid=grid, columns=job.columns,
                        chunk_rows=chunk_rows, num_threads=num_threads or 1, progress=progress,
                        compression=compression, overwrite=overwrite)
    paths = [os.path.join(directory, part_name(i, n)) for i in range(n)]
    before = None if created or overwrite else read_manifest(directory)
    bar = Progress(job.rows, progress)
    try:
        for i, final in enumerate(paths):
            lo, hi = job.bounds(i, n)
            if before is not None and before.is_complete(i) and _is_done(final, job, lo, hi):
                bar.update(hi - lo)
                continue
            _write_part(job, lo, hi, final, chunk_rows=chunk_rows, num_threads=num_threads,
                        compression=compression, bar=bar, clean=False)
            mark_complete(directory, job.fingerprint, n, i)
    except BaseException:
        if created:
            _until_done(lambda: remove_created(directory))
        raise
    finally:
        bar.close()
    return paths


# ---------------------------------------------------------------------------------------------
# Ray


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ImportError("backend='ray' needs Ray: pip install 'infersweep[ray]'") from e
    return ray


def _shard_task(axes: dict[str, Any], shard: int, num_shards: int, path: str,
                kwargs: dict[str, Any]) -> str | None:
    """One part, in a Ray worker."""
    return sweep_shard(**axes, shard=shard, num_shards=num_shards, path=path, progress=False, **kwargs)


_REMOTE: dict[int, Any] = {}


def _remote(ray: Any) -> Any:
    key = id(ray)
    if key not in _REMOTE:
        # A worker that dies is retried by Ray; an OSError (a flaky shared filesystem) too. Other
        # exceptions are deterministic (the same grid fails the same way) and are raised at once.
        _REMOTE[key] = ray.remote(max_retries=2, retry_exceptions=[OSError])(_shard_task)
    return _REMOTE[key]


def _abandon(ray: Any, refs: list[Any], directory: str, n: int, created: bool) -> None:
    """Stop the shards (killing their workers) and remove the dataset if this run started it."""
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
    with contextlib.suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=5)
    if created:
        remove_created(directory)
    else:
        remove_stale_parts(directory, n)


def _run_ray(ray: Any, job: Job, axes: dict[str, Any], directory: str, n: int, created: bool, *, grid: str,
             columns: list[str] | None, chunk_rows: int, num_threads: int, progress: bool | None,
             compression: Compression, overwrite: bool) -> list[str]:
    if not ray.is_initialized():
        ray.init()
    task = _remote(ray).options(num_cpus=num_threads)
    # The driver opened (or replaced) the dataset; a task recomputes its part only if asked to.
    kwargs = {"grid": grid, "columns": columns, "chunk_rows": chunk_rows, "num_threads": num_threads,
              "compression": compression, "overwrite": overwrite and not created}
    axes_ref = ray.put(axes)
    refs = [task.remote(axes_ref, i, n, directory, kwargs) for i in range(n)]
    shard_of = {ref: i for i, ref in enumerate(refs)}
    bar = Progress(job.rows, progress)
    try:
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
            for ref in ready:
                ray.get(ref)  # raise the first failure
                lo, hi = job.bounds(shard_of[ref], n)
                bar.update(hi - lo)
        paths = [os.path.join(directory, part_name(i, n)) for i in range(n)]
    except BaseException:
        _until_done(lambda: _abandon(ray, refs, directory, n, created))
        raise
    finally:
        bar.close()
    # A worker killed mid-write leaves its temporary file behind; its retry wrote the part.
    remove_stale_parts(directory, n)
    return paths
