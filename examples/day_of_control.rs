//! Run the controller against the plant for a day: the bundled Gate Square district, the
//! MPC with perfect forecasts, each half-hour measured, decided and lived through by the
//! physical district — the same `control::Controller` that `aems run` drives devices with.
//!
//! ```sh
//! cargo run --example day_of_control
//! ```

use control::forecast::Perfect;
use control::simulation::{RunOptions, Setup};
use control::{plant, Controller, Plant, Policy};
use engine::ScenarioFile;
use physics::device::Command;

fn main() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/gate_square/scenario.toml");
    let file = ScenarioFile::read(&path)?;
    let to = (file.start() + chrono::Duration::days(1)).to_rfc3339();
    let setup = Setup::new(
        file,
        &RunOptions {
            to: Some(to),
            horizon_hours: Some(12.0),
            replan_hours: Some(0.5),
            ..RunOptions::default()
        },
    )?;
    let actual = setup.data.slice(setup.first_row..setup.data.steps);
    let mut district = Plant::new(&actual, setup.steps, false);
    let mut controller = Controller::new(
        setup.data.clone(),
        setup.settings(Policy::Mpc),
        Box::new(Perfect),
        plant::every_device(&setup.data),
        Default::default(),
    );
    for _ in 0..setup.steps {
        let cycle = controller.cycle(&district.measure());
        let battery_kw: f64 = cycle
            .decisions
            .commands
            .iter()
            .filter_map(|(_, c)| match c {
                Command::Battery { power_kw } => Some(*power_kw),
                _ => None,
            })
            .sum();
        println!(
            "{}  {:<8} batteries {:+8.1} kW  billed peak {:6.1} kW",
            cycle.time.format("%H:%M"),
            cycle.source.as_str(),
            battery_kw,
            cycle
                .state
                .grids
                .values()
                .map(|g| g.billed_peak_kw)
                .fold(0.0, f64::max)
        );
        district.apply(&cycle.decisions)?;
    }
    let kpis = engine::kpi::compute(&setup.period(), district.realized(), setup.billing);
    println!(
        "cost {:.0} yen, CO2 {:.0} kg",
        kpis.district.cost_yen, kpis.district.co2_kg
    );
    Ok(())
}
