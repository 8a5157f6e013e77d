//! `aems scenario …`: making scenarios — `import-citylearn` (the CityLearn 2022 data as a
//! scenario) and `generate` (the Kashiwanoha reference district from documented facts, or a
//! synthetic district of any size).

pub mod citylearn;
pub mod generate;

use std::process::ExitCode;

use clap::Subcommand;

/// The `aems scenario` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Turn the CityLearn 2022 phase-1 data (five homes, hourly, one year, PV and
    /// batteries; each home its own meter, exports allowed but unpaid) into a scenario.
    ImportCitylearn(citylearn::Args),
    /// Generate the Kashiwanoha (Gate Square-like) reference district for a full year from
    /// the documented facts in `scenarios/kashiwanoha/README.md`, or with `--buildings N` a
    /// synthetic district of N buildings (benchmarks).
    Generate(generate::Args),
}

/// Runs an `aems scenario` subcommand.
pub fn run(cmd: &ScenarioCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ScenarioCommand::ImportCitylearn(args) => citylearn::run(args),
        ScenarioCommand::Generate(args) => generate::run(args),
    }
}
