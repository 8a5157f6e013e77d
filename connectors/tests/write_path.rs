//! The write path's guard as a property: for random registers, scales, limits, device
//! limits, ramps and requests, what [`safety::guard`] lets through — the words
//! [`connectors::ModbusDevice::write`] sends — never leaves the point's `[min, max]` narrowed
//! by the device's limits, decodes to the value it reports, fits the point's own register,
//! and keeps the ramp limit between consecutive writes.

use connectors::profile::{
    DataType, OutOfRange, Point, Register, RegisterKind, WordOrder, WriteFunction,
};
use connectors::safety;
use connectors::WritablePoint;
use proptest::prelude::*;

fn point(
    data_type: DataType,
    scale: f64,
    sign: f64,
    offset: f64,
    (min, max): (f64, f64),
    ramp: Option<f64>,
    out_of_range: OutOfRange,
) -> WritablePoint {
    WritablePoint {
        point: Point {
            name: "power_kw".into(),
            register: Register {
                kind: RegisterKind::Holding,
                address: 40000,
                data_type,
                word_order: WordOrder::Big,
            },
            scale,
            sign,
            offset,
            scale_factor: None,
            unit: "kW".into(),
            not_available: vec![],
            sim_value: None,
            description: String::new(),
            line: 1,
        },
        min,
        max,
        ramp_max_step: ramp,
        refresh_s: None,
        out_of_range,
        write: WriteFunction::Multiple,
    }
}

/// Engineering values the register can hold: [lowest, highest].
fn representable(data_type: DataType, scale: f64, sign: f64, offset: f64) -> (f64, f64) {
    let (a, b) = match data_type {
        DataType::U16 => (0.0, f64::from(u16::MAX)),
        DataType::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
        DataType::U32 => (0.0, f64::from(u32::MAX)),
        DataType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        _ => (-1e6, 1e6),
    };
    let (x, y) = (a * scale * sign + offset, b * scale * sign + offset);
    (x.min(y), x.max(y))
}

/// Float noise of decoding at these magnitudes (far below any register's step).
fn eps(lo: f64, hi: f64) -> f64 {
    1e-12 * lo.abs().max(hi.abs()).max(1.0)
}

fn close_within(v: f64, lo: f64, hi: f64) -> bool {
    v >= lo - eps(lo, hi) && v <= hi + eps(lo, hi)
}

fn arb_point() -> impl Strategy<Value = (WritablePoint, Option<(f64, f64)>)> {
    (
        prop_oneof![
            Just(DataType::U16),
            Just(DataType::I16),
            Just(DataType::U32),
            Just(DataType::I32),
            Just(DataType::F32),
            Just(DataType::F64),
        ],
        prop_oneof![
            Just(0.001),
            Just(0.01),
            Just(0.1),
            Just(0.5),
            Just(1.0),
            Just(10.0),
            0.001f64..10.0
        ],
        prop_oneof![Just(1.0), Just(-1.0)],
        prop_oneof![Just(0.0), -50.0f64..50.0],
        (0.0f64..1.0, 0.0f64..1.0),
        proptest::option::of((0.0f64..1.0, 0.0f64..1.0)),
        proptest::option::of(0.001f64..0.5),
        prop_oneof![Just(OutOfRange::Clamp), Just(OutOfRange::Refuse)],
    )
        .prop_map(|(dt, scale, sign, offset, (u, v), narrow, ramp, oor)| {
            let (lo, hi) = representable(dt, scale, sign, offset);
            // Limits inside what the register can hold (a small part of a 32-bit range).
            let span = (hi - lo).min(2000.0);
            let at = |f: f64| lo + f * span;
            let (min, max) = (at(u.min(v)), at(u.max(v)));
            let narrow = narrow.map(|(a, b)| (at(a.min(b)), at(a.max(b))));
            let ramp = ramp.map(|r| r * span.max(1e-3));
            (
                point(dt, scale, sign, offset, (min, max), ramp, oor),
                narrow,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// One request: within the limits, decoded as reported, in the point's register.
    #[test]
    fn nothing_written_leaves_the_limits(
        (p, narrow) in arb_point(),
        f in -0.5f64..1.5,
        present in proptest::option::of(0.0f64..1.0),
    ) {
        let (lo, hi) = safety::limits(&p, narrow);
        let requested = lo + f * (hi - lo) + f * 3.0;
        let present = present.map(|x| lo + x * (hi - lo));
        if let Ok(g) = safety::guard(&p, narrow, requested, present, None) {
            prop_assert!(lo <= hi);
            prop_assert!(close_within(g.value, lo, hi), "{} outside [{lo}, {hi}]", g.value);
            prop_assert_eq!(p.point.decode(&g.words, None), Some(g.value));
            prop_assert_eq!(g.words.len(), usize::from(p.point.register.len()));
            if let (Some(step), Some(now)) = (p.ramp_max_step, present) {
                if (now - step).max(lo) <= (now + step).min(hi) {
                    prop_assert!((g.value - now).abs() <= step + 2.0 * eps(lo, hi));
                }
            }
            prop_assert!(g.clamped.is_some() || requested >= lo && requested <= hi);
        } else if p.out_of_range == OutOfRange::Clamp && lo <= hi {
            // Refused while clamping: only when no register value lies within the window.
            prop_assert!(p.point.resolution(None) > (hi - lo) * 0.5 || p.ramp_max_step.is_some());
        }
    }

    /// A sequence of requests, each from what the last one wrote: the ramp holds between
    /// consecutive writes, and no value leaves the limits.
    #[test]
    fn the_ramp_holds_between_consecutive_writes(
        (p, narrow) in arb_point(),
        fs in proptest::collection::vec(-1.0f64..2.0, 1..20),
    ) {
        prop_assume!(safety::limits(&p, narrow).0 <= safety::limits(&p, narrow).1);
        let (lo, hi) = safety::limits(&p, narrow);
        // The device's present value, read before the first write.
        let mut present = Some(lo + 0.5 * (hi - lo));
        for f in fs {
            let requested = lo + f * (hi - lo);
            if let Ok(g) = safety::guard(&p, narrow, requested, present, None) {
                prop_assert!(close_within(g.value, lo, hi), "{} outside [{lo}, {hi}]", g.value);
                if let (Some(step), Some(now)) = (p.ramp_max_step, present) {
                    prop_assert!((g.value - now).abs() <= step + 2.0 * eps(lo, hi),
                        "{now} -> {} beyond the ramp {step}", g.value);
                }
                present = Some(g.value);
            }
        }
    }

    /// A ramp limit with no known present value (not available, a short read): refused.
    #[test]
    fn a_ramp_without_a_present_value_is_refused((p, narrow) in arb_point(), f in 0.0f64..1.0) {
        let (lo, hi) = safety::limits(&p, narrow);
        let r = safety::guard(&p, narrow, lo + f * (hi - lo), None, None);
        if p.ramp_max_step.is_some() {
            prop_assert!(r.is_err());
        }
    }

    /// Nothing that is not a finite number is ever written.
    #[test]
    fn a_non_number_is_refused((p, narrow) in arb_point()) {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            prop_assert!(safety::guard(&p, narrow, v, None, None).is_err());
        }
    }
}

/// Rounding to the register's resolution stays inside the limit: 0.5 kW steps, a limit of
/// 10.3 kW, a request of 11: 10.0 kW is written, not 10.5 (the nearest step to 10.3).
#[test]
fn rounding_never_passes_a_limit() {
    let p = point(
        DataType::U16,
        0.5,
        1.0,
        0.0,
        (0.0, 10.3),
        None,
        OutOfRange::Clamp,
    );
    let g = safety::guard(&p, None, 11.0, None, None).unwrap();
    assert_eq!(g.value, 10.0);
    assert_eq!(g.words, vec![20]);
    assert!(g.clamped.unwrap().contains("outside the limits"));
    // Within the limits, the nearest step: 7.3 → 7.5.
    assert_eq!(safety::guard(&p, None, 7.3, None, None).unwrap().value, 7.5);
    // Device limits narrower than one step: refused, nothing written.
    assert!(safety::guard(&p, Some((3.1, 3.4)), 3.2, None, None).is_err());
}

/// A short read is no value (flagged as not available upstream), never zeros for the
/// missing words: half of an i32 power register, or none of it.
#[test]
fn a_short_read_is_no_value() {
    let p = point(
        DataType::I32,
        0.001,
        1.0,
        0.0,
        (-100.0, 100.0),
        Some(5.0),
        OutOfRange::Clamp,
    );
    assert_eq!(p.point.decode(&[0, 1000], None), Some(1.0));
    assert_eq!(p.point.decode(&[0], None), None);
    assert_eq!(p.point.decode(&[], None), None);
    assert_eq!(p.point.decode(&[0, 1000, 0], None), None);
}
