//! Performance benchmarks of the large district and the CityLearn year:
//!
//! - `district_100x288/cold`: the generated 100-building district over 288 five-minute
//!   steps (`aems scenario generate --buildings 100`), solved exactly from nothing;
//! - `district_100x288/warm_one_cycle_later`: the same district one 5-minute cycle later
//!   (horizon shifted by a step, batteries, zones, generators and the billed peak where the
//!   first plan leaves them), solved from the basis the first plan left — the controller's
//!   re-plan; `…/cold_one_cycle_later` is the same problem from nothing;
//! - `citylearn_500_plans/cold` and `…/warm`: 500 consecutive hourly 24-hour plans of the
//!   five CityLearn homes, each solved from nothing or from the previous plan's basis;
//! - `citylearn_year/mpc_perfect`: a year of hourly MPC for the five CityLearn 2022 phase-1
//!   homes (8,760 plans through the one controller, warm re-solves as in `aems simulate`).
//!
//! Run with `cargo bench --bench performance` (about 10 minutes: each sample of the year is
//! 8,760 plans). The district is generated into `target/bench/`; the CityLearn data are read
//! from `../shared/data/citylearn_2022_phase_1` (or `AEMS_DATA_DIR`), and that group is
//! skipped with a message when they are missing. Side-by-side figures against linopy +
//! HiGHS come from `tools/perf-vs-linopy`, not from here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use engine::warm::next_cycle;
use engine::{optimize, optimize_warm, Scenario, SolveOptions, WarmStart};

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench")
}

/// The generated district, one step longer than the horizon (the next cycle's last step).
fn district(horizon: usize) -> Scenario {
    let out = target_dir().join(format!("district-100x{}", horizon + 1));
    let mut opts = scenarios::district::DistrictOptions::new(100, &out);
    opts.steps = horizon + 1;
    scenarios::district::generate(&opts).expect("the district generates");
    Scenario::load(out.join("scenario.toml")).expect("the generated district loads")
}

fn large_district(c: &mut Criterion) {
    let horizon = 288;
    let data = district(horizon);
    let opts = SolveOptions::default();
    let first = data.slice(0..horizon);
    let mut warm = WarmStart::cold();
    let plan = optimize_warm(&first, &opts, &mut warm).expect("the district solves");
    let later = next_cycle(
        &data,
        0,
        horizon,
        plan.schedule.as_ref().expect("a plan"),
        1,
    );

    let mut g = c.benchmark_group("district_100x288");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(60));
    g.bench_function("cold", |b| b.iter(|| optimize(&first, &opts).unwrap()));
    g.bench_function("cold_one_cycle_later", |b| {
        b.iter(|| optimize(&later, &opts).unwrap())
    });
    g.bench_function("warm_one_cycle_later", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut w| optimize_warm(&later, &opts, &mut w).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn citylearn_year(c: &mut Criterion) {
    let data = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("citylearn_2022_phase_1");
    if !data.is_dir() {
        eprintln!(
            "citylearn_year: no data set at {} — skipped",
            data.display()
        );
        return;
    }
    let out = target_dir().join("citylearn");
    scenarios::citylearn::import(&scenarios::citylearn::Options {
        dir: data,
        out: out.clone(),
        usd_to_yen: 150.0,
        carbon_price_yen_per_kg: None,
    })
    .expect("the CityLearn data set imports");
    // 500 consecutive hourly plans of 24 h (the homes' own data as the forecast): each
    // solved from nothing, and each from the basis the previous plan left.
    let whole = Scenario::load(out.join("scenario.toml")).expect("the import loads");
    let plans: Vec<Scenario> = (0..500).map(|t| whole.slice(t..t + 24)).collect();
    let opts = SolveOptions {
        threads: Some(1),
        ..SolveOptions::default()
    };
    let mut g = c.benchmark_group("citylearn_500_plans");
    g.sample_size(10);
    g.bench_function("cold", |b| {
        b.iter(|| {
            for p in &plans {
                optimize(p, &opts).unwrap();
            }
        })
    });
    g.bench_function("warm", |b| {
        b.iter(|| {
            let mut w = WarmStart::cold();
            for p in &plans {
                optimize_warm(p, &opts, &mut w).unwrap();
            }
        })
    });
    g.finish();

    let file = engine::ScenarioFile::read(&out.join("scenario.toml")).expect("scenario reads");
    let mut setup = control::simulation::Setup::new(file, &Default::default()).expect("setup");
    let mut g = c.benchmark_group("citylearn_year");
    // The five homes whole, and side by side (as `aems simulate` runs them).
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(240));
    for (name, side_by_side) in [("mpc_perfect_whole", false), ("mpc_perfect", true)] {
        setup.parallel_parts = side_by_side;
        g.bench_function(name, |b| {
            b.iter(|| {
                control::simulation::simulate(
                    &setup,
                    control::simulation::Run::Mpc(control::simulation::ForecastChoice::Perfect),
                    |_, _| {},
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotting backend fails on a machine without fonts, and the
    // figures are read from the console.
    config = Criterion::default().without_plots();
    targets = large_district, citylearn_year
}
criterion_main!(benches);
