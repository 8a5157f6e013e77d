//! Unserved load (extension, `docs/extensions.md`, *Resilience*). At every step where a
//! grid connection is out, each class c of node n's load may go unserved:
//! `0 ≤ shed[n,c,t] ≤ class_load[n,c,t]`, which enters the node's balance as power it no
//! longer needs and costs `Δ · value_of_lost_load[n,c] · shed[n,c,t]`.
//!
//! Shedding is continuous: a class is a building's many circuits (its lighting, its
//! elevators), and shedding part of a class is switching off some of them. Because the
//! values of lost load fall by class, a node sheds its classes in priority order. At steps
//! with every connection up there is no such variable: the model is the spec's.

use good_lp::variable;

use super::{Builder, Col};
use crate::asset::ClassKind;

/// The unserved load of one node: per step, per class ([`ClassKind::ALL`] order), the
/// variable where shedding is possible.
#[derive(Debug, Clone, Default)]
pub struct UnservedVars {
    /// `shed[n,c,t]`, kW.
    pub shed: Vec<[Option<Col>; 4]>,
}

/// Adds node `n`'s unserved-load variables, their balance terms and their cost.
pub fn add_unserved(b: &mut Builder<'_>, n: usize) -> UnservedVars {
    let sc = b.sc;
    let node = &sc.nodes[n];
    let dt = b.dt;
    let mut shed = Vec::with_capacity(sc.steps);
    for t in 0..sc.steps {
        let mut here: [Option<Col>; 4] = [None; 4];
        if sc.emergency_at(t) {
            let split = node.classes.split_kw(node.load_kw[t], t);
            for kind in ClassKind::ALL {
                let kw = split[kind.index()];
                if kw <= 0.0 {
                    continue;
                }
                let col = b.var(variable().min(0.0).max(kw));
                b.inject(n, t, 1.0, col);
                b.cost(dt * node.classes.value_yen_per_kwh(kind), col);
                here[kind.index()] = Some(col);
            }
        }
        shed.push(here);
    }
    UnservedVars { shed }
}
