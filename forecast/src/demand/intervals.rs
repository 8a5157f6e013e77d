//! Prediction intervals from empirical residual quantiles by horizon.
//!
//! A model's residuals on its holdout (data it was not fitted on) are divided by the size of
//! the forecast they belong to (`|forecast| + floor`, so errors scale with the load: a
//! building's evening peak is less certain than its night base) and grouped by horizon; the
//! 10 % and 90 % quantiles of each group, pooled with the neighbouring horizons for
//! stability, times the size of a new forecast, give its 80 % interval.

/// Residual quantiles per horizon step.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualQuantiles {
    lower: Vec<f64>,
    upper: Vec<f64>,
    floor: f64,
}

/// The `q` quantile of sorted values (linear interpolation).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let next = sorted[(i + 1).min(sorted.len() - 1)];
    sorted[i] + frac * (next - sorted[i])
}

impl ResidualQuantiles {
    /// Learns quantiles `q_low`, `q_high` per horizon 1…`horizon` from residuals
    /// (actual − forecast), the forecasts and their horizons, pooling horizons k−1, k,
    /// k+1; `floor` (kW, > 0) keeps small forecasts from getting zero-width intervals.
    pub fn learn(
        residuals: &[f64],
        forecasts: &[f64],
        horizons: &[usize],
        horizon: usize,
        (q_low, q_high): (f64, f64),
        floor: f64,
    ) -> Self {
        let floor = if floor > 0.0 && floor.is_finite() {
            floor
        } else {
            1.0
        };
        let scaled: Vec<f64> = residuals
            .iter()
            .zip(forecasts)
            .map(|(r, f)| r / (f.abs() + floor))
            .collect();
        let mut by_k: Vec<Vec<f64>> = vec![Vec::new(); horizon + 2];
        for (&r, &k) in scaled.iter().zip(horizons) {
            if (1..=horizon).contains(&k) {
                by_k[k].push(r);
            }
        }
        let mut all: Vec<f64> = scaled.clone();
        all.sort_by(f64::total_cmp);
        let (mut lower, mut upper) = (Vec::with_capacity(horizon), Vec::with_capacity(horizon));
        for k in 1..=horizon {
            let mut pool: Vec<f64> = by_k[k - 1]
                .iter()
                .chain(&by_k[k])
                .chain(&by_k[k + 1])
                .copied()
                .collect();
            if pool.len() < 20 {
                pool = all.clone();
            }
            pool.sort_by(f64::total_cmp);
            lower.push(quantile(&pool, q_low));
            upper.push(quantile(&pool, q_high));
        }
        Self {
            lower,
            upper,
            floor,
        }
    }

    /// (lower, upper) offsets for a forecast of `value` at horizon `k` (1-based; clamped to
    /// the learned range).
    pub fn at(&self, k: usize, value: f64) -> (f64, f64) {
        if self.lower.is_empty() {
            return (0.0, 0.0);
        }
        let i = k.clamp(1, self.lower.len()) - 1;
        let size = value.abs() + self.floor;
        (self.lower[i] * size, self.upper[i] * size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_horizon() {
        let residuals: Vec<f64> = (0..300).map(|i| (i % 100) as f64 - 50.0).collect();
        let forecasts = vec![9.0; 300];
        let horizons: Vec<usize> = (0..300).map(|i| i / 100 + 1).collect();
        let q = ResidualQuantiles::learn(&residuals, &forecasts, &horizons, 3, (0.1, 0.9), 1.0);
        let (lo, hi) = q.at(2, 9.0);
        assert!(
            (lo + 40.1).abs() < 0.5 && (hi - 39.1).abs() < 0.5,
            "{lo} {hi}"
        );
        // Twice the forecast size, twice the width.
        let (lo2, _) = q.at(2, 19.0);
        assert!((lo2 - 2.0 * lo).abs() < 1e-9);
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }
}
