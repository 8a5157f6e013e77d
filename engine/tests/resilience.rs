//! Islanded operation (extension *Resilience*, `docs/extensions.md`): a case small enough to
//! solve by hand, solved exactly; the rules of the new keys; bad input refused naming the
//! file, table, id and field.

use std::path::{Path, PathBuf};

use engine::asset::ClassKind;
use engine::resilience::{assess, OutageRequest};
use engine::{optimize, ScenarioFile, SolveOptions, Status};

/// One site, 100 kW of load all day (30 kW of it lifeline), a 120 kWh battery full at the
/// start, an emergency generator of 50 kW at 40 % with 500 kWh of fuel (200 kWh of
/// electricity), and an outage of 6 h from 01:00 in an 8-hour horizon.
const CASE: &str = r#"
[scenario]
name = "hand case"
timezone = "Asia/Tokyo"
start = "2025-08-01T00:00:00+09:00"
step_minutes = 60
steps = 8
series = "series.csv"

[[node]]
id = "site"
load_kw = 100.0
load_classes = [{ class = "lifeline", share = 0.3 }]

[[grid]]
id = "pcc"
node = "site"
import_price_yen_per_kwh = 20.0
import_limit_kw = 1000.0

[[battery]]
id = "bat"
node = "site"
capacity_kwh = 120.0
charge_kw = 100.0
discharge_kw = 100.0
initial_kwh = 120.0
terminal_kwh = 0.0

[[generator]]
id = "emergency"
node = "site"
min_kw = 0.0
max_kw = 50.0
efficiency = 0.4
fuel_price_yen_per_kwh = 10.0
fuel_carbon_kg_per_kwh = 0.2
emergency_only = true
fuel_stock_kwh = 500.0

[[outage]]
grid = "pcc"
from = "2025-08-01T01:00:00+09:00"
until = "2025-08-01T07:00:00+09:00"
"#;

fn csv() -> Vec<u8> {
    let mut s = String::from("time,x\n");
    for h in 0..24 {
        s += &format!("2025-08-01T{h:02}:00:00+09:00,0\n");
    }
    s.into_bytes()
}

fn file(toml: &str) -> Result<ScenarioFile, String> {
    ScenarioFile::parse(Path::new("dir/scenario.toml"), toml, |name| {
        Ok((PathBuf::from("dir").join(name), csv()))
    })
    .map_err(|e| e.to_string())
}

fn solve(toml: &str) -> engine::Outcome {
    let sc = file(toml).unwrap().scenario().unwrap();
    optimize(&sc, &SolveOptions::default()).unwrap()
}

fn with(from: &str, to: &str) -> String {
    assert!(
        CASE.contains(from),
        "the test edits a line that is not there: {from}"
    );
    CASE.replacen(from, to, 1)
}

fn unserved(o: &engine::Outcome, kind: ClassKind) -> f64 {
    let s = o.schedule.as_ref().unwrap();
    (0..8).map(|t| s.unserved_kw(0, t)[kind.index()]).sum()
}

#[test]
fn the_hand_case_is_solved_exactly() {
    // By hand: the outage needs 6 h × 100 kW = 600 kWh (180 lifeline, 420 normal). The
    // battery gives 120 kWh, the fuel 500 kWh × 0.4 = 200 kWh (the generator's 50 kW × 6 h
    // = 300 kWh is not the limit): 320 kWh served, 280 kWh of normal load unserved; the
    // lifeline load is served throughout. Before and after the outage the grid serves the
    // load: 2 h × 100 kW × 20 yen. Objective: 4,000 (energy) + 500 × 10 (fuel) + 280 ×
    // 10,000 (normal load's default value of lost load) = 2,809,000 yen.
    let o = solve(CASE);
    assert_eq!(o.status, Status::Optimal);
    let f = o.figures.as_ref().unwrap();
    assert!(
        (f.objective_yen - 2_809_000.0).abs() < 1e-3,
        "{}",
        f.objective_yen
    );
    assert!((f.unserved_kwh - 280.0).abs() < 1e-6, "{}", f.unserved_kwh);
    assert!((f.parts.fuel_yen - 5_000.0).abs() < 1e-6);
    assert!((f.parts.unserved_yen - 2_800_000.0).abs() < 1e-3);
    assert!(unserved(&o, ClassKind::Lifeline) < 1e-6);
    assert!((unserved(&o, ClassKind::Normal) - 280.0).abs() < 1e-6);
    let s = o.schedule.as_ref().unwrap();
    // No trade during the outage; the generator runs only then, and burns all its fuel.
    for t in 1..7 {
        assert_eq!(s.grids[0].import_kw[t], 0.0, "step {t}");
    }
    assert_eq!(s.generators[0].power_kw[0], 0.0);
    assert_eq!(s.generators[0].power_kw[7], 0.0);
    let fuel = &s.generators[0].fuel_kwh;
    assert_eq!(fuel.len(), 9);
    assert!(fuel[8].abs() < 1e-6, "fuel left {}", fuel[8]);
    let burnt: f64 = s.generators[0].power_kw.iter().sum::<f64>() / 0.4;
    assert!((burnt - 500.0).abs() < 1e-6, "{burnt}");
}

#[test]
fn too_little_energy_sheds_the_lifeline_too_and_in_priority_order() {
    // The battery holds 60 kWh of its 120 and the fuel is 100 kWh (40 kWh of electricity).
    // In the hour before the outage the grid fills the battery (60 kWh more, bought at 20
    // yen): 120 + 40 = 160 kWh for 180 kWh of lifeline load. Unserved: 20 kWh lifeline and
    // all 420 kWh normal. Objective: (160 + 100) × 20 (energy) + 100 × 10 (fuel) + 20 ×
    // 1,000,000 + 420 × 10,000 = 24,206,200 yen.
    let toml = with("initial_kwh = 120.0", "initial_kwh = 60.0").replacen(
        "fuel_stock_kwh = 500.0",
        "fuel_stock_kwh = 100.0",
        1,
    );
    let o = solve(&toml);
    let f = o.figures.as_ref().unwrap();
    assert!(
        (f.objective_yen - 24_206_200.0).abs() < 1e-2,
        "{}",
        f.objective_yen
    );
    assert!((unserved(&o, ClassKind::Lifeline) - 20.0).abs() < 1e-6);
    assert!((unserved(&o, ClassKind::Normal) - 420.0).abs() < 1e-6);
    // The grid charges the battery to full before the outage.
    let s = o.schedule.as_ref().unwrap();
    assert!((s.batteries[0].energy_kwh[1] - 120.0).abs() < 1e-6);
}

#[test]
fn fuel_in_litres_and_refuelling() {
    // 50 l at 10 kWh/l = 500 kWh, as in the hand case, plus 2.5 l/h (25 kWh/h) of
    // refuelling into a 500 l tank over the 7 hours up to the outage's end: 675 kWh of
    // fuel, 270 kWh of electricity. Unserved: 600 − 120 − 270 = 210 kWh.
    let toml = with(
        "fuel_stock_kwh = 500.0",
        "fuel_kwh_per_l = 10.0\nfuel_stock_l = 50.0\nfuel_capacity_l = 500.0\nrefuel_l_per_h = 2.5",
    );
    let o = solve(&toml);
    let f = o.figures.as_ref().unwrap();
    assert!((f.unserved_kwh - 210.0).abs() < 1e-6, "{}", f.unserved_kwh);
    let fuel_kwh: f64 = o.schedule.as_ref().unwrap().generators[0]
        .power_kw
        .iter()
        .sum::<f64>()
        / 0.4;
    assert!((fuel_kwh - 675.0).abs() < 1e-6, "{fuel_kwh}");
}

#[test]
fn without_black_start_a_stopped_generator_stays_stopped() {
    // Not an emergency generator, no black start, off before the outage: it may run at
    // step 0 (grid up) and keep running, or not start at all.
    let toml = with("emergency_only = true", "black_start = false");
    let o = solve(&toml);
    let s = o.schedule.as_ref().unwrap();
    let g = &s.generators[0];
    for t in 1..7 {
        if g.on[t] {
            assert!(g.on[t - 1], "started at step {t} without the grid");
        }
    }
    // Running from step 0 (on the grid) it can carry on through the outage: the same
    // supply as the hand case, plus fuel burnt at step 0.
    assert!(o.figures.as_ref().unwrap().unserved_kwh >= 280.0 - 1e-6);
}

#[test]
fn an_emergency_line_carries_power_only_in_an_outage() {
    let toml = CASE.to_string()
        + r#"
[[node]]
id = "condo"
load_kw = 10.0
load_classes = [{ class = "lifeline", share = 1.0 }]

[[grid]]
id = "condo_pcc"
node = "condo"
import_price_yen_per_kwh = 30.0
import_limit_kw = 100.0

[[line]]
id = "tie"
from = "site"
to = "condo"
capacity_kw = 50.0
emergency_only = true

[[outage]]
grid = "condo_pcc"
from = "2025-08-01T01:00:00+09:00"
until = "2025-08-01T07:00:00+09:00"
"#;
    let o = solve(&toml);
    let s = o.schedule.as_ref().unwrap();
    // Before and after: the condo buys its own 10 kW at 30 yen, though the site's is at 20.
    for t in [0, 7] {
        assert_eq!(s.lines[0].fwd_kw[t], 0.0);
        assert!((s.grids[1].import_kw[t] - 10.0).abs() < 1e-6);
    }
    // During the outage the tie carries the condo's lifeline load: served throughout.
    for t in 1..7 {
        assert!((s.lines[0].fwd_kw[t] - 10.0).abs() < 1e-6, "step {t}");
        assert!(s.unserved_kw(1, t).iter().sum::<f64>() < 1e-6);
    }
}

#[test]
fn without_an_outage_the_model_is_the_specs() {
    // The same case with no [[outage]]: the emergency generator never runs, nothing goes
    // unserved, the load is bought: 8 h × 100 kW × 20 yen, less the battery's 120 kWh.
    let toml = CASE.split("[[outage]]").next().unwrap().to_string();
    let o = solve(&toml);
    let f = o.figures.as_ref().unwrap();
    assert!(
        (f.objective_yen - (800.0 - 120.0) * 20.0).abs() < 1e-6,
        "{}",
        f.objective_yen
    );
    assert!(o.schedule.as_ref().unwrap().unserved.is_empty());
    assert_eq!(f.unserved_kwh, 0.0);
}

#[test]
fn assess_reports_the_hand_case() {
    // The same outage as an `aems resilience` request on the case without its own outage
    // window: from 01:00 for 6 h, the battery free to end empty.
    let toml = CASE.split("[[outage]]").next().unwrap().to_string();
    let f = file(&toml).unwrap();
    let req = OutageRequest {
        from: chrono::DateTime::parse_from_rfc3339("2025-08-01T01:00:00+09:00").unwrap(),
        hours: 6.0,
        grids: Vec::new(),
        battery_soc: None,
    };
    let a = assess(&f, &req, &SolveOptions::default()).unwrap();
    assert_eq!(a.status, "optimal");
    assert_eq!(a.hours, 6.0);
    let life = a.class(ClassKind::Lifeline).unwrap();
    assert!((life.served_share - 1.0).abs() < 1e-9);
    assert_eq!(life.carried_hours, 6.0);
    let normal = a.class(ClassKind::Normal).unwrap();
    assert!(
        (normal.served_kwh - 140.0).abs() < 1e-6,
        "{}",
        normal.served_kwh
    );
    assert!((a.served_share - 320.0 / 600.0).abs() < 1e-9);
    assert!(a.nodes[0].first_shed_reason.is_some());
    assert!(a.fuel[0].left_kwh.unwrap().abs() < 1e-6);
    assert!(a.batteries[0].end_kwh.abs() < 1e-6);
    assert_eq!(a.lifeline_hours(), 6.0);
}

fn refused(toml: &str) -> String {
    match file(toml).and_then(|f| f.scenario().map_err(|e| e.to_string())) {
        Ok(_) => panic!("accepted a bad scenario"),
        Err(m) => {
            assert!(!m.contains('\n'), "not one line: {m}");
            m
        }
    }
}

#[test]
fn bad_resilience_input_is_refused_naming_file_table_id_and_field() {
    let m = refused(&with("grid = \"pcc\"\nfrom", "grid = \"pcc_9\"\nfrom"));
    assert!(
        m.contains("dir/scenario.toml")
            && m.contains("[[outage]] #0")
            && m.contains("field 'grid'")
            && m.contains("pcc_9"),
        "{m}"
    );
    let m = refused(&with("grid = \"pcc\"\nfrom", "from"));
    assert!(m.contains("[[outage]] #0") && m.contains("grid"), "{m}");
    let m = refused(&with(
        "until = \"2025-08-01T07:00:00+09:00\"",
        "until = \"2025-08-01T00:00:00+09:00\"",
    ));
    assert!(m.contains("field 'until'"), "{m}");
    let m = refused(&with("share = 0.3", "share = 1.3"));
    assert!(
        m.contains("[[node]] #0 (id 'site')")
            && m.contains("field 'load_classes[0].share'")
            && m.contains("outside [0, 1]"),
        "{m}"
    );
    let m = refused(&with("share = 0.3", "share = -0.1"));
    assert!(m.contains("load_classes[0].share"), "{m}");
    let m = refused(&with(
        "{ class = \"lifeline\", share = 0.3 }",
        "{ class = \"lifeline\", share = 0.7 }, { class = \"critical\", share = 0.5 }",
    ));
    assert!(
        m.contains("(id 'site')") && m.contains("field 'load_classes'") && m.contains("above 1"),
        "{m}"
    );
    let m = refused(&with("fuel_stock_kwh = 500.0", "fuel_stock_kwh = -1.0"));
    assert!(
        m.contains("[[generator]] #0 (id 'emergency')")
            && m.contains("field 'fuel_stock_kwh'")
            && m.contains("negative"),
        "{m}"
    );
    let m = refused(&with("class = \"lifeline\"", "class = \"vital\""));
    assert!(
        m.contains("load_classes[0].class") && m.contains("vital"),
        "{m}"
    );
    let m = refused(&with(
        "{ class = \"lifeline\", share = 0.3 }",
        "{ class = \"lifeline\", share = 0.3, value_of_lost_load_yen_per_kwh = 5.0 }",
    ));
    assert!(
        m.contains("value_of_lost_load_yen_per_kwh") && m.contains("worth more"),
        "{m}"
    );
    let m = refused(&with("fuel_stock_kwh = 500.0", "fuel_stock_l = 50.0"));
    assert!(m.contains("field 'fuel_kwh_per_l'"), "{m}");
    let m = refused(&with(
        "fuel_stock_kwh = 500.0",
        "fuel_stock_kwh = 500.0\nfuel_capacity_kwh = 100.0",
    ));
    assert!(
        m.contains("fuel_stock_kwh") && m.contains("above the fuel capacity"),
        "{m}"
    );
    let m = refused(&with("emergency_only = true", "emergency_only = \"yes\""));
    assert!(m.contains("emergency_only"), "{m}");
}
