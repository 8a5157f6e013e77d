//! [`Controller`]: the control cycle, the same for the live loop and the what-if.
//!
//! measurements → state ([`crate::state`]) → forecasts ([`crate::forecast`]) → dispatch
//! problem ([`crate::problem`]) → plan ([`crate::plan`]) → decisions per unit
//! ([`crate::decision`]), under the fast layer ([`crate::guard`]); or the rule
//! ([`crate::rule`]) or the baseline ([`crate::baseline`]). When a plan is due and cannot
//! be made, the previous plan stands in while it is valid, then the fallback rule (the
//! baseline). A unit that cannot be trusted is released to its own control.
//!
//! A decision for a cycle uses only what was measured by its start and forecasts issued
//! then; what a run takes from the actual future is listed by [`Controller::information`].

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use engine::{Scenario, SolveOptions};
use physics::device::{Command, Kind};
use physics::Network;

use crate::decision::{Decisions, Source};
use crate::fan;
use crate::forecast::{Forecaster, Information};
use crate::plan::{Plan, SolveInfo, Solver};
use crate::problem::{self, Horizon};
use crate::settings::{Policy, Settings};
use crate::state::{Estimator, Measurements, State};
use crate::{baseline, guard, plant, request, rule};

/// Counters of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Stats {
    /// Plans solved (attempted).
    pub solves: usize,
    /// Seconds in the solver.
    pub solve_seconds: f64,
    /// Cycles decided without a current plan because a solve failed (the previous plan,
    /// or the fallback rule).
    pub fallbacks: usize,
    /// The first failed plan: when and why.
    pub first_failure: Option<String>,
    /// Cycles at which the peak guard cut battery charging or added discharge.
    pub peak_guards: usize,
    /// Plans made over forecast scenarios (the stochastic MPC).
    pub scenario_plans: usize,
}

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
pub struct Cycle {
    /// When.
    pub time: DateTime<FixedOffset>,
    /// The state estimate.
    pub state: State,
    /// Where the decisions come from.
    pub source: Source,
    /// Why there is no current plan, when there is none.
    pub reason: Option<String>,
    /// The solve, when one was made.
    pub solve: Option<SolveInfo>,
    /// A new plan was made this cycle.
    pub replanned: bool,
    /// The fast layer changed the decisions.
    pub guarded: bool,
    /// What every unit is told.
    pub decisions: Decisions,
    /// Requests to tenants and residents issued this cycle (with a new plan), ranked.
    pub requests: Vec<request::Request>,
    /// Responses to requests measured this cycle (windows that ended).
    pub responses: Vec<request::Response>,
}

/// The controller: its settings, the district's data, and what it carries from cycle to
/// cycle.
pub struct Controller {
    settings: Settings,
    data: Scenario,
    network: Network,
    estimator: Estimator,
    forecaster: Box<dyn Forecaster>,
    solver: Solver,
    plan: Option<Plan>,
    /// The grid connections lost when the current plan was made.
    plan_lost: BTreeSet<String>,
    forecast: Option<Scenario>,
    uncommanded: BTreeSet<String>,
    /// Assets an operator put in manual: planned idle, released.
    manual: BTreeSet<String>,
    /// Import caps an operator set.
    caps: Vec<problem::ImportCap>,
    /// Demand-response signals in force (OpenADR events).
    signals: Vec<problem::GridSignal>,
    guard: guard::Guard,
    /// Requests to tenants and residents, when enabled.
    desk: Option<request::Desk>,
    /// The point forecasts issued, for the scenario MPC's error analogs.
    errors: crate::fan::Errors,
    /// Counters.
    pub stats: Stats,
}

impl Controller {
    /// A controller of the district `data` (its whole series, on its own step) reading
    /// `devices`; units in `uncommanded` (no device lets the AEMS command them) are planned
    /// idle.
    pub fn new(
        data: Scenario,
        settings: Settings,
        forecaster: Box<dyn Forecaster>,
        devices: Vec<(String, Kind)>,
        uncommanded: BTreeSet<String>,
    ) -> Self {
        let estimator = Estimator::new(&data, devices, settings.stale_after_s, settings.billing);
        let solver = Solver::new(SolveOptions {
            mip_gap: settings.mip_gap,
            threads: settings.threads,
            ..SolveOptions::default()
        });
        Self {
            network: plant::network(&data),
            estimator,
            forecaster,
            solver,
            plan: None,
            plan_lost: BTreeSet::new(),
            forecast: None,
            uncommanded,
            manual: BTreeSet::new(),
            caps: Vec::new(),
            signals: Vec::new(),
            desk: None,
            errors: crate::fan::Errors::default(),
            guard: guard::Guard::new((24 * 60 / data.step_minutes.max(1)) as usize, 7),
            stats: Stats::default(),
            settings,
            data,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sets the deadline of the coming solves (a fault schedule forces it).
    pub fn set_deadline(&mut self, deadline_s: Option<f64>) {
        self.settings.deadline_s = deadline_s;
    }

    /// The district's data.
    pub fn data(&self) -> &Scenario {
        &self.data
    }

    /// The state estimator (saved with a run to resume it).
    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }

    /// Replaces the state estimator (a resumed run's).
    pub fn set_estimator(&mut self, e: Estimator) {
        self.estimator = e;
    }

    /// The forecaster.
    pub fn forecaster(&self) -> &dyn Forecaster {
        self.forecaster.as_ref()
    }

    /// The forecaster, mutable (a resumed run primes it).
    pub fn forecaster_mut(&mut self) -> &mut dyn Forecaster {
        self.forecaster.as_mut()
    }

    /// The current plan.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// An operator's instructions, from the next plan on: assets in `manual` are planned
    /// idle (batteries, generators; HVAC units on their thermostats) and released; the
    /// connections' imports are capped by `caps`. A change replans at once.
    pub fn set_operator(&mut self, manual: BTreeSet<String>, caps: Vec<problem::ImportCap>) {
        if manual != self.manual || caps != self.caps {
            self.plan = None;
        }
        self.manual = manual;
        self.caps = caps;
    }

    /// Demand-response signals (caps, prices, carbon intensities per connection and
    /// interval), from the next plan on. A change replans at once.
    pub fn set_signals(&mut self, signals: Vec<problem::GridSignal>) {
        if signals != self.signals {
            self.plan = None;
        }
        self.signals = signals;
    }

    /// Asks tenants and residents for help under `policy` from now on ([`crate::request`]):
    /// each new plan proposes requests, their responses are measured and learned, and the
    /// forecasts count on the learned response inside the windows of requests in force.
    pub fn enable_requests(&mut self, policy: request::Policy) {
        self.desk = Some(request::Desk::new(policy));
    }

    /// Takes up a resumed run's requests, responses and learned rates under this
    /// controller's policy (nothing when requests are not enabled).
    pub fn resume_requests(&mut self, desk: request::Desk) {
        if let Some(d) = &mut self.desk {
            *d = desk.with_policy(d.policy().clone());
        }
    }

    /// The requests, responses and learned rates, when requests are enabled.
    pub fn requests(&self) -> Option<&request::Desk> {
        self.desk.as_ref()
    }

    /// The grid connections the current plan takes as lost (islanded behind them).
    pub fn planned_lost(&self) -> &BTreeSet<String> {
        &self.plan_lost
    }

    /// The forecast the current plan was made on.
    pub fn forecast(&self) -> Option<&Scenario> {
        self.forecast.as_ref()
    }

    /// What this controller takes from the actual future (demand-response signals count as
    /// known in advance over their intervals: all of a what-if's from its start).
    pub fn information(&self) -> Information {
        let mut known_in_advance = Information::tariffs(&self.data);
        if !self.signals.is_empty() {
            known_in_advance.push("demand_response_events".into());
        }
        Information {
            perfect: match self.settings.policy {
                Policy::Mpc => self.forecaster.perfect_information(&self.data),
                _ => Vec::new(),
            },
            known_in_advance,
        }
    }

    /// The state estimate of `m` alone, deciding nothing (a loop that only observes).
    pub fn observe(&mut self, m: &Measurements) -> State {
        let state = self.estimator.update(m, &self.data);
        self.forecaster.observe(&state, &self.data);
        state
    }

    /// One cycle: from `m`, measured at its start, what every unit is told.
    pub fn cycle(&mut self, m: &Measurements) -> Cycle {
        let now = m.time;
        let state = self.observe(m);
        let responses = match &mut self.desk {
            Some(d) => d.observe(m, &self.data),
            None => Vec::new(),
        };
        let row = self.data.step_at(now);
        let mut c = Cycle {
            time: now,
            source: Source::Baseline,
            reason: None,
            solve: None,
            replanned: false,
            guarded: false,
            decisions: Decisions::default(),
            requests: Vec::new(),
            responses,
            state,
        };
        match (self.settings.policy, row) {
            (Policy::None, _) => c.decisions = baseline::decide(&self.data),
            (Policy::Rule, Some(row)) => {
                c.source = Source::Rule;
                c.decisions = rule::decide(&self.data, &self.network, row, &c.state);
            }
            (Policy::Rule, None) => {
                c.source = Source::Fallback;
                c.reason = Some(format!("the data do not cover {}", now.to_rfc3339()));
                c.decisions = baseline::decide(&self.data);
            }
            (Policy::Mpc, row) => self.mpc(&mut c, row),
        }
        // Units that cannot be trusted, or in manual, go back to their own control.
        for (asset, cmd) in &mut c.decisions.commands {
            if c.state.unhealthy.contains(asset) || self.manual.contains(asset) {
                *cmd = Command::Release;
            }
        }
        c.decisions.tie_kw.retain(|(l, _)| !self.manual.contains(l));
        c
    }

    fn mpc(&mut self, c: &mut Cycle, row: Option<usize>) {
        let now = c.time;
        // A grid connection lost or back: the plan made before is for another network.
        let grid_changed = c.state.grids_lost != self.plan_lost;
        let due = grid_changed
            || self.plan.as_ref().is_none_or(|p| {
                (now - p.problem.start).num_seconds() as f64
                    >= self.settings.replan_minutes * 60.0 - 1e-6
            });
        let mut failed = false;
        if due {
            match self.make_plan(&c.state, row) {
                Ok((plan, info)) => {
                    if let Some(d) = &mut self.desk {
                        let (solver, deadline) = (&self.solver, self.settings.deadline_s);
                        c.requests = d.propose(&plan, now, &mut |p| {
                            solver.solve(p, deadline).0.ok().map(|x| x.objective_yen)
                        });
                    }
                    self.plan = Some(plan);
                    self.plan_lost = c.state.grids_lost.clone();
                    c.replanned = true;
                    c.solve = Some(info);
                }
                Err((reason, info)) => {
                    failed = true;
                    c.solve = info;
                    if self.stats.first_failure.is_none() {
                        self.stats.first_failure = Some(format!("{}: {reason}", now.to_rfc3339()));
                    }
                    c.reason = Some(reason);
                }
            }
        }
        let step = self.plan.as_ref().and_then(|p| {
            let k = p.step_at(now)?;
            let age_min = (now - p.problem.start).num_seconds() as f64 / 60.0;
            if failed && (age_min > self.settings.plan_valid_minutes || grid_changed) {
                return None;
            }
            Some((
                Decisions::of_plan(p, k, self.network.ties())?,
                p.planned_import_kw(k),
                guard::forecast_base_kw(p, k, &self.network),
            ))
        });
        match step {
            Some((mut d, planned, forecast)) => {
                c.source = if failed {
                    Source::Previous
                } else {
                    Source::Plan
                };
                if self.settings.peak_guard {
                    c.guarded = self.guard.act(
                        &self.data,
                        &self.network,
                        &c.state,
                        guard::PlanStep {
                            step: self.data.step_at(now).unwrap_or(0),
                            forecast_kw: &forecast,
                            planned_import_kw: &planned,
                        },
                        &mut d,
                    );
                    if c.guarded {
                        self.stats.peak_guards += 1;
                    }
                }
                c.decisions = d;
            }
            None => {
                self.guard.forget();
                c.source = Source::Fallback;
                if c.reason.is_none() {
                    c.reason = Some("the plan does not reach this cycle".into());
                }
                c.decisions = baseline::decide(&self.data);
            }
        }
        if c.source.is_fallback() {
            self.stats.fallbacks += 1;
        }
    }

    /// Forecast, problem and solve: the plan, or why there is none.
    fn make_plan(
        &mut self,
        state: &State,
        row: Option<usize>,
    ) -> Result<(Plan, SolveInfo), (String, Option<SolveInfo>)> {
        let now = state.time.unwrap_or(self.data.start);
        let Some(row) = row else {
            return Err((format!("the data do not cover {}", now.to_rfc3339()), None));
        };
        let row_min = i64::from(self.data.step_minutes);
        let row_start = self.data.times[row];
        let end =
            now + chrono::Duration::seconds((self.settings.horizon_hours * 3600.0).round() as i64);
        let want = ((end - row_start).num_minutes() as f64 / row_min as f64).ceil() as usize;
        let rows = want.clamp(1, self.data.steps - row);
        let mut forecast = self
            .forecaster
            .forecast(&self.data, row, rows)
            .map_err(|e| {
                (
                    format!("forecast ({}): {e:#}", self.forecaster.name()),
                    None,
                )
            })?;
        // The forecast as issued (the scenario MPC's error analogs), before the loads count
        // on the people's response to the requests in force.
        let issued = self.desk.as_ref().map(|_| forecast.clone());
        if let Some(d) = &mut self.desk {
            d.on_forecast(&mut forecast, now);
        }
        let mut idle: BTreeSet<String> = state.unhealthy.clone();
        idle.extend(self.uncommanded.iter().cloned());
        idle.extend(self.manual.iter().cloned());
        let h = Horizon {
            now,
            step_minutes: self.settings.step_minutes,
            steps: self.settings.horizon_steps(),
        };
        let mut problem = problem::build(&forecast, state, &h, self.settings.terminal, &idle)
            .map_err(|e| (format!("dispatch problem: {e:#}"), None))?;
        problem::apply_caps(&mut problem, &self.caps);
        problem::apply_signals(&mut problem, &self.signals);
        // The stochastic MPC: the problem over the forecaster's error analogs.
        let n = self.settings.forecast_scenarios;
        let branches = if n >= 2 {
            self.errors
                .record(row, issued.as_ref().unwrap_or(&forecast));
            let b = self.errors.branches(&self.data, row, rows, n);
            if b.iter().all(fan::Branch::is_zero) {
                Vec::new()
            } else {
                b
            }
        } else {
            Vec::new()
        };
        self.forecast = Some(forecast);
        let (r, info) = if branches.len() >= 2 {
            let per = (row_min / i64::from(h.step_minutes)).max(1) as usize;
            let skip = ((now - row_start).num_minutes() / i64::from(h.step_minutes)) as usize;
            let fan = fan::fan(&problem, &branches, per, skip);
            self.stats.scenario_plans += 1;
            let (r, info) = self.solver.solve(fan, self.settings.deadline_s);
            // The objective per scenario (the copies' sum over their number).
            let copies = branches.len() as f64;
            let r = r.map(|p| Plan {
                schedule: fan::first_copy(p.schedule, &problem),
                problem,
                objective_yen: p.objective_yen / copies,
                ..p
            });
            (r, info)
        } else {
            self.solver.solve(problem, self.settings.deadline_s)
        };
        self.stats.solves += 1;
        self.stats.solve_seconds += info.seconds;
        match r {
            Ok(p) => Ok((p, info)),
            Err(e) => Err((e, Some(info))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::Perfect;
    use crate::plant::{every_device, Plant};
    use crate::settings::Terminal;
    use engine::kpi::Billing;

    fn gate_square() -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        let f = engine::ScenarioFile::read(&p).unwrap();
        f.window(f.table().times()[0], f.table().len()).unwrap()
    }

    fn settings(policy: Policy) -> Settings {
        Settings {
            policy,
            step_minutes: 30,
            horizon_hours: 6.0,
            replan_minutes: 30.0,
            terminal: Terminal::Initial,
            mip_gap: 1e-4,
            threads: Some(1),
            deadline_s: None,
            plan_valid_minutes: 60.0,
            stale_after_s: 3600.0,
            billing: Billing::default(),
            peak_guard: true,
            forecast_scenarios: 0,
        }
    }

    /// A plan each cycle; when solves fail, the previous plan while it is valid, then the
    /// fallback rule; a unit that cannot be read is released.
    #[test]
    fn the_fallback_policy_and_untrusted_units() {
        let data = gate_square();
        let mut plant = Plant::new(&data, 8, false);
        let mut ctl = Controller::new(
            data.clone(),
            settings(Policy::Mpc),
            Box::new(Perfect),
            every_device(&data),
            Default::default(),
        );
        let mut sources = Vec::new();
        for k in 0..5 {
            if k == 1 {
                // Every solve from now on misses its deadline.
                ctl.set_deadline(Some(0.0));
            }
            let c = ctl.cycle(&plant.measure());
            sources.push(c.source);
            if k == 0 {
                assert!(c.replanned && c.solve.as_ref().unwrap().status == "optimal");
            } else {
                assert!(
                    c.reason.as_deref().unwrap().contains("deadline"),
                    "{:?}",
                    c.reason
                );
            }
            if c.source == Source::Fallback {
                assert_eq!(c.decisions, baseline::decide(&data));
            }
            plant.apply(&c.decisions).unwrap();
        }
        use Source::*;
        assert_eq!(sources, vec![Plan, Previous, Previous, Fallback, Fallback]);
        assert_eq!(ctl.stats.fallbacks, 4);
        assert!(ctl.stats.first_failure.is_some());
        // A battery that cannot be read is released, the others commanded.
        ctl.set_deadline(None);
        let mut m = plant.measure();
        m.readings.insert("hub_bat".into(), Err("timeout".into()));
        let c = ctl.cycle(&m);
        assert_eq!(c.source, Plan);
        assert!(c.state.unhealthy.contains("hub_bat"));
        assert_eq!(c.decisions.get("hub_bat"), Some(&Command::Release));
        assert!(matches!(
            c.decisions.get("retail_b_bat"),
            Some(Command::Battery { .. })
        ));
    }

    /// A connection measured lost: a new plan at once (not due otherwise), islanded over
    /// its whole horizon; a reading that does not say keeps it lost; the supply back, a
    /// normal plan at once; a plan made for the other network never stands in for a
    /// failed solve.
    #[test]
    fn a_lost_connection_replans_islanded_at_once_and_back() {
        let data = gate_square();
        let mut plant = Plant::new(&data, 8, false);
        let mut s = settings(Policy::Mpc);
        s.replan_minutes = 180.0;
        let mut ctl = Controller::new(
            data.clone(),
            s,
            Box::new(Perfect),
            every_device(&data),
            Default::default(),
        );
        let breaker = |m: &mut Measurements, v: Option<f64>| {
            if let Some(Ok(physics::device::Reading::Meter(r))) = m.readings.get_mut("pcc") {
                r.grid_available = v;
            }
        };
        let c = ctl.cycle(&plant.measure());
        assert!(c.replanned && ctl.planned_lost().is_empty());
        plant.apply(&c.decisions).unwrap();
        // Lost.
        let mut m = plant.measure();
        breaker(&mut m, Some(0.0));
        let c = ctl.cycle(&m);
        assert!(c.replanned, "{:?}", c.reason);
        assert_eq!(c.source, Source::Plan);
        assert!(c.state.grids_lost.contains("pcc"));
        let p = ctl.plan().unwrap();
        assert_eq!(p.problem.outages.len(), 1);
        assert_eq!(p.problem.outages[0].from, p.problem.start);
        assert_eq!(
            *p.problem.times.last().unwrap() + chrono::Duration::minutes(30),
            p.problem.outages[0].until
        );
        assert!(p.schedule.grids[0].import_kw.iter().all(|x| x.abs() < 1e-6));
        assert!(ctl.planned_lost().contains("pcc"));
        // Silent breaker: still lost, no new plan (not due).
        let mut m = plant.measure();
        m.time += chrono::Duration::minutes(30);
        breaker(&mut m, None);
        let c = ctl.cycle(&m);
        assert!(!c.replanned && c.state.grids_lost.contains("pcc"));
        // Back, but the solve fails: the islanded plan does not stand in.
        ctl.set_deadline(Some(0.0));
        let mut m = plant.measure();
        m.time += chrono::Duration::minutes(60);
        breaker(&mut m, Some(1.0));
        let c = ctl.cycle(&m);
        assert!(c.state.grids_lost.is_empty());
        assert_eq!(c.source, Source::Fallback, "{:?}", c.reason);
        // ... and solved: a normal plan.
        ctl.set_deadline(None);
        let mut m = plant.measure();
        m.time += chrono::Duration::minutes(90);
        let c = ctl.cycle(&m);
        assert!(c.replanned && c.source == Source::Plan);
        assert!(ctl.plan().unwrap().problem.outages.is_empty());
        assert!(ctl.planned_lost().is_empty());
    }

    /// The rule and the baseline need no plan.
    #[test]
    fn the_rule_and_the_baseline_decide_without_solving() {
        let data = gate_square();
        let plant = Plant::new(&data, 1, false);
        for (policy, source) in [
            (Policy::Rule, Source::Rule),
            (Policy::None, Source::Baseline),
        ] {
            let mut ctl = Controller::new(
                data.clone(),
                settings(policy),
                Box::new(Perfect),
                every_device(&data),
                Default::default(),
            );
            let c = ctl.cycle(&plant.measure());
            assert_eq!(c.source, source);
            assert!(c.solve.is_none() && ctl.plan().is_none());
            assert!(ctl.information().perfect.is_empty());
        }
    }
}
