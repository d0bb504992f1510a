//! infersweep: the forward-pass time and economics model of Erdil (2025), *Inference
//! economics of language models*, evaluated over large grids.
//!
//! Module map, following docs/model.md:
//! - [`spec`]: models and hardware (§1–2)
//! - [`arithmetic`]: FLOPs and matmul traffic (§3)
//! - [`collective`]: collective time (§4)
//! - [`forward`], [`layout`]: one pass under one layout, and the best layout (§5)
//! - [`specdec`]: speculative decoding and per-token economics (§6–7)
//! - [`frontier`]: the speed–cost Pareto frontier (§7)
//! - [`grid`]: log-spaced lists and counts that do not depend on the last ulp
//! - [`sweep`]: grids → columns, in parallel
//! - [`serving`]: `serving` semantics: integer layouts, per-GPU memory, runtime costs
//!
//! The Python binding lives behind the `python` feature; the core never links libpython.

pub mod arithmetic;
pub mod collective;
pub mod forward;
pub mod frontier;
pub mod grid;
pub mod layout;
pub mod serving;
pub mod spec;
pub mod specdec;
pub mod sweep;

#[cfg(feature = "python")]
mod python;
