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
pub mod math;
pub mod metrics;
pub mod rng;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::scenario::params::{corridor as cp, hedger as hp, partner as pp};
use crate::scenario::{Scenario, Target};
use events::{CompiledEvent, Params, Schedule, ramp_fraction};
use metrics::{GROUP_METRICS, HEDGER_METRICS, MetricLayout, PARTNER_METRICS};
use rng::{Stream, stream, stream_key};

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
    let best = |score: &dyn Fn(usize) -> f64| {
        (0..t.len()).map(|p| (score(p), p)).fold((f64::NEG_INFINITY, 0), |a, b| if b.0 > a.0 { b } else { a })
    };
    let (align, p) = best(&|p| (t[p] + d[p]) / 2.0);
    if align >= alignment {
        return Posture::Aligned(p);
    }
    let (dep, p) = best(&|p| share[p]);
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

/// Per-run mutable state and scratch space, reused across runs.
#[derive(Debug, Clone)]
pub struct Workspace {
    t: Vec<f64>,
    d: Vec<f64>,
    r: Vec<f64>,
    log_y: Vec<f64>,
    x: Vec<f64>,
    e: Vec<f64>,
    pressure: Vec<f64>,
    coerced: Vec<u32>,
    trade_total: f64,
    /// Steps of disruption left per corridor (0 = open).
    disruption_left: Vec<u32>,
    // scratch
    eps: Vec<f64>,
    z_bloc: Vec<f64>,
    /// ln of each corridor's cost while open and while disrupted, for `params`.
    log_corridor_open: Vec<f64>,
    log_corridor_disrupted: Vec<f64>,
    score_t: Vec<f64>,
    score_d: Vec<f64>,
    share: Vec<f64>,
    params: Params,
    /// `ln comp + ln(1 + access) - ln trade_cost` per partner, for `params`.
    static_m: Vec<f64>,
    /// Per-step rates of the hedger's adjustments, for `params`.
    eta_t: f64,
    eta_d: f64,
    scratch: (Params, Params),
    active: Vec<(usize, f64)>,
    last_active: Vec<(usize, f64)>,
    hazard_left: Vec<usize>,
    hazard_onset: Vec<f64>,
    /// Onsets of each event so far in this run (recording only: nothing
    /// in the dynamics reads it).
    onsets: Vec<u32>,
    streams: Streams,
}

#[derive(Debug, Clone)]
struct Streams {
    global: Stream,
    bloc: Vec<Stream>,
    shock: Vec<Stream>,
    coercion: Vec<Stream>,
    event: Vec<Stream>,
}

/// Numerically stable softmax of `beta * score`, in place.
fn softmax(beta: f64, score: &mut [f64]) {
    let max = score.iter().fold(f64::NEG_INFINITY, |m, &s| m.max(beta * s));
    let mut sum = 0.0;
    for s in score.iter_mut() {
        *s = math::exp(beta * *s - max);
        sum += *s;
    }
    let inv = 1.0 / sum;
    score.iter_mut().for_each(|s| *s *= inv);
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

    /// A workspace for [`Model::run`].
    pub fn workspace(&self) -> Workspace {
        let p = self.partners;
        let zero = |n: usize| vec![0.0; n];
        let seed = self.scenario.seed;
        Workspace {
            t: zero(p),
            d: zero(p),
            r: zero(p),
            log_y: zero(p),
            x: zero(p),
            e: zero(p),
            pressure: zero(p),
            coerced: vec![0; p],
            trade_total: 0.0,
            disruption_left: vec![0; self.scenario.corridors.len()],
            eps: zero(p),
            z_bloc: zero(self.key_bloc.len()),
            log_corridor_open: zero(self.scenario.corridors.len()),
            log_corridor_disrupted: zero(self.scenario.corridors.len()),
            score_t: zero(p),
            score_d: zero(p),
            share: zero(p),
            params: self.base.clone(),
            static_m: zero(p),
            eta_t: 0.0,
            eta_d: 0.0,
            scratch: (self.base.clone(), self.base.clone()),
            active: Vec::new(),
            last_active: Vec::new(),
            hazard_left: vec![0; self.events.len()],
            hazard_onset: zero(self.events.len()),
            onsets: vec![0; self.events.len()],
            streams: Streams {
                global: stream(seed, 0, self.key_global),
                bloc: self.key_bloc.iter().map(|&k| stream(seed, 0, k)).collect(),
                shock: self.key_shock.iter().map(|&k| stream(seed, 0, k)).collect(),
                coercion: self.key_coercion.iter().map(|&k| stream(seed, 0, k)).collect(),
                event: self.key_event.iter().map(|&k| stream(seed, 0, k)).collect(),
            },
        }
    }

    /// Put `ws` in the base-year state (step k = 0) of run `run`.
    pub fn start(&self, run: u64, ws: &mut Workspace) {
        let seed = self.scenario.seed;
        for (p, partner) in self.scenario.partners.iter().enumerate() {
            ws.t[p] = self.s0[p];
            ws.d[p] = self.d0[p];
            ws.r[p] = 0.0;
            ws.log_y[p] = math::ln(partner.gdp);
            ws.x[p] = partner.trade;
            ws.e[p] = 1.0;
            ws.pressure[p] = 0.0;
            ws.coerced[p] = 0;
        }
        ws.trade_total = self.scenario.hedger.trade_total;
        ws.disruption_left.fill(0);
        ws.params.clone_from(&self.base);
        self.derive_from_params(ws);
        ws.active.clear();
        ws.last_active.clear();
        ws.hazard_left.fill(0);
        ws.hazard_onset.fill(0.0);
        ws.onsets.fill(0);
        let s = &mut ws.streams;
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
    }

    /// Simulate run `run` (0-based) and write its trajectory into `out`
    /// (length [`Model::trajectory_len`]). Returns the posture at the horizon.
    ///
    /// The same as [`Model::start`], then [`Model::advance`] for each step
    /// with [`Model::record`] after each, then [`Model::posture`].
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

    /// The posture of the run in `ws`: at the horizon once every step is
    /// done and the last state has been [recorded](Model::record).
    pub fn posture(&self, ws: &Workspace) -> Posture {
        let c = &self.scenario.classification;
        classify(&ws.t, &ws.d, &ws.share, c.alignment_threshold, c.dependence_threshold)
    }

    /// Whether event `e` is active in the step just taken (in the state
    /// last advanced; none at step 0).
    pub fn event_active(&self, ws: &Workspace, e: usize) -> bool {
        // After `apply_events`, `last_active` holds this step's active list.
        ws.last_active.iter().any(|&(i, _)| i == e)
    }

    /// Onsets of each event so far in the run in `ws`.
    pub fn onsets<'w>(&self, ws: &'w Workspace) -> &'w [u32] {
        &ws.onsets
    }

    /// Coercions of each partner so far in the run in `ws`.
    pub fn coerced<'w>(&self, ws: &'w Workspace) -> &'w [u32] {
        &ws.coerced
    }

    /// Whether event `e` is a hazard (random onset) event.
    pub fn is_hazard(&self, e: usize) -> bool {
        matches!(self.events[e].schedule, Schedule::Hazard { .. })
    }

    /// Step 1: hazard onsets, shocks at onset, effective parameters.
    fn apply_events(&self, j: usize, ws: &mut Workspace) {
        if self.events.is_empty() {
            return;
        }
        let t_prev = self.scenario.time_at(j);
        let t_k = self.scenario.time_at(j + 1);
        ws.active.clear();
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
                    let u: f64 = ws.streams.event[e].random();
                    let mut onset = false;
                    if ws.hazard_left[e] == 0 && (from..until).contains(&j) && u < onset_probability {
                        ws.hazard_left[e] = steps;
                        ws.hazard_onset[e] = t_prev;
                        onset = true;
                    }
                    if ws.hazard_left[e] == 0 {
                        continue;
                    }
                    ws.hazard_left[e] -= 1;
                    (onset, ws.hazard_onset[e])
                }
            };
            if onset {
                ws.onsets[e] += 1;
                if !event.shock.is_none() {
                    self.apply_shock(event, ws);
                }
            }
            ws.active.push((e, ramp_fraction(event.ramp, onset_time, t_k)));
        }
        if ws.active != ws.last_active {
            self.base.effective(&ws.active, &self.events, &mut ws.scratch, &mut ws.params);
            self.derive_from_params(ws);
            std::mem::swap(&mut ws.active, &mut ws.last_active);
        }
    }

    /// Quantities that depend on the effective parameters only, recomputed
    /// when they change rather than at every step.
    fn derive_from_params(&self, ws: &mut Workspace) {
        for (p, m) in ws.static_m.iter_mut().enumerate() {
            *m = static_attractiveness(&ws.params.partner[p], 1.0);
        }
        for (c, q) in ws.params.corridor.iter().enumerate() {
            ws.log_corridor_open[c] = math::ln(q[cp::COST]);
            ws.log_corridor_disrupted[c] = math::ln(q[cp::COST] * (1.0 + q[cp::DISRUPTION]));
        }
        ws.eta_t = per_step(ws.params.hedger[hp::TRADE_ADJUSTMENT], self.dt);
        ws.eta_d = per_step(ws.params.hedger[hp::DIPLOMATIC_ADJUSTMENT], self.dt);
    }

    fn apply_shock(&self, event: &CompiledEvent, ws: &mut Workspace) {
        match &event.target {
            Target::Partners(ids) => {
                for &p in ids {
                    ws.x[p] *= event.shock.trade;
                    ws.log_y[p] += math::ln(event.shock.gdp);
                }
            }
            Target::Hedger => ws.trade_total *= event.shock.trade_total,
            Target::Corridor(_) => {}
        }
    }

    /// Step k = j + 1 of MODEL.md (from `t_j` to `t_(j+1)`), in its order.
    /// Steps must be taken in order, each once, after [`Model::start`].
    pub fn advance(&self, j: usize, ws: &mut Workspace) {
        let n = self.partners;
        let (dt, sqrt_dt) = (self.dt, self.sqrt_dt);
        let model = &self.scenario.model;

        // 1. Events.
        self.apply_events(j, ws);
        let params = &ws.params;
        let h = &params.hedger;

        // Every per-partner vector re-sliced to exactly n values, so the
        // loops below index them without bounds checks.
        let Workspace { t, d, r, log_y, x, e, pressure, coerced, eps, score_t, score_d, static_m, .. } = ws;
        let (t, d, r, log_y, x) = (&mut t[..n], &mut d[..n], &mut r[..n], &mut log_y[..n], &mut x[..n]);
        let (e, pressure, coerced, eps) = (&mut e[..n], &mut pressure[..n], &mut coerced[..n], &mut eps[..n]);
        let (score_t, score_d, static_m) = (&mut score_t[..n], &mut score_d[..n], &static_m[..n]);
        let (partner, a, b, s0, d0) = (&params.partner[..n], &self.a[..n], &self.b[..n], &self.s0[..n], &self.d0[..n]);
        let streams = &mut ws.streams;

        // 2. Shocks: a fixed number of draws per stream per step.
        let z0: f64 = StandardNormal.sample(&mut streams.global);
        for (z, s) in ws.z_bloc.iter_mut().zip(streams.bloc.iter_mut()) {
            *z = StandardNormal.sample(s);
        }
        for ((shock, stream), &bloc) in eps.iter_mut().zip(&mut streams.shock).zip(&self.bloc_of) {
            let z_own: f64 = StandardNormal.sample(stream);
            *shock = self.w_global * z0 + self.w_bloc * ws.z_bloc[bloc] + self.w_own * z_own;
        }

        // 6. (first half) Disruptions age before this step's coercion.
        for left in ws.disruption_left.iter_mut() {
            *left = left.saturating_sub(1);
        }
        for p in 0..n {
            let q = &partner[p];
            let shock = eps[p];
            // 3. Economies (in log space).
            let sigma_y = q[pp::GDP_VOLATILITY];
            log_y[p] += (q[pp::GDP_GROWTH] - 0.5 * sigma_y * sigma_y) * dt + sigma_y * sqrt_dt * shock;
            // 4. Perceived returns.
            r[p] = (1.0 - self.lambda_r) * r[p] + self.lambda_r * q[pp::VOLATILITY] * shock;
            // 5. Pressure (reads t and d before this step's updates; steps
            // 3-6 of one partner touch nothing another partner's read).
            let shortfall = (1.0 - d[p] / d0[p]).max(0.0);
            let rivalry: f64 = self.rivals_of[p].iter().map(|&q| (t[q] / s0[q] - 1.0).max(0.0)).sum();
            let pi = pressure[p];
            pressure[p] =
                (pi + dt * (q[pp::ASSERTIVENESS] * (shortfall + rivalry) - model.pressure_decay * pi)).max(0.0);
            // 6. Coercion: one uniform per partner per step.
            let u: f64 = streams.coercion[p].random();
            let hazard = q[pp::LEVERAGE] * pressure[p] * dt;
            if hazard > 0.0 && coerces(u, hazard) {
                x[p] *= 1.0 - model.coercion_severity;
                r[p] -= model.coercion_risk_jump;
                coerced[p] += 1;
                for &c in &self.controls[p] {
                    ws.disruption_left[c] = ws.disruption_left[c].max(self.disruption_steps);
                }
            }
        }

        // 7.-8. Attention: scores from the state before either update.
        let beta = h[hp::RATIONALITY];
        let (gamma, kappa) = (h[hp::RISK_AVERSION], h[hp::AUTONOMY_WEIGHT]);
        let (omega, phi) = (h[hp::REASSURANCE], h[hp::ECONOMIC_DIPLOMACY]);
        for p in 0..n {
            let q = &partner[p];
            let log_corridor_cost = self.corridor_of[p].map_or(0.0, |c| {
                if ws.disruption_left[c] > 0 { ws.log_corridor_disrupted[c] } else { ws.log_corridor_open[c] }
            });
            // ln 1 = 0 exactly: skip the logarithm while engagement is at its base.
            let log_e = if e[p] == 1.0 { 0.0 } else { math::ln(e[p]) };
            let m =
                static_m[p] - log_corridor_cost + model.gdp_elasticity * log_y[p] + model.engagement_elasticity * log_e;
            let sigma = q[pp::VOLATILITY];
            score_t[p] = a[p] + m + r[p]
                - gamma * (sigma * sigma + q[pp::LEVERAGE]) * t[p]
                - 2.0 * kappa * t[p]
                - q[pp::SANCTIONS_RISK];
            score_d[p] = b[p] + q[pp::PRIORITY] + omega * pressure[p] + phi * m - 2.0 * kappa * d[p];
        }
        softmax(beta, score_t);
        softmax(beta, score_d);
        let (eta_t, eta_d) = (ws.eta_t, ws.eta_d);
        let sigma_t = h[hp::TRADE_VOLATILITY];
        ws.trade_total *= math::exp((h[hp::TRADE_GROWTH] - 0.5 * sigma_t * sigma_t) * dt + sigma_t * sqrt_dt * z0);
        let trade_total = ws.trade_total;
        for p in 0..n {
            let q = &partner[p];
            t[p] = (1.0 - eta_t) * t[p] + eta_t * score_t[p];
            d[p] = (1.0 - eta_d) * d[p] + eta_d * score_d[p];
            // 9. Engagement, with the new d.
            let rho = q[pp::RECIPROCITY];
            let target = (1.0 + rho * (d[p] / d0[p] - 1.0)).max(MIN_ENGAGEMENT);
            e[p] += self.lambda_e * (target - e[p]);
            // 10. Trade flows, with the new t. Floored at the smallest
            // normal double: repeated shocks with no friction could
            // otherwise underflow every X to 0 and make the shares 0/0.
            // Changes nothing in any ordinary scenario.
            let sigma = q[pp::VOLATILITY];
            let flow = x[p] + self.lambda_x * (t[p] * trade_total - x[p]);
            x[p] = (flow * math::exp(sigma * sqrt_dt * eps[p] - 0.5 * sigma * sigma * dt)).max(f64::MIN_POSITIVE);
        }
    }

    /// Write the metrics of the current state into one row of
    /// [`MetricLayout::len`] values (see [`metrics`]).
    pub fn record(&self, ws: &mut Workspace, row: &mut [f64]) {
        let n = self.partners;
        let total: f64 = ws.x.iter().sum();
        let inv = 1.0 / total;
        let mut hhi = 0.0;
        let mut coerced_total = 0u64;
        for p in 0..n {
            let s = ws.x[p] * inv;
            ws.share[p] = s;
            hhi += s * s;
            coerced_total += u64::from(ws.coerced[p]);
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
            row[start..start + n].copy_from_slice(values);
        }
        let start = self.layout.partner_block(PARTNER_METRICS.len() - 1);
        for p in 0..n {
            row[start + p] = f64::from(ws.coerced[p]);
        }
        let groups = self.layout.groups;
        let (gs, ga) = (self.layout.group_block(0), self.layout.group_block(1));
        debug_assert_eq!(GROUP_METRICS.len(), 2);
        debug_assert_eq!(self.members.len(), groups);
        // Each group's sum in a register, over its members in partner order.
        for (g, members) in self.members.iter().enumerate() {
            let (mut share, mut attention) = (0.0, 0.0);
            for &p in members {
                share += ws.share[p];
                attention += ws.d[p];
            }
            row[gs + g] = share;
            row[ga + g] = attention;
        }
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
        softmax(2.0, &mut v);
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
