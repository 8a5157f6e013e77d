//! The fast layer under a plan: the peak guard.
//!
//! A plan is made on forecasts. Where a demand charge applies, the guard predicts each
//! part of the network's import for the coming interval from what was measured at its
//! start — the base load (the connections' meters less what the units drew) held, plus what
//! the units are now told — and, where that would exceed what the part's connections may
//! import without a new billed peak (or beyond the plan, if the plan meant to set one),
//! it has the batteries help: less charging, then more discharging. So a forecast error
//! does not set a new peak, which the 12-month ratchet would bill for a year. It reads only
//! what was measured by the start of the interval.

use physics::device::Command;
use physics::Network;

use engine::Scenario;

use crate::decision::Decisions;
use crate::state::State;

/// Adjusts `d` (decisions of a plan whose import at this step is `planned_import_kw`, per
/// connection); returns whether it acted. A part whose meters or units were not all read
/// this cycle is left alone.
pub fn peak_guard(
    data: &Scenario,
    network: &Network,
    state: &State,
    planned_import_kw: &[f64],
    d: &mut Decisions,
) -> bool {
    let part_of = network.parts();
    let parts = part_of.iter().copied().max().map_or(0, |m| m + 1);
    let mut import = vec![Some(0.0); parts];
    let mut limit = vec![0.0; parts];
    let mut charged = vec![false; parts];
    for (g, grid) in data.grids.iter().enumerate() {
        let p = part_of[grid.node];
        import[p] = match (
            import[p],
            state.grids.get(&grid.id).and_then(|s| s.meter_kw),
        ) {
            (Some(a), Some(m)) => Some(a + m),
            _ => None,
        };
        let planned = planned_import_kw.get(g).copied().unwrap_or(0.0);
        if grid.demand_charge_yen_per_kw > 0.0 {
            charged[p] = true;
            let billed = state.grids.get(&grid.id).map_or(0.0, |s| s.billed_peak_kw);
            limit[p] += planned.max(billed);
        } else {
            limit[p] += planned;
        }
    }
    // Predicted import = measured import − what the units drew + what they are told.
    let mut predicted = import;
    let mut shift = |p: usize, measured: Option<f64>, next: f64, sign: f64| {
        predicted[p] = match (predicted[p], measured) {
            (Some(x), Some(m)) => Some(x + sign * (next - m)),
            _ => None,
        };
    };
    for b in &data.batteries {
        let m = state.battery_kw.get(&b.id).copied();
        let next = match d.get(&b.id) {
            Some(Command::Battery { power_kw }) => *power_kw,
            _ => 0.0,
        };
        shift(part_of[b.node], m, next, -1.0);
    }
    for h in &data.hvacs {
        let m = state.hvac_kw.get(&h.id).copied();
        let next = match d.get(&h.id) {
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
            _ => m.unwrap_or(0.0),
        };
        shift(part_of[h.node], m, next, 1.0);
    }
    for g in &data.generators {
        let m = state.generator_kw.get(&g.id).copied();
        let next = match d.get(&g.id) {
            Some(Command::Generator { on: true, power_kw }) => *power_kw,
            Some(Command::Generator { on: false, .. }) => 0.0,
            _ => m.unwrap_or(0.0),
        };
        shift(part_of[g.node], m, next, -1.0);
    }
    let mut acted = false;
    for p in 0..parts {
        let Some(pred) = predicted[p] else { continue };
        let mut excess = pred - limit[p];
        if !charged[p] || excess <= 1e-6 {
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

    /// A plan that charges the batteries (made on a forecast that missed the load) would set
    /// a new peak: the guard stops the charging and discharges instead; a plan that meant to
    /// import this much is left alone; a part not fully read is left alone.
    #[test]
    fn the_guard_keeps_forecast_errors_from_setting_peaks() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let net_kw = |d: &Decisions| -> f64 {
            sc.batteries
                .iter()
                .map(|b| match d.get(&b.id) {
                    Some(Command::Battery { power_kw }) => *power_kw,
                    _ => 0.0,
                })
                .sum()
        };
        let mut d = charging(&sc);
        assert!(peak_guard(&sc, &net, &st, &[0.0, 0.0], &mut d));
        assert!(net_kw(&d) > 0.0, "discharging now: {d:?}");
        let mut d = charging(&sc);
        assert!(!peak_guard(&sc, &net, &st, &[5000.0, 5000.0], &mut d));
        assert_eq!(net_kw(&d), -300.0 * sc.batteries.len() as f64);
        let mut partial = st.clone();
        partial.battery_kw.clear();
        let mut d = charging(&sc);
        assert!(!peak_guard(&sc, &net, &partial, &[0.0, 0.0], &mut d));
    }

    /// The guard reads measurements only: the data's series do not change what it does.
    #[test]
    fn the_guard_reads_no_series() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let mut other = sc.clone();
        other.map_series(|v| v.iter().map(|x| x * 3.0 + 7.0).collect());
        let (mut a, mut b) = (charging(&sc), charging(&sc));
        let ga = peak_guard(&sc, &net, &st, &[0.0, 0.0], &mut a);
        let gb = peak_guard(&other, &net, &st, &[0.0, 0.0], &mut b);
        assert_eq!((ga, a), (gb, b));
    }
}
