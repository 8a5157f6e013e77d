//! [`SetpointPublisher`]: setpoints and the schedule, in the schema of [`super::schema`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::schema::{ScheduleMessage, SetpointMessage};
use super::MqttLink;
use crate::setpoint::Setpoint;

/// Publishes setpoints (`aems/v1/<district>/<asset>/setpoint/<quantity>`) and the whole
/// schedule (`aems/v1/<district>/schedule`), QoS 1, retained, through an [`MqttLink`]
/// (queued until the broker acknowledges them).
#[derive(Debug, Clone)]
pub struct SetpointPublisher {
    link: Arc<MqttLink>,
}

impl SetpointPublisher {
    /// A publisher over `link`.
    pub fn new(link: Arc<MqttLink>) -> Self {
        Self { link }
    }

    /// The link.
    pub fn link(&self) -> &MqttLink {
        &self.link
    }

    /// Queues one setpoint, valid until `valid_until` if given.
    pub fn publish_setpoint(&self, sp: &Setpoint, valid_until: Option<DateTime<Utc>>) {
        let msg = SetpointMessage::new(sp, Utc::now(), valid_until);
        let topic = self.link.topics().setpoint(&sp.asset, &sp.quantity);
        tracing::info!(target: "aems::mqtt", %topic, value = sp.value, unit = %sp.unit, "setpoint queued");
        self.link
            .publish(topic, serde_json::to_vec(&msg).unwrap_or_default(), true);
    }

    /// Queues the grid connections' status (retained).
    pub fn publish_grid_status(&self, msg: &super::GridStatusMessage) {
        let topic = self.link.topics().grid();
        self.link
            .publish(topic, serde_json::to_vec(msg).unwrap_or_default(), true);
    }

    /// Queues the requests to tenants and residents (retained), on the district's topic or
    /// the message's building's.
    pub fn publish_requests(&self, msg: &super::RequestsMessage) {
        let topic = self.link.topics().requests(msg.building.as_deref());
        self.link
            .publish(topic, serde_json::to_vec(msg).unwrap_or_default(), true);
    }

    /// Queues the whole schedule.
    pub fn publish_schedule(&self, schedule: &ScheduleMessage) {
        let topic = self.link.topics().schedule();
        self.link.publish(
            topic,
            serde_json::to_vec(schedule).unwrap_or_default(),
            true,
        );
    }
}
