//! Japanese 30-minute demand charge of connection g:
//! `peak[g] ≥ mean_{t ∈ m ∩ horizon} imp[g,t]` for every 30-minute interval m, and
//! `peak[g] ≥ peak_so_far_kw`; it costs `demand_charge_yen_per_kw · (peak[g] − peak_so_far_kw)`.
//!
//! Extension for replanning mid-interval: when the horizon starts inside an interval, that
//! interval's mean counts the energy already imported in it as a known constant:
//! `peak ≥ (interval_import_so_far_kwh + Σ_t Δ · imp[g,t]) / (elapsed + n · Δ)`.

use good_lp::{variable, Expression};

use super::{Builder, Col};
use crate::asset::GridConnection;

/// Adds `peak[g]`, its interval constraints and the demand charge; returns `peak[g]`.
pub fn add_demand_charge(b: &mut Builder<'_>, g: &GridConnection, imp: &[Col]) -> Col {
    // peak[g] ≥ peak_so_far_kw, as the variable's lower bound.
    let peak = b.var(variable().min(g.peak_so_far_kw));
    let intervals = b.sc.demand_intervals();
    // A horizon has one interval more when it starts inside one; rows `0 ≤ peak[g]` (true
    // already by its bound) make up the difference, so that every re-plan of a rolling
    // horizon has the same rows and a controller's kept HiGHS instance takes it in place.
    for _ in intervals.len()..b.sc.most_demand_intervals() {
        b.add(Expression::default().leq(peak.var));
    }
    for m in intervals {
        let hours = m.elapsed_hours + m.steps.len() as f64 * b.dt;
        let mut mean = Expression::default();
        if m.elapsed_hours > 0.0 {
            mean += g.interval_import_so_far_kwh / hours;
        }
        for t in m.steps {
            mean.add_mul(b.dt / hours, imp[t].var);
        }
        b.add(mean.leq(peak.var));
    }
    b.cost(g.demand_charge_yen_per_kw, peak);
    b.objective -= g.demand_charge_yen_per_kw * g.peak_so_far_kw;
    peak
}
