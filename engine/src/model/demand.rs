//! Japanese 30-minute demand charge of connection g:
//! `peak[g] ≥ mean_{t ∈ m ∩ horizon} imp[g,t]` for every 30-minute interval m, and
//! `peak[g] ≥ peak_so_far_kw`; it costs `demand_charge_yen_per_kw · (peak[g] − peak_so_far_kw)`.

use good_lp::{variable, Expression};

use super::{Builder, Col};
use crate::asset::GridConnection;

/// Adds `peak[g]`, its interval constraints and the demand charge; returns `peak[g]`.
pub fn add_demand_charge(b: &mut Builder<'_>, g: &GridConnection, imp: &[Col]) -> Col {
    // peak[g] ≥ peak_so_far_kw, as the variable's lower bound.
    let peak = b.var(variable().min(g.peak_so_far_kw));
    for m in b.sc.demand_intervals() {
        let n = m.len() as f64;
        let mut mean = Expression::default();
        for t in m {
            mean.add_mul(1.0 / n, imp[t].var);
        }
        b.add(mean.leq(peak.var));
    }
    b.cost(g.demand_charge_yen_per_kw, peak);
    b.objective -= g.demand_charge_yen_per_kw * g.peak_so_far_kw;
    peak
}
