//! [`ModbusDevice`]: one device (profile + endpoint + unit id): telemetry in blocks, safe
//! writes with read-back, taking and releasing control.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;

use super::ModbusLink;
use crate::devices::DeviceEntry;
use crate::dump::RegisterDump;
use crate::error::ModbusError;
use crate::profile::{Profile, RegisterKind, WritablePoint, WriteFunction};
use crate::safety;
use crate::setpoint::Setpoint;
use crate::telemetry::{AssetTelemetry, Reading, Source};
use crate::write_record::{WriteOutcome, WriteRecord};

#[derive(Debug, Default)]
struct DeviceState {
    /// Scale-factor exponents read from the device (SunSpec), by point name.
    scale_factors: BTreeMap<String, i16>,
    /// Whether the acquire sequence has run since the last release.
    acquired: bool,
    /// Last value written per writable point and when, for refreshing.
    last_written: BTreeMap<String, (f64, Instant)>,
}

/// One device behind a [`ModbusLink`].
#[derive(Debug)]
pub struct ModbusDevice {
    entry: DeviceEntry,
    link: Arc<ModbusLink>,
    state: Mutex<DeviceState>,
}

impl ModbusDevice {
    /// The device of `entry`, reached through `link` (which must be `entry`'s endpoint).
    pub fn new(entry: DeviceEntry, link: Arc<ModbusLink>) -> Self {
        Self {
            entry,
            link,
            state: Mutex::new(DeviceState::default()),
        }
    }

    /// Its `devices.toml` entry.
    pub fn entry(&self) -> &DeviceEntry {
        &self.entry
    }

    /// Scenario asset id.
    pub fn asset(&self) -> &str {
        &self.entry.asset
    }

    /// Its profile.
    pub fn profile(&self) -> &Profile {
        &self.entry.profile
    }

    /// The shared connection.
    pub fn link(&self) -> &Arc<ModbusLink> {
        &self.link
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        // A panic while holding this lock cannot leave the state inconsistent (plain
        // inserts), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads every block of the profile: (table, address) → word.
    pub async fn read_blocks(&self) -> Result<BTreeMap<(RegisterKind, u16), u16>, ModbusError> {
        let mut words = BTreeMap::new();
        for b in &self.entry.profile.blocks {
            let got = self
                .link
                .read(self.entry.unit_id, b.kind, b.start, b.count)
                .await?;
            for (i, w) in got.into_iter().enumerate() {
                words.insert((b.kind, b.start.wrapping_add(i as u16)), w);
            }
        }
        Ok(words)
    }

    /// A telemetry snapshot of this device. A failure is reported in
    /// [`AssetTelemetry::error`], never as made-up values.
    pub async fn read(&self) -> AssetTelemetry {
        let source = Source::Modbus {
            endpoint: self.entry.endpoint(),
            unit_id: self.entry.unit_id,
            profile: self.entry.profile.name.clone(),
        };
        match self.read_blocks().await {
            Ok(words) => {
                let get = |k: RegisterKind, a: u16, n: u16| -> Option<Vec<u16>> {
                    (0..n)
                        .map(|i| words.get(&(k, a.wrapping_add(i))).copied())
                        .collect()
                };
                let sfs = self.entry.profile.scale_factors(&get);
                {
                    let mut st = self.state();
                    for (name, sf) in &sfs {
                        match sf {
                            Some(v) => st.scale_factors.insert(name.clone(), *v),
                            None => st.scale_factors.remove(name),
                        };
                    }
                }
                AssetTelemetry {
                    asset: self.entry.asset.clone(),
                    time: Utc::now(),
                    source,
                    values: self.entry.profile.decode_all(&get),
                    error: None,
                }
            }
            Err(e) => {
                self.lost_contact(&e);
                AssetTelemetry {
                    asset: self.entry.asset.clone(),
                    time: Utc::now(),
                    source,
                    values: BTreeMap::new(),
                    error: Some(e.to_string()),
                }
            }
        }
    }

    /// After a transport failure (no answer, connection lost) the device may have
    /// restarted and dropped remote control: take control again before the next setpoint.
    fn lost_contact(&self, e: &ModbusError) {
        if !e.is_device_exception() {
            self.state().acquired = false;
        }
    }

    /// The raw words of every block and identification register, for commissioning records
    /// and test fixtures.
    pub async fn dump(&self) -> Result<RegisterDump, ModbusError> {
        let mut dump = RegisterDump::new(&self.entry.profile.name, self.entry.unit_id);
        for b in &self.entry.profile.blocks {
            let words = self
                .link
                .read(self.entry.unit_id, b.kind, b.start, b.count)
                .await?;
            dump.push(b.kind, b.start, words);
        }
        for id in &self.entry.profile.identify {
            let words = self
                .link
                .read(
                    self.entry.unit_id,
                    id.kind,
                    id.address,
                    id.words.len() as u16,
                )
                .await?;
            dump.push(id.kind, id.address, words);
        }
        Ok(dump)
    }

    /// Checks the profile's identification registers (e.g. SunSpec's `SunS` and model ids).
    pub async fn identify(&self) -> Result<(), String> {
        for id in &self.entry.profile.identify {
            let got = self
                .link
                .read(
                    self.entry.unit_id,
                    id.kind,
                    id.address,
                    id.words.len() as u16,
                )
                .await
                .map_err(|e| format!("cannot read identification ({}): {e}", id.description))?;
            if got != id.words {
                return Err(format!(
                    "{} does not identify as profile '{}': {} {} holds {:04x?}, expected {:04x?} ({})",
                    self.entry.label(),
                    self.entry.profile.name,
                    id.kind,
                    id.address,
                    got,
                    id.words,
                    id.description
                ));
            }
        }
        Ok(())
    }

    fn record(&self, quantity: &str, requested: f64) -> WriteRecord {
        WriteRecord::attempt(
            &self.entry.asset,
            &self.entry.label(),
            quantity,
            requested,
            String::new(),
        )
    }

    fn finish(mut rec: WriteRecord, outcome: WriteOutcome) -> WriteRecord {
        rec.outcome = outcome;
        rec.log();
        rec
    }

    /// Writes one setpoint safely: the quantity must be a declared writable point, the unit
    /// must match, the value is clamped or refused by the point's limits (and the device's
    /// narrower ones) and ramp limit; the device is identified and taken under control
    /// (profile `acquire`) before its first setpoint; the register is read back and
    /// compared. Every outcome is logged and returned.
    pub async fn write(&self, sp: &Setpoint) -> WriteRecord {
        let rec = self.record(&sp.quantity, sp.value);
        let profile = &self.entry.profile;
        let Some(point) = profile.setpoint(&sp.quantity) else {
            let reason = if profile.telemetry_point(&sp.quantity).is_some() {
                format!(
                    "'{}' is read-only in profile '{}' (not declared writable)",
                    sp.quantity, profile.name
                )
            } else {
                format!(
                    "'{}' is not a writable point of profile '{}' (writable: {})",
                    sp.quantity,
                    profile.name,
                    profile
                        .setpoints
                        .iter()
                        .map(|s| s.point.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Self::finish(rec, WriteOutcome::Refused { reason });
        };
        if !sp.unit.is_empty() && sp.unit != point.point.unit {
            let reason = format!(
                "unit '{}' does not match the point's unit '{}'",
                sp.unit, point.point.unit
            );
            return Self::finish(rec, WriteOutcome::Refused { reason });
        }
        // Writing an acquire point by hand (commissioning) does not run the sequence.
        let is_control = profile.acquire.iter().any(|s| s.point == sp.quantity);
        if !is_control && !self.state().acquired {
            if let Err(e) = self.acquire().await {
                let mut rec = rec;
                rec.register = Some(point.point.register.to_string());
                return Self::finish(
                    rec,
                    WriteOutcome::Failed {
                        kind: "acquire".into(),
                        error: format!("could not take control of the device: {e}"),
                    },
                );
            }
        }
        self.write_point(point, sp.value, rec).await
    }

    /// Writes `value` to `point` (declared writable) with limits, ramp, encoding, read-back.
    async fn write_point(
        &self,
        point: &WritablePoint,
        value: f64,
        mut rec: WriteRecord,
    ) -> WriteRecord {
        let reg = point.point.register;
        rec.register = Some(reg.to_string());
        let sf = match self.scale_factor(point).await {
            Ok(sf) => sf,
            Err(e) => {
                return Self::finish(
                    rec,
                    WriteOutcome::Failed {
                        kind: e.kind().into(),
                        error: format!("cannot read the scale factor: {e}"),
                    },
                )
            }
        };
        let present = if point.ramp_max_step.is_some() {
            match self
                .link
                .read(self.entry.unit_id, reg.kind, reg.address, reg.len())
                .await
            {
                Ok(words) => point.point.decode(&words, sf),
                Err(e) => {
                    return Self::finish(
                        rec,
                        WriteOutcome::Failed {
                            kind: e.kind().into(),
                            error: format!("cannot read the present value for the ramp limit: {e}"),
                        },
                    )
                }
            }
        } else {
            None
        };
        let narrow = self.entry.limits.get(&point.point.name).copied();
        let words = match safety::guard(point, narrow, value, present, sf) {
            Err(reason) => return Self::finish(rec, WriteOutcome::Refused { reason }),
            Ok(g) => {
                rec.clamped = g.clamped;
                rec.written = Some(g.value);
                g.words
            }
        };
        rec.words = words.clone();
        let single = point.write == WriteFunction::Single;
        let outcome = self
            .write_words(reg.kind, reg.address, &words, single)
            .await;
        if matches!(
            outcome,
            WriteOutcome::Confirmed | WriteOutcome::ReadBackMismatch { .. }
        ) {
            if let Some(v) = rec.written {
                self.state()
                    .last_written
                    .insert(point.point.name.clone(), (v, Instant::now()));
            }
        }
        let outcome = match outcome {
            WriteOutcome::ReadBackMismatch { words: got, .. } => WriteOutcome::ReadBackMismatch {
                read_back: point.point.decode(&got, sf),
                words: got,
            },
            o => o,
        };
        Self::finish(rec, outcome)
    }

    /// Writes raw words and reads them back. Refuses (without sending anything) any range
    /// that is not exactly the registers of declared writable points.
    async fn write_words(
        &self,
        kind: RegisterKind,
        address: u16,
        words: &[u16],
        single: bool,
    ) -> WriteOutcome {
        let count = words.len() as u16;
        if !self.entry.profile.is_writable_range(kind, address, count) {
            return WriteOutcome::Refused {
                reason: format!(
                    "{kind} {address} ({count} word(s)) is not declared writable in profile '{}'",
                    self.entry.profile.name
                ),
            };
        }
        if let Err(e) = self
            .link
            .write(self.entry.unit_id, kind, address, words, single)
            .await
        {
            self.lost_contact(&e);
            return WriteOutcome::Failed {
                kind: e.kind().into(),
                error: e.to_string(),
            };
        }
        match self
            .link
            .read(self.entry.unit_id, kind, address, count)
            .await
        {
            Ok(got) if got == words => WriteOutcome::Confirmed,
            Ok(got) => WriteOutcome::ReadBackMismatch {
                read_back: None,
                words: got,
            },
            Err(e) => WriteOutcome::ReadBackFailed {
                error: e.to_string(),
            },
        }
    }

    async fn scale_factor(&self, point: &WritablePoint) -> Result<Option<i16>, ModbusError> {
        let Some(name) = &point.point.scale_factor else {
            return Ok(None);
        };
        if let Some(sf) = self.state().scale_factors.get(name) {
            return Ok(Some(*sf));
        }
        let Some(p) = self.entry.profile.telemetry_point(name) else {
            return Ok(None); // the loader guarantees it exists
        };
        let r = p.register;
        let words = self
            .link
            .read(self.entry.unit_id, r.kind, r.address, r.len())
            .await?;
        match p.decode(&words, None) {
            Some(v) => {
                let v = v as i16;
                self.state().scale_factors.insert(name.clone(), v);
                Ok(Some(v))
            }
            None => Err(ModbusError::Request {
                endpoint: self.entry.endpoint(),
                message: format!("scale factor '{name}' is 'not available' on the device"),
            }),
        }
    }

    /// Identifies the device and runs the profile's `acquire` writes (remote mode, watchdog),
    /// each confirmed by read-back. Done once before the first setpoint after a release.
    pub async fn acquire(&self) -> Result<Vec<WriteRecord>, String> {
        self.identify().await?;
        let mut records = Vec::new();
        for step in &self.entry.profile.acquire {
            let Some(point) = self.entry.profile.setpoint(&step.point) else {
                continue; // the loader guarantees it exists
            };
            let rec = self
                .write_point(point, step.value, self.record(&step.point, step.value))
                .await;
            let ok = rec.is_confirmed();
            let outcome = rec.outcome.clone();
            records.push(rec);
            if !ok {
                return Err(format!(
                    "acquire step {} = {}: {outcome:?}",
                    step.point, step.value
                ));
            }
        }
        self.state().acquired = true;
        Ok(records)
    }

    /// Hands the device back to its own control: the profile's `release` writes. Stops
    /// refreshing its setpoints.
    pub async fn release(&self) -> Vec<WriteRecord> {
        let mut records = Vec::new();
        for step in &self.entry.profile.release {
            if let Some(point) = self.entry.profile.setpoint(&step.point) {
                records.push(
                    self.write_point(point, step.value, self.record(&step.point, step.value))
                        .await,
                );
            }
        }
        let mut st = self.state();
        st.acquired = false;
        st.last_written.clear();
        records
    }

    /// The setpoints whose refresh period has passed since they were last written (devices
    /// that forget a setpoint unless it is rewritten).
    pub fn due_refreshes(&self, now: Instant) -> Vec<Setpoint> {
        let st = self.state();
        self.entry
            .profile
            .setpoints
            .iter()
            .filter_map(|p| {
                let period = p.refresh_s?;
                let (value, at) = st.last_written.get(&p.point.name)?;
                (now.duration_since(*at).as_secs_f64() >= period)
                    .then(|| Setpoint::new(&self.entry.asset, &p.point.name, *value, &p.point.unit))
            })
            .collect()
    }

    /// The last value written to each point in this session.
    pub fn last_written(&self) -> BTreeMap<String, f64> {
        self.state()
            .last_written
            .iter()
            .map(|(k, (v, _))| (k.clone(), *v))
            .collect()
    }
}

/// Readings of `profile` from a dump (for fixtures and offline checks).
pub(crate) fn decode_dump(profile: &Profile, dump: &RegisterDump) -> BTreeMap<String, Reading> {
    profile.decode_all(&|k, a, n| dump.words(k, a, n))
}
