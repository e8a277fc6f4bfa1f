//! Criterion benchmarks of simulation throughput, in partner-steps
//! (`Throughput::Elements`): one baseline run, a 10,000-run batch with full
//! statistics, and the statistics merge. Run with `cargo bench`.

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hedgesim::app::bench::time_batch;
use hedgesim::model::Model;
use hedgesim::scenario::Scenario;
use hedgesim::stats::moments::MomentBlock;

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

criterion_group!(benches, one_run, batch, merge);
criterion_main!(benches);
