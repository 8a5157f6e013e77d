//! The run's history in SQLite (embedded, bundled: no server): cycles, telemetry, flags,
//! forecasts, schedules, every setpoint sent with its read-back or delivery, fallbacks,
//! events (a grid connection lost or back, the plan switched to islanded or normal),
//! operator actions (who asked what, when, and whether it was taken), the
//! meters' 30-minute intervals, KPIs, what the embedded simulator's district went through
//! (`simulator`, simulated runs only), and the state a restart resumes from.
//!
//! Every table is append-only except `state` (one row per key) and the delivery status of
//! MQTT rows in `setpoints`. Times are RFC 3339 in the scenario's offset (`time`:
//! simulated or real time of the loop; `wall_time`: the machine's clock).
//!
//! The live loop (`aems run`) writes it through [`Store`]; anything can read it with SQLite.

#![warn(missing_docs)]

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Utc};
use connectors::{Setpoint, WriteOutcome, WriteRecord};
use rusqlite::{params, Connection, OptionalExtension};

use control::state::{Flag, Interval};
use control::Decisions;

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_wall TEXT NOT NULL, district TEXT NOT NULL,
    scenario TEXT NOT NULL, clock TEXT NOT NULL, mode TEXT NOT NULL, config TEXT NOT NULL,
    start_time TEXT NOT NULL, resumed INTEGER NOT NULL, ended_wall TEXT);
CREATE TABLE IF NOT EXISTS cycles (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, time TEXT NOT NULL, wall_time TEXT NOT NULL,
    source TEXT, reason TEXT, solve_status TEXT, solve_seconds REAL, cycle_seconds REAL,
    mip_gap REAL, objective_yen REAL, horizon_steps INTEGER, flags INTEGER, setpoints INTEGER,
    write_failures INTEGER, base_load_kw REAL, peak_so_far_kw REAL, interval_so_far_kwh REAL,
    unhealthy TEXT);
CREATE TABLE IF NOT EXISTS telemetry (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, asset TEXT NOT NULL, quantity TEXT NOT NULL,
    value REAL, unit TEXT NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS flags (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, asset TEXT NOT NULL, quantity TEXT NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forecasts (cycle_id INTEGER NOT NULL, time TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS setpoints (
    id INTEGER PRIMARY KEY, cycle_id INTEGER NOT NULL, time TEXT NOT NULL, wall_time TEXT NOT NULL,
    channel TEXT NOT NULL, asset TEXT NOT NULL, quantity TEXT NOT NULL, requested REAL,
    unit TEXT, written REAL, register TEXT, device TEXT, clamped TEXT, outcome TEXT NOT NULL,
    detail TEXT, confirmed INTEGER NOT NULL, flagged INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fallbacks (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intervals (
    grid TEXT NOT NULL, start TEXT NOT NULL, import_kwh REAL NOT NULL, export_kwh REAL NOT NULL,
    mean_kw REAL NOT NULL, PRIMARY KEY (grid, start));
CREATE TABLE IF NOT EXISTS kpis (cycle_id INTEGER NOT NULL, time TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, asset TEXT NOT NULL, command TEXT NOT NULL,
    on_off INTEGER, power_kw REAL, setpoint_c REAL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, wall_time TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS simulator (cycle_id INTEGER NOT NULL, time TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operator_actions (
    cycle_id INTEGER NOT NULL, time TEXT NOT NULL, wall_time TEXT NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL);
"#;

/// The SQLite store (one connection; every call is short).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

/// One cycle's summary row.
#[derive(Debug, Clone, Default)]
pub struct CycleRow {
    /// Where the commands came from.
    pub source: String,
    /// Why not fresh, if not.
    pub reason: Option<String>,
    /// Engine status (`optimal`, …, `missed_deadline`, `error`), if solved.
    pub solve_status: Option<String>,
    /// Wall seconds of the solve.
    pub solve_seconds: Option<f64>,
    /// Wall seconds of the whole cycle.
    pub cycle_seconds: f64,
    /// Gap of the schedule.
    pub mip_gap: Option<f64>,
    /// Objective of the schedule, yen.
    pub objective_yen: Option<f64>,
    /// Steps of the horizon.
    pub horizon_steps: Option<usize>,
    /// Flagged readings.
    pub flags: usize,
    /// Setpoints sent over Modbus.
    pub setpoints: usize,
    /// Of which not confirmed.
    pub write_failures: usize,
    /// District base load (meter − controllable assets), kW.
    pub base_load_kw: Option<f64>,
    /// The peak the horizon started from, kW.
    pub peak_so_far_kw: Option<f64>,
    /// Energy already imported in the current interval, kWh.
    pub interval_so_far_kwh: Option<f64>,
    /// Unhealthy devices, comma-separated.
    pub unhealthy: String,
}

fn ts(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339()
}

fn now_wall() -> String {
    Utc::now().to_rfc3339()
}

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open store {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot set up store {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the start of a run; returns its id. MQTT setpoints of earlier runs still
    /// waiting for the broker are flagged: the process ended before they were acknowledged.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_run(
        &self,
        district: &str,
        scenario: &str,
        clock: &str,
        mode: &str,
        config: &str,
        start_time: DateTime<FixedOffset>,
        resumed: bool,
    ) -> Result<i64> {
        let c = self.conn();
        c.execute(
            "UPDATE setpoints SET outcome = 'unacknowledged', flagged = 1,
             detail = 'the loop stopped before the broker acknowledged it'
             WHERE channel = 'mqtt' AND outcome = 'queued'",
            [],
        )?;
        c.execute(
            "INSERT INTO runs (started_wall, district, scenario, clock, mode, config, start_time, resumed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![now_wall(), district, scenario, clock, mode, config, ts(start_time), resumed as i64],
        )?;
        Ok(c.last_insert_rowid())
    }

    /// Marks the end of a run and folds the write-ahead log into the database file.
    pub fn end_run(&self, run_id: i64) -> Result<()> {
        let c = self.conn();
        c.execute(
            "UPDATE runs SET ended_wall = ?1 WHERE id = ?2",
            params![now_wall(), run_id],
        )?;
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Starts a cycle row; returns its id.
    pub fn begin_cycle(&self, run_id: i64, time: DateTime<FixedOffset>) -> Result<i64> {
        let c = self.conn();
        c.execute(
            "INSERT INTO cycles (run_id, time, wall_time) VALUES (?1, ?2, ?3)",
            params![run_id, ts(time), now_wall()],
        )?;
        Ok(c.last_insert_rowid())
    }

    /// Completes a cycle row.
    pub fn finish_cycle(&self, id: i64, r: &CycleRow) -> Result<()> {
        self.conn().execute(
            "UPDATE cycles SET source=?2, reason=?3, solve_status=?4, solve_seconds=?5, cycle_seconds=?6,
             mip_gap=?7, objective_yen=?8, horizon_steps=?9, flags=?10, setpoints=?11, write_failures=?12,
             base_load_kw=?13, peak_so_far_kw=?14, interval_so_far_kwh=?15, unhealthy=?16 WHERE id=?1",
            params![
                id,
                r.source,
                r.reason,
                r.solve_status,
                r.solve_seconds,
                r.cycle_seconds,
                r.mip_gap,
                r.objective_yen,
                r.horizon_steps.map(|s| s as i64),
                r.flags as i64,
                r.setpoints as i64,
                r.write_failures as i64,
                r.base_load_kw,
                r.peak_so_far_kw,
                r.interval_so_far_kwh,
                r.unhealthy,
            ],
        )?;
        Ok(())
    }

    /// Stores a telemetry snapshot and its flags.
    pub fn telemetry(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        snap: &connectors::Telemetry,
        flags: &[Flag],
    ) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO telemetry (cycle_id, time, asset, quantity, value, unit, error) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?;
            let t = ts(time);
            for a in snap.assets.values() {
                if let Some(e) = &a.error {
                    ins.execute(params![cycle, t, a.asset, "-", Option::<f64>::None, "", e])?;
                }
                for (q, r) in &a.values {
                    // SQLite has no NaN: a non-finite value is stored as NULL (and flagged).
                    let v = r.value.filter(|v| v.is_finite());
                    ins.execute(params![
                        cycle,
                        t,
                        a.asset,
                        q,
                        v,
                        r.unit,
                        Option::<String>::None
                    ])?;
                }
            }
            let mut fl = tx.prepare_cached(
                "INSERT INTO flags (cycle_id, time, asset, quantity, kind, detail) VALUES (?1,?2,?3,?4,?5,?6)",
            )?;
            for f in flags {
                fl.execute(params![
                    cycle,
                    t,
                    f.asset,
                    f.quantity,
                    f.kind.as_str(),
                    f.detail
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a JSON document in `forecasts`, `schedules` (with its source), `kpis` or
    /// `simulator`.
    pub fn document(
        &self,
        table: Doc,
        cycle: i64,
        time: DateTime<FixedOffset>,
        json: &str,
    ) -> Result<()> {
        let c = self.conn();
        match table {
            Doc::Forecast => c.execute(
                "INSERT INTO forecasts (cycle_id, time, json) VALUES (?1,?2,?3)",
                params![cycle, ts(time), json],
            )?,
            Doc::Schedule(source) => c.execute(
                "INSERT INTO schedules (cycle_id, time, source, json) VALUES (?1,?2,?3,?4)",
                params![cycle, ts(time), source, json],
            )?,
            Doc::Kpis => c.execute(
                "INSERT INTO kpis (cycle_id, time, json) VALUES (?1,?2,?3)",
                params![cycle, ts(time), json],
            )?,
            Doc::Simulator => c.execute(
                "INSERT INTO simulator (cycle_id, time, json) VALUES (?1,?2,?3)",
                params![cycle, ts(time), json],
            )?,
        };
        Ok(())
    }

    /// Records an event of the run: `kind` (e.g. `grid_lost`, `grid_restored`,
    /// `islanded_plan`, `normal_plan`) about `subject` (a grid connection, the district),
    /// in words.
    pub fn event(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        kind: &str,
        subject: &str,
        detail: &str,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO events (cycle_id, time, wall_time, kind, subject, detail) VALUES (?1,?2,?3,?4,?5,?6)",
            params![cycle, ts(time), now_wall(), kind, subject, detail],
        )?;
        Ok(())
    }

    /// Records what the controller told each unit (before the setpoints' limits).
    pub fn decisions(&self, cycle: i64, time: DateTime<FixedOffset>, d: &Decisions) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO decisions (cycle_id, time, asset, command, on_off, power_kw, setpoint_c) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?;
            let t = ts(time);
            for (asset, cmd) in &d.commands {
                let r = cmd.row();
                ins.execute(params![
                    cycle,
                    t,
                    asset,
                    r.kind,
                    r.on.map(i64::from),
                    r.power_kw,
                    r.setpoint_c
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a fallback.
    pub fn fallback(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        kind: &str,
        reason: &str,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO fallbacks (cycle_id, time, kind, reason) VALUES (?1,?2,?3,?4)",
            params![cycle, ts(time), kind, reason],
        )?;
        Ok(())
    }

    /// Records operator actions (and refused attempts), taken into the loop at the cycle
    /// `cycle` at `time`; `wall_time` is when each was asked.
    pub fn operator_actions(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        actions: &[operator::Action],
    ) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO operator_actions (cycle_id, time, wall_time, user, action, target, outcome) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?;
            for a in actions {
                ins.execute(params![
                    cycle,
                    ts(time),
                    a.wall_time.to_rfc3339(),
                    a.user,
                    a.action,
                    a.target,
                    a.outcome
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records Modbus writes with their outcome (confirmed by read-back, or flagged).
    pub fn writes(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        records: &[WriteRecord],
    ) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO setpoints (cycle_id, time, wall_time, channel, asset, quantity, requested, unit,
                 written, register, device, clamped, outcome, detail, confirmed, flagged)
                 VALUES (?1,?2,?3,'modbus',?4,?5,?6,'',?7,?8,?9,?10,?11,?12,?13,?14)",
            )?;
            for r in records {
                let (outcome, detail) = match &r.outcome {
                    WriteOutcome::Confirmed => ("confirmed", None),
                    WriteOutcome::ReadBackMismatch { read_back, .. } => (
                        "read_back_mismatch",
                        Some(format!("read back {read_back:?}")),
                    ),
                    WriteOutcome::ReadBackFailed { error } => {
                        ("read_back_failed", Some(error.clone()))
                    }
                    WriteOutcome::Refused { reason } => ("refused", Some(reason.clone())),
                    WriteOutcome::Failed { kind, error } => {
                        ("failed", Some(format!("{kind}: {error}")))
                    }
                };
                let confirmed = r.is_confirmed();
                ins.execute(params![
                    cycle,
                    ts(time),
                    r.time.to_rfc3339(),
                    r.asset,
                    r.quantity,
                    r.requested.is_finite().then_some(r.requested),
                    r.written,
                    r.register,
                    r.device,
                    r.clamped,
                    outcome,
                    detail,
                    confirmed as i64,
                    (!confirmed) as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records setpoints queued for MQTT (outcome `queued` until the broker acknowledges
    /// them); returns the last row id.
    pub fn mqtt_queued(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        sps: &[Setpoint],
    ) -> Result<i64> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let mut last = 0;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO setpoints (cycle_id, time, wall_time, channel, asset, quantity, requested, unit,
                 outcome, confirmed, flagged) VALUES (?1,?2,?3,'mqtt',?4,?5,?6,?7,'queued',0,0)",
            )?;
            for sp in sps {
                ins.execute(params![
                    cycle,
                    ts(time),
                    now_wall(),
                    sp.asset,
                    sp.quantity,
                    sp.value,
                    sp.unit
                ])?;
                last = tx.last_insert_rowid();
            }
        }
        tx.commit()?;
        Ok(last)
    }

    /// Every MQTT row up to `id` was acknowledged by the broker (the link's outbox drained
    /// after it was queued).
    pub fn mqtt_delivered(&self, up_to: i64) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE setpoints SET outcome='delivered', confirmed=1 WHERE channel='mqtt' AND outcome='queued' AND id <= ?1",
            params![up_to],
        )?)
    }

    /// MQTT rows still queued at shutdown are flagged.
    pub fn mqtt_undelivered(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE setpoints SET outcome='unacknowledged', flagged=1,
             detail='not acknowledged by the broker when the loop stopped'
             WHERE channel='mqtt' AND outcome='queued'",
            [],
        )?)
    }

    /// Stores completed intervals.
    pub fn intervals(&self, ivs: &[Interval]) -> Result<()> {
        let c = self.conn();
        for i in ivs {
            c.execute(
                "INSERT OR REPLACE INTO intervals (grid, start, import_kwh, export_kwh, mean_kw) VALUES (?1,?2,?3,?4,?5)",
                params![i.grid, ts(i.start), i.import_kwh, i.export_kwh, i.mean_kw],
            )?;
        }
        Ok(())
    }

    /// Every stored interval of `grid`, oldest first.
    #[cfg(test)]
    pub fn all_intervals(&self, grid: &str) -> Result<Vec<Interval>> {
        let c = self.conn();
        let mut q = c.prepare(
            "SELECT start, import_kwh, export_kwh, mean_kw FROM intervals WHERE grid = ?1",
        )?;
        let mut out: Vec<Interval> = q
            .query_map(params![grid], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .filter_map(|r| r.ok())
            .filter_map(|(s, import_kwh, export_kwh, mean_kw)| {
                Some(Interval {
                    grid: grid.into(),
                    start: DateTime::parse_from_rfc3339(&s).ok()?,
                    import_kwh,
                    export_kwh,
                    mean_kw,
                })
            })
            .collect();
        out.sort_by_key(|i| i.start);
        Ok(out)
    }

    /// Saves a resume document.
    pub fn put_state(&self, key: &str, json: &str) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)",
            params![key, json],
        )?;
        Ok(())
    }

    /// Reads a resume document.
    pub fn get_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM state WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every district base load the cycles stored, oldest first.
    pub fn base_loads(&self) -> Result<Vec<(DateTime<FixedOffset>, f64)>> {
        let c = self.conn();
        let mut q = c.prepare(
            "SELECT time, base_load_kw FROM cycles WHERE base_load_kw IS NOT NULL ORDER BY id",
        )?;
        let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))?;
        Ok(rows
            .filter_map(|r| r.ok())
            .filter_map(|(s, v)| Some((DateTime::parse_from_rfc3339(&s).ok()?, v)))
            .collect())
    }

    /// Runs a query returning one number (tests).
    #[cfg(test)]
    pub fn scalar(&self, sql: &str) -> Result<Option<f64>> {
        Ok(self
            .conn()
            .query_row(sql, [], |r| r.get::<_, Option<f64>>(0))?)
    }
}

/// The JSON documents a cycle stores.
#[derive(Debug, Clone, Copy)]
pub enum Doc<'a> {
    /// The forecast used.
    Forecast,
    /// The schedule followed, with its source.
    Schedule(&'a str),
    /// The KPIs after the cycle.
    Kpis,
    /// What the embedded simulator's district went through (its physics' own count).
    Simulator,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_rows_are_confirmed_or_flagged_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sqlite");
        let t = DateTime::parse_from_rfc3339("2025-08-04T10:00:00+09:00").unwrap();
        {
            let s = Store::open(&path).unwrap();
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
            s.intervals(&[Interval {
                grid: "pcc".into(),
                start: t,
                import_kwh: 300.0,
                export_kwh: 0.0,
                mean_kw: 600.0,
            }])
            .unwrap();
        }
        // A restart flags what the broker never acknowledged, and keeps the intervals.
        let s = Store::open(&path).unwrap();
        s.begin_run("d", "s.toml", "simulated", "control", "{}", t, true)
            .unwrap();
        let n = |sql: &str| s.scalar(sql).unwrap().unwrap_or(-1.0);
        assert_eq!(n("SELECT COUNT(*) FROM setpoints"), 4.0);
        assert_eq!(
            n("SELECT COUNT(*) FROM setpoints WHERE confirmed = 0 AND flagged = 0"),
            0.0
        );
        assert_eq!(n("SELECT COUNT(*) FROM setpoints WHERE flagged = 1"), 2.0);
        assert_eq!(s.all_intervals("pcc").unwrap()[0].mean_kw, 600.0);
    }
}
