//! The state of several runs ("lanes") simulated in lock-step, held as
//! structure of arrays.
//!
//! A [`Workspace`] of width `W` holds up to `W` runs. Every step of the
//! model is taken for all of them at once ([`super::Model::advance`]), one
//! quantity at a time, so that the arithmetic of a step is a loop over
//! lanes that the compiler can vectorise.
//!
//! # Layout
//!
//! A quantity with one value per run (the hedger's total trade, the common
//! shock) is a `Vec` of `W` values, lane `l` at index `l`. A quantity with
//! one value per partner (or corridor, or bloc) and run is a `Vec` of
//! `partners x W` values, **partner-major**: partner `p` of lane `l` is at
//! `p * W + l`, so the `W` lanes of one partner are contiguous
//! ([`lanes`] and [`lanes_mut`] cut them out). The parameters in effect are
//! stored the same way, one row of `W` lanes per (parameter, partner), so
//! lanes whose hazard events differ simply hold different values.
//!
//! What cannot be done across lanes stays per lane in [`Lane`]: the random
//! streams (each run has its own, seeded by its run index), the event
//! bookkeeping (hazard onsets differ between runs) and the parameter set
//! from which the per-lane parameter rows are refreshed when a lane's
//! active events change.
//!
//! # Why the bits do not depend on the width
//!
//! Every lane's value is computed by the same IEEE-754 operations, in the
//! same order, as a run on its own: the loops over lanes only change which
//! run is computed when, never how. Random streams are independent of each
//! other, so drawing all of one step's numbers first changes no draw.
//! `Model::run` and every other caller use this same code with a workspace
//! of width 1, so there is one model, not a scalar one and a vector one.

use super::events::Params;
use super::rng::Stream;

/// Per-run mutable state and scratch space of up to `width` runs side by
/// side, reused across runs (see the module documentation for the layout).
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Lanes allocated: the stride of every per-partner array.
    pub(super) width: usize,
    /// Lanes in use since the last [`super::Model::start_lanes`].
    pub(super) count: usize,
    // The state, partner-major (`p * width + l`).
    pub(super) t: Vec<f64>,
    pub(super) d: Vec<f64>,
    pub(super) r: Vec<f64>,
    pub(super) log_y: Vec<f64>,
    pub(super) x: Vec<f64>,
    pub(super) e: Vec<f64>,
    pub(super) pressure: Vec<f64>,
    pub(super) coerced: Vec<u32>,
    /// Trade shares, set by `record`.
    pub(super) share: Vec<f64>,
    /// Per lane.
    pub(super) trade_total: Vec<f64>,
    /// Steps of disruption left per corridor (0 = open), corridor-major.
    pub(super) disruption_left: Vec<u32>,
    // Scratch of one step.
    /// The global shock of each lane.
    pub(super) z0: Vec<f64>,
    /// Bloc shocks, bloc-major.
    pub(super) z_bloc: Vec<f64>,
    /// Each partner's combined shock.
    pub(super) eps: Vec<f64>,
    /// Each partner's coercion draw.
    pub(super) uniform: Vec<f64>,
    pub(super) score_t: Vec<f64>,
    pub(super) score_d: Vec<f64>,
    /// Per-lane maximum and sum of the softmax.
    pub(super) lane_max: Vec<f64>,
    pub(super) lane_sum: Vec<f64>,
    // What each lane's parameters imply, refreshed when they change.
    /// Partner parameter `k` of partner `p` in lane `l` at
    /// `(k * partners + p) * width + l`.
    pub(super) partner_params: Vec<f64>,
    /// Hedger parameter `k` of lane `l` at `k * width + l`.
    pub(super) hedger_params: Vec<f64>,
    /// `ln comp + ln(1 + access) - ln trade_cost` per partner.
    pub(super) static_m: Vec<f64>,
    /// ln of each corridor's cost while open and while disrupted.
    pub(super) log_corridor_open: Vec<f64>,
    pub(super) log_corridor_disrupted: Vec<f64>,
    /// Per-step rates of the hedger's adjustments, per lane.
    pub(super) eta_t: Vec<f64>,
    pub(super) eta_d: Vec<f64>,
    pub(super) lanes: Vec<Lane>,
}

/// What each run keeps for itself: its streams and its events.
#[derive(Debug, Clone)]
pub(super) struct Lane {
    /// The lane's effective parameters (from which the rows are filled).
    pub params: Params,
    pub scratch: (Params, Params),
    pub active: Vec<(usize, f64)>,
    pub last_active: Vec<(usize, f64)>,
    pub hazard_left: Vec<usize>,
    pub hazard_onset: Vec<f64>,
    /// Onsets of each event so far in this run (recording only: nothing
    /// in the dynamics reads it).
    pub onsets: Vec<u32>,
    pub streams: Streams,
}

/// The random streams of one run (see [`super::rng`]).
#[derive(Debug, Clone)]
pub(super) struct Streams {
    pub global: Stream,
    pub bloc: Vec<Stream>,
    pub shock: Vec<Stream>,
    pub coercion: Vec<Stream>,
    pub event: Vec<Stream>,
}

/// The first `count` lanes of row `row` of a partner-major array.
#[inline]
pub(super) fn lanes<T>(values: &[T], row: usize, width: usize, count: usize) -> &[T] {
    &values[row * width..row * width + count]
}

/// The first `count` lanes of row `row` of a partner-major array, mutable.
#[inline]
pub(super) fn lanes_mut<T>(values: &mut [T], row: usize, width: usize, count: usize) -> &mut [T] {
    &mut values[row * width..row * width + count]
}

impl Workspace {
    /// Runs this workspace holds side by side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Runs in use since the last start.
    pub fn count(&self) -> usize {
        self.count
    }
}
