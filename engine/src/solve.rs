//! Solving the dispatch model with HiGHS, exactly, and fast.
//!
//! # Strategy
//!
//! The spec's model has binaries for battery direction `u`, HVAC `on` and generator `w`.
//! On realistic districts the battery binaries rarely bind, yet branch-and-bound on them is
//! what makes a plain MILP solve slow. [`Strategy::Lazy`] (the default) therefore solves a
//! sequence of *relaxations* of the model, each with more of its on/off variables binary:
//!
//! 1. Solve the model with every on/off variable relaxed to [0, 1] except the ones already
//!    made binary. Its optimum is a lower bound `LB` on the true optimum.
//! 2. Fix every on/off decision to what that solution implies and solve the remaining LP
//!    ("polish"). That is a restriction of the true model, so its optimum is a feasible
//!    schedule with an upper bound `UB`, and its values are clean (no near-zero charge
//!    beside discharge, exact 0/1 on/off states).
//! 3. If `(UB − LB) / max(1, |UB|) ≤ mip_gap`, the polished schedule is optimal within the
//!    gap: stop. Otherwise make binary exactly the variables whose relaxed values were not
//!    a valid on/off state (a battery charging and discharging in the same step, an HVAC
//!    unit below its minimum power, a fractional generator state) and repeat.
//!
//! Each round is a relaxation of the spec's model, so `LB` is always valid, and each
//! polished schedule is feasible for it, so the result is exact within `mip_gap` — the
//! same guarantee as a plain MILP solve ([`Strategy::Direct`]), which remains available.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use highs::{HighsModelStatus, HighsSolutionStatus};

use crate::check::{check, PhysicsViolations, TOLERANCE};
use crate::model::{self, Goal, Integrality, OnOff, Vars};
use crate::report::Figures;
use crate::scenario::Scenario;
use crate::schedule::Schedule;
use crate::warm::WarmStart;

/// How the solver reaches the optimum (both exact within `mip_gap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Relax the on/off variables and make binary only those the relaxed optimum gets
    /// wrong, round after round (see the module documentation).
    #[default]
    Lazy,
    /// One MILP with every on/off variable binary, as the spec states the model.
    Direct,
}

/// Solver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Wall-clock limit for the whole solve, seconds (`None`: no limit).
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap at which a solution counts as optimal.
    pub mip_gap: f64,
    /// HiGHS threads (`None`: HiGHS chooses).
    pub threads: Option<u32>,
    /// Exact strategy.
    pub strategy: Strategy,
    /// Print HiGHS's log to the console.
    pub verbose: bool,
    /// Further HiGHS options (name, value as text), applied to every HiGHS run after the
    /// engine's own; values are read as bool, integer, float or string, in that order.
    pub highs_options: Vec<(String, String)>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            time_limit_s: None,
            mip_gap: DEFAULT_MIP_GAP,
            threads: None,
            strategy: Strategy::Lazy,
            verbose: false,
            highs_options: Vec::new(),
        }
    }
}

/// Default relative MIP gap: well inside the 1e-6 to which the reference cases are pinned.
pub const DEFAULT_MIP_GAP: f64 = 1e-7;

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Optimal within the MIP gap.
    Optimal,
    /// The time limit ended the solve; the best schedule found is returned with its gap.
    TimeLimit,
    /// No schedule meets the constraints; see the diagnosis.
    Infeasible,
    /// The objective can fall without limit (e.g. circular trade across connections).
    Unbounded,
    /// The time limit ended the solve before any schedule was found.
    NoSolution,
}

impl Status {
    /// The status as reported in JSON: `optimal`, `time_limit`, `infeasible`, `unbounded`,
    /// `no_solution`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::TimeLimit => "time_limit",
            Status::Infeasible => "infeasible",
            Status::Unbounded => "unbounded",
            Status::NoSolution => "no_solution",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an infeasible scenario's node balance fails first: with every node balance made
/// elastic and the total slack minimised, the first step, then the first node in file
/// order, that needs slack.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    /// The node's id.
    pub node: String,
    /// The step (0-based).
    pub step: usize,
    /// The step's start time.
    pub time: DateTime<FixedOffset>,
    /// Power missing at the node (positive) or in excess that it cannot get rid of
    /// (negative), kW.
    pub shortfall_kw: f64,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (amount, what) = if self.shortfall_kw >= 0.0 {
            (self.shortfall_kw, "missing")
        } else {
            (-self.shortfall_kw, "in excess with nowhere to go")
        };
        write!(
            f,
            "balance of node '{}' cannot be met at step {} ({}): {amount:.3} kW {what}",
            self.node,
            self.step,
            self.time.to_rfc3339()
        )
    }
}

/// The result of [`optimize`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How the solve ended.
    pub status: Status,
    /// The schedule, for `Optimal` and `TimeLimit`.
    pub schedule: Option<Schedule>,
    /// The schedule's figures.
    pub figures: Option<Figures>,
    /// Relative gap between the schedule's objective and the best lower bound.
    pub mip_gap: Option<f64>,
    /// For `Infeasible`: where balance fails first.
    pub diagnosis: Option<Diagnosis>,
    /// A sentence on why there is no schedule, when there is none.
    pub message: Option<String>,
    /// Seconds spent building models.
    pub build_seconds: f64,
    /// Seconds spent in HiGHS.
    pub solve_seconds: f64,
    /// Number of HiGHS runs.
    pub solver_runs: usize,
    /// HiGHS runs that started from the basis a previous solve left ([`optimize_warm`]).
    pub warm_starts: usize,
    /// Of those, the runs that resumed the HiGHS instance a previous solve kept, its model
    /// updated in place ([`crate::warm`]).
    pub resumed: usize,
    /// Binary variables in the last model solved.
    pub binaries: usize,
    /// One entry per round of the strategy.
    pub rounds: Vec<Round>,
}

/// One round of the solve: a relaxation (or the full MILP) and its polish.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// Binary variables in the round's model.
    pub binaries: usize,
    /// Lower bound from the round's model, yen.
    pub lower_bound_yen: f64,
    /// Objective of the polished schedule, yen, if polishing succeeded.
    pub polished_yen: Option<f64>,
    /// Seconds HiGHS spent on the round's model.
    pub relaxed_seconds: f64,
    /// Seconds HiGHS spent polishing.
    pub polish_seconds: f64,
    /// On/off variables made binary after this round.
    pub tightened: usize,
}

/// Errors that are not a property of the scenario: HiGHS failing, or a solution that breaks
/// the physics (a bug, never returned silently).
#[derive(Debug)]
pub enum EngineError {
    /// HiGHS reported an error.
    Solver(String),
    /// The solution breaks the physics of the model.
    Physics(PhysicsViolations),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Solver(m) => write!(f, "solver error: {m}"),
            EngineError::Physics(v) => write!(f, "internal error: {v}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// What one HiGHS run ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunStatus {
    Optimal,
    Limit,
    Infeasible,
    Unbounded,
    UnboundedOrInfeasible,
}

struct Run {
    status: RunStatus,
    /// Column values, when HiGHS has a feasible solution.
    x: Option<Vec<f64>>,
    /// Lower bound on this model's optimum, including the objective constant.
    bound: f64,
    vars: Vars,
    /// Whether the run started from a given basis.
    warm_started: bool,
    /// Whether the run resumed a kept instance.
    resumed: bool,
}

#[derive(Default)]
struct Clock {
    build: Duration,
    solve: Duration,
    runs: usize,
}

struct Runner<'a> {
    sc: &'a Scenario,
    opts: &'a SolveOptions,
    deadline: Option<Instant>,
    clock: Clock,
}

impl Runner<'_> {
    fn time_left(&self) -> Option<f64> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64())
    }

    fn out_of_time(&self) -> bool {
        self.time_left().is_some_and(|s| s <= 0.0)
    }

    /// Builds the model for `plan` and `goal` and runs HiGHS on it.
    fn run(
        &mut self,
        plan: &Integrality,
        goal: Goal,
        warm: Option<&[f64]>,
        mut slot: Option<&mut crate::warm::Slot>,
        keep: bool,
    ) -> Result<Run, EngineError> {
        let started = Instant::now();
        let m = model::build(self.sc, plan, goal);
        let is_mip = m.n_integer > 0;
        let small_lp = !is_mip && m.n_cols < PRESOLVE_FROM_COLUMNS;
        let (lp, vars) = m.into_lp();
        // The instance the last solve of this LP left, holding this model now, or a new one.
        let kept = slot
            .as_mut()
            .and_then(|s| s.kept.take())
            .filter(|_| !is_mip)
            .and_then(|k| k.update(&lp));
        let in_place = kept.is_some();
        let mut hm = match kept {
            Some(hm) => hm,
            None => lp.to_highs().map_err(EngineError::Solver)?,
        };
        // The arrays are kept only with the instance; a large LP's are released while HiGHS
        // works on its own copy, and read back from it for the check afterwards.
        let keep_lp = keep && !is_mip && slot.is_some();
        let lp = (keep_lp || lp.n_cols() < RELEASE_ARRAYS_FROM_COLUMNS).then_some(lp);
        self.clock.build += started.elapsed();

        let set = |hm: &mut highs::Model, k: &str, v: f64| {
            hm.try_set_option(k, v)
                .map_err(|e| EngineError::Solver(format!("option {k}: {e:?}")))
        };
        hm.make_quiet();
        if self.opts.verbose {
            let _ = hm.try_set_option("output_flag", true);
            let _ = hm.try_set_option("log_to_console", true);
        }
        set(&mut hm, "mip_rel_gap", self.opts.mip_gap)?;
        if !is_mip {
            // Clean LP values: the schedule is checked to 1e-6 afterwards.
            set(&mut hm, "primal_feasibility_tolerance", 1e-9)?;
            set(&mut hm, "dual_feasibility_tolerance", 1e-9)?;
            if small_lp {
                hm.try_set_option("presolve", "off")
                    .map_err(|e| EngineError::Solver(format!("option presolve: {e:?}")))?;
            }
        } else {
            // A binary off by HiGHS's default 1e-6 lets `ch ≤ charge_kw · u` leak a little
            // power, so the MIP's bound can sit below the exact optimum by more than the gap.
            set(&mut hm, "mip_feasibility_tolerance", 1e-9)?;
            // HiGHS's MIP presolve with its aggregator on cut off the optimum of a random
            // district (batteries' `ch ≤ charge_kw · u` links with their energy chains):
            // "optimal" at 223,844 yen where the optimum is 223,758 (HiGHS 1.15 here and
            // 1.16 from PyPI alike; presolve off, or the aggregator alone off, find it). The
            // aggregator stays off in every MIP (regression seed in tests/properties).
            hm.try_set_option("presolve_rule_off", PRESOLVE_RULE_AGGREGATOR)
                .map_err(|e| EngineError::Solver(format!("option presolve_rule_off: {e:?}")))?;
        }
        if is_mip && warm.is_some() {
            // Every MIP round starts from the previous round's polished schedule, a feasible
            // incumbent, so HiGHS's costly sub-MIP searches for one (RINS, RENS, root
            // reduced-cost fixing) only slow it down; restarts likewise (measured on the
            // reference cases d and e: 3-5x faster, same optimum).
            for k in [
                "mip_heuristic_run_rins",
                "mip_heuristic_run_rens",
                "mip_heuristic_run_root_reduced_cost",
                "mip_allow_restart",
            ] {
                hm.try_set_option(k, false)
                    .map_err(|e| EngineError::Solver(format!("option {k}: {e:?}")))?;
            }
        }
        if let Some(left) = self.time_left() {
            set(&mut hm, "time_limit", left.max(0.0))?;
        }
        if let Some(threads) = self.opts.threads {
            hm.try_set_option("threads", threads as i32)
                .map_err(|e| EngineError::Solver(format!("option threads: {e:?}")))?;
        }
        for (k, v) in &self.opts.highs_options {
            set_highs_option(&mut hm, k, v)?;
        }
        if let Some(x) = warm {
            // A start that HiGHS finds infeasible is simply ignored.
            let _ = hm.try_set_solution(Some(x), None, None, None);
        }
        // An LP with the previous solve's basis starts its simplex there (a basis HiGHS
        // refuses leaves the start cold); a kept instance already holds it.
        let warm_started = in_place
            || !is_mip
                && slot
                    .as_ref()
                    .and_then(|s| s.basis.as_ref())
                    .is_some_and(|b| crate::warm::set_basis(&mut hm, b));

        let started = Instant::now();
        let mut solved = hm
            .try_solve()
            .map_err(|e| EngineError::Solver(format!("HiGHS failed: {e:?}")))?;
        self.clock.runs += 1;
        if !is_mip {
            solved = self.resolve_inexact(solved, lp.as_ref())?;
        }
        self.clock.solve += started.elapsed();
        let lp = lp.filter(|_| keep_lp);

        let status = match solved.status() {
            HighsModelStatus::Optimal => RunStatus::Optimal,
            HighsModelStatus::Infeasible => RunStatus::Infeasible,
            HighsModelStatus::Unbounded => RunStatus::Unbounded,
            HighsModelStatus::UnboundedOrInfeasible => RunStatus::UnboundedOrInfeasible,
            HighsModelStatus::ReachedTimeLimit
            | HighsModelStatus::ReachedIterationLimit
            | HighsModelStatus::ReachedSolutionLimit
            | HighsModelStatus::ReachedInterrupt
            | HighsModelStatus::ReachedMemoryLimit => RunStatus::Limit,
            // A time limit that strikes inside presolve leaves the status unset.
            HighsModelStatus::NotSet if self.out_of_time() => RunStatus::Limit,
            other => return Err(EngineError::Solver(format!("HiGHS ended with {other:?}"))),
        };
        // Read as a number: the wrapper's `primal_solution_status()` panics on the -1 HiGHS
        // reports when a time limit struck before the solve began. 2 is "feasible".
        let has_solution = solved
            .int_info_value(c"primal_solution_status")
            .is_ok_and(|s| s == HighsSolutionStatus::Feasible as i64);
        let x = has_solution.then(|| solved.get_solution().columns().to_vec());
        let objective = solved.objective_value();
        let mip_bound = solved.double_info_value(c"mip_dual_bound");
        // What this solve leaves for the next one: the optimal basis of an LP, and (in a
        // controller's warm start) the instance itself.
        if let Some(slot) = slot {
            slot.basis = (!is_mip && status == RunStatus::Optimal)
                .then(|| crate::warm::basis_of(&solved))
                .flatten();
            if let (Some(lp), true) = (lp, slot.basis.is_some()) {
                slot.kept = Some(crate::warm::Kept::new(highs::Model::from(solved), lp));
            }
        }
        let bound = match status {
            // (HiGHS's objective values and bounds include the model's constant.)
            RunStatus::Optimal if !is_mip => objective,
            _ if is_mip => mip_bound.unwrap_or(f64::NEG_INFINITY),
            _ => f64::NEG_INFINITY,
        };
        Ok(Run {
            status,
            x,
            bound,
            vars,
            warm_started,
            resumed: in_place,
        })
    }
}

/// LPs from this many columns have their arrays ([`model::Lp`]) released while HiGHS
/// solves its own copy of them, unless a controller keeps them for the next cycle: on the
/// 100 × 288 district that is 16 MB less at the peak of HiGHS's postsolve.
const RELEASE_ARRAYS_FROM_COLUMNS: usize = 50_000;

/// HiGHS's `presolve_rule_off` bit of its aggregator (`kPresolveRuleAggregator` = 12).
const PRESOLVE_RULE_AGGREGATOR: i32 = 1 << 12;

/// How far (in the model's own units: kW, kWh, °C…) an LP optimum may break one of the
/// LP's bounds before it is solved again; a tenth of the schedule check's tolerance.
const INEXACT_VIOLATION: f64 = TOLERANCE / 10.0;

impl Runner<'_> {
    /// An LP optimum that HiGHS's dual simplex reports inexactly, solved again from scratch:
    /// first with presolve, then with the interior point method and crossover. Inexact is
    /// HiGHS's own verdict (status `Unknown`: its optimality check failed) or, for an
    /// `Optimal` status, a row or bound of `lp` broken by more than [`INEXACT_VIOLATION`]
    /// when the solution is checked against the LP's arrays. Both were seen on badly scaled
    /// random districts (matrix entries from 1e-4 to 1e2, dual values of 1e3), where the
    /// simplex without presolve ended with a relative primal–dual objective error of 1e-5
    /// or with a zone's temperature row off by 7e-5 °C, while presolve and the interior
    /// point reach the exact optimum. A solve that is still inexact after both is returned
    /// as it is, and the schedule check reports it.
    fn resolve_inexact(
        &mut self,
        mut solved: highs::SolvedModel,
        lp: Option<&model::Lp>,
    ) -> Result<highs::SolvedModel, EngineError> {
        let read_back;
        let lp = match lp {
            Some(lp) => lp,
            None => {
                // SAFETY: `solved` owns a live HiGHS instance, which holds the LP it solved
                // (and every re-solve below solves the same LP).
                read_back = unsafe { model::Lp::from_highs(solved.as_ptr()) }
                    .map_err(EngineError::Solver)?;
                &read_back
            }
        };
        let inexact = |s: &highs::SolvedModel| match s.status() {
            HighsModelStatus::Unknown => true,
            HighsModelStatus::Optimal => {
                lp.max_violation(s.get_solution().columns()) > INEXACT_VIOLATION
            }
            _ => false,
        };
        for (key, value) in [("presolve", "on"), ("solver", "ipm")] {
            if !inexact(&solved) || self.out_of_time() {
                break;
            }
            if self.opts.verbose {
                eprintln!(
                    "HiGHS's LP optimum is inexact ({:?}): solving again, {key} {value}",
                    solved.status()
                );
            }
            let mut hm = highs::Model::from(solved);
            // SAFETY: `hm` owns a live HiGHS instance; clearing its solver state drops the
            // basis and solution so that the next run starts from scratch.
            unsafe { highs_sys::Highs_clearSolver(hm.as_mut_ptr()) };
            hm.try_set_option(key, value)
                .map_err(|e| EngineError::Solver(format!("option {key}: {e:?}")))?;
            if let Some(left) = self.time_left() {
                hm.try_set_option("time_limit", left.max(0.0))
                    .map_err(|e| EngineError::Solver(format!("option time_limit: {e:?}")))?;
            }
            solved = hm
                .try_solve()
                .map_err(|e| EngineError::Solver(format!("HiGHS failed: {e:?}")))?;
            self.clock.runs += 1;
        }
        Ok(solved)
    }
}

/// Sets a HiGHS option given as text, trying bool, integer, float and string in turn.
fn set_highs_option(hm: &mut highs::Model, key: &str, value: &str) -> Result<(), EngineError> {
    let ok = match value {
        // (`on`/`off` are also the values of string options such as `parallel`)
        "true" | "on" if hm.try_set_option(key, true).is_ok() => true,
        "false" | "off" if hm.try_set_option(key, false).is_ok() => true,
        _ => {
            value
                .parse::<i32>()
                .is_ok_and(|i| hm.try_set_option(key, i).is_ok())
                || value
                    .parse::<f64>()
                    .is_ok_and(|f| hm.try_set_option(key, f).is_ok())
                || hm.try_set_option(key, value).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(EngineError::Solver(format!(
            "HiGHS refused option {key} = {value} (unknown option or invalid value)"
        )))
    }
}

/// HiGHS's absolute MIP gap (its default, yen): a gap this small counts as closed
/// whatever the relative gap (tiny objectives).
const ABS_GAP_YEN: f64 = 1e-6;

/// Whether upper bound `ub` and lower bound `lb` are within the gap.
fn gap_closed(ub: f64, lb: f64, mip_gap: f64) -> bool {
    ub - lb <= ABS_GAP_YEN || rel_gap(ub, lb) <= mip_gap + 1e-9
}

/// Relative gap as this module measures it.
fn rel_gap(ub: f64, lb: f64) -> f64 {
    ((ub - lb) / ub.abs().max(1.0)).max(0.0)
}

/// LPs with fewer columns are solved without HiGHS's presolve, which on a model this small
/// costs more than it saves (a CityLearn home's 24-hour plan, about 200 columns: the year's
/// 8,760 plans 36 % faster; measured with `aems simulate`, docs/optimize.md).
const PRESOLVE_FROM_COLUMNS: usize = 5_000;

/// Tolerance for reading an on/off state off a relaxed solution.
const STATE_TOL: f64 = 1e-6;

/// The on/off decisions a relaxed solution implies, each fixed: the LP that polishes it.
fn fixed_plan(sc: &Scenario, plan: &Integrality, vars: &Vars, x: &[f64]) -> Integrality {
    let fix = |kind: OnOff, value: f64, implied: bool| match kind {
        OnOff::Fixed(b) => OnOff::Fixed(b),
        OnOff::Binary => OnOff::Fixed(value > 0.5),
        OnOff::Relaxed => OnOff::Fixed(implied),
    };
    Integrality {
        battery: vars
            .batteries
            .iter()
            .zip(&plan.battery)
            .map(|(k, p)| {
                (0..sc.steps)
                    .map(|t| {
                        let (ch, dis) = (k.ch[t].value(x), k.dis[t].value(x));
                        let implied = if ch.max(dis) > STATE_TOL {
                            ch >= dis
                        } else {
                            k.u[t].value(x) >= 0.5
                        };
                        fix(p[t], k.u[t].value(x), implied)
                    })
                    .collect()
            })
            .collect(),
        hvac: vars
            .hvacs
            .iter()
            .zip(&plan.hvac)
            .zip(&sc.hvacs)
            .map(|((h, p), unit)| {
                (0..sc.steps)
                    .map(|t| {
                        let q = h.q[t].value(x);
                        let implied =
                            q > STATE_TOL && (unit.min_kw == 0.0 || q >= unit.min_kw / 2.0);
                        fix(p[t], h.on_value(t, x, STATE_TOL), implied)
                    })
                    .collect()
            })
            .collect(),
        generator: vars
            .generators
            .iter()
            .zip(&plan.generator)
            .map(|(j, p)| {
                (0..sc.steps)
                    .map(|t| {
                        let w = j.w[t].value(x);
                        let implied = if w.min(1.0 - w) <= STATE_TOL {
                            w > 0.5
                        } else {
                            j.p[t].value(x) > STATE_TOL
                        };
                        fix(p[t], w, implied)
                    })
                    .collect()
            })
            .collect(),
    }
}

/// The schedule of column values `x`, its on/off states taken from the `fixed` plan.
fn schedule_with_states(vars: &Vars, x: &[f64], fixed: &Integrality) -> Schedule {
    let mut schedule = Schedule::from_columns(vars, x);
    let state = |o: &OnOff| matches!(o, OnOff::Fixed(true));
    for (h, f) in schedule.hvacs.iter_mut().zip(&fixed.hvac) {
        h.on = f.iter().map(state).collect();
    }
    for (j, f) in schedule.generators.iter_mut().zip(&fixed.generator) {
        j.on = f.iter().map(state).collect();
    }
    schedule
}

/// When a relaxed on/off state is invalid at step t, the states of steps t − 2 … t + 2 are
/// made binary with it: forcing one step's state moves the relaxed optimum to its
/// neighbours (batteries and zones store energy across steps), and taking them at once saves
/// a MIP round (measured on reference case d: one round instead of three).
const NEIGHBOURHOOD_STEPS: usize = 2;

/// Makes binary every relaxed state of `states` within [`NEIGHBOURHOOD_STEPS`] of a step
/// where `invalid` holds. Returns how many changed.
fn make_binary_around(states: &mut [OnOff], invalid: impl Fn(usize) -> bool) -> usize {
    let steps = states.len();
    let bad: Vec<usize> = (0..steps)
        .filter(|&t| states[t] == OnOff::Relaxed && invalid(t))
        .collect();
    let mut changed = 0;
    for t in bad {
        let window =
            t.saturating_sub(NEIGHBOURHOOD_STEPS)..(t + NEIGHBOURHOOD_STEPS + 1).min(steps);
        for state in &mut states[window] {
            if *state == OnOff::Relaxed {
                *state = OnOff::Binary;
                changed += 1;
            }
        }
    }
    changed
}

/// Makes binary the relaxed on/off variables whose values in `x` are not a valid state
/// (and their neighbours). Returns how many were changed.
fn tighten(sc: &Scenario, plan: &mut Integrality, vars: &Vars, x: &[f64]) -> usize {
    let mut changed = 0;
    for (k, p) in vars.batteries.iter().zip(plan.battery.iter_mut()) {
        // charging and discharging in the same step
        changed += make_binary_around(p, |t| k.ch[t].value(x).min(k.dis[t].value(x)) > STATE_TOL);
    }
    for ((h, p), unit) in vars.hvacs.iter().zip(plan.hvac.iter_mut()).zip(&sc.hvacs) {
        // running below the minimum power
        changed += make_binary_around(p, |t| {
            let q = h.q[t].value(x);
            q > STATE_TOL && q < unit.min_kw - STATE_TOL
        });
    }
    for (j, p) in vars.generators.iter().zip(plan.generator.iter_mut()) {
        let fractional = (0..sc.steps).any(|t| {
            let w = j.w[t].value(x);
            p[t] == OnOff::Relaxed && w.min(1.0 - w) > STATE_TOL
        });
        if fractional {
            // A generator's states are coupled through start-ups: make all of them binary.
            for o in p.iter_mut().filter(|o| **o == OnOff::Relaxed) {
                *o = OnOff::Binary;
                changed += 1;
            }
        }
    }
    changed
}

/// Solves the dispatch of `sc`.
///
/// Returns the schedule with its figures (checked against the physics), or the reason
/// there is none: `infeasible` with a [`Diagnosis`], `unbounded`, or `no_solution` when the
/// time limit came first.
///
/// A district whose nodes fall into independent parts (no line and no shared first step
/// between them, [`crate::decompose`]) is solved in groups of parts, one group per core
/// ([`crate::decompose::groups`]), in parallel, and the schedules put together: the sum of
/// independent problems, so the same optimum. The whole schedule is checked against the
/// physics as one.
pub fn optimize(sc: &Scenario, opts: &SolveOptions) -> Result<Outcome, EngineError> {
    optimize_warm(sc, opts, &mut WarmStart::one_off())
}

/// [`optimize`], starting from what the previous solve of a problem of the same structure
/// left in `warm` (its optimal bases, [`crate::warm`]) and leaving this solve's there.
/// The start changes only where HiGHS's simplex begins: the result is exact within the
/// same gap as a cold solve.
pub fn optimize_warm(
    sc: &Scenario,
    opts: &SolveOptions,
    warm: &mut WarmStart,
) -> Result<Outcome, EngineError> {
    use rayon::prelude::*;
    let parts = crate::decompose::groups(crate::decompose::parts(sc), rayon::current_num_threads());
    if parts.len() <= 1 {
        warm.parts.clear();
        return optimize_whole(sc, opts, warm);
    }
    let outcomes: Vec<Outcome> = parts
        .par_iter()
        .zip(warm.parts_mut(parts.len()).par_iter_mut())
        .map(|(part, w)| optimize_whole(&crate::decompose::subset(sc, part), opts, w))
        .collect::<Result<_, _>>()?;
    merge(sc, &parts, outcomes)
}

/// The outcome of the whole from its independent parts' outcomes.
fn merge(
    sc: &Scenario,
    parts: &[crate::decompose::Part],
    outcomes: Vec<Outcome>,
) -> Result<Outcome, EngineError> {
    let sum = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).sum::<f64>();
    let (build_seconds, solve_seconds) = (sum(&|o| o.build_seconds), sum(&|o| o.solve_seconds));
    let solver_runs = outcomes.iter().map(|o| o.solver_runs).sum();
    let warm_starts = outcomes.iter().map(|o| o.warm_starts).sum();
    let resumed = outcomes.iter().map(|o| o.resumed).sum();
    let binaries = outcomes.iter().map(|o| o.binaries).sum();
    let rounds: Vec<Round> = outcomes.iter().flat_map(|o| o.rounds.clone()).collect();
    // A part without a schedule is the whole's answer (the first such part, by node order).
    if let Some(o) = outcomes.iter().find(|o| o.schedule.is_none()) {
        return Ok(Outcome {
            status: o.status,
            schedule: None,
            figures: None,
            mip_gap: None,
            diagnosis: o.diagnosis.clone(),
            message: o.message.clone(),
            build_seconds,
            solve_seconds,
            solver_runs,
            warm_starts,
            resumed,
            binaries,
            rounds,
        });
    }
    let mut pieces = Vec::new();
    let (mut ub, mut lb) = (0.0, 0.0);
    for (part, o) in parts.iter().zip(&outcomes) {
        let (Some(s), Some(f)) = (&o.schedule, &o.figures) else {
            unreachable!("parts without a schedule returned above")
        };
        let gap = o.mip_gap.unwrap_or(0.0);
        ub += f.objective_yen;
        lb += f.objective_yen - gap * f.objective_yen.abs().max(1.0);
        pieces.push((part, s));
    }
    let schedule = crate::decompose::merge_schedules(sc, &pieces).ok_or_else(|| {
        EngineError::Solver("decomposition: a part's schedule is incomplete".into())
    })?;
    check(sc, &schedule, TOLERANCE).map_err(EngineError::Physics)?;
    let status = if outcomes.iter().all(|o| o.status == Status::Optimal) {
        Status::Optimal
    } else {
        Status::TimeLimit
    };
    let gap = rel_gap(ub, lb);
    Ok(Outcome {
        status,
        message: (status == Status::TimeLimit).then(|| {
            format!("time limit reached: best schedule found, within {gap:.3e} of the optimum")
        }),
        figures: Some(Figures::compute(sc, &schedule)),
        schedule: Some(schedule),
        mip_gap: Some(gap),
        diagnosis: None,
        build_seconds,
        solve_seconds,
        solver_runs,
        warm_starts,
        resumed,
        binaries,
        rounds,
    })
}

/// Solves the dispatch of `sc` as one problem.
fn optimize_whole(
    sc: &Scenario,
    opts: &SolveOptions,
    start: &mut WarmStart,
) -> Result<Outcome, EngineError> {
    let mut runner = Runner {
        sc,
        opts,
        deadline: opts
            .time_limit_s
            .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0))),
        clock: Clock::default(),
    };
    let full = Integrality::full(sc);
    let mut plan = match opts.strategy {
        Strategy::Lazy => Integrality::relaxed(sc),
        Strategy::Direct => full.clone(),
    };

    let mut best: Option<(f64, Schedule, Vec<f64>)> = None;
    let mut lower = f64::NEG_INFINITY;
    let mut hit_limit = false;
    let mut rounds = Vec::new();
    let mut warm_runs = 0;
    let mut resumed = 0;
    // Whether the best schedule was already checked against the physics.
    let mut checked = false;
    loop {
        let warm = best.as_ref().map(|(_, _, x)| x.as_slice());
        let first = rounds.is_empty();
        let solve_before = runner.clock.solve;
        let keep = !start.bases_only;
        let run = runner.run(
            &plan,
            Goal::Cost,
            warm,
            first.then_some(&mut start.relaxed),
            keep,
        )?;
        warm_runs += usize::from(run.warm_started);
        resumed += usize::from(run.resumed);
        let mut round = Round {
            binaries: plan.binaries(),
            lower_bound_yen: run.bound,
            polished_yen: None,
            relaxed_seconds: (runner.clock.solve - solve_before).as_secs_f64(),
            polish_seconds: 0.0,
            tightened: 0,
        };
        match run.status {
            RunStatus::Infeasible => return explain(&mut runner, &full, false),
            RunStatus::Unbounded | RunStatus::UnboundedOrInfeasible => {
                return explain(&mut runner, &full, true)
            }
            RunStatus::Optimal | RunStatus::Limit => {}
        }
        hit_limit |= run.status == RunStatus::Limit;
        lower = lower.max(run.bound);
        let Some(x) = run.x else {
            rounds.push(round);
            break; // limit reached without a solution in this round
        };
        // Polish: fix the on/off decisions this solution implies and solve the LP.
        let fixed = fixed_plan(sc, &plan, &run.vars, &x);
        // An LP optimum whose every on/off state is already valid is optimal for the full
        // model as it stands: take it with the states it implies, no polish needed.
        if run.status == RunStatus::Optimal
            && plan.binaries() == 0
            && tighten(sc, &mut plan.clone(), &run.vars, &x) == 0
        {
            let schedule = schedule_with_states(&run.vars, &x, &fixed);
            if check(sc, &schedule, TOLERANCE).is_ok() {
                let value = Figures::compute(sc, &schedule).objective_yen;
                round.polished_yen = Some(value);
                best = Some((value, schedule, x));
                checked = true;
                rounds.push(round);
                break;
            }
        }
        if !runner.out_of_time() || best.is_none() {
            let solve_before = runner.clock.solve;
            let polished = runner.run(
                &fixed,
                Goal::Cost,
                None,
                first.then_some(&mut start.polish),
                !start.bases_only,
            )?;
            warm_runs += usize::from(polished.warm_started);
            resumed += usize::from(polished.resumed);
            round.polish_seconds = (runner.clock.solve - solve_before).as_secs_f64();
            if let (RunStatus::Optimal, Some(px)) = (polished.status, polished.x) {
                let schedule = Schedule::from_columns(&polished.vars, &px);
                let value = Figures::compute(sc, &schedule).objective_yen;
                round.polished_yen = Some(value);
                if best.as_ref().is_none_or(|(b, _, _)| value < *b) {
                    best = Some((value, schedule, px));
                    checked = false;
                }
            }
        }
        let closed = best
            .as_ref()
            .is_some_and(|(ub, _, _)| gap_closed(*ub, lower, opts.mip_gap));
        if closed || hit_limit || runner.out_of_time() {
            rounds.push(round);
            break;
        }
        round.tightened = tighten(sc, &mut plan, &run.vars, &x);
        let tightened = round.tightened;
        rounds.push(round);
        if tightened == 0 {
            // Every relaxed state is valid, yet polishing left a gap: solve the model as the
            // spec states it (every on/off variable binary), warm-started.
            if plan == full {
                break;
            }
            plan = full.clone();
        }
    }

    let binaries = plan.binaries();
    let (build_seconds, solve_seconds, solver_runs) = (
        runner.clock.build.as_secs_f64(),
        runner.clock.solve.as_secs_f64(),
        runner.clock.runs,
    );
    let warm_starts = warm_runs;
    let Some((ub, schedule, _)) = best else {
        return Ok(Outcome {
            status: Status::NoSolution,
            schedule: None,
            figures: None,
            mip_gap: None,
            diagnosis: None,
            message: Some("no solution within time limit".into()),
            build_seconds,
            solve_seconds,
            solver_runs,
            warm_starts,
            resumed,
            binaries,
            rounds,
        });
    };
    if !checked {
        check(sc, &schedule, TOLERANCE).map_err(EngineError::Physics)?;
    }
    let gap = rel_gap(ub, lower);
    // Optimal when the gap is closed, or when the time limit never struck: then the last
    // round was the full model (or a relaxation with every state valid) solved to HiGHS's
    // optimality, and what gap remains is HiGHS's numerical tolerance (reported as is).
    let status = if gap_closed(ub, lower, opts.mip_gap) || !hit_limit && !runner.out_of_time() {
        Status::Optimal
    } else {
        Status::TimeLimit
    };
    let figures = Figures::compute(sc, &schedule);
    Ok(Outcome {
        status,
        message: (status == Status::TimeLimit).then(|| {
            format!("time limit reached: best schedule found, within {gap:.3e} of the optimum")
        }),
        schedule: Some(schedule),
        figures: Some(figures),
        mip_gap: Some(gap),
        diagnosis: None,
        build_seconds,
        solve_seconds,
        solver_runs,
        warm_starts,
        resumed,
        binaries,
        rounds,
    })
}

/// What the elastic-balance model says.
enum Elastic {
    /// Balance must give here first.
    Fails(Diagnosis),
    /// Every node balances at every step.
    Balances,
    /// No answer: the time limit struck first.
    Unknown,
    /// The elastic model itself has no solution: something other than a node balance (and
    /// other than a battery's reach, checked before) makes the model infeasible.
    NoBalanceCause,
}

/// Solves the elastic-balance model of the scenario (every other constraint kept, total
/// slack minimised) and finds the first step, then the first node in file order, that
/// needs slack.
fn elastic(runner: &mut Runner<'_>, plan: &Integrality) -> Result<Elastic, EngineError> {
    let run = runner.run(plan, Goal::BalanceSlack, None, None, false)?;
    if matches!(
        run.status,
        RunStatus::Infeasible | RunStatus::UnboundedOrInfeasible
    ) {
        return Ok(Elastic::NoBalanceCause);
    }
    let (Some(x), Some(slack), RunStatus::Optimal) = (run.x, run.vars.slack, run.status) else {
        return Ok(Elastic::Unknown);
    };
    let sc = runner.sc;
    for t in 0..sc.steps {
        for (n, node) in sc.nodes.iter().enumerate() {
            let plus = slack.plus[n][t].value(&x);
            let minus = slack.minus[n][t].value(&x);
            if plus.max(minus) > STATE_TOL {
                return Ok(Elastic::Fails(Diagnosis {
                    node: node.id.clone(),
                    step: t,
                    time: sc.times[t],
                    shortfall_kw: plus - minus,
                }));
            }
        }
    }
    Ok(Elastic::Balances)
}

fn no_schedule(
    runner: &Runner<'_>,
    status: Status,
    diagnosis: Option<Diagnosis>,
    message: String,
) -> Outcome {
    Outcome {
        status,
        schedule: None,
        figures: None,
        mip_gap: None,
        diagnosis,
        message: Some(message),
        build_seconds: runner.clock.build.as_secs_f64(),
        solve_seconds: runner.clock.solve.as_secs_f64(),
        solver_runs: runner.clock.runs,
        warm_starts: 0,
        resumed: 0,
        binaries: 0,
        rounds: Vec::new(),
    }
}

/// A battery whose energy bounds no schedule can keep, even charging at full power (as its
/// power curve allows) every step: with every node balance elastic, this is the only other way the model can be
/// infeasible (HVAC comfort has slack, generators may stay off, flows may be zero).
fn unreachable_battery(sc: &Scenario) -> Option<String> {
    let dt = sc.step_hours();
    for k in &sc.batteries {
        // The model's law: constant efficiencies, and the power curve's limit on charging.
        let law = k.model_law();
        let mut highest = k.initial_kwh;
        for t in 0..sc.steps {
            highest = law.reachable_kwh(highest, 1, dt);
            if highest < k.min_kwh - STATE_TOL {
                return Some(format!(
                    "battery '{}' cannot stay at min_kwh = {}: even charging at full power it \
                     holds at most {highest:.3} kWh at boundary {}",
                    k.id,
                    k.min_kwh,
                    t + 1
                ));
            }
        }
        if highest < k.terminal_kwh - STATE_TOL {
            return Some(format!(
                "battery '{}' cannot reach terminal_kwh = {}: even charging at full power it \
                 holds at most {highest:.3} kWh at the end",
                k.id, k.terminal_kwh
            ));
        }
    }
    None
}

/// Explains a model without an optimum. `ambiguous`: HiGHS could not tell infeasible from
/// unbounded (or found a relaxation unbounded); the elastic model, always feasible and
/// bounded, decides.
fn explain(
    runner: &mut Runner<'_>,
    full: &Integrality,
    ambiguous: bool,
) -> Result<Outcome, EngineError> {
    let infeasible = |runner: &Runner<'_>, d: Option<Diagnosis>, why: String| {
        no_schedule(runner, Status::Infeasible, d, format!("infeasible: {why}"))
    };
    if let Some(why) = unreachable_battery(runner.sc) {
        return Ok(infeasible(runner, None, why));
    }
    Ok(match elastic(runner, full)? {
        Elastic::Fails(d) => {
            let why = d.to_string();
            infeasible(runner, Some(d), why)
        }
        Elastic::Balances if ambiguous => no_schedule(
            runner,
            Status::Unbounded,
            None,
            "unbounded: the objective can fall without limit (e.g. buying at one grid \
             connection and selling at another above that price with no limit on either)"
                .to_string(),
        ),
        Elastic::Balances => infeasible(runner, None, "no schedule meets the constraints".into()),
        Elastic::Unknown if ambiguous => no_schedule(
            runner,
            Status::NoSolution,
            None,
            "no solution: HiGHS found the model infeasible or unbounded and the time limit \
             ran out before telling which"
                .to_string(),
        ),
        Elastic::Unknown => infeasible(
            runner,
            None,
            "no schedule meets the constraints (the time limit ran out before the diagnosis)"
                .into(),
        ),
        Elastic::NoBalanceCause => infeasible(
            runner,
            None,
            "no schedule meets the constraints, even with every node balance relaxed: the \
             cause is not a shortfall or surplus of power (check the batteries' energy \
             bounds, terminal energy and power curves)"
                .into(),
        ),
    })
}
