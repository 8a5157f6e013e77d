//! The simulator's description of a district: the physical district of the `physics`
//! crate (the `aems` binary builds it from a scenario; the connectors know nothing of the
//! engine), its id and start, and which meters it has.

use chrono::{DateTime, FixedOffset};
use physics::DistrictSpec;

/// What a meter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// A grid connection (index into the district's connections).
    Grid(usize),
    /// A node's own loads and units, before its lines (index into its nodes).
    Node(usize),
}

/// A meter.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMeter {
    /// Asset id (a grid connection or a node).
    pub id: String,
    /// What it measures.
    pub of: Metered,
}

/// A district to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// District id (MQTT topics).
    pub district: String,
    /// Simulated time at the start.
    pub start: DateTime<FixedOffset>,
    /// The physical district.
    pub spec: DistrictSpec,
    /// Meters.
    pub meters: Vec<SimMeter>,
}

impl SimConfig {
    /// The district's meters: one per grid connection and one per node, named by their ids.
    pub fn every_meter(spec: &DistrictSpec) -> Vec<SimMeter> {
        let mut m: Vec<SimMeter> = spec
            .grid_ids
            .iter()
            .enumerate()
            .map(|(g, id)| SimMeter {
                id: id.clone(),
                of: Metered::Grid(g),
            })
            .collect();
        m.extend(spec.nodes.iter().enumerate().map(|(n, node)| SimMeter {
            id: node.id.clone(),
            of: Metered::Node(n),
        }));
        m
    }
}
