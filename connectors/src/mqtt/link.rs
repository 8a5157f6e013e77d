//! [`MqttLink`]: one MQTT connection that reconnects by itself and loses no QoS 1 message.
//!
//! Two tasks: the *connection* task owns a rumqttc event loop and, when the connection
//! fails, drops it and builds a fresh client and event loop after a backoff (so nothing of
//! a dead session lingers in rumqttc's queues); the *coordinator* task owns the outbox.
//! Every QoS 1 message waits in the outbox, in order, until the broker acknowledges it:
//! one message is in flight at a time, and after a reconnection the unacknowledged one is
//! sent again (at least once: a consumer may see a duplicate, never a gap).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, Outgoing, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::schema::{self, StatusMessage, TelemetryMessage, Topics};
use crate::devices::MqttConfig;
use crate::telemetry::{AssetTelemetry, Reading, Source, Telemetry};

/// What a link does besides publishing.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkOptions {
    /// MQTT client id.
    pub client_id: String,
    /// Publish `online` on `aems/v1/<district>/status` at every connection and leave
    /// `offline` as the last will (the engine's link does; a device simulator's does not).
    pub status: bool,
    /// Subscribe to every asset's telemetry topic and keep the latest readings.
    pub telemetry: bool,
    /// Further topic filters to subscribe to (messages arrive on
    /// [`MqttLink::messages`]).
    pub subscribe: Vec<String>,
    /// Capacity of the outbox; beyond it, the oldest message is dropped and logged.
    pub outbox_capacity: usize,
}

impl LinkOptions {
    /// The engine's link: status with last will, telemetry subscription.
    pub fn engine(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            status: true,
            telemetry: true,
            subscribe: Vec::new(),
            outbox_capacity: 10_000,
        }
    }

    /// A plain client (simulator, tests): no status, no telemetry subscription.
    pub fn plain(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            status: false,
            telemetry: false,
            subscribe: Vec::new(),
            outbox_capacity: 10_000,
        }
    }
}

/// The link's state, as [`MqttLink::status`] reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStatus {
    /// Connected to the broker now.
    pub connected: bool,
    /// Connections made so far (a reconnection counts).
    pub connections: u64,
    /// Messages acknowledged by the broker.
    pub delivered: u64,
    /// Messages waiting in the outbox (including the one in flight).
    pub pending: usize,
    /// The last connection error.
    pub last_error: Option<String>,
}

/// A message received on a subscribed topic.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retained flag as delivered by the broker.
    pub retain: bool,
}

#[derive(Debug)]
struct OutMessage {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

#[derive(Debug)]
enum Cmd {
    Publish(OutMessage),
    PublishQos0(String, Vec<u8>),
    Subscribe(String),
    Close(oneshot::Sender<()>),
}

#[derive(Debug)]
enum Ev {
    NewClient(AsyncClient),
    Event(Event),
    Error(String),
}

/// One MQTT connection (see the module doc).
#[derive(Debug)]
pub struct MqttLink {
    topics: Topics,
    client_id: String,
    cmd: mpsc::UnboundedSender<Cmd>,
    status: watch::Receiver<LinkStatus>,
    telemetry: Arc<Mutex<Telemetry>>,
    messages: broadcast::Sender<ReceivedMessage>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl MqttLink {
    /// Starts a link to the broker of `config` for `district`. It returns at once and
    /// connects in the background (a broker that is absent now is retried with backoff);
    /// only a configuration that cannot work (TLS files, password variable) is an error.
    pub fn start(
        config: &MqttConfig,
        district: &str,
        options: LinkOptions,
    ) -> Result<Self, String> {
        let topics = Topics::new(district);
        let mut mqtt = MqttOptions::new(&options.client_id, &config.host, config.port);
        mqtt.set_keep_alive(Duration::from_secs(config.keep_alive_s.max(1)));
        mqtt.set_clean_session(true);
        mqtt.set_max_packet_size(1 << 20, 1 << 20);
        if let Some(user) = &config.username {
            let password = config.resolve_password()?.unwrap_or_default();
            mqtt.set_credentials(user, password);
        } else if config.resolve_password()?.is_some() {
            return Err("mqtt: a password without a username".into());
        }
        if let Some(tls) = &config.tls {
            let cfg = super::tls::client_config(tls).map_err(|e| format!("mqtt tls: {e}"))?;
            mqtt.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(cfg),
            )));
        }
        if options.status {
            let will = StatusMessage::offline(&options.client_id, None);
            mqtt.set_last_will(LastWill::new(
                topics.status(),
                serde_json::to_vec(&will).unwrap_or_default(),
                QoS::AtLeastOnce,
                true,
            ));
        }
        let mut subscriptions = options.subscribe.clone();
        if options.telemetry {
            subscriptions.push(topics.all_telemetry());
            for m in &config.subscribe {
                subscriptions.push(m.topic.clone());
            }
        }
        let mapped: BTreeMap<String, crate::devices::TopicMapping> = config
            .subscribe
            .iter()
            .map(|m| (m.topic.clone(), m.clone()))
            .collect();

        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (status_tx, status_rx) = watch::channel(LinkStatus::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (msg_tx, _) = broadcast::channel(1024);
        let telemetry = Arc::new(Mutex::new(Telemetry::new()));
        let reconnect_max = Duration::from_millis(config.reconnect_max_ms.max(100));

        let conn_task = tokio::spawn(connection_task(mqtt, ev_tx, stop_rx, reconnect_max));
        let coord = Coordinator {
            topics: topics.clone(),
            options,
            subscriptions,
            mapped,
            client: None,
            connected: false,
            outbox: VecDeque::new(),
            inflight: None,
            status: status_tx,
            telemetry: telemetry.clone(),
            messages: msg_tx.clone(),
            closing: None,
        };
        let client_id = coord.options.client_id.clone();
        let coord_task = tokio::spawn(coord.run(cmd_rx, ev_rx));
        Ok(Self {
            topics,
            client_id,
            cmd: cmd_tx,
            status: status_rx,
            telemetry,
            messages: msg_tx,
            tasks: vec![conn_task, coord_task],
            stop: stop_tx,
        })
    }

    /// The district's topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The MQTT client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The link's state now.
    pub fn status(&self) -> LinkStatus {
        self.status.borrow().clone()
    }

    /// Waits until connected, at most `timeout`; whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.status.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| s.connected))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Queues a QoS 1 message; it stays queued (across reconnections) until the broker
    /// acknowledges it.
    pub fn publish(&self, topic: impl Into<String>, payload: impl Into<Vec<u8>>, retain: bool) {
        let _ = self.cmd.send(Cmd::Publish(OutMessage {
            topic: topic.into(),
            payload: payload.into(),
            retain,
        }));
    }

    /// Publishes telemetry at QoS 0: sent if connected, dropped otherwise (a newer reading
    /// follows).
    pub fn publish_telemetry_raw(&self, topic: &str, payload: String) {
        let _ = self
            .cmd
            .send(Cmd::PublishQos0(topic.to_string(), payload.into_bytes()));
    }

    /// Subscribes to a further topic filter (kept across reconnections).
    pub fn subscribe(&self, filter: impl Into<String>) {
        let _ = self.cmd.send(Cmd::Subscribe(filter.into()));
    }

    /// Messages received on subscribed topics.
    pub fn messages(&self) -> broadcast::Receiver<ReceivedMessage> {
        self.messages.subscribe()
    }

    /// The latest telemetry received from every asset (engine links).
    pub fn telemetry(&self) -> Telemetry {
        self.telemetry
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Messages not yet acknowledged by the broker.
    pub fn pending(&self) -> usize {
        self.status.borrow().pending
    }

    /// Waits until every queued message is acknowledged, at most `timeout`; whether it is.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let mut rx = self.status.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| s.pending == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Closes cleanly: publishes `offline` (status links), waits for the outbox to drain
    /// (at most `timeout`), and disconnects.
    pub async fn close(mut self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(timeout, rx).await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_millis(500), t).await;
        }
    }

    /// Drops the connection at once, without a DISCONNECT packet: the broker then
    /// publishes the last will. (What a crash looks like, for tests.)
    pub fn kill(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for MqttLink {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Connects, polls, and on any error drops the event loop and starts afresh after a
/// backoff (100 ms doubling up to `reconnect_max`, reset by a successful connection).
async fn connection_task(
    options: MqttOptions,
    ev: mpsc::UnboundedSender<Ev>,
    mut stop: watch::Receiver<bool>,
    reconnect_max: Duration,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let (client, mut eventloop): (AsyncClient, EventLoop) =
            AsyncClient::new(options.clone(), 64);
        eventloop.network_options.set_connection_timeout(5);
        if ev.send(Ev::NewClient(client)).is_err() {
            return;
        }
        loop {
            let polled = tokio::select! {
                r = eventloop.poll() => r,
                _ = stop.changed() => return,
            };
            match polled {
                Ok(e) => {
                    if matches!(e, Event::Incoming(Incoming::ConnAck(_))) {
                        backoff = Duration::from_millis(100);
                    }
                    let bye = matches!(e, Event::Outgoing(Outgoing::Disconnect));
                    if ev.send(Ev::Event(e)).is_err() || bye {
                        return;
                    }
                }
                Err(e) => {
                    let msg = describe(&e);
                    if ev.send(Ev::Error(msg)).is_err() {
                        return;
                    }
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(reconnect_max);
    }
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => {
            format!("broker refused the connection: {code:?}")
        }
        other => other.to_string(),
    }
}

struct Coordinator {
    topics: Topics,
    options: LinkOptions,
    subscriptions: Vec<String>,
    mapped: BTreeMap<String, crate::devices::TopicMapping>,
    client: Option<AsyncClient>,
    connected: bool,
    outbox: VecDeque<OutMessage>,
    /// The message at the front of the outbox is in flight: `Some(None)` sent, packet id
    /// not yet seen; `Some(Some(pkid))` awaiting its PubAck.
    inflight: Option<Option<u16>>,
    status: watch::Sender<LinkStatus>,
    telemetry: Arc<Mutex<Telemetry>>,
    messages: broadcast::Sender<ReceivedMessage>,
    closing: Option<oneshot::Sender<()>>,
}

impl Coordinator {
    async fn run(
        mut self,
        mut cmd: mpsc::UnboundedReceiver<Cmd>,
        mut ev: mpsc::UnboundedReceiver<Ev>,
    ) {
        loop {
            tokio::select! {
                e = ev.recv() => match e {
                    Some(e) => self.on_event(e),
                    None => break,
                },
                c = cmd.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => break,
                },
            }
            self.send_next();
            self.finish_close();
            self.publish_status();
        }
        if let Some(tx) = self.closing.take() {
            let _ = tx.send(());
        }
    }

    fn on_event(&mut self, e: Ev) {
        match e {
            Ev::NewClient(c) => {
                self.client = Some(c);
                self.connected = false;
                self.inflight = None;
            }
            Ev::Error(msg) => {
                if self.connected {
                    tracing::warn!(target: "aems::mqtt", client = %self.options.client_id, "connection lost: {msg}");
                } else {
                    tracing::debug!(target: "aems::mqtt", client = %self.options.client_id, "cannot connect: {msg}");
                }
                self.connected = false;
                self.inflight = None;
                self.status.send_modify(|s| {
                    s.connected = false;
                    s.last_error = Some(msg);
                });
            }
            Ev::Event(Event::Incoming(Incoming::ConnAck(_))) => {
                self.connected = true;
                self.inflight = None;
                tracing::info!(target: "aems::mqtt", client = %self.options.client_id, pending = self.outbox.len(), "connected");
                if let Some(c) = &self.client {
                    for f in &self.subscriptions {
                        if let Err(e) = c.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                            tracing::warn!(target: "aems::mqtt", "subscribe {f}: {e}");
                        }
                    }
                }
                if self.options.status && self.closing.is_none() {
                    let online = StatusMessage::online(&self.options.client_id);
                    self.outbox.push_front(OutMessage {
                        topic: self.topics.status(),
                        payload: serde_json::to_vec(&online).unwrap_or_default(),
                        retain: true,
                    });
                }
                self.status.send_modify(|s| {
                    s.connected = true;
                    s.connections += 1;
                });
            }
            Ev::Event(Event::Outgoing(Outgoing::Publish(pkid))) => {
                if pkid != 0 && self.inflight == Some(None) {
                    self.inflight = Some(Some(pkid));
                }
            }
            Ev::Event(Event::Incoming(Incoming::PubAck(ack))) => {
                if self.inflight == Some(Some(ack.pkid)) {
                    self.inflight = None;
                    self.outbox.pop_front();
                    self.status.send_modify(|s| s.delivered += 1);
                }
            }
            Ev::Event(Event::Incoming(Incoming::Publish(p))) => {
                let topic = p.topic.clone();
                self.on_message(&topic, &p.payload);
                let _ = self.messages.send(ReceivedMessage {
                    topic,
                    payload: p.payload.to_vec(),
                    retain: p.retain,
                });
            }
            Ev::Event(_) => {}
        }
    }

    fn on_command(&mut self, c: Cmd) {
        match c {
            Cmd::Publish(m) => {
                if self.outbox.len() >= self.options.outbox_capacity.max(1) {
                    // Keep the one in flight; drop the oldest queued after it.
                    let at = usize::from(self.inflight.is_some());
                    if let Some(old) = self.outbox.remove(at) {
                        tracing::error!(target: "aems::mqtt", topic = %old.topic, "outbox full: oldest queued message dropped");
                    }
                }
                self.outbox.push_back(m);
            }
            Cmd::PublishQos0(topic, payload) => {
                if let (true, Some(c)) = (self.connected, &self.client) {
                    let _ = c.try_publish(topic, QoS::AtMostOnce, false, payload);
                }
            }
            Cmd::Subscribe(f) => {
                if let (true, Some(c)) = (self.connected, &self.client) {
                    let _ = c.try_subscribe(f.clone(), QoS::AtLeastOnce);
                }
                self.subscriptions.push(f);
            }
            Cmd::Close(tx) => {
                if self.options.status {
                    let off = StatusMessage::offline(&self.options.client_id, Some(Utc::now()));
                    self.outbox.push_back(OutMessage {
                        topic: self.topics.status(),
                        payload: serde_json::to_vec(&off).unwrap_or_default(),
                        retain: true,
                    });
                }
                self.closing = Some(tx);
            }
        }
    }

    fn send_next(&mut self) {
        if !self.connected || self.inflight.is_some() {
            return;
        }
        let (Some(c), Some(m)) = (&self.client, self.outbox.front()) else {
            return;
        };
        match c.try_publish(
            m.topic.clone(),
            QoS::AtLeastOnce,
            m.retain,
            m.payload.clone(),
        ) {
            Ok(()) => self.inflight = Some(None),
            Err(e) => tracing::debug!(target: "aems::mqtt", "publish deferred: {e}"),
        }
    }

    fn finish_close(&mut self) {
        if self.closing.is_some() && (self.outbox.is_empty() || !self.connected) {
            if let Some(c) = &self.client {
                let _ = c.try_disconnect();
            }
            if let Some(tx) = self.closing.take() {
                let _ = tx.send(());
            }
        }
    }

    fn publish_status(&self) {
        let pending = self.outbox.len();
        self.status.send_if_modified(|s| {
            let changed = s.pending != pending;
            s.pending = pending;
            changed
        });
    }

    /// Keeps the latest telemetry of assets (schema topics and mapped topics).
    fn on_message(&self, topic: &str, payload: &[u8]) {
        if !self.options.telemetry {
            return;
        }
        let entry = if let Some(asset) = self.topics.telemetry_asset(topic) {
            match schema::parse::<TelemetryMessage>(payload) {
                Ok(m) if m.asset == asset => AssetTelemetry {
                    asset: m.asset,
                    time: m.time,
                    source: Source::Mqtt {
                        topic: topic.into(),
                    },
                    values: m.values,
                    error: None,
                },
                Ok(m) => {
                    tracing::warn!(target: "aems::mqtt", %topic, "telemetry of '{}' on the topic of '{asset}': ignored", m.asset);
                    return;
                }
                Err(e) => {
                    tracing::warn!(target: "aems::mqtt", %topic, "bad telemetry payload: {e}");
                    return;
                }
            }
        } else if let Some(m) = self.mapped.get(topic) {
            let Some(value) = parse_number(payload) else {
                tracing::warn!(target: "aems::mqtt", %topic, "payload is not a number: ignored");
                return;
            };
            let mut values = BTreeMap::new();
            values.insert(m.quantity.clone(), Reading::new(Some(value), &m.unit));
            AssetTelemetry {
                asset: m.asset.clone(),
                time: Utc::now(),
                source: Source::Mqtt {
                    topic: topic.into(),
                },
                values,
                error: None,
            }
        } else {
            return;
        };
        let mut t = self.telemetry.lock().unwrap_or_else(|p| p.into_inner());
        match t.assets.get_mut(&entry.asset) {
            Some(a) => {
                a.values.extend(entry.values);
                a.time = a.time.max(entry.time);
                a.source = entry.source;
            }
            None => {
                t.assets.insert(entry.asset.clone(), entry);
            }
        }
        t.time = Utc::now();
    }
}

/// A number from a payload: plain text, a JSON number, or a JSON object's `value`.
fn parse_number(payload: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    if let Ok(v) = text.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    json.as_f64()
        .or_else(|| json.get("value").and_then(|v| v.as_f64()))
        .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_from_payloads() {
        assert_eq!(parse_number(b"26.5"), Some(26.5));
        assert_eq!(parse_number(b" 3 "), Some(3.0));
        assert_eq!(parse_number(br#"{"value": 1.5, "unit": "kW"}"#), Some(1.5));
        assert_eq!(parse_number(b"on"), None);
        assert_eq!(parse_number(b"NaN"), None);
    }
}
