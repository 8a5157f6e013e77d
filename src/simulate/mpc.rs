//! The receding-horizon (MPC) controller: every `replan` steps it solves the dispatch over
//! the next `horizon` steps from the plant's present state, with forecasts for what is not
//! known, and applies the plan until the next replan. And the oracle: the whole period in
//! one solve with perfect foresight.

use std::time::Instant;

use anyhow::{anyhow, Result};

use engine::{optimize, Scenario, Schedule, SolveOptions, Status};

use super::config::Terminal;
use super::controller;
use super::forecaster::Forecaster;
use super::plant::{Decision, PlantState};

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MpcStats {
    /// Plans solved.
    pub solves: usize,
    /// Steps decided without a fresh plan because the solve failed (the previous plan, or
    /// the baseline rule once it ran out).
    pub fallbacks: usize,
    /// Seconds in the solver.
    pub solve_seconds: f64,
    /// The first failed solve: when and why.
    pub first_failure: Option<String>,
    /// Steps at which the peak guard cut battery charging or added discharge.
    pub peak_guards: usize,
}

/// The MPC controller over the actual series `actual`.
pub struct Mpc<'a> {
    actual: &'a Scenario,
    horizon: usize,
    replan: usize,
    terminal: Terminal,
    ratchet_months: usize,
    forecaster: Forecaster,
    opts: SolveOptions,
    plan: Option<(usize, Schedule)>,
    /// The part of the network each node is in (see [`network_parts`]).
    parts: Vec<usize>,
    /// What happened.
    pub stats: MpcStats,
}

impl<'a> Mpc<'a> {
    /// An MPC with plans of `horizon` steps made every `replan` steps.
    pub fn new(
        actual: &'a Scenario,
        horizon: usize,
        replan: usize,
        terminal: Terminal,
        ratchet_months: usize,
        forecaster: Forecaster,
        opts: SolveOptions,
    ) -> Self {
        Self {
            actual,
            horizon,
            replan,
            terminal,
            ratchet_months,
            forecaster,
            opts,
            plan: None,
            parts: network_parts(actual),
            stats: MpcStats::default(),
        }
    }

    /// The forecaster (for its counters).
    pub fn forecaster(&self) -> &Forecaster {
        &self.forecaster
    }

    /// The problem solved at step `t` from `state`.
    fn problem(&mut self, t: usize, state: &PlantState) -> Result<Scenario> {
        let h = self.horizon.min(self.actual.steps - t);
        let mut sc = self.actual.slice(t..t + h);
        self.forecaster.fill(&mut sc, t)?;
        for (k, e) in sc.batteries.iter_mut().zip(&state.battery_kwh) {
            k.initial_kwh = e.clamp(k.min_kwh, k.max_kwh);
            k.terminal_kwh = match self.terminal {
                Terminal::Initial => k.initial_kwh,
                Terminal::Free => k.min_kwh,
            };
        }
        for (h, z) in sc.hvacs.iter_mut().zip(&state.zone_c) {
            h.initial_temp_c = *z;
        }
        for (j, on) in sc.generators.iter_mut().zip(&state.generator_on) {
            j.initially_on = *on;
        }
        for (g, grid) in sc.grids.iter_mut().enumerate() {
            grid.peak_so_far_kw = state.billed_peak_kw(g, self.ratchet_months);
            grid.interval_import_so_far_kwh = state.interval_kwh[g];
        }
        Ok(sc)
    }

    /// The decision for step `t`: from a fresh plan when a replan is due, else from the
    /// current plan; when a solve fails, the previous plan while it reaches, then the
    /// baseline (batteries idle, HVAC on its thermostat, generators off) — counted as
    /// fallbacks.
    pub fn decide(&mut self, t: usize, state: &PlantState) -> Result<Decision> {
        let due = self
            .plan
            .as_ref()
            .is_none_or(|(start, _)| t >= start + self.replan);
        let mut failed = false;
        if due {
            let sc = self.problem(t, state)?;
            let started = Instant::now();
            let out = optimize(&sc, &self.opts).map_err(|e| anyhow!("{e}"))?;
            self.stats.solve_seconds += started.elapsed().as_secs_f64();
            self.stats.solves += 1;
            match (out.status, out.schedule) {
                (Status::Optimal | Status::TimeLimit, Some(s)) => self.plan = Some((t, s)),
                (status, _) => {
                    failed = true;
                    if self.stats.first_failure.is_none() {
                        let why = out
                            .diagnosis
                            .map(|d| d.to_string())
                            .or(out.message)
                            .unwrap_or_default();
                        self.stats.first_failure = Some(format!(
                            "{}: {status}: {why}",
                            self.actual.times[t].to_rfc3339()
                        ));
                    }
                }
            }
        }
        let planned = self.plan.as_ref().and_then(|(start, plan)| {
            step_of(plan, t - start).map(|d| (d, planned_import_kw(plan, t - start)))
        });
        if failed || planned.is_none() {
            self.stats.fallbacks += 1;
        }
        Ok(match planned {
            Some((mut d, planned)) => {
                let guarded = peak_guard(
                    self.actual,
                    &self.parts,
                    self.ratchet_months,
                    t,
                    state,
                    &planned,
                    &mut d,
                );
                if guarded {
                    self.stats.peak_guards += 1;
                }
                d
            }
            None => controller::none(self.actual, t, state),
        })
    }
}

/// The peak guard, the fast layer under an MPC plan. The plan was made on forecasts; where
/// a demand charge applies, a part of the network (nodes joined by lines, [`network_parts`])
/// whose import, measured now, would exceed what its connections may import without a new
/// billed peak or beyond the plan gets the batteries' help — less charging, then more
/// discharging — so a forecast error does not set a new peak (which the 12-month ratchet
/// would bill for a year). Changes `d`; returns whether it acted.
pub fn peak_guard(
    sc: &Scenario,
    node_part: &[usize],
    ratchet_months: usize,
    t: usize,
    state: &PlantState,
    planned_import_kw: &[f64],
    d: &mut Decision,
) -> bool {
    let parts = node_part.iter().copied().max().map_or(0, |m| m + 1);
    let mut need_kw = vec![0.0; parts];
    for (i, n) in sc.nodes.iter().enumerate() {
        need_kw[node_part[i]] += n.load_kw[t];
    }
    for p in &sc.pvs {
        need_kw[node_part[p.node]] -= p.available_kw[t];
    }
    for (h, q) in sc.hvacs.iter().zip(&d.hvac_kw) {
        need_kw[node_part[h.node]] += q;
    }
    for (j, p) in sc.generators.iter().zip(&d.generator_kw) {
        need_kw[node_part[j.node]] -= p;
    }
    for (k, (ch, dis)) in sc.batteries.iter().zip(&d.battery_kw) {
        need_kw[node_part[k.node]] += ch - dis;
    }
    let mut limit_kw = vec![0.0; parts];
    let mut charged = vec![false; parts];
    for (g, grid) in sc.grids.iter().enumerate() {
        let part = node_part[grid.node];
        let planned = planned_import_kw.get(g).copied().unwrap_or(0.0);
        if grid.demand_charge_yen_per_kw > 0.0 {
            charged[part] = true;
            limit_kw[part] += planned.max(state.billed_peak_kw(g, ratchet_months));
        } else {
            limit_kw[part] += planned;
        }
    }
    let mut acted = false;
    for part in 0..parts {
        let mut excess = need_kw[part] - limit_kw[part];
        if !charged[part] || excess <= 1e-6 {
            continue;
        }
        for (k, b) in sc.batteries.iter().zip(d.battery_kw.iter_mut()) {
            if node_part[k.node] != part || excess <= 0.0 {
                continue;
            }
            let cut = b.0.min(excess);
            b.0 -= cut;
            excess -= cut;
            let more = (k.discharge_kw - b.1).max(0.0).min(excess);
            b.1 += more;
            excess -= more;
            acted |= cut > 0.0 || more > 0.0;
        }
    }
    acted
}

/// The part of the network each node is in, numbered from 0: nodes joined by lines share
/// a part.
pub fn network_parts(sc: &Scenario) -> Vec<usize> {
    fn root(part: &mut [usize], mut i: usize) -> usize {
        while part[i] != i {
            part[i] = part[part[i]];
            i = part[i];
        }
        i
    }
    let mut part: Vec<usize> = (0..sc.nodes.len()).collect();
    for l in &sc.lines {
        let (a, b) = (root(&mut part, l.from), root(&mut part, l.to));
        part[a.max(b)] = a.min(b);
    }
    let mut ids = std::collections::BTreeMap::new();
    (0..part.len())
        .map(|i| {
            let r = root(&mut part, i);
            let n = ids.len();
            *ids.entry(r).or_insert(n)
        })
        .collect()
}

/// Each grid connection's planned import at step `k` of a plan.
fn planned_import_kw(plan: &Schedule, k: usize) -> Vec<f64> {
    plan.grids
        .iter()
        .map(|g| g.import_kw.get(k).copied().unwrap_or(0.0))
        .collect()
}

/// The decision at step `k` of a plan, if the plan reaches it.
fn step_of(plan: &Schedule, k: usize) -> Option<Decision> {
    let reaches = |len: usize| k < len;
    if !plan.batteries.iter().all(|b| reaches(b.charge_kw.len()))
        || !plan.hvacs.iter().all(|h| reaches(h.power_kw.len()))
        || !plan.generators.iter().all(|j| reaches(j.power_kw.len()))
    {
        return None;
    }
    Some(Decision {
        battery_kw: plan
            .batteries
            .iter()
            .map(|b| (b.charge_kw[k], b.discharge_kw[k]))
            .collect(),
        hvac_kw: plan.hvacs.iter().map(|h| h.power_kw[k]).collect(),
        generator_kw: plan
            .generators
            .iter()
            .map(|j| if j.on[k] { j.power_kw[k] } else { 0.0 })
            .collect(),
    })
}

/// The whole period of `actual` solved as one problem with perfect foresight.
pub fn oracle(actual: &Scenario, steps: usize, opts: &SolveOptions) -> Result<(Schedule, f64)> {
    let sc = actual.slice(0..steps);
    let started = Instant::now();
    let out = optimize(&sc, opts).map_err(|e| anyhow!("{e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    match (out.status, out.schedule) {
        (Status::Optimal | Status::TimeLimit, Some(s)) => Ok((s, seconds)),
        (status, _) => Err(anyhow!(
            "the whole-period problem ended {status}: {}",
            out.message.unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::plant::Plant;
    use std::path::PathBuf;

    fn kashiwanoha_july_day() -> Scenario {
        Scenario::load(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/kashiwanoha/scenario.toml"),
        )
        .unwrap()
        .slice(4368..4368 + 48)
    }

    #[test]
    fn lines_join_nodes_into_parts() {
        let sc = kashiwanoha_july_day();
        assert!(network_parts(&sc).iter().all(|p| *p == 0));
        let mut split = sc.clone();
        split.lines.retain(|l| l.id != "interchange");
        let parts = network_parts(&split);
        let of = |id: &str| parts[split.nodes.iter().position(|n| n.id == id).unwrap()];
        assert_ne!(of("mall"), of("gate_hub"));
        assert_eq!(of("office"), of("gate_hub"));
    }

    /// At the afternoon peak, a plan that charges the batteries (made on a forecast that
    /// missed the load) would set a new peak: the guard stops the charging and discharges
    /// instead; a plan that meant to import this much is left alone.
    #[test]
    fn the_peak_guard_keeps_forecast_errors_from_setting_peaks() {
        let sc = kashiwanoha_july_day();
        let mut plant = Plant::new(&sc, 48, true);
        for g in 0..sc.grids.len() {
            plant.state.month_peak_kw[g] = 200.0;
        }
        let t = 30; // 15:00
        let charge = |d: &Decision| d.battery_kw.iter().map(|b| b.0 - b.1).sum::<f64>();
        let mut d = crate::simulate::controller::none(&sc, t, &plant.state);
        for b in &mut d.battery_kw {
            *b = (300.0, 0.0);
        }
        let parts = network_parts(&sc);
        assert!(peak_guard(
            &sc,
            &parts,
            1,
            t,
            &plant.state,
            &[0.0, 0.0],
            &mut d
        ));
        assert!(charge(&d) <= -999.0, "{:?}", d.battery_kw);
        let mut d2 = crate::simulate::controller::none(&sc, t, &plant.state);
        for b in &mut d2.battery_kw {
            *b = (300.0, 0.0);
        }
        assert!(!peak_guard(
            &sc,
            &parts,
            1,
            t,
            &plant.state,
            &[5000.0, 5000.0],
            &mut d2
        ));
        assert_eq!(charge(&d2), 600.0);
    }
}
