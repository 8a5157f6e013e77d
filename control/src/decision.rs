//! Plan → decisions: what each unit is told for the coming interval, in the typed device
//! vocabulary ([`physics::device::Command`]), and where the decisions came from.

use serde::Serialize;

use physics::device::Command;

use crate::plan::Plan;

/// A tie line told to carry less than this, kW, has its switch opened.
pub const TIE_CLOSED_KW: f64 = 0.05;

/// What every unit is told for the coming interval.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Decisions {
    /// Per asset id: batteries, HVAC units and generators, in the data's order.
    pub commands: Vec<(String, Command)>,
    /// Per tie line (a line whose flow the network does not fix): its flow, kW
    /// (+ from → to).
    pub tie_kw: Vec<(String, f64)>,
}

impl Decisions {
    /// The command for `asset`, if any.
    pub fn get(&self, asset: &str) -> Option<&Command> {
        self.commands
            .iter()
            .find(|(a, _)| a == asset)
            .map(|(_, c)| c)
    }

    /// The command for `asset`, mutable.
    pub fn get_mut(&mut self, asset: &str) -> Option<&mut Command> {
        self.commands
            .iter_mut()
            .find(|(a, _)| a == asset)
            .map(|(_, c)| c)
    }

    /// Each tie line's command for a switch on it: closed with its flow when the flow is
    /// above [`TIE_CLOSED_KW`] either way, else open (and its flow 0).
    pub fn tie_commands(&self) -> Vec<(String, Command)> {
        self.tie_kw
            .iter()
            .map(|(line, kw)| {
                let closed = kw.abs() > TIE_CLOSED_KW;
                let power_kw = if closed { *kw } else { 0.0 };
                (line.clone(), Command::Line { closed, power_kw })
            })
            .collect()
    }

    /// The decisions of step `k` of `plan`; `ties` are the indices of the tie lines.
    pub fn of_plan(plan: &Plan, k: usize, ties: &[usize]) -> Option<Decisions> {
        let (sc, s) = (&plan.problem, &plan.schedule);
        if k >= sc.steps {
            return None;
        }
        let mut commands = Vec::new();
        for (b, bs) in sc.batteries.iter().zip(&s.batteries) {
            commands.push((
                b.id.clone(),
                Command::Battery {
                    power_kw: bs.discharge_kw[k] - bs.charge_kw[k],
                },
            ));
        }
        for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
            commands.push((
                h.id.clone(),
                Command::Hvac {
                    on: hs.on[k],
                    power_kw: Some(hs.power_kw[k]),
                    setpoint_c: hs.temp_c[k + 1],
                },
            ));
        }
        for (g, gs) in sc.generators.iter().zip(&s.generators) {
            commands.push((
                g.id.clone(),
                Command::Generator {
                    on: gs.on[k],
                    power_kw: if gs.on[k] { gs.power_kw[k] } else { 0.0 },
                },
            ));
        }
        let tie_kw = ties
            .iter()
            .filter_map(|&l| {
                let line = sc.lines.get(l)?;
                let ls = s.lines.get(l)?;
                Some((line.id.clone(), ls.fwd_kw[k] - ls.rev_kw[k]))
            })
            .collect();
        Some(Decisions { commands, tie_kw })
    }
}

/// Where a cycle's decisions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The current plan (made this cycle or at an earlier one, while not due for a
    /// replan).
    Plan,
    /// A plan that should have been replaced, standing in for a failed solve while it is
    /// valid.
    Previous,
    /// The fallback rule: every unit back to its own control (batteries hold, generators as
    /// they run on their own, HVAC on its thermostat).
    Fallback,
    /// The rule-based controller.
    Rule,
    /// No AEMS: every unit on its own control.
    Baseline,
}

impl Source {
    /// Its name in the store, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Plan => "plan",
            Source::Previous => "previous",
            Source::Fallback => "fallback",
            Source::Rule => "rule",
            Source::Baseline => "baseline",
        }
    }

    /// Whether the decisions are a stand-in for a plan that could not be made.
    pub fn is_fallback(self) -> bool {
        matches!(self, Source::Previous | Source::Fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Solver;

    #[test]
    fn a_plan_step_becomes_each_units_command() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/kashiwanoha/scenario.toml");
        let sc = engine::Scenario::load(p)
            .unwrap()
            .slice(4368 + 28..4368 + 36);
        let (plan, _) = Solver::new(engine::SolveOptions::default()).solve(sc.clone(), None);
        let plan = plan.unwrap();
        let net = crate::plant::network(&sc);
        let d = Decisions::of_plan(&plan, 2, net.ties()).unwrap();
        let s = &plan.schedule;
        assert_eq!(
            d.get(&sc.batteries[0].id),
            Some(&Command::Battery {
                power_kw: s.batteries[0].discharge_kw[2] - s.batteries[0].charge_kw[2]
            })
        );
        assert_eq!(
            d.get(&sc.hvacs[0].id),
            Some(&Command::Hvac {
                on: s.hvacs[0].on[2],
                power_kw: Some(s.hvacs[0].power_kw[2]),
                setpoint_c: s.hvacs[0].temp_c[3],
            })
        );
        assert!(matches!(
            d.get(&sc.generators[0].id),
            Some(Command::Generator { .. })
        ));
        // The interchange and the condominiums' emergency tie join two grids each: their
        // flows are the plan's (the tie's 0 outside an outage); radial lines are not
        // commanded.
        assert_eq!(d.tie_kw.len(), 2);
        assert_eq!(d.tie_kw[0].0, "interchange");
        assert_eq!(d.tie_kw[1], ("condo_tie".to_string(), 0.0));
        assert!(Decisions::of_plan(&plan, 8, net.ties()).is_none());
    }
}
