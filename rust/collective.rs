//! Collective-communication time (MODEL.md §4): NCCL's tuning model or a torus.

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
    if ranks <= 1.0 {
        return Cost::default();
    }
    let mult = if kind == Kind::AllReduce { 2.0 } else { 1.0 };
    let halve = |bw: f64| {
        if kind == Kind::AllReduce {
            bw
        } else {
            bw / 2.0
        }
    };
    match hw.collectives {
        Collectives::Torus => Cost {
            latency: mult * (ranks - 1.0) * 1e-6,
            bandwidth: halve((ranks - 1.0) * bytes / (ranks * hw.inter_node_bandwidth)),
        },
        Collectives::Nccl => {
            let bases = [hw.ll_latency_s, hw.ll128_latency_s, 0.0];
            let per_node = ranks / nodes - 1.0;
            // log2(1) = 0 and (1 − 1)·X = 0 exactly: inside one node skip the libm call and the
            // inter-node term (most collectives of a search run inside a node).
            let one_node = nodes == 1.0;
            let levels = if one_node { 0.0 } else { nodes.log2() };
            let mut best = Cost {
                latency: f64::INFINITY,
                bandwidth: 0.0,
            };
            for ((per_rank, per_level, phi), base) in NCCL.into_iter().zip(bases) {
                let latency = mult * (per_node * per_rank + per_level * levels) + base;
                // Bandwidth time is >= 0: an algorithm whose latency alone does not beat the
                // best total cannot be chosen, so its divisions are skipped.
                if latency >= best.total() {
                    continue;
                }
                let intra =
                    nodes * per_node.max(0.0) * bytes / (ranks * hw.intra_node_bandwidth * phi);
                let bandwidth = if one_node {
                    intra.max(0.0)
                } else {
                    intra.max((nodes - 1.0) * bytes / (ranks * hw.inter_node_bandwidth * phi))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::fixtures::h100;

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
