//! `manifest.json`: where a result came from and how fast it was made.

use serde::{Deserialize, Serialize};

/// Version of the result-directory format (manifest, tables, shard state).
pub const FORMAT_VERSION: u32 = 1;

/// Which part of a sharded batch a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u64,
    pub count: u64,
}

/// Version of the shard file binding ([`ShardFiles`]); shards without it,
/// or with another version, are refused by `merge`.
pub const SHARD_FILES_VERSION: u32 = 1;

/// The SHA-256 of every file of a shard directory, recorded in its
/// manifest so that `merge` can refuse a file that does not belong to the
/// shard (another seed's `state.bin`, a truncated or edited `runs.part`,
/// an edited `scenario.toml` copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardFiles {
    pub version: u32,
    pub state_bin_sha256: String,
    pub state_bin_bytes: u64,
    pub runs_part_sha256: String,
    pub runs_part_bytes: u64,
}

/// The manifest of a result or shard directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub engine: String,
    pub engine_version: String,
    pub scenario: String,
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub runs: u64,
    pub steps: usize,
    pub steps_per_year: u32,
    pub base_year: i32,
    pub horizon: i32,
    pub partners: Vec<String>,
    pub groups: Vec<String>,
    pub quantiles: Vec<f64>,
    pub runs_table: bool,
    pub chunk_size: u64,
    pub threads: usize,
    pub wall_time_s: f64,
    pub runs_per_second: f64,
    pub partner_steps_per_second: f64,
    pub started_at: String,
    pub shard: Option<ShardInfo>,
    /// Hashes of a shard's files (shard directories only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_files: Option<ShardFiles>,
    pub resolved_scenario: serde_json::Value,
}

/// Current UTC time as RFC 3339 (seconds), without a date-time crate.
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
