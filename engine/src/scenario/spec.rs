//! Building blocks shared by every table of the scenario TOML: series values and checks.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::{Ctx, ScenarioError};
use crate::scenario::series::SeriesTable;

/// A key marked *series* in the scenario format: a number used at every step, or the
/// name of a CSV column.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesSpec {
    /// The same value at every step.
    Constant(f64),
    /// The values of this CSV column on the horizon rows.
    Column(String),
}

impl<'de> Deserialize<'de> for SeriesSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeriesSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or the name of a CSV column")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SeriesSpec, E> {
                Ok(SeriesSpec::Constant(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeriesSpec, E> {
                Ok(SeriesSpec::Constant(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeriesSpec, E> {
                Ok(SeriesSpec::Constant(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeriesSpec, E> {
                Ok(SeriesSpec::Column(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Resolves series and node references of one table entry and runs the common checks,
/// turning each failure into a [`ScenarioError`] that names the table, id and key.
pub struct Resolver<'a> {
    /// Where errors are reported.
    pub ctx: Ctx<'a>,
    pub(crate) table: &'a SeriesTable,
    pub(crate) rows: std::ops::Range<usize>,
    pub(crate) node_ids: &'a [String],
    /// Step length in hours.
    pub step_hours: f64,
}

impl Resolver<'_> {
    /// The per-step values of a series key on the horizon; constants must be finite.
    pub fn series(&self, key: &str, spec: &SeriesSpec) -> Result<Vec<f64>, ScenarioError> {
        match spec {
            SeriesSpec::Constant(v) => {
                self.finite(key, *v)?;
                Ok(vec![*v; self.rows.len()])
            }
            SeriesSpec::Column(name) => self.table.values(&self.ctx, key, name, self.rows.clone()),
        }
    }

    /// Like [`Resolver::series`], with `default` when the key is absent.
    pub fn series_or(
        &self,
        key: &str,
        spec: &Option<SeriesSpec>,
        default: f64,
    ) -> Result<Vec<f64>, ScenarioError> {
        match spec {
            Some(s) => self.series(key, s),
            None => Ok(vec![default; self.rows.len()]),
        }
    }

    /// A series whose every step must be ≥ 0 (names the first bad step).
    pub fn nonneg_series(&self, key: &str, spec: &SeriesSpec) -> Result<Vec<f64>, ScenarioError> {
        let v = self.series(key, spec)?;
        self.check_series(key, &v, |x| x >= 0.0, "must not be negative")?;
        Ok(v)
    }

    /// Fails with `what` at the first step where `ok` does not hold.
    pub fn check_series(
        &self,
        key: &str,
        values: &[f64],
        ok: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<(), ScenarioError> {
        match values.iter().position(|&x| !ok(x)) {
            None => Ok(()),
            Some(t) => Err(self.ctx.err(
                key,
                format!("{} at step {t} ({}): {what}", values[t], self.time_of(t)),
            )),
        }
    }

    /// The timestamp of horizon step `t`, for messages.
    pub fn time_of(&self, t: usize) -> String {
        self.table
            .times()
            .get(self.rows.start + t)
            .map(|x| x.to_rfc3339())
            .unwrap_or_default()
    }

    /// The index of the node named by `key`.
    pub fn node(&self, key: &str, id: &str) -> Result<usize, ScenarioError> {
        self.node_ids
            .iter()
            .position(|n| n == id)
            .ok_or_else(|| self.ctx.err(key, format!("node '{id}' does not exist")))
    }

    /// A finite number.
    pub fn finite(&self, key: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.ctx.err(key, format!("{v} is not a finite number")))
        }
    }

    /// A finite number ≥ 0 (a bound, price or factor that must not be negative).
    pub fn nonneg(&self, key: &str, v: f64) -> Result<f64, ScenarioError> {
        self.finite(key, v)?;
        if v < 0.0 {
            return Err(self
                .ctx
                .err(key, format!("{v}: bound must not be negative")));
        }
        Ok(v)
    }

    /// A number ≥ 0 that may be `inf` (grid limits), but not NaN.
    pub fn nonneg_or_inf(&self, key: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_nan() || v < 0.0 {
            return Err(self
                .ctx
                .err(key, format!("{v}: bound must not be negative")));
        }
        Ok(v)
    }

    /// A finite number > 0.
    pub fn positive(&self, key: &str, v: f64) -> Result<f64, ScenarioError> {
        self.finite(key, v)?;
        if v <= 0.0 {
            return Err(self.ctx.err(key, format!("{v} must be positive")));
        }
        Ok(v)
    }

    /// An efficiency in (0, 1].
    pub fn efficiency(&self, key: &str, v: f64) -> Result<f64, ScenarioError> {
        if !(v > 0.0 && v <= 1.0) {
            return Err(self.ctx.err(key, format!("efficiency {v} outside (0, 1]")));
        }
        Ok(v)
    }

    /// `min ≤ max` for a pair of bounds, reported against `min_key`.
    pub fn ordered(
        &self,
        min_key: &str,
        min: f64,
        max_key: &str,
        max: f64,
    ) -> Result<(), ScenarioError> {
        if min > max {
            return Err(self.ctx.err(
                min_key,
                format!("{min_key} = {min} is above {max_key} = {max}"),
            ));
        }
        Ok(())
    }
}
