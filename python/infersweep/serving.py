"""`serving` semantics: deployable integer layouts, per-GPU memory, per-component precision and
the costs a real server pays (docs/serving.md).

``isw.sweep(..., semantics="serving")`` lands here. The formulas are in docs/serving.md, next to
the `epoch` sections they depart from; :mod:`infersweep.serving_reference` is the plain-Python
oracle the Rust engine (rust/serving/) is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from .errors import GridError, SpecError
from .specs import RATE_BITS, Gpu, Model

#: Weight formats: bytes per weight (block scales included) and the FLOP-rate key a GEMM in that
#: format runs at. NVFP4: 4-bit E2M1 values + one FP8 (E4M3) scale per 16 = 4.5 bits (NVIDIA,
#: "Introducing NVFP4", 2025); MXFP4: 4-bit values + one 8-bit E8M0 scale per 32 = 4.25 bits
#: (OCP Microscaling Formats v1.0, 2023).
FORMATS: dict[str, tuple[float, int]] = {
    "fp32": (4.0, 16),   # no FP32 tensor-core key: treated as the 16-bit rate
    "bf16": (2.0, 16),
    "fp16": (2.0, 16),
    "fp8": (1.0, 8),
    "int8": (1.0, 8),
    "nvfp4": (4.5 / 8, 4),
    "mxfp4": (4.25 / 8, 4),
}


def _bytes_and_bits(field: str, value: Any) -> tuple[float | None, int | None]:
    """(bytes per element, FLOP-rate bits implied) of a format name or a number of bytes."""
    if value is None:
        return None, None
    if isinstance(value, str):
        key = value.lower()
        if key not in FORMATS:
            raise SpecError(f"precision: field {field!r} must be bytes per element or one of "
                            f"{sorted(FORMATS)}, got {value!r}")
        b, bits = FORMATS[key]
        return b, bits
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise SpecError(f"precision: field {field!r} must be a positive number of bytes or a format "
                        f"name, got {value!r}")
    return float(value), None


def _bits(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _bytes_and_bits(field, value)[1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in RATE_BITS:
        raise SpecError(f"precision: field {field!r} must be one of {RATE_BITS} or a format name, "
                        f"got {value!r}")
    return value


@dataclass(frozen=True)
class Precision:
    """Bytes per element of each component, and the FLOP rate each GEMM runs at (serving only).

    Each weight field is a format name (``"bf16"``, ``"fp8"``, ``"nvfp4"``, ``"mxfp4"``, ...)
    or bytes per weight; ``None`` takes the model's ``weight_bytes``. ``kv_cache`` defaults to
    the model's KV precision, ``activations`` (matmul inputs and outputs, all-reduces, the EP
    combine and pipeline sends) to ``activation_bytes``, ``dispatch`` (the EP dispatch, e.g.
    FP8 in DeepEP) to ``activations``. The ``*_compute`` fields are FLOP-rate keys (4, 8, 16) or
    format names; by default a GEMM runs at the rate its weight format names, else the model's
    ``rate_bits``. Attention (projections and the attention over the cache) runs at
    ``attention_compute``; dense FFNs, shared experts and the embeddings at ``ffn_compute``;
    routed experts at ``expert_compute``.
    """

    attention: str | float | None = None
    dense_ffn: str | float | None = None
    experts: str | float | None = None
    embeddings: str | float | None = None
    kv_cache: str | float | None = None
    activations: str | float | None = None
    dispatch: str | float | None = None
    attention_compute: str | int | None = None
    ffn_compute: str | int | None = None
    expert_compute: str | int | None = None

    def __post_init__(self) -> None:
        for f in ("attention", "dense_ffn", "experts", "embeddings", "kv_cache", "activations", "dispatch"):
            _bytes_and_bits(f, getattr(self, f))
        for f in ("attention_compute", "ffn_compute", "expert_compute"):
            _bits(f, getattr(self, f))

    @classmethod
    def from_hf_config(cls, path_or_dict: Any) -> Precision:
        """The mix a Hugging Face ``config.json``'s ``quantization_config`` declares (docs/serving.md §P).

        ``quant_method`` ``"fp8"``: every linear layer in FP8 plus one FP32 scale per
        ``weight_block_size`` block (DeepSeek-V3: 128×128, 1 + 4/16384 bytes per weight), the
        embeddings in BF16; ``"mxfp4"``: MXFP4 for the linear layers, BF16 for the modules of
        ``modules_to_not_convert`` (gpt-oss: attention, router, embeddings). No
        ``quantization_config``: the model's own precision. Other methods are a SpecError.
        """
        import json
        import os

        raw = path_or_dict
        if not isinstance(raw, dict):
            path = os.fspath(raw)
            if os.path.isdir(path):
                path = os.path.join(path, "config.json")
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        quant = raw.get("quantization_config")
        if not quant:
            return cls()
        method = str(quant.get("quant_method", "")).lower()
        keep = [str(x) for x in quant.get("modules_to_not_convert") or []]

        def kept(*names: str) -> bool:
            return any(n in k for k in keep for n in names)

        if method == "fp8":
            block = quant.get("weight_block_size")
            w: str | float = "fp8" if not block else 1.0 + 4.0 / (float(block[0]) * float(block[1]))
            bits = 8
        elif method == "mxfp4":
            w, bits = "mxfp4", 4
        else:
            raise SpecError(f"precision: quantization_config quant_method {method!r} is not supported; "
                            f"supported: 'fp8', 'mxfp4'")
        attention = "bf16" if kept("self_attn", "attn") else w
        dense = "bf16" if kept("mlp.gate_proj", "shared_expert") else w
        embeddings = "bf16" if (method == "fp8" or kept("embed_tokens", "lm_head")) else w
        return cls(attention=attention, dense_ffn=dense, experts=w, embeddings=embeddings,
                   attention_compute=16 if attention == "bf16" else bits,
                   ffn_compute=16 if dense == "bf16" else bits, expert_compute=bits)

    def resolve(self, m: Model) -> dict[str, float]:
        """The ten numbers the engine reads, for model ``m``."""
        def weights(field: str, compute_field: str) -> tuple[float, float]:
            b, implied = _bytes_and_bits(field, getattr(self, field))
            bits = _bits(compute_field, getattr(self, compute_field))
            w = m.weight_bytes if b is None else b
            if bits is None:
                bits = implied if implied is not None else int(m.rate_bits)
            return w, float(bits)

        w_attn, bits_attn = weights("attention", "attention_compute")
        w_ffn, bits_ffn = weights("dense_ffn", "ffn_compute")
        w_exp, bits_exp = weights("experts", "expert_compute")
        w_emb = _bytes_and_bits("embeddings", self.embeddings)[0] or m.weight_bytes
        kv = _bytes_and_bits("kv_cache", self.kv_cache)[0] or m.kv_element_bytes
        act = _bytes_and_bits("activations", self.activations)[0] or m.activation_bytes
        disp = _bytes_and_bits("dispatch", self.dispatch)[0] or act
        return {"attention": w_attn, "dense_ffn": w_ffn, "experts": w_exp, "embeddings": w_emb,
                "kv_cache": kv, "activations": act, "dispatch": disp,
                "attention_bits": bits_attn, "ffn_bits": bits_ffn, "expert_bits": bits_exp}


def _check(name: str, value: Any, *, lo: float = 0.0, hi: float = math.inf, allow_none: bool = False,
           open_lo: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SpecError(f"runtime: field {name!r} must be a number, got {value!r}")
    if value < lo or value > hi or (open_lo and value == lo):
        rng = f"({lo:g}, {hi:g}]" if open_lo else f"[{lo:g}, {hi:g}]"
        raise SpecError(f"runtime: field {name!r} must be in {rng}, got {value!r}")


@dataclass(frozen=True)
class Runtime:
    """What a real server pays on top of kernels, collectives and the roofline (docs/serving.md §R).

    Every default is sourced in docs/serving.md. :meth:`ideal` is the speed-of-light (no
    overhead, full efficiency); :meth:`epoch` is `epoch`'s own costs, under which a layout both
    semantics express costs what `epoch` says (the bridge test).
    """

    #: Fixed host-side work per decode step that an overlap scheduler does not hide (s).
    step_overhead_s: float = 200e-6
    #: Host-side work per sequence a scheduler (one attention-DP group) carries in a step, not
    #: hidden (s): gathering its output, stop checks, detokenisation, input preparation — the costs
    #: that grow with the batch (vLLM v0.6.0 blog, 2024-09-05: scheduling was 29% and the API
    #: server 33% of Llama-3-8B's time on one H100 in v0.5.3). 0 by default: fitted by
    #: ``isw.calibrate`` (docs/calibration.md), not a sourced default.
    sequence_overhead_s: float = 0.0
    #: Decode steps replay a captured CUDA graph: each kernel costs ``graph_kernel_s``;
    #: without graphs each costs ``launch_kernel_s`` (None: the GPU's ``kernel_latency_s``).
    cuda_graphs: bool = True
    graph_kernel_s: float = 1e-6
    launch_kernel_s: float | None = 9e-6
    #: Kernels per decoder layer as a real layer issues them; ``attention_kernels=None`` counts
    #: `epoch`'s 4 per layer instead. Collectives are not counted here (they have their own cost).
    attention_kernels: int | None = 6
    mla_extra_kernels: int = 4
    dense_ffn_kernels: int = 3
    moe_kernels: int = 7
    #: Achieved fractions of peak: HBM bandwidth streaming weights (and activations), reading the
    #: paged KV cache, and large-M GEMM FLOP rate. None: the GPU's mem/flop utilisation cap.
    weight_bandwidth_efficiency: float | None = 0.84
    kv_bandwidth_efficiency: float | None = 0.6
    gemm_efficiency: float | None = 0.7
    #: GEMMs are computed in tiles of this many tokens (0: no quantisation).
    gemm_tile_tokens: int = 64
    #: Tokens on the busiest EP rank over the mean: None estimates the expected maximum under
    #: uniform random routing; a number ≥ 1 fixes it.
    expert_imbalance: float | None = None
    #: Multiplies every collective's latency term (each NCCL algorithm's latency, before the
    #: fastest is chosen, and the torus's): 1 is the GPU's NCCL tuning model (docs/model.md §4)
    #: as it stands. Frameworks replace NCCL's small all-reduces with their own kernels
    #: (TensorRT-LLM's one-shot/two-shot all-reduce, vLLM's and SGLang's custom all-reduce), so
    #: ``isw.calibrate`` can fit it (docs/serving.md §R.7).
    collective_latency_scale: float = 1.0
    #: Each operator class is bound by its own roofline and they run one after another: the
    #: memory-or-compute part of a step is max(KV time, attention-over-cache FLOP time) +
    #: max(weight-stream time, GEMM FLOP time), where False is `epoch`'s max(all memory, all
    #: compute) over the whole step, which lets a memory-bound attention hide under compute-bound
    #: GEMMs although they are separate kernels (docs/serving.md §R.8).
    operator_roofline: bool = True
    #: Fraction of min(network, memory-or-compute) hidden by two-batch overlap (0: none).
    overlap: float = 0.0
    #: Per-GPU memory reserved for activations, workspace and CUDA graphs.
    memory_reserve_fraction: float = 0.1
    memory_reserve_bytes: float = 0.0

    def __post_init__(self) -> None:
        _check("step_overhead_s", self.step_overhead_s, hi=1.0)
        _check("sequence_overhead_s", self.sequence_overhead_s, hi=1e-2)
        for f in ("cuda_graphs", "operator_roofline"):
            if not isinstance(getattr(self, f), bool):
                raise SpecError(f"runtime: field {f!r} must be a bool, got {getattr(self, f)!r}")
        _check("graph_kernel_s", self.graph_kernel_s, hi=1e-2)
        _check("launch_kernel_s", self.launch_kernel_s, hi=1e-2, allow_none=True)
        counts = ("attention_kernels", "mla_extra_kernels", "dense_ffn_kernels", "moe_kernels",
                  "gemm_tile_tokens")
        for f in counts:
            v = getattr(self, f)
            if v is None and f == "attention_kernels":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 4096:
                raise SpecError(f"runtime: field {f!r} must be an integer in [0, 4096], got {v!r}")
        for f in ("weight_bandwidth_efficiency", "kv_bandwidth_efficiency", "gemm_efficiency"):
            _check(f, getattr(self, f), hi=1.0, allow_none=True, open_lo=True)
        _check("expert_imbalance", self.expert_imbalance, lo=1.0, hi=1e6, allow_none=True)
        _check("collective_latency_scale", self.collective_latency_scale, hi=100.0, open_lo=True)
        _check("overlap", self.overlap, hi=1.0)
        _check("memory_reserve_fraction", self.memory_reserve_fraction, hi=0.99)
        _check("memory_reserve_bytes", self.memory_reserve_bytes, hi=1e15)

    @classmethod
    def ideal(cls) -> Runtime:
        """The speed-of-light: no step overhead, no launch cost, peak HBM bandwidth and peak FLOP
        rate (efficiencies 1, whatever the GPU's caps), no tile quantisation, balanced experts,
        no reserve, one roofline over the step (the lower bound). Collectives keep the GPU's NCCL
        model. On a GPU whose caps are 1 and τ is 0
        (H100-ZL) it is :meth:`epoch`."""
        return cls(step_overhead_s=0.0, cuda_graphs=False, launch_kernel_s=0.0, attention_kernels=None,
                   weight_bandwidth_efficiency=1.0, kv_bandwidth_efficiency=1.0, gemm_efficiency=1.0,
                   gemm_tile_tokens=0, expert_imbalance=1.0, operator_roofline=False, overlap=0.0,
                   memory_reserve_fraction=0.0, memory_reserve_bytes=0.0)

    @classmethod
    def epoch(cls) -> Runtime:
        """`epoch`'s costs only: no overhead, 4 launches per layer at the GPU's τ, the GPU's own
        utilisation caps, no tile quantisation, balanced experts, no reserve, one roofline over the
        step. A layout both
        semantics express then costs what `epoch` says (the bridge, tests/test_serving.py)."""
        return cls(step_overhead_s=0.0, cuda_graphs=False, launch_kernel_s=None, attention_kernels=None,
                   weight_bandwidth_efficiency=None, kv_bandwidth_efficiency=None, gemm_efficiency=None,
                   gemm_tile_tokens=0, expert_imbalance=1.0, operator_roofline=False, overlap=0.0,
                   memory_reserve_fraction=0.0, memory_reserve_bytes=0.0)

    @classmethod
    def default(cls) -> Runtime:
        """The documented defaults (docs/serving.md §R)."""
        return cls()

    def with_(self, **changes: Any) -> Runtime:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Output columns of a serving sweep, after the input columns.
SERVING_OUTPUT_COLUMNS = [
    "token_latency_s", "tokens_per_s_per_request", "usd_per_million_tokens", "gpu_seconds_per_token",
    "tokens_per_s_per_gpu", "mfu", "feasible", "overhead_s", "kernel_s", "network_latency_s",
    "network_bandwidth_s", "all_to_all_s", "memory_s", "weight_memory_s", "kv_memory_s", "compute_s",
    "work_s", "overlap_s", "tp", "pp", "ep", "attention_dp", "expert_tp", "weights_gb_per_gpu",
    "kv_gb_per_gpu", "reserve_gb_per_gpu", "max_batch_size",
]
SERVING_INPUT_COLUMNS = ["model", "gpu", "n_gpus", "batch_size", "context_len", "seq_len"]
#: With ``spec_dec`` (docs/serving.md §D): the draft's label and γ after the input columns, and
#: these after the output columns (``token_latency_s`` is then ``tpot_s``; the components, memory
#: and layout columns are the verification pass's, with the draft's memory).
SPEC_INPUT_COLUMNS = ["draft", "draft_tokens"]
SPEC_OUTPUT_COLUMNS = ["tokens_per_step", "draft_s", "verify_s", "tpot_s", "draft_weights_gb_per_gpu",
                       "kv_written_gb_per_gpu"]


def _degrees(name: str, value: Any) -> np.ndarray:
    """A degree axis as uint32 (0 = search over it), or a GridError naming the field."""
    if value is None:
        return np.zeros(1, dtype=np.uint32)
    raw = value.ravel().tolist() if isinstance(value, np.ndarray) else (
        list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value])
    if not raw:
        raise GridError(f"grid: field {name!r} is empty")
    out = []
    for v in raw:
        if v is None:
            out.append(0)
            continue
        if isinstance(v, (bool, np.bool_, str)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise GridError(f"grid: field {name!r} must be positive integers (or None to search), got {v!r}")
        if not float(v).is_integer() or not 1 <= v <= 1 << 20:
            raise GridError(f"grid: field {name!r} must be positive integers (or None to search), got {v!r}")
        out.append(int(v))
    return np.asarray(out, dtype=np.uint32)


def _integers(name: str, arr: np.ndarray) -> np.ndarray:
    bad = arr[(arr != np.floor(arr)) | (arr < 1)]
    if bad.size:
        raise GridError(f"grid: field {name!r} must be positive integers under semantics='serving', "
                        f"got {float(bad[0])!r} (real numbers are the paper's model: pass semantics='epoch')")
    return arr


def sweep_serving(models: list[Model], gpus: list[Gpu], n_gpus: np.ndarray, batch_size: np.ndarray,
                  context_len: np.ndarray, seq_len: np.ndarray, *, tp: Any, pp: Any, ep: Any,
                  attention_dp: Any, runtime: Runtime | None, precision: Precision | None,
                  grid: str, num_threads: int | None, columns: Sequence[str] | None,
                  spec_dec: Any = None) -> pl.DataFrame:
    """The `serving` branch of :func:`infersweep.sweep` (its arguments already normalised)."""
    from . import _core
    from .speculative import check_spec, draft_of, engine_dict
    from .sweep import LABEL_DTYPE, _labels, _unique_names, gpu_dict, model_dict

    rt = Runtime.default() if runtime is None else runtime
    if not isinstance(rt, Runtime):
        raise GridError(f"grid: field 'runtime' must be an isw.Runtime, got {rt!r}")
    prec = Precision() if precision is None else precision
    if not isinstance(prec, Precision):
        raise GridError(f"grid: field 'precision' must be an isw.Precision, got {prec!r}")
    _integers("n_gpus", n_gpus)
    _integers("batch_size", batch_size)
    check_spec(spec_dec, seq_len)
    precisions = [prec.resolve(m) for m in models]
    checked = list(zip(models, precisions, strict=True))
    if spec_dec is not None:
        specs = [engine_dict(m, spec_dec, prec) for m in models]
        checked += [(draft_of(m, spec_dec), s["precision"]) for m, s in zip(models, specs, strict=True)]
    for m, p in checked:
        for g in gpus:
            for comp in ("attention_bits", "ffn_bits", "expert_bits"):
                if int(p[comp]) not in g.flops_by_bits:
                    what = comp.replace("_bits", "_compute")
                    raise SpecError(f"gpu {g.name!r}: field 'flops_by_bits' has no {int(p[comp])}-bit rate "
                                    f"for precision field {what!r} of model {m.name!r}; "
                                    f"rated: {sorted(g.flops_by_bits)}")
    cols = _core.serving_sweep(
        models=[model_dict(m) for m in models], gpus=[gpu_dict(g) for g in gpus],
        precisions=precisions, n_gpus=n_gpus, batch_size=batch_size, context_len=context_len,
        seq_len=seq_len, tp=_degrees("tp", tp), pp=_degrees("pp", pp), ep=_degrees("ep", ep),
        attention_dp=_degrees("attention_dp", attention_dp), runtime=runtime_dict(rt), zip=grid == "zip",
        num_threads=num_threads, speculation=None if spec_dec is None else specs)
    out: dict[str, Any] = {}
    model_names = _unique_names("model", models)
    gpu_names = _unique_names("gpu", gpus)
    out["model"] = _labels("model", model_names, cols["model"], LABEL_DTYPE())
    out["gpu"] = _labels("gpu", gpu_names, cols["gpu"], LABEL_DTYPE())
    for name in ("n_gpus", "batch_size", "context_len", "seq_len"):
        out[name] = cols[name]
    if spec_dec is not None:
        rows = len(cols["n_gpus"])
        out["draft"] = pl.Series("draft", [spec_dec.label], dtype=pl.String).new_from_index(0, rows)
        out["draft_tokens"] = np.full(rows, spec_dec.n, dtype=np.uint32)
    for name in SERVING_OUTPUT_COLUMNS:
        out[name] = cols[name]
    if spec_dec is not None:
        for name in SPEC_OUTPUT_COLUMNS:
            # TPOT is the token latency of a speculative row (the engine sends it once).
            out[name] = cols["token_latency_s" if name == "tpot_s" else name]
    if columns is not None:
        unknown = [c for c in columns if c not in out]
        if unknown:
            raise GridError(f"grid: unknown columns {unknown}; known: {list(out)}")
        out = {k: out[k] for k in columns}
    return pl.DataFrame(out)


def runtime_dict(rt: Runtime) -> dict[str, Any]:
    """The runtime as the engine reads it (None as NaN for the optional numbers)."""
    d = rt.to_dict()
    for f in ("launch_kernel_s", "weight_bandwidth_efficiency", "kv_bandwidth_efficiency", "gemm_efficiency",
              "expert_imbalance"):
        d[f] = math.nan if d[f] is None else float(d[f])
    d["attention_kernels"] = -1 if d["attention_kernels"] is None else d["attention_kernels"]
    return {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in d.items()}


__all__ = ["FORMATS", "Precision", "Runtime"]
