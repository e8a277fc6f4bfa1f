//! `hedgesim merge`: shard directories into one result directory, with the
//! same bytes as a single-machine run.
//!
//! Every shard is checked before anything is written: same scenario file
//! (SHA-256), seed, runs, shard count, runs-table setting and engine
//! version; every index 0..N present exactly once; every state file intact.

use std::fs;
use std::path::{Path, PathBuf};

use super::finish::{Totals, assemble_runs_table, write_result};
use super::{AppError, Claimed, check_out, claim_out, io_err};
use crate::cli::MergeArgs;
use crate::engine::BatchState;
use crate::model::Model;
use crate::output::manifest::Manifest;
use crate::scenario::parse_scenario;

struct Shard {
    dir: PathBuf,
    manifest: Manifest,
    state: BatchState,
}

fn read_shard(dir: &Path) -> Result<Shard, String> {
    let text = fs::read(dir.join("manifest.json")).map_err(|_| {
        format!("{}: no manifest.json; is this a directory written by `hedgesim run --shard K/N`?", dir.display())
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| format!("{}: manifest.json is unreadable: {e}", dir.display()))?;
    if manifest.shard.is_none() {
        return Err(format!("{}: not a shard directory (it is a complete result; nothing to merge)", dir.display()));
    }
    let bytes = fs::read(dir.join("state.bin"))
        .map_err(|_| format!("{}: no state.bin; the shard is incomplete, run it again", dir.display()))?;
    let state =
        BatchState::decode(&bytes).map_err(|e| format!("{}: state.bin: {e}; run the shard again", dir.display()))?;
    if !state.is_complete() {
        return Err(format!("{}: the shard is not complete; run it again", dir.display()));
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
        let d = s.dir.display();
        let mut differs = |what: &str, same: bool| {
            if !same {
                problems.push(format!("{d}: {what} differs from {}", shards[0].dir.display()));
            }
        };
        differs("scenario file (sha256)", m.scenario_sha256 == first.scenario_sha256);
        differs("seed", m.seed == first.seed);
        differs("runs", m.runs == first.runs);
        differs("shard count N", m.shard.map(|s| s.count) == Some(count));
        differs("runs_table setting", m.runs_table == first.runs_table);
        differs("engine version", m.engine_version == first.engine_version && m.format_version == first.format_version);
        differs("chunk size", m.chunk_size == first.chunk_size);
    }
    let mut seen: Vec<Vec<String>> = vec![Vec::new(); count as usize];
    for s in shards {
        if let Some(info) = s.manifest.shard {
            if let Some(slot) = seen.get_mut(info.index as usize) {
                slot.push(s.dir.display().to_string());
            }
        }
    }
    for (k, dirs) in seen.iter().enumerate() {
        match dirs.len() {
            0 => problems.push(format!("shard {k}/{count} is missing")),
            1 => {}
            _ => problems.push(format!("shard {k}/{count} is given {} times: {}", dirs.len(), dirs.join(", "))),
        }
    }
    problems
}

/// Execute `hedgesim merge`.
pub fn merge(args: &MergeArgs) -> Result<String, AppError> {
    check_out(&args.out, args.force, None)?;
    let mut shards = Vec::new();
    let mut problems = Vec::new();
    for dir in &args.shards {
        match read_shard(dir) {
            Ok(s) => shards.push(s),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        problems = check_shards(&shards);
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(format!("cannot merge; nothing written:\n  {}", problems.join("\n  "))));
    }
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

    let Claimed { claim, .. } = claim_out(&args.out)?;
    if let Err(e) = check_out(&args.out, args.force, None) {
        claim.release();
        return Err(e);
    }
    let partial = claim.dir().to_path_buf();
    claim.clear().map_err(|e| io_err("cannot empty", &partial, e))?;
    fs::copy(&scenario_path, partial.join("scenario.toml")).map_err(|e| io_err("cannot copy", &scenario_path, e))?;
    if scenario.outputs.runs_table {
        let parts: Vec<PathBuf> = shards.iter().map(|s| s.dir.join("runs.part")).collect();
        let refs: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
        assemble_runs_table(&partial, &model, &refs).map_err(|e| io_err("cannot assemble runs.csv in", &partial, e))?;
    }
    let mut manifest = first.manifest.clone();
    manifest.shard = None;
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
