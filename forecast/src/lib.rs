//! Forecasting for the AEMS: PV output from weather ([`pv`]) and building demand from
//! history, weather and the calendar. Knows nothing of the dispatch MILP: it turns
//! time series into time series.
#![warn(missing_docs)]

pub mod backtest;
pub mod calendar;
pub mod demand;
pub mod error;
pub mod pv;
pub mod timeseries;
