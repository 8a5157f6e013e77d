//! One controller: the live loop and the what-if decide the same.
//!
//! The bundled Gate Square district for a simulated day, once through `aems run --clock
//! simulated` — the real binary, the device simulator over Modbus TCP on 127.0.0.1 (with
//! IEEE 754 double registers, so that telemetry and setpoints are exact), the SQLite store —
//! and once through `aems simulate` with the same settings; step by step, every unit's
//! decision (battery kW, HVAC on and kW, generator on and kW) is the same within 1e-6.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[path = "common/exact.rs"]
mod exact;

use exact::{exact_devices, root};
use std::process::Command;

use rusqlite::Connection;

fn scenario() -> PathBuf {
    root().join("scenarios/gate_square/scenario.toml")
}

/// (time, asset) → (command kind, on, power kW).
type Log = BTreeMap<(String, String), (String, Option<bool>, Option<f64>)>;

fn opt_f64(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

#[test]
fn the_live_loop_and_the_what_if_decide_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let sc = engine::Scenario::load(scenario()).unwrap();
    let devices = exact_devices(dir.path(), "gs_one_controller", &sc);
    let (hours, gap) = (24, "1e-6");
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        format!(
            "cadence_min = 30\nstep_minutes = 30\nhorizon_h = 12.0\ndeadline_s = 120.0\nmip_gap = {gap}\n\
             threads = 1\nclock = \"simulated\"\nspeed = 0.0\nduration_h = {hours}.0\nstore = \"store.sqlite\"\n\
             http = \"\"\nmqtt = false\n[simulator]\nenabled = true\n"
        ),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_aems"))
        .args(["run", "--fresh", "--scenario"])
        .arg(scenario())
        .arg("--devices")
        .arg(&devices)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let db = Connection::open(dir.path().join("store.sqlite")).unwrap();
    let mut live = Log::new();
    let mut q = db
        .prepare("SELECT time, asset, command, on_off, power_kw FROM decisions")
        .unwrap();
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<f64>>(4)?,
            ))
        })
        .unwrap();
    for r in rows {
        let (time, asset, kind, on, p) = r.unwrap();
        live.insert((time, asset), (kind, on.map(|o| o != 0), p));
    }

    let start = sc.start;
    let to = start + chrono::Duration::hours(hours);
    let log = dir.path().join("decisions.csv");
    let sim = Command::new(env!("CARGO_BIN_EXE_aems"))
        .arg("simulate")
        .arg(scenario())
        .args([
            "--to",
            &to.to_rfc3339(),
            "--controller",
            "mpc",
            "--forecast",
            "perfect",
        ])
        .args([
            "--horizon-hours",
            "12",
            "--replan-hours",
            "0.5",
            "--mip-gap",
            gap,
        ])
        .args(["--no-baseline", "--quiet", "--json", "--decisions"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        sim.status.success(),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );
    let mut what_if = Log::new();
    let mut r = csv::Reader::from_path(&log).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let on = match &rec[4] {
            "" => None,
            s => Some(s == "1"),
        };
        what_if.insert(
            (rec[0].to_string(), rec[2].to_string()),
            (rec[3].to_string(), on, opt_f64(&rec[5])),
        );
    }

    let steps = (hours * 2) as usize;
    let units = 4 + 4 + 1;
    assert_eq!(what_if.len(), steps * units, "the what-if's decisions");
    assert_eq!(live.len(), steps * units, "the live loop's decisions");
    let mut moved = 0;
    for (key, (kind, on, p)) in &what_if {
        let (lkind, lon, lp) = live
            .get(key)
            .unwrap_or_else(|| panic!("{key:?}: no decision in the live loop"));
        assert_eq!((kind, on), (lkind, lon), "{key:?}");
        match (p, lp) {
            (Some(a), Some(b)) => {
                assert!(
                    (a - b).abs() <= 1e-6,
                    "{key:?}: what-if {a} kW, live {b} kW"
                );
                if a.abs() > 1.0 {
                    moved += 1;
                }
            }
            (a, b) => assert_eq!(a, b, "{key:?}"),
        }
    }
    assert!(moved > steps, "the units did something: {moved}");
}
