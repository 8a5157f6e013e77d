//! A simulation's battery decisions in the CityLearn 2022 scorer's format
//! (`aems simulate --export-citylearn FILE.csv`), so that CityLearn's own battery physics
//! and KPIs judge them (`../shared/tools/citylearn/evaluate.py FILE.csv --phase phase_1`).
//!
//! One row per battery and step: `time_step` is the step's row in the scenario's data (the
//! CityLearn episode step when the scenario was made by `aems scenario import-citylearn`,
//! whose row 0 is the data set's), `building` the battery's node, and
//! `battery_electricity_consumption` the AC energy the controller asked of the battery in
//! that step, kWh (+ into the battery): what a CityLearn agent sends as its action, fixed
//! before the step. The scorer replays it through CityLearn's battery model, which applies
//! its own limits; what our plant made of it is not used. A battery released to its own
//! control is exported as idle (0), CityLearn having no such mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, FixedOffset};
use control::Cycle;
use engine::Scenario;
use physics::device::Command;

/// The header the scorer reads.
pub const COLUMNS: [&str; 3] = ["time_step", "building", "battery_electricity_consumption"];

/// A CityLearn export being written.
pub struct CityLearnExport {
    out: csv::Writer<std::fs::File>,
    path: PathBuf,
    /// Row 0 of the data.
    start: DateTime<FixedOffset>,
    step_minutes: i64,
    /// Battery id → its node's id (the building).
    building: BTreeMap<String, String>,
    rows: usize,
}

impl CityLearnExport {
    /// Creates `path` for the batteries of `data` (the scenario's whole series: its row 0 is
    /// time step 0). Each battery must sit on its own node, the scorer knowing one battery
    /// per building.
    pub fn create(path: &Path, data: &Scenario) -> Result<Self> {
        if data.batteries.is_empty() {
            bail!(
                "--export-citylearn {}: the scenario {} has no battery to export",
                path.display(),
                data.path.display()
            );
        }
        let mut building = BTreeMap::new();
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for b in &data.batteries {
            let node = data.nodes[b.node].id.as_str();
            if let Some(other) = seen.insert(node, &b.id) {
                bail!(
                    "--export-citylearn {}: batteries '{other}' and '{}' share node '{node}'; \
                     the CityLearn scorer takes one battery per building",
                    path.display(),
                    b.id
                );
            }
            building.insert(b.id.clone(), node.to_string());
        }
        let file = std::fs::File::create(path)
            .with_context(|| format!("--export-citylearn {}: cannot create it", path.display()))?;
        let mut out = csv::Writer::from_writer(file);
        out.write_record(COLUMNS)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            out,
            path: path.to_path_buf(),
            start: data.start,
            step_minutes: i64::from(data.step_minutes),
            building,
            rows: 0,
        })
    }

    /// Adds a cycle's battery decisions (one step).
    pub fn add(&mut self, c: &Cycle) -> Result<()> {
        let minutes = (c.time - self.start).num_minutes();
        if minutes < 0 || minutes % self.step_minutes != 0 {
            bail!(
                "--export-citylearn {}: cycle at {} is not on a step of the data from {}",
                self.path.display(),
                c.time.to_rfc3339(),
                self.start.to_rfc3339()
            );
        }
        let time_step = (minutes / self.step_minutes).to_string();
        let step_h = self.step_minutes as f64 / 60.0;
        for (asset, cmd) in &c.decisions.commands {
            let Some(building) = self.building.get(asset) else {
                continue; // not a battery
            };
            let kwh = match cmd {
                Command::Battery { power_kw } => -power_kw * step_h,
                _ => 0.0,
            };
            self.out
                .write_record([time_step.as_str(), building, &format!("{kwh}")])
                .with_context(|| format!("cannot write {}", self.path.display()))?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Flushes the file; the rows written.
    pub fn finish(mut self) -> Result<usize> {
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(self.rows)
    }
}
