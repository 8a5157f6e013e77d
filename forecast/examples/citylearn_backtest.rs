//! The README's forecasting table: a rolling-origin backtest of every demand model on the
//! five CityLearn 2022 homes (`../shared/data/citylearn_2022_phase_1`, or
//! `AEMS_DATA_DIR`), forecasts made at each midnight and at each hour for the next 24 h,
//! printed as Markdown.
//!
//! `cargo run --release -p forecast --example citylearn_backtest`
//!
//! `AEMS_BACKTEST_MODELS=ridge,seasonal_naive` compares only those models (quicker).

use std::path::PathBuf;

use forecast::backtest::{backtest, BacktestConfig, BacktestReport, ModelScore, Origins};
use forecast::calendar::{Calendar, Holidays};
use forecast::demand::input::{read, InputSpec};
use forecast::demand::ModelKind;

fn chosen(r: &BacktestReport) -> &ModelScore {
    r.models
        .iter()
        .find(|m| m.name == r.chosen_model)
        .unwrap_or(&r.models[0])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("citylearn_2022_phase_1");
    let models = match std::env::var("AEMS_BACKTEST_MODELS") {
        Ok(list) => list
            .split(',')
            .map(|m| {
                ModelKind::parse(m.trim())
                    .ok_or_else(|| format!("AEMS_BACKTEST_MODELS: unknown model '{m}'"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Err(_) => ModelKind::ALL.to_vec(),
    };
    let mut rows = Vec::new();
    for b in 1..=5 {
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
        )?;
        let mut reports = Vec::new();
        for origins in [Origins::Midnight, Origins::Hourly] {
            let t0 = std::time::Instant::now();
            let cfg = BacktestConfig {
                origins,
                models: models.clone(),
                ..BacktestConfig::default()
            };
            reports.push(backtest(&data, &cfg, |_, _| {})?);
            eprintln!(
                "Building_{b} {origins:?}: {:.1} s",
                t0.elapsed().as_secs_f64()
            );
        }
        rows.push((b, reports));
    }
    let names: Vec<&str> = rows
        .first()
        .map(|(_, r)| r[0].models.iter().map(|m| m.name.as_str()).collect())
        .unwrap_or_default();
    println!("| home | model (midnight) | MAE kW | nRMSE | skill | 80 % coverage | skill of each model ({}) | hourly origins: model, skill, coverage |", names.join(" / "));
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let (mut sum, mut min) = (0.0, f64::INFINITY);
    for (b, reports) in &rows {
        let (m, h) = (chosen(&reports[0]), chosen(&reports[1]));
        let all: Vec<String> = reports[0]
            .models
            .iter()
            .map(|s| format!("{:.3}", s.skill))
            .collect();
        println!(
            "| Building_{b} | {} | {:.3} | {:.3} | {:.3} | {:.1} % | {} | {}, {:.3}, {:.1} % |",
            m.name,
            m.mae,
            m.nrmse,
            m.skill,
            100.0 * m.coverage_80,
            all.join(" / "),
            h.name,
            h.skill,
            100.0 * h.coverage_80
        );
        sum += m.skill;
        min = min.min(m.skill);
    }
    println!();
    println!(
        "Mean day-ahead skill {:.3}, lowest {:.3}; weather: {}.",
        sum / rows.len() as f64,
        min,
        rows[0].1[0].weather
    );
    Ok(())
}
