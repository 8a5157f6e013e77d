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

/// The grid connection that serves each node: the nearest one across the private lines
/// (fewest lines; the first grid on ties), `None` for an island.
pub fn areas(sc: &Scenario) -> Vec<Option<usize>> {
    let n = sc.nodes.len();
    let mut area = vec![None; n];
    let mut frontier: Vec<usize> = Vec::new();
    for (g, grid) in sc.grids.iter().enumerate() {
        if area[grid.node].is_none() {
            area[grid.node] = Some(g);
            frontier.push(grid.node);
        }
    }
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for &u in &frontier {
            for l in &sc.lines {
                let v = if l.from == u {
                    l.to
                } else if l.to == u {
                    l.from
                } else {
                    continue;
                };
                if area[v].is_none() {
                    area[v] = area[u];
                    next.push(v);
                }
            }
        }
        frontier = next;
    }
    area
}

/// Where a demand charge applies, the rule controller's batteries hold the import at this
/// fraction of the billed peak.
pub const SHAVE_FRACTION: f64 = 0.85;

/// The rule-based controller at step `t`, reacting to the present measurements. Each node
/// belongs to the area of its nearest grid connection ([`areas`]); per area:
///
/// - batteries take the area's PV surplus;
/// - where a demand charge applies (peak shaving): they discharge whatever the area needs
///   above [`SHAVE_FRACTION`] of the billed peak so far, and recharge from the grid at the
///   coming day's cheapest price up to that level;
/// - elsewhere (self-consumption and time of use): they discharge to cover the area's
///   demand when the import price is in the dear half of the coming day's price range (or
///   the price is flat), and never charge from the grid;
/// - never more than the area needs, so they never export;
/// - HVAC runs on its thermostat;
/// - a generator runs (at most full power) when electricity from its area's grid (import
///   price plus CO2 price) costs more than its own (fuel plus CO2 per kWh electric) and
///   the district needs at least its minimum power, else it is off.
pub fn rule(sc: &Scenario, t: usize, state: &PlantState, ratchet_months: usize) -> Decision {
    let dt = sc.step_hours();
    let area = areas(sc);
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
    let generator_kw: Vec<f64> = sc
        .generators
        .iter()
        .map(|j| {
            let Some(g) = area[j.node] else {
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
    // What each area still needs from its grid (negative: surplus).
    let mut area_need = vec![0.0; sc.grids.len()];
    for (n, v) in need.iter().enumerate() {
        if let Some(g) = area[n] {
            area_need[g] += v;
        }
    }
    let day = ((24.0 / dt).round() as usize).max(1);
    let battery_kw = sc
        .batteries
        .iter()
        .map(|k| {
            let Some(g) = area[k.node] else {
                let v = need[k.node];
                return if v < 0.0 {
                    ((-v).min(k.charge_kw), 0.0)
                } else {
                    (0.0, v.min(k.discharge_kw))
                };
            };
            let v = area_need[g];
            let grid = &sc.grids[g];
            if v < 0.0 {
                let ch = (-v).min(k.charge_kw);
                area_need[g] += ch;
                return (ch, 0.0);
            }
            let end = (t + day).min(sc.steps);
            let window = &grid.import_price_yen_per_kwh[t..end];
            let lo = window.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = window.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let price = grid.import_price_yen_per_kwh[t];
            let varies = hi > lo;
            let dear = !varies || price >= 0.5 * (lo + hi);
            if grid.demand_charge_yen_per_kw > 0.0 {
                // Peak shaving: hold the import at a threshold below the billed peak;
                // recharge at the day's cheapest price up to that threshold.
                let threshold = SHAVE_FRACTION * state.billed_peak_kw(g, ratchet_months);
                if v > threshold {
                    let dis = (v - threshold).min(k.discharge_kw);
                    area_need[g] -= dis;
                    (0.0, dis)
                } else if !varies || price <= lo {
                    let ch = (threshold - v).max(0.0).min(k.charge_kw);
                    area_need[g] += ch;
                    (ch, 0.0)
                } else {
                    (0.0, 0.0)
                }
            } else if dear {
                let dis = v.min(k.discharge_kw);
                area_need[g] -= dis;
                (0.0, dis)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::plant::Plant;
    use std::path::PathBuf;

    fn load(rel: &str) -> Scenario {
        Scenario::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
    }

    fn node(sc: &Scenario, id: &str) -> usize {
        sc.nodes.iter().position(|n| n.id == id).unwrap()
    }

    #[test]
    fn each_node_is_served_by_its_nearest_grid() {
        let sc = load("scenarios/kashiwanoha/scenario.toml").slice(0..48);
        let a = areas(&sc);
        let grid = |id: &str| sc.grids.iter().position(|g| g.id == id);
        assert_eq!(a[node(&sc, "mall")], grid("mall_pcc"));
        for n in ["gate_hub", "office", "hotel", "residences"] {
            assert_eq!(a[node(&sc, n)], grid("gate_pcc"), "{n}");
        }
    }

    /// A day of the reference district under the rule: the batteries act, stay within
    /// their limits, never export, and the HVAC follows its thermostat.
    #[test]
    fn the_rule_keeps_batteries_within_limits_and_never_exports() {
        let sc = load("scenarios/kashiwanoha/scenario.toml").slice(0..96);
        let mut plant = Plant::new(&sc, 96, true);
        for t in 0..96 {
            let d = rule(&sc, t, &plant.state, 12);
            for (q, h) in d.hvac_kw.iter().zip(&sc.hvacs) {
                assert!(*q >= 0.0 && *q <= h.max_kw);
            }
            plant.step(t, &d).unwrap();
        }
        let r = &plant.realized;
        let throughput: f64 = r
            .batteries
            .iter()
            .map(|b| b.charge_kw.iter().chain(&b.discharge_kw).sum::<f64>())
            .sum();
        assert!(
            throughput > 100.0,
            "the batteries did nothing: {throughput}"
        );
        for (b, k) in r.batteries.iter().zip(&sc.batteries) {
            for e in &b.energy_kwh {
                assert!(*e >= k.min_kwh - 1e-6 && *e <= k.max_kwh + 1e-6, "{e}");
            }
        }
        for g in &r.grids {
            assert!(g.export_kw.iter().all(|x| *x <= 1e-6));
        }
    }

    /// The baseline leaves batteries idle and generators off.
    #[test]
    fn the_baseline_does_nothing_but_cool() {
        let sc = load("scenarios/kashiwanoha/scenario.toml").slice(4368..4368 + 48);
        let plant = Plant::new(&sc, 48, true);
        let d = none(&sc, 30, &plant.state);
        assert!(d.battery_kw.iter().all(|b| *b == (0.0, 0.0)));
        assert!(d.generator_kw.iter().all(|p| *p == 0.0));
    }
}
