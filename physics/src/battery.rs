//! A battery's energy: the recursion of the dispatch model and what a battery does when
//! asked for a power.
//!
//! `e' = e·(1 − sd·Δ) + (ηc·ch − dis/ηd)·Δ`, with `0 ≤ ch ≤ charge_kw`,
//! `0 ≤ dis ≤ discharge_kw`, never both, and `min_kwh ≤ e' ≤ max_kwh`. With a
//! [`PowerCurve`], both powers are also at most their rating × the curve's share at the
//! state of charge the step starts from (after self-discharge), as real inverters derate
//! near full charge (CityLearn's `capacity_power_curve`).

use serde::{Deserialize, Serialize};

/// A battery's power limit against its state of charge: points `[soc, share]` — the state
/// of charge as a fraction of `capacity_kwh`, the share of the rated charge and discharge
/// power available there — from soc 0 to soc 1, linear between points (at most
/// [`PowerCurve::MAX_POINTS`]). Concave, so that its linear cuts are exact
/// (`docs/extensions.md`, "Battery power curve").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerCurve {
    points: [[f64; 2]; PowerCurve::MAX_POINTS],
    len: usize,
}

impl PowerCurve {
    /// Most points a curve may have.
    pub const MAX_POINTS: usize = 8;

    /// The curve through `points`, or why it is not one: 2 to 8 points, soc strictly
    /// increasing from 0 to 1, shares in [0, 1], concave.
    pub fn new(points: &[[f64; 2]]) -> Result<Self, String> {
        check_abscissas(points, "states of charge")?;
        if let Some(p) = points.iter().find(|p| !(0.0..=1.0).contains(&p[1])) {
            return Err(format!("share {} at soc {} outside [0, 1]", p[1], p[0]));
        }
        let slope = |a: [f64; 2], b: [f64; 2]| (b[1] - a[1]) / (b[0] - a[0]);
        for w in points.windows(3) {
            if slope(w[1], w[2]) > slope(w[0], w[1]) + 1e-12 {
                return Err(format!(
                    "not concave at soc {}: the share falls and then rises (its linear cuts \
                     would not be exact)",
                    w[1][0]
                ));
            }
        }
        let (points, len) = stored(points);
        Ok(Self { points, len })
    }

    /// The points.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points[..self.len]
    }

    /// The share of rated power at state of charge `soc` (clamped to [0, 1]).
    pub fn share(&self, soc: f64) -> f64 {
        interpolate(self.points(), soc)
    }

    /// Its linear cuts `share ≤ intercept + slope · soc`, one per segment: their minimum is
    /// the curve (it is concave).
    pub fn cuts(&self) -> Vec<(f64, f64)> {
        self.points()
            .windows(2)
            .map(|w| {
                let slope = (w[1][1] - w[0][1]) / (w[1][0] - w[0][0]);
                (w[0][1] - slope * w[0][0], slope)
            })
            .collect()
    }
}

/// A battery's part-load efficiency: points `[power share, round-trip efficiency]` — the
/// power as a share of the rating (charge_kw when charging, discharge_kw when
/// discharging), the round trip at that power, each way its square root (CityLearn's
/// `power_efficiency_curve`) — from share 0 to share 1, linear between points (at most
/// [`PowerCurve::MAX_POINTS`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyCurve {
    points: [[f64; 2]; PowerCurve::MAX_POINTS],
    len: usize,
}

impl EfficiencyCurve {
    /// The curve through `points`, or why it is not one: 2 to 8 points, shares strictly
    /// increasing from 0 to 1, efficiencies in (0, 1].
    pub fn new(points: &[[f64; 2]]) -> Result<Self, String> {
        check_abscissas(points, "power shares")?;
        if let Some(p) = points.iter().find(|p| !(p[1] > 0.0 && p[1] <= 1.0)) {
            return Err(format!(
                "efficiency {} at share {} outside (0, 1]",
                p[1], p[0]
            ));
        }
        let (points, len) = stored(points);
        Ok(Self { points, len })
    }

    /// The points.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points[..self.len]
    }

    /// The one-way efficiency at power share `x` (clamped to [0, 1]): √ of the round trip.
    pub fn one_way(&self, x: f64) -> f64 {
        interpolate(self.points(), x).sqrt()
    }

    /// The lowest one-way efficiency over the curve: the constant the dispatch model
    /// takes, which never promises more energy than the curve delivers (the best such
    /// linear model; `docs/extensions.md`, "Battery efficiency curve").
    pub fn lowest_one_way(&self) -> f64 {
        self.points()
            .iter()
            .map(|p| p[1].sqrt())
            .fold(f64::INFINITY, f64::min)
    }
}

/// Checks what both curves ask of their points' first coordinates (`name`, plural): 2 to
/// [`PowerCurve::MAX_POINTS`] finite points, running from 0 to 1, strictly increasing.
fn check_abscissas(points: &[[f64; 2]], name: &str) -> Result<(), String> {
    if points.len() < 2 || points.len() > PowerCurve::MAX_POINTS {
        return Err(format!(
            "{} points: a curve has 2 to {}",
            points.len(),
            PowerCurve::MAX_POINTS
        ));
    }
    if points.iter().flatten().any(|v| !v.is_finite()) {
        return Err("a point is not a finite number".into());
    }
    if points[0][0] != 0.0 || points[points.len() - 1][0] != 1.0 {
        return Err(format!("the {name} must run from 0 to 1"));
    }
    for w in points.windows(2) {
        if w[1][0] <= w[0][0] {
            return Err(format!(
                "{name} must increase: {} after {}",
                w[1][0], w[0][0]
            ));
        }
    }
    Ok(())
}

/// Checked points in a curve's fixed-size storage, with their number.
fn stored(points: &[[f64; 2]]) -> ([[f64; 2]; PowerCurve::MAX_POINTS], usize) {
    let mut all = [[0.0; 2]; PowerCurve::MAX_POINTS];
    all[..points.len()].copy_from_slice(points);
    (all, points.len())
}

/// The piecewise-linear curve through `points` (checked) at `x`, clamped to [0, 1] (0 when
/// `x` is not a number).
fn interpolate(points: &[[f64; 2]], x: f64) -> f64 {
    let x = if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let i = points
        .windows(2)
        .position(|w| x <= w[1][0])
        .unwrap_or(points.len() - 2);
    let (a, b) = (points[i], points[i + 1]);
    a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0])
}

/// A battery's ratings (`shared/spec/dispatch-model.md`, Battery k).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Battery {
    /// Lowest stored energy, kWh.
    pub min_kwh: f64,
    /// Highest stored energy, kWh.
    pub max_kwh: f64,
    /// Largest charging power, kW.
    pub charge_kw: f64,
    /// Largest discharging power, kW.
    pub discharge_kw: f64,
    /// Share of charging power stored, in (0, 1].
    pub charge_efficiency: f64,
    /// Share of stored energy delivered when discharging, in (0, 1].
    pub discharge_efficiency: f64,
    /// Share of stored energy lost per hour.
    pub self_discharge_per_hour: f64,
    /// Nameplate energy, kWh: the state of charge of the power curve is relative to it.
    pub capacity_kwh: f64,
    /// Power limit against the state of charge (None: the ratings at every charge).
    pub power_curve: Option<PowerCurve>,
    /// Part-load efficiency (None: `charge_efficiency` and `discharge_efficiency` at every
    /// power; with a curve they are ignored by this law).
    pub efficiency_curve: Option<EfficiencyCurve>,
}

/// What a battery did over an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response {
    /// Charging power, kW (≥ 0).
    pub charge_kw: f64,
    /// Discharging power, kW (≥ 0; never both).
    pub discharge_kw: f64,
    /// Stored energy at the end, kWh.
    pub energy_kwh: f64,
}

impl Response {
    /// Net power delivered to the node, kW (+ discharging).
    pub fn power_kw(&self) -> f64 {
        self.discharge_kw - self.charge_kw
    }
}

impl Battery {
    /// Share of the stored energy kept over `dt_h` hours of self-discharge.
    pub fn kept(&self, dt_h: f64) -> f64 {
        1.0 - self.self_discharge_per_hour * dt_h
    }

    /// The share of the rated powers available over a step that starts at `energy_kwh`
    /// and lasts `dt_h` hours: the power curve at the state of charge after the step's
    /// self-discharge (1 without a curve).
    pub fn power_share(&self, energy_kwh: f64, dt_h: f64) -> f64 {
        match (&self.power_curve, self.capacity_kwh > 0.0) {
            (Some(c), true) => c.share(energy_kwh * self.kept(dt_h) / self.capacity_kwh),
            _ => 1.0,
        }
    }

    /// The share of `charge_kw` that is stored when charging at it.
    pub fn charge_efficiency_at(&self, charge_kw: f64) -> f64 {
        match &self.efficiency_curve {
            Some(c) if self.charge_kw > 0.0 => c.one_way(charge_kw / self.charge_kw),
            _ => self.charge_efficiency,
        }
    }

    /// The share of the stored energy drawn that is delivered when discharging at
    /// `discharge_kw`.
    pub fn discharge_efficiency_at(&self, discharge_kw: f64) -> f64 {
        match &self.efficiency_curve {
            Some(c) if self.discharge_kw > 0.0 => c.one_way(discharge_kw / self.discharge_kw),
            _ => self.discharge_efficiency,
        }
    }

    /// The energy recursion (the dispatch model's, with the efficiency curve where there
    /// is one): the energy after `dt_h` hours at `charge_kw` and `discharge_kw` from
    /// `energy_kwh`.
    pub fn next_energy_kwh(
        &self,
        energy_kwh: f64,
        charge_kw: f64,
        discharge_kw: f64,
        dt_h: f64,
    ) -> f64 {
        energy_kwh * self.kept(dt_h)
            + (self.charge_efficiency_at(charge_kw) * charge_kw
                - discharge_kw / self.discharge_efficiency_at(discharge_kw))
                * dt_h
    }

    /// The largest power in `[0, upto]` whose energy `f(power)` (increasing) stays within
    /// `kwh`: exact for constant efficiencies, by bisection along a curve.
    fn largest_within(&self, upto: f64, kwh: f64, f: impl Fn(f64) -> f64) -> f64 {
        if kwh <= 0.0 {
            return 0.0;
        }
        if f(upto) <= kwh {
            return upto;
        }
        let (mut lo, mut hi) = (0.0, upto);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if f(mid) <= kwh {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// What the battery does for `dt_h` hours when asked for `power_kw` (+ discharging)
    /// from `energy_kwh`: the power limited by its ratings and by the energy bounds (it
    /// stops at `min_kwh` and `max_kwh`); its own management holds `min_kwh` against
    /// self-discharge by charging, as the dispatch model's energy bounds assume.
    pub fn respond(&self, energy_kwh: f64, power_kw: f64, dt_h: f64) -> Response {
        let p = if power_kw.is_finite() { power_kw } else { 0.0 };
        let share = self.power_share(energy_kwh, dt_h);
        let (mut ch, mut dis) = if p < 0.0 {
            ((-p).min(self.charge_kw * share), 0.0)
        } else {
            (0.0, p.min(self.discharge_kw * share))
        };
        if dt_h > 0.0 {
            let kept = energy_kwh * self.kept(dt_h);
            let stored = |c: f64| self.charge_efficiency_at(c) * c * dt_h;
            let drawn = |d: f64| d / self.discharge_efficiency_at(d) * dt_h;
            ch = self.largest_within(ch, self.max_kwh - kept, stored);
            dis = self.largest_within(dis, kept - self.min_kwh, drawn);
            if kept < self.min_kwh {
                let hold = self.largest_within(self.charge_kw, self.min_kwh - kept, stored);
                ch = ch.max(hold);
            }
        }
        Response {
            charge_kw: ch,
            discharge_kw: dis,
            energy_kwh: if dt_h > 0.0 {
                self.next_energy_kwh(energy_kwh, ch, dis, dt_h)
            } else {
                energy_kwh
            },
        }
    }

    /// The highest energy reachable from `energy_kwh` by charging at full power (as the
    /// power curve allows) for `steps` steps of `dt_h` hours (capped at `max_kwh`).
    pub fn reachable_kwh(&self, energy_kwh: f64, steps: usize, dt_h: f64) -> f64 {
        let mut e = energy_kwh;
        for _ in 0..steps {
            let ch = self.charge_kw * self.power_share(e, dt_h);
            e = self.next_energy_kwh(e, ch, 0.0, dt_h).min(self.max_kwh);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bat() -> Battery {
        Battery {
            min_kwh: 10.0,
            max_kwh: 90.0,
            charge_kw: 50.0,
            discharge_kw: 50.0,
            charge_efficiency: 0.95,
            discharge_efficiency: 0.9,
            self_discharge_per_hour: 0.0,
            capacity_kwh: 100.0,
            power_curve: None,
            efficiency_curve: None,
        }
    }

    #[test]
    fn with_an_efficiency_curve_it_stores_what_the_curve_says() {
        let curve = EfficiencyCurve::new(&[
            [0.0, 0.83],
            [0.3, 0.83],
            [0.7, 0.9],
            [0.8, 0.9],
            [1.0, 0.85],
        ])
        .unwrap();
        let b = Battery {
            efficiency_curve: Some(curve),
            ..bat()
        };
        // Charging at 25 of 50 kW (share 0.5: round trip 0.865) for an hour.
        let r = b.respond(50.0, -25.0, 1.0);
        assert!((r.energy_kwh - (50.0 + 25.0 * 0.865f64.sqrt())).abs() < 1e-9);
        // Discharging at 40 kW (share 0.8: 0.9).
        let r = b.respond(80.0, 40.0, 1.0);
        assert!((r.energy_kwh - (80.0 - 40.0 / 0.9f64.sqrt())).abs() < 1e-9);
        // It stops at max_kwh along the curve.
        let r = b.respond(85.0, -50.0, 1.0);
        assert!((r.energy_kwh - 90.0).abs() < 1e-9, "{r:?}");
        assert!((curve.lowest_one_way() - 0.83f64.sqrt()).abs() < 1e-12);
        assert!(EfficiencyCurve::new(&[[0.0, 0.0], [1.0, 0.9]]).is_err());
    }

    #[test]
    fn near_full_charge_its_power_follows_its_curve() {
        let curve = PowerCurve::new(&[[0.0, 1.0], [0.8, 1.0], [1.0, 0.2]]).unwrap();
        let b = Battery {
            power_curve: Some(curve),
            max_kwh: 100.0,
            ..bat()
        };
        // At soc 0.9 the share is 0.6: 30 kW of 50, both ways.
        assert!((b.respond(90.0, 50.0, 0.01).discharge_kw - 30.0).abs() < 1e-9);
        assert!((b.respond(90.0, -50.0, 0.01).charge_kw - 30.0).abs() < 1e-9);
        assert_eq!(b.respond(50.0, 50.0, 0.01).discharge_kw, 50.0);
        // The cuts are the curve.
        for soc in [0.0, 0.3, 0.8, 0.85, 0.9, 1.0] {
            let min = curve
                .cuts()
                .iter()
                .map(|(a, s)| a + s * soc)
                .fold(f64::INFINITY, f64::min);
            assert!((min - curve.share(soc)).abs() < 1e-12, "{soc}");
        }
        assert!(PowerCurve::new(&[[0.0, 0.5], [0.5, 0.2], [1.0, 1.0]]).is_err());
        assert!(PowerCurve::new(&[[0.0, 1.0], [0.8, 1.0]]).is_err());
    }

    #[test]
    fn it_integrates_with_its_efficiencies() {
        let r = bat().respond(50.0, -20.0, 0.5);
        assert_eq!(r.power_kw(), -20.0);
        assert!((r.energy_kwh - (50.0 + 0.95 * 20.0 * 0.5)).abs() < 1e-12);
        let r = bat().respond(50.0, 18.0, 0.5);
        assert_eq!(r.power_kw(), 18.0);
        assert!((r.energy_kwh - (50.0 - 18.0 / 0.9 * 0.5)).abs() < 1e-12);
    }

    #[test]
    fn it_stops_at_its_energy_bounds_and_ratings() {
        let r = bat().respond(89.0, -50.0, 1.0);
        assert!((r.energy_kwh - 90.0).abs() < 1e-9, "{r:?}");
        assert!(r.charge_kw > 0.0 && r.charge_kw < 50.0);
        let r = bat().respond(11.0, 500.0, 1.0);
        assert!((r.energy_kwh - 10.0).abs() < 1e-9, "{r:?}");
        assert!((r.discharge_kw - 0.9).abs() < 1e-9);
        assert_eq!(bat().respond(50.0, -500.0, 0.01).charge_kw, 50.0);
        assert_eq!(bat().respond(50.0, f64::NAN, 0.01).power_kw(), 0.0);
    }

    #[test]
    fn its_management_holds_the_floor_against_self_discharge() {
        let b = Battery {
            self_discharge_per_hour: 0.01,
            ..bat()
        };
        let r = b.respond(10.0, 0.0, 1.0);
        assert!(r.charge_kw > 0.0);
        assert!((r.energy_kwh - 10.0).abs() < 1e-12);
    }
}
