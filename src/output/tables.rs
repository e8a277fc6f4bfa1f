//! `summary.csv`, `outcomes.csv` and the header of `runs.csv` (formats in
//! `docs/outputs.md`). Pure: results in, bytes out.

use std::fmt::Write;

use crate::model::metrics::is_count;
use crate::model::{Model, Posture};
use crate::scenario::validate::quantile_column;
use crate::stats::moments::MomentBlock;
use crate::stats::sketch::SketchSet;
use crate::stats::summary::{summarize, t_critical_95, wilson_95};

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// `summary.csv`: one row per step x metric x subject.
pub fn summary_csv(model: &Model, moments: &MomentBlock, sketches: &SketchSet) -> String {
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
    for step in 0..=model.steps() {
        let year = scenario.time_at(step);
        for (c, cell) in model.layout.cells.iter().enumerate() {
            let i = step * cells + c;
            let s = summarize(moments, i, &sketches.sketches[i], quantiles, t95, is_count(cell.metric));
            let _ = write!(
                out,
                "{step},{year},{},{},{},{},{},{},{},{},{},{}",
                cell.metric,
                cell.subject,
                s.n,
                s.mean,
                opt(s.sd),
                opt(s.se),
                opt(s.ci95.map(|c| c.0)),
                opt(s.ci95.map(|c| c.1)),
                s.min,
                s.max
            );
            for q in &s.quantiles {
                let _ = write!(out, ",{q}");
            }
            out.push('\n');
        }
    }
    out
}

/// Header line of `runs.csv`.
pub fn runs_header(model: &Model) -> String {
    let mut out = String::from("run,posture");
    for cell in &model.layout.cells {
        out.push(',');
        out.push_str(&cell.column());
    }
    out.push('\n');
    out
}

/// `outcomes.csv`: posture frequencies, postures that occurred only.
pub fn outcomes_csv(model: &Model, postures: &[u64]) -> String {
    let n: u64 = postures.iter().sum();
    let partners = model.scenario.partners.len();
    let mut out = String::from("posture,count,share,ci95_low,ci95_high\n");
    for (i, &count) in postures.iter().enumerate() {
        if count == 0 {
            continue;
        }
        // count > 0, so n > 0 and the interval exists.
        let (lo, hi) = wilson_95(count, n).unwrap_or((0.0, 1.0));
        let label = Posture::from_index(i, partners).label(&model.scenario);
        let _ = writeln!(out, "{label},{count},{},{lo},{hi}", count as f64 / n as f64);
    }
    out
}
