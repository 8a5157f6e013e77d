//! The rule-based controller: a reactive rule per grid area, on what was measured at the
//! start of the interval. Each node belongs to the area of its nearest grid connection
//! ([`physics::Network::areas`]); an area's base load is its connection's meter less what
//! its units drew. Per area:
//!
//! - batteries take the area's surplus (PV beyond the load);
//! - where a demand charge applies (peak shaving): they discharge whatever the area needs
//!   above [`SHAVE_FRACTION`] of the billed peak so far, and recharge from the grid at the
//!   coming day's cheapest price up to that level;
//! - elsewhere (self-consumption and time of use): they discharge to cover the area's need
//!   when the import price is in the dear half of the coming day's price range (or the
//!   price is flat), and never charge from the grid;
//! - never more than the area needs, so they never export;
//! - HVAC units stay on their own thermostats;
//! - a generator runs (at most full power) when electricity from its area's grid (import
//!   price plus CO2 price) costs more than its own (fuel plus CO2 per kWh electric) and the
//!   district needs at least its least power, else it is off.
//!
//! An area whose meter or units were not all read this cycle holds its batteries and stops
//! its generators. Prices are tariffs, known in advance.

use physics::device::Command;
use physics::Network;

use engine::Scenario;

use crate::decision::Decisions;
use crate::state::State;

/// Where a demand charge applies, the batteries hold the import at this fraction of the
/// billed peak.
pub const SHAVE_FRACTION: f64 = 0.85;

/// The rule's decisions at data row `row` from `state`.
pub fn decide(data: &Scenario, network: &Network, row: usize, state: &State) -> Decisions {
    let area = network.areas();
    let n_areas = data.grids.len();
    // What each area needs from its grid before batteries and generators (None: unknown).
    let mut need: Vec<Option<f64>> = data
        .grids
        .iter()
        .map(|g| state.grids.get(&g.id).and_then(|s| s.meter_kw))
        .collect();
    let mut add = |node: usize, measured: Option<f64>, sign: f64| {
        if let Some(a) = area[node] {
            need[a] = match (need[a], measured) {
                (Some(x), Some(m)) => Some(x + sign * m),
                _ => None,
            };
        }
    };
    for b in &data.batteries {
        add(b.node, state.battery_kw.get(&b.id).copied(), 1.0);
    }
    for g in &data.generators {
        add(g.node, state.generator_kw.get(&g.id).copied(), 1.0);
    }
    // (HVAC stays on its thermostat: what it drew stays in the need.)
    let mut commands = Vec::new();
    let mut generator_cmds = Vec::new();
    let district_need: f64 = need.iter().flatten().sum();
    for g in &data.generators {
        let cmd = match area[g.node] {
            Some(a) if need[a].is_some() => {
                let grid = &data.grids[a];
                let grid_cost = grid.import_price_yen_per_kwh[row]
                    + data.carbon_price_yen_per_kg * grid.carbon_intensity_kg_per_kwh[row];
                let own_cost = (g.fuel_price_yen_per_kwh
                    + data.carbon_price_yen_per_kg * g.fuel_carbon_kg_per_kwh)
                    / g.efficiency;
                if grid_cost > own_cost && district_need >= g.min_kw {
                    let p = district_need.min(g.max_kw).max(g.min_kw);
                    need[a] = need[a].map(|x| x - p);
                    Command::Generator {
                        on: true,
                        power_kw: p,
                    }
                } else {
                    Command::Generator {
                        on: false,
                        power_kw: 0.0,
                    }
                }
            }
            _ => Command::Generator {
                on: false,
                power_kw: 0.0,
            },
        };
        generator_cmds.push((g.id.clone(), cmd));
    }
    let day = ((24.0 / data.step_hours()).round() as usize).max(1);
    let mut area_need: Vec<Option<f64>> = need;
    for b in &data.batteries {
        let hold = Command::Battery { power_kw: 0.0 };
        let Some(a) = area[b.node].filter(|a| *a < n_areas) else {
            commands.push((b.id.clone(), hold));
            continue;
        };
        let Some(v) = area_need[a] else {
            commands.push((b.id.clone(), hold));
            continue;
        };
        let grid = &data.grids[a];
        let (ch, dis) = if v < 0.0 {
            ((-v).min(b.charge_kw), 0.0)
        } else {
            let end = (row + day).min(data.steps).max(row + 1);
            let window = &grid.import_price_yen_per_kwh[row..end];
            let lo = window.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = window.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let price = grid.import_price_yen_per_kwh[row];
            let varies = hi > lo;
            if grid.demand_charge_yen_per_kw > 0.0 {
                let billed = state.grids.get(&grid.id).map_or(0.0, |s| s.billed_peak_kw);
                let threshold = SHAVE_FRACTION * billed;
                if v > threshold {
                    (0.0, (v - threshold).min(b.discharge_kw))
                } else if !varies || price <= lo {
                    ((threshold - v).max(0.0).min(b.charge_kw), 0.0)
                } else {
                    (0.0, 0.0)
                }
            } else if !varies || price >= 0.5 * (lo + hi) {
                (0.0, v.min(b.discharge_kw))
            } else {
                (0.0, 0.0)
            }
        };
        area_need[a] = Some(v + ch - dis);
        commands.push((b.id.clone(), Command::Battery { power_kw: dis - ch }));
    }
    commands.extend(data.hvacs.iter().map(|h| (h.id.clone(), Command::Release)));
    commands.extend(generator_cmds);
    Decisions {
        commands,
        tie_kw: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plant::{every_device, network, Plant};
    use crate::state::Estimator;

    /// Two days of the reference district under the rule, on measurements: the batteries
    /// act, stay within their limits, and never export.
    #[test]
    fn the_rule_keeps_batteries_within_limits_and_never_exports() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/kashiwanoha/scenario.toml");
        let sc = Scenario::load(p).unwrap().slice(4368..4368 + 96);
        let net = network(&sc);
        let mut plant = Plant::new(&sc, 96, false);
        let mut est = Estimator::new(
            &sc,
            every_device(&sc),
            3600.0,
            engine::kpi::Billing { ratchet_months: 12 },
        );
        for t in 0..96 {
            let st = est.update(&plant.measure(), &sc);
            let d = decide(&sc, &net, t, &st);
            plant.apply(&d).unwrap();
        }
        let r = plant.realized();
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
}
