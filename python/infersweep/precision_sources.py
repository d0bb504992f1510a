"""Where each number of a resolved serving precision came from, in words (``isw.explain``).

:meth:`infersweep.Precision.resolve` turns an ``isw.Precision`` (every field optional) and a model
into the ten numbers the engine reads; a field left None falls back to the model's own fields.
:func:`precision_sources` says, for each of the ten, which: a field the caller set, or the model's
default (and, for a model read from a Hugging Face config that declares a ``quantization_config``,
that the declared mix is not used unless asked for: ``isw.Precision.from_hf_config``).
"""

from __future__ import annotations

from .serving import FORMATS, Precision
from .specs import Model

__all__ = ["precision_sources"]

#: Each resolved weight number, its Precision field and the field of its FLOP rate.
_WEIGHTS = {"attention": "attention_compute", "dense_ffn": "ffn_compute", "experts": "expert_compute"}
_BITS = {"attention_bits": "attention", "ffn_bits": "dense_ffn", "expert_bits": "experts"}


def _given(field: str, value: object) -> str:
    return f"Precision field {field!r} = {value!r}"


def precision_sources(precision: Precision | None, m: Model) -> dict[str, str]:
    """``{key of Precision.resolve: where its value came from}`` (module docstring)."""
    p = Precision() if precision is None else precision
    declared = _declared_quantization(m)
    weight_default = (f"the model's weight_bytes ({m.weight_bytes:g})"
                      + (f"; {declared}" if declared else ""))
    out: dict[str, str] = {}
    for field in ("attention", "dense_ffn", "experts", "embeddings"):
        v = getattr(p, field)
        out[field] = weight_default if v is None else _given(field, v)
    kv = (f"the model's kv_bytes ({m.kv_bytes:g})" if m.kv_bytes is not None
          else f"the model's activation_bytes ({m.activation_bytes:g}; its kv_bytes is unset)")
    out["kv_cache"] = kv if p.kv_cache is None else _given("kv_cache", p.kv_cache)
    out["activations"] = (f"the model's activation_bytes ({m.activation_bytes:g})" if p.activations is None
                          else _given("activations", p.activations))
    out["dispatch"] = ("= activations (Precision field 'dispatch' unset)" if p.dispatch is None
                       else _given("dispatch", p.dispatch))
    rate = ("the model's compute_bits" if m.compute_bits is not None
            else "the model's rate_bits (8 × weight_bytes; compute_bits unset)")
    for key, field in _BITS.items():
        compute_field = _WEIGHTS[field]
        bits, weights = getattr(p, compute_field), getattr(p, field)
        if bits is not None:
            out[key] = _given(compute_field, bits)
        elif isinstance(weights, str) and weights.lower() in FORMATS:
            out[key] = f"the rate of the weight format {weights!r} (Precision field {field!r})"
        else:
            out[key] = rate
    return out


def _declared_quantization(m: Model) -> str:
    """A note when the model's source says its config declares a quantization it does not apply."""
    source = m.source or ""
    if "quant_method" not in source:
        return ""
    return ("its Hugging Face config declares a quantization_config, not applied here: pass "
            "precision=isw.Precision.from_hf_config(path) for the declared mix")
