//! Explore: the pure mathematics of experiments over uncertain assumptions.
//!
//! Functions from numbers to numbers, no I/O: the designs that choose the
//! points at which the model runs ([`design`], [`sobol_seq`]), the
//! sensitivity estimators applied to the outputs ([`sobol_analysis`],
//! [`morris_analysis`], [`regression`]), scenario discovery with PRIM
//! ([`prim`]), the parser of experiment files ([`spec`]), and [`plan`], which
//! ties a parsed experiment to its design and estimators. Each
//! estimator follows a named reference implementation (SALib 1.6, EMA
//! Workbench) and is tested against values it publishes or prints; see
//! `docs/explore.md`.

pub mod design;
pub mod evaluate;
pub mod morris_analysis;
pub mod plan;
pub mod prim;
pub mod regression;
pub mod sobol_analysis;
pub mod sobol_seq;
pub mod spec;
pub mod testfns;
