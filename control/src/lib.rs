//! # AEMS control
//!
//! The control cycle of the Area Energy Management System, one controller for the live
//! loop (`aems run`) and the what-if (`aems simulate`, `aems sweep`), as named phases with
//! typed hand-offs:
//!
//! ```text
//! Measurements ──state──▶ State ──forecast──▶ Scenario window ──problem──▶ Scenario
//!   (typed readings)   (estimator)                                (horizon)
//!      ──plan──▶ Plan ──decision──▶ Decisions ──(fast layer: guard)──▶ commands
//! ```
//!
//! - [`state`]: measurements → state estimate (checks, stale readings, meters' 30-minute
//!   intervals, billed peaks);
//! - [`forecast`]: state → forecasts of the horizon (perfect, naive, models, persistence),
//!   and what a run takes from the actual future ([`forecast::Information`]);
//! - [`problem`]: state + forecasts → the dispatch problem;
//! - [`plan`]: problem → plan (the engine, within a deadline);
//! - [`decision`]: plan → decisions per unit, in the typed device vocabulary;
//! - [`guard`] (the fast layer), [`rule`] (the rule controller), [`baseline`] (no AEMS, and
//!   the fallback rule);
//! - [`controller`]: the cycle itself, with the fallback policy;
//! - [`plant`]: the closed-loop plant (the physical district of the `physics` crate over the
//!   actual series); [`simulation`]: the controller against it over a period;
//! - [`ledger`]: the live loop's metered KPIs, tallied by `engine::kpi` like every other;
//! - [`request`]: requests to tenants and residents, their measured response, learned;
//! - [`settings`]: where the settings come from.
//!
//! It knows nothing of Modbus, MQTT, SQLite or HTTP: the `aems` binary adapts devices,
//! broker, store and clock to it.

#![warn(missing_docs)]

pub mod baseline;
pub mod controller;
pub mod decision;
pub mod demand_response;
pub mod fan;
pub mod forecast;
pub mod guard;
pub mod islanding;
pub mod ledger;
pub mod plan;
pub mod plant;
pub mod problem;
pub mod request;
pub mod rule;
pub mod settings;
pub mod simulation;
pub mod state;

pub use controller::{Controller, Cycle, Stats};
pub use decision::{Decisions, Source};
pub use ledger::Ledger;
pub use plan::Plan;
pub use plant::Plant;
pub use settings::{Policy, Settings, Terminal};
pub use state::{Estimator, Measurements, State};
