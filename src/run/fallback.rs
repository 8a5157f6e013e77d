//! What to do when there is no fresh schedule.
//!
//! 1. **Previous schedule, shifted**: the last solved schedule's step that holds now, while
//!    now is inside its horizon and less than `schedule_valid_min` after its start.
//! 2. **Rule-based** after that: every battery holds (0 kW), every generator stops, every
//!    HVAC unit goes back to its own thermostat (its profile's release writes). No
//!    forecast or optimisation is needed, so it cannot fail in the same way.

use chrono::{DateTime, FixedOffset};
use engine::{Scenario, Schedule};
use serde::Serialize;

use super::setpoints::{commands_at, Command};

/// A solved schedule and the problem it solves.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The horizon that was solved (its `start`, `step_minutes`, `times`).
    pub problem: Scenario,
    /// The schedule.
    pub schedule: Schedule,
    /// Objective, yen.
    pub objective_yen: f64,
    /// Relative MIP gap.
    pub mip_gap: Option<f64>,
}

impl Plan {
    /// The step holding `t`, if `t` is inside the horizon.
    pub fn step_at(&self, t: DateTime<FixedOffset>) -> Option<usize> {
        let min = (t - self.problem.start).num_seconds();
        let step = i64::from(self.problem.step_minutes) * 60;
        if min < 0 {
            return None;
        }
        let k = (min / step) as usize;
        (k < self.problem.steps).then_some(k)
    }
}

/// Where this cycle's commands come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// This cycle's solve.
    Fresh,
    /// The previous schedule, shifted to now.
    Previous,
    /// The rule-based fallback.
    Rule,
    /// Observe mode: nothing is sent.
    Observe,
}

impl Source {
    /// Its name in the store, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Fresh => "fresh",
            Source::Previous => "previous",
            Source::Rule => "rule",
            Source::Observe => "observe",
        }
    }
}

/// The rule-based commands: batteries hold, generators off (HVAC units are released, not
/// commanded).
pub fn rule_commands(sc: &Scenario) -> Vec<(String, Command)> {
    let mut out: Vec<(String, Command)> = sc
        .batteries
        .iter()
        .map(|b| (b.id.clone(), Command::Battery { power_kw: 0.0 }))
        .collect();
    out.extend(sc.generators.iter().map(|g| {
        (
            g.id.clone(),
            Command::Generator {
                on: false,
                power_kw: 0.0,
            },
        )
    }));
    out
}

/// The commands of the previous plan at `now`, if it is still valid.
pub fn previous_commands(
    previous: Option<&Plan>,
    now: DateTime<FixedOffset>,
    valid_min: f64,
) -> Option<Vec<(String, Command)>> {
    let p = previous?;
    let age_min = (now - p.problem.start).num_seconds() as f64 / 60.0;
    if age_min > valid_min {
        return None;
    }
    let k = p.step_at(now)?;
    Some(commands_at(&p.problem, &p.schedule, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_plan_is_shifted_while_valid() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/gate_square/scenario.toml");
        let file = engine::ScenarioFile::read(&p).unwrap();
        let sc = file.window(file.start(), 4).unwrap();
        let out = engine::optimize(&sc, &engine::SolveOptions::default()).unwrap();
        let plan = Plan {
            schedule: out.schedule.unwrap(),
            problem: sc.clone(),
            objective_yen: 0.0,
            mip_gap: None,
        };
        let at = |m: i64| sc.start + chrono::Duration::minutes(m);
        let c = previous_commands(Some(&plan), at(45), 60.0).unwrap();
        assert_eq!(c, commands_at(&plan.problem, &plan.schedule, 1));
        assert!(
            previous_commands(Some(&plan), at(75), 60.0).is_none(),
            "too old"
        );
        assert!(
            previous_commands(Some(&plan), at(120), 600.0).is_none(),
            "past its horizon"
        );
        assert!(previous_commands(None, at(0), 60.0).is_none());
        let rule = rule_commands(&sc);
        assert!(rule.iter().all(
            |(_, c)| matches!(c, Command::Battery { power_kw } if *power_kw == 0.0)
                || matches!(c, Command::Generator { on: false, .. })
        ));
    }
}
