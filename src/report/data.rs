//! The tables a report is drawn from, parsed from the bytes of a result
//! directory's files (`summary.csv`, `outcomes.csv`, `compare.csv`, and the
//! explore tables of issue 10). Pure: text in, typed tables out. Columns are
//! found by name, so a table with extra columns (a newer writer) still reads.

use std::collections::HashMap;

/// A table could not be read; the message names the file, line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TableError {
    pub file: String,
    pub message: String,
}

fn err(file: &str, message: impl Into<String>) -> TableError {
    TableError { file: file.to_string(), message: message.into() }
}

/// Rows of a CSV text with a header, fields looked up by column name.
struct Csv<'a> {
    file: &'a str,
    header: Vec<String>,
    rows: Vec<(usize, csv::StringRecord)>,
}

impl<'a> Csv<'a> {
    /// The header, and a reader positioned at the first row.
    fn open<'t>(file: &'a str, text: &'t str) -> Result<(Self, csv::Reader<&'t [u8]>), TableError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| err(file, format!("unreadable header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        Ok((Csv { file, header, rows: Vec::new() }, reader))
    }

    fn parse(file: &'a str, text: &str) -> Result<Self, TableError> {
        let (Csv { header, .. }, mut reader) = Csv::open(file, text)?;
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| err(file, format!("line {}: {e}", i + 2)))?;
            rows.push((i + 2, record));
        }
        Ok(Csv { file, header, rows })
    }

    fn column(&self, name: &str) -> Result<usize, TableError> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            err(
                self.file,
                format!("no `{name}` column (header: {}); is this file written by hedgesim?", self.header.join(",")),
            )
        })
    }

    fn optional_column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn text<'r>(&self, row: &'r (usize, csv::StringRecord), col: usize) -> &'r str {
        row.1.get(col).unwrap_or("")
    }

    /// A number; an empty field is `None`.
    fn number(&self, row: &(usize, csv::StringRecord), col: usize) -> Result<Option<f64>, TableError> {
        let text = self.text(row, col).trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>().map(Some).map_err(|_| {
            err(self.file, format!("line {}, column `{}`: `{text}` is not a number", row.0, self.header[col]))
        })
    }

    fn required(&self, row: &(usize, csv::StringRecord), col: usize) -> Result<f64, TableError> {
        self.number(row, col)?.ok_or_else(|| {
            err(self.file, format!("line {}, column `{}`: empty, a number is required", row.0, self.header[col]))
        })
    }
}

/// Quantile level of a `pNN` column name (`p05` -> 0.05, `p97.5` -> 0.975).
pub fn quantile_level(column: &str) -> Option<f64> {
    let digits = column.strip_prefix('p')?;
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let percent: f64 = digits.parse().ok()?;
    (percent > 0.0 && percent < 100.0).then_some(percent / 100.0)
}

/// One metric x subject over time, from `summary.csv`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub metric: String,
    pub subject: String,
    pub years: Vec<f64>,
    pub mean: Vec<f64>,
    pub ci95: Vec<Option<(f64, f64)>>,
    /// `(level, values)` per quantile column, in column order.
    pub quantiles: Vec<(f64, Vec<f64>)>,
}

impl Series {
    /// Index of the last step (the horizon).
    pub fn last(&self) -> Option<usize> {
        self.years.len().checked_sub(1)
    }

    /// The values of quantile `level`, if the table has that column.
    pub fn quantile(&self, level: f64) -> Option<&[f64]> {
        self.quantiles.iter().find(|(l, _)| (l - level).abs() < 1e-12).map(|(_, v)| v.as_slice())
    }
}

/// `summary.csv`: every metric x subject as a [`Series`], in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    pub series: Vec<Series>,
    index: HashMap<(String, String), usize>,
}

impl Summary {
    /// Parse `summary.csv` (docs/outputs.md).
    pub fn parse(text: &str) -> Result<Summary, TableError> {
        Summary::parse_metrics(text, &|_| true)
    }

    /// Parse only the rows of the metrics `keep` accepts (the others are
    /// skipped before their numbers are read: a run's report needs about a
    /// fifth of the baseline's cells).
    pub fn parse_metrics(text: &str, keep: &dyn Fn(&str) -> bool) -> Result<Summary, TableError> {
        let (t, mut reader) = Csv::open("summary.csv", text)?;
        let (year, metric, subject, mean) =
            (t.column("year")?, t.column("metric")?, t.column("subject")?, t.column("mean")?);
        let (lo, hi) = (t.optional_column("ci95_low"), t.optional_column("ci95_high"));
        let quantile_cols: Vec<(usize, f64)> =
            t.header.iter().enumerate().filter_map(|(i, h)| quantile_level(h).map(|l| (i, l))).collect();
        let mut summary = Summary::default();
        let mut cursor = 0usize;
        // One reused record: the rows are streamed, not collected.
        let mut row = (1usize, csv::StringRecord::new());
        let row = &mut row;
        loop {
            let more = reader.read_record(&mut row.1).map_err(|e| err(t.file, format!("line {}: {e}", row.0 + 1)))?;
            if !more {
                break;
            }
            row.0 += 1;
            let row = &*row;
            if !keep(t.text(row, metric)) {
                continue;
            }
            let (m, sub) = (t.text(row, metric), t.text(row, subject));
            // Cells repeat in the same order every step: try the cell after
            // the previous row's before hashing.
            let guess = if summary.series.is_empty() { 0 } else { (cursor + 1) % summary.series.len() };
            let slot = match summary.series.get(guess) {
                Some(s) if s.metric == m && s.subject == sub => guess,
                _ => {
                    let next = summary.series.len();
                    let slot = *summary.index.entry((m.to_string(), sub.to_string())).or_insert(next);
                    if slot == next {
                        summary.series.push(Series {
                            metric: m.to_string(),
                            subject: sub.to_string(),
                            quantiles: quantile_cols.iter().map(|&(_, l)| (l, Vec::new())).collect(),
                            ..Series::default()
                        });
                    }
                    slot
                }
            };
            cursor = slot;
            let s = &mut summary.series[slot];
            s.years.push(t.required(row, year)?);
            s.mean.push(t.required(row, mean)?);
            let ci = match (lo, hi) {
                (Some(lo), Some(hi)) => t.number(row, lo)?.zip(t.number(row, hi)?),
                _ => None,
            };
            s.ci95.push(ci);
            for (k, &(col, _)) in quantile_cols.iter().enumerate() {
                let v = t.number(row, col)?.unwrap_or(f64::NAN);
                s.quantiles[k].1.push(v);
            }
        }
        Ok(summary)
    }

    /// The series of `metric` for `subject` (empty for hedger metrics).
    pub fn get(&self, metric: &str, subject: &str) -> Option<&Series> {
        self.index.get(&(metric.to_string(), subject.to_string())).map(|&i| &self.series[i])
    }

    /// Every series of `metric`, in file order.
    pub fn of_metric<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| s.metric == metric)
    }
}

/// One row of `outcomes.csv`: a posture at the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub posture: String,
    pub count: u64,
    pub share: f64,
    pub ci95: Option<(f64, f64)>,
}

/// Parse `outcomes.csv`.
pub fn parse_outcomes(text: &str) -> Result<Vec<Outcome>, TableError> {
    let t = Csv::parse("outcomes.csv", text)?;
    let (posture, count, share) = (t.column("posture")?, t.column("count")?, t.column("share")?);
    let (lo, hi) = (t.column("ci95_low")?, t.column("ci95_high")?);
    t.rows
        .iter()
        .map(|row| {
            let c = t.text(row, count).trim();
            let count = c.parse::<u64>().map_err(|_| {
                err("outcomes.csv", format!("line {}, column `count`: `{c}` is not a whole number", row.0))
            })?;
            Ok(Outcome {
                posture: t.text(row, posture).to_string(),
                count,
                share: t.required(row, share)?,
                ci95: t.number(row, lo)?.zip(t.number(row, hi)?),
            })
        })
        .collect()
}

/// One row of `compare.csv`: the difference B - A of one cell at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub step: u64,
    pub year: f64,
    pub metric: String,
    pub subject: String,
    pub mean_a: f64,
    pub mean_b: f64,
    pub diff: f64,
    pub ci95: Option<(f64, f64)>,
    pub p_holm: Option<f64>,
    pub hedges_g: Option<f64>,
    pub significant: bool,
}

/// Parse `compare.csv`. A row is significant if its `significant` column
/// says so (when present) or its Holm-adjusted p is below 0.05.
pub fn parse_compare(text: &str) -> Result<Vec<Difference>, TableError> {
    let t = Csv::parse("compare.csv", text)?;
    let cols = ["step", "year", "metric", "subject", "mean_a", "mean_b", "diff"].map(|c| t.column(c));
    let [step, year, metric, subject, mean_a, mean_b, diff] = cols;
    let (step, year, metric, subject, mean_a, mean_b, diff) =
        (step?, year?, metric?, subject?, mean_a?, mean_b?, diff?);
    let (lo, hi) = (t.optional_column("ci95_low"), t.optional_column("ci95_high"));
    let (p_holm, g, sig) =
        (t.optional_column("p_holm"), t.optional_column("hedges_g"), t.optional_column("significant"));
    t.rows
        .iter()
        .map(|row| {
            let p = p_holm.map(|c| t.number(row, c)).transpose()?.flatten();
            let significant = match sig {
                Some(c) => matches!(t.text(row, c).trim(), "true" | "1" | "yes" | "*"),
                None => p.is_some_and(|p| p < 0.05),
            };
            let ci = match (lo, hi) {
                (Some(lo), Some(hi)) => t.number(row, lo)?.zip(t.number(row, hi)?),
                _ => None,
            };
            Ok(Difference {
                step: t.required(row, step)? as u64,
                year: t.required(row, year)?,
                metric: t.text(row, metric).to_string(),
                subject: t.text(row, subject).to_string(),
                mean_a: t.required(row, mean_a)?,
                mean_b: t.required(row, mean_b)?,
                diff: t.required(row, diff)?,
                ci95: ci,
                p_holm: p,
                hedges_g: g.map(|c| t.number(row, c)).transpose()?.flatten(),
                significant,
            })
        })
        .collect()
}

/// One row of a Sobol `sensitivity.csv` (issue 10).
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndex {
    pub outcome: String,
    pub parameter: String,
    pub s1: f64,
    pub s1_ci95: Option<f64>,
    pub st: f64,
    pub st_ci95: Option<f64>,
}

/// One row of a Morris `sensitivity.csv` (issue 10).
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisIndex {
    pub outcome: String,
    pub parameter: String,
    pub mu_star: f64,
    pub sigma: f64,
    pub mu_star_ci95: Option<f64>,
}

/// `sensitivity.csv` of either design.
#[derive(Debug, Clone, PartialEq)]
pub enum Sensitivity {
    Sobol(Vec<SobolIndex>),
    Morris(Vec<MorrisIndex>),
}

/// Parse `sensitivity.csv`: Sobol (`S1`, `ST` columns) or Morris
/// (`mu_star`, `sigma` columns).
pub fn parse_sensitivity(text: &str) -> Result<Sensitivity, TableError> {
    let t = Csv::parse("sensitivity.csv", text)?;
    let (outcome, parameter) = (t.column("outcome")?, t.column("parameter")?);
    if t.optional_column("S1").is_some() {
        let (s1, st) = (t.column("S1")?, t.column("ST")?);
        let (s1c, stc) = (t.optional_column("S1_ci95"), t.optional_column("ST_ci95"));
        let rows = t
            .rows
            .iter()
            .map(|row| {
                Ok(SobolIndex {
                    outcome: t.text(row, outcome).to_string(),
                    parameter: t.text(row, parameter).to_string(),
                    s1: t.required(row, s1)?,
                    s1_ci95: s1c.map(|c| t.number(row, c)).transpose()?.flatten(),
                    st: t.required(row, st)?,
                    st_ci95: stc.map(|c| t.number(row, c)).transpose()?.flatten(),
                })
            })
            .collect::<Result<_, TableError>>()?;
        return Ok(Sensitivity::Sobol(rows));
    }
    let (mu_star, sigma) = (t.column("mu_star")?, t.column("sigma")?);
    let conf = t.optional_column("mu_star_ci95");
    let rows = t
        .rows
        .iter()
        .map(|row| {
            Ok(MorrisIndex {
                outcome: t.text(row, outcome).to_string(),
                parameter: t.text(row, parameter).to_string(),
                mu_star: t.required(row, mu_star)?,
                sigma: t.required(row, sigma)?,
                mu_star_ci95: conf.map(|c| t.number(row, c)).transpose()?.flatten(),
            })
        })
        .collect::<Result<_, TableError>>()?;
    Ok(Sensitivity::Morris(rows))
}

/// `design.csv`: parameter names (by path) and one row of values per point.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub parameters: Vec<String>,
    pub points: Vec<Vec<f64>>,
}

/// Parse `design.csv` (`point` then one column per parameter).
pub fn parse_design(text: &str) -> Result<Design, TableError> {
    let t = Csv::parse("design.csv", text)?;
    let point = t.column("point")?;
    let params: Vec<usize> = (0..t.header.len()).filter(|&i| i != point).collect();
    let points = t
        .rows
        .iter()
        .map(|row| params.iter().map(|&c| t.required(row, c)).collect::<Result<Vec<_>, _>>())
        .collect::<Result<_, _>>()?;
    Ok(Design { parameters: params.iter().map(|&c| t.header[c].clone()).collect(), points })
}

/// One row of `points.csv`: an outcome's mean at one design point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointOutcome {
    pub point: usize,
    pub outcome: String,
    pub mean: f64,
}

/// Parse `points.csv` (only `point`, `outcome` and `mean` are used).
pub fn parse_points(text: &str) -> Result<Vec<PointOutcome>, TableError> {
    let t = Csv::parse("points.csv", text)?;
    let (point, outcome, mean) = (t.column("point")?, t.column("outcome")?, t.column("mean")?);
    t.rows
        .iter()
        .map(|row| {
            Ok(PointOutcome {
                point: t.required(row, point)? as usize,
                outcome: t.text(row, outcome).to_string(),
                mean: t.required(row, mean)?,
            })
        })
        .collect()
}

/// One step of a PRIM peeling trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct PeelStep {
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    pub restricted: usize,
}

/// The limits of the chosen box on one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxLimit {
    pub parameter: String,
    pub low: f64,
    pub high: f64,
}

/// A PRIM result: the trajectory, the index of the chosen step, its box.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub outcome: String,
    pub steps: Vec<PeelStep>,
    pub chosen: usize,
    pub limits: Vec<BoxLimit>,
}

/// Parse a `discovery.csv` in the long form
/// `kind,step,coverage,density,mass,restricted,parameter,low,high`:
/// `kind = peel` rows hold the trajectory, `kind = box` rows the chosen
/// box's limits (with `step` the chosen step).
pub fn parse_discovery(outcome: &str, text: &str) -> Result<Discovery, TableError> {
    let t = Csv::parse("discovery.csv", text)?;
    let kind = t.column("kind")?;
    let step = t.column("step")?;
    let (coverage, density, mass, restricted) =
        (t.column("coverage")?, t.column("density")?, t.column("mass")?, t.column("restricted")?);
    let (parameter, low, high) = (t.column("parameter")?, t.column("low")?, t.column("high")?);
    let mut d = Discovery { outcome: outcome.to_string(), steps: Vec::new(), chosen: 0, limits: Vec::new() };
    for row in &t.rows {
        match t.text(row, kind) {
            "peel" => d.steps.push(PeelStep {
                coverage: t.required(row, coverage)?,
                density: t.required(row, density)?,
                mass: t.required(row, mass)?,
                restricted: t.required(row, restricted)? as usize,
            }),
            "box" => {
                d.chosen = t.required(row, step)? as usize;
                d.limits.push(BoxLimit {
                    parameter: t.text(row, parameter).to_string(),
                    low: t.required(row, low)?,
                    high: t.required(row, high)?,
                });
            }
            other => {
                return Err(err("discovery.csv", format!("line {}: kind `{other}`; expected `peel` or `box`", row.0)));
            }
        }
    }
    if d.chosen >= d.steps.len().max(1) {
        return Err(err("discovery.csv", format!("the chosen step {} is not in the trajectory", d.chosen)));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_columns() {
        assert_eq!(quantile_level("p05"), Some(0.05));
        assert_eq!(quantile_level("p97.5"), Some(0.975));
        assert_eq!(quantile_level("pressure"), None);
        assert_eq!(quantile_level("p"), None);
    }

    #[test]
    fn summary_groups_rows_by_cell() {
        let text = "step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max,p05,p50,p95\n\
                    0,2023,hhi,,2,0.2,,,,,0.2,0.2,0.2,0.2,0.2\n\
                    0,2023,trade_share,RU,2,0.3,0.1,0.07,0.1,0.5,0.2,0.4,0.2,0.3,0.4\n\
                    1,2024,hhi,,2,0.25,0.01,0.007,0.2,0.3,0.24,0.26,0.24,0.25,0.26\n\
                    1,2024,trade_share,RU,2,0.35,0.1,0.07,0.1,0.6,0.2,0.5,0.2,0.35,0.5\n";
        let s = Summary::parse(text).unwrap();
        assert_eq!(s.series.len(), 2);
        let ru = s.get("trade_share", "RU").unwrap();
        assert_eq!(ru.years, vec![2023.0, 2024.0]);
        assert_eq!(ru.quantile(0.95), Some(&[0.4, 0.5][..]));
        assert_eq!(s.get("hhi", "").unwrap().ci95, vec![None, Some((0.2, 0.3))]);
        let only = Summary::parse_metrics(text, &|m| m == "hhi").unwrap();
        assert_eq!(only.series.len(), 1);
        assert!(only.get("trade_share", "RU").is_none());
    }

    #[test]
    fn bad_numbers_name_line_and_column() {
        let e = Summary::parse("step,year,metric,subject,mean\n0,20x3,hhi,,1\n").unwrap_err();
        assert_eq!(e.to_string(), "summary.csv: line 2, column `year`: `20x3` is not a number");
        let e = parse_outcomes("posture,count,share\n").unwrap_err();
        assert!(e.to_string().contains("no `ci95_low` column"), "{e}");
    }

    #[test]
    fn sensitivity_kinds() {
        let s = parse_sensitivity("outcome,parameter,S1,S1_ci95,ST,ST_ci95\ny,a,0.3,0.01,0.5,0.02\n").unwrap();
        assert!(matches!(s, Sensitivity::Sobol(ref r) if r[0].st == 0.5 && r[0].s1_ci95 == Some(0.01)));
        let m = parse_sensitivity("outcome,parameter,mu,mu_star,sigma,mu_star_ci95\ny,a,0.1,0.2,0.3,\n").unwrap();
        assert!(matches!(m, Sensitivity::Morris(ref r) if r[0].mu_star_ci95.is_none() && r[0].sigma == 0.3));
    }

    #[test]
    fn discovery_long_form() {
        let text = "kind,step,coverage,density,mass,restricted,parameter,low,high\n\
                    peel,0,1,0.2,1,0,,,\npeel,1,0.9,0.4,0.5,1,,,\nbox,1,,,,,a,0,0.5\n";
        let d = parse_discovery("y", text).unwrap();
        assert_eq!((d.steps.len(), d.chosen, d.limits.len()), (2, 1, 1));
        assert!(
            parse_discovery("y", "kind,step,coverage,density,mass,restricted,parameter,low,high\nbox,4,,,,,a,0,1\n")
                .is_err()
        );
    }
}
