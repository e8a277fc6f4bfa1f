//! The commands, between the command line and the pure library: loading
//! files, progress, signals, and writing results. Every error is an
//! [`AppError`] whose kind decides the exit code.

pub mod bench;
pub mod compare;
pub mod explore;
pub mod explore_merge;
pub mod explore_resume;
pub mod finish;
pub mod merge;
pub mod report;
pub mod run;
pub mod score;
pub mod signals;

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::atomic::{self, Claim, ClaimError, partial_dir};
use crate::scenario::{Layers, LoadError, Override, Scenario};

/// Exit code for invalid input (nothing was written).
pub const EXIT_INVALID: i32 = 2;
/// Exit code for an interrupted run (SIGINT, Ctrl-C).
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit code for a terminated run (SIGTERM, e.g. a scheduler's time limit).
pub const EXIT_TERMINATED: i32 = 143;

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: exit code 2, nothing written.
    #[error("{0}")]
    Invalid(String),
    /// Stopped by the user (SIGINT).
    #[error("{0}")]
    Interrupted(String),
    /// Stopped by SIGTERM.
    #[error("{0}")]
    Terminated(String),
    /// Anything else (I/O, ...).
    #[error("{0}")]
    Failed(String),
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Invalid(_) => EXIT_INVALID,
            AppError::Interrupted(_) => EXIT_INTERRUPTED,
            AppError::Terminated(_) => EXIT_TERMINATED,
            AppError::Failed(_) => 1,
        }
    }
}

/// Attach a path to an I/O error.
pub fn io_err(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::Failed(format!("{what} {}: {e}", path.display()))
}

/// What an existing result directory must be to be replaced: a hedgesim
/// result of this scenario name, made from a file of this stem (checked for
/// the default output directory, where a name collision is not the
/// user's choice).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub scenario: &'a str,
    pub file_stem: &'a str,
}

/// Check an output directory before any work: a missing `out` is fine; an
/// existing one is replaced only with `force`, only if it is a real
/// directory holding a hedgesim result (its `manifest.json`), and, with
/// `expected`, only if that result is of the same scenario and file stem.
/// Anything else is invalid input (exit 2) and is never touched.
pub fn check_out(out: &Path, force: bool, expected: Option<Expected>) -> Result<(), AppError> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("cannot inspect", out, e)),
    };
    let o = out.display();
    if meta.file_type().is_symlink() {
        return Err(AppError::Invalid(format!(
            "{o} is a symbolic link; hedgesim does not write through links or replace them.              Give --out the real directory, or another path"
        )));
    }
    if !meta.is_dir() {
        return Err(AppError::Invalid(format!(
            "{o} exists and is not a directory; hedgesim never replaces it (not even with --force).              Choose another --out"
        )));
    }
    if !force {
        return Err(AppError::Invalid(format!(
            "{o} already exists; pass --force to replace it, or --out to write elsewhere"
        )));
    }
    let Some(id) = crate::output::atomic::result_id(out) else {
        return Err(AppError::Invalid(format!(
            "{o} is not a hedgesim result (no manifest.json written by hedgesim), so --force will not replace it;              nothing was changed. Choose another --out, or move it away yourself"
        )));
    };
    if let Some(exp) = expected {
        let stem = Path::new(&id.scenario_file).file_stem().map(|s| s.to_string_lossy().into_owned());
        let mut differs = Vec::new();
        if id.scenario != exp.scenario {
            differs.push(format!("scenario name `{}`, not `{}`", id.scenario, exp.scenario));
        }
        if stem.as_deref() != Some(exp.file_stem) {
            differs.push(format!("scenario file `{}`, not a file named `{}.toml`", id.scenario_file, exp.file_stem));
        }
        if !differs.is_empty() {
            return Err(AppError::Invalid(format!(
                "{o} holds another scenario's result ({}); --force replaces the default directory only with a                  result of the same scenario. Nothing was changed. Use --out DIR to write elsewhere, or --out {o}                  --force to replace it deliberately",
                differs.join("; ")
            )));
        }
    }
    Ok(())
}

/// The locked working directory of an output, after any interrupted
/// publication was finished or rolled back (each action is printed to
/// standard error). `published` is true if that recovery published a
/// complete result at `out`.
pub struct Claimed {
    pub claim: Claim,
    pub published: bool,
}

/// Take the working directory of `out` (see [`crate::output::atomic`]);
/// another process holding it, or anything hedgesim did not create in the
/// way, is invalid input (exit 2).
pub fn claim_out(out: &Path) -> Result<Claimed, AppError> {
    let partial = partial_dir(out);
    let mut published = false;
    loop {
        let claim = atomic::claim(&partial).map_err(|e| claim_error(&partial, e))?;
        let recovery = claim.recover(out).map_err(|e| claim_error(&partial, e))?;
        for line in &recovery.done {
            eprintln!("hedgesim: {line}");
        }
        published |= recovery.published;
        if !recovery.moved {
            return Ok(Claimed { claim, published });
        }
    }
}

/// A [`ClaimError`] as an [`AppError`].
pub fn claim_error(partial: &Path, e: ClaimError) -> AppError {
    match e {
        ClaimError::Busy { .. } => AppError::Invalid(format!("{e}; wait for it to finish or stop it")),
        ClaimError::Unsafe(_) => AppError::Invalid(e.to_string()),
        ClaimError::Io(e) => io_err("cannot use the working directory", partial, e),
    }
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
pub fn check_scenario_memory(path: &Path, s: &Scenario) -> Result<(), AppError> {
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

/// `hedgesim validate`: check every file (with the overrides), report
/// every problem. Clamp warnings go to standard error; with
/// `deny_warnings` they are errors.
pub fn validate(files: &[PathBuf], sets: &[String], deny_warnings: bool) -> Result<String, AppError> {
    let overrides = parse_overrides(sets)?;
    let mut report = String::new();
    let mut bad = Vec::new();
    for file in files {
        let checked = load_scenario(file, &overrides).and_then(|loaded| {
            check_scenario_memory(file, &loaded.scenario)?;
            report_warnings(&loaded.scenario, deny_warnings)?;
            Ok(loaded.scenario)
        });
        match checked {
            Ok(s) => report.push_str(&format!(
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
