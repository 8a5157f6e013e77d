//! Weather for the PV chain: the CSV columns `time`, `ghi_w_m2`, `temp_air_c`,
//! `wind_m_s` (the fixtures' input columns; other columns are ignored), read by the rules
//! of [`crate::timeseries`].
//!
//! Valid ranges: GHI 0–1500 W/m², with values from −50 up to 0 (a pyranometer's night
//! offset) set to 0 and counted, below −50 an error; air temperature −90–70 °C; wind
//! speed 0–100 m/s. Up to `max_gap_steps` missing steps are interpolated and counted;
//! a longer run of missing values is an error; a longer gap between rows is a break,
//! modelled as it is (the chain works row by row).

use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::error::InputError;
use crate::timeseries::{self, ColumnSpec, LongGap, SeriesReport, SeriesRules, TimeSeries};

/// Weather at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeatherStep {
    /// The instant (the solar position is computed for it).
    pub time: DateTime<FixedOffset>,
    /// Global horizontal irradiance, W/m².
    pub ghi_w_m2: f64,
    /// Air temperature, °C.
    pub temp_air_c: f64,
    /// Wind speed, m/s.
    pub wind_m_s: f64,
}

/// A weather series as read, with what the reading rules changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Weather {
    /// The steps, strictly increasing in time.
    pub steps: Vec<WeatherStep>,
    /// Per step: true if any of its values was interpolated.
    pub filled: Vec<bool>,
    /// Counts of interpolated, zeroed and inserted values, the step and the breaks.
    pub report: SeriesReport,
}

/// The weather columns and their valid ranges.
pub fn weather_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ghi_w_m2", 0.0, 1500.0, "W/m²").zero_negatives_above(-50.0),
        ColumnSpec::new("temp_air_c", -90.0, 70.0, "°C"),
        ColumnSpec::new("wind_m_s", 0.0, 100.0, "m/s"),
    ]
}

/// Reads a weather CSV; up to `max_gap_steps` missing steps are interpolated.
pub fn read_weather_csv(path: &Path, max_gap_steps: usize) -> Result<Weather, InputError> {
    let rules = SeriesRules {
        max_gap_steps,
        long_gap: LongGap::Error,
    };
    let series = timeseries::read_csv(path, &weather_columns(), rules)?;
    Ok(Weather::from_series(series))
}

impl Weather {
    /// The weather in a series read with [`weather_columns`].
    pub fn from_series(series: TimeSeries) -> Self {
        let steps = series
            .times
            .iter()
            .enumerate()
            .map(|(i, &time)| WeatherStep {
                time,
                ghi_w_m2: series.columns[0][i],
                temp_air_c: series.columns[1][i],
                wind_m_s: series.columns[2][i],
            })
            .collect();
        Weather {
            steps,
            filled: series.filled,
            report: series.report,
        }
    }

    /// The step in hours (for energies).
    pub fn step_h(&self) -> f64 {
        self.report.step.num_milliseconds() as f64 / 3_600_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_weather_columns_and_zeroes_night_offsets() {
        let text = "time,ghi_w_m2,temp_air_c,wind_m_s,other\n\
                    2025-01-15T00:00:00Z,-2.5,8.2,1.2,x\n\
                    2025-01-15T00:15:00Z,172.8,9.9,0.7,y\n";
        let s = timeseries::read_from(
            text.as_bytes(),
            None,
            &weather_columns(),
            SeriesRules::default(),
        )
        .unwrap();
        let w = Weather::from_series(s);
        assert_eq!(w.steps.len(), 2);
        assert_eq!(w.steps[0].ghi_w_m2, 0.0);
        assert_eq!(w.steps[1].wind_m_s, 0.7);
        assert_eq!(w.report.total_zeroed(), 1);
        assert!((w.step_h() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn negative_wind_is_an_error() {
        let text = "time,ghi_w_m2,temp_air_c,wind_m_s\n\
                    2025-01-15T00:00:00Z,0,8.2,1.2\n\
                    2025-01-15T00:15:00Z,0,9.9,-0.7\n";
        let e = timeseries::read_from(
            text.as_bytes(),
            Some(Path::new("w.csv")),
            &weather_columns(),
            SeriesRules::default(),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.column.as_deref(), Some("wind_m_s"));
    }
}
