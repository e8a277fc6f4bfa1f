//! The `--metric` selection: which rows a comparison keeps, validated
//! against both results, and the order in which rows are shown.
//!
//! Names are `metric` (every subject), `metric.subject`, `posture` (every
//! posture) or `posture.<label>`. Rows are ranked so that what the user
//! asked for comes first, in the order asked; without `--metric`, the trade
//! shares come first, then group shares, then the hedger's own metrics, then
//! the rest (attention, engagement, pressure ...), whose effect sizes are
//! often huge but which are rarely the question.

use std::collections::HashSet;

use super::error::CompareError;
use super::load::{ResultDir, SummaryRow};

/// One `--metric` name, parsed.
#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Metric(String),
    Key(String),
    AllPostures,
    Posture(String),
}

/// The `--metric` selection, validated against both results.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    selectors: Vec<Selector>,
}

impl Filter {
    pub fn new(names: &[String], a: &ResultDir, b: &ResultDir) -> Result<Filter, CompareError> {
        let rows = || a.summary.iter().chain(&b.summary);
        let metric_names: Vec<&str> = {
            let mut seen = Vec::new();
            for r in rows() {
                if !seen.contains(&r.metric.as_str()) {
                    seen.push(r.metric.as_str());
                }
            }
            seen
        };
        let keys: HashSet<String> = rows().map(SummaryRow::key).collect();
        let mut labels: Vec<&str> = Vec::new();
        for o in a.outcomes.iter().chain(&b.outcomes) {
            if !labels.contains(&o.posture.as_str()) {
                labels.push(o.posture.as_str());
            }
        }
        let mut selectors = Vec::new();
        for name in names {
            let name = name.trim();
            let s = if name == "posture" {
                Selector::AllPostures
            } else if let Some(label) = name.strip_prefix("posture.") {
                if !labels.contains(&label) {
                    return Err(CompareError::UnknownMetric {
                        name: name.to_string(),
                        hint: format!(
                            "posture `{label}` occurred in neither result; the postures that occurred are {}",
                            labels.join(", ")
                        ),
                    });
                }
                Selector::Posture(label.to_string())
            } else if metric_names.contains(&name) {
                Selector::Metric(name.to_string())
            } else if keys.contains(name) {
                Selector::Key(name.to_string())
            } else {
                return Err(unknown(name, &metric_names, a));
            };
            if !selectors.contains(&s) {
                selectors.push(s);
            }
        }
        Ok(Filter { selectors })
    }

    fn all(&self) -> bool {
        self.selectors.is_empty()
    }

    /// Whether the metric row `r` is compared.
    pub fn keeps(&self, r: &SummaryRow) -> bool {
        self.all() || self.position(r).is_some()
    }

    /// Whether `r` was asked for by name (`--metric`).
    pub fn names(&self, r: &SummaryRow) -> bool {
        self.position(r).is_some()
    }

    fn position(&self, r: &SummaryRow) -> Option<usize> {
        let key = r.key();
        self.selectors.iter().position(|s| match s {
            Selector::Metric(m) => *m == r.metric,
            Selector::Key(k) => *k == key,
            _ => false,
        })
    }

    /// Whether any posture is asked for.
    pub fn wants_postures(&self) -> bool {
        self.all() || self.selectors.iter().any(|s| matches!(s, Selector::AllPostures | Selector::Posture(_)))
    }

    /// Whether the posture `label` is compared.
    pub fn keeps_posture(&self, label: &str) -> bool {
        self.all()
            || self.selectors.iter().any(|s| match s {
                Selector::AllPostures => true,
                Selector::Posture(l) => l == label,
                _ => false,
            })
    }

    /// Rank of a metric row: lower comes first. With `--metric`, the
    /// position of the first name that selects it; without, trade shares
    /// (0), group shares (1), the hedger's metrics (2), the rest (3).
    pub fn rank(&self, r: &SummaryRow) -> usize {
        if let Some(p) = self.position(r) {
            return p;
        }
        match r.metric.as_str() {
            "trade_share" => 0,
            "group_share" => 1,
            _ if r.subject.is_empty() => 2,
            _ => 3,
        }
    }
}

fn unknown(name: &str, metric_names: &[&str], a: &ResultDir) -> CompareError {
    let metric = name.split('.').next().unwrap_or(name);
    let hint = if metric_names.contains(&metric) {
        let subjects: Vec<String> = a
            .summary
            .iter()
            .filter(|r| r.metric == metric && r.step == a.manifest.steps)
            .map(|r| r.subject.clone())
            .collect();
        format!("`{metric}` has the subjects {}; write `{metric}.<subject>` or just `{metric}`", subjects.join(", "))
    } else {
        format!(
            "the metrics are {}, posture; give a metric name, `metric.subject` (e.g. `trade_share.RU`) or \
             `posture.<label>`",
            metric_names.join(", ")
        )
    };
    CompareError::UnknownMetric { name: name.to_string(), hint }
}
