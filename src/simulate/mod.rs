//! `aems simulate`: closed-loop simulation of a district over a long period with a
//! controller (`mpc`, `rule`, `none`, or the perfect-foresight `oracle`), its KPIs against
//! the baseline, time series and report.

pub mod config;
pub mod controller;
pub mod forecaster;
pub mod mpc;
pub mod plant;
pub mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};
use clap::{Args as ClapArgs, ValueEnum};
use serde_json::{json, Value};

use engine::kpi::{self, Billing, KpiSet, Kpis};
use engine::{Scenario, ScenarioFile, Schedule, SolveOptions};
use forecast::demand::ModelKind;

use config::{KpiSection, SimulationSection, Terminal};
use forecaster::{ForecastKind, Forecaster};
use mpc::{Mpc, MpcStats};
use plant::Plant;

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
mip_gap, batteries_follow_meter) and [kpi] the zero-carbon base year (base_year,
base_year_co2_kg, target_year, target_reduction); see the README.

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

fn parse_terminal(s: &str) -> Result<Terminal, String> {
    match s {
        "initial" => Ok(Terminal::Initial),
        "free" => Ok(Terminal::Free),
        _ => Err(format!("'{s}' is not initial or free")),
    }
}

/// A time given on the command line: RFC 3339, or a date at midnight in `offset`.
fn parse_time(text: &str, offset: FixedOffset, what: &str) -> Result<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| anyhow!("--{what}: '{text}' is neither RFC 3339 nor YYYY-MM-DD"))?;
    offset
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .ok_or_else(|| anyhow!("--{what}: '{text}' is not a time in offset {offset}"))
}

/// Everything a simulation needs, resolved.
pub struct Setup {
    /// The scenario file.
    pub file: ScenarioFile,
    /// `[simulation]`.
    pub sim: SimulationSection,
    /// `[kpi]`.
    pub kpi: KpiSection,
    /// The actual series from the first simulated step to the end of the CSV.
    pub actual: Scenario,
    /// CSV row of the first step.
    pub first_row: usize,
    /// Steps simulated.
    pub steps: usize,
    /// Plan length, steps.
    pub horizon: usize,
    /// Steps between replans.
    pub replan: usize,
    /// Battery energy at each plan's end.
    pub terminal: Terminal,
    /// Billing rules.
    pub billing: Billing,
    /// MIP gap of each plan.
    pub mip_gap: f64,
    /// Batteries keep to their meter when exports are unpaid (see [`plant::Plant::new`]).
    pub batteries_follow_meter: bool,
}

impl Setup {
    /// Reads the scenario and resolves the period and settings.
    pub fn new(file: ScenarioFile, args: &RunArgs) -> Result<Self> {
        let sim: SimulationSection = config::section(&file, "simulation")?;
        let kpi: KpiSection = config::section(&file, "kpi")?;
        let table = file.table();
        let offset = *file.start().offset();
        let from = match &args.from {
            Some(f) => parse_time(f, offset, "from")?,
            None => file.start(),
        };
        let first_row = table.row_of(from).ok_or_else(|| {
            anyhow!(
                "--from {}: no row of {} has that time",
                from.to_rfc3339(),
                table.path().display()
            )
        })?;
        let total = table.len() - first_row;
        let steps = match &args.to {
            Some(t) => {
                let to = parse_time(t, offset, "to")?;
                let step_s = i64::from(file.step_minutes()) * 60;
                let span = (to - from).num_seconds();
                if span <= 0 || span % step_s != 0 {
                    bail!(
                        "--to {}: must be a whole number of steps after --from",
                        to.to_rfc3339()
                    );
                }
                let n = (span / step_s) as usize;
                if n > total {
                    bail!(
                        "--to {}: the series CSV ends {} steps after --from",
                        to.to_rfc3339(),
                        total
                    );
                }
                n
            }
            None => total,
        };
        let actual = file.window(from, total)?;
        let path = file.path().to_path_buf();
        let horizon_h = args.horizon_hours.or(sim.horizon_hours).unwrap_or(24.0);
        let replan_h = args.replan_hours.or(sim.replan_hours).unwrap_or(1.0);
        let horizon = config::steps_of(horizon_h, file.step_minutes(), "horizon_hours", &path)?;
        let replan = config::steps_of(replan_h, file.step_minutes(), "replan_hours", &path)?;
        if replan > horizon {
            bail!("replan every {replan_h} h is longer than the {horizon_h} h horizon");
        }
        let mip_gap = args.mip_gap.or(sim.mip_gap).unwrap_or(1e-6);
        let sim_follow = sim.batteries_follow_meter.unwrap_or(true);
        if mip_gap.is_nan() || mip_gap < 0.0 {
            bail!("--mip-gap must be ≥ 0");
        }
        Ok(Self {
            terminal: args.terminal.or(sim.terminal).unwrap_or(Terminal::Initial),
            billing: Billing {
                ratchet_months: sim.demand_ratchet_months.unwrap_or(1),
            },
            file,
            sim,
            kpi,
            actual,
            first_row,
            steps,
            horizon,
            replan,
            mip_gap,
            batteries_follow_meter: sim_follow,
        })
    }

    /// The simulated part of the actual series.
    pub fn period(&self) -> Scenario {
        self.actual.slice(0..self.steps)
    }
}

/// Who decides, with what forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// MPC with forecasts.
    Mpc(ForecastKind),
    /// Rules.
    Rule,
    /// Baseline.
    None,
    /// Whole period at once.
    Oracle,
}

impl Run {
    /// A short label: `mpc/model`, `rule`, `none`, `oracle`.
    pub fn label(self) -> String {
        match self {
            Run::Mpc(ForecastKind::Perfect) => "mpc/perfect".into(),
            Run::Mpc(ForecastKind::Naive) => "mpc/naive".into(),
            Run::Mpc(ForecastKind::Model(m)) => format!("mpc/model({m})"),
            Run::Rule => "rule".into(),
            Run::None => "none".into(),
            Run::Oracle => "oracle".into(),
        }
    }
}

/// What a run produced.
pub struct Outcome {
    /// Every decision per asset and step.
    pub realized: Schedule,
    /// The indicators.
    pub kpis: Kpis,
    /// Solver counters.
    pub stats: MpcStats,
    /// Forecasts that fell back to naive for lack of history.
    pub naive_fallbacks: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs one simulation; `progress(done, total)` after each step.
pub fn simulate(
    setup: &Setup,
    run: Run,
    mut progress: impl FnMut(usize, usize),
) -> Result<Outcome> {
    let started = Instant::now();
    let n = setup.steps;
    let opts = SolveOptions {
        mip_gap: setup.mip_gap,
        threads: Some(1),
        ..SolveOptions::default()
    };
    let mut stats = MpcStats::default();
    let mut naive_fallbacks = 0;
    let realized = match run {
        Run::Oracle => {
            let (s, seconds) = mpc::oracle(
                &setup.actual,
                n,
                &SolveOptions {
                    threads: None,
                    ..opts
                },
            )?;
            stats.solves = 1;
            stats.solve_seconds = seconds;
            progress(n, n);
            s
        }
        _ => {
            let mut plant = Plant::new(&setup.actual, n, setup.batteries_follow_meter);
            let mut mpc = match run {
                Run::Mpc(kind) => Some(Mpc::new(
                    &setup.actual,
                    setup.horizon,
                    setup.replan,
                    setup.terminal,
                    setup.billing.ratchet_months,
                    Forecaster::new(
                        kind,
                        &setup.file,
                        &setup.actual,
                        setup.first_row,
                        &setup.sim,
                        setup.horizon,
                    )?,
                    opts.clone(),
                )),
                _ => None,
            };
            for t in 0..n {
                let d = match (&mut mpc, run) {
                    (Some(m), _) => m.decide(t, &plant.state)?,
                    (None, Run::Rule) => controller::rule(
                        &setup.actual,
                        t,
                        &plant.state,
                        setup.billing.ratchet_months,
                    ),
                    _ => controller::none(&setup.actual, t, &plant.state),
                };
                plant
                    .step(t, &d)
                    .with_context(|| format!("simulating {}", run.label()))?;
                if t % 24 == 23 || t + 1 == n {
                    progress(t + 1, n);
                }
            }
            if let Some(m) = mpc {
                stats = m.stats.clone();
                naive_fallbacks = m.forecaster().naive_fallbacks;
            }
            plant.realized
        }
    };
    let kpis = kpi::compute(&setup.period(), &realized, setup.billing);
    Ok(Outcome {
        realized,
        kpis,
        stats,
        naive_fallbacks,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The run the command line asks for.
pub fn run_of(args: &RunArgs) -> Result<Run> {
    Ok(match args.controller {
        ControllerArg::Mpc => Run::Mpc(match args.forecast {
            ForecastArg::Perfect => ForecastKind::Perfect,
            ForecastArg::Naive => ForecastKind::Naive,
            ForecastArg::Model => {
                ForecastKind::Model(ModelKind::parse(&args.model).ok_or_else(|| {
                    anyhow!(
                        "--model: '{}' is not one of ridge, gbt, ensemble, seasonal_naive",
                        args.model
                    )
                })?)
            }
        }),
        ControllerArg::Rule => Run::Rule,
        ControllerArg::None => Run::None,
        ControllerArg::Oracle => Run::Oracle,
    })
}

fn progress_bar(label: &str, quiet: bool) -> indicatif::ProgressBar {
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

/// Zero-carbon tracking: CO2 per fiscal year (April–March) against the declared base
/// year's trajectory to its target.
fn zero_carbon(setup: &Setup, realized: &Schedule) -> Option<Value> {
    let (base_year, base_kg) = (setup.kpi.base_year?, setup.kpi.base_year_co2_kg?);
    let target_year = setup.kpi.target_year.unwrap_or(2030);
    let reduction = setup.kpi.target_reduction.unwrap_or(0.46);
    let sc = setup.period();
    let dt = sc.step_hours();
    let mut by_fy: std::collections::BTreeMap<i32, (f64, usize)> = Default::default();
    for t in 0..sc.steps {
        let time = sc.times[t];
        let fy = if time.month() >= 4 {
            time.year()
        } else {
            time.year() - 1
        };
        let mut kg = 0.0;
        for (g, gs) in sc.grids.iter().zip(&realized.grids) {
            kg += dt * g.carbon_intensity_kg_per_kwh[t] * gs.import_kw[t];
        }
        for (j, js) in sc.generators.iter().zip(&realized.generators) {
            kg += dt * j.fuel_carbon_kg_per_kwh * js.power_kw[t] / j.efficiency;
        }
        let e = by_fy.entry(fy).or_insert((0.0, 0));
        e.0 += kg;
        e.1 += 1;
    }
    let per_year = (365.0 * 24.0 / dt).round() as usize;
    let years: Vec<Value> = by_fy
        .into_iter()
        .map(|(fy, (kg, n))| {
            let share =
                ((fy - base_year) as f64 / (target_year - base_year).max(1) as f64).clamp(0.0, 1.0);
            let allowed = base_kg * (1.0 - reduction * share);
            let annualised = kg * per_year as f64 / n as f64;
            json!({
                "fiscal_year": fy,
                "co2_kg": kg,
                "co2_kg_annualised": annualised,
                "complete": n >= per_year,
                "trajectory_kg": allowed,
                "reduction_vs_base": 1.0 - annualised / base_kg,
                "on_track": annualised <= allowed,
            })
        })
        .collect();
    Some(json!({
        "base_year": base_year,
        "base_year_co2_kg": base_kg,
        "target_year": target_year,
        "target_reduction": reduction,
        "years": years,
    }))
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
        "district": kpi_json(&out.kpis.district),
        "buildings": out.kpis.buildings.iter().map(|(id, k)| (id.clone(), kpi_json(k))).collect::<serde_json::Map<_, _>>(),
        "billed_kw": out.kpis.billed_kw.iter().map(|(g, m, kw)| json!({"grid": g, "month": m, "kw": kw})).collect::<Vec<_>>(),
        "solver": {
            "solves": out.stats.solves,
            "fallbacks": out.stats.fallbacks,
            "solve_seconds": out.stats.solve_seconds,
            "naive_forecast_fallbacks": out.naive_fallbacks,
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
    if let Some(z) = zero_carbon(setup, &out.realized) {
        v["zero_carbon"] = z;
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
    if let Some(f) = &out.stats.first_failure {
        println!("first failed solve: {f}");
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
    row("cost (yen)", d.cost_yen, b.map(|b| b.cost_yen));
    row("  energy (yen)", d.energy_yen, b.map(|b| b.energy_yen));
    row(
        "  demand charge (yen)",
        d.demand_yen,
        b.map(|b| b.demand_yen),
    );
    row("  fuel (yen)", d.fuel_yen, b.map(|b| b.fuel_yen));
    row("  start-ups (yen)", d.startup_yen, b.map(|b| b.startup_yen));
    row(
        "  degradation (yen)",
        d.degradation_yen,
        b.map(|b| b.degradation_yen),
    );
    row("  comfort (yen)", d.comfort_yen, b.map(|b| b.comfort_yen));
    row("  carbon (yen)", d.carbon_yen, b.map(|b| b.carbon_yen));
    row("peak 30-min (kW)", d.peak_kw, b.map(|b| b.peak_kw));
    row("import (kWh)", d.import_kwh, b.map(|b| b.import_kwh));
    row("export (kWh)", d.export_kwh, b.map(|b| b.export_kwh));
    row("CO2 (kg)", d.co2_kg, b.map(|b| b.co2_kg));
    row(
        "PV self-consumption (%)",
        100.0 * d.pv_self_consumption,
        b.map(|b| 100.0 * b.pv_self_consumption),
    );
    row(
        "self-sufficiency (%)",
        100.0 * d.self_sufficiency,
        b.map(|b| 100.0 * b.self_sufficiency),
    );
    row(
        "comfort violation (K·h)",
        d.comfort_violation_kh,
        b.map(|b| b.comfort_violation_kh),
    );
    row(
        "battery throughput (kWh)",
        d.battery_throughput_kwh,
        b.map(|b| b.battery_throughput_kwh),
    );
    row(
        "battery cycles",
        d.battery_cycles,
        b.map(|b| b.battery_cycles),
    );
    row(
        "interchange (kWh)",
        d.interchange_kwh,
        b.map(|b| b.interchange_kwh),
    );
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
    if let Some(z) = zero_carbon(setup, &out.realized) {
        println!();
        for y in z["years"].as_array().into_iter().flatten() {
            println!(
                "FY{}: CO2 {:.0} kg/yr ({}), trajectory {:.0} kg → {}",
                y["fiscal_year"],
                y["co2_kg_annualised"].as_f64().unwrap_or(0.0),
                if y["complete"].as_bool() == Some(true) {
                    "full year"
                } else {
                    "annualised"
                },
                y["trajectory_kg"].as_f64().unwrap_or(0.0),
                if y["on_track"].as_bool() == Some(true) {
                    "on track"
                } else {
                    "off track"
                }
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

/// Runs `aems simulate`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let file = ScenarioFile::read(&args.scenario)?;
    let setup = Setup::new(file, &args.run)?;
    let run = run_of(&args.run)?;
    let bar = progress_bar(&run.label(), args.quiet);
    let out = simulate(&setup, run, |d, n| {
        bar.set_length(n as u64);
        bar.set_position(d as u64);
    })?;
    bar.finish_and_clear();
    let baseline = if run != Run::None && !args.no_baseline {
        let bar = progress_bar("baseline", args.quiet);
        let b = simulate(&setup, Run::None, |d, n| {
            bar.set_length(n as u64);
            bar.set_position(d as u64);
        })?;
        bar.finish_and_clear();
        Some(b)
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
