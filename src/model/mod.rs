//! The hedging model of MODEL.md: calibration, one step, one run. Pure: no
//! I/O, no printing, no global state.
//!
//! [`Model::new`] compiles a validated scenario once (calibration constants
//! `a` and `b`, per-step rates, event schedules, stream keys).
//! [`Model::run`] simulates one Monte Carlo run into a caller-provided
//! trajectory buffer and returns the posture at the horizon;
//! [`Model::start`], [`Model::advance`], [`Model::record`] and
//! [`Model::posture`] are the same run taken step by step, which lets the
//! engine move many runs side by side. The numbered comments in
//! [`Model::advance`] are the step numbers of MODEL.md. Transcendental
//! functions come from [`math`], so results do not depend on the machine.
//!
//! Deliberate, documented deviations from a literal reading of MODEL.md
//! (see `docs/model.md`): GDP is carried as `ln Y` (the same recursion in
//! log space, which saves an `exp` and a `ln` per partner-step); pressure
//! is floored at 0 after its Euler update; `m` in step 7 uses the corridor
//! state after this step's coercion.

pub mod events;
pub mod lanes;
pub mod math;
pub mod metrics;
pub mod rng;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::scenario::params::{corridor as cp, hedger as hp, partner as pp};
use crate::scenario::{Scenario, Target};
use events::{CompiledEvent, Params, Schedule, ramp_fraction};
pub use lanes::Workspace;
use lanes::{Lane, Streams, lanes, lanes_mut};
use metrics::{GROUP_METRICS, HEDGER_METRICS, MetricLayout, PARTNER_METRICS};
use rng::{stream, stream_key};

/// Engagement never falls below this (MODEL.md step 9).
pub const MIN_ENGAGEMENT: f64 = 0.05;

/// Convert a fraction-per-year into a fraction-per-step: `1 - (1 - l)^dt`.
pub fn per_step(rate_per_year: f64, dt: f64) -> f64 {
    -math::exp_m1(dt * math::ln_1p(-rate_per_year))
}

/// The posture of the hedger at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Posture {
    Hedging,
    Aligned(usize),
    Dependent(usize),
}

impl Posture {
    /// Label as written in outputs: `hedging`, `aligned:RU`, `dependent:CN`.
    pub fn label(&self, scenario: &Scenario) -> String {
        match *self {
            Posture::Hedging => "hedging".to_string(),
            Posture::Aligned(p) => format!("aligned:{}", scenario.partners[p].id),
            Posture::Dependent(p) => format!("dependent:{}", scenario.partners[p].id),
        }
    }

    /// Dense index: 0 hedging, 1..=P aligned, P+1..=2P dependent.
    pub fn index(&self, partners: usize) -> usize {
        match *self {
            Posture::Hedging => 0,
            Posture::Aligned(p) => 1 + p,
            Posture::Dependent(p) => 1 + partners + p,
        }
    }

    pub fn from_index(index: usize, partners: usize) -> Posture {
        match index {
            0 => Posture::Hedging,
            i if i <= partners => Posture::Aligned(i - 1),
            i => Posture::Dependent(i - 1 - partners),
        }
    }

    /// Number of distinct postures for `partners` partners.
    pub fn count(partners: usize) -> usize {
        1 + 2 * partners
    }
}

/// Classify the final state (MODEL.md, "Posture").
pub fn classify(t: &[f64], d: &[f64], share: &[f64], alignment: f64, dependence: f64) -> Posture {
    classify_by(t.len(), |p| t[p], |p| d[p], |p| share[p], alignment, dependence)
}

/// [`classify`] of `partners` partners whose values are read through
/// `t`, `d` and `share` (for example from one lane of a [`Workspace`]).
pub fn classify_by(
    partners: usize,
    t: impl Fn(usize) -> f64,
    d: impl Fn(usize) -> f64,
    share: impl Fn(usize) -> f64,
    alignment: f64,
    dependence: f64,
) -> Posture {
    let best = |score: &dyn Fn(usize) -> f64| {
        (0..partners).map(|p| (score(p), p)).fold((f64::NEG_INFINITY, 0), |a, b| if b.0 > a.0 { b } else { a })
    };
    let (align, p) = best(&|p| (t(p) + d(p)) / 2.0);
    if align >= alignment {
        return Posture::Aligned(p);
    }
    let (dep, p) = best(&share);
    if dep >= dependence {
        return Posture::Dependent(p);
    }
    Posture::Hedging
}

/// A scenario compiled for simulation.
#[derive(Debug, Clone)]
pub struct Model {
    pub scenario: Scenario,
    pub layout: MetricLayout,
    partners: usize,
    steps: usize,
    dt: f64,
    sqrt_dt: f64,
    base: Params,
    /// Base shares s0 and base diplomatic attention d0.
    s0: Vec<f64>,
    d0: Vec<f64>,
    /// Calibration constants (MODEL.md, "Calibration").
    a: Vec<f64>,
    b: Vec<f64>,
    /// sqrt of the global, bloc and idiosyncratic shares of a shock.
    w_global: f64,
    w_bloc: f64,
    w_own: f64,
    /// Per-step model rates.
    lambda_x: f64,
    lambda_r: f64,
    lambda_e: f64,
    events: Vec<CompiledEvent>,
    /// A disruption lasts this many steps: `disruption_duration` in whole
    /// steps (counting steps avoids float drift when dt is not a power of 2).
    disruption_steps: u32,
    /// Corridors controlled by each partner.
    controls: Vec<Vec<usize>>,
    key_global: u64,
    /// One key per bloc (in `scenario.blocs` order) and each partner's bloc.
    key_bloc: Vec<u64>,
    bloc_of: Vec<usize>,
    /// The partners of each metric group, in partner order.
    members: Vec<Vec<usize>>,
    /// Each partner's corridor and rivals, copied out of the scenario.
    corridor_of: Vec<Option<usize>>,
    rivals_of: Vec<Vec<usize>>,
    key_shock: Vec<u64>,
    key_coercion: Vec<u64>,
    key_event: Vec<u64>,
}

/// Numerically stable softmax of `beta * score` over the partners of each
/// lane, in place: `score` is partner-major (`p * width + l`), `beta` has
/// one value per lane in use, `max` and `sum` are per-lane scratch. Per
/// lane the operations and their order are those of a softmax of one
/// vector: the maximum folded from -inf in partner order, the exponentials
/// summed from 0 in partner order, then one reciprocal and a product each.
fn softmax(beta: &[f64], score: &mut [f64], width: usize, max: &mut [f64], sum: &mut [f64]) {
    let n = beta.len();
    let rows = score.len() / width;
    let (max, sum) = (&mut max[..n], &mut sum[..n]);
    max.fill(f64::NEG_INFINITY);
    for p in 0..rows {
        for ((m, &s), &b) in max.iter_mut().zip(lanes(score, p, width, n)).zip(beta) {
            *m = m.max(b * s);
        }
    }
    sum.fill(0.0);
    for p in 0..rows {
        let row = lanes_mut(score, p, width, n);
        for ((s, &m), &b) in row.iter_mut().zip(&*max).zip(beta) {
            *s = b * *s - m;
        }
        math::exp_in_place(row);
        for (total, &s) in sum.iter_mut().zip(&*row) {
            *total += s;
        }
    }
    for total in sum.iter_mut() {
        *total = 1.0 / *total;
    }
    for p in 0..rows {
        for (s, &inv) in lanes_mut(score, p, width, n).iter_mut().zip(&*sum) {
            *s *= inv;
        }
    }
}

impl Model {
    pub fn new(scenario: &Scenario) -> Model {
        let scenario = scenario.clone();
        let partners = scenario.partners.len();
        let dt = scenario.dt();
        let base = Params::base(&scenario);
        let trade_sum: f64 = scenario.partners.iter().map(|p| p.trade).sum();
        let s0: Vec<f64> = scenario.partners.iter().map(|p| p.trade / trade_sum).collect();
        let d0: Vec<f64> = scenario.partners.iter().map(|p| p.diplomatic_share).collect();
        let model = &scenario.model;
        let h = &base.hedger;
        let beta = h[hp::RATIONALITY];
        let (gamma, kappa) = (h[hp::RISK_AVERSION], h[hp::AUTONOMY_WEIGHT]);
        // Pi = 0 at calibration, so reassurance (omega) does not enter b.
        let phi = h[hp::ECONOMIC_DIPLOMACY];
        let mut a = Vec::with_capacity(partners);
        let mut b = Vec::with_capacity(partners);
        for (p, partner) in scenario.partners.iter().enumerate() {
            let q = &base.partner[p];
            let corridor_cost = partner.corridor.map_or(1.0, |c| base.corridor[c][cp::COST]);
            let m0 = static_attractiveness(q, corridor_cost) + model.gdp_elasticity * math::ln(partner.gdp);
            let rest_t = m0
                - gamma * (q[pp::VOLATILITY].powi(2) + q[pp::LEVERAGE]) * s0[p]
                - 2.0 * kappa * s0[p]
                - q[pp::SANCTIONS_RISK];
            a.push(math::ln(s0[p]) / beta - rest_t);
            let rest_d = q[pp::PRIORITY] + phi * m0 - 2.0 * kappa * d0[p];
            b.push(math::ln(d0[p]) / beta - rest_d);
        }
        let mut controls = vec![Vec::new(); partners];
        for (c, corridor) in scenario.corridors.iter().enumerate() {
            if let Some(p) = corridor.controlled_by {
                controls[p].push(c);
            }
        }
        let events = scenario.events.iter().map(|e| CompiledEvent::new(e, &scenario)).collect();
        let layout = MetricLayout::new(&scenario);
        Model {
            partners,
            steps: scenario.steps(),
            dt,
            sqrt_dt: dt.sqrt(),
            s0,
            d0,
            a,
            b,
            w_global: model.global_correlation.sqrt(),
            w_bloc: model.bloc_correlation.sqrt(),
            w_own: (1.0 - model.global_correlation - model.bloc_correlation).max(0.0).sqrt(),
            lambda_x: per_step(model.trade_friction, dt),
            lambda_r: per_step(model.learning_rate, dt),
            lambda_e: per_step(model.engagement_adjustment, dt),
            events,
            controls,
            disruption_steps: ((model.disruption_duration / dt) - 1e-9).ceil().max(0.0) as u32,
            key_global: stream_key("global", ""),
            key_bloc: scenario.blocs.iter().map(|b| stream_key("bloc", b)).collect(),
            bloc_of: scenario.partners.iter().map(|p| p.bloc).collect(),
            members: (0..scenario.groups.len())
                .map(|g| (0..partners).filter(|&p| scenario.partners[p].group == g).collect())
                .collect(),
            corridor_of: scenario.partners.iter().map(|p| p.corridor).collect(),
            rivals_of: scenario.partners.iter().map(|p| p.rivals.clone()).collect(),
            key_shock: scenario.partners.iter().map(|p| stream_key("partner", &p.id)).collect(),
            key_coercion: scenario.partners.iter().map(|p| stream_key("coercion", &p.id)).collect(),
            key_event: scenario.events.iter().map(|e| stream_key("event", &e.name)).collect(),
            base,
            layout,
            scenario,
        }
    }

    /// Number of steps K.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Values per trajectory: (K + 1) x cells.
    pub fn trajectory_len(&self) -> usize {
        (self.steps + 1) * self.layout.len()
    }

    /// A workspace for [`Model::run`]: one lane.
    pub fn workspace(&self) -> Workspace {
        self.workspace_lanes(1)
    }

    /// A workspace for `width` runs side by side (see [`lanes`]).
    pub fn workspace_lanes(&self, width: usize) -> Workspace {
        assert!(width > 0, "a workspace needs at least one lane");
        let (p, c, b) = (self.partners, self.scenario.corridors.len(), self.key_bloc.len());
        let zero = |rows: usize| vec![0.0; rows * width];
        let seed = self.scenario.seed;
        let events = self.events.len();
        let lane = Lane {
            params: self.base.clone(),
            scratch: (self.base.clone(), self.base.clone()),
            active: Vec::new(),
            last_active: Vec::new(),
            hazard_left: vec![0; events],
            hazard_onset: vec![0.0; events],
            onsets: vec![0; events],
            streams: Streams {
                global: stream(seed, 0, self.key_global),
                bloc: self.key_bloc.iter().map(|&k| stream(seed, 0, k)).collect(),
                shock: self.key_shock.iter().map(|&k| stream(seed, 0, k)).collect(),
                coercion: self.key_coercion.iter().map(|&k| stream(seed, 0, k)).collect(),
                event: self.key_event.iter().map(|&k| stream(seed, 0, k)).collect(),
            },
        };
        Workspace {
            width,
            count: 0,
            t: zero(p),
            d: zero(p),
            r: zero(p),
            log_y: zero(p),
            x: zero(p),
            e: zero(p),
            pressure: zero(p),
            coerced: vec![0; p * width],
            share: zero(p),
            trade_total: zero(1),
            disruption_left: vec![0; c * width],
            z0: zero(1),
            z_bloc: zero(b),
            eps: zero(p),
            uniform: zero(p),
            score_t: zero(p),
            score_d: zero(p),
            lane_max: zero(1),
            lane_sum: zero(1),
            partner_params: zero(pp::COUNT * p),
            hedger_params: zero(hp::COUNT),
            static_m: zero(p),
            log_corridor_open: zero(c),
            log_corridor_disrupted: zero(c),
            eta_t: zero(1),
            eta_d: zero(1),
            lanes: vec![lane; width],
        }
    }

    /// Put `ws` in the base-year state (step k = 0) of run `run`, in its
    /// first lane only.
    pub fn start(&self, run: u64, ws: &mut Workspace) {
        self.start_lanes(run, 1, ws);
    }

    /// Put the first `count` lanes of `ws` in the base-year state (step
    /// k = 0) of runs `first..first + count`, lane `l` holding run
    /// `first + l`. Later steps advance and record these `count` lanes.
    pub fn start_lanes(&self, first: u64, count: usize, ws: &mut Workspace) {
        assert!(count > 0 && count <= ws.width, "{count} runs do not fit in {} lanes", ws.width);
        ws.count = count;
        let w = ws.width;
        for (p, partner) in self.scenario.partners.iter().enumerate() {
            lanes_mut(&mut ws.t, p, w, count).fill(self.s0[p]);
            lanes_mut(&mut ws.d, p, w, count).fill(self.d0[p]);
            lanes_mut(&mut ws.r, p, w, count).fill(0.0);
            lanes_mut(&mut ws.log_y, p, w, count).fill(math::ln(partner.gdp));
            lanes_mut(&mut ws.x, p, w, count).fill(partner.trade);
            lanes_mut(&mut ws.e, p, w, count).fill(1.0);
            lanes_mut(&mut ws.pressure, p, w, count).fill(0.0);
            lanes_mut(&mut ws.coerced, p, w, count).fill(0);
        }
        ws.trade_total[..count].fill(self.scenario.hedger.trade_total);
        for c in 0..self.scenario.corridors.len() {
            lanes_mut(&mut ws.disruption_left, c, w, count).fill(0);
        }
        let seed = self.scenario.seed;
        for l in 0..count {
            let run = first + l as u64;
            let lane = &mut ws.lanes[l];
            lane.params.clone_from(&self.base);
            lane.active.clear();
            lane.last_active.clear();
            lane.hazard_left.fill(0);
            lane.hazard_onset.fill(0.0);
            lane.onsets.fill(0);
            let s = &mut lane.streams;
            s.global = stream(seed, run, self.key_global);
            for (dst, &k) in s.bloc.iter_mut().zip(&self.key_bloc) {
                *dst = stream(seed, run, k);
            }
            for (dst, &k) in s.shock.iter_mut().zip(&self.key_shock) {
                *dst = stream(seed, run, k);
            }
            for (dst, &k) in s.coercion.iter_mut().zip(&self.key_coercion) {
                *dst = stream(seed, run, k);
            }
            for (dst, &k) in s.event.iter_mut().zip(&self.key_event) {
                *dst = stream(seed, run, k);
            }
            self.derive_from_params(ws, l);
        }
    }

    /// Simulate run `run` (0-based) and write its trajectory into `out`
    /// (length [`Model::trajectory_len`]). Returns the posture at the horizon.
    ///
    /// The same as [`Model::start`], then [`Model::advance`] for each step
    /// with [`Model::record`] after each, then [`Model::posture`]: the
    /// lock-step core with one lane.
    pub fn run(&self, run: u64, ws: &mut Workspace, out: &mut [f64]) -> Posture {
        assert_eq!(out.len(), self.trajectory_len(), "trajectory buffer has the wrong length");
        self.start(run, ws);
        let cells = self.layout.len();
        self.record(ws, &mut out[..cells]);
        for j in 0..self.steps {
            self.advance(j, ws);
            self.record(ws, &mut out[(j + 1) * cells..(j + 2) * cells]);
        }
        self.posture(ws)
    }

    /// The posture of the run in the first lane of `ws`: at the horizon
    /// once every step is done and the last state has been
    /// [recorded](Model::record).
    pub fn posture(&self, ws: &Workspace) -> Posture {
        self.posture_of(ws, 0)
    }

    /// The posture of the run in lane `lane` of `ws` (see [`Model::posture`]).
    pub fn posture_of(&self, ws: &Workspace, lane: usize) -> Posture {
        let c = &self.scenario.classification;
        let at = |v: &[f64], p: usize| v[p * ws.width + lane];
        classify_by(
            self.partners,
            |p| at(&ws.t, p),
            |p| at(&ws.d, p),
            |p| at(&ws.share, p),
            c.alignment_threshold,
            c.dependence_threshold,
        )
    }

    /// Whether event `e` is active in the step just taken by lane `lane`
    /// (in the state last advanced; none at step 0).
    pub fn event_active(&self, ws: &Workspace, lane: usize, e: usize) -> bool {
        // After `apply_events`, `last_active` holds this step's active list.
        ws.lanes[lane].last_active.iter().any(|&(i, _)| i == e)
    }

    /// Onsets of each event so far in the run in lane `lane` of `ws`.
    pub fn onsets<'w>(&self, ws: &'w Workspace, lane: usize) -> &'w [u32] {
        &ws.lanes[lane].onsets
    }

    /// Coercions of each partner so far in the run in lane `lane` of `ws`.
    pub fn coerced<'w>(&self, ws: &'w Workspace, lane: usize) -> impl Iterator<Item = u32> + 'w {
        let w = ws.width;
        (0..self.partners).map(move |p| ws.coerced[p * w + lane])
    }

    /// Whether event `e` is a hazard (random onset) event.
    pub fn is_hazard(&self, e: usize) -> bool {
        matches!(self.events[e].schedule, Schedule::Hazard { .. })
    }

    /// Step 1: hazard onsets, shocks at onset, effective parameters; lane
    /// by lane, since each run has its own hazard onsets.
    fn apply_events(&self, j: usize, ws: &mut Workspace) {
        if self.events.is_empty() {
            return;
        }
        for l in 0..ws.count {
            if self.lane_events(j, ws, l) {
                self.derive_from_params(ws, l);
            }
        }
    }

    /// Step 1 for lane `l`. Returns whether its effective parameters changed.
    fn lane_events(&self, j: usize, ws: &mut Workspace, l: usize) -> bool {
        let t_prev = self.scenario.time_at(j);
        let t_k = self.scenario.time_at(j + 1);
        let w = ws.width;
        let Workspace { lanes, x, log_y, trade_total, .. } = ws;
        let lane = &mut lanes[l];
        lane.active.clear();
        for (e, event) in self.events.iter().enumerate() {
            let (onset, onset_time) = match event.schedule {
                Schedule::Scheduled { start, end, at } => {
                    if j < start || j >= end {
                        continue;
                    }
                    (j == start, at)
                }
                Schedule::Hazard { onset_probability, from, until, steps } => {
                    // One draw per step, always, to keep the stream aligned.
                    let u: f64 = lane.streams.event[e].random();
                    let mut onset = false;
                    if lane.hazard_left[e] == 0 && (from..until).contains(&j) && u < onset_probability {
                        lane.hazard_left[e] = steps;
                        lane.hazard_onset[e] = t_prev;
                        onset = true;
                    }
                    if lane.hazard_left[e] == 0 {
                        continue;
                    }
                    lane.hazard_left[e] -= 1;
                    (onset, lane.hazard_onset[e])
                }
            };
            if onset {
                lane.onsets[e] += 1;
                if !event.shock.is_none() {
                    apply_shock(event, x, log_y, &mut trade_total[l], w, l);
                }
            }
            lane.active.push((e, ramp_fraction(event.ramp, onset_time, t_k)));
        }
        if lane.active == lane.last_active {
            return false;
        }
        self.base.effective(&lane.active, &self.events, &mut lane.scratch, &mut lane.params);
        std::mem::swap(&mut lane.active, &mut lane.last_active);
        true
    }

    /// Quantities that depend on lane `l`'s effective parameters only,
    /// recomputed when they change rather than at every step, and the
    /// lane's column of the parameter rows.
    fn derive_from_params(&self, ws: &mut Workspace, l: usize) {
        let (w, n) = (ws.width, self.partners);
        let params = &ws.lanes[l].params;
        for (p, q) in params.partner.iter().enumerate() {
            ws.static_m[p * w + l] = static_attractiveness(q, 1.0);
            for (k, &value) in q.iter().enumerate() {
                ws.partner_params[(k * n + p) * w + l] = value;
            }
        }
        for (k, &value) in params.hedger.iter().enumerate() {
            ws.hedger_params[k * w + l] = value;
        }
        for (c, q) in params.corridor.iter().enumerate() {
            ws.log_corridor_open[c * w + l] = math::ln(q[cp::COST]);
            ws.log_corridor_disrupted[c * w + l] = math::ln(q[cp::COST] * (1.0 + q[cp::DISRUPTION]));
        }
        ws.eta_t[l] = per_step(params.hedger[hp::TRADE_ADJUSTMENT], self.dt);
        ws.eta_d[l] = per_step(params.hedger[hp::DIPLOMATIC_ADJUSTMENT], self.dt);
    }

    /// Step k = j + 1 of MODEL.md (from `t_j` to `t_(j+1)`), in its order,
    /// for every lane in use. Steps must be taken in order, each once,
    /// after [`Model::start_lanes`] (or [`Model::start`]).
    pub fn advance(&self, j: usize, ws: &mut Workspace) {
        // 1. Events.
        self.apply_events(j, ws);
        // 2. Shocks, and the coercion draws of step 6.
        self.draw(ws);
        // 3.-6.
        economies_and_coercion(self, ws);
        // 7.-10.
        attention_and_flows(self, ws);
    }

    /// Step 2: a fixed number of draws per stream per step. The coercion
    /// uniforms of step 6 are drawn here too: streams are independent, so
    /// the order of draws between streams changes nothing.
    fn draw(&self, ws: &mut Workspace) {
        let (w, n) = (ws.width, ws.count);
        let Workspace { lanes, z0, z_bloc, eps, uniform, .. } = ws;
        for (l, lane) in lanes[..n].iter_mut().enumerate() {
            let s = &mut lane.streams;
            let z_global: f64 = StandardNormal.sample(&mut s.global);
            z0[l] = z_global;
            for (b, stream) in s.bloc.iter_mut().enumerate() {
                z_bloc[b * w + l] = StandardNormal.sample(stream);
            }
            for (p, (stream, &bloc)) in s.shock.iter_mut().zip(&self.bloc_of).enumerate() {
                let z_own: f64 = StandardNormal.sample(stream);
                eps[p * w + l] = self.w_global * z_global + self.w_bloc * z_bloc[bloc * w + l] + self.w_own * z_own;
            }
            for (p, stream) in s.coercion.iter_mut().enumerate() {
                uniform[p * w + l] = stream.random();
            }
        }
    }

    /// Write the metrics of the current state of every lane in use into
    /// `rows`: one row of [`MetricLayout::len`] values per lane, lane after
    /// lane (see [`metrics`]).
    pub fn record(&self, ws: &mut Workspace, rows: &mut [f64]) {
        let cells = self.layout.len();
        assert_eq!(rows.len(), ws.count * cells, "one row per lane in use");
        for (l, row) in rows.chunks_exact_mut(cells).enumerate() {
            self.record_lane(ws, l, row);
        }
    }

    /// [`Model::record`] for lane `l`.
    fn record_lane(&self, ws: &mut Workspace, l: usize, row: &mut [f64]) {
        let (n, w) = (self.partners, ws.width);
        let at = |p: usize| p * w + l;
        let total: f64 = (0..n).map(|p| ws.x[at(p)]).sum();
        let inv = 1.0 / total;
        let mut hhi = 0.0;
        let mut coerced_total = 0u64;
        for p in 0..n {
            let s = ws.x[at(p)] * inv;
            ws.share[at(p)] = s;
            hhi += s * s;
            coerced_total += u64::from(ws.coerced[at(p)]);
        }
        row[0] = total;
        row[1] = hhi;
        row[2] = 1.0 / hhi;
        row[3] = if n > 1 { (1.0 - hhi) / (1.0 - 1.0 / n as f64) } else { 0.0 };
        row[4] = coerced_total as f64;
        debug_assert_eq!(HEDGER_METRICS.len(), 5);
        let columns: [&[f64]; 6] = [&ws.share, &ws.x, &ws.t, &ws.d, &ws.e, &ws.pressure];
        for (m, values) in columns.iter().enumerate() {
            let start = self.layout.partner_block(m);
            for p in 0..n {
                row[start + p] = values[at(p)];
            }
        }
        let start = self.layout.partner_block(PARTNER_METRICS.len() - 1);
        for p in 0..n {
            row[start + p] = f64::from(ws.coerced[at(p)]);
        }
        let groups = self.layout.groups;
        let (gs, ga) = (self.layout.group_block(0), self.layout.group_block(1));
        debug_assert_eq!(GROUP_METRICS.len(), 2);
        debug_assert_eq!(self.members.len(), groups);
        // Each group's sum in a register, over its members in partner order.
        for (g, members) in self.members.iter().enumerate() {
            let (mut share, mut attention) = (0.0, 0.0);
            for &p in members {
                share += ws.share[at(p)];
                attention += ws.d[at(p)];
            }
            row[gs + g] = share;
            row[ga + g] = attention;
        }
    }
}

/// Steps 3-6: economies, perceived returns, pressure, coercion. Compiled
/// for several instruction sets, the best chosen at run time (see
/// [`math`]: the same bits on each).
#[multiversion::multiversion(targets = "simd")]
fn economies_and_coercion(model: &Model, ws: &mut Workspace) {
    let (w, n, np) = (ws.width, ws.count, model.partners);
    let (dt, sqrt_dt) = (model.dt, model.sqrt_dt);
    let constants = &model.scenario.model;
    // 6. (first half) Disruptions age before this step's coercion.
    for c in 0..model.scenario.corridors.len() {
        for left in lanes_mut(&mut ws.disruption_left, c, w, n) {
            *left = left.saturating_sub(1);
        }
    }
    let Workspace { t, d, r, log_y, x, pressure, coerced, eps, uniform, partner_params, disruption_left, .. } = ws;
    for p in 0..np {
        let q = |k: usize| lanes(partner_params, k * np + p, w, n);
        let (gdp_volatility, gdp_growth, volatility) = (q(pp::GDP_VOLATILITY), q(pp::GDP_GROWTH), q(pp::VOLATILITY));
        let (assertiveness, leverage) = (q(pp::ASSERTIVENESS), q(pp::LEVERAGE));
        let shock = lanes(eps, p, w, n);
        // 3. Economies (in log space).
        for (l, log_y) in lanes_mut(log_y, p, w, n).iter_mut().enumerate() {
            let sigma_y = gdp_volatility[l];
            *log_y += (gdp_growth[l] - 0.5 * sigma_y * sigma_y) * dt + sigma_y * sqrt_dt * shock[l];
        }
        // 4. Perceived returns.
        for (l, r) in lanes_mut(r, p, w, n).iter_mut().enumerate() {
            *r = (1.0 - model.lambda_r) * *r + model.lambda_r * volatility[l] * shock[l];
        }
        // 5. Pressure (reads t and d before this step's updates; steps
        // 3-6 of one partner touch nothing another partner's read).
        let d_p = lanes(d, p, w, n);
        for (l, pi) in lanes_mut(pressure, p, w, n).iter_mut().enumerate() {
            let shortfall = (1.0 - d_p[l] / model.d0[p]).max(0.0);
            let rivalry: f64 = model.rivals_of[p].iter().map(|&q| (t[q * w + l] / model.s0[q] - 1.0).max(0.0)).sum();
            *pi = (*pi + dt * (assertiveness[l] * (shortfall + rivalry) - constants.pressure_decay * *pi)).max(0.0);
        }
        // 6. Coercion: one uniform per partner per step (drawn in step 2).
        for l in 0..n {
            let hazard = leverage[l] * pressure[p * w + l] * dt;
            if hazard > 0.0 && coerces(uniform[p * w + l], hazard) {
                x[p * w + l] *= 1.0 - constants.coercion_severity;
                r[p * w + l] -= constants.coercion_risk_jump;
                coerced[p * w + l] += 1;
                for &c in &model.controls[p] {
                    let left = &mut disruption_left[c * w + l];
                    *left = (*left).max(model.disruption_steps);
                }
            }
        }
    }
}

/// Steps 7-10: attention (scores from the state before either update),
/// engagement, trade flows. Compiled for several instruction sets, as
/// [`economies_and_coercion`].
#[multiversion::multiversion(targets = "simd")]
fn attention_and_flows(model: &Model, ws: &mut Workspace) {
    let (w, n, np) = (ws.width, ws.count, model.partners);
    let (dt, sqrt_dt) = (model.dt, model.sqrt_dt);
    let constants = &model.scenario.model;
    let Workspace {
        t,
        d,
        r,
        log_y,
        x,
        e,
        pressure,
        eps,
        z0,
        score_t,
        score_d,
        lane_max,
        lane_sum,
        partner_params,
        hedger_params,
        static_m,
        log_corridor_open,
        log_corridor_disrupted,
        disruption_left,
        trade_total,
        eta_t,
        eta_d,
        ..
    } = ws;
    let h = |k: usize| lanes(hedger_params, k, w, n);
    let (beta, gamma, kappa) = (h(hp::RATIONALITY), h(hp::RISK_AVERSION), h(hp::AUTONOMY_WEIGHT));
    let (omega, phi) = (h(hp::REASSURANCE), h(hp::ECONOMIC_DIPLOMACY));
    // 7.-8. Scores.
    for p in 0..np {
        let q = |k: usize| lanes(partner_params, k * np + p, w, n);
        let (volatility, leverage) = (q(pp::VOLATILITY), q(pp::LEVERAGE));
        let (sanctions, priority) = (q(pp::SANCTIONS_RISK), q(pp::PRIORITY));
        let (t_p, d_p, r_p, e_p) = (lanes(t, p, w, n), lanes(d, p, w, n), lanes(r, p, w, n), lanes(e, p, w, n));
        let (log_y_p, pressure_p, static_m_p) =
            (lanes(log_y, p, w, n), lanes(pressure, p, w, n), lanes(static_m, p, w, n));
        let (score_t_p, score_d_p) = (&mut score_t[p * w..p * w + n], &mut score_d[p * w..p * w + n]);
        // ln e for every lane at once; ln 1 = +0 exactly (libm's shortcut
        // and the branch-free form agree), so lanes whose engagement is at
        // its base need no exception.
        let log_e = &mut lane_sum[..n];
        log_e.copy_from_slice(e_p);
        math::ln_in_place(log_e);
        for l in 0..n {
            let log_corridor_cost = model.corridor_of[p].map_or(0.0, |c| {
                let i = c * w + l;
                if disruption_left[i] > 0 { log_corridor_disrupted[i] } else { log_corridor_open[i] }
            });
            let m = static_m_p[l] - log_corridor_cost
                + constants.gdp_elasticity * log_y_p[l]
                + constants.engagement_elasticity * log_e[l];
            let sigma = volatility[l];
            score_t_p[l] = model.a[p] + m + r_p[l]
                - gamma[l] * (sigma * sigma + leverage[l]) * t_p[l]
                - 2.0 * kappa[l] * t_p[l]
                - sanctions[l];
            score_d_p[l] = model.b[p] + priority[l] + omega[l] * pressure_p[l] + phi[l] * m - 2.0 * kappa[l] * d_p[l];
        }
    }
    softmax(beta, &mut score_t[..np * w], w, lane_max, lane_sum);
    softmax(beta, &mut score_d[..np * w], w, lane_max, lane_sum);
    let (sigma_t, growth) = (h(hp::TRADE_VOLATILITY), h(hp::TRADE_GROWTH));
    let growth_factor = &mut lane_max[..n];
    for (l, g) in growth_factor.iter_mut().enumerate() {
        let sigma_t = sigma_t[l];
        *g = (growth[l] - 0.5 * sigma_t * sigma_t) * dt + sigma_t * sqrt_dt * z0[l];
    }
    math::exp_in_place(growth_factor);
    for (total, &g) in trade_total[..n].iter_mut().zip(&*growth_factor) {
        *total *= g;
    }
    for p in 0..np {
        let q = |k: usize| lanes(partner_params, k * np + p, w, n);
        let (reciprocity, volatility) = (q(pp::RECIPROCITY), q(pp::VOLATILITY));
        let (score_t_p, score_d_p, shock) = (lanes(score_t, p, w, n), lanes(score_d, p, w, n), lanes(eps, p, w, n));
        let d0 = model.d0[p];
        for (l, t) in lanes_mut(t, p, w, n).iter_mut().enumerate() {
            *t = (1.0 - eta_t[l]) * *t + eta_t[l] * score_t_p[l];
        }
        for (l, d) in lanes_mut(d, p, w, n).iter_mut().enumerate() {
            *d = (1.0 - eta_d[l]) * *d + eta_d[l] * score_d_p[l];
        }
        // 9. Engagement, with the new d.
        let d_p = lanes(d, p, w, n);
        for (l, e) in lanes_mut(e, p, w, n).iter_mut().enumerate() {
            let target = (1.0 + reciprocity[l] * (d_p[l] / d0 - 1.0)).max(MIN_ENGAGEMENT);
            *e += model.lambda_e * (target - *e);
        }
        // 10. Trade flows, with the new t. Floored at the smallest
        // normal double: repeated shocks with no friction could
        // otherwise underflow every X to 0 and make the shares 0/0.
        // Changes nothing in any ordinary scenario.
        let noise = &mut lane_max[..n];
        for (l, z) in noise.iter_mut().enumerate() {
            let sigma = volatility[l];
            *z = sigma * sqrt_dt * shock[l] - 0.5 * sigma * sigma * dt;
        }
        math::exp_in_place(noise);
        let t_p = lanes(t, p, w, n);
        for (l, x) in lanes_mut(x, p, w, n).iter_mut().enumerate() {
            let flow = *x + model.lambda_x * (t_p[l] * trade_total[l] - *x);
            *x = (flow * noise[l]).max(f64::MIN_POSITIVE);
        }
    }
}

/// A shock at an event's onset, in lane `l`.
fn apply_shock(event: &CompiledEvent, x: &mut [f64], log_y: &mut [f64], trade_total: &mut f64, w: usize, l: usize) {
    match &event.target {
        Target::Partners(ids) => {
            for &p in ids {
                x[p * w + l] *= event.shock.trade;
                log_y[p * w + l] += math::ln(event.shock.gdp);
            }
        }
        Target::Hedger => *trade_total *= event.shock.trade_total,
        Target::Corridor(_) => {}
    }
}

/// Whether a uniform draw `u` in [0, 1) means coercion at per-step hazard
/// `hazard` > 0: `u < 1 - exp(-hazard)`. Since `1 - exp(-h) < h`, a draw
/// `u >= h (1 + 2^-51)` cannot pass even allowing for the last-bit error of
/// `exp_m1` (at most one ulp, below `h 2^-52`), so most draws skip the
/// `exp_m1` with the same answer.
fn coerces(u: f64, hazard: f64) -> bool {
    const MARGIN: f64 = 1.0 + f64::EPSILON * 2.0;
    u < hazard * MARGIN && u < -math::exp_m1(-hazard)
}

/// The parts of the log-attractiveness `m` that depend on parameters only:
/// `ln complementarity + ln(1 + access) - ln trade_cost - ln corridor_cost`.
fn static_attractiveness(q: &[f64; pp::COUNT], corridor_cost: f64) -> f64 {
    math::ln(q[pp::COMPLEMENTARITY]) + math::ln_1p(q[pp::ACCESS])
        - math::ln(q[pp::TRADE_COST])
        - math::ln(corridor_cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_step_rate_compounds_to_the_annual_one() {
        let dt = 0.25;
        let step = per_step(0.5, dt);
        assert!(((1.0 - step).powi(4) - 0.5).abs() < 1e-15);
        assert_eq!(per_step(1.0, dt), 1.0);
        assert_eq!(per_step(0.0, dt), 0.0);
    }

    #[test]
    fn softmax_is_a_probability_vector() {
        let mut v = vec![1000.0, 999.0, -5.0];
        let (mut max, mut sum) = ([0.0], [0.0]);
        softmax(&[2.0], &mut v, 1, &mut max, &mut sum);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
    }

    #[test]
    fn classification_follows_thresholds() {
        let t = [0.7, 0.3];
        let d = [0.6, 0.4];
        assert_eq!(classify(&t, &d, &[0.5, 0.5], 0.5, 0.35), Posture::Aligned(0));
        let t = [0.45, 0.55];
        let d = [0.5, 0.4];
        assert_eq!(classify(&t, &d, &[0.3, 0.7], 0.5, 0.35), Posture::Dependent(1));
        assert_eq!(classify(&t, &d, &[0.3, 0.3], 0.5, 0.35), Posture::Hedging);
        for i in 0..Posture::count(2) {
            assert_eq!(Posture::from_index(i, 2).index(2), i);
        }
    }
}
