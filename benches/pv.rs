//! PV chain benchmarks (measured, not asserted):
//!
//! - `pv_year_15min/chain`: one array (the `kashiwa_south_20` fixture's), a year of
//!   15-minute steps (35,040): SPA, Spencer, Erbs, Hay-Davies, Faiman, PVWatts DC and
//!   inverter for every step;
//! - `pv_year_15min/solar_position`: the SPA alone over the same year;
//! - `pv_year_15min/read_weather_csv`: reading that year's weather CSV by the input rules;
//! - `pv_year_15min/fit_correction`: learning the correction from a year of "measured"
//!   output;
//! - `pv_20_arrays_48h_15min/run_arrays`: 20 arrays at one site × 48 h of 15-minute
//!   steps, the time-only part of the SPA shared between arrays;
//!   `…/one_by_one`: the same, each array on its own.
//!
//! Run with `cargo bench --bench pv`. The weather is synthetic (a clear-sky-like GHI
//! with a deterministic cloud pattern): the chain's cost does not depend on the values.

use std::hint::black_box;

use chrono::{DateTime, Duration, FixedOffset};
use criterion::{criterion_group, criterion_main, Criterion};

use forecast::pv::correction::CorrectionConfig;
use forecast::pv::measured::Measured;
use forecast::pv::solar_position::{Observer, SunEphemeris};
use forecast::pv::{read_weather_csv, run_arrays, PvArray, PvChain, PvCorrection, WeatherStep};
use forecast::timeseries::SeriesReport;

fn kashiwa_south_20() -> PvArray {
    PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0)
}

/// `n` steps of 15 minutes from 2025-01-01T00:00Z with plausible weather.
fn weather(n: usize) -> Vec<WeatherStep> {
    let t0: DateTime<FixedOffset> = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap();
    let observer = Observer::new(35.893, 139.952, 15.0);
    (0..n)
        .map(|i| {
            let time = t0 + Duration::minutes(15 * i as i64);
            let unix = time.timestamp() as f64;
            let cos_z = SunEphemeris::at_unix(unix, 67.0)
                .position(&observer)
                .zenith_deg
                .to_radians()
                .cos();
            let cloud = 0.55 + 0.45 * ((i as f64) * 0.137).sin().abs();
            WeatherStep {
                time,
                ghi_w_m2: (1050.0 * cos_z.max(0.0).powf(1.15) * cloud).max(0.0),
                temp_air_c: 15.0 + 10.0 * ((i as f64) / 96.0 * std::f64::consts::TAU).sin(),
                wind_m_s: 1.0 + 2.0 * ((i as f64) * 0.071).cos().abs(),
            }
        })
        .collect()
}

fn twenty_arrays() -> Vec<PvArray> {
    (0..20)
        .map(|k| {
            let mut a = PvArray::new(
                35.893 + 0.001 * k as f64,
                139.952 - 0.001 * k as f64,
                15.0,
                5.0 + (k % 5) as f64 * 5.0,
                150.0 + (k % 7) as f64 * 10.0,
                50.0 + 10.0 * k as f64,
                45.0 + 9.0 * k as f64,
            );
            a.name = Some(format!("array_{k}"));
            a
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let array = kashiwa_south_20();
    let chain = PvChain::new(&array);
    let year = weather(365 * 96);

    let dir = std::env::temp_dir().join(format!("aems-pv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv_path = dir.join("year.csv");
    let mut text = String::from("time,ghi_w_m2,temp_air_c,wind_m_s\n");
    for w in &year {
        text.push_str(&format!(
            "{},{:.3},{:.2},{:.2}\n",
            forecast::pv::chain::format_time(&w.time),
            w.ghi_w_m2,
            w.temp_air_c,
            w.wind_m_s
        ));
    }
    std::fs::write(&csv_path, text).expect("write the year's weather");

    let modelled = chain.run(&year);
    let measured = Measured {
        column: "pv_kw".into(),
        times: modelled.iter().map(|s| s.time).collect(),
        ac_kw: modelled.iter().map(|s| 0.93 * s.ac_kw).collect(),
        filled: vec![false; modelled.len()],
        report: SeriesReport {
            step: Duration::minutes(15),
            ..SeriesReport::default()
        },
    };

    let mut g = c.benchmark_group("pv_year_15min");
    g.sample_size(10);
    g.bench_function("chain", |b| b.iter(|| chain.run(black_box(&year))));
    g.bench_function("solar_position", |b| {
        let observer = Observer::new(array.latitude_deg, array.longitude_deg, array.altitude_m);
        b.iter(|| {
            year.iter()
                .map(|w| {
                    SunEphemeris::at_unix(w.time.timestamp() as f64, 67.0)
                        .position(&observer)
                        .zenith_deg
                })
                .sum::<f64>()
        })
    });
    g.bench_function("read_weather_csv", |b| {
        b.iter(|| read_weather_csv(black_box(&csv_path), 4).expect("reads"))
    });
    g.bench_function("fit_correction", |b| {
        b.iter(|| {
            PvCorrection::fit(&array, &modelled, &measured, &CorrectionConfig::default())
                .expect("fits")
        })
    });
    g.finish();

    let arrays = twenty_arrays();
    let two_days = weather(2 * 96);
    let mut g = c.benchmark_group("pv_20_arrays_48h_15min");
    g.sample_size(30);
    g.bench_function("run_arrays", |b| {
        b.iter(|| run_arrays(black_box(&arrays), black_box(&two_days)))
    });
    g.bench_function("one_by_one", |b| {
        b.iter(|| {
            arrays
                .iter()
                .map(|a| PvChain::new(a).run(black_box(&two_days)))
                .collect::<Vec<_>>()
        })
    });
    g.finish();

    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
