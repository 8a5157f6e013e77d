//! The embedded device simulator (`--simulate`): the devices file served over Modbus TCP
//! by `connectors::Simulator` in this process, its physics stepped by the loop's clock;
//! and the scheduled faults of `[[fault]]` (devices that fail, sensors that read NaN, grid
//! connections lost).
//!
//! A resumed run starts the simulated district where the stored run left it: at the CSV
//! row holding the resume time, with the batteries' energy and the zones' temperatures of
//! the last stored cycle, advanced (devices on their own control) to the resume time.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{anyhow, Result};
use chrono::{DateTime, FixedOffset};
use connectors::sim::Fault;
use connectors::{DevicesConfig, Simulator};
use engine::ScenarioFile;

use super::clock::floor_to;
use super::config::{FaultConfig, FaultKind};
use super::cycle::Resume;

/// Starts the simulator at simulated time `at`.
pub async fn start(
    file: &ScenarioFile,
    devices: &DevicesConfig,
    at: DateTime<FixedOffset>,
    resume: Option<&Resume>,
) -> Result<Simulator> {
    let row = floor_to(at, file.step_minutes());
    let first = file
        .table()
        .row_of(row)
        .ok_or_else(|| anyhow!("no row of the scenario's series at {}", row.to_rfc3339()))?;
    let mut sc = file
        .window(row, file.table().len() - first)
        .map_err(|e| anyhow!("{e}"))?;
    if let Some(r) = resume {
        for b in &mut sc.batteries {
            if let Some(e) = r.battery_kwh.get(&b.id) {
                b.initial_kwh = e.clamp(b.min_kwh, b.max_kwh);
            }
        }
        for h in &mut sc.hvacs {
            if let Some(t) = r.zone_c.get(&h.id) {
                h.initial_temp_c = *t;
            }
        }
    }
    let config = crate::devices::sim_config(&sc, &devices.district);
    let sim = Simulator::start(config, devices)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let lead = (at - row).num_milliseconds();
    if lead > 0 {
        sim.step(Duration::from_millis(lead as u64));
    }
    for d in &sim.devices().devices {
        tracing::info!(target: "aems::run", asset = %d.asset, profile = %d.profile.name, "simulated at {}:{} unit {}", d.host, d.port, d.unit_id);
    }
    Ok(sim)
}

/// The fault schedule and which faults are on.
#[derive(Debug, Default)]
pub struct Faults {
    list: Vec<FaultConfig>,
    on: BTreeSet<usize>,
}

impl Faults {
    /// The schedule.
    pub fn new(list: Vec<FaultConfig>) -> Self {
        Self {
            list,
            on: BTreeSet::new(),
        }
    }

    /// Switches device faults and grid outages on and off for simulated time `now` (hours
    /// counted from `origin`). Solve faults are read by the cycle itself.
    pub fn apply(
        &mut self,
        sim: &Simulator,
        origin: DateTime<FixedOffset>,
        now: DateTime<FixedOffset>,
    ) {
        let h = (now - origin).num_seconds() as f64 / 3600.0;
        for (i, f) in self.list.iter().enumerate() {
            if f.kind == FaultKind::SolveDeadline {
                continue;
            }
            let active = f.from_h <= h && h < f.until_h;
            if active == self.on.contains(&i) {
                continue;
            }
            if f.kind == FaultKind::GridOutage {
                let grids = match &f.asset {
                    Some(g) => vec![g.clone()],
                    None => sim.grid_ids(),
                };
                for g in &grids {
                    match sim.set_grid_lost(g, active) {
                        Ok(()) => {
                            tracing::warn!(target: "aems::run", grid = %g, active, time = %now.to_rfc3339(), "simulated fault: grid outage (PCC breaker {})", if active { "open" } else { "closed" });
                        }
                        Err(e) => tracing::error!(target: "aems::run", "fault #{i}: {e}"),
                    }
                }
                if active {
                    self.on.insert(i);
                } else {
                    self.on.remove(&i);
                }
                continue;
            }
            let Some(asset) = f.asset.as_deref() else {
                continue;
            };
            let r = match f.kind {
                FaultKind::Nan => sim.override_reading(
                    asset,
                    f.quantity.as_deref().unwrap_or("power_kw"),
                    active.then_some(f64::NAN),
                ),
                kind => {
                    let fault = match kind {
                        FaultKind::NoResponse => Fault::NoResponse,
                        FaultKind::Exception => Fault::Exception(4),
                        _ => Fault::CloseConnection,
                    };
                    sim.set_fault(asset, active.then_some(fault))
                }
            };
            match r {
                Ok(()) => {
                    tracing::warn!(target: "aems::run", asset, kind = ?f.kind, active, time = %now.to_rfc3339(), "simulated fault");
                    if active {
                        self.on.insert(i);
                    } else {
                        self.on.remove(&i);
                    }
                }
                Err(e) => tracing::error!(target: "aems::run", "fault #{i}: {e}"),
            }
        }
    }
}
