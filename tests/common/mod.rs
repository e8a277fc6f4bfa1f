//! Helpers shared by the explore tests (`tests/explore.rs`,
//! `tests/explore_shards.rs`).

use std::path::{Path, PathBuf};

/// The shipped scenarios, as an absolute path.
fn scenarios() -> PathBuf {
    std::fs::canonicalize("scenarios").expect("scenarios/")
}

/// An experiment file in `dir` whose base scenario is a shipped one.
pub fn experiment(dir: &Path, name: &str, body: &str) -> PathBuf {
    let text =
        format!("[experiment]\nname = \"{name}\"\nscenario = \"{}/policy-levers.toml\"\n{body}", scenarios().display());
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write experiment");
    path
}

/// A Latin hypercube of 12 points x 6 runs, three outcomes and PRIM.
pub const LHS: &str = r#"design = "lhs"
samples = 12
runs = 6
seed = 3
outcomes = ["trade_share.RU@2030", "strategic_space@2040", "posture.hedging@2040"]

[[parameter]]
path = "partner.RU.assertiveness"
range = [0.5, 2.0]

[[parameter]]
path = 'event."sanctions risk on Russia-linked trade".add.sanctions_risk'
range = [0.0, 0.6]

[[parameter]]
path = "hedger.autonomy_weight"
range = [0.1, 1.5]
scale = "log"

[discovery]
outcome = "trade_share.RU@2030"
condition = "< 0.17"
"#;
