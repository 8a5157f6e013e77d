//! What-if analysis outputs: what `aems simulate` and `aems sweep` make of the closed-loop
//! simulations of `control::simulation`.
//!
//! - [`citylearn`]: the batteries' decisions for CityLearn's scorer;
//! - [`decisions`]: the decisions log, what the controller told each unit at each step;
//! - [`summary`]: a run and its baseline as JSON or as the printed tables, what it took as
//!   known, its time series as CSV or Parquet;
//! - [`report`]: the HTML report with SVG charts (plotters, with a bundled font);
//! - [`sweep`]: parameter sweeps — swept keys and values, their combinations applied to the
//!   scenario file, shards, the parallel runs, the table (CSV/Parquet, merged from shards)
//!   and the cost-vs-CO2 Pareto chart.

#![warn(missing_docs)]

pub mod citylearn;
pub mod decisions;
pub mod ngsi;
pub mod report;
pub mod requests;
pub mod resilience;
pub mod summary;
pub mod sweep;

/// Yen with thousands separators and two decimals.
pub fn yen(v: f64) -> String {
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}.{frac}", if v < 0.0 { "-" } else { "" })
}
