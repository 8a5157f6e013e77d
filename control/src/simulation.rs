//! The what-if: the controller against the plant, step after step over a period
//! (`aems simulate`, `aems sweep`) — the same [`Controller`] as the live loop's, the
//! district played by [`Plant`] — and the KPIs of what happened.

use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use engine::kpi::{self, Billing, Kpis, Target};
use engine::{Scenario, ScenarioFile, Schedule, SolveOptions, Status};

use crate::controller::{Controller, Cycle, Stats};
use crate::forecast::{Forecaster, Information, Perfect};
use crate::plant::{every_device, Plant};
use crate::settings::{self, KpiSection, Policy, Settings, SimulationSection, Terminal};

/// What the MPC knows of the future.
pub use crate::forecast::Choice as ForecastChoice;
pub use crate::forecast::PerfectSeries;

/// Who decides, with what forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// MPC with forecasts.
    Mpc(ForecastChoice),
    /// The rule-based controller.
    Rule,
    /// The baseline.
    None,
    /// The whole period solved at once with perfect foresight: the best achievable.
    Oracle,
}

impl Run {
    /// A short label: `mpc/model(ridge)`, `rule`, `none`, `oracle`.
    pub fn label(self) -> String {
        match self {
            Run::Mpc(choice) => format!("mpc/{}", choice.name()),
            Run::Rule => "rule".into(),
            Run::None => "none".into(),
            Run::Oracle => "oracle".into(),
        }
    }
}

/// The period and the controller's settings, as the command line gives them (each `None`
/// takes the scenario's `[simulation]`, then the default).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// First step (RFC 3339, or YYYY-MM-DD for midnight in the scenario's offset).
    pub from: Option<String>,
    /// End, exclusive (same forms).
    pub to: Option<String>,
    /// Plan length, hours (default 24).
    pub horizon_hours: Option<f64>,
    /// Hours between replans (default 1).
    pub replan_hours: Option<f64>,
    /// Battery energy at each plan's end (default `initial`).
    pub terminal: Option<Terminal>,
    /// Relative MIP gap of each plan (default 1e-6).
    pub mip_gap: Option<f64>,
    /// Forecast scenarios of each plan (0: deterministic; see [`crate::fan`]).
    pub forecast_scenarios: usize,
    /// Series the MPC takes from the actual future instead of forecasts (a what-if).
    pub perfect: PerfectSeries,
}

/// A time given on the command line: RFC 3339, or a date at midnight in `offset`.
pub fn parse_time(text: &str, offset: FixedOffset, what: &str) -> Result<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| anyhow!("--{what}: '{text}' is neither RFC 3339 nor YYYY-MM-DD"))?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| anyhow!("--{what}: '{text}' has no midnight"))?;
    offset
        .from_local_datetime(&midnight)
        .single()
        .ok_or_else(|| anyhow!("--{what}: '{text}' is not a time in offset {offset}"))
}

/// Everything a simulation needs, resolved.
pub struct Setup {
    /// The scenario file.
    pub file: ScenarioFile,
    /// `[simulation]`.
    pub sim: SimulationSection,
    /// `[kpi]`.
    pub kpi: KpiSection,
    /// The district's whole series (every row of its CSV).
    pub data: Scenario,
    /// Row of the first simulated step.
    pub first_row: usize,
    /// Steps simulated.
    pub steps: usize,
    /// Plan length, steps.
    pub horizon: usize,
    /// Steps between replans.
    pub replan: usize,
    /// Battery energy at each plan's end.
    pub terminal: Terminal,
    /// Billing rules.
    pub billing: Billing,
    /// MIP gap of each plan.
    pub mip_gap: f64,
    /// Plant behaviour: batteries keep to their meters (see [`crate::plant::district_spec`]).
    pub batteries_follow_meter: bool,
    /// The fast layer under the plan.
    pub peak_guard: bool,
    /// Forecast scenarios of each plan (0: deterministic).
    pub forecast_scenarios: usize,
    /// Series the MPC takes from the actual future instead of forecasts (a what-if).
    pub perfect: PerfectSeries,
    /// Demand-response signals in force over the run (an OpenADR events file), for the
    /// MPC's plans (the metered cost stays on the tariff).
    pub signals: Vec<crate::problem::GridSignal>,
    /// Requests to tenants and residents, and how the simulated people answer them.
    pub requests: Option<Requests>,
    /// Simulate the district's independent parts (nodes joined by no line,
    /// [`engine::decompose::parts`]) side by side, one thread each, when the run allows it
    /// (see [`simulate_with`]). Their cycles are then not handed to `on_cycle`: set it only
    /// when nothing needs them. Off unless set.
    pub parallel_parts: bool,
    /// The scenario's `[requests]` policy (the defaults without one), for `requests`.
    pub request_policy: crate::request::Policy,
}

/// Requests in a what-if: the controller's policy, and the share of each requested kW the
/// simulated people deliver over the request's window (the plant's load is lowered by it).
#[derive(Debug, Clone, PartialEq)]
pub struct Requests {
    /// How the controller asks.
    pub policy: crate::request::Policy,
    /// The people's response rate (0–1).
    pub response_rate: f64,
}

impl Setup {
    /// Reads the scenario's sections and resolves the period and settings.
    pub fn new(file: ScenarioFile, o: &RunOptions) -> Result<Self> {
        let sim: SimulationSection = settings::section(&file, "simulation")?;
        let kpi: KpiSection = settings::section(&file, "kpi")?;
        let request_policy: crate::request::Policy = settings::section(&file, "requests")?;
        let table = file.table();
        let offset = *file.start().offset();
        let from = match &o.from {
            Some(f) => parse_time(f, offset, "from")?,
            None => file.start(),
        };
        let first_row = table.row_of(from).ok_or_else(|| {
            anyhow!(
                "--from {}: no row of {} has that time",
                from.to_rfc3339(),
                table.path().display()
            )
        })?;
        let total = table.len() - first_row;
        let steps = match &o.to {
            Some(t) => {
                let to = parse_time(t, offset, "to")?;
                let step_s = i64::from(file.step_minutes()) * 60;
                let span = (to - from).num_seconds();
                if span <= 0 || span % step_s != 0 {
                    bail!(
                        "--to {}: must be a whole number of steps after --from",
                        to.to_rfc3339()
                    );
                }
                let n = (span / step_s) as usize;
                if n > total {
                    bail!(
                        "--to {}: the series CSV ends {total} steps after --from",
                        to.to_rfc3339()
                    );
                }
                n
            }
            None => total,
        };
        let data = file.window(table.times()[0], table.len())?;
        let path = file.path().to_path_buf();
        let horizon_h = o.horizon_hours.or(sim.horizon_hours).unwrap_or(24.0);
        let replan_h = o.replan_hours.or(sim.replan_hours).unwrap_or(1.0);
        let horizon = settings::steps_of(horizon_h, file.step_minutes(), "horizon_hours", &path)?;
        let replan = settings::steps_of(replan_h, file.step_minutes(), "replan_hours", &path)?;
        if replan > horizon {
            bail!("replan every {replan_h} h is longer than the {horizon_h} h horizon");
        }
        let mip_gap = o.mip_gap.or(sim.mip_gap).unwrap_or(1e-6);
        if mip_gap.is_nan() || mip_gap < 0.0 {
            bail!("--mip-gap must be ≥ 0");
        }
        Ok(Self {
            terminal: o.terminal.or(sim.terminal).unwrap_or_default(),
            billing: Billing {
                ratchet_months: sim.demand_ratchet_months.unwrap_or(1),
            },
            batteries_follow_meter: sim.batteries_follow_meter.unwrap_or(false),
            peak_guard: sim.peak_guard.unwrap_or(true),
            forecast_scenarios: o.forecast_scenarios,
            perfect: o.perfect,
            signals: Vec::new(),
            requests: None,
            parallel_parts: false,
            request_policy,
            file,
            sim,
            kpi,
            data,
            first_row,
            steps,
            horizon,
            replan,
            mip_gap,
        })
    }

    /// The simulated part of the series.
    pub fn period(&self) -> Scenario {
        self.data.slice(self.first_row..self.first_row + self.steps)
    }

    /// The zero-carbon target of `[kpi]`, if declared.
    pub fn target(&self) -> Option<Target> {
        self.kpi.target()
    }

    /// The controller's settings for `policy`.
    pub fn settings(&self, policy: Policy) -> Settings {
        let step = self.data.step_minutes;
        let horizon_hours = self.horizon as f64 * self.data.step_hours();
        Settings {
            policy,
            step_minutes: step,
            horizon_hours,
            replan_minutes: (self.replan as u32 * step) as f64,
            terminal: self.terminal,
            mip_gap: self.mip_gap,
            threads: Some(1),
            deadline_s: None,
            plan_valid_minutes: horizon_hours * 60.0,
            stale_after_s: 2.0 * f64::from(step) * 60.0,
            billing: self.billing,
            peak_guard: self.peak_guard,
            forecast_scenarios: self.forecast_scenarios,
        }
    }

    /// The forecaster of `choice`.
    pub fn forecaster(&self, choice: ForecastChoice) -> Result<Box<dyn Forecaster>> {
        choice.build_for(&self.file, &self.sim, self.horizon, None, self.perfect)
    }
}

/// What a run produced.
pub struct Outcome {
    /// Every decision per asset and step.
    pub realized: Schedule,
    /// The indicators.
    pub kpis: Kpis,
    /// Solver counters.
    pub stats: Stats,
    /// Forecasts that fell back to naive for lack of history.
    pub forecast_fallbacks: usize,
    /// What the run took from the actual future.
    pub information: Information,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Requests issued to tenants and residents (empty unless the run asked for them).
    pub requests: Vec<crate::request::Request>,
    /// Their measured responses.
    pub responses: Vec<crate::request::Response>,
    /// The learned response rate per building at the end.
    pub learned_rates: std::collections::BTreeMap<String, f64>,
    /// Independent parts simulated side by side, one thread each ([`Setup::parallel_parts`];
    /// 0: the district whole). With more threads than cores, each part's solve times
    /// include its waits for a core, and `stats.solve_seconds` is their sum.
    pub parts_side_by_side: usize,
}

/// Runs one simulation; `progress(done, total)` now and then.
pub fn simulate(setup: &Setup, run: Run, progress: impl FnMut(usize, usize)) -> Result<Outcome> {
    simulate_with(setup, run, progress, |_| {})
}

/// Runs one simulation, handing every cycle to `on_cycle` (what was measured, decided and
/// why) before the plant lives through it; `progress(done, total)` now and then.
///
/// With [`Setup::parallel_parts`], a district of independent parts (the CityLearn homes:
/// each its own meter) is simulated part by part, each on its own thread with its own
/// controller, plant and forecaster, and the realized schedules put together: the run of
/// each part is exactly that part's run alone, and its plans are the problems the whole's
/// plans split into (the engine splits them the same way), with the same optima — where a
/// plan has several, the part alone may pick another one. The operating system shares the cores
/// among the threads, so five equal homes on two cores finish together instead of three
/// after two. Only for MPC with `perfect`, `naive` or `model` forecasts and deterministic
/// plans, or the baseline, with no outages, requests or demand-response signals (whose
/// effects cross parts); otherwise the district is simulated whole.
pub fn simulate_with(
    setup: &Setup,
    run: Run,
    mut progress: impl FnMut(usize, usize),
    mut on_cycle: impl FnMut(&Cycle),
) -> Result<Outcome> {
    let started = Instant::now();
    let n = setup.steps;
    let period = setup.period();
    if let Some(parts) = parallel_parts(setup, run) {
        let l = simulate_parts(setup, run, &period, &parts, &mut progress)?;
        let kpis = kpi::compute(&period, &l.realized, setup.billing);
        return Ok(Outcome {
            realized: l.realized,
            kpis,
            stats: l.stats,
            forecast_fallbacks: l.fallbacks,
            information: l.information,
            seconds: started.elapsed().as_secs_f64(),
            requests: Vec::new(),
            responses: Vec::new(),
            learned_rates: Default::default(),
            parts_side_by_side: parts.len(),
        });
    }
    let mut asked = (Vec::new(), Vec::new(), Default::default());
    let (realized, stats, forecast_fallbacks, information) = match run {
        Run::Oracle => {
            let (s, seconds) = oracle(&period, setup.mip_gap)?;
            progress(n, n);
            let stats = Stats {
                solves: 1,
                solve_seconds: seconds,
                ..Stats::default()
            };
            let information = Information {
                perfect: Perfect.perfect_information(&period),
                known_in_advance: Information::tariffs(&period),
            };
            (s, stats, 0, information)
        }
        _ => {
            let (policy, forecaster) = match run {
                Run::Mpc(choice) => (Policy::Mpc, setup.forecaster(choice)?),
                Run::Rule => (Policy::Rule, Box::new(Perfect) as Box<dyn Forecaster>),
                _ => (Policy::None, Box::new(Perfect) as Box<dyn Forecaster>),
            };
            let l = control_loop(
                setup,
                &setup.data,
                run,
                policy,
                forecaster,
                &mut |t| {
                    if t % 24 == 0 || t == n {
                        progress(t, n)
                    }
                },
                &mut on_cycle,
            )?;
            asked = l.asked;
            (l.realized, l.stats, l.fallbacks, l.information)
        }
    };
    let kpis = kpi::compute(&period, &realized, setup.billing);
    Ok(Outcome {
        realized,
        kpis,
        stats,
        forecast_fallbacks,
        information,
        seconds: started.elapsed().as_secs_f64(),
        requests: asked.0,
        responses: asked.1,
        learned_rates: asked.2,
        parts_side_by_side: 0,
    })
}

/// What one controller's run against the plant left.
struct Looped {
    realized: Schedule,
    stats: Stats,
    fallbacks: usize,
    information: Information,
    asked: Asked,
}

/// Requests issued, their responses, the learned rates.
type Asked = (
    Vec<crate::request::Request>,
    Vec<crate::request::Response>,
    std::collections::BTreeMap<String, f64>,
);

/// One controller against the plant over the run's steps, for the district `data`: the
/// whole of `setup.data`, or an independent part of it ([`engine::decompose::subset`]).
/// `done(t)` after each step t (1-based).
fn control_loop(
    setup: &Setup,
    data: &Scenario,
    run: Run,
    policy: Policy,
    forecaster: Box<dyn Forecaster>,
    done: &mut dyn FnMut(usize),
    on_cycle: &mut dyn FnMut(&Cycle),
) -> Result<Looped> {
    let n = setup.steps;
    let actual = data.slice(setup.first_row..data.steps);
    let mut plant = Plant::new(&actual, n, setup.batteries_follow_meter);
    let mut ctl = Controller::new(
        data.clone(),
        setup.settings(policy),
        forecaster,
        every_device(data),
        Default::default(),
    );
    ctl.set_signals(setup.signals.clone());
    if let (Some(r), Policy::Mpc) = (&setup.requests, policy) {
        r.policy
            .check()
            .map_err(|e| anyhow!("{}: {e}", setup.file.path().display()))?;
        ctl.enable_requests(r.policy.clone());
    }
    for t in 0..n {
        let c = ctl.cycle(&plant.measure());
        on_cycle(&c);
        if let Some(r) = &setup.requests {
            // The simulated people deliver their share of every request.
            for q in &c.requests {
                let Some(node) = actual.nodes.iter().position(|x| x.id == q.building) else {
                    continue;
                };
                let at = |time| actual.step_at(time).unwrap_or(actual.steps);
                plant.reduce_load(node, at(q.from), at(q.until), r.response_rate * q.reduce_kw);
            }
        }
        plant
            .apply(&c.decisions)
            .with_context(|| format!("simulating {}", run.label()))?;
        done(t + 1);
    }
    let information = ctl.information();
    let fallbacks = ctl.forecaster().fallbacks();
    let asked = ctl
        .requests()
        .map(|d| (d.requests().to_vec(), d.responses().to_vec(), d.rates()))
        .unwrap_or_default();
    Ok(Looped {
        realized: plant.into_realized(),
        stats: ctl.stats.clone(),
        fallbacks,
        information,
        asked,
    })
}

/// The groups of independent parts to simulate side by side, if the run allows it
/// ([`simulate_with`]).
fn parallel_parts(setup: &Setup, run: Run) -> Option<Vec<engine::decompose::Part>> {
    let plain_forecast = matches!(
        run,
        Run::Mpc(ForecastChoice::Perfect | ForecastChoice::Naive | ForecastChoice::Model(_))
            | Run::None
    );
    if !setup.parallel_parts
        || !plain_forecast
        || setup.requests.is_some()
        || !setup.signals.is_empty()
        || setup.forecast_scenarios > 0
        || !setup.data.outages.is_empty()
    {
        return None;
    }
    let parts = engine::decompose::parts(&setup.data);
    // More threads than cores, so that the system can even out parts of equal work.
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = parts.len().min(4 * cores);
    (parts.len() > 1).then(|| engine::decompose::groups(parts, threads))
}

/// Each group of parts simulated on its own thread; the realized schedules put together.
fn simulate_parts(
    setup: &Setup,
    run: Run,
    period: &Scenario,
    parts: &[engine::decompose::Part],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Looped> {
    let n = setup.steps;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let results: Vec<Result<Looped>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                let tx = tx.clone();
                s.spawn(move || -> Result<Looped> {
                    let data = engine::decompose::subset(&setup.data, part);
                    let (policy, forecaster) = match run {
                        Run::Mpc(choice) => (
                            Policy::Mpc,
                            choice.build_for(
                                &setup.file,
                                &setup.sim,
                                setup.horizon,
                                Some(&data),
                                setup.perfect,
                            )?,
                        ),
                        _ => (Policy::None, Box::new(Perfect) as Box<dyn Forecaster>),
                    };
                    control_loop(
                        setup,
                        &data,
                        run,
                        policy,
                        forecaster,
                        &mut |_| {
                            let _ = tx.send(());
                        },
                        &mut |_| {},
                    )
                })
            })
            .collect();
        drop(tx);
        let mut done = 0;
        for () in rx {
            done += 1;
            if done % (24 * parts.len()) == 0 {
                progress(done / parts.len(), n);
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a part's simulation panicked")))
            })
            .collect()
    });
    progress(n, n);
    let mut looped = Vec::with_capacity(parts.len());
    for (part, r) in parts.iter().zip(results) {
        let ids: Vec<&str> = part
            .nodes
            .iter()
            .map(|&i| setup.data.nodes[i].id.as_str())
            .collect();
        looped.push(r.with_context(|| format!("simulating the part of {}", ids.join(", ")))?);
    }
    let pieces: Vec<(&engine::decompose::Part, &Schedule)> = parts
        .iter()
        .zip(&looped)
        .map(|(p, l)| (p, &l.realized))
        .collect();
    let realized = engine::decompose::merge_schedules(period, &pieces)
        .ok_or_else(|| anyhow!("the parts' schedules leave an asset out"))?;
    let mut stats = Stats::default();
    let mut information = Information::default();
    let mut fallbacks = 0;
    for l in &looped {
        // Every counter named, so that a new one cannot be left out. Each part plans at the
        // same cycles: plans count once; cycles without a plan and guard actions are
        // counted per part.
        let Stats {
            solves,
            solve_seconds,
            fallbacks: failed_plans,
            first_failure,
            peak_guards,
            scenario_plans,
        } = &l.stats;
        stats.solves = stats.solves.max(*solves);
        stats.solve_seconds += solve_seconds;
        stats.fallbacks += failed_plans;
        stats.peak_guards += peak_guards;
        stats.scenario_plans = stats.scenario_plans.max(*scenario_plans);
        if stats.first_failure.is_none() {
            stats.first_failure.clone_from(first_failure);
        }
        fallbacks += l.fallbacks;
        for (all, some) in [
            (&mut information.perfect, &l.information.perfect),
            (
                &mut information.known_in_advance,
                &l.information.known_in_advance,
            ),
        ] {
            for x in some {
                if !all.contains(x) {
                    all.push(x.clone());
                }
            }
        }
    }
    Ok(Looped {
        realized,
        stats,
        fallbacks,
        information,
        asked: Default::default(),
    })
}

/// The whole of `period` solved as one problem with perfect foresight (to `mip_gap`), and
/// the seconds it took.
pub fn oracle(period: &Scenario, mip_gap: f64) -> Result<(Schedule, f64)> {
    let started = Instant::now();
    let opts = SolveOptions {
        mip_gap,
        ..SolveOptions::default()
    };
    let out = engine::optimize(period, &opts).map_err(|e| anyhow!("{e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    match (out.status, out.schedule) {
        (Status::Optimal | Status::TimeLimit, Some(s)) => Ok((s, seconds)),
        (status, _) => Err(anyhow!(
            "the whole-period problem ended {status}: {}",
            out.message.unwrap_or_default()
        )),
    }
}
