//! Renderings of a [`Comparison`]: Markdown for people, CSV and JSON for
//! programs. Each returns a `String` and does no I/O; the caller prints it
//! or writes it (atomically) under `--out`.
//!
//! CSV and JSON carry full precision (shortest round-trip `f64`, as in
//! docs/outputs.md: `0.1`, `2.5e-7`); an undefined value is an empty CSV
//! field or JSON `null`. Every float of a CSV float column is written with a
//! decimal point (`0.0`, `2040.0`, `1.0e-300`), so type-inferring readers
//! (polars, DuckDB, pandas, readr) read the column as floats whatever its
//! first rows hold; the same fields have the same names and types in CSV
//! and JSON. Markdown rounds to 4 significant digits, writes
//! p-values below 1e-4 as `<0.0001`, undefined values as `n/a`, and marks
//! rows whose Holm-adjusted p is below 0.05 with `*`.

use std::fmt::Write as _;

use serde::Serialize;

use super::{ALPHA, Comparison, PostureRow, PostureTest, Row};

/// `compare.csv` header.
pub(crate) const CSV_HEADER: &str = "scenario_a,scenario_b,step,year,metric,subject,n_a,n_b,mean_a,mean_b,diff,\
ci95_low,ci95_high,p_value,p_holm,significant,hedges_g,mode,test";

/// `compare_postures.csv` header.
pub(crate) const POSTURES_CSV_HEADER: &str = "scenario_a,scenario_b,step,year,posture,count_a,n_a,share_a,\
count_b,n_b,share_b,diff,ci95_low,ci95_high,p_value,p_holm,significant,test,mode";

/// Shortest round-trip text of `x`, always with a decimal point (`0.0`,
/// `2040.0`), in exponent form outside [1e-5, 1e16) (`2.5e-7`,
/// `1.0e-300`: a p-value of 1e-300 is not 300 characters long).
pub(crate) fn full(x: f64) -> String {
    let a = x.abs();
    if x != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) {
        let s = format!("{x:e}");
        match s.split_once('e') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0e{e}"),
            _ => s,
        }
    } else {
        let s = format!("{x}");
        if a.is_finite() && !s.contains('.') { format!("{s}.0") } else { s }
    }
}

fn full_opt(x: Option<f64>) -> String {
    x.map(full).unwrap_or_default()
}

/// A year for people (2040, 2040.25).
pub(crate) fn year_text(y: f64) -> String {
    format!("{y}")
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
    let checks = if c.checks.is_empty() { String::new() } else { format!(" Input: {}.", c.checks) };
    format!(
        "Comparing A = `{}` ({}) with B = `{}` ({}) at {at}; mode: {}, because {}.{checks}",
        c.a.scenario,
        c.a.path.display(),
        c.b.scenario,
        c.b.path.display(),
        c.mode,
        c.reason
    )
}

pub(crate) fn markdown(cs: &[Comparison]) -> String {
    match cs {
        [c] => markdown_one(c),
        _ => markdown_many(cs),
    }
}

fn markdown_one(c: &Comparison) -> String {
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
        let _ = writeln!(s, "{}", posture_intro(std::slice::from_ref(c)));
        let _ = writeln!(s);
        let _ = writeln!(s, "| posture | A | B | B - A | 95% CI | p | p (Holm) | |");
        let _ = writeln!(s, "|:--|--:|--:|--:|:--|--:|--:|:-:|");
        for p in &c.postures {
            let _ = writeln!(s, "{}", md_posture(p));
        }
        let _ = writeln!(s);
    }
    footer(&mut s, c.tests, steps, "this comparison");
    notes(&mut s, &c.notes, "");
    s
}

fn posture_intro(cs: &[Comparison]) -> String {
    let paired = cs.iter().flat_map(|c| &c.postures).any(|p| p.test == PostureTest::McnemarExact);
    let unpaired = cs.iter().flat_map(|c| &c.postures).any(|p| p.test == PostureTest::TwoProportionZ);
    let mut how = Vec::new();
    if paired {
        how.push("runs paired by index: McNemar's exact test, Newcombe's paired score interval");
    }
    if unpaired {
        how.push("independent samples: pooled two-proportion z test, Newcombe's hybrid score interval");
    }
    format!(
        "Posture frequencies at the horizon ({}), share of runs ({}):",
        year_text(cs.first().map_or(f64::NAN, |c| c.horizon_year)),
        how.join("; ")
    )
}

fn footer(s: &mut String, tests: usize, steps: bool, family: &str) {
    let _ = writeln!(
        s,
        "`*`: Holm-adjusted p < {ALPHA} over the {tests} tests of {family}. B - A is the difference of means \
         (paired: the mean of the run-by-run differences); rows are sorted by the metrics asked for (or trade \
         shares first), then by |Hedges' g|{}. n/a: undefined (a single run, or g with zero spread).",
        if steps { " within each step" } else { "" }
    );
}

fn notes(s: &mut String, notes: &[String], prefix: &str) {
    if !notes.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Notes{prefix}:");
        let _ = writeln!(s);
        for n in notes {
            let _ = writeln!(s, "- {}", md_cell(n));
        }
    }
}

fn markdown_many(cs: &[Comparison]) -> String {
    let mut s = String::new();
    let Some(first) = cs.first() else { return s };
    let _ = writeln!(
        s,
        "Comparing {} results with A = `{}` ({}), Holm's adjustment over all of them:",
        cs.len(),
        md_cell(&first.a.scenario),
        first.a.path.display()
    );
    let _ = writeln!(s);
    for c in cs {
        let _ = writeln!(s, "- {}", md_cell(&headline(c)));
    }
    let _ = writeln!(s);
    let steps = first.all_steps;
    if cs.iter().any(|c| !c.rows.is_empty()) {
        let (head, align) = if steps { ("| year | step | mode ", "|--:|--:|:--") } else { ("", "") };
        let _ = writeln!(
            s,
            "{head}| B | metric | subject | mean A | mean B | B - A | 95% CI | p | p (Holm) | Hedges' g | |"
        );
        let _ = writeln!(s, "{align}|:--|:--|:--|--:|--:|--:|:--|--:|--:|--:|:-:|");
        for c in cs {
            for r in &c.rows {
                let row = md_row(r, steps);
                // Insert the B column after the optional step columns.
                let cut = if steps { row.match_indices("| ").nth(3).map_or(0, |(i, _)| i) } else { 0 };
                let _ = writeln!(s, "{}| {} {}", &row[..cut], md_cell(&c.b.scenario), &row[cut..]);
            }
        }
        let _ = writeln!(s);
    }
    if cs.iter().any(|c| !c.postures.is_empty()) {
        let _ = writeln!(s, "{}", posture_intro(cs));
        let _ = writeln!(s);
        let _ = writeln!(s, "| B | posture | A | B | B - A | 95% CI | p | p (Holm) | |");
        let _ = writeln!(s, "|:--|:--|--:|--:|--:|:--|--:|--:|:-:|");
        for c in cs {
            for p in &c.postures {
                let _ = writeln!(s, "| {} {}", md_cell(&c.b.scenario), md_posture(p));
            }
        }
        let _ = writeln!(s);
    }
    footer(&mut s, first.tests, steps, "all these comparisons");
    for c in cs {
        notes(&mut s, &c.notes, &format!(" on B = `{}`", md_cell(&c.b.scenario)));
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

/// The test of a metric row: `paired_t` or `welch_t`.
fn metric_test(m: super::Mode) -> &'static str {
    match m {
        super::Mode::Paired => "paired_t",
        super::Mode::Welch => "welch_t",
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

pub(crate) fn csv(cs: &[Comparison]) -> String {
    let rows: usize = cs.iter().map(|c| c.rows.len() + c.postures.len()).sum();
    let mut s = String::with_capacity(96 * (rows + 1));
    s.push_str(CSV_HEADER);
    s.push('\n');
    for c in cs {
        let (sa, sb) = (csv_field(&c.a.scenario), csv_field(&c.b.scenario));
        for r in &c.rows {
            let test = metric_test(r.mode);
            let fields = [
                sa.clone(),
                sb.clone(),
                r.step.to_string(),
                full(r.year),
                csv_field(&r.metric),
                csv_field(&r.subject),
                r.n_a.to_string(),
                r.n_b.to_string(),
                full(r.mean_a),
                full(r.mean_b),
                full(r.diff),
                full_opt(r.ci95_low),
                full_opt(r.ci95_high),
                full_opt(r.p_value),
                full_opt(r.p_holm),
                bool_text(r.significant()).to_string(),
                full_opt(r.hedges_g),
                r.mode.to_string(),
                test.to_string(),
            ];
            s.push_str(&fields.join(","));
            s.push('\n');
        }
        for p in &c.postures {
            let fields = [
                sa.clone(),
                sb.clone(),
                c.horizon_step.to_string(),
                full(c.horizon_year),
                "posture".to_string(),
                csv_field(&p.posture),
                p.n_a.to_string(),
                p.n_b.to_string(),
                full(p.share_a),
                full(p.share_b),
                full(p.diff),
                full_opt(p.ci95_low),
                full_opt(p.ci95_high),
                full_opt(p.p_value),
                full_opt(p.p_holm),
                bool_text(p.significant()).to_string(),
                String::new(),
                p.mode.to_string(),
                p.test.as_str().to_string(),
            ];
            s.push_str(&fields.join(","));
            s.push('\n');
        }
    }
    s
}

pub(crate) fn postures_csv(cs: &[Comparison]) -> String {
    let mut s = String::new();
    s.push_str(POSTURES_CSV_HEADER);
    s.push('\n');
    for c in cs {
        for p in &c.postures {
            let fields = [
                csv_field(&c.a.scenario),
                csv_field(&c.b.scenario),
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
                bool_text(p.significant()).to_string(),
                p.test.as_str().to_string(),
                p.mode.to_string(),
            ];
            s.push_str(&fields.join(","));
            s.push('\n');
        }
    }
    s
}

#[derive(Serialize)]
struct JsonResult<'a> {
    path: String,
    scenario: &'a str,
    seed: &'a serde_json::Value,
    runs: u64,
}

impl<'a> JsonResult<'a> {
    fn of(r: &'a super::ResultInfo) -> JsonResult<'a> {
        JsonResult { path: r.path.display().to_string(), scenario: &r.scenario, seed: &r.seed, runs: r.runs }
    }
}

#[derive(Serialize)]
struct JsonRow<'a, T: Serialize> {
    scenario_a: &'a str,
    scenario_b: &'a str,
    #[serde(flatten)]
    row: &'a T,
    significant: bool,
    /// The test of a metric row, as in compare.csv (posture rows carry
    /// their own `test`).
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'static str>,
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
    checks: &'a str,
    headline: String,
    alpha: f64,
    tests: usize,
    rows: Vec<JsonRow<'a, Row>>,
    postures: Vec<JsonRow<'a, PostureRow>>,
    notes: &'a [String],
}

fn json_view(c: &Comparison) -> Json<'_> {
    let (sa, sb) = (c.a.scenario.as_str(), c.b.scenario.as_str());
    Json {
        a: JsonResult::of(&c.a),
        b: JsonResult::of(&c.b),
        step: c.step,
        year: c.year,
        all_steps: c.all_steps,
        horizon_step: c.horizon_step,
        horizon_year: c.horizon_year,
        mode: c.mode,
        reason: &c.reason,
        checks: &c.checks,
        headline: headline(c),
        alpha: ALPHA,
        tests: c.tests,
        rows: c
            .rows
            .iter()
            .map(|r| JsonRow {
                scenario_a: sa,
                scenario_b: sb,
                row: r,
                significant: r.significant(),
                test: Some(metric_test(r.mode)),
            })
            .collect(),
        postures: c
            .postures
            .iter()
            .map(|p| JsonRow { scenario_a: sa, scenario_b: sb, row: p, significant: p.significant(), test: None })
            .collect(),
        notes: &c.notes,
    }
}

#[derive(Serialize)]
struct JsonMany<'a> {
    a: JsonResult<'a>,
    alpha: f64,
    tests: usize,
    comparisons: Vec<Json<'a>>,
}

pub(crate) fn json(cs: &[Comparison]) -> String {
    let text = match cs {
        [c] => serde_json::to_string_pretty(&json_view(c)),
        [first, ..] => serde_json::to_string_pretty(&JsonMany {
            a: JsonResult::of(&first.a),
            alpha: ALPHA,
            tests: first.tests,
            comparisons: cs.iter().map(json_view).collect(),
        }),
        [] => Ok("{}".to_string()),
    };
    match text {
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
        assert_eq!(full(2040.0), "2040.0");
        assert_eq!(full(0.0), "0.0");
        assert_eq!(full(-3.0), "-3.0");
        assert_eq!(full(1e-300), "1.0e-300");
        assert_eq!(full(2e20), "2.0e20");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("RU"), "RU");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
