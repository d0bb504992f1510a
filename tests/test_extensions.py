"""The named extensions of `epoch` (docs/extensions.md), each against a hand computation.

Every expected number below is worked out by hand in the comments, on tiny models where the
arithmetic is short: d = 64, f = 128, L = 4, H = 4 query heads of h = 16, g = 2 (so n_kv = 4 K
and V heads), V = 100, a gated FFN (a_up + a_dn = 3), 2-byte weights and activations. On one
GPU there is one layout (T = 1, f_at = 1, no collective), the test GPU has no kernel or NCCL
latency, so a pass is max(memory, compute) and both are checked term by term.

Shared numbers of the base model ``tiny()`` at one GPU, one sequence (n = 1):

    RW(m, k, n; 1)  = m·k·2 + k·n·2 + m·n·2                     (t1 = t2 = 1 on one GPU)
    RW_attn         = RW(128, 64, 1) + RW(64, 64, 1) = 16,768 + 8,448 = 25,216   (D_attn = 8·16)
    RW_ffn (dense)  = 3·RW(64, 128, 1) = 3·16,768 = 50,304
    fixed bytes     = L·RW_ffn + L·RW_attn + w·V·d = 201,216 + 100,864 + 12,800 = 314,880
    KV per token    = n_kv·h·a = 4·16·2 = 128 B per layer, kappa = 512
    P_attn = 128·64 + 16·4·64 = 12,288;  P_ff = 4·3·64·128 = 98,304;  P_emb = 2·100·64 = 12,800
    P_total = P_active = 4·12,288 + 98,304 + 12,800 = 160,256
    FLOP(ℓ, 1, 1)   = 2·160,256 + 4·h·H·L·ℓ = 320,512 + 1,024·ℓ
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import pytest

import infersweep as isw
from infersweep import reference
from infersweep.errors import SpecError
from infersweep.specs import Gpu, LayerGroup, Model

BETA = 1e9  # B/s
RATES = {4: 4e12, 8: 2e12, 16: 1e12}  # FLOP/s by compute bits
FIXED = 314_880  # bytes of tiny() per pass besides the KV cache (module docstring)


def unit_gpu(**kw: object) -> Gpu:
    """A GPU with round numbers and no latency: a pass on it is max(memory, compute)."""
    args: dict[str, object] = {
        "name": "unit", "flops_by_bits": RATES, "hbm_bandwidth": BETA, "hbm_bytes": 1e12,
        "intra_node_bandwidth": 1e11, "inter_node_bandwidth": 1e10, "gpus_per_node": 8,
        "usd_per_hour": 1.0, "kernel_latency_s": 0.0, "ll_latency_s": 0.0, "ll128_latency_s": 0.0,
    }
    args.update(kw)
    return Gpu(**args)  # type: ignore[arg-type]


def tiny(**kw: object) -> Model:
    args: dict[str, object] = {"name": "tiny", "d_model": 64, "d_ff": 128, "n_layers": 4, "n_heads": 4,
                               "group_size": 2, "vocab_size": 100, "head_dim": 16}
    args.update(kw)
    return Model(**args)  # type: ignore[arg-type]


def one_gpu(m: Model, ctx: float, batch: float = 1, s_pos: float = 1) -> reference.Pass:
    p = reference.token_latency(m, unit_gpu(), 1, batch, ctx, s_pos)
    assert p.feasible and p.pp_degree == 1 and p.attention_scaledown == 1
    assert p.network_latency_s == p.network_bandwidth_s == p.kernel_s == 0
    assert p.latency_s == max(p.memory_s, p.compute_s)
    return p


def close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0)


def test_base_model_by_hand() -> None:
    m = tiny()
    assert (m.attention_params_per_layer, m.ffn_params, m.embedding_params) == (12_288, 98_304, 12_800)
    assert m.total_params == m.active_params == 160_256
    assert m.kv_bytes_per_token == 512 and m.kv_bytes_for_context(1000) == 512_000
    assert reference.rw_attn(m, 1, 1) == 25_216 and reference.rw_ffn(m, 1, 1) == 50_304
    p = one_gpu(m, 1000)
    assert close(p.memory_s, (512_000 + FIXED) / BETA)
    assert close(p.compute_s, (320_512 + 1_024 * 1000) / RATES[16])
    assert not m.uses_extensions and m.groups == (LayerGroup(4, 128),)


# --- §6 attention windows: the KV cache and attention FLOPs stop growing at the window ----------


def windowed() -> Model:
    """Two of the four layers see only the last 100 tokens."""
    return tiny().with_layer_groups([LayerGroup(2, 128, window=100), LayerGroup(2, 128)])


def test_window_kv_bytes_below_and_above_the_window() -> None:
    m = windowed()
    assert (m.n_layers, m.d_ff, m.n_experts) == (4, 128, 1)
    assert m.kv_bytes_per_token == 512  # every layer caches a token the window still covers
    # below W: 2·128·50 + 2·128·50 = 25,600, as without a window
    assert m.kv_bytes_for_context(50) == 25_600 == tiny().kv_bytes_for_context(50)
    # at W: 2·128·100 + 2·128·100 = 51,200; above: 2·128·100 + 2·128·1000 = 281,600
    assert m.kv_bytes_for_context(100) == 51_200
    assert m.kv_bytes_for_context(1000) == 281_600


def test_window_attention_flops() -> None:
    m = windowed()
    # 4·h·H = 256 FLOPs per layer per position: 256·(2·100 + 2·1000) = 563,200 at ℓ = 1000
    assert reference.kv_flop(m, 1000, 1, 1) == 563_200
    assert reference.kv_flop(m, 50, 1, 1) == 256 * 4 * 50 == reference.kv_flop(tiny(), 50, 1, 1)
    # S = 3 positions at ℓ = 1000: l̄ = 1001, windowed layers min(1001, 100) = 100;
    # 256·(2·100 + 2·1001)·n·S with n = 1, S = 3
    assert reference.kv_flop(m, 1000, 1, 3) == 256 * (2 * 100 + 2 * 1001) * 3


def test_window_in_a_pass() -> None:
    p = one_gpu(windowed(), 1000)
    assert close(p.memory_s, (281_600 + FIXED) / BETA)
    assert close(p.compute_s, (320_512 + 563_200) / RATES[16])
    # the window also relaxes capacity: 1 GPU of HBM 1e6 + w·P_total holds 1e6/512 = 1,953 tokens
    # of the full model's cache but 256·100 + 256·ℓ ≤ 1e6, ℓ ≤ 3,806 of the windowed one's
    hbm = 1e6 + 2 * 160_256
    g = unit_gpu(hbm_bytes=hbm)
    assert reference.token_latency(tiny(), g, 1, 1, 1953, 1).feasible
    assert not reference.token_latency(tiny(), g, 1, 1, 1954, 1).feasible
    assert reference.token_latency(windowed(), g, 1, 1, 3806, 1).feasible
    assert not reference.token_latency(windowed(), g, 1, 1, 3807, 1).feasible


# --- §7 tied embeddings ---------------------------------------------------------------------------


def test_tied_embeddings() -> None:
    m = tiny(tied_embeddings=True)
    assert m.embedding_params == 100 * 64 == 6_400
    assert m.total_params == m.active_params == 160_256 - 6_400
    p, q = one_gpu(m, 1000), one_gpu(tiny(), 1000)
    # the unembedding is still read every pass: the memory term is unchanged
    assert p.memory_s == q.memory_s
    # FLOPs: 2·P_active loses 2·6,400
    assert close(p.compute_s, (320_512 - 12_800 + 1_024_000) / RATES[16])


# --- §4 MLA with its RoPE key ---------------------------------------------------------------------


def mla(**kw: object) -> Model:
    """MLA: c = 8, q = 16, RoPE key r = 4, H = 4 heads of 16, L = 2 (n_kv = 8 as MHA)."""
    args: dict[str, object] = {"name": "mla", "d_model": 64, "d_ff": 128, "n_layers": 2, "n_heads": 4,
                               "group_size": 1, "vocab_size": 100, "head_dim": 16, "mla_kv_rank": 8,
                               "mla_q_rank": 16}
    args.update(kw)
    return Model(**args)  # type: ignore[arg-type]


def test_mla_rope_cache_and_params() -> None:
    plain, rope = mla(), mla(mla_rope_dim=4)
    # KV: (c + r)·L·a = (8 + 4)·2·2 = 48 B per token, c·L·a = 32 without the key
    assert (plain.kv_bytes_per_token, rope.kv_bytes_per_token) == (32, 48)
    # P_attn = 2cd + qd + n_kv·h·c + H·h·q + h·H·d = 1,024 + 1,024 + 1,024 + 1,024 + 4,096 = 8,192
    # plus W_KR (d·r = 256) and W_QR (H·r·q = 256)
    assert (plain.attention_params_per_layer, rope.attention_params_per_layer) == (8_192, 8_704)
    assert rope.total_params - plain.total_params == 2 * 512


def test_mla_rope_attention_flops_and_traffic() -> None:
    plain, rope = mla(), mla(mla_rope_dim=4)
    # per layer per position: 4·c·H = 128; with the key 2·H·(2c + r) = 2·4·20 = 160
    assert (plain.attention_flop_coefficient, rope.attention_flop_coefficient) == (128, 160)
    assert reference.kv_flop(rope, 1000, 1, 1) == 160 * 2 * 1000
    # RW_attn on one GPU, n = 1: RW(c+q+r = 28, 64) + RW(D_attn + H·r = 192 + 16 = 208, 28) + RW(64, 64)
    #   = (3,584 + 128 + 56) + (11,648 + 56 + 416) + 8,448 = 24,336
    assert rope.attention_width == 208 and rope.mla_compressed_width == 28
    assert reference.rw_attn(rope, 1, 1) == 24_336
    p = one_gpu(rope, 1000)
    # memory: KV 48·1000 + L·(RW_ffn 50,304 + RW_attn 24,336) + w·V·d 12,800
    assert close(p.memory_s, (48_000 + 2 * (50_304 + 24_336) + 12_800) / BETA)


def test_rope_needs_mla() -> None:
    with pytest.raises(SpecError, match=r"'mla_rope_dim' \(64\) needs MLA"):
        tiny(mla_rope_dim=64)


# --- §8 KV-cache precision ------------------------------------------------------------------------


def test_kv_bytes_one_halves_the_kv_term() -> None:
    m = tiny(kv_bytes=1)
    assert m.kv_bytes_per_token == 256 and m.kv_bytes_for_context(1000) == 256_000
    p, q = one_gpu(m, 1000), one_gpu(tiny(), 1000)
    assert close(p.memory_s, (256_000 + FIXED) / BETA)
    assert close(q.memory_s - p.memory_s, 256_000 / BETA)
    assert p.compute_s == q.compute_s  # weights and activations untouched
    assert tiny(kv_bytes=2) != tiny() and one_gpu(tiny(kv_bytes=2), 1000) == q


# --- §8 compute precision -------------------------------------------------------------------------


def test_compute_bits_picks_the_rate() -> None:
    g = unit_gpu()
    assert g.flops_for(tiny()) == RATES[16]  # epoch: 8·w = 16
    assert g.flops_for(tiny(weight_bytes=0.5)) == RATES[4]
    assert g.flops_for(tiny(weight_bytes=0.5, compute_bits=16)) == RATES[16]
    assert g.flops_for(tiny(weight_bytes=0.5, compute_bits=8)) == RATES[8]
    mxfp4 = tiny(weight_bytes=0.53125, compute_bits=8)  # 4 bits + an 8-bit scale per 32 weights
    assert g.flops_for(mxfp4) == RATES[8]
    with pytest.raises(SpecError, match=r"no rate for 4\.25-bit weights"):
        g.flops_for(tiny(weight_bytes=0.53125))
    with pytest.raises(SpecError, match=r"no rate for 16-bit compute .*compute_bits=16"):
        unit_gpu(flops_by_bits={8: 2e12}).flops_for(tiny(compute_bits=16))
    p = one_gpu(tiny(weight_bytes=0.5, compute_bits=16), 1000)
    assert close(p.compute_s, (320_512 + 1_024_000) / RATES[16])


@pytest.mark.parametrize("bits", [12, 0, 16.5, "16", True])
def test_compute_bits_must_be_a_rate_key(bits: object) -> None:
    with pytest.raises(SpecError, match="'compute_bits' must be None or one of 4, 8, 16"):
        tiny(compute_bits=bits)


# --- §3 shared experts ----------------------------------------------------------------------------


def shared() -> Model:
    """Four MoE layers of 4 experts (1 active) of width 128, plus one shared expert of width 32."""
    return tiny().with_layer_groups([LayerGroup(4, 128, 4, 1, n_shared_experts=1, shared_d_ff=32)])


def test_shared_expert_params_and_flops() -> None:
    m = shared()
    # routed: 4·4·3·64·128 = 393,216; shared: 4·1·3·64·32 = 24,576
    assert (m.ffn_params, m.shared_ffn_params) == (393_216, 24_576)
    assert m.total_params == 49_152 + 393_216 + 24_576 + 12_800 == 479_744
    # active: floor(393,216 / s = 4) = 98,304 routed, every shared weight
    assert m.active_params == 49_152 + 98_304 + 24_576 + 12_800 == 184_832
    # F_ffn = 2·98,304 + 2·24,576 per token
    assert reference.ffn_flop(m, 1, 1) == 245_760
    assert reference.ffn_flop(m, 10, 1) == 2_457_600


def test_shared_expert_traffic() -> None:
    m = shared()
    g = m.groups[0]
    # routed, n = 1: u = 1 − (3/4)^1 = 1/4; 1/4·4·3·RW(64, 128, 1/4) = 3·(16,384 + 64 + 32) = 49,440
    assert reference.rw_ffn(m, 1, 1, g) == 49_440
    # shared: 3·RW(64, 32, 1) = 3·(4,096 + 64 + 128) = 12,864, for every token
    assert reference.rw_shared(m, 1, 1, g) == 12_864
    p = one_gpu(m, 0)
    assert close(p.memory_s, (4 * 49_440 + 4 * 12_864 + 100_864 + 12_800) / BETA)
    assert close(p.compute_s, 2 * 184_832 / RATES[16])
    # the shared expert is tensor-parallel over the whole stage: RW(64, 32, 1; t = 8) has
    # t1 = clip(sqrt(64·8/32) = 4, 1, 8) = 4, t2 = 2: 4,096 + 4·32·2 + 2·64·2 = 4,608
    assert reference.rw_shared(m, 1, 8, g) == 3 * 4_608


def test_shared_width_defaults_to_d_ff() -> None:
    g = LayerGroup(2, 128, 8, 2, n_shared_experts=2)
    assert g.shared_width == 128 and g.sparsity == 4
    m = tiny().with_layer_groups([LayerGroup(2, 256), g])
    assert m.shared_ffn_params == 2 * 2 * 3 * 64 * 128


# --- §1 layer groups: dense first layers, then MoE --------------------------------------------------


def dense_then_moe() -> Model:
    """One dense layer of width 256, then three MoE layers of 4 experts (2 active) of width 128."""
    return tiny().with_layer_groups([LayerGroup(1, 256), LayerGroup(3, 128, 4, 2)])


def test_dense_then_moe_params() -> None:
    m = dense_then_moe()
    assert (m.n_layers, m.d_ff, m.n_experts, m.n_experts_active, m.representative) == (4, 128, 4, 2, 1)
    # P_ff = 1·1·3·64·256 + 3·4·3·64·128 = 49,152 + 294,912
    assert m.ffn_params == 344_064
    # active: floor(49,152 / 1) + floor(294,912 / 2)
    assert m.active_params == 49_152 + 49_152 + 147_456 + 12_800
    assert reference.ffn_flop(m, 1, 1) == 2 * (49_152 + 147_456)


def test_dense_then_moe_memory_term() -> None:
    m = dense_then_moe()
    # dense: 3·RW(64, 256, 1) = 3·(32,768 + 512 + 128) = 100,224 (one layer)
    # MoE:   s = 2, u(1) = 1/2: 1/2·4·3·RW(64, 128, 1/2) = 6·(16,384 + 128 + 64) = 99,456 (three layers)
    assert reference.rw_ffn(m, 1, 1, m.groups[0]) == 100_224
    assert reference.rw_ffn(m, 1, 1, m.groups[1]) == 99_456
    p = one_gpu(m, 1000)
    assert close(p.memory_s, (512_000 + 100_224 + 3 * 99_456 + 100_864 + 12_800) / BETA)


def test_dense_then_moe_layout_reports_the_moe_group() -> None:
    m = dense_then_moe()
    # N = 8, b = 64 ≥ 2·s: the MoE group has N_EP = min(8, 4) = 4 and T_ff = 2; the dense
    # group is tensor-parallel over all 8. The pass reports the MoE group's degrees.
    p = reference.token_latency(m, unit_gpu(), 8, 64, 0)
    assert (p.ep_degree, p.tp_ffn) == (4, 2)
    assert reference.expert_parallel(m, m.groups[0], 8, 64) == (1, 8)
    # below 2·s = 4 tokens per micro-batch no group uses expert parallelism
    assert reference.expert_parallel(m, m.groups[1], 8, 3) == (1, 8)


def test_moe_every_other_layer() -> None:
    """Llama-4 style: MoE on every second layer: the groups say how many, not where."""
    a = tiny().with_layer_groups([LayerGroup(2, 256), LayerGroup(2, 128, 4, 1)])
    b = tiny().with_layer_groups([LayerGroup(2, 128, 4, 1), LayerGroup(2, 256)])
    assert a.total_params == b.total_params and a.active_params == b.active_params
    pa, pb = one_gpu(a, 100), one_gpu(b, 100)
    assert close(pa.memory_s, pb.memory_s) and close(pa.compute_s, pb.compute_s)


# --- §5 attention sinks ---------------------------------------------------------------------------


def test_attention_sinks_cost_nothing() -> None:
    m = tiny(attention_sinks=True)
    assert m.uses_extensions and m.total_params == tiny().total_params
    assert one_gpu(m, 1000) == one_gpu(tiny(), 1000)


# --- `epoch` is the special case ---------------------------------------------------------------------


def _epoch_models() -> list[Model]:
    doc = tomllib.loads(resources.files("infersweep.catalog").joinpath("epoch_models.toml").read_text())
    return [isw.model(name) for name in doc["models"]]


@pytest.mark.parametrize("m", _epoch_models(), ids=lambda m: m.name)
def test_epoch_model_as_one_explicit_group(m: Model) -> None:
    grouped = m.with_layer_groups([LayerGroup(m.n_layers, m.d_ff, m.n_experts, m.n_experts_active)])
    assert grouped.layer_groups is not None and m.layer_groups is None
    assert (grouped.total_params, grouped.active_params, grouped.kv_bytes_per_token) == \
        (m.total_params, m.active_params, m.kv_bytes_per_token)
    g = isw.gpu("H100")
    points = ((8, 1, 0, 1, False), (64, 256, 8192, 1, True), (16, 32, 4096, 4, True),
              (1000, 1024, 100_000, 1, False))
    for n_gpus, batch, ctx, s_pos, pp in points:
        want = reference.token_latency(m, g, n_gpus, batch, ctx, s_pos, pp)
        got = reference.token_latency(grouped, g, n_gpus, batch, ctx, s_pos, pp)
        if not want.feasible:
            assert not got.feasible
            continue
        for f in ("latency_s", "memory_s", "compute_s", "network_latency_s", "network_bandwidth_s",
                  "ep_degree", "tp_ffn", "tp_attention"):
            assert math.isclose(getattr(got, f), getattr(want, f), rel_tol=1e-12, abs_tol=1e-300), (f, n_gpus)


# --- validation ---------------------------------------------------------------------------------------


def test_layers_must_add_up() -> None:
    with pytest.raises(SpecError, match=r"'n_layers' \(4\) must equal the layers of 'layer_groups' "
                                        r"\(1 \+ 2 = 3\)"):
        tiny(layer_groups=(LayerGroup(1, 256), LayerGroup(2, 128)))


def test_representative_fields_must_match() -> None:
    with pytest.raises(SpecError, match=r"'n_experts' \(1\) must equal that of layer_groups\[1\] \(4\)"):
        tiny(layer_groups=(LayerGroup(1, 128), LayerGroup(3, 128, 4, 2)))
    ok = tiny(layer_groups=(LayerGroup(1, 256), LayerGroup(3, 128, 4, 2)), n_experts=4, n_experts_active=2)
    assert ok == dense_then_moe()


@pytest.mark.parametrize(("group", "message"), [
    ({"n_layers": 4, "d_ff": 0}, "'d_ff' must be positive"),
    ({"n_layers": 4, "d_ff": 128, "window": -1}, "'window' must be positive"),
    ({"n_layers": 4, "d_ff": 128, "window": math.inf}, "'window' must be finite"),
    ({"n_layers": 4, "d_ff": 128, "n_experts": 2, "n_experts_active": 3}, "'n_experts_active' .* exceeds"),
    ({"n_layers": 4, "d_ff": 128, "n_shared_experts": -1}, "'n_shared_experts' must be non-negative"),
    ({"n_layers": 4, "d_ff": 128, "experts": 8}, r"unknown field\(s\) \['experts'\]"),
    ({"n_layers": 4}, "missing 1 required positional argument: 'd_ff'"),
])
def test_bad_layer_group_is_named(group: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=r"model 'tiny': field 'layer_groups\[0\]': .*" + message):
        tiny(layer_groups=[group])


@pytest.mark.parametrize("groups", [[], (), "dense", {"n_layers": 4, "d_ff": 128}])
def test_layer_groups_must_be_a_sequence(groups: object) -> None:
    with pytest.raises(SpecError, match="'layer_groups' must be None or a non-empty sequence"):
        tiny(layer_groups=groups)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("kv_bytes", 0, "'kv_bytes' must be positive"),
    ("kv_bytes", "1", "'kv_bytes' must be a number"),
    ("tied_embeddings", 1, "'tied_embeddings' must be a bool"),
    ("attention_sinks", "yes", "'attention_sinks' must be a bool"),
])
def test_bad_extension_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        tiny(**{field: value})


def test_groups_from_dicts_and_round_trip() -> None:
    m = tiny().with_layer_groups([{"n_layers": 1, "d_ff": 256}, {"n_layers": 3, "d_ff": 128, "n_experts": 4,
                                                                 "n_experts_active": 2}])
    assert m == dense_then_moe()
    d = m.to_dict()
    assert d["layer_groups"][1] == {"n_layers": 3.0, "d_ff": 128.0, "n_experts": 4.0, "n_experts_active": 2.0,
                                    "n_shared_experts": 0.0, "shared_d_ff": None, "window": None}
    assert Model(**d) == m
    assert hash(m) == hash(Model(**d))
    assert m.with_layer_groups(None, n_layers=4).layer_groups is None
    assert m.layer_groups is not None and m.layer_groups[1].describe() == "3×MoE(f=128, E=4, k=2)"
    assert LayerGroup(58, 2048, 256, 8, 1, window=4096).describe() == \
        "58×MoE(f=2048, E=256, k=8, shared 1×2048, window 4096)"


# --- the engine computes the same hand numbers --------------------------------------------------------


@pytest.mark.parametrize("build", [windowed, shared, dense_then_moe, lambda: mla(mla_rope_dim=4),
                                   lambda: tiny(tied_embeddings=True, kv_bytes=1),
                                   lambda: tiny(weight_bytes=0.5, compute_bits=16)],
                         ids=["window", "shared", "dense+moe", "rope", "tied+kv1", "compute_bits"])
def test_engine_on_the_hand_models(build: object) -> None:
    m = build()  # type: ignore[operator]
    g = unit_gpu()
    df = isw.sweep(m, g, n_gpus=[1, 8], batch_size=[1, 64], context_len=[0, 50, 1000], semantics="epoch")
    for row in df.iter_rows(named=True):
        want = reference.token_latency(m, g, row["n_gpus"], row["batch_size"], row["context_len"])
        for col, f in (("token_latency_s", "latency_s"), ("memory_s", "memory_s"), ("compute_s", "compute_s"),
                       ("ep_degree", "ep_degree"), ("tp_ffn", "tp_ffn")):
            assert math.isclose(row[col], getattr(want, f), rel_tol=1e-12), (col, row)
    at_1000 = (df["n_gpus"] == 1) & (df["batch_size"] == 1) & (df["context_len"] == 1000)
    one = df.filter(at_1000).row(0, named=True)
    assert one["memory_s"] == one_gpu(m, 1000).memory_s


def test_engine_window_by_hand() -> None:
    row = isw.sweep(windowed(), unit_gpu(), n_gpus=1, batch_size=1, context_len=1000,
                    semantics="epoch").row(0, named=True)
    assert close(row["memory_s"], (281_600 + FIXED) / BETA)
    assert close(row["compute_s"], (320_512 + 563_200) / RATES[16])


# --- other users of a model: scaling and the toy model ---------------------------------------------------


def test_scale_model_scales_each_group() -> None:
    m = dense_then_moe().with_(name="x")
    s = isw.scale_model(m, 8.0)  # δ = 1/3: widths × 8^(1/3) = 2, layers × 2, heads × √2
    assert s.layer_groups is not None and s.n_layers == 8
    assert [g.n_layers for g in s.layer_groups] == [2, 6]
    assert [g.d_ff for g in s.layer_groups] == [512, 256]
    assert (s.d_ff, s.n_experts, s.n_experts_active) == (256, 4, 2)
    sh = isw.scale_model(shared(), 8.0)
    assert sh.layer_groups is not None and sh.layer_groups[0].shared_d_ff == 64
    w = isw.scale_model(windowed(), 8.0)
    assert w.layer_groups is not None and [g.window for g in w.layer_groups] == [100, None]


def test_toy_capacity_sees_windows() -> None:
    # the toy model (§8) refuses what does not fit; windows shrink the cache as in §5
    hbm = 1e6 + 2 * 160_256
    g = unit_gpu(hbm_bytes=hbm)
    lat = isw.toy_latency(tiny(), g, 1, 1, [1953, 1954, 3806, 3807])
    assert list(map(math.isfinite, lat)) == [True, False, False, False]
    lat = isw.toy_latency(windowed(), g, 1, 1, [1953, 1954, 3806, 3807])
    assert list(map(math.isfinite, lat)) == [True, True, True, False]
