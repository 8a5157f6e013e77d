//! Generator j:
//! - `min_kw · w ≤ p ≤ max_kw · w`
//! - `su[j,t] ≥ w[j,t] − w[j,t−1]`, with `w[j,−1] = initially_on`
//!
//! It feeds `p` into its node; it costs `Δ · fuel_price / efficiency · p` plus
//! `startup_cost_yen · su`, and emits `Δ · fuel_carbon / efficiency · p`.
//!
//! Extension (`docs/extensions.md`, *Resilience*), at the steps where a grid connection is
//! out ("emergency steps"):
//! - `emergency_only`: `w[j,t] = 0` at every other step;
//! - without `black_start`: `w[j,t] ≤ w[j,t−1]` at emergency steps (no start without the
//!   grid; a running engine keeps running);
//! - a fuel stock: `fuel[j,0] = fuel_stock`,
//!   `fuel[j,t+1] ≤ fuel[j,t] + Δ · (refuel_kwh_per_h − p[j,t] / efficiency)`,
//!   `0 ≤ fuel[j,t+1] ≤ fuel_capacity` — exactly the tank's law
//!   ([`physics::FuelTank::next_kwh`], the largest stock reachable), as an inequality so
//!   that a full tank need not refuel.

use good_lp::variable;

use super::{Builder, Col, OnOff};
use crate::asset::Generator;

/// The variables of one generator.
#[derive(Debug, Clone)]
pub struct GeneratorVars {
    /// `p[j,t]`, kW.
    pub p: Vec<Col>,
    /// `w[j,t]`: 1 when running.
    pub w: Vec<Col>,
    /// `su[j,t]`: start-up indicator.
    pub su: Vec<Col>,
    /// `fuel[j,t]`, t = 0…T, kWh of fuel (empty without a fuel stock).
    pub fuel: Vec<Col>,
}

/// Adds generator `j`'s variables and constraints; `w` says how each `w[j,t]` enters.
pub fn add_generator(b: &mut Builder<'_>, j: &Generator, w: &[OnOff]) -> GeneratorVars {
    let dt = b.dt;
    let p = b.vars_upto(|_| j.max_kw);
    let w: Vec<Col> = w.iter().map(|&kind| b.on_off(kind)).collect();
    let su: Vec<Col> = (0..b.sc.steps)
        .map(|_| b.var(variable().min(0.0)))
        .collect();
    let initially = if j.initially_on { 1.0 } else { 0.0 };
    let sc = b.sc;
    for t in 0..sc.steps {
        let emergency = sc.emergency_at(t);
        if j.emergency_only && !emergency {
            // w[j,t] = 0 outside emergencies
            b.add((1.0 * w[t].var).leq(0.0));
        }
        if !j.black_start && emergency {
            // w[j,t] ≤ w[j,t−1]: no start without the grid
            if t == 0 {
                b.add((1.0 * w[0].var).leq(initially));
            } else {
                b.add((w[t].var - w[t - 1].var).leq(0.0));
            }
        }
    }
    let fuel = match &j.fuel {
        None => Vec::new(),
        Some(stock) => {
            let f0 = b.var(variable().min(stock.initial_kwh).max(stock.initial_kwh));
            let mut fuel = vec![f0];
            for t in 0..sc.steps {
                let next = b.var(variable().min(0.0).max(stock.tank.capacity_kwh));
                // fuel[t+1] ≤ fuel[t] + Δ · (refuel − p / efficiency)
                b.add(
                    (next.var - fuel[t].var + (dt / j.efficiency) * p[t].var)
                        .leq(dt * stock.tank.refuel_kwh_per_h),
                );
                fuel.push(next);
            }
            fuel
        }
    };
    for t in 0..b.sc.steps {
        // min_kw · w ≤ p ≤ max_kw · w
        b.add((j.min_kw * w[t].var).leq(p[t].var));
        b.add((j.max_kw * w[t].var).geq(p[t].var));
        // su[t] ≥ w[t] − w[t−1]
        if t == 0 {
            b.add((su[0].var - w[0].var).geq(-initially));
        } else {
            b.add((su[t].var - w[t].var + w[t - 1].var).geq(0.0));
        }
        b.inject(j.node, t, 1.0, p[t]);
        b.cost(dt * j.fuel_price_yen_per_kwh / j.efficiency, p[t]);
        b.cost(j.startup_cost_yen, su[t]);
        b.emit(dt * j.fuel_carbon_kg_per_kwh / j.efficiency, p[t]);
    }
    GeneratorVars { p, w, su, fuel }
}
