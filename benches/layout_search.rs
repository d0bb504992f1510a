//! The layout search on the frontier's 400 × 400 grid of Llama 3 70B on H100 (issue bars:
//! ≤ 0.25 s with PP, ≤ 0.03 s without, on 2 cores). `cargo bench --bench layout_search`.

use std::time::Instant;

use infersweep::forward::Prepared;
use infersweep::frontier::{frontier_grids, latency_grid, FrontierSettings};
use infersweep::spec::{Collectives, Hardware, Model};

fn main() {
    let model = Model {
        name: "Llama-3-70B".into(),
        d_model: 8192.0,
        d_ff: 28672.0,
        n_layers: 80.0,
        n_heads: 64.0,
        group_size: 8.0,
        head_dim: 128.0,
        vocab_size: 128_256.0,
        n_experts: 1.0,
        n_experts_active: 1.0,
        ffn_up_matrices: 2.0,
        ffn_down_matrices: 1.0,
        mla: None,
        weight_bytes: 2.0,
        activation_bytes: 2.0,
        kv_bytes: None,
        compute_bits: None,
        tied_embeddings: false,
        mla_rope_dim: None,
        layer_groups: Vec::new(),
    };
    let hw = Hardware {
        name: "H100".into(),
        flops_by_bits: [Some(2e15), Some(2e15), Some(1e15)],
        flop_utilization: 0.7,
        hbm_bandwidth: 3.3e12,
        mem_utilization: 0.75,
        hbm_bytes: 8e10,
        intra_node_bandwidth: 2.25e11,
        inter_node_bandwidth: 2.5e10,
        gpus_per_node: 8.0,
        usd_per_hour: 2.1,
        kernel_latency_s: 4e-6,
        collectives: Collectives::Nccl,
        ll_latency_s: 6.8e-6,
        ll128_latency_s: 14e-6,
    };
    let prep = Prepared::new(&model, &hw).expect("valid specs");
    let threads = rayon::current_num_threads();
    // `cargo bench --bench layout_search -- pp` or `-- nopp` runs one setting (for profiling).
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    for use_pp in [true, false] {
        if only
            .as_deref()
            .is_some_and(|o| o != if use_pp { "pp" } else { "nopp" })
        {
            continue;
        }
        let set = FrontierSettings {
            use_pp,
            ..FrontierSettings::default()
        };
        let (ns, bs) = frontier_grids(&prep, &set);
        let mut best = f64::INFINITY;
        let mut checksum = 0.0;
        for _ in 0..7 {
            let t = Instant::now();
            let lat = latency_grid(&prep, None, &ns, &bs, &set);
            best = best.min(t.elapsed().as_secs_f64());
            checksum = lat.iter().sum::<f64>();
        }
        println!("layout search, 400x400, use_pp={use_pp}: best of 7 {best:.4} s on {threads} threads (sum {checksum:.6})");
    }
}
