//! Demand forecasting on the real CityLearn 2022 homes (`../shared/data`): the acceptance
//! figures (day-ahead skill against the 24-h naive forecast, 80 % interval coverage), the
//! stronger learner, and that no forecast ever reads data after its origin.

use std::path::PathBuf;

use forecast::backtest::{backtest, BacktestConfig, Origins};
use forecast::calendar::{Calendar, Holidays};
use forecast::demand::input::{read, InputSpec};
use forecast::demand::{DemandData, FitConfig, FittedModel, ModelKind, TrainOrigins, WeatherVar};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("citylearn_2022_phase_1");
    assert!(
        dir.is_dir(),
        "CityLearn data not found at {} (set AEMS_DATA_DIR)",
        dir.display()
    );
    dir
}

fn building(b: usize) -> DemandData {
    let dir = data_dir();
    let spec = InputSpec {
        target: format!("Building_{b}_load_kw"),
        temp_column: None,
        solar_columns: Vec::new(),
        calendar: Calendar::new(Holidays::None, Vec::new()),
        nonnegative: true,
        max_gap_steps: 3,
    };
    let (data, _) = read(
        &dir.join("buildings.csv"),
        Some(&dir.join("weather.csv")),
        &spec,
    )
    .unwrap();
    assert!(
        data.weather_from_forecasts(),
        "the weather file's forecast columns are used"
    );
    data
}

#[test]
fn day_ahead_skill_and_coverage_on_every_home() {
    let mut skills = Vec::new();
    for b in 1..=5 {
        let data = building(b);
        let cfg = BacktestConfig {
            origins: Origins::Midnight,
            models: vec![ModelKind::SeasonalNaive, ModelKind::Ridge],
            ..BacktestConfig::default()
        };
        let r = backtest(&data, &cfg, |_, _| {}).unwrap();
        assert!(
            r.forecasts > 250,
            "a year of midnights minus warm-up: {}",
            r.forecasts
        );
        let chosen = r.models.iter().find(|m| m.name == r.chosen_model).unwrap();
        let naive = r.models.iter().find(|m| m.name == "naive_24h").unwrap();
        assert_eq!(naive.skill, 0.0);
        assert!(
            chosen.skill >= 0.12,
            "Building_{b}: skill {:.3}",
            chosen.skill
        );
        assert!(
            (0.75..=0.85).contains(&chosen.coverage_80),
            "Building_{b}: 80 % interval covers {:.3}",
            chosen.coverage_80
        );
        skills.push(chosen.skill);
    }
    let mean = skills.iter().sum::<f64>() / skills.len() as f64;
    assert!(mean >= 0.18, "mean skill {mean:.3} ({skills:?})");
}

#[test]
fn hourly_origins_beat_the_naive_forecast() {
    let data = building(1);
    let cfg = BacktestConfig {
        origins: Origins::Hourly,
        models: vec![ModelKind::Ridge],
        refit_days: 14,
        ..BacktestConfig::default()
    };
    let r = backtest(&data, &cfg, |_, _| {}).unwrap();
    assert!(r.forecasts > 6000);
    let ridge = r.models.iter().find(|m| m.name == "ridge").unwrap();
    assert!(ridge.skill > 0.2, "hourly-origin skill {:.3}", ridge.skill);
    assert!(
        (0.72..=0.88).contains(&ridge.coverage_80),
        "{}",
        ridge.coverage_80
    );
}

#[test]
fn gradient_boosting_and_the_ensemble_learn() {
    let data = building(2);
    let cfg = BacktestConfig {
        origins: Origins::Midnight,
        models: vec![ModelKind::Ridge, ModelKind::Gbt, ModelKind::Ensemble],
        refit_days: 28,
        ..BacktestConfig::default()
    };
    let r = backtest(&data, &cfg, |_, _| {}).unwrap();
    let get = |n: &str| r.models.iter().find(|m| m.name == n).unwrap().clone();
    let (ridge, gbt, ens) = (get("ridge"), get("gbt"), get("ensemble"));
    assert!(gbt.skill > 0.1, "gbt skill {:.3}", gbt.skill);
    // Averaging two decent forecasts is no worse than the worse one.
    assert!(ens.rmse <= ridge.rmse.max(gbt.rmse) + 1e-9);
}

/// Replaces every value from row `from` on with garbage, keeping forecasts issued before it.
fn scramble_future(data: &DemandData, from: usize) -> DemandData {
    let mut load = data.load_kw.clone();
    for (i, v) in load.iter_mut().enumerate().skip(from) {
        *v = 50.0 + (i % 7) as f64;
    }
    let scramble = |w: &Option<WeatherVar>| {
        w.as_ref().map(|w| {
            let mut w = w.clone();
            for (i, v) in w.actual.iter_mut().enumerate().skip(from) {
                *v = -40.0 + (i % 5) as f64;
            }
            for (lead, values) in &mut w.forecasts {
                // values[i] was issued at row i: keep those issued before `from`.
                for v in values.iter_mut().skip(from) {
                    *v = 99.0 + *lead as f64;
                }
            }
            w
        })
    };
    DemandData::new(
        data.times.clone(),
        data.step_minutes,
        load,
        scramble(&data.temp_c),
        scramble(&data.solar_w_m2),
        &Calendar::new(Holidays::None, Vec::new()),
    )
    .unwrap()
}

#[test]
fn forecasts_never_read_data_after_their_origin() {
    let data = building(3);
    let d = data.steps_per_day();
    let origin = 200 * d;
    let cfg = FitConfig {
        horizon_steps: d,
        origins: TrainOrigins { every_slots: d },
        holdout_days: 28,
        nonnegative: true,
    };
    let future = scramble_future(&data, origin);
    for kind in [ModelKind::SeasonalNaive, ModelKind::Ridge, ModelKind::Gbt] {
        let a = FittedModel::fit(kind, &data, origin, &cfg).unwrap();
        let b = FittedModel::fit(kind, &future, origin, &cfg).unwrap();
        let fa = a.forecast(&data, origin, d).unwrap();
        let fb = b.forecast(&future, origin, d).unwrap();
        assert_eq!(
            fa, fb,
            "{kind}: the forecast changed with data after the origin"
        );
        // And it is not trivially constant: it changes with data before the origin.
        let past = scramble_future(&data, origin - d);
        let c = FittedModel::fit(kind, &past, origin, &cfg).unwrap();
        assert_ne!(c.forecast(&past, origin, d).unwrap(), fa, "{kind}");
    }
}

#[test]
fn a_demand_history_must_be_regular_short_gaps_are_filled() {
    let dir = std::env::temp_dir().join(format!("aems-demand-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = InputSpec {
        target: "load".into(),
        temp_column: None,
        solar_columns: Vec::new(),
        calendar: Calendar::japan(),
        nonnegative: true,
        max_gap_steps: 3,
    };
    // 48 hourly rows with load = hour index, leaving out the rows in `skip`.
    let rows = |skip: &[usize]| {
        let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00+09:00").unwrap();
        let mut text = String::from("time,load\n");
        for h in (0..48).filter(|h| !skip.contains(h)) {
            let t = start + chrono::Duration::hours(h as i64);
            text.push_str(&format!("{},{h}\n", t.to_rfc3339()));
        }
        text
    };
    let file = dir.join("short.csv");
    std::fs::write(&file, rows(&[5, 6])).unwrap();
    let (data, report) = read(&file, None, &spec).unwrap();
    assert_eq!(data.len(), 48);
    assert_eq!(report.interpolated(), 2);
    assert!((data.load_kw[5] - 5.0).abs() < 1e-9);
    let file = dir.join("long.csv");
    std::fs::write(&file, rows(&[10, 11, 12, 13, 14])).unwrap();
    let e = read(&file, None, &spec).unwrap_err().to_string();
    assert!(
        e.contains("long.csv: line 12, column 'time'") && e.contains("regular"),
        "{e}"
    );
    let file = dir.join("negative.csv");
    std::fs::write(&file, rows(&[]).replace(",7\n", ",-7\n")).unwrap();
    let e = read(&file, None, &spec).unwrap_err().to_string();
    assert!(e.contains("line 9, column 'load'"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
