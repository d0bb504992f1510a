//! Serving grids → column buffers, rayon-parallel (the serving counterpart of `crate::sweep`).
//!
//! Ten axes (model, gpu, n_gpus, batch_size, context_len, seq_len, tp, pp, ep, attention_dp),
//! a cartesian product (the last varying fastest) or zipped row by row (length-1 axes
//! broadcast). A degree of 0 is searched over every deployable layout. Every row depends only
//! on its inputs: results do not depend on the thread count.

use std::collections::{HashMap, HashSet};
use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::spec::{Hardware, Model, SpecError};
use crate::sweep::{columns, grid_error, next_row_indices, row_count, row_indices, AXIS_MAX};

use super::layout::{layouts, Layout, Pins};
use super::runtime::{Precision, Runtime};
use super::speculative::{best_spec, SpecStep, Speculation};
use super::step::{best_of_plans, economics, Economics, ServingPrep, Step, StepPlan};

pub const AXES: [&str; 10] = [
    "model",
    "gpu",
    "n_gpus",
    "batch_size",
    "context_len",
    "seq_len",
    "tp",
    "pp",
    "ep",
    "attention_dp",
];

/// Largest GPU count of a serving layout.
pub const MAX_GPUS: f64 = 1_048_576.0;

#[derive(Debug, Clone)]
pub struct ServingGrid {
    pub models: Vec<Model>,
    /// One resolved precision per model.
    pub precisions: Vec<Precision>,
    pub gpus: Vec<Hardware>,
    pub n_gpus: Vec<f64>,
    pub batch_size: Vec<f64>,
    pub context_len: Vec<f64>,
    pub seq_len: Vec<f64>,
    pub tp: Vec<u32>,
    pub pp: Vec<u32>,
    pub ep: Vec<u32>,
    pub attention_dp: Vec<u32>,
    pub runtime: Runtime,
    pub zip: bool,
    /// Speculative decoding (docs/serving.md §D): empty, or one per model.
    pub speculation: Vec<Speculation>,
}

impl ServingGrid {
    fn lens(&self) -> [usize; 10] {
        [
            self.models.len(),
            self.gpus.len(),
            self.n_gpus.len(),
            self.batch_size.len(),
            self.context_len.len(),
            self.seq_len.len(),
            self.tp.len(),
            self.pp.len(),
            self.ep.len(),
            self.attention_dp.len(),
        ]
    }

    pub fn row_count(&self) -> Result<usize, SpecError> {
        row_count(&self.lens(), &AXES, self.zip)
    }

    #[inline]
    pub fn indices(&self, row: usize) -> [usize; 10] {
        row_indices(self.lens(), self.zip, row)
    }

    fn pins(&self, ix: &[usize; 10]) -> Pins {
        Pins {
            tp: self.tp[ix[6]],
            pp: self.pp[ix[7]],
            ep: self.ep[ix[8]],
            attention_dp: self.attention_dp[ix[9]],
        }
    }

    /// Checks every axis, spec and pinned layout before any work; returns the row count.
    pub fn validate(&self) -> Result<usize, SpecError> {
        let rows = self.row_count()?;
        check_axes(
            &self.n_gpus,
            &self.batch_size,
            &self.context_len,
            &self.seq_len,
        )?;
        if self.precisions.len() != self.models.len() {
            return Err(grid_error(
                "precision",
                "needs one precision per model".into(),
            ));
        }
        self.runtime.validate()?;
        if !self.speculation.is_empty() && self.speculation.len() != self.models.len() {
            return Err(grid_error(
                "spec_dec",
                "needs one speculative configuration per model".into(),
            ));
        }
        for s in &self.speculation {
            s.draft.validate()?;
        }
        for m in &self.models {
            m.validate()?;
        }
        for g in &self.gpus {
            g.validate()?;
        }
        // Every (model, n_gpus, pins) combination must allow a layout.
        let mut seen = HashSet::new();
        let mut check = |mi: usize, n: f64, pins: Pins| -> Result<(), SpecError> {
            if seen.insert((
                mi,
                n.to_bits(),
                pins.tp,
                pins.pp,
                pins.ep,
                pins.attention_dp,
            )) {
                layouts(&self.models[mi], n as u32, pins)?;
            }
            Ok(())
        };
        if self.zip {
            for row in 0..rows {
                let ix = self.indices(row);
                check(ix[0], self.n_gpus[ix[2]], self.pins(&ix))?;
            }
        } else if rows > 0 {
            for mi in 0..self.models.len() {
                for &n in &self.n_gpus {
                    for &tp in &self.tp {
                        for &pp in &self.pp {
                            for &ep in &self.ep {
                                for &attention_dp in &self.attention_dp {
                                    check(
                                        mi,
                                        n,
                                        Pins {
                                            tp,
                                            pp,
                                            ep,
                                            attention_dp,
                                        },
                                    )?;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(rows)
    }
}

/// The value checks of a grid's numeric axes (shared by a grid and a single point).
pub fn check_axes(
    n_gpus: &[f64],
    batch_size: &[f64],
    context_len: &[f64],
    seq_len: &[f64],
) -> Result<(), SpecError> {
    let integer = |field: &'static str, values: &[f64], hi: f64| match values
        .iter()
        .find(|&&v| !(v >= 1.0 && v <= hi && v.fract() == 0.0))
    {
        Some(v) => Err(grid_error(
            field,
            format!("must be an integer in [1, {hi:e}] under serving semantics, got {v}"),
        )),
        None => Ok(()),
    };
    integer("n_gpus", n_gpus, MAX_GPUS)?;
    integer("batch_size", batch_size, AXIS_MAX)?;
    if let Some(v) = context_len
        .iter()
        .find(|&&v| !(0.0..=AXIS_MAX).contains(&v))
    {
        return Err(grid_error(
            "context_len",
            format!("must be in [0, {AXIS_MAX:e}], got {v}"),
        ));
    }
    if let Some(v) = seq_len.iter().find(|&&v| !(1.0..=AXIS_MAX).contains(&v)) {
        return Err(grid_error(
            "seq_len",
            format!("must be in [1, {AXIS_MAX:e}], got {v}"),
        ));
    }
    Ok(())
}

columns! {
    model: u32,
    gpu: u32,
    n_gpus: f64,
    batch_size: f64,
    context_len: f64,
    seq_len: f64,
    token_latency_s: f64,
    tokens_per_s_per_request: f64,
    usd_per_million_tokens: f64,
    gpu_seconds_per_token: f64,
    tokens_per_s_per_gpu: f64,
    mfu: f64,
    feasible: bool,
    overhead_s: f64,
    kernel_s: f64,
    network_latency_s: f64,
    network_bandwidth_s: f64,
    all_to_all_s: f64,
    memory_s: f64,
    weight_memory_s: f64,
    kv_memory_s: f64,
    compute_s: f64,
    work_s: f64,
    overlap_s: f64,
    tp: u32,
    pp: u32,
    ep: u32,
    attention_dp: u32,
    expert_tp: u32,
    weights_gb_per_gpu: f64,
    kv_gb_per_gpu: f64,
    reserve_gb_per_gpu: f64,
    max_batch_size: f64,
    tokens_per_step: f64,
    draft_s: f64,
    verify_s: f64,
    draft_weights_gb_per_gpu: f64,
    kv_written_gb_per_gpu: f64,
}

/// Rows per rayon task: large enough to amortise scheduling, small enough to balance.
const BLOCK_ROWS: usize = 1024;

/// Entries a task's [`PlanMemo`] holds before it starts afresh (a zipped grid of many GPU
/// counts would otherwise keep one per row).
const MEMO_ENTRIES: usize = 4096;

/// A key of [`PlanMemo`]: (model·gpu pair, n_gpus, pins).
type PlanKey = (usize, u32, Pins);

/// The planned candidate layouts of one key, with their KV cache at the last context seen.
struct Planned<'s, 'a> {
    ctx: f64,
    plans: Vec<(StepPlan<'s, 'a>, (f64, f64))>,
}

/// Planned candidate layouts by key, with the last key looked up first: the rows of a block
/// usually share it, and then no hash is computed.
struct PlanMemo<'s, 'a> {
    last: Option<(PlanKey, usize)>,
    index: HashMap<PlanKey, usize>,
    entries: Vec<Planned<'s, 'a>>,
}

impl<'s, 'a> PlanMemo<'s, 'a> {
    fn new() -> Self {
        Self {
            last: None,
            index: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// The plans of `key` with their KV cache at `ctx`.
    fn get(
        &mut self,
        grid: &'s ServingGrid,
        preps: &'s [ServingPrep<'a>],
        model: usize,
        key: PlanKey,
        ctx: f64,
    ) -> &[(StepPlan<'s, 'a>, (f64, f64))] {
        let at = match self.last {
            Some((k, at)) if k == key => at,
            _ => {
                let at = if let Some(&at) = self.index.get(&key) {
                    at
                } else {
                    if self.entries.len() >= MEMO_ENTRIES {
                        self.index.clear();
                        self.entries.clear();
                    }
                    let sp = &preps[key.0];
                    let candidates = layouts(&grid.models[model], key.1, key.2)
                        .expect("validated before the sweep");
                    let plans = candidates
                        .into_iter()
                        .map(|lay| {
                            let plan = StepPlan::new(sp, &grid.runtime, key.1, lay);
                            let kv = plan.kv_at(ctx);
                            (plan, kv)
                        })
                        .collect();
                    self.entries.push(Planned { ctx, plans });
                    self.index.insert(key, self.entries.len() - 1);
                    self.entries.len() - 1
                };
                self.last = Some((key, at));
                at
            }
        };
        let entry = &mut self.entries[at];
        if entry.ctx.to_bits() != ctx.to_bits() {
            entry.ctx = ctx;
            for (plan, kv) in &mut entry.plans {
                *kv = plan.kv_at(ctx);
            }
        }
        &entry.plans
    }
}

/// Evaluates rows `start..end` (the grid already validated, with `total` rows).
pub fn sweep_columns(
    grid: &ServingGrid,
    total: usize,
    start: usize,
    end: usize,
) -> Result<Columns, SpecError> {
    if start > end || end > total {
        return Err(grid_error(
            "rows",
            format!("range {start}..{end} is outside 0..{total}"),
        ));
    }
    let preps: Vec<ServingPrep> = grid
        .models
        .iter()
        .zip(&grid.precisions)
        .flat_map(|(m, p)| grid.gpus.iter().map(move |g| ServingPrep::new(m, g, *p)))
        .collect::<Result<_, _>>()?;
    let drafts: Vec<ServingPrep> = grid
        .speculation
        .iter()
        .flat_map(|s| {
            grid.gpus
                .iter()
                .map(move |g| ServingPrep::new(&s.draft, g, s.precision))
        })
        .collect::<Result<_, _>>()?;
    Ok(Columns::filled(
        end - start,
        BLOCK_ROWS,
        PlanMemo::new,
        |memo, offset, block| fill_block(grid, &preps, &drafts, start + offset, block, memo),
    ))
}

fn fill_block<'s, 'a>(
    grid: &'s ServingGrid,
    preps: &'s [ServingPrep<'a>],
    drafts: &'s [ServingPrep<'a>],
    first: usize,
    b: &mut Block<'_>,
    memo: &mut PlanMemo<'s, 'a>,
) {
    // Rows are computed into a small row-major buffer (in L1), then written to the columns.
    const SUB: usize = 32;
    let mut rows = [Row::default(); SUB];
    let lens = grid.lens();
    let mut ix = grid.indices(first);
    let len = b.len();
    let mut at = 0;
    while at < len {
        let n = SUB.min(len - at);
        for row in &mut rows[..n] {
            *row = evaluate_row(grid, preps, drafts, &ix, memo);
            next_row_indices(lens, grid.zip, &mut ix);
        }
        b.write_rows(at, &rows[..n]);
        at += n;
    }
}

#[inline]
fn evaluate_row<'s, 'a>(
    grid: &'s ServingGrid,
    preps: &'s [ServingPrep<'a>],
    drafts: &'s [ServingPrep<'a>],
    ix: &[usize; 10],
    memo: &mut PlanMemo<'s, 'a>,
) -> Row {
    let pair = ix[0] * grid.gpus.len() + ix[1];
    let n_gpus = grid.n_gpus[ix[2]];
    let (batch, ctx, s_pos) = (
        grid.batch_size[ix[3]],
        grid.context_len[ix[4]],
        grid.seq_len[ix[5]],
    );
    let plans = memo.get(
        grid,
        preps,
        ix[0],
        (pair, n_gpus as u32, grid.pins(ix)),
        ctx,
    );
    match grid.speculation.get(ix[0]) {
        None => row_of(&preps[pair], plans, ix, n_gpus, batch, ctx, s_pos),
        Some(spec) => {
            let sp = &preps[pair];
            let targets = plans.iter().map(|p| &p.0);
            let (rt, n) = (&grid.runtime, n_gpus as u32);
            let s = best_spec(targets, &drafts[pair], spec, rt, n, batch, ctx);
            let econ = economics(sp, n_gpus, batch, ctx, s.tokens_per_step, s.latency_s);
            row_from(&s.verify, &econ, Some(&s), ix, n_gpus, batch, ctx, s_pos)
        }
    }
}

/// The row of the best of `plans` (with their KV cache at `ctx`).
#[inline]
fn row_of(
    sp: &ServingPrep,
    plans: &[(StepPlan, (f64, f64))],
    ix: &[usize; 10],
    n_gpus: f64,
    batch: f64,
    ctx: f64,
    s_pos: f64,
) -> Row {
    let st = best_of_plans(plans, batch, ctx, s_pos);
    let econ = economics(sp, n_gpus, batch, ctx, s_pos, st.latency_s);
    row_from(&st, &econ, None, ix, n_gpus, batch, ctx, s_pos)
}

/// The row of a step (with `spec`: the verification of a speculative step) and its economics.
#[inline]
#[allow(clippy::too_many_arguments)]
fn row_from(
    st: &Step,
    econ: &Economics,
    spec: Option<&SpecStep>,
    ix: &[usize; 10],
    n_gpus: f64,
    batch: f64,
    ctx: f64,
    s_pos: f64,
) -> Row {
    let lay = st.layout;
    Row {
        model: ix[0] as u32,
        gpu: ix[1] as u32,
        n_gpus,
        batch_size: batch,
        context_len: ctx,
        seq_len: s_pos,
        token_latency_s: spec.map_or(st.latency_s, |s| s.tpot_s),
        tokens_per_s_per_request: econ.tokens_per_s_per_request,
        usd_per_million_tokens: econ.usd_per_million_tokens,
        gpu_seconds_per_token: econ.gpu_seconds_per_token,
        tokens_per_s_per_gpu: econ.tokens_per_s_per_gpu,
        mfu: econ.mfu,
        feasible: st.feasible,
        overhead_s: st.overhead_s,
        kernel_s: st.kernel_s,
        network_latency_s: st.network_latency_s,
        network_bandwidth_s: st.network_bandwidth_s,
        all_to_all_s: st.all_to_all_s,
        memory_s: st.memory_s(),
        weight_memory_s: st.weight_memory_s,
        kv_memory_s: st.kv_memory_s,
        compute_s: st.compute_s,
        work_s: st.work_s,
        overlap_s: st.overlap_s,
        tp: lay.tp,
        pp: lay.pp,
        ep: lay.ep,
        attention_dp: lay.attention_dp,
        expert_tp: lay.expert_tp(),
        weights_gb_per_gpu: st.memory.weights / 1e9,
        kv_gb_per_gpu: st.memory.kv / 1e9,
        reserve_gb_per_gpu: st.memory.reserve / 1e9,
        max_batch_size: st.memory.max_batch_size,
        tokens_per_step: spec.map_or(s_pos, |s| s.tokens_per_step),
        draft_s: spec.map_or(0.0, |s| s.draft_s),
        verify_s: st.step_s(),
        draft_weights_gb_per_gpu: spec.map_or(0.0, |s| s.draft_weights / 1e9),
        kv_written_gb_per_gpu: spec.map_or(f64::NAN, |s| s.kv_written / 1e9),
    }
}

/// One point without a grid (`isw.evaluate`'s serving fast path): the row a sweep computes
/// for it over `candidates` (not empty), bit for bit. The caller checks the values as a grid
/// does ([`check_axes`], the specs, the runtime and `layouts`).
pub fn point(
    sp: &ServingPrep,
    rt: &Runtime,
    n_gpus: f64,
    batch: f64,
    ctx: f64,
    s_pos: f64,
    candidates: &[Layout],
) -> Row {
    let plans: Vec<(StepPlan, (f64, f64))> = candidates
        .iter()
        .map(|&lay| {
            let plan = StepPlan::new(sp, rt, n_gpus as u32, lay);
            let kv = plan.kv_at(ctx);
            (plan, kv)
        })
        .collect();
    row_of(sp, &plans, &[0; 10], n_gpus, batch, ctx, s_pos)
}
