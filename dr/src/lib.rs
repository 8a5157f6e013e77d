//! Demand response for the AEMS: the live loop's OpenADR 3 VEN link ([`link::DrLink`]: the
//! VTN's events into the controller's signals, reports of the metered response) and
//! OpenADR events files for what-ifs ([`file`]: `aems simulate --dr-events`), and the
//! requests to tenants and residents as the live loop publishes them ([`tenants`]: MQTT,
//! the HTTP view, the audit log).
//!
//! The protocol is `connectors::openadr` (on the OpenLEADR crates); what the events do to
//! the plan is `control::problem::apply_signals` and `control::demand_response::Book`.

#![warn(missing_docs)]

pub mod event;
pub mod file;
pub mod link;
pub mod tenants;

pub use link::{DrLink, Notes};
