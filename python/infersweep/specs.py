"""Model and GPU specs: frozen, validated dataclasses (spec/MODEL.md §1-2).

Units: widths and counts are plain numbers (they may be fractional: `epoch` semantics treat
every quantity as a real number, and scaled models have fractional widths); bytes per weight
and per activation in bytes; bandwidths in bytes per second; memory in bytes; FLOP rates in
FLOP per second; latencies in seconds; prices in US dollars per GPU-hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .errors import SpecError

Collectives = Literal["nccl", "torus"]

#: Longest draft tried: every draft length costs one more forward pass per row, and drafts
#: beyond a few dozen tokens are accepted with negligible probability.
MAX_GAMMA = 64


def _check_number(kind: str, name: str, fname: str, value: Any, *, allow_zero: bool = False,
                  allow_inf: bool = False) -> float:
    """Return `value` as a float, or raise a SpecError naming the spec, field and value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{kind} {name!r}: field {fname!r} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise SpecError(f"{kind} {name!r}: field {fname!r} must be finite, got {value!r}")
    if v < 0 or (v == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise SpecError(f"{kind} {name!r}: field {fname!r} must be {bound}, got {value!r}")
    return v


@dataclass(frozen=True)
class Model:
    """A Transformer, in the fields of spec/MODEL.md §1.

    ``group_size`` is the number of query heads per KV head (``n_heads`` is MQA, 1 is MHA).
    ``head_dim`` defaults to ``floor(d_model / n_heads)``. ``mla_kv_rank`` and ``mla_q_rank``
    (both or neither) make the attention multi-head latent attention, which needs
    ``group_size == 1``. ``weight_bytes`` and ``activation_bytes`` are bytes per number; the
    KV cache is stored at ``activation_bytes``.
    """

    name: str
    d_model: float
    d_ff: float
    n_layers: float
    n_heads: float
    group_size: float
    vocab_size: float
    head_dim: float | None = None
    n_experts: float = 1
    n_experts_active: float = 1
    ffn_up_matrices: int = 2
    ffn_down_matrices: int = 1
    mla_kv_rank: float | None = None
    mla_q_rank: float | None = None
    weight_bytes: float = 2.0
    activation_bytes: float = 2.0
    parallel_attention: bool = False
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        k, n = "model", self.name
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"model: field 'name' must be a non-empty string, got {self.name!r}")
        for fname in ("d_model", "d_ff", "n_layers", "n_heads", "group_size", "n_experts",
                      "n_experts_active", "weight_bytes", "activation_bytes"):
            object.__setattr__(self, fname, _check_number(k, n, fname, getattr(self, fname)))
        object.__setattr__(self, "vocab_size",
                           _check_number(k, n, "vocab_size", self.vocab_size, allow_zero=True))
        if self.head_dim is None:
            object.__setattr__(self, "head_dim", float(math.floor(self.d_model / self.n_heads)))
        object.__setattr__(self, "head_dim", _check_number(k, n, "head_dim", self.head_dim))
        for fname in ("ffn_up_matrices", "ffn_down_matrices"):
            v = getattr(self, fname)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpecError(f"model {n!r}: field {fname!r} must be a positive integer, got {v!r}")
        if self.n_experts_active > self.n_experts:
            raise SpecError(f"model {n!r}: field 'n_experts_active' ({self.n_experts_active:g}) "
                            f"exceeds 'n_experts' ({self.n_experts:g})")
        ratio = self.n_heads / self.group_size
        if ratio != math.floor(ratio):
            raise SpecError(f"model {n!r}: field 'group_size' ({self.group_size:g}) does not divide "
                            f"'n_heads' ({self.n_heads:g})")
        if (self.mla_kv_rank is None) != (self.mla_q_rank is None):
            raise SpecError(f"model {n!r}: fields 'mla_kv_rank' and 'mla_q_rank' must be set together "
                            f"(got {self.mla_kv_rank!r} and {self.mla_q_rank!r})")
        if self.mla_kv_rank is not None:
            object.__setattr__(self, "mla_kv_rank", _check_number(k, n, "mla_kv_rank", self.mla_kv_rank))
            object.__setattr__(self, "mla_q_rank", _check_number(k, n, "mla_q_rank", self.mla_q_rank))
            if self.group_size != 1:
                raise SpecError(f"model {n!r}: MLA needs field 'group_size' == 1, got {self.group_size:g}")
        if not isinstance(self.parallel_attention, bool):
            raise SpecError(f"model {n!r}: field 'parallel_attention' must be a bool, "
                            f"got {self.parallel_attention!r}")

    # --- derived quantities (spec/MODEL.md §1) ---
    @property
    def is_mla(self) -> bool:
        return self.mla_kv_rank is not None

    @property
    def sparsity(self) -> float:
        """s = floor(E / k), the sparsity factor."""
        return float(math.floor(self.n_experts / self.n_experts_active))

    @property
    def kv_heads_total(self) -> float:
        """n_kv = 2·H/g: K and V heads counted together."""
        return 2 * self.n_heads / self.group_size

    @property
    def attention_width(self) -> float:
        """D_attn = (H + n_kv)·h."""
        return (self.n_heads + self.kv_heads_total) * self.head_dim  # type: ignore[operator]

    @property
    def params_per_expert(self) -> float:
        return (self.ffn_up_matrices + self.ffn_down_matrices) * self.d_model * self.d_ff

    @property
    def ffn_params(self) -> float:
        return self.n_layers * self.n_experts * self.params_per_expert

    @property
    def attention_params_per_layer(self) -> float:
        d, H, h = self.d_model, self.n_heads, self.head_dim
        assert h is not None
        if self.mla_kv_rank is None:
            return self.attention_width * d + h * H * d
        c, q = self.mla_kv_rank, self.mla_q_rank
        assert q is not None
        return 2 * c * d + q * d + self.kv_heads_total * h * c + H * h * q + h * H * d

    @property
    def embedding_params(self) -> float:
        return 2 * self.vocab_size * self.d_model

    @property
    def total_params(self) -> float:
        return self.n_layers * self.attention_params_per_layer + self.ffn_params + self.embedding_params

    @property
    def active_params(self) -> float:
        return (self.n_layers * self.attention_params_per_layer
                + math.floor(self.ffn_params / self.sparsity) + self.embedding_params)

    @property
    def kv_bytes_per_token(self) -> float:
        """kappa: KV-cache bytes per context token per sequence."""
        if self.mla_kv_rank is None:
            return self.kv_heads_total * self.head_dim * self.n_layers * self.activation_bytes  # type: ignore[operator]
        return self.mla_kv_rank * self.n_layers * self.activation_bytes

    @property
    def weight_bits(self) -> int:
        return round(8 * self.weight_bytes)

    def with_(self, **changes: Any) -> Model:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Gpu:
    """An accelerator, in the fields of spec/MODEL.md §2.

    ``flops_by_bits`` maps weight bits (4, 8, 16) to peak dense FLOP/s; the rate used for a
    model is ``flops_by_bits[8 * weight_bytes]``. Bandwidths are effective all-reduce
    bandwidths (Epoch: half the per-direction link bandwidth); ``inf`` is allowed for an
    interconnect that never limits (TPU's intra-node entry).
    """

    name: str
    flops_by_bits: Mapping[int, float]
    hbm_bandwidth: float
    hbm_bytes: float
    intra_node_bandwidth: float
    inter_node_bandwidth: float
    gpus_per_node: float
    usd_per_hour: float
    flop_utilization: float = 1.0
    mem_utilization: float = 1.0
    kernel_latency_s: float = 4e-6
    collectives: Collectives = "nccl"
    ll_latency_s: float = 6.8e-6
    ll128_latency_s: float = 14e-6
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        k, n = "gpu", self.name
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"gpu: field 'name' must be a non-empty string, got {self.name!r}")
        if not isinstance(self.flops_by_bits, Mapping) or not self.flops_by_bits:
            raise SpecError(f"gpu {n!r}: field 'flops_by_bits' must be a non-empty mapping "
                            f"of weight bits to FLOP/s, got {self.flops_by_bits!r}")
        rates: dict[int, float] = {}
        for bits, rate in self.flops_by_bits.items():
            b = int(bits)
            if b not in (4, 8, 16) or b != bits:
                raise SpecError(f"gpu {n!r}: field 'flops_by_bits' has key {bits!r}; keys are 4, 8 or 16")
            rates[b] = _check_number(k, n, f"flops_by_bits[{b}]", rate)
        object.__setattr__(self, "flops_by_bits", dict(sorted(rates.items())))
        for fname in ("hbm_bandwidth", "hbm_bytes", "gpus_per_node", "usd_per_hour"):
            object.__setattr__(self, fname, _check_number(k, n, fname, getattr(self, fname)))
        for fname in ("intra_node_bandwidth", "inter_node_bandwidth"):
            object.__setattr__(self, fname, _check_number(k, n, fname, getattr(self, fname), allow_inf=True))
        for fname in ("flop_utilization", "mem_utilization"):
            v = _check_number(k, n, fname, getattr(self, fname))
            if v > 1:
                raise SpecError(f"gpu {n!r}: field {fname!r} must be in (0, 1], got {v!r}")
            object.__setattr__(self, fname, v)
        for fname in ("kernel_latency_s", "ll_latency_s", "ll128_latency_s"):
            object.__setattr__(self, fname,
                               _check_number(k, n, fname, getattr(self, fname), allow_zero=True))
        if self.collectives not in ("nccl", "torus"):
            raise SpecError(f"gpu {n!r}: field 'collectives' must be 'nccl' or 'torus', "
                            f"got {self.collectives!r}")

    def flops_for(self, model: Model) -> float:
        """Peak FLOP/s for the model's weight precision; a clear error when not rated."""
        bits = 8 * model.weight_bytes
        if bits not in self.flops_by_bits:
            raise SpecError(f"gpu {self.name!r}: field 'flops_by_bits' has no rate for "
                            f"{bits:g}-bit weights (model {model.name!r}, weight_bytes="
                            f"{model.weight_bytes:g}); rated: {sorted(self.flops_by_bits)}")
        return self.flops_by_bits[int(bits)]

    def with_(self, **changes: Any) -> Gpu:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SpecDec:
    """Speculative decoding (spec/MODEL.md §6): a drafter on the same GPUs and batch.

    ``acceptance`` is the probability that a drafted token is accepted, in [0, 1);
    drafts of 2 to ``gamma_max`` tokens are tried and the best kept (plain decoding too).
    """

    drafter: Model | str
    acceptance: float
    gamma_max: int = 5

    def __post_init__(self) -> None:
        a = self.acceptance
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not (0 <= a < 1):
            raise SpecError(f"spec_dec: field 'acceptance' must be in [0, 1), got {a!r}")
        g = self.gamma_max
        if isinstance(g, bool) or not isinstance(g, int) or not 2 <= g <= MAX_GAMMA:
            raise SpecError(f"spec_dec: field 'gamma_max' must be an integer in [2, {MAX_GAMMA}], got {g!r}")
        if isinstance(self.drafter, str):
            from .catalog import model as _lookup

            object.__setattr__(self, "drafter", _lookup(self.drafter))
        elif not isinstance(self.drafter, Model):
            raise SpecError(f"spec_dec: field 'drafter' must be a Model or a catalog name, "
                            f"got {self.drafter!r}")
        object.__setattr__(self, "acceptance", float(a))

    @property
    def drafter_model(self) -> Model:
        assert isinstance(self.drafter, Model)
        return self.drafter
