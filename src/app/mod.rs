//! The commands, between the command line and the pure library: loading
//! files, progress, signals, and writing results. Every error is an
//! [`AppError`] whose kind decides the exit code.

pub mod bench;
pub mod compare;
pub mod finish;
pub mod merge;
pub mod report;
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
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::Invalid(format!("cannot read scenario file {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| AppError::Invalid(format!("{}: not UTF-8 text; save the scenario as UTF-8", path.display())))?;
    match crate::scenario::parse_scenario(path, &text) {
        Ok(s) => Ok((s, bytes)),
        Err(e) => Err(AppError::Invalid(LoadError::Invalid(e).to_string())),
    }
}

/// `hedgesim validate`: check every file, report every problem.
pub fn validate(files: &[PathBuf]) -> Result<String, AppError> {
    let mut report = String::new();
    let mut bad = Vec::new();
    for file in files {
        match load_scenario(file) {
            Ok((s, _)) => report.push_str(&format!(
                "ok: {} (scenario `{}`: {} partners, {} corridors, {} events, {} steps, {} runs)\n",
                file.display(),
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
