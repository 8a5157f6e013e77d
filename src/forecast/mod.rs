//! `aems forecast`: forecasts from weather and history, one subcommand per kind.

pub mod pv;

use std::process::ExitCode;

use clap::Subcommand;

/// The `aems forecast` subcommands.
#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// PV output of an array from a weather CSV (NREL SPA, Erbs, Hay-Davies, Faiman,
    /// PVWatts), optionally corrected by factors learned from measured PV history.
    ///
    /// Exit codes: 0 written, 1 bad input (the message names file, line and column).
    Pv(pv::Args),
}

/// Runs an `aems forecast` subcommand.
pub fn run(cmd: &ForecastCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ForecastCommand::Pv(args) => pv::run(args),
    }
}
