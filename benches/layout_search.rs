//! The layout search on the frontier's 400 × 400 grid of Llama 3 70B on H100 (issue bars:
//! ≤ 0.25 s with PP, ≤ 0.03 s without, on 2 cores). `cargo bench --bench layout_search`.

use std::time::Instant;

use infersweep::forward::Prepared;
use infersweep::frontier::{frontier_grids, latency_grid, FrontierSettings};
use infersweep::spec::examples::{h100, llama_70b};

fn main() {
    let (model, hw) = (llama_70b(), h100());
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
