//! [`EchonetDevice`]: one ECHONET Lite object (class data + address + instance): telemetry
//! with one Get, safe writes with one SetC and a read-back Get.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;

use super::class::EchonetClass;
use super::frame::{esv, Eoj, Property};
use super::link::EchonetLink;
use crate::devices::EchonetEntry;
use crate::safety::{self, Decision};
use crate::setpoint::Setpoint;
use crate::telemetry::{AssetTelemetry, Reading, Source};
use crate::write_record::{WriteOutcome, WriteRecord};

/// One device object behind an [`EchonetLink`].
#[derive(Debug)]
pub struct EchonetDevice {
    entry: EchonetEntry,
    link: Arc<EchonetLink>,
}

impl EchonetDevice {
    /// The device of `entry`, reached through `link`.
    pub fn new(entry: EchonetEntry, link: Arc<EchonetLink>) -> Self {
        Self { entry, link }
    }

    /// Its `devices.toml` entry.
    pub fn entry(&self) -> &EchonetEntry {
        &self.entry
    }

    /// Scenario asset id.
    pub fn asset(&self) -> &str {
        &self.entry.asset
    }

    /// Its class.
    pub fn class(&self) -> &EchonetClass {
        &self.entry.class
    }

    fn source(&self) -> Source {
        Source::Echonet {
            endpoint: self.entry.endpoint(),
            eoj: self.entry.eoj.to_string(),
            class: self.entry.class.name.clone(),
        }
    }

    /// Gets `epcs` in one frame: EPC → EDT of those the device gave (a Get_SNA leaves out
    /// the ones it has not).
    pub async fn get(&self, epcs: &[u8]) -> Result<BTreeMap<u8, Vec<u8>>, String> {
        let peer = self.entry.addr()?;
        let f = self
            .link
            .request(
                peer,
                self.entry.eoj,
                esv::GET,
                epcs.iter().map(|e| Property::request(*e)).collect(),
            )
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no answer to a Get")?;
        if f.esv != esv::GET_RES && f.esv != esv::GET_SNA {
            return Err(format!(
                "{}: answered a Get with ESV 0x{:02X}",
                self.entry.label(),
                f.esv
            ));
        }
        if f.esv == esv::GET_SNA {
            tracing::warn!(target: "aems::echonet", device = %self.entry.label(), "Get_SNA: the device has not every property asked for");
        }
        Ok(f.props
            .into_iter()
            .filter(|p| !p.edt.is_empty() && epcs.contains(&p.epc))
            .map(|p| (p.epc, p.edt))
            .collect())
    }

    /// A telemetry snapshot: every property of the class in one Get. A failure is reported
    /// in [`AssetTelemetry::error`], a property the device left out or sent with the wrong
    /// size as "not available" (logged), never as a made-up value.
    pub async fn read(&self) -> AssetTelemetry {
        let class = &self.entry.class;
        let epcs: Vec<u8> = class.properties.iter().map(|p| p.epc).collect();
        match self.get(&epcs).await {
            Ok(got) => {
                let mut values = BTreeMap::new();
                for p in &class.properties {
                    let edt = got.get(&p.epc);
                    if let Some(e) = edt {
                        if e.len() != p.size {
                            tracing::warn!(target: "aems::echonet", device = %self.entry.label(), epc = format!("0x{:02X}", p.epc), "{} byte(s), the class declares {}: not available", e.len(), p.size);
                        }
                    }
                    values.insert(p.name.clone(), p.reading(edt.map(|e| e.as_slice())));
                }
                AssetTelemetry {
                    asset: self.entry.asset.clone(),
                    time: Utc::now(),
                    source: self.source(),
                    values,
                    error: None,
                }
            }
            Err(e) => AssetTelemetry {
                asset: self.entry.asset.clone(),
                time: Utc::now(),
                source: self.source(),
                values: BTreeMap::<String, Reading>::new(),
                error: Some(e),
            },
        }
    }

    /// Writes one setpoint safely: it must be a writable quantity of the class with the
    /// same unit; [`safety::check`] clamps or refuses it against the class's limits narrowed
    /// by the device's before anything is encoded; only properties declared writable are
    /// sent, all in one SetC frame; they are read back with one Get and compared. Every
    /// outcome is logged and returned.
    pub async fn write(&self, sp: &Setpoint) -> WriteRecord {
        let class = &self.entry.class;
        let mut rec = WriteRecord::attempt(
            &self.entry.asset,
            &self.entry.label(),
            &sp.quantity,
            sp.value,
            String::new(),
        );
        let finish = |mut rec: WriteRecord, outcome: WriteOutcome| {
            rec.outcome = outcome;
            rec.log();
            rec
        };
        let Some(point) = class.setpoint(&sp.quantity) else {
            let reason = if class.property_named(&sp.quantity).is_some() {
                format!(
                    "'{}' is read-only in ECHONET class '{}' (not declared writable)",
                    sp.quantity, class.name
                )
            } else {
                format!(
                    "'{}' is not a writable quantity of ECHONET class '{}' (writable: {})",
                    sp.quantity,
                    class.name,
                    class
                        .setpoints
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return finish(rec, WriteOutcome::Refused { reason });
        };
        if !sp.unit.is_empty() && sp.unit != point.unit {
            let reason = format!(
                "unit '{}' does not match the quantity's unit '{}'",
                sp.unit, point.unit
            );
            return finish(rec, WriteOutcome::Refused { reason });
        }
        let narrow = self.entry.limits.get(&point.name).copied();
        let value = match safety::check(&point.limits, narrow, sp.value, None) {
            Decision::Refuse { reason } => return finish(rec, WriteOutcome::Refused { reason }),
            Decision::Write { value, clamped } => {
                rec.clamped = clamped;
                value
            }
        };
        let props = match class.encode_setpoint(point, value) {
            Ok(p) => p,
            Err(reason) => return finish(rec, WriteOutcome::Refused { reason }),
        };
        // What the bytes hold (the resolution of the properties), within the limits.
        let get = |epc: u8| {
            props
                .iter()
                .find(|(e, _)| *e == epc)
                .map(|(_, d)| d.clone())
        };
        let written = class.decode_setpoint(point, &get);
        let (lo, hi) = safety::limits(&point.limits, narrow);
        match written {
            Some(w) if w >= lo - 1e-9 && w <= hi + 1e-9 => rec.written = Some(w),
            w => {
                let reason = format!("{value} encodes as {w:?}, outside [{lo}, {hi}]");
                return finish(rec, WriteOutcome::Refused { reason });
            }
        }
        rec.register = Some(
            props
                .iter()
                .map(|(e, _)| format!("EPC 0x{e:02X}"))
                .collect::<Vec<_>>()
                .join(" + "),
        );
        rec.words = props
            .iter()
            .flat_map(|(_, d)| d.iter().map(|b| u16::from(*b)))
            .collect();
        let outcome = match self.set_and_read_back(&props).await {
            (WriteOutcome::ReadBackMismatch { words, .. }, Some(back)) => {
                // The value the device holds, from what was read back.
                let getb = |epc: u8| back.get(&epc).cloned();
                WriteOutcome::ReadBackMismatch {
                    read_back: class.decode_setpoint(point, &getb),
                    words,
                }
            }
            (o, _) => o,
        };
        finish(rec, outcome)
    }
}

impl EchonetDevice {
    /// Hands the device back to its own control: the class's `[[release]]` values in one
    /// SetC, read back (one record, named after the first property, its raw value as the
    /// value). Nothing to do (no record) for a class without them.
    pub async fn release(&self) -> Vec<WriteRecord> {
        let class = &self.entry.class;
        if class.release.is_empty() {
            return Vec::new();
        }
        let props: Vec<(u8, Vec<u8>)> = class
            .release
            .iter()
            .filter_map(|(epc, raw)| Some((*epc, class.property(*epc)?.edt_of_raw(*raw))))
            .collect();
        let mut rec = WriteRecord {
            time: Utc::now(),
            asset: self.entry.asset.clone(),
            device: self.entry.label(),
            quantity: class
                .release
                .first()
                .and_then(|(epc, _)| class.property(*epc))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            register: Some(
                props
                    .iter()
                    .map(|(e, _)| format!("EPC 0x{e:02X}"))
                    .collect::<Vec<_>>()
                    .join(" + "),
            ),
            requested: class.release.first().map(|(_, v)| *v as f64).unwrap_or(0.0),
            written: class.release.first().map(|(_, v)| *v as f64),
            words: props
                .iter()
                .flat_map(|(_, d)| d.iter().map(|b| u16::from(*b)))
                .collect(),
            clamped: None,
            outcome: WriteOutcome::Confirmed,
        };
        rec.outcome = self.set_and_read_back(&props).await.0;
        rec.log();
        vec![rec]
    }

    /// One SetC of `props` (each declared writable, else refused unsent), then one Get of
    /// them compared byte for byte; with what was read back, if anything.
    async fn set_and_read_back(
        &self,
        props: &[(u8, Vec<u8>)],
    ) -> (WriteOutcome, Option<BTreeMap<u8, Vec<u8>>>) {
        if let Some(o) = self.set_only(props).await {
            return (o, None);
        }
        let epcs: Vec<u8> = props.iter().map(|(e, _)| *e).collect();
        match self.get(&epcs).await {
            Err(error) => (WriteOutcome::ReadBackFailed { error }, None),
            Ok(back) if props.iter().all(|(e, d)| back.get(e) == Some(d)) => {
                (WriteOutcome::Confirmed, Some(back))
            }
            Ok(back) => (
                WriteOutcome::ReadBackMismatch {
                    read_back: None,
                    words: epcs
                        .iter()
                        .flat_map(|e| back.get(e).cloned().unwrap_or_default())
                        .map(u16::from)
                        .collect(),
                },
                Some(back),
            ),
        }
    }

    /// The SetC of `props`: `None` when the device accepted it, else why not.
    async fn set_only(&self, props: &[(u8, Vec<u8>)]) -> Option<WriteOutcome> {
        let class = &self.entry.class;
        if let Some((epc, _)) = props.iter().find(|(e, _)| !class.is_writable(*e)) {
            return Some(WriteOutcome::Refused {
                reason: format!(
                    "EPC 0x{epc:02X} is not declared writable in ECHONET class '{}'",
                    class.name
                ),
            });
        }
        let peer = match self.entry.addr() {
            Ok(p) => p,
            Err(error) => {
                return Some(WriteOutcome::Failed {
                    kind: "request".into(),
                    error,
                })
            }
        };
        let answer = self
            .link
            .request(
                peer,
                self.entry.eoj,
                esv::SET_C,
                props
                    .iter()
                    .map(|(e, d)| Property::new(*e, d.clone()))
                    .collect(),
            )
            .await;
        match answer {
            Err(e) => Some(WriteOutcome::Failed {
                kind: e.kind().into(),
                error: e.to_string(),
            }),
            Ok(Some(f)) if f.esv == esv::SET_RES => None,
            // Some stacks (uecho 1.0.3) answer a refused SetC with 0x50 (SetI_SNA): a
            // refusal all the same.
            Ok(Some(f)) if f.esv == esv::SET_C_SNA || f.esv == esv::SET_I_SNA => {
                let refused: Vec<String> = f
                    .props
                    .iter()
                    .filter(|p| !p.edt.is_empty())
                    .map(|p| format!("EPC 0x{:02X}", p.epc))
                    .collect();
                Some(WriteOutcome::Failed {
                    kind: "exception".into(),
                    error: format!(
                        "ESV 0x{:02X} (SNA): the device refused {}",
                        f.esv,
                        refused.join(", ")
                    ),
                })
            }
            Ok(f) => {
                let esv = f.map(|f| format!("0x{:02X}", f.esv)).unwrap_or_default();
                Some(WriteOutcome::Failed {
                    kind: "request".into(),
                    error: format!("answered SetC with ESV {esv}"),
                })
            }
        }
    }
}

/// The objects a node lists, as `0x027D01`-style strings (for logs and tests).
pub fn eoj_names(objects: &[Eoj]) -> Vec<String> {
    objects.iter().map(|e| e.to_string()).collect()
}
