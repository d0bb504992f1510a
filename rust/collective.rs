//! Collective-communication time (docs/model.md §4): NCCL's tuning model or a torus.

use crate::spec::{Collectives, Hardware};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AllReduce,
    AllToAll,
    P2p,
}

/// Time of one collective, split into its latency and bandwidth parts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub latency: f64,
    pub bandwidth: f64,
}

impl Cost {
    pub fn total(self) -> f64 {
        self.latency + self.bandwidth
    }

    /// `self + times·other`, part by part.
    #[inline]
    pub fn add_scaled(&mut self, times: f64, other: Cost) {
        self.latency += times * other.latency;
        self.bandwidth += times * other.bandwidth;
    }
}

/// NCCL algorithms (§4.1): per-rank latency, per-log2(nodes) latency, bandwidth efficiency.
const NCCL: [(f64, f64, f64); 3] = [
    (0.6e-6, 5e-6, 0.5),
    (1.25e-6, 8.5e-6, 0.95),
    (28e-6, 28e-6, 1.0),
];

/// coll(R, nodes, X, kind): zero on one rank; otherwise the fastest algorithm's cost.
#[inline]
pub fn collective(hw: &Hardware, ranks: f64, nodes: f64, bytes: f64, kind: Kind) -> Cost {
    CollectivePlan::new(hw, ranks, nodes, kind).cost(bytes)
}

/// Which formula a plan evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// One rank: zero cost.
    Trivial,
    Torus,
    Nccl,
}

/// Everything about a collective that does not depend on the bytes moved: each algorithm's
/// latency and its bandwidth terms' coefficients and denominators, computed by the same
/// expressions as a direct evaluation, so a plan reused across message sizes gives the same
/// bits. The layout search keeps plans per TP degree (see `layout::Scratch`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectivePlan {
    form: Form,
    halve: bool,
    one_node: bool,
    latency: [f64; 3],
    /// nodes·max(0, R/nodes − 1) (NCCL) or R − 1 (torus).
    intra_coef: f64,
    /// nodes − 1.
    inter_coef: f64,
    /// R·B_intra·phi per algorithm (NCCL) or R·B_inter (torus, in [0]).
    intra_den: [f64; 3],
    inter_den: [f64; 3],
}

impl CollectivePlan {
    /// The plan of a collective on one rank: zero cost.
    pub const fn new_trivial() -> Self {
        Self {
            form: Form::Trivial,
            halve: false,
            one_node: true,
            latency: [0.0; 3],
            intra_coef: 0.0,
            inter_coef: 0.0,
            intra_den: [1.0; 3],
            inter_den: [1.0; 3],
        }
    }

    pub fn new(hw: &Hardware, ranks: f64, nodes: f64, kind: Kind) -> Self {
        let form = match hw.collectives {
            _ if ranks <= 1.0 => Form::Trivial,
            Collectives::Torus => Form::Torus,
            Collectives::Nccl => Form::Nccl,
        };
        let mut plan = Self {
            form,
            halve: kind != Kind::AllReduce,
            one_node: nodes == 1.0,
            latency: [0.0; 3],
            intra_coef: 0.0,
            inter_coef: 0.0,
            intra_den: [1.0; 3],
            inter_den: [1.0; 3],
        };
        if form == Form::Trivial {
            return plan;
        }
        let mult = if kind == Kind::AllReduce { 2.0 } else { 1.0 };
        if form == Form::Torus {
            plan.latency[0] = mult * (ranks - 1.0) * 1e-6;
            plan.intra_coef = ranks - 1.0;
            plan.intra_den[0] = ranks * hw.inter_node_bandwidth;
            return plan;
        }
        let bases = [hw.ll_latency_s, hw.ll128_latency_s, 0.0];
        let per_node = ranks / nodes - 1.0;
        // log2(1) = 0 and (1 − 1)·X = 0 exactly: inside one node skip the libm call and the
        // inter-node term (most collectives of a search run inside a node).
        let levels = if plan.one_node { 0.0 } else { nodes.log2() };
        plan.intra_coef = nodes * per_node.max(0.0);
        plan.inter_coef = nodes - 1.0;
        for (i, ((per_rank, per_level, phi), base)) in NCCL.into_iter().zip(bases).enumerate() {
            plan.latency[i] = mult * (per_node * per_rank + per_level * levels) + base;
            plan.intra_den[i] = ranks * hw.intra_node_bandwidth * phi;
            plan.inter_den[i] = ranks * hw.inter_node_bandwidth * phi;
        }
        plan
    }

    /// The same plan with every algorithm's latency multiplied by `scale` (serving's
    /// `Runtime::collective_latency_scale`; 1 leaves every bit as it is).
    #[must_use]
    pub fn with_latency_scale(mut self, scale: f64) -> Self {
        for l in &mut self.latency {
            *l *= scale;
        }
        self
    }

    /// The fastest algorithm's cost for a message of `bytes`.
    #[inline]
    pub fn cost(&self, bytes: f64) -> Cost {
        if self.form == Form::Trivial {
            return Cost::default();
        }
        let halve = |bw: f64| if self.halve { bw / 2.0 } else { bw };
        if self.form == Form::Torus {
            return Cost {
                latency: self.latency[0],
                bandwidth: halve(self.intra_coef * bytes / self.intra_den[0]),
            };
        }
        let mut best = Cost {
            latency: f64::INFINITY,
            bandwidth: 0.0,
        };
        for i in 0..3 {
            let latency = self.latency[i];
            // Bandwidth time is >= 0: an algorithm whose latency alone does not beat the
            // best total cannot be chosen, so its divisions are skipped.
            if latency >= best.total() {
                continue;
            }
            let intra = self.intra_coef * bytes / self.intra_den[i];
            let bandwidth = if self.one_node {
                intra.max(0.0)
            } else {
                intra.max(self.inter_coef * bytes / self.inter_den[i])
            };
            let cost = Cost {
                latency,
                bandwidth: halve(bandwidth),
            };
            if cost.total() < best.total() {
                best = cost;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::h100;

    #[test]
    fn h100_checks() {
        let hw = h100();
        let us = |r, n, x, k| collective(&hw, r, n, x, k).total() * 1e6;
        let cases = [
            (us(8.0, 1.0, 1e3, Kind::AllReduce), 15.207_778),
            (us(8.0, 1.0, 2e6, Kind::AllReduce), 30.755_556),
            (us(16.0, 2.0, 1e3, Kind::AllReduce), 25.207_778),
            (us(16.0, 2.0, 1e6, Kind::AllReduce), 32.977_778),
            (us(8.0, 1.0, 1e8, Kind::AllReduce), 440.856_725),
            (us(8.0, 1.0, 1e6, Kind::AllToAll), 14.888_889),
            (us(2.0, 2.0, 1e5, Kind::P2p), 13.8),
            (us(64.0, 8.0, 1e4, Kind::AllReduce), 45.2875),
        ];
        for (got, want) in cases {
            assert!(((got - want) / want).abs() < 1e-6, "{got} vs {want}");
        }
        assert_eq!(collective(&hw, 1.0, 1.0, 1e9, Kind::AllReduce).total(), 0.0);
    }
}
