//! Islanding as the loop announces it: which grid connections are lost, which plan the
//! controller follows (normal, islanded, none), and what changed since the last cycle —
//! the events an operator and the audit log need. [`GridWatch`] keeps the last status; the
//! adapters (`aems run`) log, store and publish what it reports.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::controller::{Controller, Cycle};
use crate::decision::Source;

/// The plan a cycle follows, as announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// Not announced yet.
    #[default]
    Unknown,
    /// A plan made with every connection available.
    Normal,
    /// A plan made with some connection lost (out to its horizon's end).
    Islanded,
    /// No current plan (a fallback, the rule or the baseline).
    None,
    /// The loop only observes.
    Observe,
}

impl PlanMode {
    /// Its name (`normal`, `islanded`, `none`, `observe`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            PlanMode::Unknown => "unknown",
            PlanMode::Normal => "normal",
            PlanMode::Islanded => "islanded",
            PlanMode::None => "none",
            PlanMode::Observe => "observe",
        }
    }

    /// The plan `cycle` follows under `ctl` (`None`: the loop only observes).
    pub fn of(ctl: &Controller, cycle: Option<&Cycle>) -> Self {
        match cycle {
            Some(c) if matches!(c.source, Source::Plan | Source::Previous) => {
                if ctl.planned_lost().is_empty() {
                    PlanMode::Normal
                } else {
                    PlanMode::Islanded
                }
            }
            Some(_) => PlanMode::None,
            None => PlanMode::Observe,
        }
    }
}

/// An event to announce and record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridEvent {
    /// `grid_lost`, `grid_restored`, `islanded_plan` or `normal_plan`.
    pub kind: &'static str,
    /// The grid connection, or (plans) the district.
    pub subject: String,
    /// In words.
    pub detail: String,
}

/// The grid connections and the plan now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridStatus {
    /// Some connection is lost.
    pub islanded: bool,
    /// Per connection: `available` or `lost`.
    pub grids: BTreeMap<String, String>,
    /// The plan followed.
    pub plan: PlanMode,
}

/// What a cycle changed.
#[derive(Debug, Clone, PartialEq)]
pub struct GridNews {
    /// Events, in order: connections lost, connections back, the plan switched.
    pub events: Vec<GridEvent>,
    /// The status changed (or is the first): publish it.
    pub changed: bool,
    /// The status now.
    pub status: GridStatus,
}

/// The last announced status.
#[derive(Debug, Clone, Default)]
pub struct GridWatch {
    lost: Option<BTreeSet<String>>,
    mode: PlanMode,
}

impl GridWatch {
    /// Takes the cycle's status: `lost` (measured), the plan followed, with `plan_words`
    /// describing the current plan; `grids` are every connection's id, `district` names
    /// the plan events' subject.
    pub fn observe(
        &mut self,
        grids: &[String],
        district: &str,
        lost: &BTreeSet<String>,
        mode: PlanMode,
        plan_words: impl FnOnce() -> String,
    ) -> GridNews {
        let first = self.lost.is_none();
        let before = self.lost.clone().unwrap_or_default();
        let mut events = Vec::new();
        for g in lost.difference(&before) {
            events.push(GridEvent {
                kind: "grid_lost",
                subject: g.clone(),
                detail: format!(
                    "utility supply lost at {g} (its meter reports grid_available 0): the district behind it is islanded"
                ),
            });
        }
        for g in before.difference(lost) {
            events.push(GridEvent {
                kind: "grid_restored",
                subject: g.clone(),
                detail: format!("utility supply back at {g} (grid_available 1)"),
            });
        }
        let switched = mode != self.mode
            && (mode == PlanMode::Islanded || (mode == PlanMode::Normal && !first));
        if switched {
            events.push(GridEvent {
                kind: if mode == PlanMode::Islanded {
                    "islanded_plan"
                } else {
                    "normal_plan"
                },
                subject: district.to_string(),
                detail: plan_words(),
            });
        }
        let changed = first || *lost != before || mode != self.mode;
        self.lost = Some(lost.clone());
        self.mode = mode;
        GridNews {
            events,
            changed,
            status: GridStatus {
                islanded: !lost.is_empty(),
                grids: grids
                    .iter()
                    .map(|g| {
                        let s = if lost.contains(g) {
                            "lost"
                        } else {
                            "available"
                        };
                        (g.clone(), s.to_string())
                    })
                    .collect(),
                plan: mode,
            },
        }
    }

    /// The plan last announced.
    pub fn mode(&self) -> PlanMode {
        self.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_is_announced_once() {
        let grids = vec!["pcc".to_string(), "condo_pcc".to_string()];
        let mut w = GridWatch::default();
        let none = BTreeSet::new();
        let both: BTreeSet<String> = grids.iter().cloned().collect();
        let words = || "the plan".to_string();
        let n = w.observe(&grids, "d", &none, PlanMode::Normal, words);
        assert!(n.changed && n.events.is_empty(), "{n:?}");
        let n = w.observe(&grids, "d", &none, PlanMode::Normal, words);
        assert!(!n.changed && n.events.is_empty());
        let n = w.observe(&grids, "d", &both, PlanMode::Islanded, words);
        let kinds: Vec<_> = n
            .events
            .iter()
            .map(|e| (e.kind, e.subject.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("grid_lost", "condo_pcc"),
                ("grid_lost", "pcc"),
                ("islanded_plan", "d")
            ]
        );
        assert!(n.changed && n.status.islanded && n.status.grids["pcc"] == "lost");
        // A failed solve in the island: the plan is none, no plan event, but published.
        let n = w.observe(&grids, "d", &both, PlanMode::None, words);
        assert!(n.changed && n.events.is_empty());
        let n = w.observe(&grids, "d", &none, PlanMode::Normal, words);
        let kinds: Vec<_> = n.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["grid_restored", "grid_restored", "normal_plan"]);
        assert_eq!(w.mode(), PlanMode::Normal);
    }
}
