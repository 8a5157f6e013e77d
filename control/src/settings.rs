//! The controller's settings, and where they come from: the scenario's `[simulation]`
//! section (read by `aems simulate`, `aems sweep` and `aems run` alike) and the `[kpi]`
//! section, overridden by the command line or the live loop's settings file.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use engine::kpi::{Billing, Target};
use engine::ScenarioFile;

/// Who decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Receding-horizon optimisation with forecasts, under the fast layer.
    #[default]
    Mpc,
    /// The rule-based controller ([`crate::rule`]).
    Rule,
    /// No AEMS: every device on its own control ([`crate::baseline`]).
    None,
}

impl Policy {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Mpc => "mpc",
            Policy::Rule => "rule",
            Policy::None => "none",
        }
    }
}

/// Battery energy a plan must leave at its horizon's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Terminal {
    /// At least what it had when the plan was made (lowered to what full charging can
    /// reach, so that a short horizon stays feasible).
    #[default]
    Initial,
    /// Only the battery's `min_kwh`.
    Free,
}

/// How the controller works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Who decides.
    pub policy: Policy,
    /// Step of the plan, minutes (divides the scenario's step; and 30 when shorter).
    pub step_minutes: u32,
    /// Plan length, hours (cut at the end of the data).
    pub horizon_hours: f64,
    /// A new plan is made when the current one is this old, minutes.
    pub replan_minutes: f64,
    /// Battery energy at each plan's end.
    pub terminal: Terminal,
    /// Relative MIP gap of each plan.
    pub mip_gap: f64,
    /// HiGHS threads (None: HiGHS chooses).
    pub threads: Option<u32>,
    /// Wall seconds a solve may take (None: no limit).
    pub deadline_s: Option<f64>,
    /// How long a plan may stand in for failed solves, minutes.
    pub plan_valid_minutes: f64,
    /// A reading older than this is stale, seconds.
    pub stale_after_s: f64,
    /// Demand charge billing.
    pub billing: Billing,
    /// The fast layer under the plan (the peak guard).
    pub peak_guard: bool,
    /// Forecast scenarios of each plan (`--mpc scenario`): 0 or 1 plans on the point
    /// forecast (deterministic); N ≥ 2 plans over up to N error analogs at once with one
    /// shared first step ([`crate::fan`]).
    pub forecast_scenarios: usize,
}

impl Settings {
    /// Plan steps in the horizon.
    pub fn horizon_steps(&self) -> usize {
        ((self.horizon_hours * 60.0 / f64::from(self.step_minutes)).round() as usize).max(1)
    }
}

/// `[simulation]`: the controller's and the plant's settings in a scenario file.
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
    /// Plant behaviour: batteries at a node with its own meter and no lines keep to it when
    /// exports are unpaid, whatever their setpoint — never discharging into an export,
    /// always taking PV surplus, within each step (an inverter in self-consumption mode;
    /// default false, and reported when on).
    pub batteries_follow_meter: Option<bool>,
    /// The fast layer under the plan (default true).
    pub peak_guard: Option<bool>,
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

impl KpiSection {
    /// The zero-carbon target, if the section declares a base year and its CO2.
    pub fn target(&self) -> Option<Target> {
        Some(Target {
            base_year: self.base_year?,
            base_year_co2_kg: self.base_year_co2_kg?,
            target_year: self.target_year.unwrap_or(2030),
            target_reduction: self.target_reduction.unwrap_or(0.46),
        })
    }
}

/// Reads an extension section of the scenario file, naming the file and section on error.
pub fn section<T: for<'de> Deserialize<'de> + Default>(
    file: &ScenarioFile,
    name: &str,
) -> Result<T> {
    match file.extension(name) {
        None => Ok(T::default()),
        Some(table) => {
            let value = toml::Value::Table(table.clone());
            serde_path_to_error::deserialize(value).map_err(|e| {
                anyhow!(
                    "{}: [{name}]: field '{}': {}",
                    file.path().display(),
                    e.path(),
                    e.inner().message()
                )
            })
        }
    }
}

/// Checks a positive number of hours that is a whole number of `step_minutes` steps.
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
