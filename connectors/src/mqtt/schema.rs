//! The topic and payload schema, version 1.
//!
//! | topic | payload | QoS | retained |
//! | --- | --- | --- | --- |
//! | `aems/v1/<district>/<asset>/setpoint/<quantity>` | [`SetpointMessage`] | 1 | yes |
//! | `aems/v1/<district>/schedule` | [`ScheduleMessage`] | 1 | yes |
//! | `aems/v1/<district>/status` | [`StatusMessage`] (`online`; last will `offline`) | 1 | yes |
//! | `aems/v1/<district>/grid` | [`GridStatusMessage`] (each connection available or lost; islanded or not) | 1 | yes |
//! | `aems/v1/<district>/<asset>/telemetry` | [`TelemetryMessage`] (from devices) | 0 | no |
//! | `aems/v1/<district>/requests` | [`RequestsMessage`] (every request to tenants and residents in force, ranked) | 1 | yes |
//! | `aems/v1/<district>/<building>/requests` | [`RequestsMessage`] (that building's; an empty list when none) | 1 | yes |
//!
//! Every payload is a JSON object whose `"v"` is [`SCHEMA_VERSION`]; a consumer must ignore
//! keys it does not know (later minor additions) and refuse a `"v"` it does not know. Times
//! are RFC 3339, power in kW (+ delivered to the node), energy in kWh, temperatures in °C.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::setpoint::Setpoint;
use crate::telemetry::Reading;

/// Version of the payloads (`"v"`) and of the topic tree (`aems/v1/...`).
pub const SCHEMA_VERSION: u32 = 1;

/// The topic names of one district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    /// Topics under `aems/v1/<district>`.
    pub fn new(district: &str) -> Self {
        Self {
            prefix: format!("aems/v{SCHEMA_VERSION}/{district}"),
        }
    }

    /// `aems/v1/<district>`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `aems/v1/<district>/<asset>/setpoint/<quantity>`.
    pub fn setpoint(&self, asset: &str, quantity: &str) -> String {
        format!("{}/{asset}/setpoint/{quantity}", self.prefix)
    }

    /// `aems/v1/<district>/+/setpoint/+`: every setpoint.
    pub fn all_setpoints(&self) -> String {
        format!("{}/+/setpoint/+", self.prefix)
    }

    /// `aems/v1/<district>/schedule`.
    pub fn schedule(&self) -> String {
        format!("{}/schedule", self.prefix)
    }

    /// `aems/v1/<district>/status`.
    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// `aems/v1/<district>/grid`.
    pub fn grid(&self) -> String {
        format!("{}/grid", self.prefix)
    }

    /// `aems/v1/<district>/requests`, or `aems/v1/<district>/<building>/requests`.
    pub fn requests(&self, building: Option<&str>) -> String {
        match building {
            Some(b) => format!("{}/{b}/requests", self.prefix),
            None => format!("{}/requests", self.prefix),
        }
    }

    /// `aems/v1/<district>/<asset>/telemetry`.
    pub fn telemetry(&self, asset: &str) -> String {
        format!("{}/{asset}/telemetry", self.prefix)
    }

    /// `aems/v1/<district>/+/telemetry`: every asset's telemetry.
    pub fn all_telemetry(&self) -> String {
        format!("{}/+/telemetry", self.prefix)
    }

    /// The asset of a telemetry topic of this district.
    pub fn telemetry_asset<'a>(&self, topic: &'a str) -> Option<&'a str> {
        let rest = topic
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?;
        let asset = rest.strip_suffix("/telemetry")?;
        (!asset.is_empty() && !asset.contains('/')).then_some(asset)
    }
}

/// `aems/v1/<district>/<asset>/setpoint/<quantity>`: one setpoint.
///
/// ```json
/// {"v":1,"asset":"hub_bat","quantity":"power_kw","value":-200.0,"unit":"kW",
///  "time":"2025-08-04T00:00:00Z","valid_until":"2025-08-04T00:30:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetpointMessage {
    /// Schema version.
    pub v: u32,
    /// Asset id.
    pub asset: String,
    /// Quantity (a writable point name).
    pub quantity: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// When the AEMS decided it.
    pub time: DateTime<Utc>,
    /// Until when it holds (end of the schedule step), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

impl SetpointMessage {
    /// The message of `sp`, decided at `time`.
    pub fn new(sp: &Setpoint, time: DateTime<Utc>, valid_until: Option<DateTime<Utc>>) -> Self {
        Self {
            v: SCHEMA_VERSION,
            asset: sp.asset.clone(),
            quantity: sp.quantity.clone(),
            value: sp.value,
            unit: sp.unit.clone(),
            time,
            valid_until,
        }
    }

    /// The setpoint it carries.
    pub fn setpoint(&self) -> Setpoint {
        Setpoint::new(&self.asset, &self.quantity, self.value, &self.unit)
    }
}

/// One asset quantity over the schedule's steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSeries {
    /// Asset id.
    pub asset: String,
    /// Quantity.
    pub quantity: String,
    /// Unit.
    pub unit: String,
    /// One value per step.
    pub values: Vec<f64>,
}

/// `aems/v1/<district>/schedule`: the whole schedule.
///
/// ```json
/// {"v":1,"district":"gate_square","time":"2025-08-04T00:00:05Z",
///  "start":"2025-08-04T00:00:00+09:00","step_minutes":30,"steps":96,
///  "series":[{"asset":"hub_bat","quantity":"power_kw","unit":"kW","values":[-200.0, ...]}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleMessage {
    /// Schema version.
    pub v: u32,
    /// District id.
    pub district: String,
    /// When it was computed.
    pub time: DateTime<Utc>,
    /// Start of the first step (RFC 3339 with the scenario's offset).
    pub start: String,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Number of steps.
    pub steps: usize,
    /// Series, one per asset quantity.
    pub series: Vec<ScheduleSeries>,
}

/// `aems/v1/<district>/status`: whether the engine is running.
///
/// ```json
/// {"v":1,"state":"online","time":"2025-08-04T00:00:00Z","client_id":"aems-gate_square"}
/// ```
/// The broker publishes `{"v":1,"state":"offline","client_id":"..."}` (the last will) if the
/// engine disappears without saying goodbye.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusMessage {
    /// Schema version.
    pub v: u32,
    /// `online` or `offline`.
    pub state: String,
    /// When (absent in the last will, which is written at connection time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// MQTT client id of the engine.
    pub client_id: String,
}

/// `aems/v1/<district>/grid`: the grid connections as the engine last measured them and
/// the plan it follows, published at the first cycle and at every change (retained).
///
/// ```json
/// {"v":1,"district":"gate_square","time":"2025-08-04T02:15:00Z","islanded":true,
///  "grids":{"pcc":"lost","condo_pcc":"lost"},"plan":"islanded"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridStatusMessage {
    /// Schema version.
    pub v: u32,
    /// District id.
    pub district: String,
    /// When the engine saw it (the cycle's time).
    pub time: DateTime<Utc>,
    /// Some connection is lost: the district (or part of it) runs as an island.
    pub islanded: bool,
    /// Per grid connection: `available` or `lost`.
    pub grids: BTreeMap<String, String>,
    /// The plan followed: `islanded` (made with the lost connections out), `normal`, or
    /// `none` (no current plan: a fallback).
    pub plan: String,
}

impl StatusMessage {
    /// `online` now.
    pub fn online(client_id: &str) -> Self {
        Self {
            v: SCHEMA_VERSION,
            state: "online".into(),
            time: Some(Utc::now()),
            client_id: client_id.into(),
        }
    }

    /// `offline`, with the time if given (none in the last will).
    pub fn offline(client_id: &str, time: Option<DateTime<Utc>>) -> Self {
        Self {
            v: SCHEMA_VERSION,
            state: "offline".into(),
            time,
            client_id: client_id.into(),
        }
    }
}

/// `aems/v1/<district>/<asset>/telemetry`: what a device reports.
///
/// ```json
/// {"v":1,"asset":"hub_bat","time":"2025-08-04T00:05:00Z",
///  "values":{"soc_pct":{"value":40.0,"unit":"%"},"power_kw":{"value":-200.0,"unit":"kW"}}}
/// ```
/// A `null` value means "not available".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryMessage {
    /// Schema version.
    pub v: u32,
    /// Asset id.
    pub asset: String,
    /// When it was measured.
    pub time: DateTime<Utc>,
    /// Quantity → reading.
    pub values: BTreeMap<String, Reading>,
}

impl TelemetryMessage {
    /// A telemetry message.
    pub fn new(asset: &str, time: DateTime<Utc>, values: BTreeMap<String, Reading>) -> Self {
        Self {
            v: SCHEMA_VERSION,
            asset: asset.into(),
            time,
            values,
        }
    }

    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One request to the people of a building: use `reduce_kw` less from `from` to `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRequest {
    /// Unique id (`<building>@<start>`); a request is never changed once issued.
    pub id: String,
    /// Building id.
    pub building: String,
    /// Grid connection whose bill it lowers.
    pub grid: String,
    /// Window start (RFC 3339, the district's offset).
    pub from: String,
    /// Window end, exclusive.
    pub until: String,
    /// Asked reduction, kW.
    pub reduce_kw: f64,
    /// Why: `peak`, `demand_response`, `carbon`.
    pub reasons: Vec<String>,
    /// What the district saves if it is fully met, yen.
    pub value_yen: f64,
    /// Per kWh not drawn, yen (the ranking).
    pub value_yen_per_kwh: f64,
    /// Grid CO2 avoided if fully met, kg.
    pub co2_kg: f64,
    /// Per kWh not drawn, kg.
    pub co2_kg_per_kwh: f64,
    /// The response the plans count on (learned rate × asked), kW.
    pub expected_kw: f64,
    /// Rank among the requests in force (1 = worth most per kWh).
    pub rank: usize,
    /// When it was issued.
    pub issued: String,
    /// The message in English.
    pub message_en: String,
    /// The message in Japanese.
    pub message_ja: String,
}

/// The requests to tenants and residents in force (retained; replaced whenever they change).
///
/// ```json
/// {"v":1,"district":"kashiwanoha","time":"2025-08-04T05:00:00Z","building":"mall",
///  "requests":[{"id":"mall@2025-08-04T14:00+09:00","building":"mall","reduce_kw":83.6,
///   "from":"2025-08-04T14:00:00+09:00","until":"2025-08-04T18:00:00+09:00","rank":1,
///   "message_en":"mall: please use 83.6 kW less …","message_ja":"mall：8月4日 …"}],
///  "learned_rates":{"mall":0.3}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestsMessage {
    /// Schema version.
    pub v: u32,
    /// District id.
    pub district: String,
    /// When (the cycle's time).
    pub time: DateTime<Utc>,
    /// The building, on a building's topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    /// The requests in force, ranked.
    pub requests: Vec<TenantRequest>,
    /// The learned response rate per building (measured buildings only).
    pub learned_rates: BTreeMap<String, f64>,
}

/// Parses a payload of schema version 1 (refusing any other `"v"`).
pub fn parse<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "schema version {v} is not supported (this is {SCHEMA_VERSION})"
            ))
        }
        None => return Err("no schema version \"v\"".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("bad payload: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_documented_tree() {
        let t = Topics::new("gate_square");
        assert_eq!(
            t.setpoint("hub_bat", "power_kw"),
            "aems/v1/gate_square/hub_bat/setpoint/power_kw"
        );
        assert_eq!(t.schedule(), "aems/v1/gate_square/schedule");
        assert_eq!(t.status(), "aems/v1/gate_square/status");
        assert_eq!(t.telemetry("pcc"), "aems/v1/gate_square/pcc/telemetry");
        assert_eq!(
            t.telemetry_asset("aems/v1/gate_square/pcc/telemetry"),
            Some("pcc")
        );
        assert_eq!(t.telemetry_asset("aems/v1/other/pcc/telemetry"), None);
        assert_eq!(t.telemetry_asset("aems/v1/gate_square/a/b/telemetry"), None);
    }

    #[test]
    fn payloads_round_trip_and_refuse_other_versions() {
        let sp = Setpoint::new("hub_bat", "power_kw", -200.0, "kW");
        let m = SetpointMessage::new(&sp, Utc::now(), None);
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with("{\"v\":1,"));
        let back: SetpointMessage = parse(text.as_bytes()).unwrap();
        assert_eq!(back, m);
        assert!(parse::<SetpointMessage>(text.replace("\"v\":1", "\"v\":2").as_bytes()).is_err());
        assert!(parse::<SetpointMessage>(b"not json").is_err());
    }
}
