//! What a model sees for one target step: calendar, weather as known at the origin, and
//! load lags and profiles from rows before the origin only.
//!
//! `known` is the first row not yet observed (the forecast origin); a target row `t ≥ known`
//! has horizon `k = t − known + 1` steps. A same-slot value `t − j·D` (D steps per day) is
//! known when `j ≥ ⌈k / D⌉`, so every lag and profile below starts there.

use super::DemandData;

/// Number of numeric features.
pub const N_NUMERIC: usize = 25;

/// Names of the numeric features, in [`FeatureRow::x`] order.
pub const NUMERIC: [&str; N_NUMERIC] = [
    "temp_c",
    "temp_3h_c",
    "temp_day_mean_c",
    "temp_day_max_c",
    "cdd18_k",
    "cdd22_k",
    "cdd26_k",
    "hdd15_k",
    "hdd10_k",
    "solar_w_m2",
    "lag_day_kw",
    "lag_week_kw",
    "last_kw",
    "mean_day_kw",
    "mean_week_kw",
    "profile7_kw",
    "profile14_kw",
    "profile28_kw",
    "profile_weekday4_kw",
    "ewma3_kw",
    "ewma7_kw",
    "ewma21_kw",
    "median7_kw",
    "anomaly_2h_kw",
    "anomaly_6h_kw",
];

/// Indices of [`NUMERIC`] that are temperatures or temperature hinges (°C or K).
pub const TEMPERATURE_FEATURES: std::ops::Range<usize> = 0..9;
/// Index of `lag_day_kw`.
pub const LAG_DAY: usize = 10;
/// Index of `lag_week_kw`.
pub const LAG_WEEK: usize = 11;

/// The features of one (origin, target) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureRow {
    /// Slot of day of the target.
    pub slot: u16,
    /// Day type index of the target (0 workday, 1 Saturday, 2 holiday).
    pub day_type: u8,
    /// Day of week of the target (0 = Monday).
    pub weekday: u8,
    /// Horizon k in steps (1-based).
    pub horizon: u16,
    /// Numeric features, see [`NUMERIC`].
    pub x: [f64; N_NUMERIC],
}

/// Per-series precomputations: prefix sums and per-slot exponentially weighted means.
#[derive(Debug, Clone)]
pub struct Precomputed {
    prefix: Vec<f64>,
    /// EWMA of the same slot over days, half-lives 3, 7, 21 days; element i includes row i.
    ewma: [Vec<f64>; 3],
}

impl Precomputed {
    /// Precomputes for `y` with `per_day` steps a day.
    pub fn new(y: &[f64], per_day: usize) -> Self {
        let mut prefix = Vec::with_capacity(y.len() + 1);
        prefix.push(0.0);
        for v in y {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
        }
        let ewma = [3.0, 7.0, 21.0].map(|half_life: f64| {
            let a = 1.0 - 0.5f64.powf(1.0 / half_life);
            let mut out = vec![0.0; y.len()];
            for i in 0..y.len() {
                out[i] = if i < per_day {
                    y[i]
                } else {
                    a * y[i] + (1.0 - a) * out[i - per_day]
                };
            }
            out
        });
        Self { prefix, ewma }
    }

    fn mean(&self, from: usize, to: usize) -> f64 {
        (self.prefix[to] - self.prefix[from]) / (to - from) as f64
    }
}

/// Rows of history a forecast from `known` over `horizon` steps needs before `known`.
pub fn min_history(per_day: usize, horizon: usize) -> usize {
    let week = 7 * per_day;
    ((horizon.div_ceil(per_day) + 27) * per_day)
        .max((horizon.div_ceil(week) + 3) * week)
        .max(week + 1)
}

/// Features of row `target` with the rows before `known` observed
/// (`known ≥ min_history`, `target ≥ known`).
pub fn row(data: &DemandData, pre: &Precomputed, known: usize, target: usize) -> FeatureRow {
    let d = data.steps_per_day();
    let w = 7 * d;
    let y = &data.load_kw;
    let k = target + 1 - known;
    let j0 = k.div_ceil(d);
    let w0 = k.div_ceil(w);
    let mut x = [0.0; N_NUMERIC];

    if let Some(temp) = &data.temp_c {
        let now = temp.as_known(known, target);
        let per_3h = (180 / data.step_minutes as usize).max(1);
        let back = (0..per_3h).filter(|j| *j <= target);
        let n = back.clone().count().max(1);
        let t3 = back.map(|j| temp.as_known(known, target - j)).sum::<f64>() / n as f64;
        let day_end = (known + d).min(data.len());
        let (mut sum, mut max) = (0.0, f64::NEG_INFINITY);
        for t in known..day_end {
            let v = temp.as_known(known, t);
            sum += v;
            max = max.max(v);
        }
        x[0] = now;
        x[1] = t3;
        x[2] = sum / (day_end - known).max(1) as f64;
        x[3] = if max.is_finite() { max } else { now };
        x[4] = (now - 18.0).max(0.0);
        x[5] = (now - 22.0).max(0.0);
        x[6] = (now - 26.0).max(0.0);
        x[7] = (15.0 - now).max(0.0);
        x[8] = (10.0 - now).max(0.0);
    }
    if let Some(solar) = &data.solar_w_m2 {
        x[9] = solar.as_known(known, target);
    }
    let same_slot = |j: usize| y[target - j * d];
    x[LAG_DAY] = same_slot(j0);
    x[LAG_WEEK] = y[target - w0 * w];
    x[12] = y[known - 1];
    x[13] = pre.mean(known - d, known);
    x[14] = pre.mean(known - w, known);
    let mut seven = [0.0; 7];
    let mut sum = 0.0;
    for (m, j) in (j0..j0 + 28).enumerate() {
        let v = same_slot(j);
        sum += v;
        if m < 7 {
            seven[m] = v;
        }
        match m {
            6 => x[15] = sum / 7.0,
            13 => x[16] = sum / 14.0,
            27 => x[17] = sum / 28.0,
            _ => {}
        }
    }
    x[18] = (w0..w0 + 4).map(|m| y[target - m * w]).sum::<f64>() / 4.0;
    let base = target - j0 * d;
    x[19] = pre.ewma[0][base];
    x[20] = pre.ewma[1][base];
    x[21] = pre.ewma[2][base];
    seven.sort_by(f64::total_cmp);
    x[22] = seven[3];
    // How far the latest observation is from its usual level, fading with the horizon.
    let last = known - 1;
    let usual = (1..=7).map(|j| y[last - j * d]).sum::<f64>() / 7.0;
    let minutes = (k * data.step_minutes as usize) as f64;
    x[23] = (y[last] - usual) * (-minutes / 120.0).exp();
    x[24] = (y[last] - usual) * (-minutes / 360.0).exp();

    FeatureRow {
        slot: data.slots[target],
        day_type: data.day_types[target].index() as u8,
        weekday: data.weekdays[target],
        horizon: k as u16,
        x,
    }
}
