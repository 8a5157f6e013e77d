//! `aems scenario import-citylearn DIR`: the CityLearn 2022 phase-1 data set as a scenario
//! (`scenarios::citylearn`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;

use scenarios::citylearn::{self, Options};

/// Arguments of `aems scenario import-citylearn`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The data folder (buildings.csv, buildings.json, weather.csv, pricing.csv, carbon.csv).
    pub dir: PathBuf,
    /// Where to write scenario.toml and series.csv.
    #[arg(long, default_value = "scenarios/citylearn")]
    pub out: PathBuf,
    /// Yen per US dollar for the prices.
    #[arg(long, default_value_t = 150.0)]
    pub usd_to_yen: f64,
    /// The objective's carbon price, yen/kg (0: cost alone). Default: the benchmark's
    /// balance of cost and CO2, the homes' mean of baseline yen per baseline kg.
    #[arg(long)]
    pub carbon_price_yen_per_kg: Option<f64>,
}

/// Runs the import.
pub fn run(args: &Args) -> Result<ExitCode> {
    if args.usd_to_yen.is_nan() || args.usd_to_yen <= 0.0 {
        bail!("--usd-to-yen must be positive");
    }
    let i = citylearn::import(&Options {
        dir: args.dir.clone(),
        out: args.out.clone(),
        usd_to_yen: args.usd_to_yen,
        carbon_price_yen_per_kg: args.carbon_price_yen_per_kg,
    })?;
    println!(
        "wrote {} and {} ({} homes, {} hourly steps from {}; carbon price {:.2} yen/kg)",
        i.scenario.display(),
        i.series.display(),
        i.homes,
        i.steps,
        i.start.to_rfc3339(),
        i.carbon_price_yen_per_kg
    );
    Ok(ExitCode::SUCCESS)
}
