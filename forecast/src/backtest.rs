//! Rolling-origin backtests of the demand models: forecasts made at each midnight (or each
//! hour) for the next 24 h, every model refitted on the data before the origin only.
//!
//! Metrics per model: MAE, RMSE, nRMSE (RMSE / mean load), MAPE over the actuals of at
//! least a tenth of the mean load (smaller ones would make it meaningless),
//! skill against the 24-h seasonal naive forecast (1 − RMSE / RMSE of `naive_24h`, whose
//! forecast of each target is the value 24 h before it), and the share of actual values
//! inside the 80 % prediction interval. The chosen model is the one with the lowest RMSE.
//!
//! Intervals: at each refit a model's interval widths are relearned from the errors of its
//! own forecasts whose targets have all been observed, over the last
//! [`BacktestConfig::interval_window_days`] — as a live system would from its forecast log —
//! completed by the model's holdout errors while fewer than half the window is logged.

use serde::Serialize;

use crate::demand::{features, DemandData, FitConfig, FittedModel, ModelKind, TrainOrigins};

/// When forecasts are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origins {
    /// At each midnight (local time of the data), for the next 24 h.
    Midnight,
    /// At each hour, for the next 24 h.
    Hourly,
}

/// Backtest settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    /// When forecasts are made.
    pub origins: Origins,
    /// Models to compare (`naive_24h` is always added as the reference).
    pub models: Vec<ModelKind>,
    /// Refit every model every this many days.
    pub refit_days: usize,
    /// Days of training data a model needs beyond the feature history before the first
    /// origin.
    pub min_train_days: usize,
    /// Longest holdout (days) for penalty choice and interval widths.
    pub holdout_days: usize,
    /// Clamp forecasts at 0.
    pub nonnegative: bool,
    /// Days of realized forecast errors the intervals are learned from.
    pub interval_window_days: usize,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            origins: Origins::Midnight,
            models: ModelKind::ALL.to_vec(),
            refit_days: 7,
            min_train_days: 28,
            holdout_days: 28,
            nonnegative: true,
            interval_window_days: 56,
        }
    }
}

/// Scores of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelScore {
    /// Model name.
    pub name: String,
    /// Mean absolute error, kW.
    pub mae: f64,
    /// Root mean squared error, kW.
    pub rmse: f64,
    /// RMSE / mean actual load.
    pub nrmse: f64,
    /// Mean absolute percentage error over actuals of at least a tenth of the mean load
    /// (None if there are none).
    pub mape: Option<f64>,
    /// 1 − RMSE / RMSE of `naive_24h`.
    pub skill: f64,
    /// Share of actuals inside the 80 % interval.
    pub coverage_80: f64,
    /// Number of forecast values scored.
    pub n: usize,
}

/// The result of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// When forecasts were made.
    pub origins: Origins,
    /// The model with the lowest RMSE.
    pub chosen_model: String,
    /// Every model's scores.
    pub models: Vec<ModelScore>,
    /// Number of forecast origins.
    pub forecasts: usize,
    /// First and last origin (RFC 3339).
    pub period: (String, String),
    /// Where weather inputs came from.
    pub weather: String,
}

#[derive(Default, Clone)]
struct Acc {
    abs: f64,
    sq: f64,
    ape: f64,
    ape_n: usize,
    inside: usize,
    n: usize,
    actual: f64,
}

/// Fits every model at `until`; an ensemble reuses the ridge and GBT fits.
fn fit_all(
    models: &[ModelKind],
    data: &DemandData,
    until: usize,
    cfg: &FitConfig,
) -> Result<Vec<FittedModel>, String> {
    let mut out: Vec<FittedModel> = Vec::with_capacity(models.len());
    for &m in models {
        let find = |k: ModelKind, out: &[FittedModel]| out.iter().position(|f| f.kind() == k);
        let fitted = match (m, find(ModelKind::Ridge, &out), find(ModelKind::Gbt, &out)) {
            (ModelKind::Ensemble, Some(r), Some(g)) => FittedModel::ensemble(&out[r], &out[g])?,
            _ => FittedModel::fit(m, data, until, cfg)?,
        };
        out.push(fitted);
    }
    Ok(out)
}

/// Runs the backtest; `progress(done, total)` is called after each origin.
pub fn backtest(
    data: &DemandData,
    cfg: &BacktestConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<BacktestReport, String> {
    let d = data.steps_per_day();
    let h = d;
    let per_hour = (60 / data.step_minutes as usize).max(1);
    let first = features::min_history(d, h) + (cfg.min_train_days + 1) * d;
    let origins: Vec<usize> = (first..=data.len().saturating_sub(h))
        .filter(|&o| {
            let slot = data.slots[o] as usize;
            match cfg.origins {
                Origins::Midnight => slot == 0,
                Origins::Hourly => slot % per_hour == 0,
            }
        })
        .collect();
    if origins.is_empty() {
        return Err(format!(
            "too little history: a backtest needs more than {} days",
            first.div_ceil(d) + 1
        ));
    }
    let mut models = vec![ModelKind::Naive24h];
    for m in &cfg.models {
        if !models.contains(m) {
            models.push(*m);
        }
    }
    let fit_cfg = |until: usize| FitConfig {
        horizon_steps: h,
        origins: TrainOrigins {
            every_slots: match cfg.origins {
                Origins::Midnight => d,
                Origins::Hourly => (d / 2).max(1),
            },
        },
        holdout_days: cfg
            .holdout_days
            .min(((until - features::min_history(d, h)) / d / 3).max(1)),
        nonnegative: cfg.nonnegative,
    };
    let mut acc = vec![Acc::default(); models.len()];
    let mean_load = data.load_kw.iter().map(|v| v.abs()).sum::<f64>() / data.len() as f64;
    let mape_floor = 0.1 * mean_load;
    // Realized errors per model: (origin, residual, forecast, horizon), oldest first.
    let mut log: Vec<Vec<(usize, f64, f64, usize)>> = vec![Vec::new(); models.len()];
    let mut pending: Vec<(usize, Vec<Vec<f64>>)> = Vec::new();
    let mut fitted: Vec<FittedModel> = Vec::new();
    let mut fitted_at = None;
    for (i, &o) in origins.iter().enumerate() {
        if fitted_at.is_none_or(|at| o >= at + cfg.refit_days * d) {
            // Forecasts whose targets are all observed by now join the log.
            let (done, waiting): (Vec<_>, Vec<_>) =
                pending.drain(..).partition(|(origin, _)| origin + h <= o);
            pending = waiting;
            for (origin, means) in done {
                for (l, mean) in log.iter_mut().zip(means) {
                    for (s, f) in mean.into_iter().enumerate() {
                        l.push((origin, data.load_kw[origin + s] - f, f, s + 1));
                    }
                }
            }
            fitted = fit_all(&models, data, o, &fit_cfg(o))?;
            let window = cfg.interval_window_days * d;
            for (m, l) in fitted.iter_mut().zip(&log) {
                let recent: Vec<&(usize, f64, f64, usize)> =
                    l.iter().filter(|e| e.0 + window >= o).collect();
                let (mut r, mut f, mut k): (Vec<f64>, Vec<f64>, Vec<usize>) = (
                    recent.iter().map(|e| e.1).collect(),
                    recent.iter().map(|e| e.2).collect(),
                    recent.iter().map(|e| e.3).collect(),
                );
                if recent.len() * 2 < window {
                    let (hr, hf, hk) = m.holdout_errors();
                    r.extend(hr);
                    f.extend(hf);
                    k.extend(hk);
                }
                m.set_intervals(&r, &f, &k);
            }
            fitted_at = Some(o);
        }
        let mut means = Vec::with_capacity(fitted.len());
        for (m, a) in fitted.iter().zip(acc.iter_mut()) {
            let f = m.forecast(data, o, h)?;
            for s in 0..h {
                let y = data.load_kw[o + s];
                let e = f.mean_kw[s] - y;
                a.abs += e.abs();
                a.sq += e * e;
                if y.abs() >= mape_floor && y != 0.0 {
                    a.ape += (e / y).abs();
                    a.ape_n += 1;
                }
                a.inside += usize::from(f.lower_kw[s] <= y && y <= f.upper_kw[s]);
                a.n += 1;
                a.actual += y;
            }
            means.push(f.mean_kw);
        }
        pending.push((o, means));
        progress(i + 1, origins.len());
    }
    let rmse = |a: &Acc| (a.sq / a.n as f64).sqrt();
    let reference = rmse(&acc[0]);
    let scores: Vec<ModelScore> = models
        .iter()
        .zip(&acc)
        .map(|(m, a)| {
            let n = a.n as f64;
            ModelScore {
                name: m.name().to_string(),
                mae: a.abs / n,
                rmse: rmse(a),
                nrmse: rmse(a) / (a.actual / n),
                mape: (a.ape_n > 0).then(|| a.ape / a.ape_n as f64),
                skill: 1.0 - rmse(a) / reference,
                coverage_80: a.inside as f64 / n,
                n: a.n,
            }
        })
        .collect();
    let chosen = scores
        .iter()
        .filter(|s| cfg.models.iter().any(|m| m.name() == s.name))
        .min_by(|a, b| a.rmse.total_cmp(&b.rmse))
        .unwrap_or(&scores[0])
        .name
        .clone();
    let weather = match (&data.temp_c, data.weather_from_forecasts()) {
        (None, _) => "none".to_string(),
        (Some(_), true) => {
            "forecast columns of the weather file (issued before each origin)".to_string()
        }
        (Some(_), false) => "observed weather at the target time (perfect foresight)".to_string(),
    };
    Ok(BacktestReport {
        origins: cfg.origins,
        chosen_model: chosen,
        models: scores,
        forecasts: origins.len(),
        period: (
            data.times[origins[0]].to_rfc3339(),
            data.times[*origins.last().unwrap_or(&origins[0])].to_rfc3339(),
        ),
        weather,
    })
}
