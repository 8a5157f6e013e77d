//! # AEMS physics
//!
//! One implementation of each physical law of the district, used by everything that needs
//! it: the dispatch engine's post-solve check, the closed-loop plant of `aems simulate` and
//! the device simulator.
//!
//! - [`battery`]: the energy recursion and what a battery does when asked for a power;
//! - [`zone`]: the RC zone model and the HVAC unit's own thermostat;
//! - [`generator`]: a generator's range;
//! - [`network`]: lines with losses, grid connections, how power flows;
//! - [`district`]: all of them together, advanced in time under commands.
//!
//! And [`device`], the typed vocabulary in which the connectors report readings and the
//! controller gives commands: a misspelt quantity is a compile error.
//!
//! This crate knows nothing of the optimisation, of devices' protocols or of time zones.

#![warn(missing_docs)]

pub mod battery;
pub mod device;
pub mod district;
pub mod fuel;
pub mod generator;
pub mod network;
pub mod zone;

pub use battery::{Battery, EfficiencyCurve, PowerCurve};
pub use district::{Commands, District, DistrictSpec, HvacControl};
pub use fuel::FuelTank;
pub use generator::Generator;
pub use network::{Grid, Line, Network};
pub use zone::{Conditions, Zone};
