//! `aems scenario generate`: the Kashiwanoha reference district (`scenarios::generate`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;

use scenarios::generate::{self, Options};

/// Arguments of `aems scenario generate`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Where to write scenario.toml and series.csv.
    #[arg(long, default_value = "scenarios/kashiwanoha")]
    pub out: PathBuf,
    /// The fiscal year (April to March) to generate.
    #[arg(long, default_value_t = 2025)]
    pub fiscal_year: i32,
    /// Random seed (weather, noise).
    #[arg(long, default_value_t = 2014)]
    pub seed: u64,
}

/// Runs the generator.
pub fn run(args: &Args) -> Result<ExitCode> {
    if generate::fiscal_year(args.fiscal_year).is_none() {
        bail!("--fiscal-year {}: not a year", args.fiscal_year);
    }
    let g = generate::generate(&Options {
        out: args.out.clone(),
        fiscal_year: args.fiscal_year,
        seed: args.seed,
    })?;
    println!(
        "wrote {} and {} ({} steps of 30 min from {})",
        g.scenario.display(),
        g.series.display(),
        g.steps,
        g.start.to_rfc3339()
    );
    Ok(ExitCode::SUCCESS)
}
