//! The output metrics: their names, subjects and order, and how one state
//! is turned into one row of values.
//!
//! A run's trajectory is a flat `Vec<f64>` of `(K + 1) x cells` values, row
//! `k` holding every metric at step `k` in the order of [`MetricLayout`]:
//! hedger metrics, then per-partner metrics (metric-major), then per-group
//! metrics. `summary.csv` and `runs.csv` use the same order.

use crate::scenario::Scenario;

/// Hedger-level metrics (subject empty).
pub const HEDGER_METRICS: [&str; 5] =
    ["trade_total_usd_bn", "hhi", "effective_partners", "strategic_space", "coercion_events_total"];
/// Per-partner metrics (subject = partner id).
pub const PARTNER_METRICS: [&str; 7] = [
    "trade_share",
    "trade_usd_bn",
    "trade_attention",
    "diplomatic_attention",
    "engagement",
    "pressure",
    "coercion_events",
];
/// Per-group metrics (subject = group label).
pub const GROUP_METRICS: [&str; 2] = ["group_share", "group_attention"];

/// Time-resolved posture shares (subject = posture label) in `summary.csv`.
pub const POSTURE_SHARE: &str = "posture_share";
/// Share of runs in which an event is active (subject = event name).
pub const EVENT_ACTIVE: &str = "event_active";

/// Every metric name that `[outputs] metrics` may select.
pub fn output_metrics() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = HEDGER_METRICS.to_vec();
    all.extend(PARTNER_METRICS);
    all.extend(GROUP_METRICS);
    all.extend([POSTURE_SHARE, EVENT_ACTIVE]);
    all
}

/// Metrics whose values are whole numbers (their quantiles are rounded).
pub fn is_count(metric: &str) -> bool {
    matches!(metric, "coercion_events" | "coercion_events_total")
}

/// One output cell: a metric of a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub metric: &'static str,
    /// Partner id, group label, or empty for hedger-level metrics.
    pub subject: String,
}

impl Cell {
    /// Column name in `runs.csv`: `metric` or `metric.subject`.
    pub fn column(&self) -> String {
        if self.subject.is_empty() { self.metric.to_string() } else { format!("{}.{}", self.metric, self.subject) }
    }
}

/// The order of cells in a row.
#[derive(Debug, Clone)]
pub struct MetricLayout {
    pub cells: Vec<Cell>,
    pub partners: usize,
    pub groups: usize,
}

impl MetricLayout {
    pub fn new(scenario: &Scenario) -> Self {
        let mut cells: Vec<Cell> =
            HEDGER_METRICS.iter().map(|&metric| Cell { metric, subject: String::new() }).collect();
        for &metric in &PARTNER_METRICS {
            cells.extend(scenario.partners.iter().map(|p| Cell { metric, subject: p.id.clone() }));
        }
        for &metric in &GROUP_METRICS {
            cells.extend(scenario.groups.iter().map(|g| Cell { metric, subject: g.clone() }));
        }
        Self { cells, partners: scenario.partners.len(), groups: scenario.groups.len() }
    }

    /// Values per row.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Offset of the first cell of partner metric number `m` (in [`PARTNER_METRICS`]).
    pub fn partner_block(&self, m: usize) -> usize {
        HEDGER_METRICS.len() + m * self.partners
    }

    /// Offset of the first cell of group metric number `m` (in [`GROUP_METRICS`]).
    pub fn group_block(&self, m: usize) -> usize {
        HEDGER_METRICS.len() + PARTNER_METRICS.len() * self.partners + m * self.groups
    }
}
