//! Candidate layouts and the search for the best one (docs/model.md §5).
//!
//! Candidates: 2D or 1D tensor parallelism × pipeline degree P × attention scale-down f_at,
//! with expert parallelism fixed by P. The best candidate has the smallest latency; ties keep
//! the first candidate in the order (2D before 1D, P ascending in list order, f_at ascending).
//!
//! Speed without changing a bit of the result: what depends only on P (micro-batch, f_at
//! list, memory and arithmetic time) is computed once for both TP shapes; repeated and
//! infeasible degrees are dropped; per stage size t, the f_at list and every attention
//! all-reduce plan are memoised; and a candidate is skipped as soon as a lower bound on its
//! latency already exceeds the best: first kernel + the network's fixed part + the floors of
//! memory and arithmetic time, then the same with its whole network time, and only then is
//! its exact memory time (three matmuls' traffic) computed. Stages are visited by increasing
//! bound, except that the previous search's winning degree and TP shape go first (a sweep's
//! neighbouring points usually share them), which sets a tight bound early.
//!
//! The attention all-reduces that the first bound leaves out cost at least zero: with nodes
//! of g ≥ 1 GPUs, NCCL's per-level latency (5, 8.5, 28 µs) outweighs the per-rank term, which
//! is negative only when R/nodes < 1, and then log2(nodes) ≥ 1/2 while R/nodes ≥ 1/√2.

use crate::collective::{collective, CollectivePlan, Cost, Kind};
use crate::forward::{Pass, Prepared};
use crate::grid::{ceil_count, logspace_to, CAPACITY_SLACK};
use crate::spec::Hardware;

/// A decode or verification point: N GPUs, b sequences, context ℓ, S positions each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub n_gpus: f64,
    pub batch: f64,
    pub context: f64,
    pub positions: f64,
    pub use_pp: bool,
}

/// (ranks of each all-reduce, the other side of the TP grid, nodes spanned) for t-way TP.
/// A stage within 1e-12 of a whole number of nodes spans that many ([`ceil_count`]).
#[inline]
fn tp_layout(t: f64, gpus_per_node: f64, two_d: bool) -> (f64, f64, f64) {
    if two_d {
        let r = t.sqrt();
        (r, t / r, ceil_count(t / gpus_per_node).sqrt())
    } else {
        (t, 1.0, ceil_count(t / gpus_per_node))
    }
}

/// The best candidate so far. Candidates are compared by latency, then by their position in
/// the canonical order (2D before 1D, then P, then f_at), so that the search may visit them in
/// any order, and skip any whose lower bound is already worse, and still pick what a plain
/// scan of the canonical order picks.
struct Best {
    pass: Pass,
    rank: usize,
}

impl Best {
    #[inline]
    fn beats(&self, total: f64, rank: usize) -> bool {
        total < self.pass.latency_s || (total == self.pass.latency_s && rank < self.rank)
    }

    /// A candidate whose lower bound exceeds the best by more than rounding can be skipped.
    #[inline]
    fn rules_out(&self, lower_bound: f64) -> bool {
        lower_bound > self.pass.latency_s * (1.0 + 1e-12)
    }
}

/// A small direct-mapped memo of log-spaced lists keyed by the bits of their input. Lists
/// depend only on that input, so a hit returns exactly what recomputing would.
struct Memo<const N: usize> {
    keys: Vec<u64>,
    lists: Vec<[f64; N]>,
}

impl<const N: usize> Memo<N> {
    const SLOTS: usize = 256;

    fn new() -> Self {
        Self {
            keys: vec![u64::MAX; Self::SLOTS],
            lists: vec![[0.0; N]; Self::SLOTS],
        }
    }

    /// logspace_to(x, N): 1 to exactly x, memoised on x.
    #[inline]
    fn logspace_to(&mut self, x: f64) -> [f64; N] {
        let key = x.to_bits();
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
        if self.keys[slot] != key {
            logspace_to(x, &mut self.lists[slot]);
            self.keys[slot] = key;
        }
        self.lists[slot]
    }
}

/// Per-thread scratch of the layout search: memoised PP lists, and per stage size the f_at
/// list and the attention all-reduce plans (plus FFN plans of other sizes, for MoE). Sweeps
/// keep one per rayon task; points that share a batch (PP list) or a stage size then skip the
/// `pow`, `log2`, `sqrt` and divisions that dominate the search.
pub struct Scratch {
    pp_lists: Memo<10>,
    stages: TpMemo,
    shapes: ShapeMemo,
    /// Where the last search's winner was: (position in the PP list, 2D). Neighbouring points
    /// of a sweep usually win with the same layout, so visiting it first sets a tight bound.
    hint: (usize, bool),
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            pp_lists: Memo::new(),
            stages: TpMemo::new(),
            shapes: ShapeMemo::new(),
            hint: (0, false),
        }
    }
}

/// One attention TP shape of a stage: t_at = t / f_at GPUs, the other side of the grid and
/// the all-reduce plan over its ranks.
#[derive(Clone, Copy)]
struct AttentionShape {
    t_at: f64,
    ranks: f64,
    other: f64,
    plan: CollectivePlan,
}

/// What the search needs about a stage of t GPUs on one hardware: the f_at list, and for
/// each TP shape (2D, 1D) and f_at the attention shape, built the first time a candidate
/// needs it. Everything here depends on (t, hardware) alone.
struct TpEntry {
    key: (u64, usize),
    scaledowns: [f64; 6],
    /// Bit 6·shape + f_at index is set once `attention[shape][f_at index]` is built.
    built: u16,
    attention: [[AttentionShape; 6]; 2],
}

/// Direct-mapped memo of [`TpEntry`] by (t, hardware address): rows that share a stage
/// size (a row of the frontier grid shares N) reuse the f_at list and the plans.
struct TpMemo {
    entries: Vec<TpEntry>,
}

impl TpMemo {
    const SLOTS: usize = 64;

    fn new() -> Self {
        let empty = AttentionShape {
            t_at: 0.0,
            ranks: 0.0,
            other: 0.0,
            plan: CollectivePlan::new_trivial(),
        };
        Self {
            entries: (0..Self::SLOTS)
                .map(|_| TpEntry {
                    key: (u64::MAX, usize::MAX),
                    scaledowns: [0.0; 6],
                    built: 0,
                    attention: [[empty; 6]; 2],
                })
                .collect(),
        }
    }

    /// The entry of a stage of `t` GPUs, its f_at list filled: logspace_to(t, 6), which ends
    /// at exactly t (attention on exactly one GPU, no all-reduce).
    #[inline]
    fn entry(&mut self, hw: &Hardware, t: f64) -> &mut TpEntry {
        let key = (t.to_bits(), std::ptr::from_ref(hw) as usize);
        let slot = (key.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
        let e = &mut self.entries[slot];
        if e.key != key {
            logspace_to(t, &mut e.scaledowns);
            e.built = 0;
            e.key = key;
        }
        e
    }
}

impl TpEntry {
    /// The attention shape of TP shape `ti` (0 = 2D) at the `fi`-th f_at, for `t` GPUs.
    #[inline]
    fn attention(&mut self, hw: &Hardware, t: f64, ti: usize, fi: usize) -> &AttentionShape {
        let bit = 1u16 << (6 * ti + fi);
        if self.built & bit == 0 {
            let t_at = t / self.scaledowns[fi];
            let (ranks, other, nodes) = tp_layout(t_at, hw.gpus_per_node, ti == 0);
            self.attention[ti][fi] = AttentionShape {
                t_at,
                ranks,
                other,
                plan: CollectivePlan::new(hw, ranks, nodes, Kind::AllReduce),
            };
            self.built |= bit;
        }
        &self.attention[ti][fi]
    }
}

/// A TP shape and its all-reduce plan: (ranks, other side, nodes, plan).
type Shape = (f64, f64, f64, CollectivePlan);

/// Direct-mapped memo of TP shapes by (t, 2D or not) for one hardware: the shape and the
/// all-reduce's latency terms depend on t alone, so rows that share a TP degree (a row of
/// the frontier grid shares N) skip the sqrt, ceil, log2 and divisions. Entries are what a
/// direct computation gives, bit for bit.
struct ShapeMemo {
    keys: Vec<(u64, bool, usize)>,
    shapes: Vec<Shape>,
}

impl ShapeMemo {
    const SLOTS: usize = 512;

    fn new() -> Self {
        let empty = CollectivePlan::new_trivial();
        Self {
            keys: vec![(u64::MAX, false, usize::MAX); Self::SLOTS],
            shapes: vec![(0.0, 0.0, 0.0, empty); Self::SLOTS],
        }
    }

    #[inline]
    fn get(&mut self, hw: &Hardware, t: f64, two_d: bool) -> &Shape {
        // The hardware's address tells sweeps over several GPUs apart.
        let key = (t.to_bits(), two_d, std::ptr::from_ref(hw) as usize);
        let slot = ((key.0 ^ u64::from(two_d)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) as usize;
        if self.keys[slot] != key {
            let (r, other, nodes) = tp_layout(t, hw.gpus_per_node, two_d);
            self.shapes[slot] = (
                r,
                other,
                nodes,
                CollectivePlan::new(hw, r, nodes, Kind::AllReduce),
            );
            self.keys[slot] = key;
        }
        &self.shapes[slot]
    }
}

/// Everything about a pipeline degree that does not depend on the TP shape or f_at.
struct Stage {
    /// Position of P in the canonical PP list.
    index: usize,
    p: f64,
    bm: f64,
    t: f64,
    n_ep: f64,
    t_ff: f64,
    mem_fixed: f64,
    /// A lower bound on every candidate of this stage: kernel + memory/arithmetic bounds.
    bound_s: f64,
}

/// token_latency(N, b, ℓ, S): the best layout's forward pass.
pub fn best_pass(prep: &Prepared, pt: Point) -> Pass {
    best_pass_in(prep, pt, &mut Scratch::default())
}

/// [`best_pass`] with a reusable scratch (identical results, faster over many points).
pub fn best_pass_in(prep: &Prepared, pt: Point, scratch: &mut Scratch) -> Pass {
    let m = prep.model;
    let hw = prep.hw;
    let (n_gpus, b, ctx, s_pos) = (pt.n_gpus, pt.batch, pt.context, pt.positions);
    let (a, layers, d) = (m.activation_bytes, m.n_layers, m.d_model);
    let rep = &prep.groups[prep.representative];
    let node = hw.gpus_per_node;
    let mut pp_list = [1.0; 11];
    let pp_len = if pt.use_pp {
        // Degrees are >= 1: with min(b, L) < 1 the list is all ones, i.e. [1].
        pp_list[1..].copy_from_slice(&scratch.pp_lists.logspace_to(b.min(layers).max(1.0)));
        11
    } else {
        1
    };
    let flops = prep.flop_split(ctx, b * s_pos);
    let compute_at =
        |f_at: f64| (flops.ffn + flops.kv + f_at * flops.projections) / (n_gpus * prep.flops_eff);
    // Arithmetic time is linear in f_at ∈ [1, T]: its minimum is at an end.
    let compute_floor = |t: f64| compute_at(1.0).min(compute_at(t * (1.0 + 1e-9)));

    // KV-cache bytes per sequence: kappa·ℓ, or per group up to its window.
    let kv_ctx = prep.kv_bytes_at(ctx);

    let mut stages: [Option<Stage>; 11] = Default::default();
    let mut n_stages = 0;
    for (index, &p) in pp_list[..pp_len].iter().enumerate() {
        let bm = b / p;
        // Capacity (1e-12 relative slack) and P ≤ min(N, b): an infeasible stage has no
        // candidates. A repeated degree repeats its candidates exactly and can never beat
        // the first of them.
        let infeasible = n_gpus * hw.hbm_bytes
            < (kv_ctx * bm + prep.weight_bytes_total) * CAPACITY_SLACK
            || p > n_gpus.min(b);
        if infeasible || pp_list[..index].contains(&p) {
            continue;
        }
        let t = n_gpus / p;
        // Reported: the representative group's degrees; each group has its own.
        let (n_ep, t_ff) = rep.expert_parallel(t, bm);
        let mem_fixed = prep.add_ffn_traffic(kv_ctx * bm, bm, bm * s_pos, t, t_ff);
        // f_at ≥ 1 and RW_attn ≥ its weights: memory ≥ this for every f_at.
        let memory_floor = p
            * (mem_fixed + layers * prep.attention_weight_bytes + prep.unembedding_bytes)
            / (n_gpus * prep.hbm_bw_eff);
        let bound_s = prep.kernel_s + memory_floor.max(compute_floor(t));
        stages[n_stages] = Some(Stage {
            index,
            p,
            bm,
            t,
            n_ep,
            t_ff,
            mem_fixed,
            bound_s,
        });
        n_stages += 1;
    }
    let stages = &mut stages[..n_stages];
    // Visit the most promising stages first so that the bound prunes the rest.
    stages.sort_unstable_by(|x, y| {
        let (x, y) = (x.as_ref().expect("filled"), y.as_ref().expect("filled"));
        x.bound_s.total_cmp(&y.bound_s).then(x.index.cmp(&y.index))
    });
    // The last winner's pipeline degree goes first; the others stay sorted, so that the scan
    // may still stop at the first of them whose bound exceeds the best.
    let (hint_index, hint_2d) = scratch.hint;
    if let Some(k) = stages
        .iter()
        .position(|s| s.as_ref().is_some_and(|s| s.index == hint_index))
    {
        stages[..=k].rotate_right(1);
    }
    let shapes = if hint_2d {
        [(0, true), (1, false)]
    } else {
        [(1, false), (0, true)]
    };

    // Skipping on a lower bound needs the attention all-reduces to cost >= 0; NCCL's tuning
    // model guarantees that for nodes of at least one GPU (see the module docs).
    let prunable = node >= 1.0;
    let increasing = flops.projections >= 0.0;
    let mut best = Best {
        pass: Pass::INFEASIBLE,
        rank: usize::MAX,
    };
    for st in stages.iter().map(|s| s.as_ref().expect("filled")) {
        if prunable && best.rules_out(st.bound_s) {
            break;
        }
        let (p, bm, t) = (st.p, st.bm, st.t);
        let n = bm * s_pos;
        let entry = scratch.stages.entry(hw, t);
        let scaledowns = entry.scaledowns;
        let mut compute_s = [f64::NAN; 6];
        // Memory time needs RW_attn (three matmuls); its weights-only floor is cheap, so
        // each f_at's exact memory time is computed the first time a candidate needs it.
        let memory_floor_at = |f_at: f64| {
            p * (st.mem_fixed
                + layers * f_at * prep.attention_weight_bytes
                + prep.unembedding_bytes)
                / (n_gpus * prep.hbm_bw_eff)
        };
        let memory_exact = |f_at: f64| {
            p * (st.mem_fixed
                + layers * f_at * prep.attention_traffic(n, t / f_at)
                + prep.unembedding_bytes)
                / (n_gpus * prep.hbm_bw_eff)
        };
        let mut memory_s = [f64::NAN; 6];
        // The stage-to-stage sends cost the same under both TP shapes.
        let p2p = if p == 1.0 {
            Cost::default()
        } else {
            prep.p2p.cost(d * bm * s_pos * a / t)
        };
        // The last winner's shape first, or 1D, which wins more often: either tightens the
        // bound sooner (ranks keep the canonical 2D-first tie-break).
        for (ti, two_d) in shapes {
            let mut fixed = Cost::default();
            // Each group's FFN all-reduces and, for MoE, its two all-to-alls (shared experts
            // join the routed all-reduce: docs/extensions.md §3).
            for (gi, g) in prep.groups.iter().enumerate() {
                let (n_ep, t_ff) = if gi == prep.representative {
                    (st.n_ep, st.t_ff)
                } else {
                    g.expert_parallel(t, bm)
                };
                // Dense groups (and MoE ones without EP) run the FFN on the whole stage:
                // the f_at = 1 attention shape is that shape.
                let (r_ff, ffn_plan) = if t_ff.to_bits() == t.to_bits() {
                    let s = entry.attention(hw, t, ti, 0);
                    (s.ranks, &s.plan)
                } else {
                    let s = scratch.shapes.get(hw, t_ff, two_d);
                    (s.0, &s.3)
                };
                let ffn_div = t / r_ff;
                let k = g.n_experts_active;
                let down = k * m.ffn_down_matrices * d / ffn_div;
                if two_d {
                    let up = k * m.ffn_up_matrices * g.d_ff / ffn_div;
                    fixed.add_scaled(g.n_layers, ffn_plan.cost(up * bm * s_pos * a));
                }
                fixed.add_scaled(g.n_layers, ffn_plan.cost(down * bm * s_pos * a));
                if g.n_experts > 1.0 {
                    let r = k.min(n_ep);
                    let bytes = d * bm * r * s_pos * a / t;
                    fixed.add_scaled(
                        2.0 * g.n_layers,
                        collective(hw, r, ceil_count(r / node), bytes, Kind::AllToAll),
                    );
                }
            }
            if p != 1.0 {
                fixed.add_scaled(p - 1.0, p2p);
            }
            let fixed_s = fixed.latency + fixed.bandwidth;
            for (fi, &f_at) in scaledowns.iter().enumerate() {
                let rank = (ti * 11 + st.index) * 6 + fi;
                if compute_s[fi].is_nan() {
                    compute_s[fi] = compute_at(f_at);
                }
                let compute_s = compute_s[fi];
                // Memory and arithmetic time are at least this, whatever the network.
                let work_floor = memory_floor_at(f_at).max(compute_s);
                if prunable && best.rules_out(prep.kernel_s + fixed_s + work_floor) {
                    // Both floors grow with f_at when the replicated FLOPs are >= 0, so every
                    // larger scale-down of this shape is ruled out too.
                    if increasing {
                        break;
                    }
                    continue;
                }
                let att = entry.attention(hw, t, ti, fi);
                let (t_at, pr_at, plan) = (att.t_at, att.other, &att.plan);
                let mut net = fixed;
                if two_d {
                    for word in [d / pr_at, prep.attention_width / pr_at] {
                        net.add_scaled(layers, plan.cost(word * bm * s_pos * a));
                    }
                } else {
                    net.add_scaled(layers, plan.cost(d * bm * s_pos * a));
                }
                // The whole network time is known now; memory time still has its floor. The
                // exact memory time (three matmuls' traffic) is left for survivors.
                let net_s = net.latency + net.bandwidth;
                if prunable && best.rules_out(prep.kernel_s + net_s + work_floor) {
                    continue;
                }
                if memory_s[fi].is_nan() {
                    memory_s[fi] = memory_exact(f_at);
                }
                let memory_s = memory_s[fi];
                let total = prep.kernel_s + (net.latency + net.bandwidth) + memory_s.max(compute_s);
                if best.beats(total, rank) {
                    best = Best {
                        pass: Pass {
                            latency_s: total,
                            kernel_s: prep.kernel_s,
                            network_latency_s: net.latency,
                            network_bandwidth_s: net.bandwidth,
                            memory_s,
                            compute_s,
                            two_d_tp: two_d,
                            pp_degree: p,
                            ep_degree: st.n_ep,
                            tp_ffn: st.t_ff,
                            tp_attention: t_at,
                            attention_scaledown: f_at,
                        },
                        rank,
                    };
                }
            }
        }
    }
    if best.pass.feasible() {
        scratch.hint = ((best.rank / 6) % 11, best.rank < 66);
    }
    best.pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::{h100, llama_70b, llama_8b};
    use crate::spec::LayerGroup;

    fn point(n_gpus: f64, batch: f64) -> Point {
        Point {
            n_gpus,
            batch,
            context: 0.0,
            positions: 1.0,
            use_pp: false,
        }
    }

    #[test]
    fn llama_70b_on_8_h100() {
        let (m, hw) = (llama_70b(), h100());
        let prep = Prepared::new(&m, &hw).unwrap();
        let p = best_pass(&prep, point(8.0, 1.0));
        assert!((p.latency_s * 1e6 - 10_755.659).abs() < 1e-3);
        assert!((p.network_latency_s * 1e6 - 2432.0).abs() < 1e-6);
        assert!((p.kernel_s * 1e6 - 1280.0).abs() < 1e-9);
        assert!(!p.two_d_tp);
    }

    #[test]
    fn llama_8b_cases() {
        let (m, hw) = (llama_8b(), h100());
        let prep = Prepared::new(&m, &hw).unwrap();
        let one = best_pass(&prep, point(1.0, 1.0));
        assert!((one.latency_s * 1e6 - 6578.3).abs() < 0.05);
        assert_eq!(one.network_latency_s + one.network_bandwidth_s, 0.0);
        let eight = best_pass(&prep, point(8.0, 16.0));
        assert!((eight.latency_s * 1e6 - 2281.1).abs() < 0.05);
    }

    #[test]
    fn one_explicit_group_is_the_epoch_model() {
        let hw = h100();
        let mut moe = llama_8b();
        moe.n_experts = 8.0;
        moe.n_experts_active = 2.0;
        for plain in [llama_70b(), moe] {
            let mut grouped = plain.clone();
            grouped.layer_groups = vec![LayerGroup::plain(
                plain.n_layers,
                plain.d_ff,
                plain.n_experts,
                plain.n_experts_active,
            )];
            let (a, b) = (
                Prepared::new(&plain, &hw).unwrap(),
                Prepared::new(&grouped, &hw).unwrap(),
            );
            for (n, batch, ctx, pp) in [
                (8.0, 1.0, 0.0, false),
                (64.0, 256.0, 8192.0, true),
                (16.0, 33.0, 4096.0, true),
            ] {
                let pt = Point {
                    n_gpus: n,
                    batch,
                    context: ctx,
                    positions: 1.0,
                    use_pp: pp,
                };
                assert_eq!(best_pass(&a, pt), best_pass(&b, pt));
            }
        }
    }

    #[test]
    fn windows_cap_the_cache() {
        let hw = h100();
        let plain = llama_8b();
        let mut windowed = plain.clone();
        let mut local = LayerGroup::plain(24.0, plain.d_ff, 1.0, 1.0);
        local.window = Some(1024.0);
        windowed.layer_groups = vec![local, LayerGroup::plain(8.0, plain.d_ff, 1.0, 1.0)];
        let prep = Prepared::new(&windowed, &hw).unwrap();
        // 2·8·128·2 = 4,096 B per layer per token: 24 layers keep 1024 tokens, 8 keep all
        assert_eq!(prep.kv_bytes_at(500.0), 131_072.0 * 500.0);
        assert_eq!(
            prep.kv_bytes_at(100_000.0),
            24.0 * 4096.0 * 1024.0 + 8.0 * 4096.0 * 100_000.0
        );
        // one H100 holds the 8B weights and b = 8 at 100k tokens only with the windows
        let pt = Point {
            n_gpus: 1.0,
            batch: 8.0,
            context: 100_000.0,
            positions: 1.0,
            use_pp: false,
        };
        assert!(best_pass(&prep, pt).feasible());
        assert!(!best_pass(&Prepared::new(&plain, &hw).unwrap(), pt).feasible());
    }

    #[test]
    fn too_few_gpus_is_infeasible() {
        let (m, hw) = (llama_70b(), h100());
        let prep = Prepared::new(&m, &hw).unwrap();
        let p = best_pass(&prep, point(1.0, 1.0));
        assert!(!p.feasible());
        assert!(p.memory_s.is_nan());
    }
}
