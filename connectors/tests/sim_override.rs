//! The simulator's broken sensors (`Simulator::override_reading`): a NaN on the wire in an
//! f32 register, the "not available" pattern in an integer one, a stuck value; the client
//! decodes NaN as "not available", never as a number. Bounded by a timeout.

mod common;

use common::{devices, district, init_logs, LIMIT};
use connectors::{Fleet, Simulator};
use tokio::time::timeout;

#[tokio::test]
async fn a_broken_sensor_reports_nan_or_a_stuck_value_until_repaired() {
    timeout(LIMIT, async {
        init_logs();
        let sim = Simulator::start(district(), &devices()).await.unwrap();
        let fleet = Fleet::new(sim.devices().clone());
        let before = fleet.read_all().await;
        let power = before.value("pcc", "power_kw").expect("the meter reads");

        // NaN in the meter's f32 power register: on the wire, and read as not available.
        sim.override_reading("pcc", "power_kw", Some(f64::NAN))
            .unwrap();
        let t = fleet.read_all().await;
        assert_eq!(t.assets["pcc"].error, None);
        assert_eq!(t.assets["pcc"].values["power_kw"].value, None);
        assert!(
            t.value("pcc", "import_kwh").is_some(),
            "other points unaffected"
        );
        // It stays broken as the physics advance.
        sim.step(std::time::Duration::from_secs(120));
        assert_eq!(fleet.read_all().await.value("pcc", "power_kw"), None);

        // An integer register cannot hold NaN: its "not available" pattern instead.
        sim.override_reading("ac", "zone_temp_c", Some(f64::NAN))
            .unwrap();
        assert_eq!(fleet.read_all().await.value("ac", "zone_temp_c"), None);
        // A stuck value.
        sim.override_reading("ac", "zone_temp_c", Some(55.5))
            .unwrap();
        assert_eq!(
            fleet.read_all().await.value("ac", "zone_temp_c"),
            Some(55.5)
        );

        // Repaired: the physics again.
        sim.override_reading("pcc", "power_kw", None).unwrap();
        sim.override_reading("ac", "zone_temp_c", None).unwrap();
        let t = fleet.read_all().await;
        assert!((t.value("pcc", "power_kw").unwrap() - power).abs() < 50.0);
        assert!(t.value("ac", "zone_temp_c").unwrap() < 40.0);

        // Unknown devices and points are refused with a reason.
        assert!(sim
            .override_reading("nope", "power_kw", None)
            .unwrap_err()
            .contains("nope"));
        assert!(sim
            .override_reading("pcc", "soc_pct", None)
            .unwrap_err()
            .contains("not a telemetry point"));
        fleet.close().await;
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}

/// Two parts of a private network, each behind its own utility connection, joined by a
/// tie line with a switch: the hub (a battery) and the condominiums (50 kW of load, 60 %
/// lifeline). The condominiums' connection is lost: its meter reports the supply gone and
/// nothing imported, the load goes unserved, until the tie is closed over Modbus and
/// carries what they need (and no more than it is set to: short of it, the island sheds
/// by class); the supply back, the meter says so.
#[tokio::test]
async fn a_lost_connection_reads_as_lost_and_a_closed_tie_carries_the_island() {
    use connectors::sim::{Metered, SimConfig, SimMeter};
    use connectors::{DevicesConfig, Setpoint};
    use physics::district::NodeSpec;
    use physics::{DistrictSpec, Grid, Line, Network};
    timeout(LIMIT, async {
        init_logs();
        let steps = 8;
        let grid = |node| Grid {
            node,
            import_limit_kw: f64::INFINITY,
            export_limit_kw: f64::INFINITY,
        };
        let spec = DistrictSpec {
            step_hours: 0.25,
            nodes: vec![
                common::node("hub", 0.0, 0.0, steps),
                NodeSpec {
                    // lifeline, critical, normal, sheddable.
                    classes_kw: vec![[30.0, 0.0, 15.0, 5.0]; steps],
                    ..common::node("condos", 50.0, 0.0, steps)
                },
            ],
            batteries: vec![common::battery("bat", 0, 200.0, 20.0, 190.0, 100.0, 150.0)],
            hvacs: vec![],
            generators: vec![],
            network: Network::new(
                2,
                vec![Line {
                    from: 0,
                    to: 1,
                    capacity_kw: 300.0,
                    loss_fraction: 0.0,
                }],
                vec![grid(0), grid(1)],
            ),
            line_ids: vec!["tie".into()],
            grid_ids: vec!["pcc".into(), "condo_pcc".into()],
            outages: vec![],
        };
        assert_eq!(spec.network.ties(), &[0], "the line joins two connections");
        let config = SimConfig {
            district: "islands".into(),
            start: chrono::DateTime::parse_from_rfc3339("2025-08-04T00:00:00+09:00").unwrap(),
            meters: vec![
                SimMeter {
                    id: "pcc".into(),
                    of: Metered::Grid(0),
                },
                SimMeter {
                    id: "condo_pcc".into(),
                    of: Metered::Grid(1),
                },
            ],
            spec,
        };
        let devices = DevicesConfig::parse(
            std::path::Path::new("islands.toml"),
            r#"
[district]
id = "islands"

[modbus]
timeout_ms = 300
connect_timeout_ms = 300
retries = 1
backoff_ms = 20

[[device]]
asset = "pcc"
profile = "meter"
host = "127.0.0.1"
port = 0
unit_id = 1

[[device]]
asset = "condo_pcc"
profile = "meter"
host = "127.0.0.1"
port = 0
unit_id = 2

[[device]]
asset = "tie"
profile = "tie_switch"
host = "127.0.0.1"
port = 0
unit_id = 3
limits = { power_kw = [-200.0, 200.0] }
"#,
        )
        .unwrap();
        let sim = Simulator::start(config, &devices).await.unwrap();
        let fleet = Fleet::new(sim.devices().clone());
        let t = fleet.read_all().await;
        assert_eq!(t.value("condo_pcc", "grid_available"), Some(1.0));
        assert!((t.value("condo_pcc", "power_kw").unwrap() - 50.0).abs() < 1e-3);
        assert_eq!(t.value("tie", "closed"), Some(0.0));

        // Lost: nothing imported, the supply reads gone, the load goes unserved.
        sim.set_grid_lost("condo_pcc", true).unwrap();
        sim.step(std::time::Duration::from_secs(900));
        let t = fleet.read_all().await;
        assert_eq!(t.value("condo_pcc", "grid_available"), Some(0.0));
        assert_eq!(t.value("pcc", "grid_available"), Some(1.0));
        assert!(t.value("condo_pcc", "power_kw").unwrap().abs() < 1e-6);
        let r = sim.island_report();
        assert_eq!(r.grids_out, vec!["condo_pcc".to_string()]);
        assert!((r.unserved_kw["condos"][0] - 30.0).abs() < 1e-6, "{r:?}");
        assert!(
            (r.unserved_kwh["condos"][3] - 5.0 * 0.25).abs() < 1e-6,
            "{r:?}"
        );

        // The tie closed over Modbus (the safe write path acquires the switch first): it
        // carries what the island needs (50 of the 80 kW allowed), nothing goes unserved.
        let recs = fleet
            .write_all(&[
                Setpoint::new("tie", "power_kw", 80.0, "kW"),
                Setpoint::new("tie", "closed", 1.0, ""),
            ])
            .await;
        assert!(recs.iter().all(|r| r.held().is_some()), "{recs:?}");
        sim.step(std::time::Duration::from_secs(60));
        let t = fleet.read_all().await;
        assert_eq!(t.value("tie", "closed"), Some(1.0));
        assert!(
            (t.value("tie", "power_kw").unwrap() - 50.0).abs() < 0.11,
            "{t:?}"
        );
        let r = sim.island_report();
        assert_eq!(r.unserved_kw["condos"], [0.0; 4], "{r:?}");
        assert!((r.line_kw["tie"] - 50.0).abs() < 1e-6);
        // A flow it was not given is never carried: at 20 kW the island sheds the rest,
        // normal and sheddable before lifeline.
        fleet
            .write_all(&[Setpoint::new("tie", "power_kw", 20.0, "kW")])
            .await;
        sim.step(std::time::Duration::from_secs(60));
        let r = sim.island_report();
        assert!((r.unserved_kw["condos"][0] - 10.0).abs() < 1e-6, "{r:?}");
        assert!((r.unserved_kw["condos"][2] - 15.0).abs() < 1e-6, "{r:?}");

        // Supply back.
        sim.set_grid_lost("condo_pcc", false).unwrap();
        assert_eq!(
            fleet.read_all().await.value("condo_pcc", "grid_available"),
            Some(1.0)
        );
        assert!(sim
            .set_grid_lost("nope", true)
            .unwrap_err()
            .contains("no grid connection 'nope'"));
        fleet.close().await;
        sim.shutdown().await;
    })
    .await
    .expect("test hung");
}
