//! State + forecast → the dispatch problem: the forecast's window refined to the planning
//! step, starting now (mid-interval if need be), with the measured state as initial
//! conditions and conservative settings for devices that cannot be trusted.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use chrono::{DateTime, FixedOffset};
use engine::Scenario;

use super::state::PlantState;

/// What the problem starts from besides the plant's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// The horizon's start (a multiple of the step).
    pub now: DateTime<FixedOffset>,
    /// Planning step, minutes (divides the forecast's step).
    pub step_minutes: u32,
    /// Steps wanted (fewer if the forecast ends sooner).
    pub steps: usize,
    /// Per grid: this month's peak so far, kW.
    pub peak_so_far_kw: Vec<(String, f64)>,
    /// Per grid: energy already imported in the current 30-minute interval, kWh.
    pub interval_import_so_far_kwh: Vec<(String, f64)>,
}

fn refine(v: &[f64], per: usize, skip: usize, steps: usize) -> Vec<f64> {
    v.iter()
        .flat_map(|x| std::iter::repeat_n(*x, per))
        .skip(skip)
        .take(steps)
        .collect()
}

/// The dispatch problem over the horizon of `s`, from `forecast` (a window on the CSV step
/// starting at the row that holds `s.now`). Series are held constant within a CSV row.
/// Assets in `plant.unhealthy` (and controllable assets in `no_device`) are planned
/// conservatively: batteries idle, generators off.
pub fn build(
    forecast: &Scenario,
    plant: &PlantState,
    s: &Start,
    no_device: &BTreeSet<String>,
) -> Result<Scenario> {
    let row_min = forecast.step_minutes;
    if s.step_minutes == 0 || row_min % s.step_minutes != 0 {
        bail!(
            "planning step {} min does not divide the forecast's step of {row_min} min",
            s.step_minutes
        );
    }
    let per = (row_min / s.step_minutes) as usize;
    let offset_min = (s.now - forecast.start).num_minutes();
    if offset_min < 0
        || offset_min >= i64::from(row_min)
        || offset_min % i64::from(s.step_minutes) != 0
    {
        bail!(
            "the horizon's start {} is not a step of the forecast row starting {}",
            s.now.to_rfc3339(),
            forecast.start.to_rfc3339()
        );
    }
    let skip = (offset_min / i64::from(s.step_minutes)) as usize;
    let steps = s.steps.min(forecast.steps * per - skip);
    if steps == 0 {
        bail!("no forecast beyond {}", s.now.to_rfc3339());
    }
    let mut sc = forecast.clone();
    sc.start = s.now;
    sc.step_minutes = s.step_minutes;
    sc.steps = steps;
    sc.times = (0..steps)
        .map(|t| s.now + chrono::Duration::minutes(i64::from(s.step_minutes) * t as i64))
        .collect();
    sc.map_series(|v| refine(v, per, skip, steps));
    for g in &mut sc.grids {
        if let Some((_, p)) = s.peak_so_far_kw.iter().find(|(id, _)| *id == g.id) {
            g.peak_so_far_kw = *p;
        }
        g.interval_import_so_far_kwh = s
            .interval_import_so_far_kwh
            .iter()
            .find(|(id, _)| *id == g.id)
            .map(|(_, e)| *e)
            .unwrap_or(0.0);
    }
    for h in &mut sc.hvacs {
        if let Some(t) = plant.zone_c.get(&h.id) {
            h.initial_temp_c = *t;
        }
    }
    let dt = sc.step_hours();
    for b in &mut sc.batteries {
        if let Some(e) = plant.battery_kwh.get(&b.id) {
            b.initial_kwh = e.clamp(b.min_kwh, b.max_kwh);
        }
        if plant.unhealthy.contains(&b.id) || no_device.contains(&b.id) {
            // Unknown or uncontrollable: planned idle, its energy where it was.
            b.charge_kw = 0.0;
            b.discharge_kw = 0.0;
            b.terminal_kwh = 0.0;
            continue;
        }
        // Keep the scenario's terminal energy as the horizon's end value, lowered to what
        // full charging can reach so that a short horizon stays feasible.
        let mut e = b.initial_kwh;
        for _ in 0..steps {
            e = (e * (1.0 - b.self_discharge_per_hour * dt)
                + b.charge_efficiency * b.charge_kw * dt)
                .min(b.max_kwh);
        }
        b.terminal_kwh = b.terminal_kwh.min(e - 1e-6).max(0.0);
    }
    for g in &mut sc.generators {
        if let Some(on) = plant.generator_on.get(&g.id) {
            g.initially_on = *on;
        }
        if plant.unhealthy.contains(&g.id) || no_device.contains(&g.id) {
            g.min_kw = 0.0;
            g.max_kw = 0.0;
            g.initially_on = false;
        }
    }
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_square() -> engine::ScenarioFile {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/gate_square/scenario.toml");
        engine::ScenarioFile::read(&p).unwrap()
    }

    #[test]
    fn mid_interval_horizon_counts_the_energy_already_imported() {
        let file = gate_square();
        let row = DateTime::parse_from_rfc3339("2025-08-04T10:00:00+09:00").unwrap();
        let forecast = file.window(row, 5).unwrap();
        let now = DateTime::parse_from_rfc3339("2025-08-04T10:15:00+09:00").unwrap();
        let mut plant = PlantState::default();
        plant.battery_kwh.insert("hub_bat".into(), 5000.0); // clamped to max
        plant.zone_c.insert("office_a_ac".into(), 27.5);
        plant.unhealthy.insert("hotel_c_bat".into());
        let s = Start {
            now,
            step_minutes: 5,
            steps: 100,
            peak_so_far_kw: vec![("pcc".into(), 612.0)],
            interval_import_so_far_kwh: vec![("pcc".into(), 150.0)],
        };
        let sc = build(&forecast, &plant, &s, &BTreeSet::new()).unwrap();
        // 5 rows × 6 sub-steps − the 3 that passed.
        assert_eq!(sc.steps, 27);
        assert_eq!(sc.times[0], now);
        assert_eq!(sc.nodes[1].load_kw.len(), 27);
        assert_eq!(sc.nodes[1].load_kw[2], forecast.nodes[1].load_kw[0]);
        assert_eq!(sc.nodes[1].load_kw[3], forecast.nodes[1].load_kw[1]);
        let iv = sc.demand_intervals();
        assert_eq!(iv[0].steps, 0..3);
        assert!((iv[0].elapsed_hours - 0.25).abs() < 1e-12);
        assert_eq!(sc.grids[0].peak_so_far_kw, 612.0);
        assert_eq!(sc.grids[0].interval_import_so_far_kwh, 150.0);
        let hub = sc.batteries.iter().find(|b| b.id == "hub_bat").unwrap();
        assert_eq!(hub.initial_kwh, hub.max_kwh);
        let hotel = sc.batteries.iter().find(|b| b.id == "hotel_c_bat").unwrap();
        assert_eq!((hotel.charge_kw, hotel.discharge_kw), (0.0, 0.0));
        assert_eq!(sc.hvacs[0].initial_temp_c, 27.5);
        // It solves, and the already imported energy binds the first interval's mean.
        let out = engine::optimize(
            &sc,
            &engine::SolveOptions {
                mip_gap: 1e-4,
                ..Default::default()
            },
        )
        .unwrap();
        let sched = out.schedule.expect("a schedule");
        let mean = iv[0].mean_kw(&sched.grids[0].import_kw, 150.0, sc.step_hours());
        let peak = out.figures.unwrap().peak_kw[0].1;
        assert!(mean <= peak + 1e-6, "{mean} > {peak}");
    }

    #[test]
    fn a_low_battery_on_a_short_horizon_stays_feasible() {
        let file = gate_square();
        let row = DateTime::parse_from_rfc3339("2025-08-05T23:30:00+09:00").unwrap();
        let forecast = file.window(row, 1).unwrap();
        let mut plant = PlantState::default();
        plant.battery_kwh.insert("hub_bat".into(), 90.0);
        let s = Start {
            now: row,
            step_minutes: 30,
            steps: 24,
            peak_so_far_kw: vec![],
            interval_import_so_far_kwh: vec![],
        };
        let sc = build(&forecast, &plant, &s, &BTreeSet::new()).unwrap();
        assert_eq!(sc.steps, 1);
        let out = engine::optimize(&sc, &engine::SolveOptions::default()).unwrap();
        assert!(out.schedule.is_some(), "{:?}", out.message);
    }
}
