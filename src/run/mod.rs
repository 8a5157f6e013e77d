//! `aems run`: the live control loop.
//!
//! Every `cadence_min` minutes: read telemetry into one frozen snapshot → update the state
//! (battery energy, zone temperatures, this month's 30-minute peak, the energy already
//! imported in the current interval) → forecast → build and solve the dispatch over the
//! horizon (with a deadline) → check → turn the first step into setpoints → dispatch over
//! Modbus (and MQTT) → record, in SQLite, with an HTTP interface for the operator. A failed
//! or late solve falls back to the previous schedule, then to a rule; a device that cannot
//! be trusted is planned conservatively and released to its own control; SIGINT/SIGTERM
//! release every device and flush the store. With `--clock simulated --simulate` the
//! device simulator runs in this process in lockstep with the loop's clock.
//!
//! The controller is `control::Controller`, the same as `aems simulate`'s; this module
//! holds the adapters only: [`config`] (settings, the `runconfig` crate), [`clock`], [`cycle`] (devices ↔ the
//! controller), the `store` crate (SQLite or PostgreSQL), [`http`], [`metrics`], [`sim`] (embedded simulator and
//! scheduled faults).

pub mod clock;
pub use runconfig as config;
pub mod cycle;
pub use operator::{http, metrics};
pub mod sim;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args as ClapArgs;
use connectors::mqtt::LinkOptions;
use connectors::{DevicesConfig, Fleet, MqttLink};
use engine::ScenarioFile;

use clock::{floor_to, Clock};
use config::{ClockKind, ForecasterKind, Mode, Overrides, RunConfig};
use control::forecast::Choice;
use control::settings::{self as csettings, SimulationSection};
use control::{Controller, Ledger, Settings};
use cycle::{Loop, Resume};
use engine::kpi::Billing;
use http::Shared;
use store::Store;

/// Arguments of `aems run`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Scenario TOML (the district; its series are the default forecast).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Devices file (which asset is which Modbus device; MQTT broker).
    #[arg(long)]
    pub devices: PathBuf,
    /// Run settings (TOML; e.g. scenarios/gate_square/run.toml). Options below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Settings given on the command line (each overrides the file's).
    #[command(flatten)]
    pub overrides: Overrides,
    /// Start a new run even if the store holds one to resume (its history is kept).
    #[arg(long)]
    pub fresh: bool,
}

/// Runs `aems run`.
pub fn run(args: &Args) -> Result<ExitCode> {
    crate::init_logs();
    let file = ScenarioFile::read(&args.scenario).map_err(|e| anyhow!("{e}"))?;
    let cfg = RunConfig::load(args.config.as_deref(), &args.overrides, file.step_minutes())?;
    let devices = DevicesConfig::load(&args.devices).map_err(|e| anyhow!("{e}"))?;
    check_devices(&file, &devices)?;
    check_faults(args.config.as_deref(), &cfg, &file)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(main_loop(cfg, file, devices, args.fresh))?;
    Ok(ExitCode::SUCCESS)
}

/// Every device must be an asset of the scenario of its profile's kind.
fn check_devices(file: &ScenarioFile, devices: &DevicesConfig) -> Result<()> {
    let sc = file.window(file.start(), 1).map_err(|e| anyhow!("{e}"))?;
    for (i, (asset, family)) in connectors::command::families(devices).iter().enumerate() {
        use connectors::DeviceFamily as F;
        let ok = match family {
            F::Battery => sc.batteries.iter().any(|b| &b.id == asset),
            F::Hvac => sc.hvacs.iter().any(|h| &h.id == asset),
            F::Generator => sc.generators.iter().any(|g| &g.id == asset),
            F::Meter => {
                sc.grids.iter().any(|g| &g.id == asset) || sc.nodes.iter().any(|n| &n.id == asset)
            }
            F::Line => sc.lines.iter().any(|l| &l.id == asset),
        };
        if !ok {
            let which = match i < devices.devices.len() {
                true => format!("[[device]] #{i} ('{asset}')"),
                false => format!("[[device]] '{asset}' (ECHONET Lite)"),
            };
            bail!(
                "{}: {which}: field 'asset': the scenario {} has no {} '{asset}'",
                devices.path.display(),
                file.path().display(),
                family.name(),
            );
        }
    }
    Ok(())
}

/// What an operator may name: the commanded assets (with a device) and their buildings,
/// the buildings, the grid connections.
fn catalog(sc: &engine::Scenario, devices: &DevicesConfig) -> operator::Catalog {
    let node = |n: usize| sc.nodes.get(n).map(|x| x.id.clone()).unwrap_or_default();
    let mut assets = std::collections::BTreeMap::new();
    let units = (sc.batteries.iter().map(|b| (&b.id, b.node)))
        .chain(sc.hvacs.iter().map(|h| (&h.id, h.node)))
        .chain(sc.generators.iter().map(|g| (&g.id, g.node)))
        .chain(sc.lines.iter().map(|l| (&l.id, l.from)));
    for (id, n) in units {
        if devices.device(id).is_some() || devices.echonet_device(id).is_some() {
            assets.insert(id.clone(), node(n));
        }
    }
    operator::Catalog {
        assets,
        buildings: sc.nodes.iter().map(|n| n.id.clone()).collect(),
        grids: sc.grids.iter().map(|g| g.id.clone()).collect(),
    }
}

/// `/district`: the buildings (every node) with their commanded assets, the connections'
/// demand charges.
fn district_view(
    sc: &engine::Scenario,
    id: &str,
    catalog: &operator::Catalog,
) -> serde_json::Value {
    let buildings: serde_json::Map<String, serde_json::Value> = sc
        .nodes
        .iter()
        .map(|n| {
            let assets: Vec<&String> = catalog
                .assets
                .iter()
                .filter(|(_, node)| **node == n.id)
                .map(|(a, _)| a)
                .collect();
            (n.id.clone(), serde_json::json!(assets))
        })
        .collect();
    serde_json::json!({
        "district": id,
        "timezone": sc.timezone.name(),
        "buildings": buildings,
        "grids": sc.grids.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        "demand_charge_yen_per_kw": sc.grids.iter().map(|g| (g.id.clone(), serde_json::json!(g.demand_charge_yen_per_kw))).collect::<serde_json::Map<_, _>>(),
    })
}

/// A grid outage fault must name a grid connection of the scenario.
fn check_faults(
    config: Option<&std::path::Path>,
    cfg: &RunConfig,
    file: &ScenarioFile,
) -> Result<()> {
    let sc = file.window(file.start(), 1).map_err(|e| anyhow!("{e}"))?;
    for (i, f) in cfg.faults.iter().enumerate() {
        if f.kind != config::FaultKind::GridOutage {
            continue;
        }
        if let Some(g) = &f.asset {
            if !sc.grids.iter().any(|x| x.id == *g) {
                bail!(
                    "{}: [[fault]] #{i}: field 'asset': '{g}' is not a grid connection of {} (it has: {})",
                    config.map(|p| p.display().to_string()).unwrap_or_else(|| "command line".into()),
                    file.path().display(),
                    sc.grids.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    if let Some(a) = &cfg.openadr {
        let at = config
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "command line".into());
        let all: Vec<String> = sc.grids.iter().map(|x| x.id.clone()).collect();
        dr::event::applies_to(&a.grids, &all).map_err(|e| {
            anyhow!(
                "{at}: field 'openadr.grids': {e} ({})",
                file.path().display()
            )
        })?;
        a.secret().map_err(|e| anyhow!("{at}: {e}"))?;
    }
    Ok(())
}

async fn shutdown_signal(tx: tokio::sync::watch::Sender<bool>) {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(target: "aems::run", "cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    let _ = tx.send(true);
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!(target: "aems::run", "shutdown requested");
    let _ = tx.send(true);
}

async fn main_loop(
    cfg: RunConfig,
    file: ScenarioFile,
    devices: DevicesConfig,
    fresh: bool,
) -> Result<()> {
    let first_row = *file
        .table()
        .times()
        .first()
        .ok_or_else(|| anyhow!("{}: the series has no row", file.path().display()))?;
    let data = file
        .window(first_row, file.table().len())
        .map_err(|e| anyhow!("{e}"))?;
    let row_min = file.step_minutes();
    let data_end =
        first_row + chrono::Duration::minutes(i64::from(row_min) * file.table().len() as i64);
    let store = Arc::new(Store::open(&cfg.store)?);
    let scenario_path = file.path().display().to_string();
    let stored = if fresh {
        None
    } else {
        store.get_state("resume")?
    };
    let resume: Option<Resume> = match stored {
        Some(j) => match serde_json::from_str::<Resume>(&j) {
            Ok(r) if r.district == devices.district && r.scenario == scenario_path => Some(r),
            Ok(r) => {
                tracing::warn!(target: "aems::run", "{}: holds a run of '{}' ({}): not resumed", cfg.store.display(), r.district, r.scenario);
                None
            }
            Err(e) => {
                tracing::warn!(target: "aems::run", "{}: resume state unreadable ({e}): starting afresh", cfg.store.display());
                None
            }
        },
        None => None,
    };
    let cadence = chrono::Duration::minutes(i64::from(cfg.cadence_min));
    let offset = *data.start.offset();

    // Clock, first cycle, embedded simulator.
    let mut sim_handle = None;
    let (mut clock, first_cycle) = match cfg.clock {
        ClockKind::Real => {
            let c = Clock::Real { offset };
            let now = c.now();
            let next = floor_to(now, cfg.cadence_min) + cadence;
            (c, next)
        }
        ClockKind::Simulated => {
            let start = match &resume {
                Some(r) => r.time + cadence,
                None => cfg.start.unwrap_or_else(|| file.start()),
            };
            let start = floor_to(start, cfg.step_minutes).max(floor_to(start, cfg.cadence_min));
            if let (Some(r), Some(h)) = (&resume, cfg.duration_h) {
                let end = r.origin + chrono::Duration::seconds((h * 3600.0) as i64);
                if start >= end {
                    bail!(
                        "{}: the stored run is complete (it ran from {} to {}); pass --fresh to start a new run in it, or another --store",
                        cfg.store.display(),
                        r.origin.to_rfc3339(),
                        r.time.to_rfc3339()
                    );
                }
            }
            if resume.is_some() && start >= data_end {
                bail!(
                    "{}: the stored run reached the end of the scenario's data ({}); pass --fresh to start a new run in it, or another --store",
                    cfg.store.display(),
                    data_end.to_rfc3339()
                );
            }
            if start < first_row || start >= data_end {
                bail!(
                    "simulated start {} is outside the scenario's data ({} to {})",
                    start.to_rfc3339(),
                    first_row.to_rfc3339(),
                    data_end.to_rfc3339()
                );
            }
            if cfg.simulator.enabled {
                let s = sim::start(&file, &devices, start, resume.as_ref()).await?;
                let s = Arc::new(s);
                sim_handle = Some(s.clone());
                (
                    Clock::Lockstep {
                        now: start,
                        speed: cfg.speed,
                        sim: s,
                    },
                    start,
                )
            } else {
                (
                    Clock::FreeRunning {
                        start,
                        anchor: std::time::Instant::now(),
                        speed: cfg.speed,
                    },
                    start,
                )
            }
        }
    };
    let origin = resume.as_ref().map(|r| r.origin).unwrap_or(first_cycle);
    let end = match (cfg.duration_h, cfg.clock) {
        (Some(h), _) => Some(origin + chrono::Duration::seconds((h * 3600.0) as i64)),
        (None, ClockKind::Simulated) => Some(data_end),
        (None, ClockKind::Real) => None,
    };
    let served = match &sim_handle {
        Some(s) => s.devices().clone(),
        None => devices.clone(),
    };
    let fleet = Fleet::new(served.clone());

    // MQTT.
    let link = match (&devices.mqtt, cfg.mqtt) {
        (Some(m), true) => {
            let id = m
                .client_id
                .clone()
                .unwrap_or_else(|| format!("aems-{}", devices.district));
            let l = MqttLink::start(m, &devices.district, LinkOptions::engine(id))
                .map_err(|e| anyhow!("{}: {e}", devices.path.display()))?;
            Some(Arc::new(l))
        }
        _ => None,
    };

    // HTTP.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let credentials =
        operator::Credentials::new(cfg.operator.user.clone()).map_err(|e| anyhow!("{e}"))?;
    let shared = Arc::new(Shared::new(
        credentials,
        catalog(&data, &served),
        cfg.operator.open_reads.unwrap_or(true),
    ));
    let silence = if cfg.clock == ClockKind::Real || cfg.speed == 0.0 {
        Duration::from_secs_f64(
            (3.0 * f64::from(cfg.cadence_min) * 60.0).max(30.0) + cfg.deadline_s,
        )
    } else {
        Duration::from_secs_f64(
            (3.0 * f64::from(cfg.cadence_min) * 60.0 / cfg.speed).max(30.0) + cfg.deadline_s,
        )
    };
    let district_view = district_view(&data, &devices.district, &shared.catalog);
    shared.publish(|v| {
        v.max_silence = silence;
        v.district = district_view;
    });
    let http_task = if cfg.http.is_empty() {
        None
    } else {
        let tls = match (&cfg.operator.tls_cert, &cfg.operator.tls_key) {
            (Some(cert), Some(key)) => Some(http::Tls {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (addr, task) = http::serve(&cfg.http, shared.clone(), stop_rx.clone(), tls).await?;
        println!("aems run: {scheme}://{addr}");
        let _ = std::io::stdout().flush();
        Some(task)
    };
    tokio::spawn(shutdown_signal(stop_tx.clone()));

    let sim_section: SimulationSection = csettings::section(&file, "simulation")?;
    let rows_per_horizon = ((cfg.horizon_h * 60.0) / f64::from(row_min)).ceil() as usize;
    let choice = match cfg.forecaster {
        ForecasterKind::Scenario => Choice::Perfect,
        ForecasterKind::Persistence => Choice::Persistence(i64::from(cfg.cadence_min).max(1) * 60),
        ForecasterKind::Naive => Choice::Naive,
        ForecasterKind::Model => Choice::Model(forecast::demand::ModelKind::Ridge),
    };
    let mut forecaster = choice.build(&file, &sim_section, rows_per_horizon)?;
    if resume.is_some() && choice != Choice::Perfect {
        for (t, kw) in store.base_loads()? {
            // (PostgreSQL gives its times in UTC: the forecaster reads local hours.)
            forecaster.record_base_load(t.with_timezone(&offset), kw);
        }
    }
    let settings = Settings {
        policy: cfg.controller,
        step_minutes: cfg.step_minutes,
        horizon_hours: cfg.horizon_h,
        replan_minutes: f64::from(cfg.cadence_min),
        terminal: sim_section.terminal.unwrap_or_default(),
        mip_gap: cfg.mip_gap,
        threads: cfg.threads,
        deadline_s: Some(cfg.deadline_s),
        plan_valid_minutes: cfg.schedule_valid_min,
        stale_after_s: cfg.stale_after_s,
        billing: Billing {
            ratchet_months: sim_section.demand_ratchet_months.unwrap_or(1),
        },
        peak_guard: sim_section.peak_guard.unwrap_or(true),
        forecast_scenarios: cfg.mpc.scenarios(cfg.scenarios),
    };
    // Batteries and generators no device lets the AEMS command are planned idle.
    let uncommanded = data
        .batteries
        .iter()
        .map(|b| b.id.clone())
        .chain(data.generators.iter().map(|g| g.id.clone()))
        .filter(|id| served.device(id).is_none() && served.echonet_device(id).is_none())
        .collect();
    let ledger = Ledger::new(&data);
    let mut controller = Controller::new(
        data,
        settings,
        forecaster,
        cycle::expected(&served),
        uncommanded,
    );
    if let Some(p) = &cfg.requests {
        controller.enable_requests(p.clone());
    }
    let cfg_json = format!("{cfg:?}");
    let lp_grids: Vec<String> = controller
        .data()
        .grids
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let run_id = store.begin_run(
        &devices.district,
        &scenario_path,
        if clock.is_simulated() {
            "simulated"
        } else {
            "real"
        },
        match cfg.mode {
            Mode::Control => "control",
            Mode::Observe => "observe",
        },
        &cfg_json,
        first_cycle,
        resume.is_some(),
    )?;
    let mut lp = Loop {
        cfg: cfg.clone(),
        controller,
        ledger,
        scenario: scenario_path.clone(),
        devices: served,
        fleet,
        link: link.clone(),
        store: store.clone(),
        shared: shared.clone(),
        run_id,
        origin,
        released: Default::default(),
        last_mqtt_id: 0,
        last_cycle_id: 0,
        grid: Default::default(),
        manual: Default::default(),
        paused: false,
        dr: match &cfg.openadr {
            Some(a) => {
                let grids: Vec<String> = lp_grids.clone();
                Some(dr::DrLink::new(a, &devices.district, &grids)?)
            }
            None => None,
        },
        requests_published: None,
    };
    if let Some(r) = &resume {
        lp.resume_from(r);
        tracing::info!(
            target: "aems::run",
            resumed_at = %r.time.to_rfc3339(),
            next = %first_cycle.to_rfc3339(),
            peaks = ?lp.controller.estimator().peaks(),
            "resuming the stored run"
        );
    }
    tracing::info!(
        target: "aems::run",
        scenario = %scenario_path,
        first_cycle = %first_cycle.to_rfc3339(),
        end = ?end.map(|e| e.to_rfc3339()),
        cadence_min = cfg.cadence_min,
        step_minutes = cfg.step_minutes,
        horizon_h = cfg.horizon_h,
        store = %cfg.store.display(),
        "aems run started"
    );

    let mut faults = sim::Faults::new(cfg.faults.clone());
    let tick = match cfg.clock {
        ClockKind::Real => chrono::Duration::seconds(5),
        ClockKind::Simulated => chrono::Duration::seconds(60),
    };
    let mut next = first_cycle;
    let stop = stop_rx.clone();
    'outer: loop {
        if end.is_some_and(|e| next >= e) {
            break;
        }
        while clock.now() < next {
            if *stop.borrow() {
                break 'outer;
            }
            let now = clock.advance(next, tick).await;
            if let Some(s) = &sim_handle {
                faults.apply(s, origin, now);
            }
            lp.refresh(now).await;
        }
        if *stop.borrow() {
            break;
        }
        if let Some(s) = &sim_handle {
            faults.apply(s, origin, next);
        }
        lp.cycle(next).await;
        if let Some(s) = &sim_handle {
            lp.record_simulator(next, &s.island_report());
        }
        next += cadence;
        // A cycle that overran its cadence (real time) skips the missed cycles.
        let now = clock.now();
        while next + cadence <= now {
            tracing::warn!(target: "aems::run", skipped = %next.to_rfc3339(), "cycle overran its cadence: skipped");
            next += cadence;
        }
    }

    // Shutdown: devices back to their own control, MQTT flushed, store closed.
    let now = clock.now();
    tracing::info!(target: "aems::run", time = %now.to_rfc3339(), "stopping: releasing every device");
    if cfg.mode == Mode::Control {
        lp.release_all(now).await;
    }
    lp.fleet.close().await;
    if let Some(l) = &link {
        if l.flush(Duration::from_secs(3)).await {
            let _ = store.mqtt_delivered(i64::MAX);
        }
        let _ = store.mqtt_undelivered();
    }
    drop(lp);
    if let Some(l) = link {
        if let Ok(l) = Arc::try_unwrap(l) {
            l.close(Duration::from_secs(2)).await;
        }
    }
    store.end_run(run_id)?;
    let _ = stop_tx.send(true);
    if let Some(t) = http_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
    }
    let k = shared
        .view
        .read()
        .map(|v| v.kpis.clone())
        .unwrap_or_default();
    println!(
        "aems run: stopped at {}; cost {} yen; store {}",
        now.to_rfc3339(),
        k.pointer("/district/cost_yen")
            .and_then(|v| v.as_f64())
            .map(|c| format!("{c:.0}"))
            .unwrap_or_else(|| "-".into()),
        cfg.store.display()
    );
    if let Some(s) = sim_handle {
        if let Ok(s) = Arc::try_unwrap(s) {
            s.shutdown().await;
        }
    }
    Ok(())
}
