//! The fast layer under a plan: the peak guard.
//!
//! A plan is made on forecasts. Where a demand charge applies, the guard predicts each
//! part of the network's import for the coming step — the plan's forecast of the part's
//! base load (loads less PV), corrected by the error the forecast of the step just passed
//! turned out to have (the base load measured at this step's start — the connections'
//! meters less what the units drew — against what the plan said it would be), plus what
//! the units are now told — and, where that would exceed what the part's connections may
//! import without a new billed peak (or beyond the plan, if the plan meant to set one), it
//! has the batteries help: less charging, then more discharging. So a forecast that falls
//! short does not set a new peak, which the 12-month ratchet would bill for a year; a
//! forecast that holds (perfect foresight) leaves the plan alone. It reads only what was
//! measured by the start of the step and the plan made before it.

use physics::device::Command;
use physics::Network;

use engine::Scenario;

use crate::decision::Decisions;
use crate::plan::Plan;
use crate::state::State;

/// The plan's base load (loads less available PV) of each part of the network at step `k`,
/// kW.
pub fn forecast_base_kw(plan: &Plan, k: usize, network: &Network) -> Vec<f64> {
    let part_of = network.parts();
    let mut v = vec![0.0; part_of.iter().copied().max().map_or(0, |m| m + 1)];
    let sc = &plan.problem;
    for (i, n) in sc.nodes.iter().enumerate() {
        v[part_of[i]] += n.load_kw.get(k).copied().unwrap_or(0.0);
    }
    for p in &sc.pvs {
        v[part_of[p.node]] -= p.available_kw.get(k).copied().unwrap_or(0.0);
    }
    v
}

/// The base load of each part measured in `state` (its connections' meters less what its
/// units drew, + discharging), kW; `None` where a meter or unit was not read.
pub fn measured_base_kw(data: &Scenario, network: &Network, state: &State) -> Vec<Option<f64>> {
    let part_of = network.parts();
    let mut v = vec![Some(0.0); part_of.iter().copied().max().map_or(0, |m| m + 1)];
    let mut add = |p: usize, x: Option<f64>| {
        v[p] = match (v[p], x) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        }
    };
    for g in &data.grids {
        add(
            part_of[g.node],
            state.grids.get(&g.id).and_then(|s| s.meter_kw),
        );
    }
    for b in &data.batteries {
        add(part_of[b.node], state.battery_kw.get(&b.id).copied());
    }
    for h in &data.hvacs {
        add(part_of[h.node], state.hvac_kw.get(&h.id).map(|q| -q));
    }
    for g in &data.generators {
        add(part_of[g.node], state.generator_kw.get(&g.id).copied());
    }
    v
}

/// The peak guard and what it remembers: the plan's forecast of the step now passing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Guard {
    last_forecast_kw: Option<Vec<f64>>,
}

impl Guard {
    /// Forgets the last forecast (the step now passing was not decided by a plan).
    pub fn forget(&mut self) {
        self.last_forecast_kw = None;
    }

    /// Adjusts `d`, the decisions of a plan whose base-load forecast for this step is
    /// `forecast_kw` (per part, [`forecast_base_kw`]) and whose import at this step is
    /// `planned_import_kw` (per connection); returns whether it acted. A part whose meters
    /// or units were not all read this cycle is left alone; without the forecast of the step
    /// just passed, the measured base load is held.
    pub fn act(
        &mut self,
        data: &Scenario,
        network: &Network,
        state: &State,
        forecast_kw: &[f64],
        planned_import_kw: &[f64],
        d: &mut Decisions,
    ) -> bool {
        let part_of = network.parts();
        let measured = measured_base_kw(data, network, state);
        let last = self.last_forecast_kw.replace(forecast_kw.to_vec());
        let mut predicted: Vec<Option<f64>> = measured
            .iter()
            .enumerate()
            .map(|(p, m)| {
                let m = (*m)?;
                Some(match &last {
                    Some(prev) => forecast_kw.get(p)? + (m - prev.get(p)?),
                    None => m,
                })
            })
            .collect();
        let mut limit = vec![0.0; predicted.len()];
        let mut charged = vec![false; predicted.len()];
        for (g, grid) in data.grids.iter().enumerate() {
            let p = part_of[grid.node];
            let planned = planned_import_kw.get(g).copied().unwrap_or(0.0);
            if grid.demand_charge_yen_per_kw > 0.0 {
                charged[p] = true;
                let billed = state.grids.get(&grid.id).map_or(0.0, |s| s.billed_peak_kw);
                limit[p] += planned.max(billed);
            } else {
                limit[p] += planned;
            }
        }
        // + what the units are told: the import grows with HVAC and charging.
        let mut add = |p: usize, x: f64| {
            if let Some(v) = predicted[p].as_mut() {
                *v += x;
            }
        };
        for b in &data.batteries {
            if let Some(Command::Battery { power_kw }) = d.get(&b.id) {
                add(part_of[b.node], -power_kw);
            }
        }
        for h in &data.hvacs {
            let q = match d.get(&h.id) {
                Some(Command::Hvac {
                    on,
                    power_kw: Some(q),
                    ..
                }) => {
                    if *on {
                        *q
                    } else {
                        0.0
                    }
                }
                // On its own thermostat: as it drew.
                _ => state.hvac_kw.get(&h.id).copied().unwrap_or(0.0),
            };
            add(part_of[h.node], q);
        }
        for g in &data.generators {
            let p = match d.get(&g.id) {
                Some(Command::Generator { on: true, power_kw }) => *power_kw,
                Some(Command::Generator { on: false, .. }) => 0.0,
                _ => state.generator_kw.get(&g.id).copied().unwrap_or(0.0),
            };
            add(part_of[g.node], -p);
        }
        let mut acted = false;
        for (p, pred) in predicted.iter().enumerate() {
            let Some(pred) = pred else { continue };
            let mut excess = pred - limit[p];
            // Within the forecast's own noise (line losses, rounding): leave the plan.
            if !charged[p] || excess <= (0.005 * limit[p]).max(1.0) {
                continue;
            }
            for b in &data.batteries {
                if part_of[b.node] != p || excess <= 0.0 {
                    continue;
                }
                let Some(Command::Battery { power_kw }) = d.get_mut(&b.id) else {
                    continue;
                };
                let before = *power_kw;
                if *power_kw < 0.0 {
                    let cut = (-*power_kw).min(excess);
                    *power_kw += cut;
                    excess -= cut;
                }
                let more = (b.discharge_kw - power_kw.max(0.0)).max(0.0).min(excess);
                *power_kw += more;
                excess -= more;
                acted |= *power_kw != before;
            }
        }
        acted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::GridState;

    fn kashiwanoha_july_day() -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/kashiwanoha/scenario.toml");
        Scenario::load(p).unwrap().slice(4368..4368 + 48)
    }

    /// Measured at 15:00: each connection imports 1,500 kW with every unit idle; the billed
    /// peak is 1,000 kW.
    fn afternoon(sc: &Scenario) -> State {
        let mut st = State::default();
        for g in &sc.grids {
            st.grids.insert(
                g.id.clone(),
                GridState {
                    meter_kw: Some(1500.0),
                    billed_peak_kw: 1000.0,
                    ..Default::default()
                },
            );
        }
        for b in &sc.batteries {
            st.battery_kw.insert(b.id.clone(), 0.0);
        }
        for h in &sc.hvacs {
            st.hvac_kw.insert(h.id.clone(), 100.0);
        }
        for g in &sc.generators {
            st.generator_kw.insert(g.id.clone(), 0.0);
        }
        st
    }

    fn charging(sc: &Scenario) -> Decisions {
        let mut d = crate::baseline::decide(sc);
        for b in &sc.batteries {
            *d.get_mut(&b.id).unwrap() = Command::Battery { power_kw: -300.0 };
        }
        d
    }

    fn batteries_kw(sc: &Scenario, d: &Decisions) -> f64 {
        sc.batteries
            .iter()
            .map(|b| match d.get(&b.id) {
                Some(Command::Battery { power_kw }) => *power_kw,
                _ => 0.0,
            })
            .sum()
    }

    /// A plan that charges the batteries on a forecast that fell 500 kW short at the last
    /// step would set a new peak: the guard stops the charging and discharges instead. Had
    /// the forecast held, the same plan is left alone even though the load measured now is
    /// higher than the plan's (the load is forecast to fall); so is a plan that meant to
    /// import this much, and a part not fully read.
    #[test]
    fn the_guard_keeps_forecast_errors_from_setting_peaks() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let measured = measured_base_kw(&sc, &net, &st)[0].unwrap();
        assert_eq!(measured, 3000.0 - 100.0 * sc.hvacs.len() as f64);
        let charging_kw = 300.0 * sc.batteries.len() as f64;
        // The forecast of the step passed was 500 kW short.
        let mut g = Guard::default();
        let mut d = charging(&sc);
        assert!(
            !g.act(&sc, &net, &st, &[measured - 500.0], &[1e4, 1e4], &mut d),
            "a plan meaning to import this much"
        );
        let mut d = charging(&sc);
        let falling = 2000.0 - 100.0 * sc.hvacs.len() as f64 - charging_kw;
        assert!(g.act(&sc, &net, &st, &[falling], &[0.0, 0.0], &mut d));
        // Predicted: 500 kW over the limit; the batteries take it.
        assert!((batteries_kw(&sc, &d) - (500.0 - charging_kw)).abs() < 1e-9, "{d:?}");
        // The forecast held: the load is forecast to fall to what the limit allows.
        let mut g = Guard::default();
        g.act(&sc, &net, &st, &[measured], &[1e4, 1e4], &mut charging(&sc));
        let mut d = charging(&sc);
        assert!(!g.act(&sc, &net, &st, &[falling], &[0.0, 0.0], &mut d));
        assert_eq!(batteries_kw(&sc, &d), -charging_kw);
        // No forecast of the step passed: the measured load held.
        let mut d = charging(&sc);
        assert!(Guard::default().act(&sc, &net, &st, &[falling], &[0.0, 0.0], &mut d));
        let mut partial = st.clone();
        partial.battery_kw.clear();
        let mut d = charging(&sc);
        assert!(!Guard::default().act(&sc, &net, &partial, &[0.0], &[0.0, 0.0], &mut d));
    }

    /// The guard reads measurements and the plan only: the data's series do not change
    /// what it does.
    #[test]
    fn the_guard_reads_no_series() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let mut other = sc.clone();
        other.map_series(|v| v.iter().map(|x| x * 3.0 + 7.0).collect());
        let (mut a, mut b) = (charging(&sc), charging(&sc));
        let ga = Guard::default().act(&sc, &net, &st, &[0.0], &[0.0, 0.0], &mut a);
        let gb = Guard::default().act(&other, &net, &st, &[0.0], &[0.0, 0.0], &mut b);
        assert!(ga);
        assert_eq!((ga, a), (gb, b));
    }
}
