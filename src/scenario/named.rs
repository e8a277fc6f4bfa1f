//! The resolved scenario with every value named by its key, for
//! `manifest.json`: the same tables and keys as a scenario file, with every
//! default filled in and every reference written as the id or label it
//! resolved from (not as an index), so a reader can see exactly what ran.

use serde_json::{Map, Value, json};

use super::params::{CORRIDOR_PARAMS, HEDGER_PARAMS, PARTNER_PARAMS, ParamSpec};
use super::{Event, Scenario, Target, Timing};

/// The resolved scenario as JSON, keyed like a scenario file.
pub fn resolved_scenario(s: &Scenario) -> Value {
    json!({
        "scenario": {
            "name": s.name,
            "description": s.description,
            "base_year": s.base_year,
            "horizon": s.horizon,
            "steps_per_year": s.steps_per_year,
        },
        "monte_carlo": { "runs": s.runs, "seed": s.seed },
        "model": s.model,
        "hedger": hedger(s),
        "partner": s.partners.iter().map(|p| partner_json(s, p)).collect::<Vec<_>>(),
        "corridor": s.corridors.iter().map(|c| {
            let mut m = Map::new();
            m.insert("id".into(), json!(c.id));
            m.insert("name".into(), json!(c.name));
            m.insert("controlled_by".into(), json!(c.controlled_by.map(|i| s.partners[i].id.clone())));
            named_params(&mut m, &CORRIDOR_PARAMS, &c.params);
            Value::Object(m)
        }).collect::<Vec<_>>(),
        "event": s.events.iter().map(|e| event_json(s, e)).collect::<Vec<_>>(),
        "outputs": s.outputs,
        "classification": s.classification,
    })
}

fn named_params(map: &mut Map<String, Value>, specs: &[ParamSpec], values: &[f64]) {
    for (spec, value) in specs.iter().zip(values) {
        map.insert(spec.name.into(), json!(value));
    }
}

fn hedger(s: &Scenario) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(s.hedger.name));
    m.insert("trade_total".into(), json!(s.hedger.trade_total));
    named_params(&mut m, &HEDGER_PARAMS, &s.hedger.params);
    Value::Object(m)
}

fn partner_json(s: &Scenario, p: &super::Partner) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("name".into(), json!(p.name));
    m.insert("group".into(), json!(s.groups[p.group]));
    m.insert("bloc".into(), json!(s.blocs[p.bloc]));
    m.insert("corridor".into(), json!(p.corridor.map(|i| s.corridors[i].id.clone())));
    m.insert("rivals".into(), json!(p.rivals.iter().map(|&i| s.partners[i].id.clone()).collect::<Vec<_>>()));
    m.insert("trade".into(), json!(p.trade));
    m.insert("gdp".into(), json!(p.gdp));
    m.insert("diplomatic_share".into(), json!(p.diplomatic_share));
    named_params(&mut m, &PARTNER_PARAMS, &p.params);
    Value::Object(m)
}

fn target_text(s: &Scenario, target: &Target) -> Value {
    match target {
        Target::Hedger => json!("hedger"),
        Target::Corridor(c) => json!(format!("corridor:{}", s.corridors[*c].id)),
        Target::Partners(ps) => json!(ps.iter().map(|&i| s.partners[i].id.clone()).collect::<Vec<_>>()),
    }
}

fn event_json(s: &Scenario, e: &Event) -> Value {
    let effects = |list: &[super::Effect]| -> Value {
        Value::Object(list.iter().map(|x| (x.name.clone(), json!(x.value))).collect())
    };
    let timing = match &e.timing {
        Timing::Scheduled { at, duration, ramp } => json!({ "at": at, "duration": duration, "ramp": ramp }),
        Timing::Hazard { rate, from, until, duration, ramp } => {
            json!({ "hazard": rate, "from": from, "until": until, "duration": duration, "ramp": ramp })
        }
    };
    let mut m = Map::new();
    m.insert("name".into(), json!(e.name));
    m.insert("target".into(), target_text(s, &e.target));
    if let Value::Object(t) = timing {
        m.extend(t);
    }
    m.insert("multiply".into(), effects(&e.multiply));
    m.insert("add".into(), effects(&e.add));
    m.insert("shock".into(), json!({ "trade": e.shock.trade, "gdp": e.shock.gdp, "trade_total": e.shock.trade_total }));
    Value::Object(m)
}
