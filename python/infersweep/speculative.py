"""Speculative decoding as deployed, under `serving` semantics (docs/serving.md §D).

``isw.sweep(..., semantics="serving", spec_dec=isw.DraftHeads(kind="mtp", n=3, acceptance=[0.8, 0.6, 0.5]))``
or ``spec_dec=isw.DraftModel("Llama-3.2-1B", n=4, mean_accepted=2.6)``. Each step runs γ = ``n``
draft passes and one verification pass of the target over γ + 1 positions per sequence, and keeps
τ tokens per sequence on average (:func:`tokens_per_step`); ``tpot_s`` = step time / τ.

The draft heads' shapes are built here (:func:`head_model`) as a :class:`~infersweep.Model` of
their decoder layers that shares the target's embedding and LM head; the engine
(rust/serving/speculative.rs) costs it with the serving step's own primitives. `epoch`'s
``isw.SpecDec`` (docs/model.md §6) is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .checks import show
from .errors import SpecError
from .specs import MAX_GAMMA, LayerGroup, Model

__all__ = ["DraftHeads", "DraftModel", "head_model", "tokens_per_step"]

#: k of the k·d → d projection a draft head runs before its decoder layer: MTP's ``eh_proj``
#: (DeepSeek-V3 §2.2: [RMSNorm(h); RMSNorm(Emb(t))] → d) and EAGLE's ``fc`` ([feature; embedding]
#: → d), both 2·d → d.
HEAD_PROJECTION = 2.0


def tokens_per_step(acceptance: Sequence[float]) -> float:
    """τ = 1 + Σ_{i=1}^{γ} Π_{j≤i} a_j: the expected tokens a verification keeps per sequence.

    ``acceptance[i-1]`` = a_i is the probability that draft token i is accepted given that
    tokens 1..i−1 were; draft i counts only if all before it were accepted, and the verification
    adds one token of its own (the correction at the first rejection, or the bonus token after
    γ accepted drafts), hence the 1.
    """
    total, run = 1.0, 1.0
    for a in acceptance:
        run *= a
        total += run
    return total


def _check_n(kind: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_GAMMA:
        raise SpecError(f"{kind}: field 'n' (draft tokens per step) must be an integer in [0, {MAX_GAMMA}], "
                        f"got {show(n)}")
    return n


def _acceptance(kind: str, n: int, acceptance: Any, mean_accepted: Any) -> tuple[tuple[float, ...] | None,
                                                                                  float]:
    """(per-position acceptance or None, τ), validated; SpecError naming the field."""
    if acceptance is not None and mean_accepted is not None:
        raise SpecError(f"{kind}: give field 'acceptance' (per draft position) or 'mean_accepted', not both")
    if mean_accepted is not None:
        v = mean_accepted
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not (number and math.isfinite(v) and 1 <= v <= n + 1):
            raise SpecError(f"{kind}: field 'mean_accepted' (tokens kept per step, the bonus token included) "
                            f"must be in [1, n + 1] = [1, {n + 1}], got {show(v)}")
        return None, float(v)
    if acceptance is None:
        if n == 0:
            return (), 1.0
        raise SpecError(f"{kind}: needs field 'acceptance' (a probability, or one per draft position) or "
                        f"'mean_accepted'")
    if isinstance(acceptance, (int, float)) and not isinstance(acceptance, bool):
        values = [acceptance] * n
    elif (isinstance(acceptance, Sequence) and not isinstance(acceptance, str)) or (
            isinstance(acceptance, np.ndarray) and acceptance.ndim == 1):
        values = [float(a) if isinstance(a, np.floating) else a for a in acceptance]
        if len(values) != n:
            raise SpecError(f"{kind}: field 'acceptance' needs one probability per draft position "
                            f"(n = {n}), got {len(values)}")
    else:
        raise SpecError(f"{kind}: field 'acceptance' must be a probability or a list of them, got "
                        f"{show(acceptance)}")
    for a in values:
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= a <= 1:
            raise SpecError(f"{kind}: field 'acceptance' must hold probabilities in [0, 1], got {show(a)}")
    acc = tuple(float(a) for a in values)
    return acc, tokens_per_step(acc)


@dataclass(frozen=True)
class DraftHeads:
    """Draft heads on the target's hidden state (serving semantics, docs/serving.md §D.1).

    ``kind="mtp"``: DeepSeek-V3's multi-token-prediction module (``num_nextn_predict_layers``
    = 1): a 2d → d projection of [hidden; embedding], ``layers`` decoder layers shaped like the
    target's last layer (its MoE, shared experts and attention), and the target's LM head.
    ``kind="eagle"``: EAGLE's head: the same projection, ``layers`` dense decoder layers with the
    target's attention and an FFN of width ``d_ff`` (default: the target's first dense layer's
    ``d_ff``, else the active width of its MoE layer, k·d_ff + shared), and the target's LM head.
    Both run ``n`` times per step (γ draft tokens, reusing the layer as SGLang's
    ``speculative_num_steps`` and vLLM's ``num_speculative_tokens`` do).

    Acceptance: ``acceptance`` as one probability for every position or a list of γ conditional
    probabilities (a_i = P(draft i accepted | 1..i−1 accepted)), or ``mean_accepted`` τ, the
    tokens kept per step with the bonus token (EAGLE's "average acceptance length", SGLang's
    ``accept_length``, vLLM's mean acceptance length), in [1, n + 1].
    """

    kind: Literal["mtp", "eagle"]
    n: int
    acceptance: float | Sequence[float] | None = None
    mean_accepted: float | None = None
    layers: int = 1
    d_ff: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("mtp", "eagle"):
            raise SpecError(f"draft heads: field 'kind' must be 'mtp' or 'eagle', got {show(self.kind)}")
        who = f"draft heads {self.kind!r}"
        n = _check_n(who, self.n)
        acc, _ = _acceptance(who, n, self.acceptance, self.mean_accepted)
        if acc is not None and self.acceptance is not None:
            object.__setattr__(self, "acceptance", acc)
        if self.mean_accepted is not None:
            object.__setattr__(self, "mean_accepted", float(self.mean_accepted))
        lay = self.layers
        if isinstance(lay, bool) or not isinstance(lay, int) or not 1 <= lay <= 64:
            raise SpecError(f"{who}: field 'layers' must be an integer in [1, 64], got {show(lay)}")
        if self.d_ff is not None:
            if self.kind != "eagle":
                raise SpecError(f"{who}: field 'd_ff' applies to kind='eagle' only (an MTP layer is shaped "
                                f"like the target's last layer)")
            v = self.d_ff
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1 <= v <= 1e7:
                raise SpecError(f"{who}: field 'd_ff' must be a width in [1, 1e7], got {show(v)}")
            object.__setattr__(self, "d_ff", float(v))

    @property
    def tokens_per_step(self) -> float:
        """τ (:func:`tokens_per_step`)."""
        return _acceptance("", self.n, self.acceptance, self.mean_accepted)[1]

    @property
    def label(self) -> str:
        return self.kind


@dataclass(frozen=True)
class DraftModel:
    """A separate drafter model (serving semantics, docs/serving.md §D.1): ``n`` draft passes of
    the drafter per step, sharded like one stage of the target (tp, ep, attention_dp), with its
    own weights, embeddings and KV cache, at its own default precision. Acceptance as for
    :class:`DraftHeads`. (`epoch`'s ``isw.SpecDec`` searches the draft length instead.)"""

    drafter: Model | str
    n: int
    acceptance: float | Sequence[float] | None = None
    mean_accepted: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.drafter, str):
            from .catalog import model as _lookup

            object.__setattr__(self, "drafter", _lookup(self.drafter))
        elif not isinstance(self.drafter, Model):
            raise SpecError(f"draft model: field 'drafter' must be a Model or a catalog name, "
                            f"got {show(self.drafter)}")
        who = f"draft model {self.drafter_model.name!r}"
        n = _check_n(who, self.n)
        acc, _ = _acceptance(who, n, self.acceptance, self.mean_accepted)
        if acc is not None and self.acceptance is not None:
            object.__setattr__(self, "acceptance", acc)
        if self.mean_accepted is not None:
            object.__setattr__(self, "mean_accepted", float(self.mean_accepted))

    @property
    def drafter_model(self) -> Model:
        assert isinstance(self.drafter, Model)
        return self.drafter

    @property
    def tokens_per_step(self) -> float:
        return _acceptance("", self.n, self.acceptance, self.mean_accepted)[1]

    @property
    def label(self) -> str:
        return self.drafter_model.name


Speculative = DraftHeads | DraftModel


def eagle_d_ff(target: Model) -> float:
    """An EAGLE head's default FFN width: the target's first dense layer group's d_ff, else the
    active width of its representative MoE layer (k·d_ff plus its shared experts)."""
    for g in target.groups:
        if g.n_experts <= 1:
            return g.d_ff
    g = target.groups[target.representative]
    return g.n_experts_active * g.d_ff + g.n_shared_experts * g.shared_width


def head_model(target: Model, heads: DraftHeads) -> Model:
    """The heads' decoder layers as a model: the target's attention, width, vocabulary and
    precision; one layer group (MTP: the target's last group's FFN; EAGLE: a dense FFN); the
    embedding and LM head tied (one V×d matrix, the target's, streamed again by every draft pass
    but held once: ``shares_embeddings``). No attention window."""
    if heads.kind == "mtp":
        last = target.groups[-1]
        group = LayerGroup(heads.layers, last.d_ff, last.n_experts, last.n_experts_active,
                           last.n_shared_experts, last.shared_d_ff)
    else:
        group = LayerGroup(heads.layers, heads.d_ff if heads.d_ff is not None else eagle_d_ff(target))
    return Model(
        name=f"{target.name} {heads.kind} head", d_model=target.d_model, d_ff=group.d_ff,
        n_layers=heads.layers, n_heads=target.n_heads, group_size=target.group_size,
        vocab_size=target.vocab_size, head_dim=target.head_dim, n_experts=group.n_experts,
        n_experts_active=group.n_experts_active, ffn_up_matrices=target.ffn_up_matrices,
        ffn_down_matrices=target.ffn_down_matrices, mla_kv_rank=target.mla_kv_rank,
        mla_q_rank=target.mla_q_rank, weight_bytes=target.weight_bytes,
        activation_bytes=target.activation_bytes, kv_bytes=target.kv_bytes, compute_bits=target.compute_bits,
        tied_embeddings=True, lookup_embedding=True, mla_rope_dim=target.mla_rope_dim, layer_groups=(group,),
        source=f"draft heads of {target.name} (python/infersweep/speculative.py head_model)",
    )


def draft_of(target: Model, spec: Speculative) -> Model:
    """The model each draft pass runs: the heads' (:func:`head_model`) or the drafter."""
    return head_model(target, spec) if isinstance(spec, DraftHeads) else spec.drafter_model


def draft_precision(spec: Speculative, draft: Model, precision: Any) -> dict[str, float]:
    """The draft's resolved precision: the target's ``Precision`` for heads (they are trained and
    shipped with it: DeepSeek-V3's FP8 checkpoint holds its MTP layer in FP8), the drafter's own
    defaults for a drafter model."""
    from .serving import Precision

    if isinstance(spec, DraftHeads):
        return (precision or Precision()).resolve(draft)
    return Precision().resolve(draft)


def engine_dict(target: Model, spec: Speculative, precision: Any) -> dict[str, Any]:
    """What rust/serving/speculative.rs reads (`Speculation`)."""
    from .sweep import model_dict

    draft = draft_of(target, spec)
    heads = isinstance(spec, DraftHeads)
    return {"draft": model_dict(draft), "precision": draft_precision(spec, draft, precision), "gamma": spec.n,
            "tokens_per_step": spec.tokens_per_step, "projection": HEAD_PROJECTION if heads else 0.0,
            "shares_embeddings": heads}


def check_spec(spec: Any, seq_len: Any) -> None:
    """A serving ``spec_dec`` must be None, a DraftHeads or a DraftModel, on seq_len = 1."""
    from .errors import GridError
    from .specs import SpecDec

    if spec is None:
        return
    if isinstance(spec, SpecDec):
        raise GridError("grid: field 'spec_dec': isw.SpecDec is epoch's drafter search (pass "
                        "semantics='epoch'); under semantics='serving' (the default) pass "
                        "isw.DraftModel(drafter, n=..., acceptance=...) or "
                        "isw.DraftHeads(kind='mtp'|'eagle', n=..., acceptance=...)")
    if not isinstance(spec, (DraftHeads, DraftModel)):
        raise GridError(f"grid: field 'spec_dec' must be None, an isw.DraftHeads or an isw.DraftModel under "
                        f"semantics='serving', got {show(spec)}")
    bad = np.asarray(seq_len)[np.asarray(seq_len) != 1]
    if bad.size:
        raise GridError(f"grid: field 'seq_len' must be 1 with spec_dec (a speculative step verifies "
                        f"n + 1 positions itself), got {bad[0]!r}")


def sweep_each(run: Any, specs: list[Any]) -> Any:
    """One serving sweep per ``spec_dec`` (None included), concatenated (missing columns null)."""
    import polars as pl

    return pl.concat([run(s) for s in specs], how="diagonal_relaxed")
