//! One point, without a grid: `isw.evaluate`'s scalar fast paths.
//!
//! A [`Pair`] holds a (model, GPU) converted once (Python caches it per spec object) and the
//! layout search's scratch; [`evaluate_point`] runs the same `decode` and `economics` a sweep
//! row runs, so the numbers are a sweep row's bit for bit, and returns them as a tuple. The
//! work is a few microseconds: the GIL is kept (releasing it would cost more).
//!
//! [`ServingPoint`] and [`serving_point`] are the same for `serving` semantics: a (model, GPU,
//! precision, runtime) validated once, and the row `serving::sweep::point` computes as a
//! sweep does.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::serving::{precision_from, runtime_from, serving_row_tuple};
use super::{hardware_from, model_from, to_py_err};
use crate::forward::Prepared;
use crate::layout::{Point, Scratch};
use crate::serving::layout::{layouts, Layout as ServingLayout, Pins};
use crate::serving::runtime::{Precision, Runtime};
use crate::serving::step::ServingPrep;
use crate::serving::sweep::{self as serving_sweep, check_axes};
use crate::spec::{Hardware, Model};
use crate::specdec::{decode, economics};
use crate::sweep::Grid;

/// A validated (model, GPU) pair and its search scratch.
#[pyclass(frozen, module = "infersweep._core")]
pub struct Pair {
    model: Model,
    hw: Hardware,
    /// The memo is keyed by the hardware's address: stable, as `hw` lives in this object.
    scratch: Mutex<Scratch>,
}

#[pymethods]
impl Pair {
    #[new]
    fn new(model: &Bound<'_, PyDict>, gpu: &Bound<'_, PyDict>) -> PyResult<Self> {
        let (model, hw) = (model_from(model)?, hardware_from(gpu)?);
        // Validates both specs and the GPU's rate for the model's precision, once.
        Prepared::new(&model, &hw).map_err(|e| to_py_err(&e))?;
        Ok(Self {
            model,
            hw,
            scratch: Mutex::new(Scratch::default()),
        })
    }
}

type Components = (f64, f64, f64, f64, f64);
type Layout = (bool, f64, f64, f64, f64, f64);
type Evaluation = (f64, f64, f64, f64, f64, f64, bool, Components, Layout);

/// (token_latency_s, tokens_per_s_per_request, usd_per_million_tokens, gpu_seconds_per_token,
/// tokens_per_s_per_gpu, mfu, feasible, (kernel_s, network_latency_s, network_bandwidth_s,
/// memory_s, compute_s), (two_d_tp, pp_degree, ep_degree, tp_ffn, tp_attention,
/// attention_scaledown)) of one point, as `sweep` computes its row.
#[pyfunction]
#[pyo3(signature = (pair, n_gpus, batch_size, context_len, seq_len, use_pp))]
fn evaluate_point(
    pair: &Bound<'_, Pair>,
    n_gpus: f64,
    batch_size: f64,
    context_len: f64,
    seq_len: f64,
    use_pp: bool,
) -> PyResult<Evaluation> {
    // The grid's own axis checks, on one-value axes (no specs: the pair checked them).
    Grid {
        n_gpus: vec![n_gpus],
        batch_size: vec![batch_size],
        context_len: vec![context_len],
        seq_len: vec![seq_len],
        ..Grid::default()
    }
    .check_values()
    .map_err(|e| to_py_err(&e))?;
    let pair = pair.get();
    let prep = Prepared::new(&pair.model, &pair.hw).map_err(|e| to_py_err(&e))?;
    let pt = Point {
        n_gpus,
        batch: batch_size,
        context: context_len,
        positions: seq_len,
        use_pp,
    };
    let mut scratch = pair
        .scratch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dec = decode(&prep, None, pt, &mut scratch);
    drop(scratch);
    let econ = economics(&prep, pt, dec.latency_s);
    let p = dec.target;
    Ok((
        dec.latency_s,
        econ.tokens_per_s_per_request,
        econ.usd_per_million_tokens,
        econ.gpu_seconds_per_token,
        econ.tokens_per_s_per_gpu,
        econ.mfu,
        p.feasible(),
        (
            p.kernel_s,
            p.network_latency_s,
            p.network_bandwidth_s,
            p.memory_s,
            p.compute_s,
        ),
        (
            p.two_d_tp,
            p.pp_degree,
            p.ep_degree,
            p.tp_ffn,
            p.tp_attention,
            p.attention_scaledown,
        ),
    ))
}

/// The candidate layouts of one (n_gpus, pins), kept for the next call with the same key.
type LayoutMemo = Option<((u32, Pins), Vec<ServingLayout>)>;

/// A validated (model, GPU, precision, runtime) of `serving` semantics.
#[pyclass(frozen, module = "infersweep._core")]
pub struct ServingPoint {
    model: Model,
    hw: Hardware,
    precision: Precision,
    runtime: Runtime,
    layouts: Mutex<LayoutMemo>,
}

#[pymethods]
impl ServingPoint {
    #[new]
    fn new(
        model: &Bound<'_, PyDict>,
        gpu: &Bound<'_, PyDict>,
        precision: &Bound<'_, PyDict>,
        runtime: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let (model, hw) = (model_from(model)?, hardware_from(gpu)?);
        let (precision, runtime) = (precision_from(precision)?, runtime_from(runtime)?);
        // What a serving grid checks of its specs, once: the runtime, both specs, and the
        // GPU's rate for each precision's FLOP key.
        runtime.validate().map_err(|e| to_py_err(&e))?;
        ServingPrep::new(&model, &hw, precision).map_err(|e| to_py_err(&e))?;
        Ok(Self {
            model,
            hw,
            precision,
            runtime,
            layouts: Mutex::new(None),
        })
    }
}

/// The 26 output columns of `isw.sweep(..., semantics="serving")`'s row of one point, in
/// `SERVING_OUTPUT_COLUMNS` order. Degrees of 0 are searched.
#[pyfunction]
#[pyo3(signature = (point, n_gpus, batch_size, context_len, seq_len, tp, pp, ep, attention_dp))]
fn serving_point<'py>(
    py: Python<'py>,
    point: &Bound<'py, ServingPoint>,
    n_gpus: f64,
    batch_size: f64,
    context_len: f64,
    seq_len: f64,
    tp: u32,
    pp: u32,
    ep: u32,
    attention_dp: u32,
) -> PyResult<Bound<'py, PyTuple>> {
    let p = point.get();
    let sp = ServingPrep::new(&p.model, &p.hw, p.precision).map_err(|e| to_py_err(&e))?;
    let pins = Pins {
        tp,
        pp,
        ep,
        attention_dp,
    };
    check_axes(&[n_gpus], &[batch_size], &[context_len], &[seq_len]).map_err(|e| to_py_err(&e))?;
    let n = n_gpus as u32;
    let mut memo = p
        .layouts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if memo.as_ref().map_or(true, |(key, _)| *key != (n, pins)) {
        let found = layouts(&p.model, n, pins).map_err(|e| to_py_err(&e))?;
        *memo = Some(((n, pins), found));
    }
    let candidates = &memo.as_ref().expect("filled above").1;
    let row = serving_sweep::point(
        &sp,
        &p.runtime,
        n_gpus,
        batch_size,
        context_len,
        seq_len,
        candidates,
    );
    drop(memo);
    serving_row_tuple(py, &row)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Pair>()?;
    m.add_function(wrap_pyfunction!(evaluate_point, m)?)?;
    m.add_class::<ServingPoint>()?;
    m.add_function(wrap_pyfunction!(serving_point, m)?)?;
    Ok(())
}
