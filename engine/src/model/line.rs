//! Line l from a(l) to b(l): `fwd[l,t]`, `rev[l,t]` ≤ `capacity_kw`. Node a sends `fwd` and
//! receives `(1 − loss_fraction) · rev`; node b receives `(1 − loss_fraction) · fwd` and
//! sends `rev`.
//!
//! Extension: an `emergency_only` line carries nothing at steps when no grid connection is
//! out.

use super::{Builder, Col};
use crate::asset::Line;

/// The variables of one line.
#[derive(Debug, Clone)]
pub struct LineVars {
    /// `fwd[l,t]`, kW sent a → b.
    pub fwd: Vec<Col>,
    /// `rev[l,t]`, kW sent b → a.
    pub rev: Vec<Col>,
}

/// Adds line `l`'s flows and their terms in both nodes' balance.
pub fn add_line(b: &mut Builder<'_>, l: &Line) -> LineVars {
    let sc = b.sc;
    let cap = |t: usize| {
        if l.emergency_only && !sc.emergency_at(t) {
            0.0
        } else {
            l.capacity_kw
        }
    };
    let fwd = b.vars_upto(cap);
    let rev = b.vars_upto(cap);
    let kept = 1.0 - l.loss_fraction;
    for t in 0..b.sc.steps {
        b.inject(l.from, t, -1.0, fwd[t]);
        b.inject(l.from, t, kept, rev[t]);
        b.inject(l.to, t, kept, fwd[t]);
        b.inject(l.to, t, -1.0, rev[t]);
    }
    LineVars { fwd, rev }
}
