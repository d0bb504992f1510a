//! The Python binding: conversions, errors, GIL release and the numpy hand-off. No model math.
//!
//! Specs arrive as dicts of plain numbers (built by `infersweep.specs`), are copied into owned
//! Rust values, and every sweep runs with the GIL released on a rayon pool. Results leave as
//! one numpy array per column, built from the `Vec` without a copy.

// pyo3 extracts arguments by value; borrowing them is not an option in a #[pyfunction].
#![allow(clippy::needless_pass_by_value)]

use std::sync::{Arc, Mutex};

use numpy::{Element, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::collective::{collective, Kind};
use crate::forward::Prepared;
use crate::frontier::{frontier as epoch_frontier, pareto_mask, FrontierSettings};
use crate::spec::{ranges, Collectives, Hardware, LayerGroup, Mla, Model, SpecError};
use crate::specdec::Drafting;
use crate::sweep::{sweep_validated, Columns, Grid, SpecDec, AXIS_RANGES};

mod evaluate;
mod serving;
mod traffic;

mod exceptions {
    pyo3::import_exception!(infersweep.errors, SpecError);
    pyo3::import_exception!(infersweep.errors, GridError);
}
use exceptions::{GridError as PyGridError, SpecError as PySpecError};

/// Column buffers are large and short-lived (a chunk is written to Parquet, or a DataFrame is
/// dropped, and the next sweep allocates the same sizes again). glibc returns such blocks to
/// the OS and the next sweep page-faults them back in, which cost a third of a sweep's time;
/// mimalloc keeps them for reuse. Numpy frees our arrays through this allocator too (their
/// base object owns the `Vec`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn to_py_err(e: &SpecError) -> PyErr {
    if e.spec == "grid" {
        PyGridError::new_err(e.to_string())
    } else {
        PySpecError::new_err(e.to_string())
    }
}

fn get<'py, T: for<'a> FromPyObject<'a, 'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match d.get_item(key)? {
        Some(v) => v
            .extract::<T>()
            .map_err(|_| PySpecError::new_err(format!("field '{key}' has the wrong type: {v}"))),
        None => Err(PySpecError::new_err(format!("missing field '{key}'"))),
    }
}

fn get_opt<'py, T: for<'a> FromPyObject<'a, 'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(get(d, key)?)),
        _ => Ok(None),
    }
}

fn model_from(d: &Bound<'_, PyDict>) -> PyResult<Model> {
    let kv: Option<f64> = get_opt(d, "mla_kv_rank")?;
    let q: Option<f64> = get_opt(d, "mla_q_rank")?;
    Ok(Model {
        name: get(d, "name")?,
        d_model: get(d, "d_model")?,
        d_ff: get(d, "d_ff")?,
        n_layers: get(d, "n_layers")?,
        n_heads: get(d, "n_heads")?,
        group_size: get(d, "group_size")?,
        head_dim: get(d, "head_dim")?,
        vocab_size: get(d, "vocab_size")?,
        n_experts: get(d, "n_experts")?,
        n_experts_active: get(d, "n_experts_active")?,
        ffn_up_matrices: get(d, "ffn_up_matrices")?,
        ffn_down_matrices: get(d, "ffn_down_matrices")?,
        mla: match (kv, q) {
            (Some(kv_rank), Some(q_rank)) => Some(Mla { kv_rank, q_rank }),
            _ => None,
        },
        weight_bytes: get(d, "weight_bytes")?,
        activation_bytes: get(d, "activation_bytes")?,
        kv_bytes: get_opt(d, "kv_bytes")?,
        compute_bits: get_opt(d, "compute_bits")?,
        tied_embeddings: get_opt(d, "tied_embeddings")?.unwrap_or(false),
        lookup_embedding: get_opt(d, "lookup_embedding")?.unwrap_or(false),
        mla_rope_dim: get_opt(d, "mla_rope_dim")?,
        layer_groups: match get_opt::<Bound<'_, PyList>>(d, "layer_groups")? {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .map(|g| layer_group_from(g.cast::<PyDict>()?))
                .collect::<PyResult<_>>()?,
        },
    })
}

/// A layer group from the dict `LayerGroup.to_dict` gives (docs/extensions.md §1).
fn layer_group_from(d: &Bound<'_, PyDict>) -> PyResult<LayerGroup> {
    let d_ff: f64 = get(d, "d_ff")?;
    Ok(LayerGroup {
        n_layers: get(d, "n_layers")?,
        d_ff,
        n_experts: get_opt(d, "n_experts")?.unwrap_or(1.0),
        n_experts_active: get_opt(d, "n_experts_active")?.unwrap_or(1.0),
        n_shared_experts: get_opt(d, "n_shared_experts")?.unwrap_or(0.0),
        shared_d_ff: get_opt(d, "shared_d_ff")?.unwrap_or(d_ff),
        window: get_opt(d, "window")?,
    })
}

fn hardware_from(d: &Bound<'_, PyDict>) -> PyResult<Hardware> {
    let rates: Bound<'_, PyDict> = get(d, "flops_by_bits")?;
    let rate = |bits: u32| -> PyResult<Option<f64>> {
        match rates.get_item(bits)? {
            Some(v) => Ok(Some(v.extract()?)),
            None => Ok(None),
        }
    };
    let collectives: String = get(d, "collectives")?;
    Ok(Hardware {
        name: get(d, "name")?,
        flops_by_bits: [rate(4)?, rate(8)?, rate(16)?],
        flop_utilization: get(d, "flop_utilization")?,
        hbm_bandwidth: get(d, "hbm_bandwidth")?,
        mem_utilization: get(d, "mem_utilization")?,
        hbm_bytes: get(d, "hbm_bytes")?,
        intra_node_bandwidth: get(d, "intra_node_bandwidth")?,
        inter_node_bandwidth: get(d, "inter_node_bandwidth")?,
        gpus_per_node: get(d, "gpus_per_node")?,
        usd_per_hour: get(d, "usd_per_hour")?,
        kernel_latency_s: get(d, "kernel_latency_s")?,
        collectives: match collectives.as_str() {
            "nccl" => Collectives::Nccl,
            "torus" => Collectives::Torus,
            other => {
                return Err(PySpecError::new_err(format!(
                    "gpu: field 'collectives' must be 'nccl' or 'torus', got '{other}'"
                )))
            }
        },
        ll_latency_s: get(d, "ll_latency_s")?,
        ll128_latency_s: get(d, "ll128_latency_s")?,
    })
}

fn spec_dec_from(item: &Bound<'_, PyAny>) -> PyResult<Option<SpecDec>> {
    if item.is_none() {
        return Ok(None);
    }
    let d = item.cast::<PyDict>()?;
    let gamma_max: u64 = get(d, "gamma_max")?;
    Ok(Some(SpecDec {
        drafter: model_from(&get(d, "drafter")?)?,
        acceptance: get(d, "acceptance")?,
        // Out-of-range values are refused by Grid::validate with the value named.
        gamma_max: u32::try_from(gamma_max).unwrap_or(u32::MAX),
    }))
}

/// Most threads one pool may have (`num_threads`): far more than any machine's cores, few
/// enough to spawn in a blink.
pub const MAX_THREADS: usize = 1024;
/// Pools kept for reuse, the most recently used first: a pool per call would cost a spawn per
/// chunk, and one kept per value forever would keep every thread ever asked for alive.
const POOLS_KEPT: usize = 4;
/// Largest frontier grid side (`resolution`) and most latency targets (`n_targets`).
pub const MAX_FRONTIER_RESOLUTION: usize = 10_000;
pub const MAX_FRONTIER_TARGETS: usize = 1_000_000;

/// `num_threads` checked against [1, MAX_THREADS] (with the GIL held: the error is Python's).
fn check_threads(num_threads: Option<usize>) -> PyResult<()> {
    match num_threads {
        Some(n) if !(1..=MAX_THREADS).contains(&n) => Err(PyGridError::new_err(format!(
            "grid: num_threads must be None or an integer in [1, {MAX_THREADS}], got {n}"
        ))),
        _ => Ok(()),
    }
}

/// The rayon pool for `num_threads` (None: the default pool). Called without the GIL: a
/// pool's threads are spawned while other Python threads, and Ctrl-C, carry on.
fn pool(num_threads: Option<usize>) -> Result<Option<Arc<rayon::ThreadPool>>, String> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let Some(n) = num_threads else {
        return Ok(None);
    };
    if n == rayon::current_num_threads() {
        return Ok(None); // the default pool has as many threads
    }
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = pools.iter().position(|(k, _)| *k == n) {
        let hit = pools.remove(i);
        pools.insert(0, hit.clone());
        return Ok(Some(hit.1));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| e.to_string())?,
    );
    pools.insert(0, (n, p.clone()));
    // Dropping a pool ends its threads once their work is done (a caller still using it
    // holds its own Arc).
    pools.truncate(POOLS_KEPT);
    Ok(Some(p))
}

/// Runs `work` on the pool for `num_threads`, without the GIL.
fn run_on_pool<T: Send>(
    py: Python<'_>,
    num_threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    check_threads(num_threads)?;
    py.detach(|| {
        pool(num_threads).map(|p| match p {
            Some(p) => p.install(work),
            None => work(),
        })
    })
    .map_err(|e| PyGridError::new_err(format!("grid: cannot start {num_threads:?} threads: {e}")))
}

/// A validated grid, ready to evaluate in chunks of rows.
#[pyclass(frozen, module = "infersweep._core")]
pub struct SweepGrid {
    grid: Grid,
    rows: usize,
}

fn floats(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    // Contiguous (Python passes C-contiguous arrays): one memcpy; otherwise element-wise.
    match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    }
}

fn put<T: Element>(out: &Bound<'_, PyDict>, name: &str, v: Vec<T>) -> PyResult<()> {
    out.set_item(name, PyArray1::from_vec(out.py(), v))
}

#[pymethods]
impl SweepGrid {
    #[new]
    #[pyo3(signature = (*, models, gpus, n_gpus, batch_size, context_len, seq_len, use_pp, spec_dec, zip))]
    fn new(
        models: &Bound<'_, PyList>,
        gpus: &Bound<'_, PyList>,
        n_gpus: PyReadonlyArray1<'_, f64>,
        batch_size: PyReadonlyArray1<'_, f64>,
        context_len: PyReadonlyArray1<'_, f64>,
        seq_len: PyReadonlyArray1<'_, f64>,
        use_pp: Vec<bool>,
        spec_dec: &Bound<'_, PyList>,
        zip: bool,
    ) -> PyResult<Self> {
        let grid = Grid {
            models: models
                .iter()
                .map(|m| model_from(m.cast::<PyDict>()?))
                .collect::<PyResult<_>>()?,
            gpus: gpus
                .iter()
                .map(|g| hardware_from(g.cast::<PyDict>()?))
                .collect::<PyResult<_>>()?,
            n_gpus: floats(&n_gpus),
            batch_size: floats(&batch_size),
            context_len: floats(&context_len),
            seq_len: floats(&seq_len),
            use_pp,
            spec_dec: spec_dec
                .iter()
                .map(|s| spec_dec_from(&s))
                .collect::<PyResult<_>>()?,
            zip,
        };
        let rows = grid.validate().map_err(|e| to_py_err(&e))?;
        Ok(Self { grid, rows })
    }

    fn __len__(&self) -> usize {
        self.rows
    }

    /// Rows `start..end` as a dict of numpy arrays, one per column (no copies).
    #[pyo3(signature = (start, end, *, num_threads=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: usize,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (grid, rows) = (&self.grid, self.rows);
        let cols = run_on_pool(py, num_threads, || sweep_validated(grid, rows, start, end))?
            .map_err(|e| to_py_err(&e))?;
        columns_to_dict(py, cols)
    }
}

fn columns_to_dict(py: Python<'_>, c: Columns) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    macro_rules! put_all {
        ($($name:ident),*) => { $(put(&out, stringify!($name), c.$name)?;)* };
    }
    put_all!(
        model,
        gpu,
        n_gpus,
        batch_size,
        context_len,
        seq_len,
        use_pp,
        spec_dec,
        token_latency_s,
        tokens_per_s_per_request,
        usd_per_million_tokens,
        gpu_seconds_per_token,
        tokens_per_s_per_gpu,
        mfu,
        feasible,
        kernel_s,
        network_latency_s,
        network_bandwidth_s,
        memory_s,
        compute_s,
        two_d_tp,
        pp_degree,
        ep_degree,
        tp_ffn,
        tp_attention,
        attention_scaledown,
        gamma,
        drafter_latency_s
    );
    Ok(out)
}

/// One collective's (latency, bandwidth) time in seconds (docs/model.md §4).
#[pyfunction]
#[pyo3(signature = (gpu, ranks, nodes, nbytes, kind))]
fn collective_time(
    gpu: &Bound<'_, PyDict>,
    ranks: f64,
    nodes: f64,
    nbytes: f64,
    kind: &str,
) -> PyResult<(f64, f64)> {
    let hw = hardware_from(gpu)?;
    hw.validate().map_err(|e| to_py_err(&e))?;
    let kind = match kind {
        "allreduce" => Kind::AllReduce,
        "all-to-all" => Kind::AllToAll,
        "p2p" => Kind::P2p,
        other => {
            return Err(PyValueError::new_err(format!(
                "kind must be 'allreduce', 'all-to-all' or 'p2p', got '{other}'"
            )))
        }
    };
    let c = collective(&hw, ranks, nodes, nbytes, kind);
    Ok((c.latency, c.bandwidth))
}

/// Epoch's frontier (docs/model.md §7): the recorded points' N, b, latency and GPU-seconds/token.
#[pyfunction]
#[pyo3(signature = (model, gpu, spec_dec, *, context_len, use_pp, max_throughput, n_batch, n_gpus, n_targets, num_threads=None))]
fn frontier<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    gpu: &Bound<'py, PyDict>,
    spec_dec: &Bound<'py, PyAny>,
    context_len: f64,
    use_pp: bool,
    max_throughput: f64,
    n_batch: usize,
    n_gpus: usize,
    n_targets: usize,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (model, hw, sd) = (
        model_from(model)?,
        hardware_from(gpu)?,
        spec_dec_from(spec_dec)?,
    );
    if !(context_len.is_finite() && context_len >= 0.0) {
        return Err(PyGridError::new_err(format!(
            "grid: field 'context_len' must be finite and >= 0, got {context_len}"
        )));
    }
    if max_throughput.is_nan() || max_throughput <= 0.0 {
        return Err(PyGridError::new_err(format!(
            "frontier: 'max_throughput' must be positive, got {max_throughput}"
        )));
    }
    for (name, v, max) in [
        ("n_batch", n_batch, MAX_FRONTIER_RESOLUTION),
        ("n_gpus", n_gpus, MAX_FRONTIER_RESOLUTION),
        ("n_targets", n_targets, MAX_FRONTIER_TARGETS),
    ] {
        if !(2..=max).contains(&v) {
            return Err(PyGridError::new_err(format!(
                "frontier: '{name}' must be an integer in [2, {max}], got {v}"
            )));
        }
    }
    let prep = Prepared::new(&model, &hw).map_err(|e| to_py_err(&e))?;
    let drafting = match &sd {
        Some(sd) => Some(Drafting {
            drafter: Prepared::new(&sd.drafter, &hw).map_err(|e| to_py_err(&e))?,
            acceptance: sd.acceptance,
            gamma_max: sd.gamma_max,
        }),
        None => None,
    };
    let set = FrontierSettings {
        context: context_len,
        use_pp,
        max_throughput,
        n_batch,
        n_gpus,
        n_targets,
        ..FrontierSettings::default()
    };
    let points = run_on_pool(py, num_threads, || {
        epoch_frontier(&prep, drafting.as_ref(), &set)
    })?;
    let out = PyDict::new(py);
    put(&out, "n_gpus", points.iter().map(|p| p.n_gpus).collect())?;
    put(&out, "batch_size", points.iter().map(|p| p.batch).collect())?;
    put(
        &out,
        "token_latency_s",
        points.iter().map(|p| p.latency_s).collect(),
    )?;
    put(
        &out,
        "gpu_seconds_per_token",
        points.iter().map(|p| p.gpu_seconds_per_token).collect(),
    )?;
    Ok(out)
}

/// Threads of the default pool (all cores, or `RAYON_NUM_THREADS`): sweeps without
/// `num_threads` run on it.
#[pyfunction]
fn default_threads() -> usize {
    rayon::current_num_threads()
}

/// Non-dominated rows per group (speed up, cost down), O(n log n).
#[pyfunction]
fn pareto<'py>(
    py: Python<'py>,
    groups: PyReadonlyArray1<'py, u32>,
    speed: PyReadonlyArray1<'py, f64>,
    cost: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let (g, s, c) = (groups.as_slice()?, speed.as_slice()?, cost.as_slice()?);
    if g.len() != s.len() || s.len() != c.len() {
        return Err(PyValueError::new_err(
            "groups, speed and cost must have one length",
        ));
    }
    let (g, s, c) = (g.to_vec(), s.to_vec(), c.to_vec());
    let keep = py.detach(|| pareto_mask(&g, &s, &c));
    Ok(PyArray1::from_vec(py, keep))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SweepGrid>()?;
    m.add_function(wrap_pyfunction!(collective_time, m)?)?;
    m.add_function(wrap_pyfunction!(frontier, m)?)?;
    m.add_function(wrap_pyfunction!(pareto, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    serving::register(m)?;
    evaluate::register(m)?;
    traffic::register(m)?;
    m.add("COLUMNS", Columns::NAMES.to_vec())?;
    m.add("MAX_THREADS", MAX_THREADS)?;
    m.add("MAX_FRONTIER_RESOLUTION", MAX_FRONTIER_RESOLUTION)?;
    m.add("MAX_FRONTIER_TARGETS", MAX_FRONTIER_TARGETS)?;
    let field_ranges = PyDict::new(m.py());
    for (kind, table) in [
        ("model", &ranges::MODEL[..]),
        ("layer_group", &ranges::LAYER_GROUP[..]),
        ("gpu", &ranges::GPU[..]),
        ("grid", &AXIS_RANGES[..]),
    ] {
        let d = PyDict::new(m.py());
        for (field, range) in table {
            d.set_item(field, range)?;
        }
        field_ranges.set_item(kind, d)?;
    }
    m.add("FIELD_RANGES", field_ranges)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
