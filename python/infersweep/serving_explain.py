"""Where the time of one `serving` decode step goes, as data: ``isw.explain(..., semantics="serving")``.

Every figure is a column of the serving sweep's row (one implementation of each formula,
rust/serving/); this module only arranges them, and says where each runtime value came from
(every default a user cannot see is a defect).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from .serving import Precision, Runtime
from .specs import Gpu, Model

__all__ = ["SERVING_COMPONENTS", "ServingExplanation", "ServingMemory", "SpeculativeParts", "runtime_sources"]

#: The step's components in the order a step adds them (docs/serving.md §S): overhead + kernels +
#: network (latency + bandwidth) + work − overlap, where work (``work_s``) is max(weights + KV,
#: compute), or with ``Runtime.operator_roofline`` max(KV, attention over the cache) + max(weights,
#: GEMMs) (§R.8). ``all_to_all_s`` is the MoE dispatch and combine part of the network terms, and
#: memory and compute are what work is made of: shown, not added again.
SERVING_COMPONENTS = ("overhead_s", "kernel_s", "network_latency_s", "network_bandwidth_s", "all_to_all_s",
                      "weight_memory_s", "kv_memory_s", "memory_s", "compute_s", "work_s", "overlap_s")

#: The section of docs/serving.md that sources each runtime default.
_SECTION = {
    "step_overhead_s": "§R.1", "sequence_overhead_s": "§R.1", "cuda_graphs": "§R.2", "graph_kernel_s": "§R.2",
    "launch_kernel_s": "§R.2",
    "attention_kernels": "§R.2", "mla_extra_kernels": "§R.2", "dense_ffn_kernels": "§R.2",
    "moe_kernels": "§R.2", "weight_bandwidth_efficiency": "§R.3", "kv_bandwidth_efficiency": "§R.3",
    "gemm_efficiency": "§R.3", "gemm_tile_tokens": "§R.3", "expert_imbalance": "§R.4", "overlap": "§R.5",
    "collective_latency_scale": "§R.7", "operator_roofline": "§R.8",
    "memory_reserve_fraction": "§M", "memory_reserve_bytes": "§M",
}


@dataclass(frozen=True)
class ServingMemory:
    """Per GPU of the busiest stage and attention-DP group, bytes (the sweep's columns ×1e9)."""

    weights_bytes: float
    kv_cache_bytes: float
    reserve_bytes: float
    hbm_bytes: float
    #: The largest batch this layout holds at this context (the ``max_batch_size`` column).
    max_batch_size: float

    @property
    def used_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.reserve_bytes

    @property
    def used_fraction(self) -> float:
        return self.used_bytes / self.hbm_bytes


@dataclass(frozen=True)
class SpeculativeParts:
    """A speculative step (docs/serving.md §D): γ draft passes, then the verification of γ + 1
    positions (whose components are the explanation's ``components``); τ tokens kept per step."""

    #: "mtp", "eagle" or the drafter model's name.
    draft: str
    #: γ, draft tokens per sequence per step.
    draft_tokens: int
    #: τ = 1 + Σ_i Π_{j≤i} a_j (or the given mean accepted length).
    tokens_per_step: float
    #: γ draft passes (no step overhead: they run inside the step).
    draft_s: float
    #: The verification pass (= the explanation's ``step_s``).
    verify_s: float
    #: draft_s + verify_s; ``token_latency_s`` (TPOT) is it over τ when it fits.
    step_s: float
    #: The draft's share of the step.
    draft_share: float
    #: Per GPU: the draft's weights (its shared embeddings not counted again) and the KV the
    #: verification writes.
    draft_weights_bytes: float
    kv_written_bytes: float


@dataclass(frozen=True)
class ServingExplanation:
    """One `serving` configuration in detail: the sweep row, the step's components, the layout
    (searched or pinned), the per-GPU memory, what bounds the step and every runtime value used.

    ``step_s`` = overhead + kernels + network + work − overlap (``components['work_s']``), whether or not the
    layout fits; ``token_latency_s`` is it when it fits and infinite when not (``infeasible`` says
    why, and the layout is then the one closest to fitting).
    """

    model: Model
    gpu: Gpu
    n_gpus: float
    batch_size: float
    context_len: float
    seq_len: float
    feasible: bool
    row: dict[str, Any]
    token_latency_s: float
    tokens_per_s_per_request: float
    tokens_per_s_per_gpu: float
    usd_per_million_tokens: float
    gpu_seconds_per_token: float
    mfu: float
    components: dict[str, float]
    step_s: float
    shares: dict[str, float]
    #: What the max(memory, compute) term is: "memory" (HBM traffic) or "compute".
    bound: Literal["memory", "compute"]
    #: Of the memory term, the larger part: "weights" (streamed weights and activations) or "kv".
    memory_part: Literal["weights", "kv"]
    #: The component the step spends most on (of overhead, kernels, network, the bound).
    largest: str
    #: Its share of the step.
    largest_share: float
    #: tp, pp, ep, attention_dp, expert_tp of the layout used.
    layout: dict[str, int]
    #: The degrees the caller fixed (the others were searched).
    pinned: dict[str, int]
    memory: ServingMemory
    #: Each runtime field: (value used, where it came from).
    runtime: dict[str, tuple[Any, str]]
    #: The resolved precision: bytes per weight/KV element/activation, bits of each GEMM.
    precision: dict[str, float]
    infeasible: str | None
    #: Where each ``precision`` number came from: a Precision field given, or the model's default.
    precision_sources: dict[str, str] = dataclasses.field(default_factory=dict)
    #: With ``spec_dec``: the draft and verification parts (``components`` are the verification's).
    speculative: SpeculativeParts | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["model"], out["gpu"] = self.model.name, self.gpu.name
        out["memory"] = {**dataclasses.asdict(self.memory), "used_bytes": self.memory.used_bytes,
                         "used_fraction": self.memory.used_fraction}
        out["runtime"] = {k: {"value": v, "source": s} for k, (v, s) in self.runtime.items()}
        out["speculative"] = None if self.speculative is None else dataclasses.asdict(self.speculative)
        return out


def runtime_sources(rt: Runtime | None, g: Gpu) -> dict[str, tuple[Any, str]]:
    """Every runtime field as the engine uses it, with its source: the documented default
    (docs/serving.md's section), the caller's runtime, or the GPU's catalog entry for a None."""
    default = Runtime.default()
    given = default if rt is None else rt
    out: dict[str, tuple[Any, str]] = {}
    for f in dataclasses.fields(Runtime):
        v = getattr(given, f.name)
        src = (f"default (docs/serving.md {_SECTION[f.name]})" if rt is None or v == getattr(default, f.name)
               else "runtime argument")
        if v is None:
            if f.name == "launch_kernel_s":
                v, src = g.kernel_latency_s, f"{src}: None, the GPU's kernel_latency_s"
            elif f.name in ("weight_bandwidth_efficiency", "kv_bandwidth_efficiency"):
                v, src = g.mem_utilization, f"{src}: None, the GPU's mem_utilization"
            elif f.name == "gemm_efficiency":
                v, src = g.flop_utilization, f"{src}: None, the GPU's flop_utilization"
            elif f.name == "expert_imbalance":
                src = f"{src}: None, the expected busiest rank under uniform routing (§R.4)"
            elif f.name == "attention_kernels":
                src = f"{src}: None, epoch's 4 kernels per layer"
        out[f.name] = (v, src)
    if given.cuda_graphs:
        out["launch_kernel_s"] = (out["launch_kernel_s"][0], out["launch_kernel_s"][1]
                                  + " (unused: cuda_graphs replays each kernel at graph_kernel_s)")
    else:
        out["graph_kernel_s"] = (out["graph_kernel_s"][0], out["graph_kernel_s"][1]
                                 + " (unused: cuda_graphs is off)")
    return out


def explain_serving(m: Model, g: Gpu, *, n_gpus: float, batch_size: float, context_len: float, seq_len: float,
                    tp: int | None, pp: int | None, ep: int | None, attention_dp: int | None,
                    runtime: Runtime | None, precision: Precision | None,
                    spec_dec: Any = None) -> ServingExplanation:
    """The serving branch of :func:`infersweep.explain` (its arguments already checked as scalars)."""
    from .precision_sources import precision_sources
    from .sweep import sweep

    pins = {k: v for k, v in (("tp", tp), ("pp", pp), ("ep", ep), ("attention_dp", attention_dp))
            if v is not None}
    r = sweep(m, g, n_gpus=n_gpus, batch_size=batch_size, context_len=context_len, seq_len=seq_len,
              semantics="serving", tp=tp, pp=pp, ep=ep, attention_dp=attention_dp, runtime=runtime,
              precision=precision, spec_dec=spec_dec).row(0, named=True)
    comps = {c: float(r[c]) for c in SERVING_COMPONENTS}
    net = comps["network_latency_s"] + comps["network_bandwidth_s"]
    work = comps["work_s"]
    step_s = comps["overhead_s"] + comps["kernel_s"] + net + work - comps["overlap_s"]
    shares = {c: v / step_s if step_s > 0 else math.nan for c, v in comps.items()}
    bound: Literal["memory", "compute"] = "memory" if comps["memory_s"] >= comps["compute_s"] else "compute"
    part: Literal["weights", "kv"] = "weights" if comps["weight_memory_s"] >= comps["kv_memory_s"] else "kv"
    candidates = {"step overhead": comps["overhead_s"], "kernel launches": comps["kernel_s"],
                  "network": net, "memory" if bound == "memory" else "compute": work}
    largest = max(candidates, key=lambda k: candidates[k])
    feasible = bool(r["feasible"])
    mem = ServingMemory(float(r["weights_gb_per_gpu"]) * 1e9, float(r["kv_gb_per_gpu"]) * 1e9,
                        float(r["reserve_gb_per_gpu"]) * 1e9, g.hbm_bytes, float(r["max_batch_size"]))
    reason = None
    if not feasible:
        if mem.max_batch_size <= 0:
            reason = (f"does not fit: weights {mem.weights_bytes / 1e9:,.1f} GB + reserve "
                      f"{mem.reserve_bytes / 1e9:,.1f} GB per GPU exceed its {g.hbm_bytes / 1e9:g} GB "
                      f"on every layout{' matching the pins' if pins else ''}")
        else:
            reason = (f"does not fit: batch {batch_size:g} > max_batch_size {mem.max_batch_size:g} of the "
                      f"closest layout at context {context_len:g}")
    layout = {k: int(r[k]) for k in ("tp", "pp", "ep", "attention_dp", "expert_tp")}
    spec = None
    if spec_dec is not None:
        total = float(r["draft_s"]) + float(r["verify_s"])
        spec = SpeculativeParts(
            draft=str(r["draft"]), draft_tokens=int(r["draft_tokens"]),
            tokens_per_step=float(r["tokens_per_step"]),
            draft_s=float(r["draft_s"]), verify_s=float(r["verify_s"]), step_s=total,
            draft_share=float(r["draft_s"]) / total if total > 0 else math.nan,
            draft_weights_bytes=float(r["draft_weights_gb_per_gpu"]) * 1e9,
            kv_written_bytes=float(r["kv_written_gb_per_gpu"]) * 1e9)
    return ServingExplanation(
        model=m, gpu=g, n_gpus=float(r["n_gpus"]), batch_size=float(r["batch_size"]),
        context_len=float(r["context_len"]), seq_len=float(r["seq_len"]), feasible=feasible, row=r,
        token_latency_s=float(r["token_latency_s"]),
        tokens_per_s_per_request=float(r["tokens_per_s_per_request"]),
        tokens_per_s_per_gpu=float(r["tokens_per_s_per_gpu"]),
        usd_per_million_tokens=float(r["usd_per_million_tokens"]),
        gpu_seconds_per_token=float(r["gpu_seconds_per_token"]), mfu=float(r["mfu"]), components=comps,
        step_s=step_s, shares=shares, bound=bound, memory_part=part, largest=largest,
        largest_share=candidates[largest] / step_s if step_s > 0 else math.nan, layout=layout,
        pinned={k: int(v) for k, v in pins.items()}, memory=mem, runtime=runtime_sources(runtime, g),
        precision=(precision or Precision()).resolve(m), infeasible=reason,
        precision_sources=precision_sources(precision, m), speculative=spec,
    )
