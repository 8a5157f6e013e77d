//! Day-ahead backtest of every demand model on the five CityLearn 2022 homes
//! (`../shared/data/citylearn_2022_phase_1`), printed as a table.
//!
//! `cargo run --release -p forecast --example citylearn_backtest [-- hourly]`

use std::path::PathBuf;

use forecast::backtest::{backtest, BacktestConfig, Origins};
use forecast::calendar::{Calendar, Holidays};
use forecast::demand::input::{load, InputSpec};
use forecast::table::{ReadOptions, TimeTable};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("citylearn_2022_phase_1");
    let hourly = std::env::args().any(|a| a == "hourly");
    let mut weather = TimeTable::read(&dir.join("weather.csv"), ReadOptions::default())?;
    for b in 1..=5 {
        let mut history = TimeTable::read(&dir.join("buildings.csv"), ReadOptions::default())?;
        let spec = InputSpec {
            target: format!("Building_{b}_load_kw"),
            temp_column: None,
            solar_columns: Vec::new(),
            calendar: Calendar::new(Holidays::None, Vec::new()),
            nonnegative: true,
        };
        let data = load(&mut history, Some(&mut weather), &spec)?;
        let cfg = BacktestConfig {
            origins: if hourly {
                Origins::Hourly
            } else {
                Origins::Midnight
            },
            ..BacktestConfig::default()
        };
        let t0 = std::time::Instant::now();
        let report = backtest(&data, &cfg, |_, _| {})?;
        println!(
            "Building_{b} ({:.1} s) chosen {}",
            t0.elapsed().as_secs_f64(),
            report.chosen_model
        );
        for m in &report.models {
            println!(
                "  {:<15} mae {:.3} rmse {:.3} nrmse {:.3} skill {:+.3} cov80 {:.3}",
                m.name, m.mae, m.rmse, m.nrmse, m.skill, m.coverage_80
            );
        }
    }
    Ok(())
}
