//! Seasonal naive forecasts: the reference the other models are measured against.

use super::features::{FeatureRow, LAG_DAY, LAG_WEEK};

/// The same slot on the latest known day (24 h before for day-ahead targets).
pub fn naive_24h(f: &FeatureRow) -> f64 {
    f.x[LAG_DAY]
}

/// Mean of the same slot yesterday and the same slot last week.
pub fn seasonal_naive(f: &FeatureRow) -> f64 {
    0.5 * (f.x[LAG_DAY] + f.x[LAG_WEEK])
}
