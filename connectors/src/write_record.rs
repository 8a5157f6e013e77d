//! [`WriteRecord`]: the audit trail of one attempted write.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WriteOutcome {
    /// Written, and the register read back holds exactly what was written.
    Confirmed,
    /// Written, but the read-back differs (the device changed or ignored it).
    ReadBackMismatch {
        /// Engineering value read back (`None`: not available).
        read_back: Option<f64>,
        /// The words read back.
        words: Vec<u16>,
    },
    /// Written, but the read-back failed.
    ReadBackFailed {
        /// Why.
        error: String,
    },
    /// Not written: the setpoint was refused by the safety checks (undeclared register,
    /// out of range with `out_of_range = "refuse"`, wrong unit, not finite, unknown asset).
    Refused {
        /// Why.
        reason: String,
    },
    /// The write request failed (device exception or transport error).
    Failed {
        /// `exception`, `timeout`, `transport` or `request`.
        kind: String,
        /// The error.
        error: String,
    },
}

/// One attempted write: time, device, register, value and read-back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRecord {
    /// When the write was attempted.
    pub time: DateTime<Utc>,
    /// Scenario asset id.
    pub asset: String,
    /// `profile@host:port/unit`.
    pub device: String,
    /// Writable point.
    pub quantity: String,
    /// Register written, e.g. `holding 40001 (i32)` (`None` if none was chosen).
    pub register: Option<String>,
    /// Value asked for.
    pub requested: f64,
    /// Value written (after clamping), `None` if nothing was written.
    pub written: Option<f64>,
    /// Words written.
    pub words: Vec<u16>,
    /// Why the value was changed before writing (limits, ramp), if it was.
    pub clamped: Option<String>,
    /// How it ended.
    pub outcome: WriteOutcome,
}

impl WriteRecord {
    /// A record of an attempt to write `requested` to `quantity` of `asset`'s `device`, now,
    /// with nothing written yet (its outcome a refusal with `reason` until it is set).
    pub fn attempt(
        asset: &str,
        device: &str,
        quantity: &str,
        requested: f64,
        reason: String,
    ) -> Self {
        Self {
            time: Utc::now(),
            asset: asset.to_string(),
            device: device.to_string(),
            quantity: quantity.to_string(),
            register: None,
            requested,
            written: None,
            words: Vec::new(),
            clamped: None,
            outcome: WriteOutcome::Refused { reason },
        }
    }

    /// Whether the value is on the device, confirmed by read-back.
    pub fn is_confirmed(&self) -> bool {
        self.outcome == WriteOutcome::Confirmed
    }

    /// What the device holds after this write, as far as it was confirmed: the value written
    /// when read back as such, the value read back when the device holds another; `None`
    /// when nothing is known to have reached it (refused, failed, read-back failed). This,
    /// never the request, is what the AEMS publishes as a unit's setpoint.
    pub fn held(&self) -> Option<f64> {
        match &self.outcome {
            WriteOutcome::Confirmed => self.written,
            WriteOutcome::ReadBackMismatch { read_back, .. } => *read_back,
            _ => None,
        }
    }

    /// Whether the write was refused before anything was sent.
    pub fn is_refused(&self) -> bool {
        matches!(self.outcome, WriteOutcome::Refused { .. })
    }

    /// Logs the record (target `aems::write`): info when confirmed, warn otherwise.
    pub fn log(&self) {
        let register = self.register.as_deref().unwrap_or("-");
        let outcome = serde_json::to_string(&self.outcome).unwrap_or_default();
        if self.is_confirmed() && self.clamped.is_none() {
            tracing::info!(
                target: "aems::write",
                time = %self.time.to_rfc3339(),
                asset = %self.asset,
                device = %self.device,
                register,
                quantity = %self.quantity,
                requested = self.requested,
                written = ?self.written,
                outcome = %outcome,
                "write"
            );
        } else {
            tracing::warn!(
                target: "aems::write",
                time = %self.time.to_rfc3339(),
                asset = %self.asset,
                device = %self.device,
                register,
                quantity = %self.quantity,
                requested = self.requested,
                written = ?self.written,
                clamped = ?self.clamped,
                outcome = %outcome,
                "write"
            );
        }
    }
}
