//! The tables of named, event-modifiable parameters.
//!
//! Partner, hedger and corridor parameters live in fixed-size arrays indexed
//! by these tables, so that an `[[event]]` naming `leverage` resolves once,
//! at validation, to an array slot, and the per-step computation of effective
//! parameters is a loop over numbers with no string in sight. Each entry also
//! carries the default of MODEL.md and the valid range used both to reject a
//! base value and to clamp an effective (event-modified) one. Every range
//! is bounded above, so that no accepted value, and no clamped effective
//! value, can drive the model to an overflow (docs/scenario-format.md,
//! upper bounds and derived checks).

/// A parameter's name, default and valid range.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: f64,
    pub min: f64,
    /// `true` if `min` itself is not allowed (e.g. `trade_cost > 0`).
    pub min_exclusive: bool,
    pub max: f64,
}

impl ParamSpec {
    const fn new(name: &'static str, default: f64, min: f64, min_exclusive: bool, max: f64) -> Self {
        Self { name, default, min, min_exclusive, max }
    }

    /// Whether a base value given in a scenario file is acceptable. Above
    /// an exclusive lower bound, values closer to it than
    /// [`EXCLUSIVE_FLOOR`] are refused too (`rationality = 5e-324` would
    /// make the model divide by almost zero), as [`ParamSpec::clamp`] does
    /// for effective values.
    pub fn accepts(&self, value: f64) -> bool {
        let floor = if self.min_exclusive { self.min + EXCLUSIVE_FLOOR } else { self.min };
        value.is_finite() && value >= floor && value <= self.max
    }

    /// Human description of the range, e.g. `> 0` or `in [0, 1]`.
    pub fn range_text(&self) -> String {
        range_text(self.min, self.min_exclusive, self.max)
    }

    /// Clamp an effective value into the valid range. An exclusive lower
    /// bound is replaced by a value just above it, so logs and divisions stay
    /// finite.
    pub fn clamp(&self, value: f64) -> f64 {
        let floor = if self.min_exclusive { self.min + EXCLUSIVE_FLOOR } else { self.min };
        value.max(floor).min(self.max)
    }
}

/// How far above an exclusive lower bound an effective value is clamped.
pub const EXCLUSIVE_FLOOR: f64 = 1e-9;

/// Text for a range such as `in [0, 1]`, `> 0`, `>= 0`.
pub fn range_text(min: f64, min_exclusive: bool, max: f64) -> String {
    let lo = if min_exclusive { "(" } else { "[" };
    match (min.is_finite(), max.is_finite()) {
        (true, true) => format!("in {lo}{min}, {max}]"),
        (true, false) if min_exclusive => format!("> {min}"),
        (true, false) => format!(">= {min}"),
        (false, true) => format!("<= {max}"),
        (false, false) => "finite".to_string(),
    }
}

/// Index of each partner parameter in [`PARTNER_PARAMS`].
pub mod partner {
    pub const GDP_GROWTH: usize = 0;
    pub const GDP_VOLATILITY: usize = 1;
    pub const VOLATILITY: usize = 2;
    pub const COMPLEMENTARITY: usize = 3;
    pub const TRADE_COST: usize = 4;
    pub const ACCESS: usize = 5;
    pub const LEVERAGE: usize = 6;
    pub const ASSERTIVENESS: usize = 7;
    pub const RECIPROCITY: usize = 8;
    pub const SANCTIONS_RISK: usize = 9;
    pub const PRIORITY: usize = 10;
    pub const COUNT: usize = 11;
}

/// Partner parameters (`[[partner]]`), in the order of [`partner`].
pub const PARTNER_PARAMS: [ParamSpec; partner::COUNT] = [
    ParamSpec::new("gdp_growth", 0.02, -1.0, true, 5.0),
    ParamSpec::new("gdp_volatility", 0.0, 0.0, false, 5.0),
    ParamSpec::new("volatility", 0.1, 0.0, false, 5.0),
    ParamSpec::new("complementarity", 1.0, 0.0, true, 1e6),
    ParamSpec::new("trade_cost", 1.0, 0.0, true, 1e6),
    ParamSpec::new("access", 0.0, 0.0, false, 100.0),
    ParamSpec::new("leverage", 0.0, 0.0, false, 1.0),
    ParamSpec::new("assertiveness", 0.0, 0.0, false, 1e6),
    ParamSpec::new("reciprocity", 0.0, 0.0, false, 1000.0),
    ParamSpec::new("sanctions_risk", 0.0, 0.0, false, 1000.0),
    ParamSpec::new("priority", 0.0, -1000.0, false, 1000.0),
];

/// Index of each hedger parameter in [`HEDGER_PARAMS`].
pub mod hedger {
    pub const TRADE_GROWTH: usize = 0;
    pub const TRADE_VOLATILITY: usize = 1;
    pub const RATIONALITY: usize = 2;
    pub const RISK_AVERSION: usize = 3;
    pub const AUTONOMY_WEIGHT: usize = 4;
    pub const TRADE_ADJUSTMENT: usize = 5;
    pub const DIPLOMATIC_ADJUSTMENT: usize = 6;
    pub const REASSURANCE: usize = 7;
    pub const ECONOMIC_DIPLOMACY: usize = 8;
    pub const COUNT: usize = 9;
}

/// Hedger parameters (`[hedger]`), in the order of [`hedger`].
pub const HEDGER_PARAMS: [ParamSpec; hedger::COUNT] = [
    ParamSpec::new("trade_growth", 0.03, -1.0, true, 5.0),
    ParamSpec::new("trade_volatility", 0.0, 0.0, false, 5.0),
    ParamSpec::new("rationality", 1.0, 0.0, true, 1000.0),
    ParamSpec::new("risk_aversion", 1.0, 0.0, false, 1000.0),
    ParamSpec::new("autonomy_weight", 0.5, 0.0, false, 1000.0),
    ParamSpec::new("trade_adjustment", 0.3, 0.0, true, 1.0),
    ParamSpec::new("diplomatic_adjustment", 0.6, 0.0, true, 1.0),
    ParamSpec::new("reassurance", 1.0, 0.0, false, 1000.0),
    ParamSpec::new("economic_diplomacy", 0.5, 0.0, false, 1000.0),
];

/// Index of each corridor parameter in [`CORRIDOR_PARAMS`].
pub mod corridor {
    pub const COST: usize = 0;
    pub const DISRUPTION: usize = 1;
    pub const COUNT: usize = 2;
}

/// Corridor parameters (`[[corridor]]`), in the order of [`corridor`].
pub const CORRIDOR_PARAMS: [ParamSpec; corridor::COUNT] =
    [ParamSpec::new("cost", 1.0, 0.0, true, 1e6), ParamSpec::new("disruption", 0.0, 0.0, false, 1000.0)];

/// Model-wide parameters (`[model]`); not event-modifiable.
pub const MODEL_PARAMS: [ParamSpec; 11] = [
    ParamSpec::new("gdp_elasticity", 1.0, 0.0, false, 100.0),
    ParamSpec::new("engagement_elasticity", 0.5, 0.0, false, 100.0),
    ParamSpec::new("global_correlation", 0.3, 0.0, false, 1.0),
    ParamSpec::new("bloc_correlation", 0.3, 0.0, false, 1.0),
    ParamSpec::new("pressure_decay", 1.0, 0.0, false, 1000.0),
    ParamSpec::new("coercion_severity", 0.1, 0.0, false, 1.0 - f64::EPSILON),
    ParamSpec::new("coercion_risk_jump", 0.2, 0.0, false, 1000.0),
    ParamSpec::new("disruption_duration", 0.5, 0.0, false, 1000.0),
    ParamSpec::new("trade_friction", 0.5, 0.0, false, 1.0),
    ParamSpec::new("learning_rate", 0.5, 0.0, false, 1.0),
    ParamSpec::new("engagement_adjustment", 0.5, 0.0, false, 1.0),
];

/// Look a parameter up by name in one of the tables.
pub fn find(table: &[ParamSpec], name: &str) -> Option<usize> {
    table.iter().position(|spec| spec.name == name)
}

/// Default values of a table, as an array.
pub fn defaults<const N: usize>(table: &[ParamSpec; N]) -> [f64; N] {
    table.map(|spec| spec.default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for table in [&PARTNER_PARAMS[..], &HEDGER_PARAMS[..], &CORRIDOR_PARAMS[..], &MODEL_PARAMS[..]] {
            for spec in table {
                assert!(spec.accepts(spec.default), "{} default rejected", spec.name);
                assert_eq!(spec.clamp(spec.default), spec.default);
            }
        }
    }

    #[test]
    fn exclusive_bounds_are_clamped_above() {
        let cost = CORRIDOR_PARAMS[corridor::COST];
        assert!(!cost.accepts(0.0));
        assert!(!cost.accepts(5e-324) && cost.accepts(1e-9));
        assert!(cost.clamp(-3.0) > 0.0);
        assert_eq!(range_text(0.0, false, 1.0), "in [0, 1]");
        assert_eq!(cost.range_text(), "in (0, 1000000]");
        assert_eq!(range_text(0.0, true, f64::INFINITY), "> 0");
    }
}
