//! `[[generator]]`: a dispatchable fuel-burning generator (e.g. a gas engine), with the
//! extension keys of an emergency generator (`docs/extensions.md`, *Resilience*): runs only
//! during an outage, starts without the grid, burns a fuel stock.

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
    /// An emergency generator: it runs only at steps when a grid connection is out.
    pub emergency_only: bool,
    /// Whether it can start while a grid connection is out (black start). One that cannot
    /// keeps running through an outage if it was running, but does not start in one.
    pub black_start: bool,
    /// Its fuel store, when fuel is limited (none: as much as it burns).
    pub fuel: Option<FuelStock>,
}

/// A limited fuel store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FuelStock {
    /// Fuel held at the start of the horizon, kWh of fuel.
    pub initial_kwh: f64,
    /// The store's law: capacity and refuelling rate.
    pub tank: physics::FuelTank,
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
    #[serde(default)]
    pub emergency_only: Option<bool>,
    #[serde(default)]
    pub black_start: Option<bool>,
    #[serde(default)]
    pub fuel_stock_kwh: Option<f64>,
    #[serde(default)]
    pub fuel_capacity_kwh: Option<f64>,
    #[serde(default)]
    pub refuel_kwh_per_h: Option<f64>,
    #[serde(default)]
    pub fuel_kwh_per_l: Option<f64>,
    #[serde(default)]
    pub fuel_stock_l: Option<f64>,
    #[serde(default)]
    pub fuel_capacity_l: Option<f64>,
    #[serde(default)]
    pub refuel_l_per_h: Option<f64>,
}

impl RawGenerator {
    /// A fuel quantity given in kWh (`kwh_key`) or litres (`l_key`, with `fuel_kwh_per_l`),
    /// in kWh; not both.
    fn fuel_quantity(
        &self,
        r: &Resolver<'_>,
        (kwh_key, kwh): (&str, Option<f64>),
        (l_key, l): (&str, Option<f64>),
    ) -> Result<Option<f64>, ScenarioError> {
        match (kwh, l) {
            (Some(_), Some(_)) => Err(r
                .ctx
                .err(l_key, format!("give {kwh_key} or {l_key}, not both"))),
            (Some(v), None) => Ok(Some(r.nonneg(kwh_key, v)?)),
            (None, Some(v)) => {
                let per_l = self.fuel_kwh_per_l.ok_or_else(|| {
                    r.ctx.err(
                        "fuel_kwh_per_l",
                        format!("{l_key} is in litres: fuel_kwh_per_l (kWh of fuel per litre) is needed"),
                    )
                })?;
                Ok(Some(r.nonneg(l_key, v)? * per_l))
            }
            (None, None) => Ok(None),
        }
    }

    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Generator, ScenarioError> {
        let min_kw = r.nonneg("min_kw", self.min_kw)?;
        let max_kw = r.nonneg("max_kw", self.max_kw)?;
        r.ordered("min_kw", min_kw, "max_kw", max_kw)?;
        if let Some(v) = self.fuel_kwh_per_l {
            r.positive("fuel_kwh_per_l", v)?;
        }
        let stock = self.fuel_quantity(
            r,
            ("fuel_stock_kwh", self.fuel_stock_kwh),
            ("fuel_stock_l", self.fuel_stock_l),
        )?;
        let capacity = self.fuel_quantity(
            r,
            ("fuel_capacity_kwh", self.fuel_capacity_kwh),
            ("fuel_capacity_l", self.fuel_capacity_l),
        )?;
        let refuel = self.fuel_quantity(
            r,
            ("refuel_kwh_per_h", self.refuel_kwh_per_h),
            ("refuel_l_per_h", self.refuel_l_per_h),
        )?;
        let fuel = match (stock, capacity, refuel) {
            (None, None, None) => None,
            (None, _, _) => {
                let key = if self.fuel_kwh_per_l.is_some() {
                    "fuel_stock_l"
                } else {
                    "fuel_stock_kwh"
                };
                return Err(r.ctx.err(
                    key,
                    "a fuel capacity or refuelling rate needs the fuel stock at the start",
                ));
            }
            (Some(initial_kwh), capacity, refuel) => {
                let capacity_kwh = capacity.unwrap_or(initial_kwh);
                if initial_kwh > capacity_kwh {
                    return Err(r.ctx.err(
                        "fuel_stock_kwh",
                        format!("{initial_kwh} kWh is above the fuel capacity {capacity_kwh} kWh"),
                    ));
                }
                Some(FuelStock {
                    initial_kwh,
                    tank: physics::FuelTank {
                        capacity_kwh,
                        refuel_kwh_per_h: refuel.unwrap_or(0.0),
                    },
                })
            }
        };
        let emergency_only = self.emergency_only.unwrap_or(false);
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
            emergency_only,
            black_start: self.black_start.unwrap_or(emergency_only),
            fuel,
            id: self.id,
        })
    }
}
