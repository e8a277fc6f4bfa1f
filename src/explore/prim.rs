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
    while opts.paste
        && let Some((obj, new_idx, new_limits)) = data.best(&idx, paste_candidates(&data, &limits, opts.paste_alpha))
    {
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
}
