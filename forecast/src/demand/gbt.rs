//! Gradient-boosted regression trees (forust-ml, an XGBoost-style histogram booster in
//! pure Rust) on the calendar codes and the numeric features.

use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};

use super::features::{FeatureRow, N_NUMERIC};

/// Columns: slot, day type, weekday, horizon, then the numeric features.
const WIDTH: usize = 4 + N_NUMERIC;

/// A fitted booster.
pub struct Gbt {
    booster: GradientBooster,
}

fn column_major(rows: &[FeatureRow]) -> Vec<f64> {
    let n = rows.len();
    let mut data = vec![0.0; n * WIDTH];
    for (i, f) in rows.iter().enumerate() {
        data[i] = f.slot as f64;
        data[n + i] = f.day_type as f64;
        data[2 * n + i] = f.weekday as f64;
        data[3 * n + i] = f.horizon as f64;
        for j in 0..N_NUMERIC {
            data[(4 + j) * n + i] = f.x[j];
        }
    }
    data
}

impl Gbt {
    /// Fits 300 depth-3 trees, learning rate 0.05, row and column subsampling 0.7, with
    /// L2 leaf regularisation: settings that generalise on noisy hourly building loads.
    pub fn fit(rows: &[FeatureRow], y: &[f64]) -> Result<Self, String> {
        if rows.is_empty() {
            return Err("gbt: no training rows".into());
        }
        let data = column_major(rows);
        let matrix = Matrix::new(&data, rows.len(), WIDTH);
        let mut booster = GradientBooster::default()
            .set_objective_type(ObjectiveType::SquaredLoss)
            .set_initialize_base_score(true)
            .set_iterations(300)
            .set_learning_rate(0.05)
            .set_max_depth(3)
            .set_l2(5.0)
            .set_min_leaf_weight(30.0)
            .set_sample_method(SampleMethod::Random)
            .set_subsample(0.7)
            .set_colsample_bytree(0.7)
            .set_seed(7)
            .set_parallel(true);
        booster
            .fit_unweighted(&matrix, y, None)
            .map_err(|e| format!("gbt: {e}"))?;
        Ok(Self { booster })
    }

    /// Predictions for rows.
    pub fn predict(&self, rows: &[FeatureRow]) -> Vec<f64> {
        if rows.is_empty() {
            return Vec::new();
        }
        let data = column_major(rows);
        let matrix = Matrix::new(&data, rows.len(), WIDTH);
        self.booster.predict(&matrix, rows.len() > 4096)
    }
}
