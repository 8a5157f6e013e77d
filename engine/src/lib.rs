//! # AEMS dispatch engine
//!
//! The district dispatch optimiser of `spec/dispatch-model.md`: a scenario
//! ([`scenario::Scenario`], loaded from the TOML + CSV format of `spec/scenario-format.md`)
//! becomes a mixed-integer linear program built with `good_lp` ([`model`]), solved with
//! HiGHS ([`solve`]), turned into a [`schedule::Schedule`] that is checked against the
//! physics ([`check`]) and summarised in the reported figures ([`report::Figures`]).
//!
//! The engine knows nothing of devices or protocols: it reads a scenario and returns a
//! schedule.

#![warn(missing_docs)]

pub mod asset;
pub mod error;
pub mod model;
pub mod scenario;

pub use error::ScenarioError;
pub use scenario::{FirstStepShared, Scenario, ScenarioFile};
pub mod check;
pub mod decompose;
pub mod kpi;
pub mod report;
pub mod resilience;
pub mod schedule;
pub mod solve;
pub mod warm;

pub use report::Figures;
pub use schedule::Schedule;
pub use solve::{optimize, optimize_warm, Outcome, SolveOptions, Status, Strategy};
pub use warm::WarmStart;
