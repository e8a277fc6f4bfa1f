//! Scenario composition: `[scenario] extends = "base.toml"` and
//! `--set PATH=VALUE` overrides.
//!
//! A scenario may start from another file and change only what differs.
//! The files of an `extends` chain are read into one [`Layers`] value that
//! keeps their texts side by side in one string, each at its own offset, so
//! that every span of the merged TOML tree points into exactly one file and
//! every message names the file that holds the wrong line.
//!
//! Merge rules (base first, then each file that extends it, then `--set`):
//! tables merge key by key, recursively; `[[partner]]` and `[[corridor]]`
//! entries merge by `id` (an unknown id adds an entry); `[[event]]` entries
//! are appended, and an entry with the `name` of an inherited event replaces
//! it; anything else (numbers, strings, arrays) is replaced.
//!
//! Parameter paths (`--set`, and the parameters of `hedgesim explore`) name
//! one key of the merged tree: `model.coercion_severity`,
//! `hedger.autonomy_weight`, `partner.RU.leverage`, `corridor.CPC.disruption`,
//! `group.southeast_asia.access` (the key of every partner of the group),
//! `event."secondary sanctions".add.sanctions_risk`,
//! `event."oil price crash".hazard`, `monte_carlo.runs`. A path is resolved
//! here (which table); whether the key exists and its value is in range is
//! checked by the same validation as a key written in a file, so the two can
//! never disagree.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::Scenario;
use super::diagnostics::{Diagnostic, ScenarioErrors, suggest};

/// The longest `extends` chain accepted (a guard against runaway chains).
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// Top-level tables a parameter path may start with, besides the
/// entry-selecting roots `partner`, `corridor`, `group` and `event`.
const PLAIN_ROOTS: [&str; 6] = ["scenario", "monte_carlo", "model", "hedger", "outputs", "classification"];

/// One source of text in a [`Layers`]: a file of the chain or one override.
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name it: the file path, or `--set PATH=VALUE`.
    pub label: String,
    /// The file, for files (not for overrides).
    pub path: Option<PathBuf>,
    /// The parameter path, for overrides.
    pub set: Option<ParamPath>,
    /// Byte range of its text inside [`Layers::text`].
    pub range: Range<usize>,
}

/// A parameter path such as `partner.RU.leverage`, split into segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamPath {
    pub segments: Vec<String>,
}

impl ParamPath {
    /// Parse a dotted path; segments may be quoted with double or single
    /// quotes (`event."oil price crash".hazard`, `event.'oil price crash'.hazard`).
    pub fn parse(text: &str) -> Result<ParamPath, String> {
        let mut segments = Vec::new();
        let mut rest = text.trim();
        loop {
            let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''));
            let (segment, after) = if let Some(q) = quote {
                let quoted = &rest[1..];
                let end = quoted.find(q).ok_or_else(|| format!("`{text}`: unclosed quote"))?;
                (quoted[..end].to_string(), &quoted[end + 1..])
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                (rest[..end].trim().to_string(), &rest[end..])
            };
            if segment.is_empty() {
                return Err(format!("`{text}`: empty segment in the parameter path"));
            }
            segments.push(segment);
            if after.is_empty() {
                break;
            }
            rest = after.strip_prefix('.').ok_or_else(|| format!("`{text}`: expected `.` after a quoted segment"))?;
        }
        if segments.len() < 2 {
            return Err(format!(
                "`{text}`: a parameter path has a table and a key, e.g. `model.coercion_severity` or `partner.RU.leverage`"
            ));
        }
        Ok(ParamPath { segments })
    }
}

impl std::fmt::Display for ParamPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            // Single quotes where the name allows: a CSV header then needs no
            // quoting, which not every reader undoes (polars keeps `""`).
            let bare = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'));
            if bare {
                f.write_str(s)?
            } else if !s.contains('\'') {
                write!(f, "'{s}'")?
            } else {
                write!(f, "\"{}\"", s.replace('"', "'"))?
            }
        }
        Ok(())
    }
}

/// One override: a parameter path and a value written as TOML
/// (`0.3`, `"text"`, `true`, `[0.05, 0.5]`); a bare word is taken as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: ParamPath,
    pub value: String,
    /// How messages name it (e.g. `--set partner.RU.leverage=0.9`).
    pub label: String,
}

impl Override {
    /// Parse `PATH=VALUE` as given to `--set`.
    pub fn parse_arg(arg: &str) -> Result<Override, String> {
        let split = split_assignment(arg)
            .ok_or_else(|| format!("--set `{arg}`: expected PATH=VALUE, e.g. `--set partner.RU.leverage=0.9`"))?;
        let (path, value) = (&arg[..split], arg[split + 1..].trim());
        if value.is_empty() {
            return Err(format!("--set `{arg}`: the value after `=` is empty"));
        }
        let path = ParamPath::parse(path).map_err(|e| format!("--set {e}"))?;
        Ok(Override { path, value: value.to_string(), label: format!("--set {arg}") })
    }

    /// An override of a number (used by `explore` for design points).
    pub fn number(path: &ParamPath, value: f64) -> Override {
        // `{:?}` prints the shortest text that reads back as the same f64.
        Override { path: path.clone(), value: format!("{value:?}"), label: format!("{path} = {value:?}") }
    }

    /// The TOML line this override is parsed from.
    fn toml_line(&self) -> String {
        if DeTable::parse(&format!("v = {}", self.value)).is_ok() {
            format!("v = {}", self.value)
        } else {
            let escaped = self.value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("v = \"{escaped}\"")
        }
    }
}

/// The `=` that ends the path: the first one outside quotes (double or single).
fn split_assignment(arg: &str) -> Option<usize> {
    let mut open: Option<char> = None;
    for (i, c) in arg.char_indices() {
        match (open, c) {
            (None, '"' | '\'') => open = Some(c),
            (Some(q), _) if c == q => open = None,
            (None, '=') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The files of an `extends` chain and the overrides, as one text.
#[derive(Debug, Clone)]
pub struct Layers {
    /// All sources, separated by newlines.
    text: String,
    /// Base file first, the named file last, then the overrides.
    sources: Vec<Source>,
}

/// Why a chain could not be read: located diagnostics, or a file that does
/// not exist at all (the named file itself).
#[derive(Debug)]
pub enum ComposeError {
    Unreadable(PathBuf, std::io::Error),
    Invalid(ScenarioErrors),
}

impl std::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComposeError::Unreadable(path, e) => write!(f, "cannot read scenario file {}: {e}", path.display()),
            ComposeError::Invalid(errors) => write!(f, "{errors}"),
        }
    }
}

impl std::error::Error for ComposeError {}

impl Layers {
    /// One file's text, without reading any other (no `extends` is followed).
    pub fn single(path: &Path, text: &str) -> Layers {
        Layers {
            text: text.to_string(),
            sources: vec![Source {
                label: path.display().to_string(),
                path: Some(path.to_path_buf()),
                set: None,
                range: 0..text.len(),
            }],
        }
    }

    /// Read `path` and every file it extends, then add the overrides.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Layers, ComposeError> {
        let mut chain: Vec<(PathBuf, String)> = Vec::new();
        let mut current = path.to_path_buf();
        // Where the current file was named (file index in `chain`, span of the value).
        let mut named_at: Option<(usize, Range<usize>)> = None;
        loop {
            let text = match read_text(&current) {
                Ok(text) => text,
                Err(e) => {
                    return match named_at {
                        None => Err(ComposeError::Unreadable(current, e)),
                        Some((file, span)) => {
                            let layers = Layers::from_files(&chain, &[]);
                            let offset = layers.sources[file].range.start;
                            let d = Diagnostic::new(
                                offset + span.start..offset + span.end,
                                "scenario.extends",
                                format!("cannot read the extended file {}: {e}", current.display()),
                            )
                            .with_help("the path is relative to the file that holds `extends`");
                            Err(ComposeError::Invalid(layers.errors(vec![d])))
                        }
                    };
                }
            };
            let extends = extends_of(&text);
            chain.push((current.clone(), text));
            let Some((target, span)) = extends else { break };
            let next = current.parent().unwrap_or(Path::new("")).join(&target);
            let seen = |p: &Path| chain.iter().any(|(q, _)| same_file(p, q));
            if seen(&next) || chain.len() > MAX_EXTENDS_DEPTH {
                let layers = Layers::from_files(&chain, &[]);
                let file = chain.len() - 1;
                let offset = layers.sources[file].range.start;
                let names: Vec<String> =
                    chain.iter().map(|(p, _)| p.display().to_string()).chain([next.display().to_string()]).collect();
                let message = if seen(&next) {
                    format!("`extends` makes a cycle: {}", names.join(" -> "))
                } else {
                    format!("`extends` chain longer than {MAX_EXTENDS_DEPTH} files")
                };
                let d = Diagnostic::new(offset + span.start..offset + span.end, "scenario.extends", message)
                    .with_help("a scenario may extend another only if that one does not lead back to it");
                return Err(ComposeError::Invalid(layers.errors(vec![d])));
            }
            named_at = Some((chain.len() - 1, span));
            current = next;
        }
        chain.reverse();
        Ok(Layers::from_files(&chain, overrides))
    }

    fn from_files(files: &[(PathBuf, String)], overrides: &[Override]) -> Layers {
        let mut layers = Layers { text: String::new(), sources: Vec::new() };
        for (path, text) in files {
            layers.push(path.display().to_string(), Some(path.clone()), None, text);
        }
        layers.with_overrides(overrides)
    }

    fn push(&mut self, label: String, path: Option<PathBuf>, set: Option<ParamPath>, text: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.sources.push(Source { label, path, set, range: start..self.text.len() });
    }

    /// These layers plus more overrides (e.g. one design point).
    pub fn with_overrides(&self, overrides: &[Override]) -> Layers {
        let mut layers = self.clone();
        for o in overrides {
            layers.push(o.label.clone(), None, Some(o.path.clone()), &o.toml_line());
        }
        layers
    }

    /// The sources, base file first.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// True for one file without `extends` and without overrides: its bytes
    /// are the whole scenario.
    pub fn is_single_file(&self) -> bool {
        self.sources.len() == 1
    }

    /// Diagnostics (spans into [`Layers::text`]) as errors naming each file.
    pub fn errors(&self, diagnostics: Vec<Diagnostic>) -> ScenarioErrors {
        let named: Vec<(String, usize, &str)> =
            self.sources.iter().map(|s| (s.label.clone(), s.range.start, &self.text[s.range.clone()])).collect();
        let primary = self.sources.iter().rev().find_map(|s| s.path.clone()).unwrap_or_default();
        ScenarioErrors::from_sources(&primary, &named, diagnostics)
    }

    /// The merged tree and the validated scenario.
    pub fn scenario(&self) -> Result<Scenario, ScenarioErrors> {
        let mut diags = Vec::new();
        let merged = self.merged(&mut diags);
        let scenario = match &merged {
            Some(doc) => super::validate::validate_document(doc, &mut diags),
            None => None,
        };
        match scenario {
            Some(s) if diags.is_empty() => Ok(s),
            _ => {
                if diags.is_empty() {
                    diags.push(Diagnostic::new(0..0, "", "invalid scenario"));
                }
                Err(self.errors(diags))
            }
        }
    }

    /// The whole scenario as one self-contained TOML file (comments are
    /// lost); `None` if the layers do not merge.
    pub fn flattened(&self) -> Option<String> {
        let mut diags = Vec::new();
        let merged = self.merged(&mut diags)?;
        if !diags.is_empty() {
            return None;
        }
        let mut out = String::from("# hedgesim: the resolved scenario, flattened from:\n");
        for s in &self.sources {
            out.push_str(&format!("#   {}\n", s.label.replace(['\n', '\r'], " ")));
        }
        out.push('\n');
        // The tables in the order of the scenario format, not alphabetically.
        let mut table = to_toml_table(&merged);
        let order = ["scenario", "monte_carlo", "model", "hedger", "partner", "corridor", "event"];
        let mut parts: Vec<toml::Table> = Vec::new();
        for key in order {
            if let Some((k, v)) = table.remove_entry(key) {
                parts.push(std::iter::once((k, v)).collect());
            }
        }
        parts.push(table);
        for part in parts.iter().filter(|p| !p.is_empty()) {
            out.push_str(&toml::to_string(part).ok()?);
            out.push('\n');
        }
        Some(out)
    }

    /// Parse every source, shift its spans to its place in the text and
    /// merge them in order.
    fn merged(&self, diags: &mut Vec<Diagnostic>) -> Option<DeTable<'_>> {
        let mut merged: Option<DeTable<'_>> = None;
        for source in &self.sources {
            let text = &self.text[source.range.clone()];
            let offset = source.range.start;
            let parsed = match DeTable::parse(text) {
                Ok(doc) => shift_table(doc.into_inner(), offset),
                Err(e) => {
                    let mut d = super::validate::syntax_error(text, e.span(), e.message().trim());
                    d.span = d.span.start + offset..d.span.end + offset;
                    diags.push(d);
                    return None;
                }
            };
            merged = Some(match (merged, &source.set) {
                (Some(mut base), Some(path)) => {
                    let value = parsed.into_iter().next().map(|(_, v)| v)?;
                    apply_override(&mut base, path, value, source.range.clone(), diags);
                    base
                }
                (None, _) => strip_extends(parsed),
                (Some(base), None) => merge_tables(base, strip_extends(parsed), 0),
            });
        }
        merged
    }
}

fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text; save the scenario as UTF-8"))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `[scenario] extends` of a file and the span of its value, if it has one
/// (a file that does not parse has none here; its syntax error is reported
/// when the layers are merged).
fn extends_of(text: &str) -> Option<(String, Range<usize>)> {
    let doc = DeTable::parse(text).ok()?;
    let scenario = doc.get_ref().get("scenario")?;
    let DeValue::Table(t) = scenario.get_ref() else { return None };
    let value = t.get("extends")?;
    match value.get_ref() {
        DeValue::String(s) => Some((s.to_string(), value.span())),
        _ => None,
    }
}

/// Remove `[scenario] extends` (it is consumed here, not a scenario key);
/// a non-string value stays, so validation reports it.
fn strip_extends(mut doc: DeTable<'_>) -> DeTable<'_> {
    if let Some(DeValue::Table(t)) = doc.get_mut("scenario").map(|v| v.get_mut()) {
        if matches!(t.get("extends").map(|v| v.get_ref()), Some(DeValue::String(_))) {
            t.remove("extends");
        }
    }
    doc
}

fn shift_table(table: DeTable<'_>, by: usize) -> DeTable<'_> {
    table
        .into_iter()
        .map(|(k, v)| {
            let key_span = k.span();
            (Spanned::new(key_span.start + by..key_span.end + by, k.into_inner()), shift_value(v, by))
        })
        .collect()
}

fn shift_value(value: Spanned<DeValue<'_>>, by: usize) -> Spanned<DeValue<'_>> {
    let span = value.span();
    let inner = match value.into_inner() {
        DeValue::Table(t) => DeValue::Table(shift_table(t, by)),
        DeValue::Array(a) => DeValue::Array(a.into_iter().map(|v| shift_value(v, by)).collect::<DeArray<'_>>()),
        other => other,
    };
    Spanned::new(span.start + by..span.end + by, inner)
}

/// Merge `over` into `base` (see the module doc for the rules).
fn merge_tables<'i>(mut base: DeTable<'i>, over: DeTable<'i>, depth: usize) -> DeTable<'i> {
    for (key, value) in over {
        let name: &str = key.get_ref();
        let entry_key = match (depth, name) {
            (0, "partner" | "corridor") => Some("id"),
            (0, "event") => Some("name"),
            _ => None,
        };
        let merged = match base.remove(name) {
            None => value,
            Some(old) => {
                let span = value.span();
                match (old.into_inner(), value.into_inner(), entry_key) {
                    (DeValue::Table(a), DeValue::Table(b), _) => {
                        Spanned::new(span, DeValue::Table(merge_tables(a, b, depth + 1)))
                    }
                    (DeValue::Array(a), DeValue::Array(b), Some(id)) if all_tables(&a) && all_tables(&b) => {
                        Spanned::new(span, DeValue::Array(merge_entries(a, b, id, name == "event")))
                    }
                    (_, new, _) => Spanned::new(span, new),
                }
            }
        };
        base.insert(key, merged);
    }
    base
}

fn all_tables(array: &DeArray<'_>) -> bool {
    array.iter().all(|v| matches!(v.get_ref(), DeValue::Table(_)))
}

fn entry_id<'a>(entry: &'a Spanned<DeValue<'_>>, key: &str) -> Option<&'a str> {
    match entry.get_ref() {
        DeValue::Table(t) => match t.get(key).map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => Some(s.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// `[[partner]]`/`[[corridor]]` entries merge by id; `[[event]]` entries
/// with an inherited name replace it (`replace`); others are appended.
fn merge_entries<'i>(base: DeArray<'i>, over: DeArray<'i>, key: &str, replace: bool) -> DeArray<'i> {
    let mut out: Vec<Spanned<DeValue<'i>>> = base.into_iter().collect();
    for entry in over {
        let id = entry_id(&entry, key).map(str::to_string);
        let existing = id.as_deref().and_then(|id| out.iter().position(|e| entry_id(e, key) == Some(id)));
        match existing {
            Some(i) if replace => out[i] = entry,
            Some(i) => {
                let old = std::mem::replace(&mut out[i], Spanned::new(0..0, DeValue::Boolean(false)));
                let span = old.span();
                out[i] = match (old.into_inner(), entry.into_inner()) {
                    (DeValue::Table(a), DeValue::Table(b)) => Spanned::new(span, DeValue::Table(merge_tables(a, b, 1))),
                    (_, b) => Spanned::new(span, b),
                };
            }
            None => out.push(entry),
        }
    }
    out.into_iter().collect()
}

/// Put an override's value at its path, or explain why the path names nothing.
fn apply_override<'i>(
    doc: &mut DeTable<'i>,
    path: &ParamPath,
    value: Spanned<DeValue<'i>>,
    span: Range<usize>,
    diags: &mut Vec<Diagnostic>,
) {
    let segs = &path.segments;
    let key_path = path.to_string();
    let fail = |diags: &mut Vec<Diagnostic>, message: String, help: String| {
        diags.push(Diagnostic::new(span.clone(), key_path.clone(), message).with_help(help));
    };
    let root = segs[0].as_str();
    let targets: Vec<&mut DeTable<'i>> = match root {
        r if PLAIN_ROOTS.contains(&r) => {
            if segs.len() != 2 {
                return fail(diags, format!("`{root}` has no sub-tables"), format!("write `{root}.KEY=VALUE`"));
            }
            let entry = doc.entry(Spanned::new(span.clone(), r.to_string().into()));
            let table = entry.or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
            match table.get_mut() {
                DeValue::Table(t) => vec![t],
                _ => return fail(diags, format!("`{root}` is not a table in the scenario"), String::new()),
            }
        }
        "partner" | "corridor" | "group" | "event" => {
            if segs.len() < 3 {
                let example = match root {
                    "partner" => "partner.RU.leverage",
                    "corridor" => "corridor.CPC.disruption",
                    "group" => "group.southeast_asia.access",
                    _ => "event.\"oil price crash\".hazard",
                };
                return fail(diags, format!("`{key_path}` names no key"), format!("e.g. `{example}`"));
            }
            let (array_key, id_key) = match root {
                "partner" | "group" => ("partner", if root == "group" { "group" } else { "id" }),
                "corridor" => ("corridor", "id"),
                _ => ("event", "name"),
            };
            let wanted = segs[1].as_str();
            let entries: &mut [Spanned<DeValue<'i>>] = match doc.get_mut(array_key).map(|v| v.get_mut()) {
                Some(DeValue::Array(a)) => std::ops::DerefMut::deref_mut(a),
                _ => &mut [],
            };
            let known: Vec<String> = unique(entries.iter().filter_map(|e| entry_id(e, id_key)).map(str::to_string));
            if !known.iter().any(|k| k == wanted) {
                let what = match root {
                    "group" => "no partner is in group",
                    "event" => "no event is named",
                    "corridor" => "no corridor has id",
                    _ => "no partner has id",
                };
                let list = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                let help = match suggest(wanted, known.iter().map(String::as_str)) {
                    _ if known.is_empty() => format!("the scenario has no `[[{array_key}]]` entries to set"),
                    Some(s) => format!("did you mean `{s}`? valid here: {list}"),
                    None => format!("valid here: {list}"),
                };
                return fail(diags, format!("{what} `{wanted}`"), help);
            }
            entries
                .iter_mut()
                .filter(|e| entry_id(e, id_key) == Some(wanted))
                .filter_map(|e| match e.get_mut() {
                    DeValue::Table(t) => Some(t),
                    _ => None,
                })
                .collect()
        }
        _ => {
            let roots = "scenario, monte_carlo, model, hedger, partner.<id>, corridor.<id>, group.<label>, \
                         event.\"<name>\", outputs, classification";
            let candidates = PLAIN_ROOTS.iter().copied().chain(["partner", "corridor", "group", "event"]);
            let help = match suggest(root, candidates) {
                Some(s) => format!("did you mean `{s}`? valid roots: {roots}"),
                None => format!("valid roots: {roots}"),
            };
            return fail(diags, format!("unknown parameter path root `{root}`"), help);
        }
    };
    let keys = if PLAIN_ROOTS.contains(&root) { &segs[1..] } else { &segs[2..] };
    for table in targets {
        set_nested(table, keys, value.clone(), &span);
    }
}

/// Set `keys` (one or more levels) in `table`, creating inner tables.
fn set_nested<'i>(table: &mut DeTable<'i>, keys: &[String], value: Spanned<DeValue<'i>>, span: &Range<usize>) {
    let Some((first, rest)) = keys.split_first() else { return };
    if rest.is_empty() {
        table.remove(first.as_str());
        table.insert(Spanned::new(span.clone(), first.clone().into()), value);
        return;
    }
    let entry = table.entry(Spanned::new(span.clone(), first.clone().into()));
    let inner = entry.or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
    if !matches!(inner.get_ref(), DeValue::Table(_)) {
        *inner = Spanned::new(span.clone(), DeValue::Table(DeTable::new()));
    }
    if let DeValue::Table(t) = inner.get_mut() {
        set_nested(t, rest, value, span);
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn to_toml_table(table: &DeTable<'_>) -> toml::Table {
    table.iter().map(|(k, v)| (k.get_ref().to_string(), to_toml_value(v.get_ref()))).collect()
}

fn to_toml_value(value: &DeValue<'_>) -> toml::Value {
    match value {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
            Ok(v) => toml::Value::Integer(v),
            Err(_) => toml::Value::String(i.to_string()),
        },
        DeValue::Float(f) => toml::Value::Float(f.as_str().replace('_', "").parse::<f64>().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(a) => toml::Value::Array(a.iter().map(|v| to_toml_value(v.get_ref())).collect()),
        DeValue::Table(t) => toml::Value::Table(to_toml_table(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "scenarios/baseline.toml";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    fn base_copy(dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(BASE).expect("baseline readable");
        write(dir, "base.toml", &text)
    }

    fn load(path: &Path, sets: &[&str]) -> Result<Scenario, String> {
        let overrides: Vec<Override> = sets.iter().map(|s| Override::parse_arg(s)).collect::<Result<_, _>>()?;
        Layers::load(path, &overrides).map_err(|e| e.to_string())?.scenario().map_err(|e| e.to_string())
    }

    #[test]
    fn parameter_paths_parse_with_quotes() {
        let p = ParamPath::parse("event.\"oil price crash\".hazard").unwrap();
        assert_eq!(p.segments, ["event", "oil price crash", "hazard"]);
        assert_eq!(p.to_string(), "event.'oil price crash'.hazard");
        assert_eq!(ParamPath::parse("event.'oil price crash'.hazard").unwrap(), p);
        let both = ParamPath::parse("event.\"Xi's visit\".hazard").unwrap();
        assert_eq!(both.to_string(), "event.\"Xi's visit\".hazard");
        assert_eq!(ParamPath::parse(&both.to_string()).unwrap(), both);
        let o = Override::parse_arg("event.'a=b'.hazard=0.2").unwrap();
        assert_eq!((o.path.segments[1].as_str(), o.value.as_str()), ("a=b", "0.2"));
        assert!(ParamPath::parse("model").is_err());
        assert!(ParamPath::parse("model..x").is_err());
        let o = Override::parse_arg("event.\"a=b\".hazard=0.2").unwrap();
        assert_eq!(o.path.segments[1], "a=b");
        assert_eq!(o.value, "0.2");
        assert!(Override::parse_arg("model.coercion_severity").is_err());
    }

    #[test]
    fn a_file_that_extends_nothing_is_the_same_scenario() {
        let text = std::fs::read_to_string(BASE).unwrap();
        let plain = crate::scenario::parse_scenario(Path::new(BASE), &text).unwrap();
        let loaded = load(Path::new(BASE), &[]).unwrap();
        assert_eq!(serde_json::to_string(&plain).unwrap(), serde_json::to_string(&loaded).unwrap());
    }

    #[test]
    fn extends_merges_tables_partners_by_id_and_events_by_name() {
        let dir = tempfile::tempdir().unwrap();
        base_copy(dir.path());
        let child = write(
            dir.path(),
            "child.toml",
            r#"[scenario]
extends = "base.toml"
name = "child"

[model]
coercion_severity = 0.2

[[partner]]
id = "RU"
leverage = 0.9

[[partner]]
id = "IN"
name = "India"
group = "south_asia"
trade = 1.0
gdp = 3500

[[event]]
name = "x"
target = "RU"
at = 2030
add = { sanctions_risk = 0.1 }
"#,
        );
        let s = load(&child, &[]).unwrap();
        let base = load(&dir.path().join("base.toml"), &[]).unwrap();
        assert_eq!(s.name, "child");
        assert_eq!(s.model.coercion_severity, 0.2);
        assert_eq!(s.partners.len(), base.partners.len() + 1);
        assert_eq!(s.partners.last().unwrap().id, "IN");
        let ru = &s.partners[0];
        assert_eq!(ru.params[crate::scenario::params::partner::LEVERAGE], 0.9);
        // Everything else of RU is inherited.
        assert_eq!(ru.trade, base.partners[0].trade);
        assert_eq!(ru.rivals, base.partners[0].rivals);
        assert_eq!(s.horizon, base.horizon);
        assert_eq!(s.events.len(), base.events.len() + 1);

        // An event with an inherited name replaces it.
        let grandchild = write(
            dir.path(),
            "grandchild.toml",
            "[scenario]\nextends = \"child.toml\"\nname = \"gc\"\n\n[[event]]\nname = \"x\"\ntarget = \"CN\"\nat = 2031\nadd = { sanctions_risk = 0.2 }\n",
        );
        let g = load(&grandchild, &[]).unwrap();
        assert_eq!(g.events.len(), s.events.len());
        let x = g.events.iter().find(|e| e.name == "x").unwrap();
        assert_eq!(x.add[0].value, 0.2);
    }

    #[test]
    fn errors_point_into_the_file_that_holds_the_line() {
        let dir = tempfile::tempdir().unwrap();
        base_copy(dir.path());
        let child = write(
            dir.path(),
            "child.toml",
            "[scenario]\nextends = \"base.toml\"\nname = \"child\"\n\n[[partner]]\nid = \"RU\"\nleverage = 7\n",
        );
        let err = load(&child, &[]).unwrap_err();
        assert!(err.contains("child.toml:7:12: error in `partner[0].leverage`"), "{err}");
        let err = load(&child, &["partner.CN.leverage=-1"]).unwrap_err();
        assert!(err.contains("--set partner.CN.leverage=-1: error in `partner[1].leverage`"), "{err}");
        assert!(err.contains("child.toml:7:12"), "{err}");
    }

    #[test]
    fn cycles_and_missing_files_name_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.toml", "[scenario]\nextends = \"b.toml\"\nname = \"a\"\n");
        write(dir.path(), "b.toml", "[scenario]\nextends = \"a.toml\"\nname = \"b\"\n");
        let err = load(&a, &[]).unwrap_err();
        assert!(err.contains("cycle") && err.contains("a.toml") && err.contains("b.toml"), "{err}");
        assert!(err.contains("b.toml:2:11"), "{err}");
        let c = write(dir.path(), "c.toml", "[scenario]\nextends = \"missing.toml\"\nname = \"c\"\n");
        let err = load(&c, &[]).unwrap_err();
        assert!(err.contains("c.toml:2:11") && err.contains("missing.toml"), "{err}");
    }

    #[test]
    fn overrides_reach_every_kind_of_path() {
        let s = load(
            Path::new(BASE),
            &[
                "model.coercion_severity=0.25",
                "hedger.autonomy_weight=0.1",
                "partner.RU.leverage=0.95",
                "corridor.CPC.disruption=0.4",
                "group.southeast_asia.access=0.7",
                "monte_carlo.runs=17",
            ],
        )
        .unwrap();
        use crate::scenario::params::{corridor, hedger, partner};
        assert_eq!(s.model.coercion_severity, 0.25);
        assert_eq!(s.hedger.params[hedger::AUTONOMY_WEIGHT], 0.1);
        assert_eq!(s.partners[0].params[partner::LEVERAGE], 0.95);
        assert_eq!(s.corridors[0].params[corridor::DISRUPTION], 0.4);
        let sea = s.groups.iter().position(|g| g == "southeast_asia").unwrap();
        let members: Vec<_> = s.partners.iter().filter(|p| p.group == sea).collect();
        assert!(members.len() >= 5);
        assert!(members.iter().all(|p| p.params[partner::ACCESS] == 0.7));
        assert!(s.partners.iter().filter(|p| p.group != sea).all(|p| p.params[partner::ACCESS] != 0.7));
        assert_eq!(s.runs, 17);
    }

    #[test]
    fn overrides_reach_event_keys() {
        let s = load(Path::new("scenarios/cpc-outages.toml"), &["event.\"CPC outage\".hazard=0.5"]).unwrap();
        match &s.events[0].timing {
            crate::scenario::Timing::Hazard { rate, .. } => assert_eq!(*rate, 0.5),
            other => panic!("{other:?}"),
        }
        let s = load(
            Path::new("scenarios/russia-sanctions.toml"),
            &["event.\"secondary sanctions risk on Russia-linked trade\".add.sanctions_risk=0.6"],
        )
        .unwrap();
        assert_eq!(s.events[0].add[0].value, 0.6);
    }

    #[test]
    fn wrong_paths_get_suggestions_and_valid_keys() {
        let err = load(Path::new(BASE), &["partner.RUS.leverage=0.5"]).unwrap_err();
        assert!(err.contains("no partner has id `RUS`") && err.contains("did you mean `RU`"), "{err}");
        let err = load(Path::new(BASE), &["model.coersion_severity=0.5"]).unwrap_err();
        assert!(err.contains("unknown key `coersion_severity`") && err.contains("coercion_severity"), "{err}");
        let err = load(Path::new(BASE), &["modle.coercion_severity=0.5"]).unwrap_err();
        assert!(err.contains("unknown parameter path root `modle`") && err.contains("did you mean `model`"), "{err}");
        let err = load(Path::new(BASE), &["group.asean.access=0.5"]).unwrap_err();
        assert!(err.contains("no partner is in group `asean`") && err.contains("southeast_asia"), "{err}");
        let err = load(Path::new(BASE), &["model.coercion_severity=2"]).unwrap_err();
        assert!(err.contains("coercion_severity") && err.contains("[0,"), "{err}");
    }

    #[test]
    fn flattened_scenario_reads_back_to_the_same_values() {
        let layers = Layers::load(Path::new("scenarios/great-power-rivalry.toml"), &[]).unwrap();
        let scenario = layers.scenario().unwrap();
        let flat = layers.flattened().unwrap();
        let again = crate::scenario::parse_scenario(Path::new("flat.toml"), &flat).unwrap();
        assert_eq!(serde_json::to_string(&scenario).unwrap(), serde_json::to_string(&again).unwrap());
    }
}
