//! `[[hvac]]`: an HVAC unit conditioning one thermal zone (first-order RC model).

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// Whether the unit removes heat from its zone or adds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HvacMode {
    /// Electric power removes `cop · q` of heat.
    Cooling,
    /// Electric power adds `cop · q` of heat.
    Heating,
}

impl HvacMode {
    /// The sign `s` of the spec: +1 for cooling, −1 for heating.
    pub fn sign(self) -> f64 {
        match self {
            HvacMode::Cooling => 1.0,
            HvacMode::Heating => -1.0,
        }
    }
}

/// An HVAC unit and its zone. Power when on lies in `[min_kw, max_kw]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hvac {
    /// Unique id.
    pub id: String,
    /// Index of the node it draws from.
    pub node: usize,
    /// Cooling or heating.
    pub mode: HvacMode,
    /// Least electric power when on, kW.
    pub min_kw: f64,
    /// Largest electric power, kW.
    pub max_kw: f64,
    /// Coefficient of performance per step.
    pub cop: Vec<f64>,
    /// Thermal resistance to outdoors, K/kW.
    pub r_k_per_kw: f64,
    /// Thermal capacitance, kWh/K.
    pub c_kwh_per_k: f64,
    /// Zone temperature at the start, °C.
    pub initial_temp_c: f64,
    /// Outdoor temperature per step, °C.
    pub outdoor_temp_c: Vec<f64>,
    /// Thermal gains per step (people, sun, equipment), kW.
    pub heat_gain_kw: Vec<f64>,
    /// Lower comfort bound per step, °C.
    pub comfort_low_c: Vec<f64>,
    /// Upper comfort bound per step, °C.
    pub comfort_high_c: Vec<f64>,
    /// Penalty per kelvin-hour outside the band, yen/(K·h).
    pub comfort_penalty_yen_per_kh: f64,
}

impl Hvac {
    /// The zone and the unit, for the laws of [`physics::zone`].
    pub fn zone(&self) -> physics::Zone {
        physics::Zone {
            r_k_per_kw: self.r_k_per_kw,
            c_kwh_per_k: self.c_kwh_per_k,
            cooling: self.mode == HvacMode::Cooling,
            min_kw: self.min_kw,
            max_kw: self.max_kw,
        }
    }

    /// The zone's weather, gains and COP at step `t`.
    pub fn conditions(&self, t: usize) -> physics::Conditions {
        physics::Conditions {
            outdoor_c: self.outdoor_temp_c[t],
            gain_kw: self.heat_gain_kw[t],
            cop: self.cop[t],
        }
    }

    /// The zero-order-hold decay factor `a = exp(−Δ / (R·C))` for steps of `step_hours`.
    pub fn decay(&self, step_hours: f64) -> f64 {
        self.zone().decay(step_hours)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHvac {
    pub id: String,
    pub node: String,
    pub mode: HvacMode,
    pub min_kw: f64,
    pub max_kw: f64,
    pub cop: SeriesSpec,
    pub r_k_per_kw: f64,
    pub c_kwh_per_k: f64,
    pub initial_temp_c: f64,
    pub outdoor_temp_c: SeriesSpec,
    pub heat_gain_kw: SeriesSpec,
    pub comfort_low_c: SeriesSpec,
    pub comfort_high_c: SeriesSpec,
    pub comfort_penalty_yen_per_kh: f64,
}

impl RawHvac {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Hvac, ScenarioError> {
        let min_kw = r.nonneg("min_kw", self.min_kw)?;
        let max_kw = r.nonneg("max_kw", self.max_kw)?;
        r.ordered("min_kw", min_kw, "max_kw", max_kw)?;
        let cop = r.series("cop", &self.cop)?;
        r.check_series("cop", &cop, |x| x > 0.0, "must be positive")?;
        let low = r.series("comfort_low_c", &self.comfort_low_c)?;
        let high = r.series("comfort_high_c", &self.comfort_high_c)?;
        if let Some(t) = (0..low.len()).find(|&t| low[t] > high[t]) {
            return Err(r.ctx.err(
                "comfort_low_c",
                format!(
                    "comfort_low_c = {} is above comfort_high_c = {} at step {t} ({})",
                    low[t],
                    high[t],
                    r.time_of(t)
                ),
            ));
        }
        Ok(Hvac {
            node: r.node("node", &self.node)?,
            mode: self.mode,
            min_kw,
            max_kw,
            cop,
            r_k_per_kw: r.positive("r_k_per_kw", self.r_k_per_kw)?,
            c_kwh_per_k: r.positive("c_kwh_per_k", self.c_kwh_per_k)?,
            initial_temp_c: r.finite("initial_temp_c", self.initial_temp_c)?,
            outdoor_temp_c: r.series("outdoor_temp_c", &self.outdoor_temp_c)?,
            heat_gain_kw: r.series("heat_gain_kw", &self.heat_gain_kw)?,
            comfort_low_c: low,
            comfort_high_c: high,
            comfort_penalty_yen_per_kh: r.nonneg(
                "comfort_penalty_yen_per_kh",
                self.comfort_penalty_yen_per_kh,
            )?,
            id: self.id,
        })
    }
}
