//! Read a device through its profile: the bundled Gate Square devices served by the device
//! simulator on 127.0.0.1, one battery read over Modbus TCP and its registers turned into
//! the typed reading the controller uses (`soc_pct`, `power_kw` as fields, not strings).
//!
//! ```sh
//! cargo run --example read_device
//! ```

use connectors::sim::SimConfig;
use connectors::{command, DevicesConfig, Fleet, Simulator};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sc = engine::Scenario::load(root.join("scenarios/gate_square/scenario.toml"))?;
    // The devices file, served on free ports.
    let mut devices = DevicesConfig::load(&root.join("scenarios/gate_square/devices.toml"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for d in &mut devices.devices {
        d.port = 0;
    }
    devices.mqtt = None;
    let spec = control::plant::district_spec(&sc, false);
    let config = SimConfig {
        district: devices.district.clone(),
        start: sc.start,
        meters: SimConfig::every_meter(&spec),
        spec,
    };
    let sim = Simulator::start(config, &devices)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fleet = Fleet::new(sim.devices().clone());
    let battery = fleet
        .device("hub_bat")
        .expect("hub_bat is in the devices file");
    let telemetry = battery.read().await;
    println!("{} via {}:", telemetry.asset, battery.entry().label());
    for (quantity, r) in &telemetry.values {
        println!(
            "  {quantity:<18} {:>10} {}",
            r.value.map_or("n/a".into(), |v| format!("{v:.3}")),
            r.unit
        );
    }
    match command::reading(battery.entry().profile.family, &telemetry) {
        Ok(physics::device::Reading::Battery(b)) => {
            println!(
                "typed: soc_pct = {:?}, power_kw = {:?}",
                b.soc_pct, b.power_kw
            )
        }
        other => println!("typed: {other:?}"),
    }
    fleet.close().await;
    sim.shutdown().await;
    Ok(())
}
