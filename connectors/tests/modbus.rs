//! Modbus TCP end to end on 127.0.0.1: the engine-side client (Fleet, ModbusDevice) against
//! the simulator's tokio-modbus server, every profile; safety; faults. Every test is bounded
//! by a timeout.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{devices, district, init_logs, LIMIT};
use connectors::profile::RegisterKind;
use connectors::sim::Fault;
use connectors::{Fleet, Setpoint, Simulator, WriteOutcome};
use tokio::time::timeout;

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
async fn every_profile_reads_writes_and_reads_back() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        // One TCP connection for the five unit ids behind 127.0.0.1:port.
        assert_eq!(fleet.links().len(), 1);

        let t = fleet.read_all().await;
        assert_eq!(t.assets.len(), 5);
        for a in t.assets.values() {
            assert_eq!(a.error, None, "{}", a.asset);
            // What the client decodes is what the simulator's registers hold.
            assert_eq!(a.values, sim.readings(&a.asset), "{}", a.asset);
        }
        assert!((t.value("bat", "soc_pct").unwrap() - 50.0).abs() < 0.1);
        assert!((t.value("home_bat", "soc_pct").unwrap() - 50.0).abs() < 0.01);
        assert!((t.value("ac", "zone_temp_c").unwrap() - 27.0).abs() < 0.11);
        assert_eq!(t.value("bat", "dc_voltage_v"), Some(768.0));

        // Battery inverter: take control (acquire) and charge at 50 kW.
        let rec = fleet.write(&sp("bat", "power_kw", -50.0, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.written, Some(-50.0));
        assert_eq!(rec.register.as_deref(), Some("holding 40001 (i32)"));
        // SunSpec storage: forced discharge window 60 % of WChaMax (5 kW) = 3 kW.
        for (q, v) in [("discharge_rate_pct", 60.0), ("charge_rate_pct", -60.0)] {
            let rec = fleet.write(&sp("home_bat", q, v, "%")).await;
            assert!(rec.is_confirmed(), "{rec:?}");
        }
        // HVAC: on, zone setpoint 25.5 °C (a 4 K ramp limit from the local 25 °C).
        for (q, v, u) in [("on", 1.0, ""), ("zone_setpoint_c", 25.5, "°C")] {
            let rec = fleet.write(&sp("ac", q, v, u)).await;
            assert!(rec.is_confirmed(), "{rec:?}");
        }
        // Gas engine: start at 300 kW.
        for (q, v, u) in [("on", 1.0, ""), ("power_kw", 300.0, "kW")] {
            let rec = fleet.write(&sp("chp", q, v, u)).await;
            assert!(rec.is_confirmed(), "{rec:?}");
        }
        // The meter has nothing writable.
        let rec = fleet.write(&sp("pcc", "power_kw", 1.0, "kW")).await;
        assert!(rec.is_refused(), "{rec:?}");

        // Fifteen simulated minutes.
        sim.step(Duration::from_secs(900));
        let t = fleet.read_all().await;
        let e = sim.physics("bat")["energy_kwh"];
        assert!((e - (100.0 + 0.95 * 50.0 * 0.25)).abs() < 1e-6, "{e}");
        assert!((t.value("bat", "power_kw").unwrap() + 50.0).abs() < 1e-3);
        assert!((t.value("bat", "energy_kwh").unwrap() - e).abs() < 1e-3);
        assert!((t.value("home_bat", "power_kw").unwrap() - 3.0).abs() < 0.011);
        assert!((sim.physics("home_bat")["power_kw"] - 3.0).abs() < 1e-9);
        assert_eq!(t.value("chp", "power_kw"), Some(300.0));
        assert_eq!(t.value("chp", "running"), Some(1.0));
        // Full power (80 kW × COP 3) against 120 kW from outdoors and 20 kW of gains:
        // θ = a·27 + (1 − a)·(33 + 0.05·(20 − 240)), a = exp(−0.25 / 2) ≈ 26.41 °C.
        let zone = t.value("ac", "zone_temp_c").unwrap();
        let a = (-0.25f64 / 2.0).exp();
        let want = a * 27.0 + (1.0 - a) * (33.0 + 0.05 * (20.0 - 240.0));
        assert!((zone - want).abs() < 0.051, "zone {zone}, expected {want}");
        assert_eq!(t.value("ac", "power_kw"), Some(80.0));
        // The meter sums the nodes: loads − PV − battery − generator + HVAC.
        let ac_kw = sim.physics("ac")["power_kw"];
        let want = 100.0 - 30.0 + 50.0 - 3.0 - 300.0 + ac_kw;
        assert!(
            (t.value("pcc", "power_kw").unwrap() - want).abs() < 1e-2,
            "{want}"
        );
        assert!(t.value("pcc", "export_kwh").unwrap() > 0.0);

        fleet.close().await;
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn out_of_range_setpoints_are_clamped_or_refused_and_logged() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        // 500 kW is beyond the device's limits [-100, 100] (narrower than the profile's
        // ±1000): clamped to 100, written, confirmed.
        let rec = fleet.write(&sp("bat", "power_kw", 500.0, "kW")).await;
        assert!(rec.is_confirmed(), "{rec:?}");
        assert_eq!(rec.requested, 500.0);
        assert_eq!(rec.written, Some(100.0));
        assert!(rec
            .clamped
            .as_deref()
            .unwrap()
            .contains("outside the limits [-100, 100]"));
        assert_eq!(sim.readings("bat")["power_setpoint_kw"].value, Some(100.0));
        // The ramp limit of the HVAC setpoint (4 K from the present 25 °C).
        assert!(fleet.write(&sp("ac", "on", 1.0, "")).await.is_confirmed());
        let rec = fleet.write(&sp("ac", "zone_setpoint_c", 18.0, "°C")).await;
        assert_eq!(rec.written, Some(21.0), "{rec:?}");
        assert!(rec.clamped.as_deref().unwrap().contains("ramp limit"));
        // `out_of_range = "refuse"`: nothing is sent.
        let before = sim.write_count("bat");
        let rec = fleet.write(&sp("bat", "control_mode", 5.0, "")).await;
        assert!(rec.is_refused(), "{rec:?}");
        assert_eq!(rec.written, None);
        assert_eq!(sim.write_count("bat"), before);
        // Not finite, wrong unit, unknown asset: refused.
        for s in [
            sp("bat", "power_kw", f64::NAN, "kW"),
            sp("bat", "power_kw", 10.0, "W"),
            sp("nobody", "power_kw", 10.0, "kW"),
        ] {
            let rec = fleet.write(&s).await;
            assert!(rec.is_refused(), "{rec:?}");
        }
        assert_eq!(sim.write_count("bat"), before);
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn a_register_not_declared_writable_is_never_written() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        let bat = fleet.device("bat").unwrap();
        let profile = &bat.entry().profile;
        let before = sim.write_count("bat");
        // The only write path takes quantities: undeclared and read-only ones are refused.
        let rec = fleet.write(&sp("bat", "soc_pct", 90.0, "%")).await;
        match &rec.outcome {
            WriteOutcome::Refused { reason } => assert!(reason.contains("read-only"), "{reason}"),
            o => panic!("{o:?}"),
        }
        let rec = fleet.write(&sp("bat", "voltage_v", 230.0, "V")).await;
        match &rec.outcome {
            WriteOutcome::Refused { reason } => {
                assert!(reason.contains("not a writable point"), "{reason}")
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            sim.write_count("bat"),
            before,
            "something reached the device"
        );
        // Under it, the register ranges the device accepts are exactly the declared ones.
        for (kind, address, count) in [
            (RegisterKind::Holding, 40002, 1), // half of the i32 power setpoint
            (RegisterKind::Holding, 40010, 1), // nothing there
            (RegisterKind::Input, 30001, 1),   // SOC: input registers are read-only
            (RegisterKind::Holding, 40000, 5), // runs past the setpoints
        ] {
            assert!(
                !profile.is_writable_range(kind, address, count),
                "{kind} {address} x{count}"
            );
        }
        for p in &profile.setpoints {
            let r = p.point.register;
            assert!(profile.is_writable_range(r.kind, r.address, r.len()));
        }
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn a_device_that_times_out_gives_a_timeout_error_then_recovers() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        sim.set_fault("chp", Some(Fault::NoResponse)).unwrap();
        let a = fleet.device("chp").unwrap().read().await;
        let err = a.error.expect("a silent device must be an error");
        assert!(err.starts_with("transport: no answer"), "{err}");
        let rec = fleet.write(&sp("chp", "power_kw", 200.0, "kW")).await;
        assert!(
            matches!(rec.outcome, WriteOutcome::Failed { .. }),
            "{rec:?}"
        );
        // The other devices behind the same connection are unaffected, and the device
        // answers again once it recovers (the link reconnected).
        assert_eq!(fleet.device("bat").unwrap().read().await.error, None);
        sim.set_fault("chp", None).unwrap();
        assert_eq!(fleet.device("chp").unwrap().read().await.error, None);
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn a_device_exception_is_kept_apart_from_transport_errors() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        sim.set_fault("ac", Some(Fault::Exception(4))).unwrap();
        let dev = fleet.device("ac").unwrap();
        let err = dev
            .link()
            .read(dev.entry().unit_id, RegisterKind::Input, 0, 4)
            .await
            .unwrap_err();
        assert!(err.is_device_exception(), "{err}");
        assert_eq!(err.kind(), "exception");
        assert!(err.to_string().contains("server device failure"), "{err}");
        let rec = fleet.write(&sp("ac", "zone_setpoint_c", 24.0, "°C")).await;
        match &rec.outcome {
            WriteOutcome::Failed { kind, error } => {
                assert_eq!(kind, "acquire");
                assert!(error.contains("device exception"), "{error}");
            }
            o => panic!("{o:?}"),
        }
        // A device exception does not break the connection.
        assert_eq!(fleet.device("bat").unwrap().read().await.error, None);
        sim.set_fault("ac", None).unwrap();
        assert!(fleet
            .write(&sp("ac", "zone_setpoint_c", 24.0, "°C"))
            .await
            .is_confirmed());
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn a_device_that_closes_the_connection_is_a_transport_error_then_reconnects() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        assert_eq!(fleet.device("pcc").unwrap().read().await.error, None);
        sim.set_fault("pcc", Some(Fault::CloseConnection)).unwrap();
        let dev = fleet.device("pcc").unwrap();
        let err = dev
            .link()
            .read(dev.entry().unit_id, RegisterKind::Input, 0, 2)
            .await
            .unwrap_err();
        assert!(!err.is_device_exception(), "{err}");
        assert!(matches!(err.kind(), "transport" | "timeout"), "{err}");
        sim.set_fault("pcc", None).unwrap();
        assert_eq!(fleet.device("pcc").unwrap().read().await.error, None);
        // After losing contact, a device is taken under control again (it may have
        // restarted in local mode): the next setpoint is preceded by the acquire writes.
        assert!(fleet
            .write(&sp("bat", "power_kw", 10.0, "kW"))
            .await
            .is_confirmed());
        let before = sim.write_count("bat");
        sim.set_fault("bat", Some(Fault::CloseConnection)).unwrap();
        assert!(fleet.device("bat").unwrap().read().await.error.is_some());
        sim.set_fault("bat", None).unwrap();
        assert!(fleet
            .write(&sp("bat", "power_kw", 20.0, "kW"))
            .await
            .is_confirmed());
        // watchdog_s, control_mode, power_kw
        assert_eq!(sim.write_count("bat"), before + 3);
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn an_absent_device_is_a_transport_error_not_a_hang() {
    timeout(LIMIT, async {
        init_logs();
        // A port nobody listens on: bind one, note it, close it.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cfg = devices();
        for d in &mut cfg.devices {
            d.port = port;
        }
        let fleet = Fleet::new(cfg);
        let t = fleet.read_all().await;
        for a in t.assets.values() {
            let e = a.error.as_deref().expect("no device there");
            assert!(e.starts_with("transport:"), "{e}");
        }
        let rec = fleet.write(&sp("bat", "power_kw", 10.0, "kW")).await;
        assert!(
            matches!(rec.outcome, WriteOutcome::Failed { .. }),
            "{rec:?}"
        );
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn expiring_setpoints_are_refreshed_and_revert_when_not() {
    timeout(LIMIT, async {
        init_logs();
        // The battery profile with a short refresh period (1 s; the simulated device drops
        // the setpoint after 2 s without a write).
        let mut cfg = devices();
        let mut profile = (*cfg.devices[0].profile).clone();
        for p in &mut profile.setpoints {
            if p.point.name == "power_kw" {
                p.refresh_s = Some(1.0);
            }
        }
        cfg.devices[0].profile = Arc::new(profile);
        let sim = Simulator::start(district(), &cfg).await.unwrap();
        let fleet = Fleet::new(sim.devices().clone());
        assert!(fleet
            .write(&sp("bat", "power_kw", 40.0, "kW"))
            .await
            .is_confirmed());
        sim.step(Duration::from_secs(1));
        assert!((sim.physics("bat")["power_kw"] - 40.0).abs() < 1e-9);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = sim.write_count("bat");
        let recs = fleet.refresh().await;
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert!(
            recs[0].is_confirmed() && recs[0].written == Some(40.0),
            "{recs:?}"
        );
        assert_eq!(sim.write_count("bat"), before + 1);
        // Without refreshes the device drops the setpoint (to idle).
        tokio::time::sleep(Duration::from_millis(2100)).await;
        sim.step(Duration::from_secs(1));
        assert_eq!(sim.physics("bat")["power_kw"], 0.0);
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn release_hands_devices_back_to_their_own_control() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        assert!(fleet
            .write(&sp("bat", "power_kw", 60.0, "kW"))
            .await
            .is_confirmed());
        assert!(fleet.write(&sp("chp", "on", 1.0, "")).await.is_confirmed());
        assert!(fleet
            .write(&sp("chp", "power_kw", 250.0, "kW"))
            .await
            .is_confirmed());
        sim.step(Duration::from_secs(60));
        assert_eq!(sim.physics("chp")["power_kw"], 250.0);
        let recs = fleet.release_all().await;
        assert!(!recs.is_empty());
        for r in &recs {
            assert!(r.is_confirmed(), "{r:?}");
        }
        sim.step(Duration::from_secs(60));
        assert_eq!(sim.physics("bat")["power_kw"], 0.0);
        assert_eq!(sim.physics("chp")["power_kw"], 0.0);
        assert_eq!(sim.readings("bat")["control_mode"].value, Some(0.0));
        assert!(fleet.device("bat").unwrap().last_written().is_empty());
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

#[tokio::test]
async fn a_dump_decodes_to_the_same_telemetry_and_identification_is_checked() {
    timeout(LIMIT, async {
        let (sim, fleet) = start().await;
        for d in fleet.devices() {
            let dump = d.dump().await.unwrap();
            let text = dump.to_toml();
            let back: connectors::RegisterDump = toml::from_str(&text).unwrap();
            assert_eq!(
                back.decode(d.profile()),
                d.read().await.values,
                "{}",
                d.asset()
            );
        }
        // The SunSpec profile pointed at the plain battery inverter: identification fails
        // and nothing is written.
        let mut cfg = sim.devices().clone();
        cfg.devices[0].profile = cfg.devices[1].profile.clone();
        let wrong = Fleet::new(cfg);
        let before = sim.write_count("bat");
        let rec = wrong.write(&sp("bat", "charge_rate_pct", 50.0, "%")).await;
        match &rec.outcome {
            WriteOutcome::Failed { kind, error } => {
                assert_eq!(kind, "acquire");
                assert!(error.contains("does not identify"), "{error}");
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(sim.write_count("bat"), before);
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}
