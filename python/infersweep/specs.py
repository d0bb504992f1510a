"""Model and GPU specs: frozen, validated dataclasses (docs/model.md §1-2).

Units: widths and counts are plain numbers (they may be fractional: `epoch` semantics treat
every quantity as a real number, and scaled models have fractional widths); bytes per weight
and per activation in bytes; bandwidths in bytes per second; memory in bytes; FLOP rates in
FLOP per second; latencies in seconds; prices in US dollars per GPU-hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
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


def _check_optional(kind: str, name: str, fname: str, value: Any) -> float | None:
    """None, or a positive finite number as a float (SpecError naming the field otherwise)."""
    return None if value is None else _check_number(kind, name, fname, value)


def _check_bool(kind: str, name: str, fname: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"{kind} {name!r}: field {fname!r} must be a bool, got {value!r}")


#: FLOP-rate keys a GPU may carry (``Gpu.flops_by_bits``) and so the valid ``compute_bits``.
RATE_BITS = (4, 8, 16)


@dataclass(frozen=True)
class LayerGroup:
    """A group of layers that share an FFN and an attention window (docs/extensions.md §1).

    ``n_layers`` layers, each with ``n_experts`` routed experts of width ``d_ff`` of which
    ``n_experts_active`` are used per token (1 and 1: a dense FFN), plus ``n_shared_experts``
    shared experts of width ``shared_d_ff`` (default ``d_ff``) that every token uses.
    ``window`` is the attention window in tokens (sliding-window, local or chunked attention):
    a layer's KV cache and attention FLOPs stop growing at it; ``None`` is full attention.
    The groups say how many layers of each kind there are, not where they sit.
    """

    n_layers: float
    d_ff: float
    n_experts: float = 1
    n_experts_active: float = 1
    n_shared_experts: float = 0
    shared_d_ff: float | None = None
    window: float | None = None

    def __post_init__(self) -> None:
        k, n = "layer group", self.describe()
        for fname in ("n_layers", "d_ff", "n_experts", "n_experts_active"):
            object.__setattr__(self, fname, _check_number(k, n, fname, getattr(self, fname)))
        object.__setattr__(self, "n_shared_experts",
                           _check_number(k, n, "n_shared_experts", self.n_shared_experts, allow_zero=True))
        for fname in ("shared_d_ff", "window"):
            object.__setattr__(self, fname, _check_optional(k, n, fname, getattr(self, fname)))
        if self.n_experts_active > self.n_experts:
            raise SpecError(f"{k} {n!r}: field 'n_experts_active' ({self.n_experts_active:g}) "
                            f"exceeds 'n_experts' ({self.n_experts:g})")

    @classmethod
    def from_value(cls, value: LayerGroup | Mapping[str, Any]) -> LayerGroup:
        """A LayerGroup, or one built from a mapping of its fields (a TOML table, ``to_dict``)."""
        if isinstance(value, LayerGroup):
            return value
        if not isinstance(value, Mapping):
            raise SpecError(f"layer group: expected a LayerGroup or a table of its fields, got {value!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise SpecError(f"layer group: unknown field(s) {unknown}; the fields are {sorted(known)}")
        try:
            return cls(**value)
        except TypeError as e:  # a required field is missing
            raise SpecError(f"layer group: {e}") from e

    def describe(self) -> str:
        """One line: ``58×MoE(f=2048, E=256, k=8, shared 1×2048)``, ``5×dense(f=21504, window 1024)``."""
        def num(x: Any) -> str:
            return f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else repr(x)

        moe = isinstance(self.n_experts, (int, float)) and self.n_experts > 1
        parts = [f"f={num(self.d_ff)}"]
        if moe:
            parts += [f"E={num(self.n_experts)}", f"k={num(self.n_experts_active)}"]
        if self.n_shared_experts:
            parts.append(f"shared {num(self.n_shared_experts)}×{num(self.shared_d_ff or self.d_ff)}")
        if self.window is not None:
            parts.append(f"window {num(self.window)}")
        return f"{num(self.n_layers)}×{'MoE' if moe else 'dense'}({', '.join(parts)})"

    @property
    def sparsity(self) -> float:
        """s_g = floor(E_g / k_g)."""
        return float(math.floor(self.n_experts / self.n_experts_active))

    @property
    def shared_width(self) -> float:
        return self.d_ff if self.shared_d_ff is None else self.shared_d_ff

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def representative_group(groups: Sequence[LayerGroup]) -> int:
    """Index of the group that ``Model.d_ff``, ``n_experts`` and ``n_experts_active`` describe:
    the one with the most experts, the first on ties (the MoE group of a dense-then-MoE model).
    Its expert-parallel degree and FFN tensor-parallel degree are the ones a Pass reports."""
    best = 0
    for i, g in enumerate(groups):
        if g.n_experts > groups[best].n_experts:
            best = i
    return best


@dataclass(frozen=True)
class Model:
    """A Transformer, in the fields of docs/model.md §1, with the named extensions of
    docs/extensions.md.

    ``group_size`` is the number of query heads per KV head (``n_heads`` is MQA, 1 is MHA).
    ``head_dim`` defaults to ``floor(d_model / n_heads)``. ``mla_kv_rank`` and ``mla_q_rank``
    (both or neither) make the attention multi-head latent attention, which needs
    ``group_size == 1``. ``weight_bytes`` and ``activation_bytes`` are bytes per number.

    Extensions (each default reproduces `epoch` exactly):

    - ``kv_bytes``: bytes per KV-cache element (default ``activation_bytes``, as in `epoch`).
    - ``compute_bits``: the GPU FLOP-rate key (4, 8 or 16) used for this model; default
      ``8·weight_bytes``, `epoch`'s rule (e.g. FP4 weights computed in BF16: 16).
    - ``tied_embeddings``: one V×d matrix for the input embedding and the unembedding.
    - ``lookup_embedding``: the input embedding is a table lookup, so only the unembedding's V·d
      counts in ``active_params`` and the FLOPs (`epoch` counts 2·V·d, quirk §10.4). Faithful
      models (``from_hf_config``, the modern catalog) set it.
    - ``mla_rope_dim``: MLA's decoupled RoPE key width, cached next to the latent.
    - ``attention_sinks``: gpt-oss's learned per-head sink logit (no cost to model).
    - ``layer_groups``: groups of layers with different FFNs and attention windows; then
      ``n_layers`` is their total and ``d_ff``, ``n_experts`` and ``n_experts_active`` must
      equal those of the representative group (the one with the most experts, the first on
      ties; see :meth:`with_layer_groups`, which sets them).
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
    kv_bytes: float | None = None
    compute_bits: int | None = None
    tied_embeddings: bool = False
    lookup_embedding: bool = False
    mla_rope_dim: float | None = None
    attention_sinks: bool = False
    layer_groups: tuple[LayerGroup, ...] | None = None
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
        for fname in ("parallel_attention", "tied_embeddings", "lookup_embedding", "attention_sinks"):
            _check_bool(k, n, fname, getattr(self, fname))
        self._check_extensions()

    def _check_extensions(self) -> None:
        k, n = "model", self.name
        object.__setattr__(self, "kv_bytes", _check_optional(k, n, "kv_bytes", self.kv_bytes))
        bits: Any = self.compute_bits
        if bits is not None:
            if isinstance(bits, float) and bits.is_integer():
                bits = int(bits)
            if isinstance(bits, bool) or not isinstance(bits, int) or bits not in RATE_BITS:
                raise SpecError(f"model {n!r}: field 'compute_bits' must be None or one of "
                                f"{', '.join(map(str, RATE_BITS))} (a GPU's FLOP-rate keys), got "
                                f"{self.compute_bits!r}")
            object.__setattr__(self, "compute_bits", bits)
        rope = _check_optional(k, n, "mla_rope_dim", self.mla_rope_dim)
        if rope is not None and self.mla_kv_rank is None:
            raise SpecError(f"model {n!r}: field 'mla_rope_dim' ({rope:g}) needs MLA "
                            f"('mla_kv_rank' and 'mla_q_rank')")
        object.__setattr__(self, "mla_rope_dim", rope)
        groups = self.layer_groups
        if groups is None:
            return
        if isinstance(groups, (str, bytes, Mapping)) or not isinstance(groups, Sequence) or not groups:
            raise SpecError(f"model {n!r}: field 'layer_groups' must be None or a non-empty sequence of "
                            f"LayerGroup (or tables of their fields), got {groups!r}")
        parsed = []
        for i, g in enumerate(groups):
            try:
                parsed.append(LayerGroup.from_value(g))
            except SpecError as e:
                raise SpecError(f"model {n!r}: field 'layer_groups[{i}]': {e}") from e
        object.__setattr__(self, "layer_groups", tuple(parsed))
        total = math.fsum(g.n_layers for g in parsed)
        if not math.isclose(total, self.n_layers, rel_tol=1e-9, abs_tol=0.0):
            raise SpecError(f"model {n!r}: field 'n_layers' ({self.n_layers:g}) must equal the layers of "
                            f"'layer_groups' ({' + '.join(f'{g.n_layers:g}' for g in parsed)} = {total:g})")
        rep = representative_group(parsed)
        for fname in ("d_ff", "n_experts", "n_experts_active"):
            if getattr(self, fname) != getattr(parsed[rep], fname):
                raise SpecError(f"model {n!r}: field {fname!r} ({getattr(self, fname):g}) must equal that of "
                                f"layer_groups[{rep}] ({getattr(parsed[rep], fname):g}), the group with the "
                                f"most experts; Model.with_layer_groups sets it")

    # --- derived quantities (docs/model.md §1; the extensions: docs/extensions.md) ---
    @property
    def is_mla(self) -> bool:
        return self.mla_kv_rank is not None

    @property
    def uses_extensions(self) -> bool:
        """Whether any field beyond `epoch`'s is set (docs/extensions.md)."""
        return (self.kv_bytes is not None or self.compute_bits is not None or self.tied_embeddings
                or self.lookup_embedding or self.mla_rope_dim is not None or self.attention_sinks
                or self.layer_groups is not None)

    @property
    def groups(self) -> tuple[LayerGroup, ...]:
        """The layer groups; without ``layer_groups``, one group made of `epoch`'s fields."""
        if self.layer_groups is not None:
            return self.layer_groups
        return (LayerGroup(self.n_layers, self.d_ff, self.n_experts, self.n_experts_active),)

    @property
    def representative(self) -> int:
        """Index in ``groups`` of the group ``d_ff``, ``n_experts`` and ``n_experts_active`` describe."""
        return representative_group(self.groups)

    @property
    def has_windows(self) -> bool:
        return any(g.window is not None for g in self.groups)

    @property
    def sparsity(self) -> float:
        """s = floor(E / k), the sparsity factor (of the representative group)."""
        return float(math.floor(self.n_experts / self.n_experts_active))

    @property
    def kv_heads_total(self) -> float:
        """n_kv = 2·H/g: K and V heads counted together."""
        return 2 * self.n_heads / self.group_size

    @property
    def attention_width(self) -> float:
        """D_attn = (H + n_kv)·h, plus H·r for MLA's RoPE query (extensions §4)."""
        width = (self.n_heads + self.kv_heads_total) * self.head_dim  # type: ignore[operator]
        if self.mla_rope_dim is not None:
            width = width + self.n_heads * self.mla_rope_dim
        return width

    @property
    def mla_compressed_width(self) -> float:
        """c + q (+ r): rows of MLA's down-projection (the RoPE key is projected from x directly)."""
        cq = self.mla_kv_rank + self.mla_q_rank  # type: ignore[operator]
        if self.mla_rope_dim is not None:
            cq = cq + self.mla_rope_dim
        return cq

    @property
    def params_per_expert(self) -> float:
        return (self.ffn_up_matrices + self.ffn_down_matrices) * self.d_model * self.d_ff

    def group_ffn_params(self, g: LayerGroup) -> float:
        """P_ff_g = L_g·E_g·(a_up + a_dn)·d·f_g: a group's routed (or dense) FFN parameters."""
        return g.n_layers * g.n_experts * ((self.ffn_up_matrices + self.ffn_down_matrices)
                                           * self.d_model * g.d_ff)

    def group_shared_params(self, g: LayerGroup) -> float:
        """L_g·n_shared_g·(a_up + a_dn)·d·f_shared_g: a group's shared experts."""
        if not g.n_shared_experts:
            return 0.0
        return g.n_layers * g.n_shared_experts * ((self.ffn_up_matrices + self.ffn_down_matrices)
                                                  * self.d_model * g.shared_width)

    @property
    def ffn_params(self) -> float:
        """P_ff = Σ_g P_ff_g (routed and dense FFNs; shared experts are ``shared_ffn_params``)."""
        total = 0.0
        for g in self.groups:
            total += self.group_ffn_params(g)
        return total

    @property
    def shared_ffn_params(self) -> float:
        total = 0.0
        for g in self.groups:
            total += self.group_shared_params(g)
        return total

    @property
    def active_ffn_params(self) -> float:
        """Σ_g floor(P_ff_g / s_g): the routed FFN parameters a token uses (quirk §10.2's floor)."""
        total = 0.0
        for g in self.groups:
            total += math.floor(self.group_ffn_params(g) / g.sparsity)
        return total

    @property
    def attention_params_per_layer(self) -> float:
        d, H, h = self.d_model, self.n_heads, self.head_dim
        assert h is not None
        if self.mla_kv_rank is None:
            return self.attention_width * d + h * H * d
        c, q = self.mla_kv_rank, self.mla_q_rank
        assert q is not None
        p = 2 * c * d + q * d + self.kv_heads_total * h * c + H * h * q + h * H * d
        if self.mla_rope_dim is not None:  # W_KR (d → r, shared by the heads) and W_QR (q → H·r)
            r = self.mla_rope_dim
            p = p + d * r + H * r * q
        return p

    @property
    def embedding_params(self) -> float:
        """P_emb = 2·V·d (input embedding + unembedding); V·d when tied."""
        if self.tied_embeddings:
            return self.vocab_size * self.d_model
        return 2 * self.vocab_size * self.d_model

    @property
    def active_embedding_params(self) -> float:
        """The embedding parameters a token computes with: P_emb (`epoch`: the input embedding
        counts as a matmul, quirk §10.4), or the unembedding's V·d alone with ``lookup_embedding``."""
        if self.lookup_embedding:
            return self.vocab_size * self.d_model
        return self.embedding_params

    @property
    def total_params(self) -> float:
        """P_total = L·P_attn + Σ_g P_ff_g + P_shared + P_emb."""
        return (self.n_layers * self.attention_params_per_layer + self.ffn_params + self.shared_ffn_params
                + self.embedding_params)

    @property
    def active_params(self) -> float:
        """P_active = L·P_attn + Σ_g floor(P_ff_g / s_g) + P_shared + P_emb (V·d with
        ``lookup_embedding``: :attr:`active_embedding_params`)."""
        return (self.n_layers * self.attention_params_per_layer + self.active_ffn_params
                + self.shared_ffn_params + self.active_embedding_params)

    @property
    def kv_element_bytes(self) -> float:
        """Bytes per KV-cache element: ``kv_bytes``, else ``activation_bytes`` (`epoch`)."""
        return self.activation_bytes if self.kv_bytes is None else self.kv_bytes

    def group_kv_bytes(self, g: LayerGroup) -> float:
        """A group's KV bytes per cached token: n_kv·h·L_g·kv (or (c + r)·L_g·kv for MLA)."""
        if self.mla_kv_rank is None:
            return self.kv_heads_total * self.head_dim * g.n_layers * self.kv_element_bytes  # type: ignore[operator]
        width = self.mla_kv_rank if self.mla_rope_dim is None else self.mla_kv_rank + self.mla_rope_dim
        return width * g.n_layers * self.kv_element_bytes

    @property
    def kv_bytes_per_token(self) -> float:
        """kappa: KV-cache bytes per context token per sequence, ignoring windows (every layer
        caches the token); the bytes for a whole context are :meth:`kv_bytes_for_context`."""
        total = 0.0
        for g in self.groups:
            total += self.group_kv_bytes(g)
        return total

    def kv_bytes_for_context(self, context: float) -> float:
        """KV-cache bytes of one sequence at context ℓ: kappa·ℓ, or with windows
        Σ_g L_g·(bytes per layer per token)·min(ℓ, W_g)."""
        if not self.has_windows:
            return self.kv_bytes_per_token * context
        total = 0.0
        for g in self.groups:
            total += self.group_kv_bytes(g) * (context if g.window is None else min(context, g.window))
        return total

    @property
    def attention_flop_coefficient(self) -> float:
        """FLOPs per layer per token per context position: 4·h_att·H (QK and AV over h_att),
        or 2·(2c + r)·H with MLA's RoPE key (QK over c + r, AV over c)."""
        if self.mla_rope_dim is not None:
            return 2 * (2 * self.mla_kv_rank + self.mla_rope_dim) * self.n_heads  # type: ignore[operator]
        h_att = self.mla_kv_rank if self.is_mla else self.head_dim
        return 4 * h_att * self.n_heads  # type: ignore[operator]

    @property
    def weight_bits(self) -> int:
        return round(8 * self.weight_bytes)

    @property
    def rate_bits(self) -> float:
        """The FLOP-rate key: ``compute_bits``, else 8·weight_bytes (`epoch`)."""
        return 8 * self.weight_bytes if self.compute_bits is None else self.compute_bits

    @classmethod
    def from_hf_config(cls, path_or_dict: Any, **options: Any) -> Model:
        """A model from a Hugging Face ``config.json`` (a local path or a dict; never the network).

        See :func:`infersweep.hf_config.from_hf_config` for the families and ``options``.
        """
        from .hf_config import from_hf_config

        return from_hf_config(path_or_dict, **options)

    def with_(self, **changes: Any) -> Model:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def with_layer_groups(self, groups: Sequence[LayerGroup | Mapping[str, Any]] | None,
                          **changes: Any) -> Model:
        """A copy with these layer groups, ``n_layers`` set to their total and ``d_ff``,
        ``n_experts`` and ``n_experts_active`` to those of the representative group."""
        if groups is None:
            return replace(self, layer_groups=None, **changes)
        parsed = tuple(LayerGroup.from_value(g) for g in groups)
        if not parsed:
            raise SpecError(f"model {self.name!r}: field 'layer_groups' must be non-empty")
        rep = parsed[representative_group(parsed)]
        return replace(self, layer_groups=parsed, n_layers=math.fsum(g.n_layers for g in parsed),
                       d_ff=rep.d_ff, n_experts=rep.n_experts, n_experts_active=rep.n_experts_active,
                       **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data (``layer_groups`` as a list of dicts, or None)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.layer_groups is not None:
            out["layer_groups"] = [g.to_dict() for g in self.layer_groups]
        return out


@dataclass(frozen=True)
class Gpu:
    """An accelerator, in the fields of docs/model.md §2.

    ``flops_by_bits`` maps compute bits (4, 8, 16) to peak dense FLOP/s; the rate used for a
    model is ``flops_by_bits[model.compute_bits]``, or ``flops_by_bits[8 * weight_bytes]`` when
    the model does not set it (`epoch`'s rule: the weights' precision is the compute precision).
    Bandwidths are effective all-reduce bandwidths (Epoch: half the per-direction link
    bandwidth); ``inf`` is allowed for an interconnect that never limits (TPU's intra-node entry).
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
        """Peak FLOP/s for the model's compute precision: ``flops_by_bits[compute_bits]``, or
        ``flops_by_bits[8·weight_bytes]`` (`epoch`) without it; a clear error when not rated."""
        bits = model.rate_bits
        if bits not in self.flops_by_bits:
            what = (f"{bits:g}-bit weights (model {model.name!r}, weight_bytes={model.weight_bytes:g})"
                    if model.compute_bits is None else
                    f"{bits:g}-bit compute (model {model.name!r}, compute_bits={model.compute_bits})")
            raise SpecError(f"gpu {self.name!r}: field 'flops_by_bits' has no rate for {what}; "
                            f"rated: {sorted(self.flops_by_bits)}")
        return self.flops_by_bits[int(bits)]

    def with_(self, **changes: Any) -> Gpu:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SpecDec:
    """Speculative decoding (docs/model.md §6): a drafter on the same GPUs and batch.

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
