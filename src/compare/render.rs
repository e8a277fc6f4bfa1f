//! Renderings of a [`Comparison`]: Markdown for people, CSV and JSON for
//! programs. Each returns a `String` and does no I/O; the caller prints it
//! or writes it (atomically) under `--out`.
//!
//! CSV and JSON carry full precision (shortest round-trip `f64`, as in
//! docs/outputs.md: `0.1`, `2.5e-7`); an undefined value is an empty CSV
//! field or JSON `null`. Markdown rounds to 4 significant digits, writes
//! p-values below 1e-4 as `<0.0001`, undefined values as `n/a`, and marks
//! rows whose Holm-adjusted p is below 0.05 with `*`.

use std::fmt::Write as _;

use serde::Serialize;

use super::{ALPHA, Comparison, PostureRow, PostureTest, Row};

/// `compare.csv` header (issue 3).
pub(crate) const CSV_HEADER: &str =
    "step,year,metric,subject,mean_a,mean_b,diff,ci95_low,ci95_high,p_value,p_holm,hedges_g,mode";

/// `compare_postures.csv` header.
pub(crate) const POSTURES_CSV_HEADER: &str = "step,year,posture,count_a,n_a,share_a,count_b,n_b,\
share_b,diff,ci95_low,ci95_high,p_value,p_holm,test,mode";

/// Shortest round-trip text of `x`, in exponent form outside [1e-5, 1e16)
/// (so a p-value of 1e-300 is not 300 characters long).
pub(crate) fn full(x: f64) -> String {
    let a = x.abs();
    if x != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) { format!("{x:e}") } else { format!("{x}") }
}

fn full_opt(x: Option<f64>) -> String {
    x.map(full).unwrap_or_default()
}

/// A year as written in summary.csv (2040, 2040.25).
pub(crate) fn year_text(y: f64) -> String {
    full(y)
}

/// `x` rounded to 4 significant digits, without trailing zeros.
pub(crate) fn sig4(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    let s = if !(1e-4..1e9).contains(&a) {
        format!("{x:.3e}")
    } else {
        let magnitude = a.log10().floor() as i32;
        let decimals = 3 - magnitude;
        if decimals >= 0 {
            format!("{x:.*}", decimals as usize)
        } else {
            let scale = 10f64.powi(-decimals);
            format!("{}", (x / scale).round() * scale)
        }
    };
    let s =
        if s.contains('.') && !s.contains('e') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}

fn sig4_opt(x: Option<f64>) -> String {
    x.map(sig4).unwrap_or_else(|| "n/a".into())
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "n/a".into(),
        Some(p) if p < 1e-4 => "<0.0001".into(),
        Some(p) => sig4(p),
    }
}

fn ci_text(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("[{}, {}]", sig4(l), sig4(h)),
        _ => "n/a".into(),
    }
}

/// A field of a CSV line, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A cell of a Markdown table.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn star(significant: bool) -> &'static str {
    if significant { "*" } else { "" }
}

pub(crate) fn headline(c: &Comparison) -> String {
    let at = if c.all_steps {
        format!(
            "every step from {} to {} (the horizon)",
            year_text(c.rows.iter().map(|r| r.year).fold(c.year, f64::min)),
            year_text(c.horizon_year)
        )
    } else if c.step == c.horizon_step {
        format!("year {} (step {}, the horizon)", year_text(c.year), c.step)
    } else {
        format!("year {} (step {})", year_text(c.year), c.step)
    };
    format!(
        "Comparing A = `{}` ({}) with B = `{}` ({}) at {at}; mode: {}, because {}.",
        c.a.scenario,
        c.a.path.display(),
        c.b.scenario,
        c.b.path.display(),
        c.mode,
        c.reason
    )
}

pub(crate) fn markdown(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", md_cell(&headline(c)));
    let _ = writeln!(s);
    let steps = c.all_steps;
    if !c.rows.is_empty() {
        let (head, align) = if steps { ("| year | step | mode ", "|--:|--:|:--") } else { ("", "") };
        let _ =
            writeln!(s, "{head}| metric | subject | mean A | mean B | B - A | 95% CI | p | p (Holm) | Hedges' g | |");
        let _ = writeln!(s, "{align}|:--|:--|--:|--:|--:|:--|--:|--:|--:|:-:|");
        for r in &c.rows {
            let _ = writeln!(s, "{}", md_row(r, steps));
        }
        let _ = writeln!(s);
    }
    if !c.postures.is_empty() {
        let paired = c.postures.iter().any(|p| p.test == PostureTest::McnemarExact);
        let how = if paired {
            "runs paired by index; McNemar's exact test, Newcombe's paired score interval"
        } else {
            "independent samples; pooled two-proportion z test, Newcombe's hybrid score interval"
        };
        let _ =
            writeln!(s, "Posture frequencies at the horizon ({}), share of runs ({how}):", year_text(c.horizon_year));
        let _ = writeln!(s);
        let _ = writeln!(s, "| posture | A | B | B - A | 95% CI | p | p (Holm) | |");
        let _ = writeln!(s, "|:--|--:|--:|--:|:--|--:|--:|:-:|");
        for p in &c.postures {
            let _ = writeln!(s, "{}", md_posture(p));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "`*`: Holm-adjusted p < {ALPHA} over the {} tests of this comparison. B - A is the \
         difference of means (paired: the mean of the run-by-run differences); rows are sorted \
         by |Hedges' g|{}. n/a: undefined (a single run, or g with zero spread).",
        c.tests,
        if steps { " within each step" } else { "" }
    );
    if !c.notes.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Notes:");
        let _ = writeln!(s);
        for n in &c.notes {
            let _ = writeln!(s, "- {}", md_cell(n));
        }
    }
    s
}

fn md_row(r: &Row, steps: bool) -> String {
    let lead = if steps { format!("| {} | {} | {} ", year_text(r.year), r.step, r.mode) } else { String::new() };
    format!(
        "{lead}| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        md_cell(&r.metric),
        md_cell(&r.subject),
        sig4(r.mean_a),
        sig4(r.mean_b),
        sig4(r.diff),
        ci_text(r.ci95_low, r.ci95_high),
        p_text(r.p_value),
        p_text(r.p_holm),
        sig4_opt(r.hedges_g),
        star(r.significant())
    )
}

fn md_posture(p: &PostureRow) -> String {
    format!(
        "| {} | {} ({}/{}) | {} ({}/{}) | {} | {} | {} | {} | {} |",
        md_cell(&p.posture),
        sig4(p.share_a),
        p.count_a,
        p.n_a,
        sig4(p.share_b),
        p.count_b,
        p.n_b,
        sig4(p.diff),
        ci_text(p.ci95_low, p.ci95_high),
        p_text(p.p_value),
        p_text(p.p_holm),
        star(p.significant())
    )
}

pub(crate) fn csv(c: &Comparison) -> String {
    let mut s = String::with_capacity(64 * (c.rows.len() + 1));
    s.push_str(CSV_HEADER);
    s.push('\n');
    for r in &c.rows {
        let fields = [
            r.step.to_string(),
            full(r.year),
            csv_field(&r.metric),
            csv_field(&r.subject),
            full(r.mean_a),
            full(r.mean_b),
            full(r.diff),
            full_opt(r.ci95_low),
            full_opt(r.ci95_high),
            full_opt(r.p_value),
            full_opt(r.p_holm),
            full_opt(r.hedges_g),
            r.mode.to_string(),
        ];
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

pub(crate) fn postures_csv(c: &Comparison) -> String {
    let mut s = String::new();
    s.push_str(POSTURES_CSV_HEADER);
    s.push('\n');
    for p in &c.postures {
        let fields = [
            c.horizon_step.to_string(),
            full(c.horizon_year),
            csv_field(&p.posture),
            p.count_a.to_string(),
            p.n_a.to_string(),
            full(p.share_a),
            p.count_b.to_string(),
            p.n_b.to_string(),
            full(p.share_b),
            full(p.diff),
            full_opt(p.ci95_low),
            full_opt(p.ci95_high),
            full_opt(p.p_value),
            full_opt(p.p_holm),
            p.test.as_str().to_string(),
            p.mode.to_string(),
        ];
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

#[derive(Serialize)]
struct JsonResult<'a> {
    path: String,
    scenario: &'a str,
    seed: &'a str,
    runs: u64,
}

#[derive(Serialize)]
struct JsonRow<'a, T: Serialize> {
    #[serde(flatten)]
    row: &'a T,
    significant: bool,
}

#[derive(Serialize)]
struct Json<'a> {
    a: JsonResult<'a>,
    b: JsonResult<'a>,
    step: u64,
    year: f64,
    all_steps: bool,
    horizon_step: u64,
    horizon_year: f64,
    mode: super::Mode,
    reason: &'a str,
    alpha: f64,
    tests: usize,
    rows: Vec<JsonRow<'a, Row>>,
    postures: Vec<JsonRow<'a, PostureRow>>,
    notes: &'a [String],
}

pub(crate) fn json(c: &Comparison) -> String {
    let view = Json {
        a: JsonResult {
            path: c.a.path.display().to_string(),
            scenario: &c.a.scenario,
            seed: &c.a.seed,
            runs: c.a.runs,
        },
        b: JsonResult {
            path: c.b.path.display().to_string(),
            scenario: &c.b.scenario,
            seed: &c.b.seed,
            runs: c.b.runs,
        },
        step: c.step,
        year: c.year,
        all_steps: c.all_steps,
        horizon_step: c.horizon_step,
        horizon_year: c.horizon_year,
        mode: c.mode,
        reason: &c.reason,
        alpha: ALPHA,
        tests: c.tests,
        rows: c.rows.iter().map(|r| JsonRow { row: r, significant: r.significant() }).collect(),
        postures: c.postures.iter().map(|p| JsonRow { row: p, significant: p.significant() }).collect(),
        notes: &c.notes,
    };
    match serde_json::to_string_pretty(&view) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Serialising plain structs of strings and numbers cannot fail;
        // keep the output valid JSON if it ever does.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(sig4(0.012345), "0.01235");
        assert_eq!(sig4(-1.5), "-1.5");
        assert_eq!(sig4(2040.0), "2040");
        assert_eq!(sig4(123456.0), "123500");
        assert_eq!(sig4(0.5), "0.5");
        assert_eq!(sig4(1.23456e-7), "1.235e-7");
        assert_eq!(sig4(0.0), "0");
        assert_eq!(sig4(-0.00001234), "-1.234e-5");
        assert_eq!(p_text(Some(3e-9)), "<0.0001");
        assert_eq!(p_text(Some(1.0)), "1");
        assert_eq!(p_text(None), "n/a");
    }

    #[test]
    fn full_precision_round_trips() {
        for x in [0.1, 2.5e-7, 1e-300, 123.456, -0.3, 1e20, 0.0] {
            assert_eq!(full(x).parse::<f64>().ok(), Some(x));
        }
        assert_eq!(full(0.1), "0.1");
        assert_eq!(full(2.5e-7), "2.5e-7");
        assert_eq!(full(2040.0), "2040");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("RU"), "RU");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
