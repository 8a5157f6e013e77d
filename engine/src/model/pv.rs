//! PV array p: `pv[p,t] ≤ available[p,t]`, equal to it when not curtailable; it feeds
//! `pv` into its node and curtailment costs `Δ · curtail_penalty · (available − pv)`.
//!
//! Extension (*Resilience*): at a step when a grid connection is out every array may be
//! curtailed — an islanded district's inverters follow its grid-forming units, and one
//! that cannot would trip (anti-islanding) rather than push power nowhere.

use good_lp::variable;

use super::{Builder, Col};
use crate::asset::PvArray;

/// The variables of one PV array.
#[derive(Debug, Clone)]
pub struct PvVars {
    /// `pv[p,t]`, kW used.
    pub pv: Vec<Col>,
}

/// Adds array `p`'s variables, node injection and curtailment penalty.
pub fn add_pv(b: &mut Builder<'_>, p: &PvArray) -> PvVars {
    let dt = b.dt;
    let mut pv = Vec::with_capacity(b.sc.steps);
    for t in 0..b.sc.steps {
        let avail = p.available_kw[t];
        let min = if p.curtailable || b.sc.emergency_at(t) {
            0.0
        } else {
            avail
        };
        let col = b.var(variable().min(min).max(avail));
        b.inject(p.node, t, 1.0, col);
        // Δ · penalty · (available − pv)
        b.objective += dt * p.curtail_penalty_yen_per_kwh * avail;
        b.cost(-dt * p.curtail_penalty_yen_per_kwh, col);
        pv.push(col);
    }
    PvVars { pv }
}
