//! A typed reader over the span-preserving TOML tree.
//!
//! Every `get_*` call both reads a key and records it as known; `finish`
//! then reports every key of the table that nobody asked for as unknown,
//! with a "did you mean" suggestion drawn from the keys that were asked for.
//! The list of valid keys is therefore the reading code itself, and can never
//! drift from it. Type errors are recorded and reading goes on, so a file's
//! problems are all reported in one pass.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostics::{Diagnostic, shown, suggest};

/// The value of a TOML integer or float as `f64`, honouring the radix of
/// integers (`0x10` is 16) and digit separators; `None` for other types or
/// out-of-range integers.
pub fn number(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok().map(|v| v as f64),
        _ => None,
    }
}

/// A value read from the file, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub span: Range<usize>,
    /// Dotted key path, for messages.
    pub key: String,
}

impl<T> At<T> {
    pub fn diag(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.span.clone(), self.key.clone(), message)
    }
}

/// Reads one TOML table, tracking which keys were consumed.
pub struct TableReader<'a, 'i> {
    table: &'a DeTable<'i>,
    path: String,
    span: Range<usize>,
    known: Vec<&'static str>,
}

impl<'a, 'i> TableReader<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, path: impl Into<String>, span: Range<usize>) -> Self {
        Self { table, path: path.into(), span, known: Vec::new() }
    }

    /// The dotted path of this table (empty for the document root).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    fn raw(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table.get(key)
    }

    /// Report a required key as missing, unless it is present (then it had
    /// the wrong type, which was reported when it was read).
    pub fn report_missing(&self, diags: &mut Vec<Diagnostic>, key: &str, help: &str) {
        if !self.table.contains_key(key) {
            diags.push(self.missing(key, help));
        }
    }

    /// A diagnostic for a key that is required but absent.
    pub fn missing(&self, key: &str, help: &str) -> Diagnostic {
        Diagnostic::new(self.span.clone(), self.key_path(key), format!("missing required key `{key}`"))
            .with_help(help.to_string())
    }

    fn type_error(&self, key: &str, value: &Spanned<DeValue<'_>>, expected: &str) -> Diagnostic {
        Diagnostic::new(
            value.span(),
            self.key_path(key),
            format!("expected {expected}, found {}", value.get_ref().type_str()),
        )
    }

    /// A number (integer or float). Rejects NaN and infinities.
    pub fn f64(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<At<f64>> {
        let value = self.raw(key)?;
        if !matches!(value.get_ref(), DeValue::Float(_) | DeValue::Integer(_)) {
            diags.push(self.type_error(key, value, "a number"));
            return None;
        }
        let parsed = number(value.get_ref());
        match parsed {
            Some(v) if v.is_finite() => Some(At { value: v, span: value.span(), key: self.key_path(key) }),
            _ => {
                let help = if matches!(value.get_ref(), DeValue::Integer(_)) {
                    "integers must be within -9223372036854775808 to 9223372036854775807 (write large values as floats, e.g. 1e20)"
                } else {
                    "nan and inf are not allowed"
                };
                diags.push(
                    Diagnostic::new(value.span(), self.key_path(key), "expected a finite number").with_help(help),
                );
                None
            }
        }
    }

    /// An integer; `valid` describes its range for the message when the
    /// number does not even fit in 64 bits.
    pub fn i64(&mut self, key: &'static str, valid: &str, diags: &mut Vec<Diagnostic>) -> Option<At<i64>> {
        let value = self.raw(key)?;
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                Ok(v) => Some(At { value: v, span: value.span(), key: self.key_path(key) }),
                Err(_) => {
                    diags.push(
                        Diagnostic::new(
                            value.span(),
                            self.key_path(key),
                            format!("integer out of range: {key} must be {valid}"),
                        )
                        .with_help("TOML integers are 64-bit (at most 9223372036854775807)"),
                    );
                    None
                }
            },
            _ => {
                diags.push(self.type_error(key, value, "an integer"));
                None
            }
        }
    }

    pub fn string(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<At<String>> {
        let value = self.raw(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(At { value: s.to_string(), span: value.span(), key: self.key_path(key) }),
            _ => {
                diags.push(self.type_error(key, value, "a string"));
                None
            }
        }
    }

    pub fn bool(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<At<bool>> {
        let value = self.raw(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(At { value: *b, span: value.span(), key: self.key_path(key) }),
            _ => {
                diags.push(self.type_error(key, value, "true or false"));
                None
            }
        }
    }

    /// An array of strings.
    pub fn strings(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<Vec<At<String>>> {
        let value = self.raw(key)?;
        let Some(array) = value.get_ref().as_array() else {
            diags.push(self.type_error(key, value, "an array of strings"));
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in array.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => out.push(At {
                    value: s.to_string(),
                    span: item.span(),
                    key: format!("{}[{i}]", self.key_path(key)),
                }),
                _ => diags.push(self.type_error(key, item, "a string")),
            }
        }
        Some(out)
    }

    /// An array of numbers.
    pub fn numbers(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<Vec<At<f64>>> {
        let value = self.raw(key)?;
        let Some(array) = value.get_ref().as_array() else {
            diags.push(self.type_error(key, value, "an array of numbers"));
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in array.iter().enumerate() {
            let key_path = format!("{}[{i}]", self.key_path(key));
            let parsed = number(item.get_ref());
            match parsed {
                Some(v) if v.is_finite() => out.push(At { value: v, span: item.span(), key: key_path }),
                _ => diags.push(Diagnostic::new(item.span(), key_path, "expected a finite number")),
            }
        }
        Some(out)
    }

    /// A sub-table (`[name]` or an inline table).
    pub fn table(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Option<TableReader<'a, 'i>> {
        let value = self.raw(key)?;
        match value.get_ref() {
            DeValue::Table(t) => Some(TableReader::new(t, self.key_path(key), value.span())),
            _ => {
                diags.push(self.type_error(key, value, "a table"));
                None
            }
        }
    }

    /// An array of tables (`[[name]]`).
    pub fn tables(&mut self, key: &'static str, diags: &mut Vec<Diagnostic>) -> Vec<TableReader<'a, 'i>> {
        let Some(value) = self.raw(key) else { return Vec::new() };
        let Some(array) = value.get_ref().as_array() else {
            diags.push(self.type_error(key, value, &format!("an array of tables (`[[{key}]]`)")));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in array.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push(TableReader::new(t, format!("{}[{i}]", self.key_path(key)), item.span())),
                _ => diags.push(self.type_error(key, item, "a table")),
            }
        }
        out
    }

    /// The keys of this table that have not been read, with their spans,
    /// for tables whose keys are free-form (e.g. `multiply = { ... }`).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, &'a Spanned<DeValue<'i>>, Range<usize>)> + '_ {
        self.table.iter().map(|(k, v)| (k.get_ref().as_ref(), v, k.span()))
    }

    /// Report every key that was not read as unknown.
    pub fn finish(self, diags: &mut Vec<Diagnostic>) {
        for (key, _value) in self.table.iter() {
            let name: &str = key.get_ref().as_ref();
            if self.known.contains(&name) {
                continue;
            }
            let mut d =
                Diagnostic::new(key.span(), self.key_path(&shown(name)), format!("unknown key `{}`", shown(name)));
            let valid = self.known.join(", ");
            d = match suggest(name, self.known.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`? valid keys here: {valid}")),
                None => d.with_help(format!("valid keys here: {valid}")),
            };
            diags.push(d);
        }
    }
}
