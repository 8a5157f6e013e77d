//! What a receding-horizon controller believes about the coming hours: forecasts of every
//! node's load and every PV array's available power, made at each replan from data before
//! it only. Prices, CO2 intensity, weather and comfort bands are taken as known (tariffs
//! are published; weather comes from forecasts).
//!
//! - `perfect`: the actual series (perfect foresight).
//! - `naive`: the same slot one day before (seasonal naive).
//! - `model`: the forecast crate's models (default `ridge`) fitted on the history before the
//!   replan, refitted weekly, with the scenario CSV's weather columns as inputs; until
//!   enough history exists (about 29 days) the naive forecast stands in.
//!
//! Before one day of history exists, the naive forecast repeats the latest known value
//! (at the very first step, the first value).

use std::path::PathBuf;

use anyhow::{anyhow, Result};

use engine::{Scenario, ScenarioFile};
use forecast::calendar::{japanese_closed_days, Calendar, ClosedPeriod, Holidays};
use forecast::demand::input::{read, InputSpec};
use forecast::demand::{DemandData, FitConfig, FittedModel, ModelKind, TrainOrigins};

use super::config::SimulationSection;

/// Which forecasts the controller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastKind {
    /// The actual series.
    Perfect,
    /// The same slot one day before.
    Naive,
    /// A fitted demand model.
    Model(ModelKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Load(usize),
    Pv(usize),
}

struct Series {
    target: Target,
    /// The column over every CSV row, with the model inputs (None: a constant, known).
    data: Option<DemandData>,
    fitted: Option<FittedModel>,
    fitted_at: Option<usize>,
    /// The largest value in the history so far, and up to which row it was taken.
    seen_max: f64,
    seen_upto: usize,
}

/// A model's forecast is clipped to this multiple of the largest value in its history.
const MAX_OVER_SEEN: f64 = 1.5;

/// Forecasts for a simulation.
pub struct Forecaster {
    kind: ForecastKind,
    series: Vec<Series>,
    /// CSV row of simulation step 0.
    first_row: usize,
    per_day: usize,
    fit: FitConfig,
    refit_steps: usize,
    /// Forecasts that fell back to naive for lack of history.
    pub naive_fallbacks: usize,
}

fn calendar(sim: &SimulationSection, file: &ScenarioFile) -> Result<Calendar> {
    let japan = match sim.holidays.as_deref() {
        Some("japan") => true,
        Some("none") => false,
        Some(other) => {
            return Err(anyhow!(
                "{}: [simulation]: field 'holidays': '{other}' is not japan or none",
                file.path().display()
            ))
        }
        None => file.timezone() == chrono_tz::Asia::Tokyo,
    };
    let closed = match &sim.closed_days {
        Some(list) => list
            .iter()
            .map(|c| {
                ClosedPeriod::parse(c).map_err(|e| {
                    anyhow!(
                        "{}: [simulation]: field 'closed_days': {e}",
                        file.path().display()
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?,
        None if japan => japanese_closed_days(),
        None => Vec::new(),
    };
    let holidays = if japan {
        Holidays::Japan
    } else {
        Holidays::None
    };
    Ok(Calendar::new(holidays, closed))
}

impl Forecaster {
    /// Forecasts of `kind` for a simulation of `actual` (which starts at CSV row
    /// `first_row` of `file`) with plans of `horizon_steps`.
    pub fn new(
        kind: ForecastKind,
        file: &ScenarioFile,
        actual: &Scenario,
        first_row: usize,
        sim: &SimulationSection,
        horizon_steps: usize,
    ) -> Result<Self> {
        let per_day = (1440 / actual.step_minutes) as usize;
        let csv: PathBuf = file.table().path().to_path_buf();
        let cal = calendar(sim, file)?;
        let mut series = Vec::new();
        let targets = actual
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (Target::Load(i), file.series_column("node", &n.id)))
            .chain(
                actual
                    .pvs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (Target::Pv(i), file.series_column("pv", &p.id))),
            );
        for (target, column) in targets {
            let data = match (kind, column) {
                (ForecastKind::Perfect, _) | (_, None) => None,
                (_, Some(col)) => {
                    let spec = InputSpec {
                        target: col.to_string(),
                        temp_column: sim.weather_temp_column.clone(),
                        solar_columns: sim.weather_solar_columns.clone().unwrap_or_default(),
                        calendar: cal.clone(),
                        nonnegative: false,
                        max_gap_steps: 0,
                    };
                    let (data, _) = read(&csv, None, &spec).map_err(|e| anyhow!("{e}"))?;
                    Some(data)
                }
            };
            series.push(Series {
                target,
                data,
                fitted: None,
                fitted_at: None,
                seen_max: 0.0,
                seen_upto: 0,
            });
        }
        Ok(Self {
            kind,
            series,
            first_row,
            per_day,
            fit: FitConfig {
                horizon_steps,
                origins: TrainOrigins {
                    every_slots: (per_day / 2).max(1),
                },
                holdout_days: 28,
                nonnegative: true,
            },
            refit_steps: 7 * per_day,
            naive_fallbacks: 0,
        })
    }

    fn naive(data: &DemandData, known: usize, steps: usize, per_day: usize) -> Vec<f64> {
        let y = &data.load_kw;
        (0..steps)
            .map(|k| {
                let back = (k + 1).div_ceil(per_day) * per_day;
                let target = known + k;
                if target >= back {
                    y[target - back]
                } else if known > 0 {
                    y[known - 1]
                } else {
                    y[0]
                }
            })
            .collect()
    }

    /// Replaces the loads and PV availability of `window` (the actual series over
    /// simulation steps `t..t + window.steps`) with the forecasts made at step `t`.
    pub fn fill(&mut self, window: &mut Scenario, t: usize) -> Result<()> {
        if self.kind == ForecastKind::Perfect {
            return Ok(());
        }
        let known = self.first_row + t;
        let steps = window.steps;
        for s in &mut self.series {
            let Some(data) = &s.data else { continue };
            let values = match self.kind {
                ForecastKind::Perfect => continue,
                ForecastKind::Naive => Self::naive(data, known, steps, self.per_day),
                ForecastKind::Model(model) => {
                    let stale = s.fitted_at.is_none_or(|at| known >= at + self.refit_steps);
                    if stale {
                        if let Ok(m) = FittedModel::fit(model, data, known, &self.fit) {
                            s.fitted = Some(m);
                            s.fitted_at = Some(known);
                        }
                    }
                    // A model may extrapolate far past anything seen (a plan on such a
                    // forecast can be infeasible): clip to 1.5 × the largest value so far.
                    let upto = known.min(data.load_kw.len());
                    if upto > s.seen_upto {
                        s.seen_max = data.load_kw[s.seen_upto..upto]
                            .iter()
                            .fold(s.seen_max, |a, b| a.max(*b));
                        s.seen_upto = upto;
                    }
                    let cap = if s.seen_max > 0.0 {
                        MAX_OVER_SEEN * s.seen_max
                    } else {
                        f64::INFINITY
                    };
                    match s.fitted.as_ref().map(|m| m.forecast(data, known, steps)) {
                        Some(Ok(f)) => f.mean_kw.into_iter().map(|v| v.min(cap)).collect(),
                        _ => {
                            self.naive_fallbacks += 1;
                            Self::naive(data, known, steps, self.per_day)
                        }
                    }
                }
            };
            match s.target {
                Target::Load(i) => window.nodes[i].load_kw = values,
                Target::Pv(i) => {
                    window.pvs[i].available_kw = values.into_iter().map(|v| v.max(0.0)).collect();
                }
            }
        }
        Ok(())
    }
}
