//! One planner cycle, and the state the loop carries from cycle to cycle.
//!
//! telemetry (one frozen snapshot) → state → forecast → dispatch problem → solve (with a
//! deadline) → schedule, or the previous one shifted, or the rule-based fallback →
//! setpoints → Modbus writes (each recorded with its read-back) and MQTT → KPIs → store
//! and the operator's view. Nothing in a cycle returns an error: every failure is logged,
//! stored and counted, and the cycle goes on with what is safe.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, FixedOffset};
use connectors::mqtt::{ScheduleMessage, ScheduleSeries, SCHEMA_VERSION};
use connectors::{
    DeviceFamily, DevicesConfig, Fleet, MqttLink, SetpointPublisher, Telemetry, WriteRecord,
};
use engine::{Scenario, ScenarioFile, SolveOptions, Status};
use serde_json::{json, Value};

use super::config::{FaultKind, Mode, RunConfig};
use super::fallback::{previous_commands, rule_commands, Plan, Source};
use super::forecast::Forecaster;
use super::http::Shared;
use super::kpi::Kpis;
use super::metrics::kind;
use super::problem::{self, Start};
use super::setpoints::{commands_at, setpoints_for, Command};
use super::state::{assess, Flag, Intervals, LastGood, PlantState, Sample};
use super::store::{CycleRow, Doc, Store};

/// What a restart resumes from (stored after every cycle).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    /// District id.
    pub district: String,
    /// Scenario file.
    pub scenario: String,
    /// Time of the run's first start (fault schedules count from it).
    pub origin: DateTime<FixedOffset>,
    /// Time of the last cycle.
    pub time: DateTime<FixedOffset>,
    /// The meters' interval tracker (current interval, month's peak).
    pub intervals: ResumeIntervals,
    /// KPIs so far.
    pub kpis: Kpis,
    /// Battery energy at the last cycle, kWh.
    pub battery_kwh: std::collections::BTreeMap<String, f64>,
    /// Zone temperatures at the last cycle, °C.
    pub zone_c: std::collections::BTreeMap<String, f64>,
}

/// The serialisable part of [`Intervals`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ResumeIntervals {
    last: std::collections::BTreeMap<String, Sample>,
    at_start: std::collections::BTreeMap<String, Sample>,
}

/// The loop: its parts and the state carried between cycles.
pub struct Loop {
    /// Settings.
    pub cfg: RunConfig,
    /// The scenario file (forecasts read windows of it).
    pub file: ScenarioFile,
    /// The whole CSV as one scenario (prices and bands by time, for KPIs).
    pub data: Scenario,
    /// Devices (with the ports actually served, under the embedded simulator).
    pub devices: DevicesConfig,
    /// Modbus.
    pub fleet: Fleet,
    /// MQTT, if configured.
    pub link: Option<Arc<MqttLink>>,
    /// Store.
    pub store: Arc<Store>,
    /// HTTP view and metrics.
    pub shared: Arc<Shared>,
    /// Forecaster.
    pub forecaster: Box<dyn Forecaster>,
    /// This run's id in the store.
    pub run_id: i64,
    /// Start of the run's fault schedule.
    pub origin: DateTime<FixedOffset>,
    /// The scenario's peak before its horizon, per grid, and the month it applies to.
    pub base_peak: Vec<(String, f64)>,
    /// (year, month) of `base_peak`.
    pub base_month: (i32, u32),
    /// Last good readings.
    pub last_good: LastGood,
    /// Meter intervals.
    pub intervals: Intervals,
    /// KPIs.
    pub kpis: Kpis,
    /// The last solved plan.
    pub previous: Option<Plan>,
    /// Devices released to their own control (not answering, or HVAC under the rule).
    pub released: BTreeSet<String>,
    /// A solve abandoned at its deadline is still running.
    pub solving: Arc<AtomicBool>,
    /// Last MQTT audit row queued.
    pub last_mqtt_id: i64,
    /// Time of the previous cycle.
    pub last_cycle: Option<DateTime<FixedOffset>>,
}

/// Controllable families.
fn controllable(f: DeviceFamily) -> bool {
    matches!(
        f,
        DeviceFamily::Battery | DeviceFamily::Hvac | DeviceFamily::Generator
    )
}

impl Loop {
    fn tz(&self) -> chrono_tz::Tz {
        self.data.timezone
    }

    /// The faults active at `now` of `kind`.
    fn solve_deadline(&self, now: DateTime<FixedOffset>) -> (f64, bool) {
        let h = (now - self.origin).num_seconds() as f64 / 3600.0;
        for f in &self.cfg.faults {
            if f.kind == FaultKind::SolveDeadline && f.from_h <= h && h < f.until_h {
                return (f.deadline_s.unwrap_or(0.0), true);
            }
        }
        (self.cfg.deadline_s, false)
    }

    fn log_store(&self, what: &str, r: anyhow::Result<impl Sized>) {
        if let Err(e) = r {
            tracing::error!(target: "aems::run", "store: {what}: {e:#}");
        }
    }

    fn peaks(&self, now: DateTime<FixedOffset>) -> Vec<(String, f64)> {
        let local = now.with_timezone(&self.tz());
        let same_month = (local.year(), local.month()) == self.base_month;
        self.data
            .grids
            .iter()
            .map(|g| {
                let base = if same_month {
                    self.base_peak
                        .iter()
                        .find(|(id, _)| *id == g.id)
                        .map(|(_, p)| *p)
                        .unwrap_or(0.0)
                } else {
                    0.0
                };
                (
                    g.id.clone(),
                    base.max(self.intervals.peak_kw(&g.id, now, self.tz())),
                )
            })
            .collect()
    }

    /// Saves what a restart needs.
    fn save_resume(&self, now: DateTime<FixedOffset>, plant: &PlantState) {
        let r = Resume {
            district: self.devices.district.clone(),
            scenario: self.file.path().display().to_string(),
            origin: self.origin,
            time: now,
            intervals: ResumeIntervals {
                last: self.intervals.last.clone(),
                at_start: self.intervals.at_start.clone(),
            },
            kpis: self.kpis.clone(),
            battery_kwh: plant.battery_kwh.clone(),
            zone_c: plant.zone_c.clone(),
        };
        match serde_json::to_string(&r) {
            Ok(j) => self.log_store("resume state", self.store.put_state("resume", &j)),
            Err(e) => tracing::error!(target: "aems::run", "resume state: {e}"),
        }
    }

    /// Takes up a stored run: intervals (with the month's peak rebuilt from the stored
    /// intervals), KPIs.
    pub fn resume_from(&mut self, r: &Resume) {
        self.intervals.last = r.intervals.last.clone();
        self.intervals.at_start = r.intervals.at_start.clone();
        for g in &self.data.grids {
            match self.store.all_intervals(&g.id) {
                Ok(ivs) => {
                    for iv in ivs {
                        self.intervals
                            .raise_peak(&g.id, iv.start, iv.mean_kw, self.data.timezone);
                    }
                }
                Err(e) => tracing::error!(target: "aems::run", "store: intervals: {e:#}"),
            }
        }
        self.kpis = r.kpis.clone();
        self.origin = r.origin;
    }

    /// Records Modbus write records: store, metrics.
    fn record_writes(&self, cycle: i64, now: DateTime<FixedOffset>, recs: &[WriteRecord]) -> usize {
        let mut failures = 0;
        for r in recs {
            let outcome = match &r.outcome {
                connectors::WriteOutcome::Confirmed => "confirmed",
                connectors::WriteOutcome::ReadBackMismatch { .. } => "read_back_mismatch",
                connectors::WriteOutcome::ReadBackFailed { .. } => "read_back_failed",
                connectors::WriteOutcome::Refused { .. } => "refused",
                connectors::WriteOutcome::Failed { .. } => "failed",
            };
            self.shared
                .metrics
                .setpoints
                .get_or_create(&super::metrics::OutcomeLabel {
                    outcome: outcome.into(),
                })
                .inc();
            if !r.is_confirmed() {
                failures += 1;
                self.shared
                    .metrics
                    .device_errors
                    .get_or_create(&super::metrics::AssetLabel {
                        asset: r.asset.clone(),
                    })
                    .inc();
            }
        }
        if !recs.is_empty() {
            self.log_store("setpoints", self.store.writes(cycle, now, recs));
        }
        failures
    }

    /// Rewrites setpoints that the devices would otherwise forget (their `refresh_s`).
    pub async fn refresh(&self, now: DateTime<FixedOffset>) {
        let recs = self.fleet.refresh().await;
        if !recs.is_empty() {
            // Refreshes belong to the last cycle's row.
            self.record_writes(self.last_cycle_id(), now, &recs);
        }
    }

    /// Releases `asset`'s device to its own control, once.
    async fn release(&mut self, cycle: i64, now: DateTime<FixedOffset>, asset: &str, why: &str) {
        if self.released.contains(asset) {
            return;
        }
        let Some(d) = self.fleet.device(asset).cloned() else {
            return;
        };
        tracing::warn!(target: "aems::run", asset, "released to its own control: {why}");
        let recs = d.release().await;
        self.record_writes(cycle, now, &recs);
        self.released.insert(asset.to_string());
    }

    /// Runs one cycle at `now`.
    pub async fn cycle(&mut self, now: DateTime<FixedOffset>) {
        let wall = Instant::now();
        let cycle = match self.store.begin_cycle(self.run_id, now) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(target: "aems::run", "store: cycle: {e:#}");
                0
            }
        };
        let mut row = CycleRow::default();
        // MQTT rows queued before now are delivered once the outbox has drained.
        if let Some(link) = &self.link {
            let st = link.status();
            self.shared
                .metrics
                .mqtt_connected
                .set(i64::from(st.connected));
            self.shared.metrics.mqtt_pending.set(st.pending as i64);
            if st.pending == 0 && self.last_mqtt_id > 0 {
                self.log_store(
                    "mqtt delivery",
                    self.store.mqtt_delivered(self.last_mqtt_id),
                );
            }
        }

        // Telemetry → state.
        let snapshot: Telemetry = self.fleet.read_all().await;
        let plant = assess(
            &snapshot,
            now,
            &self.data,
            &self.devices,
            &mut self.last_good,
            self.cfg.stale_after_s,
        );
        for f in &plant.flags {
            self.shared
                .metrics
                .telemetry_flags
                .get_or_create(&kind(f.kind.as_str()))
                .inc();
            if f.kind == super::state::FlagKind::DeviceError {
                self.shared
                    .metrics
                    .device_errors
                    .get_or_create(&super::metrics::AssetLabel {
                        asset: f.asset.clone(),
                    })
                    .inc();
            }
            tracing::warn!(target: "aems::run", asset = %f.asset, quantity = %f.quantity, kind = f.kind.as_str(), "flagged: {}", f.detail);
        }
        row.flags = plant.flags.len();
        row.unhealthy = plant
            .unhealthy
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        self.log_store(
            "telemetry",
            self.store.telemetry(cycle, now, &snapshot, &plant.flags),
        );

        // Meters → intervals, the month's peak, the energy of the current interval.
        let mut so_far = Vec::new();
        for g in &self.data.grids {
            if let Some(imp) = plant.meter_import_kwh.get(&g.id) {
                let s = Sample {
                    time: now,
                    import_kwh: *imp,
                    export_kwh: plant.meter_export_kwh.get(&g.id).copied().unwrap_or(0.0),
                };
                let done = self.intervals.add(&g.id, s, self.data.timezone);
                if !done.is_empty() {
                    self.log_store("intervals", self.store.intervals(&done));
                    self.kpis.add_intervals(&self.data, &done);
                }
            }
            let e = match self.intervals.so_far_kwh(&g.id, now) {
                Some(e) => e,
                None => {
                    // No counter for the interval's start: estimate from the meter's power.
                    let elapsed_h =
                        (now - super::state::interval_start(now)).num_seconds() as f64 / 3600.0;
                    plant
                        .meter_kw
                        .get(&g.id)
                        .map(|p| p.max(0.0) * elapsed_h)
                        .unwrap_or(0.0)
                }
            };
            so_far.push((g.id.clone(), e));
        }
        let peaks = self.peaks(now);
        row.peak_so_far_kw = peaks.first().map(|(_, p)| *p);
        row.interval_so_far_kwh = so_far.first().map(|(_, e)| *e);
        if let Some((_, p)) = peaks.first() {
            self.shared.metrics.month_peak_kw.set(*p);
        }
        if let Some(prev) = self.last_cycle {
            let hours = (now - prev).num_seconds() as f64 / 3600.0;
            self.kpis.add_cycle(&self.data, &plant, hours, now);
        } else {
            self.kpis.add_cycle(&self.data, &plant, 0.0, now);
            self.kpis.cycles -= 1;
        }
        self.kpis.settle(&self.data, &peaks);
        self.shared.metrics.cost_yen.set(self.kpis.cost_yen);
        row.base_load_kw = base_load_kw(&self.data, &snapshot, &plant);

        let mut records: Vec<WriteRecord> = Vec::new();
        let mut forecast_json = Value::Null;
        let mut schedule_json = Value::Null;
        if self.cfg.mode == Mode::Observe {
            row.source = Source::Observe.as_str().into();
        } else {
            // Devices that cannot be trusted go back to their own control.
            let unhealthy: Vec<String> = self
                .devices
                .devices
                .iter()
                .filter(|d| controllable(d.profile.family) && plant.unhealthy.contains(&d.asset))
                .map(|d| d.asset.clone())
                .collect();
            for a in &unhealthy {
                self.release(cycle, now, a, "telemetry flagged (see flags)")
                    .await;
            }
            // Forecast → problem → solve.
            let (fresh, reason, solve) = self
                .plan(now, &plant, &peaks, &so_far, &mut forecast_json)
                .await;
            row.solve_status = solve.status.clone();
            row.solve_seconds = solve.seconds;
            if let Some(s) = solve.seconds {
                self.shared.metrics.solve_seconds.observe(s);
            }
            let (source, commands) = match &fresh {
                Some(plan) => {
                    row.mip_gap = plan.mip_gap;
                    row.objective_yen = Some(plan.objective_yen);
                    row.horizon_steps = Some(plan.problem.steps);
                    if let Some(g) = plan.mip_gap {
                        self.shared.metrics.mip_gap.set(g);
                    }
                    (Source::Fresh, commands_at(&plan.problem, &plan.schedule, 0))
                }
                None => match previous_commands(
                    self.previous.as_ref(),
                    now,
                    self.cfg.schedule_valid_min,
                ) {
                    Some(c) => (Source::Previous, c),
                    None => (Source::Rule, rule_commands(&self.data)),
                },
            };
            if let Some(plan) = fresh {
                self.previous = Some(plan);
            }
            row.source = source.as_str().into();
            if source != Source::Fresh {
                let reason = reason.unwrap_or_else(|| "no schedule".into());
                let what = match source {
                    Source::Previous => "previous schedule, shifted",
                    _ => "rule-based: batteries hold, generators off, HVAC to its own thermostat",
                };
                tracing::warn!(target: "aems::run", fallback = source.as_str(), "fallback ({what}): {reason}");
                self.shared
                    .metrics
                    .fallbacks
                    .get_or_create(&kind(source.as_str()))
                    .inc();
                self.kpis.fallbacks += 1;
                self.log_store(
                    "fallback",
                    self.store.fallback(cycle, now, source.as_str(), &reason),
                );
                row.reason = Some(reason);
            }
            if source == Source::Rule {
                let hvacs: Vec<String> = self.data.hvacs.iter().map(|h| h.id.clone()).collect();
                for h in hvacs {
                    self.release(cycle, now, &h, "rule-based fallback").await;
                }
            }
            // Commands → setpoints → writes.
            let mut sent = Vec::new();
            for (asset, cmd) in &commands {
                if plant.unhealthy.contains(asset) {
                    continue;
                }
                if source == Source::Rule && matches!(cmd, Command::Hvac { .. }) {
                    continue;
                }
                let Some(dev) = self.devices.device(asset) else {
                    continue;
                };
                match setpoints_for(dev, cmd, plant.battery_rate_kw.get(asset).copied()) {
                    Ok(sps) => {
                        self.released.remove(asset);
                        sent.extend(sps);
                    }
                    Err(e) => tracing::warn!(target: "aems::run", asset, "no setpoint: {e}"),
                }
            }
            records = self.fleet.write_all(&sent).await;
            row.setpoints = records.len();
            row.write_failures = self.record_writes(cycle, now, &records);
            // MQTT: each setpoint (valid until the next cycle) and the schedule.
            if let Some(link) = &self.link {
                let publisher = SetpointPublisher::new(link.clone());
                let until = (now + chrono::Duration::minutes(i64::from(self.cfg.cadence_min)))
                    .with_timezone(&chrono::Utc);
                for sp in &sent {
                    publisher.publish_setpoint(sp, Some(until));
                }
                if let Some(plan) = &self.previous {
                    if source != Source::Rule {
                        publisher.publish_schedule(&schedule_message(&self.devices.district, plan));
                    }
                }
                match self.store.mqtt_queued(cycle, now, &sent) {
                    Ok(id) if id > 0 => self.last_mqtt_id = id,
                    Ok(_) => {}
                    Err(e) => tracing::error!(target: "aems::run", "store: mqtt: {e:#}"),
                }
            }
            schedule_json = match (&self.previous, source) {
                (Some(plan), Source::Fresh | Source::Previous) => schedule_view(plan, source, now),
                _ => {
                    json!({"source": source.as_str(), "time": now.to_rfc3339(), "commands": commands.iter().map(|(a, c)| json!({"asset": a, "command": c})).collect::<Vec<_>>()})
                }
            };
            self.log_store(
                "schedule",
                self.store.document(
                    Doc::Schedule(source.as_str()),
                    cycle,
                    now,
                    &schedule_json.to_string(),
                ),
            );
            if !forecast_json.is_null() {
                self.log_store(
                    "forecast",
                    self.store
                        .document(Doc::Forecast, cycle, now, &forecast_json.to_string()),
                );
            }
        }
        let kpi_json = serde_json::to_value(&self.kpis).unwrap_or(Value::Null);
        self.log_store(
            "kpis",
            self.store
                .document(Doc::Kpis, cycle, now, &kpi_json.to_string()),
        );
        row.cycle_seconds = wall.elapsed().as_secs_f64();
        self.log_store("cycle", self.store.finish_cycle(cycle, &row));
        self.save_resume(now, &plant);
        self.shared.metrics.cycles.inc();
        self.shared.metrics.cycle_seconds.observe(row.cycle_seconds);
        self.last_cycle = Some(now);
        tracing::info!(
            target: "aems::run",
            time = %now.to_rfc3339(),
            source = %row.source,
            solve = ?row.solve_status,
            solve_s = ?row.solve_seconds,
            flags = row.flags,
            setpoints = row.setpoints,
            write_failures = row.write_failures,
            peak_kw = ?row.peak_so_far_kw,
            cost_yen = self.kpis.cost_yen,
            "cycle"
        );
        self.publish_view(
            now,
            &row,
            &plant.flags,
            &records,
            schedule_json,
            forecast_json,
            kpi_json,
            &peaks,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn publish_view(
        &self,
        now: DateTime<FixedOffset>,
        row: &CycleRow,
        flags: &[Flag],
        records: &[WriteRecord],
        schedule: Value,
        forecast: Value,
        kpis: Value,
        peaks: &[(String, f64)],
    ) {
        let mqtt = self.link.as_ref().map(|l| {
            let s = l.status();
            json!({"connected": s.connected, "connections": s.connections, "delivered": s.delivered, "pending": s.pending, "last_error": s.last_error})
        });
        let degraded = row.source == Source::Previous.as_str()
            || row.source == Source::Rule.as_str()
            || !row.unhealthy.is_empty()
            || mqtt
                .as_ref()
                .is_some_and(|m| m["connected"] == json!(false));
        let health = json!({
            "status": if degraded { "degraded" } else { "ok" },
            "time": now.to_rfc3339(),
            "clock": format!("{:?}", self.cfg.clock).to_lowercase(),
            "mode": format!("{:?}", self.cfg.mode).to_lowercase(),
            "cycles": self.kpis.cycles,
            "last_cycle": {
                "source": row.source, "reason": row.reason, "solve_status": row.solve_status,
                "solve_seconds": row.solve_seconds, "cycle_seconds": row.cycle_seconds,
                "flags": row.flags, "setpoints": row.setpoints, "write_failures": row.write_failures,
            },
            "unhealthy": row.unhealthy.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            "released": self.released,
            "mqtt": mqtt,
            "month_peak_kw": peaks.iter().map(|(g, p)| (g.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
            "store": self.cfg.store.display().to_string(),
        });
        let setpoints: Vec<Value> = records
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect();
        self.shared.publish(|v| {
            v.health = health;
            v.kpis = kpis;
            v.flags = serde_json::to_value(flags).unwrap_or(Value::Null);
            v.setpoints = Value::Array(setpoints);
            if !schedule.is_null() {
                v.schedule = schedule;
            }
            if !forecast.is_null() {
                v.forecast = forecast;
            }
            v.updated = Some(Instant::now());
        });
    }

    /// A solve that ended in an error: counted, and the reason.
    fn solve_error(
        &self,
        reason: String,
        mut info: SolveInfo,
    ) -> (Option<Plan>, Option<String>, SolveInfo) {
        info.status = Some("error".into());
        self.shared
            .metrics
            .solve_failures
            .get_or_create(&kind("error"))
            .inc();
        (None, Some(reason), info)
    }

    /// Forecast, problem and solve: the fresh plan, or why there is none.
    async fn plan(
        &self,
        now: DateTime<FixedOffset>,
        plant: &PlantState,
        peaks: &[(String, f64)],
        so_far: &[(String, f64)],
        forecast_json: &mut Value,
    ) -> (Option<Plan>, Option<String>, SolveInfo) {
        let mut info = SolveInfo::default();
        let row_min = self.file.step_minutes();
        let row0 = super::clock::floor_to(now, row_min);
        let Some(first) = self.file.table().row_of(row0) else {
            return (
                None,
                Some(format!(
                    "the scenario's data do not cover {}",
                    now.to_rfc3339()
                )),
                info,
            );
        };
        let horizon_end = now + chrono::Duration::minutes((self.cfg.horizon_h * 60.0) as i64);
        let want_rows =
            ((horizon_end - row0).num_minutes() as f64 / f64::from(row_min)).ceil() as usize;
        let rows = want_rows.min(self.file.table().len() - first).max(1);
        let forecast = match self.forecaster.forecast(&self.file, row0, rows) {
            Ok(f) => f,
            Err(e) => {
                return (
                    None,
                    Some(format!("forecast ({}): {e:#}", self.forecaster.name())),
                    info,
                )
            }
        };
        *forecast_json = forecast_view(&forecast, self.forecaster.name(), now);
        let no_device: BTreeSet<String> = self
            .data
            .batteries
            .iter()
            .map(|b| b.id.clone())
            .chain(self.data.generators.iter().map(|g| g.id.clone()))
            .filter(|id| self.devices.device(id).is_none())
            .collect();
        let start = Start {
            now,
            step_minutes: self.cfg.step_minutes,
            steps: self.cfg.horizon_steps(),
            peak_so_far_kw: peaks.to_vec(),
            interval_import_so_far_kwh: so_far.to_vec(),
        };
        let sc = match problem::build(&forecast, plant, &start, &no_device) {
            Ok(sc) => sc,
            Err(e) => return (None, Some(format!("dispatch problem: {e:#}")), info),
        };
        let (deadline_s, forced) = self.solve_deadline(now);
        if self.solving.load(Ordering::SeqCst) {
            info.status = Some("skipped".into());
            self.shared
                .metrics
                .solve_failures
                .get_or_create(&kind("still_running"))
                .inc();
            return (
                None,
                Some("the previous solve, abandoned at its deadline, is still running".into()),
                info,
            );
        }
        let opts = SolveOptions {
            time_limit_s: Some(deadline_s),
            mip_gap: self.cfg.mip_gap,
            threads: self.cfg.threads,
            ..Default::default()
        };
        let solving = self.solving.clone();
        solving.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        let sc2 = sc.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let r = engine::optimize(&sc2, &opts);
            solving.store(false, Ordering::SeqCst);
            r
        });
        // The engine stops itself at the time limit; the extra second only guards
        // against a solver that does not.
        let guard = std::time::Duration::from_secs_f64(deadline_s * 1.5 + 1.0);
        let result = tokio::time::timeout(guard, handle).await;
        let elapsed = t0.elapsed().as_secs_f64();
        info.seconds = Some(elapsed);
        let missed = |why: String, info: &mut SolveInfo| {
            info.status = Some("missed_deadline".into());
            self.shared
                .metrics
                .solve_failures
                .get_or_create(&kind("deadline"))
                .inc();
            let forced = if forced {
                " (forced by a solve_deadline fault)"
            } else {
                ""
            };
            Some(format!(
                "solve missed its deadline of {deadline_s} s{forced}: {why}"
            ))
        };
        let outcome = match result {
            Err(_) => {
                return (
                    None,
                    missed(
                        format!("still running after {elapsed:.3} s, abandoned"),
                        &mut info,
                    ),
                    info,
                )
            }
            Ok(Err(e)) => return self.solve_error(format!("solve task failed: {e}"), info),
            Ok(Ok(Err(e))) => return self.solve_error(format!("solve failed: {e}"), info),
            Ok(Ok(Ok(o))) => o,
        };
        info.status = Some(outcome.status.as_str().into());
        if elapsed > deadline_s {
            return (
                None,
                missed(
                    format!("took {elapsed:.3} s ({})", outcome.status),
                    &mut info,
                ),
                info,
            );
        }
        match (outcome.status, outcome.schedule, outcome.figures) {
            (Status::Optimal | Status::TimeLimit, Some(schedule), Some(fig)) => (
                Some(Plan {
                    problem: sc,
                    schedule,
                    objective_yen: fig.objective_yen,
                    mip_gap: outcome.mip_gap,
                }),
                None,
                info,
            ),
            (status, _, _) => {
                self.shared
                    .metrics
                    .solve_failures
                    .get_or_create(&kind(status.as_str()))
                    .inc();
                let why = outcome.message.unwrap_or_default();
                let diag = outcome
                    .diagnosis
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                (None, Some(format!("solve: {status}: {why}{diag}")), info)
            }
        }
    }

    /// Hands every device back to its own control (shutdown).
    pub async fn release_all(&self, now: DateTime<FixedOffset>) {
        let recs = self.fleet.release_all().await;
        self.record_writes(self.last_cycle_id(), now, &recs);
    }

    /// The store's latest cycle row (0 before the first).
    fn last_cycle_id(&self) -> i64 {
        self.store
            .scalar("SELECT MAX(id) FROM cycles")
            .ok()
            .flatten()
            .unwrap_or(0.0) as i64
    }
}

/// How the solve went.
#[derive(Debug, Default)]
pub struct SolveInfo {
    /// Engine status or `missed_deadline`, `error`, `skipped`.
    pub status: Option<String>,
    /// Wall seconds.
    pub seconds: Option<f64>,
}

/// The district's base load (loads − PV) from the grid meters and the controllable assets'
/// own readings: meter + batteries' power (+ discharging) − HVAC + generators.
fn base_load_kw(data: &Scenario, snap: &Telemetry, plant: &PlantState) -> Option<f64> {
    let mut p = 0.0;
    for g in &data.grids {
        p += plant.meter_kw.get(&g.id)?;
    }
    for b in &data.batteries {
        p += snap.value(&b.id, "power_kw")?;
    }
    for h in &data.hvacs {
        p -= snap.value(&h.id, "power_kw")?;
    }
    for g in &data.generators {
        p += snap.value(&g.id, "power_kw")?;
    }
    p.is_finite().then_some(p)
}

fn series(asset: &str, quantity: &str, unit: &str, values: Vec<f64>) -> ScheduleSeries {
    ScheduleSeries {
        asset: asset.into(),
        quantity: quantity.into(),
        unit: unit.into(),
        values,
    }
}

/// The schedule's series per asset quantity (battery power + discharging and energy, HVAC
/// power, on and zone temperature, generator power and on, grid import).
fn plan_series(plan: &Plan) -> Vec<ScheduleSeries> {
    let (sc, s) = (&plan.problem, &plan.schedule);
    let mut out = Vec::new();
    for (g, gs) in sc.grids.iter().zip(&s.grids) {
        out.push(series(&g.id, "import_kw", "kW", gs.import_kw.clone()));
    }
    for (b, bs) in sc.batteries.iter().zip(&s.batteries) {
        let p = bs
            .discharge_kw
            .iter()
            .zip(&bs.charge_kw)
            .map(|(d, c)| d - c)
            .collect();
        out.push(series(&b.id, "power_kw", "kW", p));
        out.push(series(
            &b.id,
            "energy_kwh",
            "kWh",
            bs.energy_kwh[1..].to_vec(),
        ));
    }
    for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
        out.push(series(&h.id, "power_kw", "kW", hs.power_kw.clone()));
        out.push(series(
            &h.id,
            "on",
            "",
            hs.on.iter().map(|o| f64::from(u8::from(*o))).collect(),
        ));
        out.push(series(&h.id, "zone_temp_c", "°C", hs.temp_c[1..].to_vec()));
    }
    for (g, gs) in sc.generators.iter().zip(&s.generators) {
        out.push(series(&g.id, "power_kw", "kW", gs.power_kw.clone()));
        out.push(series(
            &g.id,
            "on",
            "",
            gs.on.iter().map(|o| f64::from(u8::from(*o))).collect(),
        ));
    }
    out
}

fn schedule_message(district: &str, plan: &Plan) -> ScheduleMessage {
    ScheduleMessage {
        v: SCHEMA_VERSION,
        district: district.into(),
        time: chrono::Utc::now(),
        start: plan.problem.start.to_rfc3339(),
        step_minutes: plan.problem.step_minutes,
        steps: plan.problem.steps,
        series: plan_series(plan),
    }
}

fn schedule_view(plan: &Plan, source: Source, now: DateTime<FixedOffset>) -> Value {
    json!({
        "source": source.as_str(),
        "time": now.to_rfc3339(),
        "start": plan.problem.start.to_rfc3339(),
        "step_minutes": plan.problem.step_minutes,
        "steps": plan.problem.steps,
        "objective_yen": plan.objective_yen,
        "mip_gap": plan.mip_gap,
        "series": plan_series(plan),
    })
}

fn forecast_view(f: &Scenario, forecaster: &str, now: DateTime<FixedOffset>) -> Value {
    let mut series = Vec::new();
    for n in &f.nodes {
        series.push(json!({"id": n.id, "quantity": "load_kw", "values": n.load_kw}));
    }
    for p in &f.pvs {
        series.push(json!({"id": p.id, "quantity": "pv_available_kw", "values": p.available_kw}));
    }
    for g in &f.grids {
        series.push(json!({"id": g.id, "quantity": "import_price_yen_per_kwh", "values": g.import_price_yen_per_kwh}));
        series.push(json!({"id": g.id, "quantity": "carbon_intensity_kg_per_kwh", "values": g.carbon_intensity_kg_per_kwh}));
    }
    if let Some(h) = f.hvacs.first() {
        series.push(json!({"id": "outdoor", "quantity": "temp_c", "values": h.outdoor_temp_c}));
    }
    json!({
        "forecaster": forecaster,
        "made_at": now.to_rfc3339(),
        "start": f.start.to_rfc3339(),
        "step_minutes": f.step_minutes,
        "steps": f.steps,
        "series": series,
    })
}
