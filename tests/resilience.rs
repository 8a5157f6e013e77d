//! `aems resilience` end to end on the reference district (`scenarios/kashiwanoha/`, with its
//! load classes, 2 MW emergency generator, kerosene stock and condominium tie): the 72 h
//! islanded plan from a summer weekday noon, the sweep over outage starts with its report,
//! and bad requests refused clearly.

use std::path::PathBuf;

use serde_json::Value;

#[path = "common/cli.rs"]
mod cli;
use cli::{aems, ok};

fn kashiwanoha() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/kashiwanoha/scenario.toml")
        .display()
        .to_string()
}

#[test]
fn a_72_hour_outage_from_a_summer_weekday_noon_carries_every_lifeline_load() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = dir.path().join("islanded.csv");
    let out = ok(&[
        "resilience",
        &kashiwanoha(),
        "--outage-from",
        "2025-08-06T12:00:00+09:00",
        "--hours",
        "72",
        "--json",
        "--schedule",
        schedule.to_str().unwrap(),
    ]);
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["status"], "optimal", "{a}");
    assert_eq!(a["hours"], 72.0);
    assert_eq!(a["grids_out"].as_array().unwrap().len(), 3);
    // Every building carries its lifeline loads for all 72 h.
    let nodes = a["nodes"].as_array().unwrap();
    let mut with_lifeline = 0;
    for n in nodes {
        for c in n["classes"].as_array().unwrap() {
            if c["class"] == "lifeline" {
                with_lifeline += 1;
                assert_eq!(c["carried_hours"], 72.0, "{}: {c}", n["id"]);
                assert!(c["served_share"].as_f64().unwrap() > 1.0 - 1e-9);
                assert!(c["first_shed"].is_null());
            }
        }
    }
    assert_eq!(
        with_lifeline, 5,
        "mall, office, hotel, residences, condominiums"
    );
    // The share of the normal peak carried is reported, and is what fuel, batteries and PV
    // allow: well above nothing, below the whole.
    let share = a["carried_share_of_peak"].as_f64().unwrap();
    assert!(share > 0.3 && share < 1.0, "{share}");
    // Sheddable loads go first, and the reason is stated.
    let shed: Vec<&Value> = a["district"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["first_shed"].is_null())
        .collect();
    assert!(!shed.is_empty());
    assert!(shed
        .iter()
        .all(|c| c["class"] == "sheddable" || c["class"] == "normal"));
    assert!(nodes.iter().any(|n| n["first_shed_reason"]
        .as_str()
        .is_some_and(|r| r.contains("emergency_gen"))));
    // The emergency generator ran on its stock; the CHP engine, with no black start,
    // could not start without the grid.
    let fuel = a["fuel"].as_array().unwrap();
    let gen = fuel.iter().find(|f| f["id"] == "emergency_gen").unwrap();
    assert!(gen["running_hours"].as_f64().unwrap() > 0.0);
    assert!(gen["left_kwh"].as_f64().unwrap() >= -1e-6);
    let chp = fuel.iter().find(|f| f["id"] == "gas_engine").unwrap();
    assert_eq!(chp["running_hours"], 0.0);
    // The schedule: no trade at any connection, the condominium tie energised.
    let mut r = csv::Reader::from_path(&schedule).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (imp, tie) = (col("gate_pcc.import_kw"), col("condo_tie.fwd_kw"));
    let mut tie_kwh = 0.0;
    for row in r.records() {
        let row = row.unwrap();
        assert_eq!(row[imp].parse::<f64>().unwrap(), 0.0);
        tie_kwh += 0.5 * row[tie].parse::<f64>().unwrap();
    }
    assert!(tie_kwh > 0.0, "the tie carries the condominiums' load");
    assert!(a["perfect_information"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_sweep_over_outage_starts_reports_the_worst_and_draws_the_year() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("resilience.html");
    let table = dir.path().join("starts.csv");
    // A start every 30 days over the fiscal year (the README's run takes every day).
    let out = ok(&[
        "resilience",
        &kashiwanoha(),
        "--outage-from",
        "2025-04-01T12:00:00+09:00",
        "--hours",
        "72",
        "--sweep-starts",
        "--every-hours",
        "720",
        "--json",
        "--report",
        report.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
    ]);
    let sw: Value = serde_json::from_slice(&out.stdout).unwrap();
    let points = sw["points"].as_array().unwrap();
    assert_eq!(points.len(), 13, "{sw}");
    let worst = &sw["worst"];
    let min = points
        .iter()
        .map(|p| p["served_share"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(worst["served_share"].as_f64().unwrap(), min);
    assert!(sw["typical"]["served_share"].as_f64().unwrap() >= min);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("worst"));
    assert_eq!(std::fs::read_to_string(&table).unwrap().lines().count(), 14);
    assert!(String::from_utf8_lossy(&out.stderr).contains("13/13 starts planned"));
}

#[test]
fn bad_requests_are_refused_clearly() {
    let sc = kashiwanoha();
    let err = |args: &[&str]| {
        let out = aems(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = err(&["resilience", &sc, "--outage-from", "noon", "--hours", "72"]);
    assert!(e.contains("--outage-from") && e.contains("RFC 3339"), "{e}");
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2025-08-06T12:00:00+09:00",
        "--hours",
        "-3",
    ]);
    assert!(e.contains("--hours"), "{e}");
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2025-08-06T12:00:00+09:00",
        "--grid",
        "tokyo_pcc",
    ]);
    assert!(e.contains("tokyo_pcc") && e.contains("gate_pcc"), "{e}");
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2025-08-06T12:10:00+09:00",
    ]);
    assert!(
        e.contains("start") && e.contains("2025-08-06T12:10:00+09:00"),
        "{e}"
    );
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2026-03-31T12:00:00+09:00",
        "--hours",
        "72",
    ]);
    assert!(e.contains("steps") && e.contains("rows"), "{e}");
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2025-08-06T12:00:00+09:00",
        "--report",
        "x.html",
    ]);
    assert!(e.contains("--sweep-starts"), "{e}");
    let e = err(&[
        "resilience",
        &sc,
        "--outage-from",
        "2025-08-06T12:00:00+09:00",
        "--battery-soc",
        "1.5",
    ]);
    assert!(e.contains("--battery-soc"), "{e}");
}

/// `aems simulate` over a day with a 6 h outage of every connection: the controller plans
/// it (the outage's window known in advance, and said so), the plant islands — no import,
/// the batteries holding each island, loads shed by class when short — and the KPIs report
/// the unserved load per class: none of it lifeline.
#[test]
fn a_simulated_outage_is_planned_billed_and_reported_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/kashiwanoha");
    let mut toml = std::fs::read_to_string(base.join("scenario.toml")).unwrap();
    toml = toml.replace(
        "series = \"series.csv\"",
        &format!(
            "series = {:?}",
            base.join("series.csv").display().to_string()
        ),
    );
    for g in ["mall_pcc", "gate_pcc", "condo_pcc"] {
        toml += &format!(
            "\n[[outage]]\ngrid = \"{g}\"\nfrom = \"2025-08-06T12:00:00+09:00\"\nuntil = \"2025-08-06T18:00:00+09:00\"\n"
        );
    }
    let sc = dir.path().join("outage.toml");
    std::fs::write(&sc, toml).unwrap();
    let ts = dir.path().join("ts.csv");
    let out = ok(&[
        "simulate",
        sc.to_str().unwrap(),
        "--from",
        "2025-08-06",
        "--to",
        "2025-08-07",
        "--controller",
        "mpc",
        "--forecast",
        "perfect",
        "--no-baseline",
        "--json",
        "--quiet",
        "--timeseries",
        ts.to_str().unwrap(),
    ]);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(j["known_in_advance"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "grid_outages"));
    let d = &j["district"];
    let by_class: Vec<f64> = d["unserved_class_kwh"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(by_class[0], 0.0, "lifeline served: {by_class:?}");
    let total: f64 = by_class.iter().sum();
    assert!((d["unserved_kwh"].as_f64().unwrap() - total).abs() < 1e-6);
    // The time series: no import at any connection during the outage, imports outside it,
    // the condominiums' tie energised only during it.
    let mut r = csv::Reader::from_path(&ts).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let imports: Vec<usize> = ["mall_pcc", "gate_pcc", "condo_pcc"]
        .iter()
        .map(|g| col(&format!("{g}.import_kw")))
        .collect();
    let tie = col("condo_tie.fwd_kw");
    let (mut outside_import, mut tie_during, mut rows) = (0.0, 0.0, 0);
    for row in r.records() {
        let row = row.unwrap();
        let time = chrono::DateTime::parse_from_rfc3339(&row[0]).unwrap();
        let during = time.format("%H").to_string().parse::<u32>().unwrap();
        let during = (12..18).contains(&during);
        let imp: f64 = imports
            .iter()
            .map(|&c| row[c].parse::<f64>().unwrap())
            .sum();
        let t: f64 = row[tie].parse().unwrap();
        if during {
            assert_eq!(imp, 0.0, "import at {time}");
            tie_during += t;
        } else {
            outside_import += imp;
            assert_eq!(t, 0.0, "the tie open at {time}");
        }
        rows += 1;
    }
    assert_eq!(rows, 48);
    assert!(outside_import > 0.0);
    assert!(tie_during > 0.0, "the tie carries the condominiums' loads");
}
