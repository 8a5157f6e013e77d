//! The store's audit guarantees, in SQLite and in PostgreSQL (a database of its own on the
//! server `.ci/run` starts: `AEMS_TEST_POSTGRES`; under `CI=true` its absence fails).

#[path = "../../tests/common/postgres.rs"]
mod postgres_server;

use chrono::{DateTime, Utc};
use connectors::{Setpoint, WriteOutcome, WriteRecord};
use control::state::Interval;
use store::{Location, Store};

/// Audit rows are confirmed or flagged; a restart flags what the broker never
/// acknowledged and keeps the intervals; a replaced interval is replaced.
fn audit_rows_survive_reopening(location: &Location) {
    let t = DateTime::parse_from_rfc3339("2025-08-04T10:00:00+09:00").unwrap();
    {
        let s = Store::open(location).unwrap();
        let run = s
            .begin_run("d", "s.toml", "simulated", "control", "{}", t, false)
            .unwrap();
        let cy = s.begin_cycle(run, t).unwrap();
        let rec = |outcome| WriteRecord {
            time: Utc::now(),
            asset: "hub_bat".into(),
            device: "x".into(),
            quantity: "power_kw".into(),
            register: None,
            requested: 1.0,
            written: Some(1.0),
            words: vec![],
            clamped: None,
            outcome,
        };
        s.writes(
            cy,
            t,
            &[
                rec(WriteOutcome::Confirmed),
                rec(WriteOutcome::Failed {
                    kind: "timeout".into(),
                    error: "no answer".into(),
                }),
            ],
        )
        .unwrap();
        let last = s
            .mqtt_queued(cy, t, &[Setpoint::new("hub_bat", "power_kw", 1.0, "kW")])
            .unwrap();
        s.mqtt_queued(cy, t, &[Setpoint::new("hub_bat", "power_kw", 2.0, "kW")])
            .unwrap();
        assert_eq!(s.mqtt_delivered(last).unwrap(), 1);
        let iv = |mean_kw| Interval {
            grid: "pcc".into(),
            start: t,
            import_kwh: mean_kw / 2.0,
            export_kwh: 0.0,
            mean_kw,
        };
        s.intervals(&[iv(500.0)]).unwrap();
        s.intervals(&[iv(600.0)]).unwrap();
        s.put_state("resume", "{\"a\":1}").unwrap();
        s.put_state("resume", "{\"a\":2}").unwrap();
    }
    let s = Store::open(location).unwrap();
    s.begin_run("d", "s.toml", "simulated", "control", "{}", t, true)
        .unwrap();
    let n = |sql: &str| s.scalar(sql).unwrap().unwrap_or(-1.0);
    assert_eq!(n("SELECT COUNT(*) FROM setpoints"), 4.0);
    assert_eq!(
        n("SELECT COUNT(*) FROM setpoints WHERE confirmed = 0 AND flagged = 0"),
        0.0
    );
    assert_eq!(n("SELECT COUNT(*) FROM setpoints WHERE flagged = 1"), 2.0);
    let ivs = s.all_intervals("pcc").unwrap();
    assert_eq!(ivs.len(), 1);
    assert_eq!(ivs[0].mean_kw, 600.0);
    assert_eq!(ivs[0].start, t);
    assert_eq!(s.get_state("resume").unwrap().as_deref(), Some("{\"a\":2}"));
    assert_eq!(n("SELECT MAX(id) FROM runs"), 2.0);
    let started = s.query("SELECT time FROM cycles").unwrap();
    assert_eq!(started[0][0].as_time(), Some(t));
}

#[test]
fn audit_rows_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    audit_rows_survive_reopening(&Location::Sqlite(dir.path().join("run.sqlite")));
}

#[test]
fn audit_rows_in_postgres_with_telemetry_by_month() {
    let Some(url) = postgres_server::database("store_audit") else {
        return;
    };
    let location = Location::Postgres(url);
    audit_rows_survive_reopening(&location);
    // The cycle's month has a telemetry partition of its own.
    let s = Store::open(&location).unwrap();
    let parts = s
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'telemetry' ORDER BY 1",
        )
        .unwrap();
    let names: Vec<String> = parts.iter().filter_map(|r| r[0].as_text()).collect();
    assert_eq!(names, ["telemetry_2025_08", "telemetry_default"]);
}

#[test]
fn a_lost_postgres_connection_fails_one_call_and_the_next_reconnects() {
    let Some(url) = postgres_server::database("store_reconnect") else {
        return;
    };
    let s = Store::open(&Location::Postgres(url)).unwrap();
    s.put_state("k", "1").unwrap();
    let pid = s.scalar("SELECT pg_backend_pid()").unwrap().unwrap();
    // The server drops the store's connection (as a restart would).
    let admin = std::env::var("AEMS_TEST_POSTGRES").unwrap();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.execute("SELECT pg_terminate_backend($1)", &[&(pid as i32)])
        .unwrap();
    // (The termination is asynchronous: wait until the server has dropped it.)
    let t0 = std::time::Instant::now();
    while c
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1",
            &[&(pid as i32)],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        assert!(t0.elapsed().as_secs() < 10, "backend {pid} still there");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The call that finds the connection lost fails, naming it (nothing half-written) ...
    let e = s.put_state("k", "2").unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("terminating connection") || e.contains("communicating with the server"),
        "{e}"
    );
    // ... and the next reconnects: the store works again without being reopened.
    s.put_state("k", "3").unwrap();
    assert_eq!(s.get_state("k").unwrap().as_deref(), Some("3"));
    assert_ne!(s.scalar("SELECT pg_backend_pid()").unwrap().unwrap(), pid);
}
