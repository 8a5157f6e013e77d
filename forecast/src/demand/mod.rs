//! Building demand forecasting: models trained on measured history, weather and the
//! calendar, each forecast with an 80 % prediction interval.
//!
//! - [`DemandData`]: one building's load with its weather and calendar, on a regular grid.
//! - [`features`]: what a model sees for one target step, using only what is known at the
//!   forecast origin (weather from forecast columns where the data has them).
//! - Models ([`ModelKind`]): seasonal naive, ridge regression (nalgebra), gradient-boosted
//!   trees (forust-ml), and their average.
//! - [`FittedModel`]: a model fitted up to a point in time, with interval widths learned from
//!   its own out-of-sample residuals; [`FittedModel::forecast`] gives a [`Forecast`].

pub mod features;
pub mod gbt;
pub mod input;
pub mod intervals;
pub mod naive;
pub mod ridge;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Timelike};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, DayType};
use features::{FeatureRow, Precomputed};
use intervals::ResidualQuantiles;

/// A weather variable: observed values, and forecasts of it where the data has them.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherVar {
    /// Observed value per row.
    pub actual: Vec<f64>,
    /// Forecasts by lead (in steps, ascending): `values[i]` is the forecast issued at row i
    /// for row `i + lead`.
    pub forecasts: Vec<(usize, Vec<f64>)>,
}

impl WeatherVar {
    /// A variable known only by its observations (forecasting with it then uses perfect
    /// foresight of the weather).
    pub fn observed(actual: Vec<f64>) -> Self {
        Self {
            actual,
            forecasts: Vec::new(),
        }
    }

    /// The value for row `target` as known when the rows before `known` are observed: the
    /// observation if `target < known`, else the freshest forecast issued at a row before
    /// `known`, else (no such forecast) the observation — perfect foresight.
    pub fn as_known(&self, known: usize, target: usize) -> f64 {
        if target < known {
            return self.actual[target];
        }
        let k = target + 1 - known;
        for (lead, values) in &self.forecasts {
            if *lead >= k && target >= *lead {
                return values[target - lead];
            }
        }
        self.actual[target]
    }
}

/// One building's demand history on a regular grid, with weather and calendar.
#[derive(Debug, Clone)]
pub struct DemandData {
    /// Row times (start of each step).
    pub times: Vec<DateTime<FixedOffset>>,
    /// Step length, minutes (divides a day).
    pub step_minutes: u32,
    /// Measured load per row, kW.
    pub load_kw: Vec<f64>,
    /// Outdoor temperature, °C.
    pub temp_c: Option<WeatherVar>,
    /// Solar irradiance, W/m².
    pub solar_w_m2: Option<WeatherVar>,
    /// Day type per row.
    pub day_types: Vec<DayType>,
    /// Slot of the day per row (0 … steps per day − 1), in the rows' own offset.
    pub slots: Vec<u16>,
    /// Day of week per row (0 = Monday).
    pub weekdays: Vec<u8>,
    pre: Precomputed,
}

impl DemandData {
    /// Assembles the data; `times` must be regular with `step_minutes` dividing a day, and
    /// every series as long as `times`.
    pub fn new(
        times: Vec<DateTime<FixedOffset>>,
        step_minutes: u32,
        load_kw: Vec<f64>,
        temp_c: Option<WeatherVar>,
        solar_w_m2: Option<WeatherVar>,
        calendar: &Calendar,
    ) -> Result<Self, String> {
        if step_minutes == 0 || 1440 % step_minutes != 0 {
            return Err(format!(
                "a step of {step_minutes} min does not divide a day"
            ));
        }
        let n = times.len();
        for (name, len) in [
            ("load", Some(load_kw.len())),
            ("temperature", temp_c.as_ref().map(|w| w.actual.len())),
            ("solar", solar_w_m2.as_ref().map(|w| w.actual.len())),
        ] {
            if let Some(len) = len {
                if len != n {
                    return Err(format!("{name} has {len} values for {n} times"));
                }
            }
        }
        for w in [&temp_c, &solar_w_m2].into_iter().flatten() {
            if w.forecasts.iter().any(|(_, v)| v.len() != n) {
                return Err("a weather forecast column has the wrong length".into());
            }
        }
        let day_types = times
            .iter()
            .map(|t| calendar.day_type(t.date_naive()))
            .collect();
        let slots = times
            .iter()
            .map(|t| ((t.hour() * 60 + t.minute()) / step_minutes) as u16)
            .collect();
        let weekdays = times
            .iter()
            .map(|t| chrono::Datelike::weekday(&t.date_naive()).num_days_from_monday() as u8)
            .collect();
        let per_day = (1440 / step_minutes) as usize;
        let pre = Precomputed::new(&load_kw, per_day);
        Ok(Self {
            times,
            step_minutes,
            load_kw,
            temp_c,
            solar_w_m2,
            day_types,
            slots,
            weekdays,
            pre,
        })
    }

    /// Steps per day D.
    pub fn steps_per_day(&self) -> usize {
        (1440 / self.step_minutes) as usize
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.load_kw.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.load_kw.is_empty()
    }

    /// Whether temperature comes from forecast columns (else perfect foresight).
    pub fn weather_from_forecasts(&self) -> bool {
        self.temp_c
            .as_ref()
            .is_some_and(|w| !w.forecasts.is_empty())
    }

    /// Features of row `target` as seen with the rows before `known` observed.
    pub fn features(&self, known: usize, target: usize) -> FeatureRow {
        features::row(self, &self.pre, known, target)
    }
}

/// The demand models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The same slot 24 h before (the skill reference).
    Naive24h,
    /// Mean of the same slot yesterday and the same slot last week.
    SeasonalNaive,
    /// Ridge regression on slot-of-day × day type, temperature hinges, solar, lags and
    /// load profiles; penalty chosen on a holdout.
    Ridge,
    /// Gradient-boosted regression trees on the same information.
    Gbt,
    /// The mean of `ridge` and `gbt`.
    Ensemble,
}

impl ModelKind {
    /// Every model, in report order.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Naive24h,
        ModelKind::SeasonalNaive,
        ModelKind::Ridge,
        ModelKind::Gbt,
        ModelKind::Ensemble,
    ];

    /// The model's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Naive24h => "naive_24h",
            ModelKind::SeasonalNaive => "seasonal_naive",
            ModelKind::Ridge => "ridge",
            ModelKind::Gbt => "gbt",
            ModelKind::Ensemble => "ensemble",
        }
    }

    /// Parses a name of [`ModelKind::name`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which forecast origins a model is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainOrigins {
    /// Train on origins whose slot of day is a multiple of this (D: midnight only).
    pub every_slots: usize,
}

/// Settings of fitting.
#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    /// Longest horizon the model is trained for, steps.
    pub horizon_steps: usize,
    /// Training origins.
    pub origins: TrainOrigins,
    /// Days at the end of the training data held out to choose the ridge penalty and learn
    /// the interval widths.
    pub holdout_days: usize,
    /// Clamp forecasts and interval bounds at 0 (loads that cannot be negative).
    pub nonnegative: bool,
}

/// A forecast over the next steps with its 80 % prediction interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Times of the forecast steps.
    pub times: Vec<DateTime<FixedOffset>>,
    /// Expected load, kW.
    pub mean_kw: Vec<f64>,
    /// 10 % quantile, kW.
    pub lower_kw: Vec<f64>,
    /// 90 % quantile, kW.
    pub upper_kw: Vec<f64>,
}

/// A point predictor over feature rows.
#[derive(Clone)]
enum Predictor {
    Naive24h,
    SeasonalNaive,
    Ridge(Arc<ridge::Ridge>),
    Gbt(Arc<gbt::Gbt>),
    Ensemble(Arc<ridge::Ridge>, Arc<gbt::Gbt>),
}

impl Predictor {
    fn predict(&self, rows: &[FeatureRow]) -> Vec<f64> {
        match self {
            Predictor::Naive24h => rows.iter().map(naive::naive_24h).collect(),
            Predictor::SeasonalNaive => rows.iter().map(naive::seasonal_naive).collect(),
            Predictor::Ridge(r) => rows.iter().map(|f| r.predict(f)).collect(),
            Predictor::Gbt(g) => g.predict(rows),
            Predictor::Ensemble(r, g) => {
                let gp = g.predict(rows);
                rows.iter()
                    .zip(gp)
                    .map(|(f, g)| 0.5 * (r.predict(f) + g))
                    .collect()
            }
        }
    }
}

/// A model fitted on the data before a point in time, ready to forecast from any later
/// origin, with interval widths learned from its own holdout residuals.
pub struct FittedModel {
    kind: ModelKind,
    predictor: Predictor,
    quantiles: ResidualQuantiles,
    horizon_steps: usize,
    nonnegative: bool,
    holdout: Holdout,
}

/// Out-of-sample predictions on the holdout, kept to learn intervals (also of ensembles).
#[derive(Clone)]
struct Holdout {
    y: Vec<f64>,
    pred: Vec<f64>,
    horizons: Vec<usize>,
    floor: f64,
}

impl Holdout {
    fn quantiles(&self, horizon: usize) -> ResidualQuantiles {
        let residuals: Vec<f64> = self.y.iter().zip(&self.pred).map(|(y, p)| y - p).collect();
        ResidualQuantiles::learn(
            &residuals,
            &self.pred,
            &self.horizons,
            horizon,
            (0.1, 0.9),
            self.floor,
        )
    }
}

/// Training examples: feature rows, targets, and each row's horizon (1-based steps).
struct Examples {
    rows: Vec<FeatureRow>,
    y: Vec<f64>,
}

fn examples(data: &DemandData, origins: &[usize], horizon: usize) -> Examples {
    let mut rows = Vec::with_capacity(origins.len() * horizon);
    let mut y = Vec::with_capacity(origins.len() * horizon);
    for &known in origins {
        for target in known..known + horizon {
            rows.push(data.features(known, target));
            y.push(data.load_kw[target]);
        }
    }
    Examples { rows, y }
}

impl FittedModel {
    /// Fits `kind` on the rows before `until` (no later row is read, weather included).
    pub fn fit(
        kind: ModelKind,
        data: &DemandData,
        until: usize,
        cfg: &FitConfig,
    ) -> Result<Self, String> {
        let d = data.steps_per_day();
        let h = cfg.horizon_steps;
        let first = features::min_history(d, h);
        if until > data.len() || until < first + h + d {
            return Err(format!(
                "{} rows of history before the origin; fitting needs at least {} ({} days)",
                until.min(data.len()),
                first + h + d,
                (first + h + d).div_ceil(d)
            ));
        }
        // Origins whose every target lies before `until`.
        let origins: Vec<usize> = (first..=until - h)
            .filter(|&o| (data.slots[o] as usize) % cfg.origins.every_slots == 0)
            .collect();
        // The holdout takes at most a third of the history, so a young history still leaves
        // data to fit on.
        let holdout_days = cfg.holdout_days.min(((until - first) / d / 3).max(1));
        let holdout_from = until.saturating_sub(h + holdout_days * d);
        let split = origins.partition_point(|&o| o < holdout_from);
        let all = examples(data, &origins, h);
        let n_fit = split * h;
        let (fit_part, hold_part) = (&all.rows[..n_fit], &all.rows[n_fit..]);
        let (y_fit, y_hold) = (&all.y[..n_fit], &all.y[n_fit..]);
        let horizons: Vec<usize> = (0..hold_part.len()).map(|i| i % h + 1).collect();

        let (predictor, holdout_pred) = match kind {
            ModelKind::Naive24h => (Predictor::Naive24h, Predictor::Naive24h.predict(hold_part)),
            ModelKind::SeasonalNaive => (
                Predictor::SeasonalNaive,
                Predictor::SeasonalNaive.predict(hold_part),
            ),
            ModelKind::Ridge => {
                let (r, pred) = ridge::Ridge::fit_select(d, fit_part, y_fit, hold_part, y_hold)?;
                (Predictor::Ridge(Arc::new(r)), pred)
            }
            ModelKind::Gbt => {
                let early = gbt::Gbt::fit(fit_part, y_fit)?;
                let pred = early.predict(hold_part);
                (
                    Predictor::Gbt(Arc::new(gbt::Gbt::fit(&all.rows, &all.y)?)),
                    pred,
                )
            }
            ModelKind::Ensemble => {
                let r = Self::fit(ModelKind::Ridge, data, until, cfg)?;
                let g = Self::fit(ModelKind::Gbt, data, until, cfg)?;
                return Self::ensemble(&r, &g);
            }
        };
        // Interval sizes never shrink below a quarter of the mean load.
        let floor = 0.25 * all.y.iter().map(|v| v.abs()).sum::<f64>() / all.y.len().max(1) as f64;
        let holdout = Holdout {
            y: y_hold.to_vec(),
            pred: holdout_pred,
            horizons,
            floor,
        };
        Ok(Self {
            kind,
            predictor,
            quantiles: holdout.quantiles(h),
            horizon_steps: h,
            nonnegative: cfg.nonnegative,
            holdout,
        })
    }

    /// The mean of a fitted ridge and a fitted GBT model (fitted on the same data), with
    /// intervals learned from their averaged holdout predictions.
    pub fn ensemble(ridge: &FittedModel, gbt: &FittedModel) -> Result<Self, String> {
        let (Predictor::Ridge(r), Predictor::Gbt(g)) = (&ridge.predictor, &gbt.predictor) else {
            return Err("an ensemble averages a ridge and a gbt model".into());
        };
        if ridge.holdout.y != gbt.holdout.y {
            return Err("an ensemble needs models fitted on the same data".into());
        }
        let holdout = Holdout {
            pred: ridge
                .holdout
                .pred
                .iter()
                .zip(&gbt.holdout.pred)
                .map(|(a, b)| 0.5 * (a + b))
                .collect(),
            ..ridge.holdout.clone()
        };
        Ok(Self {
            kind: ModelKind::Ensemble,
            predictor: Predictor::Ensemble(r.clone(), g.clone()),
            quantiles: holdout.quantiles(ridge.horizon_steps),
            horizon_steps: ridge.horizon_steps,
            nonnegative: ridge.nonnegative,
            holdout,
        })
    }

    /// The holdout the intervals were learned from: (residuals, forecasts, horizons).
    pub fn holdout_errors(&self) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let residuals = self
            .holdout
            .y
            .iter()
            .zip(&self.holdout.pred)
            .map(|(y, p)| y - p)
            .collect();
        (
            residuals,
            self.holdout.pred.clone(),
            self.holdout.horizons.clone(),
        )
    }

    /// Relearns the intervals from realized forecast errors (residual, forecast, horizon),
    /// e.g. those of the model's own recent forecasts.
    pub fn set_intervals(&mut self, residuals: &[f64], forecasts: &[f64], horizons: &[usize]) {
        self.quantiles = ResidualQuantiles::learn(
            residuals,
            forecasts,
            horizons,
            self.horizon_steps,
            (0.1, 0.9),
            self.holdout.floor,
        );
    }

    /// The model.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Forecasts the `steps` rows from `known` (the first unknown row), using only rows
    /// before it. `steps` is at most the horizon the model was fitted for.
    pub fn forecast(
        &self,
        data: &DemandData,
        known: usize,
        steps: usize,
    ) -> Result<Forecast, String> {
        let d = data.steps_per_day();
        if steps > self.horizon_steps {
            return Err(format!(
                "{steps} steps asked; the model was fitted for {}",
                self.horizon_steps
            ));
        }
        if known < features::min_history(d, steps) || known + steps > data.len() {
            return Err(format!(
                "origin row {known} with {steps} steps lies outside the usable data (rows {}..{})",
                features::min_history(d, steps),
                data.len()
            ));
        }
        let rows: Vec<FeatureRow> = (known..known + steps)
            .map(|t| data.features(known, t))
            .collect();
        let mut mean = self.predictor.predict(&rows);
        let (mut lower, mut upper) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for (i, m) in mean.iter_mut().enumerate() {
            let (lo, hi) = self.quantiles.at(i + 1, *m);
            if self.nonnegative {
                *m = m.max(0.0);
            }
            let (mut l, u) = (*m + lo, *m + hi);
            if self.nonnegative {
                l = l.max(0.0);
            }
            lower.push(l);
            upper.push(u.max(l));
        }
        Ok(Forecast {
            times: data.times[known..known + steps].to_vec(),
            mean_kw: mean,
            lower_kw: lower,
            upper_kw: upper,
        })
    }
}
