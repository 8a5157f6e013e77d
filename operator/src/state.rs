//! What the operator has told the running loop, as the control cycle reads it at its
//! start, and the actions waiting for the audit log.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::credentials::Who;
use crate::request::Request;

/// An import cap on a connection over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportCap {
    /// Grid connection.
    pub grid: String,
    /// Cap, kW.
    pub kw: f64,
    /// From.
    pub from: DateTime<FixedOffset>,
    /// Until.
    pub until: DateTime<FixedOffset>,
    /// Who set it.
    pub by: String,
}

/// One operator action (or refused attempt) for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// When (the machine's clock).
    pub wall_time: DateTime<Utc>,
    /// Who (`-` when the caller was not recognised).
    pub user: String,
    /// The action (`manual`, `pause`, …).
    pub action: String,
    /// What it names, in words.
    pub target: String,
    /// `accepted`, or `refused <status>: <reason>`.
    pub outcome: String,
}

/// The operator's standing instructions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OperatorState {
    /// Control paused (by whom).
    pub paused: Option<String>,
    /// Assets in manual, and who put them there.
    pub manual: BTreeMap<String, String>,
    /// Import caps.
    pub caps: Vec<ImportCap>,
    /// Acknowledged flags: (asset, quantity; `*` for all of the asset's).
    pub acknowledged: BTreeSet<(String, String)>,
    /// Actions not yet in the audit log.
    #[serde(skip)]
    pub pending: Vec<Action>,
}

impl OperatorState {
    /// Takes `req` from `who`, and queues it for the audit log.
    pub fn apply(&mut self, req: Request, who: &Who, action: &str) {
        let target = match req {
            Request::Manual { assets, target } => {
                for a in assets {
                    self.manual.insert(a, who.name.clone());
                }
                target
            }
            Request::Auto { assets, target } => {
                for a in &assets {
                    self.manual.remove(a);
                }
                target
            }
            Request::Pause => {
                self.paused = Some(who.name.clone());
                "control".into()
            }
            Request::Resume => {
                self.paused = None;
                "control".into()
            }
            Request::ImportCap {
                grid,
                kw,
                from,
                until,
            } => {
                let t = format!(
                    "{grid} ≤ {kw} kW from {} until {}",
                    from.to_rfc3339(),
                    until.to_rfc3339()
                );
                self.caps.push(ImportCap {
                    grid,
                    kw,
                    from,
                    until,
                    by: who.name.clone(),
                });
                t
            }
            Request::ClearImportCap { grid } => {
                self.caps.retain(|c| c.grid != grid);
                grid
            }
            Request::Acknowledge { asset, quantity } => {
                let q = quantity.unwrap_or_else(|| "*".into());
                let t = format!("{asset}/{q}");
                self.acknowledged.insert((asset, q));
                t
            }
        };
        self.pending.push(Action {
            wall_time: Utc::now(),
            user: who.name.clone(),
            action: action.into(),
            target,
            outcome: "accepted".into(),
        });
    }

    /// Queues a refused attempt for the audit log.
    pub fn refused(&mut self, user: Option<&str>, action: &str, status: u16, reason: &str) {
        self.pending.push(Action {
            wall_time: Utc::now(),
            user: user.unwrap_or("-").into(),
            action: action.into(),
            target: String::new(),
            outcome: format!("refused {status}: {reason}"),
        });
    }

    /// Whether a flag of `asset` on `quantity` is acknowledged.
    pub fn is_acknowledged(&self, asset: &str, quantity: &str) -> bool {
        self.acknowledged
            .iter()
            .any(|(a, q)| a == asset && (q == "*" || q == quantity))
    }

    /// The caps in force at some time of `[from, until)`.
    pub fn caps_over(
        &self,
        from: DateTime<FixedOffset>,
        until: DateTime<FixedOffset>,
    ) -> Vec<&ImportCap> {
        self.caps
            .iter()
            .filter(|c| c.from < until && c.until > from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Role;

    #[test]
    fn requests_change_the_state_and_are_queued_for_the_audit_log() {
        let who = Who {
            name: "tanaka".into(),
            role: Role::Operator,
        };
        let mut s = OperatorState::default();
        s.apply(
            Request::Manual {
                assets: vec!["hub_bat".into()],
                target: "asset hub_bat".into(),
            },
            &who,
            "manual",
        );
        s.apply(Request::Pause, &who, "pause");
        s.apply(
            Request::Acknowledge {
                asset: "pcc".into(),
                quantity: None,
            },
            &who,
            "ack",
        );
        assert_eq!(s.manual["hub_bat"], "tanaka");
        assert_eq!(s.paused.as_deref(), Some("tanaka"));
        assert!(s.is_acknowledged("pcc", "power_kw"));
        assert!(!s.is_acknowledged("hub_bat", "power_kw"));
        s.refused(None, "manual", 401, "no credentials");
        assert_eq!(s.pending.len(), 4);
        assert_eq!(s.pending[3].outcome, "refused 401: no credentials");
        s.apply(
            Request::Auto {
                assets: vec!["hub_bat".into()],
                target: "asset hub_bat".into(),
            },
            &who,
            "auto",
        );
        s.apply(Request::Resume, &who, "resume");
        assert!(s.manual.is_empty() && s.paused.is_none());
    }
}
