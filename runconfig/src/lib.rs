//! The loop's settings: a TOML file (`--config`, e.g. `scenarios/gate_square/run.toml`),
//! overridden by command-line options, checked before anything starts.
//!
//! [`RunConfig::load`] reads the file; [`RunConfig::parse`] checks a text already read
//! (what the fuzz campaign drives). Every error names the file and the field.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, FixedOffset};
use control::Policy;
use serde::Deserialize;

/// Whether the loop sends setpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Read, forecast, optimise, send setpoints (the default).
    #[default]
    Control,
    /// Read telemetry and record KPIs only: no solve, no setpoint; the devices stay on their
    /// own control ("the loop disabled", the baseline of the acceptance test).
    Observe,
}

/// Where time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockKind {
    /// The wall clock (production).
    #[default]
    Real,
    /// Simulated time from `start` at `speed` × real time (with the embedded simulator:
    /// in lockstep with its physics).
    Simulated,
}

/// How the exogenous series (loads, PV, prices, weather) of the horizon are forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ForecasterKind {
    /// The scenario's own series over the horizon (perfect foresight of the scenario; what
    /// the simulator plays).
    #[default]
    Scenario,
    /// The scenario's series for prices, PV and weather, and for the loads the district's
    /// measured base load of the same time one day earlier (seasonal naive on the
    /// measurements), shaped onto the nodes by the scenario's loads; the scenario's loads
    /// where there is no such history.
    Persistence,
    /// Loads and PV from the same slot one day before in the scenario's series, up to the
    /// cycle only (as `aems simulate --forecast naive`).
    Naive,
    /// Loads and PV from the forecast crate's ridge model fitted on the scenario's series
    /// before the cycle (as `aems simulate --forecast model`).
    Model,
}

/// How the MPC uses its forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MpcKind {
    /// One plan on the point forecast.
    #[default]
    Deterministic,
    /// One plan over forecast scenarios (the forecaster's error analogs of the past days)
    /// with one shared first step: the stochastic MPC (`control::fan`).
    Scenario,
}

impl MpcKind {
    /// The controller's `forecast_scenarios` for `n` scenarios.
    pub fn scenarios(self, n: usize) -> usize {
        match self {
            MpcKind::Deterministic => 0,
            MpcKind::Scenario => n,
        }
    }
}

/// Faults injected on a schedule, in simulated time (embedded simulator or simulated clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The device does not answer (requests time out).
    NoResponse,
    /// The device answers every request with Modbus exception 4 (device failure).
    Exception,
    /// The device closes the connection at every request.
    CloseConnection,
    /// A sensor of the device reports NaN (`quantity` names the telemetry point).
    Nan,
    /// Every solve gets the deadline `deadline_s` (default 0): forced past it.
    SolveDeadline,
    /// The utility supply is lost at the grid connection `asset` (every connection when
    /// absent): its PCC breaker opens, its meter reports `grid_available` 0, until
    /// `until_h`.
    GridOutage,
}

/// One `[[fault]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// What goes wrong.
    pub kind: FaultKind,
    /// The device (device faults and `nan`); the grid connection (`grid_outage`).
    #[serde(default)]
    pub asset: Option<String>,
    /// The telemetry point (`nan`).
    #[serde(default)]
    pub quantity: Option<String>,
    /// Start, hours of simulated time after the run's start.
    pub from_h: f64,
    /// End, hours after the run's start.
    pub until_h: f64,
    /// The deadline forced on solves (`solve_deadline`), seconds.
    #[serde(default)]
    pub deadline_s: Option<f64>,
}

/// `[simulator]`: serve the devices file from an embedded simulator (Modbus TCP on the
/// file's endpoints; port 0 picks free ports), in lockstep with the simulated clock.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Start the simulator in this process.
    #[serde(default)]
    pub enabled: bool,
}

/// The TOML file as written (every key optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    cadence_min: Option<u32>,
    step_minutes: Option<u32>,
    horizon_h: Option<f64>,
    deadline_s: Option<f64>,
    mip_gap: Option<f64>,
    threads: Option<u32>,
    controller: Option<Policy>,
    forecaster: Option<ForecasterKind>,
    mpc: Option<MpcKind>,
    scenarios: Option<usize>,
    stale_after_s: Option<f64>,
    schedule_valid_min: Option<f64>,
    mode: Option<Mode>,
    store: Option<String>,
    http: Option<String>,
    mqtt: Option<bool>,
    clock: Option<ClockKind>,
    speed: Option<f64>,
    start: Option<String>,
    duration_h: Option<f64>,
    #[serde(default)]
    simulator: SimulatorConfig,
    #[serde(default)]
    fault: Vec<FaultConfig>,
    #[serde(default)]
    operator: Option<OperatorConfig>,
    #[serde(default)]
    ngsi_ld: Option<NgsiLdConfig>,
    #[serde(default)]
    openadr: Option<OpenAdrConfig>,
    #[serde(default)]
    requests: Option<control::request::Policy>,
}

/// `[openadr]`: take demand-response events from an OpenADR 3 VTN as its VEN, and report
/// the metered response. (`Debug` never shows the secret.)
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAdrConfig {
    /// The VTN's base URL (its OpenADR 3 API, e.g. `https://vtn.example.jp/openadr3/3.1.0`).
    pub vtn: String,
    /// The OAuth token endpoint (default: `<vtn>/auth/token`).
    #[serde(default)]
    pub token_url: Option<String>,
    /// OAuth client id the VTN gave this VEN.
    pub client_id: String,
    /// Its secret, inline …
    #[serde(default)]
    pub client_secret: Option<String>,
    /// … or from this environment variable (preferred).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The VEN's name at the VTN (registered when missing; default: the district's id).
    #[serde(default)]
    pub ven_name: Option<String>,
    /// The grid connections the events apply to (default: every connection).
    #[serde(default)]
    pub grids: Vec<String>,
    /// Seconds to wait for the VTN per request (default 5).
    #[serde(default = "five")]
    pub timeout_s: f64,
    /// Post a report of the metered import per event interval once it has passed
    /// (default true).
    #[serde(default = "yes")]
    pub report: bool,
}

impl std::fmt::Debug for OpenAdrConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAdrConfig")
            .field("vtn", &self.vtn)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("client_secret_env", &self.client_secret_env)
            .field("ven_name", &self.ven_name)
            .field("grids", &self.grids)
            .field("timeout_s", &self.timeout_s)
            .field("report", &self.report)
            .finish()
    }
}

fn five() -> f64 {
    5.0
}

fn yes() -> bool {
    true
}

impl OpenAdrConfig {
    /// The client secret (inline or from its environment variable).
    pub fn secret(&self) -> Result<String> {
        match (&self.client_secret, &self.client_secret_env) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "openadr.client_secret_env: the environment variable {var} is not set"
                )
            }),
            (None, None) => bail!("openadr: give client_secret_env (or client_secret)"),
        }
    }
}

/// `[ngsi_ld]`: publish the district's and buildings' metered KPIs as NGSI-LD entities.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NgsiLdConfig {
    /// A context broker's base URL: upsert to `/ngsi-ld/v1/entityOperations/upsert`.
    #[serde(default)]
    pub broker: Option<String>,
    /// A file to write the entities to (JSON-LD; relative to the settings file).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Publish every this many cycles (default 4).
    #[serde(default = "four")]
    pub every_cycles: u32,
}

fn four() -> u32 {
    4
}

/// `[operator]`: who may act on the running loop over HTTP, and how it is served.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// `[[operator.user]]`: name, `token_hash` and/or `password_hash` (argon2 PHC,
    /// `aems hash-secret`), `role` (`operator` or `viewer`).
    #[serde(default)]
    pub user: Vec<operator::UserSetting>,
    /// PEM certificate chain: serve HTTPS (with `tls_key`).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Reads without credentials (default: when `http` binds a loopback address only).
    #[serde(default)]
    pub open_reads: Option<bool>,
}

/// The loop's settings, complete and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Minutes between planner cycles (1–60).
    pub cadence_min: u32,
    /// Step of the dispatch horizon, minutes (divides 30 and the scenario's step; the
    /// cadence is a multiple of it).
    pub step_minutes: u32,
    /// Length of the dispatch horizon, hours (cut at the end of the scenario's data).
    pub horizon_h: f64,
    /// Wall-clock seconds a solve may take; a later result is discarded.
    pub deadline_s: f64,
    /// Relative MIP gap.
    pub mip_gap: f64,
    /// HiGHS threads (`None`: HiGHS chooses).
    pub threads: Option<u32>,
    /// Who decides: mpc (default), rule or none.
    pub controller: Policy,
    /// The forecaster.
    pub forecaster: ForecasterKind,
    /// Deterministic or scenario MPC.
    pub mpc: MpcKind,
    /// Forecast scenarios per plan with `mpc = "scenario"` (2–50, default 7).
    pub scenarios: usize,
    /// A reading older than this (simulated seconds) is stale.
    pub stale_after_s: f64,
    /// How long after its start a schedule may stand in for a failed solve, minutes.
    pub schedule_valid_min: f64,
    /// Control or observe.
    pub mode: Mode,
    /// The run's history: an SQLite file or a PostgreSQL database.
    pub store: store::Location,
    /// HTTP listen address (`host:port`; port 0 picks a free one; empty: no server).
    pub http: String,
    /// Publish over MQTT when the devices file has a broker.
    pub mqtt: bool,
    /// Clock.
    pub clock: ClockKind,
    /// Simulated seconds per real second (simulated clock; 0: as fast as the loop goes,
    /// embedded simulator only).
    pub speed: f64,
    /// Simulated start (default: the scenario's start).
    pub start: Option<DateTime<FixedOffset>>,
    /// Stop after this many hours (simulated: default until the scenario's data end).
    pub duration_h: Option<f64>,
    /// Embedded simulator.
    pub simulator: SimulatorConfig,
    /// Scheduled faults.
    pub faults: Vec<FaultConfig>,
    /// The operator's HTTP interface: users (checked), TLS files (relative to the
    /// settings file), whether reads need credentials (resolved).
    pub operator: OperatorConfig,
    /// NGSI-LD publication, if any (a broker or a file; the file relative to the
    /// settings file).
    pub ngsi_ld: Option<NgsiLdConfig>,
    /// `[openadr]`, checked.
    pub openadr: Option<OpenAdrConfig>,
    /// `[requests]`: ask tenants and residents for help (checked); none: never ask.
    pub requests: Option<control::request::Policy>,
}

/// `--controller` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ControllerArg {
    /// Receding-horizon optimisation with forecasts, under the peak guard.
    Mpc,
    /// The rule-based controller.
    Rule,
    /// No AEMS: batteries hold, generators off, HVAC on its own thermostat.
    None,
}

impl ControllerArg {
    /// The policy it names.
    pub fn policy(self) -> Policy {
        match self {
            ControllerArg::Mpc => Policy::Mpc,
            ControllerArg::Rule => Policy::Rule,
            ControllerArg::None => Policy::None,
        }
    }
}

/// Command-line overrides (each `None` keeps the file's value or the default).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Minutes between planner cycles (1–60; default 5).
    #[arg(long)]
    pub cadence_min: Option<u32>,
    /// Step of the dispatch horizon, minutes (divides 30; default 5).
    #[arg(long)]
    pub step_minutes: Option<u32>,
    /// Dispatch horizon, hours (default 6).
    #[arg(long)]
    pub horizon_h: Option<f64>,
    /// Seconds a solve may take (default: half the cadence, at most 60).
    #[arg(long)]
    pub deadline_s: Option<f64>,
    /// Relative MIP gap (default 1e-4).
    #[arg(long)]
    pub mip_gap: Option<f64>,
    /// Who decides: mpc (default), rule or none (the baseline).
    #[arg(long, value_enum)]
    pub controller: Option<ControllerArg>,
    /// Forecaster: scenario (default), persistence, naive or model.
    #[arg(long, value_enum)]
    pub forecaster: Option<ForecasterKind>,
    /// MPC: deterministic (default) or scenario (one plan over forecast scenarios).
    #[arg(long, value_enum)]
    pub mpc: Option<MpcKind>,
    /// Forecast scenarios per plan with --mpc scenario (2–50; default 7).
    #[arg(long)]
    pub scenarios: Option<usize>,
    /// control (default) or observe (no solve, no setpoint: the loop disabled).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// The run's history: an SQLite file (default aems-run.sqlite) or a PostgreSQL database
    /// (postgres://user@host:port/database; PGPASSWORD for a password the URL leaves out).
    /// A store with a previous run is resumed.
    #[arg(long)]
    pub store: Option<String>,
    /// HTTP address (default 127.0.0.1:8080; port 0 picks one; "" for none).
    #[arg(long)]
    pub http: Option<String>,
    /// real (default) or simulated.
    #[arg(long, value_enum)]
    pub clock: Option<ClockKind>,
    /// Simulated seconds per real second (default 60; 0 = as fast as possible, with --simulate).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Simulated start (RFC 3339; default: the scenario's start).
    #[arg(long)]
    pub start: Option<String>,
    /// Stop after this many hours (simulated: default until the scenario's data end).
    #[arg(long)]
    pub duration_h: Option<f64>,
    /// Serve the devices from a simulator in this process (needs --clock simulated).
    #[arg(long)]
    pub simulate: bool,
    /// Do not publish over MQTT even if the devices file names a broker.
    #[arg(long)]
    pub no_mqtt: bool,
}

fn err(file: &str, key: &str, msg: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{file}: field '{key}': {msg}")
}

impl RunConfig {
    /// Reads `path` (if given), applies `o` and checks everything against the scenario's
    /// step (`scenario_step_min`).
    pub fn load(path: Option<&Path>, o: &Overrides, scenario_step_min: u32) -> Result<Self> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read run config {}", p.display()))?;
                let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                Self::parse(&p.display().to_string(), &text, &dir, o, scenario_step_min)
            }
            None => Self::checked(
                RawConfig::default(),
                "command line",
                Path::new(""),
                o,
                scenario_step_min,
            ),
        }
    }

    /// Checks the TOML `text` of the file named `file` (in errors), whose relative paths are
    /// taken from `dir`, with the overrides `o` and the scenario's step `scenario_step_min`.
    pub fn parse(
        file: &str,
        text: &str,
        dir: &Path,
        o: &Overrides,
        scenario_step_min: u32,
    ) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("{file}: {}", e.to_string().trim()))?;
        Self::checked(raw, file, dir, o, scenario_step_min)
    }

    fn checked(
        raw: RawConfig,
        f: &str,
        dir: &Path,
        o: &Overrides,
        scenario_step_min: u32,
    ) -> Result<Self> {
        if scenario_step_min == 0 {
            bail!("{f}: the scenario's step is 0 minutes");
        }
        let cadence_min = o.cadence_min.or(raw.cadence_min).unwrap_or(5);
        if !(1..=60).contains(&cadence_min) {
            bail!(err(
                f,
                "cadence_min",
                format!("{cadence_min} outside 1–60 minutes")
            ));
        }
        let step_minutes = o.step_minutes.or(raw.step_minutes).unwrap_or_else(|| {
            [5, 3, 2, 1]
                .into_iter()
                .find(|s| cadence_min % s == 0)
                .unwrap_or(1)
                .min(scenario_step_min)
        });
        if step_minutes == 0 || 30 % step_minutes != 0 {
            bail!(err(
                f,
                "step_minutes",
                format!("{step_minutes} does not divide 30 (1, 2, 3, 5, 6, 10, 15 or 30)")
            ));
        }
        if scenario_step_min % step_minutes != 0 {
            bail!(err(f, "step_minutes", format!("{step_minutes} does not divide the scenario's step of {scenario_step_min} minutes")));
        }
        if cadence_min % step_minutes != 0 {
            bail!(err(f, "cadence_min", format!("{cadence_min} is not a multiple of step_minutes = {step_minutes}: every cycle must start on a step")));
        }
        let horizon_h = o.horizon_h.or(raw.horizon_h).unwrap_or(6.0);
        if !(horizon_h.is_finite()
            && horizon_h * 60.0 >= f64::from(step_minutes)
            && horizon_h <= 168.0)
        {
            bail!(err(
                f,
                "horizon_h",
                format!("{horizon_h} must be at least one step and at most 168 h")
            ));
        }
        let deadline_s = o
            .deadline_s
            .or(raw.deadline_s)
            .unwrap_or_else(|| (f64::from(cadence_min) * 60.0 / 2.0).min(60.0));
        if !(deadline_s.is_finite() && deadline_s >= 0.0) {
            bail!(err(
                f,
                "deadline_s",
                format!("{deadline_s} must be a number ≥ 0")
            ));
        }
        let mip_gap = o.mip_gap.or(raw.mip_gap).unwrap_or(1e-4);
        if !(mip_gap.is_finite() && (0.0..1.0).contains(&mip_gap)) {
            bail!(err(f, "mip_gap", format!("{mip_gap} outside [0, 1)")));
        }
        let stale_after_s = raw
            .stale_after_s
            .unwrap_or(2.0 * f64::from(cadence_min) * 60.0);
        if !(stale_after_s.is_finite() && stale_after_s > 0.0) {
            bail!(err(
                f,
                "stale_after_s",
                format!("{stale_after_s} must be positive")
            ));
        }
        let schedule_valid_min = raw.schedule_valid_min.unwrap_or(60.0);
        if !(schedule_valid_min.is_finite() && schedule_valid_min >= 0.0) {
            bail!(err(
                f,
                "schedule_valid_min",
                format!("{schedule_valid_min} must be ≥ 0")
            ));
        }
        let scenarios = o.scenarios.or(raw.scenarios).unwrap_or(7);
        if !(2..=50).contains(&scenarios) {
            bail!(err(f, "scenarios", format!("{scenarios} outside 2–50")));
        }
        let clock = o.clock.or(raw.clock).unwrap_or_default();
        let mut simulator = raw.simulator.clone();
        simulator.enabled |= o.simulate;
        let speed = o.speed.or(raw.speed).unwrap_or(60.0);
        if !(speed.is_finite() && speed >= 0.0) {
            bail!(err(f, "speed", format!("{speed} must be a number ≥ 0")));
        }
        if clock == ClockKind::Simulated && speed == 0.0 && !simulator.enabled {
            bail!(err(f, "speed", "0 (as fast as possible) needs the embedded simulator (--simulate), whose clock the loop drives"));
        }
        if clock == ClockKind::Real && simulator.enabled {
            bail!(err(
                f,
                "simulator",
                "the embedded simulator needs --clock simulated"
            ));
        }
        let start = match o.start.clone().or(raw.start.clone()) {
            Some(s) => Some(DateTime::parse_from_rfc3339(&s).map_err(|e| {
                err(
                    f,
                    "start",
                    format!("'{s}' is not an RFC 3339 time with an offset: {e}"),
                )
            })?),
            None => None,
        };
        if start.is_some() && clock == ClockKind::Real {
            bail!(err(f, "start", "only with --clock simulated"));
        }
        let duration_h = o.duration_h.or(raw.duration_h);
        if let Some(d) = duration_h {
            if !(d.is_finite() && d > 0.0) {
                bail!(err(f, "duration_h", format!("{d} must be positive")));
            }
        }
        for (i, fc) in raw.fault.iter().enumerate() {
            let at = format!("fault #{i}");
            if clock != ClockKind::Simulated {
                bail!(err(
                    f,
                    &at,
                    "faults are injected in simulated time only (--clock simulated)"
                ));
            }
            if !(fc.from_h.is_finite() && fc.until_h.is_finite() && fc.from_h < fc.until_h) {
                bail!(err(
                    f,
                    &at,
                    format!(
                        "from_h = {} must be before until_h = {}",
                        fc.from_h, fc.until_h
                    )
                ));
            }
            match fc.kind {
                FaultKind::SolveDeadline => {}
                FaultKind::GridOutage => {
                    if !simulator.enabled {
                        bail!(err(f, &at, "a grid outage needs the embedded simulator ([simulator] enabled = true or --simulate)"));
                    }
                    if fc.quantity.is_some() {
                        bail!(err(f, &at, "'quantity' does not apply to kind = \"grid_outage\" (its 'asset' is a grid connection, or none for every one)"));
                    }
                }
                kind => {
                    if !simulator.enabled {
                        bail!(err(f, &at, "device faults need the embedded simulator ([simulator] enabled = true or --simulate)"));
                    }
                    if fc.asset.is_none() {
                        bail!(err(f, &at, "'asset' is required for device faults"));
                    }
                    if kind == FaultKind::Nan && fc.quantity.is_none() {
                        bail!(err(f, &at, "'quantity' is required for kind = \"nan\""));
                    }
                }
            }
        }
        let mut operator = raw.operator.clone().unwrap_or_default();
        operator::Credentials::new(operator.user.clone())
            .map_err(|e| anyhow::anyhow!("{f}: {e}"))?;
        match (&operator.tls_cert, &operator.tls_key) {
            (Some(_), None) => bail!(err(
                f,
                "operator.tls_key",
                "missing: tls_cert needs its key"
            )),
            (None, Some(_)) => bail!(err(
                f,
                "operator.tls_cert",
                "missing: tls_key needs its certificate"
            )),
            _ => {}
        }
        for p in [&mut operator.tls_cert, &mut operator.tls_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        let http_addr = o
            .http
            .clone()
            .or(raw.http.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let loopback = http_addr.is_empty()
            || http_addr.starts_with("127.")
            || http_addr.starts_with("localhost:")
            || http_addr.starts_with("[::1]:");
        let open_reads = operator.open_reads.unwrap_or(loopback);
        if !open_reads && operator.user.is_empty() {
            bail!(err(
                f,
                "operator.user",
                format!("http binds {http_addr}, beyond this machine: reads need credentials, and no [[operator.user]] is configured (add one, or set operator.open_reads = true)")
            ));
        }
        operator.open_reads = Some(open_reads);
        if let Some(a) = &raw.openadr {
            if !(a.vtn.starts_with("http://") || a.vtn.starts_with("https://")) {
                bail!(err(
                    f,
                    "openadr.vtn",
                    format!("'{}' is not an http:// or https:// URL", a.vtn)
                ));
            }
            if a.client_secret.is_none() && a.client_secret_env.is_none() {
                bail!(err(
                    f,
                    "openadr.client_secret_env",
                    "missing: name the environment variable holding the VEN's client secret"
                ));
            }
            if !(a.timeout_s.is_finite() && a.timeout_s > 0.0) {
                bail!(err(
                    f,
                    "openadr.timeout_s",
                    "must be a positive number of seconds"
                ));
            }
        }
        if let Some(r) = &raw.requests {
            r.check().map_err(|e| anyhow::anyhow!("{f}: {e}"))?;
        }
        let mut ngsi_ld = raw.ngsi_ld.clone();
        if let Some(n) = &mut ngsi_ld {
            if n.broker.is_none() && n.file.is_none() {
                bail!(err(
                    f,
                    "ngsi_ld.broker",
                    "missing: give a broker URL or a file (or both)"
                ));
            }
            if let Some(b) = &n.broker {
                if !(b.starts_with("http://") || b.starts_with("https://")) {
                    bail!(err(
                        f,
                        "ngsi_ld.broker",
                        format!("'{b}' is not an http:// or https:// URL")
                    ));
                }
            }
            if n.every_cycles == 0 {
                bail!(err(f, "ngsi_ld.every_cycles", "must be at least 1"));
            }
            if let Some(p) = &mut n.file {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        let store = match (&o.store, &raw.store) {
            (Some(s), _) => store::Location::parse(s, Path::new(""))
                .map_err(|e| anyhow::anyhow!("--store: {e:#}"))?,
            (None, Some(s)) => store::Location::parse(s, dir).map_err(|e| err(f, "store", e))?,
            (None, None) => store::Location::Sqlite(PathBuf::from("aems-run.sqlite")),
        };
        Ok(Self {
            cadence_min,
            step_minutes,
            horizon_h,
            deadline_s,
            mip_gap,
            threads: raw.threads,
            controller: o
                .controller
                .map(ControllerArg::policy)
                .or(raw.controller)
                .unwrap_or_default(),
            forecaster: o.forecaster.or(raw.forecaster).unwrap_or_default(),
            mpc: o.mpc.or(raw.mpc).unwrap_or_default(),
            scenarios,
            stale_after_s,
            schedule_valid_min,
            mode: o.mode.or(raw.mode).unwrap_or_default(),
            store,
            http: o
                .http
                .clone()
                .or(raw.http)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            mqtt: raw.mqtt.unwrap_or(true) && !o.no_mqtt,
            clock,
            speed,
            start,
            duration_h,
            simulator,
            faults: raw.fault,
            operator,
            ngsi_ld,
            openadr: raw.openadr.clone(),
            requests: raw.requests.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults_and_overrides() {
        let c = RunConfig::load(None, &Overrides::default(), 30).unwrap();
        assert_eq!((c.cadence_min, c.step_minutes), (5, 5));
        assert_eq!(c.horizon_h, 6.0);
        assert_eq!(c.deadline_s, 60.0);
        let f = write("cadence_min = 15\nstep_minutes = 15\nhorizon_h = 12\n");
        let o = Overrides {
            horizon_h: Some(6.0),
            ..Default::default()
        };
        let c = RunConfig::load(Some(f.path()), &o, 30).unwrap();
        assert_eq!((c.cadence_min, c.step_minutes, c.horizon_h), (15, 15, 6.0));
        assert_eq!(c.mpc.scenarios(c.scenarios), 0, "deterministic by default");
        let f = write("mpc = \"scenario\"\nscenarios = 12\n");
        let c = RunConfig::load(Some(f.path()), &Overrides::default(), 30).unwrap();
        assert_eq!(c.mpc.scenarios(c.scenarios), 12);
    }

    #[test]
    fn bad_values_name_the_field() {
        for (text, needle) in [
            ("cadence_min = 0\n", "field 'cadence_min'"),
            ("cadence_min = 61\n", "field 'cadence_min'"),
            ("cadence_min = 10\nstep_minutes = 15\n", "not a multiple"),
            ("step_minutes = 7\n", "does not divide 30"),
            ("horizon_h = -1\n", "field 'horizon_h'"),
            ("cadense_min = 5\n", "unknown field"),
            ("mpc = \"scenario\"\nscenarios = 1\n", "field 'scenarios'"),
            ("mpc = \"stochastic\"\n", "unknown variant"),
            ("clock = \"simulated\"\nstart = \"yesterday\"\n", "field 'start'"),
            ("clock = \"simulated\"\n[[fault]]\nkind = \"no_response\"\nfrom_h = 1\nuntil_h = 2\n", "embedded simulator"),
            ("[requests]\nask_fraction = 0\n", "[requests] ask_fraction"),
            ("[requests]\nnotice_minute = 60\n", "unknown field `notice_minute`"),
        ] {
            let f = write(text);
            let e = RunConfig::load(Some(f.path()), &Overrides::default(), 30)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains(&f.path().display().to_string()), "{e}");
        }
    }
}
