//! A simulation's results as text: the JSON of a run and its baseline, the lines saying
//! what it took as known, the tables `aems simulate` prints, and its time series as CSV or
//! Parquet.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use control::simulation::{Outcome, Run, Setup};
use engine::kpi::KpiSet;
use engine::{Scenario, Schedule};

use crate::yen;

fn kpi_json(k: &KpiSet) -> Value {
    serde_json::to_value(k).unwrap_or(Value::Null)
}

/// The JSON of a run and its baseline.
pub fn outcome_json(setup: &Setup, run: Run, out: &Outcome, baseline: Option<&Outcome>) -> Value {
    let sc = setup.period();
    let mut v = json!({
        "scenario": setup.file.path().display().to_string(),
        "controller": run.label(),
        "period": [sc.times[0].to_rfc3339(), sc.times[sc.steps - 1].to_rfc3339()],
        "steps": sc.steps,
        "step_minutes": sc.step_minutes,
        "horizon_steps": setup.horizon,
        "replan_steps": setup.replan,
        "perfect_information": out.information.perfect,
        "known_in_advance": out.information.known_in_advance,
        "plant": { "batteries_follow_meter": setup.batteries_follow_meter },
        "district": kpi_json(&out.kpis.district),
        "buildings": out.kpis.buildings.iter().map(|(id, k)| (id.clone(), kpi_json(k))).collect::<serde_json::Map<_, _>>(),
        "billed_kw": out.kpis.billed_kw.iter().map(|(g, m, kw)| json!({"grid": g, "month": m, "kw": kw})).collect::<Vec<_>>(),
        "solver": {
            "solves": out.stats.solves,
            "fallbacks": out.stats.fallbacks,
            "solve_seconds": out.stats.solve_seconds,
            "solve_seconds_per_plan": if out.stats.solves > 0 { out.stats.solve_seconds / out.stats.solves as f64 } else { 0.0 },
            "forecast_scenarios": setup.forecast_scenarios,
            "scenario_plans": out.stats.scenario_plans,
            "naive_forecast_fallbacks": out.forecast_fallbacks,
            "first_failure": out.stats.first_failure,
            "peak_guards": out.stats.peak_guards,
            "parts_side_by_side": out.parts_side_by_side,
        },
        "seconds": out.seconds,
    });
    if let Some(b) = baseline {
        let (d, bd) = (&out.kpis.district, &b.kpis.district);
        v["baseline"] = json!({ "controller": "none", "district": kpi_json(bd) });
        v["savings"] = json!({
            "cost_yen": bd.cost_yen - d.cost_yen,
            "co2_kg": bd.co2_kg - d.co2_kg,
            "cost_ratio": d.cost_yen / bd.cost_yen,
            "co2_ratio": d.co2_kg / bd.co2_kg,
            "peak_kw": bd.peak_kw - d.peak_kw,
        });
    }
    if let Some(r) = crate::requests::json(setup, out) {
        v["requests"] = r;
    }
    if let Some(t) = setup.target() {
        v["zero_carbon"] = json!({
            "base_year": t.base_year,
            "base_year_co2_kg": t.base_year_co2_kg,
            "target_year": t.target_year,
            "target_reduction": t.target_reduction,
            "years": t.years(&out.kpis.co2_by_fiscal_year),
        });
    }
    v
}

/// The lines saying what a run took as known.
pub fn information_lines(setup: &Setup, out: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    if !out.information.perfect.is_empty() {
        v.push(format!(
            "perfect information (actual future values): {}",
            out.information.perfect.join(", ")
        ));
    }
    v.push(format!(
        "known in advance (tariffs and schedules): {}",
        out.information.known_in_advance.join(", ")
    ));
    if setup.batteries_follow_meter {
        v.push(
            "plant: batteries follow their meters within each step (batteries_follow_meter)".into(),
        );
    }
    v
}

/// A district KPI of the tables.
type Kpi = fn(&KpiSet) -> f64;

/// The tables of a run against its baseline, as `aems simulate` prints them: the run's
/// line, what it took as known, the district's KPIs (with the baseline and the change),
/// each building's, and the zero-carbon trajectory. Every line ends in a newline.
pub fn tables(setup: &Setup, run: Run, out: &Outcome, baseline: Option<&Outcome>) -> String {
    let mut s = String::new();
    let sc = setup.period();
    let _ = writeln!(
        s,
        "{}: {} over {} steps × {} min from {} ({:.1} s; {} solves, {:.1} ms per plan, {} fallbacks)",
        sc.name,
        run.label(),
        sc.steps,
        sc.step_minutes,
        sc.times[0].to_rfc3339(),
        out.seconds,
        out.stats.solves,
        1e3 * out.stats.solve_seconds / out.stats.solves.max(1) as f64,
        out.stats.fallbacks
    );
    if out.parts_side_by_side > 0 {
        let _ = writeln!(
            s,
            "{} independent parts simulated side by side, one thread each: the solve time per plan is theirs summed, waits for a core included",
            out.parts_side_by_side
        );
    }
    if out.stats.scenario_plans > 0 {
        let _ = writeln!(
            s,
            "scenario MPC: {} of {} plans over up to {} forecast scenarios (the forecaster's error analogs), one shared first step",
            out.stats.scenario_plans, out.stats.solves, setup.forecast_scenarios
        );
    }
    for l in information_lines(setup, out) {
        let _ = writeln!(s, "{l}");
    }
    for l in crate::requests::lines(setup, out, 3) {
        let _ = writeln!(s, "{l}");
    }
    if let Some(f) = &out.stats.first_failure {
        let _ = writeln!(s, "first failed plan: {f}");
    }
    if out.stats.peak_guards > 0 {
        let _ = writeln!(
            s,
            "peak guard: the batteries held {} steps below a new peak the plan did not intend",
            out.stats.peak_guards
        );
    }
    let d = &out.kpis.district;
    let b = baseline.map(|b| &b.kpis.district);
    s.push('\n');
    let _ = writeln!(
        s,
        "{:<28}{:>16}{:>16}{:>16}",
        "district",
        run.label(),
        "baseline",
        "change"
    );
    let rows: [(&str, Kpi); 19] = [
        ("cost (yen)", |k| k.cost_yen),
        ("  energy (yen)", |k| k.energy_yen),
        ("  demand charge (yen)", |k| k.demand_yen),
        ("  fuel (yen)", |k| k.fuel_yen),
        ("  start-ups (yen)", |k| k.startup_yen),
        ("  degradation (yen)", |k| k.degradation_yen),
        ("  comfort (yen)", |k| k.comfort_yen),
        ("  carbon (yen)", |k| k.carbon_yen),
        ("peak 30-min (kW)", |k| k.peak_kw),
        ("import (kWh)", |k| k.import_kwh),
        ("export (kWh)", |k| k.export_kwh),
        ("CO2 (kg)", |k| k.co2_kg),
        ("PV self-consumption (%)", |k| 100.0 * k.pv_self_consumption),
        ("self-sufficiency (%)", |k| 100.0 * k.self_sufficiency),
        ("comfort violation (K·h)", |k| k.comfort_violation_kh),
        ("battery throughput (kWh)", |k| k.battery_throughput_kwh),
        ("battery cycles", |k| k.battery_cycles),
        ("interchange (kWh)", |k| k.interchange_kwh),
        ("losses (kWh)", |k| k.losses_kwh),
    ];
    for (name, f) in rows {
        let v = f(d);
        let _ = match b.map(f) {
            Some(bv) => writeln!(s, "{name:<28}{v:>16.1}{bv:>16.1}{:>16.1}", v - bv),
            None => writeln!(s, "{name:<28}{v:>16.1}"),
        };
    }
    if d.unserved_kwh > 0.0 || b.is_some_and(|b| b.unserved_kwh > 0.0) {
        // Only with a grid outage in the period: load not served, by class.
        let classes: [(&str, usize); 4] = [
            ("  lifeline (kWh)", 0),
            ("  critical (kWh)", 1),
            ("  normal (kWh)", 2),
            ("  sheddable (kWh)", 3),
        ];
        let mut line = |name: &str, f: &dyn Fn(&engine::kpi::KpiSet) -> f64| {
            let v = f(d);
            let _ = match b {
                Some(bk) => {
                    let bv = f(bk);
                    writeln!(s, "{name:<28}{v:>16.1}{bv:>16.1}{:>16.1}", v - bv)
                }
                None => writeln!(s, "{name:<28}{v:>16.1}"),
            };
        };
        line("unserved load (kWh)", &|k| k.unserved_kwh);
        for (name, c) in classes {
            line(name, &|k| k.unserved_class_kwh[c]);
        }
        line("  at its value (yen)", &|k| k.unserved_yen);
    }
    if let Some(b) = b {
        s.push('\n');
        let _ = writeln!(
            s,
            "vs baseline: cost {:.1} % ({:+.0} yen), CO2 {:.1} % ({:+.0} kg)",
            100.0 * d.cost_yen / b.cost_yen,
            d.cost_yen - b.cost_yen,
            100.0 * d.co2_kg / b.co2_kg,
            d.co2_kg - b.co2_kg
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "{:<16}{:>14}{:>12}{:>12}{:>12}{:>10}{:>10}",
        "building", "cost (yen)", "CO2 (kg)", "peak (kW)", "PV (kWh)", "self-use", "cycles"
    );
    for (id, k) in &out.kpis.buildings {
        let _ = writeln!(
            s,
            "{id:<16}{:>14.0}{:>12.0}{:>12.1}{:>12.0}{:>10}{:>10.1}",
            k.cost_yen,
            k.co2_kg,
            k.peak_kw,
            k.pv_used_kwh,
            if k.pv_self_consumption.is_finite() {
                format!("{:.0}%", 100.0 * k.pv_self_consumption)
            } else {
                "-".into()
            },
            k.battery_cycles
        );
    }
    if let Some(t) = setup.target() {
        s.push('\n');
        for y in t.years(&out.kpis.co2_by_fiscal_year) {
            let _ = writeln!(
                s,
                "FY{}: CO2 {:.0} kg/yr ({}), trajectory {:.0} kg → {}",
                y.fiscal_year,
                y.co2_kg_annualised,
                if y.complete {
                    "full year"
                } else {
                    "annualised"
                },
                y.trajectory_kg,
                if y.on_track { "on track" } else { "off track" }
            );
        }
    }
    s
}

/// Writes `s` over `sc` as CSV or Parquet, by the file's extension.
pub fn write_timeseries(path: &Path, sc: &Scenario, s: &Schedule) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "csv" => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            s.write_csv(sc, std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", path.display()))
        }
        "parquet" => crate::report::write_parquet(path, sc, s),
        _ => bail!(
            "--timeseries {}: use a .csv or .parquet file name",
            path.display()
        ),
    }
}

/// `aems optimize`'s readable summary of an outcome: status and gap, the objective and its
/// parts, emissions, energy, peaks, comfort, the time of each round, and where the
/// schedule was written (`schedule`, when one was).
pub fn optimize_text(sc: &Scenario, o: &engine::Outcome, schedule: Option<&Path>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Scenario   {}  ({} steps × {} min from {})",
        sc.name,
        sc.steps,
        sc.step_minutes,
        sc.start.to_rfc3339()
    );
    let _ = write!(out, "Status     {}", o.status);
    if let Some(gap) = o.mip_gap {
        let _ = write!(out, "  (gap {gap:.1e})");
    }
    out.push('\n');
    if let Some(m) = &o.message {
        let _ = writeln!(out, "           {m}");
    }
    if let Some(f) = &o.figures {
        let p = &f.parts;
        out.push('\n');
        let _ = writeln!(out, "Objective           {:>16} yen", yen(f.objective_yen));
        for (name, v) in [
            ("energy", p.energy_yen),
            ("demand charge", p.demand_yen),
            ("fuel", p.fuel_yen),
            ("start-ups", p.startup_yen),
            ("degradation", p.degradation_yen),
            ("curtailment", p.curtailment_yen),
            ("comfort", p.comfort_yen),
            ("carbon", p.carbon_yen),
        ] {
            let _ = writeln!(out, "  {name:<17} {:>16} yen", yen(v));
        }
        if f.unserved_kwh > 0.0 {
            let _ = writeln!(
                out,
                "  {:<17} {:>16} yen",
                "unserved load",
                yen(p.unserved_yen)
            );
        }
        out.push('\n');
        let _ = writeln!(out, "Emissions           {:>16.1} kg CO2", f.emissions_kg);
        let _ = writeln!(out, "Grid import         {:>16.1} kWh", f.import_kwh);
        let _ = writeln!(out, "Grid export         {:>16.1} kWh", f.export_kwh);
        for (id, kw) in &f.peak_kw {
            let _ = writeln!(out, "Peak 30-min {id:<8}{:>16.1} kW", kw);
        }
        let _ = writeln!(
            out,
            "Comfort violation   {:>16.2} K·h",
            f.comfort_violation_kh
        );
        if f.unserved_kwh > 0.0 {
            let _ = writeln!(
                out,
                "Unserved load       {:>16.1} kWh (grid outage)",
                f.unserved_kwh
            );
        }
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "Time       build {:.3} s, solve {:.3} s ({} HiGHS run(s), {} binaries in the last)",
        o.build_seconds, o.solve_seconds, o.solver_runs, o.binaries
    );
    for (i, r) in o.rounds.iter().enumerate() {
        let _ = writeln!(out,
            "  round {i}: {} binaries, bound {:.6}, polished {}, {:.3} s + polish {:.3} s, {} made binary",
            r.binaries,
            r.lower_bound_yen,
            r.polished_yen.map(|v| format!("{v:.6}")).unwrap_or("-".into()),
            r.relaxed_seconds,
            r.polish_seconds,
            r.tightened
        );
    }
    if let (Some(path), Some(_)) = (schedule, &o.schedule) {
        let _ = writeln!(out, "Schedule   {}", path.display());
    }
    out
}
