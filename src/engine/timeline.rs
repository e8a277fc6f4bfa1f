//! Time-resolved outcomes: which steps are written ([`Plan`]), the integer
//! counts behind posture shares, event shares and the survival table
//! ([`PathCounts`]), and what each run's path did ([`RunTrack`]: first
//! passage out of hedging, event onsets, first coercions).
//!
//! Everything here is an integer count, so partial counts merge exactly in
//! any order: threads, shards and `--resume` give the same bytes.

use crate::model::{Model, Posture, Workspace};
use crate::scenario::Scenario;

/// The steps whose rows are written (`[outputs] every`): every
/// `every x steps_per_year`-th step from the base year, and always the
/// horizon. Statistics are kept for these rows only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Written steps, increasing; the first is 0 and the last the horizon.
    pub steps: Vec<usize>,
    /// For every step 0..=K, its row among the written ones.
    rows: Vec<Option<usize>>,
}

impl Plan {
    pub fn new(scenario: &Scenario) -> Plan {
        let k = scenario.steps();
        // Validation guarantees a whole number >= 1 of steps.
        let stride =
            scenario.outputs.every.map_or(1, |e| (e * f64::from(scenario.steps_per_year)).round().max(1.0) as usize);
        let steps: Vec<usize> = (0..=k).filter(|&s| s % stride == 0 || s == k).collect();
        let mut rows = vec![None; k + 1];
        for (w, &s) in steps.iter().enumerate() {
            rows[s] = Some(w);
        }
        Plan { steps, rows }
    }

    /// The row of step `step` among the written rows, if it is written.
    #[inline]
    pub fn row(&self, step: usize) -> Option<usize> {
        self.rows.get(step).copied().flatten()
    }

    /// Number of written rows.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Values of the statistics of a model's batch: written rows x cells.
pub fn stats_len(model: &Model) -> usize {
    Plan::new(&model.scenario).len() * model.layout.len()
}

/// Integer counts over runs of what their paths did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCounts {
    /// Postures: 1 + 2 x partners.
    pub postures: usize,
    /// Events of the scenario.
    pub events: usize,
    /// Runs in each posture at each written row (written x postures).
    pub posture_at: Vec<u64>,
    /// Runs in which each event is active at each written row (written x events).
    pub active_at: Vec<u64>,
    /// Runs whose first posture other than hedging is reached at each step
    /// 0..=K, by that posture ((K + 1) x postures; column 0 stays 0).
    pub first_exit: Vec<u64>,
}

impl PathCounts {
    pub fn new(written: usize, steps: usize, postures: usize, events: usize) -> Self {
        Self {
            postures,
            events,
            posture_at: vec![0; written * postures],
            active_at: vec![0; written * events],
            first_exit: vec![0; (steps + 1) * postures],
        }
    }

    /// Counts sized for `model`'s batch.
    pub fn for_model(model: &Model) -> Self {
        let s = &model.scenario;
        Self::new(Plan::new(s).len(), model.steps(), Posture::count(s.partners.len()), s.events.len())
    }

    /// Add `other`'s counts (same shape).
    pub fn absorb(&mut self, other: &PathCounts) {
        for (a, b) in [
            (&mut self.posture_at, &other.posture_at),
            (&mut self.active_at, &other.active_at),
            (&mut self.first_exit, &other.first_exit),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// The three count vectors, in a fixed order (for the state file).
    pub fn vectors(&self) -> [&Vec<u64>; 3] {
        [&self.posture_at, &self.active_at, &self.first_exit]
    }

    /// Runs that left hedging at or before each step 0..=K, by exit posture
    /// (cumulative sums of `first_exit`, (K + 1) x postures).
    pub fn cumulative_exits(&self) -> Vec<u64> {
        let mut out = self.first_exit.clone();
        let mut running = vec![0u64; self.postures];
        for step in out.chunks_exact_mut(self.postures.max(1)) {
            for (total, count) in running.iter_mut().zip(step) {
                *total += *count;
                *count = *total;
            }
        }
        out
    }
}

/// What one run's path did, observed step by step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTrack {
    /// The first step whose posture is not hedging, and that posture's index.
    pub first_exit: Option<(usize, usize)>,
    /// Whether the posture was hedging again at a later step.
    pub returned: bool,
    /// The first step at which each event had had an onset.
    pub first_onset: Vec<Option<usize>>,
    /// Onsets of each event over the run.
    pub onsets: Vec<u32>,
    /// The first step at which each partner had coerced.
    pub first_coercion: Vec<Option<usize>>,
    /// Whether each event is active at the last written step observed.
    pub active: Vec<bool>,
}

impl RunTrack {
    pub fn new(model: &Model) -> Self {
        let s = &model.scenario;
        Self {
            first_exit: None,
            returned: false,
            first_onset: vec![None; s.events.len()],
            onsets: vec![0; s.events.len()],
            first_coercion: vec![None; s.partners.len()],
            active: vec![false; s.events.len()],
        }
    }

    /// Observe step `step` of the run in lane `lane` of `ws` (after it was recorded, so
    /// its posture is `posture`), counting it into `counts` at written row
    /// `row`. Call for steps 0..=K in order, after [`RunTrack::reset`].
    #[allow(clippy::too_many_arguments)] // the run is (ws, lane): one argument more than clippy likes
    pub fn observe(
        &mut self,
        model: &Model,
        ws: &Workspace,
        lane: usize,
        step: usize,
        posture: usize,
        row: Option<usize>,
        counts: &mut PathCounts,
    ) {
        match self.first_exit {
            None if posture != 0 => {
                self.first_exit = Some((step, posture));
                counts.first_exit[step * counts.postures + posture] += 1;
            }
            Some(_) if posture == 0 => self.returned = true,
            _ => {}
        }
        if let Some(w) = row {
            counts.posture_at[w * counts.postures + posture] += 1;
            for (e, active) in self.active.iter_mut().enumerate() {
                *active = model.event_active(ws, lane, e);
                counts.active_at[w * counts.events + e] += u64::from(*active);
            }
        }
        self.onsets.copy_from_slice(model.onsets(ws, lane));
        for (first, &n) in self.first_onset.iter_mut().zip(&self.onsets) {
            if first.is_none() && n > 0 {
                *first = Some(step);
            }
        }
        for (first, n) in self.first_coercion.iter_mut().zip(model.coerced(ws, lane)) {
            if first.is_none() && n > 0 {
                *first = Some(step);
            }
        }
    }

    /// Forget the previous run.
    pub fn reset(&mut self) {
        self.first_exit = None;
        self.returned = false;
        self.first_onset.fill(None);
        self.onsets.fill(0);
        self.first_coercion.fill(None);
        self.active.fill(false);
    }
}

/// One written step of a sample path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathStep {
    pub step: usize,
    /// Every cell of the layout.
    pub values: Vec<f64>,
    /// Posture index.
    pub posture: usize,
    /// Whether each event is active.
    pub active: Vec<bool>,
}

/// The written steps of run `run`'s path (for `trajectories.csv`): the
/// same arithmetic as the batch, so the values are those of the batch.
pub fn sample_path(model: &Model, plan: &Plan, run: u64, ws: &mut Workspace) -> Vec<PathStep> {
    let partners = model.scenario.partners.len();
    let events = model.scenario.events.len();
    let mut row = vec![0.0; model.layout.len()];
    let mut out = Vec::with_capacity(plan.len());
    for k in 0..=model.steps() {
        match k {
            0 => model.start(run, ws),
            _ => model.advance(k - 1, ws),
        }
        model.record(ws, &mut row);
        if plan.row(k).is_some() {
            out.push(PathStep {
                step: k,
                values: row.clone(),
                posture: model.posture(ws).index(partners),
                active: (0..events).map(|e| model.event_active(ws, 0, e)).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Scenario {
        Scenario::load(std::path::Path::new("tests/fixtures/tiny.toml")).expect("fixture loads")
    }

    #[test]
    fn plan_writes_every_stride_and_the_horizon() {
        let mut s = tiny();
        assert_eq!(Plan::new(&s).steps, (0..=s.steps()).collect::<Vec<_>>());
        s.outputs.every = Some(1.0);
        let plan = Plan::new(&s);
        assert_eq!(plan.steps, vec![0, 4, 8, 12]);
        assert_eq!((plan.row(4), plan.row(5), plan.row(12)), (Some(1), None, Some(3)));
        s.outputs.every = Some(2.0);
        assert_eq!(Plan::new(&s).steps, vec![0, 8, 12]);
    }

    #[test]
    fn cumulative_exits_add_up_step_by_step() {
        let mut c = PathCounts::new(1, 2, 3, 0);
        c.first_exit = vec![0, 1, 0, 0, 0, 2, 0, 1, 1];
        assert_eq!(c.cumulative_exits(), vec![0, 1, 0, 0, 1, 2, 0, 2, 3]);
    }
}
