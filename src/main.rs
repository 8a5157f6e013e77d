//! `aems`: the command line of the Area Energy Management System.
//!
//! `aems optimize SCENARIO.toml` solves a district's dispatch; `aems forecast pv …` models
//! PV output from weather; see `aems --help`.

mod alloc;
mod devices;
mod forecast;
mod optimize;
mod resilience;
mod run;
mod scenario_cmd;
mod simulate;
mod sweep;

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
    /// Closed-loop simulation over a long period (a year at 15–60 min steps) with a
    /// controller — `mpc` (receding horizon with forecasts), `rule`, `none` (the baseline)
    /// or `oracle` (the whole period at once, perfect foresight) — and its KPIs against
    /// the baseline, time series (CSV/Parquet) and HTML report.
    Simulate(simulate::Args),
    /// What-if sweeps: every combination of `--set KEY=V1,V2,…` simulated in parallel (one
    /// row of parameters and KPIs per run, CSV/Parquet, cost-vs-CO2 Pareto chart);
    /// `--shard I/N` for batch schedulers, `--merge` to join the shards.
    Sweep(sweep::Args),
    /// Make scenarios: `import-citylearn` (the CityLearn 2022 data), `generate` (the
    /// Kashiwanoha reference district, or `--buildings N` synthetic buildings).
    #[command(subcommand)]
    Scenario(scenario_cmd::ScenarioCommand),
    /// The islanded plan for a grid outage: how long each building's lifeline, critical,
    /// normal and sheddable loads are carried from the batteries, PV and emergency
    /// generators, and where and why they are shed; `--sweep-starts` for every start of
    /// the year.
    Resilience(resilience::Args),
    /// Hash an operator's token or password for `aems run`'s settings
    /// (`[[operator.user]] token_hash` / `password_hash`): reads the secret from stdin (one
    /// line), prints its argon2id PHC hash. The secret itself is never stored.
    HashSecret,
}

/// Logs (every write, transport errors, each cycle) on stderr; `RUST_LOG` overrides the
/// level.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttc=warn,tokio_modbus=warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

fn hash_secret() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let secret = line.trim_end_matches(['\r', '\n']);
    if secret.len() < 12 {
        anyhow::bail!(
            "the secret on stdin is {} characters: use at least 12",
            secret.len()
        );
    }
    println!(
        "{}",
        operator::credentials::hash_secret(secret).map_err(anyhow::Error::msg)?
    );
    Ok(ExitCode::SUCCESS)
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
        Command::Simulate(args) => simulate::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Scenario(cmd) => scenario_cmd::run(&cmd),
        Command::Resilience(args) => resilience::run(&args),
        Command::HashSecret => hash_secret(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
