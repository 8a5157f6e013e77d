//! Controllers: what decides each step's battery, HVAC and generator power.
//!
//! - [`none`] — the baseline without an AEMS: batteries idle, HVAC on its own
//!   thermostat ([`thermostat_kw`]), generators off.
//! - [`rule`] — a rule-based AEMS.
//! - MPC ([`super::mpc::Mpc`]) — the receding-horizon optimiser.
//! - Oracle ([`super::mpc::oracle`]) — the whole period solved at once with perfect
//!   foresight: the best any controller could do.

use engine::asset::{Hvac, HvacMode};
use engine::Scenario;

use super::plant::{Decision, PlantState};

/// An HVAC unit on its own thermostat: the power that brings the zone to the comfortable
/// quarter of its band next step (the upper quarter when cooling, the lower when heating),
/// within `[min_kw, max_kw]`; below `min_kw` it runs at `min_kw` only if the zone would
/// otherwise leave its band, else it stays off.
pub fn thermostat_kw(h: &Hvac, t: usize, zone_c: f64, step_hours: f64) -> f64 {
    let (low, high) = (h.comfort_low_c[t], h.comfort_high_c[t]);
    let width = (high - low).max(0.0);
    let s = h.mode.sign();
    let target = match h.mode {
        HvacMode::Cooling => high - 0.25 * width,
        HvacMode::Heating => low + 0.25 * width,
    };
    let a = h.decay(step_hours);
    let free = a * zone_c + (1.0 - a) * (h.outdoor_temp_c[t] + h.r_k_per_kw * h.heat_gain_kw[t]);
    let per_kw = (1.0 - a) * h.r_k_per_kw * h.cop[t];
    if per_kw <= 0.0 {
        return 0.0;
    }
    let q = (s * (free - target) / per_kw).clamp(0.0, h.max_kw);
    if q > 0.0 && q < h.min_kw {
        let leaves_band = match h.mode {
            HvacMode::Cooling => free > high,
            HvacMode::Heating => free < low,
        };
        return if leaves_band { h.min_kw } else { 0.0 };
    }
    q
}

/// The rule-based controller at step `t`, reacting to the present measurements:
///
/// - a battery charges with its node's PV surplus; it discharges to cover its node's
///   demand when the import price is in the dear half of the coming day's price range (or
///   the price is flat), or when the node would set a new monthly peak (if a demand charge
///   applies) — never more than the node needs, so it never exports;
/// - HVAC runs on its thermostat;
/// - a generator runs at full power when electricity from its node's grid (import price
///   plus CO2 price) costs more than its own (fuel plus CO2 per kWh electric) and its
///   node needs at least its minimum power, else it is off.
pub fn rule(sc: &Scenario, t: usize, state: &PlantState, ratchet_months: usize) -> Decision {
    let dt = sc.step_hours();
    let mut need: Vec<f64> = sc.nodes.iter().map(|nd| nd.load_kw[t]).collect();
    for p in &sc.pvs {
        need[p.node] -= p.available_kw[t];
    }
    let hvac_kw: Vec<f64> = sc
        .hvacs
        .iter()
        .zip(&state.zone_c)
        .map(|(h, z)| thermostat_kw(h, t, *z, dt))
        .collect();
    for (h, q) in sc.hvacs.iter().zip(&hvac_kw) {
        need[h.node] += q;
    }
    // The grid each node buys from: its own, else the first.
    let grid_of = |node: usize| {
        sc.grids
            .iter()
            .position(|g| g.node == node)
            .or(if sc.grids.is_empty() { None } else { Some(0) })
    };
    let generator_kw: Vec<f64> = sc
        .generators
        .iter()
        .map(|j| {
            let Some(g) = grid_of(j.node) else {
                return j.max_kw;
            };
            let grid = &sc.grids[g];
            let grid_cost = grid.import_price_yen_per_kwh[t]
                + sc.carbon_price_yen_per_kg * grid.carbon_intensity_kg_per_kwh[t];
            let own_cost = (j.fuel_price_yen_per_kwh
                + sc.carbon_price_yen_per_kg * j.fuel_carbon_kg_per_kwh)
                / j.efficiency;
            let district_need: f64 = need.iter().sum();
            if grid_cost > own_cost && district_need >= j.min_kw {
                district_need.min(j.max_kw).max(j.min_kw)
            } else {
                0.0
            }
        })
        .collect();
    for (j, p) in sc.generators.iter().zip(&generator_kw) {
        need[j.node] -= p;
    }
    let day = ((24.0 / dt).round() as usize).max(1);

    let battery_kw = sc
        .batteries
        .iter()
        .map(|k| {
            let v = need[k.node];
            if v < 0.0 {
                return ((-v).min(k.charge_kw), 0.0);
            }
            let Some(g) = grid_of(k.node) else {
                return (0.0, 0.0);
            };
            let grid = &sc.grids[g];
            let end = (t + day).min(sc.steps);
            let window = &grid.import_price_yen_per_kwh[t..end];
            let lo = window.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = window.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let price = grid.import_price_yen_per_kwh[t];
            let dear = hi <= lo || price >= 0.5 * (lo + hi);
            let peak = state.billed_peak_kw(g, ratchet_months);
            let shave = grid.demand_charge_yen_per_kw > 0.0 && v > peak;
            if dear || shave {
                (0.0, v.min(k.discharge_kw))
            } else {
                (0.0, 0.0)
            }
        })
        .collect();
    Decision {
        battery_kw,
        hvac_kw,
        generator_kw,
    }
}

/// The baseline at step `t`: batteries idle, HVAC on its thermostat, generators off.
pub fn none(sc: &Scenario, t: usize, state: &PlantState) -> Decision {
    Decision {
        battery_kw: vec![(0.0, 0.0); sc.batteries.len()],
        hvac_kw: sc
            .hvacs
            .iter()
            .zip(&state.zone_c)
            .map(|(h, z)| thermostat_kw(h, t, *z, sc.step_hours()))
            .collect(),
        generator_kw: vec![0.0; sc.generators.len()],
    }
}
