//! `aems scenario generate`: the Kashiwanoha reference district (`scenarios::generate`), or
//! with `--buildings N` a seeded synthetic district of N buildings (`scenarios::district`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::{DateTime, FixedOffset};
use clap::Args as ClapArgs;

use scenarios::district::{self, DistrictOptions};
use scenarios::generate::{self, Options};

/// Arguments of `aems scenario generate`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "With --buildings N: a synthetic district for benchmarks instead (hub \
    and N offices, shops, hotels, homes with PV, batteries, HVAC, gas engines; model and \
    assumptions in scenarios/src/district.rs), e.g. `--buildings 100 --steps 288 --out d100`"
)]
pub struct Args {
    /// Where to write scenario.toml and series.csv [default: scenarios/kashiwanoha; with
    /// --buildings: target/district-<N>x<STEPS>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The fiscal year (April to March) of the reference district [default: 2025].
    #[arg(long, conflicts_with = "buildings")]
    pub fiscal_year: Option<i32>,
    /// Random seed (weather, noise; with --buildings also the district's layout).
    #[arg(long, default_value_t = district::DEFAULT_SEED)]
    pub seed: u64,
    /// Write a synthetic district of N buildings (1–1000) instead of the reference district.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub buildings: Option<usize>,
    /// Steps of the synthetic district [default: 288].
    #[arg(long, requires = "buildings", allow_hyphen_values = true)]
    pub steps: Option<usize>,
    /// Step length of the synthetic district, minutes: 60 or a divisor of 30 [default: 5].
    #[arg(long, requires = "buildings", allow_hyphen_values = true)]
    pub step_minutes: Option<u32>,
    /// First step of the synthetic district, RFC 3339, on a 30-minute boundary
    /// [default: 2025-08-05T00:00:00+09:00].
    #[arg(long, requires = "buildings", value_parser = DateTime::parse_from_rfc3339)]
    pub start: Option<DateTime<FixedOffset>>,
}

/// Runs the generator.
pub fn run(args: &Args) -> Result<ExitCode> {
    if let Some(buildings) = args.buildings {
        let steps = args.steps.unwrap_or(district::DEFAULT_STEPS);
        let opts = DistrictOptions {
            buildings,
            steps,
            step_minutes: args.step_minutes.unwrap_or(district::DEFAULT_STEP_MINUTES),
            start: args.start.unwrap_or_else(district::default_start),
            seed: args.seed,
            out: (args.out.clone())
                .unwrap_or_else(|| format!("target/district-{buildings}x{steps}").into()),
        };
        if let Err(e) = opts.check() {
            bail!("--{}: {}", e.option.replace('_', "-"), e.reason);
        }
        let g = district::generate(&opts)?;
        let (toml, csv) = (g.scenario.display(), g.series.display());
        println!("wrote {toml} and {csv}: {g}");
        return Ok(ExitCode::SUCCESS);
    }
    let fiscal_year = args.fiscal_year.unwrap_or(2025);
    if generate::fiscal_year(fiscal_year).is_none() {
        bail!("--fiscal-year {fiscal_year}: not a year");
    }
    let g = generate::generate(&Options {
        out: (args.out.clone()).unwrap_or_else(|| "scenarios/kashiwanoha".into()),
        fiscal_year,
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
