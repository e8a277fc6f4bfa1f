//! The glue between a parsed [`Experiment`] and the mathematics: build its
//! design, analyse one outcome's values with the estimator that suits the
//! design, and run its discovery question. Still pure (no I/O): the caller
//! runs the model at [`BuiltDesign::values`] and passes back one value per
//! point and outcome.
//!
//! Seeds: the design, the Sobol' scramble, and each outcome's bootstrap get
//! distinct streams derived from the experiment seed (the bootstrap of
//! outcome number `i` uses `seed ^ i`-keyed resamples), so adding an outcome
//! does not change the intervals of the others.

use super::design::{self, Range, UnitDesign};
use super::morris_analysis::{self, MorrisIndices, MorrisOptions};
use super::prim::{PrimError, PrimResult, prim};
use super::regression::{self, RegressionError, Spearman, Src};
use super::sobol_analysis::{self, AnalysisError, SobolIndices, SobolOptions};
use super::sobol_seq::SobolError;
use super::spec::{DesignSpec, Experiment};

/// A design ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltDesign {
    /// Points on the unit cube (the random designs; empty for a grid).
    pub unit: Vec<Vec<f64>>,
    /// Parameter values per point, in design order: the rows of `design.csv`.
    pub values: Vec<Vec<f64>>,
    /// Remarks to print (e.g. N not a power of two).
    pub warnings: Vec<String>,
}

/// Builds the design of `experiment` from `seed` (the experiment's seed, or
/// the scenario's when the file gives none).
pub fn build_design(experiment: &Experiment, seed: u64) -> Result<BuiltDesign, SobolError> {
    let k = experiment.parameters.len();
    let ranges: Vec<Range> = experiment
        .parameters
        .iter()
        .map(|p| {
            let (low, high) = p.range.as_ref().map_or((0.0, 1.0), |r| r.value);
            Range { low, high, scale: p.scale }
        })
        .collect();
    let unit = match experiment.design {
        DesignSpec::Grid => {
            let levels: Vec<Vec<f64>> = experiment.parameters.iter().map(|p| p.grid_values()).collect();
            return Ok(BuiltDesign { unit: Vec::new(), values: design::full_factorial(&levels), warnings: Vec::new() });
        }
        DesignSpec::Lhs { samples } => {
            UnitDesign { points: design::latin_hypercube(samples, k, seed), warnings: Vec::new() }
        }
        DesignSpec::Sobol { samples, second_order, scramble } => {
            design::saltelli(samples, k, second_order, scramble.then_some(seed))?
        }
        DesignSpec::Morris { samples, levels } => design::morris(samples, k, levels, seed),
    };
    Ok(BuiltDesign { values: design::scale_points(&unit.points, &ranges), unit: unit.points, warnings: unit.warnings })
}

/// The sensitivity measures of one outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Sensitivity {
    Sobol(SobolIndices),
    Morris(MorrisIndices),
    /// Grid and Latin hypercube designs.
    Regression {
        src: Src,
        spearman: Spearman,
    },
}

/// Why an outcome cannot be analysed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Regression(#[from] RegressionError),
    #[error(transparent)]
    Prim(#[from] PrimError),
    #[error("{values} outcome values for {points} design points")]
    Length { values: usize, points: usize },
}

/// The measures of the design for outcome values `y` (one per point, in
/// design order); `outcome_index` keys the bootstrap stream.
pub fn sensitivity(
    experiment: &Experiment,
    built: &BuiltDesign,
    y: &[f64],
    seed: u64,
    outcome_index: usize,
) -> Result<Sensitivity, PlanError> {
    if y.len() != built.values.len() {
        return Err(PlanError::Length { values: y.len(), points: built.values.len() });
    }
    let k = experiment.parameters.len();
    let boot_seed = seed ^ (outcome_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Ok(match experiment.design {
        DesignSpec::Sobol { second_order, .. } => Sensitivity::Sobol(sobol_analysis::analyze(
            k,
            y,
            &SobolOptions {
                second_order,
                num_resamples: experiment.num_resamples,
                conf_level: experiment.conf_level,
                seed: boot_seed,
            },
        )?),
        DesignSpec::Morris { levels, .. } => Sensitivity::Morris(morris_analysis::analyze(
            &built.unit,
            y,
            k,
            &MorrisOptions {
                levels,
                num_resamples: experiment.num_resamples,
                conf_level: experiment.conf_level,
                seed: boot_seed,
            },
        )?),
        DesignSpec::Grid | DesignSpec::Lhs { .. } => Sensitivity::Regression {
            src: regression::src(&built.values, y, experiment.conf_level)?,
            spearman: regression::spearman(&built.values, y, experiment.conf_level)?,
        },
    })
}

/// PRIM on the discovery outcome's values `y` (one per point): the cases of
/// interest are the points where the condition holds. `None` when the
/// experiment asks no discovery question.
pub fn discover(experiment: &Experiment, built: &BuiltDesign, y: &[f64]) -> Option<Result<PrimResult, PlanError>> {
    let d = experiment.discovery.as_ref()?;
    if y.len() != built.values.len() {
        return Some(Err(PlanError::Length { values: y.len(), points: built.values.len() }));
    }
    let cases: Vec<bool> = y.iter().map(|&v| d.condition.value.holds(v)).collect();
    Some(prim(&built.values, &cases, &d.prim_options()).map_err(PlanError::from))
}

/// The parameters' paths, in order (column names of `design.csv`).
pub fn parameter_names(experiment: &Experiment) -> Vec<String> {
    experiment.parameters.iter().map(|p| p.path.value.clone()).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::explore::spec::parse_experiment;
    use crate::explore::testfns::ishigami;

    fn experiment(design: &str) -> Experiment {
        let src = format!(
            r#"
[experiment]
name = "t"
scenario = "s.toml"
{design}
outcomes = ["hhi@2040"]

[[parameter]]
path = "a"
range = [-3.141592653589793, 3.141592653589793]
{levels}
[[parameter]]
path = "b"
range = [-3.141592653589793, 3.141592653589793]
{levels}
[[parameter]]
path = "c"
range = [-3.141592653589793, 3.141592653589793]
{levels}
[discovery]
outcome = "hhi@2040"
condition = "> 8"
"#,
            levels = if design.contains("grid") { "levels = 9" } else { "" }
        );
        parse_experiment(Path::new("t.toml"), &src).unwrap()
    }

    fn run(e: &Experiment) -> (BuiltDesign, Vec<f64>) {
        let built = build_design(e, 3).unwrap();
        let y = built.values.iter().map(|x| ishigami(x, 7.0, 0.1)).collect();
        (built, y)
    }

    #[test]
    fn sobol_plan_matches_salib_unscrambled() {
        let e = experiment("design = \"sobol\"\nsamples = 1024\nscramble = false");
        let (built, y) = run(&e);
        assert_eq!(built.values.len(), 1024 * 5);
        let Sensitivity::Sobol(s) = sensitivity(&e, &built, &y, 3, 0).unwrap() else { panic!("not Sobol") };
        assert!((s.s1[0] - 0.33295507517942635).abs() < 1e-12);
        assert!((s.st[2] - 0.24214937335496534).abs() < 1e-12);
    }

    #[test]
    fn every_design_gives_its_measure() {
        for (design, points) in [
            ("design = \"lhs\"\nsamples = 500", 500),
            ("design = \"grid\"", 729),
            ("design = \"morris\"\nsamples = 30", 120),
        ] {
            let e = experiment(design);
            let (built, y) = run(&e);
            assert_eq!(built.values.len(), points, "{design}");
            let s = sensitivity(&e, &built, &y, 3, 0).unwrap();
            match (&e.design, s) {
                (DesignSpec::Morris { .. }, Sensitivity::Morris(m)) => assert!(m.mu_star[1] > m.mu_star[2]),
                (DesignSpec::Lhs { .. } | DesignSpec::Grid, Sensitivity::Regression { src, spearman }) => {
                    // Ishigami is far from linear: x2 acts through sin², so
                    // its linear and rank effects are near zero.
                    assert!(src.r2 < 0.5);
                    assert!(src.beta[0] > 0.3 && spearman.rho[0] > 0.3);
                    assert!(spearman.rho[1].abs() < 0.15);
                }
                (d, s) => panic!("{d:?} gave {s:?}"),
            }
            let found = discover(&e, &built, &y).unwrap().unwrap();
            assert!(found.chosen_box().density > found.trajectory[0].density);
        }
    }

    #[test]
    fn rejects_misaligned_values() {
        let e = experiment("design = \"lhs\"\nsamples = 10");
        let built = build_design(&e, 1).unwrap();
        assert!(matches!(sensitivity(&e, &built, &[1.0; 9], 1, 0), Err(PlanError::Length { .. })));
        assert!(matches!(discover(&e, &built, &[1.0; 9]), Some(Err(PlanError::Length { .. }))));
    }
}
