//! Reading one result directory written by `hedgesim run` (the contract is
//! docs/outputs.md): `manifest.json`, `summary.csv`, `outcomes.csv` and,
//! when present, the columns of `runs.csv` that a comparison needs.
//!
//! Everything read here is user input: nothing panics on it. Every error
//! names the file (and line, when there is one), says what is wrong and
//! what to do about it. Columns are found by header name, so extra columns
//! (for example other quantiles) are ignored.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{CompareError, Side};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const SUMMARY: &str = "summary.csv";
pub(crate) const OUTCOMES: &str = "outcomes.csv";
pub(crate) const RUNS: &str = "runs.csv";

const RERUN: &str = "the directory does not follow docs/outputs.md; re-run `hedgesim run` to write it again";

/// The fields of `manifest.json` a comparison uses; the others are ignored.
#[derive(Debug, Clone, Deserialize)]
struct RawManifest {
    format_version: Option<u64>,
    scenario: String,
    seed: serde_json::Value,
    runs: u64,
    steps: u64,
    steps_per_year: f64,
    base_year: f64,
    horizon: f64,
    partners: Vec<String>,
    runs_table: Option<bool>,
    shard: Option<serde_json::Value>,
}

/// The validated fields of `manifest.json` that a comparison uses.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub scenario: String,
    pub seed: serde_json::Value,
    pub runs: u64,
    pub steps: u64,
    pub steps_per_year: f64,
    pub base_year: f64,
    pub horizon: f64,
    pub partners: Vec<String>,
    pub runs_table: Option<bool>,
    /// `null` for a whole result, `{ "index": K, "count": N }` for a shard.
    pub shard: serde_json::Value,
}

impl Manifest {
    /// The seed as a user would type it.
    pub fn seed_text(&self) -> String {
        match &self.seed {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// One row of `summary.csv` (the columns a comparison uses).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SummaryRow {
    /// 1-based line in `summary.csv`.
    pub line: u64,
    pub step: u64,
    pub year: f64,
    pub metric: String,
    pub subject: String,
    pub n: u64,
    pub mean: f64,
    pub sd: Option<f64>,
}

impl SummaryRow {
    /// The name of this metric's column in `runs.csv` and of `--metric`:
    /// `metric` for hedger metrics, `metric.subject` for the others.
    pub fn key(&self) -> String {
        column_name(&self.metric, &self.subject)
    }
}

/// `metric` when `subject` is empty, else `metric.subject`.
pub(crate) fn column_name(metric: &str, subject: &str) -> String {
    if subject.is_empty() { metric.to_string() } else { format!("{metric}.{subject}") }
}

/// One row of `outcomes.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub posture: String,
    pub count: u64,
}

/// A result directory read into memory, except `runs.csv`, which is
/// streamed by [`RunsReader`] (only the columns needed).
#[derive(Debug, Clone)]
pub(crate) struct ResultDir {
    pub side: Side,
    pub path: PathBuf,
    pub manifest: Manifest,
    pub summary: Vec<SummaryRow>,
    pub outcomes: Vec<Outcome>,
    /// Path of `runs.csv`, `None` when the run had `--no-runs-table`.
    pub runs_csv: Option<PathBuf>,
}

/// Read the directory `path` as result `side`.
pub(crate) fn load_dir(side: Side, path: &Path) -> Result<ResultDir, CompareError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(CompareError::NotADirectory { side, path: path.to_path_buf(), problem: "is not a directory" });
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(CompareError::NotADirectory { side, path: path.to_path_buf(), problem: "does not exist" });
        }
        Err(source) => {
            return Err(CompareError::Io { path: path.to_path_buf(), source });
        }
    }
    let manifest = read_manifest(side, path)?;
    if !manifest.shard.is_null() {
        return Err(CompareError::malformed(
            path.join(MANIFEST),
            None,
            "belongs to one shard of a batch (`run --shard K/N`), not to a complete result; \
             merge the shards first with `hedgesim merge SHARD_DIR... --out DIR` and compare DIR",
        ));
    }
    let summary = read_summary(side, path, &manifest)?;
    let outcomes = read_outcomes(side, path, &manifest)?;
    let runs_path = path.join(RUNS);
    let runs_csv = if runs_path.is_file() {
        Some(runs_path)
    } else if manifest.runs_table == Some(true) {
        return Err(CompareError::MissingFile { side, dir: path.to_path_buf(), file: RUNS });
    } else {
        None
    };
    Ok(ResultDir { side, path: path.to_path_buf(), manifest, summary, outcomes, runs_csv })
}

fn open(side: Side, dir: &Path, file: &'static str) -> Result<File, CompareError> {
    let path = dir.join(file);
    File::open(&path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            CompareError::MissingFile { side, dir: dir.to_path_buf(), file }
        } else {
            CompareError::Io { path, source: e }
        }
    })
}

fn read_manifest(side: Side, dir: &Path) -> Result<Manifest, CompareError> {
    let path = dir.join(MANIFEST);
    let text = std::io::read_to_string(open(side, dir, MANIFEST)?)
        .map_err(|source| CompareError::Io { path: path.clone(), source })?;
    let raw: RawManifest = serde_json::from_str(&text)
        .map_err(|e| CompareError::malformed(&path, None, format!("is not a valid manifest ({e}); {RERUN}")))?;
    if let Some(v) = raw.format_version
        && v != 1
    {
        return Err(CompareError::malformed(
            &path,
            None,
            format!(
                "has format_version {v}, but this hedgesim reads format_version 1; \
                 compare with the hedgesim version that wrote it"
            ),
        ));
    }
    let bad = |what: &str| Err(CompareError::malformed(&path, None, format!("{what}; {RERUN}")));
    if raw.runs == 0 {
        return bad("has runs = 0");
    }
    if !(raw.steps_per_year.is_finite() && raw.steps_per_year > 0.0) {
        return bad("has a steps_per_year that is not a positive number");
    }
    if !raw.base_year.is_finite() || !raw.horizon.is_finite() {
        return bad("has a base_year or horizon that is not a number");
    }
    Ok(Manifest {
        scenario: raw.scenario,
        seed: raw.seed,
        runs: raw.runs,
        steps: raw.steps,
        steps_per_year: raw.steps_per_year,
        base_year: raw.base_year,
        horizon: raw.horizon,
        partners: raw.partners,
        runs_table: raw.runs_table,
        shard: raw.shard.unwrap_or(serde_json::Value::Null),
    })
}

/// A CSV file with its header, read by column name.
struct Table {
    path: PathBuf,
    reader: csv::Reader<File>,
    header: csv::StringRecord,
}

impl Table {
    fn open(side: Side, dir: &Path, file: &'static str) -> Result<Table, CompareError> {
        let path = dir.join(file);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(open(side, dir, file)?);
        let header = reader.headers().map_err(|e| csv_error(&path, e))?.clone();
        Ok(Table { path, reader, header })
    }

    fn column(&self, name: &str) -> Result<usize, CompareError> {
        self.find(name).ok_or_else(|| {
            CompareError::malformed(
                &self.path,
                Some(1),
                format!(
                    "has no `{name}` column (header: `{}`); {RERUN}",
                    self.header.iter().collect::<Vec<_>>().join(",")
                ),
            )
        })
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Every data row with its 1-based line number.
    fn rows(&mut self) -> impl Iterator<Item = Result<(u64, csv::StringRecord), CompareError>> + '_ {
        let path = self.path.clone();
        self.reader
            .records()
            .map(move |r| r.map(|rec| (rec.position().map_or(0, |p| p.line()), rec)).map_err(|e| csv_error(&path, e)))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> CompareError {
    let line = e.position().map(|p| p.line());
    let text = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => CompareError::Io { path: path.to_path_buf(), source },
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => CompareError::malformed(
            path,
            line,
            format!("has {len} fields where the header has {expected_len}; {RERUN}"),
        ),
        csv::ErrorKind::Utf8 { .. } => CompareError::malformed(path, line, format!("is not valid UTF-8; {RERUN}")),
        _ => CompareError::malformed(path, line, format!("cannot be read as CSV ({text}); {RERUN}")),
    }
}

/// A field parsed as `T`; `None` when empty.
fn field<T: std::str::FromStr>(
    path: &Path,
    line: u64,
    rec: &csv::StringRecord,
    idx: usize,
    name: &str,
    kind: &str,
) -> Result<Option<T>, CompareError> {
    let raw = rec.get(idx).unwrap_or("").trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<T>().map(Some).map_err(|_| {
        CompareError::malformed(path, Some(line), format!("column `{name}`: `{raw}` is not {kind}; {RERUN}"))
    })
}

/// `x` if it is finite; NaN and infinities are refused (a result written by
/// `hedgesim run` never holds them).
pub(crate) fn finite(path: &Path, line: u64, x: f64, name: &str) -> Result<f64, CompareError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(CompareError::malformed(
            path,
            Some(line),
            format!("column `{name}`: `{x}` is not a finite number (hedgesim never writes NaN or infinities); {RERUN}"),
        ))
    }
}

/// A field that must not be empty.
fn required<T: std::str::FromStr>(
    path: &Path,
    line: u64,
    rec: &csv::StringRecord,
    idx: usize,
    name: &str,
    kind: &str,
) -> Result<T, CompareError> {
    field(path, line, rec, idx, name, kind)?
        .ok_or_else(|| CompareError::malformed(path, Some(line), format!("column `{name}` is empty; {RERUN}")))
}

const NUMBER: &str = "a number";
const COUNT: &str = "a whole number >= 0";

fn read_summary(side: Side, dir: &Path, m: &Manifest) -> Result<Vec<SummaryRow>, CompareError> {
    let mut t = Table::open(side, dir, SUMMARY)?;
    let cols = ["step", "year", "metric", "subject", "n", "mean", "sd"]
        .map(|c| t.column(c))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let [c_step, c_year, c_metric, c_subject, c_n, c_mean, c_sd] = cols[..] else {
        return Err(CompareError::malformed(&t.path, None, RERUN));
    };
    let path = t.path.clone();
    let mut out = Vec::new();
    for r in t.rows() {
        let (line, rec) = r?;
        let step: u64 = required(&path, line, &rec, c_step, "step", COUNT)?;
        let year: f64 = finite(&path, line, required(&path, line, &rec, c_year, "year", NUMBER)?, "year")?;
        let metric: String = required(&path, line, &rec, c_metric, "metric", "a name")?;
        let subject: String = field(&path, line, &rec, c_subject, "subject", "a name")?.unwrap_or_default();
        let n: u64 = required(&path, line, &rec, c_n, "n", COUNT)?;
        let mean: f64 = finite(&path, line, required(&path, line, &rec, c_mean, "mean", NUMBER)?, "mean")?;
        let sd: Option<f64> = field(&path, line, &rec, c_sd, "sd", NUMBER)?;
        let sd = sd.map(|x| finite(&path, line, x, "sd")).transpose()?;
        if sd.is_some_and(|x| x < 0.0) {
            return Err(CompareError::malformed(&path, Some(line), format!("column `sd` is negative; {RERUN}")));
        }
        if n != m.runs {
            return Err(CompareError::malformed(
                &path,
                Some(line),
                format!("column `n` is {n}, but manifest.json says runs = {}; {RERUN}", m.runs),
            ));
        }
        if step > m.steps {
            return Err(CompareError::malformed(
                &path,
                Some(line),
                format!("step {step} is beyond the horizon (manifest.json says steps = {}); {RERUN}", m.steps),
            ));
        }
        out.push(SummaryRow { line, step, year, metric, subject, n, mean, sd });
    }
    if out.is_empty() {
        return Err(CompareError::malformed(&path, None, format!("has no data rows; {RERUN}")));
    }
    if !out.iter().any(|r| r.step == m.steps) {
        return Err(CompareError::malformed(
            &path,
            None,
            format!(
                "has no rows for step {} (the horizon, from manifest.json steps): \
                 the file is incomplete; {RERUN}",
                m.steps
            ),
        ));
    }
    Ok(out)
}

fn read_outcomes(side: Side, dir: &Path, m: &Manifest) -> Result<Vec<Outcome>, CompareError> {
    let mut t = Table::open(side, dir, OUTCOMES)?;
    let c_posture = t.column("posture")?;
    let c_count = t.column("count")?;
    let path = t.path.clone();
    let mut out: Vec<Outcome> = Vec::new();
    for r in t.rows() {
        let (line, rec) = r?;
        let posture: String = required(&path, line, &rec, c_posture, "posture", "a name")?;
        let count: u64 = required(&path, line, &rec, c_count, "count", COUNT)?;
        if out.iter().any(|o| o.posture == posture) {
            return Err(CompareError::malformed(
                &path,
                Some(line),
                format!("posture `{posture}` is listed twice; {RERUN}"),
            ));
        }
        out.push(Outcome { posture, count });
    }
    let total: u64 = out.iter().map(|o| o.count).sum();
    if total != m.runs {
        return Err(CompareError::malformed(
            &path,
            None,
            format!("counts add up to {total}, but manifest.json says runs = {}; {RERUN}", m.runs),
        ));
    }
    Ok(out)
}

/// `runs.csv` read one run at a time (a million runs never sit in memory):
/// the requested columns and the posture of each run, in run order.
pub(crate) struct RunsReader {
    table: Table,
    c_run: usize,
    c_posture: Option<usize>,
    cols: Vec<usize>,
    runs: u64,
    expected: u64,
    record: csv::StringRecord,
}

impl RunsReader {
    /// Open `runs.csv` of `dir` for the columns of `wanted` that it has.
    /// Returns the reader and the names of the wanted columns it lacks.
    pub fn open(dir: &ResultDir, wanted: &[String]) -> Result<(RunsReader, Vec<String>), CompareError> {
        let table = Table::open(dir.side, &dir.path, RUNS)?;
        let c_run = table.column("run")?;
        let c_posture = table.find("posture");
        let mut cols = Vec::new();
        let mut missing = Vec::new();
        for w in wanted {
            match table.find(w) {
                Some(i) => cols.push(i),
                None => missing.push(w.clone()),
            }
        }
        let reader = RunsReader {
            table,
            c_run,
            c_posture,
            cols,
            runs: dir.manifest.runs,
            expected: 0,
            record: csv::StringRecord::new(),
        };
        Ok((reader, missing))
    }

    /// Whether the file has a `posture` column.
    pub fn has_postures(&self) -> bool {
        self.c_posture.is_some()
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.table.path
    }

    /// Read the next run into `values` (one per column found by
    /// [`RunsReader::open`], in order of `wanted`) and `posture` (empty
    /// without a posture column). `false` at the end of the file, once
    /// every run of the manifest has been read.
    pub fn next_run(&mut self, values: &mut [f64], posture: &mut String) -> Result<bool, CompareError> {
        let path = self.table.path.clone();
        let more = self.table.reader.read_record(&mut self.record).map_err(|e| csv_error(&path, e))?;
        if !more {
            if self.expected != self.runs {
                return Err(CompareError::malformed(
                    &path,
                    None,
                    format!(
                        "has {} runs, but manifest.json says runs = {}: the file is incomplete; {RERUN}",
                        self.expected, self.runs
                    ),
                ));
            }
            return Ok(false);
        }
        let rec = &self.record;
        let line = rec.position().map_or(0, |p| p.line());
        let run: u64 = required(&path, line, rec, self.c_run, "run", COUNT)?;
        if run != self.expected || run >= self.runs {
            let why = if run >= self.runs && run == self.expected {
                format!("run {run} is beyond manifest.json's runs = {}", self.runs)
            } else {
                format!(
                    "expected run {} but found run {run}: rows must be one per run in run order (0, 1, 2, ...)",
                    self.expected
                )
            };
            return Err(CompareError::malformed(&path, Some(line), format!("{why}; {RERUN}")));
        }
        self.expected += 1;
        for (v, &idx) in values.iter_mut().zip(&self.cols) {
            let name = self.table.header.get(idx).unwrap_or("");
            let x: f64 = required(&path, line, rec, idx, name, NUMBER)?;
            *v = finite(&path, line, x, name)?;
        }
        posture.clear();
        if let Some(idx) = self.c_posture {
            posture.push_str(rec.get(idx).unwrap_or("").trim());
        }
        Ok(true)
    }
}
