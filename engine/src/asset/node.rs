//! `[[node]]`: a building or a hub (a node with no load).

use serde::Deserialize;

use crate::asset::load_class::{resolve_classes, LoadClasses, RawLoadClass};
use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// A node of the district's electrical network.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique id.
    pub id: String,
    /// Non-controllable load per step, kW (0 for a hub).
    pub load_kw: Vec<f64>,
    /// The load's classes, kept in priority order when a grid connection is out
    /// (extension `load_classes`; by default all of it `normal`).
    pub classes: LoadClasses,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub id: String,
    #[serde(default)]
    pub load_kw: Option<SeriesSpec>,
    #[serde(default)]
    pub load_classes: Option<Vec<RawLoadClass>>,
}

impl RawNode {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<Node, ScenarioError> {
        let load_kw = r.series_or("load_kw", &self.load_kw, 0.0)?;
        let classes = match &self.load_classes {
            Some(raw) => resolve_classes(raw, &load_kw, r)?,
            None => LoadClasses::default(),
        };
        Ok(Node {
            load_kw,
            classes,
            id: self.id,
        })
    }
}
