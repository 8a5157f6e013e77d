//! `aems`: the command line of the Area Energy Management System.
//!
//! `aems optimize SCENARIO.toml` solves a district's dispatch; `aems forecast pv …` models
//! PV output from weather; see `aems --help`.

mod devices;
mod forecast;
mod optimize;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Area Energy Management System: optimal dispatch of a district's batteries, HVAC,
/// generators and private lines against energy prices, the 30-minute demand charge and
/// a CO2 price.
#[derive(Debug, Parser)]
#[command(name = "aems", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Solve the dispatch of a scenario (TOML + CSV) and report the optimum.
    ///
    /// Exit codes: 0 optimal (or the best schedule at the time limit), 1 bad input or
    /// internal error, 2 infeasible, 3 unbounded, 4 no solution within the time limit.
    Optimize(optimize::Args),
    /// Forecasts from weather and history (`aems forecast pv …`).
    #[command(subcommand)]
    Forecast(forecast::ForecastCommand),
    /// Device connectors: `simulate` devices over Modbus TCP/MQTT, `read` telemetry,
    /// `write` one safe setpoint (`aems devices … --help`).
    #[command(subcommand)]
    Devices(devices::Cmd),
    /// The live control loop: every few minutes read telemetry, forecast, re-optimise and
    /// send setpoints, with a SQLite history and an HTTP interface (`aems run --help`).
    Run(run::Args),
}

fn main() -> ExitCode {
    // Usage errors exit 1 like every other bad input (2 means infeasible).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Optimize(args) => optimize::run(&args),
        Command::Forecast(cmd) => forecast::run(&cmd),
        Command::Devices(cmd) => devices::run(&cmd),
        Command::Run(args) => run::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
