//! The commands, between the command line and the pure library: loading
//! files, progress, signals, and writing results. Every error is an
//! [`AppError`] whose kind decides the exit code.

pub mod bench;
pub mod compare;
pub mod explore;
pub mod finish;
pub mod merge;
pub mod run;
pub mod score;

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scenario::{Layers, LoadError, Override, Scenario};

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

/// A loaded scenario and the bytes that describe it completely: the file
/// as written when it stands alone, or the flattened resolved scenario
/// when it `extends` another file or has `--set` overrides (the copy in a
/// result directory must be readable without the files it came from).
pub struct Loaded {
    pub scenario: Scenario,
    pub bytes: Vec<u8>,
    pub layers: Layers,
}

/// Parse `--set PATH=VALUE` arguments.
pub fn parse_overrides(args: &[String]) -> Result<Vec<Override>, AppError> {
    args.iter().map(|a| Override::parse_arg(a).map_err(AppError::Invalid)).collect()
}

/// Load a scenario with its `extends` chain and overrides; invalid input
/// becomes [`AppError::Invalid`].
pub fn load_scenario(path: &Path, overrides: &[Override]) -> Result<Loaded, AppError> {
    let layers = Layers::load(path, overrides).map_err(|e| AppError::Invalid(e.to_string()))?;
    let scenario = layers.scenario().map_err(|e| AppError::Invalid(LoadError::Invalid(e).to_string()))?;
    let bytes = if layers.is_single_file() {
        std::fs::read(path).map_err(|e| io_err("cannot read", path, e))?
    } else {
        layers
            .flattened()
            .ok_or_else(|| AppError::Failed(format!("{}: cannot write the resolved scenario", path.display())))?
            .into_bytes()
    };
    Ok(Loaded { scenario, bytes, layers })
}

/// `hedgesim validate`: check every file, report every problem.
pub fn validate(files: &[PathBuf], sets: &[String]) -> Result<String, AppError> {
    let overrides = parse_overrides(sets)?;
    let mut report = String::new();
    let mut bad = Vec::new();
    for file in files {
        match load_scenario(file, &overrides) {
            Ok(Loaded { scenario: s, .. }) => report.push_str(&format!(
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
