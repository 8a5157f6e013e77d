//! `aems forecast`: forecasts from weather and history, one subcommand per kind.

pub mod backtest;
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
    /// Rolling-origin backtest of the demand models on a history file: forecasts made at
    /// each midnight and at each hour for the next 24 h, models refitted on past data only.
    /// Prints MAE, RMSE, nRMSE, MAPE, skill against the 24-h naive forecast and 80 %
    /// interval coverage per model, and the model chosen (lowest RMSE).
    ///
    /// Exit codes: 0 done, 1 bad input (the message names file, line and column).
    Backtest(backtest::Args),
}

/// Runs an `aems forecast` subcommand.
pub fn run(cmd: &ForecastCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ForecastCommand::Pv(args) => pv::run(args),
        ForecastCommand::Backtest(args) => backtest::run(args),
    }
}
