//! Forecast: the exogenous series of the horizon (loads, PV, prices, carbon, weather,
//! comfort bands) as a scenario window on the CSV's own step.
//!
//! - [`ScenarioForecaster`] (`forecaster = "scenario"`, the default): the scenario's own
//!   series — what the simulator plays, so the loop sees the district's future perfectly;
//!   the only choice that works on the bundled scenario, whose ~54 h of data are far too
//!   little to fit demand models.
//! - [`PersistenceForecaster`] (`"persistence"`): prices, PV, weather and bands from the
//!   scenario, the loads from measurements: the district's base load (grid meter minus
//!   what batteries, HVAC units and generators did) of the same time one day earlier, as
//!   the store holds it, spread over the nodes in the proportions of the scenario's loads.
//!   Where no such history exists (the first day) the scenario's loads stand.
//!
//! A model-based forecaster (`forecast::demand`, ridge/GBT) needs ≥ 29 days of history per
//! building; it can be added behind the same trait once per-node load history is stored.

use anyhow::{anyhow, Result};
use chrono::{DateTime, FixedOffset};
use engine::{Scenario, ScenarioFile};

/// Where the horizon's series come from.
pub trait Forecaster: Send + Sync {
    /// Its name (`scenario`, `persistence`).
    fn name(&self) -> &'static str;
    /// The series over `rows` CSV rows from the row at `start` (the scenario's step).
    fn forecast(
        &self,
        file: &ScenarioFile,
        start: DateTime<FixedOffset>,
        rows: usize,
    ) -> Result<Scenario>;
}

/// The scenario's own series.
#[derive(Debug, Default)]
pub struct ScenarioForecaster;

impl Forecaster for ScenarioForecaster {
    fn name(&self) -> &'static str {
        "scenario"
    }

    fn forecast(
        &self,
        file: &ScenarioFile,
        start: DateTime<FixedOffset>,
        rows: usize,
    ) -> Result<Scenario> {
        file.window(start, rows).map_err(|e| anyhow!("{e}"))
    }
}

/// Seasonal naive (one day) on the measured district base load.
pub struct PersistenceForecaster {
    /// Base load (kW) measured around a time, if any: `history(t)`.
    pub history: Box<dyn Fn(DateTime<FixedOffset>) -> Option<f64> + Send + Sync>,
}

impl std::fmt::Debug for PersistenceForecaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersistenceForecaster")
    }
}

impl Forecaster for PersistenceForecaster {
    fn name(&self) -> &'static str {
        "persistence"
    }

    fn forecast(
        &self,
        file: &ScenarioFile,
        start: DateTime<FixedOffset>,
        rows: usize,
    ) -> Result<Scenario> {
        let mut sc = file.window(start, rows).map_err(|e| anyhow!("{e}"))?;
        for t in 0..sc.steps {
            let Some(measured_kw) = (self.history)(sc.times[t] - chrono::Duration::days(1)) else {
                continue;
            };
            // The scenario's base load at t: loads minus PV (what the meter sees without
            // the controllable assets).
            let loads: f64 = sc.nodes.iter().map(|n| n.load_kw[t]).sum();
            let pv: f64 = sc.pvs.iter().map(|p| p.available_kw[t]).sum();
            let load_kw = (measured_kw + pv).max(0.0);
            if loads > 1e-9 {
                for n in &mut sc.nodes {
                    n.load_kw[t] *= load_kw / loads;
                }
            }
        }
        Ok(sc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistence_scales_the_loads_to_yesterdays_measured_base_load() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/gate_square/scenario.toml");
        let file = ScenarioFile::read(&p).unwrap();
        let day2 = DateTime::parse_from_rfc3339("2025-08-05T12:00:00+09:00").unwrap();
        let plain = ScenarioForecaster.forecast(&file, day2, 2).unwrap();
        let known = day2 - chrono::Duration::days(1);
        let f = PersistenceForecaster {
            // Yesterday at 12:00 the district's base load (loads − PV) was 1000 kW; nothing
            // is known for 12:30.
            history: Box::new(move |t| (t == known).then_some(1000.0)),
        };
        let sc = f.forecast(&file, day2, 2).unwrap();
        let pv: f64 = sc.pvs.iter().map(|p| p.available_kw[0]).sum();
        let loads: f64 = sc.nodes.iter().map(|n| n.load_kw[0]).sum();
        assert!((loads - pv - 1000.0).abs() < 1e-6, "{loads} − {pv}");
        // Shaped like the scenario's loads.
        let share = |s: &Scenario, i: usize| {
            s.nodes[i].load_kw[0] / s.nodes.iter().map(|n| n.load_kw[0]).sum::<f64>()
        };
        assert!((share(&sc, 1) - share(&plain, 1)).abs() < 1e-9);
        // No history: the scenario's own loads.
        assert_eq!(sc.nodes[1].load_kw[1], plain.nodes[1].load_kw[1]);
        assert_eq!(f.name(), "persistence");
    }
}
