//! `aems run`'s OpenADR 3 VEN (`[openadr]`): each cycle reads the VTN's events (a VTN away
//! keeps the last events read), hands their signals to the controller
//! (`control::demand_response::Book`), and once an event interval has been metered posts
//! the report of the import against the baseline.

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use connectors::openadr::{self, Ven};
use control::demand_response::{Book, Changes, Event};
use control::problem::GridSignal;
use control::state::Interval;
use runconfig::OpenAdrConfig;

/// The VEN and the events it holds.
pub struct DrLink {
    cfg: OpenAdrConfig,
    secret: String,
    ven_name: String,
    /// The district's id (an event may target it).
    district: String,
    /// Events refused (targets naming no resource of this district), noted once.
    refused: std::collections::BTreeSet<String>,
    ven: Option<Ven>,
    book: Book,
    /// Every grid connection of the scenario (an event's targets may name them).
    all_grids: Vec<String>,
    /// The meters' 30-minute intervals of the last two days (for the reports).
    metered: Vec<Interval>,
    /// Why the last poll failed, if it did.
    last_error: Option<String>,
}

/// What a link keeps across a restart: the events' book (baselines, intervals reported) and
/// the meters' recent intervals its reports are made of.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The events in force and what is owed on them.
    pub book: Book,
    /// The meters' 30-minute intervals of the last two days.
    pub metered: Vec<Interval>,
}

/// What a cycle's poll found, in words for the audit log: (kind, subject, detail).
pub type Notes = Vec<(&'static str, String, String)>;

impl DrLink {
    /// What to keep across a restart (the resume state).
    pub fn saved(&self) -> Saved {
        Saved {
            book: self.book.clone(),
            metered: self.metered.clone(),
        }
    }

    /// Takes up a restarted run's book and meter intervals (the events apply to this
    /// link's connections; the VTN is read again at the next cycle).
    pub fn resume(&mut self, saved: Saved) {
        let grids = self.book.grids().to_vec();
        self.book = saved.book.with_grids(grids);
        self.metered = saved.metered;
    }

    /// A link for `district` whose events apply to `grids` (every connection if the settings
    /// name none; a name that is not a connection is refused).
    pub fn new(cfg: &OpenAdrConfig, district: &str, all_grids: &[String]) -> Result<Self> {
        let grids = crate::event::applies_to(&cfg.grids, all_grids)
            .map_err(|e| anyhow::anyhow!("[openadr] field 'grids': {e}"))?;
        Ok(Self {
            secret: cfg.secret()?,
            ven_name: cfg.ven_name.clone().unwrap_or_else(|| district.to_string()),
            district: district.to_string(),
            refused: Default::default(),
            cfg: cfg.clone(),
            ven: None,
            book: Book::new(grids),
            all_grids: all_grids.to_vec(),
            metered: Vec::new(),
            last_error: None,
        })
    }

    async fn ven(&mut self) -> Result<&Ven> {
        if self.ven.is_none() {
            let v = Ven::connect(
                &self.cfg.vtn,
                self.cfg.token_url.as_deref(),
                &self.cfg.client_id,
                &self.secret,
                &self.ven_name,
                std::time::Duration::from_secs_f64(self.cfg.timeout_s),
            )
            .await?;
            tracing::info!(target: "aems::run", vtn = %self.cfg.vtn, ven = %self.ven_name, "OpenADR: registered at the VTN");
            self.ven = Some(v);
        }
        self.ven.as_ref().ok_or_else(|| anyhow::anyhow!("no VEN"))
    }

    /// Reads the VTN's events into the book (the plan in force gives a new event's
    /// baseline); returns what to put in the audit log.
    pub async fn poll(&mut self, plan: Option<&control::Plan>, offset: FixedOffset) -> Notes {
        let bound = std::time::Duration::from_secs_f64(self.cfg.timeout_s * 3.0);
        let read = async {
            let ven = self.ven().await?;
            ven.events().await
        };
        let events = match tokio::time::timeout(bound, read).await {
            Ok(Ok(e)) => e,
            failed => {
                self.ven = None;
                let why = match failed {
                    Ok(Err(e)) => format!("{e:#}"),
                    _ => format!("no answer within {:.0} s", bound.as_secs_f64()),
                };
                tracing::warn!(target: "aems::run", "OpenADR: {why}; the last events read stand");
                self.last_error = Some(why.clone());
                return vec![("openadr_unreachable", self.cfg.vtn.clone(), why)];
            }
        };
        self.last_error = None;
        let mut words = std::collections::BTreeMap::new();
        let own = [self.ven_name.clone(), self.district.clone()];
        let mut refused: Notes = Vec::new();
        let taken: Vec<Event> = events
            .iter()
            .filter_map(|e| {
                let event = match crate::event::to_event(e, &self.all_grids, &own, offset) {
                    Ok(event) => event,
                    Err(why) => {
                        if self.refused.insert(e.id.clone()) {
                            tracing::warn!(target: "aems::run", event = %e.id, "OpenADR event refused: {why}");
                            refused.push(("openadr_event_refused", e.id.clone(), why));
                        }
                        return None;
                    }
                };
                let mut w: Vec<String> = e
                    .signals
                    .iter()
                    .zip(&event.intervals)
                    .map(|(s, i)| {
                        format!(
                            "{} {} from {} until {}",
                            s.kind.payload_type(),
                            s.value,
                            i.from.to_rfc3339(),
                            i.until.to_rfc3339()
                        )
                    })
                    .collect();
                w.extend(e.ignored.iter().map(|i| format!("ignored: {i}")));
                words.insert(
                    e.id.clone(),
                    format!(
                        "program {}{}: {}",
                        e.program_id,
                        e.name
                            .as_ref()
                            .map(|n| format!(", '{n}'"))
                            .unwrap_or_default(),
                        w.join("; ")
                    ),
                );
                Some(event)
            })
            .collect();
        let Changes { new, gone } = self.book.update(taken, plan);
        let mut notes: Notes = refused;
        for id in new {
            let detail = words.remove(&id).unwrap_or_default();
            tracing::warn!(target: "aems::run", event = %id, "OpenADR event: {detail}");
            notes.push(("openadr_event", id, detail));
        }
        for id in gone {
            tracing::warn!(target: "aems::run", event = %id, "OpenADR event withdrawn");
            notes.push(("openadr_event_withdrawn", id, "no longer at the VTN".into()));
        }
        notes
    }

    /// For `/health`: the VTN, the VEN's name, whether the last poll reached the VTN (and
    /// why not), the events in force.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "vtn": self.cfg.vtn,
            "ven": self.ven_name,
            "reachable": self.last_error.is_none(),
            "error": self.last_error,
            "events": self.book.ids(),
        })
    }

    /// Whether the last poll reached the VTN.
    pub fn reachable(&self) -> bool {
        self.last_error.is_none()
    }

    /// The signals of the events in force.
    pub fn signals(&self) -> Vec<GridSignal> {
        self.book.signals()
    }

    /// Takes the meters' newly completed intervals and posts every report now due.
    pub async fn report(&mut self, now: DateTime<FixedOffset>, completed: &[Interval]) -> Notes {
        self.metered.extend(completed.iter().cloned());
        let keep_from = now - chrono::Duration::days(2);
        self.metered.retain(|m| m.start >= keep_from);
        if !self.cfg.report {
            return Vec::new();
        }
        let due = self.book.due_reports(now, &self.metered);
        let mut notes: Notes = Vec::new();
        for (event, due_rows) in due {
            let rows: Vec<openadr::ReportRow> = due_rows
                .iter()
                .map(|r| openadr::ReportRow {
                    resource: r.grid.clone(),
                    from: r.from.to_utc(),
                    until: r.until.to_utc(),
                    actual_kw: r.actual_kw,
                    baseline_kw: r.baseline_kw,
                })
                .collect();
            let words: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} {}: {:.1} kW metered, baseline {}",
                        r.resource,
                        r.from.with_timezone(&now.offset().clone()).to_rfc3339(),
                        r.actual_kw,
                        r.baseline_kw
                            .map(|b| format!("{b:.1} kW"))
                            .unwrap_or_else(|| "unknown".into())
                    )
                })
                .collect();
            let name = format!("{} metered import", self.ven_name);
            let sent = match self.ven().await {
                Ok(v) => v.report(&event, &name, &rows).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => notes.push(("openadr_report", event, words.join("; "))),
                Err(e) => {
                    self.book.unreport(&event, &due_rows);
                    tracing::warn!(target: "aems::run", %event, "OpenADR: report not posted (again next cycle): {e:#}");
                    notes.push(("openadr_report_failed", event, format!("{e:#}")));
                }
            }
        }
        notes
    }
}
