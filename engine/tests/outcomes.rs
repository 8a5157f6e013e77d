//! Outcomes other than an optimum: unbounded, infeasible for a reason other than balance,
//! and the time limit.

mod common;

use std::path::{Path, PathBuf};

use engine::{optimize, ScenarioFile, SolveOptions, Status};

fn scenario(toml: &str, csv: &str) -> engine::Scenario {
    let csv = csv.as_bytes().to_vec();
    ScenarioFile::parse(Path::new("t/scenario.toml"), toml, move |name| {
        Ok((PathBuf::from("t").join(name), csv))
    })
    .and_then(|f| f.scenario())
    .expect("test scenario loads")
}

const HEAD: &str = r#"
[scenario]
name = "t"
timezone = "Asia/Tokyo"
start = "2025-08-01T00:00:00+09:00"
step_minutes = 60
steps = 2
series = "series.csv"

[[node]]
id = "a"
load_kw = 10
"#;

const CSV: &str = "time,x
2025-08-01T00:00:00+09:00,1
2025-08-01T01:00:00+09:00,1
";

#[test]
fn circular_trade_across_connections_is_unbounded() {
    let toml = format!(
        "{HEAD}
[[grid]]
id = \"buy\"
node = \"a\"
import_price_yen_per_kwh = 10

[[grid]]
id = \"sell\"
node = \"a\"
import_price_yen_per_kwh = 25
export_price_yen_per_kwh = 20
export_limit_kw = inf
"
    );
    let out = optimize(&scenario(&toml, CSV), &SolveOptions::default()).unwrap();
    assert_eq!(out.status, Status::Unbounded);
    assert!(out.schedule.is_none());
    assert!(out.message.unwrap().contains("unbounded"));
}

#[test]
fn the_same_trade_with_limits_has_an_optimum() {
    let toml = format!(
        "{HEAD}
[[grid]]
id = \"buy\"
node = \"a\"
import_price_yen_per_kwh = 10
import_limit_kw = 100

[[grid]]
id = \"sell\"
node = \"a\"
import_price_yen_per_kwh = 25
export_price_yen_per_kwh = 20
export_limit_kw = 200
"
    );
    let out = optimize(&scenario(&toml, CSV), &SolveOptions::default()).unwrap();
    assert_eq!(out.status, Status::Optimal);
    // Buy 100 kW at 10, use 10, sell 90 at 20, for 2 h: 2 × (1000 − 1800) = −1600 yen.
    let f = out.figures.unwrap();
    assert!(
        (f.objective_yen + 1600.0).abs() < 1e-6,
        "{}",
        f.objective_yen
    );
}

#[test]
fn unreachable_terminal_energy_is_named() {
    let toml = format!(
        "{HEAD}
[[grid]]
id = \"pcc\"
node = \"a\"
import_price_yen_per_kwh = 10

[[battery]]
id = \"bat\"
node = \"a\"
capacity_kwh = 100
charge_kw = 10
discharge_kw = 10
initial_kwh = 20
terminal_kwh = 90
"
    );
    let out = optimize(&scenario(&toml, CSV), &SolveOptions::default()).unwrap();
    assert_eq!(out.status, Status::Infeasible);
    let m = out.message.unwrap();
    assert!(
        m.contains("battery 'bat'") && m.contains("terminal_kwh"),
        "{m}"
    );
}

#[test]
fn a_time_limit_too_short_for_any_schedule_says_so() {
    let path = common::cases_dir().join("e_midsize_20x96/scenario.toml");
    let sc = engine::Scenario::load(path).unwrap();
    let opts = SolveOptions {
        time_limit_s: Some(1e-3),
        ..SolveOptions::default()
    };
    let out = optimize(&sc, &opts).unwrap();
    assert_eq!(out.status, Status::NoSolution);
    assert_eq!(
        out.message.as_deref(),
        Some("no solution within time limit")
    );
    assert!(out.schedule.is_none());
}

#[test]
fn a_horizon_starting_mid_interval_counts_the_energy_already_imported() {
    // 5-minute steps from 10:10: the first 30-minute interval (10:00-10:30) already holds
    // 10 minutes; its mean import includes the 60 kWh imported in them.
    let toml = r#"
[scenario]
name = "mid"
timezone = "Asia/Tokyo"
start = "2025-08-01T10:00:00+09:00"
step_minutes = 5
steps = 10
series = "series.csv"

[[node]]
id = "a"
load_kw = 100

[[grid]]
id = "pcc"
node = "a"
import_price_yen_per_kwh = 10
demand_charge_yen_per_kw = 1000
"#;
    let mut csv = String::from("time,x\n");
    for m in 0..12 {
        csv.push_str(&format!("2025-08-01T10:{:02}:00+09:00,1\n", 5 * m));
    }
    let mut sc = scenario(toml, &csv);
    // Replan at 10:10 over the remaining 8 steps.
    sc.start = sc.times[2];
    sc.times = sc.times[2..].to_vec();
    sc.steps = 8;
    sc.nodes[0].load_kw.truncate(8);
    let g = &mut sc.grids[0];
    g.import_price_yen_per_kwh.truncate(8);
    g.export_price_yen_per_kwh.truncate(8);
    g.carbon_intensity_kg_per_kwh.truncate(8);
    g.interval_import_so_far_kwh = 60.0;
    let intervals = sc.demand_intervals();
    assert_eq!(intervals[0].steps, 0..4);
    assert!((intervals[0].elapsed_hours - 10.0 / 60.0).abs() < 1e-12);
    assert_eq!(intervals[1].steps, 4..8);
    let out = optimize(&sc, &SolveOptions::default()).unwrap();
    let f = out.figures.unwrap();
    let first_mean = (60.0 + 100.0 * 20.0 / 60.0) / 0.5;
    assert!(
        (f.peak_kw[0].1 - first_mean).abs() < 1e-6,
        "{:?}",
        f.peak_kw
    );
    assert!((f.parts.demand_yen - 1000.0 * first_mean).abs() < 1e-4);
}

#[test]
fn highs_options_take_on_and_off_as_strings_too() {
    let toml = format!(
        "{HEAD}
[[grid]]
id = \"buy\"
node = \"a\"
import_price_yen_per_kwh = 10
import_limit_kw = 100
"
    );
    let sc = scenario(&toml, CSV);
    // `parallel` is a string option whose values include `on` and `off`; `presolve` too.
    for (key, value) in [("parallel", "on"), ("parallel", "off"), ("presolve", "off")] {
        let opts = SolveOptions {
            highs_options: vec![(key.into(), value.into())],
            ..SolveOptions::default()
        };
        let out = optimize(&sc, &opts).unwrap_or_else(|e| panic!("{key}={value}: {e}"));
        assert_eq!(out.status, Status::Optimal, "{key}={value}");
    }
    let opts = SolveOptions {
        highs_options: vec![("parallel".into(), "sideways".into())],
        ..SolveOptions::default()
    };
    let err = optimize(&sc, &opts).expect_err("an invalid value is refused");
    assert!(err.to_string().contains("parallel = sideways"), "{err}");
}
