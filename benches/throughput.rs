//! Criterion benchmarks of simulation throughput, in partner-steps
//! (`Throughput::Elements`): one baseline run, a 10,000-run batch with full
//! statistics, and the statistics merge; and, in values folded, the two
//! statistics folds of the engine on their own (moments and quantile
//! tallies, one lane block of 64 baseline runs step by step), so that work
//! on either can be measured apart from the simulation. Run with
//! `cargo bench`. `explore/baseline_point_1k_runs_3_outcomes` times one
//! design point of `hedgesim explore` (outcome-only simulation).

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hedgesim::app::bench::time_batch;
use hedgesim::engine::LANE_RUNS;
use hedgesim::explore::evaluate::{Probe, probe_for, simulate_point};
use hedgesim::explore::spec::parse_outcome;
use hedgesim::model::Model;
use hedgesim::scenario::Scenario;
use hedgesim::stats::moments::MomentBlock;
use hedgesim::stats::sketch::TallySet;

fn baseline() -> Scenario {
    Scenario::load(Path::new("scenarios/baseline.toml")).expect("scenarios/baseline.toml is valid")
}

fn partner_steps(s: &Scenario, runs: u64) -> u64 {
    runs * s.steps() as u64 * s.partners.len() as u64
}

fn one_run(c: &mut Criterion) {
    let scenario = baseline();
    let model = Model::new(&scenario);
    let mut ws = model.workspace();
    let mut trajectory = vec![0.0; model.trajectory_len()];
    let mut group = c.benchmark_group("model");
    group.throughput(Throughput::Elements(partner_steps(&scenario, 1)));
    let mut run = 0u64;
    group.bench_function("baseline_one_run", |b| {
        b.iter(|| {
            run += 1;
            model.run(run, &mut ws, &mut trajectory)
        })
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let mut scenario = baseline();
    scenario.runs = 10_000;
    let model = Model::new(&scenario);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(partner_steps(&scenario, scenario.runs)));
    group.bench_function(format!("baseline_10k_runs_{threads}_threads"), |b| {
        b.iter(|| time_batch(&model, threads).expect("batch runs"))
    });
    group.finish();
}

fn merge(c: &mut Criterion) {
    let scenario = baseline();
    let model = Model::new(&scenario);
    let mut ws = model.workspace();
    let mut trajectory = vec![0.0; model.trajectory_len()];
    let mut block = |first: u64| {
        let mut m = MomentBlock::new(model.trajectory_len());
        for run in first..first + 16 {
            model.run(run, &mut ws, &mut trajectory);
            m.add_row(&trajectory);
        }
        m
    };
    let (a, b) = (block(0), block(16));
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements(model.trajectory_len() as u64));
    group.bench_function("moment_merge_per_cell", |bench| {
        bench.iter_batched(|| a.clone(), |mut x| x.absorb(&b), BatchSize::SmallInput)
    });
    group.finish();
}

/// Lane blocks of [`LANE_RUNS`] baseline runs, as the engine hands them to
/// the statistics: for each block, one `LANE_RUNS x cells` row block per
/// step (k = 0..=K).
fn lane_blocks(model: &Model, blocks: u64) -> Vec<Vec<Vec<f64>>> {
    let cells = model.layout.len();
    let mut ws = model.workspace();
    let mut trajectory = vec![0.0; model.trajectory_len()];
    (0..blocks)
        .map(|block| {
            let mut steps = vec![vec![0.0; LANE_RUNS * cells]; model.steps() + 1];
            for lane in 0..LANE_RUNS {
                model.run(block * LANE_RUNS as u64 + lane as u64, &mut ws, &mut trajectory);
                for (k, rows) in steps.iter_mut().enumerate() {
                    rows[lane * cells..(lane + 1) * cells].copy_from_slice(&trajectory[k * cells..(k + 1) * cells]);
                }
            }
            steps
        })
        .collect()
}

/// The folds of one lane block, step by step. As in the engine, where
/// `record` has just written them, each step's rows are first put in one
/// warm scratch buffer (a 47 KB copy per step); `copy_rows_64_runs` times
/// that copy alone, to be subtracted.
fn statistics_folds(c: &mut Criterion) {
    let model = Model::new(&baseline());
    let cells = model.layout.len();
    let blocks = lane_blocks(&model, 4);
    let mut scratch = vec![0.0; LANE_RUNS * cells];
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements((LANE_RUNS * model.trajectory_len()) as u64));
    let mut next = 0;
    let mut each_step = |fold: &mut dyn FnMut(usize, &[f64])| {
        for (k, rows) in blocks[next % blocks.len()].iter().enumerate() {
            scratch.copy_from_slice(rows);
            fold(k, &scratch);
        }
        next += 1;
    };
    group.bench_function("copy_rows_64_runs", |b| {
        b.iter(|| {
            each_step(&mut |_, rows| {
                std::hint::black_box(rows);
            })
        })
    });
    let mut moments = MomentBlock::new(model.trajectory_len());
    group.bench_function("fold_moments_64_runs", |b| {
        b.iter(|| {
            let weights = moments.next_run_weights(LANE_RUNS);
            each_step(&mut |k, rows| moments.add_columns(k * cells, rows, &weights));
            moments.add_runs(LANE_RUNS);
        })
    });
    let (frames, _, _) = hedgesim::engine::pilot(&model, 10_000, false);
    let mut tallies = TallySet::new(&frames);
    group.bench_function("fold_tallies_64_runs", |b| {
        b.iter(|| each_step(&mut |k, rows| tallies.add_columns(k * cells, rows, LANE_RUNS)))
    });
    group.finish();
}

/// One explore design point: 1,000 baseline runs reduced to three outcomes
/// at the horizon (what `hedgesim explore` computes per point), against the
/// same runs with full statistics (`engine/baseline_10k_runs_*`, per
/// partner-step): the ratio is recorded in docs/performance.md.
fn explore_point(c: &mut Criterion) {
    let scenario = baseline();
    let model = Model::new(&scenario);
    let probes: Vec<Probe> = ["trade_share.RU@2040", "strategic_space@2040", "posture.dependent:CN@2040"]
        .iter()
        .map(|o| probe_for(&parse_outcome(o).expect("outcome parses"), &scenario).expect("outcome resolves"))
        .collect();
    let runs = 1_000;
    let mut group = c.benchmark_group("explore");
    group.sample_size(10);
    group.throughput(Throughput::Elements(partner_steps(&scenario, runs)));
    group.bench_function("baseline_point_1k_runs_3_outcomes", |b| b.iter(|| simulate_point(&model, runs, &probes)));
    group.finish();
}

criterion_group!(benches, one_run, batch, merge, statistics_folds, explore_point);
criterion_main!(benches);
