"""Typed stub of the compiled engine (rust/python/mod.rs)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str
COLUMNS: list[str]
#: Most threads one pool may have (``num_threads``).
MAX_THREADS: int
#: Largest frontier grid side and most latency targets.
MAX_FRONTIER_RESOLUTION: int
MAX_FRONTIER_TARGETS: int
#: Accepted range (inclusive) of every numeric field, by kind: "model", "layer_group", "gpu", "grid".
FIELD_RANGES: dict[str, dict[str, tuple[float, float]]]

class SweepGrid:
    """A validated grid of configurations, evaluated in chunks of rows."""

    def __new__(
        cls,
        *,
        models: list[dict[str, Any]],
        gpus: list[dict[str, Any]],
        n_gpus: npt.NDArray[np.float64],
        batch_size: npt.NDArray[np.float64],
        context_len: npt.NDArray[np.float64],
        seq_len: npt.NDArray[np.float64],
        use_pp: list[bool],
        spec_dec: list[dict[str, Any] | None],
        zip: bool,
    ) -> SweepGrid: ...
    def __len__(self) -> int: ...
    def evaluate(self, start: int, end: int, *, num_threads: int | None = None) -> dict[str, np.ndarray]: ...

class Pair:
    """A validated (model, GPU) pair for evaluate_point, with its layout-search scratch."""

    def __new__(cls, model: dict[str, Any], gpu: dict[str, Any]) -> Pair: ...

def evaluate_point(
    pair: Pair, n_gpus: float, batch_size: float, context_len: float, seq_len: float, use_pp: bool
) -> tuple[
    float, float, float, float, float, float, bool,
    tuple[float, float, float, float, float],
    tuple[bool, float, float, float, float, float],
]:
    """One epoch point: (latency, tokens/s/request, USD/Mtok, GPU-s/token, tokens/s/GPU, MFU,
    feasible, (kernel, network latency, network bandwidth, memory, compute),
    (two_d_tp, pp, ep, tp_ffn, tp_attention, attention_scaledown))."""

class ServingPoint:
    """A validated (model, GPU, precision, runtime) of serving semantics for serving_point."""

    def __new__(
        cls, model: dict[str, Any], gpu: dict[str, Any], precision: dict[str, float], runtime: dict[str, Any]
    ) -> ServingPoint: ...

def serving_point(
    point: ServingPoint, n_gpus: float, batch_size: float, context_len: float, seq_len: float,
    tp: int, pp: int, ep: int, attention_dp: int,
) -> tuple[Any, ...]:
    """One serving point's 27 output columns in SERVING_OUTPUT_COLUMNS order (degrees of 0 are
    searched)."""

def collective_time(
    gpu: dict[str, Any], ranks: float, nodes: float, nbytes: float, kind: str
) -> tuple[float, float]: ...
def frontier(
    model: dict[str, Any],
    gpu: dict[str, Any],
    spec_dec: dict[str, Any] | None,
    *,
    context_len: float,
    use_pp: bool,
    max_throughput: float,
    n_batch: int,
    n_gpus: int,
    n_targets: int,
    num_threads: int | None = None,
) -> dict[str, np.ndarray]: ...
def pareto(
    groups: npt.NDArray[np.uint32], speed: npt.NDArray[np.float64], cost: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]: ...
def default_threads() -> int:
    """Threads of the default pool (all cores, or RAYON_NUM_THREADS)."""
def serving_sweep(
    *,
    models: list[dict[str, Any]],
    gpus: list[dict[str, Any]],
    precisions: list[dict[str, float]],
    n_gpus: npt.NDArray[np.float64],
    batch_size: npt.NDArray[np.float64],
    context_len: npt.NDArray[np.float64],
    seq_len: npt.NDArray[np.float64],
    tp: npt.NDArray[np.uint32],
    pp: npt.NDArray[np.uint32],
    ep: npt.NDArray[np.uint32],
    attention_dp: npt.NDArray[np.uint32],
    runtime: dict[str, Any],
    zip: bool,
    num_threads: int | None = None,
    speculation: list[dict[str, Any]] | None = None,
) -> dict[str, np.ndarray]:
    """A serving grid (rust/serving/) as one numpy array per column; ``speculation``: one
    speculative configuration per model (python/infersweep/speculative.py ``engine_dict``)."""


def serving_mixed_step(
    *,
    model: dict[str, Any],
    gpu: dict[str, Any],
    precision: dict[str, float],
    runtime: dict[str, Any],
    n_gpus: int,
    tp: int,
    pp: int,
    ep: int,
    attention_dp: int,
    work: dict[str, float],
) -> dict[str, Any]: ...


def serving_traffic(
    *,
    models: list[dict[str, Any]],
    gpus: list[dict[str, Any]],
    precisions: list[dict[str, float]],
    runtime: dict[str, Any],
    model: npt.NDArray[np.uint32],
    gpu: npt.NDArray[np.uint32],
    n_gpus: npt.NDArray[np.uint32],
    tp: npt.NDArray[np.uint32],
    pp: npt.NDArray[np.uint32],
    ep: npt.NDArray[np.uint32],
    attention_dp: npt.NDArray[np.uint32],
    isl: npt.NDArray[np.float64],
    osl: npt.NDArray[np.float64],
    budget: npt.NDArray[np.float64],
    load: npt.NDArray[np.float64],
    closed: bool,
    num_threads: int | None = None,
) -> dict[str, npt.NDArray[Any]]: ...


def serving_steps(
    *,
    model: dict[str, Any],
    gpu: dict[str, Any],
    precision: dict[str, float],
    runtime: dict[str, Any],
    n_gpus: npt.NDArray[np.uint32],
    tp: npt.NDArray[np.uint32],
    pp: npt.NDArray[np.uint32],
    ep: npt.NDArray[np.uint32],
    attention_dp: npt.NDArray[np.uint32],
    decode_seqs: npt.NDArray[np.float64],
    decode_ctx: npt.NDArray[np.float64],
    prefill_tokens: npt.NDArray[np.float64],
    chunk: npt.NDArray[np.float64],
    prefix: npt.NDArray[np.float64],
    capacity_seqs: npt.NDArray[np.float64],
    capacity_ctx: npt.NDArray[np.float64],
    num_threads: int | None = None,
) -> dict[str, npt.NDArray[Any]]: ...


def serving_serve(
    *,
    models: list[dict[str, Any]],
    gpus: list[dict[str, Any]],
    precisions: list[dict[str, float]],
    runtime: dict[str, Any],
    model: npt.NDArray[np.uint32],
    gpu: npt.NDArray[np.uint32],
    n_gpus: npt.NDArray[np.uint32],
    tp: npt.NDArray[np.uint32],
    pp: npt.NDArray[np.uint32],
    ep: npt.NDArray[np.uint32],
    attention_dp: npt.NDArray[np.uint32],
    isl: npt.NDArray[np.float64],
    osl: npt.NDArray[np.float64],
    budget: npt.NDArray[np.float64],
    decode_ctx: npt.NDArray[np.float64],
    capacity_ctx: npt.NDArray[np.float64],
    token_isl: npt.NDArray[np.float64],
    prompt_offsets: npt.NDArray[np.uint32],
    prompt_lengths: npt.NDArray[np.float64],
    prompt_weights: npt.NDArray[np.float64],
    segments: npt.NDArray[np.uint32],
    loads: npt.NDArray[np.float64],
    closed: bool,
    best: bool,
    num_threads: int | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """`serve`'s steady states: every group at every load, the best layout per segment and load
    (or every row), with `group` and `load_index` per row."""
