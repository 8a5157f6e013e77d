//! HVAC unit h (one thermal zone, first-order RC model, exact zero-order-hold discretisation):
//! - `min_kw · on ≤ q ≤ max_kw · on`
//! - `a = exp(−Δ / (r_k_per_kw · c_kwh_per_k))`, `θ[h,0] = initial_temp_c`
//! - `θ[h,t+1] = a · θ[h,t] + (1 − a) · (outdoor_temp[t] + r_k_per_kw · (heat_gain_kw[t] − s · cop[t] · q[h,t]))`
//! - `comfort_low_c[t−1] − sl[h,t] ≤ θ[h,t] ≤ comfort_high_c[t−1] + sh[h,t]` for t = 1…T
//!
//! It draws `q` from its node; slack costs `Δ · comfort_penalty_yen_per_kh · (sl + sh)`.
//!
//! A unit with `min_kw = 0` gets no `on` variable: `0 ≤ q ≤ max_kw · on` with `on` free
//! allows exactly `0 ≤ q ≤ max_kw`, so the column and its two rows are left out and `on`
//! is read as `q > 0` (an `on` fixed off, as a polish fixes it, becomes `q ≤ 0`). The same
//! model with a fifth fewer columns and a quarter fewer rows on an all-VRF district.

use good_lp::{variable, Expression};

use super::{Builder, Col, OnOff};
use crate::asset::Hvac;

/// The variables of one HVAC unit and its zone.
#[derive(Debug, Clone)]
pub struct HvacVars {
    /// `q[h,t]`, electric kW.
    pub q: Vec<Col>,
    /// `on[h,t]`; empty for a unit with `min_kw = 0`, whose state is `q > 0`.
    pub on: Vec<Col>,
    /// `θ[h,t]`, °C, t = 0…T.
    pub theta: Vec<Col>,
    /// `sl[h,t]`, K below the band, for t = 1…T (index t−1).
    pub sl: Vec<Col>,
    /// `sh[h,t]`, K above the band, for t = 1…T (index t−1).
    pub sh: Vec<Col>,
}

/// Adds unit `h`'s variables and constraints; `on` says how each `on[h,t]` enters.
pub fn add_hvac(b: &mut Builder<'_>, h: &Hvac, on: &[OnOff]) -> HvacVars {
    let dt = b.dt;
    let steps = b.sc.steps;
    let free_running = h.min_kw <= 0.0;
    let q = b.vars_upto(|t| {
        if free_running && on[t] == OnOff::Fixed(false) {
            0.0
        } else {
            h.max_kw
        }
    });
    let on: Vec<Col> = if free_running {
        Vec::new()
    } else {
        on.iter().map(|&kind| b.on_off(kind)).collect()
    };
    let mut theta = vec![b.var(variable().min(h.initial_temp_c).max(h.initial_temp_c))];
    for _ in 1..=steps {
        theta.push(b.var(variable()));
    }
    let sl = b.vars_upto(|_| f64::INFINITY);
    let sh = b.vars_upto(|_| f64::INFINITY);
    let a = h.decay(dt);
    let s = h.mode.sign();
    for t in 0..steps {
        if !free_running {
            // min_kw · on ≤ q ≤ max_kw · on
            b.add((h.min_kw * on[t].var).leq(q[t].var));
            b.add((h.max_kw * on[t].var).geq(q[t].var));
        }
        // θ[t+1] = a θ[t] + (1 − a)(out[t] + R (gain[t] − s cop[t] q[t]))
        let mut next = Expression::default();
        next.add_mul(a, theta[t].var);
        next += (1.0 - a) * (h.outdoor_temp_c[t] + h.r_k_per_kw * h.heat_gain_kw[t]);
        next.add_mul(-(1.0 - a) * h.r_k_per_kw * s * h.cop[t], q[t].var);
        b.add(next.eq(theta[t + 1].var));
        // band of boundary t+1 is the band of step t
        b.add((theta[t + 1].var + sl[t].var).geq(h.comfort_low_c[t]));
        b.add((theta[t + 1].var - sh[t].var).leq(h.comfort_high_c[t]));

        b.inject(h.node, t, -1.0, q[t]);
        b.cost(dt * h.comfort_penalty_yen_per_kh, sl[t]);
        b.cost(dt * h.comfort_penalty_yen_per_kh, sh[t]);
    }
    HvacVars {
        q,
        on,
        theta,
        sl,
        sh,
    }
}

impl HvacVars {
    /// `on[h,t]`'s value in `x`: the column's, or for a unit without one (`min_kw = 0`)
    /// 1 when it draws more than `tol` kW, else 0.
    pub fn on_value(&self, t: usize, x: &[f64], tol: f64) -> f64 {
        match self.on.get(t) {
            Some(col) => col.value(x),
            None => f64::from(u8::from(self.q[t].value(x) > tol)),
        }
    }
}
