//! One comparison: result A against result B, row by row.
//!
//! 1. Rows are matched by (year, metric, subject), so results with different
//!    partner lists or `steps_per_year` are compared on what they share
//!    (common partners, groups and hedger metrics at common years); the rows
//!    left out are listed in the notes with the reason.
//! 2. Every value of `summary.csv` and `outcomes.csv` that can be checked is
//!    checked before it is used: at the horizon against `runs.csv` (folded
//!    as the engine folds, see [`super::fold`]), at other steps against the
//!    re-simulation (see [`super::resim`]). A disagreement is an error
//!    ([`CompareError::Suspect`]), never a finding; what could not be
//!    checked is said in [`Comparison::checks`].
//! 3. Rows are tested paired or with Welch's t (see the module doc of
//!    [`super`]); Holm's adjustment is applied by the caller, over every
//!    comparison of the command.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use super::error::{CompareError, Side};
use super::filter::Filter;
use super::fold::{self, HorizonFold, SideFold};
use super::load::{self, ResultDir, SummaryRow};
use super::stats::{self, Effect, Moments, PairedTable, TTest};
use super::{CompareOptions, Comparison, Mode, PostureRow, PostureTest, ResultInfo, Row, render, resim};
use crate::stats::moments::MomentBlock;

/// A year as a key: years of different `steps_per_year` match when equal
/// to a millionth of a year.
fn year_key(y: f64) -> i64 {
    (y * 1e6).round() as i64
}

type Key<'a> = (i64, &'a str, &'a str);

fn index(d: &ResultDir) -> Result<HashMap<Key<'_>, &SummaryRow>, CompareError> {
    let mut map = HashMap::with_capacity(d.summary.len());
    for r in &d.summary {
        if map.insert((year_key(r.year), r.metric.as_str(), r.subject.as_str()), r).is_some() {
            return Err(CompareError::malformed(
                d.path.join(load::SUMMARY),
                Some(r.line),
                format!("{} appears twice at step {}; re-run `hedgesim run` to write it again", r.key(), r.step),
            ));
        }
    }
    Ok(map)
}

pub(crate) fn abbreviate(list: &[String], max: usize) -> String {
    if list.len() <= max {
        list.join(", ")
    } else {
        format!("{}, ... ({} more)", list[..max].join(", "), list.len() - max)
    }
}

fn year_of(d: &ResultDir, step: u64) -> Option<f64> {
    d.summary.iter().find(|r| r.step == step).map(|r| r.year)
}

fn years_text(d: &ResultDir) -> String {
    let first = year_of(d, 0).unwrap_or(d.manifest.base_year);
    let last = year_of(d, d.manifest.steps).unwrap_or(d.manifest.horizon);
    format!(
        "from {} to {} (the horizon) in steps of {}",
        render::year_text(first),
        render::year_text(last),
        render::year_text(1.0 / d.manifest.steps_per_year)
    )
}

/// The step of A at year `y`, which B must have too.
fn find_step(a: &ResultDir, b: &ResultDir, y: f64, asked: bool) -> Result<u64, CompareError> {
    let Some(ra) = a.summary.iter().find(|r| year_key(r.year) == year_key(y)) else {
        let last = year_of(a, a.manifest.steps).unwrap_or(a.manifest.horizon);
        return Err(CompareError::BadYear {
            year: y,
            valid: format!("the years of A run {}; for example --year {}", years_text(a), render::year_text(last)),
        });
    };
    if !b.summary.iter().any(|r| year_key(r.year) == year_key(y)) {
        let what = if asked { format!("--year {}", render::year_text(y)) } else { "A's horizon".to_string() };
        return Err(CompareError::Mismatch(format!(
            "{what} ({}) is not a year of B, whose years run {}; give a year both results have with --year",
            render::year_text(y),
            years_text(b)
        )));
    }
    Ok(ra.step)
}

/// Why the runs of A and B cannot be paired; empty when they can.
fn unpairable(a: &ResultDir, b: &ResultDir) -> Vec<String> {
    let (ma, mb) = (&a.manifest, &b.manifest);
    let mut why = Vec::new();
    if ma.seed != mb.seed {
        why.push(format!("the seeds differ (A: {}, B: {})", ma.seed_text(), mb.seed_text()));
    }
    if ma.runs != mb.runs {
        why.push(format!("the run counts differ (A: {}, B: {})", ma.runs, mb.runs));
    }
    if ma.steps != mb.steps {
        why.push(format!("the step counts differ (A: {}, B: {})", ma.steps, mb.steps));
    }
    if ma.base_year != mb.base_year || ma.steps_per_year != mb.steps_per_year {
        why.push(format!(
            "the time grids differ (A: from {} with {} steps a year, B: from {} with {})",
            ma.base_year, ma.steps_per_year, mb.base_year, mb.steps_per_year
        ));
    }
    if ma.partners != mb.partners {
        why.push("the partners differ".into());
    }
    if ma.shard != mb.shard {
        why.push(format!("the shards differ (A: {}, B: {})", ma.shard, mb.shard));
    }
    for d in [a, b] {
        if d.runs_csv.is_none() {
            let side = if d.side == Side::A { "A" } else { "B" };
            why.push(if d.manifest.runs_table == Some(false) {
                format!("{side} has no runs.csv (it was run with --no-runs-table)")
            } else {
                format!("{side} has no runs.csv")
            });
        }
    }
    why
}

/// Why the rows of one result that have no partner in the other were left
/// out, as notes.
fn left_out_notes(this: &ResultDir, other: &ResultDir, which: &str, rows: &[&SummaryRow], notes: &mut Vec<String>) {
    let other_years: HashSet<i64> = other.summary.iter().map(|r| year_key(r.year)).collect();
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        let reason = if !other_years.contains(&year_key(r.year)) {
            format!(
                "year not in the other result ({} has {} steps a year, the other {})",
                which, this.manifest.steps_per_year, other.manifest.steps_per_year
            )
        } else if this.manifest.partners.contains(&r.subject) && !other.manifest.partners.contains(&r.subject) {
            format!("partner {} is only in {which}", r.subject)
        } else {
            "no such row in the other result's summary.csv".to_string()
        };
        by_reason.entry(reason).or_default().push(format!("{} at {}", r.key(), render::year_text(r.year)));
    }
    for (reason, list) in by_reason {
        notes.push(format!("{} row(s) of {which} left out, {reason}: {}", list.len(), abbreviate(&list, 5)));
    }
}

/// What was checked, for [`Comparison::checks`].
#[derive(Default)]
struct Checks {
    /// Sides whose summary.csv was checked against runs.csv.
    runs_csv: BTreeSet<&'static str>,
    /// Sides whose outcomes.csv was checked against runs.csv.
    outcomes: BTreeSet<&'static str>,
    /// Rows checked against the re-simulation of both (paired).
    resim: usize,
    /// Sides re-simulated on their own (unpaired).
    resim_sides: BTreeSet<&'static str>,
    /// Rows whose values are used unchecked, and why.
    unverified: usize,
    why: Vec<String>,
    total: usize,
}

impl Checks {
    fn unverified(&mut self, why: String) {
        self.unverified += 1;
        if !self.why.contains(&why) {
            self.why.push(why);
        }
    }

    fn sentence(&self) -> String {
        let sides = |set: &BTreeSet<&str>| {
            let v: Vec<&str> = set.iter().copied().collect();
            if v.len() == 2 { "A and B".to_string() } else { v.join("") }
        };
        let mut parts = Vec::new();
        if !self.runs_csv.is_empty() {
            parts.push(format!("at the horizon against runs.csv ({})", sides(&self.runs_csv)));
        }
        if self.resim > 0 {
            parts.push("at the other steps against a re-simulation of both scenarios".to_string());
        }
        if !self.resim_sides.is_empty() {
            parts.push(format!("before the horizon against a re-simulation of {}", sides(&self.resim_sides)));
        }
        let mut s = if parts.is_empty() {
            String::new()
        } else {
            format!("summary.csv checked bit for bit {}", parts.join(" and "))
        };
        if !self.outcomes.is_empty() {
            if !s.is_empty() {
                s.push_str("; ");
            }
            s.push_str(&format!("outcomes.csv checked against runs.csv ({})", sides(&self.outcomes)));
        }
        if self.unverified > 0 {
            if !s.is_empty() {
                s.push_str("; ");
            }
            s.push_str(&format!(
                "{} of {} compared rows unverified ({}): their summary.csv values are used as written",
                self.unverified,
                self.total,
                self.why.join("; ")
            ));
        }
        s
    }
}

/// Metrics that are 0/1 per run (a posture held, an event active) and
/// whose summary.csv moments are computed from the count of ones, not by
/// Welford's fold: mean k/n, sd sqrt(k (n - k) / (n (n - 1))).
const SHARE_METRICS: [&str; 2] = [POSTURE_SHARE, "event_active"];

/// The share of runs in each posture at each step (time-resolved outputs).
const POSTURE_SHARE: &str = "posture_share";

fn is_share(metric: &str) -> bool {
    SHARE_METRICS.contains(&metric)
}

/// The mean and sd of a 0/1 variable with `k` ones in `n` runs, as
/// summary.csv writes them.
fn bernoulli(k: u64, n: u64) -> (f64, Option<f64>) {
    let (kf, nf) = (k as f64, n as f64);
    let mean = if n > 0 { kf / nf } else { 0.0 };
    (mean, (n >= 2).then(|| (kf * (nf - kf) / (nf * (nf - 1.0))).sqrt()))
}

/// Check the mean and sd of `r` against cell `i` of `m`. `ones`, the runs
/// whose value is 1, checks a share metric; without it a share metric is
/// left unchecked (`Ok(false)`). `Ok(true)`: checked and equal.
fn check_cell(
    d: &ResultDir,
    r: &SummaryRow,
    m: &MomentBlock,
    i: usize,
    ones: Option<u64>,
    from: &str,
) -> Result<bool, CompareError> {
    let c = &m.cells[i];
    let (mean, sd) = match (is_share(&r.metric), ones) {
        (false, _) => (c.mean, m.variance(i).map(f64::sqrt)),
        (true, Some(k)) => bernoulli(k, m.n),
        (true, None) => return Ok(false),
    };
    let what = |q: &str| format!("the {q} of {} at year {} (step {})", r.key(), render::year_text(r.year), r.step);
    let text = |x: Option<f64>| x.map_or_else(|| "empty".to_string(), |v| format!("{v}"));
    let suspect = |q: &str, found: Option<f64>, expected: Option<f64>| {
        CompareError::suspect(d.path.join(load::SUMMARY), Some(r.line), &what(q), &text(found), &text(expected), from)
    };
    if mean.to_bits() != r.mean.to_bits() || m.n != r.n {
        return Err(suspect("mean", Some(r.mean), Some(mean)));
    }
    if sd.map(f64::to_bits) != r.sd.map(f64::to_bits) {
        return Err(suspect("sd", r.sd, sd));
    }
    Ok(true)
}

/// outcomes.csv's counts against the postures of runs.csv.
/// `Ok(false)`: runs.csv has no posture column, nothing was checked.
fn check_postures(d: &ResultDir, f: &SideFold) -> Result<bool, CompareError> {
    let Some(counted) = &f.postures else { return Ok(false) };
    let labels: BTreeSet<&str> =
        counted.keys().map(String::as_str).chain(d.outcomes.iter().map(|o| o.posture.as_str())).collect();
    for l in labels {
        let written = d.outcomes.iter().find(|o| o.posture == l).map_or(0, |o| o.count);
        let runs = counted.get(l).copied().unwrap_or(0);
        if written != runs {
            return Err(CompareError::suspect(
                d.path.join(load::OUTCOMES),
                None,
                &format!("the count of posture `{l}`"),
                &written.to_string(),
                &runs.to_string(),
                "the posture column of runs.csv",
            ));
        }
    }
    Ok(true)
}

fn row(r: &SummaryRow, n: (u64, u64), t: &TTest, means: (f64, f64), e: Effect, mode: Mode) -> (Row, Effect) {
    (
        Row {
            step: r.step,
            year: r.year,
            metric: r.metric.clone(),
            subject: r.subject.clone(),
            n_a: n.0,
            n_b: n.1,
            mean_a: means.0,
            mean_b: means.1,
            diff: t.diff,
            ci95_low: t.ci95.map(|c| c.0),
            ci95_high: t.ci95.map(|c| c.1),
            p_value: t.p_value,
            p_holm: None,
            hedges_g: e.value(),
            mode,
        },
        e,
    )
}

fn moments(r: &SummaryRow) -> Moments {
    Moments { n: r.n, mean: r.mean, sd: r.sd }
}

fn welch_row(ra: &SummaryRow, rb: &SummaryRow) -> (Row, Effect) {
    let (ma, mb) = (moments(ra), moments(rb));
    let t = stats::welch(&ma, &mb);
    row(ra, (ra.n, rb.n), &t, (ra.mean, rb.mean), stats::hedges_g(&ma, &mb), Mode::Welch)
}

/// A paired row from the moments of the run-by-run differences (cell `i`
/// of `diff`); the means are those of summary.csv (checked equal to the
/// fold of the same runs).
fn paired_row(ra: &SummaryRow, rb: &SummaryRow, diff: &MomentBlock, i: usize) -> (Row, Effect) {
    let cd = &diff.cells[i];
    let n = diff.n;
    let d = Moments { n, mean: cd.mean, sd: diff.variance(i).map(f64::sqrt) };
    let constant = (cd.min == cd.max).then_some(cd.min);
    let t = stats::one_sample_moments(&d, constant);
    let e = stats::hedges_g(&moments(ra), &moments(rb));
    row(ra, (n, n), &t, (ra.mean, rb.mean), e, Mode::Paired)
}

/// Posture labels in the order of outcomes.csv: `hedging`, `aligned:*` by
/// partner order, `dependent:*` by partner order, anything else last.
fn posture_order(label: &str, partners: &[String]) -> (u8, usize) {
    let pos = |id: &str| partners.iter().position(|p| p == id).unwrap_or(usize::MAX);
    if label == "hedging" {
        (0, 0)
    } else if let Some(id) = label.strip_prefix("aligned:") {
        (1, pos(id))
    } else if let Some(id) = label.strip_prefix("dependent:") {
        (2, pos(id))
    } else {
        (3, 0)
    }
}

fn posture_rows(
    a: &ResultDir,
    b: &ResultDir,
    joint: Option<&BTreeMap<(String, String), u64>>,
    filter: &Filter,
) -> Vec<PostureRow> {
    let mut labels: Vec<String> = Vec::new();
    let mut add = |l: &str| {
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_string());
        }
    };
    a.outcomes.iter().chain(&b.outcomes).for_each(|o| add(&o.posture));
    if let Some(j) = joint {
        j.keys().for_each(|(x, y)| {
            add(x);
            add(y);
        });
    }
    labels.sort_by_key(|l| posture_order(l, &a.manifest.partners));
    labels.retain(|l| filter.keeps_posture(l));

    let count = |d: &ResultDir, l: &str| d.outcomes.iter().find(|o| o.posture == l).map_or(0, |o| o.count);
    let mut out = Vec::new();
    for label in labels {
        let (test, mode, result, ca, na, cb, nb) = match joint {
            Some(j) => {
                let mut t = PairedTable::default();
                for ((x, y), &k) in j {
                    match (*x == label, *y == label) {
                        (true, true) => t.both += k,
                        (false, true) => t.b_only += k,
                        (true, false) => t.a_only += k,
                        (false, false) => t.neither += k,
                    }
                }
                let n = t.n();
                let r = stats::mcnemar_paired(&t);
                (PostureTest::McnemarExact, Mode::Paired, r, t.both + t.a_only, n, t.both + t.b_only, n)
            }
            None => {
                let (ca, na) = (count(a, &label), a.manifest.runs);
                let (cb, nb) = (count(b, &label), b.manifest.runs);
                (PostureTest::TwoProportionZ, Mode::Welch, stats::two_proportions(ca, na, cb, nb), ca, na, cb, nb)
            }
        };
        let Some(r) = result else { continue };
        out.push(PostureRow {
            posture: label,
            count_a: ca,
            n_a: na,
            share_a: r.p_a,
            count_b: cb,
            n_b: nb,
            share_b: r.p_b,
            diff: r.diff,
            ci95_low: r.ci95.map(|c| c.0),
            ci95_high: r.ci95.map(|c| c.1),
            p_value: r.p_value,
            p_holm: None,
            mode,
            test,
        });
    }
    out
}

fn mode_and_reason(
    a: &ResultDir,
    why_not: &[String],
    all_steps: bool,
    step: u64,
    year: f64,
    horizon_year: f64,
    resimulated: bool,
) -> (Mode, String) {
    let m = &a.manifest;
    if !why_not.is_empty() {
        return (
            Mode::Welch,
            format!(
                "{}, so the runs are independent samples: Welch's t on the summary statistics of summary.csv",
                why_not.join("; ")
            ),
        );
    }
    let same = format!(
        "both results have seed {}, {} runs, {} steps and the same partners, and both have runs.csv, so run i \
         of A and run i of B share their random streams",
        m.seed_text(),
        m.runs,
        m.steps
    );
    if resimulated {
        let other = if all_steps { "the other steps" } else { "this step" };
        let horizon = if all_steps || step == m.steps {
            format!("the horizon ({}) is compared run by run from runs.csv, and ", render::year_text(horizon_year))
        } else {
            String::new()
        };
        (
            Mode::Paired,
            format!("{same}: {horizon}{other} run by run by re-simulating both scenarios from their scenario.toml"),
        )
    } else if all_steps {
        (
            Mode::Paired,
            format!(
                "{same}: the horizon ({}) is compared run by run (paired t on runs.csv); runs.csv holds horizon \
                 values only, so the other steps use Welch's t on summary.csv",
                render::year_text(horizon_year)
            ),
        )
    } else if step == m.steps {
        (Mode::Paired, format!("{same}: differences are taken run by run (paired t on runs.csv)"))
    } else {
        (
            Mode::Welch,
            format!(
                "{same}, but runs.csv holds per-run values at the horizon ({}) only, so year {} is compared with \
                 Welch's t on summary.csv (omit --year for the paired test)",
                render::year_text(horizon_year),
                render::year_text(year)
            ),
        )
    }
}

fn info(d: &ResultDir) -> ResultInfo {
    ResultInfo {
        path: d.path.clone(),
        scenario: d.manifest.scenario.clone(),
        seed: d.manifest.seed.clone(),
        runs: d.manifest.runs,
    }
}

/// Rows of A and B matched by (year, metric, subject).
type Selected<'a> = Vec<(&'a SummaryRow, &'a SummaryRow)>;

/// (index in [`Selected`], side) of the values checked.
type Checked = HashSet<(usize, Side)>;

/// The rows of A kept by `keep`, each with its partner in B; the rows of
/// either without a partner are reported in `notes`.
fn select_rows<'a>(
    a: &'a ResultDir,
    b: &'a ResultDir,
    keep: &dyn Fn(&SummaryRow) -> bool,
    notes: &mut Vec<String>,
) -> Result<Selected<'a>, CompareError> {
    let (index_a, index_b) = (index(a)?, index(b)?);
    let find = |i: &HashMap<Key<'_>, &SummaryRow>, r: &SummaryRow| {
        i.contains_key(&(year_key(r.year), r.metric.as_str(), r.subject.as_str()))
    };
    let mut selected = Vec::new();
    let mut only_a = Vec::new();
    for ra in a.summary.iter().filter(|r| keep(r)) {
        match index_b.get(&(year_key(ra.year), ra.metric.as_str(), ra.subject.as_str())) {
            Some(rb) => selected.push((ra, *rb)),
            None => only_a.push(ra),
        }
    }
    let only_b: Vec<&SummaryRow> = b.summary.iter().filter(|r| keep(r) && !find(&index_a, r)).collect();
    left_out_notes(a, b, "A", &only_a, notes);
    left_out_notes(b, a, "B", &only_b, notes);
    Ok(selected)
}

/// The folds of runs.csv at the horizon: one of both in lockstep when
/// paired, else one per side that has runs.csv.
struct Horizon {
    pair: Option<HorizonFold>,
    a: Option<HorizonFold>,
    b: Option<HorizonFold>,
}

impl Horizon {
    fn read(
        a: &ResultDir,
        b: &ResultDir,
        selected: &Selected<'_>,
        paired: bool,
        postures: bool,
    ) -> Result<Horizon, CompareError> {
        let wanted = |d: &ResultDir| -> Vec<String> {
            let k = d.manifest.steps;
            selected.iter().map(|p| side_row(p, d.side)).filter(|r| r.step == k).map(SummaryRow::key).collect()
        };
        let (wa, wb) = (wanted(a), wanted(b));
        if paired && (!wa.is_empty() || postures) {
            let pair = fold::fold(Some(a), Some(b), &wa, true)?;
            return Ok(Horizon { pair: Some(pair), a: None, b: None });
        }
        let single = |d: &ResultDir, w: &[String]| -> Result<Option<HorizonFold>, CompareError> {
            if d.runs_csv.is_none() || (w.is_empty() && !postures) {
                return Ok(None);
            }
            let (x, y) = if d.side == Side::A { (Some(d), None) } else { (None, Some(d)) };
            fold::fold(x, y, w, false).map(Some)
        };
        Ok(Horizon { pair: None, a: single(a, &wa)?, b: single(b, &wb)? })
    }

    fn side(&self, side: Side) -> Option<(&HorizonFold, &SideFold)> {
        let hf = self.pair.as_ref().or(if side == Side::A { self.a.as_ref() } else { self.b.as_ref() })?;
        let sf = if side == Side::A { hf.a.as_ref() } else { hf.b.as_ref() }?;
        Some((hf, sf))
    }

    /// Check summary.csv (and outcomes.csv, with `postures`) of both sides
    /// against the folds. Returns the (row, side) checked and the columns
    /// runs.csv lacks.
    fn check(
        &self,
        a: &ResultDir,
        b: &ResultDir,
        selected: &Selected<'_>,
        postures: bool,
        checks: &mut Checks,
    ) -> Result<(Checked, Vec<String>), CompareError> {
        let from = "folding the runs of runs.csv as the engine does";
        let mut ok = HashSet::new();
        let mut missing: Vec<String> = Vec::new();
        for d in [a, b] {
            let Some((hf, sf)) = self.side(d.side) else { continue };
            for (i, p) in selected.iter().enumerate() {
                let r = side_row(p, d.side);
                if r.step != d.manifest.steps {
                    continue;
                }
                let Some(c) = hf.cell(&r.key()) else { continue };
                if check_cell(d, r, &sf.moments, c, sf.ones.get(c).copied(), from)? {
                    ok.insert((i, d.side));
                    checks.runs_csv.insert(side_name(d.side));
                }
            }
            if postures && check_postures(d, sf)? {
                checks.outcomes.insert(side_name(d.side));
            }
            for m in &hf.missing {
                if !missing.contains(m) {
                    missing.push(m.clone());
                }
            }
        }
        Ok((ok, missing))
    }
}

fn side_row<'a>(p: &(&'a SummaryRow, &'a SummaryRow), side: Side) -> &'a SummaryRow {
    if side == Side::A { p.0 } else { p.1 }
}

fn side_name(side: Side) -> &'static str {
    if side == Side::A { "A" } else { "B" }
}

const RESIM_FROM: &str = "re-simulating the scenario from its scenario.toml";

/// Paired: re-simulate both run by run and check every selected row it
/// records. Returns the re-simulation and the rows checked.
fn resim_paired(
    a: &ResultDir,
    b: &ResultDir,
    selected: &Selected<'_>,
    resim_why: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<(Option<resim::PairedSteps>, HashSet<usize>), CompareError> {
    let mut ok = HashSet::new();
    if !selected.iter().any(|(r, _)| r.step != a.manifest.steps) {
        return Ok((None, ok));
    }
    let p = match resim::resimulate(&a.path, &b.path) {
        Ok(p) => p,
        Err(why) => {
            notes.push(format!("steps before the horizon use Welch's t: {why}"));
            resim_why.push(why);
            return Ok((None, ok));
        }
    };
    for (i, (ra, rb)) in selected.iter().enumerate() {
        if let Some(c) = p.index(ra.step, &ra.key())
            && check_cell(a, ra, &p.a, c, None, RESIM_FROM)?
            && check_cell(b, rb, &p.b, c, None, RESIM_FROM)?
        {
            ok.insert(i);
        }
    }
    Ok((Some(p), ok))
}

/// Unpaired: re-simulate each side whose rows before its horizon are
/// compared, only to check them. Returns the (row, side) checked.
fn resim_each(
    sides: [&ResultDir; 2],
    selected: &Selected<'_>,
    checks: &mut Checks,
    resim_why: &mut Vec<String>,
) -> Result<Checked, CompareError> {
    let mut ok = HashSet::new();
    for d in sides {
        let before = |p: &(&SummaryRow, &SummaryRow)| side_row(p, d.side).step != d.manifest.steps;
        if !selected.iter().any(before) {
            continue;
        }
        let steps = match resim::resimulate_one(&d.path) {
            Ok(steps) => steps,
            Err(why) => {
                resim_why.push(why);
                continue;
            }
        };
        for (i, p) in selected.iter().enumerate().filter(|(_, p)| before(p)) {
            let r = side_row(p, d.side);
            if let Some(c) = steps.index(r.step, &r.key())
                && check_cell(d, r, &steps.moments, c, None, RESIM_FROM)?
            {
                ok.insert((i, d.side));
            }
        }
        checks.resim_sides.insert(side_name(d.side));
    }
    Ok(ok)
}

/// Sort metric rows: by step, then what the user asked for (or the trade
/// shares) first, then the largest effect first (an infinite one before
/// all). The sort is stable: ties keep file order.
fn sort_rows(rows: &mut [(Row, Effect, usize)]) {
    let effect_rank = |e: &Effect| match e {
        Effect::Infinite => (0, 0.0),
        Effect::G(g) => (1, -g.abs()),
        Effect::Undefined => (2, 0.0),
    };
    rows.sort_by(|(x, ex, px), (y, ey, py)| {
        let (rx, gx) = effect_rank(ex);
        let (ry, gy) = effect_rank(ey);
        x.step.cmp(&y.step).then(px.cmp(py)).then(rx.cmp(&ry)).then(gx.total_cmp(&gy))
    });
}

/// Compare A with B; p_holm is left for the caller.
pub(crate) fn compare_pair(a_path: &Path, b_path: &Path, opts: &CompareOptions) -> Result<Comparison, CompareError> {
    let a = load::load_dir(Side::A, a_path)?;
    let b = load::load_dir(Side::B, b_path)?;
    let (ka, kb) = (a.manifest.steps, b.manifest.steps);
    let horizon_year = year_of(&a, ka).unwrap_or(a.manifest.horizon);
    let target = if opts.all_steps { None } else { Some(opts.year.unwrap_or(horizon_year)) };
    let step = match target {
        Some(y) => find_step(&a, &b, y, opts.year.is_some())?,
        None => ka,
    };
    let year = year_of(&a, step).unwrap_or(f64::NAN);
    let filter = Filter::new(&opts.metrics, &a, &b)?;
    let horizon_b = year_of(&b, kb).unwrap_or(b.manifest.horizon);
    let same_horizon = year_key(horizon_year) == year_key(horizon_b);
    let postures_compared = (target.is_none() || step == ka) && same_horizon && filter.wants_postures();
    // posture_share at the horizon is what the posture rows test (McNemar
    // or z); unless asked for by name, it is not tested twice.
    let twice = |r: &SummaryRow| {
        postures_compared && r.metric == POSTURE_SHARE && year_key(r.year) == year_key(horizon_year) && !filter.names(r)
    };
    // Share metrics before the horizon cannot be checked: the re-simulation
    // that verifies earlier steps does not record postures or events.
    let unverifiable = |r: &SummaryRow| SHARE_METRICS.contains(&r.metric.as_str()) && r.step != ka;
    let keep = |r: &SummaryRow| {
        target.is_none_or(|y| year_key(r.year) == year_key(y)) && filter.keeps(r) && !twice(r) && !unverifiable(r)
    };
    let mut notes = Vec::new();
    if target.is_none() || step != ka {
        notes.push(
            "posture_share and event_active rows before the horizon are left out: the re-simulation that checks \
             earlier steps does not record postures or events, and unchecked values are not compared \
             (compare them at the horizon)"
                .to_string(),
        );
    }
    let selected = select_rows(&a, &b, &keep, &mut notes)?;
    let why_not = unpairable(&a, &b);
    let paired = why_not.is_empty();
    let mut checks = Checks { total: selected.len(), ..Checks::default() };

    // Check everything that can be checked before using it.
    let horizon = Horizon::read(&a, &b, &selected, paired, postures_compared)?;
    let (horizon_ok, missing) = horizon.check(&a, &b, &selected, postures_compared, &mut checks)?;
    if !missing.is_empty() {
        notes.push(format!(
            "runs.csv has no column for {}: compared with Welch's t on summary.csv instead",
            abbreviate(&missing, 5)
        ));
    }
    let mut resim_why: Vec<String> = Vec::new();
    let (resimulated, resim_ok) =
        if paired { resim_paired(&a, &b, &selected, &mut resim_why, &mut notes)? } else { (None, HashSet::new()) };
    let side_ok = if paired { HashSet::new() } else { resim_each([&a, &b], &selected, &mut checks, &mut resim_why)? };

    // Metric rows: paired from the folds of differences where there are
    // checked ones, else Welch.
    let diff_at_horizon = horizon.pair.as_ref().and_then(|f| Some((f, f.diff.as_ref()?)));
    let mut rows: Vec<(Row, Effect, usize)> = Vec::with_capacity(selected.len());
    for (i, (ra, rb)) in selected.iter().enumerate() {
        let from_runs = diff_at_horizon.and_then(|(f, d)| Some((d, f.cell(&ra.key())?)));
        let from_resim = resimulated
            .as_ref()
            .filter(|_| resim_ok.contains(&i))
            .and_then(|p| Some((&p.diff, p.index(ra.step, &ra.key())?)));
        let (r, e) = match (ra.step == ka, from_runs, from_resim) {
            (true, Some((d, c)), _) | (false, _, Some((d, c))) => paired_row(ra, rb, d, c),
            _ => welch_row(ra, rb),
        };
        let checked =
            |side: Side| resim_ok.contains(&i) || horizon_ok.contains(&(i, side)) || side_ok.contains(&(i, side));
        if resim_ok.contains(&i) && ra.step != ka {
            checks.resim += 1;
        }
        if !(checked(Side::A) && checked(Side::B)) {
            checks.unverified(unverified_reason(&a, &b, ra, rb, &resim_why, &missing));
        }
        rows.push((r, e, filter.rank(ra)));
    }
    sort_rows(&mut rows);

    // Posture rows (the horizon only).
    let mut postures = Vec::new();
    if postures_compared {
        let joint = horizon.pair.as_ref().and_then(|f| f.joint.as_ref());
        if paired && joint.is_none() {
            notes.push("runs.csv has no posture column, so postures are compared as independent samples".into());
        }
        postures = posture_rows(&a, &b, joint, &filter);
    } else if filter.wants_postures() && !same_horizon {
        notes.push(format!(
            "posture frequencies are recorded at each result's horizon only (A: {}, B: {}), so they are not \
             compared",
            render::year_text(horizon_year),
            render::year_text(horizon_b)
        ));
    } else if filter.wants_postures() {
        notes.push(format!(
            "posture frequencies are recorded at the horizon ({}) only, so they are not compared at year {}",
            render::year_text(horizon_year),
            render::year_text(year)
        ));
    }
    if a.summary.iter().chain(&b.summary).any(|r| twice(r) && filter.keeps(r)) {
        notes.push(format!(
            "posture_share at the horizon ({}) is compared as posture frequencies below, not twice (ask for \
             `--metric posture_share` to see it as a metric)",
            render::year_text(horizon_year)
        ));
    }
    if rows.is_empty() && postures.is_empty() {
        return Err(CompareError::Mismatch("the two results have no metric in common at the compared years".into()));
    }

    let (mode, reason) = mode_and_reason(&a, &why_not, opts.all_steps, step, year, horizon_year, resimulated.is_some());
    Ok(Comparison {
        a: info(&a),
        b: info(&b),
        step,
        year,
        all_steps: opts.all_steps,
        horizon_step: ka,
        horizon_year,
        mode,
        reason,
        checks: checks.sentence(),
        rows: rows.into_iter().map(|(r, _, _)| r).collect(),
        postures,
        tests: 0,
        notes,
    })
}

/// Why the values of a compared row could not be checked, in words.
fn unverified_reason(
    a: &ResultDir,
    b: &ResultDir,
    ra: &SummaryRow,
    rb: &SummaryRow,
    resim_why: &[String],
    missing: &[String],
) -> String {
    let at_horizon = ra.step == a.manifest.steps && rb.step == b.manifest.steps;
    if at_horizon {
        for d in [a, b] {
            if d.runs_csv.is_none() {
                let side = if d.side == Side::A { "A" } else { "B" };
                return format!("{side} has no runs.csv");
            }
        }
        if missing.contains(&ra.key()) {
            return "runs.csv has no column for some rows".into();
        }
        return "runs.csv cannot check this metric".into();
    }
    if !resim_why.is_empty() {
        return format!("re-simulation not possible: {}", resim_why.join("; "));
    }
    "the re-simulation does not record this metric".into()
}
