//! Warm re-solves: the controller's next plan starts from the basis the last plan left.
//! Exact: a warm solve reaches the cold solve's optimum within the gap.

mod common;

use engine::warm::next_cycle;
use engine::{optimize, optimize_warm, Outcome, Scenario, SolveOptions, Status, WarmStart};

/// Re-plans `cycle` steps into `data` from where `plan` (the plan one step before) leaves
/// the district, cold and warm from `warm`; both optimal at the same objective. Returns
/// (cold, warm).
fn replan(
    data: &Scenario,
    cycle: usize,
    horizon: usize,
    plan: &Outcome,
    opts: &SolveOptions,
    warm: &mut WarmStart,
) -> (Outcome, Outcome) {
    let sc = next_cycle(data, cycle - 1, horizon, plan.schedule.as_ref().unwrap(), 1);
    let cold = optimize(&sc, opts).unwrap();
    let hot = optimize_warm(&sc, opts, warm).unwrap();
    assert_eq!(cold.status, Status::Optimal, "cycle {cycle}");
    assert_eq!(hot.status, Status::Optimal, "cycle {cycle}");
    let (c, h) = (
        cold.figures.as_ref().unwrap().objective_yen,
        hot.figures.as_ref().unwrap().objective_yen,
    );
    assert!(
        (c - h).abs() <= 1e-6 * c.abs().max(1.0),
        "cycle {cycle}: warm {h} vs cold {c}"
    );
    (cold, hot)
}

/// Plan, then re-plan one, two and three steps later from where the plan leaves the
/// district (its batteries, zones, generators and billed peak): each warm re-solve reaches
/// the cold optimum of the same problem, and starts from the previous basis — where the
/// problem keeps its dimensions, in the HiGHS instance the last plan kept, updated in place.
#[test]
fn replans_one_cycle_later_solved_warm_reach_the_cold_optimum() {
    let data = Scenario::load(
        common::cases_dir()
            .join("d_gate_square_48h")
            .join("scenario.toml"),
    )
    .unwrap();
    let horizon = 72;
    let opts = SolveOptions::default();
    let mut warm = WarmStart::cold();
    let first = data.slice(0..horizon);
    let mut plan = optimize_warm(&first, &opts, &mut warm).unwrap();
    assert_eq!(plan.status, Status::Optimal);
    assert!(!warm.is_empty());
    let mut warm_runs = 0;
    let mut resumed = 0;
    for cycle in 1..=3 {
        let (cold, hot) = replan(&data, cycle, horizon, &plan, &opts, &mut warm);
        warm_runs += hot.warm_starts;
        resumed += hot.resumed;
        assert_eq!(cold.resumed, 0, "a one-off solve keeps no instance");
        plan = hot;
    }
    assert!(warm_runs >= 3, "{warm_runs} warm HiGHS runs in 3 re-plans");
    assert!(
        resumed >= 2,
        "{resumed} runs resumed a kept instance in 3 re-plans"
    );
}

/// The next cycle's problem carries the plan's state: a battery's energy after the elapsed
/// steps and the billed peak of the intervals that ended.
#[test]
fn the_next_cycle_starts_where_the_plan_leaves_the_district() {
    let data = Scenario::load(
        common::cases_dir()
            .join("d_gate_square_48h")
            .join("scenario.toml"),
    )
    .unwrap();
    let out = optimize(&data.slice(0..48), &SolveOptions::default()).unwrap();
    let plan = out.schedule.unwrap();
    let sc = next_cycle(&data, 0, 48, &plan, 2);
    assert_eq!(sc.start, data.times[2]);
    for (b, s) in sc.batteries.iter().zip(&plan.batteries) {
        assert_eq!(b.initial_kwh, s.energy_kwh[2]);
    }
    for (g, s) in sc.grids.iter().zip(&plan.grids) {
        let peak = s.import_kw[..2].iter().copied().fold(0.0, f64::max);
        assert!(g.peak_so_far_kw >= peak - 1e-9);
        assert_eq!(g.interval_import_so_far_kwh, 0.0);
    }
}

/// A rolling horizon of 5-minute steps meets one 30-minute interval more when it starts
/// inside one: the model pads the demand charge's rows so that every re-plan has the same
/// rows, and each one resumes the HiGHS instance the last plan kept — across interval
/// boundaries too — at the cold optimum.
#[test]
fn every_replan_of_a_five_minute_horizon_resumes_the_kept_instance() {
    let steps = 40;
    let mut csv = String::from("time,price,load,pv\n");
    for t in 0..steps {
        let (h, m) = (t * 5 / 60, t * 5 % 60);
        let price = if (12..28).contains(&t) { 30.0 } else { 12.0 };
        let load = 80.0 + 40.0 * ((t as f64) / 3.0).sin();
        let pv = (30.0 - (t as f64 - 20.0).powi(2) / 10.0).max(0.0);
        csv.push_str(&format!(
            "2025-08-04T{h:02}:{m:02}:00+09:00,{price},{load:.3},{pv:.3}\n"
        ));
    }
    let toml = format!(
        r#"
[scenario]
name = "five-minute rolling horizon"
timezone = "Asia/Tokyo"
start = "2025-08-04T00:00:00+09:00"
step_minutes = 5
steps = {steps}
series = "series.csv"

[[node]]
id = "site"
load_kw = "load"

[[grid]]
id = "pcc"
node = "site"
import_price_yen_per_kwh = "price"
import_limit_kw = 500.0
demand_charge_yen_per_kw = 1800.0

[[pv]]
id = "roof"
node = "site"
available_kw = "pv"

[[battery]]
id = "bat"
node = "site"
capacity_kwh = 100.0
min_kwh = 10.0
max_kwh = 90.0
charge_kw = 40.0
discharge_kw = 40.0
charge_efficiency = 0.95
discharge_efficiency = 0.95
initial_kwh = 50.0
degradation_yen_per_kwh = 3.0
"#
    );
    let data = engine::ScenarioFile::parse(
        std::path::Path::new("t/scenario.toml"),
        &toml,
        move |name| {
            Ok((
                std::path::PathBuf::from("t").join(name),
                csv.clone().into_bytes(),
            ))
        },
    )
    .and_then(|f| f.scenario())
    .expect("the test scenario loads");
    let horizon = 24;
    assert_eq!(data.slice(0..horizon).demand_intervals().len(), 4);
    assert_eq!(data.slice(1..1 + horizon).demand_intervals().len(), 5);
    assert_eq!(data.slice(0..horizon).most_demand_intervals(), 5);

    let opts = SolveOptions::default();
    let mut warm = WarmStart::cold();
    let mut plan = optimize_warm(&data.slice(0..horizon), &opts, &mut warm).unwrap();
    // Cycles 1…7 start inside an interval (5 intervals), then on its boundary (4) at cycle 6.
    for cycle in 1..=7 {
        let (_, hot) = replan(&data, cycle, horizon, &plan, &opts, &mut warm);
        assert!(hot.resumed >= 1, "cycle {cycle}: no kept instance resumed");
        plan = hot;
    }
}
