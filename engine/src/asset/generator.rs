//! `[[generator]]`: a dispatchable fuel-burning generator (e.g. a gas engine).

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::Resolver;

/// A generator: off, or on between `min_kw` and `max_kw`, with a start-up cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Generator {
    /// Unique id.
    pub id: String,
    /// Index of the node it feeds.
    pub node: usize,
    /// Least power when on, kW.
    pub min_kw: f64,
    /// Largest power, kW.
    pub max_kw: f64,
    /// Electric output / fuel input, in (0, 1].
    pub efficiency: f64,
    /// Fuel price per kWh of fuel, yen/kWh.
    pub fuel_price_yen_per_kwh: f64,
    /// CO2 per kWh of fuel, kg/kWh.
    pub fuel_carbon_kg_per_kwh: f64,
    /// Cost of each start, yen.
    pub startup_cost_yen: f64,
    /// Whether it runs just before the horizon.
    pub initially_on: bool,
}

impl Generator {
    /// Its range, for [`physics::generator`].
    pub fn physics(&self) -> physics::Generator {
        physics::Generator {
            min_kw: self.min_kw,
            max_kw: self.max_kw,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGenerator {
    pub id: String,
    pub node: String,
    pub min_kw: f64,
    pub max_kw: f64,
    pub efficiency: f64,
    pub fuel_price_yen_per_kwh: f64,
    pub fuel_carbon_kg_per_kwh: f64,
    #[serde(default)]
    pub startup_cost_yen: Option<f64>,
    #[serde(default)]
    pub initially_on: Option<bool>,
}

impl RawGenerator {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Generator, ScenarioError> {
        let min_kw = r.nonneg("min_kw", self.min_kw)?;
        let max_kw = r.nonneg("max_kw", self.max_kw)?;
        r.ordered("min_kw", min_kw, "max_kw", max_kw)?;
        Ok(Generator {
            node: r.node("node", &self.node)?,
            min_kw,
            max_kw,
            efficiency: r.efficiency("efficiency", self.efficiency)?,
            fuel_price_yen_per_kwh: r
                .finite("fuel_price_yen_per_kwh", self.fuel_price_yen_per_kwh)?,
            fuel_carbon_kg_per_kwh: r
                .nonneg("fuel_carbon_kg_per_kwh", self.fuel_carbon_kg_per_kwh)?,
            startup_cost_yen: r.nonneg("startup_cost_yen", self.startup_cost_yen.unwrap_or(0.0))?,
            initially_on: self.initially_on.unwrap_or(false),
            id: self.id,
        })
    }
}
