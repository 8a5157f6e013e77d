//! A correction of the modelled AC power learned from the array's measured history, so
//! that what the physical chain does not know about the real array — shading at some
//! hours, soiling, a different orientation or rating, inverter behaviour — is absorbed.
//!
//! # Model
//!
//! The corrected power is `min(max(factor · ac_kw, 0), ac_max_kw)`, where the factor
//! depends on the hour of mean solar time (UTC + longitude/15°, so it does not depend
//! on the time zone of the files) and the sky class given by the clearness index kt of
//! the step (overcast, broken, clear with the default edges 0.35 and 0.65): shading
//! hits clear skies at the hours the Sun is behind the obstacle; soiling and rating
//! errors hit all bins alike.
//!
//! Each factor is a ratio of energies (measured over modelled) with hierarchical
//! shrinkage: the global factor `F = ΣM / ΣP`; per hour `F_h = (ΣM_h + λF) / (ΣP_h + λ)`;
//! per hour and sky class `F_hc = (ΣM_hc + λF_h) / (ΣP_hc + λ)`, with λ the energy of
//! `prior_full_load_h` hours at kWp. A bin with little data keeps its parent's factor;
//! a bin with much data gets its own ratio.
//!
//! # Samples used
//!
//! A history step is used when its time matches a modelled step exactly, its value was
//! measured (not missing, not interpolated), the model gives at least
//! `min_model_fraction` of kWp (night and dawn tell nothing about a ratio) and it is
//! not an outage: the meter reads 0 while the model gives more than 10 % of kWp, or the
//! whole (solar) day's measured energy is under 5 % of the modelled one.
//! Optionally older samples weigh less (`half_life_days`), so that a correction
//! refitted regularly follows slowly changing soiling.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::array::PvArray;
use super::chain::PvStep;
use super::measured::Measured;
use crate::error::InputError;

/// How a correction is fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionConfig {
    /// Clearness-index class edges, ascending (default 0.35, 0.65: three classes).
    pub kt_edges: Vec<f64>,
    /// Weight of the parent factor, in hours at kWp (default 2).
    pub prior_full_load_h: f64,
    /// Steps where the model gives less than this fraction of kWp are not used
    /// (default 0.02).
    pub min_model_fraction: f64,
    /// Half-life of a sample's weight, days before the last sample (default none: all
    /// samples weigh the same).
    pub half_life_days: Option<f64>,
}

impl Default for CorrectionConfig {
    fn default() -> Self {
        CorrectionConfig {
            kt_edges: vec![0.35, 0.65],
            prior_full_load_h: 2.0,
            min_model_fraction: 0.02,
            half_life_days: None,
        }
    }
}

/// What a fit used and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// History steps used.
    pub samples: usize,
    /// History steps with no modelled step at the same time.
    pub unmatched: usize,
    /// Matched steps not used: missing or interpolated measurement.
    pub not_measured: usize,
    /// Matched steps not used: model below `min_model_fraction` of kWp.
    pub low_model: usize,
    /// Matched steps not used: taken as outages (measured 0 while the model gives over
    /// 10 % of kWp, or a day with under 5 % of the modelled energy).
    pub outages: usize,
    /// Measured energy of the samples used, kWh.
    pub measured_kwh: f64,
    /// Modelled energy of the samples used, kWh.
    pub modelled_kwh: f64,
    /// First sample used.
    pub first: Option<DateTime<FixedOffset>>,
    /// Last sample used.
    pub last: Option<DateTime<FixedOffset>>,
}

/// Correction factors learned from measured history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PvCorrection {
    /// Longitude (degrees east) for the hour of mean solar time.
    pub longitude_deg: f64,
    /// Clearness-index class edges.
    pub kt_edges: Vec<f64>,
    /// Measured / modelled energy over all samples.
    pub global_factor: f64,
    /// Per hour of mean solar time (0–23).
    pub hour_factors: Vec<f64>,
    /// Per hour (24 rows) and sky class (`kt_edges.len() + 1` columns).
    pub factors: Vec<Vec<f64>>,
    /// Samples per hour and sky class.
    pub samples: Vec<Vec<usize>>,
    /// What the fit used.
    pub fit: FitSummary,
    /// The configuration it was fitted with.
    pub config: CorrectionConfig,
}

/// Errors of a predicted series against a measured one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Pairs compared.
    pub n: usize,
    /// Mean absolute error, kW.
    pub mae_kw: f64,
    /// Root mean square error, kW.
    pub rmse_kw: f64,
    /// Mean of predicted − measured, kW.
    pub bias_kw: f64,
    /// Predicted energy over measured energy (1 = no energy bias).
    pub energy_ratio: f64,
}

/// Compares `predicted` with `measured` pair by pair, skipping pairs where either is
/// not finite.
pub fn accuracy(predicted: &[f64], measured: &[f64]) -> Accuracy {
    let (mut n, mut abs, mut sq, mut bias, mut sp, mut sm) = (0usize, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (&p, &m) in predicted.iter().zip(measured) {
        if p.is_finite() && m.is_finite() {
            let d = p - m;
            n += 1;
            abs += d.abs();
            sq += d * d;
            bias += d;
            sp += p;
            sm += m;
        }
    }
    let nf = n.max(1) as f64;
    Accuracy {
        n,
        mae_kw: abs / nf,
        rmse_kw: (sq / nf).sqrt(),
        bias_kw: bias / nf,
        energy_ratio: if sm > 0.0 { sp / sm } else { f64::NAN },
    }
}

/// Hour (0–23) of mean solar time at `longitude_deg` of a time.
pub fn solar_hour(time: &DateTime<FixedOffset>, longitude_deg: f64) -> usize {
    let utc = time.with_timezone(&Utc);
    let h =
        f64::from(utc.hour()) + f64::from(utc.minute()) / 60.0 + f64::from(utc.second()) / 3600.0;
    ((h + longitude_deg / 15.0).rem_euclid(24.0).floor() as usize).min(23)
}

fn sky_class(kt: f64, edges: &[f64]) -> usize {
    edges.iter().take_while(|&&e| kt >= e).count()
}

impl PvCorrection {
    /// Fits the factors from `modelled` steps of `array` (the chain run on the weather
    /// of the history period) and the `measured` history.
    pub fn fit(
        array: &PvArray,
        modelled: &[PvStep],
        measured: &Measured,
        config: &CorrectionConfig,
    ) -> Result<Self, InputError> {
        if config.kt_edges.windows(2).any(|w| w[0] >= w[1])
            || config.kt_edges.iter().any(|e| !e.is_finite())
        {
            return Err(InputError::new(
                None,
                "kt_edges must be finite and ascending",
            ));
        }
        let classes = config.kt_edges.len() + 1;
        let by_time: HashMap<i64, usize> = modelled
            .iter()
            .enumerate()
            .map(|(i, s)| (s.time.timestamp_millis(), i))
            .collect();
        let step_h = measured.step_h();
        let kwp = array.kwp;

        let mut summary = FitSummary {
            samples: 0,
            unmatched: 0,
            not_measured: 0,
            low_model: 0,
            outages: 0,
            measured_kwh: 0.0,
            modelled_kwh: 0.0,
            first: None,
            last: None,
        };
        // (index into modelled, measured kW) of the usable samples.
        let mut used: Vec<(usize, f64)> = Vec::new();
        for (i, t) in measured.times.iter().enumerate() {
            let Some(&k) = by_time.get(&t.timestamp_millis()) else {
                summary.unmatched += 1;
                continue;
            };
            let m = measured.ac_kw[i];
            let p = modelled[k].ac_kw;
            if !m.is_finite() || measured.filled[i] {
                summary.not_measured += 1;
            } else if p.is_nan() || p < config.min_model_fraction * kwp {
                summary.low_model += 1;
            } else if m == 0.0 && p > 0.1 * kwp {
                summary.outages += 1;
            } else {
                used.push((k, m));
            }
        }
        // Whole days where the meter saw under 5 % of the modelled energy are outages
        // (or snow cover): none of their steps says anything about shading or soiling.
        let solar_day = |k: usize| -> i64 {
            let hours = modelled[k].time.timestamp() as f64 / 3600.0 + array.longitude_deg / 15.0;
            (hours / 24.0).floor() as i64
        };
        let mut per_day: HashMap<i64, (f64, f64)> = HashMap::new();
        for &(k, m) in &used {
            let e = per_day.entry(solar_day(k)).or_default();
            e.0 += m;
            e.1 += modelled[k].ac_kw;
        }
        let before = used.len();
        used.retain(|&(k, _)| {
            let (m, p) = per_day[&solar_day(k)];
            m >= 0.05 * p
        });
        summary.outages += before - used.len();
        if used.is_empty() {
            return Err(InputError::new(
                None,
                format!(
                    "no usable history to fit a correction: {} rows matched no weather time, \
                     {} were not measured, {} had the model below {} % of kWp, {} looked like outages",
                    summary.unmatched,
                    summary.not_measured,
                    summary.low_model,
                    config.min_model_fraction * 100.0,
                    summary.outages
                ),
            ));
        }
        let last_ms = used
            .iter()
            .map(|&(k, _)| modelled[k].time.timestamp_millis())
            .max()
            .unwrap_or(0);
        let weight = |k: usize| -> f64 {
            match config.half_life_days {
                Some(hl) if hl > 0.0 => {
                    let age_d =
                        (last_ms - modelled[k].time.timestamp_millis()) as f64 / 86_400_000.0;
                    0.5f64.powf(age_d / hl)
                }
                _ => 1.0,
            }
        };

        let mut m_hc = vec![vec![0.0; classes]; 24];
        let mut p_hc = vec![vec![0.0; classes]; 24];
        let mut n_hc = vec![vec![0usize; classes]; 24];
        for &(k, m) in &used {
            let s = &modelled[k];
            let w = weight(k) * step_h;
            let h = solar_hour(&s.time, array.longitude_deg);
            let c = sky_class(s.clearness_index, &config.kt_edges);
            m_hc[h][c] += w * m;
            p_hc[h][c] += w * s.ac_kw;
            n_hc[h][c] += 1;
            summary.samples += 1;
            summary.measured_kwh += m * step_h;
            summary.modelled_kwh += s.ac_kw * step_h;
            summary.first = Some(summary.first.map_or(s.time, |f| f.min(s.time)));
            summary.last = Some(summary.last.map_or(s.time, |l| l.max(s.time)));
        }
        let m_all: f64 = m_hc.iter().flatten().sum();
        let p_all: f64 = p_hc.iter().flatten().sum();
        let global = m_all / p_all;
        let lambda = config.prior_full_load_h * kwp;
        let mut hour_factors = Vec::with_capacity(24);
        let mut factors = Vec::with_capacity(24);
        for h in 0..24 {
            let mh: f64 = m_hc[h].iter().sum();
            let ph: f64 = p_hc[h].iter().sum();
            let fh = (mh + lambda * global) / (ph + lambda);
            hour_factors.push(fh);
            factors.push(
                (0..classes)
                    .map(|c| (m_hc[h][c] + lambda * fh) / (p_hc[h][c] + lambda))
                    .collect(),
            );
        }
        Ok(PvCorrection {
            longitude_deg: array.longitude_deg,
            kt_edges: config.kt_edges.clone(),
            global_factor: global,
            hour_factors,
            factors,
            samples: n_hc,
            fit: summary,
            config: config.clone(),
        })
    }

    /// The factor for one modelled step.
    pub fn factor(&self, step: &PvStep) -> f64 {
        let h = solar_hour(&step.time, self.longitude_deg);
        let c = sky_class(step.clearness_index, &self.kt_edges);
        self.factors
            .get(h)
            .and_then(|row| row.get(c))
            .copied()
            .unwrap_or(self.global_factor)
    }

    /// Corrected AC power, kW, of each step, within 0 and the inverter's `ac_max_kw`.
    pub fn apply(&self, steps: &[PvStep], ac_max_kw: f64) -> Vec<f64> {
        steps
            .iter()
            .map(|s| (self.factor(s) * s.ac_kw).max(0.0).min(ac_max_kw))
            .collect()
    }

    /// Writes the correction as JSON.
    pub fn save(&self, path: &Path) -> Result<(), InputError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| InputError::new(Some(path), format!("cannot encode: {e}")))?;
        std::fs::write(path, text)
            .map_err(|e| InputError::new(Some(path), format!("cannot write: {e}")))
    }

    /// Reads a correction written by [`PvCorrection::save`] and checks its shape.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(Some(path), format!("cannot read: {e}")))?;
        let c: PvCorrection = serde_json::from_str(&text).map_err(|e| {
            InputError::new(Some(path), format!("not a PV correction: {e}"))
                .at_line(e.line() as u64)
        })?;
        let classes = c.kt_edges.len() + 1;
        let finite = |v: &f64| v.is_finite() && *v >= 0.0;
        if c.factors.len() != 24
            || c.factors
                .iter()
                .any(|r| r.len() != classes || !r.iter().all(finite))
            || c.hour_factors.len() != 24
            || !finite(&c.global_factor)
        {
            return Err(InputError::new(
                Some(path),
                format!("factors must be 24 rows of {classes} finite non-negative numbers"),
            )
            .in_column("factors"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pv::chain::PvChain;
    use crate::pv::weather::WeatherStep;
    use crate::timeseries::SeriesReport;
    use chrono::Duration;

    fn days(n: i64) -> Vec<WeatherStep> {
        let t0: DateTime<FixedOffset> = "2025-05-01T00:00:00Z".parse().unwrap();
        (0..n * 24)
            .map(|i| {
                // Clear mornings, overcast afternoons (UTC+9.3 solar).
                let t = t0 + Duration::hours(i);
                let solar_h = (i % 24 + 9) % 24;
                let ghi = if (6..18).contains(&solar_h) {
                    let x = ((solar_h as f64 - 12.0) / 6.0 * std::f64::consts::FRAC_PI_2).cos();
                    if solar_h < 12 {
                        950.0 * x
                    } else {
                        250.0 * x
                    }
                } else {
                    0.0
                };
                WeatherStep {
                    time: t,
                    ghi_w_m2: ghi,
                    temp_air_c: 20.0,
                    wind_m_s: 2.0,
                }
            })
            .collect()
    }

    fn measured_from(steps: &[PvStep], f: impl Fn(&PvStep) -> f64) -> Measured {
        Measured {
            column: "pv".into(),
            times: steps.iter().map(|s| s.time).collect(),
            ac_kw: steps.iter().map(f).collect(),
            filled: vec![false; steps.len()],
            report: SeriesReport {
                step: Duration::hours(1),
                ..SeriesReport::default()
            },
        }
    }

    #[test]
    fn learns_a_uniform_soiling_loss() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&days(20));
        let m = measured_from(&steps, |s| 0.9 * s.ac_kw);
        let c = PvCorrection::fit(&a, &steps, &m, &CorrectionConfig::default()).unwrap();
        assert!((c.global_factor - 0.9).abs() < 1e-12);
        for s in &steps {
            assert!((c.factor(s) - 0.9).abs() < 1e-9);
        }
        let corrected = c.apply(&steps, a.ac_max_kw());
        let acc = accuracy(&corrected, &m.ac_kw);
        assert!(acc.mae_kw < 1e-9, "{acc:?}");
    }

    #[test]
    fn learns_clear_sky_shading_at_some_hours_only() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&days(30));
        // A tree shades the array on clear mornings between 10 and 12 solar time.
        let shaded = |s: &PvStep| {
            let h = solar_hour(&s.time, a.longitude_deg);
            (10..12).contains(&h) && s.clearness_index >= 0.65
        };
        let m = measured_from(&steps, |s| if shaded(s) { 0.5 * s.ac_kw } else { s.ac_kw });
        let raw = accuracy(&steps.iter().map(|s| s.ac_kw).collect::<Vec<_>>(), &m.ac_kw);
        let c = PvCorrection::fit(&a, &steps, &m, &CorrectionConfig::default()).unwrap();
        let corr = accuracy(&c.apply(&steps, a.ac_max_kw()), &m.ac_kw);
        assert!(
            corr.mae_kw < 0.5 * raw.mae_kw,
            "raw {raw:?} corrected {corr:?}"
        );
        let shaded_step = steps.iter().find(|s| shaded(s)).unwrap();
        assert!(
            (c.factor(shaded_step) - 0.5).abs() < 0.05,
            "{} {:?} {:?}",
            c.factor(shaded_step),
            c.factors,
            c.samples
        );
        let noon = steps
            .iter()
            .find(|s| solar_hour(&s.time, a.longitude_deg) == 12)
            .unwrap();
        assert!((c.factor(noon) - 1.0).abs() < 0.05);
    }

    #[test]
    fn outages_missing_and_night_are_not_learned_from() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&days(5));
        let mut m = measured_from(&steps, |s| s.ac_kw);
        // Day 2 is an outage (0 all day), one value is missing, one interpolated.
        // (solar time is UTC + 9.3 h: rows 15..39 are one solar day).
        for v in &mut m.ac_kw[15..39] {
            *v = 0.0;
        }
        m.ac_kw[60] = f64::NAN;
        m.filled[61] = true;
        let c = PvCorrection::fit(&a, &steps, &m, &CorrectionConfig::default()).unwrap();
        assert!((c.global_factor - 1.0).abs() < 1e-12, "{c:?}");
        assert!(c.fit.outages > 0);
        assert_eq!(c.fit.not_measured, 2);
        assert!(c.fit.low_model > 0);
    }

    #[test]
    fn no_overlap_is_an_error_not_a_panic() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&days(1));
        let mut m = measured_from(&steps, |s| s.ac_kw);
        for t in m.times.iter_mut() {
            *t += Duration::days(365);
        }
        let e = PvCorrection::fit(&a, &steps, &m, &CorrectionConfig::default()).unwrap_err();
        assert!(e.message.contains("no usable history"), "{e}");
    }

    #[test]
    fn saves_and_loads() {
        let a = PvArray::new(35.893, 139.952, 15.0, 20.0, 180.0, 100.0, 90.0);
        let steps = PvChain::new(&a).run(&days(3));
        let m = measured_from(&steps, |s| 0.8 * s.ac_kw);
        let c = PvCorrection::fit(&a, &steps, &m, &CorrectionConfig::default()).unwrap();
        let dir = std::env::temp_dir().join(format!("aems-pv-corr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.json");
        c.save(&p).unwrap();
        assert_eq!(PvCorrection::load(&p).unwrap(), c);
        std::fs::write(&p, "{\"global_factor\": 1}").unwrap();
        assert!(PvCorrection::load(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
