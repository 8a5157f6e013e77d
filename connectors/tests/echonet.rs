//! ECHONET Lite end to end on 127.0.0.1: the AEMS's client (Fleet, EchonetDevice,
//! EchonetLink) against the simulator's ECHONET node (storage battery, air conditioner,
//! smart meter, PV): discovery, reads, safe writes with read-back, physics following;
//! malformed frames; the devices.toml extension. Every test is bounded by a timeout.

mod common;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{district, init_logs, LIMIT};
use connectors::echonet::frame::{esv, Eoj, Frame, Property};
use connectors::echonet::{EchonetLink, EchonetSettings};
use connectors::{DevicesConfig, Fleet, Setpoint, Simulator, WriteOutcome};
use tokio::time::timeout;

const DEVICES: &str = r#"
[district]
id = "testdistrict"

[echonet]
bind = "127.0.0.1:0"
timeout_ms = 300
retries = 1

[[device]]
asset = "home_bat"
protocol = "echonet"
class = "storage_battery"
host = "127.0.0.1"
port = 0
eoj = "0x027D01"
limits = { power_kw = [-3.0, 3.0] }

[[device]]
asset = "ac"
protocol = "echonet"
class = "home_air_conditioner"
host = "127.0.0.1"
port = 0

[[device]]
asset = "pcc"
protocol = "echonet"
class = "low_voltage_smart_meter"
host = "127.0.0.1"
port = 0

[[device]]
asset = "office"
protocol = "echonet"
class = "home_solar"
host = "127.0.0.1"
port = 0
"#;

fn devices() -> DevicesConfig {
    DevicesConfig::parse(Path::new("devices.toml"), DEVICES).unwrap()
}

async fn start() -> (Simulator, Fleet) {
    init_logs();
    let sim = Simulator::start(district(), &devices()).await.unwrap();
    let fleet = Fleet::new(sim.devices().clone());
    (sim, fleet)
}

fn sp(asset: &str, q: &str, v: f64, unit: &str) -> Setpoint {
    Setpoint::new(asset, q, v, unit)
}

#[tokio::test]
async fn simulated_battery_is_discovered_read_driven_and_follows_the_physics() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        let addr = sim.addr_of("home_bat").unwrap();
        // One node for the four objects (one endpoint).
        for a in ["ac", "pcc", "office"] {
            assert_eq!(sim.addr_of(a), Some(addr));
        }

        // Discovery, unicast to the node (multicast does not loop back everywhere).
        let nodes = fleet
            .echonet_link()
            .discover(addr, Duration::from_millis(500))
            .await
            .unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].addr, addr);
        let mut objs = nodes[0].objects.clone();
        objs.sort();
        let mut want = vec![
            Eoj::of_class(0x027D, 1),
            Eoj::of_class(0x0130, 1),
            Eoj::of_class(0x0288, 1),
            Eoj::of_class(0x0279, 1),
        ];
        want.sort();
        assert_eq!(objs, want);

        // Read: what the client decodes is what the simulated properties hold.
        let t = fleet.read_all().await;
        assert_eq!(t.assets.len(), 4);
        for a in t.assets.values() {
            assert_eq!(a.error, None, "{}", a.asset);
            assert_eq!(a.values, sim.readings(&a.asset), "{}", a.asset);
        }
        assert_eq!(t.value("home_bat", "soc_pct"), Some(50.0));
        assert_eq!(t.value("home_bat", "power_kw"), Some(0.0));
        assert_eq!(t.value("office", "pv_kw"), Some(30.0));
        assert_eq!(t.value("ac", "zone_temp_c"), Some(27.0));
        assert_eq!(t.value("ac", "zone_setpoint_c"), Some(25.0));

        // Charge at 1.5 kW: mode 0x42 + charging power 0xEB = 1500 W in one SetC, read back.
        let rec = fleet.write(&sp("home_bat", "power_kw", -1.5, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.written, Some(-1.5));
        assert_eq!(rec.register.as_deref(), Some("EPC 0xDA + EPC 0xEB"));
        assert_eq!(rec.words, vec![0x42, 0x00, 0x00, 0x05, 0xDC]);
        assert_eq!(sim.write_count("home_bat"), 1);

        // Fifteen simulated minutes: the battery charged as told.
        sim.step(Duration::from_secs(900));
        let e = sim.physics("home_bat")["energy_kwh"];
        assert!((e - (5.0 + 0.95 * 1.5 * 0.25)).abs() < 1e-9, "{e}");
        let t = fleet.read_all().await;
        assert_eq!(t.value("home_bat", "power_kw"), Some(-1.5));
        assert_eq!(
            t.value("home_bat", "soc_pct"),
            Some((100.0 * e / 10.0).round())
        );

        // Beyond the device's limits [-3, 3] kW: clamped before anything is encoded.
        let rec = fleet.write(&sp("home_bat", "power_kw", -8.0, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.written, Some(-3.0));
        assert!(
            rec.clamped.as_deref().unwrap().contains("[-3, 3]"),
            "{rec:?}"
        );
        // Discharge 2 kW: mode 0x43 + discharging power 0xEC.
        let rec = fleet.write(&sp("home_bat", "power_kw", 2.0, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.register.as_deref(), Some("EPC 0xDA + EPC 0xEC"));
        sim.step(Duration::from_secs(60));
        assert!((sim.physics("home_bat")["power_kw"] - 2.0).abs() < 1e-9);
        // Standby.
        let rec = fleet.write(&sp("home_bat", "power_kw", 0.0, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(sim.physics("home_bat")["power_kw"], 0.0);

        // Air conditioner: set temperature within [16, 30] °C, clamped beyond.
        let rec = fleet.write(&sp("ac", "zone_setpoint_c", 24.0, "°C")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.register.as_deref(), Some("EPC 0xB3"));
        let rec = fleet.write(&sp("ac", "zone_setpoint_c", 40.0, "°C")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.written, Some(30.0));

        // Read-only, unknown, wrong unit, unknown asset: refused, nothing sent.
        let before = sim.write_count("home_bat");
        for (a, q, u) in [
            ("home_bat", "soc_pct", "%"),
            ("home_bat", "zone_setpoint_c", "°C"),
            ("home_bat", "power_kw", "W"),
            ("pcc", "power_kw", "kW"),
        ] {
            let rec = fleet.write(&sp(a, q, 1.0, u)).await;
            assert!(rec.is_refused(), "{a}.{q}: {rec:?}");
        }
        assert_eq!(sim.write_count("home_bat"), before);
        let rec = fleet
            .write(&sp("home_bat", "power_kw", f64::NAN, "kW"))
            .await;
        assert!(rec.is_refused(), "{rec:?}");

        // Released: the battery's mode back to auto (0x46), read back; it runs itself.
        let recs = fleet.release_all().await;
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert!(recs[0].is_confirmed(), "{recs:?}");
        assert_eq!(recs[0].register.as_deref(), Some("EPC 0xDA"));
        let t = fleet.read_all().await;
        assert_eq!(t.value("home_bat", "mode_code"), Some(f64::from(0x46)));
        sim.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_simulated_device_refuses_a_set_beyond_its_limits_or_not_writable() {
    timeout(LIMIT, async {
        let (sim, _fleet) = start().await;
        let addr = sim.addr_of("home_bat").unwrap();
        let link = EchonetLink::new(EchonetSettings {
            bind: "127.0.0.1:0".into(),
            timeout_ms: 300,
            retries: 1,
        });
        let bat = Eoj::of_class(0x027D, 1);
        // Charging 20 kW (the device's limit is 3 kW): SetC_SNA, nothing stored.
        let f = link
            .request(
                addr,
                bat,
                esv::SET_C,
                vec![
                    Property::new(0xDA, vec![0x42]),
                    Property::new(0xEB, 20_000u32.to_be_bytes().to_vec()),
                ],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.esv, esv::SET_C_SNA);
        // SOC is read-only.
        let f = link
            .request(addr, bat, esv::SET_C, vec![Property::new(0xE4, vec![90])])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.esv, esv::SET_C_SNA);
        assert_eq!(sim.write_count("home_bat"), 0);
        // A Get of an unknown property: Get_SNA with PDC 0 for it.
        let f = link
            .request(
                addr,
                bat,
                esv::GET,
                vec![Property::request(0xE4), Property::request(0xF5)],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.esv, esv::GET_SNA);
        assert_eq!(f.props[0], Property::new(0xE4, vec![50]));
        assert_eq!(f.props[1], Property::request(0xF5));
        // An object the node does not have gets no answer.
        let e = link
            .request(
                addr,
                Eoj::of_class(0x027D, 2),
                esv::GET,
                vec![Property::request(0xE4)],
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "timeout");
        sim.shutdown().await;
    })
    .await
    .unwrap();
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A fake device on 127.0.0.1 answering each request with `answers(request)`.
fn fake_device(answers: impl Fn(&Frame) -> Vec<Vec<u8>> + Send + 'static) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(req) = Frame::decode(&buf[..n]) else {
                continue;
            };
            for a in answers(&req) {
                let _ = sock.send_to(&a, from);
            }
        }
    });
    addr
}

fn get_res(req: &Frame, props: Vec<Property>) -> Vec<u8> {
    Frame {
        tid: req.tid,
        seoj: req.deoj,
        deoj: req.seoj,
        esv: esv::GET_RES,
        props,
    }
    .encode()
    .unwrap()
}

#[tokio::test]
async fn malformed_frames_are_logged_with_the_reason_and_dropped() {
    let logs = Logs::default();
    let sink = logs.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_env_filter("aems=debug")
        .finish();
    let _guard = tracing::subscriber::set_default(sub);
    timeout(LIMIT, async {
        // A device that first sends a frame whose PDC says 4 bytes but 2 follow, a
        // truncated header, an answer with another TID, then the right answer.
        let addr = fake_device(|req| {
            let mut short = get_res(req, vec![Property::new(0xE4, vec![42])]);
            short.truncate(short.len() - 1);
            let mut bad = get_res(req, vec![Property::new(0xD3, vec![0, 0])]);
            let n = bad.len();
            bad[n - 3] = 4; // PDC 4, 2 bytes follow
            let mut other = req.clone();
            other.tid = req.tid.wrapping_add(100);
            vec![
                bad,
                vec![0x10, 0x81, 0x00],
                short,
                get_res(&other, vec![Property::new(0xE4, vec![1])]),
                get_res(
                    req,
                    req.props
                        .iter()
                        .map(|p| match p.epc {
                            0xE4 => Property::new(0xE4, vec![42]),
                            0xD3 => Property::new(0xD3, (-500i32).to_be_bytes().to_vec()),
                            e => Property::request(e),
                        })
                        .collect(),
                ),
            ]
        });
        let text = format!(
            "[district]\nid = \"d\"\n[echonet]\nbind = \"127.0.0.1:0\"\ntimeout_ms = 500\nretries = 0\n\
             [[device]]\nasset = \"b\"\nprotocol = \"echonet\"\nclass = \"storage_battery\"\nhost = \"127.0.0.1\"\nport = {}\n",
            addr.port()
        );
        let fleet = Fleet::new(DevicesConfig::parse(Path::new("d.toml"), &text).unwrap());
        let t = fleet.read_all().await;
        let a = &t.assets["b"];
        assert_eq!(a.error, None);
        assert_eq!(a.value("soc_pct"), Some(42.0));
        assert_eq!(a.value("power_kw"), Some(0.5));
        // The properties the answer left out are "not available", not zeros.
        assert_eq!(a.value("charge_power_setting_kw"), None);

        // A device that only ever sends a wrong-length frame: a timeout, no panic.
        let addr = fake_device(|req| {
            let mut b = get_res(req, vec![Property::new(0xE4, vec![42, 0])]);
            let n = b.len();
            b[n - 3] = 7;
            vec![b]
        });
        let link = EchonetLink::new(EchonetSettings {
            bind: "127.0.0.1:0".into(),
            timeout_ms: 200,
            retries: 1,
        });
        let e = link
            .request(addr, Eoj::of_class(0x027D, 1), esv::GET, vec![Property::request(0xE4)])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "timeout");
    })
    .await
    .unwrap();
    let text = logs.text();
    assert!(text.contains("PDC says 4 bytes but 2 follow"), "{text}");
    assert!(text.contains("truncated header: 3 bytes"), "{text}");
    assert!(text.contains("PDC says 7 bytes but 2 follow"), "{text}");
    assert!(text.contains("aems::echonet"), "{text}");
}

#[tokio::test]
async fn the_simulator_drops_malformed_frames_and_keeps_serving() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        let addr = sim.addr_of("home_bat").unwrap();
        let raw = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Get of 0xE4 whose PDC says 4 bytes, none follow; then a truncated header.
        let bad = [
            0x10, 0x81, 0x00, 0x01, 0x05, 0xFF, 0x01, 0x02, 0x7D, 0x01, 0x62, 0x01, 0xE4, 0x04,
        ];
        raw.send_to(&bad, addr).await.unwrap();
        raw.send_to(&bad[..5], addr).await.unwrap();
        let mut buf = [0u8; 64];
        let got = timeout(Duration::from_millis(300), raw.recv_from(&mut buf)).await;
        assert!(got.is_err(), "the simulator answered a malformed frame");
        let t = fleet.read_all().await;
        assert_eq!(t.assets["home_bat"].error, None);
        sim.shutdown().await;
    })
    .await
    .unwrap();
}

#[test]
fn devices_file_errors_name_the_device_and_field() {
    let base = "[district]\nid = \"d\"\n[[device]]\nasset = \"b\"\nprotocol = \"echonet\"\nhost = \"127.0.0.1\"\n";
    for (extra, field, says) in [
        ("class = \"fridge\"\n", "class", "no ECHONET class 'fridge'"),
        ("", "class", "missing"),
        (
            "class = \"storage_battery\"\neoj = \"0x013001\"\n",
            "eoj",
            "not of class",
        ),
        (
            "class = \"storage_battery\"\neoj = \"0x027D\"\n",
            "eoj",
            "six hex digits",
        ),
        (
            "class = \"storage_battery\"\nunit_id = 3\n",
            "unit_id",
            "not for an ECHONET",
        ),
        (
            "class = \"storage_battery\"\nprofile = \"meter\"\n",
            "profile",
            "names a 'class'",
        ),
        (
            "class = \"storage_battery\"\nlimits = { power_kw = [-50.0, 3.0] }\n",
            "limits",
            "wider than the class's",
        ),
        (
            "class = \"storage_battery\"\nlimits = { soc_pct = [0.0, 3.0] }\n",
            "limits",
            "not a writable quantity",
        ),
    ] {
        let text = format!("{base}{extra}");
        let e = DevicesConfig::parse(Path::new("devices.toml"), &text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{extra}: {e}");
        assert!(e.reason.contains(says), "{extra}: {e}");
        assert!(e.table.as_deref().unwrap().contains("'b'"), "{e}");
    }
    let e = DevicesConfig::parse(
        Path::new("devices.toml"),
        "[district]\nid = \"d\"\n[[device]]\nasset = \"b\"\nprotocol = \"bacnet\"\nhost = \"h\"\n",
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("protocol"));
    // An asset is one device, whatever its protocol.
    let e = DevicesConfig::parse(
        Path::new("devices.toml"),
        &format!(
            "{base}class = \"storage_battery\"\n[[device]]\nasset = \"b\"\nprofile = \"meter\"\nhost = \"h\"\nport = 502\n"
        ),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("asset"));
    assert!(e.reason.contains("repeats ([[device]] #0)"), "{e}");
    // Defaults: port 3610, instance 1.
    let d = DevicesConfig::parse(
        Path::new("devices.toml"),
        &format!("{base}class = \"home_solar\"\n"),
    )
    .unwrap();
    let e = &d.echonet_devices[0];
    assert_eq!((e.port, e.eoj), (3610, Eoj::of_class(0x0279, 1)));
    assert!(d.devices.is_empty());
    let _ = WriteOutcome::Confirmed;
}
