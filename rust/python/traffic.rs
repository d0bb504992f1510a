//! The binding of serving traffic (rust/serving/traffic.rs): one mixed step, rows of steady
//! states over explicit layouts (zipped, for validation), and `serve`'s grid (groups × loads,
//! the best layout per combination picked here), rayon-parallel over (group, loads) tasks that
//! each share one solver.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;

use crate::serving::layout::Layout;
use crate::serving::runtime::Runtime;
use crate::serving::step::ServingPrep;
use crate::serving::traffic::{mixed_step, Instance, Lengths, Solver, Traffic, Work};
use crate::spec::{Hardware, Model};

use super::serving::{precision_from, runtime_from};
use super::{floats, get, hardware_from, model_from, put, run_on_pool, to_py_err};

/// One mixed step of one layout, as a dict of its components.
#[pyfunction]
#[pyo3(signature = (*, model, gpu, precision, runtime, n_gpus, tp, pp, ep, attention_dp, work))]
#[allow(clippy::too_many_arguments)]
fn serving_mixed_step<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    gpu: &Bound<'py, PyDict>,
    precision: &Bound<'py, PyDict>,
    runtime: &Bound<'py, PyDict>,
    n_gpus: u32,
    tp: u32,
    pp: u32,
    ep: u32,
    attention_dp: u32,
    work: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let (m, hw) = (model_from(model)?, hardware_from(gpu)?);
    let sp = ServingPrep::new(&m, &hw, precision_from(precision)?).map_err(|e| to_py_err(&e))?;
    let rt = runtime_from(runtime)?;
    let w = Work {
        decode_seqs: get(work, "decode_seqs")?,
        decode_ctx: get(work, "decode_ctx")?,
        prefill_tokens: get(work, "prefill_tokens")?,
        chunk: get(work, "chunk")?,
        prefix: get(work, "prefix")?,
        capacity_seqs: get(work, "capacity_seqs")?,
        capacity_ctx: get(work, "capacity_ctx")?,
    };
    let lay = Layout {
        tp,
        pp,
        ep,
        attention_dp,
    };
    let st = mixed_step(&sp, &rt, n_gpus, lay, &w);
    let out = PyDict::new(py);
    out.set_item("latency_s", st.latency_s)?;
    out.set_item("feasible", st.feasible)?;
    out.set_item("overhead_s", st.overhead_s)?;
    out.set_item("kernel_s", st.kernel_s)?;
    out.set_item("network_s", st.network_s)?;
    out.set_item("weight_memory_s", st.weight_memory_s)?;
    out.set_item("kv_memory_s", st.kv_memory_s)?;
    out.set_item("kv_write_s", st.kv_write_s)?;
    out.set_item("compute_s", st.compute_s)?;
    out.set_item("work_s", st.work_s)?;
    out.set_item("overlap_s", st.overlap_s)?;
    out.set_item("attention_flops", st.attention_flops)?;
    out.set_item("max_batch_size", st.memory.max_batch_size)?;
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
struct Group {
    model: usize,
    gpu: usize,
    n_gpus: u32,
    lay: Layout,
    tr: Traffic,
}

#[derive(Default, Clone, Copy)]
struct RowOut {
    requests_per_s: f64,
    tpot_s: f64,
    ttft_s: f64,
    ttft_idle_s: f64,
    decode_seqs: f64,
    prefill_share: f64,
    decode_step_s: f64,
    mixed_step_s: f64,
    saturated: bool,
    weights_gb_per_gpu: f64,
    kv_gb_per_gpu: f64,
    max_batch_size: f64,
}

impl RowOut {
    /// The request latency TTFT + OSL·TPOT, which `serve` minimises over layouts.
    fn latency(&self, osl: f64) -> f64 {
        self.ttft_s + osl * self.tpot_s
    }
}

fn index(a: &PyReadonlyArray1<'_, u32>) -> Vec<u32> {
    a.as_array().iter().copied().collect()
}

/// (model × GPU) preparations, indexed model-major.
fn preparations<'a>(
    ms: &'a [Model],
    hs: &'a [Hardware],
    precs: &[crate::serving::runtime::Precision],
) -> PyResult<Vec<ServingPrep<'a>>> {
    let mut preps = Vec::with_capacity(ms.len() * hs.len());
    for (m, p) in ms.iter().zip(precs) {
        for h in hs {
            preps.push(ServingPrep::new(m, h, *p).map_err(|e| to_py_err(&e))?);
        }
    }
    Ok(preps)
}

/// Steady states of one group at consecutive loads, sharing one solver.
fn solve_group(
    sp: &ServingPrep,
    rt: &Runtime,
    g: &Group,
    lengths: Lengths,
    loads: &[f64],
    closed: bool,
) -> Vec<RowOut> {
    let mut solver = Solver::with_lengths(Instance::new(sp, rt, g.n_gpus, g.lay), g.tr, lengths);
    let ttft_idle_s = solver.ttft_idle();
    loads
        .iter()
        .map(|&load| {
            let st = if closed {
                solver.at_concurrency(load)
            } else {
                solver.at_rate(load)
            };
            RowOut {
                requests_per_s: st.requests_per_s,
                tpot_s: st.tpot_s,
                ttft_s: st.ttft_s,
                ttft_idle_s,
                decode_seqs: st.decode_seqs,
                prefill_share: st.prefill_share,
                decode_step_s: st.decode_step_s,
                mixed_step_s: st.mixed_step_s,
                saturated: st.saturated,
                weights_gb_per_gpu: st.memory.weights / 1e9,
                kv_gb_per_gpu: st.memory.kv / 1e9,
                max_batch_size: st.memory.max_batch_size,
            }
        })
        .collect()
}

fn put_rows(d: &Bound<'_, PyDict>, out: &[RowOut]) -> PyResult<()> {
    macro_rules! put_all {
        ($($name:ident),* $(,)?) => {
            $(put(d, stringify!($name), out.iter().map(|r| r.$name).collect::<Vec<_>>())?;)*
        };
    }
    put_all!(
        requests_per_s,
        tpot_s,
        ttft_s,
        ttft_idle_s,
        decode_seqs,
        prefill_share,
        decode_step_s,
        mixed_step_s,
        saturated,
        weights_gb_per_gpu,
        kv_gb_per_gpu,
        max_batch_size,
    );
    Ok(())
}

/// Rows per task of the zipped steady states: consecutive rows of one group share a solver.
const ROWS_PER_TASK: usize = 4096;

/// Steady states, one per row of explicit layouts: `load` is a concurrency when `closed`,
/// else a request rate (requests/s).
#[pyfunction]
#[pyo3(signature = (*, models, gpus, precisions, runtime, model, gpu, n_gpus, tp, pp, ep, attention_dp, isl, osl, budget, load, closed, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn serving_traffic<'py>(
    py: Python<'py>,
    models: &Bound<'py, PyList>,
    gpus: &Bound<'py, PyList>,
    precisions: &Bound<'py, PyList>,
    runtime: &Bound<'py, PyDict>,
    model: PyReadonlyArray1<'py, u32>,
    gpu: PyReadonlyArray1<'py, u32>,
    n_gpus: PyReadonlyArray1<'py, u32>,
    tp: PyReadonlyArray1<'py, u32>,
    pp: PyReadonlyArray1<'py, u32>,
    ep: PyReadonlyArray1<'py, u32>,
    attention_dp: PyReadonlyArray1<'py, u32>,
    isl: PyReadonlyArray1<'py, f64>,
    osl: PyReadonlyArray1<'py, f64>,
    budget: PyReadonlyArray1<'py, f64>,
    load: PyReadonlyArray1<'py, f64>,
    closed: bool,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (ms, hs, precs) = specs(models, gpus, precisions)?;
    let rt = runtime_from(runtime)?;
    let preps = preparations(&ms, &hs, &precs)?;
    let groups = groups_from(
        &model,
        &gpu,
        &n_gpus,
        [&tp, &pp, &ep, &attention_dp],
        [&isl, &osl, &budget],
    );
    let loads = floats(&load);
    let n_hw = hs.len();
    let out: Vec<RowOut> = run_on_pool(py, num_threads, || {
        let tasks: Vec<(usize, usize)> = (0..groups.len())
            .step_by(ROWS_PER_TASK)
            .map(|lo| (lo, (lo + ROWS_PER_TASK).min(groups.len())))
            .collect();
        let parts: Vec<Vec<RowOut>> = tasks
            .par_iter()
            .map(|&(lo, hi)| {
                let mut rows = Vec::with_capacity(hi - lo);
                let mut start = lo;
                while start < hi {
                    let g = groups[start];
                    let mut end = start + 1;
                    while end < hi && groups[end] == g {
                        end += 1;
                    }
                    let sp = &preps[g.model * n_hw + g.gpu];
                    let lengths = Lengths::uniform(g.tr);
                    rows.extend(solve_group(
                        sp,
                        &rt,
                        &g,
                        lengths,
                        &loads[start..end],
                        closed,
                    ));
                    start = end;
                }
                rows
            })
            .collect();
        parts.concat()
    })?;
    let d = PyDict::new(py);
    put_rows(&d, &out)?;
    Ok(d)
}

type Specs = (
    Vec<Model>,
    Vec<Hardware>,
    Vec<crate::serving::runtime::Precision>,
);

fn specs(
    models: &Bound<'_, PyList>,
    gpus: &Bound<'_, PyList>,
    precisions: &Bound<'_, PyList>,
) -> PyResult<Specs> {
    let ms: Vec<Model> = models
        .iter()
        .map(|m| model_from(m.cast::<PyDict>()?))
        .collect::<PyResult<_>>()?;
    let hs: Vec<Hardware> = gpus
        .iter()
        .map(|g| hardware_from(g.cast::<PyDict>()?))
        .collect::<PyResult<_>>()?;
    let precs = precisions
        .iter()
        .map(|p| precision_from(p.cast::<PyDict>()?))
        .collect::<PyResult<Vec<_>>>()?;
    Ok((ms, hs, precs))
}

fn groups_from(
    model: &PyReadonlyArray1<'_, u32>,
    gpu: &PyReadonlyArray1<'_, u32>,
    n_gpus: &PyReadonlyArray1<'_, u32>,
    degrees: [&PyReadonlyArray1<'_, u32>; 4],
    traffic: [&PyReadonlyArray1<'_, f64>; 3],
) -> Vec<Group> {
    let (mi, gi, ng) = (index(model), index(gpu), index(n_gpus));
    let [tps, pps, eps, dps] = degrees.map(index);
    let [isls, osls, budgets] = traffic.map(floats);
    (0..mi.len())
        .map(|i| Group {
            model: mi[i] as usize,
            gpu: gi[i] as usize,
            n_gpus: ng[i],
            lay: Layout {
                tp: tps[i],
                pp: pps[i],
                ep: eps[i],
                attention_dp: dps[i],
            },
            tr: Traffic {
                isl: isls[i],
                osl: osls[i],
                budget: budgets[i],
            },
        })
        .collect()
}

/// Whether (saturated, latency) `a` sorts before `b`: unsaturated first, then the lower
/// latency, NaN last (polars' order).
fn earlier(sat_a: bool, a: f64, sat_b: bool, b: f64) -> bool {
    if sat_a != sat_b {
        return !sat_a;
    }
    match (a.is_nan(), b.is_nan()) {
        (true, _) => false,
        (false, true) => true,
        _ => a < b,
    }
}

/// (rows, group, load index) of `serving_serve` from `table[g·L + l]`: per (segment, load) the
/// best layout's row, or every layout's.
fn pick_rows(
    table: &[RowOut],
    groups: &[Group],
    segs: &[usize],
    n_loads: usize,
    best: bool,
) -> (Vec<RowOut>, Vec<u32>, Vec<u32>) {
    let mut rows = Vec::new();
    let mut which: Vec<u32> = Vec::new();
    let mut load_index: Vec<u32> = Vec::new();
    for seg in segs.windows(2) {
        for l in 0..n_loads {
            let mut push = |gi: usize| {
                rows.push(table[gi * n_loads + l]);
                which.push(gi as u32);
                load_index.push(l as u32);
            };
            if best {
                let mut pick: Option<usize> = None;
                for gi in seg[0]..seg[1] {
                    let r = &table[gi * n_loads + l];
                    let better = pick.map_or(true, |p| {
                        let q = &table[p * n_loads + l];
                        let (a, b) = (r.latency(groups[gi].tr.osl), q.latency(groups[p].tr.osl));
                        earlier(r.saturated, a, q.saturated, b)
                    });
                    if better {
                        pick = Some(gi);
                    }
                }
                if let Some(gi) = pick {
                    push(gi);
                }
            } else {
                (seg[0]..seg[1]).for_each(&mut push);
            }
        }
    }
    (rows, which, load_index)
}

/// Loads per task of `serving_serve` at least: a group's loads are split into at most
/// `TASKS_PER_GROUP` tasks of at least this many (each task fills its own table of steps).
const LOADS_PER_TASK: usize = 2048;
const TASKS_PER_GROUP: usize = 4;

/// The steady states of `serve` (docs/serving.md §T.3): every group (instance and traffic) at
/// every load; groups come in segments (the layouts of one combination, `segments` holds
/// their offsets). `best`: per (segment, load) the row of the unsaturated layout with the
/// lowest TTFT + OSL·TPOT (the first on ties; the first layout when all are saturated), in
/// (segment, load) order; otherwise every row in (segment, load, layout) order. `group` and
/// `load_index` say which group and load each row is.
#[pyfunction]
#[pyo3(signature = (*, models, gpus, precisions, runtime, model, gpu, n_gpus, tp, pp, ep, attention_dp, isl, osl, budget, decode_ctx, capacity_ctx, token_isl, prompt_offsets, prompt_lengths, prompt_weights, segments, loads, closed, best, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn serving_serve<'py>(
    py: Python<'py>,
    models: &Bound<'py, PyList>,
    gpus: &Bound<'py, PyList>,
    precisions: &Bound<'py, PyList>,
    runtime: &Bound<'py, PyDict>,
    model: PyReadonlyArray1<'py, u32>,
    gpu: PyReadonlyArray1<'py, u32>,
    n_gpus: PyReadonlyArray1<'py, u32>,
    tp: PyReadonlyArray1<'py, u32>,
    pp: PyReadonlyArray1<'py, u32>,
    ep: PyReadonlyArray1<'py, u32>,
    attention_dp: PyReadonlyArray1<'py, u32>,
    isl: PyReadonlyArray1<'py, f64>,
    osl: PyReadonlyArray1<'py, f64>,
    budget: PyReadonlyArray1<'py, f64>,
    decode_ctx: PyReadonlyArray1<'py, f64>,
    capacity_ctx: PyReadonlyArray1<'py, f64>,
    token_isl: PyReadonlyArray1<'py, f64>,
    prompt_offsets: PyReadonlyArray1<'py, u32>,
    prompt_lengths: PyReadonlyArray1<'py, f64>,
    prompt_weights: PyReadonlyArray1<'py, f64>,
    segments: PyReadonlyArray1<'py, u32>,
    loads: PyReadonlyArray1<'py, f64>,
    closed: bool,
    best: bool,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (ms, hs, precs) = specs(models, gpus, precisions)?;
    let rt = runtime_from(runtime)?;
    let preps = preparations(&ms, &hs, &precs)?;
    let groups = groups_from(
        &model,
        &gpu,
        &n_gpus,
        [&tp, &pp, &ep, &attention_dp],
        [&isl, &osl, &budget],
    );
    let (dctx, cctx, tisl) = (
        floats(&decode_ctx),
        floats(&capacity_ctx),
        floats(&token_isl),
    );
    let offsets: Vec<usize> = index(&prompt_offsets)
        .into_iter()
        .map(|s| s as usize)
        .collect();
    let (plen, pw) = (floats(&prompt_lengths), floats(&prompt_weights));
    if offsets.len() != groups.len() + 1
        || offsets.windows(2).any(|w| w[0] > w[1])
        || offsets
            .last()
            .is_some_and(|&e| e > plen.len().min(pw.len()))
        || [dctx.len(), cctx.len(), tisl.len()]
            .iter()
            .any(|&l| l != groups.len())
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "serving_serve: the lengths must give one entry per group and ascending offsets",
        ));
    }
    let lengths_of = |gi: usize| Lengths {
        decode_ctx: dctx[gi],
        capacity_ctx: cctx[gi],
        token_isl: tisl[gi],
        prompts: (offsets[gi]..offsets[gi + 1])
            .map(|j| (plen[j], pw[j]))
            .collect(),
    };
    let segs: Vec<usize> = index(&segments).into_iter().map(|s| s as usize).collect();
    let loads = floats(&loads);
    let n_hw = hs.len();
    let (n_groups, n_loads) = (groups.len(), loads.len());
    if segs.first() != Some(&0)
        || segs.last() != Some(&n_groups)
        || segs.windows(2).any(|w| w[0] > w[1])
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "serving_serve: segments must run from 0 to the number of groups, ascending",
        ));
    }
    let per_task = LOADS_PER_TASK.max(n_loads.div_ceil(TASKS_PER_GROUP));
    let table: Vec<RowOut> = run_on_pool(py, num_threads, || {
        let tasks: Vec<(usize, usize)> = (0..n_groups)
            .flat_map(|g| (0..n_loads).step_by(per_task).map(move |lo| (g, lo)))
            .collect();
        let parts: Vec<Vec<RowOut>> = tasks
            .par_iter()
            .map(|&(gi, lo)| {
                let g = &groups[gi];
                let sp = &preps[g.model * n_hw + g.gpu];
                let hi = (lo + per_task).min(n_loads);
                solve_group(sp, &rt, g, lengths_of(gi), &loads[lo..hi], closed)
            })
            .collect();
        parts.concat()
    })?;
    // table[g·L + l]: group g at load l.
    let (rows, which, load_index) = if segs.windows(2).all(|w| w[1] - w[0] == 1) {
        // One layout per combination (pinned): the table is already in (segment, load) order.
        let which = (0..n_groups as u32)
            .flat_map(|g| std::iter::repeat(g).take(n_loads))
            .collect();
        let load_index = (0..n_groups).flat_map(|_| 0..n_loads as u32).collect();
        (table, which, load_index)
    } else {
        pick_rows(&table, &groups, &segs, n_loads, best)
    };
    let d = PyDict::new(py);
    put_rows(&d, &rows)?;
    // Each row's group fields, so Python labels rows without gathering them.
    let of = |f: &dyn Fn(&Group) -> f64| {
        which
            .iter()
            .map(|&g| f(&groups[g as usize]))
            .collect::<Vec<_>>()
    };
    let int = |f: &dyn Fn(&Group) -> i64| {
        which
            .iter()
            .map(|&g| f(&groups[g as usize]))
            .collect::<Vec<_>>()
    };
    let code = |f: &dyn Fn(&Group) -> usize| {
        which
            .iter()
            .map(|&g| u32::try_from(f(&groups[g as usize])).unwrap_or(u32::MAX))
            .collect::<Vec<_>>()
    };
    put(&d, "model", code(&|g| g.model))?;
    put(&d, "gpu", code(&|g| g.gpu))?;
    put(&d, "n_gpus", int(&|g| i64::from(g.n_gpus)))?;
    put(&d, "tp", int(&|g| i64::from(g.lay.tp)))?;
    put(&d, "pp", int(&|g| i64::from(g.lay.pp)))?;
    put(&d, "ep", int(&|g| i64::from(g.lay.ep)))?;
    put(&d, "attention_dp", int(&|g| i64::from(g.lay.attention_dp)))?;
    put(&d, "isl", of(&|g| g.tr.isl))?;
    put(&d, "osl", of(&|g| g.tr.osl))?;
    put(&d, "chunk_size", int(&|g| g.tr.budget as i64))?;
    put(
        &d,
        "load",
        load_index
            .iter()
            .map(|&l| loads[l as usize])
            .collect::<Vec<_>>(),
    )?;
    put(&d, "group", which)?;
    put(&d, "load_index", load_index)?;
    Ok(d)
}

/// Rows of mixed steps (one model, GPU and precision), rayon-parallel: latency, feasibility
/// and memory per row.
#[pyfunction]
#[pyo3(signature = (*, model, gpu, precision, runtime, n_gpus, tp, pp, ep, attention_dp, decode_seqs, decode_ctx, prefill_tokens, chunk, prefix, capacity_seqs, capacity_ctx, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn serving_steps<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    gpu: &Bound<'py, PyDict>,
    precision: &Bound<'py, PyDict>,
    runtime: &Bound<'py, PyDict>,
    n_gpus: PyReadonlyArray1<'py, u32>,
    tp: PyReadonlyArray1<'py, u32>,
    pp: PyReadonlyArray1<'py, u32>,
    ep: PyReadonlyArray1<'py, u32>,
    attention_dp: PyReadonlyArray1<'py, u32>,
    decode_seqs: PyReadonlyArray1<'py, f64>,
    decode_ctx: PyReadonlyArray1<'py, f64>,
    prefill_tokens: PyReadonlyArray1<'py, f64>,
    chunk: PyReadonlyArray1<'py, f64>,
    prefix: PyReadonlyArray1<'py, f64>,
    capacity_seqs: PyReadonlyArray1<'py, f64>,
    capacity_ctx: PyReadonlyArray1<'py, f64>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (m, hw) = (model_from(model)?, hardware_from(gpu)?);
    let sp = ServingPrep::new(&m, &hw, precision_from(precision)?).map_err(|e| to_py_err(&e))?;
    let rt = runtime_from(runtime)?;
    let (ng, tps, pps, eps, dps) = (
        index(&n_gpus),
        index(&tp),
        index(&pp),
        index(&ep),
        index(&attention_dp),
    );
    let cols = [
        floats(&decode_seqs),
        floats(&decode_ctx),
        floats(&prefill_tokens),
        floats(&chunk),
        floats(&prefix),
        floats(&capacity_seqs),
        floats(&capacity_ctx),
    ];
    let out: Vec<(f64, bool, f64, f64, f64)> = run_on_pool(py, num_threads, || {
        (0..ng.len())
            .into_par_iter()
            .map(|i| {
                let lay = Layout {
                    tp: tps[i],
                    pp: pps[i],
                    ep: eps[i],
                    attention_dp: dps[i],
                };
                let w = Work {
                    decode_seqs: cols[0][i],
                    decode_ctx: cols[1][i],
                    prefill_tokens: cols[2][i],
                    chunk: cols[3][i],
                    prefix: cols[4][i],
                    capacity_seqs: cols[5][i],
                    capacity_ctx: cols[6][i],
                };
                let st = mixed_step(&sp, &rt, ng[i], lay, &w);
                (
                    st.latency_s,
                    st.feasible,
                    st.memory.max_batch_size,
                    st.memory.weights / 1e9,
                    st.memory.kv / 1e9,
                )
            })
            .collect()
    })?;
    let d = PyDict::new(py);
    put(&d, "latency_s", out.iter().map(|r| r.0).collect::<Vec<_>>())?;
    put(&d, "feasible", out.iter().map(|r| r.1).collect::<Vec<_>>())?;
    put(
        &d,
        "max_batch_size",
        out.iter().map(|r| r.2).collect::<Vec<_>>(),
    )?;
    put(
        &d,
        "weights_gb_per_gpu",
        out.iter().map(|r| r.3).collect::<Vec<_>>(),
    )?;
    put(
        &d,
        "kv_gb_per_gpu",
        out.iter().map(|r| r.4).collect::<Vec<_>>(),
    )?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(serving_steps, m)?)?;
    m.add_function(wrap_pyfunction!(serving_mixed_step, m)?)?;
    m.add_function(wrap_pyfunction!(serving_traffic, m)?)?;
    m.add_function(wrap_pyfunction!(serving_serve, m)?)
}
