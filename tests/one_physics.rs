//! One physics: the device simulator that `aems run` talks to over Modbus and the plant of
//! `aems simulate` are one model (`physics::District`), so the same setpoints give the same
//! trajectories — batteries' energy, zones' temperatures, generators' power, the grid
//! meter's counter — to the last bit, not two implementations that agree by luck.

#[path = "common/exact.rs"]
mod exact;

use exact::{exact_devices, root};
use std::time::Duration;

use connectors::sim::SimConfig;
use connectors::{command, DevicesConfig, Fleet, Simulator};
use control::{plant, Decisions, Plant};
use engine::ScenarioFile;
use physics::device::Command;

/// Step `t`'s commands: batteries charging and discharging in turn, HVAC units at a power,
/// the gas engine on for a while.
fn decisions(sc: &engine::Scenario, t: usize) -> Decisions {
    let mut commands = Vec::new();
    for (i, b) in sc.batteries.iter().enumerate() {
        let p: f64 = [120.0, -80.0, 0.0, 60.5][(t + i) % 4];
        let p = p.min(b.discharge_kw).max(-b.charge_kw);
        commands.push((b.id.clone(), Command::Battery { power_kw: p }));
    }
    for (i, h) in sc.hvacs.iter().enumerate() {
        let on = (t + i) % 3 != 0;
        commands.push((
            h.id.clone(),
            Command::Hvac {
                on,
                power_kw: Some((h.min_kw + 0.3 * (h.max_kw - h.min_kw)).max(1.0)),
                setpoint_c: 25.0,
            },
        ));
    }
    for g in &sc.generators {
        commands.push((
            g.id.clone(),
            Command::Generator {
                on: (4..10).contains(&t),
                power_kw: g.max_kw * 0.8,
            },
        ));
    }
    Decisions {
        commands,
        tie_kw: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_simulator_and_the_plant_are_one_model() {
    let file = ScenarioFile::read(&root().join("scenarios/gate_square/scenario.toml")).unwrap();
    let steps = 16;
    let sc = file.window(file.start(), steps).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let devices = DevicesConfig::load(&exact_devices(dir.path(), "gs_one_physics", &sc)).unwrap();
    let spec = plant::district_spec(&sc, false);
    let config = SimConfig {
        district: devices.district.clone(),
        start: sc.start,
        meters: SimConfig::every_meter(&spec),
        spec,
    };
    let sim = Simulator::start(config, &devices).await.unwrap();
    let fleet = Fleet::new(sim.devices().clone());
    let mut plant = Plant::new(&sc, steps, false);
    for t in 0..steps {
        let d = decisions(&sc, t);
        // The devices get the commands as their profiles' setpoints, over Modbus ...
        let mut sps = Vec::new();
        for (asset, cmd) in &d.commands {
            let dev = fleet.config().device(asset).unwrap();
            sps.extend(command::setpoints(dev, cmd, None).unwrap());
        }
        for r in fleet.write_all(&sps).await {
            assert!(r.is_confirmed(), "{r:?}");
        }
        // ... and live through the step in one-minute ticks, as under `aems run`'s clock;
        // the plant takes the step whole.
        for _ in 0..30 {
            sim.step(Duration::from_secs(60));
        }
        plant.apply(&d).unwrap();
        let st = plant.district().state();
        for (i, b) in sc.batteries.iter().enumerate() {
            assert_eq!(
                sim.physics(&b.id)["energy_kwh"],
                st.battery_kwh[i],
                "{} after step {t}",
                b.id
            );
            assert_eq!(
                sim.physics(&b.id)["power_kw"],
                st.battery_kw[i],
                "{} after step {t}",
                b.id
            );
        }
        for (i, h) in sc.hvacs.iter().enumerate() {
            assert_eq!(
                sim.physics(&h.id)["zone_temp_c"],
                st.zone_c[i],
                "{} after step {t}",
                h.id
            );
        }
        for (j, g) in sc.generators.iter().enumerate() {
            assert_eq!(
                sim.physics(&g.id)["power_kw"],
                st.generator_kw[j],
                "{} after step {t}",
                g.id
            );
        }
        for (g, grid) in sc.grids.iter().enumerate() {
            assert_eq!(
                sim.physics(&grid.id)["import_kwh"],
                st.import_kwh[g],
                "{} after step {t}",
                grid.id
            );
        }
    }
    // The batteries did move, and one met its bounds or not: either way, the same.
    let moved = (plant.district().state().battery_kwh[0] - sc.batteries[0].initial_kwh).abs();
    assert!(moved > 1.0, "{moved}");
    fleet.close().await;
    sim.shutdown().await;
}
