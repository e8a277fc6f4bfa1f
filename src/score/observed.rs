//! Reading the observations file of `hedgesim score`: a tidy CSV with the
//! columns `year, metric, subject, value` (found by name; other columns,
//! such as `source`, are ignored). `subject` is empty for hedger-level
//! metrics such as `trade_total_usd_bn`, as in `summary.csv`.
//!
//! Everything here is user input: every error names the file, the line,
//! the column and the fix, and nothing panics.

use std::collections::HashSet;

/// One observed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub year: f64,
    pub metric: String,
    pub subject: String,
    pub value: f64,
}

const COLUMNS: [&str; 4] = ["year", "metric", "subject", "value"];

/// Parse the observations file `name` (used in messages) with contents
/// `text`. Every problem is reported, one per line.
pub fn parse_observations(name: &str, text: &str) -> Result<Vec<Observation>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("{name}:1: cannot read the header: {e}"))?.clone();
    let mut idx = [0usize; 4];
    for (slot, col) in idx.iter_mut().zip(COLUMNS) {
        *slot = headers.iter().position(|h| h.trim() == col).ok_or_else(|| {
            format!(
                "{name}:1: missing column `{col}`\n  help: the observations file is a CSV with the header `year,metric,subject,value` (other columns are ignored); found `{}`",
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })?;
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!(
                    "{name}:{line}: {e}\n  help: every row needs the same number of fields as the header"
                ));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(idx[i]).unwrap_or("").trim().to_string();
        let (year_text, metric, subject, value_text) = (field(0), field(1), field(2), field(3));
        let year = match parse_finite(&year_text) {
            Some(y) => y,
            None => {
                errors.push(format!(
                    "{name}:{line}: column `year`: `{year_text}` is not a year\n  help: write a number such as 2023"
                ));
                continue;
            }
        };
        let value = match parse_finite(&value_text) {
            Some(v) => v,
            None => {
                errors.push(format!(
                    "{name}:{line}: column `value`: `{value_text}` is not a finite number\n  help: write the observed value, e.g. 0.2154 for a share"
                ));
                continue;
            }
        };
        if metric.is_empty() {
            errors.push(format!(
                "{name}:{line}: column `metric` is empty\n  help: use a metric name of summary.csv, e.g. trade_share"
            ));
            continue;
        }
        if !seen.insert((year.to_bits(), metric.clone(), subject.clone())) {
            errors.push(format!(
                "{name}:{line}: duplicate observation of `{}` in {year}\n  help: keep one row per year, metric and subject",
                display_key(&metric, &subject)
            ));
            continue;
        }
        out.push(Observation { line, year, metric, subject, value });
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    if out.is_empty() {
        return Err(format!("{name}: no observations\n  help: add rows `year,metric,subject,value` below the header"));
    }
    Ok(out)
}

fn parse_finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `metric` for hedger metrics, `metric.subject` otherwise (the `runs.csv`
/// column name).
pub fn display_key(metric: &str, subject: &str) -> String {
    if subject.is_empty() { metric.to_string() } else { format!("{metric}.{subject}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_by_name_and_ignores_others() {
        let text = "source,value,metric,year,subject\nx,0.2,trade_share,2023,CN\ny,139.5,trade_total_usd_bn,2023,\n";
        let obs = parse_observations("o.csv", text).unwrap();
        assert_eq!(obs.len(), 2);
        assert_eq!(
            obs[0],
            Observation { line: 2, year: 2023.0, metric: "trade_share".into(), subject: "CN".into(), value: 0.2 }
        );
        assert_eq!(obs[1].subject, "");
        assert_eq!(obs[1].line, 3);
    }

    #[test]
    fn reports_every_bad_line_with_its_number() {
        let text = "year,metric,subject,value\n2023,trade_share,CN,abc\nx,trade_share,RU,0.1\n2023,trade_share,EU,nan\n2023,trade_share,EU,0.3\n2023,trade_share,EU,0.3\n";
        let e = parse_observations("o.csv", text).unwrap_err();
        assert!(e.contains("o.csv:2: column `value`"), "{e}");
        assert!(e.contains("o.csv:3: column `year`"), "{e}");
        assert!(e.contains("o.csv:4: column `value`"), "{e}");
        assert!(e.contains("o.csv:6: duplicate observation of `trade_share.EU`"), "{e}");
        assert!(!e.contains("o.csv:5"), "{e}");
    }

    #[test]
    fn a_missing_column_or_an_empty_file_is_an_error() {
        let e = parse_observations("o.csv", "year,metric,value\n2023,hhi,0.2\n").unwrap_err();
        assert!(e.contains("missing column `subject`"), "{e}");
        let e = parse_observations("o.csv", "year,metric,subject,value\n").unwrap_err();
        assert!(e.contains("no observations"), "{e}");
        let e = parse_observations("o.csv", "year,metric,subject,value\n2023,hhi\n").unwrap_err();
        assert!(e.contains("o.csv:2"), "{e}");
    }
}
