//! The live loop's KPIs, as metered: what the state estimates of each cycle say happened,
//! tallied by the one KPI path ([`engine::kpi::Tally`]) and billed by the one billing rule
//! ([`engine::kpi::MonthlyPeaks`]) — the same whether the loop controls the district or
//! only observes it, so runs compare.
//!
//! - energy and the grid's CO2: each grid meter's completed 30-minute intervals, at the
//!   data's prices and intensity of the interval;
//! - fuel, start-ups and the fuel's CO2: each generator's power read at a cycle, held over
//!   the cycle before it;
//! - comfort: each zone's temperature read at a cycle against the band of the cycle before
//!   it, at the zone's comfort penalty;
//! - battery throughput and wear: each battery's power read at a cycle, held over the cycle
//!   before it;
//! - demand: each connection's monthly peaks (from the scenario's `peak_so_far_kw`), billed;
//! - stored energy: the batteries' total now and at the start (`storage_adjusted_cost_yen`
//!   values the difference at the run's mean import price).
//!
//! A reading a cycle lacks is not taken as 0: it is counted in `skipped`, by what.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use engine::kpi::{Billing, KpiSet, MonthlyPeaks, Tally};
use engine::Scenario;

use crate::state::State;

/// Running totals since the run's start (resumed across restarts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    tally: Tally,
    /// Time of the last cycle.
    pub time: Option<DateTime<FixedOffset>>,
    generator_on: BTreeMap<String, bool>,
    battery_kwh: BTreeMap<String, f64>,
    /// Stored energy of all batteries at the start, kWh.
    pub stored_start_kwh: Option<f64>,
    /// Cycles counted.
    pub cycles: u64,
    /// Cycles whose decisions were a fallback.
    pub fallbacks: u64,
    /// What was not tallied for lack of a reading or of data, by what.
    pub skipped: BTreeMap<String, u64>,
}

/// The metered KPIs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metered {
    /// Time of the last cycle.
    pub time: Option<DateTime<FixedOffset>>,
    /// The district.
    pub district: KpiSet,
    /// Per grid connection: this month's peak so far, kW.
    pub month_peak_kw: BTreeMap<String, f64>,
    /// Per grid connection: (month "YYYY-MM", billed kW).
    pub billed_kw: BTreeMap<String, Vec<(String, f64)>>,
    /// Stored energy of all batteries now, kWh.
    pub stored_kwh: f64,
    /// Stored energy at the start, kWh.
    pub stored_start_kwh: f64,
    /// cost + (stored at the start − stored now) × the mean import price, yen.
    pub storage_adjusted_cost_yen: f64,
    /// Cycles counted.
    pub cycles: u64,
    /// Cycles whose decisions were a fallback.
    pub fallbacks: u64,
    /// What was not tallied, by what.
    pub skipped: BTreeMap<String, u64>,
}

impl Ledger {
    /// Nothing yet, for the district `data`.
    pub fn new(data: &Scenario) -> Self {
        Self {
            tally: Tally::new(data),
            time: None,
            generator_on: BTreeMap::new(),
            battery_kwh: BTreeMap::new(),
            stored_start_kwh: None,
            cycles: 0,
            fallbacks: 0,
            skipped: BTreeMap::new(),
        }
    }

    fn skip(&mut self, what: String) {
        *self.skipped.entry(what).or_insert(0) += 1;
    }

    /// Adds the cycle that ends with `state` (`fallback`: its decisions were a fallback).
    pub fn add(&mut self, data: &Scenario, state: &State, fallback: bool) {
        let Some(now) = state.time else { return };
        for iv in &state.completed {
            match (
                data.grids.iter().position(|g| g.id == iv.grid),
                data.step_at(iv.start),
            ) {
                (Some(g), Some(row)) => {
                    self.tally
                        .grid(data, g, row, iv.import_kwh / 0.5, iv.export_kwh / 0.5, 0.5)
                }
                _ => self.skip(format!("interval/{}", iv.grid)),
            }
        }
        let hours = self
            .time
            .map_or(0.0, |t| (now - t).num_seconds() as f64 / 3600.0);
        self.cycles += 1;
        if fallback {
            self.fallbacks += 1;
        }
        if hours > 0.0 {
            match data.step_at(now - chrono::Duration::seconds(1)) {
                None => self.skip("cycle beyond the data".into()),
                Some(row) => {
                    self.tally.span(data, row, hours);
                    for (j, g) in data.generators.iter().enumerate() {
                        match state.generator_kw.get(&g.id) {
                            Some(p) => {
                                let on = *p > 1e-6;
                                let was = self
                                    .generator_on
                                    .get(&g.id)
                                    .copied()
                                    .unwrap_or(g.initially_on);
                                self.tally.generator(data, j, row, *p, on && !was, hours);
                            }
                            None => self.skip(format!("{}/power_kw", g.id)),
                        }
                    }
                    for (h, u) in data.hvacs.iter().enumerate() {
                        match (state.hvac_kw.get(&u.id), state.zone_c.get(&u.id)) {
                            (Some(q), Some(t)) => self.tally.hvac(data, h, row, *q, *t, hours),
                            _ => self.skip(format!("{}/zone_temp_c or power_kw", u.id)),
                        }
                    }
                    for (b, k) in data.batteries.iter().enumerate() {
                        match (state.battery_kw.get(&k.id), state.battery_kwh.get(&k.id)) {
                            (Some(p), Some(e)) => {
                                let stored = self.battery_kwh.get(&k.id).map_or(0.0, |e0| e - e0);
                                self.tally.battery(
                                    data,
                                    b,
                                    (-p).max(0.0),
                                    p.max(0.0),
                                    stored,
                                    hours,
                                );
                            }
                            _ => self.skip(format!("{}/energy_kwh or power_kw", k.id)),
                        }
                    }
                }
            }
        }
        for (id, on) in &state.generator_on {
            self.generator_on.insert(id.clone(), *on);
        }
        for (id, e) in &state.battery_kwh {
            self.battery_kwh.insert(id.clone(), *e);
        }
        if self.stored_start_kwh.is_none() && state.battery_kwh.len() == data.batteries.len() {
            self.stored_start_kwh = Some(state.battery_kwh.values().sum());
        }
        self.time = Some(now);
    }

    /// Each node's KPIs so far (energy, fuel, comfort, wear and carbon; the demand charge
    /// is billed at the connections, in [`Ledger::kpis`]' district).
    pub fn building_kpis(&self, data: &Scenario) -> Vec<(String, KpiSet)> {
        data.nodes
            .iter()
            .zip(&self.tally.buildings)
            .map(|(n, k)| {
                let mut k = k.clone();
                k.finish(data.carbon_price_yen_per_kg);
                (n.id.clone(), k)
            })
            .collect()
    }

    /// The KPIs so far, with each connection's demand billed from `peaks` under `billing`.
    pub fn kpis(
        &self,
        data: &Scenario,
        peaks: &BTreeMap<String, MonthlyPeaks>,
        billing: Billing,
    ) -> Metered {
        let mut district = self.tally.district(data);
        let mut billed_kw = BTreeMap::new();
        let mut month_peak_kw = BTreeMap::new();
        for g in &data.grids {
            let Some(p) = peaks.get(&g.id) else { continue };
            let bill = p.bill(billing);
            for (_, kw) in &bill {
                district.demand_yen += g.demand_charge_yen_per_kw * kw;
            }
            district.peak_kw = district
                .peak_kw
                .max(p.months.iter().map(|m| m.1).fold(0.0, f64::max));
            month_peak_kw.insert(g.id.clone(), p.months.last().map_or(0.0, |m| m.1));
            billed_kw.insert(
                g.id.clone(),
                bill.into_iter()
                    .map(|((y, m), kw)| (format!("{y:04}-{m:02}"), kw))
                    .collect(),
            );
        }
        district.finish(data.carbon_price_yen_per_kg);
        let stored_kwh: f64 = self.battery_kwh.values().sum();
        let stored_start_kwh = self.stored_start_kwh.unwrap_or(stored_kwh);
        let mean_price = if district.import_kwh > 0.0 {
            district.energy_yen.max(0.0) / district.import_kwh
        } else {
            0.0
        };
        Metered {
            time: self.time,
            storage_adjusted_cost_yen: district.cost_yen
                + (stored_start_kwh - stored_kwh) * mean_price,
            district,
            month_peak_kw,
            billed_kw,
            stored_kwh,
            stored_start_kwh,
            cycles: self.cycles,
            fallbacks: self.fallbacks,
            skipped: self.skipped.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plant::{every_device, network, Plant};
    use crate::state::Estimator;

    /// Two days of the reference district under the rule: what the ledger meters from the
    /// readings is what `engine::kpi` computes from the plant's record.
    #[test]
    fn metered_kpis_are_the_kpis_of_what_happened() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/kashiwanoha/scenario.toml");
        let sc = Scenario::load(p).unwrap().slice(4368..4368 + 96);
        let billing = Billing { ratchet_months: 12 };
        let net = network(&sc);
        let mut plant = Plant::new(&sc, 96, false);
        let mut est = Estimator::new(&sc, every_device(&sc), 3600.0, billing);
        let mut ledger = Ledger::new(&sc);
        for t in 0..=96 {
            let st = est.update(&plant.measure(), &sc);
            ledger.add(&sc, &st, false);
            if t < 96 {
                plant
                    .apply(&crate::rule::decide(&sc, &net, t, &st))
                    .unwrap();
            }
        }
        let metered = ledger.kpis(&sc, est.peaks(), billing);
        let k = engine::kpi::compute(&sc, plant.realized(), billing);
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{what}: metered {a} vs {b}"
            )
        };
        let (m, d) = (&metered.district, &k.district);
        close(m.energy_yen, d.energy_yen, "energy");
        close(m.import_kwh, d.import_kwh, "import");
        close(m.demand_yen, d.demand_yen, "demand");
        close(m.fuel_yen, d.fuel_yen, "fuel");
        close(m.co2_kg, d.co2_kg, "CO2");
        close(m.comfort_violation_kh, d.comfort_violation_kh, "comfort");
        assert!(metered.skipped.is_empty(), "{:?}", metered.skipped);
        assert_eq!(metered.cycles, 97);
    }

    /// What a cycle lacks is counted by what, never taken as 0: a generator that reports no
    /// power (its fuel and CO2 would be undercounted), an interval of a connection the data
    /// does not have, a cycle past the end of the data.
    #[test]
    fn what_a_cycle_lacks_is_counted_not_taken_as_zero() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/kashiwanoha/scenario.toml");
        let sc = Scenario::load(p).unwrap().slice(4368..4368 + 4);
        let billing = Billing { ratchet_months: 12 };
        let mut plant = Plant::new(&sc, 4, false);
        let mut est = Estimator::new(&sc, every_device(&sc), 3600.0, billing);
        let mut ledger = Ledger::new(&sc);
        let engine_id = sc.generators[0].id.clone();
        for t in 0..=4 {
            let mut st = est.update(&plant.measure(), &sc);
            if t == 2 {
                st.generator_kw.remove(&engine_id);
                st.completed.push(crate::state::Interval {
                    grid: "no_such_pcc".into(),
                    start: st.time.unwrap(),
                    import_kwh: 100.0,
                    export_kwh: 0.0,
                    mean_kw: 200.0,
                });
            }
            if t == 4 {
                // The data ends here: a state an hour later is past it.
                st.time = st.time.map(|x| x + chrono::Duration::hours(1));
            }
            ledger.add(&sc, &st, false);
            if t < 4 {
                plant.apply(&crate::baseline::decide(&sc)).unwrap();
            }
        }
        let m = ledger.kpis(&sc, est.peaks(), billing);
        assert_eq!(
            m.skipped.get(&format!("{engine_id}/power_kw")),
            Some(&1),
            "{:?}",
            m.skipped
        );
        assert_eq!(
            m.skipped.get("interval/no_such_pcc"),
            Some(&1),
            "{:?}",
            m.skipped
        );
        assert_eq!(
            m.skipped.get("cycle beyond the data"),
            Some(&1),
            "{:?}",
            m.skipped
        );
        assert_eq!(m.skipped.len(), 3, "{:?}", m.skipped);
    }
}
