//! `aems simulate`: the command line of the what-if — the controller against the plant over
//! a period (`control::simulation`), its KPIs against the baseline, time series and report
//! (the `whatif` crate).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args as ClapArgs, ValueEnum};

use control::simulation::{self, ForecastChoice, Outcome, PerfectSeries, Run, RunOptions, Setup};
use control::Terminal;
use engine::ScenarioFile;
use forecast::demand::ModelKind;
use runconfig::MpcKind;
use whatif::citylearn::CityLearnExport;
use whatif::decisions::DecisionLog;
use whatif::report;
use whatif::summary::{outcome_json, tables, write_timeseries};

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

/// `--perfect` values: series taken from the actual future instead of forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PerfectArg {
    /// Every load over the whole horizon.
    Load,
    /// Every load in the step being decided only; the rest of the horizon forecast.
    LoadFirstStep,
    /// Every array's PV over the whole horizon.
    Pv,
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
    /// Write what the controller told every unit at every step (CSV: time, source, asset,
    /// command, on, power_kw, setpoint_c — the live loop's `decisions` table).
    #[arg(long, value_name = "FILE.csv")]
    pub decisions: Option<PathBuf>,
    /// Write the batteries' decisions for CityLearn's scorer (CSV: time_step, building,
    /// battery_electricity_consumption in kWh, + charging): score them with
    /// `python3 ../shared/tools/citylearn/evaluate.py FILE.csv --phase phase_1`.
    #[arg(long, value_name = "FILE.csv")]
    pub export_citylearn: Option<PathBuf>,
    /// Write the district's and each building's KPIs as NGSI-LD entities (JSON-LD:
    /// Building and KeyPerformanceIndicator, FIWARE Smart Data Models) for a city data
    /// platform.
    #[arg(long, value_name = "FILE.jsonld")]
    pub ngsi_ld: Option<PathBuf>,
    /// Upsert those entities to this NGSI-LD context broker (its base URL, e.g.
    /// http://orion-ld:1026): POST /ngsi-ld/v1/entityOperations/upsert.
    #[arg(long, value_name = "URL")]
    pub ngsi_ld_broker: Option<String>,
    /// Demand-response events in force over the run: a JSON array of OpenADR 3 event
    /// objects (as a VTN's GET /events returns them; IMPORT_CAPACITY_LIMIT kW, PRICE JPY/kWh,
    /// GHG g/kWh), on every grid connection; the MPC plans with them, the cost is metered
    /// on the tariff. Run with and without to see what a programme is worth.
    #[arg(long, value_name = "FILE")]
    pub dr_events: Option<std::path::PathBuf>,
    /// Ask tenants and residents for help (reduce N kW from HH:MM to HH:MM, when a new
    /// peak, a demand-response cap or carbon-intensive hours call for it), assuming they
    /// deliver RATE (0–1) of every requested kW; the requests, their measured response and
    /// the learned rates are in the output and the report.
    #[arg(long, value_name = "RATE")]
    pub requests: Option<f64>,
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
    /// How the MPC uses its forecasts: deterministic (the point forecast) or scenario (one
    /// plan over the forecaster's error analogs of the past days, one shared first step).
    #[arg(long, value_enum, default_value_t = MpcKind::Deterministic)]
    pub mpc: MpcKind,
    /// Forecast scenarios per plan with --mpc scenario (2–50).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(2..=50))]
    pub scenarios: u16,
    /// What-if: take these series from the actual future instead of forecasts, to measure
    /// what a better forecast would be worth (with --forecast naive or model; the output
    /// lists them as perfect information). Comma-separated or repeated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub perfect: Vec<PerfectArg>,
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
            forecast_scenarios: self.mpc.scenarios(usize::from(self.scenarios)),
            perfect: PerfectSeries {
                load: self.perfect.contains(&PerfectArg::Load),
                load_first_step: self.perfect.contains(&PerfectArg::LoadFirstStep),
                pv: self.perfect.contains(&PerfectArg::Pv),
            },
        }
    }

    /// The run the command line asks for.
    pub fn run(&self) -> Result<Run> {
        if !self.perfect.is_empty()
            && (self.controller != ControllerArg::Mpc || self.forecast == ForecastArg::Perfect)
        {
            return Err(anyhow!(
                "--perfect replaces forecasts: only with --controller mpc and --forecast naive or model"
            ));
        }
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

/// Runs one simulation with a progress bar, handing each cycle to `on_cycle` (the
/// decisions log, the CityLearn export); its first error stops the logging and is returned.
pub fn simulate_with_bar(
    setup: &Setup,
    run: Run,
    label: &str,
    quiet: bool,
    mut on_cycle: impl FnMut(&control::Cycle) -> Result<()>,
) -> Result<Outcome> {
    let bar = progress_bar(label, quiet);
    let mut failed = Ok(());
    let out = simulation::simulate_with(
        setup,
        run,
        |d, n| {
            bar.set_length(n as u64);
            bar.set_position(d as u64);
        },
        |c| {
            if failed.is_ok() {
                failed = on_cycle(c);
            }
        },
    )?;
    failed?;
    bar.finish_and_clear();
    Ok(out)
}

/// Runs `aems simulate`.
pub fn run(args: &Args) -> Result<ExitCode> {
    let file = ScenarioFile::read(&args.scenario)?;
    let mut setup = Setup::new(file, &args.run.options())?;
    if let Some(p) = &args.dr_events {
        let grids: Vec<String> = setup.data.grids.iter().map(|g| g.id.clone()).collect();
        let (signals, ignored) = dr::file::signals(p, &grids, *setup.data.start.offset())?;
        for i in &ignored {
            eprintln!("--dr-events: not acted on: {i}");
        }
        eprintln!(
            "--dr-events: {} signals from {} on {}, known to every plan from the run's start",
            signals.len(),
            p.display(),
            grids.join(", ")
        );
        setup.signals = signals;
    }
    let run = args.run.run()?;
    // Independent parts side by side when no cycle is logged or exported.
    setup.parallel_parts = args.decisions.is_none() && args.export_citylearn.is_none();
    if let Some(rate) = args.requests {
        if !(0.0..=1.0).contains(&rate) {
            return Err(anyhow!(
                "--requests {rate}: the response rate must be in [0, 1]"
            ));
        }
        if !matches!(run, Run::Mpc(_)) {
            return Err(anyhow!(
                "--requests needs --controller mpc (requests come from plans)"
            ));
        }
        setup.requests = Some(simulation::Requests {
            policy: setup.request_policy.clone(),
            response_rate: rate,
        });
    }
    let mut log = args
        .decisions
        .as_deref()
        .map(DecisionLog::create)
        .transpose()?;
    let mut export = args
        .export_citylearn
        .as_deref()
        .map(|p| CityLearnExport::create(p, &setup.data))
        .transpose()?;
    let out = simulate_with_bar(&setup, run, &run.label(), args.quiet, |c| {
        if let Some(l) = log.as_mut() {
            l.add(c)?;
        }
        if let Some(x) = export.as_mut() {
            x.add(c)?;
        }
        Ok(())
    })?;
    if let Some(l) = log {
        l.finish()?;
    }
    let exported = export.map(CityLearnExport::finish).transpose()?;
    let baseline = if run != Run::None && !args.no_baseline {
        Some(simulate_with_bar(
            &setup,
            Run::None,
            "baseline",
            args.quiet,
            |_| Ok(()),
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
    if args.ngsi_ld.is_some() || args.ngsi_ld_broker.is_some() {
        let p = setup.period();
        let until = p.start + chrono::Duration::minutes(i64::from(p.step_minutes) * p.steps as i64);
        // The district's id: the scenario's folder (scenarios/kashiwanoha/scenario.toml →
        // kashiwanoha), or the file's stem.
        let stem = |q: &std::path::Path| q.file_stem().map(|x| x.to_string_lossy().to_string());
        let district = match (
            stem(&args.scenario),
            args.scenario.parent().and_then(|d| d.file_name()),
        ) {
            (Some(s), Some(d)) if s == "scenario" => d.to_string_lossy().to_string(),
            (Some(s), _) => s,
            _ => "district".to_string(),
        };
        let entities = whatif::ngsi::entities(&district, &out.kpis, p.start, until, until);
        if let Some(path) = &args.ngsi_ld {
            whatif::ngsi::write(path, &entities)?;
            eprintln!("NGSI-LD: {} entities in {}", entities.len(), path.display());
        }
        if let Some(url) = &args.ngsi_ld_broker {
            let code = whatif::ngsi::upsert(url, &entities)?;
            eprintln!(
                "NGSI-LD: {} entities upserted to {url} ({code})",
                entities.len()
            );
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome_json(&setup, run, &out, baseline.as_ref()))?
        );
    } else {
        print!("{}", tables(&setup, run, &out, baseline.as_ref()));
        if let Some(p) = &args.timeseries {
            println!("\ntime series: {}", p.display());
        }
        if let Some(d) = &args.report {
            println!("report: {}", d.join("index.html").display());
        }
        if let (Some(p), Some(n)) = (&args.export_citylearn, exported) {
            println!("CityLearn export: {} ({n} rows)", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
