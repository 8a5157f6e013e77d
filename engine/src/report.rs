//! The reported figures of a schedule (`Reported figures` in the spec), computed from the
//! decisions themselves so that the parts always sum to the objective.

use serde::Serialize;

use crate::asset::GridConnection;
use crate::scenario::Scenario;
use crate::schedule::Schedule;

/// The objective's parts, yen.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Parts {
    /// Σ Δ · (import price · imp − export price · exp).
    pub energy_yen: f64,
    /// Σ demand charge · (peak − peak so far).
    pub demand_yen: f64,
    /// Σ Δ · fuel price · p / efficiency.
    pub fuel_yen: f64,
    /// Σ start-up cost · starts.
    pub startup_yen: f64,
    /// Σ Δ · degradation · dis.
    pub degradation_yen: f64,
    /// Σ Δ · curtailment penalty · (available − pv).
    pub curtailment_yen: f64,
    /// Σ Δ · comfort penalty · (K outside the band).
    pub comfort_yen: f64,
    /// carbon price · emissions.
    pub carbon_yen: f64,
}

impl Parts {
    /// The objective: the sum of the parts.
    pub fn total(&self) -> f64 {
        self.energy_yen
            + self.demand_yen
            + self.fuel_yen
            + self.startup_yen
            + self.degradation_yen
            + self.curtailment_yen
            + self.comfort_yen
            + self.carbon_yen
    }
}

/// Everything a solve reports about its schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The objective, yen (= `parts.total()`).
    pub objective_yen: f64,
    /// The objective's parts.
    pub parts: Parts,
    /// CO2 of imports and fuel, kg.
    pub emissions_kg: f64,
    /// Energy imported over all connections, kWh.
    pub import_kwh: f64,
    /// Energy exported over all connections, kWh.
    pub export_kwh: f64,
    /// Per connection (id, kW): max(peak so far, largest 30-minute mean import).
    pub peak_kw: Vec<(String, f64)>,
    /// Σ zones Σ boundaries Δ · (K outside the band), K·h.
    pub comfort_violation_kh: f64,
}

/// Largest 30-minute mean import of connection `g` with imports `import_kw` over the
/// scenario's demand intervals (the part of an interval before the horizon included).
pub fn largest_interval_mean_kw(sc: &Scenario, g: &GridConnection, import_kw: &[f64]) -> f64 {
    sc.demand_intervals()
        .iter()
        .map(|m| m.mean_kw(import_kw, g.interval_import_so_far_kwh, sc.step_hours()))
        .fold(0.0, f64::max)
}

impl Figures {
    /// Computes the figures of `s` on `sc`.
    pub fn compute(sc: &Scenario, s: &Schedule) -> Self {
        let dt = sc.step_hours();
        let mut p = Parts::default();
        let mut emissions_kg = 0.0;
        let mut import_kwh = 0.0;
        let mut export_kwh = 0.0;
        let mut peak_kw = Vec::new();
        for (g, gs) in sc.grids.iter().zip(&s.grids) {
            for t in 0..sc.steps {
                p.energy_yen += dt
                    * (g.import_price_yen_per_kwh[t] * gs.import_kw[t]
                        - g.export_price_yen_per_kwh[t] * gs.export_kw[t]);
                emissions_kg += dt * g.carbon_intensity_kg_per_kwh[t] * gs.import_kw[t];
                import_kwh += dt * gs.import_kw[t];
                export_kwh += dt * gs.export_kw[t];
            }
            let peak = largest_interval_mean_kw(sc, g, &gs.import_kw).max(g.peak_so_far_kw);
            p.demand_yen += g.demand_charge_yen_per_kw * (peak - g.peak_so_far_kw);
            peak_kw.push((g.id.clone(), peak));
        }
        for (j, js) in sc.generators.iter().zip(&s.generators) {
            for t in 0..sc.steps {
                let fuel_kwh = dt * js.power_kw[t] / j.efficiency;
                p.fuel_yen += j.fuel_price_yen_per_kwh * fuel_kwh;
                emissions_kg += j.fuel_carbon_kg_per_kwh * fuel_kwh;
                let before = if t == 0 { j.initially_on } else { js.on[t - 1] };
                if js.on[t] && !before {
                    p.startup_yen += j.startup_cost_yen;
                }
            }
        }
        for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
            p.degradation_yen +=
                dt * k.degradation_yen_per_kwh * ks.discharge_kw.iter().sum::<f64>();
        }
        for (pv, ps) in sc.pvs.iter().zip(&s.pvs) {
            for t in 0..sc.steps {
                p.curtailment_yen +=
                    dt * pv.curtail_penalty_yen_per_kwh * (pv.available_kw[t] - ps.used_kw[t]);
            }
        }
        let mut comfort_violation_kh = 0.0;
        for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
            for t in 0..sc.steps {
                let theta = hs.temp_c[t + 1];
                let outside =
                    (h.comfort_low_c[t] - theta).max(0.0) + (theta - h.comfort_high_c[t]).max(0.0);
                comfort_violation_kh += dt * outside;
                p.comfort_yen += dt * h.comfort_penalty_yen_per_kh * outside;
            }
        }
        p.carbon_yen = sc.carbon_price_yen_per_kg * emissions_kg;
        Self {
            objective_yen: p.total(),
            parts: p,
            emissions_kg,
            import_kwh,
            export_kwh,
            peak_kw,
            comfort_violation_kh,
        }
    }
}
