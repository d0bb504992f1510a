"""Where the time goes in one configuration, as data: ``isw.explain``.

>>> import infersweep as isw
>>> e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64)   # serving, as isw.sweep
>>> e.bound, e.layout["tp"], e.runtime["step_overhead_s"]
>>> e = isw.explain("Llama-3-70B", "H100", n_gpus=8, batch_size=64, semantics="epoch")   # the paper's
>>> e.bound, round(e.shares["memory_s"], 3), e.layout["tp_ffn"]

``infersweep explain`` prints this object; there is one implementation of the breakdown (this
module) and of the reason a configuration does not fit (:func:`infeasibility`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .catalog import gpu as lookup_gpu
from .catalog import model as lookup_model
from .checks import show
from .errors import GridError
from .plot import g3 as _g3
from .reference import pp_degrees
from .specs import Gpu, Model, SpecDec
from .speculative import DraftHeads, DraftModel
from .sweep import GpuLike, ModelLike, sweep

if TYPE_CHECKING:
    from .serving import Precision, Runtime
    from .serving_explain import ServingExplanation

__all__ = ["COMPONENTS", "Explanation", "Infeasibility", "Memory", "explain", "infeasibility"]

#: The four time components of a pass (five columns: the network in two parts), in the order
#: a pass adds them: kernel + network latency + network bandwidth + max(memory, compute).
COMPONENTS = ("kernel_s", "network_latency_s", "network_bandwidth_s", "memory_s", "compute_s")
#: The layout columns of a result row (degrees are real numbers in `epoch` semantics).
LAYOUT = ("two_d_tp", "pp_degree", "ep_degree", "tp_ffn", "tp_attention", "attention_scaledown")


@dataclass(frozen=True)
class Memory:
    """What one configuration keeps in HBM, in bytes, against what its GPUs hold.

    ``kv_cache_bytes`` is the cache of the whole batch at this context (windowed layers stop
    growing at their window); a pipeline of P stages holds one of P micro-batches' caches at a
    time (docs/model.md §5, quirk §10.1), ``kv_cache_held_bytes``, which is what capacity counts.
    """

    weights_bytes: float
    kv_cache_bytes: float
    kv_cache_held_bytes: float
    hbm_bytes: float

    @property
    def used_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_held_bytes

    @property
    def used_fraction(self) -> float:
        return self.used_bytes / self.hbm_bytes


@dataclass(frozen=True)
class Infeasibility:
    """Why a configuration does not fit (``reason``, one sentence) and what would make it fit
    (``hints``, each a sentence; possibly none)."""

    reason: str
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """One configuration in detail: the sweep row, its time components with their shares of the
    pass, what bounds it, the winning layout, the memory it uses and, when it does not fit, why.

    Times in seconds; ``shares`` are fractions of ``pass_s`` (kernel + network +
    max(memory, compute): memory and compute overlap, so their shares add up to more than the
    bound's alone). With speculative decoding the components are those of the target's
    verification pass over ``gamma`` positions; ``token_latency_s`` is the time per token.
    Infeasible: ``feasible`` is false, the times are NaN and ``infeasible`` says why.
    """

    model: Model
    gpu: Gpu
    n_gpus: float
    batch_size: float
    context_len: float
    seq_len: float
    use_pp: bool
    spec_dec: SpecDec | None
    feasible: bool
    #: The sweep row itself (every column of isw.sweep).
    row: dict[str, Any]
    token_latency_s: float
    tokens_per_s_per_request: float
    tokens_per_s_per_gpu: float
    tokens_per_s: float
    usd_per_million_tokens: float
    gpu_seconds_per_token: float
    mfu: float
    #: Peak FLOP/s of one GPU at the model's compute precision (the MFU's denominator, uncapped).
    peak_flops: float
    components: dict[str, float]
    pass_s: float
    shares: dict[str, float]
    bound: Literal["memory", "compute"] | None
    #: The winning layout: the row's layout columns and ``gpus_per_stage`` = N / pp_degree.
    layout: dict[str, float | bool]
    memory: Memory
    #: Draft length of the winning speculative round (0: plain decoding), the drafter's latency
    #: per token and the tokens a round yields on average, (1 − α^γ)/(1 − α).
    gamma: int
    drafter_latency_s: float
    tokens_per_round: float
    infeasible: Infeasibility | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the model, GPU and drafter as their names, everything else as is."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["model"], out["gpu"] = self.model.name, self.gpu.name
        sd = self.spec_dec
        out["spec_dec"] = None if sd is None else {"drafter": sd.drafter_model.name,
                                                   "acceptance": sd.acceptance, "gamma_max": sd.gamma_max}
        out["memory"] = {**dataclasses.asdict(self.memory), "used_bytes": self.memory.used_bytes,
                         "used_fraction": self.memory.used_fraction}
        out["infeasible"] = None if self.infeasible is None else dataclasses.asdict(self.infeasible)
        return out


def infeasibility(m: Model, g: Gpu, n_gpus: float, batch_size: float, context_len: float,
                  use_pp: bool) -> Infeasibility:
    """Why (N, b, ℓ) has no layout, and what would give it one: the one place that says so
    (``isw.explain`` and ``infersweep explain`` both use it). The two tests of docs/model.md §5:
    no pipeline degree P of the engine's list has P <= min(N, b) (N < 1 or b < 1), or none of
    those that do fits in memory."""
    N, b, ctx = n_gpus, batch_size, context_len
    weights = m.weight_bytes * m.total_params
    kv_full = m.kv_bytes_for_context(ctx) * b
    hbm1 = g.hbm_bytes
    hbm = N * hbm1
    degrees = pp_degrees(b, m.n_layers, use_pp)
    if not any(P <= min(N, b) for P in degrees):  # noqa: SIM300 (P is the variable)
        return _too_small(m, g, N, b, weights, kv_full, hbm)
    kv_text = (f" ({_g3(b)} sequence{'s' if b != 1 else ''} × {_tokens(ctx)} tokens × "
               f"{m.kv_bytes_for_context(ctx) / ctx:,.0f} B/token)" if kv_full > 0 else "")
    reason = (f"does not fit: weights {_gb(weights)} + KV cache {_gb(kv_full)}{kv_text} = "
              f"{_gb(weights + kv_full)} > {_g3(N)} × {hbm1 / 1e9:g} GB = {_gb(hbm)} of HBM")
    hints: list[str] = []
    if weights >= hbm:
        hints.append(f"the weights alone need {weights / hbm1:.3g} GPUs: "
                     f"--n-gpus {math.ceil(weights / hbm1)} or more")
    if kv_full <= 0:
        return Infeasibility(reason, tuple(hints))
    if use_pp:
        p_max = min(b, m.n_layers, N)
        hints.append(f"pipeline parallelism splits the KV cache into at most min(b, L, N) = {_g3(p_max)} "
                     f"micro-batches: {_gb(weights + kv_full / p_max)} is still more than {_gb(hbm)}")
        # Smallest N with N·HBM >= weights + KV / P for a pipeline degree P <= N of the engine's
        # list (docs/model.md §5).
        n_need = min(max(P, (weights + kv_full / P) / hbm1) for P in degrees)
        msg = f"fits from {n_need:.3g} GPUs with pipeline parallelism"
    else:
        n_need = (weights + kv_full) / hbm1
        msg = f"fits from {n_need:.3g} GPUs (--n-gpus {math.ceil(n_need)}; fewer with --pp)"
    if hbm > weights:
        b_max = (hbm - weights) / m.kv_bytes_for_context(ctx)
        msg += f", or with at most {b_max:.3g} sequences on {_g3(N)} GPUs" + (" without PP" if use_pp else "")
    hints.append(msg)
    return Infeasibility(reason, tuple(hints))


def _too_small(m: Model, g: Gpu, N: float, b: float, weights: float, kv_full: float,
               hbm: float) -> Infeasibility:
    """min(N, b) < 1: every pipeline degree is >= 1, and a layout needs P <= min(N, b)."""
    short = [f"{_g3(N)} GPUs" if N < 1 else "", f"{_g3(b)} sequences" if b < 1 else ""]
    reason = (f"no layout: every pipeline degree P is at least 1 and a layout needs P <= min(N, b), "
              f"but min(N, b) = {_g3(min(N, b))} ({' and '.join(x for x in short if x)}): a pipeline "
              f"stage needs at least one GPU and one sequence (docs/model.md §5)")
    need = weights + kv_full
    verdict = "would fit" if not hbm < need else "would not fit either"
    memory = (f"memory {verdict}: weights {_gb(weights)} + KV cache {_gb(kv_full)} = {_gb(need)} "
              f"{'<=' if not hbm < need else '>'} {_gb(hbm)} of HBM")
    n_fix = max(1, math.ceil(weights / g.hbm_bytes))
    fixes = ([f"--n-gpus {n_fix} or more"] if N < 1 else []) + (["--batch-size 1 or more"] if b < 1 else [])
    return Infeasibility(reason, (memory, f"use {' and '.join(fixes)}"))


@overload
def explain(model: ModelLike, gpu: GpuLike = ..., n_gpus: float = ..., batch_size: float = ...,
            context_len: float = ..., seq_len: float = ..., use_pp: bool = ...,
            spec_dec: DraftHeads | DraftModel | None = ..., *, semantics: Literal["serving"] = ...,
            tp: int | None = ...,
            pp: int | None = ..., ep: int | None = ..., attention_dp: int | None = ...,
            runtime: Runtime | None = ..., precision: Precision | None = ...) -> ServingExplanation: ...


@overload
def explain(model: ModelLike, gpu: GpuLike = ..., n_gpus: float = ..., batch_size: float = ...,
            context_len: float = ..., seq_len: float = ..., use_pp: bool = ...,
            spec_dec: SpecDec | None = ..., *, semantics: Literal["epoch"]) -> Explanation: ...


def explain(model: ModelLike, gpu: GpuLike = "H100", n_gpus: float = 8, batch_size: float = 1,
            context_len: float = 0, seq_len: float = 1, use_pp: bool = False,
            spec_dec: SpecDec | DraftHeads | DraftModel | None = None, *, semantics: str = "serving",
            tp: int | None = None,
            pp: int | None = None, ep: int | None = None, attention_dp: int | None = None,
            runtime: Runtime | None = None, precision: Precision | None = None) -> Any:
    """One configuration in detail, as data (what ``infersweep explain`` prints).

    The arguments are those of one row of :func:`infersweep.sweep` (scalars; the same defaults:
    H100, context 0, one position per pass, and the same default semantics, ``"serving"``).
    Raises SpecError / GridError / CatalogError for invalid input; a configuration that does not
    fit is data (``feasible`` false, ``infeasible`` saying why).

    ``semantics="serving"`` (the default) explains one decode step of the serving semantics
    (docs/serving.md) and returns a :class:`~infersweep.serving_explain.ServingExplanation`: the
    step's components, the per-GPU memory, the layout (``tp``/``pp``/``ep``/``attention_dp`` pin
    degrees; None searches), what bounds the step and every ``runtime`` value used with its
    source (``runtime=None``: ``isw.Runtime.default()``; ``precision=None``: the model's own),
    and the resolved precision with the source of each number (``precision_sources``). Under
    serving ``spec_dec`` is an ``isw.DraftHeads`` or ``isw.DraftModel`` and ``speculative`` holds
    the draft and verification parts (docs/serving.md §D); ``use_pp=True`` and an ``isw.SpecDec``
    are `epoch`'s only: a GridError saying to pass ``semantics="epoch"``.

    ``semantics="epoch"`` explains one pass of the paper's model and returns an
    :class:`Explanation` (no pipeline parallelism unless ``use_pp=True``; ``spec_dec`` a drafter).
    """
    if semantics not in ("epoch", "serving"):
        raise GridError(f"explain: field 'semantics' must be 'epoch' or 'serving', got {show(semantics)}")
    serving_only = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp, "runtime": runtime,
                    "precision": precision}
    if semantics == "epoch":
        given = [k for k, v in serving_only.items() if v is not None]
        if given:
            raise GridError(f"explain: field {given[0]!r} needs semantics='serving'")
    elif isinstance(use_pp, (bool, np.bool_)) and use_pp:
        raise GridError("explain: field 'use_pp' is epoch's only; pass semantics='epoch' (the default, "
                        "'serving', searches integer pipeline degrees: pin one with pp=)")
    elif spec_dec is not None and isinstance(spec_dec, SpecDec):  # serving's are DraftHeads/DraftModel
        raise GridError("explain: field 'spec_dec': isw.SpecDec is epoch's only; pass semantics='epoch', "
                        "or isw.DraftHeads / isw.DraftModel for serving's speculative decoding")
    for field, value in (("n_gpus", n_gpus), ("batch_size", batch_size), ("context_len", context_len),
                         ("seq_len", seq_len)):
        try:
            ndim = np.ndim(value)
        except (ValueError, TypeError, RecursionError):  # ragged or nested beyond numpy's 64 dims
            ndim = 1
        if ndim != 0:  # a grid belongs to isw.sweep; explain is one row
            raise GridError(f"explain: field {field!r} must be one number, got {show(value)}; "
                            f"use isw.sweep for a grid")
    if not isinstance(use_pp, (bool, np.bool_)):
        raise GridError(f"explain: field 'use_pp' must be True or False, got {show(use_pp)}")
    if spec_dec is not None and not isinstance(spec_dec, (SpecDec, DraftHeads, DraftModel)):
        raise GridError(f"explain: field 'spec_dec' must be None or one isw.SpecDec (epoch), isw.DraftHeads "
                        f"or isw.DraftModel (serving), got {show(spec_dec)}")
    if semantics == "epoch" and isinstance(spec_dec, (DraftHeads, DraftModel)):
        raise GridError("explain: field 'spec_dec': isw.DraftHeads and isw.DraftModel need "
                        "semantics='serving' (epoch's speculative decoding is isw.SpecDec)")
    m, g = lookup_model(model), lookup_gpu(gpu)
    if semantics == "serving":
        from .serving_explain import explain_serving

        return explain_serving(m, g, n_gpus=n_gpus, batch_size=batch_size, context_len=context_len,
                               seq_len=seq_len, tp=tp, pp=pp, ep=ep, attention_dp=attention_dp,
                               runtime=runtime, precision=precision, spec_dec=spec_dec)
    assert spec_dec is None or isinstance(spec_dec, SpecDec)   # checked above
    r = sweep(m, g, n_gpus=n_gpus, batch_size=batch_size, context_len=context_len, seq_len=seq_len,
              use_pp=use_pp, spec_dec=spec_dec, semantics="epoch").row(0, named=True)
    N, b, ctx = float(r["n_gpus"]), float(r["batch_size"]), float(r["context_len"])
    weights = m.weight_bytes * m.total_params
    kv_full = m.kv_bytes_for_context(ctx) * b
    feasible = bool(r["feasible"])
    stages = float(r["pp_degree"]) if feasible else 1.0
    memory = Memory(weights, kv_full, kv_full / stages, N * g.hbm_bytes)
    components = {c: float(r[c]) for c in COMPONENTS}
    mem, flop = components["memory_s"], components["compute_s"]
    pass_s = (components["kernel_s"] + components["network_latency_s"] + components["network_bandwidth_s"]
              + max(mem, flop))
    shares = ({c: v / pass_s for c, v in components.items()} if feasible
              else dict.fromkeys(COMPONENTS, math.nan))
    layout: dict[str, float | bool] = {c: r[c] for c in LAYOUT}
    layout["gpus_per_stage"] = N / float(r["pp_degree"]) if feasible else math.nan
    gamma = int(r["gamma"])
    alpha = spec_dec.acceptance if spec_dec is not None else 0.0
    tokens = (1 - alpha**gamma) / (1 - alpha) if gamma > 0 else 1.0
    lat = float(r["token_latency_s"])
    return Explanation(
        model=m, gpu=g, n_gpus=N, batch_size=b, context_len=ctx, seq_len=float(r["seq_len"]),
        use_pp=bool(use_pp), spec_dec=spec_dec, feasible=feasible, row=r, token_latency_s=lat,
        tokens_per_s_per_request=float(r["tokens_per_s_per_request"]),
        tokens_per_s_per_gpu=float(r["tokens_per_s_per_gpu"]),
        tokens_per_s=b * float(r["tokens_per_s_per_request"]),
        usd_per_million_tokens=float(r["usd_per_million_tokens"]),
        gpu_seconds_per_token=float(r["gpu_seconds_per_token"]), mfu=float(r["mfu"]),
        peak_flops=g.flops_for(m), components=components, pass_s=pass_s, shares=shares,
        bound=(("memory" if mem >= flop else "compute") if feasible else None), layout=layout,
        memory=memory, gamma=gamma, drafter_latency_s=float(r["drafter_latency_s"]),
        tokens_per_round=tokens,
        infeasible=None if feasible else infeasibility(m, g, N, b, ctx, bool(use_pp)),
    )


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def _tokens(x: float) -> str:
    from .cli.output import context_text  # not at the top: the CLI package imports this module

    return context_text(x)
