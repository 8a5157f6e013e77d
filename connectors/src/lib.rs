//! # AEMS device connectors
//!
//! The part of the Area Energy Management System that talks to equipment: it reads
//! telemetry from batteries, HVAC controllers, meters and gas engines and sends them
//! setpoints, over **Modbus TCP** ([`modbus`], with `tokio-modbus`) and **MQTT** ([`mqtt`],
//! with `rumqttc`). It knows nothing of the dispatch optimisation: the `aems` binary turns a
//! schedule into [`Setpoint`]s and hands them to a [`Fleet`] (Modbus) and a
//! [`SetpointPublisher`] (MQTT).
//!
//! - Register maps are data: a [`Profile`] is read from a TOML file
//!   (`connectors/profiles/*.toml`, see [`profile`]); a district's `devices.toml`
//!   ([`DevicesConfig`]) maps scenario asset ids to a profile, an endpoint and a unit id.
//! - Safety ([`safety`]): a setpoint outside a point's declared limits is clamped or refused,
//!   never written raw; a register that is not declared writable is never written; every
//!   write is logged (target `aems::write`) and returned as a [`WriteRecord`] with its
//!   read-back.
//! - ECHONET Lite ([`echonet`], UDP 3610): homes' batteries, PV, air conditioners and
//!   smart meters, their classes as data (`connectors/echonet/*.toml`), read and written
//!   through the same [`Fleet`] and the same safety rules.
//! - The [`Simulator`] serves the profiles over Modbus TCP with simple physics (battery
//!   energy, RC zone temperature, generator, node meter) and publishes telemetry over MQTT:
//!   what tests, demos and new users run instead of hardware.
//!
//! See `connectors/README.md` for the topic and payload schema, the profile format and the
//! behaviour under faults.

#![warn(missing_docs)]

pub mod command;
pub mod devices;
pub mod dump;
pub mod echonet;
pub mod error;
pub mod fleet;
pub mod modbus;
pub mod mqtt;
pub mod openadr;
pub mod profile;
pub mod safety;
pub mod setpoint;
pub mod sim;
pub mod telemetry;
pub mod write_record;

pub use devices::{DeviceEntry, DevicesConfig, EchonetEntry, ModbusSettings, MqttConfig};
pub use dump::RegisterDump;
pub use echonet::{EchonetClass, EchonetDevice, EchonetLink};
pub use error::{ConfigError, ModbusError};
pub use fleet::Fleet;
pub use modbus::{ModbusDevice, ModbusLink};
pub use mqtt::{MqttLink, SetpointPublisher};
pub use profile::{DeviceFamily, Point, Profile, Register, WritablePoint};
pub use setpoint::Setpoint;
pub use sim::{SimConfig, Simulator};
pub use telemetry::{AssetTelemetry, Reading, Telemetry};
pub use write_record::{WriteOutcome, WriteRecord};
