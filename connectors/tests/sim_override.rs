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
