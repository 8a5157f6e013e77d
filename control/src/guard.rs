//! The fast layer under a plan: the peak guard.
//!
//! A plan is made on forecasts. Where a demand charge applies, the guard predicts the
//! import of each connection's *area* (the nodes its radial tree serves; tie lines carry
//! what they are told, so each area's import is its own) for the coming step — the plan's
//! forecast of the area's base load (loads less PV), corrected by the error the forecast of
//! the step just passed turned out to have (the base load measured at this step's start —
//! the area's meters less what its units drew and what its tie lines were told to carry —
//! against what the plan said it would be), plus what the units and tie lines are now told
//! — and, where that would exceed what the area's connections may import without a new
//! billed peak (or beyond the plan, if the plan meant to set one), it has the area's
//! batteries help: less charging, then more discharging. So a forecast that falls short
//! does not set a new peak, which the 12-month ratchet would bill for a year; a forecast
//! that holds (perfect foresight) leaves the plan alone.
//!
//! The prediction has its own error, largest where loads change within a step (a working
//! day starting at 07:00): the guard keeps the last week of it per area and time of day,
//! and charging gives way to a *headroom* below the limit — the most the measured base
//! load came out above the prediction at this time of day over that week — so that a plan
//! filling up to the billed peak with charging does not creep it up by the prediction's
//! error, day after day; discharging is added only for what exceeds the limit itself. The guard reads only
//! what was measured by the start of the step and the plan made before it.

use std::collections::VecDeque;

use physics::device::Command;
use physics::Network;

use engine::Scenario;

use crate::decision::Decisions;
use crate::plan::Plan;
use crate::state::State;

/// The area (the index of the connection that serves it) each node is in; `None` on an
/// island.
fn area_of(network: &Network) -> Vec<Option<usize>> {
    network.areas()
}

/// What the tie lines told `tie_kw` (per line id, + from → to) take out of each area, kW
/// (negative: they bring in).
fn tie_out_kw(data: &Scenario, network: &Network, tie_kw: &[(String, f64)]) -> Vec<f64> {
    let area = area_of(network);
    let mut v = vec![0.0; network.grids().len()];
    for &l in network.ties() {
        let (Some(line), Some(spec)) = (network.lines().get(l), data.lines.get(l)) else {
            continue;
        };
        let Some(&(_, kw)) = tie_kw.iter().find(|(id, _)| *id == spec.id) else {
            continue;
        };
        let (sender, receiver, sent) = if kw >= 0.0 {
            (line.from, line.to, kw)
        } else {
            (line.to, line.from, -kw)
        };
        if let Some(a) = area[sender] {
            v[a] += sent;
        }
        if let Some(a) = area[receiver] {
            v[a] -= line.received_kw(sent);
        }
    }
    v
}

/// The plan's base load (loads less available PV) of each area at step `k`, kW.
pub fn forecast_base_kw(plan: &Plan, k: usize, network: &Network) -> Vec<f64> {
    let area = area_of(network);
    let mut v = vec![0.0; network.grids().len()];
    let sc = &plan.problem;
    for (i, n) in sc.nodes.iter().enumerate() {
        if let Some(a) = area[i] {
            v[a] += n.load_kw.get(k).copied().unwrap_or(0.0);
        }
    }
    for p in &sc.pvs {
        if let Some(a) = area[p.node] {
            v[a] -= p.available_kw.get(k).copied().unwrap_or(0.0);
        }
    }
    v
}

/// The base load of each area measured in `state` (its connections' meters less what its
/// units drew, + discharging, less what its tie lines were told `tie_kw` to take out), kW;
/// `None` where a meter or unit was not read.
pub fn measured_base_kw(
    data: &Scenario,
    network: &Network,
    state: &State,
    tie_kw: &[(String, f64)],
) -> Vec<Option<f64>> {
    let area = area_of(network);
    let ties = tie_out_kw(data, network, tie_kw);
    let mut v: Vec<Option<f64>> = ties.iter().map(|t| Some(-t)).collect();
    let mut add = |node: usize, x: Option<f64>| {
        if let Some(a) = area[node] {
            v[a] = match (v[a], x) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            }
        }
    };
    for g in &data.grids {
        add(g.node, state.grids.get(&g.id).and_then(|s| s.meter_kw));
    }
    for b in &data.batteries {
        add(b.node, state.battery_kw.get(&b.id).copied());
    }
    for h in &data.hvacs {
        add(h.node, state.hvac_kw.get(&h.id).map(|q| -q));
    }
    for g in &data.generators {
        add(g.node, state.generator_kw.get(&g.id).copied());
    }
    v
}

/// What the plan says of the step the guard acts on.
#[derive(Debug, Clone, Copy)]
pub struct PlanStep<'a> {
    /// The data step.
    pub step: usize,
    /// The plan's base-load forecast for the step per area ([`forecast_base_kw`]), kW.
    pub forecast_kw: &'a [f64],
    /// The plan's import at the step per connection, kW.
    pub planned_import_kw: &'a [f64],
}

/// The peak guard and what it remembers: the plan's forecast of the step now passing, what
/// the tie lines were told for it, its own prediction of it, and the errors of its recent
/// predictions per area and time of day.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    last_forecast_kw: Option<Vec<f64>>,
    last_tie_kw: Vec<(String, f64)>,
    last_predicted_kw: Option<(usize, Vec<Option<f64>>)>,
    /// Per area, per step of the day: (step, error) of the last `days` days.
    errors_kw: Vec<Vec<VecDeque<(usize, f64)>>>,
    steps_per_day: usize,
    days: usize,
}

impl Default for Guard {
    /// A guard on 30-minute steps remembering a week.
    fn default() -> Self {
        Self::new(48, 7)
    }
}

impl Guard {
    /// A guard on `steps_per_day` steps a day, remembering its prediction errors of the
    /// last `days` days (the controller passes a week).
    pub fn new(steps_per_day: usize, days: usize) -> Self {
        Self {
            last_forecast_kw: None,
            last_tie_kw: Vec::new(),
            last_predicted_kw: None,
            errors_kw: Vec::new(),
            steps_per_day: steps_per_day.max(1),
            days: days.max(1),
        }
    }

    /// Forgets the last forecast (the step now passing was not decided by a plan; its tie
    /// lines carried nothing).
    pub fn forget(&mut self) {
        self.last_forecast_kw = None;
        self.last_tie_kw.clear();
        self.last_predicted_kw = None;
    }

    /// The headroom of each of `areas` areas at data step `step`: the most the measured
    /// base load came out above the guard's prediction at this time of day over the
    /// remembered days (0 where it never did, or nothing is remembered yet), kW.
    pub fn headroom_kw(&self, areas: usize, step: usize) -> Vec<f64> {
        let slot = step % self.steps_per_day;
        (0..areas)
            .map(|a| {
                self.errors_kw
                    .get(a)
                    .map_or(0.0, |e| e[slot].iter().fold(0.0, |m, (_, x)| x.max(m)))
            })
            .collect()
    }

    fn remember(&mut self, measured: &[Option<f64>]) {
        let Some((step, last)) = self.last_predicted_kw.take() else {
            return;
        };
        let slot = step % self.steps_per_day;
        if self.errors_kw.len() < measured.len() {
            self.errors_kw
                .resize(measured.len(), vec![VecDeque::new(); self.steps_per_day]);
        }
        for (a, (m, q)) in measured.iter().zip(&last).enumerate() {
            if let (Some(m), Some(q)) = (m, q) {
                let e = &mut self.errors_kw[a][slot];
                // Several cycles in one step (a live run's cadence): the latest counts.
                if e.back().is_some_and(|(s, _)| *s == step) {
                    e.pop_back();
                }
                if e.len() == self.days {
                    e.pop_front();
                }
                e.push_back((step, m - q));
            }
        }
    }

    /// Adjusts `d`, the decisions of a plan for the step `plan` describes; returns whether it
    /// acted. An area whose meters
    /// or units were not all read this cycle is left alone; without the forecast of the step
    /// just passed, the measured base load is held.
    pub fn act(
        &mut self,
        data: &Scenario,
        network: &Network,
        state: &State,
        plan: PlanStep,
        d: &mut Decisions,
    ) -> bool {
        let PlanStep {
            step,
            forecast_kw,
            planned_import_kw,
        } = plan;
        let area = area_of(network);
        let measured = measured_base_kw(data, network, state, &self.last_tie_kw);
        let last = self.last_forecast_kw.replace(forecast_kw.to_vec());
        self.last_tie_kw = d.tie_kw.clone();
        let mut predicted: Vec<Option<f64>> = measured
            .iter()
            .enumerate()
            .map(|(a, m)| {
                let m = (*m)?;
                Some(match &last {
                    Some(prev) => forecast_kw.get(a)? + (m - prev.get(a)?),
                    None => m,
                })
            })
            .collect();
        self.remember(&measured);
        self.last_predicted_kw = Some((step, predicted.clone()));
        let headroom = self.headroom_kw(predicted.len(), step);
        let mut limit = vec![0.0; predicted.len()];
        let mut charged = vec![false; predicted.len()];
        for (g, grid) in data.grids.iter().enumerate() {
            let Some(a) = area[grid.node] else { continue };
            let planned = planned_import_kw.get(g).copied().unwrap_or(0.0);
            if grid.demand_charge_yen_per_kw > 0.0 {
                charged[a] = true;
                let billed = state.grids.get(&grid.id).map_or(0.0, |s| s.billed_peak_kw);
                limit[a] += planned.max(billed);
            } else {
                limit[a] += planned;
            }
        }
        // + what the units and tie lines are told: the import grows with HVAC, charging
        // and what the ties take out.
        let ties = tie_out_kw(data, network, &d.tie_kw);
        let mut add = |node: usize, x: f64| {
            if let Some(v) = area[node].and_then(|a| predicted[a].as_mut()) {
                *v += x;
            }
        };
        for b in &data.batteries {
            if let Some(Command::Battery { power_kw }) = d.get(&b.id) {
                add(b.node, -power_kw);
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
            add(h.node, q);
        }
        for g in &data.generators {
            let p = match d.get(&g.id) {
                Some(Command::Generator { on: true, power_kw }) => *power_kw,
                Some(Command::Generator { on: false, .. }) => 0.0,
                _ => state.generator_kw.get(&g.id).copied().unwrap_or(0.0),
            };
            add(g.node, -p);
        }
        for (a, t) in ties.iter().enumerate() {
            if let Some(v) = predicted[a].as_mut() {
                *v += t;
            }
        }
        let mut acted = false;
        for (a, pred) in predicted.iter().enumerate() {
            let Some(pred) = pred else { continue };
            // Within the forecast's own noise (line losses, rounding): leave the plan.
            let tolerance = (0.005 * limit[a]).max(1.0);
            // Charging gives way to the headroom; discharging answers the limit itself.
            let mut cut_kw = pred - (limit[a] - headroom[a]);
            let mut excess = pred - limit[a];
            if !charged[a] || (cut_kw <= tolerance && excess <= tolerance) {
                continue;
            }
            // First less charging, then more discharging.
            for discharge in [false, true] {
                for b in &data.batteries {
                    if area[b.node] != Some(a) {
                        continue;
                    }
                    let Some(Command::Battery { power_kw }) = d.get_mut(&b.id) else {
                        continue;
                    };
                    let before = *power_kw;
                    if !discharge && *power_kw < 0.0 && cut_kw > 0.0 {
                        let cut = (-*power_kw).min(cut_kw);
                        *power_kw += cut;
                        cut_kw -= cut;
                        excess -= cut;
                    }
                    if discharge && excess > tolerance {
                        let more = (b.discharge_kw - power_kw.max(0.0)).max(0.0).min(excess);
                        *power_kw += more;
                        excess -= more;
                    }
                    acted |= *power_kw != before;
                }
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

    fn at<'a>(step: usize, forecast_kw: &'a [f64], planned_import_kw: &'a [f64]) -> PlanStep<'a> {
        PlanStep {
            step,
            forecast_kw,
            planned_import_kw,
        }
    }

    /// Each battery's command, kW.
    fn each_kw(sc: &Scenario, d: &Decisions) -> Vec<f64> {
        sc.batteries
            .iter()
            .map(|b| match d.get(&b.id) {
                Some(Command::Battery { power_kw }) => *power_kw,
                _ => f64::NAN,
            })
            .collect()
    }

    /// The day's areas: the mall's (`mall_pcc`, `mall_bat`, one HVAC unit) and the gate's
    /// (`gate_pcc`, `gate_bat`, three HVAC units), joined by the interchange, and the
    /// condominiums' (`condo_pcc`, no unit; their tie carries nothing outside outages).
    #[test]
    fn each_connection_is_guarded_in_its_own_area() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let m = measured_base_kw(&sc, &net, &st, &[]);
        assert_eq!(m, vec![Some(1400.0), Some(1200.0), Some(1500.0)]);
        // The interchange told to carry 400 kW from the mall to the gate: the mall's base
        // load measured is 400 kW less, the gate's 400 kW (less the line's loss) more.
        let m = measured_base_kw(&sc, &net, &st, &[("interchange".into(), 400.0)]);
        let l = sc.lines.iter().position(|l| l.id == "interchange").unwrap();
        let loss = net.lines()[l].loss_fraction;
        assert_eq!(m[0], Some(1000.0));
        assert!((m[1].unwrap() - (1200.0 + 400.0 * (1.0 - loss))).abs() < 1e-9);
        // Billed 2,000 kW on each connection, both batteries charging at 300 kW: within
        // both limits until the plan also sends 400 kW over the interchange, which the
        // mall's connection then imports: the mall's battery charges 200 kW less, the gate's
        // is left alone.
        let mut st = st;
        for g in st.grids.values_mut() {
            g.billed_peak_kw = 2000.0;
        }
        let mut d = charging(&sc);
        assert!(!Guard::default().act(&sc, &net, &st, at(0, &[0.0; 3], &[0.0; 3]), &mut d));
        let mut d = charging(&sc);
        d.tie_kw = vec![("interchange".into(), 400.0)];
        assert!(Guard::default().act(&sc, &net, &st, at(0, &[0.0; 3], &[0.0; 3]), &mut d));
        assert_eq!(each_kw(&sc, &d), vec![-100.0, -300.0]);
    }

    /// A plan that charges the batteries on a forecast that fell 500 kW short at the last
    /// step would set a new peak: the guard stops the charging and discharges instead. Had
    /// the forecast held, the same plan is left alone even though the load measured now is
    /// higher than the plan's (the load is forecast to fall); so is a plan that meant to
    /// import this much, and an area not fully read.
    #[test]
    fn the_guard_keeps_forecast_errors_from_setting_peaks() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let st = afternoon(&sc);
        let m: Vec<f64> = measured_base_kw(&sc, &net, &st, &[])
            .into_iter()
            .map(Option::unwrap)
            .collect();
        // The forecast of the step passed was 500 kW short in both areas.
        let mut g = Guard::default();
        let mut d = charging(&sc);
        let short = [m[0] - 500.0, m[1] - 500.0];
        assert!(
            !g.act(&sc, &net, &st, at(600, &short, &[1e4, 1e4]), &mut d),
            "a plan meaning to import this much"
        );
        // Forecast to fall to what the limit (1,000 kW) allows with the HVAC units as they
        // drew (100 and 300 kW) and the charging (300 kW each).
        let falling = [1000.0 - 100.0 - 300.0, 1000.0 - 300.0 - 300.0];
        let mut d = charging(&sc);
        assert!(g.act(&sc, &net, &st, at(601, &falling, &[0.0, 0.0]), &mut d));
        // Predicted: 500 kW over each limit; each battery stops charging, discharges 200.
        assert_eq!(each_kw(&sc, &d), vec![200.0, 200.0]);
        // The forecast held: the load is forecast to fall to what the limit allows.
        let mut g = Guard::default();
        g.act(&sc, &net, &st, at(600, &m, &[1e4, 1e4]), &mut charging(&sc));
        let mut d = charging(&sc);
        assert!(!g.act(&sc, &net, &st, at(601, &falling, &[0.0, 0.0]), &mut d));
        assert_eq!(each_kw(&sc, &d), vec![-300.0, -300.0]);
        // No forecast of the step passed: the measured load held.
        let mut d = charging(&sc);
        assert!(Guard::default().act(&sc, &net, &st, at(601, &falling, &[0.0, 0.0]), &mut d));
        let mut partial = st.clone();
        partial.battery_kw.clear();
        let mut d = charging(&sc);
        assert!(!Guard::default().act(
            &sc,
            &net,
            &partial,
            at(0, &[0.0, 0.0], &[0.0, 0.0]),
            &mut d
        ));
    }

    /// Predictions that came out 50 kW short at this time of day on each of the last days
    /// leave a 50 kW headroom: a plan charging up to 20 kW below the limit charges 30 kW
    /// less in each area, and nothing is discharged (the limit itself is not predicted to be
    /// passed). A guard with no such history leaves it alone.
    #[test]
    fn charging_gives_way_to_the_predictions_recent_error() {
        let sc = kashiwanoha_july_day();
        let net = crate::plant::network(&sc);
        let with_meters = |x: f64| {
            let mut st = afternoon(&sc);
            for g in st.grids.values_mut() {
                g.meter_kw = Some(x);
            }
            st
        };
        // Each connection at 680 kW, its HVAC units as drawn, 300 kW of charging: 980 kW
        // against a limit of 1,000 kW.
        let last = with_meters(680.0);
        let forecast = [0.0, 0.0];
        let mut g = Guard::new(48, 7);
        for i in 0..4 {
            let st = with_meters(680.0 - 50.0 * (4 - i) as f64);
            let plan = at(48 * i, &forecast, &[0.0, 0.0]);
            g.act(&sc, &net, &st, plan, &mut charging(&sc));
        }
        let mut d = charging(&sc);
        assert!(g.act(&sc, &net, &last, at(48 * 4, &forecast, &[0.0, 0.0]), &mut d));
        assert_eq!(g.headroom_kw(2, 48 * 4), vec![50.0, 50.0]);
        assert_eq!(
            g.headroom_kw(2, 48 * 4 + 1),
            vec![0.0, 0.0],
            "another time of day"
        );
        assert_eq!(each_kw(&sc, &d), vec![-270.0, -270.0]);
        let mut d = charging(&sc);
        assert!(!Guard::new(48, 7).act(
            &sc,
            &net,
            &last,
            at(48 * 4, &forecast, &[0.0, 0.0]),
            &mut d
        ));
        assert_eq!(each_kw(&sc, &d), vec![-300.0, -300.0]);
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
        let ga = Guard::default().act(&sc, &net, &st, at(0, &[0.0, 0.0], &[0.0, 0.0]), &mut a);
        let gb = Guard::default().act(&other, &net, &st, at(0, &[0.0, 0.0], &[0.0, 0.0]), &mut b);
        assert!(ga);
        assert_eq!((ga, a), (gb, b));
    }
}
