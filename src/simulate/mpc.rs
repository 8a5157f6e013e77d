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
                _ => failed = true,
            }
        }
        let planned = self
            .plan
            .as_ref()
            .and_then(|(start, plan)| step_of(plan, t - start));
        if failed || planned.is_none() {
            self.stats.fallbacks += 1;
        }
        Ok(planned.unwrap_or_else(|| controller::none(self.actual, t, state)))
    }
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
