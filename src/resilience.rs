//! `aems resilience`: the islanded plan for a grid outage and its figures, or the
//! autonomy over every outage start of the year (`--sweep-starts`). The planning and the
//! figures are `engine::resilience`; the report is `whatif::resilience`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, FixedOffset};
use clap::Args as ClapArgs;

use engine::resilience::{figures, plan, sweep, sweep_starts, OutageRequest};
use engine::{ScenarioFile, SolveOptions};

use whatif::resilience::{assessment_text, sweep_text};

/// Arguments of `aems resilience`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  aems resilience scenarios/kashiwanoha/scenario.toml --outage-from 2025-08-06T12:00:00+09:00 --hours 72
  aems resilience scenarios/kashiwanoha/scenario.toml --outage-from 2025-04-01T12:00:00+09:00 --hours 72 \\
      --sweep-starts --every-hours 24 --report resilience.html

The plan takes the loads and PV over the outage as known (the scenario's series) and
every battery at its initial_kwh (or --battery-soc); the output says so. Load classes,
emergency generators, fuel stocks and emergency lines come from the scenario
(docs/extensions.md, Resilience).")]
pub struct Args {
    /// Scenario TOML file (its series CSV is read from beside it).
    pub scenario: PathBuf,
    /// When the grid is lost: an RFC 3339 time of a row of the series (the first start of
    /// a sweep, whose starts keep its time of day).
    #[arg(long, value_name = "TIME")]
    pub outage_from: String,
    /// How long the outage lasts, hours (up to 168).
    #[arg(
        long,
        value_name = "H",
        default_value_t = 72.0,
        allow_negative_numbers = true
    )]
    pub hours: f64,
    /// A grid connection lost (repeatable; default: every connection).
    #[arg(long = "grid", value_name = "ID")]
    pub grids: Vec<String>,
    /// Every battery's state of charge when the grid is lost, as a share of max_kwh
    /// (default: the scenario's initial_kwh).
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub battery_soc: Option<f64>,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
    /// Write the islanded schedule to this CSV (one row per step; unserved load per class).
    #[arg(long, value_name = "FILE.csv")]
    pub schedule: Option<PathBuf>,
    /// Plan an outage starting at every --every-hours over the whole series (in parallel)
    /// and report the worst and the typical start.
    #[arg(long)]
    pub sweep_starts: bool,
    /// Hours between a sweep's starts (24: every day at --outage-from's time of day).
    #[arg(
        long,
        value_name = "H",
        default_value_t = 24.0,
        allow_negative_numbers = true
    )]
    pub every_hours: f64,
    /// Write the sweep's HTML report (served share against outage start, as a chart).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the sweep's table (one row per start) to this CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub table: Option<PathBuf>,
    /// Stop each solve after this many seconds with the best plan found.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub time_limit_s: Option<f64>,
}

/// Longest outage planned: a week (the 72 h with room to spare).
const MAX_HOURS: f64 = 168.0;

/// Runs `aems resilience`.
pub fn run(args: &Args) -> Result<ExitCode> {
    if !(args.hours > 0.0 && args.hours <= MAX_HOURS) {
        bail!("--hours {}: must be within (0, {MAX_HOURS}]", args.hours);
    }
    if let Some(t) = args.time_limit_s {
        if t.is_nan() || t <= 0.0 {
            bail!("--time-limit-s must be positive, got {t}");
        }
    }
    if !args.sweep_starts && (args.report.is_some() || args.table.is_some()) {
        bail!("--report and --table describe a sweep: add --sweep-starts");
    }
    let from = DateTime::parse_from_rfc3339(&args.outage_from).with_context(|| {
        format!(
            "--outage-from '{}' is not an RFC 3339 time with offset (e.g. 2025-08-06T12:00:00+09:00)",
            args.outage_from
        )
    })?;
    let file = ScenarioFile::read(&args.scenario)?;
    let req = OutageRequest {
        from,
        hours: args.hours,
        grids: args.grids.clone(),
        battery_soc: args.battery_soc,
    };
    let opts = SolveOptions {
        time_limit_s: args.time_limit_s,
        ..SolveOptions::default()
    };
    if args.sweep_starts {
        return run_sweep(args, &file, &req, &opts);
    }
    let (sc, outcome) = plan(&file, &req, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = figures(&file, &req, &sc, &outcome).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let (Some(path), Some(s)) = (&args.schedule, &outcome.schedule) {
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        s.write_csv(&sc, std::io::BufWriter::new(f))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        print!("{}", assessment_text(&a));
    }
    Ok(if a.objective_yen.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn run_sweep(
    args: &Args,
    file: &ScenarioFile,
    req: &OutageRequest,
    opts: &SolveOptions,
) -> Result<ExitCode> {
    // The first start: --outage-from's time of day, as early in the series as it goes.
    let times = file.table().times();
    let Some(&first_row) = times.first() else {
        bail!("{}: the series has no rows", args.scenario.display());
    };
    let every = Duration::minutes((args.every_hours * 60.0).round() as i64);
    if every <= Duration::zero() {
        bail!("--every-hours {}: must be positive", args.every_hours);
    }
    let mut first: DateTime<FixedOffset> = req.from;
    while first - every >= first_row {
        first -= every;
    }
    let starts = sweep_starts(file, first, args.every_hours, args.hours)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if starts.is_empty() {
        bail!(
            "{}: no outage start leaves {} h of series (every {} h from {})",
            args.scenario.display(),
            args.hours,
            args.every_hours,
            first.to_rfc3339()
        );
    }
    let total = starts.len();
    eprintln!(
        "resilience sweep: {total} outage starts of {} h, every {} h from {}",
        args.hours,
        args.every_hours,
        first.to_rfc3339()
    );
    let step = (total / 20).max(1);
    let progress = move |done: usize| {
        if done % step == 0 || done == total {
            eprintln!("  {done}/{total} starts planned");
        }
    };
    let sw = sweep(file, &starts, req, opts, &progress).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = &args.report {
        whatif::resilience::write_report(path, file, &sw)?;
        eprintln!("report: {}", path.display());
    }
    if let Some(path) = &args.table {
        whatif::resilience::write_table(path, &sw)?;
        eprintln!("table: {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sw)?);
    } else {
        print!("{}", sweep_text(&sw));
    }
    Ok(ExitCode::SUCCESS)
}
