//! Grid connection g: `imp[g,t] ≤ import_limit_kw`, `exp[g,t] ≤ export_limit_kw`; it feeds
//! `imp − exp` into its node and costs `Δ · (import_price · imp − export_price · exp)`;
//! imports emit `Δ · carbon_intensity · imp`.
//!
//! Extension (`docs/extensions.md`, *Resilience*): at a step when the connection is out
//! (an `[[outage]]` overlaps it), `imp = exp = 0`.
//!
//! Extension (*Import caps*): at a step with an import cap, `imp[g,t] − over[g,t] ≤ cap[t]`
//! with `over[g,t] ≥ 0` costing `Δ · IMPORT_CAP_PENALTY_YEN_PER_KWH · over[g,t]`.

use good_lp::variable;

use super::{Builder, Col};
use crate::asset::grid::IMPORT_CAP_PENALTY_YEN_PER_KWH;
use crate::asset::GridConnection;

/// The variables of one grid connection.
#[derive(Debug, Clone)]
pub struct GridVars {
    /// `imp[g,t]`, kW.
    pub imp: Vec<Col>,
    /// `exp[g,t]`, kW.
    pub exp: Vec<Col>,
    /// `peak[g]`, kW (added by [`super::demand::add_demand_charge`]).
    pub peak: Option<Col>,
}

/// Adds connection `g` (number `index`)'s variables, node injection, energy cost and emissions.
pub fn add_grid(b: &mut Builder<'_>, index: usize, g: &GridConnection) -> GridVars {
    let sc = b.sc;
    let up = |t: usize, limit: f64| if sc.grid_out(index, t) { 0.0 } else { limit };
    let imp = b.vars_upto(|t| up(t, g.import_limit_kw));
    let exp = b.vars_upto(|t| up(t, g.export_limit_kw));
    let dt = b.dt;
    for t in 0..b.sc.steps {
        b.inject(g.node, t, 1.0, imp[t]);
        b.inject(g.node, t, -1.0, exp[t]);
        b.cost(dt * g.import_price_yen_per_kwh[t], imp[t]);
        b.cost(-dt * g.export_price_yen_per_kwh[t], exp[t]);
        b.emit(dt * g.carbon_intensity_kg_per_kwh[t], imp[t]);
        if let Some(cap) = g.import_cap_at(t) {
            // imp[g,t] − over[g,t] ≤ cap[t]
            let over = b.var(variable().min(0.0));
            b.add((imp[t].var - over.var).leq(cap.max(0.0)));
            b.cost(dt * IMPORT_CAP_PENALTY_YEN_PER_KWH, over);
        }
    }
    GridVars {
        imp,
        exp,
        peak: None,
    }
}
