//! Every row of every pvlib fixture in `../shared/fixtures/pv` (or `AEMS_FIXTURES_DIR`,
//! the folder holding `pv/`) is reproduced by the chain: zenith within 0.01°,
//! irradiances within 1 W/m², AC within 0.2 % of kWp (the acceptance tolerances).
//! The folder must exist and hold fixtures: a missing one fails the test.

use std::collections::BTreeMap;
use std::path::PathBuf;

use forecast::pv::{read_weather_csv, PvArray, PvChain, PvStep};

fn fixtures_dir() -> PathBuf {
    std::env::var_os("AEMS_FIXTURES_DIR")
        .map(|d| PathBuf::from(d).join("pv"))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/pv")
        })
}

/// (array json, fixture csv) pairs, sorted by name; panics if there are none.
fn fixtures() -> Vec<(PathBuf, PathBuf)> {
    let dir = fixtures_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "PV fixtures folder {} is missing ({e}); set AEMS_FIXTURES_DIR to the folder holding pv/",
            dir.display()
        )
    });
    let mut out: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|json| {
            let csv = json.with_extension("csv");
            assert!(csv.exists(), "{} has no {}", json.display(), csv.display());
            (json, csv)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no *.json fixtures in {}", dir.display());
    out
}

/// The fixture's expected columns, by name, one value per row.
fn expected(csv_path: &PathBuf) -> (Vec<String>, BTreeMap<String, Vec<f64>>) {
    let mut rdr = csv::Reader::from_path(csv_path).expect("fixture CSV opens");
    let headers = rdr.headers().expect("header").clone();
    let mut times = Vec::new();
    let mut cols: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("fixture row");
        for (name, cell) in headers.iter().zip(rec.iter()) {
            if name == "time" {
                times.push(cell.to_string());
            } else {
                let v: f64 = cell.parse().expect("fixture number");
                cols.entry(name.to_string()).or_default().push(v);
            }
        }
    }
    (times, cols)
}

fn value(s: &PvStep, column: &str) -> f64 {
    match column {
        "ghi_w_m2" => s.ghi_w_m2,
        "temp_air_c" => s.temp_air_c,
        "wind_m_s" => s.wind_m_s,
        "zenith_deg" => s.zenith_deg,
        "azimuth_deg" => s.azimuth_deg,
        "dni_extra_w_m2" => s.dni_extra_w_m2,
        "dni_w_m2" => s.dni_w_m2,
        "dhi_w_m2" => s.dhi_w_m2,
        "poa_global_w_m2" => s.poa_global_w_m2,
        "cell_temp_c" => s.cell_temp_c,
        "dc_kw" => s.dc_kw,
        "ac_kw" => s.ac_kw,
        other => panic!("fixture column {other} is not known to the test"),
    }
}

#[test]
fn the_chain_reproduces_every_fixture_row() {
    for (json, csv_path) in fixtures() {
        let array = PvArray::load(&json).expect("fixture array loads");
        let weather = read_weather_csv(&csv_path, 4).expect("fixture weather reads");
        assert_eq!(weather.report.total_interpolated(), 0);
        assert_eq!(weather.report.rows_inserted, 0);
        let steps = PvChain::new(&array).run(&weather.steps);
        let (times, cols) = expected(&csv_path);
        assert_eq!(steps.len(), times.len(), "{}", csv_path.display());
        for (s, t) in steps.iter().zip(&times) {
            assert_eq!(
                s.time,
                chrono::DateTime::parse_from_rfc3339(t).unwrap(),
                "{}",
                csv_path.display()
            );
        }
        let kwp = array.kwp;
        // Tolerances: the acceptance criteria, and for the columns they do not name,
        // the same spirit (angles 0.01°, temperatures 0.01 °C, powers 0.2 % of kWp).
        let tolerance = |column: &str| match column {
            "zenith_deg" | "azimuth_deg" => 0.01,
            "dni_extra_w_m2" | "dni_w_m2" | "dhi_w_m2" | "poa_global_w_m2" => 1.0,
            "ghi_w_m2" | "temp_air_c" | "wind_m_s" => 1e-9,
            "cell_temp_c" => 0.01,
            "dc_kw" | "ac_kw" => 0.002 * kwp,
            other => panic!("no tolerance for {other}"),
        };
        println!("{} ({} rows): max |error|", csv_path.display(), steps.len());
        assert_eq!(cols.len(), 12, "fixture columns: {:?}", cols.keys());
        for (column, want) in &cols {
            let mut worst = (0.0f64, 0usize);
            for (i, (s, w)) in steps.iter().zip(want).enumerate() {
                let e = (value(s, column) - w).abs();
                if e.is_nan() || e > worst.0 {
                    worst = (e, i);
                }
            }
            println!(
                "  {column:<16} {:.3e} (row {}, {})",
                worst.0, worst.1, times[worst.1]
            );
            // The fixtures carry six decimals: a faithful chain lands within their
            // rounding, far inside the acceptance tolerance checked below.
            assert!(
                worst.0 < 1e-4,
                "{}: {column} off by {} at {}: not pvlib's result to the fixture's rounding",
                csv_path.display(),
                worst.0,
                times[worst.1]
            );
            assert!(
                worst.0 <= tolerance(column),
                "{}: {column} off by {} at {} (tolerance {})",
                csv_path.display(),
                worst.0,
                times[worst.1],
                tolerance(column)
            );
        }
    }
}

#[test]
fn the_fixture_weather_reads_as_days_with_breaks() {
    for (_, csv_path) in fixtures() {
        let w = read_weather_csv(&csv_path, 4).unwrap();
        assert_eq!(w.report.step, chrono::Duration::minutes(15));
        // The fixtures hold separate days: the gaps between them are breaks, kept.
        assert_eq!(w.steps.len(), w.report.rows_read);
        assert!(!w.report.breaks.is_empty());
    }
}
