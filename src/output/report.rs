//! `report.md`: a human-readable summary of a result.

use std::fmt::Write;

use crate::model::Model;
use crate::model::metrics::is_count;
use crate::stats::moments::MomentBlock;
use crate::stats::sketch::SketchSet;
use crate::stats::summary::summarize;

fn fmt4(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() >= 1e-3 && v.abs() < 1e6 {
        let digits = (4 - 1 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

/// The report: key metrics at the horizon against the base year, and postures.
pub fn report_md(
    model: &Model,
    moments: &MomentBlock,
    sketches: &SketchSet,
    postures_csv: &str,
    wall_time_s: f64,
) -> String {
    let s = &model.scenario;
    let cells = model.layout.len();
    let last = model.steps();
    // The horizon's row among the written rows (`[outputs] every`).
    let horizon_row = crate::engine::timeline::Plan::new(s).len() - 1;
    let mut out = String::new();
    let _ = writeln!(out, "# hedgesim report: {}\n", s.name);
    if !s.description.is_empty() {
        let _ = writeln!(out, "{}\n", crate::scenario::diagnostics::escape_lines(s.description.trim()));
    }
    let _ = writeln!(
        out,
        "{} runs, seed {}, {} to {} in {} steps of 1/{} year, {} partners; computed in {:.2} s.\n",
        moments.n,
        s.seed,
        s.base_year,
        s.horizon,
        last,
        s.steps_per_year,
        s.partners.len(),
        wall_time_s
    );
    let _ = writeln!(out, "## Key metrics at {}\n", s.horizon);
    let _ = writeln!(
        out,
        "Mean over runs, with the 90% interval of runs (5th to 95th percentile), against the base year.\n"
    );
    let _ = writeln!(out, "| metric | subject | {} | mean {} | 90% interval | change |", s.base_year, s.horizon);
    let _ = writeln!(out, "|---|---|---:|---:|---|---:|");
    let q = [0.05, 0.95];
    for (c, cell) in model.layout.cells.iter().enumerate() {
        if !matches!(
            cell.metric,
            "trade_total_usd_bn"
                | "hhi"
                | "effective_partners"
                | "strategic_space"
                | "coercion_events_total"
                | "trade_share"
                | "group_share"
        ) {
            continue;
        }
        let base = moments.cells[c].mean;
        let i = horizon_row * cells + c;
        let end = summarize(moments, i, &sketches.sketches[i], &q, None, is_count(cell.metric));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} to {} | {:+} |",
            cell.metric,
            cell.subject,
            fmt4(base),
            fmt4(end.mean),
            fmt4(end.quantiles[0]),
            fmt4(end.quantiles[1]),
            fmt4(end.mean - base).parse::<f64>().unwrap_or(end.mean - base)
        );
    }
    let _ = writeln!(out, "\n## Posture at {}\n", s.horizon);
    let _ = writeln!(out, "| posture | runs | share | 95% CI |");
    let _ = writeln!(out, "|---|---:|---:|---|");
    for line in postures_csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        // outcomes.csv lists every posture; the report shows those that occurred.
        if let [label, count, share, lo, hi] = f[..] {
            if count == "0" {
                continue;
            }
            let p = |x: &str| x.parse::<f64>().map_or_else(|_| x.to_string(), fmt4);
            let _ = writeln!(out, "| {label} | {count} | {} | {} to {} |", p(share), p(lo), p(hi));
        }
    }
    let _ = writeln!(
        out,
        "\nFull tables: `summary.csv` (every step), `outcomes.csv`, `runs.csv`; provenance in `manifest.json`."
    );
    out
}
