//! Scenario files: reading, validating and the validated [`Scenario`] type.
//!
//! A TOML file goes through three stages: the `toml` crate parses it into a
//! span-preserving tree, [`reader`] reads that tree key by key (recording
//! which keys exist, so unknown ones are caught), and [`validate`] turns what
//! was read into a [`Scenario`] in which every default is filled in, every
//! range checked and every reference (rivals, corridors, event targets,
//! parameter names) resolved to an index. Nothing downstream ever sees an
//! unvalidated value. All problems of a file are reported at once, each with
//! file, line, column, key and a fix.

pub mod compose;
pub mod diagnostics;
pub mod named;
pub mod params;
pub mod reader;
pub mod validate;

use std::path::Path;

use serde::Serialize;

pub use compose::{Layers, Override, ParamPath};
pub use diagnostics::{Diagnostic, ScenarioErrors};
pub use validate::parse_scenario;

use params::{corridor, hedger, partner};

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub base_year: i32,
    pub horizon: i32,
    pub steps_per_year: u32,
    pub runs: u64,
    pub seed: u64,
    pub model: ModelParams,
    pub hedger: Hedger,
    pub partners: Vec<Partner>,
    pub corridors: Vec<Corridor>,
    pub events: Vec<Event>,
    pub outputs: Outputs,
    pub classification: Classification,
    /// Group labels in order of first appearance in the partner list.
    pub groups: Vec<String>,
    /// Bloc labels in order of first appearance in the partner list.
    pub blocs: Vec<String>,
}

impl Scenario {
    /// Number of simulated steps K.
    pub fn steps(&self) -> usize {
        (self.horizon - self.base_year) as usize * self.steps_per_year as usize
    }

    /// Step length in years.
    pub fn dt(&self) -> f64 {
        1.0 / f64::from(self.steps_per_year)
    }

    /// Calendar time at the end of step `k` (`t_k`).
    pub fn time_at(&self, k: usize) -> f64 {
        f64::from(self.base_year) + k as f64 / f64::from(self.steps_per_year)
    }

    pub fn partner_ids(&self) -> Vec<String> {
        self.partners.iter().map(|p| p.id.clone()).collect()
    }

    /// Read and validate a scenario file (and the files it extends).
    pub fn load(path: &Path) -> Result<Scenario, LoadError> {
        match Layers::load(path, &[]) {
            Ok(layers) => layers.scenario().map_err(LoadError::Invalid),
            Err(compose::ComposeError::Unreadable(p, e)) => Err(LoadError::Io(p, e)),
            Err(compose::ComposeError::Invalid(e)) => Err(LoadError::Invalid(e)),
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read scenario file {path}: {source}", path = .0.display(), source = .1)]
    Io(std::path::PathBuf, #[source] std::io::Error),
    #[error("{0}")]
    Invalid(ScenarioErrors),
}

/// `[model]`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelParams {
    pub gdp_elasticity: f64,
    pub engagement_elasticity: f64,
    pub global_correlation: f64,
    pub bloc_correlation: f64,
    pub pressure_decay: f64,
    pub coercion_severity: f64,
    pub coercion_risk_jump: f64,
    pub disruption_duration: f64,
    pub trade_friction: f64,
    pub learning_rate: f64,
    pub engagement_adjustment: f64,
}

/// `[hedger]`.
#[derive(Debug, Clone, Serialize)]
pub struct Hedger {
    pub name: String,
    pub trade_total: f64,
    /// Indexed by [`params::hedger`].
    pub params: [f64; hedger::COUNT],
}

/// One `[[partner]]`.
#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub group: usize,
    pub bloc: usize,
    pub corridor: Option<usize>,
    pub rivals: Vec<usize>,
    pub trade: f64,
    pub gdp: f64,
    /// Normalised base diplomatic attention `d0`.
    pub diplomatic_share: f64,
    /// Indexed by [`params::partner`].
    pub params: [f64; partner::COUNT],
}

/// One `[[corridor]]`.
#[derive(Debug, Clone, Serialize)]
pub struct Corridor {
    pub id: String,
    pub name: String,
    pub controlled_by: Option<usize>,
    /// Indexed by [`params::corridor`].
    pub params: [f64; corridor::COUNT],
}

/// What an event acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Target {
    /// One partner or all partners of a group (indices).
    Partners(Vec<usize>),
    Corridor(usize),
    Hedger,
}

/// When an event is active.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Timing {
    /// Active in steps `start_step..end_step` (0-based step index k-1).
    Scheduled { at: f64, duration: Option<f64>, ramp: f64 },
    /// Random onset with the given annual rate while inactive, between `from` and `until`.
    Hazard { rate: f64, from: Option<f64>, until: Option<f64>, duration: Option<f64>, ramp: f64 },
}

/// A parameter change: `multiply` or `add` on one parameter slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Index into the parameter table of the target's kind.
    pub param: usize,
    pub name: String,
    pub value: f64,
}

/// Multiplicative state shocks applied once at onset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shock {
    pub trade: f64,
    pub gdp: f64,
    pub trade_total: f64,
}

impl Shock {
    pub const NONE: Shock = Shock { trade: 1.0, gdp: 1.0, trade_total: 1.0 };

    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }
}

/// One `[[event]]`.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub name: String,
    pub target: Target,
    pub timing: Timing,
    pub multiply: Vec<Effect>,
    pub add: Vec<Effect>,
    pub shock: Shock,
}

/// `[outputs]`.
#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    pub quantiles: Vec<f64>,
    pub runs_table: bool,
    /// Years between the rows written to the time-resolved tables (`None`:
    /// every step). The model still steps at `steps_per_year`.
    pub every: Option<f64>,
    /// The metrics written (`None`: all of them).
    pub metrics: Option<Vec<String>>,
    /// Runs whose full paths go to `trajectories.csv` (the first K; 0: none).
    pub trajectories: u64,
}

impl Outputs {
    /// Whether metric `metric` is written.
    pub fn writes(&self, metric: &str) -> bool {
        self.metrics.as_ref().is_none_or(|m| m.iter().any(|x| x == metric))
    }
}

/// `[classification]`.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub alignment_threshold: f64,
    pub dependence_threshold: f64,
}
