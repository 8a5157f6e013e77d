//! Assembling [`DemandData`] from CSV tables: a history file with the target column and an
//! optional weather file, joined on `time`.
//!
//! Weather forecasts are taken from the weather file's own forecast columns where it has
//! them: a column `{L}h_forecast_{name}` holds, at each row, the forecast of `name` for
//! `L` hours later. Without such columns the observed weather is used, which is perfect
//! foresight (reports say so).

use crate::calendar::Calendar;
use crate::table::{DataError, TimeTable};

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
}

/// A weather variable from `table`: its observed column and any `{L}h_forecast_` columns.
fn weather_var(
    table: &mut TimeTable,
    names: &[String],
    rows: &[usize],
) -> Result<WeatherVar, DataError> {
    let step = table.step_minutes() as usize;
    let mut actual = vec![0.0; rows.len()];
    let mut leads: Option<Vec<usize>> = None;
    for name in names {
        let col = table.column(name)?;
        for (a, &r) in actual.iter_mut().zip(rows) {
            *a += col[r];
        }
        let suffix = format!("h_forecast_{name}");
        let mine: Vec<usize> = table
            .columns()
            .iter()
            .filter_map(|c| c.strip_suffix(&suffix)?.parse::<usize>().ok())
            .collect();
        leads = Some(match leads {
            None => mine,
            Some(prev) => prev.into_iter().filter(|l| mine.contains(l)).collect(),
        });
    }
    let mut leads = leads.unwrap_or_default();
    leads.sort_unstable();
    let mut forecasts = Vec::new();
    for hours in leads {
        if (hours * 60) % step != 0 {
            continue;
        }
        let mut values = vec![0.0; rows.len()];
        for name in names {
            let col = table.column(&format!("{hours}h_forecast_{name}"))?;
            for (v, &r) in values.iter_mut().zip(rows) {
                *v += col[r];
            }
        }
        forecasts.push((hours * 60 / step, values));
    }
    Ok(WeatherVar { actual, forecasts })
}

/// Reads the target from `history` and weather from `weather` (or from `history` when no
/// weather file is given) into [`DemandData`].
pub fn load(
    history: &mut TimeTable,
    mut weather: Option<&mut TimeTable>,
    spec: &InputSpec,
) -> Result<DemandData, DataError> {
    let load_kw = if spec.nonnegative {
        history.nonnegative(&spec.target)?
    } else {
        history.column(&spec.target)?
    };
    let times = history.times().to_vec();
    let step = history.step_minutes();
    let history_path = history.path().to_path_buf();
    let data_err = |reason: String| DataError {
        file: history_path.clone(),
        line: None,
        column: None,
        reason,
    };
    let (table, rows): (&mut TimeTable, Vec<usize>) = match weather.as_deref_mut() {
        Some(w) => {
            if w.step_minutes() != step {
                return Err(DataError {
                    file: w.path().to_path_buf(),
                    line: None,
                    column: Some("time".into()),
                    reason: format!(
                        "step of {} min differs from the history's {step} min",
                        w.step_minutes()
                    ),
                });
            }
            let rows = w.align(&times, &history_path)?;
            (w, rows)
        }
        None => {
            let rows = (0..times.len()).collect();
            (history, rows)
        }
    };
    let temp_name = match &spec.temp_column {
        Some(name) => {
            if !table.has_column(name) {
                return Err(DataError {
                    file: table.path().to_path_buf(),
                    line: Some(1),
                    column: Some(name.clone()),
                    reason: "no such column".into(),
                });
            }
            Some(name.clone())
        }
        None => TEMPERATURE_COLUMNS
            .iter()
            .find(|c| table.has_column(c))
            .map(|c| c.to_string()),
    };
    let temp_c = temp_name
        .map(|n| weather_var(table, &[n], &rows))
        .transpose()?;
    let solar_names: Vec<String> = if !spec.solar_columns.is_empty() {
        spec.solar_columns.clone()
    } else if table.has_column("ghi_w_m2") {
        vec!["ghi_w_m2".into()]
    } else if table.has_column("diffuse_w_m2") && table.has_column("direct_w_m2") {
        vec!["diffuse_w_m2".into(), "direct_w_m2".into()]
    } else {
        Vec::new()
    };
    let solar_w_m2 = if solar_names.is_empty() {
        None
    } else {
        Some(weather_var(table, &solar_names, &rows)?)
    };
    DemandData::new(times, step, load_kw, temp_c, solar_w_m2, &spec.calendar).map_err(data_err)
}
