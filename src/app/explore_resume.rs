//! The working directory of `hedgesim explore` and `--resume`.
//!
//! `.NAME.partial/` holds `checkpoint.json` (what the explore is: kind
//! `explore`, the experiment and base scenario hashes, seed, runs per
//! point, shard, engine version), copies of `experiment.toml` and
//! `scenario.toml`, `points.part` (the `points.csv` rows so far, in design
//! order), `means.bin` (each finished point's outcome means as
//! little-endian f64 bits, point by point) and `checkpoint.bin` (how many
//! points of the explore's range are done and how long `points.part` is
//! then, followed by their SHA-256). Resuming truncates both files to what
//! the checkpoint counts and continues with the next point; points do not
//! depend on each other, so the bytes are those of an uninterrupted
//! explore. Only regular files owned by this user are used, opened without
//! following links, as `run --resume` does.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::explore::{Prepared, point_range};
use super::run::{CheckpointMeta, START_OVER, read_own, refuse_changes, saved_settings, seal, unseal};
use super::{AppError, claim_error, io_err, sha256_hex};
use crate::output::atomic::{Claim, write_file};
use crate::output::manifest::{FORMAT_VERSION, ShardInfo};

/// The `points.csv` rows computed so far (no header).
pub const POINTS_PART: &str = "points.part";
/// The outcome means computed so far: f64 little-endian, point-major.
pub const MEANS_BIN: &str = "means.bin";
const CHECKPOINT_JSON: &str = "checkpoint.json";
const CHECKPOINT_BIN: &str = "checkpoint.bin";
/// `kind` of an explore's `checkpoint.json`.
const KIND: &str = "explore";

/// What an interrupted explore was; a resume must match it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreCheckpoint {
    /// `explore` (a `run`'s checkpoint has none, nor the next two).
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub experiment_sha256: String,
    /// Design points of the whole experiment.
    #[serde(default)]
    pub points: u64,
    /// Base scenario hash, seed, runs per point, shard, versions.
    #[serde(flatten)]
    pub batch: CheckpointMeta,
}

/// Where a simulation starts: the points of the range already done, the
/// length of `points.part` they fill, and their outcome means
/// (`means[outcome][point]`).
pub struct Resumed {
    pub done: usize,
    pub points_len: u64,
    pub means: Vec<Vec<f64>>,
}

impl Resumed {
    fn fresh(outcomes: usize) -> Self {
        Resumed { done: 0, points_len: 0, means: vec![Vec::new(); outcomes] }
    }
}

/// The checkpoint description of an explore.
pub(super) fn checkpoint_meta(p: &Prepared, shard: Option<ShardInfo>) -> ExploreCheckpoint {
    ExploreCheckpoint {
        kind: KIND.into(),
        experiment_sha256: sha256_hex(&p.experiment_bytes),
        points: p.built.values.len() as u64,
        batch: CheckpointMeta {
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            format_version: FORMAT_VERSION,
            scenario_sha256: sha256_hex(&p.base_bytes),
            seed: p.seed,
            runs: p.runs,
            shard,
            runs_table: false,
            chunk_size: 0,
        },
    }
}

/// Each setting that differs between a checkpoint and this command, as
/// `name old -> new`.
pub fn setting_changes(old: &ExploreCheckpoint, new: &ExploreCheckpoint) -> Vec<String> {
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let mut changes = Vec::new();
    if old.experiment_sha256 != new.experiment_sha256 {
        changes.push(format!(
            "experiment file (SHA-256) {} -> {}",
            short(&old.experiment_sha256),
            short(&new.experiment_sha256)
        ));
    }
    changes.extend(super::run::setting_changes(&old.batch, &new.batch));
    changes
}

/// Bytes of `means.bin` for `done` points of `outcomes` outcomes.
pub fn means_len(done: usize, outcomes: usize) -> u64 {
    (done as u64) * (outcomes as u64) * 8
}

/// Outcome means from `means.bin` bytes (point-major) as
/// `means[outcome][point]`; a trailing partial value is ignored.
pub fn decode_means(bytes: &[u8], outcomes: usize) -> Vec<Vec<f64>> {
    let mut means = vec![Vec::with_capacity(bytes.len() / 8 / outcomes.max(1)); outcomes];
    for (i, value) in bytes.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(value);
        means[i % outcomes.max(1)].push(f64::from_le_bytes(b));
    }
    means
}

/// Record that `done` points of the range are in the working files, which
/// then fill `points_len` bytes of `points.part`.
pub fn write_checkpoint(dir: &Path, done: usize, points_len: u64) -> io::Result<()> {
    let mut body = (done as u64).to_le_bytes().to_vec();
    body.extend_from_slice(&points_len.to_le_bytes());
    write_file(&dir.join(CHECKPOINT_BIN), &seal(body))
}

fn read_checkpoint(dir: &Path) -> Result<(u64, u64), String> {
    let bytes = read_own(&dir.join(CHECKPOINT_BIN)).map_err(|e| e.to_string())?;
    let body = unseal(&bytes, 16)?;
    let word = |i: usize| body.get(8 * i..8 * i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    match (body.len(), word(0), word(1)) {
        (16, Some(done), Some(len)) => Ok((done, len)),
        _ => Err("checkpoint has the wrong length".into()),
    }
}

/// Make the claimed working directory ready: for a fresh explore, empty
/// it and record what it is (`checkpoint.json` and the `copies` of the
/// inputs); for `--resume`, check that it holds only this user's regular
/// files and read what its checkpoint counts.
pub(super) fn prepare_dir(
    claim: &Claim,
    resume: bool,
    meta: &ExploreCheckpoint,
    copies: &[(&str, &[u8])],
    outcomes: usize,
) -> Result<Resumed, AppError> {
    let partial = claim.dir();
    if resume {
        claim.check_own_files().map_err(|e| claim_error(partial, e))?;
        return resume_state(partial, meta, outcomes);
    }
    claim.clear().map_err(|e| io_err("cannot empty", partial, e))?;
    let meta_json = serde_json::to_vec_pretty(meta).map_err(|e| AppError::Failed(e.to_string()))?;
    for (name, bytes) in [(CHECKPOINT_JSON, meta_json.as_slice())].into_iter().chain(copies.iter().copied()) {
        write_file(&partial.join(name), bytes).map_err(|e| io_err("cannot write", &partial.join(name), e))?;
    }
    Ok(Resumed::fresh(outcomes))
}

/// The checkpointed points of an interrupted explore; none if it stopped
/// before its first checkpoint (then it starts over in place).
fn resume_state(partial: &Path, meta: &ExploreCheckpoint, outcomes: usize) -> Result<Resumed, AppError> {
    let saved: ExploreCheckpoint = saved_settings(partial, KIND)?;
    refuse_changes(partial, KIND, &setting_changes(&saved, meta))?;
    if !partial.join(CHECKPOINT_BIN).exists() {
        return Ok(Resumed::fresh(outcomes));
    }
    let unreadable = |e: String| {
        AppError::Invalid(format!("--resume: cannot read the checkpoint in {}: {e}; {START_OVER}", partial.display()))
    };
    let (done, points_len) = read_checkpoint(partial).map_err(unreadable)?;
    let range = point_range(usize::try_from(meta.points).unwrap_or(usize::MAX), meta.batch.shard);
    let done = usize::try_from(done).ok().filter(|&d| d <= range.len()).ok_or_else(|| {
        unreadable(format!("it counts {done} points, but the explore has {} to compute", range.len()))
    })?;
    let bytes = read_own(&partial.join(MEANS_BIN)).map_err(|e| unreadable(format!("{MEANS_BIN}: {e}")))?;
    let need = usize::try_from(means_len(done, outcomes)).unwrap_or(usize::MAX);
    let rows = std::fs::symlink_metadata(partial.join(POINTS_PART)).map_or(0, |m| m.len());
    if bytes.len() < need || rows < points_len {
        return Err(unreadable(format!("{MEANS_BIN} or {POINTS_PART} is shorter than the checkpoint counts")));
    }
    Ok(Resumed { done, points_len, means: decode_means(&bytes[..need], outcomes) })
}

/// Remove the checkpoint of a finished simulation (a shard keeps its data).
pub fn remove_checkpoint(dir: &Path) -> io::Result<()> {
    remove_files(dir, &[CHECKPOINT_JSON, CHECKPOINT_BIN])
}

/// Remove every working file of a finished explore.
pub fn remove_work_files(dir: &Path) -> io::Result<()> {
    remove_files(dir, &[POINTS_PART, MEANS_BIN, CHECKPOINT_JSON, CHECKPOINT_BIN])
}

fn remove_files(dir: &Path, names: &[&str]) -> io::Result<()> {
    for name in names {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Whether `dir` is the working directory of an unfinished explore.
pub fn is_explore_work(dir: &Path) -> bool {
    read_own(&dir.join(CHECKPOINT_JSON))
        .ok()
        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["kind"] == KIND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_round_trip_exactly_point_by_point() {
        let values = [0.1, -3.5e-300, 1.0 / 3.0, f64::MAX, 0.0, 7.25];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let means = decode_means(&bytes, 2);
        assert_eq!(means, vec![vec![0.1, 1.0 / 3.0, 0.0], vec![-3.5e-300, f64::MAX, 7.25]]);
        assert_eq!(means_len(3, 2), bytes.len() as u64);
        assert_eq!(decode_means(&bytes[..9], 2), vec![vec![0.1], vec![]]);
    }

    #[test]
    fn a_checkpoint_round_trips_and_a_corrupted_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), 192, 40_000).unwrap();
        assert_eq!(read_checkpoint(dir.path()), Ok((192, 40_000)));
        let path = dir.path().join(CHECKPOINT_BIN);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(read_checkpoint(dir.path()).unwrap_err().contains("checksum"));
    }

    #[test]
    fn changed_settings_name_the_experiment_and_the_batch() {
        let old = ExploreCheckpoint {
            kind: KIND.into(),
            experiment_sha256: "aaaaaaaaaaaaaaaa".into(),
            points: 12,
            batch: CheckpointMeta {
                engine_version: "0.3.0".into(),
                format_version: 1,
                scenario_sha256: "cccccccccccccccc".into(),
                seed: 3,
                runs: 6,
                shard: None,
                runs_table: false,
                chunk_size: 0,
            },
        };
        assert!(setting_changes(&old, &old).is_empty());
        let mut new = old.clone();
        new.experiment_sha256 = "bbbbbbbbbbbbbbbb".into();
        new.batch.seed = 4;
        new.batch.shard = Some(ShardInfo { index: 0, count: 2 });
        assert_eq!(
            setting_changes(&old, &new),
            ["experiment file (SHA-256) aaaaaaaaaaaa -> bbbbbbbbbbbb", "--seed 3 -> 4", "--shard none -> 0/2"]
        );
        // It reads back through JSON, and a run's checkpoint has no kind.
        let json = serde_json::to_string(&old).unwrap();
        assert_eq!(serde_json::from_str::<ExploreCheckpoint>(&json).unwrap(), old);
        let run = serde_json::to_string(&old.batch).unwrap();
        assert_eq!(serde_json::from_str::<ExploreCheckpoint>(&run).unwrap().kind, "");
    }
}
