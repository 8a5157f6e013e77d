//! The district's equipment, one module per kind, each as the scenario format describes it
//! (`[[node]]`, `[[grid]]`, `[[pv]]`, `[[battery]]`, `[[hvac]]`, `[[generator]]`, `[[line]]`, and the extension `[[outage]]`).
//!
//! Each module holds the validated type the model uses (series resolved to one value per
//! horizon step, node references resolved to indices) and the TOML form it is read from.

pub mod battery;
pub mod generator;
pub mod grid;
pub mod hvac;
pub mod line;
pub mod load_class;
pub mod node;
pub mod outage;
pub mod pv;

pub use battery::Battery;
pub use generator::{FuelStock, Generator};
pub use grid::GridConnection;
pub use hvac::{Hvac, HvacMode};
pub use line::Line;
pub use load_class::{ClassKind, ClassLoad, LoadClass, LoadClasses};
pub use node::Node;
pub use outage::Outage;
pub use pv::PvArray;
