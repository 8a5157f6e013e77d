//! `[[pv]]`: a PV array whose available power is a series.

use serde::Deserialize;

use crate::error::ScenarioError;
use crate::scenario::spec::{Resolver, SeriesSpec};

/// A PV array: the power it can give each step, and whether it may be curtailed.
#[derive(Debug, Clone, PartialEq)]
pub struct PvArray {
    /// Unique id.
    pub id: String,
    /// Index of the node it feeds.
    pub node: usize,
    /// Available power per step, kW.
    pub available_kw: Vec<f64>,
    /// Whether less than the available power may be used.
    pub curtailable: bool,
    /// Penalty per kWh of curtailed energy, yen/kWh.
    pub curtail_penalty_yen_per_kwh: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPv {
    pub id: String,
    pub node: String,
    pub available_kw: SeriesSpec,
    #[serde(default)]
    pub curtailable: Option<bool>,
    #[serde(default)]
    pub curtail_penalty_yen_per_kwh: Option<f64>,
}

impl RawPv {
    pub(crate) fn resolve(self, r: &Resolver<'_>) -> Result<PvArray, ScenarioError> {
        Ok(PvArray {
            node: r.node("node", &self.node)?,
            available_kw: r.nonneg_series("available_kw", &self.available_kw)?,
            curtailable: self.curtailable.unwrap_or(true),
            curtail_penalty_yen_per_kwh: r.finite(
                "curtail_penalty_yen_per_kwh",
                self.curtail_penalty_yen_per_kwh.unwrap_or(0.0),
            )?,
            id: self.id,
        })
    }
}
