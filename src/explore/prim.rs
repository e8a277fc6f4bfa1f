//! Scenario discovery with PRIM, the Patient Rule Induction Method
//! (Friedman and Fisher 1999, "Bump hunting in high-dimensional data",
//! Statistics and Computing 9, 123-143), as EMA Workbench's
//! `ema_workbench.analysis.prim.Prim` runs it on continuous inputs with a
//! binary outcome (Bryant and Lempert 2010).
//!
//! Input: points `x` (rows, one column per parameter) and a boolean `y`
//! (the case of interest: for example "dependent on China in more than half
//! of the runs"). The box starts as the bounding box of the data.
//!
//! - **Peeling.** For every parameter two candidates: raise the lower limit
//!   to the `peel_alpha` quantile of the points still in the box, or lower
//!   the upper limit to the `1 - peel_alpha` quantile (EMA's `get_quantile`,
//!   which steps over ties so a peel always removes points). Each candidate
//!   is scored by EMA's default "lenient 1" objective: the gain in the mean
//!   of y divided by the number of points removed; ties go to the candidate
//!   that leaves more parameters unrestricted, then to the first in order
//!   (parameters in column order, upper before lower, as EMA). The best
//!   candidate is taken while its mass stays >= `mass_min`, it removes
//!   points and its objective is > 0. Every accepted box is one step of the
//!   peeling trajectory.
//! - **Pasting** (optional, on by default as in EMA): for every restricted
//!   parameter, widen one limit to the `paste_alpha` quantile of the points
//!   just outside it; taken while mass grows, mass >= `mass_min`, the
//!   objective is > 0 and the mean of y rises. Pasting steps are appended to
//!   the trajectory.
//! - **Trajectory** per step: coverage (share of all cases of interest that
//!   fall in the box), density (share of the box's points that are cases of
//!   interest), mass (share of all points in the box), and the number of
//!   restricted parameters.
//! - **Choosing a box.** EMA leaves the choice to the analyst
//!   (`inspect_tradeoff`). Our documented default, [`Selection::default`]:
//!   the step of highest coverage among those with density >= `threshold`
//!   (0.8, the density EMA's examples ask for); if no step reaches it, the
//!   step of highest density (and [`PrimResult::threshold_met`] is false).
//!   Ties go to the earlier step (fewer restrictions).
//!
//! Only the first box is found (EMA's first `find_box()`); that is the
//! box an analyst reads first and the one the report states in words.

use std::fmt::Write as _;

/// PRIM settings, with EMA Workbench's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrimOptions {
    pub peel_alpha: f64,
    pub paste_alpha: f64,
    pub mass_min: f64,
    pub paste: bool,
    pub selection: Selection,
}

impl Default for PrimOptions {
    fn default() -> Self {
        Self { peel_alpha: 0.05, paste_alpha: 0.05, mass_min: 0.05, paste: true, selection: Selection::default() }
    }
}

/// How the reported box is chosen from the trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// Highest coverage among steps with density >= threshold; else highest
    /// density.
    DensityThreshold(f64),
    /// Highest density among steps with coverage >= the given minimum.
    MinCoverage(f64),
    /// The last step of the trajectory (the smallest box).
    Last,
}

impl Default for Selection {
    fn default() -> Self {
        Selection::DensityThreshold(0.8)
    }
}

/// Lower and upper limit of one parameter in a box.
pub type Limits = (f64, f64);

/// One box of the peeling and pasting trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Share of all cases of interest inside the box.
    pub coverage: f64,
    /// Share of the box's points that are cases of interest.
    pub density: f64,
    /// Share of all points inside the box.
    pub mass: f64,
    /// Points inside the box.
    pub n: usize,
    /// Cases of interest inside the box.
    pub k: usize,
    /// Parameters whose limits differ from the data's bounding box.
    pub restricted: usize,
    /// Limits per parameter.
    pub limits: Vec<Limits>,
    /// True for steps added by pasting.
    pub pasted: bool,
}

/// The trajectory and the chosen box.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimResult {
    /// Step 0 is the bounding box of the data.
    pub trajectory: Vec<Step>,
    /// Index of the chosen step.
    pub chosen: usize,
    /// Whether the chosen step met the selection's threshold.
    pub threshold_met: bool,
    /// The bounding box of the data (the unrestricted limits).
    pub bounds: Vec<Limits>,
}

impl PrimResult {
    pub fn chosen_box(&self) -> &Step {
        &self.trajectory[self.chosen]
    }
}

/// Why PRIM cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrimError {
    #[error("PRIM needs points: x has {x} rows and y {y}")]
    Shape { x: usize, y: usize },
    #[error("row {0} of x has a different number of columns or a value that is not finite")]
    Row(usize),
    #[error("{0} must lie in (0, 0.5), not {1}")]
    Alpha(&'static str, f64),
    #[error("mass_min must lie in [0, 1), not {0}")]
    MassMin(f64),
}

/// EMA Workbench's `get_quantile` (modelled on sdtoolkit): the quantile
/// position (n - 1) q of the sorted data, moved past ties and averaged with
/// its neighbour so the limit falls between two distinct values.
pub fn get_quantile(data: &[f64], quantile: f64) -> f64 {
    let mut sorted = data.to_vec();
    sorted.sort_by(f64::total_cmp);
    let i = (sorted.len() - 1) as f64 * quantile;
    let (mut lo, mut hi) = (i.floor() as usize, i.ceil() as usize);
    if quantile > 0.5 {
        while sorted[lo] == sorted[hi] && lo > 0 {
            lo -= 1;
        }
    } else {
        while sorted[lo] == sorted[hi] && hi < sorted.len() - 1 {
            hi += 1;
        }
    }
    (sorted[lo] + sorted[hi]) / 2.0
}

struct Data<'a> {
    x: &'a [Vec<f64>],
    y: &'a [bool],
    bounds: Vec<Limits>,
    total_coi: usize,
}

impl Data<'_> {
    fn in_box(&self, i: usize, limits: &[Limits]) -> bool {
        self.x[i].iter().zip(limits).all(|(v, (lo, hi))| lo <= v && v <= hi)
    }

    fn mean(&self, idx: &[usize]) -> f64 {
        if idx.is_empty() { 0.0 } else { self.coi(idx) as f64 / idx.len() as f64 }
    }

    fn coi(&self, idx: &[usize]) -> usize {
        idx.iter().filter(|&&i| self.y[i]).count()
    }

    fn restricted(&self, limits: &[Limits]) -> usize {
        limits.iter().zip(&self.bounds).filter(|(l, b)| l != b).count()
    }

    fn step(&self, idx: &[usize], limits: Vec<Limits>, pasted: bool) -> Step {
        let k = self.coi(idx);
        Step {
            coverage: k as f64 / self.total_coi.max(1) as f64,
            density: if idx.is_empty() { 0.0 } else { k as f64 / idx.len() as f64 },
            mass: idx.len() as f64 / self.x.len() as f64,
            n: idx.len(),
            k,
            restricted: self.restricted(&limits),
            limits,
            pasted,
        }
    }

    /// EMA's "lenient 1" objective: gain in mean per point removed (or added).
    fn objective(&self, old: &[usize], new: &[usize]) -> f64 {
        let (m_old, m_new) = (self.mean(old), self.mean(new));
        if m_old == m_new || old.len() == new.len() {
            return 0.0;
        }
        (m_new - m_old) / old.len().abs_diff(new.len()) as f64
    }

    /// The best candidate: highest objective, then most unrestricted
    /// parameters, then first in order.
    fn best(
        &self,
        old: &[usize],
        candidates: Vec<(Vec<usize>, Vec<Limits>)>,
    ) -> Option<(f64, Vec<usize>, Vec<Limits>)> {
        let mut best: Option<(f64, usize, Vec<usize>, Vec<Limits>)> = None;
        for (idx, limits) in candidates {
            let obj = self.objective(old, &idx);
            let free = self.bounds.len() - self.restricted(&limits);
            if best.as_ref().is_none_or(|(o, f, _, _)| obj > *o || (obj == *o && free > *f)) {
                best = Some((obj, free, idx, limits));
            }
        }
        best.map(|(obj, _, idx, limits)| (obj, idx, limits))
    }
}

fn peel_candidates(data: &Data<'_>, idx: &[usize], limits: &[Limits], alpha: f64) -> Vec<(Vec<usize>, Vec<Limits>)> {
    let mut out = Vec::new();
    for j in 0..limits.len() {
        let column: Vec<f64> = idx.iter().map(|&i| data.x[i][j]).collect();
        let upper = get_quantile(&column, 1.0 - alpha);
        let mut l = limits.to_vec();
        l[j].1 = upper;
        out.push((idx.iter().copied().filter(|&i| data.x[i][j] <= upper).collect(), l));
        let lower = get_quantile(&column, alpha);
        let mut l = limits.to_vec();
        l[j].0 = lower;
        out.push((idx.iter().copied().filter(|&i| data.x[i][j] >= lower).collect(), l));
    }
    out
}

fn paste_candidates(data: &Data<'_>, limits: &[Limits], alpha: f64) -> Vec<(Vec<usize>, Vec<Limits>)> {
    let all = 0..data.x.len();
    let mut out = Vec::new();
    for j in 0..limits.len() {
        if limits[j] == data.bounds[j] {
            continue;
        }
        let (min, max) = data.bounds[j];
        for lower in [true, false] {
            let mut slab = limits.to_vec();
            slab[j] = if lower { (min, limits[j].0) } else { (limits[j].1, max) };
            let values: Vec<f64> = all.clone().filter(|&i| data.in_box(i, &slab)).map(|i| data.x[i][j]).collect();
            let mut l = limits.to_vec();
            if lower {
                l[j].0 = if values.is_empty() { min } else { get_quantile(&values, 1.0 - alpha) };
            } else {
                l[j].1 = if values.is_empty() { max } else { get_quantile(&values, alpha) };
            }
            out.push((all.clone().filter(|&i| data.in_box(i, &l)).collect(), l));
        }
    }
    out
}

fn check(x: &[Vec<f64>], y: &[bool], opts: &PrimOptions) -> Result<(), PrimError> {
    if x.is_empty() || x.len() != y.len() {
        return Err(PrimError::Shape { x: x.len(), y: y.len() });
    }
    let k = x[0].len();
    if let Some(row) = x.iter().position(|r| r.len() != k || r.iter().any(|v| !v.is_finite())) {
        return Err(PrimError::Row(row));
    }
    for (name, a) in [("peel_alpha", opts.peel_alpha), ("paste_alpha", opts.paste_alpha)] {
        if !(a > 0.0 && a < 0.5) {
            return Err(PrimError::Alpha(name, a));
        }
    }
    if !(0.0..1.0).contains(&opts.mass_min) {
        return Err(PrimError::MassMin(opts.mass_min));
    }
    Ok(())
}

/// Runs PRIM on points `x` (rows) with cases of interest `y`.
pub fn prim(x: &[Vec<f64>], y: &[bool], opts: &PrimOptions) -> Result<PrimResult, PrimError> {
    check(x, y, opts)?;
    let k = x[0].len();
    let bounds: Vec<Limits> = (0..k)
        .map(|j| x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r[j]), hi.max(r[j]))))
        .collect();
    let data = Data { x, y, bounds: bounds.clone(), total_coi: y.iter().filter(|&&b| b).count() };
    let n = x.len() as f64;
    let mut idx: Vec<usize> = (0..x.len()).collect();
    let mut limits = bounds.clone();
    let mut trajectory = vec![data.step(&idx, limits.clone(), false)];
    while let Some((obj, new_idx, new_limits)) = data.best(&idx, peel_candidates(&data, &idx, &limits, opts.peel_alpha))
    {
        let (mass_old, mass_new) = (idx.len() as f64 / n, new_idx.len() as f64 / n);
        if !(mass_new >= opts.mass_min && mass_new < mass_old && obj > 0.0) {
            break;
        }
        (idx, limits) = (new_idx, new_limits);
        trajectory.push(data.step(&idx, limits.clone(), false));
    }
    let paste_step = |idx: &[usize], limits: &[Limits]| {
        if opts.paste { data.best(idx, paste_candidates(&data, limits, opts.paste_alpha)) } else { None }
    };
    while let Some((obj, new_idx, new_limits)) = paste_step(&idx, &limits) {
        let (mass_old, mass_new) = (idx.len() as f64 / n, new_idx.len() as f64 / n);
        if !(mass_new >= opts.mass_min && mass_new > mass_old && obj > 0.0 && data.mean(&new_idx) > data.mean(&idx)) {
            break;
        }
        (idx, limits) = (new_idx, new_limits);
        trajectory.push(data.step(&idx, limits.clone(), true));
    }
    let (chosen, threshold_met) = select(&trajectory, opts.selection);
    Ok(PrimResult { trajectory, chosen, threshold_met, bounds })
}

/// The step chosen by `rule` (see [`Selection`]), and whether its
/// threshold was met.
pub fn select(trajectory: &[Step], rule: Selection) -> (usize, bool) {
    let argmax = |ok: &dyn Fn(&Step) -> bool, key: &dyn Fn(&Step) -> f64| {
        trajectory
            .iter()
            .enumerate()
            .filter(|(_, s)| ok(s))
            .fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
                Some((_, v)) if key(s) <= v => best,
                _ => Some((i, key(s))),
            })
            .map(|(i, _)| i)
    };
    let highest_density = || argmax(&|_| true, &|s| s.density).unwrap_or(0);
    match rule {
        Selection::DensityThreshold(t) => match argmax(&|s| s.density >= t, &|s| s.coverage) {
            Some(i) => (i, true),
            None => (highest_density(), false),
        },
        Selection::MinCoverage(c) => match argmax(&|s| s.coverage >= c, &|s| s.density) {
            Some(i) => (i, true),
            None => (0, false),
        },
        Selection::Last => (trajectory.len().saturating_sub(1), true),
    }
}

/// A number in a short readable form (4 significant digits).
fn short(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    } else {
        format!("{v:.3e}")
    }
}

/// The restrictions of a box in words, one clause per restricted parameter
/// (`name > a`, `name < b`, `a < name < b`), joined by "and"; "no
/// restriction" for the unrestricted box.
pub fn describe_limits(step: &Step, bounds: &[Limits], names: &[String]) -> String {
    let clauses: Vec<String> = step
        .limits
        .iter()
        .zip(bounds)
        .zip(names)
        .filter_map(|(((lo, hi), (blo, bhi)), name)| match (lo != blo, hi != bhi) {
            (true, true) => Some(format!("{} < {name} < {}", short(*lo), short(*hi))),
            (true, false) => Some(format!("{name} > {}", short(*lo))),
            (false, true) => Some(format!("{name} < {}", short(*hi))),
            (false, false) => None,
        })
        .collect();
    if clauses.is_empty() { "no restriction".to_string() } else { clauses.join(" and ") }
}

/// The chosen box in a sentence, e.g. "`dependent on China` in 83% of
/// points when a > 0.041 and b < 0.3; covers 71% of such cases (12% of all
/// points)". `case` names the case of interest.
pub fn describe_box(result: &PrimResult, names: &[String], case: &str) -> String {
    let step = result.chosen_box();
    let mut s = format!(
        "{case} in {:.0}% of points when {}; covers {:.0}% of such cases ({:.0}% of all points)",
        100.0 * step.density,
        describe_limits(step, &result.bounds, names),
        100.0 * step.coverage,
        100.0 * step.mass
    );
    if !result.threshold_met {
        let _ = write!(s, "; no box reached the density threshold, so this is the densest box found");
    }
    s
}

/// One row of `discovery.csv`: a step of the trajectory and one
/// parameter's limits in its box (see `docs/explore.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryRow<'a> {
    pub step: usize,
    /// `start`, `peel` or `paste`.
    pub phase: &'static str,
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    pub n: usize,
    pub cases: usize,
    pub restricted: usize,
    pub chosen: bool,
    pub parameter: &'a str,
    pub low: f64,
    pub high: f64,
    pub is_restricted: bool,
}

/// The rows of `discovery.csv`, step-major, parameters in order.
pub fn trajectory_rows<'a>(result: &PrimResult, names: &'a [String]) -> Vec<TrajectoryRow<'a>> {
    let mut rows = Vec::with_capacity(result.trajectory.len() * names.len());
    for (i, step) in result.trajectory.iter().enumerate() {
        let phase = match (i, step.pasted) {
            (0, _) => "start",
            (_, false) => "peel",
            (_, true) => "paste",
        };
        for ((name, &(low, high)), bound) in names.iter().zip(&step.limits).zip(&result.bounds) {
            rows.push(TrajectoryRow {
                step: i,
                phase,
                coverage: step.coverage,
                density: step.density,
                mass: step.mass,
                n: step.n,
                cases: step.k,
                restricted: step.restricted,
                chosen: i == result.chosen,
                parameter: name,
                low,
                high,
                is_restricted: (low, high) != *bound,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::design::latin_hypercube;

    fn names() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quantile_steps_over_ties() {
        assert_eq!(get_quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.5);
        assert_eq!(get_quantile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.3), 2.5);
        assert_eq!(get_quantile(&[1.0, 1.0, 1.0, 4.0, 5.0], 0.25), 2.5);
        assert_eq!(get_quantile(&[1.0, 2.0, 5.0, 5.0, 5.0], 0.75), 3.5);
        assert_eq!(get_quantile(&[7.0], 0.05), 7.0);
    }

    /// A known box: y is true when a > 0.6 and b < 0.3 (c irrelevant).
    #[test]
    fn finds_a_known_box() {
        let x = latin_hypercube(2000, 3, 4);
        let y: Vec<bool> = x.iter().map(|p| p[0] > 0.6 && p[1] < 0.3).collect();
        let strict = PrimOptions { selection: Selection::DensityThreshold(0.95), ..PrimOptions::default() };
        let r = prim(&x, &y, &strict).unwrap();
        let b = r.chosen_box();
        assert!(r.threshold_met);
        assert!(b.density > 0.9 && b.coverage > 0.8, "density {} coverage {}", b.density, b.coverage);
        assert_eq!(b.restricted, 2);
        assert!((b.limits[0].0 - 0.6).abs() < 0.05, "{:?}", b.limits);
        assert!((b.limits[1].1 - 0.3).abs() < 0.05, "{:?}", b.limits);
        assert_eq!(b.limits[2], r.bounds[2]);
        // The trajectory starts with everything and shrinks while peeling.
        let t = &r.trajectory;
        assert_eq!((t[0].mass, t[0].coverage, t[0].restricted), (1.0, 1.0, 0));
        assert!(t.windows(2).filter(|w| !w[1].pasted).all(|w| w[1].mass < w[0].mass));
        assert!(t.iter().all(|s| s.mass >= 0.05));
        // The default rule takes the widest box with density >= 0.8.
        let loose = prim(&x, &y, &PrimOptions::default()).unwrap();
        let l = loose.chosen_box();
        assert!(l.density >= 0.8 && l.coverage >= b.coverage && l.mass >= b.mass);
        let words = describe_box(&r, &names(), "y");
        let param_names = names();
        let rows = trajectory_rows(&r, &param_names);
        assert_eq!(rows.len(), 3 * r.trajectory.len());
        assert_eq!(rows[0].phase, "start");
        assert_eq!(rows.iter().filter(|row| row.chosen && row.is_restricted).count(), 2);
        assert!(words.contains("when a > 0.") && words.contains(" and b < 0.") && !words.contains(" c "), "{words}");
    }

    #[test]
    fn selection_rules() {
        let step = |coverage, density| Step {
            coverage,
            density,
            mass: 0.5,
            n: 10,
            k: 5,
            restricted: 0,
            limits: vec![],
            pasted: false,
        };
        let t = vec![step(1.0, 0.2), step(0.9, 0.6), step(0.7, 0.85), step(0.4, 0.95)];
        assert_eq!(select(&t, Selection::DensityThreshold(0.8)), (2, true));
        assert_eq!(select(&t, Selection::DensityThreshold(0.99)), (3, false));
        assert_eq!(select(&t, Selection::MinCoverage(0.8)), (1, true));
        assert_eq!(select(&t, Selection::Last), (3, true));
    }

    #[test]
    fn no_cases_of_interest_gives_the_unrestricted_box() {
        let x = latin_hypercube(100, 2, 1);
        let r = prim(&x, &[false; 100], &PrimOptions::default()).unwrap();
        assert_eq!(r.trajectory.len(), 1);
        assert_eq!(describe_limits(r.chosen_box(), &r.bounds, &names()), "no restriction");
    }

    #[test]
    fn rejects_bad_input() {
        let o = PrimOptions::default();
        assert!(matches!(prim(&[], &[], &o), Err(PrimError::Shape { .. })));
        assert!(matches!(prim(&[vec![1.0], vec![1.0, 2.0]], &[true, false], &o), Err(PrimError::Row(1))));
        assert!(matches!(prim(&[vec![f64::NAN]], &[true], &o), Err(PrimError::Row(0))));
        let bad = PrimOptions { peel_alpha: 0.6, ..o };
        assert!(matches!(prim(&[vec![1.0]], &[true], &bad), Err(PrimError::Alpha("peel_alpha", _))));
    }

    #[test]
    fn short_numbers_read_well() {
        assert_eq!(short(0.041), "0.041");
        assert_eq!(short(0.3), "0.3");
        assert_eq!(short(1234.5678), "1235");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(1.5e-5), "1.500e-5");
    }

    /// EMA Workbench 2.5.3 `Prim(x, y).find_box()` on a deterministic data
    /// set (Kronecker points, a known box, label noise), printed by
    /// scripts/ema-prim-reference.py: the same trajectory step for step.
    /// Coverage, density, mass, restricted dimensions, limits.
    type EmaStep = (f64, f64, f64, usize, [(f64, f64); 3]);

    #[test]
    #[allow(clippy::approx_constant)] // a mass of 0.318 is data, not 1/pi
    fn reproduces_ema_workbench_trajectory() {
        #[rustfmt::skip]
        let ema: [EmaStep; 42] = [
        (1.0, 0.203, 1.0, 0, [(0.0010821825626976533, 0.9996863222880847), (0.0007954174250812684, 0.999383328773547), (0.0007331374358727771, 0.9995468961462848)]),
        (0.9753694581280788, 0.20842105263157895, 0.95, 1, [(0.04916091489229757, 0.9996863222880847), (0.0007954174250812684, 0.999383328773547), (0.0007331374358727771, 0.9995468961462848)]),
        (0.9507389162561576, 0.2139689578713969, 0.902, 1, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.999383328773547), (0.0007331374358727771, 0.9995468961462848)]),
        (0.9310344827586207, 0.2207943925233645, 0.856, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.9503668751512038), (0.0007331374358727771, 0.9995468961462848)]),
        (0.9064039408866995, 0.22632226322263221, 0.813, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.9034685545061762), (0.0007331374358727771, 0.9995468961462848)]),
        (0.8916256157635468, 0.2344559585492228, 0.772, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.8565702338611345), (0.0007331374358727771, 0.9995468961462848)]),
        (0.8669950738916257, 0.24010914051841747, 0.733, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.8162452746619095), (0.0007331374358727771, 0.9995468961462848)]),
        (0.8472906403940886, 0.2471264367816092, 0.696, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.7741998911979096), (0.0007331374358727771, 0.9995468961462848)]),
        (0.8275862068965517, 0.25416036308623297, 0.661, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.7342726407112252), (0.0007331374358727771, 0.9995468961462848)]),
        (0.8177339901477833, 0.2647527910685805, 0.627, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.6988006186930718), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7980295566502463, 0.2722689075630252, 0.595, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.6637263053874278), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7832512315270936, 0.2814159292035398, 0.565, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.6303724163465461), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7635467980295566, 0.2891791044776119, 0.536, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.598032907244658), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7536945812807881, 0.3005893909626719, 0.509, 2, [(0.09669855594052024, 0.9996863222880847), (0.0007954174250812684, 0.5667971511810777), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7389162561576355, 0.3105590062111801, 0.483, 2, [(0.14493412712611686, 0.9996863222880847), (0.0007954174250812684, 0.5667971511810777), (0.0007331374358727771, 0.9995468961462848)]),
        (0.729064039408867, 0.3231441048034934, 0.458, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.5667971511810777), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7192118226600985, 0.335632183908046, 0.435, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.5400166235859984), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7142857142857143, 0.35108958837772397, 0.413, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.5115156717261442), (0.0007331374358727771, 0.9995468961462848)]),
        (0.7044334975369458, 0.3647959183673469, 0.392, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.4858388971693728), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6945812807881774, 0.3790322580645161, 0.372, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.4607787938390686), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6896551724137931, 0.39660056657223797, 0.353, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.4365141079338173), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6748768472906403, 0.408955223880597, 0.335, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.41458651751982245), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6699507389162561, 0.4276729559748428, 0.318, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.39235059149255136), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6600985221674877, 0.44370860927152317, 0.302, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.37254113405579403), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6502463054187192, 0.46153846153846156, 0.286, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.3534377209448536), (0.0007331374358727771, 0.9995468961462848)]),
        (0.645320197044335, 0.4833948339483395, 0.271, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.33605473209865266), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6354679802955665, 0.5019455252918288, 0.257, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.31624527466190955), (0.0007331374358727771, 0.9995468961462848)]),
        (0.625615763546798, 0.5204918032786885, 0.244, 2, [(0.19301285945573454, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6059113300492611, 0.5324675324675324, 0.231, 2, [(0.23149309814792218, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.6009852216748769, 0.5570776255707762, 0.219, 2, [(0.2740746535214953, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5911330049261084, 0.5769230769230769, 0.208, 2, [(0.3095357580949951, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5862068965517241, 0.6040609137055838, 0.197, 2, [(0.34747490550586235, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5862068965517241, 0.6363636363636364, 0.187, 2, [(0.37356493001135505, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5812807881773399, 0.6666666666666666, 0.177, 2, [(0.413825281403561, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5812807881773399, 0.7023809523809523, 0.168, 2, [(0.4382920320650232, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5812807881773399, 0.7421383647798742, 0.159, 2, [(0.4776976144639207, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5763546798029556, 0.7748344370860927, 0.151, 2, [(0.49984316114403526, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5763546798029556, 0.8181818181818182, 0.143, 2, [(0.5266311157868415, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5665024630541872, 0.8518518518518519, 0.135, 2, [(0.5546580918482888, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5615763546798029, 0.890625, 0.128, 2, [(0.5736276655537687, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5566502463054187, 0.9338842975206612, 0.121, 2, [(0.6016546416152266, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        (0.5369458128078818, 0.956140350877193, 0.114, 2, [(0.6252666232833803, 0.9996863222880847), (0.0007954174250812684, 0.3012887544062366), (0.0007331374358727771, 0.9995468961462848)]),
        ];
        let a = [0.7548776662466927, 0.5698402909980532, 0.6180339887498949];
        let frac = |v: f64| v - v.floor();
        let x: Vec<Vec<f64>> = (0..1000).map(|i| a.iter().map(|a| frac((i + 1) as f64 * a)).collect()).collect();
        let y: Vec<bool> = x
            .iter()
            .enumerate()
            .map(|(i, p)| (p[0] > 0.6 && p[1] < 0.3) != (frac((i + 1) as f64 * 0.1234567) < 0.1))
            .collect();
        assert_eq!(y.iter().filter(|&&b| b).count(), 203);
        let r = prim(&x, &y, &PrimOptions::default()).unwrap();
        assert_eq!(r.trajectory.len(), ema.len());
        for (i, (step, (coverage, density, mass, restricted, limits))) in r.trajectory.iter().zip(ema).enumerate() {
            assert!((step.coverage - coverage).abs() < 1e-12, "step {i}: coverage");
            assert!((step.density - density).abs() < 1e-12, "step {i}: density");
            assert!((step.mass - mass).abs() < 1e-12, "step {i}: mass");
            assert_eq!(step.restricted, restricted, "step {i}");
            for (got, want) in step.limits.iter().zip(limits) {
                assert!(
                    (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-12,
                    "step {i}: {got:?} vs {want:?}"
                );
            }
        }
    }
}
