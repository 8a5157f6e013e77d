//! The `aems` command line: exit codes, JSON keys, schedule CSV, error messages.

use std::path::PathBuf;
use std::process::{Command, Output};

fn cases() -> PathBuf {
    std::env::var_os("AEMS_CASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/cases"))
}

fn aems(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aems"))
        .args(args)
        .output()
        .expect("run aems")
}

fn case(name: &str) -> String {
    cases()
        .join(name)
        .join("scenario.toml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn json_has_exactly_the_reported_figures() {
    let out = aems(&["optimize", &case("a2_demand_peak_shaving"), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "status",
            "objective_yen",
            "energy_yen",
            "demand_yen",
            "fuel_yen",
            "startup_yen",
            "degradation_yen",
            "curtailment_yen",
            "comfort_yen",
            "carbon_yen",
            "emissions_kg",
            "import_kwh",
            "export_kwh",
            "peak_kw",
            "comfort_violation_kh",
            "build_seconds",
            "solve_seconds",
            "mip_gap"
        ]
    );
    assert_eq!(v["status"], "optimal");
    let objective = v["objective_yen"].as_f64().unwrap();
    assert!(
        (objective - 320_831.800_262_812).abs() < 1e-3,
        "{objective}"
    );
    let parts: f64 = [
        "energy_yen",
        "demand_yen",
        "fuel_yen",
        "startup_yen",
        "degradation_yen",
        "curtailment_yen",
        "comfort_yen",
        "carbon_yen",
    ]
    .iter()
    .map(|k| v[k].as_f64().unwrap())
    .sum();
    assert!((parts - objective).abs() < 1e-6);
    assert!(v["peak_kw"]["pcc"].as_f64().unwrap() > 0.0);
}

#[test]
fn schedule_csv_has_a_row_per_step_and_balance_residuals() {
    let dir = std::env::temp_dir().join(format!("aems-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("schedule.csv");
    let out = aems(&[
        "optimize",
        &case("a3_line_losses_capacity"),
        "--schedule",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "time");
    assert!(header.iter().any(|h| h.ends_with(".import_kw")));
    assert!(header.iter().any(|h| h.ends_with(".fwd_kw")));
    let residuals: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.ends_with(".balance_residual_kw"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(residuals.len(), 3, "one residual per node: {header:?}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "one row per step");
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header.len());
        for &i in &residuals {
            assert!(cells[i].parse::<f64>().unwrap().abs() <= 1e-6);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn infeasible_exits_2_and_names_node_and_step() {
    let out = aems(&["optimize", &case("f_infeasible_feeder"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "infeasible");
    assert_eq!(v["infeasible_node"], "annex");
    assert_eq!(v["infeasible_step"], 2);
    assert!(v["objective_yen"].is_null());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("annex") && stderr.contains("step 2"),
        "{stderr}"
    );
}

#[test]
fn invalid_scenario_exits_1_with_one_line_naming_the_field() {
    let out = aems(&["optimize", &case("invalid/unknown_node")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("field 'node'") && stderr.contains("office_bat"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_file_and_bad_options_are_clear_errors() {
    let out = aems(&["optimize", "no/such/scenario.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/scenario.toml"));
    let out = aems(&["optimize", &case("a1_battery_arbitrage"), "--mip-gap", "-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mip-gap"));
    let out = aems(&[
        "optimize",
        &case("a1_battery_arbitrage"),
        "--highs-option",
        "no_such_option=1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_option"));
}

#[test]
fn solver_options_are_accepted() {
    let out = aems(&[
        "optimize",
        &case("c_generator_minload_startup"),
        "--json",
        "--time-limit-s",
        "60",
        "--mip-gap",
        "1e-6",
        "--threads",
        "1",
        "--strategy",
        "direct",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["objective_yen"].as_f64().unwrap() - 52_900.0).abs() < 1e-3);
}

fn data() -> PathBuf {
    std::env::var_os("AEMS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("citylearn_2022_phase_1")
}

#[test]
fn forecast_backtest_json_names_the_chosen_model_and_scores() {
    let d = data();
    let out = aems(&[
        "forecast",
        "backtest",
        "--history",
        d.join("buildings.csv").to_str().unwrap(),
        "--target",
        "Building_4_load_kw",
        "--weather",
        d.join("weather.csv").to_str().unwrap(),
        "--holidays",
        "none",
        "--models",
        "seasonal_naive,ridge",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["chosen_model"], "ridge");
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 3, "naive_24h, seasonal_naive, ridge");
    for m in models {
        for key in ["name", "mae", "rmse", "nrmse", "skill", "coverage_80"] {
            assert!(!m[key].is_null(), "{key} missing in {m}");
        }
    }
    assert!(
        v["hourly"]["models"].is_array(),
        "both origin modes by default"
    );
}

#[test]
fn forecast_backtest_bad_history_names_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("aems-bt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("h.csv");
    std::fs::write(
        &file,
        "time,load\n2025-01-01T00:00:00+09:00,1\n2025-01-01T01:00:00+09:00,x\n2025-01-01T02:00:00+09:00,2\n",
    )
    .unwrap();
    let out = aems(&[
        "forecast",
        "backtest",
        "--history",
        file.to_str().unwrap(),
        "--target",
        "load",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("h.csv: line 3, column 'load': 'x' is not a number"),
        "{err}"
    );
    let out = aems(&[
        "forecast",
        "backtest",
        "--history",
        file.to_str().unwrap(),
        "--target",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'nope'"));
    std::fs::remove_dir_all(&dir).ok();
}
