//! MQTT brokers for the tests, all on 127.0.0.1.
//!
//! - [`TestBroker::start`]: the broker named by `AEMS_TEST_MQTT=host:port` if set (CI runs
//!   the MQTT tests a second time against mosquitto), else rumqttd embedded in this process
//!   (its `start()` blocks forever, so it runs on its own thread).
//! - [`RestartableBroker`]: a broker in a child process that a test can kill and start
//!   again on the same port: mosquitto when `AEMS_TEST_MQTT` is set and `mosquitto` is
//!   installed, else this test binary re-run as a rumqttd broker (see `broker_child`).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound, noted, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// rumqttd's configuration for one v4 listener on 127.0.0.1:`port`, with optional
/// user → password pairs.
pub fn rumqttd_config(port: u16, auth: Option<HashMap<String, String>>) -> rumqttd::Config {
    let mut text = format!(
        r#"
id = 0
[router]
max_connections = 100
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1

[v4.1.connections]
connection_timeout_ms = 5000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
"#
    );
    if let Some(auth) = auth {
        text.push_str("\n[v4.1.connections.auth]\n");
        for (u, p) in auth {
            text.push_str(&format!("{u} = \"{p}\"\n"));
        }
    }
    toml::from_str(&text).expect("rumqttd config")
}

/// Runs rumqttd with a TLS listener (rustls; server certificate and key as PEM files, no
/// client certificates) on 127.0.0.1:`port` on its own thread.
pub fn spawn_rumqttd_tls(port: u16, cert: &std::path::Path, key: &std::path::Path) {
    let mut config = rumqttd_config(port, None);
    if let Some(v4) = config.v4.as_mut() {
        for s in v4.values_mut() {
            s.tls = Some(rumqttd::TlsConfig::Rustls {
                capath: None,
                certpath: cert.display().to_string(),
                keypath: key.display().to_string(),
            });
        }
    }
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(config);
        if let Err(e) = broker.start() {
            eprintln!("rumqttd stopped: {e}");
        }
    });
    wait_listening(port);
}

/// Runs rumqttd on 127.0.0.1:`port` on its own thread (for the life of the process).
pub fn spawn_rumqttd(port: u16, auth: Option<HashMap<String, String>>) {
    let config = rumqttd_config(port, auth);
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(config);
        if let Err(e) = broker.start() {
            eprintln!("rumqttd stopped: {e}");
        }
    });
    wait_listening(port);
}

/// Waits (at most 10 s) until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no broker listening on {addr}");
}

/// The broker a test talks to.
pub struct TestBroker {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `embedded rumqttd` or `external <addr>`.
    pub kind: String,
}

impl TestBroker {
    /// `AEMS_TEST_MQTT`'s broker, or a new embedded rumqttd.
    pub fn start() -> Self {
        if let Ok(addr) = std::env::var("AEMS_TEST_MQTT") {
            let (host, port) = addr
                .rsplit_once(':')
                .expect("AEMS_TEST_MQTT must be host:port");
            return Self {
                host: host.to_string(),
                port: port.parse().expect("AEMS_TEST_MQTT port"),
                kind: format!("external {addr}"),
            };
        }
        let port = free_port();
        spawn_rumqttd(port, None);
        Self {
            host: "127.0.0.1".into(),
            port,
            kind: "embedded rumqttd".into(),
        }
    }
}

/// A broker in a child process, killed on drop.
pub struct RestartableBroker {
    /// Port (kept across restarts).
    pub port: u16,
    child: Option<Child>,
    conf: Option<tempfile::NamedTempFile>,
}

/// Whether restartable brokers are mosquitto processes.
fn use_mosquitto() -> bool {
    std::env::var("AEMS_TEST_MQTT").is_ok()
        && Command::new("mosquitto")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

impl RestartableBroker {
    /// Starts a broker on a free port.
    pub fn start() -> Self {
        let mut b = Self {
            port: free_port(),
            child: None,
            conf: None,
        };
        b.spawn();
        b
    }

    /// A broker that is not running yet (for "broker absent at start").
    pub fn not_started() -> Self {
        Self {
            port: free_port(),
            child: None,
            conf: None,
        }
    }

    /// `mosquitto` or `rumqttd`.
    pub fn kind(&self) -> &'static str {
        if use_mosquitto() {
            "mosquitto"
        } else {
            "rumqttd"
        }
    }

    /// Starts it (again) on its port.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = if use_mosquitto() {
            let mut conf = tempfile::NamedTempFile::new().unwrap();
            use std::io::Write;
            writeln!(
                conf,
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence false",
                self.port
            )
            .unwrap();
            let c = Command::new("mosquitto")
                .arg("-c")
                .arg(conf.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("mosquitto");
            self.conf = Some(conf);
            c
        } else {
            Command::new(std::env::current_exe().unwrap())
                .args(["broker_child", "--exact", "--ignored", "--nocapture"])
                .env("AEMS_BROKER_CHILD_PORT", self.port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("broker child")
        };
        self.child = Some(child);
        wait_listening(self.port);
    }

    /// Kills it (no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RestartableBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Body of the `broker_child` test: when `AEMS_BROKER_CHILD_PORT` is set (by
/// [`RestartableBroker`]), runs rumqttd on that port until killed.
pub fn broker_child() {
    let Ok(port) = std::env::var("AEMS_BROKER_CHILD_PORT") else {
        return;
    };
    let port: u16 = port.parse().unwrap();
    let mut broker = rumqttd::Broker::new(rumqttd_config(port, None));
    let _ = broker.start();
}
