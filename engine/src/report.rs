//! The reported figures of a schedule (`Reported figures` in the spec), computed from the
//! decisions themselves so that the parts always sum to the objective.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::solve::Outcome;

use crate::asset::GridConnection;
use crate::kpi::Tally;
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
    /// Σ Δ · value of lost load · unserved load (extension: only while a grid connection
    /// is out).
    pub unserved_yen: f64,
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
            + self.unserved_yen
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
    /// Load not served while a grid connection was out, kWh.
    pub unserved_kwh: f64,
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
    /// Computes the figures of `s` on `sc`: the KPI tally ([`crate::kpi::Tally`]) over the
    /// horizon, with the demand charge on the rise of each connection's peak.
    pub fn compute(sc: &Scenario, s: &Schedule) -> Self {
        let mut tally = Tally::new(sc);
        for t in 0..sc.steps {
            tally.step(sc, s, t);
        }
        let d = tally.district(sc);
        let mut p = Parts {
            energy_yen: d.energy_yen,
            demand_yen: 0.0,
            fuel_yen: d.fuel_yen,
            startup_yen: d.startup_yen,
            degradation_yen: d.degradation_yen,
            curtailment_yen: d.curtailment_yen,
            comfort_yen: d.comfort_yen,
            unserved_yen: d.unserved_yen,
            carbon_yen: sc.carbon_price_yen_per_kg * d.co2_kg,
        };
        let mut peak_kw = Vec::new();
        for (g, gs) in sc.grids.iter().zip(&s.grids) {
            let peak = largest_interval_mean_kw(sc, g, &gs.import_kw).max(g.peak_so_far_kw);
            p.demand_yen += g.demand_charge_yen_per_kw * (peak - g.peak_so_far_kw);
            peak_kw.push((g.id.clone(), peak));
        }
        Self {
            objective_yen: p.total(),
            parts: p,
            emissions_kg: d.co2_kg,
            import_kwh: d.import_kwh,
            export_kwh: d.export_kwh,
            peak_kw,
            comfort_violation_kh: d.comfort_violation_kh,
            unserved_kwh: d.unserved_kwh,
        }
    }
}

/// The JSON report: the spec's reported figures plus `status`, `build_seconds`,
/// `solve_seconds`, `mip_gap`; figures are `null` when there is no schedule.
pub fn outcome_json(o: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), json!(o.status.as_str()));
    let f = o.figures.as_ref();
    let num = |get: &dyn Fn(&Figures) -> f64| f.map(|f| json!(get(f))).unwrap_or(Value::Null);
    m.insert("objective_yen".into(), num(&|f| f.objective_yen));
    m.insert("energy_yen".into(), num(&|f| f.parts.energy_yen));
    m.insert("demand_yen".into(), num(&|f| f.parts.demand_yen));
    m.insert("fuel_yen".into(), num(&|f| f.parts.fuel_yen));
    m.insert("startup_yen".into(), num(&|f| f.parts.startup_yen));
    m.insert("degradation_yen".into(), num(&|f| f.parts.degradation_yen));
    m.insert("curtailment_yen".into(), num(&|f| f.parts.curtailment_yen));
    m.insert("comfort_yen".into(), num(&|f| f.parts.comfort_yen));
    m.insert("carbon_yen".into(), num(&|f| f.parts.carbon_yen));
    if f.is_some_and(|f| f.unserved_kwh > 0.0 || f.parts.unserved_yen > 0.0) {
        // Only when load went unserved (an outage): a spec scenario's report is the spec's.
        m.insert("unserved_yen".into(), num(&|f| f.parts.unserved_yen));
        m.insert("unserved_kwh".into(), num(&|f| f.unserved_kwh));
    }
    m.insert("emissions_kg".into(), num(&|f| f.emissions_kg));
    m.insert("import_kwh".into(), num(&|f| f.import_kwh));
    m.insert("export_kwh".into(), num(&|f| f.export_kwh));
    m.insert(
        "peak_kw".into(),
        f.map(|f| {
            Value::Object(
                f.peak_kw
                    .iter()
                    .map(|(id, kw)| (id.clone(), json!(kw)))
                    .collect(),
            )
        })
        .unwrap_or(Value::Null),
    );
    m.insert(
        "comfort_violation_kh".into(),
        num(&|f| f.comfort_violation_kh),
    );
    m.insert("build_seconds".into(), json!(o.build_seconds));
    m.insert("solve_seconds".into(), json!(o.solve_seconds));
    m.insert(
        "mip_gap".into(),
        o.mip_gap.map(|g| json!(g)).unwrap_or(Value::Null),
    );
    if let Some(msg) = &o.message {
        m.insert("message".into(), json!(msg));
    }
    if let Some(d) = &o.diagnosis {
        m.insert("infeasible_node".into(), json!(d.node));
        m.insert("infeasible_step".into(), json!(d.step));
    }
    Value::Object(m)
}
