//! The HTML report of issue 11: from a result's tables to `report.html` and
//! `charts/*.svg`. A pure room: every function here takes parsed tables (or
//! their text) and returns bytes; reading and writing files is the caller's
//! job (`app::finish`, `app::compare`, `app::report`).
//!
//! Charts are drawn by [`plotters`] with only its SVG backend (no font
//! libraries: the SVG holds `<text>` elements that the browser sets), the
//! page by a [`minijinja`] template (`templates/report.html`) with HTML
//! auto-escaping, so every name read from a scenario file is escaped. See
//! `docs/report.md` for what each chart shows and the colour rule.

pub mod charts;
pub mod data;
pub mod palette;
pub mod svg;

use serde::Serialize;

use crate::model::metrics::is_count;
use crate::output::manifest::Manifest;
use crate::scenario::{Scenario, Timing};
use charts::{BandLine, FanSpec, IntervalRow, Stacked, cell, slug};
pub use charts::{Chart, EventMark, Table};
pub use data::{Design, Difference, Discovery, Outcome, PointOutcome, Sensitivity, Summary, TableError};
use palette::{GREY, Rgb};

const TEMPLATE: &str = include_str!("templates/report.html");

/// A report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Chart(#[from] svg::ChartError),
    #[error("cannot render the report page: {0}")]
    Template(String),
    #[error("{0}")]
    Input(String),
}

/// A built report: the page and its charts (also written as files).
#[derive(Debug, Clone)]
pub struct Report {
    pub html: String,
    pub charts: Vec<Chart>,
}

impl Report {
    /// The files to write, relative to the result directory.
    pub fn files(&self) -> Vec<(String, &[u8])> {
        let mut files = vec![("report.html".to_string(), self.html.as_bytes())];
        files.extend(self.charts.iter().map(|c| (format!("charts/{}", c.file), c.svg.as_bytes())));
        files
    }
}

/// A partner or group as the report names and colours it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub id: String,
    pub name: String,
    pub group: String,
    pub colour: Rgb,
}

/// What the report needs to know about the scenario of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub hedger: String,
    pub base_year: f64,
    pub horizon: f64,
    pub partners: Vec<Subject>,
    pub groups: Vec<Subject>,
    pub events: Vec<EventMark>,
}

impl ScenarioInfo {
    /// From a validated scenario (partners coloured by the rule of
    /// [`palette`]).
    pub fn from_scenario(s: &Scenario) -> ScenarioInfo {
        let ids = s.partner_ids();
        let colours = palette::assign(&ids);
        let group_colours = palette::assign(&s.groups);
        let partners = s
            .partners
            .iter()
            .zip(colours)
            .map(|(p, colour)| Subject {
                id: p.id.clone(),
                name: p.name.clone(),
                group: s.groups.get(p.group).cloned().unwrap_or_default(),
                colour,
            })
            .collect();
        let groups = s
            .groups
            .iter()
            .zip(group_colours)
            .map(|(g, colour)| Subject { id: g.clone(), name: g.replace('_', " "), group: g.clone(), colour })
            .collect();
        let (base, horizon) = (f64::from(s.base_year), f64::from(s.horizon));
        let events = s
            .events
            .iter()
            .map(|e| match e.timing {
                Timing::Scheduled { at, duration, .. } => EventMark {
                    name: e.name.clone(),
                    hazard: false,
                    start: at,
                    end: duration.map_or(horizon, |d| (at + d).min(horizon)),
                },
                Timing::Hazard { from, until, .. } => EventMark {
                    name: e.name.clone(),
                    hazard: true,
                    start: from.unwrap_or(base),
                    end: until.unwrap_or(horizon),
                },
            })
            .collect();
        ScenarioInfo {
            name: s.name.clone(),
            description: s.description.clone(),
            hedger: s.hedger.name.clone(),
            base_year: base,
            horizon,
            partners,
            groups,
            events,
        }
    }

    /// From a manifest alone (when the scenario copy cannot be read):
    /// partners and groups by id, no events.
    pub fn from_manifest(m: &Manifest) -> ScenarioInfo {
        let subjects = |ids: &[String], group: bool| {
            ids.iter()
                .zip(palette::assign(ids))
                .map(|(id, colour)| Subject {
                    id: id.clone(),
                    name: if group { id.replace('_', " ") } else { id.clone() },
                    group: if group { id.clone() } else { String::new() },
                    colour,
                })
                .collect()
        };
        ScenarioInfo {
            name: m.scenario.clone(),
            description: String::new(),
            hedger: String::new(),
            base_year: f64::from(m.base_year),
            horizon: f64::from(m.horizon),
            partners: subjects(&m.partners, false),
            groups: subjects(&m.groups, true),
            events: Vec::new(),
        }
    }

    fn partner(&self, id: &str) -> Option<&Subject> {
        self.partners.iter().find(|p| p.id == id)
    }

    fn group(&self, id: &str) -> Option<&Subject> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The colour of a metric's subject (partner, group, or a posture's partner).
    pub fn colour(&self, metric: &str, subject: &str) -> Rgb {
        let partner = subject.split_once(':').map_or(subject, |(_, id)| id);
        if metric == "posture_share" && subject == "hedging" {
            return HEDGING;
        }
        self.partner(partner).or_else(|| self.group(subject)).map_or(palette::OKABE_ITO[4], |s| s.colour)
    }

    /// A readable name of a metric and subject (`Trade share: Russia (RU)`).
    pub fn label(&self, metric: &str, subject: &str) -> String {
        let who = match self.partner(subject) {
            Some(p) => format!("{} ({})", p.name, p.id),
            None => match self.group(subject) {
                Some(g) => format!("group {}", g.name),
                None => subject.to_string(),
            },
        };
        let what = match metric {
            "trade_share" | "group_share" => "Trade share",
            "strategic_space" => "Strategic space",
            "hhi" => "Trade concentration (HHI)",
            "effective_partners" => "Effective number of partners",
            "coercion_events_total" => "Coercion events (all partners)",
            "coercion_events" => "Coercion events",
            "trade_total_usd_bn" => "Total trade",
            "trade_usd_bn" => "Trade",
            "posture_share" => "Posture share",
            other => other,
        };
        if subject.is_empty() { what.to_string() } else { format!("{what}: {who}") }
    }
}

const HEDGING: Rgb = (0x55, 0x55, 0x55);

/// The metrics a run's report draws (the others need not be parsed).
pub fn run_report_metric(metric: &str) -> bool {
    matches!(
        metric,
        "trade_share" | "group_share" | "strategic_space" | "hhi" | "coercion_events_total" | "posture_share"
    )
}

/// The y-axis title (with units) of a metric.
pub fn unit(metric: &str) -> &str {
    match metric {
        "trade_share" | "group_share" => "share of the hedger's trade (0-1)",
        "strategic_space" => "strategic space index (0-1)",
        "hhi" => "Herfindahl-Hirschman index (0-1)",
        "effective_partners" => "effective partners (1/HHI)",
        "coercion_events_total" | "coercion_events" => "coercion events per run (cumulative)",
        "trade_total_usd_bn" | "trade_usd_bn" => "US$ bn per year",
        "trade_attention" | "diplomatic_attention" | "group_attention" => "share of attention (0-1)",
        "posture_share" => "share of runs (0-1)",
        other => other,
    }
}

/// A metric and subject (`trade_share.RU`, `strategic_space`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricKey {
    pub metric: String,
    pub subject: String,
}

impl MetricKey {
    /// Parse `metric` or `metric.subject`.
    pub fn parse(text: &str) -> MetricKey {
        match text.split_once('.') {
            Some((m, s)) => MetricKey { metric: m.into(), subject: s.into() },
            None => MetricKey { metric: text.into(), subject: String::new() },
        }
    }

    pub fn text(&self) -> String {
        if self.subject.is_empty() { self.metric.clone() } else { format!("{}.{}", self.metric, self.subject) }
    }

    fn file(&self) -> String {
        slug(&self.text().replace('.', "-"))
    }
}

/// The key metrics of issue 11 that `summary` holds: the great powers'
/// trade shares (partners of group `great_power`, else RU and CN), Southeast
/// Asia's group share, strategic space, HHI and coercion events.
pub fn key_metrics(info: &ScenarioInfo, summary: &Summary) -> Vec<MetricKey> {
    let mut keys: Vec<MetricKey> = info
        .partners
        .iter()
        .filter(|p| p.group == "great_power")
        .map(|p| MetricKey { metric: "trade_share".into(), subject: p.id.clone() })
        .collect();
    if keys.is_empty() {
        keys =
            ["RU", "CN"].iter().map(|id| MetricKey { metric: "trade_share".into(), subject: (*id).into() }).collect();
    }
    keys.push(MetricKey { metric: "group_share".into(), subject: "southeast_asia".into() });
    for m in ["strategic_space", "hhi", "coercion_events_total"] {
        keys.push(MetricKey { metric: m.into(), subject: String::new() });
    }
    keys.retain(|k| summary.get(&k.metric, &k.subject).is_some());
    keys
}

#[derive(Serialize)]
struct ChartCtx<'a> {
    file: &'a str,
    caption: &'a str,
    svg: &'a str,
    table: &'a Table,
}

#[derive(Serialize)]
struct SectionCtx<'a> {
    anchor: String,
    heading: String,
    intro: String,
    table: Option<&'a Table>,
    grid: bool,
    charts: Vec<ChartCtx<'a>>,
}

#[derive(Serialize)]
struct PageCtx<'a> {
    version: &'static str,
    title: String,
    lead: String,
    meta: Vec<(String, String)>,
    sections: Vec<SectionCtx<'a>>,
}

/// A section of a page under construction: charts by index into the
/// report's chart list.
struct Section {
    heading: String,
    intro: String,
    table: Option<Table>,
    grid: bool,
    charts: Vec<usize>,
}

impl Section {
    fn new(heading: &str, intro: &str) -> Section {
        Section { heading: heading.into(), intro: intro.into(), table: None, grid: false, charts: Vec::new() }
    }
}

/// Render the page from its sections and charts.
fn page(
    title: String,
    lead: String,
    meta: Vec<(String, String)>,
    sections: &[Section],
    charts: Vec<Chart>,
) -> Result<Report, ReportError> {
    let ctx = PageCtx {
        version: env!("CARGO_PKG_VERSION"),
        title,
        lead,
        meta,
        sections: sections
            .iter()
            .enumerate()
            .map(|(i, s)| SectionCtx {
                anchor: format!("s{}", i + 1),
                heading: s.heading.clone(),
                intro: s.intro.clone(),
                table: s.table.as_ref(),
                grid: s.grid,
                charts: s
                    .charts
                    .iter()
                    .map(|&c| ChartCtx {
                        file: &charts[c].file,
                        caption: &charts[c].caption,
                        svg: &charts[c].svg,
                        table: &charts[c].table,
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE).map_err(|e| ReportError::Template(e.to_string()))?;
    let html = env
        .get_template("report.html")
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&ctx))))
        .map_err(|e| ReportError::Template(e.to_string()))?;
    Ok(Report { html, charts })
}

/// The inputs of a run's report.
pub struct RunInputs<'a> {
    pub info: &'a ScenarioInfo,
    pub manifest: &'a Manifest,
    pub summary: &'a Summary,
    pub outcomes: &'a [Outcome],
}

fn horizon_row(label: &str, s: &data::Series) -> Vec<String> {
    let last = s.last().unwrap_or(0);
    let q = |l: f64| s.quantile(l).and_then(|v| v.get(last)).map_or_else(String::new, |v| cell(*v));
    vec![
        label.to_string(),
        cell(s.mean.get(last).copied().unwrap_or(f64::NAN)),
        s.ci95
            .get(last)
            .copied()
            .flatten()
            .map_or_else(String::new, |(lo, hi)| format!("[{}, {}]", cell(lo), cell(hi))),
        q(0.05),
        q(0.5),
        q(0.95),
    ]
}

fn horizon_columns() -> Vec<String> {
    ["metric", "mean", "95% CI of mean", "p05", "p50", "p95"].map(String::from).to_vec()
}

/// The report of one result (`run`, `merge`, or `hedgesim report DIR`).
pub fn run_report(input: &RunInputs<'_>) -> Result<Report, ReportError> {
    let info = input.info;
    let m = input.manifest;
    let mut charts = Vec::new();
    let mut sections = Vec::new();

    let keys = key_metrics(info, input.summary);
    let mut overview = Section::new(
        &format!("Key metrics at the horizon ({})", info.horizon),
        "Mean across runs with its 95% confidence interval, and the 5th, 50th and 95th percentiles of the runs.",
    );
    let mut table = Table { columns: horizon_columns(), rows: Vec::new() };
    let mut fans = Section::new(
        "Fan charts",
        "Nested bands between symmetric quantiles of the runs (darker: more central), the median (solid) and the mean (dashed); the dashed vertical line is the base year; shaded windows are scheduled events, orange strips at the bottom hazard windows (random onsets possible).",
    );
    for k in &keys {
        let Some(s) = input.summary.get(&k.metric, &k.subject) else { continue };
        let label = info.label(&k.metric, &k.subject);
        table.rows.push(horizon_row(&label, s));
        let spec = FanSpec {
            file: format!("fan-{}.svg", k.file()),
            title: label,
            y_desc: unit(&k.metric).into(),
            colour: info.colour(&k.metric, &k.subject),
            events: &info.events,
            base_year: info.base_year,
            y_range: None,
            small: false,
        };
        fans.charts.push(charts.len());
        charts.push(charts::fan(&spec, s)?);
    }
    overview.table = Some(table);
    sections.push(overview);
    sections.push(fans);

    let mut composition = Section::new(
        "Composition of trade",
        "Mean trade shares across runs, stacked; each partner keeps its colour on every chart.",
    );
    let partner_parts: Vec<Stacked<'_>> = info
        .partners
        .iter()
        .filter_map(|p| {
            input.summary.get("trade_share", &p.id).map(|s| Stacked {
                label: format!("{} ({})", p.name, p.id),
                colour: p.colour,
                series: s,
            })
        })
        .collect();
    if !partner_parts.is_empty() {
        composition.charts.push(charts.len());
        charts.push(charts::stacked(
            "composition-partners.svg",
            "Trade shares by partner (mean)",
            unit("trade_share"),
            &partner_parts,
            &info.events,
        )?);
    }
    let group_parts: Vec<Stacked<'_>> = info
        .groups
        .iter()
        .filter_map(|g| {
            input.summary.get("group_share", &g.id).map(|s| Stacked {
                label: g.name.clone(),
                colour: g.colour,
                series: s,
            })
        })
        .collect();
    if !group_parts.is_empty() {
        composition.charts.push(charts.len());
        charts.push(charts::stacked(
            "composition-groups.svg",
            "Trade shares by group (mean)",
            unit("group_share"),
            &group_parts,
            &info.events,
        )?);
    }
    sections.push(composition);

    let mut postures = Section::new(
        "Postures",
        "Share of runs in each posture (hedging, aligned with or dependent on a partner; docs/model.md), with 95% Wilson score intervals.",
    );
    if !input.outcomes.is_empty() {
        // outcomes.csv lists every posture, zeros included; the chart shows
        // hedging and the postures that occurred (the table lists all).
        let rows: Vec<IntervalRow> = input
            .outcomes
            .iter()
            .filter(|o| o.posture == "hedging" || o.share > 0.0)
            .map(|o| IntervalRow {
                label: o.posture.clone(),
                value: o.share,
                ci: o.ci95,
                colour: info.colour("posture_share", &o.posture),
                marked: true,
            })
            .collect();
        postures.charts.push(charts.len());
        charts.push(charts::bars(
            "postures-horizon.svg",
            &format!("Postures at the horizon ({})", info.horizon),
            "share of runs (0-1)",
            &rows,
            charts::SHARE_AXIS,
        )?);
    }
    let over_time: Vec<BandLine<'_>> = input
        .summary
        .of_metric("posture_share")
        .filter(|s| s.subject == "hedging" || s.mean.iter().any(|&m| m > 0.0))
        .map(|s| BandLine { label: s.subject.clone(), colour: info.colour("posture_share", &s.subject), series: s })
        .collect();
    if !over_time.is_empty() {
        postures.charts.push(charts.len());
        charts.push(charts::lines(
            "postures-over-time.svg",
            "Postures over time",
            unit("posture_share"),
            &over_time,
            (0.0, 1.0),
        )?);
    }
    sections.push(postures);

    if !info.events.is_empty() {
        let mut events = Section::new("Events", "The scenario's events as drawn on the time axes.");
        events.table = Some(Table {
            columns: ["event", "kind", "window"].map(String::from).to_vec(),
            rows: info
                .events
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        if e.hazard { "hazard (random onsets)" } else { "scheduled" }.into(),
                        format!("{} to {}", e.start, e.end),
                    ]
                })
                .collect(),
        });
        sections.push(events);
    }

    let meta = vec![
        ("scenario".into(), info.name.clone()),
        ("runs".into(), m.runs.to_string()),
        ("seed".into(), m.seed.to_string()),
        ("years".into(), format!("{} to {} ({} steps per year)", m.base_year, m.horizon, m.steps_per_year)),
        ("partners".into(), info.partners.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")),
        ("scenario file".into(), format!("{} (sha256 {})", m.scenario_file, m.scenario_sha256)),
        ("engine".into(), format!("{} {}", m.engine, m.engine_version)),
    ];
    page(format!("hedgesim result: {}", info.name), info.description.clone(), meta, &sections, charts)
}

/// The inputs of a comparison's report.
pub struct CompareInputs<'a> {
    pub name_a: &'a str,
    pub name_b: &'a str,
    /// Rows of `compare.csv`.
    pub diffs: &'a [Difference],
    pub summary_a: &'a Summary,
    pub summary_b: &'a Summary,
    /// Names and colours (from A's scenario).
    pub info: &'a ScenarioInfo,
}

fn is_share(metric: &str) -> bool {
    matches!(metric, "trade_share" | "group_share" | "hhi" | "strategic_space")
}

/// How far a difference stands out: |Hedges' g|, else |diff| over the CI half-width.
fn salience(d: &Difference) -> f64 {
    d.hedges_g.map(f64::abs).unwrap_or_else(|| match d.ci95 {
        Some((lo, hi)) if hi > lo => d.diff.abs() / ((hi - lo) / 2.0),
        _ => 0.0,
    })
}

/// The report of `compare --out`: forest plots of B - A at the compared
/// year and overlaid fans of the metrics that differ most.
pub fn compare_report(input: &CompareInputs<'_>) -> Result<Report, ReportError> {
    let info = input.info;
    let Some(step) = input.diffs.iter().map(|d| d.step).max() else {
        return Err(ReportError::Input("compare.csv has no rows".into()));
    };
    let at: Vec<&Difference> = input.diffs.iter().filter(|d| d.step == step).collect();
    let year = at.first().map_or(0.0, |d| d.year);
    let mut charts = Vec::new();
    let mut forest = Section::new(
        &format!("Differences B - A in {year}"),
        "Each row: the difference of the means with its 95% confidence interval; filled and starred rows are significant after Holm's correction for the number of rows compared.",
    );
    let row = |d: &Difference| IntervalRow {
        label: info.label(&d.metric, &d.subject),
        value: d.diff,
        ci: d.ci95,
        colour: info.colour(&d.metric, &d.subject),
        marked: d.significant,
    };
    let shares: Vec<IntervalRow> = at.iter().filter(|d| is_share(&d.metric)).map(|d| row(d)).collect();
    if !shares.is_empty() {
        forest.charts.push(charts.len());
        charts.push(charts::forest(
            "forest-shares.svg",
            "Shares and indices: B - A",
            "difference B - A (share, 0-1 scale)",
            &shares,
        )?);
    }
    let counts: Vec<IntervalRow> =
        at.iter().filter(|d| is_count(&d.metric) && (d.mean_a != 0.0 || d.mean_b != 0.0)).map(|d| row(d)).collect();
    if !counts.is_empty() {
        forest.charts.push(charts.len());
        charts.push(charts::forest(
            "forest-coercion.svg",
            "Coercion events: B - A",
            "difference B - A (events per run)",
            &counts,
        )?);
    }
    let mut ranked: Vec<&Difference> =
        at.iter().copied().filter(|d| is_share(&d.metric) || is_count(&d.metric)).collect();
    ranked.sort_by(|a, b| b.significant.cmp(&a.significant).then(salience(b).total_cmp(&salience(a))));
    let mut fans = Section::new(
        "Where A and B differ most",
        "The metrics with the largest standardised differences (Hedges' g), significant ones first: the outermost quantile band and the median of each result over time.",
    );
    for d in ranked.iter().take(4) {
        let (Some(sa), Some(sb)) =
            (input.summary_a.get(&d.metric, &d.subject), input.summary_b.get(&d.metric, &d.subject))
        else {
            continue;
        };
        let key = MetricKey { metric: d.metric.clone(), subject: d.subject.clone() };
        fans.charts.push(charts.len());
        charts.push(charts::overlaid_fans(
            &format!("compare-fan-{}.svg", key.file()),
            &info.label(&d.metric, &d.subject),
            unit(&d.metric),
            (input.name_a, sa),
            (input.name_b, sb),
        )?);
    }
    let mut table = Section::new("All differences", "Every row of compare.csv at this year.");
    table.table = Some(Table {
        columns: ["metric", "A", "B", "B - A", "95% CI", "p (Holm)", "significant"].map(String::from).to_vec(),
        rows: at
            .iter()
            .map(|d| {
                vec![
                    info.label(&d.metric, &d.subject),
                    cell(d.mean_a),
                    cell(d.mean_b),
                    cell(d.diff),
                    d.ci95.map_or_else(String::new, |(lo, hi)| format!("[{}, {}]", cell(lo), cell(hi))),
                    d.p_holm.map_or_else(String::new, |p| if p < 1e-4 { "<0.0001".into() } else { cell(p) }),
                    if d.significant { "yes" } else { "no" }.into(),
                ]
            })
            .collect(),
    });
    let meta = vec![
        ("A".into(), input.name_a.to_string()),
        ("B".into(), input.name_b.to_string()),
        ("year".into(), format!("{year}")),
    ];
    page(
        format!("hedgesim comparison: {} vs {}", input.name_b, input.name_a),
        String::new(),
        meta,
        &[forest, fans, table],
        charts,
    )
}

/// One result of a multi-result page.
pub struct ResultEntry {
    /// How the page names it (scenario name, or directory if ambiguous).
    pub label: String,
    pub info: ScenarioInfo,
    pub summary: Summary,
}

/// One page across many results: per metric, a table of the horizon
/// values ranked by mean (highest first) beside small multiples of the fans
/// on a shared y axis.
pub fn multi_report(results: &[ResultEntry], metrics: &[MetricKey]) -> Result<Report, ReportError> {
    let mut charts = Vec::new();
    let mut sections = Vec::new();
    for key in metrics {
        let present: Vec<(&ResultEntry, &data::Series)> =
            results.iter().filter_map(|r| r.summary.get(&key.metric, &key.subject).map(|s| (r, s))).collect();
        let Some((first, _)) = present.first() else { continue };
        let label = first.info.label(&key.metric, &key.subject);
        let mut ranked = present.clone();
        ranked.sort_by(|a, b| {
            let m = |s: &data::Series| s.mean.last().copied().unwrap_or(f64::NAN);
            m(b.1).total_cmp(&m(a.1))
        });
        let mut table = Table {
            columns: ["rank", "scenario", "mean", "95% CI", "p05", "p95"].map(String::from).to_vec(),
            rows: Vec::new(),
        };
        for (i, (r, s)) in ranked.iter().enumerate() {
            let mut row = vec![(i + 1).to_string()];
            let mut cells = horizon_row(&r.label, s);
            cells.remove(4);
            row.extend(cells);
            table.rows.push(row);
        }
        let y = svg::padded_range(present.iter().flat_map(|(_, s)| charts::fan_values(s)));
        let mut section = Section::new(
            &label,
            &format!("{} at the horizon, ranked by mean (highest first); fans on a common y axis.", unit(&key.metric)),
        );
        section.table = Some(table);
        section.grid = true;
        for (r, s) in &ranked {
            let spec = FanSpec {
                file: format!("multi-{}-{}.svg", key.file(), slug(&r.label)),
                title: r.label.clone(),
                y_desc: unit(&key.metric).into(),
                colour: r.info.colour(&key.metric, &key.subject),
                events: &r.info.events,
                base_year: r.info.base_year,
                y_range: Some(y),
                small: true,
            };
            section.charts.push(charts.len());
            charts.push(charts::fan(&spec, s)?);
        }
        sections.push(section);
    }
    if sections.is_empty() {
        return Err(ReportError::Input("none of the metrics is in any of the results".into()));
    }
    let meta = vec![("results".into(), results.iter().map(|r| r.label.as_str()).collect::<Vec<_>>().join(", "))];
    page(format!("hedgesim: {} results", results.len()), String::new(), meta, &sections, charts)
}

/// The tables of an explore result (issue 10), any of them optional.
#[derive(Debug, Clone, Default)]
pub struct ExploreInputs {
    pub name: String,
    pub sensitivity: Option<Sensitivity>,
    pub design: Option<Design>,
    pub points: Vec<PointOutcome>,
    pub discovery: Option<Discovery>,
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.iter().any(|o| o == i) {
            out.push(i.to_string());
        }
    }
    out
}

/// The report of an `explore` result: Sobol bars or Morris scatter per
/// outcome, each outcome against each parameter, and PRIM's trade-off.
pub fn explore_report(input: &ExploreInputs) -> Result<Report, ReportError> {
    let mut charts = Vec::new();
    let mut sections = Vec::new();
    match &input.sensitivity {
        Some(Sensitivity::Sobol(rows)) => {
            let mut s = Section::new(
                "Sobol sensitivity indices",
                "First-order S1: the share of the outcome's variance due to the parameter alone; total-order ST: including its interactions. Whiskers: bootstrap 95% intervals.",
            );
            for outcome in distinct(rows.iter().map(|r| r.outcome.as_str())) {
                let mine: Vec<data::SobolIndex> = rows.iter().filter(|r| r.outcome == outcome).cloned().collect();
                s.charts.push(charts.len());
                charts.push(charts::sobol_bars(&format!("sobol-{}.svg", slug(&outcome)), &outcome, &mine)?);
            }
            sections.push(s);
        }
        Some(Sensitivity::Morris(rows)) => {
            let mut s = Section::new(
                "Morris screening",
                "mu*: the mean absolute elementary effect (importance); sigma: their spread (non-linearity or interactions).",
            );
            for outcome in distinct(rows.iter().map(|r| r.outcome.as_str())) {
                let mine: Vec<data::MorrisIndex> = rows.iter().filter(|r| r.outcome == outcome).cloned().collect();
                s.charts.push(charts.len());
                charts.push(charts::morris_scatter(&format!("morris-{}.svg", slug(&outcome)), &outcome, &mine)?);
            }
            sections.push(s);
        }
        None => {}
    }
    if let Some(design) = &input.design {
        let mut s = Section::new(
            "Outcomes against parameters",
            "Each point is one design point: the outcome's mean over its runs against the parameter's value.",
        );
        s.grid = true;
        for outcome in distinct(input.points.iter().map(|p| p.outcome.as_str())) {
            for (j, parameter) in design.parameters.iter().enumerate() {
                let pts: Vec<(f64, f64)> = input
                    .points
                    .iter()
                    .filter(|p| p.outcome == outcome)
                    .filter_map(|p| design.points.get(p.point).and_then(|row| row.get(j)).map(|&x| (x, p.mean)))
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                s.charts.push(charts.len());
                let file = format!("scatter-{}-{}.svg", slug(&outcome), slug(parameter));
                charts.push(charts::outcome_scatter(&file, &outcome, parameter, &pts)?);
            }
        }
        sections.push(s);
    }
    if let Some(d) = &input.discovery {
        let mut s = Section::new(
            "Scenario discovery (PRIM)",
            "Peeling trades coverage for density; the chosen box and its limits are in the table.",
        );
        s.charts.push(charts.len());
        charts.push(charts::prim_tradeoff("prim.svg", d)?);
        s.table = Some(Table {
            columns: ["parameter", "low", "high"].map(String::from).to_vec(),
            rows: d.limits.iter().map(|l| vec![l.parameter.clone(), cell(l.low), cell(l.high)]).collect(),
        });
        sections.push(s);
    }
    if sections.is_empty() {
        return Err(ReportError::Input("the explore result holds no table to chart".into()));
    }
    page(format!("hedgesim experiment: {}", input.name), String::new(), Vec::new(), &sections, charts)
}

/// [`explore_report`] from the texts of the explore tables.
pub fn explore_report_from_texts(
    name: &str,
    sensitivity_csv: Option<&str>,
    design_csv: Option<&str>,
    points_csv: Option<&str>,
    discovery: Option<(&str, &str)>,
) -> Result<Report, ReportError> {
    let input = ExploreInputs {
        name: name.into(),
        sensitivity: sensitivity_csv.map(data::parse_sensitivity).transpose()?,
        design: design_csv.map(data::parse_design).transpose()?,
        points: points_csv.map(data::parse_points).transpose()?.unwrap_or_default(),
        discovery: discovery.map(|(outcome, text)| data::parse_discovery(outcome, text)).transpose()?,
    };
    explore_report(&input)
}

/// Neutral grey, for callers that need it.
pub const NEUTRAL: Rgb = GREY;
