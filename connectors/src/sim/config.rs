//! The simulator's plain description of a district (the `aems` binary fills it from a
//! scenario; the connectors know nothing of the engine).

use chrono::{DateTime, FixedOffset};

/// A node: its own load and the PV available there, per step.
#[derive(Debug, Clone, PartialEq)]
pub struct SimNode {
    /// Node id.
    pub id: String,
    /// Non-controllable load per step, kW.
    pub load_kw: Vec<f64>,
    /// PV power available per step (all arrays of the node), kW.
    pub pv_kw: Vec<f64>,
}

/// A battery.
#[derive(Debug, Clone, PartialEq)]
pub struct SimBattery {
    /// Asset id.
    pub id: String,
    /// Node id.
    pub node: String,
    /// Nameplate energy, kWh (SOC is relative to it).
    pub capacity_kwh: f64,
    /// Lowest stored energy, kWh.
    pub min_kwh: f64,
    /// Highest stored energy, kWh.
    pub max_kwh: f64,
    /// Largest charging power, kW.
    pub charge_kw: f64,
    /// Largest discharging power, kW.
    pub discharge_kw: f64,
    /// Share of charging power stored.
    pub charge_efficiency: f64,
    /// Share of stored energy delivered.
    pub discharge_efficiency: f64,
    /// Share of stored energy lost per hour.
    pub self_discharge_per_hour: f64,
    /// Stored energy at the start, kWh.
    pub initial_kwh: f64,
}

/// An HVAC unit and its zone (first-order RC model).
#[derive(Debug, Clone, PartialEq)]
pub struct SimHvac {
    /// Asset id.
    pub id: String,
    /// Node id.
    pub node: String,
    /// `true` for cooling (s = +1), `false` for heating (s = −1).
    pub cooling: bool,
    /// Least electric power when running, kW.
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
    /// Thermal gains per step, kW.
    pub heat_gain_kw: Vec<f64>,
    /// Setpoint the unit's own thermostat keeps when not under remote control, °C.
    pub local_setpoint_c: f64,
}

/// A generator (gas engine).
#[derive(Debug, Clone, PartialEq)]
pub struct SimGenerator {
    /// Asset id.
    pub id: String,
    /// Node id.
    pub node: String,
    /// Least power when running, kW.
    pub min_kw: f64,
    /// Largest power, kW.
    pub max_kw: f64,
    /// Running (at `min_kw`) under its own control.
    pub initially_on: bool,
}

/// A meter: the net import of a set of nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMeter {
    /// Asset id (a grid connection or a node).
    pub id: String,
    /// Nodes it sums.
    pub nodes: Vec<String>,
}

/// A district to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// District id (MQTT topics).
    pub district: String,
    /// Simulated time at the start.
    pub start: DateTime<FixedOffset>,
    /// Length of a series step, minutes.
    pub step_minutes: u32,
    /// Nodes.
    pub nodes: Vec<SimNode>,
    /// Batteries.
    pub batteries: Vec<SimBattery>,
    /// HVAC units.
    pub hvacs: Vec<SimHvac>,
    /// Generators.
    pub generators: Vec<SimGenerator>,
    /// Meters.
    pub meters: Vec<SimMeter>,
}

/// The value of `series` at step `k`, holding the last value past the end (0 if empty).
pub(crate) fn at(series: &[f64], k: usize) -> f64 {
    series
        .get(k)
        .or_else(|| series.last())
        .copied()
        .unwrap_or(0.0)
}
