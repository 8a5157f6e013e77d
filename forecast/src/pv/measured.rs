//! Measured PV output history: one column of AC kW from a time-stamped CSV (e.g. a
//! meter export, or `Building_N_pv_kw` of the CityLearn data), read by the rules of
//! [`crate::timeseries`] with these for PV:
//!
//! - values from −5 % of kWp up to 0 (an inverter's standby draw, meter noise) are set
//!   to 0 and counted; more negative values are errors (file, line, column);
//! - values above 1.5 × kWp are errors (the column is probably in W, or the wrong one);
//! - up to `max_gap_steps` missing steps are interpolated, but marked, and not used to
//!   fit a correction; longer runs of missing values are left missing (outages happen in
//!   real histories) and counted.

use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::error::InputError;
use crate::timeseries::{self, ColumnSpec, LongGap, SeriesReport, SeriesRules, TimeSeries};

/// A measured AC power series.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The column read.
    pub column: String,
    /// Row times, strictly increasing.
    pub times: Vec<DateTime<FixedOffset>>,
    /// AC power, kW (NaN where missing).
    pub ac_kw: Vec<f64>,
    /// Per row: true if the value was interpolated (not a measurement).
    pub filled: Vec<bool>,
    /// What the reading rules changed.
    pub report: SeriesReport,
}

/// The column spec for measured PV of an array of `kwp`.
pub fn measured_column(column: &str, kwp: f64) -> ColumnSpec {
    ColumnSpec::new(column, 0.0, 1.5 * kwp, "kW AC").zero_negatives_above(-0.05 * kwp)
}

/// Reads the measured AC kW in `column` of a CSV with a `time` column.
pub fn read_measured_csv(
    path: &Path,
    column: &str,
    kwp: f64,
    max_gap_steps: usize,
) -> Result<Measured, InputError> {
    let rules = SeriesRules {
        max_gap_steps,
        long_gap: LongGap::LeaveMissing,
    };
    let series = timeseries::read_csv(path, &[measured_column(column, kwp)], rules)?;
    Ok(Measured::from_series(column, series))
}

impl Measured {
    /// The measured series in a [`TimeSeries`] read with one [`measured_column`].
    pub fn from_series(column: &str, mut series: TimeSeries) -> Self {
        let ac_kw = series.columns.swap_remove(0);
        Measured {
            column: column.to_string(),
            times: series.times,
            ac_kw,
            filled: series.filled,
            report: series.report,
        }
    }

    /// The step in hours.
    pub fn step_h(&self) -> f64 {
        self.report.step.num_milliseconds() as f64 / 3_600_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Measured, InputError> {
        let s = timeseries::read_from(
            text.as_bytes(),
            Some(Path::new("m.csv")),
            &[measured_column("pv_kw", 4.0)],
            SeriesRules {
                max_gap_steps: 1,
                long_gap: LongGap::LeaveMissing,
            },
        )?;
        Ok(Measured::from_series("pv_kw", s))
    }

    #[test]
    fn standby_draw_is_zeroed_and_outages_left_missing() {
        let m = read(
            "time,pv_kw\n\
             2016-08-01T00:00:00-08:00,-0.01\n\
             2016-08-01T01:00:00-08:00,1.0\n\
             2016-08-01T02:00:00-08:00,\n\
             2016-08-01T03:00:00-08:00,\n\
             2016-08-01T04:00:00-08:00,2.0\n\
             2016-08-01T05:00:00-08:00,\n\
             2016-08-01T06:00:00-08:00,3.0\n",
        )
        .unwrap();
        assert_eq!(m.ac_kw[0], 0.0);
        assert!(m.ac_kw[2].is_nan() && m.ac_kw[3].is_nan());
        assert_eq!(m.ac_kw[5], 2.5);
        assert!(m.filled[5]);
        assert_eq!(m.report.total_zeroed(), 1);
        assert_eq!(m.report.total_left_missing(), 2);
    }

    #[test]
    fn negative_pv_and_watts_are_errors_with_line_and_column() {
        let e = read("time,pv_kw\n2016-08-01T00:00:00Z,1\n2016-08-01T01:00:00Z,-1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.csv: line 3, column 'pv_kw': -1 is negative beyond -0.2 kW AC"),
            "{e}"
        );
        let e = read("time,pv_kw\n2016-08-01T00:00:00Z,3500\n2016-08-01T01:00:00Z,1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column 'pv_kw': 3500 is out of range: expected 0 ..= 6 kW AC"),
            "{e}"
        );
    }
}
