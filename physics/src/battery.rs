//! A battery's energy: the recursion of the dispatch model and what a battery does when
//! asked for a power.
//!
//! `e' = e·(1 − sd·Δ) + (ηc·ch − dis/ηd)·Δ`, with `0 ≤ ch ≤ charge_kw`,
//! `0 ≤ dis ≤ discharge_kw`, never both, and `min_kwh ≤ e' ≤ max_kwh`.

use serde::{Deserialize, Serialize};

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

    /// The dispatch model's energy recursion: the energy after `dt_h` hours at `charge_kw`
    /// and `discharge_kw` from `energy_kwh`.
    pub fn next_energy_kwh(
        &self,
        energy_kwh: f64,
        charge_kw: f64,
        discharge_kw: f64,
        dt_h: f64,
    ) -> f64 {
        energy_kwh * self.kept(dt_h)
            + (self.charge_efficiency * charge_kw - discharge_kw / self.discharge_efficiency) * dt_h
    }

    /// What the battery does for `dt_h` hours when asked for `power_kw` (+ discharging)
    /// from `energy_kwh`: the power limited by its ratings and by the energy bounds (it
    /// stops at `min_kwh` and `max_kwh`); its own management holds `min_kwh` against
    /// self-discharge by charging, as the dispatch model's energy bounds assume.
    pub fn respond(&self, energy_kwh: f64, power_kw: f64, dt_h: f64) -> Response {
        let p = if power_kw.is_finite() { power_kw } else { 0.0 };
        let (mut ch, mut dis) = if p < 0.0 {
            ((-p).min(self.charge_kw), 0.0)
        } else {
            (0.0, p.min(self.discharge_kw))
        };
        if dt_h > 0.0 {
            let kept = energy_kwh * self.kept(dt_h);
            let room = (self.max_kwh - kept) / (self.charge_efficiency * dt_h);
            ch = ch.min(room.max(0.0));
            let avail = (kept - self.min_kwh) * self.discharge_efficiency / dt_h;
            dis = dis.min(avail.max(0.0));
            if kept < self.min_kwh {
                let hold = (self.min_kwh - kept) / (self.charge_efficiency * dt_h);
                ch = ch.max(hold.min(self.charge_kw));
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

    /// The highest energy reachable from `energy_kwh` by charging at full power for
    /// `steps` steps of `dt_h` hours (capped at `max_kwh`).
    pub fn reachable_kwh(&self, energy_kwh: f64, steps: usize, dt_h: f64) -> f64 {
        let mut e = energy_kwh;
        for _ in 0..steps {
            e = self
                .next_energy_kwh(e, self.charge_kw, 0.0, dt_h)
                .min(self.max_kwh);
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
        }
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
