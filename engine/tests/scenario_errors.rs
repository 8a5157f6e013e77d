//! Scenario loading: every kind of bad input is refused with a one-line message naming the
//! file, the table and id, and the field — and no input makes the loader panic.

use std::path::{Path, PathBuf};

use engine::ScenarioFile;
use proptest::prelude::*;

const GOOD_TOML: &str = r#"
[scenario]
name = "two buildings"
timezone = "Asia/Tokyo"
start = "2025-08-01T00:00:00+09:00"
step_minutes = 30
steps = 4
series = "series.csv"

[objective]
carbon_price_yen_per_kg = 3.0

[[node]]
id = "office"
load_kw = "office_load"

[[node]]
id = "shop"
load_kw = 50

[[grid]]
id = "pcc"
node = "office"
import_price_yen_per_kwh = "price"
import_limit_kw = inf
demand_charge_yen_per_kw = 1800.0

[[pv]]
id = "office_pv"
node = "office"
available_kw = "pv"

[[battery]]
id = "office_bat"
node = "office"
capacity_kwh = 500.0
charge_kw = 250.0
discharge_kw = 250.0
initial_kwh = 250.0

[[hvac]]
id = "office_ac"
node = "office"
mode = "cooling"
min_kw = 0.0
max_kw = 120.0
cop = 3.5
r_k_per_kw = 0.05
c_kwh_per_k = 40.0
initial_temp_c = 26.0
outdoor_temp_c = "t_out"
heat_gain_kw = 10.0
comfort_low_c = 22.0
comfort_high_c = 26.0
comfort_penalty_yen_per_kh = 500.0

[[generator]]
id = "gas_engine"
node = "office"
min_kw = 30.0
max_kw = 100.0
efficiency = 0.40
fuel_price_yen_per_kwh = 8.0
fuel_carbon_kg_per_kwh = 0.202

[[line]]
id = "office_shop"
from = "office"
to = "shop"
capacity_kw = 500.0
loss_fraction = 0.01
"#;

const GOOD_CSV: &str = "time,office_load,price,pv,t_out
2025-08-01T00:00:00+09:00,100,20,0,28
2025-08-01T00:30:00+09:00,110,20,0,28
2025-08-01T01:00:00+09:00,120,25,10,29
2025-08-01T01:30:00+09:00,130,25,20,29
";

fn parse(toml: &str, csv: &str) -> Result<engine::Scenario, String> {
    let csv = csv.as_bytes().to_vec();
    ScenarioFile::parse(Path::new("dir/scenario.toml"), toml, move |name| {
        Ok((PathBuf::from("dir").join(name), csv))
    })
    .and_then(|f| f.scenario())
    .map_err(|e| e.to_string())
}

fn refused(toml: &str, csv: &str) -> String {
    match parse(toml, csv) {
        Ok(_) => panic!("accepted a bad scenario"),
        Err(m) => {
            assert!(!m.contains('\n'), "not one line: {m}");
            m
        }
    }
}

fn toml_with(from: &str, to: &str) -> String {
    assert!(
        GOOD_TOML.contains(from),
        "test edits a line that is not there: {from}"
    );
    GOOD_TOML.replacen(from, to, 1)
}

#[test]
fn the_good_scenario_loads_with_defaults() {
    let sc = parse(GOOD_TOML, GOOD_CSV).expect("good scenario");
    assert_eq!(sc.steps, 4);
    assert_eq!(sc.nodes[1].load_kw, vec![50.0; 4]);
    assert!(sc.grids[0].import_limit_kw.is_infinite());
    assert_eq!(sc.grids[0].export_limit_kw, 0.0);
    assert_eq!(sc.batteries[0].max_kwh, 500.0);
    assert_eq!(sc.batteries[0].terminal_kwh, 250.0);
    assert_eq!(sc.batteries[0].charge_efficiency, 1.0);
    assert!(sc.pvs[0].curtailable);
    assert!(!sc.generators[0].initially_on);
    let intervals: Vec<_> = sc.demand_intervals().into_iter().map(|m| m.steps).collect();
    assert_eq!(intervals, vec![0..1, 1..2, 2..3, 3..4]);
}

#[test]
fn start_may_be_a_toml_datetime() {
    let toml = toml_with(
        "start = \"2025-08-01T00:00:00+09:00\"",
        "start = 2025-08-01T00:00:00+09:00",
    );
    parse(&toml, GOOD_CSV).expect("offset date-time start");
}

#[test]
fn unknown_and_missing_keys_are_named() {
    let m = refused(
        &toml_with("capacity_kwh = 500.0", "capacity_kwh = 500.0\ncapacity = 1"),
        GOOD_CSV,
    );
    assert!(
        m.contains("[[battery]] #0 (id 'office_bat')") && m.contains("capacity"),
        "{m}"
    );
    let m = refused(&toml_with("capacity_kwh = 500.0\n", ""), GOOD_CSV);
    assert!(
        m.contains("field 'capacity_kwh'") && m.contains("missing"),
        "{m}"
    );
    let m = refused(
        &toml_with("comfort_penalty_yen_per_kh = 500.0\n", ""),
        GOOD_CSV,
    );
    assert!(m.contains("comfort_penalty_yen_per_kh"), "{m}");
    let m = refused(&toml_with("[objective]", "[objectives]"), GOOD_CSV);
    assert!(m.contains("objectives"), "{m}");
    let m = refused(&toml_with("name = \"two buildings\"\n", ""), GOOD_CSV);
    assert!(m.contains("[scenario]") && m.contains("name"), "{m}");
}

#[test]
fn wrong_types_are_named() {
    let m = refused(
        &toml_with("charge_kw = 250.0", "charge_kw = \"fast\""),
        GOOD_CSV,
    );
    assert!(m.contains("office_bat") && m.contains("charge_kw"), "{m}");
    let m = refused(
        &toml_with("mode = \"cooling\"", "mode = \"freezing\""),
        GOOD_CSV,
    );
    assert!(m.contains("office_ac") && m.contains("freezing"), "{m}");
    let m = refused(&toml_with("steps = 4", "steps = 4.5"), GOOD_CSV);
    assert!(m.contains("steps"), "{m}");
}

#[test]
fn header_rules() {
    let m = refused(&toml_with("Asia/Tokyo", "Asia/Kashiwa"), GOOD_CSV);
    assert!(m.contains("timezone"), "{m}");
    let m = refused(
        &toml_with("T00:00:00+09:00\"", "T00:15:00+09:00\""),
        GOOD_CSV,
    );
    assert!(m.contains("start") && m.contains("30-minute"), "{m}");
    let m = refused(
        &toml_with(
            "start = \"2025-08-01T00:00:00+09:00\"",
            "start = 2025-08-01T00:00:00",
        ),
        GOOD_CSV,
    );
    assert!(m.contains("start"), "{m}");
    let m = refused(&toml_with("steps = 4", "steps = 0"), GOOD_CSV);
    assert!(m.contains("steps"), "{m}");
    let m = refused(&toml_with("steps = 4", "steps = 5"), GOOD_CSV);
    assert!(m.contains("steps") && m.contains("it has 4"), "{m}");
    let m = refused(
        &toml_with(
            "carbon_price_yen_per_kg = 3.0",
            "carbon_price_yen_per_kg = -1",
        ),
        GOOD_CSV,
    );
    assert!(m.contains("carbon_price_yen_per_kg"), "{m}");
}

#[test]
fn only_grid_limits_accept_inf() {
    let m = refused(
        &toml_with("capacity_kw = 500.0", "capacity_kw = inf"),
        GOOD_CSV,
    );
    assert!(
        m.contains("office_shop") && m.contains("capacity_kw"),
        "{m}"
    );
    let m = refused(
        &toml_with("import_limit_kw = inf", "import_limit_kw = nan"),
        GOOD_CSV,
    );
    assert!(m.contains("import_limit_kw"), "{m}");
    let m = refused(&toml_with("load_kw = 50", "load_kw = inf"), GOOD_CSV);
    assert!(m.contains("load_kw"), "{m}");
}

#[test]
fn asset_rules() {
    for (from, to, field) in [
        (
            "loss_fraction = 0.01",
            "loss_fraction = 1.0",
            "loss_fraction",
        ),
        ("to = \"shop\"", "to = \"office\"", "to"),
        ("min_kw = 30.0", "min_kw = 300.0", "min_kw"),
        ("r_k_per_kw = 0.05", "r_k_per_kw = 0.0", "r_k_per_kw"),
        ("cop = 3.5", "cop = -1", "cop"),
        (
            "comfort_low_c = 22.0",
            "comfort_low_c = 27.0",
            "comfort_low_c",
        ),
        (
            "initial_kwh = 250.0",
            "initial_kwh = 250.0\nterminal_kwh = 600",
            "terminal_kwh",
        ),
        (
            "initial_kwh = 250.0",
            "initial_kwh = 250.0\nself_discharge_per_hour = 3",
            "self_discharge_per_hour",
        ),
        (
            "initial_kwh = 250.0",
            "initial_kwh = 250.0\npower_curve = [[0.0, 0.5], [0.5, 0.2], [1.0, 1.0]]",
            "power_curve",
        ),
        (
            "initial_kwh = 250.0",
            "initial_kwh = 250.0\npower_curve = [[0.0, 1.0], [0.9, 1.0]]",
            "power_curve",
        ),
        (
            "demand_charge_yen_per_kw = 1800.0",
            "demand_charge_yen_per_kw = -1",
            "demand_charge_yen_per_kw",
        ),
        (
            "fuel_carbon_kg_per_kwh = 0.202",
            "fuel_carbon_kg_per_kwh = -0.2",
            "fuel_carbon_kg_per_kwh",
        ),
        ("efficiency = 0.40", "efficiency = 0", "efficiency"),
        ("id = \"shop\"", "id = \"\"", "id"),
    ] {
        let m = refused(&toml_with(from, to), GOOD_CSV);
        assert!(
            m.contains(&format!("field '{field}'")),
            "{from} -> {to}: {m}"
        );
    }
}

#[test]
fn csv_rules() {
    let bad_time = GOOD_CSV.replace("2025-08-01T01:00:00+09:00", "2025-08-01T01:15:00+09:00");
    let m = refused(GOOD_TOML, &bad_time);
    assert!(
        m.contains("series.csv") && m.contains("time") && m.contains("line 4"),
        "{m}"
    );
    let nan = GOOD_CSV.replace(",0,28\n2025-08-01T00:30", ",NaN,28\n2025-08-01T00:30");
    let m = refused(GOOD_TOML, &nan);
    assert!(m.contains("field 'pv'") && m.contains("non-finite"), "{m}");
    let neg_pv = GOOD_CSV.replace(",10,29", ",-10,29");
    let m = refused(GOOD_TOML, &neg_pv);
    assert!(m.contains("available_kw") && m.contains("office_pv"), "{m}");
    let short_row = GOOD_CSV.replace("130,25,20,29", "130,25,20");
    let m = refused(GOOD_TOML, &short_row);
    assert!(m.contains("line 5"), "{m}");
    let m = refused(GOOD_TOML, &GOOD_CSV.replace("time,", "when,"));
    assert!(m.contains("'time'"), "{m}");
    let m = refused(GOOD_TOML, &GOOD_CSV.replace(",t_out", ",price"));
    assert!(m.contains("price") && m.contains("twice"), "{m}");
    // A bad value outside the horizon is not validated.
    let extra = format!("{GOOD_CSV}2025-08-01T02:00:00+09:00,x,x,x,x\n");
    parse(GOOD_TOML, &extra).expect("rows after the horizon are not validated");
}

#[test]
fn invalid_toml_names_the_line() {
    let m = refused(&toml_with("steps = 4", "steps = = 4"), GOOD_CSV);
    assert!(m.contains("line") && m.contains("invalid TOML"), "{m}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any edit of a good scenario is loaded or refused — never a panic.
    #[test]
    fn loader_never_panics_on_edited_toml(pos in 0usize..GOOD_TOML.len(), len in 0usize..12, insert in "[ -~\n]{0,12}") {
        let mut text = GOOD_TOML.to_string();
        let start = (0..=pos).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        let _ = parse(&text, GOOD_CSV);
    }

    /// Any edit of a good series file is loaded or refused — never a panic.
    #[test]
    fn loader_never_panics_on_edited_csv(pos in 0usize..GOOD_CSV.len(), len in 0usize..8, insert in "[ -~\n]{0,8}") {
        let mut text = GOOD_CSV.to_string();
        let end = (pos + len).min(text.len());
        text.replace_range(pos..end, &insert);
        let _ = parse(GOOD_TOML, &text);
    }
}
