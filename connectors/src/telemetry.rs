//! [`Telemetry`]: a snapshot of what every asset reported, frozen at one instant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One value read from a device: `None` when the device says "not available" (a sentinel
/// such as `0xFFFF`), never a made-up number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Engineering value, or `None` when not available.
    pub value: Option<f64>,
    /// Its unit (`kW`, `%`, `°C`, empty for codes).
    pub unit: String,
}

impl Reading {
    /// A reading.
    pub fn new(value: Option<f64>, unit: &str) -> Self {
        Self {
            value,
            unit: unit.to_string(),
        }
    }
}

/// Where a reading came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "lowercase")]
pub enum Source {
    /// Polled over Modbus TCP.
    Modbus {
        /// `host:port`.
        endpoint: String,
        /// Unit id.
        unit_id: u8,
        /// Profile name.
        profile: String,
    },
    /// Polled over ECHONET Lite.
    Echonet {
        /// `host:port`.
        endpoint: String,
        /// Object, e.g. `0x027D01`.
        eoj: String,
        /// Class name.
        class: String,
    },
    /// Received over MQTT.
    Mqtt {
        /// Topic it arrived on.
        topic: String,
    },
}

/// What one asset reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetTelemetry {
    /// Scenario asset id.
    pub asset: String,
    /// When it was read (or received).
    pub time: DateTime<Utc>,
    /// Where from.
    pub source: Source,
    /// Quantity name → reading.
    pub values: BTreeMap<String, Reading>,
    /// Why the asset could not be read, if it could not (then `values` is empty).
    pub error: Option<String>,
}

impl AssetTelemetry {
    /// The value of `quantity`, if read and available.
    pub fn value(&self, quantity: &str) -> Option<f64> {
        self.values.get(quantity).and_then(|r| r.value)
    }
}

/// A frozen snapshot of the district's telemetry: one entry per asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// When the snapshot was completed.
    pub time: DateTime<Utc>,
    /// Asset id → what it reported.
    pub assets: BTreeMap<String, AssetTelemetry>,
}

impl Telemetry {
    /// An empty snapshot taken now.
    pub fn new() -> Self {
        Self {
            time: Utc::now(),
            assets: BTreeMap::new(),
        }
    }

    /// The value of `quantity` of `asset`, if read and available.
    pub fn value(&self, asset: &str, quantity: &str) -> Option<f64> {
        self.assets.get(asset).and_then(|a| a.value(quantity))
    }

    /// Adds (or replaces) the entries of `other`, keeping for each asset the newer one.
    pub fn merge(&mut self, other: Telemetry) {
        for (id, a) in other.assets {
            match self.assets.get(&id) {
                Some(mine) if mine.time > a.time => {}
                _ => {
                    self.assets.insert(id, a);
                }
            }
        }
        self.time = self.time.max(other.time);
    }

    /// A plain-text table: one line per asset and quantity.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{:<16} {:<22} {:>14}  {:<4} {}\n",
            "asset", "quantity", "value", "unit", "source"
        );
        for a in self.assets.values() {
            let src = match &a.source {
                Source::Modbus {
                    endpoint, unit_id, ..
                } => format!("modbus {endpoint} unit {unit_id}"),
                Source::Echonet { endpoint, eoj, .. } => format!("echonet {endpoint} {eoj}"),
                Source::Mqtt { topic } => format!("mqtt {topic}"),
            };
            if let Some(e) = &a.error {
                out.push_str(&format!(
                    "{:<16} {:<22} {:>14}  {:<4} {src}: {e}\n",
                    a.asset, "-", "error", ""
                ));
                continue;
            }
            for (q, r) in &a.values {
                let v = match r.value {
                    Some(v) => format!("{v:.3}"),
                    None => "n/a".to_string(),
                };
                out.push_str(&format!(
                    "{:<16} {:<22} {:>14}  {:<4} {src}\n",
                    a.asset, q, v, r.unit
                ));
            }
        }
        out
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}
