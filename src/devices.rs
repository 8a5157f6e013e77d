//! `aems devices`: the device connectors on the command line.
//!
//! - `simulate`: serve a scenario's devices over Modbus TCP (and their telemetry over MQTT)
//!   with simple physics, instead of hardware;
//! - `read`: one telemetry snapshot of every device of a `devices.toml`;
//! - `write`: one safe write (limits, read-back, logged), for commissioning.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};

use connectors::mqtt::LinkOptions;
use connectors::sim::SimConfig;
use connectors::{DevicesConfig, Fleet, MqttLink, Setpoint, Simulator};
use engine::Scenario;

/// `aems devices …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Serve a scenario's devices over Modbus TCP with simple physics (and publish their
    /// telemetry over MQTT when the devices file has an [mqtt] broker), until Ctrl-C.
    Simulate(SimulateArgs),
    /// Read every device once and print the telemetry (table, or JSON).
    Read(ReadArgs),
    /// Write one setpoint safely (limits, ramp, read-back), for commissioning.
    ///
    /// Exit code 0 when the value is on the device (read back), 1 otherwise.
    Write(WriteArgs),
}

/// Arguments of `aems devices simulate`.
#[derive(Debug, ClapArgs)]
pub struct SimulateArgs {
    /// Scenario TOML (its batteries, HVAC units, generators, nodes).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Devices file: which asset is served where, with which profile.
    #[arg(long)]
    pub devices: PathBuf,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Stop after this many real seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration_s: Option<f64>,
    /// Real seconds between telemetry publications over MQTT.
    #[arg(long, default_value_t = 1.0)]
    pub publish_every_s: f64,
}

/// Arguments of `aems devices read`.
#[derive(Debug, ClapArgs)]
pub struct ReadArgs {
    /// Devices file.
    pub devices: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write each device's raw registers to DIR/<asset>.dump.toml.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
}

/// Arguments of `aems devices write`.
#[derive(Debug, ClapArgs)]
pub struct WriteArgs {
    /// Devices file.
    pub devices: PathBuf,
    /// Asset id.
    pub asset: String,
    /// Value, in the point's unit.
    #[arg(allow_negative_numbers = true)]
    pub value: f64,
    /// Writable point (default: `power_kw`, else `zone_setpoint_c`, else the profile's
    /// first setpoint that is not a control-mode point).
    #[arg(long)]
    pub quantity: Option<String>,
    /// Unit of the value (refused if it is not the point's).
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Print the write record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs an `aems devices` subcommand.
pub fn run(cmd: &Cmd) -> Result<ExitCode> {
    crate::init_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        match cmd {
            Cmd::Simulate(a) => simulate(a).await,
            Cmd::Read(a) => read(a).await,
            Cmd::Write(a) => write(a).await,
        }
    })
}

fn load_devices(path: &Path) -> Result<DevicesConfig> {
    DevicesConfig::load(path).map_err(|e| anyhow!("{e}"))
}

/// The simulator's view of a scenario: its physical district (`control::plant`, the same the
/// closed-loop plant runs) and a meter per grid connection and per node.
pub fn sim_config(sc: &Scenario, district: &str) -> SimConfig {
    let spec = control::plant::district_spec(sc, false);
    SimConfig {
        district: district.to_string(),
        start: sc.start,
        meters: SimConfig::every_meter(&spec),
        spec,
    }
}

async fn simulate(a: &SimulateArgs) -> Result<ExitCode> {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        bail!("--speed {}: must be a positive number", a.speed);
    }
    if !(a.publish_every_s.is_finite() && a.publish_every_s > 0.0) {
        bail!(
            "--publish-every-s {}: must be a positive number",
            a.publish_every_s
        );
    }
    let scenario = Scenario::load(&a.scenario).map_err(|e| anyhow!("{e}"))?;
    let devices = load_devices(&a.devices)?;
    let config = sim_config(&scenario, &devices.district);
    let mut sim = Simulator::start(config, &devices)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "Simulating {} devices of '{}' from {} at speed {}",
        sim.devices().assets().len(),
        scenario.name,
        sim.now().to_rfc3339(),
        a.speed
    );
    for d in &sim.devices().devices {
        println!(
            "  {:<16} {:<18} modbus {}:{} unit {}",
            d.asset, d.profile.name, d.host, d.port, d.unit_id
        );
    }
    for e in &sim.devices().echonet_devices {
        let (c, eoj) = (&e.class.name, e.eoj);
        println!(
            "  {:<16} {c:<18} echonet {}:{} eoj {eoj}",
            e.asset, e.host, e.port
        );
    }
    sim.run_clock(a.speed, Duration::from_millis(200));
    let link = match &devices.mqtt {
        Some(m) => {
            let link = Arc::new(
                MqttLink::start(
                    m,
                    &devices.district,
                    LinkOptions::plain(format!("aems-sim-{}", devices.district)),
                )
                .map_err(|e| anyhow!("{}: {e}", a.devices.display()))?,
            );
            sim.publish_telemetry(link.clone(), Duration::from_secs_f64(a.publish_every_s));
            println!(
                "  telemetry on mqtt://{}:{}/{}",
                m.host,
                m.port,
                link.topics().all_telemetry()
            );
            Some(link)
        }
        None => None,
    };
    println!("Ctrl-C stops.");
    match a.duration_s {
        Some(s) if s.is_finite() && s >= 0.0 => {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs_f64(s)) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Some(s) => bail!("--duration-s {s}: must be a number ≥ 0"),
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    println!("Stopped at simulated {}", sim.now().to_rfc3339());
    sim.shutdown().await;
    drop(link);
    Ok(ExitCode::SUCCESS)
}

async fn read(a: &ReadArgs) -> Result<ExitCode> {
    let devices = load_devices(&a.devices)?;
    let fleet = Fleet::new(devices);
    let snapshot = fleet.read_all().await;
    if let Some(dir) = &a.dump {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for d in fleet.devices() {
            match d.dump().await {
                Ok(mut dump) => {
                    dump.note = format!(
                        "{} at {} unit {}, recorded {}",
                        d.asset(),
                        d.entry().endpoint(),
                        d.entry().unit_id,
                        chrono::Utc::now().to_rfc3339()
                    );
                    let path = dir.join(format!("{}.dump.toml", d.asset()));
                    std::fs::write(&path, dump.to_toml())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                Err(e) => eprintln!("{}: no dump: {e}", d.asset()),
            }
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", snapshot.to_table());
    }
    fleet.close().await;
    let failed = snapshot
        .assets
        .values()
        .filter(|a| a.error.is_some())
        .count();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {failed} device(s) could not be read");
        ExitCode::from(1)
    })
}

async fn write(a: &WriteArgs) -> Result<ExitCode> {
    let devices = load_devices(&a.devices)?;
    let quantity = match &a.quantity {
        Some(q) => q.clone(),
        None => devices
            .default_setpoint(&a.asset)
            .map_err(|e| anyhow!("{e}"))?,
    };
    let fleet = Fleet::new(devices.clone());
    let record = fleet
        .write(&Setpoint::new(&a.asset, &quantity, a.value, &a.unit))
        .await;
    fleet.close().await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "{} {} {}.{}: requested {} → written {}{}",
            record.time.to_rfc3339(),
            record.device,
            record.asset,
            record.quantity,
            record.requested,
            record
                .written
                .map(|v| v.to_string())
                .unwrap_or_else(|| "nothing".into()),
            record
                .clamped
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
        println!(
            "  register {}: {}",
            record.register.as_deref().unwrap_or("-"),
            serde_json::to_string(&record.outcome)?
        );
    }
    Ok(if record.is_confirmed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
