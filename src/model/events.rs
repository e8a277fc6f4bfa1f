//! Event timing and effective parameters (MODEL.md, "Events").
//!
//! Scheduled events are turned into step ranges once per scenario; hazard
//! events keep a little state per run. Effective parameters are
//! `base x product of factors + sum of deltas` over the active events, with
//! ramps phasing factors and deltas in linearly, clamped to valid ranges.

use crate::scenario::params::{CORRIDOR_PARAMS, HEDGER_PARAMS, PARTNER_PARAMS, ParamSpec};
use crate::scenario::params::{corridor, hedger, partner};
use crate::scenario::{Effect, Event, Scenario, Shock, Target, Timing};

/// Tolerance, in steps, when converting calendar years to step indices.
const STEP_EPS: f64 = 1e-9;

/// When an event can be active, in step indices `j = k - 1` (0-based).
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Active for `start <= j < end`; ramp measured from `at`.
    Scheduled { start: usize, end: usize, at: f64 },
    /// Onset possible for `from <= j < until` while inactive; then active
    /// for `steps` steps from the onset step.
    Hazard { onset_probability: f64, from: usize, until: usize, steps: usize },
}

/// An event prepared for simulation.
#[derive(Debug, Clone)]
pub struct CompiledEvent {
    pub schedule: Schedule,
    pub ramp: f64,
    pub target: Target,
    pub multiply: Vec<Effect>,
    pub add: Vec<Effect>,
    pub shock: Shock,
}

/// Step index j (0-based, step k = j + 1 starts at t_j) of the first step
/// starting at or after calendar time `year`. A tolerance of 1e-9 of a step
/// absorbs rounding in `year` (e.g. 2024.1 written as a decimal).
pub fn first_step_at_or_after(base_year: i32, steps_per_year: u32, year: f64) -> usize {
    let steps = (year - f64::from(base_year)) * f64::from(steps_per_year);
    (steps - STEP_EPS).ceil().max(0.0) as usize
}

fn step_at(scenario: &Scenario, year: f64) -> usize {
    first_step_at_or_after(scenario.base_year, scenario.steps_per_year, year)
}

impl CompiledEvent {
    pub fn new(event: &Event, scenario: &Scenario) -> Self {
        let k_max = scenario.steps();
        let dt = scenario.dt();
        let (schedule, ramp) = match event.timing {
            Timing::Scheduled { at, duration, ramp } => {
                let start = step_at(scenario, at).min(k_max);
                let end = duration.map_or(k_max, |d| step_at(scenario, at + d).min(k_max));
                (Schedule::Scheduled { start, end, at }, ramp)
            }
            Timing::Hazard { rate, from, until, duration, ramp } => {
                let from = from.map_or(0, |f| step_at(scenario, f)).min(k_max);
                let until = until.map_or(k_max, |u| step_at(scenario, u)).min(k_max);
                let steps = duration.map_or(1, |d| ((d / dt) - STEP_EPS).ceil().max(1.0) as usize);
                (Schedule::Hazard { onset_probability: -super::math::exp_m1(-rate * dt), from, until, steps }, ramp)
            }
        };
        Self {
            schedule,
            ramp,
            target: event.target.clone(),
            multiply: event.multiply.clone(),
            add: event.add.clone(),
            shock: event.shock.clone(),
        }
    }

    pub fn is_hazard(&self) -> bool {
        matches!(self.schedule, Schedule::Hazard { .. })
    }
}

/// Fraction of an event's effect applied in step j (MODEL.md: min(1, (t_k - onset)/ramp)).
pub fn ramp_fraction(ramp: f64, onset_time: f64, t_k: f64) -> f64 {
    if ramp <= 0.0 { 1.0 } else { ((t_k - onset_time) / ramp).clamp(0.0, 1.0) }
}

/// Parameters of one step after events.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub partner: Vec<[f64; partner::COUNT]>,
    pub hedger: [f64; hedger::COUNT],
    pub corridor: Vec<[f64; corridor::COUNT]>,
}

impl Params {
    pub fn base(scenario: &Scenario) -> Self {
        Self {
            partner: scenario.partners.iter().map(|p| p.params).collect(),
            hedger: scenario.hedger.params,
            corridor: scenario.corridors.iter().map(|c| c.params).collect(),
        }
    }

    /// Set every slot to `value`.
    pub fn fill(&mut self, value: f64) {
        self.hedger.fill(value);
        self.partner.iter_mut().for_each(|p| p.fill(value));
        self.corridor.iter_mut().for_each(|c| c.fill(value));
    }

    /// Effective parameters: base x product of factors + sum of deltas over
    /// the active events (each scaled by its ramp fraction), clamped to the
    /// valid ranges. `active` lists (event index, ramp fraction) in file
    /// order; products and sums are always taken in that order, so results
    /// are reproducible to the bit. `scratch` holds the factors and deltas.
    pub fn effective(
        &self,
        active: &[(usize, f64)],
        events: &[CompiledEvent],
        scratch: &mut (Params, Params),
        out: &mut Params,
    ) {
        let (factor, delta) = scratch;
        factor.fill(1.0);
        delta.fill(0.0);
        for &(e, fraction) in active {
            let event = &events[e];
            for effect in &event.multiply {
                for_each_slot(factor, &event.target, effect.param, |slot| {
                    *slot *= 1.0 + fraction * (effect.value - 1.0)
                });
            }
            for effect in &event.add {
                for_each_slot(delta, &event.target, effect.param, |slot| *slot += fraction * effect.value);
            }
        }
        combine(&self.hedger, &factor.hedger, &delta.hedger, &HEDGER_PARAMS, &mut out.hedger);
        for p in 0..self.partner.len() {
            combine(&self.partner[p], &factor.partner[p], &delta.partner[p], &PARTNER_PARAMS, &mut out.partner[p]);
        }
        for c in 0..self.corridor.len() {
            combine(&self.corridor[c], &factor.corridor[c], &delta.corridor[c], &CORRIDOR_PARAMS, &mut out.corridor[c]);
        }
    }
}

fn combine<const N: usize>(
    base: &[f64; N],
    factor: &[f64; N],
    delta: &[f64; N],
    specs: &[ParamSpec; N],
    out: &mut [f64; N],
) {
    for i in 0..N {
        out[i] = specs[i].clamp(base[i] * factor[i] + delta[i]);
    }
}

/// Apply `f` to every parameter slot an effect touches.
fn for_each_slot(params: &mut Params, target: &Target, param: usize, mut f: impl FnMut(&mut f64)) {
    match target {
        Target::Hedger => f(&mut params.hedger[param]),
        Target::Corridor(c) => f(&mut params.corridor[*c][param]),
        Target::Partners(ids) => ids.iter().for_each(|&p| f(&mut params.partner[p][param])),
    }
}
