//! Explore shards: what `hedgesim explore --shard K/N` publishes, and how
//! `hedgesim merge` checks them and makes the result of a single-machine
//! explore from them.
//!
//! A shard computes the contiguous range of design points
//! [`super::explore::point_range`] gives it and publishes `manifest.json`
//! (kind `explore-shard`: experiment and base scenario hashes, seed, runs
//! per point, points, K, N, its range, engine version, and the SHA-256 and
//! size of its data files), `experiment.toml` and `scenario.toml` (the
//! inputs), `points.part` (its `points.csv` rows, no header) and
//! `means.bin` (its outcome means as little-endian f64 bits, point by
//! point: exactly what the analysis uses). No analysis happens in a shard.
//!
//! `merge` checks every shard before anything is written, as it does for
//! `run` shards: bounded manifest, every file bound to it by SHA-256, the
//! same experiment, scenario, seed, runs, points, N and engine version,
//! every index once. It then rebuilds the experiment from the first
//! shard's copies, concatenates the rows and means in design order and
//! writes the result with the code of `explore` itself, so every file but
//! the manifest's timing fields (threads, wall time, start) has the bytes
//! of an unsharded explore.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::explore::{MAX_POINTS, MAX_RUNS_PER_POINT, Prepared, Timing, finish_result, point_range, prepare_bytes};
use super::explore_resume::{self, MEANS_BIN, POINTS_PART, decode_means, means_len};
use super::merge::{
    check_copy, check_file, claim_empty, coverage_problems, differences, file_sha256, invalid, read_all, read_bounded,
};
use super::{AppError, io_err, sha256_hex};
use crate::cli::MergeArgs;
use crate::output::atomic::write_file;
use crate::output::manifest::{FORMAT_VERSION, ShardInfo};
use crate::scenario::diagnostics::escape;

/// `kind` of an explore shard's manifest.
pub const SHARD_KIND: &str = "explore-shard";
/// Version of [`ShardFiles`].
pub const SHARD_FILES_VERSION: u32 = 1;

/// The SHA-256 and size of an explore shard's data files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardFiles {
    pub version: u32,
    pub points_part_sha256: String,
    pub points_part_bytes: u64,
    pub means_bin_sha256: String,
    pub means_bin_bytes: u64,
}

/// The manifest of an explore shard directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardManifest {
    pub format_version: u32,
    pub engine: String,
    pub engine_version: String,
    pub kind: String,
    pub experiment: String,
    pub experiment_file: String,
    pub experiment_sha256: String,
    pub scenario: String,
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub design: String,
    pub points: u64,
    pub runs_per_point: u64,
    pub seed: u64,
    pub outcomes: Vec<String>,
    pub shard: ShardInfo,
    pub first_point: u64,
    pub end_point: u64,
    pub threads: usize,
    pub wall_time_s: f64,
    pub started_at: String,
    pub shard_files: ShardFiles,
}

/// Publishable shard: bind the data files in `partial` to a manifest and
/// drop the checkpoint (the shard is complete).
pub(super) fn finish_shard(
    p: &Prepared,
    partial: &Path,
    shard: ShardInfo,
    range: Range<usize>,
    timing: &Timing,
) -> Result<(), AppError> {
    let hash = |name: &str| file_sha256(&partial.join(name)).map_err(|e| io_err("cannot read", &partial.join(name), e));
    let (points_part_sha256, points_part_bytes) = hash(POINTS_PART)?;
    let (means_bin_sha256, means_bin_bytes) = hash(MEANS_BIN)?;
    let manifest = ShardManifest {
        format_version: FORMAT_VERSION,
        engine: "hedgesim".into(),
        engine_version: env!("CARGO_PKG_VERSION").into(),
        kind: SHARD_KIND.into(),
        experiment: p.experiment.name.clone(),
        experiment_file: p.experiment_file.clone(),
        experiment_sha256: sha256_hex(&p.experiment_bytes),
        scenario: p.base.name.clone(),
        scenario_file: p.scenario_file.clone(),
        scenario_sha256: sha256_hex(&p.base_bytes),
        design: p.experiment.design.name().to_string(),
        points: p.built.values.len() as u64,
        runs_per_point: p.runs,
        seed: p.seed,
        outcomes: p.outcomes.iter().map(ToString::to_string).collect(),
        shard,
        first_point: range.start as u64,
        end_point: range.end as u64,
        threads: timing.threads,
        wall_time_s: timing.wall_time_s,
        started_at: timing.started_at.clone(),
        shard_files: ShardFiles {
            version: SHARD_FILES_VERSION,
            points_part_sha256,
            points_part_bytes,
            means_bin_sha256,
            means_bin_bytes,
        },
    };
    explore_resume::remove_checkpoint(partial).map_err(|e| io_err("cannot clean up", partial, e))?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Failed(e.to_string()))?;
    let path = partial.join("manifest.json");
    write_file(&path, &json).map_err(|e| io_err("cannot write", &path, e))
}

/// Whether `dir` is an explore shard (its manifest says so) or the working
/// directory of an unfinished explore; `merge` sends it here.
pub fn is_explore_shard(dir: &Path) -> bool {
    let manifest = dir.join("manifest.json");
    if fs::symlink_metadata(&manifest).is_err() {
        return explore_resume::is_explore_work(dir);
    }
    read_bounded(&manifest)
        .ok()
        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["kind"] == SHARD_KIND)
}

/// A checked explore shard.
struct Shard {
    dir: PathBuf,
    manifest: ShardManifest,
}

/// The manifest's numbers must describe a possible shard.
fn check_manifest(m: &ShardManifest, d: &str) -> Result<(), String> {
    let again = "run the shard again";
    if m.format_version != FORMAT_VERSION || m.shard_files.version != SHARD_FILES_VERSION {
        return Err(format!(
            "{d}: written by another hedgesim version (format {}, shard files {}; this one reads format \
             {FORMAT_VERSION}, shard files {SHARD_FILES_VERSION}); {again}",
            m.format_version, m.shard_files.version
        ));
    }
    if m.points == 0 || m.points > MAX_POINTS as u64 {
        return Err(format!("{d}: manifest.json says points = {}, outside [1, {MAX_POINTS}]; {again}", m.points));
    }
    if m.runs_per_point == 0 || m.runs_per_point > MAX_RUNS_PER_POINT {
        return Err(format!(
            "{d}: manifest.json says runs_per_point = {}, outside [1, {MAX_RUNS_PER_POINT}]; {again}",
            m.runs_per_point
        ));
    }
    let s = m.shard;
    if s.count == 0 || s.count > m.points || s.index >= s.count {
        return Err(format!(
            "{d}: manifest.json says shard {}/{}, impossible for {} points (0 <= K < N <= {}); {again}",
            s.index, s.count, m.points, m.points
        ));
    }
    let range = point_range(m.points as usize, Some(s));
    if (m.first_point, m.end_point) != (range.start as u64, range.end as u64) {
        return Err(format!(
            "{d}: manifest.json says points {}..{}, but shard {}/{} of {} points is {}..{}; {again}",
            m.first_point, m.end_point, s.index, s.count, m.points, range.start, range.end
        ));
    }
    let expected = means_len(range.len(), m.outcomes.len());
    if m.outcomes.is_empty() || m.shard_files.means_bin_bytes != expected {
        return Err(format!(
            "{d}: manifest.json records {} bytes of {MEANS_BIN}, but {} points x {} outcomes make {expected}; {again}",
            m.shard_files.means_bin_bytes,
            range.len(),
            m.outcomes.len()
        ));
    }
    Ok(())
}

/// Read and verify one explore shard: manifest, input copies, data files.
fn read_shard(dir: &Path) -> Result<Shard, String> {
    let d = escape(&dir.display().to_string());
    let path = dir.join("manifest.json");
    if fs::symlink_metadata(&path).is_err() {
        return Err(format!(
            "{d}: the working directory of an unfinished explore, not a shard; finish it with the same \
             `hedgesim explore ... --shard K/N --out DIR --resume` and merge DIR"
        ));
    }
    let bytes = read_bounded(&path).map_err(|e| format!("{d}: cannot read manifest.json: {e}; run the shard again"))?;
    let manifest: ShardManifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{d}: manifest.json is unreadable: {e}; run the shard again"))?;
    check_manifest(&manifest, &d)?;
    check_copy(dir, &d, "experiment.toml", "experiment_sha256", &manifest.experiment_sha256)?;
    check_copy(dir, &d, "scenario.toml", "scenario_sha256", &manifest.scenario_sha256)?;
    let f = &manifest.shard_files;
    let missing = "if the shard was interrupted, finish it with the same `hedgesim explore ... --shard K/N \
                   --resume`; otherwise run it again";
    check_file(dir, &d, POINTS_PART, &f.points_part_sha256, f.points_part_bytes, missing)?;
    check_file(dir, &d, MEANS_BIN, &f.means_bin_sha256, f.means_bin_bytes, missing)?;
    Ok(Shard { dir: dir.to_path_buf(), manifest })
}

/// Check that shards belong together and cover every index once.
fn check_shards(shards: &[Shard]) -> Vec<String> {
    let mut problems = Vec::new();
    let first = &shards[0].manifest;
    for s in shards {
        let m = &s.manifest;
        problems.extend(differences(
            &s.dir,
            &shards[0].dir,
            &[
                ("experiment file (sha256)", m.experiment_sha256 == first.experiment_sha256),
                ("base scenario file (sha256)", m.scenario_sha256 == first.scenario_sha256),
                ("seed", m.seed == first.seed),
                ("runs per point", m.runs_per_point == first.runs_per_point),
                ("number of design points", m.points == first.points),
                ("outcomes", m.outcomes == first.outcomes),
                ("shard count N", m.shard.count == first.shard.count),
                ("engine version", m.engine_version == first.engine_version),
            ],
        ));
    }
    let indices: Vec<(u64, &Path)> = shards.iter().map(|s| (s.manifest.shard.index, s.dir.as_path())).collect();
    problems.extend(coverage_problems(&indices, first.shard.count));
    problems
}

/// The experiment of the first shard, from its own copies of the inputs.
fn rebuild(first: &Shard) -> Result<Prepared, AppError> {
    let m = &first.manifest;
    let d = escape(&first.dir.display().to_string());
    let path = first.dir.join("experiment.toml");
    let bytes = fs::read(&path).map_err(|e| io_err("cannot read", &path, e))?;
    let scenario = first.dir.join("scenario.toml");
    let mut p = prepare_bytes(&path, bytes, Some(&scenario), Some(m.runs_per_point), Some(m.seed)).map_err(|e| {
        AppError::Invalid(format!("cannot merge; nothing written:\n  {d}: the experiment does not load: {e}"))
    })?;
    let outcomes: Vec<String> = p.outcomes.iter().map(ToString::to_string).collect();
    if p.built.values.len() as u64 != m.points || outcomes != m.outcomes {
        return Err(invalid(&[format!(
            "{d}: the experiment in experiment.toml has {} points and outcomes {outcomes:?}, but the manifest \
             records {} points and {:?}; run the shards again with this hedgesim version",
            p.built.values.len(),
            m.points,
            m.outcomes
        )]));
    }
    p.experiment_file = m.experiment_file.clone();
    p.scenario_file = m.scenario_file.clone();
    Ok(p)
}

/// Merge explore shards (every one of `args.shards` is one).
pub(super) fn merge(args: &MergeArgs) -> Result<String, AppError> {
    let mut shards = read_all(&args.shards, read_shard, check_shards)?;
    shards.sort_by_key(|s| s.manifest.shard.index);
    let prepared = rebuild(&shards[0])?;
    let outcomes = prepared.outcomes.len();
    let mut means = vec![Vec::with_capacity(prepared.built.values.len()); outcomes];
    for s in &shards {
        let path = s.dir.join(MEANS_BIN);
        let bytes = fs::read(&path).map_err(|e| io_err("cannot read", &path, e))?;
        for (all, part) in means.iter_mut().zip(decode_means(&bytes, outcomes)) {
            all.extend(part);
        }
    }
    let timing = Timing {
        threads: shards.iter().map(|s| s.manifest.threads).max().unwrap_or(1),
        wall_time_s: shards.iter().map(|s| s.manifest.wall_time_s).fold(0.0, f64::max),
        started_at: shards[0].manifest.started_at.clone(),
    };
    let parts: Vec<PathBuf> = shards.iter().map(|s| s.dir.join(POINTS_PART)).collect();

    let (claim, partial) = claim_empty(&args.out, args.force)?;
    finish_result(&prepared, &partial, &means, &parts, &timing)?;
    claim.publish(&args.out, args.force).map_err(|e| io_err("cannot move the result into", &args.out, e))?;
    Ok(format!(
        "merged {} explore shards ({} points x {} runs) into {}/",
        shards.len(),
        prepared.built.values.len(),
        prepared.runs,
        args.out.display()
    ))
}
