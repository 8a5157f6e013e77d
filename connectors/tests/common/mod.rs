//! Shared test helpers: a small district, a devices file on 127.0.0.1 with ephemeral
//! ports, and MQTT brokers (embedded rumqttd, or an external one from AEMS_TEST_MQTT).
#![allow(dead_code)]

pub mod broker;

use std::path::Path;
use std::time::Duration;

use chrono::DateTime;
use connectors::sim::{SimBattery, SimConfig, SimGenerator, SimHvac, SimMeter, SimNode};
use connectors::DevicesConfig;

/// Bounds every network test.
pub const LIMIT: Duration = Duration::from_secs(20);

/// A district with one of each device family (two batteries: one plain inverter, one
/// SunSpec), 15-minute steps.
pub fn district() -> SimConfig {
    let steps = 8;
    SimConfig {
        district: "testdistrict".into(),
        start: DateTime::parse_from_rfc3339("2025-08-04T00:00:00+09:00").unwrap(),
        step_minutes: 15,
        nodes: vec![
            SimNode {
                id: "hub".into(),
                load_kw: vec![0.0; steps],
                pv_kw: vec![0.0; steps],
            },
            SimNode {
                id: "office".into(),
                load_kw: vec![100.0; steps],
                pv_kw: vec![30.0; steps],
            },
        ],
        batteries: vec![
            SimBattery {
                id: "bat".into(),
                node: "office".into(),
                capacity_kwh: 200.0,
                min_kwh: 20.0,
                max_kwh: 190.0,
                charge_kw: 100.0,
                discharge_kw: 100.0,
                charge_efficiency: 0.95,
                discharge_efficiency: 0.95,
                self_discharge_per_hour: 0.0,
                initial_kwh: 100.0,
            },
            SimBattery {
                id: "home_bat".into(),
                node: "hub".into(),
                capacity_kwh: 10.0,
                min_kwh: 1.0,
                max_kwh: 9.5,
                charge_kw: 5.0,
                discharge_kw: 5.0,
                charge_efficiency: 0.95,
                discharge_efficiency: 0.95,
                self_discharge_per_hour: 0.0,
                initial_kwh: 5.0,
            },
        ],
        hvacs: vec![SimHvac {
            id: "ac".into(),
            node: "office".into(),
            cooling: true,
            min_kw: 0.0,
            max_kw: 80.0,
            cop: vec![3.0; steps],
            r_k_per_kw: 0.05,
            c_kwh_per_k: 40.0,
            initial_temp_c: 27.0,
            outdoor_temp_c: vec![33.0; steps],
            heat_gain_kw: vec![20.0; steps],
            local_setpoint_c: 25.0,
        }],
        generators: vec![SimGenerator {
            id: "chp".into(),
            node: "hub".into(),
            min_kw: 100.0,
            max_kw: 400.0,
            initially_on: false,
        }],
        meters: vec![SimMeter {
            id: "pcc".into(),
            nodes: vec!["hub".into(), "office".into()],
        }],
    }
}

/// Every device on one endpoint (127.0.0.1, ephemeral port), one unit id each: one TCP
/// connection shared by all unit ids.
pub const DEVICES: &str = r#"
[district]
id = "testdistrict"

[modbus]
timeout_ms = 300
connect_timeout_ms = 300
retries = 1
backoff_ms = 20
backoff_max_ms = 50

[[device]]
asset = "bat"
profile = "battery_inverter"
host = "127.0.0.1"
port = 0
unit_id = 1
limits = { power_kw = [-100.0, 100.0] }

[[device]]
asset = "home_bat"
profile = "sunspec_storage"
host = "127.0.0.1"
port = 0
unit_id = 2

[[device]]
asset = "ac"
profile = "hvac_controller"
host = "127.0.0.1"
port = 0
unit_id = 3

[[device]]
asset = "chp"
profile = "gas_engine"
host = "127.0.0.1"
port = 0
unit_id = 4
limits = { power_kw = [0.0, 400.0] }

[[device]]
asset = "pcc"
profile = "meter"
host = "127.0.0.1"
port = 0
unit_id = 5
"#;

pub fn devices() -> DevicesConfig {
    DevicesConfig::parse(Path::new("devices.toml"), DEVICES).unwrap()
}

/// Logs to the test's output (shown for failing tests), once.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}
