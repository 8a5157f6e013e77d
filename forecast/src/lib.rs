//! Forecasting of building demand and PV output for the AEMS (knows nothing of the MILP).
//!
//! Empty for now: see the forecasting issue.
#![warn(missing_docs)]
