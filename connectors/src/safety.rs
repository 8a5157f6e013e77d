//! Safety of setpoints: limits, ramp limit, clamp-or-refuse, before anything is encoded.
//!
//! [`check`] turns a requested value into the value that may be written, or a refusal;
//! [`guard`] adds the encoding (the register value nearest the request that stays within
//! the limits and the ramp). Both are pure, so the rules are tested without a device;
//! [`crate::ModbusDevice::write`], the one write path, applies [`guard`] to every write, and
//! refuses outright any register not declared writable. What the AEMS reports or publishes
//! as sent is what [`guard`] returned and the device confirmed, never the request.

use crate::profile::{OutOfRange, WritablePoint};

/// What may be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Write this value; `clamped` says why it differs from the request, if it does.
    Write {
        /// Value to write.
        value: f64,
        /// Why the value was changed.
        clamped: Option<String>,
    },
    /// Write nothing.
    Refuse {
        /// Why.
        reason: String,
    },
}

/// The point's limits `[min, max]` narrowed by `narrow`, the per-device limits of
/// `devices.toml`.
pub fn limits(point: &WritablePoint, narrow: Option<(f64, f64)>) -> (f64, f64) {
    match narrow {
        Some((a, b)) => (point.min.max(a), point.max.min(b)),
        None => (point.min, point.max),
    }
}

/// Checks `requested` against the point's limits `[min, max]` (narrowed by `narrow`, the
/// per-device limits of `devices.toml`) and, when the point has a ramp limit and the present
/// value is known, against `present ± ramp_max_step`.
pub fn check(
    point: &WritablePoint,
    narrow: Option<(f64, f64)>,
    requested: f64,
    present: Option<f64>,
) -> Decision {
    if !requested.is_finite() {
        return Decision::Refuse {
            reason: format!("{requested} is not a finite number"),
        };
    }
    let (lo, hi) = limits(point, narrow);
    if lo > hi {
        return Decision::Refuse {
            reason: format!(
                "the device's limits leave nothing of [{}, {}]",
                point.min, point.max
            ),
        };
    }
    let unit = &point.point.unit;
    let mut value = requested;
    let mut why: Vec<String> = Vec::new();
    if value < lo || value > hi {
        if point.out_of_range == OutOfRange::Refuse {
            return Decision::Refuse {
                reason: format!("{requested} {unit} outside the limits [{lo}, {hi}]"),
            };
        }
        value = value.clamp(lo, hi);
        why.push(format!(
            "{requested} {unit} outside the limits [{lo}, {hi}]"
        ));
    }
    if let (Some(step), Some(now)) = (point.ramp_max_step, present) {
        let (a, b) = ((now - step).max(lo), (now + step).min(hi));
        if a <= b && (value < a || value > b) {
            if point.out_of_range == OutOfRange::Refuse {
                return Decision::Refuse {
                    reason: format!(
                        "{requested} {unit} is more than the ramp limit {step} from the present {now}"
                    ),
                };
            }
            value = value.clamp(a, b);
            why.push(format!("ramp limit {step} {unit} from the present {now}"));
        }
    }
    Decision::Write {
        value,
        clamped: (!why.is_empty()).then(|| format!("clamped to {value}: {}", why.join("; "))),
    }
}

/// A setpoint ready for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded {
    /// The value the words encode (what the device will hold).
    pub value: f64,
    /// The register words.
    pub words: Vec<u16>,
    /// Why the value differs from the request (limits, ramp), if it does beyond the
    /// register's resolution.
    pub clamped: Option<String>,
}

/// The one guard of every setpoint: [`check`] (limits narrowed by `narrow`, the ramp from
/// `present`), then the encoding in the point's register (scale factor `sf`) to the register
/// value nearest the checked value that stays within the same limits and ramp window.
/// `Err` is the refusal's reason; nothing is to be written then. A point with a ramp limit
/// whose present value is not known is refused.
pub fn guard(
    point: &WritablePoint,
    narrow: Option<(f64, f64)>,
    requested: f64,
    present: Option<f64>,
    sf: Option<i16>,
) -> Result<Guarded, String> {
    if let (Some(step), None) = (point.ramp_max_step, present) {
        return Err(format!(
            "the present value is not known (not available or a short read): the ramp limit \
             of {step} {} cannot be checked",
            point.point.unit
        ));
    }
    let (value, clamped) = match check(point, narrow, requested, present) {
        Decision::Refuse { reason } => return Err(reason),
        Decision::Write { value, clamped } => (value, clamped),
    };
    let (mut lo, mut hi) = limits(point, narrow);
    if let (Some(step), Some(now)) = (point.ramp_max_step, present) {
        let (a, b) = ((now - step).max(lo), (now + step).min(hi));
        if a <= b {
            (lo, hi) = (a, b);
        }
    }
    let reg = point.point.register;
    let words = point
        .point
        .encode_within(value, lo, hi, sf)
        .map_err(|e| format!("{value} cannot be encoded in {reg}: {e}"))?;
    let written = point
        .point
        .decode(&words, sf)
        .ok_or_else(|| format!("{value} encodes as 'not available' in {reg}"))?;
    Ok(Guarded {
        value: written,
        words,
        clamped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{DataType, Point, Register, RegisterKind, WordOrder, WriteFunction};

    fn wp(out_of_range: OutOfRange, ramp: Option<f64>) -> WritablePoint {
        WritablePoint {
            point: Point {
                name: "power_kw".into(),
                register: Register {
                    kind: RegisterKind::Holding,
                    address: 0,
                    data_type: DataType::I32,
                    word_order: WordOrder::Big,
                },
                scale: 0.001,
                sign: 1.0,
                offset: 0.0,
                scale_factor: None,
                unit: "kW".into(),
                not_available: vec![],
                sim_value: None,
                description: String::new(),
                line: 1,
            },
            min: -100.0,
            max: 100.0,
            ramp_max_step: ramp,
            refresh_s: None,
            out_of_range,
            write: WriteFunction::Multiple,
        }
    }

    #[test]
    fn in_range_passes_unchanged() {
        assert_eq!(
            check(&wp(OutOfRange::Clamp, None), None, 50.0, None),
            Decision::Write {
                value: 50.0,
                clamped: None
            }
        );
    }

    #[test]
    fn out_of_range_is_clamped_or_refused() {
        match check(&wp(OutOfRange::Clamp, None), None, 250.0, None) {
            Decision::Write { value, clamped } => {
                assert_eq!(value, 100.0);
                assert!(clamped.unwrap().contains("outside the limits"));
            }
            d => panic!("{d:?}"),
        }
        assert!(matches!(
            check(&wp(OutOfRange::Refuse, None), None, -250.0, None),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn device_limits_narrow_but_never_widen() {
        let p = wp(OutOfRange::Clamp, None);
        assert!(
            matches!(check(&p, Some((-40.0, 40.0)), 50.0, None), Decision::Write { value, .. } if value == 40.0)
        );
        assert!(
            matches!(check(&p, Some((-400.0, 400.0)), 150.0, None), Decision::Write { value, .. } if value == 100.0)
        );
    }

    #[test]
    fn ramp_limits_the_step_from_the_present_value() {
        let p = wp(OutOfRange::Clamp, Some(20.0));
        assert!(
            matches!(check(&p, None, 90.0, Some(10.0)), Decision::Write { value, .. } if value == 30.0)
        );
        assert!(
            matches!(check(&p, None, 90.0, None), Decision::Write { value, .. } if value == 90.0)
        );
        assert!(matches!(
            check(&wp(OutOfRange::Refuse, Some(20.0)), None, 90.0, Some(10.0)),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn non_finite_is_refused() {
        assert!(matches!(
            check(&wp(OutOfRange::Clamp, None), None, f64::NAN, None),
            Decision::Refuse { .. }
        ));
    }
}
