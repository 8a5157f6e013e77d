//! The simulator's physics, the same equations as the dispatch model
//! (`shared/spec/dispatch-model.md`):
//!
//! - battery: `e' = e·(1 − sd·Δ) + (ηc·ch − dis/ηd)·Δ`, power limited so that
//!   `min_kwh ≤ e' ≤ max_kwh`;
//! - zone: `θ' = a·θ + (1 − a)·(outdoor + R·(gain − s·cop·q))`, `a = exp(−Δ/(R·C))`, with a
//!   thermostat choosing `q` in `[min_kw, max_kw]` to reach its setpoint.

use super::config::{SimBattery, SimHvac};

/// Advances a battery by `dt_h` hours at requested power `p_kw` (+ discharging), limited by
/// the power ratings and the energy bounds. Returns `(new energy, power actually delivered)`.
pub fn battery_step(b: &SimBattery, energy_kwh: f64, p_kw: f64, dt_h: f64) -> (f64, f64) {
    if dt_h <= 0.0 {
        return (energy_kwh, p_kw.clamp(-b.charge_kw, b.discharge_kw));
    }
    let kept = energy_kwh * (1.0 - b.self_discharge_per_hour * dt_h);
    let mut p = p_kw.clamp(-b.charge_kw, b.discharge_kw);
    if p < 0.0 {
        let room = ((b.max_kwh - kept) / (b.charge_efficiency * dt_h)).max(0.0);
        p = p.max(-room);
    } else if p > 0.0 {
        let avail = ((kept - b.min_kwh) * b.discharge_efficiency / dt_h).max(0.0);
        p = p.min(avail);
    }
    let (ch, dis) = if p < 0.0 { (-p, 0.0) } else { (0.0, p) };
    let e = kept + (b.charge_efficiency * ch - dis / b.discharge_efficiency) * dt_h;
    (e, p)
}

/// The zone temperature after `dt_h` hours at electric power `q_kw`.
pub fn zone_step(
    h: &SimHvac,
    temp_c: f64,
    q_kw: f64,
    outdoor_c: f64,
    gain_kw: f64,
    cop: f64,
    dt_h: f64,
) -> f64 {
    let a = (-dt_h / (h.r_k_per_kw * h.c_kwh_per_k)).exp();
    let s = if h.cooling { 1.0 } else { -1.0 };
    a * temp_c + (1.0 - a) * (outdoor_c + h.r_k_per_kw * (gain_kw - s * cop * q_kw))
}

/// The power a thermostat runs at for `dt_h` hours to bring the zone to `setpoint_c`: the
/// exact power of the zone model, limited to `[min_kw, max_kw]`, and 0 (cycling off) when
/// the zone needs no conditioning.
#[allow(clippy::too_many_arguments)]
pub fn thermostat_kw(
    h: &SimHvac,
    temp_c: f64,
    setpoint_c: f64,
    outdoor_c: f64,
    gain_kw: f64,
    cop: f64,
    dt_h: f64,
) -> f64 {
    if dt_h <= 0.0 || cop <= 0.0 {
        return 0.0;
    }
    let a = (-dt_h / (h.r_k_per_kw * h.c_kwh_per_k)).exp();
    let s = if h.cooling { 1.0 } else { -1.0 };
    // setpoint = a·θ + (1 − a)·(out + R·(gain − s·cop·q))  ⇒  q = …
    let q = (outdoor_c + h.r_k_per_kw * gain_kw - (setpoint_c - a * temp_c) / (1.0 - a))
        / (h.r_k_per_kw * s * cop);
    if q <= 0.0 {
        0.0
    } else {
        q.clamp(h.min_kw.max(0.0), h.max_kw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bat() -> SimBattery {
        SimBattery {
            id: "b".into(),
            node: "n".into(),
            capacity_kwh: 100.0,
            min_kwh: 10.0,
            max_kwh: 90.0,
            charge_kw: 50.0,
            discharge_kw: 50.0,
            charge_efficiency: 0.95,
            discharge_efficiency: 0.9,
            self_discharge_per_hour: 0.0,
            initial_kwh: 50.0,
        }
    }

    fn ac() -> SimHvac {
        SimHvac {
            id: "h".into(),
            node: "n".into(),
            cooling: true,
            min_kw: 0.0,
            max_kw: 100.0,
            cop: vec![3.0],
            r_k_per_kw: 0.05,
            c_kwh_per_k: 40.0,
            initial_temp_c: 26.0,
            outdoor_temp_c: vec![33.0],
            heat_gain_kw: vec![20.0],
            local_setpoint_c: 25.0,
        }
    }

    #[test]
    fn battery_integrates_with_efficiencies() {
        let (e, p) = battery_step(&bat(), 50.0, -20.0, 0.5);
        assert_eq!(p, -20.0);
        assert!((e - (50.0 + 0.95 * 20.0 * 0.5)).abs() < 1e-12);
        let (e, p) = battery_step(&bat(), 50.0, 18.0, 0.5);
        assert_eq!(p, 18.0);
        assert!((e - (50.0 - 18.0 / 0.9 * 0.5)).abs() < 1e-12);
    }

    #[test]
    fn battery_stops_at_its_energy_bounds_and_power_ratings() {
        let (e, p) = battery_step(&bat(), 89.0, -50.0, 1.0);
        assert!((e - 90.0).abs() < 1e-9, "{e}");
        assert!(p > -50.0 && p < 0.0);
        let (e, p) = battery_step(&bat(), 11.0, 500.0, 1.0);
        assert!((e - 10.0).abs() < 1e-9, "{e}");
        assert!((p - 0.9).abs() < 1e-9, "{p}");
        let (_, p) = battery_step(&bat(), 50.0, -500.0, 0.01);
        assert_eq!(p, -50.0);
    }

    #[test]
    fn zone_step_is_the_spec_recursion() {
        let h = ac();
        let a = (-0.5f64 / (0.05 * 40.0)).exp();
        let want = a * 26.0 + (1.0 - a) * (33.0 + 0.05 * (20.0 - 3.0 * 10.0));
        assert!((zone_step(&h, 26.0, 10.0, 33.0, 20.0, 3.0, 0.5) - want).abs() < 1e-12);
        // Substeps with constant inputs compose exactly (zero-order hold).
        let mut t = 26.0;
        for _ in 0..30 {
            t = zone_step(&h, t, 10.0, 33.0, 20.0, 3.0, 0.5 / 30.0);
        }
        assert!((t - want).abs() < 1e-9);
    }

    #[test]
    fn thermostat_reaches_a_reachable_setpoint() {
        let h = ac();
        let q = thermostat_kw(&h, 26.0, 25.5, 33.0, 20.0, 3.0, 0.25);
        assert!(q > 0.0 && q < 100.0);
        let t = zone_step(&h, 26.0, q, 33.0, 20.0, 3.0, 0.25);
        assert!((t - 25.5).abs() < 1e-9, "{t}");
        // Unreachable: full power. Already cold: off.
        assert_eq!(thermostat_kw(&h, 26.0, 10.0, 33.0, 20.0, 3.0, 0.25), 100.0);
        assert_eq!(thermostat_kw(&h, 20.0, 25.0, 10.0, 0.0, 3.0, 0.25), 0.0);
    }
}
