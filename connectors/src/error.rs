//! Errors of the connectors.
//!
//! - [`ConfigError`]: a profile or `devices.toml` that cannot be used, naming the file, the
//!   line, the table entry and the field.
//! - [`ModbusError`]: a failed Modbus request. A *device exception* (the device answered
//!   "no") and a *transport* failure (no answer, connection refused or closed, timeout) are
//!   different variants and are logged differently: the first is the device's word and is
//!   never retried, the second is retried with backoff and reconnection.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A refused configuration file (device profile or `devices.toml`).
///
/// Displayed on one line as `FILE:LINE: TABLE: field 'F': reason`, leaving out the parts
/// that do not apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line of the offending key or table, when known.
    pub line: Option<usize>,
    /// The table entry, e.g. `[[setpoint]] #1 (name 'power_kw')`.
    pub table: Option<String>,
    /// The key at fault.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub reason: String,
}

impl ConfigError {
    /// An error about the file as a whole.
    pub fn file(file: &Path, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            table: None,
            field: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(table) = &self.table {
            write!(f, ": {table}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field '{field}'")?;
        }
        let reason = self.reason.split_whitespace().collect::<Vec<_>>().join(" ");
        write!(f, ": {reason}")
    }
}

impl std::error::Error for ConfigError {}

/// A failed Modbus request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModbusError {
    /// The device answered with a Modbus exception (e.g. illegal data address): the request
    /// reached it and it said no. Not retried.
    Exception {
        /// `host:port` of the connection.
        endpoint: String,
        /// Unit id (slave id) addressed.
        unit_id: u8,
        /// What was asked, e.g. `write holding 40001 (2 words)`.
        request: String,
        /// Exception code (1 illegal function, 2 illegal data address, 3 illegal data value,
        /// 4 server device failure, 6 busy, 0x0B gateway target failed to respond, ...).
        code: u8,
        /// Name of the exception code.
        name: String,
    },
    /// No answer within the per-request timeout (after all retries).
    Timeout {
        /// `host:port` of the connection.
        endpoint: String,
        /// Unit id addressed.
        unit_id: u8,
        /// What was asked.
        request: String,
        /// The per-request timeout.
        after: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection could not be opened, or broke (reset, closed by the device), after all
    /// retries.
    Transport {
        /// `host:port` of the connection.
        endpoint: String,
        /// Unit id addressed.
        unit_id: u8,
        /// What was asked.
        request: String,
        /// The underlying error.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request itself is impossible (e.g. more registers than one request may carry).
    Request {
        /// `host:port` of the connection.
        endpoint: String,
        /// What is wrong.
        message: String,
    },
}

impl ModbusError {
    /// Whether the device answered with an exception (as opposed to a transport failure).
    pub fn is_device_exception(&self) -> bool {
        matches!(self, ModbusError::Exception { .. })
    }

    /// `"exception"`, `"timeout"`, `"transport"` or `"request"`: the kind, as logged.
    pub fn kind(&self) -> &'static str {
        match self {
            ModbusError::Exception { .. } => "exception",
            ModbusError::Timeout { .. } => "timeout",
            ModbusError::Transport { .. } => "transport",
            ModbusError::Request { .. } => "request",
        }
    }
}

impl fmt::Display for ModbusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModbusError::Exception {
                endpoint,
                unit_id,
                request,
                code,
                name,
            } => write!(
                f,
                "device exception from {endpoint} unit {unit_id} on {request}: \
                 code {code:#04x} ({name})"
            ),
            ModbusError::Timeout {
                endpoint,
                unit_id,
                request,
                after,
                attempts,
            } => write!(
                f,
                "transport: no answer from {endpoint} unit {unit_id} to {request} within \
                 {} ms ({attempts} attempt(s))",
                after.as_millis()
            ),
            ModbusError::Transport {
                endpoint,
                unit_id,
                request,
                message,
                attempts,
            } => write!(
                f,
                "transport: {endpoint} unit {unit_id}, {request}: {message} ({attempts} attempt(s))"
            ),
            ModbusError::Request { endpoint, message } => {
                write!(f, "bad request to {endpoint}: {message}")
            }
        }
    }
}

impl std::error::Error for ModbusError {}
