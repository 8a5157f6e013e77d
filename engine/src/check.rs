//! Checks a schedule against the physics of the model after solving: node balance,
//! battery energy recursion, zone temperature recursion, bounds, on/off consistency, and no
//! simultaneous charge and discharge. Anything off by more than the tolerance is an error,
//! never a silent result.

use std::fmt;

use crate::scenario::Scenario;
use crate::schedule::Schedule;

/// The tolerance of [`check`] used by the engine: 1e-6 (kW, kWh, °C).
pub const TOLERANCE: f64 = 1e-6;

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// What is broken, naming the asset and step.
    pub what: String,
    /// By how much.
    pub amount: f64,
}

/// Every rule a schedule breaks, worst first.
#[derive(Debug, Clone, PartialEq)]
pub struct PhysicsViolations(pub Vec<Violation>);

impl fmt::Display for PhysicsViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schedule breaks the physics in {} place(s)",
            self.0.len()
        )?;
        for v in self.0.iter().take(5) {
            write!(f, "; {} (by {:.3e})", v.what, v.amount)?;
        }
        if self.0.len() > 5 {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

impl std::error::Error for PhysicsViolations {}

struct Checker {
    tol: f64,
    found: Vec<Violation>,
}

impl Checker {
    /// Records a violation when `excess > tol`.
    fn over(&mut self, excess: f64, what: impl FnOnce() -> String) {
        if excess > self.tol || excess.is_nan() {
            self.found.push(Violation {
                what: what(),
                amount: excess,
            });
        }
    }
    /// `lo ≤ x ≤ hi` within the tolerance.
    fn within(&mut self, x: f64, lo: f64, hi: f64, what: impl Fn() -> String) {
        self.over(lo - x, &what);
        self.over(x - hi, &what);
    }
}

/// Checks `s` against `sc` with tolerance `tol`.
pub fn check(sc: &Scenario, s: &Schedule, tol: f64) -> Result<(), PhysicsViolations> {
    let mut c = Checker {
        tol,
        found: Vec::new(),
    };
    let dt = sc.step_hours();
    let steps = sc.steps;
    for (n, node) in sc.nodes.iter().enumerate() {
        for t in 0..steps {
            let r = s.balance_residual_kw(sc, n, t);
            c.over(r.abs(), || {
                format!("node '{}' balance at step {t}", node.id)
            });
        }
    }
    for (n, node) in sc.nodes.iter().enumerate() {
        for t in 0..steps {
            let shed = s.unserved_kw(n, t);
            let split = if sc.emergency_at(t) {
                node.classes.split_kw(node.load_kw[t], t)
            } else {
                [0.0; 4]
            };
            for kind in crate::asset::ClassKind::ALL {
                let i = kind.index();
                c.within(shed[i], 0.0, split[i], || {
                    format!(
                        "node '{}' unserved {} load at step {t} outside [0, the class's load] (none unless a grid connection is out)",
                        node.id,
                        kind.as_str()
                    )
                });
            }
        }
    }
    for (gi, (g, gs)) in sc.grids.iter().zip(&s.grids).enumerate() {
        for t in 0..steps {
            if sc.grid_out(gi, t) {
                c.over(gs.import_kw[t].abs().max(gs.export_kw[t].abs()), || {
                    format!("grid '{}' trades at step {t}, during its outage", g.id)
                });
            }
            c.within(gs.import_kw[t], 0.0, g.import_limit_kw, || {
                format!(
                    "grid '{}' import at step {t} outside [0, import_limit_kw]",
                    g.id
                )
            });
            c.within(gs.export_kw[t], 0.0, g.export_limit_kw, || {
                format!(
                    "grid '{}' export at step {t} outside [0, export_limit_kw]",
                    g.id
                )
            });
        }
    }
    for (p, ps) in sc.pvs.iter().zip(&s.pvs) {
        for t in 0..steps {
            let lo = if p.curtailable || sc.emergency_at(t) {
                0.0
            } else {
                p.available_kw[t]
            };
            c.within(ps.used_kw[t], lo, p.available_kw[t], || {
                format!("pv '{}' power at step {t} outside its allowed range", p.id)
            });
        }
    }
    for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
        c.over((ks.energy_kwh[0] - k.initial_kwh).abs(), || {
            format!("battery '{}' initial energy", k.id)
        });
        let law = k.model_law();
        for t in 0..steps {
            let (ch, dis) = (ks.charge_kw[t], ks.discharge_kw[t]);
            c.within(ch, 0.0, k.charge_kw, || {
                format!(
                    "battery '{}' charge at step {t} outside [0, charge_kw]",
                    k.id
                )
            });
            c.within(dis, 0.0, k.discharge_kw, || {
                format!(
                    "battery '{}' discharge at step {t} outside [0, discharge_kw]",
                    k.id
                )
            });
            c.over(ch.min(dis), || {
                format!("battery '{}' charges and discharges at step {t}", k.id)
            });
            let share = law.power_share(ks.energy_kwh[t], dt);
            c.over(ch - k.charge_kw * share, || {
                format!(
                    "battery '{}' charge at step {t} above its power curve",
                    k.id
                )
            });
            c.over(dis - k.discharge_kw * share, || {
                format!(
                    "battery '{}' discharge at step {t} above its power curve",
                    k.id
                )
            });
            let expected = law.next_energy_kwh(ks.energy_kwh[t], ch, dis, dt);
            c.over((ks.energy_kwh[t + 1] - expected).abs(), || {
                format!("battery '{}' energy recursion at step {t}", k.id)
            });
            c.within(ks.energy_kwh[t + 1], k.min_kwh, k.max_kwh, || {
                format!(
                    "battery '{}' energy at boundary {} outside [min_kwh, max_kwh]",
                    k.id,
                    t + 1
                )
            });
        }
        c.over(k.terminal_kwh - ks.energy_kwh[steps], || {
            format!("battery '{}' ends below terminal_kwh", k.id)
        });
    }
    for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
        c.over((hs.temp_c[0] - h.initial_temp_c).abs(), || {
            format!("hvac '{}' initial temperature", h.id)
        });
        let zone = h.zone();
        for t in 0..steps {
            let q = hs.power_kw[t];
            let (lo, hi) = if hs.on[t] {
                (h.min_kw, h.max_kw)
            } else {
                (0.0, 0.0)
            };
            c.within(q, lo, hi, || {
                format!("hvac '{}' power at step {t} outside its on/off range", h.id)
            });
            let expected = zone.next_temp_c(hs.temp_c[t], q, &h.conditions(t), dt);
            c.over((hs.temp_c[t + 1] - expected).abs(), || {
                format!("hvac '{}' temperature recursion at step {t}", h.id)
            });
        }
    }
    for (j, js) in sc.generators.iter().zip(&s.generators) {
        let mut fuel = j.fuel.map(|f| f.initial_kwh);
        for t in 0..steps {
            let emergency = sc.emergency_at(t);
            let before = if t == 0 { j.initially_on } else { js.on[t - 1] };
            if js.on[t] && j.emergency_only && !emergency {
                c.over(1.0, || {
                    format!(
                        "emergency generator '{}' runs at step {t}, with no grid connection out",
                        j.id
                    )
                });
            }
            if js.on[t] && !before && emergency && !j.black_start {
                c.over(1.0, || {
                    format!(
                        "generator '{}' starts at step {t} without the grid and has no black start",
                        j.id
                    )
                });
            }
            if let (Some(f), Some(stock)) = (fuel.as_mut(), j.fuel.as_ref()) {
                let burn = physics::fuel::fuel_kw(js.power_kw[t], j.efficiency);
                *f = stock.tank.next_kwh(*f, burn, dt);
                let left = *f;
                c.over(-left, || {
                    format!(
                        "generator '{}' burns more fuel than it has by step {t}",
                        j.id
                    )
                });
            }
            let (lo, hi) = if js.on[t] {
                (j.min_kw, j.max_kw)
            } else {
                (0.0, 0.0)
            };
            c.within(js.power_kw[t], lo, hi, || {
                format!(
                    "generator '{}' power at step {t} outside its on/off range",
                    j.id
                )
            });
        }
    }
    for (l, ls) in sc.lines.iter().zip(&s.lines) {
        for t in 0..steps {
            if l.emergency_only && !sc.emergency_at(t) {
                c.over(ls.fwd_kw[t].max(ls.rev_kw[t]), || {
                    format!("emergency line '{}' carries power at step {t}, with no grid connection out", l.id)
                });
            }
            c.within(ls.fwd_kw[t], 0.0, l.capacity_kw, || {
                format!(
                    "line '{}' forward flow at step {t} outside [0, capacity_kw]",
                    l.id
                )
            });
            c.within(ls.rev_kw[t], 0.0, l.capacity_kw, || {
                format!(
                    "line '{}' reverse flow at step {t} outside [0, capacity_kw]",
                    l.id
                )
            });
        }
    }
    if c.found.is_empty() {
        Ok(())
    } else {
        c.found.sort_by(|a, b| b.amount.total_cmp(&a.amount));
        Err(PhysicsViolations(c.found))
    }
}
