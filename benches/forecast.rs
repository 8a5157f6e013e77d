//! Demand forecasting speed: a whole district — 20 buildings, 48 h at 15 min — forecast
//! from fitted models (the job `aems run` does every cycle).
//!
//! The 20 buildings are the five CityLearn 2022 homes (`../shared/data`, or
//! `AEMS_DATA_DIR`) at four load scales, resampled from hourly to 15 minutes by linear
//! interpolation; models are fitted once, outside the measurement.
//!
//! `cargo bench --bench forecast`

use std::path::PathBuf;

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion};
use forecast::calendar::{Calendar, Holidays};
use forecast::demand::{DemandData, FitConfig, FittedModel, ModelKind, TrainOrigins, WeatherVar};
use forecast::timeseries::{read_csv, ColumnSpec, SeriesRules};

const STEPS_48H: usize = 192;

/// Linear interpolation of an hourly series to 15-minute steps.
fn quarter_hourly(v: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for i in 0..v.len() {
        let next = v[(i + 1).min(v.len() - 1)];
        for q in 0..4 {
            out.push(v[i] + (next - v[i]) * q as f64 / 4.0);
        }
    }
    out
}

fn district() -> Vec<DemandData> {
    let dir = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("citylearn_2022_phase_1");
    let any = |name: &str| ColumnSpec::new(name, f64::NEG_INFINITY, f64::INFINITY, "");
    let rules = SeriesRules::default();
    let homes: Vec<ColumnSpec> = (1..=5)
        .map(|b| any(&format!("Building_{b}_load_kw")))
        .collect();
    let loads = read_csv(&dir.join("buildings.csv"), &homes, rules).unwrap();
    let weather = read_csv(
        &dir.join("weather.csv"),
        &[any("temp_c"), any("diffuse_w_m2"), any("direct_w_m2")],
        rules,
    )
    .unwrap();
    let temp = quarter_hourly(&weather.columns[0]);
    let solar: Vec<f64> = quarter_hourly(
        &weather.columns[1]
            .iter()
            .zip(&weather.columns[2])
            .map(|(a, b)| a + b)
            .collect::<Vec<_>>(),
    );
    let start = loads.times[0];
    let times: Vec<_> = (0..temp.len())
        .map(|i| start + Duration::minutes(15 * i as i64))
        .collect();
    let calendar = Calendar::new(Holidays::None, Vec::new());
    let mut out = Vec::new();
    for scale in [1.0, 3.0, 10.0, 30.0] {
        for home in &loads.columns {
            let load = quarter_hourly(home);
            out.push(
                DemandData::new(
                    times.clone(),
                    15,
                    load.iter().map(|v| v * scale).collect(),
                    Some(WeatherVar::observed(temp.clone())),
                    Some(WeatherVar::observed(solar.clone())),
                    &calendar,
                )
                .unwrap(),
            );
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let buildings = district();
    let d = buildings[0].steps_per_day();
    let until = 240 * d;
    let cfg = FitConfig {
        horizon_steps: STEPS_48H,
        origins: TrainOrigins { every_slots: d },
        holdout_days: 28,
        nonnegative: true,
    };
    let ridge: Vec<FittedModel> = buildings
        .iter()
        .map(|b| FittedModel::fit(ModelKind::Ridge, b, until, &cfg).unwrap())
        .collect();
    // GBT fits are the slow part of setup: fit the five homes once, reuse for each scale.
    let ensembles: Vec<FittedModel> = buildings[..5]
        .iter()
        .map(|b| FittedModel::fit(ModelKind::Ensemble, b, until, &cfg).unwrap())
        .collect();
    let mut g = c.benchmark_group("district_20_buildings_48h_15min");
    g.bench_function("ridge", |bch| {
        bch.iter(|| {
            for (m, b) in ridge.iter().zip(&buildings) {
                m.forecast(b, until + 7 * d, STEPS_48H).unwrap();
            }
        })
    });
    g.bench_function("ensemble", |bch| {
        bch.iter(|| {
            for (i, b) in buildings.iter().enumerate() {
                ensembles[i % 5]
                    .forecast(b, until + 7 * d, STEPS_48H)
                    .unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
