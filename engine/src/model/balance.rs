//! Node balance, for every node n and step t: the power its grid connections, PV,
//! batteries, generators and lines bring in, less its HVAC power, equals its load.
//! Elastic (`+ s⁺ − s⁻`) when diagnosing an infeasible scenario.

use good_lp::{variable, Expression};

use super::{Builder, Col};

/// Elastic balance slack per node and step.
#[derive(Debug, Clone)]
pub struct SlackVars {
    /// `s⁺[n][t]`: power that had to be added, kW.
    pub plus: Vec<Vec<Col>>,
    /// `s⁻[n][t]`: power that had to be removed, kW.
    pub minus: Vec<Vec<Col>>,
}

impl SlackVars {
    /// Σ (s⁺ + s⁻).
    pub fn total(&self) -> Expression {
        let mut sum = Expression::default();
        for col in self.plus.iter().chain(&self.minus).flatten() {
            sum.add_mul(1.0, col.var);
        }
        sum
    }
}

/// Closes the balance of every node and step; with `elastic`, adds and returns the slack.
pub fn add_node_balance(b: &mut Builder<'_>, elastic: bool) -> Option<SlackVars> {
    let nodes = b.sc.nodes.len();
    let steps = b.sc.steps;
    let mut slack = elastic.then(|| SlackVars {
        plus: Vec::with_capacity(nodes),
        minus: Vec::with_capacity(nodes),
    });
    let injection = std::mem::take(&mut b.injection);
    for (n, per_step) in injection.into_iter().enumerate() {
        let mut plus = Vec::new();
        let mut minus = Vec::new();
        for (t, mut inflow) in per_step.into_iter().enumerate() {
            if slack.is_some() {
                let sp = b.var(variable().min(0.0));
                let sm = b.var(variable().min(0.0));
                inflow.add_mul(1.0, sp.var);
                inflow.add_mul(-1.0, sm.var);
                plus.push(sp);
                minus.push(sm);
            }
            let load = b.sc.nodes[n].load_kw[t];
            b.add(inflow.eq(load));
        }
        if let Some(s) = slack.as_mut() {
            s.plus.push(plus);
            s.minus.push(minus);
        }
        debug_assert_eq!(steps, b.sc.nodes[n].load_kw.len());
    }
    slack
}
