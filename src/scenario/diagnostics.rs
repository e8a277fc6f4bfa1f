//! Error messages about a scenario file that name file, line, column, key
//! and a fix.
//!
//! Validation never stops at the first problem: every check pushes a
//! [`Diagnostic`] and the caller receives all of them at once, sorted by
//! position, as a [`ScenarioErrors`].

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Byte range in the file that the problem points at.
    pub span: Range<usize>,
    /// Dotted path of the key, e.g. `partner[3].leverage` (empty for syntax errors).
    pub key: String,
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { span, key: key.into(), message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// 1-based line and column of a byte offset. A UTF-8 byte-order mark at
/// the start of the file is not a column: editors do not show it.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_text = &before[line_start..];
    let line_text = if line_start == 0 { line_text.strip_prefix('\u{feff}').unwrap_or(line_text) } else { line_text };
    let col = line_text.chars().count() + 1;
    (line, col)
}

/// How many characters of a user-supplied name or value a message echoes.
pub const ECHO_LIMIT: usize = 80;

/// Whether a character must not reach a terminal raw: C0/C1 controls
/// (ESC starts colour, cursor and OSC 52 clipboard sequences; CR overwrites
/// the line) and the bidirectional overrides that reorder displayed text.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// `text` with every control character written as an escape (`\u{1b}`,
/// `\r`, `\n`), safe to print on one line.
pub fn escape(text: &str) -> String {
    escape_except(text, |_| false)
}

/// Like [`escape`], but keeps line breaks and tabs: for multi-line messages
/// and report text.
pub fn escape_lines(text: &str) -> String {
    escape_except(text, |c| matches!(c, '\n' | '\t'))
}

fn escape_except(text: &str, keep: impl Fn(char) -> bool) -> String {
    if !text.chars().any(is_unsafe) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) { push_escaped(&mut out, c) } else { out.push(c) }
    }
    out
}

/// A user-supplied name as a message shows it: escaped and cut to
/// [`ECHO_LIMIT`] characters (with `...` and the full length when cut).
pub fn shown(text: &str) -> String {
    let n = text.chars().count();
    if n <= ECHO_LIMIT {
        return escape(text);
    }
    let head: String = text.chars().take(ECHO_LIMIT).collect();
    format!("{}... ({n} characters)", escape(&head))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// All problems found in one scenario (its file, the files it extends and
/// its overrides).
#[derive(Debug, Clone)]
pub struct ScenarioErrors {
    /// The scenario file that was asked for.
    pub path: PathBuf,
    /// Every problem, in order of position.
    pub items: Vec<Located>,
}

/// A diagnostic with the file (or `--set` override) and 1-based line and
/// column it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// False for an override given on the command line (no line to show).
    pub has_position: bool,
    pub diagnostic: Diagnostic,
}

impl ScenarioErrors {
    /// Problems of one file whose spans point into `source`.
    pub fn new(path: &Path, source: &str, diagnostics: Vec<Diagnostic>) -> Self {
        Self::from_sources(path, &[(path.display().to_string(), 0, source)], diagnostics)
    }

    /// Problems whose spans point into several sources laid out in one
    /// text: each `(label, offset, text)` starts at `offset`. Labels that
    /// start with `--set` are command-line overrides, shown without a line.
    pub fn from_sources(path: &Path, sources: &[(String, usize, &str)], mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.start, d.key.clone()));
        diagnostics.dedup();
        let items = diagnostics
            .into_iter()
            .map(|d| {
                let (label, offset, text) = sources
                    .iter()
                    .rev()
                    .find(|(_, offset, _)| *offset <= d.span.start)
                    .or(sources.first())
                    .map_or(("", 0, ""), |(l, o, t)| (l.as_str(), *o, *t));
                let (line, col) = line_col(text, d.span.start.saturating_sub(offset));
                let has_position = !label.starts_with("--set ");
                Located { file: label.to_string(), line, col, has_position, diagnostic: d }
            })
            .collect();
        Self { path: path.to_path_buf(), items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let d = &item.diagnostic;
            if item.has_position {
                write!(f, "{}:{}:{}: error", escape(&item.file), item.line, item.col)?;
            } else {
                write!(f, "{}: error", escape(&item.file))?;
            }
            if !d.key.is_empty() {
                write!(f, " in `{}`", escape(&d.key))?;
            }
            write!(f, ": {}", escape(&d.message))?;
            if let Some(help) = &d.help {
                write!(f, "\n  help: {}", escape(help))?;
            }
        }
        let n = self.items.len();
        write!(f, "\n{}: {n} error{}", escape(&self.path.display().to_string()), if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for ScenarioErrors {}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 4));
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let src = "\u{feff}a = 1\nb = 2\n";
        assert_eq!(line_col(src, 3), (1, 1));
        assert_eq!(line_col(src, 7), (1, 5));
        assert_eq!(line_col(src, 9), (2, 1));
    }

    #[test]
    fn control_characters_are_escaped_and_long_names_cut() {
        assert_eq!(escape("a\u{1b}]52;c;eA==\u{7}b\rc"), "a\\u{1b}]52;c;eA==\\u{7}b\\rc");
        assert_eq!(escape_lines("x\ny\u{1b}"), "x\ny\\u{1b}");
        assert_eq!(escape("plain `RU`"), "plain `RU`");
        let long = "k".repeat(5000);
        let s = shown(&long);
        assert!(s.starts_with(&"k".repeat(80)) && s.ends_with("... (5000 characters)"), "{s}");
        assert!(s.len() < 120);
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["leverage", "assertiveness", "access"];
        assert_eq!(suggest("leverge", keys), Some("leverage"));
        assert_eq!(suggest("zzz", keys), None);
    }
}
