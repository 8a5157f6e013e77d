//! Key performance indicators of a realized (or planned) schedule over a long period, per
//! building (node) and for the district, with the Japanese billing rules: the demand
//! charge is billed per calendar month on that month's largest 30-minute mean import
//! (optionally the largest over a trailing ratchet of months, as high-voltage contracts do).
//!
//! Unlike [`crate::report::Figures`] — the dispatch objective over one horizon, whose demand
//! part is the *increase* of the peak — these are bills: each month's full demand charge.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde::Serialize;

use crate::scenario::Scenario;
use crate::schedule::Schedule;

/// How the demand charge is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Billing {
    /// 0 or 1: each month billed on its own peak. N > 1: on the largest peak of the last N
    /// months (12 for the Japanese high-voltage ratchet); months before the period are not
    /// known and count as the scenario's `peak_so_far_kw`.
    pub ratchet_months: usize,
}

/// The indicators of one building or of the district.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KpiSet {
    /// Total cost: energy + demand + fuel + start-ups + degradation + curtailment +
    /// comfort + carbon, yen.
    pub cost_yen: f64,
    /// Energy bought less energy sold, yen.
    pub energy_yen: f64,
    /// Monthly demand charges, yen.
    pub demand_yen: f64,
    /// Generator fuel, yen.
    pub fuel_yen: f64,
    /// Generator start-ups, yen.
    pub startup_yen: f64,
    /// Battery wear, yen.
    pub degradation_yen: f64,
    /// Curtailment penalties, yen.
    pub curtailment_yen: f64,
    /// Comfort penalties, yen.
    pub comfort_yen: f64,
    /// CO2 price on the emissions, yen.
    pub carbon_yen: f64,
    /// Largest 30-minute mean import over the period, kW.
    pub peak_kw: f64,
    /// Energy imported, kWh.
    pub import_kwh: f64,
    /// Energy exported, kWh.
    pub export_kwh: f64,
    /// CO2 of imports and fuel, kg.
    pub co2_kg: f64,
    /// Electricity consumed: loads and HVAC, kWh.
    pub consumption_kwh: f64,
    /// PV energy available, kWh.
    pub pv_available_kwh: f64,
    /// PV energy used (not curtailed), kWh.
    pub pv_used_kwh: f64,
    /// Share of PV energy used on site rather than exported (1 − export / PV used,
    /// within [0, 1]; NaN without PV).
    pub pv_self_consumption: f64,
    /// Share of consumption not imported (1 − import / consumption, within [0, 1]).
    pub self_sufficiency: f64,
    /// K·h outside the comfort bands.
    pub comfort_violation_kh: f64,
    /// Energy discharged by the batteries, kWh.
    pub battery_throughput_kwh: f64,
    /// Throughput / usable capacity (max − min), full cycles.
    pub battery_cycles: f64,
    /// Energy sent over private lines (district: all lines; building: its lines' flows
    /// out of it), kWh.
    pub interchange_kwh: f64,
    /// Energy lost in lines and battery round trips, kWh (district only).
    pub losses_kwh: f64,
}

/// The indicators of a schedule: the district, then every node in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// The whole district.
    pub district: KpiSet,
    /// Per node (building or hub), by id.
    pub buildings: Vec<(String, KpiSet)>,
    /// Per grid connection: (id, month "YYYY-MM", billed kW) for every month billed.
    pub billed_kw: Vec<(String, String, f64)>,
}

/// Each month's largest 30-minute mean import of a connection, in period order.
fn monthly_peaks(
    sc: &Scenario,
    g: &crate::asset::GridConnection,
    import_kw: &[f64],
) -> Vec<(String, f64)> {
    let mut months: BTreeMap<(i32, u32), f64> = BTreeMap::new();
    for m in sc.demand_intervals() {
        let t = sc.times[m.steps.start];
        let mean = m.mean_kw(import_kw, g.interval_import_so_far_kwh, sc.step_hours());
        let e = months.entry((t.year(), t.month())).or_insert(0.0);
        *e = e.max(mean);
    }
    months
        .into_iter()
        .map(|((y, mo), kw)| (format!("{y:04}-{mo:02}"), kw))
        .collect()
}

fn finish(k: &mut KpiSet) {
    k.cost_yen = k.energy_yen
        + k.demand_yen
        + k.fuel_yen
        + k.startup_yen
        + k.degradation_yen
        + k.curtailment_yen
        + k.comfort_yen
        + k.carbon_yen;
    k.pv_self_consumption = if k.pv_used_kwh > 0.0 {
        (1.0 - k.export_kwh / k.pv_used_kwh).clamp(0.0, 1.0)
    } else {
        f64::NAN
    };
    k.self_sufficiency = if k.consumption_kwh > 0.0 {
        (1.0 - k.import_kwh / k.consumption_kwh).clamp(0.0, 1.0)
    } else {
        f64::NAN
    };
}

/// Computes the indicators of `s` on `sc` under `billing`.
pub fn compute(sc: &Scenario, s: &Schedule, billing: Billing) -> Kpis {
    let dt = sc.step_hours();
    let n_nodes = sc.nodes.len();
    let mut b = vec![KpiSet::default(); n_nodes];
    let mut district = KpiSet::default();
    let mut billed_kw = Vec::new();
    for (g, gs) in sc.grids.iter().zip(&s.grids) {
        let k = &mut b[g.node];
        for t in 0..sc.steps {
            let (imp, exp) = (gs.import_kw[t], gs.export_kw[t]);
            k.energy_yen +=
                dt * (g.import_price_yen_per_kwh[t] * imp - g.export_price_yen_per_kwh[t] * exp);
            k.import_kwh += dt * imp;
            k.export_kwh += dt * exp;
            k.co2_kg += dt * g.carbon_intensity_kg_per_kwh[t] * imp;
        }
        let peaks = monthly_peaks(sc, g, &gs.import_kw);
        let window = billing.ratchet_months.max(1);
        for (i, (month, _)) in peaks.iter().enumerate() {
            let from = (i + 1).saturating_sub(window);
            let mut billed = peaks[from..=i].iter().map(|p| p.1).fold(0.0, f64::max);
            if i < window {
                billed = billed.max(g.peak_so_far_kw);
            }
            k.demand_yen += g.demand_charge_yen_per_kw * billed;
            billed_kw.push((g.id.clone(), month.clone(), billed));
        }
        let peak = peaks.iter().map(|p| p.1).fold(0.0, f64::max);
        k.peak_kw = k.peak_kw.max(peak);
    }
    for (n, node) in sc.nodes.iter().enumerate() {
        b[n].consumption_kwh += dt * node.load_kw.iter().sum::<f64>();
    }
    for (p, ps) in sc.pvs.iter().zip(&s.pvs) {
        let k = &mut b[p.node];
        for t in 0..sc.steps {
            k.pv_available_kwh += dt * p.available_kw[t];
            k.pv_used_kwh += dt * ps.used_kw[t];
            k.curtailment_yen +=
                dt * p.curtail_penalty_yen_per_kwh * (p.available_kw[t] - ps.used_kw[t]);
        }
    }
    for (kb, ks) in sc.batteries.iter().zip(&s.batteries) {
        let k = &mut b[kb.node];
        let dis: f64 = dt * ks.discharge_kw.iter().sum::<f64>();
        let ch: f64 = dt * ks.charge_kw.iter().sum::<f64>();
        k.battery_throughput_kwh += dis;
        let usable = kb.max_kwh - kb.min_kwh;
        if usable > 0.0 {
            k.battery_cycles += dis / usable;
        }
        k.degradation_yen += kb.degradation_yen_per_kwh * dis;
        let stored = ks.energy_kwh[sc.steps] - ks.energy_kwh[0];
        district.losses_kwh += ch - dis - stored;
    }
    for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
        let k = &mut b[h.node];
        for t in 0..sc.steps {
            k.consumption_kwh += dt * hs.power_kw[t];
            let theta = hs.temp_c[t + 1];
            let outside =
                (h.comfort_low_c[t] - theta).max(0.0) + (theta - h.comfort_high_c[t]).max(0.0);
            k.comfort_violation_kh += dt * outside;
            k.comfort_yen += dt * h.comfort_penalty_yen_per_kh * outside;
        }
    }
    for (j, js) in sc.generators.iter().zip(&s.generators) {
        let k = &mut b[j.node];
        for t in 0..sc.steps {
            let fuel_kwh = dt * js.power_kw[t] / j.efficiency;
            k.fuel_yen += j.fuel_price_yen_per_kwh * fuel_kwh;
            k.co2_kg += j.fuel_carbon_kg_per_kwh * fuel_kwh;
            let before = if t == 0 { j.initially_on } else { js.on[t - 1] };
            if js.on[t] && !before {
                k.startup_yen += j.startup_cost_yen;
            }
        }
    }
    for (l, ls) in sc.lines.iter().zip(&s.lines) {
        let fwd: f64 = dt * ls.fwd_kw.iter().sum::<f64>();
        let rev: f64 = dt * ls.rev_kw.iter().sum::<f64>();
        b[l.from].interchange_kwh += fwd;
        b[l.to].interchange_kwh += rev;
        district.interchange_kwh += fwd + rev;
        district.losses_kwh += l.loss_fraction * (fwd + rev);
    }
    for k in &mut b {
        k.carbon_yen = sc.carbon_price_yen_per_kg * k.co2_kg;
    }
    // District totals: sums of the buildings, except the peak (coincident, over all
    // connections together) and interchange and losses (counted above).
    let (interchange, losses) = (district.interchange_kwh, district.losses_kwh);
    district = KpiSet::default();
    for k in &b {
        district.energy_yen += k.energy_yen;
        district.demand_yen += k.demand_yen;
        district.fuel_yen += k.fuel_yen;
        district.startup_yen += k.startup_yen;
        district.degradation_yen += k.degradation_yen;
        district.curtailment_yen += k.curtailment_yen;
        district.comfort_yen += k.comfort_yen;
        district.carbon_yen += k.carbon_yen;
        district.import_kwh += k.import_kwh;
        district.export_kwh += k.export_kwh;
        district.co2_kg += k.co2_kg;
        district.consumption_kwh += k.consumption_kwh;
        district.pv_available_kwh += k.pv_available_kwh;
        district.pv_used_kwh += k.pv_used_kwh;
        district.comfort_violation_kh += k.comfort_violation_kh;
        district.battery_throughput_kwh += k.battery_throughput_kwh;
        district.battery_cycles += k.battery_cycles;
    }
    let total_usable: f64 = sc.batteries.iter().map(|k| k.max_kwh - k.min_kwh).sum();
    if total_usable > 0.0 {
        district.battery_cycles = district.battery_throughput_kwh / total_usable;
    }
    let mut total_import = vec![0.0; sc.steps];
    for gs in &s.grids {
        for (a, v) in total_import.iter_mut().zip(&gs.import_kw) {
            *a += v;
        }
    }
    district.peak_kw = sc
        .demand_intervals()
        .iter()
        .map(|m| {
            let so_far: f64 = sc.grids.iter().map(|g| g.interval_import_so_far_kwh).sum();
            m.mean_kw(&total_import, so_far, dt)
        })
        .fold(0.0, f64::max);
    district.interchange_kwh = interchange;
    district.losses_kwh = losses;
    finish(&mut district);
    for k in &mut b {
        finish(k);
    }
    Kpis {
        district,
        buildings: sc.nodes.iter().map(|n| n.id.clone()).zip(b).collect(),
        billed_kw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{optimize, SolveOptions};
    use chrono::Timelike;
    use std::path::PathBuf;

    fn gate_square() -> Scenario {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        Scenario::load(p).expect("the bundled scenario loads")
    }

    /// Over one horizon, every part but the demand charge is the dispatch objective's: the
    /// KPIs and the optimiser price the same schedule the same way; the buildings add up
    /// to the district.
    #[test]
    fn kpis_agree_with_the_dispatch_objective() {
        let sc = gate_square();
        let out = optimize(&sc, &SolveOptions::default()).unwrap();
        let (s, f) = (out.schedule.unwrap(), out.figures.unwrap());
        let k = compute(&sc, &s, Billing::default());
        let d = &k.district;
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            )
        };
        close(d.energy_yen, f.parts.energy_yen, "energy");
        close(d.fuel_yen, f.parts.fuel_yen, "fuel");
        close(d.startup_yen, f.parts.startup_yen, "start-ups");
        close(d.degradation_yen, f.parts.degradation_yen, "degradation");
        close(d.curtailment_yen, f.parts.curtailment_yen, "curtailment");
        close(d.comfort_yen, f.parts.comfort_yen, "comfort");
        close(d.carbon_yen, f.parts.carbon_yen, "carbon");
        close(d.co2_kg, f.emissions_kg, "CO2");
        // The bill is on the whole peak; the objective only on its increase.
        let g = &sc.grids[0];
        let peak = k.billed_kw[0].2;
        close(d.demand_yen, g.demand_charge_yen_per_kw * peak, "demand");
        assert!(peak >= g.peak_so_far_kw - 1e-9);
        let sum: f64 = k.buildings.iter().map(|(_, b)| b.cost_yen).sum();
        close(sum, d.cost_yen, "buildings add up");
        assert!(d.self_sufficiency > 0.0 && d.self_sufficiency < 1.0);
    }

    /// Three months of a bare meter (no assets: import = load) with peaks 100, 50 and 80 kW:
    /// billed per month, and with the 12-month ratchet on the largest so far.
    #[test]
    fn the_demand_charge_follows_the_billing_rules() {
        let dir = std::env::temp_dir().join(format!("aems-kpi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let start = chrono::DateTime::parse_from_rfc3339("2025-04-01T00:00:00+09:00").unwrap();
        let steps = (30 + 31 + 30) * 24;
        let mut csv = String::from("time,load\n");
        for i in 0..steps {
            let t = start + chrono::Duration::hours(i as i64);
            let peak = match t.month() {
                4 => 100.0,
                5 => 50.0,
                _ => 80.0,
            };
            let load = if t.day() == 10 && t.hour() == 14 {
                peak
            } else {
                20.0
            };
            csv.push_str(&format!("{},{load}\n", t.to_rfc3339()));
        }
        std::fs::write(dir.join("series.csv"), csv).unwrap();
        std::fs::write(
            dir.join("scenario.toml"),
            format!(
                "[scenario]\nname = \"meter\"\ntimezone = \"Asia/Tokyo\"\nstart = \"{}\"\n\
                 step_minutes = 60\nsteps = {steps}\nseries = \"series.csv\"\n\n\
                 [[node]]\nid = \"b\"\nload_kw = \"load\"\n\n\
                 [[grid]]\nid = \"m\"\nnode = \"b\"\nimport_price_yen_per_kwh = 10.0\n\
                 demand_charge_yen_per_kw = 1000.0\n",
                start.to_rfc3339()
            ),
        )
        .unwrap();
        let sc = Scenario::load(dir.join("scenario.toml")).unwrap();
        let out = optimize(&sc, &SolveOptions::default()).unwrap();
        let s = out.schedule.unwrap();
        let monthly = compute(&sc, &s, Billing { ratchet_months: 1 });
        let billed: Vec<f64> = monthly.billed_kw.iter().map(|b| b.2).collect();
        assert_eq!(billed.len(), 3);
        for (a, b) in billed.iter().zip([100.0, 50.0, 80.0]) {
            assert!((a - b).abs() < 1e-6, "{billed:?}");
        }
        assert!((monthly.district.demand_yen - 230_000.0).abs() < 1e-3);
        let ratchet = compute(&sc, &s, Billing { ratchet_months: 12 });
        assert!((ratchet.district.demand_yen - 300_000.0).abs() < 1e-3);
        assert!((ratchet.district.energy_yen - monthly.district.energy_yen).abs() < 1e-9);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
