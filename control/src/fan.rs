//! Forecast scenarios → one plan (`--mpc scenario`): the stochastic MPC.
//!
//! A point forecast throws away what the forecaster knows of its own error. Here the
//! problem is solved over `N` scenarios of the loads and PV at once: the district is copied
//! once per scenario, each copy with its own series, all copies in one MILP whose objective
//! is their sum (equal weights), and every unit's first-step decision shared by all copies
//! ([`engine::FirstStepShared`]: what is done now cannot depend on which scenario comes
//! true; the later steps are each scenario's recourse). The first step is then the one that
//! does best on average over the spread — e.g. a battery discharging less than the point
//! forecast's load when an over-estimate would export the energy unpaid.
//!
//! The scenarios are **analogs of the forecaster's own errors** ([`Errors`]): scenario `d`
//! is the point forecast plus the error path of the forecast issued `d` days earlier at the
//! same time of day, lead by lead, as measured since (the error's daily shape and its
//! correlation across leads are kept; only what was measured by now is used: with a horizon
//! of a day or less, every lead of a forecast issued a day or more ago has come true).
//! Until a day of past forecasts exists, the plan is deterministic.

use std::collections::BTreeMap;

use engine::{FirstStepShared, Scenario, Schedule};

/// One scenario's exogenous series on the data's rows (leads 0, 1, … from the origin).
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Error added to each node's load, kW, per lead.
    pub load_err_kw: Vec<Vec<f64>>,
    /// Error added to each PV array's available power, kW, per lead.
    pub pv_err_kw: Vec<Vec<f64>>,
}

impl Branch {
    /// No error anywhere (a perfect forecaster's analogs): nothing for scenarios to add.
    pub fn is_zero(&self) -> bool {
        self.load_err_kw
            .iter()
            .chain(&self.pv_err_kw)
            .flatten()
            .all(|e| *e == 0.0)
    }
}

/// One issued forecast: loads per node and PV per array, each per lead.
type Issued = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The point forecasts a controller issued, kept to measure their errors.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    /// Origin row → (loads per node, PV per array) as forecast, per lead.
    issued: BTreeMap<usize, Issued>,
}

impl Errors {
    /// Records the forecast issued at data row `row` (its window starts there).
    pub fn record(&mut self, row: usize, forecast: &Scenario) {
        self.issued.insert(
            row,
            (
                forecast.nodes.iter().map(|n| n.load_kw.clone()).collect(),
                forecast
                    .pvs
                    .iter()
                    .map(|p| p.available_kw.clone())
                    .collect(),
            ),
        );
    }

    /// Up to `n` error paths for a forecast issued at `row` over `rows` rows: those of the
    /// forecasts issued 1, 2, … days before (on `data`'s step), measured against `data`
    /// at rows before `row` only. Forecasts older than `n` days are forgotten.
    pub fn branches(&mut self, data: &Scenario, row: usize, rows: usize, n: usize) -> Vec<Branch> {
        let per_day = (24 * 60 / data.step_minutes.max(1)) as usize;
        let oldest = row.saturating_sub(per_day * (n + 1));
        self.issued = self.issued.split_off(&oldest);
        let mut out = Vec::new();
        for d in 1..=n {
            let Some(origin) = row.checked_sub(d * per_day) else {
                break;
            };
            let Some((loads, pvs)) = self.issued.get(&origin) else {
                continue;
            };
            // Lead h's error, when row origin + h has been measured (is before `row`).
            let err = |issued: &[f64], actual: &[f64]| -> Vec<f64> {
                (0..rows)
                    .map(|h| {
                        let r = origin + h;
                        match (issued.get(h), actual.get(r)) {
                            (Some(f), Some(a)) if r < row => a - f,
                            _ => 0.0,
                        }
                    })
                    .collect()
            };
            out.push(Branch {
                load_err_kw: loads
                    .iter()
                    .zip(&data.nodes)
                    .map(|(f, node)| err(f, &node.load_kw))
                    .collect(),
                pv_err_kw: pvs
                    .iter()
                    .zip(&data.pvs)
                    .map(|(f, pv)| err(f, &pv.available_kw))
                    .collect(),
            });
        }
        out
    }
}

/// The problem over the scenarios: `base` (a plan's problem, on the plan's step) copied
/// once per branch, copy 0 keeping the base's ids. Plan step `t` takes lead
/// `(skip + t) / per` of a branch (`per` plan steps per data row, the plan starting `skip`
/// steps into its first row). Loads and PV stay ≥ 0.
pub fn fan(base: &Scenario, branches: &[Branch], per: usize, skip: usize) -> Scenario {
    let mut sc = base.clone();
    sc.nodes.clear();
    sc.grids.clear();
    sc.pvs.clear();
    sc.batteries.clear();
    sc.hvacs.clear();
    sc.generators.clear();
    sc.lines.clear();
    let lead = |t: usize| (skip + t) / per.max(1);
    let shifted = |v: &[f64], err: Option<&Vec<f64>>| -> Vec<f64> {
        v.iter()
            .enumerate()
            .map(|(t, x)| {
                let e = err.and_then(|e| e.get(lead(t))).copied().unwrap_or(0.0);
                (x + e).max(0.0)
            })
            .collect()
    };
    let mut shared = FirstStepShared {
        batteries: vec![Vec::new(); base.batteries.len()],
        hvacs: vec![Vec::new(); base.hvacs.len()],
        generators: vec![Vec::new(); base.generators.len()],
    };
    for (i, b) in branches.iter().enumerate() {
        let id = |s: &str| {
            if i == 0 {
                s.to_string()
            } else {
                format!("{s}~{i}")
            }
        };
        let n0 = sc.nodes.len();
        for (k, n) in base.nodes.iter().enumerate() {
            let mut n = n.clone();
            n.load_kw = shifted(&n.load_kw, b.load_err_kw.get(k));
            n.id = id(&n.id);
            sc.nodes.push(n);
        }
        for g in &base.grids {
            let mut g = g.clone();
            g.id = id(&g.id);
            g.node += n0;
            sc.grids.push(g);
        }
        for (k, p) in base.pvs.iter().enumerate() {
            let mut p = p.clone();
            p.available_kw = shifted(&p.available_kw, b.pv_err_kw.get(k));
            p.id = id(&p.id);
            p.node += n0;
            sc.pvs.push(p);
        }
        for (k, a) in base.batteries.iter().enumerate() {
            let mut a = a.clone();
            a.id = id(&a.id);
            a.node += n0;
            shared.batteries[k].push(sc.batteries.len());
            sc.batteries.push(a);
        }
        for (k, a) in base.hvacs.iter().enumerate() {
            let mut a = a.clone();
            a.id = id(&a.id);
            a.node += n0;
            shared.hvacs[k].push(sc.hvacs.len());
            sc.hvacs.push(a);
        }
        for (k, a) in base.generators.iter().enumerate() {
            let mut a = a.clone();
            a.id = id(&a.id);
            a.node += n0;
            shared.generators[k].push(sc.generators.len());
            sc.generators.push(a);
        }
        for l in &base.lines {
            let mut l = l.clone();
            l.id = id(&l.id);
            l.from += n0;
            l.to += n0;
            sc.lines.push(l);
        }
    }
    sc.first_step_shared = shared;
    sc
}

/// Copy 0's part of a schedule of [`fan`]'s problem: the schedule of `base`'s units (the
/// first step is every copy's; the later steps are scenario 0's recourse).
pub fn first_copy(mut s: Schedule, base: &Scenario) -> Schedule {
    s.grids.truncate(base.grids.len());
    s.pvs.truncate(base.pvs.len());
    s.batteries.truncate(base.batteries.len());
    s.hvacs.truncate(base.hvacs.len());
    s.generators.truncate(base.generators.len());
    s.lines.truncate(base.lines.len());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_square(steps: usize) -> Scenario {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        let f = engine::ScenarioFile::read(&p).unwrap();
        f.window(f.table().times()[0], steps).unwrap()
    }

    /// Three scenarios of the loads, one plan: every unit's first step is the same in every
    /// scenario, the later steps differ where the loads do.
    #[test]
    fn the_first_step_is_the_same_in_every_scenario() {
        let base = gate_square(12);
        let branch = |scale: f64| Branch {
            load_err_kw: base
                .nodes
                .iter()
                .map(|n| n.load_kw.iter().map(|l| (scale - 1.0) * l).collect())
                .collect(),
            pv_err_kw: vec![],
        };
        let branches = [branch(0.7), branch(1.0), branch(1.4)];
        let sc = fan(&base, &branches, 1, 0);
        assert_eq!(sc.batteries.len(), 3 * base.batteries.len());
        let out = engine::optimize(&sc, &engine::SolveOptions::default()).unwrap();
        let s = out.schedule.expect("a schedule");
        let nb = base.batteries.len();
        let mut later_differ = false;
        for k in 0..nb {
            let net = |i: usize, t: usize| {
                let b = &s.batteries[k + i * nb];
                b.discharge_kw[t] - b.charge_kw[t]
            };
            for i in 1..3 {
                assert!(
                    (net(i, 0) - net(0, 0)).abs() < 1e-6,
                    "{}: scenario {i} starts at {} kW, scenario 0 at {} kW",
                    base.batteries[k].id,
                    net(i, 0),
                    net(0, 0)
                );
                later_differ |= (1..12).any(|t| (net(i, t) - net(0, t)).abs() > 1e-3);
            }
        }
        for h in 0..base.hvacs.len() {
            let q = |i: usize| s.hvacs[h + i * base.hvacs.len()].power_kw[0];
            assert!((q(1) - q(0)).abs() < 1e-6 && (q(2) - q(0)).abs() < 1e-6);
        }
        assert!(
            later_differ,
            "the recourse never differed between scenarios"
        );
        let own = first_copy(s, &base);
        assert_eq!(own.batteries.len(), nb);
    }
}
