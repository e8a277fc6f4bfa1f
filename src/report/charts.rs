//! The charts of a report, each a pure function from tables to a [`Chart`]:
//! the SVG (drawn with plotters, see [`super::svg`]) plus the table of the
//! numbers behind it. Every layer carries a class (`band`, `median`, `mean`,
//! `stack`, `bar`, `interval`, `point`, `event scheduled`, `event hazard`,
//! ...) and the series it shows in `data-series`, so tests and readers can
//! find each series.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::data::{Discovery, MorrisIndex, Series, SobolIndex};
use super::palette::{GREY, OKABE_ITO, Rgb, SIDE_A, SIDE_B};
use super::svg::{
    ChartError, Frame, Key, Layer, LegendItem, XAxis, draw_chart, font, padded_range, rgb, tick, truncate,
};

/// A drawn chart and the numbers behind it.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name under `charts/` (`fan-trade_share-RU.svg`).
    pub file: String,
    pub title: String,
    /// One or two sentences on what the chart shows.
    pub caption: String,
    pub svg: String,
    pub table: Table,
}

/// A table for the HTML page: column names and formatted cells.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// An event of the scenario on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMark {
    pub name: String,
    /// A hazard window (random onsets) rather than a scheduled window.
    pub hazard: bool,
    pub start: f64,
    pub end: f64,
}

/// A safe file-name fragment: `[A-Za-z0-9_-]`, other characters as `_`.
pub fn slug(text: &str) -> String {
    let s: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if s.is_empty() { "_".into() } else { s }
}

/// A number for a table cell (4 significant digits).
pub fn cell(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{v:.digits$}")
}

fn ci_cell(ci: Option<(f64, f64)>) -> String {
    ci.map_or_else(String::new, |(lo, hi)| format!("[{}, {}]", cell(lo), cell(hi)))
}

const INK: Rgb = (0x22, 0x22, 0x22);
const HAZARD: Rgb = OKABE_ITO[0];

/// Nested band pairs of a series' quantiles: `(low index, high index)`,
/// outermost first.
pub fn band_pairs(s: &Series) -> Vec<(usize, usize)> {
    let n = s.quantiles.len();
    (0..n / 2).map(|i| (i, n - 1 - i)).filter(|&(lo, hi)| s.quantiles[lo].0 < 0.5 && s.quantiles[hi].0 > 0.5).collect()
}

fn level_name(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 { format!("p{:02}", pct.round() as i64) } else { format!("p{pct}") }
}

/// Rows of the x range at whole years (all rows if none is whole).
fn yearly(years: &[f64]) -> Vec<usize> {
    let whole: Vec<usize> = (0..years.len()).filter(|&i| years[i].fract() == 0.0).collect();
    if whole.is_empty() { (0..years.len()).collect() } else { whole }
}

fn points(years: &[f64], values: &[f64]) -> Vec<(f64, f64)> {
    years.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(&x, &y)| (x, y)).collect()
}

fn band_polygon(years: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut poly = points(years, hi);
    let mut lower = points(years, lo);
    lower.reverse();
    poly.extend(lower);
    poly
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Event layers (one per event, behind the data) and the extra headroom
/// the scheduled events' names need at the top of the y range.
fn event_layers(events: &[EventMark], x: (f64, f64), y: (f64, f64)) -> Vec<Layer<'static>> {
    let crowded = crowded(events);
    let mut scheduled = 0usize;
    let mut hazards = 0usize;
    let mut layers = Vec::new();
    for e in events {
        let (start, end) = (e.start.max(x.0), e.end.min(x.1));
        if end <= start {
            continue;
        }
        let name = e.name.clone();
        if e.hazard {
            let k = hazards;
            hazards += 1;
            let h = (y.1 - y.0) * 0.035;
            let y0 = y.0 + h * (0.3 + 1.4 * k as f64);
            layers.push(Layer::new("event hazard", &e.name, move |chart, root| {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(start, y0), (end, y0 + h)],
                        rgb(HAZARD).mix(0.45).filled(),
                    )))
                    .map_err(err)?;
                let (px, py) = chart.backend_coord(&(start, y0 + h));
                root.draw_text(
                    &format!("hazard: {}", truncate(&name, 40)),
                    &font(14.0, (0x8a, 0x5a, 0x00), HPos::Left, VPos::Bottom),
                    (px + 3, py - 1),
                )
                .map_err(err)
            }));
        } else {
            let row = scheduled % 3;
            scheduled += 1;
            if crowded {
                // Too many windows to shade and name readably: a thin line at
                // each start; the Events table lists them.
                layers.push(Layer::new("event scheduled", &e.name, move |chart, _root| {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(start, y.0), (start, y.1)],
                            rgb(GREY).mix(0.35).stroke_width(1),
                        )))
                        .map(|_| ())
                        .map_err(err)
                }));
                continue;
            }
            layers.push(Layer::new("event scheduled", &e.name, move |chart, root| {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(start, y.0), (end, y.1)],
                        rgb(GREY).mix(0.09).filled(),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(start, y.0), (start, y.1)],
                        rgb(GREY).stroke_width(1),
                    )))
                    .map_err(err)?;
                let (px, py) = chart.backend_coord(&(start, y.1));
                root.draw_text(
                    &truncate(&name, 44),
                    &font(14.0, (0x44, 0x44, 0x44), HPos::Left, VPos::Top),
                    (px + 4, py + 3 + 17 * row as i32),
                )
                .map_err(err)
            }));
        }
    }
    layers
}

/// Scheduled events beyond which windows are not shaded and named on the
/// charts (a hindcast has dozens), only marked by a line at their start.
const MAX_NAMED_EVENTS: usize = 8;

fn crowded(events: &[EventMark]) -> bool {
    events.iter().filter(|e| !e.hazard).count() > MAX_NAMED_EVENTS
}

/// Headroom factor for scheduled event names (rows of text at the top).
fn headroom(events: &[EventMark], y: (f64, f64)) -> (f64, f64) {
    let rows = if crowded(events) { 0 } else { events.iter().filter(|e| !e.hazard).count().min(3) };
    let hazards = events.iter().filter(|e| e.hazard).count();
    let span = y.1 - y.0;
    (y.0 - span * 0.07 * hazards as f64, y.1 + span * 0.1 * rows as f64)
}

fn event_legend(events: &[EventMark]) -> Vec<LegendItem> {
    let mut items = Vec::new();
    if events.iter().any(|e| !e.hazard) {
        items.push(LegendItem { label: "scheduled event".into(), colour: GREY, key: Key::Swatch(0.3) });
    }
    if events.iter().any(|e| e.hazard) {
        items.push(LegendItem { label: "hazard window".into(), colour: HAZARD, key: Key::Swatch(0.45) });
    }
    items
}

/// What a fan chart is about.
pub struct FanSpec<'a> {
    pub file: String,
    pub title: String,
    pub y_desc: String,
    pub colour: Rgb,
    pub events: &'a [EventMark],
    pub base_year: f64,
    /// Fixed y range (small multiples share one); `None`: fit the data.
    pub y_range: Option<(f64, f64)>,
    /// Small: no legend, smaller frame.
    pub small: bool,
}

/// The values a fan chart must show (for its y range).
pub fn fan_values(s: &Series) -> impl Iterator<Item = f64> + '_ {
    s.mean.iter().copied().chain(s.quantiles.iter().flat_map(|(_, v)| v.iter().copied()))
}

/// A Bank-of-England fan: nested quantile bands, the median (solid) and
/// mean (dashed), the base year marked, events behind.
pub fn fan(spec: &FanSpec<'_>, s: &Series) -> Result<Chart, ChartError> {
    let last = s.last().unwrap_or(0);
    let years =
        (s.years.first().copied().unwrap_or(spec.base_year), s.years.get(last).copied().unwrap_or(spec.base_year));
    let fitted = padded_range(fan_values(s));
    let y = spec.y_range.unwrap_or_else(|| headroom(spec.events, fitted));
    let mut frame = Frame::time(&spec.title, years, y, &spec.y_desc);
    if spec.small {
        frame.width = 400;
        frame.height = 260;
        frame.legend_width = 0;
        frame.y_label_width = 58;
    }
    let pairs = band_pairs(s);
    let mut layers = if spec.small { Vec::new() } else { event_layers(spec.events, frame.x, y) };
    let mut legend = Vec::new();
    let c = spec.colour;
    for (k, &(lo, hi)) in pairs.iter().enumerate() {
        let alpha = 0.16 + 0.16 * k as f64;
        let name = format!("{}-{}", level_name(s.quantiles[lo].0), level_name(s.quantiles[hi].0));
        let poly = band_polygon(&s.years, &s.quantiles[lo].1, &s.quantiles[hi].1);
        legend.push(LegendItem { label: format!("{name} band"), colour: c, key: Key::Swatch(alpha) });
        layers.push(Layer::new("band", &name, move |chart, _| {
            chart
                .draw_series(std::iter::once(Polygon::new(poly.clone(), rgb(c).mix(alpha).filled())))
                .map(|_| ())
                .map_err(err)
        }));
    }
    if let Some(median) = s.quantile(0.5) {
        let pts = points(&s.years, median);
        legend.push(LegendItem { label: "median".into(), colour: c, key: Key::Line });
        layers.push(Layer::new("median", "p50", move |chart, _| {
            chart.draw_series(LineSeries::new(pts.clone(), rgb(c).stroke_width(3))).map(|_| ()).map_err(err)
        }));
    }
    let mean = points(&s.years, &s.mean);
    legend.push(LegendItem { label: "mean".into(), colour: INK, key: Key::Dashed });
    layers.push(Layer::new("mean", "mean", move |chart, _| {
        chart.draw_series(DashedLineSeries::new(mean.clone(), 7, 5, rgb(INK).stroke_width(2))).map(|_| ()).map_err(err)
    }));
    let base = spec.base_year;
    layers.push(Layer::new("base-year", &format!("{base}"), move |chart, root| {
        chart
            .draw_series(DashedLineSeries::new(vec![(base, y.0), (base, y.1)], 4, 4, rgb(INK).stroke_width(1)))
            .map_err(err)?;
        let (px, py) = chart.backend_coord(&(base, (y.0 + y.1) / 2.0));
        let style = font(13.0, INK, HPos::Center, VPos::Top).transform(FontTransform::Rotate270);
        root.draw_text(&format!("base year {base}"), &style, (px - 3, py)).map_err(err)
    }));
    legend.extend(event_legend(spec.events));
    let bands: Vec<String> = pairs
        .iter()
        .map(|&(lo, hi)| format!("{}-{}", level_name(s.quantiles[lo].0), level_name(s.quantiles[hi].0)))
        .collect();
    let desc = if spec.small {
        format!("{}: mean at the horizon {}.", spec.title, cell(s.mean.get(last).copied().unwrap_or(f64::NAN)))
    } else {
        String::new()
    };
    let desc = if spec.small {
        desc
    } else {
        format!(
            "Fan chart of {} over {}-{}: {} quantile band(s) ({}), median and mean across runs; mean at the horizon {}.",
            spec.title,
            years.0,
            years.1,
            pairs.len(),
            bands.join(", "),
            cell(s.mean.get(last).copied().unwrap_or(f64::NAN))
        )
    };
    let svg = draw_chart(&spec.file, &frame, &desc, layers, if spec.small { &[] } else { &legend })?;
    let mut table = Table { columns: vec!["year".into(), "mean".into(), "95% CI of mean".into()], rows: Vec::new() };
    table.columns.extend(s.quantiles.iter().map(|(l, _)| level_name(*l)));
    for i in yearly(&s.years) {
        let mut row = vec![format!("{}", s.years[i]), cell(s.mean[i]), ci_cell(s.ci95[i])];
        row.extend(s.quantiles.iter().map(|(_, v)| cell(v[i])));
        table.rows.push(row);
    }
    Ok(Chart { file: spec.file.clone(), title: spec.title.clone(), caption: desc, svg, table })
}

/// One layer of a stacked chart.
pub struct Stacked<'a> {
    pub label: String,
    pub colour: Rgb,
    pub series: &'a Series,
}

/// Stacked areas of the mean of several series (composition of trade).
pub fn stacked(
    file: &str,
    title: &str,
    y_desc: &str,
    parts: &[Stacked<'_>],
    events: &[EventMark],
) -> Result<Chart, ChartError> {
    let Some(first) = parts.first() else {
        return Err(ChartError { chart: file.into(), message: "nothing to stack".into() });
    };
    let years = first.series.years.clone();
    let n = years.len();
    let mut lower = vec![0.0; n];
    let mut polys = Vec::new();
    for part in parts {
        let upper: Vec<f64> = (0..n).map(|i| lower[i] + part.series.mean.get(i).copied().unwrap_or(0.0)).collect();
        polys.push(band_polygon(&years, &lower, &upper));
        lower = upper;
    }
    let top = lower.iter().copied().fold(0.0, f64::max);
    let y = headroom(events, (0.0, top.max(1e-9) * 1.02));
    let span = (years.first().copied().unwrap_or(0.0), years.last().copied().unwrap_or(0.0));
    let mut frame = Frame::time(title, span, y, y_desc);
    frame.legend_width = 200;
    let mut layers = event_layers(events, frame.x, y);
    for (part, poly) in parts.iter().zip(polys) {
        let c = part.colour;
        layers.push(Layer::new("stack", &part.label, move |chart, _| {
            chart
                .draw_series(std::iter::once(Polygon::new(poly.clone(), rgb(c).mix(0.85).filled())))
                .map(|_| ())
                .map_err(err)
        }));
    }
    let mut legend: Vec<LegendItem> = parts
        .iter()
        .rev()
        .map(|p| LegendItem { label: p.label.clone(), colour: p.colour, key: Key::Swatch(0.85) })
        .collect();
    legend.extend(event_legend(events));
    let desc = format!(
        "{title}: the mean of each part across runs, stacked from the bottom in the order {}.",
        parts.iter().map(|p| p.label.as_str()).collect::<Vec<_>>().join(", ")
    );
    let svg = draw_chart(file, &frame, &desc, layers, &legend)?;
    let mut table = Table { columns: vec!["year".into()], rows: Vec::new() };
    table.columns.extend(parts.iter().map(|p| p.label.clone()));
    for i in yearly(&years) {
        let mut row = vec![format!("{}", years[i])];
        row.extend(parts.iter().map(|p| cell(p.series.mean.get(i).copied().unwrap_or(f64::NAN))));
        table.rows.push(row);
    }
    Ok(Chart { file: file.into(), title: title.into(), caption: desc, svg, table })
}

/// A row of a horizontal interval chart.
#[derive(Debug, Clone)]
pub struct IntervalRow {
    pub label: String,
    pub value: f64,
    pub ci: Option<(f64, f64)>,
    pub colour: Rgb,
    /// Drawn filled (significant) or hollow.
    pub marked: bool,
}

fn row_frame(title: &str, rows: usize, x: (f64, f64), x_desc: &str) -> Frame {
    Frame {
        width: 760,
        height: 110 + 36 * rows as u32,
        legend_width: 0,
        y_label_width: 250,
        x,
        y: (-0.6, rows as f64 - 0.4),
        x_desc: x_desc.into(),
        y_desc: String::new(),
        x_axis: XAxis::Numbers,
        y_ticks: false,
        x_ticks: true,
        title: title.into(),
    }
}

fn row_labels(rows: Vec<String>) -> Layer<'static> {
    Layer::new("row-labels", "labels", move |chart, root| {
        let x0 = chart.x_range().start;
        let n = rows.len();
        for (i, label) in rows.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(x0, (n - 1 - i) as f64));
            root.draw_text(&truncate(label, 30), &font(15.0, INK, HPos::Right, VPos::Center), (px - 8, py))
                .map_err(err)?;
        }
        Ok(())
    })
}

fn whisker(lo: f64, hi: f64, y: f64, c: Rgb) -> Layer<'static> {
    Layer::new("interval", "ci95", move |chart, _| {
        let s = rgb(c).stroke_width(2);
        chart.draw_series(std::iter::once(PathElement::new(vec![(lo, y), (hi, y)], s))).map_err(err)?;
        for x in [lo, hi] {
            chart.draw_series(std::iter::once(PathElement::new(vec![(x, y - 0.15), (x, y + 0.15)], s))).map_err(err)?;
        }
        Ok(())
    })
}

/// Horizontal bars with their intervals (posture shares at the horizon).
pub fn bars(file: &str, title: &str, x_desc: &str, rows: &[IntervalRow], x: (f64, f64)) -> Result<Chart, ChartError> {
    let frame = row_frame(title, rows.len(), x, x_desc);
    let n = rows.len();
    let mut layers = vec![row_labels(rows.iter().map(|r| r.label.clone()).collect())];
    for (i, r) in rows.iter().enumerate() {
        let yv = (n - 1 - i) as f64;
        let (v, c) = (r.value, r.colour);
        let text = match r.ci {
            Some((lo, hi)) => format!("{} [{}, {}]", cell(v), cell(lo), cell(hi)),
            None => cell(v),
        };
        let right = r.ci.map_or(v, |c| c.1);
        layers.push(Layer::new("bar", &r.label, move |chart, root| {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, yv - 0.22), (v, yv + 0.22)],
                    rgb(c).mix(0.85).filled(),
                )))
                .map_err(err)?;
            // The value goes right of the interval, or above the bar's
            // start when the interval reaches the right edge.
            if right > x.0 + (x.1 - x.0) * 0.7 {
                let (px, py) = chart.backend_coord(&(x.0, yv + 0.22));
                root.draw_text(&text, &font(14.0, INK, HPos::Left, VPos::Bottom), (px + 4, py - 2)).map_err(err)
            } else {
                let (px, py) = chart.backend_coord(&(right, yv));
                root.draw_text(&text, &font(14.0, INK, HPos::Left, VPos::Center), (px + 8, py)).map_err(err)
            }
        }));
        if let Some((lo, hi)) = r.ci {
            layers.push(whisker(lo, hi, yv, INK));
        }
    }
    let desc = format!(
        "{title}: {}.",
        rows.iter().map(|r| format!("{} {}", r.label, cell(r.value))).collect::<Vec<_>>().join("; ")
    );
    let svg = draw_chart(file, &frame, &desc, layers, &[])?;
    let table = Table {
        columns: vec!["".into(), "value".into(), "95% interval".into()],
        rows: rows.iter().map(|r| vec![r.label.clone(), cell(r.value), ci_cell(r.ci)]).collect(),
    };
    Ok(Chart { file: file.into(), title: title.into(), caption: desc, svg, table })
}

/// A forest plot: one row per difference, point and CI, a zero line;
/// significant rows filled and starred.
pub fn forest(file: &str, title: &str, x_desc: &str, rows: &[IntervalRow]) -> Result<Chart, ChartError> {
    let x = padded_range(
        rows.iter().flat_map(|r| [r.value, r.ci.map_or(r.value, |c| c.0), r.ci.map_or(r.value, |c| c.1)]).chain([0.0]),
    );
    let frame = row_frame(title, rows.len(), x, x_desc);
    let n = rows.len();
    let labels = rows.iter().map(|r| if r.marked { format!("{} *", r.label) } else { r.label.clone() }).collect();
    let y_top = n as f64 - 0.4;
    let mut layers = vec![
        Layer::new("zero", "0", move |chart, _| {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, -0.6), (0.0, y_top)],
                    rgb(GREY).stroke_width(2),
                )))
                .map(|_| ())
                .map_err(err)
        }),
        row_labels(labels),
    ];
    for (i, r) in rows.iter().enumerate() {
        let yv = (n - 1 - i) as f64;
        if let Some((lo, hi)) = r.ci {
            layers.push(whisker(lo, hi, yv, r.colour));
        }
        let (v, c, marked) = (r.value, r.colour, r.marked);
        let class = if marked { "point significant" } else { "point" };
        layers.push(Layer::new(class, &r.label, move |chart, _| {
            let style = if marked { rgb(c).filled() } else { WHITE.filled() };
            chart.draw_series(std::iter::once(Circle::new((v, yv), 6, style))).map_err(err)?;
            chart.draw_series(std::iter::once(Circle::new((v, yv), 6, rgb(c).stroke_width(2)))).map(|_| ()).map_err(err)
        }));
    }
    let sig = rows.iter().filter(|r| r.marked).count();
    let desc = format!("{title}: {} rows, {sig} significant after Holm's correction (filled, starred).", rows.len());
    let svg = draw_chart(file, &frame, &desc, layers, &[])?;
    let table = Table {
        columns: vec!["".into(), "B - A".into(), "95% CI".into(), "significant".into()],
        rows: rows
            .iter()
            .map(|r| vec![r.label.clone(), cell(r.value), ci_cell(r.ci), if r.marked { "yes" } else { "no" }.into()])
            .collect(),
    };
    Ok(Chart { file: file.into(), title: title.into(), caption: desc, svg, table })
}

/// One line with its CI band (posture shares over time, per posture).
pub struct BandLine<'a> {
    pub label: String,
    pub colour: Rgb,
    pub series: &'a Series,
}

/// Lines of the mean with their 95% CI bands over time.
pub fn lines(
    file: &str,
    title: &str,
    y_desc: &str,
    lines: &[BandLine<'_>],
    y: (f64, f64),
) -> Result<Chart, ChartError> {
    let years: Vec<f64> = lines.first().map(|l| l.series.years.clone()).unwrap_or_default();
    let span = (years.first().copied().unwrap_or(0.0), years.last().copied().unwrap_or(0.0));
    let frame = Frame::time(title, span, y, y_desc);
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    for l in lines {
        let c = l.colour;
        let s = l.series;
        let lo: Vec<f64> = s.ci95.iter().map(|c| c.map_or(f64::NAN, |c| c.0)).collect();
        let hi: Vec<f64> = s.ci95.iter().map(|c| c.map_or(f64::NAN, |c| c.1)).collect();
        if lo.iter().all(|v| v.is_finite()) {
            let poly = band_polygon(&s.years, &lo, &hi);
            layers.push(Layer::new("ci", &l.label, move |chart, _| {
                chart
                    .draw_series(std::iter::once(Polygon::new(poly.clone(), rgb(c).mix(0.22).filled())))
                    .map(|_| ())
                    .map_err(err)
            }));
        }
        let pts = points(&s.years, &s.mean);
        layers.push(Layer::new("line", &l.label, move |chart, _| {
            chart.draw_series(LineSeries::new(pts.clone(), rgb(c).stroke_width(3))).map(|_| ()).map_err(err)
        }));
        legend.push(LegendItem { label: l.label.clone(), colour: c, key: Key::Line });
    }
    let desc =
        format!("{title}: the share of runs in each posture at every step, with its 95% Wilson interval (band).");
    let svg = draw_chart(file, &frame, &desc, layers, &legend)?;
    let mut table = Table { columns: vec!["year".into()], rows: Vec::new() };
    table.columns.extend(lines.iter().map(|l| l.label.clone()));
    for i in yearly(&years) {
        let mut row = vec![format!("{}", years[i])];
        row.extend(lines.iter().map(|l| cell(l.series.mean.get(i).copied().unwrap_or(f64::NAN))));
        table.rows.push(row);
    }
    Ok(Chart { file: file.into(), title: title.into(), caption: desc, svg, table })
}

/// Overlaid fans of the same metric in results A and B (outermost band and
/// median of each).
pub fn overlaid_fans(
    file: &str,
    title: &str,
    y_desc: &str,
    a: (&str, &Series),
    b: (&str, &Series),
) -> Result<Chart, ChartError> {
    let y = padded_range(fan_values(a.1).chain(fan_values(b.1)));
    let span = |s: &Series| (s.years.first().copied().unwrap_or(0.0), s.years.last().copied().unwrap_or(0.0));
    let (sa, sb) = (span(a.1), span(b.1));
    let frame = Frame::time(title, (sa.0.min(sb.0), sa.1.max(sb.1)), y, y_desc);
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    for (side, key, (name, s), c) in [("side-a", "A", a, SIDE_A), ("side-b", "B", b, SIDE_B)] {
        if let Some(&(lo, hi)) = band_pairs(s).first() {
            let poly = band_polygon(&s.years, &s.quantiles[lo].1, &s.quantiles[hi].1);
            let band = format!("{}-{}", level_name(s.quantiles[lo].0), level_name(s.quantiles[hi].0));
            legend.push(LegendItem { label: format!("{key} {band}"), colour: c, key: Key::Swatch(0.25) });
            layers.push(Layer::new(&format!("band {side}"), name, move |chart, _| {
                chart
                    .draw_series(std::iter::once(Polygon::new(poly.clone(), rgb(c).mix(0.25).filled())))
                    .map(|_| ())
                    .map_err(err)
            }));
        }
        let centre = s.quantile(0.5).unwrap_or(&s.mean);
        let pts = points(&s.years, centre);
        legend.push(LegendItem { label: format!("{key} median"), colour: c, key: Key::Line });
        layers.push(Layer::new(&format!("median {side}"), name, move |chart, _| {
            chart.draw_series(LineSeries::new(pts.clone(), rgb(c).stroke_width(3))).map(|_| ()).map_err(err)
        }));
    }
    let desc = format!("{title}: the outermost quantile band and the median of A ({}) and B ({}) over time.", a.0, b.0);
    let svg = draw_chart(file, &frame, &desc, layers, &legend)?;
    let mut table =
        Table { columns: vec!["year".into(), format!("mean {}", a.0), format!("mean {}", b.0)], rows: Vec::new() };
    for i in yearly(&a.1.years) {
        let year = a.1.years[i];
        let bm = b.1.years.iter().position(|&y| y == year).and_then(|j| b.1.mean.get(j)).copied().unwrap_or(f64::NAN);
        table.rows.push(vec![format!("{year}"), cell(a.1.mean[i]), cell(bm)]);
    }
    Ok(Chart { file: file.into(), title: title.into(), caption: desc, svg, table })
}

/// Sobol first- and total-order indices of one outcome, with CIs.
pub fn sobol_bars(file: &str, outcome: &str, rows: &[SobolIndex]) -> Result<Chart, ChartError> {
    let title = format!("Sobol indices: {outcome}");
    let x = padded_range(
        rows.iter()
            .flat_map(|r| {
                [
                    r.s1 - r.s1_ci95.unwrap_or(0.0),
                    r.s1 + r.s1_ci95.unwrap_or(0.0),
                    r.st - r.st_ci95.unwrap_or(0.0),
                    r.st + r.st_ci95.unwrap_or(0.0),
                ]
            })
            .chain([0.0, 1.0]),
    );
    let mut frame = row_frame(&title, rows.len(), x, "sensitivity index (share of output variance)");
    frame.legend_width = 150;
    frame.height += 20;
    let n = rows.len();
    let mut layers = vec![row_labels(rows.iter().map(|r| r.parameter.clone()).collect())];
    for (i, r) in rows.iter().enumerate() {
        let yv = (n - 1 - i) as f64;
        for (class, v, ci, dy, c) in
            [("bar s1", r.s1, r.s1_ci95, 0.18, OKABE_ITO[4]), ("bar st", r.st, r.st_ci95, -0.18, OKABE_ITO[0])]
        {
            layers.push(Layer::new(class, &r.parameter, move |chart, _| {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, yv + dy - 0.15), (v, yv + dy + 0.15)],
                        rgb(c).filled(),
                    )))
                    .map(|_| ())
                    .map_err(err)
            }));
            if let Some(ci) = ci {
                layers.push(whisker(v - ci, v + ci, yv + dy, INK));
            }
        }
    }
    let legend = [
        LegendItem { label: "S1 (first order)".into(), colour: OKABE_ITO[4], key: Key::Swatch(1.0) },
        LegendItem { label: "ST (total order)".into(), colour: OKABE_ITO[0], key: Key::Swatch(1.0) },
        LegendItem { label: "95% CI".into(), colour: INK, key: Key::Line },
    ];
    let desc = format!(
        "{title}: first-order (S1) and total-order (ST) Sobol indices per parameter with bootstrap 95% intervals."
    );
    let svg = draw_chart(file, &frame, &desc, layers, &legend)?;
    let opt = |v: Option<f64>| v.map_or_else(String::new, cell);
    let table = Table {
        columns: ["parameter", "S1", "S1 ± (95%)", "ST", "ST ± (95%)"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|r| vec![r.parameter.clone(), cell(r.s1), opt(r.s1_ci95), cell(r.st), opt(r.st_ci95)])
            .collect(),
    };
    Ok(Chart { file: file.into(), title, caption: desc, svg, table })
}

/// A scatter of labelled points (Morris mu*-sigma, outcome against a parameter).
fn scatter(
    file: &str,
    frame: Frame,
    desc: String,
    pts: Vec<(f64, f64)>,
    labels: Vec<String>,
    extra: Vec<Layer<'static>>,
) -> Result<String, ChartError> {
    let mut layers = extra;
    let c = OKABE_ITO[4];
    let alpha = if pts.len() > 200 { 0.35 } else { 0.8 };
    let size = if pts.len() > 200 { 3 } else { 5 };
    let labels_at = pts.clone();
    layers.push(Layer::new("point", "points", move |chart, _| {
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, size, rgb(c).mix(alpha).filled())))
            .map(|_| ())
            .map_err(err)
    }));
    if !labels.is_empty() {
        layers.push(Layer::new("point-labels", "labels", move |chart, root| {
            for (p, l) in labels_at.iter().zip(&labels) {
                let (px, py) = chart.backend_coord(p);
                root.draw_text(&truncate(l, 28), &font(12.0, INK, HPos::Left, VPos::Bottom), (px + 7, py - 3))
                    .map_err(err)?;
            }
            Ok(())
        }));
    }
    draw_chart(file, &frame, &desc, layers, &[])
}

fn plain_frame(title: &str, x: (f64, f64), y: (f64, f64), x_desc: &str, y_desc: &str) -> Frame {
    Frame {
        width: 640,
        height: 400,
        legend_width: 0,
        y_label_width: 70,
        x,
        y,
        x_desc: x_desc.into(),
        y_desc: y_desc.into(),
        x_axis: XAxis::Numbers,
        y_ticks: true,
        x_ticks: true,
        title: title.into(),
    }
}

/// Morris mu* against sigma for one outcome, parameters labelled, with the
/// sigma = mu* line (above it: non-linear or interacting).
pub fn morris_scatter(file: &str, outcome: &str, rows: &[MorrisIndex]) -> Result<Chart, ChartError> {
    let title = format!("Morris screening: {outcome}");
    let x = padded_range(rows.iter().map(|r| r.mu_star).chain([0.0]));
    let y = padded_range(rows.iter().map(|r| r.sigma).chain([0.0]));
    let frame = plain_frame(
        &title,
        (x.0, x.1 * 1.25),
        y,
        "mu* (mean absolute elementary effect)",
        "sigma (sd of elementary effects)",
    );
    let top = x.1.min(y.1) * 1.25;
    let diagonal = Layer::new("reference", "sigma = mu*", move |chart, _| {
        chart
            .draw_series(DashedLineSeries::new(vec![(0.0, 0.0), (top, top)], 5, 5, rgb(GREY).stroke_width(1)))
            .map(|_| ())
            .map_err(err)
    });
    let desc = format!(
        "{title}: each parameter's mu* (importance) against sigma (non-linearity or interaction); dashed: sigma = mu*."
    );
    let svg = scatter(
        file,
        frame,
        desc.clone(),
        rows.iter().map(|r| (r.mu_star, r.sigma)).collect(),
        rows.iter().map(|r| r.parameter.clone()).collect(),
        vec![diagonal],
    )?;
    let opt = |v: Option<f64>| v.map_or_else(String::new, cell);
    let table = Table {
        columns: ["parameter", "mu*", "mu* ± (95%)", "sigma"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|r| vec![r.parameter.clone(), cell(r.mu_star), opt(r.mu_star_ci95), cell(r.sigma)])
            .collect(),
    };
    Ok(Chart { file: file.into(), title, caption: desc, svg, table })
}

/// An outcome's mean per design point against one parameter's value.
pub fn outcome_scatter(file: &str, outcome: &str, parameter: &str, pts: &[(f64, f64)]) -> Result<Chart, ChartError> {
    let title = format!("{outcome} against {parameter}");
    let x = padded_range(pts.iter().map(|p| p.0));
    let y = padded_range(pts.iter().map(|p| p.1));
    let frame = plain_frame(&title, x, y, parameter, &format!("{outcome} (mean over runs)"));
    let desc = format!("{title}: one point per design point ({} points).", pts.len());
    let svg = scatter(file, frame, desc.clone(), pts.to_vec(), Vec::new(), Vec::new())?;
    let mut sorted = pts.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let step = (sorted.len() / 40).max(1);
    let table = Table {
        columns: vec![parameter.into(), outcome.into()],
        rows: sorted.iter().step_by(step).map(|p| vec![cell(p.0), cell(p.1)]).collect(),
    };
    Ok(Chart { file: file.into(), title, caption: desc, svg, table })
}

/// PRIM's peeling trajectory: coverage against density, one point per step
/// coloured by the number of restricted parameters, the chosen box ringed.
pub fn prim_tradeoff(file: &str, d: &Discovery) -> Result<Chart, ChartError> {
    let title = format!("PRIM peeling trajectory: {}", d.outcome);
    let frame = plain_frame(
        &title,
        (0.0, 1.05),
        (0.0, 1.05),
        "coverage (share of cases of interest in the box)",
        "density (share of the box that is of interest)",
    );
    let path: Vec<(f64, f64)> = d.steps.iter().map(|s| (s.coverage, s.density)).collect();
    let trail = path.clone();
    let mut layers = vec![Layer::new("trajectory", "peeling", move |chart, _| {
        chart.draw_series(LineSeries::new(trail.clone(), rgb(GREY).stroke_width(1))).map(|_| ()).map_err(err)
    })];
    for (k, s) in d.steps.iter().enumerate() {
        let c = OKABE_ITO[s.restricted % 7];
        let p = (s.coverage, s.density);
        layers.push(Layer::new("step", &format!("{k}"), move |chart, _| {
            chart.draw_series(std::iter::once(Circle::new(p, 4, rgb(c).filled()))).map(|_| ()).map_err(err)
        }));
    }
    if let Some(chosen) = d.steps.get(d.chosen) {
        let p = (chosen.coverage, chosen.density);
        let label = format!("chosen box (step {}): coverage {}, density {}", d.chosen, cell(p.0), cell(p.1));
        layers.push(Layer::new("chosen", &format!("{}", d.chosen), move |chart, root| {
            chart.draw_series(std::iter::once(Circle::new(p, 10, rgb(INK).stroke_width(2)))).map_err(err)?;
            let (px, py) = chart.backend_coord(&p);
            let anchor = if p.0 > 0.5 { HPos::Right } else { HPos::Left };
            let dx = if p.0 > 0.5 { -14 } else { 14 };
            root.draw_text(&label, &font(12.0, INK, anchor, VPos::Center), (px + dx, py)).map_err(err)
        }));
    }
    let desc = format!(
        "{title}: {} peeling steps from the full space (coverage 1) inward; colour = number of restricted parameters; ringed: the chosen box.",
        d.steps.len()
    );
    let svg = draw_chart(file, &frame, &desc, layers, &[])?;
    let mut table = Table {
        columns: ["step", "coverage", "density", "mass", "restricted"].map(String::from).to_vec(),
        rows: d
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                vec![k.to_string(), cell(s.coverage), cell(s.density), cell(s.mass), s.restricted.to_string()]
            })
            .collect(),
    };
    for l in &d.limits {
        table.rows.push(vec![
            format!("box: {}", l.parameter),
            format!("{} to {}", cell(l.low), cell(l.high)),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    Ok(Chart { file: file.into(), title, caption: desc, svg, table })
}

/// The x range of a share axis.
pub const SHARE_AXIS: (f64, f64) = (0.0, 1.0);

/// Tick text, re-exported for pages.
pub fn tick_text(v: f64) -> String {
    tick(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_have_four_significant_digits() {
        assert_eq!(cell(0.186312), "0.1863");
        assert_eq!(cell(139.554), "139.6");
        assert_eq!(cell(f64::NAN), "");
        assert_eq!(slug("aligned:RU"), "aligned_RU");
    }
}
