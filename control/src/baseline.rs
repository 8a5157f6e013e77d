//! The baseline: the district as it runs without an AEMS — batteries idle, generators off,
//! HVAC units on their own thermostats (the comfortable quarter of the band: the upper
//! quarter when cooling, the lower when heating, see [`crate::plant::district_spec`]). It is
//! also the fallback rule when no plan can stand in: it needs no forecast and no solve, so
//! it cannot fail the way they do.

use physics::device::Command;

use engine::Scenario;

use crate::decision::Decisions;

/// Batteries hold, generators stop, HVAC units go back to their own control.
pub fn decide(data: &Scenario) -> Decisions {
    let mut commands: Vec<(String, Command)> = data
        .batteries
        .iter()
        .map(|b| (b.id.clone(), Command::Battery { power_kw: 0.0 }))
        .collect();
    commands.extend(data.hvacs.iter().map(|h| (h.id.clone(), Command::Release)));
    commands.extend(data.generators.iter().map(|g| {
        (
            g.id.clone(),
            Command::Generator {
                on: false,
                power_kw: 0.0,
            },
        )
    }));
    Decisions {
        commands,
        tie_kw: Vec::new(),
    }
}
