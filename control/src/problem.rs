//! State + forecasts → the dispatch problem: the forecast window refined to the plan's
//! step, starting now (mid-interval if need be), with the measured state as initial
//! conditions — battery energy, zone temperatures, generators running, each connection's
//! billed peak so far and the energy already imported in the current 30-minute interval —
//! and conservative settings for units that cannot be trusted or commanded. A grid
//! connection measured lost is planned out until the horizon's end (islanded).

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use chrono::{DateTime, FixedOffset};

use engine::Scenario;

use crate::settings::Terminal;
use crate::state::State;

/// An operator's cap on a connection's import over `[from, until)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportCap {
    /// Grid connection id.
    pub grid: String,
    /// Cap, kW.
    pub kw: f64,
    /// From.
    pub from: DateTime<FixedOffset>,
    /// Until.
    pub until: DateTime<FixedOffset>,
}

/// Sets each connection's import cap per step from `caps` (the lowest cap over a step
/// that overlaps the cap's window).
pub fn apply_caps(sc: &mut Scenario, caps: &[ImportCap]) {
    for cap in caps {
        let Some(g) = sc.grids.iter().position(|x| x.id == cap.grid) else {
            continue;
        };
        let step = chrono::Duration::minutes(i64::from(sc.step_minutes));
        for t in 0..sc.steps {
            let start = sc.times[t];
            if start < cap.until && start + step > cap.from {
                let v = &mut sc.grids[g].import_cap_kw;
                if v.len() != sc.steps {
                    *v = vec![f64::INFINITY; sc.steps];
                }
                v[t] = v[t].min(cap.kw);
            }
        }
    }
}

/// What a demand-response signal sets on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SignalKind {
    /// A cap on the import, kW (as an operator's cap: soft, at the engine's penalty).
    ImportCapKw,
    /// The import price, yen/kWh, in place of the tariff (the plan's objective only: the
    /// metered cost is billed on the tariff).
    ImportPriceYenPerKwh,
    /// The grid's carbon intensity, kg CO2/kWh, in place of the scenario's.
    CarbonKgPerKwh,
}

/// A demand-response signal on a connection over `[from, until)` (an OpenADR event's
/// interval, or a what-if's events file).
#[derive(Debug, Clone, PartialEq)]
pub struct GridSignal {
    /// Grid connection id.
    pub grid: String,
    /// What it sets.
    pub kind: SignalKind,
    /// kW, yen/kWh or kg/kWh.
    pub value: f64,
    /// From.
    pub from: DateTime<FixedOffset>,
    /// Until.
    pub until: DateTime<FixedOffset>,
}

/// Applies demand-response signals to every step they overlap: caps as [`apply_caps`]
/// (the lowest wins), prices and carbon intensities replacing the scenario's (the later
/// signal in `signals` wins).
pub fn apply_signals(sc: &mut Scenario, signals: &[GridSignal]) {
    let caps: Vec<ImportCap> = signals
        .iter()
        .filter(|s| s.kind == SignalKind::ImportCapKw)
        .map(|s| ImportCap {
            grid: s.grid.clone(),
            kw: s.value,
            from: s.from,
            until: s.until,
        })
        .collect();
    apply_caps(sc, &caps);
    let step = chrono::Duration::minutes(i64::from(sc.step_minutes));
    for s in signals {
        let Some(g) = sc.grids.iter().position(|x| x.id == s.grid) else {
            continue;
        };
        let series = match s.kind {
            SignalKind::ImportCapKw => continue,
            SignalKind::ImportPriceYenPerKwh => &mut sc.grids[g].import_price_yen_per_kwh,
            SignalKind::CarbonKgPerKwh => &mut sc.grids[g].carbon_intensity_kg_per_kwh,
        };
        for t in 0..sc.steps.min(series.len()) {
            let start = sc.times[t];
            if start < s.until && start + step > s.from {
                series[t] = s.value;
            }
        }
    }
}

/// The plan's horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Horizon {
    /// Its start (a multiple of the step).
    pub now: DateTime<FixedOffset>,
    /// Plan step, minutes (divides the forecast's step).
    pub step_minutes: u32,
    /// Steps wanted (fewer if the forecast ends sooner).
    pub steps: usize,
}

fn refine(v: &[f64], per: usize, skip: usize, steps: usize) -> Vec<f64> {
    v.iter()
        .flat_map(|x| std::iter::repeat_n(*x, per))
        .skip(skip)
        .take(steps)
        .collect()
}

/// The dispatch problem over `h` from `forecast` (a window on the data's step starting at
/// the row that holds `h.now`; series are held within a row) and `state`. Batteries in
/// `idle` are planned idle and generators in it off (units that cannot be trusted this
/// cycle, or that no device lets the AEMS command); batteries end each plan as `terminal`
/// says.
pub fn build(
    forecast: &Scenario,
    state: &State,
    h: &Horizon,
    terminal: Terminal,
    idle: &BTreeSet<String>,
) -> Result<Scenario> {
    let row_min = forecast.step_minutes;
    if h.step_minutes == 0 || row_min % h.step_minutes != 0 {
        bail!(
            "plan step {} min does not divide the data's step of {row_min} min",
            h.step_minutes
        );
    }
    let per = (row_min / h.step_minutes) as usize;
    let offset_min = (h.now - forecast.start).num_minutes();
    if offset_min < 0
        || offset_min >= i64::from(row_min)
        || offset_min % i64::from(h.step_minutes) != 0
    {
        bail!(
            "the horizon's start {} is not a step of the data row starting {}",
            h.now.to_rfc3339(),
            forecast.start.to_rfc3339()
        );
    }
    let skip = (offset_min / i64::from(h.step_minutes)) as usize;
    let steps = h.steps.min(forecast.steps * per - skip);
    if steps == 0 {
        bail!("no forecast beyond {}", h.now.to_rfc3339());
    }
    let mut sc = forecast.clone();
    sc.start = h.now;
    sc.step_minutes = h.step_minutes;
    sc.steps = steps;
    sc.times = (0..steps)
        .map(|t| h.now + chrono::Duration::minutes(i64::from(h.step_minutes) * t as i64))
        .collect();
    sc.map_series(|v| refine(v, per, skip, steps));
    for g in &mut sc.grids {
        let gs = state.grids.get(&g.id);
        if let Some(gs) = gs {
            g.peak_so_far_kw = gs.billed_peak_kw;
            g.interval_import_so_far_kwh = gs.interval_so_far_kwh;
        } else {
            g.interval_import_so_far_kwh = 0.0;
        }
    }
    for u in &mut sc.hvacs {
        if let Some(t) = state.zone_c.get(&u.id) {
            u.initial_temp_c = *t;
        }
    }
    // A connection measured lost is out from now to the horizon's end, unless the data
    // already know the outage (then its announced end stands).
    let horizon_end = h.now + chrono::Duration::minutes(i64::from(h.step_minutes) * steps as i64);
    for id in &state.grids_lost {
        let Some(g) = sc.grids.iter().position(|x| x.id == *id) else {
            continue;
        };
        if sc
            .outages
            .iter()
            .any(|o| o.grid == g && o.covers(h.now, h.step_minutes))
        {
            continue;
        }
        sc.outages.push(engine::asset::Outage {
            id: Some(format!("{id} lost (measured)")),
            grid: g,
            from: h.now,
            until: horizon_end,
        });
    }
    let dt = sc.step_hours();
    let ends_in_outage = sc.emergency_at(steps - 1);
    for b in &mut sc.batteries {
        if let Some(e) = state.battery_kwh.get(&b.id) {
            b.initial_kwh = e.clamp(b.min_kwh, b.max_kwh);
        }
        if idle.contains(&b.id) {
            // Unknown or not commanded: planned idle, its energy where it was.
            b.charge_kw = 0.0;
            b.discharge_kw = 0.0;
            b.terminal_kwh = 0.0;
            continue;
        }
        let want = match terminal {
            Terminal::Initial => b.initial_kwh,
            Terminal::Free => b.min_kwh,
        };
        // Lowered to what full charging can reach, so that a short horizon stays feasible.
        // (The model's law: its constant efficiencies store no more than the curve would.)
        let reachable = b.model_law().reachable_kwh(b.initial_kwh, steps, dt);
        b.terminal_kwh = want.min(reachable - 1e-6).max(0.0);
        if ends_in_outage {
            // The plan ends inside a grid outage: what is stored is for the loads now, not
            // to be handed back at the horizon.
            b.terminal_kwh = b.min_kwh.min(b.terminal_kwh);
        }
    }
    for g in &mut sc.generators {
        if let Some(on) = state.generator_on.get(&g.id) {
            g.initially_on = *on;
        }
        if let (Some(stock), Some(left)) = (g.fuel.as_mut(), state.fuel_kwh.get(&g.id)) {
            stock.initial_kwh = left.clamp(0.0, stock.tank.capacity_kwh);
        }
        if idle.contains(&g.id) {
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
    use crate::state::GridState;

    fn gate_square() -> engine::ScenarioFile {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        engine::ScenarioFile::read(&p).unwrap()
    }

    #[test]
    fn demand_response_signals_set_caps_prices_and_carbon_on_the_steps_they_overlap() {
        let file = gate_square();
        let row = DateTime::parse_from_rfc3339("2025-08-04T10:00:00+09:00").unwrap();
        let mut sc = file.window(row, 4).unwrap();
        let at = |m: i64| row + chrono::Duration::minutes(m);
        let tariff = sc.grids[0].import_price_yen_per_kwh.clone();
        let co2 = sc.grids[0].carbon_intensity_kg_per_kwh.clone();
        let sig = |kind, value, from, until| GridSignal {
            grid: "pcc".into(),
            kind,
            value,
            from: at(from),
            until: at(until),
        };
        apply_signals(
            &mut sc,
            &[
                sig(SignalKind::ImportCapKw, 400.0, 20, 60),
                sig(SignalKind::ImportCapKw, 350.0, 30, 45),
                sig(SignalKind::ImportPriceYenPerKwh, 80.0, 15, 30),
                sig(SignalKind::CarbonKgPerKwh, 0.9, 0, 15),
                GridSignal {
                    grid: "no_such_grid".into(),
                    ..sig(SignalKind::ImportCapKw, 1.0, 0, 60)
                },
            ],
        );
        // 30-minute steps: 10:00, 10:30, 11:00, 11:30; a signal counts on every step it
        // overlaps.
        assert_eq!(sc.step_minutes, 30);
        let g = &sc.grids[0];
        assert_eq!(
            g.import_cap_kw,
            [400.0, 350.0, f64::INFINITY, f64::INFINITY]
        );
        assert_eq!(g.import_price_yen_per_kwh[0], 80.0);
        assert_eq!(g.import_price_yen_per_kwh[1], tariff[1]);
        assert_eq!(g.carbon_intensity_kg_per_kwh[0], 0.9);
        assert_eq!(g.carbon_intensity_kg_per_kwh[1], co2[1]);
    }

    #[test]
    fn a_mid_interval_horizon_counts_the_energy_already_imported() {
        let file = gate_square();
        let row = DateTime::parse_from_rfc3339("2025-08-04T10:00:00+09:00").unwrap();
        let forecast = file.window(row, 5).unwrap();
        let now = DateTime::parse_from_rfc3339("2025-08-04T10:15:00+09:00").unwrap();
        let mut state = State::default();
        state.battery_kwh.insert("hub_bat".into(), 5000.0); // clamped to max
        state.zone_c.insert("office_a_ac".into(), 27.5);
        state.grids.insert(
            "pcc".into(),
            GridState {
                billed_peak_kw: 612.0,
                interval_so_far_kwh: 150.0,
                ..Default::default()
            },
        );
        let idle: BTreeSet<String> = ["hotel_c_bat".to_string()].into();
        let h = Horizon {
            now,
            step_minutes: 5,
            steps: 100,
        };
        let sc = build(&forecast, &state, &h, Terminal::Initial, &idle).unwrap();
        // 5 rows × 6 sub-steps − the 3 that passed.
        assert_eq!(sc.steps, 27);
        assert_eq!(sc.times[0], now);
        assert_eq!(sc.nodes[1].load_kw[2], forecast.nodes[1].load_kw[0]);
        assert_eq!(sc.nodes[1].load_kw[3], forecast.nodes[1].load_kw[1]);
        let iv = sc.demand_intervals();
        assert_eq!(iv[0].steps, 0..3);
        assert_eq!(sc.grids[0].peak_so_far_kw, 612.0);
        assert_eq!(sc.grids[0].interval_import_so_far_kwh, 150.0);
        let hub = sc.batteries.iter().find(|b| b.id == "hub_bat").unwrap();
        assert_eq!(hub.initial_kwh, hub.max_kwh);
        assert!((hub.terminal_kwh - (hub.max_kwh - 1e-6)).abs() < 1e-9);
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
        let mut state = State::default();
        state.battery_kwh.insert("hub_bat".into(), 90.0);
        let h = Horizon {
            now: row,
            step_minutes: 30,
            steps: 24,
        };
        let sc = build(&forecast, &state, &h, Terminal::Initial, &BTreeSet::new()).unwrap();
        assert_eq!(sc.steps, 1);
        let out = engine::optimize(&sc, &engine::SolveOptions::default()).unwrap();
        assert!(out.schedule.is_some(), "{:?}", out.message);
    }
}
