//! The binding of `serving` semantics (rust/serving/): conversions and the numpy hand-off.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::serving::runtime::{Precision, Runtime};
use crate::serving::speculative::Speculation;
use crate::serving::sweep::{sweep_columns, Columns, Row, ServingGrid};

use super::{floats, get, hardware_from, model_from, put, run_on_pool, to_py_err};

fn opt(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<f64>> {
    let v: f64 = get(d, key)?;
    Ok(if v.is_nan() { None } else { Some(v) })
}

pub(super) fn runtime_from(d: &Bound<'_, PyDict>) -> PyResult<Runtime> {
    let attention_kernels: f64 = get(d, "attention_kernels")?;
    Ok(Runtime {
        step_overhead_s: get(d, "step_overhead_s")?,
        sequence_overhead_s: get(d, "sequence_overhead_s")?,
        cuda_graphs: get(d, "cuda_graphs")?,
        graph_kernel_s: get(d, "graph_kernel_s")?,
        launch_kernel_s: opt(d, "launch_kernel_s")?,
        attention_kernels: if attention_kernels < 0.0 {
            None
        } else {
            Some(attention_kernels)
        },
        mla_extra_kernels: get(d, "mla_extra_kernels")?,
        dense_ffn_kernels: get(d, "dense_ffn_kernels")?,
        moe_kernels: get(d, "moe_kernels")?,
        weight_bandwidth_efficiency: opt(d, "weight_bandwidth_efficiency")?,
        kv_bandwidth_efficiency: opt(d, "kv_bandwidth_efficiency")?,
        gemm_efficiency: opt(d, "gemm_efficiency")?,
        gemm_tile_tokens: get(d, "gemm_tile_tokens")?,
        expert_imbalance: opt(d, "expert_imbalance")?,
        collective_latency_scale: get(d, "collective_latency_scale")?,
        operator_roofline: get(d, "operator_roofline")?,
        overlap: get(d, "overlap")?,
        memory_reserve_fraction: get(d, "memory_reserve_fraction")?,
        memory_reserve_bytes: get(d, "memory_reserve_bytes")?,
    })
}

pub(super) fn precision_from(d: &Bound<'_, PyDict>) -> PyResult<Precision> {
    Ok(Precision {
        attention: get(d, "attention")?,
        dense_ffn: get(d, "dense_ffn")?,
        experts: get(d, "experts")?,
        embeddings: get(d, "embeddings")?,
        kv_cache: get(d, "kv_cache")?,
        activations: get(d, "activations")?,
        dispatch: get(d, "dispatch")?,
        attention_bits: get(d, "attention_bits")?,
        ffn_bits: get(d, "ffn_bits")?,
        expert_bits: get(d, "expert_bits")?,
    })
}

/// A speculative configuration (python/infersweep/speculative.py `engine_dict`).
pub(super) fn speculation_from(d: &Bound<'_, PyDict>) -> PyResult<Speculation> {
    let draft: Bound<'_, PyDict> = get(d, "draft")?;
    let precision: Bound<'_, PyDict> = get(d, "precision")?;
    Ok(Speculation {
        draft: model_from(&draft)?,
        precision: precision_from(&precision)?,
        gamma: get(d, "gamma")?,
        tokens_per_step: get(d, "tokens_per_step")?,
        projection: get(d, "projection")?,
        shares_embeddings: get(d, "shares_embeddings")?,
    })
}

fn degrees(a: &PyReadonlyArray1<'_, u32>) -> Vec<u32> {
    a.as_array().iter().copied().collect()
}

/// A serving grid evaluated into a dict of numpy arrays, one per column.
#[pyfunction]
#[pyo3(signature = (*, models, gpus, precisions, n_gpus, batch_size, context_len, seq_len, tp, pp, ep, attention_dp, runtime, zip, num_threads=None, speculation=None))]
#[allow(clippy::too_many_arguments)]
fn serving_sweep<'py>(
    py: Python<'py>,
    models: &Bound<'py, PyList>,
    gpus: &Bound<'py, PyList>,
    precisions: &Bound<'py, PyList>,
    n_gpus: PyReadonlyArray1<'py, f64>,
    batch_size: PyReadonlyArray1<'py, f64>,
    context_len: PyReadonlyArray1<'py, f64>,
    seq_len: PyReadonlyArray1<'py, f64>,
    tp: PyReadonlyArray1<'py, u32>,
    pp: PyReadonlyArray1<'py, u32>,
    ep: PyReadonlyArray1<'py, u32>,
    attention_dp: PyReadonlyArray1<'py, u32>,
    runtime: &Bound<'py, PyDict>,
    zip: bool,
    num_threads: Option<usize>,
    speculation: Option<&Bound<'py, PyList>>,
) -> PyResult<Bound<'py, PyDict>> {
    let speculation = match speculation {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .map(|s| speculation_from(s.cast::<PyDict>()?))
            .collect::<PyResult<_>>()?,
    };
    let grid = ServingGrid {
        models: models
            .iter()
            .map(|m| model_from(m.cast::<PyDict>()?))
            .collect::<PyResult<_>>()?,
        precisions: precisions
            .iter()
            .map(|p| precision_from(p.cast::<PyDict>()?))
            .collect::<PyResult<_>>()?,
        gpus: gpus
            .iter()
            .map(|g| hardware_from(g.cast::<PyDict>()?))
            .collect::<PyResult<_>>()?,
        n_gpus: floats(&n_gpus),
        batch_size: floats(&batch_size),
        context_len: floats(&context_len),
        seq_len: floats(&seq_len),
        tp: degrees(&tp),
        pp: degrees(&pp),
        ep: degrees(&ep),
        attention_dp: degrees(&attention_dp),
        runtime: runtime_from(runtime)?,
        zip,
        speculation,
    };
    let rows = run_on_pool(py, num_threads, || {
        let total = grid.validate()?;
        sweep_columns(&grid, total, 0, total)
    })?
    .map_err(|e| to_py_err(&e))?;
    columns_to_dict(py, rows)
}

/// Calls `$then!(args; names...)` with the output columns after the six input columns, in
/// `SERVING_OUTPUT_COLUMNS` order: one list for the sweep's dict and the point's tuple.
macro_rules! with_output_columns {
    ($then:ident!($($args:tt)*)) => {
        $then!($($args)*;
            token_latency_s,
            tokens_per_s_per_request,
            usd_per_million_tokens,
            gpu_seconds_per_token,
            tokens_per_s_per_gpu,
            mfu,
            feasible,
            overhead_s,
            kernel_s,
            network_latency_s,
            network_bandwidth_s,
            all_to_all_s,
            memory_s,
            weight_memory_s,
            kv_memory_s,
            compute_s,
            work_s,
            overlap_s,
            tp,
            pp,
            ep,
            attention_dp,
            expert_tp,
            weights_gb_per_gpu,
            kv_gb_per_gpu,
            reserve_gb_per_gpu,
            max_batch_size
        )
    };
}

fn columns_to_dict(py: Python<'_>, c: Columns) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    macro_rules! put_all {
        ($c:ident; $($name:ident),* $(,)?) => { $(put(&out, stringify!($name), $c.$name)?;)* };
    }
    put_all!(c; model, gpu, n_gpus, batch_size, context_len, seq_len);
    with_output_columns!(put_all!(c));
    // The speculative columns (docs/serving.md §D), which Python keeps only with a spec_dec.
    put_all!(c; tokens_per_step, draft_s, verify_s, draft_weights_gb_per_gpu, kv_written_gb_per_gpu);
    Ok(out)
}

/// The output columns of one row, as a tuple in `SERVING_OUTPUT_COLUMNS` order.
pub(super) fn serving_row_tuple<'py>(py: Python<'py>, r: &Row) -> PyResult<Bound<'py, PyTuple>> {
    macro_rules! tuple_of {
        ($r:ident; $($name:ident),* $(,)?) => {
            PyTuple::new(py, [$($r.$name.into_pyobject(py)?.to_owned().into_any(),)*])
        };
    }
    with_output_columns!(tuple_of!(r))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(serving_sweep, m)?)
}
