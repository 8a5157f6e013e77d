//! Simulation settings: the scenario's `[simulation]` and `[kpi]` sections, overridden
//! from the command line.

use std::path::Path;

use anyhow::{bail, Result};
use serde::Deserialize;

/// Battery energy the controller must leave at the end of each planning horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Terminal {
    /// At least the energy it had when the plan was made (no draining at the horizon's end).
    Initial,
    /// Only the battery's `min_kwh`.
    Free,
}

/// `[simulation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSection {
    /// Planning horizon, hours (default 24).
    pub horizon_hours: Option<f64>,
    /// Hours between replans (default 1).
    pub replan_hours: Option<f64>,
    /// Battery energy at the horizon's end (default `initial`).
    pub terminal: Option<Terminal>,
    /// Calendar of the demand models: `japan` or `none` (default: `japan` for Asia/Tokyo).
    pub holidays: Option<String>,
    /// Closed days `MM-DD..MM-DD` (default: New Year and Obon with Japanese holidays).
    pub closed_days: Option<Vec<String>>,
    /// Temperature column of the series CSV, for the forecast models.
    pub weather_temp_column: Option<String>,
    /// Irradiance columns of the series CSV (summed), for the forecast models.
    pub weather_solar_columns: Option<Vec<String>>,
    /// Demand charge billed on the largest peak of this many months (12: the Japanese
    /// high-voltage ratchet; default 1: each month on its own peak).
    pub demand_ratchet_months: Option<usize>,
    /// Relative MIP gap of each plan (default 1e-6).
    pub mip_gap: Option<f64>,
    /// Batteries at a node with its own meter keep to it when exports are unpaid: never
    /// discharging into an export, always taking PV surplus (default true).
    pub batteries_follow_meter: Option<bool>,
}

/// `[kpi]`: zero-carbon reporting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiSection {
    /// The declared base fiscal year (e.g. 2013).
    pub base_year: Option<i32>,
    /// The district's CO2 in the base year, kg.
    pub base_year_co2_kg: Option<f64>,
    /// The target fiscal year (default 2030).
    pub target_year: Option<i32>,
    /// The reduction by the target year (default 0.46).
    pub target_reduction: Option<f64>,
}

/// Reads an extension section of the scenario file, naming the file and section on error.
pub fn section<T: for<'de> Deserialize<'de> + Default>(
    file: &engine::ScenarioFile,
    name: &str,
) -> Result<T> {
    match file.extension(name) {
        None => Ok(T::default()),
        Some(table) => {
            let value = toml::Value::Table(table.clone());
            serde_path_to_error::deserialize(value).map_err(|e| {
                anyhow::anyhow!(
                    "{}: [{name}]: field '{}': {}",
                    file.path().display(),
                    e.path(),
                    e.inner().message()
                )
            })
        }
    }
}

/// Checks a positive number of hours that is a whole number of steps.
pub fn steps_of(hours: f64, step_minutes: u32, what: &str, path: &Path) -> Result<usize> {
    let steps = hours * 60.0 / f64::from(step_minutes);
    if hours.is_nan() || hours <= 0.0 || (steps - steps.round()).abs() > 1e-9 || steps.round() < 1.0
    {
        bail!(
            "{}: {what} = {hours} h is not a positive whole number of {step_minutes}-minute steps",
            path.display()
        );
    }
    Ok(steps.round() as usize)
}
