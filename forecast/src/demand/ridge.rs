//! Ridge regression on slot-of-day × day type, temperature hinges, solar, lags and load
//! profiles, fitted with nalgebra's Cholesky factorisation.
//!
//! Numeric features are standardised with the fit data's mean and spread (temperature
//! features never scaled by less than 1 K, so a hinge that was flat in training cannot
//! explode later). The intercept is not penalised. The penalty is chosen from a grid by the
//! mean squared error on a holdout that follows the fit data in time.

use nalgebra::{DMatrix, DVector};

use super::features::{FeatureRow, N_NUMERIC, TEMPERATURE_FEATURES};

/// Penalty grid, per training row (the penalty scales with the number of rows).
const LAMBDAS: [f64; 7] = [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3];

/// A fitted ridge model.
#[derive(Debug, Clone)]
pub struct Ridge {
    per_day: usize,
    mean: [f64; N_NUMERIC],
    scale: [f64; N_NUMERIC],
    /// Coefficients: intercept, slot×day-type dummies, numeric features.
    beta: Vec<f64>,
    /// Chosen penalty per row.
    pub lambda: f64,
}

impl Ridge {
    fn width(per_day: usize) -> usize {
        1 + 3 * per_day + N_NUMERIC
    }

    fn encode(&self, f: &FeatureRow, z: &mut [f64]) {
        z.fill(0.0);
        z[0] = 1.0;
        let slot = (f.slot as usize).min(self.per_day - 1);
        z[1 + (f.day_type as usize).min(2) * self.per_day + slot] = 1.0;
        let base = 1 + 3 * self.per_day;
        for j in 0..N_NUMERIC {
            z[base + j] = (f.x[j] - self.mean[j]) / self.scale[j];
        }
    }

    /// Gram matrix and moment vector of rows (uncentred, with intercept column).
    fn gram(&self, rows: &[FeatureRow], y: &[f64]) -> (DMatrix<f64>, DVector<f64>) {
        let p = Self::width(self.per_day);
        let mut g = DMatrix::<f64>::zeros(p, p);
        let mut b = DVector::<f64>::zeros(p);
        let mut z = vec![0.0; p];
        let mut nz: Vec<usize> = Vec::with_capacity(2 + N_NUMERIC);
        for (f, &yi) in rows.iter().zip(y) {
            self.encode(f, &mut z);
            nz.clear();
            nz.extend((0..p).filter(|&i| z[i] != 0.0));
            for &i in &nz {
                b[i] += z[i] * yi;
                for &j in &nz {
                    g[(i, j)] += z[i] * z[j];
                }
            }
        }
        (g, b)
    }

    fn solve(&self, g: &DMatrix<f64>, b: &DVector<f64>, penalty: f64) -> Result<Vec<f64>, String> {
        let mut a = g.clone();
        for i in 1..a.nrows() {
            a[(i, i)] += penalty;
        }
        // The unpenalised intercept keeps a tiny ridge so an empty design still factorises.
        a[(0, 0)] += 1e-9;
        let chol = a
            .cholesky()
            .ok_or_else(|| "ridge: normal equations are not positive definite".to_string())?;
        Ok(chol.solve(b).iter().copied().collect())
    }

    /// Prediction for one row.
    pub fn predict(&self, f: &FeatureRow) -> f64 {
        let mut z = vec![0.0; self.beta.len()];
        self.encode(f, &mut z);
        z.iter().zip(&self.beta).map(|(a, b)| a * b).sum()
    }

    /// Fits on `fit` rows, chooses the penalty on `hold` rows, then refits on both with it.
    /// Returns the model and its out-of-sample predictions on `hold`.
    pub fn fit_select(
        per_day: usize,
        fit: &[FeatureRow],
        y_fit: &[f64],
        hold: &[FeatureRow],
        y_hold: &[f64],
    ) -> Result<(Self, Vec<f64>), String> {
        if fit.is_empty() {
            return Err("ridge: no training rows".into());
        }
        let n = fit.len() as f64;
        let mut mean = [0.0; N_NUMERIC];
        let mut scale = [0.0; N_NUMERIC];
        for f in fit {
            for (m, x) in mean.iter_mut().zip(&f.x) {
                *m += x / n;
            }
        }
        for f in fit {
            for ((s, x), m) in scale.iter_mut().zip(&f.x).zip(&mean) {
                *s += (x - m).powi(2) / n;
            }
        }
        for (j, s) in scale.iter_mut().enumerate() {
            let floor = if TEMPERATURE_FEATURES.contains(&j) {
                1.0
            } else {
                1e-6
            };
            *s = s.sqrt().max(floor);
        }
        let mut model = Self {
            per_day,
            mean,
            scale,
            beta: Vec::new(),
            lambda: LAMBDAS[3],
        };
        let (g1, b1) = model.gram(fit, y_fit);
        let mut best: Option<(f64, f64, Vec<f64>)> = None;
        if !hold.is_empty() {
            for lambda in LAMBDAS {
                model.beta = model.solve(&g1, &b1, lambda * n)?;
                let pred: Vec<f64> = hold.iter().map(|f| model.predict(f)).collect();
                let mse = pred
                    .iter()
                    .zip(y_hold)
                    .map(|(p, y)| (p - y).powi(2))
                    .sum::<f64>();
                if best.as_ref().is_none_or(|(m, _, _)| mse < *m) {
                    best = Some((mse, lambda, pred));
                }
            }
        }
        let (lambda, hold_pred) = match best {
            Some((_, l, p)) => (l, p),
            None => (LAMBDAS[3], Vec::new()),
        };
        let (g2, b2) = model.gram(hold, y_hold);
        let total = n + hold.len() as f64;
        model.beta = model.solve(&(g1 + g2), &(b1 + b2), lambda * total)?;
        model.lambda = lambda;
        Ok((model, hold_pred))
    }
}
