//! MQTT against a real broker on 127.0.0.1: embedded rumqttd by default, the broker of
//! `AEMS_TEST_MQTT=host:port` when set (CI: mosquitto). Restart tests run the broker as a
//! child process (mosquitto, or this binary re-run as rumqttd). Every test is bounded.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use common::broker::{self, RestartableBroker, TestBroker};
use common::{devices, district, init_logs, LIMIT};
use connectors::devices::TlsConfig;
use connectors::mqtt::schema::{
    self, ScheduleMessage, ScheduleSeries, SetpointMessage, StatusMessage,
};
use connectors::mqtt::{LinkOptions, ReceivedMessage};
use connectors::{MqttConfig, MqttLink, Setpoint, SetpointPublisher, Simulator};
use tokio::sync::broadcast;
use tokio::time::timeout;

/// Re-run by `RestartableBroker` as a broker process; does nothing in a normal run.
#[test]
#[ignore = "helper: runs a broker when AEMS_BROKER_CHILD_PORT is set"]
fn broker_child() {
    broker::broker_child();
}

fn unique(name: &str) -> String {
    // Distinct districts keep tests on a shared external broker apart.
    format!("{name}{}", std::process::id())
}

fn config(host: &str, port: u16) -> MqttConfig {
    let mut c = MqttConfig::new(host, port);
    c.keep_alive_s = 5;
    c.reconnect_max_ms = 300;
    c
}

/// Collects messages until `done` holds (or the time limit).
async fn collect_until(
    rx: &mut broadcast::Receiver<ReceivedMessage>,
    mut done: impl FnMut(&BTreeMap<String, ReceivedMessage>) -> bool,
) -> BTreeMap<String, ReceivedMessage> {
    let mut got = BTreeMap::new();
    while !done(&got) {
        match timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Ok(m)) => {
                got.insert(m.topic.clone(), m);
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            _ => break,
        }
    }
    got
}

fn subscriber(cfg: &MqttConfig, district: &str, name: &str, filter: &str) -> MqttLink {
    let mut o = LinkOptions::plain(format!("{name}-{}", std::process::id()));
    o.subscribe = vec![filter.to_string()];
    MqttLink::start(cfg, district, o).unwrap()
}

#[tokio::test]
async fn setpoints_schedule_and_status_follow_the_schema() {
    timeout(LIMIT, async {
        init_logs();
        let b = TestBroker::start();
        let cfg = config(&b.host, b.port);
        let d = unique("schema");
        let engine =
            Arc::new(MqttLink::start(&cfg, &d, LinkOptions::engine(format!("aems-{d}"))).unwrap());
        assert!(
            engine.wait_connected(Duration::from_secs(10)).await,
            "{}",
            b.kind
        );
        let publisher = SetpointPublisher::new(engine.clone());
        publisher.publish_setpoint(&Setpoint::new("hub_bat", "power_kw", -200.0, "kW"), None);
        publisher.publish_setpoint(
            &Setpoint::new("office_ac", "zone_setpoint_c", 24.5, "°C"),
            None,
        );
        let schedule = ScheduleMessage {
            v: schema::SCHEMA_VERSION,
            district: d.clone(),
            time: chrono::Utc::now(),
            start: "2025-08-04T00:00:00+09:00".into(),
            step_minutes: 30,
            steps: 2,
            series: vec![ScheduleSeries {
                asset: "hub_bat".into(),
                quantity: "power_kw".into(),
                unit: "kW".into(),
                values: vec![-200.0, 150.0],
            }],
        };
        publisher.publish_schedule(&schedule);
        assert!(engine.flush(Duration::from_secs(10)).await);

        // A consumer arriving later gets the retained state.
        let t = engine.topics().clone();
        let sub = subscriber(&cfg, &d, "late", &format!("{}/#", t.prefix()));
        let mut rx = sub.messages();
        let want = [
            t.setpoint("hub_bat", "power_kw"),
            t.setpoint("office_ac", "zone_setpoint_c"),
            t.schedule(),
            t.status(),
        ];
        let got = collect_until(&mut rx, |g| want.iter().all(|w| g.contains_key(w))).await;
        for w in &want {
            let m = got
                .get(w)
                .unwrap_or_else(|| panic!("{w} not received from {}", b.kind));
            assert!(m.retain, "{w} should be retained");
        }
        let sp: SetpointMessage = schema::parse(&got[&want[0]].payload).unwrap();
        assert_eq!(
            sp.setpoint(),
            Setpoint::new("hub_bat", "power_kw", -200.0, "kW")
        );
        let sc: ScheduleMessage = schema::parse(&got[&want[2]].payload).unwrap();
        assert_eq!(sc.series, schedule.series);
        let st: StatusMessage = schema::parse(&got[&want[3]].payload).unwrap();
        assert_eq!(st.state, "online");
        drop(publisher);
        Arc::try_unwrap(engine)
            .unwrap()
            .close(Duration::from_secs(5))
            .await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn the_last_will_says_offline_when_the_engine_dies() {
    timeout(LIMIT, async {
        init_logs();
        let b = TestBroker::start();
        let cfg = config(&b.host, b.port);
        let d = unique("will");
        let engine = MqttLink::start(&cfg, &d, LinkOptions::engine(format!("aems-{d}"))).unwrap();
        assert!(engine.wait_connected(Duration::from_secs(10)).await);
        assert!(engine.flush(Duration::from_secs(10)).await);
        let status = engine.topics().status();
        let sub = subscriber(&cfg, &d, "watch", &status);
        let mut rx = sub.messages();
        assert!(sub.wait_connected(Duration::from_secs(10)).await);
        let online = collect_until(&mut rx, |g| g.contains_key(&status)).await;
        let st: StatusMessage = schema::parse(&online[&status].payload).unwrap();
        assert_eq!(st.state, "online");
        engine.kill();
        let offline = collect_until(&mut rx, |g| {
            g.get(&status).is_some_and(|m| {
                schema::parse::<StatusMessage>(&m.payload).is_ok_and(|s| s.state == "offline")
            })
        })
        .await;
        assert!(
            offline.contains_key(&status),
            "no last will from {}",
            b.kind
        );
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn setpoints_queued_while_the_broker_is_absent_at_start_are_delivered() {
    timeout(LIMIT, async {
        init_logs();
        let mut b = RestartableBroker::not_started();
        let cfg = config("127.0.0.1", b.port);
        let d = unique("absent");
        let engine =
            Arc::new(MqttLink::start(&cfg, &d, LinkOptions::engine(format!("aems-{d}"))).unwrap());
        let publisher = SetpointPublisher::new(engine.clone());
        for (i, asset) in ["a1", "a2", "a3"].iter().enumerate() {
            publisher.publish_setpoint(&Setpoint::new(*asset, "power_kw", i as f64, "kW"), None);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!engine.status().connected);
        assert_eq!(engine.pending(), 3);
        assert!(engine.status().last_error.is_some());
        b.spawn();
        assert!(
            engine.wait_connected(Duration::from_secs(10)).await,
            "{}",
            b.kind()
        );
        assert!(engine.flush(Duration::from_secs(10)).await);
        let t = engine.topics().clone();
        let sub = subscriber(&cfg, &d, "after", &t.all_setpoints());
        let mut rx = sub.messages();
        let want: Vec<String> = ["a1", "a2", "a3"]
            .iter()
            .map(|a| t.setpoint(a, "power_kw"))
            .collect();
        let got = collect_until(&mut rx, |g| want.iter().all(|w| g.contains_key(w))).await;
        for (i, w) in want.iter().enumerate() {
            let m: SetpointMessage =
                schema::parse(&got.get(w).expect("setpoint lost").payload).unwrap();
            assert_eq!(m.value, i as f64);
        }
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn no_queued_setpoint_is_lost_when_the_broker_restarts_mid_session() {
    timeout(LIMIT, async {
        init_logs();
        let mut b = RestartableBroker::start();
        let cfg = config("127.0.0.1", b.port);
        let d = unique("restart");
        let engine =
            Arc::new(MqttLink::start(&cfg, &d, LinkOptions::engine(format!("aems-{d}"))).unwrap());
        assert!(
            engine.wait_connected(Duration::from_secs(10)).await,
            "{}",
            b.kind()
        );
        let publisher = SetpointPublisher::new(engine.clone());
        publisher.publish_setpoint(&Setpoint::new("before", "power_kw", 1.0, "kW"), None);
        assert!(engine.flush(Duration::from_secs(10)).await);

        b.kill();
        // Queued while the broker is down (and while the link notices it is).
        let assets: Vec<String> = (0..20).map(|i| format!("queued{i}")).collect();
        for (i, a) in assets.iter().enumerate() {
            publisher.publish_setpoint(&Setpoint::new(a, "power_kw", i as f64, "kW"), None);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        b.spawn();
        assert!(
            engine.flush(Duration::from_secs(10)).await,
            "outbox not drained"
        );
        assert!(engine.status().connections >= 2);

        let t = engine.topics().clone();
        let sub = subscriber(&cfg, &d, "check", &t.all_setpoints());
        let mut rx = sub.messages();
        let want: Vec<String> = assets.iter().map(|a| t.setpoint(a, "power_kw")).collect();
        let got = collect_until(&mut rx, |g| want.iter().all(|w| g.contains_key(w))).await;
        for (i, w) in want.iter().enumerate() {
            let m = got
                .get(w)
                .unwrap_or_else(|| panic!("{w} lost across the restart ({})", b.kind()));
            let sp: SetpointMessage = schema::parse(&m.payload).unwrap();
            assert_eq!(sp.value, i as f64);
        }
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn telemetry_published_by_the_simulator_reaches_the_engine() {
    timeout(LIMIT, async {
        init_logs();
        let b = TestBroker::start();
        let cfg = config(&b.host, b.port);
        let mut dist = district();
        dist.district = unique("tele");
        let mut devs = devices();
        devs.district = dist.district.clone();
        let engine = MqttLink::start(
            &cfg,
            &dist.district,
            LinkOptions::engine(format!("aems-{}", dist.district)),
        )
        .unwrap();
        assert!(engine.wait_connected(Duration::from_secs(10)).await);
        let mut sim = Simulator::start(dist.clone(), &devs).await.unwrap();
        let sim_link = Arc::new(
            MqttLink::start(
                &cfg,
                &dist.district,
                LinkOptions::plain(format!("sim-{}", dist.district)),
            )
            .unwrap(),
        );
        assert!(sim_link.wait_connected(Duration::from_secs(10)).await);
        sim.publish_telemetry(sim_link.clone(), Duration::from_millis(100));
        let mut t = engine.telemetry();
        for _ in 0..100 {
            if t.assets.len() == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            t = engine.telemetry();
        }
        assert_eq!(t.assets.len(), 5, "telemetry of {:?} only", t.assets.keys());
        for asset in ["bat", "home_bat", "ac", "chp", "pcc"] {
            assert_eq!(t.assets[asset].values, sim.readings(asset), "{asset}");
        }
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn username_and_password_come_from_the_config() {
    // Always the embedded broker: it is the one this test can configure with users.
    timeout(LIMIT, async {
        init_logs();
        let port = broker::free_port();
        let mut users = HashMap::new();
        users.insert("aems".to_string(), "s3cret".to_string());
        broker::spawn_rumqttd(port, Some(users));
        let mut cfg = config("127.0.0.1", port);
        cfg.username = Some("aems".into());
        cfg.password_env = Some("AEMS_TEST_MQTT_PASSWORD_UNSET".into());
        // A password variable that is not set is a configuration error, said at once.
        let err = MqttLink::start(&cfg, "auth", LinkOptions::plain("x")).unwrap_err();
        assert!(err.contains("AEMS_TEST_MQTT_PASSWORD_UNSET"), "{err}");
        cfg.password_env = None;
        cfg.password = Some("wrong".into());
        let bad = MqttLink::start(&cfg, "auth", LinkOptions::plain("bad")).unwrap();
        let mut st = bad.status();
        for _ in 0..100 {
            if st.last_error.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            st = bad.status();
        }
        assert!(!st.connected);
        assert!(st.last_error.is_some(), "a refused login must be reported");
        cfg.password = Some("s3cret".into());
        let good = MqttLink::start(&cfg, "auth", LinkOptions::plain("good")).unwrap();
        assert!(good.wait_connected(Duration::from_secs(10)).await);
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn tls_files_that_cannot_be_used_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let mut cfg = MqttConfig::new("127.0.0.1", 8883);
    cfg.tls = Some(TlsConfig {
        ca_file: Some(ca.clone()),
        client_cert_file: None,
        client_key_file: None,
    });
    let err = MqttLink::start(&cfg, "tls", LinkOptions::plain("tls")).unwrap_err();
    assert!(err.contains("ca.pem"), "{err}");
}

/// A CA, and a server certificate for 127.0.0.1 and localhost signed by it, as PEM files.
fn certificates(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let ca = dir.join(format!("{name}-ca.pem"));
    let crt = dir.join(format!("{name}-server.pem"));
    let k = dir.join(format!("{name}-server.key"));
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (ca, crt, k)
}

#[tokio::test]
async fn tls_from_the_config_connects_to_a_tls_broker_and_checks_its_certificate() {
    // Always the embedded broker, with a TLS listener and certificates made here.
    timeout(LIMIT, async {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path(), "good");
        let (other_ca, _, _) = certificates(dir.path(), "other");
        let port = broker::free_port();
        broker::spawn_rumqttd_tls(port, &cert, &key);
        let mut cfg = config("127.0.0.1", port);
        cfg.tls = Some(TlsConfig {
            ca_file: Some(ca),
            client_cert_file: None,
            client_key_file: None,
        });
        let d = unique("tls");
        let engine =
            Arc::new(MqttLink::start(&cfg, &d, LinkOptions::engine(format!("aems-{d}"))).unwrap());
        assert!(
            engine.wait_connected(Duration::from_secs(10)).await,
            "{:?}",
            engine.status()
        );
        SetpointPublisher::new(engine.clone())
            .publish_setpoint(&Setpoint::new("hub_bat", "power_kw", 12.5, "kW"), None);
        assert!(engine.flush(Duration::from_secs(10)).await);
        let t = engine.topics().clone();
        let sub = subscriber(&cfg, &d, "tls-sub", &t.all_setpoints());
        let mut rx = sub.messages();
        let topic = t.setpoint("hub_bat", "power_kw");
        let got = collect_until(&mut rx, |g| g.contains_key(&topic)).await;
        let m: SetpointMessage =
            schema::parse(&got.get(&topic).expect("not received over TLS").payload).unwrap();
        assert_eq!(m.value, 12.5);
        // A broker whose certificate another CA signed is not trusted.
        cfg.tls = Some(TlsConfig {
            ca_file: Some(other_ca),
            client_cert_file: None,
            client_key_file: None,
        });
        let wrong = MqttLink::start(&cfg, &d, LinkOptions::plain("tls-wrong")).unwrap();
        let mut st = wrong.status();
        for _ in 0..100 {
            if st.last_error.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            st = wrong.status();
        }
        assert!(!st.connected);
        let e = st.last_error.unwrap_or_default();
        assert!(e.to_lowercase().contains("certificate"), "{e}");
    })
    .await
    .expect("test hung");
}
