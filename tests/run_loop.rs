//! `aems run` end to end: the real binary in simulated time against the device simulator
//! (Modbus TCP on 127.0.0.1, in the loop's process, in lockstep with its clock), a real
//! MQTT broker (embedded rumqttd, a restartable child broker, or `AEMS_TEST_MQTT`), the
//! SQLite store and the HTTP interface. Every wait is bounded; children are killed on drop.

#[path = "../connectors/tests/common/broker.rs"]
#[allow(dead_code)]
mod broker;
#[path = "common/browser.rs"]
mod browser;
#[path = "common/postgres.rs"]
mod postgres_server;
#[path = "common/vtn.rs"]
mod vtn;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connectors::mqtt::LinkOptions;
use connectors::{DevicesConfig, MqttLink};
use rusqlite::Connection;

/// Bound on any one wait.
const LIMIT: Duration = Duration::from_secs(300);

/// Re-run by `RestartableBroker` as a broker process; does nothing in a normal run.
#[test]
#[ignore = "helper: runs a broker when AEMS_BROKER_CHILD_PORT is set"]
fn broker_child() {
    broker::broker_child();
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario() -> PathBuf {
    root().join("scenarios/gate_square/scenario.toml")
}

/// The bundled devices file on free ports, with the broker at `mqtt_port` (or none), a
/// district id of its own (tests may share an external broker).
fn devices_file(dir: &Path, district: &str, mqtt: Option<(&str, u16)>) -> PathBuf {
    devices_file_with(dir, district, mqtt, "")
}

/// The same, with `modbus` replacing the `[modbus]` timing lines.
fn devices_file_with(
    dir: &Path,
    district: &str,
    mqtt: Option<(&str, u16)>,
    modbus: &str,
) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/gate_square/devices.toml")).unwrap();
    let (a, b) = (broker::free_port(), broker::free_port());
    let mut out = String::new();
    let mut in_mqtt = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_mqtt = t == "[mqtt]";
        }
        let line = match t {
            "id = \"gate_square\"" => format!("id = \"{district}\""),
            "port = 15020" => format!("port = {a}"),
            "port = 15021" => format!("port = {b}"),
            "timeout_ms = 1000" if !modbus.is_empty() => modbus.to_string(),
            "retries = 2" | "backoff_ms = 100" if !modbus.is_empty() => String::new(),
            _ if in_mqtt && t.starts_with("port =") => {
                format!("port = {}", mqtt.map(|m| m.1).unwrap_or(1))
            }
            _ if in_mqtt && t.starts_with("host =") => {
                format!("host = \"{}\"", mqtt.map(|m| m.0).unwrap_or("127.0.0.1"))
            }
            _ if in_mqtt && t.starts_with("client_id =") => {
                format!("client_id = \"aems-{district}\"")
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    if mqtt.is_none() {
        out = out.replace("[mqtt]\n", "[unused_mqtt]\n");
        // Drop the table entirely: keys under it would be unknown.
        let start = out.find("[unused_mqtt]").unwrap();
        let end = out[start..].find("[[device]]").unwrap() + start;
        out.replace_range(start..end, "");
    }
    let p = dir.join("devices.toml");
    std::fs::write(&p, out).unwrap();
    DevicesConfig::load(&p).expect("test devices file");
    p
}

/// A run config: the bundled run.toml's planning settings, simulated, store in `dir`.
/// (`extra` may name another `store`.)
fn run_config(dir: &Path, extra: &str) -> PathBuf {
    let store = if extra.contains("store =") {
        ""
    } else {
        "store = \"store.sqlite\"\n"
    };
    let text = format!(
        "cadence_min = 15\nstep_minutes = 15\nhorizon_h = 12.0\ndeadline_s = 30.0\nmip_gap = 1e-4\n\
         clock = \"simulated\"\n{store}http = \"127.0.0.1:0\"\n{extra}\n\
         [simulator]\nenabled = true\n"
    );
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `aems run` as a child process; killed on drop.
struct Aems {
    child: Child,
    http: String,
    log: PathBuf,
}

impl Aems {
    fn start(dir: &Path, devices: &Path, config: &Path, args: &[&str]) -> Self {
        Self::start_scenario(&scenario(), dir, devices, config, args)
    }

    fn start_scenario(
        scenario: &Path,
        dir: &Path,
        devices: &Path,
        config: &Path,
        args: &[&str],
    ) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = dir.join(format!("aems-{n}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_aems"))
            .arg("run")
            .arg("--scenario")
            .arg(scenario)
            .arg("--devices")
            .arg(devices)
            .arg("--config")
            .arg(config)
            .args(args)
            .env(
                "RUST_LOG",
                "info,aems::write=warn,rumqttc=error,tokio_modbus=warn",
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("aems run");
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(a) = l
                    .strip_prefix("aems run: http://")
                    .or_else(|| l.strip_prefix("aems run: https://"))
                {
                    let _ = tx.send(a.to_string());
                }
            }
        });
        let http = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "aems run did not start; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Self { child, http, log }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.http, path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn json(&self, path: &str) -> serde_json::Value {
        let (code, body) = self.get(path);
        assert!(code == 200, "GET {path}: {code} {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Polls /health until `cycles` cycles have run.
    fn wait_cycles(&mut self, cycles: u64) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "aems run exited ({status}) before {cycles} cycles; log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok((200, body)) = http_get(&self.http, "/health") {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                if v["cycles"].as_u64().unwrap_or(0) >= cycles {
                    return v;
                }
            }
            assert!(
                t0.elapsed() < LIMIT,
                "{cycles} cycles not reached in time; log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the end of the run; its exit status must be success.
    fn wait_end(&mut self) {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "aems run failed ({status}); log:\n{}",
                    self.log_tail()
                );
                return;
            }
            assert!(
                t0.elapsed() < LIMIT,
                "aems run did not end in time; log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Aems {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let (head, body) = buf.split_once("\r\n\r\n").ok_or("no header end")?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    Ok((code, body.to_string()))
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("store.sqlite")).unwrap()
}

/// Where a test's run keeps its history: the SQLite file in its directory, or a PostgreSQL
/// database of its own.
#[derive(Clone)]
enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// The `store = …` line of the run's settings.
    fn setting(&self) -> String {
        match self {
            Backend::Sqlite => "store = \"store.sqlite\"\n".into(),
            Backend::Postgres(url) => format!("store = \"{url}\"\n"),
        }
    }

    /// The run's history, read through the store as `aems run` writes it.
    fn open(&self, dir: &Path) -> store::Store {
        store::Store::open(&match self {
            Backend::Sqlite => store::Location::Sqlite(dir.join("store.sqlite")),
            Backend::Postgres(url) => store::Location::Postgres(url.clone()),
        })
        .unwrap()
    }
}

/// The first column of the first row, as an integer (the count of a `COUNT(*)`).
fn n(s: &store::Store, sql: &str) -> i64 {
    s.scalar(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:#}"))
        .unwrap_or_else(|| panic!("{sql}: NULL")) as i64
}

/// The last KPIs the run stored.
fn last_kpis(s: &store::Store) -> serde_json::Value {
    let rows = s
        .query("SELECT json FROM kpis ORDER BY cycle_id DESC LIMIT 1")
        .unwrap();
    serde_json::from_str(&rows[0][0].as_text().unwrap()).unwrap()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn kpis(c: &Connection) -> serde_json::Value {
    let j: String = c
        .query_row(
            "SELECT json FROM kpis ORDER BY cycle_id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&j).unwrap()
}

/// Every JSON payload received on `topic` of the broker `b`, in order.
fn collect_json(
    rt: &tokio::runtime::Runtime,
    b: &broker::TestBroker,
    district: &str,
    topic: &str,
) -> (Arc<MqttLink>, Arc<Mutex<Vec<serde_json::Value>>>) {
    let cfg: connectors::MqttConfig = toml::from_str(&format!(
        "host = \"{}\"\nport = {}\nreconnect_max_ms = 200\n",
        b.host, b.port
    ))
    .unwrap();
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let _guard = rt.enter();
    let mut opts = LinkOptions::plain(format!("test-{}", topic.replace(['/', '+', '#'], "-")));
    opts.subscribe.push(topic.to_string());
    let link = Arc::new(MqttLink::start(&cfg, district, opts).unwrap());
    let mut rx = link.messages();
    let sink = got.clone();
    rt.spawn(async move {
        while let Ok(m) = rx.recv().await {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&m.payload) {
                sink.lock().unwrap().push(v);
            }
        }
    });
    (link, got)
}

/// Counts setpoint messages received on the district's topics.
fn subscribe(
    host: &str,
    port: u16,
    district: &str,
    rt: &tokio::runtime::Runtime,
) -> (Arc<MqttLink>, Arc<Mutex<u64>>) {
    let cfg: connectors::MqttConfig = toml::from_str(&format!(
        "host = \"{host}\"\nport = {port}\nreconnect_max_ms = 200\n"
    ))
    .unwrap();
    let _guard = rt.enter();
    let mut opts = LinkOptions::plain(format!("test-sub-{district}"));
    opts.subscribe
        .push(format!("aems/v1/{district}/+/setpoint/#"));
    let link = Arc::new(MqttLink::start(&cfg, district, opts).unwrap());
    let n = Arc::new(Mutex::new(0u64));
    let mut rx = link.messages();
    let n2 = n.clone();
    rt.spawn(async move {
        while let Ok(m) = rx.recv().await {
            if m.topic.contains("/setpoint/") {
                *n2.lock().unwrap() += 1;
            }
        }
    });
    (link, n)
}

/// A setpoint the plan asks beyond a device's limits reaches MQTT as what the device was
/// given and holds (the clamped value confirmed by read-back), never as the request: the hub
/// battery's device limits are narrowed to ±40 kW, a subscriber on the broker keeps every
/// value published for it, and they are exactly the values written to it over Modbus.
#[test]
fn mqtt_carries_what_the_devices_hold_not_the_requests() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = broker::TestBroker::start();
    let district = format!("gs_held_{}", std::process::id());
    let (_sub, got) = collect_json(
        &rt,
        &b,
        &district,
        &format!("aems/v1/{district}/hub_bat/setpoint/power_kw"),
    );
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), &district, Some((&b.host, b.port)));
    let text = std::fs::read_to_string(&devices).unwrap();
    let narrowed = text.replace(
        "limits = { power_kw = [-820.0, 820.0] }",
        "limits = { power_kw = [-40.0, 40.0] }",
    );
    assert_ne!(text, narrowed, "the hub battery's limits line moved");
    std::fs::write(&devices, narrowed).unwrap();
    let config = run_config(dir.path(), "speed = 0.0\nduration_h = 12.0\n");
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_end();
    let c = db(dir.path());
    let clamped = count(
        &c,
        "SELECT COUNT(*) FROM setpoints WHERE asset = 'hub_bat' AND quantity = 'power_kw'
         AND channel = 'modbus' AND clamped IS NOT NULL AND ABS(requested) > 40.5",
    );
    assert!(
        clamped > 0,
        "the plan never asked the hub battery beyond its limits"
    );
    // Per cycle: what was published over MQTT and what was written over Modbus before it
    // (the release at the end, filed under the last cycle, is not a setpoint).
    let mut q = c
        .prepare(
            "SELECT m.requested, w.written, w.requested FROM setpoints m JOIN setpoints w
             ON w.cycle_id = m.cycle_id AND w.asset = m.asset AND w.quantity = m.quantity
             AND w.channel = 'modbus' AND w.confirmed = 1 AND w.id < m.id
             WHERE m.channel = 'mqtt' AND m.asset = 'hub_bat' AND m.quantity = 'power_kw'
             ORDER BY m.id, w.id",
        )
        .unwrap();
    let rows: Vec<(f64, f64, f64)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(rows.len() >= 40, "{} cycles published", rows.len());
    for (published, written, _) in &rows {
        assert_eq!(published, written, "MQTT against what the device received");
        assert!(written.abs() <= 40.0, "{written}");
    }
    assert!(
        rows.iter()
            .any(|(p, _, asked)| asked.abs() > 40.5 && p.abs() == 40.0),
        "no clamped setpoint published"
    );
    // ... and the subscriber received exactly the published values, in order.
    let published: Vec<f64> = c
        .prepare(
            "SELECT requested FROM setpoints WHERE channel = 'mqtt' AND asset = 'hub_bat'
             AND quantity = 'power_kw' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let t0 = Instant::now();
    let values = || -> Vec<f64> {
        got.lock()
            .unwrap()
            .iter()
            .map(|v| v["value"].as_f64().unwrap())
            .collect()
    };
    while values().len() < published.len() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(values(), published);
}

/// A cycle the store cannot record sends nothing and says so: while another connection
/// holds the SQLite database's write lock (longer than the store's 5 s busy timeout), the
/// loop's cycles fail to begin, are logged and counted, and file no audit row under a cycle
/// that does not exist; the loop goes on once the lock is released.
#[test]
fn a_cycle_the_store_cannot_record_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_store", None);
    // One 15-minute cycle per real second.
    let config = run_config(dir.path(), "speed = 900.0\nduration_h = 4.0\n");
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_cycles(2);
    {
        let c = db(dir.path());
        c.execute_batch("BEGIN EXCLUSIVE").unwrap();
        std::thread::sleep(Duration::from_secs(7));
        c.execute_batch("COMMIT").unwrap();
    }
    aems.wait_end();
    let log = std::fs::read_to_string(&aems.log).unwrap();
    let failed = log.matches("cannot record the cycle").count();
    assert!(
        failed >= 1,
        "no cycle failed to begin; log:\n{}",
        aems.log_tail()
    );
    let c = db(dir.path());
    let cycles = count(&c, "SELECT COUNT(*) FROM cycles");
    assert!((8..17).contains(&cycles), "{cycles} cycles recorded");
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM setpoints WHERE cycle_id NOT IN (SELECT id FROM cycles)"
        ),
        0,
        "audit rows filed under no cycle"
    );
}

#[test]
fn two_simulated_days_cost_less_under_the_loop_than_without_it() {
    two_simulated_days(Backend::Sqlite);
}

/// The same end to end with the run's history in PostgreSQL (the server `.ci/run` starts).
#[test]
fn postgres_two_simulated_days_cost_less_under_the_loop_than_without_it() {
    if let Some(url) = postgres_server::database("e2e") {
        two_simulated_days(Backend::Postgres(url));
    }
}

fn two_simulated_days(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = broker::TestBroker::start();
    let district = format!("gs_e2e_{}", std::process::id());
    let (_sub, received) = subscribe(&b.host, b.port, &district, &rt);

    // The loop in control, two simulated days (192 cycles of 15 minutes).
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), &district, Some((&b.host, b.port)));
    let config = run_config(
        dir.path(),
        &format!("{}speed = 0.0\nduration_h = 48.0\n", backend.setting()),
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    // The operator's interface while it runs.
    let health = aems.wait_cycles(8);
    assert!(
        matches!(health["status"].as_str(), Some("ok" | "degraded")),
        "{health}"
    );
    let metrics = aems.get("/metrics").1;
    for m in [
        "aems_cycles_total",
        "aems_cycle_seconds_bucket",
        "aems_solve_seconds_count",
        "aems_mip_gap",
        "aems_month_peak_kw",
    ] {
        assert!(metrics.contains(m), "{m} not in /metrics:\n{metrics}");
    }
    let schedule = aems.json("/schedule");
    assert_eq!(schedule["source"], "plan", "{schedule}");
    assert_eq!(schedule["step_minutes"], 15);
    assert!(schedule["series"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["asset"] == "hub_bat" && s["quantity"] == "power_kw"));
    let forecast = aems.json("/forecast");
    assert_eq!(forecast["forecaster"], "perfect");
    assert!(aems
        .json("/kpis")
        .pointer("/district/cost_yen")
        .is_some_and(|v| v.is_f64()));
    assert!(aems
        .json("/setpoints")
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    aems.wait_end();
    let c = backend.open(dir.path());
    let count = n;
    assert_eq!(count(&c, "SELECT COUNT(*) FROM cycles"), 192);
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM cycles WHERE source = 'plan'"),
        192
    );
    // Setpoints reached the devices: every Modbus write confirmed by read-back.
    let writes = count(
        &c,
        "SELECT COUNT(*) FROM setpoints WHERE channel = 'modbus'",
    );
    assert!(writes > 192 * 10, "{writes} writes");
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM setpoints WHERE channel = 'modbus' AND confirmed = 0"
        ),
        0
    );
    // ... and over MQTT, acknowledged by the broker and received by a consumer.
    let mqtt = count(&c, "SELECT COUNT(*) FROM setpoints WHERE channel = 'mqtt'");
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM setpoints WHERE channel = 'mqtt' AND outcome = 'delivered'"
        ),
        mqtt
    );
    let t0 = Instant::now();
    while (*received.lock().unwrap() as i64) < mqtt && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        *received.lock().unwrap() as i64 >= mqtt,
        "{} of {mqtt} MQTT setpoints received",
        received.lock().unwrap()
    );
    // The simulated batteries follow: the power read at each cycle is what the previous
    // cycle asked (plain inverters; a setpoint the energy limits cut short is excluded).
    for bat in ["hub_bat", "retail_b_bat", "hotel_c_bat"] {
        let pairs: Vec<(f64, f64)> = c
            .query(&format!(
                "SELECT s.requested, t.value FROM setpoints s JOIN telemetry t
                 ON t.cycle_id = s.cycle_id + 1 AND t.asset = s.asset AND t.quantity = 'power_kw'
                 WHERE s.asset = '{bat}' AND s.quantity = 'power_kw' AND s.channel = 'modbus'"
            ))
            .unwrap()
            .iter()
            .map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap()))
            .collect();
        assert!(pairs.len() > 150, "{bat}: {} pairs", pairs.len());
        let followed = pairs
            .iter()
            .filter(|(sp, read)| (sp - read).abs() <= 0.5)
            .count();
        assert!(
            followed * 10 >= pairs.len() * 9,
            "{bat}: followed {followed} of {} setpoints",
            pairs.len()
        );
        assert!(
            pairs.iter().any(|(sp, _)| sp.abs() > 50.0),
            "{bat}: never moved"
        );
    }
    assert!(count(&c, "SELECT COUNT(*) FROM intervals") >= 95);
    // Cycles at :15 and :45 start mid-interval: the energy already imported in it (from the
    // meter's counters) entered the demand constraint (0 only where the district imported
    // nothing in that quarter hour).
    let (mut mid, mut at_start) = (0, 0);
    for r in c
        .query("SELECT time, interval_so_far_kwh FROM cycles")
        .unwrap()
    {
        let minute = chrono::Timelike::minute(&r[0].as_time().unwrap());
        let so_far = r[1].as_f64().unwrap_or(0.0);
        match minute {
            15 | 45 if so_far > 0.0 => mid += 1,
            0 | 30 if so_far > 0.0 => at_start += 1,
            _ => {}
        }
    }
    assert!(mid >= 90, "{mid} of 96 mid-interval cycles");
    assert_eq!(at_start, 0);
    let with = last_kpis(&c);

    // The same two days with the loop disabled: every device on its own control.
    let dir2 = tempfile::tempdir().unwrap();
    let devices2 = devices_file(dir2.path(), &format!("{district}_off"), None);
    let config2 = run_config(
        dir2.path(),
        "speed = 0.0\nduration_h = 48.0\nmode = \"observe\"\n",
    );
    let mut off = Aems::start(dir2.path(), &devices2, &config2, &[]);
    off.wait_end();
    let c2 = Backend::Sqlite.open(dir2.path());
    assert_eq!(
        count(&c2, "SELECT COUNT(*) FROM setpoints"),
        0,
        "observe mode writes nothing"
    );
    let without = last_kpis(&c2);
    // The metered KPIs (control::Ledger: engine::kpi's tally and billing).
    let f = |k: &serde_json::Value, key: &str| k.pointer(key).and_then(|v| v.as_f64()).unwrap();
    println!(
        "two days, metered cost (energy + demand + fuel + comfort + CO2): with the loop {:.0} yen (storage-adjusted {:.0}, comfort {:.1} K·h, peak {:.1} kW), without {:.0} yen (comfort {:.1} K·h, peak {:.1} kW)",
        f(&with, "/district/cost_yen"),
        f(&with, "/storage_adjusted_cost_yen"),
        f(&with, "/district/comfort_violation_kh"),
        f(&with, "/month_peak_kw/pcc"),
        f(&without, "/district/cost_yen"),
        f(&without, "/district/comfort_violation_kh"),
        f(&without, "/month_peak_kw/pcc"),
    );
    assert!(f(&with, "/district/cost_yen") < f(&without, "/district/cost_yen"));
    // Also with the batteries' lower final charge at the run's mean price.
    assert!(f(&with, "/storage_adjusted_cost_yen") < f(&without, "/storage_adjusted_cost_yen"));
    // Every cycle's readings were there: nothing skipped.
    assert_eq!(with["skipped"], serde_json::json!({}), "{with}");
}

fn at(h: f64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339("2025-08-04T00:00:00+09:00").unwrap()
        + chrono::Duration::seconds((h * 3600.0) as i64);
    t.to_rfc3339()
}

#[test]
fn faults_broker_restart_silent_device_nan_and_late_solves_are_survived_and_recorded() {
    let mut b = broker::RestartableBroker::start();
    let district = format!("gs_faults_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file_with(
        dir.path(),
        &district,
        Some(("127.0.0.1", b.port)),
        "timeout_ms = 150\nretries = 1\nbackoff_ms = 10",
    );
    let config = run_config(
        dir.path(),
        "speed = 3600.0\nduration_h = 12.0\n\
         [[fault]]\nkind = \"nan\"\nasset = \"pcc\"\nquantity = \"power_kw\"\nfrom_h = 1.0\nuntil_h = 2.0\n\
         [[fault]]\nkind = \"no_response\"\nasset = \"hotel_c_bat\"\nfrom_h = 3.0\nuntil_h = 5.0\n\
         [[fault]]\nkind = \"solve_deadline\"\ndeadline_s = 0.0\nfrom_h = 7.0\nuntil_h = 9.0\n",
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    // The broker goes away at about 00:30 and comes back at about 02:30.
    aems.wait_cycles(2);
    b.kill();
    let down = aems.wait_cycles(10);
    assert_eq!(down["mqtt"]["connected"], false, "{down}");
    assert_eq!(down["status"], "degraded");
    b.spawn();
    let late = aems.wait_cycles(41);
    assert_eq!(late["mqtt"]["connected"], true, "reconnected: {late}");
    assert!(late["mqtt"]["connections"].as_u64().unwrap() >= 2, "{late}");
    let metrics = aems.get("/metrics").1;
    for m in [
        "aems_fallbacks_total{kind=\"previous\"}",
        "aems_fallbacks_total{kind=\"fallback\"}",
        "aems_solve_failures_total{kind=\"deadline\"}",
        "aems_device_errors_total{asset=\"hotel_c_bat\"}",
        "aems_telemetry_flags_total{kind=\"missing\"}",
        // The battery that did not answer: cycles the metered KPIs could not use, counted.
        "aems_kpi_skipped{kind=\"hotel_c_bat/energy_kwh or power_kw\"}",
        "aems_forecast_fallbacks 0",
    ] {
        assert!(metrics.contains(m), "{m} not in /metrics:\n{metrics}");
    }
    aems.wait_end();
    let c = db(dir.path());
    let n = |sql: &str| count(&c, sql);
    // The loop never stopped: 48 cycles.
    assert_eq!(n("SELECT COUNT(*) FROM cycles"), 48);
    // Every setpoint in the audit log is confirmed (read back, or acknowledged by the
    // broker) or flagged.
    assert_eq!(
        n("SELECT COUNT(*) FROM setpoints WHERE confirmed = 0 AND flagged = 0"),
        0
    );
    // Setpoints queued while the broker was away were delivered after it came back.
    let outage = format!("time >= '{}' AND time <= '{}'", at(0.75), at(2.25));
    assert!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE channel = 'mqtt' AND outcome = 'delivered' AND {outage}")) > 0);
    assert_eq!(
        n("SELECT COUNT(*) FROM setpoints WHERE channel = 'mqtt' AND outcome <> 'delivered'"),
        0
    );

    // NaN from the grid meter: flagged each cycle (not available on the wire; its last good
    // value stands in for 30 minutes, then it is stale too), nothing crashed.
    let nan = format!("time >= '{}' AND time < '{}'", at(1.0), at(2.0));
    assert_eq!(n(&format!("SELECT COUNT(*) FROM flags WHERE asset = 'pcc' AND quantity = 'power_kw' AND kind = 'missing' AND {nan}")), 4);
    assert_eq!(n(&format!("SELECT COUNT(*) FROM flags WHERE asset = 'pcc' AND quantity = 'power_kw' AND kind = 'stale' AND {nan}")), 2);
    assert_eq!(n(&format!("SELECT COUNT(*) FROM telemetry WHERE asset = 'pcc' AND quantity = 'power_kw' AND value IS NULL AND {nan}")), 4);

    // The silent battery: flagged, released (the attempt is in the audit log, flagged as
    // it failed), sent nothing else; the others kept following their setpoints.
    let silent = format!("time >= '{}' AND time < '{}'", at(3.0), at(5.0));
    assert_eq!(n(&format!("SELECT COUNT(*) FROM flags WHERE asset = 'hotel_c_bat' AND kind = 'device_error' AND {silent}")), 8);
    assert!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE asset = 'hotel_c_bat' AND quantity = 'control_mode' AND requested = 0 AND flagged = 1 AND {silent}")) >= 1);
    assert_eq!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE asset = 'hotel_c_bat' AND channel = 'modbus' AND quantity = 'power_kw' AND requested <> 0 AND {silent}")), 0);
    for other in ["hub_bat", "retail_b_bat"] {
        assert_eq!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE asset = '{other}' AND channel = 'modbus' AND quantity = 'power_kw' AND confirmed = 1 AND {silent}")), 8, "{other}");
    }
    // ... and is back under control afterwards.
    let after = format!("time >= '{}'", at(5.0));
    assert!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE asset = 'hotel_c_bat' AND quantity = 'power_kw' AND confirmed = 1 AND {after}")) >= 10);

    // Solves forced past their deadline: the previous plan for up to an hour, then the
    // fallback rule; each logged with its reason and counted; new plans again afterwards.
    let late = format!("time >= '{}' AND time < '{}'", at(7.0), at(9.0));
    assert_eq!(n(&format!("SELECT COUNT(*) FROM fallbacks WHERE kind = 'previous' AND reason LIKE '%deadline%' AND {late}")), 4);
    assert_eq!(n(&format!("SELECT COUNT(*) FROM fallbacks WHERE kind = 'fallback' AND reason LIKE '%deadline%' AND {late}")), 4);
    assert_eq!(
        n(&format!(
            "SELECT COUNT(*) FROM cycles WHERE source <> 'plan' AND NOT ({late})"
        )),
        0
    );
    // Under the fallback rule the HVAC units were handed back to their thermostats.
    assert!(n(&format!("SELECT COUNT(*) FROM setpoints WHERE asset = 'office_a_ac' AND quantity = 'remote_control' AND requested = 0 AND confirmed = 1 AND {late}")) >= 1);
    assert!(std::fs::read_to_string(&aems.log)
        .unwrap()
        .contains("solve missed its deadline"));
}

#[test]
fn a_killed_loop_resumes_with_the_stored_peak_and_a_stopped_one_releases_its_devices() {
    kill_and_resume(Backend::Sqlite);
}

/// The same with the run's history in PostgreSQL (the server `.ci/run` starts).
#[test]
fn postgres_a_killed_loop_resumes_with_the_stored_peak_and_a_stopped_one_releases_its_devices() {
    if let Some(url) = postgres_server::database("resume") {
        kill_and_resume(Backend::Postgres(url));
    }
}

fn kill_and_resume(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(
        dir.path(),
        &format!("gs_restart_{}", std::process::id()),
        None,
    );
    let config = run_config(
        dir.path(),
        &format!(
            "{}speed = 0.0\nduration_h = 24.0\n[requests]\nnotice_minutes = 30.0\n",
            backend.setting()
        ),
    );
    let mut first = Aems::start(dir.path(), &devices, &config, &[]);
    first.wait_cycles(42);
    first.signal("KILL");
    let _ = first.child.wait();
    let c = backend.open(dir.path());
    let row = |sql: &str| c.query(sql).unwrap().swap_remove(0);
    let r = row("SELECT MAX(time), COUNT(*) FROM cycles WHERE run_id = 1 AND source IS NOT NULL");
    let (last, cycles_before) = (r[0].as_time().unwrap(), r[1].as_i64().unwrap());
    let stored_peak = c
        .scalar("SELECT MAX(mean_kw) FROM intervals")
        .unwrap()
        .unwrap();
    assert!(
        stored_peak > 450.0,
        "the morning raised the month's peak above the scenario's 450 kW: {stored_peak}"
    );
    assert!(row("SELECT ended_wall FROM runs WHERE id = 1")[0].is_null());

    let issued = |run: i64| {
        let sql = format!(
            "SELECT e.subject FROM events e JOIN cycles c ON c.id = e.cycle_id
             WHERE c.run_id = {run} AND e.kind = 'tenant_request'"
        );
        let rows = c.query(&sql).unwrap();
        rows.into_iter()
            .map(|r| r[0].as_text().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let asked_before = issued(1);
    assert!(!asked_before.is_empty(), "no request before the kill");

    let mut second = Aems::start(dir.path(), &devices, &config, &[]);
    second.wait_cycles(cycles_before as u64 + 3);
    // The requests already issued are known to the resumed run: none issued again.
    let desk = second.json("/requests");
    assert!(
        desk["issued"].as_u64().unwrap() as usize >= asked_before.len(),
        "{desk}"
    );
    let kpis = second.json("/kpis");
    assert!(kpis["month_peak_kw"]["pcc"].as_f64().unwrap() >= stored_peak);
    second.signal("TERM");
    second.wait_end();
    let r = row("SELECT time, peak_so_far_kw FROM cycles WHERE run_id = 2 ORDER BY id LIMIT 1");
    let (first_time, peak) = (r[0].as_time().unwrap(), r[1].as_f64().unwrap());
    // (A cycle the kill interrupted is run again.)
    assert_eq!(
        first_time,
        last + chrono::Duration::minutes(15),
        "resumed after the last completed cycle"
    );
    assert!(
        peak >= stored_peak - 1e-9,
        "resumed with the stored peak {stored_peak}, planned with {peak}"
    );
    assert!(std::fs::read_to_string(&second.log)
        .unwrap()
        .contains("resuming the stored run"));
    // SIGTERM: every controllable device handed back (confirmed), the run closed.
    let released = n(
        &c,
        "SELECT COUNT(DISTINCT asset) FROM setpoints WHERE cycle_id = (SELECT MAX(id) FROM cycles)
         AND quantity IN ('control_mode', 'remote_control', 'remote_mode', 'storage_control_mode')
         AND requested = 0 AND confirmed = 1",
    );
    assert_eq!(released, 9, "4 batteries, 4 HVAC units, 1 gas engine");
    assert!(!row("SELECT ended_wall FROM runs WHERE id = 2")[0].is_null());
    let again: Vec<String> = issued(2).intersection(&asked_before).cloned().collect();
    assert!(
        again.is_empty(),
        "issued again after the restart: {again:?}"
    );
}

#[test]
fn bad_settings_and_devices_are_refused_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_bad", None);
    // Refused (exit 1) before anything starts; its message.
    let refused = |config: &Path, devices: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_aems"))
            .arg("run")
            .arg("--scenario")
            .arg(scenario())
            .arg("--devices")
            .arg(devices)
            .arg("--config")
            .arg(config)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{err}");
        err
    };
    let config = run_config(dir.path(), "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("cadence_min = 15", "cadence_min = 10");
    std::fs::write(&config, text).unwrap();
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: field 'cadence_min': 10 is not a multiple of step_minutes = 15"),
        "{err}"
    );
    // A device whose asset the scenario does not have.
    let text = std::fs::read_to_string(&devices)
        .unwrap()
        .replace("asset = \"hotel_c_bat\"", "asset = \"hotel_z_bat\"");
    let bad = dir.path().join("bad-devices.toml");
    std::fs::write(&bad, text).unwrap();
    let config = run_config(dir.path(), "");
    let err = refused(&config, &bad);
    assert!(
        err.contains("bad-devices.toml: [[device]] #4 ('hotel_z_bat'): field 'asset'"),
        "{err}"
    );
    // A grid outage at a connection the scenario does not have; one with a quantity.
    let config = run_config(
        dir.path(),
        "[[fault]]\nkind = \"grid_outage\"\nasset = \"pcc_2\"\nfrom_h = 1.0\nuntil_h = 2.0\n",
    );
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: [[fault]] #0: field 'asset': 'pcc_2' is not a grid connection")
            && err.contains("(it has: pcc)"),
        "{err}"
    );
    let config = run_config(
        dir.path(),
        "[[fault]]\nkind = \"grid_outage\"\nquantity = \"power_kw\"\nfrom_h = 1.0\nuntil_h = 2.0\n",
    );
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: field 'fault #0': 'quantity' does not apply"),
        "{err}"
    );
    // A switch on a line whose flow the network fixes (a radial line).
    let text = std::fs::read_to_string(&devices).unwrap()
        + "\n[[device]]\nasset = \"hub_office_a\"\nprofile = \"tie_switch\"\nhost = \"127.0.0.1\"\nport = 1\nunit_id = 9\n";
    let bad = dir.path().join("bad-line.toml");
    std::fs::write(&bad, text).unwrap();
    let config = run_config(dir.path(), "");
    let err = refused(&config, &bad);
    assert!(
        err.contains("bad-line.toml: [[device]] #10 ('hub_office_a'): field 'asset': line 'hub_office_a' is not a tie line"),
        "{err}"
    );
    // OpenADR events for a connection the scenario does not have; a secret not there.
    let config = run_config(
        dir.path(),
        "[openadr]\nvtn = \"http://127.0.0.1:1\"\nclient_id = \"ven\"\nclient_secret_env = \"AEMS_TEST_NO_SUCH_VAR\"\ngrids = [\"pcc_9\"]\n",
    );
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: field 'openadr.grids': 'pcc_9' is not a grid connection"),
        "{err}"
    );
    let config = run_config(
        dir.path(),
        "[openadr]\nvtn = \"http://127.0.0.1:1\"\nclient_id = \"ven\"\nclient_secret_env = \"AEMS_TEST_NO_SUCH_VAR\"\n",
    );
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: openadr.client_secret_env: the environment variable AEMS_TEST_NO_SUCH_VAR is not set"),
        "{err}"
    );
    // A store that is neither a file nor PostgreSQL; a PostgreSQL server that is not there
    // (its password never shown).
    let config = run_config(dir.path(), "store = \"mysql://aems@127.0.0.1/aems\"\n");
    let err = refused(&config, &devices);
    assert!(
        err.contains("run.toml: field 'store': 'mysql://' is not a store"),
        "{err}"
    );
    let port = broker::free_port();
    let config = run_config(
        dir.path(),
        &format!("store = \"postgres://aems:hunter2@127.0.0.1:{port}/aems\"\n"),
    );
    let err = refused(&config, &devices);
    assert!(
        err.contains(&format!(
            "cannot connect to the store postgres://aems:***@127.0.0.1:{port}/aems"
        )) && !err.contains("hunter2"),
        "{err}"
    );
}

/// Gate Square with what it has for a disaster: load classes per building, a 1 MW
/// emergency generator at the hub (black start, 40,000 kWh of fuel), and the condominiums
/// on their own utility connection with an emergency tie from the hub.
fn resilient_gate_square(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(scenario()).unwrap();
    let series = root().join("scenarios/gate_square/series.csv");
    let mut text = text.replace(
        "series = \"series.csv\"",
        &format!("series = {:?}", series.display().to_string()),
    );
    for (node, classes) in [
        ("office_a", "lifeline\", share = 0.08 }, { class = \"critical\", share = 0.2 }, { class = \"sheddable\", share = 0.3 }"),
        ("retail_b", "lifeline\", share = 0.05 }, { class = \"critical\", share = 0.15 }, { class = \"sheddable\", share = 0.4 }"),
        ("hotel_c", "lifeline\", share = 0.1 }, { class = \"critical\", share = 0.3 }, { class = \"sheddable\", share = 0.2 }"),
        ("resi_d", "lifeline\", share = 0.1 }, { class = \"critical\", share = 0.2 }, { class = \"sheddable\", share = 0.2 }"),
    ] {
        let line = format!("load_kw = \"load_{node}\"\n");
        assert!(text.contains(&line), "{node}");
        text = text.replace(
            &line,
            &format!("{line}load_classes = [{{ class = \"{classes}]\n"),
        );
    }
    text.push_str(
        r#"
[[node]]
id = "condos"
load_kw = 120.0
load_classes = [{ class = "lifeline", share = 0.6 }, { class = "sheddable", share = 0.1 }]

[[grid]]
id = "condo_pcc"
node = "condos"
import_price_yen_per_kwh = "price_imp"
import_limit_kw = 300.0

[[line]]
id = "condo_tie"
from = "hub"
to = "condos"
capacity_kw = 300.0
loss_fraction = 0.005
emergency_only = true

[[generator]]
id = "emergency_gen"
node = "hub"
min_kw = 300.0
max_kw = 1000.0
efficiency = 0.28
fuel_price_yen_per_kwh = 10.8
fuel_carbon_kg_per_kwh = 0.244
startup_cost_yen = 5000.0
emergency_only = true
black_start = true
fuel_stock_kwh = 40000.0
"#,
    );
    let p = dir.join("scenario.toml");
    std::fs::write(&p, text).unwrap();
    engine::Scenario::load(&p).expect("the resilient Gate Square loads");
    p
}

/// One string column of `sql`'s rows.
fn strings(c: &Connection, sql: &str) -> Vec<String> {
    c.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// The simulator opens every PCC breaker at 11:06 and closes them at 14:06 (a utility
/// blackout, simulated): the first cycle after (11:15) sees the meters report the supply
/// lost, announces it (audit log, MQTT, HTTP), and follows an islanded plan: no import
/// anywhere over its horizon, the emergency generator started, the condominiums' tie
/// closed; the simulated district sheds no lifeline load from then on (its physics' own
/// count); at 14:15 the supply is back and normal planning resumes, the tie opened and the
/// generator stopped.
#[test]
fn a_grid_outage_islands_the_district_within_one_cycle_and_normal_planning_resumes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = broker::TestBroker::start();
    let district = format!("gs_island_{}", std::process::id());
    let (_sub, grid_msgs) = collect_json(&rt, &b, &district, &format!("aems/v1/{district}/grid"));
    let dir = tempfile::tempdir().unwrap();
    let sc = resilient_gate_square(dir.path());
    let devices = devices_file(dir.path(), &district, Some((&b.host, b.port)));
    let mut text = std::fs::read_to_string(&devices).unwrap();
    let (a, b2) = (broker::free_port(), broker::free_port());
    text.push_str(&format!(
        r#"
[[device]]
asset = "emergency_gen"
profile = "emergency_generator"
host = "127.0.0.1"
port = {a}
unit_id = 1
limits = {{ power_kw = [0.0, 1000.0] }}

[[device]]
asset = "condo_pcc"
profile = "meter"
host = "127.0.0.1"
port = {b2}
unit_id = 1

[[device]]
asset = "condo_tie"
profile = "tie_switch"
host = "127.0.0.1"
port = {b2}
unit_id = 2
limits = {{ power_kw = [-300.0, 300.0] }}
"#
    ));
    std::fs::write(&devices, text).unwrap();
    let config = run_config(
        dir.path(),
        "speed = 0.0\nstart = \"2025-08-04T10:00:00+09:00\"\nduration_h = 5.0\n\
         [[fault]]\nkind = \"grid_outage\"\nfrom_h = 1.1\nuntil_h = 4.1\n",
    );
    let mut aems = Aems::start_scenario(&sc, dir.path(), &devices, &config, &[]);
    aems.wait_end();
    let log = std::fs::read_to_string(&aems.log).unwrap_or_default();
    let c = db(dir.path());
    let lost_at = "2025-08-04T11:15:00+09:00";
    let back_at = "2025-08-04T14:15:00+09:00";

    // The audit log: both connections lost and back, the plan switched each way, at the
    // first cycle after each change.
    let events = strings(
        &c,
        "SELECT time || ' ' || kind || ' ' || subject FROM events ORDER BY rowid",
    );
    for want in [
        format!("{lost_at} grid_lost condo_pcc"),
        format!("{lost_at} grid_lost pcc"),
        format!("{lost_at} islanded_plan {district}"),
        format!("{back_at} grid_restored condo_pcc"),
        format!("{back_at} grid_restored pcc"),
        format!("{back_at} normal_plan {district}"),
    ] {
        assert!(events.contains(&want), "{want} not in {events:?}\n{log}");
    }
    assert_eq!(events.len(), 6, "{events:?}");

    // The switch-over cycle's plan: islanded, nothing imported anywhere over the horizon.
    let plan_at = |t: &str| -> serde_json::Value {
        let j: String = c
            .query_row("SELECT json FROM schedules WHERE time = ?1", [t], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("no schedule at {t}: {e}\n{log}"));
        serde_json::from_str(&j).unwrap()
    };
    let series = |p: &serde_json::Value, asset: &str, q: &str| -> Vec<f64> {
        p["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["asset"] == asset && s["quantity"] == q)
            .map(|s| {
                s["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let p = plan_at(lost_at);
    assert_eq!(p["source"], "plan");
    assert_eq!(p["islanded"], true);
    for g in ["pcc", "condo_pcc"] {
        let imp = series(&p, g, "import_kw");
        assert_eq!(imp.len(), 48);
        assert!(imp.iter().all(|x| x.abs() < 1e-6), "{g} imports: {imp:?}");
    }
    for node in ["office_a", "retail_b", "hotel_c", "resi_d", "condos"] {
        let shed = series(&p, node, "unserved_lifeline_kw");
        assert!(
            shed.iter().all(|x| *x < 1e-6),
            "{node} lifeline shed in the plan: {shed:?}"
        );
    }
    assert!(series(&p, "condo_tie", "flow_kw")[0] > 1.0);
    // ... the cycle before it was normal (it could not know).
    let before = plan_at("2025-08-04T11:00:00+09:00");
    assert_eq!(before["islanded"], false);
    assert!(series(&before, "pcc", "import_kw")[0] > 1.0);

    // What the devices were told and hold at the switch-over: the emergency generator
    // started, the tie closed with the plan's flow (confirmed by read-back).
    let held = |t: &str, asset: &str, q: &str| -> Option<f64> {
        c.query_row(
            "SELECT written FROM setpoints WHERE time = ?1 AND asset = ?2 AND quantity = ?3
             AND channel = 'modbus' AND confirmed = 1 ORDER BY id DESC LIMIT 1",
            rusqlite::params![t, asset, q],
            |r| r.get(0),
        )
        .ok()
    };
    assert_eq!(held(lost_at, "emergency_gen", "on"), Some(1.0), "{log}");
    assert!(held(lost_at, "emergency_gen", "power_kw").unwrap_or(0.0) >= 300.0);
    assert_eq!(held(lost_at, "condo_tie", "closed"), Some(1.0));
    assert!(held(lost_at, "condo_tie", "power_kw").unwrap_or(0.0) > 1.0);
    // Before the outage the generator never ran and the tie stayed open.
    assert_eq!(
        held("2025-08-04T10:00:00+09:00", "condo_tie", "closed"),
        Some(0.0)
    );
    assert_eq!(
        held("2025-08-04T10:00:00+09:00", "emergency_gen", "on"),
        Some(0.0)
    );

    // The simulated district, by its own physics: the tie carried the condominiums, and
    // from the switch-over on no lifeline load went unserved anywhere.
    let sim_at = |t: &str| -> serde_json::Value {
        let j: String = c
            .query_row("SELECT json FROM simulator WHERE time = ?1", [t], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("no simulator record at {t}: {e}"));
        serde_json::from_str(&j).unwrap()
    };
    let at_switch = sim_at(lost_at);
    assert_eq!(
        at_switch["grids_out"],
        serde_json::json!(["pcc", "condo_pcc"])
    );
    let mid = sim_at("2025-08-04T12:30:00+09:00");
    assert!(mid["line_kw"]["condo_tie"].as_f64().unwrap() > 1.0, "{mid}");
    let end = sim_at(back_at);
    assert_eq!(end["grids_out"], serde_json::json!([]));
    for node in ["office_a", "retail_b", "hotel_c", "resi_d", "condos"] {
        let a = at_switch["unserved_kwh"][node][0].as_f64().unwrap();
        let b = end["unserved_kwh"][node][0].as_f64().unwrap();
        assert!(
            b - a < 1e-6,
            "{node}: lifeline unserved grew from {a} to {b} kWh in the island"
        );
    }

    // The grid back: normal planning, the tie opened, the generator stopped.
    let after = plan_at(back_at);
    assert_eq!(after["islanded"], false);
    assert_eq!(after["outages"], serde_json::json!([]));
    assert!(series(&after, "pcc", "import_kw").iter().any(|x| *x > 1.0));
    assert_eq!(held(back_at, "condo_tie", "closed"), Some(0.0));
    assert_eq!(held(back_at, "emergency_gen", "on"), Some(0.0));

    // MQTT: the grid status at the start, at the loss and at the return (retained).
    let t0 = Instant::now();
    while grid_msgs.lock().unwrap().len() < 3 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let msgs = grid_msgs.lock().unwrap().clone();
    let plans: Vec<(bool, String)> = msgs
        .iter()
        .map(|m| {
            (
                m["islanded"].as_bool().unwrap(),
                m["plan"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        plans,
        vec![
            (false, "normal".to_string()),
            (true, "islanded".to_string()),
            (false, "normal".to_string())
        ],
        "{msgs:?}"
    );
    assert_eq!(msgs[1]["grids"]["pcc"], "lost");
}

/// One HTTP request with a method, an optional `Authorization` value and a JSON body.
fn http_send(
    addr: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The operator API on a running loop: a write without credentials is refused (401), with
/// credentials that match nobody or a viewer's (403), with a malformed body (400 naming the
/// field); the operator's own token puts the hub battery in manual (released, nothing sent
/// to it from the next cycle on), caps the connection's import over the next hour (the next
/// plan keeps under it, where the plan before did not), pauses control (devices released,
/// no setpoint, no plan) and resumes it; every attempt is in the audit log with who and
/// when.
#[test]
fn the_operator_api_refuses_strangers_and_its_actions_take_effect_within_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_operator", None);
    let token = "operator-token-0123456789";
    let hash = operator::credentials::hash_secret(token).unwrap();
    let guest = operator::credentials::hash_secret("guest-token-0123456789").unwrap();
    let config = run_config(
        dir.path(),
        &format!(
            "speed = 900.0\nduration_h = 20.0\n[operator]\n\
             [[operator.user]]\nname = \"tanaka\"\ntoken_hash = \"{hash}\"\n\
             [[operator.user]]\nname = \"guest\"\ntoken_hash = \"{guest}\"\nrole = \"viewer\"\n"
        ),
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_cycles(2);
    let bearer = format!("Bearer {token}");
    let addr = aems.http.clone();
    let post =
        |path: &str, auth: Option<&str>, body: &str| http_send(&addr, "POST", path, auth, body);
    // Refused, each with its reason.
    let (code, body) = post("/operator/manual", None, r#"{"asset":"hub_bat"}"#);
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("no credentials"), "{body}");
    let (code, body) = post(
        "/operator/manual",
        Some("Bearer wrong-token"),
        r#"{"asset":"hub_bat"}"#,
    );
    assert_eq!(code, 403, "{body}");
    let (code, body) = post(
        "/operator/manual",
        Some("Bearer guest-token-0123456789"),
        r#"{"asset":"hub_bat"}"#,
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("viewer"), "{body}");
    let (code, body) = post("/operator/manual", Some(&bearer), r#"{"assset":"hub_bat"}"#);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("field 'assset'"), "{body}");
    let (code, body) = post(
        "/operator/import-cap",
        Some(&bearer),
        r#"{"grid":"pcc","kw":"lots"}"#,
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("field 'kw'"), "{body}");

    // Manual: the hub battery released from the next cycle on.
    let (code, body) = post("/operator/manual", Some(&bearer), r#"{"asset":"hub_bat"}"#);
    assert_eq!(code, 202, "{body}");
    let c0 = aems.json("/health")["cycles"].as_u64().unwrap();
    let h = aems.wait_cycles(c0 + 2);
    assert_eq!(h["manual"], serde_json::json!(["hub_bat"]), "{h}");
    assert!(h["released"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("hub_bat")));

    // An import cap of 300 kW over the next hour.
    let now = DateTimeFixed::parse(h["time"].as_str().unwrap());
    let (from, until) = (now.plus_min(15), now.plus_min(75));
    let (code, body) = post(
        "/operator/import-cap",
        Some(&bearer),
        &format!(r#"{{"grid":"pcc","kw":300.0,"from":"{from}","until":"{until}"}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let c1 = aems.json("/health")["cycles"].as_u64().unwrap();
    aems.wait_cycles(c1 + 2);
    assert_eq!(aems.json("/operator")["caps"][0]["by"], "tanaka");

    // Pause, then resume.
    let (code, _) = post("/operator/pause", Some(&bearer), "");
    assert_eq!(code, 202);
    let c2 = aems.json("/health")["cycles"].as_u64().unwrap();
    let h = aems.wait_cycles(c2 + 3);
    assert_eq!(h["paused"], true, "{h}");
    let (code, _) = post("/operator/resume", Some(&bearer), "{}");
    assert_eq!(code, 202);
    let c3 = aems.json("/health")["cycles"].as_u64().unwrap();
    let h = aems.wait_cycles(c3 + 2);
    assert_eq!(h["paused"], false, "{h}");
    aems.signal("TERM");
    aems.wait_end();

    let c = db(dir.path());
    let rows: Vec<String> = strings(
        &c,
        "SELECT user || ' ' || action || ' ' || outcome FROM operator_actions ORDER BY rowid",
    );
    let want_prefixes = [
        "- manual refused 401: no credentials",
        "- manual refused 403: the credentials match no operator",
        "guest manual refused 403: user 'guest' is a viewer",
        "tanaka manual refused 400: field 'assset'",
        "tanaka import-cap refused 400: field 'kw'",
        "tanaka manual accepted",
        "tanaka import-cap accepted",
        "tanaka pause accepted",
        "tanaka resume accepted",
    ];
    assert_eq!(rows.len(), want_prefixes.len(), "{rows:?}");
    for (r, w) in rows.iter().zip(want_prefixes) {
        assert!(r.starts_with(w), "{r} does not start with {w}");
    }
    let cycle_of = |action: &str| -> i64 {
        c.query_row(
            "SELECT cycle_id FROM operator_actions WHERE action = ?1 AND outcome = 'accepted'",
            [action],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (m, cap, p, r) = (
        cycle_of("manual"),
        cycle_of("import-cap"),
        cycle_of("pause"),
        cycle_of("resume"),
    );
    // Nothing but releases written to the hub battery after the cycle that released it
    // (the pause's and the shutdown's release every device again); the others still
    // commanded (outside the pause).
    let after = strings(
        &c,
        &format!(
            "SELECT cycle_id || ' ' || quantity || ' ' || requested FROM setpoints
             WHERE asset = 'hub_bat' AND cycle_id > {m} AND NOT (requested = 0 AND quantity IN ('power_kw', 'control_mode'))"
        ),
    );
    let released = count(
        &c,
        &format!(
            "SELECT COUNT(*) FROM setpoints WHERE asset = 'hub_bat' AND cycle_id = {m} AND quantity = 'control_mode'"
        ),
    );
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(
        released, 1,
        "the release is written (and read back) at the manual cycle"
    );
    assert_eq!(
        count(
            &c,
            &format!("SELECT COUNT(*) FROM decisions WHERE asset = 'hub_bat' AND cycle_id > {m} AND command != 'release'"),
        ),
        0
    );
    assert!(
        count(
            &c,
            &format!(
                "SELECT COUNT(*) FROM setpoints WHERE asset = 'retail_b_bat' AND cycle_id > {r}"
            ),
        ) > 0
    );
    // The cap: the plan of the cycle that took it stays under 300 kW over the window; the
    // plan before it did not.
    let window_max = |cycle: i64| -> f64 {
        let j: String = c
            .query_row(
                "SELECT json FROM schedules WHERE cycle_id = ?1",
                [cycle],
                |r| r.get(0),
            )
            .unwrap();
        let p: serde_json::Value = serde_json::from_str(&j).unwrap();
        let start = DateTimeFixed::parse(p["start"].as_str().unwrap());
        let step = p["step_minutes"].as_i64().unwrap();
        let imp = p["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["asset"] == "pcc" && s["quantity"] == "import_kw")
            .unwrap()["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>();
        imp.iter()
            .enumerate()
            .filter(|(k, _)| {
                let t = start.plus_min(step * *k as i64);
                t >= from && t < until
            })
            .map(|(_, v)| *v)
            .fold(0.0, f64::max)
    };
    assert!(
        window_max(cap - 1) > 301.0,
        "the plan before the cap: {}",
        window_max(cap - 1)
    );
    assert!(
        window_max(cap) <= 300.0 + 1e-6,
        "under the cap: {}",
        window_max(cap)
    );
    // The pause: no plan, nothing sent, until resumed.
    let paused: Vec<String> = strings(
        &c,
        &format!("SELECT source FROM cycles WHERE id > {p} AND id < {r}"),
    );
    assert!(
        paused.len() >= 2 && paused.iter().all(|s| s == "paused"),
        "{paused:?}"
    );
    assert_eq!(
        count(
            &c,
            &format!("SELECT COUNT(*) FROM setpoints WHERE cycle_id > {p} AND cycle_id < {r}"),
        ),
        0
    );
}

/// An RFC 3339 time with minutes arithmetic, formatted back as RFC 3339 (for the tests'
/// request bodies and comparisons).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct DateTimeFixed(chrono::DateTime<chrono::FixedOffset>);

impl DateTimeFixed {
    fn parse(s: &str) -> Self {
        Self(chrono::DateTime::parse_from_rfc3339(s).unwrap())
    }

    fn plus_min(self, m: i64) -> Self {
        Self(self.0 + chrono::Duration::minutes(m))
    }
}

impl std::fmt::Display for DateTimeFixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339())
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (CA, certificate, key) PEM.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "aems test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (ca, crt, k) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (ca, crt, k)
}

/// GET over HTTPS, trusting only `ca`: the status and the whole response (head and body).
fn https_get(
    addr: &str,
    path: &str,
    ca: &Path,
    auth: Option<&str>,
) -> Result<(u16, String), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    // A server may close without close_notify: keep what was read.
    let r = tls.read_to_end(&mut buf);
    if buf.is_empty() {
        return Err(format!("{r:?}"));
    }
    let buf = String::from_utf8_lossy(&buf).to_string();
    let code = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    Ok((code, buf))
}

/// Served over HTTPS with a configured certificate (a client trusting only its CA reads
/// it; plain HTTP gets nothing), with reads closed (`open_reads = false`): a read without
/// credentials is refused (401), a viewer reads.
#[test]
fn https_with_a_certificate_and_closed_reads() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_https", None);
    let (ca, cert, key) = certificates(dir.path());
    let viewer = operator::credentials::hash_secret("viewer-token-0123456789").unwrap();
    let config = run_config(
        dir.path(),
        &format!(
            "speed = 900.0\nduration_h = 20.0\n[operator]\ntls_cert = {:?}\ntls_key = {:?}\nopen_reads = false\n\
             [[operator.user]]\nname = \"watch\"\ntoken_hash = \"{viewer}\"\nrole = \"viewer\"\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    );
    let aems = Aems::start(dir.path(), &devices, &config, &[]);
    let auth = Some("Bearer viewer-token-0123456789");
    let t0 = Instant::now();
    loop {
        if let Ok((200, resp)) = https_get(&aems.http, "/health", &ca, auth) {
            let body = resp.split_once("\r\n\r\n").map_or("", |x| x.1);
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            if v["cycles"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
        }
        assert!(
            t0.elapsed() < LIMIT,
            "no cycle over HTTPS; log:\n{}",
            aems.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, body) = https_get(&aems.http, "/kpis", &ca, None).unwrap();
    assert_eq!(code, 401, "{body}");
    // A browser is asked for a user and password (the dashboard behind closed reads).
    assert!(
        body.to_lowercase()
            .contains("www-authenticate: basic realm=\"aems\""),
        "{body}"
    );
    let (code, body) = https_get(&aems.http, "/kpis", &ca, auth).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("district"), "{body}");
    // Plain HTTP gets no answer.
    assert!(
        !matches!(http_get(&aems.http, "/health"), Ok((200, _))),
        "plain HTTP answered"
    );
    aems.signal("TERM");
}

/// Runs headless Chromium on `url` with `args`; returns (stdout, stderr).
fn chromium_run(browser: &str, dir: &Path, url: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(browser)
        .args(browser::HEADLESS)
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium-profile").display()
        ))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=4000",
        ])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The dashboard at `/` in a real browser (headless Chromium) against a running loop: it
/// loads with no console error, shows every building with a chart, the setpoints with
/// their read-back and the demand charge's exposure, and updates between two cycles; in
/// Japanese with `?lang=ja`.
#[test]
fn the_dashboard_shows_every_building_and_updates_between_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_dashboard", None);
    let config = run_config(dir.path(), "speed = 900.0\nduration_h = 30.0\n");
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_cycles(3);
    let Some(browser) = browser::chromium() else {
        assert!(
            !browser::required(),
            "AEMS_TEST_CHROMIUM or CI=true is set but no chromium is installed"
        );
        eprintln!("chromium not installed: the dashboard was not rendered");
        return;
    };
    let url = format!("http://{}/", aems.http);
    let status = |dom: &str| -> String {
        let i = dom.find("id=\"status\">").expect("a status line") + 12;
        dom[i..i + dom[i..].find('<').unwrap()].to_string()
    };
    let (dom1, log) = chromium_run(browser, dir.path(), &url, &["--dump-dom"]);
    for line in log.lines() {
        assert!(
            !(line.contains("CONSOLE") || line.contains("Uncaught")),
            "console: {line}"
        );
    }
    for b in ["hub", "office_a", "retail_b", "hotel_c", "resi_d"] {
        assert!(
            dom1.contains(&format!("id=\"b-{b}\"")),
            "building {b} missing:\n{dom1}"
        );
    }
    assert!(dom1.matches("<canvas").count() >= 5, "a chart per building");
    assert!(dom1.contains("confirmed"), "setpoints with their read-back");
    assert!(dom1.contains("Demand charge exposure"));
    let c = aems.json("/health")["cycles"].as_u64().unwrap();
    aems.wait_cycles(c + 2);
    let (dom2, _) = chromium_run(browser, dir.path(), &url, &["--dump-dom"]);
    assert_ne!(status(&dom1), status(&dom2), "the page did not move on");
    let (ja, _) = chromium_run(
        browser,
        dir.path(),
        &format!("{url}?lang=ja"),
        &["--dump-dom"],
    );
    assert!(
        ja.contains("送信した設定値") && ja.contains("lang=\"ja\""),
        "{ja}"
    );
    let png = dir.path().join("dashboard.png");
    chromium_run(
        browser,
        dir.path(),
        &url,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1300,1100",
        ],
    );
    assert!(
        std::fs::metadata(&png).unwrap().len() > 50_000,
        "a blank screenshot"
    );
    aems.signal("TERM");
    aems.wait_end();
}

/// `[ngsi_ld] file`: the loop writes the metered KPIs as NGSI-LD entities every
/// `every_cycles` cycles — a Building per node and the district's KPIs, equal to the last
/// stored KPIs; settings without a broker or a file are refused naming the field.
#[test]
fn the_loop_publishes_its_kpis_as_ngsi_ld_entities() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), "gs_ngsi", None);
    let config = run_config(
        dir.path(),
        "speed = 0.0\nduration_h = 2.0\n[ngsi_ld]\nfile = \"kpis.jsonld\"\nevery_cycles = 2\n",
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_end();
    let entities: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("kpis.jsonld")).unwrap())
            .unwrap();
    for n in ["hub", "office_a", "retail_b", "hotel_c", "resi_d"] {
        let id = format!("urn:ngsi-ld:Building:gs_ngsi:{n}");
        assert!(entities.iter().any(|e| e["id"] == id.as_str()), "{id}");
    }
    let co2 = entities
        .iter()
        .find(|e| e["id"] == "urn:ngsi-ld:KeyPerformanceIndicator:gs_ngsi:district:co2")
        .unwrap();
    // 8 cycles: the last publication is the last cycle's.
    let k = kpis(&db(dir.path()));
    let want = k["district"]["co2_kg"].as_f64().unwrap();
    assert!(want > 0.0);
    assert!((co2["kpiValue"]["value"].as_f64().unwrap() - want).abs() < 1e-9 * want);
    assert_eq!(co2["kpiValue"]["observedAt"], k["time"]);
    // Neither a broker nor a file.
    let bad = run_config(dir.path(), "[ngsi_ld]\nevery_cycles = 2\n");
    let out = Command::new(env!("CARGO_BIN_EXE_aems"))
        .args(["run", "--scenario"])
        .arg(scenario())
        .arg("--devices")
        .arg(&devices)
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("field 'ngsi_ld.broker': missing"), "{err}");
}

/// OpenADR 3 end to end against a real VTN (openleadr-vtn on PostgreSQL): the loop, in
/// simulated time, registers as a VEN; a program and an import-capacity event (300 kW on
/// 2025-08-04 from 13:00 to 15:00) created on the VTN's business-logic API while it runs
/// reach it within one cycle (audit log `openadr_event`), every plan made after that keeps
/// the import under the cap over the event, and once the event has passed the VEN's report
/// on the VTN carries the metered mean import per interval, as the store has it.
#[test]
fn an_openadr_event_caps_the_plan_and_the_metered_response_is_reported_to_the_vtn() {
    let dir = tempfile::tempdir().unwrap();
    let Some(vtn) = vtn::Vtn::start(dir.path(), "e2e") else {
        return;
    };
    let devices = devices_file(
        dir.path(),
        &format!("gs_openadr_{}", std::process::id()),
        None,
    );
    std::env::set_var("AEMS_TEST_VEN_SECRET", vtn::VEN_SECRET);
    let config = run_config(
        dir.path(),
        &format!(
            "speed = 900.0\nstart = \"2025-08-04T11:00:00+09:00\"\nduration_h = 5.0\n\
             [openadr]\nvtn = \"{}\"\nclient_id = \"ven-client\"\n\
             client_secret_env = \"AEMS_TEST_VEN_SECRET\"\nven_name = \"gate-square\"\n",
            vtn.url
        ),
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_cycles(2);
    let program = vtn.bl(
        "POST",
        "programs",
        Some(serde_json::json!({
            "programName": "tokyo-peak-cut",
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                    "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}]
        })),
    );
    let event = vtn.bl(
        "POST",
        "events",
        Some(serde_json::json!({
            "programID": program["id"],
            "eventName": "afternoon peak",
            "priority": 1,
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                    "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
            "intervalPeriod": {"start": "2025-08-04T04:00:00Z", "duration": "PT1H"},
            "intervals": [
                {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [300.0]}]},
                {"id": 1, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [300.0]}]}
            ]
        })),
    );
    let event_id = event["id"].as_str().unwrap().to_string();
    let created_at = aems.json("/health")["cycles"].as_u64().unwrap();
    let health = aems.wait_cycles(created_at + 2);
    assert_eq!(health["openadr"]["reachable"], true, "{health}");
    assert_eq!(
        health["openadr"]["events"][0],
        event_id.as_str(),
        "{health}"
    );
    aems.wait_end();
    let c = Backend::Sqlite.open(dir.path());
    // Taken within one cycle of its creation.
    let taken = c
        .query(&format!(
            "SELECT e.cycle_id, e.detail, (SELECT COUNT(*) FROM cycles k WHERE k.id <= e.cycle_id)
             FROM events e WHERE e.kind = 'openadr_event' AND e.subject = '{event_id}'"
        ))
        .unwrap();
    assert_eq!(taken.len(), 1, "{taken:?}; log:\n{}", aems.log_tail());
    let taken_at = taken[0][2].as_i64().unwrap() as u64;
    assert!(
        taken_at <= created_at + 1,
        "created during cycle {created_at}, taken at cycle {taken_at}"
    );
    let detail = taken[0][1].as_text().unwrap();
    assert!(
        detail.contains("IMPORT_CAPACITY_LIMIT 300 from 2025-08-04T13:00:00+09:00"),
        "{detail}"
    );
    // Every plan from then on keeps the import under the cap over the event.
    let event_from = chrono::DateTime::parse_from_rfc3339("2025-08-04T13:00:00+09:00").unwrap();
    let event_until = event_from + chrono::Duration::hours(2);
    let plans = c
        .query(&format!(
            "SELECT json FROM schedules WHERE cycle_id >= {} AND source = 'plan'",
            taken[0][0].as_i64().unwrap()
        ))
        .unwrap();
    let mut checked = 0;
    for p in &plans {
        let p: serde_json::Value = serde_json::from_str(&p[0].as_text().unwrap()).unwrap();
        let start = chrono::DateTime::parse_from_rfc3339(p["start"].as_str().unwrap()).unwrap();
        let step = chrono::Duration::minutes(p["step_minutes"].as_i64().unwrap());
        let import = p["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["asset"] == "pcc" && s["quantity"] == "import_kw")
            .unwrap();
        for (k, v) in import["values"].as_array().unwrap().iter().enumerate() {
            let t = start + step * k as i32;
            if t >= event_from && t < event_until {
                let v = v.as_f64().unwrap();
                assert!(v <= 300.0 + 1e-6, "plan from {start}: {v} kW at {t}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked} planned steps in the event");
    // The report on the VTN: the metered mean import per hour, as the store has it.
    let reports = vtn.bl("GET", &format!("reports?eventID={event_id}"), None);
    let reports = reports.as_array().unwrap();
    assert!(
        !reports.is_empty(),
        "no report; VTN log:\n{}",
        vtn.log_tail()
    );
    // (One report per interval, posted as each is metered.)
    let mut intervals: Vec<serde_json::Value> = Vec::new();
    for r in reports {
        assert_eq!(r["clientName"], "gate-square", "{r}");
        let pcc = r["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["resourceName"] == "pcc")
            .unwrap_or_else(|| panic!("{r}"));
        intervals.extend(pcc["intervals"].as_array().unwrap().iter().cloned());
    }
    intervals.sort_by_key(|iv| iv["intervalPeriod"]["start"].as_str().unwrap().to_string());
    assert_eq!(intervals.len(), 2, "{reports:?}");
    for (h, iv) in intervals.iter().enumerate() {
        let from = event_from + chrono::Duration::hours(h as i64);
        let start =
            chrono::DateTime::parse_from_rfc3339(iv["intervalPeriod"]["start"].as_str().unwrap())
                .unwrap();
        assert_eq!(start, from);
        let want = c
            .scalar(&format!(
                "SELECT SUM(import_kwh) FROM intervals WHERE grid = 'pcc' AND start >= '{}' AND start < '{}'",
                from.to_rfc3339(),
                (from + chrono::Duration::hours(1)).to_rfc3339()
            ))
            .unwrap()
            .unwrap();
        let demand = iv["payloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == "DEMAND")
            .unwrap()["values"][0]
            .as_f64()
            .unwrap();
        assert!(
            (demand - want).abs() < 1e-6,
            "hour {h}: reported {demand}, metered {want}"
        );
        // The cap held on the meter too (the plant follows the plan; a little slack for
        // the simulated district's own variation inside a step).
        assert!(demand <= 300.0 * 1.05, "hour {h}: {demand} kW metered");
        let baseline = iv["payloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == "BASELINE");
        println!("hour {h}: metered {demand:.1} kW, baseline {baseline:?}");
    }
}

/// A VTN that is not there: the loop goes on planning without events (every cycle a plan),
/// and says so in the audit log (`openadr_unreachable`) each cycle it tried.
#[test]
fn an_unreachable_vtn_leaves_the_loop_planning_and_is_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(
        dir.path(),
        &format!("gs_novtn_{}", std::process::id()),
        None,
    );
    let port = broker::free_port();
    let config = run_config(
        dir.path(),
        &format!(
            "speed = 1800.0\nduration_h = 2.0\n[openadr]\nvtn = \"http://127.0.0.1:{port}\"\n\
             client_id = \"ven\"\nclient_secret = \"not-needed-here\"\ntimeout_s = 0.5\n"
        ),
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    let health = aems.wait_cycles(1);
    assert_eq!(health["openadr"]["reachable"], false, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    aems.wait_end();
    let c = Backend::Sqlite.open(dir.path());
    assert_eq!(
        n(&c, "SELECT COUNT(*) FROM cycles WHERE source = 'plan'"),
        8
    );
    assert_eq!(
        n(
            &c,
            "SELECT COUNT(*) FROM events WHERE kind = 'openadr_unreachable'"
        ),
        8
    );
}

/// Requests to tenants and residents in the live loop (`[requests]` in run.toml): the
/// controller's requests reach a real MQTT broker on the versioned topics (the district's,
/// ranked, and each building's, with the messages in English and Japanese), `GET /requests`
/// while the loop runs, and the audit log — each request issued, and each window that ended
/// measured against its forecast baseline.
#[test]
fn tenant_requests_reach_mqtt_the_http_api_and_the_audit_log() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = broker::TestBroker::start();
    let district = format!("gs_req_{}", std::process::id());
    let (_all, all) = collect_json(&rt, &b, &district, &format!("aems/v1/{district}/requests"));
    let (_each, each) = collect_json(
        &rt,
        &b,
        &district,
        &format!("aems/v1/{district}/+/requests"),
    );
    let dir = tempfile::tempdir().unwrap();
    let devices = devices_file(dir.path(), &district, Some((&b.host, b.port)));
    // Each building's own meter, which the responses are measured on (Gate Square's bundled
    // devices meter only the connection).
    let mut text = std::fs::read_to_string(&devices).unwrap();
    let at = text.find("asset = \"pcc\"").unwrap();
    let port = text[at..]
        .lines()
        .find(|l| l.starts_with("port ="))
        .unwrap()
        .to_string();
    for (i, b) in ["office_a", "retail_b", "hotel_c", "resi_d"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "\n[[device]]\nasset = \"{b}\"\nprofile = \"meter\"\nhost = \"127.0.0.1\"\n{port}\nunit_id = {}\n",
            20 + i
        ));
    }
    std::fs::write(&devices, text).unwrap();
    let config = run_config(
        dir.path(),
        "speed = 1800.0\nduration_h = 17.0\n[requests]\nnotice_minutes = 30.0\n",
    );
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    // Mid-run: the requests in force over HTTP.
    aems.wait_cycles(1);
    let mut seen = serde_json::Value::Null;
    let t0 = Instant::now();
    while seen.is_null() && t0.elapsed() < LIMIT {
        if let Ok((200, body)) = http_get(&aems.http, "/requests") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["requests"].as_array().is_some_and(|r| !r.is_empty()) {
                seen = v;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = &seen["requests"][0];
    assert_eq!(first["rank"], 1, "{seen}");
    assert!(
        first["message_ja"]
            .as_str()
            .unwrap()
            .contains("減らしてください"),
        "{seen}"
    );
    aems.wait_end();
    let c = db(dir.path());
    let issued = count(
        &c,
        "SELECT COUNT(*) FROM events WHERE kind = 'tenant_request'",
    );
    let measured = count(
        &c,
        "SELECT COUNT(*) FROM events WHERE kind = 'tenant_response' AND detail LIKE 'baseline %'",
    );
    assert!(issued >= 1, "no request in the audit log");
    assert!(measured >= 1, "no response measured in the audit log");
    // MQTT: the district's ranked list and the buildings' own, as issued.
    let t0 = Instant::now();
    let has = |m: &Arc<Mutex<Vec<serde_json::Value>>>| {
        m.lock().unwrap().iter().any(|v| {
            v["v"] == 1
                && v["district"] == district.as_str()
                && v["requests"].as_array().is_some_and(|r| !r.is_empty())
        })
    };
    while !(has(&all) && has(&each)) && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(has(&all), "no requests on aems/v1/{district}/requests");
    assert!(has(&each), "no requests on a building's topic");
    for v in each.lock().unwrap().iter() {
        let building = v["building"].as_str().unwrap();
        for r in v["requests"].as_array().unwrap() {
            assert_eq!(r["building"], building, "{v}");
            assert!(
                r["message_en"].as_str().unwrap().starts_with(building),
                "{v}"
            );
        }
    }
}

/// ECHONET Lite devices in the live loop: Gate Square's residential battery is an ECHONET
/// Lite storage battery (0x027D) and the residences' meter an ECHONET Lite low-voltage smart
/// meter (0x0288), both served by the embedded simulator on a UDP port of 127.0.0.1. The
/// loop reads their SOC, power and import like the Modbus devices', plans with them, drives
/// the battery through the same guarded path (mode + power in one SetC, read back; clamped to
/// the device's declared ±8 kW), the battery follows, and a stopped loop hands it back to its
/// own control (mode auto).
#[test]
fn echonet_lite_devices_are_read_and_driven_by_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let district = format!("gs_el_{}", std::process::id());
    let devices = devices_file(dir.path(), &district, None);
    let text = std::fs::read_to_string(&devices).unwrap();
    let a = text.find("asset = \"resi_d_bat\"").unwrap();
    let b = a + text[a..].find("[[device]]").unwrap();
    let port = broker::free_port();
    let echonet = format!(
        "asset = \"resi_d_bat\"\nprotocol = \"echonet\"\nclass = \"storage_battery\"\n\
         host = \"127.0.0.1\"\nport = {port}\neoj = \"0x027D01\"\n\
         limits = {{ power_kw = [-8.0, 8.0] }}\n\n\
         [[device]]\nasset = \"resi_d\"\nprotocol = \"echonet\"\nclass = \"low_voltage_smart_meter\"\n\
         host = \"127.0.0.1\"\nport = {port}\neoj = \"0x028801\"\n\n"
    );
    let text = format!("{}{echonet}{}", &text[..a], &text[b..]);
    std::fs::write(&devices, text).unwrap();
    let config = run_config(dir.path(), "speed = 0.0\nduration_h = 6.0\n");
    let mut aems = Aems::start(dir.path(), &devices, &config, &[]);
    aems.wait_end();
    let c = db(dir.path());
    let written = count(
        &c,
        "SELECT COUNT(*) FROM setpoints WHERE asset = 'resi_d_bat' AND channel = 'echonet'
         AND confirmed = 1 AND register LIKE 'EPC 0xDA + EPC 0xE%'",
    );
    assert!(
        written >= 12,
        "{written} confirmed ECHONET writes to the battery"
    );
    let beyond = count(
        &c,
        "SELECT COUNT(*) FROM setpoints WHERE asset = 'resi_d_bat' AND channel = 'echonet'
         AND quantity = 'power_kw' AND (written > 8.0 OR written < -8.0)",
    );
    assert_eq!(beyond, 0, "a write beyond the device's limits");
    for (asset, q) in [
        ("resi_d_bat", "soc_pct"),
        ("resi_d_bat", "power_kw"),
        ("resi_d", "power_kw"),
    ] {
        let n = count(
            &c,
            &format!("SELECT COUNT(*) FROM telemetry WHERE asset = '{asset}' AND quantity = '{q}'"),
        );
        assert!(n >= 20, "{asset} {q}: {n} readings");
    }
    // The battery's state of charge moved with the setpoints it was given.
    let socs: Vec<f64> = c
        .prepare("SELECT value FROM telemetry WHERE asset = 'resi_d_bat' AND quantity = 'soc_pct' ORDER BY time")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let (lo, hi) = socs
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!(hi - lo >= 1.0, "SOC stayed within {lo}..{hi} %");
    // Never unhealthy after its first reading, and released at the end (operation mode
    // auto, 0x46 = 70).
    let unhealthy = strings(
        &c,
        "SELECT DISTINCT unhealthy FROM cycles WHERE id > (SELECT MIN(id) FROM cycles) AND unhealthy != ''",
    );
    let flags = strings(&c, "SELECT DISTINCT asset || ' ' || quantity || ' ' || kind || ' ' || detail FROM flags LIMIT 5");
    assert!(
        unhealthy
            .iter()
            .all(|u| !u.split(',').any(|a| a == "resi_d_bat" || a == "resi_d")),
        "{unhealthy:?} {flags:?}"
    );
    let released = count(
        &c,
        "SELECT COUNT(*) FROM setpoints WHERE asset = 'resi_d_bat' AND channel = 'echonet'
         AND quantity = 'mode_code' AND written = 70 AND confirmed = 1",
    );
    let last = c
        .prepare("SELECT quantity || ' ' || COALESCE(register, '') || ' ' || outcome FROM setpoints WHERE asset = 'resi_d_bat' ORDER BY id DESC LIMIT 1")
        .unwrap()
        .query_row([], |r| r.get::<_, String>(0))
        .unwrap();
    assert!(released >= 1, "not released; last write: {last}");
}
