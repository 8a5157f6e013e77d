//! `aems forecast backtest`: rolling-origin backtest of the demand models on a history
//! file, as a table or one JSON object.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, ValueEnum};
use serde_json::{json, Value};

use forecast::backtest::{backtest, BacktestConfig, BacktestReport, Origins};
use forecast::calendar::{japanese_closed_days, Calendar, ClosedPeriod, Holidays};
use forecast::demand::input::{read, InputSpec};
use forecast::demand::ModelKind;

/// Arguments of `aems forecast backtest`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// History CSV: a `time` column (RFC 3339 with offset) and the target column.
    #[arg(long, value_name = "FILE.csv")]
    pub history: PathBuf,
    /// The column to forecast (load, kW).
    #[arg(long, value_name = "COLUMN")]
    pub target: String,
    /// Weather CSV joined on `time`; its `{L}h_forecast_{name}` columns are used as the
    /// weather forecasts (without them, observed weather = perfect foresight, reported as
    /// such). Default: weather columns of the history file, if any.
    #[arg(long, value_name = "FILE.csv")]
    pub weather: Option<PathBuf>,
    /// Temperature column (default: the first of temp_c, temp_air_c, outdoor_temp_c, t_out,
    /// temperature_c).
    #[arg(long, value_name = "COLUMN")]
    pub temp_column: Option<String>,
    /// Irradiance column(s), summed (default: ghi_w_m2, else diffuse_w_m2 + direct_w_m2).
    #[arg(long, value_name = "COLUMN")]
    pub solar_column: Vec<String>,
    /// National holidays of the site.
    #[arg(long, value_enum, default_value_t = HolidaysArg::Japan)]
    pub holidays: HolidaysArg,
    /// Closed days counted as holidays, `MM-DD..MM-DD` or `MM-DD`, repeatable (default with
    /// Japanese holidays: New Year 12-29..01-03 and Obon 08-13..08-16).
    #[arg(long, value_name = "MM-DD..MM-DD")]
    pub closed: Vec<String>,
    /// No closed days at all.
    #[arg(long, conflicts_with = "closed")]
    pub no_closed_days: bool,
    /// When forecasts are made: at each midnight, at each hour, or both (default).
    #[arg(long, value_enum, default_value_t = OriginsArg::Both)]
    pub origins: OriginsArg,
    /// Models to compare, comma-separated (naive_24h, the skill reference, always runs).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "seasonal_naive,ridge,gbt,ensemble"
    )]
    pub models: Vec<String>,
    /// Refit every model every this many days.
    #[arg(long, default_value_t = 7)]
    pub refit_days: usize,
    /// Longest run of missing rows or values filled by linear interpolation.
    #[arg(long, default_value_t = 4)]
    pub max_gap_steps: usize,
    /// Accept negative target values (net loads).
    #[arg(long)]
    pub allow_negative: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--holidays` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HolidaysArg {
    /// Japanese national holidays with substitute and citizens' holidays.
    Japan,
    /// No national holidays.
    None,
}

/// `--origins` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OriginsArg {
    /// Forecasts made at each midnight for the next 24 h.
    Midnight,
    /// Forecasts made at each hour for the next 24 h.
    Hourly,
    /// Both.
    Both,
}

fn scores_json(r: &BacktestReport) -> Value {
    json!({
        "chosen_model": r.chosen_model,
        "models": r.models.iter().map(|m| json!({
            "name": m.name,
            "mae": m.mae,
            "rmse": m.rmse,
            "nrmse": m.nrmse,
            "mape": m.mape,
            "skill": m.skill,
            "coverage_80": m.coverage_80,
            "n": m.n,
        })).collect::<Vec<_>>(),
        "forecasts": r.forecasts,
        "period": [r.period.0, r.period.1],
        "weather": r.weather,
    })
}

fn print_table(target: &str, r: &BacktestReport) {
    let when = match r.origins {
        Origins::Midnight => "made at each midnight",
        Origins::Hourly => "made at each hour",
    };
    println!(
        "{target}: 24-h forecasts {when}, {} origins from {} to {}",
        r.forecasts, r.period.0, r.period.1
    );
    println!("weather: {}", r.weather);
    println!(
        "{:<16}{:>9}{:>9}{:>8}{:>8}{:>8}{:>10}",
        "model", "MAE", "RMSE", "nRMSE", "MAPE", "skill", "cover80"
    );
    for m in &r.models {
        let mape = m
            .mape
            .map(|v| format!("{:.0}%", 100.0 * v))
            .unwrap_or("-".into());
        let mark = if m.name == r.chosen_model { " *" } else { "" };
        println!(
            "{:<16}{:>9.3}{:>9.3}{:>8.3}{:>8}{:>8.3}{:>9.1}%{mark}",
            m.name,
            m.mae,
            m.rmse,
            m.nrmse,
            mape,
            m.skill,
            100.0 * m.coverage_80
        );
    }
    println!("chosen (lowest RMSE): {}", r.chosen_model);
}

/// Runs `aems forecast backtest`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let models = args
        .models
        .iter()
        .map(|name| {
            ModelKind::parse(name.trim()).with_context(|| {
                format!(
                    "--models: unknown model '{name}' (known: {})",
                    ModelKind::ALL.map(|m| m.name()).join(", ")
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if args.refit_days == 0 {
        bail!("--refit-days must be at least 1");
    }
    let closed = if args.no_closed_days {
        Vec::new()
    } else if !args.closed.is_empty() {
        args.closed
            .iter()
            .map(|c| ClosedPeriod::parse(c).map_err(|e| anyhow::anyhow!("--closed: {e}")))
            .collect::<Result<Vec<_>>>()?
    } else if matches!(args.holidays, HolidaysArg::Japan) {
        japanese_closed_days()
    } else {
        Vec::new()
    };
    let holidays = match args.holidays {
        HolidaysArg::Japan => Holidays::Japan,
        HolidaysArg::None => Holidays::None,
    };
    let spec = InputSpec {
        target: args.target.clone(),
        temp_column: args.temp_column.clone(),
        solar_columns: args.solar_column.clone(),
        calendar: Calendar::new(holidays, closed),
        nonnegative: !args.allow_negative,
        max_gap_steps: args.max_gap_steps,
    };
    let (data, report) = read(&args.history, args.weather.as_deref(), &spec)?;
    let filled = report.interpolated();
    if filled > 0 {
        eprintln!("note: {filled} missing value(s) filled by linear interpolation");
    }
    let modes: Vec<Origins> = match args.origins {
        OriginsArg::Midnight => vec![Origins::Midnight],
        OriginsArg::Hourly => vec![Origins::Hourly],
        OriginsArg::Both => vec![Origins::Midnight, Origins::Hourly],
    };
    let mut reports = Vec::new();
    for mode in modes {
        let cfg = BacktestConfig {
            origins: mode,
            models: models.clone(),
            refit_days: args.refit_days,
            nonnegative: !args.allow_negative,
            ..BacktestConfig::default()
        };
        let label = match mode {
            Origins::Midnight => "midnight origins",
            Origins::Hourly => "hourly origins",
        };
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>16} [{bar:30}] {pos}/{len} forecasts, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(label);
        let report = backtest(&data, &cfg, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.history.display()))?;
        bar.finish_and_clear();
        reports.push(report);
    }
    if args.json {
        let mut out = scores_json(&reports[0]);
        if let Some(obj) = out.as_object_mut() {
            obj.insert("target".into(), json!(args.target));
            obj.insert("origins".into(), json!(reports[0].origins));
            if let Some(hourly) = reports.get(1) {
                obj.insert("hourly".into(), scores_json(hourly));
            }
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, r) in reports.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_table(&args.target, r);
        }
    }
    Ok(ExitCode::SUCCESS)
}
