//! The speed–cost Pareto frontier (docs/model.md §7) and exact non-dominated sets.
//!
//! Epoch's algorithm evaluates a log-spaced grid of GPU counts × batch sizes, then for each of
//! 1000 latency targets τ takes the cheapest point no slower than τ. Scanning the grid once
//! per target is O(targets × grid); sorting the grid by latency once and keeping a running
//! minimum of cost answers every target with one binary search, with identical results.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::forward::Prepared;
use crate::grid::{logspace, logspace2_between_vec, pow_of};
use crate::layout::{Point, Scratch};
use crate::specdec::{decode, Drafting};

/// The grid and targets of the frontier search.
#[derive(Debug, Clone, Copy)]
pub struct FrontierSettings {
    pub context: f64,
    pub use_pp: bool,
    /// Per instance: points with b/T above it are skipped.
    pub max_throughput: f64,
    pub n_batch: usize,
    pub n_gpus: usize,
    pub n_targets: usize,
    /// Top of the grids, log2 (Epoch: 18).
    pub log2_max: f64,
    /// The targets span min(T) to min(T)·10^decades (Epoch: 2, i.e. 100×).
    pub decades: f64,
}

impl Default for FrontierSettings {
    fn default() -> Self {
        Self {
            context: 0.0,
            use_pp: true,
            max_throughput: f64::INFINITY,
            n_batch: 400,
            n_gpus: 400,
            n_targets: 1000,
            log2_max: 18.0,
            decades: 2.0,
        }
    }
}

/// One recorded frontier point: latency, cost in GPU-seconds per token, and where it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrontierPoint {
    pub latency_s: f64,
    pub gpu_seconds_per_token: f64,
    pub n_gpus: f64,
    pub batch: f64,
}

/// The GPU-count and batch grids: N from exactly the weights' minimum N_min = w·P_total/HBM
/// to 2^18, b from 1 to exactly 2^18·s (docs/model.md §7 and the rounding rule).
pub fn frontier_grids(prep: &Prepared, set: &FrontierSettings) -> (Vec<f64>, Vec<f64>) {
    let n_min = prep.weight_bytes_total / prep.hw.hbm_bytes;
    let top = pow_of(2.0, set.log2_max);
    let ns = logspace2_between_vec(n_min, top, set.n_gpus);
    let bs = logspace2_between_vec(1.0, top * prep.sparsity, set.n_batch);
    (ns, bs)
}

/// Token latency at every (N, b) of the grid, N-major.
pub fn latency_grid(
    prep: &Prepared,
    drafting: Option<&Drafting>,
    ns: &[f64],
    bs: &[f64],
    set: &FrontierSettings,
) -> Vec<f64> {
    let mut out = vec![0.0; ns.len() * bs.len()];
    out.par_chunks_mut(bs.len())
        .zip(ns.par_iter())
        .for_each_init(Scratch::default, |scratch, (row, &n)| {
            for (slot, &b) in row.iter_mut().zip(bs) {
                let pt = Point {
                    n_gpus: n,
                    batch: b,
                    context: set.context,
                    positions: 1.0,
                    use_pp: set.use_pp,
                };
                *slot = decode(prep, drafting, pt, scratch).latency_s;
            }
        });
    out
}

/// Epoch's frontier over a latency grid (docs/model.md §7), reproduced exactly.
pub fn frontier_from_grid(
    latency: &[f64],
    ns: &[f64],
    bs: &[f64],
    set: &FrontierSettings,
) -> Vec<FrontierPoint> {
    let nb = bs.len();
    let point = |i: usize| (ns[i / nb], bs[i % nb]);
    let cost: Vec<f64> = (0..latency.len())
        .map(|i| {
            let (n, b) = point(i);
            n * latency[i] / b
        })
        .collect();
    let t_min = latency.iter().copied().fold(f64::INFINITY, f64::min);
    if !t_min.is_finite() {
        return Vec::new();
    }
    // Candidates for the mask: T finite and within the throughput cap, sorted by T (stable,
    // so equal latencies keep grid order), with the running minimum of cost.
    let mut order: Vec<usize> = (0..latency.len())
        .filter(|&i| latency[i].is_finite() && point(i).1 / latency[i] <= set.max_throughput)
        .collect();
    order.sort_by(|&x, &y| latency[x].total_cmp(&latency[y]));
    let mut prefix_min = Vec::with_capacity(order.len());
    let mut running = f64::INFINITY;
    for &i in &order {
        running = running.min(cost[i]);
        prefix_min.push(running);
    }
    // Among ALL grid points with a given cost, the smallest latency (first in grid order).
    let mut fastest_at_cost: HashMap<u64, usize> = HashMap::new();
    for i in 0..latency.len() {
        fastest_at_cost
            .entry(cost[i].to_bits())
            .and_modify(|j| {
                if latency[i] < latency[*j] {
                    *j = i;
                }
            })
            .or_insert(i);
    }
    let mut targets = vec![0.0; set.n_targets];
    logspace(10.0, 0.0, set.decades, &mut targets);
    let mut out: Vec<FrontierPoint> = Vec::new();
    for y in targets {
        let tau = t_min * y;
        let count = order.partition_point(|&i| latency[i] <= tau);
        if count == 0 {
            continue;
        }
        let c_star = prefix_min[count - 1];
        let best = fastest_at_cost[&c_star.to_bits()];
        if out.iter().any(|p| p.latency_s == latency[best]) {
            continue;
        }
        let (n, b) = point(best);
        out.push(FrontierPoint {
            latency_s: latency[best],
            gpu_seconds_per_token: c_star,
            n_gpus: n,
            batch: b,
        });
    }
    out
}

/// Epoch's frontier for one (model, hardware, drafter) setting.
pub fn frontier(
    prep: &Prepared,
    drafting: Option<&Drafting>,
    set: &FrontierSettings,
) -> Vec<FrontierPoint> {
    let (ns, bs) = frontier_grids(prep, set);
    let latency = latency_grid(prep, drafting, &ns, &bs, set);
    frontier_from_grid(&latency, &ns, &bs, set)
}

/// Non-dominated rows (higher speed and lower cost are better) within each group, in
/// O(n log n): sort by (group, speed desc, cost asc, row), keep rows cheaper than every
/// faster row. Exact duplicates keep their first row; NaN rows are never kept.
pub fn pareto_mask(groups: &[u32], speed: &[f64], cost: &[f64]) -> Vec<bool> {
    let n = speed.len();
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| !speed[i].is_nan() && !cost[i].is_nan())
        .collect();
    order.par_sort_unstable_by(|&x, &y| {
        groups[x]
            .cmp(&groups[y])
            .then(speed[y].total_cmp(&speed[x]))
            .then(cost[x].total_cmp(&cost[y]))
            .then(x.cmp(&y))
    });
    let mut keep = vec![false; n];
    let mut group = None;
    let mut cheapest = f64::INFINITY;
    for i in order {
        if group != Some(groups[i]) {
            group = Some(groups[i]);
            cheapest = f64::INFINITY;
        }
        if cost[i] < cheapest {
            keep[i] = true;
            cheapest = cost[i];
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quadratic(groups: &[u32], speed: &[f64], cost: &[f64]) -> Vec<bool> {
        (0..speed.len())
            .map(|i| {
                !(0..speed.len()).any(|j| {
                    groups[j] == groups[i]
                        && j != i
                        && speed[j] >= speed[i]
                        && cost[j] <= cost[i]
                        && (speed[j] > speed[i] || cost[j] < cost[i] || j < i)
                }) && cost[i].is_finite()
            })
            .collect()
    }

    #[test]
    fn pareto_matches_quadratic() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 40) as f64 / (1u64 << 24) as f64
        };
        for _ in 0..50 {
            let n = 60;
            let groups: Vec<u32> = (0..n).map(|_| (next() * 3.0) as u32).collect();
            // Coarse values so ties happen.
            let speed: Vec<f64> = (0..n).map(|_| (next() * 10.0).floor()).collect();
            let cost: Vec<f64> = (0..n).map(|_| (next() * 10.0).floor()).collect();
            assert_eq!(
                pareto_mask(&groups, &speed, &cost),
                quadratic(&groups, &speed, &cost)
            );
        }
    }
}
