//! `[[battery]]`: a stationary battery with charge/discharge limits and efficiencies.

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::Resolver;

/// A battery. Its stored energy lives on step boundaries and must stay in
/// `[min_kwh, max_kwh]`; it never charges and discharges in the same step.
#[derive(Debug, Clone, PartialEq)]
pub struct Battery {
    /// Unique id.
    pub id: String,
    /// Index of the node it is attached to.
    pub node: usize,
    /// Nameplate energy, kWh (the power curve's state of charge is relative to it).
    pub capacity_kwh: f64,
    /// Lowest stored energy, kWh.
    pub min_kwh: f64,
    /// Highest stored energy, kWh.
    pub max_kwh: f64,
    /// Largest charging power, kW.
    pub charge_kw: f64,
    /// Largest discharging power, kW.
    pub discharge_kw: f64,
    /// Share of charging power stored, in (0, 1].
    pub charge_efficiency: f64,
    /// Share of stored energy delivered when discharging, in (0, 1].
    pub discharge_efficiency: f64,
    /// Share of stored energy lost per hour.
    pub self_discharge_per_hour: f64,
    /// Stored energy at the start of the horizon, kWh.
    pub initial_kwh: f64,
    /// Least stored energy at the end of the horizon, kWh.
    pub terminal_kwh: f64,
    /// Wear cost per kWh discharged, yen/kWh.
    pub degradation_yen_per_kwh: f64,
    /// Charge and discharge power limit against the state of charge (extension
    /// `power_curve`, `docs/extensions.md`).
    pub power_curve: Option<physics::PowerCurve>,
    /// Part-load efficiency (extension `efficiency_curve`): the plant's law; the model
    /// takes `charge_efficiency = discharge_efficiency` = its lowest one-way efficiency.
    pub efficiency_curve: Option<physics::EfficiencyCurve>,
}

impl Battery {
    /// Its ratings, for the laws of [`physics::battery`].
    pub fn physics(&self) -> physics::Battery {
        physics::Battery {
            min_kwh: self.min_kwh,
            max_kwh: self.max_kwh,
            charge_kw: self.charge_kw,
            discharge_kw: self.discharge_kw,
            charge_efficiency: self.charge_efficiency,
            discharge_efficiency: self.discharge_efficiency,
            self_discharge_per_hour: self.self_discharge_per_hour,
            capacity_kwh: self.capacity_kwh,
            power_curve: self.power_curve,
            efficiency_curve: self.efficiency_curve,
        }
    }

    /// The dispatch model's law: [`Battery::physics`] with the constant efficiencies in
    /// place of an efficiency curve (never more energy than the curve: see
    /// [`physics::EfficiencyCurve::lowest_one_way`]). The post-solve check holds a plan to it.
    pub fn model_law(&self) -> physics::Battery {
        physics::Battery {
            efficiency_curve: None,
            ..self.physics()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBattery {
    pub id: String,
    pub node: String,
    pub capacity_kwh: f64,
    #[serde(default)]
    pub min_kwh: Option<f64>,
    #[serde(default)]
    pub max_kwh: Option<f64>,
    pub charge_kw: f64,
    pub discharge_kw: f64,
    #[serde(default)]
    pub charge_efficiency: Option<f64>,
    #[serde(default)]
    pub discharge_efficiency: Option<f64>,
    #[serde(default)]
    pub self_discharge_per_hour: Option<f64>,
    pub initial_kwh: f64,
    #[serde(default)]
    pub terminal_kwh: Option<f64>,
    #[serde(default)]
    pub degradation_yen_per_kwh: Option<f64>,
    #[serde(default)]
    pub power_curve: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    pub efficiency_curve: Option<Vec<[f64; 2]>>,
}

impl RawBattery {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Battery, ScenarioError> {
        let capacity_kwh = r.nonneg("capacity_kwh", self.capacity_kwh)?;
        let min_kwh = r.nonneg("min_kwh", self.min_kwh.unwrap_or(0.0))?;
        let max_kwh = r.nonneg("max_kwh", self.max_kwh.unwrap_or(capacity_kwh))?;
        r.ordered("min_kwh", min_kwh, "max_kwh", max_kwh)?;
        let initial_kwh = r.nonneg("initial_kwh", self.initial_kwh)?;
        if initial_kwh < min_kwh || initial_kwh > max_kwh {
            return Err(r.ctx.err(
                "initial_kwh",
                format!("{initial_kwh} outside [min_kwh, max_kwh] = [{min_kwh}, {max_kwh}]"),
            ));
        }
        let terminal_kwh = r.nonneg("terminal_kwh", self.terminal_kwh.unwrap_or(initial_kwh))?;
        if terminal_kwh > max_kwh {
            return Err(r.ctx.err(
                "terminal_kwh",
                format!("{terminal_kwh} is above max_kwh = {max_kwh}"),
            ));
        }
        let self_discharge = r.finite(
            "self_discharge_per_hour",
            self.self_discharge_per_hour.unwrap_or(0.0),
        )?;
        let loss_per_step = self_discharge * r.step_hours;
        if !(0.0..=1.0).contains(&loss_per_step) {
            return Err(r.ctx.err(
                "self_discharge_per_hour",
                format!(
                    "{self_discharge} per hour × {} h = {loss_per_step} per step, outside [0, 1]",
                    r.step_hours
                ),
            ));
        }
        let power_curve = match &self.power_curve {
            None => None,
            Some(points) => {
                if capacity_kwh <= 0.0 {
                    return Err(r.ctx.err(
                        "power_curve",
                        "needs capacity_kwh > 0 (its state of charge is relative to it)",
                    ));
                }
                Some(physics::PowerCurve::new(points).map_err(|e| r.ctx.err("power_curve", e))?)
            }
        };
        let efficiency_curve = match &self.efficiency_curve {
            None => None,
            Some(points) => {
                for (key, given) in [
                    ("charge_efficiency", self.charge_efficiency),
                    ("discharge_efficiency", self.discharge_efficiency),
                ] {
                    if given.is_some() {
                        return Err(r.ctx.err(
                            key,
                            "given with efficiency_curve, which sets the efficiencies: keep one",
                        ));
                    }
                }
                Some(
                    physics::EfficiencyCurve::new(points)
                        .map_err(|e| r.ctx.err("efficiency_curve", e))?,
                )
            }
        };
        let (charge_efficiency, discharge_efficiency) = match &efficiency_curve {
            Some(c) => (c.lowest_one_way(), c.lowest_one_way()),
            None => (
                r.efficiency("charge_efficiency", self.charge_efficiency.unwrap_or(1.0))?,
                r.efficiency(
                    "discharge_efficiency",
                    self.discharge_efficiency.unwrap_or(1.0),
                )?,
            ),
        };
        Ok(Battery {
            power_curve,
            efficiency_curve,
            charge_efficiency,
            discharge_efficiency,
            node: r.node("node", &self.node)?,
            capacity_kwh,
            min_kwh,
            max_kwh,
            charge_kw: r.nonneg("charge_kw", self.charge_kw)?,
            discharge_kw: r.nonneg("discharge_kw", self.discharge_kw)?,
            self_discharge_per_hour: self_discharge,
            initial_kwh,
            terminal_kwh,
            degradation_yen_per_kwh: r.finite(
                "degradation_yen_per_kwh",
                self.degradation_yen_per_kwh.unwrap_or(0.0),
            )?,
            id: self.id,
        })
    }
}
