//! The tables of `hedgesim score`: `score.csv` (one row per observation),
//! `score_overall.csv` (per metric and over all shares), `score.md` (both,
//! for people) and `score.json`. Formats produce text and do no I/O.
//!
//! CSV numbers use Rust's shortest round-trip formatting (as every other
//! hedgesim table); an empty field means "undefined" (no reference
//! forecast, or an exact reference so no skill score).

use std::fmt::Write;

use super::{Overall, ReferenceScore, Score};

const ROW_HEADER: &str = "year,metric,subject,observed,method,n,mean,median,error,percentile,lo50,hi50,in50,lo90,hi90,in90,crps,persistence,persistence_abs_error,crps_skill_persistence,trend,trend_abs_error,crps_skill_trend";

const OVERALL_HEADER: &str = "scope,n,mae,mean_crps,coverage50,coverage90,persistence_n,persistence_model_mae,persistence_model_crps,persistence_mae,mae_skill_persistence,crps_skill_persistence,trend_n,trend_model_mae,trend_model_crps,trend_mae,mae_skill_trend,crps_skill_trend";

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

/// `score.csv`.
pub fn rows_csv(s: &Score) -> String {
    let mut out = format!("{ROW_HEADER}\n");
    for r in &s.rows {
        let abs = |v: Option<f64>| v.map(|x| (x - r.observed).abs());
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.year,
            r.metric,
            r.subject,
            r.observed,
            r.method.as_str(),
            r.n,
            r.mean,
            r.median,
            r.error,
            r.percentile,
            r.lo50,
            r.hi50,
            r.in50,
            r.lo90,
            r.hi90,
            r.in90,
            r.crps,
            opt(r.persistence),
            opt(abs(r.persistence)),
            opt(r.skill_persistence),
            opt(r.trend),
            opt(abs(r.trend)),
            opt(r.skill_trend)
        );
    }
    out
}

fn reference_fields(r: &Option<ReferenceScore>) -> String {
    match r {
        None => ",,,,,".to_string(),
        Some(r) => {
            format!("{},{},{},{},{},{}", r.n, r.model_mae, r.model_crps, r.mae, opt(r.skill_mae), opt(r.skill_crps))
        }
    }
}

/// `score_overall.csv`.
pub fn overall_csv(s: &Score) -> String {
    let mut out = format!("{OVERALL_HEADER}\n");
    for o in &s.overall {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            o.scope,
            o.n,
            o.mae,
            o.mean_crps,
            o.coverage50,
            o.coverage90,
            reference_fields(&o.persistence),
            reference_fields(&o.trend)
        );
    }
    out
}

/// A number for people: 4 significant digits (plain decimal).
fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.digits$}")
}

fn num_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), num)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn overall_line(o: &Overall) -> String {
    let (p_mae, p_skill_mae, p_skill_crps) = match &o.persistence {
        Some(p) => (num(p.mae), num_opt(p.skill_mae), num_opt(p.skill_crps)),
        None => ("n/a".into(), "n/a".into(), "n/a".into()),
    };
    let (t_mae, t_skill_crps) = match &o.trend {
        Some(t) => (num(t.mae), num_opt(t.skill_crps)),
        None => ("n/a".into(), "n/a".into()),
    };
    format!(
        "| {} | {} | {} | {} | {:.0}% | {:.0}% | {} | {} | {} | {} | {} |",
        o.scope,
        o.n,
        num(o.mae),
        num(o.mean_crps),
        100.0 * o.coverage50,
        100.0 * o.coverage90,
        p_mae,
        p_skill_mae,
        p_skill_crps,
        t_mae,
        t_skill_crps
    )
}

/// `score.md`: the overall table, then one row per observation.
pub fn markdown(s: &Score) -> String {
    let mut out = format!("# Score of `{}` (base year {}, horizon {})\n\n", s.scenario, s.base_year, s.horizon);
    out.push_str("Skill = 1 - model score / reference score (positive: better than the reference). ");
    out.push_str("Persistence = the observed value in the base year; trend = the least-squares line through the observed years up to the base year (n/a with fewer than two). ");
    out.push_str("A point forecast's CRPS is its absolute error.\n\n");
    out.push_str("## Overall\n\n");
    out.push_str("| scope | n | MAE (mean) | mean CRPS | in 50% | in 90% | persistence MAE | MAE skill vs persistence | CRPS skill vs persistence | trend MAE | CRPS skill vs trend |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for o in &s.overall {
        let _ = writeln!(out, "{}", overall_line(o));
    }
    out.push_str("\n## Per observation\n\n");
    out.push_str("| year | metric | subject | observed | mean | median | error | percentile | 50% interval | 90% interval | CRPS | from | persistence | CRPS skill vs persistence |\n");
    out.push_str("|---:|---|---|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|\n");
    for r in &s.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}% | {} - {} ({}) | {} - {} ({}) | {} | {} | {} | {} |",
            r.year,
            r.metric,
            r.subject,
            num(r.observed),
            num(r.mean),
            num(r.median),
            num(r.error),
            100.0 * r.percentile,
            num(r.lo50),
            num(r.hi50),
            yes(r.in50),
            num(r.lo90),
            num(r.hi90),
            yes(r.in90),
            num(r.crps),
            r.method.as_str(),
            num_opt(r.persistence),
            num_opt(r.skill_persistence)
        );
    }
    out
}

/// `score.json`: the whole score.
pub fn json(s: &Score) -> String {
    serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The files `--out DIR` writes, with their contents.
pub fn output_files(s: &Score) -> Vec<(&'static str, String)> {
    vec![
        ("score.csv", rows_csv(s)),
        ("score_overall.csv", overall_csv(s)),
        ("score.md", markdown(s)),
        ("score.json", json(s)),
    ]
}
