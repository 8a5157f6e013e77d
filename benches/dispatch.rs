//! Dispatch benchmarks on the reference cases `e_midsize_20x96` (20 buildings + hub,
//! 96 × 15 min) and `d_gate_square_48h` (96 × 30 min):
//!
//! - `load`: read and validate the scenario (TOML + CSV);
//! - `build`: build the model (good_lp) and hand it to HiGHS — once for the relaxation
//!   the solver starts from, once with every on/off variable binary;
//! - `optimize`: the whole exact solve as `aems optimize` runs it (every round's build,
//!   HiGHS, polish, physics check and figures).
//!
//! Run with `cargo bench --bench dispatch`; the cases are read from `../shared/cases`
//! (or `AEMS_CASES_DIR`).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use engine::model::{self, Goal, Integrality};
use engine::{optimize, Scenario, SolveOptions};

fn case(name: &str) -> PathBuf {
    std::env::var_os("AEMS_CASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/cases"))
        .join(name)
        .join("scenario.toml")
}

fn bench(c: &mut Criterion) {
    for name in ["e_midsize_20x96", "d_gate_square_48h"] {
        let path = case(name);
        let sc = Scenario::load(&path).expect("reference case loads");
        let mut g = c.benchmark_group(name);
        g.sample_size(20);
        g.bench_function("load", |b| b.iter(|| Scenario::load(&path).unwrap()));
        for (label, plan) in [
            ("build_relaxed", Integrality::relaxed(&sc)),
            ("build_full", Integrality::full(&sc)),
        ] {
            g.bench_function(label, |b| {
                b.iter(|| {
                    model::build(&sc, &plan, Goal::Cost)
                        .into_lp()
                        .0
                        .to_highs()
                        .unwrap()
                })
            });
        }
        g.sample_size(10);
        g.bench_function("optimize", |b| {
            b.iter(|| optimize(&sc, &SolveOptions::default()).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
