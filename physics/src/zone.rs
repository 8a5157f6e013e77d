//! A thermal zone (first-order RC model, exact zero-order hold) and the HVAC unit that
//! conditions it, with the unit's own thermostat.
//!
//! `θ' = a·θ + (1 − a)·(outdoor + R·(gain − s·cop·q))`, `a = exp(−Δ/(R·C))`, `s = +1`
//! cooling, `−1` heating.

use serde::{Deserialize, Serialize};

/// What the zone's weather and occupants do over an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Outdoor temperature, °C.
    pub outdoor_c: f64,
    /// Thermal gains (people, sun, equipment), kW.
    pub gain_kw: f64,
    /// Coefficient of performance of the unit.
    pub cop: f64,
}

/// A zone and the unit conditioning it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// Thermal resistance to outdoors, K/kW.
    pub r_k_per_kw: f64,
    /// Thermal capacitance, kWh/K.
    pub c_kwh_per_k: f64,
    /// `true`: the unit removes heat (s = +1); `false`: it adds heat (s = −1).
    pub cooling: bool,
    /// Least electric power when running, kW.
    pub min_kw: f64,
    /// Largest electric power, kW.
    pub max_kw: f64,
}

/// How long the unit's own thermostat takes to bring the zone to its setpoint, hours: it
/// runs at the power that would reach the setpoint in this time (one minute), re-chosen as
/// the zone moves.
pub const THERMOSTAT_REACH_H: f64 = 1.0 / 60.0;

impl Zone {
    /// The sign `s`: +1 cooling, −1 heating.
    pub fn sign(&self) -> f64 {
        if self.cooling {
            1.0
        } else {
            -1.0
        }
    }

    /// The decay factor `a = exp(−Δ/(R·C))` over `dt_h` hours.
    pub fn decay(&self, dt_h: f64) -> f64 {
        (-dt_h / (self.r_k_per_kw * self.c_kwh_per_k)).exp()
    }

    /// The dispatch model's zone recursion: the temperature after `dt_h` hours at electric
    /// power `q_kw` from `temp_c`.
    pub fn next_temp_c(&self, temp_c: f64, q_kw: f64, c: &Conditions, dt_h: f64) -> f64 {
        let a = self.decay(dt_h);
        a * temp_c
            + (1.0 - a) * (c.outdoor_c + self.r_k_per_kw * (c.gain_kw - self.sign() * c.cop * q_kw))
    }

    /// The constant electric power that brings the zone from `temp_c` to `target_c` in
    /// `dt_h` hours (not limited to the unit's range; negative when no conditioning is
    /// needed).
    pub fn power_to_reach_kw(&self, temp_c: f64, target_c: f64, c: &Conditions, dt_h: f64) -> f64 {
        let a = self.decay(dt_h);
        if a >= 1.0 || c.cop <= 0.0 {
            return 0.0;
        }
        // target = a·θ + (1 − a)·(out + R·(gain − s·cop·q))  ⇒  q = …
        (c.outdoor_c + self.r_k_per_kw * c.gain_kw - (target_c - a * temp_c) / (1.0 - a))
            / (self.r_k_per_kw * self.sign() * c.cop)
    }

    /// The power the unit runs at when told to run at `q_kw`: 0 when off, else within
    /// `[min_kw, max_kw]`.
    pub fn commanded_kw(&self, on: bool, q_kw: f64) -> f64 {
        if !on || !q_kw.is_finite() {
            0.0
        } else {
            q_kw.clamp(self.min_kw, self.max_kw)
        }
    }

    /// The unit's own thermostat: the power that brings the zone to `setpoint_c` within
    /// [`THERMOSTAT_REACH_H`], within `[0, max_kw]`. Below `min_kw` the unit cannot run
    /// that little: it runs at `min_kw` only if, left off for `dt_h` hours, the zone would
    /// drift more than `deadband_c` past the setpoint (warmer when cooling, colder when
    /// heating), else it stays off.
    pub fn thermostat_kw(
        &self,
        temp_c: f64,
        setpoint_c: f64,
        deadband_c: f64,
        c: &Conditions,
        dt_h: f64,
    ) -> f64 {
        let q = self.power_to_reach_kw(temp_c, setpoint_c, c, THERMOSTAT_REACH_H.max(dt_h));
        if q <= 0.0 || !q.is_finite() {
            return 0.0;
        }
        if q >= self.min_kw {
            return q.min(self.max_kw);
        }
        let free = self.next_temp_c(temp_c, 0.0, c, dt_h);
        let drift = self.sign() * (free - setpoint_c);
        if drift > deadband_c {
            self.min_kw
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ac() -> Zone {
        Zone {
            r_k_per_kw: 0.05,
            c_kwh_per_k: 40.0,
            cooling: true,
            min_kw: 0.0,
            max_kw: 100.0,
        }
    }

    const HOT: Conditions = Conditions {
        outdoor_c: 33.0,
        gain_kw: 20.0,
        cop: 3.0,
    };

    #[test]
    fn the_recursion_is_the_spec_and_substeps_compose() {
        let z = ac();
        let a = (-0.5f64 / (0.05 * 40.0)).exp();
        let want = a * 26.0 + (1.0 - a) * (33.0 + 0.05 * (20.0 - 3.0 * 10.0));
        assert!((z.next_temp_c(26.0, 10.0, &HOT, 0.5) - want).abs() < 1e-12);
        let mut t = 26.0;
        for _ in 0..30 {
            t = z.next_temp_c(t, 10.0, &HOT, 0.5 / 30.0);
        }
        assert!((t - want).abs() < 1e-9);
        let q = z.power_to_reach_kw(26.0, want, &HOT, 0.5);
        assert!((q - 10.0).abs() < 1e-9, "{q}");
    }

    #[test]
    fn the_thermostat_reaches_its_setpoint_within_its_range() {
        let z = ac();
        let q = z.thermostat_kw(26.0, 25.99, 0.5, &HOT, 1.0 / 120.0);
        assert!(q > 0.0 && q < 100.0, "{q}");
        assert!((z.next_temp_c(26.0, q, &HOT, THERMOSTAT_REACH_H) - 25.99).abs() < 1e-9);
        assert_eq!(z.thermostat_kw(26.0, 10.0, 0.5, &HOT, 0.25), 100.0);
        let cold = Conditions {
            outdoor_c: 10.0,
            gain_kw: 0.0,
            cop: 3.0,
        };
        assert_eq!(z.thermostat_kw(20.0, 25.0, 0.5, &cold, 0.25), 0.0);
    }

    #[test]
    fn below_its_minimum_it_runs_only_when_the_zone_would_leave_the_deadband() {
        let z = Zone {
            min_kw: 50.0,
            ..ac()
        };
        let mild = Conditions {
            outdoor_c: 25.2,
            gain_kw: 0.0,
            cop: 3.0,
        };
        // A little warming: off within the deadband, at min_kw beyond it.
        assert_eq!(z.thermostat_kw(25.0, 25.0, 1.0, &mild, 0.25), 0.0);
        assert_eq!(z.thermostat_kw(25.0, 25.0, 0.0, &mild, 0.25), 50.0);
        assert_eq!(z.commanded_kw(true, 10.0), 50.0);
        assert_eq!(z.commanded_kw(false, 10.0), 0.0);
    }
}
