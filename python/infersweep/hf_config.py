"""Build a Model from a Hugging Face ``config.json``: a local file, a folder holding one, or a dict.

Nothing is fetched: a hub id such as ``"meta-llama/Llama-3.1-8B"`` is not a local path and is
refused; download the config.json first.

Supported ``model_type`` values (families): ``llama`` (Llama 2/3.x), ``mistral``, ``mixtral``,
``qwen2``, ``qwen3``, ``qwen3_moe``, ``deepseek_v3`` (DeepSeek-V3 and R1; ``deepseek_v2`` has the
same keys), ``gpt_oss``, ``gemma3`` / ``gemma3_text`` (a multimodal config's nested
``text_config`` is read) and ``llama4`` / ``llama4_text`` (likewise). Every family has a gated
FFN (SwiGLU or GeGLU), so ``ffn_up_matrices = 2``.

Mapping onto the `epoch` fields of docs/model.md §1::

    d_model          hidden_size
    d_ff             intermediate_size; per expert for MoE: moe_intermediate_size (qwen3_moe,
                     deepseek), intermediate_size (mixtral, gpt_oss, llama4)
    n_layers         num_hidden_layers
    n_heads          num_attention_heads
    group_size       num_attention_heads / num_key_value_heads (absent: MHA, as transformers)
    head_dim         head_dim when the config has it, else the family's transformers default
                     (gemma3 256, qwen3 128, gpt_oss 64, llama4 128) or d_model / n_heads
    vocab_size       vocab_size
    n_experts        num_local_experts | num_experts | n_routed_experts
    n_experts_active num_experts_per_tok
    mla_kv_rank, mla_q_rank   kv_lora_rank, q_lora_rank (deepseek); group_size 1,
                     head_dim = qk_nope_head_dim

`epoch` counts no norms, no biases (qkv biases of Qwen2 and gpt-oss included), no routers, no
multi-token-prediction modules (DeepSeek's ``num_nextn_predict_layers``) and no vision tower.
Where a published config omits a key, the family's transformers default is used and named in
``Model.source`` (the published gemma-3-27b config has no ``vocab_size``: 262208).

By default (``approximate=False``) the model is faithful, using the extensions of
docs/extensions.md where the config needs them (``Model.source`` lists them)::

    layer_groups     one LayerGroup per distinct (FFN, attention window) over the layers, counted:
                     dense layers (first_k_dense_replace, moe_layer_freq, interleave_moe_layer_step,
                     moe_layers, decoder_sparse_step, mlp_only_layers) of intermediate_size
                     (intermediate_size_mlp for llama4); MoE layers with their shared experts
                     (n_shared_experts; Llama 4: one per MoE layer, as wide as a routed expert);
                     windows from layer_types (sliding_attention: sliding_window,
                     chunked_attention: attention_chunk_size), else the family's transformers
                     rule: mistral/mixtral every layer, qwen2/qwen3 layers >= max_window_layers
                     when use_sliding_window, gemma3 all but every sliding_window_pattern-th,
                     gpt_oss even layers, llama4 the RoPE layers (no_rope_layers, else all but
                     every no_rope_layer_interval-th) with a window of attention_chunk_size
    mla_rope_dim     qk_rope_head_dim (deepseek)
    tied_embeddings  tie_word_embeddings
    attention_sinks  gpt_oss
    lookup_embedding always: the input embedding is a table lookup, not a matmul, so P_active
                     and the FLOPs count only the unembedding's V·d (`epoch` counts 2·V·d; gpt-oss-
                     120b: 5.12B active, published 5.13B, against 5.70B under `epoch`'s count)

A config needing none of the others gives a model of `epoch`'s fields plus ``lookup_embedding``
(``layer_groups`` None). Llama 4's
chunked attention is modelled as a window of the chunk size, an upper bound (noted in the source).
What even the extensions cannot express (``v_head_dim`` != ``qk_nope_head_dim``, ``q_lora_rank``
null) raises ConfigError naming the field and its value.

With ``approximate=True`` the closest model in `epoch`'s fields alone is built (Epoch's own
approximation of DeepSeek-V3 among them) and ``Model.source`` records each approximation. Per
feature:

dense-first layers (``first_k_dense_replace``)
    The dense layers are dropped: only the MoE layers are modelled, with their attention, as Epoch
    does for DeepSeek-V3 (3 of 61 layers: their attention, KV cache and FFN go uncounted).
shared experts (``n_shared_experts``; Llama 4's one shared expert per MoE layer)
    Each shared expert counts as one more active routed expert (k + n_shared, E unchanged), as
    Epoch does for DeepSeek-V3: per-token FLOPs and traffic are right, the total parameter count
    misses the shared experts' weights (n_shared·3·d·f per MoE layer).
MoE on some layers only (``interleave_moe_layer_step``, ``moe_layers``, ``decoder_sparse_step``,
``mlp_only_layers``, ``moe_layer_freq``)
    Every layer is kept (attention and KV cache exact) and the FFN is spread evenly over them:
    a dense layer of width f_dense counts as f_dense/f always-active experts of the expert width f,
    so E' = (n_moe·E + n_dense·f_dense/f)/L and k' = (n_moe·(k + n_shared) + n_dense·f_dense/f)/L
    (fractional). Total FFN parameters are kept; active ones move by `epoch`'s floor(E'/k').
sliding / local / chunked attention (``sliding_window`` where it binds, ``use_sliding_window``,
``layer_types``, ``sliding_window_pattern``, ``attention_chunk_size``)
    Every layer is treated as full attention: the KV cache and attention traffic at contexts past
    the window are overestimated (gemma-3: 5 of 6 layers are local with a 1024 window). A window at
    least ``max_position_embeddings`` long never binds and is not a feature.
attention sinks (gpt_oss: every model has them; no config key)
    Ignored: one learned logit per head, negligible parameters and FLOPs.
MLA RoPE dimensions (``qk_rope_head_dim`` > 0; ``v_head_dim`` != ``qk_nope_head_dim``)
    Ignored as Epoch does: head_dim = qk_nope_head_dim; the cached RoPE key (64 wide for
    DeepSeek-V3) is missing from kv_bytes_per_token and its projection parameters are not counted.
no query compression (``q_lora_rank`` null, e.g. DeepSeek-V2-Lite)
    Modelled as an MLA query rank q = H·h·d / (d + H·h), which gives the direct query projection's
    parameters and FLOPs (q·d + H·h·q = H·h·d).
tied embeddings (``tie_word_embeddings`` true; gemma3's default)
    Counted twice, as `epoch` does (2·V·d): total parameters and per-token FLOPs are over by V·d;
    the per-step weight traffic (`epoch` reads only the unembedding) is exact.
the input embedding (every config)
    Counted as a matmul, as `epoch` does (quirk §10.4: 2·V·d in P_active): active parameters and
    per-token FLOPs are over by V·d.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, SpecError
from .specs import RATE_BITS, LayerGroup, Model

__all__ = ["SUPPORTED_MODEL_TYPES", "from_hf_config"]

# model_type -> family
_FAMILIES: dict[str, str] = {
    "llama": "llama",
    "mistral": "mistral",
    "mixtral": "mixtral",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen3_moe": "qwen3_moe",
    "deepseek_v2": "deepseek",
    "deepseek_v3": "deepseek",
    "gpt_oss": "gpt_oss",
    "gemma3": "gemma3",
    "gemma3_text": "gemma3",
    "llama4": "llama4",
    "llama4_text": "llama4",
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(_FAMILIES))

# Defaults of the transformers config classes, for keys that published configs omit.
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3": {"vocab_size": 262208, "head_dim": 256, "tie_word_embeddings": True,
               "sliding_window": 4096, "sliding_window_pattern": 6},
    "qwen2": {"max_window_layers": 28},
    "qwen3": {"head_dim": 128, "max_window_layers": 28},
    "qwen3_moe": {"head_dim": 128, "decoder_sparse_step": 1, "mlp_only_layers": [], "max_window_layers": 28},
    "gpt_oss": {"head_dim": 64},
    "llama4": {"head_dim": 128, "interleave_moe_layer_step": 1, "no_rope_layer_interval": 4},
    "deepseek": {"first_k_dense_replace": 0, "moe_layer_freq": 1, "n_shared_experts": 0},
}
_MOE_FAMILIES = ("mixtral", "qwen3_moe", "deepseek", "gpt_oss", "llama4")


@dataclass
class _Config:
    """The (text) config with its origin, for reading keys with good error messages."""

    data: Mapping[str, Any]
    origin: str
    family: str
    outer: Mapping[str, Any] = field(default_factory=dict)  # a multimodal config around text_config
    defaults_used: list[str] = field(default_factory=list)

    def where(self) -> str:
        return f"Hugging Face config {self.origin}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The key's value; else the outer config's; else the family default (noted); else `default`."""
        if self.data.get(key) is not None:
            return self.data[key]
        if self.outer.get(key) is not None:
            return self.outer[key]
        fam = _FAMILY_DEFAULTS.get(self.family, {})
        if key in fam:
            self.defaults_used.append(f"{key}={fam[key]!r}")
            return fam[key]
        return default

    def require(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise ConfigError(f"{self.where()}: missing required key {key!r} "
                              f"(model_type {self.model_type!r})")
        return value

    def count(self, key: str, *, required: bool = True, allow_zero: bool = False) -> int | None:
        """A positive integer key (non-negative with `allow_zero`)."""
        value = self.require(key) if required else self.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        bad = isinstance(value, bool) or not isinstance(value, int)
        if bad or value < 0 or (value == 0 and not allow_zero):
            bound = "a non-negative" if allow_zero else "a positive"
            raise ConfigError(f"{self.where()}: key {key!r} must be {bound} integer, got {value!r}")
        return value

    @property
    def model_type(self) -> str:
        return str(self.outer.get("model_type") or self.data.get("model_type"))


@dataclass
class _Feature:
    """Something `epoch` cannot express exactly: the config key, its value, and the approximation."""

    key: str
    value: Any
    what: str
    approximation: str
    shown: str | None = None  # how to show the value, when not its repr

    @property
    def setting(self) -> str:
        return f"{self.key}={self.value!r}" if self.shown is None else f"{self.key}: {self.shown}"

    def describe(self) -> str:
        return f"{self.setting} ({self.what})"


def _read(path_or_dict: str | os.PathLike[str] | Mapping[str, Any],
          ) -> tuple[dict[str, Any], str, Path | None]:
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict), "<dict>", None
    if not isinstance(path_or_dict, (str, os.PathLike)):
        raise ConfigError(f"from_hf_config: expected a path to a config.json or a dict, "
                          f"got {path_or_dict!r} ({type(path_or_dict).__name__})")
    path = Path(path_or_dict)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise ConfigError(f"Hugging Face config {str(path)!r}: no such file (from_hf_config reads local "
                          f"files only, never the network: download the config.json first)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Hugging Face config {str(path)!r}: cannot be read: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"Hugging Face config {str(path)!r} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"Hugging Face config {str(path)!r}: expected a JSON object, "
                          f"got {type(data).__name__}")
    return data, repr(str(path)), path


def _text_config(raw: dict[str, Any], origin: str) -> _Config:
    model_type = raw.get("model_type")
    if model_type is None:
        raise ConfigError(f"Hugging Face config {origin}: missing required key 'model_type'; "
                          f"supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
    if model_type not in _FAMILIES:
        raise ConfigError(f"Hugging Face config {origin}: unsupported model_type {model_type!r}; "
                          f"supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
    family = _FAMILIES[model_type]
    text = raw.get("text_config")
    if family in ("gemma3", "llama4") and text is not None:
        if not isinstance(text, dict):
            raise ConfigError(f"Hugging Face config {origin}: 'text_config' must be an object, got {text!r}")
        outer = {k: v for k, v in raw.items() if k in ("model_type", "tie_word_embeddings", "_name_or_path")}
        return _Config(text, origin, family, outer=outer)
    return _Config(raw, origin, family)


def _default_name(raw: dict[str, Any], path: Path | None, model_type: str) -> str:
    name_or_path = raw.get("_name_or_path")
    if isinstance(name_or_path, str) and name_or_path.strip():
        return name_or_path.rstrip("/").split("/")[-1]
    if path is not None:
        return path.parent.name if path.name == "config.json" and path.parent.name else path.stem
    return model_type


def _window_binds(cfg: _Config, window: Any) -> bool:
    if window is None:
        return False
    max_pos = cfg.get("max_position_embeddings")
    return not (isinstance(max_pos, int) and isinstance(window, int) and window >= max_pos)


def _attention_features(cfg: _Config) -> list[_Feature]:
    full = ("treated as full attention on every layer: KV cache and attention traffic past the window "
            "overestimated")
    out: list[_Feature] = []
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list) and any(t != "full_attention" for t in layer_types):
        kinds = sorted({t for t in layer_types if t != "full_attention"})
        n_local = sum(t != "full_attention" for t in layer_types)
        window = cfg.get("sliding_window")
        out.append(_Feature("layer_types", layer_types, f"local attention layers, sliding_window={window!r}",
                            full, shown=f"{n_local} of {len(layer_types)} layers {', '.join(kinds)}"))
    elif cfg.family in ("mistral", "mixtral"):
        window = cfg.get("sliding_window")
        if _window_binds(cfg, window):
            out.append(_Feature("sliding_window", window, "sliding-window attention", full))
    elif cfg.family in ("qwen2", "qwen3", "qwen3_moe"):
        window = cfg.get("sliding_window")
        if cfg.get("use_sliding_window") and _window_binds(cfg, window):
            out.append(_Feature("use_sliding_window", True, f"sliding-window attention, "
                                f"sliding_window={window!r}, max_window_layers="
                                f"{cfg.get('max_window_layers')!r}", full))
    elif cfg.family == "gemma3":
        pattern = cfg.data.get("_sliding_window_pattern")
        if pattern is None or cfg.has("sliding_window_pattern"):
            pattern = cfg.get("sliding_window_pattern")
        window = cfg.get("sliding_window")
        if isinstance(pattern, int) and pattern > 1 and _window_binds(cfg, window):
            out.append(_Feature("sliding_window_pattern", pattern,
                                f"{pattern - 1} local layers per global one, sliding_window={window!r}",
                                full))
    elif cfg.family == "gpt_oss":
        window = cfg.get("sliding_window")
        if _window_binds(cfg, window):
            out.append(_Feature("sliding_window", window, "alternating sliding-window and full layers", full))
    if cfg.family == "llama4" and cfg.get("attention_chunk_size") is not None:
        out.append(_Feature("attention_chunk_size", cfg.get("attention_chunk_size"),
                            "chunked local attention on the RoPE layers", full))
    if cfg.family == "gpt_oss":
        out.append(_Feature("model_type", cfg.model_type, "attention sinks: one learned logit per head",
                            "sinks ignored (negligible parameters and FLOPs)"))
    return out


@dataclass
class _Ffn:
    d_ff: float
    n_layers: float
    n_experts: float = 1
    n_experts_active: float = 1


@dataclass
class _MoeShape:
    """What an MoE family's config says about its FFNs, layer by layer."""

    f: int  # routed expert width
    n_e: int
    k: int
    is_moe: list[bool]  # per layer (dense layers have width `dense_width_key`)
    shared: int  # shared experts per MoE layer, each f wide
    shared_what: str
    dense_first: int  # deepseek's first_k_dense_replace
    dense_key: tuple[str, Any]  # the config key that makes some layers dense
    dense_width_key: str


def _moe_shape(cfg: _Config, n_layers: int) -> _MoeShape:
    fam = cfg.family
    shared, shared_what, dense_first = 0, "", 0
    is_moe = [True] * n_layers
    dense_key: tuple[str, Any] = ("", None)
    if fam in ("mixtral", "gpt_oss"):
        f, n_e = cfg.count("intermediate_size"), cfg.count("num_local_experts")
        k = cfg.count("experts_per_token" if fam == "gpt_oss" and not cfg.has("num_experts_per_tok")
                      else "num_experts_per_tok")
    elif fam == "qwen3_moe":
        f, n_e = cfg.count("moe_intermediate_size"), cfg.count("num_experts")
        k = cfg.count("num_experts_per_tok")
        step = cfg.count("decoder_sparse_step")
        assert step is not None
        mlp_only = cfg.get("mlp_only_layers") or []
        is_moe = [i not in mlp_only and (i + 1) % step == 0 for i in range(n_layers)]
        dense_key = ("mlp_only_layers", mlp_only) if mlp_only else ("decoder_sparse_step", step)
    elif fam == "llama4":
        f, n_e = cfg.count("intermediate_size"), cfg.count("num_local_experts")
        k = cfg.count("num_experts_per_tok")
        step = cfg.count("interleave_moe_layer_step")
        assert step is not None
        moe_layers = cfg.get("moe_layers")
        if isinstance(moe_layers, list):
            is_moe = [i in moe_layers for i in range(n_layers)]
        else:
            is_moe = [(i + 1) % step == 0 for i in range(n_layers)]
        dense_key = ("interleave_moe_layer_step", step) if step != 1 or moe_layers is None \
            else ("moe_layers", moe_layers)
        shared, shared_what = 1, "one shared expert per MoE layer (Llama 4 architecture; no config key)"
    else:  # deepseek
        f, n_e = cfg.count("moe_intermediate_size"), cfg.count("n_routed_experts")
        k = cfg.count("num_experts_per_tok")
        dense_first = cfg.count("first_k_dense_replace", allow_zero=True) or 0
        freq = cfg.count("moe_layer_freq")
        assert freq is not None
        is_moe = [i >= dense_first and i % freq == 0 for i in range(n_layers)]
        dense_key = ("moe_layer_freq", freq)
        shared = cfg.count("n_shared_experts", allow_zero=True) or 0
        shared_what = "shared experts, always active"
    assert f is not None and n_e is not None and k is not None
    if k > n_e:
        raise ConfigError(f"{cfg.where()}: num_experts_per_tok ({k}) exceeds the number of experts ({n_e})")
    if dense_first >= n_layers:
        raise ConfigError(f"{cfg.where()}: first_k_dense_replace ({dense_first}) leaves no MoE layer "
                          f"of num_hidden_layers ({n_layers})")
    if not any(is_moe):
        raise ConfigError(f"{cfg.where()}: no layer has experts ({dense_key[0]}={dense_key[1]!r})")
    dense_width_key = "intermediate_size_mlp" if fam == "llama4" else "intermediate_size"
    return _MoeShape(f, n_e, k, is_moe, shared, shared_what, dense_first, dense_key, dense_width_key)


def _moe_layout(cfg: _Config, n_layers: int, features: list[_Feature]) -> _Ffn:
    """`epoch`'s approximation of an MoE family's FFNs (approximate=True), with its features."""
    fam = cfg.family
    shape = _moe_shape(cfg, n_layers)
    f, n_e, k, shared, dense_first, dense_key = (shape.f, shape.n_e, shape.k, shape.shared, shape.dense_first,
                                                 shape.dense_key)
    is_moe = shape.is_moe
    if dense_first:
        features.append(_Feature("first_k_dense_replace", dense_first, "dense FFN in the first layers",
                                 f"the {dense_first} dense layers dropped: only the {n_layers - dense_first} "
                                 f"MoE-position layers modelled, as Epoch does for DeepSeek-V3"))
        is_moe = is_moe[dense_first:]
    if shared:
        key = "n_shared_experts" if fam == "deepseek" else "model_type"
        value = shared if fam == "deepseek" else cfg.model_type
        features.append(_Feature(key, value, shape.shared_what,
                                 f"shared expert(s) counted as {shared} more active routed expert(s): "
                                 f"k = {k} + {shared}, E = {n_e} unchanged (as Epoch does); total "
                                 f"parameters miss the shared experts' weights"))
    layers = len(is_moe)
    n_moe = sum(is_moe)
    n_dense = layers - n_moe
    if n_dense == 0:
        return _Ffn(d_ff=f, n_layers=layers, n_experts=n_e, n_experts_active=k + shared)
    if n_moe == 0:
        raise ConfigError(f"{cfg.where()}: no layer has experts ({dense_key[0]}={dense_key[1]!r})")
    f_dense = cfg.count(shape.dense_width_key)
    assert f_dense is not None
    eq = f_dense / f  # a dense layer as this many always-active experts of width f
    e_avg = (n_moe * n_e + n_dense * eq) / layers
    k_avg = (n_moe * (k + shared) + n_dense * eq) / layers
    features.append(_Feature(dense_key[0], dense_key[1], f"MoE on {n_moe} of {layers} layers, dense FFN "
                                                       f"({shape.dense_width_key}={f_dense}) on the rest",
                             f"FFN spread over all {layers} layers: a dense layer counts as {eq:g} active "
                             f"experts of width {f}, so E = {e_avg:g}, k = {k_avg:g} per layer"))
    return _Ffn(d_ff=f, n_layers=layers, n_experts=e_avg, n_experts_active=k_avg)


# ---------------------------------------------------------------------------- faithful mapping


def _binding(cfg: _Config, window: Any, key: str) -> float | None:
    """A window that binds, as a float; None when it never binds (or is absent)."""
    if window is None or not _window_binds(cfg, window):
        return None
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"{cfg.where()}: key {key!r} must be a positive integer, got {window!r}")
    return float(window)


def _layer_windows(cfg: _Config, n_layers: int, notes: list[str]) -> list[float | None]:
    """Each layer's attention window (None: full attention), per the family's rules in transformers."""
    fam = cfg.family
    full: list[float | None] = [None] * n_layers
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list):
        if len(layer_types) != n_layers:
            raise ConfigError(f"{cfg.where()}: 'layer_types' has {len(layer_types)} entries for "
                              f"num_hidden_layers ({n_layers})")
        kinds = {"full_attention": None, "sliding_attention": "sliding_window",
                 "chunked_attention": "attention_chunk_size"}
        out: list[float | None] = []
        for t in layer_types:
            if t not in kinds:
                raise ConfigError(f"{cfg.where()}: 'layer_types' has {t!r}; known: {sorted(kinds)}")
            key = kinds[t]
            out.append(None if key is None else _binding(cfg, cfg.require(key), key))
        if any(w is not None for w in out) and "chunked_attention" in layer_types:
            notes.append(_CHUNKED_NOTE.format(chunk=cfg.get("attention_chunk_size")))
        return out
    if fam in ("mistral", "mixtral"):
        w = _binding(cfg, cfg.get("sliding_window"), "sliding_window")
        return [w] * n_layers
    if fam in ("qwen2", "qwen3", "qwen3_moe"):
        if not cfg.get("use_sliding_window"):
            return full
        w = _binding(cfg, cfg.get("sliding_window"), "sliding_window")
        first = cfg.count("max_window_layers", allow_zero=True)
        assert first is not None
        return [w if i >= first else None for i in range(n_layers)]
    if fam == "gemma3":
        pattern = cfg.data.get("_sliding_window_pattern")
        if pattern is None or cfg.has("sliding_window_pattern"):
            pattern = cfg.count("sliding_window_pattern")
        if not isinstance(pattern, int) or isinstance(pattern, bool) or pattern < 1:
            raise ConfigError(f"{cfg.where()}: key 'sliding_window_pattern' must be a positive integer, "
                              f"got {pattern!r}")
        w = _binding(cfg, cfg.get("sliding_window"), "sliding_window")
        return [w if (i + 1) % pattern else None for i in range(n_layers)]
    if fam == "gpt_oss":  # transformers' default: sliding on even layers
        w = _binding(cfg, cfg.get("sliding_window"), "sliding_window")
        return [w if (i + 1) % 2 else None for i in range(n_layers)]
    if fam == "llama4":
        chunk = _binding(cfg, cfg.get("attention_chunk_size"), "attention_chunk_size")
        if chunk is None:
            return full
        rope = cfg.get("no_rope_layers")
        if isinstance(rope, list) and len(rope) == n_layers:
            uses_rope = [bool(r) for r in rope]
        else:
            interval = cfg.count("no_rope_layer_interval")
            assert interval is not None
            uses_rope = [(i + 1) % interval != 0 for i in range(n_layers)]
        notes.append(_CHUNKED_NOTE.format(chunk=int(chunk)))
        return [chunk if r else None for r in uses_rope]
    return full


_CHUNKED_NOTE = ("chunked attention (attention_chunk_size={chunk}) modelled as a window of {chunk} tokens: "
                 "an upper bound on a chunked layer's KV cache and attention FLOPs (a position sees the "
                 "0 to {chunk} - 1 earlier tokens of its chunk)")


def _layer_ffns(cfg: _Config, n_layers: int) -> list[tuple[float, float, float, float]]:
    """Each layer's FFN as (d_ff, E, k, shared experts), shared experts as wide as a routed one."""
    if cfg.family not in _MOE_FAMILIES:
        f = cfg.count("intermediate_size")
        assert f is not None
        return [(f, 1, 1, 0)] * n_layers
    shape = _moe_shape(cfg, n_layers)
    f_dense = cfg.count(shape.dense_width_key) if not all(shape.is_moe) else 0
    assert f_dense is not None
    return [(shape.f, shape.n_e, shape.k, shape.shared) if moe else (f_dense, 1, 1, 0)
            for moe in shape.is_moe]


def _layer_groups(cfg: _Config, n_layers: int, notes: list[str]) -> list[LayerGroup]:
    """The config's layers as LayerGroups: one per distinct (FFN, window), in order of first use."""
    counts: dict[tuple[Any, ...], int] = {}
    for ffn, window in zip(_layer_ffns(cfg, n_layers), _layer_windows(cfg, n_layers, notes), strict=True):
        key = (*ffn, window)
        counts[key] = counts.get(key, 0) + 1
    return [LayerGroup(n, f, e, k, n_shared_experts=sh, window=w) for (f, e, k, sh, w), n in counts.items()]


@dataclass(frozen=True)
class _Attention:
    """The attention shape a config states, before any decision about what to approximate."""

    group_size: float
    head_dim: float | None
    mla_kv: float | None = None
    #: q_lora_rank (None: queries not compressed).
    q_rank: float | None = None
    rope: int = 0
    v_dim: float | None = None


def _sizes(cfg: _Config) -> tuple[int, int, int, int]:
    """(hidden_size, num_hidden_layers, num_attention_heads, vocab_size)."""
    sizes = tuple(cfg.count(k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                          "vocab_size"))
    assert all(v is not None for v in sizes)
    return sizes  # type: ignore[return-value]


def _read_attention(cfg: _Config, n_heads: int) -> _Attention:
    if cfg.family == "deepseek":
        mla_kv = cfg.count("kv_lora_rank")
        nope = cfg.count("qk_nope_head_dim")
        rope = cfg.count("qk_rope_head_dim", allow_zero=True)
        v_dim = cfg.count("v_head_dim")
        assert nope is not None and v_dim is not None
        q_rank = None if cfg.get("q_lora_rank") is None else cfg.count("q_lora_rank")
        return _Attention(1.0, nope, mla_kv, q_rank, rope or 0, v_dim)
    n_kv = cfg.count("num_key_value_heads", required=False) or n_heads
    if n_heads % n_kv:
        raise ConfigError(f"{cfg.where()}: num_attention_heads ({n_heads}) is not a multiple of "
                          f"num_key_value_heads ({n_kv})")
    return _Attention(n_heads / n_kv, cfg.count("head_dim", required=False))


def _faithful(cfg: _Config, raw: dict[str, Any], path: Path | None, name: str | None,
              precision: dict[str, Any]) -> Model:
    """The model with `epoch`'s fields and the extensions of docs/extensions.md (approximate=False)."""
    fam = cfg.family
    d, n_layers, n_heads, vocab = _sizes(cfg)
    unsupported: list[_Feature] = []
    notes: list[str] = []
    ext: dict[str, Any] = {}

    att = _read_attention(cfg, n_heads)
    mla_kv, mla_q, head_dim, group_size = att.mla_kv, att.q_rank, att.head_dim, att.group_size
    if fam == "deepseek":
        if att.rope:
            ext["mla_rope_dim"] = att.rope
            notes.append(f"MLA RoPE key qk_rope_head_dim={att.rope}: cached with the {mla_kv}-wide latent")
        if att.v_dim != head_dim:
            unsupported.append(_Feature("v_head_dim", att.v_dim,
                                        f"value head width differs from qk_nope_head_dim={head_dim}",
                                        f"head_dim = qk_nope_head_dim = {head_dim} used for values too"))
        if att.q_rank is None:
            unsupported.append(_Feature("q_lora_rank", None, "queries not compressed (no low-rank query)",
                                        "modelled as an equivalent MLA query rank"))

    if unsupported:
        listed = "; ".join(f.describe() for f in unsupported)
        raise ConfigError(f"{cfg.where()} (model_type {cfg.model_type!r}) has features the model cannot "
                          f"express exactly, even with its extensions: {listed}. Pass approximate=True "
                          f"for the closest epoch approximation (recorded in Model.source).")

    groups = _layer_groups(cfg, n_layers, notes)
    if cfg.get("tie_word_embeddings", False):
        ext["tied_embeddings"] = True
        notes.append("tied embeddings: P_emb = V·d")
    ext["lookup_embedding"] = True
    if fam == "gpt_oss":
        ext["attention_sinks"] = True
        notes.append("attention sinks (one learned logit per head; no cost in the model)")
    plain = len(groups) == 1 and groups[0].window is None and not groups[0].n_shared_experts
    if not plain:
        notes.insert(0, "layer groups: " + "; ".join(g.describe() for g in groups))

    parts = [f"Hugging Face config.json {cfg.origin}, model_type {cfg.model_type!r}"]
    parts.append("faithful, with extensions (docs/extensions.md): " + "; ".join(notes) if notes or not plain
                 else "exact epoch mapping")
    parts.append("input embedding a lookup (lookup_embedding): P_active and the FLOPs count the "
                 "unembedding's V·d only")
    parts += _common_source_parts(cfg, raw, precision)
    base = groups[0]
    try:
        m = Model(name=name or _default_name(raw, path, cfg.model_type), d_model=d, d_ff=base.d_ff,
                  n_layers=n_layers, n_heads=n_heads, group_size=group_size, vocab_size=vocab,
                  head_dim=head_dim, n_experts=base.n_experts, n_experts_active=base.n_experts_active,
                  ffn_up_matrices=2, ffn_down_matrices=1, mla_kv_rank=mla_kv, mla_q_rank=mla_q,
                  source="; ".join(parts), **precision, **ext)
        return m if plain else m.with_layer_groups(groups)
    except SpecError as e:
        raise ConfigError(f"{cfg.where()} gives an invalid model: {e}") from e


def _common_source_parts(cfg: _Config, raw: dict[str, Any], precision: dict[str, Any]) -> list[str]:
    parts = ["not counted: norms, biases, MoE routers"]
    if cfg.defaults_used:
        parts.append("transformers defaults for keys the file omits: "
                     + ", ".join(dict.fromkeys(cfg.defaults_used)))
    quant = raw.get("quantization_config")
    if isinstance(quant, dict) and quant.get("quant_method"):
        method = quant["quant_method"]
        hint = (" (MXFP4 stores 4.25 bits per weight: weight_bytes=0.53125 with compute_bits=16 models "
                "the MoE weights)" if method == "mxfp4" else "")
        parts.append(f"the config declares quant_method {method!r}; weight_bytes="
                     f"{precision['weight_bytes']:g} as passed{hint}")
    return parts


def from_hf_config(path_or_dict: str | os.PathLike[str] | Mapping[str, Any], *, name: str | None = None,
                   weight_bytes: float = 2.0, activation_bytes: float = 2.0, kv_bytes: float | None = None,
                   compute_bits: int | None = None, approximate: bool = False) -> Model:
    """A Model from a Hugging Face config.json (a local path, a folder holding one, or a dict).

    By default the model is faithful: dense and MoE layers, shared experts, MLA's RoPE key,
    sliding-window, local/global and chunked attention, tied embeddings and attention sinks are
    expressed with the extensions of docs/extensions.md (``Model.layer_groups`` and friends), and
    the input embedding counts as the lookup it is (``lookup_embedding``: only the unembedding's
    V·d in the active parameters and FLOPs); a config that needs nothing else gives `epoch`'s
    fields plus ``lookup_embedding``. With ``approximate=True`` the
    closest model in `epoch`'s fields alone is built instead (Epoch's own approximation, e.g. of
    DeepSeek-V3) and ``Model.source`` records each approximation.

    ``name`` defaults to the config's ``_name_or_path``, else the folder of a ``config.json`` (or
    the file's stem), else the model_type. ``weight_bytes``, ``activation_bytes``, ``kv_bytes``
    (KV-cache bytes per element, default ``activation_bytes``) and ``compute_bits`` (the GPU
    FLOP-rate key, default 8·weight_bytes) are not read from the config (a ``quantization_config``
    is only mentioned in ``source``).

    Raises ConfigError for an unreadable or malformed file, an unsupported model_type (listing the
    supported ones), a missing or invalid required key (naming it), and, unless ``approximate``,
    for a feature even the extensions cannot express (naming the field and its value).
    """
    for arg, value in (("weight_bytes", weight_bytes), ("activation_bytes", activation_bytes)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise SpecError(f"from_hf_config: {arg!r} must be a positive number, got {value!r}")
    if kv_bytes is not None and (isinstance(kv_bytes, bool) or not isinstance(kv_bytes, (int, float))
                                 or not 0 < kv_bytes < math.inf):
        raise SpecError(f"from_hf_config: 'kv_bytes' must be None or a positive number, got {kv_bytes!r}")
    if compute_bits is not None and (isinstance(compute_bits, bool) or compute_bits not in RATE_BITS):
        raise SpecError(f"from_hf_config: 'compute_bits' must be None or one of "
                        f"{', '.join(map(str, RATE_BITS))}, got {compute_bits!r}")
    precision: dict[str, Any] = {"weight_bytes": weight_bytes, "activation_bytes": activation_bytes,
                                 "kv_bytes": kv_bytes, "compute_bits": compute_bits}
    raw, origin, path = _read(path_or_dict)
    cfg = _text_config(raw, origin)
    if not approximate:
        return _faithful(cfg, raw, path, name, precision)
    return _epoch_approximation(cfg, raw, path, name, precision)


def _epoch_approximation(cfg: _Config, raw: dict[str, Any], path: Path | None, name: str | None,
                         precision: dict[str, Any]) -> Model:
    """The closest model in `epoch`'s fields alone (approximate=True)."""
    fam = cfg.family
    d, n_layers, n_heads, vocab = _sizes(cfg)
    features = _attention_features(cfg)

    # attention
    att = _read_attention(cfg, n_heads)
    mla_kv, mla_q, head_dim, group_size = att.mla_kv, att.q_rank, att.head_dim, att.group_size
    if fam == "deepseek":
        nope = head_dim
        assert nope is not None
        if att.rope:
            features.append(_Feature("qk_rope_head_dim", att.rope,
                                     "decoupled RoPE query/key dimensions of MLA",
                                     f"ignored as Epoch does: head_dim = qk_nope_head_dim = {nope}; the "
                                     f"cached {att.rope}-wide RoPE key is not in kv_bytes_per_token"))
        if att.v_dim != nope:
            features.append(_Feature("v_head_dim", att.v_dim,
                                     f"value head width differs from qk_nope_head_dim={nope}",
                                     f"head_dim = qk_nope_head_dim = {nope} used for values too"))
        if att.q_rank is None:
            hh = n_heads * nope
            mla_q = hh * d / (d + hh)
            features.append(_Feature("q_lora_rank", None, "queries not compressed (no low-rank query)",
                                     f"modelled as an MLA query rank q = H·h·d/(d + H·h) = {mla_q:g}, which "
                                     f"keeps the query parameters and FLOPs"))

    # FFN
    ffn = _moe_layout(cfg, n_layers, features) if fam in _MOE_FAMILIES else \
        _Ffn(d_ff=cfg.count("intermediate_size") or 0, n_layers=n_layers)

    if cfg.get("tie_word_embeddings", False):
        features.append(_Feature("tie_word_embeddings", True, "input and output embeddings shared",
                                 "counted twice as epoch does (2·V·d): total parameters and FLOPs over "
                                 "by V·d, weight traffic exact"))

    parts = [f"Hugging Face config.json {cfg.origin}, model_type {cfg.model_type!r}"]
    if features:
        parts.append("APPROXIMATED (approximate=True): " + "; ".join(
            f"{f.describe()}: {f.approximation}" for f in features))
    else:
        parts.append("exact epoch mapping")
    parts += _common_source_parts(cfg, raw, precision)
    source = "; ".join(parts)

    try:
        return Model(
            name=name or _default_name(raw, path, cfg.model_type),
            d_model=d, d_ff=ffn.d_ff, n_layers=ffn.n_layers, n_heads=n_heads, group_size=group_size,
            vocab_size=vocab, head_dim=head_dim, n_experts=ffn.n_experts,
            n_experts_active=ffn.n_experts_active, ffn_up_matrices=2, ffn_down_matrices=1,
            mla_kv_rank=mla_kv, mla_q_rank=mla_q, source=source, **precision)
    except SpecError as e:
        raise ConfigError(f"{cfg.where()} gives an invalid model: {e}") from e
