//! Shared test helpers: a small district, a devices file on 127.0.0.1 with ephemeral
//! ports, and MQTT brokers (embedded rumqttd, or an external one from AEMS_TEST_MQTT).
#![allow(dead_code)]

pub mod broker;

use std::path::Path;
use std::time::Duration;

use chrono::DateTime;
use connectors::sim::{Metered, SimConfig, SimMeter};
use connectors::DevicesConfig;
use physics::district::{BatterySpec, GeneratorSpec, HvacSpec, NodeSpec};
use physics::{Battery, DistrictSpec, Generator, Grid, Line, Network, Zone};

/// Bounds every network test.
pub const LIMIT: Duration = Duration::from_secs(20);

/// A battery of 95 % efficiency each way, no self-discharge: `cap`acity, `min`/`max` energy,
/// `kw` either way, `e0` at the start, at node `node`.
pub fn battery(
    id: &str,
    node: usize,
    cap: f64,
    min: f64,
    max: f64,
    kw: f64,
    e0: f64,
) -> BatterySpec {
    BatterySpec {
        id: id.into(),
        node,
        capacity_kwh: cap,
        battery: Battery {
            min_kwh: min,
            max_kwh: max,
            charge_kw: kw,
            discharge_kw: kw,
            charge_efficiency: 0.95,
            discharge_efficiency: 0.95,
            self_discharge_per_hour: 0.0,
            capacity_kwh: cap,
            power_curve: None,
            efficiency_curve: None,
        },
        initial_kwh: e0,
        follows_meter: false,
    }
}

/// A node with a constant load and PV over `steps` steps, no load classes.
pub fn node(id: &str, load_kw: f64, pv_kw: f64, steps: usize) -> NodeSpec {
    NodeSpec {
        id: id.into(),
        load_kw: vec![load_kw; steps],
        pv_kw: vec![pv_kw; steps],
        classes_kw: vec![],
    }
}

/// A district with one of each device family (two batteries: one plain inverter, one
/// SunSpec), 15-minute steps: a hub with the connection and a lossless line to the office.
pub fn district() -> SimConfig {
    let steps = 8;
    let spec = DistrictSpec {
        step_hours: 0.25,
        nodes: vec![
            node("hub", 0.0, 0.0, steps),
            node("office", 100.0, 30.0, steps),
        ],
        batteries: vec![
            battery("bat", 1, 200.0, 20.0, 190.0, 100.0, 100.0),
            battery("home_bat", 0, 10.0, 1.0, 9.5, 5.0, 5.0),
        ],
        hvacs: vec![HvacSpec {
            id: "ac".into(),
            node: 1,
            zone: Zone {
                r_k_per_kw: 0.05,
                c_kwh_per_k: 40.0,
                cooling: true,
                min_kw: 0.0,
                max_kw: 80.0,
            },
            initial_temp_c: 27.0,
            outdoor_temp_c: vec![33.0; steps],
            heat_gain_kw: vec![20.0; steps],
            cop: vec![3.0; steps],
            local_setpoint_c: vec![25.0],
            deadband_c: vec![0.5],
        }],
        generators: vec![GeneratorSpec {
            id: "chp".into(),
            node: 0,
            generator: Generator {
                min_kw: 100.0,
                max_kw: 400.0,
            },
            initially_on: false,
            black_start: false,
            fuel: None,
        }],
        network: Network::new(
            2,
            vec![Line {
                from: 0,
                to: 1,
                capacity_kw: 10_000.0,
                loss_fraction: 0.0,
            }],
            vec![Grid {
                node: 0,
                import_limit_kw: f64::INFINITY,
                export_limit_kw: f64::INFINITY,
            }],
        ),
        line_ids: vec!["hub_office".into()],
        grid_ids: vec!["pcc".into()],
        outages: vec![],
    };
    SimConfig {
        district: "testdistrict".into(),
        start: DateTime::parse_from_rfc3339("2025-08-04T00:00:00+09:00").unwrap(),
        meters: vec![SimMeter {
            id: "pcc".into(),
            of: Metered::Grid(0),
        }],
        spec,
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
