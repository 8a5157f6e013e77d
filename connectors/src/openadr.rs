//! OpenADR 3 Virtual End Node (VEN): `aems run` as a VEN of a utility's or aggregator's
//! VTN. It authenticates with client credentials (OAuth 2 at the VTN's token endpoint),
//! registers itself by name, reads the events it may see, turns their payloads into
//! [`DrEvent`]s of typed [`Signal`]s, and posts reports of the metered response.
//!
//! The wire format and the HTTP calls are `openleadr-client` / `openleadr-wire` (the LF
//! Energy OpenLEADR crates), not written here. This module knows nothing of the dispatch
//! model: the control cycle maps signals onto it.
//!
//! Payload types acted on (the others are listed in [`DrEvent::ignored`] with the reason):
//!
//! | OpenADR payload | units taken | [`SignalKind`] | value |
//! | --- | --- | --- | --- |
//! | `IMPORT_CAPACITY_LIMIT` | `KW` (or none) | `ImportCapacityLimit` | kW |
//! | `PRICE` | currency `JPY` (or none), per kWh | `Price` | yen/kWh |
//! | `GHG` | `GHG` = g/kWh (or none) | `Ghg` | kg CO2/kWh (÷ 1000) |
//!
//! Interval timing, as OpenADR 3 defines it: an interval's own `intervalPeriod`, else the
//! event's, the n-th interval starting n durations after the event's start; a missing
//! duration lasts indefinitely.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use openleadr_client::{Client, ClientCredentials, Filter, VirtualEndNode};
use openleadr_wire::event::{EventPayloadDescriptor, EventRequest, EventType};
use openleadr_wire::interval::{Interval as WireInterval, IntervalPeriod};
use openleadr_wire::report::{
    ReadingType, ReportPayloadDescriptor, ReportResource, ReportType, ResourceName,
};
use openleadr_wire::values_map::{Value, ValueType, ValuesMap};
use openleadr_wire::Unit;

/// What a signal asks of the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// Keep the import at or below the value, kW.
    ImportCapacityLimit,
    /// The import price over the interval, yen/kWh.
    Price,
    /// The grid's carbon intensity over the interval, kg CO2/kWh.
    Ghg,
}

impl SignalKind {
    /// The OpenADR payload type's name.
    pub fn payload_type(self) -> &'static str {
        match self {
            SignalKind::ImportCapacityLimit => "IMPORT_CAPACITY_LIMIT",
            SignalKind::Price => "PRICE",
            SignalKind::Ghg => "GHG",
        }
    }
}

/// One value of an event over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// What it asks.
    pub kind: SignalKind,
    /// Interval start.
    pub from: DateTime<Utc>,
    /// Interval end (far in the future when the event gives no duration).
    pub until: DateTime<Utc>,
    /// kW, yen/kWh or kg/kWh (see [`SignalKind`]).
    pub value: f64,
}

/// An event as the VEN read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrEvent {
    /// The VTN's event id.
    pub id: String,
    /// The VTN's program id.
    pub program_id: String,
    /// The event's name, if any.
    pub name: Option<String>,
    /// The event's targets (resource or group names; empty: everyone).
    pub targets: Vec<String>,
    /// What it asks, per interval.
    pub signals: Vec<Signal>,
    /// Payloads not acted on, each with the reason.
    pub ignored: Vec<String>,
}

/// One interval of a report: the metered import against the baseline, per connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The resource reported (a grid connection's id).
    pub resource: String,
    /// Interval start.
    pub from: DateTime<Utc>,
    /// Interval end.
    pub until: DateTime<Utc>,
    /// Mean metered import, kW.
    pub actual_kw: f64,
    /// Mean import the plan expected without the event, kW (if known).
    pub baseline_kw: Option<f64>,
}

/// The far future an open-ended interval lasts until.
fn indefinite() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(x) if x.is_finite() => Some(*x),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// The event's payloads as signals (pure: the tests feed it the specification's JSON).
pub fn parse_event(id: &str, e: &EventRequest) -> DrEvent {
    let mut out = DrEvent {
        id: id.to_string(),
        program_id: e.program_id.as_str().to_string(),
        name: e.event_name.clone(),
        targets: e.targets.iter().map(|t| t.to_string()).collect(),
        signals: Vec::new(),
        ignored: Vec::new(),
    };
    let descriptor = |ty: &EventType| -> Option<&EventPayloadDescriptor> {
        e.payload_descriptors
            .as_ref()?
            .iter()
            .find(|d| &d.payload_type == ty)
    };
    let Some(intervals) = &e.intervals else {
        out.ignored.push("the event has no intervals".into());
        return out;
    };
    let mut next_start: Option<DateTime<Utc>> = None;
    for (n, iv) in intervals.iter().enumerate() {
        let period: Option<&IntervalPeriod> =
            iv.interval_period.as_ref().or(e.interval_period.as_ref());
        let Some(period) = period else {
            out.ignored.push(format!(
                "interval {}: no intervalPeriod (own or the event's)",
                iv.id
            ));
            continue;
        };
        // The n-th interval without its own period starts where the one before ended.
        let start = match (&iv.interval_period, next_start) {
            (None, Some(s)) if n > 0 => s,
            _ => period.start,
        };
        let until = match &period.duration {
            Some(d) => {
                let len = d.to_chrono_at_datetime(start);
                if len.num_seconds() >= 9_000 * 365 * 86_400 {
                    indefinite()
                } else {
                    start + len
                }
            }
            None => indefinite(),
        };
        next_start = Some(until);
        for p in &iv.payloads {
            let (kind, scale) = match &p.value_type {
                EventType::ImportCapacityLimit => {
                    match descriptor(&p.value_type).and_then(|d| d.units.as_ref()) {
                        None | Some(Unit::KW) => (SignalKind::ImportCapacityLimit, 1.0),
                        Some(u) => {
                            out.ignored.push(format!(
                                "interval {}: IMPORT_CAPACITY_LIMIT in {u:?}: only KW is taken",
                                iv.id
                            ));
                            continue;
                        }
                    }
                }
                EventType::Price => {
                    let d = descriptor(&p.value_type);
                    match d.and_then(|d| d.currency.as_ref()) {
                        None => {}
                        Some(c) if c.code() == "JPY" => {}
                        Some(c) => {
                            out.ignored.push(format!(
                                "interval {}: PRICE in {}: the scenario's prices are in yen (JPY)",
                                iv.id,
                                c.code()
                            ));
                            continue;
                        }
                    }
                    match d.and_then(|d| d.units.as_ref()) {
                        None | Some(Unit::KWH) => (SignalKind::Price, 1.0),
                        Some(u) => {
                            out.ignored.push(format!(
                                "interval {}: PRICE per {u:?}: only per KWH is taken",
                                iv.id
                            ));
                            continue;
                        }
                    }
                }
                EventType::GHG => match descriptor(&p.value_type).and_then(|d| d.units.as_ref()) {
                    None | Some(Unit::GHG) => (SignalKind::Ghg, 1e-3),
                    Some(u) => {
                        out.ignored.push(format!(
                            "interval {}: GHG in {u:?}: only g/kWh (GHG) is taken",
                            iv.id
                        ));
                        continue;
                    }
                },
                other => {
                    out.ignored.push(format!(
                        "interval {}: payload {} not acted on",
                        iv.id,
                        serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}"))
                    ));
                    continue;
                }
            };
            match p.values.first().and_then(number) {
                Some(v) if v < 0.0 && kind != SignalKind::Price => out.ignored.push(format!(
                    "interval {}: {} {v} is negative",
                    iv.id,
                    kind.payload_type()
                )),
                Some(_) if until <= start => out.ignored.push(format!(
                    "interval {}: {} ends ({until}) no later than it starts ({start})",
                    iv.id,
                    kind.payload_type()
                )),
                Some(v) => out.signals.push(Signal {
                    kind,
                    from: start,
                    until,
                    value: v * scale,
                }),
                None => out.ignored.push(format!(
                    "interval {}: {} has no finite number",
                    iv.id,
                    kind.payload_type()
                )),
            }
        }
    }
    out
}

/// A VEN registered at a VTN.
pub struct Ven {
    client: Client<VirtualEndNode>,
    name: String,
}

impl std::fmt::Debug for Ven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ven").field("name", &self.name).finish()
    }
}

impl Ven {
    /// Authenticates at `vtn_url` (its token endpoint `<vtn_url>/auth/token`, or
    /// `token_url`) and finds or registers the VEN `ven_name`.
    pub async fn connect(
        vtn_url: &str,
        token_url: Option<&str>,
        client_id: &str,
        client_secret: &str,
        ven_name: &str,
        timeout: std::time::Duration,
    ) -> Result<Self> {
        let base = url::Url::parse(vtn_url).with_context(|| format!("'{vtn_url}' is not a URL"))?;
        let token = match token_url {
            Some(t) => url::Url::parse(t).with_context(|| format!("'{t}' is not a URL"))?,
            None => base
                .join("auth/token")
                .with_context(|| format!("no token URL under '{vtn_url}'"))?,
        };
        // The VTN's paths are relative to its base URL: keep a trailing slash.
        let base = if base.path().ends_with('/') {
            base
        } else {
            url::Url::parse(&format!("{vtn_url}/"))?
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("HTTP client for the VTN")?;
        let client = Client::<VirtualEndNode>::with_details(
            base,
            token,
            http,
            Some(ClientCredentials::new(
                client_id.to_string(),
                client_secret.to_string(),
            )),
        );
        match client.get_ven_by_name(ven_name).await {
            Ok(_) => {}
            Err(openleadr_client::Error::ObjectNotFound) => {
                client
                    .create_ven(openleadr_wire::ven::VenVenRequest {
                        ven_name: ven_name.to_string(),
                        attributes: None,
                    })
                    .await
                    .map_err(|e| {
                        anyhow!("VTN {vtn_url}: cannot register the VEN '{ven_name}': {e}")
                    })?;
            }
            Err(e) => bail!("VTN {vtn_url}: cannot look up the VEN '{ven_name}': {e}"),
        }
        Ok(Self {
            client,
            name: ven_name.to_string(),
        })
    }

    /// The VEN's name at the VTN.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every event the VTN shows this VEN, read.
    pub async fn events(&self) -> Result<Vec<DrEvent>> {
        let events = self
            .client
            .get_event_list(None, Filter::<&str>::None)
            .await
            .map_err(|e| anyhow!("VTN: cannot read the events: {e}"))?;
        Ok(events
            .iter()
            .map(|e| parse_event(e.id().as_str(), e.content()))
            .collect())
    }

    /// Posts a report on event `event_id`: per resource and interval the metered mean
    /// import (`DEMAND`, kW, mean) and the baseline (`BASELINE`, kW) where known.
    pub async fn report(
        &self,
        event_id: &str,
        report_name: &str,
        rows: &[ReportRow],
    ) -> Result<()> {
        let id = event_id
            .parse()
            .map_err(|e| anyhow!("event id '{event_id}': {e}"))?;
        let event = self
            .client
            .get_event_by_id(&id)
            .await
            .map_err(|e| anyhow!("VTN: event {event_id}: {e}"))?;
        let mut resources: Vec<ReportResource> = Vec::new();
        for row in rows {
            let period = IntervalPeriod {
                start: row.from,
                duration: Some(
                    iso_duration(row.until - row.from)
                        .parse()
                        .map_err(|e| anyhow!("report interval: {e:?}"))?,
                ),
                randomize_start: None,
            };
            let mut payloads = vec![ValuesMap {
                value_type: ValueType("DEMAND".into()),
                values: vec![Value::Number(row.actual_kw)],
            }];
            if let Some(b) = row.baseline_kw {
                payloads.push(ValuesMap {
                    value_type: ValueType("BASELINE".into()),
                    values: vec![Value::Number(b)],
                });
            }
            let name = ResourceName::Private(row.resource.clone());
            let r = match resources.iter_mut().find(|r| r.resource_name == name) {
                Some(r) => r,
                None => {
                    resources.push(ReportResource {
                        resource_name: name,
                        interval_period: None,
                        intervals: Vec::new(),
                    });
                    resources.last_mut().expect("just pushed")
                }
            };
            let n = r.intervals.len() as i32;
            r.intervals.push(WireInterval {
                id: n,
                interval_period: Some(period),
                payloads,
            });
        }
        let descriptor = |t: ReportType| ReportPayloadDescriptor {
            reading_type: ReadingType::Mean,
            units: Some(Unit::KW),
            ..ReportPayloadDescriptor::new(t)
        };
        let report = event
            .new_report(self.name.clone())
            .with_name(report_name)
            .with_payload_descriptors(vec![
                descriptor(ReportType::Demand),
                descriptor(ReportType::Baseline),
            ])
            .with_resources(resources);
        event
            .create_report(report)
            .await
            .map_err(|e| anyhow!("VTN: cannot post the report on event {event_id}: {e}"))?;
        Ok(())
    }
}

/// A duration as ISO 8601 (`PT30M`, `PT1H30M`, `PT45S`).
fn iso_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    if sec > 0 || (h == 0 && m == 0) {
        out += &format!("{sec}S");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> DrEvent {
        let e: EventRequest = serde_json::from_str(json).unwrap();
        parse_event("e1", &e)
    }

    #[test]
    fn an_import_cap_over_two_intervals_in_sequence() {
        let d = event(
            r#"{"programID": "p1", "eventName": "peak", "priority": 1,
                "payloadDescriptors": [{"payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
                "intervalPeriod": {"start": "2025-08-04T05:00:00Z", "duration": "PT1H"},
                "intervals": [
                  {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [300.0]}]},
                  {"id": 1, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [250]}]}]}"#,
        );
        assert_eq!(d.program_id, "p1");
        assert_eq!(d.signals.len(), 2, "{d:?}");
        assert_eq!(d.signals[0].from.to_rfc3339(), "2025-08-04T05:00:00+00:00");
        assert_eq!(d.signals[0].until.to_rfc3339(), "2025-08-04T06:00:00+00:00");
        assert_eq!(d.signals[1].from.to_rfc3339(), "2025-08-04T06:00:00+00:00");
        assert_eq!(d.signals[1].value, 250.0);
        assert!(d.ignored.is_empty(), "{d:?}");
    }

    #[test]
    fn prices_in_yen_ghg_in_grams_and_what_is_not_taken() {
        let d = event(
            r#"{"programID": "p1", "priority": null,
                "payloadDescriptors": [{"payloadType": "PRICE", "units": "KWH", "currency": "JPY"},
                                       {"payloadType": "GHG", "units": "GHG"}],
                "intervals": [
                  {"id": 0, "intervalPeriod": {"start": "2025-08-04T05:00:00Z", "duration": "PT30M"},
                   "payloads": [{"type": "PRICE", "values": [42.5]}, {"type": "GHG", "values": [480.0]},
                                {"type": "SIMPLE", "values": [2]}]}]}"#,
        );
        assert_eq!(d.signals.len(), 2, "{d:?}");
        assert_eq!(d.signals[0].kind, SignalKind::Price);
        assert_eq!(d.signals[0].value, 42.5);
        assert!((d.signals[1].value - 0.48).abs() < 1e-12);
        assert_eq!(d.ignored, ["interval 0: payload \"SIMPLE\" not acted on"]);
        let usd = event(
            r#"{"programID": "p1", "priority": null,
                "payloadDescriptors": [{"payloadType": "PRICE", "currency": "USD"}],
                "intervals": [{"id": 0, "intervalPeriod": {"start": "2025-08-04T05:00:00Z"},
                               "payloads": [{"type": "PRICE", "values": [0.2]}]}]}"#,
        );
        assert!(usd.signals.is_empty());
        assert!(usd.ignored[0].contains("PRICE in USD"), "{usd:?}");
        let open = event(
            r#"{"programID": "p1", "priority": null,
                "intervals": [{"id": 0, "intervalPeriod": {"start": "2025-08-04T05:00:00Z", "duration": "P9999Y"},
                               "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [100.0]}]}]}"#,
        );
        assert_eq!(open.signals[0].until, indefinite());
        // Malformed payloads: a negative cap or carbon intensity, a value that is not a
        // number, an interval that ends before it starts — each said, none taken.
        let bad = event(
            r#"{"programID": "p1", "priority": null,
                "intervals": [{"id": 0, "intervalPeriod": {"start": "2025-08-04T05:00:00Z", "duration": "PT1H"},
                               "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [-300.0]},
                                            {"type": "GHG", "values": ["lots"]}]},
                              {"id": 1, "intervalPeriod": {"start": "2025-08-04T07:00:00Z", "duration": "PT0S"},
                               "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [300.0]}]}]}"#,
        );
        assert!(bad.signals.is_empty(), "{bad:?}");
        assert_eq!(bad.ignored.len(), 3, "{bad:?}");
        assert!(
            bad.ignored[0].contains("IMPORT_CAPACITY_LIMIT -300 is negative"),
            "{bad:?}"
        );
        assert!(
            bad.ignored[1].contains("GHG has no finite number"),
            "{bad:?}"
        );
        assert!(bad.ignored[2].contains("ends"), "{bad:?}");
    }

    #[test]
    fn durations_in_iso_8601() {
        assert_eq!(iso_duration(chrono::Duration::minutes(30)), "PT30M");
        assert_eq!(iso_duration(chrono::Duration::minutes(90)), "PT1H30M");
        assert_eq!(iso_duration(chrono::Duration::seconds(0)), "PT0S");
    }
}
