//! Problem → plan: the dispatch solved with the engine, within a deadline when one is set
//! (on a thread of its own: a result later than the deadline is discarded, and a solve
//! abandoned at its deadline blocks the next one until it ends).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use engine::{Scenario, Schedule, SolveOptions, Status};
use physics::device::Quantity;

/// A solved schedule and the problem it solves.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The horizon that was solved (its `start`, `step_minutes`, `times`).
    pub problem: Scenario,
    /// The schedule.
    pub schedule: Schedule,
    /// Objective, yen.
    pub objective_yen: f64,
    /// Relative MIP gap.
    pub mip_gap: Option<f64>,
}

/// One series of a plan: an asset's quantity over the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSeries {
    /// Asset id.
    pub asset: String,
    /// Quantity ([`Quantity::name`], or `import_kw`).
    pub quantity: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Per step (states: at the end of each step).
    pub values: Vec<f64>,
}

/// The plan series of a node's load planned unserved, per class (in
/// [`engine::asset::ClassKind::ALL`]'s order).
pub const UNSERVED_NAMES: [&str; 4] = [
    "unserved_lifeline_kw",
    "unserved_critical_kw",
    "unserved_normal_kw",
    "unserved_sheddable_kw",
];

impl Plan {
    /// The plan per asset quantity: grid import, battery power (+ discharging) and energy,
    /// HVAC power, on and zone temperature, generator power and on.
    pub fn series(&self) -> Vec<PlanSeries> {
        let (sc, s) = (&self.problem, &self.schedule);
        let mut out = Vec::new();
        let mut add = |asset: &str, q: &'static str, unit: &'static str, values: Vec<f64>| {
            out.push(PlanSeries {
                asset: asset.into(),
                quantity: q,
                unit,
                values,
            })
        };
        let flags = |v: &[bool]| v.iter().map(|o| f64::from(u8::from(*o))).collect();
        for (g, gs) in sc.grids.iter().zip(&s.grids) {
            add(&g.id, "import_kw", "kW", gs.import_kw.clone());
        }
        for (b, bs) in sc.batteries.iter().zip(&s.batteries) {
            let p = bs
                .discharge_kw
                .iter()
                .zip(&bs.charge_kw)
                .map(|(d, c)| d - c)
                .collect();
            add(&b.id, Quantity::PowerKw.name(), "kW", p);
            add(
                &b.id,
                Quantity::EnergyKwh.name(),
                "kWh",
                bs.energy_kwh[1..].to_vec(),
            );
        }
        for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
            add(&h.id, Quantity::PowerKw.name(), "kW", hs.power_kw.clone());
            add(&h.id, Quantity::On.name(), "", flags(&hs.on));
            add(
                &h.id,
                Quantity::ZoneTempC.name(),
                "°C",
                hs.temp_c[1..].to_vec(),
            );
        }
        for (g, gs) in sc.generators.iter().zip(&s.generators) {
            add(&g.id, Quantity::PowerKw.name(), "kW", gs.power_kw.clone());
            add(&g.id, Quantity::On.name(), "", flags(&gs.on));
        }
        // Emergency lines (energised only in an outage): their flow, + from → to.
        for (l, ls) in sc.lines.iter().zip(&s.lines) {
            if l.emergency_only {
                let f = ls
                    .fwd_kw
                    .iter()
                    .zip(&ls.rev_kw)
                    .map(|(a, b)| a - b)
                    .collect();
                add(&l.id, "flow_kw", "kW", f);
            }
        }
        // In an outage: each node's load planned unserved, per class.
        for (n, u) in sc.nodes.iter().zip(&s.unserved) {
            for (c, name) in UNSERVED_NAMES.iter().enumerate() {
                if u.shed_kw.iter().any(|x| x[c] > 0.0) {
                    add(&n.id, name, "kW", u.shed_kw.iter().map(|x| x[c]).collect());
                }
            }
        }
        out
    }

    /// The plan as a JSON document (its source, start, step, objective, gap, the grid
    /// outages it was made with, and series).
    pub fn to_json(&self, source: crate::Source, now: DateTime<FixedOffset>) -> serde_json::Value {
        let sc = &self.problem;
        let outages: Vec<serde_json::Value> = sc
            .outages
            .iter()
            .map(|o| {
                serde_json::json!({
                    "grid": sc.grids.get(o.grid).map(|g| g.id.as_str()),
                    "from": o.from.to_rfc3339(),
                    "until": o.until.to_rfc3339(),
                    "id": o.id,
                })
            })
            .collect();
        serde_json::json!({
            "islanded": sc.has_emergency(),
            "outages": outages,
            "source": source.as_str(),
            "time": now.to_rfc3339(),
            "start": self.problem.start.to_rfc3339(),
            "step_minutes": self.problem.step_minutes,
            "steps": self.problem.steps,
            "objective_yen": self.objective_yen,
            "mip_gap": self.mip_gap,
            "series": self.series(),
        })
    }

    /// The plan in words when it is islanded: what is out, the horizon, the generators and
    /// emergency lines running at its first step, and the energy it plans unserved per
    /// class.
    pub fn islanded_summary(&self) -> String {
        let p = self;
        let sc = &p.problem;
        let dt = sc.step_hours();
        let out: Vec<&str> = sc
            .outages
            .iter()
            .filter_map(|o| sc.grids.get(o.grid).map(|g| g.id.as_str()))
            .collect();
        let mut shed = [0.0; 4];
        for u in &p.schedule.unserved {
            for x in &u.shed_kw {
                for c in 0..4 {
                    shed[c] += x[c] * dt;
                }
            }
        }
        let gens: Vec<String> = sc
            .generators
            .iter()
            .zip(&p.schedule.generators)
            .filter(|(_, s)| s.on.first().copied().unwrap_or(false))
            .map(|(g, s)| format!("{} {:.0} kW", g.id, s.power_kw[0]))
            .collect();
        let ties: Vec<String> = sc
            .lines
            .iter()
            .zip(&p.schedule.lines)
            .filter(|(l, s)| {
                l.emergency_only
                    && (s.fwd_kw[0] - s.rev_kw[0]).abs() > crate::decision::TIE_CLOSED_KW
            })
            .map(|(l, s)| format!("{} {:.0} kW", l.id, s.fwd_kw[0] - s.rev_kw[0]))
            .collect();
        let names = engine::asset::ClassKind::ALL;
        let shed_words: Vec<String> = names
            .iter()
            .zip(shed)
            .map(|(c, e)| format!("{} {e:.0} kWh", c.as_str()))
            .collect();
        format!(
        "plan over {} h with {} out: generators now [{}], emergency lines now [{}]; planned unserved {}",
        sc.steps as f64 * dt,
        out.join(", "),
        gens.join(", "),
        ties.join(", "),
        shed_words.join(", ")
    )
    }

    /// The step holding `t`, if `t` is inside the horizon.
    pub fn step_at(&self, t: DateTime<FixedOffset>) -> Option<usize> {
        self.problem.step_at(t)
    }

    /// Each grid connection's planned import at step `k`, kW.
    pub fn planned_import_kw(&self, k: usize) -> Vec<f64> {
        self.schedule
            .grids
            .iter()
            .map(|g| g.import_kw.get(k).copied().unwrap_or(0.0))
            .collect()
    }
}

/// The warm start kept in `slot`, leaving it empty (a poisoned lock only loses the start).
fn take_warm(slot: &std::sync::Mutex<engine::WarmStart>) -> engine::WarmStart {
    slot.lock()
        .map(|mut w| std::mem::take(&mut *w))
        .unwrap_or_default()
}

/// Keeps `warm` for the next solve.
fn put_warm(slot: &std::sync::Mutex<engine::WarmStart>, warm: engine::WarmStart) {
    if let Ok(mut w) = slot.lock() {
        *w = warm;
    }
}

/// How a solve went.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SolveInfo {
    /// The engine's status, or `missed_deadline`, `error`, `skipped`.
    pub status: String,
    /// Wall seconds.
    pub seconds: f64,
}

/// Solves plans.
#[derive(Debug, Clone)]
pub struct Solver {
    /// The engine's options (the time limit is set from the deadline).
    pub opts: SolveOptions,
    running: Arc<AtomicBool>,
    /// The bases the last solve left: the next plan's simplex starts there (the
    /// problem's structure rarely changes between cycles; when it does the start is cold).
    warm: Arc<std::sync::Mutex<engine::WarmStart>>,
}

impl Solver {
    /// A solver with `opts`.
    pub fn new(opts: SolveOptions) -> Self {
        Self {
            opts,
            running: Arc::new(AtomicBool::new(false)),
            warm: Arc::default(),
        }
    }

    /// Solves `problem`, within `deadline_s` wall seconds when given: the plan, or why
    /// there is none.
    pub fn solve(
        &self,
        problem: Scenario,
        deadline_s: Option<f64>,
    ) -> (Result<Plan, String>, SolveInfo) {
        let mut info = SolveInfo::default();
        let t0 = Instant::now();
        let outcome = match deadline_s {
            None => {
                let mut warm = take_warm(&self.warm);
                let r = engine::optimize_warm(&problem, &self.opts, &mut warm);
                put_warm(&self.warm, warm);
                r.map_err(|e| format!("solve failed: {e}"))
            }
            Some(deadline) => {
                if self.running.load(Ordering::SeqCst) {
                    info.status = "skipped".into();
                    return (
                        Err(
                            "the previous solve, abandoned at its deadline, is still running"
                                .into(),
                        ),
                        info,
                    );
                }
                let opts = SolveOptions {
                    time_limit_s: Some(deadline),
                    ..self.opts.clone()
                };
                let running = self.running.clone();
                running.store(true, Ordering::SeqCst);
                let (tx, rx) = std::sync::mpsc::channel();
                let sc = problem.clone();
                let warm_slot = self.warm.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name("aems-solve".into())
                        .spawn(move || {
                            let mut warm = take_warm(&warm_slot);
                            let r = engine::optimize_warm(&sc, &opts, &mut warm);
                            put_warm(&warm_slot, warm);
                            running.store(false, Ordering::SeqCst);
                            let _ = tx.send(r);
                        });
                if let Err(e) = spawned {
                    self.running.store(false, Ordering::SeqCst);
                    info.status = "error".into();
                    return (Err(format!("cannot start the solve: {e}")), info);
                }
                // The engine stops itself at the time limit; the margin only guards against
                // a solver that does not.
                let guard = Duration::from_secs_f64(deadline * 1.5 + 1.0);
                match rx.recv_timeout(guard) {
                    Err(_) => {
                        info.seconds = t0.elapsed().as_secs_f64();
                        info.status = "missed_deadline".into();
                        return (
                            Err(format!(
                                "solve missed its deadline of {deadline} s: still running after {:.3} s, abandoned",
                                info.seconds
                            )),
                            info,
                        );
                    }
                    Ok(r) => {
                        let elapsed = t0.elapsed().as_secs_f64();
                        match r {
                            Ok(o) if elapsed > deadline => {
                                info.seconds = elapsed;
                                info.status = "missed_deadline".into();
                                return (
                                    Err(format!(
                                        "solve missed its deadline of {deadline} s: took {elapsed:.3} s ({})",
                                        o.status
                                    )),
                                    info,
                                );
                            }
                            r => r.map_err(|e| format!("solve failed: {e}")),
                        }
                    }
                }
            }
        };
        info.seconds = t0.elapsed().as_secs_f64();
        let o = match outcome {
            Ok(o) => o,
            Err(e) => {
                info.status = "error".into();
                return (Err(e), info);
            }
        };
        info.status = o.status.as_str().into();
        match (o.status, o.schedule, o.figures) {
            (Status::Optimal | Status::TimeLimit, Some(schedule), Some(fig)) => (
                Ok(Plan {
                    problem,
                    schedule,
                    objective_yen: fig.objective_yen,
                    mip_gap: o.mip_gap,
                }),
                info,
            ),
            (status, _, _) => {
                let why = o.message.unwrap_or_default();
                let diag = o.diagnosis.map(|d| format!(" ({d})")).unwrap_or_default();
                (Err(format!("solve: {status}: {why}{diag}")), info)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_square(steps: usize) -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        Scenario::load(p).unwrap().slice(0..steps)
    }

    #[test]
    fn a_plan_knows_its_steps_and_a_deadline_is_kept() {
        let sc = gate_square(8);
        let solver = Solver::new(SolveOptions::default());
        let (plan, info) = solver.solve(sc.clone(), None);
        let plan = plan.unwrap();
        assert_eq!(info.status, "optimal");
        let at = |m: i64| sc.start + chrono::Duration::minutes(m);
        assert_eq!(plan.step_at(at(45)), Some(1));
        assert_eq!(plan.step_at(at(-1)), None);
        assert_eq!(plan.step_at(at(8 * 30)), None);
        assert_eq!(plan.planned_import_kw(0).len(), sc.grids.len());
        // A deadline of 0 s cannot be kept: no plan, and why.
        let (late, info) = solver.solve(sc, Some(0.0));
        assert!(late.unwrap_err().contains("deadline"), "{info:?}");
        assert_eq!(info.status, "missed_deadline");
    }
}
