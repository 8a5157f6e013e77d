//! Assembling [`DemandData`] from CSV files: a history file with the target column and an
//! optional weather file, joined on `time`, read by the rules of [`crate::timeseries`]
//! (bad rows named by file, line and column; short gaps interpolated and counted). A
//! demand model needs a regular series: a gap longer than `max_gap_steps` is an error.
//!
//! Weather forecasts are taken from the weather file's own forecast columns where it has
//! them: a column `{L}h_forecast_{name}` holds, at each row, the forecast of `name` for
//! `L` hours later. Without such columns the observed weather is used, which is perfect
//! foresight (reports say so).

use std::collections::HashMap;
use std::path::Path;

use crate::calendar::Calendar;
use crate::error::InputError;
use crate::timeseries::{self, ColumnSpec, LongGap, SeriesReport, SeriesRules, TimeSeries};

use super::{DemandData, WeatherVar};

/// Temperature columns looked for when none is named, in order.
pub const TEMPERATURE_COLUMNS: [&str; 5] = [
    "temp_c",
    "temp_air_c",
    "outdoor_temp_c",
    "t_out",
    "temperature_c",
];

/// What to read.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// Target column of the history file (load, kW).
    pub target: String,
    /// Temperature column (None: the first of [`TEMPERATURE_COLUMNS`] found, if any).
    pub temp_column: Option<String>,
    /// Irradiance columns summed into one solar input (empty: `ghi_w_m2`, else
    /// `diffuse_w_m2` + `direct_w_m2`, when present).
    pub solar_columns: Vec<String>,
    /// The calendar of the site.
    pub calendar: Calendar,
    /// Refuse negative target values.
    pub nonnegative: bool,
    /// Longest run of missing rows or values filled by linear interpolation.
    pub max_gap_steps: usize,
}

/// What reading changed: the history's and the weather's reports.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    /// The history file's report.
    pub history: SeriesReport,
    /// The weather file's report, if a weather file was read.
    pub weather: Option<SeriesReport>,
}

impl InputReport {
    /// Values filled by interpolation in both files.
    pub fn interpolated(&self) -> usize {
        self.history.total_interpolated()
            + self.weather.as_ref().map_or(0, |w| w.total_interpolated())
    }
}

/// A weather variable's columns: the observed ones (summed) and, per lead in hours, the
/// matching forecast columns (a lead counts only if every observed column has it).
struct WeatherColumns {
    observed: Vec<String>,
    leads_h: Vec<usize>,
}

impl WeatherColumns {
    fn find(header: &[String], observed: Vec<String>) -> Self {
        let mut leads: Option<Vec<usize>> = None;
        for name in &observed {
            let suffix = format!("h_forecast_{name}");
            let mine: Vec<usize> = header
                .iter()
                .filter_map(|c| c.strip_suffix(&suffix)?.parse::<usize>().ok())
                .collect();
            leads = Some(match leads {
                None => mine,
                Some(prev) => prev.into_iter().filter(|l| mine.contains(l)).collect(),
            });
        }
        let mut leads_h = leads.unwrap_or_default();
        leads_h.sort_unstable();
        Self { observed, leads_h }
    }

    fn names(&self) -> Vec<String> {
        let mut out = self.observed.clone();
        for l in &self.leads_h {
            out.extend(self.observed.iter().map(|n| format!("{l}h_forecast_{n}")));
        }
        out
    }
}

fn regular(series: &TimeSeries, max_gap_steps: usize) -> Result<(), InputError> {
    match series.report.breaks.first() {
        None => Ok(()),
        Some(b) => Err(InputError::new(
            series.file.as_deref(),
            format!(
                "rows missing from {} to {} (more than max_gap_steps = {max_gap_steps}); \
                 a demand history must be regular",
                b.after.to_rfc3339(),
                b.before.to_rfc3339()
            ),
        )
        .at_line(b.line)
        .in_column("time")),
    }
}

/// Reads the target from `history` and weather from `weather` (or from `history` when no
/// weather file is given) into [`DemandData`].
pub fn read(
    history: &Path,
    weather: Option<&Path>,
    spec: &InputSpec,
) -> Result<(DemandData, InputReport), InputError> {
    let rules = SeriesRules {
        max_gap_steps: spec.max_gap_steps,
        long_gap: LongGap::Error,
    };
    let min = if spec.nonnegative {
        0.0
    } else {
        f64::NEG_INFINITY
    };
    let target = ColumnSpec::new(&spec.target, min, f64::INFINITY, "kW");

    let source = weather.unwrap_or(history);
    let header = timeseries::read_header(source)?;
    let temp = match &spec.temp_column {
        Some(name) => Some(name.clone()),
        None => TEMPERATURE_COLUMNS
            .iter()
            .find(|c| header.iter().any(|h| h == *c))
            .map(|c| c.to_string()),
    };
    let solar: Vec<String> = if !spec.solar_columns.is_empty() {
        spec.solar_columns.clone()
    } else if header.iter().any(|h| h == "ghi_w_m2") {
        vec!["ghi_w_m2".into()]
    } else if ["diffuse_w_m2", "direct_w_m2"]
        .iter()
        .all(|c| header.iter().any(|h| h == c))
    {
        vec!["diffuse_w_m2".into(), "direct_w_m2".into()]
    } else {
        Vec::new()
    };
    let temp_cols = temp.map(|t| WeatherColumns::find(&header, vec![t]));
    let solar_cols = (!solar.is_empty()).then(|| WeatherColumns::find(&header, solar));
    let mut weather_specs: Vec<ColumnSpec> = Vec::new();
    if let Some(t) = &temp_cols {
        weather_specs.extend(
            t.names()
                .iter()
                .map(|n| ColumnSpec::new(n, -90.0, 70.0, "°C")),
        );
    }
    if let Some(s) = &solar_cols {
        weather_specs.extend(
            s.names()
                .iter()
                .map(|n| ColumnSpec::new(n, 0.0, 2000.0, "W/m²").zero_negatives_above(-50.0)),
        );
    }

    // One read per file: the history's target (plus its weather columns when the weather
    // comes from the history itself).
    let mut hist_specs = vec![target];
    if weather.is_none() {
        hist_specs.extend(weather_specs.iter().cloned());
    }
    let hist = timeseries::read_csv(history, &hist_specs, rules)?;
    regular(&hist, spec.max_gap_steps)?;
    let step_minutes = u32::try_from(hist.report.step.num_minutes()).unwrap_or(0);
    if hist.report.step.num_seconds() % 60 != 0 || step_minutes == 0 || 1440 % step_minutes != 0 {
        return Err(InputError::new(
            Some(history),
            format!(
                "a step of {} s does not divide a day",
                hist.report.step.num_seconds()
            ),
        )
        .in_column("time"));
    }
    let (wseries, rows, first_weather_col) = match weather {
        Some(path) => {
            let w = timeseries::read_csv(path, &weather_specs, rules)?;
            let by_instant: HashMap<i64, usize> = w
                .times
                .iter()
                .enumerate()
                .map(|(i, t)| (t.timestamp(), i))
                .collect();
            let rows = hist
                .times
                .iter()
                .zip(&hist.lines)
                .map(|(t, line)| {
                    by_instant.get(&t.timestamp()).copied().ok_or_else(|| {
                        let mut e = InputError::new(
                            Some(path),
                            format!("no row for {} (a time of the history)", t.to_rfc3339()),
                        )
                        .in_column("time");
                        if let Some(l) = line {
                            e.message.push_str(&format!(", history line {l}"));
                        }
                        e
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (Some(w), rows, 0)
        }
        None => ((None), (0..hist.times.len()).collect(), 1),
    };
    let wdata: &TimeSeries = wseries.as_ref().unwrap_or(&hist);
    let step_h = 60 / step_minutes.max(1) as usize;
    let mut col = first_weather_col;
    let mut take = |cols: &WeatherColumns| -> WeatherVar {
        let mut sum_next = |n: usize| -> Vec<f64> {
            let mut v = vec![0.0; rows.len()];
            for _ in 0..n {
                for (out, &r) in v.iter_mut().zip(&rows) {
                    *out += wdata.columns[col][r];
                }
                col += 1;
            }
            v
        };
        let actual = sum_next(cols.observed.len());
        let mut forecasts = Vec::new();
        for &lead_h in &cols.leads_h {
            let values = sum_next(cols.observed.len());
            if step_minutes <= 60 && 60 % step_minutes == 0 {
                forecasts.push((lead_h * step_h, values));
            }
        }
        WeatherVar { actual, forecasts }
    };
    let temp_c = temp_cols.as_ref().map(&mut take);
    let solar_w_m2 = solar_cols.as_ref().map(&mut take);
    let load_kw = hist.columns[0].clone();
    let data = DemandData::new(
        hist.times.clone(),
        step_minutes,
        load_kw,
        temp_c,
        solar_w_m2,
        &spec.calendar,
    )
    .map_err(|m| InputError::new(Some(history), m))?;
    Ok((
        data,
        InputReport {
            history: hist.report.clone(),
            weather: wseries.map(|w| w.report),
        },
    ))
}
