//! hedgesim: an agent-based Monte Carlo model of omnidirectional hedging.
//!
//! Kazakhstan (the hedger) spreads trade and diplomatic attention over its
//! partners; partners reciprocate, great powers push back and coerce, and
//! transport corridors can be disrupted. The crate reads TOML scenario files
//! ([`scenario`]), simulates the reference model of `docs/model.md`
//! ([`model`]), runs Monte Carlo batches in parallel with results that are
//! bit-identical for any thread count or machine split ([`engine`]),
//! accumulates streaming statistics ([`stats`]), writes result tables
//! ([`output`]), compares results with honest statistics ([`compare`]),
//! designs and analyses experiments over uncertain assumptions (sensitivity
//! indices, scenario discovery: [`explore`]) and scores a result against
//! observations ([`score`]).

pub mod app;
pub mod cli;
pub mod compare;
pub mod engine;
pub mod explore;
pub mod model;
pub mod output;
pub mod report;
pub mod scenario;
pub mod score;
pub mod stats;
