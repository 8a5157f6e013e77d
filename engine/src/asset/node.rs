//! `[[node]]`: a building or a hub (a node with no load).

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// A node of the district's electrical network.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique id.
    pub id: String,
    /// Non-controllable load per step, kW (0 for a hub).
    pub load_kw: Vec<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub id: String,
    #[serde(default)]
    pub load_kw: Option<SeriesSpec>,
}

impl RawNode {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Node, ScenarioError> {
        Ok(Node {
            load_kw: r.series_or("load_kw", &self.load_kw, 0.0)?,
            id: self.id,
        })
    }
}
