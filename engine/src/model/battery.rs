//! Battery k:
//! - `ch ≤ charge_kw · u`, `dis ≤ discharge_kw · (1 − u)`
//! - `e[k,0] = initial_kwh`
//! - `e[k,t+1] = e[k,t] · (1 − self_discharge_per_hour · Δ) + (charge_efficiency · ch − dis / discharge_efficiency) · Δ`
//! - `min_kwh ≤ e[k,t] ≤ max_kwh` for t = 1…T, `e[k,T] ≥ terminal_kwh`
//!
//! - with a `power_curve` (extension): `ch ≤ charge_kw · (a_i + b_i · keep · e[k,t] / capacity_kwh)`
//!   and the same for `dis`, one cut per segment `i` of the (concave) curve: exact.
//!
//! It feeds `dis − ch` into its node; discharging costs `Δ · degradation_yen_per_kwh · dis`.

use good_lp::{variable, Expression};

use super::{Builder, Col, OnOff};
use crate::asset::Battery;

/// The variables of one battery.
#[derive(Debug, Clone)]
pub struct BatteryVars {
    /// `ch[k,t]`, kW.
    pub ch: Vec<Col>,
    /// `dis[k,t]`, kW.
    pub dis: Vec<Col>,
    /// `u[k,t]`: 1 when the battery may charge.
    pub u: Vec<Col>,
    /// `e[k,t]`, kWh, t = 0…T.
    pub e: Vec<Col>,
}

/// Adds battery `k`'s variables and constraints; `u` says how each `u[k,t]` enters.
pub fn add_battery(b: &mut Builder<'_>, k: &Battery, u: &[OnOff]) -> BatteryVars {
    let dt = b.dt;
    let steps = b.sc.steps;
    let ch = b.vars_upto(|_| k.charge_kw);
    let dis = b.vars_upto(|_| k.discharge_kw);
    let u: Vec<Col> = u.iter().map(|&kind| b.on_off(kind)).collect();
    // e[k,0] = initial_kwh; min_kwh ≤ e ≤ max_kwh for t ≥ 1; e[k,T] ≥ terminal_kwh.
    let mut e = vec![b.var(variable().min(k.initial_kwh).max(k.initial_kwh))];
    for t in 1..=steps {
        let min = if t == steps {
            k.min_kwh.max(k.terminal_kwh)
        } else {
            k.min_kwh
        };
        e.push(b.var(variable().min(min).max(k.max_kwh)));
    }
    let keep = 1.0 - k.self_discharge_per_hour * dt;
    for t in 0..steps {
        // ch ≤ charge_kw · u, dis ≤ discharge_kw · (1 − u)
        b.add((k.charge_kw * u[t].var).geq(ch[t].var));
        b.add((k.discharge_kw - k.discharge_kw * u[t].var).geq(dis[t].var));
        // energy recursion
        let mut next = Expression::default();
        next.add_mul(keep, e[t].var);
        next.add_mul(k.charge_efficiency * dt, ch[t].var);
        next.add_mul(-dt / k.discharge_efficiency, dis[t].var);
        b.add(next.eq(e[t + 1].var));
        // power_curve: the ratings × the curve's share at the step's starting charge.
        if let Some(curve) = &k.power_curve {
            for (a, slope) in curve.cuts() {
                let soc_coef = slope * keep / k.capacity_kwh;
                for (rated, x) in [(k.charge_kw, ch[t]), (k.discharge_kw, dis[t])] {
                    let mut limit = Expression::from(rated * a);
                    limit.add_mul(rated * soc_coef, e[t].var);
                    b.add(limit.geq(x.var));
                }
            }
        }

        b.inject(k.node, t, 1.0, dis[t]);
        b.inject(k.node, t, -1.0, ch[t]);
        b.cost(dt * k.degradation_yen_per_kwh, dis[t]);
    }
    BatteryVars { ch, dis, u, e }
}
