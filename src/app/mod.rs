//! The commands, between the command line and the pure library: loading
//! files, progress, signals, and writing results. Every error is an
//! [`AppError`] whose kind decides the exit code.

pub mod bench;
pub mod compare;
pub mod finish;
pub mod merge;
pub mod run;

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scenario::{LoadError, Scenario};

/// Exit code for invalid input (nothing was written).
pub const EXIT_INVALID: i32 = 2;
/// Exit code for an interrupted run.
pub const EXIT_INTERRUPTED: i32 = 130;

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: exit code 2, nothing written.
    #[error("{0}")]
    Invalid(String),
    /// Stopped by the user.
    #[error("{0}")]
    Interrupted(String),
    /// Anything else (I/O, ...).
    #[error("{0}")]
    Failed(String),
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Invalid(_) => EXIT_INVALID,
            AppError::Interrupted(_) => EXIT_INTERRUPTED,
            AppError::Failed(_) => 1,
        }
    }
}

/// Attach a path to an I/O error.
pub fn io_err(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::Failed(format!("{what} {}: {e}", path.display()))
}

/// Take the working directory of an output (see
/// [`crate::output::atomic::claim`]); another live process owning it is
/// invalid input (exit 2).
pub fn claim_dir(partial: &Path, fresh: bool) -> Result<(), AppError> {
    crate::output::atomic::claim(partial, fresh).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => AppError::Invalid(format!("{e}; wait for it to finish or stop it")),
        _ => io_err("cannot create", partial, e),
    })
}

/// Load a scenario; invalid files become [`AppError::Invalid`].
pub fn load_scenario(path: &Path) -> Result<(Scenario, Vec<u8>), AppError> {
    let shown = crate::scenario::diagnostics::escape(&path.display().to_string());
    let bytes =
        std::fs::read(path).map_err(|e| AppError::Invalid(format!("cannot read scenario file {shown}: {e}")))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| AppError::Invalid(format!("{shown}: not UTF-8 text; save the scenario as UTF-8")))?;
    match crate::scenario::parse_scenario(path, &text) {
        Ok(s) => Ok((s, bytes)),
        Err(e) => Err(AppError::Invalid(LoadError::Invalid(e).to_string())),
    }
}

/// Print the clamp warnings of a scenario on standard error; with
/// `deny`, any warning is an error (exit code 2) instead.
pub fn report_warnings(scenario: &Scenario, deny: bool) -> Result<(), AppError> {
    let warnings = crate::scenario::validate::clamp_warnings(scenario);
    if warnings.is_empty() {
        return Ok(());
    }
    if deny {
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        return Err(AppError::Invalid(format!(
            "{}\n{} warning(s) made errors by --deny-warnings; change the events, or drop --deny-warnings to run with the clamped values",
            text.join("\n"),
            text.len()
        )));
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Refuse a scenario whose batch would not fit in memory (see
/// [`crate::engine::state::check_memory`]) with the default thread count.
fn check_scenario_memory(path: &Path, s: &Scenario) -> Result<(), AppError> {
    let model = crate::model::Model::new(s);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    crate::engine::state::check_memory(
        model.steps(),
        model.layout.len(),
        threads,
        crate::engine::chunk_count(s.runs),
        crate::engine::state::memory_limit(),
    )
    .map_err(|e| {
        AppError::Invalid(format!("{}: {e}", crate::scenario::diagnostics::escape(&path.display().to_string())))
    })
}

/// `hedgesim validate`: check every file, report every problem. Clamp
/// warnings go to standard error; with `deny_warnings` they are errors.
pub fn validate(files: &[PathBuf], deny_warnings: bool) -> Result<String, AppError> {
    let mut report = String::new();
    let mut bad = Vec::new();
    for file in files {
        let checked = load_scenario(file).and_then(|(s, b)| {
            check_scenario_memory(file, &s)?;
            report_warnings(&s, deny_warnings)?;
            Ok((s, b))
        });
        match checked {
            Ok((s, _)) => report.push_str(&format!(
                "ok: {} (scenario `{}`: {} partners, {} corridors, {} events, {} steps, {} runs)\n",
                crate::scenario::diagnostics::escape(&file.display().to_string()),
                s.name,
                s.partners.len(),
                s.corridors.len(),
                s.events.len(),
                s.steps(),
                s.runs
            )),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if bad.is_empty() { Ok(report) } else { Err(AppError::Invalid(format!("{report}{}", bad.join("\n")))) }
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A progress bar over `total` units drawn with `template` on standard
/// error, ticking by itself; hidden when `quiet` or when standard error is
/// not a terminal (logs and pipes get no control characters).
fn progress_bar(total: u64, quiet: bool, template: &str) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}", state.per_sec());
        },
    );
    let bar = ProgressBar::new(total).with_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
