//! `aems simulate`: the command line of the what-if — the controller against the plant over
//! a period (`control::simulation`), its KPIs against the baseline, time series and report.

pub mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args as ClapArgs, ValueEnum};
use serde_json::{json, Value};

use control::simulation::{self, ForecastChoice, Outcome, Run, RunOptions, Setup};
use control::Terminal;
use engine::kpi::KpiSet;
use engine::{Scenario, ScenarioFile, Schedule};
use forecast::demand::ModelKind;

/// `--controller` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ControllerArg {
    /// Receding-horizon optimisation with forecasts.
    Mpc,
    /// Rule-based: PV surplus into batteries; peak shaving where a demand charge applies,
    /// else discharge at dear hours.
    Rule,
    /// No AEMS: batteries idle, HVAC on its thermostat, generators off (the baseline).
    None,
    /// The whole period solved at once with perfect foresight: the best achievable.
    Oracle,
}

/// `--forecast` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForecastArg {
    /// The actual series.
    Perfect,
    /// The same slot one day before.
    Naive,
    /// The forecast crate's models, trained on past data only.
    Model,
}

/// Arguments of `aems simulate`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = "\
The scenario's optional [simulation] section sets defaults (horizon_hours, replan_hours,
terminal, holidays, weather_temp_column, weather_solar_columns, demand_ratchet_months,
mip_gap, batteries_follow_meter, peak_guard) and [kpi] the zero-carbon base year
(base_year, base_year_co2_kg, target_year, target_reduction); see docs/simulate.md.

Every decision uses only what was measured by the start of its step and forecasts issued
then; what a run takes from the actual future (perfect forecasts, weather without
forecast columns, tariffs) is listed in its output.

Examples:
  aems simulate scenarios/kashiwanoha/scenario.toml --from 2025-07-01 --to 2025-08-01 \\
      --controller mpc --forecast model --report report/ --timeseries july.parquet
  aems simulate citylearn/scenario.toml --controller oracle --json")]
pub struct Args {
    /// Scenario TOML (its series CSV beside it holds the whole period).
    pub scenario: PathBuf,
    /// The period, the controller and its settings.
    #[command(flatten)]
    pub run: RunArgs,
    /// Skip the baseline run (KPIs then have no savings).
    #[arg(long)]
    pub no_baseline: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write every decision per asset and step: `.csv` or `.parquet`.
    #[arg(long, value_name = "FILE")]
    pub timeseries: Option<PathBuf>,
    /// Write an HTML report with charts into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Do not show progress.
    #[arg(long)]
    pub quiet: bool,
}

/// The period, the controller and its settings: shared by `aems simulate` and `aems sweep`.
#[derive(Debug, Clone, ClapArgs)]
pub struct RunArgs {
    /// First step (RFC 3339, or YYYY-MM-DD for midnight in the scenario's offset); default:
    /// the scenario's start.
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive (same forms); default: the end of the series CSV.
    #[arg(long)]
    pub to: Option<String>,
    /// Who decides.
    #[arg(long, value_enum, default_value_t = ControllerArg::Mpc)]
    pub controller: ControllerArg,
    /// What the MPC controller knows of the future.
    #[arg(long, value_enum, default_value_t = ForecastArg::Model)]
    pub forecast: ForecastArg,
    /// The model behind `--forecast model`: ridge, gbt, ensemble, seasonal_naive.
    #[arg(long, default_value = "ridge")]
    pub model: String,
    /// Planning horizon, hours (default: the scenario's [simulation] or 24).
    #[arg(long)]
    pub horizon_hours: Option<f64>,
    /// Hours between replans (default: [simulation] or 1).
    #[arg(long)]
    pub replan_hours: Option<f64>,
    /// Battery energy at each plan's end: initial or free (default: [simulation] or initial).
    #[arg(long, value_parser = parse_terminal)]
    pub terminal: Option<Terminal>,
    /// Relative MIP gap of each plan (default: [simulation] or 1e-6).
    #[arg(long)]
    pub mip_gap: Option<f64>,
}

impl RunArgs {
    /// The library's options.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            from: self.from.clone(),
            to: self.to.clone(),
            horizon_hours: self.horizon_hours,
            replan_hours: self.replan_hours,
            terminal: self.terminal,
            mip_gap: self.mip_gap,
        }
    }

    /// The run the command line asks for.
    pub fn run(&self) -> Result<Run> {
        Ok(match self.controller {
            ControllerArg::Mpc => Run::Mpc(match self.forecast {
                ForecastArg::Perfect => ForecastChoice::Perfect,
                ForecastArg::Naive => ForecastChoice::Naive,
                ForecastArg::Model => {
                    ForecastChoice::Model(ModelKind::parse(&self.model).ok_or_else(|| {
                        anyhow!(
                            "--model: '{}' is not one of ridge, gbt, ensemble, seasonal_naive",
                            self.model
                        )
                    })?)
                }
            }),
            ControllerArg::Rule => Run::Rule,
            ControllerArg::None => Run::None,
            ControllerArg::Oracle => Run::Oracle,
        })
    }
}

fn parse_terminal(s: &str) -> Result<Terminal, String> {
    match s {
        "initial" => Ok(Terminal::Initial),
        "free" => Ok(Terminal::Free),
        _ => Err(format!("'{s}' is not initial or free")),
    }
}

/// A progress bar for `label` (hidden with `quiet`).
pub fn progress_bar(label: &str, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>14} [{bar:30}] {pos}/{len} steps, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

fn kpi_json(k: &KpiSet) -> Value {
    serde_json::to_value(k).unwrap_or(Value::Null)
}

/// The JSON of a run and its baseline.
pub fn outcome_json(setup: &Setup, run: Run, out: &Outcome, baseline: Option<&Outcome>) -> Value {
    let sc = setup.period();
    let mut v = json!({
        "scenario": setup.file.path().display().to_string(),
        "controller": run.label(),
        "period": [sc.times[0].to_rfc3339(), sc.times[sc.steps - 1].to_rfc3339()],
        "steps": sc.steps,
        "step_minutes": sc.step_minutes,
        "horizon_steps": setup.horizon,
        "replan_steps": setup.replan,
        "perfect_information": out.information.perfect,
        "known_in_advance": out.information.known_in_advance,
        "plant": { "batteries_follow_meter": setup.batteries_follow_meter },
        "district": kpi_json(&out.kpis.district),
        "buildings": out.kpis.buildings.iter().map(|(id, k)| (id.clone(), kpi_json(k))).collect::<serde_json::Map<_, _>>(),
        "billed_kw": out.kpis.billed_kw.iter().map(|(g, m, kw)| json!({"grid": g, "month": m, "kw": kw})).collect::<Vec<_>>(),
        "solver": {
            "solves": out.stats.solves,
            "fallbacks": out.stats.fallbacks,
            "solve_seconds": out.stats.solve_seconds,
            "naive_forecast_fallbacks": out.forecast_fallbacks,
            "first_failure": out.stats.first_failure,
            "peak_guards": out.stats.peak_guards,
        },
        "seconds": out.seconds,
    });
    if let Some(b) = baseline {
        let (d, bd) = (&out.kpis.district, &b.kpis.district);
        v["baseline"] = json!({ "controller": "none", "district": kpi_json(bd) });
        v["savings"] = json!({
            "cost_yen": bd.cost_yen - d.cost_yen,
            "co2_kg": bd.co2_kg - d.co2_kg,
            "cost_ratio": d.cost_yen / bd.cost_yen,
            "co2_ratio": d.co2_kg / bd.co2_kg,
            "peak_kw": bd.peak_kw - d.peak_kw,
        });
    }
    if let Some(t) = setup.target() {
        v["zero_carbon"] = json!({
            "base_year": t.base_year,
            "base_year_co2_kg": t.base_year_co2_kg,
            "target_year": t.target_year,
            "target_reduction": t.target_reduction,
            "years": t.years(&out.kpis.co2_by_fiscal_year),
        });
    }
    v
}

/// The lines saying what a run took as known.
pub fn information_lines(setup: &Setup, out: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    if !out.information.perfect.is_empty() {
        v.push(format!(
            "perfect information (actual future values): {}",
            out.information.perfect.join(", ")
        ));
    }
    v.push(format!(
        "known in advance (tariffs and schedules): {}",
        out.information.known_in_advance.join(", ")
    ));
    if setup.batteries_follow_meter {
        v.push(
            "plant: batteries follow their meters within each step (batteries_follow_meter)".into(),
        );
    }
    v
}

fn print_tables(setup: &Setup, run: Run, out: &Outcome, baseline: Option<&Outcome>) {
    let sc = setup.period();
    println!(
        "{}: {} over {} steps × {} min from {} ({:.1} s; {} solves, {} fallbacks)",
        sc.name,
        run.label(),
        sc.steps,
        sc.step_minutes,
        sc.times[0].to_rfc3339(),
        out.seconds,
        out.stats.solves,
        out.stats.fallbacks
    );
    for l in information_lines(setup, out) {
        println!("{l}");
    }
    if let Some(f) = &out.stats.first_failure {
        println!("first failed plan: {f}");
    }
    if out.stats.peak_guards > 0 {
        println!(
            "peak guard: the batteries held {} steps below a new peak the plan did not intend",
            out.stats.peak_guards
        );
    }
    let d = &out.kpis.district;
    let b = baseline.map(|b| &b.kpis.district);
    println!();
    println!(
        "{:<28}{:>16}{:>16}{:>16}",
        "district",
        run.label(),
        "baseline",
        "change"
    );
    let row = |name: &str, v: f64, bv: Option<f64>| match bv {
        Some(bv) => println!("{name:<28}{v:>16.1}{bv:>16.1}{:>16.1}", v - bv),
        None => println!("{name:<28}{v:>16.1}"),
    };
    let rows: [(&str, fn(&KpiSet) -> f64); 19] = [
        ("cost (yen)", |k| k.cost_yen),
        ("  energy (yen)", |k| k.energy_yen),
        ("  demand charge (yen)", |k| k.demand_yen),
        ("  fuel (yen)", |k| k.fuel_yen),
        ("  start-ups (yen)", |k| k.startup_yen),
        ("  degradation (yen)", |k| k.degradation_yen),
        ("  comfort (yen)", |k| k.comfort_yen),
        ("  carbon (yen)", |k| k.carbon_yen),
        ("peak 30-min (kW)", |k| k.peak_kw),
        ("import (kWh)", |k| k.import_kwh),
        ("export (kWh)", |k| k.export_kwh),
        ("CO2 (kg)", |k| k.co2_kg),
        ("PV self-consumption (%)", |k| 100.0 * k.pv_self_consumption),
        ("self-sufficiency (%)", |k| 100.0 * k.self_sufficiency),
        ("comfort violation (K·h)", |k| k.comfort_violation_kh),
        ("battery throughput (kWh)", |k| k.battery_throughput_kwh),
        ("battery cycles", |k| k.battery_cycles),
        ("interchange (kWh)", |k| k.interchange_kwh),
        ("losses (kWh)", |k| k.losses_kwh),
    ];
    for (name, f) in rows {
        row(name, f(d), b.map(f));
    }
    if let Some(b) = b {
        println!();
        println!(
            "vs baseline: cost {:.1} % ({:+.0} yen), CO2 {:.1} % ({:+.0} kg)",
            100.0 * d.cost_yen / b.cost_yen,
            d.cost_yen - b.cost_yen,
            100.0 * d.co2_kg / b.co2_kg,
            d.co2_kg - b.co2_kg
        );
    }
    println!();
    println!(
        "{:<16}{:>14}{:>12}{:>12}{:>12}{:>10}{:>10}",
        "building", "cost (yen)", "CO2 (kg)", "peak (kW)", "PV (kWh)", "self-use", "cycles"
    );
    for (id, k) in &out.kpis.buildings {
        println!(
            "{id:<16}{:>14.0}{:>12.0}{:>12.1}{:>12.0}{:>10}{:>10.1}",
            k.cost_yen,
            k.co2_kg,
            k.peak_kw,
            k.pv_used_kwh,
            if k.pv_self_consumption.is_finite() {
                format!("{:.0}%", 100.0 * k.pv_self_consumption)
            } else {
                "-".into()
            },
            k.battery_cycles
        );
    }
    if let Some(t) = setup.target() {
        println!();
        for y in t.years(&out.kpis.co2_by_fiscal_year) {
            println!(
                "FY{}: CO2 {:.0} kg/yr ({}), trajectory {:.0} kg → {}",
                y.fiscal_year,
                y.co2_kg_annualised,
                if y.complete {
                    "full year"
                } else {
                    "annualised"
                },
                y.trajectory_kg,
                if y.on_track { "on track" } else { "off track" }
            );
        }
    }
}

/// Writes `s` over `sc` as CSV or Parquet, by the file's extension.
pub fn write_timeseries(path: &Path, sc: &Scenario, s: &Schedule) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "csv" => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            s.write_csv(sc, std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", path.display()))
        }
        "parquet" => report::write_parquet(path, sc, s),
        _ => bail!(
            "--timeseries {}: use a .csv or .parquet file name",
            path.display()
        ),
    }
}

/// Runs one simulation with a progress bar.
pub fn simulate_with_bar(setup: &Setup, run: Run, label: &str, quiet: bool) -> Result<Outcome> {
    let bar = progress_bar(label, quiet);
    let out = simulation::simulate(setup, run, |d, n| {
        bar.set_length(n as u64);
        bar.set_position(d as u64);
    })?;
    bar.finish_and_clear();
    Ok(out)
}

/// Runs `aems simulate`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let file = ScenarioFile::read(&args.scenario)?;
    let setup = Setup::new(file, &args.run.options())?;
    let run = args.run.run()?;
    let out = simulate_with_bar(&setup, run, &run.label(), args.quiet)?;
    let baseline = if run != Run::None && !args.no_baseline {
        Some(simulate_with_bar(
            &setup,
            Run::None,
            "baseline",
            args.quiet,
        )?)
    } else {
        None
    };
    if let Some(path) = &args.timeseries {
        write_timeseries(path, &setup.period(), &out.realized)?;
    }
    if let Some(dir) = &args.report {
        report::write_report(dir, &setup, run, &out, baseline.as_ref())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome_json(&setup, run, &out, baseline.as_ref()))?
        );
    } else {
        print_tables(&setup, run, &out, baseline.as_ref());
        if let Some(p) = &args.timeseries {
            println!("\ntime series: {}", p.display());
        }
        if let Some(d) = &args.report {
            println!("report: {}", d.join("index.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
