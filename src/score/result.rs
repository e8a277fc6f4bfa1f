//! Reading the parts of a result directory that `hedgesim score` needs
//! (the contract is docs/outputs.md): the manifest's time axis, the
//! `summary.csv` rows of the observed cells (mean, min, max and every
//! `pNN` quantile column) and, at the horizon, the per-run values of
//! `runs.csv`. Only the wanted cells and columns are kept, so memory does
//! not grow with the size of the result.
//!
//! The functions take text or readers, not paths: the command
//! (`app::score`) opens the files. Every error names the file and line.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde::Deserialize;

/// The manifest fields scoring uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultMeta {
    pub scenario: String,
    pub base_year: i32,
    pub horizon: i32,
    pub steps_per_year: u32,
    pub runs: u64,
    #[serde(default)]
    pub runs_table: bool,
    #[serde(default)]
    pub shard: Option<serde_json::Value>,
    /// Partner ids and group names (for messages).
    #[serde(default)]
    pub partners: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl ResultMeta {
    /// The step whose `year` is `year`, if one is (within 1e-9 of a step).
    pub fn step_of(&self, year: f64) -> Option<u64> {
        let k = (year - f64::from(self.base_year)) * f64::from(self.steps_per_year);
        let last = u64::from((self.horizon - self.base_year).max(0) as u32) * u64::from(self.steps_per_year);
        let r = k.round();
        ((k - r).abs() < 1e-9 && r >= 0.0 && r <= last as f64).then_some(r as u64)
    }

    /// The last step (the horizon).
    pub fn last_step(&self) -> u64 {
        (self.horizon - self.base_year).max(0) as u64 * u64::from(self.steps_per_year)
    }
}

/// Parse `manifest.json` (`name` is used in messages).
pub fn parse_manifest(name: &str, text: &str) -> Result<ResultMeta, String> {
    let meta: ResultMeta = serde_json::from_str(text).map_err(|e| {
        format!("{name}: not a hedgesim manifest ({e})\n  help: pass a result directory written by `hedgesim run` or `hedgesim merge`")
    })?;
    if meta.shard.as_ref().is_some_and(|s| !s.is_null()) {
        return Err(format!(
            "{name}: this is one shard of a sharded run\n  help: merge the shards with `hedgesim merge` and score the merged result"
        ));
    }
    if meta.steps_per_year == 0 || meta.horizon <= meta.base_year {
        return Err(format!("{name}: inconsistent time axis (base_year, horizon, steps_per_year)"));
    }
    Ok(meta)
}

/// A cell of `summary.csv`: (step, metric, subject).
pub type CellKey = (u64, String, String);

/// The statistics of one cell of `summary.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryCell {
    pub n: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// (level, value) for every `pNN` column, in column order.
    pub quantiles: Vec<(f64, f64)>,
}

/// Read the `wanted` cells of `summary.csv`.
pub fn read_summary<R: Read>(
    name: &str,
    reader: R,
    wanted: &HashSet<CellKey>,
) -> Result<HashMap<CellKey, SummaryCell>, String> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| format!("{name}:1: cannot read the header: {e}"))?.clone();
    let col = |c: &str| {
        headers.iter().position(|h| h == c).ok_or_else(|| {
            format!("{name}:1: missing column `{c}`\n  help: the file does not follow docs/outputs.md; re-run `hedgesim run`")
        })
    };
    let (c_step, c_metric, c_subject, c_n, c_mean, c_min, c_max) =
        (col("step")?, col("metric")?, col("subject")?, col("n")?, col("mean")?, col("min")?, col("max")?);
    let levels: Vec<(usize, f64)> =
        headers.iter().enumerate().filter_map(|(i, h)| quantile_level(h).map(|p| (i, p))).collect();
    let mut out = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("{name}: {e}")),
        }
        let line = record.position().map_or(0, |p| p.line());
        let get = |i: usize| record.get(i).unwrap_or("");
        let bad =
            |what: &str| format!("{name}:{line}: bad `{what}` field\n  help: the file does not follow docs/outputs.md");
        let step: u64 = get(c_step).parse().map_err(|_| bad("step"))?;
        let key = (step, get(c_metric).to_string(), get(c_subject).to_string());
        if !wanted.contains(&key) {
            continue;
        }
        let num = |i: usize, what: &str| get(i).parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| bad(what));
        let n = get(c_n).parse::<u64>().map_err(|_| bad("n"))?;
        let quantiles =
            levels.iter().map(|&(i, p)| num(i, &headers[i]).map(|q| (p, q))).collect::<Result<Vec<_>, _>>()?;
        let cell =
            SummaryCell { n, mean: num(c_mean, "mean")?, min: num(c_min, "min")?, max: num(c_max, "max")?, quantiles };
        out.insert(key, cell);
    }
    Ok(out)
}

/// The level of a quantile column name: `p05` -> 0.05, `p97.5` -> 0.975.
fn quantile_level(header: &str) -> Option<f64> {
    let pct: f64 = header.strip_prefix('p')?.parse().ok()?;
    (pct > 0.0 && pct < 100.0).then_some(pct / 100.0)
}

/// Read the named `columns` of `runs.csv` (horizon values, one per run).
/// Every run must have a value; the row count must be `runs`.
pub fn read_runs<R: Read>(
    name: &str,
    reader: R,
    columns: &[String],
    runs: u64,
) -> Result<HashMap<String, Vec<f64>>, String> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| format!("{name}:1: cannot read the header: {e}"))?.clone();
    let mut idx = Vec::new();
    for c in columns {
        let i = headers.iter().position(|h| h == c).ok_or_else(|| {
            format!("{name}:1: missing column `{c}`\n  help: the file does not follow docs/outputs.md; re-run `hedgesim run`")
        })?;
        idx.push(i);
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("{name}: {e}")),
        }
        let line = record.position().map_or(0, |p| p.line());
        for ((&i, col), out) in idx.iter().zip(columns).zip(values.iter_mut()) {
            let v = record
                .get(i)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{name}:{line}: column `{col}`: not a finite number"))?;
            out.push(v);
        }
    }
    let rows = values.first().map_or(0, Vec::len) as u64;
    if !columns.is_empty() && rows != runs {
        return Err(format!(
            "{name}: {rows} rows but manifest.json says {runs} runs\n  help: the result is incomplete or was edited; re-run `hedgesim run`"
        ));
    }
    Ok(columns.iter().cloned().zip(values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ResultMeta {
        ResultMeta {
            scenario: "s".into(),
            base_year: 2018,
            horizon: 2023,
            steps_per_year: 4,
            runs: 3,
            runs_table: true,
            shard: None,
            partners: vec![],
            groups: vec![],
        }
    }

    #[test]
    fn years_map_to_steps() {
        let m = meta();
        assert_eq!(m.step_of(2018.0), Some(0));
        assert_eq!(m.step_of(2023.0), Some(20));
        assert_eq!(m.step_of(2020.25), Some(9));
        assert_eq!(m.step_of(2020.1), None);
        assert_eq!(m.step_of(2024.0), None);
        assert_eq!(m.step_of(2017.0), None);
        assert_eq!(m.last_step(), 20);
    }

    #[test]
    fn manifest_of_a_shard_is_refused() {
        let text = r#"{"scenario":"s","base_year":2018,"horizon":2023,"steps_per_year":4,"runs":3,"runs_table":true,"shard":{"index":0,"count":2}}"#;
        assert!(parse_manifest("m.json", text).unwrap_err().contains("shard"));
        let text = r#"{"scenario":"s","base_year":2018,"horizon":2023,"steps_per_year":4,"runs":3,"runs_table":true,"shard":null}"#;
        assert_eq!(parse_manifest("m.json", text).unwrap(), meta());
        assert!(parse_manifest("m.json", "{}").is_err());
    }

    #[test]
    fn summary_cells_and_runs_columns() {
        let summary = "step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max,p05,p50,p97.5\n\
                       0,2018,trade_share,CN,3,0.1,,,,,0.1,0.1,0.1,0.1,0.1\n\
                       20,2023,trade_share,CN,3,0.2,0.01,,,,0.15,0.25,0.16,0.2,0.24\n";
        let wanted: HashSet<CellKey> = [(20, "trade_share".to_string(), "CN".to_string())].into();
        let cells = read_summary("summary.csv", summary.as_bytes(), &wanted).unwrap();
        let c = &cells[&(20, "trade_share".to_string(), "CN".to_string())];
        assert_eq!(c.quantiles, vec![(0.05, 0.16), (0.5, 0.2), (0.975, 0.24)]);
        assert_eq!((c.n, c.mean, c.min, c.max), (3, 0.2, 0.15, 0.25));
        let runs = "run,posture,trade_share.CN,hhi\n0,hedging,0.2,0.3\n1,hedging,0.15,0.3\n2,hedging,0.25,0.3\n";
        let cols = read_runs("runs.csv", runs.as_bytes(), &["trade_share.CN".to_string()], 3).unwrap();
        assert_eq!(cols["trade_share.CN"], vec![0.2, 0.15, 0.25]);
        let e = read_runs("runs.csv", runs.as_bytes(), &["trade_share.CN".to_string()], 4).unwrap_err();
        assert!(e.contains("3 rows but manifest.json says 4 runs"), "{e}");
        let e = read_runs("runs.csv", runs.as_bytes(), &["trade_share.XX".to_string()], 3).unwrap_err();
        assert!(e.contains("missing column `trade_share.XX`"), "{e}");
    }
}
