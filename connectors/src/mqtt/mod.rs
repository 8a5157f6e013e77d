//! MQTT: setpoints, the schedule and the engine's status out; telemetry in.
//!
//! [`MqttLink`] is one broker connection (rumqttc) that reconnects by itself and keeps every
//! QoS 1 message in its own outbox until the broker has acknowledged it, so a setpoint
//! queued while the broker is away (absent at start, restarted mid-session) is delivered
//! when it comes back. [`SetpointPublisher`] speaks the versioned topic and payload schema of
//! [`schema`] (documented in `connectors/README.md`).

mod link;
mod publisher;
pub mod schema;
mod tls;

pub use link::{LinkOptions, LinkStatus, MqttLink, ReceivedMessage};
pub use publisher::SetpointPublisher;
pub use schema::{
    GridStatusMessage, RequestsMessage, ScheduleMessage, ScheduleSeries, SetpointMessage,
    StatusMessage, TelemetryMessage, TenantRequest, Topics, SCHEMA_VERSION,
};
