//! `hedgesim merge`: shard directories into one result directory, with the
//! same bytes as a single-machine run.
//!
//! Every shard is checked before anything is written and before any of its
//! data is decoded: its manifest is bounded (size, runs, shard count) and
//! every file is bound to it by SHA-256 (`scenario.toml` against the
//! scenario hash, `state.bin` and `runs.part` against the hashes and sizes
//! recorded when the shard was written); then all shards must share the
//! scenario, seed, runs, shard count, runs-table setting and engine
//! version, every index 0..N must be present exactly once, and every
//! decoded state must have the shape the scenario implies.
//!
//! Shards of `hedgesim explore` are recognised by their manifest and merged
//! by [`super::explore_merge`]; run and explore shards are never mixed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::finish::{Totals, assemble_runs_table, write_result};
use super::{AppError, Claimed, check_out, claim_out, io_err};
use crate::cli::MergeArgs;
use crate::engine::{BatchState, CHUNK_SIZE, chunk_count, shard_chunks};
use crate::model::{Model, Posture};
use crate::output::atomic::{Claim, open_nofollow};
use crate::output::manifest::{FORMAT_VERSION, Manifest, SHARD_FILES_VERSION, ShardFiles};
use crate::scenario::diagnostics::escape;
use crate::scenario::parse_scenario;
use crate::scenario::validate::MAX_RUNS;

/// Largest `manifest.json` read (a shard's manifest is a few hundred KB).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

struct Shard {
    dir: PathBuf,
    manifest: Manifest,
    state: BatchState,
}

/// SHA-256 (hex) and length of a file, read in blocks.
pub fn file_sha256(path: &Path) -> io::Result<(String, u64)> {
    use std::io::Read;
    let mut hasher = Sha256::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), bytes))
}

/// The file hashes a shard's manifest records: `state` is the encoded
/// `state.bin`, `runs_part` the shard's `runs.part`.
pub fn shard_files(state: &[u8], runs_part: &Path) -> io::Result<ShardFiles> {
    let (runs_part_sha256, runs_part_bytes) = file_sha256(runs_part)?;
    Ok(ShardFiles {
        version: SHARD_FILES_VERSION,
        state_bin_sha256: super::sha256_hex(state),
        state_bin_bytes: state.len() as u64,
        runs_part_sha256,
        runs_part_bytes,
    })
}

/// Whether `dir` is the hidden working directory of an unfinished run.
fn is_working_dir(dir: &Path) -> bool {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (name.starts_with('.') && name.ends_with(".partial")) || dir.join("checkpoint.json").is_file()
}

/// A regular file of at most [`MAX_MANIFEST_BYTES`], read without
/// following a link.
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = open_nofollow(path, fs::OpenOptions::new().read(true)).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(format!("{} bytes, more than a manifest can be", meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Read a shard's manifest, bounded in size and in its counts.
fn read_manifest(dir: &Path, d: &str) -> Result<Manifest, String> {
    let path = dir.join("manifest.json");
    if !path.is_file() && is_working_dir(dir) {
        return Err(format!(
            "{d}: the working directory of an unfinished run, not a shard; finish the run with the same \
             `hedgesim run ... --shard K/N --out DIR --resume` and merge DIR"
        ));
    }
    if fs::symlink_metadata(&path).is_err() {
        return Err(format!("{d}: no manifest.json; is this a directory written by `hedgesim run --shard K/N`?"));
    }
    let text = read_bounded(&path).map_err(|e| format!("{d}: cannot read manifest.json: {e}; run the shard again"))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| format!("{d}: manifest.json is unreadable: {e}"))?;
    let Some(info) = m.shard else {
        return Err(format!("{d}: not a shard directory (it is a complete result; nothing to merge)"));
    };
    if m.format_version != FORMAT_VERSION || m.chunk_size != CHUNK_SIZE {
        return Err(format!(
            "{d}: written by another hedgesim version (format {}, chunk size {}; this one reads format {FORMAT_VERSION}, chunk size {CHUNK_SIZE}); run the shard again",
            m.format_version, m.chunk_size
        ));
    }
    if m.runs == 0 || m.runs > MAX_RUNS {
        return Err(format!("{d}: manifest.json says runs = {}, outside [1, {MAX_RUNS}]; run the shard again", m.runs));
    }
    let chunks = chunk_count(m.runs);
    if info.count == 0 || info.count > chunks || info.index >= info.count {
        return Err(format!(
            "{d}: manifest.json says shard {}/{}, impossible for {} runs ({chunks} chunks: 0 <= K < N <= {chunks}); run the shard again",
            info.index, info.count, m.runs
        ));
    }
    match &m.shard_files {
        Some(f) if f.version == SHARD_FILES_VERSION => Ok(m),
        _ => Err(format!(
            "{d}: manifest.json records no file hashes (written by an older hedgesim); \
             run the shard again with this version so that its files can be verified"
        )),
    }
}

/// Check that `file` in a shard has the recorded size and SHA-256.
pub(super) fn check_file(
    dir: &Path,
    d: &str,
    file: &str,
    sha256: &str,
    bytes: u64,
    missing: &str,
) -> Result<(), String> {
    let path = dir.join(file);
    let size = fs::symlink_metadata(&path).map_err(|_| format!("{d}: {file} is missing; {missing}"))?;
    if !size.is_file() {
        return Err(format!("{d}: {file} is not a regular file; run the shard again"));
    }
    if size.len() != bytes {
        return Err(format!(
            "{d}: {file} has {} bytes, but the shard's manifest records {bytes} (truncated or replaced); run the shard again",
            size.len()
        ));
    }
    let (found, _) = file_sha256(&path).map_err(|e| format!("{d}: cannot read {file}: {e}"))?;
    if found != sha256 {
        return Err(format!(
            "{d}: {file} does not match the SHA-256 in the shard's manifest (corrupted, edited or from another run); run the shard again"
        ));
    }
    Ok(())
}

/// Check that the input copy `file` in a shard has the SHA-256 its
/// manifest records as `key`.
pub(super) fn check_copy(dir: &Path, d: &str, file: &str, key: &str, sha256: &str) -> Result<(), String> {
    let again = "run the shard again";
    let (found, _) =
        file_sha256(&dir.join(file)).map_err(|_| format!("{d}: {file} is missing or unreadable; {again}"))?;
    if found != sha256 {
        return Err(format!(
            "{d}: {file} does not match the {key} of the shard's manifest (edited or replaced); {again}"
        ));
    }
    Ok(())
}

fn read_shard(dir: &Path) -> Result<Shard, String> {
    let d = escape(&dir.display().to_string());
    let manifest = read_manifest(dir, &d)?;
    let files = manifest.shard_files.clone().ok_or_else(|| format!("{d}: no file hashes"))?;
    let again = "run the shard again";
    check_copy(dir, &d, "scenario.toml", "scenario_sha256", &manifest.scenario_sha256)?;
    check_file(
        dir,
        &d,
        "state.bin",
        &files.state_bin_sha256,
        files.state_bin_bytes,
        "the shard is incomplete; run it again",
    )?;
    let part_missing = "if the shard was interrupted, finish it with the same `hedgesim run ... --shard K/N --resume`; otherwise run it again";
    if manifest.runs_table || dir.join("runs.part").exists() {
        check_file(dir, &d, "runs.part", &files.runs_part_sha256, files.runs_part_bytes, part_missing)?;
    }
    let bytes = fs::read(dir.join("state.bin")).map_err(|e| format!("{d}: cannot read state.bin: {e}"))?;
    let state = BatchState::decode(&bytes).map_err(|e| format!("{d}: state.bin: {e}; {again}"))?;
    if !state.is_complete() {
        return Err(format!("{d}: the shard is not complete; {again}"));
    }
    Ok(Shard { dir: dir.to_path_buf(), manifest, state })
}

/// Check that shards belong together and cover every index once.
fn check_shards(shards: &[Shard]) -> Vec<String> {
    let mut problems = Vec::new();
    let first = &shards[0].manifest;
    let count = first.shard.map_or(0, |s| s.count);
    for s in shards {
        let m = &s.manifest;
        problems.extend(differences(
            &s.dir,
            &shards[0].dir,
            &[
                ("scenario file (sha256)", m.scenario_sha256 == first.scenario_sha256),
                ("seed", m.seed == first.seed),
                ("runs", m.runs == first.runs),
                ("shard count N", m.shard.map(|s| s.count) == Some(count)),
                ("runs_table setting", m.runs_table == first.runs_table),
                (
                    "engine version",
                    m.engine_version == first.engine_version && m.format_version == first.format_version,
                ),
                ("chunk size", m.chunk_size == first.chunk_size),
            ],
        ));
    }
    let indices: Vec<(u64, &Path)> =
        shards.iter().filter_map(|s| s.manifest.shard.map(|i| (i.index, s.dir.as_path()))).collect();
    problems.extend(coverage_problems(&indices, count));
    problems
}

/// A sentence for each of `checks` (what, same as in the first shard)
/// that fails for the shard in `dir`.
pub(super) fn differences(dir: &Path, first: &Path, checks: &[(&str, bool)]) -> Vec<String> {
    let (d, first) = (escape(&dir.display().to_string()), escape(&first.display().to_string()));
    checks.iter().filter(|(_, same)| !same).map(|(what, _)| format!("{d}: {what} differs from {first}")).collect()
}

/// Every index 0..`count` must be among the shards' `(index, directory)`
/// exactly once: a sentence per missing or repeated index.
pub(super) fn coverage_problems(indices: &[(u64, &Path)], count: u64) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (index, dir) in indices {
        seen.entry(*index).or_default().push(escape(&dir.display().to_string()));
    }
    let missing: Vec<u64> = (0..count).filter(|k| !seen.contains_key(k)).take(11).collect();
    for k in missing.iter().take(10) {
        problems.push(format!("shard {k}/{count} is missing"));
    }
    if missing.len() > 10 {
        problems.push(format!("... and more: {} shard directories given for N = {count}", indices.len()));
    }
    for (k, dirs) in seen.iter().filter(|(_, dirs)| dirs.len() > 1) {
        problems.push(format!("shard {k}/{count} is given {} times: {}", dirs.len(), dirs.join(", ")));
    }
    problems
}

/// Check every decoded state against the shape the scenario implies, and
/// that all carry the same quantile frames (the pilot's, which every shard
/// of one batch computes identically).
fn check_states(shards: &[Shard], model: &Model) -> Vec<String> {
    let s = &model.scenario;
    let postures = Posture::count(s.partners.len());
    let frames_differ = shards
        .iter()
        .skip(1)
        .filter(|shard| shard.state.framed && !shard.state.sketches.same_frames(&shards[0].state.sketches))
        .map(|shard| {
            format!(
                "{}: its quantile frames differ from those of {} (shards of one batch draw them from the same pilot): \
             the shards were run by different hedgesim versions, or a state.bin was replaced; run the shard again",
                escape(&shard.dir.display().to_string()),
                escape(&shards[0].dir.display().to_string())
            )
        });
    let unframed = shards.iter().filter(|shard| !shard.state.framed).map(|shard| {
        format!("{}: state.bin has no quantile frames; run the shard again", escape(&shard.dir.display().to_string()))
    });
    unframed
        .chain(frames_differ)
        .chain(shards.iter().filter_map(|shard| {
            let info = shard.manifest.shard?;
            let chunks = shard_chunks(s.runs, info.index, info.count);
            shard.state.check_shape(s.runs, &chunks, crate::engine::timeline::stats_len(model), postures).err().map(
                |e| {
                    format!(
                        "{}: state.bin does not fit the scenario and shard {}/{}: {e}; run the shard again",
                        escape(&shard.dir.display().to_string()),
                        info.index,
                        info.count
                    )
                },
            )
        }))
        .collect()
}

/// Read every shard directory with `read`, then check them together with
/// `check`; every problem found, or the shards.
pub(super) fn read_all<S>(
    dirs: &[PathBuf],
    read: impl Fn(&Path) -> Result<S, String>,
    check: impl Fn(&[S]) -> Vec<String>,
) -> Result<Vec<S>, AppError> {
    let mut shards = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        match read(dir) {
            Ok(s) => shards.push(s),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        problems = check(&shards);
    }
    if problems.is_empty() { Ok(shards) } else { Err(invalid(&problems)) }
}

/// Take the working directory of the merged result `out` and empty it
/// (after checking `out` again under the lock).
pub(super) fn claim_empty(out: &Path, force: bool) -> Result<(Claim, PathBuf), AppError> {
    let Claimed { claim, .. } = claim_out(out)?;
    if let Err(e) = check_out(out, force, None) {
        claim.release();
        return Err(e);
    }
    let partial = claim.dir().to_path_buf();
    claim.clear().map_err(|e| io_err("cannot empty", &partial, e))?;
    Ok((claim, partial))
}

pub(super) fn invalid(problems: &[String]) -> AppError {
    AppError::Invalid(format!("cannot merge; nothing written:\n  {}", problems.join("\n  ")))
}

/// Execute `hedgesim merge`.
pub fn merge(args: &MergeArgs) -> Result<String, AppError> {
    check_out(&args.out, args.force, None)?;
    let explore: Vec<bool> = args.shards.iter().map(|d| super::explore_merge::is_explore_shard(d)).collect();
    if explore.contains(&true) {
        if explore.contains(&false) {
            let problems: Vec<String> = args
                .shards
                .iter()
                .zip(&explore)
                .map(|(d, &e)| {
                    let what = if e { "an explore shard" } else { "not an explore shard (a `run` shard or result)" };
                    format!("{}: {what}", escape(&d.display().to_string()))
                })
                .chain(["shards of `hedgesim run` and of `hedgesim explore` cannot be mixed; merge the shards of one command".to_string()])
                .collect();
            return Err(invalid(&problems));
        }
        return super::explore_merge::merge(args);
    }
    let mut shards = read_all(&args.shards, read_shard, check_shards)?;
    shards.sort_by_key(|s| s.manifest.shard.map_or(0, |i| i.index));
    let first = &shards[0];
    let scenario_path = first.dir.join("scenario.toml");
    let text = fs::read_to_string(&scenario_path).map_err(|e| io_err("cannot read", &scenario_path, e))?;
    let mut scenario = parse_scenario(&scenario_path, &text).map_err(|e| AppError::Invalid(e.to_string()))?;
    scenario.runs = first.manifest.runs;
    scenario.seed = first.manifest.seed;
    scenario.outputs.runs_table = first.manifest.runs_table;
    // `run --trajectories K` is recorded in the resolved scenario.
    if let Some(k) = first.manifest.resolved_scenario["outputs"]["trajectories"].as_u64() {
        scenario.outputs.trajectories = k;
    }
    let model = Model::new(&scenario);
    let problems = check_states(&shards, &model);
    if !problems.is_empty() {
        return Err(invalid(&problems));
    }

    let (claim, partial) = claim_empty(&args.out, args.force)?;
    fs::copy(&scenario_path, partial.join("scenario.toml")).map_err(|e| io_err("cannot copy", &scenario_path, e))?;
    if scenario.outputs.runs_table {
        let parts: Vec<PathBuf> = shards.iter().map(|s| s.dir.join("runs.part")).collect();
        let refs: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
        assemble_runs_table(&partial, &model, &refs).map_err(|e| io_err("cannot assemble runs.csv in", &partial, e))?;
    }
    let mut manifest = first.manifest.clone();
    manifest.shard = None;
    manifest.shard_files = None;
    manifest.threads = shards.iter().map(|s| s.manifest.threads).max().unwrap_or(1);
    manifest.wall_time_s = shards.iter().map(|s| s.manifest.wall_time_s).fold(0.0, f64::max);
    let partner_steps = (scenario.runs * scenario.steps() as u64 * scenario.partners.len() as u64) as f64;
    manifest.runs_per_second = scenario.runs as f64 / manifest.wall_time_s;
    manifest.partner_steps_per_second = partner_steps / manifest.wall_time_s;
    let mut totals = Totals {
        nodes: Vec::new(),
        sketches: shards[0].state.sketches.clone(),
        postures: vec![0; shards[0].state.postures.len()],
        paths: crate::engine::timeline::PathCounts::for_model(&model),
    };
    for (i, s) in shards.into_iter().enumerate() {
        if i > 0 {
            totals.sketches.merge(&s.state.sketches);
        }
        for (t, p) in totals.postures.iter_mut().zip(&s.state.postures) {
            *t += p;
        }
        totals.paths.absorb(&s.state.paths);
        totals.nodes.extend(s.state.stack);
    }
    write_result(&partial, &model, totals, &manifest)?;
    claim.publish(&args.out, args.force).map_err(|e| io_err("cannot move the result into", &args.out, e))?;
    Ok(format!("merged {} shards into {}/", args.shards.len(), args.out.display()))
}
