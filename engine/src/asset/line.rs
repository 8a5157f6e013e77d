//! `[[line]]`: a private line between two nodes, usable in both directions.

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::Resolver;

/// A line `from → to`. Flow in each direction is at most `capacity_kw`; the receiving end
/// gets `(1 − loss_fraction)` of what is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Unique id.
    pub id: String,
    /// Index of node a(l).
    pub from: usize,
    /// Index of node b(l).
    pub to: usize,
    /// Largest flow in each direction, kW.
    pub capacity_kw: f64,
    /// Share of the sent power lost, in [0, 1).
    pub loss_fraction: f64,
    /// Energised only while a grid connection is out (extension: an emergency tie, such
    /// as the one that joins condominiums to the district's private network in a
    /// disaster); otherwise it carries nothing.
    pub emergency_only: bool,
}

impl Line {
    /// The line, for the laws of [`physics::network`].
    pub fn physics(&self) -> physics::Line {
        physics::Line {
            from: self.from,
            to: self.to,
            capacity_kw: self.capacity_kw,
            loss_fraction: self.loss_fraction,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLine {
    pub id: String,
    pub from: String,
    pub to: String,
    pub capacity_kw: f64,
    #[serde(default)]
    pub loss_fraction: Option<f64>,
    #[serde(default)]
    pub emergency_only: Option<bool>,
}

impl RawLine {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Line, ScenarioError> {
        let from = r.node("from", &self.from)?;
        let to = r.node("to", &self.to)?;
        if from == to {
            return Err(r
                .ctx
                .err("to", format!("the line joins node '{}' to itself", self.to)));
        }
        let loss = r.finite("loss_fraction", self.loss_fraction.unwrap_or(0.0))?;
        if !(0.0..1.0).contains(&loss) {
            return Err(r.ctx.err("loss_fraction", format!("{loss} outside [0, 1)")));
        }
        Ok(Line {
            from,
            to,
            capacity_kw: r.nonneg("capacity_kw", self.capacity_kw)?,
            loss_fraction: loss,
            emergency_only: self.emergency_only.unwrap_or(false),
            id: self.id,
        })
    }
}
