//! Hand-computed cases for [`super::score`] and [`super::plan`].

use std::collections::HashMap;

use super::result::{ResultMeta, SummaryCell};
use super::*;

fn meta() -> ResultMeta {
    ResultMeta {
        scenario: "hand".into(),
        base_year: 2020,
        horizon: 2022,
        steps_per_year: 1,
        runs: 4,
        runs_table: true,
        shard: None,
        partners: vec!["A".into()],
        groups: vec!["g".into()],
    }
}

fn obs(line: u64, year: f64, metric: &str, subject: &str, value: f64) -> Observation {
    Observation { line, year, metric: metric.into(), subject: subject.into(), value }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// The observations of the hand case: trade_share.A observed in 2018 and
/// 2020 (references) and 2022 (scored, from runs); group_share.g in 2021
/// (scored, from quantiles, no reference).
fn observations() -> Vec<Observation> {
    vec![
        obs(2, 2018.0, "trade_share", "A", 0.1),
        obs(3, 2020.0, "trade_share", "A", 0.2),
        obs(4, 2022.0, "trade_share", "A", 0.3),
        obs(5, 2021.0, "group_share", "g", 0.5),
    ]
}

fn inputs() -> (HashMap<result::CellKey, SummaryCell>, HashMap<String, Vec<f64>>) {
    let mut cells = HashMap::new();
    cells.insert(
        (2, "trade_share".to_string(), "A".to_string()),
        SummaryCell { n: 4, mean: 0.25, min: 0.1, max: 0.4, quantiles: vec![(0.5, 0.25)] },
    );
    // U(0, 1) as quantile knots
    cells.insert(
        (1, "group_share".to_string(), "g".to_string()),
        SummaryCell { n: 4, mean: 0.5, min: 0.0, max: 1.0, quantiles: vec![(0.25, 0.25), (0.5, 0.5), (0.75, 0.75)] },
    );
    let runs = HashMap::from([("trade_share.A".to_string(), vec![0.4, 0.1, 0.3, 0.2])]);
    (cells, runs)
}

#[test]
fn plan_reads_the_scored_cells_and_the_horizon_columns() {
    let p = plan(&meta(), &observations(), "o.csv").unwrap();
    assert_eq!(p.cells.len(), 2);
    assert!(p.cells.contains(&(2, "trade_share".to_string(), "A".to_string())));
    assert!(p.cells.contains(&(1, "group_share".to_string(), "g".to_string())));
    assert_eq!(p.runs_columns, vec!["trade_share.A".to_string()]);
}

#[test]
fn plan_rejects_years_outside_the_result() {
    let bad = vec![obs(7, 2023.0, "hhi", "", 0.2), obs(8, 2021.5, "hhi", "", 0.2)];
    let e = plan(&meta(), &bad, "o.csv").unwrap_err();
    assert!(e.contains("o.csv:7: column `year`: 2023 is after the result's horizon 2022"), "{e}");
    assert!(e.contains("o.csv:8: column `year`: 2021.5 is not a step"), "{e}");
    let e = plan(&meta(), &[obs(2, 2020.0, "hhi", "", 0.2)], "o.csv").unwrap_err();
    assert!(e.contains("no observation is dated after the result's base year 2020"), "{e}");
}

#[test]
fn hand_computed_row_from_runs() {
    let (cells, runs) = inputs();
    let s = score(&meta(), &observations(), &cells, &runs, "o.csv").unwrap();
    assert_eq!(s.rows.len(), 2);
    let r = &s.rows[0];
    assert_eq!((r.metric.as_str(), r.subject.as_str(), r.method), ("trade_share", "A", Method::Runs));
    // runs 0.1 0.2 0.3 0.4, y = 0.3: E|X-y| = 0.4/4 = 0.1; E|X-X'| = 2.0/16;
    // CRPS = 0.1 - 0.0625 = 0.0375
    assert!(close(r.crps, 0.0375), "{}", r.crps);
    assert!(close(r.error, -0.05));
    assert!(close(r.median, 0.25));
    assert!(close(r.percentile, 0.625)); // (2 below + 3 at or below) / 8
    assert!(close(r.lo50, 0.175) && close(r.hi50, 0.325) && r.in50);
    assert!(close(r.lo90, 0.115) && close(r.hi90, 0.385) && r.in90);
    // persistence 0.2 (error 0.1): skill 1 - 0.0375/0.1
    assert_eq!(r.persistence, Some(0.2));
    assert!(close(r.skill_persistence.unwrap(), 0.625));
    // trend through (2018, 0.1), (2020, 0.2) gives 0.3 in 2022: exact, no skill
    assert!(close(r.trend.unwrap(), 0.3));
    assert_eq!(r.skill_trend, None);
}

#[test]
fn hand_computed_row_from_quantiles() {
    let (cells, runs) = inputs();
    let s = score(&meta(), &observations(), &cells, &runs, "o.csv").unwrap();
    let r = &s.rows[1];
    assert_eq!((r.metric.as_str(), r.method), ("group_share", Method::Quantiles));
    // U(0, 1) at 0.5: (0.25 + 0.25)/2 - 1/6 = 1/12
    assert!(close(r.crps, 1.0 / 12.0), "{}", r.crps);
    assert!(close(r.percentile, 0.5));
    assert!(r.in50 && r.in90);
    assert_eq!((r.persistence, r.trend, r.skill_persistence), (None, None, None));
}

#[test]
fn overall_per_metric_and_all_shares() {
    let (cells, runs) = inputs();
    let s = score(&meta(), &observations(), &cells, &runs, "o.csv").unwrap();
    let scopes: Vec<&str> = s.overall.iter().map(|o| o.scope.as_str()).collect();
    assert_eq!(scopes, ["trade_share", "group_share", "all shares"]);
    let all = &s.overall[2];
    assert_eq!(all.n, 2);
    assert!(close(all.mae, 0.025));
    assert!(close(all.mean_crps, (0.0375 + 1.0 / 12.0) / 2.0));
    assert_eq!((all.coverage50, all.coverage90), (1.0, 1.0));
    let p = all.persistence.as_ref().unwrap();
    assert_eq!(p.n, 1);
    assert!(close(p.mae, 0.1) && close(p.model_mae, 0.05) && close(p.model_crps, 0.0375));
    assert!(close(p.skill_mae.unwrap(), 0.5));
    assert!(close(p.skill_crps.unwrap(), 0.625));
    let t = all.trend.as_ref().unwrap();
    assert_eq!((t.n, t.skill_mae), (1, None));
}

#[test]
fn a_cell_the_result_lacks_is_named_with_its_line() {
    let (cells, runs) = inputs();
    let mut o = observations();
    o.push(obs(9, 2022.0, "trade_share", "ZZ", 0.1));
    let e = score(&meta(), &o, &cells, &runs, "o.csv").unwrap_err();
    assert!(e.contains("o.csv:9: the result has no metric `trade_share` with subject `ZZ`"), "{e}");
    assert!(e.contains("partners: A"), "{e}");
}

#[test]
fn without_runs_the_horizon_is_scored_from_quantiles() {
    let (cells, _) = inputs();
    let s = score(&meta(), &observations(), &cells, &HashMap::new(), "o.csv").unwrap();
    let r = &s.rows[0];
    assert_eq!(r.method, Method::Quantiles);
    // knots (0, 0.1), (0.5, 0.25), (1, 0.4): uniform on [0.1, 0.4]; at 0.3
    // CRPS = w * ((u^2 + (1-u)^2)/2 - 1/6), w = 0.3, u = 2/3
    let u: f64 = 2.0 / 3.0;
    assert!(close(r.crps, 0.3 * ((u * u + (1.0 - u) * (1.0 - u)) / 2.0 - 1.0 / 6.0)), "{}", r.crps);
}

#[test]
fn linear_trend_fits_least_squares() {
    assert_eq!(linear_trend(&[(0.0, 1.0)]), None);
    assert_eq!(linear_trend(&[(1.0, 1.0), (1.0, 2.0)]), None);
    let (a, b) = linear_trend(&[(0.0, 0.0), (1.0, 1.0), (2.0, 4.0)]).unwrap();
    assert!(close(b, 2.0) && close(a, -1.0 / 3.0));
}

#[test]
fn rendered_tables_have_one_line_per_row() {
    let (cells, runs) = inputs();
    let s = score(&meta(), &observations(), &cells, &runs, "o.csv").unwrap();
    let csv = render::rows_csv(&s);
    assert_eq!(csv.lines().count(), 3);
    let header_fields = csv.lines().next().unwrap().split(',').count();
    assert!(csv.lines().all(|l| l.split(',').count() == header_fields), "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("2022,trade_share,A,0.3,runs,4,0.25,"), "{csv}");
    let overall = render::overall_csv(&s);
    let n = overall.lines().next().unwrap().split(',').count();
    assert!(overall.lines().all(|l| l.split(',').count() == n), "{overall}");
    let md = render::markdown(&s);
    assert!(md.contains("| all shares | 2 |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&render::json(&s)).unwrap();
    assert_eq!(json["rows"][0]["method"], "runs");
}
