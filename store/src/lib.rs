//! The run's history: cycles, telemetry, flags, forecasts, schedules, every setpoint sent
//! with its read-back or delivery, fallbacks, events (a grid connection lost or back, the
//! plan switched to islanded or normal), operator actions (who asked what, when, and
//! whether it was taken), the meters' 30-minute intervals, KPIs, what the embedded
//! simulator's district went through (`simulator`, simulated runs only), and the state a
//! restart resumes from.
//!
//! Two databases, one schema ([`schema`]): an embedded SQLite file (bundled, no server: the
//! default) or a PostgreSQL server (`store = "postgres://…"`), where times are `TIMESTAMPTZ`
//! and `telemetry` is partitioned by month. Every call is one transaction: a cycle's rows
//! are committed as they are made (the writes already sent are on record even if the
//! process is killed mid-cycle), and a restart resumes from the `state` table.
//!
//! Every table is append-only except `state` (one row per key) and the delivery status of
//! MQTT rows in `setpoints`. `time` is the loop's (simulated or real) time, `wall_time` the
//! machine's clock; SQLite holds them as RFC 3339 text in the scenario's offset.
//!
//! The live loop (`aems run`) writes it through [`Store`]; anything can read it with SQLite
//! or `psql` (and [`Store::query`]).

#![warn(missing_docs)]

mod backend;
mod location;
pub mod schema;

use std::collections::HashSet;
use std::sync::Mutex;

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Utc};
use connectors::{Setpoint, WriteOutcome, WriteRecord};

pub use backend::Value;
use backend::{Backend, Val};
pub use location::Location;

use control::state::{Flag, Interval};
use control::Decisions;

/// The run's history (one connection; every call is short and one transaction).
#[derive(Debug)]
pub struct Store {
    db: Backend,
    location: Location,
    /// Telemetry partitions made (PostgreSQL), by first day of the month.
    months: Mutex<HashSet<String>>,
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

fn now_wall() -> Val<'static> {
    Val::Time(Utc::now().fixed_offset())
}

fn text(s: &str) -> Val<'_> {
    Val::Text(Some(s))
}

fn opt_text(s: &Option<String>) -> Val<'_> {
    Val::Text(s.as_deref())
}

fn int(i: i64) -> Val<'static> {
    Val::Int(Some(i))
}

impl Store {
    /// Opens (creating) the store at `location`: an SQLite file (with its directory), or a
    /// PostgreSQL database that must exist (the tables are made when missing).
    pub fn open(location: &Location) -> Result<Self> {
        let db = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                let conn = rusqlite::Connection::open(path)
                    .with_context(|| format!("cannot open store {}", path.display()))?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                Backend::Sqlite(Mutex::new(conn))
            }
            Location::Postgres(url) => Backend::postgres(&location::pg_config(url)?)
                .with_context(|| format!("cannot connect to the store {}", location.display()))?,
        };
        let dialect = match location {
            Location::Sqlite(_) => schema::Dialect::Sqlite,
            Location::Postgres(_) => schema::Dialect::Postgres,
        };
        db.batch(&schema::ddl(dialect))
            .with_context(|| format!("cannot set up store {}", location.display()))?;
        Ok(Self {
            db,
            location: location.clone(),
            months: Mutex::new(HashSet::new()),
        })
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
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
        self.db.tx(|tx| {
            tx.exec(
                "UPDATE setpoints SET outcome = 'unacknowledged', flagged = 1,
                 detail = 'the loop stopped before the broker acknowledged it'
                 WHERE channel = 'mqtt' AND outcome = 'queued'",
                &[],
            )?;
            tx.insert_id(
                "INSERT INTO runs (started_wall, district, scenario, clock, mode, config, start_time, resumed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                &[
                    now_wall(),
                    text(district),
                    text(scenario),
                    text(clock),
                    text(mode),
                    text(config),
                    Val::Time(start_time),
                    int(resumed.into()),
                ],
            )
        })
    }

    /// Marks the end of a run (and folds SQLite's write-ahead log into the database file).
    pub fn end_run(&self, run_id: i64) -> Result<()> {
        self.db.tx(|tx| {
            tx.exec(
                "UPDATE runs SET ended_wall = ?1 WHERE id = ?2",
                &[now_wall(), int(run_id)],
            )
        })?;
        if let Backend::Sqlite(c) = &self.db {
            c.lock().unwrap_or_else(|p| p.into_inner()).query_row(
                "PRAGMA wal_checkpoint(TRUNCATE)",
                [],
                |_| Ok(()),
            )?;
        }
        Ok(())
    }

    /// Starts a cycle row; returns its id. In PostgreSQL the month's telemetry partition is
    /// made first when it is new (if that fails the rows go to the default partition).
    pub fn begin_cycle(&self, run_id: i64, time: DateTime<FixedOffset>) -> Result<i64> {
        if let Backend::Postgres(_) = &self.db {
            self.month_partition(time);
        }
        self.db.tx(|tx| {
            tx.insert_id(
                "INSERT INTO cycles (run_id, time, wall_time) VALUES (?1, ?2, ?3) RETURNING id",
                &[int(run_id), Val::Time(time), now_wall()],
            )
        })
    }

    /// Makes `telemetry`'s partition for the calendar month of `time` (in its offset).
    fn month_partition(&self, time: DateTime<FixedOffset>) {
        let first = |y: i32, m: u32| {
            time.offset()
                .with_ymd_and_hms(y, m, 1, 0, 0, 0)
                .single()
                .map(|t| t.to_rfc3339())
        };
        let (y, m) = (time.year(), time.month());
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let (Some(from), Some(to)) = (first(y, m), first(ny, nm)) else {
            return;
        };
        let mut made = self.months.lock().unwrap_or_else(|p| p.into_inner());
        if made.contains(&from) {
            return;
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS telemetry_{y:04}_{m:02} PARTITION OF telemetry \
             FOR VALUES FROM ('{from}') TO ('{to}')"
        );
        match self.db.batch(&sql) {
            Ok(()) => {}
            Err(e) => tracing::warn!(target: "aems::store",
                "telemetry partition for {y:04}-{m:02} not made ({e:#}): its rows go to telemetry_default"),
        }
        made.insert(from);
    }

    /// Completes a cycle row.
    pub fn finish_cycle(&self, id: i64, r: &CycleRow) -> Result<()> {
        self.db.tx(|tx| tx.exec(
            "UPDATE cycles SET source=?2, reason=?3, solve_status=?4, solve_seconds=?5, cycle_seconds=?6,
             mip_gap=?7, objective_yen=?8, horizon_steps=?9, flags=?10, setpoints=?11, write_failures=?12,
             base_load_kw=?13, peak_so_far_kw=?14, interval_so_far_kwh=?15, unhealthy=?16 WHERE id=?1",
            &[
                int(id),
                text(&r.source),
                opt_text(&r.reason),
                opt_text(&r.solve_status),
                Val::Real(r.solve_seconds),
                Val::Real(Some(r.cycle_seconds)),
                Val::Real(r.mip_gap),
                Val::Real(r.objective_yen),
                Val::Int(r.horizon_steps.map(|s| s as i64)),
                int(r.flags as i64),
                int(r.setpoints as i64),
                int(r.write_failures as i64),
                Val::Real(r.base_load_kw),
                Val::Real(r.peak_so_far_kw),
                Val::Real(r.interval_so_far_kwh),
                text(&r.unhealthy),
            ],
        ))?;
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
        let t = Val::Time(time);
        self.db.tx(|tx| {
            let ins = "INSERT INTO telemetry (cycle_id, time, asset, quantity, value, unit, error) VALUES (?1,?2,?3,?4,?5,?6,?7)";
            for a in snap.assets.values() {
                if let Some(e) = &a.error {
                    tx.exec(
                        ins,
                        &[int(cycle), t, text(&a.asset), text("-"), Val::Real(None), text(""), text(e)],
                    )?;
                }
                for (q, r) in &a.values {
                    // SQLite has no NaN: a non-finite value is stored as NULL (and flagged).
                    let v = r.value.filter(|v| v.is_finite());
                    tx.exec(
                        ins,
                        &[int(cycle), t, text(&a.asset), text(q), Val::Real(v), text(&r.unit), Val::Text(None)],
                    )?;
                }
            }
            for f in flags {
                tx.exec(
                    "INSERT INTO flags (cycle_id, time, asset, quantity, kind, detail) VALUES (?1,?2,?3,?4,?5,?6)",
                    &[int(cycle), t, text(&f.asset), text(&f.quantity), text(f.kind.as_str()), text(&f.detail)],
                )?;
            }
            Ok(())
        })
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
        let (c, t, j) = (int(cycle), Val::Time(time), text(json));
        self.db.tx(|tx| match table {
            Doc::Forecast => tx.exec(
                "INSERT INTO forecasts (cycle_id, time, json) VALUES (?1,?2,?3)",
                &[c, t, j],
            ),
            Doc::Schedule(source) => tx.exec(
                "INSERT INTO schedules (cycle_id, time, source, json) VALUES (?1,?2,?3,?4)",
                &[c, t, text(source), j],
            ),
            Doc::Kpis => tx.exec(
                "INSERT INTO kpis (cycle_id, time, json) VALUES (?1,?2,?3)",
                &[c, t, j],
            ),
            Doc::Simulator => tx.exec(
                "INSERT INTO simulator (cycle_id, time, json) VALUES (?1,?2,?3)",
                &[c, t, j],
            ),
        })?;
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
        self.db.tx(|tx| tx.exec(
            "INSERT INTO events (cycle_id, time, wall_time, kind, subject, detail) VALUES (?1,?2,?3,?4,?5,?6)",
            &[int(cycle), Val::Time(time), now_wall(), text(kind), text(subject), text(detail)],
        ))?;
        Ok(())
    }

    /// Records what the controller told each unit (before the setpoints' limits).
    pub fn decisions(&self, cycle: i64, time: DateTime<FixedOffset>, d: &Decisions) -> Result<()> {
        self.db.tx(|tx| {
            for (asset, cmd) in &d.commands {
                let r = cmd.row();
                tx.exec(
                    "INSERT INTO decisions (cycle_id, time, asset, command, on_off, power_kw, setpoint_c) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                    &[
                        int(cycle),
                        Val::Time(time),
                        text(asset),
                        text(r.kind),
                        Val::Int(r.on.map(i64::from)),
                        Val::Real(r.power_kw),
                        Val::Real(r.setpoint_c),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Records a fallback.
    pub fn fallback(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        kind: &str,
        reason: &str,
    ) -> Result<()> {
        self.db.tx(|tx| {
            tx.exec(
                "INSERT INTO fallbacks (cycle_id, time, kind, reason) VALUES (?1,?2,?3,?4)",
                &[int(cycle), Val::Time(time), text(kind), text(reason)],
            )
        })?;
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
        self.db.tx(|tx| {
            for a in actions {
                tx.exec(
                    "INSERT INTO operator_actions (cycle_id, time, wall_time, \"user\", action, target, outcome) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                    &[
                        int(cycle),
                        Val::Time(time),
                        Val::Time(a.wall_time.fixed_offset()),
                        text(&a.user),
                        text(&a.action),
                        text(&a.target),
                        text(&a.outcome),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Records Modbus writes with their outcome (confirmed by read-back, or flagged).
    pub fn writes(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        records: &[WriteRecord],
    ) -> Result<()> {
        self.db.tx(|tx| {
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
                // ECHONET Lite writes name their properties ("EPC 0xDA + EPC 0xEB").
                let channel = match r.register.as_deref() {
                    Some(x) if x.starts_with("EPC ") => "echonet",
                    _ => "modbus",
                };
                tx.exec(
                    "INSERT INTO setpoints (cycle_id, time, wall_time, channel, asset, quantity, requested, unit,
                     written, register, device, clamped, outcome, detail, confirmed, flagged)
                     VALUES (?1,?2,?3,?15,?4,?5,?6,'',?7,?8,?9,?10,?11,?12,?13,?14)",
                    &[
                        int(cycle),
                        Val::Time(time),
                        Val::Time(r.time.fixed_offset()),
                        text(&r.asset),
                        text(&r.quantity),
                        Val::Real(r.requested.is_finite().then_some(r.requested)),
                        Val::Real(r.written),
                        opt_text(&r.register),
                        text(&r.device),
                        opt_text(&r.clamped),
                        text(outcome),
                        opt_text(&detail),
                        int(confirmed.into()),
                        int((!confirmed).into()),
                        text(channel),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Records setpoints queued for MQTT (outcome `queued` until the broker acknowledges
    /// them); returns the last row id.
    pub fn mqtt_queued(
        &self,
        cycle: i64,
        time: DateTime<FixedOffset>,
        sps: &[Setpoint],
    ) -> Result<i64> {
        self.db.tx(|tx| {
            let mut last = 0;
            for sp in sps {
                last = tx.insert_id(
                    "INSERT INTO setpoints (cycle_id, time, wall_time, channel, asset, quantity, requested, unit,
                     outcome, confirmed, flagged) VALUES (?1,?2,?3,'mqtt',?4,?5,?6,?7,'queued',0,0) RETURNING id",
                    &[
                        int(cycle),
                        Val::Time(time),
                        now_wall(),
                        text(&sp.asset),
                        text(&sp.quantity),
                        Val::Real(Some(sp.value)),
                        text(&sp.unit),
                    ],
                )?;
            }
            Ok(last)
        })
    }

    /// Every MQTT row up to `id` was acknowledged by the broker (the link's outbox drained
    /// after it was queued).
    pub fn mqtt_delivered(&self, up_to: i64) -> Result<usize> {
        Ok(self.db.tx(|tx| tx.exec(
            "UPDATE setpoints SET outcome='delivered', confirmed=1 WHERE channel='mqtt' AND outcome='queued' AND id <= ?1",
            &[int(up_to)],
        ))? as usize)
    }

    /// MQTT rows still queued at shutdown are flagged.
    pub fn mqtt_undelivered(&self) -> Result<usize> {
        Ok(self.db.tx(|tx| {
            tx.exec(
                "UPDATE setpoints SET outcome='unacknowledged', flagged=1,
             detail='not acknowledged by the broker when the loop stopped'
             WHERE channel='mqtt' AND outcome='queued'",
                &[],
            )
        })? as usize)
    }

    /// Stores completed intervals (a stored interval is replaced).
    pub fn intervals(&self, ivs: &[Interval]) -> Result<()> {
        self.db.tx(|tx| {
            for i in ivs {
                tx.exec(
                    "INSERT INTO intervals (grid, start, import_kwh, export_kwh, mean_kw) VALUES (?1,?2,?3,?4,?5)
                     ON CONFLICT (grid, start) DO UPDATE SET import_kwh = excluded.import_kwh,
                     export_kwh = excluded.export_kwh, mean_kw = excluded.mean_kw",
                    &[
                        text(&i.grid),
                        Val::Time(i.start),
                        Val::Real(Some(i.import_kwh)),
                        Val::Real(Some(i.export_kwh)),
                        Val::Real(Some(i.mean_kw)),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Every stored interval of `grid`, oldest first.
    pub fn all_intervals(&self, grid: &str) -> Result<Vec<Interval>> {
        let rows = self.db.tx(|tx| {
            tx.query(
                "SELECT start, import_kwh, export_kwh, mean_kw FROM intervals WHERE grid = ?1",
                &[text(grid)],
            )
        })?;
        let mut out: Vec<Interval> = rows
            .iter()
            .filter_map(|r| {
                Some(Interval {
                    grid: grid.into(),
                    start: r.first()?.as_time()?,
                    import_kwh: r.get(1)?.as_f64()?,
                    export_kwh: r.get(2)?.as_f64()?,
                    mean_kw: r.get(3)?.as_f64()?,
                })
            })
            .collect();
        out.sort_by_key(|i| i.start);
        Ok(out)
    }

    /// Saves a resume document.
    pub fn put_state(&self, key: &str, json: &str) -> Result<()> {
        self.db.tx(|tx| {
            tx.exec(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[text(key), text(json)],
            )
        })?;
        Ok(())
    }

    /// Reads a resume document.
    pub fn get_state(&self, key: &str) -> Result<Option<String>> {
        let rows = self
            .db
            .tx(|tx| tx.query("SELECT value FROM state WHERE key = ?1", &[text(key)]))?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_text))
    }

    /// Every district base load the cycles stored, oldest first (times in their stored
    /// offset: the scenario's in SQLite, UTC from PostgreSQL).
    pub fn base_loads(&self) -> Result<Vec<(DateTime<FixedOffset>, f64)>> {
        let rows = self.db.tx(|tx| {
            tx.query(
                "SELECT time, base_load_kw FROM cycles WHERE base_load_kw IS NOT NULL ORDER BY id",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.first()?.as_time()?, r.get(1)?.as_f64()?)))
            .collect())
    }

    /// Runs a query (read it as it is: tests and tools) and returns its rows. Write it in
    /// SQL both databases take; times come back as text from SQLite and as times from
    /// PostgreSQL ([`Value::as_time`] reads both).
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<Value>>> {
        self.db
            .tx(|tx| tx.query(sql, &[]))
            .with_context(|| format!("store {}: {sql}", self.location.display()))
    }

    /// The first column of the first row of a query as a number (NULL or no row: None).
    pub fn scalar(&self, sql: &str) -> Result<Option<f64>> {
        Ok(self
            .query(sql)?
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_f64))
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
