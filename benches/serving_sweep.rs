//! A pinned-layout serving sweep (1M rows) and the full layout search (N ≤ 64), in Rust.
//! `cargo bench --bench serving_sweep` (`-- pinned` or `-- search` runs one, for profiling).

use std::time::Instant;

use infersweep::serving::runtime::{Precision, Runtime};
use infersweep::serving::sweep::{sweep_columns, ServingGrid};
use infersweep::spec::examples::{h100, llama_70b};

fn main() {
    let m = llama_70b();
    let grid = |tp: u32, n_gpus: Vec<f64>, batch: Vec<f64>| ServingGrid {
        precisions: vec![Precision::of_model(&m)],
        models: vec![m.clone()],
        gpus: vec![h100()],
        n_gpus,
        batch_size: batch,
        context_len: vec![2048.0],
        seq_len: vec![1.0],
        tp: vec![tp],
        pp: vec![0],
        ep: vec![0],
        attention_dp: vec![0],
        runtime: Runtime::ideal(),
        zip: false,
        speculation: Vec::new(),
    };
    let cases = [
        (
            "pinned tp=8, 1M rows",
            grid(8, vec![8.0], (1..=1_000_000).map(f64::from).collect()),
        ),
        (
            "search N<=64, 64k rows",
            grid(
                0,
                (1..=64).map(f64::from).collect(),
                (1..=1000).map(f64::from).collect(),
            ),
        ),
    ];
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    for (name, g) in cases {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let total = g.validate().expect("valid grid");
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let cols = sweep_columns(&g, total, 0, total).expect("sweep");
            best = best.min(t.elapsed().as_secs_f64());
            assert_eq!(cols.token_latency_s.len(), total);
        }
        println!("{name}: {:.0} rows/s", total as f64 / best);
    }
}
