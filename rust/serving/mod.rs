//! `serving` semantics (docs/serving.md): deployable integer layouts, per-GPU memory,
//! per-component precision and the costs a real server pays, built on `epoch`'s cost
//! primitives (`arithmetic`, `collective`). `python/infersweep/serving_reference.py` is the
//! plain-Python oracle these modules are held equal to.
//!
//! - [`runtime`]: the server's costs and efficiencies, and the per-component precision
//! - [`layout`]: valid layouts of N GPUs and the per-GPU memory of one
//! - [`step`]: one decode step of one layout, and the best layout
//! - [`sweep`]: grids → columns, in parallel
//! - [`traffic`]: prefill chunks, mixed steps, TTFT and the in-flight steady state
//! - [`speculative`]: draft heads or a drafter, and the verification of γ + 1 positions

pub mod layout;
pub mod runtime;
pub mod speculative;
pub mod step;
pub mod sweep;
pub mod traffic;
