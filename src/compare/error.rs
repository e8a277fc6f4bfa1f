//! Errors of `hedgesim compare`, worded for the person who typed the
//! command: each names the file or option at fault, what is wrong with it
//! and what to do. [`CompareError::is_input_error`] separates bad input
//! (exit code 2) from failures of the machine (exit code 1).

use std::fmt;
use std::path::PathBuf;

/// Which of the two result directories a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// RESULT_A, the baseline (differences are B - A).
    A,
    /// RESULT_B.
    B,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "RESULT_A",
            Side::B => "RESULT_B",
        })
    }
}

/// Everything that can stop a comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The path given for a result does not exist or is not a directory.
    #[error(
        "{side} `{}` {problem}; is this a directory written by `hedgesim run`?",
        path.display()
    )]
    NotADirectory {
        /// Which result.
        side: Side,
        /// The path as given.
        path: PathBuf,
        /// "does not exist" or "is not a directory".
        problem: &'static str,
    },

    /// A file every result directory has is missing.
    #[error(
        "{side} `{}` has no {file}; is this a directory written by `hedgesim run`? \
         (A result directory holds manifest.json, summary.csv and outcomes.csv, \
         and runs.csv unless run with --no-runs-table.)",
        dir.display()
    )]
    MissingFile {
        /// Which result.
        side: Side,
        /// The result directory.
        dir: PathBuf,
        /// The missing file's name.
        file: &'static str,
    },

    /// A file is present but does not follow docs/outputs.md.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The two results cannot be compared (different partners, horizon ...).
    #[error(
        "the results cannot be compared: {0}. Compare results of scenarios with the same \
         partners (in the same order), base_year, horizon and steps_per_year."
    )]
    Mismatch(String),

    /// `--year` is not a year of the results.
    #[error("--year {year} is not a year of these results: {valid}")]
    BadYear {
        /// The year asked for.
        year: f64,
        /// The valid years, in words.
        valid: String,
    },

    /// `--metric` names no metric of the results.
    #[error("--metric `{name}` is unknown: {hint}")]
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// The valid names, in words.
        hint: String,
    },

    /// A result's files disagree with each other or with a re-simulation:
    /// a file was changed after `hedgesim run` wrote it, so any difference
    /// found with it could be an artefact. Refused rather than reported.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Suspect {
        /// The suspect file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// What disagrees with what, and what to do.
        message: String,
    },

    /// Options that cannot be used together.
    #[error("{0}")]
    Options(String),

    /// A file exists but could not be read (permissions, I/O error).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl CompareError {
    /// True when the error is the user's input (missing, incomplete or
    /// incompatible result directories, bad options): exit code 2. False for
    /// failures of the machine (an I/O error on an existing file): exit 1.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, CompareError::Io { .. })
    }

    /// [`CompareError::Suspect`]: `what` (e.g. "the mean of trade_share.RU at
    /// year 2024 (step 0)") is `found` in the file, but `expected_from` gives
    /// `expected`.
    pub(crate) fn suspect(
        path: impl Into<PathBuf>,
        line: Option<u64>,
        what: &str,
        found: &str,
        expected: &str,
        expected_from: &str,
    ) -> CompareError {
        CompareError::Suspect {
            path: path.into(),
            line,
            message: format!(
                "{what} is {found}, but {expected_from} gives {expected}; they must be equal bit for bit, so the \
                 result has been changed since `hedgesim run` wrote it (or its files come from different runs). \
                 compare does not report differences from a suspect file: re-run `hedgesim run` to write the \
                 result again"
            ),
        }
    }

    pub(crate) fn malformed(path: impl Into<PathBuf>, line: Option<u64>, message: impl Into<String>) -> CompareError {
        CompareError::Malformed { path: path.into(), line, message: message.into() }
    }
}
