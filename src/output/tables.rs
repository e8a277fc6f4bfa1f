//! `summary.csv`, `outcomes.csv`, `survival.csv`, `trajectories.csv` and
//! the header and rows of `runs.csv` (formats in `docs/outputs.md`). Pure:
//! results in, bytes out.
//!
//! Every float is written so that type-inferring readers read a float
//! column as floats whatever its first rows hold ([`push_float`]); a year
//! that did not happen (a run that never left hedging) is `NaN`, which
//! every reader reads as a float, not an empty field, which they would
//! read as text when the first rows are all empty.

use std::fmt::Write;

use crate::engine::timeline::{PathCounts, PathStep, Plan, RunTrack};
use crate::model::metrics::{EVENT_ACTIVE, POSTURE_SHARE, is_count};
use crate::model::{Model, Posture};
use crate::scenario::validate::quantile_column;
use crate::stats::moments::MomentBlock;
use crate::stats::sketch::SketchSet;
use crate::stats::summary::{summarize, t_critical_95, wilson_95};

/// Append `v` as a float that every type-inferring CSV reader (polars,
/// DuckDB, pandas, R readr) reads as a float: Rust's shortest round-trip
/// decimal, with `.0` added to whole numbers (`1.0`, not `1`), never an
/// exponent. The value read back is still the exact value computed.
pub fn push_float(out: &mut String, v: f64) {
    let start = out.len();
    let _ = write!(out, "{v}");
    if !out[start..].contains(['.', 'i', 'N']) {
        out.push_str(".0");
    }
}

/// `v` formatted by [`push_float`].
pub fn float(v: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, v);
    s
}

/// An optional float: empty when undefined.
fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, float)
}

/// The layout cells whose metric `[outputs] metrics` selects.
pub fn written_cells(model: &Model) -> Vec<usize> {
    let outputs = &model.scenario.outputs;
    (0..model.layout.len()).filter(|&c| outputs.writes(model.layout.cells[c].metric)).collect()
}

/// The statistics of a 0/1 variable (in a posture, an event active) with
/// `k` ones in `n` runs, as the columns of `summary.csv`: mean = share,
/// sample sd and se, the Wilson 95% interval, exact min, max and lower
/// empirical quantiles.
fn bernoulli_fields(out: &mut String, k: u64, n: u64, quantiles: &[f64]) {
    let (kf, nf) = (k as f64, n as f64);
    let mean = if n > 0 { kf / nf } else { 0.0 };
    let sd = (n >= 2).then(|| (kf * (nf - kf) / (nf * (nf - 1.0))).sqrt());
    let se = sd.map(|sd| sd / nf.sqrt());
    let ci = wilson_95(k, n);
    let min = if k == n { 1.0 } else { 0.0 };
    let max = if k > 0 { 1.0 } else { 0.0 };
    let _ = write!(
        out,
        ",{n},{},{},{},{},{},{},{}",
        float(mean),
        opt(sd),
        opt(se),
        opt(ci.map(|c| c.0)),
        opt(ci.map(|c| c.1)),
        float(min),
        float(max)
    );
    for &q in quantiles {
        let rank = ((q * nf).ceil() as u64).clamp(1, n.max(1));
        out.push_str(if rank <= n - k { ",0.0" } else { ",1.0" });
    }
}

/// `summary.csv`: one row per written step x metric x subject: the cells
/// of the layout, then the share of runs in each posture (`posture_share`)
/// and of runs in which each event is active (`event_active`).
pub fn summary_csv(model: &Model, moments: &MomentBlock, sketches: &SketchSet, paths: &PathCounts) -> String {
    let scenario = &model.scenario;
    let quantiles = &scenario.outputs.quantiles;
    let mut out = String::from("step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max");
    for &q in quantiles {
        out.push(',');
        out.push_str(&quantile_column(q));
    }
    out.push('\n');
    let t95 = t_critical_95(moments.n);
    let cells = model.layout.len();
    let written = written_cells(model);
    let plan = Plan::new(scenario);
    let partners = scenario.partners.len();
    let (postures, events) = (paths.postures, paths.events);
    for (w, &step) in plan.steps.iter().enumerate() {
        let year = float(scenario.time_at(step));
        for &c in &written {
            let cell = &model.layout.cells[c];
            let i = w * cells + c;
            let s = summarize(moments, i, &sketches.sketches[i], quantiles, t95, is_count(cell.metric));
            let _ = write!(
                out,
                "{step},{year},{},{},{},{},{},{},{},{},{},{}",
                cell.metric,
                cell.subject,
                s.n,
                float(s.mean),
                opt(s.sd),
                opt(s.se),
                opt(s.ci95.map(|c| c.0)),
                opt(s.ci95.map(|c| c.1)),
                float(s.min),
                float(s.max)
            );
            for &q in &s.quantiles {
                out.push(',');
                push_float(&mut out, q);
            }
            out.push('\n');
        }
        if scenario.outputs.writes(POSTURE_SHARE) {
            for p in 0..postures {
                let label = Posture::from_index(p, partners).label(scenario);
                let _ = write!(out, "{step},{year},{POSTURE_SHARE},{label}");
                bernoulli_fields(&mut out, paths.posture_at[w * postures + p], moments.n, quantiles);
                out.push('\n');
            }
        }
        if scenario.outputs.writes(EVENT_ACTIVE) {
            for (e, event) in scenario.events.iter().enumerate() {
                let _ = write!(out, "{step},{year},{EVENT_ACTIVE},{}", event.name);
                bernoulli_fields(&mut out, paths.active_at[w * events + e], moments.n, quantiles);
                out.push('\n');
            }
        }
    }
    out
}

/// Header line of `runs.csv`: the run, its posture at the horizon, the
/// written metrics at the horizon (as in `summary.csv`: the cells, then
/// 0/1 indicators `posture_share.<posture>` and `event_active.<event>`),
/// then its path: first passage out of hedging, onsets of each hazard
/// event, first coercion by each partner.
pub fn runs_header(model: &Model) -> String {
    let s = &model.scenario;
    let mut out = String::from("run,posture");
    for c in written_cells(model) {
        out.push(',');
        out.push_str(&model.layout.cells[c].column());
    }
    if s.outputs.writes(POSTURE_SHARE) {
        for p in 0..Posture::count(s.partners.len()) {
            let _ = write!(out, ",{POSTURE_SHARE}.{}", Posture::from_index(p, s.partners.len()).label(s));
        }
    }
    if s.outputs.writes(EVENT_ACTIVE) {
        for event in &s.events {
            let _ = write!(out, ",{EVENT_ACTIVE}.{}", event.name);
        }
    }
    out.push_str(",first_exit_year,first_exit_posture,returned_to_hedging");
    for (e, event) in s.events.iter().enumerate() {
        if model.is_hazard(e) {
            let _ = write!(out, ",first_onset_year.{0},onsets.{0}", event.name);
        }
    }
    for p in &s.partners {
        let _ = write!(out, ",first_coercion_year.{}", p.id);
    }
    out.push('\n');
    out
}

/// The year of step `step`, or `NaN` if it never happened.
fn push_year(out: &mut String, model: &Model, step: Option<usize>) {
    match step {
        Some(k) => push_float(out, model.scenario.time_at(k)),
        None => out.push_str("NaN"),
    }
}

/// One row of `runs.csv` (see [`runs_header`]); `row` holds every cell at the horizon.
pub fn push_runs_row(out: &mut String, model: &Model, run: u64, posture: Posture, row: &[f64], track: &RunTrack) {
    let s = &model.scenario;
    let _ = write!(out, "{run},{}", posture.label(s));
    for (c, &v) in row.iter().enumerate() {
        if s.outputs.writes(model.layout.cells[c].metric) {
            out.push(',');
            push_float(out, v);
        }
    }
    if s.outputs.writes(POSTURE_SHARE) {
        let at = posture.index(s.partners.len());
        for p in 0..Posture::count(s.partners.len()) {
            out.push_str(if p == at { ",1.0" } else { ",0.0" });
        }
    }
    if s.outputs.writes(EVENT_ACTIVE) {
        for &active in &track.active {
            out.push_str(if active { ",1.0" } else { ",0.0" });
        }
    }
    out.push(',');
    push_year(out, model, track.first_exit.map(|(k, _)| k));
    out.push(',');
    if let Some((_, p)) = track.first_exit {
        out.push_str(&Posture::from_index(p, s.partners.len()).label(s));
    }
    out.push_str(if track.returned { ",true" } else { ",false" });
    for e in 0..s.events.len() {
        if model.is_hazard(e) {
            out.push(',');
            push_year(out, model, track.first_onset[e]);
            let _ = write!(out, ",{}", track.onsets[e]);
        }
    }
    for &first in &track.first_coercion {
        out.push(',');
        push_year(out, model, first);
    }
    out.push('\n');
}

/// `survival.csv`: at each written step, the runs that have never left
/// hedging (count, share and Wilson 95% interval) and the cumulative share
/// of runs that left it for each posture (first passage).
pub fn survival_csv(model: &Model, paths: &PathCounts, n: u64) -> String {
    let s = &model.scenario;
    let partners = s.partners.len();
    let postures = paths.postures;
    let mut out = String::from("step,year,n,still_hedging,share_still_hedging,ci95_low,ci95_high");
    for p in 1..postures {
        let _ = write!(out, ",cumulative_share.{}", Posture::from_index(p, partners).label(s));
    }
    out.push('\n');
    let cumulative = paths.cumulative_exits();
    for &step in &Plan::new(s).steps {
        let exits = &cumulative[step * postures..(step + 1) * postures];
        let left: u64 = exits.iter().sum();
        let still = n.saturating_sub(left);
        let (lo, hi) = wilson_95(still, n).unwrap_or((0.0, 1.0));
        let share = |k: u64| if n > 0 { k as f64 / n as f64 } else { 0.0 };
        let _ = write!(
            out,
            "{step},{},{n},{still},{},{},{}",
            float(s.time_at(step)),
            float(share(still)),
            float(lo),
            float(hi)
        );
        for &k in &exits[1..] {
            out.push(',');
            push_float(&mut out, share(k));
        }
        out.push('\n');
    }
    out
}

/// `trajectories.csv`: the written steps of sample paths in long form
/// (`run,step,year,metric,subject,value`): every written cell, then
/// `posture` (subject = the posture at that step, value 1.0) and
/// `event_active` (subject = event, value 0.0 or 1.0).
pub fn trajectories_csv(model: &Model, paths: &[(u64, Vec<PathStep>)]) -> String {
    let s = &model.scenario;
    let written = written_cells(model);
    let mut out = String::from("run,step,year,metric,subject,value\n");
    for (run, steps) in paths {
        for p in steps {
            let year = float(s.time_at(p.step));
            let prefix = format!("{run},{},{year}", p.step);
            for &c in &written {
                let cell = &model.layout.cells[c];
                let _ = write!(out, "{prefix},{},{},", cell.metric, cell.subject);
                push_float(&mut out, p.values[c]);
                out.push('\n');
            }
            if s.outputs.writes(POSTURE_SHARE) {
                let label = Posture::from_index(p.posture, s.partners.len()).label(s);
                let _ = writeln!(out, "{prefix},posture,{label},1.0");
            }
            if s.outputs.writes(EVENT_ACTIVE) {
                for (e, event) in s.events.iter().enumerate() {
                    let v = if p.active[e] { "1.0" } else { "0.0" };
                    let _ = writeln!(out, "{prefix},{EVENT_ACTIVE},{},{v}", event.name);
                }
            }
        }
    }
    out
}

/// `outcomes.csv`: the frequency of every possible posture (zeros
/// included, so tables of several scenarios join without filling).
pub fn outcomes_csv(model: &Model, postures: &[u64]) -> String {
    let n: u64 = postures.iter().sum();
    let partners = model.scenario.partners.len();
    let mut out = String::from("posture,count,share,ci95_low,ci95_high\n");
    for (i, &count) in postures.iter().enumerate() {
        // A batch has at least one run, so n > 0 and the interval exists.
        let (lo, hi) = wilson_95(count, n).unwrap_or((0.0, 1.0));
        let label = Posture::from_index(i, partners).label(&model.scenario);
        let share = if n > 0 { count as f64 / n as f64 } else { 0.0 };
        let _ = writeln!(out, "{label},{count},{},{},{}", float(share), float(lo), float(hi));
    }
    out
}
