//! The HTML report (issue 11): every chart is well-formed SVG with a title
//! and a description, holds the series and bands its data calls for (found
//! by the classes the report puts on each layer), keeps every data point
//! inside its axes, and the page escapes names from scenario files. Then the
//! command line: `run`, `merge` and `compare --out` write the report,
//! `hedgesim report` rebuilds one or writes a page across several results,
//! and rejects bad input with exit code 2.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use hedgesim::output::manifest::Manifest;
use hedgesim::report::{
    self, CompareInputs, EventMark, MetricKey, ResultEntry, RunInputs, ScenarioInfo, Subject, Summary, data,
};
use predicates::str::contains;

const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// A synthetic summary.csv: `cells` (metric, subject, base value, drift)
/// over 2023..=2030 at one step a year, quantiles spread around the mean.
fn summary_csv(cells: &[(&str, &str, f64, f64)]) -> String {
    let mut out =
        String::from("step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max,p05,p25,p50,p75,p95\n");
    for step in 0..=7 {
        for (metric, subject, base, drift) in cells {
            let mean = base + drift * step as f64;
            let sd = 0.01 * (1.0 + step as f64);
            let q: Vec<String> = QUANTILES.iter().map(|p| (mean + sd * (p - 0.5) * 3.0).to_string()).collect();
            out.push_str(&format!(
                "{step},{},{metric},{subject},100,{mean},{sd},{},{},{},{},{},{}\n",
                2023 + step,
                sd / 10.0,
                mean - sd / 5.0,
                mean + sd / 5.0,
                mean - 3.0 * sd,
                mean + 3.0 * sd,
                q.join(",")
            ));
        }
    }
    out
}

const CELLS: [(&str, &str, f64, f64); 10] = [
    ("hhi", "", 0.3, 0.002),
    ("strategic_space", "", 0.8, -0.003),
    ("coercion_events_total", "", 0.0, 0.2),
    ("trade_share", "RU", 0.3, -0.01),
    ("trade_share", "CN", 0.4, 0.01),
    ("trade_share", "SG<&>", 0.3, 0.0),
    ("group_share", "great_power", 0.7, 0.0),
    ("group_share", "southeast_asia", 0.3, 0.0),
    ("posture_share", "hedging", 0.9, -0.02),
    ("posture_share", "dependent:CN", 0.1, 0.02),
];

fn subject(id: &str, name: &str, group: &str, colour: (u8, u8, u8)) -> Subject {
    Subject { id: id.into(), name: name.into(), group: group.into(), colour }
}

fn info() -> ScenarioInfo {
    ScenarioInfo {
        name: "test <scenario>".into(),
        description: "a \"quoted\" & <b>bold</b> description".into(),
        hedger: "Kazakhstan".into(),
        base_year: 2023.0,
        horizon: 2030.0,
        partners: vec![
            subject("RU", "Russia", "great_power", (0, 0x72, 0xb2)),
            subject("CN", "China", "great_power", (0xd5, 0x5e, 0)),
            subject("SG<&>", "Singapore <script>alert(1)</script>", "southeast_asia", (0x33, 0x22, 0x88)),
        ],
        groups: vec![
            subject("great_power", "great power", "great_power", (0xd5, 0x5e, 0)),
            subject("southeast_asia", "southeast asia", "southeast_asia", (0, 0x9e, 0x73)),
        ],
        events: vec![
            EventMark { name: "sanctions <b>&</b>".into(), hazard: false, start: 2025.0, end: 2030.0 },
            EventMark { name: "outage".into(), hazard: true, start: 2024.0, end: 2028.0 },
        ],
    }
}

fn manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "format_version": 1, "engine": "hedgesim", "engine_version": "0.2.0", "scenario": "test <scenario>",
        "scenario_file": "x.toml", "scenario_sha256": "00", "seed": 1, "runs": 100, "steps": 7,
        "steps_per_year": 1, "base_year": 2023, "horizon": 2030, "partners": ["RU", "CN", "SG<&>"],
        "groups": ["great_power", "southeast_asia"], "quantiles": QUANTILES, "runs_table": true,
        "chunk_size": 64, "threads": 1, "wall_time_s": 1.0, "runs_per_second": 100.0,
        "partner_steps_per_second": 1.0, "started_at": "2026-01-01T00:00:00Z", "shard": null,
        "resolved_scenario": {}
    }))
    .unwrap()
}

const OUTCOMES: &str =
    "posture,count,share,ci95_low,ci95_high\nhedging,80,0.8,0.71,0.87\ndependent:CN,20,0.2,0.13,0.29\n";

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed SVG ({e}):\n{svg}"))
}

/// The `<g>` layers of a chart with this class (exact match of the class attribute).
fn layers<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name("g") && n.attribute("class") == Some(class)).collect()
}

fn count(node: roxmltree::Node<'_, '_>, tag: &str) -> usize {
    node.descendants().filter(|n| n.has_tag_name(tag)).count()
}

/// The pixel box of the plot: the extent of the axes layer's grid and axis lines.
fn plot_box(doc: &roxmltree::Document<'_>) -> (f64, f64, f64, f64) {
    let axes = layers(doc, "axes")[0];
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for line in axes.descendants().filter(|n| n.has_tag_name("line")) {
        for (xa, ya) in [("x1", "y1"), ("x2", "y2")] {
            let x: f64 = line.attribute(xa).unwrap().parse().unwrap();
            let y: f64 = line.attribute(ya).unwrap().parse().unwrap();
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    (x0, y0, x1, y1)
}

/// Every vertex of the polygons and polylines of `node`.
fn vertices(node: roxmltree::Node<'_, '_>) -> Vec<(f64, f64)> {
    node.descendants()
        .filter(|n| n.has_tag_name("polygon") || n.has_tag_name("polyline"))
        .flat_map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse::<f64>().unwrap(), y.parse::<f64>().unwrap())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_inside(doc: &roxmltree::Document<'_>, classes: &[&str], name: &str) {
    let (x0, y0, x1, y1) = plot_box(doc);
    for class in classes {
        for layer in layers(doc, class) {
            for (x, y) in vertices(layer) {
                assert!(
                    x >= x0 - 1.0 && x <= x1 + 1.0 && y >= y0 - 1.0 && y <= y1 + 1.0,
                    "{name}: {class} point ({x}, {y}) outside the axes {x0},{y0}..{x1},{y1}"
                );
            }
        }
    }
}

fn run_report() -> report::Report {
    let summary = Summary::parse(&summary_csv(&CELLS)).unwrap();
    let outcomes = data::parse_outcomes(OUTCOMES).unwrap();
    let info = info();
    let m = manifest();
    report::run_report(&RunInputs { info: &info, manifest: &m, summary: &summary, outcomes: &outcomes }).unwrap()
}

#[test]
fn every_chart_is_svg_with_title_and_description() {
    let r = run_report();
    assert!(r.charts.len() >= 8, "{} charts", r.charts.len());
    for c in &r.charts {
        let doc = parse(&c.svg);
        let root = doc.root_element();
        assert!(root.has_tag_name("svg"), "{}", c.file);
        let title = root.children().find(|n| n.has_tag_name("title")).expect("a <title>");
        assert!(!title.text().unwrap_or("").is_empty(), "{}: empty title", c.file);
        assert!(root.children().any(|n| n.has_tag_name("desc")), "{}: no <desc>", c.file);
        assert!(c.file.ends_with(".svg") && !c.file.contains('/'), "{}", c.file);
        assert!(!c.table.rows.is_empty(), "{}: no table of numbers", c.file);
    }
}

#[test]
fn fans_hold_nested_bands_median_mean_and_events() {
    let r = run_report();
    let fan = r.charts.iter().find(|c| c.file == "fan-trade_share-RU.svg").expect("a fan of Russia's share");
    let doc = parse(&fan.svg);
    // Five quantiles: two nested bands, p05-p95 outside p25-p75.
    let bands = layers(&doc, "band");
    let names: Vec<&str> = bands.iter().map(|b| b.attribute("data-series").unwrap()).collect();
    assert_eq!(names, ["p05-p95", "p25-p75"]);
    for b in &bands {
        assert_eq!(count(*b, "polygon"), 1);
        // one vertex per step on each side
        assert_eq!(vertices(*b).len(), 16);
    }
    assert_eq!(layers(&doc, "median").len(), 1);
    assert_eq!(count(layers(&doc, "median")[0], "polyline"), 1);
    assert_eq!(layers(&doc, "mean").len(), 1);
    assert_eq!(layers(&doc, "base-year").len(), 1);
    let scheduled = layers(&doc, "event scheduled");
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].attribute("data-series"), Some("sanctions <b>&</b>"));
    assert_eq!(layers(&doc, "event hazard").len(), 1);
    assert_inside(&doc, &["band", "median"], &fan.file);
    // Years on the time axis.
    let axes = layers(&doc, "axes")[0];
    let labels: Vec<String> = axes
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    assert!(labels.iter().any(|l| l == "2024") && labels.iter().any(|l| l == "year"), "{labels:?}");
}

#[test]
fn band_count_follows_the_quantile_columns() {
    // Three quantiles: one band and a median.
    let text = "step,year,metric,subject,n,mean,p10,p50,p90\n0,2023,hhi,,5,0.3,0.2,0.3,0.4\n1,2024,hhi,,5,0.35,0.25,0.35,0.5\n";
    let s = Summary::parse(text).unwrap();
    let info = info();
    let m = manifest();
    let r = report::run_report(&RunInputs { info: &info, manifest: &m, summary: &s, outcomes: &[] }).unwrap();
    let fan = r.charts.iter().find(|c| c.file == "fan-hhi.svg").unwrap();
    let doc = parse(&fan.svg);
    let bands: Vec<&str> = layers(&doc, "band").iter().map(|b| b.attribute("data-series").unwrap()).collect();
    assert_eq!(bands, ["p10-p90"]);
    assert_inside(&doc, &["band", "median", "mean"], "fan-hhi");
}

#[test]
fn composition_stacks_every_partner_and_group() {
    let r = run_report();
    let partners = r.charts.iter().find(|c| c.file == "composition-partners.svg").unwrap();
    let doc = parse(&partners.svg);
    let stacks: Vec<&str> = layers(&doc, "stack").iter().map(|n| n.attribute("data-series").unwrap()).collect();
    assert_eq!(stacks, ["Russia (RU)", "China (CN)", "Singapore <script>alert(1)</script> (SG<&>)"]);
    assert_inside(&doc, &["stack"], "composition");
    let groups = r.charts.iter().find(|c| c.file == "composition-groups.svg").unwrap();
    assert_eq!(layers(&parse(&groups.svg), "stack").len(), 2);
}

#[test]
fn postures_at_the_horizon_and_over_time() {
    let r = run_report();
    let bars = r.charts.iter().find(|c| c.file == "postures-horizon.svg").unwrap();
    let doc = parse(&bars.svg);
    assert_eq!(layers(&doc, "bar").len(), 2);
    assert_eq!(layers(&doc, "interval").len(), 2, "a Wilson interval per posture");
    let over = r.charts.iter().find(|c| c.file == "postures-over-time.svg").expect("posture_share rows are charted");
    let doc = parse(&over.svg);
    let lines: Vec<&str> = layers(&doc, "line").iter().map(|n| n.attribute("data-series").unwrap()).collect();
    assert_eq!(lines, ["hedging", "dependent:CN"]);
    assert_eq!(layers(&doc, "ci").len(), 2);
    assert_inside(&doc, &["line", "ci"], "postures over time");
}

#[test]
fn no_posture_rows_no_posture_time_chart() {
    let cells: Vec<_> = CELLS.iter().copied().filter(|c| c.0 != "posture_share").collect();
    let s = Summary::parse(&summary_csv(&cells)).unwrap();
    let info = info();
    let m = manifest();
    let r = report::run_report(&RunInputs { info: &info, manifest: &m, summary: &s, outcomes: &[] }).unwrap();
    assert!(!r.charts.iter().any(|c| c.file.starts_with("postures")));
}

#[test]
fn the_page_is_self_contained_and_escapes_names() {
    let r = run_report();
    let html = &r.html;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "a name from the scenario became markup");
    assert!(html.contains("Singapore &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;bold&lt;"), "the description is escaped");
    assert!(!html.contains("src=") && !html.contains("href=\"http") && !html.contains("@import"), "nothing is fetched");
    assert!(html.contains("@media print"));
    assert_eq!(html.matches("<svg").count(), r.charts.len(), "every chart inline");
    assert!(html.contains("<details>"), "tables behind the charts");
    // Every inline SVG is also well-formed inside the page.
    for part in html.split("<svg").skip(1) {
        let end = part.find("</svg>").unwrap();
        parse(&format!("<svg{}</svg>", &part[..end]));
    }
}

#[test]
fn the_same_partner_has_the_same_colour_everywhere() {
    let r = run_report();
    let fan = r.charts.iter().find(|c| c.file == "fan-trade_share-CN.svg").unwrap();
    let stack = r.charts.iter().find(|c| c.file == "composition-partners.svg").unwrap();
    let fill = |svg: &str, class: &str, series: &str| -> String {
        let doc = parse(svg);
        let layer = layers(&doc, class).into_iter().find(|n| n.attribute("data-series") == Some(series)).unwrap();
        let poly = layer.descendants().find(|n| n.has_tag_name("polygon")).unwrap();
        poly.attribute("fill").unwrap().to_string()
    };
    assert_eq!(fill(&fan.svg, "band", "p05-p95"), fill(&stack.svg, "stack", "China (CN)"));
}

const COMPARE_CSV: &str = "step,year,metric,subject,mean_a,mean_b,diff,ci95_low,ci95_high,p_value,p_holm,hedges_g,mode\n\
7,2030,hhi,,0.3,0.32,0.02,0.01,0.03,0.001,0.002,0.5,paired\n\
7,2030,strategic_space,,0.8,0.79,-0.01,-0.03,0.01,0.3,0.6,-0.1,paired\n\
7,2030,trade_share,RU,0.3,0.2,-0.1,-0.12,-0.08,0.0001,0.0004,-2.0,paired\n\
7,2030,trade_share,CN,0.4,0.45,0.05,0.03,0.07,0.0001,0.0004,1.2,paired\n\
7,2030,coercion_events_total,,1.4,2.0,0.6,0.4,0.8,0.0001,0.0004,0.9,paired\n\
7,2030,trade_usd_bn,RU,30,20,-10,-12,-8,0.0001,0.0004,-2.0,paired\n";

#[test]
fn compare_forest_marks_significant_rows_and_overlays_fans() {
    let diffs = data::parse_compare(COMPARE_CSV).unwrap();
    let a = Summary::parse(&summary_csv(&CELLS)).unwrap();
    let b_cells: Vec<_> = CELLS.iter().map(|c| (c.0, c.1, c.2 + 0.05, c.3)).collect();
    let b = Summary::parse(&summary_csv(&b_cells)).unwrap();
    let info = info();
    let r = report::compare_report(&CompareInputs {
        name_a: "base",
        name_b: "alt",
        diffs: &diffs,
        summary_a: &a,
        summary_b: &b,
        info: &info,
    })
    .unwrap();
    let forest = r.charts.iter().find(|c| c.file == "forest-shares.svg").unwrap();
    let doc = parse(&forest.svg);
    assert_eq!(layers(&doc, "point significant").len(), 3, "hhi, RU, CN");
    assert_eq!(layers(&doc, "point").len(), 1, "strategic space");
    assert_eq!(layers(&doc, "interval").len(), 4);
    assert_eq!(layers(&doc, "zero").len(), 1);
    // The x axis covers every interval: no circle outside the plot.
    let (x0, _, x1, _) = plot_box(&doc);
    for c in doc.descendants().filter(|n| n.has_tag_name("circle")) {
        let cx: f64 = c.attribute("cx").unwrap().parse().unwrap();
        assert!(cx >= x0 && cx <= x1, "point at {cx} outside {x0}..{x1}");
    }
    let counts = r.charts.iter().find(|c| c.file == "forest-coercion.svg").unwrap();
    assert_eq!(layers(&parse(&counts.svg), "point significant").len(), 1);
    // Overlaid fans for the metrics that differ most, significant first: RU's share (|g| = 2) leads.
    let fans: Vec<&str> =
        r.charts.iter().filter(|c| c.file.starts_with("compare-fan-")).map(|c| c.file.as_str()).collect();
    assert_eq!(fans.first(), Some(&"compare-fan-trade_share-RU.svg"), "{fans:?}");
    let doc = parse(&r.charts.iter().find(|c| c.file == "compare-fan-trade_share-RU.svg").unwrap().svg);
    assert_eq!(layers(&doc, "band side-a").len(), 1);
    assert_eq!(layers(&doc, "band side-b").len(), 1);
    assert_eq!(layers(&doc, "median side-a").len(), 1);
    assert_inside(&doc, &["band side-a", "band side-b", "median side-a", "median side-b"], "overlaid fans");
}

#[test]
fn many_results_are_ranked_with_fans_on_one_axis() {
    let entries: Vec<ResultEntry> = [("low", 0.0), ("high", 0.1), ("mid", 0.05)]
        .iter()
        .map(|(name, shift)| {
            let cells: Vec<_> = CELLS.iter().map(|c| (c.0, c.1, c.2 + shift, c.3)).collect();
            let mut i = info();
            i.name = (*name).into();
            ResultEntry { label: (*name).into(), info: i, summary: Summary::parse(&summary_csv(&cells)).unwrap() }
        })
        .collect();
    let keys = [MetricKey::parse("strategic_space"), MetricKey::parse("trade_share.CN")];
    let r = report::multi_report(&entries, &keys).unwrap();
    assert_eq!(r.charts.len(), 6, "one small fan per result and metric");
    // Ranked by mean at the horizon, highest first.
    let html = &r.html;
    let (h, m, l) =
        (html.find("<td>high</td>").unwrap(), html.find("<td>mid</td>").unwrap(), html.find("<td>low</td>").unwrap());
    assert!(h < m && m < l);
    // Small multiples share the y axis: identical axes layers within a metric.
    let axes = |file: &str| {
        let svg = &r.charts.iter().find(|c| c.file == file).unwrap().svg;
        let doc = parse(svg);
        plot_box(&doc)
    };
    assert_eq!(axes("multi-strategic_space-low.svg"), axes("multi-strategic_space-high.svg"));
    for c in &r.charts {
        assert_inside(&parse(&c.svg), &["band", "median", "mean"], &c.file);
    }
    assert!(report::multi_report(&entries, &[MetricKey::parse("nonsense")]).is_err());
}

const SOBOL: &str = "outcome,parameter,S1,S1_ci95,ST,ST_ci95\n\
trade_share.RU@2040,partner.RU.assertiveness,0.31,0.02,0.55,0.03\n\
trade_share.RU@2040,model.coercion_severity,0.44,0.03,0.44,0.02\n\
trade_share.RU@2040,hedger.autonomy_weight,0.0,0.01,0.24,0.02\n\
strategic_space@2040,partner.RU.assertiveness,0.1,0.01,0.2,0.01\n\
strategic_space@2040,model.coercion_severity,0.5,0.05,0.6,0.04\n\
strategic_space@2040,hedger.autonomy_weight,0.2,0.02,0.3,0.03\n";

#[test]
fn explore_charts_from_issue_10_tables() {
    let design = "point,a,b\n0,0.1,1\n1,0.5,2\n2,0.9,3\n3,0.3,4\n";
    let points = "point,outcome,metric,subject,year,n,mean,sd,se,ci95_low,ci95_high,p05,p50,p95\n\
                  0,y,trade_share,RU,2040,10,0.1,,,,,,,\n1,y,trade_share,RU,2040,10,0.5,,,,,,,\n\
                  2,y,trade_share,RU,2040,10,0.8,,,,,,,\n3,y,trade_share,RU,2040,10,0.2,,,,,,,\n";
    let discovery = "kind,step,coverage,density,mass,restricted,parameter,low,high\n\
                     peel,0,1,0.2,1,0,,,\npeel,1,0.95,0.3,0.6,1,,,\npeel,2,0.8,0.6,0.3,2,,,\npeel,3,0.4,0.9,0.1,2,,,\n\
                     box,2,,,,,a,0.4,1\nbox,2,,,,,b,2,4\n";
    let r = report::explore_report_from_texts(
        "exp <1>",
        Some(SOBOL),
        Some(design),
        Some(points),
        Some(("y > 0.5", discovery)),
    )
    .unwrap();
    let sobol: Vec<_> = r.charts.iter().filter(|c| c.file.starts_with("sobol-")).collect();
    assert_eq!(sobol.len(), 2, "one chart per outcome");
    let doc = parse(&sobol[0].svg);
    assert_eq!(layers(&doc, "bar s1").len(), 3);
    assert_eq!(layers(&doc, "bar st").len(), 3);
    assert_eq!(layers(&doc, "interval").len(), 6);
    let (x0, _, x1, _) = plot_box(&doc);
    for rect in layers(&doc, "bar st").iter().flat_map(|l| l.descendants().filter(|n| n.has_tag_name("rect"))) {
        let x: f64 = rect.attribute("x").unwrap().parse().unwrap();
        let w: f64 = rect.attribute("width").unwrap().parse().unwrap();
        assert!(x >= x0 - 1.0 && x + w <= x1 + 1.0);
    }
    let scatters: Vec<_> = r.charts.iter().filter(|c| c.file.starts_with("scatter-")).collect();
    assert_eq!(scatters.len(), 2, "outcome y against a and b");
    let doc = parse(&scatters[0].svg);
    assert_eq!(layers(&doc, "point")[0].descendants().filter(|n| n.has_tag_name("circle")).count(), 4);
    let prim = r.charts.iter().find(|c| c.file == "prim.svg").unwrap();
    let doc = parse(&prim.svg);
    assert_eq!(layers(&doc, "step").len(), 4);
    assert_eq!(layers(&doc, "chosen")[0].attribute("data-series"), Some("2"));
    assert!(r.html.contains("exp &lt;1&gt;"));

    let morris = "outcome,parameter,mu,mu_star,sigma,mu_star_ci95\ny,a,0.1,0.5,0.2,0.05\ny,b,-0.2,0.3,0.4,0.03\n";
    let r = report::explore_report_from_texts("m", Some(morris), None, None, None).unwrap();
    let doc = parse(&r.charts[0].svg);
    assert_eq!(layers(&doc, "point")[0].descendants().filter(|n| n.has_tag_name("circle")).count(), 2);
    assert!(report::explore_report_from_texts("none", None, None, None, None).is_err());
}

// --- the command line -------------------------------------------------------

const TINY: &str = "tests/fixtures/tiny.toml";

fn hedgesim() -> assert_cmd::Command {
    cargo_bin_cmd!("hedgesim")
}

fn run(out: &Path, extra: &[&str]) {
    hedgesim().args(["run", TINY, "--quiet", "--runs", "128", "--out"]).arg(out).args(extra).assert().success();
}

#[test]
fn run_writes_the_report_and_its_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    run(&one, &["--threads", "1"]);
    run(&two, &["--threads", "3"]);
    let html = fs::read_to_string(one.join("report.html")).unwrap();
    assert!(html.contains("hedgesim result: tiny"));
    let charts: Vec<String> = fs::read_dir(one.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(charts.contains(&"fan-trade_share-RU.svg".to_string()), "{charts:?}");
    assert!(charts.contains(&"fan-strategic_space.svg".to_string()), "{charts:?}");
    for c in &charts {
        let svg = fs::read_to_string(one.join("charts").join(c)).unwrap();
        parse(&svg);
        assert_eq!(svg, fs::read_to_string(two.join("charts").join(c)).unwrap(), "{c} depends on the thread count");
    }
    assert_eq!(html, fs::read_to_string(two.join("report.html")).unwrap(), "report.html depends on the thread count");
    // The tiny scenario's two events are drawn on the fans.
    let fan = fs::read_to_string(one.join("charts/fan-trade_share-RU.svg")).unwrap();
    let doc = parse(&fan);
    assert_eq!(layers(&doc, "event scheduled").len() + layers(&doc, "event hazard").len(), 2);
}

#[test]
fn report_rebuilds_one_result_and_compares_many() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, &[]);
    run(&b, &["--seed", "11"]);
    let before = fs::read(a.join("report.html")).unwrap();
    fs::remove_file(a.join("report.html")).unwrap();
    hedgesim().arg("report").arg(&a).assert().success();
    assert_eq!(fs::read(a.join("report.html")).unwrap(), before, "rebuilt report equals the one written by run");

    let page = tmp.path().join("page");
    hedgesim()
        .arg("report")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(&page)
        .args(["--metric", "trade_share.CN", "--metric", "hhi"])
        .assert()
        .success();
    let html = fs::read_to_string(page.join("report.html")).unwrap();
    assert!(html.contains("a</td>") || html.contains("tiny"), "{html}");
    assert_eq!(fs::read_dir(page.join("charts")).unwrap().count(), 4, "2 results x 2 metrics");

    hedgesim()
        .arg("report")
        .arg(&a)
        .arg("--out")
        .arg(&page)
        .args(["--metric", "nonsense"])
        .assert()
        .code(2)
        .stderr(contains("--metric nonsense"));
    hedgesim().arg("report").arg(tmp.path().join("missing")).assert().code(2).stderr(contains("not a directory"));
    // A report.html that hedgesim did not write is never overwritten.
    let foreign = tmp.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("report.html"), "mine").unwrap();
    hedgesim()
        .arg("report")
        .arg(&a)
        .arg("--out")
        .arg(&foreign)
        .assert()
        .code(2)
        .stderr(contains("not written by hedgesim"));
    assert_eq!(fs::read_to_string(foreign.join("report.html")).unwrap(), "mine");
}

#[test]
fn compare_out_writes_a_report_with_a_forest_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, out) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("cmp"));
    run(&a, &[]);
    run(&b, &["--seed", "11"]);
    hedgesim().arg("compare").arg(&a).arg(&b).arg("--out").arg(&out).assert().success();
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("hedgesim comparison"));
    let forest = fs::read_to_string(out.join("charts/forest-shares.svg")).unwrap();
    let doc = parse(&forest);
    assert!(layers(&doc, "point").len() + layers(&doc, "point significant").len() >= 5);
}
