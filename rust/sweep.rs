//! Grids → column buffers, rayon-parallel over fixed-size blocks of rows.
//!
//! A grid is eight axes (model, gpu, n_gpus, batch_size, context_len, seq_len, use_pp,
//! spec_dec) taken either as a cartesian product (the last axis varying fastest) or row by row
//! (`zip`, length-1 axes broadcast). Any range of rows can be evaluated on its own, which is
//! how Python chunks long sweeps; every row depends only on its own inputs, so results do not
//! depend on the thread count or the chunk size.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::forward::Prepared;
use crate::layout::{Point, Scratch};
use crate::spec::{Hardware, Model, SpecError};
use crate::specdec::{decode, economics, Drafting};

/// Names of the axes, in product order (the last varies fastest).
pub const AXES: [&str; 8] = [
    "model",
    "gpu",
    "n_gpus",
    "batch_size",
    "context_len",
    "seq_len",
    "use_pp",
    "spec_dec",
];

/// Largest value of any numeric axis (GPUs, batch, context, positions).
pub const AXIS_MAX: f64 = 1e12;
/// Smallest GPU count and batch: N·T/b (the cost) stays finite for every accepted spec.
pub const AXIS_MIN: f64 = 1e-6;
/// The accepted range of each numeric axis, inclusive (README, "Accepted ranges").
pub const AXIS_RANGES: [(&str, (f64, f64)); 4] = [
    ("n_gpus", (AXIS_MIN, AXIS_MAX)),
    ("batch_size", (AXIS_MIN, AXIS_MAX)),
    ("context_len", (0.0, AXIS_MAX)),
    ("seq_len", (1.0, AXIS_MAX)),
];
/// Longest draft tried (each length costs a forward pass per row).
pub const MAX_GAMMA: u32 = 64;

/// A drafter, its acceptance probability α ∈ [0, 1) and longest draft γ_max ≥ 2.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecDec {
    pub drafter: Model,
    pub acceptance: f64,
    pub gamma_max: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub models: Vec<Model>,
    pub gpus: Vec<Hardware>,
    pub n_gpus: Vec<f64>,
    pub batch_size: Vec<f64>,
    pub context_len: Vec<f64>,
    pub seq_len: Vec<f64>,
    pub use_pp: Vec<bool>,
    pub spec_dec: Vec<Option<SpecDec>>,
    pub zip: bool,
}

pub(crate) fn grid_error(field: &'static str, message: String) -> SpecError {
    SpecError {
        spec: "grid".into(),
        field,
        message,
    }
}

fn check_axis(
    field: &'static str,
    values: &[f64],
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<(), SpecError> {
    // A branch-free pass first (it vectorises; grids of millions of values are the norm),
    // then the first offender only when there is one.
    if values.iter().fold(true, |all, &v| all & ok(v)) {
        return Ok(());
    }
    match values.iter().find(|v| !ok(**v)) {
        Some(v) => Err(grid_error(
            field,
            format!("must be {rule}, got {}", crate::spec::show(*v)),
        )),
        None => Ok(()),
    }
}

/// Rows of a grid whose axes have lengths `lens` (named `axes`): their product, or under `zip`
/// the common length; an error for an empty axis, mismatched zip lengths or overflow. One
/// implementation for the `epoch` and `serving` grids.
pub fn row_count(lens: &[usize], axes: &[&'static str], zip: bool) -> Result<usize, SpecError> {
    if let Some(i) = lens.iter().position(|&n| n == 0) {
        return Err(grid_error(axes[i], "is empty".into()));
    }
    if zip {
        let n = *lens.iter().max().unwrap_or(&1);
        let bad: Vec<String> = axes
            .iter()
            .zip(lens.iter().copied())
            .filter(|&(_, l)| l != 1 && l != n)
            .map(|(a, l)| format!("{a}={l}"))
            .collect();
        if !bad.is_empty() {
            let all: Vec<String> = axes
                .iter()
                .zip(lens.iter().copied())
                .map(|(a, l)| format!("{a}={l}"))
                .collect();
            return Err(grid_error(
                "zip",
                format!(
                    "needs sequences of one length (or length 1); got lengths {}",
                    all.join(", ")
                ),
            ));
        }
        Ok(n)
    } else {
        lens.iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| {
                grid_error(
                    "product",
                    format!("has more rows than fit in memory ({lens:?})"),
                )
            })
    }
}

/// Axis indices of row `row` of a grid with axis lengths `lens` (the last axis varies fastest;
/// under `zip` every axis of length > 1 takes the row itself).
#[inline]
pub fn row_indices<const N: usize>(lens: [usize; N], zip: bool, row: usize) -> [usize; N] {
    let mut out = [0usize; N];
    if zip {
        for (o, l) in out.iter_mut().zip(lens) {
            *o = if l == 1 { 0 } else { row };
        }
    } else {
        let mut rest = row;
        for i in (0..N).rev() {
            out[i] = rest % lens[i];
            rest /= lens[i];
        }
    }
    out
}

/// The axis indices of the row after the one `ix` holds (the [`row_indices`] of `row + 1`
/// from those of `row`, without a division per axis).
#[inline]
pub fn next_row_indices<const N: usize>(lens: [usize; N], zip: bool, ix: &mut [usize; N]) {
    for i in (0..N).rev() {
        if zip {
            if lens[i] != 1 {
                ix[i] += 1;
            }
        } else {
            ix[i] += 1;
            if ix[i] < lens[i] {
                return;
            }
            ix[i] = 0;
        }
    }
}

impl Grid {
    fn lens(&self) -> [usize; 8] {
        [
            self.models.len(),
            self.gpus.len(),
            self.n_gpus.len(),
            self.batch_size.len(),
            self.context_len.len(),
            self.seq_len.len(),
            self.use_pp.len(),
            self.spec_dec.len(),
        ]
    }

    /// Number of rows; an error for an empty axis, mismatched zip lengths or overflow.
    pub fn row_count(&self) -> Result<usize, SpecError> {
        row_count(&self.lens(), &AXES, self.zip)
    }

    /// Axis indices of one row.
    #[inline]
    pub fn indices(&self, row: usize) -> [usize; 8] {
        row_indices(self.lens(), self.zip, row)
    }

    /// Checks every value of every axis, and specs, before any work.
    pub fn validate(&self) -> Result<usize, SpecError> {
        let n = self.row_count()?;
        self.check_values()?;
        Ok(n)
    }

    /// Checks every value of every axis, and the specs the grid holds (none for an empty
    /// axis): [`Grid::validate`] without the row count, for callers with one point.
    pub fn check_values(&self) -> Result<(), SpecError> {
        // The upper bound keeps every product of the model (FLOPs reach 1e13 params × 1e12
        // tokens × 1e12 positions) far from overflow, hence from inf − inf = NaN; the lower
        // bound keeps the cost N·T/b finite.
        #[allow(clippy::needless_bitwise_bool)] // on purpose: see below
        let within = |(lo, hi): (f64, f64)| {
            // `&`, not `&&`: no branches, so the check vectorises. NaN fails.
            move |v: f64| (v >= lo) & (v <= hi)
        };
        for (field, values) in [
            ("n_gpus", &self.n_gpus),
            ("batch_size", &self.batch_size),
            ("context_len", &self.context_len),
            ("seq_len", &self.seq_len),
        ] {
            let range = crate::spec::ranges::of(&AXIS_RANGES, field);
            let rule = format!("in {}", crate::spec::show_range(range));
            check_axis(field, values, within(range), &rule)?;
        }
        for m in &self.models {
            m.validate()?;
        }
        for g in &self.gpus {
            g.validate()?;
        }
        for sd in self.spec_dec.iter().flatten() {
            sd.drafter.validate()?;
            if !(0.0..1.0).contains(&sd.acceptance) {
                return Err(grid_error(
                    "spec_dec.acceptance",
                    format!("must be in [0, 1), got {}", sd.acceptance),
                ));
            }
            if !(2..=MAX_GAMMA).contains(&sd.gamma_max) {
                return Err(grid_error(
                    "spec_dec.gamma_max",
                    format!("must be in [2, {MAX_GAMMA}], got {}", sd.gamma_max),
                ));
            }
        }
        let has_spec = self.spec_dec.iter().any(Option::is_some);
        if let Some(s) = self
            .seq_len
            .iter()
            .find(|&&s| s != 1.0)
            .filter(|_| has_spec)
        {
            return Err(grid_error(
                "seq_len",
                format!("must be 1 with speculative decoding (drafts set the positions per pass), got {s}"),
            ));
        }
        Ok(())
    }
}

macro_rules! columns {
    ($($name:ident: $ty:ty),* $(,)?) => {
        /// One output column per field, each `rows` long.
        #[derive(Debug, Default)]
        pub struct Columns { $(pub $name: Vec<$ty>,)* }

        /// Uninitialised views of one block of rows of every column, written once each.
        struct Block<'a> { $($name: &'a mut [MaybeUninit<$ty>],)* }

        /// One row of every column.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Row { $(pub $name: $ty,)* }

        impl Block<'_> {
            fn len(&self) -> usize {
                [$(self.$name.len(),)*][0]
            }

            /// Writes `rows` at rows `at..` of the block, one column at a time: 28 columns
            /// written row by row are 28 interleaved store streams, more than a core tracks
            /// at once; column by column each is one sequential stream.
            fn write_rows(&mut self, at: usize, rows: &[Row]) {
                $(for (dst, r) in self.$name[at..at + rows.len()].iter_mut().zip(rows) {
                    dst.write(r.$name);
                })*
            }
        }

        impl Columns {
            /// Evaluates `rows` rows into fresh columns: `fill(first_row, block)` must write
            /// every row of every column of its block. The buffers are never zeroed first:
            /// each byte is written once, by the thread that computes it.
            fn filled<S>(
                rows: usize,
                block_rows: usize,
                init: impl Fn() -> S + Sync + Send,
                fill: impl Fn(&mut S, usize, &mut Block<'_>) + Sync + Send,
            ) -> Self {
                let mut out = Self { $($name: Vec::with_capacity(rows),)* };
                {
                    $(let mut $name = out.$name.spare_capacity_mut()[..rows].chunks_mut(block_rows);)*
                    let mut blocks = Vec::new();
                    loop {
                        $(let Some($name) = $name.next() else { break };)*
                        blocks.push(Block { $($name,)* });
                    }
                    blocks
                        .into_par_iter()
                        .enumerate()
                        .for_each_init(&init, |state, (i, mut block)| fill(state, i * block_rows, &mut block));
                }
                // SAFETY: `fill` wrote every element of rows 0..rows of every column (the
                // blocks tile 0..rows), and a panic in `fill` propagates before this point.
                $(unsafe { out.$name.set_len(rows) };)*
                out
            }

            /// Column names and kinds, in output order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name),)*];
        }
    };
}

/// The serving sweep's columns use the same buffers (`crate::serving::sweep`).
pub(crate) use columns;

columns! {
    model: u32,
    gpu: u32,
    n_gpus: f64,
    batch_size: f64,
    context_len: f64,
    seq_len: f64,
    use_pp: bool,
    spec_dec: u32,
    token_latency_s: f64,
    tokens_per_s_per_request: f64,
    usd_per_million_tokens: f64,
    gpu_seconds_per_token: f64,
    tokens_per_s_per_gpu: f64,
    mfu: f64,
    feasible: bool,
    kernel_s: f64,
    network_latency_s: f64,
    network_bandwidth_s: f64,
    memory_s: f64,
    compute_s: f64,
    two_d_tp: bool,
    pp_degree: f64,
    ep_degree: f64,
    tp_ffn: f64,
    tp_attention: f64,
    attention_scaledown: f64,
    gamma: u32,
    drafter_latency_s: f64,
}

/// Rows per rayon task: large enough to amortise scheduling, small enough to balance.
const BLOCK_ROWS: usize = 256;

/// Evaluates rows `start..end` of the grid into columns.
pub fn sweep(grid: &Grid, start: usize, end: usize) -> Result<Columns, SpecError> {
    sweep_validated(grid, grid.validate()?, start, end)
}

/// [`sweep`] for a grid already validated (with `total` rows): chunked callers validate once
/// instead of re-reading every axis value per chunk.
pub fn sweep_validated(
    grid: &Grid,
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
    // One prepared pair per (model, gpu) and per (drafter, gpu); errors (a GPU with no rate
    // for a model's precision) surface only for pairs the requested rows use.
    let targets: Vec<Result<Prepared, SpecError>> = grid
        .models
        .iter()
        .flat_map(|m| grid.gpus.iter().map(move |g| Prepared::new(m, g)))
        .collect();
    let drafters: Vec<Option<Result<Drafting, SpecError>>> = grid
        .spec_dec
        .iter()
        .flat_map(|sd| {
            grid.gpus.iter().map(move |g| {
                sd.as_ref().map(|sd| {
                    Prepared::new(&sd.drafter, g).map(|drafter| Drafting {
                        drafter,
                        acceptance: sd.acceptance,
                        gamma_max: sd.gamma_max,
                    })
                })
            })
        })
        .collect();
    let n_gpu = grid.gpus.len();
    let pair_error = |row: usize| {
        let ix = grid.indices(row);
        let target = targets[ix[0] * n_gpu + ix[1]].as_ref().err();
        let drafter = drafters[ix[7] * n_gpu + ix[1]]
            .as_ref()
            .and_then(|d| d.as_ref().err());
        target.or(drafter).cloned()
    };
    if grid.zip {
        if let Some(e) = (start..end).find_map(pair_error) {
            return Err(e);
        }
    } else if end > start {
        // In a product every pair is used as soon as the grid has a row.
        let target = targets.iter().find_map(|t| t.as_ref().err());
        let drafter = drafters.iter().flatten().find_map(|d| d.as_ref().err());
        if let Some(e) = target.or(drafter) {
            return Err(e.clone());
        }
    }

    // One search scratch per rayon task: its memo is keyed by the hardware's address, which
    // is only stable for the duration of this call.
    let cols = Columns::filled(
        end - start,
        BLOCK_ROWS,
        Scratch::default,
        |scratch, offset, block| {
            fill_block(
                grid,
                &targets,
                &drafters,
                n_gpu,
                start + offset,
                block,
                scratch,
            );
        },
    );
    Ok(cols)
}

fn fill_block(
    grid: &Grid,
    targets: &[Result<Prepared, SpecError>],
    drafters: &[Option<Result<Drafting, SpecError>>],
    n_gpu: usize,
    first: usize,
    b: &mut Block<'_>,
    scratch: &mut Scratch,
) {
    // Rows are computed into a small row-major buffer (in L1), then written to the columns.
    const SUB: usize = 32;
    let mut rows = [Row::default(); SUB];
    let len = b.len();
    let mut at = 0;
    while at < len {
        let n = SUB.min(len - at);
        for (i, row) in rows[..n].iter_mut().enumerate() {
            *row = evaluate_row(grid, targets, drafters, n_gpu, first + at + i, scratch);
        }
        b.write_rows(at, &rows[..n]);
        at += n;
    }
}

/// Every column of one row of the grid.
#[inline]
fn evaluate_row(
    grid: &Grid,
    targets: &[Result<Prepared, SpecError>],
    drafters: &[Option<Result<Drafting, SpecError>>],
    n_gpu: usize,
    row: usize,
    scratch: &mut Scratch,
) -> Row {
    let ix = grid.indices(row);
    let Ok(prep) = &targets[ix[0] * n_gpu + ix[1]] else {
        unreachable!("checked before the sweep")
    };
    let drafting = match &drafters[ix[7] * n_gpu + ix[1]] {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => unreachable!("checked before the sweep"),
        None => None,
    };
    let pt = Point {
        n_gpus: grid.n_gpus[ix[2]],
        batch: grid.batch_size[ix[3]],
        context: grid.context_len[ix[4]],
        positions: grid.seq_len[ix[5]],
        use_pp: grid.use_pp[ix[6]],
    };
    // Validation keeps drafting to seq_len 1; other seq_lens are plain passes.
    let dec = decode(prep, drafting, pt, scratch);
    let econ = economics(prep, pt, dec.latency_s);
    let p = dec.target;
    Row {
        model: ix[0] as u32,
        gpu: ix[1] as u32,
        n_gpus: pt.n_gpus,
        batch_size: pt.batch,
        context_len: pt.context,
        seq_len: pt.positions,
        use_pp: pt.use_pp,
        spec_dec: ix[7] as u32,
        token_latency_s: dec.latency_s,
        tokens_per_s_per_request: econ.tokens_per_s_per_request,
        usd_per_million_tokens: econ.usd_per_million_tokens,
        gpu_seconds_per_token: econ.gpu_seconds_per_token,
        tokens_per_s_per_gpu: econ.tokens_per_s_per_gpu,
        mfu: econ.mfu,
        feasible: p.feasible(),
        kernel_s: p.kernel_s,
        network_latency_s: p.network_latency_s,
        network_bandwidth_s: p.network_bandwidth_s,
        memory_s: p.memory_s,
        compute_s: p.compute_s,
        two_d_tp: p.two_d_tp,
        pp_degree: p.pp_degree,
        ep_degree: p.ep_degree,
        tp_ffn: p.tp_ffn,
        tp_attention: p.tp_attention,
        attention_scaledown: p.attention_scaledown,
        gamma: dec.gamma,
        drafter_latency_s: dec.drafter_latency_s,
    }
}
