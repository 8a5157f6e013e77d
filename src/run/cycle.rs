//! One cycle of the live loop: the adapters around the controller (`control::Controller`).
//!
//! devices (Modbus, one frozen snapshot) → typed measurements → the controller's cycle →
//! each unit's command as its profile's setpoints → Modbus writes (limits, ramp, read-back)
//! and MQTT → metered KPIs (`control::Ledger`) → SQLite and the operator's view. Nothing in
//! a cycle returns an error: every failure is logged, stored and counted, and the cycle goes
//! on with what is safe.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use connectors::mqtt::{GridStatusMessage, ScheduleMessage, ScheduleSeries, SCHEMA_VERSION};
use connectors::sim::IslandReport;
use connectors::{
    command, DevicesConfig, Fleet, MqttLink, Setpoint, SetpointPublisher, Telemetry, WriteRecord,
};
use control::islanding::{GridWatch, PlanMode};
use control::state::Flag;
use control::{Controller, Cycle, Estimator, Ledger, Measurements, Plan, Source, State};
use engine::Scenario;
use physics::device::{Command, Kind, Quantity};
use serde_json::{json, Value};

use super::config::{FaultKind, Mode, RunConfig};
use super::http::Shared;
use super::metrics::kind;
use store::{CycleRow, Doc, Store};

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
    /// The state estimator (last good readings, the meters' intervals, monthly peaks).
    pub estimator: Estimator,
    /// The metered KPIs so far.
    pub ledger: Ledger,
    /// Battery energy at the last cycle, kWh.
    pub battery_kwh: BTreeMap<String, f64>,
    /// Zone temperatures at the last cycle, °C.
    pub zone_c: BTreeMap<String, f64>,
    /// Requests to tenants and residents issued, measured and learned.
    #[serde(default)]
    pub requests: Option<control::request::Desk>,
    /// The OpenADR events' baselines and the intervals reported.
    #[serde(default)]
    pub dr: Option<dr::link::Saved>,
}

/// The loop: its adapters and what it carries between cycles besides the controller's own.
pub struct Loop {
    /// Settings.
    pub cfg: RunConfig,
    /// The controller.
    pub controller: Controller,
    /// Metered KPIs.
    pub ledger: Ledger,
    /// Scenario file path (for the resume document).
    pub scenario: String,
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
    /// This run's id in the store.
    pub run_id: i64,
    /// Start of the run's fault schedule.
    pub origin: DateTime<FixedOffset>,
    /// Devices released to their own control.
    pub released: BTreeSet<String>,
    /// Last MQTT audit row queued.
    pub last_mqtt_id: i64,
    /// Id of the last cycle's row.
    pub last_cycle_id: i64,
    /// The grid connections and the plan last announced.
    pub grid: GridWatch,
    /// Assets in manual (the operator's), as of this cycle.
    pub manual: BTreeSet<String>,
    /// Control paused by the operator, and every device released for it.
    pub paused: bool,
    /// The OpenADR VEN, if `[openadr]` is set.
    pub dr: Option<dr::DrLink>,
    /// The requests to tenants and residents last published on MQTT (none yet: publish).
    pub requests_published: Option<BTreeSet<String>>,
}

/// The typed measurements of a snapshot: every device of `devices`, by asset.
pub fn measurements(
    snap: &Telemetry,
    devices: &DevicesConfig,
    now: DateTime<FixedOffset>,
) -> Measurements {
    let readings = command::families(devices)
        .into_iter()
        .map(|(asset, family)| {
            let r = match snap.assets.get(&asset) {
                Some(a) => command::reading(family, a),
                None => Err("not in the snapshot".to_string()),
            };
            (asset, r)
        })
        .collect();
    Measurements {
        time: now,
        readings,
    }
}

/// Every device of `devices` with its kind.
pub fn expected(devices: &DevicesConfig) -> Vec<(String, Kind)> {
    command::families(devices)
        .into_iter()
        .map(|(asset, family)| (asset, family.kind()))
        .collect()
}

impl Loop {
    fn log_store(&self, what: &str, r: anyhow::Result<impl Sized>) {
        if let Err(e) = r {
            tracing::error!(target: "aems::run", "store: {what}: {e:#}");
        }
    }

    fn data(&self) -> &Scenario {
        self.controller.data()
    }

    /// The deadline of this cycle's solve: the settings', or a `solve_deadline` fault's.
    fn solve_deadline(&self, now: DateTime<FixedOffset>) -> f64 {
        let h = (now - self.origin).num_seconds() as f64 / 3600.0;
        self.cfg
            .faults
            .iter()
            .find(|f| f.kind == FaultKind::SolveDeadline && f.from_h <= h && h < f.until_h)
            .map_or(self.cfg.deadline_s, |f| f.deadline_s.unwrap_or(0.0))
    }

    /// Saves what a restart needs.
    fn save_resume(&self, now: DateTime<FixedOffset>, state: &State) {
        let r = Resume {
            district: self.devices.district.clone(),
            scenario: self.scenario.clone(),
            origin: self.origin,
            time: now,
            estimator: self.controller.estimator().clone(),
            ledger: self.ledger.clone(),
            battery_kwh: state.battery_kwh.clone(),
            zone_c: state.zone_c.clone(),
            requests: self.controller.requests().cloned(),
            dr: self.dr.as_ref().map(|d| d.saved()),
        };
        match serde_json::to_string(&r) {
            Ok(j) => self.log_store("resume state", self.store.put_state("resume", &j)),
            Err(e) => tracing::error!(target: "aems::run", "resume state: {e}"),
        }
    }

    /// Takes up a stored run.
    pub fn resume_from(&mut self, r: &Resume) {
        self.controller.set_estimator(r.estimator.clone());
        if let Some(d) = &r.requests {
            self.controller.resume_requests(d.clone());
        }
        if let (Some(link), Some(saved)) = (&mut self.dr, &r.dr) {
            link.resume(saved.clone());
        }
        self.ledger = r.ledger.clone();
        self.origin = r.origin;
    }

    /// Records Modbus write records: store, metrics; returns how many were not confirmed.
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
            self.record_writes(self.last_cycle_id, now, &recs);
        }
    }

    /// Releases `asset`'s device to its own control, once.
    async fn release(&mut self, cycle: i64, now: DateTime<FixedOffset>, asset: &str, why: &str) {
        if self.released.contains(asset) {
            return;
        }
        let Some(recs) = self.fleet.release(asset).await else {
            return;
        };
        tracing::warn!(target: "aems::run", asset, "released to its own control: {why}");
        self.record_writes(cycle, now, &recs);
        self.released.insert(asset.to_string());
    }

    fn record_flags(&self, flags: &[Flag]) {
        for f in flags {
            self.shared
                .metrics
                .telemetry_flags
                .get_or_create(&kind(f.kind.as_str()))
                .inc();
            if f.kind == control::state::FlagKind::DeviceError {
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
    }

    /// Runs one cycle at `now`.
    pub async fn cycle(&mut self, now: DateTime<FixedOffset>) {
        let wall = Instant::now();
        // A cycle the audit log cannot record sends nothing (no rows filed under no cycle).
        let cycle = match self.store.begin_cycle(self.run_id, now) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(target: "aems::run", "store: cannot record the cycle at {now}, nothing sent: {e:#}");
                self.shared.metrics.store_errors.inc();
                return;
            }
        };
        self.last_cycle_id = cycle;
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

        // Devices → measurements → the controller.
        let snapshot: Telemetry = self.fleet.read_all().await;
        let m = measurements(&snapshot, &self.devices, now);
        let deadline = self.solve_deadline(now);
        let paused = self.take_operator(cycle, now).await;
        self.take_demand_response(cycle, now).await;
        let cyc: Option<Cycle> = match self.cfg.mode {
            Mode::Observe => None,
            Mode::Control if paused => None,
            Mode::Control => {
                self.controller.set_deadline(Some(deadline));
                let ctl = &mut self.controller;
                Some(tokio::task::block_in_place(|| ctl.cycle(&m)))
            }
        };
        let state = match &cyc {
            Some(c) => c.state.clone(),
            None => self.controller.observe(&m),
        };
        self.record_flags(&state.flags);
        row.flags = state.flags.len();
        row.unhealthy = state
            .unhealthy
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        self.log_store(
            "telemetry",
            self.store.telemetry(cycle, now, &snapshot, &state.flags),
        );
        if !state.completed.is_empty() {
            self.log_store("intervals", self.store.intervals(&state.completed));
        }
        if let Some(dr) = &mut self.dr {
            let notes = dr.report(now, &state.completed).await;
            self.note_events(cycle, now, notes);
        }
        if let Some(g) = self.data().grids.first() {
            let gs = state.grids.get(&g.id);
            row.peak_so_far_kw = gs.map(|s| s.billed_peak_kw);
            row.interval_so_far_kwh = gs.map(|s| s.interval_so_far_kwh);
            if let Some(p) = gs {
                self.shared.metrics.month_peak_kw.set(p.month_peak_kw);
            }
        }
        row.base_load_kw = control::forecast::measured_base_load_kw(&state, self.data());
        let fallback = cyc.as_ref().is_some_and(|c| c.source.is_fallback());
        self.ledger.add(self.controller.data(), &state, fallback);

        let mut records: Vec<WriteRecord> = Vec::new();
        let mut schedule_json = Value::Null;
        let mut forecast_json = Value::Null;
        match &cyc {
            None if paused => row.source = "paused".into(),
            None => row.source = "observe".into(),
            Some(c) => {
                self.apply(cycle, now, c, &snapshot, &mut row, &mut records)
                    .await;
                if c.replanned {
                    if let Some(f) = self.controller.forecast() {
                        forecast_json = control::forecast::to_json(
                            f,
                            &self.controller.forecaster().name(),
                            now,
                        );
                    }
                }
                schedule_json = match (self.controller.plan(), c.source) {
                    (Some(plan), Source::Plan | Source::Previous) => plan.to_json(c.source, now),
                    _ => {
                        json!({"source": c.source.as_str(), "time": now.to_rfc3339(), "commands": c.decisions.commands})
                    }
                };
                self.log_store(
                    "schedule",
                    self.store.document(
                        Doc::Schedule(c.source.as_str()),
                        cycle,
                        now,
                        &schedule_json.to_string(),
                    ),
                );
                self.log_store("decisions", self.store.decisions(cycle, now, &c.decisions));
                if !forecast_json.is_null() {
                    self.log_store(
                        "forecast",
                        self.store
                            .document(Doc::Forecast, cycle, now, &forecast_json.to_string()),
                    );
                }
            }
        }
        self.announce_grid(cycle, now, &state, cyc.as_ref());
        self.announce_requests(cycle, now, cyc.as_ref());
        let k = self.ledger.kpis(
            self.data(),
            self.controller.estimator().peaks(),
            self.controller.settings().billing,
        );
        self.shared.metrics.cost_yen.set(k.district.cost_yen);
        let m = &self.shared.metrics;
        for (what, n) in &k.skipped {
            m.kpi_skipped.get_or_create(&kind(what)).set(*n as i64);
        }
        let fallbacks = self.controller.forecaster().fallbacks();
        m.forecast_fallbacks.set(fallbacks as i64);
        self.publish_ngsi_ld(now, &k.district);
        let kpi_json = serde_json::to_value(&k).unwrap_or(Value::Null);
        self.log_store(
            "kpis",
            self.store
                .document(Doc::Kpis, cycle, now, &kpi_json.to_string()),
        );
        row.cycle_seconds = wall.elapsed().as_secs_f64();
        self.log_store("cycle", self.store.finish_cycle(cycle, &row));
        self.save_resume(now, &state);
        self.shared.metrics.cycles.inc();
        self.shared.metrics.cycle_seconds.observe(row.cycle_seconds);
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
            cost_yen = k.district.cost_yen,
            "cycle"
        );
        self.publish_view(
            now,
            &row,
            &state,
            &records,
            schedule_json,
            forecast_json,
            kpi_json,
        );
    }

    /// The controller's decisions → releases, setpoints, Modbus writes and MQTT.
    async fn apply(
        &mut self,
        cycle: i64,
        now: DateTime<FixedOffset>,
        c: &Cycle,
        snapshot: &Telemetry,
        row: &mut CycleRow,
        records: &mut Vec<WriteRecord>,
    ) {
        row.source = c.source.as_str().into();
        if let Some(s) = &c.solve {
            row.solve_status = Some(s.status.clone());
            row.solve_seconds = Some(s.seconds);
            self.shared.metrics.solve_seconds.observe(s.seconds);
            if !matches!(s.status.as_str(), "optimal" | "time_limit") {
                let k = if s.status == "missed_deadline" {
                    "deadline"
                } else {
                    s.status.as_str()
                };
                self.shared
                    .metrics
                    .solve_failures
                    .get_or_create(&kind(k))
                    .inc();
            }
        }
        if let (Some(plan), true) = (self.controller.plan(), c.replanned) {
            row.mip_gap = plan.mip_gap;
            row.objective_yen = Some(plan.objective_yen);
            row.horizon_steps = Some(plan.problem.steps);
            if let Some(g) = plan.mip_gap {
                self.shared.metrics.mip_gap.set(g);
            }
        }
        if c.source.is_fallback() {
            let reason = c.reason.clone().unwrap_or_else(|| "no plan".into());
            let what = match c.source {
                Source::Previous => "previous plan, shifted",
                _ => "fallback rule: batteries hold, generators off, HVAC to its own thermostat",
            };
            tracing::warn!(target: "aems::run", fallback = c.source.as_str(), "fallback ({what}): {reason}");
            self.shared
                .metrics
                .fallbacks
                .get_or_create(&kind(c.source.as_str()))
                .inc();
            self.log_store(
                "fallback",
                self.store.fallback(cycle, now, c.source.as_str(), &reason),
            );
            row.reason = Some(reason);
        }
        // Assets in manual, devices that cannot be trusted, and units told to, go back to
        // their own control.
        for a in self.manual.clone() {
            self.release(cycle, now, &a, "in manual (operator)").await;
        }
        let to_release: Vec<(String, &str)> = c
            .decisions
            .commands
            .iter()
            .filter(|(_, cmd)| *cmd == Command::Release)
            .map(|(a, _)| {
                let why = if c.state.unhealthy.contains(a) {
                    "telemetry flagged (see flags)"
                } else {
                    "told to by the controller"
                };
                (a.clone(), why)
            })
            .collect();
        for (a, why) in to_release {
            self.release(cycle, now, &a, why).await;
        }
        // Commands → setpoints → writes.
        let mut sent = Vec::new();
        for (asset, cmd) in &c.decisions.commands {
            if *cmd == Command::Release {
                continue;
            }
            // No device for it: the unit was planned idle at start (uncommanded), so there
            // is nothing to send (not outside data).
            let rate = snapshot.value(asset, Quantity::MaxChargeKw.name());
            let Some(sps) = command::for_asset(&self.devices, asset, cmd, rate) else {
                continue;
            };
            match sps {
                Ok(sps) => {
                    self.released.remove(asset);
                    sent.extend(sps);
                }
                Err(e) => tracing::warn!(target: "aems::run", asset, "no setpoint: {e}"),
            }
        }
        // Tie lines with a switch: closed with the plan's flow, or open.
        for (line, cmd) in c.decisions.tie_commands() {
            let Some(dev) = self.devices.device(&line) else {
                continue;
            };
            match command::setpoints(dev, &cmd, None) {
                Ok(sps) => {
                    self.released.remove(&line);
                    sent.extend(sps);
                }
                Err(e) => tracing::warn!(target: "aems::run", asset = %line, "no setpoint: {e}"),
            }
        }
        *records = self.fleet.write_all(&sent).await;
        row.setpoints = records.len();
        row.write_failures = self.record_writes(cycle, now, records);
        // MQTT: what each unit now holds (never the request; valid until the next cycle),
        // and the plan.
        let held: Vec<Setpoint> = (records.iter().zip(&sent))
            .filter_map(|(r, s)| Some(Setpoint::new(&s.asset, &s.quantity, r.held()?, &s.unit)))
            .collect();
        if let Some(link) = &self.link {
            let publisher = SetpointPublisher::new(link.clone());
            let until = (now + chrono::Duration::minutes(i64::from(self.cfg.cadence_min)))
                .with_timezone(&chrono::Utc);
            for sp in &held {
                publisher.publish_setpoint(sp, Some(until));
            }
            if let (Some(plan), Source::Plan | Source::Previous) =
                (self.controller.plan(), c.source)
            {
                publisher.publish_schedule(&schedule_message(&self.devices.district, plan));
            }
            match self.store.mqtt_queued(cycle, now, &held) {
                Ok(id) if id > 0 => self.last_mqtt_id = id,
                Ok(_) => {}
                Err(e) => tracing::error!(target: "aems::run", "store: mqtt: {e:#}"),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn publish_view(
        &self,
        now: DateTime<FixedOffset>,
        row: &CycleRow,
        state: &State,
        records: &[WriteRecord],
        schedule: Value,
        forecast: Value,
        kpis: Value,
    ) {
        let mqtt = self.link.as_ref().map(|l| {
            let s = l.status();
            json!({"connected": s.connected, "connections": s.connections, "delivered": s.delivered, "pending": s.pending, "last_error": s.last_error})
        });
        let degraded = row.source == Source::Previous.as_str()
            || row.source == Source::Fallback.as_str()
            || !row.unhealthy.is_empty()
            || mqtt
                .as_ref()
                .is_some_and(|m| m["connected"] == json!(false))
            || self.dr.as_ref().is_some_and(|d| !d.reachable());
        let info = self.controller.information();
        let health = json!({
            "status": if degraded { "degraded" } else { "ok" },
            "time": now.to_rfc3339(),
            "clock": format!("{:?}", self.cfg.clock).to_lowercase(),
            "mode": format!("{:?}", self.cfg.mode).to_lowercase(),
            "controller": self.controller.settings().policy.as_str(),
            "cycles": self.ledger.cycles,
            "last_cycle": {
                "source": row.source, "reason": row.reason, "solve_status": row.solve_status,
                "solve_seconds": row.solve_seconds, "cycle_seconds": row.cycle_seconds,
                "flags": row.flags, "setpoints": row.setpoints, "write_failures": row.write_failures,
            },
            "unhealthy": row.unhealthy.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            "released": self.released,
            "mqtt": mqtt,
            "month_peak_kw": state.grids.iter().map(|(g, s)| (g.clone(), json!(s.month_peak_kw))).collect::<serde_json::Map<_, _>>(),
            "paused": self.paused,
            "manual": self.manual,
            "islanded": !state.grids_lost.is_empty(),
            "plan": self.grid.mode(),
            "grids": self.data().grids.iter().map(|g| (g.id.clone(), json!(if state.grids_lost.contains(&g.id) { "lost" } else { "available" }))).collect::<serde_json::Map<_, _>>(),
            "perfect_information": info.perfect,
            "known_in_advance": info.known_in_advance,
            "store": self.cfg.store.display().to_string(),
            "openadr": self.dr.as_ref().map(|d| d.status()),
        });
        let setpoints: Vec<Value> = records
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect();
        let flags: Vec<Value> = {
            let o = self.shared.operator();
            state
                .flags
                .iter()
                .map(|f| {
                    let mut j = serde_json::to_value(f).unwrap_or(Value::Null);
                    j["acknowledged"] = json!(o.is_acknowledged(&f.asset, &f.quantity));
                    j
                })
                .collect()
        };
        let measured = json!({
            "time": now.to_rfc3339(),
            "battery_kwh": state.battery_kwh, "battery_kw": state.battery_kw,
            "zone_c": state.zone_c, "hvac_kw": state.hvac_kw, "generator_kw": state.generator_kw,
            "grid_kw": state.grids.iter().map(|(g, s)| (g.clone(), json!(s.meter_kw))).collect::<serde_json::Map<_, _>>(),
        });
        self.shared.publish(|v| {
            v.remember(measured);
            v.health = health;
            v.kpis = kpis;
            v.flags = Value::Array(flags);
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

    /// Announces a grid connection lost or back, and the plan switched to islanded or
    /// normal: the log, the audit log (`events`), the metrics, and MQTT
    /// (`aems/v1/<district>/grid`, retained) at the first cycle and at every change.
    fn announce_grid(
        &mut self,
        cycle: i64,
        now: DateTime<FixedOffset>,
        state: &State,
        c: Option<&Cycle>,
    ) {
        let mode = PlanMode::of(&self.controller, c);
        let grids: Vec<String> = self.data().grids.iter().map(|g| g.id.clone()).collect();
        let plan = self.controller.plan();
        let news = self.grid.observe(
            &grids,
            &self.devices.district,
            &state.grids_lost,
            mode,
            || match plan {
                Some(p) if mode == PlanMode::Islanded => p.islanded_summary(),
                Some(p) => format!(
                    "plan from {} with every connection available",
                    p.problem.start.to_rfc3339()
                ),
                None => String::new(),
            },
        );
        for e in &news.events {
            tracing::warn!(target: "aems::run", subject = %e.subject, time = %now.to_rfc3339(), "{}: {}", e.kind, e.detail);
            self.log_store(
                "event",
                self.store.event(cycle, now, e.kind, &e.subject, &e.detail),
            );
        }
        let m = &self.shared.metrics;
        for (g, s) in &news.status.grids {
            let label = super::metrics::AssetLabel { asset: g.clone() };
            m.grid_available
                .get_or_create(&label)
                .set(i64::from(s == "available"));
        }
        m.islanded.set(i64::from(mode == PlanMode::Islanded));
        if let (Some(link), true) = (&self.link, news.changed) {
            let msg = GridStatusMessage {
                v: SCHEMA_VERSION,
                district: self.devices.district.clone(),
                time: now.with_timezone(&chrono::Utc),
                islanded: news.status.islanded,
                grids: news.status.grids,
                plan: mode.as_str().to_string(),
            };
            SetpointPublisher::new(link.clone()).publish_grid_status(&msg);
        }
    }

    /// Every `ngsi_ld.every_cycles` cycles: the metered KPIs since the run's start as
    /// NGSI-LD entities, to the file (at once) and the broker (in the background; a failure
    /// is logged, never the cycle's).
    fn publish_ngsi_ld(&self, now: DateTime<FixedOffset>, district: &engine::kpi::KpiSet) {
        let Some(n) = &self.cfg.ngsi_ld else { return };
        if self.ledger.cycles % u64::from(n.every_cycles) != 0 {
            return;
        }
        let kpis = engine::kpi::Kpis {
            district: district.clone(),
            buildings: self.ledger.building_kpis(self.data()),
            billed_kw: Vec::new(),
            co2_by_fiscal_year: Default::default(),
        };
        let entities = whatif::ngsi::entities(&self.devices.district, &kpis, self.origin, now, now);
        if let Some(path) = &n.file {
            if let Err(e) = whatif::ngsi::write(path, &entities) {
                tracing::error!(target: "aems::run", "NGSI-LD: {e:#}");
            }
        }
        if let Some(url) = n.broker.clone() {
            tokio::task::spawn_blocking(move || match whatif::ngsi::upsert(&url, &entities) {
                Ok(code) => {
                    tracing::info!(target: "aems::run", "NGSI-LD: {} entities upserted to {url} ({code})", entities.len())
                }
                Err(e) => tracing::warn!(target: "aems::run", "NGSI-LD: {e:#}"),
            });
        }
    }

    /// Records what the embedded simulator's district went through by this cycle (its
    /// physics' own count, not a measurement the controller sees).
    pub fn record_simulator(&self, now: DateTime<FixedOffset>, report: &IslandReport) {
        let json = serde_json::to_value(report).unwrap_or(Value::Null);
        self.log_store(
            "simulator",
            self.store.document(
                store::Doc::Simulator,
                self.last_cycle_id,
                now,
                &json.to_string(),
            ),
        );
        self.shared.publish(|v| v.simulator = json);
    }

    /// Takes the operator's instructions into this cycle: the actions asked since the last
    /// one into the audit log, assets in manual and import caps to the controller; on a
    /// pause, every device released once. Returns whether control is paused.
    async fn take_operator(&mut self, cycle: i64, now: DateTime<FixedOffset>) -> bool {
        let (pending, manual, caps, paused) = {
            let mut o = self.shared.operator();
            let caps = o
                .caps
                .iter()
                .map(|c| control::problem::ImportCap {
                    grid: c.grid.clone(),
                    kw: c.kw,
                    from: c.from,
                    until: c.until,
                })
                .collect();
            let manual: BTreeSet<String> = o.manual.keys().cloned().collect();
            (
                std::mem::take(&mut o.pending),
                manual,
                caps,
                o.paused.is_some(),
            )
        };
        if !pending.is_empty() {
            for a in &pending {
                tracing::warn!(target: "aems::run", user = %a.user, action = %a.action, target = %a.target, "operator: {}", a.outcome);
            }
            self.log_store(
                "operator",
                self.store.operator_actions(cycle, now, &pending),
            );
        }
        self.controller.set_operator(manual.clone(), caps);
        self.manual = manual;
        if paused && !self.paused {
            tracing::warn!(target: "aems::run", "control paused by the operator: every device released");
            self.release_all(now).await;
            self.released = self
                .devices
                .devices
                .iter()
                .map(|d| d.asset.clone())
                .collect();
        }
        self.paused = paused;
        paused
    }

    /// The VTN's events into this cycle: read (the last ones stand if it is away), their
    /// signals to the controller (a change replans), new and withdrawn events in the audit log.
    async fn take_demand_response(&mut self, cycle: i64, now: DateTime<FixedOffset>) {
        let Some(dr) = &mut self.dr else { return };
        let notes = dr.poll(self.controller.plan(), *now.offset()).await;
        self.controller.set_signals(dr.signals());
        self.note_events(cycle, now, notes);
    }

    /// Requests to tenants and residents: those issued and the responses measured in the
    /// audit log, those in force on MQTT (whenever they change) and at `GET /requests`.
    fn announce_requests(&mut self, cycle: i64, now: DateTime<FixedOffset>, c: Option<&Cycle>) {
        let Some(desk) = self.controller.requests() else {
            return;
        };
        if let Some(c) = c {
            self.note_events(cycle, now, dr::tenants::notes(&c.requests, &c.responses));
        }
        let ids = dr::tenants::in_force_ids(desk, now);
        let view = dr::tenants::view(desk, now);
        if self.requests_published.as_ref() != Some(&ids) {
            if let Some(link) = &self.link {
                let buildings: Vec<String> =
                    self.data().nodes.iter().map(|n| n.id.clone()).collect();
                let p = SetpointPublisher::new(link.clone());
                for m in dr::tenants::messages(&self.devices.district, desk, &buildings, now) {
                    p.publish_requests(&m);
                }
            }
            self.requests_published = Some(ids);
        }
        self.shared.publish(|v| v.requests = view);
    }

    /// Files `notes` (kind, subject, words) in the audit log's `events`.
    fn note_events(&self, cycle: i64, now: DateTime<FixedOffset>, notes: dr::Notes) {
        for (kind, subject, detail) in notes {
            self.log_store(
                "event",
                self.store.event(cycle, now, kind, &subject, &detail),
            );
        }
    }

    /// Hands every device back to its own control (shutdown).
    pub async fn release_all(&self, now: DateTime<FixedOffset>) {
        let recs = self.fleet.release_all().await;
        self.record_writes(self.last_cycle_id, now, &recs);
    }
}

fn schedule_message(district: &str, plan: &Plan) -> ScheduleMessage {
    ScheduleMessage {
        v: SCHEMA_VERSION,
        district: district.into(),
        time: chrono::Utc::now(),
        start: plan.problem.start.to_rfc3339(),
        step_minutes: plan.problem.step_minutes,
        steps: plan.problem.steps,
        series: plan
            .series()
            .into_iter()
            .map(|p| ScheduleSeries {
                asset: p.asset,
                quantity: p.quantity.into(),
                unit: p.unit.into(),
                values: p.values,
            })
            .collect(),
    }
}
