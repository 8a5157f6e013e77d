//! KPIs of the district as metered — the same formulas whether the loop controls it or
//! not, so runs can be compared:
//!
//! - energy: Σ over the grid meters' 30-minute intervals of import kWh × import price −
//!   export kWh × export price (the scenario's prices at the interval);
//! - demand charge: demand charge rate × (month's peak 30-minute mean import − the peak
//!   the run started from), never negative;
//! - fuel: Σ generator power (read at each cycle) × cycle length / efficiency × fuel price;
//! - carbon: carbon price × (import kWh × grid intensity + fuel kWh × fuel carbon);
//! - comfort: Σ cycle length × K outside each zone's comfort band at the reading (and at
//!   the zone's comfort penalty, `comfort_yen`, reported beside the cost);
//! - stored energy: the batteries' total now and at the start (a run that ends with emptier
//!   batteries has bought less; `storage_adjusted_cost_yen` values the difference at the
//!   run's mean import price).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use engine::Scenario;
use serde::{Deserialize, Serialize};

use super::state::{Interval, PlantState};

/// Running totals since the run's start (resumed across restarts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Simulated (or real) time of the last update.
    pub time: Option<DateTime<FixedOffset>>,
    /// Energy bought minus sold, yen.
    pub energy_yen: f64,
    /// Demand charge on the peak's rise, yen.
    pub demand_yen: f64,
    /// Generator fuel, yen.
    pub fuel_yen: f64,
    /// CO2 price, yen.
    pub carbon_yen: f64,
    /// energy + demand + fuel + carbon, yen.
    pub cost_yen: f64,
    /// Grid import, kWh.
    pub import_kwh: f64,
    /// Grid export, kWh.
    pub export_kwh: f64,
    /// Generator fuel energy, kWh.
    pub fuel_kwh: f64,
    /// CO2, kg.
    pub emissions_kg: f64,
    /// Per grid: the peak at the run's start and now, kW.
    pub peak_start_kw: BTreeMap<String, f64>,
    /// Per grid: this month's peak now, kW.
    pub peak_kw: BTreeMap<String, f64>,
    /// Comfort violation, K·h.
    pub comfort_violation_kh: f64,
    /// The comfort violation at each zone's comfort penalty, yen (not part of `cost_yen`).
    pub comfort_yen: f64,
    /// Stored energy of all batteries at the start, kWh.
    pub stored_start_kwh: Option<f64>,
    /// Stored energy of all batteries now, kWh.
    pub stored_kwh: f64,
    /// cost_yen + (stored_start − stored) × mean import price, yen.
    pub storage_adjusted_cost_yen: f64,
    /// Cycles counted.
    pub cycles: u64,
    /// Cycles whose commands came from a fallback.
    pub fallbacks: u64,
}

/// The scenario's series value at time `t` (the CSV row that holds it), if inside.
pub fn row_of(data: &Scenario, t: DateTime<FixedOffset>) -> Option<usize> {
    let min = (t - data.start).num_minutes();
    if min < 0 {
        return None;
    }
    let k = (min / i64::from(data.step_minutes)) as usize;
    (k < data.steps).then_some(k)
}

impl Kpis {
    /// Adds completed intervals (energy, carbon of imports).
    pub fn add_intervals(&mut self, data: &Scenario, ivs: &[Interval]) {
        for iv in ivs {
            let Some(g) = data.grids.iter().find(|g| g.id == iv.grid) else {
                continue;
            };
            let Some(k) = row_of(data, iv.start) else {
                continue;
            };
            self.energy_yen += iv.import_kwh * g.import_price_yen_per_kwh[k]
                - iv.export_kwh * g.export_price_yen_per_kwh[k];
            let kg = iv.import_kwh * g.carbon_intensity_kg_per_kwh[k];
            self.emissions_kg += kg;
            self.carbon_yen += data.carbon_price_yen_per_kg * kg;
            self.import_kwh += iv.import_kwh;
            self.export_kwh += iv.export_kwh;
        }
    }

    /// Adds one cycle of `hours` ending at `now` with the state read at its end.
    pub fn add_cycle(
        &mut self,
        data: &Scenario,
        plant: &PlantState,
        hours: f64,
        now: DateTime<FixedOffset>,
    ) {
        for g in &data.generators {
            if let Some(p) = plant.generator_kw.get(&g.id) {
                let fuel_kwh = hours * p / g.efficiency;
                self.fuel_kwh += fuel_kwh;
                self.fuel_yen += fuel_kwh * g.fuel_price_yen_per_kwh;
                let kg = fuel_kwh * g.fuel_carbon_kg_per_kwh;
                self.emissions_kg += kg;
                self.carbon_yen += data.carbon_price_yen_per_kg * kg;
            }
        }
        if let Some(k) = row_of(data, now - chrono::Duration::seconds(1)) {
            for h in &data.hvacs {
                if let Some(t) = plant.zone_c.get(&h.id) {
                    let out =
                        (h.comfort_low_c[k] - t).max(0.0) + (t - h.comfort_high_c[k]).max(0.0);
                    self.comfort_violation_kh += hours * out;
                    self.comfort_yen += hours * out * h.comfort_penalty_yen_per_kh;
                }
            }
        }
        let stored: f64 = plant.battery_kwh.values().sum();
        if plant.battery_kwh.len() == data.batteries.len() {
            self.stored_kwh = stored;
            if self.stored_start_kwh.is_none() {
                self.stored_start_kwh = Some(stored);
            }
        }
        self.time = Some(now);
        self.cycles += 1;
    }

    /// Sets the month's peaks (and the start's, once) and recomputes the totals.
    pub fn settle(&mut self, data: &Scenario, peaks: &[(String, f64)]) {
        self.demand_yen = 0.0;
        for (id, p) in peaks {
            let start = *self.peak_start_kw.entry(id.clone()).or_insert(*p);
            self.peak_kw.insert(id.clone(), *p);
            if let Some(g) = data.grids.iter().find(|g| g.id == *id) {
                self.demand_yen += g.demand_charge_yen_per_kw * (p - start).max(0.0);
            }
        }
        self.cost_yen = self.energy_yen + self.demand_yen + self.fuel_yen + self.carbon_yen;
        let mean_price = if self.import_kwh > 0.0 {
            self.energy_yen.max(0.0) / self.import_kwh
        } else {
            0.0
        };
        self.storage_adjusted_cost_yen = self.cost_yen
            + (self.stored_start_kwh.unwrap_or(self.stored_kwh) - self.stored_kwh) * mean_price;
    }
}
